//! The same parent/child workload on four stores, behind one [`Store`] trait, so every
//! benchmark drives them identically:
//!
//! - [`RelataStore`]: relata (`HasMany<Parent, Child>`, nullable key, on delete `Cascade`);
//!   `RelataStore<SerialChild<_>>`, the same with a serial number per child, with or without a
//!   unique index on it;
//! - [`SqliteStore`]: SQLite in-memory through rusqlite, `PRAGMA foreign_keys=ON`, an index on
//!   the foreign-key column, cached prepared statements;
//! - [`Baseline`]: the naive hand-written design, `Vec` rows plus `HashMap<u32, Vec<u32>>`;
//! - [`SlotmapStore`]: the plain-mutable alternative to relata's persistent storage, `slotmap`
//!   rows plus a `SecondaryMap` from parent to its children (no snapshots, no rollback).
//!
//! Rows are named by their index in creation order (`p`, `c`); each store maps indexes to its
//! own ids. Children carry a `payload` that `get_sum` adds up, so reads touch the rows.
//!
//! The whole workloads of issue 11 have their own traits: [`frame`] (the game frame, with
//! bevy_ecs beside the others) and [`suite`] (a test suite forking one fixture per test).

mod baseline;
pub mod frame;
mod relata_store;
mod slotmap_store;
mod sqlite;
pub mod suite;

pub use baseline::Baseline;
pub use relata_store::{Child, ChildRow, Parent, RelataStore, SerialChild};
pub use slotmap_store::SlotmapStore;
pub use sqlite::SqliteStore;

/// One implementation of the workload.
pub trait Store {
    /// Its name in reports.
    const NAME: &'static str;
    /// An empty store.
    fn new() -> Self;
    /// Inserts the next parent.
    fn insert_parent(&mut self);
    /// Inserts the next child, linked to `parent` or to nothing.
    fn insert_child(&mut self, parent: Option<usize>, payload: u64);
    /// Deletes child `c` and inserts a new row in its place (same index, new id).
    fn replace_child(&mut self, c: usize, parent: Option<usize>, payload: u64);
    /// Links child `c` to parent `p`.
    fn add(&mut self, p: usize, c: usize);
    /// Unlinks child `c` from parent `p` (its key becomes null).
    fn remove(&mut self, p: usize, c: usize);
    /// Number of children of `p`.
    fn count(&self, p: usize) -> usize;
    /// Whether `c` is a child of `p`.
    fn has(&self, p: usize, c: usize) -> bool;
    /// Sum of the payloads of `p`'s children (reads every child row).
    fn get_sum(&self, p: usize) -> u64;
    /// Makes `cs` exactly the children of `p`.
    fn set(&mut self, p: usize, cs: &[usize]);
    /// Deletes parent `p` with its children (cascade), then inserts a new parent at index `p`
    /// and new children at the indexes `cs`, linked to it.
    fn delete_parent_and_rebuild(&mut self, p: usize, cs: &[usize]);
}

/// The shape of a workload and the driver's knowledge of it.
pub struct Fixture {
    /// Children of each parent, by index.
    pub children_of: Vec<Vec<usize>>,
    /// For the `set` benchmark: parents with a spare group of unlinked children to swap in.
    pub spares: Vec<(usize, Vec<usize>)>,
}

/// A small seeded generator (xorshift64*): benchmarks are repeatable.
#[derive(Clone)]
pub struct Rng(pub u64);

impl Rng {
    /// A value in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    }
}

/// Builds `parents` parents with `fanout` children each, plus `spare_parents` groups of
/// `fanout` unlinked children, then replaces a tenth of the children (deletes and re-inserts:
/// a "hot" store whose slots have been reused).
pub fn build<S: Store>(
    parents: usize,
    fanout: usize,
    spare_parents: usize,
    seed: u64,
) -> (S, Fixture) {
    let mut store = S::new();
    let mut rng = Rng(seed);
    let mut children_of = vec![Vec::with_capacity(fanout); parents];
    let mut parent_of = Vec::new();
    for _ in 0..parents {
        store.insert_parent();
    }
    for (p, children) in children_of.iter_mut().enumerate() {
        for _ in 0..fanout {
            children.push(parent_of.len());
            parent_of.push(Some(p));
            store.insert_child(Some(p), rng.below(1000) as u64);
        }
    }
    let mut spares = Vec::new();
    for _ in 0..spare_parents {
        let p = rng.below(parents);
        let group: Vec<usize> = (0..fanout).map(|i| parent_of.len() + i).collect();
        for _ in 0..fanout {
            parent_of.push(None);
            store.insert_child(None, rng.below(1000) as u64);
        }
        spares.push((p, group));
    }
    for _ in 0..parent_of.len() / 10 {
        let c = rng.below(parent_of.len());
        store.replace_child(c, parent_of[c], rng.below(1000) as u64);
    }
    (
        store,
        Fixture {
            children_of,
            spares,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every store answers the same workload the same way.
    fn exercise<S: Store>() -> Vec<u64> {
        let (mut s, fixture) = build::<S>(50, 4, 5, 7);
        let mut out = Vec::new();
        let mut rng = Rng(3);
        for _ in 0..200 {
            let p = rng.below(50);
            let c = fixture.children_of[p][rng.below(4)];
            s.remove(p, c);
            out.push(s.count(p) as u64);
            out.push(u64::from(s.has(p, c)));
            s.add(p, c);
            out.push(s.get_sum(p));
        }
        let (p, group) = &fixture.spares[0];
        s.set(*p, group);
        out.push(s.count(*p) as u64);
        out.push(s.get_sum(*p));
        s.delete_parent_and_rebuild(*p, group);
        out.push(s.count(*p) as u64);
        out.push(s.get_sum(*p));
        out
    }

    #[test]
    fn all_stores_agree() {
        let relata = exercise::<RelataStore>();
        assert_eq!(relata, exercise::<SqliteStore>());
        assert_eq!(relata, exercise::<Baseline>());
        assert_eq!(relata, exercise::<SlotmapStore>());
        assert_eq!(relata, exercise::<RelataStore<SerialChild<false>>>());
        assert_eq!(relata, exercise::<RelataStore<SerialChild<true>>>());
    }
}
