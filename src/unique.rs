//! Unique attributes: a unique index on one field of a table.

use std::any::Any;
use std::fmt;
use std::marker::PhantomData;

use imbl::OrdMap;

use crate::db::{Db, ErasedUnique, Model, RowIndex};
use crate::error::{Error, Result};
use crate::id::{Id, RawId, model_name};
use crate::key::{Field, Key};
use crate::table::{Row, Table};

/// A handle to a unique attribute of `T` (values of type `K`), returned by [`Db::unique`]. It
/// finds rows by value, and can serve as the source key of an association
/// ([`Db::has_many_by`]).
pub struct Unique<T, K> {
    pub(crate) index: usize,
    pub(crate) table: usize,
    pub(crate) field: Field<T, K>,
    marker: PhantomData<fn() -> T>,
}

impl<T, K> Clone for Unique<T, K> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T, K> Copy for Unique<T, K> {}
impl<T, K> fmt::Debug for Unique<T, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Unique<{}.{}>", model_name::<T>(), self.field.name)
    }
}

#[derive(Clone)]
pub(crate) struct UniqueData<T, K> {
    table: usize,
    field: Field<T, K>,
    pub(crate) map: OrdMap<K, RawId>,
}

impl<T: Model, K: Key> UniqueData<T, K> {
    fn key<'a>(&self, row: &'a dyn Any) -> &'a K {
        (self.field.get)(row.downcast_ref::<T>().expect("row of the indexed table"))
    }
}

impl<T: Model, K: Key> RowIndex for UniqueData<T, K> {
    fn check(&self, _db: &Db, id: Option<RawId>, row: &dyn Any) -> Result<()> {
        let key = self.key(row);
        match self.map.get(key) {
            Some(&holder) if Some(holder) != id => Err(Error::Unique {
                model: model_name::<T>(),
                field: self.field.name,
                key: format!("{key:?}"),
                existing: Id::<T>::from_raw(holder).to_string(),
            }),
            _ => Ok(()),
        }
    }

    fn insert(&mut self, id: RawId, row: &dyn Any) {
        let key = self.key(row).clone();
        self.map.insert(key, id);
    }

    fn remove(&mut self, _id: RawId, row: &dyn Any) {
        let key = self.key(row).clone();
        self.map.remove(&key);
    }

    fn update(&mut self, id: RawId, old: &dyn Any, new: &dyn Any) {
        if self.key(old) != self.key(new) {
            self.remove(id, old);
            self.insert(id, new);
        }
    }

    fn verify(&self, db: &Db) -> std::result::Result<(), String> {
        let rows = db.rows::<T>(self.table).map_err(|e| e.to_string())?;
        let mut expected = OrdMap::new();
        for (id, row) in rows.iter() {
            if let Some(other) = expected.insert((self.field.get)(row).clone(), id) {
                return Err(format!(
                    "{}.{} holds a duplicate in rows {other:?} and {id:?}",
                    model_name::<T>(),
                    self.field.name
                ));
            }
        }
        if expected != self.map {
            return Err(format!(
                "unique index {}.{} differs from its rows",
                model_name::<T>(),
                self.field.name
            ));
        }
        Ok(())
    }
}

impl<T: Model, K: Key> ErasedUnique for UniqueData<T, K> {
    fn clone_box(&self) -> Box<dyn ErasedUnique> {
        Box::new(self.clone())
    }
}

impl Db {
    /// Declares `field` of `table` unique: inserts and updates that would duplicate a value fail
    /// with [`Error::Unique`]. Existing rows are indexed (and must already be unique).
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
    /// assert_eq!(by_email.find(&db, &"ada@example.com".to_string())?.map(|r| r.id()), Some(ada));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn unique<T: Model, K: Key>(
        &mut self,
        table: Table<T>,
        field: Field<T, K>,
    ) -> Result<Unique<T, K>> {
        let rows = self.rows::<T>(table.index)?;
        let mut data = UniqueData {
            table: table.index,
            field,
            map: OrdMap::new(),
        };
        let mut sorted: Vec<_> = rows.iter().collect();
        sorted.sort_unstable_by_key(|(id, _)| *id);
        for (id, row) in sorted {
            data.check(self, None, row)?;
            data.insert(id, row);
        }
        let index = self.add_unique(table.index, Box::new(data));
        Ok(Unique {
            index,
            table: table.index,
            field,
            marker: PhantomData,
        })
    }
}

impl<T: Model, K: Key> Unique<T, K> {
    pub(crate) fn data<'a>(&self, db: &'a Db) -> Result<&'a UniqueData<T, K>> {
        db.uniques
            .get(self.index)
            .and_then(|u| (&**u as &dyn Any).downcast_ref())
            .ok_or_else(|| Error::UnknownHandle {
                handle: format!("{self:?}"),
            })
    }

    /// The row whose attribute equals `key`, if any. O(log n).
    pub fn find<'a>(&self, db: &'a Db, key: &K) -> Result<Option<Row<'a, T>>> {
        let Some(&raw) = self.data(db)?.map.get(key) else {
            return Ok(None);
        };
        let row = db
            .rows::<T>(self.table)?
            .get(raw)
            .expect("indexed rows exist");
        Ok(Some(Row::new(Id::from_raw(raw), row)))
    }
}
