use relata::{HasMany, Id, Schema, Table};

#[derive(Clone)]
pub struct User {
    name: String,
}

#[derive(Clone)]
pub struct Post {
    author: Id<User>,
}

#[derive(Schema)]
struct Blog {
    users: Table<crate::User>,
    posts: Table<Post>,
    // `User` here, `crate::User` above: the same type, written two ways.
    #[has_many(key = author)]
    authored: HasMany<User, Post>,
}

fn main() {}
