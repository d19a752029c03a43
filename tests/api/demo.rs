//! `hq-api demo-data`: deterministic, idempotent, and big enough to be a demo.

use hq_api::auth::Role;
use serde_json::json;

use crate::helpers::{spawn_app, test_settings};

/// The numbers of a summary line (`...: 700 enterprises, 215 events, ...`).
fn counts(summary: &str) -> Vec<u64> {
    summary
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect()
}

#[tokio::test]
async fn loading_the_demo_data_twice_gives_the_same_counts() {
    let app = spawn_app().await;
    let db = hq_api::db::connect(&test_settings(&app.database_url, &app.secret))
        .await
        .unwrap();

    let first = hq_api::demo::load(&db).await.unwrap();
    let total =
        |res: &crate::helpers::Gql| res.data()["enterprises"]["totalCount"].as_u64().unwrap();
    let q = "{ enterprises(first: 1) { totalCount } }";
    let after_first = total(&app.gql_as(Role::Viewer, q, json!({})).await);
    let second = hq_api::demo::load(&db).await.unwrap();
    let after_second = total(&app.gql_as(Role::Viewer, q, json!({})).await);

    assert!(after_first >= 500, "{first}");
    assert_eq!(after_first, after_second);
    assert_eq!(counts(&first), counts(&second), "{first} / {second}");
    assert!(second.contains("already"), "{second}");

    // Every district has enterprises today, and the figures are readable by the HQ office.
    let res = app
        .gql_as(Role::Viewer, "{ districts { code } }", json!({}))
        .await;
    for district in res.data()["districts"].as_array().unwrap() {
        let q = "query($d: String!) { enterprises(filter: { districtCode: $d }) { totalCount } }";
        let res = app
            .gql_as(Role::Viewer, q, json!({ "d": district["code"] }))
            .await;
        assert!(
            res.data()["enterprises"]["totalCount"].as_u64().unwrap() > 0,
            "{district}"
        );
    }
    let q = "{ enterprises(first: 20) { edges { node { figures(year: 2024) { revenue } } } } }";
    let res = app.gql_as(Role::HqOffice, q, json!({})).await;
    assert_eq!(
        res.data()["enterprises"]["edges"].as_array().unwrap().len(),
        20
    );
}
