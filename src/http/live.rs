//! `GET /graphql` with `Upgrade: websocket`: GraphQL subscriptions over the
//! [graphql-transport-ws](https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md)
//! protocol, which Apollo Client and urql speak (through the `graphql-ws` client).
//!
//! The protocol is written out here rather than taken from async-graphql's `WebSocket`, because
//! this service needs what that one does not do: the protocol's own close codes (4403 for a
//! refused `connection_init`, 4401 for a subscription before it, 4408 for an init timeout, 4409
//! for a reused id), a bounded number of connections per actor and of subscriptions per
//! connection, an idle timeout, and a slow consumer closed (1013) instead of buffered. The
//! execution itself is async-graphql's (`Schema::execute_stream`), with the same caller, access
//! rules and document bounds as `POST /graphql`.
//!
//! Only subscriptions run here: queries and mutations are sent with `POST /graphql`, where
//! idempotency keys, time budgets and the request log apply.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::{AggregatedMessage, AggregatedMessageStream, CloseCode, CloseReason, Session};
use async_graphql::parser::types::OperationType;
use futures_util::StreamExt;
use futures_util::stream::{AbortHandle, Abortable, BoxStream, SelectAll};
use serde_json::{Value, json};
use tokio::time::{Duration, Instant, timeout, timeout_at};

use super::{HttpResult, HttpState};
use crate::auth::{Actor, Caller};
use crate::error::AppError;
use crate::graphql::guard;
use crate::graphql::live::{Alarm, OpenedFeed};

/// The one WebSocket sub-protocol served.
pub const PROTOCOL: &str = "graphql-transport-ws";

/// Close codes: graphql-transport-ws's own, and RFC 6455's.
mod close {
    /// RFC 6455: the client closed, or the connection was idle too long.
    pub const NORMAL: u16 = 1000;
    /// RFC 6455: a message larger than `HQ_WS_MAX_MESSAGE_BYTES`.
    pub const TOO_BIG: u16 = 1009;
    /// RFC 6455 "try again later": a slow consumer, or events that may have been missed.
    pub const TRY_AGAIN_LATER: u16 = 1013;
    /// A message that is not one of the protocol's.
    pub const BAD_REQUEST: u16 = 4400;
    /// `subscribe` before the connection was acknowledged.
    pub const UNAUTHORIZED: u16 = 4401;
    /// `connection_init` refused (no valid bearer token, too many connections), or the token
    /// expired while connected.
    pub const FORBIDDEN: u16 = 4403;
    /// The client did not offer `graphql-transport-ws`.
    pub const SUBPROTOCOL: u16 = 4406;
    /// No `connection_init` within `HQ_WS_INIT_TIMEOUT`.
    pub const INIT_TIMEOUT: u16 = 4408;
    /// A `subscribe` reusing the id of a running subscription.
    pub const SUBSCRIBER_EXISTS: u16 = 4409;
    /// A second `connection_init`.
    pub const TOO_MANY_INITS: u16 = 4429;
}

/// Bounds of the WebSocket connections of one instance.
#[derive(Debug, Clone, Copy)]
pub struct LiveLimits {
    /// Connections one actor may hold open.
    pub connections_per_actor: usize,
    /// Subscriptions running at once on one connection.
    pub subscriptions: usize,
    /// Time to send `connection_init`.
    pub init_timeout: Duration,
    /// Silence after which a connection is closed; the server pings at half of it.
    pub idle_timeout: Duration,
    /// Largest message a client may send.
    pub max_message_bytes: usize,
}

/// The open connections of each actor on this instance.
#[derive(Debug, Default)]
pub struct Connections(Mutex<HashMap<String, usize>>);

impl Connections {
    /// A place for one more connection of `actor`, if it holds fewer than `limit`.
    fn admit(self: &Arc<Self>, actor: &Actor, limit: usize) -> Option<Admitted> {
        // The subject alone is not the actor: one subject may hold tokens of two districts.
        let key = format!(
            "{}|{}|{}",
            actor.role.as_str(),
            actor.district.as_deref().unwrap_or(""),
            actor.sub
        );
        let mut open = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let count = open.entry(key.clone()).or_insert(0);
        if *count >= limit {
            return None;
        }
        *count += 1;
        Some(Admitted {
            connections: Arc::clone(self),
            key,
        })
    }
}

/// One admitted connection; its place is given back when it ends.
struct Admitted {
    connections: Arc<Connections>,
    key: String,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut open = self.connections.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = open.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.key);
            }
        }
    }
}

/// Whether a request asks to upgrade to WebSocket.
pub(super) fn is_upgrade(head: &actix_web::dev::RequestHead) -> bool {
    head.headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("websocket"))
}

/// Accepts the WebSocket handshake and serves the connection in a task of its own.
pub(super) async fn upgrade(
    state: web::Data<HttpState>,
    req: HttpRequest,
    body: web::Payload,
) -> HttpResult {
    let (response, session, messages) = actix_ws::handle_with_protocols(&req, body, &[PROTOCOL])
        .map_err(|_| AppError::bad_input("Upgrade", "not a valid WebSocket handshake"))?;
    let agreed = response
        .headers()
        .contains_key(header::SEC_WEBSOCKET_PROTOCOL);
    let max = state.live.max_message_bytes;
    let messages = messages
        .max_frame_size(max)
        .aggregate_continuations()
        .max_continuation_size(max);
    actix_web::rt::spawn(serve(state.into_inner(), session, messages, agreed));
    Ok::<HttpResponse, _>(response)
}

/// How a connection ends.
enum End {
    /// With a close frame.
    Close(u16, String),
    /// Without one: the client is gone, or does not take what is sent.
    Gone,
}

impl End {
    fn close(code: u16, reason: impl Into<String>) -> Self {
        End::Close(code, reason.into())
    }
}

async fn serve(
    state: Arc<HttpState>,
    mut session: Session,
    mut messages: AggregatedMessageStream,
    agreed: bool,
) {
    let end = if agreed {
        Connection {
            state: &state,
            session: &mut session,
            limits: state.live,
        }
        .run(&mut messages)
        .await
    } else {
        End::close(
            close::SUBPROTOCOL,
            "Subprotocol not acceptable: offer graphql-transport-ws",
        )
    };
    if let End::Close(code, reason) = end {
        tracing::debug!(code, reason, "WebSocket closed");
        let reason = CloseReason {
            code: CloseCode::from(code),
            description: Some(reason).filter(|r| !r.is_empty()),
        };
        let _ = timeout(state.live.idle_timeout, session.close(Some(reason))).await;
    }
}

/// What a client sent.
enum ClientMessage {
    Init(Option<Value>),
    Ping,
    Pong,
    Subscribe { id: String, payload: Value },
    Complete { id: String },
}

/// Parses one text message of the protocol.
fn parse(text: &str, nesting: usize) -> Result<ClientMessage, String> {
    // The message object, the payload and its `variables` wrap a variable's value.
    guard::check_json_nesting(text.as_bytes(), nesting.saturating_add(3))
        .map_err(|_| "the message is nested too deeply".to_string())?;
    let mut message: serde_json::Map<String, Value> =
        serde_json::from_str(text).map_err(|_| "the message is not a JSON object".to_string())?;
    let kind = match message.get("type") {
        Some(Value::String(kind)) => kind.clone(),
        _ => return Err("the message has no `type`".into()),
    };
    let id = || match message.get("id") {
        Some(Value::String(id)) if !id.is_empty() => Ok(id.clone()),
        _ => Err(format!("a `{kind}` message needs an `id`")),
    };
    match kind.as_str() {
        "connection_init" => Ok(ClientMessage::Init(message.remove("payload"))),
        "ping" => Ok(ClientMessage::Ping),
        "pong" => Ok(ClientMessage::Pong),
        "subscribe" => {
            let id = id()?;
            match message.remove("payload") {
                Some(payload @ Value::Object(_)) => Ok(ClientMessage::Subscribe { id, payload }),
                _ => Err("a `subscribe` message needs a `payload` object".into()),
            }
        }
        "complete" => Ok(ClientMessage::Complete { id: id()? }),
        other => Err(format!("unknown message type `{other}`")),
    }
}

/// The actor of a `connection_init` payload: `{"Authorization": "Bearer …"}` (the key in any
/// case), verified as `POST /graphql` verifies the header; and when its token stops being
/// valid (the connection is closed then).
async fn authenticate(
    state: &HttpState,
    payload: Option<&Value>,
) -> Result<(Actor, Instant), String> {
    let value = payload
        .and_then(Value::as_object)
        .and_then(|p| {
            p.iter()
                .find(|(key, _)| key.eq_ignore_ascii_case("authorization"))
        })
        .map(|(_, value)| value)
        .ok_or("connection_init needs a payload {\"Authorization\": \"Bearer <token>\"}")?;
    let text = value
        .as_str()
        .ok_or("the Authorization value is a string: Bearer <token>")?;
    let actor = state
        .keys
        .verify_header(text, &state.api.districts)
        .await
        .map_err(|err| err.to_string())?;
    Ok((actor, expiry_of(text)))
}

/// When a token just verified expires, with the leeway verification allows: its `exp`, read
/// again without checking (its signature and every claim were checked a moment ago).
fn expiry_of(header: &str) -> Instant {
    #[derive(serde::Deserialize)]
    struct Expiry {
        exp: i64,
    }
    let exp = header
        .split_whitespace()
        .nth(1)
        .and_then(|token| jsonwebtoken::dangerous::insecure_decode::<Expiry>(token).ok())
        .map_or(0, |data| data.claims.exp);
    let left = u64::try_from(exp.saturating_sub(chrono::Utc::now().timestamp())).unwrap_or(0);
    Instant::now() + Duration::from_secs(left.saturating_add(crate::auth::LEEWAY_SECONDS))
}

/// An operation's item: its id, its generation, and a response (`None` when it ended).
type Item = (String, u64, Option<async_graphql::Response>);

/// A running subscription.
struct Operation {
    generation: u64,
    abort: AbortHandle,
    delivered: bool,
}

struct Connection<'a> {
    state: &'a HttpState,
    session: &'a mut Session,
    limits: LiveLimits,
}

impl Connection<'_> {
    /// Sends a protocol message; `false` when the client is gone or does not take it within the
    /// idle timeout (a slow consumer is dropped, not waited for).
    async fn send(&mut self, message: Value) -> bool {
        let text = message.to_string();
        matches!(
            timeout(self.limits.idle_timeout, self.session.text(text)).await,
            Ok(Ok(()))
        )
    }

    async fn run(mut self, messages: &mut AggregatedMessageStream) -> End {
        let (actor, expiry, _admitted) = match self.initialise(messages).await {
            Ok(admitted) => admitted,
            Err(end) => return end,
        };
        let expired = tokio::time::sleep_until(expiry);
        tokio::pin!(expired);
        let caller = Caller::Actor(actor);
        let alarm = Arc::new(Alarm::default());
        let mut operations: HashMap<String, Operation> = HashMap::new();
        let mut streams: SelectAll<BoxStream<'static, Item>> = SelectAll::new();
        let mut generation = 0u64;
        let period = (self.limits.idle_timeout / 2).max(Duration::from_millis(10));
        let mut keepalive = tokio::time::interval_at(Instant::now() + period, period);
        let mut heard = Instant::now();
        loop {
            tokio::select! {
                biased;
                reason = alarm.raised() => return End::close(close::TRY_AGAIN_LATER, reason),
                () = &mut expired => {
                    return End::close(close::FORBIDDEN, "the token expired: connect again with a fresh one");
                }
                message = messages.recv() => {
                    heard = Instant::now();
                    let message = match message {
                        None => return End::Gone,
                        Some(Err(err)) => return protocol_error(&err),
                        Some(Ok(message)) => message,
                    };
                    let text = match message {
                        AggregatedMessage::Text(text) => text,
                        AggregatedMessage::Ping(bytes) => {
                            if self.session.pong(&bytes).await.is_err() {
                                return End::Gone;
                            }
                            continue;
                        }
                        AggregatedMessage::Pong(_) => continue,
                        AggregatedMessage::Close(_) => return End::close(close::NORMAL, ""),
                        AggregatedMessage::Binary(_) => {
                            return End::close(close::BAD_REQUEST, "binary messages are not part of graphql-transport-ws");
                        }
                    };
                    match parse(&text, self.state.limits.nesting) {
                        Err(reason) => return End::close(close::BAD_REQUEST, reason),
                        Ok(ClientMessage::Init(_)) => {
                            return End::close(close::TOO_MANY_INITS, "Too many initialisation requests");
                        }
                        Ok(ClientMessage::Ping) => {
                            if !self.send(json!({ "type": "pong" })).await {
                                return End::Gone;
                            }
                        }
                        Ok(ClientMessage::Pong) => {}
                        Ok(ClientMessage::Complete { id }) => {
                            if let Some(operation) = operations.remove(&id) {
                                operation.abort.abort();
                            }
                        }
                        Ok(ClientMessage::Subscribe { id, payload }) => {
                            if operations.contains_key(&id) {
                                return End::close(close::SUBSCRIBER_EXISTS, format!("Subscriber for {id} already exists"));
                            }
                            let started = if operations.len() >= self.limits.subscriptions {
                                Err(AppError::Forbidden(format!(
                                    "at most {} subscriptions run at once on one connection",
                                    self.limits.subscriptions
                                )))
                            } else {
                                self.start(payload, &caller, &alarm)
                            };
                            match started {
                                Err(err) => {
                                    let errors = json!([err.to_server_error()]);
                                    if !self.send(json!({ "type": "error", "id": id, "payload": errors })).await {
                                        return End::Gone;
                                    }
                                }
                                Ok(stream) => {
                                    generation += 1;
                                    let (abort, registration) = AbortHandle::new_pair();
                                    let (tag, end_tag) = (id.clone(), id.clone());
                                    let this = generation;
                                    let stream = Abortable::new(stream, registration)
                                        .map(move |response| (tag.clone(), this, Some(response)))
                                        .chain(futures_util::stream::once(async move { (end_tag, this, None) }));
                                    streams.push(stream.boxed());
                                    operations.insert(id, Operation { generation, abort, delivered: false });
                                }
                            }
                        }
                    }
                }
                Some((id, of, response)) = streams.next(), if !streams.is_empty() => {
                    // A subscription the client completed (or whose id was reused) is silent.
                    let Some(operation) = operations.get_mut(&id).filter(|o| o.generation == of) else {
                        continue;
                    };
                    let message = match response {
                        None => {
                            operations.remove(&id);
                            json!({ "type": "complete", "id": id })
                        }
                        Some(mut response) => {
                            crate::graphql::code_errors(&mut response.errors);
                            if !operation.delivered && !response.errors.is_empty() && response.data == async_graphql::Value::Null {
                                // Refused before it ran (validation, access): `error`, and the
                                // operation is over without `complete`.
                                if let Some(operation) = operations.remove(&id) {
                                    operation.abort.abort();
                                }
                                json!({ "type": "error", "id": id, "payload": response.errors })
                            } else {
                                operation.delivered = true;
                                json!({ "type": "next", "id": id, "payload": response })
                            }
                        }
                    };
                    if !self.send(message).await {
                        return End::Gone;
                    }
                }
                _ = keepalive.tick() => {
                    if heard.elapsed() >= self.limits.idle_timeout {
                        return End::close(close::NORMAL, "idle timeout");
                    }
                    if timeout(self.limits.idle_timeout, self.session.ping(b"")).await.is_err() {
                        return End::Gone;
                    }
                }
            }
        }
    }

    /// Waits for `connection_init` and authenticates it; the actor and its admitted place.
    async fn initialise(
        &mut self,
        messages: &mut AggregatedMessageStream,
    ) -> Result<(Actor, Instant, Admitted), End> {
        let deadline = Instant::now() + self.limits.init_timeout;
        loop {
            let message = match timeout_at(deadline, messages.recv()).await {
                Err(_) => {
                    return Err(End::close(
                        close::INIT_TIMEOUT,
                        "Connection initialisation timeout",
                    ));
                }
                Ok(None) => return Err(End::Gone),
                Ok(Some(Err(err))) => return Err(protocol_error(&err)),
                Ok(Some(Ok(message))) => message,
            };
            let text = match message {
                AggregatedMessage::Text(text) => text,
                AggregatedMessage::Ping(bytes) => {
                    if self.session.pong(&bytes).await.is_err() {
                        return Err(End::Gone);
                    }
                    continue;
                }
                AggregatedMessage::Pong(_) => continue,
                AggregatedMessage::Close(_) => return Err(End::close(close::NORMAL, "")),
                AggregatedMessage::Binary(_) => {
                    return Err(End::close(
                        close::BAD_REQUEST,
                        "binary messages are not part of graphql-transport-ws",
                    ));
                }
            };
            match parse(&text, self.state.limits.nesting) {
                Err(reason) => return Err(End::close(close::BAD_REQUEST, reason)),
                Ok(ClientMessage::Subscribe { .. }) => {
                    return Err(End::close(close::UNAUTHORIZED, "Unauthorized"));
                }
                Ok(ClientMessage::Ping) => {
                    if !self.send(json!({ "type": "pong" })).await {
                        return Err(End::Gone);
                    }
                }
                Ok(ClientMessage::Pong | ClientMessage::Complete { .. }) => {}
                Ok(ClientMessage::Init(payload)) => {
                    let (actor, expiry) = authenticate(self.state, payload.as_ref())
                        .await
                        .map_err(|reason| End::close(close::FORBIDDEN, reason))?;
                    let admitted = self
                        .state
                        .connections
                        .admit(&actor, self.limits.connections_per_actor)
                        .ok_or_else(|| {
                            End::close(
                                close::FORBIDDEN,
                                format!(
                                    "too many connections: this actor holds {} already",
                                    self.limits.connections_per_actor
                                ),
                            )
                        })?;
                    // On PostgreSQL, acknowledged means listening: a change committed after a
                    // subscription starts reaches it.
                    if !self.state.api.feed.wait_live(deadline).await {
                        return Err(End::close(
                            close::TRY_AGAIN_LATER,
                            "live claim events are unavailable for now; try again later",
                        ));
                    }
                    if !self.send(json!({ "type": "connection_ack" })).await {
                        return Err(End::Gone);
                    }
                    tracing::debug!(role = %actor.role, district = ?actor.district, "WebSocket connection acknowledged");
                    return Ok((actor, expiry, admitted));
                }
            }
        }
    }

    /// Starts a subscription: the same document bounds, persisted documents and caller as
    /// `POST /graphql`; only subscription operations.
    fn start(
        &self,
        payload: Value,
        caller: &Caller,
        alarm: &Arc<Alarm>,
    ) -> Result<BoxStream<'static, async_graphql::Response>, AppError> {
        let state = self.state;
        let mut request: async_graphql::Request = serde_json::from_value(payload)
            .map_err(|_| AppError::bad_input("payload", "not a GraphQL request"))?;
        let remember = state.persisted.resolve(&mut request)?;
        guard::check_nesting(&request.query, state.limits.nesting)?;
        let operation_name = request.operation_name.clone();
        if let Ok(document) = request.parsed_query() {
            guard::check_document(document, state.limits)?;
            let kind = super::graphql::operation_of(document, operation_name.as_deref())
                .map(|(kind, _)| kind);
            if kind.is_some_and(|k| k != OperationType::Subscription) {
                return Err(AppError::bad_input(
                    "query",
                    "only subscriptions are served over WebSocket; send queries and mutations with POST /graphql",
                ));
            }
            if let Some(document) = remember {
                state.persisted.remember(document);
            }
        }
        // A document that does not parse is answered by the executor, with its position.
        let request = request
            .data(caller.clone())
            .data(Arc::clone(alarm))
            .data(OpenedFeed::new(state.api.feed.subscribe()));
        Ok(state.schema.execute_stream(request))
    }
}

/// The close of a connection whose frames broke the WebSocket protocol.
fn protocol_error(err: &actix_ws::ProtocolError) -> End {
    match err {
        actix_ws::ProtocolError::Overflow => End::close(
            close::TOO_BIG,
            "the message is larger than HQ_WS_MAX_MESSAGE_BYTES",
        ),
        _ => End::Gone,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_protocol_messages_parse_and_anything_else_is_refused() {
        assert!(matches!(
            parse(r#"{"type":"connection_init","payload":{"a":1}}"#, 64),
            Ok(ClientMessage::Init(Some(_)))
        ));
        assert!(matches!(
            parse(
                r#"{"type":"subscribe","id":"1","payload":{"query":"subscription { x }"}}"#,
                64
            ),
            Ok(ClientMessage::Subscribe { .. })
        ));
        assert!(matches!(
            parse(r#"{"type":"complete","id":"1"}"#, 64),
            Ok(ClientMessage::Complete { .. })
        ));
        for bad in [
            "[]",
            "{}",
            r#"{"type":"start","id":"1"}"#,
            r#"{"type":"subscribe","id":"1"}"#,
            r#"{"type":"subscribe","payload":{}}"#,
            r#"{"type":"complete","id":""}"#,
            "not json",
        ] {
            assert!(parse(bad, 64).is_err(), "{bad}");
        }
        let deep = format!(
            r#"{{"type":"ping","payload":{}1{}}}"#,
            "[".repeat(80),
            "]".repeat(80)
        );
        assert!(parse(&deep, 64).is_err());
    }

    #[test]
    fn an_actor_holds_at_most_its_limit_of_connections_and_gets_a_place_back_on_close() {
        let connections = Arc::new(Connections::default());
        let actor = Actor {
            sub: "clerk".into(),
            role: crate::auth::Role::District,
            district: Some("330106".into()),
        };
        let other = Actor {
            district: Some("330108".into()),
            ..actor.clone()
        };
        let first = connections.admit(&actor, 2).expect("first");
        let _second = connections.admit(&actor, 2).expect("second");
        assert!(connections.admit(&actor, 2).is_none());
        assert!(connections.admit(&other, 2).is_some(), "another district");
        drop(first);
        assert!(connections.admit(&actor, 2).is_some());
    }
}
