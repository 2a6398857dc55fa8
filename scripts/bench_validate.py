"""Benchmark validate, agreement and aggregate on generated tables.

    .venv/bin/python scripts/bench_validate.py --annotations 1000000

Generates annotations/stances/spans of the pipeline's own shape (3 annotations per article, a
stance per codebook target, one span each; see scripts/bench_data.py), then times, each in a
fresh process pinned to one core (taskset), with its peak resident memory:
validate (read + two-pass pandera, pandas backend), agreement (alpha of every dimension + span
F1) and aggregate (majority + span consolidation).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

STEP = r"""
import json, resource, sys, time
sys.path.insert(0, {src!r})
from pathlib import Path
from framestance.codebook import load
from framestance.validate import load_tables, validate
from framestance import agreement as ag
from framestance.aggregate import gold_labels, gold_spans
cb = load({codebook!r})
work = Path({work!r})
t = time.perf_counter()
tables = load_tables({{"corpus": work / "corpus", "annotations": work / "annotations"}})
read = time.perf_counter() - t
step = {step!r}
t = time.perf_counter()
if step == "validate":
    res = validate(tables, cb, min_annotators=2)
    extra = {{"failures": res.failures.num_rows}}
else:
    texts = dict(zip(tables["articles"]["article_id"], tables["articles"]["text"]))
    if step == "agreement":
        m = ag.compute(tables["annotations"], tables["stances"], tables["spans"], cb, texts)  # default resamples
        extra = {{"alpha_primary_frame": m["alpha"]["primary_frame"], "ci95_primary_frame": m["alpha_ci95"]["primary_frame"],
                 "resamples": m["bootstrap"]["resamples"], "intervals": len(m["alpha_ci95"])}}
    else:
        g = gold_labels(tables["annotations"], tables["stances"], cb)
        s = gold_spans(tables["annotations"], tables["spans"], texts)
        extra = {{"gold_rows": g.num_rows, "gold_spans": s.num_rows}}
run = time.perf_counter() - t
print(json.dumps({{"step": step, "read_s": round(read, 2), "run_s": round(run, 2), "total_s": round(read + run, 2),
                  "peak_rss_MB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024), **extra}}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--annotations", type=int, default=1_000_000)
    ap.add_argument("--steps", nargs="+", default=["validate", "agreement", "aggregate"])
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "scripts"))
    from bench_data import make

    work = Path(tempfile.mkdtemp(prefix="fs-valbench-"))
    try:
        t = time.perf_counter()
        sizes = make(work, args.annotations // 3)
        print(json.dumps({"generated": sizes, "seconds": round(time.perf_counter() - t, 1)}), flush=True)
        for step in args.steps:
            code = STEP.format(src=str(ROOT / "src"), codebook=str(ROOT / "schemas" / "codebook.yaml"),
                               work=str(work), step=step)
            cmd = [sys.executable, "-c", code]
            if shutil.which("taskset"):
                cmd = ["taskset", "-c", "0", *cmd]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True)
            print(out.stdout.strip(), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
