//! The random operations of a history, each with its fuse, and their strategies.

use super::*;

#[derive(Clone, Copy, Debug)]
pub(super) struct Pick {
    pub(super) live: bool,
    pub(super) n: usize,
}

fn pick() -> impl Strategy<Value = Pick> {
    (prop::bool::weighted(0.9), any::<usize>()).prop_map(|(live, n)| Pick { live, n })
}

#[derive(Clone, Debug)]
pub(super) enum Kind {
    /// `key`: a tag (Node, Bud) or a pick of a node (Leaf, Twig); `None`: null (or tag 0).
    Insert {
        t: usize,
        key: Option<Pick>,
        n: u8,
    },
    Update {
        t: usize,
        row: Pick,
        key: Option<Pick>,
        n: u8,
    },
    Delete {
        t: usize,
        row: Pick,
    },
    /// `Table::modify`; `panics`: the change closure itself panics.
    Modify {
        t: usize,
        row: Pick,
        n: u8,
        panics: bool,
    },
    /// `Table::modify_all` of every Leaf (`leaves`) or Twig: a set-based update in place,
    /// saving whole storage leaves or single rows for the undo; `panics`: the change closure
    /// panics at the row numbered `at` in storage order.
    ModifyAll {
        leaves: bool,
        n: u8,
        panics: bool,
        at: u8,
    },
    /// Twig (`t == TWIG`) or Bud (`t == BUD`) `add`.
    Add {
        t: usize,
        node: Pick,
        child: Pick,
    },
    /// Twig `set`, or Leaf `set_with` (`delete`: the delete policy).
    Set {
        t: usize,
        node: Pick,
        children: Vec<Pick>,
        delete: bool,
    },
    RemoveTwigs {
        node: Pick,
        twigs: Vec<Pick>,
    },
    /// HasMany `create` of a Leaf, Twig or Bud.
    Create {
        t: usize,
        node: Pick,
        n: u8,
    },
    /// BelongsTo `create`: a new node for a twig (an insert, then a relink in another table).
    CreateNode {
        twig: Pick,
        tag: u8,
        n: u8,
    },
    /// Keeps a fork of the database (at most a few; the oldest goes).
    Snapshot,
    /// Drops every snapshot: storage stops being shared.
    Release,
    Begin {
        closure: bool,
    },
    Commit,
    Rollback,
    /// Panics inside the current transaction: the panic unwinds out of it.
    Abort,
}

#[derive(Clone, Debug)]
pub(super) struct Op {
    pub(super) kind: Kind,
    /// The row clone that panics during this operation (0: the first), if any.
    pub(super) fuse: Option<u32>,
    /// Whether a fork shares the storage while the operation runs (so its writes copy rows).
    pub(super) share: bool,
}

pub(super) fn op() -> impl Strategy<Value = Op> {
    let table = 0..TABLES;
    let key = || prop::option::weighted(0.9, pick());
    let picks = || prop::collection::vec(pick(), 0..4);
    let kind = prop_oneof![
        8 => (table.clone(), key(), any::<u8>()).prop_map(|(t, key, n)| Kind::Insert { t, key, n }),
        4 => (table.clone(), pick(), key(), any::<u8>()).prop_map(|(t, row, key, n)| Kind::Update { t, row, key, n }),
        3 => (table.clone(), pick()).prop_map(|(t, row)| Kind::Delete { t, row }),
        3 => (table, pick(), any::<u8>(), prop::bool::weighted(0.2))
            .prop_map(|(t, row, n, panics)| Kind::Modify { t, row, n, panics }),
        1 => (any::<bool>(), any::<u8>(), prop::bool::weighted(0.3), 0..6u8)
            .prop_map(|(leaves, n, panics, at)| Kind::ModifyAll { leaves, n, panics, at }),
        3 => (prop::sample::select(&[TWIG, BUD][..]), pick(), pick())
            .prop_map(|(t, node, child)| Kind::Add { t, node, child }),
        2 => (prop::sample::select(&[LEAF, TWIG][..]), pick(), picks(), any::<bool>())
            .prop_map(|(t, node, children, delete)| Kind::Set { t, node, children, delete }),
        1 => (pick(), picks()).prop_map(|(node, twigs)| Kind::RemoveTwigs { node, twigs }),
        2 => (prop::sample::select(&[LEAF, TWIG, BUD][..]), pick(), any::<u8>())
            .prop_map(|(t, node, n)| Kind::Create { t, node, n }),
        1 => (pick(), 0..TAGS, any::<u8>()).prop_map(|(twig, tag, n)| Kind::CreateNode { twig, tag, n }),
        6 => Just(Kind::Snapshot),
        1 => Just(Kind::Release),
        1 => any::<bool>().prop_map(|closure| Kind::Begin { closure }),
        1 => Just(Kind::Commit),
        1 => Just(Kind::Rollback),
        1 => Just(Kind::Abort),
    ];
    (
        kind,
        prop::option::weighted(0.6, prop_oneof![4 => 0..2u32, 1 => 0..16u32]),
        prop::bool::weighted(0.5),
    )
        .prop_map(|(kind, fuse, share)| Op { kind, fuse, share })
}

/// A history: mostly single operations; now and then 8–15 leaves created under one node, then
/// that node deleted with a fuse, under a snapshot half the time, so that a panic can strike a
/// cascade that empties a large bucket (in one step: the write path's `DROP_AT`); now and then a
/// few leaves created, then all updated by a closure that panics part-way.
pub(super) fn ops() -> impl Strategy<Value = Vec<Op>> {
    // `count` leaves created under `node`, then `last`.
    let then = |node, n, count, last: Op| {
        let create = Op {
            kind: Kind::Create { t: LEAF, node, n },
            fuse: None,
            share: false,
        };
        let mut ops = vec![create; count];
        ops.push(last);
        ops
    };
    let leaves = (pick(), any::<u8>(), 8..16usize, 0..64u32, any::<bool>()).prop_map(
        move |(node, n, count, fuse, share)| {
            let delete = Op {
                kind: Kind::Delete { t: NODE, row: node },
                fuse: Some(fuse),
                share,
            };
            then(node, n, count, delete)
        },
    );
    // A few leaves, then every leaf updated in place with the closure panicking part-way
    // (`at` may pass the end: then the update completes), under a snapshot half the time.
    let update = (pick(), any::<u8>(), 2..12usize, 0..16u8, any::<bool>()).prop_map(
        move |(node, n, count, at, share)| {
            let modify = Op {
                kind: Kind::ModifyAll {
                    leaves: true,
                    n: n.wrapping_add(1),
                    panics: true,
                    at,
                },
                fuse: None,
                share,
            };
            then(node, n, count, modify)
        },
    );
    let step = prop_oneof![
        20 => op().prop_map(|op| vec![op]),
        1 => leaves,
        1 => update,
    ];
    prop::collection::vec(step, 1..48).prop_map(|steps| steps.concat())
}

pub(super) fn class(e: Error) -> Fail {
    match e {
        Error::NotFound { .. } => Fail::NotFound,
        Error::Validation { .. } => Fail::Validation,
        Error::ForeignKey { .. } => Fail::ForeignKey,
        Error::Unique { .. } => Fail::Unique,
        other => panic!("unexpected error class: {other}"),
    }
}
