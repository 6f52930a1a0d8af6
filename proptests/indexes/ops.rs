//! The random operations of a history and their strategies.

use super::*;

/// Names a row: usually a live one, sometimes any ever issued (possibly deleted).
#[derive(Clone, Copy, Debug)]
pub(super) struct Pick {
    pub(super) live: bool,
    pub(super) n: usize,
}

pub(super) fn pick() -> impl Strategy<Value = Pick> {
    (prop::bool::weighted(0.9), 0..1000usize).prop_map(|(live, n)| Pick { live, n })
}

/// A range bound's kind.
#[derive(Clone, Copy, Debug)]
pub(super) enum Bk {
    Unbounded,
    Included,
    Excluded,
}

/// A range bound (or, for `find`, a key): `v` and `p` make the key of whichever index it is
/// used on (see [`Run::key`]).
#[derive(Clone, Copy, Debug)]
pub(super) struct B {
    pub(super) kind: Bk,
    pub(super) p: Pick,
    pub(super) v: u8,
}

fn bound_kind() -> impl Strategy<Value = Bk> {
    prop_oneof![
        1 => Just(Bk::Unbounded),
        2 => Just(Bk::Included),
        2 => Just(Bk::Excluded),
    ]
}

pub(super) fn bound() -> impl Strategy<Value = B> {
    (bound_kind(), pick(), any::<u8>()).prop_map(|(kind, p, v)| B { kind, p, v })
}

/// Two bounds: independent (often inverted), or a narrow range over the same pick.
pub(super) fn bounds() -> impl Strategy<Value = (B, B)> {
    prop_oneof![
        2 => (bound(), bound()),
        3 => (bound(), bound_kind(), 0..4u8).prop_map(|(lo, kind, width)| {
            (lo, B { kind, p: lo.p, v: lo.v.wrapping_add(width) })
        }),
    ]
}

/// A row to write, its foreign keys as picks.
#[derive(Clone, Copy, Debug)]
pub(super) enum RowSpec {
    Member {
        branch: u8,
        card: u8,
        n: u8,
    },
    Book {
        title: u8,
        n: u8,
    },
    Review {
        title: u8,
        n: u8,
    },
    Loan {
        member: Pick,
        book: Pick,
        due_on: u8,
        returned: bool,
    },
}

fn row_spec(t: usize) -> BoxedStrategy<RowSpec> {
    match t {
        MEMBER => (0..BRANCHES, 0..CARDS, any::<u8>())
            .prop_map(|(branch, card, n)| RowSpec::Member { branch, card, n })
            .boxed(),
        BOOK => (0..TITLES.len() as u8, any::<u8>())
            .prop_map(|(title, n)| RowSpec::Book { title, n })
            .boxed(),
        REVIEW => (0..TITLES.len() as u8, any::<u8>())
            .prop_map(|(title, n)| RowSpec::Review { title, n })
            .boxed(),
        _ => (pick(), pick(), 0..DUE, prop::bool::weighted(0.6))
            .prop_map(|(member, book, due_on, returned)| RowSpec::Loan {
                member,
                book,
                due_on,
                returned,
            })
            .boxed(),
    }
}

pub(super) fn table() -> impl Strategy<Value = usize> {
    prop_oneof![1 => Just(MEMBER), 1 => Just(BOOK), 3 => Just(LOAN), 1 => Just(REVIEW)]
}

fn any_row() -> impl Strategy<Value = RowSpec> {
    table().prop_flat_map(row_spec)
}

/// What to read from an index.
#[derive(Clone, Copy, Debug)]
pub(super) enum Read {
    /// `find` of the key `lo` names.
    Find,
    /// `count` of the key `lo` names (`Unique`: whether `find` finds it).
    Count,
    Range,
    CountRange,
    Iter,
    Query(QSpec),
}

fn qspec() -> impl Strategy<Value = QSpec> {
    let filter = prop_oneof![
        Just(Filter::IdEven),
        (0..DUE).prop_map(Filter::NumBelow),
        any::<bool>().prop_map(Filter::Flag),
    ];
    let order = prop_oneof![
        Just(Order::IdDesc),
        Just(Order::NumDescIdAsc),
        Just(Order::Flag)
    ];
    (
        prop::option::of(filter),
        prop::option::of(order),
        prop::option::weighted(0.5, 0..6usize),
        prop_oneof![2 => Just(0usize), 1 => 0..5usize],
    )
        .prop_map(|(filter, order, limit, offset)| QSpec {
            filter,
            order,
            limit,
            offset,
        })
}

pub(super) fn read() -> impl Strategy<Value = Read> {
    prop_oneof![
        2 => Just(Read::Find),
        1 => Just(Read::Count),
        3 => Just(Read::Range),
        1 => Just(Read::CountRange),
        1 => Just(Read::Iter),
        3 => qspec().prop_map(Read::Query),
    ]
}

pub(super) fn index() -> impl Strategy<Value = Ix> {
    prop_oneof![
        3 => Just(Ix::Due),
        3 => Just(Ix::MemberDue),
        2 => Just(Ix::Active),
        2 => Just(Ix::ActiveDue),
        3 => Just(Ix::Title),
        3 => Just(Ix::Card),
    ]
}

/// A set-based change, its picks not yet resolved (see [`Change`]).
#[derive(Clone, Copy, Debug)]
pub(super) enum ChangeSpec {
    Shift(u8),
    Set(u8),
    Flag(bool),
    Toggle,
    Ref(Pick),
    Other(Pick),
}

pub(super) fn change() -> impl Strategy<Value = ChangeSpec> {
    prop_oneof![
        4 => (1..DUE).prop_map(ChangeSpec::Shift),
        2 => (0..DUE).prop_map(ChangeSpec::Set),
        2 => any::<bool>().prop_map(ChangeSpec::Flag),
        1 => Just(ChangeSpec::Toggle),
        2 => pick().prop_map(ChangeSpec::Ref),
        1 => pick().prop_map(ChangeSpec::Other),
    ]
}

/// A deliberate panic on the k-th call of a closure.
#[derive(Clone, Copy, Debug)]
pub(super) enum Boom {
    Filter(usize),
    Change(usize),
}

pub(super) fn boom() -> impl Strategy<Value = Option<Boom>> {
    prop::option::weighted(
        0.2,
        prop_oneof![
            (0..6usize).prop_map(Boom::Filter),
            (0..6usize).prop_map(Boom::Change)
        ],
    )
}

pub(super) fn filter() -> impl Strategy<Value = Option<Filter>> {
    prop::option::weighted(
        0.8,
        prop_oneof![
            Just(Filter::IdEven),
            (0..DUE).prop_map(Filter::NumBelow),
            any::<bool>().prop_map(Filter::Flag),
        ],
    )
}

#[derive(Clone, Debug)]
pub(super) enum Op {
    Insert(RowSpec),
    /// `update` (or `modify` if `modify`) of row `row` of `with`'s table to `with`.
    Update {
        row: Pick,
        with: RowSpec,
        modify: bool,
    },
    Delete {
        t: usize,
        row: Pick,
    },
    Read {
        ix: Ix,
        read: Read,
        lo: B,
        hi: B,
    },
    Select {
        t: usize,
        q: QSpec,
    },
    /// `modify_where`, or `modify_all` without a filter (and no panicking filter).
    ModifyWhere {
        t: usize,
        filter: Option<Filter>,
        change: ChangeSpec,
        boom: Option<Boom>,
    },
    ModifyRange {
        ix: Ix,
        lo: B,
        hi: B,
        change: ChangeSpec,
        panic_at: Option<usize>,
    },
    DeleteWhere {
        t: usize,
        filter: Option<Filter>,
        panic_at: Option<usize>,
    },
    DeleteRange {
        ix: Ix,
        lo: B,
        hi: B,
    },
    /// `insert_many` of `rows` (all of the first one's table), its iterator panicking on the
    /// `panic_at`-th row.
    InsertMany {
        rows: Vec<RowSpec>,
        panic_at: Option<usize>,
    },
    /// `upsert` (`replace`) or `find_or_insert` through unique index `ix`.
    Upsert {
        ix: Ix,
        row: RowSpec,
        replace: bool,
    },
}

pub(super) fn op() -> impl Strategy<Value = Op> {
    let rows = table().prop_flat_map(|t| {
        prop_oneof![
            4 => prop::collection::vec(row_spec(t), 0..8),
            // Many loans on one due date: buckets past their small form.
            1 => (pick(), pick(), 0..DUE, 60..80usize).prop_map(|(member, book, due_on, n)| {
                let row = RowSpec::Loan { member, book, due_on, returned: true };
                vec![row; n]
            }),
        ]
    });
    let unique = prop_oneof![Just(Ix::Title), Just(Ix::Card), Just(Ix::Active)];
    prop_oneof![
        12 => any_row().prop_map(Op::Insert),
        4 => (pick(), any_row(), prop::bool::weighted(0.3))
            .prop_map(|(row, with, modify)| Op::Update { row, with, modify }),
        3 => (table(), pick()).prop_map(|(t, row)| Op::Delete { t, row }),
        8 => (index(), read(), bounds()).prop_map(|(ix, read, (lo, hi))| Op::Read { ix, read, lo, hi }),
        2 => (table(), qspec()).prop_map(|(t, q)| Op::Select { t, q }),
        5 => (table(), filter(), change(), boom())
            .prop_map(|(t, filter, change, boom)| Op::ModifyWhere { t, filter, change, boom }),
        5 => (index(), bounds(), change(), prop::option::weighted(0.15, 0..6usize))
            .prop_map(|(ix, (lo, hi), change, panic_at)| Op::ModifyRange { ix, lo, hi, change, panic_at }),
        2 => (table(), filter(), prop::option::weighted(0.15, 0..6usize))
            .prop_map(|(t, filter, panic_at)| Op::DeleteWhere { t, filter, panic_at }),
        2 => (index(), bounds()).prop_map(|(ix, (lo, hi))| Op::DeleteRange { ix, lo, hi }),
        3 => (rows, prop::option::weighted(0.15, 0..6usize))
            .prop_map(|(rows, panic_at)| Op::InsertMany { rows, panic_at }),
        4 => (unique, any::<bool>()).prop_flat_map(|(ix, replace)| {
            row_spec(ix.table()).prop_map(move |row| Op::Upsert { ix, row, replace })
        }),
    ]
}

/// A few members, books and loans inserted one by one, then random operations.
pub(super) fn history() -> impl Strategy<Value = Vec<Op>> {
    let inserts = |t: usize, n: std::ops::Range<usize>| {
        prop::collection::vec(row_spec(t).prop_map(Op::Insert), n)
    };
    (
        inserts(MEMBER, 0..5),
        inserts(BOOK, 0..6),
        inserts(LOAN, 0..16),
        inserts(REVIEW, 0..4),
        prop::collection::vec(op(), 1..48),
    )
        .prop_map(|(members, books, loans, reviews, ops)| {
            [members, books, loans, reviews, ops].concat()
        })
}

pub(super) fn acts() -> impl Strategy<Value = Act> {
    prop_oneof![3 => Just(Act::Cascade), 1 => Just(Act::Restrict), 1 => Just(Act::NoAction)]
}
