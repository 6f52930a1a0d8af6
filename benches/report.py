#!/usr/bin/env python3
"""Turn Criterion's output into the tables of BENCHMARKS.md and the chart docs/benchmarks.svg.

Usage (after `cargo bench -p relata-benches`):  python3 benches/report.py
Reads $CARGO_TARGET_DIR/criterion/**/new/{benchmark,estimates}.json (target/ by default);
standard library only.
"""
import json
import math
import os
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
CRITERION = pathlib.Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target") / "criterion"
STORES = ["relata", "sqlite", "baseline", "slotmap"]
OPS = ["add_remove", "count", "has", "get", "set", "delete_parent"]
SIZES = ["1k", "100k"]
# The whole workloads of issue 11 (benches/benches/workloads.rs, src/bin/frames.rs).
WORKLOADS = ["frame", "fanout_add", "fanout_remove", "fanout_has", "fanout_get", "fanout_count",
             "scan", "modify_all", "bulk_insert", "test_suite"]
FANOUTS = ["10", "100", "10000"]
FANOUT_STORES = ["relata", "sqlite", "baseline", "slotmap"]
FRAMES_JSON = CRITERION / "frames" / "frames.json"
# Change sets, save/load and the feed of issue 13 (benches/benches/changes.rs): each group with
# the functions its ratios are taken against.
CHANGES = [("diff/after_10_changes/1M", ["dirty_list"]),
           ("diff/unrelated/100k", ["vec", "btreemap"]),
           ("diff/unrelated/1M", ["vec", "btreemap"]),
           ("archive/save/1M", ["sqlite_backup", "sqlite_serialize", "baseline"]),
           ("archive/load/1M", ["sqlite_backup", "sqlite_serialize", "baseline"]),
           ("feed/write/1M", ["no_subscriber", "plain_db"])]
CHANGES_PREFIXES = ["diff", "archive", "feed"]
# The queries of issue 12 (benches/benches/queries.rs): relata through its index beside SQLite
# with the same index, each beside its own full scan and a plain `Vec` scan.
QUERIES = ["query_eq/1M", "query_range/1M", "count_range/1M", "update_1pct/1M", "update_key_1pct/1M"]
QUERIES_FNS = ["relata", "sqlite", "relata_scan", "sqlite_scan", "vec"]
QUERIES_PREFIXES = sorted({g.split("/")[0] for g in QUERIES})


def medians():
    out = {}
    for bench in CRITERION.glob("**/new/benchmark.json"):
        meta = json.loads(bench.read_text())
        est = json.loads((bench.parent / "estimates.json").read_text())
        out[(meta["group_id"], meta["function_id"])] = est["median"]["point_estimate"]
    return out


def fmt(ns):
    if ns is None:
        return "–"
    if ns >= 1e9:
        return f"{ns / 1e9:,.2f} s"
    if ns >= 1e6:
        return f"{ns / 1e6:,.2f} ms"
    if ns >= 1000:
        return f"{ns / 1000:,.2f} µs"
    return f"{ns:,.1f} ns"


def ratio(a, b):
    return "–" if a is None or b is None else f"{a / b:.2f}"


def tables(m):
    lines = ["| operation | size | relata | SQLite | baseline | slotmap | SQLite / relata | relata / baseline |",
             "|---|---|---|---|---|---|---|---|"]
    for op in OPS:
        for size in SIZES:
            row = {s: m.get((f"{op}/{size}", s)) for s in STORES}
            if row["relata"] is None:
                continue
            lines.append(
                f"| {op} | {size} | " + " | ".join(fmt(row[s]) for s in STORES)
                + f" | {ratio(row['sqlite'], row['relata'])}× | {ratio(row['relata'], row['baseline'])}× |")
    lines += ["", "| add_remove, children with an unrelated attribute | size | no index | unique index | unique / none |",
              "|---|---|---|---|---|"]
    for size in SIZES:
        plain, unique = m.get((f"unique_index/{size}", "relata")), m.get((f"unique_index/{size}", "relata_unique"))
        if plain is not None or unique is not None:
            lines.append(f"| unique_index | {size} | {fmt(plain)} | {fmt(unique)} | {ratio(unique, plain)}× |")
    lines += ["", "| other | median |", "|---|---|"]
    for (group, fn), ns in sorted(m.items()):
        if group.split("/")[0] not in OPS + ["unique_index"] + WORKLOADS + CHANGES_PREFIXES + QUERIES_PREFIXES:
            lines.append(f"| {group}/{fn} | {fmt(ns)} |")
    return "\n".join(lines)


def group_table(m, group, base):
    """One group's functions with their ratio to `base` (a function id of the group)."""
    fns = sorted((fn, ns) for (g, fn), ns in m.items() if g == group)
    if not fns:
        return []
    b = m.get((group, base))
    lines = [f"| {group} | median | / {base} |", "|---|---|---|"]
    lines += [f"| {fn} | {fmt(ns)} | {ratio(ns, b)}× |" for fn, ns in fns]
    return lines + [""]


def workload_tables(m):
    lines = []
    lines += group_table(m, "frame", "relata")
    f = {fn: m.get(("frame", fn)) for fn in ["relata", "relata_fork", "relata_shared", "bevy", "baseline"]}
    if f["relata"] is not None:
        lines += ["| frame target | ratio | target |", "|---|---|---|",
                  f"| relata / bevy | {ratio(f['relata'], f['bevy'])}× | ≤ 0.5× |",
                  f"| relata / baseline | {ratio(f['relata'], f['baseline'])}× | ≤ 8× |",
                  f"| relata_fork / relata | {ratio(f['relata_fork'], f['relata'])}× | ≤ 1.5× |",
                  f"| relata_shared / relata | {ratio(f['relata_shared'], f['relata'])}× | ≤ 1.5× |", ""]
    if FRAMES_JSON.exists():
        data = json.loads(FRAMES_JSON.read_text())
        lines += [f"frames.rs: {data['units']:,} units, {data['frames']} frames after {data['warmup']} warm-up",
                  "", "| store | median | p99 | mean |", "|---|---|---|---|"]
        lines += [f"| {s['name']} | {fmt(s['median_ns'])} | {fmt(s['p99_ns'])} | {fmt(s['mean_ns'])} |"
                  for s in data["stores"]]
        lines.append("")
    head = "| operation | store | " + " | ".join(f"fan-out {k}" for k in FANOUTS) + f" | {FANOUTS[-1]} / {FANOUTS[0]} |"
    rows = []
    for op in ["add", "remove", "has", "get", "count"]:
        for s in FANOUT_STORES:
            ns = [m.get((f"fanout_{op}/{k}", s)) for k in FANOUTS]
            if any(v is not None for v in ns):
                rows.append(f"| {op} | {s} | " + " | ".join(fmt(v) for v in ns) + f" | {ratio(ns[-1], ns[0])}× |")
    if rows:
        lines += [head, "|" + "---|" * (len(FANOUTS) + 3)] + rows + [""]
    for group, base in [("scan/100k", "bevy"), ("modify_all/100k", "vec"), ("bulk_insert/100k", "vec_push"),
                        ("scan/10k", "bevy"), ("modify_all/10k", "vec"), ("bulk_insert/10k", "vec_push"),
                        ("test_suite", "relata")]:
        lines += group_table(m, group, base)
    return "\n".join(lines)


def changes_tables(m, groups=None):
    """The groups of benches/benches/changes.rs (or `groups`), each function's median and its
    ratio to the group's reference functions."""
    lines = []
    for group, bases in groups or CHANGES:
        fns = sorted((fn, ns) for (g, fn), ns in m.items() if g == group)
        if not fns:
            continue
        lines += [f"| {group} | median | " + " | ".join(f"/ {b}" for b in bases) + " |",
                  "|---|---|" + "---|" * len(bases)]
        lines += [f"| {fn} | {fmt(ns)} | " + " | ".join(f"{ratio(ns, m.get((group, b)))}×" for b in bases) + " |"
                  for fn, ns in fns]
        lines.append("")
    return "\n".join(lines)


def queries_table(m):
    """The groups of benches/benches/queries.rs, one row each: the medians of relata (through
    its index), SQLite (with the same index), their full scans and a `Vec` scan, with ratios."""
    rows = []
    for group in QUERIES:
        r = {fn: m.get((group, fn)) for fn in QUERIES_FNS}
        if all(v is None for v in r.values()):
            continue
        rows.append(f"| {group} | " + " | ".join(fmt(r[fn]) for fn in QUERIES_FNS)
                    + f" | {ratio(r['sqlite'], r['relata'])}× | {ratio(r['relata_scan'], r['relata'])}×"
                    + f" | {ratio(r['relata'], r['vec'])}× |")
    if not rows:
        return ""
    return "\n".join(["| query | relata | SQLite | relata scan | SQLite scan | Vec scan "
                      "| SQLite / relata | relata scan / relata | relata / Vec scan |",
                      "|---|---|---|---|---|---|---|---|---|"] + rows)


def chart(m, path):
    """Horizontal bars, log scale, one block per operation and size."""
    colors = {"relata": "#c0392b", "sqlite": "#2c3e50", "baseline": "#27ae60", "slotmap": "#8e44ad"}
    rows = [(op, size) for op in OPS for size in SIZES if m.get((f"{op}/{size}", "relata"))]
    bar, gap, left, width = 9, 10, 150, 560
    height = len(rows) * (len(STORES) * bar + gap) + 70
    lo, hi = 1.0, 1e6
    x = lambda ns: left + width * (math.log10(max(ns, lo)) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 150}" height="{height}" '
           'font-family="sans-serif" font-size="11">',
           f'<text x="{left}" y="16" font-size="13">median time per operation (log scale; shorter is faster)</text>']
    ticks = ["1 ns", "10 ns", "100 ns", "1 µs", "10 µs", "100 µs", "1 ms"]
    for k, label in enumerate(ticks):
        gx = x(10 ** k)
        svg.append(f'<line x1="{gx:.1f}" y1="24" x2="{gx:.1f}" y2="{height - 30}" stroke="#ddd"/>')
        svg.append(f'<text x="{gx:.1f}" y="{height - 16}" text-anchor="middle">{label}</text>')
    y = 30
    for op, size in rows:
        svg.append(f'<text x="{left - 8}" y="{y + 2 * bar + 4}" text-anchor="end">{op} {size}</text>')
        for s in STORES:
            ns = m.get((f"{op}/{size}", s))
            if ns is not None:
                svg.append(f'<rect x="{left}" y="{y}" width="{x(ns) - left:.1f}" height="{bar - 1}" fill="{colors[s]}"/>')
                svg.append(f'<text x="{x(ns) + 4:.1f}" y="{y + bar - 1}" font-size="9">{fmt(ns)}</text>')
            y += bar
        y += gap
    for i, s in enumerate(STORES):
        svg.append(f'<rect x="{left + width + 20}" y="{40 + i * 16}" width="10" height="10" fill="{colors[s]}"/>')
        svg.append(f'<text x="{left + width + 36}" y="{49 + i * 16}">{s}</text>')
    svg.append("</svg>")
    path.write_text("\n".join(svg) + "\n")


def main():
    m = medians()
    if not m:
        sys.exit("no Criterion output under target/criterion: run `cargo bench -p relata-benches` first")
    print(tables(m))
    print()
    print(workload_tables(m))
    print()
    print(changes_tables(m))
    print()
    print(queries_table(m))
    chart(m, ROOT / "docs" / "benchmarks.svg")
    print("\nwrote docs/benchmarks.svg", file=sys.stderr)


if __name__ == "__main__":
    main()
