//! `bench`: the benchmark harness. Generates a deterministic data set at a scale, runs every
//! scenario against its floor measured in the same run on the same database, and prints the
//! figures. See the README's "Benchmarks" section.
//!
//! ```sh
//! cargo run --release --bin bench -- --scale city --db sqlite
//! cargo run --release --bin bench -- --scale city --db postgres://postgres@127.0.0.1:5432/bench
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use hq_bench::{Options, Scale, Scenario};

/// Benchmark hq-api at a scale, against floors measured in the same run.
#[derive(Debug, Parser)]
#[command(name = "bench", about, long_about = None)]
struct Args {
    /// Data set: tiny (smoke test), city (Hangzhou) or national.
    #[arg(long, value_enum, default_value = "city")]
    scale: Scale,
    /// `sqlite` (a file in the temporary directory), `sqlite://FILE` or `postgres://USER@HOST:PORT/DB`
    /// (created if missing). The database is emptied first.
    #[arg(long, default_value = "sqlite")]
    db: String,
    /// Timed runs per measurement (default: 3 tiny, 5 city, 2 national).
    #[arg(long)]
    runs: Option<usize>,
    /// Warm-up runs per measurement (default: 1).
    #[arg(long)]
    warmup: Option<usize>,
    /// Seconds of HTTP load per measurement (default: 2 tiny, 20 otherwise).
    #[arg(long)]
    http_seconds: Option<f64>,
    /// Concurrent HTTP clients.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// The hq-api binary for start-up time and idle memory (default: next to this one).
    #[arg(long)]
    service_binary: Option<PathBuf>,
    /// Empty the database even if it holds data and its name does not contain `bench`.
    #[arg(long)]
    force_wipe: bool,
    /// Run only these scenarios (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<Scenario>,
}

// The service's allocator (src/main.rs), so the in-process scenarios measure what it runs.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    hq_api::telemetry::init("warn", hq_api::config::LogFormat::Text);
    let options = Options {
        runs: args.runs,
        warmup: args.warmup,
        http_seconds: args.http_seconds,
        clients: args.clients,
        service_binary: args.service_binary,
        force_wipe: args.force_wipe,
        only: args.only,
        ..Options::new(args.scale, args.db)
    };
    let mut out = std::io::stdout();
    match hq_bench::run(options, &mut out).await {
        Ok(_) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("bench: {err}");
            ExitCode::FAILURE
        }
    }
}
