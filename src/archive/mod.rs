//! Saving a whole database to any [serde](https://serde.rs) format and loading it back, with
//! its ids (feature `serde`, on by default).
//!
//! An [`Archive`] lists the row types to save; [`Archive::save`] writes a database through any
//! serde `Serializer`, [`Archive::load`] reads one into a database declared with the same
//! schema. [`Archive::save_file`] and [`Archive::load_file`] do the same with a JSON file,
//! crash-safely.
//!
//! What an archive holds, in order: the format name (`"relata"`) and [`VERSION`], the writing
//! process's number, the schema (one line per table, index and association) and its
//! fingerprint, and per table its lineage, its creation counter and its rows as
//! `(slot, creation number, row)`. Ids inside rows (foreign
//! keys) are written as four integers (see `Id`'s `Serialize`).

mod file;
mod ids;
mod load;

use std::any::{Any, TypeId};
use std::collections::HashMap;

use serde::ser::{SerializeSeq, SerializeStruct};
use serde::{Deserialize, Serialize, Serializer};

pub use file::{Disk, Storage};

use crate::core::{Core, Saved, TableData};
use crate::error::{ArchiveProblem, Error, Result};
use crate::id::model_name;
use crate::{Db, Model};

/// The archive format version this relata writes and reads.
pub const VERSION: u32 = 1;

/// The format name every archive starts with.
const FORMAT: &str = "relata";

/// The row types of a schema whose tables can be saved and loaded; see the
/// [module docs](self). Build it once per schema and use it with every database declared with
/// that schema (it holds no database handles).
///
/// ```
/// use relata::{Archive, Db, HasMany, Id, Table};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
/// struct Team { name: String }
/// #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
/// struct Unit { team: Id<Team>, hp: u32 }
///
/// // The schema, declared by one function for the saving and the loading database.
/// fn declare(db: &mut Db) -> relata::Result<(Table<Team>, Table<Unit>, HasMany<Team, Unit>)> {
///     let teams = db.create_table::<Team>()?;
///     let units = db.create_table::<Unit>()?;
///     let roster = db.has_many(teams, units, relata::fk!(Unit, team))?;
///     Ok((teams, units, roster))
/// }
///
/// let archive = Archive::new().table::<Team>().table::<Unit>();
///
/// let mut db = Db::new();
/// let (teams, units, roster) = declare(&mut db)?;
/// let red = teams.insert(&mut db, Team { name: "red".into() })?;
/// let scout = roster.create(&mut db, red, Unit { team: red, hp: 10 })?;
/// let json = archive.to_json(&db)?;
///
/// let mut loaded = Db::new();
/// let (_, units, roster) = declare(&mut loaded)?;
/// archive.load_json(&mut loaded, &json)?;
/// // The same ids name the same rows, and the links are there.
/// assert_eq!(units.get(&loaded, scout)?.hp, 10);
/// assert_eq!(roster.count(&loaded, red)?, 1);
/// # Ok::<(), relata::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct Archive {
    tables: HashMap<TypeId, Entry>,
}

/// How one row type is written and read.
#[derive(Clone, Copy)]
struct Entry {
    model: &'static str,
    save: for<'a> fn(&'a Core, usize) -> Option<Box<dyn erased_serde::Serialize + 'a>>,
    load: load::LoadFn,
}

impl std::fmt::Debug for Archive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut models: Vec<&str> = self.tables.values().map(|e| e.model).collect();
        models.sort_unstable();
        f.debug_struct("Archive").field("tables", &models).finish()
    }
}

impl Archive {
    /// An archive of no tables yet. O(1).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the table of `T` rows: its rows are written with `T`'s `Serialize` and read with
    /// its `Deserialize`. Every table of a database must be added before it can be saved or
    /// loaded. O(1).
    pub fn table<T>(mut self) -> Self
    where
        T: Model + Serialize + for<'de> Deserialize<'de>,
    {
        self.tables.insert(
            TypeId::of::<T>(),
            Entry {
                model: model_name::<T>(),
                save: save_table::<T>,
                load: load::load_table::<T>,
            },
        );
        self
    }

    /// The entry of every table of `core`, in catalog order.
    fn entries(&self, core: &Core) -> Result<Vec<Entry>> {
        (0..core.table_count())
            .map(|t| {
                core.table_type(t)
                    .and_then(|type_id| self.tables.get(&type_id).copied())
                    .ok_or(Error::Archive {
                        problem: ArchiveProblem::Unregistered {
                            model: core.table_name(t),
                        },
                    })
            })
            .collect()
    }

    /// Writes `db` through `serializer`: every table's rows with their ids, the counters that
    /// keep ids unique, and the schema. A consistent state by construction (a `&Db` does not
    /// change while it is written). O(rows) time; memory beyond the serializer's own is
    /// O(tables).
    ///
    /// Fails with [`ArchiveProblem::Unregistered`] before writing anything when the database
    /// has a table the archive does not list, and with [`ArchiveProblem::Format`] when the
    /// serializer (or a row's `Serialize`) fails.
    pub fn save<S: Serializer>(&self, db: &Db, serializer: S) -> Result<S::Ok> {
        let entries = self.entries(&db.core)?;
        let _scope = ids::Scope::saving();
        Written {
            core: &db.core,
            entries: &entries,
        }
        .serialize(serializer)
        .map_err(|e| format_error(e.to_string()))
    }

    /// `db` as JSON ([`save`](Archive::save) through `serde_json`). O(rows).
    pub fn to_json(&self, db: &Db) -> Result<String> {
        let mut out = Vec::new();
        self.save(db, &mut serde_json::Serializer::new(&mut out))?;
        String::from_utf8(out).map_err(|e| format_error(e.to_string()))
    }

    /// Loads JSON written by [`to_json`](Archive::to_json) into `db`, like
    /// [`load`](Archive::load). O(rows).
    pub fn load_json(&self, db: &mut Db, json: &str) -> Result<()> {
        self.load(db, &mut serde_json::Deserializer::from_str(json))
    }
}

fn format_error(message: String) -> Error {
    Error::Archive {
        problem: ArchiveProblem::Format { message },
    }
}

/// The schema's fingerprint: 64-bit FNV-1a of its description, one line after another, in hex.
fn fingerprint(schema: &[String]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for line in schema {
        for byte in line.bytes().chain([b'\n']) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

/// A whole database, as written.
struct Written<'a> {
    core: &'a Core,
    entries: &'a [Entry],
}

impl Serialize for Written<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let schema = self.core.schema();
        let mut out = serializer.serialize_struct("Archive", 6)?;
        out.serialize_field("format", FORMAT)?;
        out.serialize_field("version", &VERSION)?;
        out.serialize_field("process", &ids::process())?;
        out.serialize_field("fingerprint", &fingerprint(&schema))?;
        out.serialize_field("schema", &schema)?;
        out.serialize_field("tables", &Tables(self))?;
        out.end()
    }
}

struct Tables<'a, 'b>(&'b Written<'a>);

impl Serialize for Tables<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let Written { core, entries } = self.0;
        let mut out = serializer.serialize_seq(Some(entries.len()))?;
        for (t, entry) in entries.iter().enumerate() {
            let table = (entry.save)(core, t).ok_or_else(|| {
                serde::ser::Error::custom(format!("table {} is not of its model", entry.model))
            })?;
            out.serialize_element(&table)?;
        }
        out.end()
    }
}

/// One table, as written: `{model, history, current, counter, rows}`.
struct WrittenTable<'a, T> {
    data: &'a TableData<T>,
}

fn save_table<T: Model + Serialize>(
    core: &Core,
    index: usize,
) -> Option<Box<dyn erased_serde::Serialize + '_>> {
    let data = core.data::<T>(index)?;
    Some(Box::new(WrittenTable { data }))
}

impl<T: Model + Serialize> Serialize for WrittenTable<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let rows = self.data.rows();
        let lineage = rows.lineage();
        let history: Vec<(u32, u64)> = lineage
            .history()
            .iter()
            .map(|&(n, boundary)| (n.get(), boundary))
            .collect();
        let mut out = serializer.serialize_struct("Table", 5)?;
        out.serialize_field("model", model_name::<T>())?;
        out.serialize_field("history", &history)?;
        out.serialize_field("current", &lineage.current().get())?;
        out.serialize_field("counter", &rows.counter())?;
        out.serialize_field("rows", &Rows(self.data))?;
        out.end()
    }
}

struct Rows<'a, T>(&'a TableData<T>);

impl<T: Model + Serialize> Serialize for Rows<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let rows = self.0.rows();
        let mut out = serializer.serialize_seq(Some(rows.len()))?;
        for (id, row) in rows.iter() {
            out.serialize_element(&(id.slot(), id.seq(), row))?;
        }
        out.end()
    }
}

/// A table as read, before it is restored.
fn into_saved<T: Model>(
    history: Vec<(u32, u64)>,
    current: u32,
    counter: u64,
    rows: Vec<(u32, u64, T)>,
) -> Box<dyn Any> {
    Box::new(Saved {
        history,
        current,
        counter,
        rows,
    })
}
