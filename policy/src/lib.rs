//! The rules of 杭政办〔2023〕3号 as pure functions.
//!
//! Nothing in here touches a database, the network, the clock or GraphQL: the services load the
//! facts, figures and parameter versions, call these functions and persist the verdicts. Every
//! verdict names the clause (`§3.1`, `§22`, ...) that decided it, so a finance officer can check it
//! against the paper (`seed/hangzhou-hq-policy-2023.txt`). Amounts are [`Money`] (integer fen),
//! ratios are [`rust_decimal::Decimal`]; there is no floating point anywhere.

/// §22: whether there is a title to revoke; the ban after a revoked title, its end date and
/// whether it is in force on a date.
pub mod ban;
/// The benefits of an HQ for a year (§6, §7, §8, §10, §12), each item with its clause.
pub mod benefits;
/// Code enums: one declaration gives each variant's stable code, `ALL`, parsing and serde.
mod code;
/// The unified social credit code (GB 32100-2015) that identifies an enterprise.
pub mod credit_code;
/// Input dates: the one text form `YYYY-MM-DD` and the range of days accepted (1900..=2099).
pub mod dates;
/// `Money`: an amount in integer fen with exact, declared rounding.
pub mod money;
/// Dated policy parameters, their resolution on a date and the shipped defaults.
pub mod params;
/// The yearly recognition verdict of §3, §4 and §22, rule by rule.
pub mod recognition;
/// §20 step 3: the verdict on each payment line of a claim, rule by rule, then the ratio cap.
pub mod reconciliation;
/// The registry's §19 events, what each changes, and their fold into dated periods of facts.
pub mod registry;
/// Rule sets: the document whose rules decide on a date, and what an amendment changes.
pub mod rule_set;
/// §20 steps 4 and 6: the yearly settlement draft and the adjustment after a finding.
pub mod settlement;
/// The §6 star reward: the difference owed, the revocation rule and the city/district split.
pub mod star_reward;

use chrono::NaiveDate;

pub use ban::{Ban, ban_end, ban_in_force, latest_ban, title_held_on};
pub use code::UnknownCode;
#[doc(hidden)]
pub use code::deserialize_code;
pub use credit_code::{CreditCode, CreditCodeError};
pub use money::{Money, MoneyError};
pub use params::{
    DefaultParameter, ParamValue, ParameterReader, ParameterSet, ParameterVersion,
    default_parameters, resolve,
};
pub use recognition::{
    Figure, Figures, Gap, Ownership, RecognitionParams, RecognitionPolicy, RecognitionVerdict,
    Route, RouteOutcome, RuleId, RuleResult, decide_recognition,
};
pub use rule_set::{
    Amendment, AmendmentError, RuleSet, amend_in_force, governing, in_force, rule_set_on,
};
pub use star_reward::{
    RewardDecision, RewardSplit, StarRewardParams, StarTiers, Stars, decide_reward, reward_due,
};

code_enum! {
    /// A clause of the policy document, cited by every rule and verdict.
    ///
    /// The ids follow the document's numbering: `§3` is （三）, `§3.1` its item 1, and `§final` the
    /// closing paragraph on the period of validity. Serialised as the id text, e.g. `"§3.1"`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub enum Clause: "clause id" {
        /// （三）1 基本条件: the basic conditions of recognition.
        S3_1 = "§3.1",
        /// （三）2 规模要求: the revenue threshold.
        S3_2 = "§3.2",
        /// （三）3 研发型总部: the R&D route.
        S3_3 = "§3.3",
        /// （三）4 上市企业总部: the listed route.
        S3_4 = "§3.4",
        /// （四）: the yearly recognition by the HQ office.
        S4 = "§4",
        /// （五）: the yearly star rating.
        S5 = "§5",
        /// （六）: the star reward.
        S6 = "§6",
        /// （七）: the rent and purchase subsidies.
        S7 = "§7",
        /// （八）: the R&D subsidy uplift by star rating.
        S8 = "§8",
        /// （十）: the talent quotas by star rating.
        S10 = "§10",
        /// （十二）: the car plate (vehicle) quotas by star rating.
        S12 = "§12",
        /// （二十）: who pays, and the city's subsidy to the districts.
        S20 = "§20",
        /// （二十二）: revocation of the title and the two-year ban.
        S22 = "§22",
        /// The closing paragraph: in force from 2023-02-20, valid until 2028-02-20.
        Final = "§final",
    }
}

impl Clause {
    /// What the clause is about, with the document's own heading where it has one.
    #[must_use]
    pub const fn title(self) -> &'static str {
        match self {
            Clause::S3_1 => "（三）1 基本条件: the basic conditions of recognition",
            Clause::S3_2 => "（三）2 规模要求: the revenue threshold",
            Clause::S3_3 => "（三）3 研发型总部: the R&D route",
            Clause::S3_4 => "（三）4 上市企业总部: the listed route",
            Clause::S4 => "（四）: the yearly recognition by the HQ office",
            Clause::S5 => "（五）: the yearly star rating",
            Clause::S6 => "（六）: the star reward",
            Clause::S7 => "（七）: the rent and purchase subsidies",
            Clause::S8 => "（八）: the R&D subsidy uplift by star rating",
            Clause::S10 => "（十）: the talent quotas by star rating",
            Clause::S12 => "（十二）: the car plate (vehicle) quotas by star rating",
            Clause::S20 => "（二十）: who pays, and the city's subsidy to the districts",
            Clause::S22 => "（二十二）: revocation of the title and the two-year ban",
            Clause::Final => "closing paragraph: in force from 2023-02-20, valid until 2028-02-20",
        }
    }
}

/// Why a policy computation refused to give an answer.
///
/// The service maps these onto its client-facing codes; the variant docs say which one fits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// A recognition round for a year outside the policy period (`POLICY_VIOLATION`, `§final`).
    #[error(
        "recognition for {year} is outside the policy period: rounds run for {first} to {last} (§final)"
    )]
    OutsidePolicyPeriod {
        /// The year asked for.
        year: i32,
        /// The first recognition year of the policy.
        first: i32,
        /// The last recognition year of the policy.
        last: i32,
    },
    /// Recognising an enterprise that fails the rules (`POLICY_VIOLATION`).
    #[error("not eligible for recognition in {year}: failed {}", rule_list(.failed))]
    NotEligible {
        /// The recognition year.
        year: i32,
        /// The rules that did not pass, in table order.
        failed: Vec<recognition::RuleId>,
    },
    /// A decision on a day no rule set is in force on (`POLICY_VIOLATION`, `§final`).
    #[error(
        "no rule set is in force on {on}: a decision needs the rules of a document in force that day (known: {known})"
    )]
    NoRuleSetInForce {
        /// The decision date.
        on: NaiveDate,
        /// The rule sets known, with their periods.
        known: String,
    },
    /// No version of a parameter is in force (a deployment error: `INTERNAL_SERVER_ERROR`).
    #[error("policy parameter `{name}` has no version in force on {on}{}", district_suffix(.district.as_deref()))]
    MissingParameter {
        /// The parameter name, e.g. `recognition.ban_years`.
        name: String,
        /// The district asked for, if any.
        district: Option<String>,
        /// The date asked for.
        on: NaiveDate,
    },
    /// A parameter version holds a value of the wrong kind (`INTERNAL_SERVER_ERROR`).
    #[error("policy parameter `{name}` (version {version_id}) is {found}, expected {expected}")]
    WrongParameterType {
        /// The parameter name.
        name: String,
        /// The offending version.
        version_id: i64,
        /// The kind the rule needs.
        expected: &'static str,
        /// The kind stored.
        found: &'static str,
    },
    /// A parameter version holds a value the rules cannot use (`INTERNAL_SERVER_ERROR`).
    #[error("policy parameter `{name}` (version {version_id}) is invalid: {reason}")]
    InvalidParameter {
        /// The parameter name.
        name: String,
        /// The offending version.
        version_id: i64,
        /// What is wrong with it.
        reason: String,
    },
    /// A star rating outside 1..=5 (`BAD_USER_INPUT`).
    #[error("a star rating is 1 to 5 stars, got {0}")]
    InvalidStars(u8),
    /// An amount that cannot take part in the computation, e.g. a negative reward (`BAD_USER_INPUT`).
    #[error("invalid amount: {0}")]
    InvalidAmount(String),
    /// Money arithmetic left the range of `Money` (`INTERNAL_SERVER_ERROR`).
    #[error(transparent)]
    Money(#[from] MoneyError),
}

impl PolicyError {
    /// The clause the refusal cites, if it is a refusal under the policy.
    #[must_use]
    pub fn clause(&self) -> Option<Clause> {
        match self {
            PolicyError::OutsidePolicyPeriod { .. } | PolicyError::NoRuleSetInForce { .. } => {
                Some(Clause::Final)
            }
            PolicyError::NotEligible { .. } => Some(Clause::S4),
            _ => None,
        }
    }
}

fn rule_list(rules: &[recognition::RuleId]) -> String {
    rules
        .iter()
        .map(|rule| format!("{} ({})", rule.as_str(), rule.clause()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn district_suffix(district: Option<&str>) -> String {
    district
        .map(|d| format!(" for district {d}"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_clause_id_round_trips_through_text_and_json() {
        for clause in Clause::ALL {
            assert_eq!(clause.as_str().parse::<Clause>(), Ok(clause));
            let json = serde_json::to_string(&clause).expect("serialises");
            assert_eq!(json, format!("\"{}\"", clause.as_str()));
            let back: Clause = serde_json::from_str(&json).expect("deserialises");
            assert_eq!(back, clause);
        }
    }

    #[test]
    fn an_unknown_clause_id_is_rejected() {
        assert!("§99".parse::<Clause>().is_err());
    }

    #[test]
    fn the_clause_ids_are_the_documented_ones() {
        let ids: Vec<_> = Clause::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(
            ids,
            [
                "§3.1", "§3.2", "§3.3", "§3.4", "§4", "§5", "§6", "§7", "§8", "§10", "§12", "§20",
                "§22", "§final"
            ]
        );
    }

    #[test]
    fn a_not_eligible_error_lists_the_failed_rules_with_their_clauses() {
        let error = PolicyError::NotEligible {
            year: 2024,
            failed: vec![
                recognition::RuleId::OutsideUnits,
                recognition::RuleId::RevenueThreshold,
            ],
        };
        assert_eq!(
            error.to_string(),
            "not eligible for recognition in 2024: failed OUTSIDE_UNITS (§3.1), REVENUE_THRESHOLD (§3.2)"
        );
    }

    #[test]
    fn the_period_error_cites_the_closing_paragraph() {
        let error = PolicyError::OutsidePolicyPeriod {
            year: 2028,
            first: 2023,
            last: 2027,
        };
        assert_eq!(error.clause(), Some(Clause::Final));
        assert!(error.to_string().contains("§final"));
    }
}
