//! `withdrawPaymentLines`: a district withdraws its own unsubmitted lines, audited, and may report
//! the voucher again; never another district's line, a submitted claim's or an approved year's.

use hq_api::auth::Role;
use serde_json::{Value, json};

use crate::helpers::{Gql, TestApp, register_enterprise, spawn_app};

const CODE_A: &str = "91330100716105852F";

const REPORT: &str = "mutation($d: String!, $l: [PaymentLineInput!]!) {
  reportPayments(districtCode: $d, fiscalYear: 2024, lines: $l) { created { databaseId voucherNo } } }";

const WITHDRAW: &str = "mutation($ids: [Int!]!, $r: String!) {
  withdrawPaymentLines(ids: $ids, reason: $r) {
    databaseId voucherNo amount districtCode withdrawnAt withdrawnBy reason } }";

const SUBMIT: &str = "mutation($d: String!) { submitClaim(districtCode: $d, fiscalYear: 2024) {
  status lineCount paidTotal } }";

fn rent(voucher: &str, amount: &str) -> Value {
    json!({
        "creditCode": CODE_A, "kind": "RENT", "subsidyYear": 2024, "contractNo": "L-2024-1",
        "basis": "1000000.00", "amount": amount, "paymentDate": "2024-06-30", "voucherNo": voucher,
    })
}

/// Reports `lines` for 330106 and answers their ids, in batch order.
async fn report(app: &TestApp, lines: Value) -> Vec<i64> {
    let token = app.token(Role::District, Some("330106"));
    let res = app
        .gql(Some(&token), REPORT, json!({ "d": "330106", "l": lines }))
        .await;
    res.data()["reportPayments"]["created"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["databaseId"].as_i64().unwrap())
        .collect()
}

async fn withdraw_as(app: &TestApp, district: &str, ids: &[i64], reason: &str) -> Gql {
    let token = app.token(Role::District, Some(district));
    app.gql(Some(&token), WITHDRAW, json!({ "ids": ids, "r": reason }))
        .await
}

async fn vouchers(app: &TestApp) -> Vec<String> {
    let res = app
        .gql_as(
            Role::CityFinance,
            "{ paymentLines(districtCode: \"330106\", fiscalYear: 2024) { nodes { voucherNo amount } } }",
            json!({}),
        )
        .await;
    res.data()["paymentLines"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            format!(
                "{}={}",
                n["voucherNo"].as_str().unwrap(),
                n["amount"].as_str().unwrap()
            )
        })
        .collect()
}

async fn withdrawal_entries(app: &TestApp) -> Vec<Value> {
    let res = app
        .gql_as(
            Role::Auditor,
            "{ auditLog(first: 50) { nodes { operation actorDistrict targetId before after } } }",
            json!({}),
        )
        .await;
    res.data()["auditLog"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["operation"] == "withdrawPaymentLines")
        .cloned()
        .collect()
}

#[tokio::test]
async fn a_district_withdraws_a_wrong_line_and_reports_its_voucher_again_corrected() {
    // Arrange
    let app = spawn_app().await;
    register_enterprise(&app, CODE_A, "杭州测试有限公司", "330106").await;
    let ids = report(&app, json!([rent("V-1", "100.00"), rent("V-2", "5.00")])).await;

    // Act
    let res = withdraw_as(&app, "330106", &ids[..1], "amount typed wrong").await;

    // Assert
    let withdrawn = res.data()["withdrawPaymentLines"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(withdrawn.len(), 1);
    assert_eq!(withdrawn[0]["databaseId"], ids[0]);
    assert_eq!(withdrawn[0]["voucherNo"], "V-1");
    assert_eq!(withdrawn[0]["amount"], "100.00");
    assert_eq!(withdrawn[0]["reason"], "amount typed wrong");
    assert_eq!(vouchers(&app).await, ["V-2=5.00"]);
    let entries = withdrawal_entries(&app).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["actorDistrict"], "330106");
    let before = &entries[0]["before"];
    assert_eq!(before["lines"][0]["voucherNo"], "V-1");
    assert_eq!(before["lines"][0]["amountFen"], 10_000);
    let after = &entries[0]["after"];
    assert_eq!(after["withdrawn"], json!([ids[0]]));

    // A retry changes nothing and answers the same withdrawal.
    let again = withdraw_as(&app, "330106", &ids[..1], "amount typed wrong").await;
    assert_eq!(again.data()["withdrawPaymentLines"], json!(withdrawn));
    assert_eq!(withdrawal_entries(&app).await.len(), 1);

    // Before the withdrawal, the corrected amount was a conflict that said how to correct it.
    let token = app.token(Role::District, Some("330106"));
    let other = app
        .gql(
            Some(&token),
            REPORT,
            json!({ "d": "330106", "l": [rent("V-2", "5.50")] }),
        )
        .await;
    assert_eq!(other.error_code(), Some("CONFLICT"));
    let message = other.body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("withdrawPaymentLines"), "{message}");

    // The voucher is free again: reported with the right amount, it is a new line; the claim
    // counts the corrected line only.
    let corrected = report(&app, json!([rent("V-1", "100.01")])).await;
    assert_eq!(corrected.len(), 1);
    assert_ne!(corrected[0], ids[0]);
    let claim = app
        .gql(Some(&token), SUBMIT, json!({ "d": "330106" }))
        .await;
    assert_eq!(claim.data()["submitClaim"]["lineCount"], 2);
    assert_eq!(claim.data()["submitClaim"]["paidTotal"], "105.01");
}

#[tokio::test]
async fn a_retry_with_the_same_idempotency_key_is_answered_from_the_first_answer() {
    let app = spawn_app().await;
    register_enterprise(&app, CODE_A, "杭州测试有限公司", "330106").await;
    let ids = report(&app, json!([rent("V-1", "100.00")])).await;
    let token = app.token(Role::District, Some("330106"));
    let send = || {
        app.client
            .post(format!("{}/graphql", app.address))
            .bearer_auth(&token)
            .header("Idempotency-Key", "withdraw-v1-once")
            .json(&json!({ "query": WITHDRAW, "variables": { "ids": ids, "r": "duplicate" } }))
            .send()
    };
    let first = send().await.unwrap();
    assert!(first.headers().get("Idempotent-Replayed").is_none());
    let first: Value = first.json().await.unwrap();
    let second = send().await.unwrap();
    assert_eq!(
        second.headers().get("Idempotent-Replayed").unwrap(),
        "true",
        "replayed, not executed again"
    );
    let second: Value = second.json().await.unwrap();
    assert!(first.get("errors").is_none(), "{first}");
    assert_eq!(first, second);
    assert_eq!(withdrawal_entries(&app).await.len(), 1);
}

#[tokio::test]
async fn another_districts_line_is_not_found_and_nothing_is_written() {
    let app = spawn_app().await;
    register_enterprise(&app, CODE_A, "杭州测试有限公司", "330106").await;
    let ids = report(&app, json!([rent("V-1", "100.00")])).await;

    let other = withdraw_as(&app, "330108", &ids, "not ours").await;
    assert_eq!(other.error_code(), Some("NOT_FOUND"));
    let missing = withdraw_as(&app, "330108", &[ids[0] + 1_000], "not ours").await;
    assert_eq!(missing.error_code(), Some("NOT_FOUND"));
    // The same answer as for a line that does not exist: nothing tells the other district it does.
    assert_eq!(
        other.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .replace(&ids[0].to_string(), "N"),
        missing.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .replace(&(ids[0] + 1_000).to_string(), "N")
    );
    // One unknown id among the district's own refuses the whole withdrawal.
    let mixed = withdraw_as(&app, "330106", &[ids[0], ids[0] + 1_000], "x").await;
    assert_eq!(mixed.error_code(), Some("NOT_FOUND"));
    let blank = withdraw_as(&app, "330106", &ids, "  ").await;
    assert_eq!(blank.error_code(), Some("BAD_USER_INPUT"));
    let none = withdraw_as(&app, "330106", &[], "x").await;
    assert_eq!(none.error_code(), Some("BAD_USER_INPUT"));
    let hq = app
        .gql_as(Role::HqOffice, WITHDRAW, json!({ "ids": ids, "r": "x" }))
        .await;
    assert_eq!(hq.error_code(), Some("FORBIDDEN"));
    assert_eq!(vouchers(&app).await, ["V-1=100.00"]);
    assert!(withdrawal_entries(&app).await.is_empty());
}

#[tokio::test]
async fn a_submitted_claims_lines_are_withdrawn_only_once_returned_and_never_in_a_locked_year() {
    let app = spawn_app().await;
    register_enterprise(&app, CODE_A, "杭州测试有限公司", "330106").await;
    let ids = report(&app, json!([rent("V-1", "100.00"), rent("V-2", "5.00")])).await;
    let token = app.token(Role::District, Some("330106"));
    app.gql(Some(&token), SUBMIT, json!({ "d": "330106" }))
        .await
        .data();

    let res = withdraw_as(&app, "330106", &ids[..1], "too late").await;
    assert_eq!(res.error_code(), Some("CONFLICT"));
    assert_eq!(vouchers(&app).await.len(), 2);

    app.gql_as(
        Role::CityFinance,
        "mutation { returnClaim(districtCode: \"330106\", fiscalYear: 2024, reason: \"V-1 is wrong\") { status } }",
        json!({}),
    )
    .await
    .data();
    withdraw_as(&app, "330106", &ids[..1], "V-1 is wrong")
        .await
        .data();
    assert_eq!(vouchers(&app).await, ["V-2=5.00"]);

    // Approving 2024 (the district's claim returned, so counted as not submitted) locks it.
    for q in [
        "mutation { draftSettlement(fiscalYear: 2024) { status } }",
        "mutation { approveSettlement(fiscalYear: 2024) { status } }",
    ] {
        app.gql_as(Role::CityFinance, q, json!({})).await.data();
    }
    let res = withdraw_as(&app, "330106", &ids[1..], "after approval").await;
    assert_eq!(res.error_code(), Some("PERIOD_LOCKED"));
    assert_eq!(vouchers(&app).await, ["V-2=5.00"]);
}
