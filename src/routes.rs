//! HTTP endpoints: `POST /graphql` (JSON only), `GET /graphql` (GraphiQL), `/healthz`, `/readyz`.

use std::time::Duration;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::auth::{Caller, JwtKeys};
use crate::error::AppError;
use crate::graphql::guard::{self, DocumentLimits};
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
    /// Bounds on a GraphQL request's shape.
    pub limits: DocumentLimits,
    /// Time budget of one request.
    pub request_timeout: Duration,
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

/// The socket of a connection, remembered when it is accepted, so that a handler can tell
/// whether its client is still there.
#[derive(Debug, Clone, Copy)]
pub struct PeerSocket(#[cfg(unix)] std::os::fd::RawFd);

/// `HttpServer::on_connect` hook: remembers each connection's socket.
pub fn remember_socket(connection: &dyn std::any::Any, data: &mut actix_web::dev::Extensions) {
    #[cfg(unix)]
    if let Some(stream) = connection.downcast_ref::<actix_web::rt::net::TcpStream>() {
        use std::os::fd::AsRawFd;
        data.insert(PeerSocket(stream.as_raw_fd()));
    }
    #[cfg(not(unix))]
    let _ = (connection, data);
}

impl PeerSocket {
    /// Whether the client has closed its side of the connection (or reset it). Pipelined bytes
    /// of a next request are only peeked at, never consumed.
    #[cfg(unix)]
    fn closed(self) -> bool {
        let mut byte = 0u8;
        // SAFETY: the descriptor belongs to the connection whose request is being handled; the
        // connection (and so the descriptor) lives as long as the handler's future, which is the
        // only caller. `recv` with MSG_PEEK | MSG_DONTWAIT neither blocks nor consumes data, and
        // writes at most one byte into `byte`.
        let read = unsafe {
            libc::recv(
                self.0,
                (&mut byte as *mut u8).cast::<libc::c_void>(),
                1,
                libc::MSG_PEEK | libc::MSG_DONTWAIT,
            )
        };
        if read == 0 {
            return true;
        }
        if read > 0 {
            return false;
        }
        let error = std::io::Error::last_os_error().kind();
        !matches!(
            error,
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted
        )
    }

    #[cfg(not(unix))]
    fn closed(self) -> bool {
        false
    }

    /// Resolves once the client has gone away.
    async fn gone(self) {
        let mut every = tokio::time::interval(std::time::Duration::from_millis(50));
        loop {
            every.tick().await;
            if self.closed() {
                return;
            }
        }
    }
}

/// Runs a request's work within its time budget (`HQ_REQUEST_TIMEOUT`) and while its client is
/// connected. Past the budget, or once the client has closed the connection, the work's future is
/// dropped, which rolls back an open transaction and frees a held idempotency key. Past the budget
/// the client gets `SERVICE_UNAVAILABLE` with HTTP 503.
async fn within_budget(
    state: &HttpState,
    req: &HttpRequest,
    work: impl std::future::Future<Output = HttpResponse>,
) -> HttpResponse {
    let budget = state.request_timeout;
    let peer = req.conn_data::<PeerSocket>().copied();
    let client_gone = async move {
        match peer {
            Some(peer) => peer.gone().await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        response = tokio::time::timeout(budget, work) => match response {
            Ok(response) => response,
            Err(_) => {
                tracing::warn!(
                    budget_ms = budget.as_millis(),
                    "request stopped at its time budget"
                );
                app_error(&AppError::Busy(format!(
                    "the request was stopped after its time budget of {} ms; what it had not \
                     committed was rolled back",
                    budget.as_millis()
                )))
            }
        },
        () = client_gone => {
            tracing::info!("request stopped: its client closed the connection");
            app_error(&AppError::Busy("the client closed the connection".into()))
        }
    }
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
///
/// Before anything recursive sees the request, its shape is bounded (see [`guard`]): the JSON
/// body's nesting, then the document's nesting, then (parsed) its size once fragments are spread
/// and its root fields. Each refusal is `BAD_USER_INPUT` with HTTP 400.
async fn graphql(state: web::Data<HttpState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    within_budget(&state, &req, execute_graphql(&state, &req, body)).await
}

async fn execute_graphql(state: &HttpState, req: &HttpRequest, body: web::Bytes) -> HttpResponse {
    use actix_web::http::StatusCode;
    if !is_json(req) {
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
    // The request object and `variables` wrap a variable's value: two levels more.
    if let Err(err) = guard::check_json_nesting(&body, state.limits.nesting.saturating_add(2)) {
        return app_error(&err);
    }
    let mut request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(_) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                &AppError::bad_input("body", "the body is not a GraphQL request in JSON"),
            );
        }
    };
    if let Err(err) = guard::check_nesting(&request.query, state.limits.nesting) {
        return app_error(&err);
    }
    // A document that does not parse is answered by the executor, with its position.
    let operation_name = request.operation_name.clone();
    let mutation = match request.parsed_query() {
        Ok(document) => {
            if let Err(err) = guard::check_document(document, state.limits) {
                return app_error(&err);
            }
            mutation_name(document, operation_name.as_deref())
        }
        Err(_) => None,
    };
    let caller = match caller_of(req, &state.keys, &state.api) {
        Ok(caller) => caller,
        Err(err) => return json_error(StatusCode::UNAUTHORIZED, &err),
    };
    let idempotency = match idempotency_of(req, &caller, mutation, &body) {
        Ok(found) => found,
        Err(err) => return app_error(&err),
    };
    let reservation = match &idempotency {
        None => None,
        Some((actor, key, hash, operation)) => {
            let begun = idempotency::begin(
                &state.api.db,
                actor,
                key,
                hash,
                operation,
                state.request_timeout.saturating_mul(2),
                tokio::time::Instant::now() + state.request_timeout,
            )
            .await;
            match begun {
                Ok(idempotency::Begin::Replay(stored)) => {
                    return HttpResponse::Ok()
                        .insert_header((header::CACHE_CONTROL, "no-store"))
                        .insert_header(("Idempotent-Replayed", "true"))
                        .content_type("application/json")
                        .body(stored);
                }
                Ok(idempotency::Begin::Execute(reservation)) => Some(reservation),
                Err(err) => return app_error(&err),
            }
        }
    };
    let response = state.schema.execute(request.data(caller)).await;
    let Ok(text) = serde_json::to_string(&response) else {
        return app_error(&AppError::internal("response not serialisable"));
    };
    // An answer with errors frees the key (the reservation's drop): a retry executes again.
    if let Some(reservation) = reservation
        && response.errors.is_empty()
        && let Err(err) = reservation.complete(&text).await
    {
        tracing::warn!(error = ?err, "could not store an idempotency key");
    }
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .content_type("application/json")
        .body(text)
}

/// The operation a document runs, if it is a mutation: its name, or `mutation`.
fn mutation_name(
    document: &async_graphql::parser::types::ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<String> {
    use async_graphql::parser::types::OperationType;
    let (name, operation) = document
        .operations
        .iter()
        .find(|(name, _)| operation_name.is_none() || name.map(|n| n.as_str()) == operation_name)?;
    (operation.node.ty == OperationType::Mutation)
        .then(|| name.map_or_else(|| "mutation".to_string(), |n| n.to_string()))
}

/// The idempotency context of a mutation sent with an `Idempotency-Key` header by an actor:
/// (actor, key, request hash, operation name). Queries and anonymous calls have none.
fn idempotency_of(
    req: &HttpRequest,
    caller: &Caller,
    mutation: Option<String>,
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
    let Some(operation) = mutation else {
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
    payload: web::Payload,
) -> HttpResponse {
    let budget = state.clone();
    let request = req.clone();
    within_budget(&budget, &request, import_file(state, req, path, payload)).await
}

async fn import_file(
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
    // Authorise from the headers, before a byte of the body is read: only the district itself
    // reports its payments (§20 step 1), and a declared length over the limit is refused at once.
    let (district, year) = path.into_inner();
    if actor.role != crate::auth::Role::District {
        return app_error(&AppError::Forbidden(
            "only a district reports its payments".into(),
        ));
    }
    if let Some(own) = actor.district_scope()
        && own != district
    {
        return app_error(&AppError::Forbidden(format!(
            "a district actor may act only for its own district ({own})"
        )));
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > state.max_import_bytes as u64) {
        return json_error(
            actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
            &AppError::bad_input("body", "the file is larger than the import limit"),
        );
    }
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
    within_budget(&state, &req, settlement_file(&state, &req, file)).await
}

async fn settlement_file(
    state: &HttpState,
    req: &HttpRequest,
    file: web::Path<String>,
) -> HttpResponse {
    let file = file.into_inner();
    let Some((year, extension)) = file.split_once('.') else {
        return app_error(&AppError::NotFound("no such export".into()));
    };
    let Ok(year) = year.parse::<i32>() else {
        return app_error(&AppError::bad_input("year", "not a fiscal year"));
    };
    let actor = match export_actor(req, state) {
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
    within_budget(&state, &req, settlement_lines_file(&state, &req, year)).await
}

async fn settlement_lines_file(
    state: &HttpState,
    req: &HttpRequest,
    year: web::Path<String>,
) -> HttpResponse {
    let Ok(year) = year.into_inner().parse::<i32>() else {
        return app_error(&AppError::bad_input("year", "not a fiscal year"));
    };
    let actor = match export_actor(req, state) {
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
