//! The demo data set of `hq-api demo-data`: a newcomer sees real answers at once.
//!
//! - **Registry**: 700 enterprises across the 13 districts, with a few years of §19 history
//!   (moves into and between districts, office purchases, renamings, listings, ...) and yearly
//!   figures for 2022–2025: 11 above 100 billion yuan of revenue, about 60 above 10 billion, and
//!   some exactly on or just under the thresholds of §3 so that the boundaries show in verdicts.
//! - **Recognition** (`demo/rounds.rs`): the rounds of 2023, 2024 and 2025, decided on 2023-06-30,
//!   2024-06-28 and 2025-06-27 by the real rules; the facts are planned so that they recognise
//!   the published numbers, 468 HQs for 2023 and 643 for 2024 (175 more), with 20 five-star,
//!   30 four-star and 50 three-star HQs in 2024. Three titles are revoked, star rewards are
//!   granted for 2023 and 2024, and some enterprises stay ineligible on purpose (a little under
//!   the revenue threshold, an excluded industry or ownership, dishonest, ...).
//! - **§20** (`demo/settlement.rs`): the districts' rent and purchase subsidies for 2023–2025, with
//!   lines that trip every reason code of the reconciliation; the 2023 claims reconciled, settled
//!   and approved (with an audit finding carried into 2024), the 2024 claims submitted and
//!   waiting for the finance bureau, the 2025 lines reported.
//!
//! Deterministic: everything comes from a fixed-seed splitmix64 generator and fixed dates, and
//! every write is recorded by a fixed subject ([`DEMO_ACTOR`](crate::demo::DEMO_ACTOR),
//! `system:demo:<district>` for the districts), so every database gets the same data.
//! Idempotent: each step notices what is already there, so a second run adds nothing (and a run
//! that stopped half-way is completed).
//! Everything goes through the same service functions as the API (validation, rules, hashes,
//! audit). The registry is written in one transaction, the recognition rounds in another; the
//! §20 steps use the services' own transactions.

/// Yearly figures: revenue tiers and each year's revenue and R&D as a fate needs them.
mod figures;
/// The fixed-seed splitmix64 generator every demo number comes from.
mod generator;
/// The registry's plan: each enterprise's fate, and the facts, events and figures drawn to match.
mod planner;
/// The recognition rounds, star ratings and rewards, and revocations (§3 to §6, §22).
mod rounds;
/// Payments, claims, the 2023 settlement and an audit finding (§20).
mod settlement;
/// Districts, industries, ownership kinds, exchanges, name words, credit codes and names.
mod vocabulary;

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect, QueryTrait,
};

use crate::auth::{Actor, Role};
use crate::error::{AppError, AppResult};
use crate::policy::Money;
use crate::services::registry::{EventInput, write};
use crate::services::tx::begin_write;
use entity::{enterprise_events, enterprise_figures, enterprises as enterprise_rows};
use planner::{Failure, Fate, Plan, plan};

/// The token subject the demo data is recorded by (districts: `system:demo:<code>`).
pub const DEMO_ACTOR: &str = "system:demo";

/// How many enterprises the demo registers.
pub const DEMO_ENTERPRISES: usize = 700;

/// The years the demo records figures for.
const FIGURE_YEARS: std::ops::RangeInclusive<i32> = 2022..=2025;

fn date(y: i32, m: u32, d: u32) -> AppResult<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| AppError::internal("invalid demo date"))
}

/// Enterprises of the demo worth looking at first, by credit code.
#[derive(Debug, Clone)]
pub struct Notable {
    /// In Hangzhou before 2022 with a revenue of 999,999,999.99 in 2022–2024: fails
    /// `REVENUE_THRESHOLD` (§3.2) by one fen, and every other route.
    pub one_fen_short: String,
    /// Exactly 1,000,000,000.00: passes `REVENUE_THRESHOLD` (（含）).
    pub exactly_at_threshold: String,
    /// Never eligible, with a revenue a little under 1 billion (the gap shows in the verdict).
    pub below_revenue_threshold: Vec<String>,
    /// A provincial, municipal or district SOE (`NOT_EXCLUDED_SOE` fails).
    pub excluded_soe: Vec<String>,
    /// An excluded industry (`INDUSTRY_NOT_EXCLUDED` fails).
    pub excluded_industry: Vec<String>,
    /// On the serious dishonesty list (`NOT_DISHONEST` fails).
    pub dishonest: Vec<String>,
}

/// Notable demo enterprises (computed from the plan; no database needed).
///
/// # Errors
/// An internal error if the plan cannot be computed (a bug).
pub fn notable() -> AppResult<Notable> {
    let plans = plan()?;
    let codes = |wanted: Failure| -> Vec<String> {
        plans
            .iter()
            .filter(|p| p.fate == Fate::Never(wanted))
            .map(|p| p.code().to_string())
            .collect()
    };
    let boundary = |revenue: i64, new: bool| -> AppResult<String> {
        plans
            .iter()
            .find(|p| {
                p.fate == Fate::Boundary
                    && p.revenue(2023) == Some(revenue)
                    && p.register
                        .facts
                        .hangzhou_since
                        .is_some_and(|d| d.year() >= 2022)
                        == new
            })
            .map(|p| p.code().to_string())
            .ok_or_else(|| AppError::internal("a demo boundary case is missing"))
    };
    Ok(Notable {
        one_fen_short: boundary(99_999_999_999, false)?,
        exactly_at_threshold: boundary(100_000_000_000, false)?,
        below_revenue_threshold: codes(Failure::BelowRevenue),
        excluded_soe: codes(Failure::ExcludedOwnership),
        excluded_industry: codes(Failure::ExcludedIndustry),
        dishonest: codes(Failure::Dishonest),
    })
}

/// The actor of the HQ office's and the finance bureau's demo decisions.
fn demo_actor(role: Role) -> Actor {
    Actor {
        sub: DEMO_ACTOR.into(),
        role,
        district: None,
    }
}

/// Loads the demo data (or completes a partial load); returns a one-line summary with counts.
///
/// # Errors
/// Database errors; an internal error if the generated data fails validation (a bug).
pub async fn load(db: &DatabaseConnection) -> AppResult<String> {
    let started = std::time::Instant::now();
    let plans = plan()?;
    let mut wrote = load_registry(db, &plans).await?;
    tracing::info!(elapsed = ?started.elapsed(), "demo: registry");
    let index = plan_index(db, &plans).await?;
    wrote |= rounds::run(db, &plans).await?;
    tracing::info!(elapsed = ?started.elapsed(), "demo: recognition rounds");
    wrote |= settlement::run(db, &plans, &index).await?;
    tracing::info!(elapsed = ?started.elapsed(), "demo: payments, claims and settlement");
    let what = if wrote {
        "demo data loaded"
    } else {
        "demo data already present"
    };
    summary(db, what).await
}

/// The registry, in one transaction; nothing if the demo enterprises are there already.
async fn load_registry(db: &DatabaseConnection, plans: &[Plan]) -> AppResult<bool> {
    if demo_enterprise_count(db).await? > 0 {
        return Ok(false);
    }
    let actor = demo_actor(Role::HqOffice);
    let txn = begin_write(db).await?;
    for plan in plans {
        let code = plan.code().to_string();
        write::register_in(&txn, &actor, plan.register.clone())
            .await
            .map_err(|e| demo_error(&code, e))?;
        for event in &plan.events {
            let input = EventInput {
                credit_code: code.clone(),
                kind: event.kind,
                effective_date: event.on,
                changes: event.changes.clone(),
                note: Some("demo data".into()),
            };
            write::record_event_in(&txn, &actor, input)
                .await
                .map_err(|e| demo_error(&code, e))?;
        }
        for &(year, revenue, rd) in &plan.figures {
            let revenue = Money::from_fen(revenue).to_decimal();
            let rd = Money::from_fen(rd).to_decimal();
            write::record_figures_in(&txn, &actor, &code, year, revenue, rd)
                .await
                .map_err(|e| demo_error(&code, e))?;
        }
    }
    txn.commit().await?;
    Ok(true)
}

/// Enterprise id → index of its plan.
async fn plan_index<C: ConnectionTrait>(
    conn: &C,
    plans: &[Plan],
) -> AppResult<HashMap<i64, usize>> {
    let by_code: HashMap<&str, usize> = plans
        .iter()
        .enumerate()
        .map(|(i, p)| (p.code(), i))
        .collect();
    Ok(enterprise_rows::Entity::find()
        .filter(enterprise_rows::Column::CreatedBy.eq(DEMO_ACTOR))
        .all(conn)
        .await?
        .into_iter()
        .filter_map(|e| by_code.get(e.credit_code.as_str()).map(|&i| (e.id, i)))
        .collect())
}

fn demo_error(code: &str, err: AppError) -> AppError {
    match err {
        AppError::Unavailable(_) => err,
        other => AppError::internal(format!("demo enterprise {code}: {other:?}")),
    }
}

async fn demo_enterprise_count<C: ConnectionTrait>(conn: &C) -> AppResult<u64> {
    Ok(enterprise_rows::Entity::find()
        .filter(enterprise_rows::Column::CreatedBy.eq(DEMO_ACTOR))
        .count(conn)
        .await?)
}

async fn summary<C: ConnectionTrait>(conn: &C, what: &str) -> AppResult<String> {
    let enterprises = demo_enterprise_count(conn).await?;
    let ids = enterprise_rows::Entity::find()
        .select_only()
        .column(enterprise_rows::Column::Id)
        .filter(enterprise_rows::Column::CreatedBy.eq(DEMO_ACTOR))
        .as_query()
        .to_owned();
    let events = enterprise_events::Entity::find()
        .filter(enterprise_events::Column::EnterpriseId.in_subquery(ids.clone()))
        .count(conn)
        .await?;
    let figures = enterprise_figures::Entity::find()
        .filter(enterprise_figures::Column::EnterpriseId.in_subquery(ids))
        .count(conn)
        .await?;
    let rounds = rounds::summary(conn).await?;
    let money = settlement::summary(conn).await?;
    Ok(format!(
        "{what}: {enterprises} enterprises, {events} events, {figures} yearly figures ({}-{}); \
         {rounds}; {money}",
        FIGURE_YEARS.start(),
        FIGURE_YEARS.end()
    ))
}
