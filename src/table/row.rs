//! [`Row`]: a row read from a table, its id and a reference to its value.

use std::fmt;
use std::ops::Deref;

use crate::id::{AsId, Id, RawId};

/// A row read from the database: its id and a reference to its value. Derefs to `T`.
pub struct Row<'a, T> {
    id: Id<T>,
    value: &'a T,
}

impl<'a, T> Row<'a, T> {
    pub(crate) fn new(id: Id<T>, value: &'a T) -> Self {
        Row { id, value }
    }

    pub(crate) fn raw(raw: RawId, value: &'a T) -> Self {
        Row::new(Id::from_raw(raw), value)
    }

    /// The row's id. O(1).
    pub fn id(&self) -> Id<T> {
        self.id
    }

    /// The row's value, with the lifetime of the database borrow. O(1).
    pub fn value(&self) -> &'a T {
        self.value
    }

    /// A copy of the row's value (`row.clone()` copies the `Row`, not the value). Costs one
    /// `T::clone`.
    ///
    /// ```
    /// # use relata::Db;
    /// #[derive(Clone, Debug, PartialEq)]
    /// struct Unit { hp: u32 }
    /// let mut db = Db::new();
    /// let units = db.create_table::<Unit>()?;
    /// units.insert(&mut db, Unit { hp: 3 })?;
    /// let owned: Vec<Unit> = units.iter(&db)?.map(|u| u.cloned()).collect();
    /// assert_eq!(owned, [Unit { hp: 3 }]);
    /// # Ok::<(), relata::Error>(())
    /// ```
    pub fn cloned(&self) -> T
    where
        T: Clone,
    {
        self.value.clone()
    }
}

impl<T> Clone for Row<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Row<'_, T> {}
impl<T> Deref for Row<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.value
    }
}
impl<T: fmt::Debug> fmt::Debug for Row<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?}", self.id, self.value)
    }
}
/// A row equals a value when it holds that value (its id is not compared): so that a test can
/// compare what it read with what it expects, a `Vec` of rows with an array of values included.
///
/// ```
/// # use relata::Db;
/// #[derive(Clone, Debug, PartialEq)]
/// struct Unit { hp: u32 }
/// let mut db = Db::new();
/// let units = db.create_table::<Unit>()?;
/// let first = units.insert(&mut db, Unit { hp: 3 })?;
/// units.insert(&mut db, Unit { hp: 5 })?;
/// assert_eq!(units.get(&db, first)?, Unit { hp: 3 });
/// assert_eq!(units.iter(&db)?.collect::<Vec<_>>(), [Unit { hp: 3 }, Unit { hp: 5 }]);
/// # Ok::<(), relata::Error>(())
/// ```
impl<T: PartialEq> PartialEq<T> for Row<'_, T> {
    fn eq(&self, other: &T) -> bool {
        self.value == other
    }
}
impl<T> AsId<T> for Row<'_, T> {
    fn as_id(&self) -> Id<T> {
        self.id
    }
}
impl<T> AsId<T> for &Row<'_, T> {
    fn as_id(&self) -> Id<T> {
        self.id
    }
}
