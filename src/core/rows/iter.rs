//! Reading an arena: its rows in storage order, the rows stored out of turn, a row by slot.

use std::num::{NonZeroU32, NonZeroU64};

use super::{Arena, Slot, member_at, occupied, pvec};
use crate::id::{Lineage, Member, RawId};

impl<T: Clone> Arena<T> {
    /// Live rows in storage order (not creation order). O(1) amortised per row: one walk down
    /// the trie per leaf.
    pub(crate) fn iter(&self) -> Iter<'_, T> {
        Iter {
            leaves: self.slots.leaves(),
            leaf: &[],
            at: 0,
            base: 0,
            single: self.lineage.single(),
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

/// The last leaf [`Arena::get_near`] read: its number and its slots.
pub(crate) type Cursor<'a, T> = Option<(usize, &'a pvec::Leaf<Slot<T>>)>;

/// Live rows of an [`Arena`] in storage order.
pub(crate) struct Iter<'a, T> {
    leaves: pvec::Leaves<'a, Slot<T>>,
    leaf: &'a [Slot<T>],
    at: usize,
    base: usize,
    /// [`Lineage::single`], read once.
    single: Option<NonZeroU32>,
    lineage: &'a Lineage,
}

impl<'a, T: Clone> Iter<'a, T> {
    /// The id of the row of creation number `seq` in slot `slot`.
    #[inline(always)]
    fn id(&self, seq: NonZeroU64, slot: usize) -> RawId {
        match self.single {
            Some(table) => member_at(seq, slot).in_table(table),
            None => self.lineage.id(member_at(seq, slot)),
        }
    }

    /// [`fold`](Iterator::fold), numbering rows with `id`.
    #[inline(always)]
    fn fold_with<B>(
        self,
        init: B,
        mut f: impl FnMut(B, (RawId, &'a T)) -> B,
        id: impl Fn(Member) -> RawId,
    ) -> B {
        let mut fold_leaf = |mut acc: B, base: usize, slots: &'a [Slot<T>]| {
            for (offset, slot) in slots.iter().enumerate() {
                if let Slot::Occupied { seq, row } = slot {
                    acc = f(acc, (id(member_at(*seq, base + offset)), row));
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

    /// [`next`](Iterator::next) past vacant slots and across leaves. Inlined too (the trie
    /// walk to the next leaf is not): out of line, it took the iterator by reference, which
    /// kept the cursor in memory rather than registers in the caller's loop (1.6× the
    /// instructions per row).
    #[inline]
    fn next_slow(&mut self) -> Option<(RawId, &'a T)> {
        loop {
            match self.leaf.get(self.at) {
                Some(slot) => {
                    let index = self.base + self.at;
                    self.at += 1;
                    if let Slot::Occupied { seq, row } = slot {
                        return Some((self.id(*seq, index), row));
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

    /// The common case first, inlined into the caller's loop: the next slot of the current
    /// leaf is occupied.
    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        if let Some(Slot::Occupied { seq, row }) = self.leaf.get(self.at) {
            let index = self.base + self.at;
            self.at += 1;
            return Some((self.id(*seq, index), row));
        }
        self.next_slow()
    }

    /// Internal iteration (`for_each`, `sum`, `fold`, ...): a loop over each leaf's slots,
    /// without the cursor bookkeeping of `next`.
    #[inline]
    fn fold<B, F>(self, init: B, f: F) -> B
    where
        F: FnMut(B, Self::Item) -> B,
    {
        // Two loops: with one lineage number (no row restored from a save), an id the caller
        // never reads costs nothing.
        match self.single {
            Some(table) => self.fold_with(init, f, |member| member.in_table(table)),
            None => {
                let lineage = self.lineage;
                self.fold_with(init, f, |member| lineage.id(member))
            }
        }
    }
}
