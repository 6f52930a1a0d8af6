//! BelongsToMany: many-to-many through a typed junction model.

use std::any::Any;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use imbl::OrdMap;

use super::{AssocOptions, HasMany, Link, OnDelete};
use crate::cascade;
use crate::db::{Db, ErasedUnique, Model, RowIndex};
use crate::error::{Error, Result};
use crate::id::{AsId, Id, RawId, model_name};
use crate::key::ForeignKey;
use crate::table::{Row, Table, not_found};

/// The unique index of a junction table on its pair of foreign keys: `(a, b)` → junction row.
/// It enforces that a pair appears at most once, on every write path, and answers `has`.
#[derive(Clone)]
pub(crate) struct PairIndex<A, B, J> {
    junction: usize,
    a: ForeignKey<J, Id<A>>,
    b: ForeignKey<J, Id<B>>,
    pub(crate) map: OrdMap<(RawId, RawId), RawId>,
}

impl<A: Model, B: Model, J: Model> PairIndex<A, B, J> {
    fn pair(&self, row: &dyn Any) -> Option<(RawId, RawId)> {
        let row = row.downcast_ref::<J>().expect("row of the junction table");
        Some((self.a.get(row)?.raw, self.b.get(row)?.raw))
    }
}

impl<A: Model, B: Model, J: Model> RowIndex for PairIndex<A, B, J> {
    fn check(&self, _db: &Db, id: Option<RawId>, row: &dyn Any) -> Result<()> {
        let Some(pair) = self.pair(row) else {
            return Ok(());
        };
        match self.map.get(&pair) {
            Some(&holder) if Some(holder) != id => Err(Error::Unique {
                model: model_name::<J>(),
                field: self.b.name,
                key: format!(
                    "({}: {}, {}: {})",
                    self.a.name,
                    Id::<A>::from_raw(pair.0),
                    self.b.name,
                    Id::<B>::from_raw(pair.1)
                ),
                existing: Id::<J>::from_raw(holder).to_string(),
            }),
            _ => Ok(()),
        }
    }

    fn insert(&mut self, id: RawId, row: &dyn Any) {
        if let Some(pair) = self.pair(row) {
            self.map.insert(pair, id);
        }
    }

    fn remove(&mut self, _id: RawId, row: &dyn Any) {
        if let Some(pair) = self.pair(row) {
            self.map.remove(&pair);
        }
    }

    fn verify(&self, db: &Db) -> std::result::Result<(), String> {
        let rows = db.rows::<J>(self.junction).map_err(|e| e.to_string())?;
        let mut expected = OrdMap::new();
        for (id, row) in rows.iter() {
            if let Some(pair) = self.pair(row)
                && let Some(other) = expected.insert(pair, id)
            {
                return Err(format!(
                    "{} holds the pair {pair:?} twice: rows {other:?} and {id:?}",
                    model_name::<J>()
                ));
            }
        }
        if expected != self.map {
            return Err(format!(
                "the pair index of {} differs from its rows",
                model_name::<J>()
            ));
        }
        Ok(())
    }
}

impl<A: Model, B: Model, J: Model> ErasedUnique for PairIndex<A, B, J> {
    fn clone_box(&self) -> Box<dyn ErasedUnique> {
        Box::new(self.clone())
    }
    fn pair_lookup(&self, pair: (RawId, RawId)) -> Option<RawId> {
        self.map.get(&pair).copied()
    }
}

/// A handle to a many-to-many association (`Student` belongs to many `Course` through
/// `Enrollment`), returned by [`Db::belongs_to_many`].
///
/// The junction model `J` is an ordinary table holding two non-null foreign keys and any payload
/// (`Enrollment { student, course, grade }`). Each pair appears at most once. Deleting either
/// endpoint deletes its junction rows. [`inverse`](BelongsToMany::inverse) is the same
/// association seen from `T`, sharing `J`. Every method is atomic.
///
/// | Sequelize | relata | cost |
/// |---|---|---|
/// | `getCourses` (with `through`) | [`get`](BelongsToMany::get) | O(k log n) |
/// | `countCourses` | [`count`](BelongsToMany::count) | O(log n) |
/// | `hasCourse(s)` | [`has`](BelongsToMany::has), [`has_all`](BelongsToMany::has_all) | O(log n) per target |
/// | `addCourse(s)` | [`add`](BelongsToMany::add), [`add_with`](BelongsToMany::add_with), [`add_many`](BelongsToMany::add_many) | O(log n) per target |
/// | `removeCourse(s)` | [`remove`](BelongsToMany::remove), [`remove_many`](BelongsToMany::remove_many) | O(log n) per target |
/// | `setCourses` | [`set`](BelongsToMany::set), [`set_with`](BelongsToMany::set_with) | O((old + new) log n) |
/// | `createCourse` | [`create`](BelongsToMany::create), [`create_with`](BelongsToMany::create_with) | O(log n) per index |
///
/// ```
/// use relata::{Db, Id, fk};
/// #[derive(Clone)] struct Student;
/// #[derive(Clone)] struct Course { title: &'static str }
/// #[derive(Clone)] struct Enrollment { student: Id<Student>, course: Id<Course>, grade: Option<u8> }
/// let mut db = Db::new();
/// let students = db.create_table::<Student>()?;
/// let courses = db.create_table::<Course>()?;
/// let enrollments = db.create_table::<Enrollment>()?;
/// let takes = db.belongs_to_many(students, courses, enrollments,
///     fk!(Enrollment, student), fk!(Enrollment, course))?;
///
/// let ada = students.insert(&mut db, Student)?;
/// let math = courses.insert(&mut db, Course { title: "Math" })?;
/// let template = |grade| Enrollment { student: ada, course: math, grade };
/// takes.add_with(&mut db, ada, math, template(None))?;
/// takes.add_with(&mut db, ada, math, template(Some(5)))?; // same pair: payload updated
/// assert_eq!(takes.count(&db, ada)?, 1);
/// let (course, enrollment) = takes.get(&db, ada)?.remove(0);
/// assert_eq!((course.title, enrollment.grade), ("Math", Some(5)));
/// assert!(takes.inverse().has(&db, math, ada)?);
/// # Ok::<(), relata::Error>(())
/// ```
pub struct BelongsToMany<S, T, J> {
    source_side: Link<S, J, Id<S>>,
    target_side: Link<T, J, Id<T>>,
    pairs: usize,
    /// Whether this handle sees the pair index's `(a, b)` as `(target, source)`.
    flipped: bool,
}

impl<S, T, J> Clone for BelongsToMany<S, T, J> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<S, T, J> Copy for BelongsToMany<S, T, J> {}
impl<S, T, J> fmt::Debug for BelongsToMany<S, T, J> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "BelongsToMany<{}, {}, through {}>",
            model_name::<S>(),
            model_name::<T>(),
            model_name::<J>()
        )
    }
}

/// A target row with the junction row that links it, as returned by [`BelongsToMany::get`].
pub type Through<'a, T, J> = (Row<'a, T>, Row<'a, J>);

impl<S: Model, T: Model, J: Model> BelongsToMany<S, T, J> {
    /// The same association seen from `T`: `T` belongs to many `S` through `J`.
    pub fn inverse(&self) -> BelongsToMany<T, S, J> {
        BelongsToMany {
            source_side: self.target_side,
            target_side: self.source_side,
            pairs: self.pairs,
            flipped: !self.flipped,
        }
    }

    /// The has-many association from `S` to its junction rows.
    pub fn junction_rows(&self) -> HasMany<S, J> {
        HasMany::new(self.source_side)
    }

    fn junction(&self) -> Table<J> {
        self.source_side.target_table()
    }

    fn targets(&self) -> Table<T> {
        self.target_side.source_table()
    }

    /// The junction row of the pair `(s, t)`, if they are linked. O(log n).
    fn pair(&self, db: &Db, s: Id<S>, t: Id<T>) -> Result<Option<RawId>> {
        let index = db
            .uniques
            .get(self.pairs)
            .ok_or_else(|| Error::UnknownHandle {
                handle: format!("{self:?}"),
            })?;
        let key = if self.flipped {
            (t.raw, s.raw)
        } else {
            (s.raw, t.raw)
        };
        Ok(index.pair_lookup(key))
    }

    /// Checks that `s` and every target exist (`NotFound` otherwise, the source first).
    fn resolve(&self, db: &Db, s: Id<S>, targets: &[Id<T>]) -> Result<()> {
        self.source_side.data(db)?.key_of(db, s)?;
        let table = self.targets();
        match targets.iter().find(|&&t| !table.contains(db, t)) {
            Some(&missing) => Err(not_found(missing)),
            None => Ok(()),
        }
    }

    /// `junction` with its two foreign keys forced to `s` and `t`.
    fn junction_row(&self, db: &Db, s: Id<S>, t: Id<T>, mut junction: J) -> Result<J> {
        let to_source = self.source_side.data(db)?.fk;
        let to_target = self.target_side.data(db)?.fk;
        to_source.point(&mut junction, s);
        to_target.point(&mut junction, t);
        Ok(junction)
    }

    /// The targets linked to `source`, each with its junction row, in the targets' creation
    /// order (Sequelize `getCourses` with its `through` attributes). O(k log n).
    pub fn get<'a>(&self, db: &'a Db, source: impl AsId<S>) -> Result<Vec<Through<'a, T, J>>> {
        let bucket = self.source_side.data(db)?.bucket_of(db, source.as_id())?;
        let junctions = db.rows::<J>(self.source_side.target)?;
        let targets = db.rows::<T>(self.target_side.source)?;
        let to_target = self.target_side.data(db)?.fk;
        let mut out: Vec<Through<'a, T, J>> = bucket
            .into_iter()
            .flat_map(|b| b.iter())
            .map(|j| {
                let junction = junctions.get(j).expect("indexed junction rows exist");
                let t = *to_target.get(junction).expect("junction keys are not null");
                let target = targets.get(t.raw).expect("junction keys never dangle");
                (Row::new(t, target), Row::new(Id::from_raw(j), junction))
            })
            .collect();
        out.sort_unstable_by_key(|(t, _)| t.id());
        Ok(out)
    }

    /// Number of targets linked to `source`. O(log n).
    pub fn count(&self, db: &Db, source: impl AsId<S>) -> Result<usize> {
        self.junction_rows().count(db, source)
    }

    /// Whether `target` is linked to `source`. O(log n).
    pub fn has(&self, db: &Db, source: impl AsId<S>, target: impl AsId<T>) -> Result<bool> {
        let (s, t) = (source.as_id(), target.as_id());
        self.resolve(db, s, &[t])?;
        Ok(self.pair(db, s, t)?.is_some())
    }

    /// Whether every target is linked to `source`; duplicates are fine and an empty list is
    /// `true`. O(m log n).
    pub fn has_all(
        &self,
        db: &Db,
        source: impl AsId<S>,
        targets: impl IntoIterator<Item = Id<T>>,
    ) -> Result<bool> {
        let (source, targets): (Id<S>, Vec<Id<T>>) =
            (source.as_id(), targets.into_iter().collect());
        self.resolve(db, source, &targets)?;
        for t in targets {
            if self.pair(db, source, t)?.is_none() {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Links `target` to `source` with `junction` as the pair's row (its keys are overwritten).
    /// If the pair exists, its payload is replaced by `junction`'s. Returns whether the pair is
    /// new. O(log n).
    pub fn add_with(
        &self,
        db: &mut Db,
        source: impl AsId<S>,
        target: impl AsId<T>,
        junction: J,
    ) -> Result<bool> {
        let (s, t) = (source.as_id(), target.as_id());
        self.resolve(db, s, &[t])?;
        let row = self.junction_row(db, s, t, junction)?;
        match self.pair(db, s, t)? {
            Some(existing) => {
                self.junction().update(db, Id::from_raw(existing), row)?;
                Ok(false)
            }
            None => {
                self.junction().insert(db, row)?;
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
        self.resolve(db, s, &targets)?;
        self.remove_resolved(db, s, targets)
    }

    /// [`remove_many`](BelongsToMany::remove_many) for a source and targets already checked to
    /// exist. Atomic: the delete is planned, then applied.
    fn remove_resolved(
        &self,
        db: &mut Db,
        s: Id<S>,
        targets: impl IntoIterator<Item = Id<T>>,
    ) -> Result<usize> {
        let mut rows = Vec::new();
        for t in targets {
            if let Some(j) = self.pair(db, s, t)? {
                rows.push((self.source_side.target, j));
            }
        }
        rows.sort_unstable();
        rows.dedup();
        let plan = cascade::plan(db, &rows)?;
        cascade::apply(db, plan);
        Ok(rows.len())
    }

    /// Makes the targets linked to `source` exactly those of `pairs`, each with its junction
    /// row: obsolete pairs are deleted, missing ones inserted, and existing ones whose payload
    /// differs are updated (Sequelize `setCourses` with `through`). Atomic. Returns how many
    /// pairs changed. O((old + new) log n).
    pub fn set_with(
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
        self.resolve(db, s, &ids)?;
        db.transaction(|tx| {
            let obsolete: Vec<Id<T>> = self
                .get(tx, s)?
                .iter()
                .map(|(t, _)| t.id())
                .filter(|t| !wanted.contains_key(t))
                .collect();
            let mut changed = self.remove_resolved(tx, s, obsolete)?;
            for (t, j) in wanted {
                let row = self.junction_row(tx, s, t, j)?;
                match self.pair(tx, s, t)? {
                    Some(existing) => {
                        let existing = Id::<J>::from_raw(existing);
                        if *self.junction().get(tx, existing)? != row {
                            self.junction().update(tx, existing, row)?;
                            changed += 1;
                        }
                    }
                    None => {
                        self.junction().insert(tx, row)?;
                        changed += 1;
                    }
                }
            }
            Ok(changed)
        })
    }

    /// Inserts `value` as a new target and links it to `source` with `junction` as the pair's
    /// row, atomically. Returns the new target's id.
    pub fn create_with(
        &self,
        db: &mut Db,
        source: impl AsId<S>,
        value: T,
        junction: J,
    ) -> Result<Id<T>> {
        let s = source.as_id();
        self.resolve(db, s, &[])?;
        db.transaction(|tx| {
            let t = self.targets().insert(tx, value)?;
            self.add_with(tx, s, t, junction)?;
            Ok(t)
        })
    }
}

impl<S: Model, T: Model, J: Model + Default> BelongsToMany<S, T, J> {
    /// Links `target` to `source` with a default junction row; an existing pair is left as it
    /// is. Returns whether the pair is new (Sequelize `addCourse`). O(log n).
    pub fn add(&self, db: &mut Db, source: impl AsId<S>, target: impl AsId<T>) -> Result<bool> {
        let (s, t) = (source.as_id(), target.as_id());
        self.resolve(db, s, &[t])?;
        self.add_resolved(db, s, t)
    }

    /// [`add`](BelongsToMany::add) for a source and target already checked to exist.
    fn add_resolved(&self, db: &mut Db, s: Id<S>, t: Id<T>) -> Result<bool> {
        if self.pair(db, s, t)?.is_some() {
            return Ok(false);
        }
        let row = self.junction_row(db, s, t, J::default())?;
        self.junction().insert(db, row)?;
        Ok(true)
    }

    /// [`add`](BelongsToMany::add) for many targets (duplicates count once). Atomic. Returns
    /// how many pairs are new.
    pub fn add_many(
        &self,
        db: &mut Db,
        source: impl AsId<S>,
        targets: impl IntoIterator<Item = Id<T>>,
    ) -> Result<usize> {
        let (s, targets): (Id<S>, Vec<Id<T>>) = (source.as_id(), targets.into_iter().collect());
        self.resolve(db, s, &targets)?;
        db.transaction(|tx| {
            let mut added = 0;
            for t in targets {
                added += usize::from(self.add_resolved(tx, s, t)?);
            }
            Ok(added)
        })
    }

    /// Makes the targets linked to `source` exactly `targets`, keeping the junction rows of
    /// pairs that stay and inserting default ones for new pairs (Sequelize `setCourses`).
    /// Atomic. Returns how many pairs changed.
    pub fn set(
        &self,
        db: &mut Db,
        source: impl AsId<S>,
        targets: impl IntoIterator<Item = Id<T>>,
    ) -> Result<usize> {
        let (s, targets): (Id<S>, Vec<Id<T>>) = (source.as_id(), targets.into_iter().collect());
        self.resolve(db, s, &targets)?;
        db.transaction(|tx| {
            let current: Vec<Id<T>> = self.get(tx, s)?.iter().map(|(t, _)| t.id()).collect();
            let wanted: BTreeSet<Id<T>> = targets.iter().copied().collect();
            let obsolete = current.iter().copied().filter(|t| !wanted.contains(t));
            let mut changed = self.remove_resolved(tx, s, obsolete)?;
            for t in targets {
                changed += usize::from(self.add_resolved(tx, s, t)?);
            }
            Ok(changed)
        })
    }

    /// Inserts `value` as a new target linked to `source` by a default junction row.
    pub fn create(&self, db: &mut Db, source: impl AsId<S>, value: T) -> Result<Id<T>> {
        self.create_with(db, source, value, J::default())
    }
}

impl Db {
    /// Declares that `source` rows belong to many `target` rows through the junction table
    /// `junction`, whose non-null foreign keys `to_source` and `to_target` link a pair. Both
    /// keys get an index and `Cascade` on delete (deleting either endpoint deletes its junction
    /// rows), and the pair gets a unique index. Existing junction rows are checked.
    pub fn belongs_to_many<S: Model, T: Model, J: Model>(
        &mut self,
        source: Table<S>,
        target: Table<T>,
        junction: Table<J>,
        to_source: ForeignKey<J, Id<S>>,
        to_target: ForeignKey<J, Id<T>>,
    ) -> Result<BelongsToMany<S, T, J>> {
        if to_source.is_nullable() || to_target.is_nullable() {
            return Err(Error::Definition {
                message: format!(
                    "the junction keys {0}.{1} and {0}.{2} must not be Options",
                    model_name::<J>(),
                    to_source.name(),
                    to_target.name()
                ),
            });
        }
        self.transaction(|db| {
            let cascade = AssocOptions::new().on_delete(OnDelete::Cascade);
            let source_side = db.has_many_with(source, junction, to_source, cascade)?.link;
            let target_side = db.has_many_with(target, junction, to_target, cascade)?.link;
            let mut index = PairIndex {
                junction: junction.index,
                a: to_source,
                b: to_target,
                map: OrdMap::new(),
            };
            let mut existing: Vec<_> = db.rows::<J>(junction.index)?.iter().collect();
            existing.sort_unstable_by_key(|(id, _)| *id);
            for (id, row) in existing {
                index.check(db, Some(id), row)?;
                index.insert(id, row);
            }
            let pairs = db.add_unique(junction.index, Box::new(index));
            Ok(BelongsToMany {
                source_side,
                target_side,
                pairs,
                flipped: false,
            })
        })
    }
}
