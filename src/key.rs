//! Keys, foreign-key fields and unique attributes: how relata reads and writes the fields of
//! plain structs without a derive.

use std::fmt::Debug;

use crate::id::Id;

/// A value a foreign key can hold: an [`Id`] (the default source key) or the value of a unique
/// attribute of the source (a `String` slug, a `u64` code…).
///
/// Implemented for `Id<T>`, `String`, `&'static str`, `char`, `bool` and the integer types. Implement it for your
/// own key types with an empty `impl`:
///
/// ```
/// #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Debug)]
/// struct Isbn(String);
/// impl relata::Key for Isbn {}
/// ```
pub trait Key: Clone + Ord + Debug + Send + Sync + 'static {
    #[doc(hidden)]
    /// The storage slot and creation number of an id key, which indexes address directly.
    /// `None` for attributes.
    fn __slot(&self) -> Option<(u32, u64)> {
        None
    }
}

impl<T: 'static> Key for Id<T> {
    #[inline]
    fn __slot(&self) -> Option<(u32, u64)> {
        Some((self.raw.slot, self.raw.seq.get()))
    }
}

macro_rules! attribute_keys {
    ($($t:ty),*) => { $(impl Key for $t {})* };
}
attribute_keys!(
    String,
    &'static str,
    char,
    bool,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize
);

/// How a foreign-key field is read and written. Built by [`fk!`](crate::fk); nullability comes
/// from the field's type.
pub(crate) enum Access<T, K> {
    Required(fn(&T) -> &K, fn(&mut T) -> &mut K),
    Optional(fn(&T) -> &Option<K>, fn(&mut T) -> &mut Option<K>),
}

impl<T, K> Clone for Access<T, K> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T, K> Copy for Access<T, K> {}

/// A foreign-key field of model `T` holding keys of type `K`. Nullable when the field is an
/// `Option<K>`, non-null when it is a bare `K`.
///
/// Make one with the [`fk!`](crate::fk) macro (`fk!(Comment, post)`) or, without macros, with
/// [`ForeignKey::required`] / [`ForeignKey::optional`].
pub struct ForeignKey<T, K> {
    pub(crate) name: &'static str,
    pub(crate) access: Access<T, K>,
}

impl<T, K> Clone for ForeignKey<T, K> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T, K> Copy for ForeignKey<T, K> {}

impl<T, K> ForeignKey<T, K> {
    /// A non-null foreign key stored in a field of type `K`.
    ///
    /// ```
    /// # use relata::{ForeignKey, Id};
    /// struct Post;
    /// struct Comment { post: Id<Post> }
    /// let fk = ForeignKey::required("post", |c: &Comment| &c.post, |c: &mut Comment| &mut c.post);
    /// assert!(!fk.is_nullable());
    /// ```
    pub fn required(name: &'static str, get: fn(&T) -> &K, get_mut: fn(&mut T) -> &mut K) -> Self {
        ForeignKey {
            name,
            access: Access::Required(get, get_mut),
        }
    }

    /// A nullable foreign key stored in a field of type `Option<K>`.
    pub fn optional(
        name: &'static str,
        get: fn(&T) -> &Option<K>,
        get_mut: fn(&mut T) -> &mut Option<K>,
    ) -> Self {
        ForeignKey {
            name,
            access: Access::Optional(get, get_mut),
        }
    }

    /// The field's name, as used in messages.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Whether the field may hold null (its type is an `Option`).
    pub fn is_nullable(&self) -> bool {
        matches!(self.access, Access::Optional(..))
    }

    /// The key `row` holds, or `None` if it is null.
    pub(crate) fn get<'a>(&self, row: &'a T) -> Option<&'a K> {
        match self.access {
            Access::Required(get, _) => Some(get(row)),
            Access::Optional(get, _) => get(row).as_ref(),
        }
    }

    /// Points `row` at `key`. Cannot fail: only null can be refused.
    pub(crate) fn point(&self, row: &mut T, key: K) {
        match self.access {
            Access::Required(_, get_mut) => *get_mut(row) = key,
            Access::Optional(_, get_mut) => *get_mut(row) = Some(key),
        }
    }

    /// Writes `key` (or null) into `row`. Fails, leaving the row untouched, when `key` is `None`
    /// and the field is not nullable.
    pub(crate) fn set(&self, row: &mut T, key: Option<K>) -> Result<(), ()> {
        match (self.access, key) {
            (Access::Required(_, get_mut), Some(k)) => *get_mut(row) = k,
            (Access::Required(..), None) => return Err(()),
            (Access::Optional(_, get_mut), k) => *get_mut(row) = k,
        }
        Ok(())
    }
}

/// The type of a foreign-key field: `K` (non-null) or `Option<K>` (nullable). Used by
/// [`fk!`](crate::fk) to pick the right [`ForeignKey`] constructor from the field's type.
pub trait FkField<K>: Sized {
    /// Builds the [`ForeignKey`] for a field of this type.
    fn foreign_key<T>(
        name: &'static str,
        get: fn(&T) -> &Self,
        get_mut: fn(&mut T) -> &mut Self,
    ) -> ForeignKey<T, K>;
}

impl<K: Key> FkField<K> for K {
    fn foreign_key<T>(
        name: &'static str,
        get: fn(&T) -> &K,
        get_mut: fn(&mut T) -> &mut K,
    ) -> ForeignKey<T, K> {
        ForeignKey::required(name, get, get_mut)
    }
}

impl<K: Key> FkField<K> for Option<K> {
    fn foreign_key<T>(
        name: &'static str,
        get: fn(&T) -> &Option<K>,
        get_mut: fn(&mut T) -> &mut Option<K>,
    ) -> ForeignKey<T, K> {
        ForeignKey::optional(name, get, get_mut)
    }
}

/// Names a foreign-key field: `fk!(Comment, post)` for `struct Comment { post: Option<Id<Post>>, .. }`.
///
/// The field's type decides nullability: `Option<K>` may be nulled, a bare `K` may not.
///
/// ```
/// use relata::{fk, Id};
/// struct Post;
/// struct Comment { post: Option<Id<Post>> }
/// struct Draft { post: Id<Post> }
/// assert!(fk!(Comment, post).is_nullable());
/// assert!(!fk!(Draft, post).is_nullable());
/// ```
#[macro_export]
macro_rules! fk {
    ($model:ty, $field:ident) => {
        $crate::FkField::foreign_key(
            stringify!($field),
            |row: &$model| &row.$field,
            |row: &mut $model| &mut row.$field,
        )
    };
}

/// A plain field of model `T` with values of type `K`, used as a unique attribute (and so as a
/// source key). Make one with [`field!`](crate::field) or [`Field::new`].
pub struct Field<T, K> {
    pub(crate) name: &'static str,
    pub(crate) get: fn(&T) -> &K,
}

impl<T, K> Clone for Field<T, K> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T, K> Copy for Field<T, K> {}

impl<T, K> Field<T, K> {
    /// A field read by `get`, called `name` in messages.
    pub fn new(name: &'static str, get: fn(&T) -> &K) -> Self {
        Field { name, get }
    }

    /// The field's name.
    pub fn name(&self) -> &'static str {
        self.name
    }
}

/// Names a plain field: `field!(Post, slug)`.
///
/// ```
/// use relata::field;
/// struct Post { slug: String }
/// let slug = field!(Post, slug);
/// assert_eq!(slug.name(), "slug");
/// ```
#[macro_export]
macro_rules! field {
    ($model:ty, $field:ident) => {
        $crate::Field::new(stringify!($field), |row: &$model| &row.$field)
    };
}
