//! Restoring a database's rows with their ids, as an archive read them: what a load does,
//! without any format. A restore builds every table anew, off to the side, rebuilds every
//! index through the same checks a write makes, and checks integrity; only then does it
//! replace the database's tables.

use std::any::Any;
use std::num::{NonZeroU32, NonZeroU64};

use triomphe::Arc;

use super::Core;
use super::catalog::declaration;
use super::rows::{Arena, Slot};
use super::table::{ErasedTable, TableData};
use crate::Model;
use crate::error::{ArchiveProblem, Error, Result};
use crate::id::{Lineage, model_name};

/// One table as an archive holds it.
pub(crate) struct Saved<T> {
    /// The lineages of rows restored before, with their creation-number boundaries: rows below
    /// a boundary (and at or above the previous one) carry that entry's lineage number.
    pub(crate) history: Vec<(u32, u64)>,
    /// The lineage number of the saved table instance's own rows.
    pub(crate) current: u32,
    /// The last creation number the table issued.
    pub(crate) counter: u64,
    /// `(slot, creation number, row)`.
    pub(crate) rows: Vec<(u32, u64, T)>,
    /// The vacant slots in the order inserts take them, if the archive recorded it (archives
    /// written before it did rebuild the free list highest slot first).
    pub(crate) free: Option<Vec<u32>>,
}

/// The largest creation counter an archive may hold: far beyond what a table can issue, and
/// far from the creation number the dangling id uses.
const MAX_COUNTER: u64 = u64::MAX >> 2;

/// The memory a load may spend on each table's empty slots that an archive without a free list
/// implies (beyond four slots per row): a slot's position is part of its row's id, so the empty
/// slots before the last row are rebuilt, and a corrupted slot number in an archive of a few
/// hundred bytes must not make a load allocate gigabytes. Each foreign-key index addressed by
/// that table's slots and the slots' ages take about as much again (a 500-byte archive of two
/// tables and one association can make a load take about 5 × this). An archive with a free list
/// lists every empty slot, so its size pays for them and no budget applies.
const SPARE_SLOT_BYTES: usize = 1 << 24;

/// The slots a table restored from `rows` rows may span: every slot up to the end when `free`
/// lists the empty ones (the completeness check holds it to rows plus that list), otherwise
/// four per row or as many as [`SPARE_SLOT_BYTES`] holds, whichever is more.
fn slot_bound<T>(rows: usize, free: Option<&[u32]>) -> u64 {
    match free {
        Some(free) => (rows + free.len()) as u64,
        None => {
            let budget = SPARE_SLOT_BYTES / std::mem::size_of::<Slot<T>>().max(1);
            (4 * rows).max(budget) as u64
        }
    }
}

impl<T: Model> TableData<T> {
    /// A table with this one's (still filled) indexes holding the rows of `saved`, as table
    /// instance `current`: its rows keep their ids, in the saved lineage, and rows created
    /// afterwards carry `current`. Indexes are rebuilt later ([`ErasedTable::rebuild`]).
    fn restored(&self, saved: Saved<T>, current: NonZeroU32) -> Result<TableData<T>, String> {
        let number = |n: u32| NonZeroU32::new(n).ok_or("lineage number 0");
        if saved.counter > MAX_COUNTER {
            return Err(format!(
                "creation counter {} is out of range",
                saved.counter
            ));
        }
        let mut history = Vec::with_capacity(saved.history.len() + 1);
        let mut last = 0;
        for &(n, boundary) in &saved.history {
            if boundary < last || boundary > saved.counter + 1 {
                return Err("lineage boundaries are out of order".into());
            }
            last = boundary;
            history.push((number(n)?, boundary));
        }
        history.push((number(saved.current)?, saved.counter + 1));
        let lineage = Lineage::restored(current, history);
        let mut rows = saved.rows;
        if !rows.is_sorted_by_key(|&(slot, ..)| slot) {
            rows.sort_by_key(|&(slot, ..)| slot);
        }
        let bound = slot_bound::<T>(rows.len(), saved.free.as_deref());
        let mut previous = None;
        for &(slot, seq, _) in &rows {
            if seq == 0 || seq > saved.counter {
                return Err(format!(
                    "the row in slot {slot} has creation number {seq}, outside 1..={}",
                    saved.counter
                ));
            }
            // Every slot was first filled by an insert, each of which drew a creation number;
            // but a table that took a loaded state's lineage (a change set spanning a load) may
            // span more slots than that lineage created, and its archive lists its empty slots.
            if saved.free.is_none() && u64::from(slot) >= saved.counter {
                return Err(format!(
                    "slot {slot} is beyond the {} rows ever created",
                    saved.counter
                ));
            }
            if previous == Some(slot) {
                return Err(format!("slot {slot} holds two rows"));
            }
            if u64::from(slot) >= bound {
                return Err(match saved.free {
                    Some(_) => format!(
                        "slot {slot} is beyond the {bound} slots that {} rows and the free list \
                         fill",
                        rows.len()
                    ),
                    None => format!(
                        "slot {slot} is beyond the slots {} rows can need (an archive without \
                         a free list may leave at most {bound} slots before its last row)",
                        rows.len()
                    ),
                });
            }
            previous = Some(slot);
        }
        if let Some(free) = &saved.free {
            check_free_list(free, &rows)?;
        }
        let mut seqs: Vec<u64> = rows.iter().map(|&(_, seq, _)| seq).collect();
        seqs.sort_unstable();
        if let Some(twice) = seqs.windows(2).find(|w| w[0] == w[1]) {
            return Err(format!("creation number {} appears twice", twice[0]));
        }
        let rows = rows.into_iter().filter_map(|(slot, seq, row)| {
            // Checked above: never zero.
            NonZeroU64::new(seq).map(|seq| (slot, seq, row))
        });
        let free = saved.free.as_deref();
        Ok(self.with_rows(Arena::restored(lineage, saved.counter, rows, free)))
    }
}

/// Whether `free` lists every vacant slot once: none holding one of `rows` (sorted by slot),
/// and every slot below the last of them holding a row or listed (so the archive's size pays
/// for every slot it makes a load rebuild).
fn check_free_list<T>(free: &[u32], rows: &[(u32, u64, T)]) -> Result<(), String> {
    let mut listed = free.to_vec();
    listed.sort_unstable();
    if let Some(twice) = listed.windows(2).find(|w| w[0] == w[1]) {
        return Err(format!("slot {} is twice on the free list", twice[0]));
    }
    for &slot in &listed {
        if rows.binary_search_by_key(&slot, |&(s, ..)| s).is_ok() {
            return Err(format!("slot {slot} is on the free list and holds a row"));
        }
    }
    let end = listed
        .last()
        .into_iter()
        .chain(rows.last().map(|(slot, ..)| slot))
        .map(|&slot| u64::from(slot) + 1)
        .max()
        .unwrap_or(0);
    if end != (listed.len() + rows.len()) as u64 {
        return Err(format!(
            "the free list names {} of the {} vacant slots",
            listed.len(),
            end - rows.len() as u64
        ));
    }
    Ok(())
}

/// The type-erased side of restoring, for [`ErasedTable`].
pub(crate) trait Restore {
    /// [`TableData::restored`] from a boxed `Saved<T>`.
    fn restored_from(
        &self,
        saved: Box<dyn Any>,
        current: NonZeroU32,
    ) -> Result<Box<dyn ErasedTable>, String>;
}

impl<T: Model> Restore for TableData<T> {
    fn restored_from(
        &self,
        saved: Box<dyn Any>,
        current: NonZeroU32,
    ) -> Result<Box<dyn ErasedTable>, String> {
        let saved = saved
            .downcast::<Saved<T>>()
            .map_err(|_| format!("rows of another model than {}", model_name::<T>()))?;
        Ok(Box::new(self.restored(*saved, current)?))
    }
}

impl Core {
    /// Replaces every table's rows with `saved` (one boxed `Saved<T>` per table, in catalog
    /// order), rebuilding every index with the checks of a write and then checking integrity.
    /// Each table becomes a new table instance. On error nothing changed.
    pub(crate) fn restore(&mut self, saved: Vec<Box<dyn Any>>) -> Result<()> {
        let rows_error = |model: &'static str, message: String| Error::Archive {
            problem: ArchiveProblem::Rows { model, message },
        };
        if saved.len() != self.tables.len() {
            return Err(rows_error(
                self.tables.first().map_or("", |_| self.table_name(0)),
                format!(
                    "the archive has {} tables, the database {}",
                    saved.len(),
                    self.tables.len()
                ),
            ));
        }
        let mut tables = Vec::with_capacity(saved.len());
        for (t, (table, saved)) in self.tables.iter().zip(saved).enumerate() {
            let current = declaration().ok_or(Error::Capacity {
                model: self.table_name(t),
            })?;
            let restored = table
                .restored_from(saved, current)
                .map_err(|message| rows_error(self.table_name(t), message))?;
            tables.push(restored);
        }
        let mut restored = Core {
            catalog: self.catalog.clone(),
            tables: Arc::new(tables),
        };
        let lineages = restored.lineages();
        // Keys first: a foreign key by attribute looks its source up in a unique index.
        for foreign in [false, true] {
            for t in 0..restored.tables.len() {
                let mut table = restored.tables[t].clone_box();
                table
                    .rebuild(&restored, &lineages, foreign)
                    .map_err(|error| Error::Archive {
                        problem: ArchiveProblem::Constraint(Box::new(error)),
                    })?;
                Arc::make_mut(&mut restored.tables)[t] = table;
            }
        }
        restored.check_integrity().map_err(|error| {
            rows_error(
                self.tables.first().map_or("", |_| self.table_name(0)),
                error.message().to_string(),
            )
        })?;
        *self = restored;
        Ok(())
    }
}
