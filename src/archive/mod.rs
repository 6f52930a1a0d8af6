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
//! fingerprint, and per table its lineage, its creation counter, its rows as
//! `(slot, creation number, row)` and its free list (the vacant slots in the order inserts
//! take them; since version 2). Ids inside rows (foreign
//! keys) are written as four integers (see `Id`'s `Serialize`).
//!
//! Only the ids inside the archive are mapped on a load: an id written with serde on its own
//! (a selection in the UI, a save slot's "current unit" beside the archive) carries the
//! process that wrote it, and read in another process it is the dangling id, which names no
//! row (`NotFound`, never another row; see `Id`'s `Serialize`). Keep such references in an
//! archived table (a one-row `Selection { unit: Option<Id<Unit>> }`), or look the row up again
//! by a unique key after loading.

mod file;
mod ids;
mod load;
mod tables;

use serde::ser::{SerializeSeq, SerializeStruct};

use serde::{Deserialize, Serialize, Serializer};

pub use file::{Disk, Storage};
pub use tables::{Tables, With};

use crate::core::{Core, TableData};
use crate::error::{ArchiveProblem, Error, Result};
use crate::id::model_name;
use crate::{Db, Model};

/// The archive format version this relata writes. It reads this one and every earlier one
/// (version 1 did not record the tables' free lists: a load rebuilt them highest slot first).
pub const VERSION: u32 = 2;

/// The oldest archive format version this relata reads.
const OLDEST_VERSION: u32 = 1;

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
///
/// An archive's type lists its row types (`Archive<With<Unit, With<Team, ()>>>`), so that every
/// table is written and read by code made for its row type and the format: name it as
/// `Archive<impl Tables>` when a function returns one.
#[derive(Clone)]
pub struct Archive<L = ()> {
    tables: L,
}

impl Default for Archive {
    fn default() -> Self {
        Archive::new()
    }
}

impl<L: Tables> std::fmt::Debug for Archive<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut models = Vec::new();
        self.tables.__models(&mut models);
        f.debug_struct("Archive").field("tables", &models).finish()
    }
}

impl Archive {
    /// An archive of no tables yet. O(1).
    pub fn new() -> Self {
        Archive { tables: () }
    }
}

impl<L: Tables> Archive<L> {
    /// Adds the table of `T` rows: its rows are written with `T`'s `Serialize` and read with
    /// its `Deserialize`. Every table of a database must be added before it can be saved or
    /// loaded. O(1).
    pub fn table<T>(self) -> Archive<With<T, L>>
    where
        T: Model + Serialize + for<'de> Deserialize<'de>,
    {
        Archive {
            tables: With::new(self.tables),
        }
    }

    /// Checks that every table of `core` is listed.
    fn check_listed(&self, core: &Core) -> Result<()> {
        for t in 0..core.table_count() {
            let listed = core
                .table_type(t)
                .and_then(|type_id| self.tables.__model(type_id));
            if listed.is_none() {
                return Err(Error::Archive {
                    problem: ArchiveProblem::Unregistered {
                        model: core.table_name(t),
                    },
                });
            }
        }
        Ok(())
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
        self.check_listed(&db.core)?;
        let _scope = ids::Scope::saving();
        Written {
            db,
            tables: &self.tables,
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
    /// [`load`](Archive::load); anything but whitespace after the archive (a second archive,
    /// a damaged tail) is [`ArchiveProblem::Format`] and loads nothing. O(rows).
    pub fn load_json(&self, db: &mut Db, json: &str) -> Result<()> {
        self.load_whole_json(db, serde_json::Deserializer::from_str(json))
    }

    /// Reads one JSON archive from `input`, checks that nothing follows it, then restores it.
    fn load_whole_json<'de, R: serde_json::de::Read<'de>>(
        &self,
        db: &mut Db,
        mut input: serde_json::Deserializer<R>,
    ) -> Result<()> {
        let tables = self.read(db, &mut input)?;
        input
            .end()
            .map_err(|e| format_error(format!("after the archive: {e}")))?;
        db.core.restore(tables)
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
struct Written<'a, L> {
    db: &'a Db,
    tables: &'a L,
}

impl<L: Tables> Serialize for Written<'_, L> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let schema = self.db.core.schema();
        let mut out = serializer.serialize_struct("Archive", 6)?;
        out.serialize_field("format", FORMAT)?;
        out.serialize_field("version", &VERSION)?;
        out.serialize_field("process", &ids::process())?;
        out.serialize_field("fingerprint", &fingerprint(&schema))?;
        out.serialize_field("schema", &schema)?;
        out.serialize_field("tables", &WrittenTables(self))?;
        out.end()
    }
}

struct WrittenTables<'a, 'b, L>(&'b Written<'a, L>);

impl<L: Tables> Serialize for WrittenTables<'_, '_, L> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let Written { db, tables } = self.0;
        let core = &db.core;
        let mut out = serializer.serialize_seq(Some(core.table_count()))?;
        for t in 0..core.table_count() {
            let written = core
                .table_type(t)
                .and_then(|type_id| tables.__save(db, t, type_id, &mut out));
            match written {
                Some(result) => result?,
                None => {
                    return Err(serde::ser::Error::custom(format!(
                        "table {} is not in the archive",
                        core.table_name(t)
                    )));
                }
            }
        }
        out.end()
    }
}

/// One table, as written: `{model, history, current, counter, rows, free}` (`free`: the vacant
/// slots in the order inserts take them).
pub(super) struct WrittenTable<'a, T> {
    pub(super) data: &'a TableData<T>,
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
        let mut out = serializer.serialize_struct("Table", 6)?;
        out.serialize_field("model", model_name::<T>())?;
        out.serialize_field("history", &history)?;
        out.serialize_field("current", &lineage.current().get())?;
        out.serialize_field("counter", &rows.counter())?;
        out.serialize_field("rows", &Rows(self.data))?;
        // Where the next inserts go, so that a loaded database fills its slots as this one.
        // An `Option`, so that one reader takes named archives with and without it.
        out.serialize_field("free", &Some(rows.free_list()))?;
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
