//! Change sets: what changed between two states of one database lineage.

use std::collections::BTreeSet;
use std::fmt;

use crate::assoc::{BelongsTo, BelongsToMany, HasMany, HasOne, Link};
use crate::core::SlotChange;
use crate::db::{Db, Model};
use crate::error::{Error, Result};
use crate::id::{Id, RawId};
use crate::key::Key;
use crate::table::{Row, Table};

/// The changes between two states of one database lineage: a database and a fork of it, a
/// snapshot and the state after a transaction, two states published by a
/// [`SharedDb`](crate::SharedDb). Made by [`Db::changes_since`], or received from a
/// subscription ([`SharedDb::subscribe`](crate::SharedDb::subscribe)).
///
/// A change set holds both states (two O(1) forks) and computes what you ask of it: the rows
/// of a table inserted, deleted and updated ([`table`](ChangeSet::table)), the links of an
/// association added and removed ([`links`](ChangeSet::links)). Storage the two states share is
/// skipped by pointer, so the cost is proportional to the changes, not to the size of the
/// database, when one state derives from the other; two unrelated states of one lineage are
/// compared in full. Every list is in creation order of its rows.
///
/// ```
/// use relata::{Db, Id, fk};
/// #[derive(Clone, Debug, PartialEq)] struct Post { title: &'static str }
/// #[derive(Clone, Debug, PartialEq)] struct Comment { post: Option<Id<Post>> }
/// let mut db = Db::new();
/// let (posts, comments) = (db.create_table::<Post>()?, db.create_table::<Comment>()?);
/// let post_comments = db.has_many(posts, comments, fk!(Comment, post))?;
/// let hello = posts.insert(&mut db, Post { title: "Hello" })?;
///
/// let before = db.fork();
/// posts.update(&mut db, hello, Post { title: "Hello, world" })?;
/// let c = post_comments.create(&mut db, hello, Comment { post: None })?;
///
/// let changes = db.changes_since(&before);
/// let post_changes = changes.table(posts)?;
/// assert_eq!(post_changes.updated.len(), 1);
/// assert_eq!(post_changes.updated[0].new.title, "Hello, world");
/// assert_eq!(changes.table(comments)?.inserted[0].id(), c);
/// assert_eq!(changes.links(post_comments)?.added, [(hello, c)]);
///
/// // A replica at the earlier state catches up by applying the change set.
/// let mut replica = before.fork();
/// changes.apply_to(&mut replica)?;
/// assert!(replica.changes_since(&db).table(posts)?.is_empty());
/// # Ok::<(), relata::Error>(())
/// ```
#[derive(Clone)]
pub struct ChangeSet {
    before: Db,
    after: Db,
    commit: Option<u64>,
}

/// Shows, per table whose rows differ, how many rows were inserted, deleted and written (a row
/// written with an equal value counts, as for [`ChangeSet::is_empty`]): what an
/// `assert!(changes.is_empty(), "{changes:?}")` prints. O(changes).
impl fmt::Debug for ChangeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Counts([usize; 3]);
        impl fmt::Debug for Counts {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let [inserted, deleted, written] = self.0;
                write!(
                    f,
                    "{{ inserted: {inserted}, deleted: {deleted}, written: {written} }}"
                )
            }
        }
        let mut out = f.debug_struct("ChangeSet");
        out.field("commit", &self.commit);
        let (before, after) = (&self.before.core, &self.after.core);
        if before.same_tables(after) {
            let tables = before.row_changes(after);
            let tables = tables
                .into_iter()
                .map(|(name, counts)| (name, Counts(counts)));
            out.field(
                "tables",
                &tables.collect::<std::collections::BTreeMap<_, _>>(),
            );
        } else {
            out.field("before", &self.before)
                .field("after", &self.after);
        }
        out.finish()
    }
}

/// What changed in one table: its rows inserted, deleted and updated, each in creation order.
#[derive(Debug)]
pub struct TableChanges<'a, T> {
    /// Rows the later state has and the earlier did not.
    pub inserted: Vec<Row<'a, T>>,
    /// Rows the earlier state had and the later has not, with their last values.
    pub deleted: Vec<Row<'a, T>>,
    /// Rows both states have, with different values.
    pub updated: Vec<Updated<'a, T>>,
}

impl<T> TableChanges<'_, T> {
    /// Whether nothing changed in the table. O(1).
    pub fn is_empty(&self) -> bool {
        self.inserted.is_empty() && self.deleted.is_empty() && self.updated.is_empty()
    }

    /// Number of rows inserted, deleted or updated. O(1).
    pub fn len(&self) -> usize {
        self.inserted.len() + self.deleted.len() + self.updated.len()
    }
}

/// A row both states have, with its value before and after.
#[derive(Debug)]
pub struct Updated<'a, T> {
    /// The row.
    pub id: Id<T>,
    /// Its value in the earlier state.
    pub old: &'a T,
    /// Its value in the later state.
    pub new: &'a T,
}

/// What changed in one association: the `(source, target)` links added and removed, in order
/// of source, then target. Moving a target from one source to another is one removed and one
/// added link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkChanges<S, T> {
    /// Links the later state has and the earlier did not.
    pub added: Vec<(Id<S>, Id<T>)>,
    /// Links the earlier state had and the later has not.
    pub removed: Vec<(Id<S>, Id<T>)>,
}

impl<S, T> LinkChanges<S, T> {
    /// Whether no link changed. O(1).
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty()
    }
}

/// An association handle whose links a [`ChangeSet`] can list: [`HasMany`], [`BelongsTo`],
/// [`HasOne`] (links are listed source first, whichever side the handle is). A many-to-many's
/// pairs: [`ChangeSet::pairs`].
pub trait Association: Copy {
    /// The model whose rows the keys reference.
    type Source: Model;
    /// The model holding the keys.
    type Target: Model;
    /// The key type.
    type Key: Key;
    #[doc(hidden)]
    #[expect(
        private_interfaces,
        reason = "sealed: only relata's handles implement it"
    )]
    fn __link(&self) -> Link<Self::Source, Self::Target, Self::Key>;
}

impl<S: Model, T: Model, K: Key> Association for HasMany<S, T, K> {
    type Source = S;
    type Target = T;
    type Key = K;
    #[expect(private_interfaces, reason = "sealed")]
    fn __link(&self) -> Link<S, T, K> {
        self.link
    }
}
impl<S: Model, T: Model, K: Key> Association for BelongsTo<T, S, K> {
    type Source = S;
    type Target = T;
    type Key = K;
    #[expect(private_interfaces, reason = "sealed")]
    fn __link(&self) -> Link<S, T, K> {
        self.link
    }
}
impl<S: Model, T: Model, K: Key> Association for HasOne<S, T, K> {
    type Source = S;
    type Target = T;
    type Key = K;
    #[expect(private_interfaces, reason = "sealed")]
    fn __link(&self) -> Link<S, T, K> {
        self.link
    }
}

/// A handle the change set's later state declared but its earlier one did not: said so, since
/// the caller holds the handle of the database it asked (`changes_since` on two databases of
/// different lineages, or a handle declared between the two states).
#[cold]
fn earlier(error: Error) -> Error {
    match error {
        Error::UnknownHandle { handle } => Error::UnknownHandle {
            handle: format!(
                "{handle} (asked of a change set: in its earlier state, which is another \
                 database or predates the handle)"
            ),
        },
        other => other,
    }
}

impl Db {
    /// The changes that lead from `before` to this database: see [`ChangeSet`]. O(1); each
    /// question asked of it costs O(changes) when one state derives from the other.
    pub fn changes_since(&self, before: &Db) -> ChangeSet {
        ChangeSet::new(before.fork(), self.fork(), None)
    }
}

impl ChangeSet {
    pub(crate) fn new(before: Db, after: Db, commit: Option<u64>) -> Self {
        ChangeSet {
            before,
            after,
            commit,
        }
    }

    /// Whether nothing changed: both states declare the same tables and hold the same rows,
    /// none of them written in between, so [`apply_to`](ChangeSet::apply_to) would write
    /// nothing (a row inserted and deleted in between is in neither state). A row written with
    /// the value it had (a write undone by writing the old value back) counts as a change, as
    /// in `apply_to`; writes rolled back (a failed call, a transaction or savepoint rolled
    /// back) do not. A feed subscriber can skip such commits.
    /// O(changes) when one state derives from the other, as every change set does.
    ///
    /// ```
    /// # use relata::Db;
    /// #[derive(Clone)]
    /// struct Tick(u64);
    /// let mut db = Db::new();
    /// let ticks = db.create_table::<Tick>()?;
    /// let before = db.fork();
    /// assert!(db.changes_since(&before).is_empty());
    /// ticks.insert(&mut db, Tick(1))?;
    /// assert!(!db.changes_since(&before).is_empty());
    /// # Ok::<(), relata::Error>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.before.core.same_rows(&self.after.core)
    }

    /// The earlier state. O(1).
    pub fn before(&self) -> &Db {
        &self.before
    }

    /// The later state. O(1).
    pub fn after(&self) -> &Db {
        &self.after
    }

    /// For a change set from a [`SharedDb`](crate::SharedDb) subscription: the number of the
    /// commit that made it (commits are numbered from 1 in order); `None` otherwise. O(1).
    pub fn commit(&self) -> Option<u64> {
        self.commit
    }

    /// What changed in `table`: rows inserted, deleted, and updated (those whose value differs,
    /// by `PartialEq`). `UnknownHandle` unless both states declared `table`. O(changes) when
    /// the states share storage, O(n) otherwise.
    pub fn table<T: Model + PartialEq>(&self, table: Table<T>) -> Result<TableChanges<'_, T>> {
        let after = table.rows(&self.after)?;
        let before = table.rows(&self.before).map_err(earlier)?;
        let mut changes = TableChanges {
            inserted: Vec::new(),
            deleted: Vec::new(),
            updated: Vec::new(),
        };
        before.diff(after, &mut |change| match change {
            SlotChange::Inserted(id, row) => changes.inserted.push(Row::raw(id, row)),
            SlotChange::Deleted(id, row) => changes.deleted.push(Row::raw(id, row)),
            SlotChange::Kept(id, old, new) if old != new => changes.updated.push(Updated {
                id: Id::from_raw(id),
                old,
                new,
            }),
            SlotChange::Kept(..) => {}
        });
        changes.inserted.sort_unstable_by_key(|r| r.id());
        changes.deleted.sort_unstable_by_key(|r| r.id());
        changes.updated.sort_unstable_by_key(|u| u.id);
        Ok(changes)
    }

    /// The links of `association` added and removed, as pairs (source, target) sorted by
    /// source then target (no `PartialEq` needed). A link is the source a target's key names:
    /// for a key by attribute ([`Db::has_many_by`]), a target whose key followed its source's
    /// new value lists nothing, and one whose key stayed while another source took that value
    /// lists the move. O(changed rows of the two tables + targets holding a key that changed
    /// hands) when the states share storage. `UnknownHandle` unless both states declared it.
    pub fn links<A: Association>(
        &self,
        association: A,
    ) -> Result<LinkChanges<A::Source, A::Target>> {
        let link = association.__link();
        let now = link.fk(&self.after.core)?;
        let was = link.fk(&self.before.core).map_err(earlier)?;
        let key = was.index.foreign_key();
        let source_in = |db: &Db, row: &A::Target| -> Option<RawId> {
            let fk = link.fk(&db.core).ok()?;
            fk.index.resolve(&db.core, fk.index.foreign_key().get(row)?)
        };
        let mut changes = LinkChanges {
            added: Vec::new(),
            removed: Vec::new(),
        };
        let mut record = |added: bool, source: Option<RawId>, target: RawId| {
            if let Some(source) = source {
                let pair = (Id::from_raw(source), Id::from_raw(target));
                if added {
                    changes.added.push(pair);
                } else {
                    changes.removed.push(pair);
                }
            }
        };
        // Keys by attribute: the targets holding a key that a source took, gave up or lost
        // may name another source though their rows are the same. Those whose rows differ are
        // resolved with the rest below; the others after.
        let mut unchanged: BTreeSet<RawId> = was
            .index
            .keys_changing_hands(&self.before.core, &self.after.core)
            .iter()
            .flat_map(|key| now.index.holders(key))
            .collect();
        was.targets
            .rows()
            .diff(now.targets.rows(), &mut |change| match change {
                SlotChange::Inserted(id, row) => record(true, source_in(&self.after, row), id),
                SlotChange::Deleted(id, row) => record(false, source_in(&self.before, row), id),
                SlotChange::Kept(id, old, new) => {
                    if !unchanged.is_empty() {
                        unchanged.remove(&id);
                    }
                    // By the rows the keys name, not the keys: an attribute key may follow
                    // its source's new value (no link changed) or stay while another source
                    // takes that value (a link changed).
                    let (was, now) = if key.get(old).is_none() && key.get(new).is_none() {
                        (None, None)
                    } else {
                        (source_in(&self.before, old), source_in(&self.after, new))
                    };
                    if was != now {
                        record(false, was, id);
                        record(true, now, id);
                    }
                }
            });
        for id in unchanged {
            // A holder in a reused slot is a new row: the diff listed it as inserted.
            let (Some(old), Some(new)) = (was.targets.rows().get(id), now.targets.rows().get(id))
            else {
                continue;
            };
            let (was, now) = (source_in(&self.before, old), source_in(&self.after, new));
            if was != now {
                record(false, was, id);
                record(true, now, id);
            }
        }
        changes.added.sort_unstable();
        changes.removed.sort_unstable();
        Ok(changes)
    }

    /// The pairs of the many-to-many `association` linked and unlinked, as (source, target)
    /// sorted by source then target. A pair unlinked and linked again (its junction row
    /// deleted, another inserted) is in neither list; a junction row whose payload alone
    /// changed is in neither (see [`table`](ChangeSet::table) of the junction table for
    /// payloads). O(changed junction rows) when the states share storage. `UnknownHandle`
    /// unless both states declared it.
    ///
    /// ```
    /// # use relata::{Db, Id, fk};
    /// # #[derive(Clone)] struct Student;
    /// # #[derive(Clone)] struct Course;
    /// # #[derive(Clone, Default)] struct Enrollment { student: Id<Student>, course: Id<Course> }
    /// let mut db = Db::new();
    /// let (students, courses, enrollments) =
    ///     (db.create_table()?, db.create_table()?, db.create_table()?);
    /// let takes = db.belongs_to_many(students, courses, enrollments,
    ///     fk!(Enrollment, student), fk!(Enrollment, course))?;
    /// let (ada, math, art) = (students.insert(&mut db, Student)?,
    ///     courses.insert(&mut db, Course)?, courses.insert(&mut db, Course)?);
    /// takes.add(&mut db, ada, math)?;
    /// let before = db.fork();
    /// takes.set(&mut db, ada, [art])?;
    /// let pairs = db.changes_since(&before).pairs(takes)?;
    /// assert_eq!((pairs.added, pairs.removed), (vec![(ada, art)], vec![(ada, math)]));
    /// # Ok::<(), relata::Error>(())
    /// ```
    pub fn pairs<S: Model, T: Model, J: Model>(
        &self,
        association: BelongsToMany<S, T, J>,
    ) -> Result<LinkChanges<S, T>> {
        let (to_source, to_target) = (association.source_link(), association.target_link());
        let now = to_source.fk(&self.after.core)?;
        let was = to_source.fk(&self.before.core).map_err(earlier)?;
        let to_target = to_target
            .fk(&self.before.core)
            .map_err(earlier)?
            .index
            .foreign_key();
        let to_source = was.index.foreign_key();
        let pair = |row: &J| Some((*to_source.get(row)?, *to_target.get(row)?));
        let (mut before, mut after) = (BTreeSet::new(), BTreeSet::new());
        was.targets
            .rows()
            .diff(now.targets.rows(), &mut |change| match change {
                SlotChange::Inserted(_, row) => after.extend(pair(row)),
                SlotChange::Deleted(_, row) => before.extend(pair(row)),
                SlotChange::Kept(_, old, new) => {
                    before.extend(pair(old));
                    after.extend(pair(new));
                }
            });
        Ok(LinkChanges {
            added: after.difference(&before).copied().collect(),
            removed: before.difference(&after).copied().collect(),
        })
    }

    /// Applies the change set to `db`, a state of the same lineage that holds what the change
    /// set starts from (typically a copy of [`before`](ChangeSet::before): a replica): every row
    /// that differs between the two states is made in `db` what it is in
    /// [`after`](ChangeSet::after), with its id. Atomic; afterwards the changed rows are checked
    /// against every index as any write is. [`Error::Mismatch`](crate::Error::Mismatch) if `db`
    /// does not hold the rows the change set changes or deletes (or a slot it fills is taken).
    /// [`Error::UnknownHandle`](crate::Error::UnknownHandle) if `db`, `before` and `after` did
    /// not declare the same tables: a change set whose write declared a table cannot be applied
    /// (start the replica again from [`after`](ChangeSet::after)); indexes may differ.
    ///
    /// A row both the change set and `db` changed takes the change set's value (the last writer
    /// wins: rows need not be `PartialEq`, so `db`'s value is not compared with the earlier
    /// state's). Rows the change set does not change are left as `db` has them when the two
    /// states share a history (a fork and its writes, however many transactions and snapshots
    /// in between, consecutive commits of a feed): `db` may have changed or deleted those. A
    /// row the history wrote with an equal value counts as changed (rows need not be
    /// `PartialEq`). Between states of unrelated histories (say, two loads of one archive,
    /// each changed), rows stored beside a changed one are rewritten with their value in the
    /// change set, which is equal in both states.
    ///
    /// A change set that spans a load ([`Archive`](crate::Archive): rows created after a load
    /// carry the load's lineage) applies to a copy of its earlier state too: each table then
    /// continues the load's lineage, so those rows keep their ids, and `db` and the loaded
    /// database go on like two forks. That is refused with `Mismatch` where `db` holds rows the
    /// change set does not remove and the load's lineage does not know (rows `db` created after
    /// the save was taken), which would lose their ids.
    ///
    /// Returns how many rows it wrote: those [`table`](ChangeSet::table) lists, plus those
    /// written with an equal value and those rewritten neighbours. O(changes) when the states
    /// share storage; O(rows) more for a table that continues a load's lineage.
    pub fn apply_to(&self, db: &mut Db) -> Result<usize> {
        let mut w = db.core.write();
        let changed = w.apply_changes(&self.before.core, &self.after.core)?;
        w.commit()?;
        Ok(changed)
    }
}
