//! Recognition (§3, §4): the verdict as a dry run, and the recognition stored with its verdict,
//! decision date, route, rule set and parameter versions.

use std::sync::Arc;

use chrono::{NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
};
use serde_json::json;

use super::inputs::{self, Inputs, PolicyCache, PolicySnapshot};
use super::{ensure_sees, enterprise, lock, not_in_registry, verdict_in};
use crate::auth::Actor;
use crate::error::{AppError, AppResult};
use crate::policy::RecognitionVerdict;
use crate::services::audit::{self, AuditEntry};
use crate::services::registry;
use crate::services::rule_sets::StoredRuleSet;
use crate::services::tx;
use entity::recognitions;

/// A verdict with the enterprise it is about.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// The enterprise's credit code (normalised).
    pub credit_code: String,
    /// Its name on the decision date.
    pub name: String,
    /// The district it is registered in on the decision date (`None` outside Hangzhou).
    pub district_code: Option<String>,
    /// The verdict.
    pub verdict: RecognitionVerdict,
    /// The rule set it was decided under: the one in force on the decision date (shared by
    /// every verdict of that date).
    pub rule_set: Arc<StoredRuleSet>,
}

/// A dry run of recognition: the verdict, nothing stored.
///
/// # Errors
/// `NOT_FOUND` for an unknown enterprise; `FORBIDDEN` for a district actor and an enterprise
/// registered elsewhere today; `BAD_USER_INPUT` when the enterprise is not in the registry on the
/// decision date; `POLICY_VIOLATION` (`§final`) for a year outside the policy's rounds or a
/// decision date no rule set is in force on.
#[tracing::instrument(name = "recognition.evaluate", skip_all, fields(role = %actor.role, credit_code = %credit_code, year))]
pub async fn evaluate(
    db: &DatabaseConnection,
    policy: &PolicyCache,
    actor: &Actor,
    credit_code: &str,
    year: i32,
    decided_on: NaiveDate,
) -> AppResult<Evaluation> {
    let code = registry::parse_credit_code("creditCode", credit_code)?;
    // One statement: the enterprise, its facts today and on D, its figures of Y−1, its
    // revocations and the policy's generation; the policy itself comes from the cache.
    let (inputs, generation) = inputs::of_enterprise(db, code.as_str(), year, decided_on)
        .await?
        .ok_or_else(|| {
            AppError::NotFound(format!("no enterprise with credit code {credit_code}"))
        })?;
    ensure_sees(actor, inputs.district_today.as_deref())?;
    let snapshot = policy.snapshot(db, generation).await?;
    decide(&snapshot, inputs, year, decided_on)
}

/// The verdict on `inputs` for `year` decided on `decided_on` under the rule set and parameters
/// in force on that date: the same decision as [`recognize`] takes, from inputs read in bulk.
///
/// # Errors
/// `BAD_USER_INPUT` (`decidedOn`) when the enterprise is not in the registry on the decision
/// date; `POLICY_VIOLATION` (`§final`) as [`evaluate`].
pub(super) fn decide(
    policy: &PolicySnapshot,
    inputs: Inputs,
    year: i32,
    decided_on: NaiveDate,
) -> AppResult<Evaluation> {
    let facts = inputs
        .facts
        .as_ref()
        .ok_or_else(|| not_in_registry(&inputs.credit_code, decided_on))?;
    let facts = registry::facts_from_row(facts)?;
    let rules = policy.on(decided_on)?;
    let verdict = rules.policy.decide(
        &facts,
        inputs.figures.as_ref(),
        &inputs.revocations,
        year,
        decided_on,
    )?;
    Ok(Evaluation {
        credit_code: inputs.credit_code,
        name: facts.name,
        district_code: facts.district_code,
        verdict,
        rule_set: Arc::clone(&rules.rule_set),
    })
}

/// A stored recognition with its verdict.
#[derive(Debug, Clone)]
pub struct Recognition {
    /// The enterprise's credit code.
    pub credit_code: String,
    /// The stored row.
    pub row: recognitions::Model,
    /// The verdict it stores.
    pub verdict: RecognitionVerdict,
    /// The rule set it was decided under.
    pub rule_set: StoredRuleSet,
}

/// Recognises an enterprise for `year` on `decided_on` (§4), storing the verdict, the decision
/// date, the route, the rule set and the parameter versions used; one transaction, audited.
///
/// # Errors
/// `CONFLICT` when the enterprise is already recognised for `year`; `POLICY_VIOLATION` when it is
/// not eligible, citing the clause of the first failed rule, with the failed rule ids in
/// `extensions.details`; as [`evaluate`] otherwise.
#[tracing::instrument(name = "recognition.recognize", skip_all, fields(role = %actor.role, credit_code = %credit_code, year))]
pub async fn recognize(
    db: &DatabaseConnection,
    actor: &Actor,
    credit_code: &str,
    year: i32,
    decided_on: NaiveDate,
) -> AppResult<Recognition> {
    let found = enterprise(db, credit_code).await?;
    let txn = tx::begin_write(db).await?;
    let recognition = recognize_locked(&txn, actor, found.id, year, decided_on).await?;
    txn.commit().await?;
    Ok(recognition)
}

/// [`recognize`] inside the caller's write transaction (used by the demo data loader). A refusal
/// writes nothing, so the transaction stays usable.
///
/// # Errors
/// As [`recognize`].
pub async fn recognize_in<C: ConnectionTrait>(
    txn: &C,
    actor: &Actor,
    credit_code: &str,
    year: i32,
    decided_on: NaiveDate,
) -> AppResult<Recognition> {
    let found = enterprise(txn, credit_code).await?;
    recognize_locked(txn, actor, found.id, year, decided_on).await
}

async fn recognize_locked<C: ConnectionTrait>(
    txn: &C,
    actor: &Actor,
    enterprise_id: i64,
    year: i32,
    decided_on: NaiveDate,
) -> AppResult<Recognition> {
    let enterprise = lock(txn, enterprise_id).await?;
    if let Some(existing) = recognition_of(txn, enterprise.id, year).await? {
        return Err(AppError::Conflict(format!(
            "{} is already recognised for {year} (decided on {})",
            enterprise.credit_code, existing.decided_on
        )));
    }
    let (verdict, rule_set) = verdict_in(txn, &enterprise, year, decided_on).await?;
    let route = match (verdict.eligible, verdict.route) {
        (true, Some(route)) => route,
        _ => return Err(not_eligible(&verdict)),
    };
    let verdict_json = serde_json::to_string(&verdict).map_err(AppError::internal)?;
    let versions_json =
        serde_json::to_string(&verdict.parameter_versions).map_err(AppError::internal)?;
    let row = recognitions::ActiveModel {
        id: NotSet,
        enterprise_id: Set(enterprise.id),
        year: Set(year),
        decided_on: Set(decided_on),
        route: Set(route.as_str().to_string()),
        rule_set: Set(rule_set.rule_set.code.clone()),
        verdict: Set(verdict_json),
        parameter_versions: Set(versions_json),
        needs_review: Set(verdict.needs_review),
        decided_by: Set(actor.sub.clone()),
        created_at: Set(Utc::now()),
    }
    .insert(txn)
    .await?;
    audit::record(
        txn,
        actor,
        AuditEntry {
            operation: "recognize",
            target_type: "recognition",
            target_id: Some(format!("{}/{year}", enterprise.credit_code)),
            before: None,
            after: Some(json!({
                "year": year,
                "decidedOn": decided_on,
                "route": route.as_str(),
                "ruleSet": rule_set.rule_set.code,
                "needsReview": verdict.needs_review,
                "parameterVersions": verdict.parameter_versions,
            })),
        },
    )
    .await?;
    Ok(Recognition {
        credit_code: enterprise.credit_code,
        row,
        verdict,
        rule_set: Arc::unwrap_or_clone(rule_set),
    })
}

/// The refusal of recognising an ineligible enterprise: `POLICY_VIOLATION` citing the clause of
/// the first failed rule (in table order), with every failed rule id in `extensions.details`.
fn not_eligible(verdict: &RecognitionVerdict) -> AppError {
    let error = verdict
        .ensure_eligible()
        .err()
        .map_or_else(|| "not eligible".to_string(), |e| e.to_string());
    let clause = verdict
        .failed
        .first()
        .map_or(crate::policy::Clause::S4, |rule| rule.clause());
    AppError::PolicyViolation {
        clause: clause.as_str().to_string(),
        message: error,
        details: Some(json!(
            verdict
                .failed
                .iter()
                .map(|rule| rule.as_str())
                .collect::<Vec<_>>()
        )),
    }
}

pub(super) async fn recognition_of<C: ConnectionTrait>(
    conn: &C,
    enterprise_id: i64,
    year: i32,
) -> AppResult<Option<recognitions::Model>> {
    Ok(recognitions::Entity::find()
        .filter(recognitions::Column::EnterpriseId.eq(enterprise_id))
        .filter(recognitions::Column::Year.eq(year))
        .one(conn)
        .await?)
}
