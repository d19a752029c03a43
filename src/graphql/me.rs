//! `me`: who the server thinks the caller is.

use async_graphql::{Context, Object, Result, SimpleObject};

use super::districts::District;
use crate::auth::Role;
use crate::services;

/// The authenticated caller, as read from its token.
#[derive(SimpleObject, Debug, Clone)]
pub struct Me {
    /// The token's subject.
    pub sub: String,
    /// The token's role.
    pub role: Role,
    /// The district a `DISTRICT` actor is confined to; `null` for every other role.
    pub district: Option<District>,
}

/// The `me` query.
#[derive(Default)]
pub struct MeQuery;

#[Object]
impl MeQuery {
    /// The caller; `null` when the request carries no token (anonymous).
    async fn me(&self, ctx: &Context<'_>) -> Result<Option<Me>> {
        let Some(actor) = super::caller(ctx).actor() else {
            return Ok(None);
        };
        let district = match &actor.district {
            Some(code) => {
                let state = super::state(ctx)?;
                services::districts::get(&state.db, code)
                    .await?
                    .map(District::try_from)
                    .transpose()?
            }
            None => None,
        };
        Ok(Some(Me {
            sub: actor.sub.clone(),
            role: actor.role,
            district,
        }))
    }
}
