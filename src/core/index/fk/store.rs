//! The store an [`FkIndex`](super::FkIndex) keeps its buckets in: addressed by the source's
//! slot when keys are ids, by key when they are attributes.

use imbl::OrdMap;

use super::super::Logged;
use crate::core::bucket::Bucket;
use crate::core::pvec::PVec;
use crate::id::{Lineage, Member, RawId, Seq};
use crate::key::Key;

/// A slot-addressed bucket and the creation number of the source it belongs to.
#[derive(Clone)]
pub(crate) struct Entry {
    stamp: Seq,
    bucket: Bucket,
}

impl Default for Entry {
    fn default() -> Self {
        Entry {
            stamp: Seq::new(0),
            bucket: Bucket::Empty,
        }
    }
}

/// Key → rows holding it. Id keys address buckets by the source's slot: no hashing, no
/// comparisons. An entry is *stamped* with the creation number of the source whose rows it
/// holds; a source's bucket is empty before the source leaves, so a reused slot starts empty.
/// Since every non-null key references a live row, a non-empty bucket whose stamp matches an id
/// proves that id alive.
#[derive(Clone)]
pub(super) enum Store<K> {
    Slots(PVec<Entry>),
    Keys(OrdMap<K, Bucket>),
}

impl<K: Key> Store<K> {
    #[inline]
    pub(super) fn bucket(&self, key: &K, table: &Lineage) -> Option<&Bucket> {
        match self {
            Store::Slots(v) => {
                let raw = key.__raw()?;
                if !table.owns(raw) {
                    return None;
                }
                let entry = v.get(raw.slot() as usize)?;
                (entry.stamp == raw.member().seq && !entry.bucket.is_empty())
                    .then_some(&entry.bucket)
            }
            Store::Keys(m) => m.get(key),
        }
    }

    /// Adds `child` to `key`'s bucket. A slot's bucket stamped with another source is reset
    /// first; if it still held rows (the old source left with children, which only a change
    /// applied wholesale does), they are returned, to be logged and checked.
    #[inline]
    #[must_use]
    pub(super) fn link(&mut self, key: &K, child: Member) -> Option<Logged<K>> {
        match self {
            Store::Slots(v) => {
                let raw = key.__raw()?;
                if let Some(entry) = v.get_mut(raw.slot() as usize)
                    && entry.stamp == raw.member().seq
                {
                    entry.bucket.insert(child);
                    return None;
                }
                Self::link_restamped(v, raw, child)
            }
            Store::Keys(m) => {
                m.entry(key.clone()).or_default().insert(child);
                None
            }
        }
    }

    /// [`link`](Self::link) into a slot past the end, or stamped with another source (its first
    /// row since the slot changed hands).
    #[cold]
    #[inline(never)]
    fn link_restamped(v: &mut PVec<Entry>, raw: RawId, child: Member) -> Option<Logged<K>> {
        let slot = raw.slot() as usize;
        while v.len() <= slot {
            v.push(Entry::default());
        }
        let entry = v.get_mut(slot)?;
        let mut displaced = None;
        if entry.stamp != raw.member().seq {
            let stamp = std::mem::replace(&mut entry.stamp, raw.member().seq);
            let bucket = std::mem::replace(&mut entry.bucket, Bucket::Empty);
            if !bucket.is_empty() {
                displaced = Some(Logged::Displaced {
                    slot: raw.slot(),
                    stamp,
                    bucket,
                });
            }
        }
        entry.bucket.insert(child);
        displaced
    }

    /// Puts back a bucket [`link`](Self::link) displaced (rollback).
    pub(super) fn restore(&mut self, slot: u32, stamp: Seq, bucket: Bucket) {
        if let Store::Slots(v) = self
            && let Some(entry) = v.get_mut(slot as usize)
        {
            *entry = Entry { stamp, bucket };
        }
    }

    /// Takes `child` out of `key`'s bucket; false if it was not there (its bucket was
    /// [dropped](Self::drop_bucket)).
    #[inline]
    pub(super) fn unlink(&mut self, key: &K, child: Member) -> bool {
        match self {
            Store::Slots(v) => {
                let Some(raw) = key.__raw() else { return false };
                match v.get_mut(raw.slot() as usize) {
                    Some(entry) if entry.stamp == raw.member().seq => entry.bucket.remove(child),
                    _ => false,
                }
            }
            Store::Keys(m) => {
                let Some(bucket) = m.get_mut(key) else {
                    return false;
                };
                let removed = bucket.remove(child);
                if bucket.is_empty() {
                    m.remove(key);
                }
                removed
            }
        }
    }

    /// Empties source row `source`'s bucket in one step, for a delete that removes the source
    /// and every row in it: returns what to log (`None` if the bucket was empty, or if keys are
    /// attributes, whose buckets the rows' removals empty one by one). O(log n).
    pub(super) fn drop_bucket(&mut self, source: RawId) -> Option<Logged<K>> {
        let Store::Slots(v) = self else {
            return None;
        };
        let entry = v.get_mut(source.slot() as usize)?;
        if entry.stamp != source.member().seq || entry.bucket.is_empty() {
            return None;
        }
        Some(Logged::Displaced {
            slot: source.slot(),
            stamp: entry.stamp,
            bucket: std::mem::take(&mut entry.bucket),
        })
    }

    /// Number of non-empty buckets, for integrity checks. O(n).
    pub(super) fn non_empty(&self) -> usize {
        match self {
            Store::Slots(v) => v
                .leaves()
                .flat_map(|(_, l)| l.iter())
                .filter(|e| !e.bucket.is_empty())
                .count(),
            Store::Keys(m) => m.values().filter(|b| !b.is_empty()).count(),
        }
    }
}
