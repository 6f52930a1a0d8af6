//! Declaring associations on a database.

use super::{
    AssocData, AssocMeta, AssocOptions, BelongsTo, HasMany, Link, OnDelete, SourceKey, Unlink,
};
use crate::db::{Db, Model, RowIndex};
use crate::error::{Error, Result};
use crate::id::{Id, model_name};
use crate::index::FkIndex;
use crate::key::{ForeignKey, Key};
use crate::table::Table;
use crate::unique::Unique;

impl Db {
    pub(crate) fn declare<S: Model, T: Model, K: Key>(
        &mut self,
        source: usize,
        target: Table<T>,
        fk: ForeignKey<T, K>,
        source_key: SourceKey<S, K>,
        options: AssocOptions,
        unique: bool,
    ) -> Result<Link<S, T, K>> {
        let definition = |message: String| Error::Definition { message };
        let target_model = model_name::<T>();
        self.rows::<S>(source)?;
        let rows = self.rows::<T>(target.index)?;
        let taken = self
            .meta(target.index)
            .fks
            .iter()
            .any(|&a| self.assocs[a].meta().field == fk.name);
        if taken {
            return Err(definition(format!(
                "{target_model}.{} already carries an association; use its `inverse()` instead of declaring it twice",
                fk.name
            )));
        }
        let nullable = fk.is_nullable();
        let on_delete = options.on_delete.unwrap_or(if nullable {
            OnDelete::SetNull
        } else {
            OnDelete::Cascade
        });
        if on_delete == OnDelete::SetNull && !nullable {
            return Err(definition(format!(
                "on delete SetNull needs a nullable foreign key, but {target_model}.{} is not an Option",
                fk.name
            )));
        }
        let unlink = options.unlink.unwrap_or(if nullable {
            Unlink::Nullify
        } else {
            Unlink::Reject
        });
        if unlink == Unlink::Nullify && !nullable {
            return Err(definition(format!(
                "the Nullify unlink policy needs a nullable foreign key, but {target_model}.{} is not an Option",
                fk.name
            )));
        }
        let index = match source_key {
            SourceKey::Id { .. } => FkIndex::by_slot(),
            SourceKey::Attr { .. } => FkIndex::by_key(),
        };
        let mut data = AssocData {
            meta: AssocMeta {
                name: options.name.unwrap_or(target_model),
                inverse: options.inverse.unwrap_or(fk.name),
                source,
                target: target.index,
                field: fk.name,
                nullable,
                on_delete,
                on_update: options.on_update,
                unlink,
                unique,
            },
            fk,
            source_key,
            index,
        };
        let mut existing: Vec<_> = rows.iter().collect();
        existing.sort_unstable_by_key(|(id, _)| *id);
        for (id, row) in existing {
            data.check(self, Some(id), row)?;
            data.insert(id, row);
        }
        let assoc = self.add_assoc(Box::new(data));
        Ok(Link::new(assoc, source, target.index))
    }

    /// Declares that `source` has many `target` rows, through the foreign key `fk` on the target
    /// holding the source's id, with default options. Also declares the inverse
    /// [`BelongsTo`] (see [`HasMany::inverse`]). Rows already in the tables are indexed; a
    /// dangling key among them is a [`Error::ForeignKey`].
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
        let key = SourceKey::id();
        self.declare(source.index, target, fk, key, options, false)
            .map(HasMany::new)
    }

    /// Declares a has-many association whose foreign key holds a unique attribute of the source
    /// (its *source key*, e.g. a post's slug) instead of its id. Changing that attribute on a
    /// source row applies the on-update action (default `Cascade`: children follow).
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
        source_key.data(self)?;
        let key = SourceKey::attr(source_key);
        self.declare(source_key.table, target, fk, key, options, false)
            .map(HasMany::new)
    }

    /// Declares that each `target` row belongs to a `source` row through `fk`: the same
    /// association as [`has_many`](Db::has_many), seen from the other side.
    pub fn belongs_to<T: Model, S: Model>(
        &mut self,
        target: Table<T>,
        source: Table<S>,
        fk: ForeignKey<T, Id<S>>,
    ) -> Result<BelongsTo<T, S>> {
        self.has_many(source, target, fk).map(|hm| hm.inverse())
    }
}
