//! The settlement workbook of the demo's approved 2023: its totals are the API's, read back as
//! written (cached results) and, when LibreOffice is installed, recalculated by it (the workbook
//! converted headless to CSV, one file per sheet, and to PDF).

use std::path::Path;
use std::process::Command;

use calamine::{Data, Reader, Xlsx};
use hq_api::auth::Role;
use hq_api::services::workbook::{LINES_SHEET, SUMMARY_HEADER_ROW, SUMMARY_SHEET};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app, test_settings};

async fn app_with_demo() -> TestApp {
    let app = spawn_app().await;
    let db = hq_api::db::connect(&test_settings(&app.database_url, &app.secret))
        .await
        .unwrap();
    hq_api::demo::load(&db).await.unwrap();
    app
}

fn dec(value: &Value) -> Decimal {
    value.as_str().unwrap().parse().unwrap()
}

/// A spreadsheet number as the two-decimal amount it shows.
fn shown(x: f64) -> Decimal {
    format!("{x:.2}").parse().unwrap()
}

/// The summary's columns of the API's totals, by header.
const TOTALS: [(&str, &str); 7] = [
    ("申报拨付额", "reported"),
    ("认定金额", "eligible"),
    ("核减金额", "cut"),
    ("市级补助额", "reimbursement"),
    ("核定补助额", "granted"),
    ("调整额", "adjustments"),
    ("应拨付净额", "netPayable"),
];

/// The LibreOffice binary on `PATH`, if any.
pub(crate) fn libreoffice() -> Option<&'static str> {
    ["soffice", "libreoffice"].into_iter().find(|name| {
        Command::new(name)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// Converts `file` in `dir` headless with a profile of its own that recalculates every formula
/// of an XLSX file on load (LibreOffice's default is to trust the cached results).
pub(crate) fn convert(office: &str, dir: &Path, file: &Path, to: &str) {
    let profile = dir.join("profile");
    std::fs::create_dir_all(profile.join("user")).unwrap();
    std::fs::write(
        profile.join("user/registrymodifications.xcu"),
        r#"<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"#,
    )
    .unwrap();
    let output = Command::new(office)
        .arg(format!(
            "-env:UserInstallation=file://{}",
            profile.display()
        ))
        .args(["--headless", "--norestore", "--convert-to", to, "--outdir"])
        .arg(dir)
        .arg(file)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{office} --convert-to {to}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

pub(crate) fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes.as_slice())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

/// An amount as LibreOffice shows it under `#,##0.00` (`-1,234.50`).
pub(crate) fn amount(cell: &str) -> Decimal {
    cell.replace(',', "")
        .parse()
        .unwrap_or_else(|_| panic!("{cell:?} is not an amount"))
}

#[tokio::test]
async fn the_demo_2023_workbook_gives_the_api_totals_as_written_and_as_recalculated() {
    // Arrange: the demo's 2023, settled and approved.
    let app = app_with_demo().await;
    let res = app
        .gql_as(
            Role::CityFinance,
            "{ settlement(fiscalYear: 2023) { status auditHeadAtApproval
                totals { reported eligible cut reimbursement granted adjustments netPayable } } }",
            json!({}),
        )
        .await;
    let settlement = res.data()["settlement"].clone();
    assert_eq!(settlement["status"], "APPROVED");
    let totals = &settlement["totals"];
    let head = settlement["auditHeadAtApproval"]
        .as_str()
        .unwrap()
        .to_string();

    // Act
    let response = app
        .client
        .get(format!("{}/exports/settlements/2023.xlsx", app.address))
        .bearer_auth(app.token_for(Role::CityFinance))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let bytes = response.bytes().await.unwrap().to_vec();

    // Assert, as written: the totals row's formulas cache the API's totals.
    let mut xlsx: Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.clone())).unwrap();
    let summary = xlsx.worksheet_range(SUMMARY_SHEET).unwrap();
    let formulas = xlsx.worksheet_formula(SUMMARY_SHEET).unwrap();
    let header: Vec<String> = (0..summary.width() as u32)
        .map(|c| {
            summary
                .get_value((SUMMARY_HEADER_ROW, c))
                .map(ToString::to_string)
                .unwrap_or_default()
        })
        .collect();
    let column = |name: &str| header.iter().position(|h| h == name).unwrap() as u32;
    let total_row = SUMMARY_HEADER_ROW + 1 + 13;
    assert_eq!(
        summary.get_value((total_row, 0)).map(ToString::to_string),
        Some("合计".to_string())
    );
    let head_row = (0..SUMMARY_HEADER_ROW)
        .find(|&r| {
            summary.get_value((r, 0)).map(ToString::to_string) == Some("批准时审计链头".into())
        })
        .expect("an approved settlement shows the audit head");
    assert_eq!(summary.get_value((head_row, 1)), Some(&Data::String(head)));
    for (name, api) in TOTALS {
        let at = (total_row, column(name));
        assert!(
            formulas.get_value(at).unwrap().starts_with("SUM("),
            "{name}: a formula"
        );
        let Some(Data::Float(cached)) = summary.get_value(at) else {
            panic!("{name}: no cached number");
        };
        assert_eq!(shown(*cached), dec(&totals[api]), "{name} as cached");
        for r in SUMMARY_HEADER_ROW + 1..total_row {
            assert!(
                matches!(summary.get_value((r, column(name))), Some(Data::Float(_))),
                "{name}, row {r}: a number"
            );
        }
    }
    let lines = xlsx.worksheet_range(LINES_SHEET).unwrap();
    assert!(lines.height() > 100, "the demo's 2023 lines");

    // Assert, as recalculated by a spreadsheet engine.
    let Some(office) = libreoffice() else {
        println!("LibreOffice (soffice) is not on PATH: the recalculation check is skipped");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("settlement-2023.xlsx");
    std::fs::write(&file, &bytes).unwrap();
    // Every sheet, values as shown (the 12th token, -1: one file per sheet).
    convert(
        office,
        dir.path(),
        &file,
        "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false,-1",
    );
    let rows = csv_rows(
        &dir.path()
            .join(format!("settlement-2023-{SUMMARY_SHEET}.csv")),
    );
    let header_at = SUMMARY_HEADER_ROW as usize;
    let total = rows
        .iter()
        .find(|r| r.first().map(String::as_str) == Some("合计"))
        .expect("a total row");
    for (name, api) in TOTALS {
        let at = rows[header_at].iter().position(|h| h == name).unwrap();
        assert_eq!(amount(&total[at]), dec(&totals[api]), "{name} recalculated");
        let sum: Decimal = rows[header_at + 1..header_at + 14]
            .iter()
            .map(|r| amount(&r[at]))
            .sum();
        assert_eq!(sum, dec(&totals[api]), "{name}: Σ districts as shown");
    }
    let rows = csv_rows(
        &dir.path()
            .join(format!("settlement-2023-{LINES_SHEET}.csv")),
    );
    let header = &rows[2];
    let total = rows.last().unwrap();
    assert_eq!(total[0], "合计");
    for (name, api) in [
        ("拨付金额", "reported"),
        ("认定金额", "eligible"),
        ("核减金额", "cut"),
    ] {
        let at = header.iter().position(|h| h == name).unwrap();
        assert_eq!(
            amount(&total[at]),
            dec(&totals[api]),
            "明细 {name} recalculated"
        );
    }
    convert(office, dir.path(), &file, "pdf");
    let pdf = std::fs::read(dir.path().join("settlement-2023.pdf")).unwrap();
    assert!(pdf.starts_with(b"%PDF"), "a PDF");
}
