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

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{Datelike, Duration, NaiveDate, Utc};
use rust_decimal::Decimal;
use sea_orm::sea_query::{LikeExpr, Query};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::{NotSet, Set},
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, Order,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Select,
};
use serde_json::json;

use crate::auth::Actor;
use crate::error::{AppError, AppResult};
pub use crate::policy::registry::{
    EventKind, Fact, FactChanges, Facts, FoldError, FoldEvent, Period, fold,
};
use crate::policy::registry::{changes_for_kind, period_on};
use crate::policy::{CreditCode, Money, MoneyError, Ownership, dates};
use crate::services::audit::{self, AuditEntry};
use crate::services::tx::begin_write;
use entity::{
    districts, enterprise_events, enterprise_facts, enterprise_figures, enterprises, recognitions,
    star_ratings,
};

/// The longest enterprise name accepted, in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// The earliest year figures can be recorded for.
pub const FIRST_FIGURES_YEAR: i32 = 2000;

/// Today in Hangzhou (UTC+8): "as of today" in POLICY.md means the Hangzhou calendar day.
pub fn today() -> NaiveDate {
    (Utc::now() + Duration::hours(8)).date_naive()
}

/// The facts of a stored period row.
pub fn facts_from_row(row: &enterprise_facts::Model) -> Facts {
    Facts {
        name: row.name.clone(),
        district_code: row.district_code.clone(),
        hangzhou_since: row.hangzhou_since,
        industry_code: row.industry_code.clone(),
        ownership: row.ownership.clone(),
        industrial_guidance: row.industrial_guidance,
        independent_legal_person: row.independent_legal_person,
        deemed_legal_person: row.deemed_legal_person,
        operating: row.operating,
        unified_accounting: row.unified_accounting,
        rd_facilities: row.rd_facilities,
        rd_stable_funding: row.rd_stable_funding,
        outside_units: row.outside_units,
        listing_exchange: row.listing_exchange.clone(),
        listed_entity_in_hangzhou: row.listed_entity_in_hangzhou,
        dishonest: row.dishonest,
        owns_office: row.owns_office,
        registered_capital: row.registered_capital_fen.map(Money::from_fen),
    }
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

/// Changes as a client sends them, before validation. For nullable facts the outer `Option` says
/// whether the fact is changed and the inner one is the new value (`Some(None)` clears it).
#[derive(Debug, Clone, Default)]
pub struct ChangesInput {
    /// New name.
    pub name: Option<String>,
    /// New district; `Some(None)` = outside Hangzhou.
    pub district_code: Option<Option<String>>,
    /// New `hangzhou_since` (corrections only).
    pub hangzhou_since: Option<Option<NaiveDate>>,
    /// New industry class.
    pub industry_code: Option<String>,
    /// New ownership kind code.
    pub ownership: Option<String>,
    /// New industrial guidance flag.
    pub industrial_guidance: Option<bool>,
    /// New independent legal person flag.
    pub independent_legal_person: Option<bool>,
    /// New deemed legal person flag.
    pub deemed_legal_person: Option<bool>,
    /// New operating flag.
    pub operating: Option<bool>,
    /// New unified accounting flag.
    pub unified_accounting: Option<bool>,
    /// New R&D facilities flag.
    pub rd_facilities: Option<bool>,
    /// New stable R&D funding flag.
    pub rd_stable_funding: Option<bool>,
    /// New number of outside units.
    pub outside_units: Option<i32>,
    /// New listing exchange; `Some(None)` = no longer listed.
    pub listing_exchange: Option<Option<String>>,
    /// New "listed entity in Hangzhou" flag.
    pub listed_entity_in_hangzhou: Option<bool>,
    /// New dishonesty flag.
    pub dishonest: Option<bool>,
    /// New office ownership flag (corrections only).
    pub owns_office: Option<bool>,
    /// New registered capital in yuan; `Some(None)` = unknown.
    pub registered_capital: Option<Option<Decimal>>,
}

/// What `registerEnterprise` receives.
#[derive(Debug, Clone)]
pub struct RegisterInput {
    /// Unified social credit code (trimmed and upper-cased here).
    pub credit_code: String,
    /// The day the initial facts take effect; defaults to `hangzhou_since`.
    pub registered_on: Option<NaiveDate>,
    /// Name.
    pub name: String,
    /// Registered district; `None` = outside Hangzhou.
    pub district_code: Option<String>,
    /// First day of the current stay in Hangzhou; defaults to the effective date when in a district.
    pub hangzhou_since: Option<NaiveDate>,
    /// GB/T 4754-2017 class, 4 digits.
    pub industry_code: String,
    /// Ownership kind code.
    pub ownership: String,
    /// Industrial guidance flag.
    pub industrial_guidance: bool,
    /// Independent legal person.
    pub independent_legal_person: bool,
    /// Deemed legal person.
    pub deemed_legal_person: bool,
    /// Operating.
    pub operating: bool,
    /// Unified accounting.
    pub unified_accounting: bool,
    /// R&D facilities.
    pub rd_facilities: bool,
    /// Stable R&D funding.
    pub rd_stable_funding: bool,
    /// Outside units (≥ 0).
    pub outside_units: i32,
    /// Listing exchange, if listed.
    pub listing_exchange: Option<String>,
    /// Whether the listed entity is in Hangzhou.
    pub listed_entity_in_hangzhou: bool,
    /// On the serious dishonesty list.
    pub dishonest: bool,
    /// Owns office premises in Hangzhou.
    pub owns_office: bool,
    /// Registered capital in yuan.
    pub registered_capital: Option<Decimal>,
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
    /// The facts it changes.
    pub changes: ChangesInput,
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

// ---------------------------------------------------------------------------------------------
// Validation of client input
// ---------------------------------------------------------------------------------------------

fn parse_credit_code(field: &str, text: &str) -> AppResult<CreditCode> {
    CreditCode::parse(text).map_err(|e| AppError::bad_input(field, e.to_string()))
}

fn validate_name(field: &str, name: &str) -> AppResult<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(AppError::bad_input(field, "the name must not be empty"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(AppError::bad_input(
            field,
            format!("the name is longer than {MAX_NAME_CHARS} characters"),
        ));
    }
    Ok(name.to_string())
}

fn validate_district(
    field: &str,
    code: Option<&str>,
    known: &HashSet<String>,
) -> AppResult<Option<String>> {
    let Some(code) = code.map(str::trim) else {
        return Ok(None);
    };
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AppError::bad_input(
            field,
            "a district code is 6 digits (GB/T 2260)",
        ));
    }
    if !known.contains(code) {
        return Err(AppError::bad_input(
            field,
            format!("{code} is not a Hangzhou district"),
        ));
    }
    Ok(Some(code.to_string()))
}

fn validate_industry(field: &str, code: &str) -> AppResult<String> {
    let code = code.trim();
    if code.len() == 4 && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(code.to_string())
    } else {
        Err(AppError::bad_input(
            field,
            "an industry is a 4-digit GB/T 4754-2017 class without section letter, e.g. 7211",
        ))
    }
}

fn validate_ownership(field: &str, code: &str) -> AppResult<String> {
    Ownership::parse(code.trim())
        .map(|o| o.as_str().to_string())
        .map_err(|e| AppError::bad_input(field, e.to_string()))
}

fn validate_outside_units(field: &str, units: i32) -> AppResult<i32> {
    if units < 0 {
        Err(AppError::bad_input(
            field,
            "the number of outside units cannot be negative",
        ))
    } else {
        Ok(units)
    }
}

fn validate_exchange(field: &str, exchange: Option<&str>) -> AppResult<Option<String>> {
    let Some(exchange) = exchange.map(|e| e.trim().to_uppercase()) else {
        return Ok(None);
    };
    let ok = (2..=16).contains(&exchange.len())
        && exchange
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if ok {
        Ok(Some(exchange))
    } else {
        Err(AppError::bad_input(
            field,
            "an exchange is 2 to 16 letters or digits, e.g. SSE, SZSE, HKEX",
        ))
    }
}

fn validate_date(field: &str, date: NaiveDate, latest: NaiveDate) -> AppResult<NaiveDate> {
    // The earliest date the registry accepts for any fact or event (the API refuses earlier
    // dates already; this keeps the service's own callers to the same rule).
    if date < dates::FIRST_DAY {
        return Err(AppError::bad_input(
            field,
            format!("the date is before {}", dates::FIRST_DAY),
        ));
    }
    if date > latest {
        return Err(AppError::bad_input(
            field,
            format!("the date is after {latest}: record events when they have taken effect"),
        ));
    }
    Ok(date)
}

fn money_error(field: &str, err: MoneyError) -> AppError {
    let message = match err {
        MoneyError::TooManyDecimals(_) => "an amount has at most 2 decimal places".to_string(),
        MoneyError::Negative(_) => "the amount cannot be negative".to_string(),
        other => other.to_string(),
    };
    AppError::bad_input(field, message)
}

fn validate_money(field: &str, value: &Decimal) -> AppResult<Money> {
    Money::parse_non_negative(value).map_err(|e| money_error(field, e))
}

fn validate_note(note: Option<String>) -> AppResult<Option<String>> {
    let note = note.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
    if note.as_ref().is_some_and(|n| n.chars().count() > 2000) {
        return Err(AppError::bad_input(
            "note",
            "the note is longer than 2000 characters",
        ));
    }
    Ok(note)
}

/// Validates each named change on its own and normalises it.
fn validate_changes(input: ChangesInput, known: &HashSet<String>) -> AppResult<FactChanges> {
    let f = |fact: Fact| fact.change_field();
    let latest = today();
    Ok(FactChanges {
        name: input
            .name
            .map(|n| validate_name(&f(Fact::Name), &n))
            .transpose()?,
        district_code: input
            .district_code
            .map(|d| validate_district(&f(Fact::DistrictCode), d.as_deref(), known))
            .transpose()?,
        hangzhou_since: input
            .hangzhou_since
            .map(|d| {
                d.map(|d| validate_date(&f(Fact::HangzhouSince), d, latest))
                    .transpose()
            })
            .transpose()?,
        industry_code: input
            .industry_code
            .map(|c| validate_industry(&f(Fact::IndustryCode), &c))
            .transpose()?,
        ownership: input
            .ownership
            .map(|o| validate_ownership(&f(Fact::Ownership), &o))
            .transpose()?,
        industrial_guidance: input.industrial_guidance,
        independent_legal_person: input.independent_legal_person,
        deemed_legal_person: input.deemed_legal_person,
        operating: input.operating,
        unified_accounting: input.unified_accounting,
        rd_facilities: input.rd_facilities,
        rd_stable_funding: input.rd_stable_funding,
        outside_units: input
            .outside_units
            .map(|u| validate_outside_units(&f(Fact::OutsideUnits), u))
            .transpose()?,
        listing_exchange: input
            .listing_exchange
            .map(|e| validate_exchange(&f(Fact::ListingExchange), e.as_deref()))
            .transpose()?,
        listed_entity_in_hangzhou: input.listed_entity_in_hangzhou,
        dishonest: input.dishonest,
        owns_office: input.owns_office,
        registered_capital: input
            .registered_capital
            .map(|c| {
                c.map(|c| validate_money(&f(Fact::RegisteredCapital), &c))
                    .transpose()
            })
            .transpose()?,
    })
}

// ---------------------------------------------------------------------------------------------
// Writes
// ---------------------------------------------------------------------------------------------

async fn known_districts<C: ConnectionTrait>(conn: &C) -> AppResult<HashSet<String>> {
    Ok(districts::Entity::find()
        .all(conn)
        .await?
        .into_iter()
        .map(|d| d.code)
        .collect())
}

/// The enterprise with `code`, locked for the rest of the transaction (PostgreSQL `FOR UPDATE`;
/// SQLite holds the database write lock already).
async fn lock_enterprise<C: ConnectionTrait>(
    conn: &C,
    code: &CreditCode,
) -> AppResult<enterprises::Model> {
    enterprises::Entity::find()
        .filter(enterprises::Column::CreditCode.eq(code.as_str()))
        .lock_exclusive()
        .one(conn)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no enterprise with credit code {code}")))
}

/// Registers an enterprise with its initial facts (one transaction, audited).
///
/// # Errors
/// `BAD_USER_INPUT` naming the field for invalid input (nothing is written), `CONFLICT` when the
/// credit code is already registered, database errors.
pub async fn register(
    db: &DatabaseConnection,
    actor: &Actor,
    input: RegisterInput,
) -> AppResult<Registered> {
    let txn = begin_write(db).await?;
    let registered = register_in(&txn, actor, input).await?;
    txn.commit().await?;
    Ok(registered)
}

/// [`register`] inside the caller's transaction (used by the demo data loader).
///
/// # Errors
/// As [`register`].
pub async fn register_in<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    input: RegisterInput,
) -> AppResult<Registered> {
    let code = parse_credit_code("creditCode", &input.credit_code)?;
    let latest = today();
    let known = known_districts(conn).await?;
    let name = validate_name("name", &input.name)?;
    let district_code = validate_district("districtCode", input.district_code.as_deref(), &known)?;
    let hangzhou_since = input
        .hangzhou_since
        .map(|d| validate_date("hangzhouSince", d, latest))
        .transpose()?;
    let effective = match (input.registered_on, hangzhou_since) {
        (Some(on), _) => validate_date("registeredOn", on, latest)?,
        (None, Some(since)) => since,
        (None, None) => {
            return Err(AppError::bad_input(
                "registeredOn",
                "give registeredOn (or hangzhouSince): the day the initial facts take effect",
            ));
        }
    };
    let hangzhou_since = match (&district_code, hangzhou_since) {
        (Some(_), None) => Some(effective),
        (Some(_), Some(since)) if since > effective => {
            return Err(AppError::bad_input(
                "hangzhouSince",
                format!("hangzhouSince {since} is after registeredOn {effective}"),
            ));
        }
        (None, Some(_)) => {
            return Err(AppError::bad_input(
                "hangzhouSince",
                "an enterprise outside Hangzhou (no districtCode) has no hangzhouSince",
            ));
        }
        (_, since) => since,
    };
    let listing_exchange = validate_exchange("listingExchange", input.listing_exchange.as_deref())?;
    if input.listed_entity_in_hangzhou && listing_exchange.is_none() {
        return Err(AppError::bad_input(
            "listedEntityInHangzhou",
            "listedEntityInHangzhou needs a listing exchange",
        ));
    }
    let facts = Facts {
        name,
        district_code,
        hangzhou_since,
        industry_code: validate_industry("industryCode", &input.industry_code)?,
        ownership: validate_ownership("ownership", &input.ownership)?,
        industrial_guidance: input.industrial_guidance,
        independent_legal_person: input.independent_legal_person,
        deemed_legal_person: input.deemed_legal_person,
        operating: input.operating,
        unified_accounting: input.unified_accounting,
        rd_facilities: input.rd_facilities,
        rd_stable_funding: input.rd_stable_funding,
        outside_units: validate_outside_units("outsideUnits", input.outside_units)?,
        listing_exchange,
        listed_entity_in_hangzhou: input.listed_entity_in_hangzhou,
        dishonest: input.dishonest,
        owns_office: input.owns_office,
        registered_capital: input
            .registered_capital
            .map(|c| validate_money("registeredCapital", &c))
            .transpose()?,
    };
    let note = validate_note(input.note)?;
    let changes = FactChanges::all_of(&facts);
    let periods = fold(&[FoldEvent {
        kind: EventKind::Registered,
        effective_date: effective,
        changes: changes.clone(),
    }])
    .map_err(|e| AppError::bad_input(e.field.trim_start_matches("changes."), e.message))?;

    let now = Utc::now();
    let enterprise = enterprises::ActiveModel {
        id: NotSet,
        credit_code: Set(code.as_str().to_string()),
        created_at: Set(now),
        created_by: Set(actor.sub.clone()),
    }
    .insert(conn)
    .await?;
    let event = insert_event(
        conn,
        actor,
        enterprise.id,
        EventKind::Registered,
        effective,
        &changes,
        note,
    )
    .await?;
    write_periods(conn, enterprise.id, &periods).await?;
    audit::record(
        conn,
        actor,
        AuditEntry {
            operation: "registerEnterprise",
            target_type: "enterprise",
            target_id: Some(code.as_str().to_string()),
            before: None,
            after: Some(json!({
                "eventId": event.id,
                "effectiveDate": effective,
                "facts": facts_json(&facts),
            })),
        },
    )
    .await?;
    Ok(Registered {
        enterprise,
        warnings: code.organization_code_warning().into_iter().collect(),
    })
}

async fn insert_event<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    enterprise_id: i64,
    kind: EventKind,
    effective_date: NaiveDate,
    changes: &FactChanges,
    note: Option<String>,
) -> AppResult<enterprise_events::Model> {
    Ok(enterprise_events::ActiveModel {
        id: NotSet,
        enterprise_id: Set(enterprise_id),
        kind: Set(kind.as_str().to_string()),
        effective_date: Set(effective_date),
        changes: Set(changes_json(changes).to_string()),
        note: Set(note),
        recorded_at: Set(Utc::now()),
        recorded_by: Set(actor.sub.clone()),
    }
    .insert(conn)
    .await?)
}

/// Replaces the enterprise's derived fact rows by `periods`.
async fn write_periods<C: ConnectionTrait>(
    conn: &C,
    enterprise_id: i64,
    periods: &[Period],
) -> AppResult<()> {
    enterprise_facts::Entity::delete_many()
        .filter(enterprise_facts::Column::EnterpriseId.eq(enterprise_id))
        .exec(conn)
        .await?;
    let rows: Vec<enterprise_facts::ActiveModel> = periods
        .iter()
        .map(|p| {
            let f = &p.facts;
            enterprise_facts::ActiveModel {
                id: NotSet,
                enterprise_id: Set(enterprise_id),
                valid_from: Set(p.valid_from),
                valid_to: Set(p.valid_to),
                name: Set(f.name.clone()),
                district_code: Set(f.district_code.clone()),
                hangzhou_since: Set(f.hangzhou_since),
                industry_code: Set(f.industry_code.clone()),
                ownership: Set(f.ownership.clone()),
                industrial_guidance: Set(f.industrial_guidance),
                independent_legal_person: Set(f.independent_legal_person),
                deemed_legal_person: Set(f.deemed_legal_person),
                operating: Set(f.operating),
                unified_accounting: Set(f.unified_accounting),
                rd_facilities: Set(f.rd_facilities),
                rd_stable_funding: Set(f.rd_stable_funding),
                outside_units: Set(f.outside_units),
                listing_exchange: Set(f.listing_exchange.clone()),
                listed_entity_in_hangzhou: Set(f.listed_entity_in_hangzhou),
                dishonest: Set(f.dishonest),
                owns_office: Set(f.owns_office),
                registered_capital_fen: Set(f.registered_capital.map(Money::fen)),
            }
        })
        .collect();
    if !rows.is_empty() {
        enterprise_facts::Entity::insert_many(rows)
            .exec(conn)
            .await?;
    }
    Ok(())
}

async fn stored_events<C: ConnectionTrait>(
    conn: &C,
    enterprise_id: i64,
) -> AppResult<Vec<enterprise_events::Model>> {
    Ok(enterprise_events::Entity::find()
        .filter(enterprise_events::Column::EnterpriseId.eq(enterprise_id))
        .order_by_asc(enterprise_events::Column::EffectiveDate)
        .order_by_asc(enterprise_events::Column::Id)
        .all(conn)
        .await?)
}

fn fold_event(row: &enterprise_events::Model) -> AppResult<FoldEvent> {
    let kind = EventKind::parse(&row.kind)
        .ok_or_else(|| AppError::internal(format!("unknown stored event kind {}", row.kind)))?;
    Ok(FoldEvent {
        kind,
        effective_date: row.effective_date,
        changes: parse_changes(&row.changes)?,
    })
}

/// Rebuilds the enterprise's fact rows from all of its events.
///
/// # Errors
/// Internal error if the stored history does not fold (a bug: writes are checked before they
/// are stored); database errors.
pub async fn rebuild_facts<C: ConnectionTrait>(conn: &C, enterprise_id: i64) -> AppResult<()> {
    let events = stored_events(conn, enterprise_id)
        .await?
        .iter()
        .map(fold_event)
        .collect::<AppResult<Vec<_>>>()?;
    let periods = fold(&events).map_err(|e| {
        AppError::internal(format!(
            "the stored history of enterprise {enterprise_id} does not fold: {e:?}"
        ))
    })?;
    write_periods(conn, enterprise_id, &periods).await
}

/// Records a §19 event and rebuilds the enterprise's facts (one transaction, audited with the
/// facts before and after on the effective date).
///
/// # Errors
/// `BAD_USER_INPUT` naming the field (`creditCode`, `kind`, `effectiveDate`, `changes.<fact>`),
/// `NOT_FOUND` for an unknown enterprise, database errors.
pub async fn record_event(
    db: &DatabaseConnection,
    actor: &Actor,
    input: EventInput,
) -> AppResult<Recorded> {
    let txn = begin_write(db).await?;
    let recorded = record_event_in(&txn, actor, input).await?;
    txn.commit().await?;
    Ok(recorded)
}

/// [`record_event`] inside the caller's transaction.
///
/// # Errors
/// As [`record_event`].
pub async fn record_event_in<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    input: EventInput,
) -> AppResult<Recorded> {
    let code = parse_credit_code("creditCode", &input.credit_code)?;
    let effective = validate_date("effectiveDate", input.effective_date, today())?;
    let note = validate_note(input.note)?;
    let known = known_districts(conn).await?;
    let changes = validate_changes(input.changes, &known)?;
    let changes = changes_for_kind(input.kind, effective, changes)
        .map_err(|e| AppError::bad_input(e.field, e.message))?;

    let enterprise = lock_enterprise(conn, &code).await?;
    let stored = stored_events(conn, enterprise.id).await?;
    let mut events = stored
        .iter()
        .map(fold_event)
        .collect::<AppResult<Vec<_>>>()?;
    let registered_on = events
        .first()
        .map(|e| e.effective_date)
        .ok_or_else(|| AppError::internal("an enterprise without a REGISTERED event"))?;
    if effective < registered_on {
        return Err(AppError::bad_input(
            "effectiveDate",
            format!("the enterprise's facts start on {registered_on}; an event cannot be earlier"),
        ));
    }
    let before_periods = fold(&events)
        .map_err(|e| AppError::internal(format!("stored history does not fold: {e:?}")))?;
    let before = period_on(&before_periods, effective).map(|p| p.facts.clone());

    // The new event gets the largest id: it goes after every stored event of its date.
    let position = events.partition_point(|e| e.effective_date <= effective);
    events.insert(
        position,
        FoldEvent {
            kind: input.kind,
            effective_date: effective,
            changes: changes.clone(),
        },
    );
    let periods = fold(&events).map_err(|e| {
        if e.index == position {
            AppError::bad_input(e.field, e.message)
        } else {
            let later = &events[e.index];
            AppError::bad_input(
                "effectiveDate",
                format!(
                    "on {effective} this event contradicts the later {} event of {}: {}",
                    later.kind.as_str(),
                    later.effective_date,
                    e.message
                ),
            )
        }
    })?;
    let after = period_on(&periods, effective).map(|p| p.facts.clone());

    let event = insert_event(
        conn,
        actor,
        enterprise.id,
        input.kind,
        effective,
        &changes,
        note.clone(),
    )
    .await?;
    write_periods(conn, enterprise.id, &periods).await?;
    audit::record(
        conn,
        actor,
        AuditEntry {
            operation: "recordEnterpriseEvent",
            target_type: "enterprise",
            target_id: Some(code.as_str().to_string()),
            before: Some(json!({
                "effectiveDate": effective,
                "facts": before.as_ref().map(facts_json),
            })),
            after: Some(json!({
                "eventId": event.id,
                "kind": input.kind.as_str(),
                "effectiveDate": effective,
                "changes": changes_json(&changes),
                "note": note,
                "facts": after.as_ref().map(facts_json),
            })),
        },
    )
    .await?;
    Ok(Recorded { enterprise, event })
}

/// Records (or replaces) an enterprise's figures for `year`, in yuan with at most 2 decimals
/// (one transaction, audited with the figures before and after).
///
/// # Errors
/// `BAD_USER_INPUT` naming `creditCode`, `year`, `revenue` or `rdSpend` (more than 2 decimals,
/// negative, out of range), `NOT_FOUND` for an unknown enterprise, database errors.
pub async fn record_figures(
    db: &DatabaseConnection,
    actor: &Actor,
    credit_code: &str,
    year: i32,
    revenue: Decimal,
    rd_spend: Decimal,
) -> AppResult<FiguresRecorded> {
    let txn = begin_write(db).await?;
    let figures = record_figures_in(&txn, actor, credit_code, year, revenue, rd_spend).await?;
    txn.commit().await?;
    Ok(figures)
}

/// [`record_figures`] inside the caller's transaction.
///
/// # Errors
/// As [`record_figures`].
pub async fn record_figures_in<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    credit_code: &str,
    year: i32,
    revenue: Decimal,
    rd_spend: Decimal,
) -> AppResult<FiguresRecorded> {
    let code = parse_credit_code("creditCode", credit_code)?;
    let current_year = today().year();
    if !(FIRST_FIGURES_YEAR..=current_year).contains(&year) {
        return Err(AppError::bad_input(
            "year",
            format!("figures are recorded for {FIRST_FIGURES_YEAR} to {current_year}"),
        ));
    }
    let revenue = validate_money("revenue", &revenue)?;
    let rd_spend = validate_money("rdSpend", &rd_spend)?;
    let enterprise = lock_enterprise(conn, &code).await?;
    // The §20 period lock (PERIOD_LOCKED for an approved fiscal year) belongs here once
    // settlements exist.
    let existing = enterprise_figures::Entity::find()
        .filter(enterprise_figures::Column::EnterpriseId.eq(enterprise.id))
        .filter(enterprise_figures::Column::Year.eq(year))
        .one(conn)
        .await?;
    let summary = |revenue_fen: i64, rd_fen: i64| {
        json!({
            "year": year,
            "revenue": Money::from_fen(revenue_fen),
            "rdSpend": Money::from_fen(rd_fen),
        })
    };
    let before = existing
        .as_ref()
        .map(|row| summary(row.revenue_fen, row.rd_spend_fen));
    let now = Utc::now();
    let row = match existing {
        Some(row) => {
            let mut active: enterprise_figures::ActiveModel = row.into();
            active.revenue_fen = Set(revenue.fen());
            active.rd_spend_fen = Set(rd_spend.fen());
            active.recorded_at = Set(now);
            active.recorded_by = Set(actor.sub.clone());
            active.update(conn).await?
        }
        None => {
            enterprise_figures::ActiveModel {
                id: NotSet,
                enterprise_id: Set(enterprise.id),
                year: Set(year),
                revenue_fen: Set(revenue.fen()),
                rd_spend_fen: Set(rd_spend.fen()),
                recorded_at: Set(now),
                recorded_by: Set(actor.sub.clone()),
            }
            .insert(conn)
            .await?
        }
    };
    audit::record(
        conn,
        actor,
        AuditEntry {
            operation: "recordFigures",
            target_type: "enterprise_figures",
            target_id: Some(format!("{code}/{year}")),
            before,
            after: Some(summary(row.revenue_fen, row.rd_spend_fen)),
        },
    )
    .await?;
    Ok(FiguresRecorded {
        enterprise,
        figures: row,
    })
}

// ---------------------------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------------------------

/// The enterprise with `credit_code`, if registered.
///
/// # Errors
/// `BAD_USER_INPUT` (field `creditCode`) for a malformed code; database errors.
pub async fn find_by_credit_code<C: ConnectionTrait>(
    conn: &C,
    credit_code: &str,
) -> AppResult<Option<enterprises::Model>> {
    let code = parse_credit_code("creditCode", credit_code)?;
    Ok(enterprises::Entity::find()
        .filter(enterprises::Column::CreditCode.eq(code.as_str()))
        .one(conn)
        .await?)
}

fn valid_on(date: NaiveDate) -> Condition {
    Condition::all()
        .add(enterprise_facts::Column::ValidFrom.lte(date))
        .add(
            Condition::any()
                .add(enterprise_facts::Column::ValidTo.is_null())
                .add(enterprise_facts::Column::ValidTo.gte(date)),
        )
}

/// The facts of one enterprise on `date` (`None` before its registration).
///
/// # Errors
/// Database errors.
pub async fn facts_as_of<C: ConnectionTrait>(
    conn: &C,
    enterprise_id: i64,
    date: NaiveDate,
) -> AppResult<Option<enterprise_facts::Model>> {
    Ok(enterprise_facts::Entity::find()
        .filter(enterprise_facts::Column::EnterpriseId.eq(enterprise_id))
        .filter(valid_on(date))
        .one(conn)
        .await?)
}

/// The facts of several enterprises on `date`, by enterprise id (absent before registration).
///
/// # Errors
/// Database errors.
pub async fn facts_as_of_many<C: ConnectionTrait>(
    conn: &C,
    enterprise_ids: &[i64],
    date: NaiveDate,
) -> AppResult<HashMap<i64, enterprise_facts::Model>> {
    let mut result = HashMap::new();
    for chunk in enterprise_ids.chunks(500) {
        let rows = enterprise_facts::Entity::find()
            .filter(enterprise_facts::Column::EnterpriseId.is_in(chunk.iter().copied()))
            .filter(valid_on(date))
            .all(conn)
            .await?;
        result.extend(rows.into_iter().map(|r| (r.enterprise_id, r)));
    }
    Ok(result)
}

/// The yearly figures of several enterprises, by enterprise id, in year order.
///
/// # Errors
/// Database errors.
pub async fn figures_of_many<C: ConnectionTrait>(
    conn: &C,
    enterprise_ids: &[i64],
) -> AppResult<HashMap<i64, Vec<enterprise_figures::Model>>> {
    let mut result: HashMap<i64, Vec<enterprise_figures::Model>> = HashMap::new();
    for chunk in enterprise_ids.chunks(500) {
        let rows = enterprise_figures::Entity::find()
            .filter(enterprise_figures::Column::EnterpriseId.is_in(chunk.iter().copied()))
            .order_by_asc(enterprise_figures::Column::Year)
            .all(conn)
            .await?;
        for row in rows {
            result.entry(row.enterprise_id).or_default().push(row);
        }
    }
    Ok(result)
}

/// The figures of one enterprise, in year order (one year if `year` is given).
///
/// # Errors
/// Database errors.
pub async fn figures_of<C: ConnectionTrait>(
    conn: &C,
    enterprise_id: i64,
    year: Option<i32>,
) -> AppResult<Vec<enterprise_figures::Model>> {
    let mut query = enterprise_figures::Entity::find()
        .filter(enterprise_figures::Column::EnterpriseId.eq(enterprise_id));
    if let Some(year) = year {
        query = query.filter(enterprise_figures::Column::Year.eq(year));
    }
    Ok(query
        .order_by_asc(enterprise_figures::Column::Year)
        .all(conn)
        .await?)
}

/// The events of several enterprises, by enterprise id, in (effective date, id) order.
///
/// # Errors
/// Database errors.
pub async fn events_of_many<C: ConnectionTrait>(
    conn: &C,
    enterprise_ids: &[i64],
) -> AppResult<HashMap<i64, Vec<enterprise_events::Model>>> {
    let mut result: HashMap<i64, Vec<enterprise_events::Model>> = HashMap::new();
    for chunk in enterprise_ids.chunks(500) {
        let rows = enterprise_events::Entity::find()
            .filter(enterprise_events::Column::EnterpriseId.is_in(chunk.iter().copied()))
            .order_by_asc(enterprise_events::Column::EffectiveDate)
            .order_by_asc(enterprise_events::Column::Id)
            .all(conn)
            .await?;
        for row in rows {
            result.entry(row.enterprise_id).or_default().push(row);
        }
    }
    Ok(result)
}

/// The events of one enterprise, in (effective date, id) order.
///
/// # Errors
/// Database errors.
pub async fn events_of<C: ConnectionTrait>(
    conn: &C,
    enterprise_id: i64,
) -> AppResult<Vec<enterprise_events::Model>> {
    stored_events(conn, enterprise_id).await
}

/// Filters of the registry list; all optional except the date, combined with AND.
#[derive(Debug, Clone)]
pub struct ListFilter {
    /// The day the facts filters (district, industry, name) are read on.
    pub as_of: NaiveDate,
    /// Registered in this district on `as_of`.
    pub district_code: Option<String>,
    /// Industry class starting with these digits (1 to 4).
    pub industry_prefix: Option<String>,
    /// Name on `as_of` containing this text.
    pub name_contains: Option<String>,
    /// Recognised for this year.
    pub recognized_in: Option<i32>,
    /// Recognised through this route (`STANDARD`, `RD`, `LISTED`), in `recognized_in` if given.
    pub route: Option<String>,
    /// Rated for this year.
    pub rated_in: Option<i32>,
    /// With this many stars, in `rated_in` if given.
    pub stars: Option<i32>,
}

impl ListFilter {
    /// No filter, as of `as_of`.
    pub fn on(as_of: NaiveDate) -> ListFilter {
        ListFilter {
            as_of,
            district_code: None,
            industry_prefix: None,
            name_contains: None,
            recognized_in: None,
            route: None,
            rated_in: None,
            stars: None,
        }
    }
}

/// The recognition routes a list can be filtered by.
pub const ROUTES: [&str; 3] = ["STANDARD", "RD", "LISTED"];

/// Orders of the registry list; ties are broken by credit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ListOrder {
    /// By credit code.
    #[default]
    CreditCode,
    /// By name on the filter date.
    Name,
    /// By `hangzhou_since`, earliest first; enterprises outside Hangzhou last.
    HangzhouSince,
    /// Most recently registered in the service first.
    RecentlyRegistered,
}

fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// Checks the filter's fields.
///
/// # Errors
/// `BAD_USER_INPUT` naming `filter.<field>`.
pub fn validate_filter(filter: &mut ListFilter) -> AppResult<()> {
    if let Some(code) = &filter.district_code {
        let code = code.trim();
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AppError::bad_input(
                "filter.districtCode",
                "a district code is 6 digits (GB/T 2260)",
            ));
        }
        filter.district_code = Some(code.to_string());
    }
    if let Some(prefix) = &filter.industry_prefix {
        let prefix = prefix.trim();
        if !(1..=4).contains(&prefix.len()) || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AppError::bad_input(
                "filter.industryPrefix",
                "an industry prefix is 1 to 4 digits of a GB/T 4754-2017 class",
            ));
        }
        filter.industry_prefix = Some(prefix.to_string());
    }
    if let Some(text) = &filter.name_contains {
        let text = text.trim();
        if text.chars().count() > MAX_NAME_CHARS {
            return Err(AppError::bad_input(
                "filter.nameContains",
                "the text is too long",
            ));
        }
        filter.name_contains = (!text.is_empty()).then(|| text.to_string());
    }
    if let Some(route) = &filter.route
        && !ROUTES.contains(&route.as_str())
    {
        return Err(AppError::bad_input(
            "filter.route",
            "a route is STANDARD, RD or LISTED",
        ));
    }
    if let Some(stars) = filter.stars
        && !(1..=5).contains(&stars)
    {
        return Err(AppError::bad_input(
            "filter.stars",
            "a rating is 1 to 5 stars",
        ));
    }
    Ok(())
}

fn list_query(filter: &ListFilter) -> Select<enterprises::Entity> {
    let mut query = enterprises::Entity::find()
        .inner_join(enterprise_facts::Entity)
        .filter(valid_on(filter.as_of));
    if let Some(district) = &filter.district_code {
        query = query.filter(enterprise_facts::Column::DistrictCode.eq(district.clone()));
    }
    if let Some(prefix) = &filter.industry_prefix {
        query = query.filter(enterprise_facts::Column::IndustryCode.starts_with(prefix.clone()));
    }
    if let Some(text) = &filter.name_contains {
        let pattern = format!("%{}%", escape_like(text));
        query =
            query.filter(enterprise_facts::Column::Name.like(LikeExpr::new(pattern).escape('\\')));
    }
    if filter.recognized_in.is_some() || filter.route.is_some() {
        let mut sub = Query::select();
        sub.column(recognitions::Column::EnterpriseId)
            .from(recognitions::Entity);
        if let Some(year) = filter.recognized_in {
            sub.and_where(recognitions::Column::Year.eq(year));
        }
        if let Some(route) = &filter.route {
            sub.and_where(recognitions::Column::Route.eq(route.clone()));
        }
        query = query.filter(enterprises::Column::Id.in_subquery(sub));
    }
    if filter.rated_in.is_some() || filter.stars.is_some() {
        let mut sub = Query::select();
        sub.column(star_ratings::Column::EnterpriseId)
            .from(star_ratings::Entity);
        if let Some(year) = filter.rated_in {
            sub.and_where(star_ratings::Column::Year.eq(year));
        }
        if let Some(stars) = filter.stars {
            sub.and_where(star_ratings::Column::Stars.eq(stars));
        }
        query = query.filter(enterprises::Column::Id.in_subquery(sub));
    }
    query
}

/// How many enterprises match `filter`.
///
/// # Errors
/// Database errors.
pub async fn count<C: ConnectionTrait>(conn: &C, filter: &ListFilter) -> AppResult<u64> {
    Ok(list_query(filter).count(conn).await?)
}

/// The enterprises matching `filter` in `order`, `limit` of them from `offset`.
///
/// # Errors
/// Database errors.
pub async fn list<C: ConnectionTrait>(
    conn: &C,
    filter: &ListFilter,
    order: ListOrder,
    offset: u64,
    limit: u64,
) -> AppResult<Vec<enterprises::Model>> {
    let query = list_query(filter);
    let query = match order {
        ListOrder::CreditCode => query,
        ListOrder::Name => query.order_by_asc(enterprise_facts::Column::Name),
        ListOrder::HangzhouSince => query
            .order_by(
                enterprise_facts::Column::HangzhouSince.is_null(),
                Order::Asc,
            )
            .order_by_asc(enterprise_facts::Column::HangzhouSince),
        ListOrder::RecentlyRegistered => query.order_by_desc(enterprises::Column::Id),
    };
    Ok(query
        .order_by_asc(enterprises::Column::CreditCode)
        .offset(offset)
        .limit(limit)
        .all(conn)
        .await?)
}

/// The enterprises with these ids, by id.
///
/// # Errors
/// Database errors.
pub async fn by_ids<C: ConnectionTrait>(
    conn: &C,
    ids: &[i64],
) -> AppResult<HashMap<i64, enterprises::Model>> {
    let mut result = HashMap::new();
    for chunk in ids.chunks(500) {
        let rows = enterprises::Entity::find()
            .filter(enterprises::Column::Id.is_in(chunk.iter().copied()))
            .all(conn)
            .await?;
        result.extend(rows.into_iter().map(|r| (r.id, r)));
    }
    Ok(result)
}

/// Groups `(key, date)` pairs by date, for loaders that read facts on several dates at once.
pub fn group_by_date(keys: &[(i64, NaiveDate)]) -> BTreeMap<NaiveDate, Vec<i64>> {
    let mut groups: BTreeMap<NaiveDate, Vec<i64>> = BTreeMap::new();
    for (id, date) in keys {
        groups.entry(*date).or_default().push(*id);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_in_a_name_filter_are_escaped() {
        assert_eq!(escape_like("100%_a\\b"), "100\\%\\_a\\\\b");
    }
}
