//! The enterprise registry (POLICY.md "Enterprises"): identities, the §19 events that are the
//! append-only source of truth of every fact, the dated fact periods derived from them, and the
//! yearly figures.
//!
//! Facts are never edited in place. A write appends an event (`enterprise_events`) and then
//! rebuilds the enterprise's `enterprise_facts` rows by folding all of its events in
//! (effective date, id) order with the pure [`fold`] of [`crate::policy::registry`]: each distinct
//! effective date starts a period that runs to the day before the next one, the last period is
//! open. The fold also checks that the history stays coherent (no move out of Hangzhou while
//! outside it, no district without `hangzhou_since`, ...), so an event dated in the middle of the
//! history is refused if it would contradict a later one.

/// Reading the registry: enterprises, facts as of a day, events, figures, and the filtered list.
pub mod read;
/// Validation of client input: credit codes, names, districts, codes, dates, money and changes.
mod validate;

pub use validate::{parse_credit_code, parse_money, parse_outside_units};
/// Writes: registering, recording events and figures, and rebuilding the fact periods.
pub mod write;

use chrono::{Duration, NaiveDate, Utc};

use crate::error::{AppError, AppResult};
use crate::policy::Money;
pub use crate::policy::registry::{
    EventKind, Fact, FactChanges, Facts, FoldError, FoldEvent, Period, fold,
};
use entity::{enterprise_events, enterprise_facts, enterprise_figures, enterprises};

/// The longest enterprise name accepted, in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// The earliest year figures can be recorded for.
pub const FIRST_FIGURES_YEAR: i32 = 2000;

/// Today in Hangzhou (UTC+8): "as of today" in POLICY.md means the Hangzhou calendar day.
pub fn today() -> NaiveDate {
    (Utc::now() + Duration::hours(8)).date_naive()
}

/// The facts of a stored period row.
///
/// # Errors
/// `INTERNAL` for a stored value this build does not know (an ownership code, a negative count):
/// never read as a default.
pub fn facts_from_row(row: &enterprise_facts::Model) -> AppResult<Facts> {
    let ownership = row.ownership.parse().map_err(AppError::internal)?;
    let outside_units = u32::try_from(row.outside_units).map_err(|_| {
        AppError::internal(format!(
            "enterprise {} has {} outside units on record",
            row.enterprise_id, row.outside_units
        ))
    })?;
    Ok(Facts {
        name: row.name.clone(),
        district_code: row.district_code.clone(),
        hangzhou_since: row.hangzhou_since,
        industry_code: row.industry_code.clone(),
        ownership,
        industrial_guidance: row.industrial_guidance,
        independent_legal_person: row.independent_legal_person,
        deemed_legal_person: row.deemed_legal_person,
        operating: row.operating,
        unified_accounting: row.unified_accounting,
        rd_facilities: row.rd_facilities,
        rd_stable_funding: row.rd_stable_funding,
        outside_units,
        listing_exchange: row.listing_exchange.clone(),
        listed_entity_in_hangzhou: row.listed_entity_in_hangzhou,
        dishonest: row.dishonest,
        owns_office: row.owns_office,
        registered_capital: row.registered_capital_fen.map(Money::from_fen),
    })
}

/// The period of a stored facts row.
///
/// # Errors
/// As [`facts_from_row`].
pub fn period_from_row(row: &enterprise_facts::Model) -> AppResult<Period> {
    Ok(Period {
        valid_from: row.valid_from,
        valid_to: row.valid_to,
        facts: facts_from_row(row)?,
    })
}

/// The facts as the audit log keeps them.
fn facts_json(facts: &Facts) -> serde_json::Value {
    serde_json::to_value(facts).unwrap_or(serde_json::Value::Null)
}

/// The changes as an event stores them (`enterprise_events.changes`) and the audit log keeps them.
fn changes_json(changes: &FactChanges) -> serde_json::Value {
    serde_json::to_value(changes).unwrap_or(serde_json::Value::Null)
}

/// The changes of a stored event.
fn parse_changes(text: &str) -> AppResult<FactChanges> {
    serde_json::from_str(text)
        .map_err(|e| AppError::internal(format!("stored event changes are unreadable: {e}")))
}

/// What `registerEnterprise` receives.
#[derive(Debug, Clone)]
pub struct RegisterInput {
    /// Unified social credit code (trimmed and upper-cased here).
    pub credit_code: String,
    /// The day the initial facts take effect; defaults to `facts.hangzhou_since`.
    pub registered_on: Option<NaiveDate>,
    /// The initial facts, validated and normalised here. A null `hangzhou_since` with a district
    /// defaults to the effective date.
    pub facts: Facts,
    /// Free-text note kept on the `REGISTERED` event.
    pub note: Option<String>,
}

/// What `recordEnterpriseEvent` receives.
#[derive(Debug, Clone)]
pub struct EventInput {
    /// The enterprise.
    pub credit_code: String,
    /// The event kind (never `REGISTERED`).
    pub kind: EventKind,
    /// The day the change takes effect.
    pub effective_date: NaiveDate,
    /// The facts it changes, validated and normalised here.
    pub changes: FactChanges,
    /// Free-text note.
    pub note: Option<String>,
}

/// The result of a registration.
#[derive(Debug, Clone)]
pub struct Registered {
    /// The new enterprise.
    pub enterprise: enterprises::Model,
    /// Warnings that did not stop the registration (e.g. a GB 11714 check digit mismatch).
    pub warnings: Vec<String>,
}

/// The result of recording an event.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The enterprise.
    pub enterprise: enterprises::Model,
    /// The stored event.
    pub event: enterprise_events::Model,
}

/// The result of recording figures.
#[derive(Debug, Clone)]
pub struct FiguresRecorded {
    /// The enterprise.
    pub enterprise: enterprises::Model,
    /// The figures as stored.
    pub figures: enterprise_figures::Model,
}
