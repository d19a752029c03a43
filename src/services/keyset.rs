//! Keyset pages: every list is ordered by a unique key (a tuple of columns), and a page is the
//! `n` rows after (or before) a key, read as `WHERE (key) > (cursor) ORDER BY key LIMIT n + 1`.
//! The extra row answers "is there more in this direction" without a count. Rows inserted or
//! deleted between two pages move no other row's key, so no row is repeated or skipped.

use std::cmp::Ordering;

use chrono::NaiveDate;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{Order, QueryFilter, QueryOrder, QuerySelect, Value};

/// One component of a sort key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyPart {
    /// An integer column (ids, years, ranks).
    Int(i64),
    /// A text column (credit codes, names, district codes).
    Text(String),
    /// A date column.
    Date(NaiveDate),
}

impl KeyPart {
    fn value(&self) -> Value {
        match self {
            KeyPart::Int(n) => (*n).into(),
            KeyPart::Text(s) => s.clone().into(),
            KeyPart::Date(d) => (*d).into(),
        }
    }
}

/// The sort key of a row: compared component by component, like an SQL row value.
pub type Key = Vec<KeyPart>;

/// Which way a page is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `first`/`after`: the `size` rows following `after`.
    Forward,
    /// `last`/`before`: the `size` rows preceding `before`.
    Backward,
}

/// A validated page request in key space.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// Only rows whose key comes after this one.
    pub after: Option<Key>,
    /// Only rows whose key comes before this one.
    pub before: Option<Key>,
    /// How many rows at most.
    pub size: u64,
    /// Which end of the range the page is taken from.
    pub direction: Direction,
}

/// One page of rows, each with its key, in list order.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The rows and their keys.
    pub items: Vec<(Key, T)>,
    /// Backward pages: whether rows precede the page (within `after`, if given). Forward pages
    /// do not look back and answer `false`.
    pub has_previous: bool,
    /// Forward pages: whether rows follow the page (within `before`, if given). Backward pages
    /// do not look ahead and answer `false`.
    pub has_next: bool,
}

impl<T> Page<T> {
    /// The same page with each row mapped by `f`.
    pub fn map<U>(self, mut f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(|(k, t)| (k, f(t))).collect(),
            has_previous: self.has_previous,
            has_next: self.has_next,
        }
    }

    /// The same page with every row converted.
    ///
    /// # Errors
    /// The first conversion error.
    pub fn try_map<U, E>(self, mut f: impl FnMut(T) -> Result<U, E>) -> Result<Page<U>, E> {
        Ok(Page {
            items: self
                .items
                .into_iter()
                .map(|(key, row)| Ok((key, f(row)?)))
                .collect::<Result<_, E>>()?,
            has_previous: self.has_previous,
            has_next: self.has_next,
        })
    }
}

/// The order of a list: the key's expressions, all ascending or all descending.
#[derive(Debug, Clone)]
pub struct KeyOrder {
    /// The columns (or expressions) of the key, most significant first; together unique.
    pub exprs: Vec<Expr>,
    /// Whether the list runs from the largest key to the smallest.
    pub descending: bool,
}

impl KeyOrder {
    /// Ascending by `exprs`.
    pub fn asc(exprs: Vec<Expr>) -> KeyOrder {
        KeyOrder {
            exprs,
            descending: false,
        }
    }

    /// Descending by `exprs`.
    pub fn desc(exprs: Vec<Expr>) -> KeyOrder {
        KeyOrder {
            exprs,
            descending: true,
        }
    }

    fn tuple(&self) -> Expr {
        Expr::tuple(self.exprs.iter().cloned())
    }
}

fn values(key: &Key) -> Expr {
    Expr::tuple(key.iter().map(|part| Expr::val(part.value())))
}

/// Restricts `query` to the page's key range, orders it by the key (reversed for a backward
/// page) and limits it to `size + 1` rows; read the rows with [`finish`].
pub fn apply<S>(mut query: S, order: &KeyOrder, page: &PageRequest) -> S
where
    S: QueryFilter + QueryOrder + QuerySelect,
{
    // "After" in list order: greater for an ascending list, smaller for a descending one.
    if let Some(after) = &page.after {
        query = query.filter(if order.descending {
            order.tuple().lt(values(after))
        } else {
            order.tuple().gt(values(after))
        });
    }
    if let Some(before) = &page.before {
        query = query.filter(if order.descending {
            order.tuple().gt(values(before))
        } else {
            order.tuple().lt(values(before))
        });
    }
    let reversed = page.direction == Direction::Backward;
    let sql_order = if order.descending != reversed {
        Order::Desc
    } else {
        Order::Asc
    };
    for expr in &order.exprs {
        query = query.order_by(expr.clone(), sql_order.clone());
    }
    query.limit(page.size.saturating_add(1))
}

/// Turns the rows of a query built by [`apply`] into the page: drops the extra row (which says
/// there is more) and puts a backward page back into list order.
pub fn finish<T>(rows: Vec<T>, page: &PageRequest, key_of: impl Fn(&T) -> Key) -> Page<T> {
    let size = usize::try_from(page.size).unwrap_or(usize::MAX);
    let more = rows.len() > size;
    let mut items: Vec<(Key, T)> = rows
        .into_iter()
        .take(size)
        .map(|row| (key_of(&row), row))
        .collect();
    match page.direction {
        Direction::Forward => Page {
            items,
            has_previous: false,
            has_next: more,
        },
        Direction::Backward => {
            items.reverse();
            Page {
                items,
                has_previous: more,
                has_next: false,
            }
        }
    }
}

/// The page of a list already built in memory in ascending key order (a derived list whose
/// rows are computed, not stored: the published list, a year's star rewards). The same keys and
/// the same answers as [`apply`] and [`finish`].
pub fn in_memory<T>(rows: Vec<T>, page: &PageRequest, key_of: impl Fn(&T) -> Key) -> Page<T> {
    let mut keyed: Vec<(Key, T)> = rows
        .into_iter()
        .map(|row| (key_of(&row), row))
        .filter(|(key, _)| {
            page.after
                .as_ref()
                .is_none_or(|after| key.cmp(after) == Ordering::Greater)
                && page
                    .before
                    .as_ref()
                    .is_none_or(|before| key.cmp(before) == Ordering::Less)
        })
        .collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    let size = usize::try_from(page.size).unwrap_or(usize::MAX);
    let more = keyed.len() > size;
    match page.direction {
        Direction::Forward => {
            keyed.truncate(size);
            Page {
                items: keyed,
                has_previous: false,
                has_next: more,
            }
        }
        Direction::Backward => {
            let start = keyed.len().saturating_sub(size);
            Page {
                items: keyed.split_off(start),
                has_previous: more,
                has_next: false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(
        after: Option<i64>,
        before: Option<i64>,
        size: u64,
        direction: Direction,
    ) -> PageRequest {
        PageRequest {
            after: after.map(|n| vec![KeyPart::Int(n)]),
            before: before.map(|n| vec![KeyPart::Int(n)]),
            size,
            direction,
        }
    }

    fn ids(page: &Page<i64>) -> Vec<i64> {
        page.items.iter().map(|(_, n)| *n).collect()
    }

    #[test]
    fn a_forward_page_in_memory_starts_after_the_key_and_says_whether_more_follow() {
        let rows: Vec<i64> = (1..=10).collect();
        let key = |n: &i64| vec![KeyPart::Int(*n)];
        let page = in_memory(
            rows.clone(),
            &request(Some(3), None, 4, Direction::Forward),
            key,
        );
        assert_eq!(ids(&page), vec![4, 5, 6, 7]);
        assert!(page.has_next);
        assert!(!page.has_previous);
        let last = in_memory(rows, &request(Some(7), None, 4, Direction::Forward), key);
        assert_eq!(ids(&last), vec![8, 9, 10]);
        assert!(!last.has_next);
    }

    #[test]
    fn a_backward_page_in_memory_ends_before_the_key_in_list_order() {
        let rows: Vec<i64> = (1..=10).collect();
        let key = |n: &i64| vec![KeyPart::Int(*n)];
        let page = in_memory(
            rows.clone(),
            &request(None, Some(8), 3, Direction::Backward),
            key,
        );
        assert_eq!(ids(&page), vec![5, 6, 7]);
        assert!(page.has_previous);
        let first = in_memory(
            rows,
            &request(Some(1), Some(4), 5, Direction::Backward),
            key,
        );
        assert_eq!(ids(&first), vec![2, 3]);
        assert!(!first.has_previous);
    }

    #[test]
    fn finishing_a_backward_query_drops_the_extra_row_and_restores_list_order() {
        // A backward query reads the list from the end: 9, 8, 7, 6 for three rows before 10.
        let page = finish(
            vec![9, 8, 7, 6],
            &request(None, Some(10), 3, Direction::Backward),
            |n: &i64| vec![KeyPart::Int(*n)],
        );
        assert_eq!(ids(&page), vec![7, 8, 9]);
        assert!(page.has_previous);
        assert!(!page.has_next);
    }

    #[test]
    fn keys_compare_like_sql_row_values() {
        let a = vec![KeyPart::Text("a".into()), KeyPart::Int(9)];
        let b = vec![KeyPart::Text("b".into()), KeyPart::Int(1)];
        assert!(a < b);
        assert!(vec![KeyPart::Text("a".into()), KeyPart::Int(1)] < a);
    }
}
