//! Typed tables: the [`Table`] handle and its CRUD methods.

use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;

use crate::cascade::{self, Report};
use crate::db::{Db, Model};
use crate::error::{Error, Result};
use crate::id::{AsId, Id, model_name};

/// A handle to the table of `T` rows in a [`Db`], returned by [`Db::create_table`].
///
/// Handles are `Copy` and hold no borrow: keep them in a struct next to the database and pass
/// the database to each method. A handle stays valid in every fork of the database it came from;
/// used with any other database it yields [`Error::UnknownHandle`].
pub struct Table<T> {
    pub(crate) index: usize,
    marker: PhantomData<fn() -> T>,
}

impl<T> Clone for Table<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Table<T> {}
impl<T> fmt::Debug for Table<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Table<{}>", model_name::<T>())
    }
}

/// A row read from the database: its id and a reference to its value. Derefs to `T`.
pub struct Row<'a, T> {
    id: Id<T>,
    value: &'a T,
}

impl<'a, T> Row<'a, T> {
    pub(crate) fn new(id: Id<T>, value: &'a T) -> Self {
        Row { id, value }
    }

    /// The row's id.
    pub fn id(&self) -> Id<T> {
        self.id
    }

    /// The row's value, with the lifetime of the database borrow.
    pub fn value(&self) -> &'a T {
        self.value
    }
}

impl<T> Clone for Row<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Row<'_, T> {}
impl<T> Deref for Row<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.value
    }
}
impl<T: fmt::Debug> fmt::Debug for Row<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?}", self.id, self.value)
    }
}
impl<T> AsId<T> for Row<'_, T> {
    fn as_id(&self) -> Id<T> {
        self.id
    }
}
impl<T> AsId<T> for &Row<'_, T> {
    fn as_id(&self) -> Id<T> {
        self.id
    }
}

/// Rows in creation order. Returned by [`Table::iter`] and the association getters.
pub struct RowIter<'a, T>(std::vec::IntoIter<Row<'a, T>>);

impl<'a, T> Iterator for RowIter<'a, T> {
    type Item = Row<'a, T>;
    fn next(&mut self) -> Option<Row<'a, T>> {
        self.0.next()
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}
impl<T> ExactSizeIterator for RowIter<'_, T> {}
impl<T> DoubleEndedIterator for RowIter<'_, T> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back()
    }
}

impl<'a, T> RowIter<'a, T> {
    pub(crate) fn new(rows: Vec<Row<'a, T>>) -> Self {
        RowIter(rows.into_iter())
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

#[cold]
pub(crate) fn not_found<T>(id: Id<T>) -> Error {
    Error::NotFound {
        model: model_name::<T>(),
        id: id.to_string(),
    }
}

impl<T: Model> Table<T> {
    pub(crate) fn new(index: usize) -> Self {
        Table {
            index,
            marker: PhantomData,
        }
    }

    /// Inserts `row` and returns its id. Every foreign key the row holds must reference an
    /// existing row ([`Error::ForeignKey`]) and every unique attribute must be free
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
        let rows = db.rows::<T>(self.index)?;
        if !rows.has_room() {
            return Err(Error::Capacity {
                model: model_name::<T>(),
            });
        }
        db.check_row(self.index, None, &row)?;
        let raw = db.insert_row(self.index, row)?;
        Ok(Id::from_raw(raw))
    }

    /// The row `id` names, or [`Error::NotFound`]. O(log n).
    pub fn get<'a>(&self, db: &'a Db, id: impl AsId<T>) -> Result<Row<'a, T>> {
        let id = id.as_id();
        let value = db
            .rows::<T>(self.index)?
            .get(id.raw)
            .ok_or_else(|| not_found(id))?;
        Ok(Row::new(id, value))
    }

    /// Whether `id` names a live row. O(log n).
    pub fn contains(&self, db: &Db, id: impl AsId<T>) -> bool {
        db.rows::<T>(self.index)
            .is_ok_and(|rows| rows.contains(id.as_id().raw))
    }

    /// Number of rows. O(1).
    pub fn len(&self, db: &Db) -> usize {
        db.rows::<T>(self.index).map_or(0, |rows| rows.len())
    }

    /// Whether the table has no rows. O(1).
    pub fn is_empty(&self, db: &Db) -> bool {
        self.len(db) == 0
    }

    /// Every row, in creation order. O(n log n) (the storage order is sorted by creation).
    pub fn iter<'a>(&self, db: &'a Db) -> RowIter<'a, T> {
        self.find(db, |_| true)
    }

    /// The rows matching `predicate`, in creation order. O(n + m log m) for m matches.
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
    /// let high: Vec<u32> = players.find(&db, |p| p.score > 10).map(|p| p.score).collect();
    /// assert_eq!(high, [50, 500]);
    /// # Ok::<(), relata::Error>(())
    /// ```
    pub fn find<'a>(&self, db: &'a Db, predicate: impl Fn(&T) -> bool) -> RowIter<'a, T> {
        let mut found: Vec<Row<'a, T>> = match db.rows::<T>(self.index) {
            Ok(rows) => rows
                .iter()
                .filter(|(_, row)| predicate(row))
                .map(|(raw, row)| Row::new(Id::from_raw(raw), row))
                .collect(),
            Err(_) => Vec::new(),
        };
        found.sort_unstable_by_key(|row| row.id);
        RowIter::new(found)
    }

    /// Replaces row `id` with `row` and returns the old value. Foreign keys are checked as on
    /// insert, and moving a foreign key moves the row between its parents' child sets. If a
    /// unique attribute used as a source key changes, the association's on-update action applies
    /// (children follow the new value, or [`Error::Restricted`]). O(log n) per index.
    pub fn update(&self, db: &mut Db, id: impl AsId<T>, row: T) -> Result<T> {
        let id = id.as_id();
        let old = db
            .rows::<T>(self.index)?
            .get(id.raw)
            .ok_or_else(|| not_found(id))?;
        db.check_row(self.index, Some(id.raw), &row)?;
        let mut key_changes = Vec::new();
        for &a in &db.meta(self.index).refs {
            if let Some(change) = db.assocs[a].check_key_change(db, id.raw, old, &row)? {
                key_changes.push((a, change));
            }
        }
        let old = db.replace_row(self.index, id, row)?;
        for (a, change) in key_changes {
            db.assocs[a].cascade_key_change(&mut db.tables, change);
        }
        Ok(old)
    }

    /// Applies `change` to a copy of row `id` and stores it with [`update`](Table::update). If
    /// `change` panics or the update fails, the database is unchanged.
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
        self.update(db, id, row).map(drop)
    }

    /// Deletes row `id`, applying the on-delete action of every association that references its
    /// table, transitively (see [`Report`] for the order). Atomic: if any `Restrict` action
    /// blocks, nothing is deleted. Returns the row and the report.
    pub fn delete(&self, db: &mut Db, id: impl AsId<T>) -> Result<Deleted<T>> {
        let id = id.as_id();
        if !db.rows::<T>(self.index)?.contains(id.raw) {
            return Err(not_found(id));
        }
        let plan = cascade::plan(db, &[(self.index, id.raw)])?;
        let (mut taken, report) = cascade::apply(db, plan);
        let row = taken
            .swap_remove(0)
            .downcast::<T>()
            .expect("the first deleted row is the root");
        Ok(Deleted { row: *row, report })
    }
}
