//! The blog schema (Post, nullable Comment.post, non-null Note.post) against [`Reference`].
//!
//! After every operation: results equal the reference's; every index equals one recomputed
//! from the rows; the whole database equals the reference; a failed operation left the database
//! exactly as before; `count == get().len()` and `has(t) == get().contains(t)` for every post.

use std::collections::HashMap;

use proptest::prelude::*;
use relata::{Db, Error, HasMany, Id, Query, Row, Table, Unlink, fk};

use crate::reference::{Fail, Reference, Res};

#[derive(Clone, Debug, PartialEq)]
struct Post;

#[derive(Clone, Debug, PartialEq)]
struct Comment {
    post: Option<Id<Post>>,
    likes: u8,
}

#[derive(Clone, Debug, PartialEq)]
struct Note {
    post: Id<Post>,
}

/// Picks a row: usually a live one, sometimes any id ever issued (possibly deleted: stale).
#[derive(Clone, Copy, Debug)]
struct Pick {
    live: bool,
    n: usize,
}

fn pick() -> impl Strategy<Value = Pick> {
    (prop::bool::weighted(0.9), any::<usize>()).prop_map(|(live, n)| Pick { live, n })
}

fn picks() -> impl Strategy<Value = Vec<Pick>> {
    prop::collection::vec(pick(), 0..5)
}

#[derive(Clone, Debug)]
enum Op {
    InsertPost,
    DeletePost(Pick),
    InsertComment(Option<Pick>, u8),
    UpdateComment(Pick, Option<Pick>, u8),
    DeleteComment(Pick),
    InsertNote(Pick),
    DeleteNote(Pick),
    Get(Pick),
    GetWith {
        post: Pick,
        min_likes: u8,
        desc: bool,
        limit: Option<usize>,
        offset: usize,
    },
    Count(Pick),
    /// `HasMany::get_many` with a limit per source.
    GetMany(Vec<Pick>, Option<usize>),
    /// `BelongsTo::get_many`.
    CommentPosts(Vec<Pick>),
    CountWhere(Pick, u8),
    Has(Pick, Pick),
    HasAll(Pick, Vec<Pick>),
    Add(Pick, Pick),
    AddMany(Pick, Vec<Pick>),
    Remove(Pick, Pick),
    RemoveMany(Pick, Vec<Pick>),
    Set(Pick, Vec<Pick>),
    Create(Pick, u8),
    CommentPost(Pick),
    SetCommentPost(Pick, Option<Pick>),
    CreateCommentPost(Pick),
    SetNotes(Pick, Vec<Pick>, bool),
    RemoveNote(Pick, Pick, bool),
    NullNotePost(Pick),
    AddNote(Pick, Pick),
    /// Opens a transaction: the handle form (`Db::begin`) or the closure form
    /// (`Db::transaction`). Nested `Begin`s are savepoints.
    Begin {
        closure: bool,
    },
    Commit,
    Rollback,
    /// Forks the database; the fork must never change afterwards.
    Snapshot,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => Just(Op::InsertPost),
        1 => pick().prop_map(Op::DeletePost),
        4 => (prop::option::weighted(0.8, pick()), any::<u8>()).prop_map(|(p, l)| Op::InsertComment(p, l)),
        1 => (pick(), prop::option::of(pick()), any::<u8>()).prop_map(|(c, p, l)| Op::UpdateComment(c, p, l)),
        1 => pick().prop_map(Op::DeleteComment),
        2 => pick().prop_map(Op::InsertNote),
        1 => pick().prop_map(Op::DeleteNote),
        1 => pick().prop_map(Op::Get),
        1 => (pick(), any::<u8>(), any::<bool>(), prop::option::of(0..4usize), 0..3usize)
            .prop_map(|(post, min_likes, desc, limit, offset)| Op::GetWith { post, min_likes, desc, limit, offset }),
        1 => pick().prop_map(Op::Count),
        1 => (picks(), prop::option::of(0..3usize)).prop_map(|(ps, limit)| Op::GetMany(ps, limit)),
        1 => picks().prop_map(Op::CommentPosts),
        1 => (pick(), any::<u8>()).prop_map(|(p, l)| Op::CountWhere(p, l)),
        1 => (pick(), pick()).prop_map(|(p, c)| Op::Has(p, c)),
        1 => (pick(), picks()).prop_map(|(p, cs)| Op::HasAll(p, cs)),
        2 => (pick(), pick()).prop_map(|(p, c)| Op::Add(p, c)),
        1 => (pick(), picks()).prop_map(|(p, cs)| Op::AddMany(p, cs)),
        2 => (pick(), pick()).prop_map(|(p, c)| Op::Remove(p, c)),
        1 => (pick(), picks()).prop_map(|(p, cs)| Op::RemoveMany(p, cs)),
        2 => (pick(), picks()).prop_map(|(p, cs)| Op::Set(p, cs)),
        2 => (pick(), any::<u8>()).prop_map(|(p, l)| Op::Create(p, l)),
        1 => pick().prop_map(Op::CommentPost),
        1 => (pick(), prop::option::of(pick())).prop_map(|(c, p)| Op::SetCommentPost(c, p)),
        1 => pick().prop_map(Op::CreateCommentPost),
        2 => (pick(), picks(), any::<bool>()).prop_map(|(p, ns, d)| Op::SetNotes(p, ns, d)),
        1 => (pick(), pick(), any::<bool>()).prop_map(|(p, n, d)| Op::RemoveNote(p, n, d)),
        1 => pick().prop_map(Op::NullNotePost),
        1 => (pick(), pick()).prop_map(|(p, n)| Op::AddNote(p, n)),
        2 => any::<bool>().prop_map(|closure| Op::Begin { closure }),
        1 => Just(Op::Commit),
        1 => Just(Op::Rollback),
        1 => Just(Op::Snapshot),
    ]
}

/// Every id issued so far, by creation index, for one table.
struct Issued<T> {
    ids: Vec<Id<T>>,
    index: HashMap<Id<T>, usize>,
}

impl<T> Issued<T> {
    fn new() -> Self {
        Issued {
            ids: Vec::new(),
            index: HashMap::new(),
        }
    }

    fn push(&mut self, id: Id<T>) -> usize {
        self.index.insert(id, self.ids.len());
        self.ids.push(id);
        self.ids.len() - 1
    }

    /// The creation index a pick names; `None` when nothing was ever issued.
    fn resolve<R>(&self, pick: Pick, rows: &[Option<R>]) -> Option<usize> {
        if pick.live {
            let live: Vec<usize> = (0..rows.len()).filter(|&i| rows[i].is_some()).collect();
            if !live.is_empty() {
                return Some(live[pick.n % live.len()]);
            }
        }
        (!self.ids.is_empty()).then(|| pick.n % self.ids.len())
    }
}

struct Blog {
    posts: Table<Post>,
    comments: Table<Comment>,
    notes: Table<Note>,
    post_comments: HasMany<Post, Comment>,
    post_notes: HasMany<Post, Note>,
    post_ids: Issued<Post>,
    comment_ids: Issued<Comment>,
    note_ids: Issued<Note>,
}

fn fail(e: Error) -> Fail {
    match e {
        Error::NotFound { .. } => Fail::NotFound,
        Error::Validation { .. } => Fail::Validation,
        Error::ForeignKey { .. } => Fail::ForeignKey,
        other => panic!("unexpected error class: {other}"),
    }
}

/// The value of one operation, in reference terms (creation indexes).
#[derive(Debug, PartialEq)]
enum Out {
    Unit,
    Index(usize),
    Count(usize),
    Bool(bool),
    Indexes(Vec<usize>),
    Parent(Option<usize>),
    PerPost(Vec<(usize, Vec<usize>)>),
    Parents(Vec<(usize, Option<usize>)>),
}

impl Blog {
    fn new() -> (Self, Db) {
        let mut db = Db::new();
        let posts = db.create_table().unwrap();
        let comments = db.create_table().unwrap();
        let notes = db.create_table().unwrap();
        let post_comments = db.has_many(posts, comments, fk!(Comment, post)).unwrap();
        let post_notes = db.has_many(posts, notes, fk!(Note, post)).unwrap();
        let blog = Blog {
            posts,
            comments,
            notes,
            post_comments,
            post_notes,
            post_ids: Issued::new(),
            comment_ids: Issued::new(),
            note_ids: Issued::new(),
        };
        (blog, db)
    }

    /// A materialised copy of the whole database, in reference terms.
    fn contents(&self, db: &Db) -> Reference {
        let mut out = Reference {
            posts: vec![None; self.post_ids.ids.len()],
            comments: vec![None; self.comment_ids.ids.len()],
            notes: vec![None; self.note_ids.ids.len()],
        };
        same_rows(self.posts, db, &self.post_ids.ids);
        same_rows(self.comments, db, &self.comment_ids.ids);
        same_rows(self.notes, db, &self.note_ids.ids);
        for row in self.posts.iter(db).unwrap() {
            out.posts[self.post_ids.index[&row.id()]] = Some(());
        }
        for row in self.comments.iter(db).unwrap() {
            let post = row.post.map(|p| self.post_ids.index[&p]);
            out.comments[self.comment_ids.index[&row.id()]] = Some(crate::reference::Comment {
                post,
                likes: row.likes,
            });
        }
        for row in self.notes.iter(db).unwrap() {
            let post = self.post_ids.index[&row.post];
            out.notes[self.note_ids.index[&row.id()]] = Some(crate::reference::Note { post });
        }
        out
    }

    fn comment_indexes<'a>(&self, rows: impl Iterator<Item = Row<'a, Comment>>) -> Vec<usize> {
        rows.map(|r| self.comment_ids.index[&r.id()]).collect()
    }
}

/// The table's reads agree: `iter` (creation order), `scan` (storage order), `filter`, `len`,
/// `is_empty`, and `contains` of every id ever issued.
fn same_rows<T: relata::Model>(table: Table<T>, db: &Db, issued: &[Id<T>]) {
    let listed: Vec<Id<T>> = table.iter(db).unwrap().map(|r| r.id()).collect();
    assert!(
        listed.windows(2).all(|w| w[0] < w[1]),
        "iter is in creation order"
    );
    let mut scanned: Vec<Id<T>> = table.scan(db).unwrap().map(|r| r.id()).collect();
    scanned.sort();
    assert_eq!(scanned, listed, "scan and iter list the same rows");
    assert_eq!(table.len(db).unwrap(), listed.len());
    assert_eq!(table.is_empty(db).unwrap(), listed.is_empty());
    for &id in issued {
        let live = table.contains(db, id).unwrap();
        assert_eq!(live, listed.contains(&id), "contains({id})");
        assert_eq!(table.get(db, id).is_ok(), live, "get({id})");
        let found: Vec<Id<T>> = table
            .filter(db, |r| r.id() == id)
            .unwrap()
            .map(|r| r.id())
            .collect();
        assert_eq!(found.len(), usize::from(live), "filter by id {id}");
    }
}

/// Applies `op` to both sides and compares the results.
fn step(blog: &mut Blog, db: &mut Db, model: &mut Reference, op: &Op) {
    // Resolve picks against the reference's idea of what is alive; ids never issued cannot be
    // named in Rust, so an empty table makes the operation moot.
    let p = |b: &Blog, m: &Reference, pick: Pick| b.post_ids.resolve(pick, &m.posts);
    let c = |b: &Blog, m: &Reference, pick: Pick| b.comment_ids.resolve(pick, &m.comments);
    let n = |b: &Blog, m: &Reference, pick: Pick| b.note_ids.resolve(pick, &m.notes);
    let cs = |b: &Blog, m: &Reference, picks: &[Pick]| -> Option<Vec<usize>> {
        picks.iter().map(|&x| c(b, m, x)).collect()
    };
    macro_rules! need {
        ($e:expr) => {
            match $e {
                Some(v) => v,
                None => return,
            }
        };
    }
    let (got, want): (Res<Out>, Res<Out>) = match op {
        Op::InsertPost => {
            let id = blog.posts.insert(db, Post).unwrap();
            let i = blog.post_ids.push(id);
            (Ok(Out::Index(i)), Ok(Out::Index(model.insert_post())))
        }
        Op::DeletePost(x) => {
            let i = need!(p(blog, model, *x));
            let got = blog
                .posts
                .delete(db, blog.post_ids.ids[i])
                .map(|_| Out::Unit);
            (got.map_err(fail), model.delete_post(i).map(|_| Out::Unit))
        }
        Op::InsertComment(post, likes) => {
            let post = match post {
                Some(x) => Some(need!(p(blog, model, *x))),
                None => None,
            };
            let row = Comment {
                post: post.map(|i| blog.post_ids.ids[i]),
                likes: *likes,
            };
            let got = blog
                .comments
                .insert(db, row)
                .map(|id| Out::Index(blog.comment_ids.push(id)));
            (
                got.map_err(fail),
                model.insert_comment(post, *likes).map(Out::Index),
            )
        }
        Op::UpdateComment(x, post, likes) => {
            let i = need!(c(blog, model, *x));
            let post = match post {
                Some(x) => Some(need!(p(blog, model, *x))),
                None => None,
            };
            let row = Comment {
                post: post.map(|i| blog.post_ids.ids[i]),
                likes: *likes,
            };
            let got = blog
                .comments
                .update(db, blog.comment_ids.ids[i], row)
                .map(|_| Out::Unit);
            (
                got.map_err(fail),
                model.update_comment(i, post, *likes).map(|_| Out::Unit),
            )
        }
        Op::DeleteComment(x) => {
            let i = need!(c(blog, model, *x));
            let got = blog
                .comments
                .delete(db, blog.comment_ids.ids[i])
                .map(|_| Out::Unit);
            (
                got.map_err(fail),
                model.delete_comment(i).map(|_| Out::Unit),
            )
        }
        Op::InsertNote(x) => {
            let post = need!(p(blog, model, *x));
            let row = Note {
                post: blog.post_ids.ids[post],
            };
            let got = blog
                .notes
                .insert(db, row)
                .map(|id| Out::Index(blog.note_ids.push(id)));
            (got.map_err(fail), model.insert_note(post).map(Out::Index))
        }
        Op::DeleteNote(x) => {
            let i = need!(n(blog, model, *x));
            let got = blog
                .notes
                .delete(db, blog.note_ids.ids[i])
                .map(|_| Out::Unit);
            (got.map_err(fail), model.delete_note(i).map(|_| Out::Unit))
        }
        Op::Get(x) => {
            let i = need!(p(blog, model, *x));
            let got = blog
                .post_comments
                .get(db, blog.post_ids.ids[i])
                .map(|rows| Out::Indexes(blog.comment_indexes(rows)));
            (got.map_err(fail), model.comments_of(i).map(Out::Indexes))
        }
        Op::GetWith {
            post,
            min_likes,
            desc,
            limit,
            offset,
        } => {
            let i = need!(p(blog, model, *post));
            let mut query = Query::new()
                .filter(|c: &Row<Comment>| c.likes >= *min_likes)
                .offset(*offset);
            if *desc {
                query = query.order_by(|a: &Row<Comment>, b: &Row<Comment>| b.likes.cmp(&a.likes));
            }
            if let Some(limit) = limit {
                query = query.limit(*limit);
            }
            let got = blog
                .post_comments
                .query(db, blog.post_ids.ids[i], &query)
                .map(|rows| Out::Indexes(blog.comment_indexes(rows.into_iter())));
            let want = model.comments_of(i).map(|all| {
                let mut rows: Vec<usize> = all
                    .into_iter()
                    .filter(|&c| model.comments[c].as_ref().unwrap().likes >= *min_likes)
                    .collect();
                if *desc {
                    // Stable: equal likes keep creation order.
                    rows.sort_by(|&a, &b| {
                        let likes = |i: usize| model.comments[i].as_ref().unwrap().likes;
                        likes(b).cmp(&likes(a))
                    });
                }
                Out::Indexes(
                    rows.into_iter()
                        .skip(*offset)
                        .take(limit.unwrap_or(usize::MAX))
                        .collect(),
                )
            });
            (got.map_err(fail), want)
        }
        Op::Count(x) => {
            let i = need!(p(blog, model, *x));
            let got = blog
                .post_comments
                .count(db, blog.post_ids.ids[i])
                .map(Out::Count);
            (
                got.map_err(fail),
                model.comments_of(i).map(|v| Out::Count(v.len())),
            )
        }
        Op::GetMany(xs, limit) => {
            let is: Vec<usize> = need!(xs.iter().map(|&x| p(blog, model, x)).collect());
            let mut query = Query::new();
            if let Some(limit) = limit {
                query = query.limit(*limit);
            }
            let got = blog
                .post_comments
                .get_many(db, is.iter().map(|&i| blog.post_ids.ids[i]), &query)
                .map(|per| {
                    Out::PerPost(
                        per.into_iter()
                            .map(|(post, rows)| {
                                let rows = blog.comment_indexes(rows.into_iter());
                                (blog.post_ids.index[&post], rows)
                            })
                            .collect(),
                    )
                });
            let want = is
                .iter()
                .map(|&i| {
                    let mut rows = model.comments_of(i)?;
                    rows.truncate(limit.unwrap_or(usize::MAX));
                    Ok((i, rows))
                })
                .collect::<Res<Vec<_>>>()
                .map(Out::PerPost);
            (got.map_err(fail), want)
        }
        Op::CommentPosts(ys) => {
            let js: Vec<usize> = need!(cs(blog, model, ys));
            let got = blog
                .post_comments
                .inverse()
                .get_many(db, js.iter().map(|&j| blog.comment_ids.ids[j]))
                .map(|per| {
                    Out::Parents(
                        per.into_iter()
                            .map(|(c, post)| {
                                let post = post.map(|row| blog.post_ids.index[&row.id()]);
                                (blog.comment_ids.index[&c], post)
                            })
                            .collect(),
                    )
                });
            let want = js
                .iter()
                .map(|&j| Ok((j, model.comment_post(j)?)))
                .collect::<Res<Vec<_>>>()
                .map(Out::Parents);
            (got.map_err(fail), want)
        }
        Op::CountWhere(x, min) => {
            let i = need!(p(blog, model, *x));
            let got = blog
                .post_comments
                .count_where(db, blog.post_ids.ids[i], |c| c.likes >= *min)
                .map(Out::Count);
            let want = model.comments_of(i).map(|v| {
                Out::Count(
                    v.into_iter()
                        .filter(|&c| model.comments[c].as_ref().unwrap().likes >= *min)
                        .count(),
                )
            });
            (got.map_err(fail), want)
        }
        Op::Has(x, y) => {
            let (i, j) = (need!(p(blog, model, *x)), need!(c(blog, model, *y)));
            let got = blog
                .post_comments
                .has(db, blog.post_ids.ids[i], blog.comment_ids.ids[j])
                .map(Out::Bool);
            (got.map_err(fail), model.has_all(i, &[j]).map(Out::Bool))
        }
        Op::HasAll(x, ys) => {
            let (i, js) = (need!(p(blog, model, *x)), need!(cs(blog, model, ys)));
            let ids = js.iter().map(|&j| blog.comment_ids.ids[j]);
            let got = blog
                .post_comments
                .has_all(db, blog.post_ids.ids[i], ids)
                .map(Out::Bool);
            (got.map_err(fail), model.has_all(i, &js).map(Out::Bool))
        }
        Op::Add(x, y) => {
            let (i, j) = (need!(p(blog, model, *x)), need!(c(blog, model, *y)));
            let got = blog
                .post_comments
                .add(db, blog.post_ids.ids[i], blog.comment_ids.ids[j])
                .map(Out::Bool);
            (
                got.map_err(fail),
                model.add_many(i, &[j]).map(|n| Out::Bool(n == 1)),
            )
        }
        Op::AddMany(x, ys) => {
            let (i, js) = (need!(p(blog, model, *x)), need!(cs(blog, model, ys)));
            let ids: Vec<_> = js.iter().map(|&j| blog.comment_ids.ids[j]).collect();
            let got = blog
                .post_comments
                .add_many(db, blog.post_ids.ids[i], ids)
                .map(Out::Count);
            (got.map_err(fail), model.add_many(i, &js).map(Out::Count))
        }
        Op::Remove(x, y) => {
            let (i, j) = (need!(p(blog, model, *x)), need!(c(blog, model, *y)));
            let got = blog
                .post_comments
                .remove(db, blog.post_ids.ids[i], blog.comment_ids.ids[j])
                .map(Out::Bool);
            (
                got.map_err(fail),
                model.remove_many(i, &[j]).map(|n| Out::Bool(n == 1)),
            )
        }
        Op::RemoveMany(x, ys) => {
            let (i, js) = (need!(p(blog, model, *x)), need!(cs(blog, model, ys)));
            let ids: Vec<_> = js.iter().map(|&j| blog.comment_ids.ids[j]).collect();
            let got = blog
                .post_comments
                .remove_many(db, blog.post_ids.ids[i], ids)
                .map(Out::Count);
            (got.map_err(fail), model.remove_many(i, &js).map(Out::Count))
        }
        Op::Set(x, ys) => {
            let (i, js) = (need!(p(blog, model, *x)), need!(cs(blog, model, ys)));
            let before = model.comments_of(i).unwrap_or_default();
            let ids: Vec<_> = js.iter().map(|&j| blog.comment_ids.ids[j]).collect();
            let got = blog
                .post_comments
                .set(db, blog.post_ids.ids[i], ids)
                .map(Out::Count);
            let want = model.set(i, &js).map(Out::Count);
            if got.is_ok() {
                // The linked set is exactly `js`; rows dropped from it are null.
                let mut wanted = js.clone();
                wanted.sort_unstable();
                wanted.dedup();
                let linked =
                    blog.comment_indexes(blog.post_comments.get(db, blog.post_ids.ids[i]).unwrap());
                assert_eq!(linked, wanted, "set left a different linked set");
                for dropped in before.into_iter().filter(|c| !wanted.contains(c)) {
                    let row = blog
                        .comments
                        .get(db, blog.comment_ids.ids[dropped])
                        .unwrap();
                    assert_eq!(row.post, None, "a comment dropped by set is not null");
                }
            }
            (got.map_err(fail), want)
        }
        Op::Create(x, likes) => {
            let i = need!(p(blog, model, *x));
            let row = Comment {
                post: None,
                likes: *likes,
            };
            let got = blog
                .post_comments
                .create(db, blog.post_ids.ids[i], row)
                .map(|id| Out::Index(blog.comment_ids.push(id)));
            (
                got.map_err(fail),
                model.create_comment(i, *likes).map(Out::Index),
            )
        }
        Op::CommentPost(y) => {
            let j = need!(c(blog, model, *y));
            let got = blog
                .post_comments
                .inverse()
                .get(db, blog.comment_ids.ids[j])
                .map(|post| Out::Parent(post.map(|row| blog.post_ids.index[&row.id()])));
            (got.map_err(fail), model.comment_post(j).map(Out::Parent))
        }
        Op::SetCommentPost(y, x) => {
            let j = need!(c(blog, model, *y));
            let i = match x {
                Some(x) => Some(need!(p(blog, model, *x))),
                None => None,
            };
            let got = blog
                .post_comments
                .inverse()
                .set(db, blog.comment_ids.ids[j], i.map(|i| blog.post_ids.ids[i]))
                .map(|_| Out::Unit);
            (
                got.map_err(fail),
                model.set_comment_post(j, i).map(|_| Out::Unit),
            )
        }
        Op::CreateCommentPost(y) => {
            let j = need!(c(blog, model, *y));
            let got = blog
                .post_comments
                .inverse()
                .create(db, blog.comment_ids.ids[j], Post)
                .map(|id| Out::Index(blog.post_ids.push(id)));
            (
                got.map_err(fail),
                model.create_comment_post(j).map(Out::Index),
            )
        }
        Op::SetNotes(x, ys, delete) => {
            let i = need!(p(blog, model, *x));
            let js: Vec<usize> = need!(ys.iter().map(|&y| n(blog, model, y)).collect());
            let ids: Vec<_> = js.iter().map(|&j| blog.note_ids.ids[j]).collect();
            let policy = delete.then_some(Unlink::Delete);
            let got = blog
                .post_notes
                .set_with(db, blog.post_ids.ids[i], ids, policy)
                .map(Out::Count);
            (
                got.map_err(fail),
                model.set_notes(i, &js, *delete).map(Out::Count),
            )
        }
        Op::RemoveNote(x, y, delete) => {
            let (i, j) = (need!(p(blog, model, *x)), need!(n(blog, model, *y)));
            let policy = delete.then_some(Unlink::Delete);
            let got = blog
                .post_notes
                .remove_many_with(db, blog.post_ids.ids[i], [blog.note_ids.ids[j]], policy)
                .map(|k| Out::Bool(k == 1));
            (
                got.map_err(fail),
                model.remove_note(i, j, *delete).map(Out::Bool),
            )
        }
        Op::NullNotePost(y) => {
            let j = need!(n(blog, model, *y));
            let got = blog
                .post_notes
                .inverse()
                .set(db, blog.note_ids.ids[j], None)
                .map(|_| Out::Unit);
            (
                got.map_err(fail),
                model.null_note_post(j).map(|_| Out::Unit),
            )
        }
        Op::Begin { .. } | Op::Commit | Op::Rollback | Op::Snapshot => {
            unreachable!("handled by run")
        }
        Op::AddNote(x, y) => {
            let (i, j) = (need!(p(blog, model, *x)), need!(n(blog, model, *y)));
            let got = blog
                .post_notes
                .add(db, blog.post_ids.ids[i], blog.note_ids.ids[j])
                .map(|_| Out::Unit);
            let want = model.notes_of(i).and_then(|_| {
                model
                    .notes
                    .get(j)
                    .and_then(Option::as_ref)
                    .ok_or(Fail::NotFound)?;
                model.notes[j].as_mut().unwrap().post = i;
                Ok(Out::Unit)
            });
            (got.map_err(fail), want)
        }
    };
    assert_eq!(got, want, "result of {op:?}");
}

/// The per-step invariants that do not need the reference.
fn check_invariants(blog: &Blog, db: &Db) {
    db.check_integrity().unwrap();
    for post in blog.posts.iter(db).unwrap() {
        let children: Vec<Id<Comment>> = blog
            .post_comments
            .get(db, post.id())
            .unwrap()
            .map(|r| r.id())
            .collect();
        assert_eq!(
            blog.post_comments.count(db, post.id()).unwrap(),
            children.len()
        );
        for comment in blog.comments.iter(db).unwrap() {
            let has = blog.post_comments.has(db, post.id(), comment.id()).unwrap();
            assert_eq!(has, children.contains(&comment.id()));
        }
    }
}

/// Snapshots taken so far, each with the reference state it must keep showing.
type Snapshots = Vec<(Db, Reference)>;

/// How a (nested) run of operations ended.
enum End {
    Commit,
    Rollback,
    OutOfOps,
}

/// After a rollback the reference goes back to its state at `Begin`, but rows created inside
/// stay issued, and dead: their ids must never resolve again.
fn rolled_back(blog: &Blog, mut saved: Reference) -> Reference {
    saved.posts.resize(blog.post_ids.ids.len(), None);
    saved.comments.resize(blog.comment_ids.ids.len(), None);
    saved.notes.resize(blog.note_ids.ids.len(), None);
    saved
}

/// Applies operations until the transaction at `depth` ends, checking after every one.
fn run_until_end(
    blog: &mut Blog,
    db: &mut Db,
    model: &mut Reference,
    snapshots: &mut Snapshots,
    ops: &mut std::slice::Iter<'_, Op>,
    depth: usize,
) -> End {
    while let Some(op) = ops.next() {
        let before = db.fork();
        let model_before = model.clone();
        match op {
            Op::Commit if depth > 0 => return End::Commit,
            Op::Rollback if depth > 0 => return End::Rollback,
            Op::Commit | Op::Rollback => {}
            Op::Snapshot => {
                if snapshots.len() < 3 {
                    snapshots.push((db.fork(), model.clone()));
                }
            }
            Op::Begin { closure: false } => {
                let mut tx = db.begin();
                match run_until_end(blog, &mut tx, model, snapshots, ops, depth + 1) {
                    End::Commit => tx.commit(),
                    End::Rollback | End::OutOfOps => {
                        tx.rollback();
                        *model = rolled_back(blog, model_before.clone());
                    }
                }
            }
            Op::Begin { closure: true } => {
                let result = db.transaction(|tx| {
                    match run_until_end(blog, tx, model, snapshots, ops, depth + 1) {
                        End::Commit => Ok(()),
                        End::Rollback | End::OutOfOps => Err(()),
                    }
                });
                if result.is_err() {
                    *model = rolled_back(blog, model_before.clone());
                }
            }
            _ => step(blog, db, model, op),
        }
        check_invariants(blog, db);
        assert_eq!(
            blog.contents(db),
            *model,
            "database differs from the reference after {op:?}"
        );
        if rolled_back(blog, model_before) == *model {
            // Nothing changed in the reference (a read, a failed write, a rollback): the
            // database equals its state before the operation.
            assert_eq!(
                blog.contents(&before),
                blog.contents(db),
                "{op:?} changed the database"
            );
        }
        for (snapshot, frozen) in snapshots.iter() {
            assert_eq!(
                blog.contents(snapshot),
                rolled_back(blog, frozen.clone()),
                "a snapshot changed after {op:?}"
            );
        }
    }
    End::OutOfOps
}

fn run(ops: &[Op]) {
    let (mut blog, mut db) = Blog::new();
    let mut model = Reference::default();
    let mut snapshots = Vec::new();
    run_until_end(
        &mut blog,
        &mut db,
        &mut model,
        &mut snapshots,
        &mut ops.iter(),
        0,
    );
}

proptest! {
    #[test]
    fn blog_matches_the_reference(ops in prop::collection::vec(op(), 1..64)) {
        run(&ops);
    }
}
