//! Concurrent writers end in the state of some serial order: no lost update, no duplicate, and
//! no "database is locked" surfacing as an error.

use hq_api::auth::Role;
use serde_json::{Value, json};

use crate::helpers::{register_enterprise, spawn_app};

const CODE: &str = "91330100716105852F";

fn line(voucher: usize) -> Value {
    json!({
        "creditCode": CODE, "kind": "RENT", "subsidyYear": 2024, "contractNo": "L-1",
        "basis": "1000.00", "amount": format!("{}.{:02}", voucher + 1, voucher % 100),
        "paymentDate": "2024-05-01", "voucherNo": format!("V-{voucher:03}"),
    })
}

#[tokio::test]
async fn parallel_reports_of_overlapping_vouchers_store_each_voucher_once() {
    let app = spawn_app().await;
    register_enterprise(&app, CODE, "杭州并发测试有限公司", "330106").await;
    let token = app.token(Role::District, Some("330106"));
    let report = "mutation($l: [PaymentLineInput!]!) { reportPayments(districtCode: \"330106\", fiscalYear: 2024, lines: $l) { created { voucherNo } unchanged { voucherNo } } }";

    // 8 clients; client k reports vouchers k*5 .. k*5+9, so neighbours overlap by 5.
    let mut tasks = Vec::new();
    for k in 0..8usize {
        let lines: Vec<Value> = (k * 5..k * 5 + 10).map(line).collect();
        let client = app.client.clone();
        let url = format!("{}/graphql", app.address);
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            let response = client
                .post(url)
                .bearer_auth(token)
                .json(&json!({ "query": report, "variables": { "l": lines } }))
                .send()
                .await
                .unwrap();
            response.json::<Value>().await.unwrap()
        }));
    }
    let mut created = 0usize;
    for task in tasks {
        let body = task.await.unwrap();
        assert!(
            body.get("errors").is_none(),
            "a concurrent report failed: {body}"
        );
        created += body["data"]["reportPayments"]["created"]
            .as_array()
            .unwrap()
            .len();
    }
    // Vouchers 0..=44: 45 distinct, each created exactly once.
    assert_eq!(created, 45);
    let res = app
        .gql_as(
            Role::CityFinance,
            "{ paymentLines(districtCode: \"330106\", fiscalYear: 2024, first: 100) { totalCount nodes { voucherNo amount seq } } }",
            json!({}),
        )
        .await;
    let page = &res.data()["paymentLines"];
    assert_eq!(page["totalCount"], 45);
    let nodes = page["nodes"].as_array().unwrap();
    let total: rust_decimal::Decimal = nodes
        .iter()
        .map(|n| {
            n["amount"]
                .as_str()
                .unwrap()
                .parse::<rust_decimal::Decimal>()
                .unwrap()
        })
        .sum();
    let expected: rust_decimal::Decimal = (0..45usize)
        .map(|v| {
            format!("{}.{:02}", v + 1, v % 100)
                .parse::<rust_decimal::Decimal>()
                .unwrap()
        })
        .sum();
    assert_eq!(total, expected);
    let mut seqs: Vec<i64> = nodes.iter().map(|n| n["seq"].as_i64().unwrap()).collect();
    seqs.dedup();
    assert_eq!(seqs.len(), 45, "report order is a strict sequence");
}
