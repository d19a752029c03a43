use crate::helpers::spawn_app;

#[tokio::test]
async fn healthz_says_alive() {
    let app = spawn_app().await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status().as_u16(), 200);
}

#[tokio::test]
async fn readyz_is_200_when_the_database_answers() {
    let app = spawn_app().await;
    let response = app.get("/readyz").await;
    assert_eq!(response.status().as_u16(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ready");
}

#[tokio::test]
async fn graphiql_is_served_on_get_and_can_be_turned_off() {
    let app = spawn_app().await;
    let response = app.get("/graphql").await;
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.text().await.unwrap().contains("graphiql"));

    let app = crate::helpers::spawn_app_with(|s| s.graphiql = false).await;
    assert_eq!(app.get("/graphql").await.status().as_u16(), 404);
}

#[tokio::test]
async fn a_body_that_is_not_json_is_refused_with_415() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("Content-Type", "text/plain")
        .body(r#"{"query":"{ me { sub } }"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 415);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_with_413() {
    let app = crate::helpers::spawn_app_with(|s| s.max_body_bytes = 1024).await;
    let big = format!(
        r#"{{"query":"{{ me {{ sub }} }}","x":"{}"}}"#,
        "a".repeat(4096)
    );
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("Content-Type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 413);
}

#[tokio::test]
async fn a_batched_request_is_refused() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("Content-Type", "application/json")
        .body(r#"[{"query":"{ me { sub } }"},{"query":"{ me { sub } }"}]"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
}
