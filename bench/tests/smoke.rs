//! The benchmark harness runs end to end at `tiny` scale on a fresh database and reports every
//! figure. No time is asserted: benchmarks are benchmarks, never timed assertions.
//!
//! The database is a SQLite file in a temporary directory or, when `TEST_DATABASE_URL` names a
//! PostgreSQL server, a fresh database on it that is dropped afterwards (`tests/support/database.rs`,
//! shared with the service's API tests).

use std::path::PathBuf;

use hq_bench::{Options, RESULT_NAMES, Scale};

#[path = "../../tests/support/database.rs"]
mod database;

use database::fresh_database;

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
    let (database_url, _db) = fresh_database("hq_bench_smoke").await;
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
