//! Imports as clerks' files really are: GBK and UTF-16 CSVs, XLSX workbooks, HTML forms, the
//! values a spreadsheet writes, every row error at once, dry runs and the templates.

use std::io::Read;

use hq_api::auth::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, register_enterprise, spawn_app};

const CODE_A: &str = "91330100716105852F";
const CODE_B: &str = "91110000600037341L";
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

async fn upload(app: &TestApp, query: &str, content_type: &str, body: Vec<u8>) -> (u16, Value) {
    let token = app.token(Role::District, Some("330106"));
    let response = app
        .client
        .post(format!(
            "{}/imports/payments/330106/2024{query}",
            app.address
        ))
        .bearer_auth(token)
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn line_count(app: &TestApp) -> u64 {
    let res = app
        .gql_as(
            Role::CityFinance,
            "{ paymentLines(districtCode: \"330106\", fiscalYear: 2024) { totalCount nodes { voucherNo amount basis paymentDate } } }",
            json!({}),
        )
        .await;
    res.data()["paymentLines"]["totalCount"].as_u64().unwrap()
}

async fn two_enterprises(app: &TestApp) {
    register_enterprise(app, CODE_A, "杭州甲总部有限公司", "330106").await;
    register_enterprise(app, CODE_B, "杭州乙总部有限公司", "330106").await;
}

/// The clerk's file as Excel on Chinese Windows saves it: GBK bytes.
fn clerks_gbk() -> Vec<u8> {
    let text = clerks_csv();
    let (gbk, _, lossy) = encoding_rs::GBK.encode(&text);
    assert!(!lossy);
    gbk.into_owned()
}

/// A clerk's file as Excel on Chinese Windows saves "CSV (逗号分隔)": GBK, CRLF, a title row,
/// 序号 and 备注 columns, ¥ amounts with separators, Chinese dates.
fn clerks_csv() -> String {
    format!(
        "2024年度总部企业租房补助拨付明细,,,,,,,,,,\r\n\
         序号,统一社会信用代码,企业名称,补助类型,补助年度,合同编号,计算基数,补助金额,拨付日期,凭证号,备注\r\n\
         1,{CODE_A},杭州甲总部有限公司,租房,2024,ZL-001,\"￥1,000,000.00\",\"￥300,000.00\",2024年6月30日,记-001,\r\n\
         2,{CODE_B},杭州乙总部有限公司,租房补助,2024年,ZL-002,800000,\"120,000.50\",2024/7/1,记-002,第二笔\r\n\
         3,{CODE_B},杭州乙总部有限公司,租房,2024,ZL-002,800000,1000.00,2024.7.2,记-003,\r\n"
    )
}

#[tokio::test]
async fn a_gbk_csv_as_excel_saves_it_is_detected_and_imported() {
    let app = spawn_app().await;
    two_enterprises(&app).await;
    let gbk = clerks_gbk();
    assert!(
        std::str::from_utf8(&gbk).is_err(),
        "the fixture is not UTF-8"
    );
    // What a browser labels a .csv on Windows.
    let (status, body) = upload(&app, "", "application/vnd.ms-excel", gbk.to_vec()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["encoding"], "GB18030");
    assert_eq!(body["created"], 3);
    assert_eq!(body["createdAmount"], "421000.50");
    assert_eq!(line_count(&app).await, 3);

    // The same file in UTF-16 (Excel's "Unicode 文本": tab-separated) changes nothing.
    let mut utf16 = vec![0xFF, 0xFE];
    let tabbed = clerks_csv()
        .replace("\"￥1,000,000.00\"", "¥1000000.00")
        .replace("\"￥300,000.00\"", "300000")
        .replace("\"120,000.50\"", "120000.5")
        .replace(',', "\t");
    for unit in tabbed.encode_utf16() {
        utf16.extend_from_slice(&unit.to_le_bytes());
    }
    let (status, body) = upload(&app, "", "text/csv", utf16).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["encoding"], "UTF-16LE");
    assert_eq!(body["unchanged"], 3);
    assert_eq!(body["created"], 0);
}

/// A clerk's own workbook: a title row, date cells, numeric amounts and years, the credit code
/// as text, a second sheet named in the query.
fn clerks_workbook() -> Vec<u8> {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let mut book = Workbook::new();
    book.add_worksheet().set_name("封面").unwrap();
    let sheet = book.add_worksheet();
    sheet.set_name("6月拨付").unwrap();
    let date = Format::new().set_num_format("yyyy\"年\"m\"月\"d\"日\"");
    let money = Format::new().set_num_format("¥#,##0.00");
    sheet.write_string(0, 0, "2024年6月租房补助拨付表").unwrap();
    for (col, title) in [
        "统一社会信用代码",
        "补助类型",
        "补助年度",
        "合同编号",
        "计算基数",
        "补助金额",
        "拨付日期",
        "凭证号",
    ]
    .iter()
    .enumerate()
    {
        sheet.write_string(2, col as u16, *title).unwrap();
    }
    let paid = ExcelDateTime::from_ymd(2024, 6, 30).unwrap();
    for (row, (code, basis, amount, voucher)) in [
        (CODE_A, 1_000_000.0, 300_000.0, "X-1"),
        // 0.1 + 0.2 as a formula would leave it: the cell shows 0.3.
        (CODE_B, 10.0, 0.1 + 0.2, "X-2"),
    ]
    .iter()
    .enumerate()
    {
        let row = row as u32 + 3;
        sheet.write_string(row, 0, *code).unwrap();
        sheet.write_string(row, 1, "租房").unwrap();
        sheet.write_number(row, 2, 2024).unwrap();
        sheet.write_string(row, 3, "ZL-9").unwrap();
        sheet
            .write_number_with_format(row, 4, *basis, &money)
            .unwrap();
        sheet
            .write_number_with_format(row, 5, *amount, &money)
            .unwrap();
        sheet
            .write_datetime_with_format(row, 6, &paid, &date)
            .unwrap();
        sheet.write_string(row, 7, *voucher).unwrap();
    }
    book.save_to_buffer().unwrap()
}

#[tokio::test]
async fn an_xlsx_workbook_is_imported_from_its_first_or_its_named_sheet() {
    let app = spawn_app().await;
    two_enterprises(&app).await;
    let (status, body) = upload(&app, "", XLSX, clerks_workbook()).await;
    assert_eq!(status, 400, "the cover sheet has no header: {body}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "file");

    let (status, body) = upload(&app, "?sheet=%E5%85%AD", XLSX, clerks_workbook()).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "sheet");

    let query = "?sheet=6%E6%9C%88%E6%8B%A8%E4%BB%98"; // 6月拨付
    let (status, body) = upload(&app, query, XLSX, clerks_workbook()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["created"], 2);
    assert_eq!(body["createdAmount"], "300000.30");
    let res = app
        .gql_as(
            Role::CityFinance,
            "{ paymentLines(districtCode: \"330106\", fiscalYear: 2024) { nodes { voucherNo amount paymentDate } } }",
            json!({}),
        )
        .await;
    let nodes = &res.data()["paymentLines"]["nodes"];
    assert!(
        nodes
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["paymentDate"] == "2024-06-30"),
        "{nodes}"
    );
}

fn form(file_name: &str, content_type: &str, file: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----hqFormBoundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nJune\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
             Content-Type: {content_type}\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test]
async fn an_html_form_upload_is_accepted_and_another_media_type_is_not() {
    let app = spawn_app().await;
    two_enterprises(&app).await;
    let gbk = clerks_gbk();
    let (content_type, body) = form("6月.csv", "application/vnd.ms-excel", &gbk);
    let (status, answer) = upload(&app, "", &content_type, body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["created"], 3);

    let (content_type, body) = form("6月.xlsx", XLSX, &clerks_workbook());
    let (status, answer) = upload(
        &app,
        "?sheet=6%E6%9C%88%E6%8B%A8%E4%BB%98",
        &content_type,
        body,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["created"], 2);

    let (status, _) = upload(&app, "", "application/json", b"{}".to_vec()).await;
    assert_eq!(status, 415);
    let (status, answer) = upload(
        &app,
        "",
        "multipart/form-data; boundary=x",
        b"--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--x\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\n2\r\n--x--\r\n".to_vec(),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["errors"][0]["extensions"]["field"], "file");
}

/// One file with every kind of bad value, row by row.
fn bad_file() -> String {
    format!(
        "统一社会信用代码,补助类型,补助年度,合同编号,计算基数,补助金额,拨付日期,凭证号\n\
         {CODE_A},租房,2024,L-1,100.00,30.00,2024-06-30,V-1\n\
         9.13301E+17,租房,2024,L-1,100.00,30.00,2024-06-30,V-2\n\
         {CODE_A},租赁,2024,L-1,100.00,30.00,2024-06-30,V-3\n\
         {CODE_A},租房,24,L-1,100.00,30.00,2024-06-30,V-4\n\
         {CODE_A},租房,2024,L-1,\"1,00\",30.00,2024-06-30,V-5\n\
         {CODE_A},租房,2024,L-1,100.00,30.001,2024-06-30,V-6\n\
         {CODE_A},租房,2024,L-1,100.00,30.00,6/30/2024,V-7\n\
         {CODE_A},租房,2024,L-1,100.00,30.00,2024-06-31,V-8\n\
         {CODE_B},租房,2024,L-1,100.00,30.00,2024-06-30,V-9\n\
         {CODE_A},租房,2024,L-1,100.00,30.00,2023-12-31,V-10\n\
         {CODE_A},租房,2024,L-1,100.00,31.00,2024-06-30,V-OLD\n\
         合计,,,,,,,\n"
    )
}

#[tokio::test]
async fn every_bad_row_of_a_file_is_answered_at_once_and_nothing_is_written() {
    let app = spawn_app().await;
    // CODE_B is not registered.
    register_enterprise(&app, CODE_A, "杭州甲总部有限公司", "330106").await;
    // V-OLD was reported before with 30.00: the file's 31.00 is a conflict naming the amount.
    let old = format!(
        "creditCode,kind,subsidyYear,contractNo,basis,amount,paymentDate,voucherNo\n\
         {CODE_A},RENT,2024,L-1,100.00,30.00,2024-06-30,V-OLD\n"
    );
    let (status, _) = upload(&app, "", "text/csv", old.into_bytes()).await;
    assert_eq!(status, 200);

    let (status, body) = upload(&app, "", "text/csv", bad_file().into_bytes()).await;
    assert_eq!(status, 400, "{body}");
    let errors = body["errors"].as_array().unwrap();
    let found: Vec<(u64, &str, &str)> = errors
        .iter()
        .map(|e| {
            let x = &e["extensions"];
            (
                x["row"].as_u64().unwrap(),
                x["column"].as_str().unwrap_or(""),
                x["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            (3, "统一社会信用代码", "CREDIT_CODE_AS_NUMBER"),
            (4, "补助类型", "BAD_KIND"),
            (5, "补助年度", "BAD_YEAR"),
            (6, "计算基数", "BAD_AMOUNT"),
            (7, "补助金额", "BAD_AMOUNT"),
            (8, "拨付日期", "AMBIGUOUS_DATE"),
            (9, "拨付日期", "BAD_DATE"),
            (10, "统一社会信用代码", "UNREGISTERED_ENTERPRISE"),
            (11, "拨付日期", "PAYMENT_OUTSIDE_YEAR"),
            (12, "凭证号", "VOUCHER_CONFLICT"),
            (13, "统一社会信用代码", "TOTAL_ROW"),
        ]
    );
    for e in errors {
        let message = e["message"].as_str().unwrap();
        assert!(
            message.contains('第') || message.contains('须'),
            "{message}"
        );
        assert!(!e["extensions"]["messageEn"].as_str().unwrap().is_empty());
    }
    assert!(
        errors[7]["message"]
            .as_str()
            .unwrap()
            .contains("未在企业名录")
    );
    let conflict = &errors[9];
    assert_eq!(conflict["extensions"]["code"], "CONFLICT");
    assert!(
        conflict["message"]
            .as_str()
            .unwrap()
            .contains("补助金额: 30.00 → 31.00"),
        "{conflict}"
    );
    assert_eq!(errors[8]["extensions"]["field"], "row 11 拨付日期");
    assert!(errors[10]["message"].as_str().unwrap().contains("合计行"));
    assert_eq!(line_count(&app).await, 1, "nothing of the file is written");

    // A dry run says the same, and which rows would be created.
    let (status, body) = upload(&app, "?dryRun=true", "text/csv", bad_file().into_bytes()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["dryRun"], true);
    assert_eq!(body["rows"]["created"], json!([2]));
    assert_eq!(body["refused"], 11);
    assert_eq!(body["errors"].as_array().unwrap().len(), 11);
    assert_eq!(line_count(&app).await, 1);

    let (status, body) = upload(&app, "?dryRun=yes", "text/csv", bad_file().into_bytes()).await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["extensions"]["field"], "dryRun");
}

#[tokio::test]
async fn a_dry_run_answers_what_would_be_created_or_unchanged_and_writes_nothing() {
    let app = spawn_app().await;
    two_enterprises(&app).await;
    let gbk = clerks_gbk();
    let (status, body) = upload(&app, "?dryRun=true", "text/csv", gbk.to_vec()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["rows"]["created"], json!([3, 4, 5]));
    assert_eq!(body["createdAmount"], "421000.50");
    assert_eq!(body["errors"], json!([]));
    assert_eq!(line_count(&app).await, 0);

    let (status, _) = upload(&app, "", "text/csv", gbk.to_vec()).await;
    assert_eq!(status, 200);
    let (_, body) = upload(&app, "?dryRun=true", "text/csv", gbk.to_vec()).await;
    assert_eq!(body["rows"]["unchanged"], json!([3, 4, 5]));
    assert_eq!(body["created"], 0);
    assert_eq!(line_count(&app).await, 3);
}

#[tokio::test]
async fn more_than_a_thousand_bad_rows_are_answered_as_the_first_thousand() {
    let app = spawn_app().await;
    two_enterprises(&app).await;
    let mut csv = String::from(
        "统一社会信用代码,补助类型,补助年度,合同编号,计算基数,补助金额,拨付日期,凭证号\n",
    );
    for i in 0..1_200 {
        csv.push_str(&format!("{CODE_A},租房,2024,L-1,100,30,someday,V-{i}\n"));
    }
    let (status, body) = upload(&app, "", "text/csv", csv.into_bytes()).await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"].as_array().unwrap().len(), 1_000);
    assert_eq!(body["truncated"], true);
    assert_eq!(body["errors"][999]["extensions"]["row"], 1_001);
}

#[tokio::test]
async fn the_templates_need_no_token_and_read_back_as_their_example() {
    let app = spawn_app().await;
    register_enterprise(&app, CODE_A, "杭州甲总部有限公司", "330106").await;
    let csv = app.get("/imports/payments/template.csv").await;
    assert_eq!(csv.status().as_u16(), 200);
    let csv = csv.bytes().await.unwrap();
    assert!(csv.starts_with("\u{feff}统一社会信用代码,补助类型".as_bytes()));
    assert!(csv.ends_with(b"\r\n"));

    let xlsx = app.get("/imports/payments/template.xlsx").await;
    assert_eq!(xlsx.status().as_u16(), 200);
    let xlsx = xlsx.bytes().await.unwrap().to_vec();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(xlsx.clone())).unwrap();
    let mut sheet = String::new();
    archive
        .by_name("xl/worksheets/sheet1.xml")
        .unwrap()
        .read_to_string(&mut sheet)
        .unwrap();
    assert!(
        sheet.contains("<dataValidation ") && sheet.contains("租房,购房"),
        "a dropdown for 补助类型"
    );

    let (status, body) = upload(&app, "?dryRun=true", XLSX, xlsx).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["rows"]["created"], json!([2]));
    assert_eq!(body["createdAmount"], "300000.00");
    let (status, body) = upload(&app, "", "text/csv", csv.to_vec()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["created"], 1);

    assert_eq!(
        app.get("/imports/payments/template.ods")
            .await
            .status()
            .as_u16(),
        404
    );
}
