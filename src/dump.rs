//! A readable listing of a whole database, for failing tests and debugging.

use std::fmt;

use crate::core::Core;
use crate::id::RawId;
use crate::{Db, Model, Table};

/// Writes row `id` of table `index` with its `Debug`.
type ShowRow = fn(&Core, usize, RawId, &mut fmt::Formatter<'_>) -> fmt::Result;

/// Every table of a database with its rows and their links, as text: what
/// [`Db::dump`] returns. Its `Display` lists each table in declaration order, then each row in
/// creation order as `Model#seq` followed by the foreign keys it holds (`field=Model#seq`,
/// `field=null`) and, for the tables given to [`rows`](Dump::rows), the row's `Debug`.
///
/// ```
/// use relata::{Db, Id, fk};
/// #[derive(Clone, Debug)]
/// struct Post { title: &'static str }
/// #[derive(Clone, Debug)]
/// struct Comment { post: Option<Id<Post>> }
///
/// let mut db = Db::new();
/// let posts = db.create_table::<Post>()?;
/// let comments = db.create_table::<Comment>()?;
/// let post_comments = db.has_many(posts, comments, fk!(Comment, post))?;
/// let hello = posts.insert(&mut db, Post { title: "Hello" })?;
/// post_comments.create(&mut db, hello, Comment { post: None })?;
/// comments.insert(&mut db, Comment { post: None })?;
///
/// assert_eq!(
///     db.dump().rows(posts).to_string(),
///     "Post: 1 row\n  \
///        Post#1  Post { title: \"Hello\" }\n\
///      Comment: 2 rows\n  \
///        Comment#1  post=Post#1\n  \
///        Comment#2  post=null\n"
/// );
/// # Ok::<(), relata::Error>(())
/// ```
pub struct Dump<'a> {
    db: &'a Db,
    rows: Vec<(usize, ShowRow)>,
}

impl Db {
    /// The database as text: tables, rows and links (see [`Dump`]). Building it is O(1);
    /// displaying it O(n log n) in the number of rows.
    pub fn dump(&self) -> Dump<'_> {
        Dump {
            db: self,
            rows: Vec::new(),
        }
    }
}

fn show_row<T: Model + fmt::Debug>(
    core: &Core,
    index: usize,
    id: RawId,
    f: &mut fmt::Formatter<'_>,
) -> fmt::Result {
    match core.data::<T>(index).and_then(|data| data.rows().get(id)) {
        Some(row) => write!(f, "  {row:?}"),
        None => Ok(()),
    }
}

impl Dump<'_> {
    /// Also shows each row of `table` with its `Debug`. A handle another database declared is
    /// ignored. O(1).
    pub fn rows<T: Model + fmt::Debug>(mut self, table: Table<T>) -> Self {
        if self.db.core.table::<T>(table.at).is_some() {
            self.rows.push((table.at.index, show_row::<T>));
        }
        self
    }
}

impl fmt::Display for Dump<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let core = &self.db.core;
        for t in 0..core.table_count() {
            let name = core.table_name(t);
            let ids = core.ids_of(t);
            let plural = if ids.len() == 1 { "" } else { "s" };
            writeln!(f, "{name}: {} row{plural}", ids.len())?;
            let keys = core.keys_of(t);
            let show = self
                .rows
                .iter()
                .find(|&&(i, _)| i == t)
                .map(|&(_, show)| show);
            for id in ids {
                write!(f, "  {name}#{}", id.seq())?;
                for (field, key) in &keys {
                    write!(f, "  {field}={}", key(id))?;
                }
                if let Some(show) = show {
                    show(core, t, id, f)?;
                }
                writeln!(f)?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Dump<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
