//! What the team running the service sees: request ids on every answer and in every error, one
//! access-log line per request (JSON when asked, no colour codes, never a token or a body), and
//! Prometheus metrics on a listener of their own.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hq_api::auth::Role;
use serde_json::{Value, json};

use crate::helpers::{becomes_ready, free_port, spawn_app, spawn_app_with};

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn is_fresh_id(id: &str) -> bool {
    id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit())
}

#[tokio::test]
async fn a_clients_request_id_is_echoed_on_every_kind_of_answer() {
    // Arrange
    let app = spawn_app().await;
    let token = app.token_for(Role::Viewer);

    // Act: GraphQL, health, an HTTP-level refusal and an export refusal, each with an id.
    let graphql = app
        .client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(&token)
        .header("X-Request-Id", "clerk-42.a")
        .json(&json!({"query": "{ districts { code } }"}))
        .send()
        .await
        .unwrap();
    let health = app
        .client
        .get(format!("{}/healthz", app.address))
        .header("X-Request-Id", "probe-1")
        .send()
        .await
        .unwrap();
    let refused = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("X-Request-Id", "wrong-type-7")
        .header("Content-Type", "text/plain")
        .body("{ districts { code } }")
        .send()
        .await
        .unwrap();
    let export = app
        .client
        .get(format!("{}/exports/settlements/2024.xlsx", app.address))
        .header("X-Request-Id", "export-9")
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(graphql.status(), 200);
    assert_eq!(
        header(&graphql, "x-request-id").as_deref(),
        Some("clerk-42.a")
    );
    assert_eq!(header(&health, "x-request-id").as_deref(), Some("probe-1"));
    assert_eq!(refused.status(), 415);
    assert_eq!(
        header(&refused, "x-request-id").as_deref(),
        Some("wrong-type-7")
    );
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["requestId"], "wrong-type-7");
    assert_eq!(header(&export, "x-request-id").as_deref(), Some("export-9"));
    assert!(export.status().is_client_error());
    let body: Value = export.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["requestId"], "export-9");
}

#[tokio::test]
async fn a_missing_or_unusable_request_id_is_replaced_by_a_fresh_one() {
    // Arrange
    let app = spawn_app().await;
    let long = "x".repeat(129);

    // Act
    let none = app.get("/healthz").await;
    let too_long = app
        .client
        .get(format!("{}/healthz", app.address))
        .header("X-Request-Id", &long)
        .send()
        .await
        .unwrap();
    let spaced = app
        .client
        .get(format!("{}/healthz", app.address))
        .header("X-Request-Id", "two words")
        .send()
        .await
        .unwrap();

    // Assert
    let first = header(&none, "x-request-id").expect("an id");
    assert!(is_fresh_id(&first), "{first}");
    let second = header(&too_long, "x-request-id").expect("an id");
    assert!(is_fresh_id(&second), "{second}");
    assert_ne!(first, second);
    assert!(is_fresh_id(
        &header(&spaced, "x-request-id").expect("an id")
    ));
}

#[tokio::test]
async fn every_graphql_error_carries_the_request_id() {
    // Arrange
    let app = spawn_app().await;

    // Act: an anonymous call of a field that needs a token, and a validation error.
    let forbidden = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("X-Request-Id", "r-1")
        .json(&json!({"query": "{ claims: auditLog(first: 1) { totalCount } }"}))
        .send()
        .await
        .unwrap();
    let invalid = app
        .client
        .post(format!("{}/graphql", app.address))
        .json(&json!({"query": "{ noSuchField }"}))
        .send()
        .await
        .unwrap();

    // Assert
    let id = header(&invalid, "x-request-id").unwrap();
    let forbidden: Value = forbidden.json().await.unwrap();
    let invalid: Value = invalid.json().await.unwrap();
    let errors = forbidden["errors"].as_array().expect("errors");
    assert!(!errors.is_empty());
    for error in errors {
        assert_eq!(error["extensions"]["requestId"], "r-1", "{error}");
    }
    assert_eq!(invalid["errors"][0]["extensions"]["requestId"], id.as_str());
    assert_eq!(invalid["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
}

/// The binary, serving on a free port with JSON logs; its standard error collected line by line.
struct Logged {
    child: Child,
    base: String,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Drop for Logged {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Logged {
    async fn start(database_url: &str, secret: &str, format: &str) -> Logged {
        let port = free_port();
        let mut child = Command::new(env!("CARGO_BIN_EXE_hq-api"))
            .arg("serve")
            .env("HQ_BIND", format!("127.0.0.1:{port}"))
            .env("HQ_DATABASE_URL", database_url)
            .env("HQ_JWT_SECRET", secret)
            .env("HQ_WORKERS", "1")
            .env("HQ_LOG", "info")
            .env("HQ_LOG_FORMAT", format)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the hq-api binary starts");
        let stderr = child.stderr.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        // Built before waiting, so that its drop stops the process if it never becomes ready.
        let service = Logged {
            child,
            base: format!("http://127.0.0.1:{port}"),
            lines,
        };
        let ready = becomes_ready(&reqwest::Client::new(), &service.base).await;
        assert!(
            ready,
            "hq-api did not become ready: {:?}",
            service.lines.lock().unwrap()
        );
        service
    }

    /// The access lines logged so far, parsed.
    fn access_lines(&self) -> Vec<Value> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .map(|line| serde_json::from_str::<Value>(line).expect("every log line is JSON"))
            .filter(|v| v["target"] == "hq_api::access")
            .collect()
    }

    async fn access_line_of(&self, request_id: &str) -> Value {
        for _ in 0..100 {
            if let Some(line) = self
                .access_lines()
                .into_iter()
                .find(|v| v["fields"]["request_id"] == request_id)
            {
                return line;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!(
            "no access line for {request_id}: {:?}",
            self.lines.lock().unwrap()
        );
    }
}

#[tokio::test]
async fn each_request_leaves_one_json_access_line_without_tokens_bodies_or_colours() {
    // Arrange: the service as operators run it, with JSON logs.
    let app = spawn_app().await;
    let service = Logged::start(&app.database_url, &app.secret, "json").await;
    let client = reqwest::Client::new();
    let token = app.token(Role::District, Some("330106"));
    let secret_looking_voucher = "VOUCHER-SECRET-123";

    // Act: a named query, an anonymous query with an error, and a mutation with variables.
    client
        .post(format!("{}/graphql", service.base))
        .bearer_auth(&token)
        .header("X-Request-Id", "named-1")
        .json(&json!({"query": "query Districts { districts { code } }",
            "operationName": "Districts"}))
        .send()
        .await
        .unwrap();
    client
        .post(format!("{}/graphql", service.base))
        .header("X-Request-Id", "anon-2")
        .json(&json!({"query": "{ noSuchField }"}))
        .send()
        .await
        .unwrap();
    client
        .post(format!("{}/graphql", service.base))
        .bearer_auth(&token)
        .header("X-Request-Id", "mutation-3")
        .json(&json!({
            "query": "mutation Report($lines: [PaymentLineInput!]!) { reportPayments(districtCode: \"330106\", fiscalYear: 2024, lines: $lines) { created { id } } }",
            "operationName": "Report",
            "variables": {"lines": [{"voucherNo": secret_looking_voucher}]},
        }))
        .send()
        .await
        .unwrap();

    // Assert
    let named = service.access_line_of("named-1").await;
    let f = &named["fields"];
    assert_eq!(f["method"], "POST");
    assert_eq!(f["path"], "/graphql");
    assert_eq!(f["status"], 200);
    assert_eq!(f["role"], "DISTRICT");
    assert_eq!(f["sub"], "test:district");
    assert_eq!(f["operation_type"], "query");
    assert_eq!(f["operation"], "Districts");
    assert_eq!(f["errors"], "");
    assert!(f["duration_ms"].as_f64().is_some(), "{named}");
    assert!(
        f["bytes"]
            .as_str()
            .is_some_and(|b| b.parse::<u64>().is_ok()),
        "{named}"
    );
    assert!(
        named["timestamp"].is_string() && named["level"] == "INFO",
        "{named}"
    );

    let anonymous = service.access_line_of("anon-2").await;
    assert_eq!(anonymous["fields"]["role"], "anonymous");
    assert_eq!(anonymous["fields"]["operation"], "anonymous");
    assert_eq!(anonymous["fields"]["errors"], "BAD_USER_INPUT");

    let mutation = service.access_line_of("mutation-3").await;
    assert_eq!(mutation["fields"]["operation_type"], "mutation");
    assert_eq!(mutation["fields"]["operation"], "Report");
    assert_ne!(mutation["fields"]["errors"], "");

    let all = service.lines.lock().unwrap().join("\n");
    assert!(!all.contains(&token), "a token was logged");
    assert!(
        !all.contains(secret_looking_voucher),
        "a variable was logged"
    );
    assert!(!all.contains('\u{1b}'), "an ANSI escape in a log file");
    assert_eq!(
        service
            .access_lines()
            .iter()
            .filter(|v| v["fields"]["request_id"] == "named-1")
            .count(),
        1
    );
}

/// The value of the sample `name` whose labels include every pair of `labels`.
fn sample(scrape: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name)
        .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            _ => 0.0,
        })
        .reduce(f64::max)
}

#[tokio::test]
async fn metrics_are_served_apart_and_parse_as_prometheus_text() {
    // Arrange
    let app = spawn_app_with(|s| s.metrics_bind = Some("127.0.0.1:0".into())).await;
    let metrics = app.metrics_address.clone().expect("a metrics listener");
    let token = app.token_for(Role::Viewer);

    // Act: a named operation, an error, a health probe; then a scrape.
    app.client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(&token)
        .json(&json!({"query": "query MetricsDistricts { districts { code } }"}))
        .send()
        .await
        .unwrap();
    app.gql(None, "{ noSuchField }", json!({})).await;
    app.get("/healthz").await;
    // A file of one row whose enterprise is not registered: one refused row.
    let import = app
        .client
        .post(format!("{}/imports/payments/330106/2024", app.address))
        .bearer_auth(app.token(Role::District, Some("330106")))
        .header("Content-Type", "text/csv")
        .body(
            "creditCode,kind,subsidyYear,contractNo,basis,amount,paymentDate,voucherNo\n\
             91330100716105852F,RENT,2024,L-1,100.00,30.00,2024-06-30,V-1\n",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(import.status(), 400);
    let response = app
        .client
        .get(format!("{metrics}/metrics"))
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(response.status(), 200);
    assert!(
        header(&response, "content-type").is_some_and(|t| t.starts_with("text/plain")),
        "{:?}",
        response.headers()
    );
    let text = response.text().await.unwrap();
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string())))
        .expect("Prometheus text format");
    let requests = sample(
        &scrape,
        "hq_http_requests_total",
        &[("route", "/graphql"), ("method", "POST"), ("status", "200")],
    );
    assert!(requests.is_some_and(|n| n >= 1.0), "{text}");
    assert!(
        sample(&scrape, "hq_http_requests_total", &[("route", "/healthz")])
            .is_some_and(|n| n >= 1.0)
    );
    assert!(
        sample(
            &scrape,
            "hq_graphql_operations_total",
            &[
                ("operation", "MetricsDistricts"),
                ("type", "query"),
                ("outcome", "ok")
            ]
        )
        .is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert!(
        sample(&scrape, "hq_errors_total", &[("code", "BAD_USER_INPUT")]).is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert!(
        text.contains("hq_http_request_duration_seconds_bucket{"),
        "{text}"
    );
    assert!(sample(&scrape, "hq_db_pool_connections", &[("state", "open")]).is_some());
    assert_eq!(
        sample(&scrape, "hq_db_pool_max_connections", &[]),
        Some(5.0)
    );
    assert_eq!(
        sample(
            &scrape,
            "hq_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        Some(1.0)
    );
    assert!(
        sample(&scrape, "hq_import_rows_total", &[("outcome", "refused")])
            .is_some_and(|n| n >= 1.0),
        "{text}"
    );
    // (prometheus-parse does not read braces inside a label value; Prometheus does.)
    assert!(
        text.contains(
            "hq_http_requests_total{route=\"/imports/payments/{district}/{year}\",method=\"POST\",status=\"400\"} 1"
        ),
        "{text}"
    );
    // Paths are never labels: only route patterns.
    assert!(
        !text.contains("route=\"/exports/settlements/2024"),
        "{text}"
    );
    // The API's own port does not serve metrics.
    assert_eq!(app.get("/metrics").await.status(), 404);
}

#[tokio::test]
async fn text_logs_carry_the_request_span_and_no_colour_codes_when_not_on_a_terminal() {
    // Arrange
    let app = spawn_app().await;
    let service = Logged::start(&app.database_url, &app.secret, "text").await;

    // Act
    reqwest::Client::new()
        .get(format!("{}/healthz", service.base))
        .header("X-Request-Id", "text-1")
        .send()
        .await
        .unwrap();

    // Assert
    let mut line = None;
    for _ in 0..100 {
        line = service
            .lines
            .lock()
            .unwrap()
            .iter()
            .find(|l| l.contains("hq_api::access") && l.contains("request_id=text-1"))
            .cloned();
        if line.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let line = line.expect("an access line");
    assert!(line.contains("request{id=text-1}"), "{line}");
    assert!(
        line.contains("path=/healthz") && line.contains("status=200"),
        "{line}"
    );
    let all = service.lines.lock().unwrap().join("\n");
    assert!(
        !all.contains('\u{1b}'),
        "an ANSI escape in a log file: {all}"
    );
}
