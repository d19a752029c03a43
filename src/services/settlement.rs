//! §20 steps 4 and 5: drafting and approving the yearly settlement, and reading it.
//!
//! The services load what the pure rules of [`crate::policy::settlement`] read (the reconciled
//! claims' stored verdicts and the adjustments carried into the year), call them, and store the
//! draft. Approval locks the year; an approved year is never edited (see
//! [`crate::services::findings`]).

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, NaiveDate, Utc};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde_json::json;

use crate::auth::Actor;
use crate::error::{AppError, AppResult};
use crate::policy::money::Money;
use crate::policy::reconciliation::{CutReason, ReasonCode};
use crate::policy::settlement::{
    self as rules, ClaimStatus, ClaimTotals, DistrictInput, DistrictStatus, SettlementDraft,
    SettlementParams, SettlementStatus,
};
use crate::services::audit::{self, AuditEntry};
use crate::services::claim_feed::{self, ClaimFeed};
use crate::services::reconciliation::{decide, district_error};
use crate::services::{locks, parameters, payments, tx};
use entity::{
    adjustments, claims, districts, line_verdicts, payment_lines, settlement_lines, settlements,
};

/// Rows per multi-row INSERT (well under SQLite's limit of bound parameters).
pub(super) const INSERT_CHUNK: usize = 500;

/// A stored settlement and its district lines (code order).
#[derive(Debug, Clone)]
pub struct StoredSettlement {
    /// The settlement.
    pub settlement: settlements::Model,
    /// Its district lines.
    pub lines: Vec<settlement_lines::Model>,
}

/// Claim totals of every reconciled claim of `fiscal_year`, by district, from stored verdicts
/// (one aggregate query).
async fn reconciled_totals<C: ConnectionTrait>(
    conn: &C,
    fiscal_year: i32,
) -> AppResult<HashMap<String, ClaimTotals>> {
    use sea_orm::{FromQueryResult, Statement};
    #[derive(FromQueryResult)]
    struct Row {
        district_code: String,
        primary_reason: Option<String>,
        eligible: i64,
        cut: i64,
    }
    let backend = conn.get_database_backend();
    let placeholder = |n: usize| match backend {
        DbBackend::Postgres => format!("${n}"),
        _ => "?".to_owned(),
    };
    let year = placeholder(1);
    let counted = (2..2 + ClaimStatus::COUNTED.len())
        .map(placeholder)
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT c.district_code AS district_code, v.primary_reason AS primary_reason, \
               CAST(SUM(v.eligible_fen) AS BIGINT) AS eligible, CAST(SUM(v.cut_fen) AS BIGINT) AS cut \
               FROM line_verdicts v JOIN claims c ON c.id = v.claim_id \
               WHERE c.fiscal_year = {year} AND c.status IN ({counted}) \
               GROUP BY c.district_code, v.primary_reason"
    );
    let values = std::iter::once(fiscal_year.into())
        .chain(ClaimStatus::COUNTED.map(|status| status.as_str().into()));
    let rows = Row::find_by_statement(Statement::from_sql_and_values(backend, sql, values))
        .all(conn)
        .await?;
    let mut totals: HashMap<String, ClaimTotals> = HashMap::new();
    for row in rows {
        let t = totals.entry(row.district_code).or_default();
        let eligible = Money::from_fen(row.eligible);
        let cut = Money::from_fen(row.cut);
        let add = |a: Money, b: Money| {
            a.checked_add(b)
                .ok_or_else(|| AppError::internal("settlement totals overflow"))
        };
        t.eligible = add(t.eligible, eligible)?;
        t.cut = add(t.cut, cut)?;
        t.reported = add(t.reported, add(eligible, cut)?)?;
        if !cut.is_zero() {
            let reason = row
                .primary_reason
                .as_deref()
                .ok_or_else(|| AppError::internal("a cut without a reason"))?
                .parse::<ReasonCode>()
                .map_err(AppError::internal)?;
            let entry = t.cut_by_reason.entry(reason).or_default();
            *entry = add(*entry, cut)?;
        }
    }
    Ok(totals)
}

/// Whether `district` reported any line paid in `fiscal_year`.
async fn has_lines<C: ConnectionTrait>(
    conn: &C,
    district: &str,
    fiscal_year: i32,
) -> AppResult<bool> {
    Ok(payment_lines::Entity::find()
        .select_only()
        .column(payment_lines::Column::Id)
        .filter(payment_lines::Column::DistrictCode.eq(district))
        .filter(payment_lines::Column::FiscalYear.eq(fiscal_year))
        .into_tuple::<i64>()
        .one(conn)
        .await?
        .is_some())
}

/// The inputs of the settlement of `fiscal_year`: one per district, in code order.
async fn district_inputs<C: ConnectionTrait>(
    conn: &C,
    fiscal_year: i32,
) -> AppResult<Vec<DistrictInput>> {
    let totals = reconciled_totals(conn, fiscal_year).await?;
    let claims_by_district: HashMap<String, claims::Model> = claims::Entity::find()
        .filter(claims::Column::FiscalYear.eq(fiscal_year))
        .all(conn)
        .await?
        .into_iter()
        .map(|c| (c.district_code.clone(), c))
        .collect();
    let mut carried: HashMap<String, Money> = HashMap::new();
    for a in adjustments::Entity::find()
        .filter(adjustments::Column::TargetYear.eq(fiscal_year))
        .all(conn)
        .await?
    {
        let entry = carried.entry(a.district_code).or_default();
        *entry = entry
            .checked_add(Money::from_fen(a.amount_fen))
            .ok_or_else(|| AppError::internal("Σ adjustments overflows"))?;
    }
    let mut inputs = Vec::new();
    for d in districts::Entity::find()
        .order_by_asc(districts::Column::Code)
        .all(conn)
        .await?
    {
        let claim_status = claims_by_district
            .get(&d.code)
            .map(payments::claim_status)
            .transpose()?;
        let status = match claim_status {
            Some(counted) if ClaimStatus::COUNTED.contains(&counted) => {
                DistrictStatus::Reconciled(totals.get(&d.code).cloned().unwrap_or_default())
            }
            Some(ClaimStatus::Submitted) => DistrictStatus::NotReconciled,
            // Only a district without a claim in progress (none, or a returned one) needs a look
            // at its lines: one probe through the (district, fiscal year) index instead of a scan
            // of the year's lines.
            _ if has_lines(conn, &d.code, fiscal_year).await? => DistrictStatus::NotSubmitted,
            _ => DistrictStatus::NoLines,
        };
        inputs.push(DistrictInput {
            code: d.code.clone(),
            status,
            adjustments: carried.get(&d.code).copied().unwrap_or_default(),
        });
    }
    Ok(inputs)
}

/// Computes the draft of `fiscal_year` without storing it.
async fn compute_draft<C: ConnectionTrait>(
    conn: &C,
    fiscal_year: i32,
    rate: Option<Decimal>,
    budget: Option<Money>,
) -> AppResult<(SettlementDraft, Vec<i64>)> {
    let set = parameters::load_set(conn).await?;
    let params = SettlementParams::for_year(&set, fiscal_year)?;
    let rate = rate.unwrap_or(params.default_rate);
    let inputs = district_inputs(conn, fiscal_year).await?;
    let draft = rules::settle(fiscal_year, rate, params.rate_cap, budget, inputs)?;
    Ok((draft, params.parameter_versions))
}

fn cut_by_reason_json(map: &BTreeMap<ReasonCode, Money>) -> String {
    let object: serde_json::Map<String, serde_json::Value> = map
        .iter()
        .map(|(reason, amount)| (reason.as_str().to_string(), json!(amount.fen())))
        .collect();
    serde_json::Value::Object(object).to_string()
}

fn settlement_summary(s: &settlements::Model) -> serde_json::Value {
    json!({
        "status": s.status,
        "rate": s.rate,
        "budgetFen": s.budget_fen,
        "eligibleFen": s.eligible_fen,
        "grantedFen": s.granted_fen,
        "netPayableFen": s.net_payable_fen,
    })
}

/// Drafts (or re-drafts) the settlement of `fiscal_year` (§20 step 4) from the reconciled
/// claims, with `rate` (default `settlement.default_rate`) and an optional `budget`.
///
/// # Errors
/// `POLICY_VIOLATION` (§20) for a rate outside 0..=cap; `BAD_USER_INPUT` for a bad budget;
/// `PERIOD_LOCKED` once approved.
#[tracing::instrument(name = "settlement.draft", skip_all, fields(role = %actor.role, fiscal_year))]
pub async fn draft(
    db: &DatabaseConnection,
    actor: &Actor,
    fiscal_year: i32,
    rate: Option<Decimal>,
    budget: Option<Decimal>,
) -> AppResult<StoredSettlement> {
    district_error(actor)?;
    if !(2000..=2100).contains(&fiscal_year) {
        return Err(AppError::bad_input(
            "fiscalYear",
            "not a plausible fiscal year",
        ));
    }
    let budget = budget.as_ref().map(rules::parse_budget).transpose()?;
    let txn = tx::begin_write(db).await?;
    locks::lock_money_writes(&txn).await?;
    locks::ensure_open(&txn, fiscal_year).await?;
    let (draft, versions) = compute_draft(&txn, fiscal_year, rate, budget).await?;
    let now = Utc::now();
    let existing = settlements::Entity::find()
        .filter(settlements::Column::FiscalYear.eq(fiscal_year))
        .one(&txn)
        .await?;
    let before = existing.as_ref().map(settlement_summary);
    let t = &draft.totals;
    let mut active = match existing {
        Some(row) => {
            settlement_lines::Entity::delete_many()
                .filter(settlement_lines::Column::SettlementId.eq(row.id))
                .exec(&txn)
                .await?;
            let lock_version = row.lock_version;
            let mut active: settlements::ActiveModel = row.into();
            active.lock_version = Set(lock_version + 1);
            active
        }
        None => settlements::ActiveModel {
            id: NotSet,
            fiscal_year: Set(fiscal_year),
            lock_version: Set(0),
            approved_at: Set(None),
            approved_by: Set(None),
            ..Default::default()
        },
    };
    active.status = Set(SettlementStatus::Draft.as_str().to_owned());
    active.rate = Set(draft.rate.normalize().to_string());
    active.budget_fen = Set(draft.budget.map(Money::fen));
    active.reported_fen = Set(t.reported.fen());
    active.eligible_fen = Set(t.eligible.fen());
    active.cut_fen = Set(t.cut.fen());
    active.reimbursement_fen = Set(t.reimbursement.fen());
    active.granted_fen = Set(t.granted.fen());
    active.adjustments_fen = Set(t.adjustments.fen());
    active.net_payable_fen = Set(t.net_payable.fen());
    active.parameter_versions = Set(serde_json::to_string(&versions).map_err(AppError::internal)?);
    active.drafted_at = Set(now);
    active.drafted_by = Set(actor.sub.clone());
    let settlement = active.save(&txn).await?;
    let settlement: settlements::Model = settlement.try_into().map_err(AppError::internal)?;
    let rows: Vec<settlement_lines::ActiveModel> = draft
        .districts
        .iter()
        .map(|d| settlement_lines::ActiveModel {
            id: NotSet,
            settlement_id: Set(settlement.id),
            district_code: Set(d.code.clone()),
            reported_fen: Set(d.reported.fen()),
            eligible_fen: Set(d.eligible.fen()),
            cut_fen: Set(d.cut.fen()),
            cut_by_reason: Set(cut_by_reason_json(&d.cut_by_reason)),
            reimbursement_fen: Set(d.reimbursement.fen()),
            granted_fen: Set(d.granted.fen()),
            adjustments_fen: Set(d.adjustments.fen()),
            net_payable_fen: Set(d.net_payable.fen()),
            zero_reason: Set(d.zero_reason.map(|z| z.as_str().to_string())),
        })
        .collect();
    for chunk in rows.chunks(INSERT_CHUNK) {
        settlement_lines::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(&txn)
            .await?;
    }
    let lines = settlement_lines::Entity::find()
        .filter(settlement_lines::Column::SettlementId.eq(settlement.id))
        .order_by_asc(settlement_lines::Column::DistrictCode)
        .all(&txn)
        .await?;
    audit::record(
        &txn,
        actor,
        AuditEntry {
            operation: "draftSettlement",
            target_type: "settlement",
            target_id: Some(fiscal_year.to_string()),
            before,
            after: Some(settlement_summary(&settlement)),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(StoredSettlement { settlement, lines })
}

/// The most scenarios one [`simulate`] computes.
pub const MAX_SCENARIOS: usize = 20;

/// One what-if of [`simulate`]: a rate (default `settlement.default_rate`) and an optional
/// budget, as `draftSettlement` takes them.
#[derive(Debug, Clone, Default)]
pub struct Scenario {
    /// Reimbursement rate.
    pub rate: Option<Decimal>,
    /// The city's budget.
    pub budget: Option<Decimal>,
}

/// What [`simulate`] computed.
#[derive(Debug, Clone)]
pub struct Simulation {
    /// The drafts, one per scenario in the order given: the figures [`draft`] would store.
    pub drafts: Vec<SettlementDraft>,
    /// The parameter versions the drafts used.
    pub parameter_versions: Vec<i64>,
    /// The settlement stored for the year, if any, read in the same snapshot.
    pub stored: Option<StoredSettlement>,
}

/// The settlement of `fiscal_year` under each of `scenarios`, computed as [`draft`] computes it
/// (same verdicts, rounding, largest remainders and errors) from one snapshot of the year, and
/// written nowhere: no draft is replaced and no audit entry is made.
///
/// # Errors
/// As [`draft`] (`FORBIDDEN` but for the finance bureau, `POLICY_VIOLATION` for a rate above the
/// cap, naming the rate; `BAD_USER_INPUT` for a budget, on `scenarios[i].budget`; `PERIOD_LOCKED`
/// once approved); `BAD_USER_INPUT` for no scenario or more than [`MAX_SCENARIOS`].
#[tracing::instrument(name = "settlement.simulate", skip_all, fields(role = %actor.role, fiscal_year))]
pub async fn simulate(
    db: &DatabaseConnection,
    actor: &Actor,
    fiscal_year: i32,
    scenarios: &[Scenario],
) -> AppResult<Simulation> {
    district_error(actor)?;
    if !(2000..=2100).contains(&fiscal_year) {
        return Err(AppError::bad_input(
            "fiscalYear",
            "not a plausible fiscal year",
        ));
    }
    if scenarios.is_empty() || scenarios.len() > MAX_SCENARIOS {
        return Err(AppError::bad_input(
            "scenarios",
            format!("give 1 to {MAX_SCENARIOS} scenarios"),
        ));
    }
    let in_scenario = |index: usize, err: AppError| match err {
        AppError::BadInput { field, message } => AppError::BadInput {
            field: format!("scenarios[{index}].{field}"),
            message,
        },
        other => other,
    };
    let budgets = scenarios
        .iter()
        .enumerate()
        .map(|(i, s)| {
            s.budget
                .as_ref()
                .map(rules::parse_budget)
                .transpose()
                .map_err(|e| in_scenario(i, e.into()))
        })
        .collect::<AppResult<Vec<_>>>()?;
    let txn = tx::begin_snapshot(db).await?;
    locks::ensure_open(&txn, fiscal_year).await?;
    let set = parameters::load_set(&txn).await?;
    let params = SettlementParams::for_year(&set, fiscal_year)?;
    let inputs = district_inputs(&txn, fiscal_year).await?;
    let drafts = scenarios
        .iter()
        .zip(budgets)
        .enumerate()
        .map(|(i, (scenario, budget))| {
            let rate = scenario.rate.unwrap_or(params.default_rate);
            rules::settle(fiscal_year, rate, params.rate_cap, budget, inputs.clone())
                .map_err(|e| in_scenario(i, e.into()))
        })
        .collect::<AppResult<Vec<_>>>()?;
    let stored = get(&txn, fiscal_year).await?;
    txn.commit().await?;
    Ok(Simulation {
        drafts,
        parameter_versions: params.parameter_versions,
        stored,
    })
}

/// The status of a stored settlement.
///
/// # Errors
/// `INTERNAL_SERVER_ERROR` for a stored status this build does not know.
pub fn settlement_status(settlement: &settlements::Model) -> AppResult<SettlementStatus> {
    settlement.status.parse().map_err(AppError::internal)
}

/// Reads the settlement of `fiscal_year`, if drafted.
///
/// # Errors
/// Database errors.
pub async fn get<C: ConnectionTrait>(
    conn: &C,
    fiscal_year: i32,
) -> AppResult<Option<StoredSettlement>> {
    let Some(settlement) = settlements::Entity::find()
        .filter(settlements::Column::FiscalYear.eq(fiscal_year))
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    let lines = settlement_lines::Entity::find()
        .filter(settlement_lines::Column::SettlementId.eq(settlement.id))
        .order_by_asc(settlement_lines::Column::DistrictCode)
        .all(conn)
        .await?;
    Ok(Some(StoredSettlement { settlement, lines }))
}

/// What a district line of a settlement states. A draft is approved only while these are still
/// what the claims, their verdicts and the adjustments give.
#[derive(Debug, PartialEq, Eq)]
struct LineFigures {
    code: String,
    zero_reason: Option<String>,
    reported: i64,
    eligible: i64,
    cut: i64,
    cut_by_reason: String,
    reimbursement: i64,
    granted: i64,
    adjustments: i64,
    net_payable: i64,
}

impl From<&rules::DistrictSettlement> for LineFigures {
    fn from(d: &rules::DistrictSettlement) -> Self {
        LineFigures {
            code: d.code.clone(),
            zero_reason: d.zero_reason.map(|z| z.as_str().to_string()),
            reported: d.reported.fen(),
            eligible: d.eligible.fen(),
            cut: d.cut.fen(),
            cut_by_reason: cut_by_reason_json(&d.cut_by_reason),
            reimbursement: d.reimbursement.fen(),
            granted: d.granted.fen(),
            adjustments: d.adjustments.fen(),
            net_payable: d.net_payable.fen(),
        }
    }
}

impl From<&settlement_lines::Model> for LineFigures {
    fn from(l: &settlement_lines::Model) -> Self {
        LineFigures {
            code: l.district_code.clone(),
            zero_reason: l.zero_reason.clone(),
            reported: l.reported_fen,
            eligible: l.eligible_fen,
            cut: l.cut_fen,
            cut_by_reason: l.cut_by_reason.clone(),
            reimbursement: l.reimbursement_fen,
            granted: l.granted_fen,
            adjustments: l.adjustments_fen,
            net_payable: l.net_payable_fen,
        }
    }
}

/// Refuses to approve `fiscal_year` while a reconciled claim's stored verdicts no longer follow
/// from the facts: a revocation, an event, a recognition or another district's line recorded
/// since the reconciliation ("any district, any verdict"). Once approved, verdicts are final and
/// only a revocation recorded *after* the approval becomes a finding (§20 step 6), so a stale
/// verdict would stand for good — e.g. a line paid after a revocation recorded before the
/// approval would stay eligible and never be taken back.
async fn ensure_verdicts_current<C: ConnectionTrait>(conn: &C, fiscal_year: i32) -> AppResult<()> {
    let reconciled = claims::Entity::find()
        .filter(claims::Column::FiscalYear.eq(fiscal_year))
        .filter(claims::Column::Status.eq(ClaimStatus::Reconciled.as_str()))
        .order_by_asc(claims::Column::DistrictCode)
        .all(conn)
        .await?;
    for claim in reconciled {
        let stale = |why: String| {
            AppError::Conflict(format!(
                "the verdicts of the claim of {} for {fiscal_year} are stale ({why}): reconcile \
                 it again, then draft again",
                claim.district_code
            ))
        };
        let rows = payments::lines_of(conn, &claim.district_code, fiscal_year).await?;
        if claim.content_hash.as_deref() != Some(payments::content_hash(&rows).as_str()) {
            return Err(stale(
                "its lines no longer match the hash recorded at submission".into(),
            ));
        }
        let stored: HashMap<i64, line_verdicts::Model> = line_verdicts::Entity::find()
            .filter(line_verdicts::Column::ClaimId.eq(claim.id))
            .all(conn)
            .await?
            .into_iter()
            .map(|v| (v.line_id, v))
            .collect();
        if stored.len() != rows.len() {
            return Err(stale(format!(
                "{} verdicts for {} lines",
                stored.len(),
                rows.len()
            )));
        }
        for now in decide(
            conn,
            fiscal_year,
            std::slice::from_ref(&claim.district_code),
            &rows,
        )
        .await?
        {
            let then = stored
                .get(&now.line_id)
                .ok_or_else(|| stale(format!("line {} has no verdict", now.line_id)))?;
            let then_reasons: Vec<ReasonCode> =
                serde_json::from_str::<Vec<CutReason>>(&then.reasons)
                    .map_err(AppError::internal)?
                    .into_iter()
                    .map(|r| r.code)
                    .collect();
            let now_reasons: Vec<ReasonCode> = now.reasons.iter().map(|r| r.code).collect();
            if then.eligible_fen != now.eligible.fen() || then_reasons != now_reasons {
                let codes = |reasons: &[ReasonCode]| {
                    reasons
                        .iter()
                        .map(|r| r.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                return Err(stale(format!(
                    "line {} was decided eligible {} [{}], the facts now give {} [{}]",
                    now.line_id,
                    Money::from_fen(then.eligible_fen).format_yuan(),
                    codes(&then_reasons),
                    now.eligible.format_yuan(),
                    codes(&now_reasons)
                )));
            }
        }
    }
    Ok(())
}

/// Approves the draft of `fiscal_year` (§20 step 5) and locks the year. Of two approvals racing,
/// exactly one succeeds.
///
/// # Errors
/// `NOT_FOUND` without a draft; `CONFLICT` when already approved, when a reconciled claim's
/// verdicts no longer follow from the facts (reconcile again), or when any figure of the draft
/// changed since (draft again).
#[tracing::instrument(name = "settlement.approve", skip_all, fields(role = %actor.role, fiscal_year))]
pub async fn approve(
    db: &DatabaseConnection,
    feed: &ClaimFeed,
    actor: &Actor,
    fiscal_year: i32,
) -> AppResult<StoredSettlement> {
    district_error(actor)?;
    let txn = tx::begin_write(db).await?;
    locks::lock_money_writes(&txn).await?;
    let stored = get(&txn, fiscal_year)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no settlement drafted for {fiscal_year}")))?;
    if settlement_status(&stored.settlement)? != SettlementStatus::Draft {
        return Err(AppError::Conflict(format!(
            "the settlement of {fiscal_year} is already approved"
        )));
    }
    let rate: Decimal = stored.settlement.rate.parse().map_err(AppError::internal)?;
    let budget = stored.settlement.budget_fen.map(Money::from_fen);
    ensure_verdicts_current(&txn, fiscal_year).await?;
    let (fresh, _) = compute_draft(&txn, fiscal_year, Some(rate), budget).await?;
    // Every figure the draft states, not only the money granted: a claim reconciled, returned or
    // submitted since the draft changes what the approved year records (its reported and cut
    // totals, the cut by reason, why a district has zeros) even when the grants stay the same.
    let current: Vec<LineFigures> = fresh.districts.iter().map(LineFigures::from).collect();
    let drafted: Vec<LineFigures> = stored.lines.iter().map(LineFigures::from).collect();
    if current != drafted {
        let changed = current
            .iter()
            .zip(&drafted)
            .find(|(now, then)| now != then)
            .map_or_else(String::new, |(now, _)| format!(" (district {})", now.code));
        return Err(AppError::Conflict(format!(
            "claims or adjustments changed since the draft{changed}: draft the settlement again"
        )));
    }
    let now = Utc::now();
    let updated = settlements::Entity::update_many()
        .col_expr(
            settlements::Column::Status,
            sea_orm::sea_query::Expr::value(SettlementStatus::Approved.as_str()),
        )
        .col_expr(
            settlements::Column::ApprovedAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .col_expr(
            settlements::Column::ApprovedBy,
            sea_orm::sea_query::Expr::value(actor.sub.clone()),
        )
        .col_expr(
            settlements::Column::LockVersion,
            sea_orm::sea_query::Expr::value(stored.settlement.lock_version + 1),
        )
        .filter(settlements::Column::Id.eq(stored.settlement.id))
        .filter(settlements::Column::Status.eq(SettlementStatus::Draft.as_str()))
        .filter(settlements::Column::LockVersion.eq(stored.settlement.lock_version))
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(AppError::Conflict(format!(
            "the settlement of {fiscal_year} was approved or re-drafted meanwhile"
        )));
    }
    let mut changes = Vec::new();
    for claim in claims::Entity::find()
        .filter(claims::Column::FiscalYear.eq(fiscal_year))
        .filter(claims::Column::Status.eq(ClaimStatus::Reconciled.as_str()))
        .all(&txn)
        .await?
    {
        let mut active: claims::ActiveModel = claim.into();
        active.status = Set(ClaimStatus::Approved.as_str().to_owned());
        active.updated_at = Set(now);
        let claim = active.update(&txn).await?;
        changes.push(
            claim_feed::record(&txn, &claim, ClaimStatus::Approved, None, None, actor, now).await?,
        );
    }
    let stored = get(&txn, fiscal_year)
        .await?
        .ok_or_else(|| AppError::internal("approved settlement vanished"))?;
    let chain_head = audit::record(
        &txn,
        actor,
        AuditEntry {
            operation: "approveSettlement",
            target_type: "settlement",
            target_id: Some(fiscal_year.to_string()),
            before: Some(json!({ "status": SettlementStatus::Draft })),
            after: Some(settlement_summary(&stored.settlement)),
        },
    )
    .await?;
    // The audit chain's head with the approval's own entry: a printed settlement carrying it pins
    // the log as it stood when the year was approved.
    settlements::Entity::update_many()
        .col_expr(
            settlements::Column::AuditHeadAtApproval,
            sea_orm::sea_query::Expr::value(chain_head),
        )
        .filter(settlements::Column::Id.eq(stored.settlement.id))
        .exec(&txn)
        .await?;
    let stored = get(&txn, fiscal_year)
        .await?
        .ok_or_else(|| AppError::internal("approved settlement vanished"))?;
    txn.commit().await?;
    feed.committed(db, changes);
    Ok(stored)
}

/// The year in which a settlement of `fiscal_year` is payable (§20: 次年).
pub fn payable_year(fiscal_year: i32) -> i32 {
    fiscal_year + 1
}

/// Whether `date` falls in `fiscal_year` (the calendar year).
pub fn in_fiscal_year(date: NaiveDate, fiscal_year: i32) -> bool {
    date.year() == fiscal_year
}
