//! Schemas declared in one place: the [`Schema`] trait, and (feature `derive`) the derive
//! macro of the same name.

use crate::{Db, Result};

/// A struct of handles that declares itself on a database: its tables, indexes and
/// associations, in one place. Usually derived.
///
/// # The derive
///
/// `#[derive(Schema)]` (feature `derive`, on by default) reads a struct whose fields are
/// handles; each field's type says what it is and its attribute how to declare it:
///
/// ```
/// use relata::{BelongsTo, Db, HasMany, Id, Index, Schema, Table, Unique};
///
/// #[derive(Clone, Debug)]
/// struct Member { name: String, email: String }
/// #[derive(Clone, Debug)]
/// struct Book { title: String, year: u32 }
/// #[derive(Clone, Debug)]
/// struct Loan { member: Id<Member>, book: Id<Book>, due_on: u32, returned: bool }
///
/// #[derive(Schema, Clone, Copy)]
/// struct Library {
///     members: Table<Member>,
///     books: Table<Book>,
///     loans: Table<Loan>,
///     #[unique(email)]
///     member_email: Unique<Member, String>,
///     #[index(due_on)]
///     loans_by_due: Index<Loan, u32>,
///     // A partial unique index: one active loan per book.
///     #[unique(book, filter = |l: &Loan| !l.returned, name = "active_loan")]
///     active_loan: Unique<Loan, Id<Book>>,
///     #[has_many(key = member, on_delete = Restrict, name = "loans")]
///     member_loans: HasMany<Member, Loan>,
///     #[belongs_to(key = book)]
///     loan_book: BelongsTo<Loan, Book>,
/// }
///
/// let (mut db, lib) = Library::new()?;
/// let ada = lib.members.insert(&mut db, Member { name: "Ada".into(), email: "ada@x.org".into() })?;
/// let dune = lib.books.insert(&mut db, Book { title: "Dune".into(), year: 1965 })?;
/// // The child is built from its key: no placeholder for the non-null `member`.
/// let loan = lib.member_loans.create_with(&mut db, ada, |member| Loan {
///     member, book: dune, due_on: 14, returned: false,
/// })?;
/// assert_eq!(lib.loan_book.get(&db, loan)?.unwrap().title, "Dune");
/// assert_eq!(lib.loans_by_due.count(&db, &14)?, 1);
/// assert!(lib.members.delete(&mut db, ada).is_err()); // Restrict
/// # Ok::<(), relata::Error>(())
/// ```
///
/// ## Fields and attributes
///
/// | Field type | Attribute | Declares (plain API) |
/// |---|---|---|
/// | `Table<T>` | none | [`db.create_table::<T>()`](Db::create_table) |
/// | `Unique<T, K>` | `#[unique(field)]` | [`db.unique(t, field!(T, field))`](Db::unique) |
/// | | `#[unique(by = fn, name = "..")]` | [`db.unique_by(t, name, fn)`](Db::unique_by) |
/// | | `#[unique(field or by = fn, filter = fn)]` | [`db.unique_where(t, name, filter, key)`](Db::unique_where) |
/// | `Index<T, K>` | `#[index(..)]`, the same forms | [`db.index`](Db::index), [`index_by`](Db::index_by), [`index_where`](Db::index_where) |
/// | `HasMany<S, T>` | `#[has_many(key = field, ..)]` | [`db.has_many_with(s, t, fk!(T, field), options)`](Db::has_many_with) |
/// | `HasMany<S, T, K>` | `#[has_many(key = field, source_key = unique, ..)]` | [`db.has_many_by(unique, t, fk!(T, field), options)`](Db::has_many_by) |
/// | `HasOne<S, T>`, `HasOne<S, T, K>` | `#[has_one(key = field, ..)]` | [`db.has_one_with`](Db::has_one_with), [`has_one_by`](Db::has_one_by) |
/// | `BelongsTo<T, S>`, `BelongsTo<T, S, K>` | `#[belongs_to(key = field, ..)]` | the has-many above, then [`inverse()`](crate::HasMany::inverse) |
/// | `BelongsToMany<S, T, J>` | `#[belongs_to_many(key = field, other_key = field)]` | [`db.belongs_to_many(s, t, j, fk!(J, key), fk!(J, other_key))`](Db::belongs_to_many) |
///
/// `key` is the foreign-key field of the model holding it (`T`, or the junction `J`); its type
/// decides nullability (`Option<Id<S>>` may be null, `Id<S>` may not). Association options, as
/// in [`AssocOptions`](crate::AssocOptions): `name = ".."` (the name in errors and reports;
/// by default the model holding the key, or the schema field where several associations
/// without a name share that model), `inverse = ".."` (the other side's name), `on_delete`
/// and `on_update` (`Cascade`, `SetNull`, `Restrict`, `NoAction`), `unlink` (`Nullify`,
/// `Reject`, `Delete`), and `source_key = <a Unique field of the source>` for a key holding a
/// unique attribute instead of the id. As in Sequelize, `name` names the side the attribute
/// declares: on `#[belongs_to]` it is the belongs-to's name (`as`) and `inverse` the
/// has-many's (`inverse: { as }`). An index is named after its field, or after the schema
/// field for `by` and `filter` indexes unless `name` is given.
/// `#[schema(archive)]` on the struct also generates `archive()`, an
/// [`Archive`](crate::Archive) of every table (the models must implement serde's traits).
///
/// ## Both sides of an association
///
/// A foreign key carries one association, declared once; a field for its other side names the
/// field that declares it, and takes no options of its own:
///
/// | Field | Attribute | Is |
/// |---|---|---|
/// | `BelongsTo<T, S>` | `#[belongs_to(inverse_of = f)]` | `f.inverse()`, `f` a `HasMany<S, T>` or `HasOne<S, T>` |
/// | `HasMany<S, T>` | `#[has_many(inverse_of = f)]` | `f.inverse()`, `f` a `BelongsTo<T, S>` |
/// | `HasMany<S, J>`, `HasMany<T, J>` | `#[has_many(junction_of = f)]` | `f.junction_rows()` or `f.inverse().junction_rows()`, `f` a `BelongsToMany<S, T, J>` |
/// | `BelongsTo<J, S>`, `BelongsTo<J, T>` | `#[belongs_to(junction_of = f)]` | the same, then `.inverse()` |
///
/// A junction side finds its end by its model; for a many-to-many of a model with itself
/// (`BelongsToMany<User, User, Follow>`) it names the junction key it follows:
/// `#[has_many(junction_of = following, key = followee)]`.
///
/// ```
/// # use relata::{BelongsTo, HasMany, Id, Schema, Table};
/// # #[derive(Clone)] struct Post;
/// # #[derive(Clone)] struct Comment { post: Option<Id<Post>> }
/// #[derive(Schema)]
/// struct Blog {
///     posts: Table<Post>,
///     comments: Table<Comment>,
///     #[has_many(key = post, on_delete = Cascade)] // Post.hasMany(Comment, ..)
///     post_comments: HasMany<Post, Comment>,
///     #[belongs_to(inverse_of = post_comments)] // Comment.belongsTo(Post)
///     comment_post: BelongsTo<Comment, Post>,
/// }
/// let (mut db, blog) = Blog::new()?;
/// let p = blog.posts.insert(&mut db, Post)?;
/// let c = blog.post_comments.create(&mut db, p, Comment { post: None })?;
/// assert!(blog.comment_post.get(&db, c)?.is_some());
/// # Ok::<(), relata::Error>(())
/// ```
///
/// ## Mistakes
///
/// Mistakes are compile errors pointing at the attribute: `SetNull` or `Nullify` on a key that
/// is not an `Option`, a key whose type does not reference the association's source, a field
/// the model does not have, a model with no table in the schema, an unknown option or action,
/// an option given twice, a key two attributes declare (the error says which `inverse_of` or
/// `junction_of` to write instead), a junction key that is an `Option`, a side naming a field
/// that is not the association it could be the side of, a handle without its attribute.
///
/// ## What it generates
///
/// Tables first, then indexes, then associations, each in field order, in one transaction.
/// For this schema:
///
/// ```
/// # use relata::{Db, HasMany, Id, Schema, Table, Unique};
/// # #[derive(Clone)] struct Post { slug: String }
/// # #[derive(Clone)] struct Comment { post: Option<Id<Post>> }
/// #[derive(Schema)]
/// struct Blog {
///     posts: Table<Post>,
///     comments: Table<Comment>,
///     #[unique(slug)]
///     post_slug: Unique<Post, String>,
///     #[has_many(key = post, on_delete = Cascade)]
///     post_comments: HasMany<Post, Comment>,
/// }
/// # let _ = Blog::new()?;
/// # Ok::<(), relata::Error>(())
/// ```
///
/// the derive generates (paths shortened; this page's test declares it by hand, as below, and
/// checks that it gives the same [`Db::schema`] as the derive):
///
/// ```
/// # use relata::{AssocOptions, Db, HasMany, Id, OnDelete, Table, Unique, field, fk};
/// # #[derive(Clone)] struct Post { slug: String }
/// # #[derive(Clone)] struct Comment { post: Option<Id<Post>> }
/// # struct Blog { posts: Table<Post>, comments: Table<Comment>, post_slug: Unique<Post, String>, post_comments: HasMany<Post, Comment> }
/// impl Blog {
///     /// A fresh database with this schema declared on it, and the schema's handles.
///     pub fn new() -> relata::Result<(Db, Self)> {
///         let mut db = Db::new();
///         let schema = Self::declare(&mut db)?;
///         Ok((db, schema))
///     }
///
///     /// Declares this schema's tables, indexes and associations on `db`, in one transaction.
///     pub fn declare(db: &mut Db) -> relata::Result<Self> {
///         db.transaction(|db| {
///             let posts = db.create_table::<Post>()?;
///             let comments = db.create_table::<Comment>()?;
///             let post_slug = db.unique(posts, field!(Post, slug))?;
///             let post_comments = db.has_many_with(
///                 posts,
///                 comments,
///                 fk!(Comment, post), // built so that errors point at `key = post`
///                 AssocOptions::new().on_delete(OnDelete::Cascade),
///             )?;
///             Ok(Blog { posts, comments, post_slug, post_comments })
///         })
///     }
/// }
///
/// impl relata::Schema for Blog {
///     fn declare(db: &mut Db) -> relata::Result<Self> {
///         Blog::declare(db)
///     }
/// }
/// # let (by_hand, _) = Blog::new()?;
/// # let derived = {
/// #     use relata::Schema;
/// #     #[derive(Schema)]
/// #     struct Blog {
/// #         posts: Table<Post>,
/// #         comments: Table<Comment>,
/// #         #[unique(slug)]
/// #         post_slug: Unique<Post, String>,
/// #         #[has_many(key = post, on_delete = Cascade)]
/// #         post_comments: HasMany<Post, Comment>,
/// #     }
/// #     Blog::new()?.0
/// # };
/// # assert_eq!(by_hand.schema(), derived.schema());
/// # assert!(by_hand.schema().contains("Comment.post"), "{}", by_hand.schema());
/// # Ok::<(), relata::Error>(())
/// ```
///
/// plus, for `SetNull` and `Nullify`, a call that only compiles when the key is an `Option`.
pub trait Schema: Sized {
    /// Declares the schema on `db` and returns its handles. Atomic: on error nothing is
    /// declared.
    fn declare(db: &mut Db) -> Result<Self>;

    /// A fresh database with the schema declared on it, and the handles.
    fn create() -> Result<(Db, Self)> {
        let mut db = Db::new();
        let schema = Self::declare(&mut db)?;
        Ok((db, schema))
    }
}

/// What the derive's expansion calls; not part of the API.
#[doc(hidden)]
pub mod __private {
    /// A foreign-key field that may hold null, for `SetNull`.
    #[diagnostic::on_unimplemented(
        message = "`SetNull` needs a nullable foreign key, but `{Self}` is not an `Option`",
        label = "`SetNull` on a key that cannot be null",
        note = "make the foreign-key field an `Option`, or choose another action"
    )]
    pub trait NullableForSetNull {}
    impl<K> NullableForSetNull for Option<K> {}

    /// A foreign-key field that may hold null, for the `Nullify` unlink policy.
    #[diagnostic::on_unimplemented(
        message = "`unlink = Nullify` needs a nullable foreign key, but `{Self}` is not an `Option`",
        label = "`Nullify` on a key that cannot be null",
        note = "make the foreign-key field an `Option`, or unlink with `Reject` or `Delete`"
    )]
    pub trait NullableForNullify {}
    impl<K> NullableForNullify for Option<K> {}

    /// Checks at compile time that the field `key` reads may be nulled by `SetNull`.
    /// Nothing at run time.
    pub fn set_null<T, F: NullableForSetNull>(_key: fn(&T) -> &F) {}

    /// Checks at compile time that the field `key` reads may be nulled by `Nullify`.
    /// Nothing at run time.
    pub fn nullify<T, F: NullableForNullify>(_key: fn(&T) -> &F) {}

    /// A junction key of a many-to-many: the id of a row, never null.
    #[diagnostic::on_unimplemented(
        message = "a many-to-many's junction keys are non-null ids, but this one is `{Self}`",
        label = "a junction key that is not an `Id<_>`",
        note = "make the field an `Id<_>`: a junction row links exactly one pair"
    )]
    pub trait JunctionKey {}
    impl<T> JunctionKey for crate::Id<T> {}

    /// Checks at compile time that the field `key` reads is a junction key. Nothing at run
    /// time.
    pub fn junction_key<T, F: JunctionKey>(_key: fn(&T) -> &F) {}
}
