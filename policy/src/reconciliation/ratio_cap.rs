//! §20 step 3, second pass: `OVER_DISTRICT_RATIO` (§7). What survives the whole-line rules is
//! grouped (RENT by district, enterprise and subsidy year; PURCHASE by district, enterprise and
//! contract) and capped at the district's limit, latest payment cut first.

use std::collections::BTreeMap;
use std::fmt;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::{
    ApprovedLine, Decided, GroupOutcome, PaymentKind, PaymentLine, ReasonCode, ReconciliationError,
    invalid, reason,
};
use crate::money::{Money, MoneyError};
use crate::params::ParameterSet;

/// The ratio group of a line (§7: each district sets its own ratios and caps).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum GroupKey {
    /// The lines of one district, enterprise and subsidy year.
    Rent {
        district: String,
        enterprise_id: i64,
        subsidy_year: i32,
    },
    /// The lines of one district and contract, over all years. INTERPRETATION(§7): a contract
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

/// The limit of a group and where it came from.
struct Limit {
    limit: Money,
    ratio: Decimal,
    basis: Money,
    cap: Money,
    parameter_versions: Vec<i64>,
}

/// `OVER_DISTRICT_RATIO` (§7): caps the surviving lines group by group.
pub(super) fn cap_groups(
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

    // The approved lines by group, once, rather than a scan of them all per group.
    let mut approved_by_group: BTreeMap<GroupKey, Vec<&ApprovedLine>> = BTreeMap::new();
    for line in approved {
        approved_by_group
            .entry(GroupKey::of(&line.line))
            .or_default()
            .push(line);
    }

    for (key, members) in groups {
        let Some(&first) = members.first() else {
            continue;
        };
        let first = decided[first].line;
        let in_group: Vec<&ApprovedLine> = approved_by_group.remove(&key).unwrap_or_default();
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
