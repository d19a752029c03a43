//! Reading the districts (seed data; never written through the API).

use sea_orm::{ConnectionTrait, EntityTrait, QueryOrder};

use crate::error::AppResult;
use entity::districts;

/// Every district, in code order.
///
/// # Errors
/// Database errors.
pub async fn list<C: ConnectionTrait>(conn: &C) -> AppResult<Vec<districts::Model>> {
    Ok(districts::Entity::find()
        .order_by_asc(districts::Column::Code)
        .all(conn)
        .await?)
}

/// One district by code.
///
/// # Errors
/// Database errors.
pub async fn get<C: ConnectionTrait>(conn: &C, code: &str) -> AppResult<Option<districts::Model>> {
    Ok(districts::Entity::find_by_id(code.to_string())
        .one(conn)
        .await?)
}

policy::code_enum! {
    /// The kind of a county-level division, as stored on the district (GB/T 2260).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum DistrictKind: "district kind" {
        /// 区: an urban district.
        District = "DISTRICT",
        /// 县: a county.
        County = "COUNTY",
        /// 县级市: a county-level city.
        City = "CITY",
    }
}

#[cfg(test)]
mod tests {
    use super::DistrictKind;

    #[test]
    fn every_kind_parses_from_its_code_and_an_unknown_code_is_an_error() {
        for kind in DistrictKind::ALL {
            assert_eq!(kind.as_str().parse::<DistrictKind>(), Ok(kind));
        }
        let err = "TOWN".parse::<DistrictKind>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown district kind `TOWN`: expected DISTRICT, COUNTY or CITY"
        );
    }

    #[test]
    fn every_seeded_district_has_a_known_kind() {
        for district in crate::services::seed::DISTRICTS {
            assert!(
                district.kind.parse::<DistrictKind>().is_ok(),
                "{}",
                district.code
            );
        }
    }
}
