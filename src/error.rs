//! The one error type of the service and how each variant reaches a client.
//!
//! Every error a client can see carries a stable `extensions.code` (see [`ErrorCode`]). Internal
//! causes (database errors, bugs) are logged with their full text and shown only as
//! `INTERNAL_SERVER_ERROR` with a generic message: no SQL, table, constraint or file name ever
//! leaves the process.

use async_graphql::{ErrorExtensions, ServerError};
use sea_orm::{ConnAcquireErr, DbErr};

policy::code_enum! {
    /// The stable codes a client finds in `extensions.code`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum ErrorCode: "error code" {
        /// No valid token where one is needed, or a token that fails validation.
        Unauthenticated = "UNAUTHENTICATED",
        /// The actor is known but its role or district may not do this.
        Forbidden = "FORBIDDEN",
        /// The input is malformed or fails validation; `extensions.field` names the culprit.
        BadUserInput = "BAD_USER_INPUT",
        /// The named thing does not exist (or is not visible to the actor).
        NotFound = "NOT_FOUND",
        /// The write collides with existing data (duplicate key, different content under one key).
        Conflict = "CONFLICT",
        /// The fiscal year is approved; its figures can no longer change.
        PeriodLocked = "PERIOD_LOCKED",
        /// The request is well-formed but the policy forbids it; `extensions.clause` cites the clause.
        PolicyViolation = "POLICY_VIOLATION",
        /// The database is unreachable; retry later.
        ServiceUnavailable = "SERVICE_UNAVAILABLE",
        /// Automatic persisted queries: the hash sent is not known (yet); send the query text
        /// with it. The message is `PersistedQueryNotFound`, as Apollo Client and urql expect.
        PersistedQueryNotFound = "PERSISTED_QUERY_NOT_FOUND",
        /// Automatic persisted queries are turned off (`HQ_APQ_CACHE_SIZE=0`); send the query
        /// text. The message is `PersistedQueryNotSupported`.
        PersistedQueryNotSupported = "PERSISTED_QUERY_NOT_SUPPORTED",
        /// Trusted-documents mode: the operation is not in the manifest the service runs with.
        OperationNotTrusted = "OPERATION_NOT_TRUSTED",
        /// A bug or an unexpected failure; details are in the server log only.
        InternalServerError = "INTERNAL_SERVER_ERROR",
    }
}

/// Every failure the service reports.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Client sees `UNAUTHENTICATED` with this message.
    #[error("{0}")]
    Unauthenticated(String),
    /// Client sees `FORBIDDEN` with this message.
    #[error("{0}")]
    Forbidden(String),
    /// Client sees `BAD_USER_INPUT`, the message and `extensions.field`.
    #[error("{message}")]
    BadInput {
        /// The input field at fault, as a path (`lines[3].amount`).
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// Client sees `NOT_FOUND`.
    #[error("{0}")]
    NotFound(String),
    /// Client sees `CONFLICT`.
    #[error("{0}")]
    Conflict(String),
    /// Client sees `PERIOD_LOCKED`.
    #[error("{0}")]
    PeriodLocked(String),
    /// Client sees `POLICY_VIOLATION`, the clause and any structured details (e.g. failed rules).
    #[error("{message}")]
    PolicyViolation {
        /// The clause id that forbids the request (`§3.1`, `§20`, `§final`).
        clause: String,
        /// Human explanation.
        message: String,
        /// Optional structured detail, e.g. the list of failed rule ids.
        details: Option<serde_json::Value>,
    },
    /// Client sees `SERVICE_UNAVAILABLE`; the cause is logged.
    #[error("the database is unavailable")]
    Unavailable(#[source] DbErr),
    /// Client sees `SERVICE_UNAVAILABLE` with this message: the request ran out of its time
    /// budget, or the same idempotent request is still being executed.
    #[error("{0}")]
    Busy(String),
    /// Client sees `PERSISTED_QUERY_NOT_FOUND` with the message `PersistedQueryNotFound`.
    #[error("PersistedQueryNotFound")]
    PersistedQueryNotFound,
    /// Client sees `PERSISTED_QUERY_NOT_SUPPORTED` with the message `PersistedQueryNotSupported`.
    #[error("PersistedQueryNotSupported")]
    PersistedQueryNotSupported,
    /// Client sees `OPERATION_NOT_TRUSTED` with this message.
    #[error("{0}")]
    NotTrusted(String),
    /// Client sees `INTERNAL_SERVER_ERROR`; the cause is logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Shorthand for service results.
pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    /// A `BAD_USER_INPUT` error naming `field`.
    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::BadInput {
            field: field.into(),
            message: message.into(),
        }
    }

    /// A `POLICY_VIOLATION` error citing `clause`.
    pub fn policy(clause: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::PolicyViolation {
            clause: clause.into(),
            message: message.into(),
            details: None,
        }
    }

    /// An internal error from any displayable cause; the text is logged, never shown.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        AppError::Internal(cause.to_string())
    }

    /// The code the client sees.
    pub fn code(&self) -> ErrorCode {
        match self {
            AppError::Unauthenticated(_) => ErrorCode::Unauthenticated,
            AppError::Forbidden(_) => ErrorCode::Forbidden,
            AppError::BadInput { .. } => ErrorCode::BadUserInput,
            AppError::NotFound(_) => ErrorCode::NotFound,
            AppError::Conflict(_) => ErrorCode::Conflict,
            AppError::PeriodLocked(_) => ErrorCode::PeriodLocked,
            AppError::PolicyViolation { .. } => ErrorCode::PolicyViolation,
            AppError::Unavailable(_) | AppError::Busy(_) => ErrorCode::ServiceUnavailable,
            AppError::PersistedQueryNotFound => ErrorCode::PersistedQueryNotFound,
            AppError::PersistedQueryNotSupported => ErrorCode::PersistedQueryNotSupported,
            AppError::NotTrusted(_) => ErrorCode::OperationNotTrusted,
            AppError::Internal(_) => ErrorCode::InternalServerError,
        }
    }

    /// The HTTP status for errors answered outside GraphQL (exports, imports, request checks).
    pub fn http_status(&self) -> u16 {
        match self.code() {
            ErrorCode::Unauthenticated => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::BadUserInput => 400,
            ErrorCode::NotFound => 404,
            ErrorCode::Conflict | ErrorCode::PeriodLocked => 409,
            ErrorCode::PolicyViolation => 422,
            ErrorCode::ServiceUnavailable => 503,
            // A GraphQL answer telling the client to send the text: Apollo Client and urql read
            // the errors of any JSON answer, and a 200 keeps proxies and fetch wrappers quiet.
            ErrorCode::PersistedQueryNotFound | ErrorCode::PersistedQueryNotSupported => 200,
            ErrorCode::OperationNotTrusted => 400,
            ErrorCode::InternalServerError => 500,
        }
    }

    /// The message the client sees: the variant's text, or a generic one for hidden causes.
    pub fn public_message(&self) -> String {
        match self {
            AppError::Unavailable(_) => {
                "the service is temporarily unavailable; retry later".into()
            }
            AppError::Internal(_) => "internal server error".into(),
            other => other.to_string(),
        }
    }

    /// Logs hidden causes; called once where the error leaves the service.
    fn log_if_hidden(&self) {
        match self {
            AppError::Unavailable(cause) => tracing::warn!(error = %cause, "database unavailable"),
            AppError::Internal(cause) => tracing::error!(error = %cause, "internal error"),
            _ => {}
        }
    }

    /// The GraphQL error a client receives.
    pub fn to_graphql(&self) -> async_graphql::Error {
        self.log_if_hidden();
        async_graphql::Error::new(self.public_message()).extend_with(|_, ext| {
            ext.set("code", self.code().as_str());
            match self {
                AppError::BadInput { field, .. } => ext.set("field", field.as_str()),
                AppError::PolicyViolation {
                    clause, details, ..
                } => {
                    ext.set("clause", clause.as_str());
                    if let Some(Ok(value)) = details.clone().map(async_graphql::Value::from_json) {
                        ext.set("details", value);
                    }
                }
                _ => {}
            }
        })
    }

    /// The same error as a GraphQL `ServerError` (for extensions and request-level failures).
    pub fn to_server_error(&self) -> ServerError {
        // No source position: these errors are about the request or a whole field.
        let mut error = ServerError::new(self.public_message(), None);
        error.extensions = self.to_graphql().extensions;
        if let Some(id) = crate::telemetry::request_id() {
            error
                .extensions
                .get_or_insert_with(Default::default)
                .set("requestId", id);
        }
        error
    }

    /// A JSON body in the GraphQL response shape, for errors raised outside the executor.
    pub fn to_response_body(&self) -> serde_json::Value {
        let response = async_graphql::Response::from_errors(vec![self.to_server_error()]);
        serde_json::to_value(&response).unwrap_or_else(|_| {
            serde_json::json!({"errors": [{"message": "internal server error",
                "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]})
        })
    }
}

impl From<AppError> for async_graphql::Error {
    fn from(err: AppError) -> Self {
        err.to_graphql()
    }
}

/// A refusal of the pure policy, as its variant docs say the client should see it: refusals under
/// the policy are `POLICY_VIOLATION` citing their clause, bad stars or amounts `BAD_USER_INPUT`,
/// and a missing or invalid parameter version (a deployment error) is internal.
impl From<crate::policy::PolicyError> for AppError {
    fn from(err: crate::policy::PolicyError) -> Self {
        use crate::policy::PolicyError;
        match &err {
            PolicyError::OutsidePolicyPeriod { .. }
            | PolicyError::NotEligible { .. }
            | PolicyError::NoRuleSetInForce { .. } => AppError::PolicyViolation {
                clause: err.clause().map_or("§final", |c| c.as_str()).to_string(),
                message: err.to_string(),
                details: None,
            },
            PolicyError::InvalidStars(_) => AppError::bad_input("stars", err.to_string()),
            PolicyError::InvalidAmount(_) => AppError::bad_input("amount", err.to_string()),
            PolicyError::MissingParameter { .. }
            | PolicyError::WrongParameterType { .. }
            | PolicyError::InvalidParameter { .. }
            | PolicyError::Money(_) => AppError::Internal(err.to_string()),
        }
    }
}

/// A reconciliation that cannot be computed: stored data breaking an invariant is internal; a
/// policy refusal maps as [`crate::policy::PolicyError`] does.
impl From<crate::policy::reconciliation::ReconciliationError> for AppError {
    fn from(err: crate::policy::reconciliation::ReconciliationError) -> Self {
        use crate::policy::reconciliation::ReconciliationError;
        match err {
            ReconciliationError::Policy(policy) => AppError::from(policy),
            invalid @ ReconciliationError::InvalidLine { .. } => {
                AppError::Internal(invalid.to_string())
            }
        }
    }
}

/// A settlement refusal: a rate above the cap is `POLICY_VIOLATION` (§20), a bad budget is
/// `BAD_USER_INPUT` on `budget`, inconsistent stored totals are internal.
impl From<crate::policy::settlement::SettlementError> for AppError {
    fn from(err: crate::policy::settlement::SettlementError) -> Self {
        use crate::policy::settlement::SettlementError;
        match err {
            SettlementError::RateOutOfRange { .. } => AppError::PolicyViolation {
                clause: "§20".into(),
                message: err.to_string(),
                details: None,
            },
            SettlementError::InvalidBudget(_) => AppError::bad_input("budget", err.to_string()),
            SettlementError::Policy(policy) => AppError::from(policy),
            SettlementError::InvalidInput(_) => AppError::Internal(err.to_string()),
        }
    }
}

/// Unique keys that mean "this already exists" (see the migrations): PostgreSQL names the
/// index, SQLite names the columns. Each maps to the message a client sees; any other constraint
/// failure is internal.
const UNIQUE_CONFLICTS: &[(&str, &str, &str)] = &[
    (
        "uq_enterprises_credit_code",
        "enterprises.credit_code",
        "an enterprise with this credit code is already registered",
    ),
    (
        "uq_enterprise_figures_enterprise_year",
        "enterprise_figures.enterprise_id, enterprise_figures.year",
        "figures for this year are already recorded",
    ),
    (
        "uq_recognitions_enterprise_year",
        "recognitions.enterprise_id, recognitions.year",
        "the enterprise is already recognised for this year",
    ),
    (
        "uq_star_ratings_enterprise_year",
        "star_ratings.enterprise_id, star_ratings.year",
        "the enterprise is already rated for this year",
    ),
    (
        "uq_star_rewards_enterprise_year",
        "star_rewards.enterprise_id, star_rewards.year",
        "a star reward is already granted for this year",
    ),
    (
        "uq_revocations_enterprise_revoked_on",
        "revocations.enterprise_id, revocations.revoked_on",
        "a revocation on this date is already recorded",
    ),
    (
        "uq_payment_lines_district_voucher",
        "payment_lines.district_code, payment_lines.voucher_no",
        "this voucher number is already reported by the district",
    ),
    (
        "uq_claims_district_year",
        "claims.district_code, claims.fiscal_year",
        "a claim for this district and year already exists",
    ),
    (
        "uq_settlements_year",
        "settlements.fiscal_year",
        "a settlement for this fiscal year already exists",
    ),
    (
        "uq_idempotency_keys_actor_key",
        "idempotency_keys.actor_sub, idempotency_keys.key",
        "this idempotency key was already used",
    ),
];

/// The money bounds of migration `m20260102_000001_money_bounds` and the input field each column
/// is filled from. A violation (PostgreSQL names the CHECK constraint, SQLite's trigger aborts
/// with the same name) is `BAD_USER_INPUT` on that field. The service refuses such amounts with
/// `Money::MAX_INPUT` before writing, so only a path that skipped that check gets here.
const MONEY_BOUNDS: &[(&str, &str)] = &[
    ("ck_payment_lines_basis_fen_bound", "basis"),
    ("ck_payment_lines_amount_fen_bound", "amount"),
    ("ck_enterprise_figures_revenue_fen_bound", "revenue"),
    ("ck_enterprise_figures_rd_spend_fen_bound", "rdSpend"),
    (
        "ck_enterprise_facts_registered_capital_fen_bound",
        "registeredCapital",
    ),
    ("ck_settlements_budget_fen_bound", "budget"),
];

/// Whether the database error means the server cannot be reached (as opposed to a bad statement).
fn is_connection_error(err: &DbErr) -> bool {
    matches!(err, DbErr::ConnectionAcquire(_) | DbErr::Conn(_)) || {
        let text = err.to_string().to_ascii_lowercase();
        text.contains("connection refused")
            || text.contains("pool timed out")
            || text.contains("broken pipe")
            || text.contains("connection reset")
            || text.contains("database is locked")
            || text.contains("terminating connection")
            || text.contains("the database system is")
            || text.contains("not currently accepting connections")
            || text.contains("error communicating with database")
    }
}

/// Whether a connection error says the pool or the database is busy (every connection taken, a
/// SQLite writer holding the lock) rather than that a connection was lost or refused: a busy
/// pool's connections are alive, and testing each before use would only add load.
fn is_busy(err: &DbErr) -> bool {
    matches!(err, DbErr::ConnectionAcquire(ConnAcquireErr::Timeout)) || {
        let text = err.to_string().to_ascii_lowercase();
        text.contains("pool timed out") || text.contains("database is locked")
    }
}

impl From<DbErr> for AppError {
    fn from(err: DbErr) -> Self {
        let text = err.to_string();
        let conflict = UNIQUE_CONFLICTS
            .iter()
            .find(|(index, columns, _)| text.contains(index) || text.contains(columns));
        if let Some((_, _, message)) = conflict {
            return AppError::Conflict((*message).to_string());
        }
        if let Some((_, field)) = MONEY_BOUNDS.iter().find(|(name, _)| text.contains(name)) {
            return AppError::bad_input(
                *field,
                format!(
                    "the amount is beyond the bound: at most {} yuan in absolute value",
                    crate::policy::Money::MAX_INPUT.format_yuan()
                ),
            );
        }
        if matches!(err, DbErr::ConnectionAcquire(_)) {
            crate::metrics::acquire_timed_out();
        }
        if is_connection_error(&err) {
            if !is_busy(&err) {
                crate::db::connection_lost();
            }
            return AppError::Unavailable(err);
        }
        AppError::Internal(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extension(err: &async_graphql::Error, key: &str) -> Option<String> {
        let ext = err.extensions.as_ref()?;
        match ext.get(key)? {
            async_graphql::Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        }
    }

    #[test]
    fn a_busy_pool_or_database_is_not_a_lost_connection() {
        let cases = [
            (DbErr::ConnectionAcquire(ConnAcquireErr::Timeout), true),
            (DbErr::Custom("database is locked".into()), true),
            (DbErr::Custom("pool timed out while waiting".into()), true),
            (
                DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed),
                false,
            ),
            (
                DbErr::Custom("error communicating with database: broken pipe".into()),
                false,
            ),
            (DbErr::Custom("connection refused".into()), false),
        ];
        for (err, busy) in cases {
            assert!(is_connection_error(&err), "{err}");
            assert_eq!(is_busy(&err), busy, "{err}");
        }
    }

    #[test]
    fn every_variant_maps_to_its_documented_code() {
        let cases: Vec<(AppError, &str)> = vec![
            (AppError::Unauthenticated("x".into()), "UNAUTHENTICATED"),
            (AppError::Forbidden("x".into()), "FORBIDDEN"),
            (AppError::bad_input("f", "x"), "BAD_USER_INPUT"),
            (AppError::NotFound("x".into()), "NOT_FOUND"),
            (AppError::Conflict("x".into()), "CONFLICT"),
            (AppError::PeriodLocked("x".into()), "PERIOD_LOCKED"),
            (AppError::policy("§20", "x"), "POLICY_VIOLATION"),
            (
                AppError::Unavailable(DbErr::Custom("down".into())),
                "SERVICE_UNAVAILABLE",
            ),
            (AppError::internal("boom"), "INTERNAL_SERVER_ERROR"),
            (
                AppError::PersistedQueryNotFound,
                "PERSISTED_QUERY_NOT_FOUND",
            ),
            (
                AppError::PersistedQueryNotSupported,
                "PERSISTED_QUERY_NOT_SUPPORTED",
            ),
            (AppError::NotTrusted("x".into()), "OPERATION_NOT_TRUSTED"),
        ];
        for (err, code) in cases {
            assert_eq!(err.code().as_str(), code);
            assert_eq!(extension(&err.to_graphql(), "code").as_deref(), Some(code));
        }
    }

    #[test]
    fn a_bad_input_error_names_its_field() {
        let err = AppError::bad_input("lines[2].amount", "more than 2 decimals").to_graphql();
        assert_eq!(extension(&err, "field").as_deref(), Some("lines[2].amount"));
        assert_eq!(err.message, "more than 2 decimals");
    }

    #[test]
    fn a_policy_violation_cites_its_clause() {
        let err = AppError::policy("§final", "outside the policy period").to_graphql();
        assert_eq!(extension(&err, "clause").as_deref(), Some("§final"));
    }

    #[test]
    fn an_internal_error_never_shows_its_cause() {
        let err = AppError::internal("SELECT * FROM payment_lines failed at src/x.rs:12");
        let shown = err.to_graphql();
        assert_eq!(shown.message, "internal server error");
        assert!(!format!("{shown:?}").contains("payment_lines"));
    }

    #[test]
    fn a_unique_violation_on_a_known_key_is_a_conflict_without_the_key_name() {
        let err = AppError::from(DbErr::Custom(
            "UNIQUE constraint failed: index 'uq_enterprises_credit_code'".into(),
        ));
        assert_eq!(err.code(), ErrorCode::Conflict);
        assert!(!err.public_message().contains("uq_"));
    }

    #[test]
    fn a_sqlite_unique_violation_naming_columns_is_a_conflict() {
        let err = AppError::from(DbErr::Custom(
            "UNIQUE constraint failed: payment_lines.district_code, payment_lines.voucher_no"
                .into(),
        ));
        assert_eq!(err.code(), ErrorCode::Conflict);
    }

    #[test]
    fn a_policy_refusal_cites_its_clause_and_a_missing_parameter_is_internal() {
        use crate::policy::PolicyError;
        let period = AppError::from(PolicyError::OutsidePolicyPeriod {
            year: 2028,
            first: 2023,
            last: 2027,
        });
        assert_eq!(period.code(), ErrorCode::PolicyViolation);
        assert_eq!(
            extension(&period.to_graphql(), "clause").as_deref(),
            Some("§final")
        );
        assert_eq!(
            AppError::from(PolicyError::InvalidStars(6)).code(),
            ErrorCode::BadUserInput
        );
        let missing = AppError::from(PolicyError::MissingParameter {
            name: "star_reward.3".into(),
            district: None,
            on: chrono::NaiveDate::MIN,
        });
        assert_eq!(missing.code(), ErrorCode::InternalServerError);
        assert!(!missing.public_message().contains("star_reward"));
    }

    #[test]
    fn a_money_bound_violation_is_bad_input_naming_the_field_without_sql() {
        let postgres = AppError::from(DbErr::Custom(
            "error returned from database: new row for relation \"payment_lines\" violates \
             check constraint \"ck_payment_lines_amount_fen_bound\""
                .into(),
        ));
        let sqlite = AppError::from(DbErr::Custom(
            "error returned from database: (code: 1811) ck_enterprise_figures_revenue_fen_bound"
                .into(),
        ));
        for (err, field) in [(postgres, "amount"), (sqlite, "revenue")] {
            assert_eq!(err.code(), ErrorCode::BadUserInput);
            let shown = err.to_graphql();
            assert_eq!(extension(&shown, "field").as_deref(), Some(field));
            assert!(
                shown.message.contains("1,000,000,000,000.00"),
                "{}",
                shown.message
            );
            assert!(!shown.message.contains("ck_") && !shown.message.contains("relation"));
        }
    }

    #[test]
    fn every_money_bound_of_the_migrations_is_mapped_and_is_the_services_bound() {
        assert_eq!(
            migration::MONEY_BOUND_FEN,
            crate::policy::Money::MAX_INPUT.fen()
        );
        for (table, column) in migration::BOUNDED_COLUMNS {
            let name = migration::bound_name(table, column);
            assert!(
                MONEY_BOUNDS.iter().any(|(known, _)| *known == name),
                "{name} is not mapped"
            );
        }
        assert_eq!(MONEY_BOUNDS.len(), migration::BOUNDED_COLUMNS.len());
    }

    #[test]
    fn an_unknown_database_error_is_internal() {
        let err = AppError::from(DbErr::Custom("syntax error near FROM".into()));
        assert_eq!(err.code(), ErrorCode::InternalServerError);
        assert_eq!(err.public_message(), "internal server error");
    }
}
