//! One table's data: its rows, every index on them, and the log that undoes an operation's
//! changes. The only code that writes rows; it calls every index on every write (`relink`
//! holds the relinks of one foreign key in place).

use std::any::Any;
use std::sync::atomic::AtomicU64;

use triomphe::Arc;

use super::Core;
use super::index::RowIndex;
use super::pvec::Stamp;
use super::rows::{Arena, SavedLeaf, SlotChange};
use crate::Model;
use crate::id::{Lineage, RawId};

mod erased;
mod relink;

pub(crate) use erased::ErasedTable;
pub(super) use relink::{ById, Unlogged};

/// A logged change to the rows, undone in reverse order. A change that wrote a slot keeps the
/// stamp the slot bore, put back once the old value is: a state rolled back to is, for a change
/// set, the state it was (see `pvec::Stamp`).
enum Undo<T> {
    /// Rows inserted one after another: this id, and the next `count - 1` slots with the next
    /// creation numbers (a bulk insert logs one entry, not one per row). See [`log_inserted`].
    Inserted(RawId, u32),
    Removed(RawId, T, Stamp),
    Replaced(RawId, T, Stamp),
    /// The leaf starting at this slot was saved before an in-place change of its rows; putting
    /// it back undoes every write to its slots since.
    Leaf(usize, SavedLeaf<T>),
    /// A fast relink wrote the key of index `index` in place; that index saved the key the row
    /// held (`FkIndex::save_key`), to write back on rollback.
    Relinked {
        id: RawId,
        index: usize,
        stamp: Stamp,
    },
    /// A removed or replaced value the caller took once the operation could no longer fail.
    Taken,
    /// Only an index changed (a bucket emptied whole, `FkIndex::drop_bucket`), logged there:
    /// nothing to undo in the rows, but the table counts as changed, so that commit and
    /// rollback visit it (a far table is found by `ErasedTable::changed`).
    Indexed,
    /// The table took another lineage (`Arena::continue_lineage`); this is the one it had.
    Lineage(Lineage, Arc<AtomicU64>),
    /// The rows as they were before a patch stored its first row under its id (an O(1) clone):
    /// [`Arena::put`] grows the storage and takes its slot out of the middle of the free list,
    /// which removing the row again does not undo, so later inserts would fill other slots.
    Rows(Arena<T>),
}

/// Logs the insert of row `id`: extends the last entry if it is a run of inserts that `id`
/// continues (next slot, next creation number, same table instance), else starts a run.
fn log_inserted<T>(log: &mut Vec<Undo<T>>, id: RawId) {
    if let Some(Undo::Inserted(first, count)) = log.last_mut()
        && let Some(next) = first.nth_after(*count)
        && next == id
        && let Some(longer) = count.checked_add(1)
    {
        *count = longer;
        return;
    }
    log.push(Undo::Inserted(id, 1));
}

/// Picked rows in one unshared leaf from which an in-place change saves the whole leaf rather
/// than each row: copying the leaf clones all its rows, picked or not, so it pays only when
/// most are picked. (A leaf a snapshot shares is copied anyway, and always saved whole.)
const SAVE_LEAF_AT: u32 = 24;

/// The value row `id` had when log entry `at` was written (a replaced row, or its slot in a
/// saved leaf).
fn logged<T>(log: &[Undo<T>], id: RawId, at: usize) -> Option<&T> {
    match log.get(at)? {
        Undo::Replaced(_, old, _) => Some(old),
        Undo::Leaf(_, saved) => saved.row(id),
        _ => None,
    }
}

/// What a patch changed: the rows it stored, and those it removed.
#[derive(Default)]
pub(crate) struct Patched {
    /// The rows stored (updated or inserted), in id order.
    pub(crate) stored: Vec<RawId>,
    /// The rows removed, in id order.
    pub(crate) removed: Vec<RawId>,
    /// Whether the table took the later state's lineage (see `TableData::take_lineage`).
    pub(crate) relineaged: bool,
}

/// The rows of one table and the indexes kept on them.
pub(crate) struct TableData<T> {
    rows: Arena<T>,
    indexes: Vec<Box<dyn RowIndex<T>>>,
    log: Vec<Undo<T>>,
}

impl<T: Model> Clone for TableData<T> {
    fn clone(&self) -> Self {
        TableData {
            rows: self.rows.clone(),
            indexes: self.indexes.clone(),
            log: Vec::new(),
        }
    }
}

impl<T: Model> TableData<T> {
    pub(super) fn new(rows: Arena<T>) -> Self {
        TableData {
            rows,
            indexes: Vec::new(),
            log: Vec::new(),
        }
    }

    /// A table with this one's indexes holding `rows` (indexes rebuilt later:
    /// [`ErasedTable::rebuild`]).
    pub(super) fn with_rows(&self, rows: Arena<T>) -> Self {
        TableData {
            rows,
            indexes: self.indexes.clone(),
            log: Vec::new(),
        }
    }

    /// The rows.
    #[inline]
    pub(crate) fn rows(&self) -> &Arena<T> {
        &self.rows
    }

    /// See [`Arena::reserve`].
    pub(super) fn reserve(&mut self, n: usize) {
        self.rows.reserve(n);
    }

    /// See [`Arena::release`].
    pub(super) fn release(&mut self) {
        self.rows.release();
    }

    /// The index at `pos`, as its concrete type.
    #[inline]
    pub(crate) fn index<I: 'static>(&self, pos: usize) -> Option<&I> {
        (&**self.indexes.get(pos)? as &dyn Any).downcast_ref()
    }

    pub(super) fn add_index(&mut self, index: Box<dyn RowIndex<T>>) -> usize {
        self.indexes.push(index);
        self.indexes.len() - 1
    }

    /// Whether `row` may be stored as row `id` (`None`: a new row), replacing `old`: asks every
    /// index. Reads only.
    pub(super) fn check(
        &self,
        core: &Core,
        id: Option<RawId>,
        old: Option<&T>,
        new: &T,
    ) -> crate::Result<()> {
        for index in &self.indexes {
            index.check(core, id, old, new)?;
        }
        Ok(())
    }

    /// Stores a checked row and adds it to every index. `None` if the table is full.
    pub(super) fn insert(&mut self, row: T) -> Option<RawId> {
        let TableData { rows, indexes, log } = self;
        let (id, stored) = rows.insert(row)?;
        log_inserted(log, id);
        for index in indexes.iter_mut() {
            index.insert(id.member(), stored);
        }
        Some(id)
    }

    /// Stores `row` under the exact id `id` (see [`Arena::put`]) and indexes it. Gives the row
    /// back if `id` is not of this lineage or its slot is taken.
    pub(super) fn put(&mut self, id: RawId, row: T) -> Result<(), T> {
        let TableData { rows, indexes, log } = self;
        rows.put(id, row)?;
        log_inserted(log, id);
        if let Some(stored) = rows.get(id) {
            for index in indexes.iter_mut() {
                index.insert(id.member(), stored);
            }
        }
        Ok(())
    }

    /// Makes this table's rows what `after`'s are wherever `before` and `after` differ (two
    /// states of this lineage: a change set applied here), through `remove`, `put` and
    /// `replace`, logged. Returns the rows it stored (to check) and those it removed, or the id
    /// of the first change that does not fit this table (a row `before` has that is not here,
    /// a slot already taken, a row here that would lose its id to `take_lineage`).
    fn patch(&mut self, before: &Self, after: &Self) -> Result<Patched, RawId> {
        enum Change<T> {
            Remove,
            Update(T),
            Insert(T),
        }
        let mut changes = Vec::new();
        let own = self.rows.lineage();
        let mut foreign = false;
        before.rows.diff(&after.rows, &mut |change| match change {
            SlotChange::Kept(id, _, new) => changes.push((id, Change::Update(new.clone()))),
            SlotChange::Deleted(id, _) => changes.push((id, Change::Remove)),
            SlotChange::Inserted(id, new) => {
                foreign |= !own.owns(id);
                changes.push((id, Change::Insert(new.clone())));
            }
        });
        // Removals first, so that a slot a row left can take the row that replaced it.
        changes.sort_by_key(|(id, change)| (!matches!(change, Change::Remove), *id));
        let mut patched = Patched::default();
        let Patched {
            stored,
            removed,
            relineaged,
        } = &mut patched;
        let mut saved = false;
        for (id, change) in changes {
            if foreign && !matches!(change, Change::Remove) {
                // Past the removals: rows of another lineage come next.
                foreign = false;
                self.take_lineage(after, removed)?;
                *relineaged = true;
            }
            match change {
                Change::Remove => {
                    if !self.remove(id) {
                        return Err(id);
                    }
                    removed.push(id);
                }
                // A row the change set keeps must be here: it is not re-created.
                Change::Update(row) => {
                    self.replace(id, row).map_err(|_| id)?;
                    stored.push(id);
                }
                Change::Insert(row) => {
                    if !saved {
                        // Once: the writes after it copy what they touch, as under a fork.
                        self.log.push(Undo::Rows(self.rows.clone()));
                        saved = true;
                    }
                    self.put(id, row).map_err(|_| id)?;
                    stored.push(id);
                }
            }
        }
        Ok(patched)
    }

    /// Takes the lineage of `after`, whose rows the change set stores here although this
    /// table's lineage does not own them (the change set spans a load: rows created after a
    /// load carry its lineage), so that they keep their ids; logged. Every row here that the
    /// change set leaves (all but `removed`, sorted, already removed) must be of that lineage
    /// too, or it would lose its id: the first that is not is the error. O(rows).
    fn take_lineage(&mut self, after: &Self, removed: &[RawId]) -> Result<(), RawId> {
        let theirs = after.rows.lineage();
        if let Some((id, _)) = self
            .rows
            .iter()
            .find(|&(id, _)| !theirs.owns(id) && removed.binary_search(&id).is_err())
        {
            return Err(id);
        }
        let (lineage, counter) = self.rows.take_lineage(&after.rows);
        self.log.push(Undo::Lineage(lineage, counter));
        Ok(())
    }

    /// Replaces row `id` with a checked value and moves it in every index. Gives the value back
    /// if `id` names no live row.
    pub(super) fn replace(&mut self, id: RawId, row: T) -> Result<(), T> {
        let TableData { rows, indexes, log } = self;
        let (slot, stamp) = match rows.get_mut_stamped(id) {
            Some(written) => written,
            None => return Err(row),
        };
        let old = std::mem::replace(slot, row);
        // Logged before the indexes run their key functions, so a panic there is undone too.
        log.push(Undo::Replaced(id, old, stamp));
        if let Some(Undo::Replaced(_, old, _)) = log.last() {
            for index in indexes.iter_mut() {
                index.replace(id.member(), old, slot);
            }
        }
        Ok(())
    }

    /// Changes in place every live row `pick` picks, with `change`, keeping what undoes it (a
    /// panic in `change` is undone): a leaf with many picked rows, or one a snapshot shares, is
    /// saved whole (the write then copies it once, and a shared leaf costs no more than without
    /// the undo); a leaf with a few picked rows logs each one's old value. Leaves that hold no
    /// picked row are not copied even if a snapshot shares them. Returns how many rows it
    /// changed and, for those whose key in some index moved, the row and the position of its
    /// log entry: the caller checks and reindexes them ([`reindex`](Self::reindex)).
    pub(super) fn modify_in_place(
        &mut self,
        pick: &mut impl FnMut(RawId, &T) -> bool,
        change: &mut impl FnMut(&mut T),
    ) -> (usize, Vec<(RawId, usize)>) {
        let TableData { rows, indexes, log } = self;
        let (mut changed, mut moved) = (0, Vec::new());
        // Without indexes no key can move: the old rows are not read again.
        let indexed = !indexes.is_empty();
        let mut start = 0;
        while start < rows.slots() {
            let mask = rows.pick_in_leaf(start, pick);
            if mask != 0 {
                let whole = mask.count_ones() >= SAVE_LEAF_AT || rows.leaf_shared(start);
                if let Some(saved) = whole.then(|| rows.save_leaf(start)).flatten() {
                    // Logged before the copy, so a panic in a row's `Clone` is undone too.
                    log.push(Undo::Leaf(start, saved));
                    let at = log.len() - 1;
                    // `pick` chose only live rows, and each gets `change` exactly once.
                    changed += mask.count_ones() as usize;
                    if !indexed {
                        // The saved leaf undoes these writes: their stamps are not needed.
                        rows.modify_in_leaf(start, mask, &mut |_, row, written| {
                            written.mark();
                            change(row);
                        });
                    } else if let Some(Undo::Leaf(_, saved)) = log.last() {
                        rows.modify_in_leaf(start, mask, &mut |id, row, written| {
                            written.mark();
                            change(row);
                            if let Some(old) = saved.row(id)
                                && indexes.iter().any(|index| index.moves(old, row))
                            {
                                moved.push((id, at));
                            }
                        });
                    }
                } else {
                    rows.modify_in_leaf(start, mask, &mut |id, row, written| {
                        // Marked only once logged (a panic in `Clone` leaves it unmarked),
                        // and the rows after a panic in `change` are not marked at all.
                        let old = row.clone();
                        log.push(Undo::Replaced(id, old, written.mark()));
                        change(row);
                        changed += 1;
                        if let Some(Undo::Replaced(_, old, _)) = log.last()
                            && indexes.iter().any(|index| index.moves(old, row))
                        {
                            moved.push((id, log.len() - 1));
                        }
                    });
                }
            }
            start += super::pvec::LEAF_LEN;
        }
        (changed, moved)
    }

    /// [`modify_in_place`](Self::modify_in_place) for the rows `ids` names (each at most once;
    /// ids naming no live row are skipped).
    pub(super) fn modify_listed(
        &mut self,
        ids: &[RawId],
        change: &mut dyn FnMut(&mut T),
    ) -> (usize, Vec<(RawId, usize)>) {
        let TableData { rows, indexes, log } = self;
        let (mut changed, mut moved) = (0, Vec::new());
        for &id in ids {
            let Some(entry) = rows.row_mut(id) else {
                continue;
            };
            // Cloned before the row is marked written: a panic in `Clone` leaves no mark that
            // rollback could not take back (a change set would list the row).
            let old = entry.get().clone();
            let (row, stamp) = entry.into_mut();
            log.push(Undo::Replaced(id, old, stamp));
            change(row);
            changed += 1;
            if let Some(Undo::Replaced(_, old, _)) = log.last()
                && indexes.iter().any(|index| index.moves(old, row))
            {
                moved.push((id, log.len() - 1));
            }
        }
        (changed, moved)
    }

    /// The value a [`modify_in_place`](Self::modify_in_place) logged at `at`, and the row now.
    pub(super) fn before_and_after(&self, id: RawId, at: usize) -> Option<(&T, &T)> {
        Some((logged(&self.log, id, at)?, self.rows.get(id)?))
    }

    /// Moves row `id`, changed in place with its old value logged at `at`, in every index.
    pub(super) fn reindex(&mut self, id: RawId, at: usize) {
        let TableData { rows, indexes, log } = self;
        if let (Some(old), Some(new)) = (logged(log, id, at), rows.get(id)) {
            for index in indexes.iter_mut() {
                index.replace(id.member(), old, new);
            }
        }
    }

    /// Removes row `id` and takes it out of every index. Returns whether it was alive.
    pub(super) fn remove(&mut self, id: RawId) -> bool {
        let TableData { rows, indexes, log } = self;
        let Some((row, stamp)) = rows.remove_stamped(id) else {
            return false;
        };
        // Logged before the indexes run their key functions, so a panic there is undone too.
        log.push(Undo::Removed(id, row, stamp));
        if let Some(Undo::Removed(_, row, _)) = log.last() {
            for index in indexes.iter_mut() {
                index.remove(id.member(), row);
            }
        }
        true
    }

    /// The value row `id` had before the running operation first replaced or removed it, taken
    /// out of the log: for callers that return it, once the operation can no longer fail.
    pub(super) fn take_original(&mut self, id: RawId) -> Option<T> {
        let at = self.log.iter().position(|undo| match undo {
            Undo::Replaced(r, ..) | Undo::Removed(r, ..) => *r == id,
            _ => false,
        })?;
        match std::mem::replace(&mut self.log[at], Undo::Taken) {
            Undo::Replaced(_, row, _) | Undo::Removed(_, row, _) => Some(row),
            other => {
                self.log[at] = other;
                None
            }
        }
    }
}
