//! The random operations of a history, the drawn actions, and their strategies.

use super::*;

#[derive(Clone, Copy, Debug)]
pub(super) struct Pick {
    pub(super) live: bool,
    pub(super) n: usize,
}

pub(super) fn pick() -> impl Strategy<Value = Pick> {
    (prop::bool::weighted(0.9), any::<usize>()).prop_map(|(live, n)| Pick { live, n })
}

/// A foreign-key value: the key of a (live) parent row, or a raw code that may name nothing.
#[derive(Clone, Copy, Debug)]
pub(super) enum Arg {
    Of(Pick),
    Raw(u8),
}

pub(super) fn arg() -> impl Strategy<Value = Arg> {
    prop_oneof![6 => pick().prop_map(Arg::Of), 1 => (0..CODES).prop_map(Arg::Raw)]
}

pub(super) fn policy() -> impl Strategy<Value = Policy> {
    prop_oneof![
        4 => Just(Policy::Default),
        1 => Just(Policy::Nullify),
        1 => Just(Policy::Reject),
        2 => Just(Policy::Delete),
    ]
}

#[derive(Clone, Debug)]
pub(super) enum Op {
    Insert {
        t: usize,
        code: Arg,
        fks: [Option<Arg>; 3],
        n: u8,
    },
    /// `Table::update`, or `Table::modify` (`modify`), which returns no old row.
    Update {
        t: usize,
        row: Pick,
        code: Arg,
        fks: [Option<Arg>; 3],
        n: u8,
        modify: bool,
    },
    Delete {
        t: usize,
        row: Pick,
    },
    /// `get`, `count` and `query` of a has-many link (0..3).
    Children {
        l: usize,
        s: Pick,
    },
    Add {
        l: usize,
        s: Pick,
        c: Pick,
    },
    Remove {
        l: usize,
        s: Pick,
        cs: Vec<Pick>,
        policy: Policy,
    },
    Set {
        l: usize,
        s: Pick,
        cs: Vec<Pick>,
        policy: Policy,
    },
    Create {
        l: usize,
        s: Pick,
        fks: [Option<Arg>; 3],
        n: u8,
    },
    HasAll {
        l: usize,
        s: Pick,
        cs: Vec<Pick>,
    },
    /// `BelongsTo::set` of a link (0..4).
    SetParent {
        l: usize,
        c: Pick,
        s: Option<Pick>,
    },
    Parent {
        l: usize,
        c: Pick,
    },
    /// HasOne (link 3) `set_with`.
    SetOne {
        s: Pick,
        c: Option<Pick>,
        policy: Policy,
    },
    CreateOne {
        s: Pick,
        n: u8,
    },
    Find {
        dept: bool,
        code: u8,
    },
    Snapshot,
}

pub(super) fn fks() -> impl Strategy<Value = [Option<Arg>; 3]> {
    [
        prop::option::weighted(0.85, arg()),
        prop::option::weighted(0.8, arg()),
        prop::option::weighted(0.3, arg()),
    ]
}

pub(super) fn op() -> impl Strategy<Value = Op> {
    let picks = || prop::collection::vec(pick(), 0..4);
    let n = || any::<u8>();
    // Orgs and depts are few (codes collide), desks and badges many.
    let table = prop_oneof![3 => Just(ORG), 3 => Just(DEPT), 4 => Just(DESK), 2 => Just(BADGE)];
    let code = prop_oneof![3 => (0..CODES).prop_map(Arg::Raw), 1 => pick().prop_map(Arg::Of)];
    prop_oneof![
        10 => (table.clone(), code.clone(), fks(), n()).prop_map(|(t, code, fks, n)| Op::Insert { t, code, fks, n }),
        4 => (table.clone(), pick(), code.clone(), fks(), n(), prop::bool::weighted(0.25))
            .prop_map(|(t, row, code, fks, n, modify)| Op::Update { t, row, code, fks, n, modify }),
        // Renames an org: the change carries on down the chain of keys.
        4 => (pick(), code, n(), prop::bool::weighted(0.25)).prop_map(|(row, code, n, modify)| {
            Op::Update { t: ORG, row, code, fks: [None, None, None], n, modify }
        }),
        3 => (table, pick()).prop_map(|(t, row)| Op::Delete { t, row }),
        1 => (hm_link(), pick()).prop_map(|(l, s)| Op::Children { l, s }),
        3 => (hm_link(), pick(), pick()).prop_map(|(l, s, c)| Op::Add { l, s, c }),
        2 => (hm_link(), pick(), picks(), policy()).prop_map(|(l, s, cs, policy)| Op::Remove { l, s, cs, policy }),
        2 => (hm_link(), pick(), picks(), policy()).prop_map(|(l, s, cs, policy)| Op::Set { l, s, cs, policy }),
        4 => (hm_link(), pick(), fks(), n()).prop_map(|(l, s, fks, n)| Op::Create { l, s, fks, n }),
        1 => (hm_link(), pick(), picks()).prop_map(|(l, s, cs)| Op::HasAll { l, s, cs }),
        2 => (bt_link(), pick(), prop::option::weighted(0.8, pick())).prop_map(|(l, c, s)| Op::SetParent { l, c, s }),
        1 => (bt_link(), pick()).prop_map(|(l, c)| Op::Parent { l, c }),
        2 => (pick(), prop::option::weighted(0.8, pick()), policy()).prop_map(|(s, c, policy)| Op::SetOne { s, c, policy }),
        1 => (pick(), n()).prop_map(|(s, n)| Op::CreateOne { s, n }),
        1 => (any::<bool>(), 0..CODES).prop_map(|(dept, code)| Op::Find { dept, code }),
        1 => Just(Op::Snapshot),
    ]
}

/// The has-many links (link 3 is the has-one).
fn hm_link() -> impl Strategy<Value = usize> {
    prop::sample::select(&[0usize, 1, 2, 4][..])
}

/// Every link, for belongs-to reads and writes.
fn bt_link() -> impl Strategy<Value = usize> {
    0..LINKS
}

fn act(choices: &'static [Act]) -> impl Strategy<Value = Act> {
    prop::sample::select(choices)
}

const NON_NULL: &[Act] = &[Act::Cascade, Act::Cascade, Act::Restrict, Act::NoAction];
const ANY: &[Act] = &[Act::Cascade, Act::SetNull, Act::Restrict, Act::NoAction];

pub(super) fn actions() -> impl Strategy<Value = Actions> {
    (
        act(NON_NULL),
        act(NON_NULL),
        act(ANY),
        act(ANY),
        act(ANY),
        act(ANY),
        act(ANY),
        act(ANY),
    )
        .prop_map(|(d1, u1, d2, u2, d3, d4, u4, d5)| Actions {
            d1,
            u1,
            d2,
            u2,
            d3,
            d4,
            u4,
            d5,
        })
}

pub(super) fn class(e: Error) -> Fail {
    match e {
        Error::NotFound { .. } => Fail::NotFound,
        Error::Validation { .. } => Fail::Validation,
        Error::ForeignKey { .. } => Fail::ForeignKey,
        Error::Unique { .. } => Fail::Unique,
        Error::Restricted { .. } => Fail::Restricted,
        Error::Conflict { .. } => Fail::Conflict,
        other => panic!("unexpected error class: {other}"),
    }
}

pub(super) fn policy_of(p: Policy) -> Option<Unlink> {
    match p {
        Policy::Default => None,
        Policy::Nullify => Some(Unlink::Nullify),
        Policy::Reject => Some(Unlink::Reject),
        Policy::Delete => Some(Unlink::Delete),
    }
}
