//! HasOne: a source row and the one target row whose (unique) foreign key points at it.

use std::fmt;

use super::{AssocOptions, BelongsTo, Link, Unlink};
use crate::core::Bucket;
use crate::db::{Db, Model};
use crate::error::Result;
use crate::id::{AsId, Id, RawId, model_name};
use crate::key::{ForeignKey, Key};
use crate::table::{Row, Table};
use crate::unique::Unique;

/// A handle to a has-one association (`User` has one `Profile`), returned by [`Db::has_one`].
///
/// The foreign key on the target is unique: a second target row for the same source is an
/// [`Error::Unique`](crate::Error::Unique) on every write path (insert, update,
/// [`BelongsTo::set`]), unlike Sequelize, which leaves it non-unique by default.
/// [`set`](HasOne::set) replaces the current target, which is unlinked by the association's
/// unlink policy.
///
/// | Sequelize | relata | cost |
/// |---|---|---|
/// | `getProfile` | [`get`](HasOne::get) | O(log n) |
/// | `setProfile(p)` / `setProfile(null)` | [`set`](HasOne::set) / [`set_with`](HasOne::set_with) | O(log n) |
/// | `createProfile` | [`create`](HasOne::create) | O(log n) per index |
///
/// ```
/// use relata::{Db, Error, Id, fk};
/// #[derive(Clone)] struct User;
/// #[derive(Clone)] struct Profile { user: Option<Id<User>>, bio: &'static str }
/// let mut db = Db::new();
/// let (users, profiles) = (db.create_table()?, db.create_table()?);
/// let user_profile = db.has_one(users, profiles, fk!(Profile, user))?;
/// let ada = users.insert(&mut db, User)?;
/// let first = user_profile.create(&mut db, ada, Profile { user: None, bio: "first" })?;
/// let second = user_profile.create(&mut db, ada, Profile { user: None, bio: "second" })?;
/// assert_eq!(user_profile.get(&db, ada)?.map(|p| p.id()), Some(second));
/// assert_eq!(profiles.get(&db, first)?.user, None); // unlinked (nullable key)
/// // A second profile through plain row data is refused.
/// let dup = profiles.insert(&mut db, Profile { user: Some(ada), bio: "dup" });
/// assert!(matches!(dup, Err(Error::Unique { field: "user", .. })));
/// # Ok::<(), Error>(())
/// ```
pub struct HasOne<S, T, K = Id<S>> {
    pub(crate) link: Link<S, T, K>,
}

impl<S, T, K> Clone for HasOne<S, T, K> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<S, T, K> Copy for HasOne<S, T, K> {}
impl<S, T, K> fmt::Debug for HasOne<S, T, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HasOne<{}, {}>", model_name::<S>(), model_name::<T>())
    }
}

impl<S: Model, T: Model, K: Key> HasOne<S, T, K> {
    /// The inverse association: each target belongs to one source. O(1): a copy of the handle.
    pub fn inverse(&self) -> BelongsTo<T, S, K> {
        BelongsTo { link: self.link }
    }

    /// The target linked to `source`, if any (Sequelize `getProfile`). O(log n).
    pub fn get<'a>(&self, db: &'a Db, source: impl AsId<S>) -> Result<Option<Row<'a, T>>> {
        let fk = self.link.fk(&db.core)?;
        let rows = fk.targets.rows();
        Ok(self
            .current(&db.core, source.as_id())?
            .and_then(|raw| rows.get(raw).map(|row| Row::raw(raw, row))))
    }

    fn current(&self, core: &crate::core::Core, source: Id<S>) -> Result<Option<RawId>> {
        let fk = self.link.fk(core)?;
        let key = self.link.key_of(core, &fk, source)?;
        let rows = fk.targets.rows();
        Ok(fk
            .index
            .bucket(&key)
            .and_then(|b: &Bucket| b.iter().next())
            .map(|m| rows.id(m)))
    }

    /// Makes `target` the one row linked to `source`, or none (Sequelize `setProfile`). The
    /// previous target is unlinked by the association's unlink policy (a non-null key makes that
    /// a validation error unless the policy deletes); `target` is moved away from its previous
    /// source. Setting the current target again changes nothing. Atomic. O(log n).
    pub fn set(&self, db: &mut Db, source: impl AsId<S>, target: Option<Id<T>>) -> Result<()> {
        self.set_with(db, source, target, None)
    }

    /// [`set`](HasOne::set) with an unlink policy for this call (`None`: the association's). With
    /// the delete policy, a cascade from the previous target that would delete `source` or the
    /// new target is an [`Error::Conflict`](crate::Error::Conflict), and nothing changes.
    /// O(log n) per index, plus the previous target's delete and its on-delete actions.
    pub fn set_with(
        &self,
        db: &mut Db,
        source: impl AsId<S>,
        target: Option<Id<T>>,
        policy: Option<Unlink>,
    ) -> Result<()> {
        let source = source.as_id();
        let mut w = db.core.write();
        let fk = self.link.fk(w.core())?;
        let key = self.link.key_of(w.core(), &fk, source)?;
        if let Some(t) = target
            && !fk.targets.rows().contains(t.raw)
        {
            return Err(self.link.missing_target(&fk, t));
        }
        let current = self.current(w.core(), source)?;
        let new = target.map(|t| t.raw);
        if current == new {
            return Ok(());
        }
        let unlinking = self
            .link
            .plan_unlink(&w, current.into_iter().collect(), policy)?;
        self.link
            .refuse_conflicts(w.core(), &unlinking, source, new)?;
        self.link.apply_unlink(&mut w, source, unlinking)?;
        if let Some(t) = new {
            w.relink::<S, T, K>(self.link.at, t, Some(key))?;
        }
        w.commit()
    }

    /// Inserts `value` as the target of `source`, replacing the current one as
    /// [`set`](HasOne::set) would (Sequelize `createProfile`). Atomic: if the insert fails, the
    /// previous target is still linked. Returns the new row's id. O(log n) per index of the table.
    pub fn create(&self, db: &mut Db, source: impl AsId<S>, value: T) -> Result<Id<T>> {
        self.create_with(db, source, |_| value)
    }

    /// Like [`create`](HasOne::create), with the row built by `make` from `source`'s key (the
    /// value its foreign key gets): no placeholder for a non-null key. `make` runs once, before
    /// anything changes. O(log n) per index of the table.
    pub fn create_with(
        &self,
        db: &mut Db,
        source: impl AsId<S>,
        make: impl FnOnce(K) -> T,
    ) -> Result<Id<T>> {
        let source = source.as_id();
        let mut w = db.core.write();
        let fk = self.link.fk(w.core())?;
        let key = self.link.key_of(w.core(), &fk, source)?;
        let mut value = make(key.clone());
        let target = fk.def.target();
        if let Some(current) = self.current(w.core(), source)? {
            let unlinking = self.link.plan_unlink(&w, vec![current], None)?;
            self.link
                .refuse_conflicts(w.core(), &unlinking, source, [])?;
            self.link.apply_unlink(&mut w, source, unlinking)?;
        }
        let fk = self.link.fk(w.core())?;
        fk.index.foreign_key().point(&mut value, key);
        let id = w.insert(target, value)?;
        w.commit()?;
        Ok(Id::from_raw(id))
    }
}

impl Db {
    /// Declares that each `source` row has at most one `target` row, through the foreign key
    /// `fk` on the target (made unique). Defaults as for [`has_many`](Db::has_many).
    /// O(n log n) for the n target rows already stored.
    pub fn has_one<S: Model, T: Model>(
        &mut self,
        source: Table<S>,
        target: Table<T>,
        fk: ForeignKey<T, Id<S>>,
    ) -> Result<HasOne<S, T>> {
        self.has_one_with(source, target, fk, AssocOptions::new())
    }

    /// [`has_one`](Db::has_one) with options. O(n log n) for the n target rows already stored.
    pub fn has_one_with<S: Model, T: Model>(
        &mut self,
        source: Table<S>,
        target: Table<T>,
        fk: ForeignKey<T, Id<S>>,
        options: AssocOptions,
    ) -> Result<HasOne<S, T>> {
        let link = self.declare::<S, T, Id<S>>(source.at, target, fk, None, options, true)?;
        Ok(HasOne { link })
    }

    /// A has-one association whose foreign key holds a unique attribute of the source (see
    /// [`has_many_by`](Db::has_many_by)). O(n log n) for the n target rows already stored.
    pub fn has_one_by<S: Model, T: Model, K: Key>(
        &mut self,
        source_key: Unique<S, K>,
        target: Table<T>,
        fk: ForeignKey<T, K>,
        options: AssocOptions,
    ) -> Result<HasOne<S, T, K>> {
        let link = self.declare::<S, T, K>(
            source_key.keyed.at.table,
            target,
            fk,
            Some(source_key.keyed.at),
            options,
            true,
        )?;
        Ok(HasOne { link })
    }
}
