//! Database connections: SQLite (embedded default, WAL, busy timeout) or PostgreSQL, the
//! migrations, and the seed.
//!
//! Connecting is where an operator's mistakes show first (a database not yet created, a server
//! not yet up, a wrong password, a typo in the URL), so every way it can fail is one
//! [`ConnectError`] whose text names the database and says what to do, on one line, without the
//! password. The mapping from the driver's errors lives here and nowhere else.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::postgres::{PgConnectOptions, PgConnection};
use sea_orm::sqlx::{self, ConnectOptions as _, Connection as _};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr, RuntimeErr};

use crate::config::Settings;
use crate::error::{AppError, AppResult};
use crate::services;

/// How long a SQLite writer waits for the lock before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// A pooled connection idle at least this long is pinged before it is handed out; one in use
/// more recently is handed out as it is (as HikariCP's "alive bypass window"). The driver's
/// default pings on every acquire: one more round trip for each statement outside a
/// transaction, which over a network link doubled the cost of a single evaluation.
pub const PING_IF_IDLE_FOR: Duration = Duration::from_secs(1);

/// After a statement lost its connection, every connection is pinged before it is handed out
/// for this long: when the server restarts, the pool's other connections are dead too, even the
/// ones used a moment ago, and the ping replaces them instead of failing one request each.
const PING_ALL_AFTER_LOSS: Duration = Duration::from_secs(10);

/// When a connection was last lost: milliseconds since [`LOSS_CLOCK`]'s start, plus one (zero:
/// never).
static LAST_LOSS: AtomicU64 = AtomicU64::new(0);
static LOSS_CLOCK: LazyLock<Instant> = LazyLock::new(Instant::now);

/// Records that a statement or probe failed because its connection was lost or refused: for
/// [`PING_ALL_AFTER_LOSS`], every connection is tested before use.
pub(crate) fn connection_lost() {
    let since = u64::try_from(LOSS_CLOCK.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
    LAST_LOSS.store(since + 1, Ordering::Relaxed);
}

/// Whether a pooled connection idle for `idle_for` must answer a ping before it is handed out:
/// it has been idle a while, or a connection was lost lately.
fn must_ping(idle_for: Duration) -> bool {
    let lost = match LAST_LOSS.load(Ordering::Relaxed) {
        0 => None,
        at => Some(Duration::from_millis(at - 1)),
    };
    must_ping_at(idle_for, lost, LOSS_CLOCK.elapsed())
}

/// [`must_ping`] at `now`, a connection last lost at `lost` (both on [`LOSS_CLOCK`]).
fn must_ping_at(idle_for: Duration, lost: Option<Duration>, now: Duration) -> bool {
    idle_for >= PING_IF_IDLE_FOR
        || lost.is_some_and(|lost| now.saturating_sub(lost) < PING_ALL_AFTER_LOSS)
}

/// The pool's `before_acquire`: a ping when [`must_ping`] says so (a connection that fails it is
/// discarded, and the pool takes or opens another).
fn ping_if_needed<C: sqlx::Connection>(
    conn: &mut C,
    meta: sqlx::pool::PoolConnectionMetadata,
) -> futures_util::future::BoxFuture<'_, Result<bool, sqlx::Error>> {
    Box::pin(async move {
        if must_ping(meta.idle_for) {
            conn.ping().await?;
        }
        Ok(true)
    })
}

/// The database `HQ_CREATE_DATABASE` connects to in order to create the configured one: every
/// PostgreSQL cluster has `postgres`, and `template1` where an administrator removed it.
const MAINTENANCE_DATABASES: [&str; 2] = ["postgres", "template1"];

/// Why the configured database could not be opened. Each text is one line, names the database
/// (never the password) and says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectError {
    /// `HQ_DATABASE_URL` cannot be understood.
    #[error(
        "HQ_DATABASE_URL `{url}` is not a database URL ({reason}); use sqlite://FILE or postgres://USER:PASSWORD@HOST:PORT/DATABASE"
    )]
    Malformed {
        /// The URL with its password replaced by `***`.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The PostgreSQL server answers but the database has not been created.
    #[error(
        "PostgreSQL database `{database}` does not exist on {host}:{port}; create it with `createdb -h {host} -p {port} -U {user} {database_arg}`, or start with HQ_CREATE_DATABASE=true to let hq-api create it"
    )]
    DatabaseMissing {
        /// Server host.
        host: String,
        /// Server port.
        port: u16,
        /// The role connecting.
        user: String,
        /// The database's name.
        database: String,
        /// The name as one shell word.
        database_arg: String,
    },
    /// Nothing accepts connections at the address (refused, unknown host, no answer, the server
    /// starting up or full).
    #[error(
        "PostgreSQL at {host}:{port} is not accepting connections ({cause}); check that the server runs and that HQ_DATABASE_URL names its host and port"
    )]
    Unreachable {
        /// Server host.
        host: String,
        /// Server port.
        port: u16,
        /// What the network or the server said.
        cause: String,
    },
    /// The server refused the role: wrong password, unknown role, or no `pg_hba.conf` entry.
    #[error(
        "PostgreSQL at {host}:{port} refused role `{user}` ({cause}); check the user and password in HQ_DATABASE_URL and the server's pg_hba.conf"
    )]
    AuthenticationFailed {
        /// Server host.
        host: String,
        /// Server port.
        port: u16,
        /// The role connecting.
        user: String,
        /// The server's message.
        cause: String,
    },
    /// `HQ_CREATE_DATABASE=true`, but the role may not create databases.
    #[error(
        "role `{user}` may not create database `{database}` on {host}:{port} ({cause}); create it with `createdb -h {host} -p {port} -U ROLE {database_arg}` as a role that may, or grant CREATEDB"
    )]
    CreateRefused {
        /// Server host.
        host: String,
        /// Server port.
        port: u16,
        /// The role connecting.
        user: String,
        /// The database's name.
        database: String,
        /// The name as one shell word.
        database_arg: String,
        /// The server's message.
        cause: String,
    },
    /// The SQLite file or its directory cannot be written.
    #[error(
        "SQLite database `{path}` cannot be opened for writing ({cause}); create its directory and give the service's user write access to it"
    )]
    SqliteNotWritable {
        /// The file.
        path: String,
        /// What the file system or SQLite said.
        cause: String,
    },
    /// Anything else, with the database named and the driver's one-line text.
    #[error("{database}: {cause}")]
    Other {
        /// `PostgreSQL database `hq` on HOST:PORT` or `SQLite database `FILE``.
        database: String,
        /// The driver's text, password removed.
        cause: String,
    },
}

impl ConnectError {
    /// Whether `serve` should start anyway and keep trying: the server is not up yet, or the
    /// database is not created yet (an orchestrator may start the service before either).
    /// A URL, a password or a file system that is wrong stays wrong until someone changes it:
    /// those stop the start.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ConnectError::Unreachable { .. } | ConnectError::DatabaseMissing { .. }
        )
    }

    /// A short reason for `/readyz`: what kind of failure, without hosts, names or paths.
    pub fn summary(&self) -> &'static str {
        match self {
            ConnectError::Malformed { .. } => "database URL malformed",
            ConnectError::DatabaseMissing { .. } => "database does not exist",
            ConnectError::Unreachable { .. } => "database unreachable",
            ConnectError::AuthenticationFailed { .. } => "database authentication failed",
            ConnectError::CreateRefused { .. } => "database cannot be created",
            ConnectError::SqliteNotWritable { .. } => "database file not writable",
            ConnectError::Other { .. } => "database unavailable",
        }
    }
}

/// The configured database, parsed: where it is and how to reach it.
enum Target {
    /// A SQLite file (`None`: in memory).
    Sqlite(Option<PathBuf>),
    /// A PostgreSQL database.
    Postgres(Box<PgTarget>),
}

/// A PostgreSQL database named by a URL.
struct PgTarget {
    /// The parsed options (they hold the password: never printed).
    options: PgConnectOptions,
    host: String,
    port: u16,
    user: String,
    database: String,
}

impl PgTarget {
    fn missing(&self) -> ConnectError {
        ConnectError::DatabaseMissing {
            host: self.host.clone(),
            port: self.port,
            user: self.user.clone(),
            database: self.database.clone(),
            database_arg: shell_word(&self.database),
        }
    }

    /// The one mapping of a driver error met while connecting to PostgreSQL.
    fn classify(&self, err: &sqlx::Error) -> ConnectError {
        let unreachable = |cause: String| ConnectError::Unreachable {
            host: self.host.clone(),
            port: self.port,
            cause,
        };
        match err {
            sqlx::Error::Database(db) => match db.code().as_deref() {
                // invalid_catalog_name
                Some("3D000") => self.missing(),
                // invalid_password, invalid_authorization_specification
                Some("28P01" | "28000") => ConnectError::AuthenticationFailed {
                    host: self.host.clone(),
                    port: self.port,
                    user: self.user.clone(),
                    cause: one_line(db.message()),
                },
                // cannot_connect_now (starting up), too_many_connections, admin_shutdown,
                // crash_shutdown: the server is there but not taking us now.
                Some("57P03" | "53300" | "57P01" | "57P02") => unreachable(one_line(db.message())),
                _ => self.other(db.message()),
            },
            sqlx::Error::Io(io) => unreachable(one_line(&io.to_string())),
            sqlx::Error::PoolTimedOut => unreachable("no connection within the timeout".into()),
            sqlx::Error::Configuration(reason) => ConnectError::Malformed {
                url: format!(
                    "postgres://{}@{}:{}/{}",
                    self.user, self.host, self.port, self.database
                ),
                reason: one_line(&reason.to_string()),
            },
            other => self.other(&other.to_string()),
        }
    }

    fn other(&self, cause: &str) -> ConnectError {
        ConnectError::Other {
            database: format!(
                "PostgreSQL database `{}` on {}:{}",
                self.database, self.host, self.port
            ),
            cause: one_line(cause),
        }
    }

    /// One connection, opened and closed: the precise reason when it fails (a pool retries a
    /// refused connection until its timeout and then says only that it timed out).
    async fn probe(&self, timeout: Duration) -> Result<(), ConnectError> {
        let conn = self.open_one(&self.options, timeout).await?;
        let _ = conn.close().await;
        Ok(())
    }

    async fn open_one(
        &self,
        options: &PgConnectOptions,
        timeout: Duration,
    ) -> Result<PgConnection, ConnectError> {
        match tokio::time::timeout(timeout, options.connect()).await {
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(err)) => Err(self.classify(&err)),
            Err(_) => Err(ConnectError::Unreachable {
                host: self.host.clone(),
                port: self.port,
                cause: format!("no answer within {}s", timeout.as_secs()),
            }),
        }
    }

    /// `CREATE DATABASE` through a maintenance database of the same server, as the same role.
    /// A database created meanwhile by another instance is success.
    async fn create(&self, timeout: Duration) -> Result<(), ConnectError> {
        let mut last = None;
        for maintenance in MAINTENANCE_DATABASES {
            let options = self.options.clone().database(maintenance);
            let mut conn = match self.open_one(&options, timeout).await {
                Ok(conn) => conn,
                // The maintenance database itself is missing: try the next one.
                Err(ConnectError::DatabaseMissing { .. }) => continue,
                Err(err) => return Err(err),
            };
            let sql = format!("CREATE DATABASE {}", quote_identifier(&self.database));
            let created = sqlx::Executor::execute(&mut conn, sqlx::AssertSqlSafe(sql)).await;
            let _ = conn.close().await;
            match created {
                Ok(_) => {
                    tracing::info!(database = %self.database, host = %self.host, port = self.port,
                        "created the PostgreSQL database (HQ_CREATE_DATABASE=true)");
                    return Ok(());
                }
                Err(sqlx::Error::Database(db))
                    // duplicate_database; unique_violation when two CREATE DATABASE race
                    if matches!(db.code().as_deref(), Some("42P04" | "23505")) =>
                {
                    return Ok(());
                }
                Err(sqlx::Error::Database(db))
                    if db.code().as_deref() == Some("42501") =>
                {
                    return Err(ConnectError::CreateRefused {
                        host: self.host.clone(),
                        port: self.port,
                        user: self.user.clone(),
                        database: self.database.clone(),
                        database_arg: shell_word(&self.database),
                        cause: one_line(db.message()),
                    });
                }
                Err(err) => last = Some(self.classify(&err)),
            }
            break;
        }
        Err(last.unwrap_or_else(|| self.missing()))
    }
}

impl Target {
    /// Parses the database URL (as [`Settings::effective_database_url`] gives it).
    fn parse(url: &str) -> Result<Target, ConnectError> {
        let (redacted, password) = redact_url(url);
        let malformed = |reason: String| ConnectError::Malformed {
            url: redacted.clone(),
            reason: scrub(
                &one_line(&reason.replace("error with configuration: ", "")),
                password.as_deref(),
            ),
        };
        let scheme = url.split_once(':').map(|(s, _)| s).unwrap_or_default();
        match scheme {
            "sqlite" => {
                let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)
                    .map_err(|e| malformed(e.to_string()))?;
                let in_memory = url.contains(":memory:") || url.contains("mode=memory");
                Ok(Target::Sqlite(
                    (!in_memory).then(|| options.get_filename().to_path_buf()),
                ))
            }
            "postgres" | "postgresql" => {
                if !url.contains("://") {
                    return Err(malformed("no `//` after the scheme".into()));
                }
                let options =
                    PgConnectOptions::from_str(url).map_err(|e| malformed(e.to_string()))?;
                let user = options.get_username().to_string();
                // PostgreSQL's own default: the database named like the role.
                let database = options.get_database().unwrap_or(&user).to_string();
                Ok(Target::Postgres(Box::new(PgTarget {
                    host: options.get_host().to_string(),
                    port: options.get_port(),
                    user,
                    database,
                    options,
                })))
            }
            "" => Err(malformed("no scheme".into())),
            other => Err(malformed(format!(
                "the scheme `{}` is not supported",
                scrub(other, password.as_deref())
            ))),
        }
    }

    /// A driver error met while opening the pool, mapped like the probe's.
    fn classify_db_err(&self, err: &DbErr) -> ConnectError {
        let sqlx_error = match err {
            DbErr::Conn(RuntimeErr::SqlxError(e))
            | DbErr::Exec(RuntimeErr::SqlxError(e))
            | DbErr::Query(RuntimeErr::SqlxError(e)) => Some(&**e),
            _ => None,
        };
        match (self, sqlx_error) {
            (Target::Postgres(pg), Some(e)) => pg.classify(e),
            (Target::Postgres(pg), None) => pg.other(&err.to_string()),
            (Target::Sqlite(path), _) => sqlite_error(path.as_deref(), err, sqlx_error),
        }
    }
}

/// SQLite's own errors: "unable to open database file" (14) and "attempt to write a readonly
/// database" (8) say the file cannot be written; anything else is passed on.
fn sqlite_error(
    path: Option<&Path>,
    err: &DbErr,
    sqlx_error: Option<&sqlx::Error>,
) -> ConnectError {
    let shown = path.map_or_else(|| ":memory:".to_string(), |p| p.display().to_string());
    if let Some(sqlx::Error::Database(db)) = sqlx_error
        && matches!(db.code().as_deref(), Some("14" | "8"))
    {
        return ConnectError::SqliteNotWritable {
            path: shown,
            cause: one_line(db.message()),
        };
    }
    ConnectError::Other {
        database: format!("SQLite database `{shown}`"),
        cause: one_line(&sqlx_error.map_or_else(|| err.to_string(), ToString::to_string)),
    }
}

/// Checks that a SQLite file can be opened for writing (creating it, as the driver would), so
/// that a missing or read-only directory is named before the driver's terse "unable to open
/// database file".
fn check_sqlite_file(path: &Path) -> Result<(), ConnectError> {
    let not_writable = |cause: String| ConnectError::SqliteNotWritable {
        path: path.display().to_string(),
        cause,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        match std::fs::metadata(dir) {
            Ok(meta) if !meta.is_dir() => {
                return Err(not_writable(format!(
                    "{} is not a directory",
                    dir.display()
                )));
            }
            Ok(_) => {}
            Err(err) => {
                return Err(not_writable(format!("directory {}: {err}", dir.display())));
            }
        }
    }
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map(drop)
        .map_err(|err| not_writable(err.to_string()))
}

/// Makes sure the configured database can be opened: the URL parses; a SQLite file can be
/// written; a PostgreSQL database answers one connection — created first when it is missing
/// and `HQ_CREATE_DATABASE=true`.
///
/// # Errors
/// See [`ConnectError`].
pub async fn prepare(settings: &Settings) -> Result<(), ConnectError> {
    let url = settings.effective_database_url();
    match Target::parse(&url)? {
        Target::Sqlite(None) => Ok(()),
        Target::Sqlite(Some(path)) => {
            if url.contains("mode=ro") {
                return Ok(());
            }
            check_sqlite_file(&path)
        }
        Target::Postgres(pg) => {
            let timeout = connect_timeout(settings);
            match pg.probe(timeout).await {
                Err(ConnectError::DatabaseMissing { .. }) if settings.create_database => {
                    pg.create(timeout).await?;
                    pg.probe(timeout).await
                }
                other => other,
            }
        }
    }
}

/// Connects to the configured database: [`prepare`], then the pool.
///
/// # Errors
/// See [`ConnectError`].
pub async fn connect(settings: &Settings) -> Result<DatabaseConnection, ConnectError> {
    prepare(settings).await?;
    open_pool(settings, false).await
}

/// A pool that connects on first use: for `serve` while the database is not up yet.
///
/// # Errors
/// A malformed URL.
pub async fn connect_lazy(settings: &Settings) -> Result<DatabaseConnection, ConnectError> {
    open_pool(settings, true).await
}

fn connect_timeout(settings: &Settings) -> Duration {
    Duration::from_secs(settings.db_acquire_timeout_secs.max(1))
}

async fn open_pool(settings: &Settings, lazy: bool) -> Result<DatabaseConnection, ConnectError> {
    use sea_orm::sqlx::ConnectOptions as _;
    let url = settings.effective_database_url();
    let target = Target::parse(&url)?;
    let mut options = ConnectOptions::new(url);
    options
        .max_connections(settings.db_max_connections.max(1))
        .min_connections(0)
        .connect_timeout(connect_timeout(settings))
        .acquire_timeout(connect_timeout(settings))
        .connect_lazy(lazy)
        .test_before_acquire(false)
        .map_sqlx_postgres_before_acquire(ping_if_needed)
        .map_sqlx_sqlite_before_acquire(ping_if_needed)
        // Each statement at `debug` (target `sqlx::query`, placeholders, never bound values).
        // Slow statements are not the driver's to log: it writes their whole text, a line of
        // 190 KB for one bulk statement at national scale; [`watch_statements`] logs them.
        // Turned off on the driver's own options: sea-orm's `sqlx_slow_statements_logging_
        // settings` leaves the driver's default (`warn` after 1 s) when given `Off`.
        .sqlx_logging(true)
        .sqlx_logging_level(log::LevelFilter::Debug)
        .map_sqlx_postgres_opts(|opts| {
            opts.log_slow_statements(log::LevelFilter::Off, Duration::MAX)
        })
        .map_sqlx_sqlite_opts(|opts| {
            opts.log_slow_statements(log::LevelFilter::Off, Duration::MAX)
                .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Full)
                .busy_timeout(SQLITE_BUSY_TIMEOUT)
                .foreign_keys(true)
        });
    let mut db = Database::connect(options)
        .await
        .map_err(|err| target.classify_db_err(&err))?;
    watch_statements(&mut db, settings.db_slow_statement, |_| {});
    Ok(db)
}

/// Characters of a slow statement's text its log line keeps.
pub const LOGGED_STATEMENT_CHARS: usize = 1_000;

/// Watches every statement sea-orm prepares on `db` and its clones made after this call,
/// transactions' included (not an unprepared statement, `BEGIN`/`COMMIT`, nor the waits between
/// a stream's rows, which sea-orm does not time): one slower than
/// `slow` is logged at `warn` (target `hq_api::db`: `elapsed_ms`, `failed`, the first
/// [`LOGGED_STATEMENT_CHARS`] characters of its text and its length in characters, never bound
/// values) and counted in `hq_db_slow_statements_total`; then `also` sees it, whatever its
/// time. The pool has one statement callback, so a caller that counts statements passes its
/// counting here instead of replacing the watch.
pub fn watch_statements<F>(db: &mut DatabaseConnection, slow: Duration, also: F)
where
    F: Fn(&sea_orm::metric::Info<'_>) + Send + Sync + 'static,
{
    db.set_metric_callback(move |info| {
        if info.elapsed >= slow {
            let sql = &info.statement.sql;
            crate::metrics::slow_statement();
            tracing::warn!(
                target: "hq_api::db",
                elapsed_ms = u64::try_from(info.elapsed.as_millis()).unwrap_or(u64::MAX),
                failed = info.failed,
                statement = %statement_excerpt(sql, LOGGED_STATEMENT_CHARS),
                statement_chars = sql.chars().count(),
                "slow statement"
            );
        }
        also(info);
    });
}

/// The first `max` characters of `sql`, with ` …` when it is longer: what a log line keeps of a
/// statement.
pub fn statement_excerpt(sql: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match sql.char_indices().nth(max) {
        None => std::borrow::Cow::Borrowed(sql),
        Some((end, _)) => std::borrow::Cow::Owned(format!("{} …", &sql[..end])),
    }
}

/// Applies pending migrations, then the idempotent seed.
///
/// # Errors
/// Database errors.
pub async fn migrate_and_seed(db: &DatabaseConnection) -> AppResult<()> {
    Migrator::up(db, None).await?;
    services::seed::run(db).await
}

/// A migrated and seeded in-memory SQLite database on one connection (an in-memory database
/// lives as long as its connection), for unit tests that read through real statements.
#[cfg(test)]
pub(crate) async fn memory_database() -> DatabaseConnection {
    let mut options = ConnectOptions::new("sqlite::memory:");
    options.max_connections(1).min_connections(1);
    let db = Database::connect(options).await.expect("in-memory SQLite");
    migrate_and_seed(&db).await.expect("migrated");
    db
}

/// One line for an operator about a failed migration, seed or read at start-up: the database's
/// own text, which a client never sees.
pub fn describe(err: &AppError) -> String {
    match err {
        AppError::Unavailable(cause) => one_line(&cause.to_string()),
        other => one_line(&other.to_string()),
    }
}

/// `url` with the password (between the user's `:` and the last `@`) replaced by `***`, and the
/// password, if there was one.
fn redact_url(url: &str) -> (String, Option<String>) {
    // Without `//` (a malformed URL), the user-info may start right at the beginning.
    let scheme_end = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[scheme_end..];
    // The last `@`: a password may hold `@`, `/` or `?` that its writer did not escape.
    let Some(at) = rest.rfind('@') else {
        return (url.to_string(), None);
    };
    let Some(colon) = rest[..at].find(':') else {
        return (url.to_string(), None);
    };
    let password = &rest[colon + 1..at];
    let redacted = format!(
        "{}{}:***{}",
        &url[..scheme_end],
        &rest[..colon],
        &rest[at..]
    );
    (
        redacted,
        (!password.is_empty()).then(|| password.to_string()),
    )
}

/// `text` with every occurrence of the password replaced by `***`.
fn scrub(text: &str, password: Option<&str>) -> String {
    match password {
        Some(p) => text.replace(p, "***"),
        None => text.to_string(),
    }
}

/// Folds a multi-line message onto one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A PostgreSQL identifier in double quotes, inner quotes doubled: safe for any name.
fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `text` as one POSIX shell word: bare when it is plain, else in single quotes.
fn shell_word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if plain {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// The PostgreSQL URL `url` with its database name replaced by `name`; the query string (e.g.
/// `?sslmode=require`) is kept. Used where a tool creates or drops a database of its own beside
/// the configured one (the benchmark, the tests).
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::error::Error as StdError;

    use sea_orm::sqlx::error::{DatabaseError, ErrorKind};

    use super::*;

    /// A server error with a SQLSTATE, as the driver hands it over.
    #[derive(Debug)]
    struct ServerSays {
        code: &'static str,
        message: &'static str,
    }

    impl std::fmt::Display for ServerSays {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.message)
        }
    }

    impl StdError for ServerSays {}

    impl DatabaseError for ServerSays {
        fn message(&self) -> &str {
            self.message
        }
        fn code(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(self.code))
        }
        fn as_error(&self) -> &(dyn StdError + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn StdError + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn StdError + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> ErrorKind {
            ErrorKind::Other
        }
    }

    fn server(code: &'static str, message: &'static str) -> sqlx::Error {
        sqlx::Error::Database(Box::new(ServerSays { code, message }))
    }

    fn pg(url: &str) -> PgTarget {
        match Target::parse(url) {
            Ok(Target::Postgres(pg)) => *pg,
            _ => panic!("{url} is a PostgreSQL URL"),
        }
    }

    #[test]
    fn a_missing_database_is_named_with_the_createdb_command() {
        let target = pg("postgres://hq:pw@db.internal:5433/hq_prod");
        let err = target.classify(&server("3D000", r#"database "hq_prod" does not exist"#));
        assert!(err.is_retryable());
        assert_eq!(err.summary(), "database does not exist");
        let text = err.to_string();
        assert!(
            text.contains("`hq_prod` does not exist on db.internal:5433"),
            "{text}"
        );
        assert!(
            text.contains("`createdb -h db.internal -p 5433 -U hq hq_prod`"),
            "{text}"
        );
        assert!(text.contains("HQ_CREATE_DATABASE=true"), "{text}");
        assert!(!text.contains("pw"), "{text}");
    }

    #[test]
    fn a_database_name_that_is_not_a_plain_word_is_quoted_for_the_shell() {
        let target = pg("postgres://hq@localhost/it's%20mine");
        let text = target.classify(&server("3D000", "no")).to_string();
        assert!(text.contains(r"hq 'it'\''s mine'`"), "{text}");
    }

    #[test]
    fn a_wrong_password_or_unknown_role_is_an_authentication_failure_that_stops_the_start() {
        let target = pg("postgres://hq:secret@127.0.0.1:5432/hq");
        for (code, message) in [
            ("28P01", r#"password authentication failed for user "hq""#),
            ("28000", r#"role "hq" does not exist"#),
        ] {
            let err = target.classify(&server(code, message));
            assert!(
                matches!(err, ConnectError::AuthenticationFailed { .. }),
                "{code}"
            );
            assert!(!err.is_retryable());
            let text = err.to_string();
            assert!(
                text.contains("refused role `hq`") && text.contains(message),
                "{text}"
            );
            assert!(!text.contains("secret"), "{text}");
        }
    }

    #[test]
    fn a_refused_connection_or_a_server_starting_up_is_unreachable_and_retried() {
        let target = pg("postgres://hq@127.0.0.1:1/hq");
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        for err in [
            target.classify(&sqlx::Error::Io(refused)),
            target.classify(&server("57P03", "the database system is starting up")),
            target.classify(&sqlx::Error::PoolTimedOut),
        ] {
            assert!(matches!(err, ConnectError::Unreachable { .. }), "{err}");
            assert!(err.is_retryable());
            assert!(err.to_string().contains("127.0.0.1:1"), "{err}");
        }
    }

    #[test]
    fn any_other_server_error_names_the_database_and_is_not_retried() {
        let err = pg("postgres://hq@h/db").classify(&server("XX000", "boom\nsecond line"));
        assert_eq!(
            err.to_string(),
            "PostgreSQL database `db` on h:5432: boom second line"
        );
        assert!(!err.is_retryable());
    }

    #[test]
    fn a_malformed_url_is_refused_without_its_password() {
        for url in [
            "postgres://hq:s3cr3t@host:notaport/db",
            "postgres://hq:s3cr3t@host/db?sslmode=sometimes",
            "mysql://hq:s3cr3t@host/db",
            "hq:s3cr3t@host/db",
            "postgres:hq:s3cr3t@host/db",
        ] {
            let err = match Target::parse(url) {
                Err(err) => err,
                Ok(_) => panic!("{url} parsed"),
            };
            assert!(matches!(err, ConnectError::Malformed { .. }), "{url}");
            assert!(!err.is_retryable());
            let text = err.to_string();
            assert!(!text.contains("s3cr3t"), "{text}");
            assert!(text.starts_with("HQ_DATABASE_URL `"), "{text}");
        }
    }

    #[test]
    fn redaction_hides_everything_between_the_users_colon_and_the_last_at() {
        assert_eq!(
            redact_url("postgres://hq:p@ss/w?rd@host:5432/db"),
            (
                "postgres://hq:***@host:5432/db".to_string(),
                Some("p@ss/w?rd".to_string())
            )
        );
        assert_eq!(
            redact_url("postgres://hq@host/db"),
            ("postgres://hq@host/db".to_string(), None)
        );
        assert_eq!(
            redact_url("hq:s3cr3t@host/db"),
            ("hq:***@host/db".to_string(), Some("s3cr3t".to_string()))
        );
        assert_eq!(
            redact_url("sqlite://hq.db"),
            ("sqlite://hq.db".to_string(), None)
        );
    }

    #[test]
    fn an_identifier_is_quoted_with_inner_quotes_doubled() {
        assert_eq!(quote_identifier("hq"), r#""hq""#);
        assert_eq!(
            quote_identifier(r#"a"; DROP DATABASE x; --"#),
            r#""a""; DROP DATABASE x; --""#
        );
    }

    #[test]
    fn a_sqlite_file_in_a_missing_directory_is_not_writable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent").join("hq.db");
        let err = check_sqlite_file(&path).unwrap_err();
        assert_eq!(err.summary(), "database file not writable");
        let text = err.to_string();
        assert!(text.contains(&path.display().to_string()), "{text}");
        assert!(text.contains("absent"), "{text}");
        assert!(!err.is_retryable());
    }

    #[test]
    fn a_sqlite_file_under_a_regular_file_is_not_writable() {
        let file = tempfile::NamedTempFile::new().unwrap();
        let path = file.path().join("hq.db");
        let err = check_sqlite_file(&path).unwrap_err();
        assert!(err.to_string().contains("is not a directory"), "{err}");
    }

    #[test]
    fn a_sqlite_file_in_a_writable_directory_passes_the_check() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hq.db");
        check_sqlite_file(&path).unwrap();
        assert!(path.exists());
    }

    #[test]
    fn sqlite_cannot_open_is_not_writable_and_other_sqlite_errors_pass_through() {
        let path = PathBuf::from("/data/hq.db");
        let cannot_open = server("14", "unable to open database file");
        let err = sqlite_error(Some(&path), &DbErr::Custom("x".into()), Some(&cannot_open));
        assert!(
            matches!(err, ConnectError::SqliteNotWritable { .. }),
            "{err}"
        );
        let corrupt = server("26", "file is not a database");
        let err = sqlite_error(Some(&path), &DbErr::Custom("x".into()), Some(&corrupt));
        assert_eq!(
            err.to_string(),
            "SQLite database `/data/hq.db`: error returned from database: file is not a database"
        );
    }

    #[test]
    fn another_database_on_the_same_server_keeps_the_query_string() {
        assert_eq!(
            with_database("postgres://u@h:5432/hq?sslmode=require", "postgres"),
            "postgres://u@h:5432/postgres?sslmode=require"
        );
        assert_eq!(with_database("postgres://u@h", "t"), "postgres://u@h/t");
        assert_eq!(with_database("postgres://u@h/a/b", "t"), "postgres://u@h/t");
    }

    #[test]
    fn a_connection_is_pinged_when_idle_a_while_or_after_a_loss() {
        let ms = Duration::from_millis;
        // (idle for, last loss, now, ping?)
        let cases = [
            (ms(0), None, ms(60_000), false),
            (ms(999), None, ms(60_000), false),
            (ms(1_000), None, ms(60_000), true),
            (ms(30_000), None, ms(60_000), true),
            // A loss pings every connection for ten seconds, however recently it was used.
            (ms(0), Some(ms(55_000)), ms(55_000), true),
            (ms(0), Some(ms(50_001)), ms(60_000), true),
            (ms(0), Some(ms(50_000)), ms(60_000), false),
            (ms(0), Some(ms(1_000)), ms(60_000), false),
            (ms(2_000), Some(ms(1_000)), ms(60_000), true),
            // A clock read before the loss was stored does not underflow.
            (ms(0), Some(ms(60_001)), ms(60_000), true),
        ];
        for (idle, lost, now, expected) in cases {
            assert_eq!(
                must_ping_at(idle, lost, now),
                expected,
                "idle {idle:?}, lost {lost:?}, now {now:?}"
            );
        }
        connection_lost();
        assert!(must_ping(Duration::ZERO), "just after a loss");
    }
}

#[cfg(test)]
mod slow_statement_tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use sea_orm::{ConnectionTrait, Statement};

    use super::*;

    #[test]
    fn an_excerpt_keeps_the_first_characters_and_marks_the_cut() {
        let cases: [(&str, usize, &str); 6] = [
            ("", 3, ""),
            ("SELECT 1", 8, "SELECT 1"),
            ("SELECT 1", 100, "SELECT 1"),
            ("SELECT 1", 6, "SELECT …"),
            ("SELECT 1", 0, " …"),
            // Cut by characters, never inside one: each of these is three bytes.
            ("总部企业认定", 4, "总部企业 …"),
        ];
        for (sql, max, expected) in cases {
            assert_eq!(statement_excerpt(sql, max), expected, "{sql:?}, {max}");
        }
    }

    /// A writer the test reads back: what the subscriber wrote.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("log buffer").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().expect("log buffer").clone()).expect("UTF-8 log")
        }
    }

    /// Runs `sql` on `db` and returns what was logged at `warn` on this thread meanwhile.
    async fn logged(db: &DatabaseConnection, sql: &str) -> String {
        let log = Captured::default();
        let writer = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::WARN)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let backend = db.get_database_backend();
        db.query_one_raw(Statement::from_string(backend, sql.to_owned()))
            .await
            .expect("the statement runs")
            .expect("one row");
        log.text()
    }

    /// Runs `sql` on `db` with the statement watch at `slow`, and returns the log written at
    /// `warn` and how many statements `also` saw.
    async fn watched(db: &mut DatabaseConnection, slow: Duration, sql: &str) -> (String, usize) {
        let seen = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&seen);
        watch_statements(db, slow, move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        let log = logged(db, sql).await;
        (log, seen.load(Ordering::SeqCst))
    }

    /// The service's pool watches its statements at `HQ_DB_SLOW_STATEMENT`.
    #[tokio::test]
    async fn the_service_pool_logs_statements_slower_than_the_setting() {
        let mut settings = Settings {
            database_url: "sqlite::memory:".into(),
            ..Settings::default()
        };
        settings.db_slow_statement = Duration::ZERO;
        let db = open_pool(&settings, false).await.expect("the pool opens");
        let log = logged(&db, "SELECT 1 AS n").await;
        assert!(log.contains("slow statement"), "{log}");
        assert!(log.contains("hq_api::db"), "{log}");
        settings.db_slow_statement = Duration::from_secs(3600);
        let db = open_pool(&settings, false).await.expect("the pool opens");
        assert_eq!(logged(&db, "SELECT 1 AS n").await, "");
    }

    /// A statement slower than the driver's default alert (1 s) is logged by the watch alone,
    /// never by the driver with its whole text. On PostgreSQL (`TEST_DATABASE_URL`): the driver
    /// logs on the caller's task there, which this thread's subscriber sees; SQLite's driver
    /// logs on its worker thread, out of a test subscriber's sight, and gets the same option.
    #[tokio::test]
    async fn the_driver_does_not_log_a_slow_statement_on_its_own() {
        let Ok(url) = std::env::var("TEST_DATABASE_URL") else {
            eprintln!("skipped: a statement over 1 s is PostgreSQL's pg_sleep (TEST_DATABASE_URL)");
            return;
        };
        let mut settings = Settings {
            database_url: url,
            ..Settings::default()
        };
        settings.db_slow_statement = Duration::from_secs(3600);
        let db = open_pool(&settings, false).await.expect("the pool opens");
        let log = logged(&db, "SELECT pg_sleep(1.2)::text AS slept").await;
        assert_eq!(log, "", "only the watch may log a slow statement");
        settings.db_slow_statement = Duration::from_secs(1);
        let db = open_pool(&settings, false).await.expect("the pool opens");
        let log = logged(&db, "SELECT pg_sleep(1.2)::text AS slept").await;
        assert_eq!(log.lines().count(), 1, "{log}");
        assert!(log.contains("hq_api::db"), "{log}");
        assert!(!log.contains("sqlx::query"), "{log}");
    }

    #[tokio::test]
    async fn a_slow_statement_is_logged_with_a_bounded_excerpt_and_its_length() {
        let mut db = memory_database().await;
        let literal = "x".repeat(50_000);
        let sql = format!("SELECT length('{literal}') AS n");
        let (log, seen) = watched(&mut db, Duration::ZERO, &sql).await;
        assert_eq!(seen, 1, "the caller's callback still sees the statement");
        let lines: Vec<&str> = log.lines().collect();
        assert_eq!(lines.len(), 1, "{log}");
        let line = lines[0];
        assert!(line.contains("WARN"), "{line}");
        assert!(line.contains("slow statement"), "{line}");
        assert!(line.contains("hq_api::db"), "{line}");
        assert!(line.contains("failed=false"), "{line}");
        assert!(
            line.contains(&format!("statement_chars={}", sql.chars().count())),
            "{line}"
        );
        assert!(line.contains("SELECT length('xxx"), "{line}");
        assert!(
            line.len() < LOGGED_STATEMENT_CHARS + 400,
            "a line of {} bytes",
            line.len()
        );
    }

    #[tokio::test]
    async fn a_statement_under_the_threshold_is_not_logged_but_still_seen() {
        let mut db = memory_database().await;
        let (log, seen) = watched(&mut db, Duration::from_secs(3600), "SELECT 1 AS n").await;
        assert_eq!(log, "");
        assert_eq!(seen, 1);
    }
}
