//! Reading an archive: the header is checked (format, version, schema) before any row is
//! read, rows are read with their ids mapped to the loading database (see `ids`), and the
//! tables are restored off to the side ([`Core::restore`]): a load that fails at any point
//! loads nothing.

use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::fmt;
use std::num::NonZeroU32;

use serde::de::{DeserializeSeed, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::{
    Archive, FORMAT, OLDEST_VERSION, Tables as ArchiveTables, VERSION, fingerprint, format_error,
    ids,
};
use crate::core::Saved;
use crate::error::{ArchiveProblem, Error, Result};
use crate::{Db, Model};

/// One table as read: named fields of any version (a version 1 archive has no free list), or
/// the positional fields of version 2 (written as an `Option`, so that one struct reads both).
#[derive(Deserialize)]
#[serde(rename = "Table")]
pub(super) struct ReadTable<T> {
    model: String,
    history: Vec<(u32, u64)>,
    current: u32,
    counter: u64,
    rows: Vec<(u32, u64, T)>,
    #[serde(default)]
    free: Option<Vec<u32>>,
}

/// One table as format version 1 lays out its positional fields: without the free list.
#[derive(Deserialize)]
#[serde(rename = "Table")]
pub(super) struct ReadTableV1<T> {
    model: String,
    history: Vec<(u32, u64)>,
    current: u32,
    counter: u64,
    rows: Vec<(u32, u64, T)>,
}

impl<T> From<ReadTableV1<T>> for ReadTable<T> {
    fn from(t: ReadTableV1<T>) -> Self {
        ReadTable {
            model: t.model,
            history: t.history,
            current: t.current,
            counter: t.counter,
            rows: t.rows,
            free: None,
        }
    }
}

impl<T: Model> ReadTable<T> {
    /// The model name, and the table as the restore takes it (a boxed `Saved<T>`), its lineage
    /// numbers mapped to this process's.
    pub(super) fn into_saved(self) -> (String, Box<dyn Any>) {
        // 0 is no lineage: the restore reports it.
        let map = |n: u32| ids::archive_number(n).map_or(0, NonZeroU32::get);
        let history = self
            .history
            .into_iter()
            .map(|(n, boundary)| (map(n), boundary))
            .collect();
        let saved = Saved {
            history,
            current: map(self.current),
            counter: self.counter,
            rows: self.rows,
            free: self.free,
        };
        (self.model, Box::new(saved))
    }
}

impl<L: ArchiveTables> Archive<L> {
    /// Replaces the contents of `db` with the archive `deserializer` reads. `db` must be
    /// declared with the schema the archive was saved with: the same tables, indexes and
    /// associations, in the same order (normally by the same code). Rows keep their ids; ids
    /// saved in rows (foreign keys) name the same rows again; rows inserted afterwards get
    /// ids never issued before. Every index is rebuilt, checking every constraint, and the
    /// result's integrity is checked.
    ///
    /// An archive written by this process loads as a fork of the saved state: ids the saved
    /// database handed out name the same rows in the loaded one. One written by another
    /// process gets new table-instance numbers, so its ids never name rows of another database
    /// of this process.
    ///
    /// O(rows · log rows) time. On any error (see [`ArchiveProblem`]: format, version,
    /// schema, inconsistent rows, a dangling key, a duplicate unique value) `db` is unchanged.
    ///
    /// This reads one archive and leaves what follows it to the caller's deserializer;
    /// [`load_json`](Archive::load_json) and [`load_file`](Archive::load_file) also refuse
    /// anything but whitespace after it (with `serde_json`, `Deserializer::end` does that).
    ///
    /// ```
    /// use relata::{Archive, ArchiveProblem, Db, Error};
    /// # use serde::{Deserialize, Serialize};
    /// # #[derive(Clone, Serialize, Deserialize)] struct Note { text: String }
    /// let archive = Archive::new().table::<Note>();
    /// let mut db = Db::new();
    /// db.create_table::<Note>()?;
    /// let truncated = r#"{"format":"relata","version":1,"#;
    /// let error = archive.load_json(&mut db, truncated).unwrap_err();
    /// assert!(matches!(error, Error::Archive { problem: ArchiveProblem::Format { .. } }));
    /// # Ok::<(), relata::Error>(())
    /// ```
    pub fn load<'de, D: Deserializer<'de>>(&self, db: &mut Db, deserializer: D) -> Result<()> {
        let tables = self.read(db, deserializer)?;
        db.core.restore(tables)
    }

    /// Reads a whole archive for `db` (checked against its schema), restoring nothing: what
    /// [`load`](Archive::load) restores once it has also checked what follows the archive.
    pub(super) fn read<'de, D: Deserializer<'de>>(
        &self,
        db: &Db,
        deserializer: D,
    ) -> Result<Tables> {
        self.check_listed(&db.core)?;
        let problem = RefCell::new(None);
        let schema = db.core.schema();
        let core = &db.core;
        let types = (0..core.table_count())
            .filter_map(|t| Some((core.table_type(t)?, core.table_name(t))))
            .collect::<Vec<_>>();
        let seed = ArchiveSeed {
            tables: &self.tables,
            types: &types,
            schema: &schema,
            problem: &problem,
        };
        seed.deserialize(deserializer)
            .map_err(|error| match problem.into_inner() {
                Some(error) => error,
                None => format_error(error.to_string()),
            })
    }
}

/// Reads a whole archive; what is wrong goes into `problem` (typed), the serde error only
/// stops the format.
struct ArchiveSeed<'a, L> {
    tables: &'a L,
    /// The database's tables: row type and model name, in catalog order.
    types: &'a [(TypeId, &'static str)],
    schema: &'a [String],
    problem: &'a RefCell<Option<Error>>,
}

impl<L: ArchiveTables> ArchiveSeed<'_, L> {
    fn fail<E: serde::de::Error>(&self, problem: ArchiveProblem) -> E {
        let message = problem.to_string();
        *self.problem.borrow_mut() = Some(Error::Archive { problem });
        E::custom(message)
    }
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum Field {
    Format,
    Version,
    Process,
    Fingerprint,
    Schema,
    Tables,
}

const FIELDS: &[&str] = &[
    "format",
    "version",
    "process",
    "fingerprint",
    "schema",
    "tables",
];

/// The header: every field but the tables.
#[derive(Default)]
struct Header {
    format: bool,
    version: Option<u32>,
    process: Option<u64>,
    fingerprint: Option<String>,
    schema: Option<Vec<String>>,
}

type Tables = Vec<Box<dyn std::any::Any>>;

impl<'de, L: ArchiveTables> DeserializeSeed<'de> for ArchiveSeed<'_, L> {
    type Value = Tables;

    fn deserialize<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> std::result::Result<Tables, D::Error> {
        deserializer.deserialize_struct("Archive", FIELDS, self)
    }
}

impl<L: ArchiveTables> ArchiveSeed<'_, L> {
    fn check_format<E: serde::de::Error>(&self, format: &str) -> std::result::Result<(), E> {
        if format == FORMAT {
            Ok(())
        } else {
            Err(self.fail(ArchiveProblem::Format {
                message: format!("format `{format}` where `{FORMAT}` was expected"),
            }))
        }
    }

    fn check_version<E: serde::de::Error>(&self, version: u32) -> std::result::Result<(), E> {
        if (OLDEST_VERSION..=VERSION).contains(&version) {
            Ok(())
        } else {
            Err(self.fail(ArchiveProblem::Version {
                found: version,
                supported: VERSION,
            }))
        }
    }

    /// Checks the schema, once the header has both it and its fingerprint.
    fn check_schema<E: serde::de::Error>(&self, header: &Header) -> std::result::Result<(), E> {
        let (Some(schema), Some(print)) = (&header.schema, &header.fingerprint) else {
            return Ok(());
        };
        if let Some(at) =
            (0..schema.len().max(self.schema.len())).find(|&i| schema.get(i) != self.schema.get(i))
        {
            return Err(self.fail(ArchiveProblem::Schema {
                archive: schema.get(at).cloned(),
                database: self.schema.get(at).cloned(),
            }));
        }
        if *print != fingerprint(schema) {
            return Err(self.fail(ArchiveProblem::Format {
                message: "the schema's fingerprint does not match its description".into(),
            }));
        }
        Ok(())
    }

    /// Checks that the header is complete, once the whole archive is read.
    fn check_complete<E: serde::de::Error>(&self, header: &Header) -> std::result::Result<(), E> {
        let fields = [
            ("format", header.format),
            ("version", header.version.is_some()),
            ("process", header.process.is_some()),
            ("fingerprint", header.fingerprint.is_some()),
            ("schema", header.schema.is_some()),
        ];
        if let Some((field, _)) = fields.iter().find(|(_, present)| !present) {
            return Err(self.fail(ArchiveProblem::Format {
                message: format!("the archive has no `{field}`"),
            }));
        }
        self.check_schema(header)
    }
}

impl<'de, L: ArchiveTables> Visitor<'de> for ArchiveSeed<'_, L> {
    type Value = Tables;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a relata archive")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Tables, A::Error> {
        let mut header = Header::default();
        let mut tables = None;
        while let Some(field) = map.next_key::<Field>()? {
            match field {
                Field::Format => {
                    let format: String = map.next_value()?;
                    self.check_format(&format)?;
                    header.format = true;
                }
                Field::Version => {
                    let version = map.next_value()?;
                    self.check_version(version)?;
                    header.version = Some(version);
                }
                Field::Process => header.process = Some(map.next_value()?),
                Field::Fingerprint => header.fingerprint = Some(map.next_value()?),
                Field::Schema => header.schema = Some(map.next_value()?),
                Field::Tables => {
                    if tables.is_some() {
                        return Err(A::Error::duplicate_field("tables"));
                    }
                    self.check_schema(&header)?;
                    let _scope = ids::Scope::loading(header.process == Some(ids::process()));
                    // Named fields (the version may come after the tables): any version.
                    let seed = TablesSeed {
                        archive: &self,
                        version: None,
                    };
                    tables = Some(map.next_value_seed(seed)?);
                }
            }
        }
        self.check_complete(&header)?;
        tables.ok_or_else(|| A::Error::missing_field("tables"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Tables, A::Error> {
        let missing = |n| A::Error::invalid_length(n, &"an archive of 6 fields");
        let format: String = seq.next_element()?.ok_or_else(|| missing(0))?;
        self.check_format(&format)?;
        let version: u32 = seq.next_element()?.ok_or_else(|| missing(1))?;
        self.check_version(version)?;
        let header = Header {
            format: true,
            version: Some(version),
            process: Some(seq.next_element()?.ok_or_else(|| missing(2))?),
            fingerprint: Some(seq.next_element()?.ok_or_else(|| missing(3))?),
            schema: Some(seq.next_element()?.ok_or_else(|| missing(4))?),
        };
        self.check_complete(&header)?;
        let _scope = ids::Scope::loading(header.process == Some(ids::process()));
        seq.next_element_seed(TablesSeed {
            archive: &self,
            version: Some(version),
        })?
        .ok_or_else(|| missing(5))
    }
}

/// Reads the tables, each with the code of its row type.
struct TablesSeed<'a, 'b, L> {
    archive: &'b ArchiveSeed<'a, L>,
    /// The archive's format version, for a positional format (where the fields a version has
    /// decide how the table reads); `None` for named fields.
    version: Option<u32>,
}

impl<'de, L: ArchiveTables> DeserializeSeed<'de> for TablesSeed<'_, '_, L> {
    type Value = Tables;

    fn deserialize<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> std::result::Result<Tables, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, L: ArchiveTables> Visitor<'de> for TablesSeed<'_, '_, L> {
    type Value = Tables;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} tables", self.archive.types.len())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Tables, A::Error> {
        let types = self.archive.types;
        let mut tables = Vec::with_capacity(types.len());
        for (t, &(type_id, expected)) in types.iter().enumerate() {
            let read = self.archive.tables.__load(type_id, self.version, &mut seq);
            let Some((model, saved)) = read.transpose()?.flatten() else {
                return Err(A::Error::invalid_length(t, &self));
            };
            if model != expected {
                return Err(self.archive.fail(ArchiveProblem::Schema {
                    archive: Some(format!("table {model}")),
                    database: Some(format!("table {expected}")),
                }));
            }
            tables.push(saved);
        }
        if seq.next_element::<IgnoredAny>()?.is_some() {
            return Err(A::Error::invalid_length(types.len() + 1, &self));
        }
        Ok(tables)
    }
}
