//! `hq-api`: serve (default), mint a token, load demo data, export the schema, migrate, verify
//! the audit log.

use std::process::ExitCode;

use clap::Parser;

use hq_api::auth::{JwtKeys, Role};
use hq_api::config::{AuditCommand, Cli, Command, Settings, TokenArgs};
use hq_api::services::{audit, seed};
use hq_api::startup::Application;
use hq_api::{db, demo, graphql, telemetry};

// mimalloc: a GraphQL response and a recognition verdict are many small, short-lived
// allocations (strings, vectors, JSON values) freed across threads; under glibc's allocator a
// profile of the round spent about a third of its time in malloc and free.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(&cli.settings.log, cli.settings.log_format);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(cli.settings).await,
        Command::Token(args) => token(&cli.settings, &args),
        Command::DemoData => demo_data(&cli.settings).await,
        Command::ExportSchema { out } => export_schema(out),
        Command::Migrate => migrate(&cli.settings).await,
        Command::Audit {
            action: AuditCommand::Verify { from, to },
        } => audit_verify(&cli.settings, from, to).await,
        Command::Rules { markdown: _ } => {
            print!("{}", hq_api::rules::markdown());
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("hq-api: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(settings: Settings) -> Result<(), String> {
    let bind = settings.bind.clone();
    let app = Application::build(settings)
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(%bind, port = app.port(), "hq-api serving GraphQL on /graphql");
    app.run_until_stopped().await.map_err(|e| e.to_string())
}

fn token(settings: &Settings, args: &TokenArgs) -> Result<(), String> {
    if let Some(code) = &args.district
        && !seed::district_codes().contains(code)
    {
        return Err(format!("unknown district `{code}`"));
    }
    match (args.role, &args.district) {
        (Role::District, None) => return Err("--district is required for DISTRICT".into()),
        (role, Some(_)) if role != Role::District => {
            return Err("--district is only for DISTRICT".into());
        }
        _ => {}
    }
    let tokens = settings.token_settings()?;
    if !tokens.algorithms.contains(&jsonwebtoken::Algorithm::HS256) {
        return Err(
            "HS256 tokens are not accepted with these settings (HQ_JWT_ALGORITHMS, HQ_JWKS_URL, HQ_JWKS_FILE): set HQ_JWT_SECRET or list HS256 in HQ_JWT_ALGORITHMS".into(),
        );
    }
    let secret = settings.signing_secret().map_err(|e| e.to_string())?;
    let keys = JwtKeys::hs256(&secret).with_claim_names(tokens.claim_names);
    let sub = args
        .sub
        .clone()
        .unwrap_or_else(|| format!("cli:{}", args.role.as_str().to_lowercase()));
    let token = keys
        .mint(&sub, args.role, args.district.as_deref(), args.ttl)
        .map_err(|e| e.to_string())?;
    println!("{token}");
    Ok(())
}

async fn migrate(settings: &Settings) -> Result<(), String> {
    let conn = db::connect(settings).await.map_err(|e| e.to_string())?;
    db::migrate_and_seed(&conn)
        .await
        .map_err(|e| format!("migrating the database failed: {}", db::describe(&e)))
}

async fn audit_verify(
    settings: &Settings,
    from: Option<i64>,
    to: Option<i64>,
) -> Result<(), String> {
    let conn = db::connect(settings).await.map_err(|e| e.to_string())?;
    db::migrate_and_seed(&conn)
        .await
        .map_err(|e| format!("migrating the database failed: {}", db::describe(&e)))?;
    let report = audit::verify(&conn, from, to)
        .await
        .map_err(|e| e.public_message())?;
    let range = match (report.first_id, report.last_id) {
        (Some(first), Some(last)) => format!("entries {first} to {last}"),
        _ => "no entries".to_owned(),
    };
    match report.broken {
        None => {
            println!(
                "intact: {} checked ({range}); chain head: entry {}, {} entries, hash {}",
                report.entries_checked,
                report
                    .head
                    .last_id
                    .map_or_else(|| "none".to_owned(), |id| id.to_string()),
                report.head.entries,
                report.head.hash
            );
            Ok(())
        }
        Some(fault) => Err(format!(
            "audit log broken at entry {} ({:?}): {}",
            fault.entry_id, fault.fault, fault.detail
        )),
    }
}

async fn demo_data(settings: &Settings) -> Result<(), String> {
    let conn = db::connect(settings).await.map_err(|e| e.to_string())?;
    db::migrate_and_seed(&conn)
        .await
        .map_err(|e| format!("migrating the database failed: {}", db::describe(&e)))?;
    let summary = demo::load(&conn).await.map_err(|e| format!("{e}"))?;
    println!("{summary}");
    Ok(())
}

fn export_schema(out: Option<std::path::PathBuf>) -> Result<(), String> {
    let sdl = graphql::sdl();
    match out {
        Some(path) => std::fs::write(&path, sdl).map_err(|e| format!("{}: {e}", path.display())),
        None => {
            print!("{sdl}");
            Ok(())
        }
    }
}
