//! HTTP endpoints: `POST /graphql` (JSON only), `GET /graphql` (GraphiQL), `/healthz`, `/readyz`.

use std::time::Duration;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::auth::{Caller, JwtKeys};
use crate::error::AppError;
use crate::graphql::{ApiState, AppSchema};

/// Shared state of the HTTP layer.
#[derive(Clone)]
pub struct HttpState {
    /// The GraphQL schema (with its service state).
    pub schema: AppSchema,
    /// Token keys.
    pub keys: JwtKeys,
    /// Service state, for readiness.
    pub api: ApiState,
    /// Whether `GET /graphql` serves GraphiQL.
    pub graphiql: bool,
}

/// Registers the routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/graphql", web::post().to(graphql))
        .route("/graphql", web::get().to(graphiql))
        .route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz));
}

fn json_error(status: actix_web::http::StatusCode, err: &AppError) -> HttpResponse {
    HttpResponse::build(status).json(err.to_response_body())
}

fn is_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

/// Resolves the caller from the `Authorization` header.
///
/// # Errors
/// `UNAUTHENTICATED` for a header that is present but not a valid bearer token.
pub fn caller_of(req: &HttpRequest, keys: &JwtKeys, api: &ApiState) -> Result<Caller, AppError> {
    match req.headers().get(header::AUTHORIZATION) {
        None => Ok(Caller::Anonymous),
        Some(value) => {
            let text = value
                .to_str()
                .map_err(|_| AppError::Unauthenticated("invalid Authorization header".into()))?;
            keys.verify_header(text, &api.districts)
                .map(Caller::Actor)
                .map_err(|err| AppError::Unauthenticated(err.to_string()))
        }
    }
}

/// `POST /graphql`: executes one operation sent as `application/json`.
async fn graphql(state: web::Data<HttpState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    use actix_web::http::StatusCode;
    if !is_json(&req) {
        return json_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            &AppError::bad_input("Content-Type", "send the operation as application/json"),
        );
    }
    if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return json_error(
            StatusCode::BAD_REQUEST,
            &AppError::bad_input(
                "body",
                "batched requests are not accepted; send one operation",
            ),
        );
    }
    let request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(_) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                &AppError::bad_input("body", "the body is not a GraphQL request in JSON"),
            );
        }
    };
    let caller = match caller_of(&req, &state.keys, &state.api) {
        Ok(caller) => caller,
        Err(err) => return json_error(StatusCode::UNAUTHORIZED, &err),
    };
    let response = state.schema.execute(request.data(caller)).await;
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(response)
}

/// `GET /graphql`: the GraphiQL page for front-end teams (if enabled).
async fn graphiql(state: web::Data<HttpState>) -> HttpResponse {
    if !state.graphiql {
        return HttpResponse::NotFound().finish();
    }
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(
            async_graphql::http::GraphiQLSource::build()
                .endpoint("/graphql")
                .finish(),
        )
}

/// `GET /healthz`: the process is alive.
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "alive" }))
}

/// `GET /readyz`: the database answers (503 otherwise).
async fn readyz(state: web::Data<HttpState>) -> HttpResponse {
    let ping = tokio::time::timeout(Duration::from_secs(2), state.api.db.ping()).await;
    match ping {
        Ok(Ok(())) => HttpResponse::Ok().json(serde_json::json!({ "status": "ready" })),
        _ => HttpResponse::ServiceUnavailable()
            .json(serde_json::json!({ "status": "database unavailable" })),
    }
}
