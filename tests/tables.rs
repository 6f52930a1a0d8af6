//! Tables, unique attributes, source keys and deletes with their referential actions.

use relata::{
    Argument, AssocOptions, Change, Db, Error, Id, OnDelete, OnUpdate, Unlink, field, fk,
};

#[derive(Clone, Debug, PartialEq)]
struct User {
    email: String,
}

#[derive(Clone, Debug, PartialEq)]
struct Post {
    author: Id<User>,
    slug: String,
}

#[derive(Clone, Debug, PartialEq)]
struct Comment {
    post_slug: Option<String>,
    text: &'static str,
}

#[test]
fn crud_round_trip_with_stale_ids() {
    let mut db = Db::new();
    let users = db.create_table::<User>().unwrap();
    let ada = users
        .insert(
            &mut db,
            User {
                email: "ada".into(),
            },
        )
        .unwrap();
    let bob = users
        .insert(
            &mut db,
            User {
                email: "bob".into(),
            },
        )
        .unwrap();
    assert_eq!(users.len(&db), Ok(2));
    let old = users
        .update(
            &mut db,
            ada,
            User {
                email: "ada@x".into(),
            },
        )
        .unwrap();
    assert_eq!(old.email, "ada");
    users
        .modify(&mut db, bob, |u| u.email.push_str("@y"))
        .unwrap();
    let emails: Vec<_> = users.iter(&db).unwrap().map(|u| u.email.clone()).collect();
    assert_eq!(emails, ["ada@x", "bob@y"]);
    assert_eq!(users.delete(&mut db, ada).unwrap().row.email, "ada@x");

    // The slot is reused, the stale id stays dead.
    let cyd = users
        .insert(
            &mut db,
            User {
                email: "cyd".into(),
            },
        )
        .unwrap();
    assert_ne!(ada, cyd);
    for result in [
        users.get(&db, ada).map(drop),
        users
            .update(&mut db, ada, User { email: "x".into() })
            .map(drop),
    ] {
        assert_eq!(
            result.unwrap_err(),
            Error::NotFound {
                model: "User",
                id: ada.into(),
                argument: Argument::Row,
                association: None,
            }
        );
    }
    assert!(users.delete(&mut db, ada).is_err());
    assert!(users.modify(&mut db, ada, |_| {}).is_err());
    let found: Vec<_> = users
        .filter(&db, |u| u.email.starts_with('c'))
        .unwrap()
        .map(|u| u.id())
        .collect();
    assert_eq!(found, [cyd]);
    // Iteration is in creation order even though cyd took ada's slot.
    let order: Vec<_> = users.iter(&db).unwrap().map(|u| u.id()).collect();
    assert_eq!(order, [bob, cyd]);
}

#[test]
fn a_panicking_modify_changes_nothing() {
    let mut db = Db::new();
    let users = db.create_table::<User>().unwrap();
    let ada = users
        .insert(
            &mut db,
            User {
                email: "ada".into(),
            },
        )
        .unwrap();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        users
            .modify(&mut db, ada, |u| {
                u.email.clear();
                panic!("halfway");
            })
            .ok();
    }));
    assert!(result.is_err());
    assert_eq!(users.get(&db, ada).unwrap().email, "ada");
}

#[test]
fn foreign_keys_in_row_data_are_checked_on_insert_and_update() {
    let mut db = Db::new();
    let users = db.create_table::<User>().unwrap();
    let posts = db.create_table::<Post>().unwrap();
    db.has_many(users, posts, fk!(Post, author)).unwrap();
    let ada = users
        .insert(
            &mut db,
            User {
                email: "ada".into(),
            },
        )
        .unwrap();
    let gone = users
        .insert(
            &mut db,
            User {
                email: "gone".into(),
            },
        )
        .unwrap();
    users.delete(&mut db, gone).unwrap();

    let err = posts
        .insert(
            &mut db,
            Post {
                author: gone,
                slug: "a".into(),
            },
        )
        .unwrap_err();
    assert_eq!(
        err,
        Error::ForeignKey {
            model: "Post",
            field: "author",
            row: None,
            references: "User",
            key: gone.to_string()
        }
    );
    assert!(posts.is_empty(&db).unwrap());
    let p = posts
        .insert(
            &mut db,
            Post {
                author: ada,
                slug: "a".into(),
            },
        )
        .unwrap();
    let err = posts
        .update(
            &mut db,
            p,
            Post {
                author: gone,
                slug: "a".into(),
            },
        )
        .unwrap_err();
    assert!(matches!(err, Error::ForeignKey { row: Some(ref r), .. } if *r == p));
    assert!(err.to_string().contains("Post.author"));
    assert_eq!(posts.get(&db, p).unwrap().author, ada);
}

#[test]
fn unique_attributes_reject_duplicates_on_insert_and_update() {
    let mut db = Db::new();
    let users = db.create_table::<User>().unwrap();
    let email = db.unique(users, field!(User, email)).unwrap();
    let ada = users
        .insert(
            &mut db,
            User {
                email: "ada".into(),
            },
        )
        .unwrap();
    let bob = users
        .insert(
            &mut db,
            User {
                email: "bob".into(),
            },
        )
        .unwrap();
    let err = users
        .update(
            &mut db,
            bob,
            User {
                email: "ada".into(),
            },
        )
        .unwrap_err();
    assert_eq!(
        err,
        Error::Unique {
            model: "User",
            field: "email",
            key: "\"ada\"".into(),
            existing: ada.into(),
        }
    );
    users
        .update(
            &mut db,
            ada,
            User {
                email: "ada".into(),
            },
        )
        .unwrap(); // same value: fine
    users
        .update(
            &mut db,
            ada,
            User {
                email: "ada2".into(),
            },
        )
        .unwrap();
    assert!(email.find(&db, &"ada".to_string()).unwrap().is_none());
    users
        .insert(
            &mut db,
            User {
                email: "ada".into(),
            },
        )
        .unwrap(); // freed
    users.delete(&mut db, bob).unwrap();
    users
        .insert(
            &mut db,
            User {
                email: "bob".into(),
            },
        )
        .unwrap(); // freed by delete
    db.check_integrity().unwrap();
}

#[test]
fn a_unique_attribute_as_source_key_follows_updates() {
    let mut db = Db::new();
    let users = db.create_table::<User>().unwrap();
    let posts = db.create_table::<Post>().unwrap();
    let comments = db.create_table::<Comment>().unwrap();
    db.has_many(users, posts, fk!(Post, author)).unwrap();
    let slug = db.unique(posts, field!(Post, slug)).unwrap();
    let pc = db
        .has_many_by(
            slug,
            comments,
            fk!(Comment, post_slug),
            AssocOptions::new().name("comments"),
        )
        .unwrap();
    let ada = users
        .insert(
            &mut db,
            User {
                email: "ada".into(),
            },
        )
        .unwrap();
    let p = posts
        .insert(
            &mut db,
            Post {
                author: ada,
                slug: "hello".into(),
            },
        )
        .unwrap();
    let c1 = pc
        .create(
            &mut db,
            p,
            Comment {
                post_slug: None,
                text: "one",
            },
        )
        .unwrap();
    let dangling = comments.insert(
        &mut db,
        Comment {
            post_slug: Some("nope".into()),
            text: "x",
        },
    );
    assert!(matches!(
        dangling,
        Err(Error::ForeignKey {
            field: "post_slug",
            ..
        })
    ));

    posts
        .modify(&mut db, p, |p| p.slug = "hello-world".into())
        .unwrap();
    assert_eq!(
        comments.get(&db, c1).unwrap().post_slug.as_deref(),
        Some("hello-world")
    );
    assert_eq!(pc.count(&db, p).unwrap(), 1);
    assert_eq!(pc.inverse().get(&db, c1).unwrap().map(|r| r.id()), Some(p));
    db.check_integrity().unwrap();

    // Deleting the post nulls the comment (nullable key: SetNull).
    posts.delete(&mut db, p).unwrap();
    assert_eq!(comments.get(&db, c1).unwrap().post_slug, None);
    db.check_integrity().unwrap();
}

#[test]
fn on_update_restrict_blocks_a_key_change_while_children_exist() {
    let mut db = Db::new();
    let users = db.create_table::<User>().unwrap();
    let posts = db.create_table::<Post>().unwrap();
    let comments = db.create_table::<Comment>().unwrap();
    db.has_many(users, posts, fk!(Post, author)).unwrap();
    let slug = db.unique(posts, field!(Post, slug)).unwrap();
    let options = AssocOptions::new()
        .name("comments")
        .on_update(OnUpdate::Restrict);
    let pc = db
        .has_many_by(slug, comments, fk!(Comment, post_slug), options)
        .unwrap();
    let ada = users
        .insert(
            &mut db,
            User {
                email: "ada".into(),
            },
        )
        .unwrap();
    let p = posts
        .insert(
            &mut db,
            Post {
                author: ada,
                slug: "a".into(),
            },
        )
        .unwrap();
    let c = pc
        .create(
            &mut db,
            p,
            Comment {
                post_slug: None,
                text: "",
            },
        )
        .unwrap();
    let err = posts
        .modify(&mut db, p, |p| p.slug = "b".into())
        .unwrap_err();
    assert_eq!(
        err,
        Error::Restricted {
            row: p.into(),
            association: "comments",
            blocking_row: c.into(),
            change: Change::Update,
        }
    );
    assert_eq!(posts.get(&db, p).unwrap().slug, "a");
    pc.remove(&mut db, p, c).unwrap();
    posts.modify(&mut db, p, |p| p.slug = "b".into()).unwrap();
}

#[derive(Clone, Debug)]
struct Category {
    parent: Option<Id<Category>>,
}

#[derive(Clone, Debug)]
struct Node {
    next: Option<Id<Node>>,
}

#[test]
fn cascades_through_a_self_reference_terminate() {
    let mut db = Db::new();
    let cats = db.create_table::<Category>().unwrap();
    let tree = db
        .has_many_with(
            cats,
            cats,
            fk!(Category, parent),
            AssocOptions::new().on_delete(OnDelete::Cascade),
        )
        .unwrap();
    let root = cats.insert(&mut db, Category { parent: None }).unwrap();
    let a = tree
        .create(&mut db, root, Category { parent: None })
        .unwrap();
    let b = tree.create(&mut db, a, Category { parent: None }).unwrap();
    let keep = cats.insert(&mut db, Category { parent: None }).unwrap();
    // Close a cycle: root's parent is b.
    tree.inverse().set(&mut db, root, Some(b)).unwrap();
    let report = cats.delete(&mut db, a).unwrap().report;
    assert_eq!(
        report.deleted("Category"),
        3,
        "a, b, and root through the cycle"
    );
    assert_eq!(
        cats.iter(&db).unwrap().map(|c| c.id()).collect::<Vec<_>>(),
        [keep]
    );
    db.check_integrity().unwrap();

    // The delete unlink policy on a cycle that would delete the row being linked: a conflict.
    let x = cats.insert(&mut db, Category { parent: None }).unwrap();
    let y = tree.create(&mut db, x, Category { parent: None }).unwrap();
    tree.inverse().set(&mut db, x, Some(y)).unwrap();
    let err = tree
        .set_with(&mut db, x, [], Some(Unlink::Delete))
        .unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err}");
    assert!(cats.contains(&db, x).unwrap() && cats.contains(&db, y).unwrap());
}

#[test]
fn set_null_on_a_self_reference_unlinks_without_deleting() {
    let mut db = Db::new();
    let nodes = db.create_table::<Node>().unwrap();
    let next = db.has_many(nodes, nodes, fk!(Node, next)).unwrap();
    let a = nodes.insert(&mut db, Node { next: None }).unwrap();
    let b = next.create(&mut db, a, Node { next: None }).unwrap();
    next.inverse().set(&mut db, a, Some(b)).unwrap();
    let report = nodes.delete(&mut db, a).unwrap().report;
    assert_eq!(report.to_string(), "deleted 1 Node; nulled 1 Node.next");
    assert!(nodes.get(&db, b).unwrap().next.is_none());
}

#[derive(Clone, Debug)]
struct Account;
#[derive(Clone)]
struct Project {
    account: Id<Account>,
}
#[derive(Clone)]
struct Task {
    project: Id<Project>,
}
#[derive(Clone)]
struct Invoice {
    account: Id<Account>,
}

#[test]
fn restrict_anywhere_in_a_cascade_chain_blocks_the_whole_delete() {
    let mut db = Db::new();
    let accounts = db.create_table::<Account>().unwrap();
    let projects = db.create_table::<Project>().unwrap();
    let tasks = db.create_table::<Task>().unwrap();
    let invoices = db.create_table::<Invoice>().unwrap();
    let account_projects = db
        .has_many(accounts, projects, fk!(Project, account))
        .unwrap();
    let project_tasks = db
        .has_many_with(
            projects,
            tasks,
            fk!(Task, project),
            AssocOptions::new()
                .name("tasks")
                .on_delete(OnDelete::Restrict),
        )
        .unwrap();
    db.has_many(accounts, invoices, fk!(Invoice, account))
        .unwrap();
    let acc = accounts.insert(&mut db, Account).unwrap();
    let p = account_projects
        .create(&mut db, acc, Project { account: acc })
        .unwrap();
    invoices.insert(&mut db, Invoice { account: acc }).unwrap();
    let t = project_tasks
        .create(&mut db, p, Task { project: p })
        .unwrap();
    let before = db.fork();

    let err = accounts.delete(&mut db, acc).unwrap_err();
    assert_eq!(
        err,
        Error::Restricted {
            row: p.into(),
            association: "tasks",
            blocking_row: t.into(),
            change: Change::Delete,
        }
    );
    assert_eq!(
        (accounts.len(&db), projects.len(&db), invoices.len(&db)),
        (Ok(1), Ok(1), Ok(1)),
        "nothing deleted"
    );
    assert_eq!(invoices.len(&before), invoices.len(&db));

    tasks.delete(&mut db, t).unwrap();
    let report = accounts.delete(&mut db, acc).unwrap().report;
    assert_eq!(
        report.to_string(),
        "deleted 1 Account, 1 Invoice, 1 Project"
    );
    assert_eq!(report.total_deleted(), 3);
    db.check_integrity().unwrap();
}

#[derive(Clone, Debug)]
struct Board;
#[derive(Clone, Debug)]
struct Column {
    board: Id<Board>,
}
#[derive(Clone, Debug)]
struct Card {
    board: Id<Board>,
    column: Option<Id<Column>>,
}

#[test]
fn no_action_does_not_block_when_the_same_cascade_deletes_the_child() {
    let mut db = Db::new();
    let boards = db.create_table::<Board>().unwrap();
    let columns = db.create_table::<Column>().unwrap();
    let cards = db.create_table::<Card>().unwrap();
    db.has_many(boards, columns, fk!(Column, board)).unwrap(); // Cascade
    db.has_many(boards, cards, fk!(Card, board)).unwrap(); // Cascade
    let column_cards = db
        .has_many_with(
            columns,
            cards,
            fk!(Card, column),
            AssocOptions::new()
                .name("cards")
                .on_delete(OnDelete::NoAction),
        )
        .unwrap();
    let b = boards.insert(&mut db, Board).unwrap();
    let col = columns.insert(&mut db, Column { board: b }).unwrap();
    let card = cards
        .insert(
            &mut db,
            Card {
                board: b,
                column: Some(col),
            },
        )
        .unwrap();

    // Alone, the column is blocked by its card...
    let err = columns.delete(&mut db, col).unwrap_err();
    assert_eq!(
        err,
        Error::Restricted {
            row: col.into(),
            association: "cards",
            blocking_row: card.into(),
            change: Change::Delete,
        }
    );
    // ...but deleting the board deletes the card in the same cascade, so nothing blocks.
    let report = boards.delete(&mut db, b).unwrap().report;
    assert_eq!(report.to_string(), "deleted 1 Board, 1 Card, 1 Column");
    assert!(cards.is_empty(&db).unwrap() && columns.is_empty(&db).unwrap());
    // The card is the source of the belongs-to association (named by the key's field).
    let err = column_cards.inverse().get(&db, card).unwrap_err();
    assert_eq!(
        err,
        Error::NotFound {
            model: "Card",
            id: card.into(),
            argument: Argument::Source,
            association: Some("column"),
        }
    );
    db.check_integrity().unwrap();
}

#[test]
fn a_table_handle_can_be_found_again_by_type() {
    let mut db = Db::new();
    assert!(db.table::<User>().is_none());
    let users = db.create_table::<User>().unwrap();
    let found = db.table::<User>().expect("declared");
    let ada = found
        .insert(
            &mut db,
            User {
                email: "ada".into(),
            },
        )
        .unwrap();
    assert!(
        users.contains(&db, ada).unwrap(),
        "both handles name the same table"
    );
    assert_eq!(format!("{found:?}"), "Table<User>");
}

#[test]
fn foreign_keys_can_be_declared_without_macros() {
    use relata::ForeignKey;
    let mut db = Db::new();
    let users = db.create_table::<User>().unwrap();
    let posts = db.create_table::<Post>().unwrap();
    let comments = db.create_table::<Comment>().unwrap();
    let author = ForeignKey::required("author", |p: &Post| &p.author, |p: &mut Post| &mut p.author);
    assert!(!author.is_nullable());
    let by_author = db.has_many(users, posts, author).unwrap();
    let slug = db
        .unique(posts, relata::Field::new("slug", |p: &Post| &p.slug))
        .unwrap();
    let post_slug = ForeignKey::optional(
        "post_slug",
        |c: &Comment| &c.post_slug,
        |c: &mut Comment| &mut c.post_slug,
    );
    assert!(post_slug.is_nullable());
    assert_eq!(post_slug.name(), "post_slug");
    let post_comments = db
        .has_many_by(slug, comments, post_slug, AssocOptions::new())
        .unwrap();
    let ada = users
        .insert(
            &mut db,
            User {
                email: "ada".into(),
            },
        )
        .unwrap();
    let p = by_author
        .create(
            &mut db,
            ada,
            Post {
                author: ada,
                slug: "s".into(),
            },
        )
        .unwrap();
    post_comments
        .create(
            &mut db,
            p,
            Comment {
                post_slug: None,
                text: "hi",
            },
        )
        .unwrap();
    assert_eq!(post_comments.count(&db, p).unwrap(), 1);
    let report = users.delete(&mut db, ada).unwrap().report;
    assert_eq!(
        (report.total_deleted(), report.total_nulled()),
        (2, 1),
        "user and post; the comment's key"
    );
    assert_eq!(report.nulled("Comment", "post_slug"), 1);
}

/// `iter` gives creation order whether it reads storage directly (no slot reused yet) or
/// collects and sorts (after a slot was reused), from both ends.
#[test]
fn iter_is_creation_order_from_both_ends_before_and_after_slot_reuse() {
    #[derive(Clone, Debug, PartialEq)]
    struct N(u32);
    let mut db = Db::new();
    let ns = db.create_table::<N>().unwrap();
    let ids: Vec<Id<N>> = (0..70).map(|i| ns.insert(&mut db, N(i)).unwrap()).collect();
    let values = |db: &Db| -> Vec<u32> { ns.iter(db).unwrap().map(|r| r.0).collect() };
    assert_eq!(values(&db), (0..70).collect::<Vec<_>>());
    // Deleting leaves storage in creation order.
    ns.delete(&mut db, ids[3]).unwrap();
    ns.delete(&mut db, ids[69]).unwrap();
    let expected: Vec<u32> = (0..69).filter(|&i| i != 3).collect();
    assert_eq!(values(&db), expected);
    let mut it = ns.iter(&db).unwrap();
    assert_eq!(it.len(), 68);
    assert_eq!(it.next().map(|r| r.0), Some(0));
    assert_eq!(it.next_back().map(|r| r.0), Some(68));
    assert_eq!(it.next_back().map(|r| r.0), Some(67));
    assert_eq!(it.len(), 65);
    let middle: Vec<u32> = it.map(|r| r.0).collect();
    assert_eq!(middle, expected[1..66]);
    let mut it = ns.iter(&db).unwrap();
    it.next_back();
    assert_eq!(it.fold(0, |n, _| n + 1), 67);
    let sum: u32 = ns.iter(&db).unwrap().map(|r| r.0).sum();
    assert_eq!(sum, expected.iter().sum::<u32>());
    // Rows inserted now take freed slots (one of them early in storage): still creation
    // order, the new rows last.
    let fork = db.fork();
    ns.insert(&mut db, N(100)).unwrap();
    ns.insert(&mut db, N(101)).unwrap();
    let mut after = expected.clone();
    after.extend([100, 101]);
    assert_eq!(values(&db), after);
    assert_eq!(
        ns.iter(&db).unwrap().rev().map(|r| r.0).collect::<Vec<_>>(),
        after.iter().rev().copied().collect::<Vec<_>>()
    );
    assert_eq!(values(&fork), expected, "the fork kept its own order");
}

/// A partial unique index cannot be a source key: a row its filter leaves out would be a
/// source without a key (a null source key, which relata refuses), so reads named it
/// `NotFound` and an on-update cascade nulled its children's keys (found by a spec review).
#[test]
fn a_partial_unique_index_cannot_be_a_source_key() {
    let mut db = Db::new();
    let users = db.create_table::<User>().unwrap();
    let posts = db.create_table::<Post>().unwrap();
    let comments = db.create_table::<Comment>().unwrap();
    db.has_many(users, posts, fk!(Post, author)).unwrap();
    let live_slug = db
        .unique_where(
            posts,
            "live_slug",
            |p: &Post| !p.slug.is_empty(),
            |p: &Post| p.slug.clone(),
        )
        .unwrap();
    let before = db.schema();
    let err = db
        .has_many_by(
            live_slug,
            comments,
            fk!(Comment, post_slug),
            AssocOptions::new().name("comments"),
        )
        .unwrap_err();
    assert!(matches!(err, Error::Definition { .. }), "{err:?}");
    let message = err.to_string();
    for part in ["comments", "live_slug", "Post", "filter"] {
        assert!(message.contains(part), "{message} should name {part}");
    }
    assert_eq!(db.schema(), before, "nothing declared");
    // A unique index without a filter is a source key as before.
    let slug = db.unique(posts, field!(Post, slug)).unwrap();
    db.has_many_by(slug, comments, fk!(Comment, post_slug), AssocOptions::new())
        .unwrap();
}
