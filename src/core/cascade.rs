//! Referential actions: delete plans, and the typed operations the write path needs of an
//! association it only knows by number ([`AssocOps`]).
//!
//! A delete is planned before anything changes: starting from the rows asked for, the plan
//! walks every association whose source is a deleted row's table, in declaration order, and
//! its children in creation order (breadth first). `Cascade` children join the delete set
//! (each row at most once, so cycles terminate), `SetNull` children are recorded for nulling.
//! `Restrict` refuses at once if the deleted row has a child that was not itself asked to be
//! deleted, even when the same cascade would delete that child too (SQL's immediate check);
//! `NoAction` children are checked at the end: one the plan does not delete fails the plan.
//! The write path then applies the plan through its own methods.

use std::any::Any;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::marker::PhantomData;

use super::bucket::{Bucket, BucketIter};
use super::catalog::AssocDef;
use super::index::{FkIndex, KeyIndex};
use super::write::{Write, key_from};
use super::{AssocAt, Core, TableAt};
use crate::Model;
use crate::assoc::OnDelete;
use crate::error::{Change, Error, Result};
use crate::id::{Marker, Member, RawId, RowRef};
use crate::key::Key;

/// What the write path needs of an association whose types it does not know. Implemented once
/// per association type by [`Ops`], reached through the catalog.
pub(crate) trait AssocOps: Send + Sync {
    /// The rows linked to source row `source`, in creation order.
    fn children<'a>(&self, core: &'a Core, def: &AssocDef, source: RawId) -> BucketIter<'a>;
    /// If the source key differs between source row `id`'s values `old` and `new` and rows are
    /// linked to the old one once `id` holds `new`: those rows, and the new key (`None` if the
    /// new row has none). In a self-reference the row is one of them exactly when `new` itself
    /// holds the old key: the on-update action applies to it as to any other row linked to
    /// that key, and not to a row `new` moves away from it.
    fn key_change(
        &self,
        core: &Core,
        def: &AssocDef,
        id: RawId,
        old: &dyn Any,
        new: &dyn Any,
    ) -> Option<KeyChange>;
    /// [`Write::relink`] with a boxed key.
    fn relink(
        &self,
        w: &mut Write<'_>,
        assoc: AssocAt,
        child: RawId,
        key: Option<&dyn Any>,
    ) -> Result<bool>;
    /// Whether row `child`'s key references no live row.
    fn dangles(&self, core: &Core, def: &AssocDef, child: RawId) -> bool;
    /// For a key by attribute: a target row holding a key that source rows `sources` held in
    /// `old` and no source row holds in `core`, as (that source, the target row, the key).
    /// O(sources · log n).
    fn dangling_from(
        &self,
        core: &Core,
        old: &Core,
        def: &AssocDef,
        sources: &[RawId],
    ) -> Option<(RawId, RawId, String)>;
    /// [`Write::drop_children`]: empties source row `source`'s bucket at once.
    fn drop_children(&self, w: &mut Write<'_>, assoc: AssocAt, source: RawId) -> Result<()>;
    /// Row `child`'s key, as `Debug` shows it (`Some("null")` for a null key); `None` if there
    /// is no such row.
    fn show_key(&self, core: &Core, def: &AssocDef, child: RawId) -> Option<String>;
}

/// A source key change: the rows that held the old key, and the new key.
pub(crate) struct KeyChange {
    pub(crate) children: Vec<Member>,
    pub(crate) new_key: Option<Box<dyn Any>>,
}

/// The [`AssocOps`] of associations from `S` to `T` through keys of type `K`.
pub(crate) struct Ops<S, T, K>(Marker<(S, T, K)>);

impl<S: Model, T: Model, K: Key> Ops<S, T, K> {
    pub(crate) const VTABLE: &'static dyn AssocOps = &Ops::<S, T, K>(PhantomData);

    fn index<'a>(core: &'a Core, def: &AssocDef) -> Option<&'a FkIndex<S, T, K>> {
        core.data::<T>(def.target)?.index(def.index)
    }
}

impl<S: Model, T: Model, K: Key> AssocOps for Ops<S, T, K> {
    fn children<'a>(&self, core: &'a Core, def: &AssocDef, source: RawId) -> BucketIter<'a> {
        let bucket = Self::index(core, def).and_then(|index| {
            let key = match index.id_key(source) {
                Some(key) => Some(key),
                None => index.key_of(core, source),
            };
            key.and_then(|k| index.bucket(&k))
        });
        bucket.map_or_else(|| Bucket::Empty.iter(), Bucket::iter)
    }

    fn key_change(
        &self,
        core: &Core,
        def: &AssocDef,
        id: RawId,
        old: &dyn Any,
        new: &dyn Any,
    ) -> Option<KeyChange> {
        let (old, new) = (old.downcast_ref::<S>()?, new.downcast_ref::<S>()?);
        let keys = core
            .data::<S>(def.source)?
            .index::<KeyIndex<S, K>>(def.source_key?)?;
        let (old_key, new_key) = (keys.key_of(old)?, keys.key_of(new));
        if new_key.as_deref() == Some(&*old_key) {
            return None;
        }
        let index = Self::index(core, def)?;
        let mut children: Vec<Member> = index
            .bucket(&old_key)
            .map_or_else(Vec::new, |b| b.iter().collect());
        if def.source == def.target {
            // The bucket lists the row by its old value; what counts is the new one.
            let member = id.member();
            children.retain(|&m| m != member);
            let row = (new as &dyn Any).downcast_ref::<T>();
            if row.and_then(|row| index.fk.get(row)) == Some(&*old_key) {
                children.push(member);
            }
        }
        if children.is_empty() {
            return None;
        }
        Some(KeyChange {
            children,
            new_key: new_key.map(|k| Box::new(k.into_owned()) as Box<dyn Any>),
        })
    }

    fn relink(
        &self,
        w: &mut Write<'_>,
        assoc: AssocAt,
        child: RawId,
        key: Option<&dyn Any>,
    ) -> Result<bool> {
        w.relink::<S, T, K>(assoc, child, key_from::<K>(key))
    }

    fn drop_children(&self, w: &mut Write<'_>, assoc: AssocAt, source: RawId) -> Result<()> {
        w.drop_children::<S, T, K>(assoc, source)
    }

    fn dangles(&self, core: &Core, def: &AssocDef, child: RawId) -> bool {
        let Some(index) = Self::index(core, def) else {
            return false;
        };
        let Some(row) = core.data::<T>(def.target).and_then(|d| d.rows().get(child)) else {
            return false;
        };
        index
            .foreign_key()
            .get(row)
            .is_some_and(|key| index.resolve(core, key).is_none())
    }

    fn dangling_from(
        &self,
        core: &Core,
        old: &Core,
        def: &AssocDef,
        sources: &[RawId],
    ) -> Option<(RawId, RawId, String)> {
        let index = Self::index(core, def)?;
        let before = old.data::<S>(def.source)?;
        let keys = before.index::<KeyIndex<S, K>>(def.source_key?)?;
        sources.iter().find_map(|&id| {
            let key = keys.key_of(before.rows().get(id)?)?;
            let (member, key) = index.dangling(core, &key)?;
            Some((id, core.id_in(def.target, member)?, key))
        })
    }

    fn show_key(&self, core: &Core, def: &AssocDef, child: RawId) -> Option<String> {
        let index = Self::index(core, def)?;
        let row = core.data::<T>(def.target)?.rows().get(child)?;
        Some(match index.foreign_key().get(row) {
            Some(key) => format!("{key:?}"),
            None => "null".to_string(),
        })
    }
}

/// Hashes the `(table, row)` pairs of a plan. Creation numbers are unique and spread out, and a
/// plan only holds ids of existing rows, so a multiply-rotate hash (as in FxHash) serves; the
/// standard SipHash was an eighth of a 10-child delete.
#[derive(Default)]
struct RowHasher(u64);

impl Hasher for RowHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Every row a plan deletes, and whether it was asked for (a root): a list while the plan is
/// small (most deletes: a row and a few children), a hash map past that.
enum Seen {
    Few(Vec<((usize, RawId), bool)>),
    Many(HashMap<(usize, RawId), bool, BuildHasherDefault<RowHasher>>),
}

/// Plans this size or smaller use the list.
const FEW: usize = 32;

impl Seen {
    /// Records `row`; false if it was recorded already.
    fn insert(&mut self, row: (usize, RawId), root: bool) -> bool {
        match self {
            Seen::Few(list) => {
                if list.iter().any(|(r, _)| *r == row) {
                    return false;
                }
                if list.len() < FEW {
                    list.push((row, root));
                    return true;
                }
                let mut map: HashMap<_, _, BuildHasherDefault<RowHasher>> =
                    list.drain(..).collect();
                map.insert(row, root);
                *self = Seen::Many(map);
                true
            }
            Seen::Many(map) => map.insert(row, root).is_none(),
        }
    }

    /// `Some(whether it is a root)` if `row` is recorded.
    fn get(&self, row: (usize, RawId)) -> Option<bool> {
        match self {
            Seen::Few(list) => list.iter().find(|(r, _)| *r == row).map(|&(_, root)| root),
            Seen::Many(map) => map.get(&row).copied(),
        }
    }
}

/// A delete, planned: what it deletes and what it nulls. Made by [`plan`], applied by
/// [`Write::apply_delete`].
pub(crate) struct Plan {
    roots: usize,
    deletes: Vec<(usize, RawId)>,
    nulls: Vec<(usize, RawId)>,
    /// `(association, source)`: buckets of at least [`DROP_AT`] rows, keyed by id, whose
    /// source and every row the plan deletes (`Cascade`).
    drops: Vec<(usize, RawId)>,
    deleted: Seen,
}

/// A bucket this big or bigger that a delete empties is emptied in one step (see
/// [`Plan::drops`]); smaller ones lose their rows one by one, which costs less than finding
/// the index.
const DROP_AT: usize = 8;

impl Plan {
    /// Whether the plan deletes row `id` of table `table`.
    pub(crate) fn deletes_row(&self, table: usize, id: RawId) -> bool {
        self.deleted.get((table, id)).is_some()
    }

    /// The rows deleted, the roots first, then in the order the plan reached them.
    pub(crate) fn deletes(&self) -> &[(usize, RawId)] {
        &self.deletes
    }

    /// The `(association, source)` pairs whose bucket the plan empties: the source and every
    /// row in the bucket are deleted. Applying them first spares each row's removal from it.
    pub(crate) fn drops(&self) -> &[(usize, RawId)] {
        &self.drops
    }

    /// The `(association, row)` pairs whose foreign key the plan nulls.
    pub(crate) fn nulls(&self) -> &[(usize, RawId)] {
        &self.nulls
    }

    /// How many rows were asked for.
    pub(crate) fn roots(&self) -> usize {
        self.roots
    }

    /// What the applied plan did, with the names of tables and associations.
    pub(crate) fn into_deletion(self, core: &Core) -> Deletion {
        let catalog = &core.catalog;
        let deleted = self
            .deletes
            .into_iter()
            .map(|(t, id)| {
                let def = &catalog.tables[t];
                (
                    TableAt {
                        index: t,
                        decl: def.decl,
                    },
                    def.name,
                    id,
                )
            })
            .collect();
        let nulled = self
            .nulls
            .into_iter()
            .map(|(a, id)| {
                let def = &catalog.assocs[a];
                Nulled {
                    assoc: AssocAt {
                        index: a,
                        decl: def.decl,
                    },
                    table: TableAt {
                        index: def.target,
                        decl: catalog.tables[def.target].decl,
                    },
                    model: catalog.tables[def.target].name,
                    field: def.field,
                    row: id,
                }
            })
            .collect();
        Deletion {
            roots: self.roots,
            deleted,
            nulled,
        }
    }
}

/// A foreign key an applied plan nulled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Nulled {
    pub(crate) assoc: AssocAt,
    pub(crate) table: TableAt,
    pub(crate) model: &'static str,
    pub(crate) field: &'static str,
    pub(crate) row: RawId,
}

/// What an applied plan did: the rows deleted (the roots first) and the keys nulled.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub(crate) struct Deletion {
    pub(crate) roots: usize,
    pub(crate) deleted: Vec<(TableAt, &'static str, RawId)>,
    pub(crate) nulled: Vec<Nulled>,
}

/// Plans the delete of `roots` (live rows, as `(table, id)`) and of everything their on-delete
/// actions reach. Reads only; fails with `Restricted` if an action forbids the delete.
pub(crate) fn plan(core: &Core, roots: &[(usize, RawId)]) -> Result<Plan> {
    let mut plan = Plan {
        roots: 0,
        deletes: Vec::with_capacity(roots.len().max(16)),
        nulls: Vec::new(),
        drops: Vec::new(),
        // Room for a row and its children without regrowing (most deletes).
        deleted: Seen::Few(Vec::with_capacity(16)),
    };
    for &root in roots {
        if plan.deleted.insert(root, true) {
            plan.deletes.push(root);
            plan.roots += 1;
        }
    }
    let mut deferred = Vec::new();
    // Breadth first: `deletes` is its own queue; rows before `next` have been expanded.
    let mut next = 0;
    while let Some(&(table, id)) = plan.deletes.get(next) {
        next += 1;
        for &a in &core.catalog.tables[table].refs {
            let def = &core.catalog.assocs[a];
            let children = def.ops.children(core, def, id);
            if children.len() == 0 {
                continue;
            }
            let target = def.target;
            let Some(lineage) = core.lineage(target) else {
                continue;
            };
            match def.on_delete {
                OnDelete::Cascade => {
                    if def.source_key.is_none() && children.len() >= DROP_AT {
                        plan.drops.push((a, id));
                    }
                    plan.deletes.reserve(children.len());
                    for child in children {
                        let row = (target, lineage.id(child));
                        if plan.deleted.insert(row, false) {
                            plan.deletes.push(row);
                        }
                    }
                }
                OnDelete::SetNull => plan
                    .nulls
                    .extend(children.into_iter().map(|c| (a, lineage.id(c)))),
                OnDelete::Restrict => {
                    let blocking = children
                        .into_iter()
                        .map(|c| lineage.id(c))
                        .find(|&c| plan.deleted.get((target, c)) != Some(true));
                    if let Some(child) = blocking {
                        return Err(restricted(core, def, table, id, child));
                    }
                }
                OnDelete::NoAction => {
                    deferred.extend(
                        children
                            .into_iter()
                            .map(|c| (a, (table, id), lineage.id(c))),
                    );
                }
            }
        }
    }
    for (a, (table, id), child) in deferred {
        let def = &core.catalog.assocs[a];
        if !plan.deletes_row(def.target, child) {
            return Err(restricted(core, def, table, id, child));
        }
    }
    let deleted = &plan.deleted;
    plan.nulls
        .retain(|&(a, c)| deleted.get((core.catalog.assocs[a].target, c)).is_none());
    Ok(plan)
}

#[cold]
fn restricted(core: &Core, def: &AssocDef, table: usize, id: RawId, child: RawId) -> Error {
    Error::Restricted {
        row: RowRef::new(core.table_name(table), id),
        association: def.name,
        blocking_row: RowRef::new(core.table_name(def.target), child),
        change: Change::Delete,
    }
}
