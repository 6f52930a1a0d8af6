//! What both sides are compared in: error classes, and tables dumped as rows of values with
//! keys mapped to creation indexes.

use std::collections::BTreeMap;

/// Author names: few, so that unique collisions and renames onto taken names happen.
pub const NAMES: [&str; 4] = ["ann", "bea", "cid", "dov"];

/// The error classes SQL and relata share.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// relata's `NotFound`; on the SQL side, the explicit existence checks of the translation.
    NotFound,
    /// relata's `Validation`; SQL's NOT NULL constraint.
    Validation,
    ForeignKey,
    Unique,
    /// relata's `Restricted`; SQL's foreign-key failure on a DELETE (RESTRICT / NO ACTION).
    Restricted,
}

/// A column value.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum V {
    Null,
    Int(i64),
    /// An author name, by index into [`NAMES`].
    Name(usize),
    /// A reference, as the creation index of the referenced row.
    Ref(usize),
}

impl V {
    pub fn sql(&self) -> rusqlite::types::Value {
        match self {
            V::Null => rusqlite::types::Value::Null,
            V::Int(x) => rusqlite::types::Value::Integer(*x),
            V::Name(i) => rusqlite::types::Value::Text(NAMES[*i].to_string()),
            V::Ref(_) => unreachable!("references are passed to SQL as rowids"),
        }
    }
}

/// Table name → rows as (creation index, values), in creation order.
pub type Dump = BTreeMap<&'static str, Vec<(usize, Vec<V>)>>;
