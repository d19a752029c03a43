//! `startup`: start-up time to `/readyz` on the existing database (in process and as a process),
//! idle memory of the service process, and the size of its binary. Reported, no target.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::Ctx;
use crate::http;
use crate::measure::{Counter, Probe, Run, Series, mib, secs, status_kib, top_kinds};
use crate::{BenchError, Outcome};
use hq_api::config::Settings;
use hq_api::startup::Application;

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
pub async fn run(ctx: &mut Ctx<'_>) -> Result<Vec<Outcome>, BenchError> {
    writeln!(
        ctx.out,
        "\n== startup: the service on the existing database (migrations checked, seed, bind, /readyz)"
    )?;
    // Where start-up time goes: the first connection, then the migration check and the seed.
    let mut db = hq_api::db::connect(&ctx.settings).await?;
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
    hq_api::services::seed::run(&db).await?;
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
                process.push(Run {
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
