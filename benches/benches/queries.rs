//! Queries beyond foreign keys (issue 12), on one table of loans with a secondary index on
//! `due_on` (≈274 rows per day over 3,650 days at 1,000,000 rows), relata beside SQLite
//! `:memory:` with the same index, a full scan of relata's table and a plain `Vec` scan:
//!
//! - `query_eq/1M`: the rows due on one day, summed (`Index::find`; `WHERE due_on = ?`).
//! - `query_range/1M`: the rows due in a 10-day window (≈2,700 rows), summed (`Index::range`;
//!   `WHERE due_on >= ? AND due_on < ?`).
//! - `count_range/1M`: how many rows fall in that window (`Index::count_range`; `count(*)`).
//! - `update_1pct/1M`: a set-based update of 1% of the rows, a 37-day window (≈10,100 rows):
//!   `fine += 1` (a field no index reads) through `Index::modify_range`, through
//!   `Table::modify_where` (a full scan selects), `UPDATE … WHERE due_on >= ? AND due_on < ?`,
//!   and a `Vec` loop. Every iteration adds one to the fines of its window, so the work is the
//!   same each time; the windows rotate through a seeded sequence shared by every store.
//!
//! `cargo bench -p relata-benches --bench queries` runs them all (about 3 minutes);
//! `cargo test -p relata-benches --bench queries` runs each once at 10,000 rows and checks that
//! relata, SQLite and the `Vec` give the same answers.

use std::hint::black_box;
use std::time::Duration;

use criterion::{
    BenchmarkGroup, Criterion, criterion_group, criterion_main, measurement::WallTime,
};
use relata::{Db, Index, Table, field};
use relata_benches::Rng;
use rusqlite::Connection;

const DAYS: u32 = 3_650;
const WINDOW: u32 = 10;
const UPDATE_WINDOW: u32 = 37;

#[derive(Clone, Debug, PartialEq)]
struct Loan {
    member: u32,
    book: u32,
    due_on: u32,
    fine: u32,
}

fn full_run() -> bool {
    std::env::args().any(|a| a == "--bench")
}

fn rows() -> (usize, &'static str) {
    if full_run() {
        (1_000_000, "1M")
    } else {
        (10_000, "10k")
    }
}

fn loans(n: usize) -> Vec<Loan> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    (0..n)
        .map(|_| Loan {
            member: rng.below(50_000) as u32,
            book: rng.below(200_000) as u32,
            due_on: rng.below(DAYS as usize) as u32,
            fine: rng.below(100) as u32,
        })
        .collect()
}

/// The days (or window starts) the iterations visit, the same for every store.
fn days(limit: u32) -> impl FnMut() -> u32 {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    move || rng.below(limit as usize) as u32
}

struct Relata {
    db: Db,
    table: Table<Loan>,
    by_due: Index<Loan, u32>,
}

fn relata(rows: &[Loan]) -> Relata {
    let mut db = Db::new();
    let table = db.create_table::<Loan>().unwrap();
    let by_due = db.index(table, field!(Loan, due_on)).unwrap();
    table.insert_many(&mut db, rows.iter().cloned()).unwrap();
    Relata { db, table, by_due }
}

fn sqlite(rows: &[Loan]) -> Connection {
    let mut conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(
        "CREATE TABLE loan (id INTEGER PRIMARY KEY, member INTEGER NOT NULL, \
         book INTEGER NOT NULL, due_on INTEGER NOT NULL, fine INTEGER NOT NULL);
         CREATE INDEX loan_due_on ON loan (due_on);",
    )
    .unwrap();
    let tx = conn.transaction().unwrap();
    {
        let mut insert = tx
            .prepare_cached("INSERT INTO loan (member, book, due_on, fine) VALUES (?1, ?2, ?3, ?4)")
            .unwrap();
        for l in rows {
            insert
                .execute(rusqlite::params![l.member, l.book, l.due_on, l.fine])
                .unwrap();
        }
    }
    tx.commit().unwrap();
    conn
}

fn sqlite_sum(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> u64 {
    let mut stmt = conn.prepare_cached(sql).unwrap();
    let mut rows = stmt.query(params).unwrap();
    let mut sum = 0u64;
    while let Some(row) = rows.next().unwrap() {
        sum += row.get::<_, i64>(0).unwrap() as u64;
    }
    sum
}

const SQL_EQ: &str = "SELECT fine FROM loan WHERE due_on = ?1";
const SQL_RANGE: &str = "SELECT fine FROM loan WHERE due_on >= ?1 AND due_on < ?2";
const SQL_COUNT: &str = "SELECT count(*) FROM loan WHERE due_on >= ?1 AND due_on < ?2";
const SQL_UPDATE: &str = "UPDATE loan SET fine = fine + 1 WHERE due_on >= ?1 AND due_on < ?2";

/// The stores the read groups compare, each answering "sum of the fines of the rows whose
/// `due_on` is in `lo..hi`" (and "how many" for `count_range`).
struct Stores {
    relata: Relata,
    conn: Connection,
    vec: Vec<Loan>,
}

fn reads(
    g: &mut BenchmarkGroup<'_, WallTime>,
    s: &Stores,
    width: u32,
    count: bool,
    sql: &'static str,
) {
    let in_window = move |due: u32, lo: u32| due >= lo && due < lo + width;
    g.bench_function("relata_index", |b| {
        let mut next = days(DAYS - width);
        b.iter(|| {
            let lo = next();
            let answer: u64 = match (count, width) {
                (true, _) => s
                    .relata
                    .by_due
                    .count_range(&s.relata.db, lo..lo + width)
                    .unwrap() as u64,
                (false, 1) => s
                    .relata
                    .by_due
                    .find(&s.relata.db, &lo)
                    .unwrap()
                    .map(|l| u64::from(l.fine))
                    .sum(),
                (false, _) => s
                    .relata
                    .by_due
                    .range(&s.relata.db, lo..lo + width)
                    .unwrap()
                    .map(|l| u64::from(l.fine))
                    .sum(),
            };
            black_box(answer)
        })
    });
    g.bench_function("relata_scan", |b| {
        let mut next = days(DAYS - width);
        b.iter(|| {
            let lo = next();
            let answer: u64 = s
                .relata
                .table
                .scan(&s.relata.db)
                .unwrap()
                .filter(|l| in_window(l.due_on, lo))
                .map(|l| if count { 1 } else { u64::from(l.fine) })
                .sum();
            black_box(answer)
        })
    });
    g.bench_function("sqlite", |b| {
        let mut next = days(DAYS - width);
        b.iter(|| {
            let lo = next();
            let answer = if width == 1 {
                sqlite_sum(&s.conn, sql, [lo])
            } else {
                sqlite_sum(&s.conn, sql, [lo, lo + width])
            };
            black_box(answer)
        })
    });
    g.bench_function("vec_scan", |b| {
        let mut next = days(DAYS - width);
        b.iter(|| {
            let lo = next();
            let answer: u64 = black_box(&s.vec)
                .iter()
                .filter(|l| in_window(l.due_on, lo))
                .map(|l| if count { 1 } else { u64::from(l.fine) })
                .sum();
            black_box(answer)
        })
    });
}

/// Every store gives the same answers for the first days of the sequence (test mode checks
/// this before anything is timed).
fn check_reads(s: &Stores) {
    let mut next = days(DAYS - WINDOW);
    for _ in 0..20 {
        let lo = next();
        let vec_sum = |width: u32| -> u64 {
            s.vec
                .iter()
                .filter(|l| l.due_on >= lo && l.due_on < lo + width)
                .map(|l| u64::from(l.fine))
                .sum()
        };
        let eq: u64 = s
            .relata
            .by_due
            .find(&s.relata.db, &lo)
            .unwrap()
            .map(|l| u64::from(l.fine))
            .sum();
        assert_eq!(eq, vec_sum(1));
        assert_eq!(sqlite_sum(&s.conn, SQL_EQ, [lo]), vec_sum(1));
        let range: u64 = s
            .relata
            .by_due
            .range(&s.relata.db, lo..lo + WINDOW)
            .unwrap()
            .map(|l| u64::from(l.fine))
            .sum();
        assert_eq!(range, vec_sum(WINDOW));
        assert_eq!(
            sqlite_sum(&s.conn, SQL_RANGE, [lo, lo + WINDOW]),
            vec_sum(WINDOW)
        );
        let in_range = s
            .vec
            .iter()
            .filter(|l| l.due_on >= lo && l.due_on < lo + WINDOW)
            .count();
        assert_eq!(
            s.relata
                .by_due
                .count_range(&s.relata.db, lo..lo + WINDOW)
                .unwrap(),
            in_range
        );
        assert_eq!(
            sqlite_sum(&s.conn, SQL_COUNT, [lo, lo + WINDOW]),
            in_range as u64
        );
    }
}

fn read_groups(c: &mut Criterion) {
    let (n, label) = rows();
    let vec = loans(n);
    let s = Stores {
        relata: relata(&vec),
        conn: sqlite(&vec),
        vec,
    };
    if !full_run() {
        check_reads(&s);
    }
    let mut g = c.benchmark_group(format!("query_eq/{label}"));
    reads(&mut g, &s, 1, false, SQL_EQ);
    g.finish();
    let mut g = c.benchmark_group(format!("query_range/{label}"));
    reads(&mut g, &s, WINDOW, false, SQL_RANGE);
    g.finish();
    let mut g = c.benchmark_group(format!("count_range/{label}"));
    reads(&mut g, &s, WINDOW, true, SQL_COUNT);
    g.finish();
}

/// The number of rows in the update window starting at `lo`.
fn in_update_window(rows: &[Loan], lo: u32) -> usize {
    rows.iter()
        .filter(|l| l.due_on >= lo && l.due_on < lo + UPDATE_WINDOW)
        .count()
}

fn update_1pct(c: &mut Criterion) {
    let (n, label) = rows();
    let vec = loans(n);
    let mut g = c.benchmark_group(format!("update_1pct/{label}"));
    g.sample_size(20);
    let test = !full_run();
    {
        let mut r = relata(&vec);
        g.bench_function("relata_index", |b| {
            let mut next = days(DAYS - UPDATE_WINDOW);
            b.iter(|| {
                let lo = next();
                let changed = r
                    .by_due
                    .modify_range(&mut r.db, lo..lo + UPDATE_WINDOW, |l| l.fine += 1)
                    .unwrap();
                if test {
                    assert_eq!(changed, in_update_window(&vec, lo));
                }
                black_box(changed)
            })
        });
        if test {
            r.db.check_integrity().unwrap();
        }
        g.bench_function("relata_where", |b| {
            let mut next = days(DAYS - UPDATE_WINDOW);
            b.iter(|| {
                let lo = next();
                let window = lo..lo + UPDATE_WINDOW;
                let changed = r
                    .table
                    .modify_where(&mut r.db, |l| window.contains(&l.due_on), |l| l.fine += 1)
                    .unwrap();
                if test {
                    assert_eq!(changed, in_update_window(&vec, lo));
                }
                black_box(changed)
            })
        });
    }
    {
        let conn = sqlite(&vec);
        g.bench_function("sqlite", |b| {
            let mut next = days(DAYS - UPDATE_WINDOW);
            b.iter(|| {
                let lo = next();
                let changed = conn
                    .prepare_cached(SQL_UPDATE)
                    .unwrap()
                    .execute([lo, lo + UPDATE_WINDOW])
                    .unwrap();
                if test {
                    assert_eq!(changed, in_update_window(&vec, lo));
                }
                black_box(changed)
            })
        });
    }
    {
        let mut rows = vec.clone();
        g.bench_function("vec", |b| {
            let mut next = days(DAYS - UPDATE_WINDOW);
            b.iter(|| {
                let lo = next();
                let mut changed = 0;
                for l in black_box(&mut rows)
                    .iter_mut()
                    .filter(|l| l.due_on >= lo && l.due_on < lo + UPDATE_WINDOW)
                {
                    l.fine += 1;
                    changed += 1;
                }
                black_box(changed)
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = queries;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2));
    targets = read_groups, update_1pct
}
criterion_main!(queries);
