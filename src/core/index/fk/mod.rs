//! [`FkIndex`]: an association's foreign-key index. Its buckets live in a slot- or
//! key-addressed store (`store`). See the parent module's docs.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use imbl::OrdMap;

use super::{KeyIndex, Logged, RowIndex};
use crate::core::Core;
use crate::core::bucket::Bucket;
use crate::core::pvec::PVec;
use crate::core::rows::{Arena, SlotChange};
use crate::error::{Change, Error, Result};
use crate::id::{Id, Lineage, Member, RawId, RowRef, model_name};
use crate::key::{ForeignKey, Key};

mod store;

use store::Store;

/// How the foreign key of an association references its source: by id, or by the value of a
/// unique index of the source table (its position there).
#[derive(Clone, Copy)]
pub(crate) enum SourceKey {
    Id,
    Attr { pos: usize },
}

/// An association's foreign-key index, on its target table `T`. See the module docs.
pub(crate) struct FkIndex<S, T, K> {
    pub(crate) fk: ForeignKey<T, K>,
    /// The association's name, for messages.
    name: &'static str,
    /// The lineage of the target table (the table this index is on).
    table: Lineage,
    source: usize,
    /// The source table's lineage: which ids its keys may hold.
    source_lineage: Lineage,
    source_key: SourceKey,
    unique: bool,
    store: Store<K>,
    log: Vec<Logged<K>>,
    /// Keys saved by [`save_key`](FkIndex::save_key), newest last.
    saved: Vec<Option<K>>,
    marker: std::marker::PhantomData<fn() -> S>,
}

impl<S, T, K: Clone> Clone for FkIndex<S, T, K> {
    fn clone(&self) -> Self {
        FkIndex {
            fk: self.fk,
            name: self.name,
            table: self.table.clone(),
            source: self.source,
            source_lineage: self.source_lineage.clone(),
            source_key: self.source_key,
            unique: self.unique,
            store: self.store.clone(),
            log: Vec::new(),
            saved: Vec::new(),
            marker: std::marker::PhantomData,
        }
    }
}

impl<S: crate::Model, T: crate::Model, K: Key> FkIndex<S, T, K> {
    pub(in crate::core) fn new(
        fk: ForeignKey<T, K>,
        name: &'static str,
        table: Lineage,
        source: usize,
        source_lineage: Lineage,
        source_key: SourceKey,
        unique: bool,
    ) -> Self {
        let store = match source_key {
            SourceKey::Id => Store::Slots(PVec::new()),
            SourceKey::Attr { .. } => Store::Keys(OrdMap::new()),
        };
        FkIndex {
            fk,
            name,
            table,
            source,
            source_lineage,
            source_key,
            unique,
            store,
            log: Vec::new(),
            saved: Vec::new(),
            marker: std::marker::PhantomData,
        }
    }

    /// The foreign key this index follows.
    pub(crate) fn foreign_key(&self) -> ForeignKey<T, K> {
        self.fk
    }

    /// The rows holding `key`, if any. For an id key, a bucket proves its source alive.
    /// O(log n).
    #[inline]
    pub(crate) fn bucket(&self, key: &K) -> Option<&Bucket> {
        self.store.bucket(key, &self.source_lineage)
    }

    /// For a key by attribute: a row holding `key`, with that key, if no source row holds it
    /// (after a change applied wholesale renamed or removed the source that did). O(log n).
    /// `None` for id keys, whose sources' removals are checked by their children.
    pub(crate) fn dangling(&self, core: &Core, key: &K) -> Option<(Member, String)> {
        let Store::Keys(_) = &self.store else {
            return None;
        };
        let holder = self.bucket(key)?.iter().next()?;
        self.resolve(core, key)
            .is_none()
            .then(|| (holder, format!("{key:?}")))
    }

    /// The source row `key` references, if it exists. O(log n).
    pub(crate) fn resolve(&self, core: &Core, key: &K) -> Option<RawId> {
        match self.source_key {
            SourceKey::Id => {
                let raw = key.__raw()?;
                // A bucket stamped with the key's creation number proves its source alive.
                if self.bucket(key).is_some() {
                    return Some(raw);
                }
                core.data::<S>(self.source)?
                    .rows()
                    .contains(raw)
                    .then_some(raw)
            }
            SourceKey::Attr { pos } => core
                .data::<S>(self.source)?
                .index::<KeyIndex<S, K>>(pos)?
                .find_one(key)
                .map(|m| self.source_lineage.id(m)),
        }
    }

    /// The key source row `source` is referenced by, if it is alive. O(log n); for id keys,
    /// one lookup in this index when `source` has children.
    #[inline]
    pub(crate) fn key_of(&self, core: &Core, source: RawId) -> Option<K> {
        match self.source_key {
            SourceKey::Id => {
                let key = K::__from_raw(source)?;
                if self.bucket(&key).is_some()
                    || core.data::<S>(self.source)?.rows().contains(source)
                {
                    Some(key)
                } else {
                    None
                }
            }
            SourceKey::Attr { pos } => {
                let data = core.data::<S>(self.source)?;
                let row = data.rows().get(source)?;
                data.index::<KeyIndex<S, K>>(pos)?
                    .key_of(row)
                    .map(Cow::into_owned)
            }
        }
    }

    /// The key source row `source` would be referenced by, if that needs no read (id keys).
    /// Says nothing about whether `source` is alive.
    #[inline]
    pub(crate) fn id_key(&self, source: RawId) -> Option<K> {
        match self.source_key {
            SourceKey::Id => K::__from_raw(source),
            SourceKey::Attr { .. } => None,
        }
    }

    /// Whether this association's keys are the source's ids.
    pub(crate) fn by_id(&self) -> bool {
        matches!(self.source_key, SourceKey::Id)
    }

    /// For a key by attribute: the keys a source row holds in one of the states `before` and
    /// `after` (of one lineage) and not in the other (a source inserted, deleted or renamed),
    /// so the rows holding them may name another source, or none. Empty for id keys, which
    /// name one source for good. O(changed source rows) when the states share storage.
    pub(crate) fn keys_changing_hands(&self, before: &Core, after: &Core) -> BTreeSet<K> {
        let mut keys = BTreeSet::new();
        let SourceKey::Attr { pos } = self.source_key else {
            return keys;
        };
        let (Some(was), Some(now)) = (before.data::<S>(self.source), after.data::<S>(self.source))
        else {
            return keys;
        };
        let (Some(was_key), Some(now_key)) = (
            was.index::<KeyIndex<S, K>>(pos),
            now.index::<KeyIndex<S, K>>(pos),
        ) else {
            return keys;
        };
        let mut note = |key: Option<Cow<'_, K>>| {
            if let Some(key) = key {
                keys.insert(key.into_owned());
            }
        };
        was.rows().diff(now.rows(), &mut |change| match change {
            SlotChange::Inserted(_, row) => note(now_key.key_of(row)),
            SlotChange::Deleted(_, row) => note(was_key.key_of(row)),
            SlotChange::Kept(_, old, new) => {
                let (old, new) = (was_key.key_of(old), now_key.key_of(new));
                if old != new {
                    note(old);
                    note(new);
                }
            }
        });
        keys
    }

    /// The ids of the rows holding `key`, in creation order. O(log n + k).
    pub(crate) fn holders(&self, key: &K) -> impl Iterator<Item = RawId> + '_ {
        self.bucket(key)
            .into_iter()
            .flat_map(Bucket::iter)
            .map(|m| self.table.id(m))
    }

    /// `ForeignKey` unless `key` resolves; `Unique` if it is a has-one key already held by a row
    /// other than `id`.
    pub(in crate::core) fn check_key(&self, core: &Core, id: Option<RawId>, key: &K) -> Result<()> {
        if self.resolve(core, key).is_none() {
            return Err(Error::ForeignKey {
                model: model_name::<T>(),
                field: self.fk.name,
                row: id.map(|id| RowRef::new(model_name::<T>(), id)),
                references: model_name::<S>(),
                key: format!("{key:?}"),
            });
        }
        self.check_unique(id, key)
    }

    /// For a has-one association: `Unique` if `key` is already held by a row other than `id`.
    #[inline]
    pub(in crate::core) fn check_unique(&self, id: Option<RawId>, key: &K) -> Result<()> {
        if self.unique
            && let Some(holder) = self.bucket(key).and_then(|b| b.iter().next())
            && Some(holder) != id.map(|id| id.member())
        {
            return Err(self.taken(key, holder));
        }
        Ok(())
    }

    /// The `Unique` error for `key`, held by `holder` (cold: only a refused write gets here).
    #[cold]
    fn taken(&self, key: &K, holder: Member) -> Error {
        Error::Unique {
            model: model_name::<T>(),
            field: self.fk.name,
            key: format!("{key:?}"),
            existing: RowRef::new(model_name::<T>(), self.table.id(holder))
                .written_by_the_call(super::gave(&self.log, key, holder)),
        }
    }

    /// Moves row `child` from `old` to `new` in this index (a relink that wrote the key in
    /// place), logging the change if `logged`.
    #[inline(always)]
    pub(in crate::core) fn relink(
        &mut self,
        child: Member,
        old: Option<&K>,
        new: Option<&K>,
        logged: bool,
    ) {
        if let Some(old) = old {
            // A relinked row is in its old key's bucket (indexes follow the rows' keys).
            let _ = self.store.unlink(old, child);
            if logged {
                self.log.push(Logged::Removed(old.clone(), child));
            }
        }
        if let Some(new) = new {
            // Unlogged relinks are those of a live source, whose bucket is never displaced.
            let displaced = self.store.link(new, child);
            if logged {
                self.log.extend(displaced);
                self.log.push(Logged::Added(new.clone(), child));
            }
        }
    }

    /// Empties source row `source`'s bucket in one step, logged: for a delete whose plan
    /// removes the source and every row in its bucket (see `cascade::Plan::drops`), so that
    /// their removals need not take them out one by one. O(log n).
    pub(in crate::core) fn drop_bucket(&mut self, source: RawId) {
        if let Some(dropped) = self.store.drop_bucket(source) {
            self.log.push(dropped);
        }
    }

    /// Keeps the key a row held before a logged fast relink wrote it in place, for
    /// [`RowIndex::restore_key`]: the table logs `Relinked`, this index the key, so that keys of
    /// any type (not only ids) are restored.
    #[inline]
    pub(in crate::core) fn save_key(&mut self, old: Option<K>) {
        self.saved.push(old);
    }

    /// Logs a move of row `child` from `old` to `new` made earlier without logging.
    pub(in crate::core) fn log_relink(&mut self, child: Member, old: Option<K>, new: Option<K>) {
        if let Some(old) = old {
            self.log.push(Logged::Removed(old, child));
        }
        if let Some(new) = new {
            self.log.push(Logged::Added(new, child));
        }
    }
}

impl<S: crate::Model, T: crate::Model, K: Key> RowIndex<T> for FkIndex<S, T, K> {
    fn clone_box(&self) -> Box<dyn RowIndex<T>> {
        Box::new(self.clone())
    }

    fn check(&self, core: &Core, id: Option<RawId>, old: Option<&T>, new: &T) -> Result<()> {
        let Some(key) = self.fk.get(new) else {
            return Ok(());
        };
        if old.and_then(|old| self.fk.get(old)) == Some(key) {
            return Ok(());
        }
        self.check_key(core, id, key)
    }

    fn check_stored(&self, core: &Core, id: RawId, row: &T) -> Result<()> {
        let Some(key) = self.fk.get(row) else {
            return Ok(());
        };
        // Not through `resolve`: the bucket storing this row created proves nothing.
        let resolves = match self.source_key {
            SourceKey::Id => key
                .__raw()
                .and_then(|raw| core.data::<S>(self.source).map(|d| d.rows().contains(raw)))
                .unwrap_or(false),
            SourceKey::Attr { .. } => self.resolve(core, key).is_some(),
        };
        if !resolves {
            return Err(Error::ForeignKey {
                model: model_name::<T>(),
                field: self.fk.name,
                row: Some(RowRef::new(model_name::<T>(), id)),
                references: model_name::<S>(),
                key: format!("{key:?}"),
            });
        }
        if self.unique
            && let Some(other) = self
                .bucket(key)
                .and_then(|b| b.iter().find(|&m| m != id.member()))
        {
            return Err(self.taken(key, other));
        }
        Ok(())
    }

    fn check_displaced(&self, rows: &Arena<T>) -> Result<()> {
        for change in &self.log {
            let Logged::Displaced {
                slot,
                stamp,
                bucket,
            } = change
            else {
                continue;
            };
            for member in bucket.iter() {
                let id = self.table.id(member);
                let Some(key) = rows.get(id).and_then(|row| self.fk.get(row)) else {
                    continue;
                };
                if key
                    .__raw()
                    .is_some_and(|raw| raw.slot() == *slot && raw.member().seq == *stamp)
                {
                    // The same error as for a removed source whose slot was not reused.
                    let source = self.source_lineage.id(Member {
                        seq: *stamp,
                        slot: *slot,
                    });
                    return Err(Error::Restricted {
                        row: RowRef::new(model_name::<S>(), source),
                        association: self.name,
                        blocking_row: RowRef::new(model_name::<T>(), id),
                        change: Change::Apply,
                    });
                }
            }
        }
        Ok(())
    }

    fn insert(&mut self, id: Member, row: &T) {
        if let Some(key) = self.fk.get(row) {
            let key = key.clone();
            let displaced = self.store.link(&key, id);
            self.log.extend(displaced);
            self.log.push(Logged::Added(key, id));
        }
    }

    fn remove(&mut self, id: Member, row: &T) {
        if let Some(key) = self.fk.get(row) {
            let key = key.clone();
            // Not there if a cascade dropped the bucket whole (`drop_bucket`): nothing to undo.
            if self.store.unlink(&key, id) {
                self.log.push(Logged::Removed(key, id));
            }
        }
    }

    fn replace(&mut self, id: Member, old: &T, new: &T) {
        let (old, new) = (self.fk.get(old), self.fk.get(new));
        if old != new {
            let (old, new) = (old.cloned(), new.cloned());
            self.relink(id, old.as_ref(), new.as_ref(), true);
        }
    }

    fn moves(&self, old: &T, new: &T) -> bool {
        self.fk.get(old) != self.fk.get(new)
    }

    fn is_foreign(&self) -> bool {
        true
    }

    fn follow(&mut self, own: &Lineage, lineages: &[Lineage]) {
        self.table = own.clone();
        if let Some(source) = lineages.get(self.source) {
            self.source_lineage = source.clone();
        }
    }

    fn reset(&mut self, own: &Lineage, lineages: &[Lineage]) {
        self.follow(own, lineages);
        self.store = match self.store {
            Store::Slots(_) => Store::Slots(PVec::new()),
            Store::Keys(_) => Store::Keys(OrdMap::new()),
        };
        self.log.clear();
        self.saved.clear();
    }

    fn restore_key(&mut self, row: &mut T) {
        if let Some(old) = self.saved.pop() {
            self.fk.set(row, old);
        }
    }

    fn commit(&mut self) {
        crate::core::clear_log(&mut self.log);
        crate::core::clear_log(&mut self.saved);
    }

    fn rollback(&mut self) {
        while let Some(change) = self.log.pop() {
            match change {
                Logged::Added(key, id) => {
                    let _ = self.store.unlink(&key, id);
                }
                // What this link displaces, a `Displaced` entry logged earlier puts back.
                Logged::Removed(key, id) => drop(self.store.link(&key, id)),
                Logged::Displaced {
                    slot,
                    stamp,
                    bucket,
                } => self.store.restore(slot, stamp, bucket),
            }
        }
        crate::core::clear_log(&mut self.log);
        crate::core::clear_log(&mut self.saved);
    }

    fn verify(&self, core: &Core, rows: &Arena<T>) -> std::result::Result<(), String> {
        let mut expected: BTreeMap<&K, Vec<Member>> = BTreeMap::new();
        for (id, row) in rows.iter() {
            if let Some(key) = self.fk.get(row) {
                if self.resolve(core, key).is_none() {
                    return Err(format!(
                        "association `{}`: {:?} holds dangling key {key:?}",
                        self.name,
                        Id::<T>::from_raw(id)
                    ));
                }
                expected.entry(key).or_default().push(id.member());
            }
        }
        let mut buckets = 0;
        for (key, mut ids) in expected {
            ids.sort_unstable();
            let indexed: Vec<Member> = self
                .bucket(key)
                .into_iter()
                .flat_map(|b| b.iter())
                .collect();
            if indexed != ids {
                return Err(format!(
                    "association `{}`, key {key:?}: rows say {ids:?}, index says {indexed:?}",
                    self.name
                ));
            }
            if self.unique && ids.len() > 1 {
                return Err(format!(
                    "association `{}`: has-one key {key:?} is held by {} rows",
                    self.name,
                    ids.len()
                ));
            }
            buckets += 1;
        }
        let indexed = self.store.non_empty();
        if indexed != buckets {
            return Err(format!(
                "association `{}`: index has {indexed} non-empty buckets, rows give {buckets}",
                self.name
            ));
        }
        Ok(())
    }
}
