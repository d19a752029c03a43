//! Relay-style pages: validated `first`/`after`/`last`/`before`, opaque keyset cursors, and a
//! `totalCount` on every connection that is counted only when a client selects it.
//!
//! A cursor is base64url (no padding) of a small JSON tuple `[version, list, key…]`: the cursor
//! format's version, the list (and order) it belongs to, and the sort key of its row (a credit
//! code, an id, a name and a credit code, …). A page is read by key (`services::keyset`), so rows
//! inserted or deleted between two pages repeat or skip no other row. A cursor of another list,
//! another order or another version, or one that is not a cursor at all, is `BAD_USER_INPUT` on
//! the argument that carried it.
//!
//! `hasNextPage` of a forward page and `hasPreviousPage` of a backward page come from one row
//! read beyond the page. As Relay allows, a page does not look the other way: `hasPreviousPage`
//! is `false` on a page read with `first`/`after` and `hasNextPage` is `false` on one read with
//! `last`/`before`, even when rows exist there; to page back, ask for `last` items `before` the
//! page's `startCursor`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Object, OutputType, Result};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::NaiveDate;
use serde_json::Value;

use crate::error::{AppError, AppResult};
use crate::services::keyset::{Direction, Key, KeyPart, Page, PageRequest};

type CountFuture = Pin<Box<dyn Future<Output = AppResult<u64>> + Send>>;

/// Fields every connection carries besides edges and page info: the total count, computed by
/// its own statement only when the field is selected.
#[derive(Clone)]
pub struct ConnectionTotals {
    count: Arc<dyn Fn() -> CountFuture + Send + Sync>,
}

impl ConnectionTotals {
    /// A total counted by `count` when (and each time) `totalCount` is resolved.
    pub fn lazy<F, Fut>(count: F) -> ConnectionTotals
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = AppResult<u64>> + Send + 'static,
    {
        ConnectionTotals {
            count: Arc::new(move || Box::pin(count())),
        }
    }

    /// A total already known (a list built in memory).
    pub fn known(total: u64) -> ConnectionTotals {
        ConnectionTotals::lazy(move || async move { Ok(total) })
    }
}

#[Object]
impl ConnectionTotals {
    /// How many items match the query in all (not just this page); counted only when selected.
    async fn total_count(&self) -> Result<u64> {
        Ok((self.count)().await?)
    }
}

/// The configured page sizes.
#[derive(Debug, Clone, Copy)]
pub struct PageLimits {
    /// Items returned when neither `first` nor `last` is given.
    pub default_size: usize,
    /// Largest `first`/`last` accepted.
    pub max_size: usize,
}

/// The kind of one component of a list's sort key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// An integer.
    Int,
    /// A text.
    Text,
    /// A date (`YYYY-MM-DD`).
    Date,
}

/// What the cursors of one list (in one order) look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CursorSpec {
    /// The list and order, e.g. `enterprises/name`; a cursor of another list is refused.
    pub list: &'static str,
    /// The components of its sort key.
    pub key: &'static [KeyKind],
}

/// The version of the cursor format; cursors of another version are refused.
const CURSOR_VERSION: i64 = 1;

/// Longest cursor accepted, in bytes (a key is a few short columns).
const MAX_CURSOR_LEN: usize = 1024;

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

/// The opaque cursor of the row with `key` in `spec`'s list.
pub fn encode_cursor(spec: &CursorSpec, key: &Key) -> String {
    let mut tuple = vec![Value::from(CURSOR_VERSION), Value::from(spec.list)];
    tuple.extend(key.iter().map(|part| match part {
        KeyPart::Int(n) => Value::from(*n),
        KeyPart::Text(s) => Value::from(s.as_str()),
        KeyPart::Date(d) => Value::from(d.format("%Y-%m-%d").to_string()),
    }));
    URL_SAFE_NO_PAD.encode(Value::Array(tuple).to_string())
}

fn decode_cursor(field: &str, spec: &CursorSpec, cursor: &str) -> AppResult<Key> {
    let refuse = || AppError::bad_input(field, "not a cursor of this list (in this order)");
    if cursor.len() > MAX_CURSOR_LEN {
        return Err(refuse());
    }
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| refuse())?;
    let Ok(Value::Array(tuple)) = serde_json::from_slice::<Value>(&bytes) else {
        return Err(refuse());
    };
    let [version, list, parts @ ..] = tuple.as_slice() else {
        return Err(refuse());
    };
    if version.as_i64() != Some(CURSOR_VERSION)
        || list.as_str() != Some(spec.list)
        || parts.len() != spec.key.len()
    {
        return Err(refuse());
    }
    parts
        .iter()
        .zip(spec.key)
        .map(|(part, kind)| match kind {
            KeyKind::Int => part.as_i64().map(KeyPart::Int),
            KeyKind::Text => part.as_str().map(|s| KeyPart::Text(s.to_string())),
            KeyKind::Date => part
                .as_str()
                .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
                .map(KeyPart::Date),
        })
        .collect::<Option<Key>>()
        .ok_or_else(refuse)
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
    /// Turns the arguments into a page request in the key space of `spec`'s list.
    ///
    /// # Errors
    /// `BAD_USER_INPUT` for `first`/`last` outside 1..=max page size, both given, or a cursor
    /// that is not one of this list (in this order).
    pub fn request(&self, spec: &CursorSpec, limits: PageLimits) -> AppResult<PageRequest> {
        let first = validate_size("first", self.first, limits)?;
        let last = validate_size("last", self.last, limits)?;
        if first.is_some() && last.is_some() {
            return Err(AppError::bad_input(
                "last",
                "give either first or last, not both",
            ));
        }
        let after = self
            .after
            .as_deref()
            .map(|c| decode_cursor("after", spec, c))
            .transpose()?;
        let before = self
            .before
            .as_deref()
            .map(|c| decode_cursor("before", spec, c))
            .transpose()?;
        let (size, direction) = match (first, last) {
            (_, Some(last)) => (last, Direction::Backward),
            (Some(first), None) => (first, Direction::Forward),
            // Only `before`: the page just before it, as Relay clients expect.
            (None, None) if before.is_some() && after.is_none() => {
                (limits.default_size as u64, Direction::Backward)
            }
            (None, None) => (limits.default_size as u64, Direction::Forward),
        };
        Ok(PageRequest {
            after,
            before,
            size,
            direction,
        })
    }
}

/// Builds the connection of `page` (rows of `spec`'s list), with `totals`.
pub fn connection<T: OutputType>(
    spec: &CursorSpec,
    page: Page<T>,
    totals: ConnectionTotals,
) -> Connection<String, T, ConnectionTotals> {
    let mut connection =
        Connection::with_additional_fields(page.has_previous, page.has_next, totals);
    connection.edges.extend(
        page.items
            .into_iter()
            .map(|(key, item)| Edge::new(encode_cursor(spec, &key), item)),
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

/// Cost of a whole-year aggregate (it scans the year's recognitions and figures).
pub const YEAR_AGGREGATE_COST: usize = 200;

/// Page size assumed for cost when none is given (the default page size).
const DEFAULT_COST_PAGE: usize = 50;

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: PageLimits = PageLimits {
        default_size: 50,
        max_size: 500,
    };

    const BY_CODE: CursorSpec = CursorSpec {
        list: "enterprises/creditCode",
        key: &[KeyKind::Text],
    };

    const BY_NAME: CursorSpec = CursorSpec {
        list: "enterprises/name",
        key: &[KeyKind::Text, KeyKind::Text],
    };

    const AUDIT: CursorSpec = CursorSpec {
        list: "auditLog",
        key: &[KeyKind::Int],
    };

    fn code(text: &str) -> Key {
        vec![KeyPart::Text(text.into())]
    }

    #[test]
    fn no_arguments_give_the_default_forward_page() {
        let page = PageArgs::default().request(&BY_CODE, LIMITS).unwrap();
        assert_eq!(
            page,
            PageRequest {
                after: None,
                before: None,
                size: 50,
                direction: Direction::Forward
            }
        );
    }

    #[test]
    fn a_cursor_carries_the_key_of_its_row() {
        let key = vec![
            KeyPart::Text("杭州某某".into()),
            KeyPart::Text("91330100MA2XXXXX1A".into()),
        ];
        let args = PageArgs {
            after: Some(encode_cursor(&BY_NAME, &key)),
            first: Some(10),
            ..PageArgs::default()
        };
        let page = args.request(&BY_NAME, LIMITS).unwrap();
        assert_eq!(page.after, Some(key));
        assert_eq!(page.size, 10);
        assert_eq!(page.direction, Direction::Forward);
        let dated = CursorSpec {
            list: "events",
            key: &[KeyKind::Date, KeyKind::Int],
        };
        let key = vec![
            KeyPart::Date(NaiveDate::from_ymd_opt(2024, 2, 29).unwrap()),
            KeyPart::Int(-7),
        ];
        let args = PageArgs {
            before: Some(encode_cursor(&dated, &key)),
            last: Some(3),
            ..PageArgs::default()
        };
        let page = args.request(&dated, LIMITS).unwrap();
        assert_eq!(page.before, Some(key));
        assert_eq!(page.direction, Direction::Backward);
    }

    #[test]
    fn last_before_pages_backwards() {
        let args = PageArgs {
            before: Some(encode_cursor(&BY_CODE, &code("B"))),
            last: Some(10),
            ..PageArgs::default()
        };
        let page = args.request(&BY_CODE, LIMITS).unwrap();
        assert_eq!(page.direction, Direction::Backward);
        assert_eq!(page.size, 10);
    }

    #[test]
    fn zero_negative_and_huge_page_sizes_are_refused() {
        for n in [0, -1, 501, i32::MAX, i32::MIN] {
            let first = PageArgs {
                first: Some(n),
                ..PageArgs::default()
            };
            let err = first.request(&BY_CODE, LIMITS).unwrap_err();
            assert_eq!(err.code().as_str(), "BAD_USER_INPUT");
            let last = PageArgs {
                last: Some(n),
                ..PageArgs::default()
            };
            assert!(last.request(&BY_CODE, LIMITS).is_err());
        }
    }

    #[test]
    fn first_and_last_together_are_refused() {
        let args = PageArgs {
            first: Some(1),
            last: Some(1),
            ..PageArgs::default()
        };
        assert!(args.request(&BY_CODE, LIMITS).is_err());
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
    fn forged_and_foreign_cursors_are_refused_on_their_argument() {
        let forged = [
            "42".to_string(),
            "o2a".to_string(),
            String::new(),
            "!!!".to_string(),
            URL_SAFE_NO_PAD.encode("{}"),
            URL_SAFE_NO_PAD.encode(r#"[2,"enterprises/creditCode","A"]"#),
            URL_SAFE_NO_PAD.encode(r#"[1,"enterprises/creditCode"]"#),
            URL_SAFE_NO_PAD.encode(r#"[1,"enterprises/creditCode",7]"#),
            encode_cursor(&AUDIT, &vec![KeyPart::Int(7)]),
            encode_cursor(&BY_NAME, &vec![code("a")[0].clone(), code("b")[0].clone()]),
            "A".repeat(MAX_CURSOR_LEN + 1),
        ];
        for cursor in forged {
            let args = PageArgs {
                before: Some(cursor.clone()),
                ..PageArgs::default()
            };
            let err = args.request(&BY_CODE, LIMITS).unwrap_err();
            assert_eq!(err.code().as_str(), "BAD_USER_INPUT", "{cursor}");
            assert!(
                matches!(&err, AppError::BadInput { field, .. } if field == "before"),
                "{cursor}"
            );
        }
    }
}
