//! `tls`: the same statements over TLS (`sslmode=require`) and over a plain link
//! (`sslmode=disable`) to the same PostgreSQL server, one connection each. Target: TLS within
//! 10% of plain.
//!
//! Without `TCP_NODELAY` a message written in more than one TCP segment waits for the server's
//! delayed ACK (~40 ms on Linux); over TLS most larger statements are, so TLS was several times
//! slower than plain. The floor is the plain link: TLS cannot be cheaper than the same bytes
//! unencrypted, and its cost on a local link is the encryption alone.

use std::time::Duration;

use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement, Value,
};

use super::{Ctx, verdict_at_most};
use crate::measure::{Probe, Series, secs};
use crate::{BenchError, Outcome};

/// Statements per timed run, half small and half large.
const STATEMENTS: usize = 200;
/// Timed runs a link at least, whatever `--runs` says.
const MIN_RUNS: usize = 10;
/// The text bound to each large statement: larger than one TCP segment and one TLS record.
const LARGE_BYTES: usize = 24 * 1024;

/// `url` with its `sslmode` set to `mode` (any earlier `sslmode` removed).
pub fn with_sslmode(url: &str, mode: &str) -> String {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut params: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("sslmode="))
        .collect();
    let setting = format!("sslmode={mode}");
    params.push(&setting);
    format!("{base}?{}", params.join("&"))
}

async fn connect(url: String) -> Result<DatabaseConnection, sea_orm::DbErr> {
    let mut options = ConnectOptions::new(url);
    options
        .max_connections(1)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        // As the service's pool: a connection in use is not pinged before each statement.
        .test_before_acquire_if_idle_for(hq_api::db::PING_IF_IDLE_FOR)
        .sqlx_logging(false);
    Database::connect(options).await
}

/// One run: small and large statements alternately, each waiting for its answer.
async fn workload(db: &DatabaseConnection, large: &str) -> Result<(), BenchError> {
    for i in 0..STATEMENTS {
        let text = if i % 2 == 0 { "x" } else { large };
        let rows = db
            .query_all_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT length($1) AS n",
                [Value::from(text.to_owned())],
            ))
            .await?;
        if rows.len() != 1 {
            return Err(BenchError::new("SELECT length($1) answered no row"));
        }
    }
    Ok(())
}

fn skipped(ctx: &mut Ctx<'_>, why: &str) -> Result<Vec<Outcome>, BenchError> {
    writeln!(ctx.out, "skipped: {why}")?;
    Ok(vec![Outcome {
        name: "tls",
        text: format!("skipped: {why}"),
    }])
}

/// The same statements over TLS and plain. Target: TLS ≤ 1.1× plain.
pub async fn run(ctx: &mut Ctx<'_>) -> Result<Vec<Outcome>, BenchError> {
    writeln!(
        ctx.out,
        "\n== tls: {STATEMENTS} statements per run (half of 1 byte, half of {} KiB bound), over TLS \
         and over a plain link to the same server",
        LARGE_BYTES / 1024
    )?;
    let url = ctx.settings.database_url.clone();
    if ctx.db.get_database_backend() != DbBackend::Postgres {
        return skipped(ctx, "SQLite has no network link");
    }
    let tls = match connect(with_sslmode(&url, "require")).await {
        Ok(db) => db,
        Err(err) => {
            let why = format!("the server does not accept TLS ({err})");
            return skipped(ctx, &why);
        }
    };
    let plain = connect(with_sslmode(&url, "disable")).await?;
    let large = "x".repeat(LARGE_BYTES);
    // The two links take turns, run by run, the first of each pair alternating (TLS, plain,
    // plain, TLS, …), so a change of the machine's load during the scenario falls on both
    // alike: timed as a block on one link and then a block on the other, the ratio moved from
    // 1.03× to 1.26× between runs of the same build. A run is short, so at least
    // `MIN_RUNS` a link.
    let mut over_tls = Series::default();
    let mut over_plain = Series::default();
    for i in 0..ctx.warmup + ctx.runs.max(MIN_RUNS) {
        let order = if i % 2 == 0 {
            [(&tls, true), (&plain, false)]
        } else {
            [(&plain, false), (&tls, true)]
        };
        for (db, encrypted) in order {
            let probe = Probe::start(&ctx.counter);
            workload(db, &large).await?;
            let run = probe.stop();
            if i >= ctx.warmup {
                if encrypted {
                    over_tls.push(run);
                } else {
                    over_plain.push(run);
                }
            }
        }
    }
    let per_statement =
        |d: Duration| format!("{:.0} µs", d.as_secs_f64() * 1e6 / STATEMENTS as f64);
    let r = over_tls.median().as_secs_f64() / over_plain.median().as_secs_f64().max(1e-9);
    writeln!(
        ctx.out,
        "tls:     {}; {} a statement",
        over_tls.describe(),
        per_statement(over_tls.median())
    )?;
    writeln!(
        ctx.out,
        "plain:   {}; {} a statement",
        over_plain.describe(),
        per_statement(over_plain.median())
    )?;
    // The fastest run of each link is the one least disturbed by the rest of the machine:
    // printed beside the medians' ratio, which the target is about.
    let (fastest_tls, fastest_plain) = (over_tls.min_max().0, over_plain.min_max().0);
    writeln!(
        ctx.out,
        "ratio:   {r:.2}× ({}); fastest runs {} vs {} = {:.2}×",
        verdict_at_most(r, 1.1),
        secs(fastest_tls),
        secs(fastest_plain),
        fastest_tls.as_secs_f64() / fastest_plain.as_secs_f64().max(1e-9)
    )?;
    Ok(vec![Outcome {
        name: "tls",
        text: format!(
            "{} vs plain {} = {r:.2}× ({})",
            secs(over_tls.median()),
            secs(over_plain.median()),
            verdict_at_most(r, 1.1)
        ),
    }])
}

#[cfg(test)]
mod tests {
    use super::with_sslmode;

    #[test]
    fn the_sslmode_is_set_once_whatever_the_url_had() {
        assert_eq!(
            with_sslmode("postgres://u@h:5432/db", "require"),
            "postgres://u@h:5432/db?sslmode=require"
        );
        assert_eq!(
            with_sslmode(
                "postgres://u@h/db?sslmode=prefer&application_name=x",
                "disable"
            ),
            "postgres://u@h/db?application_name=x&sslmode=disable"
        );
    }
}
