use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One reported payment.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "payment_lines")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Report order, assigned by the service.
    #[sea_orm(unique)]
    pub seq: i64,
    /// The reporting (and paying) district.
    #[sea_orm(column_type = "String(StringLen::N(6))")]
    pub district_code: String,
    /// The fiscal year of `payment_date`.
    pub fiscal_year: i32,
    pub enterprise_id: i64,
    /// The credit code as reported.
    #[sea_orm(column_type = "String(StringLen::N(18))")]
    pub credit_code: String,
    /// `RENT` or `PURCHASE`.
    #[sea_orm(column_type = "Text")]
    pub kind: String,
    /// The recognition year whose rent or purchase it subsidises.
    pub subsidy_year: i32,
    #[sea_orm(column_type = "Text")]
    pub contract_no: String,
    /// RENT: rent actually paid; PURCHASE: transaction price.
    pub basis_fen: i64,
    /// PURCHASE only.
    pub transaction_date: Option<Date>,
    /// Amount paid.
    pub amount_fen: i64,
    pub payment_date: Date,
    /// Unique within the district.
    #[sea_orm(column_type = "Text")]
    pub voucher_no: String,
    pub reported_at: DateTimeUtc,
    #[sea_orm(column_type = "Text")]
    pub reported_by: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::districts::Entity",
        from = "Column::DistrictCode",
        to = "super::districts::Column::Code"
    )]
    Districts,
    #[sea_orm(
        belongs_to = "super::enterprises::Entity",
        from = "Column::EnterpriseId",
        to = "super::enterprises::Column::Id"
    )]
    Enterprises,
    #[sea_orm(has_one = "super::line_verdicts::Entity")]
    LineVerdicts,
    #[sea_orm(has_many = "super::finding_lines::Entity")]
    FindingLines,
}

impl Related<super::districts::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Districts.def()
    }
}

impl Related<super::enterprises::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Enterprises.def()
    }
}

impl Related<super::line_verdicts::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::LineVerdicts.def()
    }
}

impl Related<super::finding_lines::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::FindingLines.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
