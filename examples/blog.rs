//! The Post / Comment story: every HasMany and BelongsTo method in turn, printing what each
//! returns; then the same with a non-null foreign key, where unlinking is a validation error
//! that changes nothing.
//!
//! Run with `cargo run --example blog`.

use relata::{HasMany, Id, Query, Schema, Table, Unlink};

#[derive(Clone, Debug)]
struct Post {
    title: String,
}

#[derive(Clone, Debug)]
struct Comment {
    post: Option<Id<Post>>,
    body: String,
    likes: u32,
}

/// A comment that cannot exist without its post.
#[derive(Clone, Debug)]
struct Review {
    post: Id<Post>,
    stars: u8,
}

/// The schema, in one place: each field is a handle, its attribute says how it is declared.
#[derive(Schema, Clone, Copy)]
struct Blog {
    posts: Table<Post>,
    comments: Table<Comment>,
    reviews: Table<Review>,
    /// `Comment.post` is an `Option`: deleting a post nulls its comments' keys (SetNull).
    #[has_many(key = post)]
    post_comments: HasMany<Post, Comment>,
    /// `Review.post` is not: deleting a post deletes its reviews (Cascade).
    #[has_many(key = post)]
    post_reviews: HasMany<Post, Review>,
}

fn comment(body: &str, likes: u32) -> Comment {
    Comment {
        post: None,
        body: body.into(),
        likes,
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (mut db, blog) = Blog::new()?;
    let Blog {
        posts,
        comments,
        reviews,
        post_comments,
        post_reviews,
    } = blog;
    let comment_post = post_comments.inverse();

    let hello = posts.insert(
        &mut db,
        Post {
            title: "Hello".into(),
        },
    )?;
    let rust = posts.insert(
        &mut db,
        Post {
            title: "Why Rust".into(),
        },
    )?;
    println!("inserted posts {hello} and {rust}");

    // create: insert a comment linked to a post.
    let first = post_comments.create(&mut db, hello, comment("First!", 1))?;
    let nice = post_comments.create(&mut db, hello, comment("Nice post", 5))?;
    let stray = comments.insert(&mut db, comment("Spam?", 0))?;
    println!("create -> {first}, {nice}; insert (unlinked) -> {stray}");

    // get / count / has.
    let bodies: Vec<_> = post_comments
        .get(&db, hello)?
        .map(|c| c.body.clone())
        .collect();
    println!("get(hello) -> {bodies:?}");
    println!("count(hello) -> {}", post_comments.count(&db, hello)?);
    println!(
        "has(hello, first) -> {}",
        post_comments.has(&db, hello, first)?
    );
    println!(
        "has(hello, stray) -> {}",
        post_comments.has(&db, hello, stray)?
    );
    println!(
        "has_all(hello, [first, nice]) -> {}",
        post_comments.has_all(&db, hello, [first, nice])?
    );
    println!(
        "has_all(hello, []) -> {} (vacuously)",
        post_comments.has_all(&db, hello, [])?
    );

    // get with options, and for many posts at once.
    let popular = Query::<Comment>::new()
        .filter(|c| c.likes > 0)
        .order_by(|a, b| b.likes.cmp(&a.likes))
        .limit(1);
    let top: Vec<_> = post_comments
        .query(&db, hello, &popular)?
        .iter()
        .map(|c| c.body.clone())
        .collect();
    println!("query(hello, likes > 0, most liked first, limit 1) -> {top:?}");
    for (post, rows) in post_comments.get_many(&db, [hello, rust], &Query::new())? {
        println!("get_many -> {post}: {} comment(s)", rows.len());
    }
    println!(
        "count_where(hello, likes >= 5) -> {}",
        post_comments.count_where(&db, hello, |c| c.likes >= 5)?
    );

    // add moves a comment; remove nulls it (the key is nullable).
    println!(
        "add(rust, stray) -> {}",
        post_comments.add(&mut db, rust, stray)?
    );
    println!(
        "add(rust, nice) -> {} (moved from hello)",
        post_comments.add(&mut db, rust, nice)?
    );
    println!(
        "count(hello) -> {}, count(rust) -> {}",
        post_comments.count(&db, hello)?,
        post_comments.count(&db, rust)?
    );
    println!(
        "remove(rust, stray) -> {}",
        post_comments.remove(&mut db, rust, stray)?
    );
    println!(
        "comment_post.get(stray) -> {:?}",
        comment_post.get(&db, stray)?.map(|p| p.id())
    );

    // set: exactly these comments, atomically.
    println!(
        "set(hello, [stray, nice]) -> {} row(s) changed",
        post_comments.set(&mut db, hello, [stray, nice])?
    );
    let linked: Vec<_> = post_comments.get(&db, hello)?.map(|c| c.id()).collect();
    println!(
        "get(hello) -> {linked:?}; {first} now belongs to {:?}",
        comment_post.get(&db, first)?.map(|p| p.id())
    );

    // BelongsTo: get, set, create.
    comment_post.set(&mut db, first, Some(rust))?;
    println!(
        "comment_post.set(first, rust); get(first) -> {:?}",
        comment_post.get(&db, first)?.map(|p| p.title.clone())
    );
    let fresh = comment_post.create(
        &mut db,
        first,
        Post {
            title: "Created from a comment".into(),
        },
    )?;
    println!(
        "comment_post.create(first, ..) -> {fresh}; count(fresh) -> {}",
        post_comments.count(&db, fresh)?
    );

    // Stale ids are errors, not panics.
    let deleted = posts.delete(&mut db, rust)?;
    println!(
        "delete(rust) -> {:?}, report: {}",
        deleted.row.title, deleted.report
    );
    match post_comments.count(&db, rust) {
        Err(e) => println!("count(rust) after delete -> error: {e}"),
        Ok(n) => println!("count(rust) after delete -> {n}?!"),
    }

    // A non-null foreign key: unlinking would store null, so it is refused and nothing changes.
    let r1 = post_reviews.create(
        &mut db,
        hello,
        Review {
            post: hello,
            stars: 5,
        },
    )?;
    let r2 = post_reviews.create(
        &mut db,
        hello,
        Review {
            post: hello,
            stars: 3,
        },
    )?;
    let before = post_reviews
        .get(&db, hello)?
        .map(|r| (r.id(), r.stars))
        .collect::<Vec<_>>();
    match post_reviews.set(&mut db, hello, [r1]) {
        Err(e) => println!("post_reviews.set(hello, [{r1}]) -> error: {e}"),
        Ok(n) => println!("post_reviews.set -> {n}?!"),
    }
    match post_reviews.remove(&mut db, hello, r2) {
        Err(e) => println!("post_reviews.remove(hello, {r2}) -> error: {e}"),
        Ok(n) => println!("post_reviews.remove -> {n}?!"),
    }
    match post_reviews.inverse().set(&mut db, r2, None) {
        Err(e) => println!("review_post.set({r2}, None) -> error: {e}"),
        Ok(()) => println!("review_post.set(None) succeeded?!"),
    }
    let after = post_reviews
        .get(&db, hello)?
        .map(|r| (r.id(), r.stars))
        .collect::<Vec<_>>();
    println!(
        "reviews before {before:?}, after {after:?}: unchanged = {}",
        before == after
    );

    // The opt-in delete policy (Sequelize destroyPrevious) makes the same set succeed.
    let changed = post_reviews.set_with(&mut db, hello, [r1], Some(Unlink::Delete))?;
    println!(
        "set_with(hello, [{r1}], Delete) -> {changed}; {r2} exists: {}",
        reviews.contains(&db, r2)?
    );

    db.check_integrity()?;
    println!("integrity check passed");
    Ok(())
}
