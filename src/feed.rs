//! The change feed of a [`SharedDb`](crate::SharedDb): subscribers receive the change set of
//! every committed write, in commit order, without ever slowing the writer down.

use std::collections::VecDeque;
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use crate::changes::ChangeSet;
use crate::db::Db;

/// What a [`Subscription`] receives.
#[derive(Debug)]
#[non_exhaustive]
pub enum Feed {
    /// The changes of one commit (its number: [`ChangeSet::commit`]).
    Changes(ChangeSet),
    /// The subscriber fell more than its capacity behind, and the commits it did not receive
    /// are lost. `snapshot` is the state as of commit `commit`: resynchronise from it; the feed
    /// goes on with the commit after it.
    Missed {
        /// The current state when the subscriber came back.
        snapshot: Db,
        /// The last commit `snapshot` includes.
        commit: u64,
    },
    /// The [`SharedDb`](crate::SharedDb) was dropped and every commit it published before was
    /// delivered: nothing more will come. Every later call returns it again, without waiting.
    Closed {
        /// The last commit the `SharedDb` published.
        commit: u64,
    },
}

/// A subscriber's queue, shared with the writer.
pub(crate) struct Queue {
    state: Mutex<QueueState>,
    ready: Condvar,
}

struct QueueState {
    changes: VecDeque<ChangeSet>,
    capacity: usize,
    /// Changes were dropped: deliver `Missed` once the queue is drained.
    missed: bool,
    /// Commits up to this one are in the snapshot a `Missed` delivered: skip them.
    seen: u64,
    /// The `SharedDb` was dropped: its last state and commit number (what a pending `Missed`
    /// delivers).
    closed: Option<(Db, u64)>,
}

impl Queue {
    /// Offers the writer's latest change set: queued, or dropped (and the miss recorded) when
    /// the queue is full. Never blocks on the subscriber.
    pub(crate) fn offer(&self, changes: &ChangeSet) {
        let mut state = self.state.lock();
        if state.missed {
            return;
        }
        if state.changes.len() < state.capacity {
            state.changes.push_back(changes.clone());
        } else {
            state.changes.clear();
            state.missed = true;
        }
        self.ready.notify_all();
    }
}

/// The subscribers of one `SharedDb`.
#[derive(Default)]
pub(crate) struct Subscribers {
    queues: Mutex<Vec<Weak<Queue>>>,
}

impl Subscribers {
    /// Whether anyone listens; the writer skips building change sets otherwise.
    pub(crate) fn any(&self) -> bool {
        !self.queues.lock().is_empty()
    }

    /// Offers `changes` to every live subscriber, forgetting dropped ones.
    pub(crate) fn publish(&self, changes: &ChangeSet) {
        let mut queues = self.queues.lock();
        queues.retain(|q| match q.upgrade() {
            Some(queue) => {
                queue.offer(changes);
                true
            }
            None => false,
        });
    }

    /// Tells every live subscriber that the `SharedDb` is gone, leaving each its last state
    /// `db` (a fork: O(1)) and commit number, and wakes those waiting.
    pub(crate) fn close(&self, db: &Db, commit: u64) {
        for queue in self.queues.lock().drain(..) {
            if let Some(queue) = queue.upgrade() {
                queue.state.lock().closed = Some((db.fork(), commit));
                queue.ready.notify_all();
            }
        }
    }

    pub(crate) fn add(&self, capacity: usize, seen: u64) -> Arc<Queue> {
        let queue = Arc::new(Queue {
            state: Mutex::new(QueueState {
                changes: VecDeque::new(),
                capacity: capacity.max(1),
                missed: false,
                seen,
                closed: None,
            }),
            ready: Condvar::new(),
        });
        self.queues.lock().push(Arc::downgrade(&queue));
        queue
    }
}

/// A subscription to a [`SharedDb`](crate::SharedDb)'s commits, from
/// [`SharedDb::subscribe`](crate::SharedDb::subscribe). Dropping it unsubscribes.
pub struct Subscription {
    pub(crate) queue: Arc<Queue>,
    /// The current state and its commit number, for resynchronising after a miss (`None` once
    /// the `SharedDb` is gone), and the `SharedDb` kept alive while they were read: see
    /// [`KeepAlive`].
    pub(crate) current: Box<dyn Fn() -> Option<(Db, u64, KeepAlive)> + Send + Sync>,
}

/// A strong reference to a `SharedDb`'s state, taken by a subscriber while it resynchronises.
/// It may be the last one (every `SharedDb` handle dropped meanwhile, on another thread), and
/// dropping the last one closes every queue, locking each: so it is dropped only after the
/// subscriber let go of its queue's lock, never under it (which deadlocked).
pub(crate) type KeepAlive = Arc<dyn Send + Sync>;

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription").finish_non_exhaustive()
    }
}

impl Subscription {
    /// The next item, if one is waiting. Never waits for a commit (a writer holds the queue's
    /// lock only to queue a change set). O(1); a resynchronisation forks the current state,
    /// O(1) too. If the `SharedDb`'s last handle is dropped on another thread during a
    /// resynchronisation, this call is left to close the feed of every subscriber: O(s) for
    /// s subscribers, once.
    pub fn try_recv(&self) -> Option<Feed> {
        let mut keep = None;
        let mut state = self.queue.state.lock();
        let feed = self.next(&mut state, &mut keep);
        drop(state);
        drop(keep);
        feed
    }

    /// The next item, waiting for one for at most `timeout`. Costs as
    /// [`try_recv`](Self::try_recv) once an item is there.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<Feed> {
        let mut keep = None;
        let mut state = self.queue.state.lock();
        let feed = loop {
            if let Some(feed) = self.next(&mut state, &mut keep) {
                break Some(feed);
            }
            if self.queue.ready.wait_for(&mut state, timeout).timed_out() {
                break self.next(&mut state, &mut keep);
            }
        };
        drop(state);
        drop(keep);
        feed
    }

    /// The next item, waiting as long as it takes ([`Feed::Closed`] once the `SharedDb` is
    /// dropped and every commit was delivered). Costs as [`try_recv`](Self::try_recv) once an
    /// item is there.
    pub fn recv(&self) -> Feed {
        let mut keep = None;
        let mut state = self.queue.state.lock();
        let feed = loop {
            if let Some(feed) = self.next(&mut state, &mut keep) {
                break feed;
            }
            self.queue.ready.wait(&mut state);
        };
        drop(state);
        drop(keep);
        feed
    }

    /// The next item, under the queue's lock; a resynchronisation leaves in `keep` the
    /// reference that kept the `SharedDb` alive, for the caller to drop after unlocking.
    fn next(&self, state: &mut QueueState, keep: &mut Option<KeepAlive>) -> Option<Feed> {
        while let Some(changes) = state.changes.pop_front() {
            if changes.commit().unwrap_or(0) > state.seen {
                state.seen = changes.commit().unwrap_or(state.seen);
                return Some(Feed::Changes(changes));
            }
        }
        if state.missed {
            // Taken under the queue's lock: the writer offers the next commit only after it.
            // Once the `SharedDb` is gone, its last state.
            let last = match (self.current)() {
                Some((db, commit, alive)) => {
                    *keep = Some(alive);
                    Some((db, commit))
                }
                None => state
                    .closed
                    .as_ref()
                    .map(|(db, commit)| (db.fork(), *commit)),
            };
            if let Some((snapshot, commit)) = last {
                state.missed = false;
                state.seen = commit;
                return Some(Feed::Missed { snapshot, commit });
            }
        }
        state
            .closed
            .as_ref()
            .map(|&(_, commit)| Feed::Closed { commit })
    }
}
