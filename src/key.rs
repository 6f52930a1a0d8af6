//! Keys, foreign-key fields and plain fields: how relata reads and writes the fields of plain
//! structs without a derive.

use std::fmt::Debug;

use crate::id::{Id, RawId};

/// A value a foreign key or an index can hold: an [`Id`] (the default source key) or the value
/// of an attribute (a `String` slug, a `u64` code, a tuple of them…).
///
/// Implemented for `Id<T>`, `String`, `&'static str`, `char`, `bool`, the integer types, `()`,
/// and tuples of keys up to four. Implement it for your own key types with an empty
/// `impl`:
///
/// ```
/// #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Debug)]
/// struct Isbn(String);
/// impl relata::Key for Isbn {}
/// ```
///
/// A nullable column (`Option<String>`) is not a key: index the rows that have a value with a
/// partial index, as SQL's unique indexes leave nulls out:
///
/// ```
/// #[derive(Clone)]
/// struct User { handle: Option<String> }
/// let mut db = relata::Db::new();
/// let users = db.create_table::<User>()?;
/// let by_handle = db.unique_where(
///     users,
///     "handle",
///     |u: &User| u.handle.is_some(),
///     |u: &User| u.handle.clone().unwrap_or_default(),
/// )?;
/// users.insert(&mut db, User { handle: None })?;
/// users.insert(&mut db, User { handle: None })?; // rows without a value are left out
/// let ada = users.insert(&mut db, User { handle: Some("ada".into()) })?;
/// assert!(users.insert(&mut db, User { handle: Some("ada".into()) }).is_err());
/// assert_eq!(by_handle.find(&db, "ada")?.map(|u| u.id()), Some(ada));
/// # Ok::<(), relata::Error>(())
/// ```
///
/// A key's `Clone`, `Ord` and `Eq` are part of the schema and must not panic (as for the keys of
/// a `BTreeMap`): relata calls them while it applies and rolls back a change.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a relata key",
    label = "not a `Key`",
    note = "a key is `Id<T>`, a string, an integer, `char`, `bool`, `()`, a tuple of keys, or a \
            type of yours with `impl relata::Key for MyKey {{}}`",
    note = "a nullable column is not a key: to index the rows that have a value, use \
            `by = |r| r.field.clone().unwrap_or_default()` with `filter = |r| r.field.is_some()` \
            (`unique_where` / `index_where` in the plain API)"
)]
pub trait Key: Clone + Ord + Debug + Send + Sync + 'static {
    #[doc(hidden)]
    #[expect(
        private_interfaces,
        reason = "only relata's own `Id` overrides this: the type in its signature is private, \
                  so other implementations keep the default"
    )]
    /// The row an id key names, which indexes address by slot. `None` for attributes.
    fn __raw(&self) -> Option<RawId> {
        None
    }

    #[doc(hidden)]
    #[expect(private_interfaces, reason = "as for `__raw`")]
    /// The id key naming `raw`; `None` for attributes.
    fn __from_raw(_raw: RawId) -> Option<Self> {
        None
    }
}

impl<T: 'static> Key for Id<T> {
    #[inline]
    #[expect(private_interfaces, reason = "as for `Key::__raw`")]
    fn __raw(&self) -> Option<RawId> {
        Some(self.raw)
    }

    #[inline]
    #[expect(private_interfaces, reason = "as for `Key::__raw`")]
    fn __from_raw(raw: RawId) -> Option<Self> {
        Some(Id::from_raw(raw))
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
    (),
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

impl<A: Key, B: Key> Key for (A, B) {}
impl<A: Key, B: Key, C: Key> Key for (A, B, C) {}
impl<A: Key, B: Key, C: Key, D: Key> Key for (A, B, C, D) {}

/// Where a field lives in its struct, when a macro could tell: its byte offset and size. Two
/// fields whose spans do not overlap are independent, so writing one cannot change an index of
/// the other. Hand-built accessors have no span and are assumed to touch anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Span {
    offset: usize,
    size: usize,
}

impl Span {
    /// Whether two fields may share bytes. `None` (unknown) overlaps everything.
    pub(crate) fn overlap(a: Option<Span>, b: Option<Span>) -> bool {
        match (a, b) {
            (Some(a), Some(b)) => {
                a.size > 0
                    && b.size > 0
                    && a.offset < b.offset + b.size
                    && b.offset < a.offset + a.size
            }
            _ => true,
        }
    }
}

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
/// [`ForeignKey::required`] / [`ForeignKey::optional`]. The macro also records where the field
/// lives, which lets relata move the key without re-checking indexes on other fields; a
/// hand-built key is assumed to share a field with every index of its table, which is always
/// correct and a little slower.
pub struct ForeignKey<T, K> {
    pub(crate) name: &'static str,
    pub(crate) access: Access<T, K>,
    pub(crate) span: Option<Span>,
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
            name: unraw(name),
            access: Access::Required(get, get_mut),
            span: None,
        }
    }

    /// A nullable foreign key stored in a field of type `Option<K>`.
    ///
    /// ```
    /// # use relata::{ForeignKey, Id};
    /// struct Post;
    /// struct Comment { post: Option<Id<Post>> }
    /// let fk = ForeignKey::optional("post", |c: &Comment| &c.post, |c: &mut Comment| &mut c.post);
    /// assert!(fk.is_nullable());
    /// ```
    pub fn optional(
        name: &'static str,
        get: fn(&T) -> &Option<K>,
        get_mut: fn(&mut T) -> &mut Option<K>,
    ) -> Self {
        ForeignKey {
            name: unraw(name),
            access: Access::Optional(get, get_mut),
            span: None,
        }
    }

    /// The field's name, as used in messages. O(1).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Whether the field may hold null (its type is an `Option`). O(1).
    pub fn is_nullable(&self) -> bool {
        matches!(self.access, Access::Optional(..))
    }

    /// The key `row` holds, or `None` if it is null.
    #[inline]
    pub(crate) fn get<'a>(&self, row: &'a T) -> Option<&'a K> {
        match self.access {
            Access::Required(get, _) => Some(get(row)),
            Access::Optional(get, _) => get(row).as_ref(),
        }
    }

    /// Points `row` at `key`.
    #[inline]
    pub(crate) fn point(&self, row: &mut T, key: K) {
        match self.access {
            Access::Required(_, get_mut) => *get_mut(row) = key,
            Access::Optional(_, get_mut) => *get_mut(row) = Some(key),
        }
    }

    /// Writes `key` (or null) into `row`. Returns false, leaving the row untouched, when `key` is
    /// `None` and the field is not nullable.
    #[inline]
    pub(crate) fn set(&self, row: &mut T, key: Option<K>) -> bool {
        match (self.access, key) {
            (Access::Required(_, get_mut), Some(k)) => *get_mut(row) = k,
            (Access::Required(..), None) => return false,
            (Access::Optional(_, get_mut), k) => *get_mut(row) = k,
        }
        true
    }
}

/// The type of a foreign-key field: `K` (non-null) or `Option<K>` (nullable). Used by
/// [`fk!`](crate::fk) to pick the right [`ForeignKey`] constructor from the field's type.
#[diagnostic::on_unimplemented(
    message = "a field of type `{Self}` cannot hold this association's key `{K}`",
    label = "this foreign key must be `{K}` or `Option<{K}>`",
    note = "a foreign key to a model's id is `Id<Model>` (or `Option<Id<Model>>` if it may be null); \
            one to a unique attribute has that attribute's type"
)]
pub trait FkField<K>: Sized {
    /// Builds the [`ForeignKey`] for a field of this type.
    fn foreign_key<T>(
        name: &'static str,
        get: fn(&T) -> &Self,
        get_mut: fn(&mut T) -> &mut Self,
    ) -> ForeignKey<T, K>;

    #[doc(hidden)]
    /// [`foreign_key`](FkField::foreign_key) for a field at `offset` (what [`fk!`](crate::fk)
    /// expands to).
    fn __at_offset<T>(
        name: &'static str,
        offset: usize,
        get: fn(&T) -> &Self,
        get_mut: fn(&mut T) -> &mut Self,
    ) -> ForeignKey<T, K> {
        let mut fk = Self::foreign_key(name, get, get_mut);
        fk.span = Some(Span {
            offset,
            size: std::mem::size_of::<Self>(),
        });
        fk
    }
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
        $crate::FkField::__at_offset(
            stringify!($field),
            ::core::mem::offset_of!($model, $field),
            |row: &$model| &row.$field,
            |row: &mut $model| &mut row.$field,
        )
    };
}

/// A plain field of model `T` with values of type `K`, for unique and secondary indexes (and
/// so as a source key). Make one with [`field!`](crate::field) or [`Field::new`].
pub struct Field<T, K> {
    pub(crate) name: &'static str,
    pub(crate) get: fn(&T) -> &K,
    pub(crate) span: Option<Span>,
}

impl<T, K> Clone for Field<T, K> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T, K> Copy for Field<T, K> {}

impl<T, K> Field<T, K> {
    /// A field read by `get`, called `name` in messages.
    ///
    /// ```
    /// use relata::Field;
    /// struct Post { slug: String }
    /// let slug = Field::new("slug", |p: &Post| &p.slug);
    /// assert_eq!(slug.name(), "slug");
    /// ```
    pub fn new(name: &'static str, get: fn(&T) -> &K) -> Self {
        Field {
            name: unraw(name),
            get,
            span: None,
        }
    }

    #[doc(hidden)]
    /// [`Field::new`] for a field at `offset` (what [`field!`](crate::field) expands to).
    pub fn __at_offset(name: &'static str, offset: usize, get: fn(&T) -> &K) -> Self {
        Field {
            name: unraw(name),
            get,
            span: Some(Span {
                offset,
                size: std::mem::size_of::<K>(),
            }),
        }
    }

    /// The field's name. O(1).
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
        $crate::Field::__at_offset(
            stringify!($field),
            ::core::mem::offset_of!($model, $field),
            |row: &$model| &row.$field,
        )
    };
}

/// A field's name as written in messages: `type` for the raw identifier `r#type` that
/// `stringify!` gives.
fn unraw(name: &'static str) -> &'static str {
    name.strip_prefix("r#").unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(dead_code)]
    struct Row {
        a: u64,
        b: Option<Id<Row>>,
        c: (),
    }

    #[test]
    fn macro_built_fields_know_their_spans() {
        let a = field!(Row, a);
        let b = crate::fk!(Row, b);
        let c = field!(Row, c);
        assert!(!Span::overlap(a.span, b.span));
        assert!(Span::overlap(a.span, a.span));
        assert!(
            !Span::overlap(c.span, c.span),
            "a zero-sized field never changes"
        );
        let hand = Field::new("a", |r: &Row| &r.a);
        assert!(
            Span::overlap(hand.span, b.span),
            "unknown spans overlap everything"
        );
    }
}
