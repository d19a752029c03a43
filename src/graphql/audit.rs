//! `auditLog`: the append-only record of every write, and `verifyAuditLog`: the check of its
//! hash chain (CITY_FINANCE and AUDITOR only).

use async_graphql::connection::Connection;
use async_graphql::{
    ComplexObject, Context, Enum, ID, InputObject, Json, Object, Result, SimpleObject,
};

use super::pagination::{self, ConnectionTotals, CursorSpec, KeyKind, PageArgs};
use super::scalars::DateTime;
use crate::auth::Role;
use crate::error::AppError;
use crate::services::audit::{self as audit_service, AuditFilter, ChainFault, Verification};

/// One audited write.
#[derive(SimpleObject, Debug, Clone)]
#[graphql(complex)]
pub struct AuditEntry {
    /// The entry's database id: a sequence number, increasing in time (`verifyAuditLog` ranges
    /// use it).
    pub database_id: i64,
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
    /// The hash of the entry before it in the chain (64 zeros for the first entry).
    pub prev_hash: String,
    /// SHA-256 of `prevHash` and the entry's canonical bytes (README, "Audit log").
    pub hash: String,
}

#[ComplexObject]
impl AuditEntry {
    /// Opaque global id (`Node`); `node(id:)` refetches it.
    pub(super) async fn id(&self, _ctx: &Context<'_>) -> Result<ID> {
        Ok(super::node::global_id(
            super::node::NodeKind::AuditEntry,
            &[&self.database_id],
        ))
    }
}

fn parse_json(text: Option<String>) -> Option<Json<serde_json::Value>> {
    text.and_then(|t| serde_json::from_str(&t).ok()).map(Json)
}

/// A stored entry as the API shows it; a stored role this build does not know is an internal
/// error.
impl TryFrom<crate::services::records::AuditRecord> for AuditEntry {
    type Error = AppError;

    fn try_from(m: crate::services::records::AuditRecord) -> Result<Self, AppError> {
        let actor_role: Role = m.actor_role.parse().map_err(AppError::internal)?;
        Ok(AuditEntry {
            database_id: m.id,
            at: m.at.into(),
            actor_sub: m.actor_sub,
            actor_role,
            actor_district: m.actor_district,
            operation: m.operation,
            target_type: m.target_type,
            target_id: m.target_id,
            before: parse_json(m.before),
            after: parse_json(m.after),
            prev_hash: m.prev_hash,
            hash: m.hash,
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

/// What is wrong with an audit entry.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditChainFaultKind {
    /// Its hash does not match its content: a column was changed after it was written, or it
    /// was written outside the service.
    Content,
    /// It links to no stored entry: the entry before it was deleted.
    Link,
    /// It links to another entry than the one before it: entries were moved.
    Order,
    /// It is not part of the chain (it comes after the chain head, or the entry after it links
    /// past it): it was written outside the service.
    Inserted,
    /// The log ends before the recorded chain head: the last entries were deleted.
    Head,
}

impl From<ChainFault> for AuditChainFaultKind {
    fn from(fault: ChainFault) -> Self {
        match fault {
            ChainFault::Content => AuditChainFaultKind::Content,
            ChainFault::Link => AuditChainFaultKind::Link,
            ChainFault::Order => AuditChainFaultKind::Order,
            ChainFault::Inserted => AuditChainFaultKind::Inserted,
            ChainFault::Head => AuditChainFaultKind::Head,
        }
    }
}

/// The first wrong entry of the audit chain.
#[derive(SimpleObject, Debug, Clone)]
pub struct AuditChainFault {
    /// The entry's id.
    pub entry_id: i64,
    /// What is wrong.
    pub kind: AuditChainFaultKind,
    /// A sentence saying what is wrong, naming the entries involved.
    pub message: String,
}

/// The outcome of walking the audit chain.
#[derive(SimpleObject, Debug, Clone)]
pub struct AuditVerification {
    /// Whether every entry checked is intact (and, when the walk reached the end of the log, the
    /// log ends at the recorded chain head).
    pub intact: bool,
    /// How many entries were checked (up to and including the wrong one).
    pub entries_checked: i64,
    /// The first entry checked.
    pub first_id: Option<i64>,
    /// The last entry checked.
    pub last_id: Option<i64>,
    /// The hash of the last entry checked.
    pub last_hash: Option<String>,
    /// The id of the last entry as the chain head records it.
    pub head_id: Option<i64>,
    /// The chain head hash (what an approved settlement's `auditHeadAtApproval` is compared with).
    pub head_hash: String,
    /// How many entries the chain head records.
    pub head_entries: i64,
    /// The first wrong entry, when not intact.
    pub fault: Option<AuditChainFault>,
}

impl From<Verification> for AuditVerification {
    fn from(v: Verification) -> Self {
        AuditVerification {
            intact: v.broken.is_none(),
            entries_checked: i64::try_from(v.entries_checked).unwrap_or(i64::MAX),
            first_id: v.first_id,
            last_id: v.last_id,
            last_hash: v.last_hash,
            head_id: v.head.last_id,
            head_hash: v.head.hash,
            head_entries: v.head.entries,
            fault: v.broken.map(|b| AuditChainFault {
                entry_id: b.entry_id,
                kind: b.fault.into(),
                message: b.detail,
            }),
        }
    }
}

/// The cursors of `auditLog`: the entry's id.
const AUDIT_CURSOR: CursorSpec = CursorSpec {
    list: "auditLog",
    key: &[KeyKind::Int],
};

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
        let request = args.request(&AUDIT_CURSOR, state.pages)?;
        let page = audit_service::page(&state.db, &filter, &request).await?;
        let db = state.db.clone();
        let totals = ConnectionTotals::lazy(move || {
            let (db, filter) = (db.clone(), filter.clone());
            async move { audit_service::count(&db, &filter).await }
        });
        Ok(pagination::connection(
            &AUDIT_CURSOR,
            page.try_map(AuditEntry::try_from)?,
            totals,
        ))
    }

    /// Walks the audit log's hash chain in id order from entry `from` to entry `to` (default:
    /// the whole log) and names the first entry whose content, order or link is wrong, or says
    /// it is intact with the chain head. A range starting after the first entry is anchored on
    /// the stored hash of the entry before it.
    async fn verify_audit_log(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The first entry id to check (default: the first entry).")] from: Option<
            i64,
        >,
        #[graphql(desc = "The last entry id to check (default: the last entry).")] to: Option<i64>,
    ) -> Result<AuditVerification> {
        let state = super::state(ctx)?;
        Ok(audit_service::verify(&state.db, from, to).await?.into())
    }
}
