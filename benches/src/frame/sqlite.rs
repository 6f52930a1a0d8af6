//! The frame on SQLite in-memory: `PRAGMA foreign_keys=ON`, `ON DELETE CASCADE` from item to
//! unit, indexes on both foreign-key columns, cached prepared statements, one transaction per
//! frame.

use rusqlite::{Connection, params};

use super::{Census, FramePlan, FrameSpec, FrameStore, ITEMS_PER_UNIT, InitialWorld};

const SCHEMA: &str = "PRAGMA foreign_keys = ON;
     CREATE TABLE squad (id INTEGER PRIMARY KEY);
     CREATE TABLE unit (
         id INTEGER PRIMARY KEY,
         squad_id INTEGER NOT NULL REFERENCES squad(id),
         hp INTEGER NOT NULL);
     CREATE TABLE item (
         id INTEGER PRIMARY KEY,
         owner_id INTEGER NOT NULL REFERENCES unit(id) ON DELETE CASCADE,
         weight INTEGER NOT NULL);
     CREATE INDEX unit_squad ON unit(squad_id);
     CREATE INDEX item_owner ON item(owner_id);";

const MOVE: &str = "UPDATE unit SET squad_id = ?1 WHERE id = ?2";
const DELETE_UNIT: &str = "DELETE FROM unit WHERE id = ?1";
const INSERT_UNIT: &str = "INSERT INTO unit (squad_id, hp) VALUES (?1, ?2)";
const INSERT_ITEM: &str = "INSERT INTO item (owner_id, weight) VALUES (?1, ?2)";

/// SQLite in-memory.
pub struct SqliteFrame {
    conn: Connection,
    squads: Vec<i64>,
    units: Vec<i64>,
}

impl FrameStore for SqliteFrame {
    const NAME: &'static str = "sqlite";
    fn build(spec: &FrameSpec, init: &InitialWorld) -> Self {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(SCHEMA).unwrap();
        conn.set_prepared_statement_cache_capacity(16);
        let mut squads = Vec::with_capacity(spec.squads);
        let mut units = Vec::with_capacity(spec.units);
        let tx = conn.transaction().unwrap();
        {
            let mut squad = tx.prepare("INSERT INTO squad DEFAULT VALUES").unwrap();
            for _ in 0..spec.squads {
                squad.execute([]).unwrap();
                squads.push(tx.last_insert_rowid());
            }
            let mut unit = tx.prepare_cached(INSERT_UNIT).unwrap();
            let mut item = tx.prepare_cached(INSERT_ITEM).unwrap();
            for (u, (&s, &hp)) in init.unit_squad.iter().zip(&init.unit_hp).enumerate() {
                unit.execute([squads[s as usize], i64::from(hp)]).unwrap();
                let id = tx.last_insert_rowid();
                units.push(id);
                for &weight in &init.item_weight[u * ITEMS_PER_UNIT..][..ITEMS_PER_UNIT] {
                    item.execute([id, i64::from(weight)]).unwrap();
                }
            }
        }
        tx.commit().unwrap();
        SqliteFrame {
            conn,
            squads,
            units,
        }
    }
    fn frame(&mut self, plan: &FramePlan) {
        let tx = self.conn.transaction().unwrap();
        {
            let mut relink = tx.prepare_cached(MOVE).unwrap();
            for &(u, s) in &plan.moves {
                relink
                    .execute([self.squads[s as usize], self.units[u as usize]])
                    .unwrap();
            }
            let mut delete = tx.prepare_cached(DELETE_UNIT).unwrap();
            let mut unit = tx.prepare_cached(INSERT_UNIT).unwrap();
            let mut item = tx.prepare_cached(INSERT_ITEM).unwrap();
            for r in &plan.respawns {
                delete.execute([self.units[r.unit as usize]]).unwrap();
                unit.execute(params![self.squads[r.squad as usize], r.hp])
                    .unwrap();
                let id = tx.last_insert_rowid();
                for &weight in &r.weights {
                    item.execute(params![id, weight]).unwrap();
                }
                self.units[r.unit as usize] = id;
            }
        }
        tx.commit().unwrap();
    }
    fn census(&mut self) -> Census {
        let one = |sql: &str| -> i64 { self.conn.query_row(sql, [], |r| r.get(0)).unwrap() };
        let units = one("SELECT COUNT(*) FROM unit") as usize;
        let items = one("SELECT COUNT(*) FROM item") as usize;
        let hp_sum = one("SELECT COALESCE(SUM(hp), 0) FROM unit") as u64;
        let weight_sum = one("SELECT COALESCE(SUM(weight), 0) FROM item") as u64;
        let mut count = self
            .conn
            .prepare("SELECT COUNT(*) FROM unit WHERE squad_id = ?1")
            .unwrap();
        let squad_sizes = self
            .squads
            .iter()
            .map(|&s| count.query_row([s], |r| r.get::<_, i64>(0)).unwrap() as usize)
            .collect();
        Census {
            units,
            items,
            squad_sizes,
            hp_sum,
            weight_sum,
        }
    }
}
