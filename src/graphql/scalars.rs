//! The API's own `Decimal`, `Date` and `DateTime` scalars, in place of async-graphql's.
//!
//! async-graphql's scalars are lenient: its `Decimal` takes JSON numbers through `f64` and reads
//! `"1_0.00"` or `"+1.00"`, its `NaiveDate` reads `"2024-1-1"` and any year. Ours accept exactly
//! one text form each (see [`crate::policy::money::exact_decimal`] and
//! [`crate::policy::dates::parse_iso_date`]) and check it in `is_valid`, so a malformed value fails
//! the request during validation — before any resolver runs, so nothing changes — and
//! [`explain_argument_error`] turns async-graphql's validation message into a `BAD_USER_INPUT`
//! naming the argument path (`lines[0].amount`), as the services name theirs. Outputs are strings.
//! `Date` and `DateTime` name the standard they follow with `@specifiedBy`.
//!
//! Whether a decimal is a valid *amount* (at most 2 places as written, within
//! [`Money::MAX_INPUT`], not negative where none can be) is checked where it becomes [`Money`],
//! by the field that knows it is money: the same scalar carries ratios with more places.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, ServerError, Value};

use crate::error::ErrorCode;
use crate::policy::dates::{self, DateError};
use crate::policy::money::{Money, exact_decimal};

/// What a client is told about a malformed `Decimal`.
const DECIMAL_HINT: &str = "send amounts as strings, e.g. \"1234.50\": digits, an optional \
     leading minus and an optional point with digits (no JSON number, exponent, \"+\", \"_\", \
     \".5\" or \"5.\")";

/// What a client is told about a malformed `Date`.
const DATE_HINT: &str = "send dates as strings written YYYY-MM-DD, a real day from 1900-01-01 \
     to 2099-12-31";

/// An exact decimal of the API (GraphQL `Decimal`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Decimal(pub rust_decimal::Decimal);

/// An exact decimal number. Send strings: a value is always a JSON string in the form
/// `-?[0-9]+(\.[0-9]+)?`, e.g. `"1234.50"`; a JSON number (which a client may have rounded
/// through a binary float), an exponent, `+`, `_`, `.5` or `5.` is refused. An amount of money is
/// in yuan (元) with at most 2 decimal places as written and at most 1,000,000,000,000.00 (10¹²)
/// in absolute value; no input amount can be negative today; outputs have exactly 2 places. A
/// ratio (e.g. a settlement rate) may have more places.
#[Scalar(name = "Decimal")]
impl ScalarType for Decimal {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => exact_decimal(text)
                .map(Decimal)
                .map_err(|_| InputValueError::custom(DECIMAL_HINT)),
            Value::Number(_) => Err(InputValueError::custom(DECIMAL_HINT)),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn is_valid(value: &Value) -> bool {
        matches!(value, Value::String(text) if exact_decimal(text).is_ok())
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_string())
    }
}

impl From<rust_decimal::Decimal> for Decimal {
    fn from(value: rust_decimal::Decimal) -> Self {
        Decimal(value)
    }
}

impl From<Decimal> for rust_decimal::Decimal {
    fn from(value: Decimal) -> Self {
        value.0
    }
}

impl From<Money> for Decimal {
    /// The amount in yuan with two places, e.g. `"2469.13"`.
    fn from(money: Money) -> Self {
        Decimal(money.to_decimal())
    }
}

/// A calendar day of the API (GraphQL `Date`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(pub chrono::NaiveDate);

/// A calendar day without a time zone (Hangzhou's calendar), always a string written exactly
/// `YYYY-MM-DD`, the ISO 8601 calendar date (e.g. `"2024-06-30"`), a real day
/// from 1900-01-01 to 2099-12-31.
#[Scalar(
    name = "Date",
    specified_by_url = "https://www.iso.org/iso-8601-date-and-time-format.html"
)]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => dates::parse_iso_date(text)
                .map(Date)
                .map_err(|err| InputValueError::custom(date_reason(&err))),
            _ => Err(InputValueError::custom(DATE_HINT)),
        }
    }

    fn is_valid(value: &Value) -> bool {
        matches!(value, Value::String(text) if dates::parse_iso_date(text).is_ok())
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

/// An instant of the API (GraphQL `DateTime`), in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DateTime(pub chrono::DateTime<chrono::Utc>);

/// An instant, a string in the RFC 3339 form `YYYY-MM-DDThh:mm:ss[.fraction]Z` or with a numeric
/// offset; the service writes UTC with a `+00:00` offset (e.g.
/// `"2024-06-30T08:15:00.123456+00:00"`). Every instant of the API is an output: when something
/// was recorded.
#[Scalar(
    name = "DateTime",
    specified_by_url = "https://www.rfc-editor.org/rfc/rfc3339"
)]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => chrono::DateTime::parse_from_rfc3339(text)
                .map(|at| DateTime(at.with_timezone(&chrono::Utc)))
                .map_err(|_| InputValueError::custom(DATE_TIME_HINT)),
            _ => Err(InputValueError::custom(DATE_TIME_HINT)),
        }
    }

    fn is_valid(value: &Value) -> bool {
        matches!(value, Value::String(text) if chrono::DateTime::parse_from_rfc3339(text).is_ok())
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_rfc3339())
    }
}

/// What a client is told about a malformed `DateTime`.
const DATE_TIME_HINT: &str = "send instants as RFC 3339 strings, e.g. \"2024-06-30T08:15:00Z\"";

impl From<chrono::DateTime<chrono::Utc>> for DateTime {
    fn from(at: chrono::DateTime<chrono::Utc>) -> Self {
        DateTime(at)
    }
}

fn date_reason(err: &DateError) -> String {
    format!("{err}; {DATE_HINT}")
}

impl From<chrono::NaiveDate> for Date {
    fn from(date: chrono::NaiveDate) -> Self {
        Date(date)
    }
}

impl From<Date> for chrono::NaiveDate {
    fn from(date: Date) -> Self {
        date.0
    }
}

/// Makes async-graphql's validation error on an argument value a typed, field-naming one.
///
/// The executor reports a value the schema refuses (a malformed scalar, an unknown enum value, a
/// missing input field) as `Invalid value for argument "lines.0.amount", expected type "Decimal"`,
/// without extensions. This sets `extensions.code` to `BAD_USER_INPUT` and `extensions.field` to
/// the path written as the services write theirs (`lines[0].amount`, `registeredOn` inside a
/// mutation's `input`), and for our scalars replaces the message with how to write the value.
/// Any other error is left as it is.
pub fn explain_argument_error(error: &mut ServerError) {
    let Some((path, reason)) = error
        .message
        .strip_prefix("Invalid value for argument \"")
        .and_then(|rest| rest.split_once("\", "))
    else {
        return;
    };
    let field = field_path(path);
    let message = match reason {
        r#"expected type "Decimal""# => format!("{field}: {DECIMAL_HINT}"),
        r#"expected type "Date""# => format!("{field}: {DATE_HINT}"),
        r#"expected type "DateTime""# => format!("{field}: {DATE_TIME_HINT}"),
        other => format!("{field}: {other}"),
    };
    let extensions = error.extensions.get_or_insert_with(Default::default);
    extensions.set("code", ErrorCode::BadUserInput.as_str());
    extensions.set("field", field.as_str());
    error.message = message;
}

/// `lines.0.amount` → `lines[0].amount`; `input.registeredOn` → `registeredOn`, as the services
/// name the fields of a mutation's single `input` object.
fn field_path(dotted: &str) -> String {
    let dotted = dotted.strip_prefix("input.").unwrap_or(dotted);
    let mut path = String::with_capacity(dotted.len() + 2);
    for segment in dotted.split('.') {
        if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
            path.push('[');
            path.push_str(segment);
            path.push(']');
        } else {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(segment);
        }
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(text: &str) -> Value {
        Value::String(text.to_string())
    }

    fn number(text: &str) -> Value {
        Value::Number(serde_json::from_str(text).expect("test number"))
    }

    #[test]
    fn a_decimal_is_only_a_plain_decimal_string() {
        for good in ["1234.50", "0", "-3", "0.125", "1000000000000.00"] {
            assert!(<Decimal as ScalarType>::is_valid(&string(good)), "{good}");
            assert_eq!(
                <Decimal as ScalarType>::parse(string(good))
                    .map(|d| d.0.to_string())
                    .ok(),
                Some(good.to_string())
            );
        }
        for bad in [
            string("1e2"),
            string("1_0.00"),
            string("+1.00"),
            string(".5"),
            string("5."),
            string(""),
            string(" 1.00"),
            number("12.5"),
            number("12"),
            Value::Boolean(true),
            Value::Null,
        ] {
            assert!(!<Decimal as ScalarType>::is_valid(&bad), "{bad}");
            assert!(
                <Decimal as ScalarType>::parse(bad.clone()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_date_is_only_yyyy_mm_dd_within_1900_to_2099() {
        for good in ["2024-06-30", "1900-01-01", "2099-12-31", "2024-02-29"] {
            assert!(<Date as ScalarType>::is_valid(&string(good)), "{good}");
        }
        for bad in [
            string("2024-1-1"),
            string("2024-02-30"),
            string("1899-12-31"),
            string("2100-01-01"),
            string("9999-12-31"),
            number("20240101"),
        ] {
            assert!(!<Date as ScalarType>::is_valid(&bad), "{bad}");
            assert!(<Date as ScalarType>::parse(bad.clone()).is_err(), "{bad}");
        }
    }

    #[test]
    fn outputs_are_the_strings_they_always_were() {
        assert_eq!(
            Decimal::from(Money::from_fen(246_913)).to_value(),
            string("2469.13")
        );
        let date = chrono::NaiveDate::from_ymd_opt(2024, 6, 1).expect("date");
        assert_eq!(Date(date).to_value(), string("2024-06-01"));
        let at = chrono::DateTime::parse_from_rfc3339("2024-06-30T08:15:00.5Z")
            .expect("instant")
            .with_timezone(&chrono::Utc);
        assert_eq!(
            DateTime(at).to_value(),
            string("2024-06-30T08:15:00.500+00:00")
        );
    }

    #[test]
    fn a_date_time_is_an_rfc_3339_string_read_as_utc() {
        let parsed = <DateTime as ScalarType>::parse(string("2024-06-30T16:15:00+08:00"))
            .expect("an offset is accepted");
        assert_eq!(parsed.0.to_rfc3339(), "2024-06-30T08:15:00+00:00");
        for bad in [
            string("2024-06-30"),
            string("2024-06-30 08:15:00"),
            string("2024-06-30T08:15:00"),
            number("1719735300"),
        ] {
            assert!(!<DateTime as ScalarType>::is_valid(&bad), "{bad}");
            assert!(
                <DateTime as ScalarType>::parse(bad.clone()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn date_and_date_time_name_their_standard_with_specified_by() {
        let schema = crate::graphql::schema(None, crate::graphql::SchemaLimits::default());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let response = runtime.block_on(schema.execute(
            "{ date: __type(name: \"Date\") { specifiedByURL } \
               dateTime: __type(name: \"DateTime\") { specifiedByURL } }",
        ));
        let data = response.data.into_json().expect("json");
        assert_eq!(
            data["date"]["specifiedByURL"],
            "https://www.iso.org/iso-8601-date-and-time-format.html"
        );
        assert_eq!(
            data["dateTime"]["specifiedByURL"],
            "https://www.rfc-editor.org/rfc/rfc3339"
        );
        let sdl = crate::graphql::sdl();
        assert!(!sdl.contains("NaiveDate"));
        assert!(!sdl.contains("Implement the"));
    }

    #[test]
    fn the_descriptions_state_the_bound_and_the_range() {
        let sdl = crate::graphql::sdl();
        assert!(
            sdl.contains(&Money::MAX_INPUT.format_yuan()),
            "the Decimal description names the bound"
        );
        assert!(sdl.contains(&format!("from {} to {}", dates::FIRST_DAY, dates::LAST_DAY)));
        assert!(DATE_HINT.contains(&format!("from {} to {}", dates::FIRST_DAY, dates::LAST_DAY)));
    }

    #[test]
    fn a_validation_error_on_an_argument_names_its_field() {
        let mut error = ServerError::new(
            r#"Invalid value for argument "lines.0.amount", expected type "Decimal""#,
            None,
        );
        explain_argument_error(&mut error);
        let ext = error.extensions.expect("extensions");
        assert_eq!(ext.get("field"), Some(&string("lines[0].amount")));
        assert_eq!(ext.get("code"), Some(&string("BAD_USER_INPUT")));
        assert!(
            error
                .message
                .starts_with("lines[0].amount: send amounts as strings")
        );

        let mut other = ServerError::new(
            r#"Invalid value for argument "revokedOn", expected type "Date""#,
            None,
        );
        explain_argument_error(&mut other);
        assert!(
            other
                .message
                .starts_with("revokedOn: send dates as strings")
        );

        let mut unrelated = ServerError::new("Unknown field \"x\"", None);
        explain_argument_error(&mut unrelated);
        assert!(unrelated.extensions.is_none());
    }

    #[test]
    fn argument_paths_are_written_with_indexes_in_brackets() {
        assert_eq!(field_path("lines.12.basis"), "lines[12].basis");
        assert_eq!(field_path("input.registeredOn"), "registeredOn");
        assert_eq!(
            field_path("input.changes.hangzhouSince"),
            "changes.hangzhouSince"
        );
        assert_eq!(field_path("revokedOn"), "revokedOn");
        assert_eq!(field_path("ids.0"), "ids[0]");
    }
}
