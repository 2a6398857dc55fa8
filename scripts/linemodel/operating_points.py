"""What each `page_type_article_loss` buys: the share of non-articles the page-type check keeps out
at each share of real articles it turns away, for HTML and for dumps, and a plot of both curves.

    .venv/bin/python scripts/linemodel/operating_points.py [--model PATH] [--plot docs/page-type-operating-points.png]

Reads only the weights (the shipped `linemodel.json` by default): each page-type model carries the
out-of-fold scores of its training pages (4 folds by site), from which the tool sets its threshold
at run time (`DumpModel.page_threshold`). The shares printed are those of the same scores, so they
are estimates for sites the model has not seen, with a binomial 95% interval (Wilson).
"""
from __future__ import annotations

import argparse
import math

import numpy as np

from framestance.config import NormaliseConfig
from framestance.normalise.linemodel import PAGE_KINDS, DumpModel

LOSSES = (0.002, NormaliseConfig.page_type_article_loss, 0.01, 0.017, 0.02, 0.03, 0.05, 0.07, 0.1, 0.15)
LABELS = {"html": "HTML", "dump": "text dumps"}


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="weights JSON (default: the shipped one)")
    ap.add_argument("--plot", default=None, help="write the curves to this PNG")
    args = ap.parse_args()
    m = DumpModel(args.model)
    print("| page_type_article_loss | " + " | ".join(f"{LABELS[k]}: non-articles kept out [95% CI]" for k in PAGE_KINDS) + " |")
    print("| ---: | " + " | ".join("---:" for _ in PAGE_KINDS) + " |")
    for loss in LOSSES:
        cells = []
        for kind in PAGE_KINDS:
            others = m.other_scores[kind]
            k = int((others < m.page_threshold(kind, loss)).sum())
            lo, hi = wilson(k, len(others))
            cells.append(f"{k}/{len(others)} = {k / len(others):.1%} [{lo:.1%}, {hi:.1%}]")
        default = " (default)" if loss == NormaliseConfig.page_type_article_loss else ""
        print(f"| {loss:g}{default} | " + " | ".join(cells) + " |")
    print("n articles:", {kind: len(m.article_scores[kind]) for kind in PAGE_KINDS},
          "(dumps: both shapes of each page)")
    if args.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=120)
        grid = np.linspace(0.0, 0.25, 251)[1:]
        for kind, style in zip(PAGE_KINDS, ("-", "--")):
            kept_out = [m.other_rejection(kind, loss) * 100 for loss in grid]
            ax.plot(grid * 100, kept_out, style, label=f"{LABELS[kind]} (n = {len(m.other_scores[kind])} non-articles)")
            default = NormaliseConfig.page_type_article_loss
            ax.plot([default * 100], [m.other_rejection(kind, default) * 100], "o", color=ax.lines[-1].get_color())
        ax.plot([0], [0], "ks", ms=4)
        ax.annotate("0: no check", (0, 0), (0.6, 3), fontsize=8)
        ax.axvline(NormaliseConfig.page_type_article_loss * 100, color="grey", lw=0.8, ls=":")
        ax.axhline(90, color="grey", lw=0.8, ls=":")
        ax.set_xlabel("real articles turned away (%), page_type_article_loss × 100")
        ax.set_ylabel("non-articles kept out (%)")
        ax.set_title("Page-type check, out of fold by site (extraction-dev)", fontsize=10)
        ax.set_xlim(0, 25)
        ax.set_ylim(0, 100)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
        fig.tight_layout()
        fig.savefig(args.plot, metadata={"Software": None})
        print("wrote", args.plot)


if __name__ == "__main__":
    main()
