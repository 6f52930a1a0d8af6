//! Relinks: every change that points a row's foreign key elsewhere (`relink`, `link`,
//! `unlink`, `link_all`), with the fast paths that write the key in place. See the parent
//! module's docs.

use std::any::Any;

use super::{Pending, Write, data_of, internal, not_found};
use crate::Model;
use crate::core::catalog::AssocDef;
use crate::core::declare::unknown;
use crate::core::index::FkIndex;
use crate::core::table::{ById, ErasedTable, TableData, Unlogged};
use crate::core::{AssocAt, Core};
use crate::error::{Argument, Error, Result};
use crate::id::{RawId, RowRef, model_name};
use crate::key::{ForeignKey, Key};

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

fn undo_pending<S: Model, T: Model, K: Key>(table: &mut dyn ErasedTable, p: &Pending) {
    if let Some(data) = (table as &mut dyn Any).downcast_mut::<TableData<T>>() {
        data.unrelink::<S, K>(p.pos as usize, p.child, p.unlogged);
    }
}

fn spill_pending<S: Model, T: Model, K: Key>(table: &mut dyn ErasedTable, p: &Pending) {
    if let Some(data) = (table as &mut dyn Any).downcast_mut::<TableData<T>>() {
        data.log_relink::<S, K>(p.pos as usize, p.child, p.unlogged);
    }
}

impl Write<'_> {
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
        let mut unlogged = Unlogged::default();
        if target.by_id && self.first_change() {
            let changed = self.unlogged_mut::<T>(target.table)?.relink_where::<S, K>(
                target.pos,
                child,
                key,
                false,
                &mut unlogged,
                holds,
            );
            if changed == Some(true) {
                self.pending = Some(Pending {
                    table: target.table as u32,
                    pos: target.pos as u32,
                    child,
                    unlogged,
                    undo: undo_pending::<S, T, K>,
                    spill: spill_pending::<S, T, K>,
                });
            }
            return Ok(changed);
        }
        Ok(self.data_mut::<T>(target.table)?.relink_where::<S, K>(
            target.pos,
            child,
            key,
            true,
            &mut unlogged,
            holds,
        ))
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
            return self.by_id::<S, T, K>(a, child, source, true, false);
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
            return self.by_id::<S, T, K>(a, child, source, false, false);
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

    /// [`link`](Write::link) (`link: true`) or [`unlink`](Write::unlink) as a whole operation,
    /// committed: the association methods' `add` and `remove`. Nothing follows the change, so
    /// the fast path records no pending change to undo.
    #[inline(always)]
    pub(crate) fn relink_and_commit<S: Model, T: Model, K: Key>(
        mut self,
        a: AssocAt,
        child: RawId,
        source: RawId,
        link: bool,
    ) -> Result<bool> {
        let fast = self
            .core
            .assoc(a)
            .is_some_and(|def| def.link_by_id && (link || def.nullable));
        let changed = match (fast, link) {
            (true, _) => self.by_id::<S, T, K>(a, child, source, link, true)?,
            (false, true) => self.link::<S, T, K>(a, child, source)?,
            (false, false) => self.unlink::<S, T, K>(a, child, source)?,
        };
        self.commit()?;
        Ok(changed)
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
        last: bool,
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
                ById::Changed(unlogged) => {
                    // The last change of an operation that commits next needs no undo.
                    if !logged && !last {
                        self.pending = Some(Pending {
                            table: t as u32,
                            pos: pos as u32,
                            child,
                            unlogged,
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
