use hq_api::auth::Role;
use serde_json::json;

use crate::helpers::spawn_app;

const EXPECTED: [(&str, &str); 13] = [
    ("330102", "上城区"),
    ("330105", "拱墅区"),
    ("330106", "西湖区"),
    ("330108", "滨江区"),
    ("330109", "萧山区"),
    ("330110", "余杭区"),
    ("330111", "富阳区"),
    ("330112", "临安区"),
    ("330113", "临平区"),
    ("330114", "钱塘区"),
    ("330122", "桐庐县"),
    ("330127", "淳安县"),
    ("330182", "建德市"),
];

#[tokio::test]
async fn districts_lists_the_13_divisions_in_code_order() {
    let app = spawn_app().await;
    let res = app
        .gql_as(Role::Viewer, "{ districts { code name } }", json!({}))
        .await;
    let districts = res.data()["districts"].as_array().unwrap().clone();
    let got: Vec<(String, String)> = districts
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_string(),
                d["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = EXPECTED
        .iter()
        .map(|(c, n)| (c.to_string(), n.to_string()))
        .collect();
    assert_eq!(got, expected);
}

#[tokio::test]
async fn a_district_is_found_by_code_and_an_unknown_code_is_null() {
    let app = spawn_app().await;
    let q = "query($c: String!) { district(code: $c) { code name kind } }";
    let res = app.gql_as(Role::Viewer, q, json!({"c": "330182"})).await;
    assert_eq!(res.data()["district"]["name"], "建德市");
    assert_eq!(res.data()["district"]["kind"], "CITY");
    let res = app.gql_as(Role::Viewer, q, json!({"c": "330103"})).await;
    assert!(
        res.data()["district"].is_null(),
        "330103 was retired in 2021"
    );
}

#[tokio::test]
async fn a_malformed_district_code_is_bad_user_input_naming_the_field() {
    let app = spawn_app().await;
    let q = "query($c: String!) { district(code: $c) { code } }";
    let res = app.gql_as(Role::Viewer, q, json!({"c": "33010"})).await;
    assert_eq!(res.error_code(), Some("BAD_USER_INPUT"));
    assert_eq!(res.error_extensions()["field"], "code");
}

#[tokio::test]
async fn seeding_twice_changes_nothing() {
    let app = spawn_app().await;
    let settings = crate::helpers::test_settings(&app.database_url, "x".repeat(40).as_str());
    let db = hq_api::db::connect(&settings).await.unwrap();
    hq_api::db::migrate_and_seed(&db).await.unwrap();
    hq_api::db::migrate_and_seed(&db).await.unwrap();
    let res = app
        .gql_as(Role::Viewer, "{ districts { code } }", json!({}))
        .await;
    assert_eq!(res.data()["districts"].as_array().unwrap().len(), 13);
}
