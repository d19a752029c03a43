//! §20 step 6: findings on approved lines, and the adjustments of a later settlement they become.
//!
//! An approved year is never edited: a finding after approval becomes a negative adjustment of the
//! district's next settlement not yet approved.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{NaiveDate, Utc};
use sea_orm::sea_query::{Expr, Query, SelectStatement};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder,
};
use serde_json::json;

use crate::auth::Actor;
use crate::error::{AppError, AppResult};
use crate::policy::money::Money;
use crate::policy::settlement as rules;
use crate::services::audit::{self, AuditEntry};
use crate::services::keyset::{self, KeyOrder, KeyPart, Page, PageRequest};
use crate::services::reconciliation::{
    approved_years, district_error, lines_of_enterprises, verdicts_of,
};
use crate::services::settlement::get;
use crate::services::{locks, tx};
use entity::{adjustments, finding_lines, findings, payment_lines, recognitions};

policy::code_enum! {
    /// Where a finding comes from, as stored on the finding.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum FindingKind: "finding kind" {
        /// Recorded by the finance bureau on approved lines (`recordFinding`, §20 step 6).
        Audit = "AUDIT",
        /// Recorded by a revocation reaching approved payments (§22).
        Revocation = "REVOCATION",
    }
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
    kind: FindingKind,
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
        kind: Set(kind.as_str().to_string()),
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
                "kind": kind.as_str(),
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
#[tracing::instrument(name = "finding.record", skip_all, fields(role = %actor.role, lines = line_ids.len()))]
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
    let recorded =
        record_finding_in(&txn, actor, FindingKind::Audit, None, line_ids, reason).await?;
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
            FindingKind::Revocation,
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

/// Filters of the list of findings; all optional, combined with AND.
#[derive(Debug, Clone, Default)]
pub struct FindingFilter {
    /// Only findings naming lines of this fiscal year (of `district_code`, if given).
    pub fiscal_year: Option<i32>,
    /// Only findings naming lines of this district (a district actor's own, always).
    pub district_code: Option<String>,
    /// Only the finding with this id.
    pub id: Option<i64>,
}

/// The ids of the payment lines of `district_code` and `fiscal_year` (either optional).
fn lines_where(fiscal_year: Option<i32>, district_code: Option<&str>) -> SelectStatement {
    let mut lines = Query::select();
    lines
        .column(payment_lines::Column::Id)
        .from(payment_lines::Entity);
    if let Some(year) = fiscal_year {
        lines.and_where(payment_lines::Column::FiscalYear.eq(year));
    }
    if let Some(code) = district_code {
        lines.and_where(payment_lines::Column::DistrictCode.eq(code));
    }
    lines
}

fn findings_query(filter: &FindingFilter) -> sea_orm::Select<findings::Entity> {
    let mut query = findings::Entity::find();
    if let Some(id) = filter.id {
        query = query.filter(findings::Column::Id.eq(id));
    }
    if filter.fiscal_year.is_some() || filter.district_code.is_some() {
        let mut named = Query::select();
        named
            .column(finding_lines::Column::FindingId)
            .from(finding_lines::Entity)
            .and_where(finding_lines::Column::LineId.in_subquery(lines_where(
                filter.fiscal_year,
                filter.district_code.as_deref(),
            )));
        query = query.filter(findings::Column::Id.in_subquery(named));
    }
    query
}

/// One adjustment by id.
///
/// # Errors
/// Database errors.
pub async fn adjustment<C: ConnectionTrait>(
    conn: &C,
    id: i64,
) -> AppResult<Option<adjustments::Model>> {
    Ok(adjustments::Entity::find_by_id(id).one(conn).await?)
}

/// How many findings match `filter`.
///
/// # Errors
/// Database errors.
pub async fn count_findings<C: ConnectionTrait>(
    conn: &C,
    filter: &FindingFilter,
) -> AppResult<u64> {
    Ok(findings_query(filter).count(conn).await?)
}

/// One page of the findings matching `filter` in the order recorded (by id), each with its
/// lines and adjustments — only those of `scope` when given (a district actor sees its own
/// district's part of a finding). Three statements whatever the page size.
///
/// # Errors
/// Database errors.
pub async fn finding_page<C: ConnectionTrait>(
    conn: &C,
    filter: &FindingFilter,
    scope: Option<&str>,
    request: &PageRequest,
) -> AppResult<Page<RecordedFinding>> {
    let key = KeyOrder::asc(vec![Expr::col((findings::Entity, findings::Column::Id))]);
    let rows = keyset::apply(findings_query(filter), &key, request)
        .all(conn)
        .await?;
    let page = keyset::finish(rows, request, |f| vec![KeyPart::Int(f.id)]);
    let ids: Vec<i64> = page.items.iter().map(|(_, f)| f.id).collect();
    let mut lines: HashMap<i64, Vec<i64>> = HashMap::new();
    let mut adjusted: HashMap<i64, Vec<adjustments::Model>> = HashMap::new();
    if !ids.is_empty() {
        let mut query = finding_lines::Entity::find()
            .filter(finding_lines::Column::FindingId.is_in(ids.clone()));
        if let Some(code) = scope {
            query = query
                .filter(finding_lines::Column::LineId.in_subquery(lines_where(None, Some(code))));
        }
        for row in query
            .order_by_asc(finding_lines::Column::LineId)
            .all(conn)
            .await?
        {
            lines.entry(row.finding_id).or_default().push(row.line_id);
        }
        let mut query =
            adjustments::Entity::find().filter(adjustments::Column::FindingId.is_in(ids));
        if let Some(code) = scope {
            query = query.filter(adjustments::Column::DistrictCode.eq(code));
        }
        for row in query
            .order_by_asc(adjustments::Column::Id)
            .all(conn)
            .await?
        {
            adjusted.entry(row.finding_id).or_default().push(row);
        }
    }
    page.try_map(|finding| {
        Ok(RecordedFinding {
            line_ids: lines.remove(&finding.id).unwrap_or_default(),
            adjustments: adjusted.remove(&finding.id).unwrap_or_default(),
            finding,
        })
    })
}
