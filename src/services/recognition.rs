//! Recognition (§3, §4), star ratings (§5), star rewards (§6), revocations (§22), the published
//! list (§21) and the monitoring of the 2025 targets (§1).
//!
//! Each function loads what the pure rules of [`crate::policy`] need (facts as of the decision
//! date from the registry, figures of Y−1, revocation dates, the parameter versions), calls them,
//! and persists the decision with its verdict and the parameter versions it used. Every write runs
//! in one write transaction and is audited in it.

use std::collections::{HashMap, HashSet};

use chrono::{Datelike, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde_json::json;

use crate::auth::Actor;
use crate::error::{AppError, AppResult};
use crate::policy::star_reward::{StarRewardParams, split};
use crate::policy::{
    EnterpriseFacts, Figures, Money, Ownership, RecognitionParams, RecognitionVerdict,
    RewardDecision, RewardSplit, Stars, ban_end, decide_recognition, decide_reward, title_held_on,
};
use crate::services::audit::{self, AuditEntry};
use crate::services::seed::RULE_SET_2023;
use crate::services::{enterprises as registry, parameters, tx};
use entity::{
    enterprise_facts, enterprise_figures, enterprises, recognitions, revocations, star_ratings,
    star_rewards,
};

/// The rule set every decision of this module is taken under: 杭政办〔2023〕3号. A later document
/// (e.g. 杭政办〔2024〕1号) comes as a new rule set in force from its date; decisions already
/// stored keep the code they were decided under.
pub const RULE_SET: &str = RULE_SET_2023;

/// The baseline year of the §1 targets (数量新增 counts from the 2023 recognitions).
pub const BASELINE_YEAR: i32 = 2023;
/// The year of the §1 targets: 到2025年.
pub const TARGET_YEAR: i32 = 2025;
/// §1: 总部企业数量新增100家以上 — at least 100 more HQs than in [`BASELINE_YEAR`] (以上 includes).
pub const TARGET_INCREASE: i64 = 100;
/// §1: 百亿级总部企业突破60家 — more than 60 HQs with revenue(Y−1) ≥ 10,000,000,000.00.
pub const TARGET_TEN_BILLION: i64 = 60;
/// §1: 千亿级总部企业突破10家 — more than 10 HQs with revenue(Y−1) ≥ 100,000,000,000.00.
pub const TARGET_HUNDRED_BILLION: i64 = 10;
/// 百亿级: revenue(Y−1) of at least 10,000,000,000.00 yuan.
pub const TEN_BILLION: Money = Money::from_fen(1_000_000_000_000);
/// 千亿级: revenue(Y−1) of at least 100,000,000,000.00 yuan.
pub const HUNDRED_BILLION: Money = Money::from_fen(10_000_000_000_000);

// ---------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------

/// The registered enterprise with `credit_code`.
async fn enterprise<C: ConnectionTrait>(
    conn: &C,
    credit_code: &str,
) -> AppResult<enterprises::Model> {
    registry::find_by_credit_code(conn, credit_code)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no enterprise with credit code {credit_code}")))
}

/// The enterprise, locked for the rest of the write transaction (PostgreSQL `FOR UPDATE`; SQLite
/// holds the write lock already), so decisions on one enterprise never interleave.
async fn lock<C: ConnectionTrait>(conn: &C, id: i64) -> AppResult<enterprises::Model> {
    enterprises::Entity::find_by_id(id)
        .lock_exclusive()
        .one(conn)
        .await?
        .ok_or_else(|| AppError::internal(format!("enterprise {id} vanished in its transaction")))
}

/// The registry's facts row as the facts the recognition rules read.
fn policy_facts(row: &enterprise_facts::Model) -> AppResult<EnterpriseFacts> {
    let ownership = Ownership::parse(&row.ownership).map_err(AppError::internal)?;
    let outside_units = u32::try_from(row.outside_units).map_err(|_| {
        AppError::internal(format!(
            "enterprise {} has {} outside units on record",
            row.enterprise_id, row.outside_units
        ))
    })?;
    Ok(EnterpriseFacts {
        district: row.district_code.clone(),
        hangzhou_since: row.hangzhou_since,
        industry_code: row.industry_code.clone(),
        ownership,
        industrial_guidance: row.industrial_guidance,
        independent_legal_person: row.independent_legal_person,
        deemed_legal_person: row.deemed_legal_person,
        operating: row.operating,
        unified_accounting: row.unified_accounting,
        rd_facilities: row.rd_facilities,
        stable_rd_funding: row.rd_stable_funding,
        outside_units,
        listing_exchange: row.listing_exchange.clone(),
        listed_entity_in_hangzhou: row.listed_entity_in_hangzhou,
        dishonest: row.dishonest,
    })
}

fn policy_figures(row: &enterprise_figures::Model) -> Figures {
    Figures {
        revenue: Money::from_fen(row.revenue_fen),
        rd_spend: Money::from_fen(row.rd_spend_fen),
    }
}

/// The dates the enterprise's title was revoked on, ascending.
async fn revocation_dates<C: ConnectionTrait>(
    conn: &C,
    enterprise_id: i64,
) -> AppResult<Vec<NaiveDate>> {
    Ok(revocations::Entity::find()
        .filter(revocations::Column::EnterpriseId.eq(enterprise_id))
        .order_by_asc(revocations::Column::RevokedOn)
        .all(conn)
        .await?
        .into_iter()
        .map(|r| r.revoked_on)
        .collect())
}

/// The revocation dates of several enterprises, by enterprise id.
async fn revocation_dates_of_many<C: ConnectionTrait>(
    conn: &C,
    enterprise_ids: &[i64],
) -> AppResult<HashMap<i64, Vec<NaiveDate>>> {
    let mut result: HashMap<i64, Vec<NaiveDate>> = HashMap::new();
    for chunk in enterprise_ids.chunks(500) {
        let rows = revocations::Entity::find()
            .filter(revocations::Column::EnterpriseId.is_in(chunk.iter().copied()))
            .order_by_asc(revocations::Column::RevokedOn)
            .all(conn)
            .await?;
        for row in rows {
            result
                .entry(row.enterprise_id)
                .or_default()
                .push(row.revoked_on);
        }
    }
    Ok(result)
}

/// The district an enterprise is registered in today (`None` outside Hangzhou). POLICY.md "Who
/// sees what" confines a district actor to the enterprises registered in its district today.
async fn district_today<C: ConnectionTrait>(
    conn: &C,
    enterprise_id: i64,
) -> AppResult<Option<String>> {
    Ok(
        registry::facts_as_of(conn, enterprise_id, registry::today())
            .await?
            .and_then(|f| f.district_code),
    )
}

/// `FORBIDDEN` unless `actor` may see the confidential data of an enterprise registered in
/// `district` today.
fn ensure_sees(actor: &Actor, district: Option<&str>) -> AppResult<()> {
    if actor.sees_confidential_of(district) {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "role {} may not see this enterprise's confidential data: a district actor sees only \
             the enterprises registered in its own district",
            actor.role
        )))
    }
}

/// The verdict for `enterprise` and `year` decided on `decided_on`, from what `conn` holds.
async fn verdict_in<C: ConnectionTrait>(
    conn: &C,
    enterprise: &enterprises::Model,
    year: i32,
    decided_on: NaiveDate,
) -> AppResult<RecognitionVerdict> {
    // An enterprise not yet in the registry on D has no facts to decide on: that is a wrong
    // decision date for it (BAD_USER_INPUT), not a verdict.
    let facts = registry::facts_as_of(conn, enterprise.id, decided_on)
        .await?
        .ok_or_else(|| {
            AppError::bad_input(
                "decidedOn",
                format!(
                    "enterprise {} is not in the registry on {decided_on}: no facts to decide on",
                    enterprise.credit_code
                ),
            )
        })?;
    let facts = policy_facts(&facts)?;
    let figures = match year.checked_sub(1) {
        Some(previous) => registry::figures_of(conn, enterprise.id, Some(previous))
            .await?
            .first()
            .map(policy_figures),
        None => None,
    };
    let revocations = revocation_dates(conn, enterprise.id).await?;
    let set = parameters::load_set(conn).await?;
    let params = RecognitionParams::from_set(&set, decided_on)?;
    Ok(decide_recognition(
        &facts,
        figures.as_ref(),
        &revocations,
        year,
        decided_on,
        &params,
    )?)
}

// ---------------------------------------------------------------------------------------------
// Recognition
// ---------------------------------------------------------------------------------------------

/// A verdict with the enterprise it is about.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// The enterprise's credit code (normalised).
    pub credit_code: String,
    /// The verdict.
    pub verdict: RecognitionVerdict,
}

/// A dry run of recognition: the verdict, nothing stored.
///
/// # Errors
/// `NOT_FOUND` for an unknown enterprise; `FORBIDDEN` for a district actor and an enterprise
/// registered elsewhere today; `BAD_USER_INPUT` when the enterprise is not in the registry on the
/// decision date; `POLICY_VIOLATION` (`§final`) for a year outside the policy's rounds.
pub async fn evaluate(
    db: &DatabaseConnection,
    actor: &Actor,
    credit_code: &str,
    year: i32,
    decided_on: NaiveDate,
) -> AppResult<Evaluation> {
    let enterprise = enterprise(db, credit_code).await?;
    ensure_sees(actor, district_today(db, enterprise.id).await?.as_deref())?;
    let verdict = verdict_in(db, &enterprise, year, decided_on).await?;
    Ok(Evaluation {
        credit_code: enterprise.credit_code,
        verdict,
    })
}

/// A stored recognition with its verdict.
#[derive(Debug, Clone)]
pub struct Recognition {
    /// The enterprise's credit code.
    pub credit_code: String,
    /// The stored row.
    pub row: recognitions::Model,
    /// The verdict it stores.
    pub verdict: RecognitionVerdict,
}

/// Recognises an enterprise for `year` on `decided_on` (§4), storing the verdict, the decision
/// date, the route, the rule set and the parameter versions used; one transaction, audited.
///
/// # Errors
/// `CONFLICT` when the enterprise is already recognised for `year`; `POLICY_VIOLATION` when it is
/// not eligible, citing the clause of the first failed rule, with the failed rule ids in
/// `extensions.details`; as [`evaluate`] otherwise.
pub async fn recognize(
    db: &DatabaseConnection,
    actor: &Actor,
    credit_code: &str,
    year: i32,
    decided_on: NaiveDate,
) -> AppResult<Recognition> {
    let found = enterprise(db, credit_code).await?;
    let txn = tx::begin_write(db).await?;
    let recognition = recognize_locked(&txn, actor, found.id, year, decided_on).await?;
    txn.commit().await?;
    Ok(recognition)
}

/// [`recognize`] inside the caller's write transaction (used by the demo data loader). A refusal
/// writes nothing, so the transaction stays usable.
///
/// # Errors
/// As [`recognize`].
pub async fn recognize_in<C: ConnectionTrait>(
    txn: &C,
    actor: &Actor,
    credit_code: &str,
    year: i32,
    decided_on: NaiveDate,
) -> AppResult<Recognition> {
    let found = enterprise(txn, credit_code).await?;
    recognize_locked(txn, actor, found.id, year, decided_on).await
}

async fn recognize_locked<C: ConnectionTrait>(
    txn: &C,
    actor: &Actor,
    enterprise_id: i64,
    year: i32,
    decided_on: NaiveDate,
) -> AppResult<Recognition> {
    let enterprise = lock(txn, enterprise_id).await?;
    if let Some(existing) = recognition_of(txn, enterprise.id, year).await? {
        return Err(AppError::Conflict(format!(
            "{} is already recognised for {year} (decided on {})",
            enterprise.credit_code, existing.decided_on
        )));
    }
    let verdict = verdict_in(txn, &enterprise, year, decided_on).await?;
    let route = match (verdict.eligible, verdict.route) {
        (true, Some(route)) => route,
        _ => return Err(not_eligible(&verdict)),
    };
    let verdict_json = serde_json::to_string(&verdict).map_err(AppError::internal)?;
    let versions_json =
        serde_json::to_string(&verdict.parameter_versions).map_err(AppError::internal)?;
    let row = recognitions::ActiveModel {
        id: NotSet,
        enterprise_id: Set(enterprise.id),
        year: Set(year),
        decided_on: Set(decided_on),
        route: Set(route.as_str().to_string()),
        rule_set: Set(RULE_SET.to_string()),
        verdict: Set(verdict_json),
        parameter_versions: Set(versions_json),
        needs_review: Set(verdict.needs_review),
        decided_by: Set(actor.sub.clone()),
        created_at: Set(Utc::now()),
    }
    .insert(txn)
    .await?;
    audit::record(
        txn,
        actor,
        AuditEntry {
            operation: "recognize",
            target_type: "recognition",
            target_id: Some(format!("{}/{year}", enterprise.credit_code)),
            before: None,
            after: Some(json!({
                "year": year,
                "decidedOn": decided_on,
                "route": route.as_str(),
                "ruleSet": RULE_SET,
                "needsReview": verdict.needs_review,
                "parameterVersions": verdict.parameter_versions,
            })),
        },
    )
    .await?;
    Ok(Recognition {
        credit_code: enterprise.credit_code,
        row,
        verdict,
    })
}

/// The refusal of recognising an ineligible enterprise: `POLICY_VIOLATION` citing the clause of
/// the first failed rule (in table order), with every failed rule id in `extensions.details`.
fn not_eligible(verdict: &RecognitionVerdict) -> AppError {
    let error = verdict
        .ensure_eligible()
        .err()
        .map_or_else(|| "not eligible".to_string(), |e| e.to_string());
    let clause = verdict
        .failed
        .first()
        .map_or(crate::policy::Clause::S4, |rule| rule.clause());
    AppError::PolicyViolation {
        clause: clause.as_str().to_string(),
        message: error,
        details: Some(json!(
            verdict
                .failed
                .iter()
                .map(|rule| rule.as_str())
                .collect::<Vec<_>>()
        )),
    }
}

async fn recognition_of<C: ConnectionTrait>(
    conn: &C,
    enterprise_id: i64,
    year: i32,
) -> AppResult<Option<recognitions::Model>> {
    Ok(recognitions::Entity::find()
        .filter(recognitions::Column::EnterpriseId.eq(enterprise_id))
        .filter(recognitions::Column::Year.eq(year))
        .one(conn)
        .await?)
}

// ---------------------------------------------------------------------------------------------
// Star ratings
// ---------------------------------------------------------------------------------------------

/// A star rating and the rating it replaced, if any.
#[derive(Debug, Clone)]
pub struct Rating {
    /// The enterprise's credit code.
    pub credit_code: String,
    /// The rating as stored now.
    pub row: star_ratings::Model,
    /// The stars before this call (`None` for a first rating).
    pub previous_stars: Option<i32>,
}

/// Rates an enterprise recognised for `year` with 1 to 5 stars (§5); a re-rating replaces the
/// rating while nothing depends on it. Rating again with the same stars changes nothing.
///
/// # Errors
/// `BAD_USER_INPUT` for stars outside 1..=5; `NOT_FOUND` for an unknown enterprise;
/// `POLICY_VIOLATION` (`§5`) when it is not recognised for `year`; `CONFLICT` when a star reward
/// depends on the rating.
pub async fn rate_stars(
    db: &DatabaseConnection,
    actor: &Actor,
    credit_code: &str,
    year: i32,
    stars: i32,
) -> AppResult<Rating> {
    check_stars(stars)?;
    let found = enterprise(db, credit_code).await?;
    let txn = tx::begin_write(db).await?;
    let rating = rate_stars_locked(&txn, actor, found.id, year, stars).await?;
    txn.commit().await?;
    Ok(rating)
}

/// [`rate_stars`] inside the caller's write transaction (used by the demo data loader).
///
/// # Errors
/// As [`rate_stars`].
pub async fn rate_stars_in<C: ConnectionTrait>(
    txn: &C,
    actor: &Actor,
    credit_code: &str,
    year: i32,
    stars: i32,
) -> AppResult<Rating> {
    check_stars(stars)?;
    let found = enterprise(txn, credit_code).await?;
    rate_stars_locked(txn, actor, found.id, year, stars).await
}

fn check_stars(stars: i32) -> AppResult<()> {
    if stars_of(stars).is_none() {
        return Err(AppError::bad_input(
            "stars",
            format!("a rating is 1 to 5 stars, got {stars}"),
        ));
    }
    Ok(())
}

async fn rate_stars_locked<C: ConnectionTrait>(
    txn: &C,
    actor: &Actor,
    enterprise_id: i64,
    year: i32,
    stars: i32,
) -> AppResult<Rating> {
    let enterprise = lock(txn, enterprise_id).await?;
    let Some(recognition) = recognition_of(txn, enterprise.id, year).await? else {
        return Err(AppError::policy(
            "§5",
            format!(
                "{} is not recognised for {year}: only recognised headquarters are rated",
                enterprise.credit_code
            ),
        ));
    };
    let existing = star_ratings::Entity::find()
        .filter(star_ratings::Column::EnterpriseId.eq(enterprise.id))
        .filter(star_ratings::Column::Year.eq(year))
        .one(txn)
        .await?;
    let now = Utc::now();
    let previous_stars = existing.as_ref().map(|r| r.stars);
    // The same stars again is a retry, not a change: it succeeds even when a reward depends on the
    // rating, and writes nothing.
    let row = match existing {
        Some(row) if row.stars == stars => {
            // Nothing changes: no write, no audit entry.
            return Ok(Rating {
                credit_code: enterprise.credit_code,
                row,
                previous_stars,
            });
        }
        Some(row) => {
            if let Some(why) = rating_dependents(txn, &row).await? {
                return Err(AppError::Conflict(format!(
                    "the {year} rating of {} can no longer change: {why}",
                    enterprise.credit_code
                )));
            }
            let mut active: star_ratings::ActiveModel = row.into();
            active.stars = Set(stars);
            active.rated_by = Set(actor.sub.clone());
            active.rated_at = Set(now);
            active.update(txn).await?
        }
        None => {
            star_ratings::ActiveModel {
                id: NotSet,
                enterprise_id: Set(enterprise.id),
                recognition_id: Set(recognition.id),
                year: Set(year),
                stars: Set(stars),
                rated_by: Set(actor.sub.clone()),
                rated_at: Set(now),
            }
            .insert(txn)
            .await?
        }
    };
    audit::record(
        txn,
        actor,
        AuditEntry {
            operation: "rateStars",
            target_type: "star_rating",
            target_id: Some(format!("{}/{year}", enterprise.credit_code)),
            before: previous_stars.map(|s| json!({ "year": year, "stars": s })),
            after: Some(json!({ "year": year, "stars": stars })),
        },
    )
    .await?;
    Ok(Rating {
        credit_code: enterprise.credit_code,
        row,
        previous_stars,
    })
}

/// A stored or requested number of stars as a rating, if it is one (1 to 5).
fn stars_of(stars: i32) -> Option<Stars> {
    u8::try_from(stars).ok().and_then(|s| Stars::new(s).ok())
}

/// What depends on a rating, so that it may no longer change (POLICY.md §5: "until a star reward
/// or a reconciled payment depends on it"); `None` when nothing does.
///
/// Today: the star reward granted for the rating's year. The §20 reconciliation adds its check
/// here (a reconciled payment line of the enterprise for the year).
///
/// # Errors
/// Database errors.
pub async fn rating_dependents<C: ConnectionTrait>(
    conn: &C,
    rating: &star_ratings::Model,
) -> AppResult<Option<String>> {
    let reward = star_rewards::Entity::find()
        .filter(star_rewards::Column::EnterpriseId.eq(rating.enterprise_id))
        .filter(star_rewards::Column::Year.eq(rating.year))
        .one(conn)
        .await?;
    if let Some(r) = reward {
        return Ok(Some(format!(
            "a star reward of {} granted on {} depends on it (§6)",
            Money::from_fen(r.amount_fen).format_yuan(),
            r.granted_on
        )));
    }
    // A reconciled payment for the year depends on the rating through STARS_BELOW_3 (§7).
    let reconciled = entity::payment_lines::Entity::find()
        .filter(entity::payment_lines::Column::EnterpriseId.eq(rating.enterprise_id))
        .filter(entity::payment_lines::Column::SubsidyYear.eq(rating.year))
        .inner_join(entity::line_verdicts::Entity)
        .one(conn)
        .await?;
    Ok(reconciled.map(|l| {
        format!(
            "the reconciled payment with voucher {} of district {} depends on it (§7)",
            l.voucher_no, l.district_code
        )
    }))
}

// ---------------------------------------------------------------------------------------------
// Star rewards
// ---------------------------------------------------------------------------------------------

/// Where a rating's reward stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RewardStatus {
    /// Granted (a `star_rewards` row exists).
    Granted,
    /// Due and not granted yet.
    Due,
    /// Nothing is due: below 3 stars, or the tier is already paid.
    NothingDue,
    /// Nothing is due because the title was revoked after the recognition (§22).
    Revoked,
}

/// The §6 reward of one rating: granted, or what a grant on the grant day would record.
#[derive(Debug, Clone)]
pub struct RewardLine {
    /// The enterprise id.
    pub enterprise_id: i64,
    /// The rating's id.
    pub rating_id: i64,
    /// The enterprise's credit code.
    pub credit_code: String,
    /// Its name today.
    pub name: String,
    /// The district bearing the district share: stored for a granted reward, else the district
    /// registered in on the grant day.
    pub share_district: Option<String>,
    /// The rating year.
    pub year: i32,
    /// The stars.
    pub stars: i32,
    /// `tier(stars)`: `star_reward.<stars>` in force on 1 January of the year.
    pub tier: Money,
    /// Σ star rewards granted to the enterprise before.
    pub already_granted: Money,
    /// The reward: granted, or due on the grant day.
    pub due: Money,
    /// The city's and the district's shares of `due`.
    pub split: RewardSplit,
    /// Where it stands.
    pub status: RewardStatus,
    /// The day it was (or would be) granted.
    pub granted_on: NaiveDate,
    /// A revocation that cancelled it, if any.
    pub revoked_on: Option<NaiveDate>,
    /// `§6`, or `§22` when cancelled by a revocation.
    pub clause: String,
    /// Human text with the figures.
    pub detail: String,
    /// The parameter versions used.
    pub parameter_versions: Vec<i64>,
}

/// The rewards of every rating of `year` as of `grant_day`, ordered by credit code; district
/// actors get only their own rows: the granted rewards whose district share they bore, and the
/// rewards not granted yet of enterprises registered in their district today.
///
/// # Errors
/// Database errors; a missing parameter version is internal.
pub async fn star_rewards<C: ConnectionTrait>(
    conn: &C,
    actor: Option<&Actor>,
    year: i32,
    grant_day: NaiveDate,
) -> AppResult<Vec<RewardLine>> {
    let ratings = star_ratings::Entity::find()
        .filter(star_ratings::Column::Year.eq(year))
        .all(conn)
        .await?;
    if ratings.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = ratings.iter().map(|r| r.enterprise_id).collect();
    let today = registry::today();
    let facts_today = registry::facts_as_of_many(conn, &ids, today).await?;
    // Who bore the district share of each reward already granted for the year (one per
    // enterprise and year: `uq_star_rewards_enterprise_year`).
    let bearers: HashMap<i64, Option<String>> = star_rewards::Entity::find()
        .filter(star_rewards::Column::Year.eq(year))
        .all(conn)
        .await?
        .into_iter()
        .map(|reward| (reward.enterprise_id, reward.district_code))
        .collect();
    // INTERPRETATION(§20): a granted reward is a district's own row (POLICY.md "Who sees what")
    // when that district bore its district share (按现行财政体制), as recorded with the reward —
    // not when the enterprise is registered there today: after a move, the district that paid
    // still sees what it paid, and the enterprise's new district does not see another district's
    // payment. A reward not granted yet has no bearer: it is the enterprise's data, and follows
    // the district the enterprise is registered in today (which would bear a grant made today).
    let ratings: Vec<star_ratings::Model> = ratings
        .into_iter()
        .filter(|r| {
            actor.is_none_or(|a| {
                let district = match bearers.get(&r.enterprise_id) {
                    Some(bearer) => bearer.as_deref(),
                    None => facts_today
                        .get(&r.enterprise_id)
                        .and_then(|f| f.district_code.as_deref()),
                };
                a.sees_confidential_of(district)
            })
        })
        .collect();
    if ratings.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = ratings.iter().map(|r| r.enterprise_id).collect();
    let enterprises = registry::by_ids(conn, &ids).await?;
    let facts_on_grant_day = if grant_day == today {
        facts_today.clone()
    } else {
        registry::facts_as_of_many(conn, &ids, grant_day).await?
    };
    let recognition_ids: Vec<i64> = ratings.iter().map(|r| r.recognition_id).collect();
    let decided_on: HashMap<i64, NaiveDate> = recognitions::Entity::find()
        .filter(recognitions::Column::Id.is_in(recognition_ids))
        .all(conn)
        .await?
        .into_iter()
        .map(|r| (r.id, r.decided_on))
        .collect();
    let mut rewards: HashMap<i64, Vec<star_rewards::Model>> = HashMap::new();
    for chunk in ids.chunks(500) {
        for reward in star_rewards::Entity::find()
            .filter(star_rewards::Column::EnterpriseId.is_in(chunk.iter().copied()))
            .all(conn)
            .await?
        {
            rewards
                .entry(reward.enterprise_id)
                .or_default()
                .push(reward);
        }
    }
    let revocations = revocation_dates_of_many(conn, &ids).await?;
    let set = parameters::load_set(conn).await?;
    let params = StarRewardParams::for_year(&set, year)?;

    let mut lines = Vec::with_capacity(ratings.len());
    for rating in ratings {
        let id = rating.enterprise_id;
        let credit_code = enterprises
            .get(&id)
            .map(|e| e.credit_code.clone())
            .ok_or_else(|| AppError::internal(format!("rated enterprise {id} not found")))?;
        let name = facts_today
            .get(&id)
            .map(|f| f.name.clone())
            .unwrap_or_default();
        let own_rewards = rewards.get(&id).map(Vec::as_slice).unwrap_or_default();
        let line = match own_rewards.iter().find(|r| r.year == year) {
            Some(granted) => granted_line(granted, credit_code, name)?,
            None => {
                let stars = stars_of(rating.stars).ok_or_else(|| {
                    AppError::internal(format!("rating {} has {} stars", rating.id, rating.stars))
                })?;
                // **[interpretation]** "Σ star rewards already granted to the enterprise" counts
                // every reward already recorded, whatever its rating year: granting a later year
                // before an earlier one must not pay a tier twice.
                let already =
                    Money::checked_sum(own_rewards.iter().map(|r| Money::from_fen(r.amount_fen)))
                        .ok_or_else(|| AppError::internal("star rewards overflow"))?;
                let decided = decided_on
                    .get(&rating.recognition_id)
                    .copied()
                    .ok_or_else(|| {
                        AppError::internal(format!("rating {} has no recognition", rating.id))
                    })?;
                let revoked = revocations.get(&id).map(Vec::as_slice).unwrap_or_default();
                let decision =
                    decide_reward(stars, &params.tiers, already, decided, revoked, grant_day);
                // **[interpretation]** §20 (按现行财政体制) names no district: the district share is
                // borne by the district the enterprise is registered in on the grant day, and is
                // recorded with the reward so a later move does not shift it.
                let share_district = facts_on_grant_day
                    .get(&id)
                    .and_then(|f| f.district_code.clone());
                due_line(
                    &rating,
                    decision,
                    &params,
                    grant_day,
                    credit_code,
                    name,
                    share_district,
                )?
            }
        };
        lines.push(line);
    }
    lines.sort_by(|a, b| a.credit_code.cmp(&b.credit_code));
    Ok(lines)
}

fn granted_line(
    row: &star_rewards::Model,
    credit_code: String,
    name: String,
) -> AppResult<RewardLine> {
    let parameter_versions = serde_json::from_str(&row.parameter_versions).map_err(|e| {
        AppError::internal(format!(
            "star reward {} has unreadable versions: {e}",
            row.id
        ))
    })?;
    let due = Money::from_fen(row.amount_fen);
    Ok(RewardLine {
        enterprise_id: row.enterprise_id,
        rating_id: row.star_rating_id,
        credit_code,
        name,
        share_district: row.district_code.clone(),
        year: row.year,
        stars: row.stars,
        tier: Money::from_fen(row.tier_fen),
        already_granted: Money::from_fen(row.previously_granted_fen),
        due,
        split: RewardSplit {
            city: Money::from_fen(row.city_share_fen),
            district: Money::from_fen(row.district_share_fen),
        },
        status: RewardStatus::Granted,
        granted_on: row.granted_on,
        revoked_on: None,
        clause: crate::policy::Clause::S6.as_str().to_string(),
        detail: format!(
            "granted on {}: tier {} − already granted {} = {}",
            row.granted_on,
            Money::from_fen(row.tier_fen).format_yuan(),
            Money::from_fen(row.previously_granted_fen).format_yuan(),
            due.format_yuan()
        ),
        parameter_versions,
    })
}

fn due_line(
    rating: &star_ratings::Model,
    decision: RewardDecision,
    params: &StarRewardParams,
    grant_day: NaiveDate,
    credit_code: String,
    name: String,
    share_district: Option<String>,
) -> AppResult<RewardLine> {
    let split = split(decision.due, params.city_share)?;
    let status = match (decision.revoked_on, decision.due.is_zero()) {
        (Some(_), _) => RewardStatus::Revoked,
        (None, true) => RewardStatus::NothingDue,
        (None, false) => RewardStatus::Due,
    };
    Ok(RewardLine {
        enterprise_id: rating.enterprise_id,
        rating_id: rating.id,
        credit_code,
        name,
        share_district,
        year: rating.year,
        stars: rating.stars,
        tier: decision.tier,
        already_granted: decision.already_granted,
        due: decision.due,
        split,
        status,
        granted_on: grant_day,
        revoked_on: decision.revoked_on,
        clause: decision.clause.as_str().to_string(),
        detail: decision.detail,
        parameter_versions: params.parameter_versions.clone(),
    })
}

/// The outcome of granting a year's rewards.
#[derive(Debug, Clone, Default)]
pub struct Grant {
    /// Rewards recorded by this call.
    pub granted: Vec<RewardLine>,
    /// Rewards recorded before (unchanged).
    pub already_granted: Vec<RewardLine>,
    /// Ratings with nothing due (below 3 stars, tier already paid, or revoked): nothing recorded.
    pub nothing_due: Vec<RewardLine>,
}

impl Grant {
    /// The total of the rewards recorded by this call.
    ///
    /// # Errors
    /// Internal error if the total overflows (each reward is bounded, so it cannot in practice).
    pub fn granted_total(&self) -> AppResult<Money> {
        Money::checked_sum(self.granted.iter().map(|line| line.due))
            .ok_or_else(|| AppError::internal("granted star rewards overflow"))
    }
}

/// Grants the §6 rewards of every rating of `year` on `granted_on`: one `star_rewards` row per
/// enterprise with a reward due and none recorded for `year`. Idempotent: a second run records
/// nothing and reports the earlier grants. One transaction; each recorded reward is audited.
///
/// # Errors
/// `BAD_USER_INPUT` for a grant day before 1 January of `year`; database errors.
pub async fn grant_star_rewards(
    db: &DatabaseConnection,
    actor: &Actor,
    year: i32,
    granted_on: NaiveDate,
) -> AppResult<Grant> {
    check_grant_day(year, granted_on)?;
    let txn = tx::begin_write(db).await?;
    let grant = grant_star_rewards_in(&txn, actor, year, granted_on).await?;
    txn.commit().await?;
    Ok(grant)
}

/// **[interpretation]** A reward for a rating of Y is granted in Y or later: its tier is read on
/// 1 January of Y, and a grant day before that would precede the rating it pays for.
fn check_grant_day(year: i32, granted_on: NaiveDate) -> AppResult<()> {
    if granted_on.year() < year {
        return Err(AppError::bad_input(
            "grantedOn",
            format!("a reward for a {year} rating is granted in {year} or later"),
        ));
    }
    Ok(())
}

/// [`grant_star_rewards`] inside the caller's write transaction (used by the demo data loader).
///
/// # Errors
/// As [`grant_star_rewards`].
pub async fn grant_star_rewards_in<C: ConnectionTrait>(
    txn: &C,
    actor: &Actor,
    year: i32,
    granted_on: NaiveDate,
) -> AppResult<Grant> {
    check_grant_day(year, granted_on)?;
    // Lock the rated enterprises in id order, so a concurrent grant or re-rating waits for this
    // one and sees its rows (PostgreSQL; SQLite holds the write lock already).
    let rated: Vec<i64> = star_ratings::Entity::find()
        .filter(star_ratings::Column::Year.eq(year))
        .all(txn)
        .await?
        .into_iter()
        .map(|r| r.enterprise_id)
        .collect();
    for chunk in rated.chunks(500) {
        enterprises::Entity::find()
            .filter(enterprises::Column::Id.is_in(chunk.iter().copied()))
            .order_by_asc(enterprises::Column::Id)
            .lock_exclusive()
            .all(txn)
            .await?;
    }
    let lines = star_rewards(txn, None, year, granted_on).await?;
    let mut grant = Grant::default();
    let now = Utc::now();
    for line in lines {
        match line.status {
            RewardStatus::Granted => grant.already_granted.push(line),
            RewardStatus::NothingDue | RewardStatus::Revoked => grant.nothing_due.push(line),
            RewardStatus::Due => {
                let versions =
                    serde_json::to_string(&line.parameter_versions).map_err(AppError::internal)?;
                star_rewards::ActiveModel {
                    id: NotSet,
                    enterprise_id: Set(line.enterprise_id),
                    star_rating_id: Set(line.rating_id),
                    year: Set(year),
                    stars: Set(line.stars),
                    tier_fen: Set(line.tier.fen()),
                    previously_granted_fen: Set(line.already_granted.fen()),
                    amount_fen: Set(line.due.fen()),
                    city_share_fen: Set(line.split.city.fen()),
                    district_share_fen: Set(line.split.district.fen()),
                    district_code: Set(line.share_district.clone()),
                    granted_on: Set(granted_on),
                    parameter_versions: Set(versions),
                    granted_by: Set(actor.sub.clone()),
                    created_at: Set(now),
                }
                .insert(txn)
                .await?;
                audit::record(
                    txn,
                    actor,
                    AuditEntry {
                        operation: "grantStarRewards",
                        target_type: "star_reward",
                        target_id: Some(format!("{}/{year}", line.credit_code)),
                        before: None,
                        after: Some(json!({
                            "year": year,
                            "stars": line.stars,
                            "tier": line.tier,
                            "alreadyGranted": line.already_granted,
                            "amount": line.due,
                            "cityShare": line.split.city,
                            "districtShare": line.split.district,
                            "district": line.share_district,
                            "grantedOn": granted_on,
                            "parameterVersions": line.parameter_versions,
                        })),
                    },
                )
                .await?;
                grant.granted.push(RewardLine {
                    status: RewardStatus::Granted,
                    ..line
                });
            }
        }
    }
    Ok(grant)
}

// ---------------------------------------------------------------------------------------------
// Revocations
// ---------------------------------------------------------------------------------------------

/// A recorded revocation.
#[derive(Debug, Clone)]
pub struct Revocation {
    /// The enterprise's credit code.
    pub credit_code: String,
    /// The stored row (with `ban_until`, the last day of the §22 ban).
    pub row: revocations::Model,
    /// The finding the revocation created on approved payments it reaches (§20 step 6), if any.
    pub finding_id: Option<i64>,
}

/// Records a revocation of the title approved by the leading group (§22), with the end of the ban
/// from `recognition.ban_years` in force on the revocation date; one transaction, audited.
///
/// # Errors
/// `BAD_USER_INPUT` for an empty reason or approval reference; `NOT_FOUND` for an unknown
/// enterprise; `POLICY_VIOLATION` (`§22`) when it held no title on that date; `CONFLICT` when a
/// revocation of the enterprise on that date is already recorded.
pub async fn revoke_title(
    db: &DatabaseConnection,
    actor: &Actor,
    credit_code: &str,
    revoked_on: NaiveDate,
    reason: &str,
    approval_ref: &str,
) -> AppResult<Revocation> {
    let reason = non_empty("reason", reason)?;
    let approval_ref = non_empty("approvalRef", approval_ref)?;
    let found = enterprise(db, credit_code).await?;
    let txn = tx::begin_write(db).await?;
    let revocation =
        revoke_title_locked(&txn, actor, found.id, revoked_on, reason, approval_ref).await?;
    txn.commit().await?;
    Ok(revocation)
}

/// [`revoke_title`] inside the caller's write transaction (used by the demo data loader).
///
/// # Errors
/// As [`revoke_title`].
pub async fn revoke_title_in<C: ConnectionTrait>(
    txn: &C,
    actor: &Actor,
    credit_code: &str,
    revoked_on: NaiveDate,
    reason: &str,
    approval_ref: &str,
) -> AppResult<Revocation> {
    let reason = non_empty("reason", reason)?;
    let approval_ref = non_empty("approvalRef", approval_ref)?;
    let found = enterprise(txn, credit_code).await?;
    revoke_title_locked(txn, actor, found.id, revoked_on, reason, approval_ref).await
}

async fn revoke_title_locked<C: ConnectionTrait>(
    txn: &C,
    actor: &Actor,
    enterprise_id: i64,
    revoked_on: NaiveDate,
    reason: String,
    approval_ref: String,
) -> AppResult<Revocation> {
    let enterprise = lock(txn, enterprise_id).await?;
    // §22 needs a title to revoke: `title_held_on` decides from the recognitions' decision dates
    // (one recognition a year at most, so this reads a handful of dates).
    let decided_on: Vec<NaiveDate> = recognitions::Entity::find()
        .select_only()
        .column(recognitions::Column::DecidedOn)
        .filter(recognitions::Column::EnterpriseId.eq(enterprise.id))
        .into_tuple::<NaiveDate>()
        .all(txn)
        .await?;
    if !title_held_on(&decided_on, revoked_on) {
        return Err(AppError::policy(
            "§22",
            format!(
                "{} held no headquarters title on {revoked_on}: nothing to revoke",
                enterprise.credit_code
            ),
        ));
    }
    let duplicate = revocations::Entity::find()
        .filter(revocations::Column::EnterpriseId.eq(enterprise.id))
        .filter(revocations::Column::RevokedOn.eq(revoked_on))
        .one(txn)
        .await?;
    if duplicate.is_some() {
        return Err(AppError::Conflict(format!(
            "a revocation of {} on {revoked_on} is already recorded",
            enterprise.credit_code
        )));
    }
    let set = parameters::load_set(txn).await?;
    let mut read = set.reader(revoked_on, None);
    let ban_years = read.count("recognition.ban_years")?;
    let ban_until = ban_end(revoked_on, ban_years);
    let row = revocations::ActiveModel {
        id: NotSet,
        enterprise_id: Set(enterprise.id),
        revoked_on: Set(revoked_on),
        ban_until: Set(ban_until),
        reason: Set(reason.clone()),
        approval_ref: Set(approval_ref.clone()),
        recorded_by: Set(actor.sub.clone()),
        created_at: Set(Utc::now()),
    }
    .insert(txn)
    .await?;
    audit::record(
        txn,
        actor,
        AuditEntry {
            operation: "revokeTitle",
            target_type: "revocation",
            target_id: Some(format!("{}/{revoked_on}", enterprise.credit_code)),
            before: None,
            after: Some(json!({
                "revokedOn": revoked_on,
                "banYears": ban_years,
                "banUntil": ban_until,
                "reason": reason,
                "approvalRef": approval_ref,
                "parameterVersions": read.used_version_ids(),
            })),
        },
    )
    .await?;
    // §20 step 6: approved payments the revocation reaches become a finding by themselves.
    let finding = crate::services::findings::findings_for_revocation(
        txn,
        actor,
        enterprise.id,
        row.id,
        revoked_on,
    )
    .await?;
    Ok(Revocation {
        credit_code: enterprise.credit_code,
        row,
        finding_id: finding.map(|f| f.finding.id),
    })
}

fn non_empty(field: &str, text: &str) -> AppResult<String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(AppError::bad_input(
            field,
            format!("{field} must not be empty"),
        ));
    }
    Ok(text.to_string())
}

// ---------------------------------------------------------------------------------------------
// The published list (§21) and monitoring (§1)
// ---------------------------------------------------------------------------------------------

/// One entry of the published HQ list: nothing confidential.
#[derive(Debug, Clone)]
pub struct PublishedHq {
    /// Name on the decision date.
    pub name: String,
    /// District registered in on the decision date.
    pub district: Option<String>,
    /// Stars for the year, if rated.
    pub stars: Option<i32>,
    /// The route of the recognition.
    pub route: String,
}

/// The published list of `year` (§21): the HQs recognised for `year`, with name and district as
/// on the decision date, stars and route; ordered by stars (highest first, unrated last), then
/// name.
///
/// **[interpretation]** The list is the current one: an HQ whose title was revoked (on or before
/// today) after its recognition for `year` was decided is no longer an HQ and is left out.
///
/// # Errors
/// Database errors.
pub async fn published_headquarters<C: ConnectionTrait>(
    conn: &C,
    year: i32,
) -> AppResult<Vec<PublishedHq>> {
    let recognised = recognitions::Entity::find()
        .filter(recognitions::Column::Year.eq(year))
        .all(conn)
        .await?;
    let ids: Vec<i64> = recognised.iter().map(|r| r.enterprise_id).collect();
    let revoked = revocation_dates_of_many(conn, &ids).await?;
    let today = registry::today();
    let recognised: Vec<recognitions::Model> = recognised
        .into_iter()
        .filter(|r| {
            !revoked.get(&r.enterprise_id).is_some_and(|dates| {
                dates
                    .iter()
                    .any(|&revoked_on| r.decided_on < revoked_on && revoked_on <= today)
            })
        })
        .collect();
    let stars: HashMap<i64, i32> = star_ratings::Entity::find()
        .filter(star_ratings::Column::Year.eq(year))
        .all(conn)
        .await?
        .into_iter()
        .map(|r| (r.enterprise_id, r.stars))
        .collect();
    let keys: Vec<(i64, NaiveDate)> = recognised
        .iter()
        .map(|r| (r.enterprise_id, r.decided_on))
        .collect();
    let mut facts: HashMap<(i64, NaiveDate), enterprise_facts::Model> = HashMap::new();
    for (date, ids) in registry::group_by_date(&keys) {
        for (id, row) in registry::facts_as_of_many(conn, &ids, date).await? {
            facts.insert((id, date), row);
        }
    }
    let mut list: Vec<PublishedHq> = recognised
        .iter()
        .map(|r| {
            let on_decision = facts.get(&(r.enterprise_id, r.decided_on));
            PublishedHq {
                name: on_decision.map(|f| f.name.clone()).unwrap_or_default(),
                district: on_decision.and_then(|f| f.district_code.clone()),
                stars: stars.get(&r.enterprise_id).copied(),
                route: r.route.clone(),
            }
        })
        .collect();
    list.sort_by(|a, b| b.stars.cmp(&a.stars).then_with(|| a.name.cmp(&b.name)));
    Ok(list)
}

/// The §1 monitoring figures of one year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// The year Y.
    pub year: i32,
    /// HQs recognised for Y.
    pub recognised: i64,
    /// HQs recognised for the baseline year 2023.
    pub baseline_recognised: i64,
    /// HQs recognised for Y and for no earlier year.
    pub first_time: i64,
    /// HQs recognised for Y with revenue(Y−1) ≥ 10,000,000,000.00 (百亿级).
    pub ten_billion: i64,
    /// HQs recognised for Y with revenue(Y−1) ≥ 100,000,000,000.00 (千亿级).
    pub hundred_billion: i64,
}

/// What a §1 target measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetMeasure {
    /// 总部企业数量新增: recognised(Y) − recognised(2023).
    IncreaseOverBaseline,
    /// 百亿级总部企业: HQs with revenue(Y−1) ≥ 10,000,000,000.00.
    TenBillionClass,
    /// 千亿级总部企业: HQs with revenue(Y−1) ≥ 100,000,000,000.00.
    HundredBillionClass,
}

/// One §1 target against the year's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// What is measured.
    pub measure: TargetMeasure,
    /// The year's value.
    pub actual: i64,
    /// The 2025 target.
    pub target: i64,
    /// Whether the value meets the target.
    pub met: bool,
}

impl Progress {
    /// `recognised − baseline_recognised` (数量新增; negative if fewer).
    #[must_use]
    pub fn increase(&self) -> i64 {
        self.recognised - self.baseline_recognised
    }

    /// The three §1 targets against this year's values.
    ///
    /// 新增100家以上: at least 100 (以上 includes the number, Civil Code art. 1259).
    /// **[interpretation]** 突破60家 / 突破10家 ("break through"): more than 60 / more than 10.
    #[must_use]
    pub fn targets(&self) -> [Target; 3] {
        let increase = self.increase();
        [
            Target {
                measure: TargetMeasure::IncreaseOverBaseline,
                actual: increase,
                target: TARGET_INCREASE,
                met: increase >= TARGET_INCREASE,
            },
            Target {
                measure: TargetMeasure::TenBillionClass,
                actual: self.ten_billion,
                target: TARGET_TEN_BILLION,
                met: self.ten_billion > TARGET_TEN_BILLION,
            },
            Target {
                measure: TargetMeasure::HundredBillionClass,
                actual: self.hundred_billion,
                target: TARGET_HUNDRED_BILLION,
                met: self.hundred_billion > TARGET_HUNDRED_BILLION,
            },
        ]
    }
}

fn count_of(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The §1 monitoring figures of `year`.
///
/// **[interpretation]** Counts are of recognitions (decisions) for the year, revoked or not: the
/// targets measure how many HQs the city recognised. An HQ without figures for Y−1 counts in
/// neither revenue class.
///
/// # Errors
/// Database errors.
pub async fn target_progress<C: ConnectionTrait>(conn: &C, year: i32) -> AppResult<Progress> {
    let of_year: Vec<i64> = recognitions::Entity::find()
        .filter(recognitions::Column::Year.eq(year))
        .all(conn)
        .await?
        .into_iter()
        .map(|r| r.enterprise_id)
        .collect();
    let baseline = recognitions::Entity::find()
        .filter(recognitions::Column::Year.eq(BASELINE_YEAR))
        .count(conn)
        .await?;
    let mut earlier: HashSet<i64> = HashSet::new();
    let mut ten_billion = 0;
    let mut hundred_billion = 0;
    for chunk in of_year.chunks(500) {
        earlier.extend(
            recognitions::Entity::find()
                .filter(recognitions::Column::EnterpriseId.is_in(chunk.iter().copied()))
                .filter(recognitions::Column::Year.lt(year))
                .all(conn)
                .await?
                .into_iter()
                .map(|r| r.enterprise_id),
        );
        let revenues = enterprise_figures::Entity::find()
            .filter(enterprise_figures::Column::EnterpriseId.is_in(chunk.iter().copied()))
            .filter(enterprise_figures::Column::Year.eq(year.saturating_sub(1)))
            .all(conn)
            .await?;
        for row in revenues {
            let revenue = Money::from_fen(row.revenue_fen);
            ten_billion += i64::from(revenue >= TEN_BILLION);
            hundred_billion += i64::from(revenue >= HUNDRED_BILLION);
        }
    }
    Ok(Progress {
        year,
        recognised: count_of(of_year.len()),
        baseline_recognised: i64::try_from(baseline).unwrap_or(i64::MAX),
        first_time: count_of(of_year.iter().filter(|id| !earlier.contains(id)).count()),
        ten_billion,
        hundred_billion,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_revenue_classes_are_ten_and_a_hundred_billion_yuan() {
        assert_eq!(TEN_BILLION.format_yuan(), "10,000,000,000.00");
        assert_eq!(HUNDRED_BILLION.format_yuan(), "100,000,000,000.00");
    }

    fn progress(recognised: i64, ten_billion: i64, hundred_billion: i64) -> Progress {
        Progress {
            year: 2025,
            recognised,
            baseline_recognised: 468,
            first_time: 0,
            ten_billion,
            hundred_billion,
        }
    }

    #[test]
    fn an_increase_of_exactly_100_meets_the_target_and_99_does_not() {
        assert!(progress(568, 0, 0).targets()[0].met);
        assert!(!progress(567, 0, 0).targets()[0].met);
        assert_eq!(progress(567, 0, 0).targets()[0].actual, 99);
    }

    #[test]
    fn the_revenue_class_targets_are_met_only_when_exceeded() {
        let at = progress(0, 60, 10).targets();
        assert!(!at[1].met && !at[2].met);
        let above = progress(0, 61, 11).targets();
        assert!(above[1].met && above[2].met);
    }

    #[test]
    fn a_district_actor_sees_only_its_own_district() {
        let district = Actor {
            sub: "d".into(),
            role: crate::auth::Role::District,
            district: Some("330106".into()),
        };
        assert!(ensure_sees(&district, Some("330106")).is_ok());
        assert!(ensure_sees(&district, Some("330108")).is_err());
        assert!(ensure_sees(&district, None).is_err());
        let finance = Actor {
            sub: "f".into(),
            role: crate::auth::Role::CityFinance,
            district: None,
        };
        assert!(ensure_sees(&finance, Some("330108")).is_ok());
    }
}
