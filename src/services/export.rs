//! Settlement exports: a district summary (CSV, and the first sheet of the XLSX workbook) and a
//! line sheet down to every payment's verdict. Amounts are written exactly as the API shows them
//! (decimal text with two places), so the file's figures are the GraphQL figures to the fen.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::auth::{Actor, Role};
use crate::error::{AppError, AppResult};
use crate::policy::money::Money;
use crate::policy::reconciliation::{CutReason, ReasonCode};
use crate::policy::settlement::ClaimStatus;
use crate::services::reconciliation;
use crate::services::settlement::{self, StoredSettlement};
use entity::{claims, districts, payment_lines};

fn yuan(fen: i64) -> String {
    Money::from_fen(fen).to_decimal().to_string()
}

/// A text cell a district typed (voucher, contract): one that a spreadsheet would read as a
/// formula (`=`, `+`, `-`, `@`, tab, carriage return first) gets a leading apostrophe.
fn text_cell(value: &str) -> String {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    }
}

/// A table: a header row and data rows, all text.
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// Column names.
    pub header: Vec<String>,
    /// Rows.
    pub rows: Vec<Vec<String>>,
    /// Columns of digits that are not numbers (credit codes), which a spreadsheet must keep as
    /// text.
    pub text_columns: Vec<usize>,
}

/// Both tables of a settlement export, as the actor may see them.
#[derive(Debug, Clone)]
pub struct SettlementExport {
    /// The fiscal year.
    pub fiscal_year: i32,
    /// One row per district (and the city total for staff readers).
    pub districts: Table,
    /// One row per payment line of the reconciled claims, with its verdict.
    pub lines: Table,
}

fn ensure_reader(actor: &Actor) -> AppResult<()> {
    match actor.role {
        Role::HqOffice | Role::CityFinance | Role::Auditor | Role::District => Ok(()),
        Role::Viewer => Err(AppError::Forbidden(
            "settlement figures are confidential".into(),
        )),
    }
}

/// Builds the export of `fiscal_year` for `actor` (a district sees its own district only).
///
/// # Errors
/// `FORBIDDEN` for roles without access; `NOT_FOUND` before the first draft.
#[tracing::instrument(name = "settlement.export", skip_all, fields(role = %actor.role, fiscal_year))]
pub async fn settlement_export<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    fiscal_year: i32,
) -> AppResult<SettlementExport> {
    ensure_reader(actor)?;
    let stored = settlement::get(conn, fiscal_year)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no settlement drafted for {fiscal_year}")))?;
    let scope = actor.district_scope();
    let names: HashMap<String, String> = districts::Entity::find()
        .all(conn)
        .await?
        .into_iter()
        .map(|d| (d.code, d.name))
        .collect();
    let districts = district_table(&stored, scope, &names)?;
    let lines = line_table(conn, fiscal_year, scope).await?;
    Ok(SettlementExport {
        fiscal_year,
        districts,
        lines,
    })
}

fn district_table(
    stored: &StoredSettlement,
    scope: Option<&str>,
    names: &HashMap<String, String>,
) -> AppResult<Table> {
    let mut header: Vec<String> = [
        "fiscal_year",
        "status",
        "district_code",
        "district_name",
        "zero_reason",
        "reported",
        "eligible",
        "cut",
    ]
    .iter()
    .map(|s| (*s).to_string())
    .collect();
    header.extend(
        ReasonCode::ALL
            .iter()
            .map(|r| format!("cut_{}", r.as_str())),
    );
    header.extend(
        [
            "rate",
            "reimbursement",
            "granted",
            "adjustments",
            "net_payable",
            "payable_year",
        ]
        .iter()
        .map(|s| (*s).to_string()),
    );
    let s = &stored.settlement;
    let mut rows = Vec::new();
    for line in stored
        .lines
        .iter()
        .filter(|l| scope.is_none_or(|own| own == l.district_code))
    {
        let by_reason: HashMap<String, i64> =
            serde_json::from_str(&line.cut_by_reason).map_err(AppError::internal)?;
        let mut row = vec![
            s.fiscal_year.to_string(),
            s.status.clone(),
            line.district_code.clone(),
            names.get(&line.district_code).cloned().unwrap_or_default(),
            line.zero_reason.clone().unwrap_or_default(),
            yuan(line.reported_fen),
            yuan(line.eligible_fen),
            yuan(line.cut_fen),
        ];
        row.extend(
            ReasonCode::ALL
                .iter()
                .map(|r| yuan(by_reason.get(r.as_str()).copied().unwrap_or(0))),
        );
        row.extend([
            s.rate.clone(),
            yuan(line.reimbursement_fen),
            yuan(line.granted_fen),
            yuan(line.adjustments_fen),
            yuan(line.net_payable_fen),
            settlement::payable_year(s.fiscal_year).to_string(),
        ]);
        rows.push(row);
    }
    if scope.is_none() {
        let mut total = vec![
            s.fiscal_year.to_string(),
            s.status.clone(),
            "TOTAL".to_string(),
            "杭州市".to_string(),
            String::new(),
            yuan(s.reported_fen),
            yuan(s.eligible_fen),
            yuan(s.cut_fen),
        ];
        for reason in ReasonCode::ALL {
            let mut sum = Money::ZERO;
            for line in &stored.lines {
                let by_reason: HashMap<String, i64> =
                    serde_json::from_str(&line.cut_by_reason).map_err(AppError::internal)?;
                let cut = Money::from_fen(by_reason.get(reason.as_str()).copied().unwrap_or(0));
                sum = sum
                    .checked_add(cut)
                    .ok_or_else(|| AppError::internal("Σ cut by reason overflows"))?;
            }
            total.push(yuan(sum.fen()));
        }
        total.extend([
            s.rate.clone(),
            yuan(s.reimbursement_fen),
            yuan(s.granted_fen),
            yuan(s.adjustments_fen),
            yuan(s.net_payable_fen),
            settlement::payable_year(s.fiscal_year).to_string(),
        ]);
        rows.push(total);
    }
    Ok(Table {
        header,
        rows,
        text_columns: Vec::new(),
    })
}

/// The position of `credit_code` in the line table.
const CREDIT_CODE_COLUMN: usize = 3;

async fn line_table<C: ConnectionTrait>(
    conn: &C,
    fiscal_year: i32,
    scope: Option<&str>,
) -> AppResult<Table> {
    let header: Vec<String> = [
        "district_code",
        "seq",
        "voucher_no",
        "credit_code",
        "kind",
        "subsidy_year",
        "contract_no",
        "basis",
        "transaction_date",
        "amount",
        "payment_date",
        "eligible",
        "cut",
        "primary_reason",
        "reasons",
        "ratio_group",
        "group_limit",
    ]
    .iter()
    .map(|s| (*s).to_string())
    .collect();
    let mut claim_query = claims::Entity::find()
        .filter(claims::Column::FiscalYear.eq(fiscal_year))
        .filter(claims::Column::Status.is_in(ClaimStatus::COUNTED.map(ClaimStatus::as_str)));
    if let Some(own) = scope {
        claim_query = claim_query.filter(claims::Column::DistrictCode.eq(own));
    }
    let claimed: Vec<String> = claim_query
        .all(conn)
        .await?
        .into_iter()
        .map(|c| c.district_code)
        .collect();
    let mut rows = Vec::new();
    if claimed.is_empty() {
        return Ok(Table {
            header,
            rows,
            text_columns: vec![CREDIT_CODE_COLUMN],
        });
    }
    let lines = payment_lines::Entity::find()
        .filter(payment_lines::Column::FiscalYear.eq(fiscal_year))
        .filter(payment_lines::Column::DistrictCode.is_in(claimed))
        .order_by_asc(payment_lines::Column::DistrictCode)
        .order_by_asc(payment_lines::Column::Seq)
        .all(conn)
        .await?;
    let ids: Vec<i64> = lines.iter().map(|l| l.id).collect();
    let verdicts = reconciliation::verdicts_for(conn, &ids).await?;
    for l in lines {
        let v = verdicts.get(&l.id);
        let reasons: Vec<CutReason> = match v {
            Some(v) => serde_json::from_str(&v.reasons).map_err(AppError::internal)?,
            None => Vec::new(),
        };
        rows.push(vec![
            l.district_code.clone(),
            l.seq.to_string(),
            text_cell(&l.voucher_no),
            l.credit_code.clone(),
            l.kind.clone(),
            l.subsidy_year.to_string(),
            text_cell(&l.contract_no),
            yuan(l.basis_fen),
            l.transaction_date
                .map(|d| d.to_string())
                .unwrap_or_default(),
            yuan(l.amount_fen),
            l.payment_date.to_string(),
            v.map(|v| yuan(v.eligible_fen)).unwrap_or_default(),
            v.map(|v| yuan(v.cut_fen)).unwrap_or_default(),
            v.and_then(|v| v.primary_reason.clone()).unwrap_or_default(),
            reasons
                .iter()
                .map(|r| format!("{} ({})", r.code.as_str(), r.clause.as_str()))
                .collect::<Vec<_>>()
                .join("; "),
            v.and_then(|v| v.ratio_group.clone()).unwrap_or_default(),
            v.and_then(|v| v.group_limit_fen)
                .map(yuan)
                .unwrap_or_default(),
        ]);
    }
    Ok(Table {
        header,
        rows,
        text_columns: vec![CREDIT_CODE_COLUMN],
    })
}

/// A table as CSV as spreadsheets on Chinese Windows read it: UTF-8 with a byte-order mark (so
/// Excel and WPS read the Chinese names), CRLF line ends, and the cells of its text columns
/// (credit codes) after a tab.
///
/// Excel reads an 18-digit credit code as a number (`9.13301E+17`) and saves it back with its
/// last digits lost; a code such as `…1E12` it would even read as an exponent. A leading tab
/// makes Excel, WPS and LibreOffice keep the cell as text, shows nothing, and is trimmed by any
/// import (this service's among them). It is not a formula: `="…"` would be one (and is shown
/// literally by a spreadsheet that does not evaluate formulas on import), and an apostrophe is
/// shown literally by Excel when it opens a CSV. Cells a district typed keep their own
/// neutralisation (a leading apostrophe before `=`, `+`, `-`, `@`, tab, carriage return).
///
/// # Errors
/// Internal error if writing fails.
pub fn to_csv(table: &Table) -> AppResult<Vec<u8>> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(b"\xEF\xBB\xBF".to_vec());
    writer
        .write_record(&table.header)
        .map_err(AppError::internal)?;
    for row in &table.rows {
        let cells = row.iter().enumerate().map(|(i, cell)| {
            if table.text_columns.contains(&i) && !cell.is_empty() {
                format!("\t{cell}")
            } else {
                cell.clone()
            }
        });
        writer.write_record(cells).map_err(AppError::internal)?;
    }
    writer.into_inner().map_err(AppError::internal)
}

/// Both tables as an XLSX workbook: sheet `Districts` and sheet `Lines`. Amounts are text cells
/// with exactly the API's digits.
///
/// # Errors
/// Internal error if the workbook cannot be written.
pub fn to_xlsx(export: &SettlementExport) -> AppResult<Vec<u8>> {
    use rust_xlsxwriter::{Format, FormatAlign, Workbook};
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let right = Format::new().set_align(FormatAlign::Right);
    for (name, table) in [("Districts", &export.districts), ("Lines", &export.lines)] {
        let sheet = workbook.add_worksheet();
        sheet.set_name(name).map_err(AppError::internal)?;
        for (col, title) in table.header.iter().enumerate() {
            let col = u16::try_from(col).map_err(AppError::internal)?;
            sheet
                .write_string_with_format(0, col, title, &bold)
                .map_err(AppError::internal)?;
        }
        for (r, row) in table.rows.iter().enumerate() {
            let r = u32::try_from(r + 1).map_err(AppError::internal)?;
            for (col, cell) in row.iter().enumerate() {
                let col = u16::try_from(col).map_err(AppError::internal)?;
                let numeric = !cell.is_empty()
                    && cell
                        .chars()
                        .all(|c| c.is_ascii_digit() || c == '.' || c == '-');
                if numeric {
                    sheet
                        .write_string_with_format(r, col, cell, &right)
                        .map_err(AppError::internal)?;
                } else {
                    sheet
                        .write_string(r, col, cell)
                        .map_err(AppError::internal)?;
                }
            }
        }
    }
    workbook.save_to_buffer().map_err(AppError::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_csv_export_has_a_bom_crlf_credit_codes_kept_as_text_and_no_live_formula() {
        let table = Table {
            header: vec!["credit_code".into(), "voucher_no".into()],
            rows: vec![
                vec!["913301007161058123".into(), text_cell("=HYPERLINK(\"x\")")],
                vec!["91330100716105852F".into(), text_cell("记-001")],
            ],
            text_columns: vec![0],
        };
        let bytes = to_csv(&table).unwrap();
        let text = std::str::from_utf8(&bytes).unwrap();
        assert_eq!(
            text,
            "\u{feff}credit_code,voucher_no\r\n\
             \t913301007161058123,\"'=HYPERLINK(\"\"x\"\")\"\r\n\
             \t91330100716105852F,记-001\r\n"
        );
        assert!(!text.replace("\r\n", "").contains('\n'), "no bare LF");
    }
}
