//! Bulk inserts that fail part-way. The write path logs a run of rows appended one after
//! another as one undo entry (not one per row); these tests check that a bulk insert which
//! fails or panics after thousands of rows, into fresh slots, reused slots or both, leaves the
//! database exactly as it was, and that the table goes on working after it.

use std::panic::{AssertUnwindSafe, catch_unwind};

use relata::{Db, Error, HasMany, Id, Table, fk};

#[derive(Clone, Debug, PartialEq)]
struct Squad {
    name: u32,
}

#[derive(Clone, Debug, PartialEq)]
struct Unit {
    squad: Option<Id<Squad>>,
    tag: u32,
}

struct World {
    db: Db,
    squads: Table<Squad>,
    units: Table<Unit>,
    members: HasMany<Squad, Unit>,
    squad: Id<Squad>,
}

fn world(units_at_start: u32) -> World {
    let mut db = Db::new();
    let squads = db.create_table::<Squad>().unwrap();
    let units = db.create_table::<Unit>().unwrap();
    let members = db.has_many(squads, units, fk!(Unit, squad)).unwrap();
    let squad = squads.insert(&mut db, Squad { name: 1 }).unwrap();
    units
        .insert_many(
            &mut db,
            (0..units_at_start).map(|tag| Unit {
                squad: Some(squad),
                tag,
            }),
        )
        .unwrap();
    World {
        db,
        squads,
        units,
        members,
        squad,
    }
}

/// Every row of `units` with its id, in creation order.
fn rows(w: &World, db: &Db) -> Vec<(Id<Unit>, Unit)> {
    w.units
        .iter(db)
        .unwrap()
        .map(|r| (r.id(), r.cloned()))
        .collect()
}

/// `w.db` is what `before` is: same rows under the same ids, same links, nothing changed.
fn unchanged(w: &World, before: &Db) {
    assert_eq!(rows(w, &w.db), rows(w, before));
    assert_eq!(
        w.members.count(&w.db, w.squad).unwrap(),
        w.members.count(before, w.squad).unwrap()
    );
    assert!(w.db.changes_since(before).is_empty());
    w.db.check_integrity().unwrap();
}

/// The table still takes rows after the failure: new ids name their own rows, old ones
/// still theirs.
fn still_works(w: &mut World) {
    let old = rows(w, &w.db);
    let new = w
        .units
        .insert_many(
            &mut w.db,
            (0..500).map(|tag| Unit {
                squad: Some(w.squad),
                tag: 10_000 + tag,
            }),
        )
        .unwrap();
    for (k, id) in (0..).zip(&new) {
        assert_eq!(w.units.get(&w.db, *id).unwrap().tag, 10_000 + k);
    }
    for (id, row) in &old {
        assert_eq!(w.units.get(&w.db, *id).unwrap(), *row);
    }
    assert_eq!(w.units.len(&w.db).unwrap(), old.len() + 500);
    w.db.check_integrity().unwrap();
}

#[test]
fn a_bulk_insert_whose_rows_panic_after_thousands_leaves_nothing() {
    let mut w = world(1_000);
    let before = w.db.fork();
    let squad = w.squad;
    let result = catch_unwind(AssertUnwindSafe(|| {
        w.units.insert_many(
            &mut w.db,
            (0..5_000).map(|tag| {
                assert!(tag != 4_000, "the row source fails");
                Unit {
                    squad: Some(squad),
                    tag,
                }
            }),
        )
    }));
    assert!(result.is_err());
    unchanged(&w, &before);
    still_works(&mut w);
}

#[test]
fn a_bulk_insert_into_reused_and_fresh_slots_that_fails_leaves_nothing() {
    let mut w = world(3_000);
    // Free every 30th slot: the next rows go into them, out of turn, then to the end.
    let doomed: Vec<_> = w
        .units
        .scan(&w.db)
        .unwrap()
        .step_by(30)
        .map(|r| r.id())
        .collect();
    for id in &doomed {
        w.units.delete(&mut w.db, *id).unwrap();
    }
    let before = w.db.fork();
    let elsewhere = w
        .squads
        .insert(&mut w.db.fork(), Squad { name: 2 })
        .unwrap();
    let rows_in = (0..2_000)
        .map(|tag| Unit {
            squad: Some(w.squad),
            tag,
        })
        .chain([Unit {
            // A squad of another database: the foreign key does not resolve here.
            squad: Some(elsewhere),
            tag: 2_000,
        }]);
    let err = w.units.insert_many(&mut w.db, rows_in).unwrap_err();
    assert!(matches!(err, Error::ForeignKey { .. }), "{err}");
    unchanged(&w, &before);
    still_works(&mut w);
}

#[test]
fn a_failed_bulk_insert_after_a_successful_one_keeps_the_first() {
    let mut w = world(0);
    let first = w
        .units
        .insert_many(&mut w.db, (0..1_500).map(|tag| Unit { squad: None, tag }))
        .unwrap();
    let before = w.db.fork();
    let err = w
        .units
        .insert_many(
            &mut w.db,
            (0..1_500)
                .map(|tag| Unit { squad: None, tag })
                .chain([Unit {
                    squad: Some(Id::default()),
                    tag: 0,
                }]),
        )
        .unwrap_err();
    assert!(matches!(err, Error::ForeignKey { .. }), "{err}");
    unchanged(&w, &before);
    assert_eq!(w.units.len(&w.db).unwrap(), first.len());
    still_works(&mut w);
}

/// A unique key on `tag` for the tests below.
fn with_unique_tags(w: &mut World) {
    w.db.unique_by(w.units, "tag", |u: &Unit| u.tag).unwrap();
}

/// Regression (review of ac263c9): `insert_many` sized its id list by the iterator's
/// `size_hint`, so an unbounded iterator (hint `usize::MAX`) panicked with a capacity
/// overflow, and a huge exact one aborted the process, instead of returning the error of the
/// row that failed.
#[test]
fn a_bulk_insert_from_an_unbounded_or_huge_iterator_returns_the_error_of_its_failing_row() {
    let mut w = world(10);
    with_unique_tags(&mut w);
    let before = w.db.fork();
    let squad = w.squad;
    let row = move |k: u64| Unit {
        squad: Some(squad),
        // Row 2 takes tag 5, which row 5 of the world holds.
        tag: if k == 2 { 5 } else { 1_000 + k as u32 },
    };
    let unbounded = w.units.insert_many(&mut w.db, (0u64..).map(row));
    assert!(
        matches!(unbounded, Err(Error::Unique { .. })),
        "{unbounded:?}"
    );
    unchanged(&w, &before);
    let huge = w.units.insert_many(&mut w.db, (0u64..1 << 40).map(row));
    assert!(matches!(huge, Err(Error::Unique { .. })), "{huge:?}");
    unchanged(&w, &before);
    still_works(&mut w);
}
