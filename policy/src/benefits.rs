//! The benefits of an HQ for a year Y: what the policy gives it for its rating of Y, item by item,
//! each with its clause.
//!
//! - §6 (星级培育奖励): the star reward — tier, the difference due, what was granted, the city and
//!   district shares, or why none;
//! - §7 (办公用房补助): whether the RENT and PURCHASE subsidies are open to it (三星级及以上, 在杭无
//!   自有办公用房, 租房、购房补助政策不能同时享受), its district's ratio and cap, and what its lines
//!   were paid and found eligible so far;
//! - §8, §10, §12: the R&D subsidy uplift, the talent quota and the vehicle quota of its stars,
//!   which the service reports but does not pay.
//!
//! [`decide_benefits`] reads what the service loads (the enterprise's dated facts, its granted
//! rewards, its reported lines with their verdicts) and the parameter versions; it reuses the
//! rules of §6 ([`crate::star_reward`]) and of the reconciliation
//! ([`crate::reconciliation::purchase_excludes_rent`], [`crate::reconciliation::first_purchase`])
//! rather than restating them.

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::money::Money;
use super::params::ParameterSet;
use super::reconciliation::{
    EnterpriseContext, PaymentKind, PaymentLine, first_purchase, purchase_excludes_rent,
};
use super::star_reward::{
    RewardSplit, StarRewardParams, Stars, decide_reward, revocation_before_grant, split,
};
use super::{Clause, PolicyError};
use crate::code_enum;

/// The recognition years the policy runs rounds for (§final): benefits are asked for these.
pub const FIRST_YEAR: i32 = 2023;
/// The last recognition year of the policy (§final: valid until 2028-02-20).
pub const LAST_YEAR: i32 = 2027;

code_enum! {
    /// Why an item of a year's benefits is not open, or nothing is due.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub enum BenefitReason: "benefit reason" {
        /// §4: the enterprise holds no recognition for the year.
        NotRecognized = "NOT_RECOGNIZED",
        /// §22: its title was revoked after the recognition for the year was decided.
        TitleRevoked = "TITLE_REVOKED",
        /// §5: recognised for the year but not rated (yet).
        NotRated = "NOT_RATED",
        /// §6 / §7: rated below 3 stars (三星级及以上).
        StarsBelow3 = "STARS_BELOW_3",
        /// §6: earlier rewards already reach the tier (差额奖励: no difference left).
        TierAlreadyPaid = "TIER_ALREADY_PAID",
        /// §7: it owns office premises in Hangzhou (在杭无自有办公用房).
        OwnsOffice = "OWNS_OFFICE",
        /// §7: RENT is shut: a PURCHASE for the same or an earlier year is reported
        /// (the reconciliation's `RENT_AND_PURCHASE`).
        RentAndPurchase = "RENT_AND_PURCHASE",
        /// §7: PURCHASE is shut: a RENT for the same or a later year is reported and stands (not
        /// itself shut by a purchase): taking the purchase would make it both.
        PurchaseAndRent = "PURCHASE_AND_RENT",
        /// §7: PURCHASE is shut: its first purchase (首次购置) was subsidised for an earlier year.
        PurchaseNotFirst = "PURCHASE_NOT_FIRST",
        /// §12: no version of the quota parameter is in force.
        NoParameter = "NO_PARAMETER",
    }
}

impl BenefitReason {
    /// What the reason means, in one sentence.
    #[must_use]
    pub const fn description(self) -> &'static str {
        match self {
            BenefitReason::NotRecognized => "the enterprise holds no recognition for the year",
            BenefitReason::TitleRevoked => {
                "its title was revoked after the recognition for the year was decided"
            }
            BenefitReason::NotRated => "recognised for the year but not rated",
            BenefitReason::StarsBelow3 => "rated below 3 stars",
            BenefitReason::TierAlreadyPaid => "earlier rewards already reach the tier",
            BenefitReason::OwnsOffice => "it owns office premises in Hangzhou",
            BenefitReason::RentAndPurchase => {
                "a PURCHASE for the same or an earlier year is reported: no RENT"
            }
            BenefitReason::PurchaseAndRent => {
                "a RENT for the same or a later year is reported and stands: no PURCHASE"
            }
            BenefitReason::PurchaseNotFirst => {
                "its first purchase was subsidised for an earlier year"
            }
            BenefitReason::NoParameter => "no version of the parameter is in force",
        }
    }
}

/// Why an item is not open or nothing is due: the reason, the clause of the item it applies to,
/// and the dates and figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BenefitNote {
    /// The reason.
    pub code: BenefitReason,
    /// The clause of the item (`STARS_BELOW_3` is §6 for the reward, §7 for the subsidies).
    pub clause: Clause,
    /// Human text with the dates and figures.
    pub detail: String,
}

fn note(code: BenefitReason, clause: Clause, detail: String) -> BenefitNote {
    BenefitNote {
        code,
        clause,
        detail,
    }
}

/// A star reward granted to the enterprise (a `star_rewards` row).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantedReward {
    /// The rating year it paid for.
    pub year: i32,
    /// The tier it was granted against.
    pub tier: Money,
    /// Σ rewards granted before it.
    pub previously_granted: Money,
    /// The amount granted.
    pub amount: Money,
    /// The city's share.
    pub city_share: Money,
    /// The district's share.
    pub district_share: Money,
    /// The grant day.
    pub granted_on: NaiveDate,
    /// The parameter versions it used.
    pub parameter_versions: Vec<i64>,
}

/// A reported §7 line of the enterprise with its current verdict, if reconciled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportedLine {
    /// The line.
    pub line: PaymentLine,
    /// Its eligible amount, once reconciled.
    pub eligible: Option<Money>,
}

/// What the benefits of one enterprise and year read.
#[derive(Debug, Clone, Copy)]
pub struct BenefitsInput<'a> {
    /// The year Y.
    pub year: i32,
    /// The day the benefits are read on (today): grants, lines and revocations up to then.
    pub today: NaiveDate,
    /// The enterprise's recognitions, ratings, offices, registrations and revocations.
    pub context: &'a EnterpriseContext,
    /// Every star reward granted to it, any year.
    pub rewards: &'a [GrantedReward],
    /// Every reported §7 line of it, any district and year, with its verdict.
    pub lines: &'a [ReportedLine],
    /// Count the paid and eligible totals over this district's lines only (a district reader
    /// sees only its own lines); `None` counts every line.
    pub totals_of_district: Option<&'a str>,
}

code_enum! {
    /// Where the §6 reward of the year stands.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub enum RewardState: "reward state" {
        /// A reward for the year was granted.
        Granted = "GRANTED",
        /// A reward is due and not granted yet.
        Due = "DUE",
        /// Nothing is due (the note says why).
        NothingDue = "NOTHING_DUE",
    }
}

/// §6: the star reward of the year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RewardBenefit {
    /// Where it stands.
    pub state: RewardState,
    /// `tier(stars)` in force on 1 January of Y (0 below 3 stars or unrated).
    pub tier: Money,
    /// Σ rewards granted before this one (for a granted reward: as recorded with it).
    pub already_granted: Money,
    /// The reward: as granted, or due today.
    pub due: Money,
    /// The city's and the district's shares of `due`.
    pub split: RewardSplit,
    /// Σ every reward recorded for the enterprise, any year.
    pub granted_so_far: Money,
    /// The grant day of a granted reward.
    pub granted_on: Option<NaiveDate>,
    /// Why nothing is due, when nothing is.
    pub note: Option<BenefitNote>,
    /// Human text with the figures.
    pub detail: String,
    /// The parameter versions used.
    pub parameter_versions: Vec<i64>,
}

/// §7: one of the two office subsidies for the year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfficeSubsidy {
    /// RENT or PURCHASE.
    pub kind: PaymentKind,
    /// Whether a payment for the year would pass the whole-line rules of §7 as the facts stand.
    pub open: bool,
    /// Why not, every reason, in the order above (empty when open).
    pub notes: Vec<BenefitNote>,
    /// The district whose parameters apply (registered there on `evaluated_on`); `None` outside
    /// Hangzhou (the general versions are shown).
    pub district: Option<String>,
    /// The day the ratio and cap are read on.
    pub parameters_on: NaiveDate,
    /// `rent_subsidy.ratio` / `purchase_subsidy.ratio` of the district.
    pub ratio: Decimal,
    /// `rent_subsidy.cap_per_year` / `purchase_subsidy.cap` of the district.
    pub cap: Money,
    /// Σ amount of the lines of this kind for the year.
    pub paid: Money,
    /// Σ eligible of those lines that are reconciled.
    pub eligible: Money,
    /// How many lines of this kind for the year.
    pub lines: u32,
    /// How many of them are reconciled.
    pub lines_reconciled: u32,
    /// The parameter versions used.
    pub parameter_versions: Vec<i64>,
}

/// §8, §10, §12: a by-star parameter of the enterprise's stars.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StarParameter<T> {
    /// The parameter name read, e.g. `talent_quota.4`; `None` when not rated.
    pub parameter: Option<String>,
    /// Its value; `None` with a note.
    pub value: Option<T>,
    /// Why there is no value.
    pub note: Option<BenefitNote>,
    /// The parameter versions used.
    pub parameter_versions: Vec<i64>,
}

/// The benefits of an enterprise for a year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Benefits {
    /// The year Y.
    pub year: i32,
    /// The decision date of the recognition for Y, if recognised.
    pub recognized_on: Option<NaiveDate>,
    /// The rating of Y, if rated.
    pub stars: Option<Stars>,
    /// The revocation (on or before today, after the recognition) that ends the benefits.
    pub revoked_on: Option<NaiveDate>,
    /// The day of Y the facts are read on: today within Y, else the nearest day of Y.
    pub evaluated_on: NaiveDate,
    /// §6.
    pub star_reward: RewardBenefit,
    /// §7 RENT.
    pub rent: OfficeSubsidy,
    /// §7 PURCHASE.
    pub purchase: OfficeSubsidy,
    /// §8: the uplift of the R&D subsidy ratio (a fraction: 0.05 = 5 percentage points).
    pub rd_uplift: StarParameter<Decimal>,
    /// §10: the talent quota.
    pub talent_quota: StarParameter<u32>,
    /// §12: the vehicle quota (only where a parameter version is in force).
    pub vehicle_quota: StarParameter<u32>,
    /// Every parameter version used, ascending.
    pub parameter_versions: Vec<i64>,
}

/// Where the enterprise stands for Y before any item: recognised, not revoked, rated.
enum Standing {
    Rated { stars: Stars, decided_on: NaiveDate },
    Not(BenefitReason, String),
}

fn standing(input: &BenefitsInput<'_>) -> (Standing, Option<NaiveDate>) {
    let year = input.year;
    let Some(decided_on) = input.context.recognition_decided_on(year) else {
        return (
            Standing::Not(
                BenefitReason::NotRecognized,
                format!("no recognition as an HQ enterprise for {year}"),
            ),
            None,
        );
    };
    // §22, as the reconciliation's TITLE_REVOKED and the §6 rule read it: revoked on R after the
    // recognition was decided, R on or before the day asked about.
    let revoked_on = revocation_before_grant(&input.context.revocations, decided_on, input.today);
    if let Some(revoked_on) = revoked_on {
        return (
            Standing::Not(
                BenefitReason::TitleRevoked,
                format!(
                    "title revoked on {revoked_on}, after the recognition for {year} decided on \
                     {decided_on}"
                ),
            ),
            Some(revoked_on),
        );
    }
    match input
        .context
        .stars_for(year)
        .and_then(|n| Stars::new(n).ok())
    {
        Some(stars) => (Standing::Rated { stars, decided_on }, None),
        None => (
            Standing::Not(
                BenefitReason::NotRated,
                format!("recognised for {year} (decided on {decided_on}) but not rated"),
            ),
            None,
        ),
    }
}

/// The benefits of one enterprise for `input.year`.
///
/// INTERPRETATION(§6): the benefits of Y are read as of today: a reward granted for Y is shown as
/// granted (a revocation after its grant day does not undo it); a reward not granted yet is the
/// one a grant today would record (the §6 difference rule over every reward granted so far, none
/// after a revocation).
///
/// INTERPRETATION(§7): a subsidy is "open" when a payment for Y would pass the whole-line rules of
/// §7 as the facts stand on the evaluation day (today within Y, else the nearest day of Y):
/// recognised, not revoked, ≥ 3 stars, no office premises (RENT: on no day of Y; PURCHASE: on the
/// day before its first purchase's transaction date in Y, else on the evaluation day), and never
/// both. "Never both" is the reconciliation's `RENT_AND_PURCHASE`: a purchase for Y or earlier
/// shuts RENT for Y; and, as its mirror, a RENT for Y or later that stands (is not itself shut by a
/// purchase) shuts PURCHASE for Y, since a purchase for Y would cut that rent. A first purchase
/// subsidised for an earlier year shuts PURCHASE (首次购置). The ratio and cap are the district's
/// (where it is registered on the evaluation day) in force on 1 January of Y, for PURCHASE on the
/// transaction date of its first purchase when that is in Y.
///
/// INTERPRETATION(§8): the by-star parameters (§8 uplift, §10 talent quota, §12 vehicle quota)
/// are the general versions in force on 1 January of Y, as the §6 tiers; they are reported for a
/// rated HQ whose title stands, whatever its stars. The §8 uplift is stored as a fraction of the
/// subsidy base (0.05) and reported also in percentage points (5).
///
/// INTERPRETATION(§12): the vehicle quota is reported only where a parameter version is in
/// force; without one it is null with `NO_PARAMETER`, not an error (the other parameters are
/// required, as everywhere).
///
/// # Errors
///
/// [`PolicyError::MissingParameter`] / [`PolicyError::WrongParameterType`] /
/// [`PolicyError::InvalidParameter`] for a required parameter without a usable version in force;
/// [`PolicyError::OutsidePolicyPeriod`] for a year outside 2023..=2027; [`PolicyError::Money`] on
/// overflow.
pub fn decide_benefits(
    input: &BenefitsInput<'_>,
    params: &ParameterSet,
) -> Result<Benefits, PolicyError> {
    let year = input.year;
    let (first_day, last_day) = match (
        NaiveDate::from_ymd_opt(year, 1, 1),
        NaiveDate::from_ymd_opt(year, 12, 31),
    ) {
        (Some(first), Some(last)) if (FIRST_YEAR..=LAST_YEAR).contains(&year) => (first, last),
        _ => {
            return Err(PolicyError::OutsidePolicyPeriod {
                year,
                first: FIRST_YEAR,
                last: LAST_YEAR,
            });
        }
    };
    let evaluated_on = input.today.clamp(first_day, last_day);
    let (standing, revoked_on) = standing(input);

    let star_reward = reward(input, &standing, params)?;
    let rent = office_subsidy(
        input,
        &standing,
        PaymentKind::Rent,
        evaluated_on,
        first_day,
        params,
    )?;
    let purchase = office_subsidy(
        input,
        &standing,
        PaymentKind::Purchase,
        evaluated_on,
        first_day,
        params,
    )?;
    let rd_uplift = star_parameter(
        &standing,
        Clause::S8,
        "rd_subsidy.uplift",
        first_day,
        |r, n| r.ratio(n).map(Some),
        params,
    )?;
    let talent_quota = star_parameter(
        &standing,
        Clause::S10,
        "talent_quota",
        first_day,
        |r, n| r.count(n).map(Some),
        params,
    )?;
    let vehicle_quota = star_parameter(
        &standing,
        Clause::S12,
        "vehicle_quota",
        first_day,
        |r, n| {
            if r.is_set(n) {
                r.count(n).map(Some)
            } else {
                Ok(None)
            }
        },
        params,
    )?;

    let parameter_versions: BTreeSet<i64> = star_reward
        .parameter_versions
        .iter()
        .chain(&rent.parameter_versions)
        .chain(&purchase.parameter_versions)
        .chain(&rd_uplift.parameter_versions)
        .chain(&talent_quota.parameter_versions)
        .chain(&vehicle_quota.parameter_versions)
        .copied()
        .collect();
    let stars = match standing {
        Standing::Rated { stars, .. } => Some(stars),
        Standing::Not(..) => input
            .context
            .stars_for(year)
            .and_then(|n| Stars::new(n).ok()),
    };
    Ok(Benefits {
        year,
        recognized_on: input.context.recognition_decided_on(year),
        stars,
        revoked_on,
        evaluated_on,
        star_reward,
        rent,
        purchase,
        rd_uplift,
        talent_quota,
        vehicle_quota,
        parameter_versions: parameter_versions.into_iter().collect(),
    })
}

/// §6 for the year.
fn reward(
    input: &BenefitsInput<'_>,
    standing: &Standing,
    params: &ParameterSet,
) -> Result<RewardBenefit, PolicyError> {
    let year = input.year;
    // Every reward recorded counts, whatever its rating year or grant day, as the grant itself
    // counts them (services/recognition/rewards.rs): the due shown is the one a grant would pay.
    let granted_so_far = Money::checked_sum(input.rewards.iter().map(|r| r.amount)).ok_or(
        PolicyError::Money(super::MoneyError::Overflow("star rewards granted so far")),
    )?;
    if let Some(granted) = input.rewards.iter().find(|r| r.year == year) {
        return Ok(RewardBenefit {
            state: RewardState::Granted,
            tier: granted.tier,
            already_granted: granted.previously_granted,
            due: granted.amount,
            split: RewardSplit {
                city: granted.city_share,
                district: granted.district_share,
            },
            granted_so_far,
            granted_on: Some(granted.granted_on),
            note: None,
            detail: format!(
                "granted on {}: tier {} − already granted {} = {}",
                granted.granted_on,
                granted.tier.format_yuan(),
                granted.previously_granted.format_yuan(),
                granted.amount.format_yuan()
            ),
            parameter_versions: granted.parameter_versions.clone(),
        });
    }
    let none = |code, detail: String, tier, versions| RewardBenefit {
        state: RewardState::NothingDue,
        tier,
        already_granted: granted_so_far,
        due: Money::ZERO,
        split: RewardSplit {
            city: Money::ZERO,
            district: Money::ZERO,
        },
        granted_so_far,
        granted_on: None,
        note: Some(note(code, Clause::S6, detail.clone())),
        detail,
        parameter_versions: versions,
    };
    let (stars, decided_on) = match standing {
        Standing::Rated { stars, decided_on } => (*stars, *decided_on),
        Standing::Not(code, detail) => {
            return Ok(none(*code, detail.clone(), Money::ZERO, Vec::new()));
        }
    };
    let reward_params = StarRewardParams::for_year(params, year)?;
    let decision = decide_reward(
        stars,
        &reward_params.tiers,
        granted_so_far,
        decided_on,
        &input.context.revocations,
        input.today,
    );
    let versions = reward_params.parameter_versions.clone();
    if decision.tier.is_zero() {
        return Ok(none(
            BenefitReason::StarsBelow3,
            decision.detail,
            Money::ZERO,
            versions,
        ));
    }
    if decision.due.is_zero() {
        return Ok(none(
            BenefitReason::TierAlreadyPaid,
            decision.detail,
            decision.tier,
            versions,
        ));
    }
    Ok(RewardBenefit {
        state: RewardState::Due,
        tier: decision.tier,
        already_granted: decision.already_granted,
        due: decision.due,
        split: split(decision.due, reward_params.city_share)?,
        granted_so_far,
        granted_on: None,
        note: None,
        detail: decision.detail,
        parameter_versions: versions,
    })
}

/// §7 for one kind and the year.
fn office_subsidy(
    input: &BenefitsInput<'_>,
    standing: &Standing,
    kind: PaymentKind,
    evaluated_on: NaiveDate,
    first_day: NaiveDate,
    params: &ParameterSet,
) -> Result<OfficeSubsidy, PolicyError> {
    let year = input.year;
    let context = input.context;
    let reported: Vec<&PaymentLine> = input
        .lines
        .iter()
        .map(|reported| &reported.line)
        .filter(|line| line.enterprise_id == context.enterprise_id)
        .collect();
    let first = first_purchase(reported.iter().copied());
    let first_in_year = first.filter(|(day, _)| day.year() == year);

    let mut notes = Vec::new();
    match standing {
        Standing::Not(code, detail) => notes.push(note(*code, Clause::S7, detail.clone())),
        Standing::Rated { stars, .. } if stars.get() < 3 => notes.push(note(
            BenefitReason::StarsBelow3,
            Clause::S7,
            format!("rated {stars} for {year}, below 3★"),
        )),
        Standing::Rated { .. } => {}
    }
    match kind {
        PaymentKind::Rent => {
            if let Some(day) = context.first_office_day_in(first_day, last_day_of(first_day)) {
                notes.push(note(
                    BenefitReason::OwnsOffice,
                    Clause::S7,
                    format!("owned office premises in Hangzhou during {year} (from {day})"),
                ));
            }
            if let Some(purchase) = reported
                .iter()
                .filter(|line| line.kind == PaymentKind::Purchase)
                .filter(|line| purchase_excludes_rent(line.subsidy_year, year))
                .map(|line| line.subsidy_year)
                .min()
            {
                notes.push(note(
                    BenefitReason::RentAndPurchase,
                    Clause::S7,
                    format!(
                        "a PURCHASE for {purchase} is reported; rent and purchase subsidies are \
                         not both granted"
                    ),
                ));
            }
        }
        PaymentKind::Purchase => {
            let (owned_on, why) = match first_in_year {
                Some((transaction, _)) => (
                    transaction.pred_opt().unwrap_or(transaction),
                    format!("the day before the transaction date {transaction}"),
                ),
                None => (evaluated_on, "the evaluation day".to_owned()),
            };
            if context.owned_office_on(owned_on) {
                notes.push(note(
                    BenefitReason::OwnsOffice,
                    Clause::S7,
                    format!("owned office premises in Hangzhou on {owned_on}, {why}"),
                ));
            }
            // A rent stands when no reported purchase shuts it (RENT_AND_PURCHASE); a standing
            // rent for this year or a later one shuts the purchase of this year.
            let purchases: Vec<i32> = reported
                .iter()
                .filter(|line| line.kind == PaymentKind::Purchase)
                .map(|line| line.subsidy_year)
                .collect();
            if let Some(rent) = reported
                .iter()
                .filter(|line| line.kind == PaymentKind::Rent)
                .map(|line| line.subsidy_year)
                .filter(|&rent| purchase_excludes_rent(year, rent))
                .filter(|&rent| !purchases.iter().any(|&p| purchase_excludes_rent(p, rent)))
                .max()
            {
                notes.push(note(
                    BenefitReason::PurchaseAndRent,
                    Clause::S7,
                    format!(
                        "a RENT for {rent} is reported; rent and purchase subsidies are not both \
                         granted"
                    ),
                ));
            }
            // The first purchase may be another district's line: named by its year only, as
            // the reconciliation names another district's line without its contract.
            if let Some((day, _)) = first
                && day.year() < year
            {
                notes.push(note(
                    BenefitReason::PurchaseNotFirst,
                    Clause::S7,
                    format!(
                        "its first purchase was transacted in {}, before {year} (首次购置)",
                        day.year()
                    ),
                ));
            }
        }
    }

    let district = context.district_on(evaluated_on).map(str::to_owned);
    let (parameters_on, ratio_name, cap_name) = match kind {
        PaymentKind::Rent => (first_day, "rent_subsidy.ratio", "rent_subsidy.cap_per_year"),
        PaymentKind::Purchase => (
            first_in_year.map_or(first_day, |(day, _)| day),
            "purchase_subsidy.ratio",
            "purchase_subsidy.cap",
        ),
    };
    let mut read = params.reader(parameters_on, district.as_deref());
    let ratio = read.ratio(ratio_name)?;
    let cap = read.money(cap_name)?;

    let counted: Vec<&ReportedLine> = input
        .lines
        .iter()
        .filter(|reported| {
            reported.line.kind == kind
                && reported.line.subsidy_year == year
                && reported.line.enterprise_id == context.enterprise_id
                && input
                    .totals_of_district
                    .is_none_or(|own| reported.line.district == own)
        })
        .collect();
    let overflow = || PolicyError::Money(super::MoneyError::Overflow("§7 totals"));
    let paid = Money::checked_sum(counted.iter().map(|r| r.line.amount)).ok_or_else(overflow)?;
    let eligible =
        Money::checked_sum(counted.iter().filter_map(|r| r.eligible)).ok_or_else(overflow)?;
    Ok(OfficeSubsidy {
        kind,
        open: notes.is_empty(),
        notes,
        district,
        parameters_on,
        ratio,
        cap,
        paid,
        eligible,
        lines: u32::try_from(counted.len()).unwrap_or(u32::MAX),
        lines_reconciled: u32::try_from(counted.iter().filter(|r| r.eligible.is_some()).count())
            .unwrap_or(u32::MAX),
        parameter_versions: read.used_version_ids(),
    })
}

fn last_day_of(first_day: NaiveDate) -> NaiveDate {
    NaiveDate::from_ymd_opt(first_day.year(), 12, 31).unwrap_or(first_day)
}

/// §8 / §10 / §12: `<prefix>.<stars>` in force on 1 January of Y.
fn star_parameter<T>(
    standing: &Standing,
    clause: Clause,
    prefix: &str,
    first_day: NaiveDate,
    read_value: impl Fn(&mut super::ParameterReader<'_>, &str) -> Result<Option<T>, PolicyError>,
    params: &ParameterSet,
) -> Result<StarParameter<T>, PolicyError> {
    let stars = match standing {
        Standing::Rated { stars, .. } => *stars,
        Standing::Not(code, detail) => {
            return Ok(StarParameter {
                parameter: None,
                value: None,
                note: Some(note(*code, clause, detail.clone())),
                parameter_versions: Vec::new(),
            });
        }
    };
    let name = format!("{prefix}.{}", stars.get());
    let mut read = params.reader(first_day, None);
    let value = read_value(&mut read, &name)?;
    let note = value.is_none().then(|| {
        note(
            BenefitReason::NoParameter,
            clause,
            format!("no version of `{name}` is in force on {first_day}"),
        )
    });
    Ok(StarParameter {
        parameter: Some(name),
        value,
        note,
        parameter_versions: read.used_version_ids(),
    })
}

#[cfg(test)]
mod tests;
