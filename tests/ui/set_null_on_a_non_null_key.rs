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
    #[has_many(key = member, on_delete = SetNull)]
    member_loans: HasMany<Member, Loan>,
}

fn main() {}
