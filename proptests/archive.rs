//! Save and load (#13): a loaded database against the database that was saved, and corrupted
//! archives against the promise that a load either loads a consistent database or nothing.
//!
//! Histories and schema: see `changes_reference`.
//!
//! - Round trip: a random history, `to_json`, `load_json` into a fresh database of the same
//!   schema: the same rows under the same ids, the same links and unique lookups. Then one more
//!   random history runs on both, and after every operation the results are the same (errors
//!   included; ids print as `Model#seq`) and so are the states by creation number; a row made
//!   after the load gets, on either side, an id the other side never handed out and no row of
//!   the archive had, and that does not resolve on the other side. A `Snapshot` operation saves
//!   the loaded side and loads it into yet another database (same rows, same ids).
//! - From another process (the archive's `"process"` edited): the same rows, creation numbers
//!   and links, but no id of the saved database resolves in the loaded one; then the same
//!   step-by-step comparison.
//! - Corrupted input (truncated, bytes flipped, JSON leaves or arrays edited): `load_json`
//!   never panics; it fails and leaves the target database exactly as it was (`to_json`
//!   before and after), or it succeeds and the result passes `check_integrity`, every key
//!   resolves, the indexes agree with the rows, and rows inserted afterwards get ids never
//!   handed out before.

use std::collections::BTreeSet;

use proptest::prelude::*;
use relata::{Archive, Db, Error, Id};
use serde_json::{Value, json};

use crate::changes_reference::*;

use crate::config;

/// The archive of the schema (a macro, so that the code does not depend on how `Archive`'s
/// type names its row types).
macro_rules! archive {
    () => {
        Archive::new()
            .table::<Team>()
            .table::<Player>()
            .table::<Badge>()
            .table::<Fan>()
    };
}

/// The archive made to look written by another process.
fn from_elsewhere(json: &str) -> String {
    let mut value: Value = serde_json::from_str(json).unwrap();
    let process = value["process"].as_u64().unwrap();
    value["process"] = json!(process.wrapping_add(2));
    value.to_string()
}

/// A database of the schema with `ops` run on it.
fn history(options: &Options, ops: &[Op]) -> (Db, Schema, Ids) {
    let mut db = Db::new();
    let s = declare(&mut db, options);
    let mut ids = Ids::default();
    for op in ops {
        execute(&mut db, &s, &mut ids, op);
    }
    (db, s, ids)
}

/// `json` loaded into a fresh database of the schema.
fn load(options: &Options, json: &str) -> (Db, Schema) {
    let mut db = Db::new();
    let s = declare(&mut db, options);
    archive!()
        .load_json(&mut db, json)
        .unwrap_or_else(|e| panic!("loading a saved archive: {e}"));
    db.check_integrity().unwrap();
    (db, s)
}

/// The ids of `ids` as the loaded state names the same rows (by creation number); ids of rows
/// the archive does not hold stay as they are (they name nothing there either).
fn translate<T: Tab>(ids: &[Id<T>], loaded: &std::collections::BTreeMap<Id<T>, T>) -> Vec<Id<T>> {
    ids.iter()
        .map(|id| *loaded.keys().find(|l| l.seq() == id.seq()).unwrap_or(id))
        .collect()
}

/// No id of `saved` (the saved database's, `their` handles) resolves in `db` (`mine`).
fn none_resolve(saved: &State, db: &Db, mine: &Schema) {
    for &id in saved.teams.keys() {
        assert!(!mine.teams.contains(db, id).unwrap(), "{id} resolves");
        assert!(matches!(
            mine.teams.get(db, id),
            Err(Error::NotFound { .. })
        ));
    }
    for &id in saved.players.keys() {
        assert!(!mine.players.contains(db, id).unwrap(), "{id} resolves");
    }
    for &id in saved.badges.keys() {
        assert!(!mine.badges.contains(db, id).unwrap(), "{id} resolves");
    }
    for &id in saved.fans.keys() {
        assert!(!mine.fans.contains(db, id).unwrap(), "{id} resolves");
    }
}

/// The ids `mine` was handed from position `from` on: none was handed out by `theirs` or is
/// in `archived`, none is handed twice, none resolves in `other` (`os`).
fn fresh_ids<T: Tab>(
    mine: &[Id<T>],
    from: usize,
    theirs: &[Id<T>],
    archived: &std::collections::BTreeMap<Id<T>, T>,
    other: &Db,
    os: relata::Table<T>,
) {
    let mut seen: BTreeSet<Id<T>> = mine[..from].iter().copied().collect();
    for &id in &mine[from..] {
        assert!(
            !theirs.contains(&id),
            "{id} was handed out by the other database too"
        );
        assert!(!archived.contains_key(&id), "{id} is a row of the archive");
        assert!(seen.insert(id), "{id} was handed out twice");
        assert!(
            !os.contains(other, id).unwrap(),
            "{id} resolves in the other database"
        );
    }
}

/// Properties (a) and (b): `pre` on a database, save it (made to look from another process
/// when `elsewhere`), load it, then `post` on both.
fn run(options: Options, pre: &[Op], post: &[Op], elsewhere: bool) {
    let (mut db, s, mut ids) = history(&options, pre);
    let saved = State::of(&db, &s);
    let mut json = archive!().to_json(&db).unwrap();
    if elsewhere {
        json = from_elsewhere(&json);
    }
    let (mut other, mut t) = load(&options, &json);
    let loaded = State::of(&other, &t);
    loaded.check_consistent();
    assert_eq!(
        loaded.canon(),
        saved.canon(),
        "the loaded rows, by creation number"
    );
    let mut oids = if elsewhere {
        none_resolve(&saved, &other, &t);
        Ids {
            teams: translate(&ids.teams, &loaded.teams),
            players: translate(&ids.players, &loaded.players),
            badges: translate(&ids.badges, &loaded.badges),
            fans: translate(&ids.fans, &loaded.fans),
        }
    } else {
        assert_eq!(loaded, saved, "the loaded rows, by id");
        ids.clone()
    };
    let from = [
        ids.teams.len(),
        ids.players.len(),
        ids.badges.len(),
        ids.fans.len(),
    ];
    for op in post {
        if let Op::Snapshot = op {
            // Save the loaded side and carry on with a load of it.
            let before = State::of(&other, &t);
            let (again, u) = load(&options, &archive!().to_json(&other).unwrap());
            assert_eq!(
                State::of(&again, &u),
                before,
                "a database loaded again, by id"
            );
            (other, t) = (again, u);
            continue;
        }
        let mine = execute(&mut db, &s, &mut ids, op);
        let theirs = execute(&mut other, &t, &mut oids, op);
        assert_eq!(theirs, mine, "the loaded database's result of {op:?}");
        db.check_integrity().unwrap();
        other
            .check_integrity()
            .unwrap_or_else(|e| panic!("integrity of the loaded database after {op:?}: {e}"));
        let (now, onow) = (State::of(&db, &s), State::of(&other, &t));
        assert_eq!(
            onow.canon(),
            now.canon(),
            "the loaded database after {op:?}"
        );
        fresh_ids(&oids.teams, from[0], &ids.teams, &saved.teams, &db, s.teams);
        fresh_ids(
            &oids.players,
            from[1],
            &ids.players,
            &saved.players,
            &db,
            s.players,
        );
        fresh_ids(
            &oids.badges,
            from[2],
            &ids.badges,
            &saved.badges,
            &db,
            s.badges,
        );
        fresh_ids(&oids.fans, from[3], &ids.fans, &saved.fans, &db, s.fans);
        fresh_ids(
            &ids.teams,
            from[0],
            &oids.teams,
            &saved.teams,
            &other,
            t.teams,
        );
        fresh_ids(
            &ids.players,
            from[1],
            &oids.players,
            &saved.players,
            &other,
            t.players,
        );
        fresh_ids(
            &ids.badges,
            from[2],
            &oids.badges,
            &saved.badges,
            &other,
            t.badges,
        );
        fresh_ids(&ids.fans, from[3], &oids.fans, &saved.fans, &other, t.fans);
        if !elsewhere {
            // Rows of the archive have the same ids on both sides.
            for &id in &ids.players[..from[1]] {
                let here = s.players.contains(&db, id).unwrap();
                assert_eq!(t.players.contains(&other, id).unwrap(), here, "{id}");
            }
        }
    }
}

/// A way to damage an archive.
#[derive(Clone, Debug)]
enum Edit {
    /// Keep the first `at`/1000 of it.
    Truncate(u16),
    /// XOR the bytes at `(position, mask)` (positions modulo the length; ASCII stays ASCII).
    Flip(Vec<(usize, u8)>),
    /// Replace the `leaf`-th leaf of the JSON value (of its tables only, when `rows`) with the
    /// `with`-th variation of it.
    Leaf {
        leaf: usize,
        with: usize,
        rows: bool,
    },
    /// Remove (`dup` false) or duplicate the `at`-th element of the `array`-th array.
    Array { array: usize, at: usize, dup: bool },
    /// Several leaf edits at once.
    Leaves(Vec<(usize, usize)>),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        1 => (0..1000u16).prop_map(Edit::Truncate),
        2 => prop::collection::vec((any::<usize>(), 1..128u8), 1..4).prop_map(Edit::Flip),
        3 => (any::<usize>(), any::<usize>(), prop::bool::weighted(0.8))
            .prop_map(|(leaf, with, rows)| Edit::Leaf { leaf, with, rows }),
        2 => (any::<usize>(), any::<usize>(), any::<bool>())
            .prop_map(|(array, at, dup)| Edit::Array { array, at, dup }),
        2 => prop::collection::vec((any::<usize>(), any::<usize>()), 2..5).prop_map(Edit::Leaves),
    ]
}

/// JSON pointers to every leaf (`arrays` false) or every array (`arrays` true) of `v`.
fn paths(v: &Value, at: String, arrays: bool, out: &mut Vec<String>) {
    match v {
        Value::Array(items) => {
            if arrays {
                out.push(at.clone());
            }
            for (i, item) in items.iter().enumerate() {
                paths(item, format!("{at}/{i}"), arrays, out);
            }
        }
        Value::Object(fields) => {
            for (k, item) in fields {
                paths(item, format!("{at}/{k}"), arrays, out);
            }
        }
        _ if !arrays => out.push(at),
        _ => {}
    }
}

/// The `with`-th variation of a leaf.
fn vary(v: &Value, with: usize) -> Value {
    match v {
        Value::Number(n) => {
            let n = n.as_u64().unwrap_or(0);
            let options = [
                json!(0),
                json!(1),
                json!(n.wrapping_sub(1)),
                json!(n.wrapping_add(1)),
                json!(n.wrapping_add(2)),
                json!(n.wrapping_mul(2)),
                json!(255),
                json!(256),
                json!(u32::MAX),
                json!(u64::from(u32::MAX) + 1),
                json!(u64::MAX),
                json!(u64::MAX >> 2),
                json!(-1),
                json!(1.5),
                json!(null),
                json!("1"),
            ];
            options[with % options.len()].clone()
        }
        Value::String(s) => {
            let mut flipped = s.clone();
            if let Some(c) = flipped.pop() {
                flipped.push(if c == 'a' { 'b' } else { 'a' });
            }
            let options = [
                json!(""),
                json!(flipped),
                json!(format!("{s} ")),
                json!(0),
                json!(null),
            ];
            options[with % options.len()].clone()
        }
        Value::Null => [json!(0), json!(1), json!([1, 0, 1, 0])][with % 3].clone(),
        other => json!(!other.as_bool().unwrap_or(false)),
    }
}

fn edit_leaf(value: &mut Value, leaf: usize, with: usize, rows: bool) {
    let mut leaves = Vec::new();
    paths(value, String::new(), false, &mut leaves);
    if rows {
        leaves.retain(|p| p.starts_with("/tables"));
    }
    let path = &leaves[leaf % leaves.len()];
    let target = value.pointer_mut(path).unwrap();
    *target = vary(target, with);
}

fn damage(json: &str, e: &Edit) -> String {
    let mut value: Value = serde_json::from_str(json).unwrap();
    match e {
        Edit::Truncate(at) => return json[..json.len() * usize::from(*at) / 1000].to_string(),
        Edit::Flip(flips) => {
            let mut bytes = json.as_bytes().to_vec();
            for &(at, mask) in flips {
                let n = bytes.len();
                bytes[at % n] ^= mask;
            }
            return String::from_utf8(bytes).expect("ASCII");
        }
        Edit::Leaf { leaf, with, rows } => edit_leaf(&mut value, *leaf, *with, *rows),
        Edit::Leaves(edits) => {
            for &(leaf, with) in edits {
                edit_leaf(&mut value, leaf, with, true);
            }
        }
        Edit::Array { array, at, dup } => {
            let mut arrays = Vec::new();
            paths(&value, String::new(), true, &mut arrays);
            let path = &arrays[array % arrays.len()];
            let Some(Value::Array(items)) = value.pointer_mut(path) else {
                unreachable!()
            };
            if !items.is_empty() {
                let at = at % items.len();
                if *dup {
                    items.insert(at, items[at].clone());
                } else {
                    items.remove(at);
                }
            }
        }
    }
    value.to_string()
}

/// Property (c): `source` saved (as if by another process when `elsewhere`), damaged by each
/// edit in turn, and loaded into a fork of a database with `target` run on it.
fn run_corrupted(options: Options, source: &[Op], target: &[Op], elsewhere: bool, edits: &[Edit]) {
    let (db, _, source_ids) = history(&options, source);
    let mut json = archive!().to_json(&db).unwrap();
    if elsewhere {
        json = from_elsewhere(&json);
    }
    let (prepared, s, target_ids) = history(&options, target);
    let (prepared_json, prepared_state) = (
        archive!().to_json(&prepared).unwrap(),
        State::of(&prepared, &s),
    );
    for e in edits {
        let damaged = damage(&json, e);
        let mut db = prepared.fork();
        match archive!().load_json(&mut db, &damaged) {
            Err(error) => {
                assert!(
                    matches!(error, Error::Archive { .. }),
                    "{e:?}: not an archive error: {error:?}"
                );
                assert_eq!(
                    archive!().to_json(&db).unwrap(),
                    prepared_json,
                    "{e:?} ({error}) changed the database"
                );
                assert_eq!(
                    State::of(&db, &s),
                    prepared_state,
                    "{e:?} ({error}) changed the database"
                );
            }
            Ok(()) => {
                db.check_integrity()
                    .unwrap_or_else(|error| panic!("{e:?} loaded a broken database: {error}"));
                let state = State::of(&db, &s);
                state.check_consistent();
                // Rows inserted now get ids no one was handed before.
                let p = s
                    .players
                    .insert(
                        &mut db,
                        Player {
                            team: None,
                            mentor: None,
                            n: 0,
                        },
                    )
                    .unwrap();
                let f = s
                    .fans
                    .insert(
                        &mut db,
                        Fan {
                            team_name: None,
                            n: 0,
                        },
                    )
                    .unwrap();
                assert!(
                    !state.players.contains_key(&p) && !state.fans.contains_key(&f),
                    "{e:?}"
                );
                for ids in [&source_ids, &target_ids] {
                    assert!(
                        !ids.players.contains(&p) && !ids.fans.contains(&f),
                        "{e:?}: {p} or {f} reused"
                    );
                }
                assert_eq!(s.players.len(&db), Ok(state.players.len() + 1));
                db.check_integrity().unwrap();
            }
        }
    }
}

/// A step of a replicated history: an operation, or a save of the database loaded back into
/// it (made to look from another process when `elsewhere`).
#[derive(Clone, Debug)]
enum Step {
    Op(Op),
    Reload { elsewhere: bool },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        8 => op().prop_map(Step::Op),
        1 => any::<bool>().prop_map(|elsewhere| Step::Reload { elsewhere }),
    ]
}

/// Property (d): a replica with a history of its own that applies the change set of every
/// step, loads included, is the database after every step (rows by id, links, indexes), saves
/// an archive that loads as itself, and its own inserts never take an id the database hands
/// out or resolve there.
fn replicate(options: Options, steps: &[Step]) {
    let (mut db, s, mut ids) = history(&options, &[]);
    let mut replica = db.fork();
    let player = |n| Player {
        team: None,
        mentor: None,
        n,
    };
    // A history of the replica's own, rows it inserts and deletes, more each time (the first
    // ones reuse the slots the last time left): it spans slots the database never filled
    // (after a load, more slots than the loaded lineage created).
    let rounds = std::cell::Cell::new(0u8);
    let churn = |replica: &mut Db| {
        rounds.set(rounds.get().saturating_add(1));
        let own: Vec<_> = (0..rounds.get().saturating_mul(20))
            .map(|n| s.players.insert(replica, player(n)).unwrap())
            .collect();
        for id in own {
            s.players.delete(replica, id).unwrap();
        }
    };
    churn(&mut replica);
    let mut before = db.fork();
    for step in steps {
        match step {
            Step::Op(op) => {
                execute(&mut db, &s, &mut ids, op);
            }
            Step::Reload { elsewhere } => {
                let mut json = archive!().to_json(&db).unwrap();
                if *elsewhere {
                    json = from_elsewhere(&json);
                }
                // Between the save and the load: numbers the archive's counter does not know.
                churn(&mut replica);
                archive!().load_json(&mut db, &json).unwrap();
                let loaded = State::of(&db, &s);
                ids = Ids {
                    teams: translate(&ids.teams, &loaded.teams),
                    players: translate(&ids.players, &loaded.players),
                    badges: translate(&ids.badges, &loaded.badges),
                    fans: translate(&ids.fans, &loaded.fans),
                };
            }
        }
        db.changes_since(&before)
            .apply_to(&mut replica)
            .unwrap_or_else(|e| panic!("the replica refused the change set of {step:?}: {e}"));
        replica
            .check_integrity()
            .unwrap_or_else(|e| panic!("integrity of the replica after {step:?}: {e}"));
        assert_eq!(
            State::of(&replica, &s),
            State::of(&db, &s),
            "the replica after {step:?}"
        );
        // Whatever state the replica reached, its archive loads (`load` panics if refused).
        let (again, u) = load(&options, &archive!().to_json(&replica).unwrap());
        assert_eq!(
            State::of(&again, &u),
            State::of(&replica, &s),
            "the replica saved and loaded after {step:?}"
        );
        before = db.fork();
    }
    // The two go on like forks: a row each inserts now is not the other's.
    let mine = s.players.insert(&mut db, player(0)).unwrap();
    let theirs = s.players.insert(&mut replica, player(0)).unwrap();
    assert_ne!(mine, theirs, "both handed out one id");
    assert!(!s.players.contains(&replica, mine).unwrap());
    assert!(!s.players.contains(&db, theirs).unwrap());
}

proptest! {
    #![proptest_config(config(192))]

    #[test]
    fn a_replica_that_applies_every_change_set_follows_across_loads(
        options in options(),
        steps in prop::collection::vec(step(), 1..24),
    ) {
        replicate(options, &steps);
    }

    #[test]
    fn a_loaded_database_behaves_like_the_saved_one(
        options in options(),
        pre in prop::collection::vec(op(), 0..32),
        post in prop::collection::vec(op(), 1..32),
    ) {
        run(options, &pre, &post, false);
    }

    #[test]
    fn an_archive_from_another_process_keeps_rows_and_links_not_ids(
        options in options(),
        pre in prop::collection::vec(op(), 0..32),
        post in prop::collection::vec(op(), 1..32),
    ) {
        run(options, &pre, &post, true);
    }

    #[test]
    fn a_corrupted_archive_loads_consistently_or_not_at_all(
        options in options(),
        source in prop::collection::vec(op(), 0..24),
        target in prop::collection::vec(op(), 0..8),
        elsewhere in any::<bool>(),
        edits in prop::collection::vec(edit(), 1..12),
    ) {
        run_corrupted(options, &source, &target, elsewhere, &edits);
    }
}
