//! Who is calling: bearer JWTs turned into an [`Actor`], and the access table every GraphQL root
//! field is checked against.

pub mod access;
pub mod jwks;
mod jwt;

pub use jwt::{
    AUDIENCE, ClaimNames, Claims, ISSUER, JwtKeys, LEEWAY_SECONDS, TokenError, bearer_token,
};

use async_graphql::Enum;

// `Role::ALL` is in the order of the access table.
policy::code_enum! {
    /// The roles of the policy's actors (README, "Roles and tokens").
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Enum)]
    #[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
    pub enum Role: "role" {
        /// 市总部经济发展工作领导小组办公室: registry, recognition, star ratings, rewards, revocations.
        HqOffice = "HQ_OFFICE",
        /// 市财政局: reconciles claims, settles and approves each fiscal year.
        CityFinance = "CITY_FINANCE",
        /// A district's finance/commerce bureau, scoped to one district.
        District = "DISTRICT",
        /// Front-end teams: non-confidential data of every district.
        Viewer = "VIEWER",
        /// Audit and third parties (§22): reads everything, writes nothing.
        Auditor = "AUDITOR",
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The token's subject.
    pub sub: String,
    /// The token's role.
    pub role: Role,
    /// The district of a `DISTRICT` actor (always `Some` for it, `None` for every other role).
    pub district: Option<String>,
}

impl Actor {
    /// The district a `DISTRICT` actor is confined to; `None` for roles that see every district.
    pub fn district_scope(&self) -> Option<&str> {
        match self.role {
            Role::District => self.district.as_deref(),
            _ => None,
        }
    }

    /// Whether the actor may see confidential figures of `district` (who sees what: README, "Roles and tokens").
    pub fn sees_confidential_of(&self, district: Option<&str>) -> bool {
        match self.role {
            Role::HqOffice | Role::CityFinance | Role::Auditor => true,
            Role::District => district.is_some() && district == self.district.as_deref(),
            Role::Viewer => false,
        }
    }
}

/// The caller of one request: anonymous (no token) or an actor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// No `Authorization` header: may read only what §21 publishes.
    Anonymous,
    /// A valid bearer token.
    Actor(Actor),
}

impl Caller {
    /// The actor, if authenticated.
    pub fn actor(&self) -> Option<&Actor> {
        match self {
            Caller::Anonymous => None,
            Caller::Actor(actor) => Some(actor),
        }
    }
}
