use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// The facts of one enterprise during `valid_from..=valid_to`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "enterprise_facts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub enterprise_id: i64,
    /// First day of the period (inclusive).
    pub valid_from: Date,
    /// Last day of the period (inclusive); `None` = open.
    pub valid_to: Option<Date>,
    #[sea_orm(column_type = "Text")]
    pub name: String,
    /// Registered district; `None` = outside Hangzhou.
    #[sea_orm(column_type = "String(StringLen::N(6))", nullable)]
    pub district_code: Option<String>,
    /// First day of the current continuous stay in Hangzhou.
    pub hangzhou_since: Option<Date>,
    /// GB/T 4754-2017 class, 4 digits, e.g. `7211`.
    #[sea_orm(column_type = "String(StringLen::N(4))")]
    pub industry_code: String,
    /// `PRIVATE`, `FOREIGN`, `CENTRAL_SOE`, ... (the service owns the enum).
    #[sea_orm(column_type = "Text")]
    pub ownership: String,
    pub industrial_guidance: bool,
    pub independent_legal_person: bool,
    pub deemed_legal_person: bool,
    pub operating: bool,
    pub unified_accounting: bool,
    pub rd_facilities: bool,
    pub rd_stable_funding: bool,
    /// Branches and >=50%-controlled subsidiaries outside Hangzhou.
    pub outside_units: i32,
    /// e.g. `SSE`; `None` = not listed.
    #[sea_orm(column_type = "Text", nullable)]
    pub listing_exchange: Option<String>,
    pub listed_entity_in_hangzhou: bool,
    /// On the serious dishonesty list.
    pub dishonest: bool,
    /// Owns office premises in Hangzhou.
    pub owns_office: bool,
    pub registered_capital_fen: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::enterprises::Entity",
        from = "Column::EnterpriseId",
        to = "super::enterprises::Column::Id"
    )]
    Enterprises,
    #[sea_orm(
        belongs_to = "super::districts::Entity",
        from = "Column::DistrictCode",
        to = "super::districts::Column::Code"
    )]
    Districts,
}

impl Related<super::enterprises::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Enterprises.def()
    }
}

impl Related<super::districts::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Districts.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
