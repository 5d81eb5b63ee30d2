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
    procs, regions, lines = ["P"], [], ["process P", "thread P.t2 cpu=1", "thread P.t3 cpu=2"]
    pins, open_pins, paused = [], [], []
    nums = ["0", "1", "0x1000", "0xffffffffffffffff", "0x7ffffffff000", "0x800000000000",
            str(r.randrange(1 << 64)), "4096", "0x10000"]
    for _ in range(r.randrange(1, 30)):
        op = r.choice(["mmap", "read", "write", "fork", "exit", "process", "expect", "pin", "pin_begin",
                       "pin_end", "unpin", "dma", "range", "swapout", "swapdev", "fence", "prefetch", "resume"])
        p = r.choice(procs)
        if p == "P" and r.random() < .5:
            p = r.choice(["P.t2", "P.t3"])
        addr = None
        if regions:
            addr = r.choice(regions) + r.choice(["", "", "+1p", "+0x8"])
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
            if r.random() < 0.3:
                lines.append(f"fork {p} {child} pause")
                paused.append(p)
            else:
                lines.append(f"fork {p} {child}")
        elif op == "process":
            name = "Q%d" % len(procs)
            procs.append(name)
            lines.append(f"process {name}")
        elif op == "exit":
            lines.append(f"exit {p.split('.')[0]}")
        elif op in ("pin", "pin_begin") and addr:
            name = "X%d" % len(pins)
            flags = r.choice(["", " rw", " rw longterm", " slow", " force rw"]) if op == "pin" else r.choice(["", " rw"])
            verb = r.choice(["pin", "get"]) if op == "pin" and "longterm" not in flags and "force" not in flags else op
            lines.append(f"{verb} {p} {addr} as {name}{flags}")
            pins.append(name)
            if op == "pin_begin":
                open_pins.append(name)
        elif op == "pin_end" and open_pins:
            lines.append(f"pin_end {open_pins.pop(0)}")
        elif op == "unpin" and pins:
            name = r.choice(pins)
            if name not in open_pins:
                pins.remove(name)
                lines.append(f"unpin {name}")
        elif op == "dma" and pins:
            name = r.choice(pins)
            if name not in open_pins:
                lines.append(r.choice([f"dma_read {name}", f"dma_write {name} 7 offset=8"]))
        elif op == "range" and addr and "+0x8" not in addr:
            lines.append(r.choice([f"munmap {p} {addr}", f"mprotect {p} {addr} prot=r", f"mprotect {p} {addr} prot=rw",
                                   f"madvise {p} {addr} dontneed", f"madvise {p} {addr} dontfork",
                                   f"madvise {p} {addr} wipeonfork", f"numa_scan {p} {addr}"]))
        elif op == "swapout" and addr:
            lines.append(f"swapout {p} {addr}{r.choice(['', '', ' async', ' arch_fail'])}")
        elif op == "swapdev":
            lines.append(r.choice([f"swapoff {p}", f"writeback_done {p}", f"clear_refs {p}"]))
        elif op == "prefetch":
            lines.append(f"prefetch {p} {addr or r.choice(nums[1:6])}")
        elif op == "resume" and paused:
            lines.append(f"resume {paused.pop(0)}")
        elif op == "fence":
            lines.append(f"fence {p}")
        else:
            lines.append("expect mm.copies >= 0")
    lines += [f"pin_end {name}" for name in open_pins]
    lines += [f"resume {actor}" for actor in paused]
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
            run = subprocess.run([args.mmusim, "run", path, "--set", "memory.size_bytes=262144"],
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
