//! The test-suite workload of issue 11: a fixture built once, then per test a fresh copy of it,
//! 20 mixed operations and a drop, on every store behind one [`SuiteStore`] trait.
//!
//! The fixture: authors, their posts (`Post.author`, non-null, on delete cascade) and the posts'
//! comments (`Comment.post`, nullable, on delete cascade); 100 + 1,900 + 8,000 = 10,000 rows at
//! [`SuiteSpec::issue_11`]. A test ([`SuiteOp`] × 20, see [`tests`]) creates 2 posts and 3
//! comments, moves 4 comments (add), unlinks 3 (remove), reads 3 posts' comments (get) and
//! counts 3, then deletes a comment and a post (with its comments). Reads add up into a
//! checksum that every store must agree on.
//!
//! - [`RelataSuite`]: `db.fork()` of the fixture per test;
//! - [`SqliteSuite`]: per test a new `:memory:` connection filled from the fixture's by the
//!   backup API (the way SQLite copies a database), `PRAGMA foreign_keys=ON`, cached statements;
//! - [`BaselineSuite`]: `clone()` of the hand-written fixture's `Vec`s.

use relata::{AssocOptions, Db, HasMany, Id, OnDelete, Table, fk};
use rusqlite::Connection;
use rusqlite::backup::{Backup, StepResult};

use crate::Rng;

/// The size of the fixture.
#[derive(Clone, Copy, Debug)]
pub struct SuiteSpec {
    /// Number of authors.
    pub authors: usize,
    /// Number of posts.
    pub posts: usize,
    /// Number of comments.
    pub comments: usize,
    /// Seed of the fixture and of the tests.
    pub seed: u64,
}

impl SuiteSpec {
    /// 10,000 rows: 100 authors, 1,900 posts, 8,000 comments.
    pub fn issue_11() -> Self {
        SuiteSpec {
            authors: 100,
            posts: 1_900,
            comments: 8_000,
            seed: 0x7e57,
        }
    }
}

/// The fixture's content, by index: the author of each post, the post of each comment.
pub struct SuiteFixture {
    /// Author index of each post.
    pub post_author: Vec<u32>,
    /// Score of each post.
    pub post_score: Vec<u32>,
    /// Post index of each comment.
    pub comment_post: Vec<u32>,
    /// Payload of each comment.
    pub comment_payload: Vec<u32>,
}

impl SuiteFixture {
    /// The fixture of `spec`, drawn from its seed.
    pub fn new(spec: &SuiteSpec) -> Self {
        let mut rng = Rng(spec.seed);
        SuiteFixture {
            post_author: (0..spec.posts)
                .map(|_| rng.below(spec.authors) as u32)
                .collect(),
            post_score: (0..spec.posts).map(|_| rng.below(100) as u32).collect(),
            comment_post: (0..spec.comments)
                .map(|_| rng.below(spec.posts) as u32)
                .collect(),
            comment_payload: (0..spec.comments).map(|_| rng.below(1000) as u32).collect(),
        }
    }
}

/// A post: one of the fixture's, or the `n`th created by the test.
#[derive(Clone, Copy, Debug)]
pub enum PostRef {
    /// A fixture post, by index.
    Fixture(u32),
    /// A post the test created, by creation order.
    New(u32),
}

/// One operation of a test. Comments named by index are fixture comments.
#[derive(Clone, Copy, Debug)]
pub enum SuiteOp {
    /// Inserts a post for a fixture author.
    CreatePost {
        /// Author index.
        author: u32,
        /// Its score.
        score: u32,
    },
    /// Creates a comment on a post (`HasMany::create`).
    CreateComment {
        /// The post.
        post: PostRef,
        /// Its payload.
        payload: u32,
    },
    /// Moves a fixture comment to a post (`HasMany::add`).
    Add {
        /// The post.
        post: PostRef,
        /// Comment index.
        comment: u32,
    },
    /// Unlinks a fixture comment from its post (`HasMany::remove`).
    Remove {
        /// The comment's post.
        post: PostRef,
        /// Comment index.
        comment: u32,
    },
    /// Sums the payloads of a post's comments (`HasMany::get`).
    Get {
        /// The post.
        post: PostRef,
    },
    /// Counts a post's comments (`HasMany::count`).
    Count {
        /// The post.
        post: PostRef,
    },
    /// Deletes a fixture comment.
    DeleteComment {
        /// Comment index.
        comment: u32,
    },
    /// Deletes a fixture post and its comments.
    DeletePost {
        /// Post index.
        post: u32,
    },
}

/// `count` tests of 20 operations each on the fixture of `spec`, drawn from its seed. Every
/// operation is valid: a comment is moved, unlinked or deleted at most once per test, and the
/// deletes come last.
pub fn tests(spec: &SuiteSpec, fixture: &SuiteFixture, count: usize) -> Vec<Vec<SuiteOp>> {
    let mut rng = Rng(spec.seed ^ 0x5417e);
    (0..count)
        .map(|_| {
            let mut touched: Vec<u32> = Vec::new();
            let mut created = 0u32;
            let mut fresh_comment = |rng: &mut Rng| loop {
                let c = rng.below(spec.comments) as u32;
                if !touched.contains(&c) {
                    touched.push(c);
                    return c;
                }
            };
            let mut ops = Vec::with_capacity(20);
            let any_post = |rng: &mut Rng, created: u32| {
                if created > 0 && rng.below(4) == 0 {
                    PostRef::New(rng.below(created as usize) as u32)
                } else {
                    PostRef::Fixture(rng.below(spec.posts) as u32)
                }
            };
            for step in 0..18 {
                let op = match step {
                    0 | 13 => {
                        created += 1;
                        SuiteOp::CreatePost {
                            author: rng.below(spec.authors) as u32,
                            score: rng.below(100) as u32,
                        }
                    }
                    1 | 8 | 14 => SuiteOp::CreateComment {
                        post: any_post(&mut rng, created),
                        payload: rng.below(1000) as u32,
                    },
                    3 | 5 | 10 | 15 => SuiteOp::Add {
                        post: any_post(&mut rng, created),
                        comment: fresh_comment(&mut rng),
                    },
                    6 | 11 | 17 => {
                        let comment = fresh_comment(&mut rng);
                        SuiteOp::Remove {
                            post: PostRef::Fixture(fixture.comment_post[comment as usize]),
                            comment,
                        }
                    }
                    2 | 7 | 12 => SuiteOp::Get {
                        post: any_post(&mut rng, created),
                    },
                    _ => SuiteOp::Count {
                        post: any_post(&mut rng, created),
                    },
                };
                ops.push(op);
            }
            ops.push(SuiteOp::DeleteComment {
                comment: fresh_comment(&mut rng),
            });
            ops.push(SuiteOp::DeletePost {
                post: rng.below(spec.posts) as u32,
            });
            ops
        })
        .collect()
}

/// One implementation of the test-suite workload.
pub trait SuiteStore: Sized {
    /// Its name in reports.
    const NAME: &'static str;
    /// Builds the fixture.
    fn fixture(spec: &SuiteSpec, fixture: &SuiteFixture) -> Self;
    /// Runs one test on a fresh copy of the fixture, drops the copy, returns the checksum.
    fn test(&self, ops: &[SuiteOp]) -> u64;
}

/// An author.
#[derive(Clone, Debug)]
pub struct Author {
    /// Its index.
    pub number: u32,
}

/// A post, by one author.
#[derive(Clone, Debug)]
pub struct Post {
    /// Its author (non-null, on delete cascade).
    pub author: Id<Author>,
    /// A score.
    pub score: u32,
}

/// A comment, on at most one post.
#[derive(Clone, Debug)]
pub struct Comment {
    /// Its post (nullable, on delete cascade).
    pub post: Option<Id<Post>>,
    /// Data that reads add up.
    pub payload: u32,
}

/// relata: the fixture in a `Db`, forked per test.
pub struct RelataSuite {
    db: Db,
    posts: Table<Post>,
    comments: Table<Comment>,
    author_posts: HasMany<Author, Post>,
    post_comments: HasMany<Post, Comment>,
    author_ids: Vec<Id<Author>>,
    post_ids: Vec<Id<Post>>,
    comment_ids: Vec<Id<Comment>>,
}

impl RelataSuite {
    /// The fixture database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    fn run(&self, db: &mut Db, ops: &[SuiteOp]) -> relata::Result<u64> {
        let mut created: Vec<Id<Post>> = Vec::new();
        let mut sum = 0u64;
        let post = |created: &[Id<Post>], p: PostRef| match p {
            PostRef::Fixture(i) => self.post_ids[i as usize],
            PostRef::New(i) => created[i as usize],
        };
        for op in ops {
            match *op {
                SuiteOp::CreatePost { author, score } => {
                    let author = self.author_ids[author as usize];
                    created.push(
                        self.author_posts
                            .create(db, author, Post { author, score })?,
                    );
                }
                SuiteOp::CreateComment { post: p, payload } => {
                    let comment = Comment {
                        post: None,
                        payload,
                    };
                    self.post_comments.create(db, post(&created, p), comment)?;
                }
                SuiteOp::Add { post: p, comment } => {
                    let c = self.comment_ids[comment as usize];
                    self.post_comments.add(db, post(&created, p), c)?;
                }
                SuiteOp::Remove { post: p, comment } => {
                    let c = self.comment_ids[comment as usize];
                    self.post_comments.remove(db, post(&created, p), c)?;
                }
                SuiteOp::Get { post: p } => {
                    sum += self
                        .post_comments
                        .get(db, post(&created, p))?
                        .map(|c| u64::from(c.payload))
                        .sum::<u64>();
                }
                SuiteOp::Count { post: p } => {
                    sum += self.post_comments.count(db, post(&created, p))? as u64;
                }
                SuiteOp::DeleteComment { comment } => {
                    self.comments
                        .delete(db, self.comment_ids[comment as usize])?;
                }
                SuiteOp::DeletePost { post } => {
                    self.posts.delete(db, self.post_ids[post as usize])?;
                }
            }
        }
        Ok(sum + self.comments.len(db)? as u64 * 1_000_000)
    }
}

impl SuiteStore for RelataSuite {
    const NAME: &'static str = "relata";
    fn fixture(spec: &SuiteSpec, f: &SuiteFixture) -> Self {
        let mut db = Db::new();
        let authors = db.create_table::<Author>().unwrap();
        let posts = db.create_table::<Post>().unwrap();
        let comments = db.create_table::<Comment>().unwrap();
        let cascade = AssocOptions::new().on_delete(OnDelete::Cascade);
        let author_posts = db
            .has_many_with(authors, posts, fk!(Post, author), cascade)
            .unwrap();
        let post_comments = db
            .has_many_with(posts, comments, fk!(Comment, post), cascade)
            .unwrap();
        let author_ids = authors
            .insert_many(
                &mut db,
                (0..spec.authors as u32).map(|number| Author { number }),
            )
            .unwrap();
        let post_ids = posts
            .insert_many(
                &mut db,
                f.post_author
                    .iter()
                    .zip(&f.post_score)
                    .map(|(&a, &score)| Post {
                        author: author_ids[a as usize],
                        score,
                    }),
            )
            .unwrap();
        let comment_ids = comments
            .insert_many(
                &mut db,
                f.comment_post
                    .iter()
                    .zip(&f.comment_payload)
                    .map(|(&p, &payload)| Comment {
                        post: Some(post_ids[p as usize]),
                        payload,
                    }),
            )
            .unwrap();
        RelataSuite {
            db,
            posts,
            comments,
            author_posts,
            post_comments,
            author_ids,
            post_ids,
            comment_ids,
        }
    }
    fn test(&self, ops: &[SuiteOp]) -> u64 {
        let mut db = self.db.fork();
        let sum = self.run(&mut db, ops).unwrap();
        drop(db);
        sum
    }
}

const SQLITE_SCHEMA: &str = "PRAGMA foreign_keys = ON;
     CREATE TABLE author (id INTEGER PRIMARY KEY);
     CREATE TABLE post (
         id INTEGER PRIMARY KEY,
         author_id INTEGER NOT NULL REFERENCES author(id) ON DELETE CASCADE,
         score INTEGER NOT NULL);
     CREATE TABLE comment (
         id INTEGER PRIMARY KEY,
         post_id INTEGER REFERENCES post(id) ON DELETE CASCADE,
         payload INTEGER NOT NULL);
     CREATE INDEX post_author ON post(author_id);
     CREATE INDEX comment_post ON comment(post_id);";

/// SQLite: the fixture in a `:memory:` connection, copied per test by the backup API.
pub struct SqliteSuite {
    conn: Connection,
    author_ids: Vec<i64>,
    post_ids: Vec<i64>,
    comment_ids: Vec<i64>,
}

impl SqliteSuite {
    fn run(&self, conn: &Connection, ops: &[SuiteOp]) -> rusqlite::Result<u64> {
        let mut created: Vec<i64> = Vec::new();
        let mut sum = 0u64;
        let post = |created: &[i64], p: PostRef| match p {
            PostRef::Fixture(i) => self.post_ids[i as usize],
            PostRef::New(i) => created[i as usize],
        };
        for op in ops {
            match *op {
                SuiteOp::CreatePost { author, score } => {
                    conn.prepare_cached("INSERT INTO post (author_id, score) VALUES (?1, ?2)")?
                        .execute([self.author_ids[author as usize], i64::from(score)])?;
                    created.push(conn.last_insert_rowid());
                }
                SuiteOp::CreateComment { post: p, payload } => {
                    conn.prepare_cached("INSERT INTO comment (post_id, payload) VALUES (?1, ?2)")?
                        .execute([post(&created, p), i64::from(payload)])?;
                }
                SuiteOp::Add { post: p, comment } => {
                    conn.prepare_cached("UPDATE comment SET post_id = ?1 WHERE id = ?2")?
                        .execute([post(&created, p), self.comment_ids[comment as usize]])?;
                }
                SuiteOp::Remove { post: p, comment } => {
                    conn.prepare_cached(
                        "UPDATE comment SET post_id = NULL WHERE id = ?1 AND post_id = ?2",
                    )?
                    .execute([self.comment_ids[comment as usize], post(&created, p)])?;
                }
                SuiteOp::Get { post: p } => {
                    let mut stmt =
                        conn.prepare_cached("SELECT payload FROM comment WHERE post_id = ?1")?;
                    let mut rows = stmt.query([post(&created, p)])?;
                    while let Some(row) = rows.next()? {
                        sum += row.get::<_, i64>(0)? as u64;
                    }
                }
                SuiteOp::Count { post: p } => {
                    sum += conn
                        .prepare_cached("SELECT COUNT(*) FROM comment WHERE post_id = ?1")?
                        .query_row([post(&created, p)], |r| r.get::<_, i64>(0))?
                        as u64;
                }
                SuiteOp::DeleteComment { comment } => {
                    conn.prepare_cached("DELETE FROM comment WHERE id = ?1")?
                        .execute([self.comment_ids[comment as usize]])?;
                }
                SuiteOp::DeletePost { post } => {
                    conn.prepare_cached("DELETE FROM post WHERE id = ?1")?
                        .execute([self.post_ids[post as usize]])?;
                }
            }
        }
        let comments: i64 = conn.query_row("SELECT COUNT(*) FROM comment", [], |r| r.get(0))?;
        Ok(sum + comments as u64 * 1_000_000)
    }
}

impl SuiteStore for SqliteSuite {
    const NAME: &'static str = "sqlite";
    fn fixture(spec: &SuiteSpec, f: &SuiteFixture) -> Self {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(SQLITE_SCHEMA).unwrap();
        let (mut author_ids, mut post_ids, mut comment_ids) = (Vec::new(), Vec::new(), Vec::new());
        let tx = conn.transaction().unwrap();
        {
            let mut author = tx.prepare("INSERT INTO author DEFAULT VALUES").unwrap();
            for _ in 0..spec.authors {
                author.execute([]).unwrap();
                author_ids.push(tx.last_insert_rowid());
            }
            let mut post = tx
                .prepare("INSERT INTO post (author_id, score) VALUES (?1, ?2)")
                .unwrap();
            for (&a, &score) in f.post_author.iter().zip(&f.post_score) {
                post.execute([author_ids[a as usize], i64::from(score)])
                    .unwrap();
                post_ids.push(tx.last_insert_rowid());
            }
            let mut comment = tx
                .prepare("INSERT INTO comment (post_id, payload) VALUES (?1, ?2)")
                .unwrap();
            for (&p, &payload) in f.comment_post.iter().zip(&f.comment_payload) {
                comment
                    .execute([post_ids[p as usize], i64::from(payload)])
                    .unwrap();
                comment_ids.push(tx.last_insert_rowid());
            }
        }
        tx.commit().unwrap();
        SqliteSuite {
            conn,
            author_ids,
            post_ids,
            comment_ids,
        }
    }
    fn test(&self, ops: &[SuiteOp]) -> u64 {
        let mut conn = Connection::open_in_memory().unwrap();
        // All pages in one step (-1).
        let step = Backup::new(&self.conn, &mut conn)
            .unwrap()
            .step(-1)
            .unwrap();
        assert_eq!(step, StepResult::Done);
        conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
        let sum = self.run(&conn, ops).unwrap();
        drop(conn);
        sum
    }
}

#[derive(Clone)]
struct BasePost {
    author: u32,
    #[allow(dead_code)] // kept as a real row would keep it
    score: u32,
    comments: Vec<u32>,
}

#[derive(Clone)]
struct BaseComment {
    post: Option<u32>,
    payload: u32,
}

/// The hand-written fixture: `Vec`s of rows (`None` once deleted) and child `Vec`s, cloned per
/// test.
#[derive(Clone)]
pub struct BaselineSuite {
    author_posts: Vec<Vec<u32>>,
    posts: Vec<Option<BasePost>>,
    comments: Vec<Option<BaseComment>>,
}

impl BaselineSuite {
    fn unlink(&mut self, comment: u32) {
        let c = self.comments[comment as usize].as_mut().unwrap();
        if let Some(p) = c.post.take() {
            let list = &mut self.posts[p as usize].as_mut().unwrap().comments;
            let at = list.iter().position(|&x| x == comment).unwrap();
            list.swap_remove(at);
        }
    }

    fn link(&mut self, post: u32, comment: u32) {
        self.comments[comment as usize].as_mut().unwrap().post = Some(post);
        self.posts[post as usize]
            .as_mut()
            .unwrap()
            .comments
            .push(comment);
    }

    fn run(&mut self, ops: &[SuiteOp]) -> u64 {
        let fixture_posts = self.posts.len() as u32;
        let post = |p: PostRef| match p {
            PostRef::Fixture(i) => i,
            PostRef::New(i) => fixture_posts + i,
        };
        let mut sum = 0u64;
        for op in ops {
            match *op {
                SuiteOp::CreatePost { author, score } => {
                    self.author_posts[author as usize].push(self.posts.len() as u32);
                    self.posts.push(Some(BasePost {
                        author,
                        score,
                        comments: Vec::new(),
                    }));
                }
                SuiteOp::CreateComment { post: p, payload } => {
                    let c = self.comments.len() as u32;
                    self.comments.push(Some(BaseComment {
                        post: None,
                        payload,
                    }));
                    self.link(post(p), c);
                }
                SuiteOp::Add { post: p, comment } => {
                    if self.comments[comment as usize].as_ref().unwrap().post != Some(post(p)) {
                        self.unlink(comment);
                        self.link(post(p), comment);
                    }
                }
                SuiteOp::Remove { post: p, comment } => {
                    if self.comments[comment as usize].as_ref().unwrap().post == Some(post(p)) {
                        self.unlink(comment);
                    }
                }
                SuiteOp::Get { post: p } => {
                    let posts = &self.posts;
                    let comments = &self.comments;
                    sum += posts[post(p) as usize]
                        .as_ref()
                        .unwrap()
                        .comments
                        .iter()
                        .map(|&c| u64::from(comments[c as usize].as_ref().unwrap().payload))
                        .sum::<u64>();
                }
                SuiteOp::Count { post: p } => {
                    sum += self.posts[post(p) as usize]
                        .as_ref()
                        .unwrap()
                        .comments
                        .len() as u64;
                }
                SuiteOp::DeleteComment { comment } => {
                    self.unlink(comment);
                    self.comments[comment as usize] = None;
                }
                SuiteOp::DeletePost { post } => {
                    let p = self.posts[post as usize].take().unwrap();
                    let list = &mut self.author_posts[p.author as usize];
                    let at = list.iter().position(|&x| x == post).unwrap();
                    list.swap_remove(at);
                    for c in p.comments {
                        self.comments[c as usize] = None;
                    }
                }
            }
        }
        let live = self.comments.iter().filter(|c| c.is_some()).count();
        sum + live as u64 * 1_000_000
    }
}

impl SuiteStore for BaselineSuite {
    const NAME: &'static str = "baseline";
    fn fixture(spec: &SuiteSpec, f: &SuiteFixture) -> Self {
        let mut store = BaselineSuite {
            author_posts: vec![Vec::new(); spec.authors],
            posts: Vec::with_capacity(spec.posts),
            comments: Vec::with_capacity(spec.comments),
        };
        for (p, (&author, &score)) in f.post_author.iter().zip(&f.post_score).enumerate() {
            store.author_posts[author as usize].push(p as u32);
            store.posts.push(Some(BasePost {
                author,
                score,
                comments: Vec::new(),
            }));
        }
        for (c, (&p, &payload)) in f.comment_post.iter().zip(&f.comment_payload).enumerate() {
            store.comments.push(Some(BaseComment {
                post: None,
                payload,
            }));
            store.link(p, c as u32);
        }
        store
    }
    fn test(&self, ops: &[SuiteOp]) -> u64 {
        let mut copy = self.clone();
        let sum = copy.run(ops);
        drop(copy);
        sum
    }
}

#[cfg(test)]
mod unit_tests {
    use super::*;

    /// The three stores compute the same checksums, test after test, and each test starts
    /// from the untouched fixture.
    #[test]
    fn suite_stores_agree() {
        let spec = SuiteSpec {
            authors: 5,
            posts: 40,
            comments: 150,
            seed: 3,
        };
        let fixture = SuiteFixture::new(&spec);
        let plans = tests(&spec, &fixture, 30);
        let relata = RelataSuite::fixture(&spec, &fixture);
        let sqlite = SqliteSuite::fixture(&spec, &fixture);
        let baseline = BaselineSuite::fixture(&spec, &fixture);
        let sums: Vec<u64> = plans.iter().map(|ops| relata.test(ops)).collect();
        assert_eq!(
            sums,
            plans.iter().map(|ops| sqlite.test(ops)).collect::<Vec<_>>()
        );
        assert_eq!(
            sums,
            plans
                .iter()
                .map(|ops| baseline.test(ops))
                .collect::<Vec<_>>()
        );
        assert_eq!(
            sums,
            plans.iter().map(|ops| relata.test(ops)).collect::<Vec<_>>()
        );
        relata.db().check_integrity().unwrap();
    }
}
