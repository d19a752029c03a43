//! Rule sets: each stored document with the rules it applies, and the one in force on a date
//! (every recognition decision is taken under it).

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, EntityTrait, QueryOrder};

use crate::error::{AppError, AppResult};
use crate::policy::rule_set;
use crate::policy::{RuleId, RuleSet};
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
