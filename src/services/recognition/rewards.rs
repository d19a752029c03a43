//! Star rewards (§6): the reward of each rating of a year as of a grant day, and granting them.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde_json::json;

use super::ratings::stars_of;
use super::{registry, revocation_dates_of_many};
use crate::auth::Actor;
use crate::error::{AppError, AppResult};
use crate::policy::star_reward::{StarRewardParams, split};
use crate::policy::{Money, RewardDecision, RewardSplit, decide_reward};
use crate::services::audit::{self, AuditEntry};
use crate::services::{parameters, tx};
use entity::{enterprises, recognitions, star_ratings, star_rewards};

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
    let facts_today = registry::read::facts_as_of_many(conn, &ids, today).await?;
    // Who bore the district share of each reward already granted for the year (one per
    // enterprise and year: `uq_star_rewards_enterprise_year`).
    let bearers: HashMap<i64, Option<String>> = star_rewards::Entity::find()
        .filter(star_rewards::Column::Year.eq(year))
        .all(conn)
        .await?
        .into_iter()
        .map(|reward| (reward.enterprise_id, reward.district_code))
        .collect();
    // INTERPRETATION(§20): a granted reward is a district's own row (who sees what: README, "Roles and tokens")
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
    let enterprises = registry::read::by_ids(conn, &ids).await?;
    let facts_on_grant_day = if grant_day == today {
        facts_today.clone()
    } else {
        registry::read::facts_as_of_many(conn, &ids, grant_day).await?
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
                // INTERPRETATION(§6): "Σ star rewards already granted to the enterprise" counts
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
                // INTERPRETATION(§20): §20 (按现行财政体制) names no district: the district share is
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
#[tracing::instrument(name = "recognition.grant_star_rewards", skip_all, fields(role = %actor.role, year))]
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

/// INTERPRETATION(§6): A reward for a rating of Y is granted in Y or later: its tier is read on
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
