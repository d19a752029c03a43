//! `evaluate`: `recognize::evaluate` for N enterprises, one caller then `clients` concurrent
//! callers. Target ≥ 5,000 verdicts/s.
//!
//! The floor of one caller is N bare round trips (`SELECT 1`, one after another, through the
//! same pool and driver): a caller that waits for one answer from the database per verdict can
//! go no faster, whatever the statement. On a machine whose round trip is slower than 200 µs, no
//! design with a round trip per verdict meets the target; the figure says where this machine is.
//!
//! The one caller is measured twice: on the harness's shared pool (a multi-thread runtime) and
//! on a connection of its own opened by a current-thread runtime, as an actix worker would run
//! a request if each worker had a pool of its own; each beside its floor on the same pool.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement};

use super::{Ctx, actor, verdict_at_least};
use crate::data;
use crate::measure::{Memory, Series, thousands, top_kinds};
use crate::{BenchError, Outcome};
use hq_api::auth::{Actor, Role};
use hq_api::services::recognition::inputs::PolicyCache;
use hq_api::services::recognition::recognize;

/// `recognize::evaluate` for N enterprises: one caller, then `clients` concurrent callers.
/// Target ≥ 5,000 verdicts/s.
pub async fn run(ctx: &mut Ctx<'_>) -> Result<Vec<Outcome>, BenchError> {
    let n = ctx.size.evaluations;
    writeln!(
        ctx.out,
        "\n== evaluate: recognize::evaluate for {} enterprises (year {}, decided {})",
        thousands(n as u64),
        data::RECOGNITION_YEAR,
        data::decided_on()
    )?;
    let hq = actor(Role::HqOffice, None);
    // The service keeps one cache per database in its state; so does the harness.
    let policy = PolicyCache::new();
    let codes = Arc::new(ctx.set.codes.clone());
    let memory = Memory::start();
    let kinds = ctx.counter.by_kind();
    let mut eligible = 0usize;
    let sequential = measure!(ctx, {
        eligible = evaluate_all(&ctx.db, &policy, &hq, &codes, n).await?;
    });
    let top = top_kinds(
        &kinds,
        &ctx.counter.by_kind(),
        (ctx.warmup + ctx.runs) * n,
        6,
    );
    let backend = ctx.db.get_database_backend();
    let round_trips = measure!(ctx, {
        bare_round_trips(&ctx.db, backend, n).await?;
    });
    let local = worker_local(ctx, Arc::clone(&codes), n)?;
    let clients = ctx.clients;
    let concurrent = measure!(ctx, {
        let next = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..clients)
            .map(|_| {
                let next = Arc::clone(&next);
                let codes = Arc::clone(&codes);
                let db = ctx.db.clone();
                let hq = hq.clone();
                let policy = policy.clone();
                tokio::spawn(async move {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= n {
                            return Ok::<(), BenchError>(());
                        }
                        recognize::evaluate(
                            &db,
                            &policy,
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
    let floor_ratio =
        sequential.median().as_secs_f64() / round_trips.median().as_secs_f64().max(1e-9);
    writeln!(
        ctx.out,
        "floor:       {}; {:.0} bare round trips/s (SELECT 1, one per verdict, same pool); \
         one caller takes {floor_ratio:.2}× its time",
        round_trips.describe(),
        rate(&round_trips),
    )?;
    writeln!(
        ctx.out,
        "one caller on a worker-local connection (a current-thread runtime that opened it, as \
         an actix worker with a pool of its own): {}; {:.0} verdicts/s; floor {:.0} bare round \
         trips/s there",
        local.evaluations.describe(),
        rate(&local.evaluations),
        rate(&local.round_trips),
    )?;
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
            "one caller {:.0} verdicts/s ({}; floor {:.0} bare round trips/s, {floor_ratio:.2}×; on a worker-local connection {:.0}/s, floor {:.0}/s), {clients} callers {:.0} verdicts/s ({}); {:.1} statements per verdict; {memory_text}",
            rate(&sequential),
            verdict_at_least(rate(&sequential), 5000.0, "/s"),
            rate(&round_trips),
            rate(&local.evaluations),
            rate(&local.round_trips),
            rate(&concurrent),
            verdict_at_least(rate(&concurrent), 5000.0, "/s"),
            per(&sequential),
        ),
    }])
}

/// `recognize::evaluate` for the first `n` of `codes` (round robin), one after another; the
/// number found eligible.
async fn evaluate_all(
    db: &DatabaseConnection,
    policy: &PolicyCache,
    hq: &Actor,
    codes: &[String],
    n: usize,
) -> Result<usize, BenchError> {
    let mut eligible = 0;
    for i in 0..n {
        let done = recognize::evaluate(
            db,
            policy,
            hq,
            &codes[i % codes.len()],
            data::RECOGNITION_YEAR,
            data::decided_on(),
        )
        .await?;
        eligible += usize::from(done.verdict.eligible);
    }
    Ok(eligible)
}

/// `n` bare round trips (`SELECT 1`), one after another.
async fn bare_round_trips(
    db: &DatabaseConnection,
    backend: DatabaseBackend,
    n: usize,
) -> Result<(), BenchError> {
    for _ in 0..n {
        db.query_one_raw(Statement::from_string(backend, "SELECT 1"))
            .await?
            .ok_or_else(|| BenchError::new("SELECT 1 answered no row"))?;
    }
    Ok(())
}

/// One caller's evaluations and bare round trips on a worker-local connection.
struct Local {
    evaluations: Series,
    round_trips: Series,
}

/// The timing loop's context on the worker thread (what [`measure!`] reads).
struct LocalCtx {
    warmup: usize,
    runs: usize,
    counter: Arc<crate::measure::Counter>,
}

/// One caller as an actix worker runs a request when its pool is its own: a thread with a
/// current-thread runtime and a one-connection pool opened on it, so the connection's socket
/// is driven by the runtime that awaits it. The harness's shared pool is driven by a
/// multi-thread runtime, where the answer to a statement often arrives on the other worker's
/// reactor and wakes the caller across threads: the figure beside it says what that costs.
fn worker_local(ctx: &Ctx<'_>, codes: Arc<Vec<String>>, n: usize) -> Result<Local, BenchError> {
    let mut settings = ctx.settings.clone();
    settings.db_max_connections = 1;
    let (warmup, runs) = (ctx.warmup, ctx.runs);
    let worker = std::thread::spawn(move || -> Result<Local, BenchError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async move {
            let mut db = hq_api::db::connect_lazy(&settings).await?;
            let local = LocalCtx {
                warmup,
                runs,
                counter: crate::measure::Counter::attach(&mut db),
            };
            let hq = actor(Role::HqOffice, None);
            let policy = PolicyCache::new();
            let backend = db.get_database_backend();
            let evaluations = measure!(local, {
                evaluate_all(&db, &policy, &hq, &codes, n).await?;
            });
            let round_trips = measure!(local, {
                bare_round_trips(&db, backend, n).await?;
            });
            db.close().await?;
            Ok(Local {
                evaluations,
                round_trips,
            })
        })
    });
    worker
        .join()
        .map_err(|_| BenchError::new("the worker-local evaluation thread panicked"))?
}
