//! Recognition (§3, §4), star ratings (§5), star rewards (§6), revocations (§22), the published
//! HQ list (§21) and the §1 targets.

use std::collections::HashMap;

use async_graphql::connection::Connection;
use async_graphql::{Context, Enum, Object, Result, SimpleObject};

use super::districts::District;
use super::pagination::{self, ConnectionTotals, CursorSpec, KeyKind, PageArgs};
use super::rule_sets::RuleSetCitation;
use super::scalars::{Date, DateTime, Decimal};
use crate::error::AppError;
use crate::policy::{self, Gap, RecognitionVerdict as Verdict};
use crate::services::keyset::{self, KeyPart};
use crate::services::recognition::published::{self, Progress};
use crate::services::recognition::rewards::{self, RewardLine};
use crate::services::recognition::{ratings, recognize, revocations, round};
use crate::services::rule_sets::StoredRuleSet;
use crate::services::{districts as district_service, registry};

// ---------------------------------------------------------------------------------------------
// Verdicts
// ---------------------------------------------------------------------------------------------

/// A rule of the recognition table (docs/rules.md, "Recognition rules"), in table order.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(
    name = "RuleId",
    rename_items = "SCREAMING_SNAKE_CASE",
    remote = "crate::policy::RuleId"
)]
pub enum GqlRuleId {
    /// §22: the decision date is after the end of every ban.
    NotBanned,
    /// §3.1: the industrial guidance flag is set.
    IndustrialGuidance,
    /// §3.1: independent legal person, or deemed legal person.
    LegalPerson,
    /// §3.1: registered in a Hangzhou district.
    RegisteredInHangzhou,
    /// §3.1: operating.
    Operating,
    /// §3.1: unified accounting.
    UnifiedAccounting,
    /// §3.1: enough branches / controlled subsidiaries outside Hangzhou.
    OutsideUnits,
    /// §3.1: not on the serious dishonesty list.
    NotDishonest,
    /// §3.1: the industry class starts with no excluded prefix.
    IndustryNotExcluded,
    /// §3.1: the ownership kind is not excluded.
    NotExcludedSoe,
    /// §3.2: revenue(Y−1) at or above the threshold.
    RevenueThreshold,
    /// §3.3: R&D facilities.
    RdFacilities,
    /// §3.3: stable R&D funding.
    RdStableFunding,
    /// §3.3: R&D(Y−1) at or above the minimum.
    RdMinSpend,
    /// §3.3: R&D(Y−1) ≥ ratio × revenue(Y−1).
    RdMinRatio,
    /// §3.4: listed on an accepted exchange.
    ListedOnAcceptedExchange,
    /// §3.4: the listed entity is in Hangzhou.
    ListedEntityInHangzhou,
}

/// A route to recognition, tried in this order.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(
    name = "RecognitionRoute",
    rename_items = "SCREAMING_SNAKE_CASE",
    remote = "crate::policy::Route"
)]
pub enum GqlRoute {
    /// §3.1 + §3.2: the basic conditions and the revenue threshold.
    Standard,
    /// §3.1 + §3.3: the basic conditions and the four R&D rules (研发型总部).
    Rd,
    /// §3.1 + §3.4: the basic conditions and the two listing rules (上市企业总部).
    Listed,
}

impl GqlRoute {
    /// The route of a stored recognition (`STANDARD`, `RD`, `LISTED`).
    pub(super) fn parse(text: &str) -> Result<GqlRoute, AppError> {
        let route: policy::Route = text.parse().map_err(AppError::internal)?;
        Ok(route.into())
    }
}

/// What a rule's gap counts.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum GapKind {
    /// An amount in yuan still missing (revenue, R&D spending).
    Money,
    /// Branches or subsidiaries outside Hangzhou still missing.
    Units,
}

/// A value a rule used, e.g. `revenue` = `463000000.00`.
#[derive(SimpleObject, Debug, Clone)]
pub struct VerdictFigure {
    /// What the value is (`revenue`, `threshold`, `hangzhou_since`, ...).
    pub name: String,
    /// The value as text (amounts plain with 2 decimals, dates ISO).
    pub value: String,
}

/// The outcome of one rule.
#[derive(SimpleObject, Debug, Clone)]
pub struct RecognitionRuleResult {
    /// The rule.
    pub rule: GqlRuleId,
    /// Its clause, e.g. `§3.2`.
    pub clause: String,
    /// Whether it passed.
    pub passed: bool,
    /// Human text with the figures, e.g.
    /// `revenue 463,000,000.00 < 500,000,000.00 (new enterprise, in Hangzhou since 2022-03-01)`.
    pub detail: String,
    /// For a failed numeric rule, by how much it missed (yuan, or units); null otherwise.
    pub gap: Option<Decimal>,
    /// What `gap` counts; null when there is no gap.
    pub gap_kind: Option<GapKind>,
    /// The values the rule used.
    pub figures: Vec<VerdictFigure>,
}

/// Whether a route passed.
#[derive(SimpleObject, Debug, Clone)]
pub struct RecognitionRouteResult {
    /// The route.
    pub route: GqlRoute,
    /// Whether all its rules passed.
    pub passed: bool,
    /// Its failed rules, in table order.
    pub failed_rules: Vec<GqlRuleId>,
}

/// The recognition verdict for one enterprise, year and decision date (confidential: it holds the
/// enterprise's figures).
#[derive(SimpleObject, Debug, Clone)]
pub struct RecognitionVerdict {
    /// The enterprise's unified social credit code.
    pub credit_code: String,
    /// The recognition year Y (figures are those of Y−1).
    pub year: i32,
    /// The decision date D: facts and parameters are taken as of D.
    pub decided_on: Date,
    /// `NOT_BANNED` passed and some route passed.
    pub eligible: bool,
    /// The first route that passed, when eligible.
    pub route: Option<GqlRoute>,
    /// Every rule, in table order.
    pub rules: Vec<RecognitionRuleResult>,
    /// Every route, in the order tried.
    pub routes: Vec<RecognitionRouteResult>,
    /// The industry class needs review (`recognition.review_industries`); eligibility unchanged.
    pub needs_review: bool,
    /// The last day of the §22 ban in force on D; null when not banned.
    pub ban_until: Option<Date>,
    /// Every rule that did not pass, in table order.
    pub failed_rules: Vec<GqlRuleId>,
    /// The ids of the policy parameter versions the verdict used.
    pub parameter_version_ids: Vec<i64>,
    /// The rule set decided under: the one in force on the decision date (`ruleSets`).
    pub rule_set: RuleSetCitation,
    /// The rules of the rule table that rule set does not apply (e.g. `NOT_EXCLUDED_SOE` after
    /// 杭政办〔2024〕1号), in table order: not evaluated, and absent from `rules`, `routes` and
    /// `failedRules`.
    pub rules_not_in_force: Vec<GqlRuleId>,
}

impl RecognitionVerdict {
    fn new(credit_code: String, verdict: Verdict, rule_set: &StoredRuleSet) -> Self {
        let rules = verdict
            .rules
            .into_iter()
            .map(|r| {
                let (gap, gap_kind) = match r.gap {
                    Some(Gap::Money(amount)) => (Some(amount.into()), Some(GapKind::Money)),
                    Some(Gap::Units(units)) => (Some(Decimal(units.into())), Some(GapKind::Units)),
                    None => (None, None),
                };
                RecognitionRuleResult {
                    rule: r.rule.into(),
                    clause: r.clause.as_str().to_string(),
                    passed: r.passed,
                    detail: r.detail.into_owned(),
                    gap,
                    gap_kind,
                    figures: r
                        .figures
                        .into_iter()
                        .map(|f| VerdictFigure {
                            name: f.name.into_owned(),
                            value: f.value,
                        })
                        .collect(),
                }
            })
            .collect();
        let routes = verdict
            .routes
            .into_iter()
            .map(|o| RecognitionRouteResult {
                route: o.route.into(),
                passed: o.passed,
                failed_rules: o.failed.into_iter().map(Into::into).collect(),
            })
            .collect();
        RecognitionVerdict {
            credit_code,
            year: verdict.year,
            decided_on: Date(verdict.decided_on),
            eligible: verdict.eligible,
            route: verdict.route.map(Into::into),
            rules,
            routes,
            needs_review: verdict.needs_review,
            ban_until: verdict.ban_until.map(Date),
            failed_rules: verdict.failed.into_iter().map(Into::into).collect(),
            parameter_version_ids: verdict.parameter_versions,
            rule_set: rule_set.into(),
            rules_not_in_force: verdict.not_in_force.into_iter().map(Into::into).collect(),
        }
    }
}

/// A stored recognition (§4).
#[derive(SimpleObject, Debug, Clone)]
pub struct Recognition {
    /// The enterprise's unified social credit code.
    pub credit_code: String,
    /// The recognition year.
    pub year: i32,
    /// The decision date.
    pub decided_on: Date,
    /// The route it was recognised through.
    pub route: GqlRoute,
    /// The code of the rule set decided under, e.g. `HZ-2023-3` (杭政办〔2023〕3号): the one in
    /// force on the decision date. Never changes once stored.
    pub rule_set: String,
    /// The industry class needs review.
    pub needs_review: bool,
    /// The ids of the policy parameter versions used.
    pub parameter_version_ids: Vec<i64>,
    /// Who decided (token subject).
    pub decided_by: String,
    /// When it was recorded (UTC).
    pub recorded_at: DateTime,
    /// The verdict as stored.
    pub verdict: RecognitionVerdict,
}

// ---------------------------------------------------------------------------------------------
// Ratings, rewards, revocations
// ---------------------------------------------------------------------------------------------

/// A star rating (§5).
#[derive(SimpleObject, Debug, Clone)]
pub struct StarRating {
    /// The enterprise's unified social credit code.
    pub credit_code: String,
    /// The rating year.
    pub year: i32,
    /// 1 to 5 stars.
    pub stars: i32,
    /// The stars this call replaced; null for a first rating.
    pub previous_stars: Option<i32>,
    /// Who rated (token subject).
    pub rated_by: String,
    /// When it was rated (UTC).
    pub rated_at: DateTime,
}

/// Where a rating's reward stands.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(
    rename_items = "SCREAMING_SNAKE_CASE",
    remote = "crate::services::recognition::rewards::RewardStatus"
)]
pub enum StarRewardStatus {
    /// Granted: a reward is recorded for the year.
    Granted,
    /// Due and not granted yet.
    Due,
    /// Nothing due: below 3 stars, or the tier is already paid.
    NothingDue,
    /// Nothing due: the title was revoked after the recognition, on or before the grant day (§22).
    Revoked,
}

/// The §6 star reward of one rating (confidential).
#[derive(SimpleObject, Debug, Clone)]
#[graphql(complex)]
pub struct StarReward {
    /// The enterprise's unified social credit code.
    pub credit_code: String,
    /// Its name today.
    pub name: String,
    /// The district (code) bearing the district share: as recorded for a granted reward, else the
    /// district the enterprise is registered in on the grant day; null outside Hangzhou.
    pub district_code: Option<String>,
    /// The rating year Y.
    pub year: i32,
    /// The stars of the rating.
    pub stars: i32,
    /// `tier(stars)`: `star_reward.<stars>` in force on 1 January of Y; 0 below 3 stars.
    pub tier: Decimal,
    /// Σ star rewards granted to the enterprise before this one.
    pub already_granted: Decimal,
    /// `max(0, tier − alreadyGranted)`, or 0 when revoked: granted, or due on the grant day.
    pub due: Decimal,
    /// `floor_to_fen(due × star_reward.city_share)`.
    pub city_share: Decimal,
    /// `due − cityShare`.
    pub district_share: Decimal,
    /// Where the reward stands.
    pub status: StarRewardStatus,
    /// The day it was granted (GRANTED), or the grant day asked about.
    pub granted_on: Date,
    /// The revocation that cancels the reward (§22), if any.
    pub revoked_on: Option<Date>,
    /// `§6`, or `§22` when a revocation cancels the reward.
    pub clause: String,
    /// Human text with the figures.
    pub detail: String,
    /// The ids of the policy parameter versions used.
    pub parameter_version_ids: Vec<i64>,
}

#[async_graphql::ComplexObject]
impl StarReward {
    /// Opaque global id (`Node`); `node(id:)` refetches it.
    pub(super) async fn id(&self, _ctx: &Context<'_>) -> Result<async_graphql::ID> {
        Ok(super::node::global_id(
            super::node::NodeKind::StarReward,
            &[&self.credit_code, &self.year],
        ))
    }
}

impl From<RewardLine> for StarReward {
    fn from(line: RewardLine) -> Self {
        StarReward {
            credit_code: line.credit_code,
            name: line.name,
            district_code: line.share_district,
            year: line.year,
            stars: line.stars,
            tier: line.tier.into(),
            already_granted: line.already_granted.into(),
            due: line.due.into(),
            city_share: line.split.city.into(),
            district_share: line.split.district.into(),
            status: line.status.into(),
            granted_on: Date(line.granted_on),
            revoked_on: line.revoked_on.map(Date),
            clause: line.clause,
            detail: line.detail,
            parameter_version_ids: line.parameter_versions,
        }
    }
}

/// The result of `grantStarRewards`.
#[derive(SimpleObject, Debug, Clone)]
pub struct StarRewardGrant {
    /// The rating year.
    pub year: i32,
    /// The grant day.
    pub granted_on: Date,
    /// Rewards recorded by this call.
    pub granted: Vec<StarReward>,
    /// Rewards recorded before, unchanged.
    pub already_granted: Vec<StarReward>,
    /// Ratings with nothing due (below 3 stars, tier already paid, revoked): nothing recorded.
    pub nothing_due: Vec<StarReward>,
    /// Σ `due` of the rewards recorded by this call.
    pub granted_total: Decimal,
}

/// A revocation of the HQ title (§22).
#[derive(SimpleObject, Debug, Clone)]
pub struct Revocation {
    /// The enterprise's unified social credit code.
    pub credit_code: String,
    /// The day the title was revoked (R).
    pub revoked_on: Date,
    /// The last day of the ban (inclusive): recognition is possible again from the day after.
    pub ban_until: Date,
    /// Why.
    pub reason: String,
    /// Reference of the leading group's approval.
    pub approval_ref: String,
    /// Who recorded it (token subject).
    pub recorded_by: String,
}

// ---------------------------------------------------------------------------------------------
// Published list, monitoring
// ---------------------------------------------------------------------------------------------

/// One entry of the published HQ list (§21): nothing confidential.
#[derive(SimpleObject, Debug, Clone)]
pub struct PublishedHeadquarters {
    /// The enterprise's name on the decision date.
    pub name: String,
    /// The district it was registered in on the decision date.
    pub district: Option<District>,
    /// The stars of the year; null if not rated (yet).
    pub stars: Option<i32>,
    /// The route it was recognised through.
    pub route: GqlRoute,
}

/// A §1 target for 2025.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(
    rename_items = "SCREAMING_SNAKE_CASE",
    remote = "crate::services::recognition::published::TargetMeasure"
)]
pub enum TargetMeasure {
    /// 总部企业数量新增100家以上: recognised(Y) − recognised(2023) ≥ 100 (以上 includes).
    IncreaseOverBaseline,
    /// 百亿级总部企业突破60家: more than 60 HQs with revenue(Y−1) ≥ 10,000,000,000.00.
    TenBillionClass,
    /// 千亿级总部企业突破10家: more than 10 HQs with revenue(Y−1) ≥ 100,000,000,000.00.
    HundredBillionClass,
}

/// One target against its actual value.
#[derive(SimpleObject, Debug, Clone)]
pub struct TargetStatus {
    /// What is measured.
    pub measure: TargetMeasure,
    /// The actual value for the year.
    pub actual: i64,
    /// The 2025 target.
    pub target: i64,
    /// Whether the actual value meets the target (以上: at least; 突破: more than).
    pub met: bool,
}

/// The monitoring of §1 for one year (aggregate counts, no enterprise named).
#[derive(SimpleObject, Debug, Clone)]
pub struct TargetProgress {
    /// The year Y.
    pub year: i32,
    /// HQs recognised for Y.
    pub recognised: i64,
    /// The baseline year of 数量新增 (2023).
    pub baseline_year: i32,
    /// HQs recognised for the baseline year.
    pub baseline_recognised: i64,
    /// recognised(Y) − recognised(2023).
    pub increase_over_baseline: i64,
    /// HQs recognised for Y and for no earlier year.
    pub recognised_first_time: i64,
    /// HQs recognised for Y with revenue(Y−1) ≥ 10,000,000,000.00 (百亿级).
    pub ten_billion_class: i64,
    /// HQs recognised for Y with revenue(Y−1) ≥ 100,000,000,000.00 (千亿级).
    pub hundred_billion_class: i64,
    /// The year the targets are set for (2025).
    pub target_year: i32,
    /// The three targets against this year's values.
    pub targets: Vec<TargetStatus>,
}

impl From<Progress> for TargetProgress {
    fn from(p: Progress) -> Self {
        let targets = p
            .targets()
            .into_iter()
            .map(|t| TargetStatus {
                measure: t.measure.into(),
                actual: t.actual,
                target: t.target,
                met: t.met,
            })
            .collect();
        TargetProgress {
            year: p.year,
            recognised: p.recognised,
            baseline_year: published::BASELINE_YEAR,
            baseline_recognised: p.baseline_recognised,
            increase_over_baseline: p.increase(),
            recognised_first_time: p.first_time,
            ten_billion_class: p.ten_billion,
            hundred_billion_class: p.hundred_billion,
            target_year: published::TARGET_YEAR,
            targets,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Resolvers
// ---------------------------------------------------------------------------------------------

/// The cursors of `recognitionRound`: the credit code.
const ROUND_CURSOR: CursorSpec = CursorSpec {
    list: "recognitionRound",
    key: &[KeyKind::Text],
};

/// Recognition queries.
#[derive(Default)]
pub struct RecognitionQuery;

#[Object]
impl RecognitionQuery {
    /// A dry run of recognition (§3, §4, §22): every rule with its clause, figures and gap, the
    /// route, the ban; nothing is stored. A `DISTRICT` actor may ask only about enterprises
    /// registered in its district today.
    async fn evaluate_recognition(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The enterprise's unified social credit code.")] credit_code: String,
        #[graphql(desc = "The recognition year Y (2023 to 2027); figures are those of Y−1.")]
        year: i32,
        #[graphql(desc = "The decision date D (default: today in Hangzhou).")] decided_on: Option<
            Date,
        >,
    ) -> Result<RecognitionVerdict> {
        let state = super::state(ctx)?;
        let actor = super::actor(ctx)?;
        let decided_on = decided_on.map_or_else(registry::today, Into::into);
        let evaluation = recognize::evaluate(
            &state.db,
            &state.policy,
            actor,
            &credit_code,
            year,
            decided_on,
        )
        .await?;
        Ok(RecognitionVerdict::new(
            evaluation.credit_code,
            evaluation.verdict,
            &evaluation.rule_set,
        ))
    }

    /// The yearly round (§3, §4, §22): the dry-run verdict of every enterprise in the registry on
    /// the decision date, by credit code, each equal to what `evaluateRecognition` answers for
    /// it; nothing is stored. `totalCount` is the number of enterprises in the round. A
    /// `DISTRICT` actor gets the enterprises registered in its district today. The whole round
    /// as one file: `GET /exports/recognitions/{year}.csv`.
    #[graphql(complexity = "pagination::cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn recognition_round(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The recognition year Y (2023 to 2027); figures are those of Y−1.")]
        year: i32,
        #[graphql(desc = "The decision date D (default: today in Hangzhou).")] decided_on: Option<
            Date,
        >,
        #[graphql(desc = "Verdicts after this cursor.")] after: Option<String>,
        #[graphql(desc = "Verdicts before this cursor.")] before: Option<String>,
        #[graphql(desc = "The first N verdicts (1 to the maximum page size).")] first: Option<i32>,
        #[graphql(desc = "The last N verdicts (1 to the maximum page size).")] last: Option<i32>,
    ) -> Result<Connection<String, RecognitionVerdict, ConnectionTotals>> {
        let state = super::state(ctx)?;
        let actor = super::actor(ctx)?.clone();
        let decided_on = decided_on.map_or_else(registry::today, Into::into);
        let args = PageArgs {
            after,
            before,
            first,
            last,
        };
        let request = args.request(&ROUND_CURSOR, state.pages)?;
        let page =
            round::page(&state.db, &state.policy, &actor, year, decided_on, &request).await?;
        let db = state.db.clone();
        let totals = ConnectionTotals::lazy(move || {
            let (db, actor) = (db.clone(), actor.clone());
            async move { round::count(&db, &actor, decided_on).await }
        });
        Ok(pagination::connection(
            &ROUND_CURSOR,
            page.map(|e| RecognitionVerdict::new(e.credit_code, e.verdict, &e.rule_set)),
            totals,
        ))
    }

    /// The §6 reward of every rating of `year`, by credit code, as a Relay connection: stars,
    /// tier, already granted, due, the city and district shares, and whether a revocation
    /// cancels it. A `DISTRICT` actor sees only the granted rewards whose district share it
    /// bore, and the rewards not granted yet of the enterprises registered in its district today.
    #[graphql(complexity = "pagination::cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn star_rewards(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The rating year Y.")] year: i32,
        #[graphql(
            desc = "For rewards not granted yet: the grant day to compute them for (default: today in Hangzhou)."
        )]
        granted_on: Option<Date>,
        #[graphql(desc = "Rewards after this cursor.")] after: Option<String>,
        #[graphql(desc = "Rewards before this cursor.")] before: Option<String>,
        #[graphql(desc = "The first N rewards (1 to the maximum page size).")] first: Option<i32>,
        #[graphql(desc = "The last N rewards (1 to the maximum page size).")] last: Option<i32>,
    ) -> Result<Connection<String, StarReward, ConnectionTotals>> {
        let state = super::state(ctx)?;
        let actor = super::actor(ctx)?;
        let args = PageArgs {
            after,
            before,
            first,
            last,
        };
        let request = args.request(&REWARD_CURSOR, state.pages)?;
        let grant_day = granted_on.map_or_else(registry::today, Into::into);
        // The rewards are computed (parameters, earlier grants, revocations) for the whole year,
        // then the page is cut from them by key.
        let lines = rewards::star_rewards(&state.db, Some(actor), year, grant_day).await?;
        let total = lines.len() as u64;
        let page = keyset::in_memory(lines, &request, |line| {
            vec![KeyPart::Text(line.credit_code.clone())]
        });
        Ok(pagination::connection(
            &REWARD_CURSOR,
            page.try_map(|line| Ok::<_, AppError>(StarReward::from(line)))?,
            ConnectionTotals::known(total),
        ))
    }

    /// The published HQ list of `year` (§21), by stars (5 first, unrated last) and then name,
    /// as a Relay connection: name, district, stars and route of every HQ recognised for the
    /// year whose title has not been revoked since. Public.
    #[graphql(complexity = "pagination::cost(first, last, child_complexity)")]
    async fn published_headquarters(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The recognition year.")] year: i32,
        #[graphql(desc = "Entries after this cursor.")] after: Option<String>,
        #[graphql(desc = "Entries before this cursor.")] before: Option<String>,
        #[graphql(desc = "The first N entries (1 to the maximum page size).")] first: Option<i32>,
        #[graphql(desc = "The last N entries (1 to the maximum page size).")] last: Option<i32>,
    ) -> Result<Connection<String, PublishedHeadquarters, ConnectionTotals>> {
        let state = super::state(ctx)?;
        let args = PageArgs {
            after,
            before,
            first,
            last,
        };
        let request = args.request(&PUBLISHED_CURSOR, state.pages)?;
        // The list is derived (revocations, names on each decision date), so the year's list is
        // built and the page cut from it by key.
        let entries = published::published_headquarters(&state.db, year).await?;
        let total = entries.len() as u64;
        let page = keyset::in_memory(entries, &request, published::PublishedHq::key);
        let districts: HashMap<String, District> = district_service::list(&state.db)
            .await?
            .into_iter()
            .map(|d| Ok((d.code.clone(), District::try_from(d)?)))
            .collect::<Result<_, AppError>>()?;
        let page = page.try_map(|e| {
            Ok::<_, AppError>(PublishedHeadquarters {
                name: e.name,
                district: e.district.and_then(|code| districts.get(&code).cloned()),
                stars: e.stars,
                route: GqlRoute::parse(&e.route)?,
            })
        })?;
        Ok(pagination::connection(
            &PUBLISHED_CURSOR,
            page,
            ConnectionTotals::known(total),
        ))
    }

    /// The §1 monitoring of `year`: HQs recognised, the increase over 2023, those recognised for
    /// the first time, the 百亿级 and 千亿级 counts, against the 2025 targets 100, 60 and 10.
    #[graphql(complexity = "super::pagination::YEAR_AGGREGATE_COST + child_complexity")]
    async fn target_progress(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The recognition year Y.")] year: i32,
    ) -> Result<TargetProgress> {
        let state = super::state(ctx)?;
        Ok(published::target_progress(&state.db, year).await?.into())
    }
}

/// The cursors of `starRewards`: the credit code.
const REWARD_CURSOR: CursorSpec = CursorSpec {
    list: "starRewards",
    key: &[KeyKind::Text],
};

/// The cursors of `publishedHeadquarters`: the rank of the stars, the name, the enterprise id.
const PUBLISHED_CURSOR: CursorSpec = CursorSpec {
    list: "publishedHeadquarters",
    key: &[KeyKind::Int, KeyKind::Text, KeyKind::Int],
};

/// Recognition mutations (HQ_OFFICE).
#[derive(Default)]
pub struct RecognitionMutation;

#[Object]
impl RecognitionMutation {
    /// Recognises an enterprise for `year` on `decidedOn` (§4), storing the verdict, the decision
    /// date, the route, the rule set and the parameter versions used. `POLICY_VIOLATION` when not
    /// eligible (`extensions.details` lists the failed rules, `extensions.clause` cites the first);
    /// `CONFLICT` when already recognised for the year.
    async fn recognize(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The enterprise's unified social credit code.")] credit_code: String,
        #[graphql(desc = "The recognition year Y (2023 to 2027).")] year: i32,
        #[graphql(desc = "The decision date D (default: today in Hangzhou).")] decided_on: Option<
            Date,
        >,
    ) -> Result<Recognition> {
        let state = super::state(ctx)?;
        let actor = super::actor(ctx)?;
        let decided_on = decided_on.map_or_else(registry::today, Into::into);
        let stored = recognize::recognize(&state.db, actor, &credit_code, year, decided_on).await?;
        let row = stored.row;
        Ok(Recognition {
            route: GqlRoute::parse(&row.route)?,
            credit_code: stored.credit_code.clone(),
            year: row.year,
            decided_on: Date(row.decided_on),
            rule_set: row.rule_set,
            needs_review: row.needs_review,
            parameter_version_ids: stored.verdict.parameter_versions.clone(),
            decided_by: row.decided_by,
            recorded_at: row.created_at.into(),
            verdict: RecognitionVerdict::new(stored.credit_code, stored.verdict, &stored.rule_set),
        })
    }

    /// Rates an enterprise recognised for `year` with 1 to 5 stars (§5). Re-rating replaces the
    /// rating until a star reward depends on it (`CONFLICT`); `POLICY_VIOLATION` (§5) when the
    /// enterprise is not recognised for the year.
    async fn rate_stars(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The enterprise's unified social credit code.")] credit_code: String,
        #[graphql(desc = "The rating year.")] year: i32,
        #[graphql(desc = "1 to 5.")] stars: i32,
    ) -> Result<StarRating> {
        let state = super::state(ctx)?;
        let actor = super::actor(ctx)?;
        let rating = ratings::rate_stars(&state.db, actor, &credit_code, year, stars).await?;
        Ok(StarRating {
            credit_code: rating.credit_code,
            year: rating.row.year,
            stars: rating.row.stars,
            previous_stars: rating.previous_stars,
            rated_by: rating.row.rated_by,
            rated_at: rating.row.rated_at.into(),
        })
    }

    /// Grants the §6 rewards of every rating of `year` on `grantedOn`: one reward per enterprise
    /// with a reward due and none recorded for the year. Idempotent: running it again records
    /// nothing and lists the earlier grants under `alreadyGranted`.
    async fn grant_star_rewards(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The rating year Y.")] year: i32,
        #[graphql(desc = "The grant day (not before 1 January of Y).")] granted_on: Date,
    ) -> Result<StarRewardGrant> {
        let state = super::state(ctx)?;
        let actor = super::actor(ctx)?;
        let grant = rewards::grant_star_rewards(&state.db, actor, year, granted_on.into()).await?;
        let granted_total = grant.granted_total()?.into();
        let list = |lines: Vec<RewardLine>| lines.into_iter().map(StarReward::from).collect();
        Ok(StarRewardGrant {
            year,
            granted_on,
            granted: list(grant.granted),
            already_granted: list(grant.already_granted),
            nothing_due: list(grant.nothing_due),
            granted_total,
        })
    }

    /// Records a revocation of the HQ title approved by the leading group (§22): no recognition is
    /// decided from `revokedOn` up to and including its `recognition.ban_years` anniversary.
    /// `CONFLICT` when a revocation of the enterprise on that day is already recorded.
    async fn revoke_title(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The enterprise's unified social credit code.")] credit_code: String,
        #[graphql(desc = "The day the title is revoked (R).")] revoked_on: Date,
        #[graphql(desc = "Why the title is revoked.")] reason: String,
        #[graphql(desc = "Reference of the leading group's approval.")] approval_ref: String,
    ) -> Result<Revocation> {
        let state = super::state(ctx)?;
        let actor = super::actor(ctx)?;
        let revocation = revocations::revoke_title(
            &state.db,
            actor,
            &credit_code,
            revoked_on.into(),
            &reason,
            &approval_ref,
        )
        .await?;
        let row = revocation.row;
        Ok(Revocation {
            credit_code: revocation.credit_code,
            revoked_on: Date(row.revoked_on),
            ban_until: Date(row.ban_until),
            reason: row.reason,
            approval_ref: row.approval_ref,
            recorded_by: row.recorded_by,
        })
    }
}
