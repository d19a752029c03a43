use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One enterprise's figures for one year.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "enterprise_figures")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub enterprise_id: i64,
    pub year: i32,
    /// 在杭营业收入, net of real-estate development income.
    pub revenue_fen: i64,
    /// 在杭研发费用.
    pub rd_spend_fen: i64,
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
