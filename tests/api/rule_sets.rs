//! Rule sets by document, over HTTP: an amendment registered in the test (modelled on
//! 杭政办〔2024〕1号, not shipped as policy) decides from its date and not the day before, names
//! itself in the verdicts it decides, never re-decides a stored recognition, and is refused to
//! anyone but the HQ office and for any invalid input without changing anything.

use hq_api::auth::Role;
use serde_json::{Value, json};

use crate::helpers::{Gql, TestApp, spawn_app};
use crate::recognition::credit_code;

/// The day the test's amendment takes effect.
const AMENDMENT_DAY: &str = "2024-03-01";

/// `recognition.excluded_industries` without the financial classes (66, 67, 68, 691, 695, 699).
const WITHOUT_FINANCE: [&str; 7] = ["6311", "6312", "16", "441", "442", "5631", "7010"];

const REGISTER: &str = "mutation($input: RegisterAmendmentInput!) {
  registerAmendment(input: $input) {
    code document title effectiveFrom effectiveTo supersedes supersededFrom
    rules rulesAdded rulesDropped
    parameterChanges { name district before { id value ruleSet } after { id value validFrom validTo ruleSet reference } }
  }
}";

const RULE_SETS: &str = "{ ruleSets {
  code document effectiveFrom effectiveTo supersedes supersededFrom rules rulesAdded rulesDropped
  parameterChanges { name before { value } after { value } }
} }";

const EVALUATE: &str = "query($code: String!, $on: Date!) {
  evaluateRecognition(creditCode: $code, year: 2024, decidedOn: $on) {
    eligible route failedRules rulesNotInForce
    ruleSet { code document }
    rules { rule passed }
    routes { route failedRules }
  }
}";

const RECOGNIZE: &str = "mutation($code: String!, $on: Date!) {
  recognize(creditCode: $code, year: 2024, decidedOn: $on) {
    ruleSet decidedOn verdict { eligible ruleSet { code } rulesNotInForce }
  }
}";

fn amendment() -> Value {
    json!({
        "code": "HZ-2024-1",
        "document": "杭政办〔2024〕1号",
        "title": "关于修订杭州总部经济政策部分条款的通知（测试）",
        "effectiveFrom": AMENDMENT_DAY,
        "parameters": [
            { "name": "recognition.excluded_industries", "value": WITHOUT_FINANCE },
        ],
        "droppedRules": ["NOT_EXCLUDED_SOE"],
    })
}

async fn register(app: &TestApp, role: Role, input: Value) -> Gql {
    app.gql_as(role, REGISTER, json!({ "input": input })).await
}

/// Registers an enterprise that passes every rule of 杭政办〔2023〕3号 on the standard route,
/// with `changes` applied, and 2023 revenue of 1.2 billion.
async fn enterprise(app: &TestApp, n: u32, changes: Value) -> String {
    let code = credit_code(n);
    let mut input = json!({
        "creditCode": code,
        "registeredOn": "2020-01-01",
        "name": format!("杭州规则集测试{n}有限公司"),
        "districtCode": "330106",
        "hangzhouSince": "2015-06-01",
        "industryCode": "7211",
        "ownership": "PRIVATE",
        "industrialGuidance": true,
        "unifiedAccounting": true,
        "outsideUnits": 3,
    });
    for (key, value) in changes.as_object().expect("an object") {
        input[key] = value.clone();
    }
    app.gql_as(
        Role::HqOffice,
        "mutation($input: RegisterEnterpriseInput!) { registerEnterprise(input: $input) { enterprise { creditCode } } }",
        json!({ "input": input }),
    )
    .await
    .data();
    app.gql_as(
        Role::HqOffice,
        "mutation($input: RecordFiguresInput!) { recordFigures(input: $input) { figures { year } } }",
        json!({ "input": { "creditCode": code, "year": 2023, "revenue": "1200000000.00", "rdSpend": "0" } }),
    )
    .await
    .data();
    code
}

async fn evaluate(app: &TestApp, code: &str, on: &str) -> Value {
    let res = app
        .gql_as(Role::HqOffice, EVALUATE, json!({ "code": code, "on": on }))
        .await;
    res.data()["evaluateRecognition"].clone()
}

async fn rule_sets(app: &TestApp, role: Role) -> Vec<Value> {
    let res = app.gql_as(role, RULE_SETS, json!({})).await;
    res.data()["ruleSets"].as_array().expect("a list").clone()
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .expect("a list")
        .iter()
        .map(|v| v.as_str().expect("a string"))
        .collect()
}

#[tokio::test]
async fn the_shipped_rule_set_applies_every_rule_and_changes_nothing() {
    let app = spawn_app().await;
    for role in Role::ALL {
        let sets = rule_sets(&app, role).await;
        assert_eq!(sets.len(), 1, "{role}");
        let set = &sets[0];
        assert_eq!(set["code"], "HZ-2023-3");
        assert_eq!(set["document"], "杭政办〔2023〕3号");
        assert_eq!(set["effectiveFrom"], "2023-02-20");
        assert_eq!(set["effectiveTo"], "2028-02-20");
        assert_eq!(set["supersedes"], Value::Null);
        assert_eq!(set["supersededFrom"], Value::Null);
        assert_eq!(strings(&set["rules"]).len(), 17);
        assert_eq!(set["rulesAdded"], json!([]));
        assert_eq!(set["rulesDropped"], json!([]));
        assert_eq!(set["parameterChanges"], json!([]));
    }
    let anonymous = app.gql(None, RULE_SETS, json!({})).await;
    assert_eq!(anonymous.error_code(), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn a_decision_on_a_day_no_rule_set_is_in_force_is_refused_citing_the_closing_paragraph() {
    let app = spawn_app().await;
    let code = enterprise(&app, 1, json!({})).await;
    let res = app
        .gql_as(
            Role::HqOffice,
            EVALUATE,
            json!({ "code": code, "on": "2023-02-19" }),
        )
        .await;
    assert_eq!(res.error_code(), Some("POLICY_VIOLATION"), "{}", res.body);
    assert_eq!(res.error_extensions()["clause"], "§final");
    let on_the_first_day = evaluate(&app, &code, "2023-02-20").await;
    assert_eq!(on_the_first_day["ruleSet"]["code"], "HZ-2023-3");
}

#[tokio::test]
async fn an_amendment_decides_from_its_date_and_never_redecides_a_stored_verdict() {
    // Arrange: an SOE of Hangzhou, a commercial bank and a private enterprise; the private one
    // is recognised before the amendment.
    let app = spawn_app().await;
    let soe = enterprise(&app, 11, json!({ "ownership": "MUNICIPAL_SOE" })).await;
    let bank = enterprise(&app, 12, json!({ "industryCode": "6621" })).await;
    let private = enterprise(&app, 13, json!({})).await;
    let before = app
        .gql_as(
            Role::HqOffice,
            RECOGNIZE,
            json!({ "code": private, "on": "2024-02-28" }),
        )
        .await;
    let before = before.data()["recognize"].clone();
    assert_eq!(before["ruleSet"], "HZ-2023-3");
    let soe_before = evaluate(&app, &soe, "2024-02-29").await;

    // Act: the HQ office registers the amendment.
    let res = register(&app, Role::HqOffice, amendment()).await;

    // Assert: the rule set, and what it changed.
    let set = &res.data()["registerAmendment"];
    assert_eq!(set["code"], "HZ-2024-1");
    assert_eq!(set["document"], "杭政办〔2024〕1号");
    assert_eq!(set["effectiveFrom"], AMENDMENT_DAY);
    assert_eq!(
        set["effectiveTo"], "2028-02-20",
        "the end of the document it amends"
    );
    assert_eq!(set["supersedes"], "HZ-2023-3");
    assert_eq!(set["rulesDropped"], json!(["NOT_EXCLUDED_SOE"]));
    assert_eq!(set["rulesAdded"], json!([]));
    assert_eq!(strings(&set["rules"]).len(), 16);
    assert!(!strings(&set["rules"]).contains(&"NOT_EXCLUDED_SOE"));
    let changes = set["parameterChanges"].as_array().expect("a list");
    assert_eq!(changes.len(), 1);
    let change = &changes[0];
    assert_eq!(change["name"], "recognition.excluded_industries");
    assert_eq!(change["district"], Value::Null);
    assert_eq!(change["before"]["ruleSet"], "HZ-2023-3");
    assert!(strings(&change["before"]["value"]).contains(&"66"));
    assert_eq!(change["after"]["value"], json!(WITHOUT_FINANCE));
    assert_eq!(change["after"]["validFrom"], AMENDMENT_DAY);
    assert_eq!(
        change["after"]["validTo"],
        Value::Null,
        "open-ended, as the shipped defaults"
    );
    assert_eq!(change["after"]["ruleSet"], "HZ-2024-1");
    assert_eq!(change["after"]["reference"], "杭政办〔2024〕1号");

    // The day before, both are refused as before; from the amendment's day both are eligible
    // under the new rule set, which the verdict names.
    for (code, failing) in [(&soe, "NOT_EXCLUDED_SOE"), (&bank, "INDUSTRY_NOT_EXCLUDED")] {
        let verdict = evaluate(&app, code, "2024-02-29").await;
        assert_eq!(verdict["eligible"], false, "{failing}");
        assert_eq!(verdict["ruleSet"]["code"], "HZ-2023-3", "{failing}");
        assert_eq!(verdict["ruleSet"]["document"], "杭政办〔2023〕3号");
        assert_eq!(verdict["rulesNotInForce"], json!([]));
        assert!(
            strings(&verdict["failedRules"]).contains(&failing),
            "{failing}"
        );
        for on in [AMENDMENT_DAY, "2024-03-02"] {
            let verdict = evaluate(&app, code, on).await;
            assert_eq!(verdict["eligible"], true, "{failing} on {on}");
            assert_eq!(verdict["route"], "STANDARD", "{failing} on {on}");
            assert_eq!(verdict["ruleSet"]["code"], "HZ-2024-1", "{failing} on {on}");
            assert_eq!(verdict["ruleSet"]["document"], "杭政办〔2024〕1号");
            assert_eq!(verdict["rulesNotInForce"], json!(["NOT_EXCLUDED_SOE"]));
            let rules: Vec<&str> = verdict["rules"]
                .as_array()
                .expect("rules")
                .iter()
                .map(|r| r["rule"].as_str().expect("a rule"))
                .collect();
            assert!(!rules.contains(&"NOT_EXCLUDED_SOE"), "{failing} on {on}");
            assert_eq!(rules.len(), 16);
        }
    }
    // A dry run before the amendment answers exactly as before it was registered.
    assert_eq!(evaluate(&app, &soe, "2024-02-29").await, soe_before);

    // Recognising the day before is refused as before; from the day, it is stored under the
    // new rule set.
    let refused = app
        .gql_as(
            Role::HqOffice,
            RECOGNIZE,
            json!({ "code": soe, "on": "2024-02-29" }),
        )
        .await;
    assert_eq!(refused.error_code(), Some("POLICY_VIOLATION"));
    assert!(
        strings(&refused.error_extensions()["details"]).contains(&"NOT_EXCLUDED_SOE"),
        "{}",
        refused.body
    );
    let recognised = app
        .gql_as(
            Role::HqOffice,
            RECOGNIZE,
            json!({ "code": soe, "on": AMENDMENT_DAY }),
        )
        .await;
    let recognised = &recognised.data()["recognize"];
    assert_eq!(recognised["ruleSet"], "HZ-2024-1");
    assert_eq!(recognised["verdict"]["ruleSet"]["code"], "HZ-2024-1");
    assert_eq!(
        recognised["verdict"]["rulesNotInForce"],
        json!(["NOT_EXCLUDED_SOE"])
    );

    // The recognition stored before the amendment keeps its rule set and is not decided again.
    let stored = app
        .gql_as(
            Role::HqOffice,
            "query($c: String!) { enterprise(creditCode: $c) { recognitions { year decidedOn route ruleSet } } }",
            json!({ "c": private }),
        )
        .await;
    assert_eq!(
        stored.data()["enterprise"]["recognitions"],
        json!([{ "year": 2024, "decidedOn": "2024-02-28", "route": "STANDARD", "ruleSet": "HZ-2023-3" }])
    );
    let again = app
        .gql_as(
            Role::HqOffice,
            RECOGNIZE,
            json!({ "code": private, "on": "2024-03-02" }),
        )
        .await;
    assert_eq!(again.error_code(), Some("CONFLICT"), "{}", again.body);

    // The list shows both, the first superseded from the amendment's day; the parameters in
    // force name their rule set on either side of it.
    let sets = rule_sets(&app, Role::Viewer).await;
    let codes: Vec<&str> = sets.iter().map(|s| s["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["HZ-2023-3", "HZ-2024-1"]);
    assert_eq!(sets[0]["supersededFrom"], AMENDMENT_DAY);
    assert_eq!(sets[1]["rulesDropped"], json!(["NOT_EXCLUDED_SOE"]));
    for (on, rule_set, has_finance) in [
        ("2024-02-29", "HZ-2023-3", true),
        (AMENDMENT_DAY, "HZ-2024-1", false),
    ] {
        let res = app
            .gql_as(
                Role::Viewer,
                "query($on: Date!) { policyParameters(asOf: $on) { name value ruleSet } }",
                json!({ "on": on }),
            )
            .await;
        let excluded = res.data()["policyParameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "recognition.excluded_industries")
            .cloned()
            .expect("in force");
        assert_eq!(excluded["ruleSet"], rule_set, "{on}");
        assert_eq!(
            strings(&excluded["value"]).contains(&"66"),
            has_finance,
            "{on}"
        );
    }

    // The registration is audited with who, before and after.
    let audit = app
        .gql_as(
            Role::Auditor,
            r#"{ auditLog(first: 5, filter: { operation: "registerAmendment" }) { nodes { actorSub targetType targetId before after } } }"#,
            json!({}),
        )
        .await;
    let entries = audit.data()["auditLog"]["nodes"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["actorSub"], "test:hq_office");
    assert_eq!(entries[0]["targetType"], "rule_set");
    assert_eq!(entries[0]["targetId"], "HZ-2024-1");
    assert_eq!(entries[0]["before"]["inForce"], "HZ-2023-3");
    assert_eq!(
        entries[0]["after"]["rulesDropped"],
        json!(["NOT_EXCLUDED_SOE"])
    );
}

#[tokio::test]
async fn only_the_hq_office_registers_an_amendment() {
    let app = spawn_app().await;
    for role in [
        Role::CityFinance,
        Role::District,
        Role::Viewer,
        Role::Auditor,
    ] {
        let res = register(&app, role, amendment()).await;
        assert_eq!(res.error_code(), Some("FORBIDDEN"), "{role}: {}", res.body);
    }
    let anonymous = app
        .gql(None, REGISTER, json!({ "input": amendment() }))
        .await;
    assert_eq!(anonymous.error_code(), Some("UNAUTHENTICATED"));
    assert_eq!(rule_sets(&app, Role::HqOffice).await.len(), 1);
}

/// What can be counted of the stored state: rule sets, parameter versions in force on the
/// amendment's day, and audit entries.
async fn state(app: &TestApp) -> (Vec<Value>, Value, Value) {
    let parameters = app
        .gql_as(
            Role::HqOffice,
            "query($on: Date!) { policyParameters(asOf: $on) { id } }",
            json!({ "on": AMENDMENT_DAY }),
        )
        .await;
    let audit = app
        .gql_as(
            Role::Auditor,
            "{ auditLog(first: 1) { totalCount } }",
            json!({}),
        )
        .await;
    (
        rule_sets(app, Role::HqOffice).await,
        parameters.data()["policyParameters"].clone(),
        audit.data()["auditLog"]["totalCount"].clone(),
    )
}

#[tokio::test]
async fn an_invalid_amendment_is_refused_naming_the_field_and_changes_nothing() {
    let app = spawn_app().await;
    let unchanged = state(&app).await;
    let with = |key: &str, value: Value| {
        let mut input = amendment();
        input[key] = value;
        input
    };
    let parameter = |value: Value| with("parameters", json!([value]));
    let cases: Vec<(&str, Value, &str, Option<&str>)> = vec![
        (
            "the same day as the rule set it amends",
            with("effectiveFrom", json!("2023-02-20")),
            "BAD_USER_INPUT",
            Some("input.effectiveFrom"),
        ),
        (
            "after the end of the rule set it amends",
            with("effectiveFrom", json!("2028-02-21")),
            "BAD_USER_INPUT",
            Some("input.effectiveFrom"),
        ),
        (
            "an end before its start",
            with("effectiveTo", json!("2024-02-29")),
            "BAD_USER_INPUT",
            Some("input.effectiveTo"),
        ),
        (
            "an unknown parameter",
            parameter(json!({ "name": "recognition.no_such_thing", "value": "1" })),
            "BAD_USER_INPUT",
            Some("input.parameters[0].name"),
        ),
        (
            "a ratio above 1",
            parameter(json!({ "name": "settlement.rate_cap", "value": "1.5" })),
            "BAD_USER_INPUT",
            Some("input.parameters[0].value"),
        ),
        (
            "a float",
            parameter(json!({ "name": "settlement.rate_cap", "value": 0.5 })),
            "BAD_USER_INPUT",
            Some("input.parameters[0].value"),
        ),
        (
            "an industry prefix that is not digits",
            parameter(json!({ "name": "recognition.excluded_industries", "value": ["66", "6A"] })),
            "BAD_USER_INPUT",
            Some("input.parameters[0].value[1]"),
        ),
        (
            "a district version of a city-wide parameter",
            parameter(
                json!({ "name": "settlement.rate_cap", "district": "330106", "value": "0.10" }),
            ),
            "BAD_USER_INPUT",
            Some("input.parameters[0].district"),
        ),
        (
            "an unknown district",
            parameter(
                json!({ "name": "rent_subsidy.ratio", "district": "330199", "value": "0.10" }),
            ),
            "BAD_USER_INPUT",
            Some("input.parameters[0].district"),
        ),
        (
            "the same parameter twice",
            with(
                "parameters",
                json!([
                    { "name": "settlement.rate_cap", "value": "0.10" },
                    { "name": "settlement.rate_cap", "value": "0.15" },
                ]),
            ),
            "BAD_USER_INPUT",
            Some("input.parameters[1].name"),
        ),
        (
            "a rule dropped twice",
            with(
                "droppedRules",
                json!(["NOT_EXCLUDED_SOE", "NOT_EXCLUDED_SOE"]),
            ),
            "BAD_USER_INPUT",
            Some("input.droppedRules[1]"),
        ),
        (
            "a rule added that is in force",
            with("addedRules", json!(["OPERATING"])),
            "BAD_USER_INPUT",
            Some("input.addedRules[0]"),
        ),
        (
            "an unknown rule",
            with("droppedRules", json!(["NO_SUCH_RULE"])),
            "BAD_USER_INPUT",
            None,
        ),
        (
            "a code that is not upper case",
            with("code", json!("hz-2024-1")),
            "BAD_USER_INPUT",
            Some("input.code"),
        ),
        (
            "the code of the shipped rule set",
            with("code", json!("HZ-2023-3")),
            "CONFLICT",
            None,
        ),
        (
            "the document of the shipped rule set",
            with("document", json!("杭政办〔2023〕3号")),
            "CONFLICT",
            None,
        ),
    ];
    for (case, input, code, field) in cases {
        let res = register(&app, Role::HqOffice, input).await;
        assert_eq!(res.error_code(), Some(code), "{case}: {}", res.body);
        if let Some(field) = field {
            assert_eq!(
                res.error_extensions()["field"],
                field,
                "{case}: {}",
                res.body
            );
        }
        let message = res.body["errors"][0]["message"].as_str().unwrap_or("");
        assert!(!message.to_lowercase().contains("sql"), "{case}: {message}");
    }
    assert_eq!(state(&app).await, unchanged);
}

#[tokio::test]
async fn a_version_already_set_from_the_amendments_day_is_a_conflict_and_nothing_is_registered() {
    let app = spawn_app().await;
    app.gql_as(
        Role::HqOffice,
        r#"mutation { addParameterVersion(input: { name: "recognition.excluded_industries", value: ["66"], validFrom: "2024-03-01", reference: "§3.1" }) { id ruleSet } }"#,
        json!({}),
    )
    .await
    .data();
    let res = register(&app, Role::HqOffice, amendment()).await;
    assert_eq!(res.error_code(), Some("CONFLICT"), "{}", res.body);
    assert_eq!(rule_sets(&app, Role::HqOffice).await.len(), 1);
}

#[tokio::test]
async fn a_retried_amendment_with_the_same_idempotency_key_is_registered_once() {
    let app = spawn_app().await;
    let send = |key: Option<&'static str>| {
        let token = app.token_for(Role::HqOffice);
        let mut request = app
            .client
            .post(format!("{}/graphql", app.address))
            .bearer_auth(token)
            .json(&json!({ "query": REGISTER, "variables": { "input": amendment() } }));
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        async move {
            let response = request.send().await.expect("sent");
            let replayed = response.headers().get("Idempotent-Replayed").is_some();
            let body: Value = response.json().await.expect("JSON");
            (replayed, body)
        }
    };
    let (replayed, first) = send(Some("amendment-2024-1")).await;
    assert!(!replayed);
    assert!(first.get("errors").is_none(), "{first}");
    let (replayed, second) = send(Some("amendment-2024-1")).await;
    assert!(replayed);
    assert_eq!(first, second, "the retry gets the first answer");
    assert_eq!(rule_sets(&app, Role::HqOffice).await.len(), 2);
    let (_, without_key) = send(None).await;
    assert_eq!(
        without_key["errors"][0]["extensions"]["code"], "CONFLICT",
        "{without_key}"
    );
}
