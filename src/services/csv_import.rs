//! Bulk import of payment lines from a CSV file as districts export it from a spreadsheet:
//! UTF-8 with or without a byte-order mark, Chinese or English headers. The rows go through the
//! same path as `reportPayments` (one transaction, all or nothing), and every error names the
//! row of the file and its column.

use std::collections::HashMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::error::{AppError, AppResult};
use crate::policy::dates;
use crate::policy::money::exact_decimal;
use crate::policy::reconciliation::PaymentKind;
use crate::services::payments::LineInput;

/// The columns of a payment line and the header names accepted for each (case-insensitive,
/// spaces, underscores and hyphens ignored).
const COLUMNS: [(Column, &[&str]); 9] = [
    (
        Column::CreditCode,
        &["creditcode", "统一社会信用代码", "信用代码"],
    ),
    (Column::Kind, &["kind", "补助类型", "类型"]),
    (
        Column::SubsidyYear,
        &["subsidyyear", "补助年度", "认定年度"],
    ),
    (
        Column::ContractNo,
        &["contractno", "contractnumber", "合同编号", "合同号"],
    ),
    (
        Column::Basis,
        &["basis", "计算基数", "实际支付租金成交金额", "基数"],
    ),
    (
        Column::TransactionDate,
        &["transactiondate", "成交日期", "购房日期"],
    ),
    (Column::Amount, &["amount", "补助金额", "拨付金额", "金额"]),
    (
        Column::PaymentDate,
        &["paymentdate", "拨付日期", "支付日期"],
    ),
    (
        Column::VoucherNo,
        &["voucherno", "vouchernumber", "凭证号", "凭证编号"],
    ),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Column {
    CreditCode,
    Kind,
    SubsidyYear,
    ContractNo,
    Basis,
    TransactionDate,
    Amount,
    PaymentDate,
    VoucherNo,
}

impl Column {
    fn name(self) -> &'static str {
        match self {
            Column::CreditCode => "creditCode",
            Column::Kind => "kind",
            Column::SubsidyYear => "subsidyYear",
            Column::ContractNo => "contractNo",
            Column::Basis => "basis",
            Column::TransactionDate => "transactionDate",
            Column::Amount => "amount",
            Column::PaymentDate => "paymentDate",
            Column::VoucherNo => "voucherNo",
        }
    }
}

fn normalise(header: &str) -> String {
    header
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-' | '（' | '）' | '(' | ')' | '/' | '、'))
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

/// The file row (1-based, header = row 1) of data row `index`.
pub fn file_row(index: usize) -> usize {
    index + 2
}

fn row_error(index: usize, column: Column, message: impl Into<String>) -> AppError {
    AppError::bad_input(
        format!("row {} {}", file_row(index), column.name()),
        format!(
            "row {}, column {}: {}",
            file_row(index),
            column.name(),
            message.into()
        ),
    )
}

fn parse_kind(text: &str) -> Option<PaymentKind> {
    match text.trim().to_uppercase().as_str() {
        "RENT" | "租房" | "租房补助" | "租金" => Some(PaymentKind::Rent),
        "PURCHASE" | "购房" | "购房补助" => Some(PaymentKind::Purchase),
        _ => None,
    }
}

/// What a date cell must be.
const DATE_RULE: &str = "must be a date (YYYY-MM-DD) from 1900-01-01 to 2099-12-31";

/// What an amount cell must be.
const AMOUNT_RULE: &str = "must be an amount in yuan written like 1234.50 (thousands separators \
     allowed; no sign, exponent or JSON number)";

/// A date as spreadsheets write it (`2024-06-30`, `2024/6/30`, `2024.06.30`, `20240630`), within
/// the days the API accepts ([`dates::FIRST_DAY`] ..= [`dates::LAST_DAY`]).
fn parse_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    ["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d"]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(text, f).ok())
        .and_then(|date| dates::within_range(date).ok())
}

/// An amount in the API's decimal syntax ([`exact_decimal`]) once thousands separators are
/// dropped; its places and bound are checked with the rest of the line.
fn parse_amount(text: &str) -> Option<Decimal> {
    let cleaned: String = text
        .trim()
        .chars()
        .filter(|c| *c != ',' && *c != '，')
        .collect();
    exact_decimal(&cleaned).ok()
}

/// Parses a CSV file into lines.
///
/// # Errors
/// `BAD_USER_INPUT` for invalid UTF-8, a missing or unknown header, or a cell that cannot be
/// read, naming the file row and column.
pub fn parse(bytes: &[u8]) -> AppResult<Vec<LineInput>> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes)
        .map_err(|e| AppError::bad_input("file", format!("the file is not UTF-8 text ({e})")))?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|_| AppError::bad_input("file", "the first row must be the header row"))?
        .clone();
    let mut positions: HashMap<Column, usize> = HashMap::new();
    for (i, header) in headers.iter().enumerate() {
        match column_of(header) {
            Some(column) => {
                if positions.insert(column, i).is_some() {
                    return Err(AppError::bad_input(
                        "file",
                        format!("column {} appears twice in the header", column.name()),
                    ));
                }
            }
            None if header.trim().is_empty() => {}
            None => {
                return Err(AppError::bad_input(
                    "file",
                    format!("unknown column `{header}` in the header"),
                ));
            }
        }
    }
    for (column, _) in COLUMNS {
        if column != Column::TransactionDate && !positions.contains_key(&column) {
            return Err(AppError::bad_input(
                "file",
                format!("the header has no {} column", column.name()),
            ));
        }
    }
    let mut lines = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let record = record.map_err(|e| {
            AppError::bad_input(
                format!("row {}", file_row(index)),
                format!("row {}: {e}", file_row(index)),
            )
        })?;
        if record.iter().all(|cell| cell.trim().is_empty()) {
            continue;
        }
        let cell = |c: Column| positions.get(&c).and_then(|&i| record.get(i)).unwrap_or("");
        let kind = parse_kind(cell(Column::Kind))
            .ok_or_else(|| row_error(index, Column::Kind, "must be RENT/租房 or PURCHASE/购房"))?;
        let subsidy_year = cell(Column::SubsidyYear)
            .trim()
            .parse::<i32>()
            .map_err(|_| row_error(index, Column::SubsidyYear, "must be a year"))?;
        let basis = parse_amount(cell(Column::Basis))
            .ok_or_else(|| row_error(index, Column::Basis, AMOUNT_RULE))?;
        let amount = parse_amount(cell(Column::Amount))
            .ok_or_else(|| row_error(index, Column::Amount, AMOUNT_RULE))?;
        let payment_date = parse_date(cell(Column::PaymentDate))
            .ok_or_else(|| row_error(index, Column::PaymentDate, DATE_RULE))?;
        let transaction_text = cell(Column::TransactionDate).trim();
        let transaction_date = if transaction_text.is_empty() {
            None
        } else {
            Some(
                parse_date(transaction_text)
                    .ok_or_else(|| row_error(index, Column::TransactionDate, DATE_RULE))?,
            )
        };
        lines.push(LineInput {
            credit_code: cell(Column::CreditCode).to_string(),
            kind,
            subsidy_year,
            contract_no: cell(Column::ContractNo).to_string(),
            basis,
            transaction_date,
            amount,
            payment_date,
            voucher_no: cell(Column::VoucherNo).to_string(),
        });
    }
    if lines.is_empty() {
        return Err(AppError::bad_input("file", "the file has no data rows"));
    }
    Ok(lines)
}

/// Rewrites an error of `reportPayments` naming `lines[i].field` to name the file row instead.
pub fn name_rows(err: AppError) -> AppError {
    match err {
        AppError::BadInput { field, message } => {
            let located = field
                .strip_prefix("lines[")
                .and_then(|rest| rest.split_once("]."))
                .and_then(|(i, f)| i.parse::<usize>().ok().map(|i| (i, f.to_string())));
            match located {
                Some((i, column)) => AppError::bad_input(
                    format!("row {} {column}", file_row(i)),
                    format!("row {}, column {column}: {message}", file_row(i)),
                ),
                None => AppError::BadInput { field, message },
            }
        }
        AppError::Conflict(message) => AppError::Conflict(rename_line_prefix(&message)),
        other => other,
    }
}

fn rename_line_prefix(message: &str) -> String {
    if let Some(rest) = message.strip_prefix("lines[")
        && let Some((i, tail)) = rest.split_once(']')
        && let Ok(i) = i.parse::<usize>()
    {
        return format!("row {}{tail}", file_row(i));
    }
    message.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENGLISH: &str = "creditCode,kind,subsidyYear,contractNo,basis,transactionDate,amount,paymentDate,voucherNo\n\
        91330100716105852F,RENT,2024,L-1,\"1,000,000.00\",,300000.00,2024-06-30,V-1\n\
        91330100716105852F,PURCHASE,2024,P-1,5000000,2024-02-01,250000,2024/03/01,V-2\n";

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
    fn a_bad_cell_names_its_file_row_and_column() {
        let text = "creditCode,kind,subsidyYear,contractNo,basis,amount,paymentDate,voucherNo\n\
            91330100716105852F,RENT,2024,L-1,100,30,2024-06-30,V-1\n\
            91330100716105852F,RENT,2024,L-1,100,30,2024-13-30,V-2\n";
        match parse(text.as_bytes()) {
            Err(AppError::BadInput { field, .. }) => assert_eq!(field, "row 3 paymentDate"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_amount_cell_is_a_plain_decimal_and_a_date_cell_a_day_from_1900_to_2099() {
        for (text, expected) in [
            ("1,000,000.00", Some("1000000.00")),
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
                parse_amount(text).map(|d| d.to_string()),
                expected.map(str::to_string),
                "{text}"
            );
        }
        assert!(parse_date("2024/6/30").is_some());
        assert!(parse_date("1900-01-01").is_some());
        assert!(parse_date("2099-12-31").is_some());
        for text in ["1899-12-31", "2100-01-01", "9999-12-31", "2024-02-30"] {
            assert!(parse_date(text).is_none(), "{text}");
        }
    }

    #[test]
    fn invalid_utf8_an_unknown_header_or_a_missing_column_is_refused() {
        assert!(parse(b"creditCode,kind\n\xff\xfe,RENT\n").is_err());
        assert!(parse(b"creditCode,colour\n").is_err());
        assert!(parse(b"creditCode,kind,subsidyYear\n").is_err());
        assert!(parse(b"").is_err());
    }

    #[test]
    fn a_service_error_on_a_line_is_renamed_to_its_file_row() {
        let err = name_rows(AppError::bad_input(
            "lines[0].amount",
            "must be greater than 0",
        ));
        match err {
            AppError::BadInput { field, message } => {
                assert_eq!(field, "row 2 amount");
                assert!(message.starts_with("row 2, column amount"));
            }
            other => panic!("{other:?}"),
        }
    }
}
