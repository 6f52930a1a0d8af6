//! What every association handle shares ([`Link`]): which association it names, how its
//! arguments are resolved, and how rows that stop being linked are unlinked.

use std::marker::PhantomData;

use super::Unlink;
use crate::core::{AssocAt, Core, Fk, Plan, Write, not_found, unknown};
use crate::db::Model;
use crate::error::{Argument, Error, Result};
use crate::id::{Id, Marker, RawId, RowRef, model_name};
use crate::key::Key;
use crate::table::Table;

/// How rows that stop being linked will be unlinked, decided before anything changes.
pub(crate) enum Unlinking {
    Nullify(Vec<RawId>),
    Delete(Plan),
}

/// The typed part every association handle shares: which association, between which types.
pub(crate) struct Link<S, T, K> {
    pub(crate) at: AssocAt,
    marker: Marker<(S, T, K)>,
}

impl<S, T, K> Clone for Link<S, T, K> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<S, T, K> Copy for Link<S, T, K> {}

impl<S: Model, T: Model, K: Key> Link<S, T, K> {
    pub(crate) fn new(at: AssocAt) -> Self {
        Link {
            at,
            marker: PhantomData,
        }
    }

    /// The association, or `UnknownHandle` if this database did not declare it. O(1).
    #[inline]
    pub(crate) fn fk<'a>(&self, core: &'a Core) -> Result<Fk<'a, S, T, K>> {
        core.fk(self.at).ok_or_else(|| unknown::<T>("association"))
    }

    /// The source table.
    pub(crate) fn sources(&self, core: &Core) -> Result<Table<S>> {
        let fk = self.fk(core)?;
        core.table_at(fk.def.source())
            .map(Table::new)
            .ok_or_else(|| unknown::<S>("association"))
    }

    /// `NotFound` for the source argument.
    #[cold]
    pub(crate) fn missing_source(&self, fk: &Fk<'_, S, T, K>, source: Id<S>) -> Error {
        not_found::<S>(source.raw, Argument::Source, Some(fk.def.name()))
    }

    /// `NotFound` for a target argument.
    #[cold]
    pub(crate) fn missing_target(&self, fk: &Fk<'_, S, T, K>, target: Id<T>) -> Error {
        not_found::<T>(target.raw, Argument::Target, Some(fk.def.name()))
    }

    /// The key `source` is referenced by, or `NotFound` for it. O(log n).
    #[inline]
    pub(crate) fn key_of(&self, core: &Core, fk: &Fk<'_, S, T, K>, source: Id<S>) -> Result<K> {
        fk.index
            .key_of(core, source.raw)
            .ok_or_else(|| self.missing_source(fk, source))
    }

    /// The target rows, or `NotFound` for the first id that names no row.
    pub(crate) fn rows<'a>(
        &self,
        fk: &Fk<'a, S, T, K>,
        ids: impl IntoIterator<Item = Id<T>>,
    ) -> Result<Vec<(Id<T>, &'a T)>> {
        let rows = fk.targets.rows();
        ids.into_iter()
            .map(|id| match rows.get(id.raw) {
                Some(row) => Ok((id, row)),
                None => Err(self.missing_target(fk, id)),
            })
            .collect()
    }

    /// The raw ids of `ids`, sorted and deduplicated, or `NotFound` for the first one that
    /// names no row.
    pub(crate) fn existing(
        &self,
        fk: &Fk<'_, S, T, K>,
        ids: impl IntoIterator<Item = Id<T>>,
    ) -> Result<Vec<RawId>> {
        let rows = fk.targets.rows();
        let ids = ids.into_iter();
        let mut raw = Vec::with_capacity(ids.size_hint().0);
        for id in ids {
            if !rows.contains(id.raw) {
                return Err(self.missing_target(fk, id));
            }
            raw.push(id.raw);
        }
        raw.sort_unstable();
        raw.dedup();
        Ok(raw)
    }

    /// The target row of a single-target method, or `NotFound` (for the source first, when
    /// both are missing).
    #[inline]
    pub(crate) fn target_row<'a>(
        &self,
        core: &'a Core,
        fk: &Fk<'a, S, T, K>,
        source: Id<S>,
        target: Id<T>,
    ) -> Result<&'a T> {
        match fk.targets.rows().get(target.raw) {
            Some(row) => Ok(row),
            None => {
                self.key_of(core, fk, source)?;
                Err(self.missing_target(fk, target))
            }
        }
    }

    /// `None` if target row `row` is linked to `source`; otherwise the key that links to it
    /// (`NotFound` for `source`). For id keys, no lookup at all when it is linked.
    #[inline]
    pub(crate) fn unlinked_key(
        &self,
        core: &Core,
        fk: &Fk<'_, S, T, K>,
        source: Id<S>,
        row: &T,
    ) -> Result<Option<K>> {
        let held = fk.index.foreign_key().get(row);
        if fk.index.by_id() && held.and_then(Key::__raw) == Some(source.raw) {
            return Ok(None);
        }
        let key = self.key_of(core, fk, source)?;
        Ok((held != Some(&key)).then_some(key))
    }

    /// How `rows` (linked targets about to stop being linked) will be unlinked under `policy`
    /// (`None`: the association's), decided before anything changes.
    pub(crate) fn plan_unlink(
        &self,
        w: &Write<'_>,
        rows: Vec<RawId>,
        policy: Option<Unlink>,
    ) -> Result<Unlinking> {
        let fk = self.fk(w.core())?;
        let Some(&first) = rows.first() else {
            return Ok(Unlinking::Nullify(rows));
        };
        match policy.unwrap_or(fk.def.unlink()) {
            Unlink::Nullify if fk.def.nullable() => Ok(Unlinking::Nullify(rows)),
            Unlink::Nullify | Unlink::Reject => Err(self.not_null(&fk, first)),
            Unlink::Delete => {
                let target = fk.def.target();
                let roots: Vec<_> = rows.iter().map(|&r| (target, r)).collect();
                w.plan_delete(&roots).map(Unlinking::Delete)
            }
        }
    }

    /// `Conflict` if `unlinking` deletes (through a delete policy's cascade) a row the call
    /// needs: its source, or a target row it keeps or links.
    pub(crate) fn refuse_conflicts(
        &self,
        core: &Core,
        unlinking: &Unlinking,
        source: Id<S>,
        needed: impl IntoIterator<Item = RawId>,
    ) -> Result<()> {
        let Unlinking::Delete(plan) = unlinking else {
            return Ok(());
        };
        let fk = self.fk(core)?;
        let (sources, targets) = (fk.def.source(), fk.def.target());
        let conflict = |table: usize, id: RawId| Error::Conflict {
            row: RowRef::new(core.table_name(table), id),
            association: fk.def.name(),
        };
        if plan.deletes_row(sources, source.raw) {
            return Err(conflict(sources, source.raw));
        }
        for id in needed {
            if plan.deletes_row(targets, id) {
                return Err(conflict(targets, id));
            }
        }
        Ok(())
    }

    /// Unlinks as planned rows linked to `source`; returns how many stopped being linked.
    pub(crate) fn apply_unlink(
        &self,
        w: &mut Write<'_>,
        source: Id<S>,
        unlinking: Unlinking,
    ) -> Result<usize> {
        match unlinking {
            Unlinking::Nullify(rows) => {
                w.link_all::<S, T, K>(self.at, &rows, source.raw, false)?;
                Ok(rows.len())
            }
            Unlinking::Delete(plan) => {
                let roots = plan.roots();
                w.apply_delete(plan)?;
                Ok(roots)
            }
        }
    }

    /// The validation error for nulling `child`'s non-null foreign key.
    #[cold]
    pub(crate) fn not_null(&self, fk: &Fk<'_, S, T, K>, child: RawId) -> Error {
        Error::Validation {
            model: model_name::<T>(),
            field: fk.def.field(),
            row: RowRef::new(model_name::<T>(), child),
            association: fk.def.name(),
        }
    }
}
