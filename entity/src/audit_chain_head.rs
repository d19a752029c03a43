use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// The head of the audit chain: one row (`id` = 1), locked by every append.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "audit_chain_head")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i64,
    /// The id of the last entry; `None` while the log is empty.
    pub last_id: Option<i64>,
    /// The last entry's hash (64 zeros while the log is empty).
    #[sea_orm(column_type = "Text")]
    pub hash: String,
    /// How many entries the chain holds.
    pub entries: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
