//! Unique keys: a unique index on a field or a computed key of a table (partial if it leaves
//! rows out), with lookups, range queries and upserts; one that leaves no row out can be a
//! source key.

use std::borrow::Borrow;
use std::fmt;
use std::ops::RangeBounds;

use crate::core::{IndexAt, KeyFn};
use crate::db::{Db, Model};
use crate::error::Result;
use crate::id::{Id, model_name};
use crate::key::{Field, Key};
use crate::keyed::{Keyed, computed, filtered};
use crate::query::Query;
use crate::report::Report;
use crate::table::{Row, RowIter, Table};

/// A handle to a unique key of `T` (values of type `K`), returned by [`Db::unique`]. It finds
/// rows by value, and can serve as the source key of an association ([`Db::has_many_by`]).
pub struct Unique<T, K> {
    /// Where the index is, and its name.
    pub(crate) keyed: Keyed<T, K>,
}

impl<T, K> Clone for Unique<T, K> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T, K> Copy for Unique<T, K> {}
impl<T, K> fmt::Debug for Unique<T, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Unique<{}.{}>", model_name::<T>(), self.keyed.name)
    }
}

impl Db {
    /// Declares `field` of `table` unique: inserts and updates that would duplicate a value fail
    /// with [`Error::Unique`](crate::Error::Unique). Existing rows are indexed (and must already
    /// be unique). O(n log n) for n rows already stored.
    ///
    /// ```
    /// use relata::{Db, Error, field};
    /// #[derive(Clone)]
    /// struct User { email: String }
    /// let mut db = Db::new();
    /// let users = db.create_table::<User>()?;
    /// let by_email = db.unique(users, field!(User, email))?;
    /// let ada = users.insert(&mut db, User { email: "ada@example.com".into() })?;
    /// let dup = users.insert(&mut db, User { email: "ada@example.com".into() });
    /// assert!(matches!(dup, Err(Error::Unique { field: "email", .. })));
    /// assert_eq!(by_email.find(&db, "ada@example.com")?.map(|r| r.id()), Some(ada));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn unique<T: Model, K: Key>(
        &mut self,
        table: Table<T>,
        field: Field<T, K>,
    ) -> Result<Unique<T, K>> {
        let at = self.core.add_key_index(
            table.at,
            field.name,
            KeyFn::Field(field.get),
            field.span,
            true,
        )?;
        Ok(Unique::new(at, field.name))
    }
}

impl Db {
    /// Declares a unique key computed from each row (a tuple for a composite key): inserts and
    /// updates that would give two rows the same key fail with
    /// [`Error::Unique`](crate::Error::Unique), naming the key `name`. O(n log n) for n rows
    /// already stored.
    ///
    /// ```
    /// use relata::{Db, Error, Id};
    /// #[derive(Clone)] struct Shelf;
    /// #[derive(Clone)] struct Book { shelf: Id<Shelf>, position: u32 }
    /// let mut db = Db::new();
    /// let shelves = db.create_table::<Shelf>()?;
    /// let books = db.create_table::<Book>()?;
    /// let at = db.unique_by(books, "shelf_position", |b: &Book| (b.shelf, b.position))?;
    /// let s = shelves.insert(&mut db, Shelf)?;
    /// books.insert(&mut db, Book { shelf: s, position: 1 })?;
    /// let clash = books.insert(&mut db, Book { shelf: s, position: 1 });
    /// assert!(matches!(clash, Err(Error::Unique { field: "shelf_position", .. })));
    /// assert!(at.find(&db, &(s, 1))?.is_some());
    /// # Ok::<(), Error>(())
    /// ```
    pub fn unique_by<T: Model, K: Key>(
        &mut self,
        table: Table<T>,
        name: &'static str,
        key: impl Fn(&T) -> K + Send + Sync + 'static,
    ) -> Result<Unique<T, K>> {
        let key = computed(move |row: &T| Some(key(row)));
        let at = self.core.add_key_index(table.at, name, key, None, true)?;
        Ok(Unique::new(at, name))
    }

    /// Declares a *partial* unique key: unique among the rows `filter` selects, other rows
    /// being left out of the index (SQL `CREATE UNIQUE INDEX … WHERE …`): "at most one active
    /// loan per book". O(n log n) for the n rows already stored.
    ///
    /// ```
    /// use relata::{Db, Error, Id};
    /// #[derive(Clone)] struct Book;
    /// #[derive(Clone)] struct Loan { book: Id<Book>, returned: bool }
    /// let mut db = Db::new();
    /// let books = db.create_table::<Book>()?;
    /// let loans = db.create_table::<Loan>()?;
    /// let active = db.unique_where(loans, "active_loan", |l: &Loan| !l.returned, |l: &Loan| l.book)?;
    /// let b = books.insert(&mut db, Book)?;
    /// loans.insert(&mut db, Loan { book: b, returned: true })?;
    /// loans.insert(&mut db, Loan { book: b, returned: true })?; // returned loans don't count
    /// let first = loans.insert(&mut db, Loan { book: b, returned: false })?;
    /// assert!(loans.insert(&mut db, Loan { book: b, returned: false }).is_err());
    /// assert_eq!(active.find(&db, &b)?.map(|l| l.id()), Some(first));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn unique_where<T: Model, K: Key>(
        &mut self,
        table: Table<T>,
        name: &'static str,
        filter: impl Fn(&T) -> bool + Send + Sync + 'static,
        key: impl Fn(&T) -> K + Send + Sync + 'static,
    ) -> Result<Unique<T, K>> {
        let key = filtered(filter, key);
        let at = self.core.add_key_index(table.at, name, key, None, true)?;
        Ok(Unique::new(at, name))
    }
}

impl<T: Model, K: Key> Unique<T, K> {
    pub(crate) fn new(at: IndexAt, name: &'static str) -> Self {
        Unique {
            keyed: Keyed::new(at, name),
        }
    }

    /// The row whose key equals `key`, if any (Sequelize `findOne({ where })` on a unique key).
    /// Takes any borrowed form of the key, as `BTreeMap::get` does: `find(&db, "sf")` for a
    /// `String` key. O(log n).
    pub fn find<'a, Q>(&self, db: &'a Db, key: &Q) -> Result<Option<Row<'a, T>>>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.keyed.find_one(db, key)
    }

    /// The rows whose keys fall in `range`, in key order. O(log n + k). As with
    /// `BTreeMap::range`, a range of a borrowed form of the key (`str` for a `String` key) is
    /// a pair of [`Bound`](std::ops::Bound)s with the form named: `range::<str, _>(&db,
    /// (Bound::Unbounded, Bound::Excluded("c")))`.
    ///
    /// ```
    /// use relata::{Db, field};
    /// #[derive(Clone)] struct User { name: String }
    /// let mut db = Db::new();
    /// let users = db.create_table::<User>()?;
    /// let by_name = db.unique(users, field!(User, name))?;
    /// for name in ["cyd", "ada", "bob"] {
    ///     users.insert(&mut db, User { name: name.into() })?;
    /// }
    /// let first_two: Vec<_> = by_name.range(&db, .."c".to_string())?.map(|u| u.name.clone()).collect();
    /// assert_eq!(first_two, ["ada", "bob"]);
    /// // The same range, without building a `String`:
    /// use std::ops::Bound;
    /// let up_to_c = (Bound::Unbounded, Bound::Excluded("c"));
    /// assert_eq!(by_name.range::<str, _>(&db, up_to_c)?.count(), 2);
    /// # Ok::<(), relata::Error>(())
    /// ```
    pub fn range<'a, Q, R>(&self, db: &'a Db, range: R) -> Result<RowIter<'a, T>>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
        R: RangeBounds<Q>,
    {
        self.keyed.range(db, range)
    }

    /// Number of rows whose keys fall in `range`. O(log n + k).
    pub fn count_range<Q, R>(&self, db: &Db, range: R) -> Result<usize>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
        R: RangeBounds<Q>,
    {
        self.keyed.count_range(db, range)
    }

    /// Every row the key indexes, in key order. O(n).
    pub fn iter<'a>(&self, db: &'a Db) -> Result<RowIter<'a, T>> {
        self.keyed.iter(db)
    }

    /// The rows of `range`, filtered, ordered, limited and offset by `query`. Without an order
    /// they come in key order, and the read stops once the page is full; with one, rows it
    /// considers equal keep key order. O(log n + rows read): without an order, those up to the
    /// end of the page; with one, every row of `range`, plus the sort.
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

    /// Applies `change` to every row whose key falls in `range`, as one atomic set-based
    /// update (see [`Table::modify_where`]; rows are changed and checked in key order, not
    /// storage order). Returns how many rows changed. O(log n + k), plus
    /// O(log n) per index for each row whose keys change.
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
    /// atomic delete. Returns its report.
    /// O(log n + k) for k rows in the range, plus each delete and its on-delete actions.
    pub fn delete_range<Q, R>(&self, db: &mut Db, range: R) -> Result<Report>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
        R: RangeBounds<Q>,
    {
        self.keyed.delete_range(db, range)
    }

    /// The row holding `row`'s key, or `row` inserted if none does (Sequelize
    /// `findOrCreate({ where: { key }, defaults: row })`). Returns its id and whether it was
    /// inserted. Atomic. O(log n) per index.
    ///
    /// ```
    /// use relata::{Db, field};
    /// #[derive(Clone)] struct Tag { name: String, uses: u32 }
    /// let mut db = Db::new();
    /// let tags = db.create_table::<Tag>()?;
    /// let by_name = db.unique(tags, field!(Tag, name))?;
    /// let (sf, new) = by_name.find_or_insert(&mut db, Tag { name: "sf".into(), uses: 0 })?;
    /// assert!(new);
    /// let (again, new) = by_name.find_or_insert(&mut db, Tag { name: "sf".into(), uses: 9 })?;
    /// assert_eq!((again, new), (sf, false));
    /// assert_eq!(tags.get(&db, sf)?.uses, 0, "the existing row is left as it is");
    /// # Ok::<(), relata::Error>(())
    /// ```
    pub fn find_or_insert(&self, db: &mut Db, row: T) -> Result<(Id<T>, bool)> {
        if let Some(id) = self.keyed.holder_of(db, &row)? {
            return Ok((Id::from_raw(id), false));
        }
        self.keyed.table().insert(db, row).map(|id| (id, true))
    }

    /// Inserts `row`, or replaces the row holding its key (Sequelize `upsert`). Returns its id
    /// and whether it was inserted. The replacement is an [`update`](Table::update): checked,
    /// with on-update actions. Atomic. O(log n) per index.
    ///
    /// ```
    /// use relata::{Db, field};
    /// #[derive(Clone)] struct Score { player: &'static str, points: u32 }
    /// let mut db = Db::new();
    /// let scores = db.create_table::<Score>()?;
    /// let by_player = db.unique(scores, field!(Score, player))?;
    /// let (id, inserted) = by_player.upsert(&mut db, Score { player: "ada", points: 1 })?;
    /// assert!(inserted);
    /// let (same, inserted) = by_player.upsert(&mut db, Score { player: "ada", points: 5 })?;
    /// assert_eq!((same, inserted), (id, false));
    /// assert_eq!(scores.get(&db, id)?.points, 5);
    /// # Ok::<(), relata::Error>(())
    /// ```
    pub fn upsert(&self, db: &mut Db, row: T) -> Result<(Id<T>, bool)> {
        let table = self.keyed.table();
        match self.keyed.holder_of(db, &row)? {
            Some(id) => table
                .update(db, Id::from_raw(id), row)
                .map(|_| (Id::from_raw(id), false)),
            None => table.insert(db, row).map(|id| (id, true)),
        }
    }
}
