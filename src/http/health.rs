//! `GET /healthz` (the process is alive) and `GET /readyz` (the database answers).

use std::time::Duration;

use actix_web::{HttpResponse, web};

use super::HttpState;

/// `GET /healthz`: the process is alive.
pub(super) async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "alive" }))
}

/// `GET /readyz`: the database answers (503 otherwise).
pub(super) async fn readyz(state: web::Data<HttpState>) -> HttpResponse {
    let ping = tokio::time::timeout(Duration::from_secs(2), state.api.db.ping()).await;
    match ping {
        Ok(Ok(())) => HttpResponse::Ok().json(serde_json::json!({ "status": "ready" })),
        _ => {
            crate::db::connection_lost();
            HttpResponse::ServiceUnavailable()
                .json(serde_json::json!({ "status": "database unavailable" }))
        }
    }
}
