//! [`CowArc`]: the shared, copy-on-write pointer of every persistent node (trie nodes, buckets).
//!
//! It is an `Arc` that is never downgraded, which lets it test whether it is shared with one
//! plain load, where `Arc::make_mut` and `Arc::get_mut` use an atomic read-modify-write (a
//! locked compare-exchange on x86, which also stops the core from overlapping the cache misses
//! around it). An add+remove pair passes a dozen nodes: with this pointer it took 83 instead of
//! 95 ns at 1,000 parents and 181 instead of 267 ns at 100,000 (Criterion, `BENCHMARKS.md`,
//! "Unsafe code"), which is what brought it within twice the hand-written baseline.
//!
//! This module is the crate's only `unsafe` code. Its tests, and those of the structures built
//! on it, run under Miri: `cargo +nightly miri test --lib -- cow_arc pvec bucket rows`
//! (`.ci/run` runs it whenever the machine has Miri).
//!
//! # Why it is sound
//!
//! `Arc::get_mut` must lock the weak count because a `Weak` could be upgraded by another thread
//! between its two checks. A `CowArc` owns its `Arc` privately and nothing in this module calls
//! `Arc::downgrade` or lends the `Arc` out, so no `Weak` to the value ever exists and the strong
//! count alone decides uniqueness. Given `&mut CowArc<T>` and a strong count of 1, no other
//! `Arc` to the value exists, hence no other reference in any thread, and none can be made
//! without this one, which we borrow mutably. The count is read, then an `Acquire` fence pairs
//! with the `Release` decrement by which the last other owner dropped its `Arc`: everything
//! that owner did with the value happens before our write.

use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::{Ordering, fence};

/// A reference-counted pointer that is cloned in O(1) and copied when written while shared.
/// See the module docs.
pub(crate) struct CowArc<T: ?Sized>(Arc<T>);

impl<T: ?Sized> Clone for CowArc<T> {
    #[inline]
    fn clone(&self) -> Self {
        CowArc(Arc::clone(&self.0))
    }
}

impl<T: ?Sized> Deref for CowArc<T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> CowArc<T> {
    pub(crate) fn new(value: T) -> Self {
        CowArc(Arc::new(value))
    }
}

impl<T> FromIterator<T> for CowArc<[T]> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        CowArc(iter.into_iter().collect())
    }
}

impl<T: ?Sized> CowArc<T> {
    /// Mutable access if no other `CowArc` shares the value. One atomic load, no write.
    #[inline]
    pub(crate) fn get_mut(&mut self) -> Option<&mut T> {
        if Arc::strong_count(&self.0) != 1 {
            return None;
        }
        fence(Ordering::Acquire);
        let ptr = Arc::as_ptr(&self.0).cast_mut();
        // SAFETY: the value is alive (we hold an `Arc` to it) and, by the module docs, this
        // `Arc` is its only owner and no `Weak` exists, so nothing else can read or write it
        // while the returned borrow, tied to `&mut self`, lives. The pointer comes from
        // `Arc::as_ptr`, not from a shared reference, so writing through it is allowed.
        Some(unsafe { &mut *ptr })
    }
}

impl<T: Clone> CowArc<T> {
    /// Mutable access, first replacing the value with a private copy if it is shared.
    #[inline]
    pub(crate) fn make_mut(&mut self) -> &mut T {
        if Arc::strong_count(&self.0) != 1 {
            *self = CowArc::new(T::clone(&self.0));
        }
        self.get_mut().expect("a fresh copy is unshared")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_in_place_when_unshared() {
        let mut a = CowArc::new(vec![1, 2]);
        let before = Arc::as_ptr(&a.0);
        a.make_mut().push(3);
        assert_eq!(Arc::as_ptr(&a.0), before, "no copy");
        assert_eq!(*a, [1, 2, 3]);
    }

    #[test]
    fn copies_when_shared_and_leaves_the_other_alone() {
        let mut a = CowArc::new(vec![1, 2]);
        let b = a.clone();
        assert!(a.get_mut().is_none());
        a.make_mut().push(3);
        assert_eq!(*a, [1, 2, 3]);
        assert_eq!(*b, [1, 2]);
        drop(b);
        assert!(
            a.get_mut().is_some(),
            "unique again once the other is dropped"
        );
    }

    #[test]
    fn slices_edit_in_place() {
        let mut a: CowArc<[u32]> = [1, 2, 3].into_iter().collect();
        a.get_mut().expect("unshared")[0] = 9;
        let b = a.clone();
        assert!(a.get_mut().is_none());
        assert_eq!((&*a, &*b), (&[9, 2, 3][..], &[9, 2, 3][..]));
    }

    #[test]
    fn a_copy_dropped_on_another_thread_makes_the_value_unique_again() {
        let mut a = CowArc::new(vec![0u64; 16]);
        for round in 0..8 {
            let b = a.clone();
            let reader = std::thread::spawn(move || b.iter().sum::<u64>());
            let sum = reader.join().expect("reader");
            assert_eq!(sum, 16 * round);
            for x in a.get_mut().expect("the reader's copy is gone") {
                *x += 1;
            }
        }
    }

    #[test]
    fn a_writer_and_readers_of_snapshots_race_without_tearing() {
        let mut a = CowArc::new([0u64; 8]);
        let mut readers = Vec::new();
        for step in 0..20u64 {
            let snapshot = a.clone();
            readers.push(std::thread::spawn(move || {
                assert!(
                    snapshot.iter().all(|&x| x == step),
                    "a snapshot never changes"
                );
            }));
            *a.make_mut() = [step + 1; 8];
        }
        for r in readers {
            r.join().expect("reader");
        }
    }
}
