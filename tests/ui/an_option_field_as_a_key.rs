use relata::{Schema, Table, Unique};

#[derive(Clone)]
struct User {
    email: Option<String>,
}

// SQL's unique-but-nullable column: the error says how to write it.
#[derive(Schema)]
struct Accounts {
    users: Table<User>,
    #[unique(email)]
    by_email: Unique<User, Option<String>>,
}

fn main() {}
