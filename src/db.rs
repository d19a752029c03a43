//! Database connections: SQLite (embedded default, WAL, busy timeout) or PostgreSQL, the
//! migrations, and the seed.

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};

use crate::config::Settings;
use crate::error::{AppError, AppResult};
use crate::services;

/// How long a SQLite writer waits for the lock before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Connects to the configured database.
///
/// # Errors
/// `SERVICE_UNAVAILABLE` if the database cannot be reached or opened.
pub async fn connect(settings: &Settings) -> AppResult<DatabaseConnection> {
    let mut options = ConnectOptions::new(settings.effective_database_url());
    options
        .max_connections(settings.db_max_connections.max(1))
        .min_connections(0)
        .connect_timeout(Duration::from_secs(settings.db_acquire_timeout_secs.max(1)))
        .acquire_timeout(Duration::from_secs(settings.db_acquire_timeout_secs.max(1)))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Full)
                .busy_timeout(SQLITE_BUSY_TIMEOUT)
                .foreign_keys(true)
        });
    Database::connect(options)
        .await
        .map_err(AppError::Unavailable)
}

/// Applies pending migrations, then the idempotent seed.
///
/// # Errors
/// Database errors.
pub async fn migrate_and_seed(db: &DatabaseConnection) -> AppResult<()> {
    Migrator::up(db, None).await?;
    services::seed::run(db).await
}
