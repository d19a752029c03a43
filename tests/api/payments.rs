//! §20 steps 1 and 2 over HTTP: reports, idempotency, conflicts, claims, district confinement.

use hq_api::auth::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, register_enterprise, spawn_app};

const CODE_A: &str = "91330100716105852F";
const CODE_B: &str = "91110000600037341L";

const REPORT: &str = "mutation($d: String!, $y: Int!, $l: [PaymentLineInput!]!) {
  reportPayments(districtCode: $d, fiscalYear: $y, lines: $l) {
    created { seq voucherNo amount } unchanged { seq voucherNo } } }";

const SUBMIT: &str =
    "mutation($d: String!, $y: Int!) { submitClaim(districtCode: $d, fiscalYear: $y) {
  status contentHash lineCount paidTotal } }";

const CLAIM: &str = "query($d: String!, $y: Int!) { claim(districtCode: $d, fiscalYear: $y) {
  status lineCount paidTotal history { action reason } lines(first: 10) { totalCount nodes { voucherNo amount } } } }";

async fn register(app: &TestApp, code: &str, district: &str) {
    register_enterprise(app, code, &format!("杭州测试{code}有限公司"), district).await;
}

fn rent(voucher: &str, amount: &str) -> Value {
    json!({
        "creditCode": CODE_A, "kind": "RENT", "subsidyYear": 2024, "contractNo": "L-2024-1",
        "basis": "1000000.00", "amount": amount, "paymentDate": "2024-06-30", "voucherNo": voucher,
    })
}

async fn report_as(app: &TestApp, district: &str, lines: Value) -> crate::helpers::Gql {
    let token = app.token(Role::District, Some(district));
    app.gql(
        Some(&token),
        REPORT,
        json!({ "d": district, "y": 2024, "l": lines }),
    )
    .await
}

async fn count_lines(app: &TestApp, district: &str) -> u64 {
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
async fn a_district_reports_lines_and_the_same_lines_again_change_nothing() {
    let app = spawn_app().await;
    register(&app, CODE_A, "330106").await;
    let lines = json!([rent("V-1", "300000.00"), rent("V-2", "1.50")]);

    let first = report_as(&app, "330106", lines.clone()).await;
    let created = first.data()["reportPayments"]["created"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(created.len(), 2);
    assert_eq!(created[0]["amount"], "300000.00");
    assert_eq!(created[1]["amount"], "1.50");
    assert!(created[0]["seq"].as_i64().unwrap() < created[1]["seq"].as_i64().unwrap());

    let again = report_as(&app, "330106", lines).await;
    assert_eq!(again.data()["reportPayments"]["created"], json!([]));
    assert_eq!(
        again.data()["reportPayments"]["unchanged"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(count_lines(&app, "330106").await, 2);
}

#[tokio::test]
async fn a_voucher_reported_again_with_other_content_is_a_conflict() {
    let app = spawn_app().await;
    register(&app, CODE_A, "330106").await;
    report_as(&app, "330106", json!([rent("V-1", "100.00")]))
        .await
        .data();
    let res = report_as(&app, "330106", json!([rent("V-1", "100.01")])).await;
    assert_eq!(res.error_code(), Some("CONFLICT"));
    let message = res.body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("(amount: 100.00 → 100.01)"),
        "names the one field that differs: {message}"
    );
    assert_eq!(count_lines(&app, "330106").await, 1);
}

#[tokio::test]
async fn a_bad_line_fails_the_whole_batch_naming_line_and_field() {
    let app = spawn_app().await;
    register(&app, CODE_A, "330106").await;
    let cases = vec![
        (rent("V-9", "0.00"), "lines[1].amount"),
        (rent("V-9", "10.005"), "lines[1].amount"),
        (rent("V-9", "2000000.00"), "lines[1].basis"),
        (
            json!({ "creditCode": CODE_A, "kind": "RENT", "subsidyYear": 2024, "contractNo": "L",
                    "basis": "10.00", "amount": "1.00", "paymentDate": "2025-01-01", "voucherNo": "V-9" }),
            "lines[1].paymentDate",
        ),
        (
            json!({ "creditCode": CODE_A, "kind": "PURCHASE", "subsidyYear": 2024, "contractNo": "P",
                    "basis": "10.00", "amount": "1.00", "transactionDate": "2023-12-31",
                    "paymentDate": "2024-03-01", "voucherNo": "V-9" }),
            "lines[1].subsidyYear",
        ),
        (
            json!({ "creditCode": CODE_B, "kind": "RENT", "subsidyYear": 2024, "contractNo": "L",
                    "basis": "10.00", "amount": "1.00", "paymentDate": "2024-03-01", "voucherNo": "V-9" }),
            "lines[1].creditCode",
        ),
    ];
    for (bad, field) in cases {
        let res = report_as(&app, "330106", json!([rent("V-1", "100.00"), bad])).await;
        assert_eq!(
            res.error_code(),
            Some("BAD_USER_INPUT"),
            "{field}: {}",
            res.body
        );
        assert_eq!(res.error_extensions()["field"], field);
    }
    assert_eq!(
        count_lines(&app, "330106").await,
        0,
        "nothing of a refused batch is written"
    );
}

#[tokio::test]
async fn a_purchase_contract_has_one_price_and_one_transaction_date() {
    let app = spawn_app().await;
    register(&app, CODE_A, "330106").await;
    let purchase = |voucher: &str, price: &str| {
        json!({ "creditCode": CODE_A, "kind": "PURCHASE", "subsidyYear": 2024, "contractNo": "P-1",
                "basis": price, "amount": "100.00", "transactionDate": "2024-02-01",
                "paymentDate": "2024-03-01", "voucherNo": voucher })
    };
    report_as(&app, "330106", json!([purchase("V-1", "5000000.00")]))
        .await
        .data();
    let res = report_as(&app, "330106", json!([purchase("V-2", "5000000.01")])).await;
    assert_eq!(res.error_code(), Some("CONFLICT"));
    report_as(&app, "330106", json!([purchase("V-3", "5000000.00")]))
        .await
        .data();

    // Several contracts in one batch: each checked against its own first line, stored or in the
    // batch.
    let contract = |contract: &str, voucher: &str, price: &str| {
        let mut line = purchase(voucher, price);
        line["contractNo"] = json!(contract);
        line
    };
    let mixed = report_as(
        &app,
        "330106",
        json!([
            purchase("V-4", "5000000.00"),
            contract("P-2", "V-5", "3000000.00"),
            contract("P-2", "V-6", "3000000.00")
        ]),
    )
    .await;
    assert_eq!(
        mixed.data()["reportPayments"]["created"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    for batch in [
        json!([
            contract("P-3", "V-7", "1000000.00"),
            purchase("V-8", "4999999.99")
        ]),
        json!([
            contract("P-4", "V-9", "1000000.00"),
            contract("P-4", "V-10", "1000000.01")
        ]),
        json!([
            contract("P-2", "V-11", "3000000.00"),
            contract("P-2", "V-12", "3000000.02")
        ]),
    ] {
        let res = report_as(&app, "330106", batch.clone()).await;
        assert_eq!(res.error_code(), Some("CONFLICT"), "{batch}: {}", res.body);
    }
    assert_eq!(
        count_lines(&app, "330106").await,
        5,
        "refused batches write nothing"
    );
}

#[tokio::test]
async fn a_district_cannot_report_or_read_for_another_district() {
    let app = spawn_app().await;
    register(&app, CODE_A, "330106").await;
    let token = app.token(Role::District, Some("330108"));
    let res = app
        .gql(
            Some(&token),
            REPORT,
            json!({ "d": "330106", "y": 2024, "l": [rent("V-1", "1.00")] }),
        )
        .await;
    assert_eq!(res.error_code(), Some("FORBIDDEN"));
    let res = app
        .gql(Some(&token), CLAIM, json!({ "d": "330106", "y": 2024 }))
        .await;
    assert_eq!(res.error_code(), Some("FORBIDDEN"));
    let res = app
        .gql(
            Some(&token),
            "{ paymentLines(districtCode: \"330106\", fiscalYear: 2024) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(res.error_code(), Some("FORBIDDEN"));
    assert_eq!(count_lines(&app, "330106").await, 0);
}

#[tokio::test]
async fn a_submitted_claim_freezes_its_lines_until_finance_returns_it() {
    let app = spawn_app().await;
    register(&app, CODE_A, "330106").await;
    report_as(
        &app,
        "330106",
        json!([rent("V-1", "100.00"), rent("V-2", "0.01")]),
    )
    .await
    .data();
    let token = app.token(Role::District, Some("330106"));
    let vars = json!({ "d": "330106", "y": 2024 });

    let submitted = app.gql(Some(&token), SUBMIT, vars.clone()).await;
    let claim = &submitted.data()["submitClaim"];
    assert_eq!(claim["status"], "SUBMITTED");
    assert_eq!(claim["lineCount"], 2);
    assert_eq!(claim["paidTotal"], "100.01");
    let hash = claim["contentHash"].as_str().unwrap().to_string();
    assert_eq!(hash.len(), 64);

    // Submitting again is idempotent; a new line is refused while submitted.
    let again = app.gql(Some(&token), SUBMIT, vars.clone()).await;
    assert_eq!(again.data()["submitClaim"]["contentHash"], hash.as_str());
    let res = report_as(&app, "330106", json!([rent("V-3", "5.00")])).await;
    assert_eq!(res.error_code(), Some("CONFLICT"));

    // Only finance returns it, with a reason.
    let ret = "mutation($d: String!, $y: Int!, $r: String!) { returnClaim(districtCode: $d, fiscalYear: $y, reason: $r) { status } }";
    let res = app
        .gql(
            Some(&token),
            ret,
            json!({ "d": "330106", "y": 2024, "r": "x" }),
        )
        .await;
    assert_eq!(res.error_code(), Some("FORBIDDEN"));
    let res = app
        .gql_as(
            Role::CityFinance,
            ret,
            json!({ "d": "330106", "y": 2024, "r": " " }),
        )
        .await;
    assert_eq!(res.error_code(), Some("BAD_USER_INPUT"));
    let res = app
        .gql_as(
            Role::CityFinance,
            ret,
            json!({ "d": "330106", "y": 2024, "r": "voucher V-2 is unreadable" }),
        )
        .await;
    assert_eq!(res.data()["returnClaim"]["status"], "RETURNED");

    report_as(&app, "330106", json!([rent("V-3", "5.00")]))
        .await
        .data();
    let resubmitted = app.gql(Some(&token), SUBMIT, vars.clone()).await;
    assert_ne!(
        resubmitted.data()["submitClaim"]["contentHash"],
        hash.as_str()
    );

    let view = app.gql(Some(&token), CLAIM, vars).await;
    let claim = &view.data()["claim"];
    assert_eq!(claim["lineCount"], 3);
    assert_eq!(claim["lines"]["totalCount"], 3);
    let actions: Vec<&str> = claim["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["SUBMITTED", "RETURNED", "SUBMITTED"]);
    assert_eq!(claim["history"][1]["reason"], "voucher V-2 is unreadable");
}

#[tokio::test]
async fn a_claim_without_lines_is_refused() {
    let app = spawn_app().await;
    let token = app.token(Role::District, Some("330106"));
    let res = app
        .gql(Some(&token), SUBMIT, json!({ "d": "330106", "y": 2024 }))
        .await;
    assert_eq!(res.error_code(), Some("BAD_USER_INPUT"));
}

#[tokio::test]
async fn reports_and_claims_are_audited() {
    let app = spawn_app().await;
    register(&app, CODE_A, "330106").await;
    report_as(&app, "330106", json!([rent("V-1", "1.00")]))
        .await
        .data();
    let token = app.token(Role::District, Some("330106"));
    app.gql(Some(&token), SUBMIT, json!({ "d": "330106", "y": 2024 }))
        .await
        .data();
    let res = app
        .gql_as(
            Role::Auditor,
            "{ auditLog(first: 10) { nodes { operation actorRole actorDistrict targetId } } }",
            json!({}),
        )
        .await;
    let ops: Vec<String> = res.data()["auditLog"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["operation"].as_str().unwrap().to_string())
        .collect();
    assert!(ops.contains(&"reportPayments".to_string()), "{ops:?}");
    assert!(ops.contains(&"submitClaim".to_string()), "{ops:?}");
    let node = &res.data()["auditLog"]["nodes"][0];
    assert_eq!(node["actorDistrict"], "330106");
    assert_eq!(node["targetId"], "330106/2024");
}

async fn import(app: &TestApp, token: &str, district: &str, csv: &str) -> (u16, Value) {
    let response = app
        .client
        .post(format!("{}/imports/payments/{district}/2024", app.address))
        .bearer_auth(token)
        .header("Content-Type", "text/csv; charset=utf-8")
        .body(csv.to_string())
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn a_csv_file_with_chinese_headers_and_a_bom_is_imported_all_or_nothing() {
    let app = spawn_app().await;
    register(&app, CODE_A, "330106").await;
    let token = app.token(Role::District, Some("330106"));
    let good = format!(
        "\u{feff}统一社会信用代码,补助类型,补助年度,合同编号,计算基数,成交日期,补助金额,拨付日期,凭证号\n\
         {CODE_A},租房,2024,L-1,\"1,000,000.00\",,300000.00,2024-06-30,记-001\n\
         {CODE_A},租房,2024,L-1,1000000.00,,0.01,2024-07-31,记-002\n"
    );
    let (status, body) = import(&app, &token, "330106", &good).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["created"], 2);
    assert_eq!(body["createdAmount"], "300000.01");

    // The same file again changes nothing.
    let (_, body) = import(&app, &token, "330106", &good).await;
    assert_eq!(body["created"], 0);
    assert_eq!(body["unchanged"], 2);

    // A bad row names its file row; nothing of the file is written.
    let bad = format!(
        "creditCode,kind,subsidyYear,contractNo,basis,amount,paymentDate,voucherNo\n\
         {CODE_A},RENT,2024,L-1,100.00,30.00,2024-06-30,V-10\n\
         {CODE_A},RENT,2024,L-1,100.00,30.001,2024-06-30,V-11\n"
    );
    let (status, body) = import(&app, &token, "330106", &bad).await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["extensions"]["field"], "row 3 amount");
    assert_eq!(count_lines(&app, "330106").await, 2);
}

#[tokio::test]
async fn a_csv_import_for_another_district_or_without_a_token_is_refused() {
    let app = spawn_app().await;
    register(&app, CODE_A, "330106").await;
    let csv = format!(
        "creditCode,kind,subsidyYear,contractNo,basis,amount,paymentDate,voucherNo\n\
         {CODE_A},RENT,2024,L-1,100.00,30.00,2024-06-30,V-1\n"
    );
    let other = app.token(Role::District, Some("330108"));
    let (status, body) = import(&app, &other, "330106", &csv).await;
    assert_eq!(status, 403, "{body}");
    let viewer = app.token_for(Role::Viewer);
    let (status, _) = import(&app, &viewer, "330106", &csv).await;
    assert_eq!(status, 403);
    let response = app
        .client
        .post(format!("{}/imports/payments/330106/2024", app.address))
        .header("Content-Type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    assert_eq!(count_lines(&app, "330106").await, 0);
}

#[tokio::test]
async fn an_enterprise_shows_its_latest_payments_to_those_who_may_see_them() {
    let app = spawn_app().await;
    register(&app, CODE_A, "330106").await;
    let dated = |voucher: &str, day: &str| {
        json!({ "creditCode": CODE_A, "kind": "RENT", "subsidyYear": 2024, "contractNo": "L-1",
                "basis": "100.00", "amount": "10.00", "paymentDate": day, "voucherNo": voucher })
    };
    report_as(
        &app,
        "330106",
        json!([dated("A-1", "2024-01-10"), dated("A-2", "2024-03-10")]),
    )
    .await
    .data();
    report_as(&app, "330108", json!([dated("B-1", "2024-02-10")]))
        .await
        .data();
    let q = "query($n: Int!) { enterprise(creditCode: \"91330100716105852F\") { payments(latest: $n) { voucherNo districtCode } } }";

    let res = app.gql_as(Role::CityFinance, q, json!({ "n": 20 })).await;
    let vouchers: Vec<&str> = res.data()["enterprise"]["payments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["voucherNo"].as_str().unwrap())
        .collect();
    assert_eq!(vouchers, ["A-2", "B-1", "A-1"], "newest payment first");

    let res = app.gql_as(Role::CityFinance, q, json!({ "n": 2 })).await;
    assert_eq!(
        res.data()["enterprise"]["payments"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let token = app.token(Role::District, Some("330108"));
    let res = app.gql(Some(&token), q, json!({ "n": 20 })).await;
    let lines = res.data()["enterprise"]["payments"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(lines.len(), 1, "a district sees only its own lines");
    assert_eq!(lines[0]["districtCode"], "330108");

    let res = app.gql_as(Role::Viewer, q, json!({ "n": 20 })).await;
    assert_eq!(res.error_code(), Some("FORBIDDEN"));
    let res = app.gql_as(Role::CityFinance, q, json!({ "n": 0 })).await;
    assert_eq!(res.error_code(), Some("BAD_USER_INPUT"));
}

#[tokio::test]
async fn a_retried_report_is_unchanged_even_after_the_claim_is_submitted() {
    let app = spawn_app().await;
    register(&app, CODE_A, "330106").await;
    let lines = json!([rent("V-1", "100.00")]);
    report_as(&app, "330106", lines.clone()).await.data();
    let token = app.token(Role::District, Some("330106"));
    app.gql(Some(&token), SUBMIT, json!({ "d": "330106", "y": 2024 }))
        .await
        .data();
    let again = report_as(&app, "330106", lines).await;
    assert_eq!(
        again.data()["reportPayments"]["unchanged"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let new = report_as(&app, "330106", json!([rent("V-2", "1.00")])).await;
    assert_eq!(new.error_code(), Some("CONFLICT"));
}

#[tokio::test]
async fn a_csv_file_larger_than_a_database_parameter_list_imports_in_one_report() {
    let app = spawn_app().await;
    register(&app, CODE_A, "330106").await;
    let token = app.token(Role::District, Some("330106"));
    // More vouchers than SQLite binds in one statement (32,766).
    let mut csv =
        String::from("creditCode,kind,subsidyYear,contractNo,basis,amount,paymentDate,voucherNo\n");
    for i in 0..35_000 {
        csv.push_str(&format!(
            "{CODE_A},RENT,2024,L-1,1000.00,0.01,2024-06-30,B-{i:05}\n"
        ));
    }
    let (status, body) = import(&app, &token, "330106", &csv).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["created"], 35_000);
    assert_eq!(body["createdAmount"], "350.00");
    let (_, body) = import(&app, &token, "330106", &csv).await;
    assert_eq!(
        body["unchanged"], 35_000,
        "the same file again changes nothing"
    );
}
