//! Recognition as a headquarters enterprise (总部企业认定, §3, §4) and the §22 ban.
//!
//! [`decide_recognition`] evaluates every rule of the rule table (docs/rules.md), in table order, for a year Y
//! on a decision date D: figures of Y−1, every other fact and every parameter as of D. The verdict
//! lists each rule with its clause, the figures used and, for a failed numeric rule, the gap; it
//! names the first route that passes (`STANDARD`, `RD`, `LISTED`).

/// The rules of the rule table (docs/rules.md), one function each, and what they read.
mod rules;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::ban::ban_in_force;
use super::money::Money;
use super::params::ParameterSet;
pub use super::registry::Facts;
use super::rule_set::RuleSet;
use super::{Clause, PolicyError};
use crate::code_enum;

use rules::{Context, not_banned};

code_enum! {
    /// The ownership kind of an enterprise; a subsidiary controlled by an SOE carries its
    /// controller's.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub enum Ownership: "ownership kind" {
        /// Privately owned.
        Private = "PRIVATE",
        /// Foreign-invested.
        Foreign = "FOREIGN",
        /// Collectively owned.
        Collective = "COLLECTIVE",
        /// Owned by the central government (央企): not excluded.
        CentralSoe = "CENTRAL_SOE",
        /// Owned by Zhejiang province (浙江省属): excluded by default.
        ProvincialSoe = "PROVINCIAL_SOE",
        /// Owned by Hangzhou (杭州市属): excluded by default.
        MunicipalSoe = "MUNICIPAL_SOE",
        /// Owned by a Hangzhou district or county (各区、县（市）属): excluded by default.
        DistrictSoe = "DISTRICT_SOE",
        /// Owned by another province or city: not excluded.
        OtherSoe = "OTHER_SOE",
        /// Anything else.
        Other = "OTHER",
    }
}

/// The yearly figures of Y−1 the rules use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    /// Hangzhou revenue (在杭营业收入), net of real-estate development income.
    pub revenue: Money,
    /// Hangzhou R&D spending (在杭研发费用).
    pub rd_spend: Money,
}

/// The parameters of recognition, as in force on the decision date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecognitionParams {
    /// `policy.valid_from`.
    pub policy_valid_from: NaiveDate,
    /// `policy.valid_to`.
    pub policy_valid_to: NaiveDate,
    /// `recognition.revenue_threshold.existing`: for enterprises in Hangzhou since the cutoff.
    pub revenue_threshold_existing: Money,
    /// `recognition.revenue_threshold.new`: for enterprises that arrived after the cutoff.
    pub revenue_threshold_new: Money,
    /// `recognition.existing_cutoff`: in Hangzhou since this day or earlier = existing.
    pub existing_cutoff: NaiveDate,
    /// `recognition.rd_min_spend`.
    pub rd_min_spend: Money,
    /// `recognition.rd_min_ratio`.
    pub rd_min_ratio: Decimal,
    /// `recognition.min_outside_units`.
    pub min_outside_units: u32,
    /// `recognition.excluded_industries`: GB/T 4754 prefixes.
    pub excluded_industries: Vec<String>,
    /// `recognition.review_industries`: exact classes that raise `NEEDS_REVIEW`.
    pub review_industries: Vec<String>,
    /// `recognition.excluded_ownership`.
    pub excluded_ownership: Vec<Ownership>,
    /// `recognition.accepted_exchanges`.
    pub accepted_exchanges: Vec<String>,
    /// `recognition.ban_years`.
    pub ban_years: u32,
    /// The ids of the parameter versions these values came from (empty when built by hand).
    pub parameter_versions: Vec<i64>,
    /// The parameter name of each id in `parameter_versions`, so a verdict cites only the
    /// versions of the rules its rule set applies.
    #[serde(default)]
    pub parameter_names: BTreeMap<i64, String>,
}

impl RecognitionParams {
    /// Reads the general parameter versions in force on `decided_on`.
    ///
    /// # Errors
    ///
    /// [`PolicyError::MissingParameter`], [`PolicyError::WrongParameterType`] or
    /// [`PolicyError::InvalidParameter`] (e.g. an unknown ownership kind, a ratio above 1).
    pub fn from_set(set: &ParameterSet, decided_on: NaiveDate) -> Result<Self, PolicyError> {
        let mut read = set.reader(decided_on, None);
        let mut params = RecognitionParams {
            policy_valid_from: read.date("policy.valid_from")?,
            policy_valid_to: read.date("policy.valid_to")?,
            revenue_threshold_existing: read.money("recognition.revenue_threshold.existing")?,
            revenue_threshold_new: read.money("recognition.revenue_threshold.new")?,
            existing_cutoff: read.date("recognition.existing_cutoff")?,
            rd_min_spend: read.money("recognition.rd_min_spend")?,
            rd_min_ratio: read.ratio("recognition.rd_min_ratio")?,
            min_outside_units: read.count("recognition.min_outside_units")?,
            excluded_industries: read.list("recognition.excluded_industries")?,
            review_industries: read.list("recognition.review_industries")?,
            excluded_ownership: read
                .parsed_list("recognition.excluded_ownership", str::parse::<Ownership>)?,
            accepted_exchanges: read.list("recognition.accepted_exchanges")?,
            ban_years: read.count("recognition.ban_years")?,
            parameter_versions: Vec::new(),
            parameter_names: BTreeMap::new(),
        };
        params.parameter_versions = read.used_version_ids();
        params.parameter_names = set
            .versions()
            .iter()
            .filter(|version| params.parameter_versions.contains(&version.id))
            .map(|version| (version.id, version.name.clone()))
            .collect();
        Ok(params)
    }

    /// The first year a recognition round may be held for: the year of `policy.valid_from`.
    #[must_use]
    pub fn first_year(&self) -> i32 {
        self.policy_valid_from.year()
    }

    /// The last year a recognition round may be held for: the year before `policy.valid_to`'s.
    #[must_use]
    pub fn last_year(&self) -> i32 {
        self.policy_valid_to.year() - 1
    }

    /// `year` is one of the policy's recognition rounds, [`Self::first_year`] to
    /// [`Self::last_year`].
    ///
    /// # Errors
    /// [`PolicyError::OutsidePolicyPeriod`] otherwise.
    pub fn ensure_round_year(&self, year: i32) -> Result<(), PolicyError> {
        let (first, last) = (self.first_year(), self.last_year());
        if (first..=last).contains(&year) {
            Ok(())
        } else {
            Err(PolicyError::OutsidePolicyPeriod { year, first, last })
        }
    }
}

code_enum! {
    /// A rule of the recognition table, in table order.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub enum RuleId: "rule id" {
        /// §22: D is after the end of every ban.
        NotBanned = "NOT_BANNED",
        /// §3.1: the industrial guidance flag is set.
        IndustrialGuidance = "INDUSTRIAL_GUIDANCE",
        /// §3.1: independent legal person, or deemed legal person.
        LegalPerson = "LEGAL_PERSON",
        /// §3.1: registered in a Hangzhou district.
        RegisteredInHangzhou = "REGISTERED_IN_HANGZHOU",
        /// §3.1: operating.
        Operating = "OPERATING",
        /// §3.1: unified accounting.
        UnifiedAccounting = "UNIFIED_ACCOUNTING",
        /// §3.1: enough branches / controlled subsidiaries outside Hangzhou.
        OutsideUnits = "OUTSIDE_UNITS",
        /// §3.1: not on the serious dishonesty list.
        NotDishonest = "NOT_DISHONEST",
        /// §3.1: the industry class starts with no excluded prefix.
        IndustryNotExcluded = "INDUSTRY_NOT_EXCLUDED",
        /// §3.1: the ownership kind is not excluded.
        NotExcludedSoe = "NOT_EXCLUDED_SOE",
        /// §3.2: revenue(Y−1) at or above the threshold.
        RevenueThreshold = "REVENUE_THRESHOLD",
        /// §3.3: R&D facilities.
        RdFacilities = "RD_FACILITIES",
        /// §3.3: stable R&D funding.
        RdStableFunding = "RD_STABLE_FUNDING",
        /// §3.3: R&D(Y−1) at or above the minimum.
        RdMinSpend = "RD_MIN_SPEND",
        /// §3.3: R&D(Y−1) ≥ ratio × revenue(Y−1).
        RdMinRatio = "RD_MIN_RATIO",
        /// §3.4: listed on an accepted exchange.
        ListedOnAcceptedExchange = "LISTED_ON_ACCEPTED_EXCHANGE",
        /// §3.4: the listed entity is in Hangzhou.
        ListedEntityInHangzhou = "LISTED_ENTITY_IN_HANGZHOU",
    }
}

impl RuleId {
    /// The basic conditions every route needs: `INDUSTRIAL_GUIDANCE` … `NOT_EXCLUDED_SOE`.
    pub const BASIC: [RuleId; 9] = [
        RuleId::IndustrialGuidance,
        RuleId::LegalPerson,
        RuleId::RegisteredInHangzhou,
        RuleId::Operating,
        RuleId::UnifiedAccounting,
        RuleId::OutsideUnits,
        RuleId::NotDishonest,
        RuleId::IndustryNotExcluded,
        RuleId::NotExcludedSoe,
    ];

    /// When the rule passes, in the words of the rule table (`hq-api rules` prints it).
    #[must_use]
    pub const fn condition(self) -> &'static str {
        match self {
            RuleId::NotBanned => {
                "the decision date is after the end of every ban (§22: two years from a revocation)"
            }
            RuleId::IndustrialGuidance => "the industrial guidance flag is set (符合产业导向)",
            RuleId::LegalPerson => {
                "an independent legal person, or a deemed legal person (视同法人)"
            }
            RuleId::RegisteredInHangzhou => "registered in a Hangzhou district (在杭注册)",
            RuleId::Operating => "operating (正常经营)",
            RuleId::UnifiedAccounting => "unified accounting (统一核算)",
            RuleId::OutsideUnits => {
                "at least the minimum number of branches or ≥50%-controlled subsidiaries outside Hangzhou"
            }
            RuleId::NotDishonest => "not on the serious dishonesty list (严重违法失信主体名单)",
            RuleId::IndustryNotExcluded => {
                "the industry class starts with none of the excluded prefixes"
            }
            RuleId::NotExcludedSoe => "the ownership kind is not excluded",
            RuleId::RevenueThreshold => {
                "Hangzhou revenue of Y−1 at or above the threshold for an existing (in Hangzhou on or before the cutoff) or a new enterprise（含）"
            }
            RuleId::RdFacilities => "R&D facilities (研发机构)",
            RuleId::RdStableFunding => "stable R&D funding (研发投入稳定)",
            RuleId::RdMinSpend => "Hangzhou R&D spending of Y−1 at or above the minimum",
            RuleId::RdMinRatio => {
                "R&D spending of Y−1 at or above the ratio × revenue of Y−1, compared exactly"
            }
            RuleId::ListedOnAcceptedExchange => "listed on an accepted exchange",
            RuleId::ListedEntityInHangzhou => "the listed entity is in Hangzhou",
        }
    }

    /// The policy parameters the rule reads (their versions in force on the decision date).
    #[must_use]
    pub const fn parameters(self) -> &'static [&'static str] {
        match self {
            RuleId::NotBanned => &["recognition.ban_years"],
            RuleId::OutsideUnits => &["recognition.min_outside_units"],
            RuleId::IndustryNotExcluded => &["recognition.excluded_industries"],
            RuleId::NotExcludedSoe => &["recognition.excluded_ownership"],
            RuleId::RevenueThreshold => &[
                "recognition.revenue_threshold.existing",
                "recognition.revenue_threshold.new",
                "recognition.existing_cutoff",
            ],
            RuleId::RdMinSpend => &["recognition.rd_min_spend"],
            RuleId::RdMinRatio => &["recognition.rd_min_ratio"],
            RuleId::ListedOnAcceptedExchange => &["recognition.accepted_exchanges"],
            RuleId::IndustrialGuidance
            | RuleId::LegalPerson
            | RuleId::RegisteredInHangzhou
            | RuleId::Operating
            | RuleId::UnifiedAccounting
            | RuleId::NotDishonest
            | RuleId::RdFacilities
            | RuleId::RdStableFunding
            | RuleId::ListedEntityInHangzhou => &[],
        }
    }

    /// The clause the rule comes from.
    #[must_use]
    pub const fn clause(self) -> Clause {
        match self {
            RuleId::NotBanned => Clause::S22,
            RuleId::IndustrialGuidance
            | RuleId::LegalPerson
            | RuleId::RegisteredInHangzhou
            | RuleId::Operating
            | RuleId::UnifiedAccounting
            | RuleId::OutsideUnits
            | RuleId::NotDishonest
            | RuleId::IndustryNotExcluded
            | RuleId::NotExcludedSoe => Clause::S3_1,
            RuleId::RevenueThreshold => Clause::S3_2,
            RuleId::RdFacilities
            | RuleId::RdStableFunding
            | RuleId::RdMinSpend
            | RuleId::RdMinRatio => Clause::S3_3,
            RuleId::ListedOnAcceptedExchange | RuleId::ListedEntityInHangzhou => Clause::S3_4,
        }
    }
}

code_enum! {
    /// A way to be recognised; tried in the order `STANDARD`, `RD`, `LISTED` (`ALL`'s order).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub enum Route: "route" {
        /// §3.1 + §3.2: the basic conditions and the revenue threshold.
        Standard = "STANDARD",
        /// §3.1 + §3.3: the basic conditions and the four R&D rules (研发型总部).
        Rd = "RD",
        /// §3.1 + §3.4: the basic conditions and the two listing rules (上市企业总部).
        Listed = "LISTED",
    }
}

impl Route {
    /// The rules beyond the basic ones that the route needs.
    #[must_use]
    pub const fn own_rules(self) -> &'static [RuleId] {
        match self {
            Route::Standard => &[RuleId::RevenueThreshold],
            Route::Rd => &[
                RuleId::RdFacilities,
                RuleId::RdStableFunding,
                RuleId::RdMinSpend,
                RuleId::RdMinRatio,
            ],
            Route::Listed => &[
                RuleId::ListedOnAcceptedExchange,
                RuleId::ListedEntityInHangzhou,
            ],
        }
    }

    /// Every rule the route needs: the basic ones, then its own.
    pub fn rules(self) -> impl Iterator<Item = RuleId> {
        RuleId::BASIC
            .into_iter()
            .chain(self.own_rules().iter().copied())
    }
}

/// A value a rule used, for the verdict's record (e.g. `revenue` = `463000000.00`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figure {
    /// What the value is.
    pub name: Cow<'static, str>,
    /// The value as text (amounts plain, e.g. `463000000.00`; dates ISO).
    pub value: String,
}

/// By how much a failed numeric rule missed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Gap {
    /// An amount still missing, e.g. revenue below the threshold.
    Money(Money),
    /// Branches or subsidiaries still missing.
    Units(u32),
}

impl fmt::Display for Gap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Gap::Money(amount) => fmt::Display::fmt(&amount.yuan(), f),
            Gap::Units(units) => write!(f, "{units}"),
        }
    }
}

/// The outcome of one rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleResult {
    /// The rule.
    pub rule: RuleId,
    /// Its clause.
    pub clause: Clause,
    /// Whether it passed.
    pub passed: bool,
    /// Human text with the figures, e.g.
    /// `revenue 463,000,000.00 < 500,000,000.00 (new enterprise, in Hangzhou since 2022-03-01)`.
    pub detail: Cow<'static, str>,
    /// The values used.
    pub figures: Vec<Figure>,
    /// For a failed numeric rule, by how much it missed.
    pub gap: Option<Gap>,
}

/// Whether a route passed, and which of its rules failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteOutcome {
    /// The route.
    pub route: Route,
    /// Whether all its rules passed.
    pub passed: bool,
    /// Its failed rules, in table order.
    pub failed: Vec<RuleId>,
}

/// The recognition verdict for one enterprise, year and decision date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecognitionVerdict {
    /// The recognition year Y.
    pub year: i32,
    /// The decision date D.
    pub decided_on: NaiveDate,
    /// `NOT_BANNED` passed and some route passed.
    pub eligible: bool,
    /// The first route that passed, when eligible (`None` when not eligible, even if a route's
    /// rules passed under a ban).
    pub route: Option<Route>,
    /// Every rule, in table order.
    pub rules: Vec<RuleResult>,
    /// Every route, in the order tried.
    pub routes: Vec<RouteOutcome>,
    /// The industry class is one of `recognition.review_industries` (`NEEDS_REVIEW`); does not
    /// change eligibility.
    pub needs_review: bool,
    /// The last day of the §22 ban in force on D, if banned.
    pub ban_until: Option<NaiveDate>,
    /// Every rule that did not pass, in table order (also those of routes not needed).
    pub failed: Vec<RuleId>,
    /// The parameter versions the verdict used.
    pub parameter_versions: Vec<i64>,
    /// The code of the rule set decided under, e.g. `HZ-2023-3` (empty in verdicts stored before
    /// rule sets were chosen by date: those were all decided under `HZ-2023-3`, as their
    /// recognition row records).
    #[serde(default)]
    pub rule_set: String,
    /// The rules of the rule table the rule set does not apply, in table order: not evaluated,
    /// and absent from `rules`, `routes` and `failed`.
    #[serde(default)]
    pub not_in_force: Vec<RuleId>,
}

impl RecognitionVerdict {
    /// The result of `rule`.
    #[must_use]
    pub fn rule(&self, rule: RuleId) -> Option<&RuleResult> {
        self.rules.iter().find(|result| result.rule == rule)
    }

    /// Refuses an ineligible verdict: what recognising it would violate.
    ///
    /// # Errors
    ///
    /// [`PolicyError::NotEligible`] listing the failed rules, when not eligible.
    pub fn ensure_eligible(&self) -> Result<(), PolicyError> {
        if self.eligible {
            Ok(())
        } else {
            Err(PolicyError::NotEligible {
                year: self.year,
                failed: self.failed.clone(),
            })
        }
    }
}

/// Decides recognition for `year` on `decided_on` under `rule_set` (the one in force on
/// `decided_on`: [`crate::rule_set::in_force`]).
///
/// `figures` are those of `year − 1`; `facts` and `params` are as of `decided_on`; `revocations` are
/// the dates the title was revoked (§22), in any order. Every rule the rule set applies is
/// evaluated and listed in table order; eligible = `NOT_BANNED` passes (or is not in force) and
/// some route the rule set offers passes.
///
/// INTERPRETATION(§3.1): a rule a later document drops (杭政办〔2024〕1号 drops the SOE
/// exclusion) is not evaluated at all: it is absent from the rules, routes and failed rules of
/// the verdict, which lists it under `not_in_force` beside the rule set's code, so a finance
/// officer sees it was left out by the document and not passed by the enterprise.
///
/// # Errors
///
/// [`PolicyError::OutsidePolicyPeriod`] for a year outside the policy's rounds (2023–2027 with the
/// shipped parameters); [`PolicyError::Money`] if an amount computation leaves the range of
/// `Money` (only for absurd figures).
pub fn decide_recognition(
    rule_set: &RuleSet,
    facts: &Facts,
    figures: Option<&Figures>,
    revocations: &[NaiveDate],
    year: i32,
    decided_on: NaiveDate,
    params: &RecognitionParams,
) -> Result<RecognitionVerdict, PolicyError> {
    RecognitionPolicy::new(rule_set.clone(), params.clone()).decide(
        facts,
        figures,
        revocations,
        year,
        decided_on,
    )
}

/// A rule set with the parameters read on one decision date, and what every verdict under
/// them reads that no enterprise changes (the routes offered, the rules not in force, the
/// parameter versions cited), worked out once. [`RecognitionPolicy::decide`] is
/// [`decide_recognition`] under it: the yearly round decides every enterprise of a date under
/// one, instead of working those out again for each.
#[derive(Debug, Clone)]
pub struct RecognitionPolicy {
    rule_set: RuleSet,
    params: RecognitionParams,
    /// The routes offered, in the order tried, each with its rules in force (basic and own).
    routes: Vec<(Route, Vec<RuleId>)>,
    not_in_force: Vec<RuleId>,
    cited_versions: Vec<i64>,
}

impl RecognitionPolicy {
    /// `rule_set` (the one in force on the decision date) with `params` (as of that date).
    #[must_use]
    pub fn new(rule_set: RuleSet, params: RecognitionParams) -> RecognitionPolicy {
        RecognitionPolicy {
            routes: rule_set
                .routes()
                .into_iter()
                .map(|route| {
                    (
                        route,
                        route.rules().filter(|&r| rule_set.applies(r)).collect(),
                    )
                })
                .collect(),
            not_in_force: rule_set.not_in_force(),
            cited_versions: cited_versions(&rule_set, &params),
            rule_set,
            params,
        }
    }

    /// The rule set.
    #[must_use]
    pub fn rule_set(&self) -> &RuleSet {
        &self.rule_set
    }

    /// The parameters.
    #[must_use]
    pub fn params(&self) -> &RecognitionParams {
        &self.params
    }

    /// The verdict of [`decide_recognition`] under this rule set and these parameters.
    ///
    /// # Errors
    ///
    /// As [`decide_recognition`].
    pub fn decide(
        &self,
        facts: &Facts,
        figures: Option<&Figures>,
        revocations: &[NaiveDate],
        year: i32,
        decided_on: NaiveDate,
    ) -> Result<RecognitionVerdict, PolicyError> {
        let (rule_set, params) = (&self.rule_set, &self.params);
        // §final: 本意见自2023年2月20日起施行，有效期至2028年2月20日.
        // INTERPRETATION(§final): a 2028 round would be decided after the policy ends on 2028-02-20.
        // A round for Y is decided during Y on the figures of Y−1, so rounds run from the year of
        // `policy.valid_from` to the year before that of `policy.valid_to`: 2023..=2027.
        params.ensure_round_year(year)?;

        let ctx = Context {
            facts,
            figures,
            year,
            params,
        };
        let ban = ban_in_force(revocations, params.ban_years, decided_on);
        let rules = vec![
            not_banned(revocations, decided_on, params.ban_years),
            ctx.industrial_guidance(),
            ctx.legal_person(),
            ctx.registered_in_hangzhou(),
            ctx.operating(),
            ctx.unified_accounting(),
            ctx.outside_units(),
            ctx.not_dishonest(),
            ctx.industry_not_excluded(),
            ctx.not_excluded_soe(),
            ctx.revenue_threshold()?,
            ctx.rd_facilities(),
            ctx.rd_stable_funding(),
            ctx.rd_min_spend()?,
            ctx.rd_min_ratio()?,
            ctx.listed_on_accepted_exchange(),
            ctx.listed_entity_in_hangzhou(),
        ];
        debug_assert!(
            rules.iter().map(|r| r.rule).eq(RuleId::ALL),
            "rules are listed in table order"
        );
        let rules: Vec<RuleResult> = rules
            .into_iter()
            .filter(|result| rule_set.applies(result.rule))
            .collect();

        let passed = |rule: RuleId| rules.iter().any(|r| r.rule == rule && r.passed);
        let routes: Vec<RouteOutcome> = self
            .routes
            .iter()
            .map(|(route, in_force)| {
                let route = *route;
                let failed: Vec<RuleId> = in_force
                    .iter()
                    .copied()
                    .filter(|&rule| !passed(rule))
                    .collect();
                RouteOutcome {
                    route,
                    passed: failed.is_empty(),
                    failed,
                }
            })
            .collect();
        let first_route = routes
            .iter()
            .find(|outcome| outcome.passed)
            .map(|o| o.route);
        let not_banned = !rule_set.applies(RuleId::NotBanned) || passed(RuleId::NotBanned);
        let eligible = not_banned && first_route.is_some();
        let failed = rules.iter().filter(|r| !r.passed).map(|r| r.rule).collect();

        Ok(RecognitionVerdict {
            year,
            decided_on,
            eligible,
            route: if eligible { first_route } else { None },
            rules,
            routes,
            needs_review: ctx.needs_review(),
            ban_until: ban
                .filter(|_| rule_set.applies(RuleId::NotBanned))
                .map(|b| b.ends_on),
            failed,
            parameter_versions: self.cited_versions.clone(),
            rule_set: rule_set.code.clone(),
            not_in_force: self.not_in_force.clone(),
        })
    }
}

/// The parameter versions a verdict under `rule_set` used: all those read, except the versions
/// of a parameter only rules the rule set does not apply read (`recognition.excluded_ownership`
/// once `NOT_EXCLUDED_SOE` is dropped). A version whose name is not known is kept.
fn cited_versions(rule_set: &RuleSet, params: &RecognitionParams) -> Vec<i64> {
    let unread = |name: &str| {
        let read_by = |rule: &RuleId| rule.parameters().contains(&name);
        RuleId::ALL.iter().any(read_by)
            && !RuleId::ALL
                .iter()
                .any(|rule| rule_set.applies(*rule) && read_by(rule))
    };
    params
        .parameter_versions
        .iter()
        .copied()
        .filter(|id| {
            params
                .parameter_names
                .get(id)
                .is_none_or(|name| !unread(name))
        })
        .collect()
}

#[cfg(test)]
mod tests;
