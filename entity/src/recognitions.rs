use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// The recognition of one enterprise for one year.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "recognitions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub enterprise_id: i64,
    pub year: i32,
    /// Decision date D: facts and parameters are taken as of D.
    pub decided_on: Date,
    /// `STANDARD`, `RD` or `LISTED`.
    #[sea_orm(column_type = "Text")]
    pub route: String,
    #[sea_orm(column_type = "Text")]
    pub rule_set: String,
    /// JSON snapshot of the evaluated rules.
    #[sea_orm(column_type = "Text")]
    pub verdict: String,
    /// JSON list of `policy_parameters` ids used.
    #[sea_orm(column_type = "Text")]
    pub parameter_versions: String,
    pub needs_review: bool,
    #[sea_orm(column_type = "Text")]
    pub decided_by: String,
    pub created_at: DateTimeUtc,
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
        belongs_to = "super::rule_sets::Entity",
        from = "Column::RuleSet",
        to = "super::rule_sets::Column::Code"
    )]
    RuleSets,
    #[sea_orm(has_many = "super::star_ratings::Entity")]
    StarRatings,
}

impl Related<super::enterprises::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Enterprises.def()
    }
}

impl Related<super::rule_sets::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::RuleSets.def()
    }
}

impl Related<super::star_ratings::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::StarRatings.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
