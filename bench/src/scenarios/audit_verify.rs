//! `audit-verify`: `audit::verify` of the whole hash chain after appending the scale's number of
//! entries (1,000,000 at national scale), with its peak memory: the walk reads 1,000 entries a
//! page in one snapshot, so memory stays flat however long the chain is. No floor: reading every
//! entry and hashing it is the work itself; the figure is entries per second.

use sea_orm::{ActiveValue::Set, ConnectionTrait, DbBackend, EntityTrait, Statement};

use super::Ctx;
use crate::measure::{Memory, secs, thousands};
use crate::{BenchError, Outcome};
use hq_api::services::audit;

/// Entries per multi-row INSERT.
const CHUNK: i64 = 500;

/// Appends `count` entries after the chain's head, each linked to the one before, and moves the
/// head; as the service would have written them, in far fewer statements.
async fn append(ctx: &Ctx<'_>, count: i64) -> Result<(), BenchError> {
    let head = entity::audit_chain_head::Entity::find_by_id(1)
        .one(&ctx.db)
        .await?
        .ok_or_else(|| BenchError::new("the audit chain head row is missing"))?;
    let at = chrono::Utc::now()
        .date_naive()
        .and_hms_opt(8, 0, 0)
        .ok_or_else(|| BenchError::new("08:00 is a time"))?
        .and_utc();
    let mut prev = head.hash.clone();
    let mut id = head.last_id.unwrap_or(0);
    let last = id + count;
    while id < last {
        let mut rows = Vec::new();
        for _ in 0..CHUNK.min(last - id) {
            id += 1;
            let target = id.to_string();
            let after = format!("{{\"n\":{id},\"name\":\"杭州基准有限公司\"}}");
            let hash = migration::chain_hash(
                &prev,
                &migration::ChainFields {
                    id,
                    at: &at,
                    actor_role: "HQ_OFFICE",
                    actor_sub: "bench",
                    actor_district: None,
                    operation: "registerEnterprise",
                    target_type: "enterprise",
                    target_id: Some(&target),
                    before: None,
                    after: Some(&after),
                },
            );
            rows.push(entity::audit_log::ActiveModel {
                id: Set(id),
                at: Set(at),
                actor_sub: Set("bench".into()),
                actor_role: Set("HQ_OFFICE".into()),
                actor_district: Set(None),
                operation: Set("registerEnterprise".into()),
                target_type: Set("enterprise".into()),
                target_id: Set(Some(target)),
                before: Set(None),
                after: Set(Some(after)),
                prev_hash: Set(prev.clone()),
                hash: Set(hash.clone()),
            });
            prev = hash;
        }
        entity::audit_log::Entity::insert_many(rows)
            .exec_without_returning(&ctx.db)
            .await?;
    }
    entity::audit_chain_head::Entity::update(entity::audit_chain_head::ActiveModel {
        id: Set(1),
        last_id: Set(Some(last)),
        hash: Set(prev),
        entries: Set(head.entries + count),
    })
    .exec(&ctx.db)
    .await?;
    if ctx.db.get_database_backend() == DbBackend::Postgres {
        ctx.db
            .execute_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT setval(pg_get_serial_sequence('audit_log', 'id'), (SELECT MAX(id) FROM audit_log))",
            ))
            .await?;
    }
    Ok(())
}

/// Verifies the whole chain after appending the scale's entries.
pub async fn run(ctx: &mut Ctx<'_>) -> Result<Vec<Outcome>, BenchError> {
    let count = ctx.size.audit_entries;
    writeln!(
        ctx.out,
        "\n== audit-verify: audit::verify of the whole chain after appending {} entries",
        thousands(u64::try_from(count).unwrap_or(0))
    )?;
    append(ctx, count).await?;
    let memory = Memory::start();
    let mut checked = 0u64;
    let db = ctx.db.clone();
    let series = measure!(ctx, {
        let report = audit::verify(&db, None, None).await?;
        if let Some(broken) = report.broken {
            return Err(BenchError::new(format!(
                "the chain is broken at {broken:?}"
            )));
        }
        checked = report.entries_checked;
    });
    let memory_text = memory.describe();
    let per_second = checked as f64 / series.median().as_secs_f64().max(1e-9);
    writeln!(
        ctx.out,
        "verify:  {}; {} entries, {per_second:.0} entries/s; {memory_text}",
        series.describe(),
        thousands(checked)
    )?;
    Ok(vec![Outcome {
        name: "audit-verify",
        text: format!(
            "{} entries in {} ({per_second:.0}/s); {memory_text}",
            thousands(checked),
            secs(series.median())
        ),
    }])
}
