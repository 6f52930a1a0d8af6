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

use std::any::Any;

use triomphe::Arc;

use super::cascade::{self, Deletion, Plan};
use super::catalog::AssocDef;
use super::declare::unknown;
use super::index::FkIndex;
use super::table::{ById, ErasedTable, TableData};
use super::{AssocAt, Core};
use crate::Model;
use crate::assoc::OnUpdate;
use crate::error::{Argument, Change, Error, Result};
use crate::id::{Id, Member, RawId, RowRef, model_name};
use crate::key::{ForeignKey, Key};

/// A check made when the operation ends: `NoAction` on update, which lets the same operation
/// repair what the change broke.
struct Deferred {
    assoc: usize,
    source: RawId,
    children: Vec<Member>,
}

/// What the write path needs of an association to point one of its rows at a key, copied out
/// of the catalog so that the path can then borrow the database mutably.
struct Target<T, K> {
    name: &'static str,
    table: usize,
    pos: usize,
    fast: bool,
    by_id: bool,
    fk: ForeignKey<T, K>,
}

impl<T: Model, K: Key> Target<T, K> {
    #[inline]
    fn new<S: Model>(def: &AssocDef, index: &FkIndex<S, T, K>) -> Self {
        Target {
            name: def.name,
            table: def.target,
            pos: def.index,
            fast: def.relink_fast,
            by_id: index.by_id(),
            fk: index.foreign_key(),
        }
    }
}

/// The first change of an operation, when it is a fast relink of an id key: kept here instead
/// of in the logs, so that an operation made of that one change (`add`, `remove`) logs nothing.
/// Written to the logs ([`Write::spill`]) as soon as a second change begins.
struct Pending {
    table: usize,
    pos: usize,
    child: RawId,
    /// The key the row held before.
    old: Option<RawId>,
    undo: fn(&mut dyn ErasedTable, &Pending),
    spill: fn(&mut dyn ErasedTable, &Pending),
}

fn undo_pending<S: Model, T: Model, K: Key>(table: &mut dyn ErasedTable, p: &Pending) {
    if let Some(data) = (table as &mut dyn Any).downcast_mut::<TableData<T>>() {
        data.unrelink::<S, K>(p.pos, p.child, p.old);
    }
}

fn spill_pending<S: Model, T: Model, K: Key>(table: &mut dyn ErasedTable, p: &Pending) {
    if let Some(data) = (table as &mut dyn Any).downcast_mut::<TableData<T>>() {
        data.log_relink::<S, K>(p.pos, p.child, p.old);
    }
}

/// One atomic operation on a database. See the module docs.
pub(crate) struct Write<'a> {
    core: &'a mut Core,
    /// Bit `t`: table `t` has logged changes (tables 64 and up share the last bit).
    touched: u64,
    pending: Option<Pending>,
    deferred: Vec<Deferred>,
    done: bool,
}

impl Drop for Write<'_> {
    #[inline]
    fn drop(&mut self) {
        if !self.done {
            if let Some(p) = self.pending.take()
                && let Some(table) = Arc::make_mut(&mut self.core.tables).get_mut(p.table)
            {
                (p.undo)(&mut **table, &p);
            }
            self.each_touched(|table| table.rollback());
        }
    }
}

impl<'a> Write<'a> {
    #[inline]
    pub(super) fn new(core: &'a mut Core) -> Self {
        Write {
            core,
            touched: 0,
            pending: None,
            deferred: Vec::new(),
            done: false,
        }
    }

    /// The state as the operation has left it so far.
    #[inline]
    pub(crate) fn core(&self) -> &Core {
        self.core
    }

    #[inline]
    fn each_touched(&mut self, mut f: impl FnMut(&mut dyn ErasedTable)) {
        let mut bits = self.touched;
        if bits == 0 {
            return;
        }
        let tables = Arc::make_mut(&mut self.core.tables);
        while bits != 0 {
            let t = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            if t < 63 {
                if let Some(table) = tables.get_mut(t) {
                    f(&mut **table);
                }
            } else {
                // The last bit stands for every table from 63 on.
                for table in tables.iter_mut().skip(63).filter(|t| t.changed()) {
                    f(&mut **table);
                }
            }
        }
    }

    /// Writes a pending first change to the logs: another change is about to begin.
    #[inline]
    fn spill(&mut self) {
        if let Some(p) = self.pending.take() {
            self.touched |= 1 << p.table.min(63);
            if let Some(table) = Arc::make_mut(&mut self.core.tables).get_mut(p.table) {
                (p.spill)(&mut **table, &p);
            }
        }
    }

    /// Table `t`'s data, writable (copying what a fork shares), marked as changed. Every
    /// logged change starts here.
    #[inline]
    fn data_mut<T: Model>(&mut self, t: usize) -> Result<&mut TableData<T>> {
        self.spill();
        self.touched |= 1 << t.min(63);
        self.unlogged_mut(t)
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

    /// Applies a fast relink of `target`'s key on `child`: unlogged and kept as the pending
    /// first change when it is one (id keys only), logged otherwise.
    #[inline]
    fn relink_fast<S: Model, T: Model, K: Key>(
        &mut self,
        target: &Target<T, K>,
        child: RawId,
        key: Option<K>,
        holds: impl FnOnce(Option<&K>) -> bool,
    ) -> Result<Option<bool>> {
        let mut old = None;
        if target.by_id && self.first_change() {
            let changed = self
                .unlogged_mut::<T>(target.table)?
                .relink_where::<S, K>(target.pos, child, key, false, &mut old, holds);
            if changed == Some(true) {
                self.pending = Some(Pending {
                    table: target.table,
                    pos: target.pos,
                    child,
                    old,
                    undo: undo_pending::<S, T, K>,
                    spill: spill_pending::<S, T, K>,
                });
            }
            return Ok(changed);
        }
        Ok(self
            .data_mut::<T>(target.table)?
            .relink_where::<S, K>(target.pos, child, key, true, &mut old, holds))
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
            let Some(change) = def.ops.key_change(core, def, old, &row) else {
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
            let def = &self.core.catalog.assocs[a];
            let ops = def.ops;
            let target = self
                .core
                .lineage(def.target)
                .ok_or_else(|| internal(a))?
                .clone();
            let at = AssocAt {
                index: a,
                decl: def.decl,
            };
            for child in children {
                ops.relink(self, at, target.id(child), key.as_deref())?;
            }
        }
        Ok(())
    }

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
            let picked: Vec<(RawId, T)> = data_of::<T>(self.core, t)?
                .rows()
                .iter()
                .filter(|&(id, row)| pick(id, row))
                .map(|(id, row)| {
                    let mut new = row.clone();
                    change(&mut new);
                    (id, new)
                })
                .collect();
            let changed = picked.len();
            for (id, new) in picked {
                self.replace(t, id, new)?;
            }
            return Ok(changed);
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
            let data = data_of::<T>(self.core, t)?;
            let picked: Vec<(RawId, T)> = ids
                .iter()
                .filter_map(|&id| {
                    let mut new = data.rows().get(id)?.clone();
                    change(&mut new);
                    Some((id, new))
                })
                .collect();
            let changed = picked.len();
            for (id, new) in picked {
                self.replace(t, id, new)?;
            }
            return Ok(changed);
        }
        let (changed, moved) = self.data_mut::<T>(t)?.modify_listed(ids, &mut change);
        self.check_moved::<T>(t, moved)?;
        Ok(changed)
    }

    /// Whether an association uses a key of table `t` as its source key (then changing a row
    /// may call for on-update actions).
    fn keyed_source(&self, t: usize) -> bool {
        let catalog = &self.core.catalog;
        catalog.tables[t]
            .refs
            .iter()
            .any(|&a| catalog.assocs[a].source_key.is_some())
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

    /// Points the foreign key of association `a` on row `child` at `key` (or null): the
    /// relink of the on-update and on-delete actions, and of methods that set a key. Returns
    /// false if the row already held `key`. Checks that the key resolves and, for has-one, that
    /// it is free; see [`point`](Write::point) for the rest.
    #[inline]
    pub(crate) fn relink<S: Model, T: Model, K: Key>(
        &mut self,
        a: AssocAt,
        child: RawId,
        key: Option<K>,
    ) -> Result<bool> {
        let (def, index) = fk_of::<S, T, K>(self.core, a)?;
        let target = Target::new(def, index);
        if let Some(key) = &key
            && let Err(error) = index.check_key(self.core, Some(child), key)
        {
            return Err(self.argument_first(&target, child, error));
        }
        self.point::<S, T, K>(target, child, key)
    }

    /// Links row `child` to source row `source` through association `a`, moving it away from
    /// any other source (the association methods' `add`). Returns false if it was linked to
    /// `source` already. `NotFound` for `source` (checked first), then for `child`.
    #[inline(always)]
    pub(crate) fn link<S: Model, T: Model, K: Key>(
        &mut self,
        a: AssocAt,
        child: RawId,
        source: RawId,
    ) -> Result<bool> {
        if self.core.assoc(a).is_some_and(|def| def.link_by_id) {
            return self.by_id::<S, T, K>(a, child, source, true);
        }
        let (def, index) = fk_of::<S, T, K>(self.core, a)?;
        // For id keys, a bucket for `source` proves it alive: one lookup in the index.
        let key = index
            .key_of(self.core, source)
            .ok_or_else(|| not_found::<S>(source, Argument::Source, Some(def.name)))?;
        let target = Target::new(def, index);
        if let Err(error) = index.check_unique(Some(child), &key) {
            return Err(self.argument_first(&target, child, error));
        }
        self.point::<S, T, K>(target, child, Some(key))
    }

    /// Nulls the foreign key of row `child` through association `a` if it holds source row
    /// `source`'s key (the association methods' `remove`, for nullable keys). Returns whether
    /// it did. `NotFound` for `source` (checked first), then for `child`.
    #[inline(always)]
    pub(crate) fn unlink<S: Model, T: Model, K: Key>(
        &mut self,
        a: AssocAt,
        child: RawId,
        source: RawId,
    ) -> Result<bool> {
        if self
            .core
            .assoc(a)
            .is_some_and(|def| def.link_by_id && def.nullable)
        {
            return self.by_id::<S, T, K>(a, child, source, false);
        }
        let (def, index) = fk_of::<S, T, K>(self.core, a)?;
        let target = Target::new(def, index);
        if target.fast && index.by_id() && def.nullable {
            // One walk down the rows: a key that names `source` proves it alive.
            let unlinked = self.relink_fast::<S, T, K>(&target, child, None, |held| {
                held.and_then(Key::__raw) == Some(source)
            })?;
            if unlinked == Some(true) {
                return Ok(true);
            }
            let (_, index) = fk_of::<S, T, K>(self.core, a)?;
            if index.key_of(self.core, source).is_none() {
                return Err(not_found::<S>(source, Argument::Source, Some(target.name)));
            }
            return match unlinked {
                Some(_) => Ok(false),
                None => Err(not_found::<T>(child, Argument::Target, Some(target.name))),
            };
        }
        let key = index
            .key_of(self.core, source)
            .ok_or_else(|| not_found::<S>(source, Argument::Source, Some(target.name)))?;
        let held = data_of::<T>(self.core, target.table)?
            .rows()
            .get(child)
            .ok_or_else(|| not_found::<T>(child, Argument::Target, Some(target.name)))?;
        if target.fk.get(held) != Some(&key) {
            return Ok(false);
        }
        self.point::<S, T, K>(target, child, None)
    }

    /// [`link`](Write::link) (`link: true`) or [`unlink`](Write::unlink) for an association
    /// whose `link_by_id` holds: [`TableData::link_by_id`], with the source table read only when
    /// no bucket proves the source alive.
    #[inline(always)]
    fn by_id<S: Model, T: Model, K: Key>(
        &mut self,
        a: AssocAt,
        child: RawId,
        source: RawId,
        link: bool,
    ) -> Result<bool> {
        let def = self
            .core
            .assoc(a)
            .ok_or_else(|| unknown::<T>("association"))?;
        let (t, pos, sources, name) = (def.target, def.index, def.source, def.name);
        let mut proven = false;
        loop {
            let logged = !self.first_change();
            let data = if logged {
                self.data_mut::<T>(t)?
            } else {
                self.unlogged_mut::<T>(t)?
            };
            match data.link_by_id::<S, K>(pos, child, source, link, proven, logged) {
                ById::Changed(old) => {
                    if !logged {
                        self.pending = Some(Pending {
                            table: t,
                            pos,
                            child,
                            old,
                            undo: undo_pending::<S, T, K>,
                            spill: spill_pending::<S, T, K>,
                        });
                    }
                    return Ok(true);
                }
                ById::Same => return Ok(false),
                ById::Unknown => return Err(internal(t)),
                ById::MissingChild | ById::Unproven if !self.source_alive::<S>(sources, source) => {
                    return Err(not_found::<S>(source, Argument::Source, Some(name)));
                }
                ById::MissingChild => {
                    return Err(not_found::<T>(child, Argument::Target, Some(name)));
                }
                ById::Unproven if !link || proven => return Ok(false),
                ById::Unproven => proven = true,
            }
        }
    }

    /// [`link`](Write::link) (`link: true`) or [`unlink`](Write::unlink) of every row of
    /// `children`, in order, with one lookup of the table and index when the association's
    /// `link_by_id` holds. Returns how many rows changed.
    pub(crate) fn link_all<S: Model, T: Model, K: Key>(
        &mut self,
        a: AssocAt,
        children: &[RawId],
        source: RawId,
        link: bool,
    ) -> Result<usize> {
        let def = self
            .core
            .assoc(a)
            .ok_or_else(|| unknown::<T>("association"))?;
        if !(def.link_by_id && (link || def.nullable)) || children.len() < 2 {
            let mut changed = 0;
            for &child in children {
                let done = if link {
                    self.link::<S, T, K>(a, child, source)?
                } else {
                    self.unlink::<S, T, K>(a, child, source)?
                };
                changed += usize::from(done);
            }
            return Ok(changed);
        }
        let (t, pos, sources, name) = (def.target, def.index, def.source, def.name);
        let mut proven = false;
        loop {
            let mut changed = 0;
            let outcome = self.data_mut::<T>(t)?.link_all_by_id::<S, K>(
                pos,
                children,
                source,
                link,
                proven,
                true,
                &mut changed,
            );
            match outcome {
                ById::Same | ById::Changed(_) => return Ok(changed),
                ById::Unknown => return Err(internal(t)),
                ById::MissingChild | ById::Unproven if !self.source_alive::<S>(sources, source) => {
                    return Err(not_found::<S>(source, Argument::Source, Some(name)));
                }
                ById::MissingChild => {
                    let missing = children.iter().find(|&&c| !self.core.contains(t, c));
                    let missing = missing.copied().unwrap_or(source);
                    return Err(not_found::<T>(missing, Argument::Target, Some(name)));
                }
                // Nothing changed before a row asked for the proof: go again with it.
                ById::Unproven if !proven && changed == 0 => proven = true,
                ById::Unproven => return Err(internal(t)),
            }
        }
    }

    /// Whether `source` names a live row of table `sources`.
    #[cold]
    fn source_alive<S: Model>(&self, sources: usize, source: RawId) -> bool {
        self.core
            .data::<S>(sources)
            .is_some_and(|d| d.rows().contains(source))
    }

    /// `error`, unless `child` names no row: an argument naming no row wins over every other
    /// error.
    #[cold]
    fn argument_first<T: Model, K>(
        &self,
        target: &Target<T, K>,
        child: RawId,
        error: Error,
    ) -> Error {
        match self.core.data::<T>(target.table) {
            Some(data) if !data.rows().contains(child) => {
                not_found::<T>(child, Argument::Target, Some(target.name))
            }
            _ => error,
        }
    }

    /// Points row `child`'s key at `key`, which the caller has checked (it resolves and, for
    /// has-one, is free). Checks that the key may be null. When no other index of the table
    /// reads the key's field, writes it in place and moves the row in this index only;
    /// otherwise takes [`replace`](Write::replace) with a copy of the row, which keeps every
    /// index in step.
    #[inline(always)]
    fn point<S: Model, T: Model, K: Key>(
        &mut self,
        target: Target<T, K>,
        child: RawId,
        key: Option<K>,
    ) -> Result<bool> {
        if key.is_none() && !target.fk.is_nullable() {
            return Err(self.not_nullable(&target, child));
        }
        if target.fast {
            match self.relink_fast::<S, T, K>(&target, child, key, |_| true)? {
                Some(changed) => Ok(changed),
                None => Err(not_found::<T>(child, Argument::Target, Some(target.name))),
            }
        } else {
            self.point_by_replace::<T, K>(target, child, key)
        }
    }

    /// The `Validation` error for nulling `child`'s non-null key (or `NotFound` for it).
    #[cold]
    fn not_nullable<T: Model, K: Key>(&self, target: &Target<T, K>, child: RawId) -> Error {
        let error = Error::Validation {
            model: model_name::<T>(),
            field: target.fk.name(),
            row: RowRef::new(model_name::<T>(), child),
            association: target.name,
        };
        self.argument_first(target, child, error)
    }

    /// [`point`](Write::point) for a key other indexes may read: [`replace`](Write::replace) with
    /// a copy of the row.
    #[inline(never)]
    fn point_by_replace<T: Model, K: Key>(
        &mut self,
        target: Target<T, K>,
        child: RawId,
        key: Option<K>,
    ) -> Result<bool> {
        let fk = target.fk;
        let row = data_of::<T>(self.core, target.table)?
            .rows()
            .get(child)
            .ok_or_else(|| not_found::<T>(child, Argument::Target, Some(target.name)))?;
        if fk.get(row) == key.as_ref() {
            return Ok(false);
        }
        let mut new = row.clone();
        fk.set(&mut new, key);
        self.replace(target.table, child, new)?;
        Ok(true)
    }

    /// Plans the delete of `roots` and of everything their on-delete actions reach. Reads only.
    pub(crate) fn plan_delete(&self, roots: &[(usize, RawId)]) -> Result<Plan> {
        cascade::plan(self.core, roots)
    }

    /// Applies a plan made by [`plan_delete`](Write::plan_delete) on this, unchanged, state:
    /// nulls first, then deletes in plan order, each through this path.
    pub(crate) fn apply_delete(&mut self, plan: Plan) -> Result<Deletion> {
        for &(a, child) in plan.nulls() {
            let def = &self.core.catalog.assocs[a];
            let (ops, at) = (
                def.ops,
                AssocAt {
                    index: a,
                    decl: def.decl,
                },
            );
            ops.relink(self, at, child, None)?;
        }
        self.spill();
        for &(t, id) in plan.deletes() {
            self.touched |= 1 << t.min(63);
            let tables = Arc::make_mut(&mut self.core.tables);
            let removed = tables.get_mut(t).is_some_and(|table| table.remove(id));
            if !removed {
                return Err(internal(t));
            }
        }
        Ok(plan.into_deletion(self.core))
    }

    /// Deletes `roots` with their on-delete actions: [`plan_delete`](Write::plan_delete), then
    /// [`apply_delete`](Write::apply_delete).
    pub(crate) fn delete(&mut self, roots: &[(usize, RawId)]) -> Result<Deletion> {
        let plan = self.plan_delete(roots)?;
        self.apply_delete(plan)
    }

    /// The definition of the association `a` names, or `UnknownHandle`.
    pub(crate) fn assoc<T>(&self, a: AssocAt) -> Result<&AssocDef> {
        self.core
            .assoc(a)
            .ok_or_else(|| unknown::<T>("association"))
    }

    /// Makes this database's rows what `after`'s are wherever `before` and `after` differ: a
    /// change set of this lineage, applied here. Every table must be one this database declared
    /// (the same catalog entries). Rows are stored with their ids; afterwards every stored row
    /// is checked against its table's indexes, and no row may still reference a removed one.
    /// O(changes) when `before` and `after` share storage.
    pub(crate) fn apply_changes(&mut self, before: &Core, after: &Core) -> Result<usize> {
        let tables = self.core.catalog.tables.len();
        let same = |core: &Core| {
            core.catalog.tables.len() == tables
                && core
                    .catalog
                    .tables
                    .iter()
                    .zip(&self.core.catalog.tables)
                    .all(|(a, b)| a.decl == b.decl)
        };
        if !same(before) || !same(after) {
            return Err(Error::UnknownHandle {
                handle: "a change set of another database (its tables differ)".into(),
            });
        }
        let mut changed = 0;
        let mut touched = Vec::new();
        for t in 0..tables {
            let (Some(b), Some(a)) = (before.tables.get(t), after.tables.get(t)) else {
                continue;
            };
            self.spill();
            self.touched |= 1 << t.min(63);
            let target = Arc::make_mut(&mut self.core.tables)
                .get_mut(t)
                .ok_or_else(|| internal(t))?;
            match target.patch_from(&**b, &**a) {
                Some(Ok((stored, removed))) => {
                    changed += stored.len() + removed.len();
                    touched.push((t, stored, removed));
                }
                Some(Err(id)) => {
                    return Err(Error::Mismatch {
                        row: RowRef::new(self.core.table_name(t), id),
                    });
                }
                None => return Err(internal(t)),
            }
        }
        for (t, stored, removed) in touched {
            let table = self.core.tables.get(t).ok_or_else(|| internal(t))?;
            table.check_rows(self.core, &stored)?;
            for id in removed {
                for &a in &self.core.catalog.tables[t].refs {
                    let def = &self.core.catalog.assocs[a];
                    if let Some(child) = def.ops.children(self.core, def, id).next() {
                        let child = self
                            .core
                            .id_in(def.target, child)
                            .ok_or_else(|| internal(t))?;
                        return Err(Error::Restricted {
                            row: RowRef::new(self.core.table_name(t), id),
                            association: def.name,
                            blocking_row: RowRef::new(self.core.table_name(def.target), child),
                            change: Change::Delete,
                        });
                    }
                }
            }
        }
        Ok(changed)
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

/// The definition and index of the association `a` names, or `UnknownHandle`.
#[inline]
fn fk_of<S: Model, T: Model, K: Key>(
    core: &Core,
    a: AssocAt,
) -> Result<(&AssocDef, &FkIndex<S, T, K>)> {
    let def = core.assoc(a).ok_or_else(|| unknown::<T>("association"))?;
    let index = data_of::<T>(core, def.target)?
        .index(def.index)
        .ok_or_else(|| unknown::<T>("association"))?;
    Ok((def, index))
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
