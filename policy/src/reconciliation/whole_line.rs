//! §20 step 3, first pass: the whole-line rules of the rule table (docs/rules.md). Each gives the detail of its
//! failure or `None`; a line failing any of them is cut whole, every failure listed in table order.

use chrono::NaiveDate;

use super::{
    CutReason, EnterpriseContext, PaymentKind, PaymentLine, PolicyPeriod, ReasonCode, reason,
};

/// What the whole-line rules of one line read.
pub(super) struct Rules<'a> {
    pub(super) line: &'a PaymentLine,
    pub(super) context: &'a EnterpriseContext,
    pub(super) period: &'a PolicyPeriod,
    /// Every reported line of the line's enterprise (its own included), once each, in id order.
    pub(super) reported: &'a [&'a PaymentLine],
}

impl Rules<'_> {
    /// Every whole-line rule, in table order; the failures with their details.
    pub(super) fn whole_line_reasons(&self) -> Vec<CutReason> {
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
    /// (who sees what: README, "Roles and tokens"); staff find it through the enterprise's lines.
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
            .filter(|purchase| super::purchase_excludes_rent(purchase.subsidy_year, year))
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
        let first = super::first_purchase(self.purchases())?;
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
