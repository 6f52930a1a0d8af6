//! Forks are O(1) whatever the size, and what persistence costs the hot paths.
//!
//! - `fork/<rows>`: forking (and dropping the fork of) a database of 1,000 vs 1,000,000 rows.
//! - `persistence/<size>`: add+remove pairs on relata as usual, on relata with a fresh snapshot
//!   taken before every pair (every write then copies its storage paths: the worst case of a
//!   simulation that snapshots every step), and on the plain-mutable slotmap design.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use relata_benches::{RelataStore, Rng, SlotmapStore, Store, build};

fn full_run() -> bool {
    std::env::args().any(|a| a == "--bench")
}

fn fork(c: &mut Criterion) {
    let mut g = c.benchmark_group("fork");
    let sizes: &[usize] = if full_run() { &[100, 100_000] } else { &[100] };
    for &parents in sizes {
        // parents × 10 children = 1,000 or 1,000,000 rows (plus the parents).
        let (store, _) = build::<RelataStore>(parents, 10, 0, 1);
        g.bench_function(format!("{}_rows", parents * 10), |b| {
            b.iter(|| black_box(store.db.fork()))
        });
    }
    g.finish();
}

fn persistence(c: &mut Criterion) {
    let sizes: &[(&str, usize)] = if full_run() {
        &[("1k", 1_000), ("100k", 100_000)]
    } else {
        &[("1k", 1_000)]
    };
    for &(label, parents) in sizes {
        let mut g = c.benchmark_group(format!("persistence/{label}"));
        let (mut relata, fixture) = build::<RelataStore>(parents, 10, 0, 1);
        let (mut slotmap, _) = build::<SlotmapStore>(parents, 10, 0, 1);
        let mut rng = Rng(9);
        let picks: Vec<(usize, usize)> = (0..4096)
            .map(|_| {
                let p = rng.below(parents);
                (p, fixture.children_of[p][rng.below(10)])
            })
            .collect();
        let mut i = 0;
        g.bench_function("relata", |b| {
            b.iter(|| {
                let (p, c) = picks[i % 4096];
                i += 1;
                relata.remove(p, c);
                relata.add(p, c);
            })
        });
        g.bench_function("relata_snapshot_each_op", |b| {
            b.iter(|| {
                let (p, c) = picks[i % 4096];
                i += 1;
                let snapshot = relata.db.fork();
                relata.remove(p, c);
                relata.add(p, c);
                snapshot
            })
        });
        g.bench_function("slotmap", |b| {
            b.iter(|| {
                let (p, c) = picks[i % 4096];
                i += 1;
                slotmap.remove(p, c);
                slotmap.add(p, c);
            })
        });
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = fork, persistence
}
criterion_main!(benches);
