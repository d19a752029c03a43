//! Logging to standard error: a configurable filter, text or JSON lines, and colours only where a
//! person reads a terminal.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global subscriber. Safe to call more than once (later calls do nothing).
///
/// `text` writes one line per event with the fields of its spans (`request{id=…}`), with ANSI
/// colours only when standard error is a terminal, so a log file never carries escape codes.
/// `json` writes one object per line: `timestamp`, `level`, `target`, `fields.message`, the
/// event's fields, and `span`/`spans` with the fields of the enclosing spans (the request id).
pub fn init(filter: &str, format: LogFormat) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(true);
    let _ = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .try_init(),
    };
}

tokio::task_local! {
    /// The id of the request being served on this task (see `http::observe`).
    static REQUEST_ID: String;
}

/// Runs `work` with `id` as the current request id.
pub async fn with_request_id<F: std::future::Future>(id: String, work: F) -> F::Output {
    REQUEST_ID.scope(id, work).await
}

/// The id of the request being served, if any: echoed in `X-Request-Id` and in each error's
/// `extensions.requestId`.
pub fn request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}
