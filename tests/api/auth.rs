use hq_api::auth::{Claims, Role};
use serde_json::json;

use crate::helpers::{TestApp, spawn_app};

const ME: &str = "{ me { sub role district { code } } }";

async fn assert_unauthenticated(app: &TestApp, token: &str, case: &str) {
    let res = app.gql(Some(token), ME, json!({})).await;
    assert_eq!(res.status, 401, "{case}: {}", res.body);
    assert_eq!(res.error_code(), Some("UNAUTHENTICATED"), "{case}");
    assert!(res.body["data"].is_null(), "{case}");
}

#[tokio::test]
async fn me_shows_the_actor_of_a_valid_token() {
    let app = spawn_app().await;
    let token = app.token(Role::District, Some("330108"));
    let res = app.gql(Some(&token), ME, json!({})).await;
    assert_eq!(res.data()["me"]["role"], "DISTRICT");
    assert_eq!(res.data()["me"]["district"]["code"], "330108");
}

#[tokio::test]
async fn me_is_null_for_an_anonymous_caller() {
    let app = spawn_app().await;
    let res = app.gql(None, ME, json!({})).await;
    assert!(res.data()["me"].is_null());
}

#[tokio::test]
async fn every_bad_token_is_unauthenticated() {
    let app = spawn_app().await;
    let now = chrono::Utc::now().timestamp();
    let cases: Vec<(&str, Claims)> = vec![
        (
            "expired 30 s ago",
            Claims {
                exp: now - 30,
                ..app.viewer_claims()
            },
        ),
        (
            "not yet valid",
            Claims {
                nbf: Some(now + 300),
                ..app.viewer_claims()
            },
        ),
        (
            "wrong issuer",
            Claims {
                iss: "someone-else".into(),
                ..app.viewer_claims()
            },
        ),
        (
            "wrong audience",
            Claims {
                aud: "someone-else".into(),
                ..app.viewer_claims()
            },
        ),
        (
            "unknown role",
            Claims {
                role: "ROOT".into(),
                ..app.viewer_claims()
            },
        ),
        (
            "district token without district",
            Claims {
                role: "DISTRICT".into(),
                ..app.viewer_claims()
            },
        ),
        (
            "district token with an unknown district",
            Claims {
                role: "DISTRICT".into(),
                district: Some("330103".into()),
                ..app.viewer_claims()
            },
        ),
        (
            "district on a non-district role",
            Claims {
                district: Some("330106".into()),
                ..app.viewer_claims()
            },
        ),
    ];
    for (case, claims) in cases {
        assert_unauthenticated(&app, &app.sign(&claims), case).await;
    }
}

#[tokio::test]
async fn a_token_signed_with_another_secret_is_unauthenticated() {
    let app = spawn_app().await;
    let other = hq_api::auth::JwtKeys::hs256(&hq_api::config::Secret::new(
        "a-completely-different-secret-of-40-bytes",
    ));
    let token = other.sign(&app.viewer_claims()).unwrap();
    assert_unauthenticated(&app, &token, "wrong signature").await;
}

#[tokio::test]
async fn an_alg_none_token_is_unauthenticated() {
    let app = spawn_app().await;
    // {"alg":"none","typ":"JWT"} . {"sub":"x","role":"HQ_OFFICE",...} . (no signature)
    let header = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0";
    let claims = serde_json::to_vec(&Claims {
        role: "HQ_OFFICE".into(),
        ..app.viewer_claims()
    })
    .unwrap();
    let payload = base64url(&claims);
    assert_unauthenticated(&app, &format!("{header}.{payload}."), "alg none").await;
}

#[tokio::test]
async fn a_token_missing_a_required_claim_is_unauthenticated() {
    let app = spawn_app().await;
    // Sign a payload without `aud` with the server's own key.
    let mut value = serde_json::to_value(app.viewer_claims()).unwrap();
    value.as_object_mut().unwrap().remove("aud");
    let token = jsonwebtoken_sign(&app, &value);
    assert_unauthenticated(&app, &token, "missing aud").await;
}

#[tokio::test]
async fn a_non_bearer_authorization_header_is_unauthenticated() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("Authorization", "Basic dXNlcjpwYXNz")
        .json(&json!({ "query": ME }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
}

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// Signs a raw JSON payload with HS256 and the server's secret (bypassing the typed claims).
fn jsonwebtoken_sign(app: &TestApp, payload: &serde_json::Value) -> String {
    let key = jsonwebtoken::EncodingKey::from_secret(app.secret.as_bytes());
    jsonwebtoken::encode(&jsonwebtoken::Header::default(), payload, &key).unwrap()
}
