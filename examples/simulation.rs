//! A small simulation: players change guilds every tick on the simulation thread while an
//! analysis thread computes statistics from O(1) snapshots, never blocking the simulation and
//! never seeing half a tick, and a subscriber follows every tick's changes. At the end the
//! world is saved to a file and loaded back.
//!
//! Run with `cargo run --release --example simulation`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use relata::{Db, Feed, HasMany, Id, Schema, SharedDb, Table};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Guild {
    name: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Player {
    guild: Id<Guild>,
    level: u32,
}

const GUILDS: usize = 6;
const PLAYERS: usize = 5_000;
const TICKS: u32 = 200;

/// The schema. `#[schema(archive)]` also generates `World::archive()`, to save and load it.
#[derive(Schema, Clone, Copy)]
#[schema(archive)]
struct World {
    guilds: Table<Guild>,
    players: Table<Player>,
    #[has_many(key = guild)]
    members: HasMany<Guild, Player>,
}

/// A tiny seeded generator, so every run is the same.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (mut db, world) = World::new()?;
    let guild_ids = (0..GUILDS)
        .map(|i| {
            world.guilds.insert(
                &mut db,
                Guild {
                    name: format!("guild-{i}"),
                },
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut player_ids = Vec::with_capacity(PLAYERS);
    for i in 0..PLAYERS {
        let guild = guild_ids[i % GUILDS];
        player_ids.push(
            world
                .members
                .create(&mut db, guild, Player { guild, level: 1 })?,
        );
    }

    let shared = SharedDb::new(db);
    let running = AtomicBool::new(true);
    // Subscribed before the first tick: it receives the change set of every tick, in order.
    let feed = shared.subscribe(16);
    thread::scope(|s| {
        // The subscriber: what each tick changed, from its change set. It never slows the
        // simulation down; if it falls more than 16 ticks behind it is told so and resyncs.
        let follower = s.spawn(move || {
            let mut seen = 0;
            while seen < TICKS {
                match feed.recv() {
                    Feed::Changes(changes) => {
                        seen += 1;
                        if seen % 50 == 1 {
                            let levelled = changes.table(world.players).map_or(0, |t| t.updated.len());
                            let moved = changes.links(world.members).map_or(0, |l| l.added.len());
                            println!(
                                "[feed] commit {}: {levelled} players levelled up, {moved} changed guild",
                                changes.commit().unwrap_or(0)
                            );
                        }
                    }
                    Feed::Missed { commit, .. } => {
                        println!("[feed] fell behind; resynchronised from the snapshot at commit {commit}");
                        seen = u32::try_from(commit).unwrap_or(TICKS);
                    }
                    _ => break,
                }
            }
        });

        // The analysis thread: statistics from snapshots, while the simulation runs.
        let analysis = s.spawn(|| {
            let mut reports = 0;
            while running.load(Ordering::Relaxed) {
                let snapshot = shared.snapshot();
                let sizes: Vec<(String, usize)> = world
                    .guilds
                    .iter(&snapshot)
                    .expect("the guilds table is declared")
                    .map(|g| {
                        (
                            g.name.clone(),
                            world.members.count(&snapshot, g.id()).unwrap_or(0),
                        )
                    })
                    .collect();
                let total: usize = sizes.iter().map(|(_, n)| n).sum();
                assert_eq!(total, PLAYERS, "a snapshot never shows half a tick");
                let (largest, size) = sizes
                    .iter()
                    .max_by_key(|(_, n)| *n)
                    .cloned()
                    .unwrap_or_default();
                let levels: u64 = world
                    .players
                    .scan(&snapshot)
                    .expect("the players table is declared")
                    .map(|p| u64::from(p.level))
                    .sum();
                if reports % 10 == 0 {
                    println!(
                        "[analysis] largest guild {largest} with {size} players; mean level {:.2}",
                        levels as f64 / PLAYERS as f64
                    );
                }
                reports += 1;
                thread::sleep(Duration::from_millis(2));
            }
            reports
        });

        // The simulation thread: every tick, 100 players switch guilds and level up, atomically.
        let mut rng = Rng(42);
        for tick in 0..TICKS {
            shared
                .write(|db| {
                    for _ in 0..100 {
                        let player = player_ids[rng.below(PLAYERS)];
                        let guild = guild_ids[rng.below(GUILDS)];
                        world.members.add(db, guild, player)?;
                        world.players.modify(db, player, |p| p.level += 1)?;
                    }
                    Ok::<(), relata::Error>(())
                })
                .expect("a tick succeeds");
            if tick % 50 == 0 {
                println!("[simulation] tick {tick}");
            }
        }
        running.store(false, Ordering::Relaxed);
        let reports = analysis.join().expect("analysis thread");
        follower.join().expect("subscriber thread");
        println!(
            "[simulation] {TICKS} ticks done; the analysis thread read {reports} consistent snapshots"
        );
    });
    shared.read(|db| db.check_integrity())?;
    println!("integrity check passed");

    // Save the world crash-safely, and load it into a database declared by the same code: the
    // same rows under the same ids, every index rebuilt and checked.
    let path = std::env::temp_dir().join(format!("relata-simulation-{}.json", std::process::id()));
    let saved = shared.snapshot();
    World::archive().save_file(&saved, &path)?;
    let mut loaded = Db::new();
    let again = World::declare(&mut loaded)?;
    World::archive().load_file(&mut loaded, &path)?;
    std::fs::remove_file(&path)?;
    for &player in &player_ids {
        assert_eq!(
            *again.players.get(&loaded, player)?,
            *world.players.get(&saved, player)?
        );
    }
    for &guild in &guild_ids {
        assert_eq!(
            again.members.count(&loaded, guild)?,
            world.members.count(&saved, guild)?
        );
    }
    loaded.check_integrity()?;
    println!(
        "saved and loaded {} players and {} guilds: the same rows under the same ids",
        again.players.len(&loaded)?,
        again.guilds.len(&loaded)?
    );
    Ok(())
}
