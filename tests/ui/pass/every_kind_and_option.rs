//! Every handle kind and every association option the derive accepts.

use relata::{BelongsTo, BelongsToMany, HasMany, HasOne, Id, Index, Schema, Table, Unique};

#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct User {
    email: String,
    handle: String,
}

#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct Profile {
    user: Option<Id<User>>,
}

#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct Passport {
    holder_email: String,
}

#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct Post {
    author: Id<User>,
    editor: Option<Id<User>>,
    reviewer: Option<Id<User>>,
    approver: Option<Id<User>>,
    author_handle: Option<String>,
    stars: u8,
}

#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct Tag {
    name: String,
}

#[derive(Clone, Default, serde::Serialize, serde::Deserialize)]
struct PostTag {
    post: Id<Post>,
    tag: Id<Tag>,
}

#[derive(Schema, Clone, Copy)]
#[schema(archive)]
struct Blog {
    users: Table<User>,
    profiles: Table<Profile>,
    passports: Table<Passport>,
    posts: Table<Post>,
    tags: Table<Tag>,
    post_tags: Table<PostTag>,

    #[unique(email)]
    user_email: Unique<User, String>,
    #[unique(handle)]
    user_handle: Unique<User, String>,
    #[unique(by = |t: &Tag| t.name.to_lowercase(), name = "tag_name_ci")]
    tag_name: Unique<Tag, String>,
    #[unique(by = |p: &Post| (p.author, p.stars), filter = |p: &Post| p.stars == 5)]
    one_five_star_post_per_author: Unique<Post, (Id<User>, u8)>,
    #[index(stars)]
    post_stars: Index<Post, u8>,
    #[index(stars, filter = |p: &Post| p.editor.is_none(), name = "unedited_stars")]
    unedited_stars: Index<Post, u8>,

    #[has_many(key = author, on_delete = Cascade, on_update = Restrict, unlink = Delete, name = "posts", inverse = "author")]
    authored: HasMany<User, Post>,
    #[has_many(key = editor, on_delete = SetNull, on_update = SetNull, unlink = Nullify)]
    edited: HasMany<User, Post>,
    #[belongs_to(key = reviewer, on_delete = Restrict, unlink = Reject)]
    reviewer: BelongsTo<Post, User>,
    #[belongs_to(key = approver, on_delete = NoAction, on_update = NoAction)]
    approver: BelongsTo<Post, User, Id<User>>,
    #[has_many(key = author_handle, source_key = user_handle, on_update = Cascade)]
    by_handle: HasMany<User, Post, String>,
    #[has_one(key = user, on_delete = SetNull)]
    profile: HasOne<User, Profile>,
    #[has_one(key = holder_email, source_key = user_email)]
    passport: HasOne<User, Passport, String>,
    #[belongs_to_many(key = post, other_key = tag)]
    post_tag_links: BelongsToMany<Post, Tag, PostTag>,
}

fn main() {
    let (mut db, blog) = Blog::new().unwrap();
    let ada = blog
        .users
        .insert(
            &mut db,
            User {
                email: "ada@x".into(),
                handle: "ada".into(),
            },
        )
        .unwrap();
    let post = blog
        .authored
        .create_with(&mut db, ada, |author| Post {
            author,
            editor: None,
            reviewer: None,
            approver: None,
            author_handle: None,
            stars: 5,
        })
        .unwrap();
    blog.by_handle.add(&mut db, ada, post).unwrap();
    blog.passport
        .create_with(&mut db, ada, |holder_email| Passport { holder_email })
        .unwrap();
    let _ = Blog::archive();
    db.check_integrity().unwrap();
}
