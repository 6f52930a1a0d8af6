//! Typed tables: the [`Table`] handle and its methods.

use std::fmt;
use std::marker::PhantomData;

mod row;
mod rows;

pub use row::Row;
pub use rows::{RowIter, Scan};

use crate::core::{Arena, Core, RESERVE_MAX, TableAt, TableData, unknown};
use crate::db::{Db, Model};
use crate::error::{Argument, Error, Result};
use crate::id::{AsId, Id, RawId, model_name};
use crate::report::Report;

/// [`Table::select`] keeps a page from storage order, in a heap, when it is at most this
/// share of the table (`1 / PAGE_SHARE`) and the table has rows out of turn; a larger page
/// costs less through creation order.
const PAGE_SHARE: usize = 8;

/// A handle to the table of `T` rows in a [`Db`], returned by [`Db::create_table`].
///
/// Handles are `Copy` and hold no borrow: keep them in a struct next to the database and pass
/// the database to each method. A handle works in the database that declared it and in every
/// fork of it; used with any other database, every method returns [`Error::UnknownHandle`].
pub struct Table<T> {
    pub(crate) at: TableAt,
    marker: PhantomData<fn() -> T>,
}

impl<T> Clone for Table<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Table<T> {}
impl<T> PartialEq for Table<T> {
    fn eq(&self, other: &Self) -> bool {
        self.at == other.at
    }
}
impl<T> Eq for Table<T> {}
impl<T> fmt::Debug for Table<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Table<{}>", model_name::<T>())
    }
}

/// What [`Table::delete`] removed: the row itself and the report of its referential actions.
#[derive(Debug, Clone)]
pub struct Deleted<T> {
    /// The deleted row's value.
    pub row: T,
    /// Every row the delete removed or changed, the root included.
    pub report: Report,
}

impl Db {
    /// Declares a table of `T` rows. A database holds at most one table per row type, so that
    /// an `Id<T>` always means a row of that table. O(1).
    ///
    /// ```
    /// # use relata::Db;
    /// #[derive(Clone)]
    /// struct Post;
    /// let mut db = Db::new();
    /// let posts = db.create_table::<Post>()?;
    /// assert!(db.create_table::<Post>().is_err());
    /// assert_eq!(db.table::<Post>(), Some(posts));
    /// # Ok::<(), relata::Error>(())
    /// ```
    pub fn create_table<T: Model>(&mut self) -> Result<Table<T>> {
        self.core.create_table::<T>().map(Table::new)
    }

    /// The table of `T` rows, if one was declared. O(1).
    pub fn table<T: Model>(&self) -> Option<Table<T>> {
        self.core.table_of::<T>().map(Table::new)
    }
}

impl<T: Model> Table<T> {
    pub(crate) fn new(at: TableAt) -> Self {
        Table {
            at,
            marker: PhantomData,
        }
    }

    /// The table's data, or `UnknownHandle`.
    #[inline]
    pub(crate) fn data<'a>(&self, core: &'a Core) -> Result<&'a TableData<T>> {
        core.table(self.at).ok_or_else(|| unknown::<T>("table"))
    }

    #[inline]
    pub(crate) fn rows<'a>(&self, db: &'a Db) -> Result<&'a Arena<T>> {
        self.data(&db.core).map(TableData::rows)
    }

    /// Inserts `row` and returns its id. Every foreign key the row holds must reference an
    /// existing row ([`Error::ForeignKey`]) and every unique key must be free
    /// ([`Error::Unique`]). O(log n) per index on the table.
    ///
    /// ```
    /// # use relata::Db;
    /// #[derive(Clone)]
    /// struct Post { title: &'static str }
    /// let mut db = Db::new();
    /// let posts = db.create_table::<Post>()?;
    /// let id = posts.insert(&mut db, Post { title: "Hello" })?;
    /// assert_eq!(posts.get(&db, id)?.title, "Hello");
    /// # Ok::<(), relata::Error>(())
    /// ```
    pub fn insert(&self, db: &mut Db, row: T) -> Result<Id<T>> {
        self.data(&db.core)?;
        let mut w = db.core.write();
        let id = w.insert(self.at.index, row)?;
        w.commit()?;
        Ok(Id::from_raw(id))
    }

    /// The row `id` names, or [`Error::NotFound`]. O(log n).
    pub fn get<'a>(&self, db: &'a Db, id: impl AsId<T>) -> Result<Row<'a, T>> {
        let id = id.as_id();
        match self.rows(db)?.get(id.raw) {
            Some(value) => Ok(Row::new(id, value)),
            None => Err(not_found(id)),
        }
    }

    /// Whether `id` names a live row. O(log n).
    pub fn contains(&self, db: &Db, id: impl AsId<T>) -> Result<bool> {
        Ok(self.rows(db)?.contains(id.as_id().raw))
    }

    /// Number of rows. O(1).
    pub fn len(&self, db: &Db) -> Result<usize> {
        Ok(self.rows(db)?.len())
    }

    /// Whether the table has no rows. O(1).
    pub fn is_empty(&self, db: &Db) -> Result<bool> {
        Ok(self.len(db)? == 0)
    }

    /// Every row, in creation order, from either end. While no slot has been reused since the
    /// rows were created (no row deleted and another inserted after it, no change set
    /// applied), storage order is creation order and the rows are read straight from storage:
    /// no allocation, O(1) per row, as fast as [`scan`](Table::scan). Otherwise the rows
    /// stored out of turn (those in reused slots; rows a change set put under their ids can
    /// add more) are found by a pass over storage and merged into it as it is read:
    /// O(n + k log k) for k such rows, about three times a `scan` when k is small, with no copy
    /// of the rows. `scan` skips that when order does not matter.
    ///
    /// ```
    /// # use relata::Db;
    /// #[derive(Clone)]
    /// struct Unit { hp: u32 }
    /// let mut db = Db::new();
    /// let units = db.create_table::<Unit>()?;
    /// let first = units.insert(&mut db, Unit { hp: 1 })?;
    /// units.insert(&mut db, Unit { hp: 2 })?;
    /// units.delete(&mut db, first)?;
    /// units.insert(&mut db, Unit { hp: 3 })?; // stored in the freed slot
    /// let hp: Vec<u32> = units.iter(&db)?.map(|u| u.hp).collect();
    /// assert_eq!(hp, [2, 3]);
    /// let back: Vec<u32> = units.iter(&db)?.rev().map(|u| u.hp).collect();
    /// assert_eq!(back, [3, 2]);
    /// # Ok::<(), relata::Error>(())
    /// ```
    pub fn iter<'a>(&self, db: &'a Db) -> Result<RowIter<'a, T>> {
        Ok(RowIter::stored(self.rows(db)?))
    }

    /// Every row in storage order: no allocation, no sort, O(1) per row. The order is
    /// deterministic (the same history gives the same order) but is not creation order once
    /// slots of deleted rows are reused.
    ///
    /// ```
    /// # use relata::Db;
    /// #[derive(Clone)]
    /// struct Unit { hp: u32 }
    /// let mut db = Db::new();
    /// let units = db.create_table::<Unit>()?;
    /// for hp in [3, 5, 7] {
    ///     units.insert(&mut db, Unit { hp })?;
    /// }
    /// let total: u32 = units.scan(&db)?.map(|u| u.hp).sum();
    /// assert_eq!(total, 15);
    /// # Ok::<(), relata::Error>(())
    /// ```
    pub fn scan<'a>(&self, db: &'a Db) -> Result<Scan<'a, T>> {
        Ok(Scan::new(self.rows(db)?))
    }

    /// The rows matching `predicate`, in creation order, read as [`iter`](Table::iter) reads:
    /// O(n), plus O(k log k) for the k rows stored out of turn once slots were reused (a table
    /// with much delete-and-insert history can make that most of them). When order does not
    /// matter, `scan(db)?.filter(..)` reads storage order at no such cost.
    ///
    /// ```
    /// # use relata::Db;
    /// #[derive(Clone)]
    /// struct Player { score: u32 }
    /// let mut db = Db::new();
    /// let players = db.create_table::<Player>()?;
    /// for score in [5, 50, 500] {
    ///     players.insert(&mut db, Player { score })?;
    /// }
    /// let high: Vec<u32> = players.filter(&db, |p| p.score > 10)?.map(|p| p.score).collect();
    /// assert_eq!(high, [50, 500]);
    /// # Ok::<(), relata::Error>(())
    /// ```
    pub fn filter<'a>(
        &self,
        db: &'a Db,
        mut predicate: impl FnMut(&Row<'a, T>) -> bool,
    ) -> Result<RowIter<'a, T>> {
        // Through `for_each` (the iterator's `fold`): one loop over storage, not a merge step
        // per row.
        let mut found = Vec::new();
        RowIter::stored(self.rows(db)?).for_each(|row| {
            if predicate(&row) {
                found.push(row);
            }
        });
        Ok(RowIter::new(found))
    }

    /// The rows `query` selects, in its order (creation order without one), limited and
    /// offset (Sequelize `findAll({ where, order, limit, offset })`). Without an order, while no
    /// slot has been reused, the read stops after `offset + limit` matches. Once slots were
    /// reused (rows deleted and others inserted), a page of at most an eighth of the table is
    /// kept from one pass over storage (the filter sees every row), O(n + m log p) for m
    /// matches and p = `offset + limit`;
    /// a larger page, or none, is read in creation order as [`iter`](Table::iter) reads it,
    /// O(n + k log k) for the k rows stored out of turn. With an order, O(n) plus the sort.
    /// With an [`Index`](crate::Index) on the filtered key,
    /// [`Index::query`](crate::Index::query) reads only the rows of a key range.
    ///
    /// ```
    /// # use relata::{Db, Query};
    /// #[derive(Clone)]
    /// struct Player { score: u32 }
    /// let mut db = Db::new();
    /// let players = db.create_table::<Player>()?;
    /// for score in [5, 50, 500, 7] {
    ///     players.insert(&mut db, Player { score })?;
    /// }
    /// let top = Query::new().order_by(|a: &relata::Row<Player>, b| b.score.cmp(&a.score)).limit(2);
    /// let scores: Vec<u32> = players.select(&db, &top)?.iter().map(|p| p.score).collect();
    /// assert_eq!(scores, [500, 50]);
    /// # Ok::<(), relata::Error>(())
    /// ```
    pub fn select<'a>(&self, db: &'a Db, query: &crate::Query<'_, T>) -> Result<Vec<Row<'a, T>>> {
        let rows = self.rows(db)?;
        // A small page of a table with rows out of turn: the page's first matches are kept
        // from storage order, rather than the rows out of turn sorted into creation order.
        if query.is_page() && !rows.in_order() && query.page_end() <= rows.len() / PAGE_SHARE {
            return Ok(query.first_page(Scan::new(rows)));
        }
        Ok(query.apply(self.iter(db)?))
    }

    /// The rows matching `predicate`, in creation order: [`filter`](Table::filter), under its
    /// former name.
    #[deprecated(note = "renamed to `filter` (`find` reads like `Unique::find`, a key lookup)")]
    pub fn find<'a>(&self, db: &'a Db, predicate: impl Fn(&T) -> bool) -> Result<RowIter<'a, T>> {
        self.filter(db, |row| predicate(row))
    }

    /// Replaces row `id` with `row` and returns the old value. Foreign keys are checked as on
    /// insert, and moving a foreign key moves the row between its parents' child sets. If a
    /// key that other rows reference (a source key) changes, the association's on-update action
    /// applies: children follow the new value (transitively), are nulled, or the update is
    /// [`Error::Restricted`]. O(log n) per index, plus the children that follow.
    pub fn update(&self, db: &mut Db, id: impl AsId<T>, row: T) -> Result<T> {
        let id = id.as_id();
        self.data(&db.core)?;
        let mut w = db.core.write();
        w.replace(self.at.index, id.raw, row)?;
        w.check_deferred()?;
        let old = w.take_original::<T>(self.at.index, id.raw);
        w.commit()?;
        old.ok_or_else(|| not_found(id))
    }

    /// Applies `change` to a copy of row `id` and stores it with [`update`](Table::update). If
    /// `change` panics or the update fails, the database is unchanged.
    /// O(log n) per index, plus one clone of the row.
    ///
    /// ```
    /// # use relata::Db;
    /// #[derive(Clone)]
    /// struct Player { score: u32 }
    /// let mut db = Db::new();
    /// let players = db.create_table::<Player>()?;
    /// let p = players.insert(&mut db, Player { score: 1 })?;
    /// players.modify(&mut db, p, |p| p.score += 10)?;
    /// assert_eq!(players.get(&db, p)?.score, 11);
    /// # Ok::<(), relata::Error>(())
    /// ```
    pub fn modify(&self, db: &mut Db, id: impl AsId<T>, change: impl FnOnce(&mut T)) -> Result<()> {
        let id = id.as_id();
        let mut row = self.get(db, id)?.value().clone();
        change(&mut row);
        let mut w = db.core.write();
        w.replace(self.at.index, id.raw, row)?;
        w.commit()
    }

    /// Applies `change` to every row, atomically (SQL `UPDATE t SET …`), and returns how many
    /// rows it changed: [`modify_where`](Table::modify_where) without a filter.
    /// Costs as [`modify_where`](Table::modify_where).
    ///
    /// ```
    /// # use relata::Db;
    /// #[derive(Clone)]
    /// struct Unit { x: i32 }
    /// let mut db = Db::new();
    /// let units = db.create_table::<Unit>()?;
    /// for x in 0..3 {
    ///     units.insert(&mut db, Unit { x })?;
    /// }
    /// assert_eq!(units.modify_all(&mut db, |u| u.x += 10)?, 3);
    /// let xs: Vec<i32> = units.iter(&db)?.map(|u| u.x).collect();
    /// assert_eq!(xs, [10, 11, 12]);
    /// # Ok::<(), relata::Error>(())
    /// ```
    pub fn modify_all(&self, db: &mut Db, change: impl FnMut(&mut T)) -> Result<usize> {
        self.modify_where(db, |_| true, change)
    }

    /// Applies `change` to every row `filter` selects, as one atomic set-based update (SQL
    /// `UPDATE t SET … WHERE …`, Sequelize `Model.update(values, { where })`), and returns how
    /// many rows it changed. Each changed row is checked as [`update`](Table::update) checks
    /// one, in storage order ([`scan`](Table::scan)'s), against the rows changed before it and
    /// those not yet changed, as SQLite and PostgreSQL check a unique constraint row by row: a
    /// change that swaps or shifts unique values can be refused. If any check fails, or
    /// `filter` or `change` panics, nothing changes.
    ///
    /// O(n) for the scan, plus O(log n) per index for each row whose keys changed: rows change
    /// in place, and only those whose index keys moved are re-checked and reindexed. What makes
    /// it atomic costs a clone of each selected row: its old value is kept until the call
    /// succeeds (a storage leaf of 32 rows with most of them selected is kept whole, a leaf a
    /// snapshot shares is copied once), so a change to one small field of rows that own large
    /// `String`s or `Vec`s pays for cloning them; a plain loop of
    /// [`modify`](Table::modify) pays the same per row. (When another table references
    /// a key of this one, each selected row goes through [`update`](Table::update) instead, so
    /// that on-update actions apply: each row is changed from its value when its turn comes,
    /// so a row an earlier row's `OnUpdate::Cascade` rewrote is changed from what the cascade
    /// made of it, as SQL's cascades carry a tree's children along in one `UPDATE`.)
    ///
    /// ```
    /// # use relata::Db;
    /// #[derive(Clone)]
    /// struct Loan { overdue: bool, fine: u32 }
    /// let mut db = Db::new();
    /// let loans = db.create_table::<Loan>()?;
    /// loans.insert(&mut db, Loan { overdue: true, fine: 0 })?;
    /// loans.insert(&mut db, Loan { overdue: false, fine: 0 })?;
    /// let fined = loans.modify_where(&mut db, |l| l.overdue, |l| l.fine += 5)?;
    /// assert_eq!(fined, 1);
    /// # Ok::<(), relata::Error>(())
    /// ```
    pub fn modify_where(
        &self,
        db: &mut Db,
        mut filter: impl FnMut(&Row<'_, T>) -> bool,
        change: impl FnMut(&mut T),
    ) -> Result<usize> {
        self.data(&db.core)?;
        let mut w = db.core.write();
        let changed =
            w.modify_where(self.at.index, |id, row| filter(&Row::raw(id, row)), change)?;
        w.commit()?;
        Ok(changed)
    }

    /// Deletes every row `filter` selects, with their on-delete actions, as one atomic delete
    /// (SQL `DELETE FROM t WHERE …`, Sequelize `Model.destroy({ where })`). Returns the report
    /// of everything deleted and nulled (the selected rows first, in creation order). O(n) for
    /// the scan, plus the delete of each row and what it cascades to.
    pub fn delete_where(
        &self,
        db: &mut Db,
        filter: impl FnMut(&Row<'_, T>) -> bool,
    ) -> Result<Report> {
        let roots: Vec<(usize, RawId)> = self
            .filter(db, filter)?
            .map(|row| (self.at.index, row.id().raw))
            .collect();
        let mut w = db.core.write();
        let deletion = w.delete(&roots)?;
        w.commit()?;
        Ok(Report::new(deletion))
    }

    /// Inserts every row of `rows`, atomically: if one fails its checks, none is inserted.
    /// Returns their ids, in order. O(log n) per row and index.
    ///
    /// Cheaper per row than a loop of [`insert`](Table::insert)s (a third to a half less
    /// time for 100,000 rows without indexes, see `BENCHMARKS.md`): one operation, one atomic
    /// step for the creation numbers of the rows `rows.size_hint()` promises, and rows
    /// appended one after another are logged for rollback as one run, not one entry per row.
    /// A panic in `rows` undoes the rows inserted before it.
    ///
    /// ```
    /// # use relata::Db;
    /// #[derive(Clone)]
    /// struct Tag(&'static str);
    /// let mut db = Db::new();
    /// let tags = db.create_table::<Tag>()?;
    /// let ids = tags.insert_many(&mut db, [Tag("a"), Tag("b")])?;
    /// assert_eq!(ids.len(), 2);
    /// # Ok::<(), relata::Error>(())
    /// ```
    pub fn insert_many(
        &self,
        db: &mut Db,
        rows: impl IntoIterator<Item = T>,
    ) -> Result<Vec<Id<T>>> {
        self.data(&db.core)?;
        let mut w = db.core.write();
        let mut rows = rows.into_iter();
        // One atomic step for the creation numbers of the rows the iterator promises, and room
        // for their ids: both capped, since an unbounded iterator promises `usize::MAX` rows
        // and may fail at its first.
        let promised = rows.size_hint().0.min(RESERVE_MAX);
        w.reserve::<T>(self.at.index, promised)?;
        let mut ids = Vec::with_capacity(promised);
        let inserted = rows.try_for_each(|row| {
            ids.push(Id::from_raw(w.insert(self.at.index, row)?));
            Ok::<(), Error>(())
        });
        w.release::<T>(self.at.index);
        inserted?;
        w.commit()?;
        Ok(ids)
    }

    /// Deletes row `id`, applying the on-delete action of every association that references its
    /// table, transitively (see [`Report`] for the order). Atomic: if any `Restrict` action
    /// blocks, nothing is deleted. Returns the row and the report.
    /// O(log n) per index for each row deleted or nulled, plus the children each association finds.
    pub fn delete(&self, db: &mut Db, id: impl AsId<T>) -> Result<Deleted<T>> {
        let id = id.as_id();
        if !self.contains(db, id)? {
            return Err(not_found(id));
        }
        let mut w = db.core.write();
        let deletion = w.delete(&[(self.at.index, id.raw)])?;
        w.check_deferred()?;
        let row = w.take_original::<T>(self.at.index, id.raw);
        w.commit()?;
        match row {
            Some(row) => Ok(Deleted {
                row,
                report: Report::new(deletion),
            }),
            None => Err(not_found(id)),
        }
    }
}

/// `NotFound` for a row argument of a table method.
#[cold]
pub(crate) fn not_found<T>(id: Id<T>) -> Error {
    crate::core::not_found::<T>(id.raw, Argument::Row, None)
}
