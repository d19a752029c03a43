//! `Idempotency-Key`: a client that may retry a mutation sends a key of its choosing; the first
//! successful answer is stored with a hash of the request, and a retry with the same key and the
//! same request gets that answer again without executing anything, even while the first is still
//! running. The same key with another request is a `CONFLICT`. Keys are scoped to the token's
//! subject.

use std::time::Duration;

use chrono::Utc;
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
};
use tokio::time::Instant;

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

/// An answer stored under a key that is still being produced: the first request holds the key
/// with this empty response until it completes.
const PENDING: &str = "";

/// How long a retry waits between looks at a key held by a request still executing.
const POLL: Duration = Duration::from_millis(25);

/// What to do with a request carrying an `Idempotency-Key`.
pub enum Begin {
    /// The same request was answered before: send this answer again, execute nothing.
    Replay(String),
    /// This request holds the key: execute it, then [`Reservation::complete`] or drop the
    /// reservation (which frees the key for a retry).
    Execute(Reservation),
}

/// A key held by the request executing under it. Dropped without
/// [`Reservation::complete`] (an error answer, a timeout, a cancelled request), it frees the key.
pub struct Reservation {
    db: DatabaseConnection,
    id: Option<i64>,
}

impl Reservation {
    /// Stores the answer of the successful request under its key.
    ///
    /// # Errors
    /// Database errors; the key then stays held until it is stale.
    pub async fn complete(mut self, response: &str) -> AppResult<()> {
        let Some(id) = self.id.take() else {
            return Ok(());
        };
        idempotency_keys::Entity::update_many()
            .col_expr(
                idempotency_keys::Column::Response,
                sea_orm::sea_query::Expr::value(response.to_string()),
            )
            .filter(idempotency_keys::Column::Id.eq(id))
            .exec(&self.db)
            .await?;
        Ok(())
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            let db = self.db.clone();
            // Freed in the background: a drop cannot wait, and a key left held is freed anyway
            // once it is stale (see [`begin`]).
            tokio::spawn(async move {
                if let Err(err) = release(&db, id).await {
                    tracing::warn!(error = ?err, "could not free an idempotency key");
                }
            });
        }
    }
}

async fn release(db: &DatabaseConnection, id: i64) -> AppResult<()> {
    idempotency_keys::Entity::delete_many()
        .filter(idempotency_keys::Column::Id.eq(id))
        .filter(idempotency_keys::Column::Response.eq(PENDING))
        .exec(db)
        .await?;
    Ok(())
}

/// Takes `key` for this request, or finds the answer already given under it.
///
/// Concurrent requests with one key execute once: the first inserts the key as pending (the
/// unique key `(actor_sub, key)` decides who is first, across instances too); the others wait
/// for its answer and replay it. If the first fails or is cancelled, its key is freed and the
/// next waiter executes. A key held for longer than `stale_after` (a process killed mid-request)
/// is taken over. Waiting ends at `wait_until`.
///
/// # Errors
/// `CONFLICT` when the key was used for a different request; `SERVICE_UNAVAILABLE` when the
/// same request is still executing at `wait_until`.
pub async fn begin(
    db: &DatabaseConnection,
    actor: &Actor,
    key: &str,
    hash: &str,
    operation: &str,
    stale_after: Duration,
    wait_until: Instant,
) -> AppResult<Begin> {
    loop {
        let row = idempotency_keys::ActiveModel {
            id: NotSet,
            key: Set(key.to_string()),
            actor_sub: Set(actor.sub.clone()),
            operation: Set(operation.to_string()),
            request_hash: Set(hash.to_string()),
            response: Set(PENDING.to_string()),
            created_at: Set(Utc::now()),
        };
        match idempotency_keys::Entity::insert(row).exec(db).await {
            Ok(inserted) => {
                return Ok(Begin::Execute(Reservation {
                    db: db.clone(),
                    id: Some(inserted.last_insert_id),
                }));
            }
            Err(err) => match AppError::from(err) {
                AppError::Conflict(_) => {}
                other => return Err(other),
            },
        }
        let found = idempotency_keys::Entity::find()
            .filter(idempotency_keys::Column::ActorSub.eq(actor.sub.clone()))
            .filter(idempotency_keys::Column::Key.eq(key))
            .one(db)
            .await?;
        match found {
            // Freed between our insert and this read: try again.
            None => continue,
            Some(row) if row.request_hash != hash => {
                return Err(AppError::Conflict(
                    "this Idempotency-Key was already used for a different request".into(),
                ));
            }
            Some(row) if row.response != PENDING => return Ok(Begin::Replay(row.response)),
            Some(row) => {
                let age = Utc::now()
                    .signed_duration_since(row.created_at)
                    .to_std()
                    .unwrap_or_default();
                if age > stale_after {
                    release(db, row.id).await?;
                    continue;
                }
                if Instant::now() + POLL > wait_until {
                    return Err(AppError::Busy(
                        "a request with this Idempotency-Key is still being executed; retry \
                         later with the same key to get its answer"
                            .into(),
                    ));
                }
                tokio::time::sleep(POLL).await;
            }
        }
    }
}
