//! The benchmark harness runs end to end at `tiny` scale on a fresh database and reports every
//! figure. No time is asserted: benchmarks are benchmarks, never timed assertions.
//!
//! The database is a SQLite file in a temporary directory or, when `TEST_DATABASE_URL` names a
//! PostgreSQL server, a fresh database on it that is dropped afterwards (as `tests/api/helpers.rs`
//! of the service does).

use std::path::PathBuf;

use hq_bench::{Options, RESULT_NAMES, Scale};
use rand::Rng;
use sea_orm::ConnectionTrait;

/// A database of this test's own, removed when dropped.
enum TestDatabase {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let TestDatabase::Postgres { admin_url, name } = self {
            let admin_url = admin_url.clone();
            let name = name.clone();
            // Drop runs inside the test's runtime: do the async cleanup on a thread of its own.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("cleanup runtime");
                runtime.block_on(async move {
                    if let Ok(admin) = sea_orm::Database::connect(&admin_url).await {
                        let _ = admin
                            .execute_unprepared(&format!(
                                "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                            ))
                            .await;
                        let _ = admin.close().await;
                    }
                });
            })
            .join();
        }
    }
}

/// Replaces the database name of a PostgreSQL URL.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// A fresh database and its URL.
async fn fresh_database() -> (String, TestDatabase) {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => {
            let suffix: String = {
                let mut rng = rand::thread_rng();
                (0..12)
                    .map(|_| char::from(b'a' + rng.gen_range(0..26u8)))
                    .collect()
            };
            let name = format!("hq_bench_smoke_{suffix}");
            let admin = sea_orm::Database::connect(&url)
                .await
                .expect("TEST_DATABASE_URL must be reachable");
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .expect("create test database");
            admin.close().await.expect("close admin connection");
            (
                with_database(&url, &name),
                TestDatabase::Postgres {
                    admin_url: url,
                    name,
                },
            )
        }
        _ => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}", dir.path().join("bench.db").display());
            (url, TestDatabase::Sqlite(dir))
        }
    }
}

/// The service binary of this build, when it has been built: `target/<profile>/hq-api`, beside
/// the `deps/` directory this test runs from. A plain `cargo test` at the workspace root builds
/// it (the service's own tests need it); `cargo test -p hq-bench` alone uses the last one built,
/// if any, and without one the start-up scenario measures the service in process only.
fn service_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let binary = exe
        .parent()?
        .parent()?
        .join(format!("hq-api{}", std::env::consts::EXE_SUFFIX));
    binary.exists().then_some(binary)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_benchmark_harness_runs_every_scenario_at_tiny_scale() {
    // Arrange: a fresh database (SQLite, or PostgreSQL with TEST_DATABASE_URL).
    let (database_url, _db) = fresh_database().await;
    let options = Options {
        runs: Some(1),
        warmup: Some(0),
        http_seconds: Some(1.0),
        service_binary: service_binary(),
        ..Options::new(Scale::Tiny, database_url)
    };

    // Act
    let mut out = Vec::new();
    let outcomes = hq_bench::run(options, &mut out).await;
    let text = String::from_utf8_lossy(&out);
    println!("{text}");

    // Assert
    let outcomes = outcomes.unwrap_or_else(|e| panic!("the harness failed: {e}\n{text}"));
    for name in RESULT_NAMES {
        assert!(
            text.lines()
                .any(|line| line.starts_with(&format!("result {name} "))),
            "no `result {name}` line in:\n{text}"
        );
        assert!(outcomes.iter().any(|o| o.name == name), "no outcome {name}");
    }
}
