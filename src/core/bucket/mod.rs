//! The set of child rows linked to one source: the value side of a foreign-key index.
//!
//! Children are kept sorted by [`Member`], which orders by creation, so reading a bucket yields
//! the default order of the spec without sorting. Small buckets (the common case: a post with a
//! handful of comments) are one `Arc<[Member]>` with spare capacity: a single allocation reached
//! through a single pointer, edited in place while unshared, copied (with more capacity) when
//! full or shared with a snapshot. Past [`SMALL_MAX`] children a bucket becomes a list of
//! sorted chunks of at most [`CHUNK`] children each, stored inline in one directory that also
//! holds each chunk's last child: an insert or a removal binary-searches the directory, then
//! edits one chunk in place. O(log k) to find, O(16) to edit; splitting or merging a chunk
//! rebuilds the directory, and the first edit after a snapshot copies it whole: O(k) bytes in
//! one allocation and one `memcpy`, which stays small up to [`HUGE_AT`] children. Past that a
//! bucket is a persistent B-tree (`imbl::OrdSet`), O(log k) for every edit and for the copy a
//! snapshot forces, so that a source with 100,000 children is built, edited under snapshots
//! and emptied in O(k log k), not O(k²).

use imbl::OrdSet;
use triomphe::{Arc, HeaderSlice};

use crate::id::{Member, Seq};

/// Largest child count kept in the sorted-vector form.
pub(crate) const SMALL_MAX: usize = 64;

/// Child count from which a bucket is a B-tree ([`Bucket::Huge`]); it turns back into chunks
/// at half of it.
pub(crate) const HUGE_AT: usize = 2048;

#[derive(Clone, Default)]
pub(crate) enum Bucket {
    #[default]
    Empty,
    /// The first `len` entries of `ids` are the children; the rest is spare capacity.
    Small {
        len: u32,
        ids: Arc<[Member]>,
    },
    Large(Arc<Chunks>),
    /// [`HUGE_AT`] children or more (behind an `Arc` so that a bucket stays three words).
    Huge(Arc<OrdSet<Member>>),
}

/// The children of a large bucket: their number, and the chunks (each non-empty, in order)
/// with room for more, in one allocation with the reference count. The chunks are stored
/// inline, so a lookup reaches a chunk in one step, and the copy a snapshot forces is one
/// allocation and one `memcpy`: no reference count per chunk to raise on the copy and lower
/// when the snapshot goes (those counts sat in as many cache lines, touched by locked
/// instructions that cannot overlap). A split or a merge shifts the chunks after it in place;
/// only a directory out of room is reallocated (with half as much room again), so a bucket
/// grown by appends pays O(1) per split.
pub(crate) type Chunks = HeaderSlice<Head, [Chunk]>;

/// The counts of a large bucket: children, and chunks in use (the rest of the slice is room).
#[derive(Clone, Copy)]
pub(crate) struct Head {
    children: usize,
    used: usize,
}

/// Largest number of children in one chunk of a large bucket.
pub(crate) const CHUNK: usize = 16;

/// One chunk: its children are the first `len` entries of `ids`, sorted; `last` is the last of
/// them, kept here for the directory's binary search.
#[derive(Clone, Copy)]
pub(crate) struct Chunk {
    last: Member,
    len: u32,
    ids: [Member; CHUNK],
}

/// Fills the room of a directory; never read.
const NO_CHUNK: Chunk = Chunk {
    last: FILLER,
    len: 0,
    ids: [FILLER; CHUNK],
};

impl Chunk {
    /// A chunk of the sorted `ids` (at most [`CHUNK`]).
    fn new(ids: &[Member]) -> Chunk {
        let mut chunk = NO_CHUNK;
        chunk.last = ids.last().copied().unwrap_or(FILLER);
        chunk.len = ids.len().min(CHUNK) as u32;
        for (slot, &id) in chunk.ids.iter_mut().zip(ids) {
            *slot = id;
        }
        chunk
    }

    #[inline]
    fn slice(&self) -> &[Member] {
        &self.ids[..self.len as usize]
    }

    /// Puts `id` at `pos` (at most `len`), which must leave the chunk sorted; the chunk must
    /// have room.
    #[inline]
    fn insert_at(&mut self, pos: usize, id: Member) {
        let n = self.len as usize;
        shift_right(&mut self.ids[pos..=n]);
        self.ids[pos] = id;
        self.len += 1;
        if pos == n {
            self.last = id;
        }
    }
}

/// The chunks in use.
#[inline]
fn dir(all: &Chunks) -> &[Chunk] {
    all.slice.get(..all.header.used).unwrap_or(&[])
}

/// The chunk of `dir` that holds `id`, or would: the first whose last child is not before it
/// (the last chunk for an id past every child).
#[inline]
fn find(dir: &[Chunk], id: Member) -> usize {
    let seq = id.seq.get();
    let at = dir.partition_point(|c| c.last.seq.get() < seq);
    at.min(dir.len().saturating_sub(1))
}

/// A large bucket of `children` in the chunks `dir`, with room for half as many more.
fn chunks(children: usize, dir: &[Chunk]) -> Arc<Chunks> {
    let mut room = Vec::with_capacity(dir.len() + dir.len() / 2 + 1);
    room.extend_from_slice(dir);
    room.resize(room.capacity(), NO_CHUNK);
    let head = Head {
        children,
        used: dir.len(),
    };
    Arc::from_header_and_slice(head, &room)
}

/// `chunks`, writable: copied first if a snapshot shares it (one `memcpy`), with whatever
/// room it had up to a split or two: every edit of a bucket between snapshots copies it, so
/// the copy stays near its size.
#[inline]
fn chunks_mut(all: &mut Arc<Chunks>) -> Option<&mut Chunks> {
    if Arc::get_mut(all).is_none() {
        let keep = (all.header.used + all.header.used / 16 + 2).min(all.slice.len());
        *all = Arc::from_header_and_slice(all.header, all.slice.get(..keep).unwrap_or(&[]));
    }
    Arc::get_mut(all)
}

/// Replaces chunk `at` of `all` with the two chunks `halves`, for one more child: in place if
/// the directory has room (shifting the chunks after `at`), else in a larger copy.
fn split_at(all: &mut Arc<Chunks>, at: usize, halves: [Chunk; 2]) {
    let Head { children, used } = all.header;
    if used < all.slice.len()
        && let Some(writable) = chunks_mut(all)
    {
        let slice = &mut writable.slice;
        slice.copy_within(at + 1..used, at + 2);
        slice[at] = halves[0];
        slice[at + 1] = halves[1];
        writable.header = Head {
            children: children + 1,
            used: used + 1,
        };
        return;
    }
    let old = dir(all);
    let mut grown = Vec::with_capacity(used + 1);
    grown.extend_from_slice(&old[..at]);
    grown.extend(halves);
    grown.extend_from_slice(&old[at + 1..]);
    *all = chunks(children + 1, &grown);
}

/// Replaces chunks `at` and `at + 1` (or only `at`, if `with` is `None`) with `with`, for one
/// child fewer, shifting the chunks after them in place.
fn close_at(all: &mut Arc<Chunks>, at: usize, with: Option<Chunk>) {
    let Head { children, used } = all.header;
    let Some(writable) = chunks_mut(all) else {
        return;
    };
    let slice = &mut writable.slice;
    match with {
        Some(chunk) => {
            slice[at] = chunk;
            slice.copy_within(at + 2..used, at + 1);
        }
        None => slice.copy_within(at + 1..used, at),
    }
    writable.header = Head {
        children: children - 1,
        used: used - 1,
    };
}

/// Adds `id` to a large bucket; false if it was there.
fn insert_large(all: &mut Arc<Chunks>, id: Member) -> bool {
    let at = find(dir(all), id);
    let Some(chunk) = dir(all).get(at) else {
        *all = chunks(1, &[Chunk::new(&[id])]);
        return true;
    };
    let n = chunk.len as usize;
    let pos = match position(chunk.slice(), id) {
        Ok(_) => return false,
        Err(pos) => pos,
    };
    if n == CHUNK {
        // Split in two halves, the new child in the one it belongs to.
        let (left, right) = chunk.slice().split_at(CHUNK / 2);
        let mut halves = [Chunk::new(left), Chunk::new(right)];
        match pos.checked_sub(CHUNK / 2) {
            Some(right) if right > 0 => halves[1].insert_at(right, id),
            _ => halves[0].insert_at(pos, id),
        }
        split_at(all, at, halves);
        return true;
    }
    let Some(all) = chunks_mut(all) else {
        return false;
    };
    all.header.children += 1;
    all.slice[at].insert_at(pos, id);
    true
}

/// Removes `id` from a large bucket; false if it was not there.
fn remove_large(all: &mut Arc<Chunks>, id: Member) -> bool {
    let at = find(dir(all), id);
    let Some(chunk) = dir(all).get(at) else {
        return false;
    };
    let n = chunk.len as usize;
    let Ok(pos) = position(chunk.slice(), id) else {
        return false;
    };
    if n == 1 {
        // The chunk empties: it goes.
        close_at(all, at, None);
        return true;
    }
    // A chunk that falls under a quarter merges into a neighbour with room, so chunks stay
    // dense.
    let neighbour = if at + 1 < all.header.used {
        at + 1
    } else {
        at.wrapping_sub(1)
    };
    if n - 1 < CHUNK / 4
        && let Some(other) = dir(all).get(neighbour)
        && other.len as usize + n - 1 <= CHUNK / 2
    {
        let mut joined = Vec::with_capacity(CHUNK);
        let rest = chunk.slice().iter().enumerate().filter(|&(i, _)| i != pos);
        if neighbour < at {
            joined.extend_from_slice(other.slice());
            joined.extend(rest.map(|(_, &id)| id));
        } else {
            joined.extend(rest.map(|(_, &id)| id));
            joined.extend_from_slice(other.slice());
        }
        close_at(all, at.min(neighbour), Some(Chunk::new(&joined)));
        return true;
    }
    let Some(all) = chunks_mut(all) else {
        return false;
    };
    all.header.children -= 1;
    let chunk = &mut all.slice[at];
    shift_left(&mut chunk.ids[pos..n]);
    chunk.len -= 1;
    chunk.last = chunk.ids[n - 2];
    true
}

/// Fills spare capacity; never read.
const FILLER: Member = Member {
    seq: Seq::MAX,
    slot: 0,
};

/// The `len` ids of `ids` followed by filler up to the bucket's capacity, in one allocation: the
/// iterators below have a trusted length, so `collect` builds the `Arc` in place, where
/// `Vec::into` would allocate, copy and free.
fn with_room(len: usize, ids: impl Iterator<Item = Member>) -> Arc<[Member]> {
    let capacity = capacity_for(len);
    ids.chain(std::iter::repeat_n(FILLER, capacity - len))
        .collect()
}

/// Room for `len` children: a multiple of 4 up to 16 (a bucket of 10 keeps 2 spare slots, not
/// 6: the common small fan-out pays ≈5 bytes per child less than with a power of two), a power
/// of two above, so that a growing bucket reallocates at most 4 times below 16 children and
/// O(log k) times past that.
fn capacity_for(len: usize) -> usize {
    if len <= 16 {
        len.div_ceil(4).max(1) * 4
    } else {
        len.next_power_of_two()
    }
}

/// `ids` (sorted) with `id` inserted at `pos`, in a new allocation with room to grow.
fn grown(ids: &[Member], pos: usize, id: Member) -> Arc<[Member]> {
    let (before, after) = ids.split_at(pos);
    let ids = before.iter().chain(std::iter::once(&id)).chain(after);
    with_room(before.len() + 1 + after.len(), ids.copied())
}

/// Where `id` is in the sorted `ids` (`Ok`) or would go (`Err`). Compares creation numbers
/// only: they are unique within a table, so they order and identify its rows. A branch-free
/// count for short runs, a branch-free binary search (`partition_point`) for longer ones, which
/// reads fewer cache lines of a large chunk.
#[inline]
fn position(ids: &[Member], id: Member) -> Result<usize, usize> {
    let seq = id.seq.get();
    let pos = if ids.len() <= 16 {
        ids.iter().filter(|x| x.seq.get() < seq).count()
    } else {
        ids.partition_point(|x| x.seq.get() < seq)
    };
    match ids.get(pos) {
        Some(x) if *x == id => Ok(pos),
        _ => Err(pos),
    }
}

/// Moves every entry one place right, dropping the last: the room for an insert at 0.
/// A plain loop: buckets are short, and a `memmove` call costs more than the copy.
#[inline]
fn shift_right(ids: &mut [Member]) {
    for i in (1..ids.len()).rev() {
        ids[i] = ids[i - 1];
    }
}

/// Moves every entry one place left, dropping the first: closes the gap of a removal at 0.
#[inline]
fn shift_left(ids: &mut [Member]) {
    for i in 1..ids.len() {
        ids[i - 1] = ids[i];
    }
}

impl Bucket {
    fn small(ids: &[Member]) -> Bucket {
        Bucket::Small {
            len: ids.len() as u32,
            ids: with_room(ids.len(), ids.iter().copied()),
        }
    }

    /// The children of a small bucket. O(1).
    #[inline]
    fn slice(&self) -> &[Member] {
        match self {
            Bucket::Small { len, ids } => &ids[..*len as usize],
            _ => &[],
        }
    }

    /// A large bucket of the sorted `ids`, in half-full chunks (room to grow on both sides).
    fn large(ids: &[Member]) -> Arc<Chunks> {
        let dir: Vec<Chunk> = ids.chunks(CHUNK / 2).map(Chunk::new).collect();
        chunks(ids.len(), &dir)
    }

    /// Number of children. O(1).
    #[inline]
    pub(crate) fn len(&self) -> usize {
        match self {
            Bucket::Empty => 0,
            Bucket::Small { len, .. } => *len as usize,
            Bucket::Large(s) => s.header.children,
            Bucket::Huge(set) => set.len(),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// O(log k).
    #[cfg(test)]
    pub(crate) fn contains(&self, id: Member) -> bool {
        match self {
            Bucket::Empty => false,
            Bucket::Small { .. } => self.slice().binary_search(&id).is_ok(),
            Bucket::Large(s) => {
                let at = find(dir(s), id);
                dir(s)
                    .get(at)
                    .is_some_and(|c| position(c.slice(), id).is_ok())
            }
            Bucket::Huge(set) => set.contains(&id),
        }
    }

    /// Adds `id`; returns false if it was already there. O(log k) (O(k) memmove below `SMALL_MAX`).
    pub(crate) fn insert(&mut self, id: Member) -> bool {
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
                    let mut large = Bucket::large(&ids[..n]);
                    insert_large(&mut large, id);
                    *self = Bucket::Large(large);
                } else if let Some(buf) = Arc::get_mut(ids).filter(|buf| n < buf.len()) {
                    shift_right(&mut buf[pos..=n]);
                    buf[pos] = id;
                    *len += 1;
                } else {
                    *ids = grown(&ids[..n], pos, id);
                    *len += 1;
                }
                true
            }
            Bucket::Large(s) => {
                let added = insert_large(s, id);
                if s.header.children >= HUGE_AT {
                    *self = Bucket::Huge(Arc::new(self.iter().collect()));
                }
                added
            }
            Bucket::Huge(set) => Arc::make_mut(set).insert(id).is_none(),
        }
    }

    /// Removes `id`; returns false if it was not there. O(log k) (O(k) memmove below `SMALL_MAX`).
    pub(crate) fn remove(&mut self, id: Member) -> bool {
        match self {
            Bucket::Empty => false,
            Bucket::Small { len, ids } => {
                let n = *len as usize;
                let Ok(pos) = position(&ids[..n], id) else {
                    return false;
                };
                if n == 1 {
                    *self = Bucket::Empty;
                } else if let Some(buf) = Arc::get_mut(ids) {
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
                let removed = remove_large(s, id);
                // Shrink with hysteresis so a bucket hovering at the threshold does not flip.
                if s.header.children <= SMALL_MAX / 2 {
                    let ids: Vec<Member> = dir(s).iter().flat_map(Chunk::slice).copied().collect();
                    *self = Bucket::small(&ids);
                }
                removed
            }
            Bucket::Huge(set) => {
                let removed = Arc::make_mut(set).remove(&id).is_some();
                if set.len() <= HUGE_AT / 2 {
                    let ids: Vec<Member> = set.iter().copied().collect();
                    *self = Bucket::Large(Bucket::large(&ids));
                }
                removed
            }
        }
    }

    /// Children in creation order.
    pub(crate) fn iter(&self) -> BucketIter<'_> {
        match self {
            Bucket::Empty | Bucket::Small { .. } => BucketIter::Small(self.slice().iter()),
            Bucket::Large(s) => BucketIter::Large {
                chunks: dir(s).iter(),
                chunk: [].iter(),
                left: s.header.children,
            },
            Bucket::Huge(set) => BucketIter::Huge(set.iter()),
        }
    }
}

/// Iterator over a bucket's children, in creation order.
pub(crate) enum BucketIter<'a> {
    Small(std::slice::Iter<'a, Member>),
    Large {
        chunks: std::slice::Iter<'a, Chunk>,
        chunk: std::slice::Iter<'a, Member>,
        left: usize,
    },
    Huge(imbl::ordset::Iter<'a, Member, imbl::shared_ptr::DefaultSharedPtr>),
}

impl Iterator for BucketIter<'_> {
    type Item = Member;

    #[inline]
    fn next(&mut self) -> Option<Member> {
        match self {
            BucketIter::Small(it) => it.next().copied(),
            BucketIter::Large {
                chunks,
                chunk,
                left,
            } => loop {
                if let Some(&id) = chunk.next() {
                    *left -= 1;
                    return Some(id);
                }
                *chunk = chunks.next()?.slice().iter();
            },
            BucketIter::Huge(it) => it.next().copied(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = match self {
            BucketIter::Small(it) => it.len(),
            BucketIter::Large { left, .. } => *left,
            BucketIter::Huge(it) => it.len(),
        };
        (n, Some(n))
    }
}

impl ExactSizeIterator for BucketIter<'_> {}

#[cfg(test)]
mod tests;
