//! CORS: only the origins of `HQ_CORS_ORIGINS` get CORS headers; none by default.

use hq_api::auth::Role;
use reqwest::Method;
use serde_json::json;

use crate::helpers::{TestApp, spawn_app, spawn_app_with};

const ALLOWED: &str = "http://app.localhost:5173";

async fn cors_app() -> TestApp {
    spawn_app_with(|s| {
        s.cors_origins = format!("https://hq.example.gov.cn, {ALLOWED}")
            .parse()
            .unwrap()
    })
    .await
}

async fn preflight(app: &TestApp, origin: &str, headers: &str) -> reqwest::Response {
    app.client
        .request(Method::OPTIONS, format!("{}/graphql", app.address))
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", headers)
        .send()
        .await
        .unwrap()
}

fn header<'r>(response: &'r reqwest::Response, name: &str) -> Option<&'r str> {
    response.headers().get(name).map(|v| v.to_str().unwrap())
}

#[tokio::test]
async fn a_preflight_from_an_allowed_origin_is_answered_with_the_api_headers() {
    let app = cors_app().await;
    let response = preflight(
        &app,
        ALLOWED,
        "authorization,content-type,idempotency-key,x-request-id",
    )
    .await;
    assert_eq!(response.status().as_u16(), 204);
    assert_eq!(
        header(&response, "access-control-allow-origin"),
        Some(ALLOWED)
    );
    assert_eq!(
        header(&response, "access-control-allow-methods"),
        Some("GET, POST")
    );
    let allowed: Vec<String> = header(&response, "access-control-allow-headers")
        .unwrap()
        .split(',')
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    for needed in [
        "authorization",
        "content-type",
        "idempotency-key",
        "x-request-id",
    ] {
        assert!(
            allowed.iter().any(|h| h == needed),
            "{needed} in {allowed:?}"
        );
    }
    assert_eq!(header(&response, "access-control-max-age"), Some("600"));
    assert!(
        header(&response, "access-control-allow-credentials").is_none(),
        "no credentials mode"
    );
    assert!(header(&response, "vary").unwrap().contains("Origin"));
}

#[tokio::test]
async fn a_preflight_from_another_origin_gets_no_cors_headers() {
    let app = cors_app().await;
    for origin in [
        "http://evil.localhost:5173",
        "http://app.localhost:5174",
        "https://app.localhost:5173",
        "null",
    ] {
        let response = preflight(&app, origin, "authorization,content-type").await;
        assert_ne!(response.status().as_u16(), 204, "{origin}");
        assert!(
            response
                .headers()
                .keys()
                .all(|name| !name.as_str().starts_with("access-control-")),
            "{origin}: {:?}",
            response.headers()
        );
    }
}

#[tokio::test]
async fn an_allowed_origin_reads_the_answer_and_another_origin_gets_no_cors_headers() {
    let app = cors_app().await;
    let token = app.token_for(Role::Viewer);
    let call = |origin: &'static str| {
        app.client
            .post(format!("{}/graphql", app.address))
            .header("Origin", origin)
            .bearer_auth(&token)
            .json(&json!({ "query": "{ districts { code } }" }))
            .send()
    };

    let allowed = call(ALLOWED).await.unwrap();
    assert_eq!(allowed.status().as_u16(), 200);
    assert_eq!(
        header(&allowed, "access-control-allow-origin"),
        Some(ALLOWED)
    );
    assert_eq!(
        header(&allowed, "access-control-expose-headers"),
        Some("Idempotent-Replayed")
    );
    assert!(header(&allowed, "access-control-allow-credentials").is_none());
    assert!(header(&allowed, "vary").unwrap().contains("Origin"));
    let body: serde_json::Value = allowed.json().await.unwrap();
    assert_eq!(body["data"]["districts"].as_array().unwrap().len(), 13);

    // The server still answers (CORS is the browser's to enforce), but names no origin.
    let other = call("http://evil.localhost:5173").await.unwrap();
    assert!(
        other
            .headers()
            .keys()
            .all(|name| !name.as_str().starts_with("access-control-")),
        "{:?}",
        other.headers()
    );
    assert!(header(&other, "vary").unwrap().contains("Origin"));

    // An error answer carries the header too, so the page can read the error's code.
    let refused = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("Origin", ALLOWED)
        .bearer_auth("not-a-token")
        .json(&json!({ "query": "{ districts { code } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 401);
    assert_eq!(
        header(&refused, "access-control-allow-origin"),
        Some(ALLOWED)
    );
}

#[tokio::test]
async fn by_default_no_origin_is_allowed() {
    let app = spawn_app().await;
    let response = preflight(&app, ALLOWED, "authorization,content-type").await;
    assert_eq!(response.status().as_u16(), 404);
    assert!(
        response
            .headers()
            .keys()
            .all(|name| !name.as_str().starts_with("access-control-"))
    );
    let post = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("Origin", ALLOWED)
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status().as_u16(), 200);
    assert!(header(&post, "access-control-allow-origin").is_none());
    assert!(header(&post, "vary").is_none());
}
