//! A leaf of a [`PVec`]: its entries, and the epoch and per-entry stamps that let
//! [`diff`](PVec::diff) skip what neither of two vectors wrote, and let a rollback put a
//! stamp back ([`Stamp`]).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

#[cfg(doc)]
use super::PVec;
use super::{LEAF, Leaf};

/// A leaf and what [`diff`](PVec::diff) needs to skip the entries neither of two vectors
/// wrote since their histories parted.
///
/// Every write to an entry is stamped with the number of the *epoch* it happens in. A leaf's
/// epoch is a number of its own, never reused (a process-wide counter): a new one when the leaf
/// is made, when it is copied (copy-on-write, after a fork: the copy's), and at the first write
/// in place after a copy was taken of it (so that the copy, which holds the earlier values,
/// never shares a stamp with a later write). Within one epoch every write comes before every
/// copy, so two leaves whose entry bears the same stamp hold clones of one value, however many
/// copies of copies lie between them, in whichever direction: only entries whose stamps differ
/// may differ. An entry stores its stamp as its age (the leaf's epoch minus the stamp, 4
/// bytes), saturating at [`UNKNOWN`] for entries older than 2³² − 1 epochs (then compared as
/// possibly different). The header comes first, in the cache line of the reference count that
/// every write reads anyway.
#[repr(C)]
pub(crate) struct LeafNode<T> {
    pub(super) epoch: u64,
    /// A copy was taken since the epoch began: the next write in place starts a new one.
    pub(super) copied: AtomicBool,
    pub(super) ages: [u32; LEAF],
    pub(super) entries: Leaf<T>,
}

/// The age of an entry whose stamp is too old to hold.
pub(super) const UNKNOWN: u32 = u32::MAX;

/// The stamp an entry bore before a write, kept with the write's undo: undoing the write puts
/// the old value back and, with [`PVec::restamp`], this stamp, so that a [`diff`](PVec::diff)
/// no longer tells the entry apart from the copies that kept the old value (a failed call
/// leaves no trace for a change set). `Stamp::NONE` when there is nothing to put back: the entry
/// was written earlier in the same epoch (copies taken since may hold the later value under
/// that stamp), or its stamp was too old to hold.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Stamp(u64);

impl Stamp {
    /// Nothing to put back.
    pub(crate) const NONE: Stamp = Stamp(0);

    /// The stamp of an entry of age `age` in a leaf of epoch `epoch`, if worth putting back.
    #[inline]
    fn of(epoch: u64, age: u32) -> Stamp {
        match age {
            0 | UNKNOWN => Stamp::NONE,
            age => Stamp(epoch - u64::from(age)),
        }
    }
}

/// Numbers epochs: 0 is "none".
static EPOCHS: AtomicU64 = AtomicU64::new(1);

fn epoch() -> u64 {
    EPOCHS.fetch_add(1, Ordering::Relaxed)
}

impl<T> LeafNode<T> {
    /// The entries.
    #[inline]
    pub(crate) fn entries(&self) -> &Leaf<T> {
        &self.entries
    }

    /// A new leaf of `entries`, all stamped with its epoch.
    pub(super) fn new(entries: Leaf<T>) -> Self {
        LeafNode {
            epoch: epoch(),
            copied: AtomicBool::new(false),
            ages: [0; LEAF],
            entries,
        }
    }

    /// `ages` as seen from an epoch `later` epochs on.
    #[inline]
    pub(super) fn aged(ages: &[u32; LEAF], later: u64) -> [u32; LEAF] {
        let later = u32::try_from(later).unwrap_or(UNKNOWN);
        ages.map(|age| age.saturating_add(later))
    }

    /// Records a write in place to the entries of `mask`: stamps them with the leaf's epoch,
    /// after starting a new epoch if a copy was taken since this one began.
    #[inline]
    pub(super) fn mark(&mut self, mask: u32) {
        let (ages, _) = self.open();
        let mut bits = mask;
        while bits != 0 {
            ages[bits.trailing_zeros() as usize] = 0;
            bits &= bits - 1;
        }
    }

    /// Gives entry `offset` the stamp `stamp` again (see [`Stamp`]): it bore it before a write
    /// that has just been undone, and holds the value it held then. A stamp not older than the
    /// leaf's epoch is left alone.
    #[inline]
    pub(super) fn restamp(&mut self, offset: usize, stamp: Stamp) {
        if stamp != Stamp::NONE
            && let Some(age) = self.epoch.checked_sub(stamp.0).filter(|&age| age > 0)
            && let Some(slot) = self.ages.get_mut(offset)
        {
            *slot = u32::try_from(age).unwrap_or(UNKNOWN);
        }
    }

    /// The ages and the entries, to write entries and mark them one by one: starts a new
    /// epoch first if a copy was taken since this one began.
    #[inline]
    pub(super) fn open(&mut self) -> (&mut [u32; LEAF], &mut Leaf<T>) {
        self.open_epoch();
        (&mut self.ages, &mut self.entries)
    }

    /// Starts a new epoch if a copy was taken since this one began (the rule of
    /// [`open`](Self::open)), and returns the epoch writes now happen in.
    #[inline]
    pub(super) fn open_epoch(&mut self) -> u64 {
        if *self.copied.get_mut() {
            self.renew();
        }
        self.epoch
    }

    #[cold]
    #[inline(never)]
    pub(super) fn renew(&mut self) {
        let now = epoch();
        self.ages = Self::aged(&self.ages, now - self.epoch);
        self.epoch = now;
        *self.copied.get_mut() = false;
    }

    /// The entries of `self` that may differ from those of `other`: those whose stamps
    /// differ (or are too old to tell).
    pub(super) fn may_differ(&self, other: &LeafNode<T>) -> u32 {
        let stamp = |leaf: &LeafNode<T>, i: usize| match leaf.ages[i] {
            UNKNOWN => None,
            age => Some(leaf.epoch - u64::from(age)),
        };
        let mut differ = 0;
        for i in 0..LEAF {
            let (a, b) = (stamp(self, i), stamp(other, i));
            if a.is_none() || a != b {
                differ |= 1 << i;
            }
        }
        differ
    }
}

impl<T: Clone> Clone for LeafNode<T> {
    /// A copy: a new leaf of the same entries, in an epoch of its own, with their stamps.
    fn clone(&self) -> Self {
        let entries = self.entries.clone();
        self.copied.store(true, Ordering::Relaxed);
        let now = epoch();
        LeafNode {
            epoch: now,
            copied: AtomicBool::new(false),
            ages: Self::aged(&self.ages, now - self.epoch),
            entries,
        }
    }
}

/// An entry of a [`PVec`] open for writing, not yet marked written: see
/// [`PVec::entry_mut`].
pub(crate) struct EntryMut<'a, T> {
    pub(super) age: &'a mut u32,
    pub(super) epoch: u64,
    pub(super) entry: &'a mut T,
}

impl<'a, T> EntryMut<'a, T> {
    /// The entry as it is, and the entry marked written when [`mark`](EntryWritten::mark) is
    /// called: the two halves, so that a caller can match on the entry and still mark it.
    #[inline]
    pub(crate) fn split(self) -> (&'a mut T, EntryWritten<'a>) {
        (
            self.entry,
            EntryWritten {
                age: self.age,
                epoch: self.epoch,
            },
        )
    }
}

/// Marks the entry of an [`EntryMut`] written.
pub(crate) struct EntryWritten<'a> {
    age: &'a mut u32,
    epoch: u64,
}

impl EntryWritten<'_> {
    /// Marks the entry written (stamped with its leaf's epoch), and returns the stamp it bore:
    /// what undoing the write puts back ([`PVec::restamp`]).
    #[inline]
    pub(crate) fn mark(self) -> Stamp {
        let before = Stamp::of(self.epoch, *self.age);
        *self.age = 0;
        before
    }
}
