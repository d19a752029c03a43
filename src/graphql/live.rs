//! Live claim status: `Subscription.claimEvents`, served over WebSocket (graphql-transport-ws)
//! by `src/http/live.rs`, which hands each subscription an [`OpenedFeed`] and its connection's
//! [`Alarm`].

use std::sync::{Arc, Mutex};

use async_graphql::{Context, Result, Subscription};
use futures_util::Stream;
use tokio::sync::broadcast::error::RecvError;

use super::payments::ClaimEvent;
use crate::auth::{Caller, access};
use crate::services::claim_feed::{ClaimChange, FeedItem, FeedReceiver};

/// A subscriber's receiver, opened when its `subscribe` message was read: every change committed
/// after that reaches it, however late the subscription's stream is first polled.
pub struct OpenedFeed(Mutex<Option<FeedReceiver>>);

impl OpenedFeed {
    /// Wraps a receiver opened now.
    pub fn new(receiver: FeedReceiver) -> Self {
        OpenedFeed(Mutex::new(Some(receiver)))
    }

    fn take(&self) -> Option<FeedReceiver> {
        self.0.lock().ok().and_then(|mut r| r.take())
    }
}

/// Raised by a subscription that can no longer deliver every event (it fell behind the feed's
/// buffer, or the feed lost changes): its connection is then closed, so that the client
/// reconnects and reads the claims again instead of trusting a stream with a hole in it.
#[derive(Default)]
pub struct Alarm {
    notify: tokio::sync::Notify,
    reason: Mutex<Option<String>>,
}

impl Alarm {
    /// Raises the alarm with `reason` (the first reason stays).
    pub fn raise(&self, reason: String) {
        if let Ok(mut held) = self.reason.lock()
            && held.is_none()
        {
            *held = Some(reason);
        }
        self.notify.notify_one();
    }

    /// Waits until the alarm is raised; its reason.
    pub async fn raised(&self) -> String {
        self.notify.notified().await;
        self.reason
            .lock()
            .ok()
            .and_then(|r| r.clone())
            .unwrap_or_else(|| "events were missed".into())
    }
}

/// Subscriptions of claims.
#[derive(Default)]
pub struct ClaimSubscription;

#[Subscription]
impl ClaimSubscription {
    /// Each status a claim of `fiscalYear` moves to (SUBMITTED, RETURNED, RECONCILED, APPROVED),
    /// once the change has committed, whichever instance made it. A `DISTRICT` actor receives
    /// its own district's claims only; `HQ_OFFICE`, `CITY_FINANCE` and `AUDITOR` receive every
    /// district's. Served over WebSocket (`graphql-transport-ws`) on `/graphql`, authenticated
    /// in `connection_init`. A subscriber that falls too far behind is disconnected (close code
    /// 1013): reconnect and read the claims again.
    async fn claim_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The fiscal year whose claims to follow.")] fiscal_year: i32,
    ) -> Result<impl Stream<Item = ClaimEvent> + use<>> {
        // The access extension checks each event as it is resolved; the stream itself is opened
        // here, so the rule is applied here first.
        let caller = super::caller(ctx);
        access::authorize("Subscription", "claimEvents", caller)?;
        let Caller::Actor(actor) = caller else {
            return Err(crate::error::AppError::Unauthenticated(
                "this field needs a bearer token".into(),
            )
            .into());
        };
        let state = super::state(ctx)?;
        let receiver = ctx
            .data_opt::<OpenedFeed>()
            .and_then(OpenedFeed::take)
            .unwrap_or_else(|| state.feed.subscribe());
        let alarm = ctx.data_opt::<Arc<Alarm>>().cloned();
        let district = actor.district_scope().map(str::to_owned);
        let wanted = move |change: &ClaimChange| {
            change.fiscal_year == fiscal_year
                && district
                    .as_deref()
                    .is_none_or(|own| own == change.district_code)
        };
        Ok(futures_util::stream::unfold(
            (receiver, alarm),
            move |(mut receiver, alarm)| {
                let wanted = wanted.clone();
                async move {
                    loop {
                        let reason = match receiver.recv().await {
                            Ok(FeedItem::Change(change)) if wanted(&change) => {
                                return Some((ClaimEvent::from(&*change), (receiver, alarm)));
                            }
                            Ok(FeedItem::Change(_)) => continue,
                            Ok(FeedItem::Gap) => {
                                "claim events may have been missed (the database connection was lost)"
                                    .to_string()
                            }
                            Err(RecvError::Lagged(missed)) => format!(
                                "slow consumer: fell {missed} claim events behind"
                            ),
                            Err(RecvError::Closed) => return None,
                        };
                        if let Some(alarm) = &alarm {
                            // The connection closes on the alarm; ending here would first
                            // tell the client the subscription is complete.
                            alarm.raise(reason);
                            std::future::pending::<()>().await;
                        }
                        return None;
                    }
                }
            },
        ))
    }
}
