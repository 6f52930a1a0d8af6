//! The names rows go by in messages and reports: [`RowRef`] (`Comment#3`), and the model
//! names relata prints.

use std::any::type_name;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, OnceLock};

use super::{Id, RawId};

/// The name of a row in an error or a report: its model and creation number (`Comment#3`), and
/// which table instance it belongs to. Compares equal to the [`Id`] it was made from, and to its
/// printed form.
///
/// ```
/// # use relata::{Db, Error};
/// #[derive(Clone, Debug)] struct Post;
/// let mut db = Db::new();
/// let posts = db.create_table::<Post>()?;
/// let p = posts.insert(&mut db, Post)?;
/// posts.delete(&mut db, p)?;
/// match posts.get(&db, p) {
///     Err(Error::NotFound { id, .. }) => {
///         assert_eq!(id, p);
///         assert_eq!(id, "Post#1");
///         assert_eq!((id.model(), id.seq()), ("Post", 1));
///     }
///     other => panic!("expected NotFound, got {other:?}"),
/// }
/// # Ok::<(), Error>(())
/// ```
#[derive(Clone, Copy)]
pub struct RowRef {
    model: &'static str,
    raw: RawId,
    /// The row got what the error is about earlier in the same failed call (a row inserted,
    /// or given the value, by that call): undone with it. Only messages read it; it takes no
    /// part in equality.
    same_call: bool,
}

impl PartialEq for RowRef {
    fn eq(&self, other: &RowRef) -> bool {
        (self.model, self.raw) == (other.model, other.raw)
    }
}
impl Eq for RowRef {}
impl std::hash::Hash for RowRef {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (self.model, self.raw).hash(state);
    }
}

impl RowRef {
    pub(crate) fn new(model: &'static str, raw: RawId) -> Self {
        RowRef {
            model,
            raw,
            same_call: false,
        }
    }

    /// The same reference, marked as a row the failed call itself wrote (see `same_call`).
    pub(crate) fn written_by_the_call(self, written: bool) -> Self {
        RowRef {
            same_call: written,
            ..self
        }
    }

    /// Whether the failed call itself wrote this row what the error is about.
    pub(crate) fn same_call(&self) -> bool {
        self.same_call
    }

    pub(crate) fn of<T>(id: Id<T>) -> Self {
        RowRef::new(model_name::<T>(), id.raw)
    }

    /// The model's name, without module paths (`Comment`, `Pair<Id<Post>>`). O(1).
    pub fn model(&self) -> &'static str {
        self.model
    }

    /// The row's creation number (see [`Id::seq`]). O(1).
    pub fn seq(&self) -> u64 {
        self.raw.seq()
    }

    /// Whether this names the row `id` names. O(1).
    pub fn is<T>(&self, id: Id<T>) -> bool {
        self.raw == id.raw
    }
}

impl fmt::Display for RowRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.raw == RawId::DANGLING {
            write!(f, "{}#dangling", self.model)
        } else {
            write!(f, "{}#{}", self.model, self.raw.seq())
        }
    }
}

impl fmt::Debug for RowRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl<T> PartialEq<Id<T>> for RowRef {
    fn eq(&self, id: &Id<T>) -> bool {
        self.is(*id)
    }
}
impl<T> PartialEq<RowRef> for Id<T> {
    fn eq(&self, row: &RowRef) -> bool {
        row.is(*self)
    }
}
impl PartialEq<str> for RowRef {
    /// Whether `name` is this row's printed form, `Model#seq`.
    fn eq(&self, name: &str) -> bool {
        match name
            .strip_prefix(self.model)
            .and_then(|n| n.strip_prefix('#'))
        {
            Some("dangling") => self.raw == RawId::DANGLING,
            Some(seq) => self.raw != RawId::DANGLING && seq.parse() == Ok(self.raw.seq()),
            None => false,
        }
    }
}
impl PartialEq<&str> for RowRef {
    fn eq(&self, name: &&str) -> bool {
        *self == **name
    }
}
impl PartialEq<String> for RowRef {
    fn eq(&self, name: &String) -> bool {
        *self == **name
    }
}
impl<T> From<Id<T>> for RowRef {
    fn from(id: Id<T>) -> Self {
        RowRef::of(id)
    }
}

/// The name relata uses for model `T` in messages: its type name with every module path
/// removed, generic arguments included (`Pair<Option<Id<Post>>>`, not
/// `Pair<core::option::Option<relata::id::Id<app::Post>>>`).
///
/// Plain names are sliced out of [`type_name`] for free; a generic name is shortened once per
/// type and kept for the life of the process.
pub(crate) fn model_name<T: ?Sized>() -> &'static str {
    let full = type_name::<T>();
    if !full.contains('<') {
        return full.rsplit("::").next().unwrap_or(full);
    }
    built_name((full, ""), || shorten(full))
}

/// The name `make` builds for `key` (one or two static strings), built once per key and kept
/// for the life of the process: messages and errors hold names as `&'static str`.
pub(crate) fn built_name(
    key: (&'static str, &'static str),
    make: impl FnOnce() -> String,
) -> &'static str {
    type Names = HashMap<(&'static str, &'static str), &'static str>;
    static NAMES: OnceLock<Mutex<Names>> = OnceLock::new();
    let names = NAMES.get_or_init(Default::default);
    let mut names = names
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    names
        .entry(key)
        .or_insert_with(|| Box::leak(make().into_boxed_str()))
}

/// `full` without the `path::` prefix of each of its segments.
fn shorten(full: &str) -> String {
    let mut out = String::with_capacity(full.len());
    let mut chars = full.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ':' && chars.peek() == Some(&':') {
            chars.next();
            let keep = out
                .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
                .map_or(0, |i| i + 1);
            out.truncate(keep);
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Post;
    mod inner {
        pub struct Wrapper<T>(#[allow(dead_code)] T);
    }

    #[test]
    fn model_names_drop_every_module_path() {
        assert_eq!(model_name::<Post>(), "Post");
        assert_eq!(model_name::<inner::Wrapper<Post>>(), "Wrapper<Post>");
        assert_eq!(
            model_name::<inner::Wrapper<Option<Id<Post>>>>(),
            "Wrapper<Option<Id<Post>>>"
        );
        assert_eq!(
            model_name::<(inner::Wrapper<u8>, Post)>(),
            "(Wrapper<u8>, Post)"
        );
        assert_eq!(model_name::<u32>(), "u32");
    }
}
