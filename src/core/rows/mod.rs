//! A persistent generational arena: the row storage of one table.
//!
//! Slots live in a persistent vector ([`PVec`]), so cloning the arena is O(1) and a clone shares
//! every slot with the original until one of them writes (copy-on-write, path copying). Vacant
//! slots form a free list threaded through the slots themselves, as in `slotmap`.
//!
//! Where `slotmap` keeps a version per slot, a slot here remembers the creation number (`seq`) of
//! its row, drawn from a counter shared by every clone of the arena. The counter never goes back:
//! a clone that is dropped (a rolled-back transaction) or forked cannot make another clone hand
//! out the same `(slot, seq)` pair again, so an id never resolves to a row other than its own.
//! Ids also carry the table's identity (its declaration number), which the arena checks before
//! anything else: an id from another table instance resolves to nothing.

use std::num::{NonZeroU32, NonZeroU64};
use std::sync::atomic::{AtomicU64, Ordering};

use triomphe::Arc;

use super::pvec::{self, PVec, Stamp};
use crate::id::{Lineage, Member, RawId, Seq};

mod diff;
mod iter;
mod leaf;
#[cfg(test)]
mod tests;

pub(crate) use diff::SlotChange;
pub(crate) use iter::{Cursor, Iter};
pub(crate) use leaf::SavedLeaf;

const NO_FREE: u32 = u32::MAX;

#[derive(Clone)]
pub(crate) enum Slot<T> {
    Vacant { next_free: u32 },
    Occupied { seq: NonZeroU64, row: T },
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Slot::Vacant { next_free: NO_FREE }
    }
}

/// A live row open for writing: see [`Arena::row_mut`].
pub(crate) struct RowMut<'a, T> {
    row: &'a mut T,
    written: pvec::EntryWritten<'a>,
}

impl<'a, T> RowMut<'a, T> {
    /// The row as it is.
    #[inline]
    pub(crate) fn get(&self) -> &T {
        self.row
    }

    /// The row, marked written, and the stamp it bore: what undoing the write puts back with
    /// [`Arena::restamp`].
    #[inline]
    pub(crate) fn into_mut(self) -> (&'a mut T, Stamp) {
        let stamp = self.written.mark();
        (self.row, stamp)
    }
}

/// The rows of one table. See the module docs.
pub(crate) struct Arena<T> {
    slots: PVec<Slot<T>>,
    free_head: u32,
    len: usize,
    /// Whether storage order is creation order: no row was ever stored in a slot out of turn
    /// (a reused slot, a row put under a given id). Cleared for good once false.
    in_order: bool,
    /// The last creation number issued by any clone of this arena.
    counter: Arc<AtomicU64>,
    /// Creation numbers `next..end` drawn from `counter` for this instance alone (a bulk
    /// insert's, see [`reserve`](Self::reserve)); empty when `next == end`. A clone starts
    /// with none, so two instances never issue the same number.
    reserved: (u64, u64),
    lineage: Lineage,
}

impl<T: Clone> Clone for Arena<T> {
    fn clone(&self) -> Self {
        Arena {
            slots: self.slots.clone(),
            free_head: self.free_head,
            len: self.len,
            in_order: self.in_order,
            counter: Arc::clone(&self.counter),
            reserved: (0, 0),
            lineage: self.lineage.clone(),
        }
    }
}

/// Most creation numbers one [`Arena::reserve`] draws at once, and so the most rows a bulk
/// insert prepares for before its first insert (`Table::insert_many` sizes its id list by it).
pub(crate) const RESERVE_MAX: usize = 1 << 20;

/// The creation number of an arena's next row: the next of its `reserved` ones, or one drawn
/// from the `counter` every clone shares (an atomic increment).
#[inline]
fn next_seq(reserved: &mut (u64, u64), counter: &AtomicU64) -> u64 {
    let (next, end) = *reserved;
    if next < end {
        reserved.0 = next + 1;
        next
    } else {
        counter.fetch_add(1, Ordering::Relaxed) + 1
    }
}

#[inline]
fn matches(slot: &Slot<impl Sized>, seq: Seq) -> bool {
    matches!(slot, Slot::Occupied { seq: s, .. } if s.get() == seq.get())
}

impl<T: Clone> Arena<T> {
    /// An empty arena for the table instance `table`.
    pub(crate) fn new(table: NonZeroU32) -> Self {
        Arena {
            slots: PVec::new(),
            free_head: NO_FREE,
            len: 0,
            in_order: true,
            counter: Arc::new(AtomicU64::new(0)),
            reserved: (0, 0),
            lineage: Lineage::new(table),
        }
    }

    /// Whether storage order is creation order (no row was ever stored out of turn). O(1).
    #[inline]
    pub(crate) fn in_order(&self) -> bool {
        self.in_order
    }

    /// Which ids this table's rows carry.
    #[inline]
    pub(crate) fn lineage(&self) -> &Lineage {
        &self.lineage
    }

    /// The id of row `member` of this table.
    #[inline]
    pub(crate) fn id(&self, member: Member) -> RawId {
        self.lineage.id(member)
    }

    /// Number of live rows. O(1).
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether one more row fits (slot indexes are `u32`). O(1).
    #[inline]
    pub(crate) fn has_room(&self) -> bool {
        self.free_head != NO_FREE || self.slots.len() < NO_FREE as usize
    }

    /// The slot `id` names, if `id` belongs to this table.
    #[inline]
    fn slot(&self, id: RawId) -> Option<&Slot<T>> {
        if !self.lineage.owns(id) {
            return None;
        }
        self.slots.get(id.slot() as usize)
    }

    /// Stores `row` and returns its id and the stored row, for indexing without a second walk.
    /// O(log n). `None` (nothing changed) if the table is full: see
    /// [`has_room`](Self::has_room). A panic in a row's `Clone` (copying storage shared with a
    /// snapshot) leaves the arena as it was.
    pub(crate) fn insert(&mut self, row: T) -> Option<(RawId, &T)> {
        if !self.has_room() {
            return None;
        }
        // A reused slot breaks creation order, unless it is the last one: the new row's
        // creation number is above every other.
        let keeps_order =
            self.free_head == NO_FREE || self.free_head as usize + 1 == self.slots.len();
        let (slot, stored) = if self.free_head == NO_FREE {
            let slot = u32::try_from(self.slots.len()).ok()?;
            (slot, self.slots.push(Slot::default()))
        } else {
            let slot = self.free_head;
            (slot, self.slots.get_mut(slot as usize)?)
        };
        let Slot::Vacant { next_free } = *stored else {
            return None;
        };
        // Every copy is made: nothing below can fail or run user code.
        let seq = NonZeroU64::new(next_seq(&mut self.reserved, &self.counter))?;
        self.in_order &= keeps_order;
        self.free_head = next_free;
        self.len += 1;
        *stored = Slot::Occupied { seq, row };
        let Slot::Occupied { row, .. } = stored else {
            return None;
        };
        let member = Member {
            seq: Seq::new(seq.get()),
            slot,
        };
        Some((self.lineage.id(member), row))
    }

    /// Draws the creation numbers of the next `n` inserts from the shared counter in one
    /// atomic step, for this instance alone (at most 2²⁰ at a time; fewer than 2 is not
    /// worth it): a bulk insert pays one atomic increment instead of one per row. Numbers stay
    /// unique and increasing: clones of the arena draw theirs after the reserved ones. Give
    /// back what is left with [`release`](Self::release). O(1).
    pub(crate) fn reserve(&mut self, n: usize) {
        self.release();
        let n = n.min(RESERVE_MAX) as u64;
        if n >= 2 {
            let last = self.counter.fetch_add(n, Ordering::Relaxed);
            self.reserved = (last + 1, last + 1 + n);
        }
    }

    /// Gives back the reserved numbers no insert used, if no clone drew a number since the
    /// reservation (they were never issued: the counter goes back to the last one used);
    /// otherwise they are skipped, as the numbers of rolled-back inserts are. O(1).
    pub(crate) fn release(&mut self) {
        let (next, end) = std::mem::take(&mut self.reserved);
        if next < end {
            let _ = self.counter.compare_exchange(
                end - 1,
                next - 1,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        }
    }

    /// The row `id` names, if it is alive. O(log n).
    #[inline]
    pub(crate) fn get(&self, id: RawId) -> Option<&T> {
        match self.slot(id)? {
            Slot::Occupied { seq, row } if seq.get() == id.seq() => Some(row),
            _ => None,
        }
    }

    /// Mutable access to the row `id` names, if it is alive. O(log n). Copies the path if a
    /// clone shares it, which clones rows: call it before the first change of an operation.
    #[inline]
    pub(crate) fn get_mut(&mut self, id: RawId) -> Option<&mut T> {
        self.get_mut_stamped(id).map(|(row, _)| row)
    }

    /// [`get_mut`](Self::get_mut), with the stamp the row bore: what undoing the write puts
    /// back with [`restamp`](Self::restamp). O(log n).
    #[inline]
    pub(crate) fn get_mut_stamped(&mut self, id: RawId) -> Option<(&mut T, Stamp)> {
        self.row_mut(id).map(RowMut::into_mut)
    }

    /// Gives the slot of `id` back the stamp a write just undone took from it, so that a
    /// [`diff`](Self::diff) against a state from before that write sees no change there
    /// (see [`Stamp`]). Call it right after the old value is back. O(log n), copies nothing.
    pub(crate) fn restamp(&mut self, id: RawId, stamp: Stamp) {
        self.slots.restamp(id.slot() as usize, stamp);
    }

    /// [`get_mut`](Self::get_mut), for a change decided after reading the row: the row is
    /// marked written (for [`diff`](Self::diff)) only by [`RowMut::into_mut`]. O(log n); copies
    /// the path if a clone shares it, as `get_mut` does.
    #[inline(always)]
    pub(crate) fn row_mut(&mut self, id: RawId) -> Option<RowMut<'_, T>> {
        if !self.lineage.owns(id) {
            return None;
        }
        let (slot, written) = self.slots.entry_mut(id.slot() as usize)?.split();
        match slot {
            Slot::Occupied { seq, row } if seq.get() == id.seq() => Some(RowMut { row, written }),
            _ => None,
        }
    }

    /// Whether `id` names a live row. O(log n).
    #[inline]
    pub(crate) fn contains(&self, id: RawId) -> bool {
        self.slot(id).is_some_and(|s| matches(s, id.member().seq))
    }

    /// Replaces the row `id` names and returns the old value; gives `row` back if `id` names no
    /// live row. O(log n).
    pub(crate) fn replace(&mut self, id: RawId, row: T) -> Result<T, T> {
        match self.get_mut(id) {
            Some(slot) => Ok(std::mem::replace(slot, row)),
            None => Err(row),
        }
    }

    /// Removes and returns the row `id` names, if it is alive. O(log n).
    pub(crate) fn remove(&mut self, id: RawId) -> Option<T> {
        self.remove_stamped(id).map(|(row, _)| row)
    }

    /// [`remove`](Self::remove), with the stamp the slot bore (see
    /// [`get_mut_stamped`](Self::get_mut_stamped)). O(log n).
    pub(crate) fn remove_stamped(&mut self, id: RawId) -> Option<(T, Stamp)> {
        if !self.contains(id) {
            return None;
        }
        let next_free = self.free_head;
        let (slot, stamp) = self.slots.get_mut_stamped(id.slot() as usize)?;
        match std::mem::replace(slot, Slot::Vacant { next_free }) {
            Slot::Occupied { row, .. } => {
                self.free_head = id.slot();
                self.len -= 1;
                Some((row, stamp))
            }
            vacant @ Slot::Vacant { .. } => {
                *slot = vacant;
                None
            }
        }
    }

    /// Undoes the [`insert`](Self::insert) that returned `id`: the slot is vacant again and the
    /// first on the free list, as it was (a slot the insert appended is now free, so the next
    /// insert takes the same number the append would have given). Returns the row.
    pub(crate) fn unstore(&mut self, id: RawId) -> Option<T> {
        self.remove(id)
    }

    /// Undoes the [`remove`](Self::remove) of row `id` (value `row`): the row is back in its slot
    /// with its creation number, and the free list is as before the remove. Returns whether
    /// the slot was vacant, as the remove left it (else nothing changes).
    pub(crate) fn restore(&mut self, id: RawId, row: T) -> bool {
        let slot_no = id.slot();
        let Some(seq) = NonZeroU64::new(id.seq()) else {
            return false;
        };
        let next_free = match self.slots.get(slot_no as usize) {
            Some(Slot::Vacant { next_free }) => *next_free,
            _ => return false,
        };
        // Unlink the slot from the free list: it is the head when undoing in order.
        if self.free_head == slot_no {
            self.free_head = next_free;
        } else {
            let mut at = self.free_head;
            while at != NO_FREE {
                let Some(Slot::Vacant { next_free: after }) = self.slots.get(at as usize) else {
                    return false;
                };
                let after = *after;
                if after == slot_no {
                    if let Some(Slot::Vacant { next_free: link }) = self.slots.get_mut(at as usize)
                    {
                        *link = next_free;
                    }
                    break;
                }
                at = after;
            }
        }
        match self.slots.get_mut(slot_no as usize) {
            Some(slot) => {
                *slot = Slot::Occupied { seq, row };
                self.len += 1;
                true
            }
            None => false,
        }
    }

    /// Stores `row` under the exact id `id` (a row of another state of this lineage: applying
    /// changes, loading a save): its slot must be free. The creation counter moves past `id`,
    /// so no later insert issues it again. Gives the row back if `id` is not of this lineage or
    /// its slot is taken.
    pub(crate) fn put(&mut self, id: RawId, row: T) -> Result<(), T> {
        if !self.lineage.owns(id) || NonZeroU64::new(id.seq()).is_none() {
            return Err(row);
        }
        let slot = id.slot() as usize;
        while self.slots.len() <= slot {
            let index = self.slots.len() as u32;
            let next_free = self.free_head;
            self.slots.push(Slot::Vacant { next_free });
            self.free_head = index;
        }
        if !matches!(self.slots.get(slot), Some(Slot::Vacant { .. })) {
            return Err(row);
        }
        // Later inserts are numbered after `id`, reserved numbers included.
        self.release();
        self.counter.fetch_max(id.seq(), Ordering::Relaxed);
        self.restore(id, row);
        self.in_order = false;
        Ok(())
    }

    /// Takes `other`'s lineage, whose rows this arena is to hold (a change set that spans a
    /// load, applied to a state from before it): ids of `other`'s lineage resolve here from now
    /// on, and new rows are numbered by `other`'s counter, shared as forks share it, so the two
    /// never issue one id twice. The caller checks that every live row is of that lineage too.
    /// Returns what to put back with [`set_lineage`](Self::set_lineage) to undo it. O(1).
    pub(crate) fn take_lineage(&mut self, other: &Arena<T>) -> (Lineage, Arc<AtomicU64>) {
        self.release();
        let lineage = std::mem::replace(&mut self.lineage, other.lineage.clone());
        let counter = std::mem::replace(&mut self.counter, Arc::clone(&other.counter));
        (lineage, counter)
    }

    /// Puts back a lineage and counter [`take_lineage`](Self::take_lineage) replaced.
    pub(crate) fn set_lineage(&mut self, (lineage, counter): (Lineage, Arc<AtomicU64>)) {
        self.reserved = (0, 0);
        self.lineage = lineage;
        self.counter = counter;
    }

    /// The creation counter: the last creation number issued.
    pub(crate) fn counter(&self) -> u64 {
        self.counter.load(Ordering::Relaxed)
    }
}

/// The row in `slot`, with its id, if one lives there.
fn occupied<'a, T>(
    s: Option<&'a Slot<T>>,
    lineage: &Lineage,
    slot: usize,
) -> Option<(RawId, &'a T)> {
    match s {
        Some(Slot::Occupied { seq, row }) => Some((lineage.id(member_at(*seq, slot)), row)),
        _ => None,
    }
}

/// The row in slot `slot` with creation number `seq`.
#[inline]
fn member_at(seq: NonZeroU64, slot: usize) -> Member {
    Member {
        seq: Seq::new(seq.get()),
        slot: slot as u32,
    }
}
