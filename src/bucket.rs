//! The set of child rows linked to one source: the value side of a foreign-key index.
//!
//! Children are kept sorted by [`RawId`], which orders by creation, so reading a bucket yields
//! the default order of the spec without sorting. Small buckets (the common case: a post with a
//! handful of comments) are one `CowArc<[RawId]>` with spare capacity: a single allocation reached
//! through a single pointer, edited in place while unshared, copied (with doubled capacity) when
//! full or shared with a snapshot. Past [`SMALL_MAX`] children a bucket becomes a persistent
//! B-tree set so inserts and removals stay O(log k).

use crate::cow_arc::CowArc;

use imbl::OrdSet;

use crate::id::RawId;

/// Largest child count kept in the sorted-vector form.
pub(crate) const SMALL_MAX: usize = 64;

#[derive(Clone, Default)]
pub(crate) enum Bucket {
    #[default]
    Empty,
    /// The first `len` entries of `ids` are the children; the rest is spare capacity.
    Small {
        len: u32,
        ids: CowArc<[RawId]>,
    },
    Large(OrdSet<RawId>),
}

/// Fills spare capacity; never read.
const FILLER: RawId = RawId {
    seq: std::num::NonZeroU64::MIN,
    slot: 0,
};

/// The `len` ids of `ids` followed by filler up to a power of two (at least 4), in one
/// allocation: the iterators below have a trusted length, so `collect` builds the `Arc` in
/// place, where `Vec::into` would allocate, copy and free.
fn with_room(len: usize, ids: impl Iterator<Item = RawId>) -> CowArc<[RawId]> {
    let capacity = len.next_power_of_two().max(4);
    ids.chain(std::iter::repeat_n(FILLER, capacity - len))
        .collect()
}

/// `ids` (sorted) with `id` inserted at `pos`, in a new allocation with room to grow.
fn grown(ids: &[RawId], pos: usize, id: RawId) -> CowArc<[RawId]> {
    let (before, after) = ids.split_at(pos);
    let ids = before.iter().chain(std::iter::once(&id)).chain(after);
    with_room(before.len() + 1 + after.len(), ids.copied())
}

/// Where `id` is in the sorted `ids` (`Ok`) or would go (`Err`). Compares creation numbers
/// only: they are unique within a table, so they order and identify its rows. A branch-free
/// count for the small sizes buckets have (at most [`SMALL_MAX`]).
#[inline]
fn position(ids: &[RawId], id: RawId) -> Result<usize, usize> {
    let pos = ids.iter().filter(|x| x.seq < id.seq).count();
    match ids.get(pos) {
        Some(x) if *x == id => Ok(pos),
        _ => Err(pos),
    }
}

/// Moves every entry one place right, dropping the last: the room for an insert at 0.
/// A plain loop: buckets are short, and a `memmove` call costs more than the copy.
#[inline]
fn shift_right(ids: &mut [RawId]) {
    for i in (1..ids.len()).rev() {
        ids[i] = ids[i - 1];
    }
}

/// Moves every entry one place left, dropping the first: closes the gap of a removal at 0.
#[inline]
fn shift_left(ids: &mut [RawId]) {
    for i in 1..ids.len() {
        ids[i - 1] = ids[i];
    }
}

impl Bucket {
    fn small(ids: &[RawId]) -> Bucket {
        Bucket::Small {
            len: ids.len() as u32,
            ids: with_room(ids.len(), ids.iter().copied()),
        }
    }

    /// The children of a small bucket. O(1).
    #[inline]
    fn slice(&self) -> &[RawId] {
        match self {
            Bucket::Small { len, ids } => &ids[..*len as usize],
            _ => &[],
        }
    }

    /// Number of children. O(1).
    #[inline]
    pub(crate) fn len(&self) -> usize {
        match self {
            Bucket::Empty => 0,
            Bucket::Small { len, .. } => *len as usize,
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
            Bucket::Small { .. } => self.slice().binary_search(&id).is_ok(),
            Bucket::Large(s) => s.contains(&id),
        }
    }

    /// Adds `id`; returns false if it was already there. O(log k) (O(k) memmove below `SMALL_MAX`).
    pub(crate) fn insert(&mut self, id: RawId) -> bool {
        match self {
            Bucket::Empty => {
                *self = Bucket::small(&[id]);
                true
            }
            Bucket::Small { len, ids } => {
                let n = *len as usize;
                let pos = match position(&ids[..n], id) {
                    Ok(_) => return false,
                    Err(pos) => pos,
                };
                if n == SMALL_MAX {
                    let mut set: OrdSet<RawId> = ids[..n].iter().copied().collect();
                    set.insert(id);
                    *self = Bucket::Large(set);
                } else if let Some(buf) = ids.get_mut().filter(|buf| n < buf.len()) {
                    shift_right(&mut buf[pos..=n]);
                    buf[pos] = id;
                    *len += 1;
                } else {
                    *ids = grown(&ids[..n], pos, id);
                    *len += 1;
                }
                true
            }
            Bucket::Large(s) => s.insert(id).is_none(),
        }
    }

    /// Removes `id`; returns false if it was not there. O(log k) (O(k) memmove below `SMALL_MAX`).
    pub(crate) fn remove(&mut self, id: RawId) -> bool {
        match self {
            Bucket::Empty => false,
            Bucket::Small { len, ids } => {
                let n = *len as usize;
                let Ok(pos) = position(&ids[..n], id) else {
                    return false;
                };
                if n == 1 {
                    *self = Bucket::Empty;
                } else if let Some(buf) = ids.get_mut() {
                    shift_left(&mut buf[pos..n]);
                    *len -= 1;
                } else {
                    let mut rest = Vec::with_capacity(n - 1);
                    rest.extend_from_slice(&ids[..pos]);
                    rest.extend_from_slice(&ids[pos + 1..n]);
                    *self = Bucket::small(&rest);
                }
                true
            }
            Bucket::Large(s) => {
                let removed = s.remove(&id).is_some();
                // Shrink with hysteresis so a bucket hovering at the threshold does not flip.
                if s.len() <= SMALL_MAX / 2 {
                    let ids: Vec<RawId> = s.iter().copied().collect();
                    *self = Bucket::small(&ids);
                }
                removed
            }
        }
    }

    /// Children in creation order.
    pub(crate) fn iter(&self) -> BucketIter<'_> {
        match self {
            Bucket::Empty | Bucket::Small { .. } => BucketIter::Small(self.slice().iter()),
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
        assert!(matches!(bucket, Bucket::Small { .. }));
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
    fn writes_to_a_shared_small_bucket_copy_it() {
        let mut a = Bucket::default();
        for s in [2, 4, 6] {
            a.insert(id(s));
        }
        let b = a.clone();
        a.insert(id(5)); // shared: copied, not written in place
        let c = a.clone();
        a.remove(id(2));
        assert_eq!(b.iter().collect::<Vec<_>>(), vec![id(2), id(4), id(6)]);
        assert_eq!(
            c.iter().collect::<Vec<_>>(),
            vec![id(2), id(4), id(5), id(6)]
        );
        assert_eq!(a.iter().collect::<Vec<_>>(), vec![id(4), id(5), id(6)]);
        for s in 7..=70 {
            a.insert(id(s)); // grows through every capacity, then turns Large
        }
        assert_eq!(a.len(), 67);
        assert_eq!(c.len(), 4);
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
