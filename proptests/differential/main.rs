//! Differential testing: the same random histories applied to relata and to SQLite
//! (`PRAGMA foreign_keys = ON`, which enforces NOT NULL, UNIQUE, foreign keys and ON DELETE /
//! ON UPDATE actions itself), compared after every step: success or failure and its class, the
//! value returned, and the full contents of every table.
//!
//! Four schemas, each with its own histories:
//!
//! - the library (this module): Author (unique `name`, the source key of Book.author);
//!   Book.author → Author.name (nullable, SET NULL, ON UPDATE CASCADE); Chapter.book (non-null,
//!   CASCADE); Review.book (RESTRICT); Note.chapter (nullable, NO ACTION); Cover.book (HasOne:
//!   UNIQUE, SET NULL); Book ↔ Tag through BookTag (payload `n`, UNIQUE pair, CASCADE both ways);
//! - [`keys`]: chains of on-update actions through attribute keys (org.code ← dept.code, itself
//!   unique ← desk.code), beside ON UPDATE SET NULL, RESTRICT and NO ACTION;
//! - [`restrict`]: RESTRICT and NO ACTION whose blocking row the same cascade would delete;
//! - [`lending`]: secondary, composite and partial (unique) indexes, range reads, set-based
//!   `UPDATE … WHERE` and `DELETE … WHERE` with cascades, and upserts.
//!
//! Where relata deliberately differs from SQL, the translation normalises:
//! - relata reports an id naming no row as `NotFound`; SQL has no such error, so the
//!   translation checks existence first, in the same order (source, then targets).
//! - SQLite reports a blocked delete and a dangling key both as a foreign-key failure; a DELETE
//!   can only be blocked and a write can only dangle, so the class follows the statement.
//! - The default order of relata's reads (creation order) is `ORDER BY id` under
//!   AUTOINCREMENT; many-to-many reads are ordered by the target's id, and `set` inserts new
//!   pairs in the targets' order.
//! - relata's RESTRICT is immediate, as SQL's: a referencing row blocks even if the same
//!   cascade would delete it. SQLite checks it when its foreign key's turn comes, which depends
//!   on declaration order: see [`restrict`] for the order in which the two agree. In this
//!   schema a Review has no other parent, so the question does not arise.
//!
//! A failing history shrinks to a minimal one whose `Debug` output is Rust: paste it into
//! `regressions.rs` as `check(&[...])`. `PROPTEST_CASES` raises the number of histories.

mod ids;
mod keys;
mod lending;
mod model;
mod regressions;
mod relata_side;
mod restrict;
mod sql;

use std::fmt;

use proptest::prelude::*;
use relata::Error;

use model::{Class, NAMES, V};
use relata_side::{Author, Book, BookTag, Chapter, Cover, Named, Note, Rel, Review, Tag};
use sql::Sql;

/// Names a row: usually a live one, sometimes any ever issued (possibly deleted).
#[derive(Clone, Copy, Debug)]
pub struct Pick {
    pub live: bool,
    pub n: usize,
}

/// A list of picks whose `Debug` is a Rust expression.
#[derive(Clone)]
pub struct Picks(pub Vec<Pick>);

impl fmt::Debug for Picks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Picks(vec!{:?})", self.0)
    }
}

#[derive(Clone, Debug)]
pub enum Op {
    InsertAuthor {
        name: usize,
    },
    RenameAuthor {
        author: Pick,
        name: usize,
    },
    DeleteAuthor {
        author: Pick,
    },
    InsertBook {
        author: Option<usize>,
        title: i64,
    },
    UpdateBook {
        book: Pick,
        author: Option<usize>,
        title: i64,
    },
    DeleteBook {
        book: Pick,
    },
    InsertChapter {
        book: Pick,
        n: i64,
    },
    DeleteChapter {
        chapter: Pick,
    },
    InsertReview {
        book: Pick,
    },
    DeleteReview {
        review: Pick,
    },
    InsertNote {
        chapter: Option<Pick>,
    },
    DeleteNote {
        note: Pick,
    },
    InsertCover {
        book: Option<Pick>,
        n: i64,
    },
    UpdateCover {
        cover: Pick,
        book: Option<Pick>,
    },
    DeleteCover {
        cover: Pick,
    },
    InsertTag {
        n: i64,
    },
    DeleteTag {
        tag: Pick,
    },
    AuthorBooks {
        author: Pick,
    },
    AuthorAdd {
        author: Pick,
        books: Picks,
    },
    AuthorRemove {
        author: Pick,
        books: Picks,
    },
    AuthorSet {
        author: Pick,
        books: Picks,
    },
    ChaptersSet {
        book: Pick,
        chapters: Picks,
    },
    ChaptersRemove {
        book: Pick,
        chapter: Pick,
    },
    CoverSet {
        book: Pick,
        cover: Option<Pick>,
    },
    CoverCreate {
        book: Pick,
        n: i64,
    },
    CoverGet {
        book: Pick,
    },
    TagAdd {
        book: Pick,
        tag: Pick,
        n: Option<i64>,
    },
    TagRemove {
        book: Pick,
        tags: Picks,
    },
    TagSet {
        book: Pick,
        tags: Picks,
    },
    TagsGet {
        book: Pick,
    },
}

pub fn pick() -> impl Strategy<Value = Pick> {
    (prop::bool::weighted(0.9), 0..1000usize).prop_map(|(live, n)| Pick { live, n })
}

pub fn picks() -> impl Strategy<Value = Picks> {
    prop::collection::vec(pick(), 0..4).prop_map(Picks)
}

fn op() -> impl Strategy<Value = Op> {
    let name = 0..NAMES.len();
    let small = 0..100i64;
    prop_oneof![
        3 => name.clone().prop_map(|name| Op::InsertAuthor { name }),
        1 => (pick(), name.clone()).prop_map(|(author, name)| Op::RenameAuthor { author, name }),
        1 => pick().prop_map(|author| Op::DeleteAuthor { author }),
        4 => (prop::option::of(name.clone()), small.clone()).prop_map(|(author, title)| Op::InsertBook { author, title }),
        1 => (pick(), prop::option::of(name), small.clone())
            .prop_map(|(book, author, title)| Op::UpdateBook { book, author, title }),
        2 => pick().prop_map(|book| Op::DeleteBook { book }),
        3 => (pick(), small.clone()).prop_map(|(book, n)| Op::InsertChapter { book, n }),
        1 => pick().prop_map(|chapter| Op::DeleteChapter { chapter }),
        1 => pick().prop_map(|book| Op::InsertReview { book }),
        1 => pick().prop_map(|review| Op::DeleteReview { review }),
        1 => prop::option::of(pick()).prop_map(|chapter| Op::InsertNote { chapter }),
        1 => pick().prop_map(|note| Op::DeleteNote { note }),
        1 => (prop::option::of(pick()), small.clone()).prop_map(|(book, n)| Op::InsertCover { book, n }),
        1 => (pick(), prop::option::of(pick())).prop_map(|(cover, book)| Op::UpdateCover { cover, book }),
        1 => pick().prop_map(|cover| Op::DeleteCover { cover }),
        2 => small.clone().prop_map(|n| Op::InsertTag { n }),
        1 => pick().prop_map(|tag| Op::DeleteTag { tag }),
        1 => pick().prop_map(|author| Op::AuthorBooks { author }),
        2 => (pick(), picks()).prop_map(|(author, books)| Op::AuthorAdd { author, books }),
        1 => (pick(), picks()).prop_map(|(author, books)| Op::AuthorRemove { author, books }),
        1 => (pick(), picks()).prop_map(|(author, books)| Op::AuthorSet { author, books }),
        1 => (pick(), picks()).prop_map(|(book, chapters)| Op::ChaptersSet { book, chapters }),
        1 => (pick(), pick()).prop_map(|(book, chapter)| Op::ChaptersRemove { book, chapter }),
        2 => (pick(), prop::option::of(pick())).prop_map(|(book, cover)| Op::CoverSet { book, cover }),
        1 => (pick(), small.clone()).prop_map(|(book, n)| Op::CoverCreate { book, n }),
        1 => pick().prop_map(|book| Op::CoverGet { book }),
        2 => (pick(), pick(), prop::option::of(small)).prop_map(|(book, tag, n)| Op::TagAdd { book, tag, n }),
        1 => (pick(), picks()).prop_map(|(book, tags)| Op::TagRemove { book, tags }),
        1 => (pick(), picks()).prop_map(|(book, tags)| Op::TagSet { book, tags }),
        1 => pick().prop_map(|book| Op::TagsGet { book }),
    ]
}

/// The creation index `p` names: one of `live` (the live rows' creation indexes) if `p.live`
/// and there are any, otherwise any of the `issued` indexes; `None` if none was ever issued.
pub fn choose(p: Pick, live: &[usize], issued: usize) -> Option<usize> {
    if p.live && !live.is_empty() {
        return Some(live[p.n % live.len()]);
    }
    (issued > 0).then(|| p.n % issued)
}

/// The value of a step, in creation indexes.
#[derive(Debug, PartialEq)]
pub enum Out {
    Unit,
    Index(usize),
    Count(usize),
    Bool(bool),
    Indexes(Vec<usize>),
    Maybe(Option<usize>),
    Pairs(Vec<(usize, i64)>),
}

pub fn class(e: Error) -> Class {
    match e {
        Error::NotFound { .. } => Class::NotFound,
        Error::Validation { .. } => Class::Validation,
        Error::ForeignKey { .. } => Class::ForeignKey,
        Error::Unique { .. } => Class::Unique,
        Error::Restricted { .. } => Class::Restricted,
        other => panic!("unexpected relata error: {other}"),
    }
}

struct Both {
    rel: Rel,
    sql: Sql,
}

impl Both {
    /// The creation index a pick names in `T`'s table, or `None` if nothing was ever issued.
    fn pick<T: Named + relata::Model>(&self, table: relata::Table<T>, p: Pick) -> Option<usize> {
        let live: Vec<usize> = table
            .iter(&self.rel.db)
            .unwrap()
            .map(|r| self.rel.ids.of(r.id()))
            .collect();
        choose(p, &live, self.sql.ids[T::TABLE].len())
    }

    fn picks<T: Named + relata::Model>(
        &self,
        table: relata::Table<T>,
        ps: &Picks,
    ) -> Option<Vec<usize>> {
        ps.0.iter().map(|&p| self.pick(table, p)).collect()
    }

    /// The creation index of SQL rowid `id` in `table`.
    fn sql_index(&self, table: &str, id: i64) -> usize {
        self.sql.index(table, id)
    }

    fn step(&mut self, op: &Op) {
        macro_rules! need {
            ($e:expr) => {
                match $e {
                    Some(v) => v,
                    None => return,
                }
            };
        }
        let r = &mut self.rel;
        let (got, want): (Result<Out, Class>, Result<Out, Class>) = match op {
            Op::InsertAuthor { name } => {
                let got = r.authors.insert(
                    &mut r.db,
                    Author {
                        name: NAMES[*name].into(),
                    },
                );
                let got = got.map(|id| Out::Index(r.ids.record(id))).map_err(class);
                (
                    got,
                    self.sql
                        .insert("author", &["name"], &[V::Name(*name)])
                        .map(Out::Index),
                )
            }
            Op::RenameAuthor { author, name } => {
                let a = need!(self.pick(self.rel.authors, *author));
                let r = &mut self.rel;
                let got = r.authors.update(
                    &mut r.db,
                    r.ids.author[a],
                    Author {
                        name: NAMES[*name].into(),
                    },
                );
                (
                    got.map(|_| Out::Unit).map_err(class),
                    self.sql
                        .update("author", a, &["name"], &[V::Name(*name)])
                        .map(|_| Out::Unit),
                )
            }
            Op::DeleteAuthor { author } => {
                let a = need!(self.pick(self.rel.authors, *author));
                let r = &mut self.rel;
                let got = r
                    .authors
                    .delete(&mut r.db, r.ids.author[a])
                    .map(|_| Out::Unit)
                    .map_err(class);
                (got, self.sql.delete("author", a).map(|_| Out::Unit))
            }
            Op::InsertBook { author, title } => {
                let row = Book {
                    author: author.map(|a| NAMES[a].to_string()),
                    title: *title,
                };
                let got = r
                    .books
                    .insert(&mut r.db, row)
                    .map(|id| Out::Index(r.ids.record(id)))
                    .map_err(class);
                let values = [author.map_or(V::Null, V::Name), V::Int(*title)];
                (
                    got,
                    self.sql
                        .insert("book", &["author", "title"], &values)
                        .map(Out::Index),
                )
            }
            Op::UpdateBook {
                book,
                author,
                title,
            } => {
                let b = need!(self.pick(self.rel.books, *book));
                let r = &mut self.rel;
                let row = Book {
                    author: author.map(|a| NAMES[a].to_string()),
                    title: *title,
                };
                let got = r
                    .books
                    .update(&mut r.db, r.ids.book[b], row)
                    .map(|_| Out::Unit)
                    .map_err(class);
                let values = [author.map_or(V::Null, V::Name), V::Int(*title)];
                (
                    got,
                    self.sql
                        .update("book", b, &["author", "title"], &values)
                        .map(|_| Out::Unit),
                )
            }
            Op::DeleteBook { book } => {
                let b = need!(self.pick(self.rel.books, *book));
                let r = &mut self.rel;
                let got = r
                    .books
                    .delete(&mut r.db, r.ids.book[b])
                    .map(|_| Out::Unit)
                    .map_err(class);
                (got, self.sql.delete("book", b).map(|_| Out::Unit))
            }
            Op::InsertChapter { book, n } => {
                let b = need!(self.pick(self.rel.books, *book));
                let r = &mut self.rel;
                let got = r.chapters.insert(
                    &mut r.db,
                    Chapter {
                        book: r.ids.book[b],
                        n: *n,
                    },
                );
                let got = got.map(|id| Out::Index(r.ids.record(id))).map_err(class);
                let values = [V::Int(self.sql.id("book", b)), V::Int(*n)];
                (
                    got,
                    self.sql
                        .insert("chapter", &["book", "n"], &values)
                        .map(Out::Index),
                )
            }
            Op::DeleteChapter { chapter } => {
                let c = need!(self.pick(self.rel.chapters, *chapter));
                let r = &mut self.rel;
                let got = r
                    .chapters
                    .delete(&mut r.db, r.ids.chapter[c])
                    .map(|_| Out::Unit)
                    .map_err(class);
                (got, self.sql.delete("chapter", c).map(|_| Out::Unit))
            }
            Op::InsertReview { book } => {
                let b = need!(self.pick(self.rel.books, *book));
                let r = &mut self.rel;
                let got = r.reviews.insert(
                    &mut r.db,
                    Review {
                        book: r.ids.book[b],
                        n: 0,
                    },
                );
                let got = got.map(|id| Out::Index(r.ids.record(id))).map_err(class);
                let values = [V::Int(self.sql.id("book", b)), V::Int(0)];
                (
                    got,
                    self.sql
                        .insert("review", &["book", "n"], &values)
                        .map(Out::Index),
                )
            }
            Op::DeleteReview { review } => {
                let i = need!(self.pick(self.rel.reviews, *review));
                let r = &mut self.rel;
                let got = r
                    .reviews
                    .delete(&mut r.db, r.ids.review[i])
                    .map(|_| Out::Unit)
                    .map_err(class);
                (got, self.sql.delete("review", i).map(|_| Out::Unit))
            }
            Op::InsertNote { chapter } => {
                let c = match chapter {
                    Some(p) => Some(need!(self.pick(self.rel.chapters, *p))),
                    None => None,
                };
                let r = &mut self.rel;
                let got = r.notes.insert(
                    &mut r.db,
                    Note {
                        chapter: c.map(|c| r.ids.chapter[c]),
                        n: 0,
                    },
                );
                let got = got.map(|id| Out::Index(r.ids.record(id))).map_err(class);
                let values = [
                    c.map_or(V::Null, |c| V::Int(self.sql.id("chapter", c))),
                    V::Int(0),
                ];
                (
                    got,
                    self.sql
                        .insert("note", &["chapter", "n"], &values)
                        .map(Out::Index),
                )
            }
            Op::DeleteNote { note } => {
                let i = need!(self.pick(self.rel.notes, *note));
                let r = &mut self.rel;
                let got = r
                    .notes
                    .delete(&mut r.db, r.ids.note[i])
                    .map(|_| Out::Unit)
                    .map_err(class);
                (got, self.sql.delete("note", i).map(|_| Out::Unit))
            }
            Op::InsertCover { book, n } => {
                let b = match book {
                    Some(p) => Some(need!(self.pick(self.rel.books, *p))),
                    None => None,
                };
                let r = &mut self.rel;
                let got = r.covers.insert(
                    &mut r.db,
                    Cover {
                        book: b.map(|b| r.ids.book[b]),
                        n: *n,
                    },
                );
                let got = got.map(|id| Out::Index(r.ids.record(id))).map_err(class);
                let values = [
                    b.map_or(V::Null, |b| V::Int(self.sql.id("book", b))),
                    V::Int(*n),
                ];
                (
                    got,
                    self.sql
                        .insert("cover", &["book", "n"], &values)
                        .map(Out::Index),
                )
            }
            Op::UpdateCover { cover, book } => {
                let c = need!(self.pick(self.rel.covers, *cover));
                let b = match book {
                    Some(p) => Some(need!(self.pick(self.rel.books, *p))),
                    None => None,
                };
                let r = &mut self.rel;
                let got = r.covers.modify(&mut r.db, r.ids.cover[c], |row| {
                    row.book = b.map(|b| r.ids.book[b])
                });
                let values = [b.map_or(V::Null, |b| V::Int(self.sql.id("book", b)))];
                (
                    got.map(|_| Out::Unit).map_err(class),
                    self.sql
                        .update("cover", c, &["book"], &values)
                        .map(|_| Out::Unit),
                )
            }
            Op::DeleteCover { cover } => {
                let c = need!(self.pick(self.rel.covers, *cover));
                let r = &mut self.rel;
                let got = r
                    .covers
                    .delete(&mut r.db, r.ids.cover[c])
                    .map(|_| Out::Unit)
                    .map_err(class);
                (got, self.sql.delete("cover", c).map(|_| Out::Unit))
            }
            Op::InsertTag { n } => {
                let got = r
                    .tags
                    .insert(&mut r.db, Tag { n: *n })
                    .map(|id| Out::Index(r.ids.record(id)))
                    .map_err(class);
                (
                    got,
                    self.sql
                        .insert("tag", &["n"], &[V::Int(*n)])
                        .map(Out::Index),
                )
            }
            Op::DeleteTag { tag } => {
                let t = need!(self.pick(self.rel.tags, *tag));
                let r = &mut self.rel;
                let got = r
                    .tags
                    .delete(&mut r.db, r.ids.tag[t])
                    .map(|_| Out::Unit)
                    .map_err(class);
                (got, self.sql.delete("tag", t).map(|_| Out::Unit))
            }
            Op::AuthorBooks { author } => {
                let a = need!(self.pick(self.rel.authors, *author));
                let r = &self.rel;
                let got = r
                    .author_books
                    .get(&r.db, r.ids.author[a])
                    .map(|rows| Out::Indexes(rows.map(|b| r.ids.of(b.id())).collect()));
                let want = self.sql.author_books(a).map(|ids| {
                    Out::Indexes(
                        ids.into_iter()
                            .map(|id| self.sql_index("book", id))
                            .collect(),
                    )
                });
                (got.map_err(class), want)
            }
            Op::AuthorAdd { author, books }
            | Op::AuthorRemove { author, books }
            | Op::AuthorSet { author, books } => {
                let a = need!(self.pick(self.rel.authors, *author));
                let bs = need!(self.picks(self.rel.books, books));
                let r = &mut self.rel;
                let (aid, bids) = (
                    r.ids.author[a],
                    bs.iter().map(|&b| r.ids.book[b]).collect::<Vec<_>>(),
                );
                let (got, want) = match op {
                    Op::AuthorAdd { .. } => (
                        r.author_books.add_many(&mut r.db, aid, bids),
                        self.sql.author_add(a, &bs),
                    ),
                    Op::AuthorRemove { .. } => (
                        r.author_books.remove_many(&mut r.db, aid, bids),
                        self.sql.author_remove(a, &bs),
                    ),
                    _ => (
                        r.author_books.set(&mut r.db, aid, bids),
                        self.sql.author_set(a, &bs),
                    ),
                };
                (got.map(Out::Count).map_err(class), want.map(Out::Count))
            }
            Op::ChaptersSet { book, chapters } => {
                let b = need!(self.pick(self.rel.books, *book));
                let cs = need!(self.picks(self.rel.chapters, chapters));
                let r = &mut self.rel;
                let ids: Vec<_> = cs.iter().map(|&c| r.ids.chapter[c]).collect();
                let got = r
                    .book_chapters
                    .set(&mut r.db, r.ids.book[b], ids)
                    .map(Out::Count)
                    .map_err(class);
                (got, self.sql.chapters_set(b, &cs).map(Out::Count))
            }
            Op::ChaptersRemove { book, chapter } => {
                let b = need!(self.pick(self.rel.books, *book));
                let c = need!(self.pick(self.rel.chapters, *chapter));
                let r = &mut self.rel;
                let got = r
                    .book_chapters
                    .remove(&mut r.db, r.ids.book[b], r.ids.chapter[c])
                    .map(Out::Bool)
                    .map_err(class);
                (got, self.sql.chapters_remove(b, c).map(Out::Bool))
            }
            Op::CoverSet { book, cover } => {
                let b = need!(self.pick(self.rel.books, *book));
                let c = match cover {
                    Some(p) => Some(need!(self.pick(self.rel.covers, *p))),
                    None => None,
                };
                let r = &mut self.rel;
                let got = r
                    .cover
                    .set(&mut r.db, r.ids.book[b], c.map(|c| r.ids.cover[c]))
                    .map(|_| Out::Unit)
                    .map_err(class);
                (got, self.sql.cover_set(b, c).map(|_| Out::Unit))
            }
            Op::CoverCreate { book, n } => {
                let b = need!(self.pick(self.rel.books, *book));
                let r = &mut self.rel;
                let got = r
                    .cover
                    .create(&mut r.db, r.ids.book[b], Cover { book: None, n: *n });
                let got = got.map(|id| Out::Index(r.ids.record(id))).map_err(class);
                (got, self.sql.cover_create(b, *n as u8).map(Out::Index))
            }
            Op::CoverGet { book } => {
                let b = need!(self.pick(self.rel.books, *book));
                let r = &self.rel;
                let got = r
                    .cover
                    .get(&r.db, r.ids.book[b])
                    .map(|c| Out::Maybe(c.map(|c| r.ids.of(c.id()))))
                    .map_err(class);
                let want = self
                    .sql
                    .cover_of(b)
                    .map(|c| Out::Maybe(c.map(|id| self.sql_index("cover", id))));
                (got, want)
            }
            Op::TagAdd { book, tag, n } => {
                let b = need!(self.pick(self.rel.books, *book));
                let t = need!(self.pick(self.rel.tags, *tag));
                let r = &mut self.rel;
                let (bid, tid) = (r.ids.book[b], r.ids.tag[t]);
                let got = match n {
                    Some(n) => r.tagged.add_through(
                        &mut r.db,
                        bid,
                        tid,
                        BookTag {
                            n: *n,
                            ..BookTag::default()
                        },
                    ),
                    None => r.tagged.add(&mut r.db, bid, tid),
                };
                if let Ok(true) = got {
                    let junction = r
                        .tagged
                        .get(&r.db, bid)
                        .unwrap()
                        .iter()
                        .find(|(tag, _)| tag.id() == tid)
                        .unwrap()
                        .1
                        .id();
                    r.ids.record(junction);
                }
                (
                    got.map(Out::Bool).map_err(class),
                    self.sql.tag_add(b, t, n.map(|n| n as u8)).map(Out::Bool),
                )
            }
            Op::TagRemove { book, tags } | Op::TagSet { book, tags } => {
                let b = need!(self.pick(self.rel.books, *book));
                let ts = need!(self.picks(self.rel.tags, tags));
                let r = &mut self.rel;
                let (bid, tids) = (
                    r.ids.book[b],
                    ts.iter().map(|&t| r.ids.tag[t]).collect::<Vec<_>>(),
                );
                let (got, want) = if let Op::TagRemove { .. } = op {
                    (
                        r.tagged.remove_many(&mut r.db, bid, tids),
                        self.sql.tag_remove(b, &ts),
                    )
                } else {
                    let before: Vec<_> = r
                        .tagged
                        .get(&r.db, bid)
                        .map(|v| v.iter().map(|(_, j)| j.id()).collect())
                        .unwrap_or_default();
                    let got = r.tagged.set(&mut r.db, bid, tids);
                    if got.is_ok() {
                        let mut new: Vec<_> = r
                            .tagged
                            .get(&r.db, bid)
                            .unwrap()
                            .iter()
                            .map(|(_, j)| j.id())
                            .filter(|j| !before.contains(j))
                            .collect();
                        new.sort();
                        for j in new {
                            r.ids.record(j);
                        }
                    }
                    (got, self.sql.tag_set(b, &ts))
                };
                (got.map(Out::Count).map_err(class), want.map(Out::Count))
            }
            Op::TagsGet { book } => {
                let b = need!(self.pick(self.rel.books, *book));
                let r = &self.rel;
                let got = r.tagged.get(&r.db, r.ids.book[b]).map(|rows| {
                    Out::Pairs(rows.iter().map(|(t, j)| (r.ids.of(t.id()), j.n)).collect())
                });
                let want = self.sql.tags_of(b).map(|rows| {
                    Out::Pairs(
                        rows.into_iter()
                            .map(|(t, n)| (self.sql_index("tag", t), n))
                            .collect(),
                    )
                });
                (got.map_err(class), want)
            }
        };
        assert_eq!(
            got, want,
            "relata (left) and SQLite (right) disagree on the result of {op:?}"
        );
    }
}

/// Applies `history` to both sides, comparing after every step.
pub fn check(history: &[Op]) {
    let mut both = Both {
        rel: Rel::new(),
        sql: Sql::new(),
    };
    for op in history {
        both.step(op);
        if let Err(e) = both.rel.db.check_integrity() {
            panic!("relata's integrity check after {op:?}: {e}");
        }
        assert_eq!(
            both.rel.dump(),
            both.sql.dump(),
            "relata (left) and SQLite (right) disagree on the contents after {op:?}"
        );
    }
}

/// The configuration of every differential property: `PROPTEST_CASES` histories (default
/// 200), failures saved beside the other property tests' seeds, at the repository root.
pub fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(200),
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::Direct(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../proptest-regressions/differential.txt"
            )),
        )),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    /// Paste a failure's minimal history into `regressions.rs` as `check(&[...])`.
    #[test]
    fn relata_agrees_with_sqlite(history in prop::collection::vec(op(), 1..48)) {
        check(&history);
    }
}
