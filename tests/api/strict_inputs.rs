//! Amounts and dates have one text form each: a decimal string `-?[0-9]+(\.[0-9]+)?` (at most 2
//! places for money) and a day `YYYY-MM-DD` from 1900-01-01 to 2099-12-31. Any other form is
//! `BAD_USER_INPUT` naming the field, and changes nothing.

use hq_api::auth::Role;
use serde_json::{Value, json};

use crate::helpers::{Gql, TestApp, register_enterprise, spawn_app};

const CODE: &str = "91330100716105852F";

const REPORT: &str = "mutation($l: [PaymentLineInput!]!) {
  reportPayments(districtCode: \"330106\", fiscalYear: 2024, lines: $l) { created { amount paymentDate } } }";

fn rent(voucher: &str, amount: Value, payment_date: &str) -> Value {
    json!({
        "creditCode": CODE, "kind": "RENT", "subsidyYear": 2024, "contractNo": "L-2024-1",
        "basis": "1000000.00", "amount": amount, "paymentDate": payment_date, "voucherNo": voucher,
    })
}

async fn report(app: &TestApp, lines: Value) -> Gql {
    let token = app.token(Role::District, Some("330106"));
    app.gql(Some(&token), REPORT, json!({ "l": lines })).await
}

async fn line_count(app: &TestApp) -> u64 {
    let res = app
        .gql_as(
            Role::CityFinance,
            "{ paymentLines(districtCode: \"330106\", fiscalYear: 2024) { totalCount } }",
            json!({}),
        )
        .await;
    res.data()["paymentLines"]["totalCount"].as_u64().unwrap()
}

fn assert_bad_input(res: &Gql, field: &str, what: &str) {
    assert_eq!(
        res.error_code(),
        Some("BAD_USER_INPUT"),
        "{what}: {}",
        res.body
    );
    assert_eq!(
        res.error_extensions()["field"],
        field,
        "{what}: {}",
        res.body
    );
}

#[tokio::test]
async fn an_amount_in_any_other_form_than_a_plain_decimal_string_is_refused() {
    let app = spawn_app().await;
    register_enterprise(&app, CODE, "杭州严格输入有限公司", "330106").await;
    let bad = [
        json!("1e2"),
        json!("1_0.00"),
        json!("+1.00"),
        json!(".5"),
        json!("5."),
        json!("1.234"),
        json!("1.500"),
        json!(" 1.00"),
        json!("-1.00"),
        json!(12.5),
        json!(12),
    ];
    for amount in bad {
        let lines = json!([
            rent("V-0", json!("1.00"), "2024-06-30"),
            rent("V-1", amount.clone(), "2024-06-30")
        ]);
        let res = report(&app, lines).await;
        assert_bad_input(&res, "lines[1].amount", &amount.to_string());
        if amount.is_number() {
            let message = res.body["errors"][0]["message"].as_str().unwrap();
            assert!(
                message.contains("send amounts as strings, e.g. \"1234.50\""),
                "{message}"
            );
        }
    }
    assert_eq!(
        line_count(&app).await,
        0,
        "nothing of a refused report is written"
    );

    let good = ["12", "12.5", "12.50", "0.01", "007.00"];
    let lines: Vec<Value> = good
        .iter()
        .enumerate()
        .map(|(i, a)| rent(&format!("V-{i}"), json!(a), "2024-06-30"))
        .collect();
    let res = report(&app, json!(lines)).await;
    let amounts: Vec<&str> = res.data()["reportPayments"]["created"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["amount"].as_str().unwrap())
        .collect();
    assert_eq!(amounts, ["12.00", "12.50", "12.50", "0.01", "7.00"]);
}

#[tokio::test]
async fn every_money_input_refuses_the_same_forms_naming_its_field() {
    let app = spawn_app().await;
    register_enterprise(&app, CODE, "杭州严格输入有限公司", "330106").await;
    let figures =
        "mutation($i: RecordFiguresInput!) { recordFigures(input: $i) { figures { revenue } } }";
    let event = "mutation($i: RecordEnterpriseEventInput!) { recordEnterpriseEvent(input: $i) { event { databaseId } } }";
    let draft = "mutation($r: Decimal, $b: Decimal) { draftSettlement(fiscalYear: 2024, rate: $r, budget: $b) { status } }";
    for bad in [
        json!("1e2"),
        json!("+1.00"),
        json!(".5"),
        json!(12.5),
        json!("-1.00"),
    ] {
        let input = json!({ "creditCode": CODE, "year": 2023, "revenue": bad, "rdSpend": "0.00" });
        let res = app
            .gql_as(Role::HqOffice, figures, json!({ "i": input }))
            .await;
        assert_bad_input(&res, "revenue", &bad.to_string());

        let input = json!({ "creditCode": CODE, "kind": "CAPITAL_CHANGED", "effectiveDate": "2024-01-02",
                            "changes": { "registeredCapital": bad } });
        let res = app
            .gql_as(Role::HqOffice, event, json!({ "i": input }))
            .await;
        assert_bad_input(&res, "changes.registeredCapital", &bad.to_string());

        let res = app
            .gql_as(Role::CityFinance, draft, json!({ "b": bad }))
            .await;
        assert_bad_input(&res, "budget", &bad.to_string());
    }
    // A rate may have more places than money, but the same syntax.
    for bad in [json!("5e-1"), json!(".5"), json!(0.5)] {
        let res = app
            .gql_as(Role::CityFinance, draft, json!({ "r": bad }))
            .await;
        assert_bad_input(&res, "rate", &bad.to_string());
    }
    let enterprise = app
        .gql_as(
            Role::HqOffice,
            "{ enterprise(creditCode: \"91330100716105852F\") { events { nodes { databaseId } } figures { year } } }",
            json!({}),
        )
        .await;
    let enterprise = &enterprise.data()["enterprise"];
    assert_eq!(
        enterprise["events"]["nodes"].as_array().unwrap().len(),
        1,
        "only the registration"
    );
    assert_eq!(enterprise["figures"], json!([]));
}

#[tokio::test]
async fn a_date_in_any_other_form_or_outside_1900_to_2099_is_refused() {
    let app = spawn_app().await;
    register_enterprise(&app, CODE, "杭州严格输入有限公司", "330106").await;
    for date in [
        "2024-1-1",
        "2024-02-30",
        "2024/06/30",
        "20240630",
        " 2024-06-30",
        "2100-01-01",
    ] {
        let res = report(&app, json!([rent("V-1", json!("1.00"), date)])).await;
        assert_bad_input(&res, "lines[0].paymentDate", date);
    }
    let res = report(&app, json!([rent("V-1", json!("1.00"), "2024-06-30")])).await;
    assert_eq!(
        res.data()["reportPayments"]["created"][0]["paymentDate"],
        "2024-06-30"
    );

    // Written into the query as a literal, too; nothing is recorded.
    for date in [
        "9999-12-31",
        "2100-01-01",
        "1899-12-31",
        "2024-1-1",
        "2024-02-30",
    ] {
        let query = format!(
            "mutation {{ revokeTitle(creditCode: \"{CODE}\", revokedOn: \"{date}\", reason: \"r\", approvalRef: \"a\") {{ banUntil }} }}"
        );
        let res = app.gql_as(Role::HqOffice, &query, json!({})).await;
        assert_bad_input(&res, "revokedOn", date);
        let message = res.body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("YYYY-MM-DD"), "{message}");
    }
    let audit = app
        .gql_as(
            Role::Auditor,
            "{ auditLog(first: 50) { nodes { operation } } }",
            json!({}),
        )
        .await;
    assert!(!audit.data().to_string().contains("revokeTitle"));

    let query = "query($d: Date!) { policyParameters(asOf: $d) { name } }";
    let res = app
        .gql_as(Role::Viewer, query, json!({ "d": "1999-12-31" }))
        .await;
    assert!(res.body.get("errors").is_none(), "{}", res.body);
    let res = app
        .gql_as(Role::Viewer, query, json!({ "d": 20240101 }))
        .await;
    assert_bad_input(&res, "asOf", "a JSON number");
}

#[tokio::test]
async fn an_enterprise_registered_before_2000_keeps_its_true_registration_day() {
    let app = spawn_app().await;
    let query = "mutation($i: RegisterEnterpriseInput!) { registerEnterprise(input: $i) { enterprise { facts(asOf: \"2024-01-01\") { hangzhouSince } } } }";
    let input = |since: &str| {
        json!({ "i": { "creditCode": CODE, "name": "杭州老字号有限公司", "districtCode": "330106",
                       "registeredOn": since, "industryCode": "7211", "ownership": "PRIVATE" } })
    };
    let res = app.gql_as(Role::HqOffice, query, input("1899-12-31")).await;
    assert_bad_input(&res, "registeredOn", "1899-12-31");
    let res = app.gql_as(Role::HqOffice, query, input("1999-09-09")).await;
    assert_eq!(
        res.data()["registerEnterprise"]["enterprise"]["facts"]["hangzhouSince"],
        "1999-09-09"
    );
}
