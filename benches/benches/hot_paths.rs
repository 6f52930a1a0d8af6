//! relata's hot paths beside SQLite in-memory, the naive baseline and the slotmap design, in
//! one group per operation and size; and `unique_index`, relata's add/remove with and without
//! a unique index on an unrelated child field. `cargo bench -p relata-benches --bench hot_paths` runs
//! them (small and large); `cargo test --benches` runs each once, small size only.

use std::hint::black_box;
use std::time::Duration;

use criterion::{
    BenchmarkGroup, Criterion, criterion_group, criterion_main, measurement::WallTime,
};
use relata_benches::{
    Baseline, Fixture, RelataStore, Rng, SerialChild, SlotmapStore, SqliteStore, Store, build,
};

const FANOUT: usize = 10;
const SEED: u64 = 0x5eed;

fn full_run() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// Pre-drawn random picks, cycled through by the measured loop.
struct Picks {
    linked: Vec<(usize, usize)>,
    any: Vec<(usize, usize)>,
    parents: Vec<usize>,
}

fn picks(fixture: &Fixture, children: usize) -> Picks {
    let mut rng = Rng(SEED ^ 0xface);
    let n = fixture.children_of.len();
    let mut linked = Vec::new();
    let mut any = Vec::new();
    let mut parents = Vec::new();
    for _ in 0..4096 {
        let p = rng.below(n);
        linked.push((p, fixture.children_of[p][rng.below(FANOUT)]));
        any.push((rng.below(n), rng.below(children)));
        parents.push(rng.below(n));
    }
    Picks {
        linked,
        any,
        parents,
    }
}

/// One store at one size, with its own copy of the driver's knowledge.
struct Subject<S> {
    store: S,
    fixture: Fixture,
    picks: Picks,
}

fn subject<S: Store>(parents: usize) -> Subject<S> {
    let spares = (parents / 10).min(1000);
    let (store, fixture) = build::<S>(parents, FANOUT, spares, SEED);
    let picks = picks(&fixture, parents * FANOUT);
    Subject {
        store,
        fixture,
        picks,
    }
}

fn add_remove<S: Store>(g: &mut BenchmarkGroup<'_, WallTime>, s: &mut Subject<S>) {
    let mut i = 0;
    g.bench_function(S::NAME, |b| {
        b.iter(|| {
            let (p, c) = s.picks.linked[i % 4096];
            i += 1;
            s.store.remove(p, c);
            s.store.add(p, c);
        })
    });
}

fn count<S: Store>(g: &mut BenchmarkGroup<'_, WallTime>, s: &mut Subject<S>) {
    let mut i = 0;
    g.bench_function(S::NAME, |b| {
        b.iter(|| {
            i += 1;
            black_box(s.store.count(s.picks.parents[i % 4096]))
        })
    });
}

fn has<S: Store>(g: &mut BenchmarkGroup<'_, WallTime>, s: &mut Subject<S>) {
    let mut i = 0;
    g.bench_function(S::NAME, |b| {
        b.iter(|| {
            // Half linked pairs (true), half random pairs (almost always false).
            i += 1;
            let (p, c) = if i % 2 == 0 {
                s.picks.linked[i % 4096]
            } else {
                s.picks.any[i % 4096]
            };
            black_box(s.store.has(p, c))
        })
    });
}

fn get<S: Store>(g: &mut BenchmarkGroup<'_, WallTime>, s: &mut Subject<S>) {
    let mut i = 0;
    g.bench_function(S::NAME, |b| {
        b.iter(|| {
            i += 1;
            black_box(s.store.get_sum(s.picks.parents[i % 4096]))
        })
    });
}

fn set<S: Store>(g: &mut BenchmarkGroup<'_, WallTime>, s: &mut Subject<S>) {
    let mut i = 0;
    g.bench_function(S::NAME, |b| {
        b.iter(|| {
            // Swap a parent's 10 children for its spare group of 10: the state stays stable.
            let n = s.fixture.spares.len();
            let (p, spare) = &mut s.fixture.spares[i % n];
            i += 1;
            s.store.set(*p, spare);
            std::mem::swap(&mut s.fixture.children_of[*p], spare);
        })
    });
}

fn delete_parent<S: Store>(g: &mut BenchmarkGroup<'_, WallTime>, s: &mut Subject<S>) {
    let mut i = 0;
    g.bench_function(S::NAME, |b| {
        b.iter(|| {
            // Delete a parent and its 10 children (cascade), then rebuild them.
            let p = s.picks.parents[i % 4096];
            i += 1;
            let children = std::mem::take(&mut s.fixture.children_of[p]);
            s.store.delete_parent_and_rebuild(p, &children);
            s.fixture.children_of[p] = children;
        })
    });
}

type Op<S> = fn(&mut BenchmarkGroup<'_, WallTime>, &mut Subject<S>);

fn hot_paths(c: &mut Criterion) {
    let sizes: &[(&str, usize)] = if full_run() {
        &[("1k", 1_000), ("100k", 100_000)]
    } else {
        &[("1k", 1_000)]
    };
    for &(label, parents) in sizes {
        let mut relata = subject::<RelataStore>(parents);
        let mut sqlite = subject::<SqliteStore>(parents);
        let mut baseline = subject::<Baseline>(parents);
        let mut slotmap = subject::<SlotmapStore>(parents);
        macro_rules! group {
            ($name:literal, $op:ident) => {{
                let mut g = c.benchmark_group(format!("{}/{label}", $name));
                ($op as Op<RelataStore>)(&mut g, &mut relata);
                ($op as Op<SqliteStore>)(&mut g, &mut sqlite);
                ($op as Op<Baseline>)(&mut g, &mut baseline);
                ($op as Op<SlotmapStore>)(&mut g, &mut slotmap);
                g.finish();
            }};
        }
        group!("add_remove", add_remove);
        group!("count", count);
        group!("has", has);
        group!("get", get);
        group!("set", set);
        group!("delete_parent", delete_parent);
        relata
            .store
            .db
            .check_integrity()
            .expect("the benchmark left relata consistent");
    }
}

/// `add_remove` on children that carry an attribute the foreign key does not touch, without
/// (`relata`) and with (`relata_unique`) a unique index on it, side by side: the index should
/// cost the relink nothing, since the relink writes only the key's field.
fn unique_index(c: &mut Criterion) {
    let sizes: &[(&str, usize)] = if full_run() {
        &[("1k", 1_000), ("100k", 100_000)]
    } else {
        &[("1k", 1_000)]
    };
    for &(label, parents) in sizes {
        let mut plain = subject::<RelataStore<SerialChild<false>>>(parents);
        let mut indexed = subject::<RelataStore<SerialChild<true>>>(parents);
        let mut g = c.benchmark_group(format!("unique_index/{label}"));
        add_remove(&mut g, &mut plain);
        add_remove(&mut g, &mut indexed);
        g.finish();
        for db in [&plain.store.db, &indexed.store.db] {
            db.check_integrity()
                .expect("the benchmark left relata consistent");
        }
    }
}

/// `count` must not depend on the number of children: 10 versus 1,000 per parent.
fn count_by_fanout(c: &mut Criterion) {
    let mut g = c.benchmark_group("count_fanout");
    for (parents, fanout) in [(1_000, 10), (100, 1_000)] {
        let (relata, _) = build::<RelataStore>(parents, fanout, 0, SEED);
        let (sqlite, _) = build::<SqliteStore>(parents, fanout, 0, SEED);
        let mut i = 0;
        g.bench_function(format!("relata/{fanout}"), |b| {
            b.iter(|| {
                i += 1;
                black_box(relata.count(i % parents))
            })
        });
        g.bench_function(format!("sqlite/{fanout}"), |b| {
            b.iter(|| {
                i += 1;
                black_box(sqlite.count(i % parents))
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = hot_paths, unique_index, count_by_fanout
}
criterion_main!(benches);
