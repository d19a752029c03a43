//! §20 step 3: the verdict on every payment line of a district's claim.
//!
//! 区、县（市）财政 pays the §7 office subsidies and reports each payment; 市财政局 reconciles the
//! claim before it counts towards the city's subsidy (市级财政在次年予以各区、县（市）实际支出不超过20%
//! 的补助). [`reconcile`] gives each line an eligible amount, `0 ≤ eligible ≤ paid`, and the reasons
//! for what it cut, each with its clause:
//!
//! 1. the whole-line rules of the rule table (docs/rules.md), in table order: a line failing several lists them
//!    all and is cut whole;
//! 2. then the district's ratio cap, `OVER_DISTRICT_RATIO`, on what survives, group by group.
//!
//! Everything the rules look at is an input ([`ReconciliationInput`]), shaped like the rows the
//! service loads: the lines, the enterprises' dated facts, every other reported line of those
//! enterprises (the "any district, any verdict" rules), the lines of approved years in the same
//! groups, and the policy period. Parameters come from a [`ParameterSet`], the district's own
//! version beating the general one.
//!
//! [`reconcile`]: crate::reconciliation::reconcile
//! [`ReconciliationInput`]: crate::reconciliation::ReconciliationInput

/// The second pass: `OVER_DISTRICT_RATIO` (§7), the ratio groups, their limits and the cut.
mod ratio_cap;
/// The first pass: the whole-line rules of the rule table (docs/rules.md), one method each, in table order.
mod whole_line;

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::money::{Money, MoneyError};
use super::params::ParameterSet;
use super::{Clause, PolicyError};
use crate::code_enum;

use ratio_cap::cap_groups;
use whole_line::Rules;

code_enum! {
    /// The kind of a §7 payment.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub enum PaymentKind: "payment kind" {
        /// 租房补助: a share of the rent actually paid in the recognition year.
        Rent = "RENT",
        /// 购房补助: a share of the transaction price of the first purchase of HQ office premises.
        Purchase = "PURCHASE",
    }
}

code_enum! {
    /// Why (part of) a line is cut, in the reason table's order (docs/rules.md): the derived `Ord` is that order, so
    /// the first reason of a line (its primary reason) is the smallest.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub enum ReasonCode: "reason code" {
        /// §final: paid before `policy.valid_from` or after `policy.valid_to`.
        OutsidePolicyPeriod = "OUTSIDE_POLICY_PERIOD",
        /// §4: the enterprise holds no recognition for the subsidy year.
        NotRecognized = "NOT_RECOGNIZED",
        /// §7: rated below 3 stars for the subsidy year, or not rated.
        StarsBelow3 = "STARS_BELOW_3",
        /// §7: the enterprise owned office premises in Hangzhou (RENT: on any day of the subsidy
        /// year; PURCHASE: on the day before the transaction date).
        OwnsOffice = "OWNS_OFFICE",
        /// §7: a RENT line of an enterprise with a reported PURCHASE line for the same or an
        /// earlier subsidy year (租房、购房补助政策不能同时享受).
        RentAndPurchase = "RENT_AND_PURCHASE",
        /// §7: a PURCHASE line whose contract is not the enterprise's first purchase (首次购置).
        PurchaseNotFirst = "PURCHASE_NOT_FIRST",
        /// §20: on the payment date the enterprise was not registered in the reporting district.
        WrongDistrict = "WRONG_DISTRICT",
        /// §22: the title was revoked on or before the payment date, after the recognition for the
        /// subsidy year was decided.
        TitleRevoked = "TITLE_REVOKED",
        /// §20: the same payment was reported earlier by a line not itself cut for `WRONG_DISTRICT`.
        DuplicatePayment = "DUPLICATE_PAYMENT",
        /// §7: what survives the whole-line rules is above the district's ratio or cap.
        OverDistrictRatio = "OVER_DISTRICT_RATIO",
    }
}

impl ReasonCode {
    /// When the reason cuts a line, in the words of the reason table (`hq-api rules` prints it).
    #[must_use]
    pub const fn condition(self) -> &'static str {
        match self {
            ReasonCode::OutsidePolicyPeriod => {
                "paid before the policy's first day or after its last"
            }
            ReasonCode::NotRecognized => "the enterprise holds no recognition for the subsidy year",
            ReasonCode::StarsBelow3 => {
                "its rating for the subsidy year is below 3 stars, or absent"
            }
            ReasonCode::OwnsOffice => {
                "RENT: it owned office premises in Hangzhou on any day of the subsidy year; PURCHASE: on the day before the transaction date"
            }
            ReasonCode::RentAndPurchase => {
                "a RENT line, and the enterprise has a reported PURCHASE line (any district, any verdict) whose subsidy year is at most this line's"
            }
            ReasonCode::PurchaseNotFirst => {
                "a PURCHASE line whose contract is not the enterprise's first purchase (earliest transaction date, ties by contract number; any district)"
            }
            ReasonCode::WrongDistrict => {
                "on the payment date the enterprise was not registered in the reporting district (or was outside Hangzhou)"
            }
            ReasonCode::TitleRevoked => {
                "its title was revoked on a date at or before the payment date, after the recognition for the subsidy year was decided"
            }
            ReasonCode::DuplicatePayment => {
                "the same enterprise, kind, contract, subsidy year, amount and payment date was reported earlier by a line not itself cut for WRONG_DISTRICT"
            }
            ReasonCode::OverDistrictRatio => {
                "what survives the whole-line rules is above min(floor(ratio × basis), cap) of its group"
            }
        }
    }

    /// The policy parameters the reason reads.
    #[must_use]
    pub const fn parameters(self) -> &'static [&'static str] {
        match self {
            ReasonCode::OutsidePolicyPeriod => &["policy.valid_from", "policy.valid_to"],
            ReasonCode::OverDistrictRatio => &[
                "rent_subsidy.ratio",
                "rent_subsidy.cap_per_year",
                "purchase_subsidy.ratio",
                "purchase_subsidy.cap",
            ],
            ReasonCode::NotRecognized
            | ReasonCode::StarsBelow3
            | ReasonCode::OwnsOffice
            | ReasonCode::RentAndPurchase
            | ReasonCode::PurchaseNotFirst
            | ReasonCode::WrongDistrict
            | ReasonCode::TitleRevoked
            | ReasonCode::DuplicatePayment => &[],
        }
    }

    /// The clause the reason comes from.
    #[must_use]
    pub const fn clause(self) -> Clause {
        match self {
            ReasonCode::OutsidePolicyPeriod => Clause::Final,
            ReasonCode::NotRecognized => Clause::S4,
            ReasonCode::StarsBelow3
            | ReasonCode::OwnsOffice
            | ReasonCode::RentAndPurchase
            | ReasonCode::PurchaseNotFirst
            | ReasonCode::OverDistrictRatio => Clause::S7,
            ReasonCode::WrongDistrict | ReasonCode::DuplicatePayment => Clause::S20,
            ReasonCode::TitleRevoked => Clause::S22,
        }
    }

    /// Whether the reason cuts a line whole (every reason but `OVER_DISTRICT_RATIO`).
    #[must_use]
    pub const fn is_whole_line(self) -> bool {
        !matches!(self, ReasonCode::OverDistrictRatio)
    }
}

/// §7 (租房、购房补助政策不能同时享受): whether a PURCHASE subsidised for `purchase_year` shuts out a
/// RENT subsidy for `rent_year` — the `RENT_AND_PURCHASE` rule: the purchase's subsidy year is the
/// same as or earlier than the rent's. The one statement of "never both", read by the
/// reconciliation and by the benefits of a year.
#[must_use]
pub const fn purchase_excludes_rent(purchase_year: i32, rent_year: i32) -> bool {
    purchase_year <= rent_year
}

/// §7 (首次购置): the enterprise's first purchase among `purchases` (its reported PURCHASE lines, any
/// district): the earliest transaction date, ties by contract number, as `PURCHASE_NOT_FIRST`
/// decides it. `None` without a PURCHASE line that has a transaction date.
pub fn first_purchase<'a>(
    purchases: impl IntoIterator<Item = &'a PaymentLine>,
) -> Option<(NaiveDate, &'a str)> {
    purchases
        .into_iter()
        .filter(|line| line.kind == PaymentKind::Purchase)
        .filter_map(|line| {
            line.transaction_date
                .map(|day| (day, line.contract_no.as_str()))
        })
        .min()
}

/// One reported §7 payment (§20 step 1), as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentLine {
    /// The line's id.
    pub id: i64,
    /// Report order: a sequence the service assigns, across all districts.
    pub seq: i64,
    /// The reporting (and paying) district, GB/T 2260 code.
    pub district: String,
    /// The enterprise paid.
    pub enterprise_id: i64,
    /// RENT or PURCHASE.
    pub kind: PaymentKind,
    /// The recognition year whose rent or purchase the payment subsidises.
    pub subsidy_year: i32,
    /// The lease or purchase contract number.
    pub contract_no: String,
    /// RENT: the rent actually paid that this payment subsidises; PURCHASE: the transaction price.
    pub basis: Money,
    /// PURCHASE: the transaction date (required); RENT: ignored.
    pub transaction_date: Option<NaiveDate>,
    /// The amount paid.
    pub amount: Money,
    /// The payment date; it decides the fiscal year.
    pub payment_date: NaiveDate,
    /// The voucher number, unique within the district.
    pub voucher_no: String,
}

/// Days from `from` to `to`, both inclusive; `to = None` while open-ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DateRange {
    /// The first day (inclusive).
    pub from: NaiveDate,
    /// The last day (inclusive); `None` while open-ended.
    pub to: Option<NaiveDate>,
}

impl DateRange {
    /// Whether `day` lies in the range.
    #[must_use]
    pub fn contains(&self, day: NaiveDate) -> bool {
        self.from <= day && self.to.is_none_or(|to| day <= to)
    }

    /// Whether the range shares a day with `first..=last`.
    #[must_use]
    pub fn overlaps(&self, first: NaiveDate, last: NaiveDate) -> bool {
        self.from <= last && self.to.is_none_or(|to| first <= to)
    }
}

/// Where the enterprise was registered during a period (one row of its dated facts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    /// The days of the period.
    pub during: DateRange,
    /// The Hangzhou district (GB/T 2260 code); `None` outside Hangzhou.
    pub district: Option<String>,
}

/// The dated facts of one enterprise that the whole-line rules read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnterpriseContext {
    /// The enterprise.
    pub enterprise_id: i64,
    /// Its recognitions: year → decision date. A year without an entry has no recognition.
    pub recognitions: BTreeMap<i32, NaiveDate>,
    /// Its star ratings: year → stars. A year without an entry is not rated.
    pub stars: BTreeMap<i32, u8>,
    /// The periods during which it owned office premises in Hangzhou (any office premises, not
    /// only the HQ's). INTERPRETATION(§7): office changes are needed by §7, so they are dated
    /// events like the other facts.
    pub offices: Vec<DateRange>,
    /// Its registered district over time (a day no period covers: not registered anywhere known).
    pub registrations: Vec<Registration>,
    /// The dates its title was revoked (§22).
    pub revocations: Vec<NaiveDate>,
}

impl EnterpriseContext {
    /// The decision date of the recognition for `year`, if it holds one.
    #[must_use]
    pub fn recognition_decided_on(&self, year: i32) -> Option<NaiveDate> {
        self.recognitions.get(&year).copied()
    }

    /// Its rating for `year`, if rated.
    #[must_use]
    pub fn stars_for(&self, year: i32) -> Option<u8> {
        self.stars.get(&year).copied()
    }

    /// The first day of `first..=last` on which it owned office premises in Hangzhou.
    #[must_use]
    pub fn first_office_day_in(&self, first: NaiveDate, last: NaiveDate) -> Option<NaiveDate> {
        self.offices
            .iter()
            .filter(|owned| owned.overlaps(first, last))
            .map(|owned| owned.from.max(first))
            .min()
    }

    /// Whether it owned office premises in Hangzhou on `day`.
    #[must_use]
    pub fn owned_office_on(&self, day: NaiveDate) -> bool {
        self.offices.iter().any(|owned| owned.contains(day))
    }

    /// The district it was registered in on `day`: `None` outside Hangzhou or when no period covers
    /// the day. Should two periods overlap, the one that began later counts.
    #[must_use]
    pub fn district_on(&self, day: NaiveDate) -> Option<&str> {
        self.registrations
            .iter()
            .filter(|registration| registration.during.contains(day))
            .max_by_key(|registration| registration.during.from)
            .and_then(|registration| registration.district.as_deref())
    }
}

/// The policy's period of validity (§final: 本意见自2023年2月20日起施行，有效期至2028年2月20日).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyPeriod {
    /// `policy.valid_from` (inclusive).
    pub valid_from: NaiveDate,
    /// `policy.valid_to` (inclusive).
    pub valid_to: NaiveDate,
    /// The ids of the parameter versions read (empty when built by hand).
    pub parameter_versions: Vec<i64>,
}

impl PolicyPeriod {
    /// Reads the general versions of `policy.valid_from` / `policy.valid_to` in force on `on`
    /// (e.g. 31 December of the claim's fiscal year).
    ///
    /// # Errors
    ///
    /// [`PolicyError::MissingParameter`] or [`PolicyError::WrongParameterType`].
    pub fn from_set(set: &ParameterSet, on: NaiveDate) -> Result<PolicyPeriod, PolicyError> {
        let mut read = set.reader(on, None);
        Ok(PolicyPeriod {
            valid_from: read.date("policy.valid_from")?,
            valid_to: read.date("policy.valid_to")?,
            parameter_versions: read.used_version_ids(),
        })
    }
}

/// A line of an approved year: it keeps its approved eligible amount and is not re-decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovedLine {
    /// The line.
    pub line: PaymentLine,
    /// Its approved eligible amount.
    pub eligible: Money,
    /// Its approved primary reason: a whole-line reason means it did not survive (its basis does
    /// not count towards its group's limit).
    pub primary_reason: Option<ReasonCode>,
}

impl ApprovedLine {
    /// Whether it survived the whole-line rules (no reason, or only `OVER_DISTRICT_RATIO`).
    #[must_use]
    pub fn survived(&self) -> bool {
        self.primary_reason
            .is_none_or(|reason| !reason.is_whole_line())
    }
}

/// Everything the reconciliation of a claim reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconciliationInput {
    /// The lines to decide: the claim's lines.
    pub lines: Vec<PaymentLine>,
    /// Every other reported line of the same enterprises, in any district and year, whatever its
    /// verdict: `RENT_AND_PURCHASE`, `PURCHASE_NOT_FIRST` and `DUPLICATE_PAYMENT` look at them.
    /// The claim's own lines and the approved lines count too; listing them again is harmless.
    pub reported: Vec<PaymentLine>,
    /// The lines of approved years in the same ratio groups as `lines`.
    pub approved: Vec<ApprovedLine>,
    /// The facts of every enterprise of `lines`.
    pub enterprises: Vec<EnterpriseContext>,
    /// The policy period.
    pub period: PolicyPeriod,
}

/// One reason a line was cut.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CutReason {
    /// The reason.
    pub code: ReasonCode,
    /// Its clause.
    pub clause: Clause,
    /// Human text with the dates and figures, e.g. `rated 2★ for 2024, below 3★`.
    pub detail: String,
}

/// The verdict on one line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineVerdict {
    /// The line.
    pub line_id: i64,
    /// What counts towards the district's actual spending: `0 ≤ eligible ≤ paid`.
    pub eligible: Money,
    /// `paid − eligible`.
    pub cut: Money,
    /// Every reason, in table order (empty when nothing is cut).
    pub reasons: Vec<CutReason>,
    /// The first reason in table order.
    pub primary_reason: Option<ReasonCode>,
    /// The `OVER_DISTRICT_RATIO` group of a line that survived the whole-line rules:
    /// `RENT:<district>:<enterprise id>:<subsidy year>` or
    /// `PURCHASE:<district>:<enterprise id>:<contract no>`.
    pub ratio_group: Option<String>,
    /// The group's limit, `min(floor_to_fen(ratio × basis), cap)`.
    pub group_limit: Option<Money>,
    /// The ids of the parameter versions used (policy period, ratio and cap), ascending.
    pub parameter_versions: Vec<i64>,
}

/// Why a reconciliation could not be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReconciliationError {
    /// Input the report step should have refused or the service should have supplied, e.g. a
    /// PURCHASE line without transaction date or an enterprise without facts
    /// (`INTERNAL_SERVER_ERROR`: stored data broke an invariant).
    #[error("line {line_id}: {field}: {reason}")]
    InvalidLine {
        /// The line.
        line_id: i64,
        /// The field at fault.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A parameter is missing or invalid, or an amount left the range of `Money`.
    #[error(transparent)]
    Policy(#[from] PolicyError),
}

impl From<MoneyError> for ReconciliationError {
    fn from(error: MoneyError) -> Self {
        ReconciliationError::Policy(PolicyError::Money(error))
    }
}

fn invalid(
    line: &PaymentLine,
    field: &'static str,
    reason: impl Into<String>,
) -> ReconciliationError {
    ReconciliationError::InvalidLine {
        line_id: line.id,
        field,
        reason: reason.into(),
    }
}

/// Reconciles the lines of a claim: one verdict per line, in report order.
///
/// Each line goes through every whole-line rule of the rule table (docs/rules.md), in table order; failing any
/// cuts it whole and lists every failure. What survives is capped per group (see
/// [`LineVerdict::ratio_group`]) at `min(floor_to_fen(ratio × Σ basis of the surviving lines),
/// cap)` — for PURCHASE the price once, not summed — with the district's `rent_subsidy.ratio` and
/// `rent_subsidy.cap_per_year` in force on 1 January of the subsidy year, or its
/// `purchase_subsidy.ratio` and `purchase_subsidy.cap` in force on the transaction date. Approved
/// lines of the group keep their eligible amount and count towards the limit; the other lines are
/// cut, latest first (payment date, then voucher number as text), until the group's eligible sum
/// is within the limit, in exact fen (the limit is floored, never the cut).
///
/// # Errors
///
/// [`ReconciliationError::InvalidLine`] for input that breaks the report step's invariants (an
/// amount ≤ 0, a negative basis, a PURCHASE line without transaction date, PURCHASE lines of one
/// group with different prices or transaction dates, an enterprise without facts, a line listed
/// twice or both decided and approved); [`ReconciliationError::Policy`] when a ratio or cap
/// parameter has no valid version in force, or an amount leaves the range of `Money`.
pub fn reconcile(
    input: &ReconciliationInput,
    params: &ParameterSet,
) -> Result<Vec<LineVerdict>, ReconciliationError> {
    let enterprises: BTreeMap<i64, &EnterpriseContext> = input
        .enterprises
        .iter()
        .map(|context| (context.enterprise_id, context))
        .collect();
    validate(input, &enterprises)?;

    // Every reported line, once: the claim's, the approved ones and the others.
    let mut reported: BTreeMap<i64, &PaymentLine> = BTreeMap::new();
    for line in input
        .reported
        .iter()
        .chain(input.approved.iter().map(|approved| &approved.line))
        .chain(&input.lines)
    {
        reported.insert(line.id, line);
    }
    // Every rule that reads other lines reads those of the line's own enterprise only, so each
    // line is given its enterprise's lines (in id order): a claim's rules cost its lines times
    // the lines of one enterprise, not times every line of the claim.
    let mut by_enterprise: BTreeMap<i64, Vec<&PaymentLine>> = BTreeMap::new();
    for line in reported.into_values() {
        by_enterprise
            .entry(line.enterprise_id)
            .or_default()
            .push(line);
    }

    let mut lines: Vec<&PaymentLine> = input.lines.iter().collect();
    lines.sort_by_key(|line| (line.seq, line.id));

    let mut decided = Vec::with_capacity(lines.len());
    for line in lines {
        let context = enterprises
            .get(&line.enterprise_id)
            .copied()
            .ok_or_else(|| invalid(line, "enterprise_id", "no facts for the enterprise"))?;
        let rules = Rules {
            line,
            context,
            period: &input.period,
            reported: by_enterprise
                .get(&line.enterprise_id)
                .map_or(&[], Vec::as_slice),
        };
        decided.push(Decided {
            line,
            reasons: rules.whole_line_reasons(),
            cut: Money::ZERO,
            group: None,
        });
    }

    cap_groups(&mut decided, &input.approved, params)?;

    decided
        .into_iter()
        .map(|decision| decision.into_verdict(&input.period))
        .collect()
}

/// Refuses input that breaks what the report step guarantees.
fn validate(
    input: &ReconciliationInput,
    enterprises: &BTreeMap<i64, &EnterpriseContext>,
) -> Result<(), ReconciliationError> {
    let approved_ids: BTreeSet<i64> = input.approved.iter().map(|a| a.line.id).collect();
    let mut seen = BTreeSet::new();
    for line in &input.lines {
        if !seen.insert(line.id) {
            return Err(invalid(line, "id", "listed twice"));
        }
        if approved_ids.contains(&line.id) {
            return Err(invalid(
                line,
                "id",
                "already approved: it is not re-decided",
            ));
        }
        if !enterprises.contains_key(&line.enterprise_id) {
            return Err(invalid(
                line,
                "enterprise_id",
                "no facts for the enterprise",
            ));
        }
    }
    for line in input
        .lines
        .iter()
        .chain(input.approved.iter().map(|approved| &approved.line))
    {
        if line.amount <= Money::ZERO {
            return Err(invalid(
                line,
                "amount",
                format!("{} is not positive", line.amount),
            ));
        }
        if line.basis.is_negative() {
            return Err(invalid(
                line,
                "basis",
                format!("{} is negative", line.basis),
            ));
        }
        if line.kind == PaymentKind::Purchase && line.transaction_date.is_none() {
            return Err(invalid(
                line,
                "transaction_date",
                "a PURCHASE line needs one",
            ));
        }
    }
    for approved in &input.approved {
        if approved.eligible.is_negative() || approved.eligible > approved.line.amount {
            return Err(invalid(
                &approved.line,
                "eligible",
                format!(
                    "approved eligible {} is not between 0 and the amount paid {}",
                    approved.eligible, approved.line.amount
                ),
            ));
        }
    }
    Ok(())
}

fn reason(code: ReasonCode, detail: String) -> CutReason {
    CutReason {
        code,
        clause: code.clause(),
        detail,
    }
}

/// A line being decided.
struct Decided<'a> {
    line: &'a PaymentLine,
    /// Whole-line reasons, then `OVER_DISTRICT_RATIO` if the cap cut it.
    reasons: Vec<CutReason>,
    /// The ratio cut (whole-line cuts are applied when the verdict is built).
    cut: Money,
    /// The group it was capped in.
    group: Option<GroupOutcome>,
}

impl Decided<'_> {
    fn survived(&self) -> bool {
        self.reasons.is_empty()
    }

    fn into_verdict(self, period: &PolicyPeriod) -> Result<LineVerdict, ReconciliationError> {
        let paid = self.line.amount;
        let whole_line = self.reasons.iter().any(|r| r.code.is_whole_line());
        let cut = if whole_line { paid } else { self.cut };
        let eligible = paid
            .checked_sub(cut)
            .ok_or(MoneyError::Overflow("paid − cut"))?;
        debug_assert!(
            Money::ZERO <= eligible && eligible <= paid,
            "0 ≤ eligible ≤ paid"
        );
        let mut versions: BTreeSet<i64> = period.parameter_versions.iter().copied().collect();
        if let Some(group) = &self.group {
            versions.extend(group.parameter_versions.iter().copied());
        }
        Ok(LineVerdict {
            line_id: self.line.id,
            eligible,
            cut,
            primary_reason: self.reasons.first().map(|r| r.code),
            reasons: self.reasons,
            ratio_group: self.group.as_ref().map(|g| g.key.clone()),
            group_limit: self.group.as_ref().map(|g| g.limit),
            parameter_versions: versions.into_iter().collect(),
        })
    }
}

/// What a group's cap came to, shared by its lines' verdicts.
#[derive(Debug, Clone)]
struct GroupOutcome {
    key: String,
    limit: Money,
    parameter_versions: Vec<i64>,
}

#[cfg(test)]
mod tests;
