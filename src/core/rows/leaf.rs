//! Whole leaves of an arena: set-based writes (`modify_where`) pick and modify a leaf's rows in
//! one pass, and undo by the leaf saved whole.

use triomphe::Arc;

use super::{Arena, Slot, member_at, pvec};
use crate::id::{Member, RawId};

impl<T: Clone> Arena<T> {
    /// The live rows of the leaf starting at slot `start` that `pick` picks, as a mask of
    /// their offsets in the leaf. Reads only.
    #[inline]
    pub(crate) fn pick_in_leaf(
        &self,
        start: usize,
        pick: &mut impl FnMut(RawId, &T) -> bool,
    ) -> u64 {
        // Two loops, as in `Iter::fold`: an id `pick` never reads costs nothing.
        match self.lineage.single() {
            Some(table) => self.pick_with(start, pick, |member| member.in_table(table)),
            None => self.pick_with(start, pick, |member| self.lineage.id(member)),
        }
    }

    #[inline(always)]
    fn pick_with(
        &self,
        start: usize,
        pick: &mut impl FnMut(RawId, &T) -> bool,
        id: impl Fn(Member) -> RawId,
    ) -> u64 {
        let Some(leaf) = self.slots.leaf(start) else {
            return 0;
        };
        let end = (start + pvec::LEAF_LEN).min(self.slots.len());
        let mut mask = 0;
        for (offset, slot) in leaf[..end - start].iter().enumerate() {
            if let Slot::Occupied { seq, row } = slot
                && pick(id(member_at(*seq, start + offset)), row)
            {
                mask |= 1 << offset;
            }
        }
        mask
    }

    /// Calls `f` on each live row of the leaf starting at slot `start` whose offset is in
    /// `mask`, mutably (copying the leaf first if a clone shares it), with the row's
    /// [`EntryWritten`](pvec::EntryWritten): `f` marks it before it changes the row (its
    /// stamp is what undoing the change puts back with [`restamp`](Arena::restamp)).
    #[inline]
    pub(crate) fn modify_in_leaf(
        &mut self,
        start: usize,
        mask: u64,
        f: &mut impl FnMut(RawId, &mut T, pvec::EntryWritten<'_>),
    ) {
        let Arena { slots, lineage, .. } = self;
        let Some(entries) = slots.leaf_open(start) else {
            return;
        };
        match lineage.single() {
            Some(table) => modify_slots(entries, start, mask, f, |member| member.in_table(table)),
            None => modify_slots(entries, start, mask, f, |member| lineage.id(member)),
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
}

/// [`Arena::modify_in_leaf`] on the slots of the leaf starting at slot `start`, numbering
/// rows with `id`.
#[inline(always)]
fn modify_slots<'a, T: 'a>(
    entries: impl Iterator<Item = pvec::EntryMut<'a, Slot<T>>>,
    start: usize,
    mask: u64,
    f: &mut impl FnMut(RawId, &mut T, pvec::EntryWritten<'_>),
    id: impl Fn(Member) -> RawId,
) {
    for (offset, entry) in entries.enumerate() {
        if mask & (1 << offset) == 0 {
            continue;
        }
        if let (Slot::Occupied { seq, row }, written) = entry.split() {
            f(id(member_at(*seq, start + offset)), row, written);
        }
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
