use relata::{Id, Schema, Table};

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
    #[unique(titel)]
    book_titles: relata::Unique<Book, String>,
}

fn main() {}
