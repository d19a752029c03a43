//! Prometheus metrics: what the service counts, under which names and labels, and the listener
//! that serves them (`GET /metrics` on `HQ_METRICS_BIND`, apart from the API's own port).
//!
//! Labels are bounded: routes are the route patterns (`/imports/payments/{district}/{year}`),
//! never the paths; error codes and outcomes are closed sets; GraphQL operation names are kept
//! for the first [`MAX_OPERATION_NAMES`] distinct valid names, and any other is counted as
//! `other` (an unnamed operation is `anonymous`). Without a listener no recorder is installed and
//! every count is a no-op.

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::sync::{Mutex, OnceLock};

use actix_web::{App, HttpResponse, HttpServer, web};
use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sea_orm::DatabaseConnection;

/// HTTP requests answered, by `route`, `method` and `status`.
pub const HTTP_REQUESTS: &str = "hq_http_requests_total";
/// Seconds from request to response, by `route` (a histogram).
pub const HTTP_DURATION: &str = "hq_http_request_duration_seconds";
/// GraphQL operations executed, by `operation` (name), `type` and `outcome` (`ok` or `error`).
pub const GRAPHQL_OPERATIONS: &str = "hq_graphql_operations_total";
/// Errors returned to clients, by `code` (`extensions.code`).
pub const ERRORS: &str = "hq_errors_total";
/// Database connections of the pool, by `state` (`open`, `idle`, `in_use`), read at each scrape.
pub const DB_POOL_CONNECTIONS: &str = "hq_db_pool_connections";
/// The pool's configured maximum.
pub const DB_POOL_MAX: &str = "hq_db_pool_max_connections";
/// Requests that waited for a pooled connection longer than `HQ_DB_ACQUIRE_TIMEOUT`.
pub const DB_ACQUIRE_TIMEOUTS: &str = "hq_db_acquire_timeouts_total";
/// Database statements slower than `HQ_DB_SLOW_STATEMENT`.
pub const DB_SLOW_STATEMENTS: &str = "hq_db_slow_statements_total";
/// Mutations answered from a stored `Idempotency-Key` response instead of being run again.
pub const IDEMPOTENT_REPLAYS: &str = "hq_idempotent_replays_total";
/// Rows of payment imports, by `outcome` (`accepted`, `refused`).
pub const IMPORT_ROWS: &str = "hq_import_rows_total";
/// Always 1, labelled with the `version` and the `git` commit of the build.
pub const BUILD_INFO: &str = "hq_build_info";

/// Most distinct GraphQL operation names kept as labels.
pub const MAX_OPERATION_NAMES: usize = 200;

/// Bucket bounds of [`HTTP_DURATION`], in seconds.
const DURATION_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process's recorder once and returns its handle (later calls return the same).
///
/// # Errors
/// When another recorder is already installed in the process.
fn recorder() -> Result<&'static PrometheusHandle, String> {
    static INSTALL: Mutex<()> = Mutex::new(());
    let _guard = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(handle) = HANDLE.get() {
        return Ok(handle);
    }
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.into()), &DURATION_BUCKETS)
        .map_err(|e| format!("metrics: {e}"))?
        .install_recorder()
        .map_err(|e| format!("metrics: {e}"))?;
    metrics::describe_counter!(HTTP_REQUESTS, "HTTP requests answered");
    metrics::describe_histogram!(
        HTTP_DURATION,
        metrics::Unit::Seconds,
        "time from request to response"
    );
    metrics::describe_counter!(GRAPHQL_OPERATIONS, "GraphQL operations executed");
    metrics::describe_counter!(ERRORS, "errors returned, by extensions.code");
    metrics::describe_gauge!(DB_POOL_CONNECTIONS, "database pool connections");
    metrics::describe_gauge!(DB_POOL_MAX, "database pool maximum");
    metrics::describe_counter!(DB_ACQUIRE_TIMEOUTS, "database connection acquire timeouts");
    metrics::describe_counter!(
        DB_SLOW_STATEMENTS,
        "database statements slower than the threshold"
    );
    metrics::describe_counter!(IDEMPOTENT_REPLAYS, "mutations replayed by Idempotency-Key");
    metrics::describe_counter!(IMPORT_ROWS, "payment import rows");
    metrics::describe_gauge!(BUILD_INFO, "build version and commit");
    gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION"), "git" => env!("HQ_GIT_HASH"))
        .set(1.0);
    Ok(HANDLE.get_or_init(|| handle))
}

/// One answered HTTP request.
pub fn http_request(route: &str, method: &str, status: u16, seconds: f64) {
    counter!(HTTP_REQUESTS, "route" => route.to_string(), "method" => method.to_string(),
        "status" => status.to_string())
    .increment(1);
    histogram!(HTTP_DURATION, "route" => route.to_string()).record(seconds);
}

/// One executed GraphQL operation.
pub fn graphql_operation(name: &str, kind: &'static str, ok: bool) {
    counter!(GRAPHQL_OPERATIONS, "operation" => name.to_string(), "type" => kind,
        "outcome" => if ok { "ok" } else { "error" })
    .increment(1);
}

/// One error returned with `code`.
pub fn error(code: &str) {
    counter!(ERRORS, "code" => code.to_string()).increment(1);
}

/// A request gave up waiting for a pooled connection.
pub fn acquire_timed_out() {
    counter!(DB_ACQUIRE_TIMEOUTS).increment(1);
}

/// A database statement took longer than `HQ_DB_SLOW_STATEMENT`.
pub fn slow_statement() {
    counter!(DB_SLOW_STATEMENTS).increment(1);
}

/// A mutation answered from its stored response.
pub fn idempotent_replay() {
    counter!(IDEMPOTENT_REPLAYS).increment(1);
}

/// Rows of one payment import.
pub fn import_rows(accepted: u64, refused: u64) {
    counter!(IMPORT_ROWS, "outcome" => "accepted").increment(accepted);
    counter!(IMPORT_ROWS, "outcome" => "refused").increment(refused);
}

/// The label of a GraphQL operation name: the name itself while fewer than
/// [`MAX_OPERATION_NAMES`] distinct names have been seen, `anonymous` for none, `other` beyond
/// the bound or for a name that is not a GraphQL name.
pub fn operation_label(name: Option<&str>) -> String {
    static SEEN: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    let Some(name) = name else {
        return "anonymous".to_string();
    };
    let valid = !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return "other".to_string();
    }
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    if seen.contains(name) || (seen.len() < MAX_OPERATION_NAMES && seen.insert(name.to_string())) {
        name.to_string()
    } else {
        "other".to_string()
    }
}

/// Reads the pool's state into its gauges.
fn record_pool(db: &DatabaseConnection, max: u32) {
    use sea_orm::DatabaseConnectionType as Type;
    let (size, idle) = match &db.inner {
        Type::SqlxPostgresPoolConnection(_) => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        }
        Type::SqlxSqlitePoolConnection(_) => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
        _ => return,
    };
    let idle = u32::try_from(idle).unwrap_or(u32::MAX).min(size);
    gauge!(DB_POOL_CONNECTIONS, "state" => "open").set(f64::from(size));
    gauge!(DB_POOL_CONNECTIONS, "state" => "idle").set(f64::from(idle));
    gauge!(DB_POOL_CONNECTIONS, "state" => "in_use").set(f64::from(size - idle));
    gauge!(DB_POOL_MAX).set(f64::from(max));
}

/// What the metrics listener serves from.
struct Scrape {
    handle: &'static PrometheusHandle,
    db: DatabaseConnection,
    max_connections: u32,
}

async fn scrape(state: web::Data<Scrape>) -> HttpResponse {
    record_pool(&state.db, state.max_connections);
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .body(state.handle.render())
}

/// Binds `bind` and builds the metrics listener (one worker; `GET /metrics` only), installing
/// the recorder if it is not yet; returns the server and its bound port.
///
/// # Errors
/// The address cannot be bound, or another recorder is installed.
pub fn listener(
    bind: &str,
    db: DatabaseConnection,
    max_connections: u32,
) -> Result<(actix_web::dev::Server, u16), String> {
    let handle = recorder()?;
    let listener = TcpListener::bind(bind).map_err(|e| format!("cannot listen on {bind}: {e}"))?;
    let port = listener
        .local_addr()
        .map_err(|e| format!("cannot listen on {bind}: {e}"))?
        .port();
    let data = web::Data::new(Scrape {
        handle,
        db,
        max_connections,
    });
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/metrics", web::get().to(scrape))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .map_err(|e| format!("cannot listen on {bind}: {e}"))?
    .run();
    Ok((server, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_names_are_bounded_labels() {
        assert_eq!(operation_label(None), "anonymous");
        assert_eq!(operation_label(Some("Districts")), "Districts");
        assert_eq!(operation_label(Some("bad name")), "other");
        assert_eq!(operation_label(Some(&"x".repeat(65))), "other");
        for i in 0..MAX_OPERATION_NAMES {
            operation_label(Some(&format!("Op{i}")));
        }
        assert_eq!(operation_label(Some("OneTooMany")), "other");
        assert_eq!(operation_label(Some("Districts")), "Districts");
    }
}
