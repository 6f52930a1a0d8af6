//! Associations: the typed handles on top of the core, their options and declarations.
//!
//! An association is one foreign key on its target table plus that key's index, both kept by
//! the core (`crate::core`). The handles here resolve their arguments, decide what a method
//! means (which rows to link, unlink or delete), and make the changes through the core's one
//! write path.
//!
//! - [`link`]: what every association handle shares: argument resolution, unlink planning;
//! - [`declare`]: declaring associations on a [`Db`](crate::Db);
//! - one module per association type, and [`options`].

pub(crate) mod belongs_to;
pub(crate) mod belongs_to_many;
mod declare;
pub(crate) mod has_many;
mod has_one;
mod link;
mod options;

pub use belongs_to::BelongsTo;
pub use belongs_to_many::BelongsToMany;
pub use has_many::HasMany;
pub use has_one::HasOne;
pub(crate) use link::Link;
pub use options::{AssocOptions, OnDelete, OnUpdate, Unlink};
