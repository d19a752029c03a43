//! `draft`: `settlement::draft` from the stored verdicts, against the same aggregate and write
//! done in SQL in one transaction: an upserted settlement row, one line per district inserted
//! from the `GROUP BY district` aggregate (reimbursement `floor(eligible × rate)` computed in the
//! database), the settlement's totals from those lines, one audit row, each into a table of the
//! service's width. Target ≤ 1.5× at national scale (≤ 3× below it, where the per-call cost of
//! the service's bookkeeping weighs more than the aggregate).

use chrono::{NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait, Value};

use super::reconcile::{fraction, param};
use super::{Ctx, actor, verdict_at_most};
use crate::data::{FISCAL_YEAR, Scale};
use crate::measure::{Memory, ratio, secs, thousands, top_kinds};
use crate::{BenchError, Outcome};
use hq_api::auth::Role;
use hq_api::services::{parameters, settlement};
use policy::Money;
use policy::settlement::ClaimStatus;

const FLOOR_SETTLEMENTS: &str = "bench_floor_settlements";
const FLOOR_LINES: &str = "bench_floor_settlement_lines";
const FLOOR_AUDIT: &str = "bench_floor_audit_log";

/// Tables of the width of `settlements`, `settlement_lines` and `audit_log`, with their unique
/// keys and indexes, and no foreign keys.
async fn create_floor_tables(db: &DatabaseConnection) -> Result<(), BenchError> {
    let id = match db.get_database_backend() {
        DbBackend::Postgres => "id BIGSERIAL PRIMARY KEY",
        _ => "id INTEGER PRIMARY KEY AUTOINCREMENT",
    };
    drop_floor_tables(db).await?;
    for sql in [
        format!(
            "CREATE TABLE {FLOOR_SETTLEMENTS} ({id}, fiscal_year INTEGER NOT NULL, \
             status TEXT NOT NULL, rate TEXT NOT NULL, budget_fen BIGINT, \
             reported_fen BIGINT NOT NULL, eligible_fen BIGINT NOT NULL, cut_fen BIGINT NOT NULL, \
             reimbursement_fen BIGINT NOT NULL, granted_fen BIGINT NOT NULL, \
             adjustments_fen BIGINT NOT NULL, net_payable_fen BIGINT NOT NULL, \
             parameter_versions TEXT NOT NULL, drafted_at TIMESTAMP WITH TIME ZONE NOT NULL, \
             drafted_by TEXT NOT NULL, approved_at TIMESTAMP WITH TIME ZONE, approved_by TEXT, \
             lock_version INTEGER NOT NULL, audit_head_at_approval TEXT)"
        ),
        format!(
            "CREATE UNIQUE INDEX uq_{FLOOR_SETTLEMENTS}_year ON {FLOOR_SETTLEMENTS} (fiscal_year)"
        ),
        format!(
            "CREATE TABLE {FLOOR_LINES} ({id}, settlement_id BIGINT NOT NULL, \
             district_code VARCHAR(6) NOT NULL, reported_fen BIGINT NOT NULL, \
             eligible_fen BIGINT NOT NULL, cut_fen BIGINT NOT NULL, cut_by_reason TEXT NOT NULL, \
             reimbursement_fen BIGINT NOT NULL, granted_fen BIGINT NOT NULL, \
             adjustments_fen BIGINT NOT NULL, net_payable_fen BIGINT NOT NULL, zero_reason TEXT)"
        ),
        format!(
            "CREATE UNIQUE INDEX uq_{FLOOR_LINES}_district ON {FLOOR_LINES} (settlement_id, district_code)"
        ),
        format!(
            "CREATE TABLE {FLOOR_AUDIT} ({id}, \"at\" TIMESTAMP WITH TIME ZONE NOT NULL, \
             actor_sub TEXT NOT NULL, actor_role TEXT NOT NULL, actor_district TEXT, \
             operation TEXT NOT NULL, target_type TEXT NOT NULL, target_id TEXT, \"before\" TEXT, \
             \"after\" TEXT, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)"
        ),
        format!("CREATE INDEX ix_{FLOOR_AUDIT}_at ON {FLOOR_AUDIT} (\"at\")"),
        format!("CREATE INDEX ix_{FLOOR_AUDIT}_target ON {FLOOR_AUDIT} (target_type, target_id)"),
    ] {
        db.execute_unprepared(&sql).await?;
    }
    Ok(())
}

async fn drop_floor_tables(db: &DatabaseConnection) -> Result<(), BenchError> {
    for table in [FLOOR_SETTLEMENTS, FLOOR_LINES, FLOOR_AUDIT] {
        db.execute_unprepared(&format!("DROP TABLE IF EXISTS {table}"))
            .await?;
    }
    Ok(())
}

/// The floor's statements, prepared once.
struct FloorSql {
    upsert: String,
    delete_lines: String,
    insert_lines: String,
    totals: String,
    audit: String,
}

fn floor_sql(backend: DbBackend) -> FloorSql {
    let p = |n| param(backend, n);
    // The cut of each district by primary reason, as the service stores it.
    let by_reason = match backend {
        DbBackend::Postgres => {
            "COALESCE(CAST(json_object_agg(primary_reason, cut) FILTER (WHERE cut <> 0) AS TEXT), '{}')"
        }
        _ => "COALESCE(json_group_object(primary_reason, cut) FILTER (WHERE cut <> 0), '{}')",
    };
    let counted = ClaimStatus::COUNTED
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let sum = |column: &str| {
        format!(
            "{column} = (SELECT CAST(COALESCE(SUM({column}), 0) AS BIGINT) FROM {FLOOR_LINES} \
             WHERE settlement_id = {})",
            p(1)
        )
    };
    FloorSql {
        upsert: format!(
            "INSERT INTO {FLOOR_SETTLEMENTS} (fiscal_year, status, rate, budget_fen, reported_fen, \
             eligible_fen, cut_fen, reimbursement_fen, granted_fen, adjustments_fen, \
             net_payable_fen, parameter_versions, drafted_at, drafted_by, lock_version) \
             VALUES ({}, 'DRAFT', {}, NULL, 0, 0, 0, 0, 0, 0, 0, {}, {}, 'bench:floor', 0) \
             ON CONFLICT (fiscal_year) DO UPDATE SET status = excluded.status, \
             rate = excluded.rate, parameter_versions = excluded.parameter_versions, \
             drafted_at = excluded.drafted_at, drafted_by = excluded.drafted_by, \
             lock_version = {FLOOR_SETTLEMENTS}.lock_version + 1 RETURNING id",
            p(1),
            p(2),
            p(3),
            p(4)
        ),
        delete_lines: format!("DELETE FROM {FLOOR_LINES} WHERE settlement_id = {}", p(1)),
        insert_lines: format!(
            "INSERT INTO {FLOOR_LINES} (settlement_id, district_code, reported_fen, eligible_fen, \
             cut_fen, cut_by_reason, reimbursement_fen, granted_fen, adjustments_fen, \
             net_payable_fen, zero_reason) \
             SELECT {sid}, district_code, CAST(SUM(eligible + cut) AS BIGINT), \
                    CAST(SUM(eligible) AS BIGINT), CAST(SUM(cut) AS BIGINT), {by_reason}, \
                    CAST(SUM(eligible) AS BIGINT) * {n} / {d}, \
                    CAST(SUM(eligible) AS BIGINT) * {n} / {d}, 0, \
                    CAST(SUM(eligible) AS BIGINT) * {n} / {d}, NULL \
             FROM (SELECT c.district_code, v.primary_reason, \
                          CAST(SUM(v.eligible_fen) AS BIGINT) AS eligible, \
                          CAST(SUM(v.cut_fen) AS BIGINT) AS cut \
                   FROM line_verdicts v JOIN claims c ON c.id = v.claim_id \
                   WHERE c.fiscal_year = {year} AND c.status IN ({counted}) \
                   GROUP BY c.district_code, v.primary_reason) r \
             GROUP BY district_code",
            sid = p(1),
            year = p(2),
            n = p(3),
            d = p(4),
        ),
        totals: format!(
            "UPDATE {FLOOR_SETTLEMENTS} SET {}, {}, {}, {}, {}, {}, {} WHERE id = {}",
            sum("reported_fen"),
            sum("eligible_fen"),
            sum("cut_fen"),
            sum("reimbursement_fen"),
            sum("granted_fen"),
            sum("adjustments_fen"),
            sum("net_payable_fen"),
            p(1)
        ),
        audit: format!(
            "INSERT INTO {FLOOR_AUDIT} (\"at\", actor_sub, actor_role, actor_district, operation, \
             target_type, target_id, \"before\", \"after\", prev_hash, hash) \
             VALUES ({}, 'bench:floor', 'CITY_FINANCE', NULL, 'draftSettlement', 'settlement', \
             {}, NULL, {}, {}, {})",
            p(1),
            p(2),
            p(3),
            p(4),
            p(5)
        ),
    }
}

/// What the floor binds: `settlement.default_rate` as a fraction, its text and its version.
struct FloorParams {
    rate: (i64, i64),
    rate_text: String,
    versions: String,
}

async fn floor_params(db: &DatabaseConnection) -> Result<FloorParams, BenchError> {
    let set = parameters::load_set(db).await?;
    let december_31 = NaiveDate::from_ymd_opt(FISCAL_YEAR, 12, 31)
        .ok_or_else(|| BenchError::new("no 31 December in the fiscal year"))?;
    let mut read = set.reader(december_31, None);
    let rate = read.ratio("settlement.default_rate")?;
    Ok(FloorParams {
        rate: fraction(rate.mantissa(), rate.scale())?,
        rate_text: rate.normalize().to_string(),
        versions: serde_json::to_string(&read.used_version_ids()).map_err(BenchError::new)?,
    })
}

/// The floor of a draft, in one transaction; returns the district lines it inserted.
async fn floor_draft(
    db: &DatabaseConnection,
    sql: &FloorSql,
    params: &FloorParams,
) -> Result<u64, BenchError> {
    let backend = db.get_database_backend();
    let now = Utc::now();
    let txn = db.begin().await?;
    let settlement: i64 = txn
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            &sql.upsert,
            [
                Value::from(FISCAL_YEAR),
                Value::from(params.rate_text.clone()),
                Value::from(params.versions.clone()),
                Value::from(now),
            ],
        ))
        .await?
        .ok_or_else(|| BenchError::new("the settlement upsert returned no id"))?
        .try_get("", "id")?;
    txn.execute_raw(Statement::from_sql_and_values(
        backend,
        &sql.delete_lines,
        [Value::from(settlement)],
    ))
    .await?;
    let lines = txn
        .execute_raw(Statement::from_sql_and_values(
            backend,
            &sql.insert_lines,
            [
                Value::from(settlement),
                Value::from(FISCAL_YEAR),
                Value::from(params.rate.0),
                Value::from(params.rate.1),
            ],
        ))
        .await?
        .rows_affected();
    txn.execute_raw(Statement::from_sql_and_values(
        backend,
        &sql.totals,
        [Value::from(settlement)],
    ))
    .await?;
    txn.execute_raw(Statement::from_sql_and_values(
        backend,
        &sql.audit,
        [
            Value::from(now),
            Value::from(FISCAL_YEAR.to_string()),
            Value::from(format!(
                r#"{{"status":"DRAFT","rate":"{}","settlementId":{settlement}}}"#,
                params.rate_text
            )),
            Value::from("0".repeat(64)),
            Value::from("f".repeat(64)),
        ],
    ))
    .await?;
    txn.commit().await?;
    Ok(lines)
}

/// `settlement::draft` vs the same aggregate and write in SQL in one transaction. Target ≤ 1.5×
/// at national scale, ≤ 3× below it.
pub async fn run(ctx: &mut Ctx<'_>) -> Result<Vec<Outcome>, BenchError> {
    writeln!(
        ctx.out,
        "\n== draft: settlement::draft of {FISCAL_YEAR} from {} stored verdicts ({} districts)",
        thousands(ctx.set.lines),
        ctx.set.districts.len()
    )?;
    let target = if ctx.scale == Scale::National {
        1.5
    } else {
        3.0
    };
    let finance = actor(Role::CityFinance, None);
    let memory = Memory::start();
    let kinds = ctx.counter.by_kind();
    let mut granted = 0i64;
    let service = measure!(ctx, {
        let stored = settlement::draft(&ctx.db, &finance, FISCAL_YEAR, None, None).await?;
        granted = stored.settlement.granted_fen;
    });
    let memory_text = memory.describe();
    let top = top_kinds(&kinds, &ctx.counter.by_kind(), ctx.warmup + ctx.runs, 4);

    create_floor_tables(&ctx.db).await?;
    let params = floor_params(&ctx.db).await?;
    let sql = floor_sql(ctx.db.get_database_backend());
    let db = ctx.db.clone();
    let mut groups = 0u64;
    let floor = measure!(ctx, {
        groups = floor_draft(&db, &sql, &params).await?;
    });
    let floor_granted: i64 = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT granted_fen FROM {FLOOR_SETTLEMENTS}"),
        ))
        .await?
        .ok_or_else(|| BenchError::new("the floor stored no settlement"))?
        .try_get("", "granted_fen")?;
    drop_floor_tables(&db).await?;
    let claims = ctx.set.claim_districts.len() as u64;
    if groups != claims {
        return Err(BenchError::new(format!(
            "the floor drafted {groups} district lines for {claims} reconciled claims"
        )));
    }

    let r = ratio(service.median(), floor.median());
    writeln!(
        ctx.out,
        "service: {}; granted {}; {}",
        service.describe(),
        Money::from_fen(granted).format_yuan(),
        service.describe_sql()
    )?;
    writeln!(ctx.out, "         top statements per run: {top}")?;
    writeln!(
        ctx.out,
        "floor:   {} (one transaction: upsert of the settlement row, INSERT … SELECT of {groups} \
         district lines from the GROUP BY district, primary reason aggregate with \
         floor(eligible × rate) in SQL, the totals from those lines, one audit row; no \
         largest-remainder, budget or hash chain); granted {}; {}",
        floor.describe(),
        Money::from_fen(floor_granted).format_yuan(),
        floor.describe_sql()
    )?;
    writeln!(
        ctx.out,
        "ratio:   {r:.2}× ({}); {memory_text}",
        verdict_at_most(r, target)
    )?;
    Ok(vec![Outcome {
        name: "draft",
        text: format!(
            "{} vs floor {} = {r:.2}× ({}); {memory_text}",
            secs(service.median()),
            secs(floor.median()),
            verdict_at_most(r, target)
        ),
    }])
}
