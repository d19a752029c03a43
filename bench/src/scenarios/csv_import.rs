//! `csv-import`: a district's CSV file through `csv_import::parse` and `payments::report`, against
//! the plain import of the same bytes, timed whole: the CSV parsed (amounts to fen, dates
//! checked), then on PostgreSQL `COPY` into a temporary table and one `INSERT … SELECT` into
//! `payment_lines` joining `enterprises` on the credit code and numbering the lines after the
//! highest report sequence, in one transaction; on SQLite prepared multi-row `INSERT … SELECT`s
//! from a `VALUES` list with the same join, in one transaction. Target ≤ 3×.

use chrono::{NaiveDate, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    Statement, TransactionTrait, Value,
};
use sqlx::Connection;

use super::{Ctx, actor, verdict_at_most};
use crate::data::{self, IMPORT_DISTRICT, IMPORT_YEAR};
use crate::measure::{Memory, ratio, secs, thousands, top_kinds};
use crate::{BenchError, Outcome};
use entity::payment_lines;
use hq_api::auth::Role;
use hq_api::services::{csv_import, payments};

/// The columns the floor writes, after `seq`, `district_code` and `fiscal_year`.
const LINE_COLUMNS: &str = "seq, district_code, fiscal_year, enterprise_id, credit_code, kind, \
     subsidy_year, contract_no, basis_fen, transaction_date, amount_fen, payment_date, \
     voucher_no, reported_at, reported_by";

/// The highest report sequence, reported or withdrawn (a sequence number is never reused).
const MAX_SEQ: &str = "SELECT CAST(COALESCE(MAX(m), 0) AS BIGINT) AS m FROM \
     (SELECT MAX(seq) AS m FROM payment_lines UNION ALL \
      SELECT MAX(seq) FROM withdrawn_payment_lines) s";

/// One row of the file, parsed.
struct Row<'a> {
    credit_code: &'a str,
    kind: &'static str,
    subsidy_year: i32,
    contract_no: &'a str,
    basis_fen: i64,
    transaction_date: Option<NaiveDate>,
    amount_fen: i64,
    payment_date: NaiveDate,
    voucher_no: &'a str,
}

/// An amount in yuan (`1,234.5`, thousands separators allowed) in fen.
fn fen(text: &str) -> Option<i64> {
    let text = text.trim();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() || fraction.len() > 2 {
        return None;
    }
    let mut value: i64 = 0;
    for b in whole.bytes() {
        match b {
            b'0'..=b'9' => value = value.checked_mul(10)?.checked_add(i64::from(b - b'0'))?,
            b',' => {}
            _ => return None,
        }
    }
    let mut cents: i64 = 0;
    for (i, b) in fraction.bytes().enumerate() {
        if !b.is_ascii_digit() {
            return None;
        }
        cents += i64::from(b - b'0') * if i == 0 { 10 } else { 1 };
    }
    value.checked_mul(100)?.checked_add(cents)
}

fn day(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()
}

/// Parses the file (UTF-8, English headers in any order) and hands each row to `each`.
fn parse_rows(
    bytes: &[u8],
    mut each: impl FnMut(usize, &Row<'_>) -> Result<(), BenchError>,
) -> Result<usize, BenchError> {
    let mut reader = csv::ReaderBuilder::new().from_reader(bytes);
    let headers = reader.headers().map_err(BenchError::new)?.clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim() == name)
            .ok_or_else(|| BenchError::new(format!("the file has no {name} column")))
    };
    let at = [
        column("creditCode")?,
        column("kind")?,
        column("subsidyYear")?,
        column("contractNo")?,
        column("basis")?,
        column("transactionDate")?,
        column("amount")?,
        column("paymentDate")?,
        column("voucherNo")?,
    ];
    let mut record = csv::StringRecord::new();
    let mut n = 0usize;
    while reader.read_record(&mut record).map_err(BenchError::new)? {
        let field = |i: usize| record.get(at[i]).unwrap_or("");
        let bad = |what: &str| BenchError::new(format!("row {}: bad {what}", n + 2));
        let transaction = field(5).trim();
        let row = Row {
            credit_code: field(0).trim(),
            kind: match field(1).trim() {
                "RENT" => "RENT",
                "PURCHASE" => "PURCHASE",
                _ => return Err(bad("kind")),
            },
            subsidy_year: field(2).trim().parse().map_err(|_| bad("subsidy year"))?,
            contract_no: field(3).trim(),
            basis_fen: fen(field(4)).ok_or_else(|| bad("basis"))?,
            transaction_date: if transaction.is_empty() {
                None
            } else {
                Some(day(transaction).ok_or_else(|| bad("transaction date"))?)
            },
            amount_fen: fen(field(6)).ok_or_else(|| bad("amount"))?,
            payment_date: day(field(7)).ok_or_else(|| bad("payment date"))?,
            voucher_no: field(8).trim(),
        };
        n += 1;
        each(n, &row)?;
    }
    Ok(n)
}

/// A text field of `COPY … FROM STDIN` (text format), escaped.
fn copy_text(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

/// The floor on PostgreSQL: parse into `COPY` text, `COPY` into a temporary table, one
/// `INSERT … SELECT` joining `enterprises`, in one transaction; returns the lines inserted.
async fn floor_import_postgres(db: &DatabaseConnection, bytes: &[u8]) -> Result<u64, BenchError> {
    use std::fmt::Write as _;
    let mut copy = String::with_capacity(bytes.len() + bytes.len() / 2);
    parse_rows(bytes, |n, row| {
        let _ = write!(copy, "{n}\t");
        copy_text(&mut copy, row.credit_code);
        let _ = write!(copy, "\t{}\t{}\t", row.kind, row.subsidy_year);
        copy_text(&mut copy, row.contract_no);
        let _ = write!(copy, "\t{}\t", row.basis_fen);
        match row.transaction_date {
            Some(d) => {
                let _ = write!(copy, "{d}");
            }
            None => copy.push_str("\\N"),
        }
        let _ = write!(copy, "\t{}\t{}\t", row.amount_fen, row.payment_date);
        copy_text(&mut copy, row.voucher_no);
        copy.push('\n');
        Ok(())
    })?;
    let sql_error = |e: sqlx::Error| BenchError::new(format!("database: {e}"));
    let mut conn = db
        .get_postgres_connection_pool()
        .acquire()
        .await
        .map_err(sql_error)?;
    let mut tx = conn.begin().await.map_err(sql_error)?;
    // What the service takes too: report sequences are assigned under this lock.
    sqlx::query("LOCK TABLE payment_lines IN SHARE ROW EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await
        .map_err(sql_error)?;
    sqlx::query(
        "CREATE TEMPORARY TABLE bench_floor_staging (ord BIGINT NOT NULL, credit_code TEXT NOT NULL, \
         kind TEXT NOT NULL, subsidy_year INTEGER NOT NULL, contract_no TEXT NOT NULL, \
         basis_fen BIGINT NOT NULL, transaction_date DATE, amount_fen BIGINT NOT NULL, \
         payment_date DATE NOT NULL, voucher_no TEXT NOT NULL) ON COMMIT DROP",
    )
    .persistent(false)
    .execute(&mut *tx)
    .await
    .map_err(sql_error)?;
    let mut sink = tx
        .copy_in_raw("COPY bench_floor_staging FROM STDIN")
        .await
        .map_err(sql_error)?;
    sink.send(copy.into_bytes()).await.map_err(sql_error)?;
    sink.finish().await.map_err(sql_error)?;
    let done = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO payment_lines ({LINE_COLUMNS}) \
         SELECT m.m + s.ord, $1, $2, e.id, s.credit_code, s.kind, s.subsidy_year, s.contract_no, \
                s.basis_fen, s.transaction_date, s.amount_fen, s.payment_date, s.voucher_no, \
                now(), 'bench:floor' \
         FROM bench_floor_staging s JOIN enterprises e ON e.credit_code = s.credit_code \
         CROSS JOIN ({MAX_SEQ}) m \
         ON CONFLICT DO NOTHING"
    )))
    .bind(IMPORT_DISTRICT)
    .bind(IMPORT_YEAR)
    .persistent(false)
    .execute(&mut *tx)
    .await
    .map_err(sql_error)?;
    tx.commit().await.map_err(sql_error)?;
    Ok(done.rows_affected())
}

/// Rows per `INSERT` on SQLite (10 bound values each, under SQLite's 32,766).
const SQLITE_ROWS: usize = 2_000;

/// The floor on SQLite: parse, then prepared multi-row `INSERT … SELECT`s from a `VALUES` list
/// joined to `enterprises`, in one transaction; returns the lines inserted. `CROSS JOIN` keeps
/// the list as the outer loop (one probe of `uq_enterprises_credit_code` per row): SQLite's
/// planner would otherwise scan the unindexed list once per enterprise.
async fn floor_import_sqlite(db: &DatabaseConnection, bytes: &[u8]) -> Result<u64, BenchError> {
    let backend = db.get_database_backend();
    let mut rows: Vec<[Value; 10]> = Vec::new();
    parse_rows(bytes, |n, row| {
        rows.push([
            Value::from(i64::try_from(n).unwrap_or(0)),
            Value::from(row.credit_code.to_string()),
            Value::from(row.kind),
            Value::from(row.subsidy_year),
            Value::from(row.contract_no.to_string()),
            Value::from(row.basis_fen),
            Value::from(row.transaction_date),
            Value::from(row.amount_fen),
            Value::from(row.payment_date),
            Value::from(row.voucher_no.to_string()),
        ]);
        Ok(())
    })?;
    let txn = db.begin().await?;
    let base: i64 = txn
        .query_one_raw(Statement::from_string(backend, MAX_SEQ))
        .await?
        .ok_or_else(|| BenchError::new("no highest report sequence"))?
        .try_get("", "m")?;
    let now = Utc::now();
    let mut inserted = 0u64;
    for chunk in rows.chunks(SQLITE_ROWS) {
        // Plain `?`s, bound in the order they appear: SQLite looks numbered ones (`?N`) up in a
        // list, one scan each, which costs seconds at 20,000 parameters.
        let mut values = String::with_capacity(chunk.len() * 32);
        for r in 0..chunk.len() {
            values.push_str(if r == 0 { "(" } else { ", (" });
            values.push_str("?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        }
        let sql = format!(
            "INSERT INTO payment_lines ({LINE_COLUMNS}) \
             SELECT ? + v.column1, ?, ?, e.id, v.column2, v.column3, v.column4, v.column5, \
                    v.column6, v.column7, v.column8, v.column9, v.column10, ?, 'bench:floor' \
             FROM (VALUES {values}) v CROSS JOIN enterprises e \
             WHERE e.credit_code = v.column2 ON CONFLICT DO NOTHING"
        );
        let mut bound = Vec::with_capacity(4 + chunk.len() * 10);
        bound.extend([
            Value::from(base),
            Value::from(IMPORT_DISTRICT),
            Value::from(IMPORT_YEAR),
            Value::from(now),
        ]);
        bound.extend(chunk.iter().flat_map(|r| r.iter().cloned()));
        inserted += txn
            .execute_raw(Statement::from_sql_and_values(backend, sql, bound))
            .await?
            .rows_affected();
    }
    txn.commit().await?;
    Ok(inserted)
}

async fn delete_imported(db: &DatabaseConnection) -> Result<u64, BenchError> {
    Ok(payment_lines::Entity::delete_many()
        .filter(payment_lines::Column::DistrictCode.eq(IMPORT_DISTRICT))
        .filter(payment_lines::Column::FiscalYear.eq(IMPORT_YEAR))
        .exec(db)
        .await?
        .rows_affected)
}

/// A CSV file of N lines through `csv_import::parse` + `payments::report` vs the plain import of
/// the same bytes (parse, `COPY` or multi-row inserts, one `INSERT … SELECT`). Target ≤ 3×.
pub async fn run(ctx: &mut Ctx<'_>) -> Result<Vec<Outcome>, BenchError> {
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
                let done =
                    payments::report(&db, &district, IMPORT_DISTRICT, IMPORT_YEAR, rest).await?;
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

    // The floor: the same bytes, parsed and imported as a hand would, timed whole.
    delete_imported(&db).await?;
    let backend = db.get_database_backend();
    let mut inserted = 0u64;
    let floor = measure!(
        ctx,
        _emptied = {
            delete_imported(&db).await?;
        },
        {
            inserted = match backend {
                DbBackend::Postgres => floor_import_postgres(&db, &bytes).await?,
                _ => floor_import_sqlite(&db, &bytes).await?,
            };
        }
    );
    let stored = delete_imported(&db).await?;
    if inserted != n as u64 || stored != n as u64 {
        return Err(BenchError::new(format!(
            "the floor inserted {inserted} of {n} lines ({stored} stored)"
        )));
    }
    let floor_what = match backend {
        DbBackend::Postgres => {
            "parse + COPY into a temporary table + one INSERT … SELECT joining enterprises on the \
             credit code, seq after the highest, in one transaction; its statements go through \
             sqlx directly and are not counted"
        }
        _ => {
            "parse + prepared INSERT … SELECT of 2,000-row VALUES lists joining enterprises on \
             the credit code, in one transaction"
        }
    };

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
        "floor:   {} ({floor_what}: {} lines); {}",
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
