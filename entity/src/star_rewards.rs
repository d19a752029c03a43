use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// The star reward of one enterprise for one rating year.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "star_rewards")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub enterprise_id: i64,
    pub star_rating_id: i64,
    pub year: i32,
    pub stars: i32,
    /// `star_reward.<stars>` in force on 1 January of the year.
    pub tier_fen: i64,
    /// Sum of the rewards granted before this one.
    pub previously_granted_fen: i64,
    /// max(0, tier - previously granted).
    pub amount_fen: i64,
    pub city_share_fen: i64,
    pub district_share_fen: i64,
    /// The district bearing the district share.
    #[sea_orm(column_type = "String(StringLen::N(6))", nullable)]
    pub district_code: Option<String>,
    pub granted_on: Date,
    /// JSON list of `policy_parameters` ids used.
    #[sea_orm(column_type = "Text")]
    pub parameter_versions: String,
    #[sea_orm(column_type = "Text")]
    pub granted_by: String,
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
        belongs_to = "super::star_ratings::Entity",
        from = "Column::StarRatingId",
        to = "super::star_ratings::Column::Id"
    )]
    StarRatings,
    #[sea_orm(
        belongs_to = "super::districts::Entity",
        from = "Column::DistrictCode",
        to = "super::districts::Column::Code"
    )]
    Districts,
}

impl Related<super::enterprises::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Enterprises.def()
    }
}

impl Related<super::star_ratings::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::StarRatings.def()
    }
}

impl Related<super::districts::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Districts.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
