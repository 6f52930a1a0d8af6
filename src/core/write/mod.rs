//! The write path: every change to a row or an index goes through a [`Write`].
//!
//! Each method validates its change against the current state (every index of the table, the
//! referential actions it triggers), applies it to the rows and to every index of the table,
//! and logs it. Referential actions (on-delete, on-update, transitive, through attribute keys)
//! are applied by calling the same methods, so they are validated and indexed like any other
//! change. A `Write` dropped without [`commit`](Write::commit) — because a method returned an
//! error, a later check failed, or user code panicked anywhere in between — undoes every logged
//! change in reverse order, without running user code: the database is exactly as before.
//!
//! Fast paths are specialisations inside these methods: a relink whose key no other index reads
//! writes the key in place and moves it in its own index only (`relink`).
//!
//! Layout: this file holds [`Write`] itself (opening, logging, rollback on drop, commit), its
//! row inserts and replaces, the deferred checks and the helpers every part shares; `link`
//! holds the relinks of foreign keys (`relink`, `link`, `unlink`, `link_all`) and their fast
//! paths; `set` the set-based updates and change sets; `delete` the deletes.

mod delete;
mod link;
mod set;

use std::any::Any;

use triomphe::Arc;

use super::cascade::AssocOps;
use super::catalog::AssocDef;
use super::declare::unknown;
use super::table::{ErasedTable, TableData, Unlogged};
use super::{AssocAt, Core};
use crate::Model;
use crate::assoc::OnUpdate;
use crate::error::{Argument, Change, Error, Result};
use crate::id::{Id, Member, RawId, RowRef, model_name};
use crate::key::Key;

/// A check made when the operation ends: `NoAction` on update, which lets the same operation
/// repair what the change broke.
struct Deferred {
    assoc: usize,
    source: RawId,
    children: Vec<Member>,
}

/// The first change of an operation, when it is a fast relink of an id key: kept here instead
/// of in the logs, so that an operation made of that one change (`add`, `remove`) logs nothing.
/// Written to the logs ([`Write::spill`]) as soon as a second change begins.
///
/// Kept small: the `Write` that holds it is moved whole on every call, inline up to 128 bytes
/// (past that, a `memcpy` call per operation: +7% instructions per `add`): table and index
/// positions are 32-bit. They fit: a database's tables are fewer than the process's 2³² table
/// declarations, and a table with 2³² indexes would not fit in memory.
struct Pending {
    table: u32,
    pos: u32,
    child: RawId,
    /// What undoes it: the key the row held before, the stamp its slot bore.
    unlogged: Unlogged,
    undo: fn(&mut dyn ErasedTable, &Pending),
    spill: fn(&mut dyn ErasedTable, &Pending),
}

/// One atomic operation on a database. See the module docs.
pub(crate) struct Write<'a> {
    core: &'a mut Core,
    /// Bit `t`: table `t` has logged changes (tables 63 and up share the last bit, and
    /// `far` says which of them).
    touched: u64,
    /// The first and last of the tables from 63 on with logged changes (`(usize::MAX, 0)` while
    /// none): a write to one of them visits it alone at commit, not every table past the
    /// 63rd. Kept out of the hot path: `touched` alone says whether anything changed.
    far: (usize, usize),
    pending: Option<Pending>,
    deferred: Vec<Deferred>,
    /// Some table took another lineage (a change set that spans a load): on rollback, once the
    /// tables have theirs back, the indexes must follow them again.
    relineaged: bool,
    done: bool,
}

impl Drop for Write<'_> {
    #[inline]
    fn drop(&mut self) {
        if !self.done {
            self.rollback();
        }
    }
}

impl<'a> Write<'a> {
    #[inline]
    pub(super) fn new(core: &'a mut Core) -> Self {
        Write {
            core,
            touched: 0,
            far: (usize::MAX, 0),
            pending: None,
            deferred: Vec::new(),
            relineaged: false,
            done: false,
        }
    }

    /// The state as the operation has left it so far.
    #[inline]
    pub(crate) fn core(&self) -> &Core {
        self.core
    }

    /// Undoes every change (the `Write` was dropped without a commit: an error or a panic).
    #[cold]
    #[inline(never)]
    fn rollback(&mut self) {
        if let Some(p) = self.pending.take()
            && let Some(table) = Arc::make_mut(&mut self.core.tables).get_mut(p.table as usize)
        {
            (p.undo)(&mut **table, &p);
        }
        self.each_touched(|table| table.rollback());
        if self.relineaged {
            self.follow_lineages();
        }
    }

    /// Makes every index follow the lineages the tables have now.
    fn follow_lineages(&mut self) {
        let lineages = self.core.lineages();
        for table in Arc::make_mut(&mut self.core.tables).iter_mut() {
            table.follow(&lineages);
        }
    }

    /// Calls `f` on every table with logged changes. Inline for the common case of none (an
    /// operation that only made a pending change), out of line otherwise.
    #[inline]
    fn each_touched(&mut self, f: impl FnMut(&mut dyn ErasedTable)) {
        if self.touched != 0 {
            self.each_touched_slow(f);
        }
    }

    #[inline(never)]
    fn each_touched_slow(&mut self, mut f: impl FnMut(&mut dyn ErasedTable)) {
        let mut bits = self.touched & !(1 << 63);
        let tables = Arc::make_mut(&mut self.core.tables);
        while bits != 0 {
            let t = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            if let Some(table) = tables.get_mut(t) {
                f(&mut **table);
            }
        }
        if self.touched >> 63 != 0 {
            // The last bit stands for the tables from 63 on: those of `far` with changes.
            let (first, last) = self.far;
            for table in tables.iter_mut().take(last + 1).skip(first) {
                if table.changed() {
                    f(&mut **table);
                }
            }
        }
    }

    /// Writes a pending first change to the logs: another change is about to begin.
    #[inline]
    fn spill(&mut self) {
        if let Some(p) = self.pending.take() {
            self.touch(p.table as usize);
            if let Some(table) = Arc::make_mut(&mut self.core.tables).get_mut(p.table as usize) {
                (p.spill)(&mut **table, &p);
            }
        }
    }

    /// Table `t`'s data, writable (copying what a fork shares), marked as changed. Every
    /// logged change starts here.
    #[inline]
    fn data_mut<T: Model>(&mut self, t: usize) -> Result<&mut TableData<T>> {
        self.spill();
        self.touch(t);
        self.unlogged_mut(t)
    }

    /// Marks table `t` as having logged changes. Branch-free: the hot path pays two
    /// compare-and-moves for `far`, which only tables from 63 on can widen (a nearer table
    /// offers no first far table, and is below every far one as the last).
    #[inline(always)]
    fn touch(&mut self, t: usize) {
        self.touched |= 1 << t.min(63);
        let as_first = if t >= 63 { t } else { usize::MAX };
        let (first, last) = &mut self.far;
        *first = (*first).min(as_first);
        *last = (*last).max(t);
    }

    /// Table `t`'s data, writable, for a change that will not be logged (see [`Pending`]).
    #[inline(always)]
    fn unlogged_mut<T: Model>(&mut self, t: usize) -> Result<&mut TableData<T>> {
        Arc::make_mut(&mut self.core.tables)
            .get_mut(t)
            .and_then(|table| (&mut **table as &mut dyn Any).downcast_mut())
            .ok_or_else(|| internal(t))
    }

    /// Whether a change may be kept as the [`Pending`] first change: nothing changed yet.
    #[inline(always)]
    fn first_change(&self) -> bool {
        self.touched == 0 && self.pending.is_none()
    }

    /// Reserves the creation numbers of the next `n` inserts into table `t` (a bulk insert):
    /// see [`Arena::reserve`](crate::core::rows::Arena::reserve). Numbers only: nothing to
    /// undo. [`release`](Self::release) gives back what is left.
    pub(crate) fn reserve<T: Model>(&mut self, t: usize, n: usize) -> Result<()> {
        if n >= 2 {
            self.data_mut::<T>(t)?.reserve(n);
        }
        Ok(())
    }

    /// Gives back the numbers [`reserve`](Self::reserve) drew for table `t` and no insert used.
    pub(crate) fn release<T: Model>(&mut self, t: usize) {
        if let Ok(data) = self.unlogged_mut::<T>(t) {
            data.release();
        }
    }

    /// Inserts `row` into table `t`: checks it against every index (foreign keys resolve,
    /// unique keys are free), stores it, indexes it.
    pub(crate) fn insert<T: Model>(&mut self, t: usize, row: T) -> Result<RawId> {
        let data = data_of::<T>(self.core, t)?;
        if !data.rows().has_room() {
            return Err(Error::Capacity {
                model: model_name::<T>(),
            });
        }
        data.check(self.core, None, None, &row)?;
        self.data_mut::<T>(t)?
            .insert(row)
            .ok_or_else(|| Error::Capacity {
                model: model_name::<T>(),
            })
    }

    /// Replaces row `id` of table `t` with `row`: checks it against every index, and against
    /// the on-update actions of associations whose source key it changes; stores and reindexes
    /// it; then applies those actions (children follow, or are nulled) through this path, which
    /// carries chains of attribute keys as far as they go.
    pub(crate) fn replace<T: Model>(&mut self, t: usize, id: RawId, row: T) -> Result<()> {
        let core = &*self.core;
        let data = data_of::<T>(core, t)?;
        let old = data
            .rows()
            .get(id)
            .ok_or_else(|| not_found::<T>(id, Argument::Row, None))?;
        data.check(core, Some(id), Some(old), &row)?;
        let mut follow = Vec::new();
        for &a in &core.catalog.tables[t].refs {
            let def = &core.catalog.assocs[a];
            if def.source_key.is_none() {
                continue;
            }
            let Some(change) = def.ops.key_change(core, def, id, old, &row) else {
                continue;
            };
            match def.on_update {
                OnUpdate::Cascade => follow.push((a, change.children, change.new_key)),
                OnUpdate::SetNull => follow.push((a, change.children, None)),
                OnUpdate::Restrict => {
                    let blocking = core
                        .id_in(def.target, change.children[0])
                        .ok_or_else(|| internal(def.target))?;
                    return Err(Error::Restricted {
                        row: RowRef::new(model_name::<T>(), id),
                        association: def.name,
                        blocking_row: RowRef::new(core.table_name(def.target), blocking),
                        change: Change::Update,
                    });
                }
                OnUpdate::NoAction => self.deferred.push(Deferred {
                    assoc: a,
                    source: id,
                    children: change.children,
                }),
            }
        }
        if self.data_mut::<T>(t)?.replace(id, row).is_err() {
            return Err(not_found::<T>(id, Argument::Row, None));
        }
        for (a, children, key) in follow {
            let (ops, at) = self.assoc_ops(a);
            let target = self
                .core
                .lineage(self.core.catalog.assocs[a].target)
                .ok_or_else(|| internal(a))?
                .clone();
            for child in children {
                ops.relink(self, at, target.id(child), key.as_deref())?;
            }
        }
        Ok(())
    }

    /// The operations of association number `a` and its handle position, for the write
    /// path's own calls (referential actions) on an association it knows by number.
    fn assoc_ops(&self, a: usize) -> (&'static dyn AssocOps, AssocAt) {
        let def = &self.core.catalog.assocs[a];
        (
            def.ops,
            AssocAt {
                index: a,
                decl: def.decl,
            },
        )
    }

    /// The definition of the association `a` names, or `UnknownHandle`.
    pub(crate) fn assoc<T>(&self, a: AssocAt) -> Result<&AssocDef> {
        self.core
            .assoc(a)
            .ok_or_else(|| unknown::<T>("association"))
    }

    /// Runs the checks deferred to the end of the operation (`NoAction` on update).
    pub(crate) fn check_deferred(&mut self) -> Result<()> {
        if self.deferred.is_empty() {
            return Ok(());
        }
        for check in std::mem::take(&mut self.deferred) {
            let def = &self.core.catalog.assocs[check.assoc];
            let Some(target) = self.core.lineage(def.target).cloned() else {
                return Err(internal(check.assoc));
            };
            for child in check.children {
                let child = target.id(child);
                if def.ops.dangles(self.core, def, child) {
                    return Err(Error::Restricted {
                        row: RowRef::new(self.core.table_name(def.source), check.source),
                        association: def.name,
                        blocking_row: RowRef::new(self.core.table_name(def.target), child),
                        change: Change::Update,
                    });
                }
            }
        }
        Ok(())
    }

    /// The value row `id` of table `t` had before this operation first replaced or removed it.
    /// Call after [`check_deferred`](Write::check_deferred): the operation can no longer fail.
    pub(crate) fn take_original<T: Model>(&mut self, t: usize, id: RawId) -> Option<T> {
        self.data_mut::<T>(t).ok()?.take_original(id)
    }

    /// Ends the operation, keeping its changes, once the deferred checks pass. On `Err`, the
    /// `Write` is dropped and undoes everything.
    #[inline(always)]
    pub(crate) fn commit(mut self) -> Result<()> {
        if !self.deferred.is_empty() {
            self.check_deferred()?;
        }
        self.each_touched(|table| table.commit());
        self.done = true;
        Ok(())
    }
}

/// `NotFound` for row `id` of `T`.
#[cold]
pub(crate) fn not_found<T>(
    id: RawId,
    argument: Argument,
    association: Option<&'static str>,
) -> Error {
    Error::NotFound {
        model: model_name::<T>(),
        id: RowRef::of(Id::<T>::from_raw(id)),
        argument,
        association,
    }
}

/// An index from the catalog that names no table or association: a bug in relata, reported
/// as an error rather than a panic.
#[cold]
fn internal(at: usize) -> Error {
    Error::Definition {
        message: format!("relata's catalog and storage disagree at {at}; please report this bug"),
    }
}

/// Table `t`'s data, for a table index taken from the catalog.
#[inline]
fn data_of<T: Model>(core: &Core, t: usize) -> Result<&TableData<T>> {
    core.data(t).ok_or_else(|| internal(t))
}

/// Converts a boxed key for an erased relink.
pub(crate) fn key_from<K: Key>(key: Option<&dyn Any>) -> Option<K> {
    key.and_then(|k| k.downcast_ref::<K>()).cloned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn far_spans_only_the_far_tables_a_write_touched() {
        let mut db = crate::Db::new();
        let mut w = db.core.write();
        w.touch(0);
        assert_eq!(w.far, (usize::MAX, 0), "no far table yet");
        w.touch(299);
        assert_eq!(w.far, (299, 299), "a near table does not widen the range");
        w.touch(5);
        w.touch(70);
        assert_eq!(w.far, (70, 299));
        assert_eq!(w.touched, 1 | 1 << 5 | 1 << 63);
    }
}
