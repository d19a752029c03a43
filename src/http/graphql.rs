//! `POST /graphql` (one operation, JSON only) and `GET /graphql` (a query in the URL, as
//! persisted-query clients send it; GraphiQL when the URL names no operation).

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
    let request: async_graphql::Request = serde_json::from_slice(&body)
        .map_err(|_| AppError::bad_input("body", "the body is not a GraphQL request in JSON"))?;
    answer(state, req, request, true).await
}

/// Resolves a persisted document, bounds the document's shape, then executes it (with its
/// idempotency key, if a POST carries one). A GET (`post` false) runs queries only.
async fn answer(
    state: &HttpState,
    req: &HttpRequest,
    mut request: async_graphql::Request,
    post: bool,
) -> HttpResult {
    // A document named by hash is guarded and executed as the same text sent in full.
    let remember = state.persisted.resolve(&mut request)?;
    guard::check_nesting(&request.query, state.limits.nesting)?;
    // A document that does not parse is answered by the executor, with its position.
    let operation_name = request.operation_name.clone();
    let (parsed, mutation) = match request.parsed_query() {
        Ok(document) => {
            guard::check_document(document, state.limits)?;
            let operation = operation_of(document, operation_name.as_deref());
            if let Some((kind, name)) = operation {
                observe::note_operation(req, kind, name);
            }
            (true, mutation_name(operation))
        }
        Err(_) => (false, None),
    };
    if !post && mutation.is_some() {
        return Err(HttpError::with_status(
            StatusCode::METHOD_NOT_ALLOWED,
            AppError::bad_input("method", "a mutation is sent with POST, never with GET"),
        ));
    }
    if let (Some(document), true) = (remember, parsed) {
        state.persisted.remember(document);
    }
    let caller = caller_of(req, &state.keys, &state.api).await?;
    if !post {
        let mut response = state.schema.execute(request.data(caller)).await;
        observe::finish_graphql(req, &mut response);
        return respond(&response);
    }
    let reservation = match idempotency_of(req, &caller, mutation, &request)? {
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
    Ok(json_answer(text))
}

/// The JSON answer of an execution.
fn respond(response: &async_graphql::Response) -> HttpResult {
    let text = serde_json::to_string(response)
        .map_err(|_| AppError::internal("response not serialisable"))?;
    Ok(json_answer(text))
}

fn json_answer(text: String) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .content_type("application/json")
        .body(text)
}

/// The type and name of the operation a document runs (the named one, or the first).
pub(super) fn operation_of<'a>(
    document: &'a ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<(OperationType, Option<&'a str>)> {
    document
        .operations
        .iter()
        .find(|(name, _)| operation_name.is_none() || name.map(|n| n.as_str()) == operation_name)
        .map(|(name, operation)| (operation.node.ty, name.map(|n| n.as_str())))
}

/// The operation's name if it is a mutation (`mutation` when unnamed); `None` otherwise.
fn mutation_name(operation: Option<(OperationType, Option<&str>)>) -> Option<String> {
    let (kind, name) = operation?;
    (kind == OperationType::Mutation).then(|| name.unwrap_or("mutation").to_string())
}

/// A mutation sent by an actor with an `Idempotency-Key`.
struct Keyed {
    actor: Actor,
    key: String,
    /// SHA-256 of the role, district and request (document text, operation name, variables).
    hash: String,
    operation: String,
}

/// The idempotency context of a mutation sent with an `Idempotency-Key` header by an actor.
/// Queries and anonymous calls have none.
fn idempotency_of(
    req: &HttpRequest,
    caller: &Caller,
    mutation: Option<String>,
    request: &async_graphql::Request,
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
    // The same request from another role or district is another request: never replay across
    // them. The request is taken once its persisted document is resolved, so a retry naming the
    // document by hash is the same request as the one that sent its text.
    let mut scoped = format!(
        "{}|{}|",
        actor.role.as_str(),
        actor.district.as_deref().unwrap_or("")
    )
    .into_bytes();
    let canonical = serde_json::json!({
        "query": request.query,
        "operationName": request.operation_name,
        "variables": request.variables,
    });
    scoped.extend_from_slice(canonical.to_string().as_bytes());
    Ok(Some(Keyed {
        actor: actor.clone(),
        key,
        hash: idempotency::request_hash(&scoped),
        operation,
    }))
}

/// `GET /graphql`: a query in the URL (`query`, `operationName`, `variables` and `extensions`,
/// the last two as JSON), as Apollo Client and urql send persisted queries; mutations are
/// refused (HTTP 405). A URL with neither `query` nor `extensions` gets the GraphiQL page.
pub(super) async fn get(state: web::Data<HttpState>, req: HttpRequest) -> HttpResult {
    let params =
        web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
            .map_err(|_| AppError::bad_input("query string", "not a URL-encoded query string"))?
            .into_inner();
    if !params.contains_key("query") && !params.contains_key("extensions") {
        return Ok(super::graphiql::page(&state));
    }
    within_budget(&state, &req, run_get(&state, &req, params)).await
}

async fn run_get(
    state: &HttpState,
    req: &HttpRequest,
    mut params: std::collections::HashMap<String, String>,
) -> HttpResult {
    let mut request = async_graphql::Request::new(params.remove("query").unwrap_or_default());
    if let Some(name) = params.remove("operationName").filter(|n| !n.is_empty()) {
        request = request.operation_name(name);
    }
    for (field, value) in [
        ("variables", params.remove("variables")),
        ("extensions", params.remove("extensions")),
    ] {
        let Some(value) = value.filter(|v| !v.trim().is_empty()) else {
            continue;
        };
        // One object wraps a variable's value (as `variables` does in a JSON body).
        guard::check_json_nesting(value.as_bytes(), state.limits.nesting.saturating_add(1))?;
        let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&value)
            .map_err(|_| AppError::bad_input(field, format!("{field} is a JSON object")))?;
        let object = async_graphql::Value::from_json(serde_json::Value::Object(object))
            .map_err(|_| AppError::bad_input(field, format!("{field} is a JSON object")))?;
        if field == "variables" {
            request = request.variables(async_graphql::Variables::from_value(object));
        } else if let async_graphql::Value::Object(map) = object {
            for (name, value) in map {
                request.extensions.insert(name.to_string(), value);
            }
        }
    }
    answer(state, req, request, false).await
}
