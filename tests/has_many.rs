//! HasMany and BelongsTo: one test per behaviour of the spec (§3, §4), with the error contents.

use relata::{
    Argument, AssocOptions, Db, Error, HasMany, Id, OnDelete, Query, RowRef, Table, Unlink, fk,
};

#[derive(Clone, Debug, PartialEq)]
struct Post {
    title: &'static str,
}

#[derive(Clone, Debug, PartialEq)]
struct Comment {
    post: Option<Id<Post>>,
    likes: u32,
}

#[derive(Clone, Debug, PartialEq)]
struct Review {
    post: Id<Post>,
}

struct Blog {
    db: Db,
    posts: Table<Post>,
    comments: Table<Comment>,
    reviews: Table<Review>,
    post_comments: HasMany<Post, Comment>,
    post_reviews: HasMany<Post, Review>,
}

fn blog() -> Blog {
    let mut db = Db::new();
    let posts = db.create_table().unwrap();
    let comments = db.create_table().unwrap();
    let reviews = db.create_table().unwrap();
    let post_comments = db
        .has_many_with(
            posts,
            comments,
            fk!(Comment, post),
            AssocOptions::new().name("comments").inverse("post"),
        )
        .unwrap();
    let post_reviews = db
        .has_many_with(
            posts,
            reviews,
            fk!(Review, post),
            AssocOptions::new().name("reviews"),
        )
        .unwrap();
    Blog {
        db,
        posts,
        comments,
        reviews,
        post_comments,
        post_reviews,
    }
}

fn c(likes: u32) -> Comment {
    Comment { post: None, likes }
}

#[test]
fn get_returns_linked_rows_in_creation_order_even_after_moves() {
    let mut b = blog();
    let p = b.posts.insert(&mut b.db, Post { title: "p" }).unwrap();
    let q = b.posts.insert(&mut b.db, Post { title: "q" }).unwrap();
    let c1 = b.post_comments.create(&mut b.db, q, c(1)).unwrap();
    let c2 = b.post_comments.create(&mut b.db, p, c(2)).unwrap();
    let c3 = b.post_comments.create(&mut b.db, q, c(3)).unwrap();
    // Move the oldest comment last: it still comes first.
    b.post_comments.add_many(&mut b.db, p, [c3, c1]).unwrap();
    let got: Vec<_> = b
        .post_comments
        .get(&b.db, p)
        .unwrap()
        .map(|r| r.id())
        .collect();
    assert_eq!(got, [c1, c2, c3]);
    assert_eq!(b.post_comments.get(&b.db, p).unwrap().len(), 3);
    assert_eq!(b.post_comments.count(&b.db, q).unwrap(), 0);
}

#[test]
fn query_filters_orders_limits_and_offsets() {
    let mut b = blog();
    let p = b.posts.insert(&mut b.db, Post { title: "p" }).unwrap();
    for likes in [3, 0, 7, 3, 9] {
        b.post_comments.create(&mut b.db, p, c(likes)).unwrap();
    }
    let query = Query::<Comment>::new()
        .filter(|c| c.likes > 0)
        .order_by(|a, b| a.likes.cmp(&b.likes))
        .offset(1)
        .limit(2);
    let likes: Vec<u32> = b
        .post_comments
        .query(&b.db, p, &query)
        .unwrap()
        .iter()
        .map(|r| r.likes)
        .collect();
    assert_eq!(likes, [3, 7], "sorted 3,3,7,9; skip one, take two");
}

#[test]
fn get_many_gives_one_entry_per_source_with_a_per_source_limit() {
    let mut b = blog();
    let p = b.posts.insert(&mut b.db, Post { title: "p" }).unwrap();
    let empty = b.posts.insert(&mut b.db, Post { title: "empty" }).unwrap();
    let q = b.posts.insert(&mut b.db, Post { title: "q" }).unwrap();
    for _ in 0..3 {
        b.post_comments.create(&mut b.db, p, c(0)).unwrap();
        b.post_comments.create(&mut b.db, q, c(0)).unwrap();
    }
    let got = b
        .post_comments
        .get_many(&b.db, [q, empty, p], &Query::new().limit(2))
        .unwrap();
    let shape: Vec<_> = got.iter().map(|(s, rows)| (*s, rows.len())).collect();
    assert_eq!(shape, [(q, 2), (empty, 0), (p, 2)]);

    b.posts.delete(&mut b.db, empty).unwrap();
    let err = b
        .post_comments
        .get_many(&b.db, [p, empty], &Query::new())
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { model: "Post", .. }));
}

#[test]
fn count_and_has_with_filters() {
    let mut b = blog();
    let p = b.posts.insert(&mut b.db, Post { title: "p" }).unwrap();
    let low = b.post_comments.create(&mut b.db, p, c(1)).unwrap();
    let high = b.post_comments.create(&mut b.db, p, c(10)).unwrap();
    let other = b.comments.insert(&mut b.db, c(10)).unwrap();
    assert_eq!(
        b.post_comments
            .count_where(&b.db, p, |c| c.likes > 5)
            .unwrap(),
        1
    );
    assert!(
        b.post_comments
            .has_where(&b.db, p, high, |c| c.likes > 5)
            .unwrap()
    );
    assert!(
        !b.post_comments
            .has_where(&b.db, p, low, |c| c.likes > 5)
            .unwrap()
    );
    assert!(
        !b.post_comments
            .has_where(&b.db, p, other, |c| c.likes > 5)
            .unwrap(),
        "matches but not linked"
    );
    assert!(
        b.post_comments
            .has_all_where(&b.db, p, [low, high], |c| c.likes > 0)
            .unwrap()
    );
    assert!(
        !b.post_comments
            .has_all_where(&b.db, p, [low, high], |c| c.likes > 5)
            .unwrap()
    );
}

#[test]
fn has_all_has_set_semantics() {
    let mut b = blog();
    let p = b.posts.insert(&mut b.db, Post { title: "p" }).unwrap();
    let x = b.post_comments.create(&mut b.db, p, c(0)).unwrap();
    let y = b.comments.insert(&mut b.db, c(0)).unwrap();
    assert!(
        b.post_comments.has_all(&b.db, p, [x, x, x]).unwrap(),
        "duplicates do not make it false"
    );
    assert!(
        b.post_comments.has_all(&b.db, p, []).unwrap(),
        "empty is vacuously true"
    );
    assert!(!b.post_comments.has_all(&b.db, p, [x, y]).unwrap());
    // A row read from the database can stand in for its id.
    let row = b.comments.get(&b.db, x).unwrap();
    assert!(b.post_comments.has(&b.db, p, row).unwrap());
}

#[test]
fn add_moves_a_target_from_its_previous_source() {
    let mut b = blog();
    let p = b.posts.insert(&mut b.db, Post { title: "p" }).unwrap();
    let q = b.posts.insert(&mut b.db, Post { title: "q" }).unwrap();
    let x = b.post_comments.create(&mut b.db, p, c(0)).unwrap();
    assert!(b.post_comments.add(&mut b.db, q, x).unwrap());
    assert!(
        !b.post_comments.add(&mut b.db, q, x).unwrap(),
        "already linked: untouched"
    );
    assert_eq!(b.post_comments.count(&b.db, p).unwrap(), 0);
    assert_eq!(b.post_comments.count(&b.db, q).unwrap(), 1);
    assert_eq!(
        b.post_comments.add_many(&mut b.db, p, [x, x]).unwrap(),
        1,
        "duplicates count once"
    );
}

#[test]
fn unknown_ids_fail_the_whole_call_and_change_nothing() {
    let mut b = blog();
    let p = b.posts.insert(&mut b.db, Post { title: "p" }).unwrap();
    let x = b.comments.insert(&mut b.db, c(0)).unwrap();
    let gone = b.comments.insert(&mut b.db, c(0)).unwrap();
    b.comments.delete(&mut b.db, gone).unwrap();
    let err = b
        .post_comments
        .add_many(&mut b.db, p, [x, gone])
        .unwrap_err();
    assert_eq!(
        err,
        Error::NotFound {
            model: "Comment",
            id: gone.into(),
            argument: Argument::Target,
            association: Some("comments"),
        }
    );
    assert_eq!(
        b.post_comments.count(&b.db, p).unwrap(),
        0,
        "x was not linked either"
    );
    assert!(b.post_comments.set(&mut b.db, p, [x, gone]).is_err());
    assert!(b.post_comments.remove_many(&mut b.db, p, [gone]).is_err());
    assert!(
        b.post_comments.has(&b.db, p, gone).is_err(),
        "reads check ids too"
    );
    assert_eq!(b.comments.get(&b.db, x).unwrap().post, None);
}

#[test]
fn remove_leaves_rows_linked_elsewhere_alone() {
    let mut b = blog();
    let p = b.posts.insert(&mut b.db, Post { title: "p" }).unwrap();
    let q = b.posts.insert(&mut b.db, Post { title: "q" }).unwrap();
    let mine = b.post_comments.create(&mut b.db, p, c(0)).unwrap();
    let theirs = b.post_comments.create(&mut b.db, q, c(0)).unwrap();
    assert!(!b.post_comments.remove(&mut b.db, p, theirs).unwrap());
    assert_eq!(b.comments.get(&b.db, theirs).unwrap().post, Some(q));
    assert_eq!(
        b.post_comments
            .remove_many(&mut b.db, p, [mine, theirs, mine])
            .unwrap(),
        1
    );
    assert_eq!(b.comments.get(&b.db, mine).unwrap().post, None);
}

#[test]
fn unlinking_a_non_null_key_is_a_validation_error_naming_everything() {
    let mut b = blog();
    let p = b.posts.insert(&mut b.db, Post { title: "p" }).unwrap();
    let r1 = b
        .post_reviews
        .create(&mut b.db, p, Review { post: p })
        .unwrap();
    let r2 = b
        .post_reviews
        .create(&mut b.db, p, Review { post: p })
        .unwrap();
    let expected = Error::Validation {
        model: "Review",
        field: "post",
        row: r1.into(),
        association: "reviews",
    };
    assert_eq!(
        b.post_reviews.set(&mut b.db, p, [r2]).unwrap_err(),
        expected
    );
    assert_eq!(
        b.post_reviews.remove(&mut b.db, p, r1).unwrap_err(),
        expected
    );
    assert_eq!(b.post_reviews.set(&mut b.db, p, []).unwrap_err(), expected);
    let err = b
        .post_reviews
        .inverse()
        .set(&mut b.db, r1, None)
        .unwrap_err();
    assert!(matches!(
        err,
        Error::Validation {
            field: "post",
            association: "post",
            ..
        }
    ));
    assert_eq!(
        b.post_reviews.count(&b.db, p).unwrap(),
        2,
        "nothing changed"
    );
}

#[test]
fn the_delete_unlink_policy_deletes_unlinked_rows() {
    let mut b = blog();
    let p = b.posts.insert(&mut b.db, Post { title: "p" }).unwrap();
    let r1 = b
        .post_reviews
        .create(&mut b.db, p, Review { post: p })
        .unwrap();
    let r2 = b
        .post_reviews
        .create(&mut b.db, p, Review { post: p })
        .unwrap();
    assert_eq!(
        b.post_reviews
            .set_with(&mut b.db, p, [r2], Some(Unlink::Delete))
            .unwrap(),
        1
    );
    assert!(!b.reviews.contains(&b.db, r1).unwrap());
    assert_eq!(
        b.post_reviews
            .remove_many_with(&mut b.db, p, [r2], Some(Unlink::Delete))
            .unwrap(),
        1
    );
    assert!(b.reviews.is_empty(&b.db).unwrap());
    b.db.check_integrity().unwrap();
}

#[test]
fn the_delete_policy_can_be_the_association_default() {
    let mut db = Db::new();
    let posts = db.create_table::<Post>().unwrap();
    let comments = db.create_table::<Comment>().unwrap();
    let pc = db
        .has_many_with(
            posts,
            comments,
            fk!(Comment, post),
            AssocOptions::new().unlink(Unlink::Delete),
        )
        .unwrap();
    let p = posts.insert(&mut db, Post { title: "p" }).unwrap();
    let x = pc.create(&mut db, p, c(0)).unwrap();
    assert!(pc.remove(&mut db, p, x).unwrap());
    assert!(!comments.contains(&db, x).unwrap(), "deleted, not nulled");
    // The per-call policy overrides it.
    let y = pc.create(&mut db, p, c(0)).unwrap();
    pc.set_with(&mut db, p, [], Some(Unlink::Nullify)).unwrap();
    assert_eq!(comments.get(&db, y).unwrap().post, None);
}

#[test]
fn set_is_exact_and_reports_changed_rows() {
    let mut b = blog();
    let p = b.posts.insert(&mut b.db, Post { title: "p" }).unwrap();
    let q = b.posts.insert(&mut b.db, Post { title: "q" }).unwrap();
    let keep = b.post_comments.create(&mut b.db, p, c(0)).unwrap();
    let drop = b.post_comments.create(&mut b.db, p, c(0)).unwrap();
    let steal = b.post_comments.create(&mut b.db, q, c(0)).unwrap();
    assert_eq!(
        b.post_comments
            .set(&mut b.db, p, [keep, steal, steal])
            .unwrap(),
        2
    );
    let linked: Vec<_> = b
        .post_comments
        .get(&b.db, p)
        .unwrap()
        .map(|r| r.id())
        .collect();
    assert_eq!(linked, [keep, steal]);
    assert_eq!(b.comments.get(&b.db, drop).unwrap().post, None);
    assert_eq!(
        b.post_comments.count(&b.db, q).unwrap(),
        0,
        "moved away from q"
    );
    assert_eq!(b.post_comments.set(&mut b.db, p, []).unwrap(), 2);
    assert_eq!(b.post_comments.count(&b.db, p).unwrap(), 0);
}

#[test]
fn create_overwrites_the_key_and_checks_the_source() {
    let mut b = blog();
    let p = b.posts.insert(&mut b.db, Post { title: "p" }).unwrap();
    let q = b.posts.insert(&mut b.db, Post { title: "q" }).unwrap();
    let x = b
        .post_comments
        .create(
            &mut b.db,
            p,
            Comment {
                post: Some(q),
                likes: 0,
            },
        )
        .unwrap();
    assert_eq!(b.comments.get(&b.db, x).unwrap().post, Some(p));
    b.posts.delete(&mut b.db, q).unwrap();
    assert!(matches!(
        b.post_comments.create(&mut b.db, q, c(0)),
        Err(Error::NotFound { .. })
    ));
    assert_eq!(b.comments.len(&b.db), Ok(1));
}

#[test]
fn belongs_to_get_set_create() {
    let mut b = blog();
    let comment_post = b.post_comments.inverse();
    let p = b.posts.insert(&mut b.db, Post { title: "p" }).unwrap();
    let x = b.comments.insert(&mut b.db, c(0)).unwrap();
    assert!(comment_post.get(&b.db, x).unwrap().is_none());
    comment_post.set(&mut b.db, x, Some(p)).unwrap();
    assert_eq!(comment_post.get(&b.db, x).unwrap().unwrap().title, "p");
    assert_eq!(
        b.post_comments.count(&b.db, p).unwrap(),
        1,
        "both sides read one index"
    );
    let made = comment_post
        .create(&mut b.db, x, Post { title: "made" })
        .unwrap();
    assert_eq!(
        comment_post.get(&b.db, x).unwrap().map(|r| r.id()),
        Some(made)
    );
    assert_eq!(b.post_comments.count(&b.db, p).unwrap(), 0);
    comment_post.set(&mut b.db, x, None).unwrap();
    assert_eq!(b.post_comments.count(&b.db, made).unwrap(), 0);

    b.posts.delete(&mut b.db, p).unwrap();
    let err = comment_post.set(&mut b.db, x, Some(p)).unwrap_err();
    // Roles are the called association's: a belongs-to's target is the post.
    assert_eq!(
        err,
        Error::NotFound {
            model: "Post",
            id: p.into(),
            argument: Argument::Target,
            association: Some("post"),
        }
    );
    b.comments.delete(&mut b.db, x).unwrap();
    let posts_before = b.posts.len(&b.db).unwrap();
    assert!(
        comment_post
            .create(&mut b.db, x, Post { title: "orphan?" })
            .is_err()
    );
    assert_eq!(b.posts.len(&b.db), Ok(posts_before), "no orphan source row");
}

/// Errors of a `BelongsTo` method name the association whose method was called (`post`), as
/// its `Validation` errors do (see `unlinking_a_non_null_key_is_a_validation_error_naming_everything`),
/// and its roles: the comment is its source, the post its target.
#[test]
fn belongs_to_errors_name_the_belongs_to_association() {
    let mut b = blog();
    let comment_post = b.post_comments.inverse();
    let p = b.posts.insert(&mut b.db, Post { title: "p" }).unwrap();
    let x = b.comments.insert(&mut b.db, c(0)).unwrap();
    b.posts.delete(&mut b.db, p).unwrap();
    assert_eq!(
        comment_post.set(&mut b.db, x, Some(p)).unwrap_err(),
        Error::NotFound {
            model: "Post",
            id: p.into(),
            argument: Argument::Target,
            association: Some("post"),
        }
    );
    let q = b.posts.insert(&mut b.db, Post { title: "q" }).unwrap();
    b.comments.delete(&mut b.db, x).unwrap();
    for err in [
        comment_post.set(&mut b.db, x, Some(q)).unwrap_err(),
        comment_post.get(&b.db, x).unwrap_err(),
    ] {
        assert_eq!(
            err,
            Error::NotFound {
                model: "Comment",
                id: x.into(),
                argument: Argument::Source,
                association: Some("post"),
            }
        );
    }
}

#[test]
fn buckets_past_the_small_threshold_keep_order_and_count() {
    let mut b = blog();
    let p = b.posts.insert(&mut b.db, Post { title: "p" }).unwrap();
    let ids: Vec<_> = (0..300)
        .map(|i| b.post_comments.create(&mut b.db, p, c(i)).unwrap())
        .collect();
    assert_eq!(b.post_comments.count(&b.db, p).unwrap(), 300);
    let got: Vec<_> = b
        .post_comments
        .get(&b.db, p)
        .unwrap()
        .map(|r| r.id())
        .collect();
    assert_eq!(got, ids);
    let (gone, kept) = ids.split_at(280);
    b.post_comments
        .remove_many(&mut b.db, p, gone.iter().copied())
        .unwrap();
    let got: Vec<_> = b
        .post_comments
        .get(&b.db, p)
        .unwrap()
        .map(|r| r.id())
        .collect();
    assert_eq!(got, kept);
    b.db.check_integrity().unwrap();
}

#[test]
fn declaring_an_association_indexes_existing_rows() {
    let mut db = Db::new();
    let posts = db.create_table::<Post>().unwrap();
    let comments = db.create_table::<Comment>().unwrap();
    let p = posts.insert(&mut db, Post { title: "p" }).unwrap();
    comments
        .insert(
            &mut db,
            Comment {
                post: Some(p),
                likes: 0,
            },
        )
        .unwrap();
    let pc = db.has_many(posts, comments, fk!(Comment, post)).unwrap();
    assert_eq!(pc.count(&db, p).unwrap(), 1);
    let again = db.belongs_to(comments, posts, fk!(Comment, post));
    assert!(
        matches!(again, Err(Error::Definition { .. })),
        "one association per foreign-key field"
    );
}

#[test]
fn set_null_on_a_non_null_key_is_rejected_at_declaration() {
    let mut db = Db::new();
    let posts = db.create_table::<Post>().unwrap();
    let reviews = db.create_table::<Review>().unwrap();
    let err = db
        .has_many_with(
            posts,
            reviews,
            fk!(Review, post),
            AssocOptions::new().on_delete(OnDelete::SetNull),
        )
        .unwrap_err();
    assert!(err.to_string().contains("Review.post"), "{err}");
    let err = db
        .has_many_with(
            posts,
            reviews,
            fk!(Review, post),
            AssocOptions::new().unlink(Unlink::Nullify),
        )
        .unwrap_err();
    assert!(matches!(err, Error::Definition { .. }));
    // Both say what to do instead.
    let message = err.to_string();
    assert!(message.contains("Review.post"), "{message}");
    assert!(message.contains("make the field an Option"), "{message}");
    assert!(message.contains("Unlink::Reject"), "{message}");
}

#[test]
fn handles_from_another_database_are_errors_not_panics() {
    let mut b = blog();
    let mut other = Db::new();
    let p = b.posts.insert(&mut b.db, Post { title: "p" }).unwrap();
    assert!(matches!(
        b.post_comments.count(&other, p),
        Err(Error::UnknownHandle { .. })
    ));
    assert!(matches!(
        b.posts.insert(&mut other, Post { title: "x" }),
        Err(Error::UnknownHandle { .. })
    ));
    assert!(matches!(
        b.posts.contains(&other, p),
        Err(Error::UnknownHandle { .. })
    ));
    // A fork keeps the schema, so handles keep working there.
    let fork = b.db.fork();
    assert_eq!(b.post_comments.count(&fork, p).unwrap(), 0);
}

/// `add` and `remove` of one row take a one-walk path when the source has children and the key
/// is nullable; every other case takes the general one. Both must give the same answers and
/// errors (source first), and neither may touch a snapshot.
#[test]
fn single_add_and_remove_agree_on_every_path() {
    let mut b = blog();
    let p = b.posts.insert(&mut b.db, Post { title: "p" }).unwrap();
    let q = b.posts.insert(&mut b.db, Post { title: "q" }).unwrap();
    let dead = b.posts.insert(&mut b.db, Post { title: "dead" }).unwrap();
    b.posts.delete(&mut b.db, dead).unwrap();
    let x = b.post_comments.create(&mut b.db, p, c(1)).unwrap();
    let y = b.post_comments.create(&mut b.db, p, c(2)).unwrap();
    let gone = b.comments.insert(&mut b.db, c(0)).unwrap();
    b.comments.delete(&mut b.db, gone).unwrap();
    let not_found = |model, id: RowRef, argument| Error::NotFound {
        model,
        id,
        argument,
        association: Some("comments"),
    };

    let snapshot = b.db.fork();
    for source in [p, q] {
        let err = b.post_comments.add(&mut b.db, source, gone).unwrap_err();
        assert_eq!(err, not_found("Comment", gone.into(), Argument::Target));
        let err = b.post_comments.remove(&mut b.db, source, gone).unwrap_err();
        assert_eq!(err, not_found("Comment", gone.into(), Argument::Target));
    }
    for target in [x, gone] {
        let err = b.post_comments.add(&mut b.db, dead, target).unwrap_err();
        assert_eq!(err, not_found("Post", dead.into(), Argument::Source));
        let err = b.post_comments.remove(&mut b.db, dead, target).unwrap_err();
        assert_eq!(err, not_found("Post", dead.into(), Argument::Source));
    }
    assert!(
        !b.post_comments.add(&mut b.db, p, x).unwrap(),
        "already linked"
    );
    assert!(
        !b.post_comments.remove(&mut b.db, q, x).unwrap(),
        "linked elsewhere"
    );
    assert_eq!(b.comments.get(&b.db, x).unwrap().post, Some(p));

    assert!(
        b.post_comments.add(&mut b.db, q, x).unwrap(),
        "q had no children"
    );
    assert!(b.post_comments.add(&mut b.db, p, x).unwrap(), "p has y");
    assert!(b.post_comments.remove(&mut b.db, p, y).unwrap());
    assert!(b.post_comments.add(&mut b.db, q, y).unwrap());
    let ids = |db: &Db, post| -> Vec<_> {
        b.post_comments
            .get(db, post)
            .unwrap()
            .map(|r| r.id())
            .collect()
    };
    assert_eq!((ids(&b.db, p), ids(&b.db, q)), (vec![x], vec![y]));
    assert_eq!((ids(&snapshot, p), ids(&snapshot, q)), (vec![x, y], vec![]));
    b.db.check_integrity().unwrap();
    snapshot.check_integrity().unwrap();
}

#[test]
fn a_name_given_twice_from_one_model_is_refused() {
    #[derive(Clone)]
    struct User;
    #[derive(Clone)]
    struct Doc {
        author: Id<User>,
        editor: Id<User>,
    }
    let mut db = Db::new();
    let users = db.create_table::<User>().unwrap();
    let docs = db.create_table::<Doc>().unwrap();
    let named = || AssocOptions::new().name("docs");
    db.has_many_with(users, docs, fk!(Doc, author), named())
        .unwrap();
    let err = db
        .has_many_with(users, docs, fk!(Doc, editor), named())
        .unwrap_err();
    assert!(matches!(err, Error::Definition { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("`docs`"), "{message}");
    assert!(message.contains("Doc.author"), "{message}");
    // Default names may repeat (both are `Doc`); a name of their own tells them apart.
    let mut db = Db::new();
    let users = db.create_table::<User>().unwrap();
    let docs = db.create_table::<Doc>().unwrap();
    db.has_many(users, docs, fk!(Doc, author)).unwrap();
    db.has_many(users, docs, fk!(Doc, editor)).unwrap();
}
