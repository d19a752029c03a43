//! The append-only audit log: every write records who, when, what, and before/after, in the
//! transaction of the write itself.
//!
//! The entries form a hash chain: each stores `prev_hash`, the hash of the entry before it (64
//! zeros for the first), and `hash = SHA-256(prev_hash ‖ canonical bytes)`, where the canonical
//! bytes (`migration::canonical_bytes`) encode id, time, actor, operation, target and the stored
//! before/after text, each length-prefixed. Appending locks the one-row chain head first
//! (`SELECT … FOR UPDATE` on PostgreSQL; SQLite write transactions are serial), so concurrent
//! writers on any number of instances extend one chain in one order, and the head moves in the
//! same transaction as the write. [`verify`] walks the chain in id order, a page at a time.

use chrono::{SubsecRound, Utc};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde_json::Value;

use crate::auth::Actor;
use crate::error::{AppError, AppResult};
use crate::services::keyset::{self, KeyOrder, KeyPart, Page, PageRequest};
use entity::{audit_chain_head, audit_log};
use migration::{ChainFields, GENESIS_HASH, chain_hash};
use sea_orm::sea_query::Expr;

/// Entries read per page while verifying: memory stays bounded whatever the log's length.
pub const VERIFY_PAGE: u64 = 1_000;

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

/// Appends `entry` for `actor` using `conn` (pass the write's transaction) and returns the new
/// chain head hash (the entry's own hash). Locks the chain head until the transaction ends.
///
/// # Errors
/// Database errors; internal error when the chain head row is missing.
pub async fn record<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    entry: AuditEntry,
) -> AppResult<String> {
    record_many(conn, actor, vec![entry])
        .await?
        .ok_or_else(|| AppError::internal("an audit entry was not recorded"))
}

/// Appends `entries`, in their order, for `actor` using `conn` (pass the write's transaction):
/// what [`record`] does for each, with the statements shared: the head is locked and moved once,
/// and each [`RECORD_CHUNK`] entries are inserted in one statement and given their links and
/// hashes in another. Returns the new head hash, or `None` for no entries.
///
/// # Errors
/// Database errors; internal error when the chain head row is missing or an entry is not
/// returned by its insert.
pub async fn record_many<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    entries: Vec<AuditEntry>,
) -> AppResult<Option<String>> {
    if entries.is_empty() {
        return Ok(None);
    }
    let head = lock_head(conn).await?;
    let at = Utc::now().trunc_subsecs(6);
    let count = entries.len();
    let rows: Vec<audit_log::ActiveModel> = entries
        .into_iter()
        .map(|entry| audit_log::ActiveModel {
            id: NotSet,
            at: Set(at),
            actor_sub: Set(actor.sub.clone()),
            actor_role: Set(actor.role.as_str().to_string()),
            actor_district: Set(actor.district.clone()),
            operation: Set(entry.operation.to_string()),
            target_type: Set(entry.target_type.to_string()),
            target_id: Set(entry.target_id),
            before: Set(entry.before.map(|v| v.to_string())),
            after: Set(entry.after.map(|v| v.to_string())),
            // Both are set once the ids are known: the hash covers the id.
            prev_hash: Set(String::new()),
            hash: Set(String::new()),
        })
        .collect();
    let backend = conn.get_database_backend();
    let mut prev = head.hash.clone();
    let mut last_id = None;
    for chunk in super::owned_chunks(rows, RECORD_CHUNK) {
        let expected = chunk.len();
        let mut stored = audit_log::Entity::insert_many(chunk)
            .exec_with_returning(conn)
            .await?;
        if stored.len() != expected {
            return Err(AppError::internal(
                "an audit entry was not returned by its insert",
            ));
        }
        // One insert numbers its rows in their order, so id order is the entries' order.
        stored.sort_by_key(|row| row.id);
        let mut values: Vec<sea_orm::Value> = Vec::with_capacity(expected * 5);
        let mut next = |value: sea_orm::Value| {
            values.push(value);
            match backend {
                DbBackend::Postgres => format!("${}", values.len()),
                _ => format!("?{}", values.len()),
            }
        };
        let (mut prev_case, mut hash_case, mut ids) = (String::new(), String::new(), Vec::new());
        for row in &stored {
            let hash = chain_hash(&prev, &fields(row));
            let prev_hash = std::mem::replace(&mut prev, hash.clone());
            let id = next(row.id.into());
            prev_case.push_str(&format!(" WHEN {id} THEN {}", next(prev_hash.into())));
            hash_case.push_str(&format!(" WHEN {id} THEN {}", next(hash.into())));
            ids.push(id);
            last_id = Some(row.id);
        }
        let sql = format!(
            "UPDATE audit_log SET prev_hash = CASE id{prev_case} END, \
             hash = CASE id{hash_case} END WHERE id IN ({})",
            ids.join(", ")
        );
        conn.execute_raw(sea_orm::Statement::from_sql_and_values(
            backend, sql, values,
        ))
        .await?;
    }
    audit_chain_head::Entity::update_many()
        .col_expr(audit_chain_head::Column::LastId, Expr::value(last_id))
        .col_expr(audit_chain_head::Column::Hash, Expr::value(prev.clone()))
        .col_expr(
            audit_chain_head::Column::Entries,
            Expr::value(head.entries + i64::try_from(count).unwrap_or(i64::MAX)),
        )
        .filter(audit_chain_head::Column::Id.eq(HEAD_ID))
        .exec(conn)
        .await?;
    Ok(Some(prev))
}

/// Entries inserted and linked per statement by [`record_many`] (3 bound values each in the
/// update, 12 in the insert: well under both databases' limits).
const RECORD_CHUNK: usize = 1_000;

/// The id of the chain head's one row.
const HEAD_ID: i64 = 1;

/// Reads the chain head, locking it for the rest of the transaction on PostgreSQL (on SQLite the
/// write transaction holds the database). Every write transaction takes it first, in
/// [`super::tx::begin_write`], so no two writers ever wait on each other in opposite orders.
pub(super) async fn lock_head<C: ConnectionTrait>(conn: &C) -> AppResult<audit_chain_head::Model> {
    let mut query = audit_chain_head::Entity::find_by_id(HEAD_ID);
    if conn.get_database_backend() == DbBackend::Postgres {
        query = query.lock_exclusive();
    }
    query
        .one(conn)
        .await?
        .ok_or_else(|| AppError::internal("the audit chain head row is missing"))
}

/// The chain head as recorded: the last entry's id and hash, and the count of entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    /// The last entry's id; `None` while the log is empty.
    pub last_id: Option<i64>,
    /// The last entry's hash (64 zeros while the log is empty).
    pub hash: String,
    /// How many entries the chain holds.
    pub entries: i64,
}

/// What is wrong with an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainFault {
    /// Its stored hash does not match its content: a column was changed after it was written,
    /// or it was written outside the service.
    Content,
    /// Its `prev_hash` is no stored entry's hash: the entry before it was deleted.
    Link,
    /// Its `prev_hash` is the hash of another entry than its predecessor: entries were moved.
    Order,
    /// It is not part of the chain: it comes after the recorded chain head, or the entry after
    /// it links past it. It was written outside the service.
    Inserted,
    /// The log ends before the recorded chain head: the last entries were deleted.
    Head,
}

/// The first wrong entry found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    /// The entry's id.
    pub entry_id: i64,
    /// What is wrong.
    pub fault: ChainFault,
    /// A sentence saying what is wrong, naming the entries involved.
    pub detail: String,
}

/// The outcome of [`verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// Entries checked (up to and including a wrong one).
    pub entries_checked: u64,
    /// The first entry checked.
    pub first_id: Option<i64>,
    /// The last entry checked.
    pub last_id: Option<i64>,
    /// The hash of the last entry checked.
    pub last_hash: Option<String>,
    /// The chain head as recorded when the walk began.
    pub head: ChainHead,
    /// The first wrong entry, if any.
    pub broken: Option<ChainBreak>,
}

fn fields(row: &audit_log::Model) -> ChainFields<'_> {
    ChainFields {
        id: row.id,
        at: &row.at,
        actor_role: &row.actor_role,
        actor_sub: &row.actor_sub,
        actor_district: row.actor_district.as_deref(),
        operation: &row.operation,
        target_type: &row.target_type,
        target_id: row.target_id.as_deref(),
        before: row.before.as_deref(),
        after: row.after.as_deref(),
    }
}

/// Walks the chain in id order from entry `from` to entry `to` (inclusive; default the whole
/// log), [`VERIFY_PAGE`] entries at a time, in one consistent snapshot, and returns the first
/// entry whose link, order or content is wrong. A range that starts after the first entry is
/// anchored on the stored hash of the entry before it. A walk that reaches the end of the log
/// also checks it against the recorded chain head.
///
/// # Errors
/// `BAD_USER_INPUT` on `from`/`to` when not positive or `from > to`; database errors.
pub async fn verify(
    db: &sea_orm::DatabaseConnection,
    from: Option<i64>,
    to: Option<i64>,
) -> AppResult<Verification> {
    for (field, value) in [("from", from), ("to", to)] {
        if value.is_some_and(|v| v < 1) {
            return Err(AppError::bad_input(field, "give a positive entry id"));
        }
    }
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(AppError::bad_input("to", "`to` must not be before `from`"));
    }
    // One snapshot: entries appended while the walk runs are neither seen nor mistaken for
    // entries beyond the head.
    let txn = super::tx::begin_snapshot(db).await?;
    let head_row = audit_chain_head::Entity::find_by_id(HEAD_ID)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::internal("the audit chain head row is missing"))?;
    let head = ChainHead {
        last_id: head_row.last_id,
        hash: head_row.hash,
        entries: head_row.entries,
    };
    let result = walk(&txn, from, to, head).await;
    txn.rollback().await?;
    result
}

async fn walk<C: ConnectionTrait>(
    conn: &C,
    from: Option<i64>,
    to: Option<i64>,
    head: ChainHead,
) -> AppResult<Verification> {
    // The anchor: the stored hash of the entry before the range, or the genesis hash.
    let before_range = match from {
        Some(from) => {
            audit_log::Entity::find()
                .filter(audit_log::Column::Id.lt(from))
                .order_by_desc(audit_log::Column::Id)
                .one(conn)
                .await?
        }
        None => None,
    };
    let mut expected_prev = before_range
        .as_ref()
        .map_or_else(|| GENESIS_HASH.to_owned(), |row| row.hash.clone());
    let mut prev_id = before_range.map(|row| row.id);
    let mut out = Verification {
        entries_checked: 0,
        first_id: None,
        last_id: None,
        last_hash: None,
        head,
        broken: None,
    };
    let mut cursor = from.map(|f| f - 1);
    loop {
        let mut page = audit_log::Entity::find()
            .order_by_asc(audit_log::Column::Id)
            .limit(VERIFY_PAGE);
        if let Some(after) = cursor {
            page = page.filter(audit_log::Column::Id.gt(after));
        }
        if let Some(to) = to {
            page = page.filter(audit_log::Column::Id.lte(to));
        }
        let rows = page.all(conn).await?;
        let Some(last) = rows.last() else { break };
        cursor = Some(last.id);
        let full_page = rows.len() as u64 == VERIFY_PAGE;
        for row in rows {
            out.entries_checked += 1;
            out.first_id.get_or_insert(row.id);
            out.last_id = Some(row.id);
            if let Some(fault) = check(conn, &row, prev_id, &expected_prev, &out.head).await? {
                out.broken = Some(fault);
                out.last_hash = Some(row.hash);
                return Ok(out);
            }
            prev_id = Some(row.id);
            expected_prev = row.hash.clone();
            out.last_hash = Some(row.hash);
        }
        if !full_page {
            break;
        }
    }
    // The walk reached the end of the log (or of the range): does the head agree?
    let reached_head = match (to, out.head.last_id) {
        (Some(to), Some(last)) => to >= last,
        _ => true,
    };
    if reached_head && (prev_id != out.head.last_id || expected_prev != out.head.hash) {
        let named = out.head.last_id.or(prev_id).unwrap_or(0);
        out.broken = Some(ChainBreak {
            entry_id: named,
            fault: ChainFault::Head,
            detail: match (out.head.last_id, prev_id) {
                (Some(head_id), Some(end)) if end < head_id => format!(
                    "the chain head records entry {head_id}, but the log ends at entry {end}: \
                     the last entries were deleted"
                ),
                (Some(head_id), None) => format!(
                    "the chain head records entry {head_id}, but the log holds none: the \
                     entries were deleted"
                ),
                (head_id, _) => format!(
                    "the chain head records entry {} with hash {}, not the log's last entry",
                    head_id.map_or_else(|| "none".to_owned(), |id| id.to_string()),
                    out.head.hash
                ),
            },
        });
    }
    Ok(out)
}

/// The fault of `row`, if any, given the entry before it.
async fn check<C: ConnectionTrait>(
    conn: &C,
    row: &audit_log::Model,
    prev_id: Option<i64>,
    expected_prev: &str,
    head: &ChainHead,
) -> AppResult<Option<ChainBreak>> {
    let after_head = head.last_id.is_none_or(|last| row.id > last);
    if after_head {
        return Ok(Some(ChainBreak {
            entry_id: row.id,
            fault: ChainFault::Inserted,
            detail: format!(
                "entry {} comes after the recorded chain head ({}): it was written outside the \
                 service",
                row.id,
                head.last_id
                    .map_or_else(|| "an empty log".to_owned(), |id| format!("entry {id}"))
            ),
        }));
    }
    if row.prev_hash != expected_prev {
        let after = match prev_id {
            Some(id) => format!("entry {id}"),
            None => "the start of the chain".to_owned(),
        };
        let holder = audit_log::Entity::find()
            .filter(audit_log::Column::Hash.eq(row.prev_hash.clone()))
            .filter(audit_log::Column::Id.ne(row.id))
            .one(conn)
            .await?;
        return Ok(Some(match holder {
            // It links past its predecessor: the entries between were never chained.
            Some(other) if prev_id.is_some_and(|p| other.id < p) && other.id < row.id => {
                let intruder = audit_log::Entity::find()
                    .filter(audit_log::Column::Id.gt(other.id))
                    .order_by_asc(audit_log::Column::Id)
                    .one(conn)
                    .await?
                    .map_or(row.id, |r| r.id);
                ChainBreak {
                    entry_id: intruder,
                    fault: ChainFault::Inserted,
                    detail: format!(
                        "entry {intruder} is not in the chain: entry {} links past it to entry \
                         {}; it was written outside the service",
                        row.id, other.id
                    ),
                }
            }
            Some(other) => ChainBreak {
                entry_id: row.id,
                fault: ChainFault::Order,
                detail: format!(
                    "entry {} comes after {after} but links to entry {}: entries were moved",
                    row.id, other.id
                ),
            },
            None => ChainBreak {
                entry_id: row.id,
                fault: ChainFault::Link,
                detail: format!(
                    "entry {} does not link to {after}, nor to any stored entry: the entry it \
                     followed was deleted",
                    row.id
                ),
            },
        }));
    }
    if chain_hash(&row.prev_hash, &fields(row)) != row.hash {
        return Ok(Some(ChainBreak {
            entry_id: row.id,
            fault: ChainFault::Content,
            detail: format!(
                "entry {}'s content does not match its hash: a column was changed after it was \
                 written, or it was written outside the service",
                row.id
            ),
        }));
    }
    Ok(None)
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

/// One entry by id.
///
/// # Errors
/// Database errors.
pub async fn entry<C: ConnectionTrait>(conn: &C, id: i64) -> AppResult<Option<audit_log::Model>> {
    Ok(audit_log::Entity::find_by_id(id).one(conn).await?)
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

/// One page of the entries matching `filter`, newest first, by id (one statement on the
/// primary key).
///
/// # Errors
/// Database errors.
pub async fn page<C: ConnectionTrait>(
    conn: &C,
    filter: &AuditFilter,
    request: &PageRequest,
) -> AppResult<Page<audit_log::Model>> {
    let key = KeyOrder::desc(vec![Expr::col((audit_log::Entity, audit_log::Column::Id))]);
    let rows = keyset::apply(filtered(filter), &key, request)
        .all(conn)
        .await?;
    Ok(keyset::finish(rows, request, |row| {
        vec![KeyPart::Int(row.id)]
    }))
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use migration::{ChainFields, GENESIS_HASH, chain_hash};

    /// The canonical form is a contract with every chain already stored: these hashes were
    /// computed outside the service from the form README ("Audit log") documents, and a change
    /// to the encoding fails here before it breaks a deployed log.
    #[test]
    fn the_chain_hash_follows_the_documented_canonical_form() {
        let at = Utc
            .with_ymd_and_hms(2024, 3, 1, 8, 30, 0)
            .unwrap()
            .checked_add_signed(chrono::Duration::nanoseconds(123_456_789))
            .unwrap();
        let first = chain_hash(
            GENESIS_HASH,
            &ChainFields {
                id: 7,
                at: &at,
                actor_role: "DISTRICT",
                actor_sub: "district:330106",
                actor_district: Some("330106"),
                operation: "reportPayments",
                target_type: "payment_lines",
                target_id: Some("330106/2024"),
                before: None,
                after: Some(r#"{"amountFen":100}"#),
            },
        );
        assert_eq!(
            first,
            "ef9ba679130ba8f84c2d51c0282250fae506901e3ef6ca560a6109429a91efa9"
        );
        let at = Utc.with_ymd_and_hms(2024, 3, 1, 8, 30, 1).unwrap();
        let second = chain_hash(
            &first,
            &ChainFields {
                id: 8,
                at: &at,
                actor_role: "CITY_FINANCE",
                actor_sub: "cli:city_finance",
                actor_district: None,
                operation: "approveSettlement",
                target_type: "settlement",
                target_id: Some("2024"),
                before: Some(r#"{"status":"DRAFT"}"#),
                after: Some(r#"{"status":"APPROVED"}"#),
            },
        );
        assert_eq!(
            second,
            "235fc4762bf2a8eaac3a5efebe1053c5938ffc96429645d840bc4e5907456825"
        );
    }

    /// Length prefixes keep field boundaries: moving text from one field to the next, or a
    /// null to an empty string, changes the hash.
    #[test]
    fn moving_text_between_fields_changes_the_hash() {
        let at = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        let entry = |sub: &'static str, district: Option<&'static str>| ChainFields {
            id: 1,
            at: &at,
            actor_role: "DISTRICT",
            actor_sub: sub,
            actor_district: district,
            operation: "op",
            target_type: "t",
            target_id: None,
            before: None,
            after: None,
        };
        let a = chain_hash(GENESIS_HASH, &entry("ab", Some("c")));
        let b = chain_hash(GENESIS_HASH, &entry("a", Some("bc")));
        let c = chain_hash(GENESIS_HASH, &entry("abc", None));
        let d = chain_hash(GENESIS_HASH, &entry("abc", Some("")));
        assert_ne!(a, b);
        assert_ne!(c, d);
        assert_ne!(a, c);
    }
}
