//! Indexes: foreign-key indexes (key → children) and unique indexes (value → row).
//!
//! Both are persistent maps, so cloning them is O(1) and they fork with the database.

use imbl::{OrdMap, Vector};

use crate::bucket::Bucket;
use crate::id::RawId;
use crate::key::Key;

/// The index of one foreign key: from each key value to the set of rows holding it.
///
/// When the key is the source's [`Id`](crate::Id), buckets are addressed by the source's slot in a
/// persistent vector: one O(log₆₄ n) step, no comparisons. When the key is a unique attribute of
/// the source (a slug), buckets live in an ordered map from the value.
#[derive(Clone)]
pub(crate) enum FkIndex<K> {
    Slots(Vector<Bucket>),
    Keys(OrdMap<K, Bucket>),
}

fn slot_of<K: Key>(key: &K) -> usize {
    key.__slot()
        .expect("slot-addressed indexes only hold id keys") as usize
}

impl<K: Key> FkIndex<K> {
    pub(crate) fn by_slot() -> Self {
        FkIndex::Slots(Vector::new())
    }

    pub(crate) fn by_key() -> Self {
        FkIndex::Keys(OrdMap::new())
    }

    /// The children of `key`, if any. O(log n).
    pub(crate) fn bucket(&self, key: &K) -> Option<&Bucket> {
        match self {
            FkIndex::Slots(v) => v.get(slot_of(key)),
            FkIndex::Keys(m) => m.get(key),
        }
    }

    /// Number of children of `key`. O(log n).
    pub(crate) fn count(&self, key: &K) -> usize {
        self.bucket(key).map_or(0, Bucket::len)
    }

    /// Links `child` to `key`. O(log n + log k).
    pub(crate) fn insert(&mut self, key: &K, child: RawId) {
        match self {
            FkIndex::Slots(v) => {
                let slot = slot_of(key);
                while v.len() <= slot {
                    v.push_back(Bucket::Empty);
                }
                if let Some(bucket) = v.get_mut(slot) {
                    bucket.insert(child);
                }
            }
            FkIndex::Keys(m) => {
                m.entry(key.clone()).or_default().insert(child);
            }
        }
    }

    /// Unlinks `child` from `key`. O(log n + log k).
    pub(crate) fn remove(&mut self, key: &K, child: RawId) {
        match self {
            FkIndex::Slots(v) => {
                if let Some(bucket) = v.get_mut(slot_of(key)) {
                    bucket.remove(child);
                }
            }
            FkIndex::Keys(m) => {
                if let Some(bucket) = m.get_mut(key) {
                    bucket.remove(child);
                    if bucket.is_empty() {
                        m.remove(key);
                    }
                }
            }
        }
    }

    /// Moves every child of `old` to `new` (a source key changed). O(log n).
    pub(crate) fn rekey(&mut self, old: &K, new: &K) {
        if let FkIndex::Keys(m) = self
            && let Some(bucket) = m.remove(old)
        {
            m.insert(new.clone(), bucket);
        }
    }

    /// Every `(key, children)` pair with at least one child, for integrity checks.
    pub(crate) fn non_empty(&self) -> Vec<(Option<&K>, usize, Vec<RawId>)> {
        match self {
            FkIndex::Slots(v) => v
                .iter()
                .enumerate()
                .filter(|(_, b)| !b.is_empty())
                .map(|(slot, b)| (None, slot, b.iter().collect()))
                .collect(),
            FkIndex::Keys(m) => m
                .iter()
                .map(|(k, b)| (Some(k), 0, b.iter().collect()))
                .collect(),
        }
    }
}
