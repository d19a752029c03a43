//! HTTP endpoints: `POST /graphql` (JSON only), `GET /graphql` (GraphiQL), `/healthz`, `/readyz`.

use std::time::Duration;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::auth::{Caller, JwtKeys};
use crate::error::AppError;
use crate::graphql::{ApiState, AppSchema};
use crate::services::idempotency;

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
    /// Largest CSV import body.
    pub max_import_bytes: usize,
}

/// Registers the routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/graphql", web::post().to(graphql))
        .route("/graphql", web::get().to(graphiql))
        .route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route(
            "/imports/payments/{district}/{year}",
            web::post().to(import_payments),
        )
        .route(
            "/exports/settlements/{year}/lines.csv",
            web::get().to(export_settlement_lines),
        )
        .route(
            "/exports/settlements/{file}",
            web::get().to(export_settlement),
        );
}

fn json_error(status: actix_web::http::StatusCode, err: &AppError) -> HttpResponse {
    HttpResponse::build(status).json(err.to_response_body())
}

/// An error answered outside GraphQL, with the status of its code.
fn app_error(err: &AppError) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(err.http_status())
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    json_error(status, err)
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
    let idempotency = match idempotency_of(&req, &caller, &request, &body) {
        Ok(found) => found,
        Err(err) => return app_error(&err),
    };
    if let Some((actor, key, hash, _)) = &idempotency {
        match idempotency::replay(&state.api.db, actor, key, hash).await {
            Ok(Some(stored)) => {
                return HttpResponse::Ok()
                    .insert_header((header::CACHE_CONTROL, "no-store"))
                    .insert_header(("Idempotent-Replayed", "true"))
                    .content_type("application/json")
                    .body(stored);
            }
            Ok(None) => {}
            Err(err) => return app_error(&err),
        }
    }
    let response = state.schema.execute(request.data(caller)).await;
    let Ok(text) = serde_json::to_string(&response) else {
        return app_error(&AppError::internal("response not serialisable"));
    };
    if let Some((actor, key, hash, operation)) = &idempotency
        && response.errors.is_empty()
        && let Err(err) =
            idempotency::remember(&state.api.db, actor, key, hash, operation, &text).await
    {
        tracing::warn!(error = ?err, "could not store an idempotency key");
    }
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .content_type("application/json")
        .body(text)
}

/// The idempotency context of a mutation sent with an `Idempotency-Key` header by an actor:
/// (actor, key, request hash, operation name). Queries and anonymous calls have none.
fn idempotency_of(
    req: &HttpRequest,
    caller: &Caller,
    request: &async_graphql::Request,
    body: &[u8],
) -> Result<Option<(crate::auth::Actor, String, String, String)>, AppError> {
    let Some(value) = req.headers().get("Idempotency-Key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .map_err(|_| AppError::bad_input("Idempotency-Key", "printable ASCII only"))?;
    let key = idempotency::validate_key(key)?.to_string();
    let Some(actor) = caller.actor() else {
        return Ok(None);
    };
    let Some(operation) =
        idempotency::mutation_name(&request.query, request.operation_name.as_deref())
    else {
        return Ok(None);
    };
    // The same body from another role or district is another request: never replay across them.
    let mut scoped = format!(
        "{}|{}|",
        actor.role.as_str(),
        actor.district.as_deref().unwrap_or("")
    )
    .into_bytes();
    scoped.extend_from_slice(body);
    Ok(Some((
        actor.clone(),
        key,
        idempotency::request_hash(&scoped),
        operation,
    )))
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

/// `POST /imports/payments/{district}/{year}`: a district's CSV file of payment lines
/// (`text/csv`), imported through the same path as `reportPayments`, all or nothing.
async fn import_payments(
    state: web::Data<HttpState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    mut payload: web::Payload,
) -> HttpResponse {
    use futures_util::StreamExt;
    let caller = match caller_of(&req, &state.keys, &state.api) {
        Ok(caller) => caller,
        Err(err) => return app_error(&err),
    };
    let Some(actor) = caller.actor() else {
        return app_error(&AppError::Unauthenticated(
            "this endpoint needs a bearer token".into(),
        ));
    };
    let content_type_ok = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("text/csv"));
    if !content_type_ok {
        return json_error(
            actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            &AppError::bad_input("Content-Type", "send the file as text/csv"),
        );
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let Ok(chunk) = chunk else {
            return app_error(&AppError::bad_input("body", "the upload was interrupted"));
        };
        if body.len() + chunk.len() > state.max_import_bytes {
            return json_error(
                actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
                &AppError::bad_input("body", "the file is larger than the import limit"),
            );
        }
        body.extend_from_slice(&chunk);
    }
    let (district, year) = path.into_inner();
    let Ok(year) = year.parse::<i32>() else {
        return app_error(&AppError::bad_input("year", "not a fiscal year"));
    };
    let result = async {
        let lines = crate::services::csv_import::parse(&body)?;
        crate::services::payments::report(&state.api.db, actor, &district, year, lines)
            .await
            .map_err(crate::services::csv_import::name_rows)
    }
    .await;
    match result {
        Ok(outcome) => HttpResponse::Ok().json(serde_json::json!({
            "created": outcome.created.len(),
            "unchanged": outcome.unchanged.len(),
            // Checked like the service's own total, which refuses a batch beyond the range.
            "createdAmount": crate::policy::money::Money::checked_sum_fen(
                outcome.created.iter().map(|l| l.amount_fen)
            ).map(|total| total.to_string()),
        })),
        Err(err) => app_error(&err),
    }
}

/// The caller of an export, which must be authenticated.
fn export_actor(req: &HttpRequest, state: &HttpState) -> Result<crate::auth::Actor, AppError> {
    match caller_of(req, &state.keys, &state.api)? {
        Caller::Actor(actor) => Ok(actor),
        Caller::Anonymous => Err(AppError::Unauthenticated(
            "exports need a bearer token".into(),
        )),
    }
}

fn attachment(content_type: &str, name: &str, body: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

/// `GET /exports/settlements/{year}.csv` (district summary) or `.xlsx` (summary and lines).
/// A district's token gets its own district only.
async fn export_settlement(
    state: web::Data<HttpState>,
    req: HttpRequest,
    file: web::Path<String>,
) -> HttpResponse {
    let file = file.into_inner();
    let Some((year, extension)) = file.split_once('.') else {
        return app_error(&AppError::NotFound("no such export".into()));
    };
    let Ok(year) = year.parse::<i32>() else {
        return app_error(&AppError::bad_input("year", "not a fiscal year"));
    };
    let actor = match export_actor(&req, &state) {
        Ok(actor) => actor,
        Err(err) => return app_error(&err),
    };
    let result = async {
        let export =
            crate::services::export::settlement_export(&state.api.db, &actor, year).await?;
        match extension {
            "csv" => Ok(attachment(
                "text/csv; charset=utf-8",
                &format!("settlement-{year}.csv"),
                crate::services::export::to_csv(&export.districts)?,
            )),
            "xlsx" => Ok(attachment(
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                &format!("settlement-{year}.xlsx"),
                crate::services::export::to_xlsx(&export)?,
            )),
            _ => Err(AppError::NotFound("exports are .csv or .xlsx".into())),
        }
    }
    .await;
    result.unwrap_or_else(|err| app_error(&err))
}

/// `GET /exports/settlements/{year}/lines.csv`: every line of the year's reconciled claims with
/// its verdict (a district's token: its own lines only).
async fn export_settlement_lines(
    state: web::Data<HttpState>,
    req: HttpRequest,
    year: web::Path<String>,
) -> HttpResponse {
    let Ok(year) = year.into_inner().parse::<i32>() else {
        return app_error(&AppError::bad_input("year", "not a fiscal year"));
    };
    let actor = match export_actor(&req, &state) {
        Ok(actor) => actor,
        Err(err) => return app_error(&err),
    };
    let result = async {
        let export =
            crate::services::export::settlement_export(&state.api.db, &actor, year).await?;
        Ok::<_, AppError>(attachment(
            "text/csv; charset=utf-8",
            &format!("settlement-{year}-lines.csv"),
            crate::services::export::to_csv(&export.lines)?,
        ))
    }
    .await;
    result.unwrap_or_else(|err| app_error(&err))
}
