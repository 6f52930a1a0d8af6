//! Queries beyond foreign keys (issue 12): lookups and set-based updates through a secondary
//! index, side by side with SQLite using the same index, and against a full scan.
//!
//! The table: 1,000,000 loans `Loan { member, book, due_on, returned }` in seeded random order,
//! `due_on` a day number in `0..4,000` (11 years), exactly 250 loans due each day, ~10% of them
//! returned. relata: `db.index(loans, field!(Loan, due_on))`; SQLite (`:memory:`, cached
//! prepared statements): the same columns and `CREATE INDEX loans_due ON loans(due_on)`. Both
//! indexes are declared before the rows are inserted, as in a live application.
//!
//! Every group has the same functions:
//! - `relata`: through the index (`Index::find`, `range`, `count_range`, `modify_range`);
//! - `sqlite`: the same statement, which SQLite plans on its index;
//! - `relata_scan`: relata's full scan with the same predicate (`Table::scan`, and
//!   `Table::modify_where` for the updates): the "against a full scan" reference;
//! - `sqlite_scan`: the same statement with `NOT INDEXED` (SQLite's full scan);
//! - `vec`: a plain `Vec<Loan>` scanned by hand: the floor of a full scan.
//!
//! The groups (the first day of each range from a seeded sequence, one per iteration):
//! - `query_eq/1M`: the 250 loans due on one day, `member` summed (`WHERE due_on = ?`);
//! - `query_range/1M`: the 2,500 loans due within 10 days, `member` summed
//!   (`WHERE due_on BETWEEN ? AND ?`);
//! - `count_range/1M`: their number (`SELECT count(*) … BETWEEN`);
//! - `update_1pct/1M`: a set-based update of 1% of the rows, the 10,000 loans due within 40
//!   days: `returned` flipped, a field no index holds
//!   (`UPDATE loans SET returned = NOT returned WHERE due_on BETWEEN ? AND ?`);
//! - `update_key_1pct/1M`: the same rows' indexed key changed: `due_on` moved 4,000 days later,
//!   out of every other range, and back (`SET due_on = due_on + ?`).
//!
//! So that every iteration does the same work and leaves the table as it found it, the updates
//! go in rounds over disjoint 40-day blocks: 10 iterations each update one block (flip, or move
//! it 4,000 days later), then 10 iterations undo those blocks in the same order (flip again, or
//! move back). Every iteration changes exactly 10,000 rows (asserted). Whatever round is left
//! open when the benchmark ends is undone untimed.
//!
//! Every read asserts its answer against one computed from the generated rows; each update
//! variant, before it is timed, applies one update and its undo and checks a fingerprint of the
//! whole table against the generated rows (after the update and after the undo).
//!
//! `cargo bench -p relata-benches --bench queries -- query_range` runs one group (a regex on the
//! names); `cargo test -p relata-benches --bench queries` runs each benchmark once at 10,000
//! rows (400 days, 25 loans a day) and checks every answer.

use std::collections::VecDeque;
use std::hint::black_box;
use std::time::Duration;

use criterion::{
    BenchmarkGroup, Criterion, SamplingMode, criterion_group, criterion_main, measurement::WallTime,
};
use relata::{Db, Index, Table, field};
use relata_benches::Rng;
use rusqlite::{Connection, params};

fn full_run() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// The table's size.
struct Scale {
    /// Rows.
    n: usize,
    /// Distinct `due_on` values, `0..days`; `n / days` rows each.
    days: u32,
    label: &'static str,
}

impl Scale {
    /// 1,000,000 rows over 4,000 days in a full run, 10,000 over 400 in a test run.
    fn new() -> Self {
        if full_run() {
            Scale {
                n: 1_000_000,
                days: 4_000,
                label: "1M",
            }
        } else {
            Scale {
                n: 10_000,
                days: 400,
                label: "10k",
            }
        }
    }

    fn per_day(&self) -> usize {
        self.n / self.days as usize
    }

    /// Days of an update block: 1% of the rows.
    fn block_days(&self) -> u32 {
        self.days / 100
    }
}

/// Days of a `query_range` / `count_range` range.
const RANGE_DAYS: u32 = 10;
/// Update blocks per round (see the module docs).
const ROUND: usize = 10;
/// First days of the reads, from a seeded sequence.
const PICKS: usize = 1024;

const MEMBERS: usize = 50_000;
const BOOKS: usize = 200_000;

#[derive(Clone, Debug, PartialEq)]
struct Loan {
    member: u32,
    book: u32,
    /// The day the book is due back.
    due_on: u32,
    returned: bool,
}

/// The rows: `due_on` exactly `per_day` times each day, shuffled; the rest seeded at random.
fn generate(s: &Scale) -> Vec<Loan> {
    let mut rng = Rng(0x12);
    let mut due: Vec<u32> = (0..s.n).map(|i| (i % s.days as usize) as u32).collect();
    for k in (1..due.len()).rev() {
        due.swap(k, rng.below(k + 1));
    }
    due.into_iter()
        .map(|due_on| Loan {
            member: rng.below(MEMBERS) as u32,
            book: rng.below(BOOKS) as u32,
            due_on,
            returned: rng.below(10) == 0,
        })
        .collect()
}

/// An order-independent fingerprint of a table's rows.
fn fingerprint<'a>(rows: impl Iterator<Item = &'a Loan>) -> u64 {
    rows.map(|l| {
        let mut x = (u64::from(l.member) << 32 | u64::from(l.book))
            ^ (u64::from(l.due_on) << 1 | u64::from(l.returned))
                .wrapping_mul(0x9e37_79b9_7f4a_7c15);
        x ^= x >> 31;
        x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x ^ (x >> 29)
    })
    .fold(0, u64::wrapping_add)
}

// ---------------------------------------------------------------------------------------------
// The stores.

struct RelataLoans {
    db: Db,
    loans: Table<Loan>,
    by_due: Index<Loan, u32>,
}

fn relata_loans(rows: &[Loan]) -> RelataLoans {
    let mut db = Db::new();
    let loans = db.create_table::<Loan>().unwrap();
    let by_due = db.index(loans, field!(Loan, due_on)).unwrap();
    loans.insert_many(&mut db, rows.iter().cloned()).unwrap();
    RelataLoans { db, loans, by_due }
}

fn sqlite_loans(rows: &[Loan]) -> Connection {
    let mut conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(
        "CREATE TABLE loans (
             id INTEGER PRIMARY KEY, member INTEGER NOT NULL, book INTEGER NOT NULL,
             due_on INTEGER NOT NULL, returned INTEGER NOT NULL);
         CREATE INDEX loans_due ON loans(due_on);",
    )
    .unwrap();
    let tx = conn.transaction().unwrap();
    {
        let mut insert = tx
            .prepare_cached(
                "INSERT INTO loans (member, book, due_on, returned) VALUES (?1, ?2, ?3, ?4)",
            )
            .unwrap();
        for l in rows {
            insert
                .execute(params![l.member, l.book, l.due_on, l.returned])
                .unwrap();
        }
    }
    tx.commit().unwrap();
    conn
}

fn relata_fingerprint(s: &RelataLoans) -> u64 {
    fingerprint(s.loans.scan(&s.db).unwrap().map(|r| r.value()))
}

fn sqlite_fingerprint(conn: &Connection) -> u64 {
    let mut stmt = conn
        .prepare_cached("SELECT member, book, due_on, returned FROM loans")
        .unwrap();
    let rows: Vec<Loan> = stmt
        .query_map([], |r| {
            Ok(Loan {
                member: r.get(0)?,
                book: r.get(1)?,
                due_on: r.get(2)?,
                returned: r.get(3)?,
            })
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    fingerprint(rows.iter())
}

fn vec_fingerprint(v: &[Loan]) -> u64 {
    fingerprint(v.iter())
}

// ---------------------------------------------------------------------------------------------
// Reads.

#[derive(Clone, Copy)]
enum Read {
    /// The rows due on day `d`, `member` summed.
    Eq,
    /// The rows due in `d..d + RANGE_DAYS`, `member` summed.
    Range,
    /// Their number.
    Count,
}

impl Read {
    /// The last day (inclusive) read from first day `d`.
    fn last(self, d: u32) -> u32 {
        match self {
            Read::Eq => d,
            Read::Range | Read::Count => d + RANGE_DAYS - 1,
        }
    }

    fn sql(self, indexed: bool) -> &'static str {
        match (self, indexed) {
            (Read::Eq, true) => "SELECT member FROM loans WHERE due_on = ?1",
            (Read::Eq, false) => "SELECT member FROM loans NOT INDEXED WHERE due_on = ?1",
            (Read::Range, true) => "SELECT member FROM loans WHERE due_on BETWEEN ?1 AND ?2",
            (Read::Range, false) => {
                "SELECT member FROM loans NOT INDEXED WHERE due_on BETWEEN ?1 AND ?2"
            }
            (Read::Count, true) => "SELECT count(*) FROM loans WHERE due_on BETWEEN ?1 AND ?2",
            (Read::Count, false) => {
                "SELECT count(*) FROM loans NOT INDEXED WHERE due_on BETWEEN ?1 AND ?2"
            }
        }
    }
}

fn sum_members<'a>(rows: impl Iterator<Item = &'a Loan>) -> u64 {
    rows.map(|l| u64::from(l.member)).sum()
}

fn relata_read(s: &RelataLoans, q: Read, d: u32) -> u64 {
    let (db, by_due) = (&s.db, s.by_due);
    match q {
        Read::Eq => sum_members(by_due.find(db, &d).unwrap().map(|r| r.value())),
        Read::Range => sum_members(by_due.range(db, d..=q.last(d)).unwrap().map(|r| r.value())),
        Read::Count => by_due.count_range(db, d..=q.last(d)).unwrap() as u64,
    }
}

/// Whole-table reads of the rows matching `q` from `d`: the sum, or the count.
fn scan_read<'a>(rows: impl Iterator<Item = &'a Loan>, q: Read, d: u32) -> u64 {
    let last = q.last(d);
    let matching = rows.filter(|l| l.due_on >= d && l.due_on <= last);
    match q {
        Read::Eq | Read::Range => sum_members(matching),
        Read::Count => matching.count() as u64,
    }
}

fn relata_scan_read(s: &RelataLoans, q: Read, d: u32) -> u64 {
    scan_read(s.loans.scan(&s.db).unwrap().map(|r| r.value()), q, d)
}

fn vec_read(v: &[Loan], q: Read, d: u32) -> u64 {
    scan_read(v.iter(), q, d)
}

fn sqlite_read(conn: &Connection, q: Read, d: u32, indexed: bool) -> u64 {
    let mut stmt = conn.prepare_cached(q.sql(indexed)).unwrap();
    match q {
        Read::Eq => stmt
            .query_map([d], |r| r.get::<_, i64>(0))
            .unwrap()
            .map(|m| m.unwrap() as u64)
            .sum(),
        Read::Range => stmt
            .query_map([d, q.last(d)], |r| r.get::<_, i64>(0))
            .unwrap()
            .map(|m| m.unwrap() as u64)
            .sum(),
        Read::Count => stmt
            .query_row([d, q.last(d)], |r| r.get::<_, i64>(0))
            .unwrap() as u64,
    }
}

/// The reads' first days and their answers, from the generated rows.
struct ReadPlan {
    picks: Vec<u32>,
    /// `prefix[d]`: the sum of `member` over the rows due before day `d`.
    prefix: Vec<u64>,
    per_day: u64,
}

impl ReadPlan {
    fn new(s: &Scale, rows: &[Loan]) -> Self {
        let mut by_day = vec![0u64; s.days as usize];
        for l in rows {
            by_day[l.due_on as usize] += u64::from(l.member);
        }
        let mut prefix = vec![0];
        prefix.extend(by_day.iter().scan(0, |acc, &x| {
            *acc += x;
            Some(*acc)
        }));
        let mut rng = Rng(0x12_0001);
        let picks = (0..PICKS)
            .map(|_| rng.below((s.days - RANGE_DAYS + 1) as usize) as u32)
            .collect();
        ReadPlan {
            picks,
            prefix,
            per_day: s.per_day() as u64,
        }
    }

    fn expected(&self, q: Read, d: u32) -> u64 {
        let (first, last) = (d as usize, q.last(d) as usize);
        match q {
            Read::Eq | Read::Range => self.prefix[last + 1] - self.prefix[first],
            Read::Count => self.per_day * (last - first + 1) as u64,
        }
    }
}

type Group<'a> = BenchmarkGroup<'a, WallTime>;

/// Benchmarks `run` on `store`, built on first use (not at all when a filter skips the
/// benchmark); every answer is checked.
fn read<S>(
    g: &mut Group<'_>,
    name: &str,
    store: &mut Option<S>,
    build: &dyn Fn() -> S,
    plan: &ReadPlan,
    q: Read,
    run: impl Fn(&S, Read, u32) -> u64,
) {
    let mut i = 0;
    g.bench_function(name, |b| {
        let s = store.get_or_insert_with(build);
        b.iter(|| {
            let d = plan.picks[i % PICKS];
            i += 1;
            assert_eq!(black_box(run(s, q, d)), plan.expected(q, d));
        })
    });
}

// ---------------------------------------------------------------------------------------------
// Updates.

#[derive(Clone, Copy, PartialEq, Debug)]
enum Change {
    /// `returned = NOT returned`.
    Flip,
    /// `due_on = due_on + delta`: the indexed key moves.
    Shift(i64),
}

impl Change {
    fn apply(self, l: &mut Loan) {
        match self {
            Change::Flip => l.returned = !l.returned,
            Change::Shift(delta) => l.due_on = (i64::from(l.due_on) + delta) as u32,
        }
    }
}

/// One update: the rows due in `first..=last`, changed by `change`.
#[derive(Clone, Copy, Debug)]
struct Step {
    first: u32,
    last: u32,
    change: Change,
}

/// The update of a group, `Flip` or `Shift` (its forward direction).
#[derive(Clone, Copy, PartialEq)]
enum Update {
    Flip,
    Shift,
}

impl Update {
    /// The update of the block starting on day `d`, or its undo.
    fn step(self, s: &Scale, d: u32, undo: bool) -> Step {
        let span = s.block_days();
        match (self, undo) {
            (Update::Flip, _) => Step {
                first: d,
                last: d + span - 1,
                change: Change::Flip,
            },
            (Update::Shift, false) => Step {
                first: d,
                last: d + span - 1,
                change: Change::Shift(i64::from(s.days)),
            },
            (Update::Shift, true) => Step {
                first: d + s.days,
                last: d + s.days + span - 1,
                change: Change::Shift(-i64::from(s.days)),
            },
        }
    }
}

/// The rounds of a variant (see the module docs): up to `ROUND` blocks updated, then undone.
struct Rounds {
    /// Every block's first day, in a seeded order.
    blocks: Vec<u32>,
    next: usize,
    open: VecDeque<u32>,
    undoing: bool,
}

impl Rounds {
    fn new(s: &Scale) -> Self {
        let span = s.block_days();
        let mut blocks: Vec<u32> = (0..s.days / span).map(|k| k * span).collect();
        let mut rng = Rng(0x12_0002);
        for k in (1..blocks.len()).rev() {
            blocks.swap(k, rng.below(k + 1));
        }
        Rounds {
            blocks,
            next: 0,
            open: VecDeque::new(),
            undoing: false,
        }
    }

    /// The next block and whether this step undoes it.
    fn step(&mut self) -> (u32, bool) {
        if self.open.len() == ROUND {
            self.undoing = true;
        } else if self.open.is_empty() {
            self.undoing = false;
        }
        if self.undoing {
            (self.open.pop_front().unwrap(), true)
        } else {
            // `ROUND` divides the number of blocks: the open blocks are distinct.
            let d = self.blocks[self.next % self.blocks.len()];
            self.next += 1;
            self.open.push_back(d);
            (d, false)
        }
    }
}

fn relata_update(s: &mut RelataLoans, step: Step) -> usize {
    s.by_due
        .modify_range(&mut s.db, step.first..=step.last, |l| step.change.apply(l))
        .unwrap()
}

fn relata_scan_update(s: &mut RelataLoans, step: Step) -> usize {
    let (first, last) = (step.first, step.last);
    s.loans
        .modify_where(
            &mut s.db,
            |l| l.due_on >= first && l.due_on <= last,
            |l| step.change.apply(l),
        )
        .unwrap()
}

fn vec_update(v: &mut [Loan], step: Step) -> usize {
    let mut changed = 0;
    for l in v.iter_mut() {
        if l.due_on >= step.first && l.due_on <= step.last {
            step.change.apply(l);
            changed += 1;
        }
    }
    changed
}

fn sqlite_update(conn: &Connection, step: Step, indexed: bool) -> usize {
    let sql = match (step.change, indexed) {
        (Change::Flip, true) => {
            "UPDATE loans SET returned = NOT returned WHERE due_on BETWEEN ?1 AND ?2"
        }
        (Change::Flip, false) => {
            "UPDATE loans NOT INDEXED SET returned = NOT returned WHERE due_on BETWEEN ?1 AND ?2"
        }
        (Change::Shift(_), true) => {
            "UPDATE loans SET due_on = due_on + ?3 WHERE due_on BETWEEN ?1 AND ?2"
        }
        (Change::Shift(_), false) => {
            "UPDATE loans NOT INDEXED SET due_on = due_on + ?3 WHERE due_on BETWEEN ?1 AND ?2"
        }
    };
    let mut stmt = conn.prepare_cached(sql).unwrap();
    match step.change {
        Change::Flip => stmt.execute([step.first, step.last]),
        Change::Shift(delta) => stmt.execute(params![step.first, step.last, delta]),
    }
    .unwrap()
}

/// The fingerprints an update variant's check expects: of the generated rows, and of them after
/// the check's step.
struct UpdatePlan {
    update: Update,
    check_block: u32,
    before: u64,
    after: u64,
    rows_per_step: usize,
}

impl UpdatePlan {
    fn new(s: &Scale, rows: &[Loan], update: Update) -> Self {
        let check_block = s.days / 2;
        let mut changed = rows.to_vec();
        assert_eq!(
            vec_update(&mut changed, update.step(s, check_block, false)),
            s.n / 100
        );
        UpdatePlan {
            update,
            check_block,
            before: fingerprint(rows.iter()),
            after: fingerprint(changed.iter()),
            rows_per_step: s.n / 100,
        }
    }
}

/// Benchmarks `run`, in rounds, on `store` built on first use. Before timing, checks one step
/// and its undo against the plan's fingerprints; afterwards undoes what is still open.
#[allow(clippy::too_many_arguments)]
fn update<S>(
    g: &mut Group<'_>,
    name: &str,
    store: &mut Option<S>,
    build: &dyn Fn() -> S,
    scale: &Scale,
    plan: &UpdatePlan,
    fingerprint: fn(&S) -> u64,
    mut run: impl FnMut(&mut S, Step) -> usize,
) {
    let mut rounds = Rounds::new(scale);
    let mut checked = false;
    g.bench_function(name, |b| {
        let s = store.get_or_insert_with(build);
        if !checked {
            checked = true;
            let (d, n) = (plan.check_block, plan.rows_per_step);
            assert_eq!(fingerprint(s), plan.before, "{name}: the table before");
            assert_eq!(run(s, plan.update.step(scale, d, false)), n);
            assert_eq!(fingerprint(s), plan.after, "{name}: after one update");
            assert_eq!(run(s, plan.update.step(scale, d, true)), n);
            assert_eq!(fingerprint(s), plan.before, "{name}: after its undo");
        }
        b.iter(|| {
            let (d, undo) = rounds.step();
            let changed = run(s, plan.update.step(scale, d, undo));
            assert_eq!(black_box(changed), plan.rows_per_step);
        })
    });
    if let Some(s) = store.as_mut() {
        for d in rounds.open.drain(..) {
            run(s, plan.update.step(scale, d, true));
        }
        assert_eq!(fingerprint(s), plan.before, "{name}: the table after");
    }
}

// ---------------------------------------------------------------------------------------------
// The groups.

fn configure(g: &mut Group<'_>) {
    // Full scans of SQLite take tens of milliseconds: flat sampling keeps every function
    // within the measurement time.
    g.sample_size(20).sampling_mode(SamplingMode::Flat);
}

fn queries(c: &mut Criterion) {
    let scale = Scale::new();
    let rows = generate(&scale);
    let build_relata = || relata_loans(&rows);
    let build_sqlite = || sqlite_loans(&rows);
    let build_vec = || rows.clone();
    // Built on first use, kept for every group.
    let mut relata: Option<RelataLoans> = None;
    let mut sqlite: Option<Connection> = None;
    let mut vec: Option<Vec<Loan>> = None;

    let plan = ReadPlan::new(&scale, &rows);
    for (group, q) in [
        ("query_eq", Read::Eq),
        ("query_range", Read::Range),
        ("count_range", Read::Count),
    ] {
        let mut g = c.benchmark_group(format!("{group}/{}", scale.label));
        configure(&mut g);
        read(
            &mut g,
            "relata",
            &mut relata,
            &build_relata,
            &plan,
            q,
            relata_read,
        );
        read(
            &mut g,
            "sqlite",
            &mut sqlite,
            &build_sqlite,
            &plan,
            q,
            |s, q, d| sqlite_read(s, q, d, true),
        );
        read(
            &mut g,
            "relata_scan",
            &mut relata,
            &build_relata,
            &plan,
            q,
            relata_scan_read,
        );
        read(
            &mut g,
            "sqlite_scan",
            &mut sqlite,
            &build_sqlite,
            &plan,
            q,
            |s, q, d| sqlite_read(s, q, d, false),
        );
        read(&mut g, "vec", &mut vec, &build_vec, &plan, q, |v, q, d| {
            vec_read(v, q, d)
        });
        g.finish();
    }

    for (group, u) in [
        ("update_1pct", Update::Flip),
        ("update_key_1pct", Update::Shift),
    ] {
        let plan = UpdatePlan::new(&scale, &rows, u);
        let mut g = c.benchmark_group(format!("{group}/{}", scale.label));
        configure(&mut g);
        let (s, p) = (&scale, &plan);
        update(
            &mut g,
            "relata",
            &mut relata,
            &build_relata,
            s,
            p,
            relata_fingerprint,
            relata_update,
        );
        update(
            &mut g,
            "sqlite",
            &mut sqlite,
            &build_sqlite,
            s,
            p,
            sqlite_fingerprint,
            |c, step| sqlite_update(c, step, true),
        );
        update(
            &mut g,
            "relata_scan",
            &mut relata,
            &build_relata,
            s,
            p,
            relata_fingerprint,
            relata_scan_update,
        );
        update(
            &mut g,
            "sqlite_scan",
            &mut sqlite,
            &build_sqlite,
            s,
            p,
            sqlite_fingerprint,
            |c, step| sqlite_update(c, step, false),
        );
        update(
            &mut g,
            "vec",
            &mut vec,
            &build_vec,
            s,
            p,
            |v| vec_fingerprint(v),
            |v, step| vec_update(v, step),
        );
        g.finish();
    }

    if let Some(r) = &relata {
        r.db.check_integrity()
            .expect("the benchmark left relata consistent");
        // Every move of the key was moved back: the index holds every day's rows again.
        assert_eq!(r.by_due.count_range(&r.db, 0..scale.days).unwrap(), scale.n);
        assert_eq!(r.by_due.count(&r.db, &0).unwrap(), scale.per_day());
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = queries
}
criterion_main!(benches);
