//! Validation of client input: every field a registration, an event or figures carry is checked
//! (and normalised) here before anything is written.

use std::collections::HashSet;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::{Fact, FactChanges, MAX_NAME_CHARS, today};
use crate::error::{AppError, AppResult};
use crate::policy::{CreditCode, Money, MoneyError, dates};

/// A credit code as typed, checked and normalised; `BAD_USER_INPUT` on `field` otherwise.
///
/// # Errors
/// `BAD_USER_INPUT` for a malformed code.
pub fn parse_credit_code(field: &str, text: &str) -> AppResult<CreditCode> {
    CreditCode::parse(text).map_err(|e| AppError::bad_input(field, e.to_string()))
}

pub(super) fn validate_name(field: &str, name: &str) -> AppResult<String> {
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

pub(super) fn validate_district(
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

pub(super) fn validate_industry(field: &str, code: &str) -> AppResult<String> {
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

/// The number of outside units as the API gives it (a GraphQL `Int`).
///
/// # Errors
/// `BAD_USER_INPUT` on `field` for a negative number.
pub fn parse_outside_units(field: &str, units: i32) -> AppResult<u32> {
    u32::try_from(units)
        .map_err(|_| AppError::bad_input(field, "the number of outside units cannot be negative"))
}

pub(super) fn validate_exchange(field: &str, exchange: Option<&str>) -> AppResult<Option<String>> {
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

pub(super) fn validate_date(
    field: &str,
    date: NaiveDate,
    latest: NaiveDate,
) -> AppResult<NaiveDate> {
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

/// An amount in yuan that cannot be negative, as the API gives it.
///
/// # Errors
/// `BAD_USER_INPUT` on `field` for more than 2 decimals, a negative or an out-of-range amount.
pub fn parse_money(field: &str, value: &Decimal) -> AppResult<Money> {
    Money::parse_non_negative(value).map_err(|e| money_error(field, e))
}

pub(super) fn validate_note(note: Option<String>) -> AppResult<Option<String>> {
    let note = note.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
    if note.as_ref().is_some_and(|n| n.chars().count() > 2000) {
        return Err(AppError::bad_input(
            "note",
            "the note is longer than 2000 characters",
        ));
    }
    Ok(note)
}

/// Validates each named change on its own and normalises it; `field` names a fact's input field
/// in errors (`changes.districtCode` for an event, `districtCode` for a registration).
pub(super) fn validate_changes(
    input: FactChanges,
    known: &HashSet<String>,
    field: fn(Fact) -> String,
) -> AppResult<FactChanges> {
    let latest = today();
    Ok(FactChanges {
        name: input
            .name
            .map(|n| validate_name(&field(Fact::Name), &n))
            .transpose()?,
        district_code: input
            .district_code
            .map(|d| validate_district(&field(Fact::DistrictCode), d.as_deref(), known))
            .transpose()?,
        hangzhou_since: input
            .hangzhou_since
            .map(|d| {
                d.map(|d| validate_date(&field(Fact::HangzhouSince), d, latest))
                    .transpose()
            })
            .transpose()?,
        industry_code: input
            .industry_code
            .map(|c| validate_industry(&field(Fact::IndustryCode), &c))
            .transpose()?,
        listing_exchange: input
            .listing_exchange
            .map(|e| validate_exchange(&field(Fact::ListingExchange), e.as_deref()))
            .transpose()?,
        // The other facts are typed values the API has already parsed (flags, the ownership
        // kind, a count and an amount): every value of their types is valid.
        ..input
    })
}
