//! Histories on which relata and SQLite once disagreed, kept as permanent tests. Each was
//! found by `relata_agrees_with_sqlite`, shrunk by proptest, and pasted here from its output.

#[allow(unused_imports)]
use crate::{Op::*, Pick, Picks, check};
