#!/usr/bin/env python3
"""Checks mmusim's output files (ctest, testbench/CMakeLists.txt); standard library only.

  check_outputs.py run-csv FILE          stats CSV: header, rows, the statistics of A03
  check_outputs.py run-json FILE         stats JSON v2: header, config, cdf of A03's latencies
  check_outputs.py png FILE...           PNG signature, not tiny
  check_outputs.py svg FILE...           SVG parses as XML, no timestamp
  check_outputs.py same FILE FILE        byte-identical
  check_outputs.py sweep DIR ROWS KEY... sweep.csv/json: ROWS points, grid columns KEY..., status 0
  check_outputs.py cow MMUSIM DIR OUT    runs mmusim cow on DIR, checks table, exit code, CSV, JSON
Exits 1 with the reason on the first problem.
"""
import csv
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET


def fail(message):
    print(f"check_outputs: FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def expect(condition, message):
    if not condition:
        fail(message)


def rows_of(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def run_csv(path):
    rows = rows_of(path)
    expect(rows and rows[0] == ["stat", "unit", "field", "low", "value"], f"{path}: header {rows[:1]}")
    expect(all(len(r) == 5 for r in rows), f"{path}: a row without 5 fields")
    table = {}
    for stat, unit, field, low, value in rows[1:]:
        table[(stat, field, low)] = (unit, value)
    expect(table.get(("mm.copies", "value", "")) == ("pages", "1"), "mm.copies value 1 (pages)")
    expect(table.get(("tb.faults.wp_copy.latency", "count", ""), ("", ""))[1] == "1", "one wp_copy fault")
    p50 = table.get(("tb.faults.wp_copy.latency", "p50", ""), ("", ""))[1]
    expect(p50.isdigit() and int(p50) > 0, f"wp_copy p50 {p50!r}")
    buckets = [(low, v) for (s, f, low), (u, v) in table.items() if s == "tb.faults.wp_copy.latency" and f == "bucket"]
    expect(len(buckets) == 1 and buckets[0][1] == "1", f"wp_copy buckets {buckets}")
    low = int(buckets[0][0])
    expect(low <= int(p50) < 2 * low, f"bucket [{low}, {2 * low}) holds p50 {p50}")
    expect(("cpu0.dtlb.misses.load", "value", "") in table, "cpu0.dtlb.misses.load")
    print(f"{path}: {len(rows) - 1} rows ok")


def run_json(path):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    expect(doc["schema"] == "mmusim.stats" and doc["schema_version"] == 2, "schema mmusim.stats v2")
    for key in ("mmusim", "systemc", "fmt", "nlohmann_json", "compiler"):
        expect(key in doc["tool"], f"tool version {key}")
    expect(isinstance(doc["seed"], int) and doc["profile"] == "x86-server", "seed and profile")
    expect("known_bad" in doc and doc["known_bad"] is None, "known_bad null for A03")
    expect(len(doc["config"]) > 50 and all({"value", "unit", "description"} <= set(v) for v in doc["config"].values()),
           "config entries with value, unit, description")
    expect(doc["config"]["seed"]["value"] == str(doc["seed"]), "seed in config and header agree")
    with_cdf = 0
    for name, entry in doc["stats"].items():
        if "cdf" not in entry:
            continue
        with_cdf += 1
        cdf = entry["cdf"]
        expect(name.startswith("tb.") and 0 < len(cdf) <= 101, f"{name}: cdf of {len(cdf)} points")
        expect(cdf[0][0] == entry["min"] and cdf[-1] == [entry["max"], 1.0], f"{name}: cdf from min to (max, 1)")
        for (v0, f0), (v1, f1) in zip(cdf, cdf[1:]):
            expect(v0 < v1 and f0 < f1, f"{name}: cdf not increasing")
        for v, frac in cdf:
            n = frac * entry["count"]
            expect(abs(n - round(n)) < 1e-9, f"{name}: fraction {frac} is not k/{entry['count']}")
    expect(with_cdf >= 3, f"only {with_cdf} statistics have a cdf")
    print(f"{path}: ok, {with_cdf} cdfs")


def png(paths):
    for path in paths:
        with open(path, "rb") as f:
            data = f.read()
        expect(data[:8] == b"\x89PNG\r\n\x1a\n", f"{path}: no PNG signature")
        expect(len(data) > 2000, f"{path}: only {len(data)} bytes")
        print(f"{path}: PNG, {len(data)} bytes")


def svg(paths):
    for path in paths:
        root = ET.parse(path).getroot()
        expect(root.tag.endswith("svg"), f"{path}: root element {root.tag}")
        text = open(path, encoding="utf-8").read()
        expect("<dc:date>" not in text, f"{path}: has a timestamp")
        expect(len(list(root.iter())) > 20, f"{path}: almost empty")
        print(f"{path}: SVG ok")


def same(a, b):
    expect(open(a, "rb").read() == open(b, "rb").read(), f"{a} and {b} differ")
    print(f"{a} == {b}")


def sweep(directory, n, keys):
    rows = rows_of(os.path.join(directory, "sweep.csv"))
    header = rows[0]
    expect(header[: len(keys) + 2] == ["point"] + keys + ["status"], f"sweep.csv header {header}")
    expect("result.cycles" in header, "result.cycles column")
    expect(len(rows) == 1 + int(n), f"{len(rows) - 1} rows, expected {n}")
    for i, r in enumerate(rows[1:]):
        expect(r[0] == str(i) and r[len(keys) + 1] == "0", f"row {i}: {r}")
        expect(r[header.index("result.cycles")].isdigit(), f"row {i}: no cycles")
    with open(os.path.join(directory, "sweep.json"), encoding="utf-8") as f:
        doc = json.load(f)
    expect(doc["schema"] == "mmusim.sweep" and len(doc["points"]) == int(n), "sweep.json points")
    expect([g["key"] for g in doc["grid"]] == keys, "sweep.json grid keys")
    png([os.path.join(directory, "sweep.png")])
    svg([os.path.join(directory, "sweep.svg")])
    print(f"{directory}: {n} points ok")


def cow(mmusim, directory, out):
    csv_path, json_path = os.path.join(out, "cow.csv"), os.path.join(out, "cow.json")
    p = subprocess.run([mmusim, "cow", directory, "--jobs", "2", "--csv", csv_path, "--json", json_path],
                       capture_output=True, text=True)
    print(p.stdout)
    expect(p.returncode == 1, f"exit code {p.returncode}, expected 1 (one scenario fails)\n{p.stderr}")
    lines = p.stdout.splitlines()
    expected = {
        "fork_parent_writes": ("-", "pass"),
        "known_bad_get_reference": ("L2", "pass"),
        "run_with_small_memory": ("-", "pass"),
        "wrong_expectation": ("-", "FAIL (value)"),
    }
    expect(lines[0].split()[:3] == ["scenario", "known-bad", "result"], f"table header {lines[0]}")
    for i, (name, (label, result)) in enumerate(expected.items()):
        cells = lines[1 + i].split()
        expect(cells[0] == name and cells[1] == label and " ".join(cells[2:-2]) == result,
               f"row {name}: {lines[1 + i]!r}")
        expect(cells[-2].isdigit() and cells[-1].isdigit(), f"row {name}: cycles and faults")
    expect(len({len(l) for l in lines[: 1 + len(expected)]}) == 1, "table rows are not aligned")
    expect("cow: 4 scenarios: 3 passed (1 known-bad reproduced), 1 FAILED" in p.stdout, "summary line")
    expect("wrong_expectation.scn:7:1: value: C read 1 at A: expected 2" in p.stdout, "failure detail")
    rows = rows_of(csv_path)
    expect(rows[0][:4] == ["scenario", "known_bad", "status", "result"], f"cow.csv header {rows[0]}")
    expect([(r[0], r[2]) for r in rows[1:]] == [(n, "1" if r == "FAIL (value)" else "0")
                                                for n, (_, r) in expected.items()], "cow.csv statuses")
    with open(json_path, encoding="utf-8") as f:
        doc = json.load(f)
    expect(doc["summary"] == {"scenarios": 4, "passed": 3, "failed": 1}, f"cow.json summary {doc['summary']}")
    print("cow ok")


def main():
    if len(sys.argv) < 3:
        fail(__doc__)
    command, args = sys.argv[1], sys.argv[2:]
    if command == "run-csv":
        run_csv(args[0])
    elif command == "run-json":
        run_json(args[0])
    elif command == "png":
        png(args)
    elif command == "svg":
        svg(args)
    elif command == "same":
        same(args[0], args[1])
    elif command == "sweep":
        sweep(args[0], args[1], args[2:])
    elif command == "cow":
        cow(args[0], args[1], args[2])
    else:
        fail(f"unknown check {command}")


if __name__ == "__main__":
    main()
