//! hq-bench: the benchmark harness of hq-api, beside the service rather than inside it. Behind
//! `cargo run --release --bin bench`: a deterministic data set at a chosen scale ([`Scale`]), then
//! each scenario — a warm-up and several timed runs — compared with a floor measured in the same
//! run on the same database, with peak memory.
//!
//! It uses only what `hq-api` exports (its services, `Application`, the GraphQL endpoint over
//! HTTP) and the `policy` crate; the data set is written straight into the tables.
//!
//! Figures are reported, never asserted: the smoke test in `tests/smoke.rs` runs the harness at
//! `tiny` scale and checks only that every scenario reports.

/// The deterministic data set, written straight into the tables after the real migrations.
mod data;
/// A tiny blocking HTTP client for the load, and the floor server of the front-end list.
mod http;
/// Timing, statement counting and memory readings.
mod measure;
/// The scenarios, one file each, and what they share.
mod scenarios;

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr};

use hq_api::config::{Secret, Settings};
use hq_api::error::AppError;

pub use data::Scale;

/// The scenarios, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// `reconcile_year` for the claims of the fiscal year, and `reconcile_claim` claim by claim.
    Reconcile,
    /// `settlement::draft` from the stored verdicts.
    Draft,
    /// A district's CSV file through `csv_import::parse` and `payments::report`.
    CsvImport,
    /// The front-end list `enterprises(first: N)` over HTTP under 16 clients.
    HttpList,
    /// `recognize::evaluate` for N enterprises.
    Evaluate,
    /// The yearly round: every enterprise's verdict, streamed (`recognition::round`).
    Round,
    /// Start-up time, idle memory and binary size of the service.
    Startup,
    /// The same statements over TLS and over a plain link (PostgreSQL).
    Tls,
    /// `audit::verify` of the whole hash chain (runs last: it lengthens the chain).
    AuditVerify,
}

impl Scenario {
    /// Every scenario, in the order they run.
    pub const ALL: [Scenario; 9] = [
        Scenario::Reconcile,
        Scenario::Draft,
        Scenario::CsvImport,
        Scenario::HttpList,
        Scenario::Evaluate,
        Scenario::Round,
        Scenario::Startup,
        Scenario::Tls,
        Scenario::AuditVerify,
    ];
}

/// The names of the `result` lines a complete run prints, one per figure.
pub const RESULT_NAMES: [&str; 11] = [
    "reconcile",
    "draft",
    "csv-import",
    "http-list",
    "evaluate",
    "round",
    "startup",
    "idle-rss",
    "binary-size",
    "tls",
    "audit-verify",
];

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The data set's scale.
    pub scale: Scale,
    /// `sqlite` (a file in the temporary directory), `sqlite://FILE` or `postgres://…`. The
    /// database is emptied first; one holding data is emptied only if its name contains `bench`
    /// or with `force_wipe`.
    pub database: String,
    /// Timed runs per measurement (default: by scale).
    pub runs: Option<usize>,
    /// Warm-up runs per measurement (default: by scale).
    pub warmup: Option<usize>,
    /// Seconds of HTTP load per measurement (default: by scale).
    pub http_seconds: Option<f64>,
    /// Concurrent HTTP clients.
    pub clients: usize,
    /// The `hq-api` binary for start-up time and idle memory (default: next to this executable).
    pub service_binary: Option<PathBuf>,
    /// Empty the database even if it holds data and its name does not contain `bench`.
    pub force_wipe: bool,
    /// Only these scenarios (all when empty).
    pub only: Vec<Scenario>,
}

impl Options {
    /// The defaults for `scale` on `database`.
    pub fn new(scale: Scale, database: impl Into<String>) -> Self {
        Options {
            scale,
            database: database.into(),
            runs: None,
            warmup: None,
            http_seconds: None,
            clients: 16,
            service_binary: None,
            force_wipe: false,
            only: Vec::new(),
        }
    }
}

/// Why the harness stopped.
#[derive(Debug)]
pub struct BenchError(String);

impl BenchError {
    /// An error with this message.
    pub fn new(message: impl std::fmt::Display) -> Self {
        BenchError(message.to_string())
    }
}

impl std::fmt::Display for BenchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BenchError {}

impl From<AppError> for BenchError {
    fn from(err: AppError) -> Self {
        BenchError(format!("{err:?}"))
    }
}

impl From<DbErr> for BenchError {
    fn from(err: DbErr) -> Self {
        BenchError(format!("database: {err}"))
    }
}

impl From<std::io::Error> for BenchError {
    fn from(err: std::io::Error) -> Self {
        BenchError(format!("I/O: {err}"))
    }
}

impl From<policy::PolicyError> for BenchError {
    fn from(err: policy::PolicyError) -> Self {
        BenchError(format!("policy: {err}"))
    }
}

impl From<hq_api::db::ConnectError> for BenchError {
    fn from(err: hq_api::db::ConnectError) -> Self {
        BenchError(format!("database: {err}"))
    }
}

impl From<hq_api::startup::StartupError> for BenchError {
    fn from(err: hq_api::startup::StartupError) -> Self {
        BenchError(format!("start-up: {err}"))
    }
}

/// One figure of the summary: `result <name> <text>`.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// One of [`RESULT_NAMES`].
    pub name: &'static str,
    /// The figure, its floor, ratio and target.
    pub text: String,
}

/// The database name of a PostgreSQL URL.
fn database_name(url: &str) -> String {
    let base = url.split('?').next().unwrap_or(url);
    let after_scheme = base.find("://").map_or(base, |i| &base[i + 3..]);
    after_scheme
        .split_once('/')
        .map(|(_, name)| name.to_string())
        .unwrap_or_default()
}

/// The URL without a password, for printing.
fn redacted(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &url[s + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Resolves `database` to a URL, creating a missing PostgreSQL database and removing the
/// harness's own SQLite file.
async fn prepare_database(options: &Options) -> Result<(String, bool), BenchError> {
    let database = options.database.trim();
    if database == "sqlite" {
        let path = std::env::temp_dir().join(format!("hq-bench-{}.db", options.scale.name()));
        for suffix in ["", "-wal", "-shm"] {
            let file = PathBuf::from(format!("{}{suffix}", path.display()));
            if file.exists() {
                std::fs::remove_file(&file)?;
            }
        }
        return Ok((format!("sqlite://{}", path.display()), true));
    }
    if database.starts_with("sqlite:") {
        return Ok((database.to_string(), false));
    }
    if database.starts_with("postgres") {
        if sea_orm::Database::connect(database).await.is_err() {
            let name = database_name(database);
            let admin =
                sea_orm::Database::connect(hq_api::db::with_database(database, "postgres")).await?;
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{}\"", name.replace('"', "")))
                .await?;
            admin.close().await?;
        }
        return Ok((database.to_string(), false));
    }
    Err(BenchError::new(format!(
        "unknown database `{database}`: give sqlite, sqlite://FILE or postgres://USER@HOST:PORT/DB"
    )))
}

/// Refuses to empty a database that holds enterprises unless it is the harness's (its name
/// contains `bench`) or `force_wipe` is set.
async fn check_wipe(
    db: &DatabaseConnection,
    url: &str,
    own: bool,
    force: bool,
) -> Result<(), BenchError> {
    if own || force {
        return Ok(());
    }
    let rows = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM enterprises",
        ))
        .await;
    let count = match rows {
        Ok(Some(row)) => row.try_get::<i64>("", "n").unwrap_or(0),
        _ => 0, // no table yet: nothing to lose
    };
    let name = if url.starts_with("postgres") {
        database_name(url)
    } else {
        url.to_string()
    };
    if count > 0 && !name.contains("bench") {
        return Err(BenchError::new(format!(
            "{} holds {count} enterprises and its name does not contain `bench`: refusing to \
             empty it (pass --force-wipe to do it anyway)",
            redacted(url)
        )));
    }
    Ok(())
}

/// Runs the harness: prepares the database, generates the data set, runs the scenarios and
/// prints each figure to `out`, then a summary of `result` lines.
///
/// # Errors
/// Database, start-up and I/O errors; a scenario whose service call fails.
pub async fn run(
    options: Options,
    out: &mut (dyn Write + Send),
) -> Result<Vec<Outcome>, BenchError> {
    let size = options.scale.size();
    let (url, own) = prepare_database(&options).await?;
    let secret: String = {
        let mut rng = rand::thread_rng();
        (0..48)
            .map(|_| char::from(b'a' + rng.gen_range(0..26u8)))
            .collect()
    };
    let settings = Settings {
        bind: "127.0.0.1:0".into(),
        database_url: url.clone(),
        jwt_secret: Some(Secret::new(secret.clone())),
        log: "warn".into(),
        ..Settings::default()
    };
    let mut db = hq_api::db::connect(&settings).await?;
    let counter = measure::Counter::attach(&mut db);
    check_wipe(&db, &url, own, options.force_wipe).await?;

    let backend = match db.get_database_backend() {
        DbBackend::Postgres => "PostgreSQL",
        DbBackend::Sqlite => "SQLite",
        _ => "other",
    };
    let warmup = options.warmup.unwrap_or(size.warmup);
    let runs = options.runs.unwrap_or(size.runs).max(1);
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    writeln!(
        out,
        "hq-api bench: scale {}, {backend} at {}, {cores} cores, {warmup} warm-up + {runs} timed runs per measurement{}",
        options.scale.name(),
        redacted(&url),
        if cfg!(debug_assertions) {
            " [DEBUG BUILD: figures are not representative; use --release]"
        } else {
            ""
        }
    )?;

    if url.starts_with("postgres") && !url.contains("sslmode=") {
        writeln!(
            out,
            "note: no sslmode in the URL: sqlx prefers TLS, so every scenario runs over TLS when \
             the server offers it, as production should; the tls scenario prints its cost."
        )?;
    }
    data::reset(&db).await?;
    let set = data::generate(&db, options.scale, out).await?;

    let mut ctx = scenarios::Ctx {
        db,
        counter: Arc::clone(&counter),
        settings,
        secret,
        set,
        scale: options.scale,
        size,
        warmup,
        runs,
        clients: options.clients.max(1),
        http: Duration::from_secs_f64(options.http_seconds.unwrap_or(size.http_seconds).max(0.1)),
        service_binary: options.service_binary.clone(),
        out,
    };
    let chosen = |s: Scenario| options.only.is_empty() || options.only.contains(&s);
    let mut outcomes = Vec::new();
    for scenario in Scenario::ALL {
        if !chosen(scenario) {
            continue;
        }
        let result = match scenario {
            Scenario::Reconcile => scenarios::reconcile::run(&mut ctx).await?,
            Scenario::Draft => {
                if !chosen(Scenario::Reconcile) {
                    scenarios::reconcile::once(&ctx).await?;
                }
                scenarios::draft::run(&mut ctx).await?
            }
            Scenario::CsvImport => scenarios::csv_import::run(&mut ctx).await?,
            Scenario::HttpList => scenarios::http_list::run(&mut ctx).await?,
            Scenario::Evaluate => scenarios::evaluate::run(&mut ctx).await?,
            Scenario::Round => scenarios::round::run(&mut ctx).await?,
            Scenario::Startup => scenarios::startup::run(&mut ctx).await?,
            Scenario::Tls => scenarios::tls::run(&mut ctx).await?,
            Scenario::AuditVerify => scenarios::audit_verify::run(&mut ctx).await?,
        };
        outcomes.extend(result);
    }
    writeln!(
        ctx.out,
        "\n== summary ({}, {backend})",
        options.scale.name()
    )?;
    for outcome in &outcomes {
        writeln!(ctx.out, "result {:<12} {}", outcome.name, outcome.text)?;
    }
    ctx.out.flush()?;
    Ok(outcomes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_postgres_url_names_its_database_and_hides_its_password() {
        let url = "postgres://bench:secret@127.0.0.1:5432/bench?sslmode=disable";
        assert_eq!(database_name(url), "bench");
        assert_eq!(
            hq_api::db::with_database(url, "postgres"),
            "postgres://bench:secret@127.0.0.1:5432/postgres?sslmode=disable"
        );
        assert_eq!(
            redacted(url),
            "postgres://bench:***@127.0.0.1:5432/bench?sslmode=disable"
        );
        assert_eq!(
            redacted("postgres://postgres@127.0.0.1/x"),
            "postgres://postgres@127.0.0.1/x"
        );
    }
}
