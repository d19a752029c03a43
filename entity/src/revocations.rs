use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One revocation of an enterprise's HQ title.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "revocations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub enterprise_id: i64,
    pub revoked_on: Date,
    /// Last day of the ban (inclusive).
    pub ban_until: Date,
    #[sea_orm(column_type = "Text")]
    pub reason: String,
    /// Reference of the leading group's approval.
    #[sea_orm(column_type = "Text")]
    pub approval_ref: String,
    #[sea_orm(column_type = "Text")]
    pub recorded_by: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::enterprises::Entity",
        from = "Column::EnterpriseId",
        to = "super::enterprises::Column::Id"
    )]
    Enterprises,
    #[sea_orm(has_many = "super::findings::Entity")]
    Findings,
}

impl Related<super::enterprises::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Enterprises.def()
    }
}

impl Related<super::findings::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Findings.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
