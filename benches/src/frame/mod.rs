//! The game frame of issue 11, on every store behind one [`FrameStore`] trait.
//!
//! A world of squads, units (`Unit.squad`, a non-null key to a squad) and items
//! (`Item.owner`, a non-null key to a unit, on delete `Cascade`; [`ITEMS_PER_UNIT`] per unit).
//! Every frame, following a [`FramePlan`]: some units change squad, then some die (their items
//! cascade) and as many spawn, each with its items, in the dead unit's place. At the sizes of
//! [`FrameSpec::issue_11`]: 1,000 squads, 100,000 units, 300,000 items; 1,000 moves (1%) and 100
//! deaths and spawns (0.1%) per frame.
//!
//! Units are named by their index in `0..units`; a death and its spawn reuse the index, so every
//! index is always live and any plan is valid in any state: benchmarks cycle through a few
//! pre-drawn plans, and every store receives the same ones.
//!
//! The stores:
//! - [`RelataFrame`]: relata on a plain `&mut Db` (moves by `HasMany::add`, deaths by
//!   `Table::delete`, spawns by `HasMany::create`);
//! - [`RelataForkFrame`]: the same, with `db.fork()` taken at the start of every frame and kept
//!   until the next frame's fork replaces it (so every frame writes under a live snapshot);
//! - [`RelataSharedFrame`]: the frame runs inside `SharedDb::write` while a reader thread holds a
//!   `SharedDb::snapshot()` taken after the previous frame;
//! - [`BevyFrame`]: bevy_ecs with its built-in `ChildOf` / `Children` relationship;
//! - [`BaselineFrame`]: hand-written `Vec`s, free lists and child `Vec`s, no validation;
//! - [`SqliteFrame`]: SQLite in-memory, foreign keys on, one transaction per frame.

mod baseline;
mod bevy;
mod relata_world;
mod sqlite;

pub use baseline::BaselineFrame;
pub use bevy::{BevyFrame, BevyItem, BevySquad, BevyUnit};
pub use relata_world::{Item, RelataForkFrame, RelataFrame, RelataSharedFrame, Squad, Unit};
pub use sqlite::SqliteFrame;

use crate::Rng;

/// Items per unit.
pub const ITEMS_PER_UNIT: usize = 3;

/// The size of the world and of a frame.
#[derive(Clone, Copy, Debug)]
pub struct FrameSpec {
    /// Number of squads.
    pub squads: usize,
    /// Number of units (constant: deaths and spawns balance).
    pub units: usize,
    /// Units that change squad per frame.
    pub moves: usize,
    /// Units that die per frame (and as many that spawn).
    pub deaths: usize,
    /// Seed of the initial world and of the plans.
    pub seed: u64,
}

impl FrameSpec {
    /// The frame of issue 11: 1,000 squads, 100,000 units, 300,000 items; 1% of the units move
    /// and 0.1% die and spawn per frame.
    pub fn issue_11() -> Self {
        FrameSpec::scaled(100_000)
    }

    /// The same proportions with `units` units (one squad per 100 units).
    pub fn scaled(units: usize) -> Self {
        FrameSpec {
            squads: (units / 100).max(1),
            units,
            moves: (units / 100).max(1),
            deaths: (units / 1000).max(1),
            seed: 0x5eed_f4a3e,
        }
    }
}

/// The initial world: the squad of every unit, the hit points of every unit, the weight of every
/// item (item `i` belongs to unit `i / ITEMS_PER_UNIT`).
pub struct InitialWorld {
    /// Squad index of each unit.
    pub unit_squad: Vec<u32>,
    /// Hit points of each unit.
    pub unit_hp: Vec<u32>,
    /// Weight of each item.
    pub item_weight: Vec<u32>,
}

impl InitialWorld {
    /// The world of `spec`, drawn from its seed.
    pub fn new(spec: &FrameSpec) -> Self {
        let mut rng = Rng(spec.seed);
        let unit_squad = (0..spec.units)
            .map(|_| rng.below(spec.squads) as u32)
            .collect();
        let unit_hp = (0..spec.units).map(|_| rng.below(1000) as u32).collect();
        let item_weight = (0..spec.units * ITEMS_PER_UNIT)
            .map(|_| rng.below(1000) as u32)
            .collect();
        InitialWorld {
            unit_squad,
            unit_hp,
            item_weight,
        }
    }
}

/// A unit that dies, and the one that spawns in its place.
#[derive(Clone, Debug)]
pub struct Respawn {
    /// The unit index (the dead unit's, then the new one's).
    pub unit: u32,
    /// The new unit's squad.
    pub squad: u32,
    /// The new unit's hit points.
    pub hp: u32,
    /// The weights of its items.
    pub weights: [u32; ITEMS_PER_UNIT],
}

/// What one frame does: the moves first, then each death followed by its spawn.
#[derive(Clone, Debug)]
pub struct FramePlan {
    /// `(unit, new squad)`.
    pub moves: Vec<(u32, u32)>,
    /// Deaths and spawns.
    pub respawns: Vec<Respawn>,
}

/// `count` frame plans for `spec`, drawn from its seed.
pub fn plans(spec: &FrameSpec, count: usize) -> Vec<FramePlan> {
    let mut rng = Rng(spec.seed ^ 0x0f4a_3e5e_ed00);
    (0..count)
        .map(|_| FramePlan {
            moves: (0..spec.moves)
                .map(|_| (rng.below(spec.units) as u32, rng.below(spec.squads) as u32))
                .collect(),
            respawns: (0..spec.deaths)
                .map(|_| Respawn {
                    unit: rng.below(spec.units) as u32,
                    squad: rng.below(spec.squads) as u32,
                    hp: rng.below(1000) as u32,
                    weights: std::array::from_fn(|_| rng.below(1000) as u32),
                })
                .collect(),
        })
        .collect()
}

/// What every store must agree on after the same frames.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Census {
    /// Live units.
    pub units: usize,
    /// Live items.
    pub items: usize,
    /// Units per squad, by squad index.
    pub squad_sizes: Vec<usize>,
    /// Sum of the hit points of the live units.
    pub hp_sum: u64,
    /// Sum of the weights of the live items.
    pub weight_sum: u64,
}

/// One implementation of the frame.
pub trait FrameStore: Sized {
    /// Its name in reports.
    const NAME: &'static str;
    /// The initial world of `spec`.
    fn build(spec: &FrameSpec, world: &InitialWorld) -> Self;
    /// Work between two frames that the frame's time does not include (the reader thread's
    /// handshake for [`RelataSharedFrame`]).
    fn between_frames(&mut self) {}
    /// Runs one frame.
    fn frame(&mut self, plan: &FramePlan);
    /// The state, for agreement checks.
    fn census(&mut self) -> Census;
}

/// Builds `S`'s world, runs `warmup` frames, then `frames` timed frames (cycling through
/// `plans`), and returns each timed frame's duration. The time of
/// [`between_frames`](FrameStore::between_frames) is not included.
pub fn time_frames<S: FrameStore>(
    spec: &FrameSpec,
    world: &InitialWorld,
    plans: &[FramePlan],
    warmup: usize,
    frames: usize,
) -> Vec<std::time::Duration> {
    let mut store = S::build(spec, world);
    let mut times = Vec::with_capacity(frames);
    for k in 0..warmup + frames {
        store.between_frames();
        let plan = &plans[k % plans.len()];
        let start = std::time::Instant::now();
        store.frame(plan);
        let took = start.elapsed();
        if k >= warmup {
            times.push(took);
        }
    }
    times
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run<S: FrameStore>(spec: &FrameSpec, frames: usize) -> Census {
        let world = InitialWorld::new(spec);
        let plans = plans(spec, frames);
        let mut store = S::build(spec, &world);
        let start = store.census();
        assert_eq!(start.units, spec.units, "{}", S::NAME);
        assert_eq!(start.items, spec.units * ITEMS_PER_UNIT, "{}", S::NAME);
        for plan in &plans {
            store.between_frames();
            store.frame(plan);
        }
        store.census()
    }

    /// Every frame store ends in the same state after the same frames (with units dying twice
    /// in one frame, moving and dying in one frame, and spawning into the squad they left).
    #[test]
    fn frame_stores_agree() {
        let spec = FrameSpec {
            squads: 7,
            units: 300,
            moves: 40,
            deaths: 25,
            seed: 11,
        };
        let relata = run::<RelataFrame>(&spec, 6);
        assert_eq!(relata.units, spec.units);
        assert_eq!(relata.items, spec.units * ITEMS_PER_UNIT);
        assert_eq!(relata.squad_sizes.iter().sum::<usize>(), spec.units);
        assert_eq!(relata, run::<RelataForkFrame>(&spec, 6), "fork");
        assert_eq!(relata, run::<RelataSharedFrame>(&spec, 6), "shared");
        assert_eq!(relata, run::<BevyFrame>(&spec, 6), "bevy");
        assert_eq!(relata, run::<BaselineFrame>(&spec, 6), "baseline");
        assert_eq!(relata, run::<SqliteFrame>(&spec, 6), "sqlite");
        // The frames changed something.
        let initial = run::<BaselineFrame>(&spec, 0);
        assert_ne!(relata, initial);
    }

    /// relata stays consistent through the frames, in all three modes.
    #[test]
    fn relata_frames_keep_integrity() {
        let spec = FrameSpec::scaled(2_000);
        let world = InitialWorld::new(&spec);
        let plans = plans(&spec, 4);
        let mut plain = RelataFrame::build(&spec, &world);
        let mut forked = RelataForkFrame::build(&spec, &world);
        let mut shared = RelataSharedFrame::build(&spec, &world);
        for plan in &plans {
            plain.frame(plan);
            forked.frame(plan);
            shared.between_frames();
            shared.frame(plan);
        }
        plain.db().check_integrity().unwrap();
        forked.db().check_integrity().unwrap();
        shared.snapshot().check_integrity().unwrap();
        assert_eq!(plain.census(), shared.census());
    }
}
