//! `reconcile`: `reconciliation::reconcile_year` (every claim of the fiscal year in one
//! transaction, as `reconcileClaims`), against the verdicts computed and written in the
//! database: one `INSERT … SELECT` for the whole year that joins each line to its claim, the
//! enterprise's recognition and star rating of the subsidy year and its registry facts in force
//! on the payment date, decides the whole-line rules in a `CASE` and the ratio groups' limits
//! and cuts with window functions, into a table of `line_verdicts`' width, indexes and foreign
//! keys (the same statement into a table without the keys is printed beside). Targets ≤ 3×,
//! ≤ 512 MiB. `reconcile_claim` claim by claim (one transaction each) is printed beside it.

use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait, Value};

use super::{Ctx, actor, verdict_at_most};
use crate::data::FISCAL_YEAR;
use crate::measure::{Memory, mib, ratio, secs, thousands, top_kinds};
use crate::{BenchError, Outcome};
use hq_api::auth::Role;
use hq_api::services::claim_feed::ClaimFeed;
use hq_api::services::{parameters, reconciliation};
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
/// claim; with `keys`, also its foreign keys to the line and the claim, which the database
/// checks for every row written (the service's table has them, so writing verdicts includes
/// those checks).
async fn create_floor_verdicts(db: &DatabaseConnection, keys: bool) -> Result<(), BenchError> {
    let (line, claim) = if keys {
        (" REFERENCES payment_lines (id)", " REFERENCES claims (id)")
    } else {
        ("", "")
    };
    let id = match db.get_database_backend() {
        DbBackend::Postgres => "id BIGSERIAL PRIMARY KEY",
        _ => "id INTEGER PRIMARY KEY AUTOINCREMENT",
    };
    // On one connection, in one transaction: SQLite checks that an index name is free against
    // the connection's cached schema when it parses `CREATE INDEX`, so a pooled connection that
    // had not seen the previous table dropped refuses the name ("already exists").
    let txn = db.begin().await?;
    txn.execute_unprepared(&format!("DROP TABLE IF EXISTS {FLOOR_VERDICTS}"))
        .await?;
    txn.execute_unprepared(&format!(
        "CREATE TABLE {FLOOR_VERDICTS} ({id}, line_id BIGINT NOT NULL{line}, \
         claim_id BIGINT NOT NULL{claim}, \
         eligible_fen BIGINT NOT NULL, cut_fen BIGINT NOT NULL, reasons TEXT NOT NULL, \
         primary_reason TEXT, ratio_group TEXT, group_limit_fen BIGINT, \
         parameter_versions TEXT NOT NULL, decided_at TIMESTAMP WITH TIME ZONE NOT NULL, \
         decided_by TEXT NOT NULL)"
    ))
    .await?;
    txn.execute_unprepared(&format!(
        "CREATE UNIQUE INDEX uq_{FLOOR_VERDICTS}_line ON {FLOOR_VERDICTS} (line_id)"
    ))
    .await?;
    txn.execute_unprepared(&format!(
        "CREATE INDEX ix_{FLOOR_VERDICTS}_claim ON {FLOOR_VERDICTS} (claim_id)"
    ))
    .await?;
    txn.commit().await?;
    Ok(())
}

/// What the floor binds: the policy parameters the rules read, resolved before timing.
struct FloorParams {
    valid_from: NaiveDate,
    valid_to: NaiveDate,
    /// `rent_subsidy.ratio` as numerator / denominator, and `rent_subsidy.cap_per_year` in fen.
    rent: (i64, i64, i64),
    /// `purchase_subsidy.ratio` as numerator / denominator, and `purchase_subsidy.cap` in fen.
    purchase: (i64, i64, i64),
    /// The versions read, as the verdicts record them.
    versions: String,
}

/// A decimal ratio `mantissa × 10^-scale` as an exact integer fraction, for `basis × n / d`.
pub(super) fn fraction(mantissa: i128, scale: u32) -> Result<(i64, i64), BenchError> {
    let n = i64::try_from(mantissa).map_err(BenchError::new)?;
    let d = 10i64
        .checked_pow(scale)
        .ok_or_else(|| BenchError::new(format!("a ratio with {scale} decimals")))?;
    Ok((n, d))
}

/// The general versions of the parameters in force in the fiscal year (the generated data set
/// has no district versions): the policy period on 31 December, the ratios and caps on
/// 1 January.
async fn floor_params(db: &DatabaseConnection) -> Result<FloorParams, BenchError> {
    let set = parameters::load_set(db).await?;
    let day = |m, d| {
        NaiveDate::from_ymd_opt(FISCAL_YEAR, m, d)
            .ok_or_else(|| BenchError::new("no such day in the fiscal year"))
    };
    let mut period = set.reader(day(12, 31)?, None);
    let valid_from = period.date("policy.valid_from")?;
    let valid_to = period.date("policy.valid_to")?;
    let mut versions = period.used_version_ids();
    let mut read = set.reader(day(1, 1)?, None);
    let rent_ratio = read.ratio("rent_subsidy.ratio")?;
    let rent_cap = read.money("rent_subsidy.cap_per_year")?;
    let purchase_ratio = read.ratio("purchase_subsidy.ratio")?;
    let purchase_cap = read.money("purchase_subsidy.cap")?;
    versions.extend(read.used_version_ids());
    versions.sort_unstable();
    versions.dedup();
    let (rn, rd) = fraction(rent_ratio.mantissa(), rent_ratio.scale())?;
    let (pn, pd) = fraction(purchase_ratio.mantissa(), purchase_ratio.scale())?;
    Ok(FloorParams {
        valid_from,
        valid_to,
        rent: (rn, rd, rent_cap.fen()),
        purchase: (pn, pd, purchase_cap.fen()),
        versions: serde_json::to_string(&versions).map_err(BenchError::new)?,
    })
}

/// The `n`-th bound parameter: `$n` on PostgreSQL, `?n` on SQLite.
pub(super) fn param(backend: DbBackend, n: usize) -> String {
    match backend {
        DbBackend::Postgres => format!("${n}"),
        _ => format!("?{n}"),
    }
}

/// The floor's one statement: every line of the year with its claim, the enterprise's
/// recognition and star rating of the subsidy year and its registry facts in force on the
/// payment date; the whole-line conditions as one `CASE`; the ratio groups' sums, limits and
/// latest-first running totals as windows; one verdict-width row per line.
fn floor_sql(backend: DbBackend) -> String {
    let p = |n| param(backend, n);
    let (year, from, to) = (p(1), p(2), p(3));
    let (rn, rd, rcap, pn, pd, pcap) = (p(4), p(5), p(6), p(7), p(8), p(9));
    let (versions, now) = (p(10), p(11));
    let group = "PARTITION BY kind, district_code, enterprise_id, group_year, group_contract, \
                 whole IS NULL";
    format!(
        "INSERT INTO {FLOOR_VERDICTS} ({columns}) \
         SELECT line_id, claim_id, \
                CASE WHEN whole IS NULL THEN amount_fen - cut ELSE 0 END, \
                CASE WHEN whole IS NULL THEN cut ELSE amount_fen END, \
                CASE WHEN whole IS NOT NULL THEN '[{{\"code\":\"' || whole || '\"}}]' \
                     WHEN cut > 0 THEN '[{{\"code\":\"OVER_DISTRICT_RATIO\",\"clause\":\"§7\"}}]' \
                     ELSE '[]' END, \
                CASE WHEN whole IS NOT NULL THEN whole WHEN cut > 0 THEN 'OVER_DISTRICT_RATIO' END, \
                CASE WHEN whole IS NULL THEN kind || ':' || district_code || ':' \
                     || CAST(enterprise_id AS TEXT) || ':' \
                     || CASE WHEN kind = 'RENT' THEN CAST(subsidy_year AS TEXT) ELSE contract_no END \
                END, \
                CASE WHEN whole IS NULL THEN group_limit END, \
                {versions}, {now}, 'bench:floor' \
         FROM (SELECT k.*, \
                      CASE WHEN whole IS NOT NULL OR total - group_limit - (running - amount_fen) <= 0 THEN 0 \
                           WHEN total - group_limit - (running - amount_fen) >= amount_fen THEN amount_fen \
                           ELSE total - group_limit - (running - amount_fen) END AS cut \
               FROM (SELECT g.*, \
                            CASE WHEN kind = 'RENT' THEN \
                                   CASE WHEN basis_total * {rn} / {rd} < {rcap} THEN basis_total * {rn} / {rd} ELSE {rcap} END \
                                 ELSE CASE WHEN basis_first * {pn} / {pd} < {pcap} THEN basis_first * {pn} / {pd} ELSE {pcap} END \
                            END AS group_limit \
                     FROM (SELECT w.*, \
                                  CAST(SUM(amount_fen) OVER ({group}) AS BIGINT) AS total, \
                                  CAST(SUM(basis_fen) OVER ({group}) AS BIGINT) AS basis_total, \
                                  MAX(basis_fen) OVER ({group}) AS basis_first, \
                                  CAST(SUM(amount_fen) OVER ({group} ORDER BY payment_date DESC, \
                                       voucher_no DESC, seq DESC ROWS UNBOUNDED PRECEDING) AS BIGINT) AS running \
                           FROM (SELECT l.id AS line_id, c.id AS claim_id, l.seq, l.kind, l.district_code, \
                                        l.enterprise_id, l.subsidy_year, l.contract_no, l.basis_fen, \
                                        l.amount_fen, l.payment_date, l.voucher_no, \
                                        CASE WHEN l.kind = 'RENT' THEN l.subsidy_year ELSE 0 END AS group_year, \
                                        CASE WHEN l.kind = 'RENT' THEN '' ELSE l.contract_no END AS group_contract, \
                                        CASE WHEN l.payment_date < {from} OR l.payment_date > {to} THEN 'OUTSIDE_POLICY_PERIOD' \
                                             WHEN r.id IS NULL THEN 'NOT_RECOGNIZED' \
                                             WHEN s.stars IS NULL OR s.stars < 3 THEN 'STARS_BELOW_3' \
                                             WHEN f.owns_office THEN 'OWNS_OFFICE' \
                                             WHEN f.district_code IS NULL OR f.district_code <> c.district_code THEN 'WRONG_DISTRICT' \
                                        END AS whole \
                                 FROM payment_lines l \
                                 JOIN claims c ON c.district_code = l.district_code AND c.fiscal_year = l.fiscal_year \
                                 LEFT JOIN recognitions r ON r.enterprise_id = l.enterprise_id AND r.year = l.subsidy_year \
                                 LEFT JOIN star_ratings s ON s.enterprise_id = l.enterprise_id AND s.year = l.subsidy_year \
                                 LEFT JOIN enterprise_facts f ON f.enterprise_id = l.enterprise_id \
                                      AND f.valid_from <= l.payment_date \
                                      AND (f.valid_to IS NULL OR f.valid_to >= l.payment_date) \
                                 WHERE l.fiscal_year = {year}) w) g) k) v",
        columns = VERDICT_COLUMNS.join(", "),
    )
}

/// The floor of reconciliation: the verdicts of every line of the year in one `INSERT … SELECT`
/// in the database, in one transaction; returns the rows it inserted.
async fn floor_reconcile(
    db: &DatabaseConnection,
    sql: &str,
    params: &FloorParams,
) -> Result<u64, BenchError> {
    let txn = db.begin().await?;
    let done = txn
        .execute_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            sql,
            [
                Value::from(FISCAL_YEAR),
                Value::from(params.valid_from),
                Value::from(params.valid_to),
                Value::from(params.rent.0),
                Value::from(params.rent.1),
                Value::from(params.rent.2),
                Value::from(params.purchase.0),
                Value::from(params.purchase.1),
                Value::from(params.purchase.2),
                Value::from(params.versions.clone()),
                Value::from(Utc::now()),
            ],
        ))
        .await?;
    txn.commit().await?;
    Ok(done.rows_affected())
}

/// The floor table's rows and Σ eligible, to check it against the lines of the year.
async fn floor_totals(db: &DatabaseConnection) -> Result<(i64, i64), BenchError> {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            format!(
                "SELECT CAST(COUNT(*) AS BIGINT) AS n, \
                 CAST(COALESCE(SUM(eligible_fen), 0) AS BIGINT) AS eligible FROM {FLOOR_VERDICTS}"
            ),
        ))
        .await?
        .ok_or_else(|| BenchError::new("no count of the floor's verdicts"))?;
    Ok((row.try_get("", "n")?, row.try_get("", "eligible")?))
}

/// Reconciles the year once (set-up of `draft` when `reconcile` is not run).
///
/// # Errors
/// As `reconcile_year`.
pub async fn once(ctx: &Ctx<'_>) -> Result<(), BenchError> {
    let finance = actor(Role::CityFinance, None);
    // No subscriber: the events are written (and notified on PostgreSQL) as in service.
    let feed = ClaimFeed::new(1);
    reconciliation::reconcile_year(&ctx.db, &feed, &finance, FISCAL_YEAR).await?;
    Ok(())
}

/// `reconcile_year` (every claim of the year in one transaction, as `reconcileClaims`) vs the
/// year's verdicts in one `INSERT … SELECT` with the joins, conditions and group windows the
/// rules need; `reconcile_claim` claim by claim is printed beside it. Targets: ≤ 3×, ≤ 512 MiB.
pub async fn run(ctx: &mut Ctx<'_>) -> Result<Vec<Outcome>, BenchError> {
    let districts = ctx.set.claim_districts.clone();
    writeln!(
        ctx.out,
        "\n== reconcile: reconciliation::reconcile_year for the {} claims of {FISCAL_YEAR} ({} lines)",
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
        let done = reconciliation::reconcile_year(&ctx.db, &feed, &finance, FISCAL_YEAR).await?;
        verdicts = done.iter().map(|d| d.verdict_count).sum();
        eligible = done.iter().map(|d| d.eligible_total.fen()).sum();
        if done.len() != districts.len() {
            return Err(BenchError::new(format!(
                "the year's reconciliation reconciled {} of {} claims",
                done.len(),
                districts.len()
            )));
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

    // The same work claim by claim, one transaction each (`reconcileClaim`): the same verdicts.
    let claim_kinds = ctx.counter.by_kind();
    let mut claim_eligible = 0i64;
    let by_claim = measure!(ctx, {
        claim_eligible = 0;
        for district in &districts {
            let started = Instant::now();
            let done =
                reconciliation::reconcile_claim(&ctx.db, &feed, &finance, district, FISCAL_YEAR)
                    .await?;
            let took = started.elapsed();
            if took > slowest.0 {
                slowest = (took, district.clone(), done.verdict_count);
            }
            claim_eligible += done.eligible_total.fen();
        }
    });
    let claim_top = top_kinds(
        &claim_kinds,
        &ctx.counter.by_kind(),
        ctx.warmup + ctx.runs,
        3,
    );
    if claim_eligible != eligible {
        return Err(BenchError::new(format!(
            "claim by claim the eligible total is {}, the year's {}",
            Money::from_fen(claim_eligible).format_yuan(),
            Money::from_fen(eligible).format_yuan()
        )));
    }

    let params = floor_params(&ctx.db).await?;
    let sql = floor_sql(ctx.db.get_database_backend());
    let db = ctx.db.clone();
    let mut inserted = 0u64;
    let mut floors = Vec::new();
    let mut floor_eligible = 0;
    // With the foreign keys `line_verdicts` has (the ratio's floor), then without them.
    for keys in [true, false] {
        create_floor_verdicts(&db, keys).await?;
        let floor = measure!(
            ctx,
            _emptied = {
                db.execute_unprepared(&format!("DELETE FROM {FLOOR_VERDICTS}"))
                    .await?;
            },
            {
                inserted = floor_reconcile(&db, &sql, &params).await?;
            }
        );
        let (floor_rows, eligible) = floor_totals(&db).await?;
        db.execute_unprepared(&format!("DROP TABLE {FLOOR_VERDICTS}"))
            .await?;
        if inserted != ctx.set.lines || u64::try_from(floor_rows).ok() != Some(ctx.set.lines) {
            return Err(BenchError::new(format!(
                "the floor inserted {inserted} verdicts ({floor_rows} stored) for {} lines",
                ctx.set.lines
            )));
        }
        floor_eligible = eligible;
        floors.push(floor);
    }
    let unkeyed = floors
        .pop()
        .ok_or_else(|| BenchError::new("no floor measured"))?;
    let floor = floors
        .pop()
        .ok_or_else(|| BenchError::new("no floor measured"))?;

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
    writeln!(ctx.out, "         top statements per run: {top}")?;
    writeln!(
        ctx.out,
        "by claim: {} (reconcile_claim for each claim, one transaction each: {:.2}× the floor); \
         slowest claim {} with {} lines in {}; {}; top statements per run: {claim_top}",
        by_claim.describe(),
        ratio(by_claim.median(), floor.median()),
        slowest.1,
        slowest.2,
        secs(slowest.0),
        by_claim.describe_sql()
    )?;
    writeln!(
        ctx.out,
        "floor:   {} (one INSERT … SELECT of {} verdict-width rows for the whole year in one \
         transaction: lines ⋈ claim ⋈ recognition ⋈ star rating ⋈ facts in force on the payment \
         date, the whole-line rules as a CASE, the ratio groups' sums and latest-first running \
         totals as windows; into a table with line_verdicts' indexes and foreign keys; the \
         service: one transaction for the year); eligible total {} (the service's rules the \
         floor leaves out: RENT_AND_PURCHASE, PURCHASE_NOT_FIRST, TITLE_REVOKED, \
         DUPLICATE_PAYMENT, approved years); {}",
        floor.describe(),
        thousands(inserted),
        Money::from_fen(floor_eligible).format_yuan(),
        floor.describe_sql()
    )?;
    writeln!(
        ctx.out,
        "         the same statement into a table without the foreign keys: {} (the service \
         against it: {:.2}×)",
        unkeyed.describe(),
        ratio(service.median(), unkeyed.median())
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
