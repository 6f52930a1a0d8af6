//! What [`Index`](crate::Index) and [`Unique`](crate::Unique) share: the lookups and set-based
//! writes of a key index, by key, by range, or over the whole index.

use std::borrow::Borrow;
use std::ops::RangeBounds;
use std::sync::Arc;

use crate::core::{IndexAt, KeyFn, KeyIndex, TableData, unknown};
use crate::db::{Db, Model};
use crate::error::Result;
use crate::id::{Member, RawId};
use crate::key::Key;
use crate::query::Query;
use crate::report::Report;
use crate::table::{Row, RowIter, Table};

/// A key index of `T` rows, by where it is. The handles wrap this.
pub(crate) struct Keyed<T, K> {
    pub(crate) at: IndexAt,
    /// The index's name, for messages.
    pub(crate) name: &'static str,
    marker: crate::id::Marker<(T, K)>,
}

impl<T, K> Clone for Keyed<T, K> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T, K> Copy for Keyed<T, K> {}

/// A computed key: boxed once at declaration.
pub(crate) fn computed<T, K>(key: impl Fn(&T) -> Option<K> + Send + Sync + 'static) -> KeyFn<T, K> {
    KeyFn::Computed(Arc::new(key))
}

/// The key of the rows `filter` keeps (a partial index).
pub(crate) fn filtered<T, K>(
    filter: impl Fn(&T) -> bool + Send + Sync + 'static,
    key: impl Fn(&T) -> K + Send + Sync + 'static,
) -> KeyFn<T, K> {
    KeyFn::Filtered(Arc::new(move |row: &T| filter(row).then(|| key(row))))
}

impl<T: Model, K: Key> Keyed<T, K> {
    pub(crate) fn new(at: IndexAt, name: &'static str) -> Self {
        Keyed {
            at,
            name,
            marker: std::marker::PhantomData,
        }
    }

    /// The table and the index, or `UnknownHandle`.
    #[inline]
    pub(crate) fn index<'a>(&self, db: &'a Db) -> Result<(&'a TableData<T>, &'a KeyIndex<T, K>)> {
        db.core
            .key_index(self.at)
            .ok_or_else(|| unknown::<T>(&format!("index `{}`", self.name)))
    }

    /// The table's handle.
    pub(crate) fn table(&self) -> Table<T> {
        Table::new(self.at.table)
    }

    /// `members` as rows.
    fn rows<'a>(
        data: &'a TableData<T>,
        members: impl IntoIterator<Item = Member>,
    ) -> Vec<Row<'a, T>> {
        let rows = data.rows();
        members
            .into_iter()
            .filter_map(|m| {
                let raw = rows.id(m);
                rows.get(raw).map(|row| Row::raw(raw, row))
            })
            .collect()
    }

    pub(crate) fn find_one<'a, Q>(&self, db: &'a Db, key: &Q) -> Result<Option<Row<'a, T>>>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let (data, index) = self.index(db)?;
        Ok(Self::rows(data, index.find_one(key)).pop())
    }

    pub(crate) fn find<'a, Q>(&self, db: &'a Db, key: &Q) -> Result<RowIter<'a, T>>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let (data, index) = self.index(db)?;
        Ok(RowIter::new(Self::rows(data, index.find(key))))
    }

    pub(crate) fn count<Q>(&self, db: &Db, key: &Q) -> Result<usize>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        Ok(self.index(db)?.1.count(key))
    }

    pub(crate) fn range<'a, Q, R>(&self, db: &'a Db, range: R) -> Result<RowIter<'a, T>>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
        R: RangeBounds<Q>,
    {
        let (data, index) = self.index(db)?;
        Ok(RowIter::new(Self::rows(data, index.range(range))))
    }

    pub(crate) fn count_range<Q, R>(&self, db: &Db, range: R) -> Result<usize>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
        R: RangeBounds<Q>,
    {
        Ok(self.index(db)?.1.count_range(range))
    }

    pub(crate) fn iter<'a>(&self, db: &'a Db) -> Result<RowIter<'a, T>> {
        let (data, index) = self.index(db)?;
        Ok(RowIter::new(Self::rows(data, index.all())))
    }

    pub(crate) fn query<'a, Q, R>(
        &self,
        db: &'a Db,
        range: R,
        query: &Query<'_, T>,
    ) -> Result<Vec<Row<'a, T>>>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
        R: RangeBounds<Q>,
    {
        let (data, index) = self.index(db)?;
        let rows = data.rows();
        // Read as the query goes: without an order it stops once the page is full.
        let matched = index.range_iter(range).filter_map(|m| {
            let raw = rows.id(m);
            rows.get(raw).map(|row| Row::raw(raw, row))
        });
        Ok(query.apply(matched))
    }

    /// The ids of the rows in `range`.
    fn ids_in<Q, R>(&self, db: &Db, range: R) -> Result<Vec<RawId>>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
        R: RangeBounds<Q>,
    {
        let (data, index) = self.index(db)?;
        let rows = data.rows();
        Ok(index.range(range).into_iter().map(|m| rows.id(m)).collect())
    }

    pub(crate) fn modify_range<Q, R>(
        &self,
        db: &mut Db,
        range: R,
        change: impl FnMut(&mut T),
    ) -> Result<usize>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
        R: RangeBounds<Q>,
    {
        let ids = self.ids_in(db, range)?;
        let mut w = db.core.write();
        let changed = w.modify_ids(self.at.table.index, &ids, change)?;
        w.commit()?;
        Ok(changed)
    }

    pub(crate) fn delete_range<Q, R>(&self, db: &mut Db, range: R) -> Result<Report>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
        R: RangeBounds<Q>,
    {
        let t = self.at.table.index;
        let mut roots: Vec<(usize, RawId)> = self
            .ids_in(db, range)?
            .into_iter()
            .map(|id| (t, id))
            .collect();
        roots.sort_unstable();
        let mut w = db.core.write();
        let deletion = w.delete(&roots)?;
        w.commit()?;
        Ok(Report::new(deletion))
    }

    /// The id of the row holding `row`'s key in this (unique) index, if any; `None` as well if
    /// `row` has no key here (a partial index that leaves it out).
    pub(crate) fn holder_of(&self, db: &Db, row: &T) -> Result<Option<RawId>> {
        let (data, index) = self.index(db)?;
        let rows = data.rows();
        Ok(index
            .key_of(row)
            .and_then(|key| index.find_one(&*key))
            .map(|m| rows.id(m)))
    }
}
