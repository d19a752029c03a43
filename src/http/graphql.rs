//! `POST /graphql` (one operation, JSON only) and `GET /graphql` (GraphiQL).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use async_graphql::parser::types::{ExecutableDocument, OperationType};

use super::budget::within_budget;
use super::{HttpError, HttpResult, HttpState, caller_of, has_content_type, observe};
use crate::auth::{Actor, Caller};
use crate::error::AppError;
use crate::graphql::guard;
use crate::services::idempotency;

/// `POST /graphql`: executes one operation sent as `application/json`.
///
/// Before anything recursive sees the request, its shape is bounded (see [`guard`]): the JSON
/// body's nesting, then the document's nesting, then (parsed) its size once fragments are spread,
/// its root fields and its directives. Each refusal is `BAD_USER_INPUT` with HTTP 400.
pub(super) async fn execute(
    state: web::Data<HttpState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResult {
    within_budget(&state, &req, run(&state, &req, body)).await
}

async fn run(state: &HttpState, req: &HttpRequest, body: web::Bytes) -> HttpResult {
    if !has_content_type(req, "application/json") {
        return Err(HttpError::with_status(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::bad_input("Content-Type", "send the operation as application/json"),
        ));
    }
    if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(AppError::bad_input(
            "body",
            "batched requests are not accepted; send one operation",
        )
        .into());
    }
    // The request object and `variables` wrap a variable's value: two levels more.
    guard::check_json_nesting(&body, state.limits.nesting.saturating_add(2))?;
    let mut request: async_graphql::Request = serde_json::from_slice(&body)
        .map_err(|_| AppError::bad_input("body", "the body is not a GraphQL request in JSON"))?;
    guard::check_nesting(&request.query, state.limits.nesting)?;
    // A document that does not parse is answered by the executor, with its position.
    let operation_name = request.operation_name.clone();
    let mutation = match request.parsed_query() {
        Ok(document) => {
            guard::check_document(document, state.limits)?;
            if let Some((kind, name)) = operation_of(document, operation_name.as_deref()) {
                observe::note_operation(req, kind, name);
            }
            mutation_name(document, operation_name.as_deref())
        }
        Err(_) => None,
    };
    let caller = caller_of(req, &state.keys, &state.api)?;
    let reservation = match idempotency_of(req, &caller, mutation, &body)? {
        None => None,
        Some(Keyed {
            actor,
            key,
            hash,
            operation,
        }) => {
            let begun = idempotency::begin(
                &state.api.db,
                &actor,
                &key,
                &hash,
                &operation,
                state.request_timeout.saturating_mul(2),
                tokio::time::Instant::now() + state.request_timeout,
            )
            .await?;
            match begun {
                idempotency::Begin::Replay(stored) => {
                    crate::metrics::idempotent_replay();
                    return Ok(HttpResponse::Ok()
                        .insert_header((header::CACHE_CONTROL, "no-store"))
                        .insert_header(("Idempotent-Replayed", "true"))
                        .content_type("application/json")
                        .body(stored));
                }
                idempotency::Begin::Execute(reservation) => Some(reservation),
            }
        }
    };
    let mut response = state
        .schema
        .execute(request.data(caller).data(state.keys.clone()))
        .await;
    observe::finish_graphql(req, &mut response);
    let text = serde_json::to_string(&response)
        .map_err(|_| AppError::internal("response not serialisable"))?;
    // An answer with errors frees the key (the reservation's drop): a retry executes again.
    if let Some(reservation) = reservation
        && response.errors.is_empty()
        && let Err(err) = reservation.complete(&text).await
    {
        tracing::warn!(error = ?err, "could not store an idempotency key");
    }
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .content_type("application/json")
        .body(text))
}

/// The type and name of the operation a document runs (the named one, or the first).
fn operation_of<'a>(
    document: &'a ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<(OperationType, Option<&'a str>)> {
    document
        .operations
        .iter()
        .find(|(name, _)| operation_name.is_none() || name.map(|n| n.as_str()) == operation_name)
        .map(|(name, operation)| (operation.node.ty, name.map(|n| n.as_str())))
}

/// The operation a document runs, if it is a mutation: its name, or `mutation`.
fn mutation_name(document: &ExecutableDocument, operation_name: Option<&str>) -> Option<String> {
    let (kind, name) = operation_of(document, operation_name)?;
    (kind == OperationType::Mutation).then(|| name.unwrap_or("mutation").to_string())
}

/// A mutation sent by an actor with an `Idempotency-Key`.
struct Keyed {
    actor: Actor,
    key: String,
    /// SHA-256 of the role, district and body.
    hash: String,
    operation: String,
}

/// The idempotency context of a mutation sent with an `Idempotency-Key` header by an actor.
/// Queries and anonymous calls have none.
fn idempotency_of(
    req: &HttpRequest,
    caller: &Caller,
    mutation: Option<String>,
    body: &[u8],
) -> Result<Option<Keyed>, AppError> {
    let Some(value) = req.headers().get("Idempotency-Key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .map_err(|_| AppError::bad_input("Idempotency-Key", "printable ASCII only"))?;
    let key = idempotency::validate_key(key)?.to_string();
    let (Some(actor), Some(operation)) = (caller.actor(), mutation) else {
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
    Ok(Some(Keyed {
        actor: actor.clone(),
        key,
        hash: idempotency::request_hash(&scoped),
        operation,
    }))
}

/// `GET /graphql`: the GraphiQL page for front-end teams (if enabled).
pub(super) async fn get(state: web::Data<HttpState>) -> HttpResponse {
    super::graphiql::page(&state)
}
