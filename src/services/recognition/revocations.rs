//! Revocations of the title (§22): recorded with the end of the ban, and turned into a finding on
//! the approved payments they reach (§20 step 6).

use chrono::{NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect,
};
use serde_json::json;

use super::{enterprise, lock};
use crate::auth::Actor;
use crate::error::{AppError, AppResult};
use crate::policy::{ban_end, title_held_on};
use crate::services::audit::{self, AuditEntry};
use crate::services::{parameters, tx};
use entity::{recognitions, revocations};

/// A recorded revocation.
#[derive(Debug, Clone)]
pub struct Revocation {
    /// The enterprise's credit code.
    pub credit_code: String,
    /// The stored row (with `ban_until`, the last day of the §22 ban).
    pub row: revocations::Model,
    /// The finding the revocation created on approved payments it reaches (§20 step 6), if any.
    pub finding_id: Option<i64>,
}

/// Records a revocation of the title approved by the leading group (§22), with the end of the ban
/// from `recognition.ban_years` in force on the revocation date; one transaction, audited.
///
/// # Errors
/// `BAD_USER_INPUT` for an empty reason or approval reference; `NOT_FOUND` for an unknown
/// enterprise; `POLICY_VIOLATION` (`§22`) when it held no title on that date; `CONFLICT` when a
/// revocation of the enterprise on that date is already recorded.
#[tracing::instrument(name = "recognition.revoke", skip_all, fields(role = %actor.role, credit_code = %credit_code))]
pub async fn revoke_title(
    db: &DatabaseConnection,
    actor: &Actor,
    credit_code: &str,
    revoked_on: NaiveDate,
    reason: &str,
    approval_ref: &str,
) -> AppResult<Revocation> {
    let reason = non_empty("reason", reason)?;
    let approval_ref = non_empty("approvalRef", approval_ref)?;
    let found = enterprise(db, credit_code).await?;
    let txn = tx::begin_write(db).await?;
    let revocation =
        revoke_title_locked(&txn, actor, found.id, revoked_on, reason, approval_ref).await?;
    txn.commit().await?;
    Ok(revocation)
}

/// [`revoke_title`] inside the caller's write transaction (used by the demo data loader).
///
/// # Errors
/// As [`revoke_title`].
pub async fn revoke_title_in<C: ConnectionTrait>(
    txn: &C,
    actor: &Actor,
    credit_code: &str,
    revoked_on: NaiveDate,
    reason: &str,
    approval_ref: &str,
) -> AppResult<Revocation> {
    let reason = non_empty("reason", reason)?;
    let approval_ref = non_empty("approvalRef", approval_ref)?;
    let found = enterprise(txn, credit_code).await?;
    revoke_title_locked(txn, actor, found.id, revoked_on, reason, approval_ref).await
}

async fn revoke_title_locked<C: ConnectionTrait>(
    txn: &C,
    actor: &Actor,
    enterprise_id: i64,
    revoked_on: NaiveDate,
    reason: String,
    approval_ref: String,
) -> AppResult<Revocation> {
    let enterprise = lock(txn, enterprise_id).await?;
    // §22 needs a title to revoke: `title_held_on` decides from the recognitions' decision dates
    // (one recognition a year at most, so this reads a handful of dates).
    let decided_on: Vec<NaiveDate> = recognitions::Entity::find()
        .select_only()
        .column(recognitions::Column::DecidedOn)
        .filter(recognitions::Column::EnterpriseId.eq(enterprise.id))
        .into_tuple::<NaiveDate>()
        .all(txn)
        .await?;
    if !title_held_on(&decided_on, revoked_on) {
        return Err(AppError::policy(
            "§22",
            format!(
                "{} held no headquarters title on {revoked_on}: nothing to revoke",
                enterprise.credit_code
            ),
        ));
    }
    let duplicate = revocations::Entity::find()
        .filter(revocations::Column::EnterpriseId.eq(enterprise.id))
        .filter(revocations::Column::RevokedOn.eq(revoked_on))
        .one(txn)
        .await?;
    if duplicate.is_some() {
        return Err(AppError::Conflict(format!(
            "a revocation of {} on {revoked_on} is already recorded",
            enterprise.credit_code
        )));
    }
    let set = parameters::load_set(txn).await?;
    let mut read = set.reader(revoked_on, None);
    let ban_years = read.count("recognition.ban_years")?;
    let ban_until = ban_end(revoked_on, ban_years);
    let row = revocations::ActiveModel {
        id: NotSet,
        enterprise_id: Set(enterprise.id),
        revoked_on: Set(revoked_on),
        ban_until: Set(ban_until),
        reason: Set(reason.clone()),
        approval_ref: Set(approval_ref.clone()),
        recorded_by: Set(actor.sub.clone()),
        created_at: Set(Utc::now()),
    }
    .insert(txn)
    .await?;
    audit::record(
        txn,
        actor,
        AuditEntry {
            operation: "revokeTitle",
            target_type: "revocation",
            target_id: Some(format!("{}/{revoked_on}", enterprise.credit_code)),
            before: None,
            after: Some(json!({
                "revokedOn": revoked_on,
                "banYears": ban_years,
                "banUntil": ban_until,
                "reason": reason,
                "approvalRef": approval_ref,
                "parameterVersions": read.used_version_ids(),
            })),
        },
    )
    .await?;
    // §20 step 6: approved payments the revocation reaches become a finding by themselves.
    let finding = crate::services::findings::findings_for_revocation(
        txn,
        actor,
        enterprise.id,
        row.id,
        revoked_on,
    )
    .await?;
    Ok(Revocation {
        credit_code: enterprise.credit_code,
        row,
        finding_id: finding.map(|f| f.finding.id),
    })
}

fn non_empty(field: &str, text: &str) -> AppResult<String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(AppError::bad_input(
            field,
            format!("{field} must not be empty"),
        ));
    }
    Ok(text.to_string())
}
