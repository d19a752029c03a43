//! The yearly round (`recognitionRound`, `GET /exports/recognitions/{year}.csv`): every
//! enterprise in the registry on the decision date, each verdict equal to `evaluateRecognition`'s,
//! confined for a district, and decided under the policy as the database holds it now.

use hq_api::auth::Role;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};
use crate::recognition::{
    ADD_VERSION, EVALUATE, credit_code, eligible, eligible_enterprise, figures, recognize,
    register, revoke,
};

const DECIDED: &str = "2024-04-15";

/// The fields of `evaluateRecognition` in [`EVALUATE`], for the round's nodes.
const VERDICT: &str = "creditCode year decidedOn eligible route needsReview banUntil failedRules \
    parameterVersionIds rules { rule clause passed detail gap gapKind figures { name value } }";

/// Five enterprises: eligible in 西湖区; recognised for 2023 then revoked (banned on D); without
/// figures; eligible in 滨江区; registered only after D (not in the round). Their codes, the
/// first four in credit-code order.
async fn arrange(app: &TestApp) -> Vec<String> {
    let eligible_own = eligible(app, 31).await;
    let banned = eligible(app, 32).await;
    figures(app, &banned, 2022, "1200000000.00", "0").await;
    recognize(app, &banned, 2023, "2023-06-01").await.data();
    revoke(app, &banned, "2024-03-01").await.data();
    let without_figures = credit_code(33);
    register(app, eligible_enterprise(&without_figures)).await;
    let other_district = credit_code(34);
    let mut input = eligible_enterprise(&other_district);
    input["districtCode"] = json!("330108");
    register(app, input).await;
    figures(app, &other_district, 2023, "1200000000.00", "0").await;
    let later = credit_code(35);
    let mut input = eligible_enterprise(&later);
    input["registeredOn"] = json!("2024-06-01");
    register(app, input).await;
    let mut codes = vec![eligible_own, banned, without_figures, other_district];
    codes.sort();
    codes
}

async fn single(app: &TestApp, role: Role, code: &str) -> Value {
    let res = app
        .gql_as(
            role,
            EVALUATE,
            json!({ "code": code, "year": 2024, "on": DECIDED }),
        )
        .await;
    res.data()["evaluateRecognition"].clone()
}

/// Every verdict of the 2024 round decided on [`DECIDED`] as `role` sees it, read forwards in
/// pages of 20 (a page of full verdicts costs 20 times a verdict's complexity).
async fn round(app: &TestApp, role: Role) -> Vec<Value> {
    let token = app.token_for(role);
    let query = format!(
        "query($on: Date, $after: String) {{ recognitionRound(year: 2024, decidedOn: $on, first: 20, after: $after) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ {VERDICT} }} }} }}"
    );
    let mut nodes = Vec::new();
    let mut after = Value::Null;
    loop {
        let res = app
            .gql(
                Some(&token),
                &query,
                json!({ "on": DECIDED, "after": after }),
            )
            .await;
        let page = &res.data()["recognitionRound"];
        nodes.extend(page["nodes"].as_array().expect("nodes").iter().cloned());
        if page["pageInfo"]["hasNextPage"] != Value::Bool(true) {
            return nodes;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
}

#[tokio::test]
async fn the_round_is_every_enterprise_in_the_registry_each_verdict_equal_to_its_evaluation() {
    // Arrange
    let app = spawn_app().await;
    let codes = arrange(&app).await;

    // Act
    let nodes = round(&app, Role::HqOffice).await;

    // Assert: the four in the registry on D, by credit code, each as evaluateRecognition.
    let round_codes: Vec<&str> = nodes
        .iter()
        .map(|n| n["creditCode"].as_str().unwrap())
        .collect();
    assert_eq!(
        round_codes,
        codes.iter().map(String::as_str).collect::<Vec<_>>()
    );
    for node in &nodes {
        let code = node["creditCode"].as_str().unwrap();
        assert_eq!(*node, single(&app, Role::HqOffice, code).await, "{code}");
    }
    let eligible: Vec<bool> = nodes.iter().map(|n| n["eligible"] == true).collect();
    assert_eq!(eligible.iter().filter(|e| **e).count(), 2, "{nodes:?}");
    let banned = nodes
        .iter()
        .find(|n| {
            n["failedRules"]
                .as_array()
                .unwrap()
                .contains(&json!("NOT_BANNED"))
        })
        .expect("the revoked enterprise is banned on D");
    assert!(banned["banUntil"].is_string());
}

#[tokio::test]
async fn the_round_pages_by_credit_code_both_ways_and_counts_its_enterprises() {
    // Arrange
    let app = spawn_app().await;
    let codes = arrange(&app).await;
    let token = app.token_for(Role::CityFinance);
    const PAGE: &str = "query($on: Date, $first: Int, $after: String, $last: Int, $before: String) {
      recognitionRound(year: 2024, decidedOn: $on, first: $first, after: $after, last: $last, before: $before) {
        totalCount pageInfo { hasNextPage hasPreviousPage endCursor startCursor } nodes { creditCode }
      } }";
    let page = |vars: Value| {
        let app = &app;
        let token = &token;
        async move {
            let mut vars = vars;
            vars["on"] = json!(DECIDED);
            let res = app.gql(Some(token), PAGE, vars).await;
            res.data()["recognitionRound"].clone()
        }
    };
    let codes_of = |page: &Value| -> Vec<String> {
        page["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["creditCode"].as_str().unwrap().to_string())
            .collect()
    };

    // Act
    let first = page(json!({ "first": 3 })).await;
    let rest = page(json!({ "first": 3, "after": first["pageInfo"]["endCursor"] })).await;
    let last = page(json!({ "last": 2 })).await;
    let before = page(json!({ "last": 2, "before": last["pageInfo"]["startCursor"] })).await;

    // Assert
    assert_eq!(first["totalCount"], 4);
    assert_eq!(codes_of(&first), codes[..3]);
    assert_eq!(first["pageInfo"]["hasNextPage"], true);
    assert_eq!(codes_of(&rest), codes[3..]);
    assert_eq!(rest["pageInfo"]["hasNextPage"], false);
    assert_eq!(codes_of(&last), codes[2..]);
    assert_eq!(last["pageInfo"]["hasPreviousPage"], true);
    assert_eq!(codes_of(&before), codes[..2]);
    assert_eq!(before["pageInfo"]["hasPreviousPage"], false);
}

#[tokio::test]
async fn a_district_gets_the_round_of_its_own_district_and_a_viewer_none() {
    // Arrange
    let app = spawn_app().await;
    arrange(&app).await;
    let other_district = credit_code(34);

    // Act
    let district = round(&app, Role::District).await;
    let viewer = app
        .gql_as(
            Role::Viewer,
            "{ recognitionRound(year: 2024) { totalCount } }",
            json!({}),
        )
        .await;
    let anonymous = app
        .gql(
            None,
            "{ recognitionRound(year: 2024) { totalCount } }",
            json!({}),
        )
        .await;
    let count = app
        .gql_as(
            Role::District,
            "query($on: Date) { recognitionRound(year: 2024, decidedOn: $on) { totalCount } }",
            json!({ "on": DECIDED }),
        )
        .await;

    // Assert: three registered in 330106 today, not the one in 330108.
    assert_eq!(district.len(), 3);
    assert!(
        district
            .iter()
            .all(|n| n["creditCode"] != json!(other_district))
    );
    for node in &district {
        let code = node["creditCode"].as_str().unwrap();
        assert_eq!(*node, single(&app, Role::District, code).await, "{code}");
    }
    assert_eq!(count.data()["recognitionRound"]["totalCount"], 3);
    assert_eq!(viewer.error_code(), Some("FORBIDDEN"));
    assert_eq!(anonymous.error_code(), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn a_round_outside_the_policy_is_refused_whole() {
    let app = spawn_app().await;
    arrange(&app).await;
    let query = "query($y: Int!, $on: Date) { recognitionRound(year: $y, decidedOn: $on) { nodes { creditCode } } }";
    for (year, on) in [(2030, DECIDED), (2024, "2022-01-01")] {
        let res = app
            .gql_as(Role::HqOffice, query, json!({ "y": year, "on": on }))
            .await;
        assert_eq!(
            res.error_code(),
            Some("POLICY_VIOLATION"),
            "{year} {on}: {:?}",
            res.body
        );
    }
}

async fn download(app: &TestApp, token: Option<&str>, path: &str) -> (u16, String, Vec<u8>) {
    let mut request = app.client.get(format!("{}{path}", app.address));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, kind, response.bytes().await.unwrap().to_vec())
}

fn csv_records(bytes: &[u8]) -> Vec<Vec<String>> {
    let text = std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").expect("a BOM")).unwrap();
    assert!(!text.replace("\r\n", "").contains('\n'), "CRLF line ends");
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes());
    reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

#[tokio::test]
async fn the_round_exports_as_csv_one_row_per_verdict_as_the_reader_may_see_it() {
    // Arrange
    let app = spawn_app().await;
    let codes = arrange(&app).await;
    let path = format!("/exports/recognitions/2024.csv?decidedOn={DECIDED}");
    let hq = app.token_for(Role::HqOffice);

    // Act
    let (status, kind, body) = download(&app, Some(&hq), &path).await;
    let (district_status, _, district_body) =
        download(&app, Some(&app.token_for(Role::District)), &path).await;

    // Assert
    assert_eq!(status, 200);
    assert_eq!(kind, "text/csv; charset=utf-8");
    let records = csv_records(&body);
    assert_eq!(
        records[0],
        [
            "credit_code",
            "name",
            "district_code",
            "year",
            "decided_on",
            "rule_set",
            "eligible",
            "route",
            "needs_review",
            "ban_until",
            "failed_rules",
            "reasons"
        ]
    );
    let rows = &records[1..];
    assert_eq!(
        rows.iter().map(|r| r[0].clone()).collect::<Vec<_>>(),
        codes.iter().map(|c| format!("\t{c}")).collect::<Vec<_>>(),
        "credit codes after a tab, by credit code"
    );
    for row in rows {
        let verdict = single(&app, Role::HqOffice, row[0].trim()).await;
        assert_eq!(row[3], "2024");
        assert_eq!(row[4], DECIDED);
        assert_eq!(row[5], "HZ-2023-3");
        assert_eq!(row[6], verdict["eligible"].to_string(), "{row:?}");
        assert_eq!(row[7], verdict["route"].as_str().unwrap_or(""), "{row:?}");
        let failed: Vec<&str> = verdict["failedRules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap())
            .collect();
        assert_eq!(row[10], failed.join(" "), "{row:?}");
        assert_eq!(row[11].is_empty(), failed.is_empty(), "{row:?}");
    }
    assert_eq!(district_status, 200);
    let district_rows = csv_records(&district_body);
    assert_eq!(district_rows.len(), 1 + 3);
    assert!(district_rows[1..].iter().all(|r| r[2] == "330106"));
}

#[tokio::test]
async fn a_refused_round_export_is_a_coded_json_error_before_any_row() {
    let app = spawn_app().await;
    arrange(&app).await;
    let hq = app.token_for(Role::HqOffice);
    let cases = [
        (
            Some(hq.clone()),
            "/exports/recognitions/2024.csv?decidedOn=2024-4-15",
            400,
            "BAD_USER_INPUT",
        ),
        (
            Some(hq.clone()),
            "/exports/recognitions/abc.csv",
            400,
            "BAD_USER_INPUT",
        ),
        (
            Some(hq.clone()),
            "/exports/recognitions/2030.csv?decidedOn=2024-04-15",
            422,
            "POLICY_VIOLATION",
        ),
        (
            Some(hq.clone()),
            "/exports/recognitions/2024.xlsx",
            404,
            "NOT_FOUND",
        ),
        (
            Some(app.token_for(Role::Viewer)),
            "/exports/recognitions/2024.csv",
            403,
            "FORBIDDEN",
        ),
        (
            None,
            "/exports/recognitions/2024.csv",
            401,
            "UNAUTHENTICATED",
        ),
    ];
    for (token, path, status, code) in cases {
        let (got, _, body) = download(&app, token.as_deref(), path).await;
        assert_eq!(got, status, "{path}");
        let body: Value = serde_json::from_slice(&body).expect("a JSON error");
        assert_eq!(body["errors"][0]["extensions"]["code"], code, "{path}");
    }
}

/// Raises both §3.2 revenue thresholds to 2,000,000,000.00 from 2024-01-01.
async fn raise_thresholds(app: &TestApp, base: &str) {
    for name in [
        "recognition.revenue_threshold.existing",
        "recognition.revenue_threshold.new",
    ] {
        let input = json!({
            "name": name, "value": "2000000000", "validFrom": "2024-01-01",
            "reference": "杭总部办〔2024〕9号 (§3.2)",
        });
        let res = app
            .client
            .post(format!("{base}/graphql"))
            .bearer_auth(app.token_for(Role::HqOffice))
            .json(&json!({ "query": ADD_VERSION, "variables": { "input": input } }))
            .send()
            .await
            .unwrap();
        let body: Value = res.json().await.unwrap();
        assert!(body["errors"].is_null(), "{body}");
    }
}

async fn eligible_on(app: &TestApp, base: &str, code: &str) -> Value {
    let res = app
        .client
        .post(format!("{base}/graphql"))
        .bearer_auth(app.token_for(Role::HqOffice))
        .json(&json!({ "query": EVALUATE, "variables": { "code": code, "year": 2024, "on": DECIDED } }))
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    body["data"]["evaluateRecognition"]["eligible"].clone()
}

#[tokio::test]
async fn a_new_parameter_version_reaches_the_next_verdict_without_a_restart() {
    // Arrange: an eligible enterprise, evaluated once (the policy is now cached).
    let app = spawn_app().await;
    let code = eligible(&app, 36).await;
    assert_eq!(eligible_on(&app, &app.address, &code).await, true);

    // Act
    raise_thresholds(&app, &app.address).await;

    // Assert: 1.2 billion is below the raised threshold, in a single verdict and in the round.
    assert_eq!(eligible_on(&app, &app.address, &code).await, false);
    let nodes = round(&app, Role::HqOffice).await;
    assert_eq!(nodes.len(), 1);
    assert_eq!(nodes[0]["eligible"], false);
    assert!(
        nodes[0]["failedRules"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r.as_str().unwrap().starts_with("REVENUE")),
        "{:?}",
        nodes[0]
    );
}

#[tokio::test]
async fn a_parameter_version_added_through_another_instance_reaches_this_ones_verdicts() {
    if std::env::var("TEST_DATABASE_URL").is_err() {
        eprintln!("skipped: two instances share a database only on PostgreSQL (TEST_DATABASE_URL)");
        return;
    }
    // Arrange: both instances have decided once.
    let app = spawn_app().await;
    let other = app.another_instance().await;
    let code = eligible(&app, 37).await;
    assert_eq!(eligible_on(&app, &app.address, &code).await, true);
    assert_eq!(eligible_on(&app, &other, &code).await, true);

    // Act: the other instance adds the versions.
    raise_thresholds(&app, &other).await;

    // Assert: this instance decides under them at once.
    assert_eq!(eligible_on(&app, &app.address, &code).await, false);
}

#[tokio::test]
async fn a_parameter_corrected_in_the_database_directly_reaches_the_next_verdict() {
    // Arrange: an eligible enterprise, evaluated once (the policy is now cached).
    let app = spawn_app().await;
    let code = eligible(&app, 38).await;
    assert_eq!(eligible_on(&app, &app.address, &code).await, true);

    // Act: an operator edits the thresholds in place, outside the service (the stored
    // versions keep their number and count: only the trigger on the table tells).
    let db = sea_orm::Database::connect(&app.database_url)
        .await
        .expect("db");
    let backend = db.get_database_backend();
    let thresholds = "name LIKE 'recognition.revenue_threshold.%'";
    let rows = db
        .query_all_raw(Statement::from_string(
            backend,
            format!("SELECT value FROM policy_parameters WHERE {thresholds}"),
        ))
        .await
        .expect("the thresholds");
    assert!(!rows.is_empty());
    for row in rows {
        // Stored as JSON: an amount is a decimal string in yuan.
        let value: String = row.try_get("", "value").unwrap();
        let stored: Value = serde_json::from_str(&value).expect("a JSON value");
        assert!(stored.is_string(), "{value}");
    }
    let raised = json!("2000000000.00").to_string();
    let changed = db
        .execute_raw(Statement::from_string(
            backend,
            format!("UPDATE policy_parameters SET value = '{raised}' WHERE {thresholds}"),
        ))
        .await
        .expect("raised");
    assert!(changed.rows_affected() > 0);

    // Assert: 1.2 billion is below the raised threshold at once.
    assert_eq!(eligible_on(&app, &app.address, &code).await, false);
}

#[tokio::test]
async fn on_postgresql_a_truncate_of_a_policy_table_raises_the_generation() {
    if std::env::var("TEST_DATABASE_URL").is_err() {
        eprintln!("skipped: TRUNCATE is PostgreSQL's (TEST_DATABASE_URL)");
        return;
    }
    let app = spawn_app().await;
    let db = sea_orm::Database::connect(&app.database_url)
        .await
        .expect("db");
    let generation = |db: sea_orm::DatabaseConnection| async move {
        let row = db
            .query_one_raw(Statement::from_string(
                sea_orm::DbBackend::Postgres,
                "SELECT generation FROM policy_generation WHERE id = 1",
            ))
            .await
            .expect("read")
            .expect("the row");
        row.try_get::<i64>("", "generation").unwrap()
    };
    let before = generation(db.clone()).await;
    db.execute_unprepared("TRUNCATE rule_set_rules")
        .await
        .expect("truncated");
    let after = generation(db.clone()).await;
    assert!(after > before, "{before} → {after}");
}
