//! Associations: definitions, options and the machinery shared by every association type.
//!
//! An association is one foreign key on its target table plus that key's index. The foreign
//! key stored in the target row is the truth; the index is derived from it and is touched only
//! through [`AssocData`]'s [`RowIndex`] implementation and [`Link::relink`].
//!
//! - [`data`]: an association's definition and index, and its type-erased interface;
//! - [`link`]: what every association handle shares, the one place rows are relinked;
//! - [`declare`]: declaring associations on a [`Db`](crate::Db);
//! - one module per association type, and [`options`].

mod belongs_to;
pub(crate) mod belongs_to_many;
mod data;
mod declare;
pub(crate) mod has_many;
mod has_one;
mod link;
mod options;

pub use belongs_to::BelongsTo;
pub use belongs_to_many::BelongsToMany;
pub(crate) use data::{AssocData, AssocMeta, SourceKey};
pub use has_many::HasMany;
pub use has_one::HasOne;
pub(crate) use link::Link;
pub use options::{AssocOptions, OnDelete, OnUpdate, Unlink};
