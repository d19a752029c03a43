//! Typed settings: built-in defaults, overridden by `HQ_*` environment variables, overridden by
//! command-line flags (clap does the layering). Secrets are never printed: [`Secret`] redacts
//! itself in `Debug`, and `--help` hides environment values.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{ArgAction, Args, Parser, Subcommand};

use crate::auth::jwks::JwksSource;
use crate::auth::{ClaimNames, Role};

/// Default listen address.
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
/// Default database: a SQLite file in the working directory, created if missing.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://hq.db";
/// Default file holding the generated HS256 secret when `HQ_JWT_SECRET` is not set.
pub const DEFAULT_SECRET_FILE: &str = ".hq-jwt-secret";
/// Default database pool size.
pub const DEFAULT_DB_MAX_CONNECTIONS: u32 = 10;
/// Default seconds a request waits for a database connection.
pub const DEFAULT_DB_ACQUIRE_TIMEOUT_SECS: u64 = 5;
/// Default of `HQ_DB_SLOW_STATEMENT`: statements slower than this are logged at `warn`.
pub const DEFAULT_DB_SLOW_STATEMENT: &str = "1s";
/// Default maximum depth of a GraphQL query.
pub const DEFAULT_MAX_DEPTH: usize = 12;
/// Default maximum complexity (cost) of a GraphQL query.
pub const DEFAULT_MAX_COMPLEXITY: usize = 5_000;
/// Default deepest nesting of a request.
pub const DEFAULT_MAX_NESTING: usize = 64;
/// Default most fields and directives of a document once its fragments are spread.
pub const DEFAULT_MAX_FIELDS: usize = 10_000;
/// Default most root fields of an operation.
pub const DEFAULT_MAX_ROOT_FIELDS: usize = 30;
/// Default time budget of a request.
pub const DEFAULT_REQUEST_TIMEOUT: &str = "30s";
/// Default page size of a connection.
pub const DEFAULT_PAGE_SIZE: usize = 50;
/// Default largest page size.
pub const DEFAULT_MAX_PAGE_SIZE: usize = 500;
/// Default largest request body in bytes.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1_048_576;
/// Default largest CSV import in bytes.
pub const DEFAULT_MAX_IMPORT_BYTES: usize = 64 * 1_048_576;
/// Default seconds to drain requests after SIGTERM/SIGINT.
pub const DEFAULT_SHUTDOWN_TIMEOUT_SECS: u64 = 30;
/// Default log filter.
pub const DEFAULT_LOG: &str = "info";
/// Default log format.
pub const DEFAULT_LOG_FORMAT: LogFormat = LogFormat::Text;
/// Default number of documents automatic persisted queries remember.
pub const DEFAULT_APQ_CACHE_SIZE: usize = 1_000;
/// Default origins allowed to call the API from a browser (CORS): none.
pub const DEFAULT_CORS_ORIGINS: &str = "";
/// Default most WebSocket connections one actor holds open on one instance.
pub const DEFAULT_WS_MAX_CONNECTIONS_PER_ACTOR: usize = 5;
/// Default most subscriptions running on one WebSocket connection.
pub const DEFAULT_WS_MAX_SUBSCRIPTIONS: usize = 10;
/// Default time a WebSocket client has to send `connection_init`.
pub const DEFAULT_WS_INIT_TIMEOUT: &str = "10s";
/// Default time a WebSocket connection may stay silent (the server pings at half of it).
pub const DEFAULT_WS_IDLE_TIMEOUT: &str = "60s";
/// Default largest message a WebSocket client may send, in bytes.
pub const DEFAULT_WS_MAX_MESSAGE_BYTES: usize = 65_536;
/// Default claim events a subscriber may fall behind before it is dropped.
pub const DEFAULT_WS_EVENT_BUFFER: usize = 256;
/// Default claim of a bearer token's role.
pub const DEFAULT_ROLE_CLAIM: &str = "role";
/// Default claim of a bearer token's district.
pub const DEFAULT_DISTRICT_CLAIM: &str = "district";
/// Default `aud` of the identity provider's tokens.
pub const DEFAULT_JWKS_AUDIENCE: &str = "hq-api";
/// Default interval between two fetches of the identity provider's keys.
pub const DEFAULT_JWKS_REFRESH: &str = "10m";
/// Default least interval between two fetches caused by tokens with an unknown `kid`.
pub const DEFAULT_JWKS_MIN_REFRESH: &str = "30s";

/// `hq-api`: the system of record of Hangzhou's headquarters-economy policy (杭政办〔2023〕3号).
#[derive(Debug, Parser)]
#[command(name = "hq-api", version, about, long_about = None)]
pub struct Cli {
    /// Settings shared by every subcommand.
    #[command(flatten)]
    pub settings: Settings,
    /// What to do; with none, `serve`.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Migrate the database, seed districts and default parameters, and serve GraphQL (default).
    Serve,
    /// Print a bearer token signed with the configured secret.
    Token(TokenArgs),
    /// Load the deterministic demo data set into the configured database.
    DemoData,
    /// Print the GraphQL schema (SDL) to standard output, or write it to `--out`.
    ExportSchema {
        /// File to write instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Run the database migrations and the idempotent seed, then exit.
    Migrate,
    /// Work with the audit log.
    Audit {
        /// What to do with it.
        #[command(subcommand)]
        action: AuditCommand,
    },
    /// Print the rule book from the code: clauses, recognition rules, reconciliation reasons,
    /// shipped parameters and every interpretation taken (as committed in `docs/rules.md`).
    Rules {
        /// Markdown (the only format; the flag is accepted for clarity in scripts).
        #[arg(long)]
        markdown: bool,
    },
}

/// The subcommands of `hq-api audit`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the audit log's hash chain and name the first entry whose content, order or link is
    /// wrong, or say it is intact with the chain head hash; exits non-zero when it is not.
    Verify {
        /// The first entry id to check (default: the first entry).
        #[arg(long)]
        from: Option<i64>,
        /// The last entry id to check (default: the last entry).
        #[arg(long)]
        to: Option<i64>,
    },
}

/// Arguments of `hq-api token`.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// Role of the actor: HQ_OFFICE, CITY_FINANCE, DISTRICT, VIEWER or AUDITOR.
    #[arg(long, value_parser = parse_role)]
    pub role: Role,
    /// 6-digit district code; required for and only for DISTRICT.
    #[arg(long)]
    pub district: Option<String>,
    /// Token lifetime, e.g. `30m`, `8h`, `7d`.
    #[arg(long, default_value = "8h", value_parser = parse_ttl)]
    pub ttl: chrono::Duration,
    /// Subject (who the actor is); defaults to `cli:<role>`.
    #[arg(long)]
    pub sub: Option<String>,
}

fn parse_role(text: &str) -> Result<Role, String> {
    text.parse::<Role>().map_err(|e| e.to_string())
}

/// Parses `90s`, `30m`, `8h`, `7d` (a positive whole number and a unit).
pub fn parse_ttl(text: &str) -> Result<chrono::Duration, String> {
    let text = text.trim();
    let split = text.len().saturating_sub(1);
    let (number, unit) = text.split_at(split);
    let n: i64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 30m, 8h or 7d"))?;
    if n <= 0 {
        return Err("the lifetime must be positive".into());
    }
    let duration = match unit {
        "s" => chrono::Duration::try_seconds(n),
        "m" => chrono::Duration::try_minutes(n),
        "h" => chrono::Duration::try_hours(n),
        "d" => chrono::Duration::try_days(n),
        _ => None,
    };
    duration.ok_or_else(|| format!("`{text}` is not a duration like 30m, 8h or 7d"))
}

/// Parses a time budget: `250ms`, `30s` or `2m` (a positive whole number and a unit).
pub fn parse_budget(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let bad = || format!("`{text}` is not a duration like 500ms, 30s or 2m");
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => return Err(bad()),
    };
    let n: u64 = number.parse().map_err(|_| bad())?;
    if n == 0 {
        return Err("the time budget must be positive".into());
    }
    match unit {
        "ms" => Ok(std::time::Duration::from_millis(n)),
        "s" => Ok(std::time::Duration::from_secs(n)),
        "m" => n
            .checked_mul(60)
            .map(std::time::Duration::from_secs)
            .ok_or_else(bad),
        _ => Err(bad()),
    }
}

/// Service settings. Each can be given as a flag or as its `HQ_*` environment variable.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Address to listen on.
    #[arg(long, env = "HQ_BIND", default_value = DEFAULT_BIND, global = true)]
    pub bind: String,
    /// Database URL: `sqlite://FILE` (created if missing) or `postgres://USER@HOST:PORT/DB`.
    #[arg(long, env = "HQ_DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true)]
    pub database_url: String,
    /// HS256 signing secret (at least 32 bytes). If unset, the secret file is used.
    #[arg(long, env = "HQ_JWT_SECRET", hide_env_values = true, global = true)]
    pub jwt_secret: Option<Secret>,
    /// File holding the HS256 secret; generated once with mode 0600 if missing.
    #[arg(long, env = "HQ_JWT_SECRET_FILE", default_value = DEFAULT_SECRET_FILE, global = true)]
    pub jwt_secret_file: PathBuf,
    /// Algorithms a bearer token may use, comma-separated, of `HS256`, `RS256` and `ES256`.
    /// Default: `HS256` without a JWKS; with one, `RS256,ES256`, plus `HS256` when
    /// `HQ_JWT_SECRET` is set.
    #[arg(long, env = "HQ_JWT_ALGORITHMS", global = true)]
    pub jwt_algorithms: Option<JwtAlgorithms>,
    /// URL of the identity provider's JWKS (`https://`, or `http://` on a loopback address):
    /// RS256/ES256 tokens signed by its keys are accepted.
    #[arg(long, env = "HQ_JWKS_URL", global = true)]
    pub jwks_url: Option<String>,
    /// A local JWKS file, instead of `HQ_JWKS_URL`; read again as a URL would be fetched.
    #[arg(long, env = "HQ_JWKS_FILE", global = true)]
    pub jwks_file: Option<PathBuf>,
    /// The `iss` of the identity provider's tokens; required with a JWKS.
    #[arg(long, env = "HQ_JWKS_ISSUER", global = true)]
    pub jwks_issuer: Option<String>,
    /// The `aud` the identity provider's tokens must carry.
    #[arg(long, env = "HQ_JWKS_AUDIENCE", default_value = DEFAULT_JWKS_AUDIENCE, global = true)]
    pub jwks_audience: String,
    /// Interval between two fetches of the JWKS (`30s`, `10m`); after a failed fetch it is
    /// tried again sooner (1 s, doubling).
    #[arg(long, env = "HQ_JWKS_REFRESH", default_value = DEFAULT_JWKS_REFRESH, value_parser = parse_budget, global = true)]
    pub jwks_refresh: std::time::Duration,
    /// Least interval between two fetches of the JWKS caused by tokens whose `kid` is unknown.
    #[arg(long, env = "HQ_JWKS_MIN_REFRESH", default_value = DEFAULT_JWKS_MIN_REFRESH, value_parser = parse_budget, global = true)]
    pub jwks_min_refresh: std::time::Duration,
    /// The claim holding a bearer token's role (an exact top-level claim name, such as
    /// `https://hq.hangzhou.gov.cn/role`).
    #[arg(long, env = "HQ_ROLE_CLAIM", default_value = DEFAULT_ROLE_CLAIM, global = true)]
    pub role_claim: String,
    /// The claim holding a `DISTRICT` token's district code.
    #[arg(long, env = "HQ_DISTRICT_CLAIM", default_value = DEFAULT_DISTRICT_CLAIM, global = true)]
    pub district_claim: String,
    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "HQ_WORKERS", global = true)]
    pub workers: Option<usize>,
    /// Maximum database connections in the pool.
    #[arg(
        long,
        env = "HQ_DB_MAX_CONNECTIONS",
        default_value_t = DEFAULT_DB_MAX_CONNECTIONS,
        global = true
    )]
    pub db_max_connections: u32,
    /// Seconds a request waits for a database connection before `SERVICE_UNAVAILABLE`.
    #[arg(
        long,
        env = "HQ_DB_ACQUIRE_TIMEOUT",
        default_value_t = DEFAULT_DB_ACQUIRE_TIMEOUT_SECS,
        global = true
    )]
    pub db_acquire_timeout_secs: u64,
    /// A database statement slower than this (`250ms`, `1s`, `2m`) is logged at `warn`, with
    /// the first characters of its text, and counted in `hq_db_slow_statements_total`.
    #[arg(long, env = "HQ_DB_SLOW_STATEMENT", default_value = DEFAULT_DB_SLOW_STATEMENT, value_parser = parse_budget, global = true)]
    pub db_slow_statement: std::time::Duration,
    /// Maximum depth of a GraphQL query.
    #[arg(long, env = "HQ_MAX_DEPTH", default_value_t = DEFAULT_MAX_DEPTH, global = true)]
    pub max_depth: usize,
    /// Maximum complexity (cost) of a GraphQL query.
    #[arg(
        long,
        env = "HQ_MAX_COMPLEXITY",
        default_value_t = DEFAULT_MAX_COMPLEXITY,
        global = true
    )]
    pub max_complexity: usize,
    /// Deepest nesting of a request: brackets in the GraphQL text (object and list values,
    /// variable defaults, list types, selection sets), fields and fragments once spread, and
    /// (plus two) objects and arrays in the JSON body. Checked before parsing.
    #[arg(long, env = "HQ_MAX_NESTING", default_value_t = DEFAULT_MAX_NESTING, global = true)]
    pub max_nesting: usize,
    /// Most fields and directives of a GraphQL document once every fragment is spread.
    #[arg(long, env = "HQ_MAX_FIELDS", default_value_t = DEFAULT_MAX_FIELDS, global = true)]
    pub max_fields: usize,
    /// Most root fields (aliases included) of a GraphQL operation.
    #[arg(long, env = "HQ_MAX_ROOT_FIELDS", default_value_t = DEFAULT_MAX_ROOT_FIELDS, global = true)]
    pub max_root_fields: usize,
    /// Time budget of one request (`500ms`, `30s`, `2m`); past it the work stops and the client
    /// gets `SERVICE_UNAVAILABLE` (HTTP 503).
    #[arg(long, env = "HQ_REQUEST_TIMEOUT", default_value = DEFAULT_REQUEST_TIMEOUT, value_parser = parse_budget, global = true)]
    pub request_timeout: std::time::Duration,
    /// Page size of a connection when `first`/`last` is not given.
    #[arg(
        long,
        env = "HQ_DEFAULT_PAGE_SIZE",
        default_value_t = DEFAULT_PAGE_SIZE,
        global = true
    )]
    pub default_page_size: usize,
    /// Largest page a connection returns (`first`/`last` above it is refused).
    #[arg(long, env = "HQ_MAX_PAGE_SIZE", default_value_t = DEFAULT_MAX_PAGE_SIZE, global = true)]
    pub max_page_size: usize,
    /// Largest request body in bytes; larger bodies get HTTP 413 before parsing.
    #[arg(
        long,
        env = "HQ_MAX_BODY_BYTES",
        default_value_t = DEFAULT_MAX_BODY_BYTES,
        global = true
    )]
    pub max_body_bytes: usize,
    /// Largest CSV import body in bytes (`POST /imports/payments/...`).
    #[arg(long, env = "HQ_MAX_IMPORT_BYTES", default_value_t = DEFAULT_MAX_IMPORT_BYTES, global = true)]
    pub max_import_bytes: usize,
    /// Origins whose web pages may call the API (CORS), comma-separated, e.g.
    /// `https://hq.example.gov.cn,http://localhost:5173`; empty: none.
    #[arg(long, env = "HQ_CORS_ORIGINS", default_value = DEFAULT_CORS_ORIGINS, global = true)]
    pub cors_origins: CorsOrigins,
    /// Documents automatic persisted queries remember (least recently used forgotten first;
    /// at most 32 MiB of text); 0 turns automatic persisted queries off.
    #[arg(long, env = "HQ_APQ_CACHE_SIZE", default_value_t = DEFAULT_APQ_CACHE_SIZE, global = true)]
    pub apq_cache_size: usize,
    /// Trusted-documents manifest (graphql-codegen's `persisted-documents.json` with SHA-256
    /// hashes): when set, only its operations run, and automatic persisted queries are off.
    #[arg(long, env = "HQ_TRUSTED_DOCUMENTS", global = true)]
    pub trusted_documents: Option<PathBuf>,
    /// Serve the GraphiQL page on `GET /graphql`.
    #[arg(long, env = "HQ_GRAPHIQL", default_value_t = true, action = ArgAction::Set, global = true)]
    pub graphiql: bool,
    /// Who may introspect the schema: `all`, `authenticated`, `staff` (HQ_OFFICE, CITY_FINANCE,
    /// AUDITOR) or `off` (front ends then use the exported `schema.graphql`).
    #[arg(long, env = "HQ_INTROSPECTION", value_enum, default_value_t = Introspection::All, global = true)]
    pub introspection: Introspection,
    /// Run migrations and the idempotent seed at start-up.
    #[arg(long, env = "HQ_MIGRATE", default_value_t = true, action = ArgAction::Set, global = true)]
    pub migrate: bool,
    /// Create the PostgreSQL database when it does not exist (through the server's `postgres`
    /// maintenance database, as the configured role, which needs `CREATEDB`).
    #[arg(long, env = "HQ_CREATE_DATABASE", default_value_t = false, action = ArgAction::Set, global = true)]
    pub create_database: bool,
    /// Seconds to let in-flight requests finish after SIGTERM/SIGINT.
    #[arg(long, env = "HQ_SHUTDOWN_TIMEOUT", default_value_t = DEFAULT_SHUTDOWN_TIMEOUT_SECS, global = true)]
    pub shutdown_timeout_secs: u64,
    /// Log filter (tracing `EnvFilter` syntax), e.g. `info` or `hq_api=debug,sea_orm=warn`.
    #[arg(long, env = "HQ_LOG", default_value = DEFAULT_LOG, global = true)]
    pub log: String,
    /// Log format: `text` (colours only on a terminal) or `json` (one object a line).
    #[arg(long, env = "HQ_LOG_FORMAT", value_enum, default_value_t = DEFAULT_LOG_FORMAT, global = true)]
    pub log_format: LogFormat,
    /// Address of the Prometheus metrics listener (`GET /metrics`), e.g. `127.0.0.1:9464`; unset =
    /// no metrics listener.
    #[arg(long, env = "HQ_METRICS_BIND", global = true)]
    pub metrics_bind: Option<String>,
    /// Most WebSocket connections (live claim status) one actor holds open on one instance; the
    /// next one is refused at `connection_init`.
    #[arg(long, env = "HQ_WS_MAX_CONNECTIONS_PER_ACTOR", default_value_t = DEFAULT_WS_MAX_CONNECTIONS_PER_ACTOR, global = true)]
    pub ws_max_connections_per_actor: usize,
    /// Most subscriptions running at once on one WebSocket connection.
    #[arg(long, env = "HQ_WS_MAX_SUBSCRIPTIONS", default_value_t = DEFAULT_WS_MAX_SUBSCRIPTIONS, global = true)]
    pub ws_max_subscriptions: usize,
    /// Time a WebSocket client has, once connected, to send `connection_init` (`10s`).
    #[arg(long, env = "HQ_WS_INIT_TIMEOUT", default_value = DEFAULT_WS_INIT_TIMEOUT, value_parser = parse_budget, global = true)]
    pub ws_init_timeout: std::time::Duration,
    /// Time a WebSocket connection may stay silent before it is closed (`60s`); the server pings
    /// at half of it, and a client's pong counts, so a live client is never closed for idling.
    /// A message the client does not take within it also closes the connection.
    #[arg(long, env = "HQ_WS_IDLE_TIMEOUT", default_value = DEFAULT_WS_IDLE_TIMEOUT, value_parser = parse_budget, global = true)]
    pub ws_idle_timeout: std::time::Duration,
    /// Largest message (or frame) a WebSocket client may send, in bytes.
    #[arg(long, env = "HQ_WS_MAX_MESSAGE_BYTES", default_value_t = DEFAULT_WS_MAX_MESSAGE_BYTES, global = true)]
    pub ws_max_message_bytes: usize,
    /// Claim events a subscriber may fall behind before its connection is closed (the capacity
    /// of each instance's event channel).
    #[arg(long, env = "HQ_WS_EVENT_BUFFER", default_value_t = DEFAULT_WS_EVENT_BUFFER, global = true)]
    pub ws_event_buffer: usize,
}

impl Default for Settings {
    /// The settings of `hq-api` run with no flags and no environment: the `DEFAULT_*` constants
    /// above, which the flags' defaults also use.
    fn default() -> Self {
        Settings {
            bind: DEFAULT_BIND.into(),
            database_url: DEFAULT_DATABASE_URL.into(),
            jwt_secret: None,
            jwt_secret_file: PathBuf::from(DEFAULT_SECRET_FILE),
            jwt_algorithms: None,
            jwks_url: None,
            jwks_file: None,
            jwks_issuer: None,
            jwks_audience: DEFAULT_JWKS_AUDIENCE.into(),
            jwks_refresh: parse_budget(DEFAULT_JWKS_REFRESH)
                .unwrap_or(std::time::Duration::from_secs(600)),
            jwks_min_refresh: parse_budget(DEFAULT_JWKS_MIN_REFRESH)
                .unwrap_or(std::time::Duration::from_secs(30)),
            role_claim: DEFAULT_ROLE_CLAIM.into(),
            district_claim: DEFAULT_DISTRICT_CLAIM.into(),
            workers: None,
            db_max_connections: DEFAULT_DB_MAX_CONNECTIONS,
            db_acquire_timeout_secs: DEFAULT_DB_ACQUIRE_TIMEOUT_SECS,
            db_slow_statement: parse_budget(DEFAULT_DB_SLOW_STATEMENT)
                .unwrap_or(std::time::Duration::from_secs(1)),
            max_depth: DEFAULT_MAX_DEPTH,
            max_complexity: DEFAULT_MAX_COMPLEXITY,
            max_nesting: DEFAULT_MAX_NESTING,
            max_fields: DEFAULT_MAX_FIELDS,
            max_root_fields: DEFAULT_MAX_ROOT_FIELDS,
            request_timeout: parse_budget(DEFAULT_REQUEST_TIMEOUT)
                .unwrap_or(std::time::Duration::from_secs(30)),
            default_page_size: DEFAULT_PAGE_SIZE,
            max_page_size: DEFAULT_MAX_PAGE_SIZE,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_import_bytes: DEFAULT_MAX_IMPORT_BYTES,
            apq_cache_size: DEFAULT_APQ_CACHE_SIZE,
            trusted_documents: None,
            cors_origins: CorsOrigins::default(),
            graphiql: true,
            introspection: Introspection::All,
            migrate: true,
            create_database: false,
            shutdown_timeout_secs: DEFAULT_SHUTDOWN_TIMEOUT_SECS,
            log: DEFAULT_LOG.into(),
            log_format: DEFAULT_LOG_FORMAT,
            metrics_bind: None,
            ws_max_connections_per_actor: DEFAULT_WS_MAX_CONNECTIONS_PER_ACTOR,
            ws_max_subscriptions: DEFAULT_WS_MAX_SUBSCRIPTIONS,
            ws_init_timeout: parse_budget(DEFAULT_WS_INIT_TIMEOUT)
                .unwrap_or(std::time::Duration::from_secs(10)),
            ws_idle_timeout: parse_budget(DEFAULT_WS_IDLE_TIMEOUT)
                .unwrap_or(std::time::Duration::from_secs(60)),
            ws_max_message_bytes: DEFAULT_WS_MAX_MESSAGE_BYTES,
            ws_event_buffer: DEFAULT_WS_EVENT_BUFFER,
        }
    }
}

/// The algorithms bearer tokens may use (`HQ_JWT_ALGORITHMS`): some of HS256, RS256, ES256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtAlgorithms(pub Vec<jsonwebtoken::Algorithm>);

impl std::str::FromStr for JwtAlgorithms {
    type Err = String;

    /// Parses a comma-separated list (`HS256,RS256`); at least one, no other algorithm.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        use jsonwebtoken::Algorithm;
        let mut algorithms = Vec::new();
        for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let algorithm = match item.to_ascii_uppercase().as_str() {
                "HS256" => Algorithm::HS256,
                "RS256" => Algorithm::RS256,
                "ES256" => Algorithm::ES256,
                _ => {
                    return Err(format!(
                        "`{item}` is not an accepted token algorithm (HS256, RS256, ES256)"
                    ));
                }
            };
            if !algorithms.contains(&algorithm) {
                algorithms.push(algorithm);
            }
        }
        if algorithms.is_empty() {
            return Err("name at least one token algorithm (HS256, RS256, ES256)".into());
        }
        Ok(JwtAlgorithms(algorithms))
    }
}

/// How bearer tokens are verified, as the settings say (checked, no I/O done).
#[derive(Debug, Clone)]
pub struct TokenSettings {
    /// The algorithms a bearer token may use.
    pub algorithms: Vec<jsonwebtoken::Algorithm>,
    /// The claims of the role and the district.
    pub claim_names: ClaimNames,
    /// The identity provider, if one is configured.
    pub identity_provider: Option<IdentityProviderSettings>,
}

/// The identity provider's keys and the claims its tokens must carry.
#[derive(Debug, Clone)]
pub struct IdentityProviderSettings {
    /// Where its JWKS is.
    pub source: JwksSource,
    /// Its tokens' `iss`.
    pub issuer: String,
    /// Its tokens' `aud`.
    pub audience: String,
    /// Interval between two fetches.
    pub refresh: std::time::Duration,
    /// Least interval between two fetches caused by an unknown `kid`.
    pub min_refresh: std::time::Duration,
}

/// Whether `url` may serve a JWKS: `https://`, or `http://` on a loopback host (a sidecar or a
/// test), since keys fetched in clear text could be replaced on the way.
fn check_jwks_url(url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|err| format!("HQ_JWKS_URL `{url}` is not a URL: {err}"))?;
    let host = parsed.host_str().unwrap_or("");
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match parsed.scheme() {
        "https" if !host.is_empty() => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(format!(
            "HQ_JWKS_URL `{url}` must be https:// (http:// only on a loopback address)"
        )),
    }
}

/// How log lines are written to standard error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event; ANSI colours only when standard error is a terminal.
    Text,
    /// One JSON object per line: timestamp, level, target, message, fields and the spans' fields.
    Json,
}

/// Who may run introspection queries (`__schema`, `__type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Introspection {
    /// Anyone, anonymous callers included.
    All,
    /// Any authenticated actor.
    Authenticated,
    /// `HQ_OFFICE`, `CITY_FINANCE` and `AUDITOR` only.
    Staff,
    /// Nobody.
    Off,
}

/// The origins allowed to call the API from a browser: each `scheme://host[:port]` exactly as
/// a browser sends it in `Origin` (lower case, no path, no trailing slash). No wildcard: every
/// origin is named.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorsOrigins(Vec<String>);

impl CorsOrigins {
    /// Whether `origin` (an `Origin` header's value) is allowed.
    pub fn allows(&self, origin: &str) -> bool {
        self.0.iter().any(|allowed| allowed == origin)
    }

    /// Whether no origin is allowed (CORS is off).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::str::FromStr for CorsOrigins {
    type Err = String;

    /// Parses a comma-separated list; blanks around commas are ignored, an empty list is none.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut origins = Vec::new();
        for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let origin = item.to_ascii_lowercase();
            let rest = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"))
                .ok_or_else(|| {
                    format!("CORS origin `{item}` must start with http:// or https://")
                })?;
            let host = rest.split(':').next().unwrap_or("");
            let port_ok = rest
                .split_once(':')
                .is_none_or(|(_, port)| port.parse::<u16>().is_ok_and(|p| p > 0));
            let host_ok = !host.is_empty()
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
            if !host_ok || !port_ok {
                return Err(format!(
                    "CORS origin `{item}` must be scheme://host[:port], with no path, wildcard or trailing slash"
                ));
            }
            if !origins.contains(&origin) {
                origins.push(origin);
            }
        }
        Ok(CorsOrigins(origins))
    }
}

/// A secret string that never appears in logs or `Debug` output.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret's bytes, for signing and verifying.
    pub fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(**redacted**)")
    }
}

impl std::str::FromStr for Secret {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_string()))
    }
}

/// Smallest accepted HS256 secret, in bytes (RFC 7518 §3.2: at least the hash size).
pub const MIN_SECRET_BYTES: usize = 32;

/// Why the signing secret could not be had.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The configured secret is too short.
    #[error("HQ_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes")]
    TooShort,
    /// The secret file could not be read or created.
    #[error("secret file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl Settings {
    /// The HS256 secret: `HQ_JWT_SECRET` if set, else the secret file, generated (random,
    /// mode 0600) the first time. The same file serves `hq-api serve` and `hq-api token` run
    /// from one directory, so a fresh clone works without configuration.
    ///
    /// # Errors
    /// A configured secret shorter than [`MIN_SECRET_BYTES`], or a secret file that cannot be
    /// read or created.
    pub fn signing_secret(&self) -> Result<Secret, SecretError> {
        if let Some(secret) = &self.jwt_secret {
            if secret.expose().len() < MIN_SECRET_BYTES {
                return Err(SecretError::TooShort);
            }
            return Ok(secret.clone());
        }
        load_or_create_secret_file(&self.jwt_secret_file)
    }

    /// How bearer tokens are verified: the algorithms, the claim names and the identity
    /// provider, checked for consistency.
    ///
    /// # Errors
    /// A line an operator can act on: both `HQ_JWKS_URL` and `HQ_JWKS_FILE`, a JWKS without
    /// `HQ_JWKS_ISSUER` (or an issuer without a JWKS), an insecure URL, RS256/ES256 without a
    /// JWKS, a JWKS with neither RS256 nor ES256 allowed, or unusable claim names.
    pub fn token_settings(&self) -> Result<TokenSettings, String> {
        use jsonwebtoken::Algorithm;
        let role = self.role_claim.trim();
        let district = self.district_claim.trim();
        const REGISTERED: [&str; 7] = ["sub", "iss", "aud", "exp", "nbf", "iat", "jti"];
        for (variable, name) in [("HQ_ROLE_CLAIM", role), ("HQ_DISTRICT_CLAIM", district)] {
            if name.is_empty() || REGISTERED.contains(&name) {
                return Err(format!(
                    "{variable} must name a claim other than sub, iss, aud, exp, nbf, iat and jti"
                ));
            }
        }
        if role == district {
            return Err("HQ_ROLE_CLAIM and HQ_DISTRICT_CLAIM must be different claims".into());
        }
        let source = match (&self.jwks_url, &self.jwks_file) {
            (Some(_), Some(_)) => {
                return Err("set HQ_JWKS_URL or HQ_JWKS_FILE, not both".into());
            }
            (Some(url), None) => {
                check_jwks_url(url.trim())?;
                Some(JwksSource::Url(url.trim().to_string()))
            }
            (None, Some(path)) => Some(JwksSource::File(path.clone())),
            (None, None) => None,
        };
        let issuer = self
            .jwks_issuer
            .as_deref()
            .map(str::trim)
            .filter(|i| !i.is_empty());
        let identity_provider = match (source, issuer) {
            (Some(source), Some(issuer)) => {
                if self.jwks_audience.trim().is_empty() {
                    return Err("HQ_JWKS_AUDIENCE must not be empty".into());
                }
                Some(IdentityProviderSettings {
                    source,
                    issuer: issuer.to_string(),
                    audience: self.jwks_audience.trim().to_string(),
                    refresh: self.jwks_refresh,
                    min_refresh: self.jwks_min_refresh,
                })
            }
            (Some(_), None) => {
                return Err(
                    "HQ_JWKS_ISSUER (the `iss` of the identity provider's tokens) is required with HQ_JWKS_URL or HQ_JWKS_FILE".into(),
                );
            }
            (None, Some(_)) => {
                return Err(
                    "HQ_JWKS_ISSUER is set but neither HQ_JWKS_URL nor HQ_JWKS_FILE".into(),
                );
            }
            (None, None) => None,
        };
        let algorithms = match (&self.jwt_algorithms, &identity_provider) {
            (Some(JwtAlgorithms(algorithms)), _) => algorithms.clone(),
            (None, None) => vec![Algorithm::HS256],
            (None, Some(_)) => {
                let mut algorithms = vec![Algorithm::RS256, Algorithm::ES256];
                if self.jwt_secret.is_some() {
                    algorithms.insert(0, Algorithm::HS256);
                }
                algorithms
            }
        };
        let asymmetric = algorithms
            .iter()
            .any(|a| matches!(a, Algorithm::RS256 | Algorithm::ES256));
        if asymmetric && identity_provider.is_none() {
            return Err(
                "HQ_JWT_ALGORITHMS allows RS256 or ES256, which need HQ_JWKS_URL or HQ_JWKS_FILE"
                    .into(),
            );
        }
        if !asymmetric && identity_provider.is_some() {
            return Err(
                "a JWKS is configured but HQ_JWT_ALGORITHMS allows neither RS256 nor ES256".into(),
            );
        }
        Ok(TokenSettings {
            algorithms,
            claim_names: ClaimNames {
                role: role.to_string(),
                district: district.to_string(),
            },
            identity_provider,
        })
    }

    /// The database URL ready for the driver: SQLite files are opened read-write-create.
    pub fn effective_database_url(&self) -> String {
        let url = self.database_url.trim();
        if url.starts_with("sqlite:") && !url.contains("mode=") && !url.contains(":memory:") {
            let sep = if url.contains('?') { '&' } else { '?' };
            format!("{url}{sep}mode=rwc")
        } else {
            url.to_string()
        }
    }
}

fn load_or_create_secret_file(path: &Path) -> Result<Secret, SecretError> {
    let io_err = |source| SecretError::Io {
        path: path.display().to_string(),
        source,
    };
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let text = text.trim().to_string();
            if text.len() < MIN_SECRET_BYTES {
                return Err(SecretError::TooShort);
            }
            Ok(Secret(text))
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            use rand::RngCore;
            let mut bytes = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            let text: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            match options.open(path) {
                Ok(mut file) => {
                    file.write_all(text.as_bytes()).map_err(io_err)?;
                    file.sync_all().map_err(io_err)?;
                    tracing::info!(file = %path.display(), "generated a new signing secret");
                    Ok(Secret(text))
                }
                // Another process created it first: use theirs.
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                    load_or_create_secret_file(path)
                }
                Err(err) => Err(io_err(err)),
            }
        }
        Err(err) => Err(io_err(err)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ttl_takes_seconds_minutes_hours_and_days() {
        assert_eq!(parse_ttl("90s"), Ok(chrono::Duration::seconds(90)));
        assert_eq!(parse_ttl("30m"), Ok(chrono::Duration::minutes(30)));
        assert_eq!(parse_ttl("8h"), Ok(chrono::Duration::hours(8)));
        assert_eq!(parse_ttl("7d"), Ok(chrono::Duration::days(7)));
    }

    #[test]
    fn a_ttl_that_is_zero_negative_or_unitless_is_refused() {
        for bad in ["0h", "-1h", "8", "h", "8w", ""] {
            assert!(parse_ttl(bad).is_err(), "{bad} should be refused");
        }
    }

    /// The settings clap builds from no flags and no environment.
    fn parsed_defaults() -> Settings {
        use clap::{Command, FromArgMatches};
        let command = Settings::augment_args(Command::new("hq-api"));
        // Only what the environment does not set can be compared: skip when HQ_* is set.
        let matches = command
            .try_get_matches_from(["hq-api"])
            .expect("no flags parse");
        Settings::from_arg_matches(&matches).expect("defaults are valid")
    }

    #[test]
    fn the_flags_defaults_and_settings_default_are_one_set_of_values() {
        if std::env::vars().any(|(name, _)| name.starts_with("HQ_")) {
            return; // an operator's environment would change the parsed side
        }
        assert_eq!(
            format!("{:?}", parsed_defaults()),
            format!("{:?}", Settings::default())
        );
    }

    #[test]
    fn the_readme_configuration_table_shows_the_defaults_in_force() {
        let readme = include_str!("../README.md");
        let row = |variable: &str| -> String {
            let line = readme
                .lines()
                .find(|l| l.starts_with(&format!("| `{variable}` ")))
                .unwrap_or_else(|| panic!("README lists {variable}"));
            line.split('|')
                .nth(3)
                .unwrap()
                .trim()
                .trim_matches('`')
                .replace(',', "")
        };
        let d = Settings::default();
        assert_eq!(row("HQ_BIND"), d.bind);
        assert_eq!(row("HQ_DATABASE_URL"), d.database_url);
        assert_eq!(
            row("HQ_JWT_SECRET_FILE"),
            d.jwt_secret_file.display().to_string()
        );
        assert_eq!(
            row("HQ_DB_MAX_CONNECTIONS"),
            d.db_max_connections.to_string()
        );
        assert_eq!(
            row("HQ_DB_ACQUIRE_TIMEOUT"),
            d.db_acquire_timeout_secs.to_string()
        );
        assert_eq!(row("HQ_DB_SLOW_STATEMENT"), DEFAULT_DB_SLOW_STATEMENT);
        assert_eq!(row("HQ_MAX_DEPTH"), d.max_depth.to_string());
        assert_eq!(row("HQ_MAX_COMPLEXITY"), d.max_complexity.to_string());
        assert_eq!(row("HQ_MAX_NESTING"), d.max_nesting.to_string());
        assert_eq!(row("HQ_MAX_FIELDS"), d.max_fields.to_string());
        assert_eq!(row("HQ_MAX_ROOT_FIELDS"), d.max_root_fields.to_string());
        assert_eq!(row("HQ_REQUEST_TIMEOUT"), DEFAULT_REQUEST_TIMEOUT);
        assert_eq!(row("HQ_DEFAULT_PAGE_SIZE"), d.default_page_size.to_string());
        assert_eq!(row("HQ_MAX_PAGE_SIZE"), d.max_page_size.to_string());
        assert_eq!(row("HQ_MAX_BODY_BYTES"), d.max_body_bytes.to_string());
        assert_eq!(row("HQ_MAX_IMPORT_BYTES"), d.max_import_bytes.to_string());
        assert_eq!(row("HQ_GRAPHIQL"), d.graphiql.to_string());
        assert_eq!(row("HQ_CORS_ORIGINS"), "—");
        assert_eq!(row("HQ_APQ_CACHE_SIZE"), d.apq_cache_size.to_string());
        assert_eq!(row("HQ_TRUSTED_DOCUMENTS"), "—");
        assert!(d.trusted_documents.is_none());
        assert!(d.cors_origins.is_empty() && DEFAULT_CORS_ORIGINS.is_empty());
        assert_eq!(row("HQ_INTROSPECTION"), "all");
        assert_eq!(row("HQ_MIGRATE"), d.migrate.to_string());
        assert_eq!(row("HQ_CREATE_DATABASE"), d.create_database.to_string());
        assert_eq!(
            row("HQ_SHUTDOWN_TIMEOUT"),
            d.shutdown_timeout_secs.to_string()
        );
        assert_eq!(row("HQ_LOG"), d.log);
        assert_eq!(row("HQ_LOG_FORMAT"), "text");
        assert_eq!(d.log_format, LogFormat::Text);
        assert_eq!(row("HQ_METRICS_BIND"), "—");
        assert_eq!(d.metrics_bind, None);
        assert_eq!(
            row("HQ_WS_MAX_CONNECTIONS_PER_ACTOR"),
            d.ws_max_connections_per_actor.to_string()
        );
        assert_eq!(
            row("HQ_WS_MAX_SUBSCRIPTIONS"),
            d.ws_max_subscriptions.to_string()
        );
        assert_eq!(row("HQ_WS_INIT_TIMEOUT"), DEFAULT_WS_INIT_TIMEOUT);
        assert_eq!(row("HQ_WS_IDLE_TIMEOUT"), DEFAULT_WS_IDLE_TIMEOUT);
        assert_eq!(
            row("HQ_WS_MAX_MESSAGE_BYTES"),
            d.ws_max_message_bytes.to_string()
        );
        assert_eq!(row("HQ_WS_EVENT_BUFFER"), d.ws_event_buffer.to_string());
        assert_eq!(row("HQ_JWT_ALGORITHMS"), "—");
        assert_eq!(d.jwt_algorithms, None);
        assert_eq!(row("HQ_JWKS_URL"), "—");
        assert_eq!(row("HQ_JWKS_FILE"), "—");
        assert_eq!(row("HQ_JWKS_ISSUER"), "—");
        assert!(d.jwks_url.is_none() && d.jwks_file.is_none() && d.jwks_issuer.is_none());
        assert_eq!(row("HQ_JWKS_AUDIENCE"), d.jwks_audience);
        assert_eq!(row("HQ_JWKS_REFRESH"), DEFAULT_JWKS_REFRESH);
        assert_eq!(row("HQ_JWKS_MIN_REFRESH"), DEFAULT_JWKS_MIN_REFRESH);
        assert_eq!(row("HQ_ROLE_CLAIM"), d.role_claim);
        assert_eq!(row("HQ_DISTRICT_CLAIM"), d.district_claim);
    }

    fn with_jwks() -> Settings {
        Settings {
            jwks_url: Some(
                "https://sso.hangzhou.gov.cn/realms/hq/protocol/openid-connect/certs".into(),
            ),
            jwks_issuer: Some("https://sso.hangzhou.gov.cn/realms/hq".into()),
            ..Settings::default()
        }
    }

    #[test]
    fn the_token_algorithms_default_to_the_key_sources_configured() {
        use jsonwebtoken::Algorithm::{ES256, HS256, RS256};
        let algorithms = |s: Settings| s.token_settings().unwrap().algorithms;
        assert_eq!(algorithms(Settings::default()), [HS256]);
        assert_eq!(algorithms(with_jwks()), [RS256, ES256]);
        let with_secret = Settings {
            jwt_secret: Some(Secret::new("a-secret-of-at-least-thirty-two-bytes")),
            ..with_jwks()
        };
        assert_eq!(algorithms(with_secret), [HS256, RS256, ES256]);
        let listed = Settings {
            jwt_algorithms: Some(" es256 , HS256,ES256".parse().unwrap()),
            ..with_jwks()
        };
        assert_eq!(algorithms(listed), [ES256, HS256]);
        for bad in ["", "none", "HS384", "RS256,PS256"] {
            assert!(bad.parse::<JwtAlgorithms>().is_err(), "{bad}");
        }
    }

    #[test]
    fn inconsistent_token_settings_are_refused_with_the_variable_to_fix() {
        let cases = [
            (
                Settings {
                    jwks_file: Some("jwks.json".into()),
                    ..with_jwks()
                },
                "not both",
            ),
            (
                Settings {
                    jwks_issuer: None,
                    ..with_jwks()
                },
                "HQ_JWKS_ISSUER",
            ),
            (
                Settings {
                    jwks_issuer: Some("https://sso.example".into()),
                    ..Settings::default()
                },
                "HQ_JWKS_ISSUER is set",
            ),
            (
                Settings {
                    jwks_url: Some("http://sso.hangzhou.gov.cn/certs".into()),
                    ..with_jwks()
                },
                "https://",
            ),
            (
                Settings {
                    jwks_url: Some("ftp://127.0.0.1/certs".into()),
                    ..with_jwks()
                },
                "https://",
            ),
            (
                Settings {
                    jwt_algorithms: Some("ES256".parse().unwrap()),
                    ..Settings::default()
                },
                "need HQ_JWKS_URL",
            ),
            (
                Settings {
                    jwt_algorithms: Some("HS256".parse().unwrap()),
                    ..with_jwks()
                },
                "neither RS256 nor ES256",
            ),
            (
                Settings {
                    role_claim: "sub".into(),
                    ..Settings::default()
                },
                "HQ_ROLE_CLAIM",
            ),
            (
                Settings {
                    district_claim: " ".into(),
                    ..Settings::default()
                },
                "HQ_DISTRICT_CLAIM",
            ),
            (
                Settings {
                    district_claim: "role".into(),
                    ..Settings::default()
                },
                "different claims",
            ),
        ];
        for (settings, expected) in cases {
            let error = settings.token_settings().unwrap_err();
            assert!(error.contains(expected), "{expected}: {error}");
        }
        for loopback in [
            "http://127.0.0.1:8081/jwks",
            "http://localhost/jwks",
            "http://[::1]:9/jwks",
        ] {
            let settings = Settings {
                jwks_url: Some(loopback.into()),
                ..with_jwks()
            };
            assert!(settings.token_settings().is_ok(), "{loopback}");
        }
    }

    #[test]
    fn a_time_budget_takes_milliseconds_seconds_and_minutes() {
        use std::time::Duration;
        assert_eq!(parse_budget("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_budget("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_budget("2m"), Ok(Duration::from_secs(120)));
        for bad in ["0s", "30", "s", "-1s", "1h", "1.5s", ""] {
            assert!(parse_budget(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn cors_origins_are_a_comma_list_of_exact_origins() {
        let origins: CorsOrigins = " https://HQ.example.gov.cn , http://localhost:5173,"
            .parse()
            .unwrap();
        assert!(origins.allows("https://hq.example.gov.cn"));
        assert!(origins.allows("http://localhost:5173"));
        assert!(!origins.allows("http://localhost:5174"));
        assert!(!origins.allows("https://hq.example.gov.cn.evil.example"));
        assert!("".parse::<CorsOrigins>().unwrap().is_empty());
        for bad in [
            "*",
            "hq.example.gov.cn",
            "https://hq.example.gov.cn/",
            "https://hq.example.gov.cn/app",
            "https://*.example.gov.cn",
            "http://localhost:0",
            "http://localhost:99999",
            "ftp://example.org",
        ] {
            assert!(
                bad.parse::<CorsOrigins>().is_err(),
                "{bad} should be refused"
            );
        }
    }

    #[test]
    fn a_secret_never_shows_in_debug_output() {
        let secret = Secret::new("super-secret-value-that-is-long-enough");
        assert!(!format!("{secret:?}").contains("super"));
    }

    #[test]
    fn a_sqlite_file_url_is_opened_read_write_create() {
        let settings = Settings::default();
        assert_eq!(settings.effective_database_url(), "sqlite://hq.db?mode=rwc");
        let pg = Settings {
            database_url: "postgres://postgres@127.0.0.1/test".into(),
            ..Settings::default()
        };
        assert_eq!(
            pg.effective_database_url(),
            "postgres://postgres@127.0.0.1/test"
        );
    }

    #[test]
    fn the_secret_file_is_generated_once_with_owner_only_rights() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        let settings = Settings {
            jwt_secret_file: path.clone(),
            ..Settings::default()
        };
        let first = settings.signing_secret().unwrap();
        let second = settings.signing_secret().unwrap();
        assert_eq!(first.expose(), second.expose());
        assert!(first.expose().len() >= MIN_SECRET_BYTES);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_short_configured_secret_is_refused() {
        let settings = Settings {
            jwt_secret: Some(Secret::new("short")),
            ..Settings::default()
        };
        assert!(matches!(
            settings.signing_secret(),
            Err(SecretError::TooShort)
        ));
    }
}
