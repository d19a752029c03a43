use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One audited operation.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub at: DateTimeUtc,
    /// The JWT subject.
    #[sea_orm(column_type = "Text")]
    pub actor_sub: String,
    #[sea_orm(column_type = "Text")]
    pub actor_role: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub actor_district: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub operation: String,
    #[sea_orm(column_type = "Text")]
    pub target_type: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub target_id: Option<String>,
    /// JSON.
    #[sea_orm(column_type = "Text", nullable)]
    pub before: Option<String>,
    /// JSON.
    #[sea_orm(column_type = "Text", nullable)]
    pub after: Option<String>,
    /// The `hash` of the entry before (64 zeros for the first).
    #[sea_orm(column_type = "Text")]
    pub prev_hash: String,
    /// SHA-256 of `prev_hash` and the entry's canonical bytes (`migration::canonical_bytes`).
    #[sea_orm(column_type = "Text")]
    pub hash: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
