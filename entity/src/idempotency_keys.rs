use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One idempotency key of one actor.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "idempotency_keys")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The client-chosen key.
    #[sea_orm(column_type = "Text")]
    pub key: String,
    #[sea_orm(column_type = "Text")]
    pub actor_sub: String,
    #[sea_orm(column_type = "Text")]
    pub operation: String,
    /// Hash of the request; the same key with another request is a conflict.
    #[sea_orm(column_type = "Text")]
    pub request_hash: String,
    /// JSON.
    #[sea_orm(column_type = "Text")]
    pub response: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
