//! Indexes: foreign-key indexes (key → children) and unique indexes (value → row).
//!
//! Both are persistent maps, so cloning them is O(1) and they fork with the database.

use imbl::OrdMap;

use crate::bucket::Bucket;
use crate::id::RawId;
use crate::key::Key;
use crate::pvec::PVec;

/// The index of one foreign key: from each key value to the set of rows holding it.
///
/// When the key is the source's [`Id`](crate::Id), buckets are addressed by the source's slot in a
/// persistent vector: one O(log₃₂ n) step, no comparisons. When the key is a unique attribute of
/// the source (a slug), buckets live in an ordered map from the value.
///
/// A slot entry is *stamped* with the creation number of the source whose children it holds.
/// Since every non-null key references a live row, a non-empty bucket whose stamp matches an id
/// proves that id alive: [`live_bucket`](FkIndex::live_bucket) answers `count` and `get` for a
/// source with children in one lookup, without reading the source table.
#[derive(Clone)]
pub(crate) enum FkIndex<K> {
    Slots(PVec<Entry>),
    Keys(OrdMap<K, Bucket>),
}

/// A slot-addressed bucket and the creation number of the source it belongs to.
#[derive(Clone, Default)]
pub(crate) struct Entry {
    stamp: u64,
    bucket: Bucket,
}

#[inline]
fn slot_of<K: Key>(key: &K) -> (usize, u64) {
    let (slot, seq) = key
        .__slot()
        .expect("slot-addressed indexes only hold id keys");
    (slot as usize, seq)
}

impl<K: Key> FkIndex<K> {
    pub(crate) fn by_slot() -> Self {
        FkIndex::Slots(PVec::new())
    }

    pub(crate) fn by_key() -> Self {
        FkIndex::Keys(OrdMap::new())
    }

    /// The children of `key` if it has any, which proves `key` references a live row.
    /// O(log n).
    #[inline]
    pub(crate) fn live_bucket(&self, key: &K) -> Option<&Bucket> {
        match self {
            FkIndex::Slots(v) => {
                let (slot, seq) = slot_of(key);
                let entry = v.get(slot)?;
                (entry.stamp == seq && !entry.bucket.is_empty()).then_some(&entry.bucket)
            }
            FkIndex::Keys(m) => m.get(key),
        }
    }

    /// Links `child` to `key`. O(log n + log k).
    pub(crate) fn insert(&mut self, key: &K, child: RawId) {
        match self {
            FkIndex::Slots(v) => {
                let (slot, seq) = slot_of(key);
                while v.len() <= slot {
                    v.push(Entry::default());
                }
                if let Some(entry) = v.get_mut(slot) {
                    debug_assert!(entry.bucket.is_empty() || entry.stamp == seq);
                    entry.stamp = seq;
                    entry.bucket.insert(child);
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
                if let Some(entry) = v.get_mut(slot_of(key).0) {
                    entry.bucket.remove(child);
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

    /// Unlinks every child of `key` at once (its source is being deleted). O(log n).
    pub(crate) fn clear(&mut self, key: &K) {
        match self {
            FkIndex::Slots(v) => {
                let (slot, seq) = slot_of(key);
                if v.get(slot)
                    .is_some_and(|e| e.stamp == seq && !e.bucket.is_empty())
                    && let Some(entry) = v.get_mut(slot)
                {
                    entry.bucket = Bucket::Empty;
                }
            }
            FkIndex::Keys(m) => {
                m.remove(key);
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

    /// Number of non-empty buckets, for integrity checks. O(n).
    pub(crate) fn non_empty(&self) -> usize {
        match self {
            FkIndex::Slots(v) => v.iter().filter(|e| !e.bucket.is_empty()).count(),
            FkIndex::Keys(m) => m.values().filter(|b| !b.is_empty()).count(),
        }
    }
}
