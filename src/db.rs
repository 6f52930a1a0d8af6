//! The database value: tables, associations and unique indexes, behind one catalog.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Arc;

use crate::assoc::{AssocData, AssocMeta};
use crate::error::{Error, Result};
use crate::id::{Id, RawId, model_name};
use crate::key::Key;
use crate::rows::Rows;
use crate::table::{Table, not_found};

/// A type that can be stored as a row: any `Clone + Send + Sync + 'static` type.
///
/// Rows are cloned when a write touches a part of the storage still shared with a snapshot or an
/// open transaction, so cheap clones (small structs, `Arc<str>` for long text) keep those fast.
pub trait Model: Clone + Send + Sync + 'static {}
impl<T: Clone + Send + Sync + 'static> Model for T {}

/// What the catalog knows about one table.
#[derive(Clone)]
pub(crate) struct TableMeta {
    pub(crate) name: &'static str,
    /// Associations whose foreign key lives on this table (it is their target).
    pub(crate) fks: Vec<usize>,
    /// Associations whose foreign key references this table (it is their source).
    pub(crate) refs: Vec<usize>,
    /// Unique indexes on this table's attributes.
    pub(crate) uniques: Vec<usize>,
    /// Whether moving a foreign key of this table must take the full write path
    /// ([`Table::update`](crate::Table::update)): the table has unique indexes, or is the target
    /// of a has-one association. Kept here so the check costs one load on every relink.
    pub(crate) checked_relinks: bool,
}

/// Definitions, shared (copy-on-write) by a database and its forks.
#[derive(Clone, Default)]
pub(crate) struct Catalog {
    pub(crate) tables: Vec<TableMeta>,
    by_type: HashMap<TypeId, usize>,
}

/// The type-erased storage of one table.
pub(crate) trait ErasedTable: Any + Send + Sync {
    fn clone_box(&self) -> Box<dyn ErasedTable>;
    /// Number of live rows.
    fn len(&self) -> usize;
    /// Removes row `id`, shows it to `unindex`, and returns it if `keep`, else drops it.
    /// `None` if there was no such row. One walk down the storage.
    fn remove_with(
        &mut self,
        id: RawId,
        keep: bool,
        unindex: &mut dyn FnMut(&dyn Any),
    ) -> Option<Option<Box<dyn Any + Send>>>;
}

impl<T: Model> ErasedTable for Rows<T> {
    fn clone_box(&self) -> Box<dyn ErasedTable> {
        Box::new(self.clone())
    }
    fn len(&self) -> usize {
        Rows::len(self)
    }
    fn remove_with(
        &mut self,
        id: RawId,
        keep: bool,
        unindex: &mut dyn FnMut(&dyn Any),
    ) -> Option<Option<Box<dyn Any + Send>>> {
        let row = self.remove(id)?;
        unindex(&row);
        Some(keep.then(|| Box::new(row) as Box<dyn Any + Send>))
    }
}

/// Something kept in step with the rows of one table: a foreign key (on its target table) or a
/// unique index. The one code path through which every write reaches the indexes.
pub(crate) trait RowIndex: Send + Sync {
    /// Whether `row` may be stored (as a new row, or replacing row `id`).
    fn check(&self, db: &Db, id: Option<RawId>, row: &dyn Any) -> Result<()>;
    fn insert(&mut self, id: RawId, row: &dyn Any);
    fn remove(&mut self, id: RawId, row: &dyn Any);
    fn update(&mut self, id: RawId, old: &dyn Any, new: &dyn Any) {
        self.remove(id, old);
        self.insert(id, new);
    }
    /// Recomputes the index from the rows and describes the first difference.
    fn verify(&self, db: &Db) -> std::result::Result<(), String>;
}

/// The type-erased form of an association, for the paths that do not know its types: writes
/// to its target table, deletes of its source rows, integrity checks.
pub(crate) trait ErasedAssoc: Any + RowIndex {
    fn clone_box(&self) -> Box<dyn ErasedAssoc>;
    fn meta(&self) -> &AssocMeta;
    /// Target rows linked to source row `source`, in creation order.
    fn children(&self, db: &Db, source: RawId) -> Vec<RawId>;
    /// Nulls the foreign key of `child` (declared nullable; checked at definition).
    fn null_child(&mut self, tables: &mut [Box<dyn ErasedTable>], child: RawId);
    /// Source row `source` is being rewritten from `old` to `new`. If its key changes and it has
    /// children, returns what [`cascade_key_change`](Self::cascade_key_change) needs, or a
    /// `Restricted` error.
    fn check_key_change(
        &self,
        db: &Db,
        source: RawId,
        old: &dyn Any,
        new: &dyn Any,
    ) -> Result<Option<Box<dyn Any>>>;
    fn cascade_key_change(&mut self, tables: &mut [Box<dyn ErasedTable>], change: Box<dyn Any>);
    /// Source row `source` (value `row`) is being deleted by a cascade plan, which deletes or has
    /// already nulled every child still linked to it: drops its bucket whole, so that those
    /// children's deletes find nothing to unindex.
    fn forget_source(&mut self, source: RawId, row: &dyn Any);
}

pub(crate) trait ErasedUnique: Any + RowIndex {
    fn clone_box(&self) -> Box<dyn ErasedUnique>;
    /// For a junction table's pair index: the junction row holding `pair`.
    fn pair_lookup(&self, _pair: (RawId, RawId)) -> Option<RawId> {
        None
    }
}

impl Clone for Box<dyn ErasedTable> {
    fn clone(&self) -> Self {
        self.clone_box()
    }
}
impl Clone for Box<dyn ErasedAssoc> {
    fn clone(&self) -> Self {
        self.clone_box()
    }
}
impl Clone for Box<dyn ErasedUnique> {
    fn clone(&self) -> Self {
        self.clone_box()
    }
}

/// An in-memory relational database: typed tables, foreign keys with their indexes, and
/// associations between tables.
///
/// A `Db` is a persistent value: [`Clone`] (or [`fork`](Db::fork)) is O(1) whatever the number of
/// rows, and the copies are independent. Transactions are built on that (see
/// [`transaction`](Db::transaction)).
///
/// Tables and associations are declared on the database and handed back as typed, `Copy`
/// handles whose methods do the work:
///
/// ```
/// use relata::{Db, Id, fk};
///
/// #[derive(Clone, Debug)]
/// struct Post { title: String }
/// #[derive(Clone, Debug)]
/// struct Comment { post: Option<Id<Post>>, body: String }
///
/// let mut db = Db::new();
/// let posts = db.create_table::<Post>()?;
/// let comments = db.create_table::<Comment>()?;
/// let post_comments = db.has_many(posts, comments, fk!(Comment, post))?;
///
/// let hello = posts.insert(&mut db, Post { title: "Hello".into() })?;
/// let first = post_comments.create(&mut db, hello, Comment { post: None, body: "First!".into() })?;
/// assert_eq!(post_comments.count(&db, hello)?, 1);
/// assert_eq!(comments.get(&db, first)?.post, Some(hello));
/// # Ok::<(), relata::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct Db {
    pub(crate) catalog: Arc<Catalog>,
    pub(crate) tables: Vec<Box<dyn ErasedTable>>,
    pub(crate) assocs: Vec<Box<dyn ErasedAssoc>>,
    pub(crate) uniques: Vec<Box<dyn ErasedUnique>>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = f.debug_map();
        for (meta, table) in self.catalog.tables.iter().zip(&self.tables) {
            s.entry(&meta.name, &table.len());
        }
        s.finish()
    }
}

impl Db {
    /// An empty database with no tables.
    pub fn new() -> Self {
        Db::default()
    }

    /// Declares a table of `T` rows. A database holds at most one table per row type, so that
    /// an `Id<T>` always means a row of that table.
    ///
    /// ```
    /// # use relata::Db;
    /// #[derive(Clone)]
    /// struct Post;
    /// let mut db = Db::new();
    /// let posts = db.create_table::<Post>()?;
    /// assert!(db.create_table::<Post>().is_err());
    /// # Ok::<(), relata::Error>(())
    /// ```
    pub fn create_table<T: Model>(&mut self) -> Result<Table<T>> {
        let name = model_name::<T>();
        let type_id = TypeId::of::<T>();
        if self.catalog.by_type.contains_key(&type_id) {
            return Err(Error::Definition {
                message: format!("a table of {name} already exists in this database"),
            });
        }
        let index = self.tables.len();
        let catalog = Arc::make_mut(&mut self.catalog);
        catalog.by_type.insert(type_id, index);
        catalog.tables.push(TableMeta {
            name,
            fks: Vec::new(),
            refs: Vec::new(),
            uniques: Vec::new(),
            checked_relinks: false,
        });
        self.tables.push(Box::new(Rows::<T>::new()));
        Ok(Table::new(index))
    }

    /// The table of `T` rows, if one was declared.
    pub fn table<T: Model>(&self) -> Option<Table<T>> {
        self.catalog
            .by_type
            .get(&TypeId::of::<T>())
            .map(|&i| Table::new(i))
    }

    /// An independent copy of the database. O(1) in the number of rows (O(number of tables and
    /// associations)): the copies share their storage until one of them writes, and then only the
    /// touched paths are copied. Ids issued in one copy never resolve in the other.
    ///
    /// ```
    /// # use relata::Db;
    /// #[derive(Clone, Debug, PartialEq)]
    /// struct Player { score: u32 }
    /// let mut db = Db::new();
    /// let players = db.create_table::<Player>()?;
    /// let p = players.insert(&mut db, Player { score: 1 })?;
    /// let snapshot = db.fork();
    /// players.update(&mut db, p, Player { score: 2 })?;
    /// assert_eq!(players.get(&snapshot, p)?.score, 1);
    /// assert_eq!(players.get(&db, p)?.score, 2);
    /// # Ok::<(), relata::Error>(())
    /// ```
    pub fn fork(&self) -> Db {
        self.clone()
    }

    /// Recomputes every index (foreign keys and unique attributes) from the rows and compares it
    /// with the maintained one; also checks that no foreign key dangles. O(n log n). Meant for
    /// tests: relata keeps this true after every operation.
    pub fn check_integrity(&self) -> std::result::Result<(), String> {
        for assoc in &self.assocs {
            assoc
                .verify(self)
                .map_err(|e| format!("association `{}`: {e}", assoc.meta().name))?;
        }
        for unique in &self.uniques {
            unique.verify(self)?;
        }
        Ok(())
    }

    pub(crate) fn meta(&self, table: usize) -> &TableMeta {
        &self.catalog.tables[table]
    }

    #[inline]
    pub(crate) fn rows<T: Model>(&self, table: usize) -> Result<&Rows<T>> {
        self.tables
            .get(table)
            .and_then(|t| (&**t as &dyn Any).downcast_ref())
            .ok_or_else(unknown::<T>("table"))
    }

    #[inline]
    pub(crate) fn assoc<S: Model, T: Model, K: Key>(
        &self,
        index: usize,
    ) -> Result<&AssocData<S, T, K>> {
        self.assocs
            .get(index)
            .and_then(|a| (&**a as &dyn Any).downcast_ref())
            .ok_or_else(unknown::<T>("association"))
    }

    /// The rows of `table` and association `index` at once (they live in different vectors),
    /// for batches of writes that touch both.
    #[inline]
    pub(crate) fn table_and_assoc_mut<S: Model, T: Model, K: Key>(
        &mut self,
        table: usize,
        index: usize,
    ) -> Result<TableAndAssoc<'_, S, T, K>> {
        let rows = rows_mut(&mut self.tables, table)?;
        let assoc = match self.assocs.get_mut(index) {
            Some(a) => (&mut **a as &mut dyn Any)
                .downcast_mut()
                .ok_or_else(unknown::<T>("association"))?,
            None => return Err(unknown::<T>("association")()),
        };
        Ok((rows, assoc))
    }

    /// Checks every constraint of `table` (foreign keys it holds, unique attributes) on `row`.
    pub(crate) fn check_row(&self, table: usize, id: Option<RawId>, row: &dyn Any) -> Result<()> {
        let meta = self.meta(table);
        for &a in &meta.fks {
            self.assocs[a].check(self, id, row)?;
        }
        for &u in &meta.uniques {
            self.uniques[u].check(self, id, row)?;
        }
        Ok(())
    }

    /// Stores `row` (checked by [`check_row`](Db::check_row)) in `table` and adds it to every
    /// index on that table. One walk down the storage.
    pub(crate) fn insert_row<T: Model>(&mut self, table: usize, row: T) -> Result<RawId> {
        let Db {
            catalog,
            tables,
            assocs,
            uniques,
        } = self;
        let (id, row) = rows_mut::<T>(tables, table)?.insert(row);
        let meta = &catalog.tables[table];
        for &a in &meta.fks {
            assocs[a].insert(id, row);
        }
        for &u in &meta.uniques {
            uniques[u].insert(id, row);
        }
        Ok(id)
    }

    /// Removes row `id` of `table` and takes it out of every index on that table, including the
    /// buckets of its children; returns it if `keep`. `None` if there was no such row.
    ///
    /// Only for rows of a cascade plan being applied: every row still linked to this one must
    /// be deleted later in the same plan (see [`ErasedAssoc::forget_source`]).
    pub(crate) fn remove_planned_row(
        &mut self,
        table: usize,
        id: RawId,
        keep: bool,
    ) -> Option<Option<Box<dyn Any + Send>>> {
        let Db {
            catalog,
            tables,
            assocs,
            uniques,
        } = self;
        let meta = &catalog.tables[table];
        tables[table].remove_with(id, keep, &mut |row| {
            for &a in &meta.fks {
                assocs[a].remove(id, row);
            }
            for &u in &meta.uniques {
                uniques[u].remove(id, row);
            }
            for &a in &meta.refs {
                assocs[a].forget_source(id, row);
            }
        })
    }

    /// Replaces row `id` of `table` (the new value checked by [`check_row`](Db::check_row)) and
    /// moves it in every index on that table; returns the old value, or `NotFound`. One walk
    /// down the storage.
    pub(crate) fn replace_row<T: Model>(&mut self, table: usize, id: Id<T>, row: T) -> Result<T> {
        let Db {
            catalog,
            tables,
            assocs,
            uniques,
        } = self;
        let slot = rows_mut::<T>(tables, table)?
            .get_mut(id.raw)
            .ok_or_else(|| not_found(id))?;
        let old = std::mem::replace(slot, row);
        let meta = &catalog.tables[table];
        for &a in &meta.fks {
            assocs[a].update(id.raw, &old, slot);
        }
        for &u in &meta.uniques {
            uniques[u].update(id.raw, &old, slot);
        }
        Ok(old)
    }

    pub(crate) fn add_assoc(&mut self, assoc: Box<dyn ErasedAssoc>) -> usize {
        let index = self.assocs.len();
        let (source, target) = (assoc.meta().source, assoc.meta().target);
        let catalog = Arc::make_mut(&mut self.catalog);
        catalog.tables[target].checked_relinks |= assoc.meta().unique;
        catalog.tables[target].fks.push(index);
        catalog.tables[source].refs.push(index);
        self.assocs.push(assoc);
        index
    }

    pub(crate) fn add_unique(&mut self, table: usize, unique: Box<dyn ErasedUnique>) -> usize {
        let index = self.uniques.len();
        let meta = &mut Arc::make_mut(&mut self.catalog).tables[table];
        meta.uniques.push(index);
        meta.checked_relinks = true;
        self.uniques.push(unique);
        index
    }
}

/// A table's rows and one of its associations, borrowed together.
pub(crate) type TableAndAssoc<'a, S, T, K> = (&'a mut Rows<T>, &'a mut AssocData<S, T, K>);

/// The rows of `table`, or `UnknownHandle`. A free function so that callers can borrow other
/// fields of the database beside it. Always inlined: as a call it cost add+remove 7 ns (of 85).
#[inline(always)]
fn rows_mut<T: Model>(tables: &mut [Box<dyn ErasedTable>], table: usize) -> Result<&mut Rows<T>> {
    match tables.get_mut(table) {
        Some(t) => (&mut **t as &mut dyn Any)
            .downcast_mut()
            .ok_or_else(unknown::<T>("table")),
        None => Err(unknown::<T>("table")()),
    }
}

/// The error for a handle this database did not declare (built only when needed).
fn unknown<T>(kind: &'static str) -> impl FnOnce() -> Error {
    #[cold]
    move || Error::UnknownHandle {
        handle: format!("the {kind} handle for {}", model_name::<T>()),
    }
}
