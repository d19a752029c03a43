//! `Idempotency-Key`: a client that may retry a mutation sends a key of its choosing; the first
//! successful answer is stored with a hash of the request, and a retry with the same key and the
//! same request gets that answer again without executing anything. The same key with another
//! request is a `CONFLICT`. Keys are scoped to the token's subject.

use chrono::Utc;
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
};

use crate::auth::Actor;
use crate::error::{AppError, AppResult};
use entity::idempotency_keys;

/// Longest key accepted.
pub const MAX_KEY_LENGTH: usize = 200;

/// Checks a key's shape.
///
/// # Errors
/// `BAD_USER_INPUT` for an empty, over-long or non-printable key.
pub fn validate_key(key: &str) -> AppResult<&str> {
    let key = key.trim();
    if key.is_empty() || key.len() > MAX_KEY_LENGTH || !key.chars().all(|c| c.is_ascii_graphic()) {
        return Err(AppError::bad_input(
            "Idempotency-Key",
            format!("1 to {MAX_KEY_LENGTH} printable ASCII characters"),
        ));
    }
    Ok(key)
}

/// SHA-256 (hex) of a request body.
pub fn request_hash(body: &[u8]) -> String {
    super::sha256_hex(body)
}

/// The stored answer for `key`, if the same request was answered before.
///
/// # Errors
/// `CONFLICT` when the key was used for another request.
pub async fn replay<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    key: &str,
    hash: &str,
) -> AppResult<Option<String>> {
    let found = idempotency_keys::Entity::find()
        .filter(idempotency_keys::Column::ActorSub.eq(actor.sub.clone()))
        .filter(idempotency_keys::Column::Key.eq(key))
        .one(conn)
        .await?;
    match found {
        None => Ok(None),
        Some(row) if row.request_hash == hash => Ok(Some(row.response)),
        Some(_) => Err(AppError::Conflict(
            "this Idempotency-Key was already used for a different request".into(),
        )),
    }
}

/// Stores the answer of a successful mutation under `key`. A concurrent retry that stored first
/// wins; this one is then dropped silently (both answers describe the same idempotent write).
///
/// # Errors
/// Database errors other than the key already being stored.
pub async fn remember<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    key: &str,
    hash: &str,
    operation: &str,
    response: &str,
) -> AppResult<()> {
    let row = idempotency_keys::ActiveModel {
        id: NotSet,
        key: Set(key.to_string()),
        actor_sub: Set(actor.sub.clone()),
        operation: Set(operation.to_string()),
        request_hash: Set(hash.to_string()),
        response: Set(response.to_string()),
        created_at: Set(Utc::now()),
    };
    match idempotency_keys::Entity::insert(row).exec(conn).await {
        Ok(_) => Ok(()),
        Err(err) => match AppError::from(err) {
            AppError::Conflict(_) => Ok(()),
            other => Err(other),
        },
    }
}

/// The operation a request runs, if it is a mutation (its name, or `mutation`).
pub fn mutation_name(query: &str, operation_name: Option<&str>) -> Option<String> {
    use async_graphql::parser::types::OperationType;
    let document = async_graphql::parser::parse_query(query).ok()?;
    let operation = document
        .operations
        .iter()
        .find(|(name, _)| operation_name.is_none() || name.map(|n| n.as_str()) == operation_name)?;
    (operation.1.node.ty == OperationType::Mutation).then(|| {
        operation
            .0
            .map_or_else(|| "mutation".to_string(), |n| n.to_string())
    })
}
