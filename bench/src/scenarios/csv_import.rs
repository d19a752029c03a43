//! `csv-import`: a district's CSV file through `csv_import::parse` and `payments::report`, against
//! a plain bulk insert of the same rows. Target ≤ 3×.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect, TransactionTrait, Value,
};

use super::{Ctx, actor, bulk_insert, verdict_at_most};
use crate::data::{self, IMPORT_DISTRICT, IMPORT_YEAR};
use crate::measure::{Memory, ratio, secs, thousands, top_kinds};
use crate::{BenchError, Outcome};
use entity::payment_lines;
use hq_api::auth::Role;
use hq_api::services::{csv_import, payments};
use policy::Money;

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
            let fen = |d| Money::parse_decimal(&d).map_or(0, |m| m.fen());
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
