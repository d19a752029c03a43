use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One district's claim for one fiscal year.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "claims")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(column_type = "String(StringLen::N(6))")]
    pub district_code: String,
    pub fiscal_year: i32,
    /// `SUBMITTED`, `RETURNED`, `RECONCILED` or `APPROVED`.
    #[sea_orm(column_type = "Text")]
    pub status: String,
    /// SHA-256 of the lines' canonical form at submission.
    #[sea_orm(column_type = "Text", nullable)]
    pub content_hash: Option<String>,
    pub line_count: i32,
    pub paid_total_fen: i64,
    pub submitted_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub submitted_by: Option<String>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::districts::Entity",
        from = "Column::DistrictCode",
        to = "super::districts::Column::Code"
    )]
    Districts,
    #[sea_orm(has_many = "super::claim_events::Entity")]
    ClaimEvents,
    #[sea_orm(has_many = "super::line_verdicts::Entity")]
    LineVerdicts,
}

impl Related<super::districts::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Districts.def()
    }
}

impl Related<super::claim_events::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ClaimEvents.def()
    }
}

impl Related<super::line_verdicts::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::LineVerdicts.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
