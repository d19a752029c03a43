//! `reconcile`: `reconciliation::reconcile_claim` for every claim of the fiscal year, against one
//! scan of the lines and a bulk insert of as many verdict-width rows. Targets ≤ 3×, ≤ 512 MiB.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::Utc;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    TransactionTrait, Value,
};

use super::{Ctx, actor, bulk_insert, verdict_at_most};
use crate::data::FISCAL_YEAR;
use crate::measure::{Memory, mib, ratio, secs, thousands, top_kinds};
use crate::{BenchError, Outcome};
use entity::{claims, payment_lines};
use hq_api::auth::Role;
use hq_api::services::claim_feed::ClaimFeed;
use hq_api::services::reconciliation;
use policy::Money;

const FLOOR_VERDICTS: &str = "bench_floor_verdicts";
const VERDICT_COLUMNS: [&str; 11] = [
    "line_id",
    "claim_id",
    "eligible_fen",
    "cut_fen",
    "reasons",
    "primary_reason",
    "ratio_group",
    "group_limit_fen",
    "parameter_versions",
    "decided_at",
    "decided_by",
];

/// A table of `line_verdicts`' width, with its unique index on the line and its index on the
/// claim, and no foreign keys.
async fn create_floor_verdicts(db: &DatabaseConnection) -> Result<(), BenchError> {
    let id = match db.get_database_backend() {
        DbBackend::Postgres => "id BIGSERIAL PRIMARY KEY",
        _ => "id INTEGER PRIMARY KEY AUTOINCREMENT",
    };
    db.execute_unprepared(&format!("DROP TABLE IF EXISTS {FLOOR_VERDICTS}"))
        .await?;
    db.execute_unprepared(&format!(
        "CREATE TABLE {FLOOR_VERDICTS} ({id}, line_id BIGINT NOT NULL, claim_id BIGINT NOT NULL, \
         eligible_fen BIGINT NOT NULL, cut_fen BIGINT NOT NULL, reasons TEXT NOT NULL, \
         primary_reason TEXT, ratio_group TEXT, group_limit_fen BIGINT, \
         parameter_versions TEXT NOT NULL, decided_at TIMESTAMP WITH TIME ZONE NOT NULL, \
         decided_by TEXT NOT NULL)"
    ))
    .await?;
    db.execute_unprepared(&format!(
        "CREATE UNIQUE INDEX uq_{FLOOR_VERDICTS}_line ON {FLOOR_VERDICTS} (line_id)"
    ))
    .await?;
    db.execute_unprepared(&format!(
        "CREATE INDEX ix_{FLOOR_VERDICTS}_claim ON {FLOOR_VERDICTS} (claim_id)"
    ))
    .await?;
    Ok(())
}

async fn claim_ids(db: &DatabaseConnection) -> Result<HashMap<String, i64>, BenchError> {
    Ok(claims::Entity::find()
        .filter(claims::Column::FiscalYear.eq(FISCAL_YEAR))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.district_code, c.id))
        .collect())
}

/// The floor of reconciliation: one scan of the year's payment lines, and a plain bulk insert
/// of as many rows of the verdict table's width, in one transaction.
async fn floor_reconcile(
    db: &DatabaseConnection,
    claims: &HashMap<String, i64>,
) -> Result<usize, BenchError> {
    let txn = db.begin().await?;
    let lines = payment_lines::Entity::find()
        .filter(payment_lines::Column::FiscalYear.eq(FISCAL_YEAR))
        .all(&txn)
        .await?;
    let now = Utc::now();
    let reasons = r#"[{"code":"OVER_DISTRICT_RATIO","clause":"§7","detail":"cut"}]"#;
    let rows = lines.iter().map(|l| {
        vec![
            Value::from(l.id),
            Value::from(claims.get(&l.district_code).copied().unwrap_or(0)),
            Value::from(l.amount_fen),
            Value::from(0i64),
            Value::from(reasons),
            Value::from(Option::<String>::None),
            Value::from(Some(format!(
                "{}/{}/{}/{}",
                l.kind, l.district_code, l.enterprise_id, l.subsidy_year
            ))),
            Value::from(Some(l.basis_fen)),
            Value::from("[3,4,5]"),
            Value::from(now),
            Value::from("bench:floor"),
        ]
    });
    let n = lines.len();
    bulk_insert(&txn, FLOOR_VERDICTS, &VERDICT_COLUMNS, rows).await?;
    txn.commit().await?;
    Ok(n)
}

/// Reconciles every claim once (set-up of `draft` when `reconcile` is not run).
///
/// # Errors
/// As `reconcile_claim`.
pub async fn once(ctx: &Ctx<'_>) -> Result<(), BenchError> {
    let finance = actor(Role::CityFinance, None);
    // No subscriber: the events are written (and notified on PostgreSQL) as in service.
    let feed = ClaimFeed::new(1);
    for district in &ctx.set.claim_districts {
        reconciliation::reconcile_claim(&ctx.db, &feed, &finance, district, FISCAL_YEAR).await?;
    }
    Ok(())
}

/// `reconcile_claim` for every claim of the year vs one scan of the lines and a bulk insert of
/// as many verdict rows. Targets: ≤ 3×, ≤ 512 MiB.
pub async fn run(ctx: &mut Ctx<'_>) -> Result<Vec<Outcome>, BenchError> {
    let districts = ctx.set.claim_districts.clone();
    writeln!(
        ctx.out,
        "\n== reconcile: reconciliation::reconcile_claim for the {} claims of {FISCAL_YEAR} ({} lines)",
        districts.len(),
        thousands(ctx.set.lines)
    )?;
    let finance = actor(Role::CityFinance, None);
    let feed = ClaimFeed::new(1);
    let memory = Memory::start();
    let kinds = ctx.counter.by_kind();
    let mut verdicts = 0usize;
    let mut eligible = 0i64;
    let mut slowest: (Duration, String, usize) = (Duration::ZERO, String::new(), 0);
    let service = measure!(ctx, {
        verdicts = 0;
        eligible = 0;
        for district in &districts {
            let started = Instant::now();
            let done =
                reconciliation::reconcile_claim(&ctx.db, &feed, &finance, district, FISCAL_YEAR)
                    .await?;
            let took = started.elapsed();
            if took > slowest.0 {
                slowest = (took, district.clone(), done.verdicts.len());
            }
            verdicts += done.verdicts.len();
            eligible += done.verdicts.iter().map(|v| v.eligible_fen).sum::<i64>();
        }
    });
    let peak = memory.peak_kib();
    let memory_text = memory.describe();
    let top = top_kinds(&kinds, &ctx.counter.by_kind(), ctx.warmup + ctx.runs, 4);
    if verdicts as u64 != ctx.set.lines {
        return Err(BenchError::new(format!(
            "reconciliation stored {verdicts} verdicts for {} lines",
            ctx.set.lines
        )));
    }

    create_floor_verdicts(&ctx.db).await?;
    let claims = claim_ids(&ctx.db).await?;
    let db = ctx.db.clone();
    let floor = measure!(
        ctx,
        _emptied = {
            db.execute_unprepared(&format!("DELETE FROM {FLOOR_VERDICTS}"))
                .await?;
        },
        {
            floor_reconcile(&db, &claims).await?;
        }
    );
    db.execute_unprepared(&format!("DROP TABLE {FLOOR_VERDICTS}"))
        .await?;

    let r = ratio(service.median(), floor.median());
    let per_verdict = service.median() / u32::try_from(verdicts.max(1)).unwrap_or(u32::MAX);
    let memory_target = match peak {
        Some(kib) if kib <= 512 * 1024 => "target ≤ 512 MiB: met".to_string(),
        Some(kib) => format!("target ≤ 512 MiB: MISSED by {}", mib(kib - 512 * 1024)),
        None => "target ≤ 512 MiB: not measured".to_string(),
    };
    writeln!(
        ctx.out,
        "service: {}; {} verdicts ({} per verdict), eligible total {}; {}",
        service.describe(),
        thousands(verdicts as u64),
        secs(per_verdict),
        Money::from_fen(eligible).format_yuan(),
        service.describe_sql()
    )?;
    writeln!(
        ctx.out,
        "         slowest claim: {} with {} lines in {}; top statements per run: {top}",
        slowest.1,
        slowest.2,
        secs(slowest.0)
    )?;
    writeln!(
        ctx.out,
        "floor:   {} (scan of the lines + bulk insert of {} verdict-width rows); {}",
        floor.describe(),
        thousands(verdicts as u64),
        floor.describe_sql()
    )?;
    writeln!(
        ctx.out,
        "ratio:   {r:.2}× ({}); {memory_text} ({memory_target})",
        verdict_at_most(r, 3.0)
    )?;
    Ok(vec![Outcome {
        name: "reconcile",
        text: format!(
            "{} vs floor {} = {r:.2}× ({}); {memory_text}, {memory_target}",
            secs(service.median()),
            secs(floor.median()),
            verdict_at_most(r, 3.0)
        ),
    }])
}
