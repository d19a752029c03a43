//! Reading the districts (seed data; never written through the API).

use sea_orm::{ConnectionTrait, EntityTrait, QueryOrder};

use crate::error::AppResult;
use entity::districts;

/// Every district, in code order.
///
/// # Errors
/// Database errors.
pub async fn list<C: ConnectionTrait>(conn: &C) -> AppResult<Vec<districts::Model>> {
    Ok(districts::Entity::find()
        .order_by_asc(districts::Column::Code)
        .all(conn)
        .await?)
}

/// One district by code.
///
/// # Errors
/// Database errors.
pub async fn get<C: ConnectionTrait>(conn: &C, code: &str) -> AppResult<Option<districts::Model>> {
    Ok(districts::Entity::find_by_id(code.to_string())
        .one(conn)
        .await?)
}
