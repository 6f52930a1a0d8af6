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

#[derive(Clone, Debug, PartialEq)]
struct Member {
    branch: u8,
    card: u8,
    n: u8,
}
#[derive(Clone, Debug, PartialEq)]
struct Book {
    title: String,
    n: u8,
}
#[derive(Clone, Debug, PartialEq)]
struct Review {
    title: String,
    n: u8,
}
#[derive(Clone, Debug, PartialEq)]
struct Loan {
    member: Id<Member>,
    book: Id<Book>,
    due_on: u8,
    returned: bool,
}

/// Ids issued per table, by creation index.
#[derive(Default)]
struct Ids {
    members: Vec<Id<Member>>,
    books: Vec<Id<Book>>,
    loans: Vec<Id<Loan>>,
    reviews: Vec<Id<Review>>,
    index: HashMap<(usize, u64), usize>,
}

impl Ids {
    fn record<T: Tab>(&mut self, id: Id<T>) -> usize {
        let list = T::ids_mut(self);
        list.push(id);
        let i = list.len() - 1;
        self.index.insert((T::T, id.seq()), i);
        i
    }

    fn len(&self, t: usize) -> usize {
        match t {
            MEMBER => self.members.len(),
            BOOK => self.books.len(),
            LOAN => self.loans.len(),
            _ => self.reviews.len(),
        }
    }
}

fn ix<T: Tab>(ids: &Ids, id: Id<T>) -> usize {
    ids.index[&(T::T, id.seq())]
}

struct Schema {
    members: Table<Member>,
    books: Table<Book>,
    loans: Table<Loan>,
    reviews: Table<Review>,
    member_loans: HasMany<Member, Loan>,
    book_reviews: HasMany<Book, Review, String>,
    book_loans: HasMany<Book, Loan>,
    due: Index<Loan, u8>,
    member_due: Index<Loan, (Id<Member>, u8)>,
    active: Unique<Loan, Id<Book>>,
    active_due: Index<Loan, u8>,
    title: Unique<Book, String>,
    card: Unique<Member, (u8, u8)>,
}

/// A table of the schema: its number, handle, ids and conversion to reference rows.
trait Tab: Model + std::fmt::Debug {
    const T: usize;
    fn table(s: &Schema) -> Table<Self>;
    fn ids(ids: &Ids) -> &Vec<Id<Self>>;
    fn ids_mut(ids: &mut Ids) -> &mut Vec<Id<Self>>;
    fn to_r(&self, ids: &Ids) -> R;
    fn from_r(r: &R, ids: &Ids) -> Self;
}

impl Tab for Member {
    const T: usize = MEMBER;
    fn table(s: &Schema) -> Table<Self> {
        s.members
    }
    fn ids(ids: &Ids) -> &Vec<Id<Self>> {
        &ids.members
    }
    fn ids_mut(ids: &mut Ids) -> &mut Vec<Id<Self>> {
        &mut ids.members
    }
    fn to_r(&self, _: &Ids) -> R {
        R::Member(RMember {
            branch: self.branch,
            card: self.card,
            n: self.n,
        })
    }
    fn from_r(r: &R, _: &Ids) -> Self {
        let m = r.member();
        Member {
            branch: m.branch,
            card: m.card,
            n: m.n,
        }
    }
}

impl Tab for Book {
    const T: usize = BOOK;
    fn table(s: &Schema) -> Table<Self> {
        s.books
    }
    fn ids(ids: &Ids) -> &Vec<Id<Self>> {
        &ids.books
    }
    fn ids_mut(ids: &mut Ids) -> &mut Vec<Id<Self>> {
        &mut ids.books
    }
    fn to_r(&self, _: &Ids) -> R {
        R::Book(RBook {
            title: self.title.clone(),
            n: self.n,
        })
    }
    fn from_r(r: &R, _: &Ids) -> Self {
        let b = r.book();
        Book {
            title: b.title.clone(),
            n: b.n,
        }
    }
}

impl Tab for Loan {
    const T: usize = LOAN;
    fn table(s: &Schema) -> Table<Self> {
        s.loans
    }
    fn ids(ids: &Ids) -> &Vec<Id<Self>> {
        &ids.loans
    }
    fn ids_mut(ids: &mut Ids) -> &mut Vec<Id<Self>> {
        &mut ids.loans
    }
    fn to_r(&self, ids: &Ids) -> R {
        R::Loan(RLoan {
            member: ix(ids, self.member),
            book: ix(ids, self.book),
            due_on: self.due_on,
            returned: self.returned,
        })
    }
    fn from_r(r: &R, ids: &Ids) -> Self {
        let l = r.loan();
        Loan {
            member: ids.members[l.member],
            book: ids.books[l.book],
            due_on: l.due_on,
            returned: l.returned,
        }
    }
}

impl Tab for Review {
    const T: usize = REVIEW;
    fn table(s: &Schema) -> Table<Self> {
        s.reviews
    }
    fn ids(ids: &Ids) -> &Vec<Id<Self>> {
        &ids.reviews
    }
    fn ids_mut(ids: &mut Ids) -> &mut Vec<Id<Self>> {
        &mut ids.reviews
    }
    fn to_r(&self, _: &Ids) -> R {
        R::Review(RReview {
            title: self.title.clone(),
            n: self.n,
        })
    }
    fn from_r(r: &R, _: &Ids) -> Self {
        let r = r.review();
        Review {
            title: r.title.clone(),
            n: r.n,
        }
    }
}

fn on_delete(a: Act) -> OnDelete {
    match a {
        Act::Cascade => OnDelete::Cascade,
        Act::Restrict => OnDelete::Restrict,
        Act::NoAction => OnDelete::NoAction,
    }
}

fn schema(member_act: Act, book_act: Act, indexes_first: bool) -> (Schema, Db) {
    let mut db = Db::new();
    let members = db.create_table::<Member>().unwrap();
    let books = db.create_table::<Book>().unwrap();
    let loans = db.create_table::<Loan>().unwrap();
    let reviews = db.create_table::<Review>().unwrap();
    let title = db.unique(books, field!(Book, title)).unwrap();
    // Reviews follow their book's title: books become a source key, so set-based updates of
    // books apply each row's on-update actions.
    let book_reviews = db
        .has_many_by(
            title,
            reviews,
            fk!(Review, title),
            AssocOptions::new()
                .on_delete(OnDelete::Cascade)
                .on_update(OnUpdate::Cascade),
        )
        .unwrap();
    let card = db
        .unique_by(members, "card", |m: &Member| (m.branch, m.card))
        .unwrap();
    let fks = |db: &mut Db| {
        let member_loans = db
            .has_many_with(
                members,
                loans,
                fk!(Loan, member),
                AssocOptions::new().on_delete(on_delete(member_act)),
            )
            .unwrap();
        let book_loans = db
            .has_many_with(
                books,
                loans,
                fk!(Loan, book),
                AssocOptions::new().on_delete(on_delete(book_act)),
            )
            .unwrap();
        (member_loans, book_loans)
    };
    let indexes = |db: &mut Db| {
        let due = db.index(loans, field!(Loan, due_on)).unwrap();
        let member_due = db
            .index_by(loans, "member_due", |l: &Loan| (l.member, l.due_on))
            .unwrap();
        let active = db
            .unique_where(loans, "active", |l: &Loan| !l.returned, |l: &Loan| l.book)
            .unwrap();
        let active_due = db
            .index_where(
                loans,
                "active_due",
                |l: &Loan| !l.returned,
                |l: &Loan| l.due_on,
            )
            .unwrap();
        (due, member_due, active, active_due)
    };
    let ((member_loans, book_loans), (due, member_due, active, active_due)) = if indexes_first {
        let i = indexes(&mut db);
        (fks(&mut db), i)
    } else {
        let f = fks(&mut db);
        (f, indexes(&mut db))
    };
    let s = Schema {
        members,
        books,
        loans,
        reviews,
        member_loans,
        book_loans,
        book_reviews,
        due,
        member_due,
        active,
        active_due,
        title,
        card,
    };
    (s, db)
}

/// Index reads and writes, over [`Index`] and [`Unique`] alike, by a borrowed form `Q` of
/// the key.
trait Lookup<T: Model, Q: Ord + ?Sized> {
    fn find_ids(&self, db: &Db, key: &Q) -> Vec<Id<T>>;
    fn count_of(&self, db: &Db, key: &Q) -> usize;
    fn range_ids(&self, db: &Db, range: (Bound<&Q>, Bound<&Q>)) -> Vec<Id<T>>;
    fn count_in(&self, db: &Db, range: (Bound<&Q>, Bound<&Q>)) -> usize;
    fn all_ids(&self, db: &Db) -> Vec<Id<T>>;
    fn query_ids(&self, db: &Db, range: (Bound<&Q>, Bound<&Q>), q: &Query<'_, T>) -> Vec<Id<T>>;
    fn modify_in(
        &self,
        db: &mut Db,
        range: (Bound<&Q>, Bound<&Q>),
        change: &mut dyn FnMut(&mut T),
    ) -> relata::Result<usize>;
    fn delete_in(&self, db: &mut Db, range: (Bound<&Q>, Bound<&Q>)) -> relata::Result<Report>;
}

fn ids_of<'a, T: 'a>(rows: impl Iterator<Item = Row<'a, T>>) -> Vec<Id<T>> {
    rows.map(|r| r.id()).collect()
}

impl<T: Model, KK: relata::Key + Borrow<Q>, Q: Ord + ?Sized> Lookup<T, Q> for Index<T, KK> {
    fn find_ids(&self, db: &Db, key: &Q) -> Vec<Id<T>> {
        ids_of(self.find(db, key).unwrap())
    }
    fn count_of(&self, db: &Db, key: &Q) -> usize {
        self.count(db, key).unwrap()
    }
    fn range_ids(&self, db: &Db, range: (Bound<&Q>, Bound<&Q>)) -> Vec<Id<T>> {
        ids_of(self.range(db, range).unwrap())
    }
    fn count_in(&self, db: &Db, range: (Bound<&Q>, Bound<&Q>)) -> usize {
        self.count_range(db, range).unwrap()
    }
    fn all_ids(&self, db: &Db) -> Vec<Id<T>> {
        ids_of(self.iter(db).unwrap())
    }
    fn query_ids(&self, db: &Db, range: (Bound<&Q>, Bound<&Q>), q: &Query<'_, T>) -> Vec<Id<T>> {
        ids_of(self.query(db, range, q).unwrap().into_iter())
    }
    fn modify_in(
        &self,
        db: &mut Db,
        range: (Bound<&Q>, Bound<&Q>),
        change: &mut dyn FnMut(&mut T),
    ) -> relata::Result<usize> {
        self.modify_range(db, range, change)
    }
    fn delete_in(&self, db: &mut Db, range: (Bound<&Q>, Bound<&Q>)) -> relata::Result<Report> {
        self.delete_range(db, range)
    }
}

impl<T: Model, KK: relata::Key + Borrow<Q>, Q: Ord + ?Sized> Lookup<T, Q> for Unique<T, KK> {
    fn find_ids(&self, db: &Db, key: &Q) -> Vec<Id<T>> {
        self.find(db, key)
            .unwrap()
            .map(|r| r.id())
            .into_iter()
            .collect()
    }
    fn count_of(&self, db: &Db, key: &Q) -> usize {
        usize::from(self.find(db, key).unwrap().is_some())
    }
    fn range_ids(&self, db: &Db, range: (Bound<&Q>, Bound<&Q>)) -> Vec<Id<T>> {
        ids_of(self.range(db, range).unwrap())
    }
    fn count_in(&self, db: &Db, range: (Bound<&Q>, Bound<&Q>)) -> usize {
        self.count_range(db, range).unwrap()
    }
    fn all_ids(&self, db: &Db) -> Vec<Id<T>> {
        ids_of(self.iter(db).unwrap())
    }
    fn query_ids(&self, db: &Db, range: (Bound<&Q>, Bound<&Q>), q: &Query<'_, T>) -> Vec<Id<T>> {
        ids_of(self.query(db, range, q).unwrap().into_iter())
    }
    fn modify_in(
        &self,
        db: &mut Db,
        range: (Bound<&Q>, Bound<&Q>),
        change: &mut dyn FnMut(&mut T),
    ) -> relata::Result<usize> {
        self.modify_range(db, range, change)
    }
    fn delete_in(&self, db: &mut Db, range: (Bound<&Q>, Bound<&Q>)) -> relata::Result<Report> {
        self.delete_range(db, range)
    }
}

/// Names a row: usually a live one, sometimes any ever issued (possibly deleted).
#[derive(Clone, Copy, Debug)]
struct Pick {
    live: bool,
    n: usize,
}

fn pick() -> impl Strategy<Value = Pick> {
    (prop::bool::weighted(0.9), 0..1000usize).prop_map(|(live, n)| Pick { live, n })
}

/// A range bound's kind.
#[derive(Clone, Copy, Debug)]
enum Bk {
    Unbounded,
    Included,
    Excluded,
}

/// A range bound (or, for `find`, a key): `v` and `p` make the key of whichever index it is
/// used on (see [`Run::key`]).
#[derive(Clone, Copy, Debug)]
struct B {
    kind: Bk,
    p: Pick,
    v: u8,
}

fn bound_kind() -> impl Strategy<Value = Bk> {
    prop_oneof![
        1 => Just(Bk::Unbounded),
        2 => Just(Bk::Included),
        2 => Just(Bk::Excluded),
    ]
}

fn bound() -> impl Strategy<Value = B> {
    (bound_kind(), pick(), any::<u8>()).prop_map(|(kind, p, v)| B { kind, p, v })
}

/// Two bounds: independent (often inverted), or a narrow range over the same pick.
fn bounds() -> impl Strategy<Value = (B, B)> {
    prop_oneof![
        2 => (bound(), bound()),
        3 => (bound(), bound_kind(), 0..4u8).prop_map(|(lo, kind, width)| {
            (lo, B { kind, p: lo.p, v: lo.v.wrapping_add(width) })
        }),
    ]
}

/// A row to write, its foreign keys as picks.
#[derive(Clone, Copy, Debug)]
enum RowSpec {
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

fn table() -> impl Strategy<Value = usize> {
    prop_oneof![1 => Just(MEMBER), 1 => Just(BOOK), 3 => Just(LOAN), 1 => Just(REVIEW)]
}

fn any_row() -> impl Strategy<Value = RowSpec> {
    table().prop_flat_map(row_spec)
}

/// What to read from an index.
#[derive(Clone, Copy, Debug)]
enum Read {
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

fn read() -> impl Strategy<Value = Read> {
    prop_oneof![
        2 => Just(Read::Find),
        1 => Just(Read::Count),
        3 => Just(Read::Range),
        1 => Just(Read::CountRange),
        1 => Just(Read::Iter),
        3 => qspec().prop_map(Read::Query),
    ]
}

fn index() -> impl Strategy<Value = Ix> {
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
enum ChangeSpec {
    Shift(u8),
    Set(u8),
    Flag(bool),
    Toggle,
    Ref(Pick),
    Other(Pick),
}

fn change() -> impl Strategy<Value = ChangeSpec> {
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
enum Boom {
    Filter(usize),
    Change(usize),
}

fn boom() -> impl Strategy<Value = Option<Boom>> {
    prop::option::weighted(
        0.2,
        prop_oneof![
            (0..6usize).prop_map(Boom::Filter),
            (0..6usize).prop_map(Boom::Change)
        ],
    )
}

fn filter() -> impl Strategy<Value = Option<Filter>> {
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
enum Op {
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

fn op() -> impl Strategy<Value = Op> {
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
fn history() -> impl Strategy<Value = Vec<Op>> {
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

fn acts() -> impl Strategy<Value = Act> {
    prop_oneof![3 => Just(Act::Cascade), 1 => Just(Act::Restrict), 1 => Just(Act::NoAction)]
}

fn class(e: Error) -> Fail {
    match e {
        Error::NotFound { .. } => Fail::NotFound,
        Error::ForeignKey { .. } => Fail::ForeignKey,
        Error::Unique { .. } => Fail::Unique,
        Error::Restricted { .. } => Fail::Restricted,
        other => panic!("unexpected error class: {other}"),
    }
}

/// The marker of every deliberate panic.
const BOOM: &str = "deliberate panic";

fn boom_now() -> ! {
    std::panic::panic_any(BOOM)
}

/// Runs `f`; a deliberate panic is `Fail::Panicked`, any other goes on.
fn catching<T>(f: impl FnOnce() -> Res<T>) -> Res<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(out) => out,
        Err(payload) if payload.downcast_ref::<&str>() == Some(&BOOM) => Err(Fail::Panicked),
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

/// A closure's call counter that panics on call `at`.
struct Fuse {
    calls: Cell<usize>,
    at: Option<usize>,
}

impl Fuse {
    fn new(at: Option<usize>) -> Self {
        Fuse {
            calls: Cell::new(0),
            at,
        }
    }
    fn tick(&self) {
        let k = self.calls.get();
        self.calls.set(k + 1);
        if self.at == Some(k) {
            boom_now();
        }
    }
}

#[derive(Debug, PartialEq)]
enum Out {
    Unit,
    Index(usize),
    Indexes(Vec<usize>),
    Count(usize),
    Old(R),
    Removed(R, Deleted),
    Deleted(Deleted),
    Upserted(usize, bool),
}

/// Everything observable in a database, rows by creation index.
#[derive(Debug, PartialEq)]
struct Dump {
    rows: [Vec<(usize, R)>; TABLES],
    /// (0: member's loans, 1: book's loans, 2: book's reviews; source; `get`; `count`).
    children: Vec<(usize, usize, Vec<usize>, usize)>,
    /// (loan; its member and book through the inverse `BelongsTo`).
    parents: Vec<(usize, Option<usize>, Option<usize>)>,
    /// (review; its book through the inverse `BelongsTo`).
    reviewed: Vec<(usize, Option<usize>)>,
    /// Per index: `iter`, and `count_range(..)`.
    indexes: Vec<(Ix, Vec<usize>, usize)>,
    /// Per probe key: `find`, and `count`.
    finds: Vec<(Ix, K, Vec<usize>, usize)>,
}

/// The keys every dump looks up, for the state `model` is in.
fn probes(model: &Lending) -> Vec<(Ix, K)> {
    let mut out = Vec::new();
    for ix in [Ix::Due, Ix::ActiveDue] {
        out.extend((0..DUE + 2).map(|v| (ix, K::N(v))));
    }
    let mut pairs: BTreeSet<K> = model
        .index(Ix::MemberDue)
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    for m in 0..model.rows(MEMBER).len() {
        pairs.insert(K::Pair(m, DUE + 1));
    }
    out.extend(pairs.into_iter().map(|k| (Ix::MemberDue, k)));
    out.extend((0..model.rows(BOOK).len()).map(|b| (Ix::Active, K::Row(b))));
    out.extend(
        TITLE_BOUNDS
            .iter()
            .map(|t| (Ix::Title, K::Text(t.to_string()))),
    );
    for branch in 0..=BRANCHES {
        out.extend((0..=CARDS).map(|card| (Ix::Card, K::Card(branch, card))));
    }
    out
}

/// The reference's dump.
fn model_dump(model: &Lending, probes: &[(Ix, K)]) -> Dump {
    let rows: [Vec<(usize, R)>; TABLES] =
        [MEMBER, BOOK, LOAN, REVIEW].map(|t| model.live(t).map(|(i, r)| (i, r.clone())).collect());
    let mut children = Vec::new();
    for (a, t) in [(0, MEMBER), (1, BOOK)] {
        for (s, _) in model.live(t) {
            let loans = model.loans_of(t, s);
            let n = loans.len();
            children.push((a, s, loans, n));
            if t == BOOK {
                let reviews = model.reviews_of(s);
                let n = reviews.len();
                children.push((2, s, reviews, n));
            }
        }
    }
    let reviewed = model
        .live(REVIEW)
        .map(|(i, r)| {
            let title = &r.review().title;
            let book = model.live(BOOK).find(|(_, b)| &b.book().title == title);
            (i, book.map(|(b, _)| b))
        })
        .collect();
    let parents = model
        .live(LOAN)
        .map(|(i, r)| (i, Some(r.loan().member), Some(r.loan().book)))
        .collect();
    let indexes = INDEXES
        .iter()
        .map(|&ix| {
            let all: Vec<usize> = model.index(ix).into_iter().map(|(_, i)| i).collect();
            let n = all.len();
            (ix, all, n)
        })
        .collect();
    let finds = probes
        .iter()
        .map(|(ix, k)| {
            let found = model.find(*ix, k);
            let n = found.len();
            (*ix, k.clone(), found, n)
        })
        .collect();
    Dump {
        rows,
        children,
        parents,
        reviewed,
        indexes,
        finds,
    }
}

/// The key `k` as the index's key type, boxed in its borrowed form.
fn n_of(k: &K) -> Box<u8> {
    match k {
        K::N(v) => Box::new(*v),
        other => panic!("not a due date: {other:?}"),
    }
}
fn text_of(k: &K) -> Box<str> {
    match k {
        K::Text(s) => s.as_str().into(),
        other => panic!("not a title: {other:?}"),
    }
}
fn card_of(k: &K) -> Box<(u8, u8)> {
    match k {
        K::Card(b, c) => Box::new((*b, *c)),
        other => panic!("not a card: {other:?}"),
    }
}

/// `range` with its keys boxed by `conv`.
fn boxed<Q: ?Sized>(range: &Range, conv: &dyn Fn(&K) -> Box<Q>) -> (Bound<Box<Q>>, Bound<Box<Q>>) {
    (range.0.as_ref().map(conv), range.1.as_ref().map(conv))
}

/// A boxed range, borrowed.
fn borrowed<Q: ?Sized>(range: &(Bound<Box<Q>>, Bound<Box<Q>>)) -> (Bound<&Q>, Bound<&Q>) {
    (
        range.0.as_ref().map(|b| &**b),
        range.1.as_ref().map(|b| &**b),
    )
}

/// A [`QSpec`] as a relata query.
fn query<'q, T: Tab>(q: &QSpec, ids: &'q Ids) -> Query<'q, T> {
    let mut query = Query::new();
    if let Some(f) = q.filter {
        query = query.filter(move |r: &Row<T>| f.eval(ix(ids, r.id()), &r.to_r(ids)));
    }
    if let Some(o) = q.order {
        query = query.order_by(move |a: &Row<T>, b: &Row<T>| match o {
            // Straight from the ids: they order by creation.
            Order::IdDesc => b.id().cmp(&a.id()),
            _ => o.cmp(
                (ix(ids, a.id()), &a.to_r(ids)),
                (ix(ids, b.id()), &b.to_r(ids)),
            ),
        });
    }
    if let Some(n) = q.limit {
        query = query.limit(n);
    }
    query.offset(q.offset)
}

struct Run {
    s: Schema,
    db: Db,
    ids: Ids,
    model: Lending,
}

impl Run {
    /// Resolves a pick against the reference: a live row usually, any issued one sometimes.
    fn pick(&self, t: usize, p: Pick) -> Option<usize> {
        let rows = self.model.rows(t);
        if p.live {
            let live: Vec<usize> = self.model.live(t).map(|(i, _)| i).collect();
            if !live.is_empty() {
                return Some(live[p.n % live.len()]);
            }
        }
        (!rows.is_empty()).then(|| p.n % rows.len())
    }

    /// The table and reference row of a row spec; `None` if a foreign key cannot be named.
    fn row(&self, spec: &RowSpec) -> Option<(usize, R)> {
        Some(match *spec {
            RowSpec::Member { branch, card, n } => (MEMBER, R::Member(RMember { branch, card, n })),
            RowSpec::Book { title, n } => (
                BOOK,
                R::Book(RBook {
                    title: TITLES[usize::from(title) % TITLES.len()].to_string(),
                    n,
                }),
            ),
            RowSpec::Review { title, n } => (
                REVIEW,
                R::Review(RReview {
                    title: TITLES[usize::from(title) % TITLES.len()].to_string(),
                    n,
                }),
            ),
            RowSpec::Loan {
                member,
                book,
                due_on,
                returned,
            } => (
                LOAN,
                R::Loan(RLoan {
                    member: self.pick(MEMBER, member)?,
                    book: self.pick(BOOK, book)?,
                    due_on,
                    returned,
                }),
            ),
        })
    }

    /// The key a bound names in index `ix`.
    fn key(&self, ix: Ix, b: &B) -> Option<K> {
        let due = b.v % (DUE + 2);
        Some(match ix {
            Ix::Due | Ix::ActiveDue => K::N(due),
            Ix::MemberDue => K::Pair(self.pick(MEMBER, b.p)?, due),
            Ix::Active => K::Row(self.pick(BOOK, b.p)?),
            Ix::Title => K::Text(TITLE_BOUNDS[usize::from(b.v) % TITLE_BOUNDS.len()].to_string()),
            Ix::Card => {
                let at = b.v % ((BRANCHES + 1) * (CARDS + 1));
                K::Card(at / (CARDS + 1), at % (CARDS + 1))
            }
        })
    }

    fn bound(&self, ix: Ix, b: &B) -> Option<Bound<K>> {
        Some(match b.kind {
            Bk::Unbounded => Bound::Unbounded,
            Bk::Included => Bound::Included(self.key(ix, b)?),
            Bk::Excluded => Bound::Excluded(self.key(ix, b)?),
        })
    }

    fn range(&self, ix: Ix, lo: &B, hi: &B) -> Option<Range> {
        Some((self.bound(ix, lo)?, self.bound(ix, hi)?))
    }

    fn change(&self, t: usize, c: ChangeSpec) -> Option<Change> {
        Some(match c {
            ChangeSpec::Shift(d) => Change::Shift(d),
            ChangeSpec::Set(x) => Change::Set(x),
            ChangeSpec::Flag(b) => Change::Flag(b),
            ChangeSpec::Toggle => Change::Toggle,
            ChangeSpec::Ref(p) if t == LOAN => Change::Ref(self.pick(BOOK, p)?),
            ChangeSpec::Other(p) if t == LOAN => Change::Other(self.pick(MEMBER, p)?),
            ChangeSpec::Ref(p) | ChangeSpec::Other(p) => Change::Ref(p.n % 256),
        })
    }

    /// Table `t`'s live rows in storage order (`scan`), by creation index.
    fn scan<T: Tab>(&self, db: &Db) -> Vec<usize> {
        T::table(&self.s)
            .scan(db)
            .unwrap()
            .map(|r| ix(&self.ids, r.id()))
            .collect()
    }

    fn scan_of(&self, t: usize, db: &Db) -> Vec<usize> {
        match t {
            MEMBER => self.scan::<Member>(db),
            BOOK => self.scan::<Book>(db),
            LOAN => self.scan::<Loan>(db),
            _ => self.scan::<Review>(db),
        }
    }

    fn deleted(&self, report: &Report, root: usize) -> Deleted {
        let s = &self.s;
        let ids = &self.ids;
        fn list<T: Tab>(report: &Report, table: Table<T>, ids: &Ids) -> Vec<usize> {
            report
                .deleted_in(table)
                .into_iter()
                .map(|id| {
                    assert!(report.was_deleted(id), "{id} is listed but not flagged");
                    ix(ids, id)
                })
                .collect()
        }
        let lists = [
            list(report, s.members, ids),
            list(report, s.books, ids),
            list(report, s.loans, ids),
            list(report, s.reviews, ids),
        ];
        assert_eq!(
            report.total_deleted(),
            lists.iter().map(Vec::len).sum::<usize>()
        );
        assert_eq!(report.total_nulled(), 0, "no foreign key is nullable");
        let roots = lists[root].clone();
        let all = lists.map(|mut v| {
            v.sort_unstable();
            v
        });
        Deleted { roots, all }
    }

    fn table_dump<T: Tab>(&self, db: &Db) -> Vec<(usize, R)> {
        let table = T::table(&self.s);
        let rows: Vec<(usize, R)> = table
            .iter(db)
            .unwrap()
            .map(|r| (ix(&self.ids, r.id()), r.to_r(&self.ids)))
            .collect();
        assert_eq!(table.len(db).unwrap(), rows.len(), "len");
        assert_eq!(table.is_empty(db).unwrap(), rows.is_empty(), "is_empty");
        let mut scanned = self.scan::<T>(db);
        scanned.sort_unstable();
        let listed: Vec<usize> = rows.iter().map(|(i, _)| *i).collect();
        assert_eq!(scanned, listed, "scan visits the rows iter lists");
        for (i, &id) in T::ids(&self.ids).iter().enumerate() {
            assert_eq!(
                table.contains(db, id).unwrap(),
                listed.binary_search(&i).is_ok(),
                "contains({id})"
            );
        }
        rows
    }

    /// Everything observable in `db`, read through relata, and `find` for every probe key.
    fn dump(&self, db: &Db, probes: &[(Ix, K)]) -> Dump {
        let (s, ids) = (&self.s, &self.ids);
        let rows = [
            self.table_dump::<Member>(db),
            self.table_dump::<Book>(db),
            self.table_dump::<Loan>(db),
            self.table_dump::<Review>(db),
        ];
        let mut children = Vec::new();
        for &(m, _) in &rows[MEMBER] {
            let got = s.member_loans.get(db, ids.members[m]).unwrap();
            let got: Vec<usize> = got.map(|r| ix(ids, r.id())).collect();
            let n = s.member_loans.count(db, ids.members[m]).unwrap();
            children.push((0, m, got, n));
        }
        for &(b, _) in &rows[BOOK] {
            let got = s.book_loans.get(db, ids.books[b]).unwrap();
            let got: Vec<usize> = got.map(|r| ix(ids, r.id())).collect();
            let n = s.book_loans.count(db, ids.books[b]).unwrap();
            children.push((1, b, got, n));
            let got = s.book_reviews.get(db, ids.books[b]).unwrap();
            let got: Vec<usize> = got.map(|r| ix(ids, r.id())).collect();
            let n = s.book_reviews.count(db, ids.books[b]).unwrap();
            children.push((2, b, got, n));
        }
        let reviewed = rows[REVIEW]
            .iter()
            .map(|&(r, _)| {
                let book = s.book_reviews.inverse().get(db, ids.reviews[r]).unwrap();
                (r, book.map(|b| ix(ids, b.id())))
            })
            .collect();
        let parents = rows[LOAN]
            .iter()
            .map(|&(l, _)| {
                let id = ids.loans[l];
                let member = s.member_loans.inverse().get(db, id).unwrap();
                let book = s.book_loans.inverse().get(db, id).unwrap();
                (
                    l,
                    member.map(|r| ix(ids, r.id())),
                    book.map(|r| ix(ids, r.id())),
                )
            })
            .collect();
        let everything = (Bound::Unbounded, Bound::Unbounded);
        let indexes = INDEXES
            .iter()
            .map(|&i| {
                let (all, n) = match i {
                    Ix::Due => self.all(db, &s.due, &everything, &n_of),
                    Ix::MemberDue => self.all(db, &s.member_due, &everything, &|k| self.pair_of(k)),
                    Ix::Active => self.all(db, &s.active, &everything, &|k| self.book_of(k)),
                    Ix::ActiveDue => self.all(db, &s.active_due, &everything, &n_of),
                    Ix::Title => self.all(db, &s.title, &everything, &text_of),
                    Ix::Card => self.all(db, &s.card, &everything, &card_of),
                };
                (i, all, n)
            })
            .collect();
        let finds = probes
            .iter()
            .map(|(i, k)| {
                let (found, n) = match i {
                    Ix::Due => self.find(db, &s.due, k, &n_of),
                    Ix::MemberDue => self.find(db, &s.member_due, k, &|k| self.pair_of(k)),
                    Ix::Active => self.find(db, &s.active, k, &|k| self.book_of(k)),
                    Ix::ActiveDue => self.find(db, &s.active_due, k, &n_of),
                    Ix::Title => {
                        let found = self.find(db, &s.title, k, &text_of);
                        // By `&String` as well as by `&str`.
                        let K::Text(title) = k else { unreachable!() };
                        let by_string = s.title.find(db, title).unwrap().map(|r| ix(ids, r.id()));
                        assert_eq!(by_string.into_iter().collect::<Vec<_>>(), found.0);
                        found
                    }
                    Ix::Card => self.find(db, &s.card, k, &card_of),
                };
                (*i, k.clone(), found, n)
            })
            .collect();
        Dump {
            rows,
            children,
            parents,
            reviewed,
            indexes,
            finds,
        }
    }

    fn pair_of(&self, k: &K) -> Box<(Id<Member>, u8)> {
        match k {
            K::Pair(m, d) => Box::new((self.ids.members[*m], *d)),
            other => panic!("not a member and due date: {other:?}"),
        }
    }

    fn book_of(&self, k: &K) -> Box<Id<Book>> {
        match k {
            K::Row(b) => Box::new(self.ids.books[*b]),
            other => panic!("not a book: {other:?}"),
        }
    }

    fn indexes<T: Tab>(&self, ids: Vec<Id<T>>) -> Vec<usize> {
        ids.into_iter().map(|id| ix(&self.ids, id)).collect()
    }

    /// `iter` and `count_range` of `range` (everything).
    fn all<T: Tab, Q: Ord + ?Sized>(
        &self,
        db: &Db,
        h: &impl Lookup<T, Q>,
        range: &Range,
        conv: &dyn Fn(&K) -> Box<Q>,
    ) -> (Vec<usize>, usize) {
        let range = boxed(range, conv);
        let all = self.indexes(h.all_ids(db));
        assert_eq!(
            self.indexes(h.range_ids(db, borrowed(&range))),
            all,
            "range(..) == iter()"
        );
        (all, h.count_in(db, borrowed(&range)))
    }

    fn find<T: Tab, Q: Ord + ?Sized>(
        &self,
        db: &Db,
        h: &impl Lookup<T, Q>,
        k: &K,
        conv: &dyn Fn(&K) -> Box<Q>,
    ) -> (Vec<usize>, usize) {
        let key = conv(k);
        (self.indexes(h.find_ids(db, &key)), h.count_of(db, &key))
    }

    /// An index read: relata's answer and the reference's.
    fn read<T: Tab, Q: Ord + ?Sized>(
        &self,
        h: &impl Lookup<T, Q>,
        ix: Ix,
        conv: &dyn Fn(&K) -> Box<Q>,
        read: Read,
        key: &K,
        range: &Range,
    ) -> (Out, Out) {
        let db = &self.db;
        let (m, t) = (&self.model, ix.table());
        let b = boxed(range, conv);
        match read {
            Read::Find => (
                Out::Indexes(self.indexes(h.find_ids(db, &conv(key)))),
                Out::Indexes(m.find(ix, key)),
            ),
            Read::Count => (
                Out::Count(h.count_of(db, &conv(key))),
                Out::Count(m.find(ix, key).len()),
            ),
            Read::Range => (
                Out::Indexes(self.indexes(h.range_ids(db, borrowed(&b)))),
                Out::Indexes(m.range(ix, range)),
            ),
            Read::CountRange => (
                Out::Count(h.count_in(db, borrowed(&b))),
                Out::Count(m.range(ix, range).len()),
            ),
            Read::Iter => (
                Out::Indexes(self.indexes(h.all_ids(db))),
                Out::Indexes(m.index(ix).into_iter().map(|(_, i)| i).collect()),
            ),
            Read::Query(q) => {
                let got = h.query_ids(db, borrowed(&b), &query(&q, &self.ids));
                let want = q.apply(m.with_rows(t, &m.range(ix, range)));
                (Out::Indexes(self.indexes(got)), Out::Indexes(want))
            }
        }
    }

    /// `modify_range` through `h`: relata's result (the reference's is the caller's).
    fn modify_range<T: Tab, Q: Ord + ?Sized>(
        &mut self,
        h: &impl Lookup<T, Q>,
        conv: &dyn Fn(&K) -> Box<Q>,
        range: &Range,
        change: Change,
        panic_at: Option<usize>,
    ) -> Res<Out> {
        let b = boxed(range, conv);
        let (db, ids) = (&mut self.db, &self.ids);
        let fuse = Fuse::new(panic_at);
        catching(|| {
            h.modify_in(db, borrowed(&b), &mut |row: &mut T| {
                let mut r = row.to_r(ids);
                change.apply(&mut r);
                *row = T::from_r(&r, ids);
                // After the row is changed in place: the panic must undo that too.
                fuse.tick();
            })
            .map(Out::Count)
            .map_err(class)
        })
    }

    fn delete_range<T: Tab, Q: Ord + ?Sized>(
        &mut self,
        h: &impl Lookup<T, Q>,
        conv: &dyn Fn(&K) -> Box<Q>,
        range: &Range,
    ) -> Res<Out> {
        let b = boxed(range, conv);
        match h.delete_in(&mut self.db, borrowed(&b)) {
            Ok(report) => Ok(Out::Deleted(self.deleted(&report, T::T))),
            Err(e) => Err(class(e)),
        }
    }

    fn insert<T: Tab>(&mut self, row: &R) -> Res<Out> {
        let value = T::from_r(row, &self.ids);
        let id = T::table(&self.s)
            .insert(&mut self.db, value)
            .map_err(class)?;
        Ok(Out::Index(self.ids.record(id)))
    }

    fn update<T: Tab>(&mut self, i: usize, row: &R, modify: bool) -> Res<Out> {
        let table = T::table(&self.s);
        let id = T::ids(&self.ids)[i];
        let value = T::from_r(row, &self.ids);
        if modify {
            table
                .modify(&mut self.db, id, |v| *v = value)
                .map(|()| Out::Unit)
                .map_err(class)
        } else {
            let old = table.update(&mut self.db, id, value).map_err(class)?;
            Ok(Out::Old(old.to_r(&self.ids)))
        }
    }

    fn delete<T: Tab>(&mut self, i: usize) -> Res<Out> {
        let id = T::ids(&self.ids)[i];
        let done = T::table(&self.s).delete(&mut self.db, id).map_err(class)?;
        let report = self.deleted(&done.report, T::T);
        Ok(Out::Removed(done.row.to_r(&self.ids), report))
    }

    fn select<T: Tab>(&self, q: &QSpec) -> Out {
        let rows = T::table(&self.s)
            .select(&self.db, &query(q, &self.ids))
            .unwrap();
        Out::Indexes(rows.iter().map(|r| ix(&self.ids, r.id())).collect())
    }

    fn modify_where<T: Tab>(
        &mut self,
        filter: Option<Filter>,
        change: Change,
        boom: Option<Boom>,
    ) -> Res<Out> {
        let table = T::table(&self.s);
        let (db, ids) = (&mut self.db, &self.ids);
        let filter_fuse = Fuse::new(match boom {
            Some(Boom::Filter(k)) => Some(k),
            _ => None,
        });
        let change_fuse = Fuse::new(match boom {
            Some(Boom::Change(k)) => Some(k),
            _ => None,
        });
        let change = |row: &mut T| {
            let mut r = row.to_r(ids);
            change.apply(&mut r);
            *row = T::from_r(&r, ids);
            // After the row is changed in place: the panic must undo that too.
            change_fuse.tick();
        };
        catching(|| {
            let done = if filter.is_none() && filter_fuse.at.is_none() {
                table.modify_all(db, change)
            } else {
                table.modify_where(
                    db,
                    |row: &Row<'_, T>| {
                        filter_fuse.tick();
                        filter.is_none_or(|f| f.eval(ix(ids, row.id()), &row.to_r(ids)))
                    },
                    change,
                )
            };
            done.map(Out::Count).map_err(class)
        })
    }

    fn delete_where<T: Tab>(
        &mut self,
        filter: Option<Filter>,
        panic_at: Option<usize>,
    ) -> Res<Out> {
        let table = T::table(&self.s);
        let fuse = Fuse::new(panic_at);
        let (db, ids) = (&mut self.db, &self.ids);
        let report = catching(|| {
            table
                .delete_where(db, |row: &Row<'_, T>| {
                    fuse.tick();
                    filter.is_none_or(|f| f.eval(ix(ids, row.id()), &row.to_r(ids)))
                })
                .map_err(class)
        })?;
        Ok(Out::Deleted(self.deleted(&report, T::T)))
    }

    fn insert_many<T: Tab>(&mut self, rows: &[R], panic_at: Option<usize>) -> Res<Out> {
        let table = T::table(&self.s);
        let (db, ids) = (&mut self.db, &self.ids);
        let new = catching(|| {
            let values = rows.iter().enumerate().map(|(k, r)| {
                if panic_at == Some(k) {
                    boom_now();
                }
                T::from_r(r, ids)
            });
            table.insert_many(db, values).map_err(class)
        })?;
        Ok(Out::Indexes(
            new.into_iter().map(|id| self.ids.record(id)).collect(),
        ))
    }

    fn upsert<T: Tab, KK: relata::Key>(
        &mut self,
        h: Unique<T, KK>,
        row: &R,
        replace: bool,
    ) -> Res<Out> {
        let value = T::from_r(row, &self.ids);
        let (id, inserted) = if replace {
            h.upsert(&mut self.db, value)
        } else {
            h.find_or_insert(&mut self.db, value)
        }
        .map_err(class)?;
        let i = if inserted {
            self.ids.record(id)
        } else {
            ix(&self.ids, id)
        };
        Ok(Out::Upserted(i, inserted))
    }

    /// The reference's upsert.
    fn model_upsert(&mut self, ix: Ix, row: R, replace: bool) -> Res<Out> {
        let t = ix.table();
        let holder = ix
            .key(&row)
            .and_then(|k| self.model.find(ix, &k).first().copied());
        match holder {
            Some(i) => {
                if replace {
                    self.model.update(t, i, row)?;
                }
                Ok(Out::Upserted(i, false))
            }
            None => self.model.insert(t, row).map(|i| Out::Upserted(i, true)),
        }
    }

    fn step(&mut self, op: &Op) {
        macro_rules! need {
            ($e:expr) => {
                match $e {
                    Some(v) => v,
                    None => return,
                }
            };
        }
        macro_rules! on_table {
            ($t:expr, $method:ident ( $($arg:expr),* )) => {
                match $t {
                    MEMBER => self.$method::<Member>($($arg),*),
                    BOOK => self.$method::<Book>($($arg),*),
                    LOAN => self.$method::<Loan>($($arg),*),
                    _ => self.$method::<Review>($($arg),*),
                }
            };
        }
        // Runs `$body` with `$h` the handle of index `$ix` and `$conv` its key conversion.
        macro_rules! on_index {
            ($ix:expr, |$h:ident, $conv:ident| $body:expr) => {{
                let s = &self.s;
                match $ix {
                    Ix::Due => {
                        let ($h, $conv) = (s.due, &n_of as &dyn Fn(&K) -> Box<u8>);
                        $body
                    }
                    Ix::MemberDue => {
                        let members = self.ids.members.clone();
                        let pair = move |k: &K| match k {
                            K::Pair(m, d) => Box::new((members[*m], *d)),
                            other => panic!("not a member and due date: {other:?}"),
                        };
                        let ($h, $conv) =
                            (s.member_due, &pair as &dyn Fn(&K) -> Box<(Id<Member>, u8)>);
                        $body
                    }
                    Ix::Active => {
                        let books = self.ids.books.clone();
                        let book = move |k: &K| match k {
                            K::Row(b) => Box::new(books[*b]),
                            other => panic!("not a book: {other:?}"),
                        };
                        let ($h, $conv) = (s.active, &book as &dyn Fn(&K) -> Box<Id<Book>>);
                        $body
                    }
                    Ix::ActiveDue => {
                        let ($h, $conv) = (s.active_due, &n_of as &dyn Fn(&K) -> Box<u8>);
                        $body
                    }
                    Ix::Title => {
                        let ($h, $conv) = (s.title, &text_of as &dyn Fn(&K) -> Box<str>);
                        $body
                    }
                    Ix::Card => {
                        let ($h, $conv) = (s.card, &card_of as &dyn Fn(&K) -> Box<(u8, u8)>);
                        $body
                    }
                }
            }};
        }
        let (got, want): (Res<Out>, Res<Out>) = match op {
            Op::Insert(spec) => {
                let (t, row) = need!(self.row(spec));
                let got = on_table!(t, insert(&row));
                (got, self.model.insert(t, row).map(Out::Index))
            }
            Op::Update {
                row: p,
                with,
                modify,
            } => {
                let (t, row) = need!(self.row(with));
                let i = need!(self.pick(t, *p));
                let got = on_table!(t, update(i, &row, *modify));
                let want = self.model.update(t, i, row).map(|old| match modify {
                    true => Out::Unit,
                    false => Out::Old(old),
                });
                (got, want)
            }
            Op::Delete { t, row } => {
                let i = need!(self.pick(*t, *row));
                let got = on_table!(*t, delete(i));
                let old = self.model.rows(*t)[i].clone();
                let want = self
                    .model
                    .delete(*t, &[i])
                    .map(|d| Out::Removed(old.unwrap(), d));
                (got, want)
            }
            Op::Read { ix, read, lo, hi } => {
                let key = need!(self.key(*ix, lo));
                let range = need!(self.range(*ix, lo, hi));
                let (got, want) =
                    on_index!(*ix, |h, conv| self.read(&h, *ix, conv, *read, &key, &range));
                (Ok(got), Ok(want))
            }
            Op::Select { t, q } => {
                let got = on_table!(*t, select(q));
                let m = &self.model;
                let all: Vec<usize> = m.live(*t).map(|(i, _)| i).collect();
                (Ok(got), Ok(Out::Indexes(q.apply(m.with_rows(*t, &all)))))
            }
            Op::ModifyWhere {
                t,
                filter,
                change,
                boom,
            } => {
                let change = need!(self.change(*t, *change));
                // Storage order, as the database holds it before the update.
                let order: Vec<usize> = self.scan_of(*t, &self.db);
                let live = order.len();
                let m = &self.model;
                let order: Vec<usize> = order
                    .into_iter()
                    .filter(|&i| {
                        let row = m.rows(*t)[i].as_ref().expect("scan lists live rows");
                        filter.is_none_or(|f| f.eval(i, row))
                    })
                    .collect();
                let got = on_table!(*t, modify_where(*filter, change, *boom));
                let want = match boom {
                    Some(Boom::Filter(k)) if *k < live => Err(Fail::Panicked),
                    Some(Boom::Change(k)) => self.model.modify(*t, &order, change, Some(*k)),
                    _ => self.model.modify(*t, &order, change, None),
                };
                (got, want.map(Out::Count))
            }
            Op::ModifyRange {
                ix,
                lo,
                hi,
                change,
                panic_at,
            } => {
                let t = ix.table();
                let change = need!(self.change(t, *change));
                let range = need!(self.range(*ix, lo, hi));
                // Index order: the order the range lists its rows in.
                let order = self.model.range(*ix, &range);
                let got = on_index!(*ix, |h, conv| self
                    .modify_range(&h, conv, &range, change, *panic_at));
                let want = self.model.modify(t, &order, change, *panic_at);
                (got, want.map(Out::Count))
            }
            Op::DeleteWhere {
                t,
                filter,
                panic_at,
            } => {
                let m = &self.model;
                let live = m.live(*t).count();
                let roots: Vec<usize> = m
                    .live(*t)
                    .filter(|&(i, r)| filter.is_none_or(|f| f.eval(i, r)))
                    .map(|(i, _)| i)
                    .collect();
                let got = on_table!(*t, delete_where(*filter, *panic_at));
                let want = match panic_at {
                    Some(k) if *k < live => Err(Fail::Panicked),
                    _ => self.model.delete(*t, &roots).map(Out::Deleted),
                };
                (got, want)
            }
            Op::DeleteRange { ix, lo, hi } => {
                let range = need!(self.range(*ix, lo, hi));
                let mut roots = self.model.range(*ix, &range);
                roots.sort_unstable();
                let got = on_index!(*ix, |h, conv| self.delete_range(&h, conv, &range));
                (got, self.model.delete(ix.table(), &roots).map(Out::Deleted))
            }
            Op::InsertMany { rows, panic_at } => {
                let Some(first) = rows.first() else {
                    let got = self.s.loans.insert_many(&mut self.db, []).map_err(class);
                    assert_eq!(got, Ok(Vec::new()));
                    return;
                };
                let t = need!(self.row(first)).0;
                let rows: Vec<R> =
                    need!(rows.iter().map(|r| self.row(r).map(|(_, r)| r)).collect());
                let got = on_table!(t, insert_many(&rows, *panic_at));
                let want = self.model.insert_many(t, rows, *panic_at).map(Out::Indexes);
                (got, want)
            }
            Op::Upsert { ix, row, replace } => {
                let (_, r) = need!(self.row(row));
                let got = match ix {
                    Ix::Title => self.upsert(self.s.title, &r, *replace),
                    Ix::Card => self.upsert(self.s.card, &r, *replace),
                    _ => self.upsert(self.s.active, &r, *replace),
                };
                (got, self.model_upsert(*ix, r, *replace))
            }
        };
        assert_eq!(got, want, "result of {op:?}");
    }
}

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
