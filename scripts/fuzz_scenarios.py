#!/usr/bin/env python3
"""Structured fuzzing of `mmusim run`: random but well-formed scenarios with hostile arguments
(huge page counts, addresses at the edge of the user address space, writes after deaths, tiny
memory). A case fails if mmusim exits with anything but 0, 1 or 2, prints "internal", or hangs.

Usage: scripts/fuzz_scenarios.py [--mmusim build/asan/mmusim] [--cases 400] [--seed 1]
Seeded: the same seed gives the same cases. Failing cases are kept in fuzz-failures/.
"""
import argparse
import os
import random
import subprocess
import sys


def scenario(seed):
    r = random.Random(seed)
    procs, regions, lines = ["P"], [], ["process P"]
    nums = ["0", "1", "0x1000", "0xffffffffffffffff", "0x7ffffffff000", "0x800000000000",
            str(r.randrange(1 << 64)), "4096", "0x10000"]
    for _ in range(r.randrange(1, 30)):
        op = r.choice(["mmap", "read", "write", "fork", "exit", "process", "expect"])
        p = r.choice(procs)
        if op == "mmap":
            reg = "R%d" % len(regions)
            regions.append(reg)
            extra = r.choice(["", " prot=r", " prot=none", " at=0x7fffffffe000",
                              " at=0x10000", " at=0xfffffffffffff000"])
            lines.append(f"mmap {p} {reg} {r.choice(['1', '2', '512', '34359738368', '100000'])}{extra}")
        elif op in ("read", "write"):
            addr = r.choice(regions + nums[1:6]) if regions else r.choice(nums[1:6])
            if regions and r.random() < .5:
                addr = r.choice(regions) + "+" + r.choice(["1p", "0x8", "0xff8", "4000p"])
            value = " " + r.choice(nums) if op == "write" else ""
            lines.append(f"{op} {p} {addr}{value}")
        elif op == "fork":
            child = "C%d" % len(procs)
            procs.append(child)
            lines.append(f"fork {p} {child}")
        elif op == "process":
            name = "Q%d" % len(procs)
            procs.append(name)
            lines.append(f"process {name}")
        elif op == "exit":
            lines.append(f"exit {p}")
        else:
            lines.append("expect mm.copies >= 0")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mmusim", default="build/debug/mmusim")
    ap.add_argument("--cases", type=int, default=400)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    os.makedirs("fuzz-failures", exist_ok=True)
    failures = 0
    for case in range(args.seed, args.seed + args.cases):
        path = os.path.join("fuzz-failures", f"case_{case}.scn")
        with open(path, "w") as f:
            f.write(scenario(case))
        try:
            run = subprocess.run([args.mmusim, "run", path, "--set", "mem.size_bytes=262144"],
                                 capture_output=True, text=True, timeout=60)
            bad = run.returncode not in (0, 1, 2) or "internal" in run.stdout + run.stderr
        except subprocess.TimeoutExpired:
            bad = True
        if bad:
            failures += 1
            print(f"case {case}: failed (kept {path})")
        else:
            os.remove(path)
    print(f"{args.cases} cases, {failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
