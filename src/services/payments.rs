//! §20 steps 1 and 2: districts report the §7 subsidies they actually paid, and submit their
//! yearly claim; `CITY_FINANCE` returns a claim with a reason.
//!
//! A report is one transaction: every line is validated first, then written, so a batch is all
//! or nothing. The same line again changes nothing, which makes a retried report safe.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{Datelike, NaiveDate, Utc};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde_json::json;

use crate::auth::{Actor, Role};
use crate::error::{AppError, AppResult};
use crate::policy::credit_code::CreditCode;
use crate::policy::money::Money;
use crate::policy::reconciliation::PaymentKind;
use crate::policy::settlement::ClaimStatus;
use crate::services::claim_feed::{self, ClaimFeed};
use crate::services::keyset::{self, KeyOrder, KeyPart, Page, PageRequest};
use crate::services::{audit, locks, tx};
use entity::{
    claim_events, claims, districts, enterprises, line_verdicts, payment_lines,
    withdrawn_payment_lines,
};
use sea_orm::sea_query::Expr;

/// Rows per multi-row INSERT (well under SQLite's limit of bound parameters).
const INSERT_CHUNK: usize = 500;

/// Largest batch accepted by one report.
pub const MAX_LINES_PER_REPORT: usize = 200_000;

/// Values per `IN (...)` list when looking rows up by key (SQLite binds at most 32,766).
const LOOKUP_CHUNK: usize = 1_000;

/// One line as a district reports it (API values, not yet validated).
#[derive(Debug, Clone)]
pub struct LineInput {
    /// The enterprise's unified social credit code.
    pub credit_code: String,
    /// RENT or PURCHASE.
    pub kind: PaymentKind,
    /// The recognition year whose rent or purchase the payment subsidises.
    pub subsidy_year: i32,
    /// Lease or purchase contract number.
    pub contract_no: String,
    /// RENT: rent actually paid that this payment subsidises; PURCHASE: the transaction price.
    pub basis: Decimal,
    /// PURCHASE only: the transaction date.
    pub transaction_date: Option<NaiveDate>,
    /// Amount the district paid.
    pub amount: Decimal,
    /// When the district paid it.
    pub payment_date: NaiveDate,
    /// Voucher number, unique within the district.
    pub voucher_no: String,
}

/// A validated line, ready to compare or store.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ValidLine {
    enterprise_id: i64,
    credit_code: String,
    kind: PaymentKind,
    subsidy_year: i32,
    contract_no: String,
    basis: Money,
    transaction_date: Option<NaiveDate>,
    amount: Money,
    payment_date: NaiveDate,
    voucher_no: String,
}

impl ValidLine {
    fn same_content(&self, row: &payment_lines::Model) -> bool {
        self.enterprise_id == row.enterprise_id
            && self.kind.as_str() == row.kind
            && self.subsidy_year == row.subsidy_year
            && self.contract_no == row.contract_no
            && self.basis.fen() == row.basis_fen
            && self.transaction_date == row.transaction_date
            && self.amount.fen() == row.amount_fen
            && self.payment_date == row.payment_date
            && self.voucher_no == row.voucher_no
    }
}

/// What a report did, line by line.
#[derive(Debug, Clone, Default)]
pub struct ReportOutcome {
    /// Lines written now, in batch order.
    pub created: Vec<payment_lines::Model>,
    /// Lines already reported with the same content (nothing changed), in batch order.
    pub unchanged: Vec<payment_lines::Model>,
}

fn line_field(index: usize, field: &str) -> String {
    format!("lines[{index}].{field}")
}

/// Why one line of a report is refused: its field, a stable English code, and the message in
/// English (as `reportPayments` answers it) and in Chinese (as an import answers a clerk).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// The line's position in the batch.
    pub index: usize,
    /// The field (API name: `amount`, `voucherNo`, …).
    pub field: &'static str,
    /// Stable English code of the refusal (`AMOUNT_NOT_POSITIVE`, `VOUCHER_CONFLICT`, …).
    pub reason: &'static str,
    /// The message in English.
    pub message: String,
    /// The message in Chinese.
    pub message_zh: String,
    /// Whether the line conflicts with what was already reported (`CONFLICT`) rather than
    /// being bad input (`BAD_USER_INPUT`).
    pub conflict: bool,
}

impl LineError {
    fn bad(
        index: usize,
        field: &'static str,
        reason: &'static str,
        message: impl Into<String>,
        message_zh: impl Into<String>,
    ) -> Self {
        LineError {
            index,
            field,
            reason,
            message: message.into(),
            message_zh: message_zh.into(),
            conflict: false,
        }
    }

    fn conflict(
        index: usize,
        field: &'static str,
        reason: &'static str,
        message: impl Into<String>,
        message_zh: impl Into<String>,
    ) -> Self {
        LineError {
            conflict: true,
            ..LineError::bad(index, field, reason, message, message_zh)
        }
    }

    /// The error `reportPayments` answers for this line: `BAD_USER_INPUT` naming
    /// `lines[i].field`, or `CONFLICT` starting with `lines[i]:`.
    pub fn into_app_error(self) -> AppError {
        if self.conflict {
            AppError::Conflict(format!("lines[{}]: {}", self.index, self.message))
        } else {
            AppError::bad_input(line_field(self.index, self.field), self.message)
        }
    }
}

const MAX_TEXT: usize = 100;

fn clean_text(index: usize, field: &'static str, value: &str) -> Result<String, LineError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(LineError::bad(
            index,
            field,
            "EMPTY",
            "must not be empty",
            "不能为空",
        ));
    }
    if value.chars().count() > MAX_TEXT || value.chars().any(char::is_control) {
        return Err(LineError::bad(
            index,
            field,
            "TEXT_TOO_LONG",
            format!("at most {MAX_TEXT} printable characters"),
            format!("最多 {MAX_TEXT} 个可打印字符"),
        ));
    }
    Ok(value.to_string())
}

fn positive_money(index: usize, field: &'static str, value: &Decimal) -> Result<Money, LineError> {
    let money = Money::parse_decimal(value).map_err(|e| {
        LineError::bad(
            index,
            field,
            "BAD_AMOUNT",
            e.to_string(),
            "金额须以元为单位、至多两位小数，且不超过 1,000,000,000,000.00 元",
        )
    })?;
    if money.fen() <= 0 {
        return Err(LineError::bad(
            index,
            field,
            "AMOUNT_NOT_POSITIVE",
            "must be greater than 0",
            "必须大于 0",
        ));
    }
    Ok(money)
}

/// A line's own fields, checked: code, amount, basis, contract and voucher.
type Shape = (CreditCode, Money, Money, String, String);

/// Validates one line's own fields (§20 step 1), without the database.
fn validate_shape(index: usize, fiscal_year: i32, line: &LineInput) -> Result<Shape, LineError> {
    let code = CreditCode::parse(&line.credit_code).map_err(|e| {
        LineError::bad(
            index,
            "creditCode",
            "INVALID_CREDIT_CODE",
            e.to_string(),
            format!("不是有效的统一社会信用代码（18位，校验位正确）：{e}"),
        )
    })?;
    let amount = positive_money(index, "amount", &line.amount)?;
    let basis = positive_money(index, "basis", &line.basis)?;
    if basis < amount {
        return Err(LineError::bad(
            index,
            "basis",
            "BASIS_BELOW_AMOUNT",
            format!(
                "the basis {} is less than the amount paid {}",
                basis.format_yuan(),
                amount.format_yuan()
            ),
            format!(
                "计算基数 {} 小于补助金额 {}",
                basis.format_yuan(),
                amount.format_yuan()
            ),
        ));
    }
    if line.payment_date.year() != fiscal_year {
        return Err(LineError::bad(
            index,
            "paymentDate",
            "PAYMENT_OUTSIDE_YEAR",
            format!("the payment date is outside fiscal year {fiscal_year}"),
            format!("拨付日期不在 {fiscal_year} 财政年度内"),
        ));
    }
    if !(2000..=2100).contains(&line.subsidy_year) {
        return Err(LineError::bad(
            index,
            "subsidyYear",
            "IMPLAUSIBLE_YEAR",
            "not a plausible recognition year",
            "不是合理的认定年度（2000–2100）",
        ));
    }
    match (line.kind, line.transaction_date) {
        (PaymentKind::Purchase, None) => {
            return Err(LineError::bad(
                index,
                "transactionDate",
                "PURCHASE_WITHOUT_DATE",
                "a PURCHASE line needs its transaction date",
                "购房补助须填写成交日期",
            ));
        }
        (PaymentKind::Purchase, Some(date)) if date.year() != line.subsidy_year => {
            return Err(LineError::bad(
                index,
                "subsidyYear",
                "PURCHASE_YEAR_MISMATCH",
                format!(
                    "a PURCHASE line's subsidy year must be the year of its transaction date ({})",
                    date.year()
                ),
                format!("购房补助的补助年度须为成交日期所在年度（{}）", date.year()),
            ));
        }
        (PaymentKind::Rent, Some(_)) => {
            return Err(LineError::bad(
                index,
                "transactionDate",
                "RENT_WITH_DATE",
                "a RENT line has no transaction date",
                "租房补助不填成交日期",
            ));
        }
        _ => {}
    }
    let contract = clean_text(index, "contractNo", &line.contract_no)?;
    let voucher = clean_text(index, "voucherNo", &line.voucher_no)?;
    Ok((code, amount, basis, contract, voucher))
}

/// Whether `year` of settlement is approved (locked).
async fn ensure_year_open<C: ConnectionTrait>(conn: &C, fiscal_year: i32) -> AppResult<()> {
    locks::ensure_open(conn, fiscal_year).await
}

/// Checks that `district_code` names a district and that `actor` may act for it.
///
/// # Errors
/// `BAD_USER_INPUT` for an unknown district, `FORBIDDEN` for another district's actor.
pub async fn check_district<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    district_code: &str,
) -> AppResult<()> {
    if districts::Entity::find_by_id(district_code.to_string())
        .one(conn)
        .await?
        .is_none()
    {
        return Err(AppError::bad_input("districtCode", "unknown district"));
    }
    if let Some(own) = actor.district_scope()
        && own != district_code
    {
        return Err(AppError::Forbidden(format!(
            "a district actor may act only for its own district ({own})"
        )));
    }
    Ok(())
}

/// The one check of who may report a district's payments, made before anything else is read
/// (by `reportPayments` and by the file import, before a byte of the file): a district, for
/// itself only (§20 step 1).
///
/// # Errors
/// `FORBIDDEN` for any other role, or for a district acting for another district.
pub fn authorize_report(actor: &Actor, district_code: &str) -> AppResult<()> {
    if actor.role != Role::District {
        return Err(AppError::Forbidden(
            "only a district reports its payments".into(),
        ));
    }
    if let Some(own) = actor.district_scope()
        && own != district_code
    {
        return Err(AppError::Forbidden(format!(
            "a district actor may act only for its own district ({own})"
        )));
    }
    Ok(())
}

/// What a checked batch did or would do, line by line.
#[derive(Debug, Clone, Default)]
pub struct BatchOutcome {
    /// Positions of the lines written now (or, in a dry run, that would be), in batch order.
    pub created: Vec<usize>,
    /// Positions of the lines already reported with the same content (or repeated within the
    /// batch), in batch order.
    pub unchanged: Vec<usize>,
    /// Every refused line, in the order of the checks (own fields, then enterprises, then
    /// vouchers, then purchase contracts); when any line is refused nothing is written.
    pub refused: Vec<LineError>,
    /// The total amount of the created lines.
    pub created_amount: Money,
    /// The rows written and found, when the batch was written.
    pub rows: ReportOutcome,
}

/// Reports a batch of §7 payments of `district_code` for `fiscal_year` (§20 step 1).
///
/// # Errors
/// `BAD_USER_INPUT` naming the line and field; `CONFLICT` for a voucher already reported with
/// other content (naming the fields that differ), a PURCHASE contract the district reported with
/// another price or date, or a submitted claim;
/// `PERIOD_LOCKED` for an approved year; `FORBIDDEN` for another district.
#[tracing::instrument(name = "payments.report", skip_all, fields(role = %actor.role, district = %district_code, fiscal_year, lines = lines.len()))]
pub async fn report(
    db: &DatabaseConnection,
    actor: &Actor,
    district_code: &str,
    fiscal_year: i32,
    lines: Vec<LineInput>,
) -> AppResult<ReportOutcome> {
    let outcome = check_report(db, actor, district_code, fiscal_year, &lines, false).await?;
    match outcome.refused.into_iter().next() {
        Some(first) => Err(first.into_app_error()),
        None => Ok(outcome.rows),
    }
}

/// Checks every line of a batch and, unless a line is refused or `dry_run` is set, writes it
/// (one transaction, audited). Unlike [`report`], every refused line is answered, not only the
/// first.
///
/// # Errors
/// What concerns the whole batch: `FORBIDDEN`, an empty or oversized batch, an unknown
/// district, `PERIOD_LOCKED`, a submitted claim (`CONFLICT`).
pub async fn check_report(
    db: &DatabaseConnection,
    actor: &Actor,
    district_code: &str,
    fiscal_year: i32,
    lines: &[LineInput],
    dry_run: bool,
) -> AppResult<BatchOutcome> {
    authorize_report(actor, district_code)?;
    if lines.is_empty() {
        return Err(AppError::bad_input("lines", "the batch has no lines"));
    }
    if lines.len() > MAX_LINES_PER_REPORT {
        return Err(AppError::bad_input(
            "lines",
            format!("at most {MAX_LINES_PER_REPORT} lines per report"),
        ));
    }
    if !(2000..=2100).contains(&fiscal_year) {
        return Err(AppError::bad_input(
            "fiscalYear",
            "not a plausible fiscal year",
        ));
    }
    let mut refused = Vec::new();
    let shapes: Vec<Option<Shape>> = lines
        .iter()
        .enumerate()
        .map(|(i, line)| match validate_shape(i, fiscal_year, line) {
            Ok(shape) => Some(shape),
            Err(e) => {
                refused.push(e);
                None
            }
        })
        .collect();

    let txn = tx::begin_write(db).await?;
    check_district(&txn, actor, district_code).await?;
    locks::lock_money_writes(&txn).await?;

    // Resolve enterprises by credit code.
    let codes: Vec<String> = shapes
        .iter()
        .flatten()
        .map(|s| s.0.as_str().to_string())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut known: HashMap<String, i64> = HashMap::new();
    for chunk in codes.chunks(LOOKUP_CHUNK) {
        for e in enterprises::Entity::find()
            .filter(enterprises::Column::CreditCode.is_in(chunk.to_vec()))
            .all(&txn)
            .await?
        {
            known.insert(e.credit_code, e.id);
        }
    }
    let mut valid: Vec<(usize, ValidLine)> = Vec::with_capacity(lines.len());
    for (i, (shape, line)) in shapes.into_iter().zip(lines).enumerate() {
        let Some((code, amount, basis, contract, voucher)) = shape else {
            continue;
        };
        let Some(&enterprise_id) = known.get(code.as_str()) else {
            refused.push(LineError::bad(
                i,
                "creditCode",
                "UNREGISTERED_ENTERPRISE",
                "no enterprise with this credit code is registered",
                "该统一社会信用代码未在企业名录中登记",
            ));
            continue;
        };
        valid.push((
            i,
            ValidLine {
                enterprise_id,
                credit_code: code.as_str().to_string(),
                kind: line.kind,
                subsidy_year: line.subsidy_year,
                contract_no: contract,
                basis,
                transaction_date: line.transaction_date,
                amount,
                payment_date: line.payment_date,
                voucher_no: voucher,
            },
        ));
    }

    // Vouchers: the same content again is a no-op; other content is a conflict that names the
    // fields that differ (only ever the district's own line: vouchers are looked up in it).
    let vouchers: Vec<String> = valid.iter().map(|(_, l)| l.voucher_no.clone()).collect();
    let mut existing: HashMap<String, payment_lines::Model> = HashMap::new();
    for chunk in vouchers.chunks(LOOKUP_CHUNK) {
        for l in payment_lines::Entity::find()
            .filter(payment_lines::Column::DistrictCode.eq(district_code))
            .filter(payment_lines::Column::VoucherNo.is_in(chunk.to_vec()))
            .all(&txn)
            .await?
        {
            existing.insert(l.voucher_no.clone(), l);
        }
    }
    let mut in_batch: HashMap<&str, usize> = HashMap::new();
    let mut to_create: Vec<(usize, &ValidLine)> = Vec::new();
    let mut unchanged = Vec::new();
    let mut unchanged_at = Vec::new();
    for (position, (i, line)) in valid.iter().enumerate() {
        let i = *i;
        if let Some(row) = existing.get(&line.voucher_no) {
            if line.same_content(row) {
                unchanged.push(row.clone());
                unchanged_at.push(i);
                continue;
            }
            let differ = stored_differences(line, row);
            refused.push(LineError::conflict(
                i,
                "voucherNo",
                "VOUCHER_CONFLICT",
                format!(
                    "voucher {} was already reported with different content ({}); to correct it, withdraw the reported line first (withdrawPaymentLines)",
                    line.voucher_no,
                    describe(&differ, false)
                ),
                format!(
                    "凭证号 {} 已报送过且内容不同（{}）；如需更正，请先撤回原明细",
                    line.voucher_no,
                    describe(&differ, true)
                ),
            ));
            continue;
        }
        if let Some(&first) = in_batch.get(line.voucher_no.as_str()) {
            let earlier = &valid[first].1;
            if earlier == line {
                unchanged_at.push(i);
                continue;
            }
            let differ = batch_differences(line, earlier);
            refused.push(LineError::conflict(
                i,
                "voucherNo",
                "VOUCHER_TWICE",
                format!(
                    "voucher {} appears twice in the batch with different content ({})",
                    line.voucher_no,
                    describe(&differ, false)
                ),
                format!(
                    "凭证号 {} 在本批中出现两次且内容不同（{}）",
                    line.voucher_no,
                    describe(&differ, true)
                ),
            ));
            continue;
        }
        in_batch.insert(&line.voucher_no, position);
        to_create.push((i, line));
    }

    // A purchase contract has one price and one transaction date (in the district's own lines:
    // see `check_purchase_contracts`).
    // Lines already reported are answered as unchanged even in a submitted claim or an approved
    // year (a retry changes nothing); only new lines meet the claim and the period lock.
    if !to_create.is_empty() {
        ensure_year_open(&txn, fiscal_year).await?;
        if let Some(claim) = find_claim(&txn, district_code, fiscal_year).await? {
            let status = claim_status(&claim)?;
            if status != ClaimStatus::Returned {
                return Err(AppError::Conflict(format!(
                    "the claim of {district_code} for {fiscal_year} is {}: it takes no new lines until it is returned",
                    status.as_str().to_lowercase()
                )));
            }
        }
    }
    check_purchase_contracts(&txn, district_code, &to_create, &mut refused).await?;

    let created_at: Vec<usize> = to_create.iter().map(|(i, _)| *i).collect();
    // Each amount is within `Money::MAX_INPUT`, but 200,000 of them need not fit in `i64`:
    // such a batch is refused (and rolled back), never wrapped.
    let created_amount = Money::checked_sum_fen(to_create.iter().map(|(_, l)| l.amount.fen()))
        .ok_or_else(|| {
            AppError::bad_input(
                "lines",
                "the lines' total is beyond the range of amounts; report them in smaller batches",
            )
        })?;
    if !refused.is_empty() || dry_run {
        // Nothing is written: the transaction rolls back when dropped.
        return Ok(BatchOutcome {
            created: if dry_run { created_at } else { Vec::new() },
            unchanged: unchanged_at,
            refused,
            created_amount: if dry_run {
                created_amount
            } else {
                Money::from_fen(0)
            },
            rows: ReportOutcome {
                created: Vec::new(),
                unchanged,
            },
        });
    }

    // Report order continues after withdrawn lines too: a sequence number is never reused.
    let reported_max = payment_lines::Entity::find()
        .select_only()
        .column_as(payment_lines::Column::Seq.max(), "max_seq")
        .into_tuple::<Option<i64>>()
        .one(&txn)
        .await?
        .flatten()
        .unwrap_or(0);
    let withdrawn_max = withdrawn_payment_lines::Entity::find()
        .select_only()
        .column_as(withdrawn_payment_lines::Column::Seq.max(), "max_seq")
        .into_tuple::<Option<i64>>()
        .one(&txn)
        .await?
        .flatten()
        .unwrap_or(0);
    let mut next_seq = reported_max.max(withdrawn_max) + 1;
    let now = Utc::now();
    let mut created = Vec::new();
    let first_seq = next_seq;
    let mut rows = Vec::with_capacity(to_create.len());
    for (_, line) in &to_create {
        rows.push(payment_lines::ActiveModel {
            id: NotSet,
            seq: Set(next_seq),
            district_code: Set(district_code.to_string()),
            fiscal_year: Set(fiscal_year),
            enterprise_id: Set(line.enterprise_id),
            credit_code: Set(line.credit_code.clone()),
            kind: Set(line.kind.as_str().to_string()),
            subsidy_year: Set(line.subsidy_year),
            contract_no: Set(line.contract_no.clone()),
            basis_fen: Set(line.basis.fen()),
            transaction_date: Set(line.transaction_date),
            amount_fen: Set(line.amount.fen()),
            payment_date: Set(line.payment_date),
            voucher_no: Set(line.voucher_no.clone()),
            reported_at: Set(now),
            reported_by: Set(actor.sub.clone()),
        });
        next_seq += 1;
    }
    // Multi-row inserts: one statement per chunk instead of one per line. The lines are read
    // back by their report sequence, which this transaction holds exclusively.
    for chunk in rows.chunks(INSERT_CHUNK) {
        payment_lines::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(&txn)
            .await?;
    }
    if !rows.is_empty() {
        created = payment_lines::Entity::find()
            .filter(payment_lines::Column::Seq.gte(first_seq))
            .filter(payment_lines::Column::Seq.lt(next_seq))
            .order_by_asc(payment_lines::Column::Seq)
            .all(&txn)
            .await?;
    }
    if !created.is_empty() {
        audit::record(
            &txn,
            actor,
            audit::AuditEntry {
                operation: "reportPayments",
                target_type: "payment_lines",
                target_id: Some(format!("{district_code}/{fiscal_year}")),
                before: None,
                after: Some(json!({
                    "lines": created.iter().map(|l| json!({
                        "id": l.id, "seq": l.seq, "voucherNo": l.voucher_no,
                        "creditCode": l.credit_code, "kind": l.kind,
                        "amountFen": l.amount_fen,
                    })).collect::<Vec<_>>(),
                    "amountFen": created_amount.fen(),
                })),
            },
        )
        .await?;
    }
    txn.commit().await?;
    Ok(BatchOutcome {
        created: created_at,
        unchanged: unchanged_at,
        refused,
        created_amount,
        rows: ReportOutcome { created, unchanged },
    })
}

/// Most lines one withdrawal names.
pub const MAX_LINES_PER_WITHDRAWAL: usize = 1_000;

/// Withdraws lines a district reported and has not submitted (§20 step 1: a wrong line is
/// corrected by withdrawing it and reporting the right one). Each line moves, whole, out of the
/// reported lines into the withdrawn ones with the time, the actor and the reason, so no claim,
/// reconciliation, settlement or export counts it and its voucher may be reported again. A line
/// already withdrawn is answered as it was (a retry changes nothing). One transaction, audited
/// with the lines before and the withdrawal after.
///
/// # Errors
/// `FORBIDDEN` for a role other than a district; `BAD_USER_INPUT` for no ids, too many, or an
/// empty reason; `NOT_FOUND` for an id that is not the district's own line (another district's
/// line included); `CONFLICT` when the line's claim is submitted or later (not returned);
/// `PERIOD_LOCKED` for a line of an approved year.
#[tracing::instrument(name = "payments.withdraw", skip_all, fields(role = %actor.role, lines = ids.len()))]
pub async fn withdraw(
    db: &DatabaseConnection,
    actor: &Actor,
    ids: &[i64],
    reason: &str,
) -> AppResult<Vec<withdrawn_payment_lines::Model>> {
    let Some(own) = actor
        .district_scope()
        .filter(|_| actor.role == Role::District)
    else {
        return Err(AppError::Forbidden(
            "only a district withdraws its own payment lines".into(),
        ));
    };
    let own = own.to_string();
    let reason = super::reason_text(reason)?;
    if ids.is_empty() || ids.len() > MAX_LINES_PER_WITHDRAWAL {
        return Err(AppError::bad_input(
            "ids",
            format!("name 1 to {MAX_LINES_PER_WITHDRAWAL} lines"),
        ));
    }
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();

    let txn = tx::begin_write(db).await?;
    locks::lock_money_writes(&txn).await?;
    let lines = payment_lines::Entity::find()
        .filter(payment_lines::Column::Id.is_in(ids.clone()))
        .filter(payment_lines::Column::DistrictCode.eq(own.as_str()))
        .order_by_asc(payment_lines::Column::Id)
        .all(&txn)
        .await?;
    let already = withdrawn_payment_lines::Entity::find()
        .filter(withdrawn_payment_lines::Column::Id.is_in(ids.clone()))
        .filter(withdrawn_payment_lines::Column::DistrictCode.eq(own.as_str()))
        .all(&txn)
        .await?;
    // Another district's line is not found, like any line a district may not see.
    if let Some(missing) = ids
        .iter()
        .find(|id| !lines.iter().any(|l| l.id == **id) && !already.iter().any(|w| w.id == **id))
    {
        return Err(AppError::NotFound(format!("no payment line {missing}")));
    }
    let years: std::collections::BTreeSet<i32> = lines.iter().map(|l| l.fiscal_year).collect();
    for &year in &years {
        ensure_year_open(&txn, year).await?;
        if let Some(claim) = find_claim(&txn, &own, year).await? {
            let status = claim_status(&claim)?;
            if status != ClaimStatus::Returned {
                return Err(AppError::Conflict(format!(
                    "the claim of {own} for {year} is {}: its lines can be withdrawn only once it is returned",
                    status.as_str().to_lowercase()
                )));
            }
        }
    }
    // Microseconds, as both databases store it: the answer a retry reads back is the same.
    let now = chrono::SubsecRound::trunc_subsecs(Utc::now(), 6);
    let moved: Vec<withdrawn_payment_lines::Model> = lines
        .iter()
        .map(|l| withdrawn_payment_lines::Model {
            id: l.id,
            seq: l.seq,
            district_code: l.district_code.clone(),
            fiscal_year: l.fiscal_year,
            enterprise_id: l.enterprise_id,
            credit_code: l.credit_code.clone(),
            kind: l.kind.clone(),
            subsidy_year: l.subsidy_year,
            contract_no: l.contract_no.clone(),
            basis_fen: l.basis_fen,
            transaction_date: l.transaction_date,
            amount_fen: l.amount_fen,
            payment_date: l.payment_date,
            voucher_no: l.voucher_no.clone(),
            reported_at: l.reported_at,
            reported_by: l.reported_by.clone(),
            withdrawn_at: now,
            withdrawn_by: actor.sub.clone(),
            reason: reason.to_string(),
        })
        .collect();
    if !moved.is_empty() {
        let moved_ids: Vec<i64> = moved.iter().map(|w| w.id).collect();
        for chunk in moved.chunks(INSERT_CHUNK) {
            withdrawn_payment_lines::Entity::insert_many(
                chunk
                    .iter()
                    .cloned()
                    .map(sea_orm::IntoActiveModel::into_active_model)
                    .collect::<Vec<_>>(),
            )
            .exec_without_returning(&txn)
            .await?;
        }
        // A verdict of a returned claim's earlier reconciliation goes with its line.
        line_verdicts::Entity::delete_many()
            .filter(line_verdicts::Column::LineId.is_in(moved_ids.clone()))
            .exec(&txn)
            .await?;
        payment_lines::Entity::delete_many()
            .filter(payment_lines::Column::Id.is_in(moved_ids.clone()))
            .exec(&txn)
            .await?;
        audit::record(
            &txn,
            actor,
            audit::AuditEntry {
                operation: "withdrawPaymentLines",
                target_type: "payment_lines",
                target_id: Some(own.clone()),
                before: Some(json!({
                    "lines": lines.iter().map(|l| json!({
                        "id": l.id, "seq": l.seq, "fiscalYear": l.fiscal_year,
                        "voucherNo": l.voucher_no, "creditCode": l.credit_code,
                        "kind": l.kind, "amountFen": l.amount_fen,
                    })).collect::<Vec<_>>(),
                })),
                after: Some(json!({
                    "withdrawn": moved_ids,
                    "reason": reason,
                })),
            },
        )
        .await?;
    }
    txn.commit().await?;
    let mut all = moved;
    all.extend(already);
    all.sort_by_key(|w| w.id);
    Ok(all)
}

/// A field of a line that differs from what was reported, with both values.
struct Difference {
    field: &'static str,
    field_zh: &'static str,
    before: String,
    after: String,
}

fn date_text(date: Option<NaiveDate>) -> String {
    date.map(|d| d.to_string()).unwrap_or_else(|| "—".into())
}

/// The content of a line that a voucher identifies, as compared for a conflict.
struct Content<'a> {
    credit_code: &'a str,
    kind: &'a str,
    subsidy_year: i32,
    contract_no: &'a str,
    basis: Money,
    transaction_date: Option<NaiveDate>,
    amount: Money,
    payment_date: NaiveDate,
}

impl<'a> Content<'a> {
    fn of_line(line: &'a ValidLine) -> Self {
        Content {
            credit_code: &line.credit_code,
            kind: line.kind.as_str(),
            subsidy_year: line.subsidy_year,
            contract_no: &line.contract_no,
            basis: line.basis,
            transaction_date: line.transaction_date,
            amount: line.amount,
            payment_date: line.payment_date,
        }
    }

    fn of_row(row: &'a payment_lines::Model) -> Self {
        Content {
            credit_code: &row.credit_code,
            kind: &row.kind,
            subsidy_year: row.subsidy_year,
            contract_no: &row.contract_no,
            basis: Money::from_fen(row.basis_fen),
            transaction_date: row.transaction_date,
            amount: Money::from_fen(row.amount_fen),
            payment_date: row.payment_date,
        }
    }
}

/// The fields in which `after` differs from `before`, with both values.
fn differences(before: &Content<'_>, after: &Content<'_>) -> Vec<Difference> {
    let pairs: [(&'static str, &'static str, String, String); 8] = [
        (
            "creditCode",
            "统一社会信用代码",
            before.credit_code.to_string(),
            after.credit_code.to_string(),
        ),
        (
            "kind",
            "补助类型",
            before.kind.to_string(),
            after.kind.to_string(),
        ),
        (
            "subsidyYear",
            "补助年度",
            before.subsidy_year.to_string(),
            after.subsidy_year.to_string(),
        ),
        (
            "contractNo",
            "合同编号",
            before.contract_no.to_string(),
            after.contract_no.to_string(),
        ),
        (
            "basis",
            "计算基数",
            before.basis.format_yuan(),
            after.basis.format_yuan(),
        ),
        (
            "transactionDate",
            "成交日期",
            date_text(before.transaction_date),
            date_text(after.transaction_date),
        ),
        (
            "amount",
            "补助金额",
            before.amount.format_yuan(),
            after.amount.format_yuan(),
        ),
        (
            "paymentDate",
            "拨付日期",
            before.payment_date.to_string(),
            after.payment_date.to_string(),
        ),
    ];
    pairs
        .into_iter()
        .filter(|(_, _, b, a)| b != a)
        .map(|(field, field_zh, before, after)| Difference {
            field,
            field_zh,
            before,
            after,
        })
        .collect()
}

/// How `line` differs from the district's stored `row` of the same voucher.
fn stored_differences(line: &ValidLine, row: &payment_lines::Model) -> Vec<Difference> {
    differences(&Content::of_row(row), &Content::of_line(line))
}

/// How `line` differs from an earlier line of the batch with the same voucher.
fn batch_differences(line: &ValidLine, earlier: &ValidLine) -> Vec<Difference> {
    differences(&Content::of_line(earlier), &Content::of_line(line))
}

/// `amount: 300000.00 → 300001.00; paymentDate: …` (or the Chinese field names).
fn describe(differ: &[Difference], chinese: bool) -> String {
    differ
        .iter()
        .map(|d| {
            let name = if chinese { d.field_zh } else { d.field };
            format!("{name}: {} → {}", d.before, d.after)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Refuses a PURCHASE line whose price or transaction date differs from the reporting district's
/// earlier lines of the same contract (same enterprise and contract number), or from another line
/// of the batch.
///
/// INTERPRETATION(§20): "a PURCHASE line whose price or transaction date differs from earlier
/// lines of the same contract" is read, at report time, against the reporting district's own
/// lines only: for this refusal a purchase contract is identified by (district, enterprise,
/// contract number). An earlier reading identified it by (enterprise, contract number) across
/// districts; then a batch's answer (which line failed, with which message) told a district
/// whether another district had reported contract X at price P on date D — another district's
/// confidential figures (POLICY.md "Who sees what"), confirmable by probing with batches that
/// fail anyway and write nothing. So the query below filters by district, runs once per new
/// contract of the batch whatever other districts reported, and no other district's row can
/// change the answer, its position or its wording. What other districts reported is the finance
/// bureau's to weigh at reconciliation, where the verdicts already name another district's line
/// without its voucher, contract or figures: `DUPLICATE_PAYMENT` (the same payment reported
/// earlier by another district), `PURCHASE_NOT_FIRST` and `RENT_AND_PURCHASE` read every
/// district's lines, and `WRONG_DISTRICT` cuts the lines of a district the enterprise was not
/// registered in. No unique key spans districts either (`uq_payment_lines_district_voucher` is
/// per district, `uq_payment_lines_seq` a sequence the service assigns), so a second district's
/// line of the same contract is stored as its own row, like a fresh contract. Within a district
/// the rule holds as written, which also keeps what reconciliation relies on: the PURCHASE lines
/// of one ratio group (district and contract) have one price and one transaction date.
async fn check_purchase_contracts<C: ConnectionTrait>(
    conn: &C,
    district_code: &str,
    lines: &[(usize, &ValidLine)],
    refused: &mut Vec<LineError>,
) -> AppResult<()> {
    // The first stored line (report order) of each purchase contract of the batch: one
    // statement per LOOKUP_CHUNK enterprises, not one per contract.
    let wanted: HashSet<(i64, &str)> = lines
        .iter()
        .filter(|(_, line)| line.kind == PaymentKind::Purchase)
        .map(|(_, line)| (line.enterprise_id, line.contract_no.as_str()))
        .collect();
    let mut enterprises: Vec<i64> = wanted.iter().map(|(id, _)| *id).collect();
    enterprises.sort_unstable();
    enterprises.dedup();
    let mut stored: HashMap<(i64, String), (Money, Option<NaiveDate>)> = HashMap::new();
    for chunk in enterprises.chunks(LOOKUP_CHUNK) {
        for row in payment_lines::Entity::find()
            .filter(payment_lines::Column::DistrictCode.eq(district_code))
            .filter(payment_lines::Column::Kind.eq(PaymentKind::Purchase.as_str()))
            .filter(payment_lines::Column::EnterpriseId.is_in(chunk.iter().copied()))
            .order_by_asc(payment_lines::Column::Seq)
            .all(conn)
            .await?
        {
            if wanted.contains(&(row.enterprise_id, row.contract_no.as_str())) {
                stored
                    .entry((row.enterprise_id, row.contract_no))
                    .or_insert((Money::from_fen(row.basis_fen), row.transaction_date));
            }
        }
    }
    let mut seen: HashMap<(i64, &str), (Money, Option<NaiveDate>)> = HashMap::new();
    for (i, line) in lines {
        if line.kind != PaymentKind::Purchase {
            continue;
        }
        let key = (line.enterprise_id, line.contract_no.as_str());
        let earlier = match seen.get(&key) {
            Some(found) => Some(*found),
            None => stored
                .get(&(line.enterprise_id, line.contract_no.clone()))
                .copied(),
        };
        if let Some((price, date)) = earlier
            && (price != line.basis || date != line.transaction_date)
        {
            // The district's own figures: it may read them.
            refused.push(LineError::conflict(
                *i,
                "basis",
                "PURCHASE_CONTRACT_CONFLICT",
                format!(
                    "purchase contract {} was reported with price {} on {}; a contract has one price and one transaction date",
                    line.contract_no,
                    price.format_yuan(),
                    date.map(|d| d.to_string()).unwrap_or_default()
                ),
                format!(
                    "购房合同 {} 已按成交价 {}、成交日期 {} 报送；同一合同只有一个成交价和成交日期",
                    line.contract_no,
                    price.format_yuan(),
                    date.map(|d| d.to_string()).unwrap_or_default()
                ),
            ));
            continue;
        }
        seen.insert(key, (line.basis, line.transaction_date));
    }
    Ok(())
}

/// The claim of a district for a fiscal year, if any.
///
/// # Errors
/// Database errors.
pub async fn find_claim<C: ConnectionTrait>(
    conn: &C,
    district_code: &str,
    fiscal_year: i32,
) -> AppResult<Option<claims::Model>> {
    Ok(claims::Entity::find()
        .filter(claims::Column::DistrictCode.eq(district_code))
        .filter(claims::Column::FiscalYear.eq(fiscal_year))
        .one(conn)
        .await?)
}

/// The status of a stored claim.
///
/// # Errors
/// `INTERNAL_SERVER_ERROR` for a stored status this build does not know.
pub fn claim_status(claim: &claims::Model) -> AppResult<ClaimStatus> {
    claim.status.parse().map_err(AppError::internal)
}

/// The lines of a district paid in `fiscal_year`, in report order.
///
/// # Errors
/// Database errors.
pub async fn lines_of<C: ConnectionTrait>(
    conn: &C,
    district_code: &str,
    fiscal_year: i32,
) -> AppResult<Vec<payment_lines::Model>> {
    let mut lines = super::bulk::models(
        conn,
        payment_lines::Entity::find()
            .filter(payment_lines::Column::DistrictCode.eq(district_code))
            .filter(payment_lines::Column::FiscalYear.eq(fiscal_year)),
    )
    .await?;
    lines.sort_unstable_by_key(|line| line.seq);
    Ok(lines)
}

/// One payment line by id (withdrawn lines are gone).
///
/// # Errors
/// Database errors.
pub async fn line<C: ConnectionTrait>(
    conn: &C,
    id: i64,
) -> AppResult<Option<payment_lines::Model>> {
    Ok(payment_lines::Entity::find_by_id(id).one(conn).await?)
}

fn lines_query(district_code: &str, fiscal_year: i32) -> sea_orm::Select<payment_lines::Entity> {
    payment_lines::Entity::find()
        .filter(payment_lines::Column::DistrictCode.eq(district_code))
        .filter(payment_lines::Column::FiscalYear.eq(fiscal_year))
}

/// How many lines a district reported for a year.
///
/// # Errors
/// Database errors.
pub async fn count_lines<C: ConnectionTrait>(
    conn: &C,
    district_code: &str,
    fiscal_year: i32,
) -> AppResult<u64> {
    Ok(lines_query(district_code, fiscal_year).count(conn).await?)
}

/// One page of the lines of a district and year in report order, by `seq` (one statement on
/// `ix_payment_lines_district_year_seq`).
///
/// # Errors
/// Database errors.
pub async fn line_page<C: ConnectionTrait>(
    conn: &C,
    district_code: &str,
    fiscal_year: i32,
    request: &PageRequest,
) -> AppResult<Page<payment_lines::Model>> {
    let key = KeyOrder::asc(vec![Expr::col((
        payment_lines::Entity,
        payment_lines::Column::Seq,
    ))]);
    let rows = keyset::apply(lines_query(district_code, fiscal_year), &key, request)
        .all(conn)
        .await?;
    Ok(keyset::finish(rows, request, |row| {
        vec![KeyPart::Int(row.seq)]
    }))
}

/// Filters of the list of claims; all optional, combined with AND.
#[derive(Debug, Clone, Default)]
pub struct ClaimFilter {
    /// Only this fiscal year.
    pub fiscal_year: Option<i32>,
    /// Only claims with this status (`ClaimStatus::as_str`).
    pub status: Option<String>,
    /// Only this district's claims (a district actor's own, always).
    pub district_code: Option<String>,
}

fn claims_query(filter: &ClaimFilter) -> sea_orm::Select<claims::Entity> {
    let mut query = claims::Entity::find();
    if let Some(year) = filter.fiscal_year {
        query = query.filter(claims::Column::FiscalYear.eq(year));
    }
    if let Some(status) = &filter.status {
        query = query.filter(claims::Column::Status.eq(status.clone()));
    }
    if let Some(code) = &filter.district_code {
        query = query.filter(claims::Column::DistrictCode.eq(code.clone()));
    }
    query
}

/// How many claims match `filter`.
///
/// # Errors
/// Database errors.
pub async fn count_claims<C: ConnectionTrait>(conn: &C, filter: &ClaimFilter) -> AppResult<u64> {
    Ok(claims_query(filter).count(conn).await?)
}

/// One page of the claims matching `filter`, by fiscal year and then district code (unique:
/// one claim per district and year), in one statement on `ix_claims_year_district`.
///
/// # Errors
/// Database errors.
pub async fn claim_page<C: ConnectionTrait>(
    conn: &C,
    filter: &ClaimFilter,
    request: &PageRequest,
) -> AppResult<Page<claims::Model>> {
    let key = KeyOrder::asc(vec![
        Expr::col((claims::Entity, claims::Column::FiscalYear)),
        Expr::col((claims::Entity, claims::Column::DistrictCode)),
    ]);
    let rows = keyset::apply(claims_query(filter), &key, request)
        .all(conn)
        .await?;
    Ok(keyset::finish(rows, request, |c| {
        vec![
            KeyPart::Int(i64::from(c.fiscal_year)),
            KeyPart::Text(c.district_code.clone()),
        ]
    }))
}

/// The canonical form of a claim's lines: a JSON array with one array per payment line in report
/// order — seq, district, credit code, kind, subsidy year, contract, basis (fen), transaction date
/// (or null), amount (fen), payment date, voucher — without spaces. JSON quoting makes the form
/// unambiguous whatever a contract or voucher number contains. Its SHA-256 is the claim's content
/// hash, so what was submitted can be proven later from the lines alone.
pub fn canonical_form(lines: &[payment_lines::Model]) -> String {
    let rows: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| {
            json!([
                l.seq,
                l.district_code,
                l.credit_code,
                l.kind,
                l.subsidy_year,
                l.contract_no,
                l.basis_fen,
                l.transaction_date.map(|d| d.to_string()),
                l.amount_fen,
                l.payment_date.to_string(),
                l.voucher_no,
            ])
        })
        .collect();
    serde_json::Value::Array(rows).to_string()
}

/// SHA-256 of [`canonical_form`], as lower-case hex.
pub fn content_hash(lines: &[payment_lines::Model]) -> String {
    super::sha256_hex(canonical_form(lines).as_bytes())
}

/// Submits the claim of `district_code` for `fiscal_year` (§20 step 2): freezes its lines and
/// records their content hash. Submitting the same lines again changes nothing.
///
/// # Errors
/// `BAD_USER_INPUT` when no lines were reported; `CONFLICT` when the claim is already reconciled;
/// `PERIOD_LOCKED` for an approved year; `FORBIDDEN` for another district.
#[tracing::instrument(name = "claim.submit", skip_all, fields(role = %actor.role, district = %district_code, fiscal_year))]
pub async fn submit_claim(
    db: &DatabaseConnection,
    feed: &ClaimFeed,
    actor: &Actor,
    district_code: &str,
    fiscal_year: i32,
) -> AppResult<claims::Model> {
    if actor.role != Role::District {
        return Err(AppError::Forbidden(
            "only a district submits its claim".into(),
        ));
    }
    let txn = tx::begin_write(db).await?;
    check_district(&txn, actor, district_code).await?;
    // Serialised with approvals (which take the same lock): otherwise a submission could read the
    // year open, an approval commit, and the claim land SUBMITTED in a locked year.
    locks::lock_money_writes(&txn).await?;
    ensure_year_open(&txn, fiscal_year).await?;
    let lines = lines_of(&txn, district_code, fiscal_year).await?;
    if lines.is_empty() {
        return Err(AppError::bad_input(
            "fiscalYear",
            format!("no payments of {district_code} were reported for {fiscal_year}"),
        ));
    }
    let hash = content_hash(&lines);
    let paid = Money::checked_sum_fen(lines.iter().map(|l| l.amount_fen))
        .ok_or_else(|| {
            AppError::bad_input(
                "fiscalYear",
                "the total paid over the reported lines is beyond the range of amounts",
            )
        })?
        .fen();
    let count = i32::try_from(lines.len()).map_err(AppError::internal)?;
    let now = Utc::now();
    let existing = find_claim(&txn, district_code, fiscal_year).await?;
    let before = existing.as_ref().map(claim_summary);
    let existing = match existing {
        Some(claim) => Some((claim_status(&claim)?, claim)),
        None => None,
    };
    let claim = match existing {
        Some((ClaimStatus::Submitted, claim)) if claim.content_hash.as_deref() == Some(&hash) => {
            txn.commit().await?;
            return Ok(claim);
        }
        Some((status, _)) if status != ClaimStatus::Returned => {
            return Err(AppError::Conflict(format!(
                "the claim is already {}",
                status.as_str().to_lowercase()
            )));
        }
        Some((_, claim)) => {
            let mut active: claims::ActiveModel = claim.into();
            active.status = Set(ClaimStatus::Submitted.as_str().to_owned());
            active.content_hash = Set(Some(hash.clone()));
            active.line_count = Set(count);
            active.paid_total_fen = Set(paid);
            active.submitted_at = Set(Some(now));
            active.submitted_by = Set(Some(actor.sub.clone()));
            active.updated_at = Set(now);
            active.update(&txn).await?
        }
        None => {
            claims::ActiveModel {
                id: NotSet,
                district_code: Set(district_code.to_string()),
                fiscal_year: Set(fiscal_year),
                status: Set(ClaimStatus::Submitted.as_str().to_owned()),
                content_hash: Set(Some(hash.clone())),
                line_count: Set(count),
                paid_total_fen: Set(paid),
                submitted_at: Set(Some(now)),
                submitted_by: Set(Some(actor.sub.clone())),
                updated_at: Set(now),
            }
            .insert(&txn)
            .await?
        }
    };
    let change = claim_feed::record(
        &txn,
        &claim,
        ClaimStatus::Submitted,
        None,
        Some(hash),
        actor,
        now,
    )
    .await?;
    audit::record(
        &txn,
        actor,
        audit::AuditEntry {
            operation: "submitClaim",
            target_type: "claim",
            target_id: Some(format!("{district_code}/{fiscal_year}")),
            before,
            after: Some(claim_summary(&claim)),
        },
    )
    .await?;
    txn.commit().await?;
    feed.committed(db, vec![change]);
    Ok(claim)
}

/// Returns a submitted or reconciled claim to its district with a reason (§20 step 2); its
/// verdicts are withdrawn, and the district may report again.
///
/// # Errors
/// `BAD_USER_INPUT` for an empty reason; `NOT_FOUND` without a claim; `CONFLICT` for a claim that
/// is not submitted or reconciled; `PERIOD_LOCKED` for an approved year.
#[tracing::instrument(name = "claim.return", skip_all, fields(role = %actor.role, district = %district_code, fiscal_year))]
pub async fn return_claim(
    db: &DatabaseConnection,
    feed: &ClaimFeed,
    actor: &Actor,
    district_code: &str,
    fiscal_year: i32,
    reason: &str,
) -> AppResult<claims::Model> {
    let reason = super::reason_text(reason)?;
    let txn = tx::begin_write(db).await?;
    check_district(&txn, actor, district_code).await?;
    // Serialised with approvals: otherwise an approval could count the verdicts this return
    // deletes and then mark the returned claim APPROVED.
    locks::lock_money_writes(&txn).await?;
    ensure_year_open(&txn, fiscal_year).await?;
    let claim = find_claim(&txn, district_code, fiscal_year)
        .await?
        .ok_or_else(|| AppError::NotFound("no claim for this district and year".into()))?;
    let status = claim_status(&claim)?;
    if !matches!(status, ClaimStatus::Submitted | ClaimStatus::Reconciled) {
        return Err(AppError::Conflict(format!(
            "a {} claim cannot be returned",
            status.as_str().to_lowercase()
        )));
    }
    let before = claim_summary(&claim);
    entity::line_verdicts::Entity::delete_many()
        .filter(entity::line_verdicts::Column::ClaimId.eq(claim.id))
        .exec(&txn)
        .await?;
    let now = Utc::now();
    let mut active: claims::ActiveModel = claim.into();
    active.status = Set(ClaimStatus::Returned.as_str().to_owned());
    active.updated_at = Set(now);
    let claim = active.update(&txn).await?;
    let change = claim_feed::record(
        &txn,
        &claim,
        ClaimStatus::Returned,
        Some(reason.to_string()),
        None,
        actor,
        now,
    )
    .await?;
    audit::record(
        &txn,
        actor,
        audit::AuditEntry {
            operation: "returnClaim",
            target_type: "claim",
            target_id: Some(format!("{district_code}/{fiscal_year}")),
            before: Some(before),
            after: Some(json!({ "status": ClaimStatus::Returned, "reason": reason })),
        },
    )
    .await?;
    txn.commit().await?;
    feed.committed(db, vec![change]);
    Ok(claim)
}

/// The history of a claim, oldest first.
///
/// # Errors
/// Database errors.
pub async fn claim_history<C: ConnectionTrait>(
    conn: &C,
    claim_id: i64,
) -> AppResult<Vec<claim_events::Model>> {
    Ok(claim_events::Entity::find()
        .filter(claim_events::Column::ClaimId.eq(claim_id))
        .order_by_asc(claim_events::Column::Id)
        .all(conn)
        .await?)
}

fn claim_summary(claim: &claims::Model) -> serde_json::Value {
    json!({
        "status": claim.status,
        "contentHash": claim.content_hash,
        "lineCount": claim.line_count,
        "paidTotalFen": claim.paid_total_fen,
    })
}

/// Paid totals per kind of a set of lines (for claim summaries); `None` if a total overflows.
pub fn totals_by_kind(lines: &[payment_lines::Model]) -> Option<BTreeMap<String, i64>> {
    let mut totals: BTreeMap<String, i64> = BTreeMap::new();
    for l in lines {
        let total = totals.entry(l.kind.clone()).or_insert(0);
        *total = total.checked_add(l.amount_fen)?;
    }
    Some(totals)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line() -> LineInput {
        LineInput {
            credit_code: "91330100716105852F".into(),
            kind: PaymentKind::Rent,
            subsidy_year: 2024,
            contract_no: "L-1".into(),
            basis: Decimal::new(100_000_000, 2),
            transaction_date: None,
            amount: Decimal::new(30_000_000, 2),
            payment_date: NaiveDate::from_ymd_opt(2024, 6, 30).unwrap(),
            voucher_no: "V-1".into(),
        }
    }

    fn field_of(result: Result<impl std::fmt::Debug, LineError>) -> String {
        match result.map_err(LineError::into_app_error) {
            Err(AppError::BadInput { field, .. }) => field,
            other => panic!("expected BAD_USER_INPUT, got {other:?}"),
        }
    }

    #[test]
    fn a_valid_rent_line_passes_the_shape_checks() {
        assert!(validate_shape(0, 2024, &line()).is_ok());
    }

    #[test]
    fn an_amount_of_zero_negative_or_three_decimals_is_refused_on_the_amount() {
        for amount in [Decimal::ZERO, Decimal::new(-1, 0), Decimal::new(1001, 3)] {
            let l = LineInput { amount, ..line() };
            assert_eq!(field_of(validate_shape(3, 2024, &l)), "lines[3].amount");
        }
    }

    #[test]
    fn a_basis_below_the_amount_is_refused_and_equal_is_accepted() {
        let l = LineInput {
            basis: Decimal::new(30_000_000, 2) - Decimal::new(1, 2),
            ..line()
        };
        assert_eq!(field_of(validate_shape(0, 2024, &l)), "lines[0].basis");
        let l = LineInput {
            basis: Decimal::new(30_000_000, 2),
            ..line()
        };
        assert!(validate_shape(0, 2024, &l).is_ok());
    }

    #[test]
    fn a_payment_outside_the_fiscal_year_is_refused() {
        for date in [(2023, 12, 31), (2025, 1, 1)] {
            let l = LineInput {
                payment_date: NaiveDate::from_ymd_opt(date.0, date.1, date.2).unwrap(),
                ..line()
            };
            assert_eq!(
                field_of(validate_shape(0, 2024, &l)),
                "lines[0].paymentDate"
            );
        }
    }

    #[test]
    fn a_purchase_must_be_subsidised_in_the_year_of_its_transaction() {
        let l = LineInput {
            kind: PaymentKind::Purchase,
            transaction_date: NaiveDate::from_ymd_opt(2023, 12, 31),
            ..line()
        };
        assert_eq!(
            field_of(validate_shape(0, 2024, &l)),
            "lines[0].subsidyYear"
        );
        let l = LineInput {
            kind: PaymentKind::Purchase,
            transaction_date: None,
            ..line()
        };
        assert_eq!(
            field_of(validate_shape(0, 2024, &l)),
            "lines[0].transactionDate"
        );
    }

    #[test]
    fn an_invalid_credit_code_is_refused_on_the_code() {
        let l = LineInput {
            credit_code: "91110100600037341L".into(),
            ..line()
        };
        assert_eq!(field_of(validate_shape(1, 2024, &l)), "lines[1].creditCode");
    }

    #[test]
    fn separators_inside_a_contract_or_voucher_cannot_make_two_claims_hash_alike() {
        let base = payment_lines::Model {
            id: 1,
            seq: 1,
            district_code: "330106".into(),
            fiscal_year: 2024,
            enterprise_id: 1,
            credit_code: "91330100716105852F".into(),
            kind: "PURCHASE".into(),
            subsidy_year: 2024,
            contract_no: "K".into(),
            basis_fen: 500_000,
            transaction_date: NaiveDate::from_ymd_opt(2024, 2, 1),
            amount_fen: 100,
            payment_date: NaiveDate::from_ymd_opt(2024, 5, 1).unwrap(),
            voucher_no: "50|2024-06-30|W".into(),
            reported_at: Utc::now(),
            reported_by: "x".into(),
        };
        let shifted = payment_lines::Model {
            contract_no: "K|500000|2024-02-01".into(),
            basis_fen: 100,
            transaction_date: NaiveDate::from_ymd_opt(2024, 5, 1),
            amount_fen: 50,
            payment_date: NaiveDate::from_ymd_opt(2024, 6, 30).unwrap(),
            voucher_no: "W".into(),
            ..base.clone()
        };
        assert_ne!(content_hash(&[base]), content_hash(&[shifted]));
    }

    #[test]
    fn the_content_hash_changes_with_any_field() {
        let row = payment_lines::Model {
            id: 1,
            seq: 1,
            district_code: "330106".into(),
            fiscal_year: 2024,
            enterprise_id: 1,
            credit_code: "91330100716105852F".into(),
            kind: "RENT".into(),
            subsidy_year: 2024,
            contract_no: "L-1".into(),
            basis_fen: 100,
            transaction_date: None,
            amount_fen: 30,
            payment_date: NaiveDate::from_ymd_opt(2024, 6, 30).unwrap(),
            voucher_no: "V-1".into(),
            reported_at: Utc::now(),
            reported_by: "x".into(),
        };
        let a = content_hash(std::slice::from_ref(&row));
        let b = content_hash(&[payment_lines::Model {
            amount_fen: 31,
            ..row.clone()
        }]);
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_eq!(a, content_hash(&[row]));
    }
}
