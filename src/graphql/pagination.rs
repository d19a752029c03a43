//! Relay-style pages: validated `first`/`after`/`last`/`before`, opaque offset cursors, and a
//! `totalCount` on every connection.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{OutputType, SimpleObject};

use crate::error::{AppError, AppResult};

/// Fields every connection carries besides edges and page info.
#[derive(SimpleObject, Debug, Clone, Copy)]
pub struct ConnectionTotals {
    /// How many items match the query in all (not just this page).
    pub total_count: u64,
}

/// The configured page sizes.
#[derive(Debug, Clone, Copy)]
pub struct PageLimits {
    /// Items returned when neither `first` nor `last` is given.
    pub default_size: usize,
    /// Largest `first`/`last` accepted.
    pub max_size: usize,
}

/// A validated page request: which slice of the ordered result to load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageWindow {
    /// Index of the first item of the page.
    pub offset: u64,
    /// How many items at most.
    pub limit: u64,
}

/// The connection arguments, before validation.
#[derive(Debug, Clone, Default)]
pub struct PageArgs {
    /// Items after this cursor.
    pub after: Option<String>,
    /// Items before this cursor.
    pub before: Option<String>,
    /// The first N items.
    pub first: Option<i32>,
    /// The last N items.
    pub last: Option<i32>,
}

const CURSOR_PREFIX: &str = "o";

/// The opaque cursor of the item at `offset`.
fn encode_cursor(offset: u64) -> String {
    format!("{CURSOR_PREFIX}{offset:x}")
}

fn decode_cursor(field: &str, cursor: &str) -> AppResult<u64> {
    cursor
        .strip_prefix(CURSOR_PREFIX)
        .and_then(|hex| u64::from_str_radix(hex, 16).ok())
        .ok_or_else(|| AppError::bad_input(field, "not a cursor returned by this connection"))
}

fn validate_size(field: &str, value: Option<i32>, limits: PageLimits) -> AppResult<Option<u64>> {
    match value {
        None => Ok(None),
        Some(n) if n >= 1 && (n as usize) <= limits.max_size => Ok(Some(n as u64)),
        Some(_) => Err(AppError::bad_input(
            field,
            format!("must be between 1 and {}", limits.max_size),
        )),
    }
}

impl PageArgs {
    /// Turns the arguments into a window over `total` items.
    ///
    /// # Errors
    /// `BAD_USER_INPUT` for `first`/`last` outside 1..=max page size, both given, or a cursor
    /// this service did not issue.
    pub fn window(&self, total: u64, limits: PageLimits) -> AppResult<PageWindow> {
        let first = validate_size("first", self.first, limits)?;
        let last = validate_size("last", self.last, limits)?;
        if first.is_some() && last.is_some() {
            return Err(AppError::bad_input(
                "last",
                "give either first or last, not both",
            ));
        }
        let start = match &self.after {
            Some(c) => decode_cursor("after", c)?.saturating_add(1),
            None => 0,
        }
        .min(total);
        let end = match &self.before {
            Some(c) => decode_cursor("before", c)?,
            None => total,
        }
        .min(total)
        .max(start);
        let (offset, limit) = match (first, last) {
            (_, Some(last)) => {
                let offset = end.saturating_sub(last).max(start);
                (offset, end - offset)
            }
            (first, None) => {
                let size = first.unwrap_or(limits.default_size as u64);
                (start, size.min(end - start))
            }
        };
        Ok(PageWindow { offset, limit })
    }
}

/// Builds the connection for `items` loaded at `window` out of `total`.
pub fn connection<T: OutputType>(
    items: Vec<T>,
    window: PageWindow,
    total: u64,
) -> Connection<String, T, ConnectionTotals> {
    let has_previous = window.offset > 0;
    let has_next = window.offset + (items.len() as u64) < total;
    let mut connection = Connection::with_additional_fields(
        has_previous,
        has_next,
        ConnectionTotals { total_count: total },
    );
    connection.edges.extend(
        items
            .into_iter()
            .enumerate()
            .map(|(i, item)| Edge::new(encode_cursor(window.offset + i as u64), item)),
    );
    connection
}

/// Complexity of a connection field: the page size (the maximum if unknown) times the cost of
/// one item, saturating so that no argument can overflow the arithmetic.
pub fn cost(first: Option<i32>, last: Option<i32>, child_complexity: usize) -> usize {
    let size = first
        .or(last)
        .map(|n| usize::try_from(n).unwrap_or(0).max(1))
        .unwrap_or(DEFAULT_COST_PAGE);
    size.saturating_mul(child_complexity.max(1))
        .saturating_add(1)
}

/// Rows a whole-year list (the published list, the year's star rewards) is charged for: the
/// order of a city's headquarters of one year, so that a few of them fill a request's budget.
pub const YEAR_LIST_ROWS: usize = 200;

/// Rows a per-enterprise history (its events) is charged for.
pub const HISTORY_ROWS: usize = 10;

/// Cost of a whole-year aggregate (it scans the year's recognitions and figures).
pub const YEAR_AGGREGATE_COST: usize = 200;

/// Complexity of an unpaginated list: the rows it can reach times the cost of one row.
pub fn list_cost(rows: usize, child_complexity: usize) -> usize {
    rows.saturating_mul(child_complexity.max(1))
        .saturating_add(1)
}

/// Page size assumed for cost when none is given (the default page size).
const DEFAULT_COST_PAGE: usize = 50;

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: PageLimits = PageLimits {
        default_size: 50,
        max_size: 500,
    };

    fn args(
        first: Option<i32>,
        after: Option<u64>,
        last: Option<i32>,
        before: Option<u64>,
    ) -> PageArgs {
        PageArgs {
            first,
            last,
            after: after.map(encode_cursor),
            before: before.map(encode_cursor),
        }
    }

    #[test]
    fn no_arguments_give_the_default_page() {
        let w = PageArgs::default().window(1000, LIMITS).unwrap();
        assert_eq!(
            w,
            PageWindow {
                offset: 0,
                limit: 50
            }
        );
    }

    #[test]
    fn first_after_continues_after_the_cursor() {
        let w = args(Some(10), Some(9), None, None)
            .window(25, LIMITS)
            .unwrap();
        assert_eq!(
            w,
            PageWindow {
                offset: 10,
                limit: 10
            }
        );
        let w = args(Some(10), Some(19), None, None)
            .window(25, LIMITS)
            .unwrap();
        assert_eq!(
            w,
            PageWindow {
                offset: 20,
                limit: 5
            }
        );
    }

    #[test]
    fn last_before_pages_backwards() {
        let w = args(None, None, Some(10), Some(20))
            .window(25, LIMITS)
            .unwrap();
        assert_eq!(
            w,
            PageWindow {
                offset: 10,
                limit: 10
            }
        );
        let w = args(None, None, Some(10), None).window(25, LIMITS).unwrap();
        assert_eq!(
            w,
            PageWindow {
                offset: 15,
                limit: 10
            }
        );
    }

    #[test]
    fn zero_negative_and_huge_page_sizes_are_refused() {
        for n in [0, -1, 501, i32::MAX, i32::MIN] {
            let err = args(Some(n), None, None, None)
                .window(10, LIMITS)
                .unwrap_err();
            assert_eq!(err.code().as_str(), "BAD_USER_INPUT");
            assert!(args(None, None, Some(n), None).window(10, LIMITS).is_err());
        }
    }

    #[test]
    fn the_cost_of_a_connection_saturates_instead_of_overflowing() {
        assert_eq!(cost(Some(10), None, 3), 31);
        assert_eq!(cost(None, None, 2), 101);
        assert_eq!(cost(Some(i32::MAX), None, usize::MAX), usize::MAX);
        assert_eq!(
            cost(Some(-5), None, 7),
            8,
            "a negative size costs like one item"
        );
    }

    #[test]
    fn a_forged_cursor_is_refused() {
        let forged = PageArgs {
            after: Some("42".into()),
            ..PageArgs::default()
        };
        assert!(forged.window(10, LIMITS).is_err());
    }

    #[test]
    fn a_cursor_past_the_end_gives_an_empty_page() {
        let w = args(Some(5), Some(u64::MAX), None, None)
            .window(10, LIMITS)
            .unwrap();
        assert_eq!(w.limit, 0);
    }
}
