//! The introspection queries tools really send succeed at the default limits, and introspection
//! is no way around them.
//!
//! The fixtures are the texts verbatim, generated with graphql-js 16.15.0:
//! - `graphiql.graphql`: GraphiQL (`@graphiql/react` 0.39) sends
//!   `getIntrospectionQuery({ inputValueDeprecation, schemaDescription })` with both props at
//!   their default, `false`;
//! - `graphql-js-16-full.graphql`: `getIntrospectionQuery({ descriptions: true, specifiedByUrl:
//!   true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true })`;
//! - `graphql-codegen.graphql`: graphql-codegen 7 loads a URL schema through
//!   `@graphql-tools/url-loader`, which sends `print(parse(getIntrospectionQuery(options)))` with
//!   no introspection option set.

use hq_api::auth::Role;
use hq_api::config::Introspection;
use hq_api::graphql::depth::{DepthLimits, check};
use serde_json::json;

use crate::helpers::{spawn_app, spawn_app_with};

const QUERIES: [(&str, &str); 3] = [
    (
        "graphiql",
        include_str!("fixtures/introspection/graphiql.graphql"),
    ),
    (
        "graphql-js 16 full",
        include_str!("fixtures/introspection/graphql-js-16-full.graphql"),
    ),
    (
        "graphql-codegen",
        include_str!("fixtures/introspection/graphql-codegen.graphql"),
    ),
];

/// The named types of the committed SDL.
fn sdl_type_names() -> Vec<String> {
    let mut names: Vec<String> = hq_api::graphql::sdl()
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            match words.next()? {
                "type" | "input" | "enum" | "scalar" | "interface" | "union" => {
                    Some(words.next()?.to_string())
                }
                _ => None,
            }
        })
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn the_introspection_queries_of_graphiql_graphql_js_and_codegen_succeed_at_the_defaults() {
    let app = spawn_app().await;
    let mut expected = sdl_type_names();
    expected.extend(["Boolean", "Float", "ID", "Int", "String"].map(String::from));
    expected.sort();
    expected.dedup();
    for (tool, query) in QUERIES {
        // Each is deeper than the default data depth: without its own budget it would fail.
        let document = async_graphql::parser::parse_query(query).expect("the fixture parses");
        assert!(
            check(
                &document,
                DepthLimits {
                    data: 12,
                    introspection: 12
                }
            )
            .is_err(),
            "{tool}: the fixture is not deeper than 12"
        );
        for token in [None, Some(app.token_for(Role::Viewer))] {
            let res = app.gql(token.as_deref(), query, json!({})).await;
            let schema = &res.data()["__schema"];
            assert_eq!(schema["queryType"]["name"], "Query", "{tool}");
            assert_eq!(schema["mutationType"]["name"], "Mutation", "{tool}");
            let mut served: Vec<String> = schema["types"]
                .as_array()
                .expect("types")
                .iter()
                .map(|t| t["name"].as_str().expect("name").to_string())
                .filter(|name| !name.starts_with("__"))
                .collect();
            served.sort();
            assert_eq!(served, expected, "{tool}: every type of schema.graphql");
        }
    }
}

#[tokio::test]
async fn the_full_query_answers_descriptions_and_input_value_deprecation() {
    let app = spawn_app().await;
    let res = app.gql(None, QUERIES[1].1, json!({})).await;
    let schema = &res.data()["__schema"];
    let directives = schema["directives"].as_array().expect("directives");
    assert!(
        directives
            .iter()
            .any(|d| d["name"] == "skip" && d["isRepeatable"] == false)
    );
    let query = schema["types"]
        .as_array()
        .expect("types")
        .iter()
        .find(|t| t["name"] == "Query")
        .expect("Query");
    let field = query["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .find(|f| f["name"] == "enterprises")
        .expect("Query.enterprises");
    assert!(field["description"].as_str().is_some_and(|d| !d.is_empty()));
    assert!(
        field["args"]
            .as_array()
            .expect("args")
            .iter()
            .all(|a| a["isDeprecated"] == false)
    );
}

#[tokio::test]
async fn a_deeper_or_wider_introspection_than_the_standard_queries_is_refused() {
    let app = spawn_app().await;
    let of_type = |levels: usize| {
        format!(
            "{{ __type(name: \"Query\") {{ fields {{ type {{ {}name{} }} }} }} }}",
            "ofType { ".repeat(levels),
            " }".repeat(levels)
        )
    };
    // __type, fields, type, 12 × ofType, name: 16 levels.
    let res = app.gql(None, &of_type(11), json!({})).await;
    assert!(res.data()["__type"]["fields"].is_array(), "15 levels pass");
    let res = app.gql(None, &of_type(12), json!({})).await;
    assert_eq!(res.error_code(), Some("BAD_USER_INPUT"), "{}", res.body);
    assert!(res.body["data"].is_null(), "{}", res.body);

    // The type graph walked in a cycle multiplies the answer at every second level.
    let cycle =
        "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }";
    let res = app.gql(None, cycle, json!({})).await;
    assert_eq!(res.error_code(), Some("BAD_USER_INPUT"), "{}", res.body);
    assert!(
        res.body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("at most 3")),
        "{}",
        res.body
    );

    // Many copies of the standard query: the root-field and field limits still hold.
    let copies: String = (0..40)
        .map(|i| format!("s{i}: __schema {{ types {{ name fields {{ name }} }} }} "))
        .collect();
    let res = app.gql(None, &format!("{{ {copies} }}"), json!({})).await;
    assert_eq!(res.error_code(), Some("BAD_USER_INPUT"), "{}", res.body);
}

#[tokio::test]
async fn an_introspection_query_lends_no_depth_to_the_data_fields_beside_it() {
    let app = spawn_app_with(|s| s.max_depth = 3).await;
    // The standard query still runs at a data depth of 3 …
    let res = app.gql(None, QUERIES[0].1, json!({})).await;
    assert_eq!(res.data()["__schema"]["queryType"]["name"], "Query");
    // … and a data field four deep beside an introspection field does not.
    let res = app
        .gql_as(
            Role::Auditor,
            "{ __schema { types { fields { type { name } } } } \
               auditLog(first: 1) { edges { node { actorSub } } } }",
            json!({}),
        )
        .await;
    assert_eq!(res.error_code(), Some("BAD_USER_INPUT"), "{}", res.body);
    assert!(res.body["data"].is_null(), "{}", res.body);
    let res = app
        .gql_as(
            Role::Auditor,
            "{ __schema { description } auditLog(first: 1) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(res.data()["auditLog"]["totalCount"], 0);
}

#[tokio::test]
async fn introspection_still_counts_towards_the_complexity_limit() {
    // The standard queries select about 220 fields.
    let app = spawn_app_with(|s| s.max_complexity = 100).await;
    for (tool, query) in QUERIES {
        let res = app.gql(None, query, json!({})).await;
        assert_eq!(
            res.error_code(),
            Some("BAD_USER_INPUT"),
            "{tool}: {}",
            res.body
        );
    }
}

#[tokio::test]
async fn with_introspection_off_the_standard_queries_are_refused() {
    let app = spawn_app_with(|s| s.introspection = Introspection::Off).await;
    for (tool, query) in QUERIES {
        let res = app.gql_as(Role::Auditor, query, json!({})).await;
        assert!(res.error_code().is_some(), "{tool}: {}", res.body);
        assert!(res.body["data"].is_null(), "{tool}: {}", res.body);
    }
}
