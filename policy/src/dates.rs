//! The calendar days the service accepts as input, and their one text form.
//!
//! A date is written `YYYY-MM-DD` exactly (ISO 8601 calendar date: four-digit year, two-digit
//! month and day, a real day of the Gregorian calendar) and lies within [`FIRST_DAY`] ..=
//! [`LAST_DAY`]. The range is wide enough for every fact the registry keeps — an enterprise
//! registered in Hangzhou in the 1990s keeps its true registration day — and narrow enough that
//! no date arithmetic of the policy (bans of years after a revocation, anniversaries) can leave
//! the calendar: `9999-12-31` or `0000-01-01` are typing errors, never facts.
//!
//! INTERPRETATION(§final): The lower bound is the registry's earliest fact date (1900-01-01), not the
//! policy's start: dates before the policy are real inputs (registration, moves, events), and the
//! rules that need a date inside the policy period check it themselves (payment dates inside
//! their fiscal year, grants not before their recognition year, revocations of a title held).

use chrono::NaiveDate;

/// The earliest day accepted in any input: 1 January 1900.
pub const FIRST_DAY: NaiveDate = day(1900, 1, 1);

/// The latest day accepted in any input: 31 December 2099.
pub const LAST_DAY: NaiveDate = day(2099, 12, 31);

const fn day(year: i32, month: u32, day: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(year, month, day) {
        Some(date) => date,
        None => panic!("not a calendar day"),
    }
}

/// Why a date was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    /// Not `YYYY-MM-DD` with ASCII digits.
    #[error("`{0}` is not a date written YYYY-MM-DD")]
    NotIsoForm(String),
    /// The form is right but the day does not exist (`2024-02-30`, `2023-02-29`).
    #[error("{0} is not a day of the calendar")]
    NoSuchDay(String),
    /// A real day outside [`FIRST_DAY`] ..= [`LAST_DAY`].
    #[error("{0} is outside {FIRST_DAY} ..= {LAST_DAY}")]
    OutOfRange(NaiveDate),
}

/// Reads a date written exactly `YYYY-MM-DD`, within [`FIRST_DAY`] ..= [`LAST_DAY`].
///
/// # Errors
///
/// [`DateError::NotIsoForm`] for any other text (`2024-1-1`, `2024/01/01`, ` 2024-01-01`),
/// [`DateError::NoSuchDay`] for a day the calendar lacks, [`DateError::OutOfRange`] as
/// [`within_range`].
pub fn parse_iso_date(text: &str) -> Result<NaiveDate, DateError> {
    let bytes = text.as_bytes();
    let shaped = bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            _ => b.is_ascii_digit(),
        });
    if !shaped {
        return Err(DateError::NotIsoForm(text.to_owned()));
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| DateError::NoSuchDay(text.to_owned()))?;
    within_range(date)
}

/// `date` itself if it lies within [`FIRST_DAY`] ..= [`LAST_DAY`].
///
/// # Errors
///
/// [`DateError::OutOfRange`] otherwise.
pub fn within_range(date: NaiveDate) -> Result<NaiveDate, DateError> {
    if (FIRST_DAY..=LAST_DAY).contains(&date) {
        Ok(date)
    } else {
        Err(DateError::OutOfRange(date))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("test date")
    }

    #[test]
    fn a_real_day_written_yyyy_mm_dd_within_the_range_is_read() {
        let cases = [
            ("2024-06-30", ymd(2024, 6, 30)),
            ("2024-02-29", ymd(2024, 2, 29)),
            ("1900-01-01", FIRST_DAY),
            ("1999-12-31", ymd(1999, 12, 31)),
            ("2099-12-31", LAST_DAY),
        ];
        for (text, date) in cases {
            assert_eq!(parse_iso_date(text), Ok(date), "{text}");
        }
    }

    #[test]
    fn any_other_form_is_not_a_date() {
        for text in [
            "2024-1-1",
            "2024-01-1",
            "24-01-01",
            "2024/01/01",
            "20240101",
            " 2024-01-01",
            "2024-01-01 ",
            "2024-01-01T00:00:00",
            "+2024-01-01",
            "２０２４-01-01",
            "",
        ] {
            assert!(
                matches!(parse_iso_date(text), Err(DateError::NotIsoForm(_))),
                "{text}"
            );
        }
    }

    #[test]
    fn a_day_the_calendar_lacks_is_refused() {
        for text in [
            "2024-02-30",
            "2023-02-29",
            "2024-13-01",
            "2024-06-31",
            "2024-00-10",
        ] {
            assert!(
                matches!(parse_iso_date(text), Err(DateError::NoSuchDay(_))),
                "{text}"
            );
        }
    }

    #[test]
    fn days_outside_1900_to_2099_are_refused_at_each_end() {
        for text in ["1899-12-31", "2100-01-01", "9999-12-31", "0000-01-01"] {
            assert!(
                matches!(parse_iso_date(text), Err(DateError::OutOfRange(_))),
                "{text}"
            );
        }
    }
}
