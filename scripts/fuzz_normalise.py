"""The long fuzz run: push N generated inputs (good and malformed, every kind, gzip, odd names,
links) through `framestance normalise` as a user runs it, and check that nothing crashed and
nothing vanished. Prints the figures for BENCHMARKS.md.

    .venv/bin/python scripts/fuzz_normalise.py --inputs 10000 --seed 1 --workers 2
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pyarrow.parquet as pq  # noqa: E402
from tests.normalise.fuzzgen import write_case  # noqa: E402

from framestance.normalise.readers import display_path  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--inputs", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--bad-share", type=float, default=0.5)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="fuzz-") as tmp:
        root = Path(tmp)
        cases = []
        written = 0
        while written < args.inputs:  # folders of up to 500 inputs, each with its own links
            n = min(500, args.inputs - written)
            cases.append(write_case(rng, root / "in" / f"batch{len(cases):03d}", n, args.bad_share))
            written += n
        paths = [p for c in cases for p in c.paths]
        good = {p: n for c in cases for p, n in c.good.items()}
        print(f"generated {len(paths)} inputs ({len(good)} well-formed) under {root}", file=sys.stderr)
        exe = Path(sys.executable).with_name("framestance")
        started = time.perf_counter()
        proc = subprocess.run([str(exe), "normalise", str(root / "in"), "--out", str(root / "out"), "--workers",
                               str(args.workers), "--quiet", "--retrieved-at", "2025-08-18T09:30:00Z"],
                              cwd=root, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        if proc.returncode != 0:
            print(f"CRASH: exit {proc.returncode}\n{proc.stderr[-3000:]}")
            return 1
        arts = pq.read_table(root / "out" / "articles.parquet", columns=["source_path", "relation"]).to_pylist()
        rejs = pq.read_table(root / "out" / "rejects.parquet", columns=["source_path", "reason", "detail"]).to_pylist()
        seen: dict[str, Counter] = {}
        for a in arts:
            seen.setdefault(a["source_path"], Counter())[a["relation"]] += 1
        for r in rejs:
            seen.setdefault(r["source_path"], Counter())["rejected"] += 1
        old = Path.cwd()
        os.chdir(root)
        try:
            shown = {p: display_path(p) for p in paths}
        finally:
            os.chdir(old)
        vanished = [p for p in paths if shown[p] not in seen]
        good_wrong = [p for p, n in good.items() if seen.get(shown[p], Counter())["main"] != n or seen[shown[p]]["rejected"]]
        multi_line = [r for r in rejs if "\n" in r["detail"] or "Traceback" in r["detail"]]
        reasons = Counter(r["reason"] for r in rejs)
        print(f"| inputs (paths) | {len(paths):,} |")
        print(f"| well-formed inputs | {len(good):,} (all give their articles: {'yes' if not good_wrong else f'no, {len(good_wrong)} differ'}) |")
        print("| crashes (non-zero exit) | 0 |")
        print(f"| vanished inputs | {len(vanished)} |")
        print(f"| articles / reject rows | {len(arts):,} / {len(rejs):,} |")
        print(f"| reject reasons | {', '.join(f'{k} {v:,}' for k, v in sorted(reasons.items()))} |")
        print(f"| reject details not one plain line | {len(multi_line)} |")
        print(f"| wall time, {args.workers} workers | {seconds:.1f} s ({len(paths) / seconds:.0f} inputs/s) |")
        print(f"| peak memory of one process | {peak_mib:.0f} MiB |")
        for p in vanished[:10]:
            print(f"vanished: {p}")
        for p in good_wrong[:10]:
            print(f"good input differs: {p}: {seen.get(shown[p])}")
        return 1 if vanished or good_wrong or multi_line else 0


if __name__ == "__main__":
    sys.exit(main())
