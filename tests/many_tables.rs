//! Schemas of more than 64 tables: a write marks the tables it changed in one word, the last bit
//! standing for the tables from the 63rd on (with the first and last of them it changed), so
//! rollback and commit must still reach each of those it changed.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};

use relata::{AssocOptions, Db, Id, OnDelete, Table, fk};

/// One model type per `N`: a table each.
#[derive(Clone, Debug, PartialEq)]
struct Filler<const N: usize>(u32);

macro_rules! fillers {
    ($db:expr, $($n:literal)*) => {
        $( $db.create_table::<Filler<$n>>().unwrap().insert(&mut $db, Filler($n)).unwrap(); )*
    };
}

#[derive(Clone, Debug, PartialEq)]
struct Owner;

/// How many more clones of a `Fragile` succeed (`usize::MAX`: all).
static CLONES_LEFT: AtomicUsize = AtomicUsize::new(usize::MAX);

/// A row whose `Clone` panics once `CLONES_LEFT` runs out.
#[derive(Debug, PartialEq)]
struct Fragile {
    owner: Option<Id<Owner>>,
}

/// Spends one of the clones `left` allows (`usize::MAX`: any number); panics when none is left.
fn spend_clone(left: &AtomicUsize, of: &str) {
    let n = left.load(Ordering::SeqCst);
    assert!(n > 0, "clone of a {of}");
    if n != usize::MAX {
        left.store(n - 1, Ordering::SeqCst);
    }
}

impl Clone for Fragile {
    fn clone(&self) -> Self {
        spend_clone(&CLONES_LEFT, "Fragile");
        Fragile { owner: self.owner }
    }
}

/// 70 filler tables (one row each), then owners (table 70) and their fragile rows (table 71).
fn schema() -> (
    Db,
    Table<Owner>,
    Table<Fragile>,
    relata::HasMany<Owner, Fragile>,
) {
    let mut db = Db::new();
    fillers!(db, 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29
        30 31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59
        60 61 62 63 64 65 66 67 68 69);
    let owners = db.create_table::<Owner>().unwrap();
    let fragile = db.create_table::<Fragile>().unwrap();
    let owns = db
        .has_many_with(
            owners,
            fragile,
            fk!(Fragile, owner),
            AssocOptions::new().on_delete(OnDelete::SetNull),
        )
        .unwrap();
    (db, owners, fragile, owns)
}

#[test]
fn a_failed_write_to_tables_past_the_64th_leaves_them_as_they_were() {
    let (mut db, owners, fragile, owns) = schema();
    let o = owners.insert(&mut db, Owner).unwrap();
    for _ in 0..50 {
        owns.create(&mut db, o, Fragile { owner: None }).unwrap();
    }
    let before = db.fork(); // shared storage: the delete copies what it writes
    // The first leaf of rows (32) is copied and nulled, and logged, when a clone panics in
    // the copy of the second.
    CLONES_LEFT.store(40, Ordering::SeqCst);
    let result = catch_unwind(AssertUnwindSafe(|| owners.delete(&mut db, o)));
    CLONES_LEFT.store(usize::MAX, Ordering::SeqCst);
    assert!(result.is_err(), "the clone panicked");
    db.check_integrity().unwrap();
    assert!(owners.contains(&db, o).unwrap());
    assert_eq!(owns.count(&db, o), Ok(50));
    assert!(fragile.scan(&db).unwrap().all(|f| f.owner == Some(o)));
    assert_eq!(format!("{db:?}"), format!("{before:?}"));
    // Committed, the same delete changes both tables, and the fork keeps its state.
    let deleted = owners.delete(&mut db, o).unwrap();
    assert_eq!(deleted.report.total_nulled(), 50);
    assert!(fragile.scan(&db).unwrap().all(|f| f.owner.is_none()));
    db.check_integrity().unwrap();
    assert!(owners.contains(&before, o).unwrap());
    assert_eq!(owns.count(&before, o), Ok(50));
    before.check_integrity().unwrap();
}

#[test]
fn a_transaction_over_far_tables_commits_or_rolls_back_whole() {
    let (mut db, owners, fragile, owns) = schema();
    let o = owners.insert(&mut db, Owner).unwrap();
    let fillers = db.table::<Filler<69>>().unwrap();
    let result: Result<(), relata::Error> = db.transaction(|tx| {
        owns.create(tx, o, Fragile { owner: None })?;
        fillers.insert(tx, Filler(1))?;
        owners.delete(tx, o)?;
        owners.delete(tx, o)?; // NotFound: the whole transaction rolls back
        Ok(())
    });
    assert!(result.is_err());
    assert!(owners.contains(&db, o).unwrap());
    assert_eq!(fragile.len(&db), Ok(0));
    assert_eq!(fillers.len(&db), Ok(1));
    db.transaction(|tx| {
        owns.create(tx, o, Fragile { owner: None })?;
        fillers.insert(tx, Filler(1))
    })
    .unwrap();
    assert_eq!(owns.count(&db, o), Ok(1));
    assert_eq!(fillers.len(&db), Ok(2));
    db.check_integrity().unwrap();
}

#[derive(Clone, Debug, PartialEq)]
struct FarParent;

/// How many more clones of a `FarChild` succeed (`usize::MAX`: all); its own counter, so that
/// the tests above, running in parallel, do not spend it.
static FAR_CLONES_LEFT: AtomicUsize = AtomicUsize::new(usize::MAX);

#[derive(Debug, PartialEq)]
struct FarChild {
    parent: Option<Id<FarParent>>,
}

impl Clone for FarChild {
    fn clone(&self) -> Self {
        spend_clone(&FAR_CLONES_LEFT, "FarChild");
        FarChild {
            parent: self.parent,
        }
    }
}

#[test]
fn a_write_to_the_first_and_last_far_tables_commits_and_rolls_back_both() {
    // Parents at table 63 (the first the last bit stands for), children at table 79.
    let mut db = Db::new();
    fillers!(db, 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29
        30 31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59
        60 61 62);
    let parents = db.create_table::<FarParent>().unwrap();
    fillers!(db, 64 65 66 67 68 69 70 71 72 73 74 75 76 77 78);
    let children = db.create_table::<FarChild>().unwrap();
    let has = db
        .has_many_with(
            parents,
            children,
            fk!(FarChild, parent),
            AssocOptions::new().on_delete(OnDelete::SetNull),
        )
        .unwrap();
    let p = parents.insert(&mut db, FarParent).unwrap();
    for _ in 0..50 {
        has.create(&mut db, p, FarChild { parent: None }).unwrap();
    }
    // Committed: a delete that changes both tables. Its logs must be cleared, or the failed
    // delete below would undo it too.
    let q = parents.insert(&mut db, FarParent).unwrap();
    let orphans: Vec<_> = (0..3)
        .map(|_| has.create(&mut db, q, FarChild { parent: None }).unwrap())
        .collect();
    parents.delete(&mut db, q).unwrap();
    let before = db.fork(); // shared storage: the next delete copies what it writes
    FAR_CLONES_LEFT.store(40, Ordering::SeqCst);
    let result = catch_unwind(AssertUnwindSafe(|| parents.delete(&mut db, p)));
    FAR_CLONES_LEFT.store(usize::MAX, Ordering::SeqCst);
    assert!(result.is_err(), "the clone panicked");
    db.check_integrity().unwrap();
    assert_eq!(format!("{db:?}"), format!("{before:?}"));
    assert_eq!(parents.len(&db), Ok(1));
    assert!(!parents.contains(&db, q).unwrap());
    assert_eq!(has.count(&db, p), Ok(50));
    for orphan in orphans {
        assert_eq!(children.get(&db, orphan).unwrap().parent, None);
    }
    // Without a fork in between (no table copied, so a log left by a commit would survive):
    // a committed delete across both tables, then a failed update of the children.
    drop(before);
    let r = parents.insert(&mut db, FarParent).unwrap();
    let orphan = has.create(&mut db, r, FarChild { parent: None }).unwrap();
    parents.delete(&mut db, r).unwrap();
    let result = catch_unwind(AssertUnwindSafe(|| {
        children.modify_where(&mut db, |_| true, |_| panic!("a closure that panics"))
    }));
    assert!(result.is_err(), "the closure panicked");
    db.check_integrity().unwrap();
    assert_eq!(children.get(&db, orphan).unwrap().parent, None);
    assert!(!parents.contains(&db, r).unwrap());
    assert_eq!(has.count(&db, p), Ok(50));
}
