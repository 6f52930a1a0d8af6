//! The lending schema on both sides: SQLite's tables and relata's tables and indexes, and their dumps.

use super::*;

pub const SCHEMA: &str = "
PRAGMA foreign_keys = ON;
CREATE TABLE member (id INTEGER PRIMARY KEY AUTOINCREMENT, n INTEGER NOT NULL);
CREATE TABLE book   (id INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT NOT NULL UNIQUE,
                     n INTEGER NOT NULL);
CREATE TABLE loan   (id INTEGER PRIMARY KEY AUTOINCREMENT,
                     member INTEGER NOT NULL REFERENCES member(id) ON DELETE RESTRICT,
                     book INTEGER NOT NULL REFERENCES book(id) ON DELETE CASCADE,
                     due_on INTEGER NOT NULL, returned INTEGER NOT NULL);
CREATE INDEX loan_due ON loan(due_on);
CREATE INDEX loan_member_due ON loan(member, due_on);
CREATE UNIQUE INDEX loan_active ON loan(book) WHERE returned = 0;
CREATE INDEX loan_active_due ON loan(due_on) WHERE returned = 0;
CREATE TABLE fine   (id INTEGER PRIMARY KEY AUTOINCREMENT,
                     loan INTEGER NOT NULL REFERENCES loan(id) ON DELETE CASCADE,
                     amount INTEGER NOT NULL);
CREATE INDEX fine_loan ON fine(loan);
";

pub const TABLES: [(&str, &[Column]); 4] = [
    ("member", &[("n", None)]),
    ("book", &[("title", None), ("n", None)]),
    (
        "loan",
        &[
            ("member", Some("member")),
            ("book", Some("book")),
            ("due_on", None),
            ("returned", None),
        ],
    ),
    ("fine", &[("loan", Some("loan")), ("amount", None)]),
];

/// Range bounds over titles: the titles, and strings between and around them.
pub(super) const TITLE_BOUNDS: [&str; 8] = ["", "ann", "anna", "b", "bea", "cid", "cz", "dov"];
/// Due dates are `0..DUE`.
pub(super) const DUE: i64 = 6;

#[derive(Clone, Debug)]
pub struct Member {
    pub n: i64,
}
#[derive(Clone, Debug)]
pub struct Book {
    pub title: String,
    pub n: i64,
}
#[derive(Clone, Debug)]
pub struct Loan {
    pub member: Id<Member>,
    pub book: Id<Book>,
    pub due_on: i64,
    pub returned: bool,
}
#[derive(Clone, Debug)]
pub struct Fine {
    pub loan: Id<Loan>,
    pub amount: i64,
}

pub struct Rel {
    pub db: Db,
    pub members: Table<Member>,
    pub books: Table<Book>,
    pub loans: Table<Loan>,
    pub fines: Table<Fine>,
    pub due: Index<Loan, i64>,
    pub member_due: Index<Loan, (Id<Member>, i64)>,
    pub active: Unique<Loan, Id<Book>>,
    pub active_due: Index<Loan, i64>,
    pub title: Unique<Book, String>,
    pub ids: Issued,
}

impl Rel {
    pub fn new() -> Self {
        let mut db = Db::new();
        let members = db.create_table::<Member>().unwrap();
        let books = db.create_table::<Book>().unwrap();
        let loans = db.create_table::<Loan>().unwrap();
        let fines = db.create_table::<Fine>().unwrap();
        // Indexes first: a row that breaks a unique key and a foreign key reports the unique
        // key, as SQLite does (see the module docs).
        let title = db.unique(books, field!(Book, title)).unwrap();
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
        db.has_many_with(
            members,
            loans,
            fk!(Loan, member),
            AssocOptions::new().on_delete(OnDelete::Restrict),
        )
        .unwrap();
        db.has_many_with(
            books,
            loans,
            fk!(Loan, book),
            AssocOptions::new().on_delete(OnDelete::Cascade),
        )
        .unwrap();
        db.has_many_with(
            loans,
            fines,
            fk!(Fine, loan),
            AssocOptions::new().on_delete(OnDelete::Cascade),
        )
        .unwrap();
        Rel {
            db,
            members,
            books,
            loans,
            fines,
            due,
            member_due,
            active,
            active_due,
            title,
            ids: Issued::default(),
        }
    }

    pub fn dump(&self) -> Dump {
        let (db, ids) = (&self.db, &self.ids);
        let mut out = Dump::new();
        let rows = self.members.iter(db).unwrap();
        out.insert(
            "member",
            rows.map(|r| (ids.of(r.id()), vec![V::Int(r.n)])).collect(),
        );
        let rows = self.books.iter(db).unwrap().map(|r| {
            let title = NAMES.iter().position(|n| *n == r.title).unwrap();
            (ids.of(r.id()), vec![V::Name(title), V::Int(r.n)])
        });
        out.insert("book", rows.collect());
        let rows = self.loans.iter(db).unwrap().map(|r| {
            let values = vec![
                V::Ref(ids.of(r.member)),
                V::Ref(ids.of(r.book)),
                V::Int(r.due_on),
                V::Int(i64::from(r.returned)),
            ];
            (ids.of(r.id()), values)
        });
        out.insert("loan", rows.collect());
        let rows = self.fines.iter(db).unwrap().map(|r| {
            (
                ids.of(r.id()),
                vec![V::Ref(ids.of(r.loan)), V::Int(r.amount)],
            )
        });
        out.insert("fine", rows.collect());
        out
    }
}
