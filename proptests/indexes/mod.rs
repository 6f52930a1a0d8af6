//! Secondary, composite and partial indexes, range reads, set-based writes and upserts (issue
//! 12) against [`Lending`], a naive reference that answers every index read by a scan.
//!
//! Schema (see `indexes_reference`): the lending app. `Member` has a computed unique key over
//! a tuple, `(branch, card)`; `Book` a unique `String` title; `Loan` references both (has-many,
//! on-delete cascade, restrict or no action, drawn per history) and carries a secondary index
//! on `due_on`, a composite computed one on `(member, due_on)`, a partial unique index "one
//! active loan per book" and a partial secondary index on the active loans' `due_on`. Whether
//! the loans' indexes are declared before or after their foreign keys is drawn too (it decides
//! which error a row that breaks both reports). `Review.title` references `Book.title`
//! (has-many by an attribute key, on update and on delete cascade): books are a source key, so
//! their set-based updates take the other path of the write path (each row through `update`,
//! its reviews following), while members and loans change in place.
//!
//! Operations: inserts, updates, modifies and deletes; every read of every index (`find`,
//! `count`, `range` and `count_range` with random inclusive, exclusive, unbounded and inverted
//! bounds, `iter`, `query` with filter, order, limit and offset), `Table::select`; set-based
//! writes (`modify_all`, `modify_where`, `Index::modify_range`, `Unique::modify_range`,
//! `delete_where`, `delete_range` with cascades, `insert_many`), including ones that break a
//! key half-way through their selection or whose closure (filter, change, row iterator) panics
//! on its k-th call; upserts (`find_or_insert`, `upsert`) through every unique index, the
//! partial one included; `String` keys looked up and ranged by `&str`.
//!
//! Semantics checked:
//! - index order is key order, then creation order within a key; `find` is creation order;
//!   `Table::iter` is creation order; `Index::query` without an order is key order, and its
//!   order is a stable sort of that (an order with ties keeps key order); an inverted range is
//!   empty;
//! - a set-based update runs `change` on every selected row, then checks each row as a single
//!   update would be checked, against the rows changed before it and the rows not yet changed,
//!   in storage order for `modify_where` / `modify_all` (taken from `Table::scan`, which is
//!   storage order by definition) and in index order for `modify_range`; the first failure,
//!   or any panic (the change panics after it has changed its row in place), changes nothing;
//!   `insert_many` checks each row as it comes, so a bad row before the panicking one fails
//!   first;
//! - a delete's report lists the selected rows first, in creation order.
//!
//! After every operation: the result equals the reference's; `check_integrity` passes; every
//! table (rows, `len`, `contains`, `scan` as a set), every association's children and parents,
//! and every index (`iter`, `count_range(..)`, `find` and `count` for a fixed set of probe
//! keys) equal the reference's; a fork taken before the operation still shows the state from
//! before it; an operation that failed, panicked or changed nothing left the database equal
//! to that fork, storage order (`scan`) included.

mod ops;
mod outcome;
mod run;
mod schema;
mod step;

use std::borrow::Borrow;
use std::cell::Cell;
use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;
use std::panic::{AssertUnwindSafe, catch_unwind};

use proptest::prelude::*;
use relata::{
    AssocOptions, Db, Error, HasMany, Id, Index, Model, OnDelete, OnUpdate, Query, Report, Row,
    Table, Unique, field, fk,
};

use crate::indexes_reference::*;

use ops::*;
use outcome::*;
use run::*;
use schema::*;

fn run(member_act: Act, book_act: Act, indexes_first: bool, ops: &[Op]) {
    quiet_deliberate_panics();
    let (s, db) = schema(member_act, book_act, indexes_first);
    let mut run = Run {
        s,
        db,
        ids: Ids::default(),
        model: Lending::new(member_act, book_act, indexes_first),
    };
    for op in ops {
        let before = run.db.fork();
        let model_before = run.model.state.clone();
        let probes_before = probes(&run.model);
        let dump_before = model_dump(&run.model, &probes_before);
        let scans_before = [MEMBER, BOOK, LOAN, REVIEW].map(|t| run.scan_of(t, &before));
        run.step(op);
        if let Err(e) = run.db.check_integrity() {
            panic!("integrity after {op:?}: {e}");
        }
        for t in [MEMBER, BOOK, LOAN, REVIEW] {
            assert_eq!(
                run.model.rows(t).len(),
                run.ids.len(t),
                "ids issued after {op:?}"
            );
        }
        let probes_now = probes(&run.model);
        assert_eq!(
            run.dump(&run.db, &probes_now),
            model_dump(&run.model, &probes_now),
            "database differs from the reference after {op:?}"
        );
        // The fork taken before the operation is untouched by it.
        before.check_integrity().unwrap();
        assert_eq!(
            run.dump(&before, &probes_before),
            dump_before,
            "the fork taken before {op:?} changed"
        );
        if run.model.state == model_before {
            // Failed, panicked or changed nothing: as the fork, storage order included.
            assert_eq!(
                run.dump(&run.db, &probes_before),
                run.dump(&before, &probes_before),
                "{op:?} changed the database"
            );
            let scans = [MEMBER, BOOK, LOAN, REVIEW].map(|t| run.scan_of(t, &run.db));
            assert_eq!(scans, scans_before, "{op:?} changed the storage order");
        }
    }
}

proptest! {
    #[test]
    fn indexes_and_set_based_writes_match_the_reference(
        member_act in acts(),
        book_act in acts(),
        indexes_first in any::<bool>(),
        ops in history(),
    ) {
        run(member_act, book_act, indexes_first, &ops);
    }
}
