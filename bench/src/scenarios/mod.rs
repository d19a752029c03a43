//! The scenarios, one file each, each against its floor measured on the same database in the
//! same run; here what they share: the context, the timing loop and verdicts against targets.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sea_orm::DatabaseConnection;

use crate::data::{DataSet, Scale, Size};
use crate::measure::Counter;
use hq_api::auth::{Actor, Role};
use hq_api::config::Settings;

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
    /// Its scale.
    pub scale: Scale,
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

/// Runs `warmup + runs` times: an optional untimed set-up whose value is bound to a name, then
/// the timed body; returns the [`Series`](crate::measure::Series) of the timed runs.
macro_rules! measure {
    ($ctx:expr, $body:block) => {
        measure!($ctx, _nothing = {}, $body)
    };
    ($ctx:expr, $bind:ident = $setup:block, $body:block) => {{
        let mut series = $crate::measure::Series::default();
        for i in 0..$ctx.warmup + $ctx.runs {
            #[allow(clippy::let_unit_value)]
            let $bind = $setup;
            let probe = $crate::measure::Probe::start(&$ctx.counter);
            $body
            let run = probe.stop();
            if i >= $ctx.warmup {
                series.push(run);
            }
        }
        series
    }};
}

// The scenarios, in the order they run; after the macro, which they use.

/// `reconcile_year` for the claims of the year (and `reconcile_claim` claim by claim).
pub mod reconcile;

/// `settlement::draft` from the stored verdicts.
pub mod draft;

/// A district's CSV file through `csv_import::parse` and `payments::report`.
pub mod csv_import;

/// The front-end list `enterprises(first: N)` over HTTP against the real server.
pub mod http_list;

/// `recognize::evaluate`, one caller and many.
pub mod evaluate;

/// The yearly round: every enterprise's verdict, streamed.
pub mod round;

/// Start-up time, idle memory and binary size of the service.
pub mod startup;

/// The same statements over TLS and over a plain link to PostgreSQL.
pub mod tls;

/// `audit::verify` of the whole hash chain, with its peak memory.
pub mod audit_verify;
