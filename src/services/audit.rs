//! The append-only audit log: every write records who, when, what, and before/after, in the
//! transaction of the write itself.

use chrono::Utc;
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde_json::Value;

use crate::auth::Actor;
use crate::error::AppResult;
use entity::audit_log;

/// What one write did.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    /// The operation, as the GraphQL mutation or command is named (`registerEnterprise`).
    pub operation: &'static str,
    /// The kind of thing written (`enterprise`, `payment_line`, ...).
    pub target_type: &'static str,
    /// Its key (credit code, id, `330106/2024`, ...).
    pub target_id: Option<String>,
    /// A summary of the state before (None for a creation).
    pub before: Option<Value>,
    /// A summary of the state after (None for a deletion).
    pub after: Option<Value>,
}

/// Appends `entry` for `actor` using `conn` (pass the write's transaction).
///
/// # Errors
/// Database errors.
pub async fn record<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    entry: AuditEntry,
) -> AppResult<()> {
    let row = audit_log::ActiveModel {
        id: NotSet,
        at: Set(Utc::now()),
        actor_sub: Set(actor.sub.clone()),
        actor_role: Set(actor.role.as_str().to_string()),
        actor_district: Set(actor.district.clone()),
        operation: Set(entry.operation.to_string()),
        target_type: Set(entry.target_type.to_string()),
        target_id: Set(entry.target_id),
        before: Set(entry.before.map(|v| v.to_string())),
        after: Set(entry.after.map(|v| v.to_string())),
    };
    audit_log::Entity::insert(row).exec(conn).await?;
    Ok(())
}

/// Filters of the audit log query.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only this operation.
    pub operation: Option<String>,
    /// Only this target type.
    pub target_type: Option<String>,
    /// Only this target id.
    pub target_id: Option<String>,
    /// Only this actor subject.
    pub actor_sub: Option<String>,
}

fn filtered(filter: &AuditFilter) -> sea_orm::Select<audit_log::Entity> {
    let mut query = audit_log::Entity::find();
    if let Some(op) = &filter.operation {
        query = query.filter(audit_log::Column::Operation.eq(op.clone()));
    }
    if let Some(t) = &filter.target_type {
        query = query.filter(audit_log::Column::TargetType.eq(t.clone()));
    }
    if let Some(id) = &filter.target_id {
        query = query.filter(audit_log::Column::TargetId.eq(id.clone()));
    }
    if let Some(sub) = &filter.actor_sub {
        query = query.filter(audit_log::Column::ActorSub.eq(sub.clone()));
    }
    query
}

/// How many entries match `filter`.
///
/// # Errors
/// Database errors.
pub async fn count<C: ConnectionTrait>(conn: &C, filter: &AuditFilter) -> AppResult<u64> {
    Ok(filtered(filter).count(conn).await?)
}

/// Entries matching `filter`, newest first, `limit` of them from `offset`.
///
/// # Errors
/// Database errors.
pub async fn list<C: ConnectionTrait>(
    conn: &C,
    filter: &AuditFilter,
    offset: u64,
    limit: u64,
) -> AppResult<Vec<audit_log::Model>> {
    Ok(filtered(filter)
        .order_by_desc(audit_log::Column::Id)
        .offset(offset)
        .limit(limit)
        .all(conn)
        .await?)
}
