//! `Idempotency-Key`: a retried mutation is answered from the first answer and writes nothing
//! again; the same key with another request is a conflict.

use hq_api::auth::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, register_enterprise, spawn_app};

const CODE: &str = "91330100716105852F";
const RENAME: &str = "mutation($i: RecordEnterpriseEventInput!) { recordEnterpriseEvent(input: $i) { event { databaseId } } }";

async fn send(app: &TestApp, key: Option<&str>, name: &str) -> (u16, Option<String>, Value) {
    let token = app.token_for(Role::HqOffice);
    let mut request = app
        .client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(token)
        .json(&json!({ "query": RENAME, "variables": { "i": {
            "creditCode": CODE, "kind": "RENAMED", "effectiveDate": "2024-01-01",
            "changes": { "name": name } } } }));
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let replayed = response
        .headers()
        .get("Idempotent-Replayed")
        .map(|v| v.to_str().unwrap().to_string());
    (status, replayed, response.json().await.unwrap())
}

async fn events(app: &TestApp) -> usize {
    let res = app
        .gql_as(
            Role::HqOffice,
            "{ enterprise(creditCode: \"91330100716105852F\") { events { nodes { kind } } } }",
            json!({}),
        )
        .await;
    res.data()["enterprise"]["events"]["nodes"]
        .as_array()
        .unwrap()
        .len()
}

#[tokio::test]
async fn a_retried_mutation_with_the_same_key_is_answered_once_and_written_once() {
    let app = spawn_app().await;
    register_enterprise(&app, CODE, "杭州幂等测试有限公司", "330106").await;
    assert_eq!(events(&app).await, 1);

    let (status, replayed, first) = send(&app, Some("rename-1"), "杭州新名有限公司").await;
    assert_eq!(status, 200);
    assert!(first.get("errors").is_none(), "{first}");
    assert_eq!(replayed, None);
    let (_, replayed, second) = send(&app, Some("rename-1"), "杭州新名有限公司").await;
    assert_eq!(replayed.as_deref(), Some("true"));
    assert_eq!(first, second, "the retry gets the first answer");
    assert_eq!(events(&app).await, 2, "the retry wrote nothing");

    let (status, _, body) = send(&app, Some("rename-1"), "杭州别名有限公司").await;
    assert_eq!(status, 409);
    assert_eq!(body["errors"][0]["extensions"]["code"], "CONFLICT");
    assert_eq!(events(&app).await, 2);

    // Without a key, the same mutation twice writes twice.
    send(&app, None, "杭州新名有限公司").await;
    send(&app, None, "杭州新名有限公司").await;
    assert_eq!(events(&app).await, 4);

    let (status, _, _) = send(&app, Some(""), "x").await;
    assert_eq!(status, 400);
}
