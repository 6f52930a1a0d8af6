//! Associations: definitions, options and the machinery shared by every association type.
//!
//! An association is one foreign key on its target table plus that key's index. The foreign
//! key stored in the target row is the truth; the index is derived from it and is touched only
//! through [`AssocData`]'s [`RowIndex`] implementation and [`Link::relink`].

mod belongs_to;
pub(crate) mod belongs_to_many;
pub(crate) mod has_many;
mod has_one;
mod options;

use std::any::Any;
use std::collections::BTreeMap;
use std::marker::PhantomData;

pub use belongs_to::BelongsTo;
pub use belongs_to_many::BelongsToMany;

pub use has_many::HasMany;
pub use has_one::HasOne;
pub use options::{AssocOptions, OnDelete, OnUpdate, Unlink};

use crate::cascade;
use crate::db::{Db, ErasedAssoc, ErasedTable, Model, RowIndex};
use crate::error::{Error, Result};
use crate::id::{Id, RawId, model_name};
use crate::index::FkIndex;
use crate::key::{Field, ForeignKey, Key};
use crate::rows::Rows;
use crate::table::{Table, not_found};
use crate::unique::{Unique, UniqueData};

/// What every association knows about itself, whatever its types.
#[derive(Clone, Debug)]
pub(crate) struct AssocMeta {
    pub(crate) name: &'static str,
    pub(crate) inverse: &'static str,
    pub(crate) source: usize,
    pub(crate) target: usize,
    pub(crate) field: &'static str,
    pub(crate) nullable: bool,
    pub(crate) on_delete: OnDelete,
    pub(crate) on_update: OnUpdate,
    pub(crate) unlink: Unlink,
    /// HasOne: at most one target row per source.
    pub(crate) unique: bool,
}

/// How the source key of an association is obtained from a source row and resolved back.
pub(crate) enum SourceKey<S, K> {
    /// The foreign key holds the source's id (`K` is `Id<S>`).
    Id {
        to_key: fn(Id<S>) -> K,
        to_id: fn(&K) -> Id<S>,
    },
    /// The foreign key holds a unique attribute of the source.
    Attr { unique: usize, field: Field<S, K> },
}

impl<S, K> Clone for SourceKey<S, K> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<S, K> Copy for SourceKey<S, K> {}

/// A typed association: its definition and its index.
pub(crate) struct AssocData<S, T, K> {
    pub(crate) meta: AssocMeta,
    pub(crate) fk: ForeignKey<T, K>,
    pub(crate) source_key: SourceKey<S, K>,
    pub(crate) index: FkIndex<K>,
}

impl<S, T, K: Clone> Clone for AssocData<S, T, K> {
    fn clone(&self) -> Self {
        AssocData {
            meta: self.meta.clone(),
            fk: self.fk,
            source_key: self.source_key,
            index: self.index.clone(),
        }
    }
}

impl<S: Model, T: Model, K: Key> AssocData<S, T, K> {
    /// The source row a key value references, if it exists. O(log n).
    pub(crate) fn resolve(&self, db: &Db, key: &K) -> Option<RawId> {
        match self.source_key {
            SourceKey::Id { to_id, .. } => {
                let raw = to_id(key).raw;
                db.rows::<S>(self.meta.source)
                    .ok()?
                    .contains(raw)
                    .then_some(raw)
            }
            SourceKey::Attr { unique, .. } => {
                let data = (&*db.uniques[unique] as &dyn Any).downcast_ref::<UniqueData<S, K>>()?;
                data.map.get(key).copied()
            }
        }
    }

    /// The key of source row `source`, or `NotFound`. O(log n).
    #[inline]
    pub(crate) fn key_of(&self, db: &Db, source: Id<S>) -> Result<K> {
        let rows = db.rows::<S>(self.meta.source)?;
        let key = match self.source_key {
            SourceKey::Id { to_key, .. } => rows.contains(source.raw).then(|| to_key(source)),
            SourceKey::Attr { field, .. } => {
                rows.get(source.raw).map(|row| (field.get)(row).clone())
            }
        };
        key.ok_or_else(|| not_found(source))
    }

    /// The key `source` would have, when that needs no read of the source row (id keys). Says
    /// nothing about whether `source` is alive.
    #[inline]
    pub(crate) fn key_unchecked(&self, source: Id<S>) -> Option<K> {
        match self.source_key {
            SourceKey::Id { to_key, .. } => Some(to_key(source)),
            SourceKey::Attr { .. } => None,
        }
    }

    /// The children of `source` (`None` if it has none), or `NotFound`. One index lookup when
    /// the source has children and id keys (see [`FkIndex::live_bucket`]). O(log n).
    #[inline]
    pub(crate) fn bucket_of(
        &self,
        db: &Db,
        source: Id<S>,
    ) -> Result<Option<&crate::bucket::Bucket>> {
        if let Some(bucket) = self
            .key_unchecked(source)
            .and_then(|k| self.index.live_bucket(&k))
        {
            return Ok(Some(bucket));
        }
        let key = self.key_of(db, source)?;
        Ok(self.index.live_bucket(&key))
    }

    /// Whether target row `row` is linked to `source`, or `NotFound` for `source`. O(1) when it
    /// is linked and keys are ids (a live key proves a live source); O(log n) otherwise.
    #[inline]
    pub(crate) fn is_linked(&self, db: &Db, source: Id<S>, row: &T) -> Result<bool> {
        let held = self.fk.get(row);
        // Id keys compare by slot and creation number, without building the key. (Only for
        // id source keys: an attribute key may itself be an id of some other table.)
        let id_keys = matches!(self.source_key, SourceKey::Id { .. });
        if id_keys && held.and_then(Key::__slot) == Some((source.raw.slot, source.raw.seq.get())) {
            return Ok(true);
        }
        let key = self.key_of(db, source)?;
        Ok(held == Some(&key))
    }

    /// For a has-one association: `Unique` if linking `child` (or a new row, `None`) to `key`
    /// would give the source a second target.
    pub(crate) fn check_unique(&self, key: &K, child: Option<RawId>) -> Result<()> {
        if !self.meta.unique {
            return Ok(());
        }
        match self.index.live_bucket(key).and_then(|b| b.iter().next()) {
            Some(holder) if Some(holder) != child => Err(Error::Unique {
                model: model_name::<T>(),
                field: self.meta.field,
                key: format!("{key:?}"),
                existing: Id::<T>::from_raw(holder).to_string(),
            }),
            _ => Ok(()),
        }
    }

    fn row<'a>(&self, row: &'a dyn Any) -> &'a T {
        row.downcast_ref::<T>()
            .expect("row of the association's target table")
    }

    fn raw_key_of(&self, db: &Db, source: RawId) -> Option<K> {
        self.key_of(db, Id::from_raw(source)).ok()
    }
}

impl<S: Model, T: Model, K: Key> RowIndex for AssocData<S, T, K> {
    fn check(&self, db: &Db, id: Option<RawId>, row: &dyn Any) -> Result<()> {
        let Some(key) = self.fk.get(self.row(row)) else {
            return Ok(());
        };
        if self.resolve(db, key).is_none() {
            return Err(Error::ForeignKey {
                model: model_name::<T>(),
                field: self.meta.field,
                row: id.map(|id| Id::<T>::from_raw(id).to_string()),
                references: model_name::<S>(),
                key: format!("{key:?}"),
            });
        }
        self.check_unique(key, id)
    }

    fn insert(&mut self, id: RawId, row: &dyn Any) {
        if let Some(key) = self.fk.get(self.row(row)) {
            self.index.insert(key, id);
        }
    }

    fn remove(&mut self, id: RawId, row: &dyn Any) {
        if let Some(key) = self.fk.get(self.row(row)) {
            self.index.remove(key, id);
        }
    }

    fn update(&mut self, id: RawId, old: &dyn Any, new: &dyn Any) {
        let (old_key, new_key) = (self.fk.get(self.row(old)), self.fk.get(self.row(new)));
        if old_key != new_key {
            if let Some(key) = old_key {
                self.index.remove(key, id);
            }
            if let Some(key) = new_key {
                self.index.insert(key, id);
            }
        }
    }

    fn verify(&self, db: &Db) -> std::result::Result<(), String> {
        let rows = db.rows::<T>(self.meta.target).map_err(|e| e.to_string())?;
        let mut expected: BTreeMap<&K, Vec<RawId>> = BTreeMap::new();
        for (id, row) in rows.iter() {
            if let Some(key) = self.fk.get(row) {
                if self.resolve(db, key).is_none() {
                    return Err(format!(
                        "{:?} holds dangling key {key:?}",
                        Id::<T>::from_raw(id)
                    ));
                }
                expected.entry(key).or_default().push(id);
            }
        }
        let mut buckets = 0;
        for (key, mut ids) in expected {
            ids.sort_unstable();
            let indexed: Vec<RawId> = self
                .index
                .live_bucket(key)
                .into_iter()
                .flat_map(|b| b.iter())
                .collect();
            if indexed != ids {
                return Err(format!(
                    "key {key:?}: rows say {ids:?}, index says {indexed:?}"
                ));
            }
            buckets += 1;
        }
        let indexed_buckets = self.index.non_empty();
        if indexed_buckets != buckets {
            return Err(format!(
                "index has {indexed_buckets} non-empty buckets, rows give {buckets}"
            ));
        }
        Ok(())
    }
}

impl<S: Model, T: Model, K: Key> ErasedAssoc for AssocData<S, T, K> {
    fn clone_box(&self) -> Box<dyn ErasedAssoc> {
        Box::new(self.clone())
    }
    fn meta(&self) -> &AssocMeta {
        &self.meta
    }

    fn children(&self, db: &Db, source: RawId) -> Vec<RawId> {
        self.raw_key_of(db, source)
            .and_then(|key| self.index.live_bucket(&key))
            .map(|b| b.iter().collect())
            .unwrap_or_default()
    }

    fn null_child(&mut self, tables: &mut [Box<dyn ErasedTable>], child: RawId) {
        let rows = (&mut *tables[self.meta.target] as &mut dyn Any)
            .downcast_mut::<Rows<T>>()
            .expect("target table type");
        let Some(row) = rows.get_mut(child) else {
            return;
        };
        let old = self.fk.get(row).cloned();
        if self.fk.set(row, None).is_ok()
            && let Some(old) = old
        {
            self.index.remove(&old, child);
        }
    }

    fn check_key_change(
        &self,
        _db: &Db,
        source: RawId,
        old: &dyn Any,
        new: &dyn Any,
    ) -> Result<Option<Box<dyn Any>>> {
        let SourceKey::Attr { field, .. } = self.source_key else {
            return Ok(None);
        };
        let as_s = |row: &'_ dyn Any| -> K {
            (field.get)(row.downcast_ref::<S>().expect("source row")).clone()
        };
        let (old_key, new_key) = (as_s(old), as_s(new));
        let Some(first) = self
            .index
            .live_bucket(&old_key)
            .and_then(|b| b.iter().next())
        else {
            return Ok(None);
        };
        if old_key == new_key {
            return Ok(None);
        }
        match self.meta.on_update {
            OnUpdate::Cascade => Ok(Some(Box::new((old_key, new_key)))),
            OnUpdate::Restrict | OnUpdate::NoAction => Err(Error::Restricted {
                row: Id::<S>::from_raw(source).to_string(),
                association: self.meta.name,
                blocking_row: Id::<T>::from_raw(first).to_string(),
            }),
        }
    }

    fn cascade_key_change(&mut self, tables: &mut [Box<dyn ErasedTable>], change: Box<dyn Any>) {
        let (old, new) = *change
            .downcast::<(K, K)>()
            .expect("change made by check_key_change");
        let rows = (&mut *tables[self.meta.target] as &mut dyn Any)
            .downcast_mut::<Rows<T>>()
            .expect("target table type");
        let children: Vec<RawId> = self
            .index
            .live_bucket(&old)
            .map(|b| b.iter().collect())
            .unwrap_or_default();
        for child in children {
            if let Some(row) = rows.get_mut(child) {
                let _ = self.fk.set(row, Some(new.clone()));
            }
        }
        self.index.rekey(&old, &new);
    }
}

/// How rows that stop being linked will be unlinked, decided before anything changes.
pub(crate) enum Unlinking {
    Nullify(Vec<RawId>),
    Delete(cascade::Plan),
}

/// The typed part every association handle shares: which association, between which tables.
pub(crate) struct Link<S, T, K> {
    pub(crate) assoc: usize,
    pub(crate) source: usize,
    pub(crate) target: usize,
    marker: Marker<S, T, K>,
}

/// Ties a handle to its types without owning or borrowing any of them.
type Marker<S, T, K> = PhantomData<fn() -> (S, T, K)>;

impl<S, T, K> Clone for Link<S, T, K> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<S, T, K> Copy for Link<S, T, K> {}

impl<S: Model, T: Model, K: Key> Link<S, T, K> {
    pub(crate) fn data<'a>(&self, db: &'a Db) -> Result<&'a AssocData<S, T, K>> {
        db.assoc(self.assoc)
    }

    pub(crate) fn source_table(&self) -> Table<S> {
        Table::new(self.source)
    }

    pub(crate) fn target_table(&self) -> Table<T> {
        Table::new(self.target)
    }

    /// The target rows, or `NotFound` for the first id that names no row.
    pub(crate) fn targets<'a>(
        &self,
        db: &'a Db,
        ids: impl IntoIterator<Item = Id<T>>,
    ) -> Result<Vec<(Id<T>, &'a T)>> {
        let rows = db.rows::<T>(self.target)?;
        ids.into_iter()
            .map(|id| {
                rows.get(id.raw)
                    .map(|row| (id, row))
                    .ok_or_else(|| not_found(id))
            })
            .collect()
    }

    /// The raw ids of `ids`, sorted and deduplicated, or `NotFound` for the first one that
    /// names no row. One allocation.
    pub(crate) fn existing(
        &self,
        db: &Db,
        ids: impl IntoIterator<Item = Id<T>>,
    ) -> Result<Vec<RawId>> {
        let rows = db.rows::<T>(self.target)?;
        let mut raw = Vec::new();
        for id in ids {
            if !rows.contains(id.raw) {
                return Err(not_found(id));
            }
            raw.push(id.raw);
        }
        raw.sort_unstable();
        raw.dedup();
        Ok(raw)
    }

    /// Points the foreign key of live target row `child` at `key` (or null), keeping the index
    /// in step. The caller has checked that `child` exists, that `key` references a live source
    /// row and that null is allowed. O(log n).
    pub(crate) fn relink(&self, db: &mut Db, child: RawId, key: Option<K>) -> Result<()> {
        self.relink_many(db, [(child, key)])
    }

    /// [`relink`](Link::relink) for a batch: the database is split once into the target table
    /// and the association, so each row costs a row update and its index moves, nothing more.
    pub(crate) fn relink_many(
        &self,
        db: &mut Db,
        moves: impl IntoIterator<Item = (RawId, Option<K>)>,
    ) -> Result<()> {
        let (rows, data) = db.table_and_assoc_mut::<S, T, K>(self.target, self.assoc)?;
        for (child, key) in moves {
            let row = rows
                .get_mut(child)
                .ok_or_else(|| not_found(Id::<T>::from_raw(child)))?;
            let old = data.fk.get(row).cloned();
            if old == key {
                continue;
            }
            if data.fk.set(row, key.clone()).is_err() {
                unreachable!("callers check nullability before relinking to null");
            }
            if let Some(old) = old {
                data.index.remove(&old, child);
            }
            if let Some(key) = key {
                data.index.insert(&key, child);
            }
        }
        Ok(())
    }

    /// How `rows` (linked targets about to stop being linked) will be unlinked under `policy`
    /// (`None`: the association's), decided before anything changes.
    pub(crate) fn plan_unlink(
        &self,
        db: &Db,
        rows: Vec<RawId>,
        policy: Option<Unlink>,
    ) -> Result<Unlinking> {
        let data = self.data(db)?;
        let Some(&first) = rows.first() else {
            return Ok(Unlinking::Nullify(rows));
        };
        match policy.unwrap_or(data.meta.unlink) {
            Unlink::Nullify if data.meta.nullable => Ok(Unlinking::Nullify(rows)),
            Unlink::Nullify | Unlink::Reject => {
                Err(self.not_null(db, Id::from_raw(first), data.meta.name))
            }
            Unlink::Delete => {
                let roots: Vec<_> = rows.iter().map(|&r| (self.target, r)).collect();
                cascade::plan(db, &roots).map(Unlinking::Delete)
            }
        }
    }

    pub(crate) fn apply_unlink(&self, db: &mut Db, unlinking: Unlinking) -> Result<usize> {
        match unlinking {
            Unlinking::Nullify(rows) => {
                self.relink_many(db, rows.iter().map(|&child| (child, None)))?;
                Ok(rows.len())
            }
            Unlinking::Delete(plan) => {
                let roots = plan.roots;
                cascade::apply(db, plan);
                Ok(roots)
            }
        }
    }

    /// The validation error for nulling `child`'s non-null foreign key.
    #[cold]
    pub(crate) fn not_null(&self, db: &Db, child: Id<T>, association: &'static str) -> Error {
        let field = self.data(db).map_or("?", |d| d.meta.field);
        Error::Validation {
            model: model_name::<T>(),
            field,
            row: child.to_string(),
            association,
        }
    }
}

impl Db {
    pub(crate) fn declare<S: Model, T: Model, K: Key>(
        &mut self,
        source: usize,
        target: Table<T>,
        fk: ForeignKey<T, K>,
        source_key: SourceKey<S, K>,
        options: AssocOptions,
        unique: bool,
    ) -> Result<Link<S, T, K>> {
        let definition = |message: String| Error::Definition { message };
        let target_model = model_name::<T>();
        self.rows::<S>(source)?;
        let rows = self.rows::<T>(target.index)?;
        let taken = self
            .meta(target.index)
            .fks
            .iter()
            .any(|&a| self.assocs[a].meta().field == fk.name);
        if taken {
            return Err(definition(format!(
                "{target_model}.{} already carries an association; use its `inverse()` instead of declaring it twice",
                fk.name
            )));
        }
        let nullable = fk.is_nullable();
        let on_delete = options.on_delete.unwrap_or(if nullable {
            OnDelete::SetNull
        } else {
            OnDelete::Cascade
        });
        if on_delete == OnDelete::SetNull && !nullable {
            return Err(definition(format!(
                "on delete SetNull needs a nullable foreign key, but {target_model}.{} is not an Option",
                fk.name
            )));
        }
        let unlink = options.unlink.unwrap_or(if nullable {
            Unlink::Nullify
        } else {
            Unlink::Reject
        });
        if unlink == Unlink::Nullify && !nullable {
            return Err(definition(format!(
                "the Nullify unlink policy needs a nullable foreign key, but {target_model}.{} is not an Option",
                fk.name
            )));
        }
        let index = match source_key {
            SourceKey::Id { .. } => FkIndex::by_slot(),
            SourceKey::Attr { .. } => FkIndex::by_key(),
        };
        let mut data = AssocData {
            meta: AssocMeta {
                name: options.name.unwrap_or(target_model),
                inverse: options.inverse.unwrap_or(fk.name),
                source,
                target: target.index,
                field: fk.name,
                nullable,
                on_delete,
                on_update: options.on_update,
                unlink,
                unique,
            },
            fk,
            source_key,
            index,
        };
        let mut existing: Vec<_> = rows.iter().collect();
        existing.sort_unstable_by_key(|(id, _)| *id);
        for (id, row) in existing {
            data.check(self, Some(id), row)?;
            data.insert(id, row);
        }
        let assoc = self.add_assoc(Box::new(data));
        Ok(Link {
            assoc,
            source,
            target: target.index,
            marker: PhantomData,
        })
    }

    /// Declares that `source` has many `target` rows, through the foreign key `fk` on the target
    /// holding the source's id, with default options. Also declares the inverse
    /// [`BelongsTo`] (see [`HasMany::inverse`]). Rows already in the tables are indexed; a
    /// dangling key among them is a [`Error::ForeignKey`].
    ///
    /// Defaults (Sequelize v7): on delete `SetNull` when the key is an `Option`, `Cascade` when
    /// not; unlink by nulling when nullable, otherwise a validation error.
    pub fn has_many<S: Model, T: Model>(
        &mut self,
        source: Table<S>,
        target: Table<T>,
        fk: ForeignKey<T, Id<S>>,
    ) -> Result<HasMany<S, T>> {
        self.has_many_with(source, target, fk, AssocOptions::new())
    }

    /// [`has_many`](Db::has_many) with options: names, referential actions, unlink policy.
    ///
    /// ```
    /// use relata::{AssocOptions, Db, Error, Id, OnDelete, fk};
    /// #[derive(Clone)] struct Author;
    /// #[derive(Clone)] struct Book { author: Id<Author> }
    /// let mut db = Db::new();
    /// let (authors, books) = (db.create_table()?, db.create_table()?);
    /// let wrote = db.has_many_with(authors, books, fk!(Book, author),
    ///     AssocOptions::new().name("books").inverse("author").on_delete(OnDelete::Restrict))?;
    /// let a = authors.insert(&mut db, Author)?;
    /// wrote.create(&mut db, a, Book { author: a })?;
    /// assert!(matches!(authors.delete(&mut db, a), Err(Error::Restricted { association: "books", .. })));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn has_many_with<S: Model, T: Model>(
        &mut self,
        source: Table<S>,
        target: Table<T>,
        fk: ForeignKey<T, Id<S>>,
        options: AssocOptions,
    ) -> Result<HasMany<S, T>> {
        let key = SourceKey::Id {
            to_key: |id| id,
            to_id: |id| *id,
        };
        self.declare(source.index, target, fk, key, options, false)
            .map(HasMany::new)
    }

    /// Declares a has-many association whose foreign key holds a unique attribute of the source
    /// (its *source key*, e.g. a post's slug) instead of its id. Changing that attribute on a
    /// source row applies the on-update action (default `Cascade`: children follow).
    ///
    /// ```
    /// use relata::{AssocOptions, Db, field, fk};
    /// #[derive(Clone)] struct Post { slug: String }
    /// #[derive(Clone)] struct Comment { post_slug: Option<String> }
    /// let mut db = Db::new();
    /// let (posts, comments) = (db.create_table::<Post>()?, db.create_table::<Comment>()?);
    /// let slug = db.unique(posts, field!(Post, slug))?;
    /// let post_comments = db.has_many_by(slug, comments, fk!(Comment, post_slug), AssocOptions::new())?;
    /// let p = posts.insert(&mut db, Post { slug: "hello".into() })?;
    /// let c = post_comments.create(&mut db, p, Comment { post_slug: None })?;
    /// assert_eq!(comments.get(&db, c)?.post_slug.as_deref(), Some("hello"));
    /// posts.update(&mut db, p, Post { slug: "hello-world".into() })?;
    /// assert_eq!(comments.get(&db, c)?.post_slug.as_deref(), Some("hello-world"));
    /// # Ok::<(), relata::Error>(())
    /// ```
    pub fn has_many_by<S: Model, T: Model, K: Key>(
        &mut self,
        source_key: Unique<S, K>,
        target: Table<T>,
        fk: ForeignKey<T, K>,
        options: AssocOptions,
    ) -> Result<HasMany<S, T, K>> {
        source_key.data(self)?;
        let key = SourceKey::Attr {
            unique: source_key.index,
            field: source_key.field,
        };
        self.declare(source_key.table, target, fk, key, options, false)
            .map(HasMany::new)
    }

    /// Declares that each `target` row belongs to a `source` row through `fk`: the same
    /// association as [`has_many`](Db::has_many), seen from the other side.
    pub fn belongs_to<T: Model, S: Model>(
        &mut self,
        target: Table<T>,
        source: Table<S>,
        fk: ForeignKey<T, Id<S>>,
    ) -> Result<BelongsTo<T, S>> {
        self.has_many(source, target, fk).map(|hm| hm.inverse())
    }
}
