//! What every association handle shares ([`Link`]): which association, between which tables;
//! and the one place target rows are relinked.

use std::marker::PhantomData;

use super::{AssocData, Unlink};
use crate::cascade;
use crate::db::{Db, Model};
use crate::error::{Error, Result};
use crate::id::{Id, RawId, model_name};
use crate::key::Key;
use crate::table::{Table, not_found};

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

impl<S, T, K> Link<S, T, K> {
    pub(crate) fn new(assoc: usize, source: usize, target: usize) -> Self {
        Link {
            assoc,
            source,
            target,
            marker: PhantomData,
        }
    }
}

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

    /// Whether moving this association's key must take the table's full write path: the target
    /// table has unique indexes (attributes, a junction's pair index) whose keys may include it,
    /// or is the target of a has-one association, whose key is unique. O(1).
    #[inline]
    pub(crate) fn checked(&self, db: &Db) -> bool {
        db.catalog
            .tables
            .get(self.target)
            .is_some_and(|t| t.checked_relinks)
    }

    /// Runs an association method's `body` atomically: directly when every check precedes
    /// every write (the fast path), inside a transaction when relinks take the checked path
    /// and may fail half-way.
    pub(crate) fn atomically<R>(
        &self,
        db: &mut Db,
        body: impl FnOnce(&mut Db) -> Result<R>,
    ) -> Result<R> {
        if self.checked(db) {
            db.transaction(body)
        } else {
            body(db)
        }
    }

    /// Points the foreign key of live target row `child` at `key` (or null), keeping the index
    /// in step. The caller has checked that `child` exists, that `key` references a live source
    /// row and that null is allowed. O(log n).
    pub(crate) fn relink(&self, db: &mut Db, child: RawId, key: Option<K>) -> Result<()> {
        self.relink_many(db, [(child, key)])
    }

    /// [`relink`](Link::relink) for a batch. The fast path splits the database once into the
    /// target table and the association, so each row costs a row update and its index moves.
    /// When other indexes may cover the key ([`checked`](Link::checked)), each row goes through
    /// [`Table::update`] instead, which checks and reindexes everything and can fail: callers
    /// run inside [`atomically`](Link::atomically).
    pub(crate) fn relink_many(
        &self,
        db: &mut Db,
        moves: impl IntoIterator<Item = (RawId, Option<K>)>,
    ) -> Result<()> {
        if self.checked(db) {
            // Other indexes may cover the key: take the table's full write path.
            let (table, fk) = (self.target_table(), self.data(db)?.fk);
            for (child, key) in moves {
                let id = Id::<T>::from_raw(child);
                let mut row = table.get(db, id)?.value().clone();
                if fk.get(&row) == key.as_ref() {
                    continue;
                }
                if fk.set(&mut row, key).is_err() {
                    unreachable!("callers check nullability before relinking to null");
                }
                table.update(db, id, row)?;
            }
            return Ok(());
        }
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

    /// `add` of one target in the common case, in one walk down the target's storage: keys are
    /// ids, the table needs no checked relinks, and `source` is proven alive by its non-empty
    /// bucket. `None` (nothing changed) when the case does not apply or an argument is wrong:
    /// the general path then decides, with its error precedence. O(log n).
    #[inline]
    pub(crate) fn link_one_fast(&self, db: &mut Db, source: Id<S>, target: RawId) -> Option<bool> {
        if self.checked(db) {
            return None;
        }
        let (rows, data) = db
            .table_and_assoc_mut::<S, T, K>(self.target, self.assoc)
            .ok()?;
        let key = data.key_unchecked(source)?;
        data.index.live_bucket(&key)?;
        let row = rows.get_mut(target)?;
        let old = data.fk.get(row).cloned();
        if old.as_ref() == Some(&key) {
            return Some(false);
        }
        data.fk.point(row, key.clone());
        if let Some(old) = old {
            data.index.remove(&old, target);
        }
        data.index.insert(&key, target);
        Some(true)
    }

    /// `remove` of one target in the common case, in one walk down the target's storage: keys
    /// are ids, the table needs no checked relinks, the key is nullable and unlinking nulls it,
    /// and `target` holds `source`'s key (which proves `source` alive). `None` (nothing
    /// changed) otherwise. O(log n).
    #[inline]
    pub(crate) fn unlink_one_fast(
        &self,
        db: &mut Db,
        source: Id<S>,
        target: RawId,
    ) -> Option<bool> {
        if self.checked(db) {
            return None;
        }
        let (rows, data) = db
            .table_and_assoc_mut::<S, T, K>(self.target, self.assoc)
            .ok()?;
        if data.meta.unlink != Unlink::Nullify || !data.meta.nullable {
            return None;
        }
        let key = data.key_unchecked(source)?;
        let row = rows.get_mut(target)?;
        if data.fk.get(row) != Some(&key) {
            return None;
        }
        data.fk.set(row, None).ok()?;
        data.index.remove(&key, target);
        Some(true)
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

    /// `Conflict` if `unlinking` deletes (through a delete policy's cascade) `source` or one of
    /// the target rows the same call is about to link.
    pub(crate) fn refuse_conflicts(
        &self,
        db: &Db,
        unlinking: &Unlinking,
        source: Id<S>,
        linking: impl IntoIterator<Item = RawId>,
    ) -> Result<()> {
        let Unlinking::Delete(plan) = unlinking else {
            return Ok(());
        };
        let needed = std::iter::once((self.source, source.raw))
            .chain(linking.into_iter().map(|t| (self.target, t)));
        for (table, id) in needed {
            if plan.deletes(table, id) {
                return Err(Error::Conflict {
                    row: format!("{}#{}", db.meta(table).name, id.seq),
                    association: self.data(db)?.meta.name,
                });
            }
        }
        Ok(())
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
