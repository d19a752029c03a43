//! Idempotent seed data (the 13 districts, the rule set of 杭政办〔2023〕3号 and the default
//! policy parameters). Run at every start-up; a row already present is left as it is, so a
//! deployment's own parameter versions are never overwritten.

use std::collections::HashSet;

use chrono::{NaiveDate, Utc};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
};

use crate::error::{AppError, AppResult};
use crate::policy::RuleId;
use crate::policy::params::default_parameters;
use entity::{districts, policy_parameters, rule_set_rules, rule_sets};

/// One district of Hangzhou.
#[derive(Debug, Clone, Copy)]
pub struct SeedDistrict {
    /// GB/T 2260 code.
    pub code: &'static str,
    /// Chinese name.
    pub name: &'static str,
    /// `DISTRICT` (区), `COUNTY` (县) or `CITY` (县级市).
    pub kind: &'static str,
}

/// Hangzhou's 13 county-level divisions after the 2021 adjustment (the seed's 13 districts).
/// The West Lake Scenic Area has no code and is not a party to §20, so it is not here.
pub const DISTRICTS: [SeedDistrict; 13] = [
    SeedDistrict {
        code: "330102",
        name: "上城区",
        kind: "DISTRICT",
    },
    SeedDistrict {
        code: "330105",
        name: "拱墅区",
        kind: "DISTRICT",
    },
    SeedDistrict {
        code: "330106",
        name: "西湖区",
        kind: "DISTRICT",
    },
    SeedDistrict {
        code: "330108",
        name: "滨江区",
        kind: "DISTRICT",
    },
    SeedDistrict {
        code: "330109",
        name: "萧山区",
        kind: "DISTRICT",
    },
    SeedDistrict {
        code: "330110",
        name: "余杭区",
        kind: "DISTRICT",
    },
    SeedDistrict {
        code: "330111",
        name: "富阳区",
        kind: "DISTRICT",
    },
    SeedDistrict {
        code: "330112",
        name: "临安区",
        kind: "DISTRICT",
    },
    SeedDistrict {
        code: "330113",
        name: "临平区",
        kind: "DISTRICT",
    },
    SeedDistrict {
        code: "330114",
        name: "钱塘区",
        kind: "DISTRICT",
    },
    SeedDistrict {
        code: "330122",
        name: "桐庐县",
        kind: "COUNTY",
    },
    SeedDistrict {
        code: "330127",
        name: "淳安县",
        kind: "COUNTY",
    },
    SeedDistrict {
        code: "330182",
        name: "建德市",
        kind: "CITY",
    },
];

/// The code of the rule set of 杭政办〔2023〕3号.
pub const RULE_SET_2023: &str = "HZ-2023-3";

/// Who the seed's rows are recorded as created by.
pub const SEED_ACTOR: &str = "system:seed";

/// The codes of the seeded districts.
pub fn district_codes() -> HashSet<String> {
    DISTRICTS.iter().map(|d| d.code.to_string()).collect()
}

fn date(y: i32, m: u32, d: u32) -> AppResult<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| AppError::internal("invalid seed date"))
}

/// Inserts whatever of the seed is missing, in one transaction.
///
/// # Errors
/// Database errors.
pub async fn run(db: &DatabaseConnection) -> AppResult<()> {
    let txn = super::tx::begin_write(db).await?;
    seed_districts(&txn).await?;
    seed_rule_set(&txn).await?;
    seed_parameters(&txn).await?;
    txn.commit().await?;
    Ok(())
}

async fn seed_districts<C: ConnectionTrait>(conn: &C) -> AppResult<()> {
    let present: HashSet<String> = districts::Entity::find()
        .all(conn)
        .await?
        .into_iter()
        .map(|d| d.code)
        .collect();
    for (order, d) in DISTRICTS.iter().enumerate() {
        if present.contains(d.code) {
            continue;
        }
        districts::Entity::insert(districts::ActiveModel {
            code: Set(d.code.into()),
            name: Set(d.name.into()),
            kind: Set(d.kind.into()),
            sort_order: Set(i32::try_from(order).unwrap_or(i32::MAX)),
        })
        .exec(conn)
        .await?;
    }
    Ok(())
}

async fn seed_rule_set<C: ConnectionTrait>(conn: &C) -> AppResult<()> {
    if rule_sets::Entity::find_by_id(RULE_SET_2023)
        .one(conn)
        .await?
        .is_some()
    {
        return Ok(());
    }
    rule_sets::Entity::insert(rule_sets::ActiveModel {
        code: Set(RULE_SET_2023.into()),
        document: Set("杭政办〔2023〕3号".into()),
        title: Set("杭州市人民政府办公厅关于推动杭州总部经济高质量发展的实施意见".into()),
        effective_from: Set(date(2023, 2, 20)?),
        effective_to: Set(Some(date(2028, 2, 20)?)),
        supersedes: Set(None),
        registered_by: Set(None),
        registered_at: Set(None),
    })
    .exec(conn)
    .await?;
    // Every rule of the rule table comes from this document.
    rule_set_rules::Entity::insert_many(RuleId::ALL.map(|rule| rule_set_rules::ActiveModel {
        rule_set: Set(RULE_SET_2023.into()),
        rule: Set(rule.as_str().into()),
    }))
    .exec(conn)
    .await?;
    Ok(())
}

/// Seeds each default parameter whose name has no general version yet.
async fn seed_parameters<C: ConnectionTrait>(conn: &C) -> AppResult<()> {
    let present: HashSet<String> = policy_parameters::Entity::find()
        .filter(policy_parameters::Column::DistrictCode.is_null())
        .all(conn)
        .await?
        .into_iter()
        .map(|p| p.name)
        .collect();
    let now = Utc::now();
    for param in default_parameters() {
        if present.contains(param.name) {
            continue;
        }
        let version = param.to_version(0);
        let value = serde_json::to_string(&version.value).map_err(AppError::internal)?;
        policy_parameters::Entity::insert(policy_parameters::ActiveModel {
            id: NotSet,
            name: Set(version.name.clone()),
            rule_set: Set(RULE_SET_2023.into()),
            district_code: Set(None),
            valid_from: Set(version.valid_from),
            valid_to: Set(version.valid_to),
            value: Set(value),
            reference: Set(version.reference.clone()),
            placeholder: Set(version.placeholder),
            created_at: Set(now),
            created_by: Set(SEED_ACTOR.into()),
        })
        .exec(conn)
        .await?;
    }
    Ok(())
}
