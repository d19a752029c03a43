//! Relay object identification: every kind of object refetches through `node` and `nodes` as its
//! direct field shows it, under exactly the direct field's access rules.

use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hq_api::auth::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};
use crate::settlement::{Scenario, draft, scenario, try_approve};

/// The fields compared for each kind: what the direct fields select and what `node` selects
/// through an inline fragment.
const FIELDS: [(&str, &str); 14] = [
    ("Enterprise", "creditCode"),
    ("District", "code name"),
    ("Claim", "districtCode fiscalYear status databaseId"),
    ("PaymentLine", "databaseId voucherNo amount"),
    ("LineVerdict", "lineId eligible primaryReason"),
    ("Settlement", "fiscalYear status"),
    ("SettlementDistrict", "districtCode granted"),
    ("Finding", "databaseId lineIds"),
    ("Adjustment", "databaseId districtCode amount"),
    ("EnterpriseRecognition", "year route"),
    ("EnterpriseStarRating", "year stars"),
    ("StarReward", "creditCode year due"),
    ("AuditEntry", "databaseId operation"),
    ("PolicyParameter", "databaseId name"),
];

fn fields(kind: &str) -> &'static str {
    FIELDS.iter().find(|(k, _)| *k == kind).unwrap().1
}

/// `__typename id` and the compared fields of `kind`.
fn selection(kind: &str) -> String {
    format!("__typename id {}", fields(kind))
}

/// The selection of a `Node` with a fragment per kind.
fn node_selection() -> String {
    let fragments: Vec<String> = FIELDS
        .iter()
        .map(|(kind, f)| format!("... on {kind} {{ {f} }}"))
        .collect();
    format!("__typename id {}", fragments.join(" "))
}

fn node_query() -> String {
    format!(
        "query($id: ID!) {{ node(id: $id) {{ {} }} }}",
        node_selection()
    )
}

fn nodes_query() -> String {
    format!(
        "query($ids: [ID!]!) {{ nodes(ids: $ids) {{ {} }} }}",
        node_selection()
    )
}

/// A global id built by hand (the text the service encodes).
fn raw_id(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(text)
}

/// 2024 settled and approved, with a finding on BJ-05 adjusting 2025.
async fn settled(app: &TestApp) -> Scenario {
    let s = scenario(app).await;
    draft(app, 2024, None, None).await;
    try_approve(app, 2024).await.data();
    app.gql_as(
        Role::CityFinance,
        "mutation($l: [Int!]!) { recordFinding(lineIds: $l, reason: \"audit: never paid\") { id } }",
        json!({ "l": [s.line["BJ-05"]] }),
    )
    .await
    .data();
    s
}

/// One object of every kind as the direct fields show them to `role`.
async fn direct_objects(app: &TestApp, role: Role, s: &Scenario) -> Vec<Value> {
    let query = format!(
        "query($cc: String!) {{
          enterprise(creditCode: $cc) {{ {enterprise}
            recognitions {{ {recognition} }} starRatings {{ {rating} }} }}
          district(code: \"330108\") {{ {district} }}
          claim(districtCode: \"330108\", fiscalYear: 2024) {{ {claim}
            lines(first: 1) {{ nodes {{ {line} verdict {{ {verdict} }} }} }} }}
          settlement(fiscalYear: 2024) {{ {settlement} districts {{ {settlement_district} }} }}
          findings(fiscalYear: 2024) {{ nodes {{ {finding} adjustments {{ {adjustment} }} }} }}
          starRewards(year: 2024, first: 1) {{ nodes {{ {reward} }} }}
          policyParameters(asOf: \"2024-06-01\") {{ {parameter} }}
        }}",
        enterprise = selection("Enterprise"),
        recognition = selection("EnterpriseRecognition"),
        rating = selection("EnterpriseStarRating"),
        district = selection("District"),
        claim = selection("Claim"),
        line = selection("PaymentLine"),
        verdict = selection("LineVerdict"),
        settlement = selection("Settlement"),
        settlement_district = selection("SettlementDistrict"),
        finding = selection("Finding"),
        adjustment = selection("Adjustment"),
        reward = selection("StarReward"),
        parameter = selection("PolicyParameter"),
    );
    let data = app
        .gql_as(role, &query, json!({ "cc": s.code[4] }))
        .await
        .data()
        .clone();
    let mut objects = Vec::new();
    let mut take = |v: &Value| {
        let mut v = v.clone();
        if let Some(map) = v.as_object_mut() {
            // Nested lists are compared on their own.
            for nested in [
                "recognitions",
                "starRatings",
                "lines",
                "verdict",
                "districts",
                "adjustments",
            ] {
                map.remove(nested);
            }
        }
        objects.push(v);
    };
    let enterprise = &data["enterprise"];
    take(enterprise);
    take(&enterprise["recognitions"][0]);
    take(&enterprise["starRatings"][0]);
    take(&data["district"]);
    let claim = &data["claim"];
    take(claim);
    take(&claim["lines"]["nodes"][0]);
    take(&claim["lines"]["nodes"][0]["verdict"]);
    take(&data["settlement"]);
    take(&data["settlement"]["districts"][0]);
    let finding = &data["findings"]["nodes"][0];
    take(finding);
    take(&finding["adjustments"][0]);
    take(&data["starRewards"]["nodes"][0]);
    take(&data["policyParameters"][0]);
    objects
}

#[tokio::test]
async fn every_kind_of_object_refetches_through_node_as_its_direct_field_shows_it() {
    // Arrange
    let app = spawn_app().await;
    let s = settled(&app).await;
    let mut objects = direct_objects(&app, Role::CityFinance, &s).await;
    let audit = app
        .gql_as(
            Role::CityFinance,
            &format!(
                "{{ auditLog(first: 1) {{ nodes {{ {} }} }} }}",
                selection("AuditEntry")
            ),
            json!({}),
        )
        .await;
    objects.push(audit.data()["auditLog"]["nodes"][0].clone());
    let kinds: BTreeSet<&str> = objects
        .iter()
        .map(|o| o["__typename"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds.len(),
        FIELDS.len(),
        "one object of every kind: {kinds:?}"
    );

    // Act / Assert: `node` answers each object exactly as its direct field did.
    for object in &objects {
        let found = app
            .gql_as(
                Role::CityFinance,
                &node_query(),
                json!({ "id": object["id"] }),
            )
            .await;
        assert_eq!(&found.data()["node"], object);
    }
    // `nodes` answers them all in the order asked; the ids are all different.
    let ids: Vec<Value> = objects.iter().map(|o| o["id"].clone()).collect();
    let distinct: BTreeSet<String> = ids.iter().map(|i| i.as_str().unwrap().into()).collect();
    assert_eq!(distinct.len(), ids.len());
    let all = app
        .gql_as(Role::CityFinance, &nodes_query(), json!({ "ids": ids }))
        .await;
    assert_eq!(all.data()["nodes"], Value::Array(objects));
}

#[tokio::test]
async fn node_refuses_exactly_what_the_direct_field_refuses() {
    // Arrange: ids of 330108's objects, as the finance bureau sees them.
    let app = spawn_app().await;
    let s = settled(&app).await;
    let objects = direct_objects(&app, Role::CityFinance, &s).await;
    let id_of = |kind: &str| -> Value {
        objects
            .iter()
            .find(|o| o["__typename"] == kind)
            .unwrap_or_else(|| panic!("a {kind}"))["id"]
            .clone()
    };
    let own = app.token(Role::District, Some("330106"));
    let node = |token: Option<String>, id: Value| {
        let app = &app;
        async move {
            app.gql(token.as_deref(), &node_query(), json!({ "id": id }))
                .await
        }
    };

    // Act / Assert: 330106 asking for 330108's claim, line and verdict is refused as `claim`
    // and `paymentLines` refuse it.
    let direct = app
        .gql(
            Some(&own),
            "{ claim(districtCode: \"330108\", fiscalYear: 2024) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(direct.error_code(), Some("FORBIDDEN"));
    for kind in ["Claim", "PaymentLine", "LineVerdict"] {
        let through = node(Some(own.clone()), id_of(kind)).await;
        assert_eq!(
            through.error_code(),
            direct.error_code(),
            "{kind}: {}",
            through.body
        );
        assert_eq!(through.body["data"]["node"], Value::Null);
    }
    // 330108's settlement line and adjustment are not in what 330106 sees: null, as the lists
    // leave them out; the settlement itself is there with 330106's own line only.
    for kind in ["SettlementDistrict", "Adjustment", "Finding"] {
        let through = node(Some(own.clone()), id_of(kind)).await;
        assert_eq!(through.data()["node"], Value::Null, "{kind}");
    }
    let own_line = raw_id("SettlementDistrict:2024:330106");
    let through = node(Some(own.clone()), json!(own_line)).await;
    assert_eq!(through.data()["node"]["districtCode"], "330106");
    // Anonymous callers: refused as `district` refuses them.
    let direct = app
        .gql(None, "{ district(code: \"330106\") { code } }", json!({}))
        .await;
    let through = node(None, id_of("District")).await;
    assert_eq!(direct.error_code(), Some("UNAUTHENTICATED"));
    assert_eq!(through.error_code(), direct.error_code());
    // A viewer and the audit log; the HQ office and the settlement.
    let viewer = app.token_for(Role::Viewer);
    let direct = app
        .gql(
            Some(&viewer),
            "{ auditLog(first: 1) { totalCount } }",
            json!({}),
        )
        .await;
    let audit_id = json!(raw_id("AuditEntry:1"));
    let through = node(Some(viewer.clone()), audit_id).await;
    assert_eq!(direct.error_code(), Some("FORBIDDEN"));
    assert_eq!(through.error_code(), direct.error_code());
    // `nodes` refuses the whole list when one id is refused.
    let both = app
        .gql(
            Some(&own),
            &nodes_query(),
            json!({ "ids": [raw_id("Claim:330106:2024"), id_of("Claim")] }),
        )
        .await;
    assert_eq!(both.error_code(), Some("FORBIDDEN"), "{}", both.body);
    let mine = app
        .gql(
            Some(&own),
            &nodes_query(),
            json!({ "ids": [raw_id("Claim:330106:2024"), raw_id("District:330106")] }),
        )
        .await;
    let mine = mine.data()["nodes"].as_array().unwrap().clone();
    assert_eq!(mine[0]["districtCode"], "330106");
    assert_eq!(mine[1]["code"], "330106");
}

#[tokio::test]
async fn a_malformed_id_is_bad_user_input_and_an_unknown_one_is_null() {
    // Arrange
    let app = spawn_app().await;
    let token = app.token_for(Role::CityFinance);
    let ask = |id: String| {
        let (app, token) = (&app, &token);
        async move {
            app.gql(
                Some(token),
                "query($id: ID!) { node(id: $id) { id } }",
                json!({ "id": id }),
            )
            .await
        }
    };

    // Act / Assert
    for bad in [
        "1".to_string(),
        "not an id".to_string(),
        raw_id("Claim:330106"),
        raw_id("PaymentLine:01"),
        raw_id("Nothing:1"),
    ] {
        let res = ask(bad.clone()).await;
        assert_eq!(
            res.error_code(),
            Some("BAD_USER_INPUT"),
            "{bad}: {}",
            res.body
        );
        assert_eq!(res.body["errors"][0]["extensions"]["field"], "id", "{bad}");
    }
    for unknown in [
        raw_id("PaymentLine:999999"),
        raw_id("Claim:330106:2024"),
        raw_id("Enterprise:91330100716105852F"),
        raw_id("Finding:42"),
    ] {
        let res = ask(unknown.clone()).await;
        assert_eq!(res.data()["node"], Value::Null, "{unknown}");
    }
    let district = ask(raw_id("District:330106")).await;
    assert_eq!(district.data()["node"]["id"], raw_id("District:330106"));
    // More ids than a page holds.
    let many: Vec<String> = (0..501).map(|n| raw_id(&format!("Finding:{n}"))).collect();
    let res = app
        .gql(
            Some(&token),
            "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
            json!({ "ids": many }),
        )
        .await;
    assert_eq!(res.error_code(), Some("BAD_USER_INPUT"), "{}", res.body);
}
