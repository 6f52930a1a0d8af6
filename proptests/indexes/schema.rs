//! The relata side of the lending schema: row types, their creation indexes, the declaration of the schema, and every index read through one trait.

use super::*;

#[derive(Clone, Debug, PartialEq)]
pub(super) struct Member {
    pub(super) branch: u8,
    pub(super) card: u8,
    pub(super) n: u8,
}
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Book {
    pub(super) title: String,
    pub(super) n: u8,
}
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Review {
    pub(super) title: String,
    pub(super) n: u8,
}
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Loan {
    pub(super) member: Id<Member>,
    pub(super) book: Id<Book>,
    pub(super) due_on: u8,
    pub(super) returned: bool,
}

/// Ids issued per table, by creation index.
#[derive(Default)]
pub(super) struct Ids {
    pub(super) members: Vec<Id<Member>>,
    pub(super) books: Vec<Id<Book>>,
    pub(super) loans: Vec<Id<Loan>>,
    pub(super) reviews: Vec<Id<Review>>,
    pub(super) index: HashMap<(usize, u64), usize>,
}

impl Ids {
    pub(super) fn record<T: Tab>(&mut self, id: Id<T>) -> usize {
        let list = T::ids_mut(self);
        list.push(id);
        let i = list.len() - 1;
        self.index.insert((T::T, id.seq()), i);
        i
    }

    pub(super) fn len(&self, t: usize) -> usize {
        match t {
            MEMBER => self.members.len(),
            BOOK => self.books.len(),
            LOAN => self.loans.len(),
            _ => self.reviews.len(),
        }
    }
}

pub(super) fn ix<T: Tab>(ids: &Ids, id: Id<T>) -> usize {
    ids.index[&(T::T, id.seq())]
}

pub(super) struct Schema {
    pub(super) members: Table<Member>,
    pub(super) books: Table<Book>,
    pub(super) loans: Table<Loan>,
    pub(super) reviews: Table<Review>,
    pub(super) member_loans: HasMany<Member, Loan>,
    pub(super) book_reviews: HasMany<Book, Review, String>,
    pub(super) book_loans: HasMany<Book, Loan>,
    pub(super) due: Index<Loan, u8>,
    pub(super) member_due: Index<Loan, (Id<Member>, u8)>,
    pub(super) active: Unique<Loan, Id<Book>>,
    pub(super) active_due: Index<Loan, u8>,
    pub(super) title: Unique<Book, String>,
    pub(super) card: Unique<Member, (u8, u8)>,
}

/// A table of the schema: its number, handle, ids and conversion to reference rows.
pub(super) trait Tab: Model + std::fmt::Debug {
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

pub(super) fn schema(member_act: Act, book_act: Act, indexes_first: bool) -> (Schema, Db) {
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
pub(super) trait Lookup<T: Model, Q: Ord + ?Sized> {
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
