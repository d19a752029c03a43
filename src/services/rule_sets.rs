//! Rule sets: each stored document with the rules it applies, the one in force on a date (every
//! recognition decision is taken under it), the list with what each changed relative to the one
//! it amends, and registering an amendment (HQ_OFFICE): its rule set, its rules and its parameter
//! versions in one audited transaction.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DatabaseConnection, EntityTrait, QueryOrder};
use serde_json::json;

use crate::auth::Actor;
use crate::error::{AppError, AppResult};
use crate::policy::params::{ParamValue, ParameterSet, ParameterVersion};
use crate::policy::rule_set::{self, ParameterChange, RuleChanges};
use crate::policy::{Amendment, AmendmentError, RuleId, RuleSet};
use crate::services::audit::{self, AuditEntry};
use crate::services::parameters::{self, StoredVersion};
use entity::{rule_set_rules, rule_sets};

/// A stored rule set.
#[derive(Debug, Clone)]
pub struct StoredRuleSet {
    /// The rule set as the policy reads it (code, document, dates, rules in force).
    pub rule_set: RuleSet,
    /// The document's title.
    pub title: String,
    /// The rule set it amends; `None` for the first.
    pub supersedes: Option<String>,
    /// When it was registered; `None` for the rule set shipped with the service.
    pub registered_at: Option<DateTime<Utc>>,
}

/// A rule set with what it changed relative to the one it amends.
#[derive(Debug, Clone)]
pub struct RuleSetChanges {
    /// The rule set.
    pub stored: StoredRuleSet,
    /// The first day a later rule set decides instead of this one; `None` while none does.
    pub superseded_from: Option<NaiveDate>,
    /// The rules it adds and drops.
    pub rules: RuleChanges,
    /// The parameter versions it brought, each against the version in force the day before.
    pub parameters: Vec<StoredChange>,
}

/// [`ParameterChange`] with the rule set of each version.
#[derive(Debug, Clone)]
pub struct StoredChange {
    /// The version in force for the same name and district the day before; `None` if none was.
    pub before: Option<StoredVersion>,
    /// The rule set's own version.
    pub after: StoredVersion,
}

fn code_of(rule: &str) -> AppResult<RuleId> {
    rule.parse().map_err(AppError::internal)
}

/// Every stored rule set with its rules, by `effective_from` (then code).
///
/// # Errors
/// Database errors; a stored rule id this build does not know, or a rule set with no rule, is an
/// internal error (never skipped).
pub async fn load<C: ConnectionTrait>(conn: &C) -> AppResult<Vec<StoredRuleSet>> {
    let rows = rule_sets::Entity::find()
        .order_by_asc(rule_sets::Column::EffectiveFrom)
        .order_by_asc(rule_sets::Column::Code)
        .all(conn)
        .await?;
    let mut rules: HashMap<String, BTreeSet<RuleId>> = HashMap::new();
    for row in rule_set_rules::Entity::find().all(conn).await? {
        rules
            .entry(row.rule_set)
            .or_default()
            .insert(code_of(&row.rule)?);
    }
    rows.into_iter()
        .map(|row| {
            let applied = rules.remove(&row.code).unwrap_or_default();
            if applied.is_empty() {
                return Err(AppError::internal(format!(
                    "rule set {} applies no rule: its rules were never stored",
                    row.code
                )));
            }
            Ok(StoredRuleSet {
                rule_set: RuleSet {
                    code: row.code,
                    document: row.document,
                    effective_from: row.effective_from,
                    effective_to: row.effective_to,
                    rules: applied,
                },
                title: row.title,
                supersedes: row.supersedes,
                registered_at: row.registered_at,
            })
        })
        .collect()
}

/// Every stored rule set as the policy reads them.
///
/// # Errors
/// As [`load`].
pub async fn load_policy<C: ConnectionTrait>(conn: &C) -> AppResult<Vec<RuleSet>> {
    Ok(load(conn)
        .await?
        .into_iter()
        .map(|stored| stored.rule_set)
        .collect())
}

/// The rule set in force on `on`, with its title.
///
/// # Errors
/// `POLICY_VIOLATION` (`§final`) when none is in force on `on`; as [`load`] otherwise.
pub async fn in_force_on<C: ConnectionTrait>(conn: &C, on: NaiveDate) -> AppResult<StoredRuleSet> {
    let stored = load(conn).await?;
    let policy: Vec<RuleSet> = stored.iter().map(|s| s.rule_set.clone()).collect();
    let code = rule_set::rule_set_on(&policy, on)?.code.clone();
    stored
        .into_iter()
        .find(|s| s.rule_set.code == code)
        .ok_or_else(|| AppError::internal("the rule set in force vanished"))
}

/// Every rule set with what it changed, by `effective_from`.
///
/// # Errors
/// As [`load`].
pub async fn list<C: ConnectionTrait>(conn: &C) -> AppResult<Vec<RuleSetChanges>> {
    let stored = load(conn).await?;
    let versions = parameters::load_versions(conn).await?;
    Ok(with_changes(stored, &versions))
}

fn with_changes(stored: Vec<StoredRuleSet>, versions: &[StoredVersion]) -> Vec<RuleSetChanges> {
    let set = ParameterSet::new(versions.iter().map(|v| v.version.clone()).collect());
    let by_code: HashMap<String, RuleSet> = stored
        .iter()
        .map(|s| (s.rule_set.code.clone(), s.rule_set.clone()))
        .collect();
    stored
        .iter()
        .map(|s| {
            let code = &s.rule_set.code;
            let previous = s.supersedes.as_ref().and_then(|p| by_code.get(p));
            // Its own versions from its first day: what the document changed. Versions a
            // deployment adds later under it (addParameterVersion) are changes of their own
            // dates, not of the document.
            let own: Vec<ParameterVersion> = versions
                .iter()
                .filter(|v| {
                    previous.is_some()
                        && &v.rule_set == code
                        && v.version.valid_from == s.rule_set.effective_from
                })
                .map(|v| v.version.clone())
                .collect();
            let superseded_from = stored
                .iter()
                .filter(|later| later.supersedes.as_ref() == Some(code))
                .map(|later| later.rule_set.effective_from)
                .min();
            RuleSetChanges {
                stored: s.clone(),
                superseded_from,
                rules: rule_set::rule_changes(previous, &s.rule_set),
                parameters: rule_set::parameter_changes(&set, &own, s.rule_set.effective_from)
                    .into_iter()
                    .filter_map(|change| stored_change(change, versions))
                    .collect(),
            }
        })
        .collect()
}

fn stored_change(change: ParameterChange, versions: &[StoredVersion]) -> Option<StoredChange> {
    let stored = |version: &ParameterVersion| versions.iter().find(|v| v.version.id == version.id);
    Some(StoredChange {
        before: change.before.as_ref().and_then(stored).cloned(),
        after: stored(&change.after)?.clone(),
    })
}

/// One parameter value of an amendment, as asked for.
#[derive(Debug, Clone)]
pub struct AmendmentParameter {
    /// The parameter name.
    pub name: String,
    /// A district's own version (only the §7 per-district parameters).
    pub district: Option<String>,
    /// The value.
    pub value: ParamValue,
    /// The legal reference; `None` = the amendment's document number.
    pub reference: Option<String>,
}

/// An amendment, as asked for.
#[derive(Debug, Clone)]
pub struct NewAmendment {
    /// The new rule set's code, e.g. `HZ-2024-1`.
    pub code: String,
    /// The document number, e.g. `杭政办〔2024〕1号`.
    pub document: String,
    /// The document's title.
    pub title: String,
    /// The day it takes effect.
    pub effective_from: NaiveDate,
    /// Its last day; `None` = that of the rule set it amends.
    pub effective_to: Option<NaiveDate>,
    /// The parameter values it sets from `effective_from`.
    pub parameters: Vec<AmendmentParameter>,
    /// Rules in force it no longer applies.
    pub dropped_rules: Vec<RuleId>,
    /// Rules of this release not in force that it applies.
    pub added_rules: Vec<RuleId>,
}

/// Longest code accepted.
const MAX_CODE_CHARS: usize = 40;
/// Longest document number or title accepted.
const MAX_TEXT_CHARS: usize = 500;

/// A code such as `HZ-2024-1`: 1 to 40 upper-case letters, digits and `-`.
fn check_code(code: &str) -> AppResult<String> {
    let code = code.trim();
    let ok = !code.is_empty()
        && code.len() <= MAX_CODE_CHARS
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(code.to_string())
    } else {
        Err(AppError::bad_input(
            "input.code",
            format!(
                "a code is 1 to {MAX_CODE_CHARS} upper-case letters, digits and `-`, e.g. HZ-2024-1"
            ),
        ))
    }
}

fn check_text(field: &str, text: &str) -> AppResult<String> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_TEXT_CHARS {
        return Err(AppError::bad_input(
            field,
            format!("give 1 to {MAX_TEXT_CHARS} characters"),
        ));
    }
    Ok(text.to_string())
}

/// The field an amendment refusal of the policy is about.
fn amendment_error(err: AmendmentError) -> AppError {
    let field = match &err {
        AmendmentError::NotAfterPrevious { .. }
        | AmendmentError::AfterPreviousEnd { .. }
        | AmendmentError::NothingInForce { .. } => "input.effectiveFrom".to_string(),
        AmendmentError::EndsBeforeStart => "input.effectiveTo".to_string(),
        AmendmentError::DropsRuleNotInForce { index, .. }
        | AmendmentError::DroppedAndAdded { index, .. } => format!("input.droppedRules[{index}]"),
        AmendmentError::AddsRuleInForce { index, .. } => format!("input.addedRules[{index}]"),
        AmendmentError::NoRouteLeft => "input.droppedRules".to_string(),
    };
    AppError::bad_input(field, err.to_string())
}

/// Registers an amendment: a new rule set amending the one in force on its date (it takes
/// effect after every earlier start: [`crate::policy::amend_in_force`]), with
/// its rules and its parameter versions (each valid from `effectiveFrom`, to `effectiveTo` when
/// one is given, else open-ended),
/// in one transaction, audited. Nothing stored is edited: earlier verdicts keep the rule set and
/// the parameter versions they name, and on a day before `effectiveFrom` every decision and
/// dry run answers as before.
///
/// # Errors
/// `BAD_USER_INPUT` naming the field at fault: a malformed code, an empty document or title, an
/// `effectiveFrom` not after the amended rule set's start or after its end, an `effectiveTo`
/// before it, a dropped rule not in force or an added rule in force, no route left, an unknown
/// parameter name, a value of the wrong kind (checked as `addParameterVersion` checks it), a
/// district version of a city-wide parameter or an unknown district, the same parameter twice;
/// `CONFLICT` when the code or the document is already registered, or a version of a parameter
/// from `effectiveFrom` exists already.
#[tracing::instrument(name = "rule_sets.register_amendment", skip_all, fields(role = %actor.role, code = %input.code))]
pub async fn register_amendment(
    db: &DatabaseConnection,
    actor: &Actor,
    input: NewAmendment,
) -> AppResult<RuleSetChanges> {
    let code = check_code(&input.code)?;
    let document = check_text("input.document", &input.document)?;
    let title = check_text("input.title", &input.title)?;
    let mut checked: Vec<(String, Option<String>, ParamValue, String)> = Vec::new();
    for (i, parameter) in input.parameters.into_iter().enumerate() {
        let prefix = format!("input.parameters[{i}]");
        let (name, value) = parameters::check_value(&prefix, &parameter.name, parameter.value)?;
        let district = parameter.district.map(|d| d.trim().to_string());
        if checked
            .iter()
            .any(|(n, d, _, _)| *n == name && *d == district)
        {
            return Err(AppError::bad_input(
                format!("{prefix}.name"),
                format!("`{name}` is set twice"),
            ));
        }
        let reference = match parameter.reference {
            Some(reference) => check_text(&format!("{prefix}.reference"), &reference)?,
            None => document.clone(),
        };
        checked.push((name, district, value, reference));
    }

    let txn = crate::services::tx::begin_write(db).await?;
    parameters::lock_parameter_writes(&txn).await?;
    let stored = load(&txn).await?;
    if let Some(existing) = stored
        .iter()
        .find(|s| s.rule_set.code == code || s.rule_set.document == document)
    {
        return Err(AppError::Conflict(format!(
            "rule set {} ({}) is already registered; a rule set is never edited",
            existing.rule_set.code, existing.rule_set.document
        )));
    }
    let policy: Vec<RuleSet> = stored.iter().map(|s| s.rule_set.clone()).collect();
    let (amended_code, amended) = rule_set::amend_in_force(
        &policy,
        Amendment {
            code: code.clone(),
            document: document.clone(),
            effective_from: input.effective_from,
            effective_to: input.effective_to,
            dropped: input.dropped_rules,
            added: input.added_rules,
        },
    )
    .map(|(previous, amended)| (previous.code.clone(), amended))
    .map_err(amendment_error)?;
    let previous = stored
        .iter()
        .find(|s| s.rule_set.code == amended_code)
        .ok_or_else(|| AppError::internal("the amended rule set vanished"))?;
    for (i, (name, district, _, _)) in checked.iter().enumerate() {
        let prefix = format!("input.parameters[{i}]");
        parameters::check_district(&txn, &prefix, name, district.as_deref()).await?;
        parameters::ensure_no_version_from(&txn, name, district.as_deref(), amended.effective_from)
            .await?;
    }

    let now = Utc::now();
    rule_sets::Entity::insert(rule_sets::ActiveModel {
        code: Set(code.clone()),
        document: Set(document.clone()),
        title: Set(title.clone()),
        effective_from: Set(amended.effective_from),
        effective_to: Set(amended.effective_to),
        supersedes: Set(Some(previous.rule_set.code.clone())),
        registered_by: Set(Some(actor.sub.clone())),
        registered_at: Set(Some(now)),
    })
    .exec(&txn)
    .await?;
    rule_set_rules::Entity::insert_many(amended.rules.iter().map(|rule| {
        rule_set_rules::ActiveModel {
            rule_set: Set(code.clone()),
            rule: Set(rule.as_str().to_string()),
        }
    }))
    .exec(&txn)
    .await?;
    // A version ends with the amendment only when the amendment names its own last day (a
    // temporary measure, after which the earlier values are in force again); otherwise it is
    // open-ended like the shipped defaults, so the money read after the document's end (star
    // rewards, the settlement of its last fiscal year) keeps the amended values and never falls
    // back to the values the amendment replaced.
    let valid_to = input.effective_to;
    let mut versions = Vec::with_capacity(checked.len());
    for (name, district, value, reference) in checked {
        let placeholder = reference.starts_with("placeholder");
        let version = ParameterVersion {
            id: 0,
            name,
            district,
            valid_from: amended.effective_from,
            valid_to,
            value,
            reference,
            placeholder,
        };
        versions.push(parameters::insert_version(&txn, actor, &code, version).await?);
    }

    let all_versions = parameters::load_versions(&txn).await?;
    let registered = StoredRuleSet {
        rule_set: amended,
        title,
        supersedes: Some(previous.rule_set.code.clone()),
        registered_at: Some(now),
    };
    let mut listed = with_changes(vec![previous.clone(), registered.clone()], &all_versions);
    let changes = listed
        .pop()
        .ok_or_else(|| AppError::internal("the registered rule set is not listed"))?;
    audit::record(
        &txn,
        actor,
        AuditEntry {
            operation: "registerAmendment",
            target_type: "rule_set",
            target_id: Some(code.clone()),
            before: Some(json!({
                "inForce": previous.rule_set.code,
                "rules": previous.rule_set.rules,
                "parameters": changes.parameters.iter().map(|c| json!({
                    "name": c.after.version.name,
                    "district": c.after.version.district,
                    "versionId": c.before.as_ref().map(|v| v.version.id),
                    "value": c.before.as_ref().map(|v| &v.version.value),
                })).collect::<Vec<_>>(),
            })),
            after: Some(json!({
                "code": code,
                "document": registered.rule_set.document,
                "title": registered.title,
                "effectiveFrom": registered.rule_set.effective_from,
                "effectiveTo": registered.rule_set.effective_to,
                "supersedes": registered.supersedes,
                "rules": registered.rule_set.rules,
                "rulesAdded": changes.rules.added,
                "rulesDropped": changes.rules.dropped,
                "parameters": versions.iter().map(|v| json!({
                    "name": v.version.name,
                    "district": v.version.district,
                    "versionId": v.version.id,
                    "value": v.version.value,
                })).collect::<Vec<_>>(),
            })),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_upper_case_letters_digits_and_hyphens() {
        assert_eq!(check_code(" HZ-2024-1 ").ok().as_deref(), Some("HZ-2024-1"));
        for bad in ["", "hz-2024-1", "HZ 2024", "HZ_2024", &"A".repeat(41)] {
            assert!(check_code(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn each_amendment_refusal_names_its_input_field() {
        let cases = [
            (AmendmentError::EndsBeforeStart, "input.effectiveTo"),
            (
                AmendmentError::DropsRuleNotInForce {
                    index: 2,
                    rule: RuleId::Operating,
                },
                "input.droppedRules[2]",
            ),
            (
                AmendmentError::AddsRuleInForce {
                    index: 1,
                    rule: RuleId::Operating,
                },
                "input.addedRules[1]",
            ),
            (AmendmentError::NoRouteLeft, "input.droppedRules"),
        ];
        for (err, expected) in cases {
            match amendment_error(err) {
                AppError::BadInput { field, .. } => assert_eq!(field, expected),
                other => panic!("{other:?}"),
            }
        }
    }
}
