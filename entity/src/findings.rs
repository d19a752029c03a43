use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One finding naming approved payment lines.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "findings")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// `REVOCATION` or `AUDIT`.
    #[sea_orm(column_type = "Text")]
    pub kind: String,
    pub revocation_id: Option<i64>,
    #[sea_orm(column_type = "Text")]
    pub reason: String,
    pub recorded_at: DateTimeUtc,
    #[sea_orm(column_type = "Text")]
    pub recorded_by: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::revocations::Entity",
        from = "Column::RevocationId",
        to = "super::revocations::Column::Id"
    )]
    Revocations,
    #[sea_orm(has_many = "super::finding_lines::Entity")]
    FindingLines,
    #[sea_orm(has_many = "super::adjustments::Entity")]
    Adjustments,
}

impl Related<super::revocations::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Revocations.def()
    }
}

impl Related<super::finding_lines::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::FindingLines.def()
    }
}

impl Related<super::adjustments::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Adjustments.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
