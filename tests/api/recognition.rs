//! Recognition (§3, §4), star ratings (§5), star rewards (§6), revocations (§22), the published
//! list (§21), the §1 targets and the policy parameters, over HTTP.

use hq_api::auth::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

const CHARSET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// A valid credit code of a Hangzhou-issued company, distinct per `n`.
pub(crate) fn credit_code(n: u32) -> String {
    let base = format!("91330100{n:09}");
    let sum: u32 = base
        .chars()
        .zip(WEIGHTS)
        .map(|(c, w)| CHARSET.find(c).unwrap() as u32 * w)
        .sum();
    let check = (31 - sum % 31) % 31;
    format!("{base}{}", CHARSET.as_bytes()[check as usize] as char)
}

/// What an enterprise looks like when registered; tests change a field or two.
pub(crate) fn eligible_enterprise(code: &str) -> Value {
    json!({
        "creditCode": code,
        "registeredOn": "2020-01-01",
        "name": format!("杭州总部{code}有限公司"),
        "districtCode": "330106",
        "hangzhouSince": "2015-06-01",
        "industryCode": "7211",
        "ownership": "PRIVATE",
        "industrialGuidance": true,
        "unifiedAccounting": true,
        "outsideUnits": 3,
    })
}

pub(crate) async fn register(app: &TestApp, input: Value) {
    let res = app
        .gql_as(
            Role::HqOffice,
            "mutation($input: RegisterEnterpriseInput!) { registerEnterprise(input: $input) { enterprise { creditCode } } }",
            json!({ "input": input }),
        )
        .await;
    res.data();
}

pub(crate) async fn figures(app: &TestApp, code: &str, year: i32, revenue: &str, rd_spend: &str) {
    let res = app
        .gql_as(
            Role::HqOffice,
            "mutation($input: RecordFiguresInput!) { recordFigures(input: $input) { figures { year } } }",
            json!({ "input": { "creditCode": code, "year": year, "revenue": revenue, "rdSpend": rd_spend } }),
        )
        .await;
    res.data();
}

/// Registers an eligible enterprise with 2023 revenue of 1.2 billion.
pub(crate) async fn eligible(app: &TestApp, n: u32) -> String {
    let code = credit_code(n);
    register(app, eligible_enterprise(&code)).await;
    figures(app, &code, 2023, "1200000000.00", "0").await;
    code
}

pub(crate) const EVALUATE: &str = "query($code: String!, $year: Int!, $on: Date) {
  evaluateRecognition(creditCode: $code, year: $year, decidedOn: $on) {
    creditCode year decidedOn eligible route needsReview banUntil failedRules parameterVersionIds
    rules { rule clause passed detail gap gapKind figures { name value } }
  }
}";

async fn evaluate(
    app: &TestApp,
    role: Role,
    code: &str,
    year: i32,
    on: &str,
) -> crate::helpers::Gql {
    app.gql_as(
        role,
        EVALUATE,
        json!({ "code": code, "year": year, "on": on }),
    )
    .await
}

const RECOGNIZE: &str = "mutation($code: String!, $year: Int!, $on: Date) {
  recognize(creditCode: $code, year: $year, decidedOn: $on) {
    creditCode year decidedOn route ruleSet parameterVersionIds decidedBy verdict { eligible }
  }
}";

pub(crate) async fn recognize(
    app: &TestApp,
    code: &str,
    year: i32,
    on: &str,
) -> crate::helpers::Gql {
    app.gql_as(
        Role::HqOffice,
        RECOGNIZE,
        json!({ "code": code, "year": year, "on": on }),
    )
    .await
}

const RATE: &str = "mutation($code: String!, $year: Int!, $stars: Int!) {
  rateStars(creditCode: $code, year: $year, stars: $stars) { stars previousStars }
}";

pub(crate) async fn rate(app: &TestApp, code: &str, year: i32, stars: i32) -> crate::helpers::Gql {
    app.gql_as(
        Role::HqOffice,
        RATE,
        json!({ "code": code, "year": year, "stars": stars }),
    )
    .await
}

const GRANT: &str = "mutation($year: Int!, $on: Date!) {
  grantStarRewards(year: $year, grantedOn: $on) {
    grantedTotal
    granted { creditCode stars tier alreadyGranted due cityShare districtShare status districtCode }
    alreadyGranted { creditCode due status }
    nothingDue { creditCode due status }
  }
}";

async fn grant(app: &TestApp, year: i32, on: &str) -> Value {
    let res = app
        .gql_as(Role::HqOffice, GRANT, json!({ "year": year, "on": on }))
        .await;
    res.data()["grantStarRewards"].clone()
}

const REVOKE: &str = "mutation($code: String!, $on: Date!) {
  revokeTitle(creditCode: $code, revokedOn: $on, reason: \"false statements (§22)\", approvalRef: \"领导小组2024-7\") {
    revokedOn banUntil
  }
}";

pub(crate) async fn revoke(app: &TestApp, code: &str, on: &str) -> crate::helpers::Gql {
    app.gql_as(Role::HqOffice, REVOKE, json!({ "code": code, "on": on }))
        .await
}

fn rule<'a>(verdict: &'a Value, id: &str) -> &'a Value {
    verdict["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == id)
        .unwrap_or_else(|| panic!("rule {id} listed"))
}

#[tokio::test]
async fn an_eligible_enterprise_is_evaluated_standard_with_every_rule_listed_in_order() {
    // Arrange
    let app = spawn_app().await;
    let code = eligible(&app, 1).await;

    // Act
    let res = evaluate(&app, Role::HqOffice, &code, 2024, "2024-05-01").await;

    // Assert
    let verdict = &res.data()["evaluateRecognition"];
    assert_eq!(verdict["eligible"], true);
    assert_eq!(verdict["route"], "STANDARD");
    assert_eq!(verdict["banUntil"], Value::Null);
    let rules: Vec<&str> = verdict["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules.len(), 17);
    assert_eq!(rules[0], "NOT_BANNED");
    assert_eq!(rules[10], "REVENUE_THRESHOLD");
    let revenue = rule(verdict, "REVENUE_THRESHOLD");
    assert_eq!(revenue["passed"], true);
    assert_eq!(revenue["clause"], "§3.2");
    assert_eq!(revenue["gap"], Value::Null);
    assert!(
        verdict["failedRules"]
            .as_array()
            .unwrap()
            .contains(&json!("RD_MIN_SPEND"))
    );
    assert!(
        !verdict["parameterVersionIds"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_new_enterprise_below_the_revenue_threshold_fails_with_its_gap() {
    // Arrange: in Hangzhou since 2022 (a new enterprise: 500 million), revenue 463 million.
    let app = spawn_app().await;
    let code = credit_code(2);
    let mut input = eligible_enterprise(&code);
    input["registeredOn"] = json!("2022-03-01");
    input["hangzhouSince"] = json!("2022-03-01");
    register(&app, input).await;
    figures(&app, &code, 2023, "463000000.00", "0").await;

    // Act
    let res = evaluate(&app, Role::CityFinance, &code, 2024, "2024-05-01").await;

    // Assert
    let verdict = &res.data()["evaluateRecognition"];
    assert_eq!(verdict["eligible"], false);
    assert_eq!(verdict["route"], Value::Null);
    let revenue = rule(verdict, "REVENUE_THRESHOLD");
    assert_eq!(revenue["passed"], false);
    assert_eq!(revenue["gap"], "37000000.00");
    assert_eq!(revenue["gapKind"], "MONEY");
    assert_eq!(
        revenue["detail"],
        "revenue 463,000,000.00 < 500,000,000.00 (new enterprise, in Hangzhou since 2022-03-01)"
    );
    let figures: Vec<(&str, &str)> = revenue["figures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["name"].as_str().unwrap(), f["value"].as_str().unwrap()))
        .collect();
    assert!(
        figures.contains(&("revenue", "463000000.00")),
        "{figures:?}"
    );
    assert!(
        figures.contains(&("threshold", "500000000.00")),
        "{figures:?}"
    );
}

#[tokio::test]
async fn missing_figures_fail_the_rules_that_need_them() {
    let app = spawn_app().await;
    let code = credit_code(3);
    register(&app, eligible_enterprise(&code)).await;

    let res = evaluate(&app, Role::HqOffice, &code, 2024, "2024-05-01").await;

    let verdict = &res.data()["evaluateRecognition"];
    assert_eq!(verdict["eligible"], false);
    let revenue = rule(verdict, "REVENUE_THRESHOLD");
    assert_eq!(revenue["passed"], false);
    assert!(
        revenue["detail"]
            .as_str()
            .unwrap()
            .contains("no figures for Y−1 (2023)")
    );
}

#[tokio::test]
async fn a_year_outside_the_policy_period_is_a_policy_violation() {
    let app = spawn_app().await;
    let code = eligible(&app, 4).await;

    let res = evaluate(&app, Role::HqOffice, &code, 2028, "2026-05-01").await;

    assert_eq!(res.error_code(), Some("POLICY_VIOLATION"));
    assert_eq!(res.error_extensions()["clause"], "§final");
}

#[tokio::test]
async fn recognize_stores_the_verdict_and_a_second_recognition_is_a_conflict() {
    // Arrange
    let app = spawn_app().await;
    let code = eligible(&app, 5).await;

    // Act
    let first = recognize(&app, &code, 2024, "2024-05-01").await;
    let second = recognize(&app, &code, 2024, "2024-06-01").await;

    // Assert
    let stored = &first.data()["recognize"];
    assert_eq!(stored["route"], "STANDARD");
    assert_eq!(stored["ruleSet"], "HZ-2023-3");
    assert_eq!(stored["decidedOn"], "2024-05-01");
    assert_eq!(stored["decidedBy"], "test:hq_office");
    assert_eq!(stored["verdict"]["eligible"], true);
    assert!(!stored["parameterVersionIds"].as_array().unwrap().is_empty());
    assert_eq!(second.error_code(), Some("CONFLICT"), "{}", second.body);
}

#[tokio::test]
async fn recognizing_an_ineligible_enterprise_is_a_policy_violation_listing_the_failed_rules() {
    // Arrange: revenue below the 1 billion threshold of an existing enterprise.
    let app = spawn_app().await;
    let code = credit_code(6);
    register(&app, eligible_enterprise(&code)).await;
    figures(&app, &code, 2023, "999999999.99", "0").await;

    // Act
    let res = recognize(&app, &code, 2024, "2024-05-01").await;

    // Assert
    assert_eq!(res.error_code(), Some("POLICY_VIOLATION"), "{}", res.body);
    let ext = res.error_extensions();
    assert_eq!(ext["clause"], "§3.2");
    let failed = ext["details"].as_array().expect("failed rule ids");
    assert_eq!(failed[0], "REVENUE_THRESHOLD");
    assert!(failed.contains(&json!("LISTED_ON_ACCEPTED_EXCHANGE")));
    assert!(!failed.contains(&json!("NOT_BANNED")));
}

#[tokio::test]
async fn rating_an_enterprise_not_recognised_for_the_year_is_a_policy_violation() {
    let app = spawn_app().await;
    let code = eligible(&app, 7).await;

    let res = rate(&app, &code, 2024, 3).await;

    assert_eq!(res.error_code(), Some("POLICY_VIOLATION"), "{}", res.body);
    assert_eq!(res.error_extensions()["clause"], "§5");
}

#[tokio::test]
async fn stars_outside_one_to_five_are_bad_input() {
    let app = spawn_app().await;
    let code = eligible(&app, 8).await;
    recognize(&app, &code, 2024, "2024-05-01").await.data();

    for stars in [0, 6, -1] {
        let res = rate(&app, &code, 2024, stars).await;
        assert_eq!(res.error_code(), Some("BAD_USER_INPUT"), "{stars}");
    }
}

#[tokio::test]
async fn star_rewards_pay_the_difference_from_three_to_four_stars_and_granting_again_changes_nothing()
 {
    // Arrange: recognised and rated 3★ for 2024.
    let app = spawn_app().await;
    let code = eligible(&app, 9).await;
    recognize(&app, &code, 2024, "2024-05-01").await.data();
    rate(&app, &code, 2024, 2).await.data();
    let rerated = rate(&app, &code, 2024, 3).await;
    assert_eq!(rerated.data()["rateStars"]["previousStars"], 2);

    // Act: grant 2024, twice.
    let first = grant(&app, 2024, "2024-12-01").await;
    let again = grant(&app, 2024, "2024-12-15").await;

    // Assert
    assert_eq!(first["grantedTotal"], "3000000.00");
    let reward = &first["granted"][0];
    assert_eq!(reward["creditCode"], code.as_str());
    assert_eq!(reward["tier"], "3000000.00");
    assert_eq!(reward["alreadyGranted"], "0.00");
    assert_eq!(reward["due"], "3000000.00");
    assert_eq!(reward["cityShare"], "1500000.00");
    assert_eq!(reward["districtShare"], "1500000.00");
    assert_eq!(reward["districtCode"], "330106");
    assert_eq!(again["granted"], json!([]));
    assert_eq!(again["grantedTotal"], "0.00");
    assert_eq!(again["alreadyGranted"][0]["due"], "3000000.00");

    // A reward depends on the 2024 rating now.
    let frozen = rate(&app, &code, 2024, 4).await;
    assert_eq!(frozen.error_code(), Some("CONFLICT"), "{}", frozen.body);

    // Act: 2025 at 4★ pays the difference.
    figures(&app, &code, 2024, "1300000000.00", "0").await;
    recognize(&app, &code, 2025, "2025-05-01").await.data();
    rate(&app, &code, 2025, 4).await.data();
    let second_year = grant(&app, 2025, "2025-12-01").await;

    // Assert
    assert_eq!(second_year["grantedTotal"], "2000000.00");
    let reward = &second_year["granted"][0];
    assert_eq!(reward["tier"], "5000000.00");
    assert_eq!(reward["alreadyGranted"], "3000000.00");
    assert_eq!(reward["due"], "2000000.00");
    let again = grant(&app, 2025, "2025-12-02").await;
    assert_eq!(again["grantedTotal"], "0.00");

    // The list shows both years as granted.
    let res = app
        .gql_as(
            Role::Auditor,
            "{ starRewards(year: 2025) { nodes { creditCode stars due status } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        res.data()["starRewards"]["nodes"],
        json!([{ "creditCode": code, "stars": 4, "due": "2000000.00", "status": "GRANTED" }])
    );
}

#[tokio::test]
async fn a_rating_below_three_stars_is_granted_nothing() {
    let app = spawn_app().await;
    let code = eligible(&app, 10).await;
    recognize(&app, &code, 2024, "2024-05-01").await.data();
    rate(&app, &code, 2024, 2).await.data();

    let result = grant(&app, 2024, "2024-12-01").await;

    assert_eq!(result["granted"], json!([]));
    assert_eq!(result["nothingDue"][0]["status"], "NOTHING_DUE");
    assert_eq!(result["nothingDue"][0]["due"], "0.00");
}

#[tokio::test]
async fn a_revoked_title_bans_recognition_up_to_and_including_the_anniversary() {
    // Arrange: recognised for 2024, rated 3★, then revoked on 2024-06-15.
    let app = spawn_app().await;
    let code = eligible(&app, 11).await;
    figures(&app, &code, 2025, "1200000000.00", "0").await;
    recognize(&app, &code, 2024, "2024-05-01").await.data();
    rate(&app, &code, 2024, 3).await.data();

    // Act
    let revoked = revoke(&app, &code, "2024-06-15").await;
    let duplicate = revoke(&app, &code, "2024-06-15").await;

    // Assert
    assert_eq!(revoked.data()["revokeTitle"]["banUntil"], "2026-06-15");
    assert_eq!(
        duplicate.error_code(),
        Some("CONFLICT"),
        "{}",
        duplicate.body
    );

    let on_anniversary = evaluate(&app, Role::HqOffice, &code, 2026, "2026-06-15").await;
    let verdict = &on_anniversary.data()["evaluateRecognition"];
    assert_eq!(verdict["eligible"], false);
    assert_eq!(verdict["banUntil"], "2026-06-15");
    let not_banned = rule(verdict, "NOT_BANNED");
    assert_eq!(not_banned["passed"], false);
    assert_eq!(not_banned["clause"], "§22");
    assert!(
        not_banned["detail"]
            .as_str()
            .unwrap()
            .contains("2026-06-15")
    );

    let day_after = evaluate(&app, Role::HqOffice, &code, 2026, "2026-06-16").await;
    let verdict = &day_after.data()["evaluateRecognition"];
    assert_eq!(verdict["eligible"], true);
    assert_eq!(verdict["banUntil"], Value::Null);
    assert_eq!(rule(verdict, "NOT_BANNED")["passed"], true);

    // No reward is due for the 2024 rating: revoked after the decision, before the grant.
    let res = app
        .gql_as(
            Role::HqOffice,
            r#"{ starRewards(year: 2024, grantedOn: "2024-12-01") { nodes { due status revokedOn clause } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        res.data()["starRewards"]["nodes"],
        json!([{ "due": "0.00", "status": "REVOKED", "revokedOn": "2024-06-15", "clause": "§22" }])
    );
}

#[tokio::test]
async fn revoking_a_title_never_held_is_a_policy_violation() {
    let app = spawn_app().await;
    let code = eligible(&app, 12).await;

    let res = revoke(&app, &code, "2024-06-15").await;

    assert_eq!(res.error_code(), Some("POLICY_VIOLATION"), "{}", res.body);
    assert_eq!(res.error_extensions()["clause"], "§22");
}

#[tokio::test]
async fn the_published_list_is_readable_anonymously_and_shows_no_figures() {
    // Arrange
    let app = spawn_app().await;
    let code = eligible(&app, 13).await;
    recognize(&app, &code, 2024, "2024-05-01").await.data();
    rate(&app, &code, 2024, 4).await.data();

    // Act
    let res = app
        .gql(
            None,
            "{ publishedHeadquarters(year: 2024) { nodes { name district { code name } stars route } } }",
            json!({}),
        )
        .await;

    // Assert
    assert_eq!(
        res.data()["publishedHeadquarters"]["nodes"],
        json!([{
            "name": format!("杭州总部{code}有限公司"),
            "district": { "code": "330106", "name": "西湖区" },
            "stars": 4,
            "route": "STANDARD",
        }])
    );
    let fields = app
        .gql(
            None,
            r#"{ __type(name: "PublishedHeadquarters") { fields { name } } }"#,
            json!({}),
        )
        .await;
    let names: Vec<&str> = fields.data()["__type"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["name", "district", "stars", "route"]);
    let confidential = app
        .gql(
            None,
            "{ evaluateRecognition(creditCode: \"91330100716105852F\", year: 2024) { eligible } }",
            json!({}),
        )
        .await;
    assert_eq!(confidential.error_code(), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn only_the_hq_office_writes_recognitions_ratings_rewards_revocations_and_parameters() {
    let app = spawn_app().await;
    let code = eligible(&app, 14).await;
    let writes = [
        (
            RECOGNIZE,
            json!({ "code": code, "year": 2024, "on": "2024-05-01" }),
        ),
        (RATE, json!({ "code": code, "year": 2024, "stars": 3 })),
        (GRANT, json!({ "year": 2024, "on": "2024-12-01" })),
        (REVOKE, json!({ "code": code, "on": "2024-06-15" })),
        (
            ADD_VERSION,
            json!({ "input": { "name": "star_reward.3", "value": "3500000.00", "validFrom": "2025-01-01", "reference": "§6" } }),
        ),
    ];
    for role in [
        Role::CityFinance,
        Role::District,
        Role::Viewer,
        Role::Auditor,
    ] {
        for (query, variables) in &writes {
            let res = app.gql_as(role, query, variables.clone()).await;
            assert_eq!(res.error_code(), Some("FORBIDDEN"), "{role}: {query}");
        }
    }
}

#[tokio::test]
async fn a_district_actor_sees_only_the_enterprises_of_its_district() {
    // Arrange: one enterprise in 西湖区 (330106, the test district actor's), one in 滨江区.
    let app = spawn_app().await;
    let own = eligible(&app, 15).await;
    let other = credit_code(16);
    let mut input = eligible_enterprise(&other);
    input["districtCode"] = json!("330108");
    register(&app, input).await;
    figures(&app, &other, 2023, "1200000000.00", "0").await;
    for code in [&own, &other] {
        recognize(&app, code, 2024, "2024-05-01").await.data();
        rate(&app, code, 2024, 3).await.data();
    }

    // Act
    let own_verdict = evaluate(&app, Role::District, &own, 2024, "2024-05-01").await;
    let other_verdict = evaluate(&app, Role::District, &other, 2024, "2024-05-01").await;
    let rewards = app
        .gql_as(
            Role::District,
            "{ starRewards(year: 2024) { nodes { creditCode } } }",
            json!({}),
        )
        .await;

    // Assert
    assert_eq!(own_verdict.data()["evaluateRecognition"]["eligible"], true);
    assert_eq!(other_verdict.error_code(), Some("FORBIDDEN"));
    assert_eq!(
        rewards.data()["starRewards"]["nodes"],
        json!([{ "creditCode": own }])
    );
    let all = app
        .gql_as(
            Role::CityFinance,
            "{ starRewards(year: 2024) { totalCount nodes { creditCode } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        all.data()["starRewards"]["nodes"].as_array().unwrap().len(),
        2
    );
    assert_eq!(all.data()["starRewards"]["totalCount"], 2);
}

#[tokio::test]
async fn target_progress_counts_recognitions_first_timers_and_revenue_classes() {
    // Arrange: A recognised for 2023 and 2024; B (千亿级) for 2024 only.
    let app = spawn_app().await;
    let a = eligible(&app, 17).await;
    figures(&app, &a, 2022, "1100000000.00", "0").await;
    recognize(&app, &a, 2023, "2023-05-01").await.data();
    recognize(&app, &a, 2024, "2024-05-01").await.data();
    let b = credit_code(18);
    register(&app, eligible_enterprise(&b)).await;
    figures(&app, &b, 2023, "150000000000.00", "0").await;
    recognize(&app, &b, 2024, "2024-05-01").await.data();

    // Act
    let res = app
        .gql_as(
            Role::Viewer,
            "{ targetProgress(year: 2024) { year recognised baselineYear baselineRecognised increaseOverBaseline recognisedFirstTime tenBillionClass hundredBillionClass targetYear targets { measure actual target met } } }",
            json!({}),
        )
        .await;

    // Assert
    let progress = &res.data()["targetProgress"];
    assert_eq!(progress["recognised"], 2);
    assert_eq!(progress["baselineYear"], 2023);
    assert_eq!(progress["baselineRecognised"], 1);
    assert_eq!(progress["increaseOverBaseline"], 1);
    assert_eq!(progress["recognisedFirstTime"], 1);
    assert_eq!(progress["tenBillionClass"], 1);
    assert_eq!(progress["hundredBillionClass"], 1);
    assert_eq!(progress["targetYear"], 2025);
    assert_eq!(
        progress["targets"],
        json!([
            { "measure": "INCREASE_OVER_BASELINE", "actual": 1, "target": 100, "met": false },
            { "measure": "TEN_BILLION_CLASS", "actual": 1, "target": 60, "met": false },
            { "measure": "HUNDRED_BILLION_CLASS", "actual": 1, "target": 10, "met": false },
        ])
    );
}

const PARAMETERS: &str = "query($on: Date!) {
  policyParameters(asOf: $on) { id name value kind validFrom validTo reference placeholder district }
}";

fn parameter<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{name} in force"))
}

#[tokio::test]
async fn policy_parameters_return_the_shipped_defaults() {
    let app = spawn_app().await;

    let res = app
        .gql_as(Role::Viewer, PARAMETERS, json!({ "on": "2024-01-01" }))
        .await;

    let list = &res.data()["policyParameters"];
    assert_eq!(list.as_array().unwrap().len(), 38);
    let star = parameter(list, "star_reward.3");
    assert_eq!(star["value"], "3000000.00");
    assert_eq!(star["kind"], "MONEY");
    assert_eq!(star["validFrom"], "2023-01-01");
    assert_eq!(star["validTo"], Value::Null);
    assert_eq!(star["placeholder"], true);
    assert_eq!(star["reference"], "placeholder (§6)");
    assert_eq!(star["district"], Value::Null);
    assert_eq!(parameter(list, "recognition.ban_years")["value"], 2);
    assert_eq!(
        parameter(list, "recognition.accepted_exchanges")["value"],
        json!(["SSE", "SZSE", "BSE", "HKEX", "NASDAQ", "NYSE"])
    );
    assert_eq!(parameter(list, "settlement.rate_cap")["value"], "0.20");
    let before = app
        .gql_as(Role::Viewer, PARAMETERS, json!({ "on": "2022-12-31" }))
        .await;
    assert_eq!(before.data()["policyParameters"], json!([]));
}

pub(crate) const ADD_VERSION: &str = "mutation($input: AddParameterVersionInput!) {
  addParameterVersion(input: $input) { id name value validFrom validTo reference placeholder district }
}";

#[tokio::test]
async fn raising_star_reward_3_from_a_later_date_adds_a_version_and_tops_up_the_reward() {
    // Arrange: 3★ for 2024, granted 3,000,000.00.
    let app = spawn_app().await;
    let code = eligible(&app, 19).await;
    figures(&app, &code, 2024, "1200000000.00", "0").await;
    recognize(&app, &code, 2024, "2024-05-01").await.data();
    rate(&app, &code, 2024, 3).await.data();
    grant(&app, 2024, "2024-12-01").await;

    // Act: star_reward.3 becomes 3,500,000.00 from 2025.
    let input = json!({
        "name": "star_reward.3",
        "value": "3500000",
        "validFrom": "2025-01-01",
        "reference": "杭总部办〔2025〕1号 (§6)",
    });
    let added = app
        .gql_as(Role::HqOffice, ADD_VERSION, json!({ "input": input }))
        .await;
    let duplicate = app
        .gql_as(Role::HqOffice, ADD_VERSION, json!({ "input": input }))
        .await;

    // Assert
    let version = &added.data()["addParameterVersion"];
    assert_eq!(version["value"], "3500000.00");
    assert_eq!(version["placeholder"], false);
    assert_eq!(
        duplicate.error_code(),
        Some("CONFLICT"),
        "{}",
        duplicate.body
    );
    let on = |date: &'static str| {
        let app = &app;
        async move {
            let res = app
                .gql_as(Role::HqOffice, PARAMETERS, json!({ "on": date }))
                .await;
            parameter(&res.data()["policyParameters"], "star_reward.3")["value"].clone()
        }
    };
    assert_eq!(on("2024-12-31").await, "3000000.00");
    assert_eq!(on("2025-01-01").await, "3500000.00");

    // The 2025 rating at 3★ tops up to the raised tier.
    recognize(&app, &code, 2025, "2025-05-01").await.data();
    rate(&app, &code, 2025, 3).await.data();
    let topped_up = grant(&app, 2025, "2025-12-01").await;
    assert_eq!(topped_up["grantedTotal"], "500000.00");
}

#[tokio::test]
async fn a_parameter_version_of_the_wrong_kind_or_name_is_bad_input() {
    let app = spawn_app().await;
    let cases = [
        json!({ "name": "star_reward.city_share", "value": "1.5", "validFrom": "2025-01-01", "reference": "§20" }),
        json!({ "name": "star_reward.3", "value": "3000000.005", "validFrom": "2025-01-01", "reference": "§6" }),
        json!({ "name": "star_reward.3", "value": 0.5, "validFrom": "2025-01-01", "reference": "§6" }),
        json!({ "name": "star_reward.6", "value": "1.00", "validFrom": "2025-01-01", "reference": "§6" }),
        json!({ "name": "recognition.ban_years", "value": "2", "validFrom": "2025-01-01", "reference": "§22" }),
        json!({ "name": "recognition.excluded_ownership", "value": ["PRIVATE", "STATE"], "validFrom": "2025-01-01", "reference": "§3.1" }),
        json!({ "name": "star_reward.3", "value": "1.00", "validFrom": "2025-01-01", "validTo": "2024-12-31", "reference": "§6" }),
        json!({ "name": "star_reward.3", "value": "1.00", "validFrom": "2025-01-01", "district": "330106", "reference": "§6" }),
        json!({ "name": "star_reward.3", "value": "1.00", "validFrom": "2025-01-01", "reference": " " }),
    ];
    for input in cases {
        let res = app
            .gql_as(Role::HqOffice, ADD_VERSION, json!({ "input": input }))
            .await;
        assert_eq!(
            res.error_code(),
            Some("BAD_USER_INPUT"),
            "{input}: {}",
            res.body
        );
    }
    let district_own = app
        .gql_as(
            Role::HqOffice,
            ADD_VERSION,
            json!({ "input": { "name": "rent_subsidy.ratio", "value": "0.25", "validFrom": "2025-01-01", "district": "330106", "reference": "西湖区 2025 (§7)" } }),
        )
        .await;
    assert_eq!(
        district_own.data()["addParameterVersion"]["district"],
        "330106"
    );
}

#[tokio::test]
async fn each_recognition_write_is_audited() {
    // Arrange / Act: one of each write.
    let app = spawn_app().await;
    let code = eligible(&app, 20).await;
    recognize(&app, &code, 2024, "2024-05-01").await.data();
    rate(&app, &code, 2024, 3).await.data();
    rate(&app, &code, 2024, 4).await.data();
    grant(&app, 2024, "2024-12-01").await;
    revoke(&app, &code, "2025-03-01").await.data();
    app.gql_as(
        Role::HqOffice,
        ADD_VERSION,
        json!({ "input": { "name": "star_reward.5", "value": "12000000.00", "validFrom": "2026-01-01", "reference": "§6" } }),
    )
    .await
    .data();

    // Assert
    let log = |operation: &'static str| {
        let app = &app;
        async move {
            let res = app
                .gql_as(
                    Role::Auditor,
                    "query($op: String!) { auditLog(filter: { operation: $op }, first: 10) { totalCount edges { node { actorSub targetId before after } } } }",
                    json!({ "op": operation }),
                )
                .await;
            res.data()["auditLog"].clone()
        }
    };
    let target = format!("{code}/2024");
    for (operation, count) in [
        ("recognize", 1),
        ("rateStars", 2),
        ("grantStarRewards", 1),
        ("revokeTitle", 1),
        ("addParameterVersion", 1),
    ] {
        let entries = log(operation).await;
        assert_eq!(entries["totalCount"], count, "{operation}");
        assert_eq!(
            entries["edges"][0]["node"]["actorSub"], "test:hq_office",
            "{operation}"
        );
    }
    let ratings = log("rateStars").await;
    let latest = &ratings["edges"][0]["node"];
    assert_eq!(latest["targetId"], target.as_str());
    assert_eq!(latest["before"]["stars"], 3);
    assert_eq!(latest["after"]["stars"], 4);
    let reward = log("grantStarRewards").await;
    assert_eq!(reward["edges"][0]["node"]["after"]["amount"], "5000000.00");
}
