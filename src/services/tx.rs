//! Write transactions. On SQLite a write transaction starts `IMMEDIATE`, so two writers queue
//! on the busy timeout instead of one failing with "database is locked" when it upgrades a read
//! lock. On PostgreSQL it starts by locking the audit chain's head row (`FOR UPDATE`): every
//! write is audited and the chain has one order, so writers are serial at their first audit entry
//! anyway; taking that lock first, before any other row lock, means two writers can never
//! deadlock (one holding a row the other needs while waiting for the head), whatever rows they
//! touch.

use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend,
    IsolationLevel, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

use crate::error::AppResult;

/// Begins the transaction of one mutation.
///
/// # Errors
/// Database errors (`SERVICE_UNAVAILABLE` when the database cannot be reached).
pub async fn begin_write(db: &DatabaseConnection) -> AppResult<DatabaseTransaction> {
    let options = match db.get_database_backend() {
        DbBackend::Sqlite => TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        },
        _ => TransactionOptions::default(),
    };
    let txn = db.begin_with_options(options).await?;
    if db.get_database_backend() == DbBackend::Postgres {
        super::audit::lock_head(&txn).await?;
    }
    Ok(txn)
}

/// Begins a read-only transaction that sees one snapshot: on PostgreSQL `REPEATABLE READ READ
/// ONLY`; on SQLite a deferred transaction, whose first read fixes what the later ones see.
///
/// # Errors
/// Database errors (`SERVICE_UNAVAILABLE` when the database cannot be reached).
pub async fn begin_snapshot<C: ConnectionTrait + TransactionTrait>(
    db: &C,
) -> AppResult<C::Transaction> {
    Ok(match db.get_database_backend() {
        DbBackend::Postgres => {
            db.begin_with_config(
                Some(IsolationLevel::RepeatableRead),
                Some(AccessMode::ReadOnly),
            )
            .await?
        }
        _ => db.begin().await?,
    })
}
