//! Live claim status: `subscription { claimEvents(fiscalYear) }` over WebSocket
//! (graphql-transport-ws) — who receives which claim's events, refused connections and their close
//! codes, the per-actor and per-connection limits, a slow consumer, and (on PostgreSQL) two
//! instances on one database.

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use hq_api::auth::Role;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::helpers::{TestApp, register_enterprise, spawn_app, spawn_app_with};

const CODE_A: &str = "91330100716105852F";
const CODE_B: &str = "91110000600037341L";
const OWN: &str = "330106";
const OTHER: &str = "330108";

const CLAIM_EVENTS: &str = "subscription($y: Int!) { claimEvents(fiscalYear: $y) {
  claimId districtCode fiscalYear action reason actor } }";

/// What a test waits for at most before it calls a connection stuck (a guard against a hang,
/// not a measure of speed).
const STUCK: Duration = Duration::from_secs(30);

/// What the server sent.
#[derive(Debug)]
enum Received {
    Message(Value),
    Closed(u16, String),
}

/// A graphql-transport-ws client.
struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Messages read while waiting for a pong, in order.
    pending: VecDeque<Value>,
}

impl Client {
    /// Connects to `/graphql` of `base` (`http://…`), offering `protocol` if any.
    async fn open(base: &str, protocol: Option<&str>) -> Client {
        let url = format!("{}/graphql", base.replacen("http://", "ws://", 1));
        let mut request = url.into_client_request().expect("a WebSocket request");
        if let Some(protocol) = protocol {
            request.headers_mut().insert(
                "Sec-WebSocket-Protocol",
                protocol.parse().expect("a header value"),
            );
        }
        let (ws, response) = tokio_tungstenite::connect_async(request)
            .await
            .expect("the WebSocket handshake");
        if let Some(protocol) = protocol {
            assert_eq!(
                response
                    .headers()
                    .get("Sec-WebSocket-Protocol")
                    .map(|v| v.to_str().unwrap()),
                Some(protocol)
            );
        }
        Client {
            ws,
            pending: VecDeque::new(),
        }
    }

    async fn connect(base: &str) -> Client {
        Client::open(base, Some("graphql-transport-ws")).await
    }

    /// Connects and sends `connection_init` with `payload`, without waiting for the answer.
    async fn init_with(base: &str, payload: Value) -> Client {
        let mut client = Client::connect(base).await;
        client
            .send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        client
    }

    /// Connects as `token` and waits for `connection_ack`.
    async fn acknowledged(base: &str, token: &str) -> Client {
        let mut client =
            Client::init_with(base, json!({ "Authorization": format!("Bearer {token}") })).await;
        let ack = client.message().await;
        assert_eq!(ack["type"], "connection_ack", "{ack}");
        client
    }

    async fn send(&mut self, message: Value) {
        self.send_text(message.to_string()).await;
    }

    async fn send_text(&mut self, text: String) {
        self.ws
            .send(Message::Text(text.into()))
            .await
            .expect("sent");
    }

    /// The next protocol message, or the close.
    async fn receive(&mut self) -> Received {
        if let Some(message) = self.pending.pop_front() {
            return Received::Message(message);
        }
        let deadline = tokio::time::Instant::now() + STUCK;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .expect("the server answers");
            match frame {
                Some(Ok(Message::Text(text))) => {
                    return Received::Message(serde_json::from_str(text.as_str()).expect("JSON"));
                }
                Some(Ok(Message::Close(frame))) => {
                    return match frame {
                        Some(frame) => {
                            Received::Closed(frame.code.into(), frame.reason.to_string())
                        }
                        None => Received::Closed(1005, String::new()),
                    };
                }
                Some(Ok(_)) => continue,
                Some(Err(err)) => panic!("WebSocket error: {err}"),
                None => panic!("the connection ended without a close frame"),
            }
        }
    }

    async fn message(&mut self) -> Value {
        match self.receive().await {
            Received::Message(message) => message,
            Received::Closed(code, reason) => panic!("closed {code}: {reason}"),
        }
    }

    async fn closed(&mut self) -> (u16, String) {
        match self.receive().await {
            Received::Closed(code, reason) => (code, reason),
            Received::Message(message) => panic!("expected a close, got {message}"),
        }
    }

    /// Subscribes to the claim events of `year` as `id`; returns once the server has read the
    /// subscription (a ping sent after it is answered in order), so that every change committed
    /// from then on reaches it.
    async fn follow(&mut self, id: &str, year: i32) {
        self.send(json!({
            "type": "subscribe", "id": id,
            "payload": { "query": CLAIM_EVENTS, "variables": { "y": year } },
        }))
        .await;
        self.send(json!({ "type": "ping" })).await;
        // An answer to the subscription itself (a refusal) may come before the pong.
        let mut early = VecDeque::new();
        loop {
            let message = self.message().await;
            if message["type"] == "pong" {
                break;
            }
            early.push_back(message);
        }
        early.extend(self.pending.drain(..));
        self.pending = early;
    }

    /// The next event of subscription `id`: (district, action).
    async fn event(&mut self, id: &str) -> (String, String) {
        let message = self.message().await;
        assert_eq!(message["type"], "next", "{message}");
        assert_eq!(message["id"], id, "{message}");
        let event = &message["payload"]["data"]["claimEvents"];
        assert!(message["payload"]["errors"].is_null(), "{message}");
        assert_eq!(event["fiscalYear"], 2024, "{message}");
        (
            event["districtCode"].as_str().unwrap().to_string(),
            event["action"].as_str().unwrap().to_string(),
        )
    }

    async fn close(mut self) {
        self.ws.close(None).await.expect("close sent");
        let _ = self.closed().await;
    }
}

fn pair(district: &str, action: &str) -> (String, String) {
    (district.to_string(), action.to_string())
}

fn rent(code: &str, voucher: &str) -> Value {
    json!({
        "creditCode": code, "kind": "RENT", "subsidyYear": 2024, "contractNo": "L-2024-1",
        "basis": "1000000.00", "amount": "30000.00", "paymentDate": "2024-06-30", "voucherNo": voucher,
    })
}

/// An enterprise in each of two districts, each with one reported line for 2024.
async fn two_districts_with_lines(app: &TestApp) {
    for (code, district) in [(CODE_A, OWN), (CODE_B, OTHER)] {
        register_enterprise(app, code, &format!("杭州测试{code}有限公司"), district).await;
        let token = app.token(Role::District, Some(district));
        app.gql(
            Some(&token),
            "mutation($d: String!, $l: [PaymentLineInput!]!) {
               reportPayments(districtCode: $d, fiscalYear: 2024, lines: $l) { created { seq } } }",
            json!({ "d": district, "l": [rent(code, &format!("V-{district}"))] }),
        )
        .await
        .data();
    }
}

async fn submit(base: &TestApp, district: &str) {
    let token = base.token(Role::District, Some(district));
    base.gql(
        Some(&token),
        "mutation($d: String!) { submitClaim(districtCode: $d, fiscalYear: 2024) { status } }",
        json!({ "d": district }),
    )
    .await
    .data();
}

async fn reconcile(app: &TestApp, district: &str) {
    app.gql_as(
        Role::CityFinance,
        "mutation($d: String!) { reconcileClaim(districtCode: $d, fiscalYear: 2024) { claim { status } } }",
        json!({ "d": district }),
    )
    .await
    .data();
}

async fn return_claim(app: &TestApp, district: &str) {
    app.gql_as(
        Role::CityFinance,
        "mutation($d: String!) { returnClaim(districtCode: $d, fiscalYear: 2024, reason: \"voucher unreadable\") { status } }",
        json!({ "d": district }),
    )
    .await
    .data();
}

#[tokio::test]
async fn a_district_follows_its_own_claim_and_finance_follows_every_district() {
    let app = spawn_app().await;
    two_districts_with_lines(&app).await;
    let mut district =
        Client::acknowledged(&app.address, &app.token(Role::District, Some(OWN))).await;
    district.follow("own", 2024).await;
    let mut finance = Client::acknowledged(&app.address, &app.token_for(Role::CityFinance)).await;
    finance.follow("all", 2024).await;
    let mut next_year =
        Client::acknowledged(&app.address, &app.token(Role::District, Some(OWN))).await;
    next_year.follow("2025", 2025).await;

    // The other district's submission comes first: had it reached the district subscriber, it
    // would be the first event there.
    submit(&app, OTHER).await;
    submit(&app, OWN).await;
    reconcile(&app, OWN).await;
    return_claim(&app, OWN).await;

    assert_eq!(district.event("own").await, pair(OWN, "SUBMITTED"));
    assert_eq!(district.event("own").await, pair(OWN, "RECONCILED"));
    let returned = district.message().await;
    let event = &returned["payload"]["data"]["claimEvents"];
    assert_eq!(event["action"], "RETURNED", "{returned}");
    assert_eq!(event["reason"], "voucher unreadable");
    assert_eq!(event["actor"], "test:city_finance");
    assert!(event["claimId"].as_i64().is_some());

    assert_eq!(finance.event("all").await, pair(OTHER, "SUBMITTED"));
    assert_eq!(finance.event("all").await, pair(OWN, "SUBMITTED"));
    assert_eq!(finance.event("all").await, pair(OWN, "RECONCILED"));
    assert_eq!(finance.event("all").await, pair(OWN, "RETURNED"));

    // The 2025 subscriber got none of it: its first event is the first of 2025.
    let token = app.token(Role::District, Some(OWN));
    let mut line = rent(CODE_A, "V-2025");
    line["paymentDate"] = json!("2025-03-31");
    app.gql(
        Some(&token),
        "mutation($l: [PaymentLineInput!]!) {
           reportPayments(districtCode: \"330106\", fiscalYear: 2025, lines: $l) { created { seq } } }",
        json!({ "l": [line] }),
    )
    .await
    .data();
    app.gql(
        Some(&token),
        "mutation { submitClaim(districtCode: \"330106\", fiscalYear: 2025) { status } }",
        json!({}),
    )
    .await
    .data();
    let first = next_year.message().await;
    let event = &first["payload"]["data"]["claimEvents"];
    assert_eq!(
        (&event["fiscalYear"], &event["action"]),
        (&json!(2025), &json!("SUBMITTED")),
        "{first}"
    );

    // What the subscriptions delivered is the claim's history.
    let history = app
        .gql_as(
            Role::CityFinance,
            "{ claim(districtCode: \"330106\", fiscalYear: 2024) { history { action districtCode } } }",
            json!({}),
        )
        .await;
    let actions: Vec<&str> = history.data()["claim"]["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["SUBMITTED", "RECONCILED", "RETURNED"]);
}

#[tokio::test]
async fn each_role_may_follow_claims_as_the_policy_says() {
    let app = spawn_app().await;
    two_districts_with_lines(&app).await;
    let mut clients = Vec::new();
    for role in Role::ALL {
        let mut client = Client::acknowledged(&app.address, &app.token_for(role)).await;
        client.follow("c", 2024).await;
        clients.push((role, client));
    }
    submit(&app, OWN).await;
    for (role, client) in &mut clients {
        let message = client.message().await;
        if *role == Role::Viewer {
            // VIEWER sees no claims: the subscription is refused, the connection stays.
            assert_eq!(message["type"], "error", "{message}");
            assert_eq!(message["payload"][0]["extensions"]["code"], "FORBIDDEN");
        } else {
            assert_eq!(message["type"], "next", "{role}: {message}");
            assert_eq!(
                message["payload"]["data"]["claimEvents"]["action"],
                "SUBMITTED"
            );
        }
    }
}

#[tokio::test]
async fn a_connection_without_a_valid_token_or_out_of_protocol_is_closed_with_the_protocols_code() {
    let app = spawn_app_with(|s| {
        s.ws_init_timeout = Duration::from_secs(1);
        s.ws_max_message_bytes = 4096;
    })
    .await;
    let base = app.address.as_str();

    // No token, an empty one, a forged one, an expired one, another scheme: 4403 Forbidden.
    let mut expired = app.viewer_claims();
    expired.exp = chrono::Utc::now().timestamp() - 3600;
    let expired = app.sign(&expired);
    let forged = app.token_for(Role::CityFinance).replace('.', ".x");
    for payload in [
        json!(null),
        json!({}),
        json!({ "Authorization": "" }),
        json!({ "Authorization": format!("Bearer {forged}") }),
        json!({ "authorization": format!("Bearer {expired}") }),
        json!({ "Authorization": format!("Basic {}", app.token_for(Role::Viewer)) }),
        json!({ "Authorization": 42 }),
    ] {
        let mut client = Client::init_with(base, payload.clone()).await;
        let (code, _) = client.closed().await;
        assert_eq!(code, 4403, "{payload}");
    }
    // The key may be written either way.
    let token = app.token_for(Role::Auditor);
    let mut lower =
        Client::init_with(base, json!({ "authorization": format!("Bearer {token}") })).await;
    assert_eq!(lower.message().await["type"], "connection_ack");

    // A subscription before the acknowledgement: 4401 Unauthorized.
    let mut early = Client::connect(base).await;
    early
        .send(json!({ "type": "subscribe", "id": "1", "payload": { "query": CLAIM_EVENTS } }))
        .await;
    assert_eq!(early.closed().await.0, 4401);

    // No connection_init in time: 4408.
    let mut silent = Client::connect(base).await;
    assert_eq!(silent.closed().await.0, 4408);

    // A second connection_init: 4429; a reused id: 4409; not a protocol message: 4400.
    let mut twice = Client::acknowledged(base, &token).await;
    twice
        .send(json!({ "type": "connection_init", "payload": {} }))
        .await;
    assert_eq!(twice.closed().await.0, 4429);
    let mut reused = Client::acknowledged(base, &token).await;
    reused.follow("same", 2024).await;
    reused
        .send(json!({ "type": "subscribe", "id": "same", "payload": { "query": CLAIM_EVENTS, "variables": { "y": 2024 } } }))
        .await;
    assert_eq!(reused.closed().await.0, 4409);
    let mut garbled = Client::acknowledged(base, &token).await;
    garbled.send(json!({ "type": "start", "id": "1" })).await;
    assert_eq!(garbled.closed().await.0, 4400);

    // A message over HQ_WS_MAX_MESSAGE_BYTES: 1009.
    let mut big = Client::acknowledged(base, &token).await;
    big.send_text(format!(
        r#"{{"type":"ping","payload":{{"pad":"{}"}}}}"#,
        "x".repeat(8192)
    ))
    .await;
    assert_eq!(big.closed().await.0, 1009);

    // Without the graphql-transport-ws sub-protocol: 4406.
    let mut plain = Client::open(base, None).await;
    assert_eq!(plain.closed().await.0, 4406);

    // Queries and mutations are sent with POST: over the socket they are refused.
    let mut query = Client::acknowledged(base, &token).await;
    query
        .send(json!({ "type": "subscribe", "id": "q", "payload": { "query": "{ me { role } }" } }))
        .await;
    let refused = query.message().await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(
        refused["payload"][0]["extensions"]["code"],
        "BAD_USER_INPUT"
    );

    // A subscription over HTTP is refused too, with a code.
    let res = app
        .gql_as(Role::CityFinance, CLAIM_EVENTS, json!({ "y": 2024 }))
        .await;
    assert_eq!(res.error_code(), Some("BAD_USER_INPUT"), "{}", res.body);
}

#[tokio::test]
async fn a_connection_is_closed_when_its_token_expires() {
    let app = spawn_app().await;
    let short = app
        .keys
        .mint(
            "test:short",
            Role::CityFinance,
            None,
            chrono::Duration::seconds(1),
        )
        .unwrap();
    let mut client = Client::acknowledged(&app.address, &short).await;
    client.follow("all", 2024).await;
    let (code, reason) = client.closed().await;
    assert_eq!(code, 4403);
    assert!(reason.contains("expired"), "{reason}");
}

#[tokio::test]
async fn an_actor_holds_at_most_its_limit_of_connections_and_subscriptions() {
    let app = spawn_app_with(|s| {
        s.ws_max_connections_per_actor = 2;
        s.ws_max_subscriptions = 1;
    })
    .await;
    let base = app.address.as_str();
    let own = app.token(Role::District, Some(OWN));
    let first = Client::acknowledged(base, &own).await;
    let mut second = Client::acknowledged(base, &own).await;

    let mut third =
        Client::init_with(base, json!({ "Authorization": format!("Bearer {own}") })).await;
    let (code, reason) = third.closed().await;
    assert_eq!(code, 4403);
    assert!(reason.contains("too many connections"), "{reason}");

    // Another district's actor is another actor.
    let other = app.token(Role::District, Some(OTHER));
    let _other = Client::acknowledged(base, &other).await;

    // A closed connection gives its place back.
    first.close().await;
    let _again = Client::acknowledged(base, &own).await;

    // One subscription per connection here: the second is refused, the first runs on.
    second.follow("one", 2024).await;
    second
        .send(json!({ "type": "subscribe", "id": "two", "payload": { "query": CLAIM_EVENTS, "variables": { "y": 2024 } } }))
        .await;
    let refused = second.message().await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["id"], "two");
    assert_eq!(refused["payload"][0]["extensions"]["code"], "FORBIDDEN");
}

#[tokio::test]
async fn a_subscriber_that_falls_behind_the_event_buffer_is_closed_not_buffered() {
    if std::env::var("TEST_DATABASE_URL").is_ok_and(|u| u.starts_with("postgres")) {
        // On SQLite an approval hands its events to the channel in one go, so a buffer of one
        // event overflows before the subscriber can read; on PostgreSQL they arrive one by one
        // through LISTEN, and whether it falls behind depends on scheduling.
        eprintln!("skipped on PostgreSQL: falling behind cannot be forced there");
        return;
    }
    let app = spawn_app_with(|s| s.ws_event_buffer = 1).await;
    two_districts_with_lines(&app).await;
    for district in [OWN, OTHER] {
        submit(&app, district).await;
        reconcile(&app, district).await;
    }
    app.gql_as(
        Role::CityFinance,
        "mutation { draftSettlement(fiscalYear: 2024) { status } }",
        json!({}),
    )
    .await
    .data();
    let mut finance = Client::acknowledged(&app.address, &app.token_for(Role::CityFinance)).await;
    finance.follow("all", 2024).await;

    // One approval: two claims APPROVED in one commit, for a buffer of one.
    app.gql_as(
        Role::CityFinance,
        "mutation { approveSettlement(fiscalYear: 2024) { status } }",
        json!({}),
    )
    .await
    .data();
    let (code, reason) = finance.closed().await;
    assert_eq!(code, 1013, "{reason}");
    assert!(reason.contains("slow consumer"), "{reason}");
}

#[tokio::test]
async fn on_postgresql_a_change_through_one_instance_reaches_subscribers_on_every_instance() {
    if !std::env::var("TEST_DATABASE_URL").is_ok_and(|u| u.starts_with("postgres")) {
        eprintln!("skipped: two instances share a database only on PostgreSQL (TEST_DATABASE_URL)");
        return;
    }
    let a = spawn_app().await;
    let b = a.another_instance().await;
    two_districts_with_lines(&a).await;
    let own = a.token(Role::District, Some(OWN));
    let mut on_a = Client::acknowledged(&a.address, &own).await;
    on_a.follow("a", 2024).await;
    let mut on_b = Client::acknowledged(&b, &own).await;
    on_b.follow("b", 2024).await;
    let mut other_on_b = Client::acknowledged(&b, &a.token(Role::District, Some(OTHER))).await;
    other_on_b.follow("other", 2024).await;

    // Through A: the other district first, then our own.
    submit(&a, OTHER).await;
    submit(&a, OWN).await;
    assert_eq!(on_a.event("a").await, pair(OWN, "SUBMITTED"));
    assert_eq!(on_b.event("b").await, pair(OWN, "SUBMITTED"));
    assert_eq!(other_on_b.event("other").await, pair(OTHER, "SUBMITTED"));

    // Through B: a reconciliation reaches the subscriber on A.
    let finance = a.token_for(Role::CityFinance);
    let res = a
        .client
        .post(format!("{b}/graphql"))
        .bearer_auth(&finance)
        .json(&json!({
            "query": "mutation { reconcileClaim(districtCode: \"330106\", fiscalYear: 2024) { claim { status } } }"
        }))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert!(res["errors"].is_null(), "{res}");
    assert_eq!(on_a.event("a").await, pair(OWN, "RECONCILED"));
    assert_eq!(on_b.event("b").await, pair(OWN, "RECONCILED"));
}
