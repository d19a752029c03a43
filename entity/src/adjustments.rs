use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One adjustment for one finding, district and original year.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "adjustments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub finding_id: i64,
    #[sea_orm(column_type = "String(StringLen::N(6))")]
    pub district_code: String,
    pub original_settlement_id: i64,
    pub original_year: i32,
    /// The fiscal year of the settlement it goes into.
    pub target_year: i32,
    /// -floor_to_fen(e x G / E): negative or zero.
    pub amount_fen: i64,
    /// e: approved eligible amounts of the lines found.
    pub found_eligible_fen: i64,
    /// E: the district's eligible total.
    pub district_eligible_fen: i64,
    /// G: the district's grant.
    pub district_granted_fen: i64,
    #[sea_orm(column_type = "Text")]
    pub reason: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::findings::Entity",
        from = "Column::FindingId",
        to = "super::findings::Column::Id"
    )]
    Findings,
    #[sea_orm(
        belongs_to = "super::districts::Entity",
        from = "Column::DistrictCode",
        to = "super::districts::Column::Code"
    )]
    Districts,
    #[sea_orm(
        belongs_to = "super::settlements::Entity",
        from = "Column::OriginalSettlementId",
        to = "super::settlements::Column::Id"
    )]
    Settlements,
}

impl Related<super::findings::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Findings.def()
    }
}

impl Related<super::districts::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Districts.def()
    }
}

impl Related<super::settlements::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Settlements.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
