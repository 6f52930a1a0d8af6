//! Declaring associations on a database.

use super::{AssocOptions, BelongsTo, HasMany, Link};
use crate::core::{AssocSpec, IndexAt, TableAt};
use crate::db::{Db, Model};
use crate::error::Result;
use crate::id::Id;
use crate::key::{ForeignKey, Key};
use crate::table::Table;
use crate::unique::Unique;

impl Db {
    /// Declares an association and returns its link: the one place every association kind is
    /// declared.
    pub(crate) fn declare<S: Model, T: Model, K: Key>(
        &mut self,
        source: TableAt,
        target: Table<T>,
        fk: ForeignKey<T, K>,
        source_key: Option<IndexAt>,
        options: AssocOptions,
        unique: bool,
    ) -> Result<Link<S, T, K>> {
        let at = self.core.add_assoc::<S, T, K>(AssocSpec {
            source,
            target: target.at,
            fk,
            source_key,
            options,
            unique,
        })?;
        Ok(Link::new(at))
    }

    /// Declares that `source` has many `target` rows, through the foreign key `fk` on the target
    /// holding the source's id, with default options. Also declares the inverse
    /// [`BelongsTo`] (see [`HasMany::inverse`]). Rows already in the tables are indexed; a
    /// dangling key among them is a [`Error::ForeignKey`](crate::Error::ForeignKey).
    /// O(n log n) for the n target rows already stored.
    ///
    /// Defaults (Sequelize v7): on delete `SetNull` when the key is an `Option`, `Cascade` when
    /// not; unlink by nulling when nullable, otherwise a validation error.
    pub fn has_many<S: Model, T: Model>(
        &mut self,
        source: Table<S>,
        target: Table<T>,
        fk: ForeignKey<T, Id<S>>,
    ) -> Result<HasMany<S, T>> {
        self.has_many_with(source, target, fk, AssocOptions::new())
    }

    /// [`has_many`](Db::has_many) with options: names, referential actions, unlink policy.
    /// O(n log n) for the n target rows already stored.
    ///
    /// ```
    /// use relata::{AssocOptions, Db, Error, Id, OnDelete, fk};
    /// #[derive(Clone)] struct Author;
    /// #[derive(Clone)] struct Book { author: Id<Author> }
    /// let mut db = Db::new();
    /// let (authors, books) = (db.create_table()?, db.create_table()?);
    /// let wrote = db.has_many_with(authors, books, fk!(Book, author),
    ///     AssocOptions::new().name("books").inverse("author").on_delete(OnDelete::Restrict))?;
    /// let a = authors.insert(&mut db, Author)?;
    /// wrote.create(&mut db, a, Book { author: a })?;
    /// assert!(matches!(authors.delete(&mut db, a), Err(Error::Restricted { association: "books", .. })));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn has_many_with<S: Model, T: Model>(
        &mut self,
        source: Table<S>,
        target: Table<T>,
        fk: ForeignKey<T, Id<S>>,
        options: AssocOptions,
    ) -> Result<HasMany<S, T>> {
        self.declare(source.at, target, fk, None, options, false)
            .map(HasMany::new)
    }

    /// Declares a has-many association whose foreign key holds a unique key of the source (its
    /// *source key*, e.g. a post's slug) instead of its id. Changing that key on a source row
    /// applies the on-update action (default `Cascade`: children follow, and so do their own
    /// children when the followed key is itself a source key). O(n log n) for the n target
    /// rows already there, as [`has_many`](Db::has_many).
    ///
    /// ```
    /// use relata::{AssocOptions, Db, field, fk};
    /// #[derive(Clone)] struct Post { slug: String }
    /// #[derive(Clone)] struct Comment { post_slug: Option<String> }
    /// let mut db = Db::new();
    /// let (posts, comments) = (db.create_table::<Post>()?, db.create_table::<Comment>()?);
    /// let slug = db.unique(posts, field!(Post, slug))?;
    /// let post_comments = db.has_many_by(slug, comments, fk!(Comment, post_slug), AssocOptions::new())?;
    /// let p = posts.insert(&mut db, Post { slug: "hello".into() })?;
    /// let c = post_comments.create(&mut db, p, Comment { post_slug: None })?;
    /// assert_eq!(comments.get(&db, c)?.post_slug.as_deref(), Some("hello"));
    /// posts.update(&mut db, p, Post { slug: "hello-world".into() })?;
    /// assert_eq!(comments.get(&db, c)?.post_slug.as_deref(), Some("hello-world"));
    /// # Ok::<(), relata::Error>(())
    /// ```
    pub fn has_many_by<S: Model, T: Model, K: Key>(
        &mut self,
        source_key: Unique<S, K>,
        target: Table<T>,
        fk: ForeignKey<T, K>,
        options: AssocOptions,
    ) -> Result<HasMany<S, T, K>> {
        self.declare(
            source_key.keyed.at.table,
            target,
            fk,
            Some(source_key.keyed.at),
            options,
            false,
        )
        .map(HasMany::new)
    }

    /// Declares that each `target` row belongs to a `source` row through `fk`: the same
    /// association as [`has_many`](Db::has_many), seen from the other side.
    /// O(n log n) for the n rows already stored.
    pub fn belongs_to<T: Model, S: Model>(
        &mut self,
        target: Table<T>,
        source: Table<S>,
        fk: ForeignKey<T, Id<S>>,
    ) -> Result<BelongsTo<T, S>> {
        self.has_many(source, target, fk).map(|hm| hm.inverse())
    }
}
