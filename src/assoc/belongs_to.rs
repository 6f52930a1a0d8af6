//! BelongsTo: a target row and the one source row its foreign key points at.

use std::fmt;

use super::{HasMany, Link};
use crate::core::{Fk, not_found};
use crate::db::{Db, Model};
use crate::error::{Argument, Error, Result};
use crate::id::{AsId, Id, model_name};
use crate::key::Key;
use crate::table::Row;

/// A handle to a belongs-to association (`Comment` belongs to `Post`): the inverse of a
/// [`HasMany`], reading and writing the same foreign key and index. Returned by
/// [`Db::belongs_to`] or [`HasMany::inverse`].
///
/// | Sequelize | relata | cost |
/// |---|---|---|
/// | `getPost` | [`get`](BelongsTo::get), [`get_many`](BelongsTo::get_many) | O(log n) |
/// | `setPost` | [`set`](BelongsTo::set) | O(log n) |
/// | `createPost` | [`create`](BelongsTo::create) | O(log n) per index |
pub struct BelongsTo<T, S, K = Id<S>> {
    pub(crate) link: Link<S, T, K>,
}

impl<T, S, K> Clone for BelongsTo<T, S, K> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T, S, K> Copy for BelongsTo<T, S, K> {}
impl<T, S, K> fmt::Debug for BelongsTo<T, S, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BelongsTo<{}, {}>", model_name::<T>(), model_name::<S>())
    }
}

/// Each target with the source row it belongs to (if any), as returned by
/// [`BelongsTo::get_many`].
pub type SourceOf<'a, T, S> = Vec<(Id<T>, Option<Row<'a, S>>)>;

impl<T: Model, S: Model, K: Key> BelongsTo<T, S, K> {
    /// `NotFound` for the row whose key this handle reads (its source: the comment of
    /// `comment_post.set(comment, ..)`), named by this association's name.
    #[cold]
    fn missing_row(&self, fk: &Fk<'_, S, T, K>, row: Id<T>) -> Error {
        not_found::<T>(row.raw, Argument::Source, Some(fk.def.inverse()))
    }

    /// `NotFound` for the row the key would reference (the post of
    /// `comment_post.set(c, Some(post))`).
    #[cold]
    fn missing_referenced(&self, fk: &Fk<'_, S, T, K>, referenced: Id<S>) -> Error {
        not_found::<S>(referenced.raw, Argument::Target, Some(fk.def.inverse()))
    }

    /// The inverse association: the source has many targets. O(1): a copy of the handle.
    pub fn inverse(&self) -> HasMany<S, T, K> {
        HasMany { link: self.link }
    }

    /// The source row `target` belongs to, or `None` when its foreign key is null (Sequelize
    /// `getPost`). O(log n).
    ///
    /// ```
    /// # use relata::{Db, Id, fk};
    /// # #[derive(Clone)] struct Post;
    /// # #[derive(Clone)] struct Comment { post: Option<Id<Post>> }
    /// # let mut db = Db::new();
    /// # let (posts, comments) = (db.create_table()?, db.create_table()?);
    /// let comment_post = db.belongs_to(comments, posts, fk!(Comment, post))?;
    /// let p = posts.insert(&mut db, Post)?;
    /// let c = comments.insert(&mut db, Comment { post: None })?;
    /// assert!(comment_post.get(&db, c)?.is_none());
    /// comment_post.set(&mut db, c, Some(p))?;
    /// assert_eq!(comment_post.get(&db, c)?.map(|row| row.id()), Some(p));
    /// # Ok::<(), relata::Error>(())
    /// ```
    pub fn get<'a>(&self, db: &'a Db, target: impl AsId<T>) -> Result<Option<Row<'a, S>>> {
        let target = target.as_id();
        let fk = self.link.fk(&db.core)?;
        let row = fk
            .targets
            .rows()
            .get(target.raw)
            .ok_or_else(|| self.missing_row(&fk, target))?;
        self.source_of(db, row)
    }

    /// The source row the key of `row` references, if it holds one.
    fn source_of<'a>(&self, db: &'a Db, row: &T) -> Result<Option<Row<'a, S>>> {
        let fk = self.link.fk(&db.core)?;
        let Some(key) = fk.index.foreign_key().get(row) else {
            return Ok(None);
        };
        let sources = self.link.sources(&db.core)?.rows(db)?;
        Ok(fk
            .index
            .resolve(&db.core, key)
            .and_then(|raw| sources.get(raw).map(|value| Row::raw(raw, value))))
    }

    /// [`get`](BelongsTo::get) for many targets at once: one entry per target, in the order
    /// given. Every target is checked before anything is read. O(m log n).
    pub fn get_many<'a>(
        &self,
        db: &'a Db,
        targets: impl IntoIterator<Item = Id<T>>,
    ) -> Result<SourceOf<'a, T, S>> {
        let fk = self.link.fk(&db.core)?;
        let table = fk.targets.rows();
        let rows = targets
            .into_iter()
            .map(|id| match table.get(id.raw) {
                Some(row) => Ok((id, row)),
                None => Err(self.missing_row(&fk, id)),
            })
            .collect::<Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(id, row)| Ok((id, self.source_of(db, row)?)))
            .collect()
    }

    /// Points `target`'s foreign key at `source`, or nulls it with `None` (Sequelize
    /// `setPost`). Writes only the foreign key. An unknown source is [`Error::NotFound`]; `None`
    /// on a non-null key is [`Error::Validation`]. O(log n).
    ///
    /// [`Error::NotFound`]: crate::Error::NotFound
    /// [`Error::Validation`]: crate::Error::Validation
    pub fn set(&self, db: &mut Db, target: impl AsId<T>, source: Option<Id<S>>) -> Result<()> {
        let target = target.as_id();
        let mut w = db.core.write();
        let fk = self.link.fk(w.core())?;
        let key = match source {
            Some(s) => Some(
                fk.index
                    .key_of(w.core(), s.raw)
                    .ok_or_else(|| self.missing_referenced(&fk, s))?,
            ),
            None => None,
        };
        if !fk.targets.rows().contains(target.raw) {
            return Err(self.missing_row(&fk, target));
        }
        if key.is_none() && !fk.def.nullable() {
            return Err(Error::Validation {
                model: model_name::<T>(),
                field: fk.def.field(),
                row: target.into(),
                association: fk.def.inverse(),
            });
        }
        w.relink::<S, T, K>(self.link.at, target.raw, key)?;
        w.commit()
    }

    /// Inserts `value` as a new source row and points `target` at it, atomically (Sequelize
    /// `createPost`, which can leave an orphan when its second step fails). Returns the new
    /// source row's id. O(log n) per index of the two tables.
    pub fn create(&self, db: &mut Db, target: impl AsId<T>, value: S) -> Result<Id<S>> {
        let target = target.as_id();
        let mut w = db.core.write();
        let fk = self.link.fk(w.core())?;
        if !fk.targets.rows().contains(target.raw) {
            return Err(self.missing_row(&fk, target));
        }
        let source = w.insert(fk.def.source(), value)?;
        let fk = self.link.fk(w.core())?;
        let key = self.link.key_of(w.core(), &fk, Id::from_raw(source))?;
        w.relink::<S, T, K>(self.link.at, target.raw, Some(key))?;
        w.commit()?;
        Ok(Id::from_raw(source))
    }
}
