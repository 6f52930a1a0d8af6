//! relata behind the [`Store`] trait: `HasMany<Parent, Child>`, nullable key, on delete
//! `Cascade`.

use relata::{AssocOptions, Db, HasMany, Id, OnDelete, Table, fk};

use crate::Store;

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
