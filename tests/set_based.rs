//! Set-based writes: `modify_all`, `modify_where`, `delete_where`, `insert_many`. Each is one
//! atomic operation: if any row fails its checks, or user code panics half-way, nothing changes.

use std::panic::{AssertUnwindSafe, catch_unwind};

use relata::{Db, Error, HasMany, Id, Table, Unique, field, fk};

#[derive(Clone, Debug, PartialEq)]
struct Squad {
    name: String,
}

#[derive(Clone, Debug, PartialEq)]
struct Unit {
    squad: Id<Squad>,
    hp: u32,
    tag: u32,
}

struct World {
    db: Db,
    squads: Table<Squad>,
    units: Table<Unit>,
    members: HasMany<Squad, Unit>,
    by_tag: Unique<Unit, u32>,
    a: Id<Squad>,
    b: Id<Squad>,
}

fn world() -> World {
    let mut db = Db::new();
    let squads = db.create_table::<Squad>().unwrap();
    let units = db.create_table::<Unit>().unwrap();
    let members = db.has_many(squads, units, fk!(Unit, squad)).unwrap();
    let by_tag = db.unique(units, field!(Unit, tag)).unwrap();
    let a = squads.insert(&mut db, Squad { name: "a".into() }).unwrap();
    let b = squads.insert(&mut db, Squad { name: "b".into() }).unwrap();
    for tag in 0..40 {
        let squad = if tag % 2 == 0 { a } else { b };
        units.insert(&mut db, Unit { squad, hp: 10, tag }).unwrap();
    }
    World {
        db,
        squads,
        units,
        members,
        by_tag,
        a,
        b,
    }
}

fn hp(w: &World) -> Vec<u32> {
    w.units.iter(&w.db).unwrap().map(|u| u.hp).collect()
}

#[test]
fn modify_all_changes_every_row_and_keeps_indexes() {
    let mut w = world();
    assert_eq!(w.units.modify_all(&mut w.db, |u| u.hp -= 1), Ok(40));
    assert!(hp(&w).iter().all(|&h| h == 9));
    // Moving keys in bulk moves rows between buckets and unique keys.
    let moved = w
        .units
        .modify_where(
            &mut w.db,
            |u| u.squad == w.b,
            |u| {
                u.squad = w.a;
                u.tag += 1000;
            },
        )
        .unwrap();
    assert_eq!(moved, 20);
    assert_eq!(w.members.count(&w.db, w.a), Ok(40));
    assert_eq!(w.members.count(&w.db, w.b), Ok(0));
    assert!(w.by_tag.find(&w.db, &1001).unwrap().is_some());
    assert!(w.by_tag.find(&w.db, &1).unwrap().is_none());
    w.db.check_integrity().unwrap();
}

#[test]
fn a_set_based_update_that_breaks_a_unique_key_changes_nothing() {
    let mut w = world();
    let before = w.db.fork();
    // Every unit gets tag 7: the second one collides.
    let result = w.units.modify_all(&mut w.db, |u| u.tag = 7);
    assert!(
        matches!(result, Err(Error::Unique { field: "tag", .. })),
        "{result:?}"
    );
    let hp_before: Vec<u32> = w.units.iter(&before).unwrap().map(|u| u.hp).collect();
    assert_eq!(hp(&w), hp_before);
    let tags: Vec<u32> = w.units.iter(&w.db).unwrap().map(|u| u.tag).collect();
    assert_eq!(tags, (0..40).collect::<Vec<_>>());
    w.db.check_integrity().unwrap();
}

#[test]
fn a_set_based_update_to_a_dangling_key_changes_nothing() {
    let mut w = world();
    let gone = w
        .squads
        .insert(
            &mut w.db,
            Squad {
                name: "gone".into(),
            },
        )
        .unwrap();
    w.squads.delete(&mut w.db, gone).unwrap();
    let result = w
        .units
        .modify_where(&mut w.db, |u| u.tag >= 30, |u| u.squad = gone);
    assert!(
        matches!(result, Err(Error::ForeignKey { .. })),
        "{result:?}"
    );
    assert_eq!(w.members.count(&w.db, w.a), Ok(20));
    assert!(
        w.units
            .scan(&w.db)
            .unwrap()
            .all(|u| u.squad == w.a || u.squad == w.b)
    );
    w.db.check_integrity().unwrap();
}

#[test]
fn a_panic_half_way_through_a_set_based_update_changes_nothing() {
    let mut w = world();
    let snapshot = w.db.fork(); // shared storage: the update copies what it writes
    let mut seen = 0;
    let result = catch_unwind(AssertUnwindSafe(|| {
        w.units.modify_all(&mut w.db, |u| {
            seen += 1;
            assert!(seen < 25, "half-way");
            u.hp = 0;
            u.squad = w.b;
        })
    }));
    assert!(result.is_err());
    assert!(hp(&w).iter().all(|&h| h == 10));
    assert_eq!(w.members.count(&w.db, w.a), Ok(20));
    assert!(w.units.scan(&snapshot).unwrap().all(|u| u.hp == 10));
    w.db.check_integrity().unwrap();
    // The database still works.
    assert_eq!(w.units.modify_all(&mut w.db, |u| u.hp = 1), Ok(40));
}

/// A panic in the second storage leaf, after the first was changed whole: the database is
/// again the snapshot's state, and nothing differs between them.
#[test]
fn a_panic_after_a_whole_leaf_changed_leaves_nothing_to_diff() {
    let mut w = world();
    let snapshot = w.db.fork();
    for dense in [true, false] {
        let result = catch_unwind(AssertUnwindSafe(|| {
            w.units.modify_where(
                &mut w.db,
                |u| dense || u.tag % 16 == 0 || u.tag == 38,
                |u| {
                    assert!(u.tag < 36, "half-way");
                    u.hp = 0;
                    u.squad = w.b;
                },
            )
        }));
        assert!(result.is_err());
        assert!(hp(&w).iter().all(|&h| h == 10));
        assert_eq!(w.members.count(&w.db, w.a), Ok(20));
        let changes = w.db.changes_since(&snapshot);
        assert!(changes.table(w.units).unwrap().is_empty());
        assert!(changes.links(w.members).unwrap().is_empty());
        w.db.check_integrity().unwrap();
    }
    // An error found after the first leaf was changed whole (the second leaf's rows take tags
    // the first leaf's rows held): the same.
    let result = w.units.modify_all(&mut w.db, |u| {
        u.hp = 0;
        u.tag = (u.tag + 8) % 40;
    });
    assert!(matches!(result, Err(Error::Unique { .. })), "{result:?}");
    assert!(hp(&w).iter().all(|&h| h == 10));
    let changes = w.db.changes_since(&snapshot);
    assert!(changes.table(w.units).unwrap().is_empty());
    w.db.check_integrity().unwrap();
    // Without a snapshot (the leaves are not shared), the same.
    drop((snapshot, changes));
    let tags = |w: &World| -> Vec<u32> { w.units.iter(&w.db).unwrap().map(|u| u.tag).collect() };
    let was = tags(&w);
    let result = w.units.modify_all(&mut w.db, |u| u.tag = (u.tag + 8) % 40);
    assert!(matches!(result, Err(Error::Unique { .. })), "{result:?}");
    assert_eq!(tags(&w), was);
    assert_eq!(w.by_tag.find(&w.db, &8).unwrap().map(|u| u.tag), Some(8));
    w.db.check_integrity().unwrap();
}

#[test]
fn modify_where_copies_only_what_it_selects_after_a_snapshot() {
    let mut w = world();
    let snapshot = w.db.fork();
    let changed = w
        .units
        .modify_where(&mut w.db, |u| u.tag == 3, |u| u.hp = 99)
        .unwrap();
    assert_eq!(changed, 1);
    assert_eq!(w.by_tag.find(&w.db, &3).unwrap().map(|u| u.hp), Some(99));
    assert_eq!(
        w.by_tag.find(&snapshot, &3).unwrap().map(|u| u.hp),
        Some(10)
    );
}

#[test]
fn delete_where_cascades_and_reports() {
    let mut w = world();
    let report = w.squads.delete_where(&mut w.db, |s| s.name == "b").unwrap();
    assert_eq!(report.deleted_in(w.squads), [w.b]);
    assert_eq!(
        report.deleted_in(w.units).len(),
        20,
        "non-null keys cascade"
    );
    assert_eq!(w.units.len(&w.db), Ok(20));
    let none = w.units.delete_where(&mut w.db, |u| u.hp > 100).unwrap();
    assert_eq!(none.total_deleted(), 0);
    w.db.check_integrity().unwrap();
}

#[test]
fn insert_many_is_all_or_nothing() {
    let mut w = world();
    let rows = (100..110).map(|tag| Unit {
        squad: w.a,
        hp: 1,
        tag,
    });
    let ids = w.units.insert_many(&mut w.db, rows).unwrap();
    assert_eq!(ids.len(), 10);
    assert_eq!(w.members.count(&w.db, w.a), Ok(30));
    // The third row repeats a tag: none of the three is inserted.
    let clash = [200, 201, 100].map(|tag| Unit {
        squad: w.b,
        hp: 1,
        tag,
    });
    assert!(matches!(
        w.units.insert_many(&mut w.db, clash),
        Err(Error::Unique { .. })
    ));
    assert_eq!(w.units.len(&w.db), Ok(50));
    assert!(w.by_tag.find(&w.db, &200).unwrap().is_none());
    w.db.check_integrity().unwrap();
}

#[test]
fn insert_many_numbers_rows_like_one_insert_after_another() {
    let mut w = world();
    let unit = |tag| Unit {
        squad: w.a,
        hp: 1,
        tag,
    };
    let ids = w
        .units
        .insert_many(&mut w.db, (100..103).map(unit))
        .unwrap();
    let seqs: Vec<u64> = ids.iter().map(|id| id.seq()).collect();
    assert_eq!(seqs, [41, 42, 43]);
    assert_eq!(w.units.insert(&mut w.db, unit(103)).unwrap().seq(), 44);
    // A failed batch uses numbers only for the rows it stored before failing (rolled back,
    // never issued again); the next row takes the number after them, not after the batch.
    let clash = [200, 201, 100, 202, 203].map(unit);
    assert!(w.units.insert_many(&mut w.db, clash).is_err());
    let mut fork = w.db.fork();
    assert_eq!(w.units.insert(&mut fork, unit(300)).unwrap().seq(), 47);
    assert_eq!(w.units.insert(&mut w.db, unit(301)).unwrap().seq(), 48);
}

#[test]
fn bulk_inserts_on_forks_in_threads_never_issue_an_id_twice() {
    let w = world();
    let before = w.units.len(&w.db).unwrap();
    let batches: Vec<Vec<Id<Unit>>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..4u32)
            .map(|t| {
                let mut fork = w.db.fork();
                let (units, squad) = (w.units, w.a);
                s.spawn(move || {
                    let mut ids = Vec::new();
                    for round in 0..50 {
                        let tag = 1_000 * (t + 1) + 10 * round;
                        let rows = (tag..tag + 7).map(|tag| Unit { squad, hp: 1, tag });
                        ids.extend(units.insert_many(&mut fork, rows).unwrap());
                        ids.push(
                            units
                                .insert(
                                    &mut fork,
                                    Unit {
                                        squad,
                                        hp: 2,
                                        tag: tag + 8,
                                    },
                                )
                                .unwrap(),
                        );
                    }
                    (fork, ids)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| {
                let (fork, ids) = worker.join().unwrap();
                assert_eq!(w.units.len(&fork).unwrap(), before + ids.len());
                fork.check_integrity().unwrap();
                ids
            })
            .collect()
    });
    let mut seqs: Vec<u64> = batches.iter().flatten().map(|id| id.seq()).collect();
    let n = seqs.len();
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(
        seqs.len(),
        n,
        "every row of every fork has its own creation number"
    );
    for ids in &batches {
        assert!(
            ids.windows(2).all(|pair| pair[0].seq() < pair[1].seq()),
            "in creation order"
        );
        assert!(ids.iter().all(|&id| !w.units.contains(&w.db, id).unwrap()));
    }
}

/// A tree of categories whose `parent` names the slug of a row of the same table.
mod tree {
    use relata::{AssocOptions, Db, HasMany, Id, OnUpdate, Table, field, fk};

    #[derive(Clone, Debug, PartialEq)]
    pub struct Category {
        pub slug: String,
        pub parent: Option<String>,
        pub n: u32,
    }

    pub struct Tree {
        pub db: Db,
        pub cats: Table<Category>,
        pub children: HasMany<Category, Category, String>,
        pub ids: Vec<Id<Category>>,
    }

    pub fn tree(action: OnUpdate, rows: &[(&str, Option<&str>)]) -> Tree {
        let mut db = Db::new();
        let cats = db.create_table::<Category>().unwrap();
        let by_slug = db.unique(cats, field!(Category, slug)).unwrap();
        let options = AssocOptions::new().on_update(action);
        let children = db
            .has_many_by(by_slug, cats, fk!(Category, parent), options)
            .unwrap();
        let ids = rows
            .iter()
            .map(|(slug, parent)| {
                let row = Category {
                    slug: slug.to_string(),
                    parent: parent.map(str::to_string),
                    n: 0,
                };
                cats.insert(&mut db, row).unwrap()
            })
            .collect();
        Tree {
            db,
            cats,
            children,
            ids,
        }
    }

    impl Tree {
        pub fn parent(&self, i: usize) -> Option<String> {
            self.cats.get(&self.db, self.ids[i]).unwrap().parent.clone()
        }
        pub fn under(&self, i: usize) -> Vec<Id<Category>> {
            let kids = self.children.get(&self.db, self.ids[i]).unwrap();
            kids.map(|c| c.id()).collect()
        }
    }
}

#[test]
fn renaming_every_slug_of_a_tree_carries_the_children_along() {
    // Each row's update starts from what the cascade of an earlier row made of it, as
    // `UPDATE … SET slug = slug || 'x'` with `ON UPDATE CASCADE` does.
    let mut t = tree::tree(
        relata::OnUpdate::Cascade,
        &[("a", None), ("b", Some("a")), ("c", Some("b"))],
    );
    assert_eq!(t.cats.modify_all(&mut t.db, |c| c.slug.push('x')), Ok(3));
    assert_eq!(t.parent(1).as_deref(), Some("ax"));
    assert_eq!(t.parent(2).as_deref(), Some("bx"));
    assert_eq!(t.under(0), [t.ids[1]]);
    assert_eq!(t.under(1), [t.ids[2]]);
    t.db.check_integrity().unwrap();
}

#[test]
fn a_set_based_update_never_moves_a_child_to_the_row_that_took_its_parents_old_key() {
    let mut t = tree::tree(
        relata::OnUpdate::Cascade,
        &[("a", None), ("c", None), ("b", Some("a"))],
    );
    let r = t.cats.modify_all(&mut t.db, |row| match row.slug.as_str() {
        "a" => row.slug = "ax".into(),
        "c" => row.slug = "a".into(),
        _ => row.n += 1,
    });
    assert_eq!(r, Ok(3));
    assert_eq!(t.parent(2).as_deref(), Some("ax"));
    assert_eq!(t.under(0), [t.ids[2]]);
    assert!(t.under(1).is_empty());
    t.db.check_integrity().unwrap();
}

#[test]
fn modify_range_over_a_tree_carries_the_children_along() {
    let mut t = tree::tree(relata::OnUpdate::Cascade, &[("a", None), ("b", Some("a"))]);
    let by_n = t.db.index(t.cats, field!(tree::Category, n)).unwrap();
    assert_eq!(
        by_n.modify_range(&mut t.db, 0..1, |c| c.slug.push('x')),
        Ok(2)
    );
    assert_eq!(t.parent(1).as_deref(), Some("ax"));
    t.db.check_integrity().unwrap();
}

#[test]
fn a_row_renamed_and_pointed_at_its_own_old_key_follows_the_on_update_action() {
    // The row is linked to its old key once it holds its new value, so the action applies
    // to it too; it never keeps a key that names no row.
    use relata::OnUpdate::{Cascade, Restrict, SetNull};
    for (action, parent) in [(Cascade, Some("bx")), (SetNull, None), (Restrict, None)] {
        let mut t = tree::tree(action, &[("a", None), ("b", None)]);
        let b = t.ids[1];
        let r = t.cats.modify(&mut t.db, b, |c| {
            c.slug = "bx".into();
            c.parent = Some("b".into());
        });
        match action {
            Restrict => assert!(matches!(r, Err(relata::Error::Restricted { .. })), "{r:?}"),
            _ => r.unwrap(),
        }
        assert_eq!(t.parent(1).as_deref(), parent, "{action:?}");
        t.db.check_integrity().unwrap();
    }
}

#[test]
fn a_row_renamed_and_moved_away_from_its_own_old_key_keeps_its_new_parent() {
    let mut t = tree::tree(relata::OnUpdate::Cascade, &[("a", None), ("b", None)]);
    let b = t.ids[1];
    // b points at itself, then is renamed and moved under a in one update.
    t.cats
        .modify(&mut t.db, b, |c| c.parent = Some("b".into()))
        .unwrap();
    t.cats
        .modify(&mut t.db, b, |c| {
            c.slug = "bx".into();
            c.parent = Some("a".into());
        })
        .unwrap();
    assert_eq!(t.parent(1).as_deref(), Some("a"));
    assert_eq!(t.under(0), [b]);
    t.db.check_integrity().unwrap();
}

/// A unique clash between two rows of one call names the row the call wrote first, and says
/// so: that row is not kept (the call is undone), so "change it first" would be no advice.
/// A clash with a row already there keeps naming that row.
#[test]
fn a_unique_clash_within_one_call_says_the_row_came_from_that_call() {
    let mut w = world();
    let before = hp(&w);
    let rows = [100, 100].map(|tag| Unit {
        squad: w.a,
        hp: 1,
        tag,
    });
    let e = w.units.insert_many(&mut w.db, rows).unwrap_err();
    let Error::Unique { existing, .. } = &e else {
        panic!("{e:?}")
    };
    assert!(
        w.units.scan(&w.db).unwrap().all(|u| !existing.is(u.id())),
        "{e}"
    );
    let message = e.to_string();
    assert!(message.contains("which this same call wrote"), "{message}");
    assert!(!message.contains("first"), "{message}");
    assert_eq!(hp(&w), before);

    // Two rows the same update gives one value: the first holds it when the second is checked.
    let e = w
        .units
        .modify_where(&mut w.db, |u| u.tag >= 38, |u| u.tag = 1000)
        .unwrap_err();
    assert!(e.to_string().contains("which this same call wrote"), "{e}");
    assert_eq!(w.by_tag.find(&w.db, &1000).unwrap().map(|r| r.id()), None);

    // A clash with a row that was there before: that row, and what to do about it.
    let held = w.by_tag.find(&w.db, &5).unwrap().unwrap().id();
    let rows = [200, 5].map(|tag| Unit {
        squad: w.a,
        hp: 1,
        tag,
    });
    let e = w.units.insert_many(&mut w.db, rows).unwrap_err();
    assert!(
        matches!(&e, Error::Unique { existing, .. } if existing.is(held)),
        "{e:?}"
    );
    assert!(
        e.to_string()
            .ends_with(&format!("choose another value or change {held:?} first")),
        "{e}"
    );
    assert_eq!(hp(&w), before);
}

/// Declaring a unique index over rows that already clash names the row holding the value as
/// one to change: the declaration wrote neither (regression: the index's log of the rows it
/// had indexed so far made the message say the call wrote it).
#[test]
fn declaring_a_unique_index_over_clashing_rows_names_a_row_to_change() {
    let mut w = world();
    let e = w.db.unique(w.units, field!(Unit, hp)).unwrap_err();
    let Error::Unique { existing, .. } = &e else {
        panic!("{e:?}")
    };
    assert!(
        w.units.scan(&w.db).unwrap().any(|u| existing.is(u.id())),
        "{e}"
    );
    let message = e.to_string();
    assert!(!message.contains("same call"), "{message}");
    assert!(message.ends_with("first"), "{message}");
}
