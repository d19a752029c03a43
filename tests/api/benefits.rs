//! The benefits of an HQ for a year (§6, §7, §8, §10, §12) over HTTP: `benefits`,
//! `Enterprise.benefits` and `benefitsOfYear` — the items with their clauses, the access of the
//! enterprise's figures, the errors, the keyset list and its statements per page.

use hq_api::auth::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};
use crate::recognition::credit_code;

const BENEFITS: &str = "query($c: String!, $y: Int!) { benefits(creditCode: $c, year: $y) {
  creditCode name districtCode year recognizedOn stars revokedOn evaluatedOn parameterVersionIds
  starReward { clause state tier alreadyGranted due cityShare districtShare grantedSoFar grantedOn
    note { reason clause detail } detail parameterVersionIds }
  rentSubsidy { clause kind open notes { reason clause detail } districtCode parametersOn ratio cap
    paid eligible lines linesReconciled parameterVersionIds }
  purchaseSubsidy { clause kind open notes { reason clause detail } ratio cap paid eligible lines }
  rdUplift { clause parameter uplift percentagePoints note { reason } parameterVersionIds }
  talentQuota { clause parameter quota note { reason } }
  vehicleQuota { clause parameter quota note { reason } }
} }";

/// Registers an enterprise eligible for recognition in `district`, with 2023 and 2024 figures.
async fn register_eligible(app: &TestApp, code: &str, district: &str) {
    let input = json!({
        "creditCode": code, "registeredOn": "2020-01-01", "name": format!("杭州权益测试{code}有限公司"),
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

/// Registers, recognises for 2024 on 2024-04-01 and rates `stars` (HQ_OFFICE).
async fn hq(app: &TestApp, n: u32, district: &str, stars: i32) -> String {
    let code = credit_code(n);
    register_eligible(app, &code, district).await;
    crate::recognition::recognize(app, &code, 2024, "2024-04-01")
        .await
        .data();
    crate::recognition::rate(app, &code, 2024, stars)
        .await
        .data();
    code
}

async fn benefits_as(
    app: &TestApp,
    token: Option<&str>,
    code: &str,
    year: i32,
) -> crate::helpers::Gql {
    app.gql(token, BENEFITS, json!({ "c": code, "y": year }))
        .await
}

async fn benefits(app: &TestApp, code: &str) -> Value {
    let token = app.token_for(Role::HqOffice);
    let res = benefits_as(app, Some(&token), code, 2024).await;
    res.data()["benefits"].clone()
}

fn reasons(notes: &Value) -> Vec<&str> {
    notes
        .as_array()
        .expect("notes")
        .iter()
        .map(|n| n["reason"].as_str().expect("reason"))
        .collect()
}

#[tokio::test]
async fn a_four_star_hq_is_due_its_reward_and_open_to_both_subsidies_each_with_its_clause() {
    // Arrange
    let app = spawn_app().await;
    let code = hq(&app, 1, "330106", 4).await;

    // Act
    let b = benefits(&app, &code).await;

    // Assert
    assert_eq!(b["creditCode"], code.as_str());
    assert_eq!(b["districtCode"], "330106");
    assert_eq!(b["recognizedOn"], "2024-04-01");
    assert_eq!(b["stars"], 4);
    assert_eq!(b["evaluatedOn"], "2024-12-31");
    let reward = &b["starReward"];
    assert_eq!(reward["clause"], "§6");
    assert_eq!(reward["state"], "DUE");
    assert_eq!(reward["tier"], "5000000.00");
    assert_eq!(reward["due"], "5000000.00");
    assert_eq!(reward["cityShare"], "2500000.00");
    assert_eq!(reward["districtShare"], "2500000.00");
    assert_eq!(reward["grantedSoFar"], "0.00");
    assert_eq!(reward["note"], Value::Null);
    for kind in ["rentSubsidy", "purchaseSubsidy"] {
        assert_eq!(b[kind]["clause"], "§7");
        assert_eq!(b[kind]["open"], true, "{kind}: {}", b[kind]["notes"]);
        assert_eq!(b[kind]["paid"], "0.00");
    }
    assert_eq!(b["rentSubsidy"]["kind"], "RENT");
    assert_eq!(b["rentSubsidy"]["ratio"], "0.30");
    assert_eq!(b["rentSubsidy"]["cap"], "2000000.00");
    assert_eq!(b["rentSubsidy"]["districtCode"], "330106");
    assert_eq!(b["rentSubsidy"]["parametersOn"], "2024-01-01");
    assert_eq!(b["purchaseSubsidy"]["ratio"], "0.05");
    assert_eq!(b["purchaseSubsidy"]["cap"], "10000000.00");
    assert_eq!(b["rdUplift"]["clause"], "§8");
    assert_eq!(b["rdUplift"]["parameter"], "rd_subsidy.uplift.4");
    assert_eq!(b["rdUplift"]["uplift"], "0.15");
    assert_eq!(b["rdUplift"]["percentagePoints"], "15.00");
    assert_eq!(b["talentQuota"]["clause"], "§10");
    assert_eq!(b["talentQuota"]["quota"], 8);
    assert_eq!(b["vehicleQuota"]["clause"], "§12");
    assert_eq!(b["vehicleQuota"]["parameter"], "vehicle_quota.4");
    assert_eq!(b["vehicleQuota"]["quota"], 0);
    // Every item's versions are among the benefits' versions.
    let all: Vec<&Value> = b["parameterVersionIds"]
        .as_array()
        .unwrap()
        .iter()
        .collect();
    assert!(all.len() >= 9, "{all:?}");
    for item in ["starReward", "rentSubsidy", "rdUplift"] {
        for id in b[item]["parameterVersionIds"].as_array().unwrap() {
            assert!(all.contains(&id), "{item} {id}");
        }
    }
}

#[tokio::test]
async fn below_three_stars_there_is_no_reward_and_no_office_subsidy_and_it_says_why() {
    let app = spawn_app().await;
    let code = hq(&app, 2, "330106", 2).await;

    let b = benefits(&app, &code).await;

    assert_eq!(b["starReward"]["state"], "NOTHING_DUE");
    assert_eq!(b["starReward"]["due"], "0.00");
    assert_eq!(b["starReward"]["note"]["reason"], "STARS_BELOW_3");
    assert_eq!(b["starReward"]["note"]["clause"], "§6");
    assert_eq!(b["rentSubsidy"]["open"], false);
    assert_eq!(reasons(&b["rentSubsidy"]["notes"]), ["STARS_BELOW_3"]);
    assert_eq!(b["rentSubsidy"]["notes"][0]["clause"], "§7");
    assert_eq!(b["talentQuota"]["quota"], 3);
}

#[tokio::test]
async fn not_recognised_or_revoked_gives_nothing_with_the_reason() {
    let app = spawn_app().await;
    let unrecognised = credit_code(3);
    register_eligible(&app, &unrecognised, "330106").await;
    let revoked = hq(&app, 4, "330106", 5).await;
    crate::recognition::revoke(&app, &revoked, "2024-07-01")
        .await
        .data();

    let b = benefits(&app, &unrecognised).await;
    assert_eq!(b["starReward"]["note"]["reason"], "NOT_RECOGNIZED");
    assert_eq!(reasons(&b["purchaseSubsidy"]["notes"]), ["NOT_RECOGNIZED"]);
    assert_eq!(b["talentQuota"]["quota"], Value::Null);
    assert_eq!(b["talentQuota"]["note"]["reason"], "NOT_RECOGNIZED");

    let b = benefits(&app, &revoked).await;
    assert_eq!(b["revokedOn"], "2024-07-01");
    assert_eq!(b["stars"], 5);
    assert_eq!(b["starReward"]["note"]["reason"], "TITLE_REVOKED");
    assert_eq!(b["starReward"]["due"], "0.00");
    assert_eq!(reasons(&b["rentSubsidy"]["notes"]), ["TITLE_REVOKED"]);
    assert_eq!(b["rdUplift"]["uplift"], Value::Null);
}

#[tokio::test]
async fn a_granted_reward_and_a_reconciled_rent_show_as_granted_and_paid_and_shut_the_purchase() {
    // Arrange: 3 stars, the 2024 reward granted, a 2024 rent paid by 330106 and reconciled.
    let app = spawn_app().await;
    let code = hq(&app, 5, "330106", 3).await;
    app.gql_as(
        Role::HqOffice,
        "mutation { grantStarRewards(year: 2024, grantedOn: \"2024-06-01\") { grantedTotal } }",
        json!({}),
    )
    .await
    .data();
    let district = app.token(Role::District, Some("330106"));
    app.gql(
        Some(&district),
        "mutation($l: [PaymentLineInput!]!) { reportPayments(districtCode: \"330106\", fiscalYear: 2024, lines: $l) { created { seq } } }",
        json!({ "l": [{
            "creditCode": code, "kind": "RENT", "subsidyYear": 2024, "contractNo": "L-1",
            "basis": "1000000.00", "amount": "400000.00", "paymentDate": "2024-06-30", "voucherNo": "V-1",
        }] }),
    )
    .await
    .data();
    app.gql(
        Some(&district),
        "mutation { submitClaim(districtCode: \"330106\", fiscalYear: 2024) { status } }",
        json!({}),
    )
    .await
    .data();
    app.gql_as(
        Role::CityFinance,
        "mutation { reconcileClaim(districtCode: \"330106\", fiscalYear: 2024) { eligibleTotal } }",
        json!({}),
    )
    .await
    .data();

    // Act
    let b = benefits(&app, &code).await;

    // Assert: the reward as granted; the rent paid 400,000.00, eligible min(0.30 × 1,000,000.00,
    // 2,000,000.00) = 300,000.00; a purchase for 2024 is shut (never both).
    let reward = &b["starReward"];
    assert_eq!(reward["state"], "GRANTED");
    assert_eq!(reward["due"], "3000000.00");
    assert_eq!(reward["grantedOn"], "2024-06-01");
    assert_eq!(reward["grantedSoFar"], "3000000.00");
    assert_eq!(reward["cityShare"], "1500000.00");
    let rent = &b["rentSubsidy"];
    assert_eq!(rent["open"], true);
    assert_eq!(rent["paid"], "400000.00");
    assert_eq!(rent["eligible"], "300000.00");
    assert_eq!(
        (rent["lines"].clone(), rent["linesReconciled"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(b["purchaseSubsidy"]["open"], false);
    assert_eq!(
        reasons(&b["purchaseSubsidy"]["notes"]),
        ["PURCHASE_AND_RENT"]
    );
}

#[tokio::test]
async fn an_owned_office_shuts_both_subsidies() {
    let app = spawn_app().await;
    let code = hq(&app, 6, "330106", 4).await;
    app.gql_as(
        Role::HqOffice,
        "mutation($i: RecordEnterpriseEventInput!) { recordEnterpriseEvent(input: $i) { event { databaseId } } }",
        json!({ "i": { "creditCode": code, "kind": "OFFICE_ACQUIRED", "effectiveDate": "2024-03-01" } }),
    )
    .await
    .data();

    let b = benefits(&app, &code).await;

    assert_eq!(reasons(&b["rentSubsidy"]["notes"]), ["OWNS_OFFICE"]);
    assert_eq!(reasons(&b["purchaseSubsidy"]["notes"]), ["OWNS_OFFICE"]);
    assert_eq!(b["starReward"]["state"], "DUE");
}

#[tokio::test]
async fn the_benefits_have_exactly_the_access_of_the_enterprises_figures() {
    // Arrange: A in 330106.
    let app = spawn_app().await;
    let code = hq(&app, 7, "330106", 3).await;
    let nested = "query($c: String!) { enterprise(creditCode: $c) {
        figures { year } benefits(year: 2024) { starReward { due } } } }";

    for (role, district, allowed) in [
        (Role::HqOffice, None, true),
        (Role::CityFinance, None, true),
        (Role::Auditor, None, true),
        (Role::District, Some("330106"), true),
        (Role::District, Some("330108"), false),
        (Role::Viewer, None, false),
    ] {
        let token = app.token(role, district);
        // Act
        let direct = benefits_as(&app, Some(&token), &code, 2024).await;
        let through = app.gql(Some(&token), nested, json!({ "c": code })).await;

        // Assert: the same answer as the figures, with the same code.
        let label = format!("{role:?} {district:?}");
        if allowed {
            assert_eq!(
                direct.data()["benefits"]["starReward"]["due"],
                "3000000.00",
                "{label}"
            );
            assert_eq!(
                through.data()["enterprise"]["benefits"]["starReward"]["due"],
                "3000000.00",
                "{label}"
            );
        } else {
            assert_eq!(direct.error_code(), Some("FORBIDDEN"), "{label}");
            let errors = through.body["errors"].as_array().expect("errors");
            let codes: Vec<(&str, &str)> = errors
                .iter()
                .map(|e| {
                    (
                        e["path"][1].as_str().unwrap_or_default(),
                        e["extensions"]["code"].as_str().unwrap_or_default(),
                    )
                })
                .collect();
            assert!(
                codes.contains(&("figures", "FORBIDDEN")),
                "{label}: {codes:?}"
            );
            assert!(
                codes.contains(&("benefits", "FORBIDDEN")),
                "{label}: {codes:?}"
            );
            assert_eq!(through.body["data"]["enterprise"]["benefits"], Value::Null);
        }
    }
    // Anonymous: refused as the enterprise is.
    let res = benefits_as(&app, None, &code, 2024).await;
    assert_eq!(res.error_code(), Some("UNAUTHENTICATED"));
    let res = app
        .gql(
            None,
            "{ benefitsOfYear(year: 2024) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(res.error_code(), Some("UNAUTHENTICATED"));
    let res = app.gql(None, nested, json!({ "c": code })).await;
    assert_eq!(res.error_code(), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn an_unknown_credit_code_a_year_outside_the_policy_and_bad_filters_are_refused_by_field() {
    let app = spawn_app().await;
    let code = hq(&app, 8, "330106", 3).await;
    let token = app.token_for(Role::HqOffice);

    let res = benefits_as(&app, Some(&token), &credit_code(99), 2024).await;
    assert_eq!(res.error_code(), Some("NOT_FOUND"));

    for year in [2022, 2028] {
        let res = benefits_as(&app, Some(&token), &code, year).await;
        assert_eq!(res.error_code(), Some("BAD_USER_INPUT"), "{year}");
        assert_eq!(res.error_extensions()["field"], "year");
    }
    let res = benefits_as(&app, Some(&token), "91110100600037341L", 2024).await;
    assert_eq!(res.error_code(), Some("BAD_USER_INPUT"));
    assert_eq!(res.error_extensions()["field"], "creditCode");

    let res = app
        .gql(
            Some(&token),
            "query($c: String!) { enterprise(creditCode: $c) { benefits(year: 2030) { year } } }",
            json!({ "c": code }),
        )
        .await;
    assert_eq!(res.error_code(), Some("BAD_USER_INPUT"));
    assert_eq!(res.error_extensions()["field"], "year");

    for (args, field) in [
        ("year: 2029", "year"),
        ("year: 2024, stars: 6", "stars"),
        ("year: 2024, districtCode: \"33010\"", "districtCode"),
    ] {
        let res = app
            .gql(
                Some(&token),
                &format!("{{ benefitsOfYear({args}) {{ totalCount }} }}"),
                json!({}),
            )
            .await;
        assert_eq!(res.error_code(), Some("BAD_USER_INPUT"), "{args}");
        assert_eq!(res.error_extensions()["field"], field, "{args}");
    }
}

const LIST: &str = "query($y: Int!, $d: String, $s: Int, $n: Int, $after: String) {
  benefitsOfYear(year: $y, districtCode: $d, stars: $s, first: $n, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { creditCode districtCode stars starReward { due } rentSubsidy { open } talentQuota { quota } } } }";

#[tokio::test]
async fn the_list_of_a_year_pages_by_credit_code_and_filters_by_district_and_stars() {
    // Arrange: four HQs of 2024 (two in 330106, two in 330108) and one not recognised.
    let app = spawn_app().await;
    let a = hq(&app, 11, "330106", 3).await;
    let b = hq(&app, 12, "330108", 4).await;
    let c = hq(&app, 13, "330106", 5).await;
    let d = hq(&app, 14, "330108", 2).await;
    register_eligible(&app, &credit_code(15), "330106").await;
    let token = app.token_for(Role::HqOffice);

    // Act: page by page, two at a time.
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let res = app
            .gql(
                Some(&token),
                LIST,
                json!({ "y": 2024, "n": 2, "after": after }),
            )
            .await;
        let page = &res.data()["benefitsOfYear"];
        assert_eq!(page["totalCount"], 4);
        for node in page["nodes"].as_array().unwrap() {
            seen.push(node["creditCode"].as_str().unwrap().to_string());
        }
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }

    // Assert
    let mut expected = vec![a.clone(), b.clone(), c.clone(), d.clone()];
    expected.sort();
    assert_eq!(seen, expected);
    let filtered = |d: Option<&str>, s: Option<i32>| {
        let app = &app;
        let token = token.clone();
        let (d, s) = (d.map(str::to_string), s);
        async move {
            let res = app
                .gql(
                    Some(&token),
                    LIST,
                    json!({ "y": 2024, "d": d, "s": s, "n": 10 }),
                )
                .await;
            let page = res.data()["benefitsOfYear"].clone();
            let codes: Vec<String> = page["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["creditCode"].as_str().unwrap().to_string())
                .collect();
            (page["totalCount"].as_u64().unwrap(), codes)
        }
    };
    let mut in_106 = vec![a.clone(), c.clone()];
    in_106.sort();
    assert_eq!(filtered(Some("330106"), None).await, (2, in_106));
    assert_eq!(filtered(None, Some(4)).await, (1, vec![b.clone()]));
    assert_eq!(
        filtered(Some("330108"), Some(2)).await,
        (1, vec![d.clone()])
    );
    assert_eq!(filtered(Some("330108"), Some(5)).await, (0, vec![]));
}

#[tokio::test]
async fn a_district_lists_only_its_own_hqs_and_may_not_name_another_district() {
    let app = spawn_app().await;
    let own = hq(&app, 21, "330106", 3).await;
    hq(&app, 22, "330108", 3).await;
    let token = app.token(Role::District, Some("330106"));

    let res = app
        .gql(Some(&token), LIST, json!({ "y": 2024, "n": 10 }))
        .await;
    let page = &res.data()["benefitsOfYear"];
    assert_eq!(page["totalCount"], 1);
    assert_eq!(page["nodes"][0]["creditCode"], own.as_str());

    let res = app
        .gql(
            Some(&token),
            LIST,
            json!({ "y": 2024, "d": "330108", "n": 10 }),
        )
        .await;
    assert_eq!(res.error_code(), Some("FORBIDDEN"));

    for role in [Role::Viewer] {
        let res = app.gql_as(role, LIST, json!({ "y": 2024, "n": 10 })).await;
        assert_eq!(res.error_code(), Some("FORBIDDEN"), "{role:?}");
    }
    for role in [Role::CityFinance, Role::Auditor] {
        let res = app.gql_as(role, LIST, json!({ "y": 2024, "n": 10 })).await;
        assert_eq!(res.data()["benefitsOfYear"]["totalCount"], 2, "{role:?}");
    }
}

#[tokio::test]
async fn a_page_of_benefits_costs_the_same_statements_at_two_and_at_six_rows() {
    // Arrange
    let (app, statements) = crate::helpers::spawn_app_counting_statements().await;
    for n in 31..=38 {
        hq(&app, n, "330106", 3 + (n % 3) as i32).await;
    }
    let token = app.token_for(Role::HqOffice);
    let nested = "query($n: Int!) { enterprises(first: $n, filter: { recognizedIn: 2024 }) {
        nodes { creditCode benefits(year: 2024) { starReward { due } rentSubsidy { paid } } } } }";

    // Act: the least of three tries for each size, for the list and for the nested field.
    let mut per_request = Vec::new();
    for query in [LIST, nested] {
        for n in [2, 6] {
            let mut least = u64::MAX;
            for _ in 0..3 {
                let before = statements.load(std::sync::atomic::Ordering::SeqCst);
                let res = app
                    .gql(Some(&token), query, json!({ "y": 2024, "n": n }))
                    .await;
                let after = statements.load(std::sync::atomic::Ordering::SeqCst);
                res.data();
                least = least.min(after - before);
            }
            per_request.push(least);
        }
    }

    // Assert
    assert_eq!(per_request[0], per_request[1], "{per_request:?}");
    assert_eq!(per_request[2], per_request[3], "{per_request:?}");
}

async fn download(app: &TestApp, token: Option<&str>, path: &str) -> reqwest::Response {
    let mut request = app.client.get(format!("{}{path}", app.address));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn the_benefits_workbook_needs_a_reader_and_confines_a_district_to_its_own_hqs() {
    use calamine::Reader;
    use hq_api::services::workbook::{BENEFITS_HEADER_ROW, BENEFITS_SHEET};

    let app = spawn_app().await;
    let own = hq(&app, 41, "330106", 3).await;
    hq(&app, 42, "330108", 4).await;

    let res = download(&app, None, "/exports/benefits/2024.xlsx").await;
    assert_eq!(res.status().as_u16(), 401);
    let viewer = app.token_for(Role::Viewer);
    let res = download(&app, Some(&viewer), "/exports/benefits/2024.xlsx").await;
    assert_eq!(res.status().as_u16(), 403);
    let finance = app.token_for(Role::CityFinance);
    let res = download(&app, Some(&finance), "/exports/benefits/2024.csv").await;
    assert_eq!(res.status().as_u16(), 404);
    for path in ["/exports/benefits/2028.xlsx", "/exports/benefits/abc.xlsx"] {
        let res = download(&app, Some(&finance), path).await;
        assert_eq!(res.status().as_u16(), 400, "{path}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{path}"
        );
        assert_eq!(body["errors"][0]["extensions"]["field"], "year", "{path}");
    }

    let district = app.token(Role::District, Some("330106"));
    let res = download(&app, Some(&district), "/exports/benefits/2024.xlsx").await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(
        res.headers()["content-disposition"],
        "attachment; filename=\"benefits-2024.xlsx\""
    );
    assert_eq!(res.headers()["cache-control"], "no-store");
    let bytes = res.bytes().await.unwrap().to_vec();
    let mut xlsx: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    let sheet = xlsx.worksheet_range(BENEFITS_SHEET).unwrap();
    let codes: Vec<String> = (BENEFITS_HEADER_ROW + 1..sheet.height() as u32)
        .filter_map(|r| sheet.get_value((r, 0)).map(ToString::to_string))
        .filter(|c| c.len() == 18)
        .collect();
    assert_eq!(codes, [own]);
}

#[tokio::test]
async fn the_benefits_workbook_gives_the_api_figures_as_written_and_as_recalculated() {
    use calamine::{Data, Reader};
    use hq_api::services::workbook::{BENEFITS_HEADER_ROW, BENEFITS_SHEET};
    use rust_decimal::Decimal;

    // Arrange: three HQs of 2024 (3, 4 and 5 stars), one with a reported rent.
    let app = spawn_app().await;
    let a = hq(&app, 51, "330106", 3).await;
    hq(&app, 52, "330106", 4).await;
    hq(&app, 53, "330108", 5).await;
    let district = app.token(Role::District, Some("330106"));
    app.gql(
        Some(&district),
        "mutation($l: [PaymentLineInput!]!) { reportPayments(districtCode: \"330106\", fiscalYear: 2024, lines: $l) { created { seq } } }",
        json!({ "l": [{
            "creditCode": a, "kind": "RENT", "subsidyYear": 2024, "contractNo": "L-1",
            "basis": "1000000.00", "amount": "123456.78", "paymentDate": "2024-06-30", "voucherNo": "V-1",
        }] }),
    )
    .await
    .data();
    let token = app.token_for(Role::HqOffice);
    let res = app
        .gql(
            Some(&token),
            "{ benefitsOfYear(year: 2024, first: 10) { nodes { creditCode
                starReward { due cityShare districtShare } rentSubsidy { paid eligible }
                purchaseSubsidy { paid eligible } } } }",
            json!({}),
        )
        .await;
    let nodes = res.data()["benefitsOfYear"]["nodes"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(nodes.len(), 3);
    let api_total = |pick: &dyn Fn(&Value) -> &Value| -> Decimal {
        nodes
            .iter()
            .map(|n| pick(n).as_str().unwrap().parse::<Decimal>().unwrap())
            .sum()
    };
    let totals: [(&str, Decimal); 5] = [
        ("本年度奖励金额", api_total(&|n| &n["starReward"]["due"])),
        (
            "其中市级承担",
            api_total(&|n| &n["starReward"]["cityShare"]),
        ),
        (
            "其中区县承担",
            api_total(&|n| &n["starReward"]["districtShare"]),
        ),
        ("租房补助已拨付", api_total(&|n| &n["rentSubsidy"]["paid"])),
        (
            "购房补助已拨付",
            api_total(&|n| &n["purchaseSubsidy"]["paid"]),
        ),
    ];
    assert_eq!(totals[0].1, "18000000.00".parse::<Decimal>().unwrap());
    assert_eq!(totals[3].1, "123456.78".parse::<Decimal>().unwrap());

    // Act
    let res = download(&app, Some(&token), "/exports/benefits/2024.xlsx").await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(
        res.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let bytes = res.bytes().await.unwrap().to_vec();

    // Assert, as written: numbers as numbers, the totals row's SUM formulas cache the API's sums.
    let mut xlsx: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.clone())).unwrap();
    let sheet = xlsx.worksheet_range(BENEFITS_SHEET).unwrap();
    let formulas = xlsx.worksheet_formula(BENEFITS_SHEET).unwrap();
    let header: Vec<String> = (0..sheet.width() as u32)
        .map(|c| {
            sheet
                .get_value((BENEFITS_HEADER_ROW, c))
                .map(ToString::to_string)
                .unwrap_or_default()
        })
        .collect();
    let column = |name: &str| header.iter().position(|h| h == name).unwrap() as u32;
    let total_row = BENEFITS_HEADER_ROW + 1 + 3;
    assert_eq!(
        sheet.get_value((total_row, 0)).map(ToString::to_string),
        Some("合计".to_string())
    );
    for (name, api) in &totals {
        let at = (total_row, column(name));
        assert!(
            formulas.get_value(at).unwrap().starts_with("SUM("),
            "{name}: a formula"
        );
        let Some(Data::Float(cached)) = sheet.get_value(at) else {
            panic!("{name}: no cached number");
        };
        assert_eq!(
            format!("{cached:.2}").parse::<Decimal>().unwrap(),
            *api,
            "{name} as cached"
        );
        for r in BENEFITS_HEADER_ROW + 1..total_row {
            assert!(
                matches!(sheet.get_value((r, column(name))), Some(Data::Float(_))),
                "{name}, row {r}: a number"
            );
        }
    }
    for r in BENEFITS_HEADER_ROW + 1..total_row {
        assert!(matches!(
            sheet.get_value((r, column("星级"))),
            Some(Data::Float(_))
        ));
        assert!(matches!(
            sheet.get_value((r, column("认定日期"))),
            Some(Data::DateTime(_))
        ));
    }

    // Assert, as recalculated by a spreadsheet engine.
    let Some(office) = crate::workbook::libreoffice() else {
        println!("LibreOffice (soffice) is not on PATH: the recalculation check is skipped");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("benefits-2024.xlsx");
    std::fs::write(&file, &bytes).unwrap();
    crate::workbook::convert(
        office,
        dir.path(),
        &file,
        "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false,-1",
    );
    let rows = crate::workbook::csv_rows(
        &dir.path()
            .join(format!("benefits-2024-{BENEFITS_SHEET}.csv")),
    );
    let header_at = BENEFITS_HEADER_ROW as usize;
    let total = rows
        .iter()
        .find(|r| r.first().map(String::as_str) == Some("合计"))
        .expect("a total row");
    for (name, api) in &totals {
        let at = rows[header_at].iter().position(|h| h == name).unwrap();
        assert_eq!(
            crate::workbook::amount(&total[at]),
            *api,
            "{name} recalculated"
        );
    }
    crate::workbook::convert(office, dir.path(), &file, "pdf");
    let pdf = std::fs::read(dir.path().join("benefits-2024.pdf")).unwrap();
    assert!(pdf.starts_with(b"%PDF"), "a PDF");
}

/// The query of the README's "Benefits" section (its first `graphql` block).
fn readme_query() -> String {
    let readme = include_str!("../../README.md");
    let section = &readme[readme.find("\n## Benefits\n").expect("a Benefits section")..];
    let start = section.find("```graphql\n").expect("a graphql block") + "```graphql\n".len();
    let end = start + section[start..].find("```").expect("closed");
    section[start..end].to_string()
}

#[tokio::test]
async fn the_readme_benefits_query_answers_on_the_demo_data() {
    // Arrange
    let app = spawn_app().await;
    let db = hq_api::db::connect(&crate::helpers::test_settings(
        &app.database_url,
        &app.secret,
    ))
    .await
    .unwrap();
    hq_api::demo::load(&db).await.unwrap();

    // Act
    let res = app.gql_as(Role::HqOffice, &readme_query(), json!({})).await;

    // Assert: the demo's 2024 five-star HQs (20, as published), each with its items.
    let data = res.data();
    let list = &data["benefitsOfYear"];
    assert_eq!(list["totalCount"], 20);
    let node = &list["nodes"][0];
    assert_eq!(node["stars"], 5);
    assert_eq!(node["starReward"]["tier"], "10000000.00");
    assert_eq!(node["talentQuota"]["quota"], 12);
    assert_eq!(node["rdUplift"]["percentagePoints"], "20.00");
    let one = &data["benefits"];
    assert_eq!(one["stars"], 3);
    assert_eq!(one["starReward"]["state"], "NOTHING_DUE");
    assert_eq!(one["starReward"]["note"]["reason"], "TIER_ALREADY_PAID");
    assert_eq!(one["rentSubsidy"]["paid"], "1239200.00");
    assert_eq!(one["rentSubsidy"]["open"], true);
    assert_eq!(
        one["purchaseSubsidy"]["notes"][0]["reason"],
        "PURCHASE_AND_RENT"
    );
    assert_eq!(one["purchaseSubsidy"]["notes"][0]["clause"], "§7");
}
