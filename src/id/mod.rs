//! Typed, generational row ids, and (`name`) the names rows go by in messages.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::num::{NonZeroU32, NonZeroU64};

mod name;

pub use name::RowRef;
pub(crate) use name::{built_name, model_name};

/// A row's creation number within its table: 1 for the first row ever inserted, counting up,
/// never reused, never rolled back. Stored as two halves so that ids and index entries pack at
/// 4-byte alignment (a bucket entry is 12 bytes, an `Option<Id<T>>` 16); the low half comes
/// first, so the two read as one little-endian `u64`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct Seq {
    lo: u32,
    hi: u32,
}

impl Seq {
    pub(crate) const MAX: Seq = Seq {
        lo: u32::MAX,
        hi: u32::MAX,
    };

    #[inline]
    pub(crate) fn new(n: u64) -> Seq {
        Seq {
            lo: n as u32,
            hi: (n >> 32) as u32,
        }
    }

    #[inline]
    pub(crate) fn get(self) -> u64 {
        (u64::from(self.hi) << 32) | u64::from(self.lo)
    }
}

impl PartialOrd for Seq {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Seq {
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        self.get().cmp(&other.get())
    }
}

/// A row within one table: its creation number and its storage slot. This is what indexes hold
/// (the table is implied). Orders by creation.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub(crate) struct Member {
    pub(crate) seq: Seq,
    pub(crate) slot: u32,
}

/// The untyped form of an id: the row's creation number, and where it lives (its slot, and
/// the identity of its table).
///
/// `table` is the declaration number of the table *instance* that issued the id: drawn from a
/// process-wide counter when the table is created, so two databases, two forks that each create
/// a table after forking, and a table re-created after a rolled-back transaction all have
/// different ones. An id therefore resolves only in the lineage of the table that issued it.
/// Ordering compares the creation number first, which is creation order.
///
/// Two words, so that ids travel in registers: the creation number, and `slot | table << 32`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub(crate) struct RawId {
    seq: NonZeroU64,
    place: u64,
}

impl RawId {
    /// The id that names nothing: no table has declaration number `u32::MAX`.
    pub(crate) const DANGLING: RawId = RawId {
        seq: NonZeroU64::MAX,
        place: u64::MAX,
    };

    #[inline]
    pub(crate) fn new(seq: NonZeroU64, slot: u32, table: NonZeroU32) -> RawId {
        RawId {
            seq,
            place: u64::from(slot) | (u64::from(table.get()) << 32),
        }
    }

    #[inline]
    pub(crate) fn seq(self) -> u64 {
        self.seq.get()
    }

    #[inline]
    pub(crate) fn slot(self) -> u32 {
        self.place as u32
    }

    /// The table instance number the id carries.
    #[inline]
    pub(crate) fn table(self) -> u32 {
        (self.place >> 32) as u32
    }

    /// Whether the id was issued by table instance `table`.
    #[inline]
    pub(crate) fn is_of(self, table: NonZeroU32) -> bool {
        (self.place >> 32) as u32 == table.get()
    }

    /// The id `k` slots and `k` creation numbers after this one, in the same table instance:
    /// the `k`-th row of a run of inserts that starts here. `None` past the last slot or
    /// creation number.
    #[inline]
    pub(crate) fn nth_after(self, k: u32) -> Option<RawId> {
        let seq = self.seq.checked_add(u64::from(k))?;
        let slot = self.slot().checked_add(k)?;
        Some(RawId {
            seq,
            place: u64::from(slot) | (self.place & !u64::from(u32::MAX)),
        })
    }

    /// The row within its table.
    #[inline]
    pub(crate) fn member(self) -> Member {
        Member {
            seq: Seq::new(self.seq.get()),
            slot: self.slot(),
        }
    }
}

/// The ids a table's rows carry. Rows the table instance created carry its own number
/// (`current`). A table restored from a save continues the saved lineage: rows restored from it
/// carry the saved lineage's number, told apart by their creation number (below the boundary
/// the save recorded), while rows created after the restore carry the new instance's number, so
/// two databases restored from one save are like two forks: they share the saved rows' ids and
/// nothing else.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) struct Lineage {
    current: NonZeroU32,
    /// `(number, boundary)`: creation numbers below `boundary` (and above the previous entry's)
    /// belong to lineage `number`. Boundaries increase.
    restored: Option<std::sync::Arc<[(NonZeroU32, u64)]>>,
}

impl Lineage {
    pub(crate) fn new(current: NonZeroU32) -> Lineage {
        Lineage {
            current,
            restored: None,
        }
    }

    /// A lineage whose rows below each boundary of `restored` come from the saved lineages.
    pub(crate) fn restored(current: NonZeroU32, restored: Vec<(NonZeroU32, u64)>) -> Lineage {
        Lineage {
            current,
            restored: (!restored.is_empty()).then(|| restored.into()),
        }
    }

    /// The number new rows carry.
    #[inline]
    pub(crate) fn current(&self) -> NonZeroU32 {
        self.current
    }

    /// The number every row carries, when no row was restored from a save: then an id is
    /// plain arithmetic on the row's slot and creation number, which loops over rows can hoist
    /// out (the search of [`id`](Self::id) is a loop the optimiser cannot remove when the id
    /// goes unused).
    #[inline]
    pub(crate) fn single(&self) -> Option<NonZeroU32> {
        match self.restored {
            None => Some(self.current),
            Some(_) => None,
        }
    }

    /// The restored lineages and their boundaries.
    pub(crate) fn history(&self) -> &[(NonZeroU32, u64)] {
        self.restored.as_deref().unwrap_or(&[])
    }

    /// The lineage number a row of creation number `seq` carries.
    #[inline]
    fn number(&self, seq: u64) -> NonZeroU32 {
        match &self.restored {
            None => self.current,
            // The first entry whose boundary is past `seq` (boundaries increase): a binary
            // search, since every load adds an entry.
            Some(restored) => restored
                .get(restored.partition_point(|&(_, boundary)| boundary <= seq))
                .map_or(self.current, |&(number, _)| number),
        }
    }

    /// The id of row `member` of this table.
    #[inline]
    pub(crate) fn id(&self, member: Member) -> RawId {
        member.in_table(self.number(member.seq.get()))
    }

    /// Whether `raw` is the id of a row of this table (alive or not).
    #[inline]
    pub(crate) fn owns(&self, raw: RawId) -> bool {
        match &self.restored {
            None => raw.is_of(self.current),
            Some(_) => raw.is_of(self.number(raw.seq())),
        }
    }
}

impl Member {
    #[inline]
    pub(crate) fn in_table(self, table: NonZeroU32) -> RawId {
        let seq = NonZeroU64::new(self.seq.get()).unwrap_or(NonZeroU64::MAX);
        RawId::new(seq, self.slot, table)
    }
}

/// The id of a row of model `T`.
///
/// Ids are handed out by [`Table::insert`](crate::Table::insert) and its relatives; there is no
/// public constructor. An id names one row of one database lineage (a database and its forks):
///
/// - once its row is deleted it never names another row, even after the slot is reused or a
///   transaction that created it is rolled back; only the same row can come back under it,
///   when a change set from a state that still had the row is applied
///   ([`ChangeSet::apply_to`](crate::ChangeSet::apply_to) writes rows with their ids: an undo
///   by a reversed change set restores the deleted row itself);
/// - it never resolves in another database, in a table another fork created on its own, or in a
///   table re-created after the transaction that first created it was rolled back.
///
/// Ids order by creation (earliest first). An `Id<T>` is 16 bytes, and so is an
/// `Option<Id<T>>`.
///
/// Ids of different models are different types:
///
/// ```compile_fail
/// # use relata::Id;
/// struct Post;
/// struct Comment;
/// fn delete_comment(_: Id<Comment>) {}
/// fn mixed_up(post: Id<Post>) {
///     delete_comment(post); // error: expected `Id<Comment>`, found `Id<Post>`
/// }
/// ```
pub struct Id<T> {
    pub(crate) raw: RawId,
    marker: PhantomData<fn() -> T>,
}

impl<T> Id<T> {
    #[inline]
    pub(crate) fn from_raw(raw: RawId) -> Self {
        Id {
            raw,
            marker: PhantomData,
        }
    }

    /// The creation number of the row: 1 for the first row ever inserted into the table, counting
    /// up, never reused. A row keeps its number in every fork and transaction that has it.
    ///
    /// Forks of one database draw new numbers from one counter, so that an id never names two
    /// rows: a row inserted in a fork gets the next number *no fork* has used, which depends on
    /// what other forks inserted before (other tests of a shared fixture, running in parallel).
    /// Tests that build on a shared fixture should compare ids, not their numbers or their
    /// text (`Post#3`), for rows they insert; the fixture's own rows keep theirs.
    ///
    /// Computes in O(1) time.
    ///
    /// ```
    /// # use relata::Db;
    /// #[derive(Clone)] struct Post;
    /// let mut db = Db::new();
    /// let posts = db.create_table::<Post>()?;
    /// let first = posts.insert(&mut db, Post)?;
    /// assert_eq!(first.seq(), 1);
    /// assert_eq!(first.to_string(), "Post#1");
    ///
    /// let (mut a, mut b) = (db.fork(), db.fork());
    /// let in_a = posts.insert(&mut a, Post)?;
    /// let in_b = posts.insert(&mut b, Post)?;
    /// assert_eq!((in_a.seq(), in_b.seq()), (2, 3)); // b's number follows a's
    /// assert_eq!(posts.get(&b, first)?.id().seq(), 1);
    /// # Ok::<(), relata::Error>(())
    /// ```
    pub fn seq(self) -> u64 {
        self.raw.seq()
    }
}

/// The *dangling* id: it names no row in any table, ever. Useful as a placeholder in a default
/// row, typically a junction row for [`BelongsToMany`](crate::BelongsToMany), whose keys relata
/// overwrites; written into a row as is, it is a foreign-key error.
///
/// ```
/// use relata::Id;
/// #[derive(Default)]
/// struct Enrollment { student: Id<()>, grade: Option<u8> }
/// let template = Enrollment::default();
/// assert_eq!(template.student, Id::default());
/// assert_eq!(template.student.to_string(), "()#dangling");
/// ```
impl<T> Default for Id<T> {
    fn default() -> Self {
        Id::from_raw(RawId::DANGLING)
    }
}

impl<T> Clone for Id<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Id<T> {}
impl<T> PartialEq for Id<T> {
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw
    }
}
impl<T> Eq for Id<T> {}
impl<T> PartialOrd for Id<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Id<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.raw.cmp(&other.raw)
    }
}
impl<T> Hash for Id<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.raw.hash(state);
    }
}
impl<T> fmt::Debug for Id<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
impl<T> fmt::Display for Id<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&RowRef::of(*self), f)
    }
}

/// Ties a type to type parameters it does not own: `Send`, `Sync` and `Copy` whatever they are.
pub(crate) type Marker<P> = PhantomData<fn() -> P>;

/// Anything that names a row of `T`: an [`Id`], or a [`Row`](crate::Row) read from the database.
///
/// Association methods take targets through this trait, so a row you just read can be passed
/// where an id is expected ("you can also use the primary key"). A `Row` borrows the database, so
/// to pass one to a *write* method, pass `row.id()` instead: Rust's borrow rules are what keep
/// relata free of Sequelize's stale cached instances. Lists of targets (`has_all`, `add_many`,
/// `set`, `get_many`) take `Id`s (`rows.iter().map(Row::id)` from rows), so that an empty
/// list `[]` needs no type annotation.
pub trait AsId<T> {
    /// The id this value names.
    fn as_id(&self) -> Id<T>;
}

impl<T> AsId<T> for Id<T> {
    fn as_id(&self) -> Id<T> {
        *self
    }
}
impl<T> AsId<T> for &Id<T> {
    fn as_id(&self) -> Id<T> {
        **self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lineage number of a creation number is the first history entry whose boundary is
    /// past it (entries may share a boundary: a table saved twice without a row between), then
    /// the current number.
    #[test]
    fn a_lineage_numbers_rows_by_the_first_boundary_past_them() {
        let n = |x: u32| NonZeroU32::new(x).unwrap();
        let history = vec![(n(1), 3), (n(2), 3), (n(3), 7), (n(5), 40)];
        let lineage = Lineage::restored(n(9), history.clone());
        for seq in 0..50 {
            let expected = history
                .iter()
                .find(|&&(_, boundary)| seq < boundary)
                .map_or(n(9), |&(number, _)| number);
            assert_eq!(lineage.number(seq), expected, "seq {seq}");
        }
        assert_eq!(Lineage::restored(n(4), Vec::new()).number(1), n(4));
    }

    struct Post;

    #[test]
    fn ids_display_model_and_creation_number_and_pack() {
        let raw = Member {
            seq: Seq::new(7),
            slot: 2,
        }
        .in_table(NonZeroU32::MIN);
        let id = Id::<Post>::from_raw(raw);
        assert_eq!(id.to_string(), "Post#7");
        assert_eq!(format!("{id:?}"), "Post#7");
        assert_eq!(id.seq(), 7);
        assert_eq!(Seq::new(u64::MAX - 3).get(), u64::MAX - 3);
        assert_eq!(std::mem::size_of::<Id<Post>>(), 16);
        assert_eq!(std::mem::size_of::<Option<Id<Post>>>(), 16);
        assert_eq!(std::mem::size_of::<Member>(), 12);
    }

    #[test]
    fn ids_order_by_creation_first() {
        let at = |seq, slot| {
            Member {
                seq: Seq::new(seq),
                slot,
            }
            .in_table(NonZeroU32::MIN)
        };
        assert!(at(1, 9) < at(2, 0));
        assert!(at((1 << 32) + 1, 0) > at(u64::from(u32::MAX), 0));
    }
}
