//! A persistent vector: a fixed-shape radix trie of `triomphe::Arc` nodes.
//!
//! relata's slot arrays (rows, slot-addressed indexes) only grow at the end and are read and
//! written by index, so they need neither `imbl::Vector`'s concatenation and splitting nor its
//! size tables and focus buffers. This trie does `get`, `get_mut`, `push` and leaf-by-leaf
//! iteration:
//!
//! - `clone` is O(1) (one reference-count increment): clones share every node;
//! - `get` walks ⌈log₃₂ n⌉ levels by shifting and masking the index: 4 levels for a million
//!   entries, the top ones always in cache;
//! - `get_mut` and `push` copy the nodes on their path that a clone shares
//!   (`triomphe::Arc::make_mut`: one load of the count decides) and write in place otherwise.
//!
//! Leaves are full arrays: entries past `len` hold `T::default()`, so a leaf needs no per-entry
//! tag. `imbl::Vector` measured 7–30 ns per `get` and 19–60 ns per `get_mut` from 1,000 to
//! 1,000,000 entries on the development machine; see `BENCHMARKS.md` for this structure.

use triomphe::Arc;

mod leaf;

#[cfg(test)]
use leaf::UNKNOWN;
pub(crate) use leaf::{EntryMut, EntryWritten, LeafNode, Stamp};

const LEAF_BITS: u32 = 5;
const LEAF: usize = 1 << LEAF_BITS;
const LEAF_MASK: usize = LEAF - 1;
const BRANCH_BITS: u32 = 5;
const BRANCH: usize = 1 << BRANCH_BITS;
const BRANCH_MASK: usize = BRANCH - 1;

/// The entries of one leaf; entry `i` of the vector is `leaf[i % LEAF]` of leaf `i / LEAF`.
pub(crate) type Leaf<T> = [T; LEAF];

/// Which leaf an index falls in.
#[inline]
pub(crate) fn leaf_number(index: usize) -> usize {
    index >> LEAF_BITS
}

/// Where an index falls within its leaf.
#[inline]
pub(crate) fn leaf_offset(index: usize) -> usize {
    index & LEAF_MASK
}

/// Entries per leaf.
pub(crate) const LEAF_LEN: usize = LEAF;

#[derive(Clone)]
enum Node<T> {
    Leaf(Arc<LeafNode<T>>),
    Branch(Arc<[Option<Node<T>>; BRANCH]>),
}

/// A persistent, growable array. See the module docs.
#[derive(Clone)]
pub(crate) struct PVec<T> {
    root: Node<T>,
    /// Levels of branches above the leaves: the root covers `LEAF << (BRANCH_BITS * height)`
    /// entries.
    height: u32,
    len: usize,
}

fn new_leaf<T: Default>() -> Node<T> {
    Node::Leaf(Arc::new(LeafNode::new(std::array::from_fn(|_| {
        T::default()
    }))))
}

fn new_branch<T>() -> Node<T> {
    Node::Branch(Arc::new(std::array::from_fn(|_| None)))
}

impl<T: Clone + Default> Default for PVec<T> {
    fn default() -> Self {
        PVec {
            root: new_leaf(),
            height: 0,
            len: 0,
        }
    }
}

impl<T: Clone + Default> PVec<T> {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Number of entries. O(1).
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    fn capacity(&self) -> usize {
        LEAF << (BRANCH_BITS * self.height)
    }

    /// The entry at `index`, if `index < len`. O(log₃₂ n).
    #[inline]
    pub(crate) fn get(&self, index: usize) -> Option<&T> {
        self.leaf(index).map(|leaf| &leaf[index & LEAF_MASK])
    }

    /// The leaf holding `index`, for callers that read neighbouring entries: one walk, then
    /// direct indexing. O(log₃₂ n).
    #[inline]
    pub(crate) fn leaf(&self, index: usize) -> Option<&Leaf<T>> {
        self.leaf_arc(index).map(|items| &items.entries)
    }

    /// The pointer to the leaf holding `index`. O(log₃₂ n).
    #[inline]
    fn leaf_arc(&self, index: usize) -> Option<&Arc<LeafNode<T>>> {
        if index >= self.len {
            return None;
        }
        let mut node = &self.root;
        let mut shift = LEAF_BITS + BRANCH_BITS * self.height;
        loop {
            match node {
                Node::Branch(children) => {
                    shift -= BRANCH_BITS;
                    node = children[(index >> shift) & BRANCH_MASK].as_ref()?;
                }
                Node::Leaf(items) => return Some(items),
            }
        }
    }

    /// Mutable access to the entry at `index`, copying shared nodes on the way. O(log₃₂ n).
    #[inline]
    pub(crate) fn get_mut(&mut self, index: usize) -> Option<&mut T> {
        self.get_mut_stamped(index).map(|(entry, _)| entry)
    }

    /// [`get_mut`](Self::get_mut), with the stamp the entry bore: what undoing the write puts
    /// back with [`restamp`](Self::restamp). O(log₃₂ n).
    #[inline]
    pub(crate) fn get_mut_stamped(&mut self, index: usize) -> Option<(&mut T, Stamp)> {
        let (entry, written) = self.entry_mut(index)?.split();
        Some((entry, written.mark()))
    }

    /// Gives the entry at `index` back the stamp a write just undone took from it (see
    /// [`Stamp`]): call it right after writing the old value back. Copies nothing: if a clone
    /// shares the leaf, the entry stays marked written. O(log₃₂ n).
    pub(crate) fn restamp(&mut self, index: usize, stamp: Stamp) {
        if stamp == Stamp::NONE || index >= self.len {
            return;
        }
        let mut node = &mut self.root;
        let mut shift = LEAF_BITS + BRANCH_BITS * self.height;
        loop {
            match node {
                Node::Branch(children) => {
                    shift -= BRANCH_BITS;
                    let Some(child) = Arc::get_mut(children)
                        .and_then(|children| children[(index >> shift) & BRANCH_MASK].as_mut())
                    else {
                        return;
                    };
                    node = child;
                }
                Node::Leaf(items) => {
                    if let Some(leaf) = Arc::get_mut(items) {
                        leaf.restamp(index & LEAF_MASK, stamp);
                    }
                    return;
                }
            }
        }
    }

    /// The entries of the leaf holding `index`, open for writing (copying shared nodes on the
    /// way: copying a leaf clones its entries, so for rows user code runs here, before anything
    /// changes), each marked written only when the [`EntryWritten`] half of its
    /// [`EntryMut::split`] is marked: a set-based write marks each row as it logs and changes
    /// it, so a panic half-way leaves the rows after it unmarked. Writing an entry without
    /// marking it makes [`diff`](Self::diff) miss it. O(log₃₂ n).
    #[inline]
    pub(crate) fn leaf_open(
        &mut self,
        index: usize,
    ) -> Option<impl Iterator<Item = EntryMut<'_, T>>> {
        let leaf = self.node_mut(index)?;
        let epoch = leaf.open_epoch();
        let (ages, entries) = (&mut leaf.ages, &mut leaf.entries);
        Some(
            ages.iter_mut()
                .zip(entries)
                .map(move |(age, entry)| EntryMut { age, epoch, entry }),
        )
    }

    /// Mutable access to the entry at `index`, copying shared nodes on the way, but not marked
    /// written until the [`EntryWritten`] half of [`EntryMut::split`] is marked: for a write
    /// decided after reading the entry (a relink that finds the key already there writes
    /// nothing, and `diff` must not see it).
    #[inline]
    pub(crate) fn entry_mut(&mut self, index: usize) -> Option<EntryMut<'_, T>> {
        let leaf = self.node_mut(index)?;
        let epoch = leaf.open_epoch();
        let offset = index & LEAF_MASK;
        Some(EntryMut {
            age: &mut leaf.ages[offset],
            epoch,
            entry: &mut leaf.entries[offset],
        })
    }

    /// The leaf node holding `index`, writable: the path copied where a clone shares it.
    #[inline]
    fn node_mut(&mut self, index: usize) -> Option<&mut LeafNode<T>> {
        self.leaf_slot(index).map(Arc::make_mut)
    }

    /// The pointer to the leaf holding `index`, with the branches above it copied where a
    /// clone shares them (the leaf itself is not copied).
    #[inline]
    fn leaf_slot(&mut self, index: usize) -> Option<&mut Arc<LeafNode<T>>> {
        if index >= self.len {
            return None;
        }
        let mut node = &mut self.root;
        let mut shift = LEAF_BITS + BRANCH_BITS * self.height;
        loop {
            match node {
                Node::Branch(children) => {
                    shift -= BRANCH_BITS;
                    node = Arc::make_mut(children)[(index >> shift) & BRANCH_MASK].as_mut()?;
                }
                Node::Leaf(items) => return Some(items),
            }
        }
    }

    /// The leaf holding `index`, shared (one reference-count increment): kept, it keeps the
    /// leaf's entries as they are now whatever is written later. O(log₃₂ n).
    pub(crate) fn leaf_ref(&self, index: usize) -> Option<Arc<LeafNode<T>>> {
        self.leaf_arc(index).cloned()
    }

    /// Whether writing the leaf holding `index` would copy it: a clone shares it or a node
    /// above it. O(log₃₂ n).
    pub(crate) fn leaf_shared(&self, index: usize) -> bool {
        let mut node = &self.root;
        let mut shift = LEAF_BITS + BRANCH_BITS * self.height;
        loop {
            match node {
                Node::Branch(children) => {
                    if !children.is_unique() {
                        return true;
                    }
                    shift -= BRANCH_BITS;
                    match children[(index >> shift) & BRANCH_MASK].as_ref() {
                        Some(child) => node = child,
                        None => return false,
                    }
                }
                Node::Leaf(items) => return !items.is_unique(),
            }
        }
    }

    /// Puts `leaf` back as the leaf holding `index` (one taken by [`leaf_ref`](Self::leaf_ref)
    /// before writes to it). Copies shared branches on the way (reference-count increments
    /// only: no entry is cloned). O(log₃₂ n).
    pub(crate) fn set_leaf(&mut self, index: usize, leaf: Arc<LeafNode<T>>) {
        if let Some(slot) = self.leaf_slot(index) {
            *slot = leaf;
        }
    }

    /// Appends `value` and returns it in place. O(log₃₂ n).
    pub(crate) fn push(&mut self, value: T) -> &mut T {
        if self.len == self.capacity() {
            let old = std::mem::replace(&mut self.root, new_branch());
            if let Node::Branch(children) = &mut self.root {
                Arc::make_mut(children)[0] = Some(old);
            }
            self.height += 1;
        }
        let index = self.len;
        let mut node = &mut self.root;
        let mut shift = LEAF_BITS + BRANCH_BITS * self.height;
        let leaf = loop {
            match node {
                Node::Branch(children) => {
                    shift -= BRANCH_BITS;
                    let slot = &mut Arc::make_mut(children)[(index >> shift) & BRANCH_MASK];
                    node = slot.get_or_insert_with(|| {
                        if shift == LEAF_BITS {
                            new_leaf()
                        } else {
                            new_branch()
                        }
                    });
                }
                Node::Leaf(items) => {
                    let leaf = Arc::make_mut(items);
                    leaf.mark(1 << (index & LEAF_MASK));
                    break &mut leaf.entries;
                }
            }
        };
        // Only now that every copy is made: a panic in a row's `Clone` leaves `len` as it was.
        self.len += 1;
        let entry = &mut leaf[index & LEAF_MASK];
        *entry = value;
        entry
    }

    /// The leaves in index order, each cut to the entries below `len`. One walk per leaf.
    pub(crate) fn leaves(&self) -> Leaves<'_, T> {
        Leaves {
            vec: self,
            next: 0,
            parent: None,
        }
    }
}

/// One side of a [`PVec::diff`] walk: a node, and its height (0 for a leaf). A node lower than
/// the walk's current level stands at child 0 of the missing levels above it (a shorter vector
/// is the first part of a taller one).
type Side<'a, T> = Option<(&'a Node<T>, u32)>;

impl<T: Clone + Default> PVec<T> {
    /// Calls `f(index, mine, theirs)` for every index below the longer length whose entries
    /// may differ between `self` and `other` (`None` past a vector's end), in index order.
    /// Subtrees the two share — the same node, by pointer — are skipped: after a fork and k
    /// writes this is O(k log n), not O(n). In a leaf one of the two copied from the other, and
    /// whose original was not written since, only the entries the copy wrote are passed (see
    /// [`LeafNode`]); otherwise every entry of a visited leaf, even if equal: the caller
    /// compares them.
    pub(crate) fn diff<'a>(
        &'a self,
        other: &'a Self,
        f: &mut dyn FnMut(usize, Option<&'a T>, Option<&'a T>),
    ) {
        let level = self.height.max(other.height);
        let mine = Some((&self.root, self.height));
        let theirs = Some((&other.root, other.height));
        Self::diff_nodes(mine, theirs, level, 0, (self.len, other.len), f);
    }

    fn diff_nodes<'a>(
        mine: Side<'a, T>,
        theirs: Side<'a, T>,
        level: u32,
        base: usize,
        lens: (usize, usize),
        f: &mut dyn FnMut(usize, Option<&'a T>, Option<&'a T>),
    ) {
        if base >= lens.0.max(lens.1) {
            return;
        }
        if let (Some((a, ha)), Some((b, hb))) = (mine, theirs)
            && ha == level
            && hb == level
            && same(a, b)
        {
            return;
        }
        if level == 0 {
            let (a, b) = (leaf_of(mine), leaf_of(theirs));
            // Entries both vectors hold are skipped where one leaf is an unwritten clone of the
            // other's (see `LeafNode`).
            let differ = match (a, b) {
                (Some(a), Some(b)) => a.may_differ(b),
                _ => u32::MAX,
            };
            for offset in 0..LEAF {
                let index = base + offset;
                let both = index < lens.0 && index < lens.1;
                if (index < lens.0 || index < lens.1) && (!both || differ & (1 << offset) != 0) {
                    let mine = a.filter(|_| index < lens.0).map(|l| &l.entries[offset]);
                    let theirs = b.filter(|_| index < lens.1).map(|l| &l.entries[offset]);
                    f(index, mine, theirs);
                }
            }
            return;
        }
        let span = LEAF << (BRANCH_BITS * (level - 1));
        for i in 0..BRANCH {
            let (a, b) = (child_of(mine, level, i), child_of(theirs, level, i));
            Self::diff_nodes(a, b, level - 1, base + i * span, lens, f);
        }
    }
}

/// The entries of `side` if it is a leaf.
fn leaf_of<'a, T>(side: Side<'a, T>) -> Option<&'a LeafNode<T>> {
    match side {
        Some((Node::Leaf(items), 0)) => Some(&**items),
        _ => None,
    }
}

/// Child `i` of `side` at `level`: of a real branch, or of the missing levels above a lower node.
fn child_of<'a, T>(side: Side<'a, T>, level: u32, i: usize) -> Side<'a, T> {
    match side {
        Some((node, h)) if h < level => (i == 0).then_some((node, h)),
        Some((Node::Branch(children), h)) => children[i].as_ref().map(|c| (c, h - 1)),
        _ => None,
    }
}

/// Whether two nodes are the same node (shared by a fork).
fn same<T>(a: &Node<T>, b: &Node<T>) -> bool {
    match (a, b) {
        (Node::Leaf(a), Node::Leaf(b)) => Arc::ptr_eq(a, b),
        (Node::Branch(a), Node::Branch(b)) => Arc::ptr_eq(a, b),
        _ => false,
    }
}

/// The children of a branch just above the leaves.
type Leaves32<T> = [Option<Node<T>>; BRANCH];

/// The leaves of a [`PVec`], in order.
pub(crate) struct Leaves<'a, T> {
    vec: &'a PVec<T>,
    next: usize,
    /// The branch above the leaves that holds the previous leaf, and the index of its first
    /// entry: the next 31 leaves are read from it, so the trie is walked once per 1,024 entries
    /// rather than once per leaf.
    parent: Option<(&'a Leaves32<T>, usize)>,
}

impl<T: Clone + Default> PVec<T> {
    /// The branch just above the leaf holding `index`, if the trie has branches and
    /// `index < len`.
    fn parent(&self, index: usize) -> Option<&Leaves32<T>> {
        if index >= self.len {
            return None;
        }
        let mut node = &self.root;
        let mut shift = LEAF_BITS + BRANCH_BITS * self.height;
        loop {
            let Node::Branch(children) = node else {
                return None;
            };
            shift -= BRANCH_BITS;
            if shift == LEAF_BITS {
                return Some(children);
            }
            node = children[(index >> shift) & BRANCH_MASK].as_ref()?;
        }
    }
}

impl<'a, T: Clone + Default> Iterator for Leaves<'a, T> {
    /// The index of the leaf's first entry, and its entries.
    type Item = (usize, &'a [T]);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let start = self.next;
        if start >= self.vec.len {
            return None;
        }
        const SPAN: usize = LEAF << BRANCH_BITS;
        let parent = match self.parent {
            Some((children, base)) if start - base < SPAN => Some(children),
            _ => {
                let children = self.vec.parent(start);
                self.parent = children.map(|c| (c, start & !(SPAN - 1)));
                children
            }
        };
        let leaf: &'a Leaf<T> = match parent {
            Some(children) => match children[(start >> LEAF_BITS) & BRANCH_MASK].as_ref()? {
                Node::Leaf(items) => &items.entries,
                Node::Branch(_) => return None,
            },
            None => self.vec.leaf(start)?,
        };
        let end = (start + LEAF).min(self.vec.len);
        self.next = start + LEAF;
        Some((start, &leaf[..end - start]))
    }
}

#[cfg(test)]
mod tests;
