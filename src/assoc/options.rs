//! Declared policies of an association: names, referential actions, unlink policy.

/// What deleting a source row does to the target rows linked to it (SQL `ON DELETE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OnDelete {
    /// Delete the linked rows too (and apply their own actions, transitively).
    Cascade,
    /// Set the linked rows' foreign key to null. Only for nullable (`Option`) keys: declaring it
    /// on a non-null key is an [`Error::Definition`](crate::Error::Definition).
    SetNull,
    /// Refuse the delete while linked rows exist ([`Error::Restricted`](crate::Error::Restricted)),
    /// checked at once, as in SQL: a linked row blocks even when the same cascade would delete
    /// it too. Only rows the call itself asked to delete do not block.
    Restrict,
    /// SQL's check at the end of the operation: a linked row blocks unless the same delete
    /// (its cascade included) removes it.
    NoAction,
}

/// What changing a source key attribute does to the linked rows (SQL `ON UPDATE`). Only
/// associations whose source key is an attribute ([`Db::has_many_by`](crate::Db::has_many_by))
/// can see a key change; ids never change.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum OnUpdate {
    /// Rewrite the linked rows' foreign keys to the new value (the default), transitively: a
    /// rewritten key that is itself a source key carries the change on.
    #[default]
    Cascade,
    /// Set the linked rows' foreign key to null. Only for nullable (`Option`) keys, as for
    /// [`OnDelete::SetNull`].
    SetNull,
    /// Refuse the update while linked rows exist, checked at once.
    Restrict,
    /// Refuse the update if, when the operation ends, a linked row still holds a key that
    /// names no row.
    NoAction,
}

/// What `set` and `remove` do to a target row that stops being linked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Unlink {
    /// Set its foreign key to null (the default for nullable keys).
    Nullify,
    /// Fail with [`Error::Validation`](crate::Error::Validation), changing nothing (the default
    /// for non-null keys).
    Reject,
    /// Delete it, with its own referential actions (Sequelize's `destroyPrevious` / `destroy`).
    Delete,
}

/// Options of an association declaration. Every option has a default; set only what differs.
///
/// ```
/// use relata::{AssocOptions, OnDelete, Unlink};
/// let options = AssocOptions::new()
///     .name("comments")
///     .inverse("post")
///     .on_delete(OnDelete::Cascade)
///     .unlink(Unlink::Delete);
/// # let _ = options;
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct AssocOptions {
    pub(crate) name: Option<&'static str>,
    pub(crate) inverse: Option<&'static str>,
    pub(crate) on_delete: Option<OnDelete>,
    pub(crate) on_update: OnUpdate,
    pub(crate) unlink: Option<Unlink>,
    /// The name is relata's (a many-to-many's sides), not the user's: it may repeat.
    pub(crate) built_name: bool,
}

impl AssocOptions {
    /// All defaults. O(1).
    pub fn new() -> Self {
        Self::default()
    }

    /// The association's name, used in messages (default: the target model's name). O(1).
    pub fn name(mut self, name: &'static str) -> Self {
        self.name = Some(name);
        self
    }

    /// The inverse association's name (Sequelize `inverse: { as }`; default: the foreign-key
    /// field's name). O(1).
    pub fn inverse(mut self, name: &'static str) -> Self {
        self.inverse = Some(name);
        self
    }

    /// The on-delete action (default: `SetNull` for nullable keys, `Cascade` otherwise). O(1).
    pub fn on_delete(mut self, action: OnDelete) -> Self {
        self.on_delete = Some(action);
        self
    }

    /// The on-update action for attribute source keys (default `Cascade`). O(1).
    pub fn on_update(mut self, action: OnUpdate) -> Self {
        self.on_update = action;
        self
    }

    /// The unlink policy of `set` and `remove` (default: `Nullify` for nullable keys, `Reject`
    /// otherwise). O(1).
    pub fn unlink(mut self, policy: Unlink) -> Self {
        self.unlink = Some(policy);
        self
    }
}
