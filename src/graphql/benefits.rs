//! The benefits of an HQ for a year (§6, §7, §8, §10, §12): `benefits(creditCode, year)`,
//! `Enterprise.benefits(year)` and the list `benefitsOfYear`.
//!
//! Who sees what (README, "Roles and tokens"): the benefits are the enterprise's confidential
//! data, with exactly the access of its yearly figures — `HQ_OFFICE`, `CITY_FINANCE` and
//! `AUDITOR` read every enterprise's, a `DISTRICT` actor only those of enterprises registered in
//! its district today (and the §7 totals of its own lines), `VIEWER` none; anonymous callers are
//! refused.

use async_graphql::connection::Connection;
use async_graphql::{Context, Enum, Object, Result, SimpleObject};

use super::pagination::{self, ConnectionTotals, CursorSpec, KeyKind, PageArgs};
use super::payments::PaymentKindGql;
use super::scalars::{Date, Decimal};
use crate::error::AppError;
use crate::policy::benefits::{
    BenefitNote as PolicyNote, Benefits as PolicyBenefits, OfficeSubsidy, RewardBenefit,
    StarParameter,
};
use crate::services::benefits::{self as service, BenefitsRow, YearFilter};

/// Why an item of a year's benefits is not open, or nothing is due (docs/rules.md, "Benefit
/// reasons").
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(
    rename_items = "SCREAMING_SNAKE_CASE",
    remote = "crate::policy::benefits::BenefitReason"
)]
pub enum BenefitReason {
    /// §4: the enterprise holds no recognition for the year.
    NotRecognized,
    /// §22: its title was revoked after the recognition for the year was decided.
    TitleRevoked,
    /// §5: recognised for the year but not rated (yet).
    NotRated,
    /// §6 / §7: rated below 3 stars (三星级及以上).
    StarsBelow3,
    /// §6: earlier rewards already reach the tier (差额奖励: no difference left).
    TierAlreadyPaid,
    /// §7: it owns office premises in Hangzhou (在杭无自有办公用房).
    OwnsOffice,
    /// §7: RENT is shut: a PURCHASE for the same or an earlier year is reported.
    RentAndPurchase,
    /// §7: PURCHASE is shut: a RENT for the same or a later year is reported and stands.
    PurchaseAndRent,
    /// §7: PURCHASE is shut: its first purchase (首次购置) was subsidised for an earlier year.
    PurchaseNotFirst,
    /// §12: no version of the quota parameter is in force.
    NoParameter,
}

/// Where the §6 reward of the year stands.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(
    name = "BenefitRewardState",
    rename_items = "SCREAMING_SNAKE_CASE",
    remote = "crate::policy::benefits::RewardState"
)]
pub enum RewardState {
    /// A reward for the year was granted.
    Granted,
    /// A reward is due and not granted yet.
    Due,
    /// Nothing is due (`note` says why).
    NothingDue,
}

/// Why an item is not open or nothing is due.
#[derive(SimpleObject, Debug, Clone)]
pub struct BenefitNote {
    /// The reason.
    pub reason: BenefitReason,
    /// The clause of the item, e.g. `§7` (`STARS_BELOW_3` is `§6` for the reward, `§7` for the
    /// subsidies).
    pub clause: String,
    /// Human text with the dates and figures.
    pub detail: String,
}

impl From<PolicyNote> for BenefitNote {
    fn from(note: PolicyNote) -> Self {
        BenefitNote {
            reason: note.code.into(),
            clause: note.clause.as_str().to_string(),
            detail: note.detail,
        }
    }
}

/// §6: the star reward of the rating of the year.
#[derive(SimpleObject, Debug, Clone)]
pub struct StarRewardBenefit {
    /// `§6`.
    pub clause: String,
    /// Granted, due, or nothing due.
    pub state: RewardState,
    /// `tier(stars)`: `star_reward.<stars>` in force on 1 January of the year; 0 below 3 stars.
    pub tier: Decimal,
    /// Σ rewards granted before this one (for a granted reward: as recorded with it).
    pub already_granted: Decimal,
    /// The reward: as granted, or `max(0, tier − alreadyGranted)` due on a grant today.
    pub due: Decimal,
    /// `floor_to_fen(due × star_reward.city_share)`.
    pub city_share: Decimal,
    /// `due − cityShare`.
    pub district_share: Decimal,
    /// Σ every star reward granted to the enterprise so far, any year.
    pub granted_so_far: Decimal,
    /// The grant day of a granted reward; null otherwise.
    pub granted_on: Option<Date>,
    /// Why nothing is due; null when granted or due.
    pub note: Option<BenefitNote>,
    /// Human text with the figures.
    pub detail: String,
    /// The ids of the parameter versions used.
    pub parameter_version_ids: Vec<i64>,
}

impl From<RewardBenefit> for StarRewardBenefit {
    fn from(r: RewardBenefit) -> Self {
        StarRewardBenefit {
            clause: crate::policy::Clause::S6.as_str().to_string(),
            state: r.state.into(),
            tier: r.tier.into(),
            already_granted: r.already_granted.into(),
            due: r.due.into(),
            city_share: r.split.city.into(),
            district_share: r.split.district.into(),
            granted_so_far: r.granted_so_far.into(),
            granted_on: r.granted_on.map(Date),
            note: r.note.map(Into::into),
            detail: r.detail,
            parameter_version_ids: r.parameter_versions,
        }
    }
}

/// §7: one office subsidy (RENT or PURCHASE) for the year.
#[derive(SimpleObject, Debug, Clone)]
pub struct OfficeSubsidyBenefit {
    /// `§7`.
    pub clause: String,
    /// RENT or PURCHASE.
    pub kind: PaymentKindGql,
    /// Whether a payment for the year would pass the §7 rules as the facts stand (≥ 3 stars, no
    /// office premises, never both, first purchase, title standing).
    pub open: bool,
    /// Why it is not open, every reason (empty when open).
    pub notes: Vec<BenefitNote>,
    /// The district whose ratio and cap apply: where the enterprise is registered on
    /// `Benefits.evaluatedOn`; null outside Hangzhou (the general versions are shown).
    pub district_code: Option<String>,
    /// The day the ratio and cap are read on: 1 January of the year (PURCHASE: the transaction
    /// date of its first purchase, when in the year).
    pub parameters_on: Date,
    /// The district's `rent_subsidy.ratio` / `purchase_subsidy.ratio` in force.
    pub ratio: Decimal,
    /// The district's `rent_subsidy.cap_per_year` / `purchase_subsidy.cap` in force.
    pub cap: Decimal,
    /// Σ amount paid by the lines of this kind for the year (a `DISTRICT` reader: its own lines).
    pub paid: Decimal,
    /// Σ eligible amount of those lines that are reconciled.
    pub eligible: Decimal,
    /// How many lines of this kind for the year.
    pub lines: i64,
    /// How many of them are reconciled.
    pub lines_reconciled: i64,
    /// The ids of the parameter versions used.
    pub parameter_version_ids: Vec<i64>,
}

impl From<OfficeSubsidy> for OfficeSubsidyBenefit {
    fn from(s: OfficeSubsidy) -> Self {
        OfficeSubsidyBenefit {
            clause: crate::policy::Clause::S7.as_str().to_string(),
            kind: s.kind.into(),
            open: s.open,
            notes: s.notes.into_iter().map(Into::into).collect(),
            district_code: s.district,
            parameters_on: Date(s.parameters_on),
            ratio: Decimal(s.ratio),
            cap: s.cap.into(),
            paid: s.paid.into(),
            eligible: s.eligible.into(),
            lines: i64::from(s.lines),
            lines_reconciled: i64::from(s.lines_reconciled),
            parameter_version_ids: s.parameter_versions,
        }
    }
}

/// §8: the uplift of the R&D subsidy ratio for the stars of the year (reported, not paid here).
#[derive(SimpleObject, Debug, Clone)]
pub struct RdUpliftBenefit {
    /// `§8`.
    pub clause: String,
    /// The parameter read, e.g. `rd_subsidy.uplift.4`; null when not rated.
    pub parameter: Option<String>,
    /// The uplift as a fraction added to the base ratio, e.g. `0.15`; null with a note.
    pub uplift: Option<Decimal>,
    /// The same uplift in percentage points, e.g. `15.00`; null with a note.
    pub percentage_points: Option<Decimal>,
    /// Why there is no value.
    pub note: Option<BenefitNote>,
    /// The ids of the parameter versions used.
    pub parameter_version_ids: Vec<i64>,
}

impl From<StarParameter<rust_decimal::Decimal>> for RdUpliftBenefit {
    fn from(p: StarParameter<rust_decimal::Decimal>) -> Self {
        RdUpliftBenefit {
            clause: crate::policy::Clause::S8.as_str().to_string(),
            parameter: p.parameter,
            uplift: p.value.map(Decimal),
            percentage_points: p
                .value
                .map(|fraction| Decimal(fraction * rust_decimal::Decimal::ONE_HUNDRED)),
            note: p.note.map(Into::into),
            parameter_version_ids: p.parameter_versions,
        }
    }
}

/// §10 / §12: a quota by the stars of the year (reported, not run here).
#[derive(SimpleObject, Debug, Clone)]
pub struct QuotaBenefit {
    /// `§10` (talent quota) or `§12` (vehicle quota).
    pub clause: String,
    /// The parameter read, e.g. `talent_quota.4`; null when not rated.
    pub parameter: Option<String>,
    /// The quota; null with a note.
    pub quota: Option<i64>,
    /// Why there is no value.
    pub note: Option<BenefitNote>,
    /// The ids of the parameter versions used.
    pub parameter_version_ids: Vec<i64>,
}

fn quota(clause: crate::policy::Clause, p: StarParameter<u32>) -> QuotaBenefit {
    QuotaBenefit {
        clause: clause.as_str().to_string(),
        parameter: p.parameter,
        quota: p.value.map(i64::from),
        note: p.note.map(Into::into),
        parameter_version_ids: p.parameter_versions,
    }
}

/// The benefits of an HQ for a year (confidential): each item with its clause and the parameter
/// versions it used.
#[derive(SimpleObject, Debug, Clone)]
pub struct Benefits {
    /// The enterprise's unified social credit code.
    pub credit_code: String,
    /// Its name today.
    pub name: String,
    /// The district it is registered in today (code); null outside Hangzhou.
    pub district_code: Option<String>,
    /// The year Y (a recognition year, 2023 to 2027).
    pub year: i32,
    /// The decision date of its recognition for Y; null when not recognised.
    pub recognized_on: Option<Date>,
    /// Its rating of Y (1 to 5 stars); null when not rated.
    pub stars: Option<i32>,
    /// The revocation (after the recognition, on or before today) that ends the benefits.
    pub revoked_on: Option<Date>,
    /// The day of Y the facts are read on: today within Y, else the nearest day of Y.
    pub evaluated_on: Date,
    /// §6: the star reward.
    pub star_reward: StarRewardBenefit,
    /// §7: the rent subsidy (租房补助).
    pub rent_subsidy: OfficeSubsidyBenefit,
    /// §7: the purchase subsidy (购房补助).
    pub purchase_subsidy: OfficeSubsidyBenefit,
    /// §8: the R&D subsidy uplift.
    pub rd_uplift: RdUpliftBenefit,
    /// §10: the talent quota.
    pub talent_quota: QuotaBenefit,
    /// §12: the vehicle (car plate) quota, where a parameter is set.
    pub vehicle_quota: QuotaBenefit,
    /// Every parameter version used by the items, ascending.
    pub parameter_version_ids: Vec<i64>,
}

impl From<BenefitsRow> for Benefits {
    fn from(row: BenefitsRow) -> Self {
        let b: PolicyBenefits = row.benefits;
        Benefits {
            credit_code: row.credit_code,
            name: row.name,
            district_code: row.district_today,
            year: b.year,
            recognized_on: b.recognized_on.map(Date),
            stars: b.stars.map(|s| i32::from(s.get())),
            revoked_on: b.revoked_on.map(Date),
            evaluated_on: Date(b.evaluated_on),
            star_reward: b.star_reward.into(),
            rent_subsidy: b.rent.into(),
            purchase_subsidy: b.purchase.into(),
            rd_uplift: b.rd_uplift.into(),
            talent_quota: quota(crate::policy::Clause::S10, b.talent_quota),
            vehicle_quota: quota(crate::policy::Clause::S12, b.vehicle_quota),
            parameter_version_ids: b.parameter_versions,
        }
    }
}

/// Benefits queries.
#[derive(Default)]
pub struct BenefitsQuery;

#[Object]
impl BenefitsQuery {
    /// The benefits of one HQ for `year` (§6, §7, §8, §10, §12), with the access of the
    /// enterprise's yearly figures: `FORBIDDEN` for a `VIEWER`, and for a `DISTRICT` actor
    /// unless the enterprise is registered in its district today; `NOT_FOUND` for an unknown
    /// credit code; `BAD_USER_INPUT` for a year outside 2023 to 2027.
    async fn benefits(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The enterprise's unified social credit code (trimmed, upper-cased).")]
        credit_code: String,
        #[graphql(desc = "The year Y: a recognition year of the policy, 2023 to 2027.")] year: i32,
    ) -> Result<Benefits> {
        let state = super::state(ctx)?;
        let actor = super::actor(ctx)?;
        let row = service::of_enterprise(&state.db, actor, &credit_code, year).await?;
        Ok(row.into())
    }

    /// The benefits of every HQ recognised for `year`, by credit code, as a Relay connection
    /// (`totalCount` counted on demand). A `DISTRICT` actor reads only its own district (naming
    /// another is `FORBIDDEN`); a `VIEWER` none.
    #[graphql(complexity = "pagination::cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn benefits_of_year(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The year Y: a recognition year of the policy, 2023 to 2027.")] year: i32,
        #[graphql(desc = "Only HQs registered in this district today (GB/T 2260 code).")]
        district_code: Option<String>,
        #[graphql(desc = "Only HQs rated this many stars (1 to 5) for the year.")] stars: Option<
            i32,
        >,
        #[graphql(desc = "HQs after this cursor.")] after: Option<String>,
        #[graphql(desc = "HQs before this cursor.")] before: Option<String>,
        #[graphql(desc = "The first N HQs (1 to the maximum page size).")] first: Option<i32>,
        #[graphql(desc = "The last N HQs (1 to the maximum page size).")] last: Option<i32>,
    ) -> Result<Connection<String, Benefits, ConnectionTotals>> {
        let state = super::state(ctx)?;
        let actor = super::actor(ctx)?.clone();
        let filter = YearFilter {
            year,
            district_code,
            stars,
        };
        let args = PageArgs {
            after,
            before,
            first,
            last,
        };
        let request = args.request(&BENEFITS_CURSOR, state.pages)?;
        let page = service::page(&state.db, &actor, &filter, &request).await?;
        let db = state.db.clone();
        let totals = ConnectionTotals::lazy(move || {
            let (db, actor, filter) = (db.clone(), actor.clone(), filter.clone());
            async move { service::count(&db, &actor, &filter).await }
        });
        Ok(pagination::connection(
            &BENEFITS_CURSOR,
            page.try_map(|row| Ok::<_, AppError>(Benefits::from(row)))?,
            totals,
        ))
    }
}

/// The cursors of `benefitsOfYear`: the credit code.
const BENEFITS_CURSOR: CursorSpec = CursorSpec {
    list: "benefitsOfYear",
    key: &[KeyKind::Text],
};
