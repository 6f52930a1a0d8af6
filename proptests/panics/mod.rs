//! Rows whose `Clone` panics on demand, against a naive reference.
//!
//! Every row type here counts its clones against a thread-local fuse: an operation armed with
//! fuse `k` panics in the `k`-th row clone it makes (0: the first). relata clones rows when a
//! write touches storage still shared with a snapshot (`Db::fork`, an open transaction), when
//! `Table::modify` copies the row, and when a relink goes through a full replace (here: the
//! hand-built foreign key of `Bud`, which relata cannot prove independent of other indexes).
//! The histories take snapshots often, so writes keep copying shared storage.
//!
//! Schema: `Node { tag }` (tag unique); `Leaf.node` (non-null, Cascade); `Twig.node` (nullable,
//! SetNull); `Bud.tag` → `Node.tag` (nullable, hand-built key; on update Cascade, on delete
//! SetNull).
//!
//! Each operation runs inside `catch_unwind`. After every operation: `check_integrity` passes;
//! the whole database (rows by id, children and parents of every association, tag lookups)
//! equals the reference; an operation that panicked or failed left the database as it was (for
//! an operation run under a fork, `Op::share`: equal to that fork, with an empty change set
//! since it), and the database keeps working; snapshots never change. Panics also unwind out of transactions
//! (`Abort`), which must then leave the database as before.

mod model;
mod ops;
mod run;
mod step;

use std::cell::Cell;
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

use proptest::prelude::*;
use relata::{Db, Error, ForeignKey, HasMany, Id, Row, Table, Unique, Unlink, field, fk};

use model::*;
use ops::*;
use run::*;
use step::*;

thread_local! {
    /// Clones left before one panics; `None`: disarmed.
    static FUSE: Cell<Option<u32>> = const { Cell::new(None) };
}

/// The marker of every deliberate panic.
const BOOM: &str = "deliberate panic";

/// Counts one row clone against the fuse, and panics when it runs out.
fn tick() {
    FUSE.with(|f| match f.get() {
        Some(0) => {
            f.set(None);
            std::panic::panic_any(BOOM);
        }
        Some(k) => f.set(Some(k - 1)),
        None => {}
    });
}

/// Runs `f` with the fuse armed (`None`: disarmed); whether it panicked, and its value.
fn armed<R>(fuse: Option<u32>, f: impl FnOnce() -> R) -> Option<R> {
    FUSE.with(|c| c.set(fuse));
    let out = catch_unwind(AssertUnwindSafe(f));
    FUSE.with(|c| c.set(None));
    match out {
        Ok(v) => Some(v),
        Err(payload) if payload.downcast_ref::<&str>() == Some(&BOOM) => None,
        Err(payload) => std::panic::resume_unwind(payload),
    }
}

/// Keeps deliberate panics out of the test output; everything else goes to the default hook.
fn quiet_deliberate_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<&str>() != Some(&BOOM) {
                default(info);
            }
        }));
    });
}

macro_rules! touchy {
    ($name:ident { $($field:ident: $ty:ty),* }) => {
        #[derive(Debug, PartialEq)]
        struct $name {
            $($field: $ty),*
        }
        impl Clone for $name {
            fn clone(&self) -> Self {
                tick();
                $name { $($field: self.$field.clone()),* }
            }
        }
    };
}

touchy!(Node { tag: u8, n: u8 });
touchy!(Leaf { node: Id<Node>, n: u8 });
touchy!(Twig { node: Option<Id<Node>>, n: u8 });
touchy!(Bud { tag: Option<u8>, n: u8 });

const NODE: usize = 0;
const LEAF: usize = 1;
const TWIG: usize = 2;
const BUD: usize = 3;
const TABLES: usize = 4;
/// Tags used by the histories: few, so that they collide.
const TAGS: u8 = 6;

/// Snapshots taken so far, each with the reference dump it must keep showing.
type Snapshots = Vec<(Db, Model)>;

/// How a (nested) run of operations ended.
enum End {
    Commit,
    Rollback,
    OutOfOps,
}

/// After a rollback the reference goes back to its state at `Begin`, but rows created inside
/// stay issued, and dead.
fn widened(run: &Run, mut saved: Model) -> Model {
    for t in 0..TABLES {
        saved.tables[t].resize(run.ids.len(t), None);
    }
    saved
}

/// Applies operations until the transaction at `depth` ends, checking after every one.
fn run_until_end(
    run: &mut Run,
    db: &mut Db,
    model: &mut Model,
    snapshots: &mut Snapshots,
    ops: &mut std::slice::Iter<'_, Op>,
    depth: usize,
) -> End {
    while let Some(op) = ops.next() {
        // Held through the operation half the time, so its writes copy shared storage; the
        // other half, nothing shares the storage it writes and its undo must restore rows in
        // place (the reference alone then checks that nothing changed).
        let before = op.share.then(|| db.fork());
        let model_before = model.clone();
        let mut panicked = false;
        match &op.kind {
            Kind::Commit if depth > 0 => return End::Commit,
            Kind::Rollback if depth > 0 => return End::Rollback,
            Kind::Abort if depth > 0 => std::panic::panic_any(BOOM),
            Kind::Commit | Kind::Rollback | Kind::Abort => {}
            Kind::Snapshot => {
                if snapshots.len() == 3 {
                    snapshots.remove(0);
                }
                snapshots.push((db.fork(), model.clone()));
            }
            Kind::Release => snapshots.clear(),
            Kind::Begin { closure } => {
                // A panic anywhere inside (an `Abort`) unwinds out of the transaction.
                let kept = armed(None, || {
                    if *closure {
                        db.transaction(|tx| {
                            match run_until_end(run, tx, model, snapshots, ops, depth + 1) {
                                End::Commit => Ok(()),
                                End::Rollback | End::OutOfOps => Err(()),
                            }
                        })
                        .is_ok()
                    } else {
                        let mut tx = db.begin();
                        match run_until_end(run, &mut tx, model, snapshots, ops, depth + 1) {
                            End::Commit => {
                                tx.commit();
                                true
                            }
                            End::Rollback | End::OutOfOps => {
                                tx.rollback();
                                false
                            }
                        }
                    }
                });
                if kept != Some(true) {
                    *model = widened(run, model_before.clone());
                }
                panicked = kept.is_none();
            }
            _ => panicked = step(run, db, model, op),
        }
        if let Err(e) = db.check_integrity() {
            panic!("integrity after {op:?} (panicked: {panicked}): {e}");
        }
        let now = run.dump(db);
        assert_eq!(
            now,
            model_dump(&widened(run, model.clone())),
            "database differs from the reference after {op:?} (panicked: {panicked})"
        );
        if let Some(before) = &before {
            if panicked || widened(run, model_before) == *model {
                assert_eq!(
                    run.dump(before),
                    now,
                    "{op:?} changed the database (panicked: {panicked})"
                );
            }
            if panicked {
                // Nor does a change set see it: every mark of a write undone is undone too.
                assert!(
                    db.changes_since(before).is_empty(),
                    "{op:?} panicked and left a change set"
                );
            }
        }
        for (snapshot, frozen) in snapshots.iter() {
            assert_eq!(
                run.dump(snapshot),
                model_dump(&widened(run, frozen.clone())),
                "a snapshot changed after {op:?}"
            );
        }
    }
    End::OutOfOps
}

fn run_ops(ops: &[Op]) {
    quiet_deliberate_panics();
    let (s, mut db) = schema();
    let mut run = Run {
        s,
        ids: Ids::default(),
    };
    let mut model = Model::default();
    let mut snapshots = Vec::new();
    run_until_end(
        &mut run,
        &mut db,
        &mut model,
        &mut snapshots,
        &mut ops.iter(),
        0,
    );
}

proptest! {
    #[test]
    fn panicking_clones_leave_the_database_as_before(ops in ops()) {
        run_ops(&ops);
    }
}
