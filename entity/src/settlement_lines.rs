use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One district's figures in one settlement.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "settlement_lines")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub settlement_id: i64,
    #[sea_orm(column_type = "String(StringLen::N(6))")]
    pub district_code: String,
    pub reported_fen: i64,
    pub eligible_fen: i64,
    pub cut_fen: i64,
    /// JSON object: primary reason -> cut fen.
    #[sea_orm(column_type = "Text")]
    pub cut_by_reason: String,
    pub reimbursement_fen: i64,
    pub granted_fen: i64,
    pub adjustments_fen: i64,
    pub net_payable_fen: i64,
    /// Why the district has zeros (no lines, not submitted, ...).
    #[sea_orm(column_type = "Text", nullable)]
    pub zero_reason: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::settlements::Entity",
        from = "Column::SettlementId",
        to = "super::settlements::Column::Id",
        on_delete = "Cascade"
    )]
    Settlements,
    #[sea_orm(
        belongs_to = "super::districts::Entity",
        from = "Column::DistrictCode",
        to = "super::districts::Column::Code"
    )]
    Districts,
}

impl Related<super::settlements::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Settlements.def()
    }
}

impl Related<super::districts::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Districts.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
