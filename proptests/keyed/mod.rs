//! Attribute-keyed associations and on-update chains against [`Keyed`], a naive reference.
//!
//! Schema (see `keyed_reference`): `Org.code` (unique) → `Dept.org_code` (a non-null foreign
//! key that is also unique, and the source key of the next link) → `Desk.dept_code`; `Desk.org`
//! by id; `Badge.org_code` has-one by code. The on-delete and on-update action of every link
//! is drawn per history (every valid combination), and so is whether the unique index on
//! `Dept.org_code` is declared before or after the association that uses the same field.
//!
//! After every operation: the result equals the reference's (deletes: the returned row and the
//! report's deleted and nulled rows; updates: the old row); `check_integrity` passes; the whole
//! database (rows by id, every association's children and parents, unique lookups) equals the
//! reference; an operation that changed nothing in the reference left the database equal to a
//! fork taken before it; `count == get().len()` and `has_all(get())` for every source; earlier
//! snapshots never change.

mod ops;
mod run;
mod schema;
mod step;

use std::collections::HashMap;

use proptest::prelude::*;
use relata::{
    AssocOptions, Change, Db, Error, HasMany, HasOne, Id, Key, OnDelete, OnUpdate, Query, Report,
    Row, Table, Unique, Unlink, field, fk,
};

use crate::keyed_reference::*;

use ops::*;
use run::*;
use schema::*;

/// A frozen reference dump, extended with the rows issued since (absent from it).
fn widened(mut dump: Dump, ids: &Ids) -> Dump {
    for t in 0..TABLES {
        dump.state.tables[t].resize(ids.len(t), None);
    }
    dump
}

fn run(actions: Actions, unique_first: bool, ops: &[Op]) {
    let (s, db) = schema(&actions, unique_first);
    let mut run = Run {
        s,
        db,
        ids: Ids::default(),
        model: Keyed::new(actions),
        snapshots: Vec::new(),
    };
    for op in ops {
        let before = run.db.fork();
        let model_before = run.model.state.clone();
        run.step(op);
        if let Err(e) = run.db.check_integrity() {
            panic!("integrity after {op:?}: {e}");
        }
        // Rows issued by the operation are in the reference already; rows created and rolled
        // back inside it were never issued.
        for t in 0..TABLES {
            assert_eq!(
                run.model.rows(t).len(),
                run.ids.len(t),
                "ids issued after {op:?}"
            );
        }
        let now = run.dump(&run.db);
        assert_eq!(
            now,
            run.model.dump(),
            "database differs from the reference after {op:?}"
        );
        if run.model.state == model_before {
            assert_eq!(run.dump(&before), now, "{op:?} changed the database");
        }
        for (snapshot, frozen) in &run.snapshots {
            assert_eq!(
                run.dump(snapshot),
                widened(frozen.clone(), &run.ids),
                "a snapshot changed after {op:?}"
            );
        }
    }
}

proptest! {
    #[test]
    fn keyed_cascades_match_the_reference(
        actions in actions(),
        unique_first in any::<bool>(),
        ops in prop::collection::vec(op(), 1..64),
    ) {
        run(actions, unique_first, &ops);
    }
}
