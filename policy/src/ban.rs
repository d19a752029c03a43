//! §22: a title to revoke, and after a revoked title no recognition for `recognition.ban_years`
//! years.
//!
//! 被取消称号的企业，自称号被取消之日起2年内不得申请认定为总部企业. Following the Civil Code
//! (arts. 201–203), a period in years runs from the day after the event to the end of the
//! anniversary day: a revocation on R bans recognition decided on any date from R up to and
//! including the anniversary of R, and recognition is possible again from the day after.

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};

/// §22 (取消总部企业称号): whether the enterprise holds a title that a revocation on `revoked_on`
/// can take away. `recognitions_decided_on` are the decision dates of its recognitions, in any
/// order.
///
/// INTERPRETATION(§22): §22 revokes a title, so the enterprise must hold one: a recognition
/// decided on or before the revocation date (a recognition decided that same day counts).
#[must_use]
pub fn title_held_on(recognitions_decided_on: &[NaiveDate], revoked_on: NaiveDate) -> bool {
    recognitions_decided_on
        .iter()
        .any(|&decided_on| decided_on <= revoked_on)
}

/// The ban a revocation imposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ban {
    /// The date the title was revoked (R).
    pub revoked_on: NaiveDate,
    /// The last day of the ban (inclusive): the `ban_years` anniversary of R.
    pub ends_on: NaiveDate,
}

/// The last day of the ban after a revocation on `revoked_on`: its `ban_years` anniversary.
///
/// For a revocation on 29 February the anniversary is 28 February, unless the anniversary year is
/// a leap year (Civil Code art. 203: a period ends on the corresponding day, or on the last day of
/// the month when there is none). INTERPRETATION(§22): Statutory holidays are ignored: the ban
/// ends on the anniversary even when it falls on a holiday, since it is not a deadline for an act
/// of the enterprise (art. 203's extension to the next working day serves those).
///
/// A ban that would end beyond the dates `chrono` can represent ends on [`NaiveDate::MAX`].
#[must_use]
pub fn ban_end(revoked_on: NaiveDate, ban_years: u32) -> NaiveDate {
    // `checked_add_months` clamps to the last day of the month: 29 Feb + 12 months = 28 Feb.
    ban_years
        .checked_mul(12)
        .and_then(|months| revoked_on.checked_add_months(Months::new(months)))
        .unwrap_or(NaiveDate::MAX)
}

/// The ban in force on `on`, if any.
///
/// Only revocations on or before `on` count (R ≤ D ≤ end). With several revocations the latest ban
/// end counts; a revocation after `on` does not ban anything on `on`.
#[must_use]
pub fn ban_in_force(revocations: &[NaiveDate], ban_years: u32, on: NaiveDate) -> Option<Ban> {
    latest_ban(revocations, ban_years, on).filter(|ban| on <= ban.ends_on)
}

/// The ban with the latest end among revocations on or before `on`, in force or not.
#[must_use]
pub fn latest_ban(revocations: &[NaiveDate], ban_years: u32, on: NaiveDate) -> Option<Ban> {
    revocations
        .iter()
        .filter(|&&revoked_on| revoked_on <= on)
        .map(|&revoked_on| Ban {
            revoked_on,
            ends_on: ban_end(revoked_on, ban_years),
        })
        .max_by_key(|ban| (ban.ends_on, ban.revoked_on))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        s.parse().expect("test date")
    }

    #[test]
    fn a_title_is_held_from_the_day_its_recognition_is_decided() {
        let cases: [(&[&str], &str, bool); 7] = [
            (&[], "2024-06-15", false),
            (&["2024-06-14"], "2024-06-15", true),
            (&["2024-06-15"], "2024-06-15", true),
            (&["2024-06-16"], "2024-06-15", false),
            (&["2023-12-31"], "2024-01-01", true),
            (&["2025-03-01", "2024-06-16"], "2024-06-15", false),
            (&["2025-03-01", "2023-04-01"], "2024-06-15", true),
        ];
        for (decided, revoked, held) in cases {
            let decided: Vec<NaiveDate> = decided.iter().map(|d| date(d)).collect();
            assert_eq!(
                title_held_on(&decided, date(revoked)),
                held,
                "recognitions decided on {decided:?}, revoked on {revoked}"
            );
        }
    }

    #[test]
    fn the_ban_ends_on_the_anniversary_of_the_revocation() {
        let cases = [
            ("2023-06-15", 2, "2025-06-15"),
            ("2023-12-31", 2, "2025-12-31"),
            ("2024-02-29", 2, "2026-02-28"),
            ("2024-02-29", 4, "2028-02-29"),
            ("2024-02-29", 1, "2025-02-28"),
            ("2024-02-28", 2, "2026-02-28"),
            ("2024-03-01", 2, "2026-03-01"),
            ("2023-06-15", 0, "2023-06-15"),
        ];
        for (revoked, years, end) in cases {
            assert_eq!(
                ban_end(date(revoked), years),
                date(end),
                "{revoked} + {years}"
            );
        }
    }

    #[test]
    fn a_ban_beyond_the_calendar_never_ends() {
        assert_eq!(ban_end(date("2024-01-01"), u32::MAX), NaiveDate::MAX);
    }

    #[test]
    fn decided_on_the_anniversary_is_banned_and_the_day_after_is_not() {
        let revocations = [date("2023-06-15")];
        let cases = [
            ("2023-06-14", false),
            ("2023-06-15", true),
            ("2024-06-15", true),
            ("2025-06-15", true),
            ("2025-06-16", false),
        ];
        for (decided, banned) in cases {
            assert_eq!(
                ban_in_force(&revocations, 2, date(decided)).is_some(),
                banned,
                "{decided}"
            );
        }
    }

    #[test]
    fn a_revocation_on_29_february_bans_until_28_february_or_29_in_a_leap_year() {
        let revocations = [date("2024-02-29")];
        assert!(ban_in_force(&revocations, 2, date("2026-02-28")).is_some());
        assert!(ban_in_force(&revocations, 2, date("2026-03-01")).is_none());
        assert!(ban_in_force(&revocations, 4, date("2028-02-29")).is_some());
        assert!(ban_in_force(&revocations, 4, date("2028-03-01")).is_none());
    }

    #[test]
    fn with_several_revocations_the_latest_ban_end_counts() {
        let revocations = [date("2025-03-01"), date("2023-05-10"), date("2024-01-20")];
        let ban = ban_in_force(&revocations, 2, date("2025-06-01")).expect("banned");
        assert_eq!(ban.revoked_on, date("2025-03-01"));
        assert_eq!(ban.ends_on, date("2027-03-01"));
        assert!(ban_in_force(&revocations, 2, date("2027-03-01")).is_some());
        assert!(ban_in_force(&revocations, 2, date("2027-03-02")).is_none());
    }

    #[test]
    fn a_revocation_after_the_decision_date_does_not_ban_it() {
        let revocations = [date("2023-05-10"), date("2026-01-01")];
        // 2023-05-10's ban ended 2025-05-10; 2026-01-01 has not happened yet on 2025-12-31.
        assert_eq!(ban_in_force(&revocations, 2, date("2025-12-31")), None);
        assert_eq!(
            latest_ban(&revocations, 2, date("2025-12-31")).map(|b| b.ends_on),
            Some(date("2025-05-10"))
        );
    }

    #[test]
    fn no_revocation_means_no_ban() {
        assert_eq!(ban_in_force(&[], 2, date("2025-01-01")), None);
    }
}
