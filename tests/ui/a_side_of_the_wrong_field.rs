use relata::{BelongsTo, HasMany, Id, Schema, Table};

#[derive(Clone)]
struct Post;

#[derive(Clone)]
struct Comment {
    post: Option<Id<Post>>,
}

#[derive(Schema)]
struct Blog {
    posts: Table<Post>,
    comments: Table<Comment>,
    #[has_many(key = post)]
    post_comments: HasMany<Post, Comment>,
    // The inverse of a table, of a field that does not exist; a junction side of a has-many.
    #[belongs_to(inverse_of = posts)]
    a: BelongsTo<Comment, Post>,
    #[belongs_to(inverse_of = nothing)]
    b: BelongsTo<Comment, Post>,
    #[has_many(junction_of = post_comments)]
    d: HasMany<Post, Comment>,
}

fn main() {}
