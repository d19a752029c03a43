//! The access table, checked from outside: every root field has a rule, and each field called as
//! each role (and anonymously) is allowed or refused exactly as the access rules (README, "Roles and tokens") say.

use hq_api::auth::{Role, access};
use serde_json::{Value, json};

use crate::helpers::spawn_app;

/// Who may call a field, written out independently of the access table.
struct Expect {
    field: &'static str,
    query: &'static str,
    variables: fn() -> Value,
    anonymous: bool,
    roles: &'static [Role],
}

const ALL: &[Role] = &Role::ALL;
/// Recognitions, ratings, rewards, revocations and parameter versions: the HQ office only.
const RECOGNITION_WRITERS: &[Role] = &[Role::HqOffice];
/// Confidential recognition data: staff readers, and a district for its own enterprises.
const RECOGNITION_READERS: &[Role] = &[
    Role::HqOffice,
    Role::CityFinance,
    Role::Auditor,
    Role::District,
];

fn none() -> Value {
    json!({})
}

fn matrix() -> Vec<Expect> {
    vec![
        Expect {
            field: "Query.me",
            query: "{ me { sub } }",
            variables: none,
            anonymous: true,
            roles: ALL,
        },
        Expect {
            field: "Query.districts",
            query: "{ districts { code } }",
            variables: none,
            anonymous: false,
            roles: ALL,
        },
        Expect {
            field: "Query.district",
            query: r#"{ district(code: "330106") { code } }"#,
            variables: none,
            anonymous: false,
            roles: ALL,
        },
        // `node` and `nodes` follow the rule of each id's direct field (tests/api/nodes.rs checks the
        // district confinement): a district by id is for everyone signed in, an audit entry for
        // the finance bureau and auditors.
        Expect {
            field: "Query.node",
            query: r#"{ node(id: "QXVkaXRFbnRyeTox") { id } }"#,
            variables: none,
            anonymous: false,
            roles: &[Role::CityFinance, Role::Auditor],
        },
        Expect {
            field: "Query.nodes",
            query: r#"{ nodes(ids: ["RGlzdHJpY3Q6MzMwMTA2"]) { id } }"#,
            variables: none,
            anonymous: false,
            roles: ALL,
        },
        Expect {
            field: "Query.auditLog",
            query: "{ auditLog(first: 5) { totalCount } }",
            variables: none,
            anonymous: false,
            roles: &[Role::CityFinance, Role::Auditor],
        },
        Expect {
            field: "Query.verifyAuditLog",
            query: "{ verifyAuditLog { intact headHash } }",
            variables: none,
            anonymous: false,
            roles: &[Role::CityFinance, Role::Auditor],
        },
        Expect {
            field: "Query.policyParameters",
            query: r#"{ policyParameters(asOf: "2024-01-01") { name } }"#,
            variables: none,
            anonymous: false,
            roles: ALL,
        },
        Expect {
            field: "Mutation.addParameterVersion",
            query: r#"mutation { addParameterVersion(input: { name: "star_reward.3", value: "3500000.00", validFrom: "2030-01-01", reference: "§6" }) { id } }"#,
            variables: none,
            anonymous: false,
            roles: RECOGNITION_WRITERS,
        },
        Expect {
            field: "Query.ruleSets",
            query: "{ ruleSets { code rules } }",
            variables: none,
            anonymous: false,
            roles: ALL,
        },
        Expect {
            field: "Mutation.registerAmendment",
            query: r#"mutation { registerAmendment(input: { code: "HZ-2030-1", document: "杭政办〔2030〕1号", title: "t", effectiveFrom: "2030-01-01", droppedRules: [NOT_EXCLUDED_SOE] }) { code } }"#,
            variables: none,
            anonymous: false,
            roles: RECOGNITION_WRITERS,
        },
        Expect {
            field: "Query.enterprise",
            query: r#"{ enterprise(creditCode: "91110000600037341L") { creditCode } }"#,
            variables: none,
            anonymous: false,
            roles: ALL,
        },
        Expect {
            field: "Query.enterprises",
            query: "{ enterprises(first: 5) { totalCount } }",
            variables: none,
            anonymous: false,
            roles: ALL,
        },
        Expect {
            field: "Mutation.registerEnterprise",
            query: r#"mutation { registerEnterprise(input: { creditCode: "91110000600037341L", registeredOn: "2020-01-01", name: "杭州某某科技有限公司", districtCode: "330106", industryCode: "6513", ownership: PRIVATE }) { warnings } }"#,
            variables: none,
            anonymous: false,
            roles: RECOGNITION_WRITERS,
        },
        Expect {
            field: "Mutation.recordEnterpriseEvent",
            query: r#"mutation { recordEnterpriseEvent(input: { creditCode: "91110000600037341L", kind: OFFICE_ACQUIRED, effectiveDate: "2024-01-01" }) { event { databaseId } } }"#,
            variables: none,
            anonymous: false,
            roles: RECOGNITION_WRITERS,
        },
        Expect {
            field: "Mutation.recordFigures",
            query: r#"mutation { recordFigures(input: { creditCode: "91110000600037341L", year: 2023, revenue: "1000.00", rdSpend: "10.00" }) { figures { year } } }"#,
            variables: none,
            anonymous: false,
            roles: RECOGNITION_WRITERS,
        },
        Expect {
            field: "Query.evaluateRecognition",
            query: r#"{ evaluateRecognition(creditCode: "91330100716105852F", year: 2024, decidedOn: "2024-05-01") { eligible } }"#,
            variables: none,
            anonymous: false,
            roles: RECOGNITION_READERS,
        },
        Expect {
            field: "Query.recognitionRound",
            query: r#"{ recognitionRound(year: 2024, decidedOn: "2024-05-01", first: 1) { nodes { eligible } } }"#,
            variables: none,
            anonymous: false,
            roles: RECOGNITION_READERS,
        },
        Expect {
            field: "Query.starRewards",
            query: "{ starRewards(year: 2024) { nodes { creditCode } } }",
            variables: none,
            anonymous: false,
            roles: RECOGNITION_READERS,
        },
        Expect {
            field: "Query.benefits",
            query: r#"{ benefits(creditCode: "91330100716105852F", year: 2024) { year } }"#,
            variables: none,
            anonymous: false,
            roles: RECOGNITION_READERS,
        },
        Expect {
            field: "Query.benefitsOfYear",
            query: "{ benefitsOfYear(year: 2024) { totalCount } }",
            variables: none,
            anonymous: false,
            roles: RECOGNITION_READERS,
        },
        Expect {
            field: "Query.publishedHeadquarters",
            query: "{ publishedHeadquarters(year: 2024) { nodes { name stars } } }",
            variables: none,
            anonymous: true,
            roles: ALL,
        },
        Expect {
            field: "Query.targetProgress",
            query: "{ targetProgress(year: 2025) { recognised } }",
            variables: none,
            anonymous: false,
            roles: ALL,
        },
        Expect {
            field: "Mutation.recognize",
            query: r#"mutation { recognize(creditCode: "91330100716105852F", year: 2024, decidedOn: "2024-05-01") { year } }"#,
            variables: none,
            anonymous: false,
            roles: RECOGNITION_WRITERS,
        },
        Expect {
            field: "Mutation.rateStars",
            query: r#"mutation { rateStars(creditCode: "91330100716105852F", year: 2024, stars: 3) { stars } }"#,
            variables: none,
            anonymous: false,
            roles: RECOGNITION_WRITERS,
        },
        Expect {
            field: "Mutation.grantStarRewards",
            query: r#"mutation { grantStarRewards(year: 2024, grantedOn: "2024-12-01") { grantedTotal } }"#,
            variables: none,
            anonymous: false,
            roles: RECOGNITION_WRITERS,
        },
        Expect {
            field: "Mutation.revokeTitle",
            query: r#"mutation { revokeTitle(creditCode: "91330100716105852F", revokedOn: "2024-06-01", reason: "r", approvalRef: "a") { banUntil } }"#,
            variables: none,
            anonymous: false,
            roles: RECOGNITION_WRITERS,
        },
        Expect {
            field: "Query.claim",
            query: r#"{ claim(districtCode: "330106", fiscalYear: 2024) { status } }"#,
            variables: none,
            anonymous: false,
            roles: &[
                Role::HqOffice,
                Role::CityFinance,
                Role::Auditor,
                Role::District,
            ],
        },
        Expect {
            field: "Query.paymentLines",
            query: r#"{ paymentLines(districtCode: "330106", fiscalYear: 2024) { totalCount } }"#,
            variables: none,
            anonymous: false,
            roles: &[
                Role::HqOffice,
                Role::CityFinance,
                Role::Auditor,
                Role::District,
            ],
        },
        Expect {
            field: "Mutation.reportPayments",
            query: r#"mutation { reportPayments(districtCode: "330106", fiscalYear: 2024, lines: [{creditCode: "91330100716105852F", kind: RENT, subsidyYear: 2024, contractNo: "L", basis: "10.00", amount: "1.00", paymentDate: "2024-03-01", voucherNo: "V"}]) { created { seq } } }"#,
            variables: none,
            anonymous: false,
            roles: &[Role::District],
        },
        Expect {
            field: "Mutation.submitClaim",
            query: r#"mutation { submitClaim(districtCode: "330106", fiscalYear: 2024) { status } }"#,
            variables: none,
            anonymous: false,
            roles: &[Role::District],
        },
        Expect {
            field: "Mutation.withdrawPaymentLines",
            query: r#"mutation { withdrawPaymentLines(ids: [1], reason: "wrong amount") { databaseId } }"#,
            variables: none,
            anonymous: false,
            roles: &[Role::District],
        },
        Expect {
            field: "Mutation.returnClaim",
            query: r#"mutation { returnClaim(districtCode: "330106", fiscalYear: 2024, reason: "r") { status } }"#,
            variables: none,
            anonymous: false,
            roles: &[Role::CityFinance],
        },
        Expect {
            field: "Mutation.settlementDownloadLink",
            query: "mutation { settlementDownloadLink(fiscalYear: 2024, file: WORKBOOK) { url } }",
            variables: none,
            anonymous: false,
            roles: &[
                Role::HqOffice,
                Role::CityFinance,
                Role::Auditor,
                Role::District,
            ],
        },
        Expect {
            field: "Query.claims",
            query: "{ claims(fiscalYear: 2024) { totalCount } }",
            variables: none,
            anonymous: false,
            roles: &[
                Role::HqOffice,
                Role::CityFinance,
                Role::Auditor,
                Role::District,
            ],
        },
        Expect {
            field: "Query.findings",
            query: "{ findings(fiscalYear: 2024) { totalCount } }",
            variables: none,
            anonymous: false,
            roles: &[
                Role::HqOffice,
                Role::CityFinance,
                Role::Auditor,
                Role::District,
            ],
        },
        Expect {
            field: "Query.settlement",
            query: "{ settlement(fiscalYear: 2024) { status } }",
            variables: none,
            anonymous: false,
            roles: &[
                Role::HqOffice,
                Role::CityFinance,
                Role::Auditor,
                Role::District,
            ],
        },
        Expect {
            field: "Mutation.reconcileClaim",
            query: r#"mutation { reconcileClaim(districtCode: "330106", fiscalYear: 2024) { eligibleTotal } }"#,
            variables: none,
            anonymous: false,
            roles: &[Role::CityFinance],
        },
        Expect {
            field: "Mutation.reconcileClaims",
            query: r#"mutation { reconcileClaims(fiscalYear: 2024) { eligibleTotal } }"#,
            variables: none,
            anonymous: false,
            roles: &[Role::CityFinance],
        },
        Expect {
            field: "Query.simulateSettlement",
            query: r#"{ simulateSettlement(fiscalYear: 2024, scenarios: [{rate: "0.10"}]) { fiscalYear } }"#,
            variables: none,
            anonymous: false,
            roles: &[Role::CityFinance],
        },
        Expect {
            field: "Mutation.draftSettlement",
            query: "mutation { draftSettlement(fiscalYear: 2024) { status } }",
            variables: none,
            anonymous: false,
            roles: &[Role::CityFinance],
        },
        Expect {
            field: "Mutation.approveSettlement",
            query: "mutation { approveSettlement(fiscalYear: 2030) { status } }",
            variables: none,
            anonymous: false,
            roles: &[Role::CityFinance],
        },
        Expect {
            field: "Mutation.recordFinding",
            query: r#"mutation { recordFinding(lineIds: [1], reason: "r") { id } }"#,
            variables: none,
            anonymous: false,
            roles: &[Role::CityFinance],
        },
    ]
}

fn root_fields() -> Vec<String> {
    let schema = hq_api::graphql::schema(None, hq_api::graphql::SchemaLimits::default());
    let response = futures_lite_block_on(schema.execute(
        "{ __schema { queryType { fields { name } } mutationType { fields { name } } subscriptionType { fields { name } } } }",
    ));
    assert!(
        response.errors.is_empty(),
        "introspection failed: {:?}",
        response.errors
    );
    let data = response.data.into_json().unwrap();
    let mut fields = Vec::new();
    for (root, key) in [
        ("Query", "queryType"),
        ("Mutation", "mutationType"),
        ("Subscription", "subscriptionType"),
    ] {
        if let Some(list) = data["__schema"][key]["fields"].as_array() {
            fields.extend(
                list.iter()
                    .map(|f| format!("{root}.{}", f["name"].as_str().unwrap())),
            );
        }
    }
    fields
}

fn futures_lite_block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}

#[test]
fn every_root_field_has_an_access_rule() {
    let missing: Vec<String> = root_fields()
        .into_iter()
        .filter(|f| {
            let (t, name) = f.split_once('.').unwrap();
            access::rule_for(t, name).is_none()
        })
        .collect();
    assert!(
        missing.is_empty(),
        "root fields without an access rule: {missing:?}"
    );
}

#[test]
fn every_root_field_is_in_the_role_matrix() {
    let covered: Vec<&str> = matrix().iter().map(|e| e.field).collect();
    let missing: Vec<String> = root_fields()
        .into_iter()
        // Subscriptions run over WebSocket: `live::each_role_may_follow_claims_as_the_policy_says`
        // checks them role by role there.
        .filter(|f| f != "Subscription.claimEvents")
        .filter(|f| !covered.contains(&f.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "root fields missing from the test matrix: {missing:?}"
    );
}

#[test]
fn every_access_rule_names_a_field_that_exists() {
    let fields = root_fields();
    for rule in access::ACCESS_TABLE {
        assert!(
            fields.iter().any(|f| f == rule.field),
            "stale rule {}",
            rule.field
        );
    }
}

#[tokio::test]
async fn each_root_field_as_each_role_is_allowed_or_refused_as_the_policy_says() {
    let app = spawn_app().await;
    for expect in matrix() {
        let res = app.gql(None, expect.query, (expect.variables)()).await;
        let refused = matches!(res.error_code(), Some("UNAUTHENTICATED"));
        assert_eq!(
            !refused, expect.anonymous,
            "{} anonymously: {}",
            expect.field, res.body
        );
        for role in Role::ALL {
            let res = app.gql_as(role, expect.query, (expect.variables)()).await;
            let forbidden = matches!(res.error_code(), Some("FORBIDDEN" | "UNAUTHENTICATED"));
            assert_eq!(
                !forbidden,
                expect.roles.contains(&role),
                "{} as {role}: {}",
                expect.field,
                res.body
            );
        }
    }
}
