//! Rule sets: which document's rules decide on a date.
//!
//! A rule set is a policy document with the day it takes effect, an optional last day, and the
//! recognition rules it applies (a set of [`RuleId`]s: the code of each rule ships with a
//! release, a document decides which of them are in force). 杭政办〔2023〕3号 is the first; a
//! later document that amends it (杭政办〔2024〕1号 recognises financial-institution HQs and
//! drops the SOE exclusion) is a new rule set from its own date, built from the one it amends by
//! [`RuleSet::amend`]. Its parameter values are parameter versions valid from the same date, so
//! the dated resolution of [`crate::params`] answers for any day as it did before the amendment.
//!
//! A decision on day D is taken under [`in_force`]`(rule_sets, D)`; decisions already taken keep
//! the rule set they name and are never decided again.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::PolicyError;
use crate::params::{ParameterSet, ParameterVersion};
use crate::recognition::{Route, RuleId};

/// A policy document and the recognition rules it applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleSet {
    /// Stable code, e.g. `HZ-2023-3`.
    pub code: String,
    /// Document number, e.g. `杭政办〔2023〕3号`.
    pub document: String,
    /// First day in force (inclusive).
    pub effective_from: NaiveDate,
    /// Last day in force (inclusive); `None` while open-ended.
    pub effective_to: Option<NaiveDate>,
    /// The rules in force under it.
    pub rules: BTreeSet<RuleId>,
}

impl RuleSet {
    /// Whether `on` lies within `[effective_from, effective_to]` (both inclusive).
    #[must_use]
    pub fn in_force_on(&self, on: NaiveDate) -> bool {
        self.effective_from <= on && self.effective_to.is_none_or(|to| on <= to)
    }

    /// Whether the rule set applies `rule`.
    #[must_use]
    pub fn applies(&self, rule: RuleId) -> bool {
        self.rules.contains(&rule)
    }

    /// The rules of the rule table this rule set does not apply, in table order.
    #[must_use]
    pub fn not_in_force(&self) -> Vec<RuleId> {
        RuleId::ALL
            .into_iter()
            .filter(|rule| !self.applies(*rule))
            .collect()
    }

    /// The routes the rule set offers, in the order tried: those with at least one rule of
    /// their own in force.
    ///
    /// INTERPRETATION(§3): a route is the basic conditions plus its own rules; a document that
    /// drops every rule of a route's own (e.g. both `LISTED_*` rules) drops the route, rather than
    /// turning it into "the basic conditions alone", which no document says.
    #[must_use]
    pub fn routes(&self) -> Vec<Route> {
        Route::ALL
            .into_iter()
            .filter(|route| route.own_rules().iter().any(|rule| self.applies(*rule)))
            .collect()
    }

    /// The rule set of a document amending this one: its rules are this one's without
    /// `dropped` and with `added`.
    ///
    /// INTERPRETATION(§final): an amendment takes effect from its own date and amends what
    /// was in force, so by default it ends when the document it amends ends (杭政办〔2023〕3号:
    /// 2028-02-20). The amended rule set keeps its own dates: from the amendment's date the
    /// later rule set wins because the latest `effective_from` in force wins (`in_force`), so
    /// no record of the earlier document is ever edited.
    ///
    /// # Errors
    ///
    /// An [`AmendmentError`] naming what is wrong: an effective date not after this rule set's
    /// start or after its end, an end before the start, a dropped rule not in force, an added
    /// rule already in force, a rule both dropped and added, or no route left.
    pub fn amend(&self, amendment: Amendment) -> Result<RuleSet, AmendmentError> {
        if amendment.effective_from <= self.effective_from {
            return Err(AmendmentError::NotAfterPrevious {
                previous: self.code.clone(),
                starts: self.effective_from,
            });
        }
        if let Some(end) = self.effective_to
            && amendment.effective_from > end
        {
            return Err(AmendmentError::AfterPreviousEnd {
                previous: self.code.clone(),
                ends: end,
            });
        }
        let effective_to = amendment.effective_to.or(self.effective_to);
        if let Some(to) = effective_to
            && to < amendment.effective_from
        {
            return Err(AmendmentError::EndsBeforeStart);
        }
        let mut rules = self.rules.clone();
        for (index, rule) in amendment.dropped.iter().enumerate() {
            if amendment.added.contains(rule) {
                return Err(AmendmentError::DroppedAndAdded { index, rule: *rule });
            }
            if !rules.remove(rule) {
                return Err(AmendmentError::DropsRuleNotInForce { index, rule: *rule });
            }
        }
        for (index, rule) in amendment.added.iter().enumerate() {
            if !rules.insert(*rule) {
                return Err(AmendmentError::AddsRuleInForce { index, rule: *rule });
            }
        }
        let amended = RuleSet {
            code: amendment.code,
            document: amendment.document,
            effective_from: amendment.effective_from,
            effective_to,
            rules,
        };
        if amended.routes().is_empty() {
            return Err(AmendmentError::NoRouteLeft);
        }
        Ok(amended)
    }
}

/// The rule set `amendment` amends, and the rule set it makes: it takes effect after the start
/// of every rule set registered before it, and amends the one in force on its date.
///
/// INTERPRETATION(§final): a later document amends what is in force on its date. That is the
/// rule set with the latest start unless that one was a temporary measure already ended; then it
/// is the one in force again after it. It must take effect after every earlier start, so the
/// latest start always decides (`in_force`) and no later document is undercut by an earlier one
/// registered after it.
///
/// # Errors
///
/// [`AmendmentError::NotAfterPrevious`] naming the rule set with the latest start,
/// [`AmendmentError::NothingInForce`] when no rule set is in force on its date, and those of
/// [`RuleSet::amend`].
pub fn amend_in_force(
    rule_sets: &[RuleSet],
    amendment: Amendment,
) -> Result<(&RuleSet, RuleSet), AmendmentError> {
    if let Some(latest) = rule_sets.iter().max_by_key(|set| set.effective_from)
        && amendment.effective_from <= latest.effective_from
    {
        return Err(AmendmentError::NotAfterPrevious {
            previous: latest.code.clone(),
            starts: latest.effective_from,
        });
    }
    let on = amendment.effective_from;
    let previous = in_force(rule_sets, on).ok_or(AmendmentError::NothingInForce { on })?;
    Ok((previous, previous.amend(amendment)?))
}

/// What a later document changes, as registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Amendment {
    /// The new rule set's code.
    pub code: String,
    /// The document number.
    pub document: String,
    /// The day it takes effect.
    pub effective_from: NaiveDate,
    /// Its last day; `None` = the last day of the rule set it amends.
    pub effective_to: Option<NaiveDate>,
    /// Rules in force before that it no longer applies, in input order.
    pub dropped: Vec<RuleId>,
    /// Rules of this release not in force before that it applies, in input order.
    pub added: Vec<RuleId>,
}

/// Why an amendment cannot be registered; each variant names the input at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmendmentError {
    /// `effectiveFrom` is not after the start of every rule set registered before.
    #[error(
        "an amendment takes effect after the start of every rule set registered before it \
         ({previous} starts on {starts})"
    )]
    NotAfterPrevious {
        /// The amended rule set.
        previous: String,
        /// Its first day.
        starts: NaiveDate,
    },
    /// `effectiveFrom` is after the end of the rule set it amends: there is nothing to amend.
    #[error("the rule set it amends ({previous}) ended on {ends}: there is nothing to amend")]
    AfterPreviousEnd {
        /// The amended rule set.
        previous: String,
        /// Its last day.
        ends: NaiveDate,
    },
    /// No rule set is in force on `effectiveFrom`: there is nothing to amend.
    #[error("no rule set is in force on {on}: there is nothing to amend")]
    NothingInForce {
        /// The amendment's effective date.
        on: NaiveDate,
    },
    /// `effectiveTo` is before `effectiveFrom`.
    #[error("effectiveTo is before effectiveFrom")]
    EndsBeforeStart,
    /// A dropped rule is not in force.
    #[error("{rule} is not in force in the rule set amended: it cannot be dropped")]
    DropsRuleNotInForce {
        /// Its position in the input list.
        index: usize,
        /// The rule.
        rule: RuleId,
    },
    /// An added rule is already in force.
    #[error("{rule} is already in force in the rule set amended: it cannot be added")]
    AddsRuleInForce {
        /// Its position in the input list.
        index: usize,
        /// The rule.
        rule: RuleId,
    },
    /// A rule is both dropped and added.
    #[error("{rule} is both dropped and added")]
    DroppedAndAdded {
        /// Its position in the list of dropped rules.
        index: usize,
        /// The rule.
        rule: RuleId,
    },
    /// The rules left offer no route to recognition.
    #[error("the rules left offer no route to recognition (each route needs a rule of its own)")]
    NoRouteLeft,
}

/// The rule set in force on `on`: of those whose `[effective_from, effective_to]` contains it,
/// the one with the latest `effective_from` (of two from the same day, the later in `rule_sets`,
/// i.e. the one registered later). `None` when none is in force.
#[must_use]
pub fn in_force(rule_sets: &[RuleSet], on: NaiveDate) -> Option<&RuleSet> {
    rule_sets
        .iter()
        .enumerate()
        .filter(|(_, set)| set.in_force_on(on))
        .max_by_key(|(position, set)| (set.effective_from, *position))
        .map(|(_, set)| set)
}

/// The rule set a parameter version valid from `on` belongs to: the one in force on `on`; on a
/// day none is in force, the latest that started before it, else the first (the shipped
/// defaults are valid from 2023-01-01, before 杭政办〔2023〕3号 takes effect, and are its values).
#[must_use]
pub fn governing(rule_sets: &[RuleSet], on: NaiveDate) -> Option<&RuleSet> {
    in_force(rule_sets, on)
        .or_else(|| {
            rule_sets
                .iter()
                .filter(|set| set.effective_from <= on)
                .max_by_key(|set| set.effective_from)
        })
        .or_else(|| rule_sets.iter().min_by_key(|set| set.effective_from))
}

/// [`in_force`], or the refusal a decision on a day without a rule set gets.
///
/// INTERPRETATION(§final): 本意见自2023年2月20日起施行，有效期至2028年2月20日: a recognition
/// decided on a day no document is in force on (before 2023-02-20, after 2028-02-20 with the
/// shipped rule set) is decided under no rules and is refused, not decided under the nearest.
///
/// # Errors
///
/// [`PolicyError::NoRuleSetInForce`] when no rule set is in force on `on`.
pub fn rule_set_on(rule_sets: &[RuleSet], on: NaiveDate) -> Result<&RuleSet, PolicyError> {
    in_force(rule_sets, on).ok_or_else(|| PolicyError::NoRuleSetInForce {
        on,
        known: rule_sets
            .iter()
            .map(|set| {
                let to = set
                    .effective_to
                    .map_or_else(|| "open-ended".to_owned(), |to| to.to_string());
                format!("{} {} to {to}", set.document, set.effective_from)
            })
            .collect::<Vec<_>>()
            .join("; "),
    })
}

/// The rules a rule set adds and drops relative to the one before it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleChanges {
    /// Rules in force that were not before, in table order.
    pub added: Vec<RuleId>,
    /// Rules in force before that are not any more, in table order.
    pub dropped: Vec<RuleId>,
}

/// What `next` changes in the rules of `previous`; a first rule set (no `previous`) changes
/// nothing.
#[must_use]
pub fn rule_changes(previous: Option<&RuleSet>, next: &RuleSet) -> RuleChanges {
    let Some(previous) = previous else {
        return RuleChanges::default();
    };
    RuleChanges {
        added: RuleId::ALL
            .into_iter()
            .filter(|rule| next.applies(*rule) && !previous.applies(*rule))
            .collect(),
        dropped: RuleId::ALL
            .into_iter()
            .filter(|rule| previous.applies(*rule) && !next.applies(*rule))
            .collect(),
    }
}

/// One parameter an amendment changes: the version in force the day before it and its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterChange {
    /// The version in force for the same name and district on the day before the amendment;
    /// `None` when there was none.
    pub before: Option<ParameterVersion>,
    /// The amendment's version.
    pub after: ParameterVersion,
}

/// The changes of the versions `amendment_versions` (the amendment's own, valid from
/// `effective_from`), each against the version of the same name and district in force on the
/// day before, in the order given.
#[must_use]
pub fn parameter_changes(
    set: &ParameterSet,
    amendment_versions: &[ParameterVersion],
    effective_from: NaiveDate,
) -> Vec<ParameterChange> {
    let day_before = effective_from.pred_opt();
    amendment_versions
        .iter()
        .map(|after| ParameterChange {
            before: day_before.and_then(|day| {
                set.resolve(&after.name, after.district.as_deref(), day)
                    .cloned()
            }),
            after: after.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::ParamValue;

    fn date(s: &str) -> NaiveDate {
        s.parse().expect("test date")
    }

    fn original() -> RuleSet {
        RuleSet {
            code: "HZ-2023-3".to_owned(),
            document: "杭政办〔2023〕3号".to_owned(),
            effective_from: date("2023-02-20"),
            effective_to: Some(date("2028-02-20")),
            rules: RuleId::ALL.into_iter().collect(),
        }
    }

    fn amendment(from: &str) -> Amendment {
        Amendment {
            code: "HZ-2024-1".to_owned(),
            document: "杭政办〔2024〕1号".to_owned(),
            effective_from: date(from),
            effective_to: None,
            dropped: vec![RuleId::NotExcludedSoe],
            added: Vec::new(),
        }
    }

    fn amended() -> RuleSet {
        original()
            .amend(amendment("2024-03-01"))
            .expect("a valid amendment")
    }

    fn code_on(sets: &[RuleSet], on: &str) -> Option<String> {
        in_force(sets, date(on)).map(|set| set.code.clone())
    }

    #[test]
    fn the_amendment_decides_from_its_date_and_the_original_the_day_before() {
        let sets = [original(), amended()];
        let cases = [
            ("2023-02-19", None),
            ("2023-02-20", Some("HZ-2023-3")),
            ("2024-02-29", Some("HZ-2023-3")),
            ("2024-03-01", Some("HZ-2024-1")),
            ("2024-03-02", Some("HZ-2024-1")),
            ("2028-02-20", Some("HZ-2024-1")),
            ("2028-02-21", None),
        ];
        for (on, expected) in cases {
            assert_eq!(code_on(&sets, on).as_deref(), expected, "{on}");
        }
    }

    #[test]
    fn the_order_the_rule_sets_are_listed_in_does_not_matter() {
        let sets = [amended(), original()];
        assert_eq!(code_on(&sets, "2024-02-29").as_deref(), Some("HZ-2023-3"));
        assert_eq!(code_on(&sets, "2024-03-01").as_deref(), Some("HZ-2024-1"));
    }

    #[test]
    fn an_open_ended_rule_set_is_in_force_on_every_later_day() {
        let open = RuleSet {
            effective_to: None,
            ..original()
        };
        let sets = [open];
        assert_eq!(code_on(&sets, "2023-02-19"), None);
        assert_eq!(code_on(&sets, "2023-02-20").as_deref(), Some("HZ-2023-3"));
        assert_eq!(code_on(&sets, "2099-12-31").as_deref(), Some("HZ-2023-3"));
    }

    #[test]
    fn an_amendment_ending_early_hands_back_to_the_rule_set_it_amended() {
        let mut short = amendment("2024-03-01");
        short.effective_to = Some(date("2024-12-31"));
        let temporary = original().amend(short).expect("valid");
        let sets = [original(), temporary];
        let cases = [
            ("2024-02-29", Some("HZ-2023-3")),
            ("2024-03-01", Some("HZ-2024-1")),
            ("2024-12-31", Some("HZ-2024-1")),
            ("2025-01-01", Some("HZ-2023-3")),
        ];
        for (on, expected) in cases {
            assert_eq!(code_on(&sets, on).as_deref(), expected, "{on}");
        }
    }

    #[test]
    fn a_gap_between_rule_sets_is_a_refusal_naming_the_day() {
        let later = RuleSet {
            code: "LATER".to_owned(),
            effective_from: date("2030-01-01"),
            effective_to: None,
            ..original()
        };
        let sets = [original(), later];
        for on in ["2023-02-19", "2028-02-21", "2029-12-31"] {
            let refused = rule_set_on(&sets, date(on)).expect_err(on);
            assert!(
                matches!(refused, PolicyError::NoRuleSetInForce { on: day, .. } if day == date(on)),
                "{on}"
            );
            assert_eq!(refused.clause(), Some(crate::Clause::Final));
        }
        assert_eq!(
            rule_set_on(&sets, date("2030-01-01")).map(|s| s.code.as_str()),
            Ok("LATER")
        );
        assert!(rule_set_on(&[], date("2024-01-01")).is_err());
    }

    #[test]
    fn a_version_belongs_to_the_rule_set_in_force_on_its_first_day_or_the_nearest_before() {
        let sets = [original(), amended()];
        let cases = [
            ("2023-01-01", "HZ-2023-3"),
            ("2024-02-29", "HZ-2023-3"),
            ("2024-03-01", "HZ-2024-1"),
            ("2030-01-01", "HZ-2024-1"),
        ];
        for (on, expected) in cases {
            let code = governing(&sets, date(on)).map(|set| set.code.as_str());
            assert_eq!(code, Some(expected), "{on}");
        }
        assert_eq!(governing(&[], date("2024-01-01")), None);
    }

    #[test]
    fn of_two_rule_sets_from_the_same_day_the_later_registered_wins() {
        let first = amended();
        let second = RuleSet {
            code: "SECOND".to_owned(),
            ..amended()
        };
        let sets = [original(), first, second];
        assert_eq!(code_on(&sets, "2024-03-01").as_deref(), Some("SECOND"));
    }

    #[test]
    fn an_amendment_inherits_the_end_and_rules_of_the_rule_set_it_amends() {
        let amended = amended();
        assert_eq!(amended.effective_to, Some(date("2028-02-20")));
        assert!(!amended.applies(RuleId::NotExcludedSoe));
        assert_eq!(amended.not_in_force(), [RuleId::NotExcludedSoe]);
        assert_eq!(amended.rules.len(), RuleId::ALL.len() - 1);
        assert_eq!(
            rule_changes(Some(&original()), &amended),
            RuleChanges {
                added: Vec::new(),
                dropped: vec![RuleId::NotExcludedSoe],
            }
        );
        assert_eq!(rule_changes(None, &original()), RuleChanges::default());
        let back = amended
            .amend(Amendment {
                code: "HZ-2025-1".to_owned(),
                effective_from: date("2025-01-01"),
                dropped: Vec::new(),
                added: vec![RuleId::NotExcludedSoe],
                ..amendment("2025-01-01")
            })
            .expect("valid");
        assert_eq!(
            rule_changes(Some(&amended), &back).added,
            [RuleId::NotExcludedSoe]
        );
    }

    #[test]
    fn an_amendment_takes_effect_after_the_start_and_not_after_the_end_it_amends() {
        let cases = [
            ("2023-02-19", false),
            ("2023-02-20", false),
            ("2023-02-21", true),
            ("2028-02-20", true),
            ("2028-02-21", false),
        ];
        for (from, ok) in cases {
            let outcome = original().amend(amendment(from));
            assert_eq!(outcome.is_ok(), ok, "{from}: {outcome:?}");
        }
    }

    #[test]
    fn an_amendment_amends_the_rule_set_in_force_on_its_date_after_every_earlier_start() {
        let mut short = amendment("2024-03-01");
        short.effective_to = Some(date("2024-12-31"));
        let sets = [original(), original().amend(short).expect("valid")];
        let later = |from: &str| Amendment {
            code: "HZ-2025-1".to_owned(),
            dropped: Vec::new(),
            ..amendment(from)
        };
        let cases = [
            ("2024-03-01", Err("HZ-2024-1")),
            ("2024-03-02", Ok("HZ-2024-1")),
            ("2024-12-31", Ok("HZ-2024-1")),
            ("2025-01-01", Ok("HZ-2023-3")),
            ("2028-02-20", Ok("HZ-2023-3")),
        ];
        for (from, expected) in cases {
            match (amend_in_force(&sets, later(from)), expected) {
                (Ok((previous, _)), Ok(code)) => assert_eq!(previous.code, code, "{from}"),
                (Err(AmendmentError::NotAfterPrevious { previous, .. }), Err(code)) => {
                    assert_eq!(previous, code, "{from}");
                }
                (outcome, _) => panic!("{from}: {outcome:?}"),
            }
        }
        assert_eq!(
            amend_in_force(&sets, later("2028-02-21")).map(|(p, _)| p.code.clone()),
            Err(AmendmentError::NothingInForce {
                on: date("2028-02-21")
            })
        );
        // Before a temporary measure ends, the one after it keeps its rules.
        let (_, next) = amend_in_force(&sets, later("2024-06-01")).expect("valid");
        assert!(!next.applies(RuleId::NotExcludedSoe));
        assert_eq!(next.effective_to, Some(date("2024-12-31")));
    }

    #[test]
    fn an_amendment_refuses_what_does_not_change_the_rules_it_amends() {
        let drop_twice = Amendment {
            dropped: vec![RuleId::NotExcludedSoe, RuleId::NotExcludedSoe],
            ..amendment("2024-03-01")
        };
        assert_eq!(
            original().amend(drop_twice),
            Err(AmendmentError::DropsRuleNotInForce {
                index: 1,
                rule: RuleId::NotExcludedSoe
            })
        );
        let add_present = Amendment {
            added: vec![RuleId::Operating],
            dropped: Vec::new(),
            ..amendment("2024-03-01")
        };
        assert_eq!(
            original().amend(add_present),
            Err(AmendmentError::AddsRuleInForce {
                index: 0,
                rule: RuleId::Operating
            })
        );
        let both = Amendment {
            added: vec![RuleId::NotExcludedSoe],
            ..amendment("2024-03-01")
        };
        assert!(matches!(
            original().amend(both),
            Err(AmendmentError::DroppedAndAdded { index: 0, .. })
        ));
        let backwards = Amendment {
            effective_to: Some(date("2024-02-29")),
            ..amendment("2024-03-01")
        };
        assert_eq!(
            original().amend(backwards),
            Err(AmendmentError::EndsBeforeStart)
        );
    }

    #[test]
    fn dropping_every_rule_of_a_route_drops_the_route_and_not_all_routes() {
        let no_listing = Amendment {
            dropped: vec![
                RuleId::ListedOnAcceptedExchange,
                RuleId::ListedEntityInHangzhou,
            ],
            ..amendment("2024-03-01")
        };
        let amended = original().amend(no_listing).expect("valid");
        assert_eq!(amended.routes(), [Route::Standard, Route::Rd]);
        let nothing_left = Amendment {
            dropped: Route::ALL
                .into_iter()
                .flat_map(|route| route.own_rules().iter().copied())
                .collect(),
            ..amendment("2024-03-01")
        };
        assert_eq!(
            original().amend(nothing_left),
            Err(AmendmentError::NoRouteLeft)
        );
    }

    #[test]
    fn a_parameter_change_shows_the_value_in_force_the_day_before() {
        let mut set = ParameterSet::shipped_defaults();
        let general = set
            .resolve("recognition.excluded_industries", None, date("2024-02-29"))
            .cloned()
            .expect("shipped");
        let after = ParameterVersion {
            id: 1000,
            valid_from: date("2024-03-01"),
            value: ParamValue::List(vec!["16".to_owned()]),
            ..general.clone()
        };
        set.push(after.clone());
        let changes = parameter_changes(&set, std::slice::from_ref(&after), date("2024-03-01"));
        assert_eq!(
            changes,
            [ParameterChange {
                before: Some(general),
                after,
            }]
        );
    }
}
