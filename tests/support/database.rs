//! A fresh database for one test: a SQLite file in a temporary directory or, when
//! `TEST_DATABASE_URL` names a PostgreSQL server, a database of its own on that server, dropped
//! when the guard is dropped. Shared by the service's API tests (`tests/api/helpers.rs`) and the
//! benchmark's smoke test (`bench/tests/smoke.rs`), which include this file by path.

use rand::Rng;
use sea_orm::ConnectionTrait;

/// A database of one test, removed when dropped.
pub enum TestDatabase {
    /// The temporary directory holding the SQLite file.
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    /// A database on a PostgreSQL server, dropped through `admin_url`.
    Postgres {
        /// The URL the database was created through.
        admin_url: String,
        /// The database's name.
        name: String,
    },
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let TestDatabase::Postgres { admin_url, name } = self {
            let admin_url = admin_url.clone();
            let name = name.clone();
            // Drop runs inside the test's runtime: do the async cleanup on a thread of its own.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("cleanup runtime");
                runtime.block_on(async move {
                    if let Ok(admin) = sea_orm::Database::connect(&admin_url).await {
                        let _ = admin
                            .execute_unprepared(&format!(
                                "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                            ))
                            .await;
                        let _ = admin.close().await;
                    }
                });
            })
            .join();
        }
    }
}

/// Twelve random lower-case letters.
pub fn random_suffix() -> String {
    let mut rng = rand::thread_rng();
    (0..12)
        .map(|_| char::from(b'a' + rng.gen_range(0..26u8)))
        .collect()
}

/// A fresh database and its URL; `prefix` starts a PostgreSQL database's name and names the
/// SQLite file.
pub async fn fresh_database(prefix: &str) -> (String, TestDatabase) {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => {
            let name = format!("{prefix}_{}", random_suffix());
            let admin = sea_orm::Database::connect(&url)
                .await
                .expect("TEST_DATABASE_URL must be reachable");
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .expect("create test database");
            admin.close().await.expect("close admin connection");
            (
                hq_api::db::with_database(&url, &name),
                TestDatabase::Postgres {
                    admin_url: url,
                    name,
                },
            )
        }
        _ => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!(
                "sqlite://{}",
                dir.path().join(format!("{prefix}.db")).display()
            );
            (url, TestDatabase::Sqlite(dir))
        }
    }
}
