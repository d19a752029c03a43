//! §20 steps 4 and 6: the city's yearly subsidy to the districts, and the adjustment after a
//! finding.
//!
//! §20: 政策（七）由各区、县（市）承担，市级财政在次年予以各区、县（市）实际支出不超过20%的补助.
//! [`settle`] drafts the settlement of fiscal year N from each district's reconciled claim: its
//! reimbursement `floor_to_fen(eligible_total × rate)`, its grant (a proportional share when the
//! city's budget is short), the adjustments carried in and the net payable in N+1. [`adjustment`]
//! is what a finding after approval takes back, carried into a later settlement; year N itself is
//! never edited.
//!
//! [`settle`]: crate::settlement::settle
//! [`adjustment`]: crate::settlement::adjustment

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::money::{Money, MoneyError};
use super::params::ParameterSet;
use super::reconciliation::{LineVerdict, ReasonCode};
use super::{Clause, PolicyError};
use crate::code_enum;

/// Why a settlement or an adjustment could not be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettlementError {
    /// A rate below 0 or above `settlement.rate_cap` (`POLICY_VIOLATION`, `§20`: 不超过20%).
    #[error(
        "rate {rate} is not between 0 and the rate cap {cap}: the city grants not more than {cap} \
         of a district's actual spending (§20)"
    )]
    RateOutOfRange {
        /// The rate asked for.
        rate: Decimal,
        /// `settlement.rate_cap`.
        cap: Decimal,
    },
    /// A budget below zero or with more than two decimal places (`BAD_USER_INPUT`, field
    /// `budget`).
    #[error("invalid budget: {0}")]
    InvalidBudget(String),
    /// Figures that break the invariants of reconciled claims, e.g. cut totals by reason that do
    /// not add up to the cut, a positive adjustment or a district listed twice
    /// (`INTERNAL_SERVER_ERROR`: stored data broke an invariant).
    #[error("invalid settlement input: {0}")]
    InvalidInput(String),
    /// A parameter is missing or invalid, or an amount left the range of `Money`.
    #[error(transparent)]
    Policy(#[from] PolicyError),
}

impl SettlementError {
    /// The clause the refusal cites, if it is a refusal under the policy.
    #[must_use]
    pub fn clause(&self) -> Option<Clause> {
        match self {
            SettlementError::RateOutOfRange { .. } => Some(Clause::S20),
            SettlementError::Policy(error) => error.clause(),
            SettlementError::InvalidBudget(_) | SettlementError::InvalidInput(_) => None,
        }
    }
}

impl From<MoneyError> for SettlementError {
    fn from(error: MoneyError) -> Self {
        SettlementError::Policy(PolicyError::Money(error))
    }
}

fn overflow(what: &'static str) -> SettlementError {
    SettlementError::from(MoneyError::Overflow(what))
}

/// The settlement parameters of fiscal year N, in force on 31 December of N.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementParams {
    /// `settlement.default_rate`: the rate when none is given.
    pub default_rate: Decimal,
    /// `settlement.rate_cap`: the highest rate §20 allows (20%).
    pub rate_cap: Decimal,
    /// The ids of the parameter versions read.
    pub parameter_versions: Vec<i64>,
}

impl SettlementParams {
    /// Reads the general versions in force on 31 December of `year`.
    ///
    /// # Errors
    ///
    /// [`PolicyError::MissingParameter`], [`PolicyError::WrongParameterType`] or
    /// [`PolicyError::InvalidParameter`] (a rate outside 0..=1);
    /// [`PolicyError::OutsidePolicyPeriod`] for a year without a 31 December in the calendar.
    pub fn for_year(set: &ParameterSet, year: i32) -> Result<SettlementParams, PolicyError> {
        let december_31 =
            NaiveDate::from_ymd_opt(year, 12, 31).ok_or(PolicyError::OutsidePolicyPeriod {
                year,
                first: year,
                last: year,
            })?;
        let mut read = set.reader(december_31, None);
        Ok(SettlementParams {
            default_rate: read.ratio("settlement.default_rate")?,
            rate_cap: read.ratio("settlement.rate_cap")?,
            parameter_versions: read.used_version_ids(),
        })
    }
}

/// A district's reconciled claim, summed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimTotals {
    /// Σ amount paid.
    pub reported: Money,
    /// Σ eligible: the district's actual spending under §7 (实际支出).
    pub eligible: Money,
    /// Σ cut = reported − eligible.
    pub cut: Money,
    /// The cut by each line's primary reason (the first in table order); adds up to `cut`.
    pub cut_by_reason: BTreeMap<ReasonCode, Money>,
}

impl ClaimTotals {
    /// Sums the verdicts of a claim's lines.
    ///
    /// # Errors
    ///
    /// [`SettlementError::InvalidInput`] for a verdict with a cut but no primary reason, or a
    /// negative amount; [`SettlementError::Policy`] when a sum leaves the range of `Money`.
    pub fn from_verdicts(verdicts: &[LineVerdict]) -> Result<ClaimTotals, SettlementError> {
        let mut totals = ClaimTotals::default();
        for verdict in verdicts {
            if verdict.eligible.is_negative() || verdict.cut.is_negative() {
                return Err(SettlementError::InvalidInput(format!(
                    "line {}: eligible {} and cut {} cannot be negative",
                    verdict.line_id, verdict.eligible, verdict.cut
                )));
            }
            let paid = add(verdict.eligible, verdict.cut, "paid")?;
            totals.reported = add(totals.reported, paid, "Σ reported")?;
            totals.eligible = add(totals.eligible, verdict.eligible, "Σ eligible")?;
            totals.cut = add(totals.cut, verdict.cut, "Σ cut")?;
            if verdict.cut.is_zero() {
                continue;
            }
            let reason = verdict.primary_reason.ok_or_else(|| {
                SettlementError::InvalidInput(format!(
                    "line {}: a cut of {} without a reason",
                    verdict.line_id, verdict.cut
                ))
            })?;
            let by_reason = totals.cut_by_reason.entry(reason).or_default();
            *by_reason = add(*by_reason, verdict.cut, "Σ cut by reason")?;
        }
        Ok(totals)
    }

    /// Checks the invariants: nothing negative, `eligible + cut = reported`, the cut by reason
    /// adds up to the cut.
    fn check(&self, district: &str) -> Result<(), SettlementError> {
        let refuse = |what: String| {
            Err(SettlementError::InvalidInput(format!(
                "district {district}: {what}"
            )))
        };
        if self.eligible.is_negative() || self.cut.is_negative() {
            return refuse(format!(
                "eligible {} and cut {} cannot be negative",
                self.eligible, self.cut
            ));
        }
        if add(self.eligible, self.cut, "eligible + cut")? != self.reported {
            return refuse(format!(
                "eligible {} + cut {} ≠ reported {}",
                self.eligible, self.cut, self.reported
            ));
        }
        if self.cut_by_reason.values().any(|cut| cut.is_negative()) {
            return refuse("a cut by reason is negative".to_owned());
        }
        let by_reason = Money::checked_sum(self.cut_by_reason.values().copied())
            .ok_or(MoneyError::Overflow("Σ cut by reason"))?;
        if by_reason != self.cut {
            return refuse(format!(
                "the cut by reason adds up to {by_reason}, not to the cut {}",
                self.cut
            ));
        }
        Ok(())
    }
}

code_enum! {
    /// Why a district of the settlement has zeros.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub enum ZeroReason: "zero reason" {
        /// It reported no line paid in the year.
        NoLines = "NO_LINES",
        /// It has lines but did not submit its claim.
        NotSubmitted = "NOT_SUBMITTED",
        /// Its claim is submitted but not reconciled.
        NotReconciled = "NOT_RECONCILED",
    }
}

code_enum! {
    /// Where a district's yearly claim stands (§20 steps 2 to 5), as stored on the claim. Each
    /// step of its history records the status it moved to.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub enum ClaimStatus: "claim status" {
        /// Submitted by the district (§20 step 2), waiting for reconciliation.
        Submitted = "SUBMITTED",
        /// Returned to the district with a reason: it may report again and submit again.
        Returned = "RETURNED",
        /// Every line has a verdict (§20 step 3).
        Reconciled = "RECONCILED",
        /// Counted in an approved settlement (§20 step 5).
        Approved = "APPROVED",
    }
}

impl ClaimStatus {
    /// The statuses whose verdicts a settlement counts: reconciled, or approved with an earlier
    /// settlement of the year.
    pub const COUNTED: [ClaimStatus; 2] = [ClaimStatus::Reconciled, ClaimStatus::Approved];
}

code_enum! {
    /// Where the city's settlement of a fiscal year stands (§20 steps 4 and 5), as stored.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub enum SettlementStatus: "settlement status" {
        /// Drafted: it can still be drafted again.
        Draft = "DRAFT",
        /// Approved: the fiscal year is locked; a later finding becomes an adjustment.
        Approved = "APPROVED",
    }
}

/// Where a district's claim for the year stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DistrictStatus {
    /// Its claim is reconciled: these are its totals.
    Reconciled(ClaimTotals),
    /// No line paid in the year.
    NoLines,
    /// Lines, but no submitted claim.
    NotSubmitted,
    /// A submitted claim, not reconciled.
    NotReconciled,
}

/// One district's input to the settlement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DistrictInput {
    /// The district (GB/T 2260 code).
    pub code: String,
    /// Its claim.
    pub status: DistrictStatus,
    /// Σ adjustments carried into this settlement (≤ 0: take-backs of earlier years).
    pub adjustments: Money,
}

/// One district's line of the settlement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DistrictSettlement {
    /// The district (GB/T 2260 code).
    pub code: String,
    /// Why it has zeros, when it has no reconciled claim.
    pub zero_reason: Option<ZeroReason>,
    /// Σ amount paid.
    pub reported: Money,
    /// Σ eligible.
    pub eligible: Money,
    /// Σ cut.
    pub cut: Money,
    /// The cut by primary reason; adds up to `cut`.
    pub cut_by_reason: BTreeMap<ReasonCode, Money>,
    /// `floor_to_fen(eligible × rate)`.
    pub reimbursement: Money,
    /// The reimbursement, or its share of a short budget.
    pub granted: Money,
    /// Σ adjustments carried in (≤ 0).
    pub adjustments: Money,
    /// `granted + adjustments`, payable in N+1; negative when more is taken back than granted
    /// (追回/抵扣).
    pub net_payable: Money,
}

/// The city's totals: each the sum of the district lines.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementTotals {
    /// Σ reported.
    pub reported: Money,
    /// Σ eligible.
    pub eligible: Money,
    /// Σ cut.
    pub cut: Money,
    /// Σ cut by primary reason.
    pub cut_by_reason: BTreeMap<ReasonCode, Money>,
    /// Σ reimbursement.
    pub reimbursement: Money,
    /// Σ granted (= the budget when it binds).
    pub granted: Money,
    /// Σ adjustments.
    pub adjustments: Money,
    /// Σ net payable.
    pub net_payable: Money,
}

/// The draft settlement of a fiscal year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementDraft {
    /// The fiscal year N (payable in N+1).
    pub year: i32,
    /// The rate applied.
    pub rate: Decimal,
    /// `settlement.rate_cap`.
    pub rate_cap: Decimal,
    /// The city's budget, if any.
    pub budget: Option<Money>,
    /// Whether the budget was below Σ reimbursement, so the grants are proportional shares.
    pub budget_binding: bool,
    /// One line per district, by district code.
    pub districts: Vec<DistrictSettlement>,
    /// The city's totals.
    pub totals: SettlementTotals,
}

impl SettlementDraft {
    /// The line of district `code`.
    #[must_use]
    pub fn district(&self, code: &str) -> Option<&DistrictSettlement> {
        self.districts.iter().find(|line| line.code == code)
    }
}

/// A budget as entered: at least 0, at most two decimal places, never rounded.
///
/// # Errors
///
/// [`SettlementError::InvalidBudget`] for a negative amount, more than two decimal places or an
/// amount beyond the range of `Money`.
pub fn parse_budget(value: &Decimal) -> Result<Money, SettlementError> {
    Money::parse_non_negative(value)
        .map_err(|error| SettlementError::InvalidBudget(error.to_string()))
}

/// Drafts the settlement of fiscal year `year`.
///
/// Per district: `reimbursement = floor_to_fen(eligible_total × rate)`, once on the district's
/// total; `granted = reimbursement`, unless `budget` is below Σ reimbursement: then each district
/// is granted its proportional share `budget × reimbursement / Σ reimbursement` floored to the
/// fen, and the fen left over go one each to the largest remainders (ties: lower district code
/// first), so that the grants add up to the budget exactly; `net_payable = granted + adjustments`.
/// A district without a reconciled claim has zeros and says why; its adjustments still count.
/// Lines come by district code; the city totals are their sums.
///
/// # Errors
///
/// [`SettlementError::RateOutOfRange`] for a rate below 0 or above `rate_cap`;
/// [`SettlementError::InvalidBudget`] for a negative budget; [`SettlementError::InvalidInput`]
/// for a rate cap outside 0..=1, a district listed twice, a positive adjustment or claim totals
/// that do not add up; [`SettlementError::Policy`] when an amount leaves the range of `Money`.
pub fn settle(
    year: i32,
    rate: Decimal,
    rate_cap: Decimal,
    budget: Option<Money>,
    districts: Vec<DistrictInput>,
) -> Result<SettlementDraft, SettlementError> {
    if rate_cap < Decimal::ZERO || rate_cap > Decimal::ONE {
        return Err(SettlementError::InvalidInput(format!(
            "rate cap {rate_cap} is not between 0 and 1"
        )));
    }
    // §20: 不超过20% — the rate is at most `settlement.rate_cap`, and a subsidy is not negative.
    if rate < Decimal::ZERO || rate > rate_cap {
        return Err(SettlementError::RateOutOfRange {
            rate,
            cap: rate_cap,
        });
    }
    if let Some(budget) = budget.filter(|budget| budget.is_negative()) {
        return Err(SettlementError::InvalidBudget(format!(
            "amount {budget} is negative"
        )));
    }

    let mut districts = districts;
    districts.sort_by(|a, b| a.code.cmp(&b.code));
    let mut codes = BTreeSet::new();
    let mut lines = Vec::with_capacity(districts.len());
    for district in districts {
        if !codes.insert(district.code.clone()) {
            return Err(SettlementError::InvalidInput(format!(
                "district {} is listed twice",
                district.code
            )));
        }
        lines.push(district_line(district, rate)?);
    }

    let total_reimbursement = Money::checked_sum(lines.iter().map(|line| line.reimbursement))
        .ok_or(MoneyError::Overflow("Σ reimbursement"))?;
    let short_budget = budget.filter(|&budget| budget < total_reimbursement);
    if let Some(budget) = short_budget {
        let reimbursements: Vec<Money> = lines.iter().map(|line| line.reimbursement).collect();
        let grants = apportion(budget, &reimbursements)?;
        for (line, granted) in lines.iter_mut().zip(grants) {
            line.granted = granted;
        }
    }
    for line in &mut lines {
        line.net_payable = add(line.granted, line.adjustments, "net payable")?;
    }

    let totals = city_totals(&lines)?;
    Ok(SettlementDraft {
        year,
        rate,
        rate_cap,
        budget,
        budget_binding: short_budget.is_some(),
        districts: lines,
        totals,
    })
}

/// A district's line before any budget: granted = reimbursement.
fn district_line(
    district: DistrictInput,
    rate: Decimal,
) -> Result<DistrictSettlement, SettlementError> {
    if district.adjustments > Money::ZERO {
        return Err(SettlementError::InvalidInput(format!(
            "district {}: adjustments {} are positive; an adjustment only takes back",
            district.code, district.adjustments
        )));
    }
    let (zero_reason, totals) = match district.status {
        DistrictStatus::Reconciled(totals) => {
            totals.check(&district.code)?;
            (None, totals)
        }
        DistrictStatus::NoLines => (Some(ZeroReason::NoLines), ClaimTotals::default()),
        DistrictStatus::NotSubmitted => (Some(ZeroReason::NotSubmitted), ClaimTotals::default()),
        DistrictStatus::NotReconciled => (Some(ZeroReason::NotReconciled), ClaimTotals::default()),
    };
    // Rounded DOWN to the fen, once per district total, never per line.
    // INTERPRETATION(§20): 不超过 is a ceiling; half-up could exceed it by half a fen.
    let reimbursement = totals.eligible.floor_mul(rate)?;
    Ok(DistrictSettlement {
        code: district.code,
        zero_reason,
        reported: totals.reported,
        eligible: totals.eligible,
        cut: totals.cut,
        cut_by_reason: totals.cut_by_reason,
        reimbursement,
        granted: reimbursement,
        adjustments: district.adjustments,
        net_payable: Money::ZERO,
    })
}

/// Splits `budget` in proportion to `reimbursements` (in district code order), exactly: each
/// share `budget × r_i / Σ r` floored to the fen, then the fen left over one each to the largest
/// remainders, ties to the lower index (the lower district code). The shares add up to `budget`.
/// Computed in `i128`: `budget × r_i` cannot overflow.
fn apportion(budget: Money, reimbursements: &[Money]) -> Result<Vec<Money>, SettlementError> {
    let total: i128 = reimbursements.iter().map(|r| i128::from(r.fen())).sum();
    let budget_fen = i128::from(budget.fen());
    if total <= 0 {
        return Ok(vec![Money::ZERO; reimbursements.len()]);
    }
    let mut shares = Vec::with_capacity(reimbursements.len());
    for reimbursement in reimbursements {
        let product = budget_fen
            .checked_mul(i128::from(reimbursement.fen()))
            .ok_or_else(|| overflow("budget × reimbursement"))?;
        shares.push((product.div_euclid(total), product.rem_euclid(total)));
    }
    let floors: i128 = shares.iter().map(|(floor, _)| floor).sum();
    // Σ remainders = (budget − Σ floors) × total, each remainder < total: fewer fen are left
    // over than there are districts with a remainder.
    let left_over = usize::try_from(budget_fen - floors).map_err(|_| overflow("fen left over"))?;
    let mut order: Vec<usize> = (0..shares.len()).collect();
    order.sort_by(|&a, &b| shares[b].1.cmp(&shares[a].1).then(a.cmp(&b)));
    for &index in order.iter().take(left_over) {
        shares[index].0 += 1;
    }
    let grants = shares
        .into_iter()
        .map(|(fen, _)| i64::try_from(fen).map(Money::from_fen))
        .collect::<Result<Vec<Money>, _>>()
        .map_err(|_| overflow("grant"))?;
    let granted = Money::checked_sum(grants.iter().copied()).ok_or_else(|| overflow("Σ grant"))?;
    if granted != budget {
        return Err(SettlementError::InvalidInput(format!(
            "the grants add up to {granted}, not to the budget {budget}"
        )));
    }
    Ok(grants)
}

fn city_totals(lines: &[DistrictSettlement]) -> Result<SettlementTotals, SettlementError> {
    let mut totals = SettlementTotals::default();
    for line in lines {
        totals.reported = add(totals.reported, line.reported, "Σ reported")?;
        totals.eligible = add(totals.eligible, line.eligible, "Σ eligible")?;
        totals.cut = add(totals.cut, line.cut, "Σ cut")?;
        for (&reason, &cut) in &line.cut_by_reason {
            let by_reason = totals.cut_by_reason.entry(reason).or_default();
            *by_reason = add(*by_reason, cut, "Σ cut by reason")?;
        }
        totals.reimbursement = add(totals.reimbursement, line.reimbursement, "Σ reimbursement")?;
        totals.granted = add(totals.granted, line.granted, "Σ granted")?;
        totals.adjustments = add(totals.adjustments, line.adjustments, "Σ adjustments")?;
        totals.net_payable = add(totals.net_payable, line.net_payable, "Σ net payable")?;
    }
    Ok(totals)
}

fn add(a: Money, b: Money, what: &'static str) -> Result<Money, SettlementError> {
    a.checked_add(b).ok_or_else(|| overflow(what))
}

/// The adjustment for one finding, district and original year (§20 step 6):
/// `−floor_to_fen(e × G / E)`, where `e` is the approved eligible amount of the lines found, `E`
/// the district's eligible total and `G` its grant in that settlement; 0 when `E` is 0.
///
/// INTERPRETATION(§20): the city takes back the share it actually paid, never more: `G / E` is
/// what the city paid per yuan of eligible spending (the rate, or less under a short budget), and
/// the quotient is floored before the sign is turned, so the take-back is never rounded up.
///
/// # Errors
///
/// [`SettlementError::InvalidInput`] for a negative amount or `e > E` (the lines found are part of
/// the district's total).
pub fn adjustment(
    found_eligible: Money,
    district_eligible: Money,
    district_granted: Money,
) -> Result<Money, SettlementError> {
    if found_eligible.is_negative()
        || district_eligible.is_negative()
        || district_granted.is_negative()
    {
        return Err(SettlementError::InvalidInput(format!(
            "e = {found_eligible}, E = {district_eligible} and G = {district_granted} cannot be \
             negative"
        )));
    }
    if found_eligible > district_eligible {
        return Err(SettlementError::InvalidInput(format!(
            "the lines found ({found_eligible}) exceed the district's eligible total \
             ({district_eligible})"
        )));
    }
    if district_eligible.is_zero() {
        return Ok(Money::ZERO);
    }
    // e ≤ E, so e × G / E ≤ G: the result fits.
    let taken = i128::from(found_eligible.fen()) * i128::from(district_granted.fen())
        / i128::from(district_eligible.fen());
    let fen = i64::try_from(taken).map_err(|_| overflow("e × G / E"))?;
    Ok(Money::from_fen(-fen))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yuan(s: &str) -> Money {
        s.parse().expect("test amount")
    }

    fn dec(s: &str) -> Decimal {
        Decimal::from_str_exact(s).expect("test decimal")
    }

    /// A reconciled claim with nothing cut.
    fn reconciled(eligible: &str) -> DistrictStatus {
        DistrictStatus::Reconciled(ClaimTotals {
            reported: yuan(eligible),
            eligible: yuan(eligible),
            cut: Money::ZERO,
            cut_by_reason: BTreeMap::new(),
        })
    }

    fn district(code: &str, status: DistrictStatus) -> DistrictInput {
        DistrictInput {
            code: code.to_owned(),
            status,
            adjustments: Money::ZERO,
        }
    }

    fn settle_at(
        rate: &str,
        budget: Option<&str>,
        districts: Vec<DistrictInput>,
    ) -> SettlementDraft {
        settle(2024, dec(rate), dec("0.20"), budget.map(yuan), districts).expect("settles")
    }

    fn verdict(line_id: i64, eligible: &str, cut: &str, reason: Option<ReasonCode>) -> LineVerdict {
        LineVerdict {
            line_id,
            eligible: yuan(eligible),
            cut: yuan(cut),
            reasons: Vec::new(),
            primary_reason: reason,
            ratio_group: None,
            group_limit: None,
            parameter_versions: Vec::new(),
        }
    }

    #[test]
    fn every_zero_reason_round_trips_through_its_code() {
        crate::code::testing::assert_codes_round_trip(&ZeroReason::ALL, ZeroReason::as_str);
    }

    #[test]
    fn every_claim_and_settlement_status_round_trips_through_its_code() {
        crate::code::testing::assert_codes_round_trip(&ClaimStatus::ALL, ClaimStatus::as_str);
        crate::code::testing::assert_codes_round_trip(
            &SettlementStatus::ALL,
            SettlementStatus::as_str,
        );
    }

    #[test]
    fn the_shipped_rate_and_cap_are_twenty_percent_in_force_on_31_december() {
        let params =
            SettlementParams::for_year(&ParameterSet::shipped_defaults(), 2024).expect("shipped");
        assert_eq!(params.default_rate, dec("0.20"));
        assert_eq!(params.rate_cap, dec("0.20"));
        assert_eq!(params.parameter_versions.len(), 2);
        assert!(SettlementParams::for_year(&ParameterSet::shipped_defaults(), 2022).is_err());
    }

    #[test]
    fn the_rate_floors_once_per_district_total_not_per_line() {
        // Three lines of 0.03 eligible: per line 0.006 → 0.00 each; the total 0.09 → 0.018 → 0.01.
        let verdicts = [
            verdict(1, "0.03", "0", None),
            verdict(2, "0.03", "0", None),
            verdict(3, "0.03", "0", None),
        ];
        let totals = ClaimTotals::from_verdicts(&verdicts).expect("sums");
        let draft = settle_at(
            "0.20",
            None,
            vec![
                district("330106", DistrictStatus::Reconciled(totals)),
                district("330108", reconciled("123.46")),
                district("330110", reconciled("123.45")),
            ],
        );
        let reimbursements: Vec<Money> = draft
            .districts
            .iter()
            .map(|line| line.reimbursement)
            .collect();
        assert_eq!(reimbursements, [yuan("0.01"), yuan("24.69"), yuan("24.69")]);
        assert_eq!(draft.totals.reimbursement, yuan("49.39"));
        assert!(!draft.budget_binding);
        for line in &draft.districts {
            assert_eq!(line.granted, line.reimbursement);
            assert_eq!(line.net_payable, line.granted);
        }
    }

    #[test]
    fn a_rate_above_the_cap_or_below_zero_is_refused_citing_section_20() {
        for rate in ["0.21", "0.2000001", "-0.01", "1"] {
            let error = settle(
                2024,
                dec(rate),
                dec("0.20"),
                None,
                vec![district("330106", reconciled("100.00"))],
            )
            .expect_err(rate);
            assert_eq!(
                error,
                SettlementError::RateOutOfRange {
                    rate: dec(rate),
                    cap: dec("0.20")
                }
            );
            assert_eq!(error.clause(), Some(Clause::S20));
            assert!(error.to_string().contains("§20"), "{error}");
        }
    }

    #[test]
    fn a_rate_at_or_below_the_cap_applies() {
        let cases = [
            ("0.20", "2000.00"),
            ("0.15", "1500.00"),
            ("0.123", "1230.00"),
            ("0.0001", "1.00"),
            ("0", "0.00"),
        ];
        for (rate, reimbursement) in cases {
            let draft = settle_at(rate, None, vec![district("330106", reconciled("10000.00"))]);
            assert_eq!(
                draft.districts[0].reimbursement,
                yuan(reimbursement),
                "{rate}"
            );
            assert_eq!(draft.rate, dec(rate));
        }
        // 0.155 × 0.99 = 0.15345 → 0.15
        let draft = settle_at("0.155", None, vec![district("330106", reconciled("0.99"))]);
        assert_eq!(draft.districts[0].reimbursement, yuan("0.15"));
    }

    #[test]
    fn a_short_budget_is_shared_in_proportion_with_the_left_over_fen_to_the_largest_remainders() {
        // Reimbursements (20% of eligible): 0.50, 0.30, 0.20 → Σ 1.00; budget 0.07:
        // shares 0.035, 0.021, 0.014 → floors 0.03, 0.02, 0.01; one fen left → largest remainder.
        let cases = [
            (
                "0.07",
                vec![("330102", "2.50"), ("330105", "1.50"), ("330106", "1.00")],
                vec!["0.04", "0.02", "0.01"],
            ),
            // Equal remainders: the lower district code first, whatever the input order.
            (
                "0.02",
                vec![("330110", "0.05"), ("330102", "0.05"), ("330108", "0.05")],
                vec!["0.01", "0.01", "0.00"],
            ),
            // 1,000.00 shared by 3 equal claims: 333.33 each and one fen to the lowest code.
            (
                "1000.00",
                vec![
                    ("330106", "5000.00"),
                    ("330108", "5000.00"),
                    ("330109", "5000.00"),
                ],
                vec!["333.34", "333.33", "333.33"],
            ),
            // A district with nothing to reimburse gets nothing.
            (
                "100.00",
                vec![
                    ("330102", "0.00"),
                    ("330105", "1000.00"),
                    ("330106", "500.00"),
                ],
                vec!["0.00", "66.67", "33.33"],
            ),
            (
                "0.00",
                vec![("330102", "10.00"), ("330105", "10.00")],
                vec!["0.00", "0.00"],
            ),
        ];
        for (budget, claims, grants) in cases {
            let districts = claims
                .iter()
                .map(|(code, eligible)| district(code, reconciled(eligible)))
                .collect();
            let draft = settle_at("0.20", Some(budget), districts);
            assert!(draft.budget_binding, "{budget}");
            let got: Vec<Money> = draft.districts.iter().map(|line| line.granted).collect();
            let expected: Vec<Money> = grants.iter().map(|g| yuan(g)).collect();
            assert_eq!(got, expected, "budget {budget}");
            assert_eq!(draft.totals.granted, yuan(budget), "budget {budget}");
            for line in &draft.districts {
                assert!(line.granted <= line.reimbursement, "{}", line.code);
            }
        }
    }

    #[test]
    fn a_large_short_budget_adds_up_exactly() {
        // 13 districts with awkward reimbursements; grants add up to the budget to the fen.
        let codes = [
            "330102", "330105", "330106", "330108", "330109", "330110", "330111", "330112",
            "330113", "330114", "330122", "330127", "330182",
        ];
        let districts = codes
            .iter()
            .zip(1_i64..)
            .map(|(code, i)| {
                let eligible = Money::from_fen(i * 7_777_777_777 + 13);
                district(
                    code,
                    DistrictStatus::Reconciled(ClaimTotals {
                        reported: eligible,
                        eligible,
                        ..ClaimTotals::default()
                    }),
                )
            })
            .collect();
        let budget = "12345678.91";
        let draft = settle_at("0.20", Some(budget), districts);
        assert!(draft.budget_binding);
        assert_eq!(draft.totals.granted, yuan(budget));
        let sum = Money::checked_sum(draft.districts.iter().map(|line| line.granted));
        assert_eq!(sum, Some(yuan(budget)));
    }

    #[test]
    fn a_budget_at_or_above_the_reimbursements_changes_nothing() {
        let claims = || {
            vec![
                district("330106", reconciled("1000.00")),
                district("330108", reconciled("500.05")),
            ]
        };
        // Σ reimbursement = 200.00 + 100.01 = 300.01
        let unlimited = settle_at("0.20", None, claims());
        for budget in ["300.01", "300.02", "1000000.00"] {
            let draft = settle_at("0.20", Some(budget), claims());
            assert!(!draft.budget_binding, "{budget}");
            assert_eq!(draft.districts, unlimited.districts, "{budget}");
            assert_eq!(draft.totals.granted, yuan("300.01"));
        }
        let short = settle_at("0.20", Some("300.00"), claims());
        assert!(short.budget_binding);
        assert_eq!(short.totals.granted, yuan("300.00"));
    }

    #[test]
    fn a_negative_or_over_precise_budget_is_refused() {
        assert!(matches!(
            settle(2024, dec("0.20"), dec("0.20"), Some(yuan("-0.01")), vec![]),
            Err(SettlementError::InvalidBudget(_))
        ));
        for text in ["1.005", "-1", "0.001", "1000.500", "1000000000000.01"] {
            assert!(
                matches!(
                    parse_budget(&dec(text)),
                    Err(SettlementError::InvalidBudget(_))
                ),
                "{text}"
            );
        }
        assert_eq!(parse_budget(&dec("1000.50")), Ok(yuan("1000.50")));
        assert_eq!(parse_budget(&dec("0")), Ok(Money::ZERO));
    }

    #[test]
    fn a_large_adjustment_makes_the_net_payable_negative() {
        let draft = settle_at(
            "0.20",
            None,
            vec![
                DistrictInput {
                    adjustments: yuan("-5000.00"),
                    ..district("330106", reconciled("5000.00"))
                },
                DistrictInput {
                    adjustments: yuan("-300.00"),
                    ..district("330108", DistrictStatus::NotSubmitted)
                },
            ],
        );
        let first = draft.district("330106").expect("listed");
        assert_eq!(first.granted, yuan("1000.00"));
        assert_eq!(first.net_payable, yuan("-4000.00"));
        let second = draft.district("330108").expect("listed");
        assert_eq!(second.granted, Money::ZERO);
        assert_eq!(second.net_payable, yuan("-300.00"));
        assert_eq!(draft.totals.adjustments, yuan("-5300.00"));
        assert_eq!(draft.totals.net_payable, yuan("-4300.00"));
    }

    #[test]
    fn a_district_without_a_reconciled_claim_has_zeros_and_says_why() {
        let draft = settle_at(
            "0.20",
            Some("1.00"),
            vec![
                district("330182", DistrictStatus::NotReconciled),
                district("330127", DistrictStatus::NoLines),
                district("330122", DistrictStatus::NotSubmitted),
                district("330106", reconciled("100.00")),
            ],
        );
        let rows: Vec<(&str, Option<ZeroReason>, Money)> = draft
            .districts
            .iter()
            .map(|line| (line.code.as_str(), line.zero_reason, line.granted))
            .collect();
        assert_eq!(
            rows,
            [
                ("330106", None, yuan("1.00")),
                ("330122", Some(ZeroReason::NotSubmitted), Money::ZERO),
                ("330127", Some(ZeroReason::NoLines), Money::ZERO),
                ("330182", Some(ZeroReason::NotReconciled), Money::ZERO),
            ]
        );
        for line in &draft.districts[1..] {
            assert_eq!(line.reported, Money::ZERO);
            assert_eq!(line.eligible, Money::ZERO);
            assert_eq!(line.reimbursement, Money::ZERO);
            assert!(line.cut_by_reason.is_empty());
        }
        assert_eq!(
            serde_json::to_string(&ZeroReason::NotSubmitted).expect("json"),
            "\"NOT_SUBMITTED\""
        );
    }

    #[test]
    fn the_cut_by_primary_reason_adds_up_to_the_cut_and_the_city_totals_are_sums() {
        let first = ClaimTotals::from_verdicts(&[
            verdict(1, "0", "100.00", Some(ReasonCode::NotRecognized)),
            verdict(2, "70.00", "30.00", Some(ReasonCode::OverDistrictRatio)),
            verdict(3, "0", "50.00", Some(ReasonCode::NotRecognized)),
            verdict(4, "200.00", "0", None),
        ])
        .expect("sums");
        assert_eq!(first.reported, yuan("450.00"));
        assert_eq!(first.eligible, yuan("270.00"));
        assert_eq!(first.cut, yuan("180.00"));
        assert_eq!(
            first.cut_by_reason,
            BTreeMap::from([
                (ReasonCode::NotRecognized, yuan("150.00")),
                (ReasonCode::OverDistrictRatio, yuan("30.00")),
            ])
        );
        let second = ClaimTotals::from_verdicts(&[
            verdict(5, "0", "10.00", Some(ReasonCode::WrongDistrict)),
            verdict(6, "0", "1.00", Some(ReasonCode::NotRecognized)),
            verdict(7, "99.99", "0", None),
        ])
        .expect("sums");
        let draft = settle_at(
            "0.20",
            None,
            vec![
                district("330106", DistrictStatus::Reconciled(first)),
                DistrictInput {
                    adjustments: yuan("-7.00"),
                    ..district("330108", DistrictStatus::Reconciled(second))
                },
                district("330110", DistrictStatus::NoLines),
            ],
        );
        let sum = |field: fn(&DistrictSettlement) -> Money| {
            Money::checked_sum(draft.districts.iter().map(field)).expect("no overflow")
        };
        let totals = &draft.totals;
        assert_eq!(totals.reported, sum(|l| l.reported));
        assert_eq!(totals.eligible, sum(|l| l.eligible));
        assert_eq!(totals.cut, sum(|l| l.cut));
        assert_eq!(totals.reimbursement, sum(|l| l.reimbursement));
        assert_eq!(totals.granted, sum(|l| l.granted));
        assert_eq!(totals.adjustments, sum(|l| l.adjustments));
        assert_eq!(totals.net_payable, sum(|l| l.net_payable));
        assert_eq!(totals.reported, yuan("560.99"));
        assert_eq!(totals.cut, yuan("191.00"));
        assert_eq!(
            totals.cut_by_reason,
            BTreeMap::from([
                (ReasonCode::NotRecognized, yuan("151.00")),
                (ReasonCode::WrongDistrict, yuan("10.00")),
                (ReasonCode::OverDistrictRatio, yuan("30.00")),
            ])
        );
        assert_eq!(
            Money::checked_sum(totals.cut_by_reason.values().copied()),
            Some(totals.cut)
        );
        // 270.00 × 0.20 = 54.00; 99.99 × 0.20 = 19.998 → 19.99
        assert_eq!(totals.reimbursement, yuan("73.99"));
        assert_eq!(totals.net_payable, yuan("66.99"));
        let json = serde_json::to_value(&totals.cut_by_reason).expect("json");
        assert_eq!(json["NOT_RECOGNIZED"], "151.00");
    }

    #[test]
    fn totals_that_do_not_add_up_are_refused() {
        let broken = [
            ClaimTotals {
                reported: yuan("100.00"),
                eligible: yuan("60.00"),
                cut: yuan("30.00"),
                cut_by_reason: BTreeMap::from([(ReasonCode::NotRecognized, yuan("30.00"))]),
            },
            ClaimTotals {
                reported: yuan("100.00"),
                eligible: yuan("60.00"),
                cut: yuan("40.00"),
                cut_by_reason: BTreeMap::from([(ReasonCode::NotRecognized, yuan("30.00"))]),
            },
        ];
        for totals in broken {
            assert!(matches!(
                settle(
                    2024,
                    dec("0.20"),
                    dec("0.20"),
                    None,
                    vec![district("330106", DistrictStatus::Reconciled(totals))]
                ),
                Err(SettlementError::InvalidInput(_))
            ));
        }
        assert!(matches!(
            ClaimTotals::from_verdicts(&[verdict(1, "0", "5.00", None)]),
            Err(SettlementError::InvalidInput(_))
        ));
    }

    #[test]
    fn a_district_listed_twice_or_a_positive_adjustment_is_refused() {
        let twice = vec![
            district("330106", reconciled("1.00")),
            district("330106", DistrictStatus::NoLines),
        ];
        assert!(matches!(
            settle(2024, dec("0.20"), dec("0.20"), None, twice),
            Err(SettlementError::InvalidInput(_))
        ));
        let positive = vec![DistrictInput {
            adjustments: yuan("0.01"),
            ..district("330106", reconciled("1.00"))
        }];
        assert!(matches!(
            settle(2024, dec("0.20"), dec("0.20"), None, positive),
            Err(SettlementError::InvalidInput(_))
        ));
    }

    #[test]
    fn the_adjustment_takes_back_the_share_actually_paid_floored() {
        let cases = [
            // (e, E, G, adjustment)
            ("1000.00", "10000.00", "2000.00", "-200.00"),
            ("10000.00", "10000.00", "2000.00", "-2000.00"),
            // Under a short budget G/E is below the rate: 1,000.00 × 1,500.00 / 10,000.00.
            ("1000.00", "10000.00", "1500.00", "-150.00"),
            // 0.01 × 0.33 / 0.99 = 0.003333… → 0.00
            ("0.01", "0.99", "0.33", "0.00"),
            // 333.33 × 200.00 / 1,000.00 = 66.666 → −66.66, never −66.67
            ("333.33", "1000.00", "200.00", "-66.66"),
            ("0.00", "1000.00", "200.00", "0.00"),
            // E = 0: nothing was granted on it, nothing is taken back.
            ("0.00", "0.00", "0.00", "0.00"),
            ("0.00", "0.00", "5.00", "0.00"),
            // G = 0 (e.g. a zero budget): nothing to take back.
            ("500.00", "1000.00", "0.00", "0.00"),
        ];
        for (e, big_e, g, expected) in cases {
            assert_eq!(
                adjustment(yuan(e), yuan(big_e), yuan(g)),
                Ok(yuan(expected)),
                "e {e}, E {big_e}, G {g}"
            );
        }
    }

    #[test]
    fn an_adjustment_beyond_the_districts_total_or_negative_is_refused() {
        let cases = [
            ("1000.01", "1000.00", "200.00"),
            ("-1.00", "1000.00", "200.00"),
            ("1.00", "-1000.00", "200.00"),
            ("1.00", "1000.00", "-200.00"),
        ];
        for (e, big_e, g) in cases {
            assert!(
                matches!(
                    adjustment(yuan(e), yuan(big_e), yuan(g)),
                    Err(SettlementError::InvalidInput(_))
                ),
                "e {e}, E {big_e}, G {g}"
            );
        }
        // The largest amounts stay exact.
        let max = Money::from_fen(i64::MAX);
        assert_eq!(adjustment(max, max, max), Ok(Money::from_fen(-i64::MAX)));
    }
}
