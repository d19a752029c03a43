//! Building and running the HTTP server.

use std::net::TcpListener;
use std::time::Duration;

use actix_web::{App, HttpServer, web};
use sea_orm::DatabaseConnection;

use crate::auth::JwtKeys;
use crate::config::Settings;
use crate::db;
use crate::error::AppError;
use crate::graphql::guard::DocumentLimits;
use crate::graphql::{self, ApiState, SchemaLimits, pagination::PageLimits};
use crate::http::{self, HttpState};
use crate::services;

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The signing secret is missing or unusable.
    #[error(transparent)]
    Secret(#[from] crate::config::SecretError),
    /// The database could not be reached, migrated or seeded.
    #[error("database: {0:?}")]
    Database(AppError),
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

/// A built, bound, not yet running service.
pub struct Application {
    port: u16,
    server: actix_web::dev::Server,
}

impl Application {
    /// Connects, migrates and seeds (if configured), binds the address and builds the server.
    ///
    /// # Errors
    /// See [`StartupError`].
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        check_settings(&settings)?;
        let db = db::connect(&settings)
            .await
            .map_err(StartupError::Database)?;
        Self::build_on(settings, db).await
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
        let keys = check_settings(&settings)?;
        if settings.migrate {
            db::migrate_and_seed(&db)
                .await
                .map_err(StartupError::Database)?;
        }
        let districts = services::districts::list(&db)
            .await
            .map_err(StartupError::Database)?
            .into_iter()
            .map(|d| d.code)
            .collect();
        let api = ApiState {
            db,
            pages: PageLimits {
                default_size: settings.default_page_size,
                max_size: settings.max_page_size,
            },
            districts,
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
        let max_body = settings.max_body_bytes;
        let data = web::Data::new(state);
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(max_body))
                .wrap(actix_web::middleware::from_fn(http::cors))
                .wrap(actix_web::middleware::Logger::new("%r %s %Dms").log_target("hq_api::http"))
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
        Ok(Application { port, server })
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
        self.server.await
    }
}

/// Checks the settings that need no I/O; returns the token keys.
fn check_settings(settings: &Settings) -> Result<JwtKeys, StartupError> {
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
    Ok(JwtKeys::hs256(&settings.signing_secret()?))
}
