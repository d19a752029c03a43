//! The audit log's hash chain: an untouched log verifies, and an entry edited, deleted, moved or
//! appended directly in SQL is detected and named — over GraphQL and by `hq-api audit verify`.
//! Concurrent writers keep one valid chain, and an approval pins the chain head.

use hq_api::auth::Role;
use sea_orm::{ActiveValue::Set, ConnectionTrait, Database, DatabaseConnection, EntityTrait};
use serde_json::{Value, json};

use crate::helpers::{Gql, TestApp, register_enterprise, spawn_app};

const CHARSET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// A valid credit code of a Hangzhou-issued company, distinct per `n`.
fn credit_code(n: u32) -> String {
    let base = format!("91330100{n:09}");
    let sum: u32 = base
        .chars()
        .zip(WEIGHTS)
        .map(|(c, w)| CHARSET.find(c).unwrap() as u32 * w)
        .sum();
    let check = (31 - sum % 31) % 31;
    format!("{base}{}", CHARSET.as_bytes()[check as usize] as char)
}

const VERIFY: &str = "query($from: Int, $to: Int) { verifyAuditLog(from: $from, to: $to) {
  intact entriesChecked firstId lastId lastHash headId headHash headEntries
  fault { entryId kind message } } }";

async fn try_verify(app: &TestApp, from: Option<i64>, to: Option<i64>) -> Gql {
    app.gql_as(Role::Auditor, VERIFY, json!({ "from": from, "to": to }))
        .await
}

async fn verify(app: &TestApp) -> Value {
    try_verify(app, None, None).await.data()["verifyAuditLog"].clone()
}

/// An app whose log holds `n` entries (ids 1..=n): one enterprise registered per entry.
async fn app_with_entries(n: u32) -> (TestApp, DatabaseConnection) {
    let app = spawn_app().await;
    for i in 0..n {
        register_enterprise(
            &app,
            &credit_code(i + 1),
            &format!("杭州链{i}有限公司"),
            "330106",
        )
        .await;
    }
    let db = Database::connect(&app.database_url).await.expect("db");
    (app, db)
}

async fn sql(db: &DatabaseConnection, statement: &str) {
    db.execute_unprepared(statement).await.expect(statement);
}

/// The fault `verifyAuditLog` and `hq-api audit verify` both report.
async fn assert_fault(app: &TestApp, entry: i64, kind: &str, words: &str) {
    let report = verify(app).await;
    assert_eq!(report["intact"], false, "{report}");
    assert_eq!(report["fault"]["entryId"], entry, "{report}");
    assert_eq!(report["fault"]["kind"], kind, "{report}");
    let message = report["fault"]["message"].as_str().unwrap();
    assert!(message.contains(words), "{message}");
    let (ok, out) = cli_verify(app);
    assert!(!ok, "the CLI must fail on a broken log: {out}");
    assert!(
        out.contains(&format!("broken at entry {entry} ")),
        "the CLI names entry {entry}: {out}"
    );
}

/// Runs `hq-api audit verify` on the app's database: (exit success, stdout + stderr).
fn cli_verify(app: &TestApp) -> (bool, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hq-api"))
        .args(["audit", "verify", "--database-url", &app.database_url])
        .env("HQ_JWT_SECRET", &app.secret)
        .env("HQ_LOG", "error")
        .output()
        .expect("hq-api runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[tokio::test]
async fn an_untouched_log_is_intact_and_ends_at_the_chain_head() {
    let (app, _db) = app_with_entries(4).await;
    let report = verify(&app).await;
    assert_eq!(report["intact"], true, "{report}");
    assert_eq!(report["fault"], Value::Null);
    assert_eq!(report["entriesChecked"], 4);
    assert_eq!(report["headEntries"], 4);
    assert_eq!(report["firstId"], 1);
    assert_eq!(report["lastId"], 4);
    assert_eq!(report["headId"], 4);
    assert_eq!(report["lastHash"], report["headHash"]);

    // Each entry links to the one before; the first to 64 zeros.
    let log = app
        .gql_as(
            Role::Auditor,
            "{ auditLog(first: 10) { nodes { id prevHash hash } } }",
            json!({}),
        )
        .await;
    let nodes = log.data()["auditLog"]["nodes"].as_array().unwrap().clone();
    assert_eq!(nodes.len(), 4);
    assert_eq!(nodes[0]["hash"], report["headHash"], "newest first");
    for pair in nodes.windows(2) {
        assert_eq!(pair[0]["prevHash"], pair[1]["hash"]);
    }
    assert_eq!(nodes[3]["prevHash"], "0".repeat(64));

    // A range is anchored on the entry before it.
    let part = try_verify(&app, Some(2), Some(3)).await;
    let part = &part.data()["verifyAuditLog"];
    assert_eq!(part["intact"], true, "{part}");
    assert_eq!(part["entriesChecked"], 2);
    assert_eq!(part["lastHash"], nodes[1]["hash"]);

    let (ok, out) = cli_verify(&app);
    assert!(ok, "{out}");
    assert!(out.contains("intact: 4 checked"), "{out}");
    assert!(
        out.contains(report["headHash"].as_str().unwrap()),
        "the CLI prints the head hash: {out}"
    );
}

#[tokio::test]
async fn a_bad_range_is_refused_with_the_field_named() {
    let app = spawn_app().await;
    let res = try_verify(&app, Some(0), None).await;
    assert_eq!(res.error_code(), Some("BAD_USER_INPUT"), "{}", res.body);
    assert_eq!(res.error_extensions()["field"], "from");
    let res = try_verify(&app, Some(5), Some(4)).await;
    assert_eq!(res.error_code(), Some("BAD_USER_INPUT"), "{}", res.body);
    assert_eq!(res.error_extensions()["field"], "to");
}

#[tokio::test]
async fn an_edited_column_is_named_as_a_content_fault() {
    let (app, db) = app_with_entries(4).await;
    sql(
        &db,
        "UPDATE audit_log SET actor_sub = 'someone-else' WHERE id = 2",
    )
    .await;
    assert_fault(
        &app,
        2,
        "CONTENT",
        "entry 2's content does not match its hash",
    )
    .await;
}

#[tokio::test]
async fn an_edited_json_document_is_named_as_a_content_fault() {
    let (app, db) = app_with_entries(3).await;
    // Same JSON value, other bytes: the stored text is what is hashed.
    sql(
        &db,
        "UPDATE audit_log SET after = ' ' || after WHERE id = 3",
    )
    .await;
    assert_fault(&app, 3, "CONTENT", "entry 3's content").await;
}

#[tokio::test]
async fn a_deleted_entry_is_named_by_the_entry_after_it() {
    let (app, db) = app_with_entries(4).await;
    sql(&db, "DELETE FROM audit_log WHERE id = 2").await;
    assert_fault(&app, 3, "LINK", "does not link to entry 1").await;
}

#[tokio::test]
async fn a_deleted_last_entry_is_named_by_the_chain_head() {
    let (app, db) = app_with_entries(3).await;
    sql(&db, "DELETE FROM audit_log WHERE id = 3").await;
    assert_fault(&app, 3, "HEAD", "the log ends at entry 2").await;
}

#[tokio::test]
async fn two_swapped_entries_are_named_as_an_order_fault() {
    let (app, db) = app_with_entries(4).await;
    sql(&db, "UPDATE audit_log SET id = -2 WHERE id = 2").await;
    sql(&db, "UPDATE audit_log SET id = 2 WHERE id = 3").await;
    sql(&db, "UPDATE audit_log SET id = 3 WHERE id = -2").await;
    assert_fault(&app, 2, "ORDER", "links to entry 3").await;
}

#[tokio::test]
async fn an_entry_inserted_in_sql_is_named_even_with_a_correct_hash() {
    let (app, db) = app_with_entries(3).await;
    // A copy of the last entry, linked to it and hashed as the service would hash it.
    sql(
        &db,
        "INSERT INTO audit_log (at, actor_sub, actor_role, actor_district, operation, \
         target_type, target_id, before, after, prev_hash, hash) \
         SELECT at, actor_sub, actor_role, actor_district, operation, target_type, target_id, \
         before, after, hash, '' FROM audit_log WHERE id = 3",
    )
    .await;
    let forged = entity::audit_log::Entity::find_by_id(4)
        .one(&db)
        .await
        .unwrap()
        .expect("inserted as entry 4");
    let hash = migration::chain_hash(
        &forged.prev_hash,
        &migration::ChainFields {
            id: forged.id,
            at: &forged.at,
            actor_role: &forged.actor_role,
            actor_sub: &forged.actor_sub,
            actor_district: forged.actor_district.as_deref(),
            operation: &forged.operation,
            target_type: &forged.target_type,
            target_id: forged.target_id.as_deref(),
            before: forged.before.as_deref(),
            after: forged.after.as_deref(),
        },
    );
    let mut active: entity::audit_log::ActiveModel = forged.into();
    active.hash = Set(hash);
    entity::audit_log::Entity::update(active)
        .exec(&db)
        .await
        .unwrap();
    assert_fault(
        &app,
        4,
        "INSERTED",
        "after the recorded chain head (entry 3)",
    )
    .await;

    // Writes go on after it, linked to the head; the forged entry stays named.
    register_enterprise(&app, &credit_code(99), "杭州后续有限公司", "330106").await;
    assert_fault(&app, 4, "INSERTED", "entry 5 links past it to entry 3").await;
}

#[tokio::test]
async fn an_entry_inserted_in_sql_without_a_hash_is_named() {
    let (app, db) = app_with_entries(2).await;
    sql(
        &db,
        "INSERT INTO audit_log (at, actor_sub, actor_role, operation, target_type) \
         SELECT at, 'intruder', 'HQ_OFFICE', 'registerEnterprise', 'enterprise' \
         FROM audit_log WHERE id = 2",
    )
    .await;
    assert_fault(&app, 3, "INSERTED", "written outside the service").await;
}

#[tokio::test]
async fn concurrent_writers_keep_one_valid_chain() {
    let app = spawn_app().await;
    let query = "mutation($i: RegisterEnterpriseInput!) { registerEnterprise(input: $i) { enterprise { creditCode } } }";
    let token = app.token(Role::HqOffice, None);
    let mut tasks = Vec::new();
    for n in 0..24u32 {
        let client = app.client.clone();
        let url = format!("{}/graphql", app.address);
        let token = token.clone();
        let input = json!({
            "creditCode": credit_code(n + 1), "name": format!("杭州并发{n}有限公司"),
            "districtCode": "330106", "registeredOn": "2020-01-01",
            "industryCode": "7211", "ownership": "PRIVATE",
        });
        tasks.push(tokio::spawn(async move {
            let body: Value = client
                .post(url)
                .bearer_auth(token)
                .json(&json!({ "query": query, "variables": { "i": input } }))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert!(body.get("errors").is_none(), "{body}");
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let report = verify(&app).await;
    assert_eq!(report["intact"], true, "{report}");
    assert_eq!(report["entriesChecked"], 24);
    assert_eq!(report["headEntries"], 24);
}

#[tokio::test]
async fn only_auditors_and_city_finance_may_verify() {
    let app = spawn_app().await;
    for role in [Role::CityFinance, Role::Auditor] {
        let res = app.gql_as(role, VERIFY, json!({})).await;
        assert_eq!(res.data()["verifyAuditLog"]["intact"], true);
    }
    for role in [Role::HqOffice, Role::Viewer] {
        let res = app.gql_as(role, VERIFY, json!({})).await;
        assert_eq!(
            res.error_code(),
            Some("FORBIDDEN"),
            "{role:?}: {}",
            res.body
        );
    }
    let district = app.token(Role::District, Some("330106"));
    let res = app.gql(Some(&district), VERIFY, json!({})).await;
    assert_eq!(res.error_code(), Some("FORBIDDEN"), "{}", res.body);
    let res = app.gql(None, VERIFY, json!({})).await;
    assert_eq!(res.error_code(), Some("UNAUTHENTICATED"), "{}", res.body);
}

#[tokio::test]
async fn an_approval_pins_the_chain_head_with_its_own_entry() {
    let (app, _db) = app_with_entries(2).await;
    let draft = app
        .gql_as(
            Role::CityFinance,
            "mutation { draftSettlement(fiscalYear: 2024) { status auditHeadAtApproval } }",
            json!({}),
        )
        .await;
    assert_eq!(
        draft.data()["draftSettlement"]["auditHeadAtApproval"],
        Value::Null
    );
    let approved = app
        .gql_as(
            Role::CityFinance,
            "mutation { approveSettlement(fiscalYear: 2024) { status auditHeadAtApproval } }",
            json!({}),
        )
        .await;
    let pinned = approved.data()["approveSettlement"]["auditHeadAtApproval"].clone();
    assert_eq!(pinned.as_str().map(str::len), Some(64), "{pinned}");
    let report = verify(&app).await;
    assert_eq!(report["intact"], true, "{report}");
    assert_eq!(report["headHash"], pinned);

    // Later writes move the head; the settlement keeps the approval's entry hash.
    register_enterprise(&app, &credit_code(50), "杭州之后有限公司", "330106").await;
    let report = verify(&app).await;
    assert_ne!(report["headHash"], pinned);
    let log = app
        .gql_as(
            Role::Auditor,
            "{ auditLog(filter: { operation: \"approveSettlement\" }) { nodes { hash } } }",
            json!({}),
        )
        .await;
    assert_eq!(log.data()["auditLog"]["nodes"][0]["hash"], pinned);
    let read = app
        .gql_as(
            Role::Auditor,
            "{ settlement(fiscalYear: 2024) { auditHeadAtApproval } }",
            json!({}),
        )
        .await;
    assert_eq!(read.data()["settlement"]["auditHeadAtApproval"], pinned);
}
