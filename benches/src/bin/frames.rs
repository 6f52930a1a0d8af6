//! The game frame of issue 11 on every store, frame by frame: median, p99, mean and best time
//! per frame, as a markdown table, with the ratios the targets are about.
//!
//! Run with `cargo run --release -p relata-benches --bin frames` (300 frames after 50 warm-up
//! frames per store, at 1,000 squads / 100,000 units / 300,000 items). Options:
//! `--frames N`, `--warmup N`, `--units N` (the other sizes scale with it), `--only a,b` (store
//! names), `--json PATH`. The JSON goes by default to `target/criterion/frames/frames.json`, next
//! to Criterion's output, where `benches/report.py` finds it.
//!
//! Stores run one after another, each on its own freshly built world; the same frame plans in
//! the same order for all.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use relata_benches::frame::{
    BaselineFrame, BevyFrame, FramePlan, FrameSpec, FrameStore, InitialWorld, RelataForkFrame,
    RelataFrame, RelataSharedFrame, SqliteFrame, plans, time_frames,
};

struct Options {
    frames: usize,
    warmup: usize,
    units: usize,
    only: Option<Vec<String>>,
    json: PathBuf,
}

fn options() -> Options {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let mut o = Options {
        frames: 300,
        warmup: 50,
        units: 100_000,
        only: None,
        json: target.join("criterion/frames/frames.json"),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--frames" => o.frames = value().parse().expect("--frames N"),
            "--warmup" => o.warmup = value().parse().expect("--warmup N"),
            "--units" => o.units = value().parse().expect("--units N"),
            "--only" => o.only = Some(value().split(',').map(str::to_owned).collect()),
            "--json" => o.json = PathBuf::from(value()),
            other => panic!(
                "unknown argument {other}; expected --frames N, --warmup N, --units N, \
                 --only a,b, --json PATH"
            ),
        }
    }
    assert!(o.frames > 0, "--frames must be positive");
    o
}

struct Row {
    name: &'static str,
    median: Duration,
    p99: Duration,
    mean: Duration,
    best: Duration,
}

fn measure<S: FrameStore>(
    o: &Options,
    spec: &FrameSpec,
    world: &InitialWorld,
    plans: &[FramePlan],
    rows: &mut Vec<Row>,
) {
    if o.only
        .as_ref()
        .is_some_and(|only| !only.iter().any(|n| n == S::NAME))
    {
        return;
    }
    eprintln!("{}: building, {} + {} frames", S::NAME, o.warmup, o.frames);
    let mut times = time_frames::<S>(spec, world, plans, o.warmup, o.frames);
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    rows.push(Row {
        name: S::NAME,
        median: at(0.5),
        p99: at(0.99),
        mean: times.iter().sum::<Duration>() / times.len() as u32,
        best: times[0],
    });
}

fn us(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e6)
}

fn main() {
    let o = options();
    let spec = FrameSpec::scaled(o.units);
    let world = InitialWorld::new(&spec);
    let plans = plans(&spec, 64);
    let mut rows = Vec::new();
    measure::<RelataFrame>(&o, &spec, &world, &plans, &mut rows);
    measure::<RelataForkFrame>(&o, &spec, &world, &plans, &mut rows);
    measure::<RelataSharedFrame>(&o, &spec, &world, &plans, &mut rows);
    measure::<BevyFrame>(&o, &spec, &world, &plans, &mut rows);
    measure::<BaselineFrame>(&o, &spec, &world, &plans, &mut rows);
    measure::<SqliteFrame>(&o, &spec, &world, &plans, &mut rows);

    let median = |name: &str| rows.iter().find(|r| r.name == name).map(|r| r.median);
    let ratio = |a: Duration, b: Option<Duration>| {
        b.map_or("–".to_owned(), |b| {
            format!("{:.2}×", a.as_secs_f64() / b.as_secs_f64())
        })
    };
    println!(
        "{} squads, {} units, {} items; per frame {} moves, {} deaths and spawns; \
         {} frames after {} warm-up frames\n",
        spec.squads,
        spec.units,
        spec.units * relata_benches::frame::ITEMS_PER_UNIT,
        spec.moves,
        spec.deaths,
        o.frames,
        o.warmup
    );
    println!(
        "| store | median µs | p99 µs | mean µs | best µs | median / relata | median / bevy | median / baseline |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            r.name,
            us(r.median),
            us(r.p99),
            us(r.mean),
            us(r.best),
            ratio(r.median, median("relata")),
            ratio(r.median, median("bevy")),
            ratio(r.median, median("baseline")),
        );
    }

    let mut json = String::new();
    write!(
        json,
        "{{\"squads\": {}, \"units\": {}, \"moves\": {}, \"deaths\": {}, \"frames\": {}, \
         \"warmup\": {}, \"stores\": [",
        spec.squads, spec.units, spec.moves, spec.deaths, o.frames, o.warmup
    )
    .unwrap();
    for (k, r) in rows.iter().enumerate() {
        write!(
            json,
            "{}\n  {{\"name\": \"{}\", \"median_ns\": {}, \"p99_ns\": {}, \"mean_ns\": {}, \
             \"best_ns\": {}}}",
            if k == 0 { "" } else { "," },
            r.name,
            r.median.as_nanos(),
            r.p99.as_nanos(),
            r.mean.as_nanos(),
            r.best.as_nanos()
        )
        .unwrap();
    }
    json.push_str("\n]}\n");
    if let Some(dir) = o.json.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(&o.json, json).unwrap();
    eprintln!("wrote {}", o.json.display());
}
