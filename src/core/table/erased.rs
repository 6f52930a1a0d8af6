//! [`ErasedTable`]: a table's data behind a trait object, for the paths that do not know its
//! row type: deletes planned across tables, commit and rollback (undoing the log), integrity
//! checks.

use std::any::Any;

use super::{Patched, TableData, Undo};
use crate::Model;
use crate::core::restore::Restore;
use crate::core::{Core, SlotChange, clear_log};
use crate::id::{Lineage, RawId};

/// The type-erased face of a [`TableData`], for the paths that do not know a table's row type:
/// deletes planned across tables, commit and rollback, integrity checks.
pub(crate) trait ErasedTable: Any + Send + Sync + Restore {
    fn clone_box(&self) -> Box<dyn ErasedTable>;
    fn len(&self) -> usize;
    /// The ids of the live rows, in creation order. O(n log n).
    fn ids(&self) -> Vec<RawId>;
    /// Which ids the table's rows carry.
    fn lineage(&self) -> &crate::id::Lineage;
    /// The row `id` names, if it is alive.
    fn row(&self, id: RawId) -> Option<&dyn Any>;
    /// [`TableData::remove`].
    fn remove(&mut self, id: RawId) -> bool;
    /// Keeps the running operation's changes.
    fn commit(&mut self);
    /// Undoes the running operation's changes, without running user code.
    fn rollback(&mut self);
    /// Whether the running operation changed this table.
    fn changed(&self) -> bool;
    /// Makes every index follow the lineages `lineages` (table `t`'s at `t`), keeping its
    /// entries: after a table took another lineage, or gave it back.
    fn follow(&mut self, lineages: &[Lineage]);
    /// [`TableData::patch`] from two erased states of this table; `None` if they are not.
    fn patch_from(
        &mut self,
        before: &dyn ErasedTable,
        after: &dyn ErasedTable,
    ) -> Option<Result<Patched, RawId>>;
    /// Checks rows `ids` (those alive), already stored and indexed, against every index: what
    /// a write checks before storing, judged on the stored state (see
    /// `RowIndex::check_stored`).
    fn check_rows(&self, core: &Core, ids: &[RawId]) -> crate::Result<()>;
    /// Empties the foreign-key indexes (`foreign`) or the others, sets the lineages they follow
    /// (`lineages[t]`: table `t`'s), and indexes every row again, in creation order, with the
    /// checks of a write against `core`.
    fn rebuild(
        &mut self,
        core: &Core,
        lineages: &[crate::id::Lineage],
        foreign: bool,
    ) -> crate::Result<()>;
    fn verify(&self, core: &Core) -> Result<(), String>;
    /// The rows only `other` (a later state of this table) holds, the rows only `self` holds,
    /// and the rows both hold that were written between them: `[inserted, deleted, written]`;
    /// `None` for a table of another row type. O(changes) when one state derives from the
    /// other.
    fn row_changes(&self, other: &dyn ErasedTable) -> Option<[usize; 3]>;

    /// Whether [`row_changes`](Self::row_changes) finds any (a table of another row type
    /// always differs).
    fn rows_differ(&self, other: &dyn ErasedTable) -> bool {
        self.row_changes(other) != Some([0; 3])
    }
}

impl Clone for Box<dyn ErasedTable> {
    fn clone(&self) -> Self {
        self.clone_box()
    }
}

impl<T: Model> ErasedTable for TableData<T> {
    fn ids(&self) -> Vec<RawId> {
        let mut ids: Vec<RawId> = self.rows.iter().map(|(id, _)| id).collect();
        ids.sort_unstable_by_key(|id| id.seq());
        ids
    }

    fn clone_box(&self) -> Box<dyn ErasedTable> {
        Box::new(self.clone())
    }
    fn len(&self) -> usize {
        self.rows.len()
    }
    fn lineage(&self) -> &crate::id::Lineage {
        self.rows.lineage()
    }
    fn row(&self, id: RawId) -> Option<&dyn Any> {
        self.rows.get(id).map(|row| row as &dyn Any)
    }
    fn remove(&mut self, id: RawId) -> bool {
        TableData::remove(self, id)
    }

    fn commit(&mut self) {
        clear_log(&mut self.log);
        for index in &mut self.indexes {
            index.commit();
        }
    }

    fn rollback(&mut self) {
        let TableData { rows, indexes, log } = self;
        // The paths these undo were made private by the changes themselves, so no `Clone` runs.
        while let Some(undo) = log.pop() {
            match undo {
                Undo::Inserted(first, count) => {
                    for k in (0..count).rev() {
                        if let Some(id) = first.nth_after(k) {
                            drop(rows.unstore(id));
                        }
                    }
                }
                // Each stamp is put back right after the old value, and only then.
                Undo::Removed(id, row, stamp) => {
                    if rows.restore(id, row) {
                        rows.restamp(id, stamp);
                    }
                }
                Undo::Replaced(id, row, stamp) => {
                    if rows.replace(id, row).is_ok() {
                        rows.restamp(id, stamp);
                    }
                }
                Undo::Leaf(start, saved) => rows.restore_leaf(start, saved),
                Undo::Relinked { id, index, stamp } => {
                    if let (Some(row), Some(index)) = (rows.get_mut(id), indexes.get_mut(index)) {
                        index.restore_key(row);
                        rows.restamp(id, stamp);
                    }
                }
                Undo::Taken | Undo::Indexed => {}
                Undo::Lineage(lineage, counter) => rows.set_lineage((lineage, counter)),
                Undo::Rows(saved) => *rows = saved,
            }
        }
        clear_log(log);
        for index in indexes.iter_mut() {
            index.rollback();
        }
    }

    fn changed(&self) -> bool {
        !self.log.is_empty()
    }

    fn follow(&mut self, lineages: &[Lineage]) {
        let TableData { rows, indexes, .. } = self;
        for index in indexes.iter_mut() {
            index.follow(rows.lineage(), lineages);
        }
    }

    fn patch_from(
        &mut self,
        before: &dyn ErasedTable,
        after: &dyn ErasedTable,
    ) -> Option<Result<Patched, RawId>> {
        let before = (before as &dyn Any).downcast_ref::<TableData<T>>()?;
        let after = (after as &dyn Any).downcast_ref::<TableData<T>>()?;
        Some(self.patch(before, after))
    }

    fn rebuild(
        &mut self,
        core: &Core,
        lineages: &[crate::id::Lineage],
        foreign: bool,
    ) -> crate::Result<()> {
        let TableData { rows, indexes, log } = self;
        log.clear();
        let mut by_creation: Vec<(RawId, &T)> = rows.iter().collect();
        by_creation.sort_unstable_by_key(|&(id, _)| id.seq());
        for index in indexes.iter_mut().filter(|i| i.is_foreign() == foreign) {
            index.reset(rows.lineage(), lineages);
            for &(id, row) in &by_creation {
                index.check(core, Some(id), None, row)?;
                index.insert(id.member(), row);
                // Rows loaded, none written by a call: see `Core::add_key_index`.
                index.commit();
            }
        }
        Ok(())
    }

    fn check_rows(&self, core: &Core, ids: &[RawId]) -> crate::Result<()> {
        for &id in ids {
            if let Some(row) = self.rows.get(id) {
                for index in &self.indexes {
                    index.check_stored(core, id, row)?;
                }
            }
        }
        for index in &self.indexes {
            index.check_displaced(&self.rows)?;
        }
        Ok(())
    }

    fn row_changes(&self, other: &dyn ErasedTable) -> Option<[usize; 3]> {
        let other = (other as &dyn Any).downcast_ref::<TableData<T>>()?;
        let mut counts = [0; 3];
        self.rows.diff(&other.rows, &mut |change| {
            let at = match change {
                SlotChange::Inserted(..) => 0,
                SlotChange::Deleted(..) => 1,
                SlotChange::Kept(..) => 2,
            };
            counts[at] += 1;
        });
        Some(counts)
    }

    fn verify(&self, core: &Core) -> Result<(), String> {
        for index in &self.indexes {
            index.verify(core, &self.rows)?;
        }
        let counted = self.rows.iter().count();
        if counted != self.rows.len() {
            return Err(format!(
                "{counted} live rows, but the table counts {}",
                self.rows.len()
            ));
        }
        Ok(())
    }
}
