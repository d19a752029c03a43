use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One version of one policy parameter.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "policy_parameters")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Parameter name, e.g. `star_reward.3`.
    #[sea_orm(column_type = "Text")]
    pub name: String,
    /// The rule set this version belongs to.
    #[sea_orm(column_type = "Text")]
    pub rule_set: String,
    /// A district's own version; `None` = the general one.
    #[sea_orm(column_type = "String(StringLen::N(6))", nullable)]
    pub district_code: Option<String>,
    /// First day in force (inclusive).
    pub valid_from: Date,
    /// Last day in force (inclusive); `None` = open-ended.
    pub valid_to: Option<Date>,
    /// JSON: a decimal string, an integer, or a list of strings.
    #[sea_orm(column_type = "Text")]
    pub value: String,
    /// Clause id (`§3.2`) or `placeholder (§6)`.
    #[sea_orm(column_type = "Text")]
    pub reference: String,
    /// The value is a placeholder a deployment must set.
    pub placeholder: bool,
    pub created_at: DateTimeUtc,
    #[sea_orm(column_type = "Text")]
    pub created_by: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::rule_sets::Entity",
        from = "Column::RuleSet",
        to = "super::rule_sets::Column::Code"
    )]
    RuleSets,
    #[sea_orm(
        belongs_to = "super::districts::Entity",
        from = "Column::DistrictCode",
        to = "super::districts::Column::Code"
    )]
    Districts,
}

impl Related<super::rule_sets::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::RuleSets.def()
    }
}

impl Related<super::districts::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Districts.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
