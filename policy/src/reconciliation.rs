//! §20 step 3: the verdict on every payment line of a district's claim.
//!
//! 区、县（市）财政 pays the §7 office subsidies and reports each payment; 市财政局 reconciles the
//! claim before it counts towards the city's subsidy (市级财政在次年予以各区、县（市）实际支出不超过20%
//! 的补助). [`reconcile`] gives each line an eligible amount, `0 ≤ eligible ≤ paid`, and the reasons
//! for what it cut, each with its clause:
//!
//! 1. the whole-line rules of POLICY.md's table, in table order: a line failing several lists them
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

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::money::{Money, MoneyError};
use super::params::ParameterSet;
use super::{Clause, PolicyError};

/// The kind of a §7 payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentKind {
    /// 租房补助: a share of the rent actually paid in the recognition year.
    Rent,
    /// 购房补助: a share of the transaction price of the first purchase of HQ office premises.
    Purchase,
}

impl PaymentKind {
    /// Both kinds.
    pub const ALL: [PaymentKind; 2] = [PaymentKind::Rent, PaymentKind::Purchase];

    /// The stable code, `"RENT"` or `"PURCHASE"`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            PaymentKind::Rent => "RENT",
            PaymentKind::Purchase => "PURCHASE",
        }
    }
}

impl fmt::Display for PaymentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PaymentKind {
    type Err = UnknownCode;

    /// Parses a code as written by [`PaymentKind::as_str`].
    ///
    /// # Errors
    ///
    /// [`UnknownCode`] for any other text.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PaymentKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| UnknownCode {
                what: "payment kind",
                code: s.to_owned(),
            })
    }
}

/// A text that is not one of the codes of this module (a payment kind or a reason code).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{code}`")]
pub struct UnknownCode {
    /// What was being parsed, e.g. `reason code`.
    pub what: &'static str,
    /// The text.
    pub code: String,
}

/// Why (part of) a line is cut, in POLICY.md's table order: the derived `Ord` is that order, so
/// the first reason of a line (its primary reason) is the smallest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReasonCode {
    /// §final: paid before `policy.valid_from` or after `policy.valid_to`.
    OutsidePolicyPeriod,
    /// §4: the enterprise holds no recognition for the subsidy year.
    NotRecognized,
    /// §7: rated below 3 stars for the subsidy year, or not rated.
    #[serde(rename = "STARS_BELOW_3")]
    StarsBelow3,
    /// §7: the enterprise owned office premises in Hangzhou (RENT: on any day of the subsidy year;
    /// PURCHASE: on the day before the transaction date).
    OwnsOffice,
    /// §7: a RENT line of an enterprise with a reported PURCHASE line for the same or an earlier
    /// subsidy year (租房、购房补助政策不能同时享受).
    RentAndPurchase,
    /// §7: a PURCHASE line whose contract is not the enterprise's first purchase (首次购置).
    PurchaseNotFirst,
    /// §20: on the payment date the enterprise was not registered in the reporting district.
    WrongDistrict,
    /// §22: the title was revoked on or before the payment date, after the recognition for the
    /// subsidy year was decided.
    TitleRevoked,
    /// §20: the same payment was reported earlier by a line not itself cut for `WRONG_DISTRICT`.
    DuplicatePayment,
    /// §7: what survives the whole-line rules is above the district's ratio or cap.
    OverDistrictRatio,
}

impl ReasonCode {
    /// Every reason, in table order.
    pub const ALL: [ReasonCode; 10] = [
        ReasonCode::OutsidePolicyPeriod,
        ReasonCode::NotRecognized,
        ReasonCode::StarsBelow3,
        ReasonCode::OwnsOffice,
        ReasonCode::RentAndPurchase,
        ReasonCode::PurchaseNotFirst,
        ReasonCode::WrongDistrict,
        ReasonCode::TitleRevoked,
        ReasonCode::DuplicatePayment,
        ReasonCode::OverDistrictRatio,
    ];

    /// The stable code, e.g. `"STARS_BELOW_3"`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            ReasonCode::OutsidePolicyPeriod => "OUTSIDE_POLICY_PERIOD",
            ReasonCode::NotRecognized => "NOT_RECOGNIZED",
            ReasonCode::StarsBelow3 => "STARS_BELOW_3",
            ReasonCode::OwnsOffice => "OWNS_OFFICE",
            ReasonCode::RentAndPurchase => "RENT_AND_PURCHASE",
            ReasonCode::PurchaseNotFirst => "PURCHASE_NOT_FIRST",
            ReasonCode::WrongDistrict => "WRONG_DISTRICT",
            ReasonCode::TitleRevoked => "TITLE_REVOKED",
            ReasonCode::DuplicatePayment => "DUPLICATE_PAYMENT",
            ReasonCode::OverDistrictRatio => "OVER_DISTRICT_RATIO",
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

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ReasonCode {
    type Err = UnknownCode;

    /// Parses a code as written by [`ReasonCode::as_str`] (e.g. a stored `primary_reason`).
    ///
    /// # Errors
    ///
    /// [`UnknownCode`] for any other text.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ReasonCode::ALL
            .into_iter()
            .find(|code| code.as_str() == s)
            .ok_or_else(|| UnknownCode {
                what: "reason code",
                code: s.to_owned(),
            })
    }
}

/// One reported §7 payment (POLICY.md §20 step 1), as stored.
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
    /// only the HQ's). **\[interpretation\]** office changes are needed by §7, so they are dated
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
/// Each line goes through every whole-line rule of POLICY.md's table, in table order; failing any
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
    let reported: Vec<&PaymentLine> = reported.into_values().collect();

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
            reported: &reported,
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

/// What the whole-line rules of one line read.
struct Rules<'a> {
    line: &'a PaymentLine,
    context: &'a EnterpriseContext,
    period: &'a PolicyPeriod,
    /// Every reported line of every enterprise of the claim, once each.
    reported: &'a [&'a PaymentLine],
}

impl Rules<'_> {
    /// Every whole-line rule, in table order; the failures with their details.
    fn whole_line_reasons(&self) -> Vec<CutReason> {
        let checks = [
            (
                ReasonCode::OutsidePolicyPeriod,
                self.outside_policy_period(),
            ),
            (ReasonCode::NotRecognized, self.not_recognized()),
            (ReasonCode::StarsBelow3, self.stars_below_3()),
            (ReasonCode::OwnsOffice, self.owns_office()),
            (ReasonCode::RentAndPurchase, self.rent_and_purchase()),
            (ReasonCode::PurchaseNotFirst, self.purchase_not_first()),
            (
                ReasonCode::WrongDistrict,
                wrong_district(self.line, self.context),
            ),
            (ReasonCode::TitleRevoked, self.title_revoked()),
            (ReasonCode::DuplicatePayment, self.duplicate_payment()),
        ];
        debug_assert!(
            checks
                .iter()
                .map(|(code, _)| *code)
                .eq(ReasonCode::ALL.into_iter().filter(|c| c.is_whole_line())),
            "whole-line rules are evaluated in table order"
        );
        checks
            .into_iter()
            .filter_map(|(code, failure)| failure.map(|detail| reason(code, detail)))
            .collect()
    }

    /// §final: paid before `policy.valid_from` or after `policy.valid_to` (both days inside).
    fn outside_policy_period(&self) -> Option<String> {
        let paid = self.line.payment_date;
        let period = self.period;
        if paid < period.valid_from {
            Some(format!(
                "paid on {paid}, before the policy took effect on {}",
                period.valid_from
            ))
        } else if paid > period.valid_to {
            Some(format!(
                "paid on {paid}, after the policy's validity ended on {}",
                period.valid_to
            ))
        } else {
            None
        }
    }

    /// §4: no recognition for the subsidy year.
    fn not_recognized(&self) -> Option<String> {
        let year = self.line.subsidy_year;
        self.context
            .recognition_decided_on(year)
            .is_none()
            .then(|| format!("no recognition as an HQ enterprise for {year}"))
    }

    /// §7 (三星级及以上): rated below 3 stars for the subsidy year, or not rated.
    fn stars_below_3(&self) -> Option<String> {
        let year = self.line.subsidy_year;
        match self.context.stars_for(year) {
            None => Some(format!("no star rating for {year}")),
            Some(stars) if stars < 3 => Some(format!("rated {stars}★ for {year}, below 3★")),
            Some(_) => None,
        }
    }

    /// §7 (在杭无自有办公用房): RENT — office premises owned on any day of the subsidy year;
    /// PURCHASE — office premises owned on the day before the transaction date (owning from the
    /// transaction date on is the purchase itself).
    fn owns_office(&self) -> Option<String> {
        match self.line.kind {
            PaymentKind::Rent => {
                let year = self.line.subsidy_year;
                let first = NaiveDate::from_ymd_opt(year, 1, 1)?;
                let last = NaiveDate::from_ymd_opt(year, 12, 31)?;
                self.context.first_office_day_in(first, last).map(|day| {
                    format!(
                        "owned office premises in Hangzhou during the subsidy year {year} \
                         (from {day})"
                    )
                })
            }
            PaymentKind::Purchase => {
                let transaction = self.line.transaction_date?;
                let day_before = transaction.pred_opt()?;
                self.context.owned_office_on(day_before).then(|| {
                    format!(
                        "owned office premises in Hangzhou on {day_before}, the day before the \
                         transaction date {transaction}"
                    )
                })
            }
        }
    }

    /// The enterprise's reported PURCHASE lines, any district, any verdict.
    fn purchases(&self) -> impl Iterator<Item = &PaymentLine> {
        let enterprise = self.line.enterprise_id;
        self.reported.iter().copied().filter(move |other| {
            other.enterprise_id == enterprise && other.kind == PaymentKind::Purchase
        })
    }

    /// Names another line in a verdict's detail. The detail is shown to the deciding line's
    /// district, so a line of another district is named without its voucher, contract or id
    /// (POLICY.md "Who sees what"); staff find it through the enterprise's lines.
    fn describe(&self, other: &PaymentLine) -> String {
        if other.district == self.line.district {
            format!(
                "line {}, contract {}, voucher {}",
                other.id, other.contract_no, other.voucher_no
            )
        } else {
            "a line reported by another district".to_owned()
        }
    }

    /// §7 (租房、购房补助政策不能同时享受): a RENT line, and a reported PURCHASE line (any district,
    /// any verdict) whose subsidy year is the same or earlier.
    fn rent_and_purchase(&self) -> Option<String> {
        if self.line.kind != PaymentKind::Rent {
            return None;
        }
        let year = self.line.subsidy_year;
        self.purchases()
            .filter(|purchase| purchase.subsidy_year <= year)
            .min_by_key(|purchase| (purchase.subsidy_year, purchase.seq, purchase.id))
            .map(|purchase| {
                format!(
                    "a PURCHASE line for {} ({}) was reported; rent and purchase subsidies are not \
                     both granted",
                    purchase.subsidy_year,
                    self.describe(purchase)
                )
            })
    }

    /// §7 (首次购置): a PURCHASE line whose contract is not the enterprise's first purchase — the
    /// reported PURCHASE contract (any district) with the earliest transaction date, ties by
    /// contract number.
    fn purchase_not_first(&self) -> Option<String> {
        if self.line.kind != PaymentKind::Purchase {
            return None;
        }
        let first = self
            .purchases()
            .filter_map(|purchase| {
                purchase
                    .transaction_date
                    .map(|day| (day, purchase.contract_no.as_str()))
            })
            .min()?;
        let (first_date, first_contract) = first;
        if first_contract == self.line.contract_no {
            return None;
        }
        let transaction = self
            .line
            .transaction_date
            .map_or_else(|| "unknown".to_owned(), |day| day.to_string());
        let first_line = self
            .purchases()
            .filter(|purchase| {
                purchase.contract_no == first_contract
                    && purchase.transaction_date == Some(first_date)
            })
            .min_by_key(|purchase| (purchase.seq, purchase.id));
        let first = match first_line {
            Some(purchase) if purchase.district != self.line.district => {
                "an earlier purchase reported by another district".to_owned()
            }
            _ => format!("contract {first_contract} (transaction date {first_date})"),
        };
        Some(format!(
            "contract {} (transaction date {transaction}) is not the first purchase: {first} is",
            self.line.contract_no
        ))
    }

    /// §22: revoked on R ≤ the payment date, the recognition for the subsidy year decided before
    /// R. (A revocation before the recognition is the ban's business: §22 refused it then.)
    fn title_revoked(&self) -> Option<String> {
        let year = self.line.subsidy_year;
        let decided_on = self.context.recognition_decided_on(year)?;
        let paid = self.line.payment_date;
        self.context
            .revocations
            .iter()
            .copied()
            .filter(|&revoked_on| decided_on < revoked_on && revoked_on <= paid)
            .min()
            .map(|revoked_on| {
                format!(
                    "title revoked on {revoked_on}, on or before the payment date {paid}, after \
                     the recognition for {year} decided on {decided_on}"
                )
            })
    }

    /// §20: the same enterprise, kind, contract, subsidy year, amount and payment date were
    /// reported earlier (report order) by a line not itself cut for `WRONG_DISTRICT`; that earlier
    /// line stays.
    fn duplicate_payment(&self) -> Option<String> {
        let line = self.line;
        self.reported
            .iter()
            .copied()
            .filter(|other| {
                other.id != line.id
                    && other.seq < line.seq
                    && other.enterprise_id == line.enterprise_id
                    && other.kind == line.kind
                    && other.contract_no == line.contract_no
                    && other.subsidy_year == line.subsidy_year
                    && other.amount == line.amount
                    && other.payment_date == line.payment_date
            })
            .filter(|other| wrong_district(other, self.context).is_none())
            .min_by_key(|other| (other.seq, other.id))
            .map(|other| {
                format!(
                    "the same payment was reported earlier ({})",
                    self.describe(other)
                )
            })
    }
}

/// §20 (各区、县（市）承担): on the payment date the enterprise was not registered in the reporting
/// district, or was outside Hangzhou. Also decides whether an earlier line is a duplicate's
/// original.
fn wrong_district(line: &PaymentLine, context: &EnterpriseContext) -> Option<String> {
    let paid = line.payment_date;
    match context.district_on(paid) {
        Some(district) if district == line.district => None,
        Some(district) => Some(format!(
            "on the payment date {paid} registered in {district}, not in {}",
            line.district
        )),
        None => Some(format!(
            "on the payment date {paid} not registered in Hangzhou, so not in {}",
            line.district
        )),
    }
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

/// The ratio group of a line (§7: each district sets its own ratios and caps).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum GroupKey {
    /// The lines of one district, enterprise and subsidy year.
    Rent {
        district: String,
        enterprise_id: i64,
        subsidy_year: i32,
    },
    /// The lines of one district and contract, over all years. **[interpretation]** a contract
    /// number belongs to one enterprise's purchase: two enterprises whose contracts happen to
    /// share a number are two groups (as the report step and `PURCHASE_NOT_FIRST` read them).
    Purchase {
        district: String,
        enterprise_id: i64,
        contract_no: String,
    },
}

impl GroupKey {
    fn of(line: &PaymentLine) -> GroupKey {
        match line.kind {
            PaymentKind::Rent => GroupKey::Rent {
                district: line.district.clone(),
                enterprise_id: line.enterprise_id,
                subsidy_year: line.subsidy_year,
            },
            PaymentKind::Purchase => GroupKey::Purchase {
                district: line.district.clone(),
                enterprise_id: line.enterprise_id,
                contract_no: line.contract_no.clone(),
            },
        }
    }

    fn district(&self) -> &str {
        match self {
            GroupKey::Rent { district, .. } | GroupKey::Purchase { district, .. } => district,
        }
    }
}

impl fmt::Display for GroupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GroupKey::Rent {
                district,
                enterprise_id,
                subsidy_year,
            } => write!(f, "RENT:{district}:{enterprise_id}:{subsidy_year}"),
            GroupKey::Purchase {
                district,
                enterprise_id,
                contract_no,
            } => write!(f, "PURCHASE:{district}:{enterprise_id}:{contract_no}"),
        }
    }
}

/// What a group's cap came to, shared by its lines' verdicts.
#[derive(Debug, Clone)]
struct GroupOutcome {
    key: String,
    limit: Money,
    parameter_versions: Vec<i64>,
}

/// The limit of a group and where it came from.
struct Limit {
    limit: Money,
    ratio: Decimal,
    basis: Money,
    cap: Money,
    parameter_versions: Vec<i64>,
}

/// `OVER_DISTRICT_RATIO` (§7): caps the surviving lines group by group.
fn cap_groups(
    decided: &mut [Decided<'_>],
    approved: &[ApprovedLine],
    params: &ParameterSet,
) -> Result<(), ReconciliationError> {
    let mut groups: BTreeMap<GroupKey, Vec<usize>> = BTreeMap::new();
    for (index, decision) in decided.iter().enumerate() {
        if decision.survived() {
            groups
                .entry(GroupKey::of(decision.line))
                .or_default()
                .push(index);
        }
    }

    for (key, members) in groups {
        let Some(&first) = members.first() else {
            continue;
        };
        let first = decided[first].line;
        let in_group: Vec<&ApprovedLine> = approved
            .iter()
            .filter(|a| GroupKey::of(&a.line) == key)
            .collect();
        let surviving: Vec<&PaymentLine> = members
            .iter()
            .map(|&i| decided[i].line)
            .chain(in_group.iter().filter(|a| a.survived()).map(|a| &a.line))
            .collect();
        let limit = group_limit(&key, first, &surviving, params)?;

        // Approved lines keep their eligible amount and count towards the limit.
        let approved_sum = Money::checked_sum(in_group.iter().map(|a| a.eligible))
            .ok_or(MoneyError::Overflow("Σ approved eligible"))?;
        let new_sum = Money::checked_sum(members.iter().map(|&i| decided[i].line.amount))
            .ok_or(MoneyError::Overflow("Σ amount"))?;
        let total = approved_sum
            .checked_add(new_sum)
            .ok_or(MoneyError::Overflow("group total"))?;
        let mut excess = total
            .checked_sub(limit.limit)
            .ok_or(MoneyError::Overflow("group excess"))?
            .max(Money::ZERO);

        // Latest first: payment date, then voucher number as text (then report order, should two
        // lines share a voucher).
        let mut order = members.clone();
        order.sort_by(|&a, &b| {
            let (a, b) = (decided[a].line, decided[b].line);
            (b.payment_date, &b.voucher_no, b.seq).cmp(&(a.payment_date, &a.voucher_no, a.seq))
        });
        let key_text = key.to_string();
        for index in order {
            let decision = &mut decided[index];
            let paid = decision.line.amount;
            let cut = excess.min(paid);
            excess = excess
                .checked_sub(cut)
                .ok_or(MoneyError::Overflow("group excess"))?;
            decision.cut = cut;
            if cut > Money::ZERO {
                decision.reasons.push(reason(
                    ReasonCode::OverDistrictRatio,
                    ratio_detail(&key_text, &limit, total, approved_sum, cut, paid),
                ));
            }
            decision.group = Some(GroupOutcome {
                key: key_text.clone(),
                limit: limit.limit,
                parameter_versions: limit.parameter_versions.clone(),
            });
        }
    }
    Ok(())
}

/// `min(floor_to_fen(ratio × Σ basis), cap)` with the district's parameters: RENT on 1 January of
/// the subsidy year, PURCHASE on the transaction date (the price counted once).
fn group_limit(
    key: &GroupKey,
    first: &PaymentLine,
    surviving: &[&PaymentLine],
    params: &ParameterSet,
) -> Result<Limit, ReconciliationError> {
    let (on, ratio_name, cap_name, basis) = match key {
        GroupKey::Rent { subsidy_year, .. } => {
            let january_first = NaiveDate::from_ymd_opt(*subsidy_year, 1, 1).ok_or_else(|| {
                invalid(
                    first,
                    "subsidy_year",
                    format!("{subsidy_year} has no 1 January"),
                )
            })?;
            let basis = Money::checked_sum(surviving.iter().map(|line| line.basis))
                .ok_or(MoneyError::Overflow("Σ basis"))?;
            (
                january_first,
                "rent_subsidy.ratio",
                "rent_subsidy.cap_per_year",
                basis,
            )
        }
        GroupKey::Purchase { .. } => {
            let transaction = first
                .transaction_date
                .ok_or_else(|| invalid(first, "transaction_date", "a PURCHASE line needs one"))?;
            // The report step refuses a contract whose price or date changes (CONFLICT).
            for line in surviving {
                if line.basis != first.basis || line.transaction_date != first.transaction_date {
                    return Err(invalid(
                        line,
                        "basis",
                        format!(
                            "price {} on {:?} differs from line {} of the same contract ({} on \
                             {transaction})",
                            line.basis, line.transaction_date, first.id, first.basis
                        ),
                    ));
                }
            }
            (
                transaction,
                "purchase_subsidy.ratio",
                "purchase_subsidy.cap",
                first.basis,
            )
        }
    };
    let mut read = params.reader(on, Some(key.district()));
    let ratio = read.ratio(ratio_name)?;
    let cap = read.money(cap_name)?;
    let limit = basis.floor_mul(ratio)?.min(cap);
    Ok(Limit {
        limit,
        ratio,
        basis,
        cap,
        parameter_versions: read.used_version_ids(),
    })
}

fn ratio_detail(
    key: &str,
    limit: &Limit,
    total: Money,
    approved: Money,
    cut: Money,
    paid: Money,
) -> String {
    let approved_note = if approved.is_zero() {
        String::new()
    } else {
        format!(" (approved {})", approved.format_yuan())
    };
    format!(
        "group {key}: limit {} = min(floor_to_fen({} × {}), cap {}); \
         group total {}{approved_note}; cut {} of {}, latest payment first",
        limit.limit.format_yuan(),
        limit.ratio,
        limit.basis.format_yuan(),
        limit.cap.format_yuan(),
        total.format_yuan(),
        cut.format_yuan(),
        paid.format_yuan()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::{ParamValue, ParameterVersion};

    fn date(s: &str) -> NaiveDate {
        s.parse().expect("test date")
    }

    fn yuan(s: &str) -> Money {
        s.parse().expect("test amount")
    }

    fn dec(s: &str) -> Decimal {
        Decimal::from_str_exact(s).expect("test decimal")
    }

    const DISTRICT: &str = "330106";
    const ENTERPRISE: i64 = 42;

    /// A RENT line of the reference enterprise for 2024, paid 2024-06-30 in 西湖区: 10,000.00 paid
    /// on a rent of 100,000.00 (limit 30,000.00 with the shipped 30%).
    fn rent(id: i64) -> PaymentLine {
        PaymentLine {
            id,
            seq: id,
            district: DISTRICT.to_owned(),
            enterprise_id: ENTERPRISE,
            kind: PaymentKind::Rent,
            subsidy_year: 2024,
            contract_no: "L-2024-01".to_owned(),
            basis: yuan("100000.00"),
            transaction_date: None,
            amount: yuan("10000.00"),
            payment_date: date("2024-06-30"),
            voucher_no: format!("V{id:04}"),
        }
    }

    /// A PURCHASE line of the reference enterprise: price 10,000,000.00 on 2024-03-01, paid
    /// 100,000.00 on 2024-06-30 (limit 500,000.00 with the shipped 5%).
    fn purchase(id: i64) -> PaymentLine {
        PaymentLine {
            kind: PaymentKind::Purchase,
            contract_no: "P-2024-01".to_owned(),
            basis: yuan("10000000.00"),
            transaction_date: Some(date("2024-03-01")),
            amount: yuan("100000.00"),
            ..rent(id)
        }
    }

    /// Recognised for 2023–2025 on 1 April, rated 3★, registered in 西湖区 since 2015, no office.
    fn enterprise() -> EnterpriseContext {
        EnterpriseContext {
            enterprise_id: ENTERPRISE,
            recognitions: [
                (2023, date("2023-04-01")),
                (2024, date("2024-04-01")),
                (2025, date("2025-04-01")),
            ]
            .into(),
            stars: [(2023, 3), (2024, 3), (2025, 3)].into(),
            offices: Vec::new(),
            registrations: vec![Registration {
                during: DateRange {
                    from: date("2015-01-01"),
                    to: None,
                },
                district: Some(DISTRICT.to_owned()),
            }],
            revocations: Vec::new(),
        }
    }

    fn period() -> PolicyPeriod {
        PolicyPeriod::from_set(&ParameterSet::shipped_defaults(), date("2024-12-31"))
            .expect("shipped defaults")
    }

    fn input(lines: Vec<PaymentLine>) -> ReconciliationInput {
        ReconciliationInput {
            lines,
            reported: Vec::new(),
            approved: Vec::new(),
            enterprises: vec![enterprise()],
            period: period(),
        }
    }

    fn run(input: &ReconciliationInput) -> Vec<LineVerdict> {
        reconcile(input, &ParameterSet::shipped_defaults()).expect("reconciles")
    }

    fn codes(verdict: &LineVerdict) -> Vec<ReasonCode> {
        verdict.reasons.iter().map(|r| r.code).collect()
    }

    fn verdict_of(verdicts: &[LineVerdict], line_id: i64) -> &LineVerdict {
        verdicts
            .iter()
            .find(|v| v.line_id == line_id)
            .expect("a verdict for every line")
    }

    fn version(
        id: i64,
        name: &str,
        district: Option<&str>,
        from: &str,
        value: &str,
    ) -> ParameterVersion {
        ParameterVersion {
            id,
            name: name.to_owned(),
            district: district.map(str::to_owned),
            valid_from: date(from),
            valid_to: None,
            value: ParamValue::Decimal(dec(value)),
            reference: "placeholder (§7)".to_owned(),
            placeholder: true,
        }
    }

    fn shipped_id(name: &str) -> i64 {
        ParameterSet::shipped_defaults()
            .resolve(name, None, date("2024-01-01"))
            .map(|v| v.id)
            .expect("shipped parameter")
    }

    #[test]
    fn a_line_breaking_no_rule_is_eligible_in_full_and_cites_its_parameters() {
        let verdicts = run(&input(vec![rent(1)]));
        let verdict = &verdicts[0];
        assert_eq!(verdict.eligible, yuan("10000.00"));
        assert_eq!(verdict.cut, Money::ZERO);
        assert!(verdict.reasons.is_empty());
        assert_eq!(verdict.primary_reason, None);
        assert_eq!(verdict.ratio_group.as_deref(), Some("RENT:330106:42:2024"));
        assert_eq!(verdict.group_limit, Some(yuan("30000.00")));
        let mut expected = vec![
            shipped_id("policy.valid_from"),
            shipped_id("policy.valid_to"),
            shipped_id("rent_subsidy.ratio"),
            shipped_id("rent_subsidy.cap_per_year"),
        ];
        expected.sort_unstable();
        assert_eq!(verdict.parameter_versions, expected);
    }

    /// (case, line, enterprise facts, other reported lines, the only reason, its clause)
    type AloneCase = (
        &'static str,
        PaymentLine,
        EnterpriseContext,
        Vec<PaymentLine>,
        ReasonCode,
        &'static str,
    );

    #[test]
    fn each_reason_alone_cuts_the_line_and_cites_its_clause() {
        let moved = |district: Option<&str>| EnterpriseContext {
            registrations: vec![
                Registration {
                    during: DateRange {
                        from: date("2015-01-01"),
                        to: Some(date("2024-06-29")),
                    },
                    district: Some(DISTRICT.to_owned()),
                },
                Registration {
                    during: DateRange {
                        from: date("2024-06-30"),
                        to: None,
                    },
                    district: district.map(str::to_owned),
                },
            ],
            ..enterprise()
        };
        let second_purchase = PaymentLine {
            id: 90,
            seq: 90,
            contract_no: "P-2024-02".to_owned(),
            transaction_date: Some(date("2024-05-01")),
            ..purchase(90)
        };
        let cases: Vec<AloneCase> = vec![
            (
                "paid the day before the policy took effect",
                PaymentLine {
                    subsidy_year: 2023,
                    payment_date: date("2023-02-19"),
                    ..rent(1)
                },
                enterprise(),
                vec![],
                ReasonCode::OutsidePolicyPeriod,
                "§final",
            ),
            (
                "paid the day after the policy's validity ended",
                PaymentLine {
                    subsidy_year: 2027,
                    payment_date: date("2028-02-21"),
                    ..rent(1)
                },
                EnterpriseContext {
                    recognitions: [(2027, date("2027-04-01"))].into(),
                    stars: [(2027, 3)].into(),
                    ..enterprise()
                },
                vec![],
                ReasonCode::OutsidePolicyPeriod,
                "§final",
            ),
            (
                "no recognition for the subsidy year",
                PaymentLine {
                    subsidy_year: 2026,
                    payment_date: date("2026-06-30"),
                    ..rent(1)
                },
                EnterpriseContext {
                    stars: [(2026, 3)].into(),
                    ..enterprise()
                },
                vec![],
                ReasonCode::NotRecognized,
                "§4",
            ),
            (
                "rated 2 stars",
                rent(1),
                EnterpriseContext {
                    stars: [(2024, 2)].into(),
                    ..enterprise()
                },
                vec![],
                ReasonCode::StarsBelow3,
                "§7",
            ),
            (
                "not rated",
                rent(1),
                EnterpriseContext {
                    stars: BTreeMap::new(),
                    ..enterprise()
                },
                vec![],
                ReasonCode::StarsBelow3,
                "§7",
            ),
            (
                "owned an office during the subsidy year",
                rent(1),
                EnterpriseContext {
                    offices: vec![DateRange {
                        from: date("2024-03-01"),
                        to: Some(date("2024-03-31")),
                    }],
                    ..enterprise()
                },
                vec![],
                ReasonCode::OwnsOffice,
                "§7",
            ),
            (
                "rent with a purchase reported elsewhere for the same year",
                rent(1),
                enterprise(),
                vec![PaymentLine {
                    district: "330108".to_owned(),
                    ..purchase(80)
                }],
                ReasonCode::RentAndPurchase,
                "§7",
            ),
            (
                "a purchase that is not the first",
                second_purchase.clone(),
                enterprise(),
                vec![purchase(80)],
                ReasonCode::PurchaseNotFirst,
                "§7",
            ),
            (
                "registered in another district on the payment date",
                rent(1),
                moved(Some("330108")),
                vec![],
                ReasonCode::WrongDistrict,
                "§20",
            ),
            (
                "outside Hangzhou on the payment date",
                rent(1),
                moved(None),
                vec![],
                ReasonCode::WrongDistrict,
                "§20",
            ),
            (
                "title revoked before the payment",
                rent(1),
                EnterpriseContext {
                    revocations: vec![date("2024-06-01")],
                    ..enterprise()
                },
                vec![],
                ReasonCode::TitleRevoked,
                "§22",
            ),
            (
                "the same payment reported earlier",
                PaymentLine {
                    voucher_no: "V-AGAIN".to_owned(),
                    ..rent(2)
                },
                enterprise(),
                vec![rent(1)],
                ReasonCode::DuplicatePayment,
                "§20",
            ),
        ];
        for (case, line, context, others, code, clause) in cases {
            let line_id = line.id;
            let paid = line.amount;
            let input = ReconciliationInput {
                reported: others,
                enterprises: vec![context],
                ..input(vec![line])
            };
            let verdicts = run(&input);
            let verdict = verdict_of(&verdicts, line_id);
            assert_eq!(codes(verdict), [code], "{case}: {:?}", verdict.reasons);
            assert_eq!(verdict.reasons[0].clause.as_str(), clause, "{case}");
            assert_eq!(verdict.primary_reason, Some(code), "{case}");
            assert_eq!(verdict.eligible, Money::ZERO, "{case}");
            assert_eq!(verdict.cut, paid, "{case}");
            assert_eq!(verdict.ratio_group, None, "{case}");
            assert_eq!(verdict.group_limit, None, "{case}");
        }
    }

    #[test]
    fn over_the_district_ratio_alone_cuts_only_the_excess() {
        let line = PaymentLine {
            amount: yuan("30000.01"),
            ..rent(1)
        };
        let verdicts = run(&input(vec![line]));
        assert_eq!(codes(&verdicts[0]), [ReasonCode::OverDistrictRatio]);
        assert_eq!(verdicts[0].reasons[0].clause, Clause::S7);
        assert_eq!(verdicts[0].eligible, yuan("30000.00"));
        assert_eq!(verdicts[0].cut, yuan("0.01"));
        assert_eq!(
            verdicts[0].reasons[0].detail,
            "group RENT:330106:42:2024: limit 30,000.00 = min(floor_to_fen(0.30 × 100,000.00), cap \
             2,000,000.00); group total 30,000.01; cut 0.01 of 30,000.01, latest payment first"
        );
    }

    #[test]
    fn the_policy_period_includes_both_its_first_and_last_day() {
        let cases = [
            ("2023-02-19", 2023, true),
            ("2023-02-20", 2023, false),
            ("2028-02-20", 2027, false),
            ("2028-02-21", 2027, true),
        ];
        for (paid, year, cut) in cases {
            let line = PaymentLine {
                subsidy_year: year,
                payment_date: date(paid),
                ..rent(1)
            };
            let context = EnterpriseContext {
                recognitions: [(year, date(&format!("{year}-01-10")))].into(),
                stars: [(year, 3)].into(),
                ..enterprise()
            };
            let input = ReconciliationInput {
                enterprises: vec![context],
                ..input(vec![line])
            };
            let verdicts = run(&input);
            assert_eq!(
                codes(&verdicts[0]).contains(&ReasonCode::OutsidePolicyPeriod),
                cut,
                "{paid}"
            );
        }
    }

    #[test]
    fn three_stars_pass_and_two_do_not() {
        for (stars, cut) in [(1, true), (2, true), (3, false), (4, false), (5, false)] {
            let input = ReconciliationInput {
                enterprises: vec![EnterpriseContext {
                    stars: [(2024, stars)].into(),
                    ..enterprise()
                }],
                ..input(vec![rent(1)])
            };
            assert_eq!(!run(&input)[0].reasons.is_empty(), cut, "{stars}★");
        }
    }

    #[test]
    fn a_line_failing_several_rules_lists_them_all_in_table_order_and_is_cut_whole() {
        let line = PaymentLine {
            payment_date: date("2028-03-01"),
            subsidy_year: 2024,
            ..rent(1)
        };
        let context = EnterpriseContext {
            stars: [(2024, 2)].into(),
            registrations: Vec::new(),
            revocations: vec![date("2025-01-01")],
            ..enterprise()
        };
        let input = ReconciliationInput {
            enterprises: vec![context],
            reported: vec![purchase(50)],
            ..input(vec![line])
        };
        let verdicts = run(&input);
        assert_eq!(
            codes(&verdicts[0]),
            [
                ReasonCode::OutsidePolicyPeriod,
                ReasonCode::StarsBelow3,
                ReasonCode::RentAndPurchase,
                ReasonCode::WrongDistrict,
                ReasonCode::TitleRevoked,
            ]
        );
        assert_eq!(
            verdicts[0].primary_reason,
            Some(ReasonCode::OutsidePolicyPeriod)
        );
        assert_eq!(verdicts[0].eligible, Money::ZERO);
        assert_eq!(verdicts[0].cut, yuan("10000.00"));
        let clauses: Vec<&str> = verdicts[0]
            .reasons
            .iter()
            .map(|r| r.clause.as_str())
            .collect();
        assert_eq!(clauses, ["§final", "§7", "§7", "§20", "§22"]);
    }

    #[test]
    fn the_ratio_cut_is_exact_to_the_fen_and_the_limit_is_floored() {
        // 0.30 × 33,333.37 = 10,000.011 → limit 10,000.01; paid 6,000.00 + 4,000.02 = 10,000.02.
        let first = PaymentLine {
            basis: yuan("20000.00"),
            amount: yuan("6000.00"),
            payment_date: date("2024-05-31"),
            ..rent(1)
        };
        let second = PaymentLine {
            basis: yuan("13333.37"),
            amount: yuan("4000.02"),
            payment_date: date("2024-06-30"),
            ..rent(2)
        };
        let verdicts = run(&input(vec![first, second]));
        assert_eq!(verdicts[0].group_limit, Some(yuan("10000.01")));
        assert_eq!(verdicts[0].eligible, yuan("6000.00"));
        assert!(verdicts[0].reasons.is_empty());
        assert_eq!(verdicts[1].eligible, yuan("4000.01"));
        assert_eq!(verdicts[1].cut, yuan("0.01"));
        assert_eq!(codes(&verdicts[1]), [ReasonCode::OverDistrictRatio]);
    }

    #[test]
    fn the_latest_payment_is_cut_first_and_a_tie_goes_by_voucher_text() {
        // Rent 4 × 25,000.00: limit 30,000.00; paid 4 × 10,000.00: one line's worth is cut.
        // (Each under its own lease, so that two payments on one day are not duplicates.)
        let line = |id, paid: &str, voucher: &str| PaymentLine {
            contract_no: format!("L-{id}"),
            basis: yuan("25000.00"),
            payment_date: date(paid),
            voucher_no: voucher.to_owned(),
            ..rent(id)
        };
        let cases = [
            // (lines, id cut whole)
            (
                vec![
                    line(1, "2024-12-01", "V1"),
                    line(2, "2024-03-01", "V2"),
                    line(3, "2024-04-01", "V3"),
                    line(4, "2024-05-01", "V4"),
                ],
                1,
            ),
            // Same day: "V9" > "V10" as text.
            (
                vec![
                    line(1, "2024-06-30", "V9"),
                    line(2, "2024-06-30", "V10"),
                    line(3, "2024-01-31", "V11"),
                    line(4, "2024-02-29", "V12"),
                ],
                1,
            ),
            (
                vec![
                    line(1, "2024-06-30", "A-2"),
                    line(2, "2024-06-30", "B-1"),
                    line(3, "2024-01-31", "C-1"),
                    line(4, "2024-02-29", "C-2"),
                ],
                2,
            ),
        ];
        for (lines, cut_id) in cases {
            let verdicts = run(&input(lines));
            for verdict in &verdicts {
                let expected = if verdict.line_id == cut_id {
                    Money::ZERO
                } else {
                    yuan("10000.00")
                };
                assert_eq!(verdict.eligible, expected, "line {}", verdict.line_id);
            }
        }
    }

    #[test]
    fn a_partial_cut_falls_on_the_latest_line_and_spills_to_the_next() {
        // Each line: rent 25,000.00, paid 12,000.00.
        // Three lines: limit 30% × 75,000.00 = 22,500.00 of 36,000.00 paid; 13,500.00 is cut: the
        // latest loses all 12,000.00, the one before 1,500.00.
        // Four lines: limit 30,000.00 of 48,000.00; 18,000.00 is cut: 12,000.00 + 6,000.00.
        let line = |id, paid: &str| PaymentLine {
            amount: yuan("12000.00"),
            basis: yuan("25000.00"),
            payment_date: date(paid),
            ..rent(id)
        };
        let three = run(&input(vec![
            line(1, "2024-02-01"),
            line(2, "2024-03-01"),
            line(3, "2024-04-01"),
        ]));
        let eligible: Vec<Money> = three.iter().map(|v| v.eligible).collect();
        assert_eq!(eligible, [yuan("12000.00"), yuan("10500.00"), Money::ZERO]);
        let four = run(&input(vec![
            line(1, "2024-02-01"),
            line(2, "2024-03-01"),
            line(3, "2024-04-01"),
            line(4, "2024-05-01"),
        ]));
        let eligible: Vec<Money> = four.iter().map(|v| v.eligible).collect();
        assert_eq!(
            eligible,
            [
                yuan("12000.00"),
                yuan("12000.00"),
                yuan("6000.00"),
                Money::ZERO
            ]
        );
        assert_eq!(codes(&four[3]), [ReasonCode::OverDistrictRatio]);
        assert!(four[0].reasons.is_empty());
    }

    #[test]
    fn the_cap_binds_when_below_the_ratio_and_the_ratio_when_below_the_cap() {
        let cases = [
            // (rent, paid, limit, eligible): cap 2,000,000.00, ratio 30%
            ("6666666.66", "2000000.00", "1999999.99", "1999999.99"),
            ("6666666.67", "2000000.00", "2000000.00", "2000000.00"),
            ("10000000.00", "2500000.00", "2000000.00", "2000000.00"),
            ("1000000.00", "400000.00", "300000.00", "300000.00"),
        ];
        for (basis, paid, limit, eligible) in cases {
            let line = PaymentLine {
                basis: yuan(basis),
                amount: yuan(paid),
                ..rent(1)
            };
            let verdicts = run(&input(vec![line]));
            assert_eq!(verdicts[0].group_limit, Some(yuan(limit)), "{basis}");
            assert_eq!(verdicts[0].eligible, yuan(eligible), "{basis}");
        }
    }

    #[test]
    fn the_purchase_price_counts_once_and_the_cap_can_bind() {
        // 5% of 10,000,000.00 = 500,000.00, not 5% of the price summed over three lines.
        let line = |id, amount: &str, paid: &str| PaymentLine {
            amount: yuan(amount),
            payment_date: date(paid),
            ..purchase(id)
        };
        let verdicts = run(&input(vec![
            line(1, "300000.00", "2024-04-01"),
            line(2, "300000.00", "2024-05-01"),
            line(3, "300000.00", "2024-06-01"),
        ]));
        let eligible: Vec<Money> = verdicts.iter().map(|v| v.eligible).collect();
        assert_eq!(
            eligible,
            [yuan("300000.00"), yuan("200000.00"), Money::ZERO]
        );
        assert_eq!(
            verdicts[0].ratio_group.as_deref(),
            Some(format!("PURCHASE:330106:{ENTERPRISE}:P-2024-01").as_str())
        );
        // 5% of 300,000,000.00 is 15,000,000.00: the 10,000,000.00 cap binds.
        let expensive = PaymentLine {
            basis: yuan("300000000.00"),
            amount: yuan("12000000.00"),
            ..purchase(1)
        };
        let verdicts = run(&input(vec![expensive]));
        assert_eq!(verdicts[0].group_limit, Some(yuan("10000000.00")));
        assert_eq!(verdicts[0].eligible, yuan("10000000.00"));
    }

    #[test]
    fn a_purchase_paid_over_two_years_keeps_the_approved_years_amount() {
        // 2024 (approved): 400,000.00 eligible. 2025: 150,000.00 paid; limit 500,000.00.
        let earlier = ApprovedLine {
            line: PaymentLine {
                amount: yuan("400000.00"),
                ..purchase(1)
            },
            eligible: yuan("400000.00"),
            primary_reason: None,
        };
        let later = PaymentLine {
            amount: yuan("150000.00"),
            payment_date: date("2025-03-01"),
            ..purchase(2)
        };
        let input = ReconciliationInput {
            approved: vec![earlier],
            ..input(vec![later])
        };
        let verdicts = run(&input);
        assert_eq!(verdicts.len(), 1, "approved lines are not re-decided");
        assert_eq!(verdicts[0].line_id, 2);
        assert_eq!(verdicts[0].eligible, yuan("100000.00"));
        assert_eq!(verdicts[0].cut, yuan("50000.00"));
        assert_eq!(codes(&verdicts[0]), [ReasonCode::OverDistrictRatio]);
        assert!(
            verdicts[0].reasons[0]
                .detail
                .contains("(approved 400,000.00)")
        );
    }

    #[test]
    fn an_approved_amount_above_the_limit_is_kept_and_the_new_line_is_cut_whole() {
        // A later, lower district ratio cannot claw back an approved year here (§20 step 6 does).
        let earlier = ApprovedLine {
            line: PaymentLine {
                amount: yuan("600000.00"),
                ..purchase(1)
            },
            eligible: yuan("600000.00"),
            primary_reason: None,
        };
        let input = ReconciliationInput {
            approved: vec![earlier],
            ..input(vec![PaymentLine {
                payment_date: date("2025-03-01"),
                ..purchase(2)
            }])
        };
        let verdicts = run(&input);
        assert_eq!(verdicts[0].eligible, Money::ZERO);
        assert_eq!(verdicts[0].cut, yuan("100000.00"));
    }

    #[test]
    fn an_approved_rent_line_cut_whole_does_not_lift_the_limit() {
        // Same RENT group: approved line 1 (rent 100,000.00) was cut whole as a duplicate, so its
        // rent does not count; approved line 3 survived (only ratio-cut), so its rent and its
        // approved 1,000.00 do.
        let approved = ApprovedLine {
            line: rent(1),
            eligible: Money::ZERO,
            primary_reason: Some(ReasonCode::DuplicatePayment),
        };
        let survivor = ApprovedLine {
            primary_reason: Some(ReasonCode::OverDistrictRatio),
            eligible: yuan("1000.00"),
            line: PaymentLine {
                basis: yuan("10000.00"),
                amount: yuan("5000.00"),
                voucher_no: "V-OLD".to_owned(),
                ..rent(3)
            },
        };
        let new = PaymentLine {
            basis: yuan("50000.00"),
            amount: yuan("20000.00"),
            payment_date: date("2025-01-15"),
            ..rent(2)
        };
        let input = ReconciliationInput {
            approved: vec![approved, survivor],
            ..input(vec![new])
        };
        let verdicts = run(&input);
        // limit = 30% × (50,000.00 + 10,000.00) = 18,000.00; approved 1,000.00 counts.
        assert_eq!(verdicts[0].group_limit, Some(yuan("18000.00")));
        assert_eq!(verdicts[0].eligible, yuan("17000.00"));
    }

    #[test]
    fn a_districts_own_parameters_beat_the_general_ones_and_are_cited() {
        let mut set = ParameterSet::shipped_defaults();
        set.push(version(
            901,
            "rent_subsidy.ratio",
            Some(DISTRICT),
            "2024-01-01",
            "0.50",
        ));
        set.push(version(
            902,
            "rent_subsidy.ratio",
            Some("330108"),
            "2023-01-01",
            "0.10",
        ));
        set.push(version(
            903,
            "rent_subsidy.cap_per_year",
            None,
            "2024-01-01",
            "45000.00",
        ));
        let line = PaymentLine {
            amount: yuan("50000.00"),
            ..rent(1)
        };
        let verdicts = reconcile(&input(vec![line]), &set).expect("reconciles");
        // min(50% × 100,000.00, 45,000.00) = 45,000.00
        assert_eq!(verdicts[0].group_limit, Some(yuan("45000.00")));
        assert_eq!(verdicts[0].eligible, yuan("45000.00"));
        assert!(verdicts[0].parameter_versions.contains(&901));
        assert!(verdicts[0].parameter_versions.contains(&903));
        assert!(!verdicts[0].parameter_versions.contains(&902));
        assert!(
            !verdicts[0]
                .parameter_versions
                .contains(&shipped_id("rent_subsidy.ratio"))
        );
    }

    #[test]
    fn rent_parameters_are_those_in_force_on_1_january_of_the_subsidy_year() {
        let mut set = ParameterSet::shipped_defaults();
        // From 2 January 2024: not in force on 1 January 2024.
        set.push(version(
            901,
            "rent_subsidy.ratio",
            Some(DISTRICT),
            "2024-01-02",
            "0.50",
        ));
        let verdicts = reconcile(&input(vec![rent(1)]), &set).expect("reconciles");
        assert_eq!(verdicts[0].group_limit, Some(yuan("30000.00")));
        assert!(!verdicts[0].parameter_versions.contains(&901));
    }

    #[test]
    fn purchase_parameters_are_those_in_force_on_the_transaction_date() {
        let cases = [("2024-03-01", "1000000.00"), ("2024-03-02", "500000.00")];
        for (from, limit) in cases {
            let mut set = ParameterSet::shipped_defaults();
            set.push(version(
                901,
                "purchase_subsidy.ratio",
                Some(DISTRICT),
                from,
                "0.10",
            ));
            let verdicts = reconcile(&input(vec![purchase(1)]), &set).expect("reconciles");
            assert_eq!(verdicts[0].group_limit, Some(yuan(limit)), "from {from}");
        }
    }

    #[test]
    fn a_missing_district_parameter_is_an_error_not_a_default() {
        let set = ParameterSet::new(
            ParameterSet::shipped_defaults()
                .versions()
                .iter()
                .filter(|v| v.name != "rent_subsidy.cap_per_year")
                .cloned()
                .collect(),
        );
        assert!(matches!(
            reconcile(&input(vec![rent(1)]), &set),
            Err(ReconciliationError::Policy(
                PolicyError::MissingParameter { .. }
            ))
        ));
    }

    #[test]
    fn a_line_cut_whole_does_not_count_towards_its_group() {
        // Line 2 repeats line 1: cut whole as a duplicate, it neither adds its rent to the basis
        // nor uses up the limit (30% × 100,000.00 = 30,000.00, all of it line 1's).
        let first = PaymentLine {
            amount: yuan("30000.00"),
            ..rent(1)
        };
        let again = PaymentLine {
            voucher_no: "V-AGAIN".to_owned(),
            ..first.clone()
        };
        let again = PaymentLine {
            id: 2,
            seq: 2,
            ..again
        };
        let verdicts = run(&input(vec![first, again]));
        assert_eq!(verdicts[0].eligible, yuan("30000.00"));
        assert!(verdicts[0].reasons.is_empty());
        assert_eq!(codes(&verdicts[1]), [ReasonCode::DuplicatePayment]);
    }

    #[test]
    fn a_duplicate_of_a_line_in_the_wrong_district_is_not_a_duplicate() {
        // The enterprise moved to 330108 in 2024; 330106 reported first by mistake.
        let context = EnterpriseContext {
            registrations: vec![Registration {
                during: DateRange {
                    from: date("2024-01-01"),
                    to: None,
                },
                district: Some("330108".to_owned()),
            }],
            ..enterprise()
        };
        let wrong = rent(1);
        let right = PaymentLine {
            district: "330108".to_owned(),
            ..rent(2)
        };
        let cases = [
            // (the earlier line's district, reasons of the later line)
            (wrong.clone(), vec![]),
            (
                PaymentLine {
                    district: "330108".to_owned(),
                    ..rent(1)
                },
                vec![ReasonCode::DuplicatePayment],
            ),
        ];
        for (earlier, expected) in cases {
            let input = ReconciliationInput {
                reported: vec![earlier],
                enterprises: vec![context.clone()],
                ..input(vec![right.clone()])
            };
            assert_eq!(codes(&run(&input)[0]), expected);
        }
        // The earlier line itself is cut for the wrong district, not as a duplicate.
        let input = ReconciliationInput {
            enterprises: vec![context],
            ..input(vec![wrong, right])
        };
        let verdicts = run(&input);
        assert_eq!(codes(&verdicts[0]), [ReasonCode::WrongDistrict]);
        assert!(verdicts[1].reasons.is_empty());
    }

    #[test]
    fn a_duplicate_needs_every_field_equal_and_an_earlier_report() {
        let original = rent(5);
        let variants: [(&str, PaymentLine, bool); 8] = [
            ("identical, reported later", rent(6), true),
            ("identical, reported earlier", rent(4), false),
            (
                "another amount",
                PaymentLine {
                    amount: yuan("10000.01"),
                    basis: yuan("100000.00"),
                    ..rent(6)
                },
                false,
            ),
            (
                "another payment date",
                PaymentLine {
                    payment_date: date("2024-07-01"),
                    ..rent(6)
                },
                false,
            ),
            (
                "another contract",
                PaymentLine {
                    contract_no: "L-2024-02".to_owned(),
                    ..rent(6)
                },
                false,
            ),
            (
                "another subsidy year",
                PaymentLine {
                    subsidy_year: 2025,
                    ..rent(6)
                },
                false,
            ),
            (
                "another enterprise",
                PaymentLine {
                    enterprise_id: 43,
                    ..rent(6)
                },
                false,
            ),
            (
                "another district, the same payment",
                PaymentLine {
                    district: "330108".to_owned(),
                    ..rent(6)
                },
                true,
            ),
        ];
        for (case, line, duplicate) in variants {
            let other = EnterpriseContext {
                enterprise_id: 43,
                ..enterprise()
            };
            // In another district the later line is also WRONG_DISTRICT; only DUPLICATE matters.
            let input = ReconciliationInput {
                reported: vec![original.clone()],
                enterprises: vec![enterprise(), other],
                ..input(vec![line])
            };
            let verdicts = run(&input);
            assert_eq!(
                codes(&verdicts[0]).contains(&ReasonCode::DuplicatePayment),
                duplicate,
                "{case}"
            );
        }
    }

    #[test]
    fn a_revocation_cuts_payments_from_its_date_and_only_after_the_recognition() {
        // Paid 2024-06-30; recognition for 2024 decided 2024-04-01.
        let cases = [
            // (revoked on, recognition decided on, cut)
            ("2024-06-30", "2024-04-01", true),
            ("2024-07-01", "2024-04-01", false),
            ("2024-04-02", "2024-04-01", true),
            ("2024-04-01", "2024-04-01", false),
            ("2024-03-31", "2024-04-01", false),
        ];
        for (revoked, decided, cut) in cases {
            let context = EnterpriseContext {
                revocations: vec![date(revoked)],
                recognitions: [(2024, date(decided))].into(),
                ..enterprise()
            };
            let input = ReconciliationInput {
                enterprises: vec![context],
                ..input(vec![rent(1)])
            };
            let verdicts = run(&input);
            assert_eq!(
                codes(&verdicts[0]) == [ReasonCode::TitleRevoked],
                cut,
                "revoked {revoked}, decided {decided}"
            );
            assert_eq!(verdicts[0].reasons.is_empty(), !cut, "revoked {revoked}");
        }
    }

    #[test]
    fn an_office_owned_on_any_day_of_the_rent_year_cuts_the_rent() {
        let cases = [
            // (owned from, to, cut)
            ("2024-12-31", None, true),
            ("2020-01-01", Some("2024-01-01"), true),
            ("2020-01-01", Some("2023-12-31"), false),
            ("2025-01-01", None, false),
        ];
        for (from, to, cut) in cases {
            let context = EnterpriseContext {
                offices: vec![DateRange {
                    from: date(from),
                    to: to.map(date),
                }],
                ..enterprise()
            };
            let input = ReconciliationInput {
                enterprises: vec![context],
                ..input(vec![rent(1)])
            };
            assert_eq!(
                codes(&run(&input)[0]) == [ReasonCode::OwnsOffice],
                cut,
                "owned {from}..{to:?}"
            );
        }
    }

    #[test]
    fn an_office_owned_the_day_before_the_transaction_cuts_the_purchase() {
        // Transaction 2024-03-01 (2024 is a leap year: the day before is 29 February).
        let cases = [
            ("2024-02-29", None, true),
            ("2024-03-01", None, false),
            ("2020-01-01", Some("2024-02-28"), false),
            ("2020-01-01", Some("2024-02-29"), true),
        ];
        for (from, to, cut) in cases {
            let context = EnterpriseContext {
                offices: vec![DateRange {
                    from: date(from),
                    to: to.map(date),
                }],
                ..enterprise()
            };
            let input = ReconciliationInput {
                enterprises: vec![context],
                ..input(vec![purchase(1)])
            };
            assert_eq!(
                codes(&run(&input)[0]) == [ReasonCode::OwnsOffice],
                cut,
                "owned from {from}"
            );
        }
    }

    #[test]
    fn rent_is_cut_by_a_purchase_for_the_same_or_an_earlier_year_in_any_district() {
        let cases = [
            // (purchase subsidy year, cut)
            (2023, true),
            (2024, true),
            (2025, false),
        ];
        for (year, cut) in cases {
            let bought = PaymentLine {
                district: "330108".to_owned(),
                subsidy_year: year,
                transaction_date: Some(date(&format!("{year}-03-01"))),
                ..purchase(80)
            };
            let input = ReconciliationInput {
                reported: vec![bought],
                ..input(vec![rent(1)])
            };
            assert_eq!(
                codes(&run(&input)[0]) == [ReasonCode::RentAndPurchase],
                cut,
                "purchase for {year}"
            );
        }
    }

    #[test]
    fn the_first_purchase_is_the_earliest_transaction_and_a_tie_goes_to_the_lower_contract() {
        let other = |contract: &str, day: &str| PaymentLine {
            contract_no: contract.to_owned(),
            transaction_date: Some(date(day)),
            district: "330108".to_owned(),
            ..purchase(80)
        };
        let cases = [
            // (the other contract, is this line (P-2024-01 on 2024-03-01) cut)
            (other("P-2023-09", "2024-02-29"), true),
            (other("P-2024-99", "2024-03-02"), false),
            (other("P-2024-00", "2024-03-01"), true),
            (other("P-2024-02", "2024-03-01"), false),
        ];
        for (other, cut) in cases {
            let input = ReconciliationInput {
                reported: vec![other.clone()],
                ..input(vec![purchase(1)])
            };
            assert_eq!(
                codes(&run(&input)[0]) == [ReasonCode::PurchaseNotFirst],
                cut,
                "{} on {:?}",
                other.contract_no,
                other.transaction_date
            );
        }
    }

    #[test]
    fn a_move_on_the_payment_date_counts_from_that_day() {
        let moved_on = |day: &str| EnterpriseContext {
            registrations: vec![
                Registration {
                    during: DateRange {
                        from: date("2015-01-01"),
                        to: date(day).pred_opt(),
                    },
                    district: Some("330108".to_owned()),
                },
                Registration {
                    during: DateRange {
                        from: date(day),
                        to: None,
                    },
                    district: Some(DISTRICT.to_owned()),
                },
            ],
            ..enterprise()
        };
        for (moved, cut) in [("2024-06-30", false), ("2024-07-01", true)] {
            let input = ReconciliationInput {
                enterprises: vec![moved_on(moved)],
                ..input(vec![rent(1)])
            };
            assert_eq!(
                codes(&run(&input)[0]) == [ReasonCode::WrongDistrict],
                cut,
                "moved in on {moved}"
            );
        }
    }

    #[test]
    fn verdicts_come_in_report_order() {
        let mut late = rent(7);
        late.seq = 1;
        let mut early = rent(3);
        early.seq = 9;
        early.voucher_no = "V-X".to_owned();
        early.payment_date = date("2024-07-01");
        let verdicts = run(&input(vec![early, late]));
        let ids: Vec<i64> = verdicts.iter().map(|v| v.line_id).collect();
        assert_eq!(ids, [7, 3]);
    }

    #[test]
    fn inconsistent_input_is_refused() {
        let cases: [(&str, ReconciliationInput); 5] = [
            (
                "amount",
                input(vec![PaymentLine {
                    amount: Money::ZERO,
                    ..rent(1)
                }]),
            ),
            (
                "transaction_date",
                input(vec![PaymentLine {
                    transaction_date: None,
                    ..purchase(1)
                }]),
            ),
            (
                "enterprise_id",
                input(vec![PaymentLine {
                    enterprise_id: 7,
                    ..rent(1)
                }]),
            ),
            ("id", input(vec![rent(1), rent(1)])),
            (
                "basis",
                ReconciliationInput {
                    approved: vec![ApprovedLine {
                        line: PaymentLine {
                            basis: yuan("9000000.00"),
                            ..purchase(1)
                        },
                        eligible: yuan("1.00"),
                        primary_reason: None,
                    }],
                    ..input(vec![PaymentLine {
                        payment_date: date("2025-01-10"),
                        ..purchase(2)
                    }])
                },
            ),
        ];
        for (field, input) in cases {
            match reconcile(&input, &ParameterSet::shipped_defaults()) {
                Err(ReconciliationError::InvalidLine { field: got, .. }) => {
                    assert_eq!(got, field);
                }
                other => panic!("{field}: {other:?}"),
            }
        }
    }

    #[test]
    fn reason_codes_are_the_documented_ones_in_table_order() {
        let names: Vec<String> = ReasonCode::ALL
            .iter()
            .map(|code| serde_json::to_string(code).expect("json"))
            .collect();
        assert_eq!(
            names,
            [
                "\"OUTSIDE_POLICY_PERIOD\"",
                "\"NOT_RECOGNIZED\"",
                "\"STARS_BELOW_3\"",
                "\"OWNS_OFFICE\"",
                "\"RENT_AND_PURCHASE\"",
                "\"PURCHASE_NOT_FIRST\"",
                "\"WRONG_DISTRICT\"",
                "\"TITLE_REVOKED\"",
                "\"DUPLICATE_PAYMENT\"",
                "\"OVER_DISTRICT_RATIO\"",
            ]
        );
        for code in ReasonCode::ALL {
            assert_eq!(
                format!("\"{code}\""),
                serde_json::to_string(&code).expect("json")
            );
            assert_eq!(code.as_str().parse::<ReasonCode>(), Ok(code));
            let back: ReasonCode =
                serde_json::from_str(&format!("\"{}\"", code.as_str())).expect("json");
            assert_eq!(back, code);
        }
        let mut sorted = ReasonCode::ALL;
        sorted.sort();
        assert_eq!(sorted, ReasonCode::ALL, "Ord is the table order");
        let clauses: Vec<&str> = ReasonCode::ALL
            .iter()
            .map(|c| c.clause().as_str())
            .collect();
        assert_eq!(
            clauses,
            [
                "§final", "§4", "§7", "§7", "§7", "§7", "§20", "§22", "§20", "§7"
            ]
        );
        assert!("STARS_BELOW3".parse::<ReasonCode>().is_err());
    }

    #[test]
    fn payment_kinds_round_trip_through_text() {
        for kind in PaymentKind::ALL {
            assert_eq!(kind.as_str().parse::<PaymentKind>(), Ok(kind));
            assert_eq!(
                serde_json::to_string(&kind).expect("json"),
                format!("\"{kind}\"")
            );
        }
        assert!("rent".parse::<PaymentKind>().is_err());
    }
}
