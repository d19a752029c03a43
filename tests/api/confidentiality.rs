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
        "mutation($d: String!) { reconcileClaim(districtCode: $d, fiscalYear: 2024) { verdicts { nodes { eligible reasons { code detail } } } } }",
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
    purchase_on(code, voucher, contract, price, "2024-02-01")
}

fn purchase_on(code: &str, voucher: &str, contract: &str, price: &str, date: &str) -> Value {
    json!({ "creditCode": code, "kind": "PURCHASE", "subsidyYear": 2024, "contractNo": contract,
            "basis": price, "amount": "1000.00", "transactionDate": date,
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

/// How many lines `district` reported for 2024 (read by `CITY_FINANCE`).
async fn line_count(app: &TestApp, district: &str) -> u64 {
    let res = app
        .gql_as(
            Role::CityFinance,
            "query($d: String!) { paymentLines(districtCode: $d, fiscalYear: 2024) { totalCount } }",
            json!({ "d": district }),
        )
        .await;
    res.data()["paymentLines"]["totalCount"].as_u64().unwrap()
}

#[tokio::test]
async fn a_failing_batch_fails_alike_whether_a_guess_at_another_districts_contract_is_right_wrong_or_of_no_contract()
 {
    // Arrange: 330108 reported a purchase of its enterprise A at 12,345,678.90 on 2024-02-01.
    let app = spawn_app().await;
    register_enterprise(&app, CODE_A, "杭州保密测试有限公司", "330108").await;
    register_enterprise(&app, CODE_B, "杭州西湖测试有限公司", "330106").await;
    report(
        &app,
        "330108",
        json!([purchase_on(
            CODE_A,
            "V-108",
            "HT-X",
            "12345678.90",
            "2024-02-01"
        )]),
    )
    .await
    .data();

    // Act: 330106 probes. Line 0 names a contract of A with a guessed price and date; lines 1
    // and 2 give one contract of its own two prices, so that the batch fails whatever line 0 is.
    let probe = |contract: &'static str, price: &'static str, date: &'static str| {
        json!([
            purchase_on(CODE_A, "PROBE-0", contract, price, date),
            purchase(CODE_B, "PROBE-1", "HT-OWN", "5000000.00"),
            purchase(CODE_B, "PROBE-2", "HT-OWN", "6000000.00"),
        ])
    };
    let cases = [
        (
            "right price and date",
            probe("HT-X", "12345678.90", "2024-02-01"),
        ),
        ("wrong price", probe("HT-X", "12345678.80", "2024-02-01")),
        ("wrong date", probe("HT-X", "12345678.90", "2024-02-02")),
        (
            "no such contract",
            probe("HT-NOBODY", "12345678.90", "2024-02-01"),
        ),
    ];
    let mut answers = Vec::new();
    for (case, lines) in cases {
        let mut res = report(&app, "330106", lines).await;
        // Each request has its own id; everything else must be the same.
        if let Some(errors) = res.body["errors"].as_array_mut() {
            for error in errors {
                if let Some(extensions) = error["extensions"].as_object_mut() {
                    assert!(extensions.remove("requestId").is_some(), "{case}");
                }
            }
        }
        answers.push((case, res.status, res.body));
    }

    // Assert: one answer, on line 2, for every guess; nothing written anywhere.
    let (_, status, body) = &answers[0];
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "CONFLICT",
        "{body}"
    );
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.starts_with("lines[2]"), "{message}");
    for (case, other_status, other_body) in &answers[1..] {
        assert_eq!(other_status, status, "{case}");
        assert_eq!(
            other_body, body,
            "{case} answers otherwise than a right guess"
        );
    }
    assert_eq!(line_count(&app, "330106").await, 0);
    assert_eq!(line_count(&app, "330108").await, 1);
}

#[tokio::test]
async fn a_contract_another_district_reported_is_taken_like_a_fresh_one_and_left_to_reconciliation()
{
    // Arrange: 330108 reported a purchase of its enterprise A.
    let app = spawn_app().await;
    register_enterprise(&app, CODE_A, "杭州保密测试有限公司", "330108").await;
    register_enterprise(&app, CODE_B, "杭州西湖测试有限公司", "330106").await;
    report(
        &app,
        "330108",
        json!([purchase(CODE_A, "SECRET-V-108", "HT-X", "8000000.00")]),
    )
    .await
    .data();

    // Act: 330106 reports the same payment of that contract, at another price, and a fresh
    // contract of its own enterprise.
    let known = report(
        &app,
        "330106",
        json!([purchase(CODE_A, "V-106-X", "HT-X", "1234567.00")]),
    )
    .await;
    let fresh = report(
        &app,
        "330106",
        json!([purchase(CODE_B, "V-106-F", "HT-FRESH", "1234567.00")]),
    )
    .await;

    // Assert: both are taken alike at report time.
    for (case, res) in [("known", &known), ("fresh", &fresh)] {
        assert_eq!(res.status, 200, "{case}");
        let data = &res.data()["reportPayments"];
        assert_eq!(data["created"].as_array().unwrap().len(), 1, "{case}");
        assert_eq!(data["unchanged"], json!([]), "{case}");
    }

    // Assert: reconciliation flags the duplicate for the finance bureau, without naming the
    // other district's voucher or price — neither to the bureau's answer nor to 330106.
    let res = submit_and_reconcile(&app, "330106").await;
    let verdicts = res.data()["reconcileClaim"]["verdicts"]["nodes"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(verdicts.len(), 2);
    let codes = |verdict: &Value| -> Vec<String> {
        verdict["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["code"].as_str().unwrap().to_owned())
            .collect()
    };
    let known_codes = codes(&verdicts[0]);
    assert!(
        known_codes.contains(&"WRONG_DISTRICT".to_owned())
            && known_codes.contains(&"DUPLICATE_PAYMENT".to_owned()),
        "{}",
        verdicts[0]
    );
    assert_eq!(verdicts[0]["eligible"], "0.00");
    let duplicate = verdicts[0]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == "DUPLICATE_PAYMENT")
        .unwrap()["detail"]
        .clone();
    assert!(
        duplicate.as_str().unwrap().contains("another district"),
        "{duplicate}"
    );
    assert!(
        !codes(&verdicts[1]).contains(&"DUPLICATE_PAYMENT".to_owned()),
        "{}",
        verdicts[1]
    );
    let token = app.token(Role::District, Some("330106"));
    let own_view = app
        .gql(
            Some(&token),
            "{ paymentLines(districtCode: \"330106\", fiscalYear: 2024) { nodes { verdict { reasons { code detail } } } } }",
            json!({}),
        )
        .await;
    for text in [res.body.to_string(), own_view.data().to_string()] {
        for secret in ["SECRET-V-108", "8,000,000.00", "8000000.00"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
    }
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
    let verdicts = res.data()["reconcileClaim"]["verdicts"]["nodes"]
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

/// Registers `code` in `district` as an enterprise the §3.1 / §3.2 standard route recognises
/// with its 2023 and 2024 revenue.
async fn register_eligible(app: &TestApp, code: &str, district: &str) {
    let input = json!({
        "creditCode": code, "registeredOn": "2020-01-01", "name": "杭州星级测试有限公司",
        "districtCode": district, "hangzhouSince": "2015-06-01", "industryCode": "7211",
        "ownership": "PRIVATE", "industrialGuidance": true, "unifiedAccounting": true,
        "outsideUnits": 3,
    });
    app.gql_as(
        Role::HqOffice,
        "mutation($i: RegisterEnterpriseInput!) { registerEnterprise(input: $i) { enterprise { creditCode } } }",
        json!({ "i": input }),
    )
    .await
    .data();
    for year in [2023, 2024] {
        app.gql_as(
            Role::HqOffice,
            "mutation($i: RecordFiguresInput!) { recordFigures(input: $i) { figures { year } } }",
            json!({ "i": { "creditCode": code, "year": year, "revenue": "1200000000.00", "rdSpend": "0" } }),
        )
        .await
        .data();
    }
}

/// Recognises `code` for `year` on `decided_on`, rates it `stars` and grants the year's rewards on
/// `granted_on` (HQ_OFFICE).
async fn recognise_rate_and_grant(
    app: &TestApp,
    code: &str,
    year: i32,
    stars: i32,
    decided_on: &str,
    granted_on: &str,
) {
    app.gql_as(
        Role::HqOffice,
        "mutation($c: String!, $y: Int!, $on: Date) { recognize(creditCode: $c, year: $y, decidedOn: $on) { year } }",
        json!({ "c": code, "y": year, "on": decided_on }),
    )
    .await
    .data();
    app.gql_as(
        Role::HqOffice,
        "mutation($c: String!, $y: Int!, $s: Int!) { rateStars(creditCode: $c, year: $y, stars: $s) { stars } }",
        json!({ "c": code, "y": year, "s": stars }),
    )
    .await
    .data();
    app.gql_as(
        Role::HqOffice,
        "mutation($y: Int!, $on: Date!) { grantStarRewards(year: $y, grantedOn: $on) { grantedTotal } }",
        json!({ "y": year, "on": granted_on }),
    )
    .await
    .data();
}

#[tokio::test]
async fn after_a_move_each_district_sees_exactly_the_star_rewards_whose_district_share_it_bore() {
    // Arrange: A is rewarded for 2024 while in 330106, moves to 330108, and is rewarded the
    // difference for 2025 there; B stays in 330108 and is rewarded for 2024 there.
    let app = spawn_app().await;
    register_eligible(&app, CODE_A, "330106").await;
    register_eligible(&app, CODE_B, "330108").await;
    recognise_rate_and_grant(&app, CODE_A, 2024, 3, "2024-05-01", "2024-06-01").await;
    recognise_rate_and_grant(&app, CODE_B, 2024, 3, "2024-05-01", "2024-06-01").await;
    app.gql_as(
        Role::HqOffice,
        "mutation($i: RecordEnterpriseEventInput!) { recordEnterpriseEvent(input: $i) { event { databaseId } } }",
        json!({ "i": { "creditCode": CODE_A, "kind": "MOVED_DISTRICT", "effectiveDate": "2024-09-01",
                       "changes": { "districtCode": "330108" } } }),
    )
    .await
    .data();
    recognise_rate_and_grant(&app, CODE_A, 2025, 4, "2025-05-01", "2025-06-01").await;

    // Act
    let rewards = |district: &'static str, year: i32| {
        let token = app.token(Role::District, Some(district));
        let app = &app;
        async move {
            let res = app
                .gql(
                    Some(&token),
                    "query($y: Int!) { starRewards(year: $y) { nodes { creditCode year districtCode districtShare status } } }",
                    json!({ "y": year }),
                )
                .await;
            res.data()["starRewards"]["nodes"].clone()
        }
    };
    let west_lake_2024 = rewards("330106", 2024).await;
    let west_lake_2025 = rewards("330106", 2025).await;
    let binjiang_2024 = rewards("330108", 2024).await;
    let binjiang_2025 = rewards("330108", 2025).await;

    // Assert
    let row = |code: &str, year: i32, district: &str, share: &str| {
        json!({ "creditCode": code, "year": year, "districtCode": district,
                "districtShare": share, "status": "GRANTED" })
    };
    assert_eq!(
        west_lake_2024,
        json!([row(CODE_A, 2024, "330106", "1500000.00")])
    );
    assert_eq!(west_lake_2025, json!([]));
    assert_eq!(
        binjiang_2024,
        json!([row(CODE_B, 2024, "330108", "1500000.00")])
    );
    assert_eq!(
        binjiang_2025,
        json!([row(CODE_A, 2025, "330108", "1000000.00")])
    );
}
