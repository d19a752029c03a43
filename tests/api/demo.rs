//! `hq-api demo-data`: deterministic, idempotent, big enough to be a demo — and the acceptance
//! path a newcomer follows on it: the finance bureau settles 2024 and downloads the export.

use std::collections::BTreeSet;

use hq_api::auth::Role;
use rust_decimal::Decimal;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app, test_settings};

/// Every reason code of the reconciliation reason table (docs/rules.md).
const REASONS: [&str; 10] = [
    "OUTSIDE_POLICY_PERIOD",
    "NOT_RECOGNIZED",
    "STARS_BELOW_3",
    "OWNS_OFFICE",
    "RENT_AND_PURCHASE",
    "PURCHASE_NOT_FIRST",
    "WRONG_DISTRICT",
    "TITLE_REVOKED",
    "DUPLICATE_PAYMENT",
    "OVER_DISTRICT_RATIO",
];

/// The numbers of a summary line (`...: 700 enterprises, 215 events, ...`).
fn counts(summary: &str) -> Vec<u64> {
    summary
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect()
}

fn dec(value: &Value) -> Decimal {
    value
        .as_str()
        .unwrap_or_else(|| panic!("a decimal string, got {value}"))
        .parse()
        .unwrap()
}

/// A fresh app with the demo data loaded through `hq_api::demo::load`.
async fn app_with_demo() -> (TestApp, DatabaseConnection, String) {
    let app = spawn_app().await;
    let db = hq_api::db::connect(&test_settings(&app.database_url, &app.secret))
        .await
        .unwrap();
    let summary = hq_api::demo::load(&db).await.unwrap();
    (app, db, summary)
}

async fn download(app: &TestApp, token: Option<&str>, path: &str) -> (u16, Vec<u8>) {
    let mut request = app.client.get(format!("{}{path}", app.address));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.bytes().await.unwrap().to_vec())
}

/// A CSV export as a header and rows.
fn csv_table(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

fn column(header: &[String], name: &str) -> usize {
    header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name} in {header:?}"))
}

/// The 13 district codes.
async fn district_codes(app: &TestApp) -> Vec<String> {
    let res = app
        .gql_as(Role::Viewer, "{ districts { code } }", json!({}))
        .await;
    res.data()["districts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap().to_string())
        .collect()
}

/// Reconciles every submitted 2024 claim as the finance bureau; returns the verdicts' reason
/// codes and how many claims were reconciled.
async fn reconcile_2024(app: &TestApp) -> (BTreeSet<String>, usize) {
    let finance = app.token_for(Role::CityFinance);
    let mut codes = BTreeSet::new();
    let mut reconciled = 0;
    for district in district_codes(app).await {
        let q = "query($d: String!) { claim(districtCode: $d, fiscalYear: 2024) { status } }";
        let res = app.gql(Some(&finance), q, json!({ "d": district })).await;
        if res.data()["claim"].is_null() {
            continue;
        }
        assert_eq!(res.data()["claim"]["status"], "SUBMITTED", "{district}");
        let m = "mutation($d: String!) { reconcileClaim(districtCode: $d, fiscalYear: 2024) {
            claim { status } verdicts(first: 500) { nodes { reasons { code } } } } }";
        let res = app.gql(Some(&finance), m, json!({ "d": district })).await;
        let result = &res.data()["reconcileClaim"];
        assert_eq!(result["claim"]["status"], "RECONCILED");
        for verdict in result["verdicts"]["nodes"].as_array().unwrap() {
            for reason in verdict["reasons"].as_array().unwrap() {
                codes.insert(reason["code"].as_str().unwrap().to_string());
            }
        }
        reconciled += 1;
    }
    (codes, reconciled)
}

#[tokio::test]
async fn loading_the_demo_data_twice_gives_the_same_counts() {
    let (app, db, first) = app_with_demo().await;

    let total =
        |res: &crate::helpers::Gql| res.data()["enterprises"]["totalCount"].as_u64().unwrap();
    let q = "{ enterprises(first: 1) { totalCount } }";
    let after_first = total(&app.gql_as(Role::Viewer, q, json!({})).await);
    let second = hq_api::demo::load(&db).await.unwrap();
    let after_second = total(&app.gql_as(Role::Viewer, q, json!({})).await);

    assert_eq!(after_first, 700, "{first}");
    assert_eq!(after_first, after_second);
    assert_eq!(counts(&first), counts(&second), "{first} / {second}");
    assert!(second.contains("already"), "{second}");

    // The published facts: 643 HQs for 2024, 175 more than for 2023; 20/30/50 at 5/4/3 stars.
    let q = "{ targetProgress(year: 2024) { recognised baselineRecognised increaseOverBaseline } }";
    let res = app.gql_as(Role::Viewer, q, json!({})).await;
    let progress = &res.data()["targetProgress"];
    let recognised = progress["recognised"].as_u64().unwrap();
    assert!((600..=700).contains(&recognised), "{recognised}");
    assert_eq!(recognised, 643, "{first}");
    assert_eq!(progress["baselineRecognised"], 468);
    assert_eq!(progress["increaseOverBaseline"], 175);
    let hq = app.token_for(Role::HqOffice);
    let rewards = app
        .all_nodes(Some(&hq), "starRewards(year: 2024", "stars", json!({}))
        .await;
    let stars: Vec<u64> = rewards
        .iter()
        .filter_map(|rating| rating["stars"].as_u64())
        .collect();
    assert_eq!(stars.len(), 643);
    for (n, expected) in [(5, 20), (4, 30), (3, 50)] {
        assert_eq!(stars.iter().filter(|s| **s == n).count(), expected, "{n}★");
    }

    // Every district has enterprises today, and the figures are readable by the HQ office.
    for district in district_codes(&app).await {
        let q = "query($d: String!) { enterprises(filter: { districtCode: $d }) { totalCount } }";
        let res = app.gql_as(Role::Viewer, q, json!({ "d": district })).await;
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

    // Every reason code shows: in the approved 2023 verdicts, or once 2024 is reconciled.
    let finance = app.token_for(Role::CityFinance);
    let (status, body) =
        download(&app, Some(&finance), "/exports/settlements/2023/lines.csv").await;
    assert_eq!(status, 200);
    let (header, rows) = csv_table(&body);
    let reasons = column(&header, "reasons");
    let mut seen: BTreeSet<String> = rows
        .iter()
        .flat_map(|row| {
            row[reasons]
                .split("; ")
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .filter_map(|r| r.split(" (").next().map(str::to_string))
        .filter(|r| !r.is_empty())
        .collect();
    let (in_2024, reconciled) = reconcile_2024(&app).await;
    assert_eq!(reconciled, 13, "every district paid something in 2024");
    seen.extend(in_2024);
    for reason in REASONS {
        assert!(seen.contains(reason), "{reason} never shows: {seen:?}");
    }
}

#[tokio::test]
async fn the_finance_bureau_settles_the_demo_2024_and_the_export_matches_the_api() {
    let (app, db, summary) = app_with_demo().await;
    let finance = app.token_for(Role::CityFinance);

    // Reconcile every district's 2024 claim, draft and approve the settlement.
    let (_, reconciled) = reconcile_2024(&app).await;
    assert_eq!(reconciled, 13, "{summary}");
    let res = app
        .gql(
            Some(&finance),
            "mutation { draftSettlement(fiscalYear: 2024) { status } }",
            json!({}),
        )
        .await;
    assert_eq!(res.data()["draftSettlement"]["status"], "DRAFT");
    let res = app
        .gql(
            Some(&finance),
            "mutation { approveSettlement(fiscalYear: 2024) { status } }",
            json!({}),
        )
        .await;
    assert_eq!(res.data()["approveSettlement"]["status"], "APPROVED");

    let q = "{ settlement(fiscalYear: 2024) {
        totals { eligible granted netPayable adjustments }
        districts { districtCode eligible reimbursement granted netPayable } } }";
    let res = app.gql(Some(&finance), q, json!({})).await;
    let settlement = &res.data()["settlement"];
    let totals = &settlement["totals"];
    let districts = settlement["districts"].as_array().unwrap();
    assert_eq!(districts.len(), 13);
    let cap = Decimal::new(20, 2);
    for field in ["eligible", "granted", "netPayable"] {
        let sum: Decimal = districts.iter().map(|d| dec(&d[field])).sum();
        assert_eq!(sum, dec(&totals[field]), "city {field} = Σ districts");
    }
    for d in districts {
        assert!(
            dec(&d["reimbursement"]) <= dec(&d["eligible"]) * cap,
            "{d}: more than 20 % of the eligible total"
        );
    }
    assert!(dec(&totals["eligible"]) > Decimal::ZERO);
    // The 2023 audit finding comes back as an adjustment.
    assert!(dec(&totals["adjustments"]) < Decimal::ZERO, "{totals}");

    // The CSV export says the same, to the fen; the TOTAL row is last.
    let (status, body) = download(&app, Some(&finance), "/exports/settlements/2024.csv").await;
    assert_eq!(status, 200);
    let (header, rows) = csv_table(&body);
    assert_eq!(rows.len(), 14, "13 districts and the city total");
    let total = rows.last().unwrap();
    assert_eq!(total[column(&header, "district_code")], "TOTAL");
    for (csv_name, api_name) in [
        ("eligible", "eligible"),
        ("granted", "granted"),
        ("net_payable", "netPayable"),
    ] {
        let at = column(&header, csv_name);
        let in_csv: Decimal = total[at].parse().unwrap();
        assert_eq!(in_csv, dec(&totals[api_name]), "{csv_name}");
        let districts_sum: Decimal = rows[..13]
            .iter()
            .map(|r| r[at].parse::<Decimal>().unwrap())
            .sum();
        assert_eq!(districts_sum, in_csv, "{csv_name}: TOTAL = Σ districts");
    }
    let (status, body) = download(&app, Some(&finance), "/exports/settlements/2024.xlsx").await;
    assert_eq!(status, 200);
    assert!(
        body.len() > 100 && body.starts_with(b"PK"),
        "an XLSX workbook is a ZIP file"
    );

    // The published list needs no token: every HQ recognised for 2024 but those whose title
    // was revoked after the round (2024-06-28).
    let res = app
        .gql_as(
            Role::Viewer,
            "{ targetProgress(year: 2024) { recognised } }",
            json!({}),
        )
        .await;
    let recognised = res.data()["targetProgress"]["recognised"].as_u64().unwrap();
    let revoked_since = entity::revocations::Entity::find()
        .filter(
            entity::revocations::Column::RevokedOn
                .gt(chrono::NaiveDate::from_ymd_opt(2024, 6, 28).unwrap()),
        )
        .count(&db)
        .await
        .unwrap();
    let published = app
        .all_nodes(
            None,
            "publishedHeadquarters(year: 2024",
            "name route",
            json!({}),
        )
        .await
        .len() as u64;
    assert_eq!(recognised, 643);
    assert_eq!(published, recognised - revoked_since, "{summary}");

    // A demo enterprise that fails the scale test shows REVENUE_THRESHOLD failed, with its gap.
    let notable = hq_api::demo::notable().unwrap();
    let q = "query($c: String!) {
        evaluateRecognition(creditCode: $c, year: 2024, decidedOn: \"2024-06-28\") {
            eligible failedRules rules { rule passed gap detail } } }";
    let gap_of = |res: &crate::helpers::Gql| -> (bool, Decimal) {
        let verdict = &res.data()["evaluateRecognition"];
        let rule = verdict["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["rule"] == "REVENUE_THRESHOLD")
            .unwrap();
        assert_eq!(rule["passed"], false, "{rule}");
        (verdict["eligible"].as_bool().unwrap(), dec(&rule["gap"]))
    };
    let res = app
        .gql_as(Role::HqOffice, q, json!({ "c": notable.one_fen_short }))
        .await;
    assert_eq!(gap_of(&res), (false, Decimal::new(1, 2)), "{}", res.body);
    for code in &notable.below_revenue_threshold {
        let res = app.gql_as(Role::HqOffice, q, json!({ "c": code })).await;
        let (eligible, gap) = gap_of(&res);
        assert!(!eligible);
        assert!(
            gap > Decimal::ZERO && gap <= Decimal::new(100_000_000, 0),
            "a little under 1 billion: {gap}"
        );
    }
}
