//! Transactions and savepoints.
//!
//! A transaction works on a fork of the database (O(1)) and replaces the original with it on
//! commit (O(1)). Rolling back drops the fork. Nothing else is needed: the original is never
//! touched while the transaction runs, so an error, an explicit rollback, a panic or a forgotten
//! handle all leave it exactly as it was. Ids issued inside a rolled-back transaction never
//! resolve afterwards, because creation numbers come from counters the fork shares with the
//! original and rollback does not rewind.

use std::ops::{Deref, DerefMut};

use crate::db::Db;

/// An open transaction on a [`Db`], from [`Db::begin`]. Derefs to the database as it is inside
/// the transaction, so every table and association method works on it.
///
/// [`commit`](Transaction::commit) and [`rollback`](Transaction::rollback) consume it; dropping
/// it rolls back. Transactions nest: `tx.begin()` opens a savepoint inside `tx`.
///
/// ```
/// use relata::Db;
/// #[derive(Clone)]
/// struct Item;
/// let mut db = Db::new();
/// let items = db.create_table::<Item>()?;
///
/// let mut tx = db.begin();
/// let kept = items.insert(&mut tx, Item)?;
/// {
///     let mut savepoint = tx.begin();
///     items.insert(&mut savepoint, Item)?;
///     savepoint.rollback();
/// }
/// tx.commit();
/// assert_eq!(items.len(&db)?, 1);
/// assert!(items.contains(&db, kept)?);
/// # Ok::<(), relata::Error>(())
/// ```
#[must_use = "a transaction rolls back when dropped; call commit() to keep its changes"]
pub struct Transaction<'db> {
    original: &'db mut Db,
    work: Db,
}

impl Transaction<'_> {
    /// Makes the transaction's changes the database's. O(1).
    pub fn commit(self) {
        *self.original = self.work;
    }

    /// Discards the transaction's changes (dropping the transaction does the same).
    /// O(1), plus freeing the storage the transaction copied.
    pub fn rollback(self) {}
}

impl Deref for Transaction<'_> {
    type Target = Db;
    fn deref(&self) -> &Db {
        &self.work
    }
}

impl DerefMut for Transaction<'_> {
    fn deref_mut(&mut self) -> &mut Db {
        &mut self.work
    }
}

impl Db {
    /// Opens a transaction (or, on a transaction, a savepoint). O(1).
    pub fn begin(&mut self) -> Transaction<'_> {
        let work = self.fork();
        Transaction {
            original: self,
            work,
        }
    }

    /// Runs `body` in a transaction: its changes are kept if it returns `Ok`, and discarded if
    /// it returns `Err` or panics (the panic then continues). O(1) overhead, plus the
    /// copy-on-write of the storage paths the body touches.
    ///
    /// ```
    /// use relata::{Db, Error, Id, fk};
    /// #[derive(Clone)] struct Post;
    /// #[derive(Clone)] struct Comment { post: Option<Id<Post>> }
    /// let mut db = Db::new();
    /// let (posts, comments) = (db.create_table()?, db.create_table()?);
    /// let post_comments = db.has_many(posts, comments, fk!(Comment, post))?;
    /// let (old, new) = (posts.insert(&mut db, Post)?, posts.insert(&mut db, Post)?);
    /// let c = post_comments.create(&mut db, old, Comment { post: None })?;
    ///
    /// // Move the comment, then delete the old post — or do neither.
    /// let result: Result<(), Error> = db.transaction(|tx| {
    ///     post_comments.add(tx, new, c)?;
    ///     posts.delete(tx, old)?;
    ///     posts.delete(tx, old)?; // fails: NotFound
    ///     Ok(())
    /// });
    /// assert!(result.is_err());
    /// assert!(posts.contains(&db, old)?);
    /// assert_eq!(post_comments.count(&db, old)?, 1);
    /// # Ok::<(), Error>(())
    /// ```
    pub fn transaction<R, E>(
        &mut self,
        body: impl FnOnce(&mut Db) -> Result<R, E>,
    ) -> Result<R, E> {
        let mut work = self.fork();
        let value = body(&mut work)?;
        *self = work;
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use crate::Db;

    #[derive(Clone)]
    struct Item;

    #[test]
    fn dropping_a_transaction_rolls_back() {
        let mut db = Db::new();
        let items = db.create_table::<Item>().unwrap();
        {
            let mut tx = db.begin();
            items.insert(&mut tx, Item).unwrap();
            assert_eq!(items.len(&tx), Ok(1));
        }
        assert_eq!(items.len(&db), Ok(0));
    }

    #[test]
    fn a_panic_in_the_body_leaves_the_database_as_before() {
        let mut db = Db::new();
        let items = db.create_table::<Item>().unwrap();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _: Result<(), ()> = db.transaction(|tx| {
                items.insert(tx, Item).unwrap();
                panic!("boom");
            });
        }));
        assert!(result.is_err());
        assert_eq!(items.is_empty(&db), Ok(true));
    }

    #[test]
    fn ids_from_a_rolled_back_transaction_stay_dead() {
        let mut db = Db::new();
        let items = db.create_table::<Item>().unwrap();
        let mut tx = db.begin();
        let ghost = items.insert(&mut tx, Item).unwrap();
        tx.rollback();
        let real = items.insert(&mut db, Item).unwrap();
        assert!(
            !items.contains(&db, ghost).unwrap(),
            "{ghost} must not resolve to {real}"
        );
        assert!(items.contains(&db, real).unwrap());
    }

    #[test]
    fn savepoints_nest_and_commit_into_their_parent_only() {
        let mut db = Db::new();
        let items = db.create_table::<Item>().unwrap();
        let mut outer = db.begin();
        let mut inner = outer.begin();
        items.insert(&mut inner, Item).unwrap();
        inner.commit();
        assert_eq!(items.len(&outer), Ok(1));
        outer.rollback();
        assert_eq!(
            items.len(&db),
            Ok(0),
            "the outer rollback discards the committed savepoint"
        );
    }
}
