//! Write transactions. On SQLite a write transaction starts `IMMEDIATE`, so two writers queue
//! on the busy timeout instead of one failing with "database is locked" when it upgrades a read
//! lock; on PostgreSQL it is an ordinary transaction whose writes take row locks.

use sea_orm::{
    DatabaseConnection, DatabaseTransaction, DbBackend, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
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
    Ok(db.begin_with_options(options).await?)
}
