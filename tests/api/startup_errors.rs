//! Start-up errors a person can act on: the `hq-api` binary exits non-zero with one line on
//! standard error (no Debug dump, no password) when the database URL, file or server is wrong,
//! and `serve` starts anyway when its database is merely down or not created yet, answering 503
//! until a background task gets it ready. Cases that need a PostgreSQL server run only with
//! `TEST_DATABASE_URL`.

use std::process::Command;
use std::time::Duration;

use hq_api::auth::Role;
use hq_api::startup::Application;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::helpers::{TestDatabase, random_suffix, test_settings};

/// A PostgreSQL URL nothing listens on (port 1 refuses at once).
const UNREACHABLE: &str = "postgres://postgres@127.0.0.1:1/hq";

/// What the binary printed and how it ended.
struct Run {
    success: bool,
    stderr: String,
}

/// Runs the `hq-api` binary with `args` and `env` in a scratch directory.
fn run_binary(args: &[&str], env: &[(&str, &str)]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_hq-api"));
    command
        .args(args)
        .current_dir(dir.path())
        .env_remove("HQ_DATABASE_URL")
        .env_remove("HQ_CREATE_DATABASE")
        .env("HQ_BIND", "127.0.0.1:0")
        .env(
            "HQ_JWT_SECRET",
            "startup-errors-secret-of-at-least-32-bytes",
        );
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().expect("the hq-api binary runs");
    Run {
        success: output.status.success(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The one line an operator reads, checked for what must never be in it.
fn the_one_line(run: &Run) -> &str {
    assert!(!run.success, "expected a failure, stderr: {}", run.stderr);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr: {:?}", run.stderr);
    let line = lines[0];
    assert!(line.starts_with("hq-api: "), "{line}");
    for debug in ["Conn(", "SqlxError", "PgDatabaseError", "Database(", "{ "] {
        assert!(!line.contains(debug), "no Debug dump ({debug}): {line}");
    }
    line
}

/// The admin URL of the PostgreSQL server the suite uses, if any.
fn postgres_admin_url() -> Option<String> {
    std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|url| url.starts_with("postgres"))
}

/// `admin_url` naming database `name` instead.
fn with_database(admin_url: &str, name: &str) -> String {
    let (base, query) = admin_url.split_once('?').unwrap_or((admin_url, ""));
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    if query.is_empty() {
        format!("{base}/{name}")
    } else {
        format!("{base}/{name}?{query}")
    }
}

/// A database name on the server that does not exist (yet), dropped when the guard goes.
fn missing_database(admin_url: &str) -> (String, String, TestDatabase) {
    let name = format!("hq_startup_{}", random_suffix());
    let guard = TestDatabase::Postgres {
        admin_url: admin_url.to_string(),
        name: name.clone(),
    };
    (with_database(admin_url, &name), name, guard)
}

async fn database_exists(admin_url: &str, name: &str) -> bool {
    let admin = sea_orm::Database::connect(admin_url).await.unwrap();
    let row = admin
        .query_one_raw(Statement::from_sql_and_values(
            admin.get_database_backend(),
            "SELECT 1 AS one FROM pg_database WHERE datname = $1",
            [name.into()],
        ))
        .await
        .unwrap();
    admin.close().await.unwrap();
    row.is_some()
}

#[test]
fn migrate_names_a_missing_postgres_database_and_the_createdb_command() {
    let Some(admin_url) = postgres_admin_url() else {
        eprintln!("skipped: needs TEST_DATABASE_URL (PostgreSQL)");
        return;
    };
    let (url, name, _guard) = missing_database(&admin_url);
    let run = run_binary(&["migrate"], &[("HQ_DATABASE_URL", &url)]);
    let line = the_one_line(&run);
    assert!(line.contains(&format!("`{name}` does not exist")), "{line}");
    assert!(
        line.contains(&format!("createdb -h 127.0.0.1 -p 5432 -U postgres {name}")),
        "{line}"
    );
    assert!(line.contains("HQ_CREATE_DATABASE=true"), "{line}");
}

#[tokio::test]
async fn migrate_with_hq_create_database_creates_the_missing_database() {
    let Some(admin_url) = postgres_admin_url() else {
        eprintln!("skipped: needs TEST_DATABASE_URL (PostgreSQL)");
        return;
    };
    let (url, name, _guard) = missing_database(&admin_url);
    let run = run_binary(
        &["migrate"],
        &[("HQ_DATABASE_URL", &url), ("HQ_CREATE_DATABASE", "true")],
    );
    assert!(run.success, "migrate succeeds: {}", run.stderr);
    assert!(database_exists(&admin_url, &name).await);
    // Migrated and seeded: the 13 districts are there.
    let db = sea_orm::Database::connect(&url).await.unwrap();
    assert_eq!(
        hq_api::services::districts::list(&db).await.unwrap().len(),
        13
    );
    db.close().await.unwrap();

    // A second run finds it and changes nothing.
    let again = run_binary(
        &["migrate"],
        &[("HQ_DATABASE_URL", &url), ("HQ_CREATE_DATABASE", "true")],
    );
    assert!(again.success, "{}", again.stderr);
}

#[test]
fn migrate_with_the_database_down_fails_with_the_cause() {
    let run = run_binary(&["migrate"], &[("HQ_DATABASE_URL", UNREACHABLE)]);
    let line = the_one_line(&run);
    assert!(
        line.contains("PostgreSQL at 127.0.0.1:1 is not accepting connections"),
        "{line}"
    );
    assert!(line.to_lowercase().contains("refused"), "{line}");
}

#[test]
fn a_malformed_url_stops_serve_with_one_line_and_no_password() {
    for url in [
        "postgres://hq:s3cr3t-pw@127.0.0.1:notaport/hq",
        "mysql://hq:s3cr3t-pw@127.0.0.1/hq",
    ] {
        let run = run_binary(&["serve"], &[("HQ_DATABASE_URL", url)]);
        let line = the_one_line(&run);
        assert!(line.contains("HQ_DATABASE_URL `"), "{line}");
        assert!(line.contains("hq:***@"), "{line}");
        assert!(
            !line.contains("s3cr3t-pw"),
            "the password never shows: {line}"
        );
    }
}

#[test]
fn a_sqlite_file_in_a_missing_directory_stops_serve_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("absent").join("hq.db");
    let url = format!("sqlite://{}", file.display());
    let run = run_binary(&["serve"], &[("HQ_DATABASE_URL", &url)]);
    let line = the_one_line(&run);
    assert!(
        line.contains(&format!(
            "`{}` cannot be opened for writing",
            file.display()
        )),
        "{line}"
    );
}

#[test]
fn an_unreadable_jwks_file_or_a_jwks_without_issuer_stops_serve_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jwks.json");
    let path = file.display().to_string();
    let missing = run_binary(
        &["serve"],
        &[
            ("HQ_JWKS_FILE", &path),
            ("HQ_JWKS_ISSUER", "https://sso.example.org"),
        ],
    );
    let line = the_one_line(&missing);
    assert!(line.contains(&format!("JWKS file {path}")), "{line}");
    let no_issuer = run_binary(&["serve"], &[("HQ_JWKS_FILE", &path)]);
    let line = the_one_line(&no_issuer);
    assert!(line.contains("HQ_JWKS_ISSUER"), "{line}");
}

#[test]
fn a_sqlite_path_under_a_regular_file_stops_migrate() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let url = format!("sqlite://{}/hq.db", file.path().display());
    let run = run_binary(&["migrate"], &[("HQ_DATABASE_URL", &url)]);
    let line = the_one_line(&run);
    assert!(line.contains("is not a directory"), "{line}");
}

/// A server built on `database_url` with the test settings, and its address.
async fn serve_on(database_url: &str) -> String {
    let settings = test_settings(database_url, "startup-errors-secret-of-at-least-32-bytes");
    let app = Application::build(settings)
        .await
        .expect("serve starts without its database");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    address
}

async fn readyz(client: &reqwest::Client, address: &str) -> (u16, Value) {
    let response = client
        .get(format!("{address}/readyz"))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn post_graphql(
    client: &reqwest::Client,
    address: &str,
    token: Option<&str>,
    query: &str,
) -> (u16, Value) {
    let mut request = client
        .post(format!("{address}/graphql"))
        .json(&json!({ "query": query }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn serve_with_its_database_unreachable_starts_and_answers_503_with_the_reason() {
    let address = serve_on(UNREACHABLE).await;
    let client = reqwest::Client::new();

    let alive = client
        .get(format!("{address}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(alive.status().as_u16(), 200);
    let (status, body) = readyz(&client, &address).await;
    assert_eq!(status, 503);
    assert_eq!(body["reason"], "database unreachable", "{body}");
    assert!(
        !body.to_string().contains("127.0.0.1"),
        "no address in /readyz: {body}"
    );

    let (status, body) = post_graphql(&client, &address, None, "{ districts { code } }").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "SERVICE_UNAVAILABLE",
        "{body}"
    );
    let export = client
        .get(format!("{address}/exports/settlements/2024.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(export.status().as_u16(), 503);
    // The GraphiQL page needs no database.
    let page = client
        .get(format!("{address}/graphql"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
}

#[tokio::test]
async fn serve_becomes_ready_once_its_database_is_created() {
    let Some(admin_url) = postgres_admin_url() else {
        eprintln!("skipped: needs TEST_DATABASE_URL (PostgreSQL)");
        return;
    };
    let (url, name, _guard) = missing_database(&admin_url);
    let address = serve_on(&url).await;
    let client = reqwest::Client::new();
    let (status, body) = readyz(&client, &address).await;
    assert_eq!(status, 503);
    assert_eq!(body["reason"], "database does not exist", "{body}");

    let admin = sea_orm::Database::connect(&admin_url).await.unwrap();
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .unwrap();
    admin.close().await.unwrap();

    // The background task retries after 1 s, then 2 s, 4 s…: ready well within 20 s.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = readyz(&client, &address).await;
        if status == 200 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never ready: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Migrated, seeded, and the districts known: a district's token is accepted.
    let keys = hq_api::auth::JwtKeys::hs256(&hq_api::config::Secret::new(
        "startup-errors-secret-of-at-least-32-bytes",
    ));
    let token = keys
        .mint(
            "test:district",
            Role::District,
            Some("330106"),
            chrono::Duration::hours(1),
        )
        .unwrap();
    let (status, body) = post_graphql(
        &client,
        &address,
        Some(&token),
        "{ me { district { code } } districts { code } }",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(body["data"]["me"]["district"]["code"], "330106");
    assert_eq!(body["data"]["districts"].as_array().unwrap().len(), 13);
}
