//! The rules of the recognition rule table (docs/rules.md) (§3, §4, §22), one function each: a [`RuleResult`]
//! with its clause, the figures it used and, for a failed numeric rule, the gap.

use std::borrow::Cow;
use std::fmt::{self, Write as _};

use chrono::NaiveDate;

use super::{Facts, Figure, Figures, Gap, RecognitionParams, RuleId, RuleResult};
use crate::PolicyError;
use crate::ban::latest_ban;
use crate::money::{Money, MoneyError};

/// What the rule functions read.
pub(super) struct Context<'a> {
    pub(super) facts: &'a Facts,
    pub(super) figures: Option<&'a Figures>,
    pub(super) year: i32,
    pub(super) params: &'a RecognitionParams,
}

fn result(rule: RuleId, passed: bool, detail: impl Into<Cow<'static, str>>) -> RuleResult {
    RuleResult {
        rule,
        clause: rule.clause(),
        passed,
        detail: detail.into(),
        figures: Vec::new(),
        gap: None,
    }
}

/// Bytes reserved for a figure's text: an amount of `i64` fen is at most 21.
const FIGURE_CAPACITY: usize = 24;

impl RuleResult {
    fn with(mut self, name: &'static str, value: impl fmt::Display) -> RuleResult {
        // Sized for any figure (an amount, a date, a count) so writing it never regrows.
        let mut text = String::with_capacity(FIGURE_CAPACITY);
        // Writing into a `String` cannot fail.
        let _ = write!(text, "{value}");
        self.figures.push(Figure {
            name: Cow::Borrowed(name),
            value: text,
        });
        self
    }

    fn with_gap(mut self, gap: Option<Gap>) -> RuleResult {
        self.gap = gap;
        self
    }
}

/// A boolean fact: passes when set, with the text for either case.
fn flag(rule: RuleId, set: bool, yes: &'static str, no: &'static str) -> RuleResult {
    result(rule, set, if set { yes } else { no })
}

/// `value ≥ threshold`, with the gap `threshold − value` when it fails.
fn at_least(value: Money, threshold: Money) -> Result<(bool, Option<Gap>), MoneyError> {
    if value >= threshold {
        return Ok((true, None));
    }
    let gap = threshold
        .checked_sub(value)
        .ok_or(MoneyError::Overflow("threshold − value"))?;
    Ok((false, Some(Gap::Money(gap))))
}

fn comparison(passed: bool) -> &'static str {
    if passed { "≥" } else { "<" }
}

/// §22, with the ban of [`crate::ban`].
pub(super) fn not_banned(
    revocations: &[NaiveDate],
    decided_on: NaiveDate,
    ban_years: u32,
) -> RuleResult {
    let rule = RuleId::NotBanned;
    match latest_ban(revocations, ban_years, decided_on) {
        None => result(
            rule,
            true,
            format!("no revocation of the title on or before {decided_on}"),
        ),
        Some(ban) => {
            let banned = decided_on <= ban.ends_on;
            let detail = if banned {
                format!(
                    "title revoked on {}: no recognition until {} inclusive ({ban_years} years), \
                     possible again from {}",
                    ban.revoked_on,
                    ban.ends_on,
                    ban.ends_on
                        .succ_opt()
                        .map_or_else(String::new, |d| d.to_string())
                )
            } else {
                format!(
                    "the ban after the revocation on {} ended on {}",
                    ban.revoked_on, ban.ends_on
                )
            };
            result(rule, !banned, detail)
                .with("revoked_on", ban.revoked_on)
                .with("ban_years", ban_years)
                .with("ban_ends_on", ban.ends_on)
        }
    }
}

impl Context<'_> {
    fn no_figures(&self, rule: RuleId) -> RuleResult {
        result(
            rule,
            false,
            format!("no figures for Y−1 ({})", self.year - 1),
        )
        .with("figures_year", self.year - 1)
    }

    pub(super) fn industrial_guidance(&self) -> RuleResult {
        flag(
            RuleId::IndustrialGuidance,
            self.facts.industrial_guidance,
            "industrial guidance flag set (符合杭州市产业发展导向)",
            "industrial guidance flag not set (符合杭州市产业发展导向)",
        )
    }

    pub(super) fn legal_person(&self) -> RuleResult {
        let facts = self.facts;
        let (passed, detail) = match (facts.independent_legal_person, facts.deemed_legal_person) {
            (true, _) => (true, "independent legal person"),
            (false, true) => (
                true,
                "deemed legal person (视同法人的汽车整车制造行业活动单位)",
            ),
            (false, false) => (false, "neither an independent nor a deemed legal person"),
        };
        result(RuleId::LegalPerson, passed, detail)
    }

    pub(super) fn registered_in_hangzhou(&self) -> RuleResult {
        match &self.facts.district_code {
            Some(district) => result(
                RuleId::RegisteredInHangzhou,
                true,
                format!("registered in Hangzhou district {district}"),
            )
            .with("district", district),
            None => result(
                RuleId::RegisteredInHangzhou,
                false,
                "not registered in a Hangzhou district",
            ),
        }
    }

    pub(super) fn operating(&self) -> RuleResult {
        flag(
            RuleId::Operating,
            self.facts.operating,
            "operating",
            "not operating",
        )
    }

    pub(super) fn unified_accounting(&self) -> RuleResult {
        flag(
            RuleId::UnifiedAccounting,
            self.facts.unified_accounting,
            "unified accounting (统一核算)",
            "no unified accounting (统一核算)",
        )
    }

    pub(super) fn outside_units(&self) -> RuleResult {
        let units = self.facts.outside_units;
        let minimum = self.params.min_outside_units;
        let passed = units >= minimum;
        result(
            RuleId::OutsideUnits,
            passed,
            format!(
                "{units} branches or ≥50%-controlled subsidiaries outside Hangzhou {} {minimum}",
                comparison(passed)
            ),
        )
        .with("outside_units", units)
        .with("min_outside_units", minimum)
        .with_gap((!passed).then(|| Gap::Units(minimum - units)))
    }

    pub(super) fn not_dishonest(&self) -> RuleResult {
        flag(
            RuleId::NotDishonest,
            !self.facts.dishonest,
            "not on the serious dishonesty list",
            "on the serious dishonesty list (严重违法失信主体名单)",
        )
    }

    /// Whether the class is a valid 4-digit GB/T 4754-2017 class.
    fn industry_is_well_formed(&self) -> bool {
        let code = &self.facts.industry_code;
        code.len() == 4 && code.bytes().all(|b| b.is_ascii_digit())
    }

    /// An exact class in `recognition.review_industries`.
    pub(super) fn needs_review(&self) -> bool {
        self.industry_is_well_formed()
            && self
                .params
                .review_industries
                .contains(&self.facts.industry_code)
    }

    pub(super) fn industry_not_excluded(&self) -> RuleResult {
        let rule = RuleId::IndustryNotExcluded;
        let code = &self.facts.industry_code;
        if !self.industry_is_well_formed() {
            return result(
                rule,
                false,
                format!("industry `{code}` is not a 4-digit GB/T 4754-2017 class"),
            )
            .with("industry_code", code);
        }
        let excluded = self
            .params
            .excluded_industries
            .iter()
            .find(|prefix| !prefix.is_empty() && code.starts_with(prefix.as_str()));
        let review = if self.needs_review() {
            "; NEEDS_REVIEW: the class is in recognition.review_industries"
        } else {
            ""
        };
        let detail = match excluded {
            Some(prefix) => format!("industry {code} is excluded (prefix {prefix}){review}"),
            None => format!("industry {code} matches no excluded prefix{review}"),
        };
        let mut outcome = result(rule, excluded.is_none(), detail).with("industry_code", code);
        if let Some(prefix) = excluded {
            outcome = outcome.with("excluded_prefix", prefix);
        }
        outcome
    }

    pub(super) fn not_excluded_soe(&self) -> RuleResult {
        let kind = self.facts.ownership;
        let excluded = self.params.excluded_ownership.contains(&kind);
        let detail = if excluded {
            format!("ownership {kind} is excluded (浙江省属、杭州市属和各区、县（市）属国有企业)")
        } else {
            format!("ownership {kind} is not excluded")
        };
        result(RuleId::NotExcludedSoe, !excluded, detail).with("ownership", kind)
    }

    /// §3.2. 2021年12月31日（含）前在杭注册或迁入杭州的存量企业 ≥ 10亿（含）; from 2022-01-01 (含)
    /// ≥ 5亿（含）.
    ///
    /// Without a `hangzhou_since` on record the category cannot be told, so the existing-enterprise
    /// (higher) threshold applies: meeting it satisfies §3.2 whichever category the enterprise is
    /// in, and the verdict never grants the lower threshold on a date the record does not hold.
    /// The text says which date to record, not which threshold to guess, so a finance officer
    /// expects the safe one and a fix of the record, not a silent benefit.
    pub(super) fn revenue_threshold(&self) -> Result<RuleResult, PolicyError> {
        let rule = RuleId::RevenueThreshold;
        let Some(figures) = self.figures else {
            return Ok(self.no_figures(rule));
        };
        let params = self.params;
        let (threshold, category) = match self.facts.hangzhou_since {
            Some(since) if since <= params.existing_cutoff => (
                params.revenue_threshold_existing,
                format!("existing enterprise, in Hangzhou since {since}"),
            ),
            Some(since) => (
                params.revenue_threshold_new,
                format!("new enterprise, in Hangzhou since {since}"),
            ),
            None => (
                params.revenue_threshold_existing,
                "no date of arrival in Hangzhou on record: the existing-enterprise threshold applies"
                    .to_owned(),
            ),
        };
        let (passed, gap) = at_least(figures.revenue, threshold)?;
        let detail = format!(
            "revenue {} {} {} ({category})",
            figures.revenue.yuan(),
            comparison(passed),
            threshold.yuan()
        );
        let mut outcome = result(rule, passed, detail)
            .with("figures_year", self.year - 1)
            .with("revenue", figures.revenue)
            .with("threshold", threshold)
            .with("existing_cutoff", params.existing_cutoff);
        if let Some(since) = self.facts.hangzhou_since {
            outcome = outcome.with("hangzhou_since", since);
        }
        Ok(outcome.with_gap(gap))
    }

    pub(super) fn rd_facilities(&self) -> RuleResult {
        flag(
            RuleId::RdFacilities,
            self.facts.rd_facilities,
            "complete research, development and testing facilities",
            "no R&D facilities on record (完善的研究、开发、实验条件)",
        )
    }

    pub(super) fn rd_stable_funding(&self) -> RuleResult {
        flag(
            RuleId::RdStableFunding,
            self.facts.rd_stable_funding,
            "stable source of R&D funding",
            "no stable R&D funding on record (稳定的研发经费来源)",
        )
    }

    /// §3.3 上年度在杭研发费用投入不低于5000万元 (不低于: inclusive).
    pub(super) fn rd_min_spend(&self) -> Result<RuleResult, PolicyError> {
        let rule = RuleId::RdMinSpend;
        let Some(figures) = self.figures else {
            return Ok(self.no_figures(rule));
        };
        let minimum = self.params.rd_min_spend;
        let (passed, gap) = at_least(figures.rd_spend, minimum)?;
        let detail = format!(
            "R&D {} {} {}",
            figures.rd_spend.yuan(),
            comparison(passed),
            minimum.yuan()
        );
        Ok(result(rule, passed, detail)
            .with("figures_year", self.year - 1)
            .with("rd_spend", figures.rd_spend)
            .with("rd_min_spend", minimum)
            .with_gap(gap))
    }

    /// §3.3 占在杭营业收入比例不低于10%: R&D ≥ ratio × revenue, compared exactly.
    ///
    /// R&D is a whole number of fen, so R&D ≥ ratio × revenue exactly iff R&D ≥ the product rounded
    /// UP to the fen; that rounded-up product is the least R&D that passes, and the gap is the
    /// missing amount to it.
    pub(super) fn rd_min_ratio(&self) -> Result<RuleResult, PolicyError> {
        let rule = RuleId::RdMinRatio;
        let Some(figures) = self.figures else {
            return Ok(self.no_figures(rule));
        };
        let ratio = self.params.rd_min_ratio;
        let required = figures.revenue.ceil_mul(ratio)?;
        let exact = figures.revenue.floor_mul(ratio)? == required;
        let (passed, gap) = at_least(figures.rd_spend, required)?;
        let rounding = if exact { "" } else { ", rounded up to the fen" };
        let detail = format!(
            "R&D {} {} {ratio} × revenue {} = {}{rounding}",
            figures.rd_spend.yuan(),
            comparison(passed),
            figures.revenue.yuan(),
            required.yuan()
        );
        Ok(result(rule, passed, detail)
            .with("figures_year", self.year - 1)
            .with("rd_spend", figures.rd_spend)
            .with("revenue", figures.revenue)
            .with("rd_min_ratio", ratio)
            .with("required_rd_spend", required)
            .with_gap(gap))
    }

    fn accepted_exchanges(&self) -> String {
        self.params.accepted_exchanges.join(", ")
    }

    /// §3.4 在上海证券交易所、深圳证券交易所、香港联交所、纳斯达克交易所、纽约证券交易所等上市.
    pub(super) fn listed_on_accepted_exchange(&self) -> RuleResult {
        let rule = RuleId::ListedOnAcceptedExchange;
        let Some(exchange) = &self.facts.listing_exchange else {
            return result(rule, false, "not listed");
        };
        let normalized = exchange.trim().to_ascii_uppercase();
        let accepted = self
            .params
            .accepted_exchanges
            .iter()
            .any(|code| code.trim().to_ascii_uppercase() == normalized);
        let detail = if accepted {
            format!("listed on {normalized}, an accepted exchange")
        } else {
            format!(
                "listed on {normalized}, not an accepted exchange ({})",
                self.accepted_exchanges()
            )
        };
        result(rule, accepted, detail).with("listing_exchange", normalized)
    }

    pub(super) fn listed_entity_in_hangzhou(&self) -> RuleResult {
        let rule = RuleId::ListedEntityInHangzhou;
        if self.facts.listing_exchange.is_none() {
            return result(rule, false, "not listed");
        }
        flag(
            rule,
            self.facts.listed_entity_in_hangzhou,
            "the listed entity is in Hangzhou (上市主体在杭)",
            "the listed entity is not in Hangzhou (上市主体在杭)",
        )
    }
}
