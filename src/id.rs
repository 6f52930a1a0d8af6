//! Typed, generational row ids.

use std::any::type_name;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::num::NonZeroU64;

/// The untyped form of an id: a storage slot and the creation number of the row that holds it.
///
/// `seq` is unique within a table lineage (a database and all its forks), never reused and never
/// rolled back, so it is at once the generation check, the creation order and the reason an id
/// from an aborted transaction can never resolve again. Ordering compares `seq` first, which is
/// creation order.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub(crate) struct RawId {
    pub(crate) seq: NonZeroU64,
    pub(crate) slot: u32,
}

/// The id of a row of model `T`.
///
/// Ids are handed out by [`Table::insert`](crate::Table::insert) and its relatives; there is no
/// public constructor. An id is generational: once its row is deleted it never names a row again,
/// in this database or in any fork of it, even after the slot is reused or a transaction that
/// created it is rolled back. Ids order by creation (earliest first).
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
    pub(crate) fn from_raw(raw: RawId) -> Self {
        Id {
            raw,
            marker: PhantomData,
        }
    }

    /// The creation number of the row: 1 for the first row ever inserted into the table, counting
    /// up, never reused. Stable across forks and transactions, so it is handy in test output.
    ///
    /// Computes in O(1) time.
    pub fn seq(self) -> u64 {
        self.raw.seq.get()
    }
}

/// The *dangling* id: it names no row in any table, ever (no table issues its creation number).
/// Useful as a placeholder in a default row, typically a junction row for
/// [`BelongsToMany`](crate::BelongsToMany), whose keys relata overwrites; written into a row as
/// is, it is a foreign-key error.
///
/// ```
/// use relata::Id;
/// #[derive(Default)]
/// struct Enrollment { student: Id<()>, grade: Option<u8> }
/// let template = Enrollment::default();
/// assert_eq!(template.student, Id::default());
/// ```
impl<T> Default for Id<T> {
    fn default() -> Self {
        Id::from_raw(RawId {
            seq: NonZeroU64::MAX,
            slot: u32::MAX,
        })
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
        write!(f, "{}#{}", model_name::<T>(), self.raw.seq)
    }
}

/// The name relata uses for model `T` in messages: its type name without the module path.
pub(crate) fn model_name<T>() -> &'static str {
    let full = type_name::<T>();
    let head_end = full.find('<').unwrap_or(full.len());
    let start = full[..head_end].rfind("::").map_or(0, |i| i + 2);
    &full[start..]
}

/// Anything that names a row of `T`: an [`Id`], or a [`Row`](crate::Row) read from the database.
///
/// Association methods take targets through this trait, so a row you just read can be passed
/// where an id is expected ("you can also use the primary key"). A `Row` borrows the database, so
/// to pass one to a *write* method, pass `row.id()` instead: Rust's borrow rules are what keep
/// relata free of Sequelize's stale cached instances.
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

    struct Post;
    mod inner {
        pub struct Wrapper<T>(#[allow(dead_code)] T);
    }

    #[test]
    fn model_names_drop_the_module_path() {
        assert_eq!(model_name::<Post>(), "Post");
        assert_eq!(
            model_name::<inner::Wrapper<Post>>(),
            "Wrapper<relata::id::tests::Post>"
        );
        assert_eq!(model_name::<u32>(), "u32");
    }

    #[test]
    fn ids_display_model_and_creation_number() {
        let id = Id::<Post>::from_raw(RawId {
            seq: NonZeroU64::new(7).unwrap(),
            slot: 2,
        });
        assert_eq!(id.to_string(), "Post#7");
        assert_eq!(format!("{id:?}"), "Post#7");
        assert_eq!(id.seq(), 7);
    }
}
