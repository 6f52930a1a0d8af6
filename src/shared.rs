//! A database shared between threads.

use std::cell::RefCell;
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use crate::changes::ChangeSet;
use crate::db::Db;
use crate::error::Error;
use crate::feed::{Subscribers, Subscription};

thread_local! {
    /// The `SharedDb`s this thread is inside `read` or `write` of (by address).
    static HELD: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

/// Marks a `SharedDb` as held by this thread until dropped (also on unwinding).
struct Held(usize);

impl Held {
    fn enter(at: usize) -> Held {
        HELD.with(|held| held.borrow_mut().push(at));
        Held(at)
    }

    fn holds(at: usize) -> bool {
        HELD.with(|held| held.borrow().contains(&at))
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        HELD.with(|held| {
            let mut held = held.borrow_mut();
            if let Some(i) = held.iter().rposition(|&a| a == self.0) {
                held.remove(i);
            }
        });
    }
}

/// A `Send + Sync`, cheaply cloneable handle to one database shared by many threads.
///
/// Readers run concurrently on the current state ([`read`](SharedDb::read)) or take a
/// [`snapshot`](SharedDb::snapshot) in O(1) and keep reading it as long as they like without
/// holding any lock. Writers are serialized: each [`write`](SharedDb::write) runs its body as a
/// transaction on a private fork, with no lock held against readers, then publishes the result in
/// O(1). A reader therefore sees the state before a write or after it, never part of one, and is
/// never blocked for longer than that publication.
///
/// Calling `write` from inside `read` or `write` of the same `SharedDb` on the same thread would
/// wait for itself forever; it returns [`Error::Reentrant`] instead. (`read` and `snapshot` may be
/// nested freely; inside `write`, use the `&mut Db` it passes.)
///
/// ```
/// use relata::{Db, SharedDb};
/// #[derive(Clone)]
/// struct Tick(u64);
/// let mut db = Db::new();
/// let ticks = db.create_table::<Tick>()?;
/// let shared = SharedDb::new(db);
///
/// let writer = {
///     let shared = shared.clone();
///     std::thread::spawn(move || {
///         for i in 0..100 {
///             shared.write(|db| ticks.insert(db, Tick(i)).map(drop)).unwrap();
///         }
///     })
/// };
/// let snapshot = shared.snapshot(); // consistent, whatever the writer is doing
/// let _ = ticks.len(&snapshot);
/// writer.join().unwrap();
/// assert_eq!(shared.read(|db| ticks.len(db))?, 100);
/// # Ok::<(), relata::Error>(())
/// ```
#[derive(Clone)]
pub struct SharedDb {
    inner: Arc<Inner>,
}

struct Inner {
    /// The published state and the number of the commit that published it.
    current: RwLock<(Db, u64)>,
    writer: Mutex<()>,
    subscribers: Subscribers,
}

impl Drop for Inner {
    /// The last handle is gone: subscribers get what was published, then [`Feed::Closed`].
    fn drop(&mut self) {
        let current = self.current.get_mut();
        self.subscribers.close(&current.0, current.1);
    }
}

impl SharedDb {
    /// Shares `db`. O(1).
    pub fn new(db: Db) -> Self {
        SharedDb {
            inner: Arc::new(Inner {
                current: RwLock::new((db, 0)),
                writer: Mutex::new(()),
                subscribers: Subscribers::default(),
            }),
        }
    }

    fn address(&self) -> usize {
        Arc::as_ptr(&self.inner) as usize
    }

    /// Runs `body` on the current state under a read lock (other readers run concurrently).
    /// O(1) besides `body`: no copy of the state.
    pub fn read<R>(&self, body: impl FnOnce(&Db) -> R) -> R {
        let _held = Held::enter(self.address());
        body(&self.inner.current.read_recursive().0)
    }

    /// An independent copy of the current state. O(1); holds the read lock only for the copy.
    pub fn snapshot(&self) -> Db {
        self.inner.current.read_recursive().0.fork()
    }

    /// Runs `body` as a transaction and publishes its result if it returns `Ok`. Writers run
    /// one at a time; readers are not blocked while `body` runs, and the write lock is held only
    /// to swap in the new state (the old one is dropped after it is released). If `body` returns
    /// `Err` or panics, nothing is published.
    /// O(1) besides `body` to fork and to publish; `body`'s writes copy the storage paths the
    /// published state shares.
    ///
    /// Called from inside `read` or `write` of the same `SharedDb` on the same thread, returns
    /// [`Error::Reentrant`] (converted into `E`) without running `body`.
    ///
    /// ```
    /// # use relata::{Db, Error, SharedDb};
    /// let shared = SharedDb::new(Db::new());
    /// let nested = shared.read(|_| shared.write(|_| Ok::<(), Error>(())));
    /// assert!(matches!(nested, Err(Error::Reentrant { method: "write" })));
    /// ```
    pub fn write<R, E: From<Error>>(
        &self,
        body: impl FnOnce(&mut Db) -> Result<R, E>,
    ) -> Result<R, E> {
        if Held::holds(self.address()) {
            return Err(Error::Reentrant { method: "write" }.into());
        }
        let _held = Held::enter(self.address());
        let _serialized = self.inner.writer.lock();
        let mut work = self.snapshot();
        let value = body(&mut work)?;
        let (old, commit, after) = {
            let mut current = self.inner.current.write();
            // Decided under the lock `subscribe` reads the commit number under: a subscriber
            // registered before this swap gets its change set, one registered after has seen it.
            let after = self.inner.subscribers.any().then(|| work.fork());
            let commit = current.1 + 1;
            let old = std::mem::replace(&mut *current, (work, commit));
            (old, commit, after)
        };
        match after {
            Some(after) => {
                let changes = ChangeSet::new(old.0, after, Some(commit));
                self.inner.subscribers.publish(&changes);
            }
            None => drop(old),
        }
        Ok(value)
    }

    /// Subscribes to the change feed: the returned [`Subscription`] receives the
    /// [`ChangeSet`] of every write committed from now on, in commit order. At most `capacity`
    /// change sets wait for it (at least one): a subscriber that falls further behind never
    /// slows the writer down; it receives [`Feed::Missed`](crate::Feed::Missed) with a snapshot
    /// to resynchronise from. Once the last handle of this `SharedDb` is dropped, the
    /// subscriber receives what was published, then [`Feed::Closed`](crate::Feed::Closed). O(1)
    /// per commit and subscriber (two forks); a write costs nothing more while nobody
    /// subscribes.
    ///
    /// ```
    /// use relata::{Db, Feed, SharedDb};
    /// #[derive(Clone, PartialEq)]
    /// struct Tick(u64);
    /// let mut db = Db::new();
    /// let ticks = db.create_table::<Tick>()?;
    /// let shared = SharedDb::new(db);
    /// let feed = shared.subscribe(16);
    /// shared.write(|db| ticks.insert(db, Tick(7)).map(drop))?;
    /// match feed.recv() {
    ///     Feed::Changes(changes) => {
    ///         assert_eq!(changes.commit(), Some(1));
    ///         assert_eq!(changes.table(ticks)?.inserted[0].0, 7);
    ///     }
    ///     other => panic!("{other:?}"),
    /// }
    /// # Ok::<(), relata::Error>(())
    /// ```
    pub fn subscribe(&self, capacity: usize) -> Subscription {
        self.subscribe_with_snapshot(capacity).1
    }

    /// [`subscribe`](SharedDb::subscribe), with a snapshot of the state the feed starts from,
    /// taken at the same commit: the subscription's first change set is of the next commit,
    /// and its [`before`](ChangeSet::before) is this snapshot's state. What a replica starts
    /// from: a `subscribe` followed by a [`snapshot`](SharedDb::snapshot) may see a commit
    /// between the two, whose change set would then not apply to the snapshot
    /// (`Error::Mismatch`). O(1).
    ///
    /// ```
    /// use relata::{Db, Feed, SharedDb};
    /// #[derive(Clone, PartialEq)]
    /// struct Tick(u64);
    /// let mut db = Db::new();
    /// let ticks = db.create_table::<Tick>()?;
    /// let shared = SharedDb::new(db);
    /// shared.write(|db| ticks.insert(db, Tick(1)).map(drop))?;
    /// let (mut replica, feed) = shared.subscribe_with_snapshot(16);
    /// shared.write(|db| ticks.insert(db, Tick(2)).map(drop))?;
    /// if let Feed::Changes(changes) = feed.recv() {
    ///     changes.apply_to(&mut replica)?;
    /// }
    /// assert_eq!(ticks.len(&replica)?, 2);
    /// # Ok::<(), relata::Error>(())
    /// ```
    pub fn subscribe_with_snapshot(&self, capacity: usize) -> (Db, Subscription) {
        // Registered while the commit number it starts after cannot move: see `write`.
        let (snapshot, queue) = {
            let current = self.inner.current.read_recursive();
            (
                current.0.fork(),
                self.inner.subscribers.add(capacity, current.1),
            )
        };
        let inner = Arc::downgrade(&self.inner);
        let subscription = Subscription {
            queue,
            current: Box::new(move || match inner.upgrade() {
                Some(inner) => {
                    let (db, commit) = {
                        let current = inner.current.read_recursive();
                        (current.0.fork(), current.1)
                    };
                    Some((db, commit, inner as crate::feed::KeepAlive))
                }
                None => None,
            }),
        };
        (snapshot, subscription)
    }
}

impl std::fmt::Debug for SharedDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("SharedDb")
            .field(&self.inner.current.read_recursive().0)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: a subscriber resynchronising after a miss holds the `SharedDb` alive while
    /// it reads the current state; when every handle is dropped meanwhile on another thread,
    /// its reference is the last, and dropping it closes every queue, its own included. It
    /// was dropped under the queue's lock: `try_recv` deadlocked. The race is forced here by
    /// a resynchronisation that hands over the last handle.
    #[test]
    fn a_resync_holding_the_last_handle_does_not_deadlock() {
        let mut db = Db::new();
        let ticks = db.create_table::<u64>().unwrap();
        let shared = SharedDb::new(db);
        let mut sub = shared.subscribe(1);
        for tick in 0..2 {
            shared.write(|db| ticks.insert(db, tick).map(drop)).unwrap();
        }
        let last = parking_lot::Mutex::new(Some(shared));
        sub.current = Box::new(move || {
            let shared = last.lock().take()?;
            let db = shared.snapshot();
            Some((db, 2, Arc::new(shared) as crate::feed::KeepAlive))
        });
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let resync = sub.try_recv();
            let after = sub.try_recv();
            done.send((resync, after)).unwrap();
        });
        let (resync, after) = finished
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("try_recv deadlocked");
        match resync {
            Some(crate::Feed::Missed { snapshot, commit }) => {
                assert_eq!(commit, 2);
                assert_eq!(ticks.len(&snapshot).unwrap(), 2);
            }
            other => panic!("expected a resync, got {other:?}"),
        }
        assert!(matches!(after, Some(crate::Feed::Closed { commit: 2 })));
    }

    #[test]
    fn shared_db_is_send_and_sync() {
        fn check<T: Send + Sync + Clone>() {}
        check::<SharedDb>();
        fn check_db<T: Send + Sync>() {}
        check_db::<Db>();
    }
}
