//! Model-based property tests: random operation histories applied to relata and to a naive
//! reference, compared after every step.
//!
//! `PROPTEST_CASES` raises the number of histories (default 256 of up to 64 operations).

mod actions;
mod actions_reference;
mod archive;
mod blog;
mod changes;
mod changes_reference;
mod indexes;
mod indexes_reference;
mod iteration;
mod keyed;
mod keyed_reference;
mod lineage;
mod panics;
mod reference;
mod set_based;

/// `PROPTEST_CASES` if set (proptest reads it), `default` cases otherwise.
pub fn config(default: u32) -> proptest::test_runner::Config {
    let mut config = proptest::test_runner::Config::default();
    if std::env::var("PROPTEST_CASES").is_err() {
        config.cases = default;
    }
    config
}
