//! Saving to a file crash-safely: write a temporary file beside it, sync it, rename it over
//! the old one, sync the directory. A crash at any point leaves the old file or the new one,
//! never a mix. The file system is reached through [`Storage`], so that tests can interrupt a
//! save at every step.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::{Archive, format_error};
use crate::Db;
use crate::error::{ArchiveProblem, Error, Result};

/// The file operations a crash-safe save needs. [`Disk`] is the real file system; a test can
/// implement it to fail or "crash" at any step.
pub trait Storage {
    /// Creates (or truncates) the file at `path` for writing.
    fn create(&mut self, path: &Path) -> io::Result<Box<dyn Write + '_>>;
    /// Makes the contents of the file at `path` durable (`fsync`).
    fn sync(&mut self, path: &Path) -> io::Result<()>;
    /// Atomically replaces `to` with `from`.
    fn rename(&mut self, from: &Path, to: &Path) -> io::Result<()>;
    /// Makes the directory `dir`'s entries durable (after a rename).
    fn sync_dir(&mut self, dir: &Path) -> io::Result<()>;
    /// Removes the file at `path`.
    fn remove(&mut self, path: &Path) -> io::Result<()>;
    /// Opens the file at `path` for reading.
    fn open(&mut self, path: &Path) -> io::Result<Box<dyn Read + '_>>;
}

/// The real file system, through `std::fs`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Disk;

impl Storage for Disk {
    fn create(&mut self, path: &Path) -> io::Result<Box<dyn Write + '_>> {
        Ok(Box::new(File::create(path)?))
    }

    fn sync(&mut self, path: &Path) -> io::Result<()> {
        OpenOptions::new().write(true).open(path)?.sync_all()
    }

    fn rename(&mut self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    fn sync_dir(&mut self, dir: &Path) -> io::Result<()> {
        // Directories can be opened and synced on Unix; elsewhere a rename is durable as is.
        if cfg!(unix) {
            File::open(dir)?.sync_all()
        } else {
            Ok(())
        }
    }

    fn remove(&mut self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }

    fn open(&mut self, path: &Path) -> io::Result<Box<dyn Read + '_>> {
        Ok(Box::new(File::open(path)?))
    }
}

fn io_error(path: &Path, operation: &'static str, error: &io::Error) -> Error {
    Error::Archive {
        problem: ArchiveProblem::Io {
            path: path.display().to_string(),
            operation,
            message: error.to_string(),
        },
    }
}

/// The temporary file a save of `path` writes first, in the same directory (a rename does not
/// cross file systems): `path` with `.<process id>.<save number>.tmp` appended, unique to the
/// save, so that two saves of one path at once (two threads, two processes) each rename a
/// whole file of their own: the last rename wins, and no save writes into another's file.
fn temporary(path: &Path) -> PathBuf {
    static SAVES: AtomicU64 = AtomicU64::new(0);
    let save = SAVES.fetch_add(1, Ordering::Relaxed);
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{}.{save}.tmp", std::process::id()));
    PathBuf::from(name)
}

impl<L: super::Tables> Archive<L> {
    /// Saves `db` as JSON to the file at `path`, crash-safely: the archive is written to a
    /// temporary file beside it (`path.<process>.<save>.tmp`, unique to the save), synced, and renamed over `path`, and the directory is synced. If the save
    /// fails or the process dies part-way, `path` still holds the previous save (or nothing,
    /// if there was none). O(rows).
    ///
    /// ```no_run
    /// # use relata::{Archive, Db};
    /// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct Note;
    /// # let mut db = Db::new();
    /// # db.create_table::<Note>()?;
    /// let archive = Archive::new().table::<Note>();
    /// archive.save_file(&db, "notes.json")?;
    /// archive.load_file(&mut db, "notes.json")?;
    /// # Ok::<(), relata::Error>(())
    /// ```
    pub fn save_file(&self, db: &Db, path: impl AsRef<Path>) -> Result<()> {
        self.save_file_in(&mut Disk, db, path.as_ref())
    }

    /// Loads the JSON file at `path` (written by [`save_file`](Archive::save_file)) into `db`,
    /// like [`load`](Archive::load). O(rows).
    pub fn load_file(&self, db: &mut Db, path: impl AsRef<Path>) -> Result<()> {
        self.load_file_in(&mut Disk, db, path.as_ref())
    }

    /// [`save_file`](Archive::save_file) through `storage`.
    /// Costs as [`save_file`](Archive::save_file), plus what `storage` does.
    pub fn save_file_in(&self, storage: &mut dyn Storage, db: &Db, path: &Path) -> Result<()> {
        let temp = temporary(path);
        let written = self.write_temporary(storage, db, &temp);
        let result = written.and_then(|()| {
            storage
                .rename(&temp, path)
                .map_err(|e| io_error(path, "rename a temporary file over", &e))
        });
        if result.is_err() {
            // Best effort: the temporary file is garbage, the target untouched.
            let _ = storage.remove(&temp);
            return result;
        }
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        storage
            .sync_dir(dir)
            .map_err(|e| io_error(dir, "sync the directory", &e))
    }

    fn write_temporary(&self, storage: &mut dyn Storage, db: &Db, temp: &Path) -> Result<()> {
        {
            let file = storage
                .create(temp)
                .map_err(|e| io_error(temp, "create", &e))?;
            let mut out = Recording {
                out: BufWriter::with_capacity(1 << 16, file),
                failure: None,
            };
            let saved = self.save(db, &mut serde_json::Serializer::new(&mut out));
            let flushed = saved.and_then(|()| out.flush().map_err(|e| io_error(temp, "write", &e)));
            if let Some(failure) = &out.failure {
                return Err(io_error(temp, "write", failure));
            }
            flushed?;
        }
        storage.sync(temp).map_err(|e| io_error(temp, "sync", &e))
    }

    /// [`load_file`](Archive::load_file) through `storage`.
    /// Costs as [`load_file`](Archive::load_file), plus what `storage` does.
    pub fn load_file_in(&self, storage: &mut dyn Storage, db: &mut Db, path: &Path) -> Result<()> {
        let mut bytes = Vec::new();
        storage
            .open(path)
            .and_then(|mut file| file.read_to_end(&mut bytes))
            .map_err(|e| io_error(path, "read", &e))?;
        let result = self.load_whole_json(db, serde_json::Deserializer::from_slice(&bytes));
        result.map_err(|error| match error {
            Error::Archive {
                problem: ArchiveProblem::Format { message },
            } => format_error(format!("{}: {message}", path.display())),
            other => other,
        })
    }
}

/// A writer that remembers its first failure, so that a failed save reports the file's error
/// rather than the serializer's rendering of it.
struct Recording<W> {
    out: W,
    failure: Option<io::Error>,
}

impl<W: Write> Write for Recording<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.write(buf).inspect_err(|e| self.remember(e))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush().inspect_err(|e| self.remember(e))
    }
}

impl<W> Recording<W> {
    fn remember(&mut self, error: &io::Error) {
        if self.failure.is_none() {
            self.failure = Some(io::Error::new(error.kind(), error.to_string()));
        }
    }
}
