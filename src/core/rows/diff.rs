//! Comparing two states of an arena slot by slot (change sets), and rebuilding an arena from
//! its saved rows (load).

use std::num::NonZeroU64;
use std::sync::atomic::AtomicU64;

use triomphe::Arc;

use super::{Arena, NO_FREE, PVec, Slot, occupied};
use crate::id::{Lineage, RawId};

impl<T: Clone> Arena<T> {
    /// The vacant slots in the order inserts will take them (the free list, from its head).
    /// O(vacant slots).
    pub(crate) fn free_list(&self) -> Vec<u32> {
        let mut free = Vec::new();
        let mut at = self.free_head;
        // Bounded by the slot count: a free list never holds a slot twice.
        while at != NO_FREE && free.len() < self.slots.len() {
            let Some(Slot::Vacant { next_free }) = self.slots.get(at as usize) else {
                break;
            };
            free.push(at);
            at = *next_free;
        }
        free
    }

    /// A fresh arena (its own counter, not shared with any other) for the lineage `lineage`,
    /// whose counter has issued up to `counter`, holding `rows`: `(slot, creation number, row)`
    /// in increasing slot order. Slots between them are vacant; with `free` (the saved
    /// [`free_list`](Self::free_list): distinct slots, none holding a row, every vacant slot
    /// below the last row among them) inserts take the vacant slots in that order, as they
    /// would have in the saved arena, and otherwise highest first. O(rows + slots).
    pub(crate) fn restored(
        lineage: Lineage,
        counter: u64,
        rows: impl IntoIterator<Item = (u32, NonZeroU64, T)>,
        free: Option<&[u32]>,
    ) -> Self {
        let mut slots = PVec::new();
        let mut free_head = NO_FREE;
        let mut len = 0;
        let (mut in_order, mut last) = (true, 0);
        for (slot, seq, row) in rows {
            in_order &= seq.get() > last;
            last = seq.get();
            while slots.len() < slot as usize {
                let index = slots.len() as u32;
                slots.push(Slot::Vacant {
                    next_free: free_head,
                });
                free_head = index;
            }
            slots.push(Slot::Occupied { seq, row });
            len += 1;
        }
        if let Some(free) = free {
            // Vacant slots after the last row, which only the free list records.
            let end = free.iter().max().map_or(0, |&slot| slot as usize + 1);
            while slots.len() < end {
                slots.push(Slot::default());
            }
            for (i, &slot) in free.iter().enumerate() {
                let next_free = free.get(i + 1).copied().unwrap_or(NO_FREE);
                if let Some(vacant @ Slot::Vacant { .. }) = slots.get_mut(slot as usize) {
                    *vacant = Slot::Vacant { next_free };
                }
            }
            free_head = free.first().copied().unwrap_or(NO_FREE);
        }
        Arena {
            slots,
            free_head,
            len,
            in_order,
            counter: Arc::new(AtomicU64::new(counter)),
            reserved: (0, 0),
            lineage,
        }
    }

    /// Calls `f` for every slot whose row may differ between `self` (before) and `other`
    /// (after), in slot order; slots the two share are skipped (see [`PVec::diff`]).
    pub(crate) fn diff<'a>(&'a self, other: &'a Arena<T>, f: &mut dyn FnMut(SlotChange<'a, T>)) {
        let (mine, theirs) = (&self.lineage, &other.lineage);
        self.slots.diff(&other.slots, &mut |slot, a, b| {
            let (a, b) = (occupied(a, mine, slot), occupied(b, theirs, slot));
            match (a, b) {
                (Some((x, old)), Some((y, new))) if x == y => f(SlotChange::Kept(x, old, new)),
                (a, b) => {
                    if let Some((x, old)) = a {
                        f(SlotChange::Deleted(x, old));
                    }
                    if let Some((y, new)) = b {
                        f(SlotChange::Inserted(y, new));
                    }
                }
            }
        });
    }
}

/// What [`Arena::diff`] found in one slot.
pub(crate) enum SlotChange<'a, T> {
    /// A row only the later state has.
    Inserted(RawId, &'a T),
    /// A row only the earlier state has.
    Deleted(RawId, &'a T),
    /// The same row in both states, possibly with another value.
    Kept(RawId, &'a T, &'a T),
}
