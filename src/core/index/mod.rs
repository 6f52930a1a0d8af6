//! Indexes over a table's rows, and the one interface ([`RowIndex`]) through which the write
//! path keeps every one of them in step.
//!
//! - [`FkIndex`]: an association's foreign key → the rows holding it (by source slot for id keys,
//!   by value for attribute keys), with the foreign-key constraint (the key must resolve) and, for
//!   has-one, uniqueness.
//! - [`KeyIndex`]: any attribute or computed key of a table → its rows; unique (at most one row
//!   per key) or not; partial when the key function leaves rows out.
//!
//! Each index logs its own changes while an operation runs and undoes them if the operation
//! fails or panics (see `write`). Adding a kind of index means implementing [`RowIndex`]; the
//! write path needs no change.
//!
//! Layout: this file holds the interface and what the indexes share; `fk` holds [`FkIndex`],
//! `key` holds [`KeyIndex`] and [`KeyFn`].

mod fk;
mod key;

use std::any::Any;

use super::Core;
use super::rows::Arena;
use crate::error::Result;
use crate::id::{Lineage, Member, RawId};

pub(crate) use fk::{FkIndex, SourceKey};
pub(crate) use key::{KeyFn, KeyIndex};

/// Something kept in step with the rows of one table. Every write to the table's rows goes
/// through the write path, which calls these on every index of the table.
///
/// Methods that change the index run user code (key functions, accessors) only before they
/// change anything, and log what they change, so [`rollback`](RowIndex::rollback) can undo it
/// without running user code.
pub(crate) trait RowIndex<T>: Any + Send + Sync {
    fn clone_box(&self) -> Box<dyn RowIndex<T>>;
    /// Whether `new` may be stored as row `id` (`None`: a row being inserted), replacing `old`.
    fn check(&self, core: &Core, id: Option<RawId>, old: Option<&T>, new: &T) -> Result<()>;
    fn insert(&mut self, id: Member, row: &T);
    fn remove(&mut self, id: Member, row: &T);
    fn replace(&mut self, id: Member, old: &T, new: &T);
    /// Whether row `id`, already stored as `row` and indexed, keeps this index's constraint:
    /// [`check`](RowIndex::check) judged on the stored state, without trusting what storing
    /// it changed (a bucket it created proves no source alive; an entry it took over from
    /// another row is a conflict). For changes applied wholesale (`ChangeSet::apply_to`).
    fn check_stored(&self, core: &Core, id: RawId, row: &T) -> Result<()>;
    /// Whether the rows this operation's changes displaced from a unique key still hold it
    /// (then two rows hold one unique key: `Unique`), or from the bucket of a source whose slot
    /// another source took (then they reference a removed row: `Restricted`, as for any removed
    /// source with children). For changes applied wholesale.
    fn check_displaced(&self, _rows: &Arena<T>) -> Result<()> {
        Ok(())
    }
    /// Whether the row's key in this index differs between `old` and `new`.
    fn moves(&self, old: &T, new: &T) -> bool;
    /// Writes back into `row` the key the last logged fast relink replaced (foreign-key indexes
    /// only; see `FkIndex::save_key`).
    fn restore_key(&mut self, _row: &mut T) {}
    /// Empties the index and sets the lineages it follows: its table's (`own`), and for a
    /// foreign key its source table's (`lineages[source]`). For restoring a save.
    fn reset(&mut self, own: &Lineage, lineages: &[Lineage]);
    /// Sets the lineages the index follows, as [`reset`](RowIndex::reset) does, keeping its
    /// entries (which name rows by creation number and slot, whatever their lineage).
    fn follow(&mut self, own: &Lineage, lineages: &[Lineage]);
    /// Whether this is a foreign key's index, whose checks read other tables.
    fn is_foreign(&self) -> bool {
        false
    }
    /// Forgets the changes logged since the last commit or rollback: they stay.
    fn commit(&mut self);
    /// Undoes the changes logged since the last commit or rollback.
    fn rollback(&mut self);
    /// Recomputes the index from the rows and describes the first difference.
    fn verify(&self, core: &Core, rows: &Arena<T>) -> std::result::Result<(), String>;
}

impl<T: 'static> Clone for Box<dyn RowIndex<T>> {
    fn clone(&self) -> Self {
        self.clone_box()
    }
}

/// Whether `log` (an index's changes in the current operation) gave `key` to row `holder`:
/// a clash with it is a clash within the failed call, which says so (`RowRef::same_call`).
/// O(log length); only refused writes ask.
fn gave<K: PartialEq>(log: &[Logged<K>], key: &K, holder: Member) -> bool {
    log.iter()
        .any(|l| matches!(l, Logged::Added(k, m) if *m == holder && k == key))
}

/// A logged change to an index, undone in reverse order.
#[derive(Clone)]
enum Logged<K> {
    Added(K, Member),
    Removed(K, Member),
    /// A slot-addressed foreign-key bucket taken out whole, with its stamp, to put back on
    /// rollback: either still holding rows of the source that left this slot, reset when a
    /// row of the slot's new source was linked (only changes applied wholesale leave such a
    /// bucket behind), or emptied in one step by a delete that removes its source and every
    /// row in it (`FkIndex::drop_bucket`; `check_displaced` finds none of those rows alive).
    Displaced {
        slot: u32,
        stamp: crate::id::Seq,
        bucket: crate::core::bucket::Bucket,
    },
}
