use relata::{BelongsTo, HasMany, Id, Index, Schema, Table};

#[derive(Clone)]
struct Post {
    title: String,
}

#[derive(Clone)]
struct Comment {
    post: Option<Id<Post>>,
    score: u32,
}

#[derive(Schema)]
struct Blog {
    posts: Table<Post>,
    comments: Table<Comment>,
    #[has_many(key = post, on_delete = Cascade, on_delete = Restrict)]
    post_comments: HasMany<Post, Comment>,
    #[index(by = |c: &Comment| c.score, name = "a", name = "b")]
    by_score: Index<Comment, u32>,
    // A side takes its options from the field it is the side of.
    #[belongs_to(inverse_of = post_comments, name = "post")]
    comment_post: BelongsTo<Comment, Post>,
}

fn main() {}
