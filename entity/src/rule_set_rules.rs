use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One recognition rule a rule set applies (a rule id of the rule table, e.g. `NOT_EXCLUDED_SOE`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "rule_set_rules")]
pub struct Model {
    /// The rule set.
    #[sea_orm(primary_key, auto_increment = false, column_type = "Text")]
    pub rule_set: String,
    /// The rule id.
    #[sea_orm(primary_key, auto_increment = false, column_type = "Text")]
    pub rule: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::rule_sets::Entity",
        from = "Column::RuleSet",
        to = "super::rule_sets::Column::Code"
    )]
    RuleSets,
}

impl Related<super::rule_sets::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::RuleSets.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
