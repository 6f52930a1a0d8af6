//! Options of multi-row reads: filter, order, limit, offset.

use std::cmp::Ordering;

use crate::table::Row;

/// Options of a multi-row read ([`HasMany::get_with`](crate::HasMany::get_with)): a filter, an
/// order, a limit and an offset, applied in that order.
///
/// Without an order, rows come in creation order; an order is a stable sort, so rows it
/// considers equal keep their creation order.
///
/// ```
/// use relata::Query;
/// struct Comment { likes: u32 }
/// let popular_first = Query::<Comment>::new()
///     .filter(|c| c.likes > 0)
///     .order_by(|a, b| b.likes.cmp(&a.likes))
///     .limit(10);
/// # let _ = popular_first;
/// ```
#[expect(
    clippy::type_complexity,
    reason = "boxed closures are the options themselves"
)]
pub struct Query<'q, T> {
    filter: Option<Box<dyn Fn(&T) -> bool + 'q>>,
    order: Option<Box<dyn Fn(&T, &T) -> Ordering + 'q>>,
    limit: Option<usize>,
    offset: usize,
}

impl<T> Default for Query<'_, T> {
    fn default() -> Self {
        Query {
            filter: None,
            order: None,
            limit: None,
            offset: 0,
        }
    }
}

impl<'q, T> Query<'q, T> {
    /// No filter, creation order, no limit, no offset.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keep only rows for which `predicate` holds.
    pub fn filter(mut self, predicate: impl Fn(&T) -> bool + 'q) -> Self {
        self.filter = Some(Box::new(predicate));
        self
    }

    /// Sort by `compare` (stable: ties keep creation order).
    pub fn order_by(mut self, compare: impl Fn(&T, &T) -> Ordering + 'q) -> Self {
        self.order = Some(Box::new(compare));
        self
    }

    /// At most `n` rows (per source, for batched reads).
    pub fn limit(mut self, n: usize) -> Self {
        self.limit = Some(n);
        self
    }

    /// Skip the first `n` rows.
    pub fn offset(mut self, n: usize) -> Self {
        self.offset = n;
        self
    }

    /// Whether `row` passes the filter.
    pub(crate) fn matches(&self, row: &T) -> bool {
        self.filter.as_ref().is_none_or(|f| f(row))
    }

    /// Applies every option to rows given in creation order.
    pub(crate) fn apply<'a>(&self, rows: impl Iterator<Item = Row<'a, T>>) -> Vec<Row<'a, T>> {
        let mut rows: Vec<Row<'a, T>> = rows.filter(|r| self.matches(r)).collect();
        if let Some(order) = &self.order {
            rows.sort_by(|a, b| order(a, b));
        }
        let limit = self.limit.unwrap_or(usize::MAX);
        rows.into_iter().skip(self.offset).take(limit).collect()
    }
}
