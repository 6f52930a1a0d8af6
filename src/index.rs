//! Secondary indexes: non-unique ordered indexes on a field or a computed key of a table.

use std::borrow::Borrow;
use std::fmt;
use std::ops::RangeBounds;

use crate::core::{IndexAt, KeyFn};
use crate::db::{Db, Model};
use crate::error::Result;
use crate::id::model_name;
use crate::key::{Field, Key};
use crate::keyed::{Keyed, computed, filtered};
use crate::query::Query;
use crate::report::Report;
use crate::table::{Row, RowIter, Table};

/// A handle to a secondary index of `T` (keys of type `K`): rows by key, in key order, kept
/// exact on every write like every index of relata. Returned by [`Db::index`],
/// [`Db::index_by`] and [`Db::index_where`].
///
/// | SQL | relata | cost |
/// |---|---|---|
/// | `SELECT … WHERE k = ?` | [`find`](Index::find) | O(log n + k) |
/// | `SELECT … WHERE k BETWEEN ? AND ?` | [`range`](Index::range) | O(log n + k) |
/// | `SELECT count(*) … WHERE k = ?` | [`count`](Index::count) | O(log n) |
/// | `SELECT count(*) … WHERE k BETWEEN ? AND ?` | [`count_range`](Index::count_range) | O(log n + keys in the range) |
/// | `… ORDER BY k LIMIT ? OFFSET ?` | [`query`](Index::query), [`iter`](Index::iter) | O(log n + k) |
/// | `UPDATE … WHERE k BETWEEN …` | [`modify_range`](Index::modify_range) | O(log n + k) |
/// | `DELETE … WHERE k BETWEEN …` | [`delete_range`](Index::delete_range) | O(log n + k) + cascades |
///
/// ```
/// use relata::{Db, Id, field};
/// #[derive(Clone)] struct Member;
/// #[derive(Clone)] struct Loan { member: Id<Member>, due_on: u32 }
/// let mut db = Db::new();
/// let members = db.create_table::<Member>()?;
/// let loans = db.create_table::<Loan>()?;
/// let by_due = db.index(loans, field!(Loan, due_on))?;
/// let by_member_due = db.index_by(loans, "member_due", |l: &Loan| (l.member, l.due_on))?;
///
/// let ada = members.insert(&mut db, Member)?;
/// for due_on in [20, 5, 12] {
///     loans.insert(&mut db, Loan { member: ada, due_on })?;
/// }
/// let today = 13;
/// let overdue: Vec<u32> = by_due.range(&db, ..today)?.map(|l| l.due_on).collect();
/// assert_eq!(overdue, [5, 12]);
/// let ada_overdue = by_member_due.count_range(&db, (ada, 0)..(ada, today))?;
/// assert_eq!(ada_overdue, 2);
/// # Ok::<(), relata::Error>(())
/// ```
pub struct Index<T, K> {
    keyed: Keyed<T, K>,
}

impl<T, K> Clone for Index<T, K> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T, K> Copy for Index<T, K> {}
impl<T, K> fmt::Debug for Index<T, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Index<{}.{}>", model_name::<T>(), self.keyed.name)
    }
}

impl Db {
    /// Declares a secondary index on `field` of `table` (SQL `CREATE INDEX`): lookups by value
    /// and by range, counts and ordered iteration, without a scan. Existing rows are indexed.
    /// Every later write keeps it exact. O(n log n) for n rows already stored; then O(log n) per
    /// write that changes the field.
    pub fn index<T: Model, K: Key>(
        &mut self,
        table: Table<T>,
        field: Field<T, K>,
    ) -> Result<Index<T, K>> {
        let key = KeyFn::Field(field.get);
        let at = self
            .core
            .add_key_index(table.at, field.name, key, field.span, false)?;
        Ok(Index::new(at, field.name))
    }

    /// Declares a secondary index on a key computed from each row: a tuple for a composite key
    /// (`|l: &Loan| (l.member, l.due_on)`), or any function of the row. `name` names it in
    /// messages. The function must be deterministic; it runs on every write to the table.
    /// O(n log n) for the n rows already stored (they are indexed).
    pub fn index_by<T: Model, K: Key>(
        &mut self,
        table: Table<T>,
        name: &'static str,
        key: impl Fn(&T) -> K + Send + Sync + 'static,
    ) -> Result<Index<T, K>> {
        let key = computed(move |row: &T| Some(key(row)));
        let at = self.core.add_key_index(table.at, name, key, None, false)?;
        Ok(Index::new(at, name))
    }

    /// Declares a *partial* secondary index: only the rows `filter` selects are indexed
    /// (SQL `CREATE INDEX … WHERE …`), under the key `key` computes.
    /// O(n log n) for the n rows already stored.
    pub fn index_where<T: Model, K: Key>(
        &mut self,
        table: Table<T>,
        name: &'static str,
        filter: impl Fn(&T) -> bool + Send + Sync + 'static,
        key: impl Fn(&T) -> K + Send + Sync + 'static,
    ) -> Result<Index<T, K>> {
        let key = filtered(filter, key);
        let at = self.core.add_key_index(table.at, name, key, None, false)?;
        Ok(Index::new(at, name))
    }
}

impl<T: Model, K: Key> Index<T, K> {
    fn new(at: IndexAt, name: &'static str) -> Self {
        Index {
            keyed: Keyed::new(at, name),
        }
    }

    /// The rows whose key equals `key`, in creation order. Takes any borrowed form of the key
    /// (`find(&db, "sf")` for a `String` key). O(log n + k).
    pub fn find<'a, Q>(&self, db: &'a Db, key: &Q) -> Result<RowIter<'a, T>>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.keyed.find(db, key)
    }

    /// Number of rows whose key equals `key`. O(log n).
    pub fn count<Q>(&self, db: &Db, key: &Q) -> Result<usize>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.keyed.count(db, key)
    }

    /// The rows whose keys fall in `range`, in key order (creation order within a key).
    /// O(log n + k). As with `BTreeMap::range`, a range of a borrowed form of the key (`str`
    /// for a `String` key) is a pair of [`Bound`](std::ops::Bound)s with the form named:
    /// `range::<str, _>(&db, (Bound::Included("a"), Bound::Excluded("c")))`.
    pub fn range<'a, Q, R>(&self, db: &'a Db, range: R) -> Result<RowIter<'a, T>>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
        R: RangeBounds<Q>,
    {
        self.keyed.range(db, range)
    }

    /// Number of rows whose keys fall in `range`. O(log n + keys in the range).
    pub fn count_range<Q, R>(&self, db: &Db, range: R) -> Result<usize>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
        R: RangeBounds<Q>,
    {
        self.keyed.count_range(db, range)
    }

    /// Every indexed row, in key order. O(n).
    pub fn iter<'a>(&self, db: &'a Db) -> Result<RowIter<'a, T>> {
        self.keyed.iter(db)
    }

    /// The rows of `range`, filtered, ordered, limited and offset by `query` (SQL
    /// `SELECT … WHERE k BETWEEN … AND <filter> ORDER BY … LIMIT … OFFSET …`). Without an order
    /// they come in key order (creation order within a key), and the read stops once the page
    /// is full; with an order, rows it considers equal keep that key order, not creation order.
    /// O(log n + rows read): without an order, the rows up to the end of the page (offset,
    /// rows the filter skips and limit); with one, every row of `range`, plus the sort.
    ///
    /// ```
    /// use relata::{Db, Query, field};
    /// #[derive(Clone)] struct Loan { due_on: u32, fine: u32 }
    /// let mut db = Db::new();
    /// let loans = db.create_table::<Loan>()?;
    /// let by_due = db.index(loans, field!(Loan, due_on))?;
    /// for (due_on, fine) in [(1, 0), (2, 5), (3, 9), (4, 1)] {
    ///     loans.insert(&mut db, Loan { due_on, fine })?;
    /// }
    /// let fined = Query::new().filter(|l: &relata::Row<Loan>| l.fine > 0).limit(2);
    /// let due: Vec<u32> = by_due.query(&db, ..4, &fined)?.iter().map(|l| l.due_on).collect();
    /// assert_eq!(due, [2, 3]);
    /// # Ok::<(), relata::Error>(())
    /// ```
    pub fn query<'a, Q, R>(
        &self,
        db: &'a Db,
        range: R,
        query: &Query<'_, T>,
    ) -> Result<Vec<Row<'a, T>>>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
        R: RangeBounds<Q>,
    {
        self.keyed.query(db, range, query)
    }

    /// Applies `change` to every row whose key falls in `range`, as one atomic set-based update
    /// (SQL `UPDATE … WHERE k BETWEEN …`); see [`Table::modify_where`], except that rows are
    /// changed and checked in key order, not storage order (a change that shifts unique values
    /// can pass or fail where `modify_where` would not). Returns how many rows changed.
    /// O(log n + k), not a scan, plus O(log n) per index for each row whose keys change.
    pub fn modify_range<Q, R>(
        &self,
        db: &mut Db,
        range: R,
        change: impl FnMut(&mut T),
    ) -> Result<usize>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
        R: RangeBounds<Q>,
    {
        self.keyed.modify_range(db, range, change)
    }

    /// Deletes every row whose key falls in `range`, with their on-delete actions, as one
    /// atomic delete (SQL `DELETE … WHERE k BETWEEN …`). Returns its report.
    /// O(log n + k) for k rows in the range, plus each delete and its on-delete actions.
    pub fn delete_range<Q, R>(&self, db: &mut Db, range: R) -> Result<Report>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
        R: RangeBounds<Q>,
    {
        self.keyed.delete_range(db, range)
    }
}
