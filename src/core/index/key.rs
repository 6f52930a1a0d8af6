//! [`KeyIndex`]: a unique or secondary index on an attribute or computed key, and [`KeyFn`], how
//! it reads its key from a row. See the parent module's docs.

use std::borrow::{Borrow, Cow};
use std::collections::BTreeMap;

use imbl::OrdMap;

use super::{Logged, RowIndex};
use crate::core::Core;
use crate::core::bucket::Bucket;
use crate::core::rows::Arena;
use crate::error::{Error, Result};
use crate::id::{Lineage, Member, RawId, RowRef, model_name};
use crate::key::Key;

/// How an index reads its key from a row: a field (borrowed), or a function (owned; `None`
/// leaves the row out of the index: a partial index, or a null).
pub(crate) enum KeyFn<T, K> {
    Field(fn(&T) -> &K),
    Computed(ComputedKey<T, K>),
    /// A function behind a filter: the rows the filter leaves out have no key.
    Filtered(ComputedKey<T, K>),
}

/// A key function: the key of a row, or `None` to leave the row out of the index.
pub(crate) type ComputedKey<T, K> = std::sync::Arc<dyn Fn(&T) -> Option<K> + Send + Sync>;

impl<T, K> Clone for KeyFn<T, K> {
    fn clone(&self) -> Self {
        match self {
            KeyFn::Field(f) => KeyFn::Field(*f),
            KeyFn::Computed(f) => KeyFn::Computed(f.clone()),
            KeyFn::Filtered(f) => KeyFn::Filtered(f.clone()),
        }
    }
}

impl<T, K: Clone> KeyFn<T, K> {
    #[inline]
    fn get<'a>(&self, row: &'a T) -> Option<Cow<'a, K>> {
        match self {
            KeyFn::Field(f) => Some(Cow::Borrowed(f(row))),
            KeyFn::Computed(f) | KeyFn::Filtered(f) => f(row).map(Cow::Owned),
        }
    }
}

/// The rows holding each key: one row (unique) or a bucket.
#[derive(Clone)]
enum Holders<K> {
    One(OrdMap<K, Member>),
    Many(OrdMap<K, Bucket>),
}

/// A unique or secondary index on an attribute or computed key. See the module docs.
pub(crate) struct KeyIndex<T, K> {
    name: &'static str,
    /// The lineage of the table this index is on.
    table: Lineage,
    key: KeyFn<T, K>,
    holders: Holders<K>,
    log: Vec<Logged<K>>,
}

impl<T, K: Clone> Clone for KeyIndex<T, K> {
    fn clone(&self) -> Self {
        KeyIndex {
            name: self.name,
            table: self.table.clone(),
            key: self.key.clone(),
            holders: self.holders.clone(),
            log: Vec::new(),
        }
    }
}

impl<T: crate::Model, K: Key> KeyIndex<T, K> {
    pub(in crate::core) fn new(
        name: &'static str,
        table: Lineage,
        key: KeyFn<T, K>,
        unique: bool,
    ) -> Self {
        KeyIndex {
            name,
            table,
            key,
            holders: if unique {
                Holders::One(OrdMap::new())
            } else {
                Holders::Many(OrdMap::new())
            },
            log: Vec::new(),
        }
    }

    /// Whether a filter leaves rows out of the index (a partial index).
    pub(crate) fn is_partial(&self) -> bool {
        matches!(self.key, KeyFn::Filtered(_))
    }

    /// The name the index was declared with.
    pub(crate) fn name(&self) -> &'static str {
        self.name
    }

    /// The key `row` is indexed under, if it is indexed.
    #[inline]
    pub(crate) fn key_of<'a>(&self, row: &'a T) -> Option<Cow<'a, K>> {
        self.key.get(row)
    }

    /// For a unique index: the row holding `key`. O(log n).
    pub(crate) fn find_one<Q>(&self, key: &Q) -> Option<Member>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        match &self.holders {
            Holders::One(m) => m.get(key).copied(),
            Holders::Many(m) => m.get(key).and_then(|b| b.iter().next()),
        }
    }

    /// The rows holding `key`, in creation order. O(log n + k).
    pub(crate) fn find<Q>(&self, key: &Q) -> impl Iterator<Item = Member> + '_
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let (one, many) = match &self.holders {
            Holders::One(m) => (m.get(key).copied(), None),
            Holders::Many(m) => (None, m.get(key)),
        };
        one.into_iter()
            .chain(many.into_iter().flat_map(Bucket::iter))
    }

    /// Number of rows holding `key`. O(log n).
    pub(crate) fn count<Q>(&self, key: &Q) -> usize
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        match &self.holders {
            Holders::One(m) => usize::from(m.contains_key(key)),
            Holders::Many(m) => m.get(key).map_or(0, Bucket::len),
        }
    }

    /// The rows whose keys fall in `range`, in key order (creation order within a key).
    /// O(log n + k).
    pub(crate) fn range<Q, R>(&self, range: R) -> Vec<Member>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
        R: std::ops::RangeBounds<Q>,
    {
        self.range_iter(range).collect()
    }

    /// [`range`](Self::range), read as it goes: O(log n) to start, O(1) amortised per row.
    pub(crate) fn range_iter<Q, R>(&self, range: R) -> impl Iterator<Item = Member> + '_
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
        R: std::ops::RangeBounds<Q>,
    {
        let (one, many) = match &self.holders {
            Holders::One(m) => (Some(m.range(range).map(|(_, &id)| id)), None),
            Holders::Many(m) => (None, Some(m.range(range).flat_map(|(_, b)| b.iter()))),
        };
        one.into_iter().flatten().chain(many.into_iter().flatten())
    }

    /// Number of rows whose keys fall in `range`. O(log n + keys in the range).
    pub(crate) fn count_range<Q, R>(&self, range: R) -> usize
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
        R: std::ops::RangeBounds<Q>,
    {
        match &self.holders {
            Holders::One(m) => m.range(range).count(),
            Holders::Many(m) => m.range(range).map(|(_, b)| b.len()).sum(),
        }
    }

    /// Every indexed row, in key order (creation order within a key). O(n).
    pub(crate) fn all(&self) -> Vec<Member> {
        match &self.holders {
            Holders::One(m) => m.values().copied().collect(),
            Holders::Many(m) => m.values().flat_map(Bucket::iter).collect(),
        }
    }

    /// Number of keys held.
    pub(crate) fn keys(&self) -> usize {
        match &self.holders {
            Holders::One(m) => m.len(),
            Holders::Many(m) => m.len(),
        }
    }

    /// Adds `id` under `key`; for a unique key, returns the row it displaced.
    fn put(&mut self, key: &K, id: Member) -> Option<Member> {
        match &mut self.holders {
            Holders::One(m) => m.insert(key.clone(), id).filter(|&held| held != id),
            Holders::Many(m) => {
                m.entry(key.clone()).or_default().insert(id);
                None
            }
        }
    }

    fn drop_key(&mut self, key: &K, id: Member) {
        match &mut self.holders {
            Holders::One(m) => {
                if m.get(key) == Some(&id) {
                    m.remove(key);
                }
            }
            Holders::Many(m) => {
                if let Some(b) = m.get_mut(key) {
                    b.remove(id);
                    if b.is_empty() {
                        m.remove(key);
                    }
                }
            }
        }
    }

    fn add(&mut self, key: K, id: Member) {
        // A write checks first and never displaces a row; a change applied wholesale may, and
        // its check finds the displaced row in the log (`check_displaced`), whose rollback
        // puts it back.
        if let Some(displaced) = self.put(&key, id) {
            self.log.push(Logged::Removed(key.clone(), displaced));
        }
        self.log.push(Logged::Added(key, id));
    }

    #[cold]
    fn conflict(&self, key: &K, existing: Member) -> Error {
        Error::Unique {
            model: model_name::<T>(),
            field: self.name,
            key: format!("{key:?}"),
            existing: RowRef::new(model_name::<T>(), self.table.id(existing))
                .written_by_the_call(super::gave(&self.log, key, existing)),
        }
    }

    fn take(&mut self, key: K, id: Member) {
        self.drop_key(&key, id);
        self.log.push(Logged::Removed(key, id));
    }
}

impl<T: crate::Model, K: Key> RowIndex<T> for KeyIndex<T, K> {
    fn clone_box(&self) -> Box<dyn RowIndex<T>> {
        Box::new(self.clone())
    }

    fn check(&self, _core: &Core, id: Option<RawId>, old: Option<&T>, new: &T) -> Result<()> {
        let Holders::One(map) = &self.holders else {
            return Ok(());
        };
        let Some(key) = self.key.get(new) else {
            return Ok(());
        };
        if let Some(old) = old
            && self.key.get(old).as_deref() == Some(&*key)
        {
            return Ok(());
        }
        match map.get(&*key) {
            Some(&holder) if Some(holder) != id.map(|id| id.member()) => {
                Err(self.conflict(&key, holder))
            }
            _ => Ok(()),
        }
    }

    fn insert(&mut self, id: Member, row: &T) {
        if let Some(key) = self.key.get(row) {
            self.add(key.into_owned(), id);
        }
    }

    fn remove(&mut self, id: Member, row: &T) {
        if let Some(key) = self.key.get(row) {
            self.take(key.into_owned(), id);
        }
    }

    fn replace(&mut self, id: Member, old: &T, new: &T) {
        let (old, new) = (self.key.get(old), self.key.get(new));
        if old != new {
            let (old, new) = (old.map(Cow::into_owned), new.map(Cow::into_owned));
            if let Some(old) = old {
                self.take(old, id);
            }
            if let Some(new) = new {
                self.add(new, id);
            }
        }
    }

    fn moves(&self, old: &T, new: &T) -> bool {
        self.key.get(old) != self.key.get(new)
    }

    fn check_stored(&self, _core: &Core, id: RawId, row: &T) -> Result<()> {
        let (Holders::One(map), Some(key)) = (&self.holders, self.key.get(row)) else {
            return Ok(());
        };
        match map.get(&*key) {
            Some(&holder) if holder != id.member() => Err(self.conflict(&key, holder)),
            _ => Ok(()),
        }
    }

    fn check_displaced(&self, rows: &Arena<T>) -> Result<()> {
        let Holders::One(map) = &self.holders else {
            return Ok(());
        };
        for change in &self.log {
            let Logged::Removed(key, member) = change else {
                continue;
            };
            let still_holds = rows
                .get(self.table.id(*member))
                .and_then(|row| self.key.get(row))
                .is_some_and(|k| &*k == key);
            if still_holds && map.get(key) != Some(member) {
                // `member` held the key first; the row the map now names took it from it.
                return Err(self.conflict(key, *member));
            }
        }
        Ok(())
    }

    fn follow(&mut self, own: &Lineage, _lineages: &[Lineage]) {
        self.table = own.clone();
    }

    fn reset(&mut self, own: &Lineage, lineages: &[Lineage]) {
        self.follow(own, lineages);
        self.holders = match self.holders {
            Holders::One(_) => Holders::One(OrdMap::new()),
            Holders::Many(_) => Holders::Many(OrdMap::new()),
        };
        self.log.clear();
    }

    fn commit(&mut self) {
        crate::core::clear_log(&mut self.log);
    }

    fn rollback(&mut self) {
        while let Some(change) = self.log.pop() {
            match change {
                Logged::Added(key, id) => self.drop_key(&key, id),
                Logged::Removed(key, id) => {
                    self.put(&key, id);
                }
                Logged::Displaced { .. } => {}
            }
        }
        crate::core::clear_log(&mut self.log);
    }

    fn verify(&self, _core: &Core, rows: &Arena<T>) -> std::result::Result<(), String> {
        let mut expected: BTreeMap<K, Vec<Member>> = BTreeMap::new();
        for (id, row) in rows.iter() {
            if let Some(key) = self.key.get(row) {
                expected
                    .entry(key.into_owned())
                    .or_default()
                    .push(id.member());
            }
        }
        let unique = matches!(self.holders, Holders::One(_));
        for (key, ids) in &mut expected {
            ids.sort_unstable();
            if unique && ids.len() > 1 {
                return Err(format!("{} holds {key:?} in {} rows", self.name, ids.len()));
            }
            let indexed: Vec<Member> = self.find(key).collect();
            if indexed != *ids {
                return Err(format!(
                    "index {} differs from its rows at {key:?}: rows say {ids:?}, index says {indexed:?}",
                    self.name
                ));
            }
        }
        if self.keys() != expected.len() {
            return Err(format!(
                "index {} holds {} keys, its rows give {}",
                self.name,
                self.keys(),
                expected.len()
            ));
        }
        Ok(())
    }
}
