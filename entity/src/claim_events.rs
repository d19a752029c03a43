use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One action on a claim.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "claim_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub claim_id: i64,
    #[sea_orm(column_type = "Text")]
    pub action: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub reason: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub content_hash: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub actor: String,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::claims::Entity",
        from = "Column::ClaimId",
        to = "super::claims::Column::Id"
    )]
    Claims,
}

impl Related<super::claims::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Claims.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
