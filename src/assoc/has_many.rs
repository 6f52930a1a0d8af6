//! HasMany: a source row and the many target rows whose foreign key points at it.

use std::fmt;

use super::{BelongsTo, Link, Unlink};
use crate::bucket::BucketIter;
use crate::db::{Db, Model};
use crate::error::Result;
use crate::id::{AsId, Id, RawId, model_name};
use crate::key::Key;
use crate::query::Query;
use crate::rows::{Cursor, Rows};
use crate::table::Row;

/// A handle to a has-many association (`Post` has many `Comment`), returned by
/// [`Db::has_many`]. `K` is the key the foreign key holds: the source's id by default, or a
/// unique attribute ([`Db::has_many_by`]).
///
/// Every method takes the database explicitly and fails with
/// [`Error::NotFound`](crate::Error::NotFound) if an id argument names no live row, before
/// changing anything. Writes are atomic.
///
/// | Sequelize | relata | cost |
/// |---|---|---|
/// | `getComments` | [`get`](HasMany::get), [`get_with`](HasMany::get_with), [`get_many`](HasMany::get_many) | O(log n + k) |
/// | `countComments` | [`count`](HasMany::count), [`count_where`](HasMany::count_where) | O(log n) (unfiltered: one lookup) |
/// | `hasComment(s)` | [`has`](HasMany::has), [`has_all`](HasMany::has_all), `*_where` | O(log n) per target |
/// | `addComment(s)` | [`add`](HasMany::add), [`add_many`](HasMany::add_many) | O(log n) per target |
/// | `removeComment(s)` | [`remove`](HasMany::remove), [`remove_many`](HasMany::remove_many) | O(log n) per target |
/// | `setComments` | [`set`](HasMany::set) | O((old + new) log n) |
/// | `createComment` | [`create`](HasMany::create) | O(log n) per index |
pub struct HasMany<S, T, K = Id<S>> {
    pub(crate) link: Link<S, T, K>,
}

impl<S, T, K> Clone for HasMany<S, T, K> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<S, T, K> Copy for HasMany<S, T, K> {}
impl<S, T, K> fmt::Debug for HasMany<S, T, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HasMany<{}, {}>", model_name::<S>(), model_name::<T>())
    }
}

/// The children of one source row, in creation order. Returned by [`HasMany::get`].
pub struct Children<'a, T> {
    ids: BucketIter<'a>,
    rows: &'a Rows<T>,
    cursor: Cursor<'a, T>,
}

impl<'a, T: Model> Iterator for Children<'a, T> {
    type Item = Row<'a, T>;

    fn next(&mut self) -> Option<Row<'a, T>> {
        let raw = self.ids.next()?;
        let row = self
            .rows
            .get_near(raw, &mut self.cursor)
            .expect("indexed children exist");
        Some(Row::new(Id::from_raw(raw), row))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.ids.size_hint()
    }
}
impl<T: Model> ExactSizeIterator for Children<'_, T> {}

/// The rows of each source, for batched reads: `(source, its rows)` in the order asked.
pub type PerSource<'a, S, T> = Vec<(Id<S>, Vec<Row<'a, T>>)>;

/// Sorted, deduplicated raw ids.
fn raw_set<T>(ids: impl IntoIterator<Item = Id<T>>) -> Vec<RawId> {
    let mut raw: Vec<RawId> = ids.into_iter().map(|id| id.raw).collect();
    raw.sort_unstable();
    raw.dedup();
    raw
}

impl<S: Model, T: Model, K: Key> HasMany<S, T, K> {
    pub(crate) fn new(link: Link<S, T, K>) -> Self {
        HasMany { link }
    }

    /// The inverse association: each target row belongs to one source row.
    pub fn inverse(&self) -> BelongsTo<T, S, K> {
        BelongsTo { link: self.link }
    }

    /// The rows linked to `source`, in creation order (Sequelize `getComments`).
    /// O(log n) to start, then O(log n) per row.
    ///
    /// ```
    /// # use relata::{Db, Id, fk};
    /// # #[derive(Clone)] struct Post;
    /// # #[derive(Clone)] struct Comment { post: Option<Id<Post>>, body: &'static str }
    /// # let mut db = Db::new();
    /// # let (posts, comments) = (db.create_table()?, db.create_table()?);
    /// let post_comments = db.has_many(posts, comments, fk!(Comment, post))?;
    /// let p = posts.insert(&mut db, Post)?;
    /// for body in ["first", "second"] {
    ///     post_comments.create(&mut db, p, Comment { post: None, body })?;
    /// }
    /// let bodies: Vec<_> = post_comments.get(&db, p)?.map(|c| c.body).collect();
    /// assert_eq!(bodies, ["first", "second"]);
    /// # Ok::<(), relata::Error>(())
    /// ```
    pub fn get<'a>(&self, db: &'a Db, source: impl AsId<S>) -> Result<Children<'a, T>> {
        let bucket = self.link.data(db)?.bucket_of(db, source.as_id())?;
        let rows = db.rows::<T>(self.link.target)?;
        let ids = match bucket {
            Some(bucket) => bucket.iter(),
            None => crate::bucket::Bucket::Empty.iter(),
        };
        Ok(Children {
            ids,
            rows,
            cursor: None,
        })
    }

    /// The rows linked to `source`, filtered, ordered, limited and offset by `query`.
    /// O(log n + k log k) for k linked rows.
    pub fn get_with<'a>(
        &self,
        db: &'a Db,
        source: impl AsId<S>,
        query: &Query<'_, T>,
    ) -> Result<Vec<Row<'a, T>>> {
        Ok(query.apply(self.get(db, source)?))
    }

    /// [`get_with`](HasMany::get_with) for many sources at once (Sequelize's batched getter):
    /// one entry per source, in the order given, empty ones included; the limit applies per
    /// source. Every source is checked before anything is read.
    pub fn get_many<'a>(
        &self,
        db: &'a Db,
        sources: impl IntoIterator<Item = Id<S>>,
        query: &Query<'_, T>,
    ) -> Result<PerSource<'a, S, T>> {
        sources
            .into_iter()
            .map(|s| Ok((s, self.get_with(db, s, query)?)))
            .collect()
    }

    /// Number of rows linked to `source` (Sequelize `countComments`). O(log n): one lookup,
    /// whatever the number of children.
    pub fn count(&self, db: &Db, source: impl AsId<S>) -> Result<usize> {
        let bucket = self.link.data(db)?.bucket_of(db, source.as_id())?;
        Ok(bucket.map_or(0, |b| b.len()))
    }

    /// Number of rows linked to `source` that match `filter`. O(log n + k).
    pub fn count_where(
        &self,
        db: &Db,
        source: impl AsId<S>,
        filter: impl Fn(&T) -> bool,
    ) -> Result<usize> {
        Ok(self.get(db, source)?.filter(|r| filter(r)).count())
    }

    /// Whether `target` is linked to `source` (Sequelize `hasComment`). O(log n): reads the
    /// target's foreign key.
    pub fn has(&self, db: &Db, source: impl AsId<S>, target: impl AsId<T>) -> Result<bool> {
        self.has_where(db, source, target, |_| true)
    }

    /// Whether `target` is linked to `source` and matches `filter`.
    pub fn has_where(
        &self,
        db: &Db,
        source: impl AsId<S>,
        target: impl AsId<T>,
        filter: impl Fn(&T) -> bool,
    ) -> Result<bool> {
        let data = self.link.data(db)?;
        let (source, row) = self.resolve(db, source.as_id(), target.as_id())?;
        Ok(data.is_linked(db, source, row)? && filter(row))
    }

    /// Whether every target is linked to `source` (Sequelize `hasComments`). Set semantics:
    /// duplicates are fine and an empty list is `true`. O(m log n) for m targets.
    pub fn has_all(
        &self,
        db: &Db,
        source: impl AsId<S>,
        targets: impl IntoIterator<Item = Id<T>>,
    ) -> Result<bool> {
        self.has_all_where(db, source, targets, |_| true)
    }

    /// Whether every target is linked to `source` and matches `filter`.
    pub fn has_all_where(
        &self,
        db: &Db,
        source: impl AsId<S>,
        targets: impl IntoIterator<Item = Id<T>>,
        filter: impl Fn(&T) -> bool,
    ) -> Result<bool> {
        let data = self.link.data(db)?;
        let key = data.key_of(db, source.as_id())?;
        let targets = self.link.targets(db, targets)?;
        Ok(targets
            .iter()
            .all(|(_, row)| data.fk.get(row) == Some(&key) && filter(row)))
    }

    /// The source and target arguments of a single-target method: the target's row, or
    /// `NotFound` (for the source first, when both are missing).
    #[inline]
    fn resolve<'a>(&self, db: &'a Db, source: Id<S>, target: Id<T>) -> Result<(Id<S>, &'a T)> {
        match db.rows::<T>(self.link.target)?.get(target.raw) {
            Some(row) => Ok((source, row)),
            None => {
                self.link.data(db)?.key_of(db, source)?;
                Err(crate::table::not_found(target))
            }
        }
    }

    /// Links `target` to `source`, moving it away from any other source (Sequelize
    /// `addComment`). Returns whether it was not linked to `source` before. O(log n).
    pub fn add(&self, db: &mut Db, source: impl AsId<S>, target: impl AsId<T>) -> Result<bool> {
        let (source, target) = (source.as_id(), target.as_id());
        if let Some(added) = self.link.link_one_fast(db, source, target.raw) {
            return Ok(added);
        }
        self.link.atomically(db, move |db| {
            let (source, row) = self.resolve(db, source, target)?;
            let Some(key) = self.link.data(db)?.unlinked_key(db, source, row)? else {
                return Ok(false);
            };
            self.link.relink(db, target.raw, Some(key))?;
            Ok(true)
        })
    }

    /// Links every target to `source`, leaving rows already linked alone (Sequelize
    /// `addComments`). Returns how many rows it newly linked. Atomic: an unknown id fails the
    /// whole call. O(m log n).
    pub fn add_many(
        &self,
        db: &mut Db,
        source: impl AsId<S>,
        targets: impl IntoIterator<Item = Id<T>>,
    ) -> Result<usize> {
        self.link.atomically(db, move |db| {
            let data = self.link.data(db)?;
            let key = data.key_of(db, source.as_id())?;
            let targets = self.link.targets(db, targets)?;
            let new: Vec<RawId> = raw_set(
                targets
                    .into_iter()
                    .filter(|(_, row)| data.fk.get(row) != Some(&key))
                    .map(|(id, _)| id),
            );
            self.link
                .relink_many(db, new.iter().map(|&child| (child, Some(key.clone()))))?;
            Ok(new.len())
        })
    }

    /// Unlinks `target` from `source` if it is linked to it, by the association's unlink policy
    /// (Sequelize `removeComment`). Returns whether it was linked. A non-null key makes this a
    /// [`Error::Validation`](crate::Error::Validation) unless the policy deletes.
    pub fn remove(&self, db: &mut Db, source: impl AsId<S>, target: impl AsId<T>) -> Result<bool> {
        let (source, target) = (source.as_id(), target.as_id());
        if let Some(removed) = self.link.unlink_one_fast(db, source, target.raw) {
            return Ok(removed);
        }
        self.link.atomically(db, move |db| {
            let (source, row) = self.resolve(db, source, target)?;
            let data = self.link.data(db)?;
            if !data.is_linked(db, source, row)? {
                return Ok(false);
            }
            if data.meta.unlink == Unlink::Nullify && data.meta.nullable {
                // The common case, without planning: null the key.
                self.link.relink(db, target.raw, None)?;
                return Ok(true);
            }
            let unlinking = self.link.plan_unlink(db, vec![target.raw], None)?;
            self.link.apply_unlink(db, unlinking).map(|n| n == 1)
        })
    }

    /// Unlinks every target that is linked to `source`; others are left alone (Sequelize
    /// `removeComments`). Returns how many rows it unlinked. Atomic. O(m log n).
    pub fn remove_many(
        &self,
        db: &mut Db,
        source: impl AsId<S>,
        targets: impl IntoIterator<Item = Id<T>>,
    ) -> Result<usize> {
        self.remove_many_with(db, source, targets, None)
    }

    /// [`remove_many`](HasMany::remove_many) with an unlink policy for this call (`None`: the
    /// association's). `Some(Unlink::Delete)` is Sequelize's `destroy: true`.
    pub fn remove_many_with(
        &self,
        db: &mut Db,
        source: impl AsId<S>,
        targets: impl IntoIterator<Item = Id<T>>,
        policy: Option<Unlink>,
    ) -> Result<usize> {
        self.link.atomically(db, move |db| {
            let data = self.link.data(db)?;
            let key = data.key_of(db, source.as_id())?;
            let targets = self.link.targets(db, targets)?;
            let linked = raw_set(
                targets
                    .into_iter()
                    .filter(|(_, row)| data.fk.get(row) == Some(&key))
                    .map(|(id, _)| id),
            );
            let unlinking = self.link.plan_unlink(db, linked, policy)?;
            self.link.apply_unlink(db, unlinking)
        })
    }

    /// Makes the rows linked to `source` exactly `targets` (duplicates ignored; Sequelize
    /// `setComments`): rows no longer listed are unlinked by the unlink policy, new ones are
    /// linked (moved if linked elsewhere), rows already linked are untouched. Atomic, unlike
    /// Sequelize's concurrent statements. Returns how many rows changed.
    /// O((old + new) log n).
    ///
    /// ```
    /// # use relata::{Db, Id, fk};
    /// # #[derive(Clone)] struct Post;
    /// # #[derive(Clone)] struct Comment { post: Option<Id<Post>> }
    /// # let mut db = Db::new();
    /// # let (posts, comments) = (db.create_table()?, db.create_table()?);
    /// let post_comments = db.has_many(posts, comments, fk!(Comment, post))?;
    /// let p = posts.insert(&mut db, Post)?;
    /// let a = post_comments.create(&mut db, p, Comment { post: None })?;
    /// let b = comments.insert(&mut db, Comment { post: None })?;
    /// post_comments.set(&mut db, p, [b])?;
    /// assert_eq!(comments.get(&db, a)?.post, None);
    /// assert_eq!(comments.get(&db, b)?.post, Some(p));
    /// # Ok::<(), relata::Error>(())
    /// ```
    pub fn set(
        &self,
        db: &mut Db,
        source: impl AsId<S>,
        targets: impl IntoIterator<Item = Id<T>>,
    ) -> Result<usize> {
        self.set_with(db, source, targets, None)
    }

    /// [`set`](HasMany::set) with an unlink policy for this call (`None`: the association's).
    /// `Some(Unlink::Delete)` is Sequelize's `destroyPrevious`.
    pub fn set_with(
        &self,
        db: &mut Db,
        source: impl AsId<S>,
        targets: impl IntoIterator<Item = Id<T>>,
        policy: Option<Unlink>,
    ) -> Result<usize> {
        self.link.atomically(db, move |db| {
            let source = source.as_id();
            let data = self.link.data(db)?;
            let key = data.key_of(db, source)?;
            let wanted = self.link.existing(db, targets)?;
            // One merge of two sorted lists: the current children and the wanted ones.
            let mut to_unlink = Vec::new();
            let mut to_link = Vec::new();
            let mut current = data
                .index
                .live_bucket(&key)
                .into_iter()
                .flat_map(|b| b.iter())
                .peekable();
            let mut wanted_iter = wanted.iter().copied().peekable();
            loop {
                match (current.peek().copied(), wanted_iter.peek().copied()) {
                    (Some(c), Some(w)) if c == w => {
                        current.next();
                        wanted_iter.next();
                    }
                    (Some(c), Some(w)) if c < w => to_unlink.extend(current.next()),
                    (Some(_), Some(_)) | (None, Some(_)) => to_link.extend(wanted_iter.next()),
                    (Some(_), None) => to_unlink.extend(current.next()),
                    (None, None) => break,
                }
            }
            let unlinking = self.link.plan_unlink(db, to_unlink, policy)?;
            self.link
                .refuse_conflicts(db, &unlinking, source, to_link.iter().copied())?;
            let changed = self.link.apply_unlink(db, unlinking)? + to_link.len();
            self.link.relink_many(
                db,
                to_link.into_iter().map(|child| (child, Some(key.clone()))),
            )?;
            Ok(changed)
        })
    }

    /// Inserts `value` with its foreign key set to `source` (Sequelize `createComment`);
    /// whatever key `value` held is overwritten. Returns the new row's id.
    pub fn create(&self, db: &mut Db, source: impl AsId<S>, mut value: T) -> Result<Id<T>> {
        let data = self.link.data(db)?;
        let key = data.key_of(db, source.as_id())?;
        data.fk.point(&mut value, key);
        self.link.target_table().insert(db, value)
    }
}
