use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One enterprise, identified by its unified social credit code.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "enterprises")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Unified social credit code (GB 32100-2015), normalised.
    #[sea_orm(column_type = "String(StringLen::N(18))", unique)]
    pub credit_code: String,
    pub created_at: DateTimeUtc,
    #[sea_orm(column_type = "Text")]
    pub created_by: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::enterprise_events::Entity")]
    EnterpriseEvents,
    #[sea_orm(has_many = "super::enterprise_facts::Entity")]
    EnterpriseFacts,
    #[sea_orm(has_many = "super::enterprise_figures::Entity")]
    EnterpriseFigures,
    #[sea_orm(has_many = "super::recognitions::Entity")]
    Recognitions,
    #[sea_orm(has_many = "super::star_ratings::Entity")]
    StarRatings,
    #[sea_orm(has_many = "super::star_rewards::Entity")]
    StarRewards,
    #[sea_orm(has_many = "super::revocations::Entity")]
    Revocations,
    #[sea_orm(has_many = "super::payment_lines::Entity")]
    PaymentLines,
}

impl Related<super::enterprise_events::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::EnterpriseEvents.def()
    }
}

impl Related<super::enterprise_facts::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::EnterpriseFacts.def()
    }
}

impl Related<super::enterprise_figures::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::EnterpriseFigures.def()
    }
}

impl Related<super::recognitions::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Recognitions.def()
    }
}

impl Related<super::star_ratings::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::StarRatings.def()
    }
}

impl Related<super::star_rewards::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::StarRewards.def()
    }
}

impl Related<super::revocations::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Revocations.def()
    }
}

impl Related<super::payment_lines::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::PaymentLines.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
