//! `simulateSettlement`: the settlement of a year under several rates and budgets, side by side,
//! computed as `draftSettlement` computes it and stored nowhere.

use std::collections::{BTreeMap, HashMap};

use async_graphql::{Context, InputObject, Object, Result, SimpleObject};

use super::codes::{GqlSettlementStatus, GqlZeroReason};
use super::scalars::Decimal;
use super::settlement::{ReasonAmount, SettlementTotals, stored_rate};
use crate::error::AppError;
use crate::policy::money::Money;
use crate::policy::reconciliation::ReasonCode;
use crate::policy::settlement::{DistrictSettlement, SettlementDraft, SettlementStatus};
use crate::services::records::SettlementLineRecord;
use crate::services::settlement::{self as service, Scenario, StoredSettlement};

/// One what-if: the arguments `draftSettlement` takes.
#[derive(InputObject, Debug, Clone, Default)]
pub struct SettlementScenarioInput {
    /// Reimbursement rate, 0 to the cap (default: `settlement.default_rate`).
    pub rate: Option<Decimal>,
    /// The city's budget (≥ 0, at most 2 decimals); none = no budget.
    pub budget: Option<Decimal>,
}

/// One district's line under a scenario.
#[derive(SimpleObject, Debug, Clone)]
pub struct SettlementScenarioDistrict {
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
    /// granted + adjustments, payable in the following year.
    pub net_payable: Decimal,
    /// Why a district has zeros; null when its claim is reconciled.
    pub zero_reason: Option<GqlZeroReason>,
    /// `granted` minus the stored settlement's grant for the district; null when none is stored.
    pub granted_change: Option<Decimal>,
    /// `netPayable` minus the stored settlement's; null when none is stored.
    pub net_payable_change: Option<Decimal>,
}

/// The scenario against the settlement stored for the year.
#[derive(SimpleObject, Debug, Clone)]
pub struct SettlementScenarioChange {
    /// The stored settlement's status.
    pub stored_status: GqlSettlementStatus,
    /// The stored settlement's rate.
    pub stored_rate: Decimal,
    /// Σ reimbursement minus the stored Σ reimbursement.
    pub reimbursement: Decimal,
    /// Σ granted minus the stored Σ granted.
    pub granted: Decimal,
    /// Σ net payable minus the stored Σ net payable.
    pub net_payable: Decimal,
}

/// The figures `draftSettlement` would store for one scenario.
#[derive(SimpleObject, Debug, Clone)]
pub struct SettlementScenario {
    /// The rate applied (the scenario's, or `settlement.default_rate`).
    pub rate: Decimal,
    /// The scenario's budget, if any.
    pub budget: Option<Decimal>,
    /// Whether the budget is below Σ reimbursement, so that the grants are proportional shares
    /// adding up to it.
    pub budget_binding: bool,
    /// City totals.
    pub totals: SettlementTotals,
    /// One line per district, in code order.
    pub districts: Vec<SettlementScenarioDistrict>,
    /// This scenario minus the stored settlement; null when none is stored.
    pub change: Option<SettlementScenarioChange>,
}

/// The answer of `simulateSettlement`.
#[derive(SimpleObject, Debug, Clone)]
pub struct SettlementSimulation {
    /// The fiscal year simulated.
    pub fiscal_year: i32,
    /// The year the amounts would be payable in (N+1).
    pub payable_year: i32,
    /// Ids of the parameter versions used.
    pub parameter_version_ids: Vec<i64>,
    /// One result per scenario, in the order given.
    pub scenarios: Vec<SettlementScenario>,
}

fn money(value: Money) -> Decimal {
    value.into()
}

fn reasons(map: &BTreeMap<ReasonCode, Money>) -> Vec<ReasonAmount> {
    map.iter()
        .map(|(reason, amount)| ReasonAmount::new(*reason, *amount))
        .collect()
}

fn difference(now: Money, before: i64) -> Result<Decimal, AppError> {
    now.checked_sub(Money::from_fen(before))
        .map(money)
        .ok_or_else(|| AppError::internal("a settlement difference overflows"))
}

fn district(
    line: &DistrictSettlement,
    stored: Option<&HashMap<&str, &SettlementLineRecord>>,
) -> Result<SettlementScenarioDistrict, AppError> {
    let before = stored.and_then(|lines| lines.get(line.code.as_str()));
    let change = |now: Money, pick: fn(&SettlementLineRecord) -> i64| {
        stored
            .map(|_| difference(now, before.map_or(0, |b| pick(b))))
            .transpose()
    };
    Ok(SettlementScenarioDistrict {
        district_code: line.code.clone(),
        reported: money(line.reported),
        eligible: money(line.eligible),
        cut: money(line.cut),
        cut_by_reason: reasons(&line.cut_by_reason),
        reimbursement: money(line.reimbursement),
        granted: money(line.granted),
        adjustments: money(line.adjustments),
        net_payable: money(line.net_payable),
        zero_reason: line.zero_reason.map(Into::into),
        granted_change: change(line.granted, |b| b.granted_fen)?,
        net_payable_change: change(line.net_payable, |b| b.net_payable_fen)?,
    })
}

fn scenario(
    draft: &SettlementDraft,
    stored: Option<&StoredSettlement>,
) -> Result<SettlementScenario, AppError> {
    let lines: Option<HashMap<&str, &SettlementLineRecord>> = stored.map(|s| {
        s.lines
            .iter()
            .map(|l| (l.district_code.as_str(), l))
            .collect()
    });
    let t = &draft.totals;
    let change = stored
        .map(|s| -> Result<_, AppError> {
            let s = &s.settlement;
            Ok(SettlementScenarioChange {
                stored_status: super::codes::stored::<SettlementStatus, _>(&s.status)?,
                stored_rate: stored_rate(&s.rate)?,
                reimbursement: difference(t.reimbursement, s.reimbursement_fen)?,
                granted: difference(t.granted, s.granted_fen)?,
                net_payable: difference(t.net_payable, s.net_payable_fen)?,
            })
        })
        .transpose()?;
    Ok(SettlementScenario {
        rate: Decimal(draft.rate.normalize()),
        budget: draft.budget.map(money),
        budget_binding: draft.budget_binding,
        totals: SettlementTotals {
            reported: money(t.reported),
            eligible: money(t.eligible),
            cut: money(t.cut),
            reimbursement: money(t.reimbursement),
            granted: money(t.granted),
            adjustments: money(t.adjustments),
            net_payable: money(t.net_payable),
        },
        districts: draft
            .districts
            .iter()
            .map(|line| district(line, lines.as_ref()))
            .collect::<Result<_, _>>()?,
        change,
    })
}

/// The what-if query of the finance bureau.
#[derive(Default)]
pub struct SimulationQuery;

#[Object]
impl SimulationQuery {
    /// The settlement of `fiscalYear` under each scenario (CITY_FINANCE): exactly the figures
    /// `draftSettlement` would store with that rate and budget, from the year's current verdicts
    /// read in one snapshot, side by side and against the stored settlement. Nothing is written:
    /// no draft is replaced, no audit entry is made. The same errors as `draftSettlement`.
    async fn simulate_settlement(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The fiscal year.")] fiscal_year: i32,
        #[graphql(desc = "1 to 20 scenarios, each a rate and a budget.")] scenarios: Vec<
            SettlementScenarioInput,
        >,
    ) -> Result<SettlementSimulation> {
        let state = super::state(ctx)?;
        let actor = super::actor(ctx)?;
        let scenarios: Vec<Scenario> = scenarios
            .into_iter()
            .map(|s| Scenario {
                rate: s.rate.map(Into::into),
                budget: s.budget.map(Into::into),
            })
            .collect();
        let simulation = service::simulate(&state.db, actor, fiscal_year, &scenarios).await?;
        Ok(SettlementSimulation {
            fiscal_year,
            payable_year: service::payable_year(fiscal_year),
            parameter_version_ids: simulation.parameter_versions,
            scenarios: simulation
                .drafts
                .iter()
                .map(|draft| scenario(draft, simulation.stored.as_ref()))
                .collect::<Result<_, _>>()?,
        })
    }
}
