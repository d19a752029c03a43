//! Recognition as a headquarters enterprise (总部企业认定, §3, §4) and the §22 ban.
//!
//! [`decide_recognition`] evaluates every rule of POLICY.md's table, in table order, for a year Y
//! on a decision date D: figures of Y−1, every other fact and every parameter as of D. The verdict
//! lists each rule with its clause, the figures used and, for a failed numeric rule, the gap; it
//! names the first route that passes (`STANDARD`, `RD`, `LISTED`).

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::ban::{ban_in_force, latest_ban};
use super::money::{Money, MoneyError};
use super::params::ParameterSet;
use super::{Clause, PolicyError};

/// The ownership kind of an enterprise; a subsidiary controlled by an SOE carries its controller's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Ownership {
    /// Privately owned.
    Private,
    /// Foreign-invested.
    Foreign,
    /// Collectively owned.
    Collective,
    /// Owned by the central government (央企): not excluded.
    CentralSoe,
    /// Owned by Zhejiang province (浙江省属): excluded by default.
    ProvincialSoe,
    /// Owned by Hangzhou (杭州市属): excluded by default.
    MunicipalSoe,
    /// Owned by a Hangzhou district or county (各区、县（市）属): excluded by default.
    DistrictSoe,
    /// Owned by another province or city: not excluded.
    OtherSoe,
    /// Anything else.
    Other,
}

impl Ownership {
    /// Every kind, in the documented order.
    pub const ALL: [Ownership; 9] = [
        Ownership::Private,
        Ownership::Foreign,
        Ownership::Collective,
        Ownership::CentralSoe,
        Ownership::ProvincialSoe,
        Ownership::MunicipalSoe,
        Ownership::DistrictSoe,
        Ownership::OtherSoe,
        Ownership::Other,
    ];

    /// The stable code, e.g. `"CENTRAL_SOE"`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Ownership::Private => "PRIVATE",
            Ownership::Foreign => "FOREIGN",
            Ownership::Collective => "COLLECTIVE",
            Ownership::CentralSoe => "CENTRAL_SOE",
            Ownership::ProvincialSoe => "PROVINCIAL_SOE",
            Ownership::MunicipalSoe => "MUNICIPAL_SOE",
            Ownership::DistrictSoe => "DISTRICT_SOE",
            Ownership::OtherSoe => "OTHER_SOE",
            Ownership::Other => "OTHER",
        }
    }

    /// Parses a code as written by [`Ownership::as_str`].
    ///
    /// # Errors
    ///
    /// [`UnknownOwnership`] for any other text.
    pub fn parse(code: &str) -> Result<Ownership, UnknownOwnership> {
        Ownership::ALL
            .into_iter()
            .find(|kind| kind.as_str() == code)
            .ok_or_else(|| UnknownOwnership(code.to_owned()))
    }
}

impl fmt::Display for Ownership {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Ownership {
    type Err = UnknownOwnership;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ownership::parse(s)
    }
}

/// A text that is not an ownership kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown ownership kind `{0}`: expected PRIVATE, FOREIGN, COLLECTIVE, CENTRAL_SOE, \
     PROVINCIAL_SOE, MUNICIPAL_SOE, DISTRICT_SOE, OTHER_SOE or OTHER"
)]
pub struct UnknownOwnership(pub String);

/// The facts of an enterprise as of the decision date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnterpriseFacts {
    /// The Hangzhou district (GB/T 2260 code) it is registered in; `None` outside Hangzhou.
    pub district: Option<String>,
    /// The first day of its current continuous stay in Hangzhou (registration or moving in).
    pub hangzhou_since: Option<NaiveDate>,
    /// Its GB/T 4754-2017 class, 4 digits without section letter, e.g. `7211`.
    pub industry_code: String,
    /// Its ownership kind.
    pub ownership: Ownership,
    /// 符合杭州市产业发展导向, set by the HQ office.
    pub industrial_guidance: bool,
    /// 具有独立法人资格.
    pub independent_legal_person: bool,
    /// 视同法人的汽车整车制造行业活动单位.
    pub deemed_legal_person: bool,
    /// 开展经营.
    pub operating: bool,
    /// 实行统一核算.
    pub unified_accounting: bool,
    /// 具备完善的研究、开发、实验条件.
    pub rd_facilities: bool,
    /// 具有稳定的研发经费来源.
    pub stable_rd_funding: bool,
    /// Branches and ≥50%-controlled subsidiaries outside Hangzhou.
    pub outside_units: u32,
    /// The exchange it is listed on (e.g. `HKEX`), if any.
    pub listing_exchange: Option<String>,
    /// Whether the listed entity is in Hangzhou (上市主体在杭).
    pub listed_entity_in_hangzhou: bool,
    /// On the serious dishonesty list (严重违法失信主体名单).
    pub dishonest: bool,
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
                .parsed_list("recognition.excluded_ownership", Ownership::parse)?,
            accepted_exchanges: read.list("recognition.accepted_exchanges")?,
            ban_years: read.count("recognition.ban_years")?,
            parameter_versions: Vec::new(),
        };
        params.parameter_versions = read.used_version_ids();
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
}

/// A rule of the recognition table, in table order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RuleId {
    /// §22: D is after the end of every ban.
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

impl RuleId {
    /// Every rule, in table order.
    pub const ALL: [RuleId; 17] = [
        RuleId::NotBanned,
        RuleId::IndustrialGuidance,
        RuleId::LegalPerson,
        RuleId::RegisteredInHangzhou,
        RuleId::Operating,
        RuleId::UnifiedAccounting,
        RuleId::OutsideUnits,
        RuleId::NotDishonest,
        RuleId::IndustryNotExcluded,
        RuleId::NotExcludedSoe,
        RuleId::RevenueThreshold,
        RuleId::RdFacilities,
        RuleId::RdStableFunding,
        RuleId::RdMinSpend,
        RuleId::RdMinRatio,
        RuleId::ListedOnAcceptedExchange,
        RuleId::ListedEntityInHangzhou,
    ];

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

    /// The stable id, e.g. `"REVENUE_THRESHOLD"`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            RuleId::NotBanned => "NOT_BANNED",
            RuleId::IndustrialGuidance => "INDUSTRIAL_GUIDANCE",
            RuleId::LegalPerson => "LEGAL_PERSON",
            RuleId::RegisteredInHangzhou => "REGISTERED_IN_HANGZHOU",
            RuleId::Operating => "OPERATING",
            RuleId::UnifiedAccounting => "UNIFIED_ACCOUNTING",
            RuleId::OutsideUnits => "OUTSIDE_UNITS",
            RuleId::NotDishonest => "NOT_DISHONEST",
            RuleId::IndustryNotExcluded => "INDUSTRY_NOT_EXCLUDED",
            RuleId::NotExcludedSoe => "NOT_EXCLUDED_SOE",
            RuleId::RevenueThreshold => "REVENUE_THRESHOLD",
            RuleId::RdFacilities => "RD_FACILITIES",
            RuleId::RdStableFunding => "RD_STABLE_FUNDING",
            RuleId::RdMinSpend => "RD_MIN_SPEND",
            RuleId::RdMinRatio => "RD_MIN_RATIO",
            RuleId::ListedOnAcceptedExchange => "LISTED_ON_ACCEPTED_EXCHANGE",
            RuleId::ListedEntityInHangzhou => "LISTED_ENTITY_IN_HANGZHOU",
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

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A way to be recognised; tried in the order `STANDARD`, `RD`, `LISTED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Route {
    /// §3.1 + §3.2: the basic conditions and the revenue threshold.
    Standard,
    /// §3.1 + §3.3: the basic conditions and the four R&D rules (研发型总部).
    Rd,
    /// §3.1 + §3.4: the basic conditions and the two listing rules (上市企业总部).
    Listed,
}

impl Route {
    /// The routes, in the order they are tried.
    pub const ALL: [Route; 3] = [Route::Standard, Route::Rd, Route::Listed];

    /// The stable id, e.g. `"STANDARD"`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Route::Standard => "STANDARD",
            Route::Rd => "RD",
            Route::Listed => "LISTED",
        }
    }

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

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A value a rule used, for the verdict's record (e.g. `revenue` = `463000000.00`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figure {
    /// What the value is.
    pub name: String,
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
            Gap::Money(amount) => f.write_str(&amount.format_yuan()),
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
    pub detail: String,
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

/// Decides recognition for `year` on `decided_on`.
///
/// `figures` are those of `year − 1`; `facts` and `params` are as of `decided_on`; `revocations` are
/// the dates the title was revoked (§22), in any order. Every rule is evaluated and listed in table
/// order; eligible = `NOT_BANNED` passes and some route passes.
///
/// # Errors
///
/// [`PolicyError::OutsidePolicyPeriod`] for a year outside the policy's rounds (2023–2027 with the
/// shipped parameters); [`PolicyError::Money`] if an amount computation leaves the range of
/// `Money` (only for absurd figures).
pub fn decide_recognition(
    facts: &EnterpriseFacts,
    figures: Option<&Figures>,
    revocations: &[NaiveDate],
    year: i32,
    decided_on: NaiveDate,
    params: &RecognitionParams,
) -> Result<RecognitionVerdict, PolicyError> {
    // §final: 本意见自2023年2月20日起施行，有效期至2028年2月20日.
    // [interpretation: a 2028 round would be decided after the policy ends on 2028-02-20]
    // A round for Y is decided during Y on the figures of Y−1, so rounds run from the year of
    // `policy.valid_from` to the year before that of `policy.valid_to`: 2023..=2027.
    let (first, last) = (params.first_year(), params.last_year());
    if !(first..=last).contains(&year) {
        return Err(PolicyError::OutsidePolicyPeriod { year, first, last });
    }

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

    let passed = |rule: RuleId| rules.iter().any(|r| r.rule == rule && r.passed);
    let routes: Vec<RouteOutcome> = Route::ALL
        .into_iter()
        .map(|route| {
            let failed: Vec<RuleId> = route.rules().filter(|&rule| !passed(rule)).collect();
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
    let eligible = passed(RuleId::NotBanned) && first_route.is_some();
    let failed = rules.iter().filter(|r| !r.passed).map(|r| r.rule).collect();

    Ok(RecognitionVerdict {
        year,
        decided_on,
        eligible,
        route: if eligible { first_route } else { None },
        rules,
        routes,
        needs_review: ctx.needs_review(),
        ban_until: ban.map(|b| b.ends_on),
        failed,
        parameter_versions: params.parameter_versions.clone(),
    })
}

/// What the rule functions read.
struct Context<'a> {
    facts: &'a EnterpriseFacts,
    figures: Option<&'a Figures>,
    year: i32,
    params: &'a RecognitionParams,
}

fn result(rule: RuleId, passed: bool, detail: impl Into<String>) -> RuleResult {
    RuleResult {
        rule,
        clause: rule.clause(),
        passed,
        detail: detail.into(),
        figures: Vec::new(),
        gap: None,
    }
}

impl RuleResult {
    fn with(mut self, name: &str, value: impl fmt::Display) -> RuleResult {
        self.figures.push(Figure {
            name: name.to_owned(),
            value: value.to_string(),
        });
        self
    }

    fn with_gap(mut self, gap: Option<Gap>) -> RuleResult {
        self.gap = gap;
        self
    }
}

/// A boolean fact: passes when set, with the text for either case.
fn flag(rule: RuleId, set: bool, yes: &str, no: &str) -> RuleResult {
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

/// §22, with the ban of [`super::ban`].
fn not_banned(revocations: &[NaiveDate], decided_on: NaiveDate, ban_years: u32) -> RuleResult {
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

    fn industrial_guidance(&self) -> RuleResult {
        flag(
            RuleId::IndustrialGuidance,
            self.facts.industrial_guidance,
            "industrial guidance flag set (符合杭州市产业发展导向)",
            "industrial guidance flag not set (符合杭州市产业发展导向)",
        )
    }

    fn legal_person(&self) -> RuleResult {
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

    fn registered_in_hangzhou(&self) -> RuleResult {
        match &self.facts.district {
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

    fn operating(&self) -> RuleResult {
        flag(
            RuleId::Operating,
            self.facts.operating,
            "operating",
            "not operating",
        )
    }

    fn unified_accounting(&self) -> RuleResult {
        flag(
            RuleId::UnifiedAccounting,
            self.facts.unified_accounting,
            "unified accounting (统一核算)",
            "no unified accounting (统一核算)",
        )
    }

    fn outside_units(&self) -> RuleResult {
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

    fn not_dishonest(&self) -> RuleResult {
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
    fn needs_review(&self) -> bool {
        self.industry_is_well_formed()
            && self
                .params
                .review_industries
                .contains(&self.facts.industry_code)
    }

    fn industry_not_excluded(&self) -> RuleResult {
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

    fn not_excluded_soe(&self) -> RuleResult {
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
    fn revenue_threshold(&self) -> Result<RuleResult, PolicyError> {
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
            figures.revenue.format_yuan(),
            comparison(passed),
            threshold.format_yuan()
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

    fn rd_facilities(&self) -> RuleResult {
        flag(
            RuleId::RdFacilities,
            self.facts.rd_facilities,
            "complete research, development and testing facilities",
            "no R&D facilities on record (完善的研究、开发、实验条件)",
        )
    }

    fn rd_stable_funding(&self) -> RuleResult {
        flag(
            RuleId::RdStableFunding,
            self.facts.stable_rd_funding,
            "stable source of R&D funding",
            "no stable R&D funding on record (稳定的研发经费来源)",
        )
    }

    /// §3.3 上年度在杭研发费用投入不低于5000万元 (不低于: inclusive).
    fn rd_min_spend(&self) -> Result<RuleResult, PolicyError> {
        let rule = RuleId::RdMinSpend;
        let Some(figures) = self.figures else {
            return Ok(self.no_figures(rule));
        };
        let minimum = self.params.rd_min_spend;
        let (passed, gap) = at_least(figures.rd_spend, minimum)?;
        let detail = format!(
            "R&D {} {} {}",
            figures.rd_spend.format_yuan(),
            comparison(passed),
            minimum.format_yuan()
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
    fn rd_min_ratio(&self) -> Result<RuleResult, PolicyError> {
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
            figures.rd_spend.format_yuan(),
            comparison(passed),
            figures.revenue.format_yuan(),
            required.format_yuan()
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
    fn listed_on_accepted_exchange(&self) -> RuleResult {
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

    fn listed_entity_in_hangzhou(&self) -> RuleResult {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        s.parse().expect("test date")
    }

    fn yuan(s: &str) -> Money {
        s.parse().expect("test amount")
    }

    /// The shipped parameters as in force on 2024-05-01.
    fn params() -> RecognitionParams {
        RecognitionParams::from_set(&ParameterSet::shipped_defaults(), date("2024-05-01"))
            .expect("shipped defaults are complete")
    }

    /// An enterprise that passes the basic rules and the STANDARD route with 2023 revenue of
    /// 1.2 billion, but neither the RD nor the LISTED route.
    fn enterprise() -> EnterpriseFacts {
        EnterpriseFacts {
            district: Some("330106".to_owned()),
            hangzhou_since: Some(date("2015-06-01")),
            industry_code: "7211".to_owned(),
            ownership: Ownership::Private,
            industrial_guidance: true,
            independent_legal_person: true,
            deemed_legal_person: false,
            operating: true,
            unified_accounting: true,
            rd_facilities: false,
            stable_rd_funding: false,
            outside_units: 2,
            listing_exchange: None,
            listed_entity_in_hangzhou: false,
            dishonest: false,
        }
    }

    fn figures(revenue: &str, rd_spend: &str) -> Figures {
        Figures {
            revenue: yuan(revenue),
            rd_spend: yuan(rd_spend),
        }
    }

    fn standard_figures() -> Figures {
        figures("1200000000.00", "0")
    }

    fn decide(facts: &EnterpriseFacts, figures: Option<&Figures>) -> RecognitionVerdict {
        decide_recognition(facts, figures, &[], 2024, date("2024-05-01"), &params())
            .expect("2024 is in the policy period")
    }

    fn rule(verdict: &RecognitionVerdict, rule: RuleId) -> &RuleResult {
        verdict.rule(rule).expect("every rule is listed")
    }

    #[test]
    fn the_reference_enterprise_is_eligible_by_the_standard_route() {
        let verdict = decide(&enterprise(), Some(&standard_figures()));
        assert!(verdict.eligible);
        assert_eq!(verdict.route, Some(Route::Standard));
        assert!(!verdict.needs_review);
        assert_eq!(verdict.ban_until, None);
        assert_eq!(
            verdict.failed,
            [
                RuleId::RdFacilities,
                RuleId::RdStableFunding,
                RuleId::RdMinSpend,
                RuleId::RdMinRatio,
                RuleId::ListedOnAcceptedExchange,
                RuleId::ListedEntityInHangzhou,
            ]
        );
        assert_eq!(verdict.ensure_eligible(), Ok(()));
    }

    #[test]
    fn every_rule_is_evaluated_and_listed_in_table_order_with_its_clause() {
        let facts = EnterpriseFacts {
            district: None,
            dishonest: true,
            ..enterprise()
        };
        let verdict = decide(&facts, None);
        let ids: Vec<RuleId> = verdict.rules.iter().map(|r| r.rule).collect();
        assert_eq!(ids, RuleId::ALL);
        for result in &verdict.rules {
            assert_eq!(result.clause, result.rule.clause());
        }
        let clauses: Vec<&str> = verdict.rules.iter().map(|r| r.clause.as_str()).collect();
        assert_eq!(
            clauses,
            [
                "§22", "§3.1", "§3.1", "§3.1", "§3.1", "§3.1", "§3.1", "§3.1", "§3.1", "§3.1",
                "§3.2", "§3.3", "§3.3", "§3.3", "§3.3", "§3.4", "§3.4"
            ]
        );
    }

    #[test]
    fn the_revenue_threshold_depends_on_the_stay_in_hangzhou_and_is_inclusive() {
        let cases = [
            // (hangzhou_since, revenue, passes, threshold)
            ("2021-12-31", "1000000000.00", true, "1000000000.00"),
            ("2021-12-31", "999999999.99", false, "1000000000.00"),
            ("2021-12-31", "500000000.00", false, "1000000000.00"),
            ("2022-01-01", "500000000.00", true, "500000000.00"),
            ("2022-01-01", "499999999.99", false, "500000000.00"),
            ("2022-01-01", "999999999.99", true, "500000000.00"),
            ("2015-06-01", "1000000000.00", true, "1000000000.00"),
            ("2024-01-01", "500000000.00", true, "500000000.00"),
        ];
        for (since, revenue, passes, threshold) in cases {
            let facts = EnterpriseFacts {
                hangzhou_since: Some(date(since)),
                ..enterprise()
            };
            let verdict = decide(&facts, Some(&figures(revenue, "0")));
            let result = rule(&verdict, RuleId::RevenueThreshold);
            assert_eq!(
                result.passed, passes,
                "{since} {revenue}: {}",
                result.detail
            );
            assert_eq!(verdict.eligible, passes, "{since} {revenue}");
            assert!(
                result.figures.contains(&Figure {
                    name: "threshold".to_owned(),
                    value: threshold.to_owned()
                }),
                "{since} {revenue}: {:?}",
                result.figures
            );
        }
    }

    #[test]
    fn a_failed_revenue_rule_states_the_figures_and_the_gap() {
        let facts = EnterpriseFacts {
            hangzhou_since: Some(date("2022-03-01")),
            ..enterprise()
        };
        let verdict = decide(&facts, Some(&figures("463000000.00", "0")));
        let result = rule(&verdict, RuleId::RevenueThreshold);
        assert!(!result.passed);
        assert_eq!(
            result.detail,
            "revenue 463,000,000.00 < 500,000,000.00 (new enterprise, in Hangzhou since 2022-03-01)"
        );
        assert_eq!(result.gap, Some(Gap::Money(yuan("37000000.00"))));
        assert_eq!(result.clause, Clause::S3_2);
    }

    #[test]
    fn revenue_one_fen_under_the_threshold_has_a_gap_of_one_fen() {
        let verdict = decide(&enterprise(), Some(&figures("999999999.99", "0")));
        assert_eq!(
            rule(&verdict, RuleId::RevenueThreshold).gap,
            Some(Gap::Money(Money::from_fen(1)))
        );
    }

    #[test]
    fn without_a_date_of_arrival_the_higher_existing_threshold_applies() {
        let facts = EnterpriseFacts {
            hangzhou_since: None,
            ..enterprise()
        };
        let cases = [
            ("1000000000.00", true),
            ("999999999.99", false),
            ("500000000.00", false),
        ];
        for (revenue, passes) in cases {
            let verdict = decide(&facts, Some(&figures(revenue, "0")));
            let result = rule(&verdict, RuleId::RevenueThreshold);
            assert_eq!(result.passed, passes, "{revenue}");
            assert!(
                result.detail.contains("existing-enterprise threshold"),
                "{}",
                result.detail
            );
        }
    }

    /// An enterprise with everything the RD route needs except the figures.
    fn rd_enterprise() -> EnterpriseFacts {
        EnterpriseFacts {
            rd_facilities: true,
            stable_rd_funding: true,
            ..enterprise()
        }
    }

    #[test]
    fn rd_spend_of_exactly_fifty_million_passes_and_one_fen_less_fails() {
        let cases = [
            ("50000000.00", true, None),
            ("49999999.99", false, Some(Money::from_fen(1))),
        ];
        for (rd, passes, gap) in cases {
            // Revenue 400 million: below the STANDARD threshold, and 10% is 40 million.
            let verdict = decide(&rd_enterprise(), Some(&figures("400000000.00", rd)));
            let result = rule(&verdict, RuleId::RdMinSpend);
            assert_eq!(result.passed, passes, "{rd}: {}", result.detail);
            assert_eq!(result.gap, gap.map(Gap::Money), "{rd}");
            assert!(rule(&verdict, RuleId::RdMinRatio).passed, "{rd}");
            assert_eq!(verdict.eligible, passes, "{rd}");
            assert_eq!(verdict.route, passes.then_some(Route::Rd), "{rd}");
        }
        let verdict = decide(
            &rd_enterprise(),
            Some(&figures("400000000.00", "49999999.99")),
        );
        assert_eq!(
            rule(&verdict, RuleId::RdMinSpend).detail,
            "R&D 49,999,999.99 < 50,000,000.00"
        );
    }

    #[test]
    fn an_rd_ratio_of_exactly_ten_percent_passes_and_one_fen_less_fails() {
        let cases = [
            // (revenue, R&D, passes, gap in fen)
            ("600000000.00", "60000000.00", true, None),
            ("600000000.00", "59999999.99", false, Some(1)),
            ("600000000.00", "50000000.00", false, Some(1_000_000_000)),
            // 10% of 600,000,000.05 is 60,000,000.005: 60,000,000.00 is short by half a fen,
            // so it fails, and the least passing R&D is 60,000,000.01.
            ("600000000.05", "60000000.00", false, Some(1)),
            ("600000000.05", "60000000.01", true, None),
            ("600000000.09", "60000000.01", true, None),
            ("600000000.10", "60000000.01", true, None),
            ("600000000.11", "60000000.01", false, Some(1)),
        ];
        for (revenue, rd, passes, gap) in cases {
            let verdict = decide(&rd_enterprise(), Some(&figures(revenue, rd)));
            let result = rule(&verdict, RuleId::RdMinRatio);
            assert_eq!(result.passed, passes, "{revenue} {rd}: {}", result.detail);
            assert_eq!(
                result.gap,
                gap.map(|f| Gap::Money(Money::from_fen(f))),
                "{revenue} {rd}"
            );
        }
        let verdict = decide(
            &rd_enterprise(),
            Some(&figures("600000000.00", "59999999.99")),
        );
        assert_eq!(
            rule(&verdict, RuleId::RdMinRatio).detail,
            "R&D 59,999,999.99 < 0.10 × revenue 600,000,000.00 = 60,000,000.00"
        );
        let verdict = decide(
            &rd_enterprise(),
            Some(&figures("600000000.05", "60000000.00")),
        );
        assert_eq!(
            rule(&verdict, RuleId::RdMinRatio).detail,
            "R&D 60,000,000.00 < 0.10 × revenue 600,000,000.05 = 60,000,000.01, rounded up to the fen"
        );
    }

    #[test]
    fn the_rd_route_needs_facilities_and_stable_funding() {
        let rd = figures("400000000.00", "60000000.00");
        for (facilities, funding, eligible) in [
            (true, true, true),
            (false, true, false),
            (true, false, false),
        ] {
            let facts = EnterpriseFacts {
                rd_facilities: facilities,
                stable_rd_funding: funding,
                ..enterprise()
            };
            let verdict = decide(&facts, Some(&rd));
            assert_eq!(verdict.eligible, eligible, "{facilities} {funding}");
        }
    }

    #[test]
    fn two_outside_units_pass_and_one_fails_with_the_missing_count() {
        let cases = [
            (0, false, Some(2)),
            (1, false, Some(1)),
            (2, true, None),
            (7, true, None),
        ];
        for (units, passes, gap) in cases {
            let facts = EnterpriseFacts {
                outside_units: units,
                ..enterprise()
            };
            let verdict = decide(&facts, Some(&standard_figures()));
            let result = rule(&verdict, RuleId::OutsideUnits);
            assert_eq!(result.passed, passes, "{units}");
            assert_eq!(result.gap, gap.map(Gap::Units), "{units}");
            assert_eq!(verdict.eligible, passes, "{units}");
        }
    }

    #[test]
    fn every_excluded_industry_prefix_fails_the_industry_rule() {
        let cases = [
            ("6621", "66"),
            ("6711", "67"),
            ("6813", "68"),
            ("6911", "691"),
            ("6950", "695"),
            ("6991", "699"),
            ("6311", "6311"),
            ("6312", "6312"),
            ("1610", "16"),
            ("4411", "441"),
            ("4420", "442"),
            ("5631", "5631"),
            ("7010", "7010"),
        ];
        for (class, prefix) in cases {
            let facts = EnterpriseFacts {
                industry_code: class.to_owned(),
                ..enterprise()
            };
            let verdict = decide(&facts, Some(&standard_figures()));
            let result = rule(&verdict, RuleId::IndustryNotExcluded);
            assert!(!result.passed, "{class}");
            assert_eq!(
                result.detail,
                format!("industry {class} is excluded (prefix {prefix})")
            );
            assert!(!verdict.eligible, "{class}");
        }
    }

    #[test]
    fn near_misses_of_the_excluded_industries_pass() {
        for class in [
            "7020", "7090", "6920", "6930", "6940", "6319", "6313", "6321", "1710", "4430", "5632",
            "6513",
        ] {
            let facts = EnterpriseFacts {
                industry_code: class.to_owned(),
                ..enterprise()
            };
            let verdict = decide(&facts, Some(&standard_figures()));
            assert!(
                rule(&verdict, RuleId::IndustryNotExcluded).passed,
                "{class}"
            );
            assert!(verdict.eligible, "{class}");
        }
    }

    #[test]
    fn a_review_industry_is_flagged_without_changing_eligibility() {
        let cases = [
            ("6920", true),
            ("6930", true),
            ("6940", true),
            ("6319", true),
            ("6921", false),
            ("7020", false),
        ];
        for (class, review) in cases {
            let facts = EnterpriseFacts {
                industry_code: class.to_owned(),
                ..enterprise()
            };
            let verdict = decide(&facts, Some(&standard_figures()));
            assert_eq!(verdict.needs_review, review, "{class}");
            assert!(verdict.eligible, "{class}");
            assert_eq!(
                rule(&verdict, RuleId::IndustryNotExcluded)
                    .detail
                    .contains("NEEDS_REVIEW"),
                review,
                "{class}"
            );
        }
    }

    #[test]
    fn an_industry_code_that_is_not_a_four_digit_class_fails() {
        for class in ["", "72", "72111", "I721", "M7211"] {
            let facts = EnterpriseFacts {
                industry_code: class.to_owned(),
                ..enterprise()
            };
            let verdict = decide(&facts, Some(&standard_figures()));
            assert!(
                !rule(&verdict, RuleId::IndustryNotExcluded).passed,
                "{class:?}"
            );
            assert!(!verdict.needs_review);
        }
    }

    #[test]
    fn provincial_municipal_and_district_soes_are_excluded_and_others_are_not() {
        let cases = [
            (Ownership::ProvincialSoe, false),
            (Ownership::MunicipalSoe, false),
            (Ownership::DistrictSoe, false),
            (Ownership::CentralSoe, true),
            (Ownership::OtherSoe, true),
            (Ownership::Private, true),
            (Ownership::Foreign, true),
            (Ownership::Collective, true),
            (Ownership::Other, true),
        ];
        for (ownership, passes) in cases {
            let facts = EnterpriseFacts {
                ownership,
                ..enterprise()
            };
            let verdict = decide(&facts, Some(&standard_figures()));
            assert_eq!(
                rule(&verdict, RuleId::NotExcludedSoe).passed,
                passes,
                "{ownership}"
            );
            assert_eq!(verdict.eligible, passes, "{ownership}");
        }
    }

    #[test]
    fn an_enterprise_on_the_dishonesty_list_is_not_eligible() {
        let facts = EnterpriseFacts {
            dishonest: true,
            ..enterprise()
        };
        let verdict = decide(&facts, Some(&standard_figures()));
        assert!(!rule(&verdict, RuleId::NotDishonest).passed);
        assert!(!verdict.eligible);
        assert_eq!(verdict.route, None);
        assert_eq!(verdict.routes[0].failed, [RuleId::NotDishonest]);
    }

    #[test]
    fn a_deemed_legal_person_passes_the_legal_person_rule() {
        let cases = [
            (true, false, true),
            (false, true, true),
            (true, true, true),
            (false, false, false),
        ];
        for (independent, deemed, passes) in cases {
            let facts = EnterpriseFacts {
                independent_legal_person: independent,
                deemed_legal_person: deemed,
                ..enterprise()
            };
            let verdict = decide(&facts, Some(&standard_figures()));
            assert_eq!(
                rule(&verdict, RuleId::LegalPerson).passed,
                passes,
                "{independent} {deemed}"
            );
            assert_eq!(verdict.eligible, passes);
        }
    }

    #[test]
    fn each_basic_flag_is_required() {
        type Change = fn(&mut EnterpriseFacts);
        let variants: [(RuleId, Change); 4] = [
            (RuleId::IndustrialGuidance, |f| {
                f.industrial_guidance = false;
            }),
            (RuleId::RegisteredInHangzhou, |f| f.district = None),
            (RuleId::Operating, |f| f.operating = false),
            (RuleId::UnifiedAccounting, |f| f.unified_accounting = false),
        ];
        for (failing, change) in variants {
            let mut facts = enterprise();
            change(&mut facts);
            let verdict = decide(&facts, Some(&standard_figures()));
            assert!(!rule(&verdict, failing).passed, "{failing}");
            assert!(!verdict.eligible, "{failing}");
            assert!(verdict.failed.contains(&failing), "{failing}");
        }
    }

    fn decide_on(
        revocations: &[NaiveDate],
        year: i32,
        decided_on: &str,
        ban_years: u32,
    ) -> RecognitionVerdict {
        let params = RecognitionParams {
            ban_years,
            ..params()
        };
        decide_recognition(
            &enterprise(),
            Some(&standard_figures()),
            revocations,
            year,
            date(decided_on),
            &params,
        )
        .expect("in the policy period")
    }

    #[test]
    fn decided_on_the_bans_anniversary_is_banned_and_the_day_after_is_not() {
        let revoked = [date("2023-06-15")];
        let cases = [
            ("2023-06-14", true, None),
            ("2023-06-15", false, Some("2025-06-15")),
            ("2025-06-15", false, Some("2025-06-15")),
            ("2025-06-16", true, None),
        ];
        for (decided, eligible, until) in cases {
            let verdict = decide_on(&revoked, 2025, decided, 2);
            assert_eq!(
                rule(&verdict, RuleId::NotBanned).passed,
                eligible,
                "{decided}"
            );
            assert_eq!(verdict.eligible, eligible, "{decided}");
            assert_eq!(verdict.ban_until, until.map(date), "{decided}");
        }
        let verdict = decide_on(&revoked, 2025, "2025-06-15", 2);
        assert_eq!(
            rule(&verdict, RuleId::NotBanned).detail,
            "title revoked on 2023-06-15: no recognition until 2025-06-15 inclusive (2 years), \
             possible again from 2025-06-16"
        );
        assert_eq!(verdict.route, None, "a banned enterprise gets no route");
        assert!(verdict.routes[0].passed, "its STANDARD rules still pass");
    }

    #[test]
    fn a_ban_from_29_february_ends_on_28_february_unless_the_year_is_a_leap_year() {
        let revoked = [date("2024-02-29")];
        let cases = [
            (2, 2026, "2026-02-28", false),
            (2, 2026, "2026-03-01", true),
            (4, 2027, "2028-02-29", false),
            (4, 2027, "2028-03-01", true),
        ];
        for (years, year, decided, eligible) in cases {
            let verdict = decide_on(&revoked, year, decided, years);
            assert_eq!(verdict.eligible, eligible, "{years} years, {decided}");
        }
        assert_eq!(
            decide_on(&revoked, 2026, "2026-02-28", 2).ban_until,
            Some(date("2026-02-28"))
        );
        assert_eq!(
            decide_on(&revoked, 2027, "2028-02-29", 4).ban_until,
            Some(date("2028-02-29"))
        );
    }

    #[test]
    fn with_several_revocations_the_latest_ban_end_counts() {
        let revoked = [date("2024-08-01"), date("2023-03-01")];
        let verdict = decide_on(&revoked, 2026, "2026-07-31", 2);
        assert!(!verdict.eligible);
        assert_eq!(verdict.ban_until, Some(date("2026-08-01")));
        let verdict = decide_on(&revoked, 2026, "2026-08-01", 2);
        assert!(!verdict.eligible);
        let verdict = decide_on(&revoked, 2026, "2026-08-02", 2);
        assert!(verdict.eligible);
        assert!(
            rule(&verdict, RuleId::NotBanned)
                .detail
                .contains("ended on 2026-08-01")
        );
    }

    /// Listed, with revenue far below every threshold.
    fn listed(exchange: Option<&str>, in_hangzhou: bool) -> EnterpriseFacts {
        EnterpriseFacts {
            listing_exchange: exchange.map(str::to_owned),
            listed_entity_in_hangzhou: in_hangzhou,
            ..enterprise()
        }
    }

    #[test]
    fn the_listed_route_needs_an_accepted_exchange_and_the_listed_entity_in_hangzhou() {
        let small = figures("10000000.00", "0");
        let cases = [
            (Some("HKEX"), true, true),
            (Some("SSE"), true, true),
            (Some("SZSE"), true, true),
            (Some("BSE"), true, true),
            (Some("NASDAQ"), true, true),
            (Some("NYSE"), true, true),
            (Some(" hkex "), true, true),
            (Some("LSE"), true, false),
            (Some("HKEX"), false, false),
            (None, true, false),
            (None, false, false),
        ];
        for (exchange, in_hangzhou, eligible) in cases {
            let verdict = decide(&listed(exchange, in_hangzhou), Some(&small));
            assert_eq!(verdict.eligible, eligible, "{exchange:?} {in_hangzhou}");
            assert_eq!(
                verdict.route,
                eligible.then_some(Route::Listed),
                "{exchange:?}"
            );
        }
        let verdict = decide(&listed(Some("LSE"), true), Some(&small));
        assert_eq!(
            rule(&verdict, RuleId::ListedOnAcceptedExchange).detail,
            "listed on LSE, not an accepted exchange (SSE, SZSE, BSE, HKEX, NASDAQ, NYSE)"
        );
        let verdict = decide(&listed(None, false), Some(&small));
        assert_eq!(
            rule(&verdict, RuleId::ListedOnAcceptedExchange).detail,
            "not listed"
        );
    }

    #[test]
    fn missing_figures_fail_the_rules_that_need_them() {
        let verdict = decide(&rd_enterprise(), None);
        for id in [
            RuleId::RevenueThreshold,
            RuleId::RdMinSpend,
            RuleId::RdMinRatio,
        ] {
            let result = rule(&verdict, id);
            assert!(!result.passed, "{id}");
            assert_eq!(result.detail, "no figures for Y−1 (2023)", "{id}");
            assert_eq!(result.gap, None, "{id}");
        }
        assert!(!verdict.eligible);
    }

    #[test]
    fn a_listed_enterprise_without_figures_is_still_eligible_by_the_listed_route() {
        let verdict = decide(&listed(Some("HKEX"), true), None);
        assert!(verdict.eligible);
        assert_eq!(verdict.route, Some(Route::Listed));
    }

    #[test]
    fn the_first_passing_route_is_named() {
        let everything = EnterpriseFacts {
            rd_facilities: true,
            stable_rd_funding: true,
            listing_exchange: Some("SSE".to_owned()),
            listed_entity_in_hangzhou: true,
            ..enterprise()
        };
        let cases = [
            // Passes STANDARD and RD (and LISTED): STANDARD.
            ("1200000000.00", "130000000.00", Route::Standard),
            // Below the revenue threshold, passes RD and LISTED: RD.
            ("600000000.00", "60000000.00", Route::Rd),
            // Passes only LISTED.
            ("600000000.00", "1000.00", Route::Listed),
        ];
        for (revenue, rd, route) in cases {
            let verdict = decide(&everything, Some(&figures(revenue, rd)));
            assert_eq!(verdict.route, Some(route), "{revenue} {rd}");
            let passing: Vec<Route> = verdict
                .routes
                .iter()
                .filter(|r| r.passed)
                .map(|r| r.route)
                .collect();
            assert_eq!(passing.first(), Some(&route));
        }
    }

    #[test]
    fn years_outside_2023_to_2027_are_refused_citing_the_closing_paragraph() {
        for (year, allowed) in [(2022, false), (2023, true), (2027, true), (2028, false)] {
            let outcome = decide_recognition(
                &enterprise(),
                Some(&standard_figures()),
                &[],
                year,
                date("2024-05-01"),
                &params(),
            );
            match outcome {
                Ok(verdict) => {
                    assert!(allowed, "{year}");
                    assert_eq!(verdict.year, year);
                }
                Err(error) => {
                    assert!(!allowed, "{year}");
                    assert_eq!(
                        error,
                        PolicyError::OutsidePolicyPeriod {
                            year,
                            first: 2023,
                            last: 2027
                        }
                    );
                    assert_eq!(error.clause(), Some(Clause::Final));
                }
            }
        }
    }

    #[test]
    fn recognising_an_ineligible_enterprise_is_refused_listing_the_failed_rules() {
        let facts = EnterpriseFacts {
            outside_units: 1,
            ..enterprise()
        };
        let verdict = decide(&facts, Some(&figures("463000000.00", "0")));
        let error = verdict.ensure_eligible().expect_err("not eligible");
        let PolicyError::NotEligible { year, failed } = &error else {
            panic!("unexpected {error:?}");
        };
        assert_eq!(*year, 2024);
        assert_eq!(failed[0], RuleId::OutsideUnits);
        assert!(failed.contains(&RuleId::RevenueThreshold));
        assert!(error.to_string().contains("OUTSIDE_UNITS (§3.1)"));
    }

    #[test]
    fn the_params_come_from_the_versions_in_force_and_are_recorded() {
        let set = ParameterSet::shipped_defaults();
        let params = RecognitionParams::from_set(&set, date("2024-05-01")).expect("complete");
        assert_eq!(params.revenue_threshold_existing, yuan("1000000000.00"));
        assert_eq!(params.revenue_threshold_new, yuan("500000000.00"));
        assert_eq!(params.existing_cutoff, date("2021-12-31"));
        assert_eq!(params.rd_min_spend, yuan("50000000.00"));
        assert_eq!(params.min_outside_units, 2);
        assert_eq!(params.ban_years, 2);
        assert_eq!(
            params.excluded_ownership,
            [
                Ownership::ProvincialSoe,
                Ownership::MunicipalSoe,
                Ownership::DistrictSoe
            ]
        );
        assert_eq!((params.first_year(), params.last_year()), (2023, 2027));
        assert_eq!(params.parameter_versions.len(), 13);
        let verdict = decide(&enterprise(), Some(&standard_figures()));
        assert_eq!(verdict.parameter_versions, params.parameter_versions);
    }

    #[test]
    fn ownership_codes_round_trip() {
        for kind in Ownership::ALL {
            assert_eq!(Ownership::parse(kind.as_str()), Ok(kind));
            assert_eq!(
                serde_json::to_string(&kind).expect("json"),
                format!("\"{}\"", kind.as_str())
            );
        }
        assert!(Ownership::parse("central_soe").is_err());
    }

    #[test]
    fn the_verdict_serialises_with_stable_ids() {
        let facts = EnterpriseFacts {
            hangzhou_since: Some(date("2022-03-01")),
            ..enterprise()
        };
        let verdict = decide(&facts, Some(&figures("463000000.00", "0")));
        let json = serde_json::to_value(&verdict).expect("json");
        assert_eq!(json["rules"][10]["rule"], "REVENUE_THRESHOLD");
        assert_eq!(json["rules"][10]["clause"], "§3.2");
        assert_eq!(json["rules"][10]["gap"]["kind"], "MONEY");
        assert_eq!(json["rules"][10]["gap"]["value"], "37000000.00");
        assert_eq!(json["routes"][0]["route"], "STANDARD");
        let back: RecognitionVerdict = serde_json::from_value(json).expect("json");
        assert_eq!(back, verdict);
        let ids: Vec<String> = RuleId::ALL
            .iter()
            .map(|id| {
                serde_json::to_string(id)
                    .expect("json")
                    .trim_matches('"')
                    .to_owned()
            })
            .collect();
        let as_str: Vec<&str> = RuleId::ALL.iter().map(|id| id.as_str()).collect();
        assert_eq!(ids, as_str);
        assert_eq!(
            as_str,
            [
                "NOT_BANNED",
                "INDUSTRIAL_GUIDANCE",
                "LEGAL_PERSON",
                "REGISTERED_IN_HANGZHOU",
                "OPERATING",
                "UNIFIED_ACCOUNTING",
                "OUTSIDE_UNITS",
                "NOT_DISHONEST",
                "INDUSTRY_NOT_EXCLUDED",
                "NOT_EXCLUDED_SOE",
                "REVENUE_THRESHOLD",
                "RD_FACILITIES",
                "RD_STABLE_FUNDING",
                "RD_MIN_SPEND",
                "RD_MIN_RATIO",
                "LISTED_ON_ACCEPTED_EXCHANGE",
                "LISTED_ENTITY_IN_HANGZHOU",
            ]
        );
    }
}
