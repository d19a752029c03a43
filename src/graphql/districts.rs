//! Districts: Hangzhou's 13 county-level divisions.

use async_graphql::{ComplexObject, Context, ID, Object, Result, SimpleObject};

use super::codes::{self, GqlDistrictKind};
use crate::error::AppError;
use crate::services;

/// A county-level division of Hangzhou (区、县（市）), a party to the §20 settlement.
#[derive(SimpleObject, Debug, Clone)]
#[graphql(complex)]
pub struct District {
    /// GB/T 2260 code, e.g. `330106`.
    pub code: String,
    /// Chinese name, e.g. `西湖区`.
    pub name: String,
    /// 区, 县 or 县级市.
    pub kind: GqlDistrictKind,
}

#[ComplexObject]
impl District {
    /// Opaque global id (`Node`); `node(id:)` refetches it.
    pub(super) async fn id(&self, _ctx: &Context<'_>) -> Result<ID> {
        Ok(super::node::global_id(
            super::node::NodeKind::District,
            &[&self.code],
        ))
    }
}

/// A stored district as the API shows it; a stored kind this build does not know is an internal
/// error.
impl TryFrom<crate::services::records::DistrictRecord> for District {
    type Error = AppError;

    fn try_from(m: crate::services::records::DistrictRecord) -> Result<Self, AppError> {
        Ok(District {
            kind: codes::stored::<services::districts::DistrictKind, _>(&m.kind)?,
            code: m.code,
            name: m.name,
        })
    }
}

/// Checks the shape of a district code argument.
pub fn parse_district_code(field: &str, code: &str) -> Result<String, AppError> {
    let code = code.trim();
    if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(code.to_string())
    } else {
        Err(AppError::bad_input(
            field,
            "a district code is 6 digits (GB/T 2260)",
        ))
    }
}

/// District queries.
#[derive(Default)]
pub struct DistrictQuery;

#[Object]
impl DistrictQuery {
    /// Every district, in code order.
    async fn districts(&self, ctx: &Context<'_>) -> Result<Vec<District>> {
        let state = super::state(ctx)?;
        let rows = services::districts::list(&state.db).await?;
        Ok(rows
            .into_iter()
            .map(District::try_from)
            .collect::<Result<_, _>>()?)
    }

    /// One district by its 6-digit code; `null` if no district has that code.
    pub(super) async fn district(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "GB/T 2260 code, e.g. `330106`.")] code: String,
    ) -> Result<Option<District>> {
        let state = super::state(ctx)?;
        let code = parse_district_code("code", &code)?;
        let row = services::districts::get(&state.db, &code).await?;
        Ok(row.map(District::try_from).transpose()?)
    }
}
