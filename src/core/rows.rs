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

use super::pvec::{self, PVec};
use crate::id::{Lineage, Member, RawId, Seq};

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

/// Most creation numbers one [`Arena::reserve`] draws at once.
const RESERVE_MAX: u64 = 1 << 20;

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
        let n = (n as u64).min(RESERVE_MAX);
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
        if !self.lineage.owns(id) {
            return None;
        }
        match self.slots.get_mut(id.slot() as usize)? {
            Slot::Occupied { seq, row } if seq.get() == id.seq() => Some(row),
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
        if !self.contains(id) {
            return None;
        }
        let next_free = self.free_head;
        let slot = self.slots.get_mut(id.slot() as usize)?;
        match std::mem::replace(slot, Slot::Vacant { next_free }) {
            Slot::Occupied { row, .. } => {
                self.free_head = id.slot();
                self.len -= 1;
                Some(row)
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
    /// with its creation number, and the free list is as before the remove.
    pub(crate) fn restore(&mut self, id: RawId, row: T) {
        let slot_no = id.slot();
        let Some(seq) = NonZeroU64::new(id.seq()) else {
            return;
        };
        let next_free = match self.slots.get(slot_no as usize) {
            Some(Slot::Vacant { next_free }) => *next_free,
            _ => return,
        };
        // Unlink the slot from the free list: it is the head when undoing in order.
        if self.free_head == slot_no {
            self.free_head = next_free;
        } else {
            let mut at = self.free_head;
            while at != NO_FREE {
                let Some(Slot::Vacant { next_free: after }) = self.slots.get(at as usize) else {
                    return;
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
        if let Some(slot) = self.slots.get_mut(slot_no as usize) {
            *slot = Slot::Occupied { seq, row };
            self.len += 1;
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

    /// Live rows in storage order (not creation order). O(1) amortised per row: one walk down
    /// the trie per leaf.
    pub(crate) fn iter(&self) -> Iter<'_, T> {
        Iter {
            leaves: self.slots.leaves(),
            leaf: &[],
            at: 0,
            base: 0,
            lineage: &self.lineage,
        }
    }

    /// The live rows stored out of turn: a set of rows without which storage order is
    /// creation order, so that creation order is a merge of storage order and this list.
    /// Returns their slots in increasing order, and the rows in creation order. Empty, with no
    /// allocation, while no row was ever stored out of turn (`in_order`).
    ///
    /// Two candidates, the smaller kept: the rows created after some row stored later (a
    /// backward pass; the others each precede every row after them), which are the rows of
    /// reused slots; and, when those are many, the rows created before some row stored
    /// earlier (a forward pass; the others each follow every row before them), which are few
    /// when a change set or a load put early rows in late slots. O(n) reads per pass (one trie
    /// walk per leaf), plus O(k log k) for the k rows out of turn.
    pub(crate) fn out_of_turn(&self) -> (Vec<u32>, Vec<Member>) {
        if self.in_order {
            return (Vec::new(), Vec::new());
        }
        // The lowest creation number among the slots after the one looked at.
        let mut lowest_after = u64::MAX;
        let (mut slots, mut rows) = (Vec::new(), Vec::new());
        self.each_row(true, |slot, seq| {
            if seq.get() < lowest_after {
                lowest_after = seq.get();
            } else {
                slots.push(slot as u32);
                rows.push(member_at(seq, slot));
            }
        });
        slots.reverse();
        if rows.len() > self.len / 8 {
            // The highest creation number among the slots before the one looked at.
            let mut highest_before = 0;
            let (mut early_slots, mut early) = (Vec::new(), Vec::new());
            self.each_row(false, |slot, seq| {
                if seq.get() > highest_before {
                    highest_before = seq.get();
                } else {
                    early_slots.push(slot as u32);
                    early.push(member_at(seq, slot));
                }
            });
            if early.len() < rows.len() {
                (slots, rows) = (early_slots, early);
            }
        }
        rows.sort_unstable();
        (slots, rows)
    }

    /// Calls `f(slot, creation number)` for every live row, in slot order or (`backward`) in
    /// reverse. One trie walk per leaf.
    fn each_row(&self, backward: bool, mut f: impl FnMut(usize, NonZeroU64)) {
        let len = self.slots.len();
        let leaves = len.div_ceil(pvec::LEAF_LEN);
        let mut visit = |leaf_number: usize| {
            let start = leaf_number * pvec::LEAF_LEN;
            let Some(leaf) = self.slots.leaf(start) else {
                return;
            };
            let end = (start + pvec::LEAF_LEN).min(len);
            let seqs =
                leaf[..end - start]
                    .iter()
                    .enumerate()
                    .filter_map(|(offset, slot)| match slot {
                        Slot::Occupied { seq, .. } => Some((start + offset, *seq)),
                        Slot::Vacant { .. } => None,
                    });
            if backward {
                seqs.rev().for_each(|(slot, seq)| f(slot, seq));
            } else {
                seqs.for_each(|(slot, seq)| f(slot, seq));
            }
        };
        if backward {
            (0..leaves).rev().for_each(&mut visit);
        } else {
            (0..leaves).for_each(&mut visit);
        }
    }

    /// The row in slot `slot`, with its id, if one lives there. O(log n).
    pub(crate) fn row_at(&self, slot: usize) -> Option<(RawId, &T)> {
        occupied(self.slots.get(slot), &self.lineage, slot)
    }

    /// Number of slots (live or vacant); slot numbers are below it.
    pub(crate) fn slots(&self) -> usize {
        self.slots.len()
    }

    /// The live rows of the leaf starting at slot `start` that `pick` picks, as a mask of
    /// their offsets in the leaf. Reads only.
    #[inline]
    pub(crate) fn pick_in_leaf(
        &self,
        start: usize,
        pick: &mut impl FnMut(RawId, &T) -> bool,
    ) -> u64 {
        let Some(leaf) = self.slots.leaf(start) else {
            return 0;
        };
        let end = (start + pvec::LEAF_LEN).min(self.slots.len());
        let mut mask = 0;
        for (offset, slot) in leaf[..end - start].iter().enumerate() {
            if let Slot::Occupied { seq, row } = slot
                && pick(self.lineage.id(member_at(*seq, start + offset)), row)
            {
                mask |= 1 << offset;
            }
        }
        mask
    }

    /// Calls `f` on each live row of the leaf starting at slot `start` whose offset is in
    /// `mask`, mutably (copying the leaf first if a clone shares it).
    #[inline]
    pub(crate) fn modify_in_leaf(
        &mut self,
        start: usize,
        mask: u64,
        f: &mut impl FnMut(RawId, &mut T),
    ) {
        let lineage = &self.lineage;
        let Some(leaf) = self.slots.leaf_mut(start, mask as u32) else {
            return;
        };
        for (offset, slot) in leaf.iter_mut().enumerate() {
            if mask & (1 << offset) != 0
                && let Slot::Occupied { seq, row } = slot
            {
                f(lineage.id(member_at(*seq, start + offset)), row);
            }
        }
    }

    /// The leaf starting at slot `start` as it is now, shared: writes after this copy the
    /// leaf, and [`restore_leaf`](Self::restore_leaf) puts it back. O(log n), no row cloned.
    pub(crate) fn save_leaf(&self, start: usize) -> Option<SavedLeaf<T>> {
        self.slots.leaf_ref(start).map(SavedLeaf)
    }

    /// Whether writing the leaf starting at slot `start` copies it (a clone shares it).
    pub(crate) fn leaf_shared(&self, start: usize) -> bool {
        self.slots.leaf_shared(start)
    }

    /// Puts back a leaf [`save_leaf`](Self::save_leaf) took, undoing every write to its slots
    /// since. For rollback: the slots must hold rows or vacancies as they did then (the free
    /// list and count are not touched). O(log n), no row cloned.
    pub(crate) fn restore_leaf(&mut self, start: usize, saved: SavedLeaf<T>) {
        self.slots.set_leaf(start, saved.0);
    }

    /// The row `id` names, reusing `cursor` (the last leaf read) when `id` is in the same leaf:
    /// reading ids that are close in storage (siblings created together) walks the trie once
    /// per leaf instead of once per row. O(1) on a cursor hit, O(log n) otherwise.
    #[inline]
    pub(crate) fn get_near<'a>(&'a self, id: Member, cursor: &mut Cursor<'a, T>) -> Option<&'a T> {
        let slot = id.slot as usize;
        let leaf = match cursor {
            Some((number, leaf)) if *number == pvec::leaf_number(slot) => *leaf,
            _ => {
                let leaf = self.slots.leaf(slot)?;
                *cursor = Some((pvec::leaf_number(slot), leaf));
                leaf
            }
        };
        match &leaf[pvec::leaf_offset(slot)] {
            Slot::Occupied { seq, row } if seq.get() == id.seq.get() => Some(row),
            _ => None,
        }
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

/// What [`Arena::diff`] found in one slot.
pub(crate) enum SlotChange<'a, T> {
    /// A row only the later state has.
    Inserted(RawId, &'a T),
    /// A row only the earlier state has.
    Deleted(RawId, &'a T),
    /// The same row in both states, possibly with another value.
    Kept(RawId, &'a T, &'a T),
}

/// The row in slot `slot` with creation number `seq`.
#[inline]
fn member_at(seq: NonZeroU64, slot: usize) -> Member {
    Member {
        seq: Seq::new(seq.get()),
        slot: slot as u32,
    }
}

/// A leaf of an [`Arena`] as it was when [`Arena::save_leaf`] took it.
pub(crate) struct SavedLeaf<T>(Arc<pvec::LeafNode<Slot<T>>>);

impl<T> SavedLeaf<T> {
    /// The row `id` names as the leaf held it, if it names one of its slots and was alive.
    pub(crate) fn row(&self, id: RawId) -> Option<&T> {
        match self
            .0
            .entries()
            .get(pvec::leaf_offset(id.slot() as usize))?
        {
            Slot::Occupied { seq, row } if seq.get() == id.member().seq.get() => Some(row),
            _ => None,
        }
    }
}

/// The last leaf [`Arena::get_near`] read: its number and its slots.
pub(crate) type Cursor<'a, T> = Option<(usize, &'a pvec::Leaf<Slot<T>>)>;

/// Live rows of an [`Arena`] in storage order.
pub(crate) struct Iter<'a, T> {
    leaves: pvec::Leaves<'a, Slot<T>>,
    leaf: &'a [Slot<T>],
    at: usize,
    base: usize,
    lineage: &'a Lineage,
}

impl<'a, T: Clone> Iter<'a, T> {
    /// [`next`](Iterator::next) past vacant slots and across leaves.
    #[inline(never)]
    fn next_slow(&mut self) -> Option<(RawId, &'a T)> {
        loop {
            match self.leaf.get(self.at) {
                Some(slot) => {
                    let index = self.base + self.at;
                    self.at += 1;
                    if let Slot::Occupied { seq, row } = slot {
                        return Some((self.lineage.id(member_at(*seq, index)), row));
                    }
                }
                None => {
                    let (base, leaf) = self.leaves.next()?;
                    (self.base, self.leaf, self.at) = (base, leaf, 0);
                }
            }
        }
    }
}

impl<'a, T: Clone> Iterator for Iter<'a, T> {
    type Item = (RawId, &'a T);

    /// The common case, inlined into the caller's loop: the next slot of the current leaf is
    /// occupied. Vacant slots and the step to the next leaf are out of line.
    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        if let Some(Slot::Occupied { seq, row }) = self.leaf.get(self.at) {
            let index = self.base + self.at;
            self.at += 1;
            return Some((self.lineage.id(member_at(*seq, index)), row));
        }
        self.next_slow()
    }

    /// Internal iteration (`for_each`, `sum`, `fold`, ...): a loop over each leaf's slots,
    /// without the cursor bookkeeping of `next`.
    #[inline]
    fn fold<B, F>(self, init: B, mut f: F) -> B
    where
        F: FnMut(B, Self::Item) -> B,
    {
        let lineage = self.lineage;
        let mut fold_leaf = |mut acc: B, base: usize, slots: &'a [Slot<T>]| {
            for (offset, slot) in slots.iter().enumerate() {
                if let Slot::Occupied { seq, row } = slot {
                    acc = f(acc, (lineage.id(member_at(*seq, base + offset)), row));
                }
            }
            acc
        };
        let rest = self.leaf.get(self.at..).unwrap_or_default();
        let mut acc = fold_leaf(init, self.base + self.at, rest);
        for (base, leaf) in self.leaves {
            acc = fold_leaf(acc, base, leaf);
        }
        acc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arena<T: Clone>() -> Arena<T> {
        Arena::new(NonZeroU32::MIN)
    }

    #[test]
    fn stale_ids_never_resolve_after_slot_reuse() {
        let mut rows = arena();
        let a = rows.insert("a").unwrap().0;
        assert_eq!(rows.remove(a), Some("a"));
        let b = rows.insert("b").unwrap().0;
        assert_eq!(a.slot(), b.slot(), "the freed slot is reused");
        assert_eq!(rows.get(a), None);
        assert_eq!(rows.get(b), Some(&"b"));
        assert_eq!(rows.remove(a), None);
        assert_eq!(rows.len(), 1);
    }

    #[test]
    fn reserved_numbers_are_this_instances_alone_and_unused_ones_go_back() {
        let mut rows = arena();
        rows.insert(0).unwrap();
        rows.reserve(10);
        let first = rows.insert(1).unwrap().0;
        // A clone (a fork's copy) inherits no reservation: it draws after the reserved numbers.
        let mut clone = rows.clone();
        let theirs = clone.insert(2).unwrap().0;
        let second = rows.insert(3).unwrap().0;
        assert_eq!((first.seq(), second.seq()), (2, 3));
        assert_eq!(theirs.seq(), 12, "after the 10 reserved at 2..=11");
        // A clone drew since: the unused numbers are skipped, not handed out twice.
        rows.release();
        assert_eq!(rows.insert(4).unwrap().0.seq(), 13);
        // Nobody drew since: the counter goes back to the last number used.
        rows.reserve(100);
        assert_eq!(rows.insert(5).unwrap().0.seq(), 14);
        rows.release();
        assert_eq!(rows.counter(), 14);
        assert_eq!(clone.insert(6).unwrap().0.seq(), 15);
        // Putting a row under a given id drops the reservation: later rows come after it.
        rows.reserve(50);
        let given = RawId::new(NonZeroU64::new(1_000).unwrap(), 40, NonZeroU32::MIN);
        rows.put(given, 7).unwrap();
        assert!(rows.insert(8).unwrap().0.seq() > 1_000);
    }

    #[test]
    fn ids_of_another_table_instance_never_resolve() {
        let mut one = Arena::new(NonZeroU32::MIN);
        let mut two = Arena::new(NonZeroU32::new(2).unwrap());
        let a = one.insert(1).unwrap().0;
        let b = two.insert(2).unwrap().0;
        assert_eq!((a.slot(), a.seq()), (b.slot(), b.seq()));
        assert_eq!(one.get(b), None);
        assert_eq!(two.get(a), None);
        assert_eq!(two.remove(a), None);
    }

    #[test]
    fn a_dropped_clone_cannot_resurrect_its_ids() {
        let mut rows = arena();
        rows.insert(1).unwrap();
        let before = rows.clone();
        let mut txn = rows.clone();
        let lost = txn.insert(2).unwrap().0;
        drop(txn); // rollback: keep `before`
        let mut rows = before;
        let fresh = rows.insert(3).unwrap().0;
        assert_eq!(lost.slot(), fresh.slot(), "same slot in both histories");
        assert_eq!(rows.get(lost), None, "the rolled-back id stays dead");
        assert_eq!(rows.get(fresh), Some(&3));
    }

    #[test]
    fn clones_are_independent() {
        let mut a = arena();
        let x = a.insert(String::from("x")).unwrap().0;
        let b = a.clone();
        *a.get_mut(x).unwrap() = "changed".into();
        a.insert("y".into()).unwrap();
        assert_eq!(b.get(x).map(String::as_str), Some("x"));
        assert_eq!(b.len(), 1);
        assert_eq!(a.len(), 2);
    }

    #[test]
    fn iter_skips_vacant_slots_across_leaves() {
        let mut rows = arena();
        let ids: Vec<_> = (0..70).map(|i| rows.insert(i).unwrap().0).collect();
        for &i in &[1, 3, 40, 69] {
            rows.remove(ids[i]);
        }
        let live: Vec<_> = rows.iter().map(|(id, v)| (id, *v)).collect();
        let expected: Vec<_> = (0..70)
            .filter(|i| ![1, 3, 40, 69].contains(i))
            .map(|i| (ids[i], i))
            .collect();
        assert_eq!(live, expected);
        assert!(rows.has_room());
    }

    #[test]
    fn undo_restores_rows_and_the_free_list() {
        let mut rows = arena();
        let a = rows.insert('a').unwrap().0;
        let b = rows.insert('b').unwrap().0;
        rows.remove(a);
        // Undo of an insert into a reused slot, then of an appended one.
        let c = rows.insert('c').unwrap().0;
        let d = rows.insert('d').unwrap().0;
        assert_eq!(rows.unstore(d), Some('d'));
        assert_eq!(rows.unstore(c), Some('c'));
        // Undo of the remove.
        rows.restore(a, 'a');
        assert_eq!(rows.get(a), Some(&'a'));
        assert_eq!(rows.get(b), Some(&'b'));
        assert_eq!(rows.len(), 2);
        // The next inserts take the slot after `b`, then a new one: as if nothing had happened.
        let e = rows.insert('e').unwrap().0;
        assert_eq!(e.slot(), d.slot());
        assert!(e.seq() > d.seq(), "creation numbers never go back");
        assert_eq!(rows.get(c), None);
        assert_eq!(rows.get(d), None);
    }
}
