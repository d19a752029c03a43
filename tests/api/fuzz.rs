//! Random and boundary values in every money, date and code input of a payment report: the
//! answer is always a typed error or a success, never a panic or an internal error, and a refused
//! report changes nothing.

use hq_api::auth::Role;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{Value, json};

use crate::helpers::{TestApp, register_enterprise, spawn_app};

const CODE: &str = "91330100716105852F";
const CASES: usize = 120;

fn amounts() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u64..10_000_000, 0u32..100).prop_map(|(y, f)| format!("{y}.{f:02}")),
        (0u64..1_000, 0u32..1000).prop_map(|(y, f)| format!("{y}.{f:03}")),
        (1u64..1_000).prop_map(|y| format!("-{y}.00")),
        Just("1e30".to_string()),
        Just("99999999999999999999999999".to_string()),
        Just(String::new()),
        Just("abc".to_string()),
        Just("１２３".to_string()),
        Just("0".to_string()),
        Just("0.001".to_string()),
        "[0-9.,-]{1,12}",
    ]
}

fn dates() -> impl Strategy<Value = String> {
    prop_oneof![
        (2024i32..2025, 1u32..13, 1u32..29).prop_map(|(y, m, d)| format!("{y}-{m:02}-{d:02}")),
        Just("2024-02-29".to_string()),
        Just("2023-02-29".to_string()),
        Just("0000-01-01".to_string()),
        Just("9999-12-31".to_string()),
        Just("2024-13-01".to_string()),
        Just("2024-06-31".to_string()),
        Just(String::new()),
        "[0-9-]{0,12}",
    ]
}

fn codes() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(CODE.to_string()),
        Just("91110100600037341L".to_string()),
        Just(" 91330100716105852f ".to_string()),
        "[0-9A-Z]{18}",
        "[0-9A-Za-z]{0,30}",
    ]
}

fn texts() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9-]{1,20}",
        Just(String::new()),
        Just("x".repeat(10_000)),
        Just("V\u{0}1".to_string()),
    ]
}

fn kinds() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!("RENT")),
        Just(json!("PURCHASE")),
        Just(json!("LEASE")),
        Just(json!(7)),
    ]
}

fn line() -> impl Strategy<Value = Value> {
    (
        codes(),
        kinds(),
        prop_oneof![
            Just(json!(2024)),
            Just(json!(0)),
            Just(json!(9999)),
            Just(json!(-1))
        ],
        texts(),
        amounts(),
        proptest::option::of(dates()),
        amounts(),
        dates(),
        texts(),
    )
        .prop_map(
            |(code, kind, year, contract, basis, txn, amount, paid, voucher)| {
                json!({
                    "creditCode": code, "kind": kind, "subsidyYear": year, "contractNo": contract,
                    "basis": basis, "transactionDate": txn, "amount": amount, "paymentDate": paid,
                    "voucherNo": voucher,
                })
            },
        )
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

#[tokio::test]
async fn random_report_inputs_get_a_typed_answer_and_refusals_change_nothing() {
    let app = spawn_app().await;
    register_enterprise(&app, CODE, "杭州模糊测试有限公司", "330106").await;
    let token = app.token(Role::District, Some("330106"));
    let query = "mutation($l: [PaymentLineInput!]!) { reportPayments(districtCode: \"330106\", fiscalYear: 2024, lines: $l) { created { voucherNo } } }";

    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
    );
    let strategy = line();
    let mut accepted = 0;
    for _ in 0..CASES {
        let value = strategy.new_tree(&mut runner).unwrap().current();
        let before = line_count(&app).await;
        let res = app
            .gql(Some(&token), query, json!({ "l": [value.clone()] }))
            .await;
        assert!(
            res.status == 200 || res.status == 400,
            "{} for {value}",
            res.status
        );
        match res.error_code() {
            None => accepted += 1,
            Some(code) => {
                assert!(
                    matches!(code, "BAD_USER_INPUT" | "CONFLICT"),
                    "{code} for {value}: {}",
                    res.body
                );
                let text = res.body.to_string().to_lowercase();
                for leak in [
                    "sqlite",
                    "postgres",
                    "select ",
                    "insert ",
                    "constraint",
                    "src/",
                    "panicked",
                ] {
                    assert!(!text.contains(leak), "`{leak}` leaked for {value}: {text}");
                }
                assert_eq!(
                    line_count(&app).await,
                    before,
                    "a refused report wrote rows"
                );
            }
        }
    }
    assert!(accepted < CASES, "the generator must produce refusals too");
}

async fn settlement_status(app: &TestApp) -> Value {
    app.gql_as(
        Role::CityFinance,
        "{ settlement(fiscalYear: 2024) { rate budget } }",
        json!({}),
    )
    .await
    .data()["settlement"]
        .clone()
}

#[tokio::test]
async fn random_rates_budgets_and_figures_get_a_typed_answer_and_refusals_change_nothing() {
    let app = spawn_app().await;
    register_enterprise(&app, CODE, "杭州模糊测试有限公司", "330106").await;
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[11; 32]),
    );
    let draft = "mutation($r: Decimal, $b: Decimal) { draftSettlement(fiscalYear: 2024, rate: $r, budget: $b) { rate budget } }";
    let figures =
        "mutation($i: RecordFiguresInput!) { recordFigures(input: $i) { figures { revenue } } }";
    let strategy = (
        proptest::option::of(amounts()),
        proptest::option::of(amounts()),
        amounts(),
        amounts(),
        prop_oneof![Just(2023), Just(0), Just(-1), Just(9999), Just(i32::MAX)],
    );
    let (mut drafted, mut recorded) = (0, 0);
    for _ in 0..60 {
        let (rate, budget, revenue, rd, year) = strategy.new_tree(&mut runner).unwrap().current();
        // Draft: a rate above the 20% cap is a POLICY_VIOLATION; a bad budget BAD_USER_INPUT.
        let before = settlement_status(&app).await;
        let res = app
            .gql_as(Role::CityFinance, draft, json!({ "r": rate, "b": budget }))
            .await;
        if let Some(code) = res.error_code() {
            assert!(
                matches!(code, "BAD_USER_INPUT" | "POLICY_VIOLATION"),
                "{code} for rate {rate:?} budget {budget:?}: {}",
                res.body
            );
            assert_eq!(
                settlement_status(&app).await,
                before,
                "a refused draft changed the draft"
            );
        } else {
            drafted += 1;
        }
        // Figures: amounts with more than 2 decimals, negative or huge are refused.
        let res = app
            .gql_as(
                Role::HqOffice,
                figures,
                json!({ "i": { "creditCode": CODE, "year": year, "revenue": revenue, "rdSpend": rd } }),
            )
            .await;
        match res.error_code() {
            Some(code) => {
                assert_eq!(
                    code, "BAD_USER_INPUT",
                    "for {revenue} / {rd} / {year}: {}",
                    res.body
                )
            }
            None => recorded += 1,
        }
    }
    assert!(
        drafted > 0 && recorded > 0,
        "valid inputs must pass too ({drafted}, {recorded})"
    );
}
