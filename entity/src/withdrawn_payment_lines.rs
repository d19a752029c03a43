use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A payment line its district withdrew before submitting: the line as it was reported (its id
/// kept), with when, by whom and why it was withdrawn.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "withdrawn_payment_lines")]
pub struct Model {
    /// The line's id in `payment_lines` before it was withdrawn.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i64,
    pub seq: i64,
    #[sea_orm(column_type = "String(StringLen::N(6))")]
    pub district_code: String,
    pub fiscal_year: i32,
    pub enterprise_id: i64,
    #[sea_orm(column_type = "String(StringLen::N(18))")]
    pub credit_code: String,
    #[sea_orm(column_type = "Text")]
    pub kind: String,
    pub subsidy_year: i32,
    #[sea_orm(column_type = "Text")]
    pub contract_no: String,
    pub basis_fen: i64,
    pub transaction_date: Option<Date>,
    pub amount_fen: i64,
    pub payment_date: Date,
    #[sea_orm(column_type = "Text")]
    pub voucher_no: String,
    pub reported_at: DateTimeUtc,
    #[sea_orm(column_type = "Text")]
    pub reported_by: String,
    pub withdrawn_at: DateTimeUtc,
    #[sea_orm(column_type = "Text")]
    pub withdrawn_by: String,
    #[sea_orm(column_type = "Text")]
    pub reason: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
