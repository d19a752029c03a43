//! With the database unreachable, requests get a clean `SERVICE_UNAVAILABLE` and `/readyz` is
//! 503; when it returns, the service recovers without a restart. PostgreSQL only: the test
//! closes the test database to connections and terminates the pool's sessions.

use hq_api::auth::Role;
use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn a_database_outage_is_service_unavailable_and_the_service_recovers() {
    let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
        eprintln!("skipped: needs TEST_DATABASE_URL (PostgreSQL)");
        return;
    };
    let app = spawn_app().await;
    let name = app
        .database_url
        .rsplit('/')
        .next()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let query = "{ districts { code } }";
    app.gql_as(Role::Viewer, query, json!({})).await.data();

    let admin = sea_orm::Database::connect(&admin_url).await.unwrap();
    admin
        .execute_unprepared(&format!(
            "ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS false"
        ))
        .await
        .unwrap();
    admin
        .execute_unprepared(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        ))
        .await
        .unwrap();

    let res = app.gql_as(Role::Viewer, query, json!({})).await;
    assert_eq!(
        res.error_code(),
        Some("SERVICE_UNAVAILABLE"),
        "{}",
        res.body
    );
    let text = res.body.to_string();
    assert!(
        !text.contains(&name) && !text.contains("pg_"),
        "no database detail leaks: {text}"
    );
    assert_eq!(app.get("/readyz").await.status().as_u16(), 503);

    admin
        .execute_unprepared(&format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS true"))
        .await
        .unwrap();
    admin.close().await.unwrap();
    assert_eq!(app.get("/readyz").await.status().as_u16(), 200);
    app.gql_as(Role::Viewer, query, json!({})).await.data();
}
