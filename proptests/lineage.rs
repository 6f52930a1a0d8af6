//! Several databases and forks that declare tables on their own, with ids and handles crossing
//! between them, against a naive reference.
//!
//! Worlds: each `Db::new()` declares `A { code }` (code unique), `B { a }` and `A` has many `B`
//! (SetNull), the same schema every time, but as its own tables. Databases fork; a database
//! (or fork) may later declare `C { a }` and `A` has many `C`: directly, in a committed
//! transaction, or in a transaction that rolls back (by handle, by closure error, or by a panic),
//! possibly after inserting rows into it, and then again. Every id and handle ever issued stays
//! in play:
//!
//! - a handle works in the database that declared it and in forks taken after that, and in no
//!   other database: there every method, reads included, is `Error::UnknownHandle`;
//! - an id resolves only in its own lineage, and only while its row lives there: used with a
//!   handle of another table instance (another world, a table another fork created, a table
//!   re-created after a rollback) it is `NotFound` (or `ForeignKey` as row data), never another
//!   row.
//!
//! After every operation: the result equals the reference's; every database passes
//! `check_integrity` and equals the reference (rows by id, children and parents of every
//! association, unique lookups, `Db::table`); unknown handles are refused by every database; an
//! operation that changed nothing in the reference left its database equal to a fork taken
//! before it.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

use proptest::prelude::*;
use relata::{Db, Error, HasMany, Id, Query, Table, Unique, Unlink, field, fk};

#[derive(Clone, Debug, PartialEq)]
struct A {
    code: u8,
    n: u8,
}
#[derive(Clone, Debug, PartialEq)]
struct B {
    a: Option<Id<A>>,
    n: u8,
}
#[derive(Clone, Debug, PartialEq)]
struct C {
    a: Option<Id<A>>,
    n: u8,
}

const KA: usize = 0;
const KB: usize = 1;
const KC: usize = 2;
const CODES: u8 = 8;
const MAX_WORLDS: usize = 3;
const MAX_SLOTS: usize = 5;

/// The handles one `Db::new()` declared.
#[derive(Clone, Copy)]
struct World {
    a: Table<A>,
    b: Table<B>,
    ab: HasMany<A, B>,
    code: Unique<A, u8>,
}

/// A `C` table some database declared (perhaps in a transaction that rolled back).
#[derive(Clone, Copy)]
struct CHandle {
    c: Table<C>,
    ac: HasMany<A, C>,
}

/// A reference row of any table: `code` for A, `a` (the A's global issue index) for B and C.
#[derive(Clone, Debug, PartialEq, Eq)]
struct G {
    code: u8,
    a: Option<usize>,
    n: u8,
}

/// One database in reference terms: its world, the `C` table it knows, its live rows by global
/// issue index.
#[derive(Clone, Debug, PartialEq, Eq)]
struct RefDb {
    world: usize,
    c: Option<usize>,
    rows: [BTreeMap<usize, G>; 3],
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fail {
    NotFound,
    ForeignKey,
    Unique,
    UnknownHandle,
    Definition,
}

type Res<T> = Result<T, Fail>;

fn class(e: Error) -> Fail {
    match e {
        Error::NotFound { .. } => Fail::NotFound,
        Error::ForeignKey { .. } => Fail::ForeignKey,
        Error::Unique { .. } => Fail::Unique,
        Error::UnknownHandle { .. } => Fail::UnknownHandle,
        Error::Definition { .. } => Fail::Definition,
        other => panic!("unexpected error class: {other}"),
    }
}

/// Every id ever issued, per table kind: its table instance (world for A and B, C handle for
/// C) and the id.
#[derive(Default)]
struct Issued {
    a: Vec<(usize, Id<A>)>,
    b: Vec<(usize, Id<B>)>,
    c: Vec<(usize, Id<C>)>,
}

impl Issued {
    fn len(&self, k: usize) -> usize {
        [self.a.len(), self.b.len(), self.c.len()][k]
    }

    fn instance(&self, k: usize, i: usize) -> usize {
        match k {
            KA => self.a[i].0,
            KB => self.b[i].0,
            _ => self.c[i].0,
        }
    }

    /// The global issue index of an id (by full identity: ids of different table instances
    /// may print alike, but never compare equal).
    fn of_a(&self, id: Id<A>) -> usize {
        self.a.iter().position(|&(_, x)| x == id).expect("issued")
    }
    fn of_b(&self, id: Id<B>) -> usize {
        self.b.iter().position(|&(_, x)| x == id).expect("issued")
    }
    fn of_c(&self, id: Id<C>) -> usize {
        self.c.iter().position(|&(_, x)| x == id).expect("issued")
    }
}

/// Picks an id: usually one that is live in the database and belongs to the handle's table
/// instance, otherwise any id ever issued (stale, foreign, rolled back).
#[derive(Clone, Copy, Debug)]
struct IdPick {
    valid: bool,
    n: usize,
}

fn id_pick() -> impl Strategy<Value = IdPick> {
    (prop::bool::weighted(0.8), any::<usize>()).prop_map(|(valid, n)| IdPick { valid, n })
}

/// Picks a handle: usually the one the database knows, otherwise any of its kind.
#[derive(Clone, Copy, Debug)]
struct HPick {
    known: bool,
    n: usize,
}

fn h_pick() -> impl Strategy<Value = HPick> {
    (prop::bool::weighted(0.8), any::<usize>()).prop_map(|(known, n)| HPick { known, n })
}

/// How a `C` table is declared.
#[derive(Clone, Copy, Debug)]
enum How {
    Direct,
    /// In a transaction that commits (`closure`: `Db::transaction`, else `Db::begin`).
    Commit {
        closure: bool,
    },
    /// In a transaction that rolls back after inserting `rows` rows; `panic`: by a panic that
    /// unwinds out of it.
    Rollback {
        closure: bool,
        rows: u8,
        panic: bool,
    },
}

#[derive(Clone, Debug)]
enum Op {
    NewDb,
    Fork {
        src: usize,
        dst: usize,
    },
    CreateC {
        db: usize,
        how: How,
    },
    Insert {
        db: usize,
        k: usize,
        h: HPick,
        a: Option<IdPick>,
        code: u8,
        n: u8,
    },
    Update {
        db: usize,
        k: usize,
        h: HPick,
        id: IdPick,
        a: Option<IdPick>,
        code: u8,
        n: u8,
    },
    Delete {
        db: usize,
        k: usize,
        h: HPick,
        id: IdPick,
    },
    Get {
        db: usize,
        k: usize,
        h: HPick,
        id: IdPick,
    },
    /// `get` of `A` has many `B` (`c == false`) or `C`.
    Children {
        db: usize,
        c: bool,
        h: HPick,
        a: IdPick,
    },
    Add {
        db: usize,
        c: bool,
        h: HPick,
        a: IdPick,
        child: IdPick,
    },
    SetParent {
        db: usize,
        c: bool,
        h: HPick,
        child: IdPick,
        a: Option<IdPick>,
    },
    Find {
        db: usize,
        h: HPick,
        code: u8,
    },
    /// Every method of every handle the database did not declare: all `UnknownHandle`.
    Probe {
        db: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let db = || any::<usize>();
    let k = || 0..3usize;
    let how = prop_oneof![
        2 => Just(How::Direct),
        1 => any::<bool>().prop_map(|closure| How::Commit { closure }),
        2 => (any::<bool>(), 0..3u8, prop::bool::weighted(0.3))
            .prop_map(|(closure, rows, panic)| How::Rollback { closure, rows, panic }),
    ];
    let a = || prop::option::weighted(0.85, id_pick());
    prop_oneof![
        1 => Just(Op::NewDb),
        2 => (db(), db()).prop_map(|(src, dst)| Op::Fork { src, dst }),
        2 => (db(), how).prop_map(|(db, how)| Op::CreateC { db, how }),
        10 => (db(), k(), h_pick(), a(), 0..CODES, any::<u8>())
            .prop_map(|(db, k, h, a, code, n)| Op::Insert { db, k, h, a, code, n }),
        3 => (db(), k(), h_pick(), id_pick(), a(), 0..CODES, any::<u8>())
            .prop_map(|(db, k, h, id, a, code, n)| Op::Update { db, k, h, id, a, code, n }),
        3 => (db(), k(), h_pick(), id_pick()).prop_map(|(db, k, h, id)| Op::Delete { db, k, h, id }),
        3 => (db(), k(), h_pick(), id_pick()).prop_map(|(db, k, h, id)| Op::Get { db, k, h, id }),
        2 => (db(), any::<bool>(), h_pick(), id_pick()).prop_map(|(db, c, h, a)| Op::Children { db, c, h, a }),
        2 => (db(), any::<bool>(), h_pick(), id_pick(), id_pick())
            .prop_map(|(db, c, h, a, child)| Op::Add { db, c, h, a, child }),
        2 => (db(), any::<bool>(), h_pick(), id_pick(), a())
            .prop_map(|(db, c, h, child, a)| Op::SetParent { db, c, h, child, a }),
        1 => (db(), h_pick(), 0..CODES).prop_map(|(db, h, code)| Op::Find { db, h, code }),
        1 => db().prop_map(|db| Op::Probe { db }),
    ]
}

fn new_world() -> (World, Db) {
    let mut db = Db::new();
    let a = db.create_table().unwrap();
    let b = db.create_table().unwrap();
    let ab = db.has_many(a, b, fk!(B, a)).unwrap();
    let code = db.unique(a, field!(A, code)).unwrap();
    (World { a, b, ab, code }, db)
}

/// Declares `C` and `A` has many `C` on `db`, whose `A` table is `a`.
fn declare_c(db: &mut Db, a: Table<A>) -> Result<CHandle, Error> {
    let c = db.create_table::<C>()?;
    let ac = db.has_many(a, c, fk!(C, a))?;
    Ok(CHandle { c, ac })
}

#[derive(Debug, PartialEq)]
enum Out {
    Unit,
    Index(usize),
    Row(G),
    Indexes(Vec<usize>),
    Bool(bool),
    Opt(Option<usize>),
}

/// Everything observable in one database, in reference terms.
#[derive(Debug, PartialEq)]
struct Dump {
    world: usize,
    c: Option<usize>,
    rows: [Vec<(usize, G)>; 3],
    /// `(c?, a)` → children, for every live A.
    children: Vec<(bool, usize, Vec<usize>)>,
    /// `(c?, child)` → parent, for every live B and C.
    parents: Vec<(bool, usize, Option<usize>)>,
    finds: Vec<Option<usize>>,
}

struct Run {
    worlds: Vec<World>,
    cs: Vec<CHandle>,
    dbs: Vec<Db>,
    refs: Vec<RefDb>,
    ids: Issued,
}

/// The children of a live A in the reference.
fn ref_children(r: &RefDb, k: usize, a: usize) -> Vec<usize> {
    r.rows[k]
        .iter()
        .filter(|(_, g)| g.a == Some(a))
        .map(|(&i, _)| i)
        .collect()
}

fn ref_dump(r: &RefDb) -> Dump {
    let rows = std::array::from_fn(|k| r.rows[k].iter().map(|(&i, g)| (i, g.clone())).collect());
    let mut children = Vec::new();
    let mut parents = Vec::new();
    for (c, k) in [(false, KB), (true, KC)] {
        if c && r.c.is_none() {
            continue;
        }
        for &a in r.rows[KA].keys() {
            children.push((c, a, ref_children(r, k, a)));
        }
        for (&i, g) in &r.rows[k] {
            parents.push((c, i, g.a));
        }
    }
    let finds = (0..CODES)
        .map(|code| {
            r.rows[KA]
                .iter()
                .find(|(_, g)| g.code == code)
                .map(|(&i, _)| i)
        })
        .collect();
    Dump {
        world: r.world,
        c: r.c,
        rows,
        children,
        parents,
        finds,
    }
}

impl Run {
    fn slot(&self, n: usize) -> usize {
        n % self.dbs.len()
    }

    /// The handle a pick names for table kind `k` of slot `d` (an index into `worlds` for A and
    /// B, into `cs` for C); `None` when there is none of that kind yet.
    fn handle(&self, d: usize, k: usize, h: HPick) -> Option<usize> {
        let r = &self.refs[d];
        match k {
            KC => {
                if h.known && r.c.is_some() {
                    return r.c;
                }
                (!self.cs.is_empty()).then(|| h.n % self.cs.len())
            }
            _ if h.known => Some(r.world),
            _ => Some(h.n % self.worlds.len()),
        }
    }

    /// Whether slot `d` declared handle `h` of kind `k`.
    fn knows(&self, d: usize, k: usize, h: usize) -> bool {
        match k {
            KC => self.refs[d].c == Some(h),
            _ => self.refs[d].world == h,
        }
    }

    /// An id of kind `k`: usually live in slot `d` and of instance `inst`.
    fn id(&self, d: usize, k: usize, inst: Option<usize>, p: IdPick) -> Option<usize> {
        if p.valid
            && let Some(inst) = inst
        {
            let live: Vec<usize> = self.refs[d].rows[k]
                .keys()
                .copied()
                .filter(|&i| self.ids.instance(k, i) == inst)
                .collect();
            if !live.is_empty() {
                return Some(live[p.n % live.len()]);
            }
        }
        let n = self.ids.len(k);
        (n > 0).then(|| p.n % n)
    }

    /// The A instance rows of kind `k` reference through handle `h`: the world of A.
    fn a_instance(&self, d: usize, k: usize, h: usize) -> usize {
        match k {
            // A `C` table references the A table of the database that declared it, which is
            // the database's world when it knows the handle.
            KC => self.refs[d].world,
            _ => h,
        }
    }

    /// The reference row `id` names through handle `h` of kind `k` in slot `d`.
    fn lookup(&self, d: usize, k: usize, h: usize, id: usize) -> Res<&G> {
        if !self.knows(d, k, h) {
            return Err(Fail::UnknownHandle);
        }
        if self.ids.instance(k, id) != h {
            return Err(Fail::NotFound);
        }
        self.refs[d].rows[k].get(&id).ok_or(Fail::NotFound)
    }

    /// Whether A `a` can be referenced from slot `d`: of the database's A instance, and live.
    fn a_resolves(&self, d: usize, a: usize) -> bool {
        self.ids.instance(KA, a) == self.refs[d].world && self.refs[d].rows[KA].contains_key(&a)
    }

    /// Checks a row for slot `d`, kind `k` (`id`: the row it replaces).
    fn check(&self, d: usize, k: usize, id: Option<usize>, row: &G) -> Res<()> {
        if k == KA {
            let clash = self.refs[d].rows[KA]
                .iter()
                .any(|(&i, g)| Some(i) != id && g.code == row.code);
            return if clash { Err(Fail::Unique) } else { Ok(()) };
        }
        match row.a {
            Some(a) if !self.a_resolves(d, a) => Err(Fail::ForeignKey),
            _ => Ok(()),
        }
    }

    /// Reference deletes: an A's B and C rows are nulled.
    fn ref_delete(&mut self, d: usize, k: usize, id: usize) {
        let r = &mut self.refs[d];
        r.rows[k].remove(&id);
        if k == KA {
            for kk in [KB, KC] {
                for g in r.rows[kk].values_mut() {
                    if g.a == Some(id) {
                        g.a = None;
                    }
                }
            }
        }
    }

    fn to_g_a(row: &A) -> G {
        G {
            code: row.code,
            a: None,
            n: row.n,
        }
    }

    fn dump(&self, d: usize, db: &Db) -> Dump {
        let r = &self.refs[d];
        let w = self.worlds[r.world];
        let ids = &self.ids;
        let mut rows: [Vec<(usize, G)>; 3] = Default::default();
        rows[KA] =
            w.a.iter(db)
                .unwrap()
                .map(|row| (ids.of_a(row.id()), Run::to_g_a(row.value())))
                .collect();
        rows[KB] =
            w.b.iter(db)
                .unwrap()
                .map(|row| {
                    let g = G {
                        code: 0,
                        a: row.a.map(|a| ids.of_a(a)),
                        n: row.n,
                    };
                    (ids.of_b(row.id()), g)
                })
                .collect();
        let c = r.c.map(|h| self.cs[h]);
        if let Some(c) = c {
            rows[KC] =
                c.c.iter(db)
                    .unwrap()
                    .map(|row| {
                        let g = G {
                            code: 0,
                            a: row.a.map(|a| ids.of_a(a)),
                            n: row.n,
                        };
                        (ids.of_c(row.id()), g)
                    })
                    .collect();
        }
        // Creation order is global issue order within one table instance.
        for list in &mut rows {
            let sorted = list.windows(2).all(|p| p[0].0 < p[1].0);
            assert!(sorted, "iter is in creation order");
        }
        assert_eq!(w.a.len(db).unwrap(), rows[KA].len());
        assert_eq!(w.b.scan(db).unwrap().count(), rows[KB].len());
        let mut children = Vec::new();
        let mut parents = Vec::new();
        for &(a, _) in &rows[KA] {
            let aid = ids.a[a].1;
            let kids: Vec<usize> =
                w.ab.get(db, aid)
                    .unwrap()
                    .map(|r| ids.of_b(r.id()))
                    .collect();
            assert_eq!(
                w.ab.count(db, aid).unwrap(),
                kids.len(),
                "count == get().len()"
            );
            children.push((false, a, kids));
        }
        for &(b, _) in &rows[KB] {
            let parent = w.ab.inverse().get(db, ids.b[b].1).unwrap();
            parents.push((false, b, parent.map(|p| ids.of_a(p.id()))));
        }
        if let Some(c) = c {
            for &(a, _) in &rows[KA] {
                let aid = ids.a[a].1;
                let kids: Vec<usize> =
                    c.ac.get(db, aid)
                        .unwrap()
                        .map(|r| ids.of_c(r.id()))
                        .collect();
                assert_eq!(
                    c.ac.count(db, aid).unwrap(),
                    kids.len(),
                    "count == get().len()"
                );
                children.push((true, a, kids));
            }
            for &(i, _) in &rows[KC] {
                let parent = c.ac.inverse().get(db, ids.c[i].1).unwrap();
                parents.push((true, i, parent.map(|p| ids.of_a(p.id()))));
            }
        }
        let finds = (0..CODES)
            .map(|code| w.code.find(db, &code).unwrap().map(|r| ids.of_a(r.id())))
            .collect();
        // `Db::table` names the handles this database declared.
        assert_eq!(db.table::<A>(), Some(w.a));
        assert_eq!(db.table::<B>(), Some(w.b));
        assert_eq!(db.table::<C>(), c.map(|c| c.c));
        Dump {
            world: r.world,
            c: r.c,
            rows,
            children,
            parents,
            finds,
        }
    }

    /// Every method of every handle slot `d` did not declare returns `UnknownHandle`, with
    /// arguments that are valid elsewhere (ids live in the handle's own database) and here.
    fn probe(&mut self, d: usize, full: bool) {
        let unknown = |r: Result<(), Error>| {
            assert!(
                matches!(r, Err(Error::UnknownHandle { .. })),
                "expected UnknownHandle, got {r:?}"
            );
        };
        let db = &mut self.dbs[d];
        let r = &self.refs[d];
        // Arguments: some ids of every kind (the last issued), valid somewhere.
        let some_a = self.ids.a.last().map(|&(_, id)| id);
        let some_b = self.ids.b.last().map(|&(_, id)| id);
        let some_c = self.ids.c.last().map(|&(_, id)| id);
        for (w, world) in self.worlds.iter().enumerate() {
            if w == r.world {
                continue;
            }
            unknown(world.a.len(db).map(drop));
            unknown(world.b.len(db).map(drop));
            if !full {
                continue;
            }
            unknown(world.a.is_empty(db).map(drop));
            unknown(world.a.iter(db).map(drop));
            unknown(world.a.scan(db).map(drop));
            unknown(world.a.filter(db, |_| true).map(drop));
            unknown(world.code.find(db, &0).map(drop));
            unknown(world.a.insert(db, A { code: 0, n: 0 }).map(drop));
            unknown(world.b.insert(db, B { a: None, n: 0 }).map(drop));
            if let Some(a) = some_a {
                unknown(world.a.get(db, a).map(drop));
                unknown(world.a.contains(db, a).map(drop));
                unknown(world.a.update(db, a, A { code: 0, n: 0 }).map(drop));
                unknown(world.a.modify(db, a, |_| ()).map(drop));
                unknown(world.a.delete(db, a).map(drop));
                unknown(world.ab.get(db, a).map(drop));
                unknown(world.ab.count(db, a).map(drop));
                unknown(world.ab.count_where(db, a, |_| true).map(drop));
                unknown(world.ab.query(db, a, &Query::new()).map(drop));
                unknown(world.ab.get_many(db, [a], &Query::new()).map(drop));
                unknown(world.ab.create(db, a, B { a: None, n: 0 }).map(drop));
                unknown(world.ab.set(db, a, []).map(drop));
                unknown(world.ab.set_with(db, a, [], Some(Unlink::Delete)).map(drop));
                unknown(world.ab.add_many(db, a, []).map(drop));
                unknown(world.ab.remove_many(db, a, []).map(drop));
                unknown(world.ab.has_all(db, a, []).map(drop));
                if let Some(b) = some_b {
                    unknown(world.ab.add(db, a, b).map(drop));
                    unknown(world.ab.remove(db, a, b).map(drop));
                    unknown(world.ab.has(db, a, b).map(drop));
                    unknown(world.ab.inverse().set(db, b, Some(a)).map(drop));
                }
            }
            if let Some(b) = some_b {
                unknown(world.b.get(db, b).map(drop));
                unknown(world.b.delete(db, b).map(drop));
                unknown(world.ab.inverse().get(db, b).map(drop));
                unknown(world.ab.inverse().get_many(db, [b]).map(drop));
                unknown(world.ab.inverse().set(db, b, None).map(drop));
                unknown(
                    world
                        .ab
                        .inverse()
                        .create(db, b, A { code: 0, n: 0 })
                        .map(drop),
                );
            }
        }
        for (h, ch) in self.cs.iter().enumerate() {
            if r.c == Some(h) {
                continue;
            }
            unknown(ch.c.len(db).map(drop));
            if !full {
                continue;
            }
            unknown(ch.c.is_empty(db).map(drop));
            unknown(ch.c.iter(db).map(drop));
            unknown(ch.c.scan(db).map(drop));
            unknown(ch.c.insert(db, C { a: None, n: 0 }).map(drop));
            if let Some(c) = some_c {
                unknown(ch.c.get(db, c).map(drop));
                unknown(ch.c.contains(db, c).map(drop));
                unknown(ch.c.update(db, c, C { a: None, n: 0 }).map(drop));
                unknown(ch.c.delete(db, c).map(drop));
                unknown(ch.ac.inverse().get(db, c).map(drop));
                unknown(ch.ac.inverse().set(db, c, None).map(drop));
            }
            if let Some(a) = some_a {
                unknown(ch.ac.get(db, a).map(drop));
                unknown(ch.ac.count(db, a).map(drop));
                unknown(ch.ac.create(db, a, C { a: None, n: 0 }).map(drop));
                unknown(ch.ac.set(db, a, []).map(drop));
                if let Some(c) = some_c {
                    unknown(ch.ac.add(db, a, c).map(drop));
                    unknown(ch.ac.remove(db, a, c).map(drop));
                    unknown(ch.ac.has(db, a, c).map(drop));
                }
            }
        }
    }

    /// Declares `C` on slot `d` as `how` says; returns the result in reference terms.
    fn create_c(&mut self, d: usize, how: How) -> (Res<Out>, Res<Out>) {
        let world = self.refs[d].world;
        let a = self.worlds[world].a;
        let knows_c = self.refs[d].c.is_some();
        let want_fail = knows_c.then_some(Fail::Definition);
        let db = &mut self.dbs[d];
        match how {
            How::Direct | How::Commit { .. } => {
                let got = match how {
                    How::Direct => declare_c(db, a),
                    How::Commit { closure: true } => db.transaction(|tx| declare_c(tx, a)),
                    _ => {
                        let mut tx = db.begin();
                        let got = declare_c(&mut tx, a);
                        if got.is_ok() {
                            tx.commit();
                        }
                        got
                    }
                };
                match got {
                    Ok(handle) => {
                        self.cs.push(handle);
                        let h = self.cs.len() - 1;
                        self.refs[d].c = Some(h);
                        (Ok(Out::Index(h)), want_fail.map_or(Ok(Out::Index(h)), Err))
                    }
                    Err(e) => (Err(class(e)), want_fail.map_or(Ok(Out::Unit), Err)),
                }
            }
            How::Rollback {
                closure,
                rows,
                panic,
            } => {
                // Inside: declare, insert rows (recording their ids), then roll back.
                let live_a: Vec<Id<A>> = self.refs[d].rows[KA]
                    .keys()
                    .map(|&i| self.ids.a[i].1)
                    .collect();
                let mut created: Option<(CHandle, Vec<Id<C>>)> = None;
                let mut body = |tx: &mut Db| -> Result<(), Error> {
                    let handle = declare_c(tx, a)?;
                    let mut ids = Vec::new();
                    for i in 0..rows {
                        let a = live_a.get(usize::from(i)).copied();
                        ids.push(handle.c.insert(tx, C { a, n: i }).unwrap());
                    }
                    assert_eq!(tx.table::<C>(), Some(handle.c));
                    created = Some((handle, ids));
                    if panic {
                        std::panic::panic_any(ROLLBACK);
                    }
                    Err(Error::Definition {
                        message: "roll back".into(),
                    })
                };
                let result = catch_unwind(AssertUnwindSafe(|| {
                    if closure {
                        db.transaction(&mut body)
                    } else {
                        let mut tx = db.begin();
                        let r = body(&mut tx);
                        tx.rollback();
                        r
                    }
                }));
                match result {
                    Ok(_) => {}
                    Err(payload) if payload.downcast_ref::<&str>() == Some(&ROLLBACK) => {}
                    Err(payload) => std::panic::resume_unwind(payload),
                }
                let got = match created {
                    Some((handle, ids)) => {
                        self.cs.push(handle);
                        let h = self.cs.len() - 1;
                        for id in ids {
                            self.ids.c.push((h, id));
                        }
                        Ok(Out::Unit)
                    }
                    None => Err(Fail::Definition),
                };
                (got, want_fail.map_or(Ok(Out::Unit), Err))
            }
        }
    }

    fn step(&mut self, op: &Op) {
        macro_rules! need {
            ($e:expr) => {
                match $e {
                    Some(v) => v,
                    None => return,
                }
            };
        }
        let (got, want): (Res<Out>, Res<Out>) = match op {
            Op::NewDb => {
                if self.worlds.len() == MAX_WORLDS {
                    return;
                }
                let (world, db) = new_world();
                self.worlds.push(world);
                self.refs.push(RefDb {
                    world: self.worlds.len() - 1,
                    c: None,
                    rows: Default::default(),
                });
                self.dbs.push(db);
                if self.dbs.len() > MAX_SLOTS {
                    self.dbs.remove(0);
                    self.refs.remove(0);
                }
                (Ok(Out::Unit), Ok(Out::Unit))
            }
            Op::Fork { src, dst } => {
                let src = self.slot(*src);
                let fork = self.dbs[src].fork();
                let r = self.refs[src].clone();
                if self.dbs.len() < MAX_SLOTS {
                    self.dbs.push(fork);
                    self.refs.push(r);
                } else {
                    let dst = dst % self.dbs.len();
                    self.dbs[dst] = fork;
                    self.refs[dst] = r;
                }
                (Ok(Out::Unit), Ok(Out::Unit))
            }
            Op::CreateC { db, how } => {
                let d = self.slot(*db);
                self.create_c(d, *how)
            }
            Op::Insert {
                db,
                k,
                h,
                a,
                code,
                n,
            } => {
                let d = self.slot(*db);
                let h = need!(self.handle(d, *k, *h));
                let a = match a {
                    Some(p) if *k != KA => {
                        let inst = self.a_instance(d, *k, h);
                        Some(need!(self.id(d, KA, Some(inst), *p)))
                    }
                    _ => None,
                };
                let row = G {
                    code: if *k == KA { *code } else { 0 },
                    a,
                    n: *n,
                };
                let a_id = a.map(|i| self.ids.a[i].1);
                let inst = h;
                let db = &mut self.dbs[d];
                let got = match *k {
                    KA => self.worlds[h]
                        .a
                        .insert(
                            db,
                            A {
                                code: row.code,
                                n: row.n,
                            },
                        )
                        .map(|id| {
                            self.ids.a.push((inst, id));
                            Out::Index(self.ids.a.len() - 1)
                        }),
                    KB => self.worlds[h]
                        .b
                        .insert(db, B { a: a_id, n: row.n })
                        .map(|id| {
                            self.ids.b.push((inst, id));
                            Out::Index(self.ids.b.len() - 1)
                        }),
                    _ => self.cs[h].c.insert(db, C { a: a_id, n: row.n }).map(|id| {
                        self.ids.c.push((inst, id));
                        Out::Index(self.ids.c.len() - 1)
                    }),
                };
                let want = if !self.knows(d, *k, h) {
                    Err(Fail::UnknownHandle)
                } else {
                    self.check(d, *k, None, &row).map(|_| {
                        let i = self.ids.len(*k) - usize::from(got.is_ok());
                        if got.is_ok() {
                            self.refs[d].rows[*k].insert(i, row);
                        }
                        Out::Index(i)
                    })
                };
                (got.map_err(class), want)
            }
            Op::Update {
                db,
                k,
                h,
                id,
                a,
                code,
                n,
            } => {
                let d = self.slot(*db);
                let h = need!(self.handle(d, *k, *h));
                let id = need!(self.id(d, *k, Some(h), *id));
                let a = match a {
                    Some(p) if *k != KA => {
                        let inst = self.a_instance(d, *k, h);
                        Some(need!(self.id(d, KA, Some(inst), *p)))
                    }
                    _ => None,
                };
                let row = G {
                    code: if *k == KA { *code } else { 0 },
                    a,
                    n: *n,
                };
                let a_id = a.map(|i| self.ids.a[i].1);
                let db = &mut self.dbs[d];
                let got = match *k {
                    KA => self.worlds[h]
                        .a
                        .update(
                            db,
                            self.ids.a[id].1,
                            A {
                                code: row.code,
                                n: row.n,
                            },
                        )
                        .map(|old| Out::Row(Run::to_g_a(&old))),
                    KB => self.worlds[h]
                        .b
                        .update(db, self.ids.b[id].1, B { a: a_id, n: row.n })
                        .map(|old| {
                            Out::Row(G {
                                code: 0,
                                a: old.a.map(|a| self.ids.of_a(a)),
                                n: old.n,
                            })
                        }),
                    _ => self.cs[h]
                        .c
                        .update(db, self.ids.c[id].1, C { a: a_id, n: row.n })
                        .map(|old| {
                            Out::Row(G {
                                code: 0,
                                a: old.a.map(|a| self.ids.of_a(a)),
                                n: old.n,
                            })
                        }),
                };
                let want = self.lookup(d, *k, h, id).cloned().and_then(|old| {
                    // Only changed keys are checked.
                    if (*k == KA && old.code != row.code) || (*k != KA && old.a != row.a) {
                        self.check(d, *k, Some(id), &row)?;
                    }
                    self.refs[d].rows[*k].insert(id, row);
                    Ok(Out::Row(old))
                });
                (got.map_err(class), want)
            }
            Op::Delete { db, k, h, id } => {
                let d = self.slot(*db);
                let h = need!(self.handle(d, *k, *h));
                let id = need!(self.id(d, *k, Some(h), *id));
                let db = &mut self.dbs[d];
                let got = match *k {
                    KA => self.worlds[h]
                        .a
                        .delete(db, self.ids.a[id].1)
                        .map(|del| Out::Row(Run::to_g_a(&del.row))),
                    KB => self.worlds[h].b.delete(db, self.ids.b[id].1).map(|del| {
                        Out::Row(G {
                            code: 0,
                            a: del.row.a.map(|a| self.ids.of_a(a)),
                            n: del.row.n,
                        })
                    }),
                    _ => self.cs[h].c.delete(db, self.ids.c[id].1).map(|del| {
                        Out::Row(G {
                            code: 0,
                            a: del.row.a.map(|a| self.ids.of_a(a)),
                            n: del.row.n,
                        })
                    }),
                };
                let want = self.lookup(d, *k, h, id).cloned().map(|old| {
                    self.ref_delete(d, *k, id);
                    Out::Row(old)
                });
                (got.map_err(class), want)
            }
            Op::Get { db, k, h, id } => {
                let d = self.slot(*db);
                let h = need!(self.handle(d, *k, *h));
                let id = need!(self.id(d, *k, Some(h), *id));
                let db = &self.dbs[d];
                let ids = &self.ids;
                let g = |a: Option<Id<A>>, n: u8| G {
                    code: 0,
                    a: a.map(|a| ids.of_a(a)),
                    n,
                };
                let got = match *k {
                    KA => {
                        let table = self.worlds[h].a;
                        let got = table
                            .get(db, ids.a[id].1)
                            .map(|r| Out::Row(Run::to_g_a(&r)));
                        let live = match &got {
                            Ok(_) => Ok(true),
                            Err(Error::NotFound { .. }) => Ok(false),
                            Err(e) => Err(class(e.clone())),
                        };
                        assert_eq!(table.contains(db, ids.a[id].1).map_err(class), live);
                        got
                    }
                    KB => self.worlds[h]
                        .b
                        .get(db, ids.b[id].1)
                        .map(|r| Out::Row(g(r.a, r.n))),
                    _ => self.cs[h]
                        .c
                        .get(db, ids.c[id].1)
                        .map(|r| Out::Row(g(r.a, r.n))),
                };
                let want = self.lookup(d, *k, h, id).cloned().map(Out::Row);
                (got.map_err(class), want)
            }
            Op::Children { db, c, h, a } => {
                let d = self.slot(*db);
                let k = if *c { KC } else { KB };
                let h = need!(self.handle(d, k, *h));
                let inst = self.a_instance(d, k, h);
                let a = need!(self.id(d, KA, Some(inst), *a));
                let db = &self.dbs[d];
                let ids = &self.ids;
                let aid = ids.a[a].1;
                let got = if *c {
                    self.cs[h]
                        .ac
                        .get(db, aid)
                        .map(|rows| Out::Indexes(rows.map(|r| ids.of_c(r.id())).collect()))
                } else {
                    let ab = self.worlds[h].ab;
                    let has = ab.has_all(db, aid, []);
                    let got = ab
                        .get(db, aid)
                        .map(|rows| Out::Indexes(rows.map(|r| ids.of_b(r.id())).collect()));
                    assert_eq!(has.is_ok(), got.is_ok(), "has_all and get agree on {aid}");
                    got
                };
                let want = if !self.knows(d, k, h) {
                    Err(Fail::UnknownHandle)
                } else if !self.a_resolves(d, a) {
                    Err(Fail::NotFound)
                } else {
                    Ok(Out::Indexes(ref_children(&self.refs[d], k, a)))
                };
                (got.map_err(class), want)
            }
            Op::Add { db, c, h, a, child } => {
                let d = self.slot(*db);
                let k = if *c { KC } else { KB };
                let h = need!(self.handle(d, k, *h));
                let inst = self.a_instance(d, k, h);
                let a = need!(self.id(d, KA, Some(inst), *a));
                let child = need!(self.id(d, k, Some(h), *child));
                let db = &mut self.dbs[d];
                let aid = self.ids.a[a].1;
                let got = if *c {
                    self.cs[h].ac.add(db, aid, self.ids.c[child].1)
                } else {
                    self.worlds[h].ab.add(db, aid, self.ids.b[child].1)
                };
                let want = if !self.knows(d, k, h) {
                    Err(Fail::UnknownHandle)
                } else if !self.a_resolves(d, a) {
                    Err(Fail::NotFound)
                } else {
                    match self.lookup(d, k, h, child) {
                        Err(e) => Err(e),
                        Ok(g) if g.a == Some(a) => Ok(Out::Bool(false)),
                        Ok(_) => {
                            self.refs[d].rows[k].get_mut(&child).unwrap().a = Some(a);
                            Ok(Out::Bool(true))
                        }
                    }
                };
                (got.map(Out::Bool).map_err(class), want)
            }
            Op::SetParent { db, c, h, child, a } => {
                let d = self.slot(*db);
                let k = if *c { KC } else { KB };
                let h = need!(self.handle(d, k, *h));
                let inst = self.a_instance(d, k, h);
                let a = match a {
                    Some(p) => Some(need!(self.id(d, KA, Some(inst), *p))),
                    None => None,
                };
                let child = need!(self.id(d, k, Some(h), *child));
                let db = &mut self.dbs[d];
                let aid = a.map(|a| self.ids.a[a].1);
                let got = if *c {
                    self.cs[h].ac.inverse().set(db, self.ids.c[child].1, aid)
                } else {
                    self.worlds[h]
                        .ab
                        .inverse()
                        .set(db, self.ids.b[child].1, aid)
                };
                let want = if !self.knows(d, k, h) {
                    Err(Fail::UnknownHandle)
                } else if a.is_some_and(|a| !self.a_resolves(d, a)) {
                    Err(Fail::NotFound)
                } else {
                    self.lookup(d, k, h, child).map(drop).map(|_| {
                        self.refs[d].rows[k].get_mut(&child).unwrap().a = a;
                        Out::Unit
                    })
                };
                (got.map(|_| Out::Unit).map_err(class), want)
            }
            Op::Find { db, h, code } => {
                let d = self.slot(*db);
                let h = need!(self.handle(d, KA, *h));
                let got = self.worlds[h]
                    .code
                    .find(&self.dbs[d], code)
                    .map(|r| Out::Opt(r.map(|r| self.ids.of_a(r.id()))));
                let want = if !self.knows(d, KA, h) {
                    Err(Fail::UnknownHandle)
                } else {
                    let found = self.refs[d].rows[KA]
                        .iter()
                        .find(|(_, g)| g.code == *code)
                        .map(|(&i, _)| i);
                    Ok(Out::Opt(found))
                };
                (got.map_err(class), want)
            }
            Op::Probe { db } => {
                let d = self.slot(*db);
                self.probe(d, true);
                (Ok(Out::Unit), Ok(Out::Unit))
            }
        };
        assert_eq!(got, want, "result of {op:?}");
    }
}

/// The marker of the deliberate panic that rolls a transaction back.
const ROLLBACK: &str = "deliberate rollback";

fn quiet_deliberate_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<&str>() != Some(&ROLLBACK) {
                default(info);
            }
        }));
    });
}

fn run(ops: &[Op]) {
    quiet_deliberate_panics();
    let (world, db) = new_world();
    let mut run = Run {
        worlds: vec![world],
        cs: Vec::new(),
        dbs: vec![db],
        refs: vec![RefDb {
            world: 0,
            c: None,
            rows: Default::default(),
        }],
        ids: Issued::default(),
    };
    for op in ops {
        let before: Vec<Db> = run.dbs.iter().map(Db::fork).collect();
        let refs_before = run.refs.clone();
        run.step(op);
        for d in 0..run.dbs.len() {
            if let Err(e) = run.dbs[d].check_integrity() {
                panic!("integrity of database {d} after {op:?}: {e}");
            }
            let now = run.dump(d, &run.dbs[d]);
            assert_eq!(
                now,
                ref_dump(&run.refs[d]),
                "database {d} differs from the reference after {op:?}"
            );
            run.probe(d, false);
            // Same slot, same reference state: the database is as before (a failed operation,
            // a read, an operation on another database).
            if before.len() == run.dbs.len()
                && refs_before[d] == run.refs[d]
                && !matches!(op, Op::Fork { .. } | Op::NewDb)
            {
                assert_eq!(run.dump(d, &before[d]), now, "{op:?} changed database {d}");
            }
        }
    }
}

proptest! {
    #[test]
    fn lineages_keep_ids_and_handles_apart(ops in prop::collection::vec(op(), 1..64)) {
        run(&ops);
    }
}
