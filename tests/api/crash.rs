//! A write acknowledged to the client survives `kill -9` of hq-api and an immediate restart.
//! Four clients send 200 idempotent reports (one voucher each), retrying until acknowledged,
//! while the process is killed with SIGKILL several times and restarted; afterwards every voucher
//! is present exactly once and the total is exact. Runs against the database the suite uses
//! (SQLite file, or a fresh PostgreSQL database with `TEST_DATABASE_URL`).

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hq_api::auth::Role;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::helpers::{becomes_ready, free_port, register_enterprise, spawn_app};

const WRITES: usize = 200;
const KILLS: usize = 4;
const CODE: &str = "91330100716105852F";

struct Service {
    child: Option<Child>,
    port: u16,
    database_url: String,
    secret: String,
}

impl Service {
    fn start(&mut self) {
        let child = Command::new(env!("CARGO_BIN_EXE_hq-api"))
            .arg("serve")
            .env("HQ_BIND", format!("127.0.0.1:{}", self.port))
            .env("HQ_DATABASE_URL", &self.database_url)
            .env("HQ_JWT_SECRET", &self.secret)
            .env("HQ_WORKERS", "2")
            .env("HQ_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the hq-api binary starts");
        self.child = Some(child);
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill(); // SIGKILL
            let _ = child.wait();
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.kill();
    }
}

fn amount(i: usize) -> String {
    format!("{}.{:02}", i + 1, (i * 7) % 100)
}

#[tokio::test]
async fn acknowledged_writes_survive_kill_9_and_restart() {
    // The in-process app gives a fresh database (migrated and seeded) and a secret.
    let app = spawn_app().await;
    register_enterprise(&app, CODE, "杭州崩溃测试有限公司", "330106").await;
    let token = app.token(Role::District, Some("330106"));

    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let service = Arc::new(Mutex::new(Service {
        child: None,
        port,
        database_url: app.database_url.clone(),
        secret: app.secret.clone(),
    }));
    service.lock().await.start();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    assert!(
        becomes_ready(&client, &base).await,
        "hq-api did not become ready"
    );

    // The killer: SIGKILL whenever another fifth of the writes is acknowledged, so the kills
    // land while writes are in flight; restart at once.
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let killer = {
        let service = service.clone();
        let acknowledged = acknowledged.clone();
        tokio::spawn(async move {
            for k in 1..=KILLS {
                while acknowledged.load(Ordering::SeqCst) < k * WRITES / (KILLS + 1) {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                let mut s = service.lock().await;
                s.kill();
                s.start();
            }
        })
    };

    let query = "mutation($l: [PaymentLineInput!]!) { reportPayments(districtCode: \"330106\", fiscalYear: 2024, lines: $l) { created { voucherNo } unchanged { voucherNo } } }";
    let mut workers = Vec::new();
    for w in 0..4usize {
        let client = client.clone();
        let base = base.clone();
        let token = token.clone();
        let acknowledged = acknowledged.clone();
        workers.push(tokio::spawn(async move {
            let mut attempts = 0usize;
            for i in (w..WRITES).step_by(4) {
                let line = json!({
                    "creditCode": CODE, "kind": "RENT", "subsidyYear": 2024, "contractNo": "L-1",
                    "basis": "100000.00", "amount": amount(i), "paymentDate": "2024-05-01",
                    "voucherNo": format!("K-{i:04}"),
                });
                loop {
                    attempts += 1;
                    assert!(attempts < 20_000, "writes never got through");
                    let sent = client
                        .post(format!("{base}/graphql"))
                        .bearer_auth(&token)
                        .json(&json!({ "query": query, "variables": { "l": [line.clone()] } }))
                        .send()
                        .await;
                    let Ok(response) = sent else {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    };
                    let Ok(body) = response.json::<Value>().await else {
                        continue;
                    };
                    if body.get("errors").is_none() {
                        acknowledged.fetch_add(1, Ordering::SeqCst);
                        break; // acknowledged
                    }
                    let code = body["errors"][0]["extensions"]["code"].as_str();
                    assert_eq!(
                        code,
                        Some("SERVICE_UNAVAILABLE"),
                        "unexpected refusal: {body}"
                    );
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }));
    }
    for worker in workers {
        worker.await.unwrap();
    }
    killer.await.unwrap();
    assert_eq!(acknowledged.load(Ordering::SeqCst), WRITES);

    // Restart once more and check what is stored.
    {
        let mut s = service.lock().await;
        s.kill();
        s.start();
    }
    assert!(
        becomes_ready(&client, &base).await,
        "hq-api did not become ready"
    );
    let finance = app.token_for(Role::CityFinance);
    let mut vouchers = Vec::new();
    let mut total = Decimal::ZERO;
    let mut after: Option<String> = None;
    loop {
        let body: Value = client
            .post(format!("{base}/graphql"))
            .bearer_auth(&finance)
            .json(&json!({
                "query": "query($a: String) { paymentLines(districtCode: \"330106\", fiscalYear: 2024, first: 100, after: $a) { totalCount pageInfo { hasNextPage endCursor } nodes { voucherNo amount } } }",
                "variables": { "a": after },
            }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let page = &body["data"]["paymentLines"];
        assert_eq!(page["totalCount"], WRITES, "{body}");
        for node in page["nodes"].as_array().unwrap() {
            vouchers.push(node["voucherNo"].as_str().unwrap().to_string());
            total += node["amount"].as_str().unwrap().parse::<Decimal>().unwrap();
        }
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page["pageInfo"]["endCursor"].as_str().map(str::to_string);
    }
    vouchers.sort();
    let expected: Vec<String> = (0..WRITES).map(|i| format!("K-{i:04}")).collect();
    assert_eq!(
        vouchers, expected,
        "every acknowledged voucher exactly once"
    );
    let expected_total: Decimal = (0..WRITES)
        .map(|i| amount(i).parse::<Decimal>().unwrap())
        .sum();
    assert_eq!(total, expected_total);
}

/// SIGTERM lets a request already in flight finish before the process exits: the body of a
/// request is still arriving when the signal comes, and its answer is complete.
#[tokio::test]
async fn sigterm_drains_the_request_in_flight_before_exit() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let app = spawn_app().await;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut service = Service {
        child: None,
        port,
        database_url: app.database_url.clone(),
        secret: app.secret.clone(),
    };
    service.start();
    let client = reqwest::Client::new();
    assert!(
        becomes_ready(&client, &base).await,
        "hq-api did not become ready"
    );

    let token = app.token_for(Role::Viewer);
    let body = r#"{"query":"{ districts { code } }"}"#;
    let (first, rest) = body.split_at(10);
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(first.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let pid = service.child.as_ref().unwrap().id();
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    tokio::time::sleep(Duration::from_millis(300)).await;

    stream.write_all(rest.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer.contains("330182"),
        "the whole answer arrived: {answer}"
    );

    // And the process then exits by itself, cleanly.
    let mut child = service.child.take().unwrap();
    for _ in 0..100 {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "exit status {status}");
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    panic!("hq-api did not exit after SIGTERM");
}

fn run(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Kills every PostgreSQL process with SIGKILL and starts the cluster again (crash recovery).
async fn crash_postgres() {
    run("pkill", &["-9", "-x", "postgres"]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let version = std::fs::read_dir("/etc/postgresql")
        .ok()
        .and_then(|mut d| d.next())
        .and_then(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .unwrap_or_else(|| "15".into());
    for _ in 0..20 {
        if run(
            "pg_ctlcluster",
            &["--skip-systemctl-redirect", &version, "main", "start"],
        ) || run("pg_isready", &["-h", "127.0.0.1", "-q"])
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    for _ in 0..100 {
        if run("pg_isready", &["-h", "127.0.0.1", "-q"]) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("PostgreSQL did not come back");
}

/// A write acknowledged to the client survives `kill -9` of PostgreSQL itself. It kills the
/// whole server, so it runs only when asked: `HQ_CRASH_POSTGRES=1` with `TEST_DATABASE_URL`, on
/// its own (`.ci/run` runs it after the PostgreSQL suite).
#[tokio::test]
async fn acknowledged_writes_survive_kill_9_of_postgres() {
    if std::env::var("HQ_CRASH_POSTGRES").as_deref() != Ok("1")
        || std::env::var("TEST_DATABASE_URL").is_err()
    {
        eprintln!("skipped: set HQ_CRASH_POSTGRES=1 and TEST_DATABASE_URL to crash PostgreSQL");
        return;
    }
    let app = spawn_app().await;
    register_enterprise(&app, CODE, "杭州数据库崩溃测试有限公司", "330106").await;
    let token = app.token(Role::District, Some("330106"));
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let killer = {
        let acknowledged = acknowledged.clone();
        tokio::spawn(async move {
            for k in 1..=2usize {
                while acknowledged.load(Ordering::SeqCst) < k * WRITES / 3 {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                crash_postgres().await;
            }
        })
    };
    let query = "mutation($l: [PaymentLineInput!]!) { reportPayments(districtCode: \"330106\", fiscalYear: 2024, lines: $l) { created { voucherNo } } }";
    let mut workers = Vec::new();
    for w in 0..4usize {
        let client = app.client.clone();
        let url = format!("{}/graphql", app.address);
        let token = token.clone();
        let acknowledged = acknowledged.clone();
        workers.push(tokio::spawn(async move {
            for i in (w..WRITES).step_by(4) {
                let line = json!({
                    "creditCode": CODE, "kind": "RENT", "subsidyYear": 2024, "contractNo": "L-1",
                    "basis": "100000.00", "amount": amount(i), "paymentDate": "2024-05-01",
                    "voucherNo": format!("P-{i:04}"),
                });
                for attempt in 0.. {
                    assert!(attempt < 2_000, "writes never got through");
                    let Ok(response) = client
                        .post(&url)
                        .bearer_auth(&token)
                        .json(&json!({ "query": query, "variables": { "l": [line.clone()] } }))
                        .send()
                        .await
                    else {
                        continue;
                    };
                    let body: Value = response.json().await.unwrap();
                    if body.get("errors").is_none() {
                        acknowledged.fetch_add(1, Ordering::SeqCst);
                        break;
                    }
                    let code = body["errors"][0]["extensions"]["code"].as_str();
                    assert!(
                        matches!(code, Some("SERVICE_UNAVAILABLE")),
                        "unexpected refusal: {body}"
                    );
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }));
    }
    for worker in workers {
        worker.await.unwrap();
    }
    killer.await.unwrap();
    let res = app
        .gql_as(
            Role::CityFinance,
            "{ paymentLines(districtCode: \"330106\", fiscalYear: 2024, first: 500) { totalCount nodes { voucherNo amount } } }",
            json!({}),
        )
        .await;
    let page = &res.data()["paymentLines"];
    assert_eq!(page["totalCount"], WRITES);
    let total: Decimal = page["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["amount"].as_str().unwrap().parse::<Decimal>().unwrap())
        .sum();
    let expected: Decimal = (0..WRITES)
        .map(|i| amount(i).parse::<Decimal>().unwrap())
        .sum();
    assert_eq!(total, expected);
}
