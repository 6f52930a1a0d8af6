#![doc = include_str!("../README.md")]

#[cfg(feature = "serde")]
pub mod archive;
mod assoc;
mod changes;
mod core;
mod db;
mod dump;
mod error;
mod feed;
mod id;
mod index;
mod key;
mod keyed;
mod query;
mod report;
mod schema;
mod shared;
mod table;
mod txn;
mod unique;

#[cfg(feature = "serde")]
pub use archive::Archive;
pub use assoc::belongs_to::SourceOf;
pub use assoc::belongs_to_many::Through;
pub use assoc::has_many::{Children, PerSource};
pub use assoc::{
    AssocOptions, BelongsTo, BelongsToMany, HasMany, HasOne, OnDelete, OnUpdate, Unlink,
};
pub use changes::{Association, ChangeSet, LinkChanges, TableChanges, Updated};
pub use db::{Db, Model};
pub use dump::Dump;
pub use error::{ArchiveProblem, Argument, Change, Error, IntegrityError, Result};
pub use feed::{Feed, Subscription};
pub use id::{AsId, Id, RowRef};
pub use index::Index;
pub use key::{Field, FkField, ForeignKey, Key};
pub use query::Query;
#[cfg(feature = "derive")]
pub use relata_derive::Schema;
pub use report::Report;
pub use schema::{__private, Schema};
pub use shared::SharedDb;
pub use table::{Deleted, Row, RowIter, Scan, Table};
pub use txn::Transaction;
pub use unique::Unique;
