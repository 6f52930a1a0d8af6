//! Change sets (#13) against a naive diff of two full scans.
//!
//! Random histories (see `changes_reference`: inserts, updates, deletes with cascades and
//! SetNull, has-many add/remove/set on nullable, non-null and attribute keys, a unique index,
//! `modify_where`/`delete_where`, transactions that roll back) run on one database; after every
//! operation, for the state before it and for every snapshot taken so far:
//!
//! - `after.changes_since(&before)` lists exactly the rows inserted, deleted and updated (old
//!   and new values) and the links added and removed that two full scans find, in creation
//!   order (links: source, then target), through both sides of every association;
//! - applied to a fork of `before` it gives `after`: every row by id, every link (from the rows
//!   and from the indexes), every unique lookup; `check_integrity` passes; a row inserted there
//!   afterwards gets an id never handed out;
//! - applied to another state of the lineage (another snapshot) it either fails and changes
//!   nothing (with `Error::Mismatch` whenever a row it updates or deletes is not there), or
//!   makes the changed rows what they are in `after`, leaves the others alone, and keeps every
//!   constraint;
//! - `x.changes_since(&x)` is empty and applies as nothing.
//!
//! Unrelated states: two forks of a common state, each given its own random history
//! (interleaved); after every step the diff from either to the other, applied to a fork of the
//! first, gives the second.

use std::collections::BTreeMap;

use proptest::prelude::*;
use relata::{Association, ChangeSet, Db, Error, Id, Table};

use crate::changes_reference::*;

use crate::config;

fn listed_rows<T: Tab>(cs: &ChangeSet, table: Table<T>) -> Rows<T> {
    let c = cs.table(table).unwrap();
    let rows =
        |rows: &[relata::Row<'_, T>]| rows.iter().map(|r| (r.id(), r.value().clone())).collect();
    Rows {
        inserted: rows(&c.inserted),
        deleted: rows(&c.deleted),
        updated: c
            .updated
            .iter()
            .map(|u| (u.id, u.old.clone(), u.new.clone()))
            .collect(),
    }
}

fn check_links<S: Tab, T: Tab>(
    cs: &ChangeSet,
    a: impl Association<Source = S, Target = T>,
    inverse: impl Association<Source = S, Target = T>,
    before: &Links<S, T>,
    after: &Links<S, T>,
    same_key: impl Fn(&Id<T>) -> bool,
    what: &str,
) {
    let got = cs.links(a).unwrap();
    assert_eq!(
        cs.links(inverse).unwrap(),
        got,
        "links of {what} through its inverse"
    );
    let (mut added, mut removed) = (got.added.clone(), got.removed.clone());
    let mut expected_added: Vec<_> = after.difference(before).copied().collect();
    let mut expected_removed: Vec<_> = before.difference(after).copied().collect();
    if KEYED_LINKS_FOLLOW_KEYS {
        // A link both added and removed is one whose key changed but whose source did not.
        let both: Vec<_> = added
            .iter()
            .filter(|l| removed.contains(l))
            .copied()
            .collect();
        added.retain(|l| !both.contains(l));
        removed.retain(|l| !both.contains(l));
        // A target whose key is the same in both states is not looked at.
        expected_added.retain(|(_, t)| !same_key(t));
        expected_removed.retain(|(_, t)| !same_key(t));
    }
    assert_eq!(
        (added, removed),
        (expected_added, expected_removed),
        "links of {what} (added, removed): {got:?}"
    );
}

/// Properties (a) and (b) for `before` → `after` (states `b`, `a`).
fn check_diff(s: &Schema, ids: &Ids, before: &Db, b: &State, after: &Db, a: &State) {
    let cs = after.changes_since(before);
    // `is_empty` is exact up to rows written with an equal value (they count as changes): a
    // state that differs is never empty, and an empty change set joins equal states.
    if b != a {
        assert!(
            !cs.is_empty(),
            "the states differ, yet the change set is empty"
        );
    }
    if cs.is_empty() {
        assert_eq!(b, a, "an empty change set between different states");
    }
    assert_eq!(
        listed_rows(&cs, s.teams),
        expected_rows(&b.teams, &a.teams),
        "team changes"
    );
    assert_eq!(
        listed_rows(&cs, s.players),
        expected_rows(&b.players, &a.players),
        "player changes"
    );
    assert_eq!(
        listed_rows(&cs, s.badges),
        expected_rows(&b.badges, &a.badges),
        "badge changes"
    );
    assert_eq!(
        listed_rows(&cs, s.fans),
        expected_rows(&b.fans, &a.fans),
        "fan changes"
    );
    let (bl, al) = (&b.links, &a.links);
    fn no<T>(_: &Id<T>) -> bool {
        false
    }
    check_links(
        &cs,
        s.roster,
        s.roster.inverse(),
        &bl.roster,
        &al.roster,
        no,
        "roster",
    );
    check_links(
        &cs,
        s.mentees,
        s.mentees.inverse(),
        &bl.mentees,
        &al.mentees,
        no,
        "mentees",
    );
    check_links(
        &cs,
        s.awards,
        s.awards.inverse(),
        &bl.awards,
        &al.awards,
        no,
        "awards",
    );
    let same_key = |f: &Id<Fan>| {
        let key = |m: &BTreeMap<Id<Fan>, Fan>| m.get(f).map(|f| f.team_name);
        key(&b.fans).is_some() && key(&b.fans) == key(&a.fans)
    };
    check_links(
        &cs,
        s.club,
        s.club.inverse(),
        &bl.club,
        &al.club,
        same_key,
        "club",
    );
    let total = cs.table(s.teams).unwrap().len()
        + cs.table(s.players).unwrap().len()
        + cs.table(s.badges).unwrap().len()
        + cs.table(s.fans).unwrap().len();

    let mut replica = before.fork();
    let changed = cs
        .apply_to(&mut replica)
        .unwrap_or_else(|e| panic!("applying to a fork of the earlier state: {e}"));
    assert!(
        changed >= total,
        "apply_to changed {changed} rows, the change set lists {total}"
    );
    replica.check_integrity().unwrap();
    assert_eq!(
        &State::of(&replica, s),
        a,
        "the earlier state with the changes applied"
    );
    // The change set holds the two states.
    assert_eq!(&State::of(cs.before(), s), b);
    assert_eq!(&State::of(cs.after(), s), a);
    // A row inserted into the replica gets an id no one was handed.
    let fresh = s
        .players
        .insert(
            &mut replica,
            Player {
                team: None,
                mentor: None,
                n: 0,
            },
        )
        .unwrap();
    assert!(
        !ids.players.contains(&fresh),
        "{fresh:?} was handed out before"
    );
    assert!(!a.players.contains_key(&fresh) && !b.players.contains_key(&fresh));
}

/// `x.changes_since(&x)` is empty and applies as nothing.
fn check_self(s: &Schema, db: &Db, state: &State) {
    let cs = db.changes_since(db);
    assert!(cs.is_empty());
    assert!(cs.table(s.teams).unwrap().is_empty() && cs.table(s.players).unwrap().is_empty());
    assert!(cs.table(s.badges).unwrap().is_empty() && cs.table(s.fans).unwrap().is_empty());
    assert!(cs.links(s.roster).unwrap().is_empty() && cs.links(s.mentees).unwrap().is_empty());
    assert!(cs.links(s.awards).unwrap().is_empty() && cs.links(s.club).unwrap().is_empty());
    let mut copy = db.fork();
    assert_eq!(cs.apply_to(&mut copy), Ok(0));
    assert_eq!(&State::of(&copy, s), state);
}

/// Known bug (see `an_update_applied_where_the_row_is_absent_is_a_mismatch`): `apply_to`
/// puts a row it updates back into a database that does not hold it, where the docs promise
/// `Error::Mismatch`. While it stands, the properties accept that resurrection.
const RESURRECTS_UPDATED_ROWS: bool = false;

/// Known bug (see `an_applied_row_whose_key_names_no_row_is_refused`): `apply_to` stores rows
/// whose foreign key names no row of the database it is applied to, and `check_integrity`
/// passes the result. While it stands, such a result is only checked for its indexes.
const APPLY_LEAVES_DANGLING_KEYS: bool = false;

/// Known bug (see `an_applied_row_that_takes_a_unique_name_is_refused`): `apply_to` stores a
/// row whose unique name another row of the database (one the change set leaves alone)
/// holds. While it stands, such a result is only checked for its rows.
const APPLY_LEAVES_DUPLICATE_NAMES: bool = false;

/// Known bug (see `a_failed_apply_leaves_the_indexes_as_they_were`): an `apply_to` that
/// fails with `Mismatch` after storing a row may leave a unique index without an entry of a
/// row it did not touch. While it stands, a failed apply that breaks integrity is only checked
/// for its rows.
const FAILED_APPLY_MAY_BREAK_INDEXES: bool = false;

/// Known bugs (see `links_by_attribute_follow_sources_not_keys`): `ChangeSet::links` of an
/// association by attribute compares the targets' keys, not the sources they name: a target
/// whose key changed but names the same source is listed as removed and added again, and one
/// whose key is the same but names another source (the old one deleted or renamed, another
/// given the name) is not listed. While they stand, the properties forgive exactly those.
const KEYED_LINKS_FOLLOW_KEYS: bool = false;

/// Property (b'): `before → after` applied to `target` (state `t`).
fn check_apply_elsewhere(
    s: &Schema,
    before: &Db,
    b: &State,
    after: &Db,
    a: &State,
    target: &Db,
    t: &State,
) {
    let cs = after.changes_since(before);
    let mut db = target.fork();
    let result = cs.apply_to(&mut db);
    let now = State::of(&db, s);
    let teams = overlay(RESURRECTS_UPDATED_ROWS, &b.teams, &a.teams, &t.teams);
    let players = overlay(RESURRECTS_UPDATED_ROWS, &b.players, &a.players, &t.players);
    let badges = overlay(RESURRECTS_UPDATED_ROWS, &b.badges, &a.badges, &t.badges);
    let fans = overlay(RESURRECTS_UPDATED_ROWS, &b.fans, &a.fans, &t.fans);
    let mismatch = [&teams.1, &players.1, &badges.1, &fans.1];
    let mismatch = mismatch.into_iter().flatten().next();
    match result {
        Err(e) => {
            if FAILED_APPLY_MAY_BREAK_INDEXES && db.check_integrity().is_err() {
                // The rows are rolled back, the indexes may not be: see the constant.
                let rows = |s: &State| {
                    let (t, p, b, f) = (&s.teams, &s.players, &s.badges, &s.fans);
                    (t.clone(), p.clone(), b.clone(), f.clone(), s.links.clone())
                };
                assert_eq!(
                    rows(&now),
                    rows(t),
                    "a failed apply_to ({e}) changed the rows"
                );
            } else {
                db.check_integrity().unwrap();
                assert_eq!(&now, t, "a failed apply_to ({e}) changed the database");
            }
            // Nor where later rows go: the same inserts fill the same slots in turn.
            let mut control = target.fork();
            let order = |db: &mut Db| {
                for n in 0..3 {
                    // A name no history gives, so that every insert succeeds.
                    let _ = s.teams.insert(db, Team { name: 200 + n, n });
                }
                let scan = s.teams.scan(db).unwrap();
                scan.map(|r| r.value().clone()).collect::<Vec<_>>()
            };
            assert_eq!(
                order(&mut db),
                order(&mut control),
                "a failed apply_to ({e}) changed which slots later inserts fill"
            );
            if let Some(row) = mismatch {
                assert!(
                    matches!(e, Error::Mismatch { .. }),
                    "{row} is absent, yet {e:?}"
                );
            }
        }
        Ok(_) => {
            assert!(
                mismatch.is_none(),
                "applied although {mismatch:?}, which it changes, is absent"
            );
            if APPLY_LEAVES_DUPLICATE_NAMES && now.duplicate_names() {
                // Nothing holds: see the constant.
            } else if APPLY_LEAVES_DANGLING_KEYS && !now.dangling().is_empty() {
                now.check_indexes();
            } else {
                db.check_integrity().unwrap_or_else(|e| {
                    panic!("apply_to succeeded, but the result is broken: {e}")
                });
                now.check_consistent();
            }
            assert!(same_rows(&now.teams, &teams.0, &b.teams, &a.teams), "teams");
            assert!(
                same_rows(&now.players, &players.0, &b.players, &a.players),
                "players"
            );
            assert!(
                same_rows(&now.badges, &badges.0, &b.badges, &a.badges),
                "badges"
            );
            assert!(same_rows(&now.fans, &fans.0, &b.fans, &a.fans), "fans");
        }
    }
}

fn run(options: Options, ops: &[Op]) {
    let mut db = Db::new();
    let s = declare(&mut db, &options);
    let mut ids = Ids::default();
    let mut state = State::of(&db, &s);
    let mut snapshots: Vec<(Db, State)> = vec![(db.fork(), state.clone())];
    for (step, op) in ops.iter().enumerate() {
        if let Op::Snapshot = op {
            if snapshots.len() == 4 {
                snapshots.remove(1);
            }
            snapshots.push((db.fork(), state.clone()));
            continue;
        }
        let (previous, was) = (db.fork(), state);
        let result = execute(&mut db, &s, &mut ids, op);
        db.check_integrity()
            .unwrap_or_else(|e| panic!("integrity after {op:?}: {e}"));
        // A failed call leaves no trace, not even for a change set (its writes are undone
        // with the stamps their slots bore).
        if result.starts_with("Err") {
            assert!(
                db.changes_since(&previous).is_empty(),
                "{op:?} failed ({result}) but left a non-empty change set"
            );
        }
        state = State::of(&db, &s);
        state.check_consistent();
        check_diff(&s, &ids, &previous, &was, &db, &state);
        for (snapshot, then) in &snapshots {
            check_diff(&s, &ids, snapshot, then, &db, &state);
        }
        check_self(&s, &db, &state);
        let n = snapshots.len();
        if n > 1 {
            let (i, j) = (step % n, (step % n + 1 + step / n % (n - 1)) % n);
            let ((from, f), (to, t)) = (&snapshots[i], &snapshots[j]);
            check_apply_elsewhere(&s, from, f, &db, &state, to, t);
        }
        check_apply_elsewhere(
            &s,
            &previous,
            &was,
            &db,
            &state,
            &snapshots[step % snapshots.len()].0,
            &snapshots[step % snapshots.len()].1,
        );
    }
}

/// Property (c): `common` ops, then `ops` on fork 1 (`false`) or fork 2 (`true`).
fn run_unrelated(options: Options, common: &[Op], ops: &[(bool, Op)]) {
    let mut db = Db::new();
    let s = declare(&mut db, &options);
    let mut ids = Ids::default();
    for op in common {
        execute(&mut db, &s, &mut ids, op);
    }
    let mut forks = [db.fork(), db];
    let mut states = [State::of(&forks[0], &s), State::of(&forks[1], &s)];
    for (side, op) in ops {
        let k = usize::from(*side);
        execute(&mut forks[k], &s, &mut ids, op);
        forks[k].check_integrity().unwrap();
        states[k] = State::of(&forks[k], &s);
        check_diff(&s, &ids, &forks[0], &states[0], &forks[1], &states[1]);
        check_diff(&s, &ids, &forks[1], &states[1], &forks[0], &states[0]);
    }
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn change_sets_match_a_diff_of_two_scans(
        options in options(),
        ops in prop::collection::vec(op(), 1..48),
    ) {
        run(options, &ops);
    }

    #[test]
    fn change_sets_between_unrelated_states_apply(
        options in options(),
        common in prop::collection::vec(op(), 0..16),
        ops in prop::collection::vec((any::<bool>(), op()), 1..32),
    ) {
        run_unrelated(options, &common, &ops);
    }
}

#[test]
fn an_update_applied_where_the_row_is_absent_is_a_mismatch() {
    let mut db = Db::new();
    let teams = db.create_table::<Team>().unwrap();
    let empty = db.fork();
    let t = teams.insert(&mut db, Team { name: 1, n: 1 }).unwrap();
    let before = db.fork();
    teams.update(&mut db, t, Team { name: 1, n: 9 }).unwrap();
    let changes = db.changes_since(&before);
    // A state that does not hold the row the change set updates.
    let mut target = empty.fork();
    let result = changes.apply_to(&mut target);
    assert!(matches!(result, Err(Error::Mismatch { .. })), "{result:?}");
    assert_eq!(teams.len(&target), Ok(0));
}

#[test]
fn an_applied_row_whose_key_names_no_row_is_refused() {
    let mut db = Db::new();
    let players = db.create_table::<Player>().unwrap();
    let badges = db.create_table::<Badge>().unwrap();
    let awards = db
        .has_many(players, badges, relata::fk!(Badge, player))
        .unwrap();
    let empty = db.fork();
    let p = players
        .insert(
            &mut db,
            Player {
                team: None,
                mentor: None,
                n: 0,
            },
        )
        .unwrap();
    let before = db.fork();
    badges.insert(&mut db, Badge { player: p, n: 8 }).unwrap();
    // Inserts a badge of `p` into a state that has no `p`.
    let changes = db.changes_since(&before);
    let mut target = empty.fork();
    let result = changes.apply_to(&mut target);
    if result.is_ok() {
        // Today: Ok(1); the badge is there, `p` is not, yet `awards.count(p)` is 1 and
        // `check_integrity` passes.
        assert!(
            target.check_integrity().is_err(),
            "a dangling Badge.player passes check_integrity"
        );
        assert_eq!(awards.count(&target, p), Ok(0));
    }
    assert!(
        matches!(result, Err(Error::ForeignKey { .. })),
        "{result:?}"
    );
    assert_eq!(badges.len(&target), Ok(0));
}

#[test]
fn an_applied_row_that_takes_a_unique_name_is_refused() {
    let mut db = Db::new();
    let teams = db.create_table::<Team>().unwrap();
    let names = db.unique(teams, relata::field!(Team, name)).unwrap();
    let a = teams.insert(&mut db, Team { name: 2, n: 0 }).unwrap();
    let b = teams.insert(&mut db, Team { name: 1, n: 0 }).unwrap();
    let target = db.fork(); // a and b
    teams.delete(&mut db, b).unwrap();
    let before = db.fork();
    teams.update(&mut db, a, Team { name: 1, n: 0 }).unwrap();
    // Renames a to 1 in a state where b is named 1.
    let changes = db.changes_since(&before);
    let mut target = target.fork();
    let result = changes.apply_to(&mut target);
    if result.is_ok() {
        // Today: Ok(1), and the result fails check_integrity ("name holds 1 in 2 rows").
        let found = names.find(&target, &1).unwrap().map(|r| r.id());
        panic!(
            "applied: {:?}, find(1) = {found:?}",
            target.check_integrity()
        );
    }
    assert!(matches!(result, Err(Error::Unique { .. })), "{result:?}");
}

#[test]
fn links_by_attribute_follow_sources_not_keys() {
    let mut db = Db::new();
    let teams = db.create_table::<Team>().unwrap();
    let fans = db.create_table::<Fan>().unwrap();
    let names = db.unique(teams, relata::field!(Team, name)).unwrap();
    let options = relata::AssocOptions::new();
    let club = db
        .has_many_by(names, fans, relata::fk!(Fan, team_name), options)
        .unwrap();
    let t = teams.insert(&mut db, Team { name: 1, n: 0 }).unwrap();
    let f = club
        .create(
            &mut db,
            t,
            Fan {
                team_name: None,
                n: 0,
            },
        )
        .unwrap();

    // Renaming the team moves its fan's key along (on update Cascade): the link stays.
    let before = db.fork();
    teams.update(&mut db, t, Team { name: 3, n: 0 }).unwrap();
    let renamed = db.changes_since(&before).links(club).unwrap();

    // Another team takes the name, and the fan its key back: same key, another source.
    let before = db.fork();
    teams.delete(&mut db, t).unwrap(); // nulls f's key
    let u = teams.insert(&mut db, Team { name: 3, n: 1 }).unwrap();
    fans.update(
        &mut db,
        f,
        Fan {
            team_name: Some(3),
            n: 0,
        },
    )
    .unwrap();
    let moved = db.changes_since(&before).links(club).unwrap();

    assert!(renamed.is_empty(), "{renamed:?}");
    assert_eq!((moved.added, moved.removed), (vec![(u, f)], vec![(t, f)]));
}

/// Regression (found by `change_sets_match_a_diff_of_two_scans` with 10,000 cases): one
/// `modify_where` renames a team and gives its name to another (on update NoAction: the fans'
/// keys stay and still name a team). The fans' rows did not change, but the team their key names did: the links moved.
#[test]
fn links_by_attribute_move_when_a_source_takes_the_name_unchanged_targets_hold() {
    let mut db = Db::new();
    let teams = db.create_table::<Team>().unwrap();
    let fans = db.create_table::<Fan>().unwrap();
    let names = db.unique(teams, relata::field!(Team, name)).unwrap();
    let options = relata::AssocOptions::new().on_update(relata::OnUpdate::NoAction);
    let club = db
        .has_many_by(names, fans, relata::fk!(Fan, team_name), options)
        .unwrap();
    let a = teams.insert(&mut db, Team { name: 1, n: 0 }).unwrap();
    let b = teams.insert(&mut db, Team { name: 2, n: 0 }).unwrap();
    let fan = |n| Fan {
        team_name: Some(1),
        n,
    };
    let f = fans.insert(&mut db, fan(0)).unwrap();
    let g = fans.insert(&mut db, fan(1)).unwrap();
    // An unrelated team renamed in the same change: its key names no fan, lists nothing.
    teams.insert(&mut db, Team { name: 5, n: 0 }).unwrap();

    let before = db.fork();
    let swapped = teams
        .modify_where(
            &mut db,
            |_| true,
            |t| t.name = [0, 3, 1, 0, 0, 6][t.name as usize],
        )
        .unwrap();
    assert_eq!(swapped, 3);
    let ids: Vec<_> = club.get(&db, b).unwrap().map(|r| r.id()).collect();
    assert_eq!(ids, [f, g]);
    let changes = db.changes_since(&before);
    assert!(changes.table(fans).unwrap().is_empty());
    let moved = changes.links(club).unwrap();
    assert_eq!(moved.added, [(b, f), (b, g)]);
    assert_eq!(moved.removed, [(a, f), (a, g)]);
    assert_eq!(changes.links(club.inverse()).unwrap(), moved);

    // A source deleted and another inserted with its name, under fans left alone: only a
    // change set applied wholesale does that (here one made where the fans held no key).
    let before = db.fork();
    let mut away = db.fork();
    for (id, n) in [(f, 0), (g, 1)] {
        let unlinked = Fan { team_name: None, n };
        fans.update(&mut away, id, unlinked).unwrap();
    }
    let unlinked = away.fork();
    teams.delete(&mut away, b).unwrap();
    let c = teams.insert(&mut away, Team { name: 1, n: 9 }).unwrap();
    away.changes_since(&unlinked).apply_to(&mut db).unwrap();
    let ids: Vec<_> = club.get(&db, c).unwrap().map(|r| r.id()).collect();
    assert_eq!(ids, [f, g]);
    let changes = db.changes_since(&before);
    assert!(changes.table(fans).unwrap().is_empty());
    let moved = changes.links(club).unwrap();
    assert_eq!(moved.added, [(c, f), (c, g)]);
    assert_eq!(moved.removed, [(b, f), (b, g)]);
}

#[test]
fn apply_to_counts_the_rows_that_changed() {
    let mut db = Db::new();
    let teams = db.create_table::<Team>().unwrap();
    let a = teams.insert(&mut db, Team { name: 1, n: 0 }).unwrap();
    teams.insert(&mut db, Team { name: 2, n: 0 }).unwrap();
    let before = db.fork();
    teams.update(&mut db, a, Team { name: 1, n: 1 }).unwrap();
    let changes = db.changes_since(&before);
    assert_eq!(changes.table(teams).unwrap().len(), 1);
    // The row it changed, not the one beside it in the same storage leaf.
    assert_eq!(changes.apply_to(&mut before.fork()), Ok(1));
}

#[test]
fn a_failed_apply_leaves_the_indexes_as_they_were() {
    let mut db = Db::new();
    let teams = db.create_table::<Team>().unwrap();
    let names = db.unique(teams, relata::field!(Team, name)).unwrap();
    let t1 = teams.insert(&mut db, Team { name: 0, n: 0 }).unwrap(); // slot 0
    let target = db.fork(); // t1, named 0
    teams.update(&mut db, t1, Team { name: 1, n: 0 }).unwrap();
    teams.insert(&mut db, Team { name: 0, n: 2 }).unwrap(); // t2, slot 1
    teams.delete(&mut db, t1).unwrap();
    let before = db.fork();
    teams.insert(&mut db, Team { name: 4, n: 1 }).unwrap(); // t3, slot 0 again
    let changes = db.changes_since(&before);
    let mut target = target.fork();
    // t3's slot holds t1 in the target: a mismatch, and nothing may change.
    let result = changes.apply_to(&mut target);
    assert!(matches!(result, Err(Error::Mismatch { .. })), "{result:?}");
    assert_eq!(teams.len(&target), Ok(1));
    // Today: find(0) is None and check_integrity fails ("index name differs from its rows").
    let found = names.find(&target, &0).unwrap().map(|r| r.id());
    assert_eq!(found, Some(t1));
    target.check_integrity().unwrap();
}
