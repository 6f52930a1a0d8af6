//! Change sets, save/load and the change feed of issue 13, each beside the cheapest
//! hand-written answer (and SQLite where it has one). The database: 10,000 teams and 1,000,000
//! units, each unit on a team (`HasMany<Team, Unit>`, a non-null `Id<Team>` key).
//!
//! - `diff/after_10_changes/1M`: a fork, 10 changes on it (6 unit updates, a team renamed, a
//!   unit created on a team, a unit deleted, a unit moved to another team), then
//!   `after.changes_since(&before)` with the changes of both tables and of the association
//!   (`table(units)`, `table(teams)`, `links(roster)`). Beside it `dirty_list`: plain `Vec`
//!   tables whose writes logged each touched row's old value, and the same lists made from that
//!   log: the cheapest possible answer, kept by hand during the writes.
//! - `diff/unrelated/{100k,1M}`: the same full diff of two forks that each rewrote every row
//!   (`modify_all`: they share no storage; 1% of the units differ, 0.1% moved team), beside two
//!   snapshots compared by hand: `Vec`s by position and `BTreeMap`s merged by key.
//! - `archive/save/1M`, `archive/load/1M`: `Archive::save` to a `Vec<u8>` through serde_json,
//!   `Archive::load` from it into a freshly declared database; SQLite (`:memory:`, the same rows,
//!   an index on the key column) saved with the backup API to a file in a temporary directory and
//!   restored from it into a fresh `:memory:` database (`sqlite_backup`), and serialized to memory
//!   with `sqlite3_serialize` / `sqlite3_deserialize` (`sqlite_serialize`); `baseline`: serde_json
//!   of plain `Vec`s of the rows and back. The load's drop is not timed.
//! - `feed/write/1M`: one `SharedDb::write` updating one unit with nobody subscribed, with one
//!   subscriber whose change set is drained at once (and, `one_subscriber_reads_diff`, also
//!   read: `table(units)`), beside the same update on a plain `Db` with no `SharedDb`.
//!
//! `cargo bench -p relata-benches --bench changes -- diff/after` runs one group (a regex on the
//! names); `cargo test -p relata-benches --bench changes` runs each benchmark once at 10,000
//! units (100 teams) and checks every answer.

use std::cell::{OnceCell, RefCell};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{
    BatchSize, BenchmarkGroup, Criterion, SamplingMode, Throughput, criterion_group,
    criterion_main, measurement::WallTime,
};
use relata::archive::With;
use relata::{Archive, Db, Feed, HasMany, Id, SharedDb, Table, fk};
use rusqlite::{Connection, MAIN_DB, backup::Progress, params};
use serde::{Deserialize, Serialize};

fn full_run() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// Units per team.
const FANOUT: usize = 100;

/// The database size: 1,000,000 units in a full run, 10,000 in a test run.
fn scale() -> (usize, &'static str) {
    if full_run() {
        (1_000_000, "1M")
    } else {
        (10_000, "10k")
    }
}

// ---------------------------------------------------------------------------------------------
// The rows, for relata and for the hand-written baselines.

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Team {
    name: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Unit {
    team: Id<Team>,
    hp: u32,
    x: i32,
    y: i32,
}

/// A unit of the hand-written stores: its team by index.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct PlainUnit {
    team: u32,
    hp: u32,
    x: i32,
    y: i32,
}

fn team_name(t: usize) -> String {
    format!("team {t}")
}

/// Unit `i`: on team `i / FANOUT`.
fn plain_unit(i: usize) -> PlainUnit {
    PlainUnit {
        team: (i / FANOUT) as u32,
        hp: (i % 1000) as u32,
        x: (i % 4096) as i32,
        y: -((i % 777) as i32),
    }
}

struct Schema {
    teams: Table<Team>,
    units: Table<Unit>,
    roster: HasMany<Team, Unit>,
}

/// The schema, declared the same way for every database (the archive loads into one).
fn declare(db: &mut Db) -> Schema {
    let teams = db.create_table::<Team>().unwrap();
    let units = db.create_table::<Unit>().unwrap();
    let roster = db.has_many(teams, units, fk!(Unit, team)).unwrap();
    Schema {
        teams,
        units,
        roster,
    }
}

fn archive() -> Archive<With<Unit, With<Team>>> {
    Archive::new().table::<Team>().table::<Unit>()
}

struct World {
    db: Db,
    schema: Schema,
    team_ids: Vec<Id<Team>>,
    unit_ids: Vec<Id<Unit>>,
}

fn relata_world(n: usize) -> World {
    let mut db = Db::new();
    let schema = declare(&mut db);
    let team_ids = schema
        .teams
        .insert_many(
            &mut db,
            (0..n / FANOUT).map(|t| Team { name: team_name(t) }),
        )
        .unwrap();
    let unit_ids = schema
        .units
        .insert_many(
            &mut db,
            (0..n).map(plain_unit).map(|u| Unit {
                team: team_ids[u.team as usize],
                hp: u.hp,
                x: u.x,
                y: u.y,
            }),
        )
        .unwrap();
    World {
        db,
        schema,
        team_ids,
        unit_ids,
    }
}

/// What a diff found, as counts: units inserted, deleted, updated; teams inserted, deleted,
/// updated; links added, removed.
type Counts = [usize; 8];

/// The full change set of `after` since `before`, every list computed; returns its counts.
fn relata_diff(s: &Schema, before: &Db, after: &Db) -> Counts {
    let changes = after.changes_since(before);
    let units = changes.table(s.units).unwrap();
    let teams = changes.table(s.teams).unwrap();
    let links = changes.links(s.roster).unwrap();
    let counts = [
        units.inserted.len(),
        units.deleted.len(),
        units.updated.len(),
        teams.inserted.len(),
        teams.deleted.len(),
        teams.updated.len(),
        links.added.len(),
        links.removed.len(),
    ];
    black_box((&units, &teams, &links));
    counts
}

/// A change set of the hand-written stores, the same lists as relata's (by row index).
#[derive(Default, Debug)]
struct PlainChanges<'a> {
    inserted: Vec<(u32, &'a PlainUnit)>,
    deleted: Vec<(u32, &'a PlainUnit)>,
    updated: Vec<(u32, &'a PlainUnit, &'a PlainUnit)>,
    teams_inserted: Vec<(u32, &'a Team)>,
    teams_deleted: Vec<(u32, &'a Team)>,
    teams_updated: Vec<(u32, &'a Team, &'a Team)>,
    added: Vec<(u32, u32)>,
    removed: Vec<(u32, u32)>,
}

impl<'a> PlainChanges<'a> {
    fn counts(&self) -> Counts {
        [
            self.inserted.len(),
            self.deleted.len(),
            self.updated.len(),
            self.teams_inserted.len(),
            self.teams_deleted.len(),
            self.teams_updated.len(),
            self.added.len(),
            self.removed.len(),
        ]
    }

    /// Records one unit's change (`None`: absent on that side).
    fn unit(&mut self, i: u32, old: Option<&'a PlainUnit>, new: Option<&'a PlainUnit>) {
        let was = old.map(|u| u.team);
        let now = new.map(|u| u.team);
        match (old, new) {
            (None, Some(n)) => self.inserted.push((i, n)),
            (Some(o), None) => self.deleted.push((i, o)),
            (Some(o), Some(n)) if o != n => self.updated.push((i, o, n)),
            _ => {}
        }
        if was != now {
            if let Some(t) = was {
                self.removed.push((t, i));
            }
            if let Some(t) = now {
                self.added.push((t, i));
            }
        }
    }

    fn team(&mut self, i: u32, old: Option<&'a Team>, new: Option<&'a Team>) {
        match (old, new) {
            (None, Some(n)) => self.teams_inserted.push((i, n)),
            (Some(o), None) => self.teams_deleted.push((i, o)),
            (Some(o), Some(n)) if o != n => self.teams_updated.push((i, o, n)),
            _ => {}
        }
    }

    fn sort(mut self) -> Self {
        self.inserted.sort_unstable_by_key(|r| r.0);
        self.deleted.sort_unstable_by_key(|r| r.0);
        self.updated.sort_unstable_by_key(|r| r.0);
        self.teams_inserted.sort_unstable_by_key(|r| r.0);
        self.teams_deleted.sort_unstable_by_key(|r| r.0);
        self.teams_updated.sort_unstable_by_key(|r| r.0);
        self.added.sort_unstable();
        self.removed.sort_unstable();
        self
    }
}

// ---------------------------------------------------------------------------------------------
// Diff after 10 changes.

/// Plain `Vec` tables (a deleted row is `None`) whose writes log the old value of every row
/// they touch first: the dirty list a hand-written program would keep to answer "what changed".
struct DirtyList {
    teams: Vec<Option<Team>>,
    units: Vec<Option<PlainUnit>>,
    team_log: Vec<(u32, Option<Team>)>,
    unit_log: Vec<(u32, Option<PlainUnit>)>,
}

impl DirtyList {
    fn new(n: usize) -> Self {
        DirtyList {
            teams: (0..n / FANOUT)
                .map(|t| Some(Team { name: team_name(t) }))
                .collect(),
            units: (0..n).map(|i| Some(plain_unit(i))).collect(),
            team_log: Vec::new(),
            unit_log: Vec::new(),
        }
    }

    fn touch_unit(&mut self, i: usize) -> &mut Option<PlainUnit> {
        if i == self.units.len() {
            self.units.push(None);
        }
        if !self.unit_log.iter().any(|&(j, _)| j as usize == i) {
            self.unit_log.push((i as u32, self.units[i].clone()));
        }
        &mut self.units[i]
    }

    fn touch_team(&mut self, t: usize) -> &mut Option<Team> {
        if !self.team_log.iter().any(|&(j, _)| j as usize == t) {
            self.team_log.push((t as u32, self.teams[t].clone()));
        }
        &mut self.teams[t]
    }

    /// The change set since the log was started.
    fn changes(&self) -> PlainChanges<'_> {
        let mut out = PlainChanges::default();
        for (i, old) in &self.unit_log {
            out.unit(*i, old.as_ref(), self.units[*i as usize].as_ref());
        }
        for (t, old) in &self.team_log {
            out.team(*t, old.as_ref(), self.teams[*t as usize].as_ref());
        }
        out.sort()
    }
}

/// The 10 changes, by row index.
struct TenChanges {
    updated: [usize; 6],
    renamed: usize,
    created_on: usize,
    deleted: usize,
    moved: usize,
    moved_to: usize,
}

impl TenChanges {
    fn new(n: usize) -> Self {
        TenChanges {
            updated: std::array::from_fn(|k| 1 + k * n / 7),
            renamed: 3,
            created_on: 5,
            deleted: n / 2 + 1,
            moved: n / 3 + 5,
            moved_to: 0,
        }
    }

    /// Units inserted, deleted, updated; teams inserted, deleted, updated; links added, removed.
    const EXPECTED: Counts = [1, 1, 7, 0, 0, 1, 2, 2];

    fn relata(&self, w: &World, db: &mut Db) {
        let s = &w.schema;
        for &i in &self.updated {
            s.units.modify(db, w.unit_ids[i], |u| u.hp += 1).unwrap();
        }
        let renamed = Team {
            name: "renamed".into(),
        };
        s.teams
            .update(db, w.team_ids[self.renamed], renamed)
            .unwrap();
        let team = w.team_ids[self.created_on];
        let new = Unit {
            team,
            hp: 1,
            x: 0,
            y: 0,
        };
        s.roster.create(db, team, new).unwrap();
        s.units.delete(db, w.unit_ids[self.deleted]).unwrap();
        let moved = s
            .roster
            .add(db, w.team_ids[self.moved_to], w.unit_ids[self.moved])
            .unwrap();
        assert!(moved);
    }

    fn dirty_list(&self, d: &mut DirtyList) {
        for &i in &self.updated {
            d.touch_unit(i).as_mut().unwrap().hp += 1;
        }
        d.touch_team(self.renamed).as_mut().unwrap().name = "renamed".into();
        let next = d.units.len();
        *d.touch_unit(next) = Some(PlainUnit {
            team: self.created_on as u32,
            hp: 1,
            x: 0,
            y: 0,
        });
        *d.touch_unit(self.deleted) = None;
        d.touch_unit(self.moved).as_mut().unwrap().team = self.moved_to as u32;
    }
}

/// Benchmarks `run` on a state `setup` makes on first use: not at all when a filter skips the
/// benchmark, so that a filtered run builds only the databases it measures. `setup` checks the
/// answers before anything is timed.
fn bench_lazy<S, R>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    setup: impl FnOnce() -> S,
    mut run: impl FnMut(&S) -> R,
) {
    let mut setup = Some(setup);
    let mut state = None;
    g.bench_function(name, |b| {
        let s = state.get_or_insert_with(|| (setup.take().unwrap())());
        b.iter(|| run(black_box(&*s)))
    });
}

fn diff_after_10_changes(c: &mut Criterion) {
    let (n, label) = scale();
    let plan = TenChanges::new(n);
    let mut g = c.benchmark_group(format!("diff/after_10_changes/{label}"));
    bench_lazy(
        &mut g,
        "relata",
        || {
            let w = relata_world(n);
            let before = w.db.fork();
            let mut after = w.db.fork();
            plan.relata(&w, &mut after);
            assert_eq!(
                relata_diff(&w.schema, &before, &after),
                TenChanges::EXPECTED
            );
            (w.schema, before, after)
        },
        |(schema, before, after)| relata_diff(schema, before, after),
    );
    bench_lazy(
        &mut g,
        "dirty_list",
        || {
            let mut d = DirtyList::new(n);
            plan.dirty_list(&mut d);
            assert_eq!(d.changes().counts(), TenChanges::EXPECTED);
            d
        },
        |d| {
            let changes = d.changes();
            black_box(&changes);
            changes.counts()
        },
    );
    g.finish();
}

// ---------------------------------------------------------------------------------------------
// Diff of two unrelated states.

/// How state `b` rewrites unit number `i` (in creation order): 1% get another value, 0.1% move
/// to the next team; state `a` only rewrites every row with the same value.
fn rewrite_b(i: usize, hp: &mut u32, team: &mut usize, teams: usize) {
    if i.is_multiple_of(100) {
        *hp += 1;
    }
    if i.is_multiple_of(1000) {
        *team = (*team + 1) % teams;
    }
}

fn unrelated_expected(n: usize) -> Counts {
    [0, 0, n / 100, 0, 0, 0, n / 1000, n / 1000]
}

/// Two forks of one database that each rewrote every row (`modify_all`): they share no row
/// storage, and `b` differs from `a` as [`rewrite_b`] says.
fn relata_unrelated(n: usize) -> (Schema, Db, Db) {
    let w = relata_world(n);
    let s = w.schema;
    let mut a = w.db.fork();
    s.units.modify_all(&mut a, |_| {}).unwrap();
    s.teams.modify_all(&mut a, |_| {}).unwrap();
    let mut b = w.db.fork();
    let mut i = 0;
    s.units
        .modify_all(&mut b, |u| {
            // A fresh table's storage order is its creation order (the diff checks it).
            let mut team = i / FANOUT;
            rewrite_b(i, &mut u.hp, &mut team, n / FANOUT);
            u.team = w.team_ids[team];
            i += 1;
        })
        .unwrap();
    s.teams.modify_all(&mut b, |_| {}).unwrap();
    drop(w.db);
    assert_eq!(relata_diff(&s, &a, &b), unrelated_expected(n));
    (s, a, b)
}

/// The same two states as plain rows.
fn plain_unrelated(n: usize) -> [(Vec<PlainUnit>, Vec<Team>); 2] {
    let a: Vec<PlainUnit> = (0..n).map(plain_unit).collect();
    let b: Vec<PlainUnit> = (0..n)
        .map(|i| {
            let mut u = plain_unit(i);
            let mut team = u.team as usize;
            rewrite_b(i, &mut u.hp, &mut team, n / FANOUT);
            u.team = team as u32;
            u
        })
        .collect();
    let teams: Vec<Team> = (0..n / FANOUT)
        .map(|t| Team { name: team_name(t) })
        .collect();
    [(a, teams.clone()), (b, teams)]
}

/// Two `Vec` snapshots (a deleted row would be `None`), compared by position.
struct VecSnapshots {
    units: [Vec<Option<PlainUnit>>; 2],
    teams: [Vec<Option<Team>>; 2],
}

impl VecSnapshots {
    fn new(n: usize) -> Self {
        let [(ua, ta), (ub, tb)] = plain_unrelated(n);
        let wrap = |v: Vec<PlainUnit>| v.into_iter().map(Some).collect();
        let wrap_teams = |v: Vec<Team>| v.into_iter().map(Some).collect();
        let s = VecSnapshots {
            units: [wrap(ua), wrap(ub)],
            teams: [wrap_teams(ta), wrap_teams(tb)],
        };
        assert_eq!(s.diff(), unrelated_expected(n));
        s
    }

    fn diff(&self) -> Counts {
        fn each<'a, T>(
            v: &'a [Vec<Option<T>>; 2],
            mut f: impl FnMut(u32, Option<&'a T>, Option<&'a T>),
        ) {
            for i in 0..v[0].len().max(v[1].len()) {
                let side = |k: usize| v[k].get(i).and_then(Option::as_ref);
                f(i as u32, side(0), side(1));
            }
        }
        let mut out = PlainChanges::default();
        each(&self.units, |i, o, n| out.unit(i, o, n));
        each(&self.teams, |i, o, n| out.team(i, o, n));
        let counts = out.counts();
        black_box(&out);
        counts
    }
}

/// Two `BTreeMap` snapshots, merged by key.
struct MapSnapshots {
    units: [BTreeMap<u32, PlainUnit>; 2],
    teams: [BTreeMap<u32, Team>; 2],
}

impl MapSnapshots {
    fn new(n: usize) -> Self {
        let [(ua, ta), (ub, tb)] = plain_unrelated(n);
        fn map<T>(v: Vec<T>) -> BTreeMap<u32, T> {
            v.into_iter()
                .enumerate()
                .map(|(i, r)| (i as u32, r))
                .collect()
        }
        let s = MapSnapshots {
            units: [map(ua), map(ub)],
            teams: [map(ta), map(tb)],
        };
        assert_eq!(s.diff(), unrelated_expected(n));
        s
    }

    fn diff(&self) -> Counts {
        fn merge<'a, T>(
            [a, b]: &'a [BTreeMap<u32, T>; 2],
            mut each: impl FnMut(u32, Option<&'a T>, Option<&'a T>),
        ) {
            let (mut a, mut b) = (a.iter().peekable(), b.iter().peekable());
            loop {
                match (a.peek(), b.peek()) {
                    (Some(&(&i, x)), Some(&(&j, y))) if i == j => {
                        each(i, Some(x), Some(y));
                        a.next();
                        b.next();
                    }
                    (Some(&(&i, x)), Some(&(&j, _))) if i < j => {
                        each(i, Some(x), None);
                        a.next();
                    }
                    (Some(&(&i, x)), None) => {
                        each(i, Some(x), None);
                        a.next();
                    }
                    (_, Some(&(&j, y))) => {
                        each(j, None, Some(y));
                        b.next();
                    }
                    (None, None) => break,
                }
            }
        }
        let mut out = PlainChanges::default();
        merge(&self.units, |i, o, n| out.unit(i, o, n));
        merge(&self.teams, |i, o, n| out.team(i, o, n));
        let counts = out.counts();
        black_box(&out);
        counts
    }
}

fn diff_unrelated(c: &mut Criterion) {
    let sizes: &[(usize, &str)] = if full_run() {
        &[(100_000, "100k"), (1_000_000, "1M")]
    } else {
        &[(10_000, "10k")]
    };
    for &(n, label) in sizes {
        let mut g = c.benchmark_group(format!("diff/unrelated/{label}"));
        if n >= 1_000_000 {
            g.sample_size(10).sampling_mode(SamplingMode::Flat);
        }
        bench_lazy(
            &mut g,
            "relata",
            || relata_unrelated(n),
            |(s, a, b)| relata_diff(s, a, b),
        );
        bench_lazy(&mut g, "vec", || VecSnapshots::new(n), VecSnapshots::diff);
        bench_lazy(
            &mut g,
            "btreemap",
            || MapSnapshots::new(n),
            MapSnapshots::diff,
        );
        g.finish();
    }
}

// ---------------------------------------------------------------------------------------------
// Save and load.

const SQLITE_SCHEMA: &str = "
    CREATE TABLE team (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
    CREATE TABLE unit (
        id INTEGER PRIMARY KEY,
        team_id INTEGER NOT NULL REFERENCES team(id),
        hp INTEGER NOT NULL, x INTEGER NOT NULL, y INTEGER NOT NULL);
    CREATE INDEX unit_team ON unit(team_id);";

fn sqlite_world(n: usize) -> Connection {
    let mut conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(SQLITE_SCHEMA).unwrap();
    let tx = conn.transaction().unwrap();
    {
        let mut team = tx
            .prepare("INSERT INTO team (id, name) VALUES (?1, ?2)")
            .unwrap();
        for t in 0..n / FANOUT {
            team.execute(params![t as i64 + 1, team_name(t)]).unwrap();
        }
        let mut unit = tx
            .prepare("INSERT INTO unit (team_id, hp, x, y) VALUES (?1, ?2, ?3, ?4)")
            .unwrap();
        for u in (0..n).map(plain_unit) {
            unit.execute(params![i64::from(u.team) + 1, u.hp, u.x, u.y])
                .unwrap();
        }
    }
    tx.commit().unwrap();
    conn
}

fn sqlite_count(conn: &Connection) -> usize {
    conn.query_row("SELECT COUNT(*) FROM unit", [], |r| r.get::<_, i64>(0))
        .unwrap() as usize
}

/// A fresh directory under the system's temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("relata-bench-changes-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const NO_PROGRESS: Option<fn(Progress)> = None;

/// Every store's database and saved form, each made on first use (outside the timed closures)
/// and checked once.
struct Saved {
    n: usize,
    archive: Archive<With<Unit, With<Team>>>,
    backup: PathBuf,
    _tmp: TempDir,
    world: OnceCell<World>,
    relata_json: OnceCell<Vec<u8>>,
    sqlite: OnceCell<RefCell<Connection>>,
    sqlite_file: OnceCell<()>,
    sqlite_image: OnceCell<Vec<u8>>,
    plain: OnceCell<(Vec<Team>, Vec<PlainUnit>)>,
    plain_json: OnceCell<Vec<u8>>,
}

impl Saved {
    fn new(n: usize) -> Self {
        let tmp = TempDir::new();
        Saved {
            n,
            archive: archive(),
            backup: tmp.0.join("units.sqlite"),
            _tmp: tmp,
            world: OnceCell::new(),
            relata_json: OnceCell::new(),
            sqlite: OnceCell::new(),
            sqlite_file: OnceCell::new(),
            sqlite_image: OnceCell::new(),
            plain: OnceCell::new(),
            plain_json: OnceCell::new(),
        }
    }

    fn world(&self) -> &World {
        self.world.get_or_init(|| relata_world(self.n))
    }

    fn relata_json(&self) -> &[u8] {
        self.relata_json.get_or_init(|| {
            let mut out = Vec::new();
            self.archive
                .save(&self.world().db, &mut serde_json::Serializer::new(&mut out))
                .unwrap();
            eprintln!("relata JSON: {:.1} MB", out.len() as f64 / 1e6);
            // It loads back into a freshly declared database.
            let mut db = Db::new();
            let schema = declare(&mut db);
            self.archive
                .load(&mut db, &mut serde_json::Deserializer::from_slice(&out))
                .unwrap();
            assert_eq!(schema.units.len(&db).unwrap(), self.n);
            assert_eq!(
                schema.roster.count(&db, self.world().team_ids[1]).unwrap(),
                FANOUT
            );
            db.check_integrity().unwrap();
            out
        })
    }

    fn sqlite(&self) -> &RefCell<Connection> {
        self.sqlite
            .get_or_init(|| RefCell::new(sqlite_world(self.n)))
    }

    fn sqlite_file(&self) -> &std::path::Path {
        self.sqlite_file.get_or_init(|| {
            let sqlite = self.sqlite().borrow();
            sqlite.backup(MAIN_DB, &self.backup, NO_PROGRESS).unwrap();
            let size = std::fs::metadata(&self.backup).unwrap().len();
            eprintln!("SQLite file: {:.1} MB", size as f64 / 1e6);
            let mut conn = Connection::open_in_memory().unwrap();
            conn.restore(MAIN_DB, &self.backup, NO_PROGRESS).unwrap();
            assert_eq!(sqlite_count(&conn), self.n);
        });
        &self.backup
    }

    fn sqlite_image(&self) -> &[u8] {
        self.sqlite_image.get_or_init(|| {
            let image = self
                .sqlite()
                .borrow_mut()
                .serialize(MAIN_DB)
                .unwrap()
                .to_vec();
            let mut conn = Connection::open_in_memory().unwrap();
            conn.deserialize_read_exact(MAIN_DB, &image[..], image.len(), false)
                .unwrap();
            assert_eq!(sqlite_count(&conn), self.n);
            image
        })
    }

    fn plain(&self) -> &(Vec<Team>, Vec<PlainUnit>) {
        self.plain.get_or_init(|| {
            let teams = (0..self.n / FANOUT)
                .map(|t| Team { name: team_name(t) })
                .collect();
            (teams, (0..self.n).map(plain_unit).collect())
        })
    }

    fn plain_json(&self) -> &[u8] {
        self.plain_json.get_or_init(|| {
            let out = serde_json::to_vec(self.plain()).unwrap();
            eprintln!("baseline JSON: {:.1} MB", out.len() as f64 / 1e6);
            let back: (Vec<Team>, Vec<PlainUnit>) = serde_json::from_slice(&out).unwrap();
            assert_eq!(&back, self.plain());
            out
        })
    }
}

fn archive_save_load(c: &mut Criterion) {
    let (n, label) = scale();
    let saved = Saved::new(n);
    let configure = |g: &mut BenchmarkGroup<'_, WallTime>| {
        if full_run() {
            g.sample_size(10).sampling_mode(SamplingMode::Flat);
        }
        g.throughput(Throughput::Elements(n as u64));
    };

    let mut g = c.benchmark_group(format!("archive/save/{label}"));
    configure(&mut g);
    let mut out = Vec::new();
    g.bench_function("relata", |b| {
        let (db, expected) = (&saved.world().db, saved.relata_json());
        out.reserve(expected.len());
        b.iter(|| {
            out.clear();
            saved
                .archive
                .save(db, &mut serde_json::Serializer::new(&mut out))
                .unwrap();
            black_box(out.len())
        });
        assert_eq!(out.len(), expected.len());
    });
    g.bench_function("sqlite_backup", |b| {
        let (sqlite, path) = (saved.sqlite().borrow(), saved.sqlite_file());
        b.iter(|| sqlite.backup(MAIN_DB, path, NO_PROGRESS).unwrap())
    });
    g.bench_function("sqlite_serialize", |b| {
        saved.sqlite_image();
        let mut sqlite = saved.sqlite().borrow_mut();
        b.iter(|| black_box(sqlite.serialize(MAIN_DB).unwrap().len()))
    });
    g.bench_function("baseline", |b| {
        let (plain, expected) = (saved.plain(), saved.plain_json());
        out.clear();
        out.reserve(expected.len());
        b.iter(|| {
            out.clear();
            serde_json::to_writer(&mut out, plain).unwrap();
            black_box(out.len())
        });
        assert_eq!(out.len(), expected.len());
    });
    g.finish();
    drop(out);

    let mut g = c.benchmark_group(format!("archive/load/{label}"));
    configure(&mut g);
    g.bench_function("relata", |b| {
        let json = saved.relata_json();
        b.iter_batched(
            || {
                let mut db = Db::new();
                let schema = declare(&mut db);
                (db, schema)
            },
            |(mut db, schema)| {
                saved
                    .archive
                    .load(&mut db, &mut serde_json::Deserializer::from_slice(json))
                    .unwrap();
                (db, schema)
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("sqlite_backup", |b| {
        let path = saved.sqlite_file();
        b.iter_batched(
            || Connection::open_in_memory().unwrap(),
            |mut conn| {
                conn.restore(MAIN_DB, path, NO_PROGRESS).unwrap();
                conn
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("sqlite_serialize", |b| {
        let image = saved.sqlite_image();
        b.iter_batched(
            || Connection::open_in_memory().unwrap(),
            |mut conn| {
                conn.deserialize_read_exact(MAIN_DB, image, image.len(), false)
                    .unwrap();
                conn
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("baseline", |b| {
        let json = saved.plain_json();
        b.iter_batched(
            || (),
            |()| serde_json::from_slice::<(Vec<Team>, Vec<PlainUnit>)>(json).unwrap(),
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

// ---------------------------------------------------------------------------------------------
// The feed.

fn feed_write(c: &mut Criterion) {
    let (n, label) = scale();
    let mut g = c.benchmark_group(format!("feed/write/{label}"));
    let mut rng = relata_benches::Rng(0x13);
    let picks: Vec<usize> = (0..4096).map(|_| rng.below(n)).collect();
    let mut i = 0;
    let mut next = move || {
        i += 1;
        picks[i % picks.len()]
    };
    // One world for every function, built on first use (Criterion calls each function's
    // closure once per sample: what it sets up must persist).
    let cell: OnceCell<(SharedDb, Table<Unit>, Vec<Id<Unit>>)> = OnceCell::new();
    let world = || {
        cell.get_or_init(|| {
            let w = relata_world(n);
            (SharedDb::new(w.db), w.schema.units, w.unit_ids)
        })
    };
    let mut plain = None;
    g.bench_function("plain_db", |b| {
        let (shared, units, ids) = world();
        let plain = plain.get_or_insert_with(|| shared.snapshot());
        b.iter(|| units.modify(plain, ids[next()], |u| u.hp += 1).unwrap())
    });
    drop(plain);
    g.bench_function("no_subscriber", |b| {
        let (shared, units, ids) = world();
        b.iter(|| {
            shared
                .write(|db| units.modify(db, ids[next()], |u| u.hp += 1))
                .unwrap()
        })
    });
    let feed = OnceCell::new();
    g.bench_function("one_subscriber", |b| {
        let (shared, units, ids) = world();
        let feed = feed.get_or_init(|| shared.subscribe(16));
        b.iter(|| {
            shared
                .write(|db| units.modify(db, ids[next()], |u| u.hp += 1))
                .unwrap();
            match feed.try_recv() {
                Some(Feed::Changes(changes)) => black_box(changes),
                other => panic!("expected the change set, got {other:?}"),
            }
        })
    });
    g.bench_function("one_subscriber_reads_diff", |b| {
        let (shared, units, ids) = world();
        let feed = feed.get_or_init(|| shared.subscribe(16));
        b.iter(|| {
            shared
                .write(|db| units.modify(db, ids[next()], |u| u.hp += 1))
                .unwrap();
            match feed.try_recv() {
                Some(Feed::Changes(changes)) => {
                    let updated = changes.table(*units).unwrap().updated.len();
                    assert_eq!(black_box(updated), 1);
                }
                other => panic!("expected the change set, got {other:?}"),
            }
        })
    });
    g.finish();
    drop(feed);
    if let Some((shared, ..)) = cell.get() {
        shared.read(|db| db.check_integrity()).unwrap();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = diff_after_10_changes, diff_unrelated, archive_save_load, feed_write
}
criterion_main!(benches);
