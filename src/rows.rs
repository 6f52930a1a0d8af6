//! A persistent generational arena: the row storage of one table.
//!
//! Slots live in a persistent vector ([`PVec`]), so cloning the arena is O(1) and a clone shares every slot
//! with the original until one of them writes (copy-on-write, path copying). Vacant slots form a
//! free list threaded through the slots themselves, as in `slotmap`.
//!
//! Where `slotmap` keeps a version per slot, a slot here remembers the creation number (`seq`) of
//! its row, drawn from a counter shared by every clone of the arena. The counter never goes back:
//! a clone that is dropped (a rolled-back transaction) or forked cannot make another clone hand
//! out the same `(slot, seq)` pair again, so an id never resolves to a row other than its own.

use std::num::NonZeroU64;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::id::RawId;
use crate::pvec::{self, Leaf, PVec};

const NO_FREE: u32 = u32::MAX;

#[derive(Clone)]
pub(crate) enum Slot<T> {
    Vacant { next_free: u32 },
    Occupied { seq: NonZeroU64, row: T },
}

/// The last leaf [`Rows::get_near`] read: its number and its slots.
pub(crate) type Cursor<'a, T> = Option<(usize, &'a Leaf<Slot<T>>)>;

/// The rows of one table. See the module docs.
#[derive(Clone)]
pub(crate) struct Rows<T> {
    slots: PVec<Slot<T>>,
    free_head: u32,
    len: usize,
    counter: Arc<AtomicU64>,
}

impl<T: Clone> Rows<T> {
    pub(crate) fn new() -> Self {
        Rows {
            slots: PVec::new(),
            free_head: NO_FREE,
            len: 0,
            counter: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Number of live rows. O(1).
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether one more row fits (slot indexes are `u32`). O(1).
    pub(crate) fn has_room(&self) -> bool {
        self.free_head != NO_FREE || self.slots.len() < NO_FREE as usize
    }

    /// Stores `row` and returns its id and the stored row, for indexing without a second walk.
    /// O(log n). The caller checks [`has_room`](Self::has_room).
    pub(crate) fn insert(&mut self, row: T) -> (RawId, &T) {
        let seq = self.counter.fetch_add(1, Ordering::Relaxed) + 1;
        let seq = NonZeroU64::new(seq).expect("a u64 counter starting at 1 does not wrap");
        self.len += 1;
        let (slot, stored) = if self.free_head == NO_FREE {
            let slot = u32::try_from(self.slots.len()).expect("caller checked has_room");
            (slot, self.slots.push(Slot::Occupied { seq, row }))
        } else {
            let slot = self.free_head;
            let stored = self
                .slots
                .get_mut(slot as usize)
                .expect("the free list points at existing slots");
            match std::mem::replace(stored, Slot::Occupied { seq, row }) {
                Slot::Vacant { next_free } => self.free_head = next_free,
                Slot::Occupied { .. } => unreachable!("the free list points at vacant slots"),
            }
            (slot, stored)
        };
        match stored {
            Slot::Occupied { row, .. } => (RawId { seq, slot }, row),
            Slot::Vacant { .. } => unreachable!("just stored"),
        }
    }

    /// The row `id` names, if it is alive. O(log n).
    pub(crate) fn get(&self, id: RawId) -> Option<&T> {
        match self.slots.get(id.slot as usize)? {
            Slot::Occupied { seq, row } if *seq == id.seq => Some(row),
            _ => None,
        }
    }

    /// The row `id` names, reusing `cursor` (the last leaf read) when `id` is in the same leaf:
    /// reading ids that are close in storage (siblings created together) walks the trie once
    /// per leaf instead of once per row. O(1) on a cursor hit, O(log n) otherwise.
    #[inline]
    pub(crate) fn get_near<'a>(&'a self, id: RawId, cursor: &mut Cursor<'a, T>) -> Option<&'a T> {
        let slot = id.slot as usize;
        let leaf = match cursor {
            Some((number, leaf)) if *number == pvec::leaf_number(slot) => *leaf,
            _ => {
                let leaf = self.slots.leaf(slot)?;
                *cursor = Some((pvec::leaf_number(slot), leaf));
                leaf
            }
        };
        match leaf[pvec::leaf_offset(slot)].as_ref()? {
            Slot::Occupied { seq, row } if *seq == id.seq => Some(row),
            _ => None,
        }
    }

    /// Mutable access to the row `id` names, if it is alive. O(log n).
    pub(crate) fn get_mut(&mut self, id: RawId) -> Option<&mut T> {
        match self.slots.get_mut(id.slot as usize)? {
            Slot::Occupied { seq, row } if *seq == id.seq => Some(row),
            _ => None,
        }
    }

    /// Whether `id` names a live row. O(log n).
    pub(crate) fn contains(&self, id: RawId) -> bool {
        self.get(id).is_some()
    }

    /// Removes and returns the row `id` names, if it is alive. O(log n), one walk down the trie
    /// (which copies the path if a clone shares it, even when `id` turns out stale).
    pub(crate) fn remove(&mut self, id: RawId) -> Option<T> {
        let next_free = self.free_head;
        let slot = self.slots.get_mut(id.slot as usize)?;
        if !matches!(slot, Slot::Occupied { seq, .. } if *seq == id.seq) {
            return None;
        }
        match std::mem::replace(slot, Slot::Vacant { next_free }) {
            Slot::Occupied { row, .. } => {
                self.free_head = id.slot;
                self.len -= 1;
                Some(row)
            }
            Slot::Vacant { .. } => unreachable!("checked occupied above"),
        }
    }

    /// Live rows in storage order (not creation order). O(1) per step.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (RawId, &T)> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, slot)| match slot {
                Slot::Occupied { seq, row } => Some((
                    RawId {
                        seq: *seq,
                        slot: i as u32,
                    },
                    row,
                )),
                Slot::Vacant { .. } => None,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_ids_never_resolve_after_slot_reuse() {
        let mut rows = Rows::new();
        let a = rows.insert("a").0;
        assert_eq!(rows.remove(a), Some("a"));
        let b = rows.insert("b").0;
        assert_eq!(a.slot, b.slot, "the freed slot is reused");
        assert_eq!(rows.get(a), None);
        assert_eq!(rows.get(b), Some(&"b"));
        assert_eq!(rows.remove(a), None);
        assert_eq!(rows.len(), 1);
    }

    #[test]
    fn a_dropped_clone_cannot_resurrect_its_ids() {
        let mut rows = Rows::new();
        rows.insert(1);
        let before = rows.clone();
        let mut txn = rows.clone();
        let lost = txn.insert(2).0;
        drop(txn); // rollback: keep `before`
        let mut rows = before;
        let fresh = rows.insert(3).0;
        assert_eq!(lost.slot, fresh.slot, "same slot in both histories");
        assert_eq!(rows.get(lost), None, "the rolled-back id stays dead");
        assert_eq!(rows.get(fresh), Some(&3));
    }

    #[test]
    fn clones_are_independent() {
        let mut a = Rows::new();
        let x = a.insert(String::from("x")).0;
        let b = a.clone();
        *a.get_mut(x).unwrap() = "changed".into();
        a.insert("y".into());
        assert_eq!(b.get(x).map(String::as_str), Some("x"));
        assert_eq!(b.len(), 1);
        assert_eq!(a.len(), 2);
    }

    #[test]
    fn iter_skips_vacant_slots() {
        let mut rows = Rows::new();
        let ids: Vec<_> = (0..5).map(|i| rows.insert(i).0).collect();
        rows.remove(ids[1]);
        rows.remove(ids[3]);
        let live: Vec<_> = rows.iter().map(|(id, v)| (id, *v)).collect();
        assert_eq!(live, vec![(ids[0], 0), (ids[2], 2), (ids[4], 4)]);
        assert!(rows.has_room());
    }
}
