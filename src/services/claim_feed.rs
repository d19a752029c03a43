//! The live feed of claim events: every status a claim moves to (submitted, returned,
//! reconciled, approved), delivered once its transaction has committed, to the subscribers of
//! every instance.
//!
//! Each event is written to `claim_events` in the transaction that changes the claim
//! ([`record`]). On PostgreSQL the same transaction sends `NOTIFY hq_claim_events, '<event id>'`:
//! PostgreSQL delivers a notification only when its transaction commits, in commit order, and
//! never for a rolled-back one. Each instance holds one `LISTEN` connection ([`ClaimFeed::open`]),
//! reads each notified event back and fans it out to its local subscribers through a bounded
//! broadcast channel. On SQLite (one process) the service hands the events to that channel itself,
//! right after the commit ([`ClaimFeed::committed`]).
//!
//! The channel is bounded: a subscriber that falls more than its capacity behind misses events,
//! and is told so ([`FeedItem::Gap`] or a lag), never buffered without limit.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::sqlx::postgres::{PgListener, PgPoolOptions};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, Statement,
};
use tokio::sync::{broadcast, watch};

use crate::auth::Actor;
use crate::error::{AppError, AppResult};
use crate::policy::settlement::ClaimStatus;
use entity::{claim_events, claims};

/// The PostgreSQL notification channel of claim events; the payload is the event's id.
pub const CHANNEL: &str = "hq_claim_events";

/// The first wait before the `LISTEN` connection is tried again; each later wait doubles it.
const RETRY_FIRST: Duration = Duration::from_secs(1);
/// The longest wait between two tries.
const RETRY_MAX: Duration = Duration::from_secs(30);

/// One committed step of a claim's history, with the claim it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimChange {
    /// The event's id (`claim_events.id`): increasing in commit order on one database.
    pub event_id: i64,
    /// The claim's id.
    pub claim_id: i64,
    /// The claim's district.
    pub district_code: String,
    /// The claim's fiscal year.
    pub fiscal_year: i32,
    /// The status the claim moved to.
    pub action: ClaimStatus,
    /// The reason given (returns).
    pub reason: Option<String>,
    /// The content hash recorded (submissions, reconciliations).
    pub content_hash: Option<String>,
    /// Who did it (token subject).
    pub actor: String,
    /// When.
    pub at: DateTime<Utc>,
}

impl ClaimChange {
    fn from_rows(event: claim_events::Model, claim: &claims::Model) -> AppResult<Self> {
        Ok(ClaimChange {
            event_id: event.id,
            claim_id: claim.id,
            district_code: claim.district_code.clone(),
            fiscal_year: claim.fiscal_year,
            action: event.action.parse().map_err(AppError::internal)?,
            reason: event.reason,
            content_hash: event.content_hash,
            actor: event.actor,
            at: event.at,
        })
    }
}

/// What the feed's channel carries.
#[derive(Debug, Clone)]
pub enum FeedItem {
    /// A committed change.
    Change(Arc<ClaimChange>),
    /// Changes may have been missed (the `LISTEN` connection was lost, or a notified event could
    /// not be read back): a subscriber should reconnect and read the claims again.
    Gap,
}

/// The receiving end of one subscriber.
pub type FeedReceiver = broadcast::Receiver<FeedItem>;

/// The claim events of one instance: cheap to clone, one per running service.
#[derive(Clone)]
pub struct ClaimFeed {
    sender: broadcast::Sender<FeedItem>,
    /// Whether every committed change reaches the channel: always on SQLite; on PostgreSQL while
    /// the `LISTEN` connection is up.
    live: watch::Sender<bool>,
}

impl std::fmt::Debug for ClaimFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClaimFeed")
            .field("subscribers", &self.sender.receiver_count())
            .field("live", &*self.live.borrow())
            .finish()
    }
}

impl ClaimFeed {
    /// A feed whose channel holds at most `capacity` events not yet read by its slowest
    /// subscriber. Not yet live: see [`ClaimFeed::open`].
    pub fn new(capacity: usize) -> Self {
        let (sender, _) = broadcast::channel(capacity.max(1));
        let (live, _) = watch::channel(false);
        ClaimFeed { sender, live }
    }

    /// Makes the feed live on `db`: on SQLite at once; on PostgreSQL by starting the task that
    /// holds this instance's `LISTEN` connection (tried again, with a growing wait, while the
    /// database cannot be reached). Call it once, inside the runtime.
    pub fn open(&self, db: &DatabaseConnection) {
        match db.get_database_backend() {
            DbBackend::Postgres => {
                tokio::spawn(listen(self.clone(), db.clone()));
            }
            _ => {
                self.live.send_replace(true);
            }
        }
    }

    /// A new subscriber: it receives every change committed from now on (while the feed is live).
    pub fn subscribe(&self) -> FeedReceiver {
        self.sender.subscribe()
    }

    /// Waits until the feed is live, at most until `deadline`; whether it is.
    pub async fn wait_live(&self, deadline: tokio::time::Instant) -> bool {
        let mut live = self.live.subscribe();
        tokio::time::timeout_at(deadline, live.wait_for(|up| *up))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Hands changes to local subscribers once their transaction has committed on `db`. On
    /// PostgreSQL it does nothing: the `NOTIFY` sent in the transaction brings them back through
    /// the `LISTEN` connection, to this instance and every other.
    pub fn committed(&self, db: &DatabaseConnection, changes: Vec<ClaimChange>) {
        if db.get_database_backend() == DbBackend::Postgres {
            return;
        }
        for change in changes {
            // No subscriber is not an error.
            let _ = self.sender.send(FeedItem::Change(Arc::new(change)));
        }
    }

    fn publish(&self, item: FeedItem) {
        let _ = self.sender.send(item);
    }
}

/// Writes one step of a claim's history in the write transaction `txn`; on PostgreSQL also
/// sends its notification, which PostgreSQL delivers only if `txn` commits. Pass the change to
/// [`ClaimFeed::committed`] after the commit.
///
/// # Errors
/// Database errors.
pub async fn record<C: ConnectionTrait>(
    txn: &C,
    claim: &claims::Model,
    action: ClaimStatus,
    reason: Option<String>,
    content_hash: Option<String>,
    actor: &Actor,
    at: DateTime<Utc>,
) -> AppResult<ClaimChange> {
    let mut changes = record_many(
        txn,
        &[(claim, content_hash)],
        action,
        reason.as_deref(),
        actor,
        at,
    )
    .await?;
    changes
        .pop()
        .ok_or_else(|| AppError::internal("a claim event was not recorded"))
}

/// [`record`] for several claims moving to the same status at once: one insert of their events
/// and, on PostgreSQL, one statement sending their notifications. `claims` pairs each claim with
/// the content hash to record; the changes come back in the same order.
///
/// # Errors
/// Database errors.
pub async fn record_many<C: ConnectionTrait>(
    txn: &C,
    claims: &[(&claims::Model, Option<String>)],
    action: ClaimStatus,
    reason: Option<&str>,
    actor: &Actor,
    at: DateTime<Utc>,
) -> AppResult<Vec<ClaimChange>> {
    let mut changes = Vec::with_capacity(claims.len());
    // 7 bound values an event: well under both databases' limits.
    for chunk in claims.chunks(1_000) {
        let rows = chunk
            .iter()
            .map(|(claim, content_hash)| claim_events::ActiveModel {
                id: NotSet,
                claim_id: Set(claim.id),
                action: Set(action.as_str().to_owned()),
                reason: Set(reason.map(str::to_owned)),
                content_hash: Set(content_hash.clone()),
                actor: Set(actor.sub.clone()),
                at: Set(at),
            });
        let mut events = claim_events::Entity::insert_many(rows)
            .exec_with_returning(txn)
            .await?;
        // One insert numbers its rows in their order.
        events.sort_by_key(|event| event.id);
        if events.len() != chunk.len() {
            return Err(AppError::internal(
                "a claim event was not returned by its insert",
            ));
        }
        if txn.get_database_backend() == DbBackend::Postgres {
            let ids: Vec<String> = (0..events.len()).map(|i| format!("(${})", i + 2)).collect();
            let mut values: Vec<sea_orm::Value> = vec![CHANNEL.into()];
            values.extend(events.iter().map(|event| event.id.to_string().into()));
            txn.execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                format!(
                    "SELECT pg_notify($1, id) FROM (VALUES {}) AS notified (id)",
                    ids.join(", ")
                ),
                values,
            ))
            .await?;
        }
        for (event, (claim, _)) in events.into_iter().zip(chunk) {
            changes.push(ClaimChange::from_rows(event, claim)?);
        }
    }
    Ok(changes)
}

/// The change of a notified event id, read back from the database.
async fn read_change(db: &DatabaseConnection, payload: &str) -> AppResult<Option<ClaimChange>> {
    let id: i64 = payload
        .parse()
        .map_err(|_| AppError::internal(format!("claim event notification `{payload}`")))?;
    let Some((event, Some(claim))) = claim_events::Entity::find_by_id(id)
        .find_also_related(claims::Entity)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    ClaimChange::from_rows(event, &claim).map(Some)
}

/// This instance's `LISTEN` connection, for as long as the service runs: a pool of its own with
/// one connection (so that it never takes a request's connection), opened with the options of
/// the service's pool.
async fn listen(feed: ClaimFeed, db: DatabaseConnection) {
    let options = (*db.get_postgres_connection_pool().connect_options()).clone();
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .max_lifetime(None)
        .idle_timeout(None)
        .connect_lazy_with(options);
    let mut wait = RETRY_FIRST;
    loop {
        match listen_once(&feed, &db, &pool).await {
            Ok(()) => return,
            Err(err) => {
                feed.live.send_replace(false);
                feed.publish(FeedItem::Gap);
                tracing::warn!(
                    error = %err,
                    retry_in_secs = wait.as_secs(),
                    "claim events: the LISTEN connection failed"
                );
            }
        }
        tokio::time::sleep(wait).await;
        wait = wait.saturating_mul(2).min(RETRY_MAX);
    }
}

/// Listens until the connection fails for good (`Err`); a connection lost and re-established
/// at once is a gap, not a failure.
async fn listen_once(
    feed: &ClaimFeed,
    db: &DatabaseConnection,
    pool: &sea_orm::sqlx::PgPool,
) -> Result<(), sea_orm::sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    feed.live.send_replace(true);
    tracing::debug!("claim events: listening");
    loop {
        match listener.try_recv().await? {
            Some(notification) => match read_change(db, notification.payload()).await {
                Ok(Some(change)) => feed.publish(FeedItem::Change(Arc::new(change))),
                Ok(None) => {}
                Err(err) => {
                    tracing::warn!(error = ?err, "claim events: a notified event could not be read");
                    feed.publish(FeedItem::Gap);
                }
            },
            // The connection was lost (and opened again): what was sent meanwhile is gone.
            None => {
                tracing::warn!("claim events: the LISTEN connection was lost and re-opened");
                feed.publish(FeedItem::Gap);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subscriber_that_falls_behind_the_capacity_is_told_it_lagged() {
        let feed = ClaimFeed::new(2);
        let mut slow = feed.subscribe();
        for _ in 0..3 {
            feed.publish(FeedItem::Gap);
        }
        assert!(matches!(
            slow.try_recv(),
            Err(broadcast::error::TryRecvError::Lagged(1))
        ));
    }
}
