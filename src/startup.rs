//! Building and running the HTTP server.

use std::net::TcpListener;
use std::time::Duration;

use actix_web::{App, HttpServer, web};
use sea_orm::DatabaseConnection;

use crate::auth::JwtKeys;
use crate::auth::jwks::Jwks;
use crate::config::Settings;
use crate::db::{self, ConnectError};
use crate::error::AppResult;
use crate::graphql::guard::DocumentLimits;
use crate::graphql::{self, ApiState, SchemaLimits, pagination::PageLimits};
use crate::http::{self, HttpState};
use crate::readiness::{self, KnownDistricts};
use crate::services;

/// The first wait before `serve` tries its database again; each later wait doubles it.
pub const RETRY_FIRST: Duration = Duration::from_secs(1);
/// The longest wait between two tries.
pub const RETRY_MAX: Duration = Duration::from_secs(30);

/// Why the service could not start. Each text is one line an operator can act on.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The signing secret is missing or unusable.
    #[error(transparent)]
    Secret(#[from] crate::config::SecretError),
    /// The database could not be opened, for a reason only a change of settings or of the
    /// machine fixes (a database merely down or not yet created does not stop `serve`).
    #[error(transparent)]
    Database(Box<ConnectError>),
    /// The database was opened but could not be migrated, seeded or read.
    #[error("database opened, but migrating, seeding or reading it failed: {0}")]
    Migrate(String),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Invalid settings.
    #[error("{0}")]
    Settings(String),
}

impl From<ConnectError> for StartupError {
    fn from(err: ConnectError) -> Self {
        StartupError::Database(Box::new(err))
    }
}

/// A built, bound, not yet running service.
pub struct Application {
    port: u16,
    server: actix_web::dev::Server,
    /// The Prometheus listener and its port, when `HQ_METRICS_BIND` is set.
    metrics: Option<(actix_web::dev::Server, u16)>,
}

impl Application {
    /// Connects, migrates and seeds (if configured), binds the address and builds the server.
    ///
    /// A database that is down or not yet created does not stop the start: the server binds,
    /// `/readyz` answers 503 with the reason, requests get `SERVICE_UNAVAILABLE`, and a task
    /// tries again after [`RETRY_FIRST`], doubling the wait up to [`RETRY_MAX`], until it has
    /// connected, migrated, seeded and read the districts.
    ///
    /// # Errors
    /// See [`StartupError`].
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        check_settings(&settings)?;
        match db::connect(&settings).await {
            Ok(db) => Self::build_on(settings, db).await,
            Err(err) if err.is_retryable() => {
                let keys = token_keys(&settings).await?;
                tracing::warn!(
                    retry_in_secs = RETRY_FIRST.as_secs(),
                    "{err}; serving anyway: /readyz answers 503 until the database is ready"
                );
                let db = db::connect_lazy(&settings).await?;
                let districts = KnownDistricts::waiting(err.summary());
                let app = Self::serve(&settings, db.clone(), districts.clone(), keys)?;
                tokio::spawn(bring_up(settings, db, districts));
                Ok(app)
            }
            Err(err) => Err(err.into()),
        }
    }

    /// As [`Application::build`], on a connection the caller opened (the benchmark harness
    /// attaches a statement counter to it); `settings.database_url` is not used.
    ///
    /// # Errors
    /// See [`StartupError`].
    pub async fn build_on(
        settings: Settings,
        db: DatabaseConnection,
    ) -> Result<Self, StartupError> {
        check_settings(&settings)?;
        let keys = token_keys(&settings).await?;
        let districts = load(&settings, &db)
            .await
            .map_err(|err| StartupError::Migrate(db::describe(&err)))?;
        Self::serve(&settings, db, KnownDistricts::loaded(districts), keys)
    }

    /// Binds the address and builds the server on `db`, ready or not.
    fn serve(
        settings: &Settings,
        db: DatabaseConnection,
        districts: KnownDistricts,
        keys: JwtKeys,
    ) -> Result<Self, StartupError> {
        let feed = services::claim_feed::ClaimFeed::new(settings.ws_event_buffer);
        feed.open(&db);
        let api = ApiState {
            feed,
            db,
            pages: PageLimits {
                default_size: settings.default_page_size,
                max_size: settings.max_page_size,
            },
            districts,
            policy: services::recognition::inputs::PolicyCache::new(),
        };
        let limits = SchemaLimits {
            depth: settings.max_depth,
            complexity: settings.max_complexity,
            introspection: settings.introspection,
        };
        let persisted = match &settings.trusted_documents {
            Some(path) => http::persisted::PersistedQueries::trusted(path)
                .map_err(|err| StartupError::Settings(err.to_string()))?,
            None => http::persisted::PersistedQueries::automatic(settings.apq_cache_size),
        };
        let state = HttpState {
            persisted: std::sync::Arc::new(persisted),
            schema: graphql::schema(Some(api.clone()), limits),
            keys,
            api,
            cors_origins: settings.cors_origins.clone(),
            graphiql: settings.graphiql,
            max_import_bytes: settings.max_import_bytes,
            limits: DocumentLimits {
                nesting: settings.max_nesting,
                fields: settings.max_fields,
                root_fields: settings.max_root_fields,
            },
            request_timeout: settings.request_timeout,
            live: http::LiveLimits {
                connections_per_actor: settings.ws_max_connections_per_actor,
                subscriptions: settings.ws_max_subscriptions,
                init_timeout: settings.ws_init_timeout,
                idle_timeout: settings.ws_idle_timeout,
                max_message_bytes: settings.ws_max_message_bytes,
            },
            connections: std::sync::Arc::default(),
        };
        let listener = TcpListener::bind(&settings.bind).map_err(|source| StartupError::Bind {
            addr: settings.bind.clone(),
            source,
        })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartupError::Bind {
                addr: settings.bind.clone(),
                source,
            })?
            .port();
        let metrics = match &settings.metrics_bind {
            Some(bind) => Some(
                crate::metrics::listener(bind, state.api.db.clone(), settings.db_max_connections)
                    .map_err(StartupError::Settings)?,
            ),
            None => None,
        };
        let max_body = settings.max_body_bytes;
        let data = web::Data::new(state);
        let mut server = HttpServer::new(move || {
            App::new()
                .wrap(actix_web::middleware::from_fn(readiness::gate))
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(max_body))
                .wrap(actix_web::middleware::from_fn(http::cors))
                .wrap(actix_web::middleware::from_fn(http::observe::observe))
                .configure(http::configure)
        })
        .on_connect(http::remember_socket)
        .shutdown_timeout(settings.shutdown_timeout_secs)
        .client_request_timeout(Duration::from_secs(30));
        if let Some(workers) = settings.workers {
            server = server.workers(workers.max(1));
        }
        let server = server
            .listen(listener)
            .map_err(|source| StartupError::Bind {
                addr: settings.bind.clone(),
                source,
            })?
            .run();
        Ok(Application {
            port,
            server,
            metrics,
        })
    }

    /// A handle that stops the server (gracefully with `stop(true)`).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// The bound port (useful when binding port 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGINT/SIGTERM, then drains in-flight requests.
    ///
    /// # Errors
    /// I/O errors of the server.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let Some((metrics, _)) = self.metrics else {
            return self.server.await;
        };
        // The metrics listener answers until the API has drained, then stops with it.
        let metrics_handle = metrics.handle();
        let metrics_task = tokio::spawn(metrics);
        let result = self.server.await;
        metrics_handle.stop(true).await;
        let _ = metrics_task.await;
        result
    }

    /// The bound port of the metrics listener, if there is one.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|(_, port)| *port)
    }
}

/// Migrates and seeds (if configured) and reads the districts.
async fn load(
    settings: &Settings,
    db: &DatabaseConnection,
) -> AppResult<Vec<services::records::DistrictRecord>> {
    if settings.migrate {
        db::migrate_and_seed(db).await?;
    }
    services::districts::list(db).await
}

/// Tries the database until it is ready, waiting [`RETRY_FIRST`], then twice as long each
/// time up to [`RETRY_MAX`]; fills `districts` when it is, which makes the service ready.
async fn bring_up(settings: Settings, db: DatabaseConnection, districts: KnownDistricts) {
    let mut wait = RETRY_FIRST;
    loop {
        tokio::time::sleep(wait).await;
        wait = next_wait(wait);
        let attempt = match db::prepare(&settings).await {
            Err(err) => Err((err.summary(), err.to_string())),
            Ok(()) => load(&settings, &db)
                .await
                .map_err(|err| ("database not migrated", db::describe(&err))),
        };
        match attempt {
            Ok(known) => {
                districts.fill(known);
                tracing::info!("database ready: serving requests");
                return;
            }
            Err((reason, message)) => {
                districts.still_waiting(reason);
                tracing::warn!(retry_in_secs = wait.as_secs(), "{message}");
            }
        }
    }
}

/// The wait after `wait`: twice as long, at most [`RETRY_MAX`].
fn next_wait(wait: Duration) -> Duration {
    wait.saturating_mul(2).min(RETRY_MAX)
}

/// The token keys: the HS256 secret (which also signs download links) and, when configured, the
/// identity provider's keys, loaded once here. A JWKS URL that does not answer is logged and
/// tried again in the background (its tokens are refused until then); a JWKS file that cannot
/// be read stops the start.
///
/// # Errors
/// The secret is unusable, or the JWKS file cannot be read.
pub async fn token_keys(settings: &Settings) -> Result<JwtKeys, StartupError> {
    let tokens = settings.token_settings().map_err(StartupError::Settings)?;
    let mut keys = JwtKeys::hs256(&settings.signing_secret()?)
        .with_algorithms(&tokens.algorithms)
        .with_claim_names(tokens.claim_names);
    if let Some(idp) = tokens.identity_provider {
        let jwks = Jwks::start(idp.source, idp.refresh, idp.min_refresh)
            .await
            .map_err(StartupError::Settings)?;
        keys = keys.with_identity_provider(jwks, &idp.issuer, &idp.audience);
    }
    Ok(keys)
}

/// Checks the settings that need no I/O beyond the secret file.
fn check_settings(settings: &Settings) -> Result<(), StartupError> {
    if settings.default_page_size == 0 || settings.default_page_size > settings.max_page_size {
        return Err(StartupError::Settings(
            "the default page size must be between 1 and the maximum page size".into(),
        ));
    }
    if settings.max_nesting == 0 || settings.max_fields == 0 || settings.max_root_fields == 0 {
        return Err(StartupError::Settings(
            "HQ_MAX_NESTING, HQ_MAX_FIELDS and HQ_MAX_ROOT_FIELDS must be positive".into(),
        ));
    }
    if settings.ws_max_connections_per_actor == 0
        || settings.ws_max_subscriptions == 0
        || settings.ws_max_message_bytes == 0
        || settings.ws_event_buffer == 0
    {
        return Err(StartupError::Settings(
            "HQ_WS_MAX_CONNECTIONS_PER_ACTOR, HQ_WS_MAX_SUBSCRIPTIONS, HQ_WS_MAX_MESSAGE_BYTES and HQ_WS_EVENT_BUFFER must be positive".into(),
        ));
    }
    settings.token_settings().map_err(StartupError::Settings)?;
    settings.signing_secret()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_retry_wait_doubles_from_one_second_up_to_thirty() {
        let mut waits = vec![RETRY_FIRST];
        for _ in 0..7 {
            waits.push(next_wait(*waits.last().unwrap()));
        }
        let secs: Vec<u64> = waits.iter().map(Duration::as_secs).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 30, 30, 30]);
    }
}
