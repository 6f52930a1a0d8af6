//! The whole workloads of issue 11, every store side by side in one group each:
//!
//! - `frame`: the game frame (1,000 squads, 100,000 units, 300,000 items; per frame 1,000 moves,
//!   100 deaths with their items cascading, 100 spawns with 3 items each) on relata plain,
//!   relata with a fork held across every frame (`relata_fork`), relata on a `SharedDb` with a
//!   reader thread holding a snapshot (`relata_shared`), bevy_ecs, the hand-written baseline and
//!   SQLite. One iteration is one frame; the reader thread's handshake between frames is not
//!   timed. `frames` (src/bin/frames.rs) gives median and p99 per frame.
//! - `fanout_{add,remove,has,get,count}/{10,100,10000}`: the same 100,000 children under 10,000,
//!   1,000 or 10 parents, so that only the fan-out differs. `add` and `remove` are timed in
//!   batches of 64 distinct children, the inverse operation that restores the state untimed.
//!   `fanout_rebuild/{10,100,10000}`: a parent deleted with its children (cascade) and made
//!   again with as many new children, one by one (throughput per child: building and emptying
//!   a big source must stay linear).
//! - `scan/100k`, `modify_all/100k`: read one field of every row (`iter` also after churn: 1%
//!   of the rows deleted and reinserted into the freed slots; `layout_*`: two row layouts as
//!   plain `Vec`s, to show what the gap to bevy is made of); move every row.
//! - `bulk_insert/100k`: 100,000 rows into an empty table (the drop is not timed).
//! - `test_suite`: per iteration one test: a fresh copy of a 10,000-row fixture, 20 mixed
//!   operations, a drop.
//!
//! `cargo bench -p relata-benches --bench workloads -- frame` runs one group (a regex on the
//! names); `cargo test -p relata-benches --benches` runs each benchmark once, at small sizes
//! (2,000 units, 10,000 children or rows), and checks the stores' results.

use std::hint::black_box;
use std::time::{Duration, Instant};

use bevy_ecs::prelude::{Component, World};
use criterion::{
    BatchSize, BenchmarkGroup, Criterion, criterion_group, criterion_main, measurement::WallTime,
};
use relata::{Db, Table};
use relata_benches::frame::{
    BaselineFrame, BevyFrame, FramePlan, FrameSpec, FrameStore, InitialWorld, RelataForkFrame,
    RelataFrame, RelataSharedFrame, SqliteFrame, plans,
};
use relata_benches::suite::{
    BaselineSuite, RelataSuite, SqliteSuite, SuiteFixture, SuiteOp, SuiteSpec, SuiteStore, tests,
};
use relata_benches::{Baseline, RelataStore, Rng, SlotmapStore, SqliteStore, Store, build};
use rusqlite::Connection;

fn full_run() -> bool {
    std::env::args().any(|a| a == "--bench")
}

// ---------------------------------------------------------------------------------------------
// The frame.

fn frame_store<S: FrameStore>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    spec: &FrameSpec,
    world: &InitialWorld,
    plans: &[FramePlan],
) {
    // Built on first use (not at all if a filter skips it), dropped before the next store.
    let mut store: Option<S> = None;
    let mut i = 0;
    g.bench_function(S::NAME, |b| {
        let store = store.get_or_insert_with(|| S::build(spec, world));
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                store.between_frames();
                let plan = &plans[i % plans.len()];
                i += 1;
                let start = Instant::now();
                store.frame(plan);
                total += start.elapsed();
            }
            total
        })
    });
}

fn frame(c: &mut Criterion) {
    let spec = if full_run() {
        FrameSpec::issue_11()
    } else {
        FrameSpec::scaled(2_000)
    };
    let world = InitialWorld::new(&spec);
    let plans = plans(&spec, 64);
    let mut g = c.benchmark_group("frame");
    frame_store::<RelataFrame>(&mut g, &spec, &world, &plans);
    frame_store::<RelataForkFrame>(&mut g, &spec, &world, &plans);
    frame_store::<RelataSharedFrame>(&mut g, &spec, &world, &plans);
    frame_store::<BevyFrame>(&mut g, &spec, &world, &plans);
    frame_store::<BaselineFrame>(&mut g, &spec, &world, &plans);
    frame_store::<SqliteFrame>(&mut g, &spec, &world, &plans);
    g.finish();
}

// ---------------------------------------------------------------------------------------------
// Fan-out.

const BATCH: usize = 64;
const PICKS: usize = 4096;

/// One store at one fan-out, with the driver's picks.
struct Subject<S> {
    store: S,
    /// Distinct linked `(parent, child)` pairs, in random order.
    linked: Vec<(usize, usize)>,
    /// Random `(parent, child)` pairs (almost never linked).
    any: Vec<(usize, usize)>,
    /// Random parents.
    parents: Vec<usize>,
    /// The children of each parent (what a rebuild deletes and re-creates).
    children_of: Vec<Vec<usize>>,
}

fn subject<S: Store>(parents: usize, fanout: usize) -> Subject<S> {
    let (store, fixture) = build::<S>(parents, fanout, 0, 0xfa17);
    let children = parents * fanout;
    let mut parent_of = vec![0; children];
    for (p, cs) in fixture.children_of.iter().enumerate() {
        for &c in cs {
            parent_of[c] = p;
        }
    }
    let mut rng = Rng(0xfa17 ^ fanout as u64);
    let mut order: Vec<usize> = (0..children).collect();
    for k in (1..children).rev() {
        order.swap(k, rng.below(k + 1));
    }
    let linked = order
        .iter()
        .take(PICKS)
        .map(|&c| (parent_of[c], c))
        .collect();
    let any = (0..PICKS)
        .map(|_| (rng.below(parents), rng.below(children)))
        .collect();
    let parents = (0..PICKS).map(|_| rng.below(parents)).collect();
    Subject {
        store,
        linked,
        any,
        parents,
        children_of: fixture.children_of,
    }
}

#[derive(Clone, Copy)]
enum FanoutOp {
    Add,
    Remove,
    Has,
    Get,
    Count,
    Rebuild,
}

fn fanout_op<S: Store>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    slot: &mut Option<Subject<S>>,
    make: impl Fn() -> Subject<S>,
    op: FanoutOp,
) {
    let mut i = 0;
    g.bench_function(S::NAME, |b| {
        let s = slot.get_or_insert_with(&make);
        match op {
            FanoutOp::Add | FanoutOp::Remove => b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut done = 0;
                while done < iters {
                    let n = (iters - done).min(BATCH as u64) as usize;
                    let batch: Vec<(usize, usize)> =
                        (0..n).map(|k| s.linked[(i + k) % PICKS]).collect();
                    i += n;
                    done += n as u64;
                    let start = Instant::now();
                    for &(p, c) in &batch {
                        s.store.remove(p, c);
                    }
                    let removed = start.elapsed();
                    let start = Instant::now();
                    for &(p, c) in &batch {
                        s.store.add(p, c);
                    }
                    let added = start.elapsed();
                    total += match op {
                        FanoutOp::Add => added,
                        _ => removed,
                    };
                }
                total
            }),
            FanoutOp::Has => b.iter(|| {
                i += 1;
                let (p, c) = if i % 2 == 0 {
                    s.linked[i % PICKS]
                } else {
                    s.any[i % PICKS]
                };
                black_box(s.store.has(p, c))
            }),
            FanoutOp::Get => b.iter(|| {
                i += 1;
                black_box(s.store.get_sum(s.parents[i % PICKS]))
            }),
            FanoutOp::Count => b.iter(|| {
                i += 1;
                black_box(s.store.count(s.parents[i % PICKS]))
            }),
            FanoutOp::Rebuild => b.iter(|| {
                i += 1;
                let p = s.parents[i % PICKS];
                s.store.delete_parent_and_rebuild(p, &s.children_of[p]);
            }),
        }
    });
}

fn fanout(c: &mut Criterion) {
    let total = if full_run() { 100_000 } else { 10_000 };
    let ops = [
        ("add", FanoutOp::Add),
        ("remove", FanoutOp::Remove),
        ("has", FanoutOp::Has),
        ("get", FanoutOp::Get),
        ("count", FanoutOp::Count),
        ("rebuild", FanoutOp::Rebuild),
    ];
    for fanout in [10, 100, 10_000] {
        let parents = total / fanout;
        let mut relata = None;
        let mut sqlite = None;
        let mut baseline = None;
        let mut slotmap = None;
        for (name, op) in ops {
            let mut g = c.benchmark_group(format!("fanout_{name}/{fanout}"));
            if let FanoutOp::Rebuild = op {
                // One iteration deletes and re-creates `fanout` children: report per child.
                g.throughput(criterion::Throughput::Elements(fanout as u64));
            }
            fanout_op::<RelataStore>(&mut g, &mut relata, || subject(parents, fanout), op);
            fanout_op::<SqliteStore>(&mut g, &mut sqlite, || subject(parents, fanout), op);
            fanout_op::<Baseline>(&mut g, &mut baseline, || subject(parents, fanout), op);
            fanout_op::<SlotmapStore>(&mut g, &mut slotmap, || subject(parents, fanout), op);
            g.finish();
        }
        if let Some(relata) = &relata {
            relata
                .store
                .db
                .check_integrity()
                .expect("the benchmark left relata consistent");
            // Every add restored its remove: the fan-out is what it was.
            assert_eq!(relata.store.count(relata.linked[0].0), fanout);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Scan, modify every row, bulk insert.

/// A row of the table-wide benchmarks.
#[derive(Clone, Debug, Component)]
struct Body {
    x: f32,
    y: f32,
    vx: f32,
    vy: f32,
    hp: u32,
}

fn body(i: usize) -> Body {
    Body {
        x: i as f32,
        y: 0.5 * i as f32,
        vx: 1.0,
        vy: -0.25,
        hp: (i % 1000) as u32,
    }
}

fn rows() -> (usize, &'static str) {
    if full_run() {
        (100_000, "100k")
    } else {
        (10_000, "10k")
    }
}

fn relata_bodies(n: usize) -> (Db, Table<Body>) {
    let mut db = Db::new();
    let table = db.create_table::<Body>().unwrap();
    table.insert_many(&mut db, (0..n).map(body)).unwrap();
    (db, table)
}

/// `db` after deleting every 100th row and inserting a row of the same value for each (the
/// new rows take the freed slots, out of creation order).
fn churned(mut db: Db, table: Table<Body>, n: usize) -> (Db, Table<Body>) {
    let doomed: Vec<_> = table
        .scan(&db)
        .unwrap()
        .step_by(100)
        .map(|r| (r.id(), r.cloned()))
        .collect();
    for (id, _) in &doomed {
        table.delete(&mut db, *id).unwrap();
    }
    for (_, row) in doomed {
        table.insert(&mut db, row).unwrap();
    }
    assert_eq!(table.len(&db).unwrap(), n);
    (db, table)
}

fn bevy_bodies(n: usize) -> World {
    let mut world = World::new();
    world.spawn_batch((0..n).map(body));
    world
}

const SQLITE_BODY: &str = "CREATE TABLE body (
     id INTEGER PRIMARY KEY, x REAL NOT NULL, y REAL NOT NULL,
     vx REAL NOT NULL, vy REAL NOT NULL, hp INTEGER NOT NULL)";
const SQLITE_INSERT_BODY: &str = "INSERT INTO body (x, y, vx, vy, hp) VALUES (?1, ?2, ?3, ?4, ?5)";

fn sqlite_empty() -> Connection {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(SQLITE_BODY).unwrap();
    conn
}

fn sqlite_fill(mut conn: Connection, n: usize) -> Connection {
    let tx = conn.transaction().unwrap();
    {
        let mut insert = tx.prepare_cached(SQLITE_INSERT_BODY).unwrap();
        for b in (0..n).map(body) {
            insert
                .execute(rusqlite::params![b.x, b.y, b.vx, b.vy, b.hp])
                .unwrap();
        }
    }
    tx.commit().unwrap();
    conn
}

fn scan(c: &mut Criterion) {
    let (n, label) = rows();
    let expected: u64 = (0..n).map(|i| body(i).hp as u64).sum();
    let mut g = c.benchmark_group(format!("scan/{label}"));
    {
        let (db, table) = relata_bodies(n);
        g.bench_function("relata_scan", |b| {
            b.iter(|| {
                let sum: u64 = table.scan(&db).unwrap().map(|r| u64::from(r.hp)).sum();
                assert_eq!(black_box(sum), expected);
            })
        });
        // The same, as a `for` loop (`Iterator::next` rather than `fold`).
        g.bench_function("relata_scan_for_loop", |b| {
            b.iter(|| {
                let mut sum = 0u64;
                for r in table.scan(&db).unwrap() {
                    sum += u64::from(r.hp);
                }
                assert_eq!(black_box(sum), expected);
            })
        });
        g.bench_function("relata_iter", |b| {
            b.iter(|| {
                let sum: u64 = table.iter(&db).unwrap().map(|r| u64::from(r.hp)).sum();
                assert_eq!(black_box(sum), expected);
            })
        });
        // After churn, as in the frame: 1% of the rows deleted and as many inserted into
        // their slots, so storage order is no longer creation order.
        let (db, table) = churned(db, table, n);
        g.bench_function("relata_iter_churned", |b| {
            b.iter(|| {
                let sum: u64 = table.iter(&db).unwrap().map(|r| u64::from(r.hp)).sum();
                assert_eq!(black_box(sum), expected);
            })
        });
    }
    {
        let mut world = bevy_bodies(n);
        let mut query = world.query::<&Body>();
        g.bench_function("bevy", |b| {
            b.iter(|| {
                let sum: u64 = query.iter(&world).map(|r| u64::from(r.hp)).sum();
                assert_eq!(black_box(sum), expected);
            })
        });
    }
    {
        let vec: Vec<Body> = (0..n).map(body).collect();
        g.bench_function("vec", |b| {
            b.iter(|| {
                let sum: u64 = black_box(&vec).iter().map(|r| u64::from(r.hp)).sum();
                assert_eq!(black_box(sum), expected);
            })
        });
    }
    // Two layouts relata could store rows in, as plain `Vec`s (no relata code): where the gap
    // to bevy comes from. `slot_stride`: each row beside its 8-byte creation number, a 32-byte
    // slot as relata's storage leaves hold (read with no vacancy check at all). `leaf_mask`:
    // rows packed 20 bytes apart in leaves of 32 with an occupancy mask per leaf, the creation
    // numbers elsewhere.
    {
        let slots: Vec<(u64, Body)> = (0..n).map(|i| (i as u64 + 1, body(i))).collect();
        g.bench_function("layout_slot_stride", |b| {
            b.iter(|| {
                let sum: u64 = black_box(&slots).iter().map(|(_, r)| u64::from(r.hp)).sum();
                assert_eq!(black_box(sum), expected);
            })
        });
        let rows: Vec<Body> = (0..n).map(body).collect();
        let masks: Vec<u32> = rows
            .chunks(32)
            .map(|c| u32::MAX >> (32 - c.len()))
            .collect();
        g.bench_function("layout_leaf_mask", |b| {
            b.iter(|| {
                let leaves = black_box(&rows).chunks(32).zip(black_box(&masks));
                let sum: u64 = leaves
                    .map(|(leaf, &mask)| {
                        if mask == u32::MAX >> (32 - leaf.len()) {
                            leaf.iter().map(|r| u64::from(r.hp)).sum::<u64>()
                        } else {
                            let live = leaf.iter().enumerate().filter(|(i, _)| mask >> i & 1 != 0);
                            live.map(|(_, r)| u64::from(r.hp)).sum()
                        }
                    })
                    .sum();
                assert_eq!(black_box(sum), expected);
            })
        });
    }
    {
        let conn = sqlite_fill(sqlite_empty(), n);
        g.bench_function("sqlite", |b| {
            b.iter(|| {
                let mut stmt = conn.prepare_cached("SELECT hp FROM body").unwrap();
                let mut rows = stmt.query([]).unwrap();
                let mut sum = 0u64;
                while let Some(row) = rows.next().unwrap() {
                    sum += row.get::<_, i64>(0).unwrap() as u64;
                }
                assert_eq!(black_box(sum), expected);
            })
        });
    }
    g.finish();
}

fn step(b: &mut Body) {
    b.x += b.vx;
    b.y += b.vy;
}

fn modify_all(c: &mut Criterion) {
    let (n, label) = rows();
    let mut g = c.benchmark_group(format!("modify_all/{label}"));
    {
        let (mut db, table) = relata_bodies(n);
        g.bench_function("relata", |b| {
            b.iter(|| assert_eq!(table.modify_all(&mut db, step).unwrap(), n))
        });
        // A snapshot taken before every pass and held until the next: every pass copies.
        let mut snapshot = None;
        g.bench_function("relata_after_fork", |b| {
            b.iter(|| {
                snapshot = Some(db.fork());
                assert_eq!(table.modify_all(&mut db, step).unwrap(), n)
            })
        });
        drop(snapshot);
        db.check_integrity().unwrap();
    }
    {
        let mut world = bevy_bodies(n);
        let mut query = world.query::<&mut Body>();
        g.bench_function("bevy", |b| {
            b.iter(|| {
                for mut body in query.iter_mut(&mut world) {
                    step(&mut body);
                }
            })
        });
    }
    {
        let mut vec: Vec<Body> = (0..n).map(body).collect();
        g.bench_function("vec", |b| {
            b.iter(|| black_box(&mut vec).iter_mut().for_each(step))
        });
    }
    {
        let conn = sqlite_fill(sqlite_empty(), n);
        g.bench_function("sqlite", |b| {
            b.iter(|| {
                let changed = conn
                    .prepare_cached("UPDATE body SET x = x + vx, y = y + vy")
                    .unwrap()
                    .execute([])
                    .unwrap();
                assert_eq!(changed, n);
            })
        });
    }
    g.finish();
}

fn bulk_insert(c: &mut Criterion) {
    let (n, label) = rows();
    let mut g = c.benchmark_group(format!("bulk_insert/{label}"));
    g.sample_size(10);
    let empty_relata = || {
        let mut db = Db::new();
        let table = db.create_table::<Body>().unwrap();
        (db, table)
    };
    g.bench_function("relata_insert_many", |b| {
        b.iter_batched(
            empty_relata,
            |(mut db, table)| {
                table.insert_many(&mut db, (0..n).map(body)).unwrap();
                db
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("relata_insert_loop", |b| {
        b.iter_batched(
            empty_relata,
            |(mut db, table)| {
                for row in (0..n).map(body) {
                    table.insert(&mut db, row).unwrap();
                }
                db
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("bevy_spawn_batch", |b| {
        b.iter_batched(
            World::new,
            |mut world| {
                world.spawn_batch((0..n).map(body));
                world
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("vec_push", |b| {
        b.iter_batched(
            Vec::new,
            |mut vec| {
                for row in (0..n).map(body) {
                    vec.push(row);
                }
                vec
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("sqlite", |b| {
        b.iter_batched(
            sqlite_empty,
            |conn| sqlite_fill(conn, n),
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

// ---------------------------------------------------------------------------------------------
// A test suite on one fixture.

fn suite_store<S: SuiteStore>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    spec: &SuiteSpec,
    fixture: &SuiteFixture,
    tests: &[Vec<SuiteOp>],
    expected: &[u64],
) {
    let mut store: Option<S> = None;
    let mut i = 0;
    g.bench_function(S::NAME, |b| {
        let store = store.get_or_insert_with(|| S::fixture(spec, fixture));
        b.iter(|| {
            let k = i % tests.len();
            i += 1;
            assert_eq!(black_box(store.test(&tests[k])), expected[k]);
        })
    });
}

fn test_suite(c: &mut Criterion) {
    let spec = SuiteSpec::issue_11();
    let fixture = SuiteFixture::new(&spec);
    let tests = tests(&spec, &fixture, 64);
    let expected: Vec<u64> = {
        let baseline = BaselineSuite::fixture(&spec, &fixture);
        tests.iter().map(|ops| baseline.test(ops)).collect()
    };
    let mut g = c.benchmark_group("test_suite");
    suite_store::<RelataSuite>(&mut g, &spec, &fixture, &tests, &expected);
    suite_store::<SqliteSuite>(&mut g, &spec, &fixture, &tests, &expected);
    suite_store::<BaselineSuite>(&mut g, &spec, &fixture, &tests, &expected);
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = frame, fanout, scan, modify_all, bulk_insert, test_suite
}
criterion_main!(benches);
