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

mod ops;
mod run;
mod step;

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

use proptest::prelude::*;
use relata::{Db, Error, HasMany, Id, Query, Table, Unique, Unlink, field, fk};

use ops::*;
use run::*;

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
