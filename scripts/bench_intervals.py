"""Are the printed alpha intervals as precise as printed? On framing-dev's real annotators (304
articles, 23 yes/no questions as frames; `../shared/framing-dev/`): 20 bootstrap seeds of RESAMPLES
(2,000), and the same rows in a shuffled order.

For every dimension: alpha, n, the interval and its Monte Carlo error (seed 0), the decimals that
error supports, the spread of the unrounded endpoints over the 20 seeds (the error's check), and
how many different printed values each endpoint takes over the seeds.

    .venv/bin/python scripts/bench_intervals.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from framestance.agreement import RESAMPLES, _Masi, _Nominal, compute, intervals
from framing_dev import CODEBOOK, NO_STANCES, annotation_table, load


def main() -> None:
    rows = load()
    if rows is None:
        raise SystemExit("bench_intervals: ../shared/framing-dev/articles.jsonl is absent")
    ann = annotation_table(rows)
    spans = pd.DataFrame(columns=["article_id", "annotation_id", "annotator", "status", "kind", "label", "start", "end"])
    t = time.perf_counter()
    runs = [compute(ann, NO_STANCES, spans, CODEBOOK, resamples=RESAMPLES, seed=s) for s in range(20)]
    print(f"20 seeds x {RESAMPLES} resamples: {time.perf_counter() - t:.1f} s", flush=True)
    shuffled = ann.sample(frac=1.0, random_state=7).reset_index(drop=True)
    same = compute(shuffled, NO_STANCES, spans, CODEBOOK, resamples=RESAMPLES, seed=0) == runs[0]
    print(f"rows shuffled: identical metrics: {same}")
    # the unrounded endpoints, to check the error estimate: the same statistics compute builds
    unit = pd.factorize(ann["article_id"], sort=True)[0]
    n_units = int(unit.max()) + 1
    from framestance.agreement import _frame_matrix

    member = _frame_matrix(ann["frames"], CODEBOOK.frame_ids())
    dims: dict = {f"frames:{f}": _Nominal(unit, member[:, k].astype(np.int64), n_units)
                  for k, f in enumerate(CODEBOOK.frame_ids())}
    masks = (member.astype(np.uint64) << np.arange(member.shape[1], dtype=np.uint64)).sum(axis=1, dtype=np.uint64)
    dims["frames_masi"] = _Masi(unit, masks, n_units)
    raw = [intervals(dims, n_units, RESAMPLES, s) for s in range(20)]
    print("| dimension | alpha | n articles | 95% interval (seed 0, as printed) | MC error (lower, upper) | "
          "decimals | spread of the endpoints over 20 seeds | printed values over 20 seeds |")
    print("|---|---:|---:|---|---|---:|---|---|")
    ratios, distinct = [], []
    for d in dims:
        r0 = runs[0]
        if r0["alpha_ci95"].get(d) is None:
            continue
        alpha = r0["alpha"]["frames"][d.split(":")[1]] if d.startswith("frames:") else r0["alpha"]["frames_masi"]
        err = r0["alpha_ci95_mc_error"][d]
        spread = [float(np.std([b[d]["ci95"][e] for b in raw], ddof=1)) for e in (0, 1)]
        claimed = [float(np.mean([b[d]["mc_error"][e] for b in raw])) for e in (0, 1)]
        ratios += [c / s for c, s in zip(claimed, spread) if s > 0]
        shown = [len({r["alpha_ci95"][d][e] for r in runs}) for e in (0, 1)]
        distinct += shown
        dec = r0["alpha_ci95_decimals"][d]
        lo, hi = r0["alpha_ci95"][d]
        print(f"| {d} | {alpha:.3f} | {r0['n'][d]['units']} | [{lo:.{dec}f}, {hi:.{dec}f}] | {err[0]:.4f}, {err[1]:.4f} | "
              f"{dec} | {spread[0]:.4f}, {spread[1]:.4f} | {shown[0]}, {shown[1]} |")
    print(f"claimed MC error / measured spread over seeds: median {np.median(ratios):.2f}, "
          f"range {min(ratios):.2f}-{max(ratios):.2f} ({len(ratios)} endpoints)")
    print(f"printed values per endpoint over 20 seeds: {dict(zip(*np.unique(distinct, return_counts=True)))}")


if __name__ == "__main__":
    main()
