//! relata behind the [`Store`] trait: `HasMany<Parent, Child>`, nullable key, on delete
//! `Cascade`. Generic over the child row, so that the same store also measures children with
//! an unrelated attribute, indexed or not ([`SerialChild`]).

use relata::{AssocOptions, Db, ForeignKey, HasMany, Id, Model, OnDelete, Table, field, fk};

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

/// A child row with a serial number, unique among children: with a unique index on `serial`
/// if `UNIQUE`, without one otherwise. The same layout either way, so the two measure the cost
/// of an index the foreign key does not touch.
#[derive(Clone, Debug)]
pub struct SerialChild<const UNIQUE: bool> {
    /// The nullable foreign key.
    pub parent: Option<Id<Parent>>,
    /// Data that reads add up.
    pub payload: u64,
    /// A distinct number per row, unrelated to the foreign key.
    pub serial: u64,
}

/// A child row type [`RelataStore`] can store.
pub trait ChildRow: Model {
    /// The store's name in reports.
    const NAME: &'static str;
    /// A row linked to `parent`; `serial` is distinct for every row made.
    fn make(parent: Option<Id<Parent>>, payload: u64, serial: u64) -> Self;
    /// The payload.
    fn payload(&self) -> u64;
    /// The foreign key to the parent.
    fn parent_key() -> ForeignKey<Self, Id<Parent>>;
    /// Declares the row type's other indexes on `children`.
    fn declare_indexes(_db: &mut Db, _children: Table<Self>) {}
}

impl ChildRow for Child {
    const NAME: &'static str = "relata";
    fn make(parent: Option<Id<Parent>>, payload: u64, _serial: u64) -> Self {
        Child { parent, payload }
    }
    fn payload(&self) -> u64 {
        self.payload
    }
    fn parent_key() -> ForeignKey<Self, Id<Parent>> {
        fk!(Child, parent)
    }
}

impl<const UNIQUE: bool> ChildRow for SerialChild<UNIQUE> {
    const NAME: &'static str = if UNIQUE { "relata_unique" } else { "relata" };
    fn make(parent: Option<Id<Parent>>, payload: u64, serial: u64) -> Self {
        SerialChild {
            parent,
            payload,
            serial,
        }
    }
    fn payload(&self) -> u64 {
        self.payload
    }
    fn parent_key() -> ForeignKey<Self, Id<Parent>> {
        fk!(SerialChild<UNIQUE>, parent)
    }
    fn declare_indexes(db: &mut Db, children: Table<Self>) {
        if UNIQUE {
            db.unique(children, field!(SerialChild<UNIQUE>, serial))
                .unwrap();
        }
    }
}

/// relata.
pub struct RelataStore<C = Child> {
    /// The database (public so benchmarks can fork it).
    pub db: Db,
    parents: Table<Parent>,
    children: Table<C>,
    links: HasMany<Parent, C>,
    pids: Vec<Id<Parent>>,
    cids: Vec<Id<C>>,
    /// The next serial number (for [`SerialChild`]).
    serial: u64,
}

impl<C: ChildRow> RelataStore<C> {
    fn child(&mut self, parent: Option<usize>, payload: u64) -> C {
        self.serial += 1;
        C::make(parent.map(|p| self.pids[p]), payload, self.serial)
    }
}

impl<C: ChildRow> Store for RelataStore<C> {
    const NAME: &'static str = C::NAME;

    fn new() -> Self {
        let mut db = Db::new();
        let parents = db.create_table().unwrap();
        let children = db.create_table().unwrap();
        C::declare_indexes(&mut db, children);
        let options = AssocOptions::new().on_delete(OnDelete::Cascade);
        let links = db
            .has_many_with(parents, children, C::parent_key(), options)
            .unwrap();
        RelataStore {
            db,
            parents,
            children,
            links,
            pids: Vec::new(),
            cids: Vec::new(),
            serial: 0,
        }
    }
    fn insert_parent(&mut self) {
        self.pids
            .push(self.parents.insert(&mut self.db, Parent).unwrap());
    }
    fn insert_child(&mut self, parent: Option<usize>, payload: u64) {
        let row = self.child(parent, payload);
        self.cids
            .push(self.children.insert(&mut self.db, row).unwrap());
    }
    fn replace_child(&mut self, c: usize, parent: Option<usize>, payload: u64) {
        self.children.delete(&mut self.db, self.cids[c]).unwrap();
        let row = self.child(parent, payload);
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
            .map(|c| c.payload())
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
            let row = self.child(None, c as u64);
            self.cids[c] = self.links.create(&mut self.db, self.pids[p], row).unwrap();
        }
    }
}
