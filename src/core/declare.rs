//! Declarations: tables, indexes and associations join the catalog here. Each builds what it
//! adds (indexing the rows already stored, and checking them) before changing anything, so a
//! declaration that fails leaves the database as it was.

use std::any::Any;
use std::any::TypeId;

use triomphe::Arc;

use super::cascade::Ops;
use super::catalog::{AssocDef, IndexDef, TableDef, declaration};
use super::index::{FkIndex, KeyFn, KeyIndex, RowIndex, SourceKey};
use super::rows::Arena;
use super::table::TableData;
use super::{AssocAt, Core, IndexAt, TableAt};
use crate::Model;
use crate::assoc::{AssocOptions, OnDelete, OnUpdate, Unlink};
use crate::error::{Error, Result};
use crate::id::{RawId, model_name};
use crate::key::{ForeignKey, Key, Span};

/// An association to declare.
pub(crate) struct AssocSpec<T, K> {
    pub(crate) source: TableAt,
    pub(crate) target: TableAt,
    pub(crate) fk: ForeignKey<T, K>,
    /// The source key's unique index; `None` for id keys.
    pub(crate) source_key: Option<IndexAt>,
    pub(crate) options: AssocOptions,
    /// HasOne: at most one target row per source.
    pub(crate) unique: bool,
}

fn definition(message: String) -> Error {
    Error::Definition { message }
}

fn exhausted<T>() -> Error {
    Error::Capacity {
        model: model_name::<T>(),
    }
}

impl Core {
    /// Declares a table of `T` rows. A database holds at most one table per row type.
    pub(crate) fn create_table<T: Model>(&mut self) -> Result<TableAt> {
        let name = model_name::<T>();
        let type_id = TypeId::of::<T>();
        if self.catalog.by_type.contains_key(&type_id) {
            return Err(definition(format!(
                "a table of {name} already exists in this database; use `db.table::<{name}>()` to get its handle"
            )));
        }
        let decl = declaration().ok_or_else(exhausted::<T>)?;
        let index = self.tables.len();
        let catalog = Arc::make_mut(&mut self.catalog);
        catalog.by_type.insert(type_id, index);
        catalog.tables.push(TableDef {
            name,
            type_name: std::any::type_name::<T>(),
            type_id,
            decl,
            fks: Vec::new(),
            refs: Vec::new(),
            indexes: Vec::new(),
        });
        Arc::make_mut(&mut self.tables).push(Box::new(TableData::new(Arena::<T>::new(decl))));
        Ok(TableAt { index, decl })
    }

    /// Adds `index` (built over table `at`'s rows by the caller) to the table and the catalog.
    fn push_index<T: Model>(
        &mut self,
        at: TableAt,
        index: Box<dyn RowIndex<T>>,
        span: Option<Span>,
        describe: String,
    ) -> Result<IndexAt> {
        let decl = declaration().ok_or_else(exhausted::<T>)?;
        let data = Arc::make_mut(&mut self.tables)
            .get_mut(at.index)
            .and_then(|t| (&mut **t as &mut dyn Any).downcast_mut::<TableData<T>>())
            .ok_or_else(|| unknown::<T>("table"))?;
        let pos = data.add_index(index);
        let catalog = Arc::make_mut(&mut self.catalog);
        catalog.tables[at.index].indexes.push(IndexDef {
            decl,
            span,
            describe,
        });
        catalog.refresh_relinks(at.index);
        Ok(IndexAt {
            table: at,
            pos,
            decl,
        })
    }

    /// Declares a unique or secondary index on table `at`, over the key `key` reads. The rows
    /// already stored are indexed (and, for a unique index, must already be unique).
    pub(crate) fn add_key_index<T: Model, K: Key>(
        &mut self,
        at: TableAt,
        name: &'static str,
        key: KeyFn<T, K>,
        span: Option<Span>,
        unique: bool,
    ) -> Result<IndexAt> {
        let data = self.table::<T>(at).ok_or_else(|| unknown::<T>("table"))?;
        let mut index = KeyIndex::new(name, data.rows().lineage().clone(), key, unique);
        for (id, row) in by_creation(data) {
            index.check(self, Some(id), None, row)?;
            index.insert(id.member(), row);
            // Nothing to undo (a failed declaration drops the index), and the log must not
            // make a clash between two stored rows read as one with a row this call wrote.
            index.commit();
        }
        let kind = if unique { "unique" } else { "index" };
        self.push_index(at, Box::new(index), span, format!("{kind} {name}"))
    }

    /// Declares an association. The target rows already stored are indexed, and their keys
    /// must resolve.
    pub(crate) fn add_assoc<S: Model, T: Model, K: Key>(
        &mut self,
        spec: AssocSpec<T, K>,
    ) -> Result<AssocAt> {
        let AssocSpec {
            source,
            target,
            fk,
            source_key,
            options,
            unique,
        } = spec;
        let target_model = model_name::<T>();
        self.table::<S>(source)
            .ok_or_else(|| unknown::<S>("table"))?;
        let data = self
            .table::<T>(target)
            .ok_or_else(|| unknown::<T>("table"))?;
        // A name given twice from one model would make messages ambiguous (Sequelize: "aliased
        // associations must have unique aliases"). Default names may repeat.
        if let Some(name) = options.name.filter(|_| !options.built_name)
            && let Some(other) = self
                .catalog
                .assocs
                .iter()
                .find(|a| a.source == source.index && a.name == name)
        {
            return Err(definition(format!(
                "{} already has an association named `{name}` (to {} by {}.{}); give this one \
                 another name, so that messages tell them apart",
                model_name::<S>(),
                self.catalog.tables[other.target].name,
                self.catalog.tables[other.target].name,
                other.field,
            )));
        }
        let key = match source_key {
            None => SourceKey::Id,
            Some(at) => {
                let index = match self.key_index::<S, K>(at) {
                    Some((_, index)) if at.table == source => index,
                    _ => return Err(unknown::<S>("unique index")),
                };
                if index.is_partial() {
                    // A row its filter leaves out would be a source without a key: relata
                    // keeps source keys non-null.
                    return Err(definition(format!(
                        "association `{}`: unique index `{}` of {} leaves rows out (it has a filter), \
                         so it cannot be a source key, which every source row must have; declare \
                         the source key on a unique index without a filter",
                        options.name.unwrap_or(target_model),
                        index.name(),
                        model_name::<S>(),
                    )));
                }
                SourceKey::Attr { pos: at.pos }
            }
        };
        let target_def = &self.catalog.tables[target.index];
        for &a in &target_def.fks {
            let other = &self.catalog.assocs[a];
            let other_span = target_def.indexes[other.index].span;
            let same_field = other.field == fk.name
                || (fk.span.is_some()
                    && other_span.is_some()
                    && Span::overlap(fk.span, other_span));
            if same_field {
                return Err(definition(format!(
                    "{target_model}.{} already carries association `{}`; a key carries one \
                     association: use that one's `inverse()` for the other side (a junction key \
                     of a many-to-many: its `junction_rows()`, `.inverse()` of that for the \
                     belongs-to side), or with `#[derive(Schema)]` declare the other side as \
                     `inverse_of = <field>` (`junction_of = <field>`)",
                    fk.name, other.name
                )));
            }
        }
        let nullable = fk.is_nullable();
        let on_delete = options.on_delete.unwrap_or(if nullable {
            OnDelete::SetNull
        } else {
            OnDelete::Cascade
        });
        if !nullable && (on_delete == OnDelete::SetNull || options.on_update == OnUpdate::SetNull) {
            let which = if on_delete == OnDelete::SetNull {
                "on_delete"
            } else {
                "on_update"
            };
            return Err(definition(format!(
                "association `{}`: {which}(SetNull) needs a nullable foreign key, but \
                 {target_model}.{} is not an Option; make the field an Option or choose another \
                 {which} action",
                options.name.unwrap_or(target_model),
                fk.name
            )));
        }
        let unlink = options.unlink.unwrap_or(if nullable {
            Unlink::Nullify
        } else {
            Unlink::Reject
        });
        if unlink == Unlink::Nullify && !nullable {
            return Err(definition(format!(
                "the Nullify unlink policy needs a nullable foreign key, but {target_model}.{} is \
                 not an Option; make the field an Option, or choose Unlink::Reject (unlinking is \
                 refused) or Unlink::Delete (an unlinked row is deleted)",
                fk.name
            )));
        }
        let name = options.name.unwrap_or(target_model);
        let source_lineage = self
            .data::<S>(source.index)
            .ok_or_else(|| unknown::<S>("table"))?
            .rows()
            .lineage()
            .clone();
        let mut index = FkIndex::<S, T, K>::new(
            fk,
            name,
            data.rows().lineage().clone(),
            source.index,
            source_lineage,
            key,
            unique,
        );
        for (id, row) in by_creation(data) {
            index.check(self, Some(id), None, row)?;
            index.insert(id.member(), row);
            // As in `add_key_index`: rows already stored, none written by this call.
            index.commit();
        }
        let decl = declaration().ok_or_else(exhausted::<T>)?;
        let at = self.push_index(target, Box::new(index), fk.span, format!("key {}", fk.name))?;
        let catalog = Arc::make_mut(&mut self.catalog);
        let assoc = catalog.assocs.len();
        catalog.assocs.push(AssocDef {
            decl,
            name,
            inverse: options.inverse.unwrap_or(fk.name),
            source: source.index,
            target: target.index,
            index: at.pos,
            field: fk.name,
            nullable,
            on_delete,
            on_update: options.on_update,
            unlink,
            unique,
            source_key: match key {
                SourceKey::Id => None,
                SourceKey::Attr { pos } => Some(pos),
            },
            relink_fast: false,
            link_by_id: false,
            ops: Ops::<S, T, K>::VTABLE,
        });
        catalog.tables[target.index].fks.push(assoc);
        catalog.tables[source.index].refs.push(assoc);
        catalog.refresh_relinks(target.index);
        Ok(AssocAt { index: assoc, decl })
    }
}

/// A table's rows in creation order, so that a declaration reports the first offending row.
fn by_creation<T: Model>(data: &TableData<T>) -> Vec<(RawId, &T)> {
    let mut rows: Vec<_> = data.rows().iter().collect();
    rows.sort_unstable_by_key(|(id, _)| *id);
    rows
}

/// The error for a handle this database did not declare.
#[cold]
pub(crate) fn unknown<T>(kind: &str) -> Error {
    Error::UnknownHandle {
        handle: format!("the {kind} handle for {}", model_name::<T>()),
    }
}
