//! Bytes per link at the large size (100,000 parents × 10 children = 1,000,000 links), for
//! relata, the naive baseline and the slotmap design (a counting global allocator), and SQLite
//! (`page_count × page_size`). Each is measured twice: rows only, then rows plus the
//! foreign-key index, so the index's own cost per link is the difference.
//!
//! Run with `cargo run --release -p relata-benches --bin memory`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use relata::{Db, fk};
use relata_benches::{Child, Parent};
use slotmap::{SecondaryMap, SlotMap};

/// The system allocator, counting live bytes.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every method forwards to the system allocator with the caller's arguments unchanged;
// the counter is only arithmetic on the sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: same layout as received, which the caller guarantees is valid.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` was allocated by `alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded unchanged; the caller upholds `realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const PARENTS: usize = 100_000;
const FANOUT: usize = 10;
const LINKS: usize = PARENTS * FANOUT;

fn live() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// (rows only, rows + index) in bytes.
fn relata() -> (usize, usize) {
    let start = live();
    let mut db = Db::new();
    let parents = db.create_table::<Parent>().unwrap();
    let children = db.create_table::<Child>().unwrap();
    let ids: Vec<_> = (0..PARENTS)
        .map(|_| parents.insert(&mut db, Parent).unwrap())
        .collect();
    for (i, &p) in ids.iter().enumerate() {
        for k in 0..FANOUT {
            children
                .insert(
                    &mut db,
                    Child {
                        parent: Some(p),
                        payload: (i * k) as u64,
                    },
                )
                .unwrap();
        }
    }
    drop(ids);
    let rows = live() - start;
    db.has_many(parents, children, fk!(Child, parent)).unwrap();
    let total = live() - start;
    std::hint::black_box(&db);
    (rows, total)
}

fn baseline() -> (usize, usize) {
    let start = live();
    let parents: Vec<bool> = vec![true; PARENTS];
    let mut children: Vec<Option<(Option<u32>, u64)>> = Vec::new();
    for p in 0..PARENTS {
        for k in 0..FANOUT {
            children.push(Some((Some(p as u32), (p * k) as u64)));
        }
    }
    let rows = live() - start;
    let mut index: HashMap<u32, Vec<u32>> = HashMap::new();
    for (c, row) in children.iter().enumerate() {
        if let Some((Some(p), _)) = row {
            index.entry(*p).or_default().push(c as u32);
        }
    }
    let total = live() - start;
    std::hint::black_box((&parents, &children, &index));
    (rows, total)
}

fn slotmap() -> (usize, usize) {
    slotmap::new_key_type! {
        struct P;
        struct C;
    }
    let start = live();
    let mut parents: SlotMap<P, ()> = SlotMap::with_key();
    let mut children: SlotMap<C, (Option<P>, u64)> = SlotMap::with_key();
    let ids: Vec<P> = (0..PARENTS).map(|_| parents.insert(())).collect();
    for (i, &p) in ids.iter().enumerate() {
        for k in 0..FANOUT {
            children.insert((Some(p), (i * k) as u64));
        }
    }
    drop(ids);
    let rows = live() - start;
    let mut index: SecondaryMap<P, Vec<C>> = SecondaryMap::new();
    for (c, (p, _)) in &children {
        if let Some(p) = p {
            index.entry(*p).unwrap().or_default().push(c);
        }
    }
    let total = live() - start;
    std::hint::black_box((&parents, &children, &index));
    (rows, total)
}

fn sqlite() -> (usize, usize) {
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    conn.execute_batch(
        "PRAGMA foreign_keys = ON;
         CREATE TABLE parent (id INTEGER PRIMARY KEY);
         CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id), payload INTEGER NOT NULL);",
    )
    .unwrap();
    let tx = conn.unchecked_transaction().unwrap();
    for p in 1..=PARENTS as i64 {
        tx.execute("INSERT INTO parent (id) VALUES (?1)", [p])
            .unwrap();
        for k in 0..FANOUT as i64 {
            tx.execute(
                "INSERT INTO child (parent_id, payload) VALUES (?1, ?2)",
                [p, p * k],
            )
            .unwrap();
        }
    }
    tx.commit().unwrap();
    let bytes = |c: &rusqlite::Connection| -> usize {
        let pages: i64 = c.query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap();
        let size: i64 = c.query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap();
        (pages * size) as usize
    };
    let rows = bytes(&conn);
    conn.execute_batch("CREATE INDEX child_parent ON child(parent_id)")
        .unwrap();
    (rows, bytes(&conn))
}

fn main() {
    println!("{PARENTS} parents x {FANOUT} children = {LINKS} links\n");
    println!("| store | rows, bytes per link | index, bytes per link | total, bytes per link |");
    println!("|---|---|---|---|");
    for (name, (rows, total)) in [
        ("relata", relata()),
        ("baseline (Vec + HashMap)", baseline()),
        ("slotmap + SecondaryMap", slotmap()),
        ("SQLite (page_count × page_size)", sqlite()),
    ] {
        let per = |b: usize| b as f64 / LINKS as f64;
        println!(
            "| {name} | {:.1} | {:.1} | {:.1} |",
            per(rows),
            per(total - rows),
            per(total)
        );
    }
}
