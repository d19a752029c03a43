//! The demo data set of `hq-api demo-data`.

use sea_orm::DatabaseConnection;

use crate::error::AppResult;

/// Loads the demo data; returns a one-line summary.
///
/// # Errors
/// Database errors.
pub async fn load(_db: &DatabaseConnection) -> AppResult<String> {
    Ok(String::new())
}
