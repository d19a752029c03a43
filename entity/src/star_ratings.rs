use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// The star rating of one enterprise for one year.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "star_ratings")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub enterprise_id: i64,
    pub recognition_id: i64,
    pub year: i32,
    /// 1 to 5.
    pub stars: i32,
    #[sea_orm(column_type = "Text")]
    pub rated_by: String,
    pub rated_at: DateTimeUtc,
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
        belongs_to = "super::recognitions::Entity",
        from = "Column::RecognitionId",
        to = "super::recognitions::Column::Id"
    )]
    Recognitions,
    #[sea_orm(has_many = "super::star_rewards::Entity")]
    StarRewards,
}

impl Related<super::enterprises::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Enterprises.def()
    }
}

impl Related<super::recognitions::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Recognitions.def()
    }
}

impl Related<super::star_rewards::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::StarRewards.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
