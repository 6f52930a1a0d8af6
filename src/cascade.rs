//! Deletes and their referential actions, planned first and applied second.
//!
//! Planning reads the database only: starting from the rows asked for, it walks every
//! association whose source is a deleted row's table, in declaration order, and its children in
//! creation order (breadth first). `Cascade` children join the delete set, `SetNull` children are
//! recorded for nulling, `Restrict`/`NoAction` children are recorded for a check at the end: a
//! restricted child that is not itself deleted fails the whole plan, and nothing has changed.
//! Applying cannot fail: it nulls the recorded foreign keys (of rows not deleted), then deletes
//! rows in plan order, each leaving its indexes as it goes.
//!
//! Because every row enters the delete set at most once, cycles (self-references, mutual
//! references) terminate.

use std::any::Any;
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};

use crate::assoc::OnDelete;
use crate::db::Db;
use crate::error::{Error, Result};
use crate::id::RawId;

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

type RowSet = HashSet<(usize, RawId), BuildHasherDefault<RowHasher>>;

pub(crate) struct Plan {
    /// How many rows were asked for (they come first in `deletes`).
    pub(crate) roots: usize,
    pub(crate) deletes: Vec<(usize, RawId)>,
    nulls: Vec<(usize, RawId)>,
    deleted: RowSet,
}

impl Plan {
    /// Whether the plan deletes row `id` of `table`.
    pub(crate) fn deletes(&self, table: usize, id: RawId) -> bool {
        self.deleted.contains(&(table, id))
    }
}

fn describe(db: &Db, table: usize, id: RawId) -> String {
    format!("{}#{}", db.meta(table).name, id.seq)
}

/// Plans deleting `roots` (live rows) and everything their referential actions reach.
pub(crate) fn plan(db: &Db, roots: &[(usize, RawId)]) -> Result<Plan> {
    let mut plan = Plan {
        roots: 0,
        deletes: Vec::new(),
        nulls: Vec::new(),
        deleted: RowSet::with_capacity_and_hasher(16, Default::default()),
    };
    // Breadth first: `deletes` is its own queue, rows before `next` have been expanded.
    for &root in roots {
        if plan.deleted.insert(root) {
            plan.deletes.push(root);
            plan.roots += 1;
        }
    }
    let mut restricted = Vec::new();
    let mut next = 0;
    while let Some(&(table, id)) = plan.deletes.get(next) {
        next += 1;
        for &a in &db.meta(table).refs {
            let assoc = &db.assocs[a];
            let meta = assoc.meta();
            let children = assoc.children(db, id);
            match meta.on_delete {
                OnDelete::Cascade => {
                    plan.deletes.reserve(children.len());
                    for child in children {
                        if plan.deleted.insert((meta.target, child)) {
                            plan.deletes.push((meta.target, child));
                        }
                    }
                }
                OnDelete::SetNull => plan.nulls.extend(children.into_iter().map(|c| (a, c))),
                OnDelete::Restrict | OnDelete::NoAction => {
                    restricted.extend(children.into_iter().map(|c| (a, c, (table, id))));
                }
            }
        }
    }
    for (a, child, (table, id)) in restricted {
        let meta = db.assocs[a].meta();
        if !plan.deletes(meta.target, child) {
            return Err(Error::Restricted {
                row: describe(db, table, id),
                association: meta.name,
                blocking_row: describe(db, meta.target, child),
            });
        }
    }
    let deleted = &plan.deleted;
    plan.nulls
        .retain(|&(a, c)| !deleted.contains(&(db.assocs[a].meta().target, c)));
    Ok(plan)
}

/// Applies a plan made by [`plan`] on the same, unchanged database. Returns the rows asked for
/// (the roots, in order; the rows their actions deleted are dropped) and the report.
pub(crate) fn apply(db: &mut Db, plan: Plan) -> (Vec<Box<dyn Any + Send>>, Report) {
    // Counted per table and association while applying; named once at the end.
    let mut deleted = vec![0usize; db.tables.len()];
    let mut nulled = vec![0usize; db.assocs.len()];
    for &(a, child) in &plan.nulls {
        db.assocs[a].null_child(&mut db.tables, child);
        nulled[a] += 1;
    }
    let mut roots = Vec::with_capacity(plan.roots);
    for (k, &(table, id)) in plan.deletes.iter().enumerate() {
        let removed = db.remove_planned_row(table, id, k < plan.roots);
        debug_assert!(removed.is_some(), "planned rows are alive and deleted once");
        roots.extend(removed.flatten());
        deleted[table] += 1;
    }
    let mut report = Report::default();
    for (table, n) in deleted.into_iter().enumerate().filter(|&(_, n)| n > 0) {
        *report.deleted.entry(db.meta(table).name).or_default() += n;
    }
    for (a, n) in nulled.into_iter().enumerate().filter(|&(_, n)| n > 0) {
        let meta = db.assocs[a].meta();
        *report
            .nulled
            .entry((db.meta(meta.target).name, meta.field))
            .or_default() += n;
    }
    (roots, report)
}

/// What a delete did: rows deleted per model and foreign keys nulled per model and field.
///
/// Order of a delete: the rows asked for, then breadth first through the associations that
/// reference each deleted row's table (in the order they were declared) and their children (in
/// creation order). Foreign keys set to null are written before any row is removed.
///
/// ```
/// # use relata::{Db, Id, fk};
/// #[derive(Clone)] struct Post;
/// #[derive(Clone)] struct Comment { post: Id<Post> }
/// #[derive(Clone)] struct Like { comment: Option<Id<Comment>> }
/// let mut db = Db::new();
/// let (posts, comments, likes) = (db.create_table()?, db.create_table()?, db.create_table()?);
/// let post_comments = db.has_many(posts, comments, fk!(Comment, post))?; // non-null: Cascade
/// let comment_likes = db.has_many(comments, likes, fk!(Like, comment))?; // nullable: SetNull
/// let p = posts.insert(&mut db, Post)?;
/// let c = post_comments.create(&mut db, p, Comment { post: p })?;
/// comment_likes.create(&mut db, c, Like { comment: None })?;
///
/// let report = posts.delete(&mut db, p)?.report;
/// assert_eq!(report.deleted("Post"), 1);
/// assert_eq!(report.deleted("Comment"), 1);
/// assert_eq!(report.nulled("Like", "comment"), 1);
/// assert_eq!(report.to_string(), "deleted 1 Comment, 1 Post; nulled 1 Like.comment");
/// # Ok::<(), relata::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    deleted: BTreeMap<&'static str, usize>,
    nulled: BTreeMap<(&'static str, &'static str), usize>,
}

impl Report {
    /// Number of rows of `model` deleted.
    pub fn deleted(&self, model: &str) -> usize {
        self.deleted.get(model).copied().unwrap_or(0)
    }

    /// Number of rows of `model` whose foreign key `field` was set to null.
    pub fn nulled(&self, model: &str, field: &str) -> usize {
        self.nulled.get(&(model, field)).copied().unwrap_or(0)
    }

    /// Total number of rows deleted, of every model.
    pub fn total_deleted(&self) -> usize {
        self.deleted.values().sum()
    }

    /// Total number of foreign keys set to null.
    pub fn total_nulled(&self) -> usize {
        self.nulled.values().sum()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let deleted: Vec<String> = self
            .deleted
            .iter()
            .map(|(m, n)| format!("{n} {m}"))
            .collect();
        write!(f, "deleted {}", deleted.join(", "))?;
        if !self.nulled.is_empty() {
            let nulled: Vec<String> = self
                .nulled
                .iter()
                .map(|((m, field), n)| format!("{n} {m}.{field}"))
                .collect();
            write!(f, "; nulled {}", nulled.join(", "))?;
        }
        Ok(())
    }
}
