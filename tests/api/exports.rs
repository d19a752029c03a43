//! Settlement exports: bearer-authorised, a district's token gets its own district only.

use hq_api::auth::Role;
use serde_json::json;

use crate::helpers::{TestApp, spawn_app};

async fn download(app: &TestApp, token: Option<&str>, path: &str) -> (u16, Vec<u8>) {
    let mut request = app.client.get(format!("{}{path}", app.address));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.bytes().await.unwrap().to_vec())
}

fn csv_rows(bytes: &[u8]) -> Vec<Vec<String>> {
    let text = std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

#[tokio::test]
async fn an_export_before_the_first_draft_is_not_found() {
    let app = spawn_app().await;
    let token = app.token_for(Role::CityFinance);
    let (status, _) = download(&app, Some(&token), "/exports/settlements/2024.csv").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn exports_need_a_token_and_a_role_that_sees_settlement_figures() {
    let app = spawn_app().await;
    app.gql_as(
        Role::CityFinance,
        "mutation { draftSettlement(fiscalYear: 2024) { status } }",
        json!({}),
    )
    .await
    .data();
    let (status, _) = download(&app, None, "/exports/settlements/2024.csv").await;
    assert_eq!(status, 401);
    let viewer = app.token_for(Role::Viewer);
    let (status, _) = download(&app, Some(&viewer), "/exports/settlements/2024.xlsx").await;
    assert_eq!(status, 403);
    let auditor = app.token_for(Role::Auditor);
    let (status, _) = download(&app, Some(&auditor), "/exports/settlements/2024.pdf").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_district_token_exports_its_own_district_only() {
    let app = spawn_app().await;
    app.gql_as(
        Role::CityFinance,
        "mutation { draftSettlement(fiscalYear: 2024) { status } }",
        json!({}),
    )
    .await
    .data();

    let finance = app.token_for(Role::CityFinance);
    let (status, body) = download(&app, Some(&finance), "/exports/settlements/2024.csv").await;
    assert_eq!(status, 200);
    assert!(body.starts_with(b"\xEF\xBB\xBF"), "a byte-order mark");
    let text = std::str::from_utf8(&body).unwrap();
    assert_eq!(text.matches("\r\n").count(), 15, "CRLF line ends");
    assert_eq!(text.matches('\n').count(), 15, "no bare LF");
    let rows = csv_rows(&body);
    assert_eq!(rows.len(), 14, "13 districts and the city total");
    assert_eq!(rows[13][2], "TOTAL");
    assert!(rows.iter().all(|r| r[4] == "NO_LINES" || r[2] == "TOTAL"));

    let district = app.token(Role::District, Some("330108"));
    let (status, body) = download(&app, Some(&district), "/exports/settlements/2024.csv").await;
    assert_eq!(status, 200);
    let rows = csv_rows(&body);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][2], "330108");

    let (status, body) = download(&app, Some(&district), "/exports/settlements/2024.xlsx").await;
    assert_eq!(status, 200);
    assert!(body.starts_with(b"PK"), "an XLSX workbook is a ZIP file");
    let (status, body) =
        download(&app, Some(&district), "/exports/settlements/2024/lines.csv").await;
    assert_eq!(status, 200);
    assert!(csv_rows(&body).is_empty());
}

#[tokio::test]
async fn a_malformed_year_in_a_path_gets_a_coded_json_error() {
    let app = spawn_app().await;
    let token = app.token_for(Role::CityFinance);
    let (status, body) = download(&app, Some(&token), "/exports/settlements/abc/lines.csv").await;
    assert_eq!(status, 400);
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
}

const LINK: &str = "mutation($f: SettlementFile!) {
  settlementDownloadLink(fiscalYear: 2024, file: $f) { url expiresAt } }";

/// Asks for a link as `token`'s actor and answers its URL.
async fn link(app: &TestApp, token: &str, file: &str) -> String {
    let res = app.gql(Some(token), LINK, json!({ "f": file })).await;
    let link = &res.data()["settlementDownloadLink"];
    let expires: chrono::DateTime<chrono::Utc> =
        link["expiresAt"].as_str().unwrap().parse().unwrap();
    let left = expires - chrono::Utc::now();
    assert!(
        left <= chrono::Duration::seconds(300) && left > chrono::Duration::seconds(200),
        "valid five minutes: {left}"
    );
    link["url"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_download_link_opens_one_file_without_headers_for_its_actor_only() {
    let app = spawn_app().await;
    app.gql_as(
        Role::CityFinance,
        "mutation { draftSettlement(fiscalYear: 2024) { status } }",
        json!({}),
    )
    .await
    .data();

    // Finance's link to the workbook opens with no Authorization header.
    let finance = app.token_for(Role::CityFinance);
    let url = link(&app, &finance, "WORKBOOK").await;
    assert!(url.starts_with("/downloads/"), "{url}");
    let (status, body) = download(&app, None, &url).await;
    assert_eq!(status, 200);
    assert!(body.starts_with(b"PK"));

    // A district's link gives its own district only, as its token would.
    let district = app.token(Role::District, Some("330108"));
    let url = link(&app, &district, "SUMMARY_CSV").await;
    let (status, body) = download(&app, None, &url).await;
    assert_eq!(status, 200);
    let rows = csv_rows(&body);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][2], "330108");

    // A viewer gets no link; a tampered link, a bearer token as a link and a link as a bearer
    // token are refused.
    let viewer = app.token_for(Role::Viewer);
    let res = app
        .gql(Some(&viewer), LINK, json!({ "f": "WORKBOOK" }))
        .await;
    assert_eq!(res.error_code(), Some("FORBIDDEN"));
    let mut tampered = url.clone().into_bytes();
    let at = tampered.len() - 3;
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    let (status, _) = download(&app, None, &String::from_utf8(tampered).unwrap()).await;
    assert_eq!(status, 401);
    let (status, _) = download(&app, None, &format!("/downloads/{finance}")).await;
    assert_eq!(status, 401);
    let link_token = url.trim_start_matches("/downloads/");
    let (status, _) = download(&app, Some(link_token), "/exports/settlements/2024.csv").await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn an_expired_or_overlong_download_link_is_refused() {
    use jsonwebtoken::{EncodingKey, Header, encode};
    let app = spawn_app().await;
    app.gql_as(
        Role::CityFinance,
        "mutation { draftSettlement(fiscalYear: 2024) { status } }",
        json!({}),
    )
    .await
    .data();
    let now = chrono::Utc::now().timestamp();
    let sign = |iat: i64, exp: i64| {
        let claims = json!({
            "sub": "finance", "role": "CITY_FINANCE", "iss": "hq-api", "aud": "hq-api-download",
            "iat": iat, "exp": exp, "file": "settlements/2024.csv",
        });
        encode(
            &Header::default(),
            &claims,
            &EncodingKey::from_secret(app.secret.as_bytes()),
        )
        .unwrap()
    };
    let (status, _) = download(&app, None, &format!("/downloads/{}", sign(now, now + 300))).await;
    assert_eq!(status, 200, "a link as the service signs it");
    let (status, _) = download(
        &app,
        None,
        &format!("/downloads/{}", sign(now - 400, now - 100)),
    )
    .await;
    assert_eq!(status, 401, "expired");
    let (status, _) = download(&app, None, &format!("/downloads/{}", sign(now, now + 3600))).await;
    assert_eq!(status, 401, "valid longer than five minutes");
}
