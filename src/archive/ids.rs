//! How ids are written and read: as `[creation number, slot, table instance, process]`.
//!
//! A table instance's number is drawn from a counter of this process, so it means nothing in
//! another one. Ids carry the process they were written in (a random number drawn once per
//! process) and read back as the same id only there; elsewhere they read as the dangling id,
//! which names no row. Inside an archive, ids are written with process 0 ("this archive's"),
//! and a load maps the archive's table numbers to the loading database's: unchanged when the
//! archive says this process wrote it, to fresh numbers otherwise (also when the archive's
//! fields were reordered so that its rows come before its process), so that loaded rows never
//! share ids with rows of another database of this process.

use std::cell::RefCell;
use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::num::{NonZeroU32, NonZeroU64};
use std::sync::OnceLock;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::core::declaration;
use crate::id::{Id, RawId};

/// This process's number: random, never 0.
pub(super) fn process() -> u64 {
    static PROCESS: OnceLock<u64> = OnceLock::new();
    *PROCESS.get_or_init(|| {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u32(std::process::id());
        if let Ok(now) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            hasher.write_u128(now.as_nanos());
        }
        hasher.finish() | 1
    })
}

/// What the ids being written or read belong to.
enum Context {
    /// An archive is being written: ids are written with process 0.
    Saving,
    /// An archive is being read. `map`: the archive's table numbers → this process's, each
    /// drawn fresh the first time it is read; `None` when the archive was written by this
    /// process (numbers unchanged).
    Loading {
        map: Option<HashMap<u32, NonZeroU32>>,
    },
}

thread_local! {
    static CONTEXT: RefCell<Option<Context>> = const { RefCell::new(None) };
}

/// Sets the context for as long as it lives (on this thread), and clears it when dropped,
/// also when a row's serde code panics.
pub(super) struct Scope(());

impl Scope {
    fn enter(context: Context) -> Scope {
        CONTEXT.with(|c| *c.borrow_mut() = Some(context));
        Scope(())
    }

    /// Ids written now are the archive's.
    pub(super) fn saving() -> Scope {
        Scope::enter(Context::Saving)
    }

    /// Ids read now are the archive's, written by this process (`same_process`) or another.
    pub(super) fn loading(same_process: bool) -> Scope {
        Scope::enter(Context::Loading {
            map: (!same_process).then(HashMap::new),
        })
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        CONTEXT.with(|c| *c.borrow_mut() = None);
    }
}

/// The table number this process uses for the archive's table number `n`, while an archive
/// is being read: `n` itself when this process wrote it, a fresh number otherwise (the same one
/// for every read of `n`). `None` when no number is left, or outside a load.
pub(super) fn archive_number(n: u32) -> Option<NonZeroU32> {
    let n = NonZeroU32::new(n)?;
    CONTEXT.with(|c| match &mut *c.borrow_mut() {
        Some(Context::Loading { map: None }) => Some(n),
        Some(Context::Loading { map: Some(map) }) => match map.get(&n.get()) {
            Some(&fresh) => Some(fresh),
            None => {
                let fresh = declaration()?;
                map.insert(n.get(), fresh);
                Some(fresh)
            }
        },
        _ => None,
    })
}

/// The id written as `(seq, slot, table, process)`.
fn resolve(seq: u64, slot: u32, table: u32, written_in: u64) -> RawId {
    let Some(seq) = NonZeroU64::new(seq) else {
        return RawId::DANGLING;
    };
    let table = if written_in == 0 {
        archive_number(table)
    } else if written_in == process() {
        NonZeroU32::new(table)
    } else {
        None
    };
    table.map_or(RawId::DANGLING, |table| RawId::new(seq, slot, table))
}

/// Written as a sequence of four integers: the creation number, the slot, the table instance
/// and the process (0 inside an [`Archive`](crate::Archive)). An id read back in the process
/// that wrote it is the same id; read anywhere else (outside an archive being loaded) it is
/// the dangling id, which names no row, so that an id never names another row.
impl<T> Serialize for Id<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let raw = self.raw;
        let saving = CONTEXT.with(|c| matches!(&*c.borrow(), Some(Context::Saving)));
        let written_in = if saving { 0 } else { process() };
        (raw.seq(), raw.slot(), raw.table(), written_in).serialize(serializer)
    }
}

/// See [`Serialize`](#impl-Serialize-for-Id<T>): the same id in the process that wrote it,
/// the loaded row's id inside an [`Archive`](crate::Archive) load, the dangling id otherwise.
impl<'de, T> Deserialize<'de> for Id<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (seq, slot, table, written_in) = <(u64, u32, u32, u64)>::deserialize(deserializer)?;
        Ok(Id::from_raw(resolve(seq, slot, table, written_in)))
    }
}
