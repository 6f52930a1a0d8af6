//! Change sets across every kind of history (#13; found by and written in a review of
//! 3763ad9, the stamps that make diffs exact): randomised histories of updates, inserts,
//! deletes, failed writes, transactions committed and failed, savepoints, forks adopted or
//! dropped and snapshots held, on one side or on both, after which `changes.table` matches a
//! brute-force comparison of the two states (and of every snapshot against them), and
//! `apply_to` onto a replica with its own edits changes exactly the rows the history touched;
//! the same under a `SharedDb` writer with readers writing forks of their own; and link and
//! write calls that change nothing or fail, which must leave nothing to apply.

use relata::{Db, Error, HasMany, Id, SharedDb, Table, field, fk};

#[derive(Clone, Debug, PartialEq)]
struct Post {
    title: String,
}

#[derive(Clone, Debug, PartialEq)]
struct Comment {
    post: Option<Id<Post>>,
    text: String,
}

fn post(t: &str) -> Post {
    Post { title: t.into() }
}

/// A failed single write (rolled back inside the operation) in the source history: the
/// change set lists nothing, yet apply_to writes the row / fails on a replica that deleted it.
#[test]
fn a_failed_update_in_the_history_is_applied_over_the_replica() {
    let mut db = Db::new();
    let posts: Table<Post> = db.create_table().unwrap();
    db.unique(posts, field!(Post, title)).unwrap();
    let a = posts.insert(&mut db, post("a")).unwrap();
    let kept = posts.insert(&mut db, post("kept")).unwrap();
    let gone = posts.insert(&mut db, post("gone")).unwrap();
    let base = db.fork();
    let mut replica = base.fork();
    posts
        .modify(&mut replica, kept, |p| p.title = "kept 2".into())
        .unwrap();
    posts.delete(&mut replica, gone).unwrap();
    // Source: a real change to `a`, and two updates that fail (unique violation).
    posts
        .modify(&mut db, a, |p| p.title = "a 2".into())
        .unwrap();
    assert!(posts.update(&mut db, kept, post("a 2")).is_err());
    assert!(posts.update(&mut db, gone, post("a 2")).is_err());
    assert_eq!(posts.get(&db, kept).unwrap().title, "kept");
    let changes = db.changes_since(&base);
    assert_eq!(changes.table(posts).unwrap().len(), 1);
    let applied = changes.apply_to(&mut replica);
    assert_eq!(applied, Ok(1), "a change set of one row");
    assert_eq!(posts.get(&replica, kept).unwrap().title, "kept 2");
}

/// A no-op `add` (the comment already belongs to the post) stamps the comment's row.
#[test]
fn a_no_op_add_in_the_history_is_applied_over_the_replica() {
    let mut db = Db::new();
    let posts: Table<Post> = db.create_table().unwrap();
    let comments: Table<Comment> = db.create_table().unwrap();
    let pc: HasMany<Post, Comment> = db.has_many(posts, comments, fk!(Comment, post)).unwrap();
    let p = posts.insert(&mut db, post("p")).unwrap();
    let c = pc
        .create(
            &mut db,
            p,
            Comment {
                post: None,
                text: "c".into(),
            },
        )
        .unwrap();
    let base = db.fork();
    let mut replica = base.fork();
    comments
        .modify(&mut replica, c, |c| c.text = "replica's".into())
        .unwrap();
    pc.add(&mut db, p, c).unwrap(); // already linked: changes nothing
    let changes = db.changes_since(&base);
    assert!(changes.table(comments).unwrap().is_empty());
    assert!(changes.links(pc).unwrap().is_empty());
    let applied = changes.apply_to(&mut replica);
    assert_eq!(
        (applied, comments.get(&replica, c).unwrap().text.as_str()),
        (Ok(0), "replica's")
    );
}

// ---------------------------------------------------------------------------------------------
// Randomised histories: exactness of `table` and `apply_to` leaving untouched rows alone.

use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Debug, PartialEq)]
struct Item {
    k: u64,
    v: u64,
}

/// Rows the source history may write: odd keys and rows it inserted; the replica edits the others.
fn owned(r: &Item) -> bool {
    r.k % 2 == 1 || r.k >= 1_000_000
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn rows(db: &Db, items: Table<Item>) -> BTreeMap<Id<Item>, Item> {
    items
        .iter(db)
        .unwrap()
        .map(|r| (r.id(), r.value().clone()))
        .collect()
}

struct Hist<'a> {
    rng: &'a mut Rng,
    items: Table<Item>,
    counter: u64,
    /// Rows any operation (also failed ones) targeted: the replica must not touch others.
    touched: BTreeSet<Id<Item>>,
    held: Vec<Db>,
}

impl Hist<'_> {
    fn fresh(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }
    fn pick(&mut self, db: &Db) -> Option<Id<Item>> {
        let ids: Vec<Id<Item>> = self
            .items
            .iter(db)
            .unwrap()
            .filter(|r| owned(r.value()))
            .map(|r| r.id())
            .collect();
        (!ids.is_empty()).then(|| ids[self.rng.below(ids.len())])
    }
    fn op(&mut self, db: &mut Db, depth: u32) {
        let items = self.items;
        match self.rng.below(if depth < 3 { 12 } else { 9 }) {
            0 | 1 => {
                if let Some(id) = self.pick(db) {
                    self.touched.insert(id);
                    let v = self.fresh();
                    items.modify(db, id, |r| r.v = v).unwrap();
                }
            }
            2 => {
                let (k, v) = (self.fresh(), self.fresh());
                let id = items
                    .insert(
                        db,
                        Item {
                            k: 1_000_000 + k,
                            v,
                        },
                    )
                    .unwrap();
                self.touched.insert(id);
            }
            3 => {
                if let Some(id) = self.pick(db) {
                    // Only rows the source itself created, or touched ones, so that the replica
                    // keeps some rows aside.
                    if self.touched.contains(&id) {
                        items.delete(db, id).unwrap();
                    }
                }
            }
            4 => {
                // A failing update (unique violation): rolled back inside the operation.
                if let (Some(a), Some(b)) = (self.pick(db), self.pick(db))
                    && a != b
                {
                    self.touched.insert(a);
                    let k = items.get(db, b).unwrap().k;
                    assert!(items.update(db, a, Item { k, v: 0 }).is_err());
                }
            }
            5 => {
                // modify_where on rows already touched, sometimes many (whole-leaf undo).
                let v = self.fresh();
                let touched = self.touched.clone();
                let all = self.rng.below(3) == 0;
                let n = items
                    .modify_where(
                        db,
                        |r| (all && owned(r.value())) || touched.contains(&r.id()),
                        |r| r.v = v,
                    )
                    .unwrap();
                if all {
                    let ids: Vec<_> = items
                        .iter(db)
                        .unwrap()
                        .filter(|r| owned(r.value()))
                        .map(|r| r.id())
                        .collect();
                    self.touched.extend(ids);
                }
                let _ = n;
            }
            6 => {
                // A failing modify_where: every touched row gets one key (unique violation).
                let touched = self.touched.clone();
                let alive = touched
                    .iter()
                    .filter(|&&id| items.contains(db, id).unwrap())
                    .count();
                if alive >= 2 {
                    let k = 1_000_000 + self.fresh();
                    let r = items.modify_where(db, |r| touched.contains(&r.id()), |r| r.k = k);
                    assert!(r.is_err());
                }
            }
            7 => {
                if self.held.len() < 4 {
                    self.held.push(db.fork());
                }
            }
            8 => {
                if !self.held.is_empty() {
                    let i = self.rng.below(self.held.len());
                    self.held.swap_remove(i);
                }
            }
            9 => {
                // A transaction that commits or fails.
                let fail = self.rng.below(3) == 0;
                let n = 1 + self.rng.below(4);
                let r: Result<(), ()> = db.transaction(|tx| {
                    for _ in 0..n {
                        self.op(tx, depth + 1);
                    }
                    if fail { Err(()) } else { Ok(()) }
                });
                let _ = r;
            }
            10 => {
                // A savepoint (begin on a fork), committed or dropped.
                let commit = self.rng.below(2) == 0;
                let mut tx = db.begin();
                let n = 1 + self.rng.below(4);
                for _ in 0..n {
                    self.op(&mut tx, depth + 1);
                }
                if commit {
                    tx.commit();
                } else {
                    tx.rollback();
                }
            }
            _ => {
                // A fork written and thrown away, or written and then adopted.
                let mut f = db.fork();
                let n = 1 + self.rng.below(3);
                for _ in 0..n {
                    self.op(&mut f, depth + 1);
                }
                if self.rng.below(2) == 0 {
                    *db = f;
                }
            }
        }
    }
}

fn exact(after: &Db, before: &Db, items: Table<Item>, what: &str) {
    let (base_rows, after_rows) = (rows(before, items), rows(after, items));
    let changes = after.changes_since(before);
    let t = changes.table(items).unwrap();
    let want_ins: Vec<_> = after_rows
        .keys()
        .filter(|id| !base_rows.contains_key(id))
        .copied()
        .collect();
    let want_del: Vec<_> = base_rows
        .keys()
        .filter(|id| !after_rows.contains_key(id))
        .copied()
        .collect();
    let want_upd: Vec<_> = base_rows
        .iter()
        .filter(|(id, r)| after_rows.get(id).is_some_and(|a| a != *r))
        .map(|(id, _)| *id)
        .collect();
    let got_ins: Vec<_> = t.inserted.iter().map(|r| r.id()).collect();
    let got_del: Vec<_> = t.deleted.iter().map(|r| r.id()).collect();
    let got_upd: Vec<_> = t.updated.iter().map(|u| u.id).collect();
    assert_eq!(got_ins, want_ins, "{what}: inserted");
    assert_eq!(got_del, want_del, "{what}: deleted");
    assert_eq!(got_upd, want_upd, "{what}: updated");
}

fn check_history(seed: u64, both_sides: bool) {
    let mut rng = Rng(seed);
    let mut db = Db::new();
    let items: Table<Item> = db.create_table().unwrap();
    db.unique(items, field!(Item, k)).unwrap();
    let n = 40 + rng.below(120);
    for i in 0..n {
        items.insert(&mut db, Item { k: i as u64, v: 0 }).unwrap();
    }
    let mut h = Hist {
        rng: &mut rng,
        items,
        counter: 10_000,
        touched: BTreeSet::new(),
        held: Vec::new(),
    };
    for _ in 0..5 {
        h.op(&mut db, 0);
    }
    h.touched.clear();
    let mut base = db.fork();
    let steps = 5 + h.rng.below(40);
    let mut snapshots = Vec::new();
    for _ in 0..steps {
        if both_sides && h.rng.below(2) == 0 {
            h.op(&mut base, 0);
        } else {
            h.op(&mut db, 0);
        }
        if h.rng.below(4) == 0 {
            snapshots.push(db.fork());
            snapshots.push(base.fork());
        }
        // Every state against every other: all share a history.
        if h.rng.below(6) == 0 {
            for (i, a) in snapshots.iter().enumerate() {
                exact(a, &db, items, &format!("seed {seed}: snapshot {i} vs db"));
                exact(
                    &base,
                    a,
                    items,
                    &format!("seed {seed}: base vs snapshot {i}"),
                );
            }
        }
    }
    let touched = h.touched.clone();
    drop(h);
    exact(&db, &base, items, &format!("seed {seed}: db vs base"));
    exact(&base, &db, items, &format!("seed {seed}: base vs db"));
    for (i, a) in snapshots.iter().enumerate() {
        exact(a, &db, items, &format!("seed {seed}: snapshot {i} vs db"));
        exact(
            &base,
            a,
            items,
            &format!("seed {seed}: base vs snapshot {i}"),
        );
    }
    // apply_to: a replica of `base` with edits of rows neither history targeted.
    let mut replica = base.fork();
    let base_rows = rows(&base, items);
    let after_rows = rows(&db, items);
    let mut replica_edited = BTreeSet::new();
    for (i, (&id, r)) in base_rows.iter().enumerate() {
        if owned(r) {
            continue;
        }
        match i % 5 {
            0 | 2 => {
                items
                    .modify(&mut replica, id, |r| r.v = 7_000_000 + i as u64)
                    .unwrap();
                replica_edited.insert(id);
            }
            4 => {
                items.delete(&mut replica, id).unwrap();
                replica_edited.insert(id);
            }
            _ => {}
        }
    }
    assert!(touched.is_disjoint(&replica_edited));
    let replica_before = rows(&replica, items);
    let changes = db.changes_since(&base);
    changes
        .apply_to(&mut replica)
        .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    let now = rows(&replica, items);
    for (id, r) in &replica_before {
        if !touched.contains(id) {
            assert_eq!(
                now.get(id),
                Some(r),
                "seed {seed}: untouched row {id:?} overwritten"
            );
        }
    }
    for id in &touched {
        if after_rows.get(id) != base_rows.get(id) {
            assert_eq!(
                now.get(id),
                after_rows.get(id),
                "seed {seed}: touched row {id:?}"
            );
        }
    }
    replica.check_integrity().unwrap();
}

#[test]
fn randomised_histories_keep_change_sets_exact() {
    for seed in 1..400u64 {
        check_history(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1, false);
        check_history(seed.wrapping_mul(0x2545_F491_4F6C_DD1D) | 1, true);
    }
}

/// The same no-op `add`, a replica that deleted the comment: apply_to refuses the change set.
#[test]
fn a_no_op_add_in_the_history_makes_apply_to_fail_on_a_replica_that_deleted_the_row() {
    let mut db = Db::new();
    let posts: Table<Post> = db.create_table().unwrap();
    let comments: Table<Comment> = db.create_table().unwrap();
    let pc: HasMany<Post, Comment> = db.has_many(posts, comments, fk!(Comment, post)).unwrap();
    let p = posts.insert(&mut db, post("p")).unwrap();
    let q = posts.insert(&mut db, post("q")).unwrap();
    let c = pc
        .create(
            &mut db,
            p,
            Comment {
                post: None,
                text: "c".into(),
            },
        )
        .unwrap();
    let base = db.fork();
    let mut replica = base.fork();
    comments.delete(&mut replica, c).unwrap();
    pc.add(&mut db, p, c).unwrap(); // already linked
    let _ = pc.remove(&mut db, q, c); // not linked to q
    let changes = db.changes_since(&base);
    assert!(changes.table(comments).unwrap().is_empty());
    assert_eq!(changes.apply_to(&mut replica), Ok(0));
}

/// SharedDb: a writer (with savepoints and failed writes) while readers fork snapshots and
/// write their forks (copying leaves the published state shares, from other threads). Every
/// change set of the feed, and every pair of states, is exact.
#[test]
fn shared_db_writers_and_writing_readers_keep_change_sets_exact() {
    use relata::Feed;
    use std::sync::Arc as StdArc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let mut db = Db::new();
    let items: Table<Item> = db.create_table().unwrap();
    db.unique(items, field!(Item, k)).unwrap();
    for i in 0..200u64 {
        items.insert(&mut db, Item { k: i, v: 0 }).unwrap();
    }
    let shared = SharedDb::new(db);
    let feed = shared.subscribe(100_000);
    let stop = StdArc::new(AtomicBool::new(false));
    let mut readers = Vec::new();
    for r in 0..2u64 {
        let shared = shared.clone();
        let stop = stop.clone();
        readers.push(std::thread::spawn(move || {
            let mut rng = Rng(0xDEAD_BEEF ^ ((r + 1) * 7919));
            let mut mine: Vec<Db> = Vec::new();
            let mut checked = 0;
            while !stop.load(Ordering::Relaxed) {
                let mut snap = shared.snapshot();
                let ids: Vec<_> = items.iter(&snap).unwrap().map(|r| r.id()).collect();
                for _ in 0..1 + rng.below(5) {
                    let id = ids[rng.below(ids.len())];
                    let v = 5_000_000 + rng.next() % 1_000_000;
                    items.modify(&mut snap, id, |x| x.v = v).unwrap();
                }
                let now = shared.snapshot();
                exact(&snap, &now, items, "reader fork vs published");
                exact(&now, &snap, items, "published vs reader fork");
                for old in &mine {
                    exact(old, &now, items, "old reader fork vs published");
                }
                mine.push(snap);
                if mine.len() > 3 {
                    mine.remove(rng.below(mine.len()));
                }
                checked += 1;
            }
            checked
        }));
    }
    let mut rng = Rng(12345);
    let mut counter = 1_000_000u64;
    for _ in 0..400 {
        let kind = rng.below(4);
        let picks: Vec<usize> = (0..1 + rng.below(6)).map(|_| rng.below(200)).collect();
        let _ = shared.write(|db| -> Result<(), Error> {
            let ids: Vec<_> = items.iter(db).unwrap().map(|r| r.id()).collect();
            for &p in &picks {
                counter += 1;
                let v = counter;
                items.modify(db, ids[p % ids.len()], |x| x.v = v)?;
            }
            match kind {
                0 => {
                    // A savepoint, committed.
                    let mut tx = db.begin();
                    counter += 1;
                    let v = counter;
                    items.modify(&mut tx, ids[picks[0] % ids.len()], |x| x.v = v)?;
                    tx.commit();
                }
                1 => {
                    let held = db.fork();
                    counter += 1;
                    let v = counter;
                    items.modify(db, ids[picks[0] % ids.len()], |x| x.v = v)?;
                    drop(held);
                }
                2 => {
                    counter += 1;
                    let v = counter;
                    items.modify_where(db, |r| r.value().k % 3 == 0, |x| x.v = v)?;
                }
                _ => return Err(Error::Reentrant { method: "test" }),
            }
            Ok(())
        });
    }
    stop.store(true, Ordering::Relaxed);
    let checked: usize = readers.into_iter().map(|r| r.join().unwrap()).sum();
    drop(shared);
    let mut sets = 0;
    let mut all: Vec<Db> = Vec::new();
    loop {
        match feed.recv_timeout(std::time::Duration::from_secs(5)) {
            Some(Feed::Changes(c)) => {
                exact(c.after(), c.before(), items, "feed");
                sets += 1;
                all.push(c.after().fork());
            }
            Some(Feed::Closed { .. }) | None => break,
            Some(other) => panic!("{other:?}"),
        }
    }
    for (i, a) in all.iter().enumerate().step_by(17) {
        for b in all.iter().step_by(29) {
            exact(a, b, items, &format!("commit {i}"));
        }
    }
    assert!(sets > 100 && checked > 10, "{sets} {checked}");
}

/// Which calls that return Err (and change nothing) still make apply_to rewrite a row.
#[test]
fn failed_calls_in_the_history_and_apply_to() {
    type Op = fn(&mut Db, Table<Item>, Id<Item>, Id<Item>) -> bool;
    let ops: [(&str, Op); 4] = [
        ("update to a taken key", |db, items, x, y| {
            let k = items.get(db, y).unwrap().k;
            items.update(db, x, Item { k, v: 9 }).is_err()
        }),
        ("modify to a taken key", |db, items, x, y| {
            let k = items.get(db, y).unwrap().k;
            items.modify(db, x, |r| r.k = k).is_err()
        }),
        ("modify_where to one key (few rows)", |db, items, x, y| {
            items
                .modify_where(db, |r| r.id() == x || r.id() == y, |r| r.k = 999)
                .is_err()
        }),
        ("modify_all to one key", |db, items, _, _| {
            items.modify_all(db, |r| r.k = 999).is_err()
        }),
    ];
    let mut clobbered = Vec::new();
    for (what, op) in ops {
        let mut db = Db::new();
        let items: Table<Item> = db.create_table().unwrap();
        db.unique(items, field!(Item, k)).unwrap();
        let ids: Vec<_> = (0..4u64)
            .map(|k| items.insert(&mut db, Item { k, v: 0 }).unwrap())
            .collect();
        let base = db.fork();
        let mut replica = base.fork();
        items.modify(&mut replica, ids[0], |r| r.v = 77).unwrap();
        assert!(op(&mut db, items, ids[0], ids[1]), "{what}: fails");
        let changes = db.changes_since(&base);
        assert!(changes.table(items).unwrap().is_empty(), "{what}");
        let n = changes.apply_to(&mut replica).unwrap();
        if items.get(&replica, ids[0]).unwrap().v != 77 {
            clobbered.push((what, n));
        }
    }
    assert!(clobbered.is_empty(), "{clobbered:?}");
}

/// Link calls that change nothing (they return Ok(false) / Ok(())): which stamp the row.
#[test]
fn no_op_link_calls_and_apply_to() {
    type Op = fn(&mut Db, HasMany<Post, Comment>, Id<Post>, Id<Post>, Id<Comment>);
    let ops: [(&str, Op); 5] = [
        ("has_many.add, already linked", |db, pc, p, _, c| {
            assert_eq!(pc.add(db, p, c), Ok(false))
        }),
        ("has_many.remove, linked elsewhere", |db, pc, _, q, c| {
            assert_eq!(pc.remove(db, q, c), Ok(false))
        }),
        ("has_many.add_many, already linked", |db, pc, p, _, c| {
            pc.add_many(db, p, [c]).unwrap();
        }),
        ("belongs_to.set, same parent", |db, pc, p, _, c| {
            pc.inverse().set(db, c, Some(p)).unwrap()
        }),
        ("has_many.set, same children", |db, pc, p, _, c| {
            pc.set(db, p, [c]).unwrap();
        }),
    ];
    let mut clobbered = Vec::new();
    for (what, op) in ops {
        let mut db = Db::new();
        let posts: Table<Post> = db.create_table().unwrap();
        let comments: Table<Comment> = db.create_table().unwrap();
        let pc: HasMany<Post, Comment> = db.has_many(posts, comments, fk!(Comment, post)).unwrap();
        let p = posts.insert(&mut db, post("p")).unwrap();
        let q = posts.insert(&mut db, post("q")).unwrap();
        let c = pc
            .create(
                &mut db,
                p,
                Comment {
                    post: None,
                    text: "c".into(),
                },
            )
            .unwrap();
        let base = db.fork();
        let mut replica = base.fork();
        comments
            .modify(&mut replica, c, |c| c.text = "replica's".into())
            .unwrap();
        op(&mut db, pc, p, q, c);
        let changes = db.changes_since(&base);
        assert!(changes.table(comments).unwrap().is_empty(), "{what}");
        let n = changes.apply_to(&mut replica).unwrap();
        if comments.get(&replica, c).unwrap().text != "replica's" {
            clobbered.push((what, n));
        }
    }
    assert!(clobbered.is_empty(), "{clobbered:?}");
}
