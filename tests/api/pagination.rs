//! Keyset pages, from outside: paging forwards and backwards while rows are inserted and deleted
//! between pages repeats and skips no row; a malformed cursor or one of another list is
//! `BAD_USER_INPUT` on its argument; `totalCount` applies the filters; `claims` and `findings`
//! keep a district actor to its own district.

use std::collections::BTreeSet;

use hq_api::auth::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, register_enterprise, spawn_app};
use crate::recognition::credit_code;

/// A node's field as text; numbers zero-padded, so that text order is number order.
fn text(node: &Value, name: &str) -> String {
    match &node[name] {
        Value::String(s) => s.clone(),
        Value::Number(n) => format!("{n:0>12}"),
        other => other.to_string(),
    }
}

/// The key of a node: one field of it.
fn field(name: &'static str) -> impl Fn(&Value) -> String {
    move |node| text(node, name)
}

/// One page: the key of each node, and the cursor to continue from (if there is more).
#[allow(clippy::too_many_arguments)]
async fn page(
    app: &TestApp,
    token: &str,
    query: &str,
    pointer: &str,
    key: &dyn Fn(&Value) -> String,
    backward: bool,
    cursor: Option<String>,
    size: i64,
    mut variables: Value,
) -> (Vec<String>, Option<String>) {
    if backward {
        variables["last"] = json!(size);
        variables["before"] = json!(cursor);
    } else {
        variables["first"] = json!(size);
        variables["after"] = json!(cursor);
    }
    let res = app.gql(Some(token), query, variables).await;
    let connection = res.data().pointer(pointer).expect("the connection").clone();
    let keys: Vec<String> = connection["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|edge| key(&edge["node"]))
        .collect();
    let info = &connection["pageInfo"];
    let (more, next) = if backward {
        (&info["hasPreviousPage"], &info["startCursor"])
    } else {
        (&info["hasNextPage"], &info["endCursor"])
    };
    // A page never claims to look the other way (Relay's relaxed rule, as the README says).
    let other_way = if backward {
        &info["hasNextPage"]
    } else {
        &info["hasPreviousPage"]
    };
    assert_eq!(other_way, &json!(false), "{connection}");
    let next = (more == &json!(true)).then(|| next.as_str().expect("a cursor").to_string());
    (keys, next)
}

/// A connection to walk: the query (taking `$first`, `$after`, `$last`, `$before` besides
/// `variables`), where the connection is in `data`, and the key of a node.
struct List<'a> {
    query: &'a str,
    pointer: &'a str,
    key: &'a dyn Fn(&Value) -> String,
    variables: Value,
}

/// Walks `list` to its end, `size` rows a page, forwards or backwards, running `between(step)`
/// after each page that has a next one; answers the keys in list order.
async fn walk(
    app: &TestApp,
    token: &str,
    list: &List<'_>,
    backward: bool,
    size: i64,
    mut between: impl AsyncFnMut(usize),
) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    let mut cursor = None;
    for step in 0.. {
        let (keys, next) = page(
            app,
            token,
            list.query,
            list.pointer,
            list.key,
            backward,
            cursor,
            size,
            list.variables.clone(),
        )
        .await;
        if backward {
            seen.splice(0..0, keys);
        } else {
            seen.extend(keys);
        }
        let Some(next) = next else { break };
        cursor = Some(next);
        between(step).await;
    }
    seen
}

/// Checks a walk: in list order, nothing twice, every row that stayed throughout, the rows
/// inserted ahead of the reader, and none of the rows deleted ahead of it.
fn assert_walk(
    seen: &[String],
    stayed: &BTreeSet<String>,
    inserted_ahead: &[String],
    deleted_ahead: &[String],
    descending: bool,
) {
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "a row was repeated: {seen:?}");
    let mut sorted = seen.to_vec();
    sorted.sort();
    if descending {
        sorted.reverse();
    }
    assert_eq!(seen, sorted.as_slice(), "out of order");
    for row in stayed {
        assert!(seen.contains(row), "{row} was skipped: {seen:?}");
    }
    for row in inserted_ahead {
        assert!(
            seen.contains(row),
            "{row} inserted ahead was skipped: {seen:?}"
        );
    }
    for row in deleted_ahead {
        assert!(
            !seen.contains(row),
            "{row} deleted ahead was listed: {seen:?}"
        );
    }
}

const ENTERPRISES: &str = "query($first: Int, $after: String, $last: Int, $before: String) {
  enterprises(filter: { districtCode: \"330106\" }, first: $first, after: $after, last: $last,
    before: $before) {
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { creditCode } } } }";

/// Moves an enterprise out of 330106 today: it leaves the list (the filter's district).
async fn move_out(app: &TestApp, credit_code: &str) {
    let today = (chrono::Utc::now() + chrono::Duration::hours(8))
        .date_naive()
        .to_string();
    let q = "mutation($i: RecordEnterpriseEventInput!) { recordEnterpriseEvent(input: $i) { event { databaseId } } }";
    app.gql_as(
        Role::HqOffice,
        q,
        json!({ "i": { "creditCode": credit_code, "kind": "MOVED_DISTRICT", "effectiveDate": today,
                       "changes": { "districtCode": "330108" } } }),
    )
    .await
    .data();
}

#[tokio::test]
async fn enterprise_pages_repeat_and_skip_nothing_while_enterprises_come_and_go() {
    // Arrange: enterprises 10, 20, …, 200 in 330106.
    let app = spawn_app().await;
    for n in (10..=200).step_by(10) {
        register_enterprise(&app, &credit_code(n), &format!("企业{n}"), "330106").await;
    }
    let token = app.token_for(Role::CityFinance);

    for backward in [false, true] {
        let offset = if backward { 1000 } else { 0 };
        let all: BTreeSet<String> = app
            .all_nodes(
                Some(&token),
                "enterprises(filter: { districtCode: \"330106\" }",
                "creditCode",
                json!({}),
            )
            .await
            .iter()
            .map(|n| n["creditCode"].as_str().unwrap().to_string())
            .collect();
        let mut seen: Vec<String> = Vec::new();
        let mut cursor = None;
        let (mut inserted_ahead, mut deleted_ahead, mut touched) =
            (vec![], vec![], BTreeSet::new());
        for step in 0.. {
            let (keys, next) = page(
                &app,
                &token,
                ENTERPRISES,
                "/enterprises",
                &field("creditCode"),
                backward,
                cursor,
                4,
                json!({}),
            )
            .await;
            if backward {
                seen.splice(0..0, keys);
            } else {
                seen.extend(keys);
            }
            let Some(next) = next else { break };
            cursor = Some(next);
            if step == 0 {
                // Act: between pages, one enterprise ahead of the reader and one behind arrive,
                // and one ahead and one behind leave.
                let (ahead, behind) = if backward { (15, 195) } else { (195, 15) };
                let (ahead, behind) = (
                    credit_code(ahead + offset / 1000),
                    credit_code(behind + offset / 1000),
                );
                register_enterprise(&app, &ahead, "新企业甲", "330106").await;
                register_enterprise(&app, &behind, "新企业乙", "330106").await;
                inserted_ahead.push(ahead);
                let (leave_ahead, leave_behind) = if backward {
                    (credit_code(40), credit_code(190))
                } else {
                    (credit_code(170), credit_code(20))
                };
                move_out(&app, &leave_ahead).await;
                move_out(&app, &leave_behind).await;
                deleted_ahead.push(leave_ahead.clone());
                touched.extend([leave_ahead, leave_behind]);
            }
        }
        let stayed: BTreeSet<String> = all.difference(&touched).cloned().collect();
        // Assert
        assert_walk(&seen, &stayed, &inserted_ahead, &deleted_ahead, false);
    }
}

const REPORT: &str = "mutation($l: [PaymentLineInput!]!) {
  reportPayments(districtCode: \"330106\", fiscalYear: 2024, lines: $l) { created { databaseId voucherNo } } }";

const WITHDRAW: &str = "mutation($ids: [Int!]!) {
  withdrawPaymentLines(ids: $ids, reason: \"reported twice\") { databaseId } }";

const LINES: &str = "query($first: Int, $after: String, $last: Int, $before: String) {
  paymentLines(districtCode: \"330106\", fiscalYear: 2024, first: $first, after: $after,
    last: $last, before: $before) {
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { seq voucherNo } } } }";

fn rent(voucher: &str) -> Value {
    json!({
        "creditCode": "91330100716105852F", "kind": "RENT", "subsidyYear": 2024,
        "contractNo": "L-1", "basis": "1000000.00", "amount": "100.00",
        "paymentDate": "2024-06-30", "voucherNo": voucher,
    })
}

/// Reports one line per voucher.
async fn report(app: &TestApp, vouchers: &[String]) {
    let token = app.token(Role::District, Some("330106"));
    let lines: Vec<Value> = vouchers.iter().map(|v| rent(v)).collect();
    app.gql(Some(&token), REPORT, json!({ "l": lines }))
        .await
        .data();
}

/// The lines listed now, in report order: (seq zero-padded, so that text order is number
/// order; id).
async fn lines(app: &TestApp) -> Vec<(String, i64)> {
    let token = app.token_for(Role::CityFinance);
    app.all_nodes(
        Some(&token),
        "paymentLines(districtCode: \"330106\", fiscalYear: 2024",
        "databaseId seq",
        json!({}),
    )
    .await
    .iter()
    .map(|n| {
        (
            padded(&n["seq"].to_string()),
            n["databaseId"].as_i64().unwrap(),
        )
    })
    .collect()
}

fn padded(seq: &str) -> String {
    format!("{seq:0>12}")
}

#[tokio::test]
async fn payment_line_pages_repeat_and_skip_nothing_while_lines_are_reported_and_withdrawn() {
    // Arrange
    let app = spawn_app().await;
    register_enterprise(
        &app,
        "91330100716105852F",
        "杭州之江软件科技有限公司",
        "330106",
    )
    .await;
    let vouchers: Vec<String> = (1..=20).map(|n| format!("V{n:03}")).collect();
    report(&app, &vouchers).await;
    let district = app.token(Role::District, Some("330106"));
    let token = app.token_for(Role::CityFinance);

    for backward in [false, true] {
        let all: BTreeSet<String> = lines(&app).await.into_iter().map(|(s, _)| s).collect();
        let mut seen: Vec<String> = Vec::new();
        let mut cursor = None;
        let (mut inserted_ahead, mut deleted_ahead, mut touched) =
            (vec![], vec![], BTreeSet::new());
        for step in 0.. {
            let (keys, next) = page(
                &app,
                &token,
                LINES,
                "/paymentLines",
                &field("seq"),
                backward,
                cursor,
                3,
                json!({}),
            )
            .await;
            let keys: Vec<String> = keys.iter().map(|k| padded(k)).collect();
            if backward {
                seen.splice(0..0, keys);
            } else {
                seen.extend(keys);
            }
            let Some(next) = next else { break };
            cursor = Some(next);
            if step == 0 {
                // Act: a new line is reported (it sorts last: ahead of a forward reader, behind
                // a backward one); one line ahead of the reader and one behind are withdrawn.
                report(&app, &[format!("N{}", u8::from(backward))]).await;
                let listed = lines(&app).await;
                let newest = listed.last().unwrap().0.clone();
                if !backward {
                    inserted_ahead.push(newest.clone());
                }
                let (ahead, behind) = if backward {
                    (listed[1].clone(), listed[listed.len() - 2].clone())
                } else {
                    (listed[listed.len() - 3].clone(), listed[0].clone())
                };
                app.gql(
                    Some(&district),
                    WITHDRAW,
                    json!({ "ids": [ahead.1, behind.1] }),
                )
                .await
                .data();
                deleted_ahead.push(ahead.0.clone());
                touched.extend([ahead.0, behind.0, newest]);
            }
        }
        // Assert
        let stayed: BTreeSet<String> = all.difference(&touched).cloned().collect();
        assert_walk(&seen, &stayed, &inserted_ahead, &deleted_ahead, false);
    }
}

const AUDIT: &str = "query($first: Int, $after: String, $last: Int, $before: String) {
  auditLog(first: $first, after: $after, last: $last, before: $before) {
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { databaseId } } } }";

#[tokio::test]
async fn audit_log_pages_newest_first_skip_nothing_while_entries_are_written() {
    // Arrange: ten audited writes.
    let app = spawn_app().await;
    for n in 1..=10 {
        register_enterprise(&app, &credit_code(n), &format!("企业{n}"), "330106").await;
    }
    let token = app.token_for(Role::Auditor);
    for backward in [false, true] {
        let all: BTreeSet<String> = app
            .all_nodes(Some(&token), "auditLog(", "databaseId", json!({}))
            .await
            .iter()
            .map(|n| {
                format!(
                    "{:0>12}",
                    n["databaseId"]
                        .as_str()
                        .map_or_else(|| n["databaseId"].to_string(), str::to_string)
                )
            })
            .collect();
        let mut seen: Vec<String> = Vec::new();
        let mut cursor = None;
        for step in 0.. {
            let (keys, next) = page(
                &app,
                &token,
                AUDIT,
                "/auditLog",
                &field("databaseId"),
                backward,
                cursor,
                3,
                json!({}),
            )
            .await;
            let keys: Vec<String> = keys
                .iter()
                .map(|k| format!("{:0>12}", k.trim_matches('"')))
                .collect();
            if backward {
                seen.splice(0..0, keys);
            } else {
                seen.extend(keys);
            }
            let Some(next) = next else { break };
            cursor = Some(next);
            if step == 0 {
                // Act: a new entry (newest: behind a forward reader, ahead of a backward one).
                register_enterprise(
                    &app,
                    &credit_code(100 + u32::from(backward)),
                    "新企业",
                    "330106",
                )
                .await;
            }
        }
        // Assert: newest first, every entry that was there once, none twice. (A backward
        // reader starts at the oldest end and meets the new entry last.)
        assert_walk(&seen, &all, &[], &[], true);
        assert_eq!(seen.len(), all.len() + usize::from(backward), "{seen:?}");
    }
}

#[tokio::test]
async fn a_malformed_cursor_or_one_of_another_list_is_bad_user_input_on_its_argument() {
    // Arrange
    let app = spawn_app().await;
    for n in 1..=3 {
        register_enterprise(&app, &credit_code(n), &format!("企业{n}"), "330106").await;
    }
    let token = app.token_for(Role::Auditor);
    let audit_cursor = app
        .gql(
            Some(&token),
            "{ auditLog(first: 1) { edges { cursor } } }",
            json!({}),
        )
        .await
        .data()["auditLog"]["edges"][0]["cursor"]
        .as_str()
        .unwrap()
        .to_string();
    let by_name = app
        .gql(
            Some(&token),
            "{ enterprises(first: 1, orderBy: NAME) { edges { cursor } } }",
            json!({}),
        )
        .await
        .data()["enterprises"]["edges"][0]["cursor"]
        .as_str()
        .unwrap()
        .to_string();
    let q = "query($a: String, $b: String) { enterprises(after: $a, before: $b) { totalCount } }";

    // Act / Assert
    for (argument, cursor) in [
        ("after", "bogus".to_string()),
        ("before", "o2a".to_string()),
        ("after", "W10".to_string()),
        ("after", audit_cursor.clone()),
        ("before", by_name.clone()),
    ] {
        let vars = if argument == "after" {
            json!({ "a": cursor })
        } else {
            json!({ "b": cursor })
        };
        let res = app.gql(Some(&token), q, vars).await;
        assert_eq!(
            res.error_code(),
            Some("BAD_USER_INPUT"),
            "{cursor}: {}",
            res.body
        );
        assert_eq!(res.error_extensions()["field"], argument, "{}", res.body);
    }
    // The same cursor in its own list and order is fine.
    let res = app
        .gql(
            Some(&token),
            "query($a: String) { enterprises(after: $a, orderBy: NAME) { totalCount } }",
            json!({ "a": by_name }),
        )
        .await;
    assert_eq!(res.data()["enterprises"]["totalCount"], 3);
    // Page sizes keep their bounds.
    let res = app
        .gql(
            Some(&token),
            "{ auditLog(first: 0) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(res.error_code(), Some("BAD_USER_INPUT"));
    assert_eq!(res.error_extensions()["field"], "first");
}

#[tokio::test]
async fn total_count_applies_the_filters_and_not_the_page() {
    // Arrange: four enterprises in 330106, two in 330108.
    let app = spawn_app().await;
    for n in 1..=4 {
        register_enterprise(&app, &credit_code(n), &format!("西湖企业{n}"), "330106").await;
    }
    for n in 5..=6 {
        register_enterprise(&app, &credit_code(n), &format!("滨江企业{n}"), "330108").await;
    }
    let token = app.token_for(Role::HqOffice);
    let q = "query($f: EnterpriseFilter) { enterprises(filter: $f, first: 1) {
        totalCount edges { node { creditCode } } } }";

    // Act / Assert
    for (filter, expected) in [
        (json!(null), 6),
        (json!({ "districtCode": "330106" }), 4),
        (
            json!({ "districtCode": "330108", "nameContains": "滨江" }),
            2,
        ),
        (json!({ "nameContains": "西湖企业3" }), 1),
        (json!({ "recognizedIn": 2024 }), 0),
        (json!({ "asOf": "2019-12-31" }), 0),
        (json!({ "asOf": "2020-01-01" }), 6),
    ] {
        let res = app.gql(Some(&token), q, json!({ "f": filter })).await;
        let connection = &res.data()["enterprises"];
        assert_eq!(connection["totalCount"], expected, "{filter}");
        let edges = connection["edges"].as_array().unwrap().len();
        assert_eq!(edges, usize::from(expected > 0), "{filter}");
    }
}

#[tokio::test]
async fn claims_and_findings_keep_a_district_actor_to_its_own_district() {
    // Arrange: claims of 330106 and 330108 for 2024.
    let app = spawn_app().await;
    register_enterprise(
        &app,
        "91330100716105852F",
        "杭州之江软件科技有限公司",
        "330106",
    )
    .await;
    for district in ["330106", "330108"] {
        submit(&app, district).await;
    }
    let claims = "query($d: String) { claims(fiscalYear: 2024, districtCode: $d, first: 10) {
        totalCount nodes { districtCode fiscalYear status } } }";
    let findings = "query($d: String) { findings(fiscalYear: 2024, districtCode: $d) {
        totalCount nodes { id lineIds } } }";
    let own = app.token(Role::District, Some("330106"));

    // Act
    let finance = app.gql_as(Role::CityFinance, claims, json!({})).await;
    let auditor = app
        .gql_as(Role::Auditor, claims, json!({ "d": "330108" }))
        .await;
    let district = app.gql(Some(&own), claims, json!({})).await;
    let named_own = app.gql(Some(&own), claims, json!({ "d": "330106" })).await;
    let named_other = app.gql(Some(&own), claims, json!({ "d": "330108" })).await;
    let other_findings = app
        .gql(Some(&own), findings, json!({ "d": "330108" }))
        .await;
    let own_findings = app.gql(Some(&own), findings, json!({})).await;
    let direct = app
        .gql(
            Some(&own),
            "{ claim(districtCode: \"330108\", fiscalYear: 2024) { status } }",
            json!({}),
        )
        .await;
    let submitted = app
        .gql_as(
            Role::CityFinance,
            "{ claims(status: SUBMITTED) { totalCount } returned: claims(status: RETURNED) { totalCount } }",
            json!({}),
        )
        .await;

    // Assert
    let districts = |res: &crate::helpers::Gql| -> Vec<String> {
        res.data()["claims"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["districtCode"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(districts(&finance), ["330106", "330108"]);
    assert_eq!(finance.data()["claims"]["totalCount"], 2);
    assert_eq!(districts(&auditor), ["330108"]);
    assert_eq!(districts(&district), ["330106"]);
    assert_eq!(district.data()["claims"]["totalCount"], 1);
    assert_eq!(districts(&named_own), ["330106"]);
    assert_eq!(direct.error_code(), Some("FORBIDDEN"));
    assert_eq!(
        named_other.error_code(),
        Some("FORBIDDEN"),
        "{}",
        named_other.body
    );
    assert_eq!(
        named_other.body["errors"][0]["message"],
        direct.body["errors"][0]["message"]
    );
    assert_eq!(other_findings.error_code(), Some("FORBIDDEN"));
    assert_eq!(own_findings.data()["findings"]["totalCount"], 0);
    assert_eq!(submitted.data()["claims"]["totalCount"], 2);
    assert_eq!(submitted.data()["returned"]["totalCount"], 0);
}

const LIST_IN_ORDER: &str = "query($o: EnterpriseOrderBy, $first: Int, $after: String, $last: Int,
    $before: String) {
  enterprises(orderBy: $o, first: $first, after: $after, last: $last, before: $before) {
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { creditCode facts { hangzhouSince } } } } }";

#[tokio::test]
async fn every_order_of_the_enterprise_list_pages_the_same_rows_both_ways() {
    // Arrange: names and stays in Hangzhou in another order than the credit codes, and one
    // enterprise outside Hangzhou.
    let app = spawn_app().await;
    for (n, name, since) in [
        (1, "丙", "2019-01-01"),
        (2, "甲", "2021-01-01"),
        (3, "乙", "2018-01-01"),
        (4, "甲", "2018-01-01"),
        (5, "丁", "2020-01-01"),
    ] {
        let input = json!({ "creditCode": credit_code(n), "name": name, "districtCode": "330106",
            "registeredOn": "2021-06-01", "hangzhouSince": since, "industryCode": "7211",
            "ownership": "PRIVATE" });
        app.gql_as(
            Role::HqOffice,
            "mutation($i: RegisterEnterpriseInput!) { registerEnterprise(input: $i) { warnings } }",
            json!({ "i": input }),
        )
        .await
        .data();
    }
    let input = json!({ "creditCode": credit_code(6), "name": "外地", "registeredOn": "2021-06-01",
        "industryCode": "7211", "ownership": "PRIVATE" });
    app.gql_as(
        Role::HqOffice,
        "mutation($i: RegisterEnterpriseInput!) { registerEnterprise(input: $i) { warnings } }",
        json!({ "i": input }),
    )
    .await
    .data();
    let token = app.token_for(Role::Viewer);

    for order in [
        "CREDIT_CODE",
        "NAME",
        "HANGZHOU_SINCE",
        "RECENTLY_REGISTERED",
    ] {
        // Act
        let whole = app
            .gql(
                Some(&token),
                LIST_IN_ORDER,
                json!({ "o": order, "first": 100 }),
            )
            .await;
        let whole: Vec<String> = whole.data()["enterprises"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["creditCode"].as_str().unwrap().to_string())
            .collect();
        let list = List {
            query: LIST_IN_ORDER,
            pointer: "/enterprises",
            key: &field("creditCode"),
            variables: json!({ "o": order }),
        };
        let forwards = walk(&app, &token, &list, false, 2, async |_| {}).await;
        let backwards = walk(&app, &token, &list, true, 2, async |_| {}).await;

        // Assert
        assert_eq!(whole.len(), 6, "{order}");
        assert_eq!(forwards, whole, "{order}");
        assert_eq!(backwards, whole, "{order}");
        match order {
            "CREDIT_CODE" => assert_eq!(whole, (1..=6).map(credit_code).collect::<Vec<_>>()),
            "RECENTLY_REGISTERED" => {
                assert_eq!(whole, (1..=6).rev().map(credit_code).collect::<Vec<_>>())
            }
            "HANGZHOU_SINCE" => {
                // Earliest first, ties by credit code, outside Hangzhou last.
                assert_eq!(whole, [3, 4, 1, 5, 2, 6].map(credit_code));
            }
            _ => {
                // Equal names keep credit-code order.
                let at = |n| whole.iter().position(|c| *c == credit_code(n)).unwrap();
                assert!(at(2) < at(4), "{whole:?}");
            }
        }
    }
}

const EVENTS: &str =
    "query($c: String!, $first: Int, $after: String, $last: Int, $before: String) {
  enterprise(creditCode: $c) { events(first: $first, after: $after, last: $last, before: $before) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { databaseId effectiveDate } } } } }";

fn event_key(node: &Value) -> String {
    format!(
        "{}/{}",
        text(node, "effectiveDate"),
        text(node, "databaseId")
    )
}

async fn rename(app: &TestApp, credit_code: &str, on: &str, name: &str) {
    let q = "mutation($i: RecordEnterpriseEventInput!) { recordEnterpriseEvent(input: $i) { event { databaseId } } }";
    app.gql_as(
        Role::HqOffice,
        q,
        json!({ "i": { "creditCode": credit_code, "kind": "RENAMED", "effectiveDate": on,
                       "changes": { "name": name } } }),
    )
    .await
    .data();
}

#[tokio::test]
async fn event_pages_skip_nothing_while_events_are_recorded_ahead_and_behind() {
    // Arrange: registered 2020-01-01 and renamed every year to 2025.
    let app = spawn_app().await;
    let credit_code = credit_code(1);
    register_enterprise(&app, &credit_code, "起名", "330106").await;
    for year in 2021..=2025 {
        rename(
            &app,
            &credit_code,
            &format!("{year}-01-01"),
            &format!("名{year}"),
        )
        .await;
    }
    let token = app.token_for(Role::Viewer);
    let list = List {
        query: EVENTS,
        pointer: "/enterprise/events",
        key: &event_key,
        variables: json!({ "c": credit_code }),
    };

    for backward in [false, true] {
        let before = walk(&app, &token, &list, backward, 100, async |_| {}).await;
        let stayed: BTreeSet<String> = before.iter().cloned().collect();
        // Act: after the first page, an event dated ahead of the reader and one behind it.
        let (ahead, behind) = if backward {
            ("2020-02-01", "2025-10-01")
        } else {
            ("2025-09-01", "2020-03-01")
        };
        let seen = walk(&app, &token, &list, backward, 2, async |step| {
            if step == 0 {
                rename(&app, &credit_code, ahead, &format!("前{ahead}")).await;
                rename(&app, &credit_code, behind, &format!("后{behind}")).await;
            }
        })
        .await;

        // Assert
        let inserted: Vec<String> = seen
            .iter()
            .filter(|k| k.starts_with(ahead))
            .cloned()
            .collect();
        assert_eq!(inserted.len(), 1, "the event ahead is met: {seen:?}");
        assert!(!seen.iter().any(|k| k.starts_with(behind)), "{seen:?}");
        assert_walk(&seen, &stayed, &inserted, &[], false);
    }
}

const CLAIM_VERDICTS: &str = "query($first: Int, $after: String, $last: Int, $before: String) {
  claim(districtCode: \"330106\", fiscalYear: 2024) {
    verdicts(first: $first, after: $after, last: $last, before: $before) {
      totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { cursor node { lineId } } } } }";

const RECONCILE: &str = "mutation { reconcileClaim(districtCode: \"330106\", fiscalYear: 2024) {
  verdictCount verdicts(first: 3) { totalCount edges { cursor node { lineId } } } } }";

#[tokio::test]
async fn verdict_pages_skip_nothing_while_the_claim_is_reconciled_again() {
    // Arrange: a submitted claim of seven lines, reconciled.
    let app = spawn_app().await;
    register_enterprise(
        &app,
        "91330100716105852F",
        "杭州之江软件科技有限公司",
        "330106",
    )
    .await;
    let vouchers: Vec<String> = (1..=7).map(|n| format!("V{n}")).collect();
    report(&app, &vouchers).await;
    let district = app.token(Role::District, Some("330106"));
    app.gql(
        Some(&district),
        "mutation { submitClaim(districtCode: \"330106\", fiscalYear: 2024) { status } }",
        json!({}),
    )
    .await
    .data();
    let reconciled = app.gql_as(Role::CityFinance, RECONCILE, json!({})).await;
    let result = &reconciled.data()["reconcileClaim"];
    assert_eq!(result["verdictCount"], 7);
    assert_eq!(result["verdicts"]["totalCount"], 7);
    assert_eq!(result["verdicts"]["edges"].as_array().unwrap().len(), 3);
    let finance = app.token_for(Role::CityFinance);
    let list = List {
        query: CLAIM_VERDICTS,
        pointer: "/claim/verdicts",
        key: &field("lineId"),
        variables: json!({}),
    };
    let all: BTreeSet<String> = walk(&app, &finance, &list, false, 100, async |_| {})
        .await
        .into_iter()
        .collect();
    assert_eq!(all.len(), 7);

    for backward in [false, true] {
        // Act: between pages the claim is reconciled again: every verdict is deleted and
        // stored anew.
        let seen = walk(&app, &finance, &list, backward, 2, async |_| {
            app.gql_as(Role::CityFinance, RECONCILE, json!({}))
                .await
                .data();
        })
        .await;
        // Assert
        assert_walk(&seen, &all, &[], &[], false);
        assert_eq!(seen.len(), 7);
    }
    // The mutation's cursors continue on the claim's verdicts.
    let cursor = result["verdicts"]["edges"][2]["cursor"].clone();
    let rest = app
        .gql(
            Some(&finance),
            CLAIM_VERDICTS,
            json!({ "first": 10, "after": cursor }),
        )
        .await;
    assert_eq!(
        rest.data()["claim"]["verdicts"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    // Another district's verdicts stay hidden.
    let other = app.token(Role::District, Some("330108"));
    let res = app
        .gql(
            Some(&other),
            "{ claim(districtCode: \"330106\", fiscalYear: 2024) { verdicts { totalCount } } }",
            json!({}),
        )
        .await;
    assert_eq!(res.error_code(), Some("FORBIDDEN"));
}

const CLAIMS: &str = "query($first: Int, $after: String, $last: Int, $before: String) {
  claims(fiscalYear: 2024, status: SUBMITTED, first: $first, after: $after, last: $last,
    before: $before) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { districtCode } } } }";

const DISTRICTS: [&str; 9] = [
    "330102", "330105", "330106", "330108", "330109", "330110", "330111", "330112", "330113",
];

async fn submit(app: &TestApp, district: &str) {
    let token = app.token(Role::District, Some(district));
    let q = format!(
        "mutation($l: [PaymentLineInput!]!) {{ reportPayments(districtCode: \"{district}\", fiscalYear: 2024, lines: $l) {{ created {{ id }} }} }}"
    );
    app.gql(
        Some(&token),
        &q,
        json!({ "l": [rent(&format!("C-{district}"))] }),
    )
    .await
    .data();
    let q = format!(
        "mutation {{ submitClaim(districtCode: \"{district}\", fiscalYear: 2024) {{ status }} }}"
    );
    app.gql(Some(&token), &q, json!({})).await.data();
}

async fn return_claim(app: &TestApp, district: &str) {
    let q = format!(
        "mutation {{ returnClaim(districtCode: \"{district}\", fiscalYear: 2024, reason: \"unreadable\") {{ status }} }}"
    );
    app.gql_as(Role::CityFinance, &q, json!({})).await.data();
}

#[tokio::test]
async fn claim_pages_skip_nothing_while_claims_are_submitted_and_returned() {
    // Arrange: submitted claims of 330105 to 330112 (330102 and 330113 come later).
    let app = spawn_app().await;
    register_enterprise(
        &app,
        "91330100716105852F",
        "杭州之江软件科技有限公司",
        "330106",
    )
    .await;
    for district in &DISTRICTS[1..8] {
        submit(&app, district).await;
    }
    let finance = app.token_for(Role::CityFinance);
    let list = List {
        query: CLAIMS,
        pointer: "/claims",
        key: &field("districtCode"),
        variables: json!({}),
    };

    for backward in [false, true] {
        let all: BTreeSet<String> = walk(&app, &finance, &list, backward, 100, async |_| {})
            .await
            .into_iter()
            .collect();
        // Act: after the first page, a district ahead of the reader submits, one behind it
        // submits, one ahead and one behind are returned (they leave the SUBMITTED list).
        // Backwards, the claim returned earlier is submitted again (it re-enters the list).
        let (new_ahead, new_behind, gone_ahead, gone_behind) = if backward {
            ("330105", "", "330106", "330112")
        } else {
            ("330113", "330102", "330110", "330105")
        };
        let seen = walk(&app, &finance, &list, backward, 2, async |step| {
            if step == 0 {
                submit(&app, new_ahead).await;
                if !backward {
                    submit(&app, new_behind).await;
                }
                return_claim(&app, gone_ahead).await;
                return_claim(&app, gone_behind).await;
            }
        })
        .await;
        // Assert
        let touched: BTreeSet<String> = [gone_ahead, gone_behind]
            .map(str::to_string)
            .into_iter()
            .collect();
        let stayed: BTreeSet<String> = all.difference(&touched).cloned().collect();
        assert_walk(
            &seen,
            &stayed,
            &[new_ahead.to_string()],
            &[gone_ahead.to_string()],
            false,
        );
        assert!(
            !seen.contains(&new_behind.to_string()) || backward,
            "{seen:?}"
        );
    }
}

const PUBLISHED: &str = "query($first: Int, $after: String, $last: Int, $before: String) {
  publishedHeadquarters(year: 2024, first: $first, after: $after, last: $last, before: $before) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { name stars } } } }";

/// The published list's order as text: stars (5 first, unrated last), then name.
fn published_key(node: &Value) -> String {
    let rank = 5 - node["stars"].as_i64().unwrap_or(0);
    format!("{rank}/{}", text(node, "name"))
}

const REWARDS: &str = "query($first: Int, $after: String, $last: Int, $before: String) {
  starRewards(year: 2024, first: $first, after: $after, last: $last, before: $before) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { creditCode } } } }";

#[tokio::test]
async fn published_list_and_reward_pages_skip_nothing_while_hqs_come_and_go() {
    use crate::recognition::{eligible, rate, recognize, revoke};
    // Arrange: six HQs of 2024 with 1 to 5 stars.
    let app = spawn_app().await;
    let mut codes = Vec::new();
    for n in 1..=6 {
        let code = eligible(&app, n).await;
        recognize(&app, &code, 2024, "2024-05-01").await.data();
        rate(&app, &code, 2024, 1 + (n as i32 % 5)).await.data();
        codes.push(code);
    }
    let hq = app.token_for(Role::HqOffice);
    let published = List {
        query: PUBLISHED,
        pointer: "/publishedHeadquarters",
        key: &published_key,
        variables: json!({}),
    };
    let rewards = List {
        query: REWARDS,
        pointer: "/starRewards",
        key: &field("creditCode"),
        variables: json!({}),
    };

    for backward in [false, true] {
        let all: BTreeSet<String> = walk(&app, &hq, &published, backward, 100, async |_| {})
            .await
            .into_iter()
            .collect();
        let ranked: Vec<String> = walk(&app, &hq, &published, false, 100, async |_| {}).await;
        // Act: after the first page a new HQ is recognised (unrated: it sorts last) and the
        // title of the HQ listed first or last is revoked.
        let newcomer = 10 + u32::from(backward);
        let gone = if backward {
            ranked.first().unwrap().clone()
        } else {
            ranked.last().unwrap().clone()
        };
        let gone_code = codes
            .iter()
            .find(|c| gone.ends_with(&format!("杭州总部{c}有限公司")))
            .unwrap()
            .clone();
        let seen = walk(&app, &hq, &published, backward, 2, async |step| {
            if step == 0 {
                let code = eligible(&app, newcomer).await;
                recognize(&app, &code, 2024, "2024-05-01").await.data();
                revoke(&app, &gone_code, "2024-06-15").await.data();
            }
        })
        .await;
        // Assert
        let stayed: BTreeSet<String> = all.iter().filter(|k| **k != gone).cloned().collect();
        let newcomer_key: Vec<String> = seen
            .iter()
            .filter(|k| {
                k.ends_with(&format!(
                    "杭州总部{}有限公司",
                    crate::recognition::credit_code(newcomer)
                ))
            })
            .cloned()
            .collect();
        assert_eq!(newcomer_key.len(), usize::from(!backward), "{seen:?}");
        assert_walk(
            &seen,
            &stayed,
            &newcomer_key,
            std::slice::from_ref(&gone),
            false,
        );
    }

    for backward in [false, true] {
        let all: BTreeSet<String> = walk(&app, &hq, &rewards, backward, 100, async |_| {})
            .await
            .into_iter()
            .collect();
        // Act: a rating arrives between pages, for an HQ sorting last by credit code.
        let newcomer = 20 + u32::from(backward);
        let seen = walk(&app, &hq, &rewards, backward, 2, async |step| {
            if step == 0 {
                let code = eligible(&app, newcomer).await;
                recognize(&app, &code, 2024, "2024-05-01").await.data();
                rate(&app, &code, 2024, 4).await.data();
            }
        })
        .await;
        // Assert
        let ahead: Vec<String> = if backward {
            vec![]
        } else {
            vec![crate::recognition::credit_code(newcomer)]
        };
        assert_walk(&seen, &all, &ahead, &[], false);
    }
}

/// The list in its default order (by credit code, no filter): the facts of today are joined to
/// the page for `name` and `district`.
const LIST_PLAIN: &str = "query($n: Int!, $after: String) {
  enterprises(first: $n, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { creditCode name district { code name } } } } }";

const LIST_PAGE: &str = "query($n: Int!, $after: String) {
  enterprises(filter: { districtCode: \"330106\" }, orderBy: NAME, first: $n, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { creditCode name district { code name } facts { industryCode ownsOffice }
      registeredAt } } } }";

#[tokio::test]
async fn the_enterprise_list_runs_as_many_statements_for_50_rows_as_for_5() {
    // Arrange: 120 enterprises in 330106.
    let (app, statements) = crate::helpers::spawn_app_counting_statements().await;
    for n in 1..=120 {
        register_enterprise(&app, &credit_code(n), &format!("企业{n:03}"), "330106").await;
    }
    let token = app.token_for(Role::Viewer);

    // Act: the statements of one request, first and deep page, at 5 and at 50 rows (the least
    // of three tries, in case anything else used the pool meanwhile).
    let mut per_request = Vec::new();
    for (query, n) in [
        (LIST_PAGE, 5),
        (LIST_PAGE, 50),
        (LIST_PLAIN, 5),
        (LIST_PLAIN, 50),
    ] {
        let first = app.gql(Some(&token), query, json!({ "n": n })).await;
        let deep = first.data()["enterprises"]["pageInfo"]["endCursor"].clone();
        for after in [Value::Null, deep] {
            let mut least = u64::MAX;
            for _ in 0..3 {
                let before = statements.load(std::sync::atomic::Ordering::SeqCst);
                let res = app
                    .gql(Some(&token), query, json!({ "n": n, "after": after }))
                    .await;
                let names = res.data()["enterprises"]["edges"][0]["node"]["name"].clone();
                assert!(
                    names.as_str().is_some_and(|n| n.starts_with("企业")),
                    "{names}"
                );
                let after_request = statements.load(std::sync::atomic::Ordering::SeqCst);
                let edges = res.data()["enterprises"]["edges"].as_array().unwrap().len();
                assert_eq!(edges, n as usize);
                assert_eq!(res.data()["enterprises"]["totalCount"], 120);
                least = least.min(after_request - before);
            }
            per_request.push(least);
        }
    }

    // Assert: the page with the facts of its enterprises (joined: by the name order and the
    // district filter, or for `name` and `district`), and the count; the districts are the ones
    // read at start-up.
    assert_eq!(per_request, [2; 8]);
}
