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
use crate::measure::secs;
use crate::{BenchError, Outcome};

/// Statements per timed run, half small and half large.
const STATEMENTS: usize = 200;
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
    let over_tls = measure!(ctx, {
        workload(&tls, &large).await?;
    });
    let over_plain = measure!(ctx, {
        workload(&plain, &large).await?;
    });
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
    writeln!(ctx.out, "ratio:   {r:.2}× ({})", verdict_at_most(r, 1.1))?;
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
