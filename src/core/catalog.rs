//! The catalog: what a database has declared (tables, their indexes, associations), and the
//! declaration numbers that give every table and handle its identity.

use std::any::TypeId;
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};

use super::cascade::AssocOps;
use crate::assoc::{OnDelete, OnUpdate, Unlink};
use crate::key::Span;

/// A fresh declaration number, unique in the process and never reused: the identity of a table
/// instance, an index or an association. `None` once `u32::MAX - 1` have been drawn.
pub(crate) fn declaration() -> Option<NonZeroU32> {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    let n = NEXT
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
            (n < u32::MAX - 1).then_some(n + 1)
        })
        .ok()?;
    NonZeroU32::new(n)
}

/// Definitions, shared (copy-on-write) by a database and its forks.
#[derive(Clone, Default)]
pub(crate) struct Catalog {
    pub(super) tables: Vec<TableDef>,
    pub(super) assocs: Vec<AssocDef>,
    pub(super) by_type: HashMap<TypeId, usize>,
}

/// One table.
#[derive(Clone)]
pub(crate) struct TableDef {
    pub(super) name: &'static str,
    /// The row type's full path (`std::any::type_name`): tells apart two models of one name.
    pub(super) type_name: &'static str,
    /// The row type.
    pub(super) type_id: TypeId,
    pub(super) decl: NonZeroU32,
    /// Associations whose foreign key lives on this table (it is their target).
    pub(super) fks: Vec<usize>,
    /// Associations whose foreign key references this table (it is their source).
    pub(super) refs: Vec<usize>,
    /// Every index kept on this table's rows, in the order of its `TableData::indexes`.
    pub(super) indexes: Vec<IndexDef>,
}

/// One index on a table's rows: a foreign key's, a unique or a secondary index.
#[derive(Clone)]
pub(crate) struct IndexDef {
    pub(super) decl: NonZeroU32,
    /// What it is, for the schema description: `unique email`, `index by_city`, or for a
    /// foreign key's index `key author`.
    pub(super) describe: String,
    /// The fields it reads, when known (`None`: any field).
    pub(super) span: Option<Span>,
}

/// One association: a foreign key on `target` referencing `source`.
#[derive(Clone)]
pub(crate) struct AssocDef {
    pub(super) decl: NonZeroU32,
    pub(super) name: &'static str,
    pub(super) inverse: &'static str,
    pub(super) source: usize,
    pub(super) target: usize,
    /// Position of its foreign-key index among the target table's indexes.
    pub(super) index: usize,
    pub(super) field: &'static str,
    pub(super) nullable: bool,
    pub(super) on_delete: OnDelete,
    pub(super) on_update: OnUpdate,
    pub(super) unlink: Unlink,
    /// HasOne: at most one target row per source.
    pub(super) unique: bool,
    /// Position of the source key's unique index among the source table's indexes; `None` when
    /// the key is the source's id.
    pub(super) source_key: Option<usize>,
    /// Whether a relink may write the key in place and move it in this index only: the key's
    /// field is known and no other index of the target table reads it.
    pub(super) relink_fast: bool,
    /// Whether `relink_fast` holds and the key is the source's id, not unique: `add` and
    /// `remove` then take `TableData::link_by_id`.
    pub(super) link_by_id: bool,
    pub(super) ops: &'static dyn AssocOps,
}

impl AssocDef {
    /// The association's name, as in messages.
    pub(crate) fn name(&self) -> &'static str {
        self.name
    }
    /// The inverse association's name.
    pub(crate) fn inverse(&self) -> &'static str {
        self.inverse
    }
    /// The foreign-key field's name.
    pub(crate) fn field(&self) -> &'static str {
        self.field
    }
    /// Whether the foreign key may be null.
    pub(crate) fn nullable(&self) -> bool {
        self.nullable
    }
    /// The unlink policy of `set` and `remove`.
    pub(crate) fn unlink(&self) -> Unlink {
        self.unlink
    }
    /// The source table's index.
    pub(crate) fn source(&self) -> usize {
        self.source
    }
    /// The target table's index.
    pub(crate) fn target(&self) -> usize {
        self.target
    }
}

impl Catalog {
    /// Recomputes which associations targeting `table` may relink in place: those whose field is
    /// known and overlaps no other index of the table. Called whenever the table gains an index.
    pub(super) fn refresh_relinks(&mut self, table: usize) {
        let Catalog { tables, assocs, .. } = self;
        let def = &tables[table];
        for &a in &def.fks {
            let own = assocs[a].index;
            let span = def.indexes[own].span;
            let assoc = &mut assocs[a];
            assoc.relink_fast = span.is_some()
                && def
                    .indexes
                    .iter()
                    .enumerate()
                    .all(|(i, other)| i == own || !Span::overlap(span, other.span));
            assoc.link_by_id = assoc.relink_fast && assoc.source_key.is_none() && !assoc.unique;
        }
    }
}

impl Catalog {
    /// The schema as text, one line per table, index and association, in declaration order:
    /// what an archive records to recognise the schema it was saved with. Indexes given by a
    /// closure are described by their name only. Tables of two models of one name (from two
    /// modules) are named by their full paths, so that an archive cannot mistake one for the
    /// other.
    pub(crate) fn describe(&self) -> Vec<String> {
        let mut names: HashMap<&str, usize> = HashMap::new();
        for def in &self.tables {
            *names.entry(def.name).or_default() += 1;
        }
        let label = |t: usize| -> String {
            let def = &self.tables[t];
            if names.get(def.name).is_some_and(|&n| n > 1) {
                def.type_name.to_string()
            } else {
                def.name.to_string()
            }
        };
        let mut lines = Vec::new();
        for (t, def) in self.tables.iter().enumerate() {
            lines.push(format!("table {}", label(t)));
            for index in &def.indexes {
                lines.push(format!("  {}", index.describe));
            }
        }
        for a in &self.assocs {
            let kind = if a.unique { "has one" } else { "has many" };
            let key = match a.source_key {
                None => "id".to_string(),
                Some(pos) => self.tables[a.source].indexes[pos].describe.clone(),
            };
            lines.push(format!(
                "assoc {name}: {source} {kind} {target} by {target}.{field}{null} -> {source} {key}; \
                 on delete {del:?}, on update {upd:?}, unlink {unlink:?}",
                name = a.name,
                source = label(a.source),
                target = label(a.target),
                field = a.field,
                null = if a.nullable { " (nullable)" } else { "" },
                del = a.on_delete,
                upd = a.on_update,
                unlink = a.unlink,
            ));
        }
        lines
    }
}
