use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// The settlement of one fiscal year.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "settlements")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub fiscal_year: i32,
    /// `DRAFT` or `APPROVED`.
    #[sea_orm(column_type = "Text")]
    pub status: String,
    /// Decimal string, 0 <= rate <= `settlement.rate_cap`.
    #[sea_orm(column_type = "Text")]
    pub rate: String,
    /// The city's budget; `None` = no budget limit.
    pub budget_fen: Option<i64>,
    pub reported_fen: i64,
    pub eligible_fen: i64,
    pub cut_fen: i64,
    pub reimbursement_fen: i64,
    pub granted_fen: i64,
    pub adjustments_fen: i64,
    pub net_payable_fen: i64,
    /// JSON list of `policy_parameters` ids used.
    #[sea_orm(column_type = "Text")]
    pub parameter_versions: String,
    pub drafted_at: DateTimeUtc,
    #[sea_orm(column_type = "Text")]
    pub drafted_by: String,
    pub approved_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub approved_by: Option<String>,
    /// Optimistic-lock counter.
    pub lock_version: i32,
    /// The audit chain's head hash when the approval was recorded (its own entry included).
    #[sea_orm(column_type = "Text", nullable)]
    pub audit_head_at_approval: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::settlement_lines::Entity")]
    SettlementLines,
    #[sea_orm(has_many = "super::adjustments::Entity")]
    Adjustments,
}

impl Related<super::settlement_lines::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::SettlementLines.def()
    }
}

impl Related<super::adjustments::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Adjustments.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
