//! `Table::iter` against a naive reference: random histories of inserts, deletes (slots
//! freed and reused out of turn), `insert_many`s that fail and roll back, transactions that
//! fail, and snapshots; after every step, every snapshot's `iter` lists exactly its rows in
//! creation order, from the front, from the back and from both ends in a random interleaving,
//! with an exact length, and `fold` after a partial read gives the rest.

use std::collections::BTreeMap;

use proptest::prelude::*;
use relata::{Db, Error, Id, Table};

#[derive(Clone, Debug, PartialEq)]
struct Unit {
    hp: u32,
    /// Unique: a repeated tag makes a write fail.
    tag: u32,
}

#[derive(Clone, Debug)]
enum Op {
    Insert(u32),
    /// Deletes the `pick % len`-th live row (in creation order).
    Delete(usize),
    /// Inserts `n` rows; when `fail`, one more repeats the first one's unique tag, and the
    /// whole call fails and rolls back.
    InsertMany {
        n: u32,
        fail: bool,
    },
    /// Deletes one row and inserts two in a transaction that then fails (a repeated tag).
    FailedTxn(usize),
    Snapshot,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..1000u32).prop_map(Op::Insert),
        3 => any::<usize>().prop_map(Op::Delete),
        1 => (1..40u32, any::<bool>()).prop_map(|(n, fail)| Op::InsertMany { n, fail }),
        1 => any::<usize>().prop_map(Op::FailedTxn),
        1 => Just(Op::Snapshot),
    ]
}

/// The rows of a state, by id: ids order by creation.
type Rows = BTreeMap<Id<Unit>, Unit>;

struct History {
    db: Db,
    units: Table<Unit>,
    reference: Rows,
    next_tag: u32,
}

impl History {
    fn unit(&mut self, hp: u32) -> Unit {
        self.next_tag += 1;
        Unit {
            hp,
            tag: self.next_tag,
        }
    }

    fn nth(&self, pick: usize) -> Option<Id<Unit>> {
        let len = self.reference.len();
        self.reference.keys().nth(pick % len.max(1)).copied()
    }

    fn apply(&mut self, op: &Op) {
        let units = self.units;
        match op {
            Op::Insert(hp) => {
                let row = self.unit(*hp);
                let id = units.insert(&mut self.db, row.clone()).unwrap();
                self.reference.insert(id, row);
            }
            Op::Delete(pick) => {
                if let Some(id) = self.nth(*pick) {
                    units.delete(&mut self.db, id).unwrap();
                    self.reference.remove(&id);
                }
            }
            Op::InsertMany { n, fail } => {
                let mut rows: Vec<_> = (0..*n).map(|hp| self.unit(hp)).collect();
                if *fail {
                    let repeat = Unit {
                        hp: 0,
                        tag: rows[0].tag,
                    };
                    rows.push(repeat);
                    let before = self.db.fork();
                    assert!(units.insert_many(&mut self.db, rows).is_err());
                    let changes = self.db.changes_since(&before);
                    assert!(changes.table(units).unwrap().is_empty());
                } else {
                    let ids = units.insert_many(&mut self.db, rows.clone()).unwrap();
                    self.reference.extend(ids.into_iter().zip(rows));
                }
            }
            Op::FailedTxn(pick) => {
                let victim = self.nth(*pick);
                let (a, b) = (self.unit(1), self.unit(2));
                let repeat = a.clone();
                let result: Result<(), Error> = self.db.transaction(|tx| {
                    if let Some(id) = victim {
                        units.delete(tx, id)?;
                    }
                    units.insert(tx, a)?;
                    units.insert(tx, b)?;
                    units.insert(tx, repeat)?;
                    Ok(())
                });
                assert!(matches!(result, Err(Error::Unique { .. })), "{result:?}");
            }
            Op::Snapshot => {}
        }
    }
}

fn check(db: &Db, units: Table<Unit>, reference: &Rows, interleave: u64) {
    let expected: Vec<(Id<Unit>, Unit)> = reference.iter().map(|(&k, v)| (k, v.clone())).collect();
    let read = |r: relata::Row<'_, Unit>| (r.id(), r.value().clone());
    let forward: Vec<_> = units.iter(db).unwrap().map(read).collect();
    assert_eq!(forward, expected, "from the front");
    let mut backward: Vec<_> = units.iter(db).unwrap().rev().map(read).collect();
    backward.reverse();
    assert_eq!(backward, expected, "from the back");

    // Both ends, in the order the bits of `interleave` say, checking the length at each step.
    let mut it = units.iter(db).unwrap();
    let (mut head, mut tail) = (Vec::new(), Vec::new());
    for step in 0..expected.len() {
        assert_eq!(it.len(), expected.len() - step);
        if interleave >> (step % 64) & 1 == 0 {
            head.push(read(it.next().unwrap()));
        } else {
            tail.push(read(it.next_back().unwrap()));
        }
    }
    assert!(it.next().is_none() && it.next_back().is_none());
    tail.reverse();
    head.extend(tail);
    assert_eq!(head, expected, "from both ends");

    // A partial read from each end, then `fold` over the rest.
    let mut it = units.iter(db).unwrap();
    let (front, back) = ((interleave % 5) as usize, (interleave / 5 % 3) as usize);
    let mut got: Vec<_> = it.by_ref().take(front).map(read).collect();
    let mut tail: Vec<_> = it.by_ref().rev().take(back).map(read).collect();
    it.fold((), |(), r| got.push(read(r)));
    tail.reverse();
    got.extend(tail);
    assert_eq!(
        got, expected,
        "fold after {front} from the front and {back} from the back"
    );
}

proptest! {
    #![proptest_config(crate::config(256))]

    #[test]
    fn iter_is_creation_order_after_any_history(
        ops in prop::collection::vec(op(), 1..64),
        interleave in any::<u64>(),
    ) {
        let mut db = Db::new();
        let units = db.create_table::<Unit>().unwrap();
        db.unique(units, relata::field!(Unit, tag)).unwrap();
        let mut h = History { db, units, reference: Rows::new(), next_tag: 0 };
        let mut snapshots: Vec<(Db, Rows)> = Vec::new();
        for op in &ops {
            h.apply(op);
            if let Op::Snapshot = op {
                snapshots.push((h.db.fork(), h.reference.clone()));
            }
            check(&h.db, units, &h.reference, interleave);
            for (snapshot, rows) in &snapshots {
                check(snapshot, units, rows, interleave.rotate_left(7));
            }
        }
    }
}
