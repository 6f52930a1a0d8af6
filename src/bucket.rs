//! The set of child rows linked to one source: the value side of a foreign-key index.
//!
//! Children are kept sorted by [`RawId`], which orders by creation, so reading a bucket yields
//! the default order of the spec without sorting. Small buckets (the common case: a post with a
//! handful of comments) are one shared, copy-on-write sorted vector; past [`SMALL_MAX`] children a
//! bucket becomes a persistent B-tree set so inserts and removals stay O(log k).

use std::sync::Arc;

use imbl::OrdSet;

use crate::id::RawId;

/// Largest child count kept in the sorted-vector form.
pub(crate) const SMALL_MAX: usize = 64;

#[derive(Clone, Default)]
pub(crate) enum Bucket {
    #[default]
    Empty,
    Small(Arc<Vec<RawId>>),
    Large(OrdSet<RawId>),
}

impl Bucket {
    /// Number of children. O(1).
    pub(crate) fn len(&self) -> usize {
        match self {
            Bucket::Empty => 0,
            Bucket::Small(v) => v.len(),
            Bucket::Large(s) => s.len(),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// O(log k).
    #[cfg(test)]
    pub(crate) fn contains(&self, id: RawId) -> bool {
        match self {
            Bucket::Empty => false,
            Bucket::Small(v) => v.binary_search(&id).is_ok(),
            Bucket::Large(s) => s.contains(&id),
        }
    }

    /// Adds `id`; returns false if it was already there. O(log k) (O(k) memmove below `SMALL_MAX`).
    pub(crate) fn insert(&mut self, id: RawId) -> bool {
        match self {
            Bucket::Empty => {
                let mut v = Vec::with_capacity(4);
                v.push(id);
                *self = Bucket::Small(Arc::new(v));
                true
            }
            Bucket::Small(v) => match v.binary_search(&id) {
                Ok(_) => false,
                Err(pos) if v.len() < SMALL_MAX => {
                    Arc::make_mut(v).insert(pos, id);
                    true
                }
                Err(_) => {
                    let mut set: OrdSet<RawId> = v.iter().copied().collect();
                    set.insert(id);
                    *self = Bucket::Large(set);
                    true
                }
            },
            Bucket::Large(s) => s.insert(id).is_none(),
        }
    }

    /// Removes `id`; returns false if it was not there. O(log k) (O(k) memmove below `SMALL_MAX`).
    pub(crate) fn remove(&mut self, id: RawId) -> bool {
        match self {
            Bucket::Empty => false,
            Bucket::Small(v) => match v.binary_search(&id) {
                Err(_) => false,
                Ok(_) if v.len() == 1 => {
                    *self = Bucket::Empty;
                    true
                }
                Ok(pos) => {
                    Arc::make_mut(v).remove(pos);
                    true
                }
            },
            Bucket::Large(s) => {
                let removed = s.remove(&id).is_some();
                // Shrink with hysteresis so a bucket hovering at the threshold does not flip.
                if s.len() <= SMALL_MAX / 2 {
                    *self = Bucket::Small(Arc::new(s.iter().copied().collect()));
                }
                removed
            }
        }
    }

    /// Children in creation order.
    pub(crate) fn iter(&self) -> BucketIter<'_> {
        match self {
            Bucket::Empty => BucketIter::Small([].iter()),
            Bucket::Small(v) => BucketIter::Small(v.iter()),
            Bucket::Large(s) => BucketIter::Large(s.iter(), s.len()),
        }
    }
}

/// Iterator over a bucket's children, in creation order.
pub(crate) enum BucketIter<'a> {
    Small(std::slice::Iter<'a, RawId>),
    Large(
        imbl::ordset::Iter<'a, RawId, imbl::shared_ptr::DefaultSharedPtr>,
        usize,
    ),
}

impl Iterator for BucketIter<'_> {
    type Item = RawId;

    fn next(&mut self) -> Option<RawId> {
        match self {
            BucketIter::Small(it) => it.next().copied(),
            BucketIter::Large(it, left) => {
                let next = it.next().copied();
                *left = left.saturating_sub(usize::from(next.is_some()));
                next
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = match self {
            BucketIter::Small(it) => it.len(),
            BucketIter::Large(_, left) => *left,
        };
        (n, Some(n))
    }
}

impl ExactSizeIterator for BucketIter<'_> {}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::num::NonZeroU64;

    use super::*;

    fn id(seq: u64) -> RawId {
        RawId {
            seq: NonZeroU64::new(seq).unwrap(),
            slot: seq as u32,
        }
    }

    #[test]
    fn behaves_like_a_sorted_set_across_both_forms() {
        let mut bucket = Bucket::default();
        let mut model = BTreeSet::new();
        // Grow well past SMALL_MAX, then shrink back below it, in a scrambled order.
        let seqs: Vec<u64> = (1..=200).map(|i| (i * 37) % 211 + 1).collect();
        for &s in &seqs {
            assert_eq!(bucket.insert(id(s)), model.insert(id(s)));
            assert!(!bucket.insert(id(s)), "second insert is a no-op");
        }
        assert!(matches!(bucket, Bucket::Large(_)));
        for &s in seqs.iter().step_by(2).chain(&[999]) {
            assert_eq!(bucket.remove(id(s)), model.remove(&id(s)));
        }
        for s in 1..=180 {
            assert_eq!(bucket.remove(id(s)), model.remove(&id(s)));
            assert_eq!(bucket.len(), model.len());
            assert!(bucket.iter().eq(model.iter().copied()));
            assert_eq!(bucket.iter().len(), model.len());
        }
        assert!(matches!(bucket, Bucket::Small(_)));
        for s in 1..=300 {
            assert_eq!(bucket.contains(id(s)), model.contains(&id(s)));
        }
    }

    #[test]
    fn removing_the_last_child_frees_the_bucket() {
        let mut bucket = Bucket::default();
        bucket.insert(id(1));
        assert!(bucket.remove(id(1)));
        assert!(matches!(bucket, Bucket::Empty));
        assert!(bucket.is_empty());
        assert!(!bucket.remove(id(1)));
    }

    #[test]
    fn clones_do_not_see_later_writes() {
        let mut a = Bucket::default();
        a.insert(id(1));
        a.insert(id(2));
        let b = a.clone();
        a.remove(id(1));
        assert_eq!(b.iter().collect::<Vec<_>>(), vec![id(1), id(2)]);
        assert_eq!(a.iter().collect::<Vec<_>>(), vec![id(2)]);
    }
}
