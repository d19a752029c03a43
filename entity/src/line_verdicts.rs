use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// The verdict on one payment line.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "line_verdicts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub line_id: i64,
    pub claim_id: i64,
    /// 0 <= eligible <= paid.
    pub eligible_fen: i64,
    pub cut_fen: i64,
    /// JSON list of reasons with clause.
    #[sea_orm(column_type = "Text")]
    pub reasons: String,
    /// The first reason in the table order.
    #[sea_orm(column_type = "Text", nullable)]
    pub primary_reason: Option<String>,
    /// The `OVER_DISTRICT_RATIO` group key.
    #[sea_orm(column_type = "Text", nullable)]
    pub ratio_group: Option<String>,
    pub group_limit_fen: Option<i64>,
    /// JSON list of `policy_parameters` ids used.
    #[sea_orm(column_type = "Text")]
    pub parameter_versions: String,
    pub decided_at: DateTimeUtc,
    #[sea_orm(column_type = "Text")]
    pub decided_by: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::payment_lines::Entity",
        from = "Column::LineId",
        to = "super::payment_lines::Column::Id"
    )]
    PaymentLines,
    #[sea_orm(
        belongs_to = "super::claims::Entity",
        from = "Column::ClaimId",
        to = "super::claims::Column::Id"
    )]
    Claims,
}

impl Related<super::payment_lines::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::PaymentLines.def()
    }
}

impl Related<super::claims::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Claims.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
