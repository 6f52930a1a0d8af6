use relata::{BelongsToMany, Id, Schema, Table};

#[derive(Clone)]
struct Post;

#[derive(Clone)]
struct Tag;

#[derive(Clone, Default)]
struct PostTag {
    post: Option<Id<Post>>,
    tag: Id<Tag>,
}

#[derive(Schema)]
struct Blog {
    posts: Table<Post>,
    tags: Table<Tag>,
    post_tags: Table<PostTag>,
    #[belongs_to_many(key = post, other_key = tag)]
    tagged: BelongsToMany<Post, Tag, PostTag>,
}

fn main() {}
