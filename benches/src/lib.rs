//! The same parent/child workload on four stores, behind one [`Store`] trait, so every
//! benchmark drives them identically:
//!
//! - [`RelataStore`]: relata (`HasMany<Parent, Child>`, nullable key, on delete `Cascade`);
//! - [`SqliteStore`]: SQLite in-memory through rusqlite, `PRAGMA foreign_keys=ON`, an index on
//!   the foreign-key column, cached prepared statements;
//! - [`Baseline`]: the naive hand-written design, `Vec` rows plus `HashMap<u32, Vec<u32>>`;
//! - [`SlotmapStore`]: the plain-mutable alternative to relata's persistent storage, `slotmap`
//!   rows plus a `SecondaryMap` from parent to its children (no snapshots, no rollback).
//!
//! Rows are named by their index in creation order (`p`, `c`); each store maps indexes to its
//! own ids. Children carry a `payload` that `get_sum` adds up, so reads touch the rows.

use std::collections::HashMap;

use relata::{AssocOptions, Db, HasMany, Id, OnDelete, Table, fk};
use rusqlite::{Connection, params};
use slotmap::{SecondaryMap, SlotMap, new_key_type};

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

// ---------------------------------------------------------------------------------------------

/// A parent row.
#[derive(Clone, Debug)]
pub struct Parent;

/// A child row.
#[derive(Clone, Debug)]
pub struct Child {
    /// The nullable foreign key.
    pub parent: Option<Id<Parent>>,
    /// Data that reads add up.
    pub payload: u64,
}

/// relata.
pub struct RelataStore {
    /// The database (public so benchmarks can fork it).
    pub db: Db,
    parents: Table<Parent>,
    children: Table<Child>,
    links: HasMany<Parent, Child>,
    pids: Vec<Id<Parent>>,
    cids: Vec<Id<Child>>,
}

impl Store for RelataStore {
    const NAME: &'static str = "relata";

    fn new() -> Self {
        let mut db = Db::new();
        let parents = db.create_table().unwrap();
        let children = db.create_table().unwrap();
        let options = AssocOptions::new().on_delete(OnDelete::Cascade);
        let links = db
            .has_many_with(parents, children, fk!(Child, parent), options)
            .unwrap();
        RelataStore {
            db,
            parents,
            children,
            links,
            pids: Vec::new(),
            cids: Vec::new(),
        }
    }
    fn insert_parent(&mut self) {
        self.pids
            .push(self.parents.insert(&mut self.db, Parent).unwrap());
    }
    fn insert_child(&mut self, parent: Option<usize>, payload: u64) {
        let row = Child {
            parent: parent.map(|p| self.pids[p]),
            payload,
        };
        self.cids
            .push(self.children.insert(&mut self.db, row).unwrap());
    }
    fn replace_child(&mut self, c: usize, parent: Option<usize>, payload: u64) {
        self.children.delete(&mut self.db, self.cids[c]).unwrap();
        let row = Child {
            parent: parent.map(|p| self.pids[p]),
            payload,
        };
        self.cids[c] = self.children.insert(&mut self.db, row).unwrap();
    }
    fn add(&mut self, p: usize, c: usize) {
        self.links
            .add(&mut self.db, self.pids[p], self.cids[c])
            .unwrap();
    }
    fn remove(&mut self, p: usize, c: usize) {
        self.links
            .remove(&mut self.db, self.pids[p], self.cids[c])
            .unwrap();
    }
    fn count(&self, p: usize) -> usize {
        self.links.count(&self.db, self.pids[p]).unwrap()
    }
    fn has(&self, p: usize, c: usize) -> bool {
        self.links
            .has(&self.db, self.pids[p], self.cids[c])
            .unwrap()
    }
    fn get_sum(&self, p: usize) -> u64 {
        self.links
            .get(&self.db, self.pids[p])
            .unwrap()
            .map(|c| c.payload)
            .sum()
    }
    fn set(&mut self, p: usize, cs: &[usize]) {
        let ids = cs.iter().map(|&c| self.cids[c]);
        self.links.set(&mut self.db, self.pids[p], ids).unwrap();
    }
    fn delete_parent_and_rebuild(&mut self, p: usize, cs: &[usize]) {
        self.parents.delete(&mut self.db, self.pids[p]).unwrap();
        self.pids[p] = self.parents.insert(&mut self.db, Parent).unwrap();
        for &c in cs {
            let row = Child {
                parent: None,
                payload: c as u64,
            };
            self.cids[c] = self.links.create(&mut self.db, self.pids[p], row).unwrap();
        }
    }
}

// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------

struct BaseChild {
    parent: Option<u32>,
    payload: u64,
}

/// The naive hand-written design: `Vec` rows, `HashMap<u32, Vec<u32>>` from parent to children.
/// No validation beyond what the workload needs, no order maintenance beyond push order.
pub struct Baseline {
    parents: Vec<bool>,
    children: Vec<Option<BaseChild>>,
    index: HashMap<u32, Vec<u32>>,
    pids: Vec<u32>,
    cids: Vec<u32>,
}

impl Baseline {
    fn unlink(&mut self, cid: u32) {
        let child = self.children[cid as usize].as_mut().unwrap();
        if let Some(old) = child.parent.take() {
            let list = self.index.get_mut(&old).unwrap();
            let pos = list.iter().position(|&x| x == cid).unwrap();
            list.remove(pos);
        }
    }

    fn push_child(&mut self, parent: Option<u32>, payload: u64) -> u32 {
        let cid = self.children.len() as u32;
        self.children.push(Some(BaseChild { parent, payload }));
        if let Some(p) = parent {
            self.index.entry(p).or_default().push(cid);
        }
        cid
    }
}

impl Store for Baseline {
    const NAME: &'static str = "baseline";

    fn new() -> Self {
        Baseline {
            parents: Vec::new(),
            children: Vec::new(),
            index: HashMap::new(),
            pids: Vec::new(),
            cids: Vec::new(),
        }
    }
    fn insert_parent(&mut self) {
        self.pids.push(self.parents.len() as u32);
        self.parents.push(true);
    }
    fn insert_child(&mut self, parent: Option<usize>, payload: u64) {
        let cid = self.push_child(parent.map(|p| self.pids[p]), payload);
        self.cids.push(cid);
    }
    fn replace_child(&mut self, c: usize, parent: Option<usize>, payload: u64) {
        self.unlink(self.cids[c]);
        self.children[self.cids[c] as usize] = None;
        self.cids[c] = self.push_child(parent.map(|p| self.pids[p]), payload);
    }
    fn add(&mut self, p: usize, c: usize) {
        let (pid, cid) = (self.pids[p], self.cids[c]);
        if self.children[cid as usize].as_ref().unwrap().parent != Some(pid) {
            self.unlink(cid);
            self.children[cid as usize].as_mut().unwrap().parent = Some(pid);
            self.index.entry(pid).or_default().push(cid);
        }
    }
    fn remove(&mut self, p: usize, c: usize) {
        let cid = self.cids[c];
        if self.children[cid as usize].as_ref().unwrap().parent == Some(self.pids[p]) {
            self.unlink(cid);
        }
    }
    fn count(&self, p: usize) -> usize {
        self.index.get(&self.pids[p]).map_or(0, Vec::len)
    }
    fn has(&self, p: usize, c: usize) -> bool {
        self.children[self.cids[c] as usize]
            .as_ref()
            .unwrap()
            .parent
            == Some(self.pids[p])
    }
    fn get_sum(&self, p: usize) -> u64 {
        let list = self.index.get(&self.pids[p]).map_or(&[][..], Vec::as_slice);
        list.iter()
            .map(|&c| self.children[c as usize].as_ref().unwrap().payload)
            .sum()
    }
    fn set(&mut self, p: usize, cs: &[usize]) {
        let pid = self.pids[p];
        for cid in self.index.remove(&pid).unwrap_or_default() {
            self.children[cid as usize].as_mut().unwrap().parent = None;
        }
        for &c in cs {
            self.add(p, c);
        }
    }
    fn delete_parent_and_rebuild(&mut self, p: usize, cs: &[usize]) {
        let pid = self.pids[p];
        for cid in self.index.remove(&pid).unwrap_or_default() {
            self.children[cid as usize] = None;
        }
        self.parents[pid as usize] = false;
        self.insert_parent();
        let new = self.pids.pop().unwrap();
        self.pids[p] = new;
        for &c in cs {
            self.cids[c] = self.push_child(Some(new), c as u64);
        }
    }
}

// ---------------------------------------------------------------------------------------------

new_key_type! {
    struct ParentKey;
    struct ChildKey;
}

struct SlotChild {
    parent: Option<ParentKey>,
    payload: u64,
}

/// The plain-mutable design relata could have had: `slotmap` rows (generational keys) and a
/// `SecondaryMap` from parent to a creation-ordered `Vec` of children. No O(1) fork.
pub struct SlotmapStore {
    parents: SlotMap<ParentKey, ()>,
    children: SlotMap<ChildKey, SlotChild>,
    index: SecondaryMap<ParentKey, Vec<ChildKey>>,
    pids: Vec<ParentKey>,
    cids: Vec<ChildKey>,
}

impl SlotmapStore {
    fn unlink(&mut self, cid: ChildKey) {
        if let Some(old) = self.children[cid].parent.take() {
            let list = &mut self.index[old];
            let pos = list.iter().position(|&x| x == cid).unwrap();
            list.remove(pos);
        }
    }

    fn link(&mut self, pid: ParentKey, cid: ChildKey) {
        self.unlink(cid);
        self.children[cid].parent = Some(pid);
        self.index.entry(pid).unwrap().or_default().push(cid);
    }
}

impl Store for SlotmapStore {
    const NAME: &'static str = "slotmap";

    fn new() -> Self {
        SlotmapStore {
            parents: SlotMap::with_key(),
            children: SlotMap::with_key(),
            index: SecondaryMap::new(),
            pids: Vec::new(),
            cids: Vec::new(),
        }
    }
    fn insert_parent(&mut self) {
        self.pids.push(self.parents.insert(()));
    }
    fn insert_child(&mut self, parent: Option<usize>, payload: u64) {
        let cid = self.children.insert(SlotChild {
            parent: None,
            payload,
        });
        if let Some(p) = parent {
            self.link(self.pids[p], cid);
        }
        self.cids.push(cid);
    }
    fn replace_child(&mut self, c: usize, parent: Option<usize>, payload: u64) {
        self.unlink(self.cids[c]);
        self.children.remove(self.cids[c]);
        let cid = self.children.insert(SlotChild {
            parent: None,
            payload,
        });
        if let Some(p) = parent {
            self.link(self.pids[p], cid);
        }
        self.cids[c] = cid;
    }
    fn add(&mut self, p: usize, c: usize) {
        let (pid, cid) = (self.pids[p], self.cids[c]);
        if self.children[cid].parent != Some(pid) {
            self.link(pid, cid);
        }
    }
    fn remove(&mut self, p: usize, c: usize) {
        let cid = self.cids[c];
        if self.children[cid].parent == Some(self.pids[p]) {
            self.unlink(cid);
        }
    }
    fn count(&self, p: usize) -> usize {
        self.index.get(self.pids[p]).map_or(0, Vec::len)
    }
    fn has(&self, p: usize, c: usize) -> bool {
        self.children[self.cids[c]].parent == Some(self.pids[p])
    }
    fn get_sum(&self, p: usize) -> u64 {
        let list = self.index.get(self.pids[p]).map_or(&[][..], Vec::as_slice);
        list.iter().map(|&c| self.children[c].payload).sum()
    }
    fn set(&mut self, p: usize, cs: &[usize]) {
        let pid = self.pids[p];
        for cid in self.index.remove(pid).unwrap_or_default() {
            self.children[cid].parent = None;
        }
        for &c in cs {
            self.link(pid, self.cids[c]);
        }
    }
    fn delete_parent_and_rebuild(&mut self, p: usize, cs: &[usize]) {
        let pid = self.pids[p];
        for cid in self.index.remove(pid).unwrap_or_default() {
            self.children.remove(cid);
        }
        self.parents.remove(pid);
        let new = self.parents.insert(());
        self.pids[p] = new;
        for &c in cs {
            let cid = self.children.insert(SlotChild {
                parent: None,
                payload: c as u64,
            });
            self.link(new, cid);
            self.cids[c] = cid;
        }
    }
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
    }
}
