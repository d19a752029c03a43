//! The settlement workbook (结算表) as a city finance office files it: a title, the settlement's
//! status, rate, budget and times above the table, money as numbers formatted `#,##0.00` (元),
//! years as numbers, dates as date cells, a total row of `SUM` formulas whose cached results are
//! the API's totals, and a sign-off block; printed landscape, one page wide, the header rows on
//! every page and 第 N 页 共 M 页 below. Sheets: 结算表 (districts), 明细 (every line with its
//! verdict in words), 调整 (adjustments carried into the year) and 说明 (the reasons and clauses).
//!
//! A spreadsheet holds numbers as binary floating point, so a cell's value is the double nearest
//! the exact amount (`fen as f64 / 100`, what a spreadsheet itself reads from "2469.13"); the
//! figures shown with two decimals are exactly the API's, and the totals' cached results are
//! written from sums taken in integer fen.

use std::str::FromStr;

use rust_xlsxwriter::utility::cell_range;
use rust_xlsxwriter::{
    ExcelDateTime, Format, FormatAlign, FormatBorder, Formula, Workbook, Worksheet, XlsxError,
};

use crate::error::{AppError, AppResult};
use crate::policy::Clause;
use crate::policy::benefits::{BenefitNote, BenefitReason, RewardState};
use crate::policy::money::Money;
use crate::policy::reconciliation::{PaymentKind, ReasonCode};
use crate::policy::settlement::{SettlementStatus, ZeroReason};
use crate::services::export::{BenefitsBook, SettlementBook};
use crate::services::settlement;

/// The name of the district sheet.
pub const SUMMARY_SHEET: &str = "结算表";
/// The name of the line sheet.
pub const LINES_SHEET: &str = "明细";
/// The name of the adjustment sheet.
pub const ADJUSTMENTS_SHEET: &str = "调整";
/// The name of the reason sheet.
pub const REASONS_SHEET: &str = "说明";
/// The row (0-based) of the district sheet's column headers.
pub const SUMMARY_HEADER_ROW: u32 = 5;

const MONEY: &str = "#,##0.00";
const DATE: &str = "yyyy-mm-dd";
const DATE_TIME: &str = "yyyy-mm-dd hh:mm:ss";
const FOOTER: &str = "&C第 &P 页 共 &N 页";

fn xlsx(err: XlsxError) -> AppError {
    AppError::internal(err)
}

/// The amount of `fen` as a spreadsheet number (the double nearest the exact amount in 元).
#[allow(clippy::cast_precision_loss)] // |fen| < 2^53 for any amount the bounds allow
fn yuan(fen: i64) -> f64 {
    fen as f64 / 100.0
}

/// A reason in words, as the finance office says it.
#[must_use]
pub const fn reason_zh(code: ReasonCode) -> &'static str {
    match code {
        ReasonCode::OutsidePolicyPeriod => "不在政策有效期内拨付",
        ReasonCode::NotRecognized => "补助年度未获总部企业认定",
        ReasonCode::StarsBelow3 => "补助年度星级低于三星或未评级",
        ReasonCode::OwnsOffice => "在杭已有自有办公用房",
        ReasonCode::RentAndPurchase => "租房、购房补助不能同时享受",
        ReasonCode::PurchaseNotFirst => "非首次购置办公用房",
        ReasonCode::WrongDistrict => "拨付时未在申报区县注册",
        ReasonCode::TitleRevoked => "总部企业称号已撤销",
        ReasonCode::DuplicatePayment => "同一笔拨付重复申报",
        ReasonCode::OverDistrictRatio => "超过区县补助比例或上限",
    }
}

fn kind_zh(kind: &str) -> AppResult<&'static str> {
    Ok(
        match PaymentKind::from_str(kind).map_err(AppError::internal)? {
            PaymentKind::Rent => "租房补助",
            PaymentKind::Purchase => "购房补助",
        },
    )
}

fn status_zh(status: &str) -> AppResult<&'static str> {
    Ok(
        match SettlementStatus::from_str(status).map_err(AppError::internal)? {
            SettlementStatus::Draft => "草稿（未批准，可重新起草）",
            SettlementStatus::Approved => "已批准（年度已锁定）",
        },
    )
}

fn zero_reason_zh(reason: Option<&str>) -> AppResult<&'static str> {
    let Some(reason) = reason else {
        return Ok("");
    };
    Ok(
        match ZeroReason::from_str(reason).map_err(AppError::internal)? {
            ZeroReason::NoLines => "当年无拨付",
            ZeroReason::NotSubmitted => "未提交申请",
            ZeroReason::NotReconciled => "尚未审核",
        },
    )
}

fn date_cell(date: chrono::NaiveDate) -> AppResult<ExcelDateTime> {
    use chrono::Datelike;
    let year = u16::try_from(date.year()).map_err(AppError::internal)?;
    let month = u8::try_from(date.month()).map_err(AppError::internal)?;
    let day = u8::try_from(date.day()).map_err(AppError::internal)?;
    ExcelDateTime::from_ymd(year, month, day).map_err(xlsx)
}

fn date_time_cell(at: chrono::DateTime<chrono::Utc>) -> AppResult<ExcelDateTime> {
    use chrono::Timelike;
    let china = at.with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8"));
    let hour = u16::try_from(china.hour()).map_err(AppError::internal)?;
    let minute = u8::try_from(china.minute()).map_err(AppError::internal)?;
    date_cell(china.date_naive())?
        .and_hms(hour, minute, china.second())
        .map_err(xlsx)
}

/// Display width of a text in spreadsheet columns (a CJK character takes two).
fn text_width(text: &str) -> usize {
    text.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum()
}

/// Display width of an amount formatted `#,##0.00`.
fn money_width(fen: i64) -> usize {
    let digits = fen.unsigned_abs().max(100).to_string().len() - 2;
    digits + (digits - 1) / 3 + 3 + usize::from(fen < 0)
}

/// The formats of the workbook.
struct Formats {
    title: Format,
    label: Format,
    header: Format,
    text: Format,
    money: Format,
    year: Format,
    date: Format,
    date_time: Format,
    percent: Format,
    total_label: Format,
    total_money: Format,
}

impl Formats {
    fn new() -> Self {
        let cell = Format::new().set_border(FormatBorder::Thin);
        Formats {
            title: Format::new()
                .set_bold()
                .set_font_size(16)
                .set_align(FormatAlign::Center),
            label: Format::new().set_bold(),
            header: cell
                .clone()
                .set_bold()
                .set_text_wrap()
                .set_align(FormatAlign::Center)
                .set_align(FormatAlign::VerticalCenter)
                .set_background_color(0x00DD_EBF7),
            text: cell.clone(),
            money: cell.clone().set_num_format(MONEY),
            year: cell.clone().set_num_format("0"),
            date: cell.clone().set_num_format(DATE),
            date_time: Format::new()
                .set_num_format(DATE_TIME)
                .set_align(FormatAlign::Left),
            percent: Format::new()
                .set_num_format("0.00%")
                .set_align(FormatAlign::Left),
            total_label: cell.clone().set_bold(),
            total_money: cell.set_bold().set_num_format(MONEY),
        }
    }
}

/// A sheet being written: remembers the widest cell of each column.
struct Sheet<'a> {
    ws: &'a mut Worksheet,
    widths: Vec<usize>,
}

impl Sheet<'_> {
    fn fit(&mut self, col: u16, width: usize) {
        let col = usize::from(col);
        if self.widths.len() <= col {
            self.widths.resize(col + 1, 0);
        }
        self.widths[col] = self.widths[col].max(width);
    }

    fn text(&mut self, row: u32, col: u16, text: &str, format: &Format) -> AppResult<()> {
        self.ws
            .write_string_with_format(row, col, text, format)
            .map_err(xlsx)?;
        self.fit(col, text_width(text));
        Ok(())
    }

    fn money(&mut self, row: u32, col: u16, fen: i64, format: &Format) -> AppResult<()> {
        self.ws
            .write_number_with_format(row, col, yuan(fen), format)
            .map_err(xlsx)?;
        self.fit(col, money_width(fen));
        Ok(())
    }

    fn number(&mut self, row: u32, col: u16, value: i64, format: &Format) -> AppResult<()> {
        #[allow(clippy::cast_precision_loss)] // years and sequence numbers
        self.ws
            .write_number_with_format(row, col, value as f64, format)
            .map_err(xlsx)?;
        self.fit(col, value.to_string().len());
        Ok(())
    }

    fn date(
        &mut self,
        row: u32,
        col: u16,
        date: chrono::NaiveDate,
        format: &Format,
    ) -> AppResult<()> {
        self.ws
            .write_datetime_with_format(row, col, date_cell(date)?, format)
            .map_err(xlsx)?;
        self.fit(col, 10);
        Ok(())
    }

    /// A `SUM` of the column's data rows, its cached result `fen` (the sum taken in fen).
    fn total(
        &mut self,
        row: u32,
        col: u16,
        first: u32,
        last: u32,
        fen: i64,
        format: &Format,
    ) -> AppResult<()> {
        let formula = Formula::new(format!("=SUM({})", cell_range(first, col, last, col)))
            .set_result(Money::from_fen(fen).to_decimal().to_string());
        self.ws
            .write_formula_with_format(row, col, formula, format)
            .map_err(xlsx)?;
        self.fit(col, money_width(fen));
        Ok(())
    }

    /// Sets the fitted widths (within bounds) and the page: landscape, one page wide, the rows
    /// up to `header_row` repeated, page numbers in the footer.
    fn finish(self, header_row: u32, freeze_col: u16) -> AppResult<()> {
        for (col, width) in self.widths.iter().enumerate() {
            let col = u16::try_from(col).map_err(AppError::internal)?;
            #[allow(clippy::cast_precision_loss)] // a few dozen characters
            let width = (*width).clamp(6, 60) as f64 + 1.0;
            self.ws.set_column_width(col, width).map_err(xlsx)?;
        }
        self.ws
            .set_landscape()
            .set_paper_size(9) // A4
            .set_print_fit_to_pages(1, 0)
            .set_footer(FOOTER)
            .set_print_center_horizontally(true);
        self.ws.set_repeat_rows(0, header_row).map_err(xlsx)?;
        self.ws
            .set_freeze_panes(header_row + 1, freeze_col)
            .map_err(xlsx)?;
        Ok(())
    }
}

impl<'a> Sheet<'a> {
    /// A detail sheet's top: its title merged across the header's width (row 0), a unit line
    /// (row 1) and the header row ([`HEADER_ROW`]). Returns the sheet and its last column.
    fn titled(
        ws: &'a mut Worksheet,
        title: &str,
        unit: &str,
        header: &[&str],
        f: &Formats,
    ) -> AppResult<(Sheet<'a>, u16)> {
        let last_col = col(header.len().saturating_sub(1))?;
        let mut sheet = Sheet {
            ws,
            widths: Vec::new(),
        };
        sheet
            .ws
            .merge_range(0, 0, 0, last_col, title, &f.title)
            .map_err(xlsx)?;
        sheet
            .ws
            .write_string_with_format(1, 0, unit, &f.label)
            .map_err(xlsx)?;
        for (i, text) in header.iter().enumerate() {
            sheet.text(HEADER_ROW, col(i)?, text, &f.header)?;
        }
        Ok((sheet, last_col))
    }
}

/// The header row of a detail sheet (明细, 调整), below its title and unit lines.
const HEADER_ROW: u32 = 2;

fn checked_sum(values: impl IntoIterator<Item = i64>) -> AppResult<i64> {
    let mut sum = Money::ZERO;
    for fen in values {
        sum = sum
            .checked_add(Money::from_fen(fen))
            .ok_or_else(|| AppError::internal("a workbook total overflows"))?;
    }
    Ok(sum.fen())
}

fn col(index: usize) -> AppResult<u16> {
    u16::try_from(index).map_err(AppError::internal)
}

/// The sign-off block of a sheet a clerk prints and signs: who prepared, reviewed and approved
/// it, and the date, on `row`.
fn sign_off(sheet: &mut Sheet<'_>, row: u32, f: &Formats) -> AppResult<()> {
    for (i, label) in ["经办人：", "复核人：", "负责人：", "日期："]
        .iter()
        .enumerate()
    {
        sheet
            .ws
            .write_string_with_format(row, col(i * 4)?, *label, &f.label)
            .map_err(xlsx)?;
    }
    Ok(())
}

/// The workbook of `book`.
///
/// # Errors
/// Internal error if a stored value is unknown or the workbook cannot be written.
pub fn settlement_workbook(book: &SettlementBook) -> AppResult<Vec<u8>> {
    let mut workbook = Workbook::new();
    let formats = Formats::new();
    summary_sheet(workbook.add_worksheet(), book, &formats)?;
    lines_sheet(workbook.add_worksheet(), book, &formats)?;
    adjustments_sheet(workbook.add_worksheet(), book, &formats)?;
    reasons_sheet(workbook.add_worksheet(), &formats)?;
    workbook.save_to_buffer().map_err(xlsx)
}

fn title_of(book: &SettlementBook) -> String {
    format!(
        "杭州市总部企业房租、购房补助市级结算表（{}年度）",
        book.settlement.fiscal_year
    )
}

fn summary_sheet(ws: &mut Worksheet, book: &SettlementBook, f: &Formats) -> AppResult<()> {
    ws.set_name(SUMMARY_SHEET).map_err(xlsx)?;
    let s = &book.settlement;
    let mut header: Vec<String> = [
        "区县代码",
        "区县",
        "零值说明",
        "申报拨付额",
        "认定金额",
        "核减金额",
    ]
    .iter()
    .map(|h| (*h).to_string())
    .collect();
    header.extend(
        ReasonCode::ALL
            .iter()
            .map(|r| format!("其中核减：{}", reason_zh(*r))),
    );
    header.extend(
        [
            "市级补助额",
            "核定补助额",
            "调整额",
            "应拨付净额",
            "拨付年度",
        ]
        .iter()
        .map(|h| (*h).to_string()),
    );
    let last_col = col(header.len() - 1)?;
    let mut sheet = Sheet {
        ws,
        widths: Vec::new(),
    };
    sheet
        .ws
        .merge_range(0, 0, 0, last_col, &title_of(book), &f.title)
        .map_err(xlsx)?;
    sheet.ws.set_row_height(0, 28).map_err(xlsx)?;
    // The header block: two label/value pairs a row, then the audit head of an approval.
    sheet
        .ws
        .write_string_with_format(1, 0, "结算状态", &f.label)
        .map_err(xlsx)?;
    sheet
        .ws
        .write_string(1, 1, status_zh(&s.status)?)
        .map_err(xlsx)?;
    sheet
        .ws
        .write_string_with_format(1, 3, "补助比例", &f.label)
        .map_err(xlsx)?;
    let rate: f64 = s.rate.parse().map_err(AppError::internal)?;
    sheet
        .ws
        .write_number_with_format(1, 4, rate, &f.percent)
        .map_err(xlsx)?;
    sheet
        .ws
        .write_string_with_format(1, 6, "市级预算（元）", &f.label)
        .map_err(xlsx)?;
    match s.budget_fen {
        Some(budget) => {
            sheet
                .ws
                .write_number_with_format(1, 7, yuan(budget), &Format::new().set_num_format(MONEY))
                .map_err(xlsx)?;
        }
        None => {
            sheet.ws.write_string(1, 7, "不设上限").map_err(xlsx)?;
        }
    }
    sheet
        .ws
        .write_string_with_format(1, 9, "单位", &f.label)
        .map_err(xlsx)?;
    sheet.ws.write_string(1, 10, "元").map_err(xlsx)?;
    sheet
        .ws
        .write_string_with_format(2, 0, "生成时间（北京时间）", &f.label)
        .map_err(xlsx)?;
    sheet
        .ws
        .write_datetime_with_format(2, 1, date_time_cell(book.generated_at)?, &f.date_time)
        .map_err(xlsx)?;
    sheet
        .ws
        .write_string_with_format(2, 3, "起草时间", &f.label)
        .map_err(xlsx)?;
    sheet
        .ws
        .write_datetime_with_format(2, 4, date_time_cell(s.drafted_at)?, &f.date_time)
        .map_err(xlsx)?;
    if let Some(approved_at) = s.approved_at {
        sheet
            .ws
            .write_string_with_format(2, 6, "批准时间", &f.label)
            .map_err(xlsx)?;
        sheet
            .ws
            .write_datetime_with_format(2, 7, date_time_cell(approved_at)?, &f.date_time)
            .map_err(xlsx)?;
    }
    if let Some(head) = s.audit_head_at_approval.as_deref() {
        sheet
            .ws
            .write_string_with_format(3, 0, "批准时审计链头", &f.label)
            .map_err(xlsx)?;
        sheet
            .ws
            .merge_range(3, 1, 3, last_col.min(9), head, &Format::new())
            .map_err(xlsx)?;
    }
    if let Some(own) = &book.district_scope {
        sheet
            .ws
            .write_string(4, 0, format!("本表仅含本区县（{own}）数据"))
            .map_err(xlsx)?;
    }
    let header_row = SUMMARY_HEADER_ROW;
    for (i, title) in header.iter().enumerate() {
        sheet.text(header_row, col(i)?, title, &f.header)?;
    }
    // Header cells wrap: a long header needs no wide column.
    for (i, title) in header.iter().enumerate() {
        sheet.widths[i] = text_width(title).min(10);
    }
    // The values of the header block: times in columns 1, 4 and 7, the budget in column 7.
    for c in [1, 4, 7] {
        sheet.fit(c, 19);
    }
    sheet.fit(7, s.budget_fen.map_or(0, money_width));
    sheet.ws.set_row_height(header_row, 62).map_err(xlsx)?;
    let first = header_row + 1;
    let mut r = first;
    for d in &book.districts {
        let l = &d.line;
        sheet.text(r, 0, &l.district_code, &f.text)?;
        sheet.text(r, 1, &d.name, &f.text)?;
        sheet.text(r, 2, zero_reason_zh(l.zero_reason.as_deref())?, &f.text)?;
        let mut c = 3;
        for fen in [l.reported_fen, l.eligible_fen, l.cut_fen]
            .into_iter()
            .chain(d.cut_by_reason.iter().copied())
            .chain([
                l.reimbursement_fen,
                l.granted_fen,
                l.adjustments_fen,
                l.net_payable_fen,
            ])
        {
            sheet.money(r, c, fen, &f.money)?;
            c += 1;
        }
        sheet.number(
            r,
            c,
            i64::from(settlement::payable_year(s.fiscal_year)),
            &f.year,
        )?;
        r += 1;
    }
    let total_row = r;
    let last = total_row.saturating_sub(1);
    sheet.text(total_row, 0, "合计", &f.total_label)?;
    sheet.text(total_row, 1, "", &f.total_label)?;
    sheet.text(total_row, 2, "", &f.total_label)?;
    if !book.districts.is_empty() {
        let columns: Vec<Vec<i64>> = (0..3 + ReasonCode::ALL.len() + 4)
            .map(|k| {
                book.districts
                    .iter()
                    .map(|d| {
                        let l = &d.line;
                        match k {
                            0 => l.reported_fen,
                            1 => l.eligible_fen,
                            2 => l.cut_fen,
                            k if k < 3 + ReasonCode::ALL.len() => d.cut_by_reason[k - 3],
                            k => [
                                l.reimbursement_fen,
                                l.granted_fen,
                                l.adjustments_fen,
                                l.net_payable_fen,
                            ][k - 3 - ReasonCode::ALL.len()],
                        }
                    })
                    .collect()
            })
            .collect();
        for (k, values) in columns.into_iter().enumerate() {
            let sum = checked_sum(values)?;
            sheet.total(total_row, col(3 + k)?, first, last, sum, &f.total_money)?;
        }
    }
    sheet.text(total_row, last_col, "", &f.total_label)?;
    if !book.districts.is_empty() {
        sheet
            .ws
            .autofilter(header_row, 0, last, last_col)
            .map_err(xlsx)?;
    }
    sign_off(&mut sheet, total_row + 2, f)?;
    sheet.finish(header_row, 2)
}

/// A ratio group key (`RENT:<district>:<enterprise id>:<subsidy year>` or
/// `PURCHASE:<district>:<enterprise id>:<contract no>`) in words, from the line it belongs to.
fn ratio_group_words(key: &str, line: &super::export::BookLine) -> AppResult<String> {
    let mut parts = key.splitn(4, ':');
    let (Some(kind), Some(_district), Some(_enterprise), Some(last)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AppError::internal(format!(
            "ratio group {key:?} is malformed"
        )));
    };
    Ok(
        match PaymentKind::from_str(kind).map_err(AppError::internal)? {
            PaymentKind::Rent => format!(
                "{}·{}·{}年度租房补助",
                line.district_name, line.enterprise_name, last
            ),
            PaymentKind::Purchase => format!(
                "{}·{}·合同{}购房补助",
                line.district_name, line.enterprise_name, last
            ),
        },
    )
}

fn lines_sheet(ws: &mut Worksheet, book: &SettlementBook, f: &Formats) -> AppResult<()> {
    ws.set_name(LINES_SHEET).map_err(xlsx)?;
    let header = [
        "区县",
        "序号",
        "凭证号",
        "统一社会信用代码",
        "企业名称",
        "补助类型",
        "补助年度",
        "合同编号",
        "计算基数",
        "成交日期",
        "拨付金额",
        "拨付日期",
        "认定金额",
        "核减金额",
        "主要核减原因",
        "核减原因及依据",
        "比例分组",
        "分组上限",
    ];
    let (mut sheet, last_col) = Sheet::titled(
        ws,
        &format!("{}·明细", title_of(book)),
        "单位：元",
        &header,
        f,
    )?;
    let header_row = HEADER_ROW;
    let first = header_row + 1;
    let mut r = first;
    for l in &book.lines {
        let p = &l.line;
        let v = l.verdict.as_ref();
        sheet.text(r, 0, &l.district_name, &f.text)?;
        sheet.number(r, 1, p.seq, &f.year)?;
        sheet.text(r, 2, &p.voucher_no, &f.text)?;
        sheet.text(r, 3, &p.credit_code, &f.text)?;
        sheet.text(r, 4, &l.enterprise_name, &f.text)?;
        sheet.text(r, 5, kind_zh(&p.kind)?, &f.text)?;
        sheet.number(r, 6, i64::from(p.subsidy_year), &f.year)?;
        sheet.text(r, 7, &p.contract_no, &f.text)?;
        sheet.money(r, 8, p.basis_fen, &f.money)?;
        match p.transaction_date {
            Some(date) => sheet.date(r, 9, date, &f.date)?,
            None => sheet.text(r, 9, "", &f.text)?,
        }
        sheet.money(r, 10, p.amount_fen, &f.money)?;
        sheet.date(r, 11, p.payment_date, &f.date)?;
        match v {
            Some(v) => {
                sheet.money(r, 12, v.eligible_fen, &f.money)?;
                sheet.money(r, 13, v.cut_fen, &f.money)?;
                let primary = match v.primary_reason.as_deref() {
                    Some(code) => {
                        reason_zh(ReasonCode::from_str(code).map_err(AppError::internal)?)
                    }
                    None => "",
                };
                sheet.text(r, 14, primary, &f.text)?;
            }
            None => {
                for c in 12..=14 {
                    sheet.text(r, c, "", &f.text)?;
                }
            }
        }
        let reasons = l
            .reasons
            .iter()
            .map(|reason| {
                format!(
                    "{}（{}）：{}",
                    reason_zh(reason.code),
                    reason.clause.as_str(),
                    reason.detail
                )
            })
            .collect::<Vec<_>>()
            .join("；");
        sheet.text(r, 15, &reasons, &f.text)?;
        let group = match v.and_then(|v| v.ratio_group.as_deref()) {
            Some(key) => ratio_group_words(key, l)?,
            None => String::new(),
        };
        sheet.text(r, 16, &group, &f.text)?;
        match v.and_then(|v| v.group_limit_fen) {
            Some(limit) => sheet.money(r, 17, limit, &f.money)?,
            None => sheet.text(r, 17, "", &f.text)?,
        }
        r += 1;
    }
    let total_row = r;
    sheet.text(total_row, 0, "合计", &f.total_label)?;
    if !book.lines.is_empty() {
        let last = total_row - 1;
        let amounts = checked_sum(book.lines.iter().map(|l| l.line.amount_fen))?;
        let eligible = checked_sum(
            book.lines
                .iter()
                .map(|l| l.verdict.as_ref().map_or(0, |v| v.eligible_fen)),
        )?;
        let cut = checked_sum(
            book.lines
                .iter()
                .map(|l| l.verdict.as_ref().map_or(0, |v| v.cut_fen)),
        )?;
        sheet.total(total_row, 10, first, last, amounts, &f.total_money)?;
        sheet.total(total_row, 12, first, last, eligible, &f.total_money)?;
        sheet.total(total_row, 13, first, last, cut, &f.total_money)?;
        sheet
            .ws
            .autofilter(header_row, 0, last, last_col)
            .map_err(xlsx)?;
    }
    sheet.finish(header_row, 5)
}

fn adjustments_sheet(ws: &mut Worksheet, book: &SettlementBook, f: &Formats) -> AppResult<()> {
    ws.set_name(ADJUSTMENTS_SHEET).map_err(xlsx)?;
    let header = [
        "区县",
        "原结算年度",
        "计入年度",
        "核查发现编号",
        "调整金额",
        "所涉认定额（e）",
        "区县认定总额（E）",
        "区县核定补助额（G）",
        "原因",
        "记录时间（北京时间）",
    ];
    let (mut sheet, last_col) = Sheet::titled(
        ws,
        &format!("{}·调整", title_of(book)),
        "单位：元；调整金额 = −floor(e × G / E)",
        &header,
        f,
    )?;
    let header_row = HEADER_ROW;
    let first = header_row + 1;
    let mut r = first;
    let date_time = Format::new()
        .set_border(FormatBorder::Thin)
        .set_num_format(DATE_TIME);
    for a in &book.adjustments {
        let x = &a.adjustment;
        sheet.text(r, 0, &a.district_name, &f.text)?;
        sheet.number(r, 1, i64::from(x.original_year), &f.year)?;
        sheet.number(r, 2, i64::from(x.target_year), &f.year)?;
        sheet.number(r, 3, x.finding_id, &f.year)?;
        sheet.money(r, 4, x.amount_fen, &f.money)?;
        sheet.money(r, 5, x.found_eligible_fen, &f.money)?;
        sheet.money(r, 6, x.district_eligible_fen, &f.money)?;
        sheet.money(r, 7, x.district_granted_fen, &f.money)?;
        sheet.text(r, 8, &x.reason, &f.text)?;
        sheet
            .ws
            .write_datetime_with_format(r, 9, date_time_cell(x.created_at)?, &date_time)
            .map_err(xlsx)?;
        sheet.fit(9, 19);
        r += 1;
    }
    sheet.text(r, 0, "合计", &f.total_label)?;
    if book.adjustments.is_empty() {
        sheet.money(r, 4, 0, &f.total_money)?;
    } else {
        let sum = checked_sum(book.adjustments.iter().map(|a| a.adjustment.amount_fen))?;
        sheet.total(r, 4, first, r - 1, sum, &f.total_money)?;
        sheet
            .ws
            .autofilter(header_row, 0, r - 1, last_col)
            .map_err(xlsx)?;
    }
    sheet.finish(header_row, 1)
}

fn reasons_sheet(ws: &mut Worksheet, f: &Formats) -> AppResult<()> {
    ws.set_name(REASONS_SHEET).map_err(xlsx)?;
    let mut sheet = Sheet {
        ws,
        widths: Vec::new(),
    };
    sheet
        .ws
        .merge_range(
            0,
            0,
            0,
            4,
            "核减原因及政策依据（杭政办〔2023〕3号）",
            &f.title,
        )
        .map_err(xlsx)?;
    let header_row = 1;
    for (i, title) in ["原因代码", "原因", "条款", "条款内容", "核减条件"]
        .iter()
        .enumerate()
    {
        sheet.text(header_row, col(i)?, title, &f.header)?;
    }
    let mut r = header_row + 1;
    for code in ReasonCode::ALL {
        let clause: Clause = code.clause();
        sheet.text(r, 0, code.as_str(), &f.text)?;
        sheet.text(r, 1, reason_zh(code), &f.text)?;
        sheet.text(r, 2, clause.as_str(), &f.text)?;
        sheet.text(r, 3, clause.title(), &f.text)?;
        sheet.text(r, 4, code.condition(), &f.text)?;
        r += 1;
    }
    r += 1;
    for note in [
        "金额单位为元，精确到分；各合计行为公式，其缓存值即接口所示合计。",
        "一笔拨付的主要核减原因为按上表顺序的第一个原因；结算表按主要原因汇总核减金额。",
        "比例分组：租房补助按区县、企业、补助年度分组，购房补助按区县、企业、合同分组，组内认定额不超过比例与上限之较小者。",
    ] {
        sheet.ws.write_string(r, 0, note).map_err(xlsx)?;
        r += 1;
    }
    sheet.finish(header_row, 0)
}

// ---------------------------------------------------------------------------------------------
// The benefits workbook (权益表)
// ---------------------------------------------------------------------------------------------

/// The name of the benefits sheet.
pub const BENEFITS_SHEET: &str = "权益表";
/// The name of the benefits workbook's reason sheet.
pub const BENEFIT_REASONS_SHEET: &str = "说明";
/// The row (0-based) of the benefits sheet's column headers.
pub const BENEFITS_HEADER_ROW: u32 = 4;

/// A benefit reason in words, as the HQ office says it.
#[must_use]
pub const fn benefit_reason_zh(code: BenefitReason) -> &'static str {
    match code {
        BenefitReason::NotRecognized => "当年未获总部企业认定",
        BenefitReason::TitleRevoked => "总部企业称号已撤销",
        BenefitReason::NotRated => "当年尚未评定星级",
        BenefitReason::StarsBelow3 => "星级低于三星",
        BenefitReason::TierAlreadyPaid => "已获奖励已达档次金额（差额为零）",
        BenefitReason::OwnsOffice => "在杭已有自有办公用房",
        BenefitReason::RentAndPurchase => "已申报购房补助，不再享受租房补助",
        BenefitReason::PurchaseAndRent => "已享受租房补助，不再享受购房补助",
        BenefitReason::PurchaseNotFirst => "非首次购置办公用房",
        BenefitReason::NoParameter => "未设定相应参数",
    }
}

fn reward_state_zh(state: RewardState) -> &'static str {
    match state {
        RewardState::Granted => "已发放",
        RewardState::Due => "应发放",
        RewardState::NothingDue => "无",
    }
}

fn notes_zh(notes: &[&BenefitNote]) -> String {
    notes
        .iter()
        .map(|n| {
            format!(
                "{}（{}）：{}",
                benefit_reason_zh(n.code),
                n.clause.as_str(),
                n.detail
            )
        })
        .collect::<Vec<_>>()
        .join("；")
}

/// A ratio as the spreadsheet number it shows under `0.00%` (a display value: the exact ratio
/// is the API's).
fn ratio_cell(ratio: rust_decimal::Decimal) -> AppResult<f64> {
    ratio.to_string().parse().map_err(AppError::internal)
}

/// The money columns of the benefits sheet that are totalled, by index.
const BENEFIT_TOTALS: [u16; 7] = [8, 9, 10, 15, 16, 20, 21];

/// The benefits workbook of `book`: one row per HQ with its §6 reward, §7 subsidies and §8,
/// §10, §12 parameters, the totals of the money columns as `SUM` formulas, and the reasons.
///
/// # Errors
/// Internal error if the workbook cannot be written or a total overflows.
pub fn benefits_workbook(book: &BenefitsBook) -> AppResult<Vec<u8>> {
    let mut workbook = Workbook::new();
    let formats = Formats::new();
    benefits_sheet(workbook.add_worksheet(), book, &formats)?;
    benefit_reasons_sheet(workbook.add_worksheet(), &formats)?;
    workbook.save_to_buffer().map_err(xlsx)
}

#[allow(clippy::too_many_lines)] // one column after the other, as the sheet reads
fn benefits_sheet(ws: &mut Worksheet, book: &BenefitsBook, f: &Formats) -> AppResult<()> {
    ws.set_name(BENEFITS_SHEET).map_err(xlsx)?;
    let header = [
        "统一社会信用代码",
        "企业名称",
        "区县",
        "星级",
        "认定日期",
        "撤销日期",
        "星级奖励状态（§6）",
        "奖励档次金额",
        "本年度奖励金额",
        "其中市级承担",
        "其中区县承担",
        "累计已获奖励",
        "租房补助（§7）",
        "租房补助比例",
        "租房补助年度上限",
        "租房补助已拨付",
        "租房补助认定金额",
        "购房补助（§7）",
        "购房补助比例",
        "购房补助上限",
        "购房补助已拨付",
        "购房补助认定金额",
        "研发补助上浮百分点（§8）",
        "人才名额（§10）",
        "小客车指标（§12）",
        "说明及依据",
        "参数版本",
    ];
    let last_col = col(header.len() - 1)?;
    let mut sheet = Sheet {
        ws,
        widths: Vec::new(),
    };
    let title = format!("杭州市总部企业政策权益表（{}年度）", book.year);
    sheet
        .ws
        .merge_range(0, 0, 0, last_col, &title, &f.title)
        .map_err(xlsx)?;
    sheet.ws.set_row_height(0, 28).map_err(xlsx)?;
    sheet
        .ws
        .write_string_with_format(1, 0, "年度", &f.label)
        .map_err(xlsx)?;
    sheet
        .ws
        .write_number(1, 1, f64::from(book.year))
        .map_err(xlsx)?;
    sheet
        .ws
        .write_string_with_format(1, 3, "单位", &f.label)
        .map_err(xlsx)?;
    sheet.ws.write_string(1, 4, "元").map_err(xlsx)?;
    sheet
        .ws
        .write_string_with_format(2, 0, "生成时间（北京时间）", &f.label)
        .map_err(xlsx)?;
    sheet
        .ws
        .write_datetime_with_format(2, 1, date_time_cell(book.generated_at)?, &f.date_time)
        .map_err(xlsx)?;
    if let Some(own) = &book.district_scope {
        sheet
            .ws
            .write_string(3, 0, format!("本表仅含本区县（{own}）总部企业"))
            .map_err(xlsx)?;
    }
    let header_row = BENEFITS_HEADER_ROW;
    for (i, text) in header.iter().enumerate() {
        sheet.text(header_row, col(i)?, text, &f.header)?;
    }
    for (i, text) in header.iter().enumerate() {
        sheet.widths[i] = text_width(text).min(10);
    }
    sheet.fit(1, 19);
    sheet.ws.set_row_height(header_row, 48).map_err(xlsx)?;
    let percent = Format::new()
        .set_border(FormatBorder::Thin)
        .set_num_format("0.00%");
    let points = Format::new()
        .set_border(FormatBorder::Thin)
        .set_num_format("0.00");
    let yes_no = |open: bool| if open { "可享受" } else { "不可享受" };
    let first = header_row + 1;
    let mut r = first;
    for row in &book.rows {
        let b = &row.benefits;
        let district = row
            .district_today
            .as_deref()
            .map(|code| book.district_names.get(code).map_or(code, String::as_str))
            .unwrap_or("杭州市外");
        sheet.text(r, 0, &row.credit_code, &f.text)?;
        sheet.text(r, 1, &row.name, &f.text)?;
        sheet.text(r, 2, district, &f.text)?;
        match b.stars {
            Some(stars) => sheet.number(r, 3, i64::from(stars.get()), &f.year)?,
            None => sheet.text(r, 3, "", &f.text)?,
        }
        for (c, date) in [(4, b.recognized_on), (5, b.revoked_on)] {
            match date {
                Some(date) => sheet.date(r, c, date, &f.date)?,
                None => sheet.text(r, c, "", &f.text)?,
            }
        }
        let reward = &b.star_reward;
        sheet.text(r, 6, reward_state_zh(reward.state), &f.text)?;
        sheet.money(r, 7, reward.tier.fen(), &f.money)?;
        sheet.money(r, 8, reward.due.fen(), &f.money)?;
        sheet.money(r, 9, reward.split.city.fen(), &f.money)?;
        sheet.money(r, 10, reward.split.district.fen(), &f.money)?;
        sheet.money(r, 11, reward.granted_so_far.fen(), &f.money)?;
        for (c, subsidy) in [(12, &b.rent), (17, &b.purchase)] {
            sheet.text(r, c, yes_no(subsidy.open), &f.text)?;
            sheet
                .ws
                .write_number_with_format(r, c + 1, ratio_cell(subsidy.ratio)?, &percent)
                .map_err(xlsx)?;
            sheet.fit(c + 1, 7);
            sheet.money(r, c + 2, subsidy.cap.fen(), &f.money)?;
            sheet.money(r, c + 3, subsidy.paid.fen(), &f.money)?;
            sheet.money(r, c + 4, subsidy.eligible.fen(), &f.money)?;
        }
        match b.rd_uplift.value {
            Some(uplift) => {
                let shown = ratio_cell(uplift * rust_decimal::Decimal::ONE_HUNDRED)?;
                sheet
                    .ws
                    .write_number_with_format(r, 22, shown, &points)
                    .map_err(xlsx)?;
                sheet.fit(22, 6);
            }
            None => sheet.text(r, 22, "", &f.text)?,
        }
        for (c, quota) in [(23, &b.talent_quota), (24, &b.vehicle_quota)] {
            match quota.value {
                Some(n) => sheet.number(r, c, i64::from(n), &f.year)?,
                None => sheet.text(r, c, "", &f.text)?,
            }
        }
        let notes: Vec<&BenefitNote> = reward
            .note
            .iter()
            .chain(&b.rent.notes)
            .chain(&b.purchase.notes)
            .chain(&b.rd_uplift.note)
            .chain(&b.talent_quota.note)
            .chain(&b.vehicle_quota.note)
            .collect();
        sheet.text(r, 25, &notes_zh(&notes), &f.text)?;
        let versions = b
            .parameter_versions
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        sheet.text(r, 26, &versions, &f.text)?;
        r += 1;
    }
    let total_row = r;
    sheet.text(total_row, 0, "合计", &f.total_label)?;
    if !book.rows.is_empty() {
        let last = total_row - 1;
        for c in BENEFIT_TOTALS {
            let values = book.rows.iter().map(|row| {
                let b = &row.benefits;
                match c {
                    8 => b.star_reward.due.fen(),
                    9 => b.star_reward.split.city.fen(),
                    10 => b.star_reward.split.district.fen(),
                    15 => b.rent.paid.fen(),
                    16 => b.rent.eligible.fen(),
                    20 => b.purchase.paid.fen(),
                    _ => b.purchase.eligible.fen(),
                }
            });
            let sum = checked_sum(values)?;
            sheet.total(total_row, c, first, last, sum, &f.total_money)?;
        }
        sheet
            .ws
            .autofilter(header_row, 0, last, last_col)
            .map_err(xlsx)?;
    }
    sign_off(&mut sheet, total_row + 2, f)?;
    sheet.finish(header_row, 2)
}

fn benefit_reasons_sheet(ws: &mut Worksheet, f: &Formats) -> AppResult<()> {
    ws.set_name(BENEFIT_REASONS_SHEET).map_err(xlsx)?;
    let (mut sheet, _) = Sheet::titled(
        ws,
        "权益说明：不可享受或无奖励的原因",
        "条款见各项说明",
        &["原因代码", "原因", "含义"],
        f,
    )?;
    for (r, reason) in (HEADER_ROW + 1..).zip(BenefitReason::ALL) {
        sheet.text(r, 0, reason.as_str(), &f.text)?;
        sheet.text(r, 1, benefit_reason_zh(reason), &f.text)?;
        sheet.text(r, 2, reason.description(), &f.text)?;
    }
    sheet.finish(HEADER_ROW, 0)
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use calamine::{Data, Reader, Xlsx};
    use chrono::{NaiveDate, TimeZone, Utc};
    use entity::{adjustments, line_verdicts, payment_lines, settlement_lines, settlements};

    use super::*;
    use crate::services::export::{BookAdjustment, BookDistrict, BookLine};

    fn at() -> chrono::DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 3, 1, 2, 30, 0).unwrap()
    }

    fn district(code: &str, name: &str, eligible: i64, cut: i64) -> BookDistrict {
        let mut cut_by_reason = vec![0; ReasonCode::ALL.len()];
        cut_by_reason[1] = cut;
        BookDistrict {
            line: settlement_lines::Model {
                id: 1,
                settlement_id: 1,
                district_code: code.into(),
                reported_fen: eligible + cut,
                eligible_fen: eligible,
                cut_fen: cut,
                cut_by_reason: String::new(),
                reimbursement_fen: eligible / 5,
                granted_fen: eligible / 5,
                adjustments_fen: -101,
                net_payable_fen: eligible / 5 - 101,
                zero_reason: None,
            },
            name: name.into(),
            cut_by_reason,
        }
    }

    fn line(id: i64, amount: i64, eligible: i64) -> BookLine {
        BookLine {
            line: payment_lines::Model {
                id,
                seq: id,
                district_code: "330102".into(),
                fiscal_year: 2023,
                enterprise_id: 7,
                credit_code: "913301007161058123".into(),
                kind: "RENT".into(),
                subsidy_year: 2023,
                contract_no: "=HYPERLINK(\"x\")".into(),
                basis_fen: amount * 10,
                transaction_date: None,
                amount_fen: amount,
                payment_date: NaiveDate::from_ymd_opt(2023, 6, 30).unwrap(),
                voucher_no: format!("记-{id:03}"),
                reported_at: at(),
                reported_by: "clerk".into(),
            },
            district_name: "上城区".into(),
            enterprise_name: "杭州某某总部有限公司".into(),
            verdict: Some(line_verdicts::Model {
                id,
                line_id: id,
                claim_id: 1,
                eligible_fen: eligible,
                cut_fen: amount - eligible,
                reasons: String::new(),
                primary_reason: (amount > eligible).then(|| "OVER_DISTRICT_RATIO".into()),
                ratio_group: Some("RENT:330102:7:2023".into()),
                group_limit_fen: Some(eligible),
                parameter_versions: "[]".into(),
                decided_at: at(),
                decided_by: "finance".into(),
            }),
            reasons: Vec::new(),
        }
    }

    fn book() -> SettlementBook {
        let districts = vec![
            district("330102", "上城区", 12_345_678_901, 1_000),
            district("330105", "拱墅区", 1, 0),
        ];
        let eligible = 12_345_678_901 + 1;
        SettlementBook {
            settlement: settlements::Model {
                id: 1,
                fiscal_year: 2023,
                status: "APPROVED".into(),
                rate: "0.2".into(),
                budget_fen: Some(500_000_000_000),
                reported_fen: eligible + 1_000,
                eligible_fen: eligible,
                cut_fen: 1_000,
                reimbursement_fen: 12_345_678_901 / 5,
                granted_fen: 12_345_678_901 / 5,
                adjustments_fen: -202,
                net_payable_fen: 12_345_678_901 / 5 - 202,
                parameter_versions: "[]".into(),
                drafted_at: at(),
                drafted_by: "finance".into(),
                approved_at: Some(at()),
                approved_by: Some("finance".into()),
                lock_version: 2,
                audit_head_at_approval: Some("ab".repeat(32)),
            },
            district_scope: None,
            districts,
            lines: vec![line(1, 300_001, 200_000), line(2, 99, 99)],
            adjustments: vec![BookAdjustment {
                adjustment: adjustments::Model {
                    id: 1,
                    finding_id: 3,
                    district_code: "330102".into(),
                    original_settlement_id: 0,
                    original_year: 2022,
                    target_year: 2023,
                    amount_fen: -202,
                    found_eligible_fen: 1_000,
                    district_eligible_fen: 10_000,
                    district_granted_fen: 2_020,
                    reason: "审计发现".into(),
                    created_at: at(),
                },
                district_name: "上城区".into(),
            }],
            generated_at: at(),
        }
    }

    /// The cell's value as a number, or a panic naming the cell.
    fn number(range: &calamine::Range<Data>, at: (u32, u32)) -> f64 {
        match range.get_value(at) {
            Some(Data::Float(x)) => *x,
            other => panic!("cell {at:?} is not a number: {other:?}"),
        }
    }

    fn text(range: &calamine::Range<Data>, at: (u32, u32)) -> String {
        match range.get_value(at) {
            Some(Data::String(s)) => s.clone(),
            other => panic!("cell {at:?} is not text: {other:?}"),
        }
    }

    #[test]
    fn money_is_numeric_dates_are_dates_and_totals_are_formulas_caching_the_api_totals() {
        let book = book();
        let bytes = settlement_workbook(&book).unwrap();
        let mut xlsx: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).unwrap();
        assert_eq!(
            xlsx.sheet_names(),
            [SUMMARY_SHEET, LINES_SHEET, ADJUSTMENTS_SHEET, REASONS_SHEET]
        );

        let summary = xlsx.worksheet_range(SUMMARY_SHEET).unwrap();
        let formulas = xlsx.worksheet_formula(SUMMARY_SHEET).unwrap();
        assert!(text(&summary, (0, 0)).contains("（2023年度）"));
        assert_eq!(text(&summary, (3, 1)), "ab".repeat(32), "the audit head");
        assert!(matches!(summary.get_value((2, 1)), Some(Data::DateTime(_))));
        let first = SUMMARY_HEADER_ROW + 1;
        assert_eq!(text(&summary, (SUMMARY_HEADER_ROW, 1)), "区县");
        assert_eq!(text(&summary, (first, 1)), "上城区");
        assert_eq!(number(&summary, (first, 4)), 123_456_789.01);
        let total = first + 2;
        assert_eq!(text(&summary, (total, 0)), "合计");
        let s = &book.settlement;
        for (col, fen) in [
            (3, s.reported_fen),
            (4, s.eligible_fen),
            (5, s.cut_fen),
            (16, s.reimbursement_fen),
            (17, s.granted_fen),
            (18, s.adjustments_fen),
            (19, s.net_payable_fen),
        ] {
            let formula = formulas.get_value((total, col)).unwrap();
            let range = format!(
                "SUM({})",
                cell_range(
                    first,
                    u16::try_from(col).unwrap(),
                    first + 1,
                    u16::try_from(col).unwrap()
                )
            );
            assert!(formula.contains(&range), "column {col}: {formula}");
            assert_eq!(
                number(&summary, (total, col)),
                yuan(fen),
                "column {col}: the cached result is the API's total"
            );
        }
        assert_eq!(number(&summary, (first, 20)), 2024.0, "years are numbers");

        let lines = xlsx.worksheet_range(LINES_SHEET).unwrap();
        let line_formulas = xlsx.worksheet_formula(LINES_SHEET).unwrap();
        assert_eq!(
            text(&lines, (3, 3)),
            "913301007161058123",
            "the credit code is text"
        );
        assert_eq!(
            text(&lines, (3, 7)),
            "=HYPERLINK(\"x\")",
            "a typed formula stays text"
        );
        assert!(line_formulas.get_value((3, 7)).is_none_or(String::is_empty));
        assert_eq!(text(&lines, (3, 5)), "租房补助");
        assert_eq!(number(&lines, (3, 6)), 2023.0);
        assert_eq!(number(&lines, (3, 10)), 3000.01);
        assert!(matches!(lines.get_value((3, 11)), Some(Data::DateTime(_))));
        assert_eq!(text(&lines, (3, 14)), "超过区县补助比例或上限");
        assert_eq!(
            text(&lines, (3, 16)),
            "上城区·杭州某某总部有限公司·2023年度租房补助"
        );
        assert!(
            line_formulas
                .get_value((5, 10))
                .unwrap()
                .contains("SUM(K4:K5)")
        );
        assert_eq!(number(&lines, (5, 10)), yuan(300_100));
        assert_eq!(number(&lines, (5, 12)), yuan(200_099));

        let adjustments = xlsx.worksheet_range(ADJUSTMENTS_SHEET).unwrap();
        assert_eq!(number(&adjustments, (3, 4)), -2.02);
        assert_eq!(number(&adjustments, (4, 4)), yuan(s.adjustments_fen));
        assert!(matches!(
            adjustments.get_value((3, 9)),
            Some(Data::DateTime(_))
        ));

        let reasons = xlsx.worksheet_range(REASONS_SHEET).unwrap();
        assert_eq!(text(&reasons, (2, 0)), "OUTSIDE_POLICY_PERIOD");
        assert_eq!(text(&reasons, (2, 2)), "§final");
    }

    #[test]
    fn an_unknown_stored_kind_is_an_error_not_a_blank() {
        let mut book = book();
        book.lines[0].line.kind = "LEASE".into();
        assert!(settlement_workbook(&book).is_err());
    }
}
