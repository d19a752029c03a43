//! The money bound (±1,000,000,000,000.00 yuan on every input) and exact totals: an amount beyond
//! the bound is `BAD_USER_INPUT` naming its field and writes nothing, over GraphQL and CSV alike;
//! amounts within it add up exactly in the claim, the reconciliation and the settlement; the
//! database refuses an out-of-bound row written behind the service's back.

use hq_api::auth::Role;
use hq_api::error::{AppError, ErrorCode};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{Value, json};

use crate::helpers::{Gql, TestApp, register_enterprise, spawn_app};

const CODE: &str = "91330100716105852F";

/// The bound in fen.
const BOUND_FEN: u64 = 100_000_000_000_000;

const REPORT: &str = "mutation($d: String!, $l: [PaymentLineInput!]!) {
  reportPayments(districtCode: $d, fiscalYear: 2024, lines: $l) { created { amount } } }";

fn rent(voucher: &str, basis: &str, amount: &str) -> Value {
    json!({
        "creditCode": CODE, "kind": "RENT", "subsidyYear": 2024, "contractNo": "L-2024-1",
        "basis": basis, "amount": amount, "paymentDate": "2024-06-30", "voucherNo": voucher,
    })
}

async fn report(app: &TestApp, district: &str, lines: Value) -> Gql {
    let token = app.token(Role::District, Some(district));
    app.gql(Some(&token), REPORT, json!({ "d": district, "l": lines }))
        .await
}

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

async fn import(app: &TestApp, csv: &str) -> (u16, Value) {
    let response = app
        .client
        .post(format!("{}/imports/payments/330106/2024", app.address))
        .bearer_auth(app.token(Role::District, Some("330106")))
        .header("Content-Type", "text/csv; charset=utf-8")
        .body(csv.to_string())
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// `fen` as a yuan decimal string with two places.
fn yuan(fen: u128) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

#[tokio::test]
async fn a_line_of_ninety_quadrillion_yuan_is_bad_input_naming_the_field_and_writes_nothing() {
    let app = spawn_app().await;
    register_enterprise(&app, CODE, "杭州边界测试有限公司", "330106").await;
    let huge = "90000000000000000.00";
    // Two such lines were each accepted before, and their claim's total wrapped negative.
    let res = report(
        &app,
        "330106",
        json!([rent("V-1", huge, huge), rent("V-2", huge, huge)]),
    )
    .await;
    assert_eq!(res.error_code(), Some("BAD_USER_INPUT"), "{}", res.body);
    assert_eq!(res.error_extensions()["field"], "lines[0].amount");
    let message = res.body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("1,000,000,000,000.00"), "{message}");

    // The basis is bounded too.
    let res = report(&app, "330106", json!([rent("V-1", huge, "1.00")])).await;
    assert_eq!(res.error_code(), Some("BAD_USER_INPUT"), "{}", res.body);
    assert_eq!(res.error_extensions()["field"], "lines[0].basis");
    assert_eq!(line_count(&app, "330106").await, 0);
}

#[tokio::test]
async fn exactly_a_trillion_yuan_is_accepted_and_one_fen_more_is_refused() {
    let app = spawn_app().await;
    register_enterprise(&app, CODE, "杭州边界测试有限公司", "330106").await;
    let max = "1000000000000.00";
    let over = "1000000000000.01";

    let res = report(&app, "330106", json!([rent("V-1", max, over)])).await;
    assert_eq!(res.error_code(), Some("BAD_USER_INPUT"), "{}", res.body);
    assert_eq!(res.error_extensions()["field"], "lines[0].amount");
    let res = report(&app, "330106", json!([rent("V-1", over, "1.00")])).await;
    assert_eq!(res.error_extensions()["field"], "lines[0].basis");
    assert_eq!(line_count(&app, "330106").await, 0);

    // Two lines at the bound: the claim, the reconciliation and the settlement add them exactly.
    let res = report(
        &app,
        "330106",
        json!([rent("V-1", max, max), rent("V-2", max, max)]),
    )
    .await;
    assert_eq!(res.data()["reportPayments"]["created"][0]["amount"], max);
    let token = app.token(Role::District, Some("330106"));
    let submitted = app
        .gql(
            Some(&token),
            "mutation { submitClaim(districtCode: \"330106\", fiscalYear: 2024) { paidTotal } }",
            json!({}),
        )
        .await;
    assert_eq!(
        submitted.data()["submitClaim"]["paidTotal"],
        "2000000000000.00"
    );
    let reconciled = app
        .gql_as(
            Role::CityFinance,
            "mutation { reconcileClaim(districtCode: \"330106\", fiscalYear: 2024) { eligibleTotal cutTotal } }",
            json!({}),
        )
        .await;
    let totals = &reconciled.data()["reconcileClaim"];
    let eligible: rust_decimal::Decimal =
        totals["eligibleTotal"].as_str().unwrap().parse().unwrap();
    let cut: rust_decimal::Decimal = totals["cutTotal"].as_str().unwrap().parse().unwrap();
    assert_eq!((eligible + cut).to_string(), "2000000000000.00", "{totals}");
    let draft = app
        .gql_as(
            Role::CityFinance,
            "mutation { draftSettlement(fiscalYear: 2024) { status totals { reported } } }",
            json!({}),
        )
        .await;
    assert_eq!(draft.data()["draftSettlement"]["status"], "DRAFT");
    assert_eq!(
        draft.data()["draftSettlement"]["totals"]["reported"],
        "2000000000000.00"
    );

    // Enterprise figures are bounded the same way.
    let figures =
        "mutation($i: RecordFiguresInput!) { recordFigures(input: $i) { figures { revenue } } }";
    let input = |revenue: &str| json!({ "i": { "creditCode": CODE, "year": 2023, "revenue": revenue, "rdSpend": "0.00" } });
    let res = app.gql_as(Role::HqOffice, figures, input(over)).await;
    assert_eq!(res.error_code(), Some("BAD_USER_INPUT"), "{}", res.body);
    assert_eq!(res.error_extensions()["field"], "revenue");
    let res = app.gql_as(Role::HqOffice, figures, input(max)).await;
    assert_eq!(res.data()["recordFigures"]["figures"]["revenue"], max);
}

#[tokio::test]
async fn a_csv_import_beyond_the_bound_names_the_row_and_writes_nothing() {
    let app = spawn_app().await;
    register_enterprise(&app, CODE, "杭州边界测试有限公司", "330106").await;
    let header = "creditCode,kind,subsidyYear,contractNo,basis,amount,paymentDate,voucherNo\n";
    for (amount, ok) in [
        ("90000000000000000.00", false),
        ("\"90,000,000,000,000,000.00\"", false),
        ("1000000000000.01", false),
        ("1000000000000.00", true),
    ] {
        let csv = format!(
            "{header}{CODE},RENT,2024,L-1,1.00,1.00,2024-06-30,V-0\n\
             {CODE},RENT,2024,L-1,\"1,000,000,000,000.00\",{amount},2024-06-30,V-1\n"
        );
        let (status, body) = import(&app, &csv).await;
        if ok {
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["createdAmount"], "1000000000001.00");
        } else {
            assert_eq!(status, 400, "{amount}: {body}");
            assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
            assert_eq!(body["errors"][0]["extensions"]["field"], "row 3 amount");
            assert_eq!(line_count(&app, "330106").await, 0, "{amount}");
        }
    }
}

#[tokio::test]
async fn the_database_refuses_an_amount_beyond_the_bound_written_behind_the_services_back() {
    use sea_orm::ConnectionTrait;
    let app = spawn_app().await;
    register_enterprise(&app, CODE, "杭州边界测试有限公司", "330106").await;
    report(&app, "330106", json!([rent("V-1", "1.00", "1.00")]))
        .await
        .data();
    let db = sea_orm::Database::connect(&app.database_url).await.unwrap();
    let at_bound =
        format!("UPDATE payment_lines SET amount_fen = {BOUND_FEN}, basis_fen = {BOUND_FEN}");
    db.execute_unprepared(&at_bound).await.unwrap();
    for (column, field) in [("amount_fen", "amount"), ("basis_fen", "basis")] {
        for fen in [
            BOUND_FEN as i64 + 1,
            -(BOUND_FEN as i64) - 1,
            i64::MAX,
            i64::MIN,
        ] {
            let err = db
                .execute_unprepared(&format!("UPDATE payment_lines SET {column} = {fen}"))
                .await
                .expect_err("the bound holds");
            let err = AppError::from(err);
            assert_eq!(err.code(), ErrorCode::BadUserInput, "{column} = {fen}");
            let shown = err.to_graphql();
            assert_eq!(
                shown.extensions.unwrap().get("field").unwrap().to_string(),
                format!("\"{field}\"")
            );
            assert!(
                !shown.message.contains("payment_lines"),
                "{}",
                shown.message
            );
        }
    }
    db.close().await.unwrap();
}

/// Amounts in fen: mostly near the bound (where wrapping used to happen), some small.
fn amounts() -> impl Strategy<Value = u64> {
    prop_oneof![
        3 => BOUND_FEN - 1_000..=BOUND_FEN,
        2 => 1..=BOUND_FEN,
        1 => 1u64..1_000,
    ]
}

#[tokio::test]
async fn any_lines_within_the_bound_give_exact_totals() {
    let app = spawn_app().await;
    register_enterprise(&app, CODE, "杭州边界测试有限公司", "330106").await;
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[11; 32]),
    );
    let strategy = proptest::collection::vec(amounts(), 1..=6);
    // One district per case: each case is a claim of its own on the same server.
    for district in ["330102", "330105", "330106", "330108"] {
        let fens = strategy.new_tree(&mut runner).unwrap().current();
        let lines: Vec<Value> = fens
            .iter()
            .enumerate()
            .map(|(i, fen)| {
                let amount = yuan(u128::from(*fen));
                rent(&format!("V-{i}"), &amount, &amount)
            })
            .collect();
        let exact: u128 = fens.iter().map(|f| u128::from(*f)).sum();

        let res = report(&app, district, json!(lines)).await;
        assert_eq!(
            res.data()["reportPayments"]["created"]
                .as_array()
                .unwrap()
                .len(),
            fens.len()
        );
        let token = app.token(Role::District, Some(district));
        let submitted = app
            .gql(
                Some(&token),
                "mutation($d: String!) { submitClaim(districtCode: $d, fiscalYear: 2024) { paidTotal } }",
                json!({ "d": district }),
            )
            .await;
        assert_eq!(
            submitted.data()["submitClaim"]["paidTotal"],
            yuan(exact).as_str(),
            "{fens:?}"
        );
        let reconciled = app
            .gql_as(
                Role::CityFinance,
                "mutation($d: String!) { reconcileClaim(districtCode: $d, fiscalYear: 2024) { eligibleTotal cutTotal } }",
                json!({ "d": district }),
            )
            .await;
        let totals = &reconciled.data()["reconcileClaim"];
        let fen = |v: &Value| -> u128 {
            let text = v.as_str().unwrap().replace('.', "");
            text.parse().unwrap()
        };
        assert_eq!(
            fen(&totals["eligibleTotal"]) + fen(&totals["cutTotal"]),
            exact,
            "{fens:?}: {totals}"
        );
    }
    let draft = app
        .gql_as(
            Role::CityFinance,
            "mutation { draftSettlement(fiscalYear: 2024) { status } }",
            json!({}),
        )
        .await;
    assert_eq!(draft.data()["draftSettlement"]["status"], "DRAFT");
}
