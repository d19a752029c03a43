//! §20 steps 1 and 2 over GraphQL: `reportPayments`, `withdrawPaymentLines`, `submitClaim`,
//! `returnClaim`, `claim`, `paymentLines`.

use async_graphql::connection::Connection;
use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, Object, Result, SimpleObject};

use super::codes::{self, GqlClaimStatus};
use super::pagination::{self, ConnectionTotals, CursorSpec, KeyKind, PageArgs};
use super::scalars::{Date, DateTime, Decimal};
use super::verdicts::LineVerdict;
use crate::auth::access::ensure_own_district;
use crate::error::AppError;
use crate::policy::money::Money;
use crate::policy::reconciliation::PaymentKind;
use crate::policy::settlement::ClaimStatus;
use crate::services::payments::{self as service, LineInput};
use crate::services::reconciliation;

// `remote`: the derive writes the conversions to and from the policy's `PaymentKind` both ways,
// and an exhaustive match in each makes a variant added on one side a build error.
/// The kind of a §7 subsidy payment.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(
    name = "PaymentKind",
    rename_items = "SCREAMING_SNAKE_CASE",
    remote = "crate::policy::reconciliation::PaymentKind"
)]
pub enum PaymentKindGql {
    /// Office rent subsidy (租房补助): a share of the rent actually paid in the recognition year.
    Rent,
    /// Office purchase subsidy (购房补助): a share of the price of the first purchase.
    Purchase,
}

/// One payment line as a district reports it.
#[derive(InputObject, Debug, Clone)]
pub struct PaymentLineInput {
    /// The enterprise's 18-character unified social credit code.
    pub credit_code: String,
    /// RENT or PURCHASE.
    pub kind: PaymentKindGql,
    /// The recognition year whose rent or purchase this payment subsidises.
    pub subsidy_year: i32,
    /// Lease or purchase contract number.
    pub contract_no: String,
    /// RENT: the rent actually paid that this payment subsidises; PURCHASE: the transaction price.
    pub basis: Decimal,
    /// PURCHASE only: the transaction date (its year must be the subsidy year).
    pub transaction_date: Option<Date>,
    /// The amount the district paid (> 0, at most 2 decimals, ≤ basis).
    pub amount: Decimal,
    /// The day the district paid (within the fiscal year reported).
    pub payment_date: Date,
    /// The voucher number, unique within the district.
    pub voucher_no: String,
}

/// A reported payment line.
#[derive(SimpleObject, Debug, Clone)]
#[graphql(complex)]
pub struct PaymentLine {
    /// The line's database id: `withdrawPaymentLines`, `recordFinding` and `Finding.lineIds` name
    /// lines by it.
    pub database_id: i64,
    /// Report order (a sequence the service assigns).
    pub seq: i64,
    /// The reporting district's code.
    pub district_code: String,
    /// The fiscal year of the payment date.
    pub fiscal_year: i32,
    /// The enterprise's credit code.
    pub credit_code: String,
    /// RENT or PURCHASE.
    pub kind: PaymentKindGql,
    /// The recognition year subsidised.
    pub subsidy_year: i32,
    /// Contract number.
    pub contract_no: String,
    /// Rent paid (RENT) or transaction price (PURCHASE).
    pub basis: Decimal,
    /// PURCHASE: the transaction date.
    pub transaction_date: Option<Date>,
    /// Amount paid.
    pub amount: Decimal,
    /// Payment date.
    pub payment_date: Date,
    /// Voucher number.
    pub voucher_no: String,
    /// When it was reported.
    pub reported_at: DateTime,
    /// Who reported it (token subject).
    pub reported_by: String,
}

#[ComplexObject]
impl PaymentLine {
    /// Opaque global id (`Node`); `node(id:)` refetches it.
    pub(super) async fn id(&self, _ctx: &Context<'_>) -> Result<ID> {
        Ok(super::node::global_id(
            super::node::NodeKind::PaymentLine,
            &[&self.database_id],
        ))
    }

    /// The line's key for idempotent retries: district and voucher number.
    async fn key(&self) -> String {
        format!("{}/{}", self.district_code, self.voucher_no)
    }

    /// The reconciliation verdict (§20 step 3); `null` until the claim is reconciled.
    async fn verdict(&self, ctx: &Context<'_>) -> Result<Option<super::verdicts::LineVerdict>> {
        // Batched: a page of lines reads its verdicts in one statement.
        let found = super::enterprises::data_loader(ctx)?
            .load_one(super::enterprises::VerdictKey(self.database_id))
            .await?;
        Ok(found
            .map(super::verdicts::LineVerdict::from_row)
            .transpose()?)
    }
}

/// A stored line as the API shows it; a stored kind this build does not know is an internal
/// error, never a default.
impl TryFrom<crate::services::records::PaymentLineRecord> for PaymentLine {
    type Error = AppError;

    fn try_from(m: crate::services::records::PaymentLineRecord) -> Result<Self, AppError> {
        let kind: PaymentKind = m.kind.parse().map_err(AppError::internal)?;
        Ok(PaymentLine {
            database_id: m.id,
            seq: m.seq,
            district_code: m.district_code,
            fiscal_year: m.fiscal_year,
            credit_code: m.credit_code,
            kind: kind.into(),
            subsidy_year: m.subsidy_year,
            contract_no: m.contract_no,
            basis: Money::from_fen(m.basis_fen).into(),
            transaction_date: m.transaction_date.map(Date),
            amount: Money::from_fen(m.amount_fen).into(),
            payment_date: Date(m.payment_date),
            voucher_no: m.voucher_no,
            reported_at: m.reported_at.into(),
            reported_by: m.reported_by,
        })
    }
}

/// A payment line its district withdrew before submitting: no claim, reconciliation, settlement
/// or export counts it, and its voucher may be reported again.
#[derive(SimpleObject, Debug, Clone)]
pub struct WithdrawnPaymentLine {
    /// The line's database id (as `PaymentLine.databaseId` was).
    pub database_id: i64,
    /// Its report order.
    pub seq: i64,
    /// The reporting district's code.
    pub district_code: String,
    /// The fiscal year of the payment date.
    pub fiscal_year: i32,
    /// The enterprise's credit code.
    pub credit_code: String,
    /// RENT or PURCHASE.
    pub kind: PaymentKindGql,
    /// The recognition year subsidised.
    pub subsidy_year: i32,
    /// Contract number.
    pub contract_no: String,
    /// Amount paid.
    pub amount: Decimal,
    /// Payment date.
    pub payment_date: Date,
    /// Voucher number (free to be reported again).
    pub voucher_no: String,
    /// When it was withdrawn.
    pub withdrawn_at: DateTime,
    /// Who withdrew it (token subject).
    pub withdrawn_by: String,
    /// Why.
    pub reason: String,
}

impl TryFrom<crate::services::records::WithdrawnLineRecord> for WithdrawnPaymentLine {
    type Error = AppError;

    fn try_from(m: crate::services::records::WithdrawnLineRecord) -> Result<Self, AppError> {
        let kind: PaymentKind = m.kind.parse().map_err(AppError::internal)?;
        Ok(WithdrawnPaymentLine {
            database_id: m.id,
            seq: m.seq,
            district_code: m.district_code,
            fiscal_year: m.fiscal_year,
            credit_code: m.credit_code,
            kind: kind.into(),
            subsidy_year: m.subsidy_year,
            contract_no: m.contract_no,
            amount: Money::from_fen(m.amount_fen).into(),
            payment_date: Date(m.payment_date),
            voucher_no: m.voucher_no,
            withdrawn_at: m.withdrawn_at.into(),
            withdrawn_by: m.withdrawn_by,
            reason: m.reason,
        })
    }
}

/// What a report did.
#[derive(SimpleObject, Debug, Clone)]
pub struct ReportPaymentsResult {
    /// Lines written by this report, in batch order.
    pub created: Vec<PaymentLine>,
    /// Lines already reported with identical content: nothing changed for them.
    pub unchanged: Vec<PaymentLine>,
}

/// A step in a claim's history.
#[derive(SimpleObject, Debug, Clone)]
pub struct ClaimEvent {
    /// The claim's id (`Claim.id`).
    pub claim_id: i64,
    /// The claim's district.
    pub district_code: String,
    /// The claim's fiscal year.
    pub fiscal_year: i32,
    /// The status the claim moved to at this step.
    pub action: GqlClaimStatus,
    /// The reason given (for RETURNED).
    pub reason: Option<String>,
    /// The content hash at that step (for SUBMITTED).
    pub content_hash: Option<String>,
    /// Who did it (token subject).
    pub actor: String,
    /// When.
    pub at: DateTime,
}

/// A committed change as a step of its claim's history.
impl From<&crate::services::claim_feed::ClaimChange> for ClaimEvent {
    fn from(change: &crate::services::claim_feed::ClaimChange) -> Self {
        ClaimEvent {
            claim_id: change.claim_id,
            district_code: change.district_code.clone(),
            fiscal_year: change.fiscal_year,
            action: change.action.into(),
            reason: change.reason.clone(),
            content_hash: change.content_hash.clone(),
            actor: change.actor.clone(),
            at: change.at.into(),
        }
    }
}

/// A district's yearly claim (§20 step 2).
#[derive(SimpleObject, Debug, Clone)]
#[graphql(complex)]
pub struct Claim {
    /// The claim's database id.
    pub database_id: i64,
    /// The district's code.
    pub district_code: String,
    /// The fiscal year claimed.
    pub fiscal_year: i32,
    /// Where the claim stands.
    pub status: GqlClaimStatus,
    /// SHA-256 (hex) of the canonical form of the lines when submitted.
    pub content_hash: Option<String>,
    /// Number of lines claimed.
    pub line_count: i32,
    /// Total paid over the claimed lines.
    pub paid_total: Decimal,
    /// When it was last submitted.
    pub submitted_at: Option<DateTime>,
    /// Who submitted it.
    pub submitted_by: Option<String>,
}

/// A stored claim as the API shows it; a stored status this build does not know is an internal
/// error.
impl TryFrom<crate::services::records::ClaimRecord> for Claim {
    type Error = AppError;

    fn try_from(m: crate::services::records::ClaimRecord) -> Result<Self, AppError> {
        Ok(Claim {
            database_id: m.id,
            district_code: m.district_code,
            fiscal_year: m.fiscal_year,
            status: codes::stored::<ClaimStatus, _>(&m.status)?,
            content_hash: m.content_hash,
            line_count: m.line_count,
            paid_total: Money::from_fen(m.paid_total_fen).into(),
            submitted_at: m.submitted_at.map(Into::into),
            submitted_by: m.submitted_by,
        })
    }
}

#[ComplexObject]
impl Claim {
    /// Opaque global id (`Node`); `node(id:)` refetches it.
    pub(super) async fn id(&self, _ctx: &Context<'_>) -> Result<ID> {
        Ok(super::node::global_id(
            super::node::NodeKind::Claim,
            &[&self.district_code, &self.fiscal_year],
        ))
    }

    /// The claim's history, oldest first.
    async fn history(&self, ctx: &Context<'_>) -> Result<Vec<ClaimEvent>> {
        let state = super::state(ctx)?;
        let rows = service::claim_history(&state.db, self.database_id).await?;
        rows.into_iter()
            .map(|e| {
                Ok(ClaimEvent {
                    claim_id: self.database_id,
                    district_code: self.district_code.clone(),
                    fiscal_year: self.fiscal_year,
                    action: codes::stored::<ClaimStatus, _>(&e.action)?,
                    reason: e.reason,
                    content_hash: e.content_hash,
                    actor: e.actor,
                    at: e.at.into(),
                })
            })
            .collect()
    }

    /// The lines of the claim's district and year, in report order.
    #[graphql(complexity = "pagination::cost(first, last, child_complexity)")]
    async fn lines(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Lines after this cursor.")] after: Option<String>,
        #[graphql(desc = "Lines before this cursor.")] before: Option<String>,
        #[graphql(desc = "The first N lines.")] first: Option<i32>,
        #[graphql(desc = "The last N lines.")] last: Option<i32>,
    ) -> Result<Connection<String, PaymentLine, ConnectionTotals>> {
        let args = PageArgs {
            after,
            before,
            first,
            last,
        };
        Ok(line_page(ctx, &self.district_code, self.fiscal_year, args).await?)
    }

    /// The verdicts of the claim's lines (§20 step 3), in line order; empty until reconciled.
    #[graphql(complexity = "pagination::cost(first, last, child_complexity)")]
    async fn verdicts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Verdicts after this cursor.")] after: Option<String>,
        #[graphql(desc = "Verdicts before this cursor.")] before: Option<String>,
        #[graphql(desc = "The first N verdicts (1 to the maximum page size).")] first: Option<i32>,
        #[graphql(desc = "The last N verdicts (1 to the maximum page size).")] last: Option<i32>,
    ) -> Result<Connection<String, LineVerdict, ConnectionTotals>> {
        ensure_own_district(super::caller(ctx), &self.district_code)?;
        let args = PageArgs {
            after,
            before,
            first,
            last,
        };
        Ok(verdict_page(ctx, self.database_id, args).await?)
    }
}

/// The cursors of a claim's and a district's payment lines: the line's report sequence.
const LINE_CURSOR: CursorSpec = CursorSpec {
    list: "paymentLines",
    key: &[KeyKind::Int],
};

/// The cursors of a claim's verdicts: the line id.
const VERDICT_CURSOR: CursorSpec = CursorSpec {
    list: "lineVerdicts",
    key: &[KeyKind::Int],
};

/// The cursors of `claims`: fiscal year and district code.
const CLAIM_CURSOR: CursorSpec = CursorSpec {
    list: "claims",
    key: &[KeyKind::Int, KeyKind::Text],
};

async fn line_page(
    ctx: &Context<'_>,
    district_code: &str,
    fiscal_year: i32,
    args: PageArgs,
) -> Result<Connection<String, PaymentLine, ConnectionTotals>, AppError> {
    let state = super::state(ctx)?;
    ensure_own_district(super::caller(ctx), district_code)?;
    let request = args.request(&LINE_CURSOR, state.pages)?;
    let page = service::line_page(&state.db, district_code, fiscal_year, &request).await?;
    let db = state.db.clone();
    let code = district_code.to_string();
    let totals = ConnectionTotals::lazy(move || {
        let (db, code) = (db.clone(), code.clone());
        async move { service::count_lines(&db, &code, fiscal_year).await }
    });
    Ok(pagination::connection(
        &LINE_CURSOR,
        page.try_map(PaymentLine::try_from)?,
        totals,
    ))
}

/// A page of the verdicts of the claim `claim_id`, as `Claim.verdicts` and
/// `ReconcileResult.verdicts` show them (the caller has checked the district).
pub(super) async fn verdict_page(
    ctx: &Context<'_>,
    claim_id: i64,
    args: PageArgs,
) -> Result<Connection<String, LineVerdict, ConnectionTotals>, AppError> {
    let state = super::state(ctx)?;
    let request = args.request(&VERDICT_CURSOR, state.pages)?;
    let page = reconciliation::verdict_page(&state.db, claim_id, &request).await?;
    let db = state.db.clone();
    let totals = ConnectionTotals::lazy(move || {
        let db = db.clone();
        async move { reconciliation::count_verdicts(&db, claim_id).await }
    });
    Ok(pagination::connection(
        &VERDICT_CURSOR,
        page.try_map(LineVerdict::from_row)?,
        totals,
    ))
}

fn district_arg(code: &str) -> Result<String, AppError> {
    super::districts::parse_district_code("districtCode", code)
}

/// Queries of payments and claims.
#[derive(Default)]
pub struct PaymentQuery;

#[Object]
impl PaymentQuery {
    /// The claim of a district for a fiscal year; `null` if it was never submitted.
    pub(super) async fn claim(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "District code.")] district_code: String,
        #[graphql(desc = "Fiscal year.")] fiscal_year: i32,
    ) -> Result<Option<Claim>> {
        let state = super::state(ctx)?;
        let code = district_arg(&district_code)?;
        ensure_own_district(super::caller(ctx), &code)?;
        let claim = service::find_claim(&state.db, &code, fiscal_year).await?;
        Ok(claim.map(Claim::try_from).transpose()?)
    }

    /// The claims of every district (finance bureau, auditors, HQ office) or of the caller's own
    /// district (a district actor), by fiscal year and then district code, as a Relay
    /// connection. A district actor naming another district is `FORBIDDEN`, as on `claim`.
    #[graphql(complexity = "pagination::cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn claims(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this fiscal year.")] fiscal_year: Option<i32>,
        #[graphql(desc = "Only claims with this status.")] status: Option<GqlClaimStatus>,
        #[graphql(desc = "Only this district (a district actor: its own; the default).")]
        district_code: Option<String>,
        #[graphql(desc = "Claims after this cursor.")] after: Option<String>,
        #[graphql(desc = "Claims before this cursor.")] before: Option<String>,
        #[graphql(desc = "The first N claims (1 to the maximum page size).")] first: Option<i32>,
        #[graphql(desc = "The last N claims (1 to the maximum page size).")] last: Option<i32>,
    ) -> Result<Connection<String, Claim, ConnectionTotals>> {
        let state = super::state(ctx)?;
        let caller = super::caller(ctx);
        let district_code = district_code.map(|c| district_arg(&c)).transpose()?;
        if let Some(code) = &district_code {
            ensure_own_district(caller, code)?;
        }
        let own = caller.actor().and_then(|a| a.district_scope());
        let filter = service::ClaimFilter {
            fiscal_year,
            status: status.map(|s| ClaimStatus::from(s).as_str().to_owned()),
            district_code: district_code.or_else(|| own.map(str::to_string)),
        };
        let args = PageArgs {
            after,
            before,
            first,
            last,
        };
        let request = args.request(&CLAIM_CURSOR, state.pages)?;
        let page = service::claim_page(&state.db, &filter, &request).await?;
        let db = state.db.clone();
        let totals = ConnectionTotals::lazy(move || {
            let (db, filter) = (db.clone(), filter.clone());
            async move { service::count_claims(&db, &filter).await }
        });
        Ok(pagination::connection(
            &CLAIM_CURSOR,
            page.try_map(Claim::try_from)?,
            totals,
        ))
    }

    /// The payment lines a district reported for a fiscal year, in report order.
    #[graphql(complexity = "pagination::cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn payment_lines(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "District code.")] district_code: String,
        #[graphql(desc = "Fiscal year.")] fiscal_year: i32,
        #[graphql(desc = "Lines after this cursor.")] after: Option<String>,
        #[graphql(desc = "Lines before this cursor.")] before: Option<String>,
        #[graphql(desc = "The first N lines.")] first: Option<i32>,
        #[graphql(desc = "The last N lines.")] last: Option<i32>,
    ) -> Result<Connection<String, PaymentLine, ConnectionTotals>> {
        let code = district_arg(&district_code)?;
        let args = PageArgs {
            after,
            before,
            first,
            last,
        };
        Ok(line_page(ctx, &code, fiscal_year, args).await?)
    }
}

/// Mutations of payments and claims.
#[derive(Default)]
pub struct PaymentMutation;

#[Object]
impl PaymentMutation {
    /// Reports §7 payments the district actually made in a fiscal year (§20 step 1). The batch
    /// is all or nothing; a line already reported with the same content changes nothing.
    async fn report_payments(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The reporting district (a district actor's own).")] district_code: String,
        #[graphql(desc = "The fiscal year of the payment dates.")] fiscal_year: i32,
        #[graphql(desc = "The lines, in report order.")] lines: Vec<PaymentLineInput>,
    ) -> Result<ReportPaymentsResult> {
        let state = super::state(ctx)?;
        let actor = super::actor(ctx)?;
        let code = district_arg(&district_code)?;
        let lines = lines
            .into_iter()
            .map(|l| LineInput {
                credit_code: l.credit_code,
                kind: l.kind.into(),
                subsidy_year: l.subsidy_year,
                contract_no: l.contract_no,
                basis: l.basis.into(),
                transaction_date: l.transaction_date.map(Into::into),
                amount: l.amount.into(),
                payment_date: l.payment_date.into(),
                voucher_no: l.voucher_no,
            })
            .collect();
        let outcome = service::report(&state.db, actor, &code, fiscal_year, lines).await?;
        let shape = |rows: Vec<_>| {
            rows.into_iter()
                .map(PaymentLine::try_from)
                .collect::<Result<Vec<_>, AppError>>()
        };
        Ok(ReportPaymentsResult {
            created: shape(outcome.created)?,
            unchanged: shape(outcome.unchanged)?,
        })
    }

    /// Submits the district's claim for a fiscal year (§20 step 2): freezes its lines and
    /// records their SHA-256. Submitting unchanged lines again changes nothing.
    async fn submit_claim(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The district (a district actor's own).")] district_code: String,
        #[graphql(desc = "The fiscal year claimed.")] fiscal_year: i32,
    ) -> Result<Claim> {
        let state = super::state(ctx)?;
        let actor = super::actor(ctx)?;
        let code = district_arg(&district_code)?;
        let claim =
            service::submit_claim(&state.db, &state.feed, actor, &code, fiscal_year).await?;
        Ok(Claim::try_from(claim)?)
    }

    /// Withdraws the district's own lines not yet submitted (its claim absent or returned), with
    /// a reason: they leave the claim, and their vouchers may be reported again (with corrected
    /// content). A line already withdrawn is answered again unchanged. Another district's line
    /// is `NOT_FOUND`; a submitted claim's line `CONFLICT`; an approved year's `PERIOD_LOCKED`.
    async fn withdraw_payment_lines(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The ids of the lines (`PaymentLine.id`), at most 1,000.")] ids: Vec<i64>,
        #[graphql(desc = "Why they are withdrawn.")] reason: String,
    ) -> Result<Vec<WithdrawnPaymentLine>> {
        let state = super::state(ctx)?;
        let actor = super::actor(ctx)?;
        let withdrawn = service::withdraw(&state.db, actor, &ids, &reason).await?;
        Ok(withdrawn
            .into_iter()
            .map(WithdrawnPaymentLine::try_from)
            .collect::<Result<_, _>>()?)
    }

    /// Returns a claim to its district with a reason (CITY_FINANCE); the district may then
    /// report more lines and submit again.
    async fn return_claim(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The district.")] district_code: String,
        #[graphql(desc = "The fiscal year.")] fiscal_year: i32,
        #[graphql(desc = "Why the claim is returned.")] reason: String,
    ) -> Result<Claim> {
        let state = super::state(ctx)?;
        let actor = super::actor(ctx)?;
        let code = district_arg(&district_code)?;
        let claim =
            service::return_claim(&state.db, &state.feed, actor, &code, fiscal_year, &reason)
                .await?;
        Ok(Claim::try_from(claim)?)
    }
}
