//! Chains the audit log: every entry stores `prev_hash` and `hash = SHA-256(prev_hash ‖ canonical
//! bytes of the entry)`, so an entry edited, deleted, reordered or inserted outside the service
//! breaks the chain at that entry. A one-row `audit_chain_head` table holds the last entry's id,
//! hash and the count of entries; every append locks it (`SELECT … FOR UPDATE` on PostgreSQL;
//! SQLite's write transactions are serial already), which puts the entries of concurrent writers
//! and of several instances in one strict order. Settlements get `audit_head_at_approval`, the
//! chain head an approval pins.
//!
//! The rows already stored are hashed here, in id order, so the chain covers the history. The
//! canonical form is defined in this file ([`canonical_bytes`]) and is frozen with it: the service
//! appends and verifies with these functions, so the entries hashed by this migration and those
//! appended later are one chain. A new form would be a new migration with a new version tag.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;
use sea_orm_migration::sea_orm::prelude::ChronoDateTimeUtc;
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first entry: 64 zeros.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Entries hashed per page while backfilling.
const PAGE: u64 = 1_000;

/// The hashed content of one audit entry, as stored.
#[derive(Debug, Clone, Copy)]
pub struct ChainFields<'a> {
    /// `audit_log.id`.
    pub id: i64,
    /// `audit_log.at` (hashed to the microsecond, the precision both databases keep).
    pub at: &'a ChronoDateTimeUtc,
    /// `audit_log.actor_role`.
    pub actor_role: &'a str,
    /// `audit_log.actor_sub`.
    pub actor_sub: &'a str,
    /// `audit_log.actor_district`.
    pub actor_district: Option<&'a str>,
    /// `audit_log.operation`.
    pub operation: &'a str,
    /// `audit_log.target_type`.
    pub target_type: &'a str,
    /// `audit_log.target_id`.
    pub target_id: Option<&'a str>,
    /// `audit_log.before`, the stored JSON text byte for byte.
    pub before: Option<&'a str>,
    /// `audit_log.after`, the stored JSON text byte for byte.
    pub after: Option<&'a str>,
}

/// The canonical bytes of an entry (version 1): the ten fields in the order id, at, actor_role,
/// actor_sub, actor_district, operation, target_type, target_id, before, after, each written as
/// `0x00` for NULL or as `0x01`, its length in bytes as a big-endian `u64`, and its UTF-8 bytes.
/// `id` is written in decimal, `at` as `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC, microseconds,
/// truncated), the JSON columns as stored. The length prefixes make the encoding injective: no two
/// different entries have the same bytes.
pub fn canonical_bytes(entry: &ChainFields<'_>) -> Vec<u8> {
    let id = entry.id.to_string();
    let at = entry.at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
    let fields: [Option<&str>; 10] = [
        Some(&id),
        Some(&at),
        Some(entry.actor_role),
        Some(entry.actor_sub),
        entry.actor_district,
        Some(entry.operation),
        Some(entry.target_type),
        entry.target_id,
        entry.before,
        entry.after,
    ];
    let mut out = Vec::with_capacity(128);
    for field in fields {
        match field {
            None => out.push(0),
            Some(text) => {
                out.push(1);
                out.extend_from_slice(&(text.len() as u64).to_be_bytes());
                out.extend_from_slice(text.as_bytes());
            }
        }
    }
    out
}

/// `hash = SHA-256(prev_hash ‖ canonical bytes)`, in lower-case hex; `prev_hash` enters as its
/// 64 hex characters.
pub fn chain_hash(prev_hash: &str, entry: &ChainFields<'_>) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(canonical_bytes(entry));
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [AuditLog::PrevHash, AuditLog::Hash] {
            manager
                .alter_table(
                    Table::alter()
                        .table(AuditLog::Table)
                        .add_column(ColumnDef::new(column).text().not_null().default(""))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Settlements::Table)
                    .add_column(
                        ColumnDef::new(Settlements::AuditHeadAtApproval)
                            .text()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuditChainHead::Table)
                    .col(
                        ColumnDef::new(AuditChainHead::Id)
                            .big_integer()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(AuditChainHead::LastId).big_integer().null())
                    .col(ColumnDef::new(AuditChainHead::Hash).text().not_null())
                    .col(
                        ColumnDef::new(AuditChainHead::Entries)
                            .big_integer()
                            .not_null(),
                    )
                    .check(Expr::col(AuditChainHead::Id).eq(1))
                    .to_owned(),
            )
            .await?;

        let (last_id, head, entries) = hash_history(manager).await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(AuditChainHead::Table)
                    .columns([
                        AuditChainHead::Id,
                        AuditChainHead::LastId,
                        AuditChainHead::Hash,
                        AuditChainHead::Entries,
                    ])
                    .values_panic([1i64.into(), last_id.into(), head.into(), entries.into()])
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuditChainHead::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Settlements::Table)
                    .drop_column(Settlements::AuditHeadAtApproval)
                    .to_owned(),
            )
            .await?;
        for column in [AuditLog::Hash, AuditLog::PrevHash] {
            manager
                .alter_table(
                    Table::alter()
                        .table(AuditLog::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

/// Hashes the stored entries in id order, a page at a time; returns the last id, the head hash
/// and the count.
async fn hash_history(manager: &SchemaManager<'_>) -> Result<(Option<i64>, String, i64), DbErr> {
    let conn = manager.get_connection();
    let backend: DbBackend = manager.get_database_backend();
    let mut prev = GENESIS_HASH.to_owned();
    let mut last_id: Option<i64> = None;
    let mut entries = 0i64;
    loop {
        let mut select = Query::select();
        select
            .columns([
                AuditLog::Id,
                AuditLog::At,
                AuditLog::ActorRole,
                AuditLog::ActorSub,
                AuditLog::ActorDistrict,
                AuditLog::Operation,
                AuditLog::TargetType,
                AuditLog::TargetId,
                AuditLog::Before,
                AuditLog::After,
            ])
            .from(AuditLog::Table)
            .order_by(AuditLog::Id, Order::Asc)
            .limit(PAGE);
        if let Some(last) = last_id {
            select.and_where(Expr::col(AuditLog::Id).gt(last));
        }
        let rows = conn.query_all_raw(backend.build(&select)).await?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            let id: i64 = row.try_get("", "id")?;
            let at: ChronoDateTimeUtc = row.try_get("", "at")?;
            let actor_role: String = row.try_get("", "actor_role")?;
            let actor_sub: String = row.try_get("", "actor_sub")?;
            let actor_district: Option<String> = row.try_get("", "actor_district")?;
            let operation: String = row.try_get("", "operation")?;
            let target_type: String = row.try_get("", "target_type")?;
            let target_id: Option<String> = row.try_get("", "target_id")?;
            let before: Option<String> = row.try_get("", "before")?;
            let after: Option<String> = row.try_get("", "after")?;
            let hash = chain_hash(
                &prev,
                &ChainFields {
                    id,
                    at: &at,
                    actor_role: &actor_role,
                    actor_sub: &actor_sub,
                    actor_district: actor_district.as_deref(),
                    operation: &operation,
                    target_type: &target_type,
                    target_id: target_id.as_deref(),
                    before: before.as_deref(),
                    after: after.as_deref(),
                },
            );
            let update = Query::update()
                .table(AuditLog::Table)
                .values([
                    (AuditLog::PrevHash, prev.clone().into()),
                    (AuditLog::Hash, hash.clone().into()),
                ])
                .and_where(Expr::col(AuditLog::Id).eq(id))
                .to_owned();
            conn.execute_raw(backend.build(&update)).await?;
            prev = hash;
            last_id = Some(id);
            entries += 1;
        }
    }
    Ok((last_id, prev, entries))
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    At,
    ActorSub,
    ActorRole,
    ActorDistrict,
    Operation,
    TargetType,
    TargetId,
    Before,
    After,
    PrevHash,
    Hash,
}

#[derive(DeriveIden)]
enum AuditChainHead {
    Table,
    Id,
    LastId,
    Hash,
    Entries,
}

#[derive(DeriveIden)]
enum Settlements {
    Table,
    AuditHeadAtApproval,
}
