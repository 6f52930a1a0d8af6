//! Set-based updates against their definition: `modify_where` (and `modify_all`) is one
//! `modify` per selected row in storage order, `Index::modify_range` one per row in key order,
//! all in one atomic step. The reference runs that loop of single-row `modify` calls on a fork
//! and, if one fails, keeps the state from before the loop; relata runs the set-based call.
//! After every step both give the same answer (the count, or an error) and the same rows,
//! links and indexes.
//!
//! The table is a tree of categories keyed by slug (`parent` names a slug of the same table,
//! with a drawn on-update action), so that updating one row can rewrite rows the same update
//! has still to reach; or, with no association drawn, `parent` is plain data and rows change
//! in place. An id-keyed self-reference (`owner`) is there in both cases.

use proptest::prelude::*;
use relata::{AssocOptions, Db, HasMany, Id, Index, OnUpdate, Table, Unique, field, fk};

const SLUGS: u8 = 12;

#[derive(Clone, Debug, PartialEq)]
struct Cat {
    slug: u8,
    parent: Option<u8>,
    owner: Option<Id<Cat>>,
    n: u8,
}

/// One edit of a row; a change is a few of them in turn.
#[derive(Clone, Copy, Debug)]
enum Edit {
    SlugAdd(u8),
    SlugMap(u8, u8),
    ParentSet(Option<u8>),
    ParentAdd(u8),
    /// The owner becomes the `i % created`-th row created, alive or not, or none.
    Owner(Option<usize>),
    N(u8),
}

#[derive(Clone, Debug)]
enum Op {
    /// `modify_where` selecting rows with `slug % m == r`, or `modify_all` when `m` is 1.
    Where { m: u8, r: u8, change: Vec<Edit> },
    /// `Index::modify_range` over `n` in `lo..=hi`.
    Range { lo: u8, hi: u8, change: Vec<Edit> },
    /// `Unique::modify_range` over `slug` in `lo..=hi`.
    SlugRange { lo: u8, hi: u8, change: Vec<Edit> },
    /// Keeps a fork for the rest of the run, so that later writes copy shared storage.
    Snapshot,
    /// One `modify`, of the `i % len`-th row in creation order.
    One { i: usize, change: Vec<Edit> },
    /// Deletes the `i % len`-th row (its slot is reused by the next insert), if it can.
    Delete(usize),
    /// Inserts a row, if it can.
    Insert { slug: u8, parent: Option<u8>, n: u8 },
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        3 => (1..SLUGS).prop_map(Edit::SlugAdd),
        2 => (0..SLUGS, 0..SLUGS).prop_map(|(a, b)| Edit::SlugMap(a, b)),
        1 => proptest::option::of(0..SLUGS).prop_map(Edit::ParentSet),
        2 => (1..SLUGS).prop_map(Edit::ParentAdd),
        1 => proptest::option::of(any::<usize>()).prop_map(Edit::Owner),
        2 => (1..4u8).prop_map(Edit::N),
    ]
}

fn change() -> impl Strategy<Value = Vec<Edit>> {
    proptest::collection::vec(edit(), 1..3)
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1..4u8, 0..4u8, change()).prop_map(|(m, r, change)| Op::Where { m, r, change }),
        2 => (0..4u8, 0..4u8, change()).prop_map(|(lo, hi, change)| Op::Range { lo, hi, change }),
        2 => (0..SLUGS, 0..SLUGS, change())
            .prop_map(|(lo, hi, change)| Op::SlugRange { lo, hi, change }),
        1 => Just(Op::Snapshot),
        2 => (any::<usize>(), change()).prop_map(|(i, change)| Op::One { i, change }),
        1 => any::<usize>().prop_map(Op::Delete),
        2 => (0..SLUGS, proptest::option::of(0..SLUGS), 0..4u8)
            .prop_map(|(slug, parent, n)| Op::Insert { slug, parent, n }),
    ]
}

fn action() -> impl Strategy<Value = Option<OnUpdate>> {
    // `NoAction` defers its check to the end of the operation, so a loop of single-row calls
    // is not its definition; the other three act row by row.
    prop_oneof![
        Just(None),
        Just(Some(OnUpdate::Cascade)),
        Just(Some(OnUpdate::SetNull)),
        Just(Some(OnUpdate::Restrict)),
    ]
}

struct World {
    db: Db,
    cats: Table<Cat>,
    by_n: Index<Cat, u8>,
    by_slug: Unique<Cat, u8>,
    children: Option<HasMany<Cat, Cat, u8>>,
    owned: HasMany<Cat, Cat>,
    created: Vec<Id<Cat>>,
}

impl World {
    fn new(action: Option<OnUpdate>) -> World {
        let mut db = Db::new();
        let cats = db.create_table::<Cat>().unwrap();
        let by_slug = db.unique(cats, field!(Cat, slug)).unwrap();
        let by_n = db.index(cats, field!(Cat, n)).unwrap();
        let children = action.map(|a| {
            db.has_many_by(
                by_slug,
                cats,
                fk!(Cat, parent),
                AssocOptions::new().on_update(a),
            )
            .unwrap()
        });
        let owned = db.has_many(cats, cats, fk!(Cat, owner)).unwrap();
        World {
            db,
            cats,
            by_n,
            by_slug,
            children,
            owned,
            created: Vec::new(),
        }
    }

    fn ids(&self) -> Vec<Id<Cat>> {
        self.cats.iter(&self.db).unwrap().map(|r| r.id()).collect()
    }

    /// Everything observable: rows in creation order, each row's links both ways, the
    /// indexes' answers.
    fn state(&self, db: &Db) -> Vec<String> {
        let mut out = Vec::new();
        for row in self.cats.iter(db).unwrap() {
            let kids = match self.children {
                Some(c) => {
                    let ids: Vec<_> = c.get(db, row.id()).unwrap().map(|r| r.id()).collect();
                    format!(
                        "{ids:?} of {:?}",
                        c.inverse().get(db, row.id()).unwrap().map(|r| r.id())
                    )
                }
                None => String::new(),
            };
            let owned: Vec<_> = self
                .owned
                .get(db, row.id())
                .unwrap()
                .map(|r| r.id())
                .collect();
            out.push(format!("{row:?} kids {kids} owns {owned:?}"));
        }
        for slug in 0..SLUGS {
            let found = self.by_slug.find(db, &slug).unwrap().map(|r| r.id());
            out.push(format!("slug {slug}: {found:?}"));
        }
        let by_n: Vec<_> = self.by_n.iter(db).unwrap().map(|r| (r.n, r.id())).collect();
        out.push(format!("by n {by_n:?}"));
        out
    }
}

/// Applies `change` to `row`; `created` lists the rows created so far, alive or not.
fn apply(created: &[Id<Cat>], change: &[Edit], row: &mut Cat) {
    for edit in change {
        match *edit {
            Edit::SlugAdd(k) => row.slug = (row.slug + k) % SLUGS,
            Edit::SlugMap(a, b) if row.slug == a => row.slug = b,
            Edit::SlugMap(..) => {}
            Edit::ParentSet(p) => row.parent = p,
            Edit::ParentAdd(k) => row.parent = row.parent.map(|p| (p + k) % SLUGS),
            Edit::Owner(i) => {
                row.owner = i.and_then(|i| created.get(i % created.len().max(1)).copied())
            }
            Edit::N(k) => row.n = (row.n + k) % 4,
        }
    }
}

/// The definition: `modify` on each of `ids` in turn, on a fork of `db`; all or nothing.
/// Returns the answer and the state it leaves.
fn one_by_one(w: &World, db: &Db, ids: &[Id<Cat>], change: &[Edit]) -> (Result<usize, ()>, Db) {
    let mut after = db.fork();
    for &id in ids {
        let mut row = w.cats.get(&after, id).unwrap().value().clone();
        apply(&w.created, change, &mut row);
        if w.cats.modify(&mut after, id, |r| *r = row).is_err() {
            return (Err(()), db.fork());
        }
    }
    (Ok(ids.len()), after)
}

fn run(action: Option<OnUpdate>, seed: Vec<(u8, Option<u8>, u8)>, ops: Vec<Op>) {
    let mut w = World::new(action);
    let mut all = seed
        .into_iter()
        .map(|(slug, parent, n)| Op::Insert { slug, parent, n })
        .collect::<Vec<_>>();
    all.extend(ops);
    let mut snapshots = Vec::new();
    for (step, op) in all.into_iter().enumerate() {
        // The rows the set-based update selects, in the order it is defined to change them.
        let (ids, change) = match &op {
            Op::Where { m, r, change } => {
                let ids = w.cats.scan(&w.db).unwrap();
                let ids = ids
                    .filter(|c| c.slug % m == r % m)
                    .map(|c| c.id())
                    .collect();
                (ids, change)
            }
            Op::Range { lo, hi, change } => {
                let ids = w.by_n.range(&w.db, lo..=hi).unwrap();
                (ids.map(|c| c.id()).collect::<Vec<_>>(), change)
            }
            Op::SlugRange { lo, hi, change } => {
                let ids = w.by_slug.range(&w.db, lo..=hi).unwrap();
                (ids.map(|c| c.id()).collect(), change)
            }
            Op::One { i, change } => {
                let ids = w.ids();
                if ids.is_empty() {
                    continue;
                }
                (vec![ids[i % ids.len()]], change)
            }
            Op::Snapshot => {
                snapshots.push(w.db.fork());
                continue;
            }
            Op::Delete(i) => {
                let ids = w.ids();
                if !ids.is_empty() {
                    let _ = w.cats.delete(&mut w.db, ids[i % ids.len()]);
                }
                w.db.check_integrity().unwrap();
                continue;
            }
            Op::Insert { slug, parent, n } => {
                let row = Cat {
                    slug: *slug,
                    parent: if w.children.is_some() { *parent } else { None },
                    owner: w.created.last().copied(),
                    n: *n,
                };
                if let Ok(id) = w.cats.insert(&mut w.db, row) {
                    w.created.push(id);
                }
                w.db.check_integrity().unwrap();
                continue;
            }
        };
        let (want, expected) = one_by_one(&w, &w.db, &ids, change);
        let edit = |c: &mut Cat| apply(&w.created, change, c);
        let got = match &op {
            Op::Where { m: 1, .. } => w.cats.modify_all(&mut w.db, edit),
            Op::Where { m, r, .. } => w
                .cats
                .modify_where(&mut w.db, |c| c.slug % m == r % m, edit),
            Op::Range { lo, hi, .. } => w.by_n.modify_range(&mut w.db, lo..=hi, edit),
            Op::SlugRange { lo, hi, .. } => w.by_slug.modify_range(&mut w.db, lo..=hi, edit),
            _ => w.cats.modify(&mut w.db, ids[0], edit).map(|()| 1),
        };
        assert_eq!(got.map_err(drop), want, "step {step}: {op:?}");
        assert_eq!(w.state(&w.db), w.state(&expected), "step {step}: {op:?}");
        w.db.check_integrity().unwrap();
    }
}

proptest! {
    #![proptest_config(crate::config(256))]

    #[test]
    fn set_based_updates_are_single_row_updates_in_turn(
        action in action(),
        seed in proptest::collection::vec((0..SLUGS, proptest::option::of(0..SLUGS), 0..4u8), 1..10),
        ops in proptest::collection::vec(op(), 1..24),
    ) {
        run(action, seed, ops);
    }
}

/// The failure that brought this test: renaming every slug of a tree whose rows point at the
/// slugs of their own table. Updating the parent cascades into its child; the child's own
/// update must start from that, not from a copy taken before the cascade.
#[test]
fn renaming_every_slug_of_a_tree_follows_the_cascade() {
    run(
        Some(OnUpdate::Cascade),
        vec![(0, None, 0), (1, Some(0), 0)],
        vec![Op::Where {
            m: 1,
            r: 0,
            change: vec![Edit::SlugAdd(2)],
        }],
    );
    let mut w = World::new(Some(OnUpdate::Cascade));
    for (slug, parent) in [(0, None), (1, Some(0))] {
        let row = Cat {
            slug,
            parent,
            owner: None,
            n: 0,
        };
        w.cats.insert(&mut w.db, row).unwrap();
    }
    let (a, b) = (w.ids()[0], w.ids()[1]);
    assert_eq!(w.cats.modify_all(&mut w.db, |c| c.slug += 5), Ok(2));
    assert_eq!(w.cats.get(&w.db, b).unwrap().parent, Some(5));
    assert_eq!(w.children.unwrap().count(&w.db, a), Ok(1));
}
