"""Plot simulated selection campaigns (the JSON files of bench_select.py --json): per round, the
on-issue share of the tasks pushed, and the coverage of each share's 95 % interval.

    .venv/bin/python scripts/plot_select.py a.json b.json --out docs/select-campaigns.png
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--out", type=Path, default=Path("docs/select-campaigns.png"))
    ap.add_argument("--title", default="")
    args = ap.parse_args()
    docs = [json.loads(f.read_text(encoding="utf-8")) for f in args.files]
    truth = docs[0]["true_share"]
    n_rel = docs[0]["relevant_hits"]
    campaigns = [c for d in docs for c in d["campaigns"]]
    n = len(campaigns)
    rounds = len(campaigns[0]["rounds"])
    fig, (left, right) = plt.subplots(1, 2, figsize=(7.0, 2.9))
    shares = [[c["rounds"][r]["on_issue"] / c["rounds"][r]["tasks"] * 100 for c in campaigns] for r in range(rounds)]
    left.boxplot(shares, positions=range(1, rounds + 1), widths=0.5, whis=(0, 100))
    left.axhline(80, color="tab:red", lw=0.8, ls="--")
    left.text(0.6, 82, "80 %", color="tab:red", va="bottom", fontsize=8)
    left.set_xlabel("round")
    left.set_ylabel("on-issue tasks (%)")
    left.set_ylim(0, 100)
    left.set_title(f"tasks on the issue ({n} campaigns)", fontsize=9)
    keys = [*truth, "relevant"]
    for key in keys:
        cov = []
        for r in range(rounds):
            hit = 0
            for c in campaigns:
                row = c["rounds"][r]
                est, lo, hi = (row["relevant"] if key == "relevant" else row["shares"][key][:3])
                target = n_rel if key == "relevant" else truth[key]
                hit += est is not None and lo <= target <= hi
            cov.append(100 * hit / n)
        right.plot(range(1, rounds + 1), cov, marker="o", ms=3, lw=1, label=key if key == "relevant" else f"{key} frame")
    mc = 100 * 1.96 * math.sqrt(0.95 * 0.05 / n)
    right.axhspan(95 - mc, 95 + mc, color="0.85", zorder=0)
    right.axhline(95, color="0.3", lw=0.8)
    right.set_ylim(85, 100)
    right.set_xlabel("round")
    right.set_ylabel("intervals covering the truth (%)")
    right.set_title("coverage of the 95 % intervals", fontsize=9)
    right.legend(fontsize=7, ncol=2, loc="lower right")
    for ax in (left, right):
        ax.set_xticks(range(1, rounds + 1))
        ax.tick_params(labelsize=8)
    if args.title:
        fig.suptitle(args.title, fontsize=9)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=150)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
