//! SQLite in-memory behind the [`Store`] trait, through rusqlite: `PRAGMA foreign_keys=ON`, an
//! index on the foreign-key column, cached prepared statements.

use rusqlite::{Connection, params};

use crate::Store;

/// SQLite in-memory, used the fast and honest way.
pub struct SqliteStore {
    conn: Connection,
    pids: Vec<i64>,
    cids: Vec<i64>,
}

impl SqliteStore {
    fn insert_child_row(&self, parent: Option<i64>, payload: u64) -> i64 {
        let mut stmt = self
            .conn
            .prepare_cached("INSERT INTO child (parent_id, payload) VALUES (?1, ?2)")
            .unwrap();
        stmt.execute(params![parent, payload as i64]).unwrap();
        self.conn.last_insert_rowid()
    }
}

impl Store for SqliteStore {
    const NAME: &'static str = "sqlite";

    fn new() -> Self {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "PRAGMA foreign_keys = ON;
             CREATE TABLE parent (id INTEGER PRIMARY KEY);
             CREATE TABLE child (
                 id INTEGER PRIMARY KEY,
                 parent_id INTEGER REFERENCES parent(id) ON DELETE CASCADE,
                 payload INTEGER NOT NULL);
             CREATE INDEX child_parent ON child(parent_id);",
        )
        .unwrap();
        conn.set_prepared_statement_cache_capacity(32);
        SqliteStore {
            conn,
            pids: Vec::new(),
            cids: Vec::new(),
        }
    }
    fn insert_parent(&mut self) {
        self.conn
            .prepare_cached("INSERT INTO parent DEFAULT VALUES")
            .unwrap()
            .execute([])
            .unwrap();
        self.pids.push(self.conn.last_insert_rowid());
    }
    fn insert_child(&mut self, parent: Option<usize>, payload: u64) {
        let id = self.insert_child_row(parent.map(|p| self.pids[p]), payload);
        self.cids.push(id);
    }
    fn replace_child(&mut self, c: usize, parent: Option<usize>, payload: u64) {
        self.conn
            .prepare_cached("DELETE FROM child WHERE id = ?1")
            .unwrap()
            .execute([self.cids[c]])
            .unwrap();
        self.cids[c] = self.insert_child_row(parent.map(|p| self.pids[p]), payload);
    }
    fn add(&mut self, p: usize, c: usize) {
        let mut stmt = self
            .conn
            .prepare_cached("UPDATE child SET parent_id = ?1 WHERE id = ?2")
            .unwrap();
        stmt.execute([self.pids[p], self.cids[c]]).unwrap();
    }
    fn remove(&mut self, p: usize, c: usize) {
        let mut stmt = self
            .conn
            .prepare_cached("UPDATE child SET parent_id = NULL WHERE id = ?1 AND parent_id = ?2")
            .unwrap();
        stmt.execute([self.cids[c], self.pids[p]]).unwrap();
    }
    fn count(&self, p: usize) -> usize {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT COUNT(*) FROM child WHERE parent_id = ?1")
            .unwrap();
        stmt.query_row([self.pids[p]], |r| r.get::<_, i64>(0))
            .unwrap() as usize
    }
    fn has(&self, p: usize, c: usize) -> bool {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT EXISTS(SELECT 1 FROM child WHERE id = ?1 AND parent_id = ?2)")
            .unwrap();
        stmt.query_row([self.cids[c], self.pids[p]], |r| r.get(0))
            .unwrap()
    }
    fn get_sum(&self, p: usize) -> u64 {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT payload FROM child WHERE parent_id = ?1 ORDER BY id")
            .unwrap();
        let rows = stmt
            .query_map([self.pids[p]], |r| r.get::<_, i64>(0))
            .unwrap();
        rows.map(|r| r.unwrap() as u64).sum()
    }
    fn set(&mut self, p: usize, cs: &[usize]) {
        let tx = self.conn.transaction().unwrap();
        tx.prepare_cached("UPDATE child SET parent_id = NULL WHERE parent_id = ?1")
            .unwrap()
            .execute([self.pids[p]])
            .unwrap();
        {
            let mut link = tx
                .prepare_cached("UPDATE child SET parent_id = ?1 WHERE id = ?2")
                .unwrap();
            for &c in cs {
                link.execute([self.pids[p], self.cids[c]]).unwrap();
            }
        }
        tx.commit().unwrap();
    }
    fn delete_parent_and_rebuild(&mut self, p: usize, cs: &[usize]) {
        let tx = self.conn.transaction().unwrap();
        tx.prepare_cached("DELETE FROM parent WHERE id = ?1")
            .unwrap()
            .execute([self.pids[p]])
            .unwrap();
        tx.prepare_cached("INSERT INTO parent DEFAULT VALUES")
            .unwrap()
            .execute([])
            .unwrap();
        let parent = tx.last_insert_rowid();
        {
            let mut insert = tx
                .prepare_cached("INSERT INTO child (parent_id, payload) VALUES (?1, ?2)")
                .unwrap();
            for &c in cs {
                insert.execute(params![parent, c as i64]).unwrap();
                self.cids[c] = tx.last_insert_rowid();
            }
        }
        tx.commit().unwrap();
        self.pids[p] = parent;
    }
}
