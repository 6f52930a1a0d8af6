//! The random operations of a history and their strategies.

use super::*;

/// A range bound's kind.
#[derive(Clone, Copy, Debug)]
pub enum Bk {
    Unbounded,
    Included,
    Excluded,
}

/// A range bound: `v` is a due date, or a position in [`TITLE_BOUNDS`]; `p` a member or a
/// book, for the keys that hold one.
#[derive(Clone, Copy, Debug)]
pub struct Bd {
    pub kind: Bk,
    pub p: Pick,
    pub v: i64,
}

fn bd() -> impl Strategy<Value = Bd> {
    let kind = prop_oneof![
        1 => Just(Bk::Unbounded),
        2 => Just(Bk::Included),
        2 => Just(Bk::Excluded),
    ];
    (kind, pick(), 0..8i64).prop_map(|(kind, p, v)| Bd { kind, p, v })
}

/// Two bounds: independent (often inverted), or a narrow range over the same pick.
fn bds() -> impl Strategy<Value = (Bd, Bd)> {
    prop_oneof![
        2 => (bd(), bd()),
        3 => (bd(), bd(), 0..3i64).prop_map(|(lo, hi, width)| {
            (lo, Bd { kind: hi.kind, p: lo.p, v: lo.v + width })
        }),
    ]
}

/// Which loans a set-based write selects.
#[derive(Clone, Copy, Debug)]
pub enum Where {
    All,
    DueBelow(i64),
    Returned(bool),
    OfMember(Pick),
    OfBook(Pick),
    /// Loans created before the picked one (`id < ?`: ids order by creation).
    Before(Pick),
}

/// What a set-based update of loans sets.
#[derive(Clone, Copy, Debug)]
pub enum Set {
    Due(i64),
    Shift(i64),
    Returned(bool),
    Toggle,
    Book(Pick),
}

/// What a set-based update of books sets.
#[derive(Clone, Copy, Debug)]
pub enum BookSet {
    N(i64),
    Title(usize),
}

#[derive(Clone, Debug)]
pub enum Op {
    InsertMember {
        n: i64,
    },
    InsertBook {
        title: usize,
        n: i64,
    },
    InsertLoan {
        member: Pick,
        book: Pick,
        due_on: i64,
        returned: bool,
    },
    InsertFine {
        loan: Pick,
        amount: i64,
    },
    /// `insert_many` of loans.
    InsertLoans {
        loans: Vec<(Pick, Pick, i64, bool)>,
    },
    UpdateLoan {
        loan: Pick,
        book: Pick,
        due_on: i64,
        returned: bool,
    },
    DeleteMember {
        member: Pick,
    },
    DeleteBook {
        book: Pick,
    },
    DeleteLoan {
        loan: Pick,
    },
    /// `loans.modify_where` / `modify_all`: `UPDATE loan SET … WHERE …`.
    UpdateWhere {
        filter: Where,
        set: Set,
    },
    /// `due.modify_range` (`active_due` if `active`).
    UpdateDue {
        lo: Bd,
        hi: Bd,
        active: bool,
        set: Set,
    },
    /// `member_due.modify_range`.
    UpdateMemberDue {
        lo: Bd,
        hi: Bd,
        set: Set,
    },
    /// `active.modify_range` over book ids.
    UpdateActive {
        lo: Bd,
        hi: Bd,
        set: Set,
    },
    /// `title.modify_range` by `&str` bounds.
    UpdateTitles {
        lo: Bd,
        hi: Bd,
        set: BookSet,
    },
    DeleteLoansWhere {
        filter: Where,
    },
    DeleteBooksWhere {
        below: i64,
    },
    DeleteMembersWhere {
        below: i64,
    },
    /// `due.delete_range` (`active_due` if `active`).
    DeleteDue {
        lo: Bd,
        hi: Bd,
        active: bool,
    },
    /// `title.delete_range`: cascades to loans and their fines.
    DeleteTitles {
        lo: Bd,
        hi: Bd,
    },
    /// `range` and `count_range` of `due` (`active_due` if `active`).
    ReadDue {
        lo: Bd,
        hi: Bd,
        active: bool,
    },
    ReadMemberDue {
        lo: Bd,
        hi: Bd,
    },
    ReadTitles {
        lo: Bd,
        hi: Bd,
    },
    /// `due.query`: a filter on `returned`, newest first or key order, a page.
    QueryDue {
        lo: Bd,
        hi: Bd,
        returned: Option<bool>,
        newest_first: bool,
        limit: Option<usize>,
        offset: usize,
    },
    FindActive {
        book: Pick,
    },
    FindTitle {
        title: usize,
    },
    /// `title.upsert` (`replace`) or `find_or_insert`.
    UpsertBook {
        title: usize,
        n: i64,
        replace: bool,
    },
    /// `active.upsert` (`replace`) or `find_or_insert` of an active loan.
    UpsertActive {
        member: Pick,
        book: Pick,
        due_on: i64,
        replace: bool,
    },
}

pub(super) fn filter() -> impl Strategy<Value = Where> {
    prop_oneof![
        1 => Just(Where::All),
        2 => (0..DUE + 1).prop_map(Where::DueBelow),
        2 => any::<bool>().prop_map(Where::Returned),
        1 => pick().prop_map(Where::OfMember),
        1 => pick().prop_map(Where::OfBook),
        1 => pick().prop_map(Where::Before),
    ]
}

pub(super) fn set() -> impl Strategy<Value = Set> {
    prop_oneof![
        2 => (0..DUE).prop_map(Set::Due),
        2 => (1..3i64).prop_map(Set::Shift),
        3 => any::<bool>().prop_map(Set::Returned),
        2 => Just(Set::Toggle),
        2 => pick().prop_map(Set::Book),
    ]
}

fn book_set() -> impl Strategy<Value = BookSet> {
    prop_oneof![
        (0..100i64).prop_map(BookSet::N),
        (0..NAMES.len()).prop_map(BookSet::Title),
    ]
}

pub fn op() -> impl Strategy<Value = Op> {
    let due = || 0..DUE;
    let title = || 0..NAMES.len();
    let loan = || (pick(), pick(), 0..DUE, prop::bool::weighted(0.6));
    prop_oneof![
        2 => (0..100i64).prop_map(|n| Op::InsertMember { n }),
        3 => (title(), 0..100i64).prop_map(|(title, n)| Op::InsertBook { title, n }),
        12 => loan().prop_map(|(member, book, due_on, returned)| Op::InsertLoan { member, book, due_on, returned }),
        2 => (pick(), 0..100i64).prop_map(|(loan, amount)| Op::InsertFine { loan, amount }),
        3 => prop::collection::vec(loan(), 0..10).prop_map(|loans| Op::InsertLoans { loans }),
        2 => (pick(), pick(), due(), any::<bool>())
            .prop_map(|(loan, book, due_on, returned)| Op::UpdateLoan { loan, book, due_on, returned }),
        1 => pick().prop_map(|member| Op::DeleteMember { member }),
        1 => pick().prop_map(|book| Op::DeleteBook { book }),
        1 => pick().prop_map(|loan| Op::DeleteLoan { loan }),
        4 => (filter(), set()).prop_map(|(filter, set)| Op::UpdateWhere { filter, set }),
        3 => (bds(), any::<bool>(), set()).prop_map(|((lo, hi), active, set)| Op::UpdateDue { lo, hi, active, set }),
        2 => (bds(), set()).prop_map(|((lo, hi), set)| Op::UpdateMemberDue { lo, hi, set }),
        2 => (bds(), set()).prop_map(|((lo, hi), set)| Op::UpdateActive { lo, hi, set }),
        2 => (bds(), book_set()).prop_map(|((lo, hi), set)| Op::UpdateTitles { lo, hi, set }),
        1 => filter().prop_map(|filter| Op::DeleteLoansWhere { filter }),
        1 => (0..30i64).prop_map(|below| Op::DeleteBooksWhere { below }),
        1 => (0..30i64).prop_map(|below| Op::DeleteMembersWhere { below }),
        1 => (bds(), any::<bool>()).prop_map(|((lo, hi), active)| Op::DeleteDue { lo, hi, active }),
        1 => bds().prop_map(|(lo, hi)| Op::DeleteTitles { lo, hi }),
        2 => (bds(), any::<bool>()).prop_map(|((lo, hi), active)| Op::ReadDue { lo, hi, active }),
        2 => bds().prop_map(|(lo, hi)| Op::ReadMemberDue { lo, hi }),
        1 => bds().prop_map(|(lo, hi)| Op::ReadTitles { lo, hi }),
        2 => (bds(), prop::option::of(any::<bool>()), any::<bool>(),
              prop::option::of(0..5usize), prop_oneof![2 => Just(0usize), 1 => 0..4usize])
            .prop_map(|((lo, hi), returned, newest_first, limit, offset)| {
                Op::QueryDue { lo, hi, returned, newest_first, limit, offset }
            }),
        1 => pick().prop_map(|book| Op::FindActive { book }),
        1 => title().prop_map(|title| Op::FindTitle { title }),
        2 => (title(), 0..100i64, any::<bool>())
            .prop_map(|(title, n, replace)| Op::UpsertBook { title, n, replace }),
        2 => (pick(), pick(), due(), any::<bool>())
            .prop_map(|(member, book, due_on, replace)| Op::UpsertActive { member, book, due_on, replace }),
    ]
}

/// A few members, books and loans, then random operations.
pub(super) fn history() -> impl Strategy<Value = Vec<Op>> {
    let loan = (pick(), pick(), 0..DUE, prop::bool::weighted(0.7));
    (
        prop::collection::vec((0..100i64).prop_map(|n| Op::InsertMember { n }), 1..4),
        prop::collection::vec(
            (0..NAMES.len(), 0..100i64).prop_map(|(title, n)| Op::InsertBook { title, n }),
            1..4,
        ),
        prop::collection::vec(
            loan.prop_map(|(member, book, due_on, returned)| Op::InsertLoan {
                member,
                book,
                due_on,
                returned,
            }),
            0..10,
        ),
        prop::collection::vec(op(), 1..64),
    )
        .prop_map(|(members, books, loans, ops)| [members, books, loans, ops].concat())
}
