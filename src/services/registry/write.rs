//! Writes to the registry: registering an enterprise, recording an event or a year's figures, and
//! rebuilding the enterprise's fact periods from all of its events. Every write runs in one write
//! transaction and is audited in it.

use std::collections::HashSet;

use chrono::{Datelike, NaiveDate, Utc};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde_json::json;

use super::validate::{
    parse_credit_code, parse_money, validate_changes, validate_date, validate_note,
};
use super::{
    EventInput, EventKind, FIRST_FIGURES_YEAR, Fact, FactChanges, Facts, FiguresRecorded,
    FoldEvent, Period, Recorded, RegisterInput, Registered, changes_json, facts_json, fold,
    parse_changes, today,
};
use crate::auth::Actor;
use crate::error::{AppError, AppResult};
use crate::policy::registry::{changes_for_kind, period_on};
use crate::policy::{CreditCode, Money};
use crate::services::audit::{self, AuditEntry};
use crate::services::tx::begin_write;
use entity::{districts, enterprise_events, enterprise_facts, enterprise_figures, enterprises};

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
#[tracing::instrument(name = "registry.register", skip_all, fields(role = %actor.role, credit_code = %input.credit_code))]
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
    let given = validate_changes(FactChanges::all_of(&input.facts), &known, |fact| {
        fact.as_str().to_owned()
    })?
    .complete()
    .ok_or_else(|| AppError::internal("a validated registration lost a fact"))?;
    let effective = match (input.registered_on, given.hangzhou_since) {
        (Some(on), _) => validate_date("registeredOn", on, latest)?,
        (None, Some(since)) => since,
        (None, None) => {
            return Err(AppError::bad_input(
                "registeredOn",
                "give registeredOn (or hangzhouSince): the day the initial facts take effect",
            ));
        }
    };
    let hangzhou_since = match (&given.district_code, given.hangzhou_since) {
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
    if given.listed_entity_in_hangzhou && given.listing_exchange.is_none() {
        return Err(AppError::bad_input(
            "listedEntityInHangzhou",
            "listedEntityInHangzhou needs a listing exchange",
        ));
    }
    let facts = Facts {
        hangzhou_since,
        ..given
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
    let rows = periods
        .iter()
        .map(|p| {
            let f = &p.facts;
            Ok(enterprise_facts::ActiveModel {
                id: NotSet,
                enterprise_id: Set(enterprise_id),
                valid_from: Set(p.valid_from),
                valid_to: Set(p.valid_to),
                name: Set(f.name.clone()),
                district_code: Set(f.district_code.clone()),
                hangzhou_since: Set(f.hangzhou_since),
                industry_code: Set(f.industry_code.clone()),
                ownership: Set(f.ownership.as_str().to_owned()),
                industrial_guidance: Set(f.industrial_guidance),
                independent_legal_person: Set(f.independent_legal_person),
                deemed_legal_person: Set(f.deemed_legal_person),
                operating: Set(f.operating),
                unified_accounting: Set(f.unified_accounting),
                rd_facilities: Set(f.rd_facilities),
                rd_stable_funding: Set(f.rd_stable_funding),
                outside_units: Set(i32::try_from(f.outside_units).map_err(|_| {
                    AppError::internal(format!(
                        "{} outside units do not fit a column",
                        f.outside_units
                    ))
                })?),
                listing_exchange: Set(f.listing_exchange.clone()),
                listed_entity_in_hangzhou: Set(f.listed_entity_in_hangzhou),
                dishonest: Set(f.dishonest),
                owns_office: Set(f.owns_office),
                registered_capital_fen: Set(f.registered_capital.map(Money::fen)),
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    if !rows.is_empty() {
        enterprise_facts::Entity::insert_many(rows)
            .exec(conn)
            .await?;
    }
    Ok(())
}

pub(super) async fn stored_events<C: ConnectionTrait>(
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
    let kind: EventKind = row.kind.parse().map_err(AppError::internal)?;
    Ok(FoldEvent {
        kind,
        effective_date: row.effective_date,
        changes: parse_changes(&row.changes)?,
    })
}

/// Records a §19 event and rebuilds the enterprise's facts (one transaction, audited with the
/// facts before and after on the effective date).
///
/// # Errors
/// `BAD_USER_INPUT` naming the field (`creditCode`, `kind`, `effectiveDate`, `changes.<fact>`),
/// `NOT_FOUND` for an unknown enterprise, database errors.
#[tracing::instrument(name = "registry.record_event", skip_all, fields(role = %actor.role, credit_code = %input.credit_code))]
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
    let changes = validate_changes(input.changes, &known, Fact::change_field)?;
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
#[tracing::instrument(name = "registry.record_figures", skip_all, fields(role = %actor.role, credit_code = %credit_code, year))]
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
    let revenue = parse_money("revenue", &revenue)?;
    let rd_spend = parse_money("rdSpend", &rd_spend)?;
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
