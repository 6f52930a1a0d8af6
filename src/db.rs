//! The database value: the façade over the private core.

use crate::core::Core;
use crate::error::IntegrityError;

/// A type that can be stored as a row: any `Clone + Send + Sync + 'static` type.
///
/// Rows are cloned when a write touches a part of the storage still shared with a snapshot or an
/// open transaction, so cheap clones (small structs, `Arc<str>` for long text) keep those fast.
/// A `Clone` that panics aborts the operation that ran it and leaves the database as it was.
pub trait Model: Clone + Send + Sync + 'static {}
impl<T: Clone + Send + Sync + 'static> Model for T {}

/// An in-memory relational database: typed tables, foreign keys with their indexes, and
/// associations between tables.
///
/// A `Db` is a persistent value: [`Clone`] (or [`fork`](Db::fork)) is O(1) whatever the number of
/// rows, and the copies are independent. Transactions are built on that (see
/// [`transaction`](Db::transaction)).
///
/// Tables and associations are declared on the database and handed back as typed, `Copy`
/// handles whose methods do the work:
///
/// ```
/// use relata::{Db, Id, fk};
///
/// #[derive(Clone, Debug)]
/// struct Post { title: String }
/// #[derive(Clone, Debug)]
/// struct Comment { post: Option<Id<Post>>, body: String }
///
/// let mut db = Db::new();
/// let posts = db.create_table::<Post>()?;
/// let comments = db.create_table::<Comment>()?;
/// let post_comments = db.has_many(posts, comments, fk!(Comment, post))?;
///
/// let hello = posts.insert(&mut db, Post { title: "Hello".into() })?;
/// let first = post_comments.create(&mut db, hello, Comment { post: None, body: "First!".into() })?;
/// assert_eq!(post_comments.count(&db, hello)?, 1);
/// assert_eq!(comments.get(&db, first)?.post, Some(hello));
/// # Ok::<(), relata::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct Db {
    pub(crate) core: Core,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.core.sizes()).finish()
    }
}

impl Db {
    /// The schema as text, one line per table, index and association, in declaration order:
    /// what an [`Archive`](crate::Archive) records to recognise the schema it was saved with,
    /// and a quick way to see what a schema declared. Models are named without their module
    /// path, except two models of one name (from two modules), named by their full paths so
    /// that an archive never mistakes one for the other. O(declarations).
    ///
    /// ```
    /// # use relata::{Db, Id, fk};
    /// #[derive(Clone)] struct Post;
    /// #[derive(Clone)] struct Comment { post: Option<Id<Post>> }
    /// let mut db = Db::new();
    /// let (posts, comments) = (db.create_table::<Post>()?, db.create_table::<Comment>()?);
    /// db.has_many(posts, comments, fk!(Comment, post))?;
    /// assert_eq!(
    ///     db.schema(),
    ///     "table Post\ntable Comment\n  key post\n\
    ///      assoc Comment: Post has many Comment by Comment.post (nullable) -> Post id; \
    ///      on delete SetNull, on update Cascade, unlink Nullify"
    /// );
    /// # Ok::<(), relata::Error>(())
    /// ```
    pub fn schema(&self) -> String {
        self.core.schema().join("\n")
    }

    /// An empty database with no tables. O(1).
    pub fn new() -> Self {
        Db::default()
    }

    /// An independent copy of the database. O(1) in the number of rows: the copies share their
    /// storage until one of them writes, and then only the touched paths are copied. What a
    /// held fork costs is those copies: the first write to a row after the fork copies its
    /// storage leaf (32 rows) and the nodes above it, and the leaves of every index the write
    /// moves, so while a fork is held each row written since takes up to a few kilobytes
    /// (freed when the fork is dropped), and the first write pays a few microseconds for the
    /// copies where a write to unshared storage takes well under one. A source with 65 to
    /// 2,047 children copies its list of children whole on its first change after the fork
    /// (17–26 bytes per child, in one `memcpy`); below that the list is small, above it a
    /// B-tree copies O(log k) nodes. Handles
    /// declared before the fork work in both copies; tables and associations declared after it
    /// belong to the copy that declared them. An id issued in one copy never resolves in the
    /// other.
    ///
    /// ```
    /// # use relata::Db;
    /// #[derive(Clone, Debug, PartialEq)]
    /// struct Player { score: u32 }
    /// let mut db = Db::new();
    /// let players = db.create_table::<Player>()?;
    /// let p = players.insert(&mut db, Player { score: 1 })?;
    /// let snapshot = db.fork();
    /// players.update(&mut db, p, Player { score: 2 })?;
    /// assert_eq!(players.get(&snapshot, p)?.score, 1);
    /// assert_eq!(players.get(&db, p)?.score, 2);
    /// # Ok::<(), relata::Error>(())
    /// ```
    pub fn fork(&self) -> Db {
        self.clone()
    }

    /// Recomputes every index (foreign keys, unique and secondary indexes) from the rows and
    /// compares it with the maintained one; also checks that no foreign key dangles. O(n log n).
    /// Meant for tests: relata keeps this true after every operation.
    ///
    /// ```
    /// # use relata::Db;
    /// let db = Db::new();
    /// db.check_integrity()?;
    /// # Ok::<(), relata::IntegrityError>(())
    /// ```
    pub fn check_integrity(&self) -> std::result::Result<(), IntegrityError> {
        self.core.check_integrity()
    }
}
