//! BelongsToMany: many-to-many through a typed junction model.

use std::fmt;
use std::sync::Arc;

use super::{AssocOptions, HasMany, Link, OnDelete};
use crate::core::{Bucket, Core, IndexAt, KeyFn, not_found, unknown};
use crate::db::{Db, Model};
use crate::error::{Argument, Error, Result};
use crate::id::{AsId, Id, RawId, built_name, model_name};
use crate::key::ForeignKey;
use crate::query::Query;
use crate::table::{Row, Table};

mod write;

/// A handle to a many-to-many association (`Student` belongs to many `Course` through
/// `Enrollment`), returned by [`Db::belongs_to_many`].
///
/// The junction model `J` is an ordinary table holding two non-null foreign keys and any payload
/// (`Enrollment { student, course, grade }`). Each pair appears at most once (a unique index on
/// the two keys). Deleting either endpoint deletes its junction rows.
/// [`inverse`](BelongsToMany::inverse) is the same association seen from `T`, sharing `J`. Every
/// method is atomic.
///
/// | Sequelize | relata | cost |
/// |---|---|---|
/// | `getCourses` (with `through`) | [`get`](BelongsToMany::get) | O(k log n) |
/// | `countCourses` | [`count`](BelongsToMany::count) | O(log n) |
/// | `hasCourse(s)` | [`has`](BelongsToMany::has), [`has_all`](BelongsToMany::has_all) | O(log n) per target |
/// | one pair's `through` attributes | [`through`](BelongsToMany::through) | O(log n) |
/// | `addCourse(s)` | [`add`](BelongsToMany::add), [`add_through`](BelongsToMany::add_through), [`add_many`](BelongsToMany::add_many) | O(log n) per target |
/// | `removeCourse(s)` | [`remove`](BelongsToMany::remove), [`remove_many`](BelongsToMany::remove_many) | O(log n) per target |
/// | `setCourses` | [`set`](BelongsToMany::set), [`set_through`](BelongsToMany::set_through) | O((old + new) log n) |
/// | `createCourse` | [`create`](BelongsToMany::create), [`create_through`](BelongsToMany::create_through) | O(log n) per index |
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
/// takes.add_through(&mut db, ada, math, template(None))?;
/// takes.add_through(&mut db, ada, math, template(Some(5)))?; // same pair: payload updated
/// assert_eq!(takes.count(&db, ada)?, 1);
/// let (course, enrollment) = takes.get(&db, ada)?.remove(0);
/// assert_eq!((course.title, enrollment.grade), ("Math", Some(5)));
/// assert!(takes.inverse().has(&db, math, ada)?);
/// # Ok::<(), relata::Error>(())
/// ```
pub struct BelongsToMany<S, T, J> {
    source_side: Link<S, J, Id<S>>,
    target_side: Link<T, J, Id<T>>,
    pairs: IndexAt,
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
    /// O(1): a copy of the handle.
    pub fn inverse(&self) -> BelongsToMany<T, S, J> {
        BelongsToMany {
            source_side: self.target_side,
            target_side: self.source_side,
            pairs: self.pairs,
            flipped: !self.flipped,
        }
    }

    /// The junction's key to the source.
    pub(crate) fn source_link(&self) -> Link<S, J, Id<S>> {
        self.source_side
    }

    /// The junction's key to the target.
    pub(crate) fn target_link(&self) -> Link<T, J, Id<T>> {
        self.target_side
    }

    /// The has-many association from `S` to its junction rows. O(1): a copy of the handle.
    pub fn junction_rows(&self) -> HasMany<S, J> {
        HasMany::new(self.source_side)
    }

    /// The junction row of the pair `(s, t)`, if they are linked. O(log n).
    fn pair(&self, core: &Core, s: Id<S>, t: Id<T>) -> Result<Option<RawId>> {
        let unknown = || unknown::<J>("pair index");
        let found = if self.flipped {
            let (data, index) = core
                .key_index::<J, (Id<T>, Id<S>)>(self.pairs)
                .ok_or_else(unknown)?;
            index.find_one(&(t, s)).map(|m| data.rows().id(m))
        } else {
            let (data, index) = core
                .key_index::<J, (Id<S>, Id<T>)>(self.pairs)
                .ok_or_else(unknown)?;
            index.find_one(&(s, t)).map(|m| data.rows().id(m))
        };
        Ok(found)
    }

    /// The association's name, for messages.
    fn name(&self, core: &Core) -> Result<&'static str> {
        Ok(self.source_side.fk(core)?.def.name())
    }

    /// Checks that `s` and every target exist (`NotFound` otherwise, the source first).
    fn resolve(&self, core: &Core, s: Id<S>, targets: &[Id<T>]) -> Result<()> {
        let fk = self.source_side.fk(core)?;
        self.source_side.key_of(core, &fk, s)?;
        let table = self.target_side.sources(core)?;
        let rows = table.data(core)?.rows();
        match targets.iter().find(|t| !rows.contains(t.raw)) {
            Some(&missing) => Err(not_found::<T>(
                missing.raw,
                Argument::Target,
                Some(fk.def.name()),
            )),
            None => Ok(()),
        }
    }

    /// `junction` with its two foreign keys forced to `s` and `t`.
    fn junction_row(&self, core: &Core, s: Id<S>, t: Id<T>, mut junction: J) -> Result<J> {
        self.source_side
            .fk(core)?
            .index
            .foreign_key()
            .point(&mut junction, s);
        self.target_side
            .fk(core)?
            .index
            .foreign_key()
            .point(&mut junction, t);
        Ok(junction)
    }

    fn junction_table(&self, core: &Core) -> Result<usize> {
        Ok(self.source_side.fk(core)?.def.target())
    }

    /// The targets linked to `source`, each with its junction row, in the targets' creation
    /// order (Sequelize `getCourses` with its `through` attributes). O(k log n + k log k): for
    /// each of the k pairs a read of its junction row and of its target, then a sort into the
    /// targets' order, in a new `Vec` (a has-many `get` reads its rows in place instead).
    pub fn get<'a>(&self, db: &'a Db, source: impl AsId<S>) -> Result<Vec<Through<'a, T, J>>> {
        let source = source.as_id();
        let core = &db.core;
        let fk = self.source_side.fk(core)?;
        let key = self.source_side.key_of(core, &fk, source)?;
        let junctions = fk.targets.rows();
        let to_target = self.target_side.fk(core)?.index.foreign_key();
        let targets = self.target_side.sources(core)?.rows(db)?;
        let mut out: Vec<Through<'a, T, J>> = Vec::new();
        for member in fk.index.bucket(&key).into_iter().flat_map(Bucket::iter) {
            let j = junctions.id(member);
            let Some(junction) = junctions.get(j) else {
                continue;
            };
            let Some(&t) = to_target.get(junction) else {
                continue;
            };
            let Some(target) = targets.get(t.raw) else {
                continue;
            };
            out.push((Row::new(t, target), Row::raw(j, junction)));
        }
        out.sort_unstable_by_key(|(t, _)| t.id());
        Ok(out)
    }

    /// The targets linked to `source`, filtered, ordered, limited and offset by `query` (which
    /// sees the target rows), each with its junction row. O(k log n).
    pub fn query<'a>(
        &self,
        db: &'a Db,
        source: impl AsId<S>,
        query: &Query<'_, T>,
    ) -> Result<Vec<Through<'a, T, J>>> {
        // `get` sorts by target id: each kept target finds its pair by binary search.
        let pairs = self.get(db, source)?;
        let kept: Vec<Row<'a, T>> = query.apply(pairs.iter().map(|(t, _)| *t));
        Ok(kept
            .into_iter()
            .filter_map(|t| {
                let at = pairs.binary_search_by_key(&t.id(), |(p, _)| p.id()).ok()?;
                pairs.get(at).copied()
            })
            .collect())
    }

    /// [`query`](BelongsToMany::query), under the name `HasMany` used to give it.
    #[deprecated(note = "use `query`")]
    pub fn get_with<'a>(
        &self,
        db: &'a Db,
        source: impl AsId<S>,
        query: &Query<'_, T>,
    ) -> Result<Vec<Through<'a, T, J>>> {
        self.query(db, source, query)
    }

    /// Number of targets linked to `source`. O(log n).
    pub fn count(&self, db: &Db, source: impl AsId<S>) -> Result<usize> {
        self.junction_rows().count(db, source)
    }

    /// Whether `target` is linked to `source`. O(log n).
    pub fn has(&self, db: &Db, source: impl AsId<S>, target: impl AsId<T>) -> Result<bool> {
        let (s, t) = (source.as_id(), target.as_id());
        self.resolve(&db.core, s, &[t])?;
        Ok(self.pair(&db.core, s, t)?.is_some())
    }

    /// The junction row of the pair `(source, target)`, if they are linked: its payload (a
    /// Sequelize instance's `through` attributes, for one pair). O(log n): one lookup in the
    /// pair index, where [`get`](BelongsToMany::get) reads every target of `source`.
    ///
    /// ```
    /// use relata::{Db, Id, fk};
    /// #[derive(Clone)] struct Student;
    /// #[derive(Clone)] struct Course;
    /// #[derive(Clone)] struct Enrollment { student: Id<Student>, course: Id<Course>, grade: u8 }
    /// let mut db = Db::new();
    /// let students = db.create_table::<Student>()?;
    /// let courses = db.create_table::<Course>()?;
    /// let enrollments = db.create_table::<Enrollment>()?;
    /// let takes = db.belongs_to_many(students, courses, enrollments,
    ///     fk!(Enrollment, student), fk!(Enrollment, course))?;
    /// let (ada, math, art) = (students.insert(&mut db, Student)?,
    ///     courses.insert(&mut db, Course)?, courses.insert(&mut db, Course)?);
    /// takes.add_through(&mut db, ada, math, Enrollment { student: ada, course: math, grade: 5 })?;
    /// assert_eq!(takes.through(&db, ada, math)?.map(|e| e.grade), Some(5));
    /// assert!(takes.through(&db, ada, art)?.is_none());
    /// assert_eq!(takes.inverse().through(&db, math, ada)?.map(|e| e.grade), Some(5));
    /// # Ok::<(), relata::Error>(())
    /// ```
    pub fn through<'a>(
        &self,
        db: &'a Db,
        source: impl AsId<S>,
        target: impl AsId<T>,
    ) -> Result<Option<Row<'a, J>>> {
        let (s, t) = (source.as_id(), target.as_id());
        self.resolve(&db.core, s, &[t])?;
        let Some(j) = self.pair(&db.core, s, t)? else {
            return Ok(None);
        };
        let fk = self.source_side.fk(&db.core)?;
        Ok(fk.targets.rows().get(j).map(|row| Row::raw(j, row)))
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
        self.resolve(&db.core, source, &targets)?;
        for t in targets {
            if self.pair(&db.core, source, t)?.is_none() {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

impl Db {
    /// Declares that `source` rows belong to many `target` rows through the junction table
    /// `junction`, whose non-null foreign keys `to_source` and `to_target` link a pair. Both
    /// keys get an index and `Cascade` on delete (deleting either endpoint deletes its junction
    /// rows), and the pair gets a unique index. Existing junction rows are checked.
    /// O(n log n) for the n junction rows already stored (they are indexed).
    pub fn belongs_to_many<S: Model, T: Model, J: Model>(
        &mut self,
        source: Table<S>,
        target: Table<T>,
        junction: Table<J>,
        to_source: ForeignKey<J, Id<S>>,
        to_target: ForeignKey<J, Id<T>>,
    ) -> Result<BelongsToMany<S, T, J>> {
        let keys: Vec<String> = [
            (to_source.name(), to_source.is_nullable()),
            (to_target.name(), to_target.is_nullable()),
        ]
        .into_iter()
        .filter(|&(_, nullable)| nullable)
        .map(|(key, _)| format!("{}.{key}", model_name::<J>()))
        .collect();
        if !keys.is_empty() {
            return Err(Error::Definition {
                message: format!(
                    "the junction key {} of a many-to-many must not be an Option: a junction row \
                     links exactly one pair; make it an `Id<_>`",
                    keys.join(" and ")
                ),
            });
        }
        self.transaction(|db| {
            // Each side is named for messages after the model it leads to: `Course through
            // Enrollment` from a student, `Student through Enrollment` from a course. (Keyed by
            // the junction's full type name, which no field name, the other key of these names,
            // can be.)
            let (s, t, j) = (model_name::<S>(), model_name::<T>(), model_name::<J>());
            // A many-to-many of a model with itself (`User` follows `User` through `Follow`)
            // leads to the same model both ways: each side is also named after the key it
            // leads through (`User through Follow.followee`).
            // (Keyed by the junction's full type name and the key: a path, which neither a
            // model's short name nor a field name, the first part of the other keys, can be.)
            let own = source.at == target.at;
            let through = |to: &'static str, by: &'static str| {
                if own {
                    built_name((std::any::type_name::<J>(), by), || {
                        format!("{to} through {j}.{by}")
                    })
                } else {
                    built_name((to, std::any::type_name::<J>()), || {
                        format!("{to} through {j}")
                    })
                }
            };
            let cascade = AssocOptions {
                built_name: true,
                ..AssocOptions::new().on_delete(OnDelete::Cascade)
            };
            let source_name = through(t, to_target.name());
            let source_side = db
                .has_many_with(source, junction, to_source, cascade.name(source_name))?
                .link;
            let target_name = through(s, to_source.name());
            let target_side = db
                .has_many_with(target, junction, to_target, cascade.name(target_name))?
                .link;
            let pair = move |j: &J| Some((*to_source.get(j)?, *to_target.get(j)?));
            // Named after both keys: neither is unique alone, and errors name the index.
            let pairs = db.core.add_key_index(
                junction.at,
                built_name((to_source.name(), to_target.name()), || {
                    format!("({}, {})", to_source.name(), to_target.name())
                }),
                KeyFn::Computed(Arc::new(pair)),
                None,
                true,
            )?;
            Ok(BelongsToMany {
                source_side,
                target_side,
                pairs,
                flipped: false,
            })
        })
    }
}
