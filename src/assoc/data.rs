//! An association's definition and index ([`AssocData`]), and the type-erased interface the
//! database uses for writes to its target table, deletes of its source rows and integrity
//! checks.

use std::any::Any;
use std::collections::BTreeMap;

use super::{OnDelete, OnUpdate, Unlink};
use crate::db::{Db, ErasedAssoc, ErasedTable, Model, RowIndex};
use crate::error::{Error, Result};
use crate::id::{Id, RawId, model_name};
use crate::index::FkIndex;
use crate::key::{Field, ForeignKey, Key};
use crate::rows::Rows;
use crate::table::not_found;
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

impl<S> SourceKey<S, Id<S>> {
    /// The foreign key holds the source's id.
    pub(crate) fn id() -> Self {
        SourceKey::Id {
            to_key: |id| id,
            to_id: |id| *id,
        }
    }
}

impl<S, K> SourceKey<S, K> {
    /// The foreign key holds the unique attribute `source_key` of the source.
    pub(crate) fn attr(source_key: Unique<S, K>) -> Self {
        SourceKey::Attr {
            unique: source_key.index,
            field: source_key.field,
        }
    }
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

    /// [`key_of`](Self::key_of), answered from the index when `source` has children (a live
    /// bucket proves it alive; see [`FkIndex::live_bucket`]). The callers go on to write that
    /// bucket, so this reads memory they need anyway instead of the source row. O(log n).
    #[inline]
    fn key_of_indexed(&self, db: &Db, source: Id<S>) -> Result<K> {
        match self.key_unchecked(source) {
            Some(key) if self.index.live_bucket(&key).is_some() => Ok(key),
            _ => self.key_of(db, source),
        }
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
        Ok(self.unlinked_key(db, source, row)?.is_none())
    }

    /// `None` if target row `row` is linked to `source`; otherwise the key that would link it
    /// (`NotFound` for `source`). One lookup at most: none when linked and keys are ids.
    #[inline]
    pub(crate) fn unlinked_key(&self, db: &Db, source: Id<S>, row: &T) -> Result<Option<K>> {
        let held = self.fk.get(row);
        // Id keys compare by slot and creation number, without building the key. (Only for
        // id source keys: an attribute key may itself be an id of some other table.)
        let id_keys = matches!(self.source_key, SourceKey::Id { .. });
        if id_keys && held.and_then(Key::__slot) == Some((source.raw.slot, source.raw.seq.get())) {
            return Ok(None);
        }
        let key = self.key_of_indexed(db, source)?;
        Ok((held != Some(&key)).then_some(key))
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
            if self.meta.unique && ids.len() > 1 {
                return Err(format!("has-one key {key:?} is held by {} rows", ids.len()));
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
                self.fk.point(row, new.clone());
            }
        }
        self.index.rekey(&old, &new);
    }

    fn forget_source(&mut self, source: RawId, row: &dyn Any) {
        let key = match self.source_key {
            SourceKey::Id { to_key, .. } => to_key(Id::from_raw(source)),
            SourceKey::Attr { field, .. } => {
                (field.get)(row.downcast_ref::<S>().expect("source row")).clone()
            }
        };
        self.index.clear(&key);
    }
}
