//! The HTTP edge: routes, transport concerns (content types, body limits, time budgets, client
//! disconnects, idempotency keys, file imports and exports) and the one mapping of [`AppError`]
//! to an HTTP response.

mod budget;
mod cors;
mod files;
mod graphiql;
mod graphql;
mod health;
mod live;
pub mod observe;
pub mod persisted;

use std::time::Duration;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};

use crate::auth::{Caller, JwtKeys};
use crate::error::AppError;
use crate::graphql::guard::DocumentLimits;
use crate::graphql::{ApiState, AppSchema};

pub use budget::{PeerSocket, remember_socket};
pub use cors::cors;
pub use live::{Connections, LiveLimits};

/// Shared state of the HTTP layer.
#[derive(Clone)]
pub struct HttpState {
    /// The GraphQL schema (with its service state).
    pub schema: AppSchema,
    /// Token keys.
    pub keys: JwtKeys,
    /// Service state, for readiness.
    pub api: ApiState,
    /// Documents named by hash: automatic persisted queries or trusted documents.
    pub persisted: std::sync::Arc<persisted::PersistedQueries>,
    /// Origins allowed to call the API from a browser.
    pub cors_origins: crate::config::CorsOrigins,
    /// Whether `GET /graphql` serves GraphiQL.
    pub graphiql: bool,
    /// Largest CSV import body.
    pub max_import_bytes: usize,
    /// Bounds on a GraphQL request's shape.
    pub limits: DocumentLimits,
    /// Time budget of one request.
    pub request_timeout: Duration,
    /// Bounds of WebSocket connections (subscriptions).
    pub live: LiveLimits,
    /// The open WebSocket connections of each actor.
    pub connections: std::sync::Arc<Connections>,
}

/// Registers the routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/graphql", web::post().to(graphql::execute))
        .route(
            "/graphql",
            web::get()
                .guard(actix_web::guard::fn_guard(|ctx| {
                    live::is_upgrade(ctx.head())
                }))
                .to(live::upgrade),
        )
        .route("/graphql", web::get().to(graphql::get))
        .route("/graphiql/{file}", web::get().to(graphiql::asset))
        .route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route(
            "/imports/payments/{district}/{year}",
            web::post().to(files::import_payments),
        )
        .route(
            "/imports/payments/{file}",
            web::get().to(files::import_template),
        )
        .route(
            "/exports/settlements/{year}/lines.csv",
            web::get().to(files::export_settlement_lines),
        )
        .route(
            "/exports/settlements/{file}",
            web::get().to(files::export_settlement),
        )
        .route(
            "/exports/benefits/{file}",
            web::get().to(files::export_benefits),
        )
        .route(
            "/exports/recognitions/{file}",
            web::get().to(files::export_recognitions),
        )
        .route("/downloads/{token}", web::get().to(files::download));
}

/// An error answered over HTTP: an [`AppError`] with the status of its code, or with a
/// transport status (415 for a content type, 413 for a body) where the transport decided.
#[derive(Debug)]
pub struct HttpError {
    status: Option<StatusCode>,
    error: AppError,
}

impl HttpError {
    /// The `extensions.code` the client sees.
    pub fn code(&self) -> crate::error::ErrorCode {
        self.error.code()
    }

    /// `error` answered with `status` instead of the status of its code.
    pub fn with_status(status: StatusCode, error: AppError) -> Self {
        HttpError {
            status: Some(status),
            error,
        }
    }
}

impl From<AppError> for HttpError {
    fn from(error: AppError) -> Self {
        HttpError {
            status: None,
            error,
        }
    }
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.public_message().fmt(f)
    }
}

/// Every error leaves in the GraphQL response shape (`errors[0].extensions.code`), logged once
/// if its cause is hidden.
impl ResponseError for HttpError {
    fn status_code(&self) -> StatusCode {
        self.status.unwrap_or_else(|| {
            StatusCode::from_u16(self.error.http_status())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
        })
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code())
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(self.error.to_response_body())
    }
}

/// What a handler answers.
pub type HttpResult = Result<HttpResponse, HttpError>;

/// Whether the request's media type (before any parameter) is `mime`.
fn has_content_type(req: &HttpRequest, mime: &str) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|found| found.trim().eq_ignore_ascii_case(mime))
}

/// Resolves the caller from the `Authorization` header.
///
/// # Errors
/// `UNAUTHENTICATED` for a header that is present but not a valid bearer token.
pub async fn caller_of(
    req: &HttpRequest,
    keys: &JwtKeys,
    api: &ApiState,
) -> Result<Caller, AppError> {
    match req.headers().get(header::AUTHORIZATION) {
        None => Ok(Caller::Anonymous),
        Some(value) => {
            let text = value
                .to_str()
                .map_err(|_| AppError::Unauthenticated("invalid Authorization header".into()))?;
            let actor = keys
                .verify_header(text, &api.districts)
                .await
                .map_err(|err| AppError::Unauthenticated(err.to_string()))?;
            observe::note_actor(req, &actor);
            Ok(Caller::Actor(actor))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_answers_with_the_status_of_its_code_unless_the_transport_decided() {
        let plain = HttpError::from(AppError::Forbidden("no".into()));
        assert_eq!(plain.status_code(), StatusCode::FORBIDDEN);
        let media = HttpError::with_status(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::bad_input("Content-Type", "send JSON"),
        );
        assert_eq!(media.status_code(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let hidden = HttpError::from(AppError::internal("SELECT secret FROM t"));
        assert_eq!(hidden.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!hidden.to_string().contains("SELECT"));
    }
}
