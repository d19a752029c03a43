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
