//! The enterprise registry over HTTP: registration, §19 events read as of dates, yearly figures,
//! and who may read and write what.

use hq_api::auth::Role;
use hq_api::policy::{CreditCode, CreditCodeError};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

/// Valid codes (GB 32100-2015 examples).
const CODE_A: &str = "91330100716105852F";
const CODE_B: &str = "91110000600037341L";
/// Check character wrong (would be `R`).
const INVALID_CODE: &str = "91110100600037341L";

const REGISTER: &str = "mutation($input: RegisterEnterpriseInput!) {
    registerEnterprise(input: $input) { enterprise { creditCode name } warnings } }";

const RECORD_EVENT: &str = "mutation($input: RecordEnterpriseEventInput!) {
    recordEnterpriseEvent(input: $input) { event { databaseId kind effectiveDate changes } } }";

const RECORD_FIGURES: &str = "mutation($input: RecordFiguresInput!) {
    recordFigures(input: $input) { figures { year revenue rdSpend } } }";

fn registration(code: &str, district: &str) -> Value {
    json!({ "input": {
        "creditCode": code,
        "registeredOn": "2020-01-01",
        "name": "杭州之江软件科技有限公司",
        "districtCode": district,
        "industryCode": "6513",
        "ownership": "PRIVATE",
        "industrialGuidance": true,
        "unifiedAccounting": true,
        "outsideUnits": 3,
        "registeredCapital": "100000000.00",
    }})
}

async fn register(app: &TestApp, code: &str, district: &str) {
    let res = app
        .gql_as(Role::HqOffice, REGISTER, registration(code, district))
        .await;
    assert_eq!(
        res.data()["registerEnterprise"]["enterprise"]["creditCode"],
        code
    );
}

async fn record_figures(app: &TestApp, code: &str, year: i32, revenue: &str, rd: &str) {
    let vars = json!({ "input": {
        "creditCode": code, "year": year, "revenue": revenue, "rdSpend": rd } });
    let res = app.gql_as(Role::HqOffice, RECORD_FIGURES, vars).await;
    res.data();
}

async fn total_enterprises(app: &TestApp) -> u64 {
    let res = app
        .gql_as(Role::Viewer, "{ enterprises { totalCount } }", json!({}))
        .await;
    res.data()["enterprises"]["totalCount"].as_u64().unwrap()
}

async fn audit_count(app: &TestApp, operation: &str) -> u64 {
    let q = "query($op: String!) { auditLog(filter: { operation: $op }) { totalCount } }";
    let res = app
        .gql_as(Role::Auditor, q, json!({ "op": operation }))
        .await;
    res.data()["auditLog"]["totalCount"].as_u64().unwrap()
}

/// A code whose check character is right for `first17`.
fn code_for(first17: &str) -> String {
    match CreditCode::parse(&format!("{first17}0")) {
        Ok(code) => code.as_str().to_string(),
        Err(CreditCodeError::WrongCheckCharacter { expected, .. }) => {
            format!("{first17}{expected}")
        }
        Err(other) => panic!("{other}"),
    }
}

#[tokio::test]
async fn registering_an_enterprise_and_reading_it_back() {
    let app = spawn_app().await;
    let mut vars = registration(&CODE_A.to_lowercase(), "330106");
    vars["input"]["listingExchange"] = json!("sse");
    vars["input"]["listedEntityInHangzhou"] = json!(true);
    let res = app.gql_as(Role::HqOffice, REGISTER, vars).await;
    assert_eq!(
        res.data()["registerEnterprise"]["enterprise"]["creditCode"],
        CODE_A
    );
    assert_eq!(res.data()["registerEnterprise"]["warnings"], json!([]));

    let q = "query($c: String!) { enterprise(creditCode: $c) {
        creditCode name district { code name }
        facts { validFrom validTo name districtCode hangzhouSince industryCode ownership
                industrialGuidance independentLegalPerson deemedLegalPerson operating
                unifiedAccounting rdFacilities rdStableFunding outsideUnits listingExchange
                listedEntityInHangzhou dishonest ownsOffice registeredCapital }
        events { nodes { kind effectiveDate changes } } } }";
    let res = app.gql_as(Role::Viewer, q, json!({ "c": CODE_A })).await;
    let e = &res.data()["enterprise"];
    assert_eq!(e["name"], "杭州之江软件科技有限公司");
    assert_eq!(e["district"], json!({ "code": "330106", "name": "西湖区" }));
    assert_eq!(
        e["facts"],
        json!({
            "validFrom": "2020-01-01", "validTo": null, "name": "杭州之江软件科技有限公司",
            "districtCode": "330106", "hangzhouSince": "2020-01-01", "industryCode": "6513",
            "ownership": "PRIVATE", "industrialGuidance": true, "independentLegalPerson": true,
            "deemedLegalPerson": false, "operating": true, "unifiedAccounting": true,
            "rdFacilities": false, "rdStableFunding": false, "outsideUnits": 3,
            "listingExchange": "SSE", "listedEntityInHangzhou": true, "dishonest": false,
            "ownsOffice": false, "registeredCapital": "100000000.00"
        })
    );
    assert_eq!(e["events"]["nodes"][0]["kind"], "REGISTERED");
    assert_eq!(e["events"]["nodes"][0]["effectiveDate"], "2020-01-01");
    assert_eq!(e["events"]["nodes"][0]["changes"]["districtCode"], "330106");

    let res = app
        .gql_as(Role::Viewer, q, json!({ "c": "91330100716105852f" }))
        .await;
    assert_eq!(
        res.data()["enterprise"]["creditCode"],
        CODE_A,
        "codes are normalised"
    );
    let res = app.gql_as(Role::Viewer, q, json!({ "c": CODE_B })).await;
    assert!(
        res.data()["enterprise"].is_null(),
        "an unregistered code reads as null"
    );
}

#[tokio::test]
async fn an_invalid_credit_code_is_refused_naming_the_field_and_nothing_is_written() {
    let app = spawn_app().await;
    let res = app
        .gql_as(
            Role::HqOffice,
            REGISTER,
            registration(INVALID_CODE, "330106"),
        )
        .await;
    assert_eq!(res.error_code(), Some("BAD_USER_INPUT"), "{}", res.body);
    assert_eq!(res.error_extensions()["field"], "creditCode");
    assert!(
        res.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("'R'")
    );
    assert_eq!(total_enterprises(&app).await, 0);
    assert_eq!(audit_count(&app, "registerEnterprise").await, 0);
}

#[tokio::test]
async fn invalid_facts_are_refused_naming_the_field() {
    let app = spawn_app().await;
    let cases = [
        ("name", json!("  ")),
        ("name", json!("名".repeat(201))),
        ("districtCode", json!("330103")),
        ("industryCode", json!("K7010")),
        ("outsideUnits", json!(-1)),
        ("registeredCapital", json!("1.001")),
        ("registeredOn", json!("2999-01-01")),
    ];
    for (field, value) in cases {
        let mut vars = registration(CODE_A, "330106");
        vars["input"][field] = value;
        let res = app.gql_as(Role::HqOffice, REGISTER, vars).await;
        assert_eq!(
            res.error_code(),
            Some("BAD_USER_INPUT"),
            "{field}: {}",
            res.body
        );
        assert_eq!(res.error_extensions()["field"], field, "{}", res.body);
    }
    assert_eq!(total_enterprises(&app).await, 0);
}

#[tokio::test]
async fn a_wrong_organization_check_digit_is_a_warning_not_a_refusal() {
    let app = spawn_app().await;
    // Positions 9-17 of CODE_A are 71610585-2; a 3 there breaks GB 11714 but not GB 32100.
    let code = code_for("91330100716105853");
    let res = app
        .gql_as(Role::HqOffice, REGISTER, registration(&code, "330106"))
        .await;
    let warnings = res.data()["registerEnterprise"]["warnings"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].as_str().unwrap().contains("GB 11714"));
}

#[tokio::test]
async fn registering_the_same_credit_code_twice_is_a_conflict() {
    let app = spawn_app().await;
    register(&app, CODE_A, "330106").await;
    let res = app
        .gql_as(Role::HqOffice, REGISTER, registration(CODE_A, "330108"))
        .await;
    assert_eq!(res.error_code(), Some("CONFLICT"), "{}", res.body);
    assert!(
        !res.body.to_string().contains("uq_"),
        "no constraint names leak"
    );
    assert_eq!(total_enterprises(&app).await, 1);
}

#[tokio::test]
async fn a_move_between_districts_is_read_as_of_dates_before_and_after() {
    let app = spawn_app().await;
    register(&app, CODE_A, "330106").await;
    let vars = json!({ "input": {
        "creditCode": CODE_A, "kind": "MOVED_DISTRICT", "effectiveDate": "2024-03-01",
        "changes": { "districtCode": "330108" }, "note": "工商变更登记" } });
    let res = app.gql_as(Role::HqOffice, RECORD_EVENT, vars).await;
    let event = &res.data()["recordEnterpriseEvent"]["event"];
    assert_eq!(event["kind"], "MOVED_DISTRICT");
    assert_eq!(event["changes"], json!({ "districtCode": "330108" }));

    let q = "query($c: String!) { enterprise(creditCode: $c) {
        before: district(asOf: \"2024-02-29\") { code }
        after: district(asOf: \"2024-03-01\") { code }
        today: district { code }
        earlier: facts(asOf: \"2021-06-30\") { validFrom validTo districtCode hangzhouSince }
        later: facts(asOf: \"2025-01-01\") { validFrom validTo districtCode hangzhouSince }
        beforeRegistration: facts(asOf: \"2019-12-31\") { validFrom }
        events { nodes { kind effectiveDate } } } }";
    let res = app.gql_as(Role::Viewer, q, json!({ "c": CODE_A })).await;
    let e = &res.data()["enterprise"];
    assert_eq!(e["before"]["code"], "330106");
    assert_eq!(e["after"]["code"], "330108");
    assert_eq!(e["today"]["code"], "330108");
    assert_eq!(
        e["earlier"],
        json!({ "validFrom": "2020-01-01", "validTo": "2024-02-29",
                "districtCode": "330106", "hangzhouSince": "2020-01-01" })
    );
    assert_eq!(
        e["later"],
        json!({ "validFrom": "2024-03-01", "validTo": null,
                "districtCode": "330108", "hangzhouSince": "2020-01-01" })
    );
    assert!(e["beforeRegistration"].is_null());
    assert_eq!(e["events"]["nodes"].as_array().unwrap().len(), 2);

    let in_district = "query($d: String!, $on: Date!) {
        enterprises(filter: { districtCode: $d, asOf: $on }) { totalCount } }";
    for (district, on, expected) in [
        ("330106", "2024-02-29", 1),
        ("330106", "2024-03-01", 0),
        ("330108", "2024-03-01", 1),
        ("330108", "2019-06-01", 0),
    ] {
        let res = app
            .gql_as(
                Role::Viewer,
                in_district,
                json!({ "d": district, "on": on }),
            )
            .await;
        assert_eq!(
            res.data()["enterprises"]["totalCount"],
            expected,
            "{district} on {on}"
        );
    }
}

#[tokio::test]
async fn moving_out_and_back_in_restarts_the_stay_in_hangzhou() {
    let app = spawn_app().await;
    register(&app, CODE_A, "330106").await;
    for (kind, on, changes) in [
        ("MOVED_OUT_OF_HANGZHOU", "2021-05-01", json!(null)),
        (
            "MOVED_INTO_HANGZHOU",
            "2022-03-01",
            json!({ "districtCode": "330110" }),
        ),
    ] {
        let vars = json!({ "input": {
            "creditCode": CODE_A, "kind": kind, "effectiveDate": on, "changes": changes } });
        app.gql_as(Role::HqOffice, RECORD_EVENT, vars).await.data();
    }
    let q = "query($c: String!) { enterprise(creditCode: $c) {
        out: facts(asOf: \"2021-12-31\") { districtCode hangzhouSince }
        back: facts(asOf: \"2022-03-01\") { districtCode hangzhouSince } } }";
    let res = app.gql_as(Role::Viewer, q, json!({ "c": CODE_A })).await;
    let e = &res.data()["enterprise"];
    assert_eq!(
        e["out"],
        json!({ "districtCode": null, "hangzhouSince": null })
    );
    assert_eq!(
        e["back"],
        json!({ "districtCode": "330110", "hangzhouSince": "2022-03-01" })
    );
}

#[tokio::test]
async fn an_event_may_change_only_the_facts_of_its_kind() {
    let app = spawn_app().await;
    register(&app, CODE_A, "330106").await;
    let cases = [
        (
            "RENAMED",
            json!({ "districtCode": "330108" }),
            "changes.districtCode",
        ),
        ("RENAMED", json!({}), "changes.name"),
        (
            "DISSOLVED",
            json!({ "operating": false }),
            "changes.operating",
        ),
        (
            "MOVED_DISTRICT",
            json!({ "districtCode": "330106" }),
            "changes.districtCode",
        ),
        (
            "MOVED_INTO_HANGZHOU",
            json!({ "districtCode": "330108" }),
            "kind",
        ),
        ("OFFICE_DISPOSED", json!(null), "kind"),
        ("REGISTERED", json!(null), "kind"),
        ("CORRECTED", json!({}), "changes"),
        (
            "CORRECTED",
            json!({ "hangzhouSince": null }),
            "changes.hangzhouSince",
        ),
        (
            "FACTS_UPDATED",
            json!({ "listedEntityInHangzhou": true }),
            "changes.listedEntityInHangzhou",
        ),
    ];
    for (kind, changes, field) in cases {
        let vars = json!({ "input": {
            "creditCode": CODE_A, "kind": kind, "effectiveDate": "2024-01-01", "changes": changes } });
        let res = app.gql_as(Role::HqOffice, RECORD_EVENT, vars).await;
        assert_eq!(
            res.error_code(),
            Some("BAD_USER_INPUT"),
            "{kind}: {}",
            res.body
        );
        assert_eq!(
            res.error_extensions()["field"],
            field,
            "{kind}: {}",
            res.body
        );
    }
    let vars = json!({ "input": {
        "creditCode": CODE_A, "kind": "OFFICE_ACQUIRED", "effectiveDate": "2019-12-31" } });
    let res = app.gql_as(Role::HqOffice, RECORD_EVENT, vars).await;
    assert_eq!(
        res.error_extensions()["field"],
        "effectiveDate",
        "{}",
        res.body
    );
    let vars = json!({ "input": {
        "creditCode": CODE_B, "kind": "OFFICE_ACQUIRED", "effectiveDate": "2024-01-01" } });
    let res = app.gql_as(Role::HqOffice, RECORD_EVENT, vars).await;
    assert_eq!(res.error_code(), Some("NOT_FOUND"), "{}", res.body);
    assert_eq!(audit_count(&app, "recordEnterpriseEvent").await, 0);
}

#[tokio::test]
async fn an_event_that_contradicts_a_later_one_is_refused() {
    let app = spawn_app().await;
    register(&app, CODE_A, "330106").await;
    let event = |kind: &str, on: &str, changes: Value| {
        json!({ "input": {
            "creditCode": CODE_A, "kind": kind, "effectiveDate": on, "changes": changes } })
    };
    app.gql_as(
        Role::HqOffice,
        RECORD_EVENT,
        event(
            "MOVED_DISTRICT",
            "2024-03-01",
            json!({ "districtCode": "330108" }),
        ),
    )
    .await
    .data();
    // Moving out before the district move would leave that move without a district to leave.
    let res = app
        .gql_as(
            Role::HqOffice,
            RECORD_EVENT,
            event("MOVED_OUT_OF_HANGZHOU", "2023-01-01", json!(null)),
        )
        .await;
    assert_eq!(res.error_code(), Some("BAD_USER_INPUT"), "{}", res.body);
    assert_eq!(res.error_extensions()["field"], "effectiveDate");
}

#[tokio::test]
async fn figures_with_three_decimals_or_negative_are_refused_naming_the_field() {
    let app = spawn_app().await;
    register(&app, CODE_A, "330106").await;
    for (revenue, rd, field) in [
        ("1000.005", "1.00", "revenue"),
        ("1000.00", "0.001", "rdSpend"),
        ("-0.01", "1.00", "revenue"),
        ("1000.00", "-5", "rdSpend"),
        ("92233720368547758.08", "1.00", "revenue"),
    ] {
        let vars = json!({ "input": {
            "creditCode": CODE_A, "year": 2023, "revenue": revenue, "rdSpend": rd } });
        let res = app.gql_as(Role::HqOffice, RECORD_FIGURES, vars).await;
        assert_eq!(
            res.error_code(),
            Some("BAD_USER_INPUT"),
            "{revenue}: {}",
            res.body
        );
        assert_eq!(res.error_extensions()["field"], field, "{}", res.body);
    }
    let vars = json!({ "input": {
        "creditCode": CODE_A, "year": 1999, "revenue": "1", "rdSpend": "1" } });
    let res = app.gql_as(Role::HqOffice, RECORD_FIGURES, vars).await;
    assert_eq!(res.error_extensions()["field"], "year", "{}", res.body);
    assert_eq!(audit_count(&app, "recordFigures").await, 0);
}

#[tokio::test]
async fn figures_are_stored_exactly_and_a_second_recording_replaces_the_first() {
    let app = spawn_app().await;
    register(&app, CODE_A, "330106").await;
    record_figures(&app, CODE_A, 2023, "999999999.99", "99999999.99").await;
    record_figures(&app, CODE_A, 2023, "1000000000.00", "100000000.1").await;
    // Up to the input bound (a trillion yuan), to the fen.
    record_figures(&app, CODE_A, 2022, "999999999999.99", "0").await;
    let q = "query($c: String!) { enterprise(creditCode: $c) {
        all: figures { year revenue rdSpend } one: figures(year: 2023) { year } } }";
    let res = app.gql_as(Role::HqOffice, q, json!({ "c": CODE_A })).await;
    assert_eq!(
        res.data()["enterprise"]["all"],
        json!([
            { "year": 2022, "revenue": "999999999999.99", "rdSpend": "0.00" },
            { "year": 2023, "revenue": "1000000000.00", "rdSpend": "100000000.10" },
        ])
    );
    assert_eq!(res.data()["enterprise"]["one"], json!([{ "year": 2023 }]));
}

#[tokio::test]
async fn a_viewer_cannot_read_figures_but_hq_office_can() {
    let app = spawn_app().await;
    register(&app, CODE_A, "330106").await;
    record_figures(&app, CODE_A, 2023, "1234567.89", "123456.78").await;
    let q = "query($c: String!) { enterprise(creditCode: $c) {
        creditCode name figures { year revenue rdSpend } } }";

    let res = app.gql_as(Role::Viewer, q, json!({ "c": CODE_A })).await;
    assert_eq!(res.error_code(), Some("FORBIDDEN"), "{}", res.body);
    assert_eq!(
        res.body["errors"][0]["path"],
        json!(["enterprise", "figures"])
    );
    assert_eq!(
        res.body["data"]["enterprise"]["creditCode"], CODE_A,
        "the registry stays readable"
    );
    assert!(res.body["data"]["enterprise"]["figures"].is_null());
    assert!(!res.body.to_string().contains("1234567.89"));

    for role in [Role::HqOffice, Role::CityFinance, Role::Auditor] {
        let res = app.gql_as(role, q, json!({ "c": CODE_A })).await;
        assert_eq!(
            res.data()["enterprise"]["figures"],
            json!([{ "year": 2023, "revenue": "1234567.89", "rdSpend": "123456.78" }]),
            "{role}"
        );
    }
}

#[tokio::test]
async fn a_district_sees_figures_of_its_own_enterprises_only() {
    let app = spawn_app().await;
    register(&app, CODE_A, "330106").await;
    register(&app, CODE_B, "330108").await;
    record_figures(&app, CODE_A, 2023, "100.00", "10.00").await;
    record_figures(&app, CODE_B, 2023, "200.00", "20.00").await;
    let q = "query($c: String!) { enterprise(creditCode: $c) { creditCode figures { revenue } } }";

    // gql_as gives DISTRICT the district 330106.
    let res = app.gql_as(Role::District, q, json!({ "c": CODE_A })).await;
    assert_eq!(
        res.data()["enterprise"]["figures"],
        json!([{ "revenue": "100.00" }])
    );
    let res = app.gql_as(Role::District, q, json!({ "c": CODE_B })).await;
    assert_eq!(res.error_code(), Some("FORBIDDEN"), "{}", res.body);
    assert_eq!(res.body["data"]["enterprise"]["creditCode"], CODE_B);

    // Also through the list: one error, for the other district's enterprise only.
    let list = "{ enterprises { edges { node { creditCode figures { revenue } } } } }";
    let res = app.gql_as(Role::District, list, json!({})).await;
    let errors = res.body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{}", res.body);
    assert_eq!(errors[0]["extensions"]["code"], "FORBIDDEN");
    assert!(!res.body.to_string().contains("200.00"));

    // The other district's actor sees the reverse.
    let token = app.token(Role::District, Some("330108"));
    let res = app.gql(Some(&token), q, json!({ "c": CODE_B })).await;
    assert_eq!(
        res.data()["enterprise"]["figures"],
        json!([{ "revenue": "200.00" }])
    );
}

#[tokio::test]
async fn a_district_loses_the_figures_of_an_enterprise_that_moved_away() {
    let app = spawn_app().await;
    register(&app, CODE_A, "330106").await;
    record_figures(&app, CODE_A, 2023, "100.00", "10.00").await;
    let vars = json!({ "input": {
        "creditCode": CODE_A, "kind": "MOVED_DISTRICT", "effectiveDate": "2024-03-01",
        "changes": { "districtCode": "330108" } } });
    app.gql_as(Role::HqOffice, RECORD_EVENT, vars).await.data();
    let q = "query($c: String!) { enterprise(creditCode: $c) { figures { revenue } } }";
    let res = app.gql_as(Role::District, q, json!({ "c": CODE_A })).await;
    assert_eq!(
        res.error_code(),
        Some("FORBIDDEN"),
        "registered in 330108 as of today"
    );
}

#[tokio::test]
async fn only_hq_office_may_write_the_registry() {
    let app = spawn_app().await;
    for role in [
        Role::CityFinance,
        Role::District,
        Role::Viewer,
        Role::Auditor,
    ] {
        let res = app
            .gql_as(role, REGISTER, registration(CODE_A, "330106"))
            .await;
        assert_eq!(res.error_code(), Some("FORBIDDEN"), "{role}: {}", res.body);
    }
    let res = app
        .gql(None, REGISTER, registration(CODE_A, "330106"))
        .await;
    assert_eq!(res.error_code(), Some("UNAUTHENTICATED"));
    assert_eq!(total_enterprises(&app).await, 0);

    register(&app, CODE_A, "330106").await;
    let vars = json!({ "input": {
        "creditCode": CODE_A, "year": 2023, "revenue": "1.00", "rdSpend": "1.00" } });
    let res = app.gql_as(Role::CityFinance, RECORD_FIGURES, vars).await;
    assert_eq!(res.error_code(), Some("FORBIDDEN"));
    let res = app
        .gql(None, "{ enterprises { totalCount } }", json!({}))
        .await;
    assert_eq!(
        res.error_code(),
        Some("UNAUTHENTICATED"),
        "the registry is not public"
    );
}

#[tokio::test]
async fn every_registry_mutation_writes_an_audit_entry() {
    let app = spawn_app().await;
    register(&app, CODE_A, "330106").await;
    let vars = json!({ "input": {
        "creditCode": CODE_A, "kind": "MOVED_DISTRICT", "effectiveDate": "2024-03-01",
        "changes": { "districtCode": "330108" } } });
    app.gql_as(Role::HqOffice, RECORD_EVENT, vars).await.data();
    record_figures(&app, CODE_A, 2023, "100.00", "10.00").await;
    record_figures(&app, CODE_A, 2023, "150.00", "10.00").await;

    let q = "{ auditLog(filter: { targetType: \"enterprise\" }) { totalCount edges { node {
        operation targetId actorSub actorRole before after } } } }";
    let res = app.gql_as(Role::Auditor, q, json!({})).await;
    let log = &res.data()["auditLog"];
    assert_eq!(log["totalCount"], 2);
    // Newest first.
    let event = &log["edges"][0]["node"];
    assert_eq!(event["operation"], "recordEnterpriseEvent");
    assert_eq!(event["targetId"], CODE_A);
    assert_eq!(event["actorRole"], "HQ_OFFICE");
    assert_eq!(event["before"]["facts"]["districtCode"], "330106");
    assert_eq!(event["after"]["facts"]["districtCode"], "330108");
    assert_eq!(event["after"]["kind"], "MOVED_DISTRICT");
    let registration = &log["edges"][1]["node"];
    assert_eq!(registration["operation"], "registerEnterprise");
    assert!(registration["before"].is_null());
    assert_eq!(
        registration["after"]["facts"]["name"],
        "杭州之江软件科技有限公司"
    );

    let q = "{ auditLog(filter: { operation: \"recordFigures\" }) { totalCount edges { node {
        targetId before after } } } }";
    let res = app.gql_as(Role::Auditor, q, json!({})).await;
    let log = &res.data()["auditLog"];
    assert_eq!(log["totalCount"], 2);
    let latest = &log["edges"][0]["node"];
    assert_eq!(latest["targetId"], format!("{CODE_A}/2023"));
    assert_eq!(latest["before"]["revenue"], "100.00");
    assert_eq!(latest["after"]["revenue"], "150.00");
}

#[tokio::test]
async fn a_page_of_zero_enterprises_is_bad_user_input() {
    let app = spawn_app().await;
    for args in ["first: 0", "last: 0", "first: 501", "after: \"nope\""] {
        let q = format!("{{ enterprises({args}) {{ totalCount }} }}");
        let res = app.gql_as(Role::Viewer, &q, json!({})).await;
        assert_eq!(
            res.error_code(),
            Some("BAD_USER_INPUT"),
            "{args}: {}",
            res.body
        );
    }
    let res = app
        .gql_as(
            Role::Viewer,
            "{ enterprises(first: 0) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(res.error_extensions()["field"], "first");
}

#[tokio::test]
async fn the_registry_pages_filters_and_orders() {
    let app = spawn_app().await;
    let third = code_for("91330106MA2AXXXX1");
    register(&app, CODE_A, "330106").await;
    register(&app, CODE_B, "330108").await;
    register(&app, &third, "330106").await;
    let rename = json!({ "input": {
        "creditCode": CODE_B, "kind": "RENAMED", "effectiveDate": "2023-01-01",
        "changes": { "name": "杭州湖畔100%_数据有限公司" } } });
    app.gql_as(Role::HqOffice, RECORD_EVENT, rename)
        .await
        .data();

    let page = "query($after: String) { enterprises(first: 2, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { creditCode } } } }";
    let res = app.gql_as(Role::Viewer, page, json!({})).await;
    let first = &res.data()["enterprises"];
    assert_eq!(first["totalCount"], 3);
    assert_eq!(first["pageInfo"]["hasNextPage"], true);
    let mut codes: Vec<String> = first["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["creditCode"].as_str().unwrap().to_string())
        .collect();
    let cursor = first["pageInfo"]["endCursor"].clone();
    let res = app
        .gql_as(Role::Viewer, page, json!({ "after": cursor }))
        .await;
    let second = &res.data()["enterprises"];
    assert_eq!(second["pageInfo"]["hasNextPage"], false);
    codes.extend(
        second["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["creditCode"].as_str().unwrap().to_string()),
    );
    let mut sorted = vec![CODE_A.to_string(), CODE_B.to_string(), third.clone()];
    sorted.sort();
    assert_eq!(codes, sorted, "credit code order by default");

    let filtered = "query($f: EnterpriseFilter) { enterprises(filter: $f) {
        totalCount edges { node { creditCode } } } }";
    for (filter, expected) in [
        (json!({ "districtCode": "330106" }), 2),
        (json!({ "industryPrefix": "65" }), 3),
        (json!({ "industryPrefix": "72" }), 0),
        (json!({ "nameContains": "100%_" }), 1),
        (json!({ "nameContains": "%" }), 1),
        (json!({ "nameContains": "湖畔", "asOf": "2022-12-31" }), 0),
        (json!({ "recognizedIn": 2024 }), 0),
        (json!({ "ratedIn": 2024, "stars": 3 }), 0),
    ] {
        let res = app
            .gql_as(Role::Viewer, filtered, json!({ "f": filter.clone() }))
            .await;
        assert_eq!(
            res.data()["enterprises"]["totalCount"],
            expected,
            "{filter}"
        );
    }
    let res = app
        .gql_as(
            Role::Viewer,
            filtered,
            json!({ "f": { "industryPrefix": "6a" } }),
        )
        .await;
    assert_eq!(res.error_extensions()["field"], "filter.industryPrefix");

    let by_name = "{ enterprises(orderBy: NAME) { edges { node { name } } } }";
    let res = app.gql_as(Role::Viewer, by_name, json!({})).await;
    let names: Vec<String> = res.data()["enterprises"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["name"].as_str().unwrap().to_string())
        .collect();
    let mut sorted_names = names.clone();
    sorted_names.sort();
    assert_eq!(names, sorted_names);
    let by_stay = "{ enterprises(orderBy: HANGZHOU_SINCE) { totalCount } }";
    let res = app.gql_as(Role::Viewer, by_stay, json!({})).await;
    assert_eq!(res.data()["enterprises"]["totalCount"], 3);

    let recent = "{ enterprises(orderBy: RECENTLY_REGISTERED) { edges { node { creditCode } } } }";
    let res = app.gql_as(Role::Viewer, recent, json!({})).await;
    assert_eq!(
        res.data()["enterprises"]["edges"][0]["node"]["creditCode"],
        third.as_str()
    );
}

#[tokio::test]
async fn who_recorded_an_event_is_for_staff_readers_only() {
    let app = spawn_app().await;
    register(&app, CODE_A, "330106").await;
    let q = "query($c: String!) { enterprise(creditCode: $c) { events { nodes { kind recordedBy } } } }";
    let res = app.gql_as(Role::HqOffice, q, json!({ "c": CODE_A })).await;
    assert_eq!(
        res.data()["enterprise"]["events"]["nodes"][0]["recordedBy"],
        "test:hq_office"
    );
    for role in [Role::Viewer, Role::District] {
        let res = app.gql_as(role, q, json!({ "c": CODE_A })).await;
        assert_eq!(res.error_code(), Some("FORBIDDEN"), "{role}: {}", res.body);
        let event = &res.body["data"]["enterprise"]["events"]["nodes"][0];
        assert_eq!(
            event["kind"], "REGISTERED",
            "the rest of the history stays readable"
        );
        assert!(event["recordedBy"].is_null());
    }
}
