//! §20 steps 3 to 6 over GraphQL: `reconcileClaim`, `reconcileClaims`, `draftSettlement`,
//! `approveSettlement`, `recordFinding` and `settlement`.

use std::collections::BTreeMap;

use async_graphql::connection::Connection;
use async_graphql::{ComplexObject, Context, ID, Object, Result, SimpleObject};

use super::codes::{self, GqlFindingKind, GqlReasonCode, GqlSettlementStatus, GqlZeroReason};
use super::pagination::{self, ConnectionTotals, CursorSpec, KeyKind, PageArgs};
use super::payments::Claim;
use super::scalars::{DateTime, Decimal};
use super::verdicts::LineVerdict;
use crate::auth::Role;
use crate::auth::access::ensure_own_district;
use crate::error::AppError;
use crate::policy::money::Money;
use crate::policy::reconciliation::ReasonCode;
use crate::policy::settlement::{SettlementStatus, ZeroReason};
use crate::services::findings::FindingKind;
use crate::services::{
    findings as finding_service, payments as payment_service,
    reconciliation as reconciliation_service, settlement as service,
};

fn money(fen: i64) -> Decimal {
    Money::from_fen(fen).into()
}

/// A cut total by primary reason.
#[derive(SimpleObject, Debug, Clone)]
pub struct ReasonAmount {
    /// The primary reason.
    pub reason: GqlReasonCode,
    /// Its clause.
    pub clause: String,
    /// Total cut for it.
    pub amount: Decimal,
}

impl ReasonAmount {
    /// The cut total of `reason`, with its clause.
    pub(super) fn new(reason: ReasonCode, amount: Money) -> ReasonAmount {
        ReasonAmount {
            reason: reason.into(),
            clause: reason.clause().as_str().to_string(),
            amount: amount.into(),
        }
    }
}

/// A settlement's rate as stored (its decimal text).
///
/// # Errors
/// Internal error for a stored text that is not a decimal.
pub(super) fn stored_rate(text: &str) -> Result<Decimal, AppError> {
    text.parse::<rust_decimal::Decimal>()
        .map(Decimal)
        .map_err(AppError::internal)
}

fn reason_amounts(json: &str) -> Result<Vec<ReasonAmount>, AppError> {
    let map: BTreeMap<String, i64> = serde_json::from_str(json).map_err(AppError::internal)?;
    let mut rows: Vec<(ReasonCode, i64)> = map
        .into_iter()
        .map(|(k, v)| {
            k.parse::<ReasonCode>()
                .map(|r| (r, v))
                .map_err(AppError::internal)
        })
        .collect::<Result<_, _>>()?;
    rows.sort_by_key(|(r, _)| *r);
    Ok(rows
        .into_iter()
        .map(|(r, v)| ReasonAmount::new(r, Money::from_fen(v)))
        .collect())
}

/// A negative adjustment carried into a later settlement (§20 step 6).
#[derive(SimpleObject, Debug, Clone)]
#[graphql(complex)]
pub struct Adjustment {
    /// The adjustment's database id.
    pub database_id: i64,
    /// The finding it comes from.
    pub finding_id: i64,
    /// The district.
    pub district_code: String,
    /// The approved fiscal year the finding reaches.
    pub original_year: i32,
    /// The settlement year it is carried into.
    pub target_year: i32,
    /// −floor(e × G / E).
    pub amount: Decimal,
    /// e: approved eligible amount of the lines found.
    pub found_eligible: Decimal,
    /// E: the district's eligible total in the original settlement.
    pub district_eligible: Decimal,
    /// G: the district's grant in the original settlement.
    pub district_granted: Decimal,
    /// Why.
    pub reason: String,
}

impl From<crate::services::records::AdjustmentRecord> for Adjustment {
    fn from(a: crate::services::records::AdjustmentRecord) -> Self {
        Adjustment {
            database_id: a.id,
            finding_id: a.finding_id,
            district_code: a.district_code,
            original_year: a.original_year,
            target_year: a.target_year,
            amount: money(a.amount_fen),
            found_eligible: money(a.found_eligible_fen),
            district_eligible: money(a.district_eligible_fen),
            district_granted: money(a.district_granted_fen),
            reason: a.reason,
        }
    }
}

#[ComplexObject]
impl Adjustment {
    /// Opaque global id (`Node`); `node(id:)` refetches it.
    pub(super) async fn id(&self, _ctx: &Context<'_>) -> Result<ID> {
        Ok(super::node::global_id(
            super::node::NodeKind::Adjustment,
            &[&self.database_id],
        ))
    }
}

#[ComplexObject]
impl Finding {
    /// Opaque global id (`Node`); `node(id:)` refetches it.
    pub(super) async fn id(&self, _ctx: &Context<'_>) -> Result<ID> {
        Ok(super::node::global_id(
            super::node::NodeKind::Finding,
            &[&self.database_id],
        ))
    }
}

/// One district's line of a settlement (§20 step 4).
#[derive(SimpleObject, Debug, Clone)]
#[graphql(complex)]
pub struct SettlementDistrict {
    /// The district.
    pub district_code: String,
    /// Total paid over its claimed lines.
    pub reported: Decimal,
    /// Total eligible.
    pub eligible: Decimal,
    /// Total cut.
    pub cut: Decimal,
    /// Cut totals by primary reason (they add up to `cut`).
    pub cut_by_reason: Vec<ReasonAmount>,
    /// floor_to_fen(eligible × rate).
    pub reimbursement: Decimal,
    /// The grant: the reimbursement, or its share of a short budget.
    pub granted: Decimal,
    /// Adjustments carried in (≤ 0).
    pub adjustments: Decimal,
    /// granted + adjustments, payable in the following year; may be negative (追回/抵扣).
    pub net_payable: Decimal,
    /// The year it is payable in (N+1).
    pub payable_year: i32,
    /// Why a district has zeros; `null` when its claim is reconciled.
    pub zero_reason: Option<GqlZeroReason>,
    #[graphql(skip)]
    fiscal_year: i32,
}

#[ComplexObject]
impl SettlementDistrict {
    /// Opaque global id (`Node`); `node(id:)` refetches it.
    pub(super) async fn id(&self, _ctx: &Context<'_>) -> Result<ID> {
        Ok(super::node::global_id(
            super::node::NodeKind::SettlementDistrict,
            &[&self.fiscal_year, &self.district_code],
        ))
    }

    /// The adjustments carried into this settlement for the district.
    async fn carried_adjustments(&self, ctx: &Context<'_>) -> Result<Vec<Adjustment>> {
        let state = super::state(ctx)?;
        let rows = finding_service::adjustments_into(
            &state.db,
            self.fiscal_year,
            Some(&self.district_code),
        )
        .await?;
        Ok(rows.into_iter().map(Adjustment::from).collect())
    }

    /// The district's claim, down to each line's verdict.
    async fn claim(&self, ctx: &Context<'_>) -> Result<Option<Claim>> {
        let state = super::state(ctx)?;
        let claim =
            payment_service::find_claim(&state.db, &self.district_code, self.fiscal_year).await?;
        Ok(claim.map(Claim::try_from).transpose()?)
    }
}

/// City totals of a settlement: the sums of its district lines.
#[derive(SimpleObject, Debug, Clone)]
pub struct SettlementTotals {
    /// Σ reported.
    pub reported: Decimal,
    /// Σ eligible.
    pub eligible: Decimal,
    /// Σ cut.
    pub cut: Decimal,
    /// Σ reimbursement.
    pub reimbursement: Decimal,
    /// Σ granted.
    pub granted: Decimal,
    /// Σ adjustments.
    pub adjustments: Decimal,
    /// Σ net payable.
    pub net_payable: Decimal,
}

/// The yearly settlement of §20 (draft or approved).
#[derive(SimpleObject, Debug, Clone)]
#[graphql(complex)]
pub struct Settlement {
    /// The fiscal year settled.
    pub fiscal_year: i32,
    /// Whether it is a draft or approved.
    pub status: GqlSettlementStatus,
    /// The reimbursement rate used (≤ settlement.rate_cap).
    pub rate: Decimal,
    /// The city's budget, if one was given.
    #[graphql(skip)]
    budget: Option<Decimal>,
    /// The year the amounts are payable in (N+1).
    pub payable_year: i32,
    /// Ids of the parameter versions used.
    pub parameter_version_ids: Vec<i64>,
    /// When it was last drafted.
    pub drafted_at: DateTime,
    /// Who drafted it.
    pub drafted_by: String,
    /// When it was approved.
    pub approved_at: Option<DateTime>,
    /// Who approved it.
    pub approved_by: Option<String>,
    /// The audit log's chain head hash when it was approved (the approval's own entry
    /// included); `verifyAuditLog` reports the head to compare it with.
    pub audit_head_at_approval: Option<String>,
    /// The district lines the caller may see, in code order (a district sees its own only).
    pub districts: Vec<SettlementDistrict>,
    #[graphql(skip)]
    totals: SettlementTotals,
}

#[ComplexObject]
impl Settlement {
    /// Opaque global id (`Node`); `node(id:)` refetches it.
    pub(super) async fn id(&self, _ctx: &Context<'_>) -> Result<ID> {
        Ok(super::node::global_id(
            super::node::NodeKind::Settlement,
            &[&self.fiscal_year],
        ))
    }

    /// The city's budget, if one was given; `FORBIDDEN` for a district actor (with its own
    /// grant it would reveal the other districts' total).
    async fn budget(&self, ctx: &Context<'_>) -> Result<Option<Decimal>> {
        let actor = super::actor(ctx)?;
        if actor.role == Role::District {
            return Err(
                AppError::Forbidden("the city budget is not a district's figure".into()).into(),
            );
        }
        Ok(self.budget)
    }

    /// City totals; `FORBIDDEN` for a district actor (they include other districts' figures).
    async fn totals(&self, ctx: &Context<'_>) -> Result<SettlementTotals> {
        let actor = super::actor(ctx)?;
        if actor.role == Role::District {
            return Err(AppError::Forbidden("city totals include other districts".into()).into());
        }
        Ok(self.totals.clone())
    }
}

/// Shapes a stored settlement for `caller`: a district actor gets only its own line.
///
/// # Errors
/// Internal error for unreadable stored JSON.
pub fn shape(
    stored: service::StoredSettlement,
    district_scope: Option<&str>,
) -> Result<Settlement, AppError> {
    let s = stored.settlement;
    let versions: Vec<i64> =
        serde_json::from_str(&s.parameter_versions).map_err(AppError::internal)?;
    let districts = stored
        .lines
        .into_iter()
        .filter(|l| district_scope.is_none_or(|own| own == l.district_code))
        .map(|l| {
            Ok(SettlementDistrict {
                cut_by_reason: reason_amounts(&l.cut_by_reason)?,
                district_code: l.district_code,
                reported: money(l.reported_fen),
                eligible: money(l.eligible_fen),
                cut: money(l.cut_fen),
                reimbursement: money(l.reimbursement_fen),
                granted: money(l.granted_fen),
                adjustments: money(l.adjustments_fen),
                net_payable: money(l.net_payable_fen),
                payable_year: service::payable_year(s.fiscal_year),
                zero_reason: l
                    .zero_reason
                    .as_deref()
                    .map(codes::stored::<ZeroReason, _>)
                    .transpose()?,
                fiscal_year: s.fiscal_year,
            })
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    Ok(Settlement {
        fiscal_year: s.fiscal_year,
        status: codes::stored::<SettlementStatus, _>(&s.status)?,
        rate: stored_rate(&s.rate)?,
        budget: s.budget_fen.map(money),
        payable_year: service::payable_year(s.fiscal_year),
        parameter_version_ids: versions,
        drafted_at: s.drafted_at.into(),
        drafted_by: s.drafted_by,
        approved_at: s.approved_at.map(Into::into),
        approved_by: s.approved_by,
        audit_head_at_approval: s.audit_head_at_approval,
        districts,
        totals: SettlementTotals {
            reported: money(s.reported_fen),
            eligible: money(s.eligible_fen),
            cut: money(s.cut_fen),
            reimbursement: money(s.reimbursement_fen),
            granted: money(s.granted_fen),
            adjustments: money(s.adjustments_fen),
            net_payable: money(s.net_payable_fen),
        },
    })
}

/// What a reconciliation stored.
#[derive(SimpleObject, Debug, Clone)]
#[graphql(complex)]
pub struct ReconcileResult {
    /// The claim, now RECONCILED.
    pub claim: Claim,
    /// How many verdicts were stored (one per line).
    pub verdict_count: i32,
    /// Σ eligible.
    pub eligible_total: Decimal,
    /// Σ cut.
    pub cut_total: Decimal,
}

impl TryFrom<reconciliation_service::Reconciled> for ReconcileResult {
    type Error = AppError;

    fn try_from(done: reconciliation_service::Reconciled) -> Result<Self, AppError> {
        Ok(ReconcileResult {
            claim: Claim::try_from(done.claim)?,
            verdict_count: i32::try_from(done.verdict_count).unwrap_or(i32::MAX),
            eligible_total: done.eligible_total.into(),
            cut_total: done.cut_total.into(),
        })
    }
}

#[ComplexObject]
impl ReconcileResult {
    /// The verdicts stored, in line order, as a Relay connection (the same as `claim.verdicts`).
    #[graphql(complexity = "super::pagination::cost(first, last, child_complexity)")]
    async fn verdicts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Verdicts after this cursor.")] after: Option<String>,
        #[graphql(desc = "Verdicts before this cursor.")] before: Option<String>,
        #[graphql(desc = "The first N verdicts (1 to the maximum page size).")] first: Option<i32>,
        #[graphql(desc = "The last N verdicts (1 to the maximum page size).")] last: Option<i32>,
    ) -> Result<Connection<String, LineVerdict, ConnectionTotals>> {
        let args = PageArgs {
            after,
            before,
            first,
            last,
        };
        Ok(super::payments::verdict_page(ctx, self.claim.database_id, args).await?)
    }
}

/// A finding on approved lines and the adjustments it created.
#[derive(SimpleObject, Debug, Clone)]
#[graphql(complex)]
pub struct Finding {
    /// The finding's database id.
    pub database_id: i64,
    /// Where it comes from.
    pub kind: GqlFindingKind,
    /// Why.
    pub reason: String,
    /// The payment lines named.
    pub line_ids: Vec<i64>,
    /// One adjustment per district and original year, carried into the next open settlement.
    pub adjustments: Vec<Adjustment>,
    /// When it was recorded.
    pub recorded_at: DateTime,
}

impl TryFrom<finding_service::RecordedFinding> for Finding {
    type Error = AppError;

    fn try_from(done: finding_service::RecordedFinding) -> Result<Self, AppError> {
        Ok(Finding {
            database_id: done.finding.id,
            kind: codes::stored::<FindingKind, _>(&done.finding.kind)?,
            reason: done.finding.reason,
            line_ids: done.line_ids,
            adjustments: done.adjustments.into_iter().map(Adjustment::from).collect(),
            recorded_at: done.finding.recorded_at.into(),
        })
    }
}

/// The cursors of `findings`: the finding's id.
const FINDING_CURSOR: CursorSpec = CursorSpec {
    list: "findings",
    key: &[KeyKind::Int],
};

/// Settlement queries.
#[derive(Default)]
pub struct SettlementQuery;

#[Object]
impl SettlementQuery {
    /// The settlement of a fiscal year (`null` before the first draft). A district actor sees its
    /// own line only.
    pub(super) async fn settlement(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The fiscal year.")] fiscal_year: i32,
    ) -> Result<Option<Settlement>> {
        let state = super::state(ctx)?;
        let actor = super::actor(ctx)?;
        let stored = service::get(&state.db, fiscal_year).await?;
        Ok(stored
            .map(|s| shape(s, actor.district_scope()))
            .transpose()?)
    }

    /// The findings (§20 step 6) naming lines of `fiscalYear` and `districtCode`, in the order
    /// recorded, as a Relay connection. The finance bureau, auditors and the HQ office see every
    /// finding whole; a district actor sees only findings naming its own lines, and of each only
    /// its own lines and adjustments. A district actor naming another district is `FORBIDDEN`,
    /// as on `claim`.
    #[graphql(complexity = "pagination::cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn findings(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only findings naming lines of this fiscal year.")] fiscal_year: Option<
            i32,
        >,
        #[graphql(
            desc = "Only findings naming lines of this district (a district actor: its own; the default)."
        )]
        district_code: Option<String>,
        #[graphql(desc = "Findings after this cursor.")] after: Option<String>,
        #[graphql(desc = "Findings before this cursor.")] before: Option<String>,
        #[graphql(desc = "The first N findings (1 to the maximum page size).")] first: Option<i32>,
        #[graphql(desc = "The last N findings (1 to the maximum page size).")] last: Option<i32>,
    ) -> Result<Connection<String, Finding, ConnectionTotals>> {
        let state = super::state(ctx)?;
        let caller = super::caller(ctx);
        let district_code = district_code
            .map(|c| super::districts::parse_district_code("districtCode", &c))
            .transpose()?;
        if let Some(code) = &district_code {
            ensure_own_district(caller, code)?;
        }
        let scope = caller.actor().and_then(|a| a.district_scope());
        let filter = finding_service::FindingFilter {
            fiscal_year,
            district_code: district_code.or_else(|| scope.map(str::to_string)),
            id: None,
        };
        let args = PageArgs {
            after,
            before,
            first,
            last,
        };
        let request = args.request(&FINDING_CURSOR, state.pages)?;
        let page = finding_service::finding_page(&state.db, &filter, scope, &request).await?;
        let db = state.db.clone();
        let totals = ConnectionTotals::lazy(move || {
            let (db, filter) = (db.clone(), filter.clone());
            async move { finding_service::count_findings(&db, &filter).await }
        });
        Ok(pagination::connection(
            &FINDING_CURSOR,
            page.try_map(Finding::try_from)?,
            totals,
        ))
    }
}

/// A file of a settlement's exports.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettlementFile {
    /// `settlements/{year}.xlsx`: the settlement workbook (结算表).
    Workbook,
    /// `settlements/{year}.csv`: the district summary.
    SummaryCsv,
    /// `settlements/{year}/lines.csv`: every line with its verdict.
    LinesCsv,
}

/// A link a browser can open without headers: one file, for the actor who asked, valid five
/// minutes.
#[derive(SimpleObject, Debug, Clone)]
pub struct DownloadLink {
    /// The path to open on this service (`/downloads/<signed token>`).
    pub url: String,
    /// When the link stops working.
    pub expires_at: DateTime,
}

/// Settlement mutations (CITY_FINANCE).
#[derive(Default)]
pub struct SettlementMutation;

#[Object]
impl SettlementMutation {
    /// Gives every line of a submitted claim its verdict (§20 step 3), replacing earlier ones.
    async fn reconcile_claim(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The district.")] district_code: String,
        #[graphql(desc = "The fiscal year.")] fiscal_year: i32,
    ) -> Result<ReconcileResult> {
        let state = super::state(ctx)?;
        let actor = super::actor(ctx)?;
        let code = super::districts::parse_district_code("districtCode", &district_code)?;
        let done = reconciliation_service::reconcile_claim(
            &state.db,
            &state.feed,
            actor,
            &code,
            fiscal_year,
        )
        .await?;
        Ok(ReconcileResult::try_from(done)?)
    }

    /// Reconciles every submitted (or earlier reconciled) claim of a fiscal year (§20 step 3)
    /// in one transaction: each gets the verdicts `reconcileClaim` would give it. Claims still
    /// open or returned are left as they are. Returns the claims reconciled, by district code;
    /// a claim whose lines no longer match their submitted hash refuses the whole year
    /// (`CONFLICT`, naming the district) and nothing is stored.
    async fn reconcile_claims(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The fiscal year.")] fiscal_year: i32,
    ) -> Result<Vec<ReconcileResult>> {
        let state = super::state(ctx)?;
        let actor = super::actor(ctx)?;
        let done =
            reconciliation_service::reconcile_year(&state.db, &state.feed, actor, fiscal_year)
                .await?;
        Ok(done
            .into_iter()
            .map(ReconcileResult::try_from)
            .collect::<Result<_, AppError>>()?)
    }

    /// Drafts (or re-drafts) the settlement of a fiscal year (§20 step 4). `rate` defaults to
    /// `settlement.default_rate` and may not exceed `settlement.rate_cap` (`POLICY_VIOLATION`);
    /// with a `budget` below Σ reimbursement the grants are proportional shares adding up to it.
    async fn draft_settlement(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The fiscal year.")] fiscal_year: i32,
        #[graphql(desc = "Reimbursement rate, 0 to the cap (default: the parameter).")]
        rate: Option<Decimal>,
        #[graphql(desc = "The city's budget for the settlement (≥ 0, at most 2 decimals).")]
        budget: Option<Decimal>,
    ) -> Result<Settlement> {
        let state = super::state(ctx)?;
        let actor = super::actor(ctx)?;
        let (rate, budget) = (rate.map(Into::into), budget.map(Into::into));
        let stored = service::draft(&state.db, actor, fiscal_year, rate, budget).await?;
        Ok(shape(stored, None)?)
    }

    /// A signed link to one export of `fiscalYear`, for the caller, valid five minutes: a plain
    /// `<a href>` can open it (no `Authorization` header). The file is built when the link is
    /// opened, under the same access rules as `/exports/…` (a district: its own district only).
    async fn settlement_download_link(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The fiscal year.")] fiscal_year: i32,
        #[graphql(desc = "Which file.")] file: SettlementFile,
    ) -> Result<DownloadLink> {
        let actor = super::actor(ctx)?;
        if actor.role == Role::Viewer {
            return Err(AppError::Forbidden("settlement figures are confidential".into()).into());
        }
        if !(2000..=2100).contains(&fiscal_year) {
            return Err(AppError::bad_input("fiscalYear", "not a plausible fiscal year").into());
        }
        let path = match file {
            SettlementFile::Workbook => format!("settlements/{fiscal_year}.xlsx"),
            SettlementFile::SummaryCsv => format!("settlements/{fiscal_year}.csv"),
            SettlementFile::LinesCsv => format!("settlements/{fiscal_year}/lines.csv"),
        };
        let keys = ctx
            .data::<crate::auth::JwtKeys>()
            .map_err(|_| AppError::internal("no signing keys in the request"))?;
        let (token, exp) = keys
            .sign_download(actor, &path)
            .map_err(AppError::internal)?;
        Ok(DownloadLink {
            url: format!("/downloads/{token}"),
            expires_at: chrono::DateTime::from_timestamp(exp, 0)
                .ok_or_else(|| AppError::internal("expiry out of range"))?
                .into(),
        })
    }

    /// Approves the draft and locks the fiscal year (§20 step 5): any later write to its lines,
    /// claims, verdicts or figures is `PERIOD_LOCKED`.
    async fn approve_settlement(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The fiscal year.")] fiscal_year: i32,
    ) -> Result<Settlement> {
        let state = super::state(ctx)?;
        let actor = super::actor(ctx)?;
        let stored = service::approve(&state.db, &state.feed, actor, fiscal_year).await?;
        Ok(shape(stored, None)?)
    }

    /// Records an audit finding on approved lines (§20 step 6): each district and original year
    /// gets an adjustment −floor(e × G / E) in its next settlement not yet approved.
    async fn record_finding(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The approved payment lines found.")] line_ids: Vec<i64>,
        #[graphql(desc = "The finding.")] reason: String,
    ) -> Result<Finding> {
        let state = super::state(ctx)?;
        let actor = super::actor(ctx)?;
        let done = finding_service::record_finding(&state.db, actor, &line_ids, &reason).await?;
        Ok(Finding::try_from(done)?)
    }
}
