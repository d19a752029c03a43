//! §20 step 3: reconciling a claim line by line.
//!
//! The service loads what the pure rules of [`crate::policy::reconciliation`] read (the
//! enterprises' dated facts, every reported line of those enterprises, the approved lines of their
//! ratio groups and the parameters), calls them, and stores one verdict per line.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{NaiveDate, Utc};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde_json::json;

use crate::auth::{Actor, Role};
use crate::error::{AppError, AppResult};
use crate::policy::money::Money;
use crate::policy::reconciliation::{
    self, ApprovedLine, DateRange, EnterpriseContext, PaymentKind, PaymentLine, PolicyPeriod,
    ReasonCode, ReconciliationInput, Registration,
};
use crate::policy::settlement::{ClaimStatus, SettlementStatus};
use crate::services::audit::{self, AuditEntry};
use crate::services::claim_feed::{self, ClaimFeed};
use crate::services::keyset::{self, KeyOrder, KeyPart, Page, PageRequest};
use crate::services::settlement::INSERT_CHUNK;
use crate::services::{bulk, locks, parameters, payments, tx};
use entity::{
    claims, enterprise_facts, line_verdicts, payment_lines, recognitions, revocations, settlements,
    star_ratings,
};
use sea_orm::PaginatorTrait;
use sea_orm::sea_query::Expr;

pub(crate) fn to_policy_line(row: &payment_lines::Model) -> AppResult<PaymentLine> {
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
pub(super) async fn approved_years<C: ConnectionTrait>(conn: &C) -> AppResult<BTreeSet<i32>> {
    Ok(settlements::Entity::find()
        .filter(settlements::Column::Status.eq(SettlementStatus::Approved.as_str()))
        .all(conn)
        .await?
        .into_iter()
        .map(|s| s.fiscal_year)
        .collect())
}

/// Enterprise ids bound per statement by the reads of [`contexts`] and
/// [`lines_of_enterprises`]: few statements for a whole year's enterprises, well under both
/// databases' limits on bound values. (A sub-select over the claims' lines instead of the ids
/// was tried: PostgreSQL plans it as a hash semi-join over every payment line, 150 ms a claim
/// at national scale.)
const ID_CHUNK: usize = 5_000;

/// The dated facts of `ids` that the whole-line rules read.
pub(crate) async fn contexts<C: ConnectionTrait>(
    conn: &C,
    ids: &[i64],
) -> AppResult<Vec<EnterpriseContext>> {
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
    for chunk in ids.chunks(ID_CHUNK) {
        let chunk = chunk.to_vec();
        // The three columns the rules read, not the stored verdicts (kilobytes of JSON each).
        for (enterprise_id, year, decided_on) in bulk::tuples::<_, (i64, i32, NaiveDate), _>(
            conn,
            recognitions::Entity::find()
                .filter(recognitions::Column::EnterpriseId.is_in(chunk.clone())),
            &[
                recognitions::Column::EnterpriseId,
                recognitions::Column::Year,
                recognitions::Column::DecidedOn,
            ],
        )
        .await?
        {
            if let Some(c) = by_id.get_mut(&enterprise_id) {
                c.recognitions.insert(year, decided_on);
            }
        }
        for (enterprise_id, year, stars) in bulk::tuples::<_, (i64, i32, i32), _>(
            conn,
            star_ratings::Entity::find()
                .filter(star_ratings::Column::EnterpriseId.is_in(chunk.clone())),
            &[
                star_ratings::Column::EnterpriseId,
                star_ratings::Column::Year,
                star_ratings::Column::Stars,
            ],
        )
        .await?
        {
            if let Some(c) = by_id.get_mut(&enterprise_id) {
                c.stars.insert(year, u8::try_from(stars).unwrap_or(0));
            }
        }
        // The five of the registry's twenty-odd columns the rules read, each enterprise's
        // versions in date order.
        let mut facts =
            bulk::tuples::<_, (i64, NaiveDate, Option<NaiveDate>, bool, Option<String>), _>(
                conn,
                enterprise_facts::Entity::find()
                    .filter(enterprise_facts::Column::EnterpriseId.is_in(chunk.clone())),
                &[
                    enterprise_facts::Column::EnterpriseId,
                    enterprise_facts::Column::ValidFrom,
                    enterprise_facts::Column::ValidTo,
                    enterprise_facts::Column::OwnsOffice,
                    enterprise_facts::Column::DistrictCode,
                ],
            )
            .await?;
        facts.sort_by_key(|(enterprise_id, valid_from, ..)| (*enterprise_id, *valid_from));
        for (enterprise_id, valid_from, valid_to, owns_office, district) in facts {
            if let Some(c) = by_id.get_mut(&enterprise_id) {
                let during = DateRange {
                    from: valid_from,
                    to: valid_to,
                };
                if owns_office {
                    c.offices.push(during);
                }
                c.registrations.push(Registration { during, district });
            }
        }
        let mut revoked = bulk::tuples::<_, (i64, NaiveDate), _>(
            conn,
            revocations::Entity::find().filter(revocations::Column::EnterpriseId.is_in(chunk)),
            &[
                revocations::Column::EnterpriseId,
                revocations::Column::RevokedOn,
            ],
        )
        .await?;
        revoked.sort_unstable();
        for (enterprise_id, revoked_on) in revoked {
            if let Some(c) = by_id.get_mut(&enterprise_id) {
                c.revocations.push(revoked_on);
            }
        }
    }
    Ok(by_id.into_values().collect())
}

/// Reported lines of the given enterprises, any district, any year.
pub(crate) async fn lines_of_enterprises<C: ConnectionTrait>(
    conn: &C,
    ids: &[i64],
) -> AppResult<Vec<payment_lines::Model>> {
    lines_of_enterprises_but(conn, ids, None).await
}

/// Reported lines of the given enterprises, any district, any year, but those of `except`'s
/// fiscal year in its districts when given (the lines of the claims being decided, which the
/// caller already holds).
async fn lines_of_enterprises_but<C: ConnectionTrait>(
    conn: &C,
    ids: &[i64],
    except: Option<(i32, &[String])>,
) -> AppResult<Vec<payment_lines::Model>> {
    let mut rows = Vec::new();
    for chunk in ids.chunks(ID_CHUNK) {
        let mut query = payment_lines::Entity::find()
            .filter(payment_lines::Column::EnterpriseId.is_in(chunk.to_vec()));
        if let Some((year, districts)) = except {
            query = query.filter(
                Condition::any()
                    .add(payment_lines::Column::FiscalYear.ne(year))
                    .add(payment_lines::Column::DistrictCode.is_not_in(districts.to_vec())),
            );
        }
        rows.extend(bulk::models(conn, query).await?);
    }
    rows.sort_unstable_by_key(|row| row.seq);
    Ok(rows)
}

/// Verdicts of the given lines, by line id.
pub(crate) async fn verdicts_of<C: ConnectionTrait>(
    conn: &C,
    line_ids: &[i64],
) -> AppResult<HashMap<i64, line_verdicts::Model>> {
    let mut map = HashMap::new();
    for chunk in line_ids.chunks(ID_CHUNK) {
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

pub(super) fn district_error(actor: &Actor) -> AppResult<()> {
    if actor.role != Role::CityFinance {
        return Err(AppError::Forbidden(
            "only the finance bureau reconciles and settles".into(),
        ));
    }
    Ok(())
}

/// The verdicts of claims' lines as the facts stand now: the enterprises' dated facts, every
/// reported line of those enterprises, the approved lines of their ratio groups and the
/// parameters. `rows` are every line of `fiscal_year` in `districts` (the claims' lines, in
/// report order within each district): they are among the enterprises' reported lines, and
/// only the others are read.
///
/// # Errors
/// Database errors; an internal error for stored data breaking the report step's invariants.
pub(super) async fn decide<C: ConnectionTrait>(
    conn: &C,
    fiscal_year: i32,
    districts: &[String],
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
    let other_rows = lines_of_enterprises_but(conn, &ids, Some((fiscal_year, districts))).await?;
    let approved = approved_years(conn).await?;
    // The claims' own lines are of `fiscal_year`, which is open (not approved).
    let approved_rows: Vec<&payment_lines::Model> = other_rows
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
        // The claims' own lines count as reported without being listed again.
        reported: other_rows
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
    /// How many verdicts were stored: one per line.
    pub verdict_count: usize,
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
#[tracing::instrument(name = "claim.reconcile", skip_all, fields(role = %actor.role, district = %district_code, fiscal_year))]
pub async fn reconcile_claim(
    db: &DatabaseConnection,
    feed: &ClaimFeed,
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
    let before_status = payments::claim_status(&claim)?;
    if !reconcilable(before_status) {
        return Err(AppError::Conflict(format!(
            "a {} claim cannot be reconciled",
            before_status.as_str().to_lowercase()
        )));
    }
    let rows = payments::lines_of(&txn, district_code, fiscal_year).await?;
    let mut stored = store(
        &txn,
        actor,
        "reconcileClaim",
        fiscal_year,
        vec![claim],
        rows,
    )
    .await?;
    let (done, change) = stored
        .pop()
        .ok_or_else(|| AppError::internal("the claim was not stored"))?;
    txn.commit().await?;
    feed.committed(db, vec![change]);
    Ok(done)
}

/// Whether a claim in `status` can be reconciled: submitted, or reconciled before.
fn reconcilable(status: ClaimStatus) -> bool {
    matches!(status, ClaimStatus::Submitted | ClaimStatus::Reconciled)
}

/// Lines of the year read per statement by [`reconcile_year`]: claims are taken together until
/// their lines reach this many (a larger claim alone), so memory stays bounded whatever the
/// year's size.
pub const YEAR_CHUNK_LINES: i64 = 50_000;

/// Reconciles every claim of `fiscal_year` that is submitted or reconciled (§20 step 3), in
/// one transaction: each gets the verdicts [`reconcile_claim`] would store for it, replacing
/// earlier ones. Claims still open or returned are left as they are. The claims are read and
/// decided together, [`YEAR_CHUNK_LINES`] lines at a time, with one audit entry and one
/// history event per claim, as one reconciliation each would write. Returns the claims
/// reconciled, by district code.
///
/// # Errors
/// `FORBIDDEN` for anyone but the finance bureau; `PERIOD_LOCKED` for an approved year;
/// `CONFLICT` naming the first claim (by district code) whose lines no longer match their
/// submitted hash, and then nothing is stored.
#[tracing::instrument(name = "claim.reconcile_year", skip_all, fields(role = %actor.role, fiscal_year))]
pub async fn reconcile_year(
    db: &DatabaseConnection,
    feed: &ClaimFeed,
    actor: &Actor,
    fiscal_year: i32,
) -> AppResult<Vec<Reconciled>> {
    district_error(actor)?;
    year_end(fiscal_year)?;
    let txn = tx::begin_write(db).await?;
    locks::lock_money_writes(&txn).await?;
    locks::ensure_open(&txn, fiscal_year).await?;
    let claims = claims::Entity::find()
        .filter(claims::Column::FiscalYear.eq(fiscal_year))
        .filter(claims::Column::Status.is_in([
            ClaimStatus::Submitted.as_str(),
            ClaimStatus::Reconciled.as_str(),
        ]))
        .order_by_asc(claims::Column::DistrictCode)
        .all(&txn)
        .await?;
    let counts: HashMap<String, i64> = payment_lines::Entity::find()
        .select_only()
        .column(payment_lines::Column::DistrictCode)
        .column_as(payment_lines::Column::Id.count(), "lines")
        .filter(payment_lines::Column::FiscalYear.eq(fiscal_year))
        .group_by(payment_lines::Column::DistrictCode)
        .into_tuple::<(String, i64)>()
        .all(&txn)
        .await?
        .into_iter()
        .collect();
    let mut chunks: Vec<Vec<claims::Model>> = Vec::new();
    let mut chunk_lines = 0;
    for claim in claims {
        let lines = counts.get(&claim.district_code).copied().unwrap_or(0);
        match chunks.last_mut() {
            Some(chunk) if chunk_lines + lines <= YEAR_CHUNK_LINES => {
                chunk_lines += lines;
                chunk.push(claim);
            }
            _ => {
                chunk_lines = lines;
                chunks.push(vec![claim]);
            }
        }
    }
    let mut done = Vec::new();
    let mut changes = Vec::new();
    for chunk in chunks {
        let districts: Vec<String> = chunk.iter().map(|c| c.district_code.clone()).collect();
        let mut rows = bulk::models(
            &txn,
            payment_lines::Entity::find()
                .filter(payment_lines::Column::FiscalYear.eq(fiscal_year))
                .filter(payment_lines::Column::DistrictCode.is_in(districts)),
        )
        .await?;
        // By district, then report order: each claim's lines are one run, as `store` takes them.
        rows.sort_unstable_by(|a, b| (&a.district_code, a.seq).cmp(&(&b.district_code, b.seq)));
        for (reconciled, change) in
            store(&txn, actor, "reconcileClaims", fiscal_year, chunk, rows).await?
        {
            done.push(reconciled);
            changes.push(change);
        }
    }
    txn.commit().await?;
    feed.committed(db, changes);
    Ok(done)
}

/// Checks each claim's lines against their submitted hash, decides every line of them together
/// and stores the verdicts (replacing the claims' earlier ones), the claims' new status, one
/// history event and one audit entry per claim. The claims are those of `fiscal_year`, each
/// submitted or reconciled; `rows` are every line of them, by district then in report order.
/// `operation` names the mutation in the audit log. The changes are for
/// [`ClaimFeed::committed`] after the commit.
async fn store<C: ConnectionTrait>(
    txn: &C,
    actor: &Actor,
    operation: &'static str,
    fiscal_year: i32,
    claims: Vec<claims::Model>,
    rows: Vec<payment_lines::Model>,
) -> AppResult<Vec<(Reconciled, claim_feed::ClaimChange)>> {
    let lines_of: HashMap<&str, &[payment_lines::Model]> = rows
        .chunk_by(|a, b| a.district_code == b.district_code)
        .map(|run| (run[0].district_code.as_str(), run))
        .collect();
    for claim in &claims {
        let lines = lines_of.get(claim.district_code.as_str()).copied();
        if claim.content_hash.as_deref()
            != Some(payments::content_hash(lines.unwrap_or_default()).as_str())
        {
            return Err(AppError::Conflict(format!(
                "the lines of the claim of {} for {fiscal_year} no longer match the hash \
                 recorded at submission",
                claim.district_code
            )));
        }
    }
    let claim_of_district: HashMap<&str, i64> = claims
        .iter()
        .map(|c| (c.district_code.as_str(), c.id))
        .collect();
    let claim_of_line: HashMap<i64, i64> = rows
        .iter()
        .filter_map(|row| Some((row.id, *claim_of_district.get(row.district_code.as_str())?)))
        .collect();
    let districts: Vec<String> = claims.iter().map(|c| c.district_code.clone()).collect();
    let decided = decide(txn, fiscal_year, &districts, &rows).await?;
    drop(rows);

    let claim_ids: Vec<i64> = claims.iter().map(|c| c.id).collect();
    line_verdicts::Entity::delete_many()
        .filter(line_verdicts::Column::ClaimId.is_in(claim_ids.clone()))
        .exec(txn)
        .await?;
    let now = Utc::now();
    // Per claim: verdicts, Σ eligible and Σ cut of what is stored.
    let mut totals: HashMap<i64, (usize, Money, Money)> = HashMap::new();
    let mut models = Vec::with_capacity(decided.len());
    for v in &decided {
        let claim_id = *claim_of_line
            .get(&v.line_id)
            .ok_or_else(|| AppError::internal("a verdict for a line of no claim"))?;
        let entry = totals.entry(claim_id).or_default();
        entry.0 += 1;
        entry.1 = entry
            .1
            .checked_add(v.eligible)
            .ok_or_else(|| AppError::internal("Σ eligible of the claim overflows"))?;
        entry.2 = entry
            .2
            .checked_add(v.cut)
            .ok_or_else(|| AppError::internal("Σ cut of the claim overflows"))?;
        models.push(line_verdicts::ActiveModel {
            id: NotSet,
            line_id: Set(v.line_id),
            claim_id: Set(claim_id),
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
    drop(decided);
    // Multi-row inserts: one statement per chunk instead of one per verdict.
    for chunk in super::owned_chunks(models, INSERT_CHUNK) {
        line_verdicts::Entity::insert_many(chunk)
            .exec_without_returning(txn)
            .await?;
    }

    for ids in claim_ids.chunks(1_000) {
        claims::Entity::update_many()
            .col_expr(
                claims::Column::Status,
                Expr::value(ClaimStatus::Reconciled.as_str()),
            )
            .col_expr(claims::Column::UpdatedAt, Expr::value(now))
            .filter(claims::Column::Id.is_in(ids.to_vec()))
            .exec(txn)
            .await?;
    }
    let mut reconciled = Vec::with_capacity(claims.len());
    let mut entries = Vec::with_capacity(claims.len());
    for mut claim in claims {
        let before_status = payments::claim_status(&claim)?;
        let (count, eligible, cut) = totals.remove(&claim.id).unwrap_or_default();
        claim.status = ClaimStatus::Reconciled.as_str().to_owned();
        claim.updated_at = now;
        entries.push(AuditEntry {
            operation,
            target_type: "claim",
            target_id: Some(format!("{}/{}", claim.district_code, claim.fiscal_year)),
            before: Some(json!({ "status": before_status })),
            after: Some(json!({
                "status": ClaimStatus::Reconciled,
                "lines": count,
                "eligibleFen": eligible.fen(),
                "cutFen": cut.fen(),
            })),
        });
        reconciled.push(Reconciled {
            claim,
            verdict_count: count,
            eligible_total: eligible,
            cut_total: cut,
        });
    }
    let events: Vec<(&claims::Model, Option<String>)> = reconciled
        .iter()
        .map(|r| (&r.claim, r.claim.content_hash.clone()))
        .collect();
    let changes =
        claim_feed::record_many(txn, &events, ClaimStatus::Reconciled, None, actor, now).await?;
    audit::record_many(txn, actor, entries).await?;
    Ok(reconciled.into_iter().zip(changes).collect())
}

/// How many verdicts a claim has.
///
/// # Errors
/// Database errors.
pub async fn count_verdicts<C: ConnectionTrait>(conn: &C, claim_id: i64) -> AppResult<u64> {
    Ok(line_verdicts::Entity::find()
        .filter(line_verdicts::Column::ClaimId.eq(claim_id))
        .count(conn)
        .await?)
}

/// One page of a claim's verdicts in line order (line id: the order lines were recorded), in
/// one statement on `ix_line_verdicts_claim_line`.
///
/// # Errors
/// Database errors.
pub async fn verdict_page<C: ConnectionTrait>(
    conn: &C,
    claim_id: i64,
    request: &PageRequest,
) -> AppResult<Page<line_verdicts::Model>> {
    let key = KeyOrder::asc(vec![Expr::col((
        line_verdicts::Entity,
        line_verdicts::Column::LineId,
    ))]);
    let query = line_verdicts::Entity::find().filter(line_verdicts::Column::ClaimId.eq(claim_id));
    let rows = keyset::apply(query, &key, request).all(conn).await?;
    Ok(keyset::finish(rows, request, |v| {
        vec![KeyPart::Int(v.line_id)]
    }))
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
