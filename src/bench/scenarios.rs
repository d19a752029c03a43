//! The scenarios, each against its floor measured on the same database in the same run.

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    QuerySelect, Statement, TransactionTrait, Value,
};
use serde_json::json;

use super::data::{self, DataSet, FISCAL_YEAR, IMPORT_DISTRICT, IMPORT_YEAR, Size};
use super::http::{self, FloorServer};
use super::measure::{
    Counter, Memory, Probe, Series, mib, ratio, secs, status_kib, thousands, top_kinds,
};
use super::{BenchError, Outcome};
use crate::auth::{Actor, JwtKeys, Role};
use crate::config::{Secret, Settings};
use crate::graphql::pagination::encode_cursor;
use crate::services::{csv_import, payments, recognition, settlement};
use crate::startup::Application;
use entity::{claims, payment_lines};

/// What every scenario needs.
pub struct Ctx<'a> {
    /// The harness's connection (statements counted by `counter`).
    pub db: DatabaseConnection,
    /// Statements of `db`.
    pub counter: Arc<Counter>,
    /// Settings pointing at the database (for the servers the scenarios start).
    pub settings: Settings,
    /// The signing secret of those servers.
    pub secret: String,
    /// The generated data set.
    pub set: DataSet,
    /// The scale's sizes.
    pub size: Size,
    /// Warm-up runs.
    pub warmup: usize,
    /// Timed runs.
    pub runs: usize,
    /// Concurrent HTTP clients.
    pub clients: usize,
    /// HTTP load per measurement.
    pub http: Duration,
    /// The service binary, if given.
    pub service_binary: Option<PathBuf>,
    /// Where figures go.
    pub out: &'a mut (dyn Write + Send),
}

fn actor(role: Role, district: Option<&str>) -> Actor {
    Actor {
        sub: format!("bench:{}", role.as_str().to_lowercase()),
        role,
        district: district.map(str::to_string),
    }
}

/// `met`, or by how much the target is missed.
fn verdict_at_most(value: f64, target: f64) -> String {
    if value <= target {
        format!("target ≤ {target}×: met")
    } else {
        format!(
            "target ≤ {target}×: MISSED by {:.2}× ({:.0}% over)",
            value / target,
            (value / target - 1.0) * 100.0
        )
    }
}

fn verdict_at_least(value: f64, target: f64, unit: &str) -> String {
    if value >= target {
        format!("target ≥ {target}{unit}: met")
    } else {
        format!(
            "target ≥ {target}{unit}: MISSED by {:.2}× ({:.0}% short)",
            target / value.max(1e-9),
            (1.0 - value / target) * 100.0
        )
    }
}

/// Inserts `rows` into `table` with multi-row `INSERT`s of bound values (the plain bulk insert
/// every floor uses).
async fn bulk_insert<C: ConnectionTrait>(
    conn: &C,
    table: &str,
    columns: &[&str],
    rows: impl IntoIterator<Item = Vec<Value>>,
) -> Result<(), BenchError> {
    let backend = conn.get_database_backend();
    let per_statement = (30_000 / columns.len().max(1)).max(1);
    let head = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let mut sql = head.clone();
        let mut values = Vec::with_capacity(per_statement * columns.len());
        let mut n = 0usize;
        for (r, row) in rows.by_ref().take(per_statement).enumerate() {
            sql.push_str(if r == 0 { "(" } else { ", (" });
            for c in 0..row.len() {
                n += 1;
                if c > 0 {
                    sql.push_str(", ");
                }
                match backend {
                    DbBackend::Postgres => sql.push_str(&format!("${n}")),
                    _ => sql.push('?'),
                }
            }
            sql.push(')');
            values.extend(row);
        }
        conn.execute_raw(Statement::from_sql_and_values(backend, sql, values))
            .await?;
    }
    Ok(())
}

/// Runs `warmup + runs` times: an optional untimed set-up whose value is bound to a name, then
/// the timed body; returns the [`Series`] of the timed runs.
macro_rules! measure {
    ($ctx:expr, $body:block) => {
        measure!($ctx, _nothing = {}, $body)
    };
    ($ctx:expr, $bind:ident = $setup:block, $body:block) => {{
        let mut series = Series::default();
        for i in 0..$ctx.warmup + $ctx.runs {
            #[allow(clippy::let_unit_value)]
            let $bind = $setup;
            let probe = Probe::start(&$ctx.counter);
            $body
            let run = probe.stop();
            if i >= $ctx.warmup {
                series.push(run);
            }
        }
        series
    }};
}

// ---------------------------------------------------------------------------------------------
// Reconcile
// ---------------------------------------------------------------------------------------------

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
pub async fn reconcile_once(ctx: &Ctx<'_>) -> Result<(), BenchError> {
    let finance = actor(Role::CityFinance, None);
    for district in &ctx.set.claim_districts {
        settlement::reconcile_claim(&ctx.db, &finance, district, FISCAL_YEAR).await?;
    }
    Ok(())
}

/// `reconcile_claim` for every claim of the year vs one scan of the lines and a bulk insert of
/// as many verdict rows. Targets: ≤ 3×, ≤ 512 MiB.
pub async fn reconcile(ctx: &mut Ctx<'_>) -> Result<Vec<Outcome>, BenchError> {
    let districts = ctx.set.claim_districts.clone();
    writeln!(
        ctx.out,
        "\n== reconcile: settlement::reconcile_claim for the {} claims of {FISCAL_YEAR} ({} lines)",
        districts.len(),
        thousands(ctx.set.lines)
    )?;
    let finance = actor(Role::CityFinance, None);
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
                settlement::reconcile_claim(&ctx.db, &finance, district, FISCAL_YEAR).await?;
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
        crate::policy::Money::from_fen(eligible).format_yuan(),
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

// ---------------------------------------------------------------------------------------------
// Draft
// ---------------------------------------------------------------------------------------------

/// `settlement::draft` vs one `GROUP BY district` aggregate over the verdicts. Target ≤ 1.5×.
pub async fn draft(ctx: &mut Ctx<'_>) -> Result<Vec<Outcome>, BenchError> {
    writeln!(
        ctx.out,
        "\n== draft: settlement::draft of {FISCAL_YEAR} from {} stored verdicts ({} districts)",
        thousands(ctx.set.lines),
        ctx.set.districts.len()
    )?;
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
    let backend = ctx.db.get_database_backend();
    let placeholder = if backend == DbBackend::Postgres {
        "$1"
    } else {
        "?"
    };
    let sql = format!(
        "SELECT c.district_code, CAST(SUM(v.eligible_fen) AS BIGINT) AS eligible, \
         CAST(SUM(v.cut_fen) AS BIGINT) AS cut, CAST(COUNT(*) AS BIGINT) AS lines \
         FROM line_verdicts v JOIN claims c ON c.id = v.claim_id \
         WHERE c.fiscal_year = {placeholder} GROUP BY c.district_code"
    );
    let db = ctx.db.clone();
    let mut groups = 0usize;
    let floor = measure!(ctx, {
        groups = db
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                sql.clone(),
                [Value::from(FISCAL_YEAR)],
            ))
            .await?
            .len();
    });
    let r = ratio(service.median(), floor.median());
    writeln!(
        ctx.out,
        "service: {}; granted {}; {}",
        service.describe(),
        crate::policy::Money::from_fen(granted).format_yuan(),
        service.describe_sql()
    )?;
    writeln!(ctx.out, "         top statements per run: {top}")?;
    writeln!(
        ctx.out,
        "floor:   {} (one GROUP BY district over the verdicts: {groups} groups)",
        floor.describe()
    )?;
    writeln!(
        ctx.out,
        "ratio:   {r:.2}× ({}); {memory_text}",
        verdict_at_most(r, 1.5)
    )?;
    Ok(vec![Outcome {
        name: "draft",
        text: format!(
            "{} vs floor {} = {r:.2}× ({}); {memory_text}",
            secs(service.median()),
            secs(floor.median()),
            verdict_at_most(r, 1.5)
        ),
    }])
}

// ---------------------------------------------------------------------------------------------
// CSV import
// ---------------------------------------------------------------------------------------------

const LINE_COLUMNS: [&str; 15] = [
    "seq",
    "district_code",
    "fiscal_year",
    "enterprise_id",
    "credit_code",
    "kind",
    "subsidy_year",
    "contract_no",
    "basis_fen",
    "transaction_date",
    "amount_fen",
    "payment_date",
    "voucher_no",
    "reported_at",
    "reported_by",
];

async fn delete_imported(db: &DatabaseConnection) -> Result<u64, BenchError> {
    Ok(payment_lines::Entity::delete_many()
        .filter(payment_lines::Column::DistrictCode.eq(IMPORT_DISTRICT))
        .filter(payment_lines::Column::FiscalYear.eq(IMPORT_YEAR))
        .exec(db)
        .await?
        .rows_affected)
}

/// A CSV file of N lines through `csv_import::parse` + `payments::report` vs a plain bulk insert
/// of the same rows. Target ≤ 3×.
pub async fn csv_import(ctx: &mut Ctx<'_>) -> Result<Vec<Outcome>, BenchError> {
    let n = ctx.size.csv_lines;
    let bytes = data::import_csv(&ctx.set, n);
    let limit = payments::MAX_LINES_PER_REPORT;
    let batches = n.div_ceil(limit);
    writeln!(
        ctx.out,
        "\n== csv-import: a {}-line CSV file ({:.1} MiB) of {IMPORT_DISTRICT} for {IMPORT_YEAR} \
         through csv_import::parse + payments::report",
        thousands(n as u64),
        bytes.len() as f64 / 1_048_576.0
    )?;
    let district = actor(Role::District, Some(IMPORT_DISTRICT));
    delete_imported(&ctx.db).await?;
    if n > limit {
        // The service takes at most MAX_LINES_PER_REPORT lines per report: say so, then import the
        // file in batches of that size (each batch all or nothing, the file no longer is).
        let lines = csv_import::parse(&bytes)?;
        let refused =
            match payments::report(&ctx.db, &district, IMPORT_DISTRICT, IMPORT_YEAR, lines).await {
                Ok(done) => format!("accepted ({} lines)", done.created.len()),
                Err(err) => err.public_message(),
            };
        delete_imported(&ctx.db).await?;
        writeln!(
            ctx.out,
            "note:    the whole file in one report: {refused}; measured in {batches} reports of at most {limit} lines"
        )?;
    }
    let memory = Memory::start();
    let kinds = ctx.counter.by_kind();
    let db = ctx.db.clone();
    let mut created = 0usize;
    let service = measure!(
        ctx,
        _emptied = {
            delete_imported(&db).await?;
        },
        {
            let mut rest = csv_import::parse(&bytes)?;
            created = 0;
            while !rest.is_empty() {
                let tail = rest.split_off(rest.len().min(limit));
                let done = payments::report(&db, &district, IMPORT_DISTRICT, IMPORT_YEAR, rest)
                    .await
                    .map_err(csv_import::name_rows)?;
                created += done.created.len();
                rest = tail;
            }
        }
    );
    let memory_text = memory.describe();
    let top = top_kinds(&kinds, &ctx.counter.by_kind(), ctx.warmup + ctx.runs, 4);
    if created != n {
        return Err(BenchError::new(format!(
            "the import created {created} of {n} lines"
        )));
    }

    // The floor: the same rows, prepared untimed, in one plain bulk insert.
    delete_imported(&db).await?;
    let ids: HashMap<&str, i64> = ctx
        .set
        .codes
        .iter()
        .enumerate()
        .map(|(i, code)| (code.as_str(), i64::try_from(i + 1).unwrap_or(0)))
        .collect();
    let max_seq: i64 = payment_lines::Entity::find()
        .select_only()
        .column_as(payment_lines::Column::Seq.max(), "max_seq")
        .into_tuple::<Option<i64>>()
        .one(&db)
        .await?
        .flatten()
        .unwrap_or(0);
    let now = Utc::now();
    let prepared: Vec<Vec<Value>> = csv_import::parse(&bytes)?
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            let fen = |d: rust_decimal::Decimal| {
                crate::policy::Money::parse_decimal(&d).map_or(0, |m| m.fen())
            };
            vec![
                Value::from(max_seq + 1 + i64::try_from(i).unwrap_or(0)),
                Value::from(IMPORT_DISTRICT),
                Value::from(IMPORT_YEAR),
                Value::from(ids.get(l.credit_code.as_str()).copied().unwrap_or(0)),
                Value::from(l.credit_code.clone()),
                Value::from(l.kind.as_str()),
                Value::from(l.subsidy_year),
                Value::from(l.contract_no.clone()),
                Value::from(fen(l.basis)),
                Value::from(l.transaction_date),
                Value::from(fen(l.amount)),
                Value::from(l.payment_date),
                Value::from(l.voucher_no.clone()),
                Value::from(now),
                Value::from("bench:floor"),
            ]
        })
        .collect();
    let floor = measure!(
        ctx,
        rows = {
            delete_imported(&db).await?;
            prepared.clone()
        },
        {
            let txn = db.begin().await?;
            bulk_insert(&txn, "payment_lines", &LINE_COLUMNS, rows).await?;
            txn.commit().await?;
        }
    );
    delete_imported(&db).await?;

    let r = ratio(service.median(), floor.median());
    let per_line = service.median() / u32::try_from(n.max(1)).unwrap_or(u32::MAX);
    writeln!(
        ctx.out,
        "service: {} ({} per line, {:.0} lines/s); {}",
        service.describe(),
        secs(per_line),
        n as f64 / service.median().as_secs_f64().max(1e-9),
        service.describe_sql()
    )?;
    writeln!(
        ctx.out,
        "         top statements per run (set-up deletes included): {top}"
    )?;
    writeln!(
        ctx.out,
        "floor:   {} (one plain bulk insert of the same {} rows); {}",
        floor.describe(),
        thousands(n as u64),
        floor.describe_sql()
    )?;
    writeln!(
        ctx.out,
        "ratio:   {r:.2}× ({}); {memory_text}",
        verdict_at_most(r, 3.0)
    )?;
    Ok(vec![Outcome {
        name: "csv-import",
        text: format!(
            "{} lines in {} vs floor {} = {r:.2}× ({}){}; {memory_text}",
            thousands(n as u64),
            secs(service.median()),
            secs(floor.median()),
            verdict_at_most(r, 3.0),
            if batches > 1 {
                format!(" [in {batches} reports: one report takes at most {limit} lines]")
            } else {
                String::new()
            }
        ),
    }])
}

// ---------------------------------------------------------------------------------------------
// The front-end list over HTTP
// ---------------------------------------------------------------------------------------------

/// The list as a front end asks for it: district, star rating and the 20 latest payments of each
/// enterprise.
const LIST_QUERY: &str = "query List($first: Int!, $after: String, $year: Int!) { \
    enterprises(first: $first, after: $after) { totalCount nodes { creditCode name \
    district { code name } starRating(year: $year) \
    payments(latest: 20) { seq districtCode kind subsidyYear contractNo basis amount paymentDate voucherNo } \
    } } }";

/// 20 page offsets spread over the list.
fn offsets(total: usize, page: usize) -> Vec<usize> {
    let room = total.saturating_sub(page) + 1;
    (0..20).map(|k| (k * page * 7) % room).collect()
}

fn service_requests(token: &str, total: usize, page: usize) -> Vec<Vec<u8>> {
    offsets(total, page)
        .into_iter()
        .map(|offset| {
            let after = (offset > 0).then(|| encode_cursor(offset as u64 - 1));
            http::post_json(
                "/graphql",
                Some(token),
                &json!({
                    "query": LIST_QUERY,
                    "variables": { "first": page, "after": after, "year": data::RECOGNITION_YEAR },
                }),
            )
        })
        .collect()
}

fn floor_requests(total: usize, page: usize) -> Vec<Vec<u8>> {
    offsets(total, page)
        .into_iter()
        .map(|offset| http::get(&format!("/floor/enterprises?first={page}&offset={offset}")))
        .collect()
}

/// Checks a page: `nodes` has the expected length and `totalCount` the total. Returns the body's
/// size and the payment lines on the page.
fn check_page(body: &[u8], total: usize, page: usize) -> Result<(usize, usize), BenchError> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| BenchError::new(format!("list response is not JSON: {e}")))?;
    let list = &value["data"]["enterprises"];
    let nodes = list["nodes"].as_array().map_or(&[][..], Vec::as_slice);
    if nodes.len() != page.min(total) || list["totalCount"].as_u64() != Some(total as u64) {
        return Err(BenchError::new(format!(
            "unexpected list page ({} nodes, total {}): {}",
            nodes.len(),
            list["totalCount"],
            String::from_utf8_lossy(&body[..body.len().min(400)])
        )));
    }
    let payments = nodes
        .iter()
        .map(|n| n["payments"].as_array().map_or(0, Vec::len))
        .sum();
    Ok((body.len(), payments))
}

/// One client, sequential requests at one page size: statements, time in SQL and wall time per
/// request.
#[derive(Debug, Clone)]
struct PerRequest {
    page: usize,
    statements: f64,
    sql: Duration,
    wall: Duration,
    top: String,
}

/// [`PerRequest`] at page sizes 10 and 50 (20 sequential requests each, after one untimed pass),
/// and the size of a page of 50 and its payment lines.
async fn per_request(
    addr: SocketAddr,
    counter: &Counter,
    total: usize,
    requests: impl Fn(usize) -> Vec<Vec<u8>>,
) -> Result<(Vec<PerRequest>, (usize, usize)), BenchError> {
    let mut figures = Vec::new();
    let mut bytes = (0, 0);
    for page in [10usize, 50] {
        let batch = Arc::new(requests(page));
        let warm = Arc::clone(&batch);
        tokio::task::spawn_blocking(move || http::sequential(addr, &warm))
            .await
            .map_err(BenchError::new)?
            .map_err(BenchError::new)?;
        let (statements, sql) = counter.read();
        let kinds = counter.by_kind();
        let count = batch.len();
        let started = Instant::now();
        let timed = Arc::clone(&batch);
        let responses = tokio::task::spawn_blocking(move || http::sequential(addr, &timed))
            .await
            .map_err(BenchError::new)?
            .map_err(BenchError::new)?;
        let wall = started.elapsed();
        let (statements_after, sql_after) = counter.read();
        for response in &responses {
            bytes = check_page(&response.body, total, page)?;
        }
        let n = u32::try_from(count).unwrap_or(1).max(1);
        figures.push(PerRequest {
            page,
            statements: (statements_after - statements) as f64 / f64::from(n),
            sql: sql_after.saturating_sub(sql) / n,
            wall: wall / n,
            top: top_kinds(&kinds, &counter.by_kind(), count, 6),
        });
    }
    Ok((figures, bytes))
}

async fn run_load(
    addr: SocketAddr,
    requests: Vec<Vec<u8>>,
    clients: usize,
    warmup: Duration,
    duration: Duration,
) -> Result<http::Load, BenchError> {
    let requests = Arc::new(requests);
    let warm = Arc::clone(&requests);
    tokio::task::spawn_blocking(move || http::load(addr, warm, clients, warmup))
        .await
        .map_err(BenchError::new)?;
    let load = tokio::task::spawn_blocking(move || http::load(addr, requests, clients, duration))
        .await
        .map_err(BenchError::new)?;
    if load.ok == 0 || load.failed > 0 {
        return Err(BenchError::new(format!(
            "{} of {} requests failed: {}",
            load.failed,
            load.ok + load.failed,
            load.first_failure.clone().unwrap_or_default()
        )));
    }
    Ok(load)
}

fn describe_statements(figures: &[PerRequest]) -> String {
    figures
        .iter()
        .map(|f| format!("{:.1} at first: {}", f.statements, f.page))
        .collect::<Vec<_>>()
        .join(", ")
}

fn describe_one_client(figures: &[PerRequest]) -> String {
    let mut text = figures
        .iter()
        .map(|f| {
            format!(
                "first: {} {} per request ({} in SQL)",
                f.page,
                secs(f.wall),
                secs(f.sql)
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    if let Some(last) = figures.last() {
        text.push_str(&format!(
            "; statements at first: {}: {}",
            last.page, last.top
        ));
    }
    text
}

/// `enterprises(first: 50)` over HTTP against the real server, `clients` concurrent clients for
/// a fixed duration, vs the same rows by hand-written SQL behind a minimal actix handler.
/// Target: throughput ≥ 0.5× the floor's.
pub async fn http_list(ctx: &mut Ctx<'_>) -> Result<Vec<Outcome>, BenchError> {
    let total = ctx.set.codes.len();
    let page = 50usize;
    let lines_per_enterprise = ctx.set.lines as f64 / total.max(1) as f64;
    writeln!(
        ctx.out,
        "\n== http-list: enterprises(first: {page}) over HTTP, {} clients for {}, against the real \
         server (Application::build, port 0)",
        ctx.clients,
        secs(ctx.http)
    )?;
    writeln!(
        ctx.out,
        "note:    each node: district, starRating(year), payments(latest: 20); the data set has \
         {lines_per_enterprise:.1} payment lines per enterprise, so a page holds fewer than 20 each"
    )?;
    let warmup = if ctx.warmup == 0 {
        Duration::ZERO
    } else {
        (ctx.http / 5).min(Duration::from_secs(3))
    };

    // The service.
    let mut server_db = crate::db::connect(&ctx.settings).await?;
    let server_counter = Counter::attach(&mut server_db);
    let settings = Settings {
        bind: "127.0.0.1:0".into(),
        migrate: false,
        ..ctx.settings.clone()
    };
    let app = Application::build_on(settings, server_db).await?;
    let addr = SocketAddr::from(([127, 0, 0, 1], app.port()));
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    tokio::task::spawn_blocking(move || http::wait_ready(addr, Duration::from_secs(30)))
        .await
        .map_err(BenchError::new)??;
    let token = JwtKeys::hs256(&Secret::new(ctx.secret.clone()))
        .mint(
            "bench:front-end",
            Role::HqOffice,
            None,
            chrono::Duration::hours(4),
        )
        .map_err(BenchError::new)?;
    let (service_statements, service_bytes) = per_request(addr, &server_counter, total, |p| {
        service_requests(&token, total, p)
    })
    .await?;
    let memory = Memory::start();
    let service = run_load(
        addr,
        service_requests(&token, total, page),
        ctx.clients,
        warmup,
        ctx.http,
    )
    .await?;
    let memory_text = memory.describe();
    handle.stop(true).await;

    // The floor.
    let mut floor_db = crate::db::connect(&ctx.settings).await?;
    let floor_counter = Counter::attach(&mut floor_db);
    let floor_server = FloorServer::start(floor_db, data::RECOGNITION_YEAR)?;
    let floor_addr = floor_server.addr;
    let (floor_statements, floor_bytes) = per_request(floor_addr, &floor_counter, total, |p| {
        floor_requests(total, p)
    })
    .await?;
    let floor = run_load(
        floor_addr,
        floor_requests(total, page),
        ctx.clients,
        warmup,
        ctx.http,
    )
    .await?;
    floor_server.stop().await;

    let r = service.throughput() / floor.throughput().max(1e-9);
    writeln!(
        ctx.out,
        "service: {}; SQL statements per request: {}; page of {page}: {:.1} KiB, {} payment lines",
        service.describe(),
        describe_statements(&service_statements),
        service_bytes.0 as f64 / 1024.0,
        service_bytes.1
    )?;
    writeln!(
        ctx.out,
        "         one client: {}",
        describe_one_client(&service_statements)
    )?;
    writeln!(
        ctx.out,
        "floor:   {}; SQL statements per request: {}; page of {page}: {:.1} KiB, {} payment lines",
        floor.describe(),
        describe_statements(&floor_statements),
        floor_bytes.0 as f64 / 1024.0,
        floor_bytes.1
    )?;
    writeln!(
        ctx.out,
        "         one client: {}",
        describe_one_client(&floor_statements)
    )?;
    writeln!(
        ctx.out,
        "ratio:   throughput {r:.2}× the floor's ({}); {memory_text} (server and clients in this process)",
        verdict_at_least(r, 0.5, "×")
    )?;
    Ok(vec![Outcome {
        name: "http-list",
        text: format!(
            "{:.0} req/s vs floor {:.0} req/s = {r:.2}× ({}); statements/request {} (floor {}); {memory_text}",
            service.throughput(),
            floor.throughput(),
            verdict_at_least(r, 0.5, "×"),
            describe_statements(&service_statements),
            describe_statements(&floor_statements),
        ),
    }])
}

// ---------------------------------------------------------------------------------------------
// evaluateRecognition
// ---------------------------------------------------------------------------------------------

/// `recognition::evaluate` for N enterprises: one caller, then `clients` concurrent callers.
/// Target ≥ 5,000 verdicts/s.
pub async fn evaluate(ctx: &mut Ctx<'_>) -> Result<Vec<Outcome>, BenchError> {
    let n = ctx.size.evaluations;
    writeln!(
        ctx.out,
        "\n== evaluate: recognition::evaluate for {} enterprises (year {}, decided {})",
        thousands(n as u64),
        data::RECOGNITION_YEAR,
        data::decided_on()
    )?;
    let hq = actor(Role::HqOffice, None);
    let codes = Arc::new(ctx.set.codes.clone());
    let memory = Memory::start();
    let kinds = ctx.counter.by_kind();
    let mut eligible = 0usize;
    let sequential = measure!(ctx, {
        eligible = 0;
        for i in 0..n {
            let code = &codes[i % codes.len()];
            let done = recognition::evaluate(
                &ctx.db,
                &hq,
                code,
                data::RECOGNITION_YEAR,
                data::decided_on(),
            )
            .await?;
            eligible += usize::from(done.verdict.eligible);
        }
    });
    let top = top_kinds(
        &kinds,
        &ctx.counter.by_kind(),
        (ctx.warmup + ctx.runs) * n,
        6,
    );
    let clients = ctx.clients;
    let concurrent = measure!(ctx, {
        let next = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..clients)
            .map(|_| {
                let next = Arc::clone(&next);
                let codes = Arc::clone(&codes);
                let db = ctx.db.clone();
                let hq = hq.clone();
                tokio::spawn(async move {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= n {
                            return Ok::<(), BenchError>(());
                        }
                        recognition::evaluate(
                            &db,
                            &hq,
                            &codes[i % codes.len()],
                            data::RECOGNITION_YEAR,
                            data::decided_on(),
                        )
                        .await?;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.map_err(BenchError::new)??;
        }
    });
    let memory_text = memory.describe();
    let rate = |s: &Series| n as f64 / s.median().as_secs_f64().max(1e-9);
    let per = |s: &Series| {
        s.median_run()
            .map_or(0.0, |r| r.statements as f64 / n.max(1) as f64)
    };
    writeln!(
        ctx.out,
        "one caller:  {}; {:.0} verdicts/s ({} eligible of {}); {:.1} statements per verdict; {}",
        sequential.describe(),
        rate(&sequential),
        thousands(eligible as u64),
        thousands(n as u64),
        per(&sequential),
        sequential.describe_sql()
    )?;
    writeln!(ctx.out, "             statements per verdict: {top}")?;
    writeln!(
        ctx.out,
        "{clients} callers:  {}; {:.0} verdicts/s; {} SQL statements",
        concurrent.describe(),
        rate(&concurrent),
        thousands(concurrent.median_run().map_or(0, |r| r.statements))
    )?;
    writeln!(
        ctx.out,
        "target:  one caller {}; {clients} callers {}; {memory_text}",
        verdict_at_least(rate(&sequential), 5000.0, "/s"),
        verdict_at_least(rate(&concurrent), 5000.0, "/s")
    )?;
    Ok(vec![Outcome {
        name: "evaluate",
        text: format!(
            "one caller {:.0} verdicts/s ({}), {clients} callers {:.0} verdicts/s ({}); {:.1} statements per verdict; {memory_text}",
            rate(&sequential),
            verdict_at_least(rate(&sequential), 5000.0, "/s"),
            rate(&concurrent),
            verdict_at_least(rate(&concurrent), 5000.0, "/s"),
            per(&sequential),
        ),
    }])
}

// ---------------------------------------------------------------------------------------------
// Start-up, idle memory, binary size
// ---------------------------------------------------------------------------------------------

fn free_port() -> Result<u16, BenchError> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// The `hq-api` binary: as given, else next to this executable.
fn service_binary(given: Option<&Path>) -> Option<PathBuf> {
    if let Some(path) = given {
        return path.exists().then(|| path.to_path_buf());
    }
    let exe = std::env::current_exe().ok()?;
    let candidate = exe.parent()?.join("hq-api");
    candidate.exists().then_some(candidate)
}

/// One start of the service process on the existing database: spawn → `/readyz` 200, then its
/// resident memory after `idle`. The process is killed afterwards.
async fn start_process(
    binary: &Path,
    settings: &Settings,
    secret: &str,
    idle: Duration,
) -> Result<(Duration, Option<u64>, Option<u64>), BenchError> {
    let port = free_port()?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let started = Instant::now();
    let mut child = std::process::Command::new(binary)
        .arg("serve")
        .env("HQ_BIND", format!("127.0.0.1:{port}"))
        .env("HQ_DATABASE_URL", &settings.database_url)
        .env("HQ_JWT_SECRET", secret)
        .env("HQ_LOG", "warn")
        .env("HQ_MIGRATE", "true")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    let ready =
        tokio::task::spawn_blocking(move || http::wait_ready(addr, Duration::from_secs(60)))
            .await
            .map_err(BenchError::new)?;
    let result = match ready {
        Ok(_) => {
            let to_ready = started.elapsed();
            tokio::time::sleep(idle).await;
            let rss = status_kib(Some(child.id()), "VmRSS");
            let hwm = status_kib(Some(child.id()), "VmHWM");
            Ok((to_ready, rss, hwm))
        }
        Err(e) => Err(BenchError::new(format!("{}: {e}", binary.display()))),
    };
    let _ = child.kill();
    let _ = child.wait();
    result
}

/// Start-up time to ready on the existing database (in process and as a process), idle memory of
/// the service process, and the binary's size.
pub async fn startup(ctx: &mut Ctx<'_>) -> Result<Vec<Outcome>, BenchError> {
    writeln!(
        ctx.out,
        "\n== startup: the service on the existing database (migrations checked, seed, bind, /readyz)"
    )?;
    // Where start-up time goes: the first connection, then the migration check and the seed.
    let mut db = crate::db::connect(&ctx.settings).await?;
    let counter = Counter::attach(&mut db);
    let started = Instant::now();
    db.ping().await?;
    let first_connection = started.elapsed();
    let kinds = counter.by_kind();
    let probe = Probe::start(&counter);
    {
        use migration::MigratorTrait;
        migration::Migrator::up(&db, None).await?;
    }
    let migrate = probe.stop();
    let probe = Probe::start(&counter);
    crate::services::seed::run(&db).await?;
    let seed = probe.stop();
    writeln!(
        ctx.out,
        "breakdown:  first connection {}; migration check {} ({} statements, {} in SQL); seed {} ({} statements, {} in SQL); {}",
        secs(first_connection),
        secs(migrate.wall),
        migrate.statements,
        secs(migrate.sql),
        secs(seed.wall),
        seed.statements,
        secs(seed.sql),
        top_kinds(&kinds, &counter.by_kind(), 1, 4)
    )?;
    db.close().await?;

    let runs = ctx.runs.max(3);
    let mut in_process = Series::default();
    for _ in 0..runs {
        let probe = Probe::start(&ctx.counter);
        let app = Application::build(Settings {
            bind: "127.0.0.1:0".into(),
            migrate: true,
            ..ctx.settings.clone()
        })
        .await?;
        let addr = SocketAddr::from(([127, 0, 0, 1], app.port()));
        let handle = app.handle();
        tokio::spawn(app.run_until_stopped());
        tokio::task::spawn_blocking(move || http::wait_ready(addr, Duration::from_secs(30)))
            .await
            .map_err(BenchError::new)??;
        in_process.push(probe.stop());
        handle.stop(true).await;
    }
    writeln!(
        ctx.out,
        "in process: Application::build → /readyz 200: {}",
        in_process.describe()
    )?;

    let binary = service_binary(ctx.service_binary.as_deref());
    let idle = if ctx.size.http_seconds < 5.0 {
        Duration::from_millis(500)
    } else {
        Duration::from_secs(2)
    };
    let mut outcomes = Vec::new();
    match &binary {
        Some(binary) => {
            let mut process = Series::default();
            let mut rss = Vec::new();
            for _ in 0..runs {
                let (to_ready, idle_rss, hwm) =
                    start_process(binary, &ctx.settings, &ctx.secret, idle).await?;
                process.push(super::measure::Run {
                    wall: to_ready,
                    statements: 0,
                    sql: Duration::ZERO,
                });
                rss.push((idle_rss, hwm));
            }
            let (idle_rss, hwm) = rss.last().copied().unwrap_or((None, None));
            let idle_text = format!(
                "VmRSS {} after {} idle (peak {})",
                idle_rss.map_or_else(|| "n/a".into(), mib),
                secs(idle),
                hwm.map_or_else(|| "n/a".into(), mib)
            );
            writeln!(
                ctx.out,
                "process:    `{} serve` spawn → /readyz 200: {}; {idle_text}",
                binary.display(),
                process.describe()
            )?;
            outcomes.push(Outcome {
                name: "startup",
                text: format!(
                    "process spawn → ready {} (in process {})",
                    secs(process.median()),
                    secs(in_process.median())
                ),
            });
            outcomes.push(Outcome {
                name: "idle-rss",
                text: format!("service process {idle_text}"),
            });
        }
        None => {
            writeln!(
                ctx.out,
                "process:    no hq-api binary next to this one (build it, or pass --service-binary)"
            )?;
            outcomes.push(Outcome {
                name: "startup",
                text: format!(
                    "in process {} (no service binary to spawn)",
                    secs(in_process.median())
                ),
            });
            outcomes.push(Outcome {
                name: "idle-rss",
                text: "n/a: no service binary to spawn".into(),
            });
        }
    }
    let file_size = |path: &Path| std::fs::metadata(path).map(|m| m.len()).ok();
    let binary_text = match &binary {
        Some(path) => format!(
            "{} {}{}",
            path.display(),
            file_size(path).map_or_else(|| "n/a".into(), |b| mib(b / 1024)),
            if path.components().any(|c| c.as_os_str() == "debug") {
                " (a debug build)"
            } else {
                ""
            }
        ),
        None => "n/a: no service binary".into(),
    };
    writeln!(ctx.out, "binary:     {binary_text}")?;
    outcomes.push(Outcome {
        name: "binary-size",
        text: binary_text,
    });
    Ok(outcomes)
}
