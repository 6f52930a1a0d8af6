//! The iterators over a table's rows: [`RowIter`] (creation order) and [`Scan`] (storage
//! order).

use super::Row;
use crate::core::Arena;
use crate::db::Model;
use crate::id::{Member, RawId};

/// Rows in order: returned by [`Table::iter`](crate::Table::iter) and
/// [`Table::filter`](crate::Table::filter) (creation order) and by index lookups (key order).
/// Read straight from storage (no allocation while no slot was reused since the rows were
/// created; otherwise merged with the few rows stored out of turn), or collected into a list.
pub struct RowIter<'a, T>(Rows<'a, T>);

enum Rows<'a, T> {
    Listed(std::vec::IntoIter<Row<'a, T>>),
    /// The live rows between two cursors of storage, merged with the rows stored out of turn
    /// (`late`); `left` of them remain. `ahead` and `behind` are the next in-turn rows from
    /// each end, once read.
    Stored {
        rows: &'a Arena<T>,
        front: crate::core::ArenaIter<'a, T>,
        back: usize,
        left: usize,
        late: Late,
        ahead: Option<(RawId, &'a T)>,
        behind: Option<(RawId, &'a T)>,
    },
}

/// The rows of a table stored out of turn ([`Arena::out_of_turn`]), with a cursor from each
/// end into both lists: storage skips `slots[..slot_front]` and `slots[slot_back..]`,
/// `rows[row_front..row_back]` are still to come.
struct Late {
    slots: Vec<u32>,
    rows: Vec<Member>,
    slot_front: usize,
    slot_back: usize,
    row_front: usize,
    row_back: usize,
}

impl Late {
    fn new((slots, rows): (Vec<u32>, Vec<Member>)) -> Self {
        Late {
            slot_front: 0,
            slot_back: slots.len(),
            row_front: 0,
            row_back: rows.len(),
            slots,
            rows,
        }
    }

    /// Whether storage order is creation order: no row to merge, no slot to skip.
    #[inline]
    fn none(&self) -> bool {
        self.slots.is_empty()
    }

    /// Whether the row in `slot` is stored out of turn, reading storage from the front (slots
    /// in increasing order): moves past it if so.
    fn skip_front(&mut self, slot: u32) -> bool {
        let out = self.slots.get(self.slot_front) == Some(&slot);
        self.slot_front += usize::from(out);
        out
    }

    /// [`skip_front`](Self::skip_front) reading from the back.
    fn skip_back(&mut self, slot: u32) -> bool {
        let out = self.slot_back > 0 && self.slots.get(self.slot_back - 1) == Some(&slot);
        self.slot_back -= usize::from(out);
        out
    }

    /// Whether no row out of turn still to come was created before `id`.
    #[inline]
    fn none_before(&self, id: RawId) -> bool {
        self.row_front >= self.row_back
            || self
                .rows
                .get(self.row_front)
                .is_none_or(|first| id.seq() < first.seq.get())
    }

    /// The earliest row out of turn still to come, if it was created before `before`.
    fn take_first(&mut self, before: Option<RawId>) -> Option<Member> {
        let first = *self
            .rows
            .get(self.row_front)
            .filter(|_| self.row_front < self.row_back)?;
        if before.is_some_and(|id| id.seq() < first.seq.get()) {
            return None;
        }
        self.row_front += 1;
        Some(first)
    }

    /// The latest row out of turn still to come, if it was created after `after`.
    fn take_last(&mut self, after: Option<RawId>) -> Option<Member> {
        if self.row_back <= self.row_front {
            return None;
        }
        let last = *self.rows.get(self.row_back - 1)?;
        if after.is_some_and(|id| id.seq() > last.seq.get()) {
            return None;
        }
        self.row_back -= 1;
        Some(last)
    }
}

impl<'a, T: Model> RowIter<'a, T> {
    /// The rest of [`next`](Iterator::next) when merging storage with the rows stored out of
    /// turn, once `next` saw a row left: the earlier of the next row in turn and the next row
    /// out of turn. Once the two ends met, `left` stops both before either repeats a row.
    #[inline(never)]
    fn next_merged(&mut self) -> Option<Row<'a, T>> {
        let Rows::Stored {
            rows,
            front,
            left,
            late,
            ahead,
            ..
        } = &mut self.0
        else {
            return None;
        };
        *left -= 1;
        if ahead.is_none() {
            *ahead = front.find(|(id, _)| !late.skip_front(id.slot()));
        }
        if let Some(member) = late.take_first(ahead.map(|(id, _)| id)) {
            return rows
                .row_at(member.slot as usize)
                .map(|(id, row)| Row::raw(id, row));
        }
        ahead.take().map(|(id, row)| Row::raw(id, row))
    }
}

impl<'a, T: Model> Iterator for RowIter<'a, T> {
    type Item = Row<'a, T>;
    /// Inlined into the caller's loop for a list, and for storage while its order is creation
    /// order; the merge with rows stored out of turn is out of line.
    #[inline(always)]
    fn next(&mut self) -> Option<Row<'a, T>> {
        match &mut self.0 {
            Rows::Listed(rows) => rows.next(),
            Rows::Stored {
                front, left, late, ..
            } if late.none() => {
                if *left == 0 {
                    return None;
                }
                *left -= 1;
                let (id, row) = front.next()?;
                Some(Row::raw(id, row))
            }
            // Merging, the common case inline: the next row in storage is in turn and created
            // before the next row out of turn.
            Rows::Stored {
                front,
                left,
                late,
                ahead,
                ..
            } => {
                if *left == 0 {
                    return None;
                }
                if ahead.is_none() {
                    match front.next() {
                        Some((id, _)) if late.skip_front(id.slot()) => {}
                        next => *ahead = next,
                    }
                }
                if let Some((id, row)) = *ahead
                    && late.none_before(id)
                {
                    *left -= 1;
                    *ahead = None;
                    return Some(Row::raw(id, row));
                }
                self.next_merged()
            }
        }
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.0 {
            Rows::Listed(rows) => rows.size_hint(),
            Rows::Stored { left, .. } => (*left, Some(*left)),
        }
    }
    #[inline]
    fn fold<B, F>(self, init: B, mut f: F) -> B
    where
        F: FnMut(B, Self::Item) -> B,
    {
        match self.0 {
            Rows::Listed(rows) => rows.fold(init, f),
            // In creation order and untouched from the back: the front reads to the end.
            Rows::Stored {
                rows,
                front,
                back,
                late,
                ..
            } if late.none() && back == rows.slots() => {
                front.fold(init, |acc, (id, row)| f(acc, Row::raw(id, row)))
            }
            Rows::Stored {
                front,
                left,
                ref late,
                ..
            } if late.none() => front
                .take(left)
                .fold(init, |acc, (id, row)| f(acc, Row::raw(id, row))),
            // Merging, untouched from the back (the front reads to the end): one loop over
            // storage with the next slot to skip and the next row out of turn at hand.
            Rows::Stored {
                rows,
                front,
                back,
                late,
                ahead,
                behind: None,
                ..
            } if back == rows.slots() && late.row_back == late.rows.len() => {
                let mut skip = late.slots[late.slot_front..].iter().copied();
                let mut next_skip = skip.next().unwrap_or(u32::MAX);
                let mut out = Pending::new(&late.rows[late.row_front..]);
                let mut acc = init;
                if let Some((id, row)) = ahead {
                    acc = out.merge_in(rows, &mut f, acc, id, row);
                }
                acc = front.fold(acc, |acc, (id, row)| {
                    if id.slot() == next_skip {
                        next_skip = skip.next().unwrap_or(u32::MAX);
                        return acc;
                    }
                    out.merge_in(rows, &mut f, acc, id, row)
                });
                // The rows out of turn created after every row in turn.
                out.merge_in_all(rows, &mut f, acc)
            }
            stored => {
                let mut acc = init;
                for row in RowIter(stored) {
                    acc = f(acc, row);
                }
                acc
            }
        }
    }
}
/// The rows out of turn a fold has still to merge in, in creation order, with the creation
/// number of the first at hand (`u64::MAX` when none is left).
struct Pending<'l> {
    rows: &'l [Member],
    next: u64,
}

impl<'l> Pending<'l> {
    fn new(rows: &'l [Member]) -> Self {
        let next = rows.first().map_or(u64::MAX, |m| m.seq.get());
        Pending { rows, next }
    }

    /// Folds the rows out of turn created before row `id`, then row `id` itself.
    #[inline(always)]
    fn merge_in<'a, T: Clone, B>(
        &mut self,
        rows: &'a Arena<T>,
        f: &mut impl FnMut(B, Row<'a, T>) -> B,
        mut acc: B,
        id: RawId,
        row: &'a T,
    ) -> B {
        if self.next < id.seq() {
            acc = self.merge_before(rows, f, acc, id.seq());
        }
        f(acc, Row::raw(id, row))
    }

    /// Folds the rows out of turn created before creation number `seq`.
    #[inline(never)]
    fn merge_before<'a, T: Clone, B>(
        &mut self,
        rows: &'a Arena<T>,
        f: &mut impl FnMut(B, Row<'a, T>) -> B,
        mut acc: B,
        seq: u64,
    ) -> B {
        while let Some((&m, rest)) = self.rows.split_first() {
            if m.seq.get() >= seq {
                break;
            }
            self.rows = rest;
            if let Some((id, row)) = rows.row_at(m.slot as usize) {
                acc = f(acc, Row::raw(id, row));
            }
        }
        self.next = self.rows.first().map_or(u64::MAX, |m| m.seq.get());
        acc
    }

    /// Folds every row out of turn left.
    fn merge_in_all<'a, T: Clone, B>(
        mut self,
        rows: &'a Arena<T>,
        f: &mut impl FnMut(B, Row<'a, T>) -> B,
        acc: B,
    ) -> B {
        self.merge_before(rows, f, acc, u64::MAX)
    }
}

impl<T: Model> ExactSizeIterator for RowIter<'_, T> {}
impl<T: Model> DoubleEndedIterator for RowIter<'_, T> {
    fn next_back(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            Rows::Listed(rows) => rows.next_back(),
            Rows::Stored {
                rows,
                back,
                left,
                late,
                behind,
                ..
            } => {
                if *left == 0 {
                    return None;
                }
                *left -= 1;
                if behind.is_none() {
                    while *back > 0 {
                        *back -= 1;
                        if let Some((id, row)) = rows.row_at(*back)
                            && !late.skip_back(id.slot())
                        {
                            *behind = Some((id, row));
                            break;
                        }
                    }
                }
                if let Some(member) = late.take_last(behind.map(|(id, _)| id)) {
                    return rows
                        .row_at(member.slot as usize)
                        .map(|(id, row)| Row::raw(id, row));
                }
                behind.take().map(|(id, row)| Row::raw(id, row))
            }
        }
    }
}

impl<'a, T: Clone> RowIter<'a, T> {
    pub(crate) fn new(rows: Vec<Row<'a, T>>) -> Self {
        RowIter(Rows::Listed(rows.into_iter()))
    }

    /// Every row of `rows`, in creation order: storage order merged with the rows stored out
    /// of turn. O(1) to make while storage order is creation order, one pass over the slots
    /// (and a sort of the rows out of turn) otherwise.
    pub(super) fn stored(rows: &'a Arena<T>) -> Self {
        RowIter(Rows::Stored {
            rows,
            front: rows.iter(),
            back: rows.slots(),
            left: rows.len(),
            late: Late::new(rows.out_of_turn()),
            ahead: None,
            behind: None,
        })
    }
}

/// Every row of a table in storage order, without collecting or sorting: returned by
/// [`Table::scan`](crate::Table::scan).
pub struct Scan<'a, T> {
    rows: crate::core::ArenaIter<'a, T>,
    left: usize,
}

impl<'a, T: Model> Iterator for Scan<'a, T> {
    type Item = Row<'a, T>;
    #[inline]
    fn next(&mut self) -> Option<Row<'a, T>> {
        let (id, row) = self.rows.next()?;
        self.left -= 1;
        Some(Row::raw(id, row))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
    #[inline]
    fn fold<B, F>(self, init: B, mut f: F) -> B
    where
        F: FnMut(B, Self::Item) -> B,
    {
        self.rows
            .fold(init, |acc, (id, row)| f(acc, Row::raw(id, row)))
    }
}
impl<T: Model> ExactSizeIterator for Scan<'_, T> {}

impl<'a, T: Clone> Scan<'a, T> {
    pub(super) fn new(rows: &'a Arena<T>) -> Self {
        Scan {
            rows: rows.iter(),
            left: rows.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::num::{NonZeroU32, NonZeroU64};

    use super::*;
    use crate::id::Lineage;

    /// An arena holding row `seq` (its value is its creation number) in each slot listed.
    fn arena(slots: &[u32], seqs: &[u64]) -> Arena<u64> {
        let rows = slots
            .iter()
            .zip(seqs)
            .map(|(&slot, &seq)| (slot, NonZeroU64::new(seq).unwrap(), seq));
        let counter = seqs.iter().max().map_or(1, |m| m + 1);
        Arena::restored(Lineage::new(NonZeroU32::MIN), counter, rows, None)
    }

    /// Reads `arena` from both ends, the end of each step taken from the bits of `pattern`,
    /// `stop` steps, then folds the rest; checks the length at every step.
    fn read(arena: &Arena<u64>, pattern: u64, stop: usize) -> Vec<u64> {
        let mut it = RowIter::stored(arena);
        let n = it.len();
        let (mut head, mut tail) = (Vec::new(), Vec::new());
        for step in 0..stop.min(n) {
            assert_eq!(it.len(), n - step);
            if pattern >> (step % 64) & 1 == 0 {
                head.push(*it.next().unwrap().value());
            } else {
                tail.push(*it.next_back().unwrap().value());
            }
        }
        it.fold((), |(), r| head.push(*r.value()));
        tail.reverse();
        head.extend(tail);
        head
    }

    fn permutations(v: Vec<u64>) -> Vec<Vec<u64>> {
        if v.len() <= 1 {
            return vec![v];
        }
        let mut out = Vec::new();
        for i in 0..v.len() {
            let mut rest = v.clone();
            let first = rest.remove(i);
            for mut p in permutations(rest) {
                p.insert(0, first);
                out.push(p);
            }
        }
        out
    }

    #[test]
    fn every_small_layout_reads_in_creation_order_from_both_ends() {
        for n in 0..=5usize {
            for gaps in 0u32..(1 << (n + 2)) {
                let slots: Vec<u32> = (0..n as u32 + 2).filter(|i| gaps >> i & 1 == 1).collect();
                if slots.len() != n {
                    continue;
                }
                for seqs in permutations((1..=n as u64).collect()) {
                    let a = arena(&slots, &seqs);
                    let expected: Vec<u64> = (1..=n as u64).collect();
                    for pattern in 0..1u64 << n {
                        for stop in [0, n / 2, n] {
                            assert_eq!(read(&a, pattern, stop), expected, "{slots:?} {seqs:?}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn large_layouts_with_a_few_rows_displaced_read_in_creation_order() {
        let mut state: u64 = 0x1234_5678;
        let mut random = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..200 {
            let n = (random() % 150) as usize + 1;
            let mut seqs: Vec<u64> = (1..=n as u64).collect();
            for _ in 0..random() % 6 {
                let (i, j) = (
                    (random() % n as u64) as usize,
                    (random() % n as u64) as usize,
                );
                seqs.swap(i, j);
            }
            let mut slots = Vec::new();
            let mut at = 0u32;
            for _ in 0..n {
                at += u32::from(random() % 3 == 0);
                slots.push(at);
                at += 1;
            }
            let a = arena(&slots, &seqs);
            let expected: Vec<u64> = (1..=n as u64).collect();
            for _ in 0..20 {
                let (pattern, stop) = (random(), (random() % (n as u64 + 1)) as usize);
                assert_eq!(read(&a, pattern, stop), expected);
            }
        }
    }

    /// Review finding: one early row stored in a late slot (as a change set or a load can
    /// put it) made every row before it out of turn for the backward pass; the forward pass
    /// finds just that one.
    #[test]
    fn an_early_row_in_a_late_slot_is_the_only_row_out_of_turn() {
        let seqs: Vec<u64> = (2..=41).chain([1]).collect();
        let slots: Vec<u32> = (0..40).chain([49]).collect();
        let a = arena(&slots, &seqs);
        let (late_slots, late) = a.out_of_turn();
        assert_eq!(late_slots, [49]);
        assert_eq!(late.len(), 1);
        assert_eq!(read(&a, 0, 0), (1..=41).collect::<Vec<_>>());
        // The reused-slot case: a late row in an early slot.
        let seqs: Vec<u64> = [41].into_iter().chain(2..=40).collect();
        let a = arena(&(0..40).collect::<Vec<_>>(), &seqs);
        assert_eq!(a.out_of_turn().0, [0]);
    }
}
