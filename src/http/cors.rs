//! Cross-origin calls from browsers (CORS), for the origins of `HQ_CORS_ORIGINS` only.
//!
//! An allowed origin gets its preflight (`OPTIONS` with `Access-Control-Request-Method`)
//! answered `204` with the methods and request headers the API reads, and its other responses
//! name it in `Access-Control-Allow-Origin`. Tokens travel in `Authorization`, never in cookies,
//! so there is no credentials mode: `Access-Control-Allow-Credentials` is never sent. Any other
//! origin, and every origin when the list is empty (the default), gets no CORS header at all:
//! its preflight falls through to the routes (no `OPTIONS` route: 404) and the browser refuses.

use actix_web::body::BoxBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse, web};

use super::HttpState;

/// Methods a page may use: `POST /graphql`, and `GET` for persisted queries and exports.
pub const ALLOWED_METHODS: &str = "GET, POST";
/// Request headers a page may send.
pub const ALLOWED_HEADERS: &str = "Authorization, Content-Type, Idempotency-Key, X-Request-Id";
/// Response headers a page may read besides the safelisted ones.
pub const EXPOSED_HEADERS: &str = "Idempotent-Replayed";
/// Seconds a browser may cache a preflight answer.
pub const MAX_AGE_SECS: u32 = 600;

/// The CORS middleware (installed on every route; a no-op while no origin is allowed).
///
/// # Errors
/// Those of the wrapped service.
pub async fn cors(
    req: ServiceRequest,
    next: Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let state = req.app_data::<web::Data<HttpState>>().cloned();
    let Some(state) = state.filter(|state| !state.cors_origins.is_empty()) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .filter(|origin| state.cors_origins.allows(origin))
        .map(str::to_string);
    let Some(origin) = origin else {
        // Answers vary with `Origin` once any origin is allowed: caches must not mix them.
        let mut response = next.call(req).await?.map_into_boxed_body();
        response
            .headers_mut()
            .append(header::VARY, header::HeaderValue::from_static("Origin"));
        return Ok(response);
    };
    let origin_value = header::HeaderValue::from_str(&origin)?;
    if req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    {
        let response = HttpResponse::NoContent()
            .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, origin_value))
            .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, ALLOWED_METHODS))
            .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOWED_HEADERS))
            .insert_header((header::ACCESS_CONTROL_MAX_AGE, MAX_AGE_SECS.to_string()))
            .insert_header((
                header::VARY,
                "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
            ))
            .finish();
        return Ok(req.into_response(response));
    }
    let mut response = next.call(req).await?.map_into_boxed_body();
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin_value);
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        header::HeaderValue::from_static(EXPOSED_HEADERS),
    );
    headers.append(header::VARY, header::HeaderValue::from_static("Origin"));
    Ok(response)
}
