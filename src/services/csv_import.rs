//! Bulk import of payment lines from a clerk's own file, as Excel and WPS save it:
//!
//! - a CSV in UTF-8 (with or without a byte-order mark), in GB18030/GBK (the default of
//!   "CSV (逗号分隔)" on Chinese Windows; detected when the bytes are not UTF-8), or in UTF-16
//!   with its byte-order mark ("Unicode 文本", tab-separated); commas or tabs;
//! - an XLSX (or legacy XLS) workbook: its first sheet, or the one named.
//!
//! A title row above the header is skipped; the header is the first row naming at least three
//! known columns (Chinese or English). Cells are read as a clerk writes them: `¥`/`￥` and
//! thousands separators in amounts; `2025-03-01`, `2025/3/1`, `2025.3.1`, `2025年3月1日`,
//! `20250301`, a spreadsheet's date cell or its day number in dates. Anything ambiguous
//! (`3/1/2025`, `25/3/1`, a grouping such as `1,23`) is refused, never guessed. A total row
//! (合计, 总计, 小计) is refused with its own message: the service sums the lines itself, and a
//! row silently dropped could hide a mistake in the file's own total.
//!
//! Every row error is answered at once (up to [`MAX_ROW_ERRORS`]), each naming the row as the
//! spreadsheet numbers it, the column as the file spells it, a message in Chinese and a stable
//! English code. The rows then go through the same path as `reportPayments` (one transaction,
//! all or nothing).

use std::collections::HashMap;
use std::io::{Cursor, Read, Seek};

use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;

use crate::error::{AppError, AppResult};
use crate::policy::dates;
use crate::policy::money::exact_decimal;
use crate::policy::reconciliation::PaymentKind;
use crate::services::payments::{LineError, LineInput};

/// Most row errors answered for one file; the answer says when there were more.
pub const MAX_ROW_ERRORS: usize = 1_000;

/// Largest uncompressed content of an uploaded workbook (its parts summed), so that a small
/// compressed upload cannot unfold into gigabytes.
const MAX_WORKBOOK_BYTES: u64 = 512 * 1024 * 1024;

/// Rows searched for the header (a title and a blank row or two may come first).
const HEADER_SEARCH_ROWS: usize = 10;

/// The columns of a payment line and the header names accepted for each (case-insensitive,
/// spaces, underscores, hyphens and brackets ignored). The first name of each is the English
/// API name, the second the template's Chinese header.
const COLUMNS: [(Column, &[&str]); 9] = [
    (
        Column::CreditCode,
        &["creditCode", "统一社会信用代码", "信用代码"],
    ),
    (Column::Kind, &["kind", "补助类型", "类型"]),
    (
        Column::SubsidyYear,
        &["subsidyYear", "补助年度", "认定年度"],
    ),
    (
        Column::ContractNo,
        &["contractNo", "合同编号", "contractNumber", "合同号"],
    ),
    (
        Column::Basis,
        &["basis", "计算基数", "实际支付租金成交金额", "基数"],
    ),
    (
        Column::TransactionDate,
        &["transactionDate", "成交日期", "购房日期"],
    ),
    (Column::Amount, &["amount", "补助金额", "拨付金额", "金额"]),
    (
        Column::PaymentDate,
        &["paymentDate", "拨付日期", "支付日期"],
    ),
    (
        Column::VoucherNo,
        &["voucherNo", "凭证号", "voucherNumber", "凭证编号"],
    ),
];

/// Columns clerks keep beside the data, read by nobody: a row number, the enterprise's name
/// (the credit code identifies it), a remark.
const IGNORED: [&str; 6] = ["序号", "企业名称", "备注", "说明", "no", "remark"];

/// The template's columns: Chinese header, English name, what goes in, an example.
pub const TEMPLATE: [(&str, &str, &str, &str); 9] = [
    (
        "统一社会信用代码",
        "creditCode",
        "18位，按文本填写",
        "91330100716105852F",
    ),
    (
        "补助类型",
        "kind",
        "租房 或 购房（RENT / PURCHASE）",
        "租房",
    ),
    ("补助年度", "subsidyYear", "认定年度，四位数字", "2024"),
    (
        "合同编号",
        "contractNo",
        "租赁或购房合同编号",
        "ZL-2024-001",
    ),
    (
        "计算基数",
        "basis",
        "租房：实际支付租金；购房：成交价（元）",
        "1,000,000.00",
    ),
    ("成交日期", "transactionDate", "仅购房填写", ""),
    ("补助金额", "amount", "本次拨付金额（元）", "300,000.00"),
    (
        "拨付日期",
        "paymentDate",
        "属于导入的财政年度",
        "2024-06-30",
    ),
    ("凭证号", "voucherNo", "本区唯一", "记-2024-001"),
];

/// A column of a payment line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    /// 统一社会信用代码.
    CreditCode,
    /// 补助类型.
    Kind,
    /// 补助年度.
    SubsidyYear,
    /// 合同编号.
    ContractNo,
    /// 计算基数.
    Basis,
    /// 成交日期.
    TransactionDate,
    /// 补助金额.
    Amount,
    /// 拨付日期.
    PaymentDate,
    /// 凭证号.
    VoucherNo,
}

impl Column {
    /// The API's name of the column (`paymentDate`).
    pub fn name(self) -> &'static str {
        COLUMNS
            .iter()
            .find(|(c, _)| *c == self)
            .map_or("", |(_, names)| names[0])
    }

    /// The template's Chinese header (`拨付日期`).
    pub fn chinese(self) -> &'static str {
        COLUMNS
            .iter()
            .find(|(c, _)| *c == self)
            .map_or("", |(_, names)| names[1])
    }

    fn of_field(field: &str) -> Option<Column> {
        COLUMNS.iter().map(|(c, _)| *c).find(|c| c.name() == field)
    }
}

fn normalise(header: &str) -> String {
    header
        .trim()
        .chars()
        .filter(|c| {
            !c.is_whitespace()
                && !matches!(
                    c,
                    '_' | '-' | '（' | '）' | '(' | ')' | '/' | '、' | '*' | '＊'
                )
        })
        .flat_map(char::to_lowercase)
        .collect()
}

fn column_of(header: &str) -> Option<Column> {
    let key = normalise(header);
    COLUMNS
        .iter()
        .find(|(_, names)| names.iter().any(|n| normalise(n) == key))
        .map(|(c, _)| *c)
}

/// One cell of a clerk's file.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Nothing.
    Empty,
    /// Text (every CSV cell; an XLSX text cell).
    Text(String),
    /// A spreadsheet number.
    Number(f64),
    /// A spreadsheet date cell: its day number (1900 date system) with any time as a fraction.
    Date(f64),
}

impl Cell {
    fn text(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(t) => t.trim().to_string(),
            Cell::Number(n) | Cell::Date(n) => n.to_string(),
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(t) => t.trim().is_empty(),
            _ => false,
        }
    }
}

/// A file as rows of cells, each with its row number as the spreadsheet shows it (1-based).
#[derive(Debug, Clone, Default)]
pub struct Grid {
    /// The rows, in order: (row number, cells).
    pub rows: Vec<(usize, Vec<Cell>)>,
    /// How the text was decoded (`UTF-8`, `GB18030`, `UTF-16LE`, …; `XLSX` for a workbook).
    pub encoding: &'static str,
}

/// Whether `bytes` are a workbook (a ZIP container or an OLE compound file) rather than text.
pub fn is_workbook(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1")
}

/// Reads an uploaded file: a workbook if its bytes say so, else CSV text.
///
/// # Errors
/// `BAD_USER_INPUT` (field `file` or `sheet`) for text in no known encoding, a workbook that
/// cannot be read, or a sheet that does not exist.
pub fn read_file(bytes: &[u8], sheet: Option<&str>) -> AppResult<Grid> {
    if is_workbook(bytes) {
        read_workbook(bytes, sheet)
    } else {
        read_csv(bytes)
    }
}

/// Decodes text: a byte-order mark decides (UTF-8, UTF-16LE, UTF-16BE); without one, UTF-8 if
/// the bytes are valid UTF-8, else GB18030 (a superset of GBK and GB2312) if they are valid
/// GB18030. Nothing is replaced: a byte that fits neither is refused.
///
/// # Errors
/// `BAD_USER_INPUT` on `file` naming the encodings tried.
pub fn decode(bytes: &[u8]) -> AppResult<(String, &'static str)> {
    let refused = |encoding: &str| {
        AppError::bad_input(
            "file",
            format!("文件不是有效的 {encoding} 文本（the file is not valid {encoding} text）"),
        )
    };
    if let Some((encoding, bom)) = encoding_rs::Encoding::for_bom(bytes) {
        return encoding
            .decode_without_bom_handling_and_without_replacement(&bytes[bom..])
            .map(|text| (text.into_owned(), encoding.name()))
            .ok_or_else(|| refused(encoding.name()));
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok((text.to_string(), "UTF-8"));
    }
    encoding_rs::GB18030
        .decode_without_bom_handling_and_without_replacement(bytes)
        .map(|text| (text.into_owned(), "GB18030"))
        .ok_or_else(|| refused("UTF-8 或 GB18030/GBK"))
}

/// Reads CSV text (comma- or tab-separated, as its first line says) into a grid whose row
/// numbers are the spreadsheet's: a quoted line break does not start a new row.
///
/// # Errors
/// As [`decode`]; `BAD_USER_INPUT` for a malformed record, naming its row.
pub fn read_csv(bytes: &[u8]) -> AppResult<Grid> {
    let (text, encoding) = decode(bytes)?;
    let first_line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let delimiter = if first_line.matches('\t').count() > first_line.matches(',').count() {
        b'\t'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    // A record's row is its line (counted from its byte offset: the reader skips blank lines
    // without counting them) less the line breaks inside quoted cells of earlier records, which
    // a spreadsheet does not count as rows.
    let mut scanned = 0usize;
    let mut line_breaks = 0usize;
    let mut embedded_breaks = 0usize;
    let mut row_at = |byte: usize, embedded: usize| {
        // The reader's offset of a record after a blank line is that of the blank line.
        let mut byte = byte.min(text.len());
        while matches!(text.as_bytes().get(byte), Some(b'\n' | b'\r')) {
            byte += 1;
        }
        if byte > scanned {
            line_breaks += text.as_bytes()[scanned..byte]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            scanned = byte;
        }
        (line_breaks + 1).saturating_sub(embedded)
    };
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                let row = row_at(
                    e.position().map_or(0, |p| p.byte() as usize),
                    embedded_breaks,
                );
                return Err(AppError::bad_input(
                    format!("row {row}"),
                    format!("第{row}行不是有效的 CSV 记录（row {row} is not a valid CSV record）"),
                ));
            }
        };
        let row = row_at(
            record.position().map_or(0, |p| p.byte() as usize),
            embedded_breaks,
        );
        rows.push((
            row,
            record
                .iter()
                .map(|cell| Cell::Text(cell.to_string()))
                .collect(),
        ));
        embedded_breaks += record
            .iter()
            .map(|cell| cell.matches('\n').count())
            .sum::<usize>();
    }
    Ok(Grid { rows, encoding })
}

/// Refuses a workbook whose parts, uncompressed, would exceed [`MAX_WORKBOOK_BYTES`].
fn check_unpacked_size<R: Read + Seek>(reader: R) -> AppResult<()> {
    let unreadable =
        || AppError::bad_input("file", "无法读取该工作簿（the workbook cannot be read）");
    let mut archive = zip::ZipArchive::new(reader).map_err(|_| unreadable())?;
    let mut total = 0u64;
    for i in 0..archive.len() {
        let entry = archive.by_index_raw(i).map_err(|_| unreadable())?;
        total = total.saturating_add(entry.size());
    }
    if total > MAX_WORKBOOK_BYTES {
        return Err(AppError::bad_input(
            "file",
            "工作簿解压后过大（the workbook is too large once unpacked）",
        ));
    }
    Ok(())
}

/// Reads the first sheet of a workbook, or the one named `sheet`.
///
/// # Errors
/// `BAD_USER_INPUT` for a workbook that cannot be read or a sheet that does not exist.
pub fn read_workbook(bytes: &[u8], sheet: Option<&str>) -> AppResult<Grid> {
    use calamine::{Data, Reader};
    if bytes.starts_with(b"PK") {
        check_unpacked_size(Cursor::new(bytes))?;
    }
    let mut workbook = calamine::open_workbook_auto_from_rs(Cursor::new(bytes)).map_err(|_| {
        AppError::bad_input("file", "无法读取该工作簿（the workbook cannot be read）")
    })?;
    let names = workbook.sheet_names();
    let name = match sheet {
        Some(wanted) => names
            .iter()
            .find(|n| n.trim() == wanted.trim())
            .cloned()
            .ok_or_else(|| {
                AppError::bad_input(
                    "sheet",
                    format!(
                        "工作簿中没有名为「{wanted}」的工作表（no sheet named {wanted}; sheets: {}）",
                        names.join(", ")
                    ),
                )
            })?,
        None => names
            .first()
            .cloned()
            .ok_or_else(|| AppError::bad_input("file", "工作簿中没有工作表（no sheet）"))?,
    };
    let range = workbook
        .worksheet_range(&name)
        .map_err(|_| AppError::bad_input("file", "无法读取该工作表（the sheet cannot be read）"))?;
    let (top, _) = range.start().unwrap_or((0, 0));
    let (_, left) = range.start().unwrap_or((0, 0));
    let rows = range
        .rows()
        .enumerate()
        .map(|(i, cells)| {
            let mut row: Vec<Cell> = (0..left).map(|_| Cell::Empty).collect();
            row.extend(cells.iter().map(|cell| match cell {
                Data::Empty => Cell::Empty,
                Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => {
                    Cell::Text(s.clone())
                }
                Data::Int(i) => Cell::Number(*i as f64),
                Data::Float(f) => Cell::Number(*f),
                Data::Bool(b) => Cell::Text(b.to_string()),
                Data::DateTime(d) => Cell::Date(d.as_f64()),
                Data::Error(e) => Cell::Text(format!("#{e:?}")),
            }));
            (top as usize + i + 1, row)
        })
        .collect();
    Ok(Grid {
        rows,
        encoding: "XLSX",
    })
}

/// A row refused, as the clerk is told: the row as the spreadsheet numbers it, the column as
/// the file spells it, a stable English code and the message in Chinese and English.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// The row, 1-based, as the spreadsheet numbers it.
    pub row: usize,
    /// The column's header as the file spells it (none for a whole row).
    pub column: Option<String>,
    /// Stable English code (`BAD_DATE`, `TOTAL_ROW`, …).
    pub reason: &'static str,
    /// In Chinese.
    pub message_zh: String,
    /// In English.
    pub message: String,
    /// Whether the row conflicts with what was reported (`CONFLICT`), not bad input.
    pub conflict: bool,
}

impl RowError {
    /// `row 3 拨付日期`: the `extensions.field` of the answer.
    pub fn field(&self) -> String {
        match &self.column {
            Some(column) => format!("row {} {column}", self.row),
            None => format!("row {}", self.row),
        }
    }

    /// The error the single-error answer gives for this row.
    pub fn into_app_error(self) -> AppError {
        let message = format!("{}: {}", self.field(), self.message);
        if self.conflict {
            AppError::Conflict(message)
        } else {
            AppError::bad_input(self.field(), message)
        }
    }
}

/// The lines read from a file, with where each came from and every row refused.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    /// The lines whose cells could all be read, in file order.
    pub lines: Vec<LineInput>,
    /// The spreadsheet row of each line.
    pub rows: Vec<usize>,
    /// Every cell or row refused while reading (at most [`MAX_ROW_ERRORS`]).
    pub errors: Vec<RowError>,
    /// Whether more errors were found than are kept.
    pub truncated: bool,
    /// The header of each column as the file spells it.
    headers: HashMap<Column, String>,
}

impl Parsed {
    fn refuse(&mut self, error: RowError) {
        if self.errors.len() < MAX_ROW_ERRORS {
            self.errors.push(error);
        } else {
            self.truncated = true;
        }
    }

    /// The file's spelling of a column's header.
    fn header(&self, column: Column) -> String {
        self.headers
            .get(&column)
            .cloned()
            .unwrap_or_else(|| column.chinese().to_string())
    }

    /// A refusal of the service on line `error.index`, located in the file.
    pub fn locate(&self, error: LineError) -> RowError {
        let row = self.rows.get(error.index).copied().unwrap_or(0);
        let column = Column::of_field(error.field).map(|c| self.header(c));
        let (message_zh, message) = match &column {
            Some(column) => (
                format!("第{row}行「{column}」{}", error.message_zh),
                format!("row {row}, column {column}: {}", error.message),
            ),
            None => (
                format!("第{row}行{}", error.message_zh),
                format!("row {row}: {}", error.message),
            ),
        };
        RowError {
            row,
            column,
            reason: error.reason,
            message_zh,
            message,
            conflict: error.conflict,
        }
    }

    /// Adds the service's refusals, located, after the reading errors; sorted by row.
    pub fn merge(&mut self, refused: Vec<LineError>) {
        for error in refused {
            let located = self.locate(error);
            self.refuse(located);
        }
        self.errors.sort_by_key(|e| e.row);
    }
}

/// What a date cell must be.
const DATE_RULE_ZH: &str = "须为日期，如 2025-03-01、2025/3/1、2025.3.1 或 2025年3月1日，\
     在 1900-01-01 至 2099-12-31 之间";
const DATE_RULE: &str = "must be a date such as 2025-03-01, 2025/3/1, 2025.3.1 or 2025年3月1日, \
     from 1900-01-01 to 2099-12-31";

/// What an amount cell must be.
const AMOUNT_RULE_ZH: &str =
    "须为以元为单位的金额，如 1234.50、1,234.50 或 ¥1,234.50，至多两位小数";
const AMOUNT_RULE: &str = "must be an amount in yuan such as 1234.50, 1,234.50 or ¥1,234.50, \
     with at most two decimals";

/// How a date cell reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DateReading {
    Day(NaiveDate),
    /// Day and month order, or the century, cannot be known.
    Ambiguous,
    Invalid,
}

/// The day of a spreadsheet day number (1900 date system; from 61 on, past the fictitious
/// 1900-02-29), if it is a whole day.
fn serial_day(serial: f64) -> Option<NaiveDate> {
    if serial.fract() != 0.0 || !(61.0..=2_958_465.0).contains(&serial) {
        return None;
    }
    NaiveDate::from_ymd_opt(1899, 12, 30)?.checked_add_days(Days::new(serial as u64))
}

fn ymd(y: &str, m: &str, d: &str) -> DateReading {
    let number = |s: &str, max_len: usize| {
        (!s.is_empty() && s.len() <= max_len && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u32>().ok())
            .flatten()
    };
    match (number(y, 4), number(m, 2), number(d, 2)) {
        (Some(y), Some(m), Some(d)) if y >= 1000 => {
            NaiveDate::from_ymd_opt(y as i32, m, d).map_or(DateReading::Invalid, DateReading::Day)
        }
        _ => DateReading::Invalid,
    }
}

/// Reads a date as clerks write it; a midnight time after it (`2025/3/1 0:00`) is allowed.
fn read_date_text(text: &str) -> DateReading {
    let mut text = text.trim();
    for midnight in [" 0:00:00", " 00:00:00", " 0:00", " 00:00", "T00:00:00"] {
        if let Some(day) = text.strip_suffix(midnight) {
            text = day.trim();
        }
    }
    if let Some(rest) = text.strip_suffix('日')
        && let Some((y, rest)) = rest.split_once('年')
        && let Some((m, d)) = rest.split_once('月')
    {
        return ymd(y.trim(), m.trim(), d.trim());
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return match text.len() {
            8 => ymd(&text[0..4], &text[4..6], &text[6..8]),
            // A day number, as a spreadsheet writes a date cell formatted as a number.
            5 => text
                .parse::<f64>()
                .ok()
                .and_then(serial_day)
                .map_or(DateReading::Invalid, DateReading::Day),
            _ => DateReading::Invalid,
        };
    }
    for separator in ['-', '/', '.'] {
        let parts: Vec<&str> = text.split(separator).collect();
        if parts.len() != 3 {
            continue;
        }
        if !parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit()))
        {
            return DateReading::Invalid;
        }
        return match (parts[0].len(), parts[2].len()) {
            (4, 1..=2) => ymd(parts[0], parts[1], parts[2]),
            // 3/1/2025 (March or January?) and 25/3/1 (which century, which order?).
            (1..=2, 4) | (1..=2, 1..=2) => DateReading::Ambiguous,
            _ => DateReading::Invalid,
        };
    }
    DateReading::Invalid
}

fn read_date(cell: &Cell) -> DateReading {
    let reading = match cell {
        Cell::Date(serial) | Cell::Number(serial) => {
            serial_day(*serial).map_or(DateReading::Invalid, DateReading::Day)
        }
        Cell::Text(text) => read_date_text(text),
        Cell::Empty => DateReading::Invalid,
    };
    match reading {
        DateReading::Day(day) if dates::within_range(day).is_err() => DateReading::Invalid,
        other => other,
    }
}

/// Whether `digits` is a valid thousands grouping: `1,234,567` but not `1,23` or `,123`.
fn well_grouped(whole: &str) -> bool {
    let groups: Vec<&str> = whole.split(',').collect();
    groups.len() == 1
        || (!groups[0].is_empty()
            && groups[0].len() <= 3
            && groups[1..].iter().all(|g| g.len() == 3))
}

/// An amount as clerks write it: `¥`/`￥` first or `元` last, thousands separators in their
/// places; then the API's decimal syntax ([`exact_decimal`]). Its places and bound are checked
/// with the rest of the line.
fn read_amount_text(text: &str) -> Option<Decimal> {
    let text = text.trim();
    let text = text
        .strip_prefix('¥')
        .or_else(|| text.strip_prefix('￥'))
        .unwrap_or(text)
        .trim_start();
    let text = text.strip_suffix('元').unwrap_or(text).trim_end();
    let text = text.replace('，', ",");
    let (whole, fraction) = match text.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (text.as_str(), None),
    };
    let unsigned = whole.strip_prefix('-').unwrap_or(whole);
    if !well_grouped(unsigned) {
        return None;
    }
    let mut plain: String = whole.chars().filter(|c| *c != ',').collect();
    if let Some(fraction) = fraction {
        plain.push('.');
        plain.push_str(fraction);
    }
    exact_decimal(&plain).ok()
}

/// A spreadsheet number as the spreadsheet shows it: 15 significant digits, the precision a
/// spreadsheet keeps (so 0.1 + 0.2 is 0.3, as the cell shows, not 0.30000000000000004).
fn spreadsheet_number(value: f64) -> Option<Decimal> {
    if !value.is_finite() {
        return None;
    }
    Decimal::from_scientific(&format!("{value:.14e}"))
        .ok()
        .map(|d| d.normalize())
}

fn read_amount(cell: &Cell) -> Option<Decimal> {
    match cell {
        Cell::Text(text) => read_amount_text(text),
        Cell::Number(n) => spreadsheet_number(*n),
        Cell::Empty | Cell::Date(_) => None,
    }
}

fn read_year(cell: &Cell) -> Option<i32> {
    match cell {
        Cell::Number(n) if n.fract() == 0.0 && (1000.0..=9999.0).contains(n) => Some(*n as i32),
        Cell::Text(text) => {
            let text = text.trim();
            let text = text
                .strip_suffix("年度")
                .or_else(|| text.strip_suffix('年'))
                .unwrap_or(text);
            (text.len() == 4 && text.bytes().all(|b| b.is_ascii_digit()))
                .then(|| text.parse().ok())
                .flatten()
        }
        _ => None,
    }
}

fn read_kind(cell: &Cell) -> Option<PaymentKind> {
    match normalise(&cell.text()).as_str() {
        "rent" | "租房" | "租房补助" | "房租补助" | "租金" => Some(PaymentKind::Rent),
        "purchase" | "购房" | "购房补助" => Some(PaymentKind::Purchase),
        _ => None,
    }
}

/// A text cell: trimmed; a cell written `="…"` (how some files keep digits as text) is its text.
fn read_text(cell: &Cell) -> String {
    let text = cell.text();
    match text
        .strip_prefix("=\"")
        .and_then(|rest| rest.strip_suffix('"'))
    {
        Some(inner) => inner.trim().to_string(),
        None => text.trim_start_matches('\'').trim().to_string(),
    }
}

/// Whether a row is a total row: a cell reading 合计, 总计 or 小计 (or starting with one).
fn total_label(cells: &[Cell]) -> Option<(usize, String)> {
    cells.iter().enumerate().find_map(|(i, cell)| {
        let text: String = cell.text().chars().filter(|c| !c.is_whitespace()).collect();
        ["合计", "总计", "小计"]
            .iter()
            .any(|label| text.starts_with(label))
            .then_some((i, text))
    })
}

/// Reads the lines of a grid.
///
/// # Errors
/// `BAD_USER_INPUT` on `file` for what concerns the whole file: no header, a column twice or
/// missing, an unknown column, no data rows. A bad cell is not an error here: it is in
/// [`Parsed::errors`], with every other.
pub fn read_lines(grid: &Grid) -> AppResult<Parsed> {
    let non_empty: Vec<&(usize, Vec<Cell>)> = grid
        .rows
        .iter()
        .filter(|(_, cells)| !cells.iter().all(Cell::is_empty))
        .collect();
    let known = |cells: &[Cell]| {
        cells
            .iter()
            .filter(|c| column_of(&c.text()).is_some())
            .count()
    };
    let header_at = non_empty
        .iter()
        .take(HEADER_SEARCH_ROWS)
        .position(|(_, cells)| known(cells) >= 3)
        .unwrap_or(0);
    let Some((_, header)) = non_empty.get(header_at) else {
        return Err(AppError::bad_input(
            "file",
            "文件为空，第一行须为表头（the file is empty; the first row must be the header）",
        ));
    };
    let mut parsed = Parsed::default();
    let mut positions: HashMap<Column, usize> = HashMap::new();
    for (i, cell) in header.iter().enumerate() {
        let spelled = cell.text();
        match column_of(&spelled) {
            Some(column) => {
                if positions.insert(column, i).is_some() {
                    return Err(AppError::bad_input(
                        "file",
                        format!(
                            "表头中「{spelled}」出现了两次（column {} appears twice in the header）",
                            column.name()
                        ),
                    ));
                }
                parsed.headers.insert(column, spelled);
            }
            None if spelled.is_empty() => {}
            None if IGNORED.iter().any(|n| normalise(n) == normalise(&spelled)) => {}
            None => {
                return Err(AppError::bad_input(
                    "file",
                    format!(
                        "表头中有未知的列「{spelled}」（unknown column `{spelled}` in the header）"
                    ),
                ));
            }
        }
    }
    for (column, _) in COLUMNS {
        if column != Column::TransactionDate && !positions.contains_key(&column) {
            return Err(AppError::bad_input(
                "file",
                format!(
                    "表头缺少「{}」列（the header has no {} column）",
                    column.chinese(),
                    column.name()
                ),
            ));
        }
    }
    let mut data_rows = 0usize;
    for (row, cells) in non_empty.iter().skip(header_at + 1) {
        let row = *row;
        data_rows += 1;
        let empty = Cell::Empty;
        let cell = |c: Column| {
            positions
                .get(&c)
                .and_then(|&i| cells.get(i))
                .unwrap_or(&empty)
        };
        if let Some((at, label)) = total_label(cells) {
            let column = header.get(at).map(Cell::text).filter(|t| !t.is_empty());
            parsed.refuse(RowError {
                row,
                column,
                reason: "TOTAL_ROW",
                message_zh: format!(
                    "第{row}行是合计行（{label}）：导入文件只收明细行，合计由系统按明细计算，请删除该行后重新导入"
                ),
                message: format!(
                    "row {row} is a total row ({label}): a file holds payment lines only; the service sums them itself"
                ),
                conflict: false,
            });
            continue;
        }
        let before = parsed.errors.len() + usize::from(parsed.truncated);
        let bad =
            |parsed: &mut Parsed, column: Column, reason: &'static str, zh: String, en: String| {
                let header = parsed.header(column);
                parsed.refuse(RowError {
                    row,
                    column: Some(header.clone()),
                    reason,
                    message_zh: format!("第{row}行「{header}」{zh}"),
                    message: format!("row {row}, column {header}: {en}"),
                    conflict: false,
                });
            };
        let code_cell = cell(Column::CreditCode);
        let code_text = read_text(code_cell);
        if matches!(code_cell, Cell::Number(_))
            || (code_text.contains(['E', 'e']) && code_text.contains('+'))
        {
            bad(
                &mut parsed,
                Column::CreditCode,
                "CREDIT_CODE_AS_NUMBER",
                "被表格存成了数字，末几位已丢失：请把该列设为「文本」后重新填写".into(),
                "was stored as a number and has lost digits: format the column as text and type the codes again".into(),
            );
        }
        let kind = read_kind(cell(Column::Kind));
        if kind.is_none() {
            bad(
                &mut parsed,
                Column::Kind,
                "BAD_KIND",
                "须为「租房」或「购房」".into(),
                "must be 租房/RENT or 购房/PURCHASE".into(),
            );
        }
        let subsidy_year = read_year(cell(Column::SubsidyYear));
        if subsidy_year.is_none() {
            bad(
                &mut parsed,
                Column::SubsidyYear,
                "BAD_YEAR",
                "须为四位年份，如 2024".into(),
                "must be a four-digit year such as 2024".into(),
            );
        }
        let amount_of = |parsed: &mut Parsed, column: Column| {
            let value = read_amount(cell(column));
            if value.is_none() {
                bad(
                    parsed,
                    column,
                    "BAD_AMOUNT",
                    AMOUNT_RULE_ZH.into(),
                    AMOUNT_RULE.into(),
                );
            }
            value
        };
        let basis = amount_of(&mut parsed, Column::Basis);
        let amount = amount_of(&mut parsed, Column::Amount);
        let date_of = |parsed: &mut Parsed, column: Column| match read_date(cell(column)) {
            DateReading::Day(day) => Some(day),
            DateReading::Ambiguous => {
                bad(
                    parsed,
                    column,
                    "AMBIGUOUS_DATE",
                    "年月日的次序无法确定（如 3/1/2025 或 25/3/1），请写成 2025-03-01 或 2025年3月1日"
                        .into(),
                    "the order of year, month and day cannot be known (3/1/2025, 25/3/1): write 2025-03-01"
                        .into(),
                );
                None
            }
            DateReading::Invalid => {
                bad(
                    parsed,
                    column,
                    "BAD_DATE",
                    DATE_RULE_ZH.into(),
                    DATE_RULE.into(),
                );
                None
            }
        };
        let payment_date = date_of(&mut parsed, Column::PaymentDate);
        let transaction_date = if cell(Column::TransactionDate).is_empty() {
            Some(None)
        } else {
            date_of(&mut parsed, Column::TransactionDate).map(Some)
        };
        if parsed.errors.len() + usize::from(parsed.truncated) > before {
            continue;
        }
        if let (
            Some(kind),
            Some(subsidy_year),
            Some(basis),
            Some(amount),
            Some(payment_date),
            Some(transaction_date),
        ) = (
            kind,
            subsidy_year,
            basis,
            amount,
            payment_date,
            transaction_date,
        ) {
            parsed.lines.push(LineInput {
                credit_code: code_text,
                kind,
                subsidy_year,
                contract_no: read_text(cell(Column::ContractNo)),
                basis,
                transaction_date,
                amount,
                payment_date,
                voucher_no: read_text(cell(Column::VoucherNo)),
            });
            parsed.rows.push(row);
        }
    }
    if data_rows == 0 {
        return Err(AppError::bad_input(
            "file",
            "文件中没有数据行（the file has no data rows）",
        ));
    }
    Ok(parsed)
}

/// Parses a CSV or XLSX file into lines, refusing it at its first bad row.
///
/// # Errors
/// As [`read_file`] and [`read_lines`]; the first row error as `BAD_USER_INPUT` on
/// `row N <column>`.
pub fn parse(bytes: &[u8]) -> AppResult<Vec<LineInput>> {
    let parsed = read_lines(&read_file(bytes, None)?)?;
    match parsed.errors.into_iter().next() {
        Some(first) => Err(first.into_app_error()),
        None => Ok(parsed.lines),
    }
}

/// The import template as CSV: UTF-8 with a byte-order mark (so that Excel and WPS open it as
/// Unicode), CRLF line ends, the Chinese headers and one example row.
pub fn template_csv() -> Vec<u8> {
    let mut out = "\u{feff}".as_bytes().to_vec();
    let header: Vec<&str> = TEMPLATE.iter().map(|c| c.0).collect();
    let example: Vec<String> = TEMPLATE
        .iter()
        .map(|c| {
            if c.3.contains(',') {
                format!("\"{}\"", c.3)
            } else {
                c.3.to_string()
            }
        })
        .collect();
    out.extend_from_slice(header.join(",").as_bytes());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(example.join(",").as_bytes());
    out.extend_from_slice(b"\r\n");
    out
}

/// The import template as XLSX: the Chinese headers with a note on each, one example row, the
/// credit code and voucher columns as text, a dropdown (租房/购房) on 补助类型, dates as dates
/// and amounts with `#,##0.00`; a second sheet explains the columns in Chinese and English.
///
/// # Errors
/// `INTERNAL_SERVER_ERROR` if the workbook cannot be written.
pub fn template_xlsx() -> AppResult<Vec<u8>> {
    use rust_xlsxwriter::{DataValidation, Format, FormatAlign, Workbook};
    let failed = |e: rust_xlsxwriter::XlsxError| AppError::internal(format!("template: {e}"));
    let mut book = Workbook::new();
    let header = Format::new()
        .set_bold()
        .set_background_color("#DDEBF7")
        .set_border(rust_xlsxwriter::FormatBorder::Thin)
        .set_align(FormatAlign::Center);
    let text = Format::new().set_num_format("@");
    let money = Format::new().set_num_format("#,##0.00");
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let sheet = book.add_worksheet();
    sheet.set_name("拨付明细").map_err(failed)?;
    for (col, (zh, _, _, _)) in TEMPLATE.iter().enumerate() {
        let col = col as u16;
        sheet
            .write_string_with_format(0, col, *zh, &header)
            .map_err(failed)?;
        sheet.set_column_width(col, 18).map_err(failed)?;
    }
    sheet.set_column_width(0, 24).map_err(failed)?;
    sheet.set_column_format(0, &text).map_err(failed)?;
    sheet.set_column_format(3, &text).map_err(failed)?;
    sheet.set_column_format(8, &text).map_err(failed)?;
    sheet.set_column_format(4, &money).map_err(failed)?;
    sheet.set_column_format(6, &money).map_err(failed)?;
    sheet.set_column_format(5, &date).map_err(failed)?;
    sheet.set_column_format(7, &date).map_err(failed)?;
    sheet
        .write_string_with_format(1, 0, TEMPLATE[0].3, &text)
        .map_err(failed)?;
    sheet.write_string(1, 1, TEMPLATE[1].3).map_err(failed)?;
    sheet.write_number(1, 2, 2024).map_err(failed)?;
    sheet
        .write_string_with_format(1, 3, TEMPLATE[3].3, &text)
        .map_err(failed)?;
    sheet
        .write_number_with_format(1, 4, 1_000_000, &money)
        .map_err(failed)?;
    sheet
        .write_number_with_format(1, 6, 300_000, &money)
        .map_err(failed)?;
    let paid = rust_xlsxwriter::ExcelDateTime::from_ymd(2024, 6, 30).map_err(failed)?;
    sheet
        .write_datetime_with_format(1, 7, &paid, &date)
        .map_err(failed)?;
    sheet
        .write_string_with_format(1, 8, TEMPLATE[8].3, &text)
        .map_err(failed)?;
    let kinds = DataValidation::new()
        .allow_list_strings(&["租房", "购房"])
        .map_err(failed)?
        .set_input_title("补助类型")
        .map_err(failed)?
        .set_input_message("租房 或 购房")
        .map_err(failed)?
        .set_error_title("补助类型")
        .map_err(failed)?
        .set_error_message("请选择「租房」或「购房」")
        .map_err(failed)?;
    sheet
        .add_data_validation(1, 1, 10_000, 1, &kinds)
        .map_err(failed)?;
    sheet.set_freeze_panes(1, 0).map_err(failed)?;

    let notes = book.add_worksheet();
    notes.set_name("填写说明").map_err(failed)?;
    for (col, title) in ["列名", "英文列名", "填写要求", "示例"].iter().enumerate() {
        notes
            .write_string_with_format(0, col as u16, *title, &header)
            .map_err(failed)?;
    }
    for (row, (zh, en, rule, example)) in TEMPLATE.iter().enumerate() {
        let row = row as u32 + 1;
        notes.write_string(row, 0, *zh).map_err(failed)?;
        notes.write_string(row, 1, *en).map_err(failed)?;
        notes.write_string(row, 2, *rule).map_err(failed)?;
        notes.write_string(row, 3, *example).map_err(failed)?;
    }
    notes.set_column_width(0, 18).map_err(failed)?;
    notes.set_column_width(1, 18).map_err(failed)?;
    notes.set_column_width(2, 40).map_err(failed)?;
    notes.set_column_width(3, 22).map_err(failed)?;
    book.save_to_buffer().map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENGLISH: &str = "creditCode,kind,subsidyYear,contractNo,basis,transactionDate,amount,paymentDate,voucherNo\n\
        91330100716105852F,RENT,2024,L-1,\"1,000,000.00\",,300000.00,2024-06-30,V-1\n\
        91330100716105852F,PURCHASE,2024,P-1,5000000,2024-02-01,250000,2024/03/01,V-2\n";

    fn errors_of(bytes: &[u8]) -> Vec<RowError> {
        read_lines(&read_file(bytes, None).unwrap()).unwrap().errors
    }

    #[test]
    fn an_english_file_is_read_with_thousands_separators_and_slashed_dates() {
        let lines = parse(ENGLISH.as_bytes()).unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].basis, Decimal::new(100_000_000, 2));
        assert_eq!(lines[1].kind, PaymentKind::Purchase);
        assert_eq!(
            lines[1].payment_date,
            NaiveDate::from_ymd_opt(2024, 3, 1).unwrap()
        );
        assert_eq!(
            lines[1].transaction_date,
            NaiveDate::from_ymd_opt(2024, 2, 1)
        );
    }

    #[test]
    fn a_chinese_file_with_a_bom_is_read() {
        let text = "\u{feff}统一社会信用代码,补助类型,补助年度,合同编号,计算基数,成交日期,补助金额,拨付日期,凭证号\n\
            91330100716105852F,租房,2024,L-1,100.00,,30.00,2024-06-30,记-001\n";
        let lines = parse(text.as_bytes()).unwrap();
        assert_eq!(lines[0].kind, PaymentKind::Rent);
        assert_eq!(lines[0].voucher_no, "记-001");
    }

    #[test]
    fn gbk_utf16_and_utf8_files_read_alike_and_other_bytes_are_refused() {
        let text = "序号,统一社会信用代码,补助类型,补助年度,合同编号,计算基数,补助金额,拨付日期,凭证号\r\n\
            1,91330100716105852F,租房,2024,L-1,100.00,30.00,2024年6月30日,记-001\r\n";
        let (gbk, _, lossy) = encoding_rs::GBK.encode(text);
        assert!(!lossy);
        assert!(
            std::str::from_utf8(&gbk).is_err(),
            "GBK bytes are not UTF-8"
        );
        let mut utf16 = vec![0xFF, 0xFE];
        for unit in text.replace(',', "\t").encode_utf16() {
            utf16.extend_from_slice(&unit.to_le_bytes());
        }
        for bytes in [text.as_bytes().to_vec(), gbk.into_owned(), utf16] {
            let lines = parse(&bytes).unwrap();
            assert_eq!(lines[0].voucher_no, "记-001");
            assert_eq!(
                lines[0].payment_date,
                NaiveDate::from_ymd_opt(2024, 6, 30).unwrap()
            );
        }
        assert!(decode(&[0x81, 0x20]).is_err(), "neither UTF-8 nor GB18030");
        assert!(
            decode(&[0xEF, 0xBB, 0xBF, 0xFF]).is_err(),
            "a UTF-8 BOM then bad bytes"
        );
    }

    #[test]
    fn every_bad_cell_of_every_row_is_answered_with_its_row_and_the_files_column() {
        let text = "补助年度,统一社会信用代码,补助类型,合同编号,计算基数,补助金额,拨付日期,凭证号\n\
            2024,91330100716105852F,租房,L-1,100,30,2024-06-30,V-1\n\
            2024,9.13301E+17,租赁,L-1,100,30,2024-13-30,V-2\n\
            \n\
            24,91330100716105852F,租房,L-1,\"1,00\",¥30,3/1/2024,V-3\n\
            合计,,,,200,60,,\n";
        let errors = errors_of(text.as_bytes());
        let found: Vec<(usize, Option<&str>, &str)> = errors
            .iter()
            .map(|e| (e.row, e.column.as_deref(), e.reason))
            .collect();
        assert_eq!(
            found,
            [
                (3, Some("统一社会信用代码"), "CREDIT_CODE_AS_NUMBER"),
                (3, Some("补助类型"), "BAD_KIND"),
                (3, Some("拨付日期"), "BAD_DATE"),
                (5, Some("补助年度"), "BAD_YEAR"),
                (5, Some("计算基数"), "BAD_AMOUNT"),
                (5, Some("拨付日期"), "AMBIGUOUS_DATE"),
                (6, Some("补助年度"), "TOTAL_ROW"),
            ]
        );
        assert!(
            errors[2].message_zh.starts_with("第3行「拨付日期」"),
            "{}",
            errors[2].message_zh
        );
        assert!(errors[6].message_zh.contains("合计行"));
    }

    #[test]
    fn a_quoted_line_break_does_not_shift_the_row_numbers() {
        let text = "creditCode,kind,subsidyYear,contractNo,basis,amount,paymentDate,voucherNo\n\
            91330100716105852F,RENT,2024,\"L-1\nsecond line\",100,30,2024-06-30,V-1\n\
            91330100716105852F,RENT,2024,L-2,100,30,bad,V-2\n";
        let errors = errors_of(text.as_bytes());
        assert_eq!(errors[0].row, 3);
        assert_eq!(errors[0].field(), "row 3 paymentDate");
    }

    #[test]
    fn a_title_row_above_the_header_is_skipped() {
        let text = "2024年度租房补助拨付明细,,,,,,,,\n\
            统一社会信用代码,补助类型,补助年度,合同编号,计算基数,成交日期,补助金额,拨付日期,凭证号\n\
            91330100716105852F,租房,2024,L-1,100.00,,30.00,2024-06-30,bad date?\n\
            91330100716105852F,租房,2024,L-1,100.00,,30.00,2024-07-32,V-2\n";
        let errors = errors_of(text.as_bytes());
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].row, 4);
    }

    #[test]
    fn amounts_are_read_as_clerks_write_them_and_anything_ambiguous_is_refused() {
        for (text, expected) in [
            ("1,000,000.00", Some("1000000.00")),
            ("¥1,234.00", Some("1234.00")),
            ("￥ 1,234.5", Some("1234.5")),
            ("1234元", Some("1234")),
            ("1，234.00", Some("1234.00")),
            ("1,23", None),
            (",123", None),
            ("1234,567", None),
            ("１,000.5", None),
            ("1e2", None),
            ("+1.00", None),
            ("1_0.00", None),
            (".5", None),
            ("5.", None),
            ("-1.00", Some("-1.00")),
            ("0.00000000000000000000000000001", None),
        ] {
            assert_eq!(
                read_amount_text(text).map(|d| d.to_string()),
                expected.map(str::to_string),
                "{text}"
            );
        }
        assert_eq!(spreadsheet_number(0.1 + 0.2).unwrap().to_string(), "0.3");
        assert_eq!(spreadsheet_number(1234.56).unwrap().to_string(), "1234.56");
        assert_eq!(spreadsheet_number(300000.0).unwrap().to_string(), "300000");
        assert!(spreadsheet_number(f64::NAN).is_none());
    }

    #[test]
    fn dates_are_read_as_clerks_write_them_and_an_unknown_order_is_refused() {
        let day = |y, m, d| DateReading::Day(NaiveDate::from_ymd_opt(y, m, d).unwrap());
        for (text, expected) in [
            ("2025-03-01", day(2025, 3, 1)),
            ("2025/3/1", day(2025, 3, 1)),
            ("2025.3.1", day(2025, 3, 1)),
            ("2025年3月1日", day(2025, 3, 1)),
            ("2025 年 3 月 1 日", day(2025, 3, 1)),
            ("20250301", day(2025, 3, 1)),
            ("45717", day(2025, 3, 1)),
            ("2025/3/1 0:00", day(2025, 3, 1)),
            ("3/1/2025", DateReading::Ambiguous),
            ("01/03/2025", DateReading::Ambiguous),
            ("25/3/1", DateReading::Ambiguous),
            ("2025/3/1 12:30", DateReading::Invalid),
            ("2025-02-30", DateReading::Invalid),
            ("2025-3", DateReading::Invalid),
            ("1899-12-31", DateReading::Invalid),
            ("2100-01-01", DateReading::Invalid),
            ("March 1, 2025", DateReading::Invalid),
        ] {
            assert_eq!(read_date(&Cell::Text(text.into())), expected, "{text}");
        }
        assert_eq!(read_date(&Cell::Date(45717.0)), day(2025, 3, 1));
        assert_eq!(
            read_date(&Cell::Date(45717.5)),
            DateReading::Invalid,
            "a time of day"
        );
        assert_eq!(
            read_date(&Cell::Number(60.0)),
            DateReading::Invalid,
            "1900-02-29"
        );
    }

    #[test]
    fn an_unknown_header_or_a_missing_column_is_refused_but_clerks_own_columns_are_not() {
        assert!(parse(b"creditCode,colour\n").is_err());
        assert!(parse(b"creditCode,kind,subsidyYear\n").is_err());
        assert!(parse(b"").is_err());
        let text = "序号,企业名称,统一社会信用代码,补助类型,补助年度,合同编号,计算基数,补助金额,拨付日期,凭证号,备注\n\
            1,某公司,91330100716105852F,购房补助,2024年,L-1,100,30,2024-06-30,V-1,首付\n";
        let lines = parse(text.as_bytes()).unwrap();
        assert_eq!(lines[0].kind, PaymentKind::Purchase);
        assert_eq!(lines[0].subsidy_year, 2024);
    }

    #[test]
    fn a_service_refusal_is_located_in_the_files_own_row_and_column() {
        let text = "统一社会信用代码,补助类型,补助年度,合同编号,计算基数,补助金额,支付日期,凭证号\n\
            \n\
            91330100716105852F,租房,2024,L-1,100,30,2024-06-30,V-1\n";
        let parsed = read_lines(&read_file(text.as_bytes(), None).unwrap()).unwrap();
        let located = parsed.locate(LineError {
            index: 0,
            field: "paymentDate",
            reason: "PAYMENT_OUTSIDE_YEAR",
            message: "outside".into(),
            message_zh: "不在".into(),
            conflict: false,
        });
        assert_eq!(located.row, 3);
        assert_eq!(located.field(), "row 3 支付日期");
    }

    #[test]
    fn the_templates_read_back_as_their_example_line() {
        let from_csv = parse(&template_csv()).unwrap();
        let from_xlsx = parse(&template_xlsx().unwrap()).unwrap();
        for lines in [&from_csv, &from_xlsx] {
            assert_eq!(lines.len(), 1);
            assert_eq!(lines[0].credit_code, "91330100716105852F");
            assert_eq!(lines[0].kind, PaymentKind::Rent);
            assert_eq!(lines[0].amount, Decimal::new(300_000, 0));
            assert_eq!(
                lines[0].payment_date,
                NaiveDate::from_ymd_opt(2024, 6, 30).unwrap()
            );
        }
        assert!(template_csv().ends_with(b"\r\n"));
    }
}
