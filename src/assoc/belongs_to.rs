//! BelongsTo: a target row and the one source row its foreign key points at.

use std::fmt;

use super::{HasMany, Link};
use crate::db::{Db, Model};
use crate::error::Result;
use crate::id::{AsId, Id, model_name};
use crate::key::Key;
use crate::table::{Row, not_found};

/// A handle to a belongs-to association (`Comment` belongs to `Post`): the inverse of a
/// [`HasMany`], reading and writing the same foreign key and index. Returned by
/// [`Db::belongs_to`] or [`HasMany::inverse`].
///
/// | Sequelize | relata | cost |
/// |---|---|---|
/// | `getPost` | [`get`](BelongsTo::get) | O(log n) |
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

impl<T: Model, S: Model, K: Key> BelongsTo<T, S, K> {
    /// The inverse association: the source has many targets.
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
        let data = self.link.data(db)?;
        let row = self.link.target_table().get(db, target)?;
        let Some(key) = data.fk.get(row.value()) else {
            return Ok(None);
        };
        let raw = data.resolve(db, key).expect("foreign keys never dangle");
        self.link
            .source_table()
            .get(db, Id::from_raw(raw))
            .map(Some)
    }

    /// Points `target`'s foreign key at `source`, or nulls it with `None` (Sequelize
    /// `setPost`). Writes only the foreign key. An unknown source is [`Error::NotFound`]; `None`
    /// on a non-null key is [`Error::Validation`]. O(log n).
    ///
    /// [`Error::NotFound`]: crate::Error::NotFound
    /// [`Error::Validation`]: crate::Error::Validation
    pub fn set(&self, db: &mut Db, target: impl AsId<T>, source: Option<Id<S>>) -> Result<()> {
        self.link.atomically(db, move |db| {
            let target = target.as_id();
            let data = self.link.data(db)?;
            let key = source.map(|s| data.key_of(db, s)).transpose()?;
            if !db.rows::<T>(self.link.target)?.contains(target.raw) {
                return Err(not_found(target));
            }
            if key.is_none() && !data.meta.nullable {
                return Err(self.link.not_null(db, target, data.meta.inverse));
            }
            self.link.relink(db, target.raw, key)
        })
    }

    /// Inserts `value` as a new source row and points `target` at it, atomically (Sequelize
    /// `createPost`, which can leave an orphan when its second step fails). Returns the new
    /// source row's id.
    pub fn create(&self, db: &mut Db, target: impl AsId<T>, value: S) -> Result<Id<S>> {
        self.link.atomically(db, move |db| {
            let target = target.as_id();
            if !db.rows::<T>(self.link.target)?.contains(target.raw) {
                return Err(not_found(target));
            }
            // The insert checks everything that can fail; relinking afterwards cannot (a new source
            // has no target yet, so a has-one association cannot object either).
            let source = self.link.source_table().insert(db, value)?;
            let data = self.link.data(db)?;
            let key = data.key_of(db, source)?;
            self.link.relink(db, target.raw, Some(key))?;
            Ok(source)
        })
    }
}
