//! The access table, checked from outside: every root field has a rule, and each field called as
//! each role (and anonymously) is allowed or refused exactly as POLICY.md "Who sees what" says.

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
        Expect {
            field: "Query.auditLog",
            query: "{ auditLog(first: 5) { totalCount } }",
            variables: none,
            anonymous: false,
            roles: &[Role::CityFinance, Role::Auditor],
        },
    ]
}

fn root_fields() -> Vec<String> {
    let schema = hq_api::graphql::schema(None, hq_api::graphql::SchemaLimits::default());
    let response = futures_lite_block_on(schema.execute(
        "{ __schema { queryType { fields { name } } mutationType { fields { name } } } }",
    ));
    assert!(
        response.errors.is_empty(),
        "introspection failed: {:?}",
        response.errors
    );
    let data = response.data.into_json().unwrap();
    let mut fields = Vec::new();
    for (root, key) in [("Query", "queryType"), ("Mutation", "mutationType")] {
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
