//! What a delete did: the [`Report`] of its referential actions.

use std::collections::BTreeMap;
use std::fmt;

use crate::core::Deletion;
use crate::id::{Id, RowRef};
use crate::table::Table;

/// What a delete did: every row it deleted and every foreign key it set to null, by table and
/// by id.
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
/// let l = comment_likes.create(&mut db, c, Like { comment: None })?;
///
/// let report = posts.delete(&mut db, p)?.report;
/// assert_eq!(report.deleted_in(comments), [c]);
/// assert_eq!(report.nulled_in(likes), [l]);
/// assert!(report.was_deleted(p));
/// assert_eq!(report.deleted("Comment"), 1);
/// assert_eq!(report.nulled("Like", "comment"), 1);
/// assert_eq!(report.to_string(), "deleted 1 Comment, 1 Post; nulled 1 Like.comment");
/// assert_eq!(
///     format!("{report:?}"),
///     "Report { deleted: [Post#1, Comment#1], nulled: [Like#1.comment] }"
/// );
/// # Ok::<(), relata::Error>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Report {
    deletion: Deletion,
}

impl Report {
    pub(crate) fn new(deletion: Deletion) -> Self {
        Report { deletion }
    }

    /// The rows of `table` deleted, in the order they were deleted.
    /// O(d) for the d rows the report lists.
    pub fn deleted_in<T>(&self, table: Table<T>) -> Vec<Id<T>> {
        self.deletion
            .deleted
            .iter()
            .filter(|(at, ..)| *at == table.at)
            .map(|&(_, _, id)| Id::from_raw(id))
            .collect()
    }

    /// The rows of `table` whose foreign key was set to null (by any of its associations).
    /// O(d) for the d keys the report lists.
    pub fn nulled_in<T>(&self, table: Table<T>) -> Vec<Id<T>> {
        self.deletion
            .nulled
            .iter()
            .filter(|n| n.table == table.at)
            .map(|n| Id::from_raw(n.row))
            .collect()
    }

    /// Whether the delete removed row `id`. O(d) for the d rows the report lists.
    pub fn was_deleted<T>(&self, id: Id<T>) -> bool {
        self.deletion.deleted.iter().any(|&(_, _, d)| d == id.raw)
    }

    /// Whether the delete set a foreign key of row `id` to null.
    /// O(d) for the d keys the report lists.
    pub fn was_nulled<T>(&self, id: Id<T>) -> bool {
        self.deletion.nulled.iter().any(|n| n.row == id.raw)
    }

    /// Every row deleted, in order, named by model and creation number. O(1) per row.
    pub fn deleted_rows(&self) -> impl Iterator<Item = RowRef> + '_ {
        self.deletion
            .deleted
            .iter()
            .map(|&(_, model, id)| RowRef::new(model, id))
    }

    /// Every row whose foreign key was set to null, with that key's field. O(1) per row.
    pub fn nulled_rows(&self) -> impl Iterator<Item = (RowRef, &'static str)> + '_ {
        self.deletion
            .nulled
            .iter()
            .map(|n| (RowRef::new(n.model, n.row), n.field))
    }

    /// Number of rows deleted whose model is named `model` (all tables of that name: prefer
    /// [`deleted_in`](Report::deleted_in) when two models share a name).
    /// O(d) for the d rows the report lists.
    pub fn deleted(&self, model: &str) -> usize {
        self.deletion
            .deleted
            .iter()
            .filter(|(_, m, _)| *m == model)
            .count()
    }

    /// Number of rows of `model` whose foreign key `field` was set to null.
    /// O(d) for the d keys the report lists.
    pub fn nulled(&self, model: &str, field: &str) -> usize {
        self.deletion
            .nulled
            .iter()
            .filter(|n| n.model == model && n.field == field)
            .count()
    }

    /// Total number of rows deleted, of every model. O(1).
    pub fn total_deleted(&self) -> usize {
        self.deletion.deleted.len()
    }

    /// Total number of foreign keys set to null. O(1).
    pub fn total_nulled(&self) -> usize {
        self.deletion.nulled.len()
    }
}

/// The rows by model and creation number: `Report { deleted: [Post#1, Comment#1], nulled:
/// [Like#1.comment] }`.
impl fmt::Debug for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Shown<T>(T);
        impl<T: fmt::Display> fmt::Debug for Shown<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }
        let deleted: Vec<_> = self.deleted_rows().map(Shown).collect();
        let nulled: Vec<_> = self
            .nulled_rows()
            .map(|(row, field)| Shown(format!("{row}.{field}")))
            .collect();
        f.debug_struct("Report")
            .field("deleted", &deleted)
            .field("nulled", &nulled)
            .finish()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut deleted: BTreeMap<&str, usize> = BTreeMap::new();
        for (_, model, _) in &self.deletion.deleted {
            *deleted.entry(model).or_default() += 1;
        }
        let deleted: Vec<String> = deleted.iter().map(|(m, n)| format!("{n} {m}")).collect();
        write!(f, "deleted {}", deleted.join(", "))?;
        if !self.deletion.nulled.is_empty() {
            let mut nulled: BTreeMap<(&str, &str), usize> = BTreeMap::new();
            for n in &self.deletion.nulled {
                *nulled.entry((n.model, n.field)).or_default() += 1;
            }
            let nulled: Vec<String> = nulled
                .iter()
                .map(|((m, field), n)| format!("{n} {m}.{field}"))
                .collect();
            write!(f, "; nulled {}", nulled.join(", "))?;
        }
        Ok(())
    }
}
