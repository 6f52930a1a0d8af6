//! Many threads on one `SharedDb`: 4 writers moving players between guilds and replacing
//! players inside transactions (some of which fail on purpose), 4 readers checking every index
//! and the conserved player count on snapshots and under read locks. Bounded in count.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;

use relata::{Db, HasMany, Id, SharedDb, Table, fk};

#[derive(Clone, Debug)]
struct Guild;

#[derive(Clone, Debug)]
struct Player {
    guild: Id<Guild>,
    level: u32,
}

const GUILDS: usize = 8;
const PLAYERS: usize = 200;
const TRANSACTIONS_PER_WRITER: usize = 300;

/// A small seeded generator (xorshift64*), so failures replay.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n as u64) as usize
    }
}

#[derive(Clone, Copy)]
struct Schema {
    guilds: Table<Guild>,
    players: Table<Player>,
    members: HasMany<Guild, Player>,
}

fn setup() -> (Schema, Vec<Id<Guild>>, Db) {
    let mut db = Db::new();
    let guilds = db.create_table().unwrap();
    let players = db.create_table().unwrap();
    let members = db.has_many(guilds, players, fk!(Player, guild)).unwrap();
    let ids: Vec<_> = (0..GUILDS)
        .map(|_| guilds.insert(&mut db, Guild).unwrap())
        .collect();
    for i in 0..PLAYERS {
        let guild = ids[i % GUILDS];
        members
            .create(&mut db, guild, Player { guild, level: 0 })
            .unwrap();
    }
    (
        Schema {
            guilds,
            players,
            members,
        },
        ids,
        db,
    )
}

/// What every consistent state satisfies.
fn check(schema: Schema, guild_ids: &[Id<Guild>], db: &Db) {
    db.check_integrity().unwrap();
    assert_eq!(
        schema.players.len(db).unwrap(),
        PLAYERS,
        "the workload conserves players"
    );
    let total: usize = guild_ids
        .iter()
        .map(|&g| schema.members.count(db, g).unwrap())
        .sum();
    assert_eq!(total, PLAYERS, "every player is in exactly one guild");
    assert_eq!(schema.guilds.len(db).unwrap(), GUILDS);
    let max_level = schema
        .players
        .iter(db)
        .unwrap()
        .map(|p| p.level)
        .max()
        .unwrap_or(0);
    assert!(
        max_level < TRANSACTIONS_PER_WRITER as u32,
        "levels are transaction numbers"
    );
}

#[test]
fn writers_and_readers_never_see_a_torn_state() {
    let (schema, guild_ids, db) = setup();
    let shared = SharedDb::new(db);
    let done = AtomicBool::new(false);
    let committed = AtomicUsize::new(0);
    let reads = AtomicUsize::new(0);

    let ghosts = thread::scope(|s| {
        let writers: Vec<_> = (0..4u64)
            .map(|w| {
                let (shared, guild_ids, committed) = (shared.clone(), &guild_ids, &committed);
                s.spawn(move || {
                    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (w + 1));
                    let mut ghosts = Vec::new();
                    for t in 0..TRANSACTIONS_PER_WRITER {
                        let mut created = None;
                        let fail_on_purpose = t % 7 == 0;
                        let result = shared.write(|db| {
                            let all: Vec<Id<Player>> =
                                schema.players.iter(db)?.map(|p| p.id()).collect();
                            // Move a few players.
                            for _ in 0..3 {
                                let player = all[rng.below(all.len())];
                                let guild = guild_ids[rng.below(GUILDS)];
                                schema.members.add(db, guild, player)?;
                            }
                            // Replace one player by a new one (count conserved).
                            let gone = all[rng.below(all.len())];
                            schema.players.delete(db, gone)?;
                            let guild = guild_ids[rng.below(GUILDS)];
                            created = Some(schema.members.create(
                                db,
                                guild,
                                Player {
                                    guild,
                                    level: t as u32,
                                },
                            )?);
                            if fail_on_purpose {
                                // Everything above must vanish with this error.
                                schema.players.delete(db, gone)?;
                            }
                            Ok::<(), relata::Error>(())
                        });
                        assert_eq!(result.is_err(), fail_on_purpose);
                        match result {
                            Ok(()) => _ = committed.fetch_add(1, Ordering::Relaxed),
                            Err(_) => ghosts.extend(created),
                        }
                    }
                    ghosts
                })
            })
            .collect();
        for _ in 0..4 {
            let (shared, guild_ids, done, reads) = (shared.clone(), &guild_ids, &done, &reads);
            s.spawn(move || {
                while !done.load(Ordering::Relaxed) {
                    let snapshot = shared.snapshot();
                    check(schema, guild_ids, &snapshot);
                    shared.read(|db| check(schema, guild_ids, db));
                    // A snapshot keeps showing the same state while writers proceed.
                    let counts: Vec<usize> = guild_ids
                        .iter()
                        .map(|&g| schema.members.count(&snapshot, g).unwrap())
                        .collect();
                    thread::yield_now();
                    let again: Vec<usize> = guild_ids
                        .iter()
                        .map(|&g| schema.members.count(&snapshot, g).unwrap())
                        .collect();
                    assert_eq!(counts, again);
                    reads.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        let ghosts: Vec<Id<Player>> = writers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect();
        done.store(true, Ordering::Relaxed);
        ghosts
    });

    let expected = 4 * (TRANSACTIONS_PER_WRITER - TRANSACTIONS_PER_WRITER.div_ceil(7));
    assert_eq!(committed.load(Ordering::Relaxed), expected);
    assert!(reads.load(Ordering::Relaxed) > 0);
    let final_db = shared.snapshot();
    check(schema, &guild_ids, &final_db);
    // Players created inside failed transactions were never published, and their ids never
    // resolve, although later transactions reused their slots.
    assert_eq!(ghosts.len(), 4 * TRANSACTIONS_PER_WRITER.div_ceil(7));
    for ghost in ghosts {
        assert!(
            !schema.players.contains(&final_db, ghost).unwrap(),
            "{ghost} resurrected"
        );
    }
}
