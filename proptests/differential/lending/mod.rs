//! Schema "lending": secondary, composite and partial indexes, range reads and set-based
//! writes (issue 12), against SQLite with the same indexes.
//!
//! `loan.member` (NOT NULL, ON DELETE RESTRICT), `loan.book` (NOT NULL, ON DELETE CASCADE),
//! `fine.loan` (NOT NULL, ON DELETE CASCADE): deleting books cascades two tables deep. Indexes:
//! `book.title` UNIQUE (relata `db.unique`, a `String` key read by `&str`); `loan(due_on)`
//! (`db.index`); `loan(member, due_on)` (`db.index_by`, a tuple); `loan(book) WHERE returned =
//! 0` UNIQUE (`db.unique_where`: one active loan per book); `loan(due_on) WHERE returned = 0`
//! (`db.index_where`).
//!
//! Translations:
//! - `Table::modify_where`, `Index::modify_range`, `Unique::modify_range` are `UPDATE … SET …
//!   WHERE …` (the range as `col >= ? AND col < ?`, a composite one as a row value,
//!   `(member, due_on) >= (?, ?)`); the count returned is SQLite's `changes()`.
//! - `Table::delete_where`, `Index::delete_range`, `Unique::delete_range` are `DELETE … WHERE …`;
//!   the report's deleted rows per table are compared with the rows each table lost.
//! - Range reads are `SELECT id … WHERE <range> ORDER BY <key>, id` (ids order by creation, as
//!   AUTOINCREMENT rowids do); `count_range` is `count(*)`; `Index::query` adds the filter and
//!   `ORDER BY id DESC` or the key order, `LIMIT` and `OFFSET`.
//! - `insert_many` is one INSERT per row in one savepoint (SQLite checks foreign keys when each
//!   statement ends, as relata checks each row); `Unique::upsert` / `find_or_insert` are
//!   `INSERT … ON CONFLICT (…) [WHERE returned = 0] DO UPDATE SET … / DO NOTHING`.
//!
//! Where the two may differ, the histories avoid the case (and say so):
//! - A set-based UPDATE checks UNIQUE row by row in both, but in different orders (relata: in
//!   storage order for `modify_where`, in key order for `modify_range`; SQLite: in its query
//!   plan's order). They agree whenever the result does not depend on the order, that is,
//!   unless a row takes a key that another row of the same update gives up (a swap or a
//!   shift of keys, which succeeds in one order and fails in another): such updates are
//!   skipped ([`order_dependent`]). Every other unique conflict, with rows outside the
//!   update or between rows of the update that end on the same key, is compared.
//! - SQLite checks foreign keys when the statement ends, UNIQUE at each row; relata checks
//!   each row's keys in the order its indexes were declared. So the unique indexes are
//!   declared before the foreign keys (a single row that breaks both reports the unique key
//!   in both). One set-based case remains: active loans moved together to a book that does
//!   not exist break the foreign key (relata, at the first row) and the partial unique key
//!   (SQLite, at the second row, before its end-of-statement foreign-key check); there only
//!   "both fail and nothing changes" is compared ([`settle`]).

mod both;
mod ops;
mod schema;
mod step;

use std::ops::Bound;

use proptest::prelude::*;
use relata::{
    AssocOptions, Db, Error, Id, Index, OnDelete, Query, Report, Row, Table, Unique, field, fk,
};
use rusqlite::types::Value;
use rusqlite::{OptionalExtension, params_from_iter};

use crate::ids::Issued;
use crate::model::{Class, Dump, NAMES, V};
use crate::sql::{Column, R, Sql};
use crate::{Pick, choose, pick};

use both::*;
use ops::*;
use schema::*;

/// Applies `history` to both sides, comparing after every step.
pub fn check(history: &[Op]) {
    let mut both = Both {
        rel: Rel::new(),
        sql: Sql::open(SCHEMA, &TABLES),
    };
    for op in history {
        let before = both.rel.db.fork();
        let dump_before = both.rel.dump();
        both.step(op);
        if let Err(e) = both.rel.db.check_integrity() {
            panic!("relata's integrity check after {op:?}: {e}");
        }
        assert_eq!(
            both.rel.dump(),
            both.sql.dump(),
            "relata (left) and SQLite (right) disagree on the contents after {op:?}"
        );
        // The fork taken before the step is untouched by it.
        let now = std::mem::replace(&mut both.rel.db, before);
        assert_eq!(
            both.rel.dump(),
            dump_before,
            "the fork before {op:?} changed"
        );
        both.rel.db = now;
    }
}

proptest! {
    #![proptest_config(crate::config())]

    /// Paste a failure's minimal history into `regressions.rs` as `lending::check(&[...])`.
    #[test]
    fn lending_agrees_with_sqlite(history in history()) {
        check(&history);
    }
}

/// SQLite checks a partial UNIQUE index row by row during an UPDATE, as relata does: a shift
/// of active loans between books fails or succeeds depending on the order the rows are
/// visited in. Pinned here (it is why [`order_dependent`] updates are skipped), beside
/// relata's answer for its storage order.
#[test]
fn a_set_based_update_that_swaps_unique_keys_depends_on_the_order() {
    // SQLite: loan 1 holds book 1 and moves to book 2, which loan 2 holds and leaves.
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    conn.execute_batch(SCHEMA).unwrap();
    conn.execute_batch(
        "INSERT INTO member (id, n) VALUES (1, 0);
         INSERT INTO book (id, title, n) VALUES (1, 'ann', 0), (2, 'bea', 0), (3, 'cid', 0);
         INSERT INTO loan (id, member, book, due_on, returned) VALUES (1, 1, 1, 0, 0), (2, 1, 2, 0, 0);",
    )
    .unwrap();
    // Visiting loan 1 first: it takes book 2 while loan 2 still holds it.
    let forward = conn.execute("UPDATE loan SET book = book + 1", []);
    assert!(forward.is_err(), "row by row, in rowid order: {forward:?}");
    // Visiting loan 2 first (the index on book, descending): both moves succeed.
    let backward = conn.execute(
        "UPDATE loan SET book = book + 1 WHERE id IN (SELECT id FROM loan ORDER BY book DESC)",
        [],
    );
    let _ = backward; // SQLite may still visit in rowid order; only the first is pinned.

    // relata, storage order: loan 1 first, the same failure, and nothing changed.
    let mut rel = Rel::new();
    let r = &mut rel;
    let m = r.members.insert(&mut r.db, Member { n: 0 }).unwrap();
    let books: Vec<Id<Book>> = ["ann", "bea", "cid"]
        .iter()
        .map(|t| {
            r.books
                .insert(
                    &mut r.db,
                    Book {
                        title: t.to_string(),
                        n: 0,
                    },
                )
                .unwrap()
        })
        .collect();
    for &book in &books[..2] {
        let loan = Loan {
            member: m,
            book,
            due_on: 0,
            returned: false,
        };
        r.loans.insert(&mut r.db, loan).unwrap();
    }
    let next = |b: Id<Book>| books[books.iter().position(|&x| x == b).unwrap() + 1];
    let shifted = r.loans.modify_all(&mut r.db, |l| l.book = next(l.book));
    assert!(matches!(shifted, Err(Error::Unique { .. })), "{shifted:?}");
    assert_eq!(
        r.active.find(&r.db, &books[0]).unwrap().map(|l| l.book),
        Some(books[0])
    );
    // In key order, descending, the same change succeeds: the order decides.
    let mut ids: Vec<Id<Loan>> = r.loans.iter(&r.db).unwrap().map(|l| l.id()).collect();
    ids.reverse();
    for id in ids {
        r.loans
            .modify(&mut r.db, id, |l| l.book = next(l.book))
            .unwrap();
    }
    r.db.check_integrity().unwrap();
}
