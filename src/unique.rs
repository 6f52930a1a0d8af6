//! Unique keys: a unique index on a field of a table, usable as a source key.

use std::borrow::Borrow;
use std::fmt;
use std::marker::PhantomData;

use crate::core::{IndexAt, KeyFn, KeyIndex, TableData, unknown};
use crate::db::{Db, Model};
use crate::error::Result;
use crate::id::model_name;
use crate::key::{Field, Key};
use crate::table::{Row, Table};

/// A handle to a unique key of `T` (values of type `K`), returned by [`Db::unique`]. It finds
/// rows by value, and can serve as the source key of an association ([`Db::has_many_by`]).
pub struct Unique<T, K> {
    pub(crate) at: IndexAt,
    pub(crate) name: &'static str,
    marker: PhantomData<fn() -> (T, K)>,
}

impl<T, K> Clone for Unique<T, K> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T, K> Copy for Unique<T, K> {}
impl<T, K> fmt::Debug for Unique<T, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Unique<{}.{}>", model_name::<T>(), self.name)
    }
}

impl Db {
    /// Declares `field` of `table` unique: inserts and updates that would duplicate a value fail
    /// with [`Error::Unique`](crate::Error::Unique). Existing rows are indexed (and must already
    /// be unique). O(n log n) for n rows already stored.
    ///
    /// ```
    /// use relata::{Db, Error, field};
    /// #[derive(Clone)]
    /// struct User { email: String }
    /// let mut db = Db::new();
    /// let users = db.create_table::<User>()?;
    /// let by_email = db.unique(users, field!(User, email))?;
    /// let ada = users.insert(&mut db, User { email: "ada@example.com".into() })?;
    /// let dup = users.insert(&mut db, User { email: "ada@example.com".into() });
    /// assert!(matches!(dup, Err(Error::Unique { field: "email", .. })));
    /// assert_eq!(by_email.find(&db, "ada@example.com")?.map(|r| r.id()), Some(ada));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn unique<T: Model, K: Key>(
        &mut self,
        table: Table<T>,
        field: Field<T, K>,
    ) -> Result<Unique<T, K>> {
        let at = self.core.add_key_index(
            table.at,
            field.name,
            KeyFn::Field(field.get),
            field.span,
            true,
        )?;
        Ok(Unique {
            at,
            name: field.name,
            marker: PhantomData,
        })
    }
}

impl<T: Model, K: Key> Unique<T, K> {
    pub(crate) fn index<'a>(&self, db: &'a Db) -> Result<(&'a TableData<T>, &'a KeyIndex<T, K>)> {
        db.core
            .key_index(self.at)
            .ok_or_else(|| unknown::<T>("unique key"))
    }

    /// The row whose key equals `key`, if any. Takes any borrowed form of the key, as
    /// `BTreeMap::get` does: `find(&db, "sf")` for a `String` key. O(log n).
    pub fn find<'a, Q>(&self, db: &'a Db, key: &Q) -> Result<Option<Row<'a, T>>>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let (data, index) = self.index(db)?;
        let rows = data.rows();
        Ok(index.find_one(key).and_then(|m| {
            let raw = m.in_table(rows.table());
            rows.get(raw).map(|row| Row::raw(raw, row))
        }))
    }
}
