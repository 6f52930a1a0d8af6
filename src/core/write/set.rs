//! Set-based writes: updates of every row a predicate or a list of ids picks
//! (`modify_where`, `modify_ids`), and change sets applied from another state
//! (`apply_changes`). See the parent module's docs.

use triomphe::Arc;

use super::{Write, data_of, internal};
use crate::Model;
use crate::core::Core;
use crate::error::{Change, Error, Result};
use crate::id::{RawId, RowRef};

impl Write<'_> {
    /// Changes every row of table `t` that `pick` picks with `change`, as one set-based update
    /// (SQL `UPDATE … WHERE`), and returns how many it changed. Each changed row is checked
    /// against every index, as [`replace`](Write::replace) checks one, in storage order.
    ///
    /// When no association uses a key of this table as its source key, rows change in place
    /// (`TableData::modify_in_place`): one pass, and only rows whose index keys moved are checked
    /// and reindexed afterwards. Otherwise (on-update actions may apply) each row goes through
    /// `replace`.
    pub(crate) fn modify_where<T: Model>(
        &mut self,
        t: usize,
        mut pick: impl FnMut(RawId, &T) -> bool,
        mut change: impl FnMut(&mut T),
    ) -> Result<usize> {
        if self.keyed_source(t) {
            let picked: Vec<RawId> = data_of::<T>(self.core, t)?
                .rows()
                .iter()
                .filter(|&(id, row)| pick(id, row))
                .map(|(id, _)| id)
                .collect();
            return self.replace_each(t, &picked, change);
        }
        let (changed, moved) = self
            .data_mut::<T>(t)?
            .modify_in_place(&mut pick, &mut change);
        self.check_moved::<T>(t, moved)?;
        Ok(changed)
    }

    /// [`modify_where`](Write::modify_where) for the rows `ids` names (distinct ids, in the
    /// order given; ids naming no live row are skipped): O(log n) per row, not a scan.
    pub(crate) fn modify_ids<T: Model>(
        &mut self,
        t: usize,
        ids: &[RawId],
        mut change: impl FnMut(&mut T),
    ) -> Result<usize> {
        if self.keyed_source(t) {
            return self.replace_each(t, ids, change);
        }
        let (changed, moved) = self.data_mut::<T>(t)?.modify_listed(ids, &mut change);
        self.check_moved::<T>(t, moved)?;
        Ok(changed)
    }

    /// Changes the rows `ids` names one at a time, in that order, each through
    /// [`replace`](Write::replace) from its current value: a row that an on-update action of an
    /// earlier row already changed (a tree keyed by an attribute of its own table) is changed
    /// from what that action made of it, never stored back from a copy taken before it. Ids
    /// naming no live row are skipped. Returns how many rows it changed.
    fn replace_each<T: Model>(
        &mut self,
        t: usize,
        ids: &[RawId],
        mut change: impl FnMut(&mut T),
    ) -> Result<usize> {
        let mut changed = 0;
        for &id in ids {
            let Some(row) = data_of::<T>(self.core, t)?.rows().get(id) else {
                continue;
            };
            let mut new = row.clone();
            change(&mut new);
            self.replace(t, id, new)?;
            changed += 1;
        }
        Ok(changed)
    }

    /// Whether an association uses a key of table `t` as its source key (then changing a row
    /// may call for on-update actions).
    fn keyed_source(&self, t: usize) -> bool {
        let catalog = &self.core.catalog;
        catalog.tables.get(t).is_some_and(|table| {
            table.refs.iter().any(|&a| {
                catalog
                    .assocs
                    .get(a)
                    .is_some_and(|d| d.source_key.is_some())
            })
        })
    }

    /// Checks and reindexes, in order, rows changed in place whose index keys moved.
    fn check_moved<T: Model>(&mut self, t: usize, moved: Vec<(RawId, usize)>) -> Result<()> {
        for (id, at) in moved {
            let data = data_of::<T>(self.core, t)?;
            let (old, new) = data.before_and_after(id, at).ok_or_else(|| internal(t))?;
            data.check(self.core, Some(id), Some(old), new)?;
            self.data_mut::<T>(t)?.reindex(id, at);
        }
        Ok(())
    }

    /// Makes this database's rows what `after`'s are wherever `before` and `after` differ: a
    /// change set of this lineage, applied here. Every table must be one this database declared
    /// (the same catalog entries). Rows are stored with their ids; afterwards every stored row
    /// is checked against its table's indexes, and no row may still reference a removed one.
    /// O(changes) when `before` and `after` share storage.
    pub(crate) fn apply_changes(&mut self, before: &Core, after: &Core) -> Result<usize> {
        let tables = self.core.catalog.tables.len();
        if !self.core.same_tables(before) || !self.core.same_tables(after) {
            return Err(Error::UnknownHandle {
                handle: "a change set taken on another database (or whose write declared a \
                         table, or over fewer tables than this database declares: it applies \
                         to a state of the database it was taken on)"
                    .into(),
            });
        }
        // The state before, to read the keys of source rows renamed or removed by attribute
        // (taken only when such a key exists). The clone is O(1), but holding it makes the
        // patch's first write copy the table list and every write copy its path.
        let old = (0..tables)
            .any(|t| self.keyed_source(t))
            .then(|| self.core.clone());
        let mut changed = 0;
        let mut touched = Vec::new();
        for t in 0..tables {
            let (Some(b), Some(a)) = (before.tables.get(t), after.tables.get(t)) else {
                continue;
            };
            self.spill();
            self.touch(t);
            let target = Arc::make_mut(&mut self.core.tables)
                .get_mut(t)
                .ok_or_else(|| internal(t))?;
            match target.patch_from(&**b, &**a) {
                Some(Ok(patched)) => {
                    changed += patched.stored.len() + patched.removed.len();
                    self.relineaged |= patched.relineaged;
                    touched.push((t, patched.stored, patched.removed));
                }
                Some(Err(id)) => {
                    return Err(Error::Mismatch {
                        row: RowRef::new(self.core.table_name(t), id),
                    });
                }
                None => return Err(internal(t)),
            }
        }
        if self.relineaged {
            // Before any check reads the indexes.
            self.follow_lineages();
        }
        for (t, stored, removed) in touched {
            let table = self.core.tables.get(t).ok_or_else(|| internal(t))?;
            table.check_rows(self.core, &stored)?;
            let catalog = &self.core.catalog;
            let refs = &catalog.tables.get(t).ok_or_else(|| internal(t))?.refs;
            if let Some(old) = &old {
                // Sources renamed or removed by attribute: no key they held may be left naming
                // nothing.
                let sources: Vec<RawId> = stored.iter().chain(&removed).copied().collect();
                for &a in refs {
                    let def = catalog.assocs.get(a).ok_or_else(|| internal(t))?;
                    if def.source_key.is_none() {
                        continue;
                    }
                    if let Some((source, child, key)) =
                        def.ops.dangling_from(self.core, old, def, &sources)
                    {
                        let target = self.core.table_name(def.target);
                        if removed.contains(&source) {
                            // As for a key by id: the removal is what the row restricts.
                            return Err(Error::Restricted {
                                row: RowRef::new(self.core.table_name(t), source),
                                association: def.name,
                                blocking_row: RowRef::new(target, child),
                                change: Change::Apply,
                            });
                        }
                        return Err(Error::ForeignKey {
                            model: target,
                            field: def.field(),
                            row: Some(RowRef::new(target, child)),
                            references: self.core.table_name(t),
                            key,
                        });
                    }
                }
            }
            for id in removed {
                for &a in refs {
                    let def = catalog.assocs.get(a).ok_or_else(|| internal(t))?;
                    if let Some(child) = def.ops.children(self.core, def, id).next() {
                        let child = self
                            .core
                            .id_in(def.target, child)
                            .ok_or_else(|| internal(t))?;
                        return Err(Error::Restricted {
                            row: RowRef::new(self.core.table_name(t), id),
                            association: def.name,
                            blocking_row: RowRef::new(self.core.table_name(def.target), child),
                            change: Change::Apply,
                        });
                    }
                }
            }
        }
        Ok(changed)
    }
}
