//! Relinks: a foreign key in a row pointed elsewhere in place, with that one index moved
//! (`add`, `remove` and `set` on id-keyed associations), and their undo. Part of the one write
//! path: [`TableData`] still writes the row, and only the index that reads the changed key
//! has anything to follow.

use std::any::Any;

use super::{TableData, Undo};
use crate::Model;
use crate::core::index::{FkIndex, RowIndex};
use crate::core::pvec::Stamp;
use crate::id::RawId;
use crate::key::Key;

/// The foreign-key index at `pos` of `indexes`, as its concrete type (`None` if it is
/// another kind). Takes the list, not the table, so that callers keep the rows borrowed apart.
fn fk_mut<S: Model, T: Model, K: Key>(
    indexes: &mut [Box<dyn RowIndex<T>>],
    pos: usize,
) -> Option<&mut FkIndex<S, T, K>> {
    (&mut **indexes.get_mut(pos)? as &mut dyn Any).downcast_mut()
}

/// What undoes a relink that was not logged (the caller keeps it): the key the row held, and
/// the stamp its slot bore (see [`Undo`]).
#[derive(Clone, Copy, Default)]
pub(in crate::core) struct Unlogged {
    pub(in crate::core) old: Option<RawId>,
    pub(in crate::core) stamp: Stamp,
}

/// What [`TableData::link_by_id`] did.
pub(in crate::core) enum ById {
    /// The key changed; what undoes it, if it was not logged.
    Changed(Unlogged),
    /// Nothing to do: already linked (or, unlinking, not linked to a live source).
    Same,
    /// The child names no live row.
    MissingChild,
    /// No bucket proves the source alive: check the source table, then call again.
    Unproven,
    /// The index is not what the catalog says: a bug, reported as an error.
    Unknown,
}

impl<T: Model> TableData<T> {
    /// Points the foreign key of index `pos` (an [`FkIndex`]) on row `child` at `key`, in place,
    /// and moves the row in that index only: one walk down the rows, one per bucket, if the key
    /// the row holds passes `holds`. For associations whose key no other index reads (see
    /// `AssocDef::relink_fast`); the caller has checked the key. `None` if `child` names no live
    /// row; `Some(false)` if nothing changed (it already held `key`, or `holds` refused).
    /// Logged unless `logged` is false, when the caller keeps what
    /// [`unrelink`](Self::unrelink) needs, returned in `undo`.
    #[inline]
    pub(in crate::core) fn relink_where<S: Model, K: Key>(
        &mut self,
        pos: usize,
        child: RawId,
        key: Option<K>,
        logged: bool,
        undo: &mut Unlogged,
        holds: impl FnOnce(Option<&K>) -> bool,
    ) -> Option<bool> {
        let TableData { rows, indexes, log } = self;
        // First: copying storage a snapshot shares runs `Clone`, before anything changes.
        let entry = rows.row_mut(child)?;
        let index = fk_mut::<S, T, K>(indexes, pos)?;
        let fk = index.foreign_key();
        let held = fk.get(entry.get());
        if held == key.as_ref() || !holds(held) {
            // Nothing written: the row is not marked (a diff must not list it).
            return Some(false);
        }
        let previous = held.cloned();
        let (row, stamp) = entry.into_mut();
        if !fk.set(row, key.clone()) {
            return Some(false);
        }
        *undo = Unlogged {
            old: previous.as_ref().and_then(Key::__raw),
            stamp,
        };
        if logged {
            log.push(Undo::Relinked {
                id: child,
                index: pos,
                stamp,
            });
            index.save_key(previous.clone());
        }
        index.relink(child.member(), previous.as_ref(), key.as_ref(), logged);
        Some(true)
    }

    /// Links row `child` to source row `source` through the id-keyed foreign key of index
    /// `pos`, or unlinks it from `source` (`link: false`): the whole of `add` and `remove` in the
    /// common case (see `AssocDef::link_by_id`), in one walk down the rows and one per bucket.
    /// A bucket stamped with `source` proves it alive; without one the caller must check the
    /// source table and call again with `proven`. Logged unless `logged` is false (see
    /// [`relink_where`](Self::relink_where)).
    #[inline(always)]
    pub(in crate::core) fn link_by_id<S: Model, K: Key>(
        &mut self,
        pos: usize,
        child: RawId,
        source: RawId,
        link: bool,
        proven: bool,
        logged: bool,
    ) -> ById {
        self.link_all_by_id::<S, K>(pos, &[child], source, link, proven, logged, &mut 0)
    }

    /// [`link_by_id`](Self::link_by_id) for each of `children` in turn (logged if more than
    /// one), with one lookup of the index. Stops at the first that is not `Changed` or `Same`
    /// and returns it (`changed` counts those changed before); `Same` if all went through.
    #[expect(
        clippy::too_many_arguments,
        reason = "the write path's arguments, passed through"
    )]
    #[inline(always)]
    pub(in crate::core) fn link_all_by_id<S: Model, K: Key>(
        &mut self,
        pos: usize,
        children: &[RawId],
        source: RawId,
        link: bool,
        proven: bool,
        logged: bool,
        changed: &mut usize,
    ) -> ById {
        let TableData { rows, indexes, log } = self;
        let Some(index) = fk_mut::<S, T, K>(indexes, pos) else {
            return ById::Unknown;
        };
        let Some(key) = K::__from_raw(source) else {
            return ById::Unknown;
        };
        let mut alive = proven || index.bucket(&key).is_some();
        let logged = logged || children.len() > 1;
        let mut last = ById::Same;
        for &child in children {
            if link && !alive {
                return ById::Unproven;
            }
            // Copying storage a snapshot shares runs `Clone`, before this row changes.
            let Some(entry) = rows.row_mut(child) else {
                return ById::MissingChild;
            };
            let fk = index.foreign_key();
            let held = fk.get(entry.get()).and_then(Key::__raw);
            // A row holding the source's key proves it alive.
            alive |= held == Some(source);
            let new = if link {
                if held == Some(source) {
                    continue;
                }
                Some(key.clone())
            } else {
                if held != Some(source) {
                    if alive {
                        continue;
                    }
                    return ById::Unproven;
                }
                None
            };
            let old = held.and_then(K::__from_raw);
            // Only now is the row written (and marked: a call that changes nothing leaves
            // nothing for a diff).
            let (row, stamp) = entry.into_mut();
            if !fk.set(row, new.clone()) {
                return ById::Unknown;
            }
            if logged {
                log.push(Undo::Relinked {
                    id: child,
                    index: pos,
                    stamp,
                });
                index.save_key(old.clone());
            }
            index.relink(child.member(), old.as_ref(), new.as_ref(), logged);
            alive |= link;
            *changed += 1;
            last = ById::Changed(Unlogged { old: held, stamp });
        }
        if children.len() == 1 {
            last
        } else {
            ById::Same
        }
    }

    /// Empties source row `source`'s bucket in the id-keyed foreign-key index at `pos`, logged
    /// (see `FkIndex::drop_bucket`). False if there is no such index.
    pub(in crate::core) fn drop_bucket<S: Model, K: Key>(
        &mut self,
        pos: usize,
        source: RawId,
    ) -> bool {
        let Some(index) = fk_mut::<S, T, K>(&mut self.indexes, pos) else {
            return false;
        };
        index.drop_bucket(source);
        self.log.push(Undo::Indexed);
        true
    }

    /// Undoes an unlogged [`relink_where`](Self::relink_where) of row `child` (id keys):
    /// its key back to the old one, its slot's stamp back, and the row back in the old key's
    /// bucket.
    pub(in crate::core) fn unrelink<S: Model, K: Key>(
        &mut self,
        pos: usize,
        child: RawId,
        undo: Unlogged,
    ) {
        let TableData { rows, indexes, .. } = self;
        let (Some(row), Some(index)) = (rows.get_mut(child), fk_mut::<S, T, K>(indexes, pos))
        else {
            return;
        };
        let fk = index.foreign_key();
        let now = fk.get(row).cloned();
        let before = undo.old.and_then(K::__from_raw);
        if fk.set(row, before.clone()) {
            index.relink(child.member(), now.as_ref(), before.as_ref(), false);
            rows.restamp(child, undo.stamp);
        }
    }

    /// Logs an unlogged [`relink_where`](Self::relink_where) of row `child` after the
    /// fact, as if it had been logged: the operation goes on with more changes.
    pub(in crate::core) fn log_relink<S: Model, K: Key>(
        &mut self,
        pos: usize,
        child: RawId,
        undo: Unlogged,
    ) {
        let TableData { rows, indexes, log } = self;
        let (Some(row), Some(index)) = (rows.get(child), fk_mut::<S, T, K>(indexes, pos)) else {
            return;
        };
        let now = index.foreign_key().get(row).cloned();
        let old = undo.old.and_then(K::__from_raw);
        log.push(Undo::Relinked {
            id: child,
            index: pos,
            stamp: undo.stamp,
        });
        index.save_key(old.clone());
        index.log_relink(child.member(), old, now);
    }
}
