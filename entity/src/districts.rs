use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One county-level division (区、县（市）).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "districts")]
pub struct Model {
    /// GB/T 2260 code, e.g. `330106`.
    #[sea_orm(
        primary_key,
        auto_increment = false,
        column_type = "String(StringLen::N(6))"
    )]
    pub code: String,
    /// Chinese name, e.g. `西湖区`.
    #[sea_orm(column_type = "Text")]
    pub name: String,
    /// `DISTRICT` (区), `COUNTY` (县) or `CITY` (县级市).
    #[sea_orm(column_type = "Text")]
    pub kind: String,
    /// Display order.
    pub sort_order: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::policy_parameters::Entity")]
    PolicyParameters,
    #[sea_orm(has_many = "super::enterprise_facts::Entity")]
    EnterpriseFacts,
    #[sea_orm(has_many = "super::star_rewards::Entity")]
    StarRewards,
    #[sea_orm(has_many = "super::payment_lines::Entity")]
    PaymentLines,
    #[sea_orm(has_many = "super::claims::Entity")]
    Claims,
    #[sea_orm(has_many = "super::settlement_lines::Entity")]
    SettlementLines,
    #[sea_orm(has_many = "super::adjustments::Entity")]
    Adjustments,
}

impl Related<super::policy_parameters::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::PolicyParameters.def()
    }
}

impl Related<super::enterprise_facts::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::EnterpriseFacts.def()
    }
}

impl Related<super::star_rewards::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::StarRewards.def()
    }
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
