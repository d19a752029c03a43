use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One policy document, e.g. `HZ-2023-3` = 杭政办〔2023〕3号.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "rule_sets")]
pub struct Model {
    /// Stable code, e.g. `HZ-2023-3`.
    #[sea_orm(primary_key, auto_increment = false, column_type = "Text")]
    pub code: String,
    /// Document number, e.g. `杭政办〔2023〕3号`.
    #[sea_orm(column_type = "Text")]
    pub document: String,
    /// Document title.
    #[sea_orm(column_type = "Text")]
    pub title: String,
    /// First day in force.
    pub effective_from: Date,
    /// Last day in force (inclusive); `None` = open-ended.
    pub effective_to: Option<Date>,
    /// The rule set this one amends; `None` for the first.
    #[sea_orm(column_type = "Text", nullable)]
    pub supersedes: Option<String>,
    /// Who registered it (token subject); `None` for the rule set shipped with the service.
    #[sea_orm(column_type = "Text", nullable)]
    pub registered_by: Option<String>,
    /// When it was registered; `None` for the rule set shipped with the service.
    pub registered_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::policy_parameters::Entity")]
    PolicyParameters,
    #[sea_orm(has_many = "super::recognitions::Entity")]
    Recognitions,
    #[sea_orm(has_many = "super::rule_set_rules::Entity")]
    RuleSetRules,
}

impl Related<super::policy_parameters::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::PolicyParameters.def()
    }
}

impl Related<super::recognitions::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Recognitions.def()
    }
}

impl Related<super::rule_set_rules::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::RuleSetRules.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
