//! A naive reference for the `indexes` schema (the lending app of issue 12): rows by creation
//! index (`None` once deleted), and every index answer a scan of the rows.
//!
//! - `Member { branch, card, n }`: `(branch, card)` unique (a computed unique over a tuple);
//! - `Book { title, n }`: `title` (a `String`) unique;
//! - `Loan { member, book, due_on, returned }`: `member` and `book` non-null foreign keys (the
//!   on-delete action of each drawn per history: cascade, restrict or no action); a secondary
//!   index on `due_on`, a composite one on `(member, due_on)`, a partial unique index on `book`
//!   over the loans not returned ("one active loan per book") and a partial secondary index on
//!   `due_on` over the same loans;
//! - `Review { title, n }`: `title` references `Book.title` (has-many by an attribute key, on
//!   update and on delete cascade), so that a book is a source key and a set-based update of
//!   books goes through each row's on-update actions.
//!
//! Index order is key order, then creation order within a key; ids order by creation.

use std::cmp::Ordering;
use std::ops::Bound;

/// Tables, by index.
pub const MEMBER: usize = 0;
pub const BOOK: usize = 1;
pub const LOAN: usize = 2;
pub const REVIEW: usize = 3;
pub const TABLES: usize = 4;

/// Book titles: few, so that the unique key collides.
pub const TITLES: [&str; 5] = ["dune", "emma", "ivanhoe", "kim", "ulysses"];
/// Range bounds over titles: the titles, and strings between and around them.
pub const TITLE_BOUNDS: [&str; 9] = [
    "", "dune", "dunes", "emma", "f", "kim", "kimono", "ulysses", "z",
];
/// Due dates are `0..DUE`; bounds go a little past.
pub const DUE: u8 = 8;
pub const BRANCHES: u8 = 2;
pub const CARDS: u8 = 4;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RMember {
    pub branch: u8,
    pub card: u8,
    pub n: u8,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RBook {
    pub title: String,
    pub n: u8,
}

/// A loan, its foreign keys as creation indexes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RLoan {
    pub member: usize,
    pub book: usize,
    pub due_on: u8,
    pub returned: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RReview {
    pub title: String,
    pub n: u8,
}

/// A row of any table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum R {
    Member(RMember),
    Book(RBook),
    Loan(RLoan),
    Review(RReview),
}

impl R {
    pub fn member(&self) -> &RMember {
        match self {
            R::Member(m) => m,
            other => panic!("not a member: {other:?}"),
        }
    }
    pub fn book(&self) -> &RBook {
        match self {
            R::Book(b) => b,
            other => panic!("not a book: {other:?}"),
        }
    }
    pub fn loan(&self) -> &RLoan {
        match self {
            R::Loan(l) => l,
            other => panic!("not a loan: {other:?}"),
        }
    }
    pub fn review(&self) -> &RReview {
        match self {
            R::Review(r) => r,
            other => panic!("not a review: {other:?}"),
        }
    }

    /// The number filters and orders look at: a member's card, a book's or a review's title
    /// (its position among [`TITLES`]), a loan's due date.
    pub fn num(&self) -> u8 {
        match self {
            R::Member(m) => m.card,
            R::Book(RBook { title, .. }) | R::Review(RReview { title, .. }) => {
                TITLES.iter().position(|t| t == title).unwrap_or(99) as u8
            }
            R::Loan(l) => l.due_on,
        }
    }

    /// The flag filters and orders look at: branch 1, an odd `n`, returned.
    pub fn flag(&self) -> bool {
        match self {
            R::Member(m) => m.branch == 1,
            R::Book(RBook { n, .. }) | R::Review(RReview { n, .. }) => n % 2 == 1,
            R::Loan(l) => l.returned,
        }
    }
}

/// The error classes of this schema; `Panicked`: the user closure panicked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fail {
    NotFound,
    ForeignKey,
    Unique,
    Restricted,
    Panicked,
}

pub type Res<T> = Result<T, Fail>;

/// An on-delete action of a non-null foreign key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Act {
    Cascade,
    Restrict,
    NoAction,
}

/// The indexes of the schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Ix {
    /// `db.index(loans, field!(Loan, due_on))`.
    Due,
    /// `db.index_by(loans, "member_due", |l| (l.member, l.due_on))`.
    MemberDue,
    /// `db.unique_where(loans, "active", |l| !l.returned, |l| l.book)`.
    Active,
    /// `db.index_where(loans, "active_due", |l| !l.returned, |l| l.due_on)`.
    ActiveDue,
    /// `db.unique(books, field!(Book, title))`.
    Title,
    /// `db.unique_by(members, "card", |m| (m.branch, m.card))`.
    Card,
}

pub const INDEXES: [Ix; 6] = [
    Ix::Due,
    Ix::MemberDue,
    Ix::Active,
    Ix::ActiveDue,
    Ix::Title,
    Ix::Card,
];

impl Ix {
    pub fn table(self) -> usize {
        match self {
            Ix::Title => BOOK,
            Ix::Card => MEMBER,
            _ => LOAN,
        }
    }

    /// The key of `row` in this index, if it has one.
    pub fn key(self, row: &R) -> Option<K> {
        match (self, row) {
            (Ix::Due, R::Loan(l)) => Some(K::N(l.due_on)),
            (Ix::MemberDue, R::Loan(l)) => Some(K::Pair(l.member, l.due_on)),
            (Ix::Active, R::Loan(l)) => (!l.returned).then_some(K::Row(l.book)),
            (Ix::ActiveDue, R::Loan(l)) => (!l.returned).then_some(K::N(l.due_on)),
            (Ix::Title, R::Book(b)) => Some(K::Text(b.title.clone())),
            (Ix::Card, R::Member(m)) => Some(K::Card(m.branch, m.card)),
            (ix, row) => panic!("{row:?} is not a row of {ix:?}"),
        }
    }
}

/// A key of any index (one index uses one variant). Rows order by creation index, which is
/// how ids order.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum K {
    N(u8),
    Pair(usize, u8),
    Row(usize),
    Text(String),
    Card(u8, u8),
}

pub type Range = (Bound<K>, Bound<K>);

/// Whether `k` falls in `range` (an inverted range holds nothing, as in SQL).
pub fn contains(range: &Range, k: &K) -> bool {
    let above = match &range.0 {
        Bound::Included(lo) => k >= lo,
        Bound::Excluded(lo) => k > lo,
        Bound::Unbounded => true,
    };
    let below = match &range.1 {
        Bound::Included(hi) => k <= hi,
        Bound::Excluded(hi) => k < hi,
        Bound::Unbounded => true,
    };
    above && below
}

/// A query's filter, over a row and its creation index.
#[derive(Clone, Copy, Debug)]
pub enum Filter {
    IdEven,
    NumBelow(u8),
    Flag(bool),
}

impl Filter {
    pub fn eval(self, i: usize, row: &R) -> bool {
        match self {
            Filter::IdEven => i.is_multiple_of(2),
            Filter::NumBelow(x) => row.num() < x,
            Filter::Flag(b) => row.flag() == b,
        }
    }
}

/// A query's order.
#[derive(Clone, Copy, Debug)]
pub enum Order {
    /// Newest first (`b.id().cmp(&a.id())`).
    IdDesc,
    /// `num` descending, then oldest first: a total order.
    NumDescIdAsc,
    /// By `flag` alone: ties keep the order the rows came in.
    Flag,
}

impl Order {
    pub fn cmp(self, a: (usize, &R), b: (usize, &R)) -> Ordering {
        match self {
            Order::IdDesc => b.0.cmp(&a.0),
            Order::NumDescIdAsc => b.1.num().cmp(&a.1.num()).then(a.0.cmp(&b.0)),
            Order::Flag => a.1.flag().cmp(&b.1.flag()),
        }
    }
}

/// A [`relata::Query`], as data.
#[derive(Clone, Copy, Debug)]
pub struct QSpec {
    pub filter: Option<Filter>,
    pub order: Option<Order>,
    pub limit: Option<usize>,
    pub offset: usize,
}

impl QSpec {
    /// `Query::apply`: filter, stable sort, offset, limit.
    pub fn apply(&self, rows: Vec<(usize, &R)>) -> Vec<usize> {
        let mut rows: Vec<(usize, &R)> = rows
            .into_iter()
            .filter(|&(i, r)| self.filter.is_none_or(|f| f.eval(i, r)))
            .collect();
        if let Some(order) = self.order {
            rows.sort_by(|&a, &b| order.cmp(a, b));
        }
        rows.into_iter()
            .skip(self.offset)
            .take(self.limit.unwrap_or(usize::MAX))
            .map(|(i, _)| i)
            .collect()
    }
}

/// A set-based change, as data, applied to a reference row. `Ref` and `Other` carry the
/// creation index they were resolved to (a book and a member for loans).
#[derive(Clone, Copy, Debug)]
pub enum Change {
    /// Loan: `due_on = (due_on + d) % DUE`; member: `card = (card + d) % CARDS`; book: the
    /// title `d` places further in [`TITLES`] (a review too). A permutation of keys: the order
    /// of the rows decides whether it collides.
    Shift(u8),
    /// Loan: `due_on = x`; member: `card = x`; book and review: title `x`.
    Set(u8),
    /// Loan: `returned = b`; member: `branch = b`; book and review: `n = b`.
    Flag(bool),
    /// Loan: `returned = !returned`; member: `branch = 1 - branch`; book and review: `n += 1`.
    Toggle,
    /// Loan: `book = i`; the others: `n = i`.
    Ref(usize),
    /// Loan: `member = i`; the others: `n = i`.
    Other(usize),
}

impl Change {
    pub fn apply(self, row: &mut R) {
        match row {
            R::Loan(l) => match self {
                Change::Shift(d) => l.due_on = (l.due_on + d) % DUE,
                Change::Set(x) => l.due_on = x,
                Change::Flag(b) => l.returned = b,
                Change::Toggle => l.returned = !l.returned,
                Change::Ref(b) => l.book = b,
                Change::Other(m) => l.member = m,
            },
            R::Member(m) => match self {
                Change::Shift(d) => m.card = (m.card + d) % CARDS,
                Change::Set(x) => m.card = x,
                Change::Flag(b) => m.branch = u8::from(b),
                Change::Toggle => m.branch = 1 - m.branch,
                Change::Ref(i) | Change::Other(i) => m.n = i as u8,
            },
            R::Book(RBook { title, n }) | R::Review(RReview { title, n }) => match self {
                Change::Shift(d) => {
                    let at = TITLES.iter().position(|t| t == title).unwrap_or(0);
                    *title = TITLES[(at + usize::from(d)) % TITLES.len()].to_string();
                }
                Change::Set(x) => *title = TITLES[usize::from(x) % TITLES.len()].to_string(),
                Change::Flag(f) => *n = u8::from(f),
                Change::Toggle => *n = n.wrapping_add(1),
                Change::Ref(i) | Change::Other(i) => *n = i as u8,
            },
        }
    }
}

/// What a delete removed, by table, sorted; `roots`: the rows of the root table, in the
/// order the report lists them (the selected rows first, in creation order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deleted {
    pub roots: Vec<usize>,
    pub all: [Vec<usize>; TABLES],
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct State {
    pub tables: [Vec<Option<R>>; TABLES],
}

pub struct Lending {
    pub state: State,
    /// On-delete actions of `Loan.member` and `Loan.book`.
    pub member_act: Act,
    pub book_act: Act,
    /// Whether the loans' indexes were declared before their foreign keys: then a row that
    /// breaks both reports the unique key.
    pub indexes_first: bool,
}

impl Lending {
    pub fn new(member_act: Act, book_act: Act, indexes_first: bool) -> Self {
        Lending {
            state: State::default(),
            member_act,
            book_act,
            indexes_first,
        }
    }

    pub fn rows(&self, t: usize) -> &[Option<R>] {
        &self.state.tables[t]
    }

    pub fn alive(&self, t: usize, i: usize) -> bool {
        self.state.tables[t].get(i).is_some_and(Option::is_some)
    }

    /// Live rows of `t`, in creation order.
    pub fn live(&self, t: usize) -> impl Iterator<Item = (usize, &R)> {
        self.state.tables[t]
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.as_ref().map(|r| (i, r)))
    }

    /// Whether `new` may be stored as row `id` of `t` (`None`: inserted), replacing `old`:
    /// each index of the table in declaration order, as relata asks them.
    fn check(&self, t: usize, id: Option<usize>, old: Option<&R>, new: &R) -> Res<()> {
        let unique = |ix: Ix| -> Res<()> {
            let Some(key) = ix.key(new) else {
                return Ok(());
            };
            if old.is_some_and(|o| ix.key(o).as_ref() == Some(&key)) {
                return Ok(());
            }
            let clash = self
                .live(t)
                .any(|(j, r)| Some(j) != id && ix.key(r).as_ref() == Some(&key));
            if clash { Err(Fail::Unique) } else { Ok(()) }
        };
        match new {
            R::Member(_) => unique(Ix::Card),
            R::Book(_) => unique(Ix::Title),
            R::Review(r) => {
                let same = old.is_some_and(|o| o.review().title == r.title);
                let held = self.live(BOOK).any(|(_, b)| b.book().title == r.title);
                if same || held {
                    Ok(())
                } else {
                    Err(Fail::ForeignKey)
                }
            }
            R::Loan(l) => {
                let fks = || -> Res<()> {
                    let o = old.map(R::loan);
                    if o.is_none_or(|o| o.member != l.member) && !self.alive(MEMBER, l.member) {
                        return Err(Fail::ForeignKey);
                    }
                    if o.is_none_or(|o| o.book != l.book) && !self.alive(BOOK, l.book) {
                        return Err(Fail::ForeignKey);
                    }
                    Ok(())
                };
                if self.indexes_first {
                    unique(Ix::Active)?;
                    fks()
                } else {
                    fks()?;
                    unique(Ix::Active)
                }
            }
        }
    }

    pub fn insert(&mut self, t: usize, row: R) -> Res<usize> {
        self.check(t, None, None, &row)?;
        self.state.tables[t].push(Some(row));
        Ok(self.state.tables[t].len() - 1)
    }

    /// `insert_many`: every row or none. The rows come from an iterator that panics when it
    /// reaches row `panic_at`: rows before it are inserted (and may fail) first.
    pub fn insert_many(
        &mut self,
        t: usize,
        rows: Vec<R>,
        panic_at: Option<usize>,
    ) -> Res<Vec<usize>> {
        let saved = self.state.clone();
        let mut out = Vec::new();
        for (k, row) in rows.into_iter().enumerate() {
            if panic_at == Some(k) {
                self.state = saved;
                return Err(Fail::Panicked);
            }
            match self.insert(t, row) {
                Ok(i) => out.push(i),
                Err(e) => {
                    self.state = saved;
                    return Err(e);
                }
            }
        }
        Ok(out)
    }

    /// `update`: the old row.
    pub fn update(&mut self, t: usize, i: usize, row: R) -> Res<R> {
        let old = self.state.tables[t][i].clone().ok_or(Fail::NotFound)?;
        self.check(t, Some(i), Some(&old), &row)?;
        self.store(t, i, row);
        Ok(old)
    }

    /// Stores a checked row, with its on-update actions: a book's reviews follow its title.
    fn store(&mut self, t: usize, i: usize, row: R) {
        let old = self.state.tables[t][i].replace(row);
        if let (Some(R::Book(old)), Some(R::Book(new))) = (old, &self.state.tables[t][i])
            && old.title != new.title
        {
            let new = new.title.clone();
            for r in self.state.tables[REVIEW].iter_mut().flatten() {
                if let R::Review(r) = r
                    && r.title == old.title
                {
                    r.title = new.clone();
                }
            }
        }
    }

    /// A set-based update of the rows `order` lists, in that order: each row is changed and
    /// checked as a single update against the rows updated before it and the rows not yet
    /// updated; the first failure, or a panic on the `panic_at`-th change, changes nothing.
    /// Returns how many rows it changed. (An update may run every change before the first
    /// check: the caller accepts a panic reported over an earlier row's failure.)
    pub fn modify(
        &mut self,
        t: usize,
        order: &[usize],
        change: Change,
        panic_at: Option<usize>,
    ) -> Res<usize> {
        let saved = self.state.clone();
        for (k, &i) in order.iter().enumerate() {
            if panic_at == Some(k) {
                self.state = saved;
                return Err(Fail::Panicked);
            }
            let old = self.state.tables[t][i].clone().expect("a live row");
            let mut new = old.clone();
            change.apply(&mut new);
            if let Err(e) = self.check(t, Some(i), Some(&old), &new) {
                self.state = saved;
                return Err(e);
            }
            self.store(t, i, new);
        }
        Ok(order.len())
    }

    /// Deletes `roots` (live rows of `t`, in creation order) with their on-delete actions.
    pub fn delete(&mut self, t: usize, roots: &[usize]) -> Res<Deleted> {
        if roots.iter().any(|&i| !self.alive(t, i)) {
            return Err(Fail::NotFound);
        }
        let mut all: [Vec<usize>; TABLES] = Default::default();
        all[t] = roots.to_vec();
        if t == BOOK {
            // Reviews cascade whatever the loans do.
            let titles: Vec<&String> = roots
                .iter()
                .map(|&b| &self.rows(BOOK)[b].as_ref().unwrap().book().title)
                .collect();
            all[REVIEW] = self
                .live(REVIEW)
                .filter(|(_, r)| titles.contains(&&r.review().title))
                .map(|(i, _)| i)
                .collect();
        }
        if t == MEMBER || t == BOOK {
            let act = if t == MEMBER {
                self.member_act
            } else {
                self.book_act
            };
            let children: Vec<usize> = self
                .live(LOAN)
                .filter(|(_, r)| {
                    let l = r.loan();
                    roots.contains(&if t == MEMBER { l.member } else { l.book })
                })
                .map(|(i, _)| i)
                .collect();
            if !children.is_empty() {
                match act {
                    Act::Cascade => all[LOAN] = children,
                    // No loan is a root: both block (no action once the delete ends, with the
                    // loan still there).
                    Act::Restrict | Act::NoAction => return Err(Fail::Restricted),
                }
            }
        }
        for (table, rows) in all.iter().enumerate() {
            for &i in rows {
                self.state.tables[table][i] = None;
            }
        }
        let mut sorted = all.clone();
        for v in &mut sorted {
            v.sort_unstable();
        }
        Ok(Deleted {
            roots: roots.to_vec(),
            all: sorted,
        })
    }

    /// The rows of index `ix`, in index order: (key, creation index), by key then creation.
    pub fn index(&self, ix: Ix) -> Vec<(K, usize)> {
        let mut rows: Vec<(K, usize)> = self
            .live(ix.table())
            .filter_map(|(i, r)| ix.key(r).map(|k| (k, i)))
            .collect();
        rows.sort();
        rows
    }

    pub fn find(&self, ix: Ix, key: &K) -> Vec<usize> {
        self.index(ix)
            .into_iter()
            .filter(|(k, _)| k == key)
            .map(|(_, i)| i)
            .collect()
    }

    pub fn range(&self, ix: Ix, range: &Range) -> Vec<usize> {
        self.index(ix)
            .into_iter()
            .filter(|(k, _)| contains(range, k))
            .map(|(_, i)| i)
            .collect()
    }

    /// Rows by creation index, with their values.
    pub fn with_rows(&self, t: usize, rows: &[usize]) -> Vec<(usize, &R)> {
        rows.iter()
            .map(|&i| (i, self.state.tables[t][i].as_ref().expect("live")))
            .collect()
    }

    /// The live reviews of book `b`, in creation order.
    pub fn reviews_of(&self, b: usize) -> Vec<usize> {
        let title = &self.rows(BOOK)[b].as_ref().expect("live").book().title;
        self.live(REVIEW)
            .filter(|(_, r)| &r.review().title == title)
            .map(|(i, _)| i)
            .collect()
    }

    /// The live loans of member (`t == MEMBER`) or book `i`, in creation order.
    pub fn loans_of(&self, t: usize, i: usize) -> Vec<usize> {
        self.live(LOAN)
            .filter(|(_, r)| {
                let l = r.loan();
                (if t == MEMBER { l.member } else { l.book }) == i
            })
            .map(|(j, _)| j)
            .collect()
    }
}
