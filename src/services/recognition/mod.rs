//! Recognition (§3, §4), star ratings (§5), star rewards (§6), revocations (§22), the published
//! list (§21) and the monitoring of the 2025 targets (§1).
//!
//! Each function loads what the pure rules of [`crate::policy`] need (facts as of the decision
//! date from the registry, figures of Y−1, revocation dates, the parameter versions), calls them,
//! and persists the decision with its verdict and the parameter versions it used. Every write runs
//! in one write transaction and is audited in it.

/// What a verdict reads: the policy, cached per generation, and an enterprise's inputs in one
/// statement.
pub mod inputs;
/// The published list (§21) and the monitoring of the 2025 targets (§1).
pub mod published;
/// Star ratings (§5) and what depends on a rating.
pub mod ratings;
/// Evaluating and recording recognitions (§3, §4).
pub mod recognize;
/// Revocations of the title (§22).
pub mod revocations;
/// Star rewards (§6): what is due, and granting them.
pub mod rewards;
/// The yearly round: the verdict of every enterprise in the registry on a decision date.
pub mod round;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDate;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::auth::Actor;
use crate::error::{AppError, AppResult};
use crate::policy::RecognitionVerdict;
use crate::services::registry;
use crate::services::rule_sets::StoredRuleSet;
use entity::enterprises;

// ---------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------

/// The registered enterprise with `credit_code`.
async fn enterprise<C: ConnectionTrait>(
    conn: &C,
    credit_code: &str,
) -> AppResult<enterprises::Model> {
    registry::read::find_by_credit_code(conn, credit_code)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no enterprise with credit code {credit_code}")))
}

/// The enterprise, locked for the rest of the write transaction (PostgreSQL `FOR UPDATE`; SQLite
/// holds the write lock already), so decisions on one enterprise never interleave.
async fn lock<C: ConnectionTrait>(conn: &C, id: i64) -> AppResult<enterprises::Model> {
    enterprises::Entity::find_by_id(id)
        .lock_exclusive()
        .one(conn)
        .await?
        .ok_or_else(|| AppError::internal(format!("enterprise {id} vanished in its transaction")))
}

/// The revocation dates of several enterprises, by enterprise id.
async fn revocation_dates_of_many<C: ConnectionTrait>(
    conn: &C,
    enterprise_ids: &[i64],
) -> AppResult<HashMap<i64, Vec<NaiveDate>>> {
    let mut result: HashMap<i64, Vec<NaiveDate>> = HashMap::new();
    for chunk in enterprise_ids.chunks(500) {
        let rows = entity::revocations::Entity::find()
            .filter(entity::revocations::Column::EnterpriseId.is_in(chunk.iter().copied()))
            .order_by_asc(entity::revocations::Column::RevokedOn)
            .all(conn)
            .await?;
        for row in rows {
            result
                .entry(row.enterprise_id)
                .or_default()
                .push(row.revoked_on);
        }
    }
    Ok(result)
}

/// `FORBIDDEN` unless `actor` may see the confidential data of an enterprise registered in
/// `district` today.
fn ensure_sees(actor: &Actor, district: Option<&str>) -> AppResult<()> {
    if actor.sees_confidential_of(district) {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "role {} may not see this enterprise's confidential data: a district actor sees only \
             the enterprises registered in its own district",
            actor.role
        )))
    }
}

/// An enterprise not yet in the registry on D has no facts to decide on: that is a wrong
/// decision date for it (`BAD_USER_INPUT` on `decidedOn`), not a verdict.
fn not_in_registry(credit_code: &str, decided_on: NaiveDate) -> AppError {
    AppError::bad_input(
        "decidedOn",
        format!(
            "enterprise {credit_code} is not in the registry on {decided_on}: no facts to decide on"
        ),
    )
}

/// The verdict for `enterprise` and `year` decided on `decided_on`, from what `conn` holds, under
/// the rule set in force on `decided_on` (returned with it): the inputs and the decision of
/// [`recognize::evaluate`], with the policy read afresh in the caller's transaction. A later
/// document never reaches a decision taken before its date: the rule set and the parameter
/// versions are both those in force on the decision date.
async fn verdict_in<C: ConnectionTrait>(
    conn: &C,
    enterprise: &enterprises::Model,
    year: i32,
    decided_on: NaiveDate,
) -> AppResult<(RecognitionVerdict, Arc<StoredRuleSet>)> {
    let (found, _) = inputs::of_enterprise(conn, &enterprise.credit_code, year, decided_on)
        .await?
        .ok_or_else(|| AppError::internal("a locked enterprise vanished in its transaction"))?;
    let policy = inputs::PolicySnapshot::load(conn).await?;
    let evaluation = recognize::decide(&policy, found, year, decided_on)?;
    Ok((evaluation.verdict, evaluation.rule_set))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_district_actor_sees_only_its_own_district() {
        let district = Actor {
            sub: "d".into(),
            role: crate::auth::Role::District,
            district: Some("330106".into()),
        };
        assert!(ensure_sees(&district, Some("330106")).is_ok());
        assert!(ensure_sees(&district, Some("330108")).is_err());
        assert!(ensure_sees(&district, None).is_err());
        let finance = Actor {
            sub: "f".into(),
            role: crate::auth::Role::CityFinance,
            district: None,
        };
        assert!(ensure_sees(&finance, Some("330108")).is_ok());
    }
}
