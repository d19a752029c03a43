//! A district never learns another district's confidential figures — also not through a
//! verdict's wording, a conflict message, a settlement's budget, or a replayed answer.

use hq_api::auth::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, register_enterprise, spawn_app};

const CODE_A: &str = "91330100716105852F";
const CODE_B: &str = "91110000600037341L";

async fn report(app: &TestApp, district: &str, lines: Value) -> crate::helpers::Gql {
    let token = app.token(Role::District, Some(district));
    app.gql(
        Some(&token),
        "mutation($d: String!, $l: [PaymentLineInput!]!) { reportPayments(districtCode: $d, fiscalYear: 2024, lines: $l) { created { id } unchanged { id } } }",
        json!({ "d": district, "l": lines }),
    )
    .await
}

async fn submit_and_reconcile(app: &TestApp, district: &str) -> crate::helpers::Gql {
    let token = app.token(Role::District, Some(district));
    app.gql(
        Some(&token),
        "mutation($d: String!) { submitClaim(districtCode: $d, fiscalYear: 2024) { status } }",
        json!({ "d": district }),
    )
    .await
    .data();
    app.gql_as(
        Role::CityFinance,
        "mutation($d: String!) { reconcileClaim(districtCode: $d, fiscalYear: 2024) { verdicts { eligible reasons { code detail } } } }",
        json!({ "d": district }),
    )
    .await
}

fn rent(voucher: &str, contract: &str) -> Value {
    json!({ "creditCode": CODE_A, "kind": "RENT", "subsidyYear": 2024, "contractNo": contract,
            "basis": "100000.00", "amount": "20000.00", "paymentDate": "2024-05-01",
            "voucherNo": voucher })
}

fn purchase(code: &str, voucher: &str, contract: &str, price: &str) -> Value {
    json!({ "creditCode": code, "kind": "PURCHASE", "subsidyYear": 2024, "contractNo": contract,
            "basis": price, "amount": "1000.00", "transactionDate": "2024-02-01",
            "paymentDate": "2024-05-01", "voucherNo": voucher })
}

#[tokio::test]
async fn a_verdict_names_another_districts_line_without_its_voucher_or_contract() {
    let app = spawn_app().await;
    register_enterprise(&app, CODE_A, "杭州保密测试有限公司", "330106").await;
    report(
        &app,
        "330106",
        json!([
            rent("SECRET-VOUCHER-106", "SECRET-CONTRACT-106"),
            purchase(CODE_A, "SECRET-P-106", "SECRET-PURCHASE-106", "5000000.00")
        ]),
    )
    .await
    .data();
    // 330108 reports the same rent payment (a duplicate, and the wrong district).
    report(
        &app,
        "330108",
        json!([rent("V-108", "SECRET-CONTRACT-106")]),
    )
    .await
    .data();
    let res = submit_and_reconcile(&app, "330108").await;
    let text = res.data()["reconcileClaim"].to_string();
    assert!(
        text.contains("DUPLICATE_PAYMENT") && text.contains("RENT_AND_PURCHASE"),
        "{text}"
    );

    let token = app.token(Role::District, Some("330108"));
    let res = app
        .gql(
            Some(&token),
            "{ paymentLines(districtCode: \"330108\", fiscalYear: 2024) { nodes { verdict { reasons { code detail } } } } }",
            json!({}),
        )
        .await;
    let text = res.data().to_string();
    // (The enterprise's registered district is registry data, readable by every role.)
    for secret in ["SECRET-VOUCHER-106", "SECRET-P-106", "SECRET-PURCHASE-106"] {
        assert!(!text.contains(secret), "{secret} leaked to 330108: {text}");
    }
    assert!(text.contains("another district"), "{text}");
}

#[tokio::test]
async fn a_purchase_conflict_with_another_district_does_not_show_its_price() {
    let app = spawn_app().await;
    register_enterprise(&app, CODE_A, "杭州保密测试有限公司", "330106").await;
    report(
        &app,
        "330106",
        json!([purchase(CODE_A, "P-1", "HT-1", "12345678.90")]),
    )
    .await
    .data();
    let res = report(
        &app,
        "330108",
        json!([purchase(CODE_A, "P-2", "HT-1", "2000.00")]),
    )
    .await;
    assert_eq!(res.error_code(), Some("CONFLICT"));
    let text = res.body.to_string();
    assert!(
        !text.contains("12,345,678.90") && !text.contains("2024-02-01"),
        "{text}"
    );
}

#[tokio::test]
async fn two_enterprises_whose_contracts_share_a_number_are_capped_separately() {
    let app = spawn_app().await;
    register_enterprise(&app, CODE_A, "杭州甲有限公司", "330106").await;
    register_enterprise(&app, CODE_B, "杭州乙有限公司", "330106").await;
    report(
        &app,
        "330106",
        json!([
            purchase(CODE_A, "P-A", "HT-001", "10000000.00"),
            purchase(CODE_B, "P-B", "HT-001", "20000000.00"),
        ]),
    )
    .await
    .data();
    let res = submit_and_reconcile(&app, "330106").await;
    assert_eq!(res.body["errors"], Value::Null, "{}", res.body);
    let verdicts = res.data()["reconcileClaim"]["verdicts"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(verdicts.len(), 2);
}

#[tokio::test]
async fn a_district_reads_its_grant_but_not_the_city_budget() {
    let app = spawn_app().await;
    app.gql_as(
        Role::CityFinance,
        "mutation { draftSettlement(fiscalYear: 2024, budget: \"50000.00\") { status } }",
        json!({}),
    )
    .await
    .data();
    let token = app.token(Role::District, Some("330106"));
    let res = app
        .gql(
            Some(&token),
            "{ settlement(fiscalYear: 2024) { budget } }",
            json!({}),
        )
        .await;
    assert_eq!(res.error_code(), Some("FORBIDDEN"));
    let res = app
        .gql(
            Some(&token),
            "{ settlement(fiscalYear: 2024) { districts { districtCode granted } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        res.data()["settlement"]["districts"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let res = app
        .gql_as(
            Role::CityFinance,
            "{ settlement(fiscalYear: 2024) { budget } }",
            json!({}),
        )
        .await;
    assert_eq!(res.data()["settlement"]["budget"], "50000.00");
}

#[tokio::test]
async fn an_idempotency_key_is_never_replayed_to_another_district() {
    let app = spawn_app().await;
    register_enterprise(&app, CODE_A, "杭州保密测试有限公司", "330106").await;
    let body = json!({
        "query": "mutation($d: String!, $l: [PaymentLineInput!]!) { reportPayments(districtCode: $d, fiscalYear: 2024, lines: $l) { created { voucherNo amount } } }",
        "variables": { "d": "330106", "l": [rent("V-1", "L-1")] },
    });
    let send = |token: String| {
        let client = app.client.clone();
        let url = format!("{}/graphql", app.address);
        let body = body.clone();
        async move {
            let response = client
                .post(url)
                .bearer_auth(token)
                .header("Idempotency-Key", "k-1")
                .json(&body)
                .send()
                .await
                .unwrap();
            let replayed = response.headers().contains_key("Idempotent-Replayed");
            (replayed, response.json::<Value>().await.unwrap())
        }
    };
    // Both tokens share the subject `test:district`.
    let (replayed, first) = send(app.token(Role::District, Some("330106"))).await;
    assert!(!replayed && first.get("errors").is_none(), "{first}");
    let (replayed, other) = send(app.token(Role::District, Some("330108"))).await;
    assert!(!replayed, "another district got the stored answer: {other}");
    assert_ne!(other["errors"][0]["extensions"]["code"], Value::Null);
    assert!(!other.to_string().contains("20000.00"), "{other}");
}
