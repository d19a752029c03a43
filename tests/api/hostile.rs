//! Requests a hostile client would send: parser bombs, fragment fan-out, alias floods, requests
//! that outlive their time budget or their client, concurrent retries of one idempotency key,
//! unknown directives and uploads from callers who may not import. None takes the service down
//! or does work beyond its bounds.

use std::time::{Duration, Instant};

use hq_api::auth::Role;
use sea_orm::{ConnectionTrait, TransactionTrait};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{TestApp, register_enterprise, spawn_app, spawn_app_with};

/// Posts a raw JSON body to `/graphql`, anonymously.
async fn post_body(app: &TestApp, body: String) -> (u16, Value) {
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .expect("the server answers");
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

async fn post_query(app: &TestApp, query: &str) -> (u16, Value) {
    post_body(app, json!({ "query": query }).to_string()).await
}

async fn assert_alive(app: &TestApp) {
    let response = app.get("/healthz").await;
    assert_eq!(
        response.status().as_u16(),
        200,
        "the process is still alive"
    );
}

fn nested(open: &str, inner: &str, close: &str, levels: usize) -> String {
    format!("{}{inner}{}", open.repeat(levels), close.repeat(levels))
}

/// Each recursive construct of a document, nested `levels` deep.
fn bombs(levels: usize) -> Vec<(&'static str, String)> {
    vec![
        (
            "object value in a directive argument",
            format!(
                "{{ __typename @skip(if: {}) }}",
                nested("{a:", "1", "}", levels)
            ),
        ),
        (
            "object value in a field argument",
            format!(
                "{{ districts(where: {}) {{ code }} }}",
                nested("{a:", "1", "}", levels)
            ),
        ),
        (
            "list value",
            format!(
                "{{ districts(where: {}) {{ code }} }}",
                nested("[", "1", "]", levels)
            ),
        ),
        (
            "variable default",
            format!(
                "query($v: Int = {}) {{ __typename }}",
                nested("{a:", "1", "}", levels)
            ),
        ),
        (
            "list type of a variable",
            format!(
                "query($v: {}) {{ __typename }}",
                nested("[", "Int", "]", levels)
            ),
        ),
        (
            "selection set",
            format!("{{ me {} }}", nested("{ role ", "", "}", levels)),
        ),
        (
            "inline fragment",
            nested("{ ... on Query ", "{ __typename }", "}", levels),
        ),
    ]
}

#[tokio::test]
async fn every_recursive_construct_nested_1_500_or_100_000_deep_is_refused_and_the_process_lives() {
    let app = spawn_app().await;
    for levels in [1_500, 100_000] {
        for (construct, query) in bombs(levels) {
            let (status, body) = post_query(&app, &query).await;
            // Over the body limit (1 MiB), 413 answers before the text is looked at.
            assert!(
                status == 400 || (status == 413 && query.len() > 1_048_576),
                "{construct} at {levels}: {status} {body}"
            );
            if status == 400 {
                assert_eq!(
                    body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
                    "{construct} at {levels}"
                );
                assert_eq!(body["errors"][0]["extensions"]["field"], "query");
            }
            assert_alive(&app).await;
        }
    }
}

#[tokio::test]
async fn every_recursive_construct_at_the_nesting_limit_reaches_the_validator_safely() {
    let app = spawn_app().await;
    // 64 levels of brackets, the default limit: parsed and judged (most are invalid GraphQL),
    // never refused for their nesting and never a crash.
    for (construct, query) in bombs(62) {
        let (status, body) = post_query(&app, &query).await;
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(
            status == 200 || (status == 400 && !message.contains("nests deeper")),
            "{construct}: {body}"
        );
        assert_alive(&app).await;
    }
}

#[tokio::test]
async fn json_variables_nested_past_the_limit_are_refused_and_the_process_lives() {
    let app = spawn_app().await;
    let query = "query($v: [Int]) { __typename }";
    for levels in [67, 127, 1_500, 100_000] {
        let body = format!(
            "{{\"query\":{},\"variables\":{{\"v\":{}}}}}",
            json!(query),
            nested("[", "1", "]", levels)
        );
        let (status, answer) = post_body(&app, body).await;
        assert_eq!(status, 400, "{levels}: {answer}");
        assert_eq!(answer["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
        assert_alive(&app).await;
    }
    // Within the limit: the variable reaches coercion, which refuses the wrong shape cleanly.
    let body = format!(
        "{{\"query\":{},\"variables\":{{\"v\":{}}}}}",
        json!(query),
        nested("[", "1", "]", 64)
    );
    let (status, answer) = post_body(&app, body).await;
    assert_eq!(status, 200);
    assert!(answer["errors"].is_array(), "{answer}");
    assert_alive(&app).await;
}

fn fan_out(levels: usize) -> String {
    let mut text = format!("{{ ...F{levels} }} fragment F0 on Query {{ __typename }}");
    for i in 1..=levels {
        text.push_str(&format!(
            " fragment F{i} on Query {{ ...F{p} ...F{p} }}",
            p = i - 1
        ));
    }
    text
}

#[tokio::test]
async fn a_fragment_fan_out_to_billions_of_fields_is_refused_at_once() {
    let app = spawn_app().await;
    // 2^24 fields from 977 bytes, and 10^9 from ten fragments each spreading the next ten times.
    let mut tenfold = String::from("{ ...G9 } fragment G0 on Query { __typename }");
    for i in 1..=9 {
        let spreads = format!("...G{} ", i - 1).repeat(10);
        tenfold.push_str(&format!(" fragment G{i} on Query {{ {spreads}}}"));
    }
    for query in [fan_out(24), fan_out(60), tenfold] {
        let started = Instant::now();
        let (status, body) = post_query(&app, &query).await;
        assert_eq!(status, 400, "{body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("fields once its fragments are spread"),
            "{body}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "refused before any expansion"
        );
    }
    // A modest fan-out is served.
    let (status, body) = post_query(&app, &fan_out(4)).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["__typename"], "Query");
}

#[tokio::test]
async fn health_answers_within_a_second_while_four_hostile_clients_keep_sending() {
    let app = spawn_app().await;
    let stop = Instant::now() + Duration::from_secs(3);
    let mut hostile = Vec::new();
    for i in 0..4 {
        let client = app.client.clone();
        let url = format!("{}/graphql", app.address);
        let query = match i % 2 {
            0 => fan_out(30),
            _ => format!(
                "{{ __typename @skip(if: {}) }}",
                nested("{a:", "1", "}", 100_000)
            ),
        };
        hostile.push(tokio::spawn(async move {
            let mut sent = 0;
            while Instant::now() < stop {
                let _ = client
                    .post(&url)
                    .json(&json!({ "query": query }))
                    .send()
                    .await;
                sent += 1;
            }
            sent
        }));
    }
    let mut slowest = Duration::ZERO;
    while Instant::now() < stop {
        let started = Instant::now();
        for path in ["/healthz", "/readyz"] {
            assert_eq!(app.get(path).await.status().as_u16(), 200);
        }
        slowest = slowest.max(started.elapsed());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for task in hostile {
        assert!(task.await.unwrap() > 0);
    }
    assert!(
        slowest < Duration::from_secs(1),
        "slowest health check {slowest:?}"
    );
}

#[tokio::test]
async fn more_than_thirty_root_fields_are_refused_whatever_they_select() {
    let app = spawn_app().await;
    let aliases = |n: usize, field: &str| {
        (0..n)
            .map(|i| format!("a{i}: {field}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let (status, body) = post_query(&app, &format!("{{ {} }}", aliases(30, "__typename"))).await;
    assert_eq!(status, 200, "{body}");
    for query in [
        format!("{{ {} }}", aliases(31, "__typename")),
        format!(
            "{{ {} }}",
            aliases(
                1_000,
                "publishedHeadquarters(year: 2024) { nodes { name } }"
            )
        ),
    ] {
        let (status, body) = post_query(&app, &query).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("root fields"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn unknown_repeated_and_mistyped_directives_are_validation_errors() {
    let app = spawn_app().await;
    for query in [
        "{ __typename @foo }".to_string(),
        format!("{{ __typename {} }}", "@foo ".repeat(1_000)),
        "{ __typename @skip(if: true) @skip(if: true) }".to_string(),
        "{ __typename @skip(if: {a: 1}) }".to_string(),
        "{ __typename @skip(if: \"yes\") }".to_string(),
        "{ __typename @skip }".to_string(),
        "{ me { role @foo } }".to_string(),
        "query @include(if: true) { __typename }".to_string(),
    ] {
        let (status, body) = post_query(&app, &query).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
        assert!(body["data"].is_null(), "{query}: nothing executed: {body}");
    }
    let (_, body) = post_query(&app, "{ __typename @skip(if: false) }").await;
    assert_eq!(body["data"]["__typename"], "Query");
}

/// Holds the database's write lock (SQLite) or an exclusive lock on `enterprises` (PostgreSQL)
/// from a connection of the test's own, until the returned transaction ends.
async fn hold_enterprise_writes(app: &TestApp) -> sea_orm::DatabaseTransaction {
    let db = sea_orm::Database::connect(&app.database_url).await.unwrap();
    let txn = db.begin().await.unwrap();
    let statement = match txn.get_database_backend() {
        sea_orm::DbBackend::Postgres => "LOCK TABLE enterprises IN ACCESS EXCLUSIVE MODE",
        _ => "CREATE TABLE test_holds_the_write_lock (x INTEGER)",
    };
    txn.execute_unprepared(statement).await.unwrap();
    txn
}

const REGISTER: &str = "mutation($i: RegisterEnterpriseInput!) { registerEnterprise(input: $i) { enterprise { creditCode } } }";
const HELD_CODE: &str = "91330100716105852F";

fn register_body() -> Value {
    json!({ "query": REGISTER, "variables": { "i": {
        "creditCode": HELD_CODE, "name": "杭州预算测试有限公司", "districtCode": "330106",
        "registeredOn": "2020-01-01", "industryCode": "7211", "ownership": "PRIVATE" } } })
}

async fn registered(app: &TestApp) -> bool {
    let res = app
        .gql_as(
            Role::HqOffice,
            &format!("{{ enterprise(creditCode: \"{HELD_CODE}\") {{ creditCode }} }}"),
            json!({}),
        )
        .await;
    !res.data()["enterprise"].is_null()
}

#[tokio::test]
async fn a_request_past_its_time_budget_is_stopped_rolled_back_and_answered_503() {
    let app = spawn_app_with(|s| s.request_timeout = Duration::from_millis(700)).await;
    let held = hold_enterprise_writes(&app).await;
    let started = Instant::now();
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(app.token_for(Role::HqOffice))
        .json(&register_body())
        .send()
        .await
        .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(response.status().as_u16(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "SERVICE_UNAVAILABLE"
    );
    assert!(
        elapsed < Duration::from_secs(5),
        "stopped at the budget: {elapsed:?}"
    );
    held.rollback().await.unwrap();
    // The stopped work does not resume once the lock is free.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!registered(&app).await, "the stopped request wrote nothing");
    assert_alive(&app).await;
}

#[tokio::test]
async fn a_client_that_goes_away_cancels_its_request() {
    let app = spawn_app().await;
    let held = hold_enterprise_writes(&app).await;
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let gone = impatient
        .post(format!("{}/graphql", app.address))
        .bearer_auth(app.token_for(Role::HqOffice))
        .json(&register_body())
        .send()
        .await;
    assert!(gone.is_err(), "the client gave up");
    tokio::time::sleep(Duration::from_millis(300)).await;
    held.rollback().await.unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        !registered(&app).await,
        "the abandoned request wrote nothing"
    );
}

#[tokio::test]
async fn ten_concurrent_retries_of_one_idempotency_key_execute_once_and_share_one_answer() {
    let app = spawn_app().await;
    register_enterprise(&app, HELD_CODE, "杭州幂等并发有限公司", "330106").await;
    let rename = "mutation($i: RecordEnterpriseEventInput!) { recordEnterpriseEvent(input: $i) { event { databaseId } } }";
    let body = json!({ "query": rename, "variables": { "i": {
        "creditCode": HELD_CODE, "kind": "RENAMED", "effectiveDate": "2024-01-01",
        "changes": { "name": "杭州并发新名有限公司" } } } });
    let token = app.token_for(Role::HqOffice);
    let mut calls = Vec::new();
    for _ in 0..10 {
        let request = app
            .client
            .post(format!("{}/graphql", app.address))
            .bearer_auth(&token)
            .header("Idempotency-Key", "concurrent-rename")
            .json(&body);
        calls.push(tokio::spawn(async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }));
    }
    let mut answers = Vec::new();
    for call in calls {
        answers.push(call.await.unwrap());
    }
    for (status, answer) in &answers {
        assert_eq!(*status, 200, "{answer}");
        assert_eq!(answer, &answers[0].1, "every retry gets the one answer");
    }
    let res = app
        .gql_as(
            Role::HqOffice,
            &format!(
                "{{ enterprise(creditCode: \"{HELD_CODE}\") {{ events {{ nodes {{ kind }} }} }} }}"
            ),
            json!({}),
        )
        .await;
    let events = res.data()["enterprise"]["events"]["nodes"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(events, 2, "registered once, renamed once");
}

/// Sends the head of an upload of `declared` bytes and a first chunk, and reads the answer
/// without sending the rest.
async fn upload_head(app: &TestApp, token: &str, path: &str, declared: usize) -> String {
    let address = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: text/csv\r\nContent-Length: {declared}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&vec![b'x'; 4096]).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut answer))
        .await
        .expect("answered before the body was sent")
        .unwrap();
    String::from_utf8_lossy(&answer[..read]).into_owned()
}

#[tokio::test]
async fn an_import_is_authorised_and_sized_from_its_headers_before_its_body_is_read() {
    let app = spawn_app().await;
    let path = "/imports/payments/330106/2024";
    let viewer = app.token_for(Role::Viewer);
    let answer = upload_head(&app, &viewer, path, 63 * 1_048_576).await;
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");

    let other = app.token(Role::District, Some("330102"));
    let answer = upload_head(&app, &other, path, 63 * 1_048_576).await;
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");

    let own = app.token(Role::District, Some("330106"));
    let answer = upload_head(&app, &own, path, 65 * 1_048_576).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert_alive(&app).await;
}

#[tokio::test]
async fn unpaginated_lists_and_aggregates_are_charged_by_what_they_can_reach() {
    let app = spawn_app().await;
    let aliases = |n: usize, field: &str| {
        (0..n)
            .map(|i| format!("a{i}: {field}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    // A connection is charged by its page size: 300 entries here.
    let published = "publishedHeadquarters(year: 2024, first: 300) { nodes { name district { code name } stars route } }";
    let (status, body) = post_query(&app, &format!("{{ {} }}", aliases(2, published))).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("errors").is_none(), "{body}");
    let (_, body) = post_query(&app, &format!("{{ {} }}", aliases(3, published))).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{body}"
    );
    assert!(body["data"].is_null(), "{body}");

    let progress = "targetProgress(year: 2024) { recognised recognisedFirstTime }";
    let res = app
        .gql_as(
            Role::Viewer,
            &format!("{{ {} }}", aliases(20, progress)),
            json!({}),
        )
        .await;
    assert!(res.body.get("errors").is_none(), "{}", res.body);
    let res = app
        .gql_as(
            Role::Viewer,
            &format!("{{ {} }}", aliases(26, progress)),
            json!({}),
        )
        .await;
    assert_eq!(res.error_code(), Some("BAD_USER_INPUT"), "{}", res.body);
}
