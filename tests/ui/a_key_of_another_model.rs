use relata::{HasMany, Id, Schema, Table};

#[derive(Clone)]
struct Member {
    name: String,
}

#[derive(Clone)]
struct Book {
    title: String,
}

#[derive(Clone)]
struct Loan {
    member: Id<Member>,
    book: Id<Book>,
}

#[derive(Schema)]
struct Library {
    members: Table<Member>,
    books: Table<Book>,
    loans: Table<Loan>,
    // `Loan.book` references books, not members.
    #[has_many(key = book)]
    member_loans: HasMany<Member, Loan>,
}

fn main() {}
