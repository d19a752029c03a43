//! `auditLog`: the append-only record of every write (CITY_FINANCE and AUDITOR only).

use async_graphql::connection::Connection;
use async_graphql::{Context, InputObject, Json, Object, Result, SimpleObject};

use super::pagination::{self, ConnectionTotals, PageArgs};
use super::scalars::DateTime;
use crate::auth::Role;
use crate::error::AppError;
use crate::services::audit::{self as audit_service, AuditFilter};

/// One audited write.
#[derive(SimpleObject, Debug, Clone)]
pub struct AuditEntry {
    /// Sequence number (increasing in time).
    pub id: i64,
    /// When the write was committed (UTC).
    pub at: DateTime,
    /// The actor's token subject.
    pub actor_sub: String,
    /// The actor's role.
    pub actor_role: Role,
    /// The actor's district, for `DISTRICT` actors.
    pub actor_district: Option<String>,
    /// The operation (mutation or command name).
    pub operation: String,
    /// The kind of thing written.
    pub target_type: String,
    /// Its key.
    pub target_id: Option<String>,
    /// Summary of the state before the write (`null` for a creation).
    pub before: Option<Json<serde_json::Value>>,
    /// Summary of the state after the write.
    pub after: Option<Json<serde_json::Value>>,
}

fn parse_json(text: Option<String>) -> Option<Json<serde_json::Value>> {
    text.and_then(|t| serde_json::from_str(&t).ok()).map(Json)
}

/// A stored entry as the API shows it; a stored role this build does not know is an internal
/// error.
impl TryFrom<crate::services::records::AuditRecord> for AuditEntry {
    type Error = AppError;

    fn try_from(m: crate::services::records::AuditRecord) -> Result<Self, AppError> {
        let actor_role = Role::parse(&m.actor_role)
            .ok_or_else(|| AppError::internal(format!("unknown stored role `{}`", m.actor_role)))?;
        Ok(AuditEntry {
            id: m.id,
            at: m.at.into(),
            actor_sub: m.actor_sub,
            actor_role,
            actor_district: m.actor_district,
            operation: m.operation,
            target_type: m.target_type,
            target_id: m.target_id,
            before: parse_json(m.before),
            after: parse_json(m.after),
        })
    }
}

/// Filters of `auditLog`; all optional, combined with AND.
#[derive(InputObject, Debug, Default)]
pub struct AuditLogFilter {
    /// Only this operation, e.g. `registerEnterprise`.
    pub operation: Option<String>,
    /// Only this target type, e.g. `enterprise`.
    pub target_type: Option<String>,
    /// Only this target key.
    pub target_id: Option<String>,
    /// Only writes by this token subject.
    pub actor_sub: Option<String>,
}

/// The audit log query.
#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// The audit log, newest first, as a Relay connection.
    #[graphql(complexity = "pagination::cost(first, last, child_complexity)")]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Filters, combined with AND.")] filter: Option<AuditLogFilter>,
        #[graphql(desc = "Entries after this cursor.")] after: Option<String>,
        #[graphql(desc = "Entries before this cursor.")] before: Option<String>,
        #[graphql(desc = "The first N entries (1 to the maximum page size).")] first: Option<i32>,
        #[graphql(desc = "The last N entries (1 to the maximum page size).")] last: Option<i32>,
    ) -> Result<Connection<String, AuditEntry, ConnectionTotals>> {
        let state = super::state(ctx)?;
        let filter = filter.unwrap_or_default();
        let filter = AuditFilter {
            operation: filter.operation,
            target_type: filter.target_type,
            target_id: filter.target_id,
            actor_sub: filter.actor_sub,
        };
        let args = PageArgs {
            after,
            before,
            first,
            last,
        };
        let total = audit_service::count(&state.db, &filter).await?;
        let window = args.window(total, state.pages)?;
        let rows = audit_service::list(&state.db, &filter, window.offset, window.limit).await?;
        let items = rows
            .into_iter()
            .map(AuditEntry::try_from)
            .collect::<Result<_, _>>()?;
        Ok(pagination::connection(items, window, total))
    }
}
