use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One event in an enterprise's history (never edited; errors are fixed by `CORRECTED`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "enterprise_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub enterprise_id: i64,
    /// `REGISTERED`, `RENAMED`, `MOVED_DISTRICT`, ... (the service owns the enum).
    #[sea_orm(column_type = "Text")]
    pub kind: String,
    /// The day the change takes effect.
    pub effective_date: Date,
    /// JSON object: fact name -> new value.
    #[sea_orm(column_type = "Text")]
    pub changes: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub note: Option<String>,
    pub recorded_at: DateTimeUtc,
    #[sea_orm(column_type = "Text")]
    pub recorded_by: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::enterprises::Entity",
        from = "Column::EnterpriseId",
        to = "super::enterprises::Column::Id"
    )]
    Enterprises,
}

impl Related<super::enterprises::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Enterprises.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
