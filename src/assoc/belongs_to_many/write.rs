//! The writes of a many-to-many association: adding, removing and setting pairs, and creating
//! targets with their pair. Each is one atomic operation on the write path.

use std::collections::{BTreeMap, BTreeSet};

use super::BelongsToMany;
use crate::core::{Bucket, Core, Plan, Write};
use crate::db::{Db, Model};
use crate::error::{Error, Result};
use crate::id::{AsId, Id, RawId, RowRef};

impl<S: Model, T: Model, J: Model> BelongsToMany<S, T, J> {
    /// Links `target` to `source` with `junction` as the pair's row (its keys are overwritten;
    /// Sequelize `addCourse(c, { through })`). If the pair exists, its payload is replaced by
    /// `junction`'s. Returns whether the pair is new. O(log n).
    pub fn add_through(
        &self,
        db: &mut Db,
        source: impl AsId<S>,
        target: impl AsId<T>,
        junction: J,
    ) -> Result<bool> {
        let (s, t) = (source.as_id(), target.as_id());
        let mut w = db.core.write();
        self.resolve(w.core(), s, &[t])?;
        let added = self.put(&mut w, s, t, junction)?;
        w.commit()?;
        Ok(added)
    }

    /// [`add_through`](BelongsToMany::add_through), under its former name.
    #[deprecated(note = "renamed to `add_through` (`_with` names options elsewhere)")]
    pub fn add_with(
        &self,
        db: &mut Db,
        source: impl AsId<S>,
        target: impl AsId<T>,
        junction: J,
    ) -> Result<bool> {
        self.add_through(db, source, target, junction)
    }

    /// Inserts the pair `(s, t)` with `junction`, or replaces the payload of the existing one.
    /// Returns whether the pair is new.
    fn put(&self, w: &mut Write<'_>, s: Id<S>, t: Id<T>, junction: J) -> Result<bool> {
        let row = self.junction_row(w.core(), s, t, junction)?;
        let table = self.junction_table(w.core())?;
        match self.pair(w.core(), s, t)? {
            Some(existing) => {
                w.replace(table, existing, row)?;
                Ok(false)
            }
            None => {
                w.insert(table, row)?;
                Ok(true)
            }
        }
    }

    /// Removes the pair `(source, target)` if it exists (its junction row is deleted). Returns
    /// whether it existed. O(log n).
    pub fn remove(&self, db: &mut Db, source: impl AsId<S>, target: impl AsId<T>) -> Result<bool> {
        self.remove_many(db, source, [target.as_id()])
            .map(|n| n == 1)
    }

    /// Removes every listed pair that exists; returns how many. Atomic. O(m log n).
    pub fn remove_many(
        &self,
        db: &mut Db,
        source: impl AsId<S>,
        targets: impl IntoIterator<Item = Id<T>>,
    ) -> Result<usize> {
        let (s, targets): (Id<S>, Vec<Id<T>>) = (source.as_id(), targets.into_iter().collect());
        let mut w = db.core.write();
        self.resolve(w.core(), s, &targets)?;
        let obsolete = self.junctions_of(w.core(), s, &targets)?;
        let plan = self.plan_removal(&w, s, &obsolete, targets.iter().map(|t| t.raw), [])?;
        let removed = plan.roots();
        w.apply_delete(plan)?;
        w.commit()?;
        Ok(removed)
    }

    /// The junction rows of the pairs `(s, t)` for `t` in `targets` that exist.
    fn junctions_of(&self, core: &Core, s: Id<S>, targets: &[Id<T>]) -> Result<Vec<RawId>> {
        let mut rows = Vec::new();
        for &t in targets {
            rows.extend(self.pair(core, s, t)?);
        }
        rows.sort_unstable();
        rows.dedup();
        Ok(rows)
    }

    /// Plans the delete of junction rows `obsolete`; `Conflict` if its cascade would delete
    /// `s`, one of `targets`, or one of the junction rows `kept`.
    fn plan_removal(
        &self,
        w: &Write<'_>,
        s: Id<S>,
        obsolete: &[RawId],
        targets: impl IntoIterator<Item = RawId>,
        kept: impl IntoIterator<Item = RawId>,
    ) -> Result<Plan> {
        let core = w.core();
        let junction = self.junction_table(core)?;
        let (sources, target_table) = (
            self.source_side.fk(core)?.def.source(),
            self.target_side.fk(core)?.def.source(),
        );
        let roots: Vec<_> = obsolete.iter().map(|&j| (junction, j)).collect();
        let plan = w.plan_delete(&roots)?;
        let needed = std::iter::once((sources, s.raw))
            .chain(targets.into_iter().map(|t| (target_table, t)))
            .chain(kept.into_iter().map(|j| (junction, j)));
        for (table, id) in needed {
            if plan.deletes_row(table, id) {
                return Err(Error::Conflict {
                    row: RowRef::new(core.table_name(table), id),
                    association: self.name(core)?,
                });
            }
        }
        Ok(plan)
    }

    /// Makes the targets linked to `source` exactly those of `pairs`, each with its junction
    /// row: obsolete pairs are deleted, missing ones inserted, and existing ones whose payload
    /// differs are updated (Sequelize `setCourses` with `through`). A target listed more than
    /// once is linked once, with the last payload listed for it (as collecting into a map
    /// keeps the last value). Atomic. Returns how many pairs changed. O((old + new) log n).
    pub fn set_through(
        &self,
        db: &mut Db,
        source: impl AsId<S>,
        pairs: impl IntoIterator<Item = (Id<T>, J)>,
    ) -> Result<usize>
    where
        J: PartialEq,
    {
        let s = source.as_id();
        // The last payload given for a target wins; new pairs are inserted in target order.
        let wanted: BTreeMap<Id<T>, J> = pairs.into_iter().collect();
        let ids: Vec<Id<T>> = wanted.keys().copied().collect();
        let mut w = db.core.write();
        self.resolve(w.core(), s, &ids)?;
        let (obsolete, kept) = self.split(w.core(), s, |t| wanted.contains_key(&t))?;
        let plan = self.plan_removal(&w, s, &obsolete, ids.iter().map(|t| t.raw), kept)?;
        let mut changed = plan.roots();
        w.apply_delete(plan)?;
        let table = self.junction_table(w.core())?;
        for (t, j) in wanted {
            let row = self.junction_row(w.core(), s, t, j)?;
            match self.pair(w.core(), s, t)? {
                Some(existing) => {
                    let current = w
                        .core()
                        .data::<J>(table)
                        .and_then(|d| d.rows().get(existing));
                    if current != Some(&row) {
                        w.replace(table, existing, row)?;
                        changed += 1;
                    }
                }
                None => {
                    w.insert(table, row)?;
                    changed += 1;
                }
            }
        }
        w.commit()?;
        Ok(changed)
    }

    /// [`set_through`](BelongsToMany::set_through), under its former name.
    #[deprecated(note = "renamed to `set_through` (`set_with` takes an unlink policy elsewhere)")]
    pub fn set_with(
        &self,
        db: &mut Db,
        source: impl AsId<S>,
        pairs: impl IntoIterator<Item = (Id<T>, J)>,
    ) -> Result<usize>
    where
        J: PartialEq,
    {
        self.set_through(db, source, pairs)
    }

    /// The junction rows of `s`, split into those whose target `keep` rejects (obsolete) and
    /// those it keeps.
    fn split(
        &self,
        core: &Core,
        s: Id<S>,
        keep: impl Fn(Id<T>) -> bool,
    ) -> Result<(Vec<RawId>, Vec<RawId>)> {
        let fk = self.source_side.fk(core)?;
        let key = self.source_side.key_of(core, &fk, s)?;
        let to_target = self.target_side.fk(core)?.index.foreign_key();
        let junctions = fk.targets.rows();
        let (mut obsolete, mut kept) = (Vec::new(), Vec::new());
        for member in fk.index.bucket(&key).into_iter().flat_map(Bucket::iter) {
            let j = junctions.id(member);
            let target = junctions.get(j).and_then(|row| to_target.get(row));
            match target {
                Some(&t) if keep(t) => kept.push(j),
                _ => obsolete.push(j),
            }
        }
        Ok((obsolete, kept))
    }

    /// Inserts `value` as a new target and links it to `source` with `junction` as the pair's
    /// row, atomically. Returns the new target's id.
    /// O(log n) per index of the target and junction tables.
    pub fn create_through(
        &self,
        db: &mut Db,
        source: impl AsId<S>,
        value: T,
        junction: J,
    ) -> Result<Id<T>> {
        let s = source.as_id();
        let mut w = db.core.write();
        self.resolve(w.core(), s, &[])?;
        let targets = self.target_side.fk(w.core())?.def.source();
        let t = Id::from_raw(w.insert(targets, value)?);
        self.put(&mut w, s, t, junction)?;
        w.commit()?;
        Ok(t)
    }

    /// [`create_through`](BelongsToMany::create_through), under its former name.
    #[deprecated(note = "renamed to `create_through`")]
    pub fn create_with(
        &self,
        db: &mut Db,
        source: impl AsId<S>,
        value: T,
        junction: J,
    ) -> Result<Id<T>> {
        self.create_through(db, source, value, junction)
    }
}

impl<S: Model, T: Model, J: Model + Default> BelongsToMany<S, T, J> {
    /// Links `target` to `source` with a default junction row; an existing pair is left as it
    /// is. Returns whether the pair is new (Sequelize `addCourse`). O(log n).
    pub fn add(&self, db: &mut Db, source: impl AsId<S>, target: impl AsId<T>) -> Result<bool> {
        self.add_many(db, source, [target.as_id()]).map(|n| n == 1)
    }

    /// Inserts a default junction row for `(s, t)` unless the pair exists.
    fn add_default(&self, w: &mut Write<'_>, s: Id<S>, t: Id<T>) -> Result<bool> {
        if self.pair(w.core(), s, t)?.is_some() {
            return Ok(false);
        }
        let row = self.junction_row(w.core(), s, t, J::default())?;
        let table = self.junction_table(w.core())?;
        w.insert(table, row)?;
        Ok(true)
    }

    /// [`add`](BelongsToMany::add) for many targets (duplicates count once). Atomic. Returns
    /// how many pairs are new. O(m (log n + log k)) for m targets.
    pub fn add_many(
        &self,
        db: &mut Db,
        source: impl AsId<S>,
        targets: impl IntoIterator<Item = Id<T>>,
    ) -> Result<usize> {
        let (s, targets): (Id<S>, Vec<Id<T>>) = (source.as_id(), targets.into_iter().collect());
        let mut w = db.core.write();
        self.resolve(w.core(), s, &targets)?;
        let mut added = 0;
        for t in targets {
            added += usize::from(self.add_default(&mut w, s, t)?);
        }
        w.commit()?;
        Ok(added)
    }

    /// Makes the targets linked to `source` exactly `targets`, keeping the junction rows of
    /// pairs that stay and inserting default ones for new pairs (Sequelize `setCourses`).
    /// Atomic. Returns how many pairs changed. O((old + new)(log n + log k)).
    pub fn set(
        &self,
        db: &mut Db,
        source: impl AsId<S>,
        targets: impl IntoIterator<Item = Id<T>>,
    ) -> Result<usize> {
        let (s, targets): (Id<S>, Vec<Id<T>>) = (source.as_id(), targets.into_iter().collect());
        let wanted: BTreeSet<Id<T>> = targets.iter().copied().collect();
        let mut w = db.core.write();
        self.resolve(w.core(), s, &targets)?;
        let (obsolete, kept) = self.split(w.core(), s, |t| wanted.contains(&t))?;
        let plan = self.plan_removal(&w, s, &obsolete, wanted.iter().map(|t| t.raw), kept)?;
        let mut changed = plan.roots();
        w.apply_delete(plan)?;
        for t in wanted {
            changed += usize::from(self.add_default(&mut w, s, t)?);
        }
        w.commit()?;
        Ok(changed)
    }

    /// Inserts `value` as a new target linked to `source` by a default junction row.
    /// O(log n) per index of the target and junction tables.
    pub fn create(&self, db: &mut Db, source: impl AsId<S>, value: T) -> Result<Id<T>> {
        self.create_through(db, source, value, J::default())
    }
}
