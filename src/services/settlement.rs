//! §20 steps 3 to 6: reconciling claims line by line, drafting and approving the yearly
//! settlement, and findings that become adjustments of a later settlement.
//!
//! The services load what the pure rules of [`crate::policy::reconciliation`] and
//! [`crate::policy::settlement`] read, call them, and store their verdicts. An approved year is
//! never edited: a finding after approval becomes a negative adjustment of the district's next
//! settlement not yet approved.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{Datelike, NaiveDate, Utc};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde_json::json;

use crate::auth::{Actor, Role};
use crate::error::{AppError, AppResult};
use crate::policy::money::Money;
use crate::policy::reconciliation::{
    self, ApprovedLine, CutReason, DateRange, EnterpriseContext, PaymentKind, PaymentLine,
    PolicyPeriod, ReasonCode, ReconciliationInput, Registration,
};
use crate::policy::settlement::{
    self as rules, ClaimTotals, DistrictInput, DistrictStatus, SettlementDraft, SettlementParams,
};
use crate::services::audit::{self, AuditEntry};
use crate::services::{locks, parameters, payments, tx};
use entity::{
    adjustments, claim_events, claims, districts, enterprise_facts, finding_lines, findings,
    line_verdicts, payment_lines, recognitions, revocations, settlement_lines, settlements,
    star_ratings,
};

/// Rows per multi-row INSERT (well under SQLite's limit of bound parameters).
const INSERT_CHUNK: usize = 500;

/// Claim statuses.
pub mod status {
    /// Submitted by the district, waiting for reconciliation.
    pub const SUBMITTED: &str = "SUBMITTED";
    /// Returned to the district with a reason.
    pub const RETURNED: &str = "RETURNED";
    /// Every line has a verdict.
    pub const RECONCILED: &str = "RECONCILED";
    /// Counted in an approved settlement.
    pub const APPROVED: &str = "APPROVED";
    /// A settlement that can still be re-drafted.
    pub const DRAFT: &str = "DRAFT";
}

fn to_policy_line(row: &payment_lines::Model) -> AppResult<PaymentLine> {
    Ok(PaymentLine {
        id: row.id,
        seq: row.seq,
        district: row.district_code.clone(),
        enterprise_id: row.enterprise_id,
        kind: row
            .kind
            .parse::<PaymentKind>()
            .map_err(AppError::internal)?,
        subsidy_year: row.subsidy_year,
        contract_no: row.contract_no.clone(),
        basis: Money::from_fen(row.basis_fen),
        transaction_date: row.transaction_date,
        amount: Money::from_fen(row.amount_fen),
        payment_date: row.payment_date,
        voucher_no: row.voucher_no.clone(),
    })
}

fn year_end(year: i32) -> AppResult<NaiveDate> {
    NaiveDate::from_ymd_opt(year, 12, 31)
        .ok_or_else(|| AppError::bad_input("fiscalYear", "not a valid year"))
}

/// Fiscal years whose settlement is approved.
async fn approved_years<C: ConnectionTrait>(conn: &C) -> AppResult<BTreeSet<i32>> {
    Ok(settlements::Entity::find()
        .filter(settlements::Column::Status.eq(locks::APPROVED))
        .all(conn)
        .await?
        .into_iter()
        .map(|s| s.fiscal_year)
        .collect())
}

/// The dated facts of `ids` that the whole-line rules read.
async fn contexts<C: ConnectionTrait>(conn: &C, ids: &[i64]) -> AppResult<Vec<EnterpriseContext>> {
    let mut by_id: BTreeMap<i64, EnterpriseContext> = ids
        .iter()
        .map(|&id| {
            (
                id,
                EnterpriseContext {
                    enterprise_id: id,
                    ..EnterpriseContext::default()
                },
            )
        })
        .collect();
    for chunk in ids.chunks(500) {
        let chunk = chunk.to_vec();
        for r in recognitions::Entity::find()
            .filter(recognitions::Column::EnterpriseId.is_in(chunk.clone()))
            .all(conn)
            .await?
        {
            if let Some(c) = by_id.get_mut(&r.enterprise_id) {
                c.recognitions.insert(r.year, r.decided_on);
            }
        }
        for r in star_ratings::Entity::find()
            .filter(star_ratings::Column::EnterpriseId.is_in(chunk.clone()))
            .all(conn)
            .await?
        {
            if let Some(c) = by_id.get_mut(&r.enterprise_id) {
                c.stars.insert(r.year, u8::try_from(r.stars).unwrap_or(0));
            }
        }
        for f in enterprise_facts::Entity::find()
            .filter(enterprise_facts::Column::EnterpriseId.is_in(chunk.clone()))
            .order_by_asc(enterprise_facts::Column::ValidFrom)
            .all(conn)
            .await?
        {
            if let Some(c) = by_id.get_mut(&f.enterprise_id) {
                let during = DateRange {
                    from: f.valid_from,
                    to: f.valid_to,
                };
                if f.owns_office {
                    c.offices.push(during);
                }
                c.registrations.push(Registration {
                    during,
                    district: f.district_code.clone(),
                });
            }
        }
        for r in revocations::Entity::find()
            .filter(revocations::Column::EnterpriseId.is_in(chunk))
            .all(conn)
            .await?
        {
            if let Some(c) = by_id.get_mut(&r.enterprise_id) {
                c.revocations.push(r.revoked_on);
            }
        }
    }
    Ok(by_id.into_values().collect())
}

/// Reported lines of the given enterprises, any district, any year.
async fn lines_of_enterprises<C: ConnectionTrait>(
    conn: &C,
    ids: &[i64],
) -> AppResult<Vec<payment_lines::Model>> {
    let mut rows = Vec::new();
    for chunk in ids.chunks(500) {
        rows.extend(
            payment_lines::Entity::find()
                .filter(payment_lines::Column::EnterpriseId.is_in(chunk.to_vec()))
                .order_by_asc(payment_lines::Column::Seq)
                .all(conn)
                .await?,
        );
    }
    Ok(rows)
}

/// Verdicts of the given lines, by line id.
async fn verdicts_of<C: ConnectionTrait>(
    conn: &C,
    line_ids: &[i64],
) -> AppResult<HashMap<i64, line_verdicts::Model>> {
    let mut map = HashMap::new();
    for chunk in line_ids.chunks(500) {
        for v in line_verdicts::Entity::find()
            .filter(line_verdicts::Column::LineId.is_in(chunk.to_vec()))
            .all(conn)
            .await?
        {
            map.insert(v.line_id, v);
        }
    }
    Ok(map)
}

fn primary_of(v: &line_verdicts::Model) -> AppResult<Option<ReasonCode>> {
    v.primary_reason
        .as_deref()
        .map(|r| r.parse::<ReasonCode>().map_err(AppError::internal))
        .transpose()
}

fn district_error(actor: &Actor) -> AppResult<()> {
    if actor.role != Role::CityFinance {
        return Err(AppError::Forbidden(
            "only the finance bureau reconciles and settles".into(),
        ));
    }
    Ok(())
}

/// The verdicts of a claim's lines (`rows`, in report order) as the facts stand now: the
/// enterprises' dated facts, every reported line of those enterprises, the approved lines of
/// their ratio groups and the parameters.
///
/// # Errors
/// Database errors; an internal error for stored data breaking the report step's invariants.
async fn decide<C: ConnectionTrait>(
    conn: &C,
    fiscal_year: i32,
    rows: &[payment_lines::Model],
) -> AppResult<Vec<reconciliation::LineVerdict>> {
    let lines = rows
        .iter()
        .map(to_policy_line)
        .collect::<AppResult<Vec<_>>>()?;
    let ids: Vec<i64> = rows
        .iter()
        .map(|l| l.enterprise_id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let reported_rows = lines_of_enterprises(conn, &ids).await?;
    let approved = approved_years(conn).await?;
    let approved_rows: Vec<&payment_lines::Model> = reported_rows
        .iter()
        .filter(|l| approved.contains(&l.fiscal_year))
        .collect();
    let approved_verdicts = verdicts_of(
        conn,
        &approved_rows.iter().map(|l| l.id).collect::<Vec<_>>(),
    )
    .await?;
    let mut approved_lines = Vec::new();
    for row in approved_rows {
        if let Some(v) = approved_verdicts.get(&row.id) {
            approved_lines.push(ApprovedLine {
                line: to_policy_line(row)?,
                eligible: Money::from_fen(v.eligible_fen),
                primary_reason: primary_of(v)?,
            });
        }
    }
    let set = parameters::load_set(conn).await?;
    let input = ReconciliationInput {
        lines,
        reported: reported_rows
            .iter()
            .map(to_policy_line)
            .collect::<AppResult<Vec<_>>>()?,
        approved: approved_lines,
        enterprises: contexts(conn, &ids).await?,
        period: PolicyPeriod::from_set(&set, year_end(fiscal_year)?)?,
    };
    Ok(reconciliation::reconcile(&input, &set)?)
}

/// What a reconciliation stored.
#[derive(Debug, Clone)]
pub struct Reconciled {
    /// The claim, now `RECONCILED`.
    pub claim: claims::Model,
    /// One verdict per line, in report order.
    pub verdicts: Vec<line_verdicts::Model>,
    /// Σ eligible over the verdicts.
    pub eligible_total: Money,
    /// Σ cut over the verdicts.
    pub cut_total: Money,
}

/// Reconciles the claim of `district_code` for `fiscal_year` (§20 step 3): every line gets its
/// verdict, replacing any earlier one. Running it again on unchanged data stores the same
/// verdicts.
///
/// # Errors
/// `NOT_FOUND` without a claim; `CONFLICT` for a claim that is not submitted or reconciled, or
/// whose lines no longer match their submitted hash; `PERIOD_LOCKED` for an approved year.
pub async fn reconcile_claim(
    db: &DatabaseConnection,
    actor: &Actor,
    district_code: &str,
    fiscal_year: i32,
) -> AppResult<Reconciled> {
    district_error(actor)?;
    let txn = tx::begin_write(db).await?;
    locks::lock_money_writes(&txn).await?;
    payments::check_district(&txn, actor, district_code).await?;
    locks::ensure_open(&txn, fiscal_year).await?;
    let claim = payments::find_claim(&txn, district_code, fiscal_year)
        .await?
        .ok_or_else(|| AppError::NotFound("no claim for this district and year".into()))?;
    if claim.status != status::SUBMITTED && claim.status != status::RECONCILED {
        return Err(AppError::Conflict(format!(
            "a {} claim cannot be reconciled",
            claim.status.to_lowercase()
        )));
    }
    let rows = payments::lines_of(&txn, district_code, fiscal_year).await?;
    if claim.content_hash.as_deref() != Some(payments::content_hash(&rows).as_str()) {
        return Err(AppError::Conflict(
            "the claim's lines no longer match the hash recorded at submission".into(),
        ));
    }
    let decided = decide(&txn, fiscal_year, &rows).await?;

    line_verdicts::Entity::delete_many()
        .filter(line_verdicts::Column::ClaimId.eq(claim.id))
        .exec(&txn)
        .await?;
    let now = Utc::now();
    let mut rows = Vec::with_capacity(decided.len());
    for v in &decided {
        rows.push(line_verdicts::ActiveModel {
            id: NotSet,
            line_id: Set(v.line_id),
            claim_id: Set(claim.id),
            eligible_fen: Set(v.eligible.fen()),
            cut_fen: Set(v.cut.fen()),
            reasons: Set(serde_json::to_string(&v.reasons).map_err(AppError::internal)?),
            primary_reason: Set(v.primary_reason.map(|r| r.as_str().to_string())),
            ratio_group: Set(v.ratio_group.clone()),
            group_limit_fen: Set(v.group_limit.map(Money::fen)),
            parameter_versions: Set(
                serde_json::to_string(&v.parameter_versions).map_err(AppError::internal)?
            ),
            decided_at: Set(now),
            decided_by: Set(actor.sub.clone()),
        });
    }
    // Multi-row inserts: one statement per chunk instead of one per verdict.
    for chunk in rows.chunks(INSERT_CHUNK) {
        line_verdicts::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(&txn)
            .await?;
    }
    let mut by_line: HashMap<i64, line_verdicts::Model> = line_verdicts::Entity::find()
        .filter(line_verdicts::Column::ClaimId.eq(claim.id))
        .all(&txn)
        .await?
        .into_iter()
        .map(|v| (v.line_id, v))
        .collect();
    let stored: Vec<line_verdicts::Model> = decided
        .iter()
        .map(|v| {
            by_line
                .remove(&v.line_id)
                .ok_or_else(|| AppError::internal("a stored verdict is missing"))
        })
        .collect::<AppResult<_>>()?;
    let eligible = Money::checked_sum_fen(stored.iter().map(|v| v.eligible_fen))
        .ok_or_else(|| AppError::internal("Σ eligible of the claim overflows"))?;
    let cut = Money::checked_sum_fen(stored.iter().map(|v| v.cut_fen))
        .ok_or_else(|| AppError::internal("Σ cut of the claim overflows"))?;
    let before_status = claim.status.clone();
    let mut active: claims::ActiveModel = claim.into();
    active.status = Set(status::RECONCILED.into());
    active.updated_at = Set(now);
    let claim = active.update(&txn).await?;
    claim_events::ActiveModel {
        id: NotSet,
        claim_id: Set(claim.id),
        action: Set(status::RECONCILED.into()),
        reason: Set(None),
        content_hash: Set(claim.content_hash.clone()),
        actor: Set(actor.sub.clone()),
        at: Set(now),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        actor,
        AuditEntry {
            operation: "reconcileClaim",
            target_type: "claim",
            target_id: Some(format!("{district_code}/{fiscal_year}")),
            before: Some(json!({ "status": before_status })),
            after: Some(json!({
                "status": status::RECONCILED,
                "lines": stored.len(),
                "eligibleFen": eligible.fen(),
                "cutFen": cut.fen(),
            })),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(Reconciled {
        claim,
        verdicts: stored,
        eligible_total: eligible,
        cut_total: cut,
    })
}

/// The stored verdict of each of `line_ids`.
///
/// # Errors
/// Database errors.
pub async fn verdicts_for<C: ConnectionTrait>(
    conn: &C,
    line_ids: &[i64],
) -> AppResult<HashMap<i64, line_verdicts::Model>> {
    verdicts_of(conn, line_ids).await
}

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
    let placeholder = match backend {
        DbBackend::Postgres => "$1",
        _ => "?",
    };
    let sql = format!(
        "SELECT c.district_code AS district_code, v.primary_reason AS primary_reason, \
               CAST(SUM(v.eligible_fen) AS BIGINT) AS eligible, CAST(SUM(v.cut_fen) AS BIGINT) AS cut \
               FROM line_verdicts v JOIN claims c ON c.id = v.claim_id \
               WHERE c.fiscal_year = {placeholder} AND c.status IN ('RECONCILED', 'APPROVED') \
               GROUP BY c.district_code, v.primary_reason"
    );
    let rows = Row::find_by_statement(Statement::from_sql_and_values(
        backend,
        sql,
        [fiscal_year.into()],
    ))
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
        let status = match claims_by_district.get(&d.code).map(|c| c.status.as_str()) {
            Some(status::RECONCILED | status::APPROVED) => {
                DistrictStatus::Reconciled(totals.get(&d.code).cloned().unwrap_or_default())
            }
            Some(status::SUBMITTED) => DistrictStatus::NotReconciled,
            // Only a district without a claim in progress needs a look at its lines: one probe
            // through the (district, fiscal year) index instead of a scan of the year's lines.
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
    active.status = Set(status::DRAFT.into());
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
        .filter(claims::Column::Status.eq(status::RECONCILED))
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
        for now in decide(conn, fiscal_year, &rows).await? {
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
pub async fn approve(
    db: &DatabaseConnection,
    actor: &Actor,
    fiscal_year: i32,
) -> AppResult<StoredSettlement> {
    district_error(actor)?;
    let txn = tx::begin_write(db).await?;
    locks::lock_money_writes(&txn).await?;
    let stored = get(&txn, fiscal_year)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no settlement drafted for {fiscal_year}")))?;
    if stored.settlement.status != status::DRAFT {
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
            sea_orm::sea_query::Expr::value(locks::APPROVED),
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
        .filter(settlements::Column::Status.eq(status::DRAFT))
        .filter(settlements::Column::LockVersion.eq(stored.settlement.lock_version))
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(AppError::Conflict(format!(
            "the settlement of {fiscal_year} was approved or re-drafted meanwhile"
        )));
    }
    for claim in claims::Entity::find()
        .filter(claims::Column::FiscalYear.eq(fiscal_year))
        .filter(claims::Column::Status.eq(status::RECONCILED))
        .all(&txn)
        .await?
    {
        let claim_id = claim.id;
        let mut active: claims::ActiveModel = claim.into();
        active.status = Set(status::APPROVED.into());
        active.updated_at = Set(now);
        active.update(&txn).await?;
        claim_events::ActiveModel {
            id: NotSet,
            claim_id: Set(claim_id),
            action: Set(status::APPROVED.into()),
            reason: Set(None),
            content_hash: Set(None),
            actor: Set(actor.sub.clone()),
            at: Set(now),
        }
        .insert(&txn)
        .await?;
    }
    let stored = get(&txn, fiscal_year)
        .await?
        .ok_or_else(|| AppError::internal("approved settlement vanished"))?;
    audit::record(
        &txn,
        actor,
        AuditEntry {
            operation: "approveSettlement",
            target_type: "settlement",
            target_id: Some(fiscal_year.to_string()),
            before: Some(json!({ "status": status::DRAFT })),
            after: Some(settlement_summary(&stored.settlement)),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(stored)
}

/// What a finding recorded.
#[derive(Debug, Clone)]
pub struct RecordedFinding {
    /// The finding.
    pub finding: findings::Model,
    /// The lines it names.
    pub line_ids: Vec<i64>,
    /// The adjustments it created, one per district and original year.
    pub adjustments: Vec<adjustments::Model>,
}

/// Records a finding on approved lines and turns it into adjustments (§20 step 6), inside the
/// caller's transaction.
///
/// # Errors
/// `BAD_USER_INPUT` for unknown lines or lines of a year not approved; `CONFLICT` for a line
/// already named by a finding.
pub async fn record_finding_in<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    kind: &str,
    revocation_id: Option<i64>,
    line_ids: &[i64],
    reason: &str,
) -> AppResult<RecordedFinding> {
    let mut ids: Vec<i64> = line_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Err(AppError::bad_input("lineIds", "name at least one line"));
    }
    let rows = payment_lines::Entity::find()
        .filter(payment_lines::Column::Id.is_in(ids.clone()))
        .all(conn)
        .await?;
    if rows.len() != ids.len() {
        return Err(AppError::bad_input("lineIds", "unknown payment line"));
    }
    let approved = approved_years(conn).await?;
    if let Some(open) = rows.iter().find(|l| !approved.contains(&l.fiscal_year)) {
        return Err(AppError::bad_input(
            "lineIds",
            format!(
                "line {} belongs to {}, which is not approved: return or reconcile the claim instead",
                open.id, open.fiscal_year
            ),
        ));
    }
    let already = finding_lines::Entity::find()
        .filter(finding_lines::Column::LineId.is_in(ids.clone()))
        .one(conn)
        .await?;
    if let Some(dup) = already {
        return Err(AppError::Conflict(format!(
            "line {} is already named by finding {}",
            dup.line_id, dup.finding_id
        )));
    }
    let verdicts = verdicts_of(conn, &ids).await?;
    let now = Utc::now();
    let finding = findings::ActiveModel {
        id: NotSet,
        kind: Set(kind.to_string()),
        revocation_id: Set(revocation_id),
        reason: Set(reason.to_string()),
        recorded_at: Set(now),
        recorded_by: Set(actor.sub.clone()),
    }
    .insert(conn)
    .await?;
    for id in &ids {
        finding_lines::ActiveModel {
            id: NotSet,
            finding_id: Set(finding.id),
            line_id: Set(*id),
        }
        .insert(conn)
        .await?;
    }
    // e per (district, original year).
    let mut found: BTreeMap<(String, i32), i64> = BTreeMap::new();
    for row in &rows {
        let eligible = verdicts.get(&row.id).map_or(0, |v| v.eligible_fen);
        let entry = found
            .entry((row.district_code.clone(), row.fiscal_year))
            .or_insert(0);
        *entry = entry
            .checked_add(eligible)
            .ok_or_else(|| AppError::internal("Σ eligible of the finding overflows"))?;
    }
    let mut created = Vec::new();
    for ((district, year), e) in found {
        let Some(original) = get(conn, year).await? else {
            continue;
        };
        let Some(line) = original.lines.iter().find(|l| l.district_code == district) else {
            continue;
        };
        let amount = rules::adjustment(
            Money::from_fen(e),
            Money::from_fen(line.eligible_fen),
            Money::from_fen(line.granted_fen),
        )?;
        if amount.is_zero() {
            continue;
        }
        let target = (year + 1..)
            .find(|y| !approved.contains(y))
            .ok_or_else(|| AppError::internal("no open fiscal year"))?;
        created.push(
            adjustments::ActiveModel {
                id: NotSet,
                finding_id: Set(finding.id),
                district_code: Set(district.clone()),
                original_settlement_id: Set(original.settlement.id),
                original_year: Set(year),
                target_year: Set(target),
                amount_fen: Set(amount.fen()),
                found_eligible_fen: Set(e),
                district_eligible_fen: Set(line.eligible_fen),
                district_granted_fen: Set(line.granted_fen),
                reason: Set(reason.to_string()),
                created_at: Set(now),
            }
            .insert(conn)
            .await?,
        );
    }
    audit::record(
        conn,
        actor,
        AuditEntry {
            operation: "recordFinding",
            target_type: "finding",
            target_id: Some(finding.id.to_string()),
            before: None,
            after: Some(json!({
                "kind": kind,
                "reason": reason,
                "lineIds": ids,
                "adjustments": created.iter().map(|a| json!({
                    "district": a.district_code, "originalYear": a.original_year,
                    "targetYear": a.target_year, "amountFen": a.amount_fen,
                })).collect::<Vec<_>>(),
            })),
        },
    )
    .await?;
    Ok(RecordedFinding {
        finding,
        line_ids: ids,
        adjustments: created,
    })
}

/// Records an audit finding of `CITY_FINANCE` naming approved lines (§20 step 6).
///
/// # Errors
/// As [`record_finding_in`]; `BAD_USER_INPUT` for an empty reason.
pub async fn record_finding(
    db: &DatabaseConnection,
    actor: &Actor,
    line_ids: &[i64],
    reason: &str,
) -> AppResult<RecordedFinding> {
    district_error(actor)?;
    let reason = super::reason_text(reason)?;
    if line_ids.len() > 10_000 {
        return Err(AppError::bad_input(
            "lineIds",
            "at most 10000 lines per finding",
        ));
    }
    let txn = tx::begin_write(db).await?;
    locks::lock_money_writes(&txn).await?;
    let recorded = record_finding_in(&txn, actor, "AUDIT", None, line_ids, reason).await?;
    txn.commit().await?;
    Ok(recorded)
}

/// After a revocation on `revoked_on`: the approved lines it reaches (paid on or after R, for a
/// subsidy year whose recognition was decided before R, with an eligible amount, not yet named by
/// a finding) become a finding of kind `REVOCATION`, inside the caller's transaction.
///
/// # Errors
/// Database errors.
pub async fn findings_for_revocation<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    enterprise_id: i64,
    revocation_id: i64,
    revoked_on: NaiveDate,
) -> AppResult<Option<RecordedFinding>> {
    // Serialised with approvals: a revocation racing one either sees the year approved (and
    // becomes a finding) or is seen by the approval's check of the verdicts.
    locks::lock_money_writes(conn).await?;
    let approved = approved_years(conn).await?;
    if approved.is_empty() {
        return Ok(None);
    }
    let decided: HashMap<i32, NaiveDate> = recognitions::Entity::find()
        .filter(recognitions::Column::EnterpriseId.eq(enterprise_id))
        .all(conn)
        .await?
        .into_iter()
        .map(|r| (r.year, r.decided_on))
        .collect();
    let rows = lines_of_enterprises(conn, &[enterprise_id]).await?;
    let candidates: Vec<&payment_lines::Model> = rows
        .iter()
        .filter(|l| approved.contains(&l.fiscal_year))
        .filter(|l| l.payment_date >= revoked_on)
        .filter(|l| {
            decided
                .get(&l.subsidy_year)
                .is_some_and(|d| *d < revoked_on)
        })
        .collect();
    let ids: Vec<i64> = candidates.iter().map(|l| l.id).collect();
    let verdicts = verdicts_of(conn, &ids).await?;
    let named: BTreeSet<i64> = finding_lines::Entity::find()
        .filter(finding_lines::Column::LineId.is_in(ids.clone()))
        .all(conn)
        .await?
        .into_iter()
        .map(|f| f.line_id)
        .collect();
    let reached: Vec<i64> = ids
        .into_iter()
        .filter(|id| !named.contains(id))
        .filter(|id| verdicts.get(id).is_some_and(|v| v.eligible_fen > 0))
        .collect();
    if reached.is_empty() {
        return Ok(None);
    }
    let reason = format!(
        "title revoked on {revoked_on} (§22): approved payments from that day are taken back"
    );
    Ok(Some(
        record_finding_in(
            conn,
            actor,
            "REVOCATION",
            Some(revocation_id),
            &reached,
            &reason,
        )
        .await?,
    ))
}

/// Adjustments carried into `fiscal_year` (optionally of one district).
///
/// # Errors
/// Database errors.
pub async fn adjustments_into<C: ConnectionTrait>(
    conn: &C,
    fiscal_year: i32,
    district: Option<&str>,
) -> AppResult<Vec<adjustments::Model>> {
    let mut query =
        adjustments::Entity::find().filter(adjustments::Column::TargetYear.eq(fiscal_year));
    if let Some(code) = district {
        query = query.filter(adjustments::Column::DistrictCode.eq(code));
    }
    Ok(query
        .order_by_asc(adjustments::Column::Id)
        .all(conn)
        .await?)
}

/// The lines named by `finding_id`.
///
/// # Errors
/// Database errors.
pub async fn finding_line_ids<C: ConnectionTrait>(
    conn: &C,
    finding_id: i64,
) -> AppResult<Vec<i64>> {
    Ok(finding_lines::Entity::find()
        .filter(finding_lines::Column::FindingId.eq(finding_id))
        .order_by_asc(finding_lines::Column::LineId)
        .all(conn)
        .await?
        .into_iter()
        .map(|f| f.line_id)
        .collect())
}

/// The year in which a settlement of `fiscal_year` is payable (§20: 次年).
pub fn payable_year(fiscal_year: i32) -> i32 {
    fiscal_year + 1
}

/// Whether `date` falls in `fiscal_year` (the calendar year).
pub fn in_fiscal_year(date: NaiveDate, fiscal_year: i32) -> bool {
    date.year() == fiscal_year
}
