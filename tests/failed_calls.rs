//! A call that fails leaves the database exactly as it was — its rows, and what a change set
//! sees: `changes_since` a state from before the call is empty, and applying it writes nothing.
//! (Found by two review sessions: a failed call that had written rows before failing put their
//! old values back but left them marked written, so `is_empty` said "changed" and `apply_to`
//! wrote them again.)

use std::panic::{AssertUnwindSafe, catch_unwind};

use relata::{
    AssocOptions, Db, Error, Feed, HasMany, HasOne, Id, OnDelete, SharedDb, Table, Unique, field,
    fk,
};

#[derive(Clone, Debug, PartialEq)]
struct Squad {
    name: u32,
}

#[derive(Clone, Debug, PartialEq)]
struct Unit {
    squad: Option<Id<Squad>>,
    tag: u32,
}

#[derive(Clone, Debug, PartialEq)]
struct Badge {
    unit: Option<Id<Unit>>,
    serial: u32,
}

struct World {
    db: Db,
    squads: Table<Squad>,
    units: Table<Unit>,
    badges: Table<Badge>,
    members: HasMany<Squad, Unit>,
    badge: HasOne<Unit, Badge>,
    by_tag: Unique<Unit, u32>,
    squad_ids: Vec<Id<Squad>>,
    unit_ids: Vec<Id<Unit>>,
}

/// 3 squads, 100 units (several storage leaves), unit `i` in squad `i % 3` with tag `i`, tags
/// unique, and `tag % 50` unique within a squad; badge `i` (unique serial `i`) on unit `i`
/// for `i < 10`; deleting a unit with a badge is refused (Restrict); deleting a squad cascades
/// to its units.
fn world() -> World {
    let mut db = Db::new();
    let squads = db.create_table::<Squad>().unwrap();
    let units = db.create_table::<Unit>().unwrap();
    let badges = db.create_table::<Badge>().unwrap();
    let cascade = AssocOptions::new().on_delete(OnDelete::Cascade);
    let members = db
        .has_many_with(squads, units, fk!(Unit, squad), cascade)
        .unwrap();
    let restrict = AssocOptions::new().on_delete(OnDelete::Restrict);
    let badge = db
        .has_one_with(units, badges, fk!(Badge, unit), restrict)
        .unwrap();
    let by_tag = db.unique(units, field!(Unit, tag)).unwrap();
    db.unique_where(
        units,
        "squad_tag",
        |u: &Unit| u.squad.is_some(),
        |u: &Unit| (u.squad.unwrap_or_default(), u.tag % 50),
    )
    .unwrap();
    db.unique(badges, field!(Badge, serial)).unwrap();
    let squad_ids = squads
        .insert_many(&mut db, (0..3).map(|name| Squad { name }))
        .unwrap();
    let unit_ids = units
        .insert_many(
            &mut db,
            (0..100).map(|i| Unit {
                squad: Some(squad_ids[i as usize % 3]),
                tag: i,
            }),
        )
        .unwrap();
    for (serial, &unit) in (0..).zip(&unit_ids[..10]) {
        let badge = Badge {
            unit: Some(unit),
            serial,
        };
        badges.insert(&mut db, badge).unwrap();
    }
    World {
        db,
        squads,
        units,
        badges,
        members,
        badge,
        by_tag,
        squad_ids,
        unit_ids,
    }
}

/// Writes, with the values they hold, one unit in each storage leaf (slots 0, 32, 64, 96),
/// every squad and every badge: 17 rows. Afterwards the database alone holds those leaves,
/// so the next call writes them in place rather than copying them.
fn write_every_leaf(w: &mut World) -> usize {
    for i in [0, 32, 64, 96] {
        w.units.modify(&mut w.db, w.unit_ids[i], |_| {}).unwrap();
    }
    let squads = w.squads.modify_all(&mut w.db, |_| {}).unwrap();
    4 + squads + w.badges.modify_all(&mut w.db, |_| {}).unwrap()
}

/// Asserts that what changed since `before` is the `written` rows `write_every_leaf` wrote
/// (none if 0), for a change set as for a reader.
fn unchanged(w: &World, before: &Db, written: usize, call: &str) {
    let changes = w.db.changes_since(before);
    assert_eq!(changes.is_empty(), written == 0, "{call}: is_empty");
    assert!(changes.table(w.units).unwrap().is_empty(), "{call}");
    let mut replica = before.fork();
    assert_eq!(changes.apply_to(&mut replica), Ok(written), "{call}");
    w.db.check_integrity().unwrap();
}

#[test]
fn every_kind_of_failed_call_leaves_an_empty_change_set() {
    type Call = fn(&mut World) -> Result<(), Error>;
    let calls: [(&str, Call); 10] = [
        (
            "set that unlinks 33 units, then links a clashing one",
            |w| {
                // Unit 1 would join unit 51 in squad 0 under the same `tag % 50`.
                let (u, v) = (w.unit_ids[1], w.unit_ids[51]);
                w.members.set(&mut w.db, w.squad_ids[0], [u, v]).map(drop)
            },
        ),
        ("modify_range that gives two rows one tag", |w| {
            let changed = w.by_tag.modify_range(&mut w.db, 20..40, |u| u.tag = 99)?;
            panic!("{changed} rows changed")
        }),
        ("modify_where that gives every even row one tag", |w| {
            let changed = w
                .units
                .modify_where(&mut w.db, |u| u.tag % 2 == 0, |u| u.tag = 500)?;
            panic!("{changed} rows changed")
        }),
        ("modify whose closure panics", |w| {
            let (units, id) = (w.units, w.unit_ids[50]);
            let result = catch_unwind(AssertUnwindSafe(|| {
                units.modify(&mut w.db, id, |u| {
                    u.tag = 1000;
                    panic!("boom")
                })
            }));
            assert!(result.is_err());
            Err(Error::Definition {
                message: "panicked".into(),
            })
        }),
        (
            "modify_where whose closure panics on the second row it picks",
            |w| {
                // Every third row: 11 in the first leaf (saved row by row when the database alone
                // holds the leaf, whole when a fork shares it).
                let units = w.units;
                let mut seen = 0;
                let result = catch_unwind(AssertUnwindSafe(|| {
                    units.modify_where(
                        &mut w.db,
                        |u| u.tag % 3 == 1,
                        |u| {
                            seen += 1;
                            assert!(seen < 2, "boom");
                            u.tag += 1000;
                        },
                    )
                }));
                assert!(result.is_err());
                Err(Error::Definition {
                    message: "panicked".into(),
                })
            },
        ),
        ("modify_all whose closure panics half-way", |w| {
            let units = w.units;
            let mut seen = 0;
            let result = catch_unwind(AssertUnwindSafe(|| {
                units.modify_all(&mut w.db, |u| {
                    seen += 1;
                    assert!(seen < 60, "boom");
                    u.tag += 1000;
                })
            }));
            assert!(result.is_err());
            Err(Error::Definition {
                message: "panicked".into(),
            })
        }),
        ("delete of a squad whose cascade meets a badge", |w| {
            w.squads.delete(&mut w.db, w.squad_ids[1]).map(drop)
        }),
        ("add of many units, the last deleted", |w| {
            let gone = w.unit_ids[60];
            w.units.delete(&mut w.db, gone)?;
            let before = w.db.fork();
            let mut ids = w.unit_ids[40..50].to_vec();
            ids.push(gone);
            let result = w.members.add_many(&mut w.db, w.squad_ids[2], ids);
            // Compared from after the delete.
            let changes = w.db.changes_since(&before);
            assert!(changes.is_empty(), "add_many left a change");
            w.db = before;
            result.map(drop)
        }),
        ("insert_many whose last row names no squad", |w| {
            let rows = (0..5)
                .map(|i| Unit {
                    squad: Some(w.squad_ids[0]),
                    tag: 200 + i,
                })
                .chain([Unit {
                    squad: Some(Id::default()),
                    tag: 300,
                }]);
            w.units.insert_many(&mut w.db, rows).map(drop)
        }),
        (
            "a new badge for a unit with one, under a serial taken",
            |w| {
                // The current badge is unlinked (its key nulled), then the insert is refused.
                let badge = Badge {
                    unit: None,
                    serial: 0,
                };
                w.badge.create(&mut w.db, w.unit_ids[3], badge).map(drop)
            },
        ),
    ];
    // A fork right before the call (its writes copy the storage they touch), or the rows of
    // every leaf written once after the fork (its writes are in place, and undone in place).
    for in_place in [false, true] {
        for (call, run) in calls {
            let mut w = world();
            let before = w.db.fork();
            let written = if in_place {
                write_every_leaf(&mut w)
            } else {
                0
            };
            let result = run(&mut w);
            assert!(result.is_err(), "{call}: expected to fail, got {result:?}");
            if call.starts_with("add of many") {
                continue; // compared inside, from after its own setup
            }
            unchanged(&w, &before, written, call);
        }
    }
}

/// Inside a `SharedDb` write, a failed call whose error the closure handles: the commit's
/// change set is empty, so a subscriber can skip it.
#[test]
fn a_handled_failure_inside_a_shared_write_feeds_an_empty_change_set() {
    let w = world();
    let shared = SharedDb::new(w.db.fork());
    let feed = shared.subscribe(4);
    let (units, by_tag) = (w.units, w.by_tag);
    shared
        .write(|db| {
            let refused = by_tag.modify_range(db, 0..50, |u| u.tag = 3);
            assert!(refused.is_err());
            let refused = units.modify_all(db, |u| u.tag = 0);
            assert!(refused.is_err());
            Ok::<_, Error>(())
        })
        .unwrap();
    match feed.try_recv() {
        Some(Feed::Changes(changes)) => assert!(changes.is_empty()),
        other => panic!("expected a change set, got {other:?}"),
    }
}

thread_local! {
    /// Row clones left before the next one panics; `None`: disarmed.
    static FUSE: std::cell::Cell<Option<u32>> = const { std::cell::Cell::new(None) };
}

/// A row whose `Clone` panics when the fuse runs out.
#[derive(Debug, PartialEq)]
struct Fragile {
    k: u32,
}

impl Clone for Fragile {
    fn clone(&self) -> Self {
        FUSE.with(|f| match f.get() {
            Some(0) => {
                f.set(None);
                panic!("deliberate panic in Clone");
            }
            Some(n) => f.set(Some(n - 1)),
            None => {}
        });
        Fragile { k: self.k }
    }
}

/// A range update whose row `Clone` panics — copying storage a fork shares, or taking the
/// undo copy of a row — leaves an empty change set. (Found by an error-audit session:
/// `Index::modify_range` marked the row written before cloning its old value, so a panic in
/// that clone left a mark rollback did not take back; `is_empty` said "changed" and `apply_to`
/// wrote the row again.)
#[test]
fn a_range_update_whose_clone_panics_leaves_an_empty_change_set() {
    for fuse in 0..40 {
        let mut db = Db::new();
        let items = db.create_table::<Fragile>().unwrap();
        let by_k = db.index(items, field!(Fragile, k)).unwrap();
        let unique_k = db.unique(items, field!(Fragile, k)).unwrap();
        items
            .insert_many(&mut db, (0..40).map(|k| Fragile { k: k * 10 }))
            .unwrap();
        let before = db.fork();
        for by_unique in [false, true] {
            FUSE.with(|f| f.set(Some(fuse)));
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                if by_unique {
                    unique_k.modify_range(&mut db, 0..400, |i| i.k += 1)
                } else {
                    by_k.modify_range(&mut db, 0..400, |i| i.k += 1)
                }
            }));
            FUSE.with(|f| f.set(None));
            assert!(outcome.is_err(), "fuse {fuse}: the clone did not panic");
            let changes = db.changes_since(&before);
            assert!(
                changes.is_empty(),
                "fuse {fuse} (unique: {by_unique}): a panicked range update left a change set"
            );
            assert_eq!(changes.apply_to(&mut before.fork()), Ok(0), "fuse {fuse}");
            let ks: Vec<u32> = items.iter(&db).unwrap().map(|r| r.k).collect();
            assert_eq!(ks, (0..40).map(|k| k * 10).collect::<Vec<_>>());
        }
    }
}
