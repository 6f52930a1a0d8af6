#![doc = include_str!("../README.md")]

mod assoc;
mod bucket;
mod cascade;
#[allow(unsafe_code)]
mod cow_arc;
mod db;
mod error;
mod id;
mod index;
mod key;
mod pvec;
mod query;
mod rows;
mod shared;
mod table;
mod txn;
mod unique;

pub use assoc::belongs_to_many::Through;
pub use assoc::has_many::{Children, PerSource};
pub use assoc::{
    AssocOptions, BelongsTo, BelongsToMany, HasMany, HasOne, OnDelete, OnUpdate, Unlink,
};
pub use cascade::Report;
pub use db::{Db, Model};
pub use error::{Error, Result};
pub use id::{AsId, Id};
pub use key::{Field, FkField, ForeignKey, Key};
pub use query::Query;
pub use shared::SharedDb;
pub use table::{Deleted, Row, RowIter, Table};
pub use txn::Transaction;
pub use unique::Unique;
