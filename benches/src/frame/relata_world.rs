//! The frame on relata: plain, with a fork per frame, and on a `SharedDb` with a reader thread.

use std::hint::black_box;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;

use relata::{AssocOptions, Db, HasMany, Id, OnDelete, SharedDb, Table, fk};

use super::{Census, FramePlan, FrameSpec, FrameStore, ITEMS_PER_UNIT, InitialWorld};

/// A squad.
#[derive(Clone, Debug)]
pub struct Squad {
    /// Its index.
    pub number: u32,
}

/// A unit, in exactly one squad.
#[derive(Clone, Debug)]
pub struct Unit {
    /// Its squad (non-null key).
    pub squad: Id<Squad>,
    /// Hit points.
    pub hp: u32,
}

/// An item, owned by one unit; deleted with it.
#[derive(Clone, Debug)]
pub struct Item {
    /// Its owner (non-null key, on delete cascade).
    pub owner: Id<Unit>,
    /// Weight.
    pub weight: u32,
}

/// The schema's handles and the driver's ids.
struct World {
    units: Table<Unit>,
    items: Table<Item>,
    squad_units: HasMany<Squad, Unit>,
    unit_items: HasMany<Unit, Item>,
    squad_ids: Vec<Id<Squad>>,
    unit_ids: Vec<Id<Unit>>,
}

impl World {
    fn build(spec: &FrameSpec, init: &InitialWorld) -> (Db, World) {
        let mut db = Db::new();
        let squads = db.create_table::<Squad>().unwrap();
        let units = db.create_table::<Unit>().unwrap();
        let items = db.create_table::<Item>().unwrap();
        let squad_units = db.has_many(squads, units, fk!(Unit, squad)).unwrap();
        let cascade = AssocOptions::new().on_delete(OnDelete::Cascade);
        let unit_items = db
            .has_many_with(units, items, fk!(Item, owner), cascade)
            .unwrap();
        let squad_ids = squads
            .insert_many(
                &mut db,
                (0..spec.squads as u32).map(|number| Squad { number }),
            )
            .unwrap();
        let unit_ids = units
            .insert_many(
                &mut db,
                init.unit_squad
                    .iter()
                    .zip(&init.unit_hp)
                    .map(|(&s, &hp)| Unit {
                        squad: squad_ids[s as usize],
                        hp,
                    }),
            )
            .unwrap();
        items
            .insert_many(
                &mut db,
                init.item_weight
                    .iter()
                    .enumerate()
                    .map(|(i, &weight)| Item {
                        owner: unit_ids[i / ITEMS_PER_UNIT],
                        weight,
                    }),
            )
            .unwrap();
        let world = World {
            units,
            items,
            squad_units,
            unit_items,
            squad_ids,
            unit_ids,
        };
        (db, world)
    }

    /// The frame, on `db`.
    fn frame(&mut self, db: &mut Db, plan: &FramePlan) -> relata::Result<()> {
        for &(u, s) in &plan.moves {
            self.squad_units
                .add(db, self.squad_ids[s as usize], self.unit_ids[u as usize])?;
        }
        for r in &plan.respawns {
            self.units.delete(db, self.unit_ids[r.unit as usize])?;
            let squad = self.squad_ids[r.squad as usize];
            let unit = self
                .squad_units
                .create(db, squad, Unit { squad, hp: r.hp })?;
            for &weight in &r.weights {
                self.unit_items.create(
                    db,
                    unit,
                    Item {
                        owner: unit,
                        weight,
                    },
                )?;
            }
            self.unit_ids[r.unit as usize] = unit;
        }
        Ok(())
    }

    fn census(&self, db: &Db) -> Census {
        Census {
            units: self.units.len(db).unwrap(),
            items: self.items.len(db).unwrap(),
            squad_sizes: self
                .squad_ids
                .iter()
                .map(|&s| self.squad_units.count(db, s).unwrap())
                .collect(),
            hp_sum: self.units.scan(db).unwrap().map(|u| u64::from(u.hp)).sum(),
            weight_sum: self
                .items
                .scan(db)
                .unwrap()
                .map(|i| u64::from(i.weight))
                .sum(),
        }
    }
}

/// relata on a plain `&mut Db`.
pub struct RelataFrame {
    db: Db,
    world: World,
}

impl RelataFrame {
    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }
}

impl FrameStore for RelataFrame {
    const NAME: &'static str = "relata";
    fn build(spec: &FrameSpec, init: &InitialWorld) -> Self {
        let (db, world) = World::build(spec, init);
        RelataFrame { db, world }
    }
    fn frame(&mut self, plan: &FramePlan) {
        self.world.frame(&mut self.db, plan).unwrap();
    }
    fn census(&mut self) -> Census {
        self.world.census(&self.db)
    }
}

/// relata with `db.fork()` at the start of every frame, kept until the next frame's fork
/// replaces it (and drops the previous one): every frame writes under a live snapshot.
pub struct RelataForkFrame {
    db: Db,
    world: World,
    snapshot: Option<Db>,
}

impl RelataForkFrame {
    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }
}

impl FrameStore for RelataForkFrame {
    const NAME: &'static str = "relata_fork";
    fn build(spec: &FrameSpec, init: &InitialWorld) -> Self {
        let (db, world) = World::build(spec, init);
        RelataForkFrame {
            db,
            world,
            snapshot: None,
        }
    }
    fn frame(&mut self, plan: &FramePlan) {
        self.snapshot = Some(self.db.fork());
        self.world.frame(&mut self.db, plan).unwrap();
    }
    fn census(&mut self) -> Census {
        self.world.census(&self.db)
    }
}

/// The reader thread: on each request it takes a snapshot (dropping its previous one), reads
/// one number from it, and answers; it holds the snapshot until the next request.
struct Reader {
    request: Option<Sender<()>>,
    answer: Receiver<usize>,
    thread: Option<JoinHandle<()>>,
}

impl Reader {
    fn start(shared: SharedDb, units: Table<Unit>) -> Reader {
        let (request, requests) = channel::<()>();
        let (answers, answer) = channel();
        let thread = std::thread::spawn(move || {
            let mut held: Option<Db> = None;
            while requests.recv().is_ok() {
                // Replace, then drop the old snapshot before answering: freeing what only the
                // old snapshot still shared is the reader's work, not the next frame's.
                let old = held.replace(shared.snapshot());
                drop(old);
                let len = units.len(held.as_ref().unwrap()).unwrap();
                if answers.send(black_box(len)).is_err() {
                    break;
                }
            }
        });
        Reader {
            request: Some(request),
            answer,
            thread: Some(thread),
        }
    }

    /// Has the reader take a fresh snapshot, and waits until it holds it.
    fn refresh(&self) {
        self.request.as_ref().unwrap().send(()).unwrap();
        self.answer.recv().unwrap();
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        drop(self.request.take());
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
    }
}

/// relata on a [`SharedDb`]: each frame runs inside `shared.write(..)`, while a reader thread
/// holds a snapshot it took after the previous frame (the handshake that has it take that
/// snapshot happens in [`between_frames`](FrameStore::between_frames), outside the frame's time).
pub struct RelataSharedFrame {
    shared: SharedDb,
    world: World,
    reader: Reader,
}

impl RelataSharedFrame {
    /// A snapshot of the current state.
    pub fn snapshot(&self) -> Db {
        self.shared.snapshot()
    }
}

impl FrameStore for RelataSharedFrame {
    const NAME: &'static str = "relata_shared";
    fn build(spec: &FrameSpec, init: &InitialWorld) -> Self {
        let (db, world) = World::build(spec, init);
        let shared = SharedDb::new(db);
        let reader = Reader::start(shared.clone(), world.units);
        RelataSharedFrame {
            shared,
            world,
            reader,
        }
    }
    fn between_frames(&mut self) {
        self.reader.refresh();
    }
    fn frame(&mut self, plan: &FramePlan) {
        let world = &mut self.world;
        self.shared.write(|db| world.frame(db, plan)).unwrap();
    }
    fn census(&mut self) -> Census {
        self.shared.read(|db| self.world.census(db))
    }
}
