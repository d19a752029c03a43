//! Persisted operations: automatic persisted queries (Apollo's `persistedQuery` extension over
//! POST and GET) and the trusted-documents mode.

use hq_api::auth::Role;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{Gql, TestApp, spawn_app, spawn_app_with};

const DISTRICTS: &str = "query Districts { districts { code } }";

fn sha256(text: &str) -> String {
    format!("{:x}", Sha256::digest(text.as_bytes()))
}

fn extension(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

/// POST with the hash, and with the text if given.
async fn post(app: &TestApp, token: Option<&str>, query: Option<&str>, hash: &str) -> Gql {
    let mut body = json!({ "extensions": extension(hash), "variables": {} });
    if let Some(query) = query {
        body["query"] = json!(query);
    }
    let mut request = app
        .client
        .post(format!("{}/graphql", app.address))
        .json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    Gql {
        status: response.status().as_u16(),
        body: response.json().await.unwrap(),
    }
}

/// GET as Apollo Client and urql send it: `extensions` (and `query`, `variables`) in the URL.
async fn get(app: &TestApp, token: &str, query: Option<&str>, hash: &str, variables: Value) -> Gql {
    let mut params = vec![
        ("extensions", extension(hash).to_string()),
        ("variables", variables.to_string()),
    ];
    if let Some(query) = query {
        params.push(("query", query.to_string()));
    }
    let response = app
        .client
        .get(format!("{}/graphql", app.address))
        .query(&params)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = response.json().await.unwrap();
    Gql { status, body }
}

fn assert_not_found(res: &Gql) {
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.body["errors"][0]["message"], "PersistedQueryNotFound");
    assert_eq!(res.error_code(), Some("PERSISTED_QUERY_NOT_FOUND"));
    assert!(res.body.get("data").is_none_or(Value::is_null));
}

#[tokio::test]
async fn a_hash_is_unknown_until_sent_with_its_text_then_runs_alone_over_post() {
    let app = spawn_app().await;
    let token = app.token_for(Role::Viewer);
    let hash = sha256(DISTRICTS);

    assert_not_found(&post(&app, Some(&token), None, &hash).await);

    let registered = post(&app, Some(&token), Some(DISTRICTS), &hash).await;
    assert_eq!(registered.data()["districts"].as_array().unwrap().len(), 13);

    let by_hash = post(&app, Some(&token), None, &hash).await;
    assert_eq!(by_hash.status, 200);
    assert_eq!(by_hash.data()["districts"].as_array().unwrap().len(), 13);
    // Upper-case hex names the same document.
    let upper = post(&app, Some(&token), None, &hash.to_uppercase()).await;
    assert_eq!(upper.data()["districts"].as_array().unwrap().len(), 13);
}

#[tokio::test]
async fn persisted_queries_work_over_get_with_variables_and_a_mutation_is_refused() {
    let app = spawn_app().await;
    let token = app.token_for(Role::Viewer);
    let query = "query One($code: String!) { district(code: $code) { code } }";
    let hash = sha256(query);
    let variables = json!({ "code": "330106" });

    assert_not_found(&get(&app, &token, None, &hash, variables.clone()).await);
    let registered = get(&app, &token, Some(query), &hash, variables.clone()).await;
    assert_eq!(
        registered.data()["district"]["code"],
        "330106",
        "{}",
        registered.body
    );
    let by_hash = get(&app, &token, None, &hash, json!({ "code": "330105" })).await;
    assert_eq!(by_hash.data()["district"]["code"], "330105");

    // A mutation never runs over GET, named by hash or sent in full.
    let finance = app.token_for(Role::CityFinance);
    let mutation = "mutation { draftSettlement(fiscalYear: 2024) { status } }";
    let refused = get(&app, &finance, Some(mutation), &sha256(mutation), json!({})).await;
    assert_eq!(refused.status, 405, "{}", refused.body);
    let drafted = app
        .gql(
            Some(&finance),
            "{ settlement(fiscalYear: 2024) { status } }",
            json!({}),
        )
        .await;
    assert!(
        drafted.data()["settlement"].is_null(),
        "nothing was drafted"
    );
}

#[tokio::test]
async fn a_hash_that_is_not_the_sha256_of_the_text_is_refused_and_not_remembered() {
    let app = spawn_app().await;
    let token = app.token_for(Role::Viewer);
    let other = sha256("{ __typename }");
    let res = post(&app, Some(&token), Some(DISTRICTS), &other).await;
    assert_eq!(res.status, 400);
    assert_eq!(res.error_code(), Some("BAD_USER_INPUT"));
    assert_eq!(
        res.error_extensions()["field"],
        "extensions.persistedQuery.sha256Hash"
    );
    assert_not_found(&post(&app, Some(&token), None, &other).await);

    let bad_version = app
        .client
        .post(format!("{}/graphql", app.address))
        .json(&json!({ "extensions": { "persistedQuery": { "version": 2, "sha256Hash": other } } }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_version.status().as_u16(), 400);
    let body: Value = bad_version.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["field"],
        "extensions.persistedQuery.version"
    );
}

#[tokio::test]
async fn a_persisted_document_passes_the_same_guard_as_its_text() {
    let app = spawn_app_with(|s| s.max_root_fields = 2).await;
    let token = app.token_for(Role::Viewer);
    let wide = "{ a: districts { code } b: districts { code } c: districts { code } }";
    let refused = post(&app, Some(&token), Some(wide), &sha256(wide)).await;
    assert_eq!(refused.status, 400);
    assert_eq!(refused.error_code(), Some("BAD_USER_INPUT"));
    // Refused by the guard, so never remembered: the hash alone cannot smuggle it in.
    assert_not_found(&post(&app, Some(&token), None, &sha256(wide)).await);
}

#[tokio::test]
async fn a_persisted_mutation_retried_by_hash_replays_its_idempotent_answer() {
    let app = spawn_app().await;
    let token = app.token_for(Role::CityFinance);
    let mutation = "mutation { draftSettlement(fiscalYear: 2024) { status } }";
    let hash = sha256(mutation);
    let send = |query: Option<&'static str>| {
        let mut body = json!({ "extensions": extension(&hash) });
        if let Some(query) = query {
            body["query"] = json!(query);
        }
        app.client
            .post(format!("{}/graphql", app.address))
            .bearer_auth(&token)
            .header("Idempotency-Key", "apq-retry-1")
            .json(&body)
            .send()
    };
    let first = send(Some(mutation)).await.unwrap();
    assert_eq!(first.status().as_u16(), 200);
    assert!(first.headers().get("Idempotent-Replayed").is_none());
    let first: Value = first.json().await.unwrap();
    assert!(first.get("errors").is_none(), "{first}");

    let retry = send(None).await.unwrap();
    assert_eq!(
        retry
            .headers()
            .get("Idempotent-Replayed")
            .map(|v| v.to_str().unwrap()),
        Some("true")
    );
    let retry: Value = retry.json().await.unwrap();
    assert_eq!(retry, first);
}

#[tokio::test]
async fn with_the_cache_size_zero_a_hash_alone_is_not_supported() {
    let app = spawn_app_with(|s| s.apq_cache_size = 0).await;
    let token = app.token_for(Role::Viewer);
    let res = post(&app, Some(&token), None, &sha256(DISTRICTS)).await;
    assert_eq!(res.status, 200);
    assert_eq!(
        res.body["errors"][0]["message"],
        "PersistedQueryNotSupported"
    );
    assert_eq!(res.error_code(), Some("PERSISTED_QUERY_NOT_SUPPORTED"));
    let plain = app.gql(Some(&token), DISTRICTS, json!({})).await;
    assert_eq!(plain.data()["districts"].as_array().unwrap().len(), 13);
}

#[tokio::test]
async fn in_trusted_documents_mode_only_the_manifests_operations_run() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("persisted-documents.json");
    let one = "query One($code: String!) { district(code: $code) { code } }";
    std::fs::write(
        &manifest,
        json!({ sha256(DISTRICTS): DISTRICTS, sha256(one): one }).to_string(),
    )
    .unwrap();
    let path = manifest.clone();
    let app = spawn_app_with(move |s| s.trusted_documents = Some(path)).await;
    let token = app.token_for(Role::Viewer);

    // Listed: by hash (POST and GET) or as the exact text.
    let by_hash = post(&app, Some(&token), None, &sha256(DISTRICTS)).await;
    assert_eq!(by_hash.data()["districts"].as_array().unwrap().len(), 13);
    let over_get = get(
        &app,
        &token,
        None,
        &sha256(one),
        json!({ "code": "330106" }),
    )
    .await;
    assert_eq!(over_get.data()["district"]["code"], "330106");
    let as_text = app.gql(Some(&token), DISTRICTS, json!({})).await;
    assert_eq!(as_text.data()["districts"].as_array().unwrap().len(), 13);

    // Not listed: refused, whether sent as text, with its true hash, or as an unknown hash;
    // and nothing is learnt.
    let other = "{ districts { code name } }";
    let as_text = app.gql(Some(&token), other, json!({})).await;
    assert_eq!(as_text.status, 400);
    assert_eq!(as_text.error_code(), Some("OPERATION_NOT_TRUSTED"));
    let with_hash = post(&app, Some(&token), Some(other), &sha256(other)).await;
    assert_eq!(with_hash.error_code(), Some("OPERATION_NOT_TRUSTED"));
    let by_hash = post(&app, Some(&token), None, &sha256(other)).await;
    assert_eq!(by_hash.error_code(), Some("OPERATION_NOT_TRUSTED"));
    // Access rules still apply to a trusted document.
    let anonymous = post(&app, None, None, &sha256(DISTRICTS)).await;
    assert!(anonymous.body.get("errors").is_some(), "{}", anonymous.body);
}

#[tokio::test]
async fn a_manifest_whose_hashes_are_not_sha256_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("persisted-documents.json");
    // graphql-codegen's default hash is SHA-1: 40 hex digits.
    std::fs::write(
        &manifest,
        json!({ "0123456789abcdef0123456789abcdef01234567": DISTRICTS }).to_string(),
    )
    .unwrap();
    let database = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", database.path().join("hq.db").display());
    let mut settings = crate::helpers::test_settings(&url, &"s".repeat(40));
    settings.trusted_documents = Some(manifest);
    let err = hq_api::startup::Application::build(settings)
        .await
        .err()
        .expect("the start is refused")
        .to_string();
    assert!(err.contains("hashAlgorithm: 'sha256'"), "{err}");
}
