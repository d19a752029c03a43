//! `spawn_app()`: the real server on port 0 against a fresh database per test — a SQLite file in
//! a temporary directory, or, when `TEST_DATABASE_URL` names a PostgreSQL server, a fresh
//! database on it that is dropped afterwards.

use hq_api::auth::{AUDIENCE, Claims, ISSUER, JwtKeys, Role};
use hq_api::config::{Secret, Settings};
use hq_api::startup::Application;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

#[path = "../support/database.rs"]
mod database;

use database::fresh_database;
pub use database::{TestDatabase, random_suffix};

/// A running service and what a test needs to talk to it.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub address: String,
    /// HTTP client.
    pub client: reqwest::Client,
    /// Keys signing with the server's secret.
    pub keys: JwtKeys,
    /// The database URL the server uses (for direct checks).
    pub database_url: String,
    /// The server's signing secret.
    pub secret: String,
    /// `http://127.0.0.1:PORT` of the metrics listener, when the settings ask for one.
    pub metrics_address: Option<String>,
    _db: TestDatabase,
}

/// The settings a test server runs with, on `database_url`.
pub fn test_settings(database_url: &str, secret: &str) -> Settings {
    Settings {
        bind: "127.0.0.1:0".into(),
        database_url: database_url.into(),
        jwt_secret: Some(Secret::new(secret)),
        workers: Some(1),
        db_max_connections: 5,
        db_acquire_timeout_secs: 2,
        shutdown_timeout_secs: 1,
        log: "warn".into(),
        ..Settings::default()
    }
}

/// Starts the service on a fresh database.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the service on a fresh database with adjusted settings.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let (database_url, db) = fresh_database("hq_test").await;
    let secret = format!("test-secret-{}-{}", random_suffix(), random_suffix());
    let mut settings = test_settings(&database_url, &secret);
    adjust(&mut settings);
    let app = Application::build(settings).await.expect("the app builds");
    serve(app, database_url, secret, db)
}

/// Starts the service on a fresh database, counting every SQL statement its pool runs (through
/// sea-orm's metric callback, as the benchmark does).
pub async fn spawn_app_counting_statements() -> (TestApp, Arc<AtomicU64>) {
    let (database_url, db) = fresh_database("hq_test").await;
    let secret = format!("test-secret-{}-{}", random_suffix(), random_suffix());
    let settings = test_settings(&database_url, &secret);
    let mut pool = hq_api::db::connect(&settings)
        .await
        .expect("the pool opens");
    let statements = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&statements);
    hq_api::db::watch_statements(&mut pool, settings.db_slow_statement, move |info| {
        counter.fetch_add(1, Ordering::SeqCst);
        if std::env::var("SHOW_SQL").is_ok() {
            eprintln!(
                "SQL {}",
                &info.statement.sql[..info.statement.sql.len().min(120)]
            );
        }
    });
    let app = Application::build_on(settings, pool)
        .await
        .expect("the app builds");
    (serve(app, database_url, secret, db), statements)
}

fn serve(app: Application, database_url: String, secret: String, db: TestDatabase) -> TestApp {
    let address = format!("http://127.0.0.1:{}", app.port());
    let metrics_address = app
        .metrics_port()
        .map(|port| format!("http://127.0.0.1:{port}"));
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: reqwest::Client::new(),
        keys: JwtKeys::hs256(&Secret::new(secret.clone())),
        database_url,
        secret,
        metrics_address,
        _db: db,
    }
}

impl TestApp {
    /// Starts a second instance of the service on this app's database, with this app's secret
    /// (so its tokens are valid there too); its `http://127.0.0.1:PORT`. It runs until the test
    /// ends.
    pub async fn another_instance(&self) -> String {
        let settings = test_settings(&self.database_url, &self.secret);
        let app = Application::build(settings)
            .await
            .expect("the second instance builds");
        let address = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        address
    }
}

/// The result of one GraphQL call.
#[derive(Debug)]
pub struct Gql {
    /// HTTP status.
    pub status: u16,
    /// The JSON body.
    pub body: Value,
}

impl Gql {
    /// `data` of the response (panics with the body if there were errors).
    pub fn data(&self) -> &Value {
        assert!(
            self.body.get("errors").is_none(),
            "unexpected errors: {}",
            self.body
        );
        &self.body["data"]
    }

    /// The `extensions.code` of the first error, if any.
    pub fn error_code(&self) -> Option<&str> {
        self.body["errors"][0]["extensions"]["code"].as_str()
    }

    /// The first error's `extensions`.
    pub fn error_extensions(&self) -> &Value {
        &self.body["errors"][0]["extensions"]
    }
}

impl TestApp {
    /// A valid token for `role` (and `district` for DISTRICT).
    pub fn token(&self, role: Role, district: Option<&str>) -> String {
        let sub = format!("test:{}", role.as_str().to_lowercase());
        self.keys
            .mint(&sub, role, district, chrono::Duration::hours(1))
            .expect("mint")
    }

    /// A token for `role`, with the district 330106 for DISTRICT.
    pub fn token_for(&self, role: Role) -> String {
        let district = (role == Role::District).then_some("330106");
        self.token(role, district)
    }

    /// Signs arbitrary claims with the server's secret.
    pub fn sign(&self, claims: &Claims) -> String {
        self.keys.sign(claims).expect("sign")
    }

    /// Claims of a valid VIEWER token, to be altered by a test.
    pub fn viewer_claims(&self) -> Claims {
        let now = chrono::Utc::now().timestamp();
        Claims {
            sub: "test:viewer".into(),
            role: "VIEWER".into(),
            district: None,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            exp: now + 600,
            nbf: None,
            iat: Some(now),
        }
    }

    /// Posts a GraphQL operation with an optional bearer token.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Gql {
        let mut request = self
            .client
            .post(format!("{}/graphql", self.address))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status().as_u16();
        let body = response.json().await.expect("JSON body");
        Gql { status, body }
    }

    /// Posts a GraphQL operation as `role` (district 330106 for DISTRICT).
    pub async fn gql_as(&self, role: Role, query: &str, variables: Value) -> Gql {
        let token = self.token_for(role);
        self.gql(Some(&token), query, variables).await
    }

    /// Every node of a connection, read forwards page after page (500 at a time): `call` is
    /// the root field with its own arguments but no parentheses for paging, e.g.
    /// `starRewards(year: 2024` (closed here with `, first: …, after: …)`), `selection` the
    /// node's fields.
    pub async fn all_nodes(
        &self,
        token: Option<&str>,
        call: &str,
        selection: &str,
        variables: Value,
    ) -> Vec<Value> {
        let field = call.split('(').next().expect("a field").trim().to_string();
        let sep = if call.trim_end().ends_with('(') {
            ""
        } else {
            ", "
        };
        let query = format!(
            "query($after: String) {{ {call}{sep}first: 500, after: $after) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ {selection} }} }} }}"
        );
        let mut nodes = Vec::new();
        let mut after = Value::Null;
        loop {
            let mut vars = variables.clone();
            vars["after"] = after.clone();
            let res = self.gql(token, &query, vars).await;
            let page = &res.data()[field.as_str()];
            nodes.extend(page["nodes"].as_array().expect("nodes").iter().cloned());
            if page["pageInfo"]["hasNextPage"] != Value::Bool(true) {
                return nodes;
            }
            after = page["pageInfo"]["endCursor"].clone();
        }
    }

    /// GET a path.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("request sent")
    }
}

/// Registers a private enterprise of industry 7211 in `district` as of 2020-01-01 (HQ_OFFICE).
pub async fn register_enterprise(app: &TestApp, code: &str, name: &str, district: &str) {
    let query = "mutation($i: RegisterEnterpriseInput!) { registerEnterprise(input: $i) { enterprise { creditCode } } }";
    let input = json!({
        "creditCode": code, "name": name, "districtCode": district, "registeredOn": "2020-01-01",
        "industryCode": "7211", "ownership": "PRIVATE",
    });
    app.gql_as(Role::HqOffice, query, json!({ "i": input }))
        .await
        .data();
}

/// A port free on 127.0.0.1 at the time of asking (for a server started as a separate process).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether the service at `base` answers `/readyz` with success within 15 seconds.
pub async fn becomes_ready(client: &reqwest::Client, base: &str) -> bool {
    for _ in 0..300 {
        if let Ok(r) = client.get(format!("{base}/readyz")).send().await
            && r.status().is_success()
        {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    false
}
