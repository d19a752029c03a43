//! Settlement exports: a district summary (CSV) and a line sheet down to every payment's verdict,
//! and the same figures typed for the workbook (`services::workbook`). CSV amounts are written
//! exactly as the API shows them (decimal text with two places), so the file's figures are the
//! GraphQL figures to the fen.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::auth::{Actor, Role};
use crate::error::{AppError, AppResult};
use crate::policy::money::Money;
use crate::policy::reconciliation::{CutReason, ReasonCode};
use crate::policy::settlement::ClaimStatus;
use crate::services::reconciliation;
use crate::services::settlement::{self, StoredSettlement};
use entity::{adjustments, claims, districts, enterprise_facts, line_verdicts, payment_lines};

fn yuan(fen: i64) -> String {
    Money::from_fen(fen).to_decimal().to_string()
}

/// A text cell a district typed (voucher, contract): one that a spreadsheet would read as a
/// formula (`=`, `+`, `-`, `@`, tab, carriage return first) gets a leading apostrophe.
pub(crate) fn text_cell(value: &str) -> String {
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
    /// The same figures, typed, for the workbook.
    pub book: SettlementBook,
}

/// A settlement as the workbook lays it out: the stored settlement, its district lines, the
/// payment lines with their verdicts and the adjustments carried into the year, each with the
/// names a reader needs, as the actor may see them.
#[derive(Debug, Clone)]
pub struct SettlementBook {
    /// The settlement (its totals are the city's; a district's workbook shows its own line).
    pub settlement: entity::settlements::Model,
    /// Whether the actor sees one district only (then no city total is shown).
    pub district_scope: Option<String>,
    /// The district lines the actor may see, in district order.
    pub districts: Vec<BookDistrict>,
    /// The payment lines of the counted claims, by district and report order.
    pub lines: Vec<BookLine>,
    /// The adjustments carried into this year's settlement.
    pub adjustments: Vec<BookAdjustment>,
    /// When the export was made.
    pub generated_at: chrono::DateTime<chrono::Utc>,
}

/// One district of the settlement.
#[derive(Debug, Clone)]
pub struct BookDistrict {
    /// The stored district line.
    pub line: entity::settlement_lines::Model,
    /// The district's name.
    pub name: String,
    /// Cut amounts by primary reason, in [`ReasonCode::ALL`] order.
    pub cut_by_reason: Vec<i64>,
}

/// One payment line with its verdict.
#[derive(Debug, Clone)]
pub struct BookLine {
    /// The line as reported.
    pub line: payment_lines::Model,
    /// The reporting district's name.
    pub district_name: String,
    /// The enterprise's name on the payment date (its latest name if none was valid then).
    pub enterprise_name: String,
    /// Its verdict, if reconciled.
    pub verdict: Option<line_verdicts::Model>,
    /// The verdict's reasons.
    pub reasons: Vec<CutReason>,
}

/// One adjustment carried into the settlement.
#[derive(Debug, Clone)]
pub struct BookAdjustment {
    /// The stored adjustment.
    pub adjustment: adjustments::Model,
    /// The district's name.
    pub district_name: String,
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
    let loaded = load_lines(conn, fiscal_year, scope).await?;
    let lines = line_table(&loaded)?;
    let book = settlement_book(conn, stored, scope, &names, loaded).await?;
    Ok(SettlementExport {
        fiscal_year,
        districts,
        lines,
        book,
    })
}

async fn settlement_book<C: ConnectionTrait>(
    conn: &C,
    stored: StoredSettlement,
    scope: Option<&str>,
    names: &HashMap<String, String>,
    loaded: Vec<(payment_lines::Model, Option<line_verdicts::Model>)>,
) -> AppResult<SettlementBook> {
    let name_of = |code: &str| names.get(code).cloned().unwrap_or_default();
    let mut districts = Vec::new();
    for line in stored
        .lines
        .into_iter()
        .filter(|l| scope.is_none_or(|own| own == l.district_code))
    {
        let by_reason: HashMap<String, i64> =
            serde_json::from_str(&line.cut_by_reason).map_err(AppError::internal)?;
        districts.push(BookDistrict {
            name: name_of(&line.district_code),
            cut_by_reason: ReasonCode::ALL
                .iter()
                .map(|r| by_reason.get(r.as_str()).copied().unwrap_or(0))
                .collect(),
            line,
        });
    }
    let enterprise_names = enterprise_names(conn, &loaded).await?;
    let mut lines = Vec::with_capacity(loaded.len());
    for (line, verdict) in loaded {
        let reasons: Vec<CutReason> = match &verdict {
            Some(v) => serde_json::from_str(&v.reasons).map_err(AppError::internal)?,
            None => Vec::new(),
        };
        lines.push(BookLine {
            district_name: name_of(&line.district_code),
            enterprise_name: enterprise_names.get(&line.id).cloned().unwrap_or_default(),
            line,
            verdict,
            reasons,
        });
    }
    let mut adjustment_query = adjustments::Entity::find()
        .filter(adjustments::Column::TargetYear.eq(stored.settlement.fiscal_year))
        .order_by_asc(adjustments::Column::DistrictCode)
        .order_by_asc(adjustments::Column::Id);
    if let Some(own) = scope {
        adjustment_query = adjustment_query.filter(adjustments::Column::DistrictCode.eq(own));
    }
    let adjustments = adjustment_query
        .all(conn)
        .await?
        .into_iter()
        .map(|a| BookAdjustment {
            district_name: name_of(&a.district_code),
            adjustment: a,
        })
        .collect();
    Ok(SettlementBook {
        settlement: stored.settlement,
        district_scope: scope.map(str::to_string),
        districts,
        lines,
        adjustments,
        generated_at: chrono::Utc::now(),
    })
}

/// The name of each line's enterprise on its payment date (else its latest name), by line id.
async fn enterprise_names<C: ConnectionTrait>(
    conn: &C,
    loaded: &[(payment_lines::Model, Option<line_verdicts::Model>)],
) -> AppResult<HashMap<i64, String>> {
    let mut ids: Vec<i64> = loaded.iter().map(|(l, _)| l.enterprise_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut facts: HashMap<i64, Vec<enterprise_facts::Model>> = HashMap::new();
    for chunk in ids.chunks(500) {
        for fact in enterprise_facts::Entity::find()
            .filter(enterprise_facts::Column::EnterpriseId.is_in(chunk.iter().copied()))
            .order_by_asc(enterprise_facts::Column::ValidFrom)
            .all(conn)
            .await?
        {
            facts.entry(fact.enterprise_id).or_default().push(fact);
        }
    }
    Ok(loaded
        .iter()
        .filter_map(|(line, _)| {
            let versions = facts.get(&line.enterprise_id)?;
            let on_date = versions.iter().rev().find(|f| {
                f.valid_from <= line.payment_date
                    && f.valid_to.is_none_or(|to| line.payment_date < to)
            });
            on_date
                .or(versions.last())
                .map(|f| (line.id, f.name.clone()))
        })
        .collect())
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

/// The payment lines of the year's counted claims (a district: its own), by district and
/// report order, each with its verdict.
async fn load_lines<C: ConnectionTrait>(
    conn: &C,
    fiscal_year: i32,
    scope: Option<&str>,
) -> AppResult<Vec<(payment_lines::Model, Option<line_verdicts::Model>)>> {
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
    if claimed.is_empty() {
        return Ok(Vec::new());
    }
    let lines = payment_lines::Entity::find()
        .filter(payment_lines::Column::FiscalYear.eq(fiscal_year))
        .filter(payment_lines::Column::DistrictCode.is_in(claimed))
        .order_by_asc(payment_lines::Column::DistrictCode)
        .order_by_asc(payment_lines::Column::Seq)
        .all(conn)
        .await?;
    let ids: Vec<i64> = lines.iter().map(|l| l.id).collect();
    let mut verdicts = reconciliation::verdicts_for(conn, &ids).await?;
    Ok(lines
        .into_iter()
        .map(|l| {
            let v = verdicts.remove(&l.id);
            (l, v)
        })
        .collect())
}

fn line_table(loaded: &[(payment_lines::Model, Option<line_verdicts::Model>)]) -> AppResult<Table> {
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
    let mut rows = Vec::new();
    for (l, v) in loaded {
        let v = v.as_ref();
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

/// The benefits workbook of a year: every HQ recognised for the year that the reader sees, with
/// its benefits (`/exports/benefits/{year}.xlsx`).
#[derive(Debug, Clone)]
pub struct BenefitsBook {
    /// The year Y.
    pub year: i32,
    /// A district reader's own district, when the book is confined to it.
    pub district_scope: Option<String>,
    /// The district names, by code.
    pub district_names: HashMap<String, String>,
    /// The HQs by credit code, with their benefits.
    pub rows: Vec<crate::services::benefits::BenefitsRow>,
    /// When the file was generated (UTC).
    pub generated_at: chrono::DateTime<chrono::Utc>,
}

/// Builds the benefits book of `year` for `actor`: the access of `benefitsOfYear` (staff
/// readers every HQ, a district its own district's, a viewer nothing).
///
/// # Errors
/// `FORBIDDEN` for a viewer; `BAD_USER_INPUT` for a year outside 2023..=2027; database errors.
#[tracing::instrument(name = "benefits.export", skip_all, fields(role = %actor.role, year))]
pub async fn benefits_export<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    year: i32,
) -> AppResult<BenefitsBook> {
    let filter = crate::services::benefits::YearFilter {
        year,
        district_code: None,
        stars: None,
    };
    let rows = crate::services::benefits::all_of_year(conn, actor, &filter).await?;
    let district_names = districts::Entity::find()
        .all(conn)
        .await?
        .into_iter()
        .map(|d| (d.code, d.name))
        .collect();
    Ok(BenefitsBook {
        year,
        district_scope: actor.district_scope().map(str::to_string),
        district_names,
        rows,
        generated_at: chrono::Utc::now(),
    })
}
