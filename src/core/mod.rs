//! The private core: row storage, every index and the catalog, behind one write path.
//!
//! Nothing outside this module touches a row or an index. Reads go through [`Core::table`],
//! [`Core::fk`] and [`Core::key_index`], which check a handle's identity; writes go through a
//! [`Write`] ([`Core::write`]), whose methods validate each change, apply it to the rows and to
//! every index of the table, log it, and apply referential actions through the same methods.
//! Dropping a `Write` without committing it — an error, or a panic anywhere in user code —
//! undoes every change it made.
//!
//! Layers, bottom up: [`pvec`] (persistent vector) → [`rows`] (generational arena) and
//! [`bucket`] (sets of rows) → [`index`] (the indexes) → [`table`] (a table's rows and indexes)
//! → [`write`] and [`cascade`] (the write path, referential actions) and [`declare`] (the
//! catalog's declarations).

mod bucket;
mod cascade;
mod catalog;
mod declare;
mod index;
mod pvec;
mod restore;
mod rows;
mod table;
mod write;

use std::any::Any;
use std::num::NonZeroU32;

use triomphe::Arc;

pub(crate) use bucket::{Bucket, BucketIter};
pub(crate) use cascade::{Deletion, Plan};
pub(crate) use catalog::{AssocDef, declaration};
pub(crate) use declare::{AssocSpec, unknown};
pub(crate) use index::{FkIndex, KeyFn, KeyIndex};
pub(crate) use restore::Saved;
pub(crate) use rows::{Arena, Cursor, Iter as ArenaIter, RESERVE_MAX, SlotChange};
pub(crate) use table::TableData;
pub(crate) use write::{Write, not_found};

use crate::Model;
use crate::error::IntegrityError;
use crate::id::RawId;
use crate::key::Key;
use catalog::Catalog;
use table::ErasedTable;

/// Where a table handle points: its position in the catalog and the table instance's identity.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct TableAt {
    pub(crate) index: usize,
    pub(crate) decl: NonZeroU32,
}

/// Where an index handle points: its table, its position among the table's indexes, and its
/// identity.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct IndexAt {
    pub(crate) table: TableAt,
    pub(crate) pos: usize,
    pub(crate) decl: NonZeroU32,
}

/// Where an association handle points: its position in the catalog and its identity.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct AssocAt {
    pub(crate) index: usize,
    pub(crate) decl: NonZeroU32,
}

/// An association as a typed handle sees it: its definition, its index, and the target table.
pub(crate) struct Fk<'a, S, T, K> {
    pub(crate) def: &'a AssocDef,
    pub(crate) index: &'a FkIndex<S, T, K>,
    pub(crate) targets: &'a TableData<T>,
}

/// The database's state: the catalog and every table's data. Both are shared, copy-on-write,
/// with forks: cloning a `Core` is O(1).
#[derive(Clone, Default)]
pub(crate) struct Core {
    catalog: Arc<Catalog>,
    tables: Arc<Vec<Box<dyn ErasedTable>>>,
}

impl Core {
    /// Table `index`'s data, if it holds `T` rows. For the core's own paths, which trust indexes
    /// from the catalog.
    #[inline]
    pub(crate) fn data<T: Model>(&self, index: usize) -> Option<&TableData<T>> {
        (&**self.tables.get(index)? as &dyn Any).downcast_ref()
    }

    /// The number of tables.
    pub(crate) fn table_count(&self) -> usize {
        self.tables.len()
    }

    /// The row type of table `index`.
    pub(crate) fn table_type(&self, index: usize) -> Option<std::any::TypeId> {
        Some(self.catalog.tables.get(index)?.type_id)
    }

    /// The ids of table `index`'s live rows, in creation order. O(n log n).
    pub(crate) fn ids_of(&self, index: usize) -> Vec<RawId> {
        self.tables.get(index).map_or_else(Vec::new, |t| t.ids())
    }

    /// The foreign keys table `index` holds: `(field name, row → key as shown)`.
    pub(crate) fn keys_of(
        &self,
        index: usize,
    ) -> Vec<(&'static str, impl Fn(RawId) -> String + '_)> {
        let Some(def) = self.catalog.tables.get(index) else {
            return Vec::new();
        };
        def.fks
            .iter()
            .map(|&a| {
                let assoc = &self.catalog.assocs[a];
                let show = move |id| assoc.ops.show_key(self, assoc, id).unwrap_or_default();
                (assoc.field, show)
            })
            .collect()
    }

    /// The schema as text: see `Catalog::describe`.
    pub(crate) fn schema(&self) -> Vec<String> {
        self.catalog.describe()
    }

    /// The data of the table `at` names, if this database declared it. O(1).
    #[inline]
    pub(crate) fn table<T: Model>(&self, at: TableAt) -> Option<&TableData<T>> {
        if self.catalog.tables.get(at.index)?.decl != at.decl {
            return None;
        }
        self.data(at.index)
    }

    /// The unique or secondary index `at` names, with its table, if this database declared it.
    #[inline]
    pub(crate) fn key_index<T: Model, K: Key>(
        &self,
        at: IndexAt,
    ) -> Option<(&TableData<T>, &KeyIndex<T, K>)> {
        let table = self.table::<T>(at.table)?;
        if self.catalog.tables[at.table.index]
            .indexes
            .get(at.pos)?
            .decl
            != at.decl
        {
            return None;
        }
        Some((table, table.index(at.pos)?))
    }

    /// The definition of the association `at` names, if this database declared it. O(1).
    #[inline]
    pub(crate) fn assoc(&self, at: AssocAt) -> Option<&AssocDef> {
        self.catalog
            .assocs
            .get(at.index)
            .filter(|def| def.decl == at.decl)
    }

    /// The association `at` names, typed, if this database declared it. O(1).
    #[inline]
    pub(crate) fn fk<S: Model, T: Model, K: Key>(&self, at: AssocAt) -> Option<Fk<'_, S, T, K>> {
        let def = self.assoc(at)?;
        let targets = self.data::<T>(def.target)?;
        Some(Fk {
            def,
            index: targets.index(def.index)?,
            targets,
        })
    }

    /// The name of table `index`'s model.
    pub(crate) fn table_name(&self, index: usize) -> &'static str {
        self.catalog.tables.get(index).map_or("?", |t| t.name)
    }

    /// The identity of table `index`.
    pub(crate) fn table_at(&self, index: usize) -> Option<TableAt> {
        let def = self.catalog.tables.get(index)?;
        Some(TableAt {
            index,
            decl: def.decl,
        })
    }

    /// The table of `T` rows, if one was declared.
    pub(crate) fn table_of<T: Model>(&self) -> Option<TableAt> {
        let index = *self.catalog.by_type.get(&std::any::TypeId::of::<T>())?;
        self.table_at(index)
    }

    /// Each table's model name and number of rows, in declaration order.
    pub(crate) fn sizes(&self) -> impl Iterator<Item = (&'static str, usize)> + '_ {
        self.catalog
            .tables
            .iter()
            .zip(self.tables.iter())
            .map(|(def, data)| (def.name, data.len()))
    }

    /// Which ids the rows of table `index` carry.
    #[inline]
    pub(crate) fn lineage(&self, index: usize) -> Option<&crate::id::Lineage> {
        self.tables.get(index).map(|t| t.lineage())
    }

    /// Every table's lineage, by table index: what the indexes follow.
    pub(crate) fn lineages(&self) -> Vec<crate::id::Lineage> {
        self.tables.iter().map(|t| t.lineage().clone()).collect()
    }

    /// The id of row `member` of table `index`.
    #[inline]
    pub(crate) fn id_in(&self, index: usize, member: crate::id::Member) -> Option<RawId> {
        self.lineage(index).map(|l| l.id(member))
    }

    /// Whether `id` names a live row of table `index`.
    pub(crate) fn contains(&self, index: usize, id: RawId) -> bool {
        self.tables.get(index).is_some_and(|t| t.row(id).is_some())
    }

    /// Opens the write path. See [`Write`].
    #[inline]
    pub(crate) fn write(&mut self) -> Write<'_> {
        Write::new(self)
    }

    /// Whether `other` declares the same tables (the same declarations, in the same places).
    /// O(tables).
    pub(crate) fn same_tables(&self, other: &Core) -> bool {
        self.catalog.tables.len() == other.catalog.tables.len()
            && self
                .catalog
                .tables
                .iter()
                .zip(&other.catalog.tables)
                .all(|(a, b)| a.decl == b.decl)
    }

    /// Whether `other` declares the same tables and holds the same rows, none written between
    /// the two states. O(changes) when one derives from the other.
    pub(crate) fn same_rows(&self, other: &Core) -> bool {
        self.same_tables(other)
            && self
                .tables
                .iter()
                .zip(other.tables.iter())
                .all(|(a, b)| !a.rows_differ(&**b))
    }

    /// For each table whose rows differ between `self` and `other` (a later state declaring the
    /// same tables): its name and `[inserted, deleted, written]` (see
    /// `ErasedTable::row_changes`). O(changes) when one state derives from the other.
    pub(crate) fn row_changes(&self, other: &Core) -> Vec<(&'static str, [usize; 3])> {
        let tables = self.tables.iter().zip(other.tables.iter());
        tables
            .enumerate()
            .filter_map(|(t, (a, b))| {
                let counts = a.row_changes(&**b)?;
                (counts != [0; 3]).then(|| (self.table_name(t), counts))
            })
            .collect()
    }

    /// Recomputes every index from the rows and compares it with the maintained one; checks
    /// that no foreign key dangles. O(n log n).
    pub(crate) fn check_integrity(&self) -> Result<(), IntegrityError> {
        for (def, data) in self.catalog.tables.iter().zip(self.tables.iter()) {
            data.verify(self).map_err(|message| IntegrityError {
                message: format!("table {}: {message}", def.name),
            })?;
        }
        Ok(())
    }
}

/// Entries an empty undo log may keep room for.
const LOG_KEPT: usize = 64;

/// Empties an undo log at the end of an operation, giving back the memory of a large one: a log
/// lives as long as its table or index, and one big operation (declaring an index over a million
/// rows, a bulk insert) must not leave it holding memory in proportion to that operation.
pub(crate) fn clear_log<V>(log: &mut Vec<V>) {
    if log.capacity() > LOG_KEPT {
        *log = Vec::new();
    } else {
        log.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::{LOG_KEPT, clear_log};

    #[test]
    fn a_large_log_gives_its_memory_back_and_a_small_one_keeps_it() {
        let mut large: Vec<u64> = (0..10_000).collect();
        clear_log(&mut large);
        assert!(large.is_empty());
        assert!(large.capacity() <= LOG_KEPT, "{}", large.capacity());
        let mut small: Vec<u64> = Vec::with_capacity(8);
        small.extend(0..8);
        clear_log(&mut small);
        assert!(small.is_empty());
        assert_eq!(small.capacity(), 8);
    }
}
