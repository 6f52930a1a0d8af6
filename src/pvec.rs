//! A persistent vector: a fixed-shape radix trie of [`CowArc`] nodes, 32 entries per node.
//!
//! relata's slot arrays (rows, slot-addressed indexes) only grow at the end and are read and
//! written by index, so they need neither `imbl::Vector`'s concatenation and splitting nor its
//! size tables and focus buffers. This trie does just `get`, `get_mut`, `push` and iteration:
//!
//! - `clone` is O(1) (one reference-count increment): clones share every node;
//! - `get` walks ⌈log₃₂ n⌉ levels by shifting and masking the index: 4 levels for a million
//!   entries, the top ones always in cache;
//! - `get_mut` and `push` copy the nodes on their path that are shared with a clone
//!   ([`CowArc::make_mut`]) and write in place otherwise.
//!
//! `imbl::Vector` measured 7–30 ns per `get` and 19–60 ns per `get_mut` from 1,000 to 1,000,000
//! entries on the development machine; see `BENCHMARKS.md` for what this structure gives.

use crate::cow_arc::CowArc;

const BITS: u32 = 5;
const WIDTH: usize = 1 << BITS;
const MASK: usize = WIDTH - 1;

/// The entries of one leaf; entry `i` of the vector is `leaf[i & 31]` of leaf `i >> 5`.
pub(crate) type Leaf<T> = [Option<T>; WIDTH];

/// Which leaf an index falls in.
#[inline]
pub(crate) fn leaf_number(index: usize) -> usize {
    index >> BITS
}

/// Where an index falls within its leaf.
#[inline]
pub(crate) fn leaf_offset(index: usize) -> usize {
    index & MASK
}

#[derive(Clone)]
enum Node<T> {
    Leaf(CowArc<Leaf<T>>),
    Branch(CowArc<[Option<Node<T>>; WIDTH]>),
}

fn empty<X>() -> [Option<X>; WIDTH] {
    std::array::from_fn(|_| None)
}

/// A persistent, growable array. See the module docs.
#[derive(Clone)]
pub(crate) struct PVec<T> {
    root: Node<T>,
    /// Levels of branches above the leaves: the root covers `WIDTH << (BITS * height)` entries.
    height: u32,
    len: usize,
}

impl<T: Clone> Default for PVec<T> {
    fn default() -> Self {
        PVec {
            root: Node::Leaf(CowArc::new(empty())),
            height: 0,
            len: 0,
        }
    }
}

impl<T: Clone> PVec<T> {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Number of entries. O(1).
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    fn capacity(&self) -> usize {
        WIDTH << (BITS * self.height)
    }

    /// The entry at `index`, if `index < len`. O(log₃₂ n). Written out rather than through
    /// [`leaf`](Self::leaf): it is the hottest read, and the walk measured faster this way.
    #[inline]
    pub(crate) fn get(&self, index: usize) -> Option<&T> {
        if index >= self.len {
            return None;
        }
        let mut node = &self.root;
        let mut shift = BITS * self.height;
        loop {
            match node {
                Node::Branch(children) => {
                    node = children[(index >> shift) & MASK].as_ref()?;
                    shift -= BITS;
                }
                Node::Leaf(items) => return items[index & MASK].as_ref(),
            }
        }
    }

    /// The leaf holding `index` (entries `index & !31 ..= index | 31`), for callers that read
    /// neighbouring entries: one walk, then direct indexing. O(log₃₂ n).
    #[inline]
    pub(crate) fn leaf(&self, index: usize) -> Option<&Leaf<T>> {
        if index >= self.len {
            return None;
        }
        let mut node = &self.root;
        let mut shift = BITS * self.height;
        loop {
            match node {
                Node::Branch(children) => {
                    node = children[(index >> shift) & MASK].as_ref()?;
                    shift -= BITS;
                }
                Node::Leaf(items) => return Some(items),
            }
        }
    }

    /// Mutable access to the entry at `index`, copying shared nodes on the way. O(log₃₂ n).
    #[inline]
    pub(crate) fn get_mut(&mut self, index: usize) -> Option<&mut T> {
        if index >= self.len {
            return None;
        }
        let mut node = &mut self.root;
        let mut shift = BITS * self.height;
        loop {
            match node {
                Node::Branch(children) => {
                    node = children.make_mut()[(index >> shift) & MASK].as_mut()?;
                    shift -= BITS;
                }
                Node::Leaf(items) => return items.make_mut()[index & MASK].as_mut(),
            }
        }
    }

    /// Appends `value` and returns it in place. O(log₃₂ n).
    pub(crate) fn push(&mut self, value: T) -> &mut T {
        if self.len == self.capacity() {
            let old = std::mem::replace(&mut self.root, Node::Leaf(CowArc::new(empty())));
            let mut children = empty();
            children[0] = Some(old);
            self.root = Node::Branch(CowArc::new(children));
            self.height += 1;
        }
        let index = self.len;
        self.len += 1;
        let mut node = &mut self.root;
        let mut shift = BITS * self.height;
        loop {
            match node {
                Node::Branch(children) => {
                    let slot = &mut children.make_mut()[(index >> shift) & MASK];
                    shift -= BITS;
                    node = slot.get_or_insert_with(|| {
                        if shift == 0 {
                            Node::Leaf(CowArc::new(empty()))
                        } else {
                            Node::Branch(CowArc::new(empty()))
                        }
                    });
                }
                Node::Leaf(items) => return items.make_mut()[index & MASK].insert(value),
            }
        }
    }

    /// Entries in index order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        (0..self.len).filter_map(|i| self.get(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Past two trie heights (32, 1,024) natively; smaller under Miri, which is ~1000× slower.
    const BIG: usize = if cfg!(miri) { 1_100 } else { 40_000 };
    const MID: usize = if cfg!(miri) { 300 } else { 5_000 };

    #[test]
    fn behaves_like_a_vec_across_heights() {
        let mut v = PVec::new();
        let mut model = Vec::new();
        for i in 0..BIG as u32 {
            v.push(i);
            model.push(i);
        }
        assert_eq!(v.len(), model.len());
        for i in (0..BIG).step_by(7) {
            *v.get_mut(i).unwrap() *= 3;
            model[i] *= 3;
        }
        assert!(v.iter().eq(model.iter()));
        assert_eq!(v.get(BIG), None);
        assert_eq!(v.get_mut(7).map(|x| std::mem::replace(x, 99)), Some(21));
        assert_eq!(v.get(7), Some(&99));
        for i in (0..BIG).step_by(997) {
            let leaf = v.leaf(i).unwrap();
            assert_eq!(leaf[leaf_offset(i)].as_ref(), v.get(i));
        }
        assert!(v.leaf(BIG).is_none());
    }

    #[test]
    fn clones_are_independent_snapshots() {
        let mut a = PVec::new();
        for i in 0..MID as i32 {
            a.push(i);
        }
        let b = a.clone();
        for i in 0..MID {
            *a.get_mut(i).unwrap() += 1;
        }
        a.push(-1);
        assert!(b.iter().copied().eq(0..MID as i32));
        assert!(a.iter().take(MID).copied().eq(1..MID as i32 + 1));
        assert_eq!((a.len(), b.len()), (MID + 1, MID));
    }

    #[test]
    fn growing_a_clone_past_a_height_boundary_leaves_the_original_alone() {
        let mut a = PVec::new();
        for i in 0..WIDTH {
            a.push(i);
        }
        let b = a.clone();
        a.push(WIDTH);
        assert_eq!(b.len(), WIDTH);
        assert_eq!(b.get(WIDTH), None);
        assert_eq!(a.get(WIDTH), Some(&WIDTH));
    }
}
