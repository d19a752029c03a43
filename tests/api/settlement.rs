//! §20 steps 3 to 6 over HTTP: reconciliation verdicts, the yearly settlement, approval and the
//! period lock, findings and the adjustments they carry into the next year.
//!
//! Steps 1 and 2 are covered in `payments.rs`: re-reporting the same lines changes nothing
//! (`a_district_reports_lines_and_the_same_lines_again_change_nothing`), a voucher reported again
//! with other content is a `CONFLICT` (`a_voucher_reported_again_with_other_content_is_a_conflict`)
//! and a district writing for another is `FORBIDDEN`
//! (`a_district_cannot_report_or_read_for_another_district`).
//!
//! The worked scenario (`scenario`) is small on purpose: seven enterprises, three paying
//! districts, fourteen lines, every reason of the rule table (docs/rules.md). The expected figures are computed
//! by hand in the comments, in yuan; the service works in fen.

use std::collections::BTreeMap;

use hq_api::auth::Role;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::helpers::{Gql, TestApp, spawn_app};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const CHARSET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// A valid credit code, distinct per `n`.
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

/// Hangzhou's 13 districts (seed data).
const DISTRICTS: [&str; 13] = [
    "330102", "330105", "330106", "330108", "330109", "330110", "330111", "330112", "330113",
    "330114", "330122", "330127", "330182",
];

fn dec(value: &Value) -> Decimal {
    value
        .as_str()
        .unwrap_or_else(|| panic!("a decimal string, got {value}"))
        .parse()
        .unwrap()
}

fn floor_to_fen(value: Decimal) -> Decimal {
    value.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::ToNegativeInfinity)
}

/// Registers an enterprise meeting every basic rule of §3.1 in `district`, registered (and in
/// Hangzhou since) 2020-01-01, with 2023 revenue of 1,200,000,000.00 (≥ 1,000,000,000.00).
async fn register_eligible(app: &TestApp, code: &str, district: &str) {
    let input = json!({
        "creditCode": code, "name": format!("杭州总部{code}有限公司"), "districtCode": district,
        "registeredOn": "2020-01-01", "industryCode": "7211", "ownership": "PRIVATE",
        "industrialGuidance": true, "unifiedAccounting": true, "outsideUnits": 2,
        "independentLegalPerson": true, "operating": true,
    });
    app.gql_as(
        Role::HqOffice,
        "mutation($i: RegisterEnterpriseInput!) { registerEnterprise(input: $i) { enterprise { creditCode } } }",
        json!({ "i": input }),
    )
    .await
    .data();
    app.gql_as(
        Role::HqOffice,
        "mutation($i: RecordFiguresInput!) { recordFigures(input: $i) { figures { year } } }",
        json!({ "i": { "creditCode": code, "year": 2023, "revenue": "1200000000.00", "rdSpend": "0" } }),
    )
    .await
    .data();
}

async fn recognize(app: &TestApp, code: &str, year: i32, decided_on: &str) {
    app.gql_as(
        Role::HqOffice,
        "mutation($c: String!, $y: Int!, $on: Date) { recognize(creditCode: $c, year: $y, decidedOn: $on) { year } }",
        json!({ "c": code, "y": year, "on": decided_on }),
    )
    .await
    .data();
}

async fn rate_stars(app: &TestApp, code: &str, year: i32, stars: i32) {
    app.gql_as(
        Role::HqOffice,
        "mutation($c: String!, $y: Int!, $s: Int!) { rateStars(creditCode: $c, year: $y, stars: $s) { stars } }",
        json!({ "c": code, "y": year, "s": stars }),
    )
    .await
    .data();
}

/// Registers, recognises for 2024 (decided 2024-03-01) and rates an enterprise.
async fn headquarters(app: &TestApp, code: &str, district: &str, stars: i32) {
    register_eligible(app, code, district).await;
    recognize(app, code, 2024, "2024-03-01").await;
    rate_stars(app, code, 2024, stars).await;
}

async fn event(app: &TestApp, code: &str, kind: &str, on: &str, changes: Value) {
    app.gql_as(
        Role::HqOffice,
        "mutation($i: RecordEnterpriseEventInput!) { recordEnterpriseEvent(input: $i) { event { databaseId } } }",
        json!({ "i": { "creditCode": code, "kind": kind, "effectiveDate": on, "changes": changes } }),
    )
    .await
    .data();
}

async fn revoke(app: &TestApp, code: &str, on: &str) {
    app.gql_as(
        Role::HqOffice,
        "mutation($c: String!, $on: Date!) { revokeTitle(creditCode: $c, revokedOn: $on, reason: \"false statements (§22)\", approvalRef: \"领导小组2024-9\") { revokedOn } }",
        json!({ "c": code, "on": on }),
    )
    .await
    .data();
}

/// A RENT line for subsidy year 2024 (or `year`).
fn rent(code: &str, year: i32, basis: &str, amount: &str, paid: &str, voucher: &str) -> Value {
    json!({
        "creditCode": code, "kind": "RENT", "subsidyYear": year,
        "contractNo": format!("L-{}", &code[14..]), "basis": basis, "amount": amount,
        "paymentDate": paid, "voucherNo": voucher,
    })
}

/// A PURCHASE line of `contract`, subsidy year = the year of the transaction.
fn purchase(
    code: &str,
    contract: &str,
    price: &str,
    transaction: &str,
    amount: &str,
    paid: &str,
    voucher: &str,
) -> Value {
    json!({
        "creditCode": code, "kind": "PURCHASE", "subsidyYear": transaction[..4].parse::<i32>().unwrap(),
        "contractNo": contract, "basis": price, "transactionDate": transaction, "amount": amount,
        "paymentDate": paid, "voucherNo": voucher,
    })
}

const REPORT: &str = "mutation($d: String!, $y: Int!, $l: [PaymentLineInput!]!) {
  reportPayments(districtCode: $d, fiscalYear: $y, lines: $l) { created { databaseId voucherNo } unchanged { databaseId } } }";

async fn try_report(app: &TestApp, district: &str, year: i32, lines: Value) -> Gql {
    let token = app.token(Role::District, Some(district));
    app.gql(
        Some(&token),
        REPORT,
        json!({ "d": district, "y": year, "l": lines }),
    )
    .await
}

/// Reports a batch; returns voucher → line id.
async fn report(app: &TestApp, district: &str, year: i32, lines: Value) -> BTreeMap<String, i64> {
    let res = try_report(app, district, year, lines).await;
    res.data()["reportPayments"]["created"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["voucherNo"].as_str().unwrap().to_string(),
                l["databaseId"].as_i64().unwrap(),
            )
        })
        .collect()
}

const SUBMIT: &str =
    "mutation($d: String!, $y: Int!) { submitClaim(districtCode: $d, fiscalYear: $y) { status } }";

async fn try_submit(app: &TestApp, district: &str, year: i32) -> Gql {
    let token = app.token(Role::District, Some(district));
    app.gql(Some(&token), SUBMIT, json!({ "d": district, "y": year }))
        .await
}

async fn submit(app: &TestApp, district: &str, year: i32) {
    try_submit(app, district, year).await.data();
}

const RETURN: &str = "mutation($d: String!, $y: Int!) {
  returnClaim(districtCode: $d, fiscalYear: $y, reason: \"voucher unreadable\") { status } }";

const RECONCILE: &str = "mutation($d: String!, $y: Int!) {
  reconcileClaim(districtCode: $d, fiscalYear: $y) {
    claim { status } eligibleTotal cutTotal
    verdicts(first: 100) { nodes { lineId eligible cut primaryReason reasons { code clause detail } ratioGroup groupLimit parameterVersionIds } } } }";

async fn try_reconcile(app: &TestApp, district: &str, year: i32) -> Gql {
    app.gql_as(
        Role::CityFinance,
        RECONCILE,
        json!({ "d": district, "y": year }),
    )
    .await
}

/// Reconciles a claim; returns its verdicts by line id.
async fn reconcile(app: &TestApp, district: &str, year: i32) -> BTreeMap<i64, Value> {
    let res = try_reconcile(app, district, year).await;
    let result = &res.data()["reconcileClaim"];
    assert_eq!(result["claim"]["status"], "RECONCILED");
    result["verdicts"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["lineId"].as_i64().unwrap(), v.clone()))
        .collect()
}

const SETTLEMENT_FIELDS: &str = "fiscalYear status rate budget payableYear
  districts { districtCode reported eligible cut cutByReason { reason clause amount }
    reimbursement granted adjustments netPayable payableYear zeroReason
    carriedAdjustments { findingId originalYear targetYear amount foundEligible districtEligible districtGranted reason } }
  totals { reported eligible cut reimbursement granted adjustments netPayable }";

async fn try_draft(app: &TestApp, year: i32, rate: Option<&str>, budget: Option<&str>) -> Gql {
    let query = format!(
        "mutation($y: Int!, $r: Decimal, $b: Decimal) {{ draftSettlement(fiscalYear: $y, rate: $r, budget: $b) {{ {SETTLEMENT_FIELDS} }} }}"
    );
    app.gql_as(
        Role::CityFinance,
        &query,
        json!({ "y": year, "r": rate, "b": budget }),
    )
    .await
}

pub(crate) async fn draft(
    app: &TestApp,
    year: i32,
    rate: Option<&str>,
    budget: Option<&str>,
) -> Value {
    try_draft(app, year, rate, budget).await.data()["draftSettlement"].clone()
}

fn approve_query() -> String {
    format!("mutation($y: Int!) {{ approveSettlement(fiscalYear: $y) {{ {SETTLEMENT_FIELDS} }} }}")
}

pub(crate) async fn try_approve(app: &TestApp, year: i32) -> Gql {
    app.gql_as(Role::CityFinance, &approve_query(), json!({ "y": year }))
        .await
}

async fn settlement(app: &TestApp, year: i32) -> Value {
    let query =
        format!("query($y: Int!) {{ settlement(fiscalYear: $y) {{ {SETTLEMENT_FIELDS} }} }}");
    app.gql_as(Role::CityFinance, &query, json!({ "y": year }))
        .await
        .data()["settlement"]
        .clone()
}

const FINDING: &str = "mutation($l: [Int!]!, $r: String!) { recordFinding(lineIds: $l, reason: $r) {
  id kind lineIds adjustments { districtCode originalYear targetYear amount foundEligible districtEligible districtGranted } } }";

fn district<'a>(settlement: &'a Value, code: &str) -> &'a Value {
    settlement["districts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["districtCode"] == code)
        .unwrap_or_else(|| panic!("district {code} in {settlement}"))
}

/// The figures of a district line that the tables below state.
fn figures(line: &Value) -> [&str; 8] {
    [
        "reported",
        "eligible",
        "cut",
        "reimbursement",
        "granted",
        "adjustments",
        "netPayable",
        "zeroReason",
    ]
    .map(|field| line[field].as_str().unwrap_or("-"))
}

fn cut_by_reason(line: &Value) -> Vec<(String, String)> {
    line["cutByReason"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["reason"].as_str().unwrap().to_string(),
                r["amount"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn reason_codes(verdict: &Value) -> Vec<&str> {
    verdict["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect()
}

/// The invariants of any settlement: the city totals are the sums of the district lines to the
/// fen, every reimbursement is `floor_to_fen(eligible × rate)` and so at most 20% of eligible,
/// the cut by reason adds up to the cut, and `netPayable = granted + adjustments`.
fn assert_settlement_adds_up(s: &Value) {
    let lines = s["districts"].as_array().unwrap();
    assert_eq!(lines.len(), DISTRICTS.len(), "one line per district");
    let rate = dec(&s["rate"]);
    assert!(rate <= Decimal::new(20, 2));
    for field in [
        "reported",
        "eligible",
        "cut",
        "reimbursement",
        "granted",
        "adjustments",
        "netPayable",
    ] {
        let sum: Decimal = lines.iter().map(|l| dec(&l[field])).sum();
        assert_eq!(sum, dec(&s["totals"][field]), "city {field} = Σ districts");
    }
    for l in lines {
        let eligible = dec(&l["eligible"]);
        let reimbursement = dec(&l["reimbursement"]);
        assert_eq!(reimbursement, floor_to_fen(eligible * rate), "{l}");
        assert!(
            reimbursement <= eligible * Decimal::new(20, 2),
            "§20: ≤ 20%: {l}"
        );
        assert!(dec(&l["granted"]) <= reimbursement, "{l}");
        assert_eq!(dec(&l["reported"]), eligible + dec(&l["cut"]), "{l}");
        let by_reason: Decimal = l["cutByReason"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| dec(&r["amount"]))
            .sum();
        assert_eq!(by_reason, dec(&l["cut"]), "cut by reason adds up: {l}");
        assert_eq!(
            dec(&l["netPayable"]),
            dec(&l["granted"]) + dec(&l["adjustments"]),
            "{l}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The worked scenario
// ---------------------------------------------------------------------------------------------

/// What the scenario arranged.
pub(crate) struct Scenario {
    /// E1..E7 (index 0 unused).
    pub(crate) code: Vec<String>,
    /// Voucher → line id.
    pub(crate) line: BTreeMap<String, i64>,
    /// The verdicts of the 2024 claims (and the 2023 one), by line id.
    verdict: BTreeMap<i64, Value>,
    /// The id of 余杭区's own rent ratio version.
    yuhang_ratio_version: i64,
}

impl Scenario {
    fn verdict(&self, voucher: &str) -> &Value {
        &self.verdict[&self.line[voucher]]
    }
}

/// Arranges fiscal 2024 (and a 2023 line) up to reconciled claims of 330106, 330108 and 330110.
/// Every other district has no line. Parameters: the defaults (rent 0.30 / cap 2,000,000.00,
/// purchase 0.05 / cap 10,000,000.00, rate 0.20), except 余杭区 330110's own rent ratio 0.25.
///
/// | ent. | district            | 2024 recognition, stars | facts                                    |
/// | ---- | ------------------- | ----------------------- | ---------------------------------------- |
/// | E1   | 330106              | 2024-03-01, 3★          |                                          |
/// | E2   | 330106              | 2024-03-01, 2★          |                                          |
/// | E3   | 330106              | 2024-03-01, 4★          | OFFICE_ACQUIRED 2024-08-01               |
/// | E4   | 330108              | 2024-03-01, 3★          | purchases P-E4 (2024-02-01), P-E4-2      |
/// | E5   | 330106 → 330110     | 2024-03-01, 3★          | MOVED_DISTRICT 2024-05-01                |
/// | E6   | 330108              | 2024-03-01, 3★          | title revoked 2024-06-30                 |
/// | E7   | 330110              | never recognised        |                                          |
pub(crate) async fn scenario(app: &TestApp) -> Scenario {
    let code: Vec<String> = (0..=7).map(|n| credit_code(100 + n)).collect();
    headquarters(app, &code[1], "330106", 3).await;
    headquarters(app, &code[2], "330106", 2).await;
    headquarters(app, &code[3], "330106", 4).await;
    headquarters(app, &code[4], "330108", 3).await;
    headquarters(app, &code[5], "330106", 3).await;
    headquarters(app, &code[6], "330108", 3).await;
    register_eligible(app, &code[7], "330110").await;
    event(app, &code[3], "OFFICE_ACQUIRED", "2024-08-01", json!(null)).await;
    event(
        app,
        &code[5],
        "MOVED_DISTRICT",
        "2024-05-01",
        json!({ "districtCode": "330110" }),
    )
    .await;
    revoke(app, &code[6], "2024-06-30").await;
    // 余杭区 sets its own rent ratio for 2024: it beats the general 0.30.
    let version = app
        .gql_as(
            Role::HqOffice,
            "mutation($i: AddParameterVersionInput!) { addParameterVersion(input: $i) { databaseId district } }",
            json!({ "i": { "name": "rent_subsidy.ratio", "value": "0.25", "validFrom": "2024-01-01",
                           "district": "330110", "reference": "余杭区 2024 (§7)" } }),
        )
        .await;
    let yuhang_ratio_version = version.data()["addParameterVersion"]["databaseId"]
        .as_i64()
        .unwrap();

    let c = |i: usize| code[i].as_str();
    let mut line = BTreeMap::new();
    // 西湖区 330106, in report order.
    line.extend(
        report(
            app,
            "330106",
            2024,
            json!([
                rent(c(1), 2024, "2000000.00", "600000.00", "2024-03-15", "XH-01"),
                rent(c(1), 2024, "1333333.33", "400000.00", "2024-09-15", "XH-02"),
                // The same payment as XH-01 under another voucher.
                rent(c(1), 2024, "2000000.00", "600000.00", "2024-03-15", "XH-03"),
                rent(c(2), 2024, "500000.00", "150000.00", "2024-05-10", "XH-04"),
                rent(c(3), 2024, "800000.00", "240000.00", "2024-04-20", "XH-05"),
                // E5 moved to 330110 on 2024-05-01.
                rent(c(5), 2024, "600000.20", "180000.00", "2024-07-01", "XH-06"),
            ]),
        )
        .await,
    );
    // 滨江区 330108.
    line.extend(
        report(
            app,
            "330108",
            2024,
            json!([
                purchase(
                    c(4),
                    "P-E4",
                    "30000000.00",
                    "2024-02-01",
                    "1000000.00",
                    "2024-06-01",
                    "BJ-01"
                ),
                rent(c(4), 2024, "400000.00", "120000.00", "2024-04-01", "BJ-02"),
                purchase(
                    c(4),
                    "P-E4-2",
                    "5000000.00",
                    "2024-09-01",
                    "200000.00",
                    "2024-10-01",
                    "BJ-03"
                ),
                rent(c(6), 2024, "500000.00", "150000.00", "2024-07-15", "BJ-04"),
                rent(c(6), 2024, "500000.00", "150000.00", "2024-05-15", "BJ-05"),
            ]),
        )
        .await,
    );
    // 余杭区 330110: YH-01 is the same payment as 330106's XH-06, but XH-06 is cut for
    // WRONG_DISTRICT, so YH-01 is not its duplicate.
    line.extend(
        report(
            app,
            "330110",
            2024,
            json!([
                rent(c(5), 2024, "600000.20", "180000.00", "2024-07-01", "YH-01"),
                rent(c(7), 2024, "200000.00", "50000.00", "2024-03-01", "YH-02"),
            ]),
        )
        .await,
    );
    // Fiscal 2023, 330108: a rent for E7 (of 330110) paid before the policy took effect.
    line.extend(
        report(
            app,
            "330108",
            2023,
            json!([rent(
                c(7),
                2023,
                "100000.00",
                "30000.00",
                "2023-02-10",
                "BJ-2301"
            )]),
        )
        .await,
    );

    let mut verdict = BTreeMap::new();
    for (d, y) in [
        ("330106", 2024),
        ("330108", 2024),
        ("330110", 2024),
        ("330108", 2023),
    ] {
        submit(app, d, y).await;
        verdict.extend(reconcile(app, d, y).await);
    }
    Scenario {
        code,
        line,
        verdict,
        yuhang_ratio_version,
    }
}

#[tokio::test]
async fn every_reason_is_decided_in_table_order_and_the_ratio_cuts_exact_fen() {
    // Arrange / Act
    let app = spawn_app().await;
    let s = scenario(&app).await;

    // Assert: (voucher, eligible, cut, reasons in table order).
    let expected: [(&str, &str, &str, &[&str]); 14] = [
        // E1's rent group RENT:330106:E1:2024 survives with XH-01 and XH-02 (XH-03 is cut whole):
        // limit = min(floor_to_fen(0.30 × (2,000,000.00 + 1,333,333.33)), 2,000,000.00)
        //       = min(floor(999,999.999), 2,000,000.00) = 999,999.99;
        // paid 600,000.00 + 400,000.00 = 1,000,000.00, excess 0.01, cut from the latest payment
        // (XH-02, 2024-09-15): XH-02 eligible 399,999.99.
        ("XH-01", "600000.00", "0.00", &[]),
        ("XH-02", "399999.99", "0.01", &["OVER_DISTRICT_RATIO"]),
        // Same enterprise, kind, contract, subsidy year, amount and date as XH-01, reported later.
        ("XH-03", "0.00", "600000.00", &["DUPLICATE_PAYMENT"]),
        // E2 is rated 2★.
        ("XH-04", "0.00", "150000.00", &["STARS_BELOW_3"]),
        // E3 acquired an office on 2024-08-01: it owned one on a day of the subsidy year, even
        // though the rent was paid before.
        ("XH-05", "0.00", "240000.00", &["OWNS_OFFICE"]),
        // On 2024-07-01 E5 was registered in 330110, not 330106.
        ("XH-06", "0.00", "180000.00", &["WRONG_DISTRICT"]),
        // PURCHASE:330108:P-E4: limit = min(floor(0.05 × 30,000,000.00), 10,000,000.00)
        // = 1,500,000.00 ≥ 1,000,000.00 paid.
        ("BJ-01", "1000000.00", "0.00", &[]),
        // E4 has a PURCHASE line for 2024 ≤ 2024.
        ("BJ-02", "0.00", "120000.00", &["RENT_AND_PURCHASE"]),
        // P-E4 (2024-02-01) is E4's first purchase, not P-E4-2 (2024-09-01).
        ("BJ-03", "0.00", "200000.00", &["PURCHASE_NOT_FIRST"]),
        // E6's title was revoked on 2024-06-30 ≤ 2024-07-15; recognised on 2024-03-01 < R.
        ("BJ-04", "0.00", "150000.00", &["TITLE_REVOKED"]),
        // Paid 2024-05-15, before R; limit floor(0.30 × 500,000.00) = 150,000.00.
        ("BJ-05", "150000.00", "0.00", &[]),
        // 余杭区's own ratio 0.25 beats the general 0.30:
        // limit = floor_to_fen(0.25 × 600,000.20) = 150,000.05; cut 180,000.00 − 150,000.05
        // = 29,999.95.
        ("YH-01", "150000.05", "29999.95", &["OVER_DISTRICT_RATIO"]),
        // No recognition for 2024, hence no rating either: both listed, in table order.
        (
            "YH-02",
            "0.00",
            "50000.00",
            &["NOT_RECOGNIZED", "STARS_BELOW_3"],
        ),
        // Fiscal 2023: paid 2023-02-10 < 2023-02-20; E7 never recognised nor rated; reported by
        // 330108 while E7 is registered in 330110. Primary: OUTSIDE_POLICY_PERIOD.
        (
            "BJ-2301",
            "0.00",
            "30000.00",
            &[
                "OUTSIDE_POLICY_PERIOD",
                "NOT_RECOGNIZED",
                "STARS_BELOW_3",
                "WRONG_DISTRICT",
            ],
        ),
    ];
    for (voucher, eligible, cut, reasons) in expected {
        let v = s.verdict(voucher);
        assert_eq!(v["eligible"], eligible, "{voucher}: {v}");
        assert_eq!(v["cut"], cut, "{voucher}: {v}");
        assert_eq!(reason_codes(v), reasons, "{voucher}: {v}");
        assert_eq!(
            v["primaryReason"],
            reasons.first().map_or(Value::Null, |r| json!(r)),
            "{voucher}: the primary reason is the first in table order"
        );
    }

    // Every reason of the table occurs, each with its clause.
    let mut clauses = BTreeMap::new();
    for v in s.verdict.values() {
        for r in v["reasons"].as_array().unwrap() {
            clauses.insert(
                r["code"].as_str().unwrap().to_string(),
                r["clause"].as_str().unwrap().to_string(),
            );
        }
    }
    let expected_clauses: BTreeMap<String, String> = [
        ("OUTSIDE_POLICY_PERIOD", "§final"),
        ("NOT_RECOGNIZED", "§4"),
        ("STARS_BELOW_3", "§7"),
        ("OWNS_OFFICE", "§7"),
        ("RENT_AND_PURCHASE", "§7"),
        ("PURCHASE_NOT_FIRST", "§7"),
        ("WRONG_DISTRICT", "§20"),
        ("TITLE_REVOKED", "§22"),
        ("DUPLICATE_PAYMENT", "§20"),
        ("OVER_DISTRICT_RATIO", "§7"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(clauses, expected_clauses);

    // The ratio groups and their limits.
    let xh02 = s.verdict("XH-02");
    assert_eq!(xh02["groupLimit"], "999999.99");
    assert!(
        xh02["ratioGroup"]
            .as_str()
            .unwrap()
            .starts_with("RENT:330106:")
    );
    let group = s.verdict("BJ-01")["ratioGroup"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        group.starts_with("PURCHASE:330108:") && group.ends_with(":P-E4"),
        "district, enterprise and contract: {group}"
    );
    assert_eq!(s.verdict("BJ-01")["groupLimit"], "1500000.00");
    assert_eq!(
        s.verdict("XH-03")["ratioGroup"],
        Value::Null,
        "a line cut whole is in no ratio group"
    );
    // YH-01 was capped with 余杭区's own version, and cites it.
    let yh01 = s.verdict("YH-01");
    assert_eq!(yh01["groupLimit"], "150000.05");
    assert!(
        yh01["parameterVersionIds"]
            .as_array()
            .unwrap()
            .contains(&json!(s.yuhang_ratio_version)),
        "{yh01}"
    );
    assert!(
        !s.verdict("XH-02")["parameterVersionIds"]
            .as_array()
            .unwrap()
            .contains(&json!(s.yuhang_ratio_version)),
        "西湖区 keeps the general ratio"
    );
    assert!(
        yh01["reasons"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("150,000.05"),
        "{yh01}"
    );

    // The verdict is readable on the line itself, by the district that reported it.
    let token = app.token(Role::District, Some("330110"));
    let res = app
        .gql(
            Some(&token),
            "{ paymentLines(districtCode: \"330110\", fiscalYear: 2024) { nodes { voucherNo verdict { eligible primaryReason } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        res.data()["paymentLines"]["nodes"],
        json!([
            { "voucherNo": "YH-01", "verdict": { "eligible": "150000.05", "primaryReason": "OVER_DISTRICT_RATIO" } },
            { "voucherNo": "YH-02", "verdict": { "eligible": "0.00", "primaryReason": "NOT_RECOGNIZED" } },
        ])
    );
    assert_eq!(s.code.len(), 8);
}

#[tokio::test]
async fn the_year_settles_at_a_lower_rate_then_on_a_short_budget_to_the_fen() {
    // Arrange
    let app = spawn_app().await;
    scenario(&app).await;

    // Act 1: a draft at 15%, below the 20% cap.
    let at_15 = draft(&app, 2024, Some("0.15"), None).await;

    // Assert 1
    // 330106: reported 600,000.00 + 400,000.00 + 600,000.00 + 150,000.00 + 240,000.00
    //         + 180,000.00 = 2,170,000.00; eligible 600,000.00 + 399,999.99 = 999,999.99;
    //         cut 1,170,000.01; reimbursement floor(999,999.99 × 0.15 = 149,999.9985)
    //         = 149,999.99.
    // 330108: reported 1,000,000.00 + 120,000.00 + 200,000.00 + 150,000.00 + 150,000.00
    //         = 1,620,000.00; eligible 1,000,000.00 + 150,000.00 = 1,150,000.00; cut 470,000.00;
    //         reimbursement 1,150,000.00 × 0.15 = 172,500.00.
    // 330110: reported 180,000.00 + 50,000.00 = 230,000.00; eligible 150,000.05; cut 79,999.95;
    //         reimbursement floor(150,000.05 × 0.15 = 22,500.0075) = 22,500.00.
    assert_eq!(at_15["status"], "DRAFT");
    assert_eq!(dec(&at_15["rate"]), Decimal::new(15, 2));
    assert_eq!(at_15["budget"], Value::Null);
    assert_eq!(at_15["payableYear"], 2025);
    assert_eq!(
        figures(district(&at_15, "330106")),
        [
            "2170000.00",
            "999999.99",
            "1170000.01",
            "149999.99",
            "149999.99",
            "0.00",
            "149999.99",
            "-"
        ]
    );
    assert_eq!(
        figures(district(&at_15, "330108")),
        [
            "1620000.00",
            "1150000.00",
            "470000.00",
            "172500.00",
            "172500.00",
            "0.00",
            "172500.00",
            "-"
        ]
    );
    assert_eq!(
        figures(district(&at_15, "330110")),
        [
            "230000.00",
            "150000.05",
            "79999.95",
            "22500.00",
            "22500.00",
            "0.00",
            "22500.00",
            "-"
        ]
    );
    // Cut by primary reason, in table order; each adds up to the district's cut:
    // 150,000.00 + 240,000.00 + 180,000.00 + 600,000.00 + 0.01 = 1,170,000.01.
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };
    assert_eq!(
        cut_by_reason(district(&at_15, "330106")),
        pairs(&[
            ("STARS_BELOW_3", "150000.00"),
            ("OWNS_OFFICE", "240000.00"),
            ("WRONG_DISTRICT", "180000.00"),
            ("DUPLICATE_PAYMENT", "600000.00"),
            ("OVER_DISTRICT_RATIO", "0.01"),
        ])
    );
    // 120,000.00 + 200,000.00 + 150,000.00 = 470,000.00.
    assert_eq!(
        cut_by_reason(district(&at_15, "330108")),
        pairs(&[
            ("RENT_AND_PURCHASE", "120000.00"),
            ("PURCHASE_NOT_FIRST", "200000.00"),
            ("TITLE_REVOKED", "150000.00"),
        ])
    );
    // YH-02's primary reason is NOT_RECOGNIZED (its second, STARS_BELOW_3, is not counted):
    // 50,000.00 + 29,999.95 = 79,999.95.
    assert_eq!(
        cut_by_reason(district(&at_15, "330110")),
        pairs(&[
            ("NOT_RECOGNIZED", "50000.00"),
            ("OVER_DISTRICT_RATIO", "29999.95"),
        ])
    );
    // A district with no lines has zeros and says why.
    assert_eq!(
        figures(district(&at_15, "330102")),
        [
            "0.00", "0.00", "0.00", "0.00", "0.00", "0.00", "0.00", "NO_LINES"
        ]
    );
    // City: 2,170,000.00 + 1,620,000.00 + 230,000.00 = 4,020,000.00 reported;
    // 999,999.99 + 1,150,000.00 + 150,000.05 = 2,300,000.04 eligible;
    // 1,170,000.01 + 470,000.00 + 79,999.95 = 1,719,999.96 cut;
    // 149,999.99 + 172,500.00 + 22,500.00 = 344,999.99 reimbursed.
    assert_eq!(
        at_15["totals"],
        json!({ "reported": "4020000.00", "eligible": "2300000.04", "cut": "1719999.96",
                "reimbursement": "344999.99", "granted": "344999.99", "adjustments": "0.00",
                "netPayable": "344999.99" })
    );
    assert_settlement_adds_up(&at_15);

    // Act 2: a rate above the cap is refused; re-drafting at the default rate with a budget of
    // 230,000.00 replaces the draft.
    let over = try_draft(&app, 2024, Some("0.2001"), None).await;
    let redrafted = draft(&app, 2024, None, Some("230000.00")).await;

    // Assert 2
    assert_eq!(over.error_code(), Some("POLICY_VIOLATION"), "{}", over.body);
    assert_eq!(over.error_extensions()["clause"], "§20");
    // Reimbursements at 0.20: 330106 floor(999,999.99 × 0.20 = 199,999.998) = 199,999.99;
    // 330108 230,000.00; 330110 floor(150,000.05 × 0.20 = 30,000.01) = 30,000.01;
    // Σ = 460,000.00 > budget 230,000.00, so each gets budget × r / Σ r = r / 2:
    //   330106: 99,999.995 → 99,999.99, remainder 0.5 fen
    //   330108: 115,000.00,            remainder 0
    //   330110: 15,000.005 → 15,000.00, remainder 0.5 fen
    // Σ floors = 229,999.99: 1 fen left over; 330106 and 330110 tie on the remainder, the
    // lower code 330106 gets it: grants 100,000.00 + 115,000.00 + 15,000.00 = 230,000.00.
    assert_eq!(dec(&redrafted["rate"]), Decimal::new(20, 2));
    assert_eq!(redrafted["budget"], "230000.00");
    assert_eq!(
        figures(district(&redrafted, "330106")),
        [
            "2170000.00",
            "999999.99",
            "1170000.01",
            "199999.99",
            "100000.00",
            "0.00",
            "100000.00",
            "-"
        ]
    );
    assert_eq!(
        figures(district(&redrafted, "330108")),
        [
            "1620000.00",
            "1150000.00",
            "470000.00",
            "230000.00",
            "115000.00",
            "0.00",
            "115000.00",
            "-"
        ]
    );
    assert_eq!(
        figures(district(&redrafted, "330110")),
        [
            "230000.00",
            "150000.05",
            "79999.95",
            "30000.01",
            "15000.00",
            "0.00",
            "15000.00",
            "-"
        ]
    );
    assert_eq!(
        redrafted["totals"],
        json!({ "reported": "4020000.00", "eligible": "2300000.04", "cut": "1719999.96",
                "reimbursement": "460000.00", "granted": "230000.00", "adjustments": "0.00",
                "netPayable": "230000.00" })
    );
    assert_settlement_adds_up(&redrafted);
    // The stored settlement is the re-draft.
    let stored = settlement(&app, 2024).await;
    assert_eq!(stored["budget"], "230000.00");
    assert_eq!(stored["totals"], redrafted["totals"]);
}

#[tokio::test]
async fn after_approval_a_revocation_and_an_audit_finding_adjust_the_next_year() {
    // Arrange: 2024 drafted at the default rate with a budget of 230,000.00 (see the test above:
    // 330106 granted 100,000.00 of E 999,999.99; 330108 granted 115,000.00 of E 1,150,000.00)
    // and approved.
    let app = spawn_app().await;
    let s = scenario(&app).await;
    draft(&app, 2024, None, Some("230000.00")).await;
    let approved = try_approve(&app, 2024).await;
    let approved = approved.data()["approveSettlement"].clone();
    assert_eq!(approved["status"], "APPROVED");

    // Act 1: E1's title is revoked on 2024-09-01 (recognised 2024-03-01 < R). It reaches XH-02,
    // paid 2024-09-15 ≥ R, approved eligible 399,999.99; not XH-01 (paid 2024-03-15).
    revoke(&app, &s.code[1], "2024-09-01").await;
    // Act 2: an audit finds BJ-05 (E6's rent, approved eligible 150,000.00) was not paid.
    let finding = app
        .gql_as(
            Role::CityFinance,
            FINDING,
            json!({ "l": [s.line["BJ-05"]], "r": "audit 2025-03: lease L-E6 was never paid" }),
        )
        .await;
    let named_again = app
        .gql_as(
            Role::CityFinance,
            FINDING,
            json!({ "l": [s.line["BJ-05"]], "r": "the same line again" }),
        )
        .await;

    // Assert: the findings became adjustments of 2025, 2024 is untouched.
    // 330108: −floor(e × G / E) = −floor(150,000.00 × 115,000.00 / 1,150,000.00) = −15,000.00.
    let finding = &finding.data()["recordFinding"];
    assert_eq!(finding["kind"], "AUDIT");
    assert_eq!(
        finding["adjustments"],
        json!([{ "districtCode": "330108", "originalYear": 2024, "targetYear": 2025,
                 "amount": "-15000.00", "foundEligible": "150000.00",
                 "districtEligible": "1150000.00", "districtGranted": "115000.00" }])
    );
    assert_eq!(
        named_again.error_code(),
        Some("CONFLICT"),
        "{}",
        named_again.body
    );
    let after = settlement(&app, 2024).await;
    assert_eq!(after["status"], "APPROVED");
    assert_eq!(
        after["totals"], approved["totals"],
        "an approved year is never edited"
    );

    // Act 3: in 2025, 330108 pays the second instalment of E4's purchase P-E4.
    let y2 = report(
        &app,
        "330108",
        2025,
        json!([purchase(
            &s.code[4],
            "P-E4",
            "30000000.00",
            "2024-02-01",
            "800000.00",
            "2025-03-01",
            "BJ-11"
        )]),
    )
    .await;
    submit(&app, "330108", 2025).await;
    let verdicts = reconcile(&app, "330108", 2025).await;
    let y2025 = draft(&app, 2025, None, None).await;

    // Assert: the group PURCHASE:330108:P-E4 has limit 1,500,000.00 over all years; 2024's
    // approved 1,000,000.00 counts, so of the 800,000.00 only 500,000.00 fit: cut 300,000.00.
    let bj11 = &verdicts[&y2["BJ-11"]];
    assert_eq!(bj11["eligible"], "500000.00");
    assert_eq!(bj11["cut"], "300000.00");
    assert_eq!(reason_codes(bj11), ["OVER_DISTRICT_RATIO"]);
    assert_eq!(bj11["groupLimit"], "1500000.00");
    // 330106: no lines in 2025; the revocation takes back
    //   −floor(399,999.99 × 100,000.00 / 999,999.99) = −floor(39,999.9994) = −39,999.99,
    // so net payable −39,999.99 (追回).
    let xihu = district(&y2025, "330106");
    assert_eq!(
        figures(xihu),
        [
            "0.00",
            "0.00",
            "0.00",
            "0.00",
            "0.00",
            "-39999.99",
            "-39999.99",
            "NO_LINES"
        ]
    );
    let carried = &xihu["carriedAdjustments"][0];
    assert_eq!(carried["originalYear"], 2024);
    assert_eq!(carried["targetYear"], 2025);
    assert_eq!(carried["amount"], "-39999.99");
    assert_eq!(carried["foundEligible"], "399999.99");
    assert_eq!(carried["districtEligible"], "999999.99");
    assert_eq!(carried["districtGranted"], "100000.00");
    assert!(carried["reason"].as_str().unwrap().contains("2024-09-01"));
    // 330108: reimbursement 500,000.00 × 0.20 = 100,000.00; adjustments −15,000.00;
    // net 85,000.00.
    assert_eq!(
        figures(district(&y2025, "330108")),
        [
            "800000.00",
            "500000.00",
            "300000.00",
            "100000.00",
            "100000.00",
            "-15000.00",
            "85000.00",
            "-"
        ]
    );
    // City: adjustments −39,999.99 − 15,000.00 = −54,999.99; net 100,000.00 − 54,999.99
    // = 45,000.01.
    assert_eq!(
        y2025["totals"],
        json!({ "reported": "800000.00", "eligible": "500000.00", "cut": "300000.00",
                "reimbursement": "100000.00", "granted": "100000.00", "adjustments": "-54999.99",
                "netPayable": "45000.01" })
    );
    assert_settlement_adds_up(&y2025);

    // A finding recorded after the 2025 draft lands in 2025 and makes the draft stale: an audit
    // finds YH-01 (330110, approved eligible 150,000.05 of E 150,000.05, G 15,000.00):
    // −floor(150,000.05 × 15,000.00 / 150,000.05) = −15,000.00.
    let yh01 = app
        .gql_as(
            Role::CityFinance,
            FINDING,
            json!({ "l": [s.line["YH-01"]], "r": "audit 2025-06: E5 sublet the premises" }),
        )
        .await;
    assert_eq!(
        yh01.data()["recordFinding"]["adjustments"][0]["amount"],
        "-15000.00"
    );
    let stale = try_approve(&app, 2025).await;
    assert_eq!(stale.error_code(), Some("CONFLICT"), "{}", stale.body);
    let y2025 = draft(&app, 2025, None, None).await;
    // 330110: no lines in 2025, net −15,000.00; city adjustments −54,999.99 − 15,000.00
    // = −69,999.99, net 100,000.00 − 69,999.99 = 30,000.01.
    assert_eq!(
        figures(district(&y2025, "330110")),
        [
            "0.00",
            "0.00",
            "0.00",
            "0.00",
            "0.00",
            "-15000.00",
            "-15000.00",
            "NO_LINES"
        ]
    );
    assert_eq!(y2025["totals"]["adjustments"], "-69999.99");
    assert_eq!(y2025["totals"]["netPayable"], "30000.01");
    assert_settlement_adds_up(&y2025);

    // Approving 2025 locks it; a later finding on 2024 goes to the next open year, 2026.
    try_approve(&app, 2025).await.data();
    let late = app
        .gql_as(
            Role::CityFinance,
            FINDING,
            json!({ "l": [s.line["XH-01"]], "r": "audit 2026-02: XH-01 double counted" }),
        )
        .await;
    // −floor(600,000.00 × 100,000.00 / 999,999.99) = −floor(60,000.00006) = −60,000.00.
    assert_eq!(
        late.data()["recordFinding"]["adjustments"],
        json!([{ "districtCode": "330106", "originalYear": 2024, "targetYear": 2026,
                 "amount": "-60000.00", "foundEligible": "600000.00",
                 "districtEligible": "999999.99", "districtGranted": "100000.00" }])
    );
}

// ---------------------------------------------------------------------------------------------
// Smaller set-ups
// ---------------------------------------------------------------------------------------------

/// One recognised 3★ HQ in 330106 with one rent line for 2024 (eligible 30,000.00), claimed and
/// reconciled. Returns its credit code.
async fn one_claim(app: &TestApp, year: i32) -> String {
    let code = credit_code(1);
    headquarters(app, &code, "330106", 3).await;
    report(
        app,
        "330106",
        year,
        json!([rent(
            &code,
            2024,
            "100000.00",
            "30000.00",
            &format!("{year}-06-30"),
            &format!("V-{year}-1")
        )]),
    )
    .await;
    submit(app, "330106", year).await;
    reconcile(app, "330106", year).await;
    code
}

#[tokio::test]
async fn a_district_sees_only_its_own_settlement_line_and_no_city_totals() {
    let app = spawn_app().await;
    one_claim(&app, 2024).await;
    draft(&app, 2024, None, None).await;
    let own = app.token(Role::District, Some("330106"));
    let other = app.token(Role::District, Some("330108"));
    let lines = "{ settlement(fiscalYear: 2024) { status districts { districtCode eligible granted
        claim { status lines { totalCount } } } } }";

    let as_own = app.gql(Some(&own), lines, json!({})).await;
    let as_other = app.gql(Some(&other), lines, json!({})).await;
    let totals = app
        .gql(
            Some(&own),
            "{ settlement(fiscalYear: 2024) { totals { eligible } } }",
            json!({}),
        )
        .await;
    let viewer = app.gql_as(Role::Viewer, lines, json!({})).await;

    assert_eq!(
        as_own.data()["settlement"]["districts"],
        json!([{ "districtCode": "330106", "eligible": "30000.00", "granted": "6000.00",
                 "claim": { "status": "RECONCILED", "lines": { "totalCount": 1 } } }])
    );
    assert_eq!(
        as_other.data()["settlement"]["districts"],
        json!([{ "districtCode": "330108", "eligible": "0.00", "granted": "0.00", "claim": null }])
    );
    assert_eq!(totals.error_code(), Some("FORBIDDEN"), "{}", totals.body);
    assert_eq!(viewer.error_code(), Some("FORBIDDEN"), "{}", viewer.body);
    // Staff readers see every line and the totals.
    let auditor = app
        .gql_as(
            Role::Auditor,
            "{ settlement(fiscalYear: 2024) { districts { districtCode } totals { granted } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        auditor.data()["settlement"]["districts"]
            .as_array()
            .unwrap()
            .len(),
        13
    );
    assert_eq!(auditor.data()["settlement"]["totals"]["granted"], "6000.00");
}

#[tokio::test]
async fn only_the_finance_bureau_reconciles_settles_approves_and_records_findings() {
    let app = spawn_app().await;
    one_claim(&app, 2024).await;
    let own = app.token(Role::District, Some("330106"));
    let hq = app.token_for(Role::HqOffice);
    let auditor = app.token_for(Role::Auditor);
    let finding = "mutation { recordFinding(lineIds: [1], reason: \"x\") { id } }";
    for token in [&own, &hq, &auditor] {
        for (query, vars) in [
            (RECONCILE, json!({ "d": "330106", "y": 2024 })),
            (
                "mutation { draftSettlement(fiscalYear: 2024) { status } }",
                json!({}),
            ),
            (
                "mutation { approveSettlement(fiscalYear: 2024) { status } }",
                json!({}),
            ),
            (finding, json!({})),
        ] {
            let res = app.gql(Some(token), query, vars).await;
            assert_eq!(res.error_code(), Some("FORBIDDEN"), "{query}: {}", res.body);
        }
    }
    // Nothing was drafted.
    assert_eq!(settlement(&app, 2024).await, Value::Null);
}

#[tokio::test]
async fn writes_into_an_approved_year_are_period_locked() {
    // Arrange: 2024 approved with 330106's claim; 330108 has a returned claim.
    let app = spawn_app().await;
    let code = one_claim(&app, 2024).await;
    register_eligible(&app, &credit_code(2), "330108").await;
    report(
        &app,
        "330108",
        2024,
        json!([rent(
            &credit_code(2),
            2024,
            "100.00",
            "10.00",
            "2024-05-01",
            "B-1"
        )]),
    )
    .await;
    submit(&app, "330108", 2024).await;
    app.gql_as(
        Role::CityFinance,
        RETURN,
        json!({ "d": "330108", "y": 2024 }),
    )
    .await
    .data();
    draft(&app, 2024, None, None).await;
    try_approve(&app, 2024).await.data();

    // Act / Assert
    let new_line = json!([rent(
        &code,
        2024,
        "100000.00",
        "1.00",
        "2024-12-01",
        "V-late"
    )]);
    let locked = [
        (
            "report 330106",
            try_report(&app, "330106", 2024, new_line).await,
        ),
        (
            "report 330108",
            try_report(
                &app,
                "330108",
                2024,
                json!([rent(
                    &credit_code(2),
                    2024,
                    "100.00",
                    "10.00",
                    "2024-05-02",
                    "B-2"
                )]),
            )
            .await,
        ),
        ("submit 330108", try_submit(&app, "330108", 2024).await),
        (
            "return 330106",
            app.gql_as(
                Role::CityFinance,
                RETURN,
                json!({ "d": "330106", "y": 2024 }),
            )
            .await,
        ),
        (
            "reconcile 330106",
            try_reconcile(&app, "330106", 2024).await,
        ),
        ("draft", try_draft(&app, 2024, None, None).await),
    ];
    for (what, res) in locked {
        assert_eq!(
            res.error_code(),
            Some("PERIOD_LOCKED"),
            "{what}: {}",
            res.body
        );
    }
    let again = try_approve(&app, 2024).await;
    assert_eq!(again.error_code(), Some("CONFLICT"), "{}", again.body);
    // The rating a reconciled payment depends on can no longer change.
    let rerate = app
        .gql_as(
            Role::HqOffice,
            "mutation($c: String!) { rateStars(creditCode: $c, year: 2024, stars: 4) { stars } }",
            json!({ "c": code }),
        )
        .await;
    assert_eq!(rerate.error_code(), Some("CONFLICT"), "{}", rerate.body);
    // A finding names approved lines only; the next year is still open.
    let open_line = report(
        &app,
        "330106",
        2025,
        json!([rent(
            &code,
            2024,
            "100000.00",
            "1.00",
            "2025-01-10",
            "V-2025-1"
        )]),
    )
    .await;
    let res = app
        .gql_as(
            Role::CityFinance,
            FINDING,
            json!({ "l": [open_line["V-2025-1"]], "r": "not approved yet" }),
        )
        .await;
    assert_eq!(res.error_code(), Some("BAD_USER_INPUT"), "{}", res.body);
    let s = settlement(&app, 2024).await;
    assert_eq!(s["status"], "APPROVED");
    assert_eq!(district(&s, "330108")["zeroReason"], "NOT_SUBMITTED");
    assert_eq!(s["totals"]["eligible"], "30000.00");
}

#[tokio::test]
async fn re_drafting_replaces_the_draft_and_a_stale_draft_cannot_be_approved() {
    // Arrange: 330106 reconciled (eligible 30,000.00); 330108 submitted, not reconciled.
    let app = spawn_app().await;
    let code = one_claim(&app, 2024).await;
    let code_b = credit_code(2);
    headquarters(&app, &code_b, "330108", 3).await;
    report(
        &app,
        "330108",
        2024,
        json!([rent(
            &code_b,
            2024,
            "50000.00",
            "10000.00",
            "2024-05-01",
            "B-1"
        )]),
    )
    .await;
    submit(&app, "330108", 2024).await;

    // Re-drafting replaces the draft.
    let first = draft(&app, 2024, None, None).await;
    assert_eq!(district(&first, "330108")["zeroReason"], "NOT_RECONCILED");
    let second = draft(&app, 2024, Some("0.1"), None).await;
    assert_eq!(dec(&second["rate"]), Decimal::new(1, 1));
    let stored = settlement(&app, 2024).await;
    assert_eq!(dec(&stored["rate"]), Decimal::new(1, 1));
    // 30,000.00 × 0.10 = 3,000.00.
    assert_eq!(stored["totals"]["granted"], "3000.00");

    // A claim reconciled after the draft makes the draft stale.
    reconcile(&app, "330108", 2024).await;
    let stale = try_approve(&app, 2024).await;
    assert_eq!(stale.error_code(), Some("CONFLICT"), "{}", stale.body);
    assert_eq!(settlement(&app, 2024).await["status"], "DRAFT");

    // So does a claim re-reconciled with the same eligible total but another cut: 330106's
    // claim is returned, a line cut whole is added (no recognition for 2023), and reconciled.
    let redrafted = draft(&app, 2024, Some("0.1"), None).await;
    assert_eq!(redrafted["totals"]["eligible"], "40000.00");
    app.gql_as(
        Role::CityFinance,
        RETURN,
        json!({ "d": "330106", "y": 2024 }),
    )
    .await
    .data();
    report(
        &app,
        "330106",
        2024,
        json!([rent(
            &code,
            2023,
            "100.00",
            "10.00",
            "2024-07-01",
            "V-2024-2"
        )]),
    )
    .await;
    submit(&app, "330106", 2024).await;
    reconcile(&app, "330106", 2024).await;
    let stale = try_approve(&app, 2024).await;
    assert_eq!(
        stale.error_code(),
        Some("CONFLICT"),
        "reported and cut changed since the draft: {}",
        stale.body
    );

    // Drafted again, it is approved with the current figures.
    draft(&app, 2024, Some("0.1"), None).await;
    let approved = try_approve(&app, 2024).await;
    let approved = &approved.data()["approveSettlement"];
    let xihu = district(approved, "330106");
    assert_eq!(xihu["reported"], "30010.00");
    assert_eq!(xihu["cut"], "10.00");
    assert_eq!(
        cut_by_reason(xihu),
        [("NOT_RECOGNIZED".to_string(), "10.00".to_string())]
    );
    assert_settlement_adds_up(approved);
}

#[tokio::test]
async fn verdicts_made_stale_by_a_revocation_must_be_reconciled_again_before_approval() {
    // Arrange: 330106's claim reconciled (the 2024-06-30 line eligible 30,000.00) and drafted;
    // then the title is revoked on 2024-06-01, before the payment.
    let app = spawn_app().await;
    let code = one_claim(&app, 2024).await;
    draft(&app, 2024, None, None).await;
    revoke(&app, &code, "2024-06-01").await;

    // Act: approving verdicts that no longer follow from the facts is refused: once approved, the
    // revocation (recorded before) would never become a finding, and the subsidy would stay paid.
    let stale = try_approve(&app, 2024).await;

    // Assert
    assert_eq!(stale.error_code(), Some("CONFLICT"), "{}", stale.body);
    let verdicts = reconcile(&app, "330106", 2024).await;
    let v = verdicts.values().next().unwrap();
    assert_eq!(reason_codes(v), ["TITLE_REVOKED"]);
    draft(&app, 2024, None, None).await;
    let approved = try_approve(&app, 2024).await;
    assert_eq!(
        approved.data()["approveSettlement"]["totals"]["eligible"],
        "0.00"
    );
}

// ---------------------------------------------------------------------------------------------
// Concurrency
// ---------------------------------------------------------------------------------------------

/// Posts a GraphQL operation on its own task.
fn spawn_gql(
    app: &TestApp,
    token: String,
    query: String,
    variables: Value,
) -> tokio::task::JoinHandle<Value> {
    let client = app.client.clone();
    let url = format!("{}/graphql", app.address);
    tokio::spawn(async move {
        client
            .post(url)
            .bearer_auth(token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    })
}

fn code_of(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["code"].as_str()
}

#[tokio::test]
async fn of_eight_simultaneous_approvals_exactly_one_succeeds() {
    let app = spawn_app().await;
    one_claim(&app, 2024).await;
    draft(&app, 2024, None, None).await;
    let token = app.token_for(Role::CityFinance);

    let tasks: Vec<_> = (0..8)
        .map(|_| spawn_gql(&app, token.clone(), approve_query(), json!({ "y": 2024 })))
        .collect();
    let mut bodies = Vec::new();
    for task in tasks {
        bodies.push(task.await.unwrap());
    }

    let approved = bodies.iter().filter(|b| b.get("errors").is_none()).count();
    assert_eq!(approved, 1, "{bodies:#?}");
    for body in bodies.iter().filter(|b| b.get("errors").is_some()) {
        assert_eq!(code_of(body), Some("CONFLICT"), "{body}");
    }
    let s = settlement(&app, 2024).await;
    assert_eq!(s["status"], "APPROVED");
    let res = app
        .gql_as(
            Role::CityFinance,
            "{ claim(districtCode: \"330106\", fiscalYear: 2024) { status history { action } } }",
            json!({}),
        )
        .await;
    let claim = &res.data()["claim"];
    assert_eq!(claim["status"], "APPROVED");
    let approvals = claim["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "APPROVED")
        .count();
    assert_eq!(approvals, 1, "one approval event");
}

/// Checks an approved (or drafted) settlement against the claims and lines as they are now: a
/// reconciled district's figures are the sums of its lines' verdicts, every other district says
/// truly why it has zeros, and an approved year's counted claims are `APPROVED`.
async fn assert_consistent_with_claims(app: &TestApp, year: i32) {
    let query = "query($y: Int!) { settlement(fiscalYear: $y) { status rate
        districts { districtCode reported eligible cut reimbursement zeroReason
          claim { status lines(first: 500) { totalCount nodes { amount verdict { eligible cut } } } } } } }";
    let res = app
        .gql_as(Role::CityFinance, query, json!({ "y": year }))
        .await;
    let s = &res.data()["settlement"];
    let rate = dec(&s["rate"]);
    let approved = s["status"] == "APPROVED";
    for d in s["districts"].as_array().unwrap() {
        let code = d["districtCode"].as_str().unwrap();
        let status = d["claim"]["status"].as_str();
        if d["zeroReason"].is_null() {
            let lines = d["claim"]["lines"]["nodes"].as_array().unwrap();
            assert_eq!(
                d["claim"]["lines"]["totalCount"].as_u64().unwrap() as usize,
                lines.len()
            );
            let sum = |f: &dyn Fn(&Value) -> Decimal| -> Decimal { lines.iter().map(f).sum() };
            assert!(lines.iter().all(|l| !l["verdict"].is_null()), "{code}: {d}");
            assert_eq!(dec(&d["reported"]), sum(&|l| dec(&l["amount"])), "{code}");
            assert_eq!(
                dec(&d["eligible"]),
                sum(&|l| dec(&l["verdict"]["eligible"])),
                "{code}"
            );
            assert_eq!(
                dec(&d["cut"]),
                sum(&|l| dec(&l["verdict"]["cut"])),
                "{code}"
            );
            assert_eq!(
                dec(&d["reimbursement"]),
                floor_to_fen(dec(&d["eligible"]) * rate),
                "{code}"
            );
            let expected = if approved { "APPROVED" } else { "RECONCILED" };
            assert_eq!(status, Some(expected), "{code}: {d}");
        } else {
            assert_eq!(d["eligible"], "0.00", "{code}");
            let lines = app
                .gql_as(
                    Role::CityFinance,
                    "query($d: String!, $y: Int!) { paymentLines(districtCode: $d, fiscalYear: $y) { totalCount } }",
                    json!({ "d": code, "y": year }),
                )
                .await;
            let count = lines.data()["paymentLines"]["totalCount"].as_u64().unwrap();
            let truly = match status {
                Some("SUBMITTED") => "NOT_RECONCILED",
                _ if count > 0 => "NOT_SUBMITTED",
                _ => "NO_LINES",
            };
            assert_eq!(d["zeroReason"], truly, "{code}: {d}");
            assert_ne!(status, Some("APPROVED"), "{code}");
            assert_ne!(status, Some("RECONCILED"), "{code}");
        }
    }
}

#[tokio::test]
async fn an_approval_racing_a_report_a_submission_or_a_return_leaves_a_consistent_year() {
    // Each round is a fiscal year: 330106 has a reconciled claim and the year is drafted; then
    // the approval races a write of the same year. (Payments after 2028-02-20 are cut for
    // OUTSIDE_POLICY_PERIOD: the figures differ, the invariants do not.)
    let app = spawn_app().await;
    let code = credit_code(1);
    headquarters(&app, &code, "330106", 3).await;
    let code_b = credit_code(2);
    register_eligible(&app, &code_b, "330108").await;
    let finance = app.token_for(Role::CityFinance);
    let binjiang = app.token(Role::District, Some("330108"));

    // Each write races the approval twice: once sent first, once sent second (which request the
    // server serves first is still up to it).
    for (year, racer, write_first) in [
        (2024, "report", false),
        (2025, "report", true),
        (2026, "submit", false),
        (2027, "submit", true),
        (2028, "return", false),
        (2029, "return", true),
    ] {
        report(
            &app,
            "330106",
            year,
            json!([rent(
                &code,
                2024,
                "100000.00",
                "3000.00",
                &format!("{year}-01-15"),
                &format!("V-{year}")
            )]),
        )
        .await;
        submit(&app, "330106", year).await;
        reconcile(&app, "330106", year).await;
        if racer == "submit" {
            // 330108 has lines and no claim yet.
            report(
                &app,
                "330108",
                year,
                json!([rent(
                    &code_b,
                    2024,
                    "100.00",
                    "1.00",
                    &format!("{year}-01-20"),
                    &format!("B-{year}")
                )]),
            )
            .await;
        }
        draft(&app, year, None, None).await;

        let approve = || spawn_gql(&app, finance.clone(), approve_query(), json!({ "y": year }));
        let approval = (!write_first).then(approve);
        let write = match racer {
            "report" => spawn_gql(
                &app,
                binjiang.clone(),
                REPORT.to_string(),
                json!({ "d": "330108", "y": year,
                        "l": [rent(&code_b, 2024, "100.00", "1.00", &format!("{year}-02-01"), &format!("R-{year}"))] }),
            ),
            "submit" => spawn_gql(
                &app,
                binjiang.clone(),
                SUBMIT.to_string(),
                json!({ "d": "330108", "y": year }),
            ),
            _ => spawn_gql(
                &app,
                finance.clone(),
                RETURN.to_string(),
                json!({ "d": "330106", "y": year }),
            ),
        };
        let approval = approval.unwrap_or_else(approve).await.unwrap();
        let write = write.await.unwrap();

        // Either the write came after the approval and was refused, or it came first: then the
        // draft it made stale was refused, or — had it changed nothing the draft shows — approved.
        eprintln!(
            "RACE {year} {racer}: {:?}",
            (code_of(&approval), code_of(&write))
        );
        match (code_of(&approval), code_of(&write)) {
            (None, Some("PERIOD_LOCKED")) => {}
            (Some("CONFLICT"), None) => {
                draft(&app, year, None, None).await;
                try_approve(&app, year).await.data();
            }
            (None, None) => {}
            other => panic!("{year} {racer}: unexpected outcome {other:?}: {approval} / {write}"),
        }
        assert_consistent_with_claims(&app, year).await;
    }
}

const FINDINGS: &str =
    "query($d: String, $first: Int, $after: String, $last: Int, $before: String) {
  findings(fiscalYear: 2024, districtCode: $d, first: $first, after: $after, last: $last,
    before: $before) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { databaseId lineIds adjustments { districtCode } } } } }";

/// Every finding of 2024 as `token` sees it, paged `size` at a time in `direction`, recording
/// `then` (lines) after the first page; answers the findings in list order.
async fn walk_findings(
    app: &TestApp,
    token: &str,
    district: Option<&str>,
    backward: bool,
    size: i64,
    then: Option<Vec<i64>>,
) -> Vec<Value> {
    let mut seen: Vec<Value> = Vec::new();
    let mut cursor = Value::Null;
    let mut then = then;
    loop {
        let vars = if backward {
            json!({ "d": district, "last": size, "before": cursor })
        } else {
            json!({ "d": district, "first": size, "after": cursor })
        };
        let res = app.gql(Some(token), FINDINGS, vars).await;
        let connection = res.data()["findings"].clone();
        let nodes: Vec<Value> = connection["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"].clone())
            .collect();
        if backward {
            seen.splice(0..0, nodes);
        } else {
            seen.extend(nodes);
        }
        let info = &connection["pageInfo"];
        let (more, next) = if backward {
            (&info["hasPreviousPage"], &info["startCursor"])
        } else {
            (&info["hasNextPage"], &info["endCursor"])
        };
        if more != &json!(true) {
            return seen;
        }
        cursor = next.clone();
        if let Some(lines) = then.take() {
            app.gql_as(
                Role::CityFinance,
                FINDING,
                json!({ "l": lines, "r": "found while paging" }),
            )
            .await
            .data();
        }
    }
}

#[tokio::test]
async fn finding_pages_skip_nothing_while_findings_are_recorded_and_a_district_sees_its_part() {
    // Arrange: 2024 approved; findings on a 330106 line, on a 330108 line, and on one line of
    // each district.
    let app = spawn_app().await;
    let s = scenario(&app).await;
    draft(&app, 2024, None, Some("230000.00")).await;
    assert_eq!(
        try_approve(&app, 2024).await.data()["approveSettlement"]["status"],
        "APPROVED"
    );
    for lines in [
        vec![s.line["XH-01"]],
        vec![s.line["BJ-02"]],
        vec![s.line["XH-04"], s.line["BJ-04"]],
    ] {
        app.gql_as(
            Role::CityFinance,
            FINDING,
            json!({ "l": lines, "r": "audit" }),
        )
        .await
        .data();
    }
    let finance = app.token_for(Role::CityFinance);
    let ids = |nodes: &[Value]| -> Vec<i64> {
        nodes
            .iter()
            .map(|n| n["databaseId"].as_i64().unwrap())
            .collect()
    };

    // Act: forwards, a finding is recorded after the first page (it is recorded last: ahead);
    // backwards, another one (behind the reader, which started at the end).
    let forwards = walk_findings(&app, &finance, None, false, 1, Some(vec![s.line["XH-05"]])).await;
    let backwards = walk_findings(&app, &finance, None, true, 1, Some(vec![s.line["BJ-01"]])).await;
    let all = walk_findings(&app, &finance, None, false, 100, None).await;
    let own = app.token(Role::District, Some("330106"));
    let district = walk_findings(&app, &own, None, false, 1, None).await;
    let other = app
        .gql(Some(&own), FINDINGS, json!({ "d": "330108" }))
        .await;

    // Assert
    assert_eq!(ids(&forwards).len(), 4, "{forwards:?}");
    assert!(ids(&forwards).windows(2).all(|w| w[0] < w[1]));
    assert_eq!(
        ids(&backwards),
        ids(&forwards),
        "the later finding is behind a backward reader"
    );
    assert_eq!(ids(&all).len(), 5);
    // 330106 sees the findings naming its lines (XH-01, XH-04 with BJ-04, XH-05), and of the
    // mixed one only its own line and adjustment.
    assert_eq!(district.len(), 3, "{district:?}");
    let mixed = &district[1];
    assert_eq!(mixed["lineIds"], json!([s.line["XH-04"]]));
    for finding in &district {
        for adjustment in finding["adjustments"].as_array().unwrap() {
            assert_eq!(adjustment["districtCode"], "330106", "{finding}");
        }
    }
    let whole = all
        .iter()
        .find(|f| f["databaseId"] == mixed["databaseId"])
        .unwrap();
    assert_eq!(whole["lineIds"].as_array().unwrap().len(), 2);
    assert_eq!(other.error_code(), Some("FORBIDDEN"));
}

const SIMULATION: &str = "query($y: Int!, $s: [SettlementScenarioInput!]!) {
  simulateSettlement(fiscalYear: $y, scenarios: $s) {
    fiscalYear payableYear parameterVersionIds
    scenarios { rate budget budgetBinding
      totals { reported eligible cut reimbursement granted adjustments netPayable }
      districts { districtCode reported eligible cut cutByReason { reason clause amount }
        reimbursement granted adjustments netPayable zeroReason grantedChange netPayableChange }
      change { storedStatus storedRate reimbursement granted netPayable } } } }";

async fn try_simulate(app: &TestApp, role: Role, year: i32, scenarios: Value) -> Gql {
    app.gql_as(role, SIMULATION, json!({ "y": year, "s": scenarios }))
        .await
}

async fn audit_entries(app: &TestApp) -> i64 {
    app.gql_as(
        Role::Auditor,
        "{ auditLog(first: 1) { totalCount } }",
        json!({}),
    )
    .await
    .data()["auditLog"]["totalCount"]
        .as_i64()
        .expect("a count")
}

/// `a − b` of two decimal strings, as the API writes money.
fn minus(a: &Value, b: &Value) -> String {
    format!("{:.2}", dec(a) - dec(b))
}

#[tokio::test]
async fn a_simulated_settlement_equals_the_draft_of_each_scenario_and_writes_nothing() {
    use rand::{Rng, SeedableRng};

    // Arrange: the year of `scenario`, drafted at 15%; random rates and budgets around it.
    let app = spawn_app().await;
    scenario(&app).await;
    let stored = draft(&app, 2024, Some("0.15"), None).await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(20_240_101);
    let mut cases: Vec<(Option<String>, Option<String>)> = vec![
        (None, None),
        (Some("0.20".into()), Some("0.00".into())),
        (Some("0".into()), None),
    ];
    for _ in 0..9 {
        let rate = format!("0.{:02}", rng.gen_range(0..=20));
        // Up to 400,000.00 yuan: binding for most rates, not for low ones.
        let budget = rng
            .gen_bool(0.7)
            .then(|| format!("{}.{:02}", rng.gen_range(0..400_000), rng.gen_range(0..100)));
        cases.push((Some(rate), budget));
    }
    let input: Vec<Value> = cases
        .iter()
        .map(|(rate, budget)| json!({ "rate": rate, "budget": budget }))
        .collect();
    let entries_before = audit_entries(&app).await;

    // Act
    let simulated = try_simulate(&app, Role::CityFinance, 2024, json!(input)).await;

    // Assert: nothing written, the stored draft unchanged.
    let simulation = simulated.data()["simulateSettlement"].clone();
    assert_eq!(audit_entries(&app).await, entries_before);
    assert_eq!(settlement(&app, 2024).await, stored);
    assert_eq!(simulation["payableYear"], 2025);
    let scenarios = simulation["scenarios"].as_array().expect("scenarios");
    assert_eq!(scenarios.len(), cases.len());
    assert!(
        scenarios.iter().any(|s| s["budgetBinding"] == true)
            && scenarios.iter().any(|s| s["budgetBinding"] == false),
        "the cases bind and do not bind"
    );

    // Assert: each scenario is, field by field, the draft the same arguments store.
    for (i, ((rate, budget), simulated)) in cases.iter().zip(scenarios).enumerate() {
        let change = &simulated["change"];
        assert_eq!(change["storedStatus"], "DRAFT", "{i}");
        assert_eq!(dec(&change["storedRate"]), Decimal::new(15, 2), "{i}");
        assert_eq!(
            change["granted"],
            minus(
                &simulated["totals"]["granted"],
                &stored["totals"]["granted"]
            ),
            "{i}"
        );
        assert_eq!(
            change["netPayable"],
            minus(
                &simulated["totals"]["netPayable"],
                &stored["totals"]["netPayable"]
            ),
            "{i}"
        );
        for line in simulated["districts"].as_array().expect("districts") {
            let code = line["districtCode"].as_str().expect("code");
            let before = district(&stored, code);
            assert_eq!(
                line["grantedChange"],
                minus(&line["granted"], &before["granted"])
            );
            assert_eq!(
                line["netPayableChange"],
                minus(&line["netPayable"], &before["netPayable"])
            );
        }

        let drafted = draft(&app, 2024, rate.as_deref(), budget.as_deref()).await;
        assert_eq!(dec(&simulated["rate"]), dec(&drafted["rate"]), "{i}: rate");
        assert_eq!(simulated["budget"], drafted["budget"], "{i}: budget");
        assert_eq!(simulated["totals"], drafted["totals"], "{i}: totals");
        let drafted_lines = drafted["districts"].as_array().expect("districts");
        let simulated_lines = simulated["districts"].as_array().expect("districts");
        assert_eq!(drafted_lines.len(), simulated_lines.len(), "{i}");
        for (d, s) in drafted_lines.iter().zip(simulated_lines) {
            assert_eq!(s["districtCode"], d["districtCode"], "{i}");
            assert_eq!(figures(s), figures(d), "{i}: {}", d["districtCode"]);
            assert_eq!(
                s["cutByReason"], d["cutByReason"],
                "{i}: {}",
                d["districtCode"]
            );
        }
    }
}

#[tokio::test]
async fn a_simulation_refuses_what_a_draft_refuses_and_nothing_else_may_ask() {
    // Arrange
    let app = spawn_app().await;
    scenario(&app).await;
    let one = json!([{ "rate": "0.10" }]);

    // Act / Assert: only the finance bureau.
    for role in [Role::District, Role::HqOffice, Role::Auditor, Role::Viewer] {
        let res = try_simulate(&app, role, 2024, one.clone()).await;
        assert_eq!(
            res.error_code(),
            Some("FORBIDDEN"),
            "{role:?}: {}",
            res.body
        );
    }

    // A rate above the cap, as draftSettlement refuses it.
    let res = try_simulate(
        &app,
        Role::CityFinance,
        2024,
        json!([{ "rate": "0.10" }, { "rate": "0.21" }]),
    )
    .await;
    assert_eq!(res.error_code(), Some("POLICY_VIOLATION"), "{}", res.body);
    let refused = try_draft(&app, 2024, Some("0.21"), None).await;
    assert_eq!(refused.error_code(), Some("POLICY_VIOLATION"));

    // A bad budget names its scenario.
    let res = try_simulate(
        &app,
        Role::CityFinance,
        2024,
        json!([{ "rate": "0.10" }, { "budget": "-1.00" }]),
    )
    .await;
    assert_eq!(res.error_code(), Some("BAD_USER_INPUT"), "{}", res.body);
    assert_eq!(res.error_extensions()["field"], "scenarios[1].budget");

    // None, or more than 20.
    for count in [0, 21] {
        let many: Vec<Value> = (0..count).map(|_| json!({ "rate": "0.10" })).collect();
        let res = try_simulate(&app, Role::CityFinance, 2024, json!(many)).await;
        assert_eq!(res.error_code(), Some("BAD_USER_INPUT"), "{count}");
        assert_eq!(res.error_extensions()["field"], "scenarios", "{count}");
    }

    // Once the year is approved, as a draft is.
    draft(&app, 2024, Some("0.20"), None).await;
    try_approve(&app, 2024).await.data();
    let res = try_simulate(&app, Role::CityFinance, 2024, one).await;
    assert_eq!(res.error_code(), Some("PERIOD_LOCKED"), "{}", res.body);
}

const RECONCILE_YEAR: &str = "mutation($y: Int!) {
  reconcileClaims(fiscalYear: $y) {
    claim { districtCode fiscalYear status } verdictCount eligibleTotal cutTotal
    verdicts(first: 100) { nodes { lineId eligible cut primaryReason reasons { code clause detail } ratioGroup groupLimit parameterVersionIds } } } }";

async fn try_reconcile_year(app: &TestApp, role: Role, year: i32) -> Gql {
    app.gql_as(role, RECONCILE_YEAR, json!({ "y": year })).await
}

/// The verdict fields `reconcileClaim` and `reconcileClaims` both answer, by line id.
fn verdict_fields(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(map) = v.as_object_mut() {
        map.retain(|key, _| key != "decidedAt");
    }
    v
}

async fn claim_status(app: &TestApp, district: &str, year: i32) -> Value {
    app.gql_as(
        Role::CityFinance,
        "query($d: String!, $y: Int!) { claim(districtCode: $d, fiscalYear: $y) { status history { action } } }",
        json!({ "d": district, "y": year }),
    )
    .await
    .data()["claim"]
        .clone()
}

#[tokio::test]
async fn the_year_is_reconciled_in_one_mutation_as_claim_by_claim() {
    // Arrange: the scenario's claims, each reconciled on its own; 330102's claim of 2024
    // returned.
    let app = spawn_app().await;
    let s = scenario(&app).await;
    report(
        &app,
        "330102",
        2024,
        json!([rent(
            &s.code[1],
            2024,
            "100000.00",
            "30000.00",
            "2024-04-01",
            "SC-01"
        )]),
    )
    .await;
    submit(&app, "330102", 2024).await;
    app.gql_as(
        Role::CityFinance,
        RETURN,
        json!({ "d": "330102", "y": 2024 }),
    )
    .await
    .data();
    let entries_before = audit_entries(&app).await;

    // Act
    let res = try_reconcile_year(&app, Role::CityFinance, 2024).await;

    // Assert: the submitted claims of 2024, by district code, each with the verdicts
    // `reconcileClaim` gave it, field for field.
    let results = res.data()["reconcileClaims"].as_array().unwrap().clone();
    let districts: Vec<&str> = results
        .iter()
        .map(|r| r["claim"]["districtCode"].as_str().unwrap())
        .collect();
    assert_eq!(districts, ["330106", "330108", "330110"]);
    let mut seen = 0;
    for result in &results {
        assert_eq!(result["claim"]["status"], "RECONCILED");
        assert_eq!(result["claim"]["fiscalYear"], 2024);
        let nodes = result["verdicts"]["nodes"].as_array().unwrap();
        assert_eq!(result["verdictCount"], nodes.len());
        let (mut eligible, mut cut) = (Decimal::ZERO, Decimal::ZERO);
        for node in nodes {
            let line = node["lineId"].as_i64().unwrap();
            assert_eq!(
                verdict_fields(node),
                verdict_fields(&s.verdict[&line]),
                "line {line}"
            );
            eligible += dec(&node["eligible"]);
            cut += dec(&node["cut"]);
        }
        assert_eq!(dec(&result["eligibleTotal"]), eligible);
        assert_eq!(dec(&result["cutTotal"]), cut);
        seen += nodes.len();
    }
    let lines_of_2024 = s.verdict.len() - 1;
    assert_eq!(seen, lines_of_2024, "every line of 2024, none of 2023");

    // One audit entry and one history step per claim, and the chain still verifies.
    assert_eq!(audit_entries(&app).await, entries_before + 3);
    let log = app
        .gql_as(
            Role::Auditor,
            "{ auditLog(filter: { operation: \"reconcileClaims\" }) { nodes { targetId after } } }",
            json!({}),
        )
        .await;
    let mut targets: Vec<String> = log.data()["auditLog"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["targetId"].as_str().unwrap().to_owned())
        .collect();
    targets.sort();
    assert_eq!(targets, ["330106/2024", "330108/2024", "330110/2024"]);
    let verified = app
        .gql_as(
            Role::Auditor,
            "{ verifyAuditLog { intact entriesChecked } }",
            json!({}),
        )
        .await;
    assert_eq!(verified.data()["verifyAuditLog"]["intact"], true);
    let history = claim_status(&app, "330108", 2024).await;
    let actions: Vec<&str> = history["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions.iter().filter(|a| **a == "RECONCILED").count(), 2);

    // The returned claim and the other year are left as they are.
    assert_eq!(
        claim_status(&app, "330102", 2024).await["status"],
        "RETURNED"
    );
    assert_eq!(
        claim_status(&app, "330108", 2023).await["status"],
        "RECONCILED"
    );

    // Running it again stores the same verdicts.
    let again = try_reconcile_year(&app, Role::CityFinance, 2024).await;
    let again = again.data()["reconcileClaims"].as_array().unwrap().clone();
    for (first, second) in results.iter().zip(&again) {
        assert_eq!(first["eligibleTotal"], second["eligibleTotal"]);
        let strip = |r: &Value| -> Vec<Value> {
            r["verdicts"]["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(verdict_fields)
                .collect()
        };
        assert_eq!(strip(first), strip(second));
    }
}

#[tokio::test]
async fn the_year_is_refused_whole_for_one_altered_claim_and_to_anyone_but_finance() {
    let app = spawn_app().await;
    let s = scenario(&app).await;

    // Only the finance bureau.
    for role in [Role::HqOffice, Role::Auditor, Role::Viewer] {
        let res = try_reconcile_year(&app, role, 2024).await;
        assert_eq!(res.error_code(), Some("FORBIDDEN"), "{role:?}");
    }
    let district = app
        .gql(
            Some(&app.token(Role::District, Some("330106"))),
            RECONCILE_YEAR,
            json!({ "y": 2024 }),
        )
        .await;
    assert_eq!(district.error_code(), Some("FORBIDDEN"));

    // A line of 330110 changed behind the service's back: its hash no longer matches, so the
    // whole year is refused, naming the district, and nothing is written.
    let entries_before = audit_entries(&app).await;
    let history_before = claim_status(&app, "330106", 2024).await;
    let verdicts_before = stored_verdicts(&app, "330106", 2024).await;
    let db = sea_orm::Database::connect(&app.database_url).await.unwrap();
    sea_orm::ConnectionTrait::execute_unprepared(
        &db,
        "UPDATE payment_lines SET amount_fen = amount_fen - 1 WHERE voucher_no = 'YH-02'",
    )
    .await
    .unwrap();
    let res = try_reconcile_year(&app, Role::CityFinance, 2024).await;
    assert_eq!(res.error_code(), Some("CONFLICT"));
    let message = res.body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("330110"), "{message}");
    assert_eq!(audit_entries(&app).await, entries_before);
    assert_eq!(claim_status(&app, "330106", 2024).await, history_before);
    assert_eq!(stored_verdicts(&app, "330106", 2024).await, verdicts_before);
    assert_eq!(verdicts_before.len(), 6, "{verdicts_before:?}");
    assert!(s.line.contains_key("YH-02"));

    // A year with nothing submitted reconciles no claim.
    let none = try_reconcile_year(&app, Role::CityFinance, 2025).await;
    assert_eq!(none.data()["reconcileClaims"], json!([]));

    // An approved year is locked.
    let app = spawn_app().await;
    one_claim(&app, 2024).await;
    draft(&app, 2024, None, None).await;
    try_approve(&app, 2024).await.data();
    let locked = try_reconcile_year(&app, Role::CityFinance, 2024).await;
    assert_eq!(locked.error_code(), Some("PERIOD_LOCKED"));
}

/// A claim's stored verdicts with when they were decided, in line order.
async fn stored_verdicts(app: &TestApp, district: &str, year: i32) -> Vec<Value> {
    app.gql_as(
        Role::CityFinance,
        "query($d: String!, $y: Int!) { claim(districtCode: $d, fiscalYear: $y) {
           verdicts(first: 100) { nodes { lineId eligible cut decidedAt } } } }",
        json!({ "d": district, "y": year }),
    )
    .await
    .data()["claim"]["verdicts"]["nodes"]
        .as_array()
        .unwrap()
        .clone()
}
