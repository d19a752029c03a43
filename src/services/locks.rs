//! The period lock of §20 step 5: once a fiscal year's settlement is approved, nothing that
//! would change its lines, claims, verdicts or figures may be written.

use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, Statement};

use crate::error::{AppError, AppResult};
use crate::policy::settlement::SettlementStatus;
use entity::settlements;

/// Whether the settlement of `fiscal_year` is approved.
///
/// # Errors
/// Database errors.
pub async fn is_locked<C: ConnectionTrait>(conn: &C, fiscal_year: i32) -> AppResult<bool> {
    Ok(settlements::Entity::find()
        .filter(settlements::Column::FiscalYear.eq(fiscal_year))
        .filter(settlements::Column::Status.eq(SettlementStatus::Approved.as_str()))
        .one(conn)
        .await?
        .is_some())
}

/// Refuses a write to an approved year.
///
/// # Errors
/// `PERIOD_LOCKED` when the settlement of `fiscal_year` is approved.
pub async fn ensure_open<C: ConnectionTrait>(conn: &C, fiscal_year: i32) -> AppResult<()> {
    if is_locked(conn, fiscal_year).await? {
        return Err(AppError::PeriodLocked(format!(
            "fiscal year {fiscal_year} is settled and approved; record a finding instead"
        )));
    }
    Ok(())
}

/// Serialises the writers of §20 money on PostgreSQL — reports, submissions, returns,
/// reconciliations, drafts, approvals and findings — with one table lock that conflicts with
/// itself, so none of them interleaves with an approval (and report order stays a strict
/// sequence). On SQLite every write transaction is already exclusive (`BEGIN IMMEDIATE`).
///
/// # Errors
/// Database errors.
pub async fn lock_money_writes<C: ConnectionTrait>(conn: &C) -> AppResult<()> {
    let backend = conn.get_database_backend();
    if backend == DbBackend::Postgres {
        // Through the pool's statement watch (`db::watch_statements`), unlike an unprepared
        // statement: waiting long for this lock is what an operator looks for in the log.
        conn.execute_raw(Statement::from_string(
            backend,
            "LOCK TABLE payment_lines IN SHARE ROW EXCLUSIVE MODE",
        ))
        .await?;
    }
    Ok(())
}
