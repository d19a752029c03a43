//! What every request leaves behind: its id, one access-log line and its metrics.
//!
//! The id is the client's `X-Request-Id` when it is printable ASCII of at most 128 bytes, or else
//! 32 fresh hex digits; it is echoed on every response, carried by every log line of the request
//! (the `request{id=…}` span) and by every error's `extensions.requestId`.
//!
//! The access line (target `hq_api::access`) has the method, path (never the query string, which
//! may carry a download token), status, duration, bytes out, request id, the actor's role and
//! subject (never the token), and for GraphQL the operation's type and name (`anonymous` when
//! unnamed) and the error codes returned. Bodies and variables are never logged: they carry
//! money and credit codes.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Instant;

use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpRequest};
use async_graphql::parser::types::OperationType;
use tracing::Instrument;

use super::HttpError;
use crate::auth::Actor;
use crate::metrics;

/// The request id header, read and echoed.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest client-chosen request id kept.
const MAX_REQUEST_ID_BYTES: usize = 128;

/// What the handlers learn about a request that its access line reports.
#[derive(Debug, Default)]
struct AccessNote {
    role: Option<&'static str>,
    sub: Option<String>,
    /// The operation's type and name (`None` when unnamed).
    operation: Option<(&'static str, Option<String>)>,
    error_codes: Vec<String>,
}

type SharedNote = Rc<RefCell<AccessNote>>;

/// Whether a client's request id is kept: 1 to 128 bytes of printable ASCII, no spaces.
fn is_valid_request_id(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= MAX_REQUEST_ID_BYTES
        && text.bytes().all(|b| b.is_ascii_graphic())
}

/// A fresh id: 128 random bits in hex.
fn fresh_request_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// The middleware: assigns the id, runs the request inside its span, then writes the access
/// line and the metrics.
///
/// # Errors
/// Whatever the inner service returns.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, Error> {
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|text| is_valid_request_id(text))
        .map_or_else(fresh_request_id, str::to_owned);
    let note = SharedNote::default();
    req.extensions_mut().insert(note.clone());
    let method = req.method().to_string();
    let path = req.path().to_owned();
    let span = tracing::info_span!("request", id = %id);
    let started = Instant::now();
    let result = crate::telemetry::with_request_id(id.clone(), next.call(req))
        .instrument(span.clone())
        .await;
    let seconds = started.elapsed().as_secs_f64();
    let mut res = match result {
        Ok(res) => res,
        Err(err) => {
            let status = err.as_response_error().status_code().as_u16();
            metrics::http_request("unmatched", &method, status, seconds);
            span.in_scope(|| {
                tracing::info!(target: "hq_api::access", method = %method, path = %path, status,
                    duration_ms = seconds * 1000.0, request_id = %id, "request failed");
            });
            return Err(err);
        }
    };
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, value);
    }
    let status = res.status().as_u16();
    let bytes = match res.response().body().size() {
        BodySize::Sized(n) => n.to_string(),
        BodySize::None => "0".to_string(),
        BodySize::Stream => "stream".to_string(),
    };
    let mut note = note.take();
    if let Some(code) = res
        .response()
        .error()
        .and_then(|err| err.as_error::<HttpError>())
        .map(|err| err.code().as_str().to_string())
    {
        note.error_codes.push(code);
    }
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_string());
    metrics::http_request(&route, &method, status, seconds);
    for code in &note.error_codes {
        metrics::error(code);
    }
    let (operation_type, operation) = match &note.operation {
        Some((kind, name)) => (*kind, name.as_deref().unwrap_or("anonymous")),
        None => ("", ""),
    };
    span.in_scope(|| {
        tracing::info!(
            target: "hq_api::access",
            method = %method,
            path = %path,
            status,
            duration_ms = (seconds * 1_000_000.0).round() / 1000.0,
            bytes = %bytes,
            request_id = %id,
            role = %note.role.unwrap_or("anonymous"),
            sub = %note.sub.as_deref().unwrap_or("-"),
            operation_type = %operation_type,
            operation = %operation,
            errors = %note.error_codes.join(","),
            "access"
        );
    });
    Ok(res)
}

fn with_note(req: &HttpRequest, update: impl FnOnce(&mut AccessNote)) {
    if let Some(note) = req.extensions().get::<SharedNote>() {
        update(&mut note.borrow_mut());
    }
}

/// Notes the authenticated actor of the request (role and subject; never the token).
pub fn note_actor(req: &HttpRequest, actor: &Actor) {
    with_note(req, |note| {
        note.role = Some(actor.role.as_str());
        note.sub = Some(actor.sub.clone());
    });
}

/// The name of an operation type as the access line and metrics spell it.
pub fn operation_type_name(kind: OperationType) -> &'static str {
    match kind {
        OperationType::Query => "query",
        OperationType::Mutation => "mutation",
        OperationType::Subscription => "subscription",
    }
}

/// Notes the GraphQL operation the request runs.
pub fn note_operation(req: &HttpRequest, kind: OperationType, name: Option<&str>) {
    with_note(req, |note| {
        note.operation = Some((operation_type_name(kind), name.map(str::to_string)));
    });
}

/// Finishes a GraphQL response: each error gets the request's `extensions.requestId`; its codes
/// go to the access line and the metrics, and the operation is counted by name and outcome.
pub fn finish_graphql(req: &HttpRequest, response: &mut async_graphql::Response) {
    let id = crate::telemetry::request_id();
    let mut codes = Vec::with_capacity(response.errors.len());
    for error in &mut response.errors {
        let extensions = error.extensions.get_or_insert_with(Default::default);
        let code = match extensions.get("code") {
            Some(async_graphql::Value::String(code)) => code.clone(),
            _ => "BAD_USER_INPUT".to_string(),
        };
        if let Some(id) = &id {
            extensions.set("requestId", id.clone());
        }
        codes.push(code);
    }
    let ok = codes.is_empty();
    with_note(req, |note| {
        // A document that does not parse names no operation: counted as an anonymous query.
        let (kind, name) = match &note.operation {
            Some((kind, name)) => (*kind, name.as_deref()),
            None => ("query", None),
        };
        metrics::graphql_operation(&metrics::operation_label(name), kind, ok);
        note.error_codes.extend(codes);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_id_is_kept_only_when_printable_and_short() {
        assert!(is_valid_request_id("abc-123_XYZ.9"));
        assert!(is_valid_request_id(&"a".repeat(128)));
        assert!(!is_valid_request_id(&"a".repeat(129)));
        assert!(!is_valid_request_id(""));
        assert!(!is_valid_request_id("has space"));
        assert!(!is_valid_request_id("tab\there"));
        assert!(!is_valid_request_id("日本"));
    }

    #[test]
    fn a_fresh_request_id_is_32_hex_digits() {
        let id = fresh_request_id();
        assert_eq!(id.len(), 32);
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(id, fresh_request_id());
    }
}
