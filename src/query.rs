//! Options of multi-row reads: filter, order, limit, offset.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::table::Row;

type Filter<'q, T> = Box<dyn Fn(&Row<'_, T>) -> bool + 'q>;
type Order<'q, T> = Box<dyn Fn(&Row<'_, T>, &Row<'_, T>) -> Ordering + 'q>;

/// Options of a multi-row read ([`HasMany::query`](crate::HasMany::query) and its relatives): a
/// filter, an order, a limit and an offset, applied in that order. Filters and orderings see
/// the whole [`Row`]: its value (through `Deref`) and its id.
///
/// Without an order, rows come in creation order (over an index range: in key order); an order
/// is a stable sort, so rows it considers equal keep the order they came in.
///
/// ```
/// use relata::Query;
/// struct Comment { likes: u32 }
/// let popular_first = Query::<Comment>::new()
///     .filter(|c| c.likes > 0)
///     .order_by(|a, b| b.likes.cmp(&a.likes))
///     .limit(10);
/// let newest_first = Query::<Comment>::new().order_by(|a, b| b.id().cmp(&a.id()));
/// # let _ = (popular_first, newest_first);
/// ```
pub struct Query<'q, T> {
    filter: Option<Filter<'q, T>>,
    order: Option<Order<'q, T>>,
    limit: Option<usize>,
    offset: usize,
}

/// A row keyed by its creation number, for [`Query::first_page`]'s heap.
struct ByCreation<'a, T>(u64, Row<'a, T>);

impl<T> PartialEq for ByCreation<'_, T> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl<T> Eq for ByCreation<'_, T> {}

impl<T> PartialOrd for ByCreation<'_, T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T> Ord for ByCreation<'_, T> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.cmp(&other.0)
    }
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
    /// No filter, creation order, no limit, no offset. O(1); a query costs only when it is run.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keep only rows for which `predicate` holds. O(1) here; running the query calls it once
    /// per row read.
    pub fn filter(mut self, predicate: impl Fn(&Row<'_, T>) -> bool + 'q) -> Self {
        self.filter = Some(Box::new(predicate));
        self
    }

    /// Sort by `compare` (stable: ties keep creation order). O(1) here; running the query
    /// sorts the rows kept: O(k log k) for k rows.
    pub fn order_by(mut self, compare: impl Fn(&Row<'_, T>, &Row<'_, T>) -> Ordering + 'q) -> Self {
        self.order = Some(Box::new(compare));
        self
    }

    /// At most `n` rows (per source, for batched reads). O(1).
    pub fn limit(mut self, n: usize) -> Self {
        self.limit = Some(n);
        self
    }

    /// Skip the first `n` rows. O(1) here; running the query still reads the rows skipped.
    pub fn offset(mut self, n: usize) -> Self {
        self.offset = n;
        self
    }

    /// Whether `row` passes the filter.
    pub(crate) fn matches(&self, row: &Row<'_, T>) -> bool {
        self.filter.as_ref().is_none_or(|f| f(row))
    }

    /// Whether the query asks for a page without an order: `limit` set, no `order_by`.
    pub(crate) fn is_page(&self) -> bool {
        self.order.is_none() && self.limit.is_some()
    }

    /// The number of rows a page reads up to: offset plus limit (`usize::MAX` without a
    /// limit).
    pub(crate) fn page_end(&self) -> usize {
        self.offset.saturating_add(self.limit.unwrap_or(usize::MAX))
    }

    /// [`apply`](Self::apply) for a [page](Self::is_page), from rows given in any order: the
    /// matches with the `offset + limit` lowest creation numbers are kept in a bounded heap,
    /// then put in creation order, so that no other row is sorted. O(m log p) for m matches
    /// and a page of p rows.
    pub(crate) fn first_page<'a>(&self, rows: impl Iterator<Item = Row<'a, T>>) -> Vec<Row<'a, T>> {
        let end = self.page_end();
        if end == 0 {
            return Vec::new();
        }
        let mut page: BinaryHeap<ByCreation<'a, T>> = BinaryHeap::new();
        // `for_each` reads through the iterator's `fold`, faster than `next` per row.
        rows.filter(|r| self.matches(r)).for_each(|row| {
            let seq = row.id().raw.seq();
            if page.len() < end {
                page.push(ByCreation(seq, row));
            } else if page.peek().is_some_and(|last| seq < last.0) {
                page.pop();
                page.push(ByCreation(seq, row));
            }
        });
        page.into_sorted_vec()
            .into_iter()
            .skip(self.offset)
            .map(|ByCreation(_, row)| row)
            .collect()
    }

    /// Applies every option to rows given in creation order.
    pub(crate) fn apply<'a>(&self, rows: impl Iterator<Item = Row<'a, T>>) -> Vec<Row<'a, T>> {
        let limit = self.limit.unwrap_or(usize::MAX);
        let matching = rows.filter(|r| self.matches(r));
        match &self.order {
            // Without an order, stop as soon as the page is full.
            None => matching.skip(self.offset).take(limit).collect(),
            Some(order) => {
                // `for_each` reads through the iterator's `fold`, faster than `next` per row.
                let mut rows = Vec::new();
                matching.for_each(|row| rows.push(row));
                rows.sort_by(|a, b| order(a, b));
                rows.into_iter().skip(self.offset).take(limit).collect()
            }
        }
    }
}
