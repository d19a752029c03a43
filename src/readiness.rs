//! Whether the service's database is up yet. `serve` starts before its database when it must
//! (an orchestrator may start them in any order): until a background task has connected,
//! migrated and seeded, the district codes are unknown, `/readyz` answers 503 with the reason,
//! and every request that needs the database gets `SERVICE_UNAVAILABLE` (HTTP 503) at once.

use std::collections::{HashMap, HashSet};
use std::ops::Deref;
use std::sync::{Arc, LazyLock, Mutex, OnceLock};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{HttpResponse, ResponseError, web};

use crate::error::AppError;
use crate::http::{HttpError, HttpState};
use crate::services::records::DistrictRecord;

/// The districts the database knows, once it has answered; until then, why it has not. Clones
/// share one cell: the background task fills the one the server reads. The district table is
/// seeded and never written through the service, so what it held at start-up is what it holds.
#[derive(Clone)]
pub struct KnownDistricts(Arc<Cell>);

struct Cell {
    codes: OnceLock<HashSet<String>>,
    records: OnceLock<HashMap<String, DistrictRecord>>,
    waiting_for: Mutex<&'static str>,
}

static NO_DISTRICTS: LazyLock<HashSet<String>> = LazyLock::new(HashSet::new);
static NO_RECORDS: LazyLock<HashMap<String, DistrictRecord>> = LazyLock::new(HashMap::new);

impl KnownDistricts {
    /// Known at once (the database answered at start-up).
    pub fn loaded(districts: Vec<DistrictRecord>) -> Self {
        let known = Self::waiting("starting");
        known.fill(districts);
        known
    }

    /// Not known yet, for `reason` (a short phrase `/readyz` shows).
    pub fn waiting(reason: &'static str) -> Self {
        KnownDistricts(Arc::new(Cell {
            codes: OnceLock::new(),
            records: OnceLock::new(),
            waiting_for: Mutex::new(reason),
        }))
    }

    /// Records why the database is still not ready.
    pub fn still_waiting(&self, reason: &'static str) {
        if let Ok(mut current) = self.0.waiting_for.lock() {
            *current = reason;
        }
    }

    /// The database has answered: these are its districts, and the service is ready.
    pub fn fill(&self, districts: Vec<DistrictRecord>) {
        let _ = self.0.records.set(
            districts
                .iter()
                .map(|d| (d.code.clone(), d.clone()))
                .collect(),
        );
        let _ = self
            .0
            .codes
            .set(districts.into_iter().map(|d| d.code).collect());
    }

    /// The district with `code`, as the database held it (none until it has answered).
    pub fn record(&self, code: &str) -> Option<&DistrictRecord> {
        self.0.records.get().unwrap_or(&NO_RECORDS).get(code)
    }

    /// Why the service is not ready, or `None` when it is.
    pub fn waiting_for(&self) -> Option<&'static str> {
        if self.0.codes.get().is_some() {
            return None;
        }
        Some(
            self.0
                .waiting_for
                .lock()
                .map_or("starting", |reason| *reason),
        )
    }
}

/// The codes (none until the database has answered: a district token is then refused, which
/// the [`gate`] makes moot by answering 503 first).
impl Deref for KnownDistricts {
    type Target = HashSet<String>;

    fn deref(&self) -> &HashSet<String> {
        self.0.codes.get().unwrap_or(&NO_DISTRICTS)
    }
}

impl std::fmt::Debug for KnownDistricts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.waiting_for() {
            None => f.debug_set().entries(self.iter()).finish(),
            Some(reason) => write!(f, "KnownDistricts(waiting: {reason})"),
        }
    }
}

/// Middleware: while the database is not ready, `/readyz` answers 503 with the reason and every
/// route that needs the database answers `SERVICE_UNAVAILABLE` (HTTP 503) in the GraphQL error
/// shape. `/healthz` and the GraphiQL page are served as usual. Once ready, it only passes on.
///
/// # Errors
/// Those of the wrapped service.
pub async fn gate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let waiting = req
        .app_data::<web::Data<HttpState>>()
        .and_then(|state| state.api.districts.waiting_for());
    let needs_database =
        !(req.path() == "/healthz" || (req.path() == "/graphql" && req.method() == Method::GET));
    let Some(reason) = waiting.filter(|_| needs_database) else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    let response = if req.path() == "/readyz" {
        HttpResponse::ServiceUnavailable()
            .insert_header(("Cache-Control", "no-store"))
            .json(serde_json::json!({ "status": "starting", "reason": reason }))
    } else {
        HttpError::from(AppError::Busy(
            "the service is starting and its database is not ready yet; retry later".into(),
        ))
        .error_response()
    };
    Ok(req.into_response(response))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn districts_are_empty_and_the_reason_shown_until_filled() {
        let known = KnownDistricts::waiting("database unreachable");
        let reader = known.clone();
        assert!(reader.is_empty());
        assert_eq!(reader.waiting_for(), Some("database unreachable"));
        known.still_waiting("database does not exist");
        assert_eq!(reader.waiting_for(), Some("database does not exist"));
        known.fill(vec![DistrictRecord {
            code: "330106".into(),
            name: "西湖区".into(),
            kind: "DISTRICT".into(),
            sort_order: 1,
        }]);
        assert_eq!(reader.waiting_for(), None);
        assert!(reader.contains("330106"));
        assert_eq!(
            reader.record("330106").map(|d| d.name.as_str()),
            Some("西湖区")
        );
        assert!(reader.record("330108").is_none());
    }
}
