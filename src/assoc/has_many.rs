//! HasMany: a source row and the many target rows whose foreign key points at it.

use std::fmt;

use super::link::Unlinking;
use super::{BelongsTo, Link, Unlink};
use crate::core::{Arena, Bucket, BucketIter, Cursor, Fk};
use crate::db::{Db, Model};
use crate::error::Result;
use crate::id::{AsId, Id, RawId, model_name};
use crate::key::Key;
use crate::query::Query;
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
/// | `getComments` | [`get`](HasMany::get), [`query`](HasMany::query), [`get_many`](HasMany::get_many) | O(log n + k) |
/// | `countComments` | [`count`](HasMany::count), [`count_where`](HasMany::count_where) | O(log n) (unfiltered: one lookup) |
/// | `hasComment(s)` | [`has`](HasMany::has), [`has_all`](HasMany::has_all), `*_where` | O(log n) per target |
/// | `addComment(s)` | [`add`](HasMany::add), [`add_many`](HasMany::add_many) | O(log n + log k) per target |
/// | `removeComment(s)` | [`remove`](HasMany::remove), [`remove_many`](HasMany::remove_many) | O(log n + log k) per target |
/// | `setComments` | [`set`](HasMany::set) | O((old + new)(log n + log k)) |
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

/// The rows linked to one source row, in creation order. Returned by [`HasMany::get`].
pub struct Children<'a, T> {
    ids: BucketIter<'a>,
    rows: &'a Arena<T>,
    cursor: Cursor<'a, T>,
}

impl<'a, T: Model> Iterator for Children<'a, T> {
    type Item = Row<'a, T>;

    #[inline]
    fn next(&mut self) -> Option<Row<'a, T>> {
        loop {
            let member = self.ids.next()?;
            if let Some(row) = self.rows.get_near(member, &mut self.cursor) {
                return Some(Row::raw(self.rows.id(member), row));
            }
            debug_assert!(false, "indexed rows exist");
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.ids.size_hint()
    }
}
impl<T: Model> ExactSizeIterator for Children<'_, T> {}

/// The rows of each source, for batched reads: `(source, its rows)` in the order asked.
pub type PerSource<'a, S, T> = Vec<(Id<S>, Vec<Row<'a, T>>)>;

impl<S: Model, T: Model, K: Key> HasMany<S, T, K> {
    pub(crate) fn new(link: Link<S, T, K>) -> Self {
        HasMany { link }
    }

    /// The inverse association: each target row belongs to one source row.
    /// O(1): a copy of the handle.
    pub fn inverse(&self) -> BelongsTo<T, S, K> {
        BelongsTo { link: self.link }
    }

    /// The bucket of `source` (`None`: no children), or `NotFound`. One index lookup when the
    /// keys are ids and `source` has children (a bucket proves its source alive).
    #[inline]
    fn bucket<'a>(
        &self,
        db: &'a Db,
        fk: &Fk<'a, S, T, K>,
        source: Id<S>,
    ) -> Result<Option<&'a Bucket>> {
        if let Some(bucket) = fk
            .index
            .id_key(source.raw)
            .and_then(|k| fk.index.bucket(&k))
        {
            return Ok(Some(bucket));
        }
        let key = self.link.key_of(&db.core, fk, source)?;
        Ok(fk.index.bucket(&key))
    }

    /// The rows linked to `source`, in creation order (Sequelize `getComments`).
    /// O(log n) to start, then O(1) per row read in the same storage leaf as the previous one,
    /// O(log n) otherwise.
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
        let fk = self.link.fk(&db.core)?;
        let bucket = self.bucket(db, &fk, source.as_id())?;
        Ok(Children {
            ids: bucket.map_or_else(|| Bucket::Empty.iter(), Bucket::iter),
            rows: fk.targets.rows(),
            cursor: None,
        })
    }

    /// The rows linked to `source`, filtered, ordered, limited and offset by `query`
    /// (Sequelize `getComments({ where, order, limit, offset })`). O(log n + k log k) for k
    /// linked rows; O(log n + offset + limit) without an order (plus the rows the filter
    /// skips).
    pub fn query<'a>(
        &self,
        db: &'a Db,
        source: impl AsId<S>,
        query: &Query<'_, T>,
    ) -> Result<Vec<Row<'a, T>>> {
        Ok(query.apply(self.get(db, source)?))
    }

    /// [`query`](HasMany::query), under its former name.
    #[deprecated(note = "renamed to `query`")]
    pub fn get_with<'a>(
        &self,
        db: &'a Db,
        source: impl AsId<S>,
        query: &Query<'_, T>,
    ) -> Result<Vec<Row<'a, T>>> {
        self.query(db, source, query)
    }

    /// [`query`](HasMany::query) for many sources at once (Sequelize's batched getter): one
    /// entry per source, in the order given, empty ones included; the limit applies per
    /// source. Every source is checked before anything is read.
    /// O(m log n) for m sources, plus [`query`](HasMany::query)'s cost per source.
    pub fn get_many<'a>(
        &self,
        db: &'a Db,
        sources: impl IntoIterator<Item = Id<S>>,
        query: &Query<'_, T>,
    ) -> Result<PerSource<'a, S, T>> {
        let fk = self.link.fk(&db.core)?;
        let sources: Vec<Id<S>> = sources.into_iter().collect();
        let buckets = sources
            .iter()
            .map(|&s| self.bucket(db, &fk, s))
            .collect::<Result<Vec<_>>>()?;
        let rows = fk.targets.rows();
        Ok(sources
            .into_iter()
            .zip(buckets)
            .map(|(s, bucket)| {
                let children = Children {
                    ids: bucket.map_or_else(|| Bucket::Empty.iter(), Bucket::iter),
                    rows,
                    cursor: None,
                };
                (s, query.apply(children))
            })
            .collect())
    }

    /// Number of rows linked to `source` (Sequelize `countComments`). O(log n): one lookup,
    /// whatever the number of children.
    #[inline]
    pub fn count(&self, db: &Db, source: impl AsId<S>) -> Result<usize> {
        let fk = self.link.fk(&db.core)?;
        Ok(self.bucket(db, &fk, source.as_id())?.map_or(0, Bucket::len))
    }

    /// Number of rows linked to `source` that match `filter`. O(log n + k).
    pub fn count_where(
        &self,
        db: &Db,
        source: impl AsId<S>,
        filter: impl Fn(&Row<'_, T>) -> bool,
    ) -> Result<usize> {
        Ok(self.get(db, source)?.filter(|r| filter(r)).count())
    }

    /// Whether `target` is linked to `source` (Sequelize `hasComment`). O(log n): reads the
    /// target's foreign key.
    pub fn has(&self, db: &Db, source: impl AsId<S>, target: impl AsId<T>) -> Result<bool> {
        self.has_where(db, source, target, |_| true)
    }

    /// Whether `target` is linked to `source` and matches `filter`.
    /// O(log n), plus one call of `filter`.
    pub fn has_where(
        &self,
        db: &Db,
        source: impl AsId<S>,
        target: impl AsId<T>,
        filter: impl Fn(&Row<'_, T>) -> bool,
    ) -> Result<bool> {
        let (source, target) = (source.as_id(), target.as_id());
        let fk = self.link.fk(&db.core)?;
        let row = self.link.target_row(&db.core, &fk, source, target)?;
        let linked = self
            .link
            .unlinked_key(&db.core, &fk, source, row)?
            .is_none();
        Ok(linked && filter(&Row::new(target, row)))
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
    /// O(m log n) for m targets, plus a call of `filter` per target.
    pub fn has_all_where(
        &self,
        db: &Db,
        source: impl AsId<S>,
        targets: impl IntoIterator<Item = Id<T>>,
        filter: impl Fn(&Row<'_, T>) -> bool,
    ) -> Result<bool> {
        let fk = self.link.fk(&db.core)?;
        let key = self.link.key_of(&db.core, &fk, source.as_id())?;
        let targets = self.link.rows(&fk, targets)?;
        let held = fk.index.foreign_key();
        Ok(targets
            .iter()
            .all(|&(id, row)| held.get(row) == Some(&key) && filter(&Row::new(id, row))))
    }

    /// Links `target` to `source`, moving it away from any other source (Sequelize
    /// `addComment`). Returns whether it was not linked to `source` before. O(log n + log k).
    #[inline]
    pub fn add(&self, db: &mut Db, source: impl AsId<S>, target: impl AsId<T>) -> Result<bool> {
        db.core.write().relink_and_commit::<S, T, K>(
            self.link.at,
            target.as_id().raw,
            source.as_id().raw,
            true,
        )
    }

    /// Links every target to `source`, leaving rows already linked alone (Sequelize
    /// `addComments`). Returns how many rows it newly linked. Atomic: an unknown id fails the
    /// whole call. O(m (log n + log k)).
    pub fn add_many(
        &self,
        db: &mut Db,
        source: impl AsId<S>,
        targets: impl IntoIterator<Item = Id<T>>,
    ) -> Result<usize> {
        let source = source.as_id();
        let mut w = db.core.write();
        let fk = self.link.fk(w.core())?;
        let key = self.link.key_of(w.core(), &fk, source)?;
        let held = fk.index.foreign_key();
        let mut new: Vec<RawId> = self
            .link
            .rows(&fk, targets)?
            .into_iter()
            .filter(|(_, row)| held.get(row) != Some(&key))
            .map(|(id, _)| id.raw)
            .collect();
        new.sort_unstable();
        new.dedup();
        w.link_all::<S, T, K>(self.link.at, &new, source.raw, true)?;
        w.commit()?;
        Ok(new.len())
    }

    /// Unlinks `target` from `source` if it is linked to it, by the association's unlink policy
    /// (Sequelize `removeComment`). Returns whether it was linked. A non-null key makes this a
    /// [`Error::Validation`](crate::Error::Validation) unless the policy deletes. O(log n + log k).
    #[inline]
    pub fn remove(&self, db: &mut Db, source: impl AsId<S>, target: impl AsId<T>) -> Result<bool> {
        let (source, target) = (source.as_id(), target.as_id());
        let mut w = db.core.write();
        let def = w.assoc::<T>(self.link.at)?;
        if def.unlink() == Unlink::Nullify && def.nullable() {
            // The common case, without planning: null the key.
            return w.relink_and_commit::<S, T, K>(self.link.at, target.raw, source.raw, false);
        }
        let fk = self.link.fk(w.core())?;
        let row = self.link.target_row(w.core(), &fk, source, target)?;
        if self
            .link
            .unlinked_key(w.core(), &fk, source, row)?
            .is_some()
        {
            return Ok(false);
        }
        let unlinking = self.link.plan_unlink(&w, vec![target.raw], None)?;
        self.link
            .refuse_conflicts(w.core(), &unlinking, source, [])?;
        self.link.apply_unlink(&mut w, source, unlinking)?;
        w.commit()?;
        Ok(true)
    }

    /// Unlinks every target that is linked to `source`; others are left alone (Sequelize
    /// `removeComments`). Returns how many rows it unlinked. Atomic. O(m (log n + log k)).
    pub fn remove_many(
        &self,
        db: &mut Db,
        source: impl AsId<S>,
        targets: impl IntoIterator<Item = Id<T>>,
    ) -> Result<usize> {
        self.remove_many_with(db, source, targets, None)
    }

    /// [`remove_many`](HasMany::remove_many) with an unlink policy for this call (`None`: the
    /// association's). `Some(Unlink::Delete)` is Sequelize's `destroy: true`; if the deletes
    /// would cascade to `source` or to a listed target that stays, the call is an
    /// [`Error::Conflict`](crate::Error::Conflict) and nothing changes.
    /// O(m (log n + log k)) for m targets, plus the deletes and their on-delete actions.
    pub fn remove_many_with(
        &self,
        db: &mut Db,
        source: impl AsId<S>,
        targets: impl IntoIterator<Item = Id<T>>,
        policy: Option<Unlink>,
    ) -> Result<usize> {
        let source = source.as_id();
        let mut w = db.core.write();
        let fk = self.link.fk(w.core())?;
        let key = self.link.key_of(w.core(), &fk, source)?;
        let held = fk.index.foreign_key();
        let (mut linked, mut others) = (Vec::new(), Vec::new());
        for (id, row) in self.link.rows(&fk, targets)? {
            if held.get(row) == Some(&key) {
                linked.push(id.raw);
            } else {
                others.push(id.raw);
            }
        }
        linked.sort_unstable();
        linked.dedup();
        let unlinking = self.link.plan_unlink(&w, linked, policy)?;
        self.link
            .refuse_conflicts(w.core(), &unlinking, source, others)?;
        let unlinked = self.link.apply_unlink(&mut w, source, unlinking)?;
        w.commit()?;
        Ok(unlinked)
    }

    /// Makes the rows linked to `source` exactly `targets` (duplicates ignored; Sequelize
    /// `setComments`): rows no longer listed are unlinked by the unlink policy, new ones are
    /// linked (moved if linked elsewhere), rows already linked are untouched. Atomic, unlike
    /// Sequelize's concurrent statements. Returns how many rows changed.
    /// O((old + new)(log n + log k)).
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
    /// `Some(Unlink::Delete)` is Sequelize's `destroyPrevious`; if the deletes would cascade to
    /// `source` or to a row the call keeps or links, the call is an
    /// [`Error::Conflict`](crate::Error::Conflict) and nothing changes.
    /// O((old + new)(log n + log k)), plus the deletes and their on-delete actions.
    pub fn set_with(
        &self,
        db: &mut Db,
        source: impl AsId<S>,
        targets: impl IntoIterator<Item = Id<T>>,
        policy: Option<Unlink>,
    ) -> Result<usize> {
        let source = source.as_id();
        let mut w = db.core.write();
        let fk = self.link.fk(w.core())?;
        let key = self.link.key_of(w.core(), &fk, source)?;
        let wanted = self.link.existing(&fk, targets)?;
        // One merge of two sorted lists: the current children and the wanted ones.
        let rows = fk.targets.rows();
        let held = fk.index.bucket(&key).map_or(0, Bucket::len);
        let mut current = fk
            .index
            .bucket(&key)
            .into_iter()
            .flat_map(Bucket::iter)
            .map(|m| rows.id(m))
            .peekable();
        let (mut unlink, mut link, mut keep) = (
            Vec::with_capacity(held),
            Vec::with_capacity(wanted.len()),
            Vec::with_capacity(held.min(wanted.len())),
        );
        let mut wanted_iter = wanted.iter().copied().peekable();
        loop {
            match (current.peek().copied(), wanted_iter.peek().copied()) {
                (Some(c), Some(w)) if c == w => {
                    keep.extend(current.next());
                    wanted_iter.next();
                }
                (Some(c), Some(w)) if c < w => unlink.extend(current.next()),
                (Some(_), Some(_)) | (None, Some(_)) => link.extend(wanted_iter.next()),
                (Some(_), None) => unlink.extend(current.next()),
                (None, None) => break,
            }
        }
        let unlinking: Unlinking = self.link.plan_unlink(&w, unlink, policy)?;
        let needed = link.iter().chain(&keep).copied();
        self.link
            .refuse_conflicts(w.core(), &unlinking, source, needed)?;
        let changed = self.link.apply_unlink(&mut w, source, unlinking)? + link.len();
        w.link_all::<S, T, K>(self.link.at, &link, source.raw, true)?;
        w.commit()?;
        Ok(changed)
    }

    /// Inserts `value` with its foreign key set to `source` (Sequelize `createComment`);
    /// whatever key `value` held is overwritten. Returns the new row's id. For a non-null key,
    /// [`create_with`](HasMany::create_with) builds the row from the key instead.
    /// O(log n) per index of the table.
    pub fn create(&self, db: &mut Db, source: impl AsId<S>, value: T) -> Result<Id<T>> {
        self.create_with(db, source, |_| value)
    }

    /// Inserts the row `make` builds from `source`'s key (the value its foreign key gets), so
    /// that a row with a non-null key is built without a placeholder. Returns the new row's id.
    /// `make` runs once, before anything changes; if it panics, nothing changed.
    /// O(log n) per index of the table.
    ///
    /// ```
    /// use relata::{Db, Id, fk};
    /// #[derive(Clone)] struct Squad { name: &'static str }
    /// #[derive(Clone)] struct Unit { squad: Id<Squad>, hp: u32 }
    /// let mut db = Db::new();
    /// let (squads, units) = (db.create_table::<Squad>()?, db.create_table::<Unit>()?);
    /// let squad_units = db.has_many(squads, units, fk!(Unit, squad))?;
    /// let alpha = squads.insert(&mut db, Squad { name: "alpha" })?;
    /// let scout = squad_units.create_with(&mut db, alpha, |squad| Unit { squad, hp: 10 })?;
    /// assert_eq!(units.get(&db, scout)?.squad, alpha);
    /// # Ok::<(), relata::Error>(())
    /// ```
    pub fn create_with(
        &self,
        db: &mut Db,
        source: impl AsId<S>,
        make: impl FnOnce(K) -> T,
    ) -> Result<Id<T>> {
        let mut w = db.core.write();
        let fk = self.link.fk(w.core())?;
        let key = self.link.key_of(w.core(), &fk, source.as_id())?;
        let mut value = make(key.clone());
        fk.index.foreign_key().point(&mut value, key);
        let target = fk.def.target();
        let id = w.insert(target, value)?;
        w.commit()?;
        Ok(Id::from_raw(id))
    }
}
