//! Only `POST /graphql` with `application/json` executes mutations (CSRF-safe; `GET` runs queries
//! only), and the query limits hold: depth, complexity, page sizes.

use hq_api::auth::Role;
use serde_json::json;

use crate::helpers::{spawn_app, spawn_app_with};

#[tokio::test]
async fn a_mutation_sent_as_get_form_or_multipart_is_not_executed() {
    let app = spawn_app().await;
    let token = app.token_for(Role::CityFinance);
    let mutation = "mutation { draftSettlement(fiscalYear: 2024) { status } }";

    let get = app
        .client
        .get(format!("{}/graphql", app.address))
        .query(&[("query", mutation)])
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(get.status().as_u16(), 405, "GET runs queries only");

    let form = app
        .client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(&token)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("query={mutation}"))
        .send()
        .await
        .unwrap();
    assert_eq!(form.status().as_u16(), 415);

    let multipart = app
        .client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(&token)
        .header("Content-Type", "multipart/form-data; boundary=X")
        .body(format!(
            "--X\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n{{\"query\":\"{mutation}\"}}\r\n--X--\r\n"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(multipart.status().as_u16(), 415);

    let res = app
        .gql(
            Some(&token),
            "{ settlement(fiscalYear: 2024) { status } }",
            json!({}),
        )
        .await;
    assert!(res.data()["settlement"].is_null(), "nothing was drafted");
}

#[tokio::test]
async fn a_query_deeper_than_the_limit_is_refused_with_a_code() {
    let app = spawn_app_with(|s| s.max_depth = 3).await;
    let res = app
        .gql_as(
            Role::Auditor,
            "{ auditLog(first: 1) { edges { node { actorSub } } } }",
            json!({}),
        )
        .await;
    assert_eq!(res.error_code(), Some("BAD_USER_INPUT"), "{}", res.body);
}

#[tokio::test]
async fn a_query_over_the_complexity_limit_is_refused_and_aliases_count() {
    let app = spawn_app_with(|s| s.max_complexity = 200).await;
    let aliases: String = (0..300).map(|i| format!("a{i}: me {{ sub }} ")).collect();
    let res = app
        .gql_as(Role::Viewer, &format!("{{ {aliases} }}"), json!({}))
        .await;
    assert_eq!(res.error_code(), Some("BAD_USER_INPUT"), "{}", res.body);
    let res = app
        .gql_as(
            Role::Auditor,
            "{ auditLog(first: 500) { nodes { id before after } } }",
            json!({}),
        )
        .await;
    assert_eq!(res.error_code(), Some("BAD_USER_INPUT"), "{}", res.body);
}

#[tokio::test]
async fn page_sizes_outside_the_limits_are_bad_user_input() {
    let app = spawn_app().await;
    for first in [0, -1, 501, i32::MAX] {
        let res = app
            .gql_as(
                Role::Auditor,
                "query($f: Int) { auditLog(first: $f) { totalCount } }",
                json!({ "f": first }),
            )
            .await;
        assert_eq!(res.error_code(), Some("BAD_USER_INPUT"), "first: {first}");
    }
}

#[tokio::test]
async fn unknown_fields_get_no_suggestions() {
    let app = spawn_app().await;
    let res = app
        .gql_as(Role::Viewer, "{ distrcts { code } }", json!({}))
        .await;
    assert_eq!(res.error_code(), Some("BAD_USER_INPUT"));
    assert!(
        !res.body.to_string().contains("Did you mean"),
        "{}",
        res.body
    );
}

#[tokio::test]
async fn introspection_can_be_limited_to_staff_or_turned_off() {
    use hq_api::config::Introspection;
    let query = "{ __schema { queryType { name } } }";
    let app = spawn_app_with(|s| s.introspection = Introspection::Staff).await;
    let res = app.gql_as(Role::Auditor, query, json!({})).await;
    assert_eq!(res.data()["__schema"]["queryType"]["name"], "Query");
    let res = app.gql_as(Role::Viewer, query, json!({})).await;
    assert_eq!(res.error_code(), Some("FORBIDDEN"));
    let res = app.gql(None, query, json!({})).await;
    assert_eq!(res.error_code(), Some("FORBIDDEN"));
    let res = app.gql(None, "{ __typename }", json!({})).await;
    assert_eq!(res.data()["__typename"], "Query");

    let app = spawn_app_with(|s| s.introspection = Introspection::Off).await;
    let res = app.gql_as(Role::Auditor, query, json!({})).await;
    assert!(res.error_code().is_some(), "{}", res.body);
}
