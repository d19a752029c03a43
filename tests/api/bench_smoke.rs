//! The benchmark harness runs end to end at `tiny` scale on the test's database and reports
//! every figure. No time is asserted: benchmarks are benchmarks, never timed assertions.

use hq_api::bench::{self, Options, RESULT_NAMES, Scale};

use crate::helpers::spawn_app;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_benchmark_harness_runs_every_scenario_at_tiny_scale() {
    // Arrange: a fresh database (SQLite, or PostgreSQL with TEST_DATABASE_URL).
    let app = spawn_app().await;
    let options = Options {
        runs: Some(1),
        warmup: Some(0),
        http_seconds: Some(1.0),
        service_binary: Some(env!("CARGO_BIN_EXE_hq-api").into()),
        // The test database is fresh but its name does not say `bench`.
        force_wipe: true,
        ..Options::new(Scale::Tiny, app.database_url.clone())
    };

    // Act
    let mut out = Vec::new();
    let outcomes = bench::run(options, &mut out).await;
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
