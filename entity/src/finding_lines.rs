use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One payment line named by one finding.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "finding_lines")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub finding_id: i64,
    pub line_id: i64,
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
        belongs_to = "super::payment_lines::Entity",
        from = "Column::LineId",
        to = "super::payment_lines::Column::Id"
    )]
    PaymentLines,
}

impl Related<super::findings::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Findings.def()
    }
}

impl Related<super::payment_lines::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::PaymentLines.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
