"""How far gold-label support can be trusted, on real annotators: framing-dev's 304 climate articles,
23 yes/no questions each coded by 2-3 trained annotators (`../shared/framing-dev/`).

Held-out annotators: on each article with three annotators, each of the three in turn is left
out (their answers removed there, everything else kept), gold labels are made from the others,
and every decided label's support is set against whether the left-out annotator gave it. Support
claims to be that probability ("one more annotator would give this label"), so a calibrated
support matches the held-out agreement in every bin (expected calibration error, 10 bins).

Compared: majority and Dawid-Skene as framestance runs them (support: the predictive probability),
the former definitions (vote share; Dawid-Skene's posterior), and crowd-kit's other models (MACE,
GLAD, one-coin Dawid-Skene; posterior as support, ties decided). Also: how many vote ties each
decides, and agreement with the data set's published aggregate on the 3-annotator articles.

    .venv/bin/python scripts/bench_aggregate.py [--plot docs/support-calibration.png]
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
from framestance.aggregate import _dawid_skene, _predictive  # noqa: E402
from framing_dev import QUESTIONS, annotation_table, ece, load  # noqa: E402


def crowdkit_labels(long: pd.DataFrame, model: str) -> pd.DataFrame:
    """task, label, posterior of crowd-kit's MODEL on one question."""
    from crowdkit.aggregation import GLAD, MACE, DawidSkene, OneCoinDawidSkene

    make = {"mace": lambda: MACE(n_iter=100, random_state=0), "glad": lambda: GLAD(n_iter=100),
            "one-coin": lambda: OneCoinDawidSkene(n_iter=100), "ds-posterior": lambda: DawidSkene(n_iter=100)}[model]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        proba = make().fit_predict_proba(long)
    proba = proba.reindex(columns=sorted(proba.columns))
    return pd.DataFrame({"task": proba.index, "label": proba.idxmax(axis=1).to_numpy(), "support": proba.max(axis=1).to_numpy()})


METHODS = ("majority", "majority-share", "dawid-skene", "ds-posterior", "one-coin", "mace", "glad")


def replay(rows: list[dict]) -> pd.DataFrame:
    """One line per (method, held-out annotator, article, question): decided or a tie left
    unresolved, the label, its support, whether the held-out annotator gave it."""
    three = [r for r in rows if len(r["coders"]) == 3]
    truth = {r["id"]: r["answers"] for r in three}
    out = []
    for rank in range(3):
        held = {r["id"]: r["coders"][rank] for r in three}
        ann = annotation_table(rows, leave_out=held)
        print(f"holding out each article's annotator {rank + 1} of 3 ...", file=sys.stderr, flush=True)
        for q in QUESTIONS:
            long = ann_long(ann, q)
            counts = pd.crosstab(long["task"], long["label"]).reindex(columns=["no", "yes"], fill_value=0)
            c = counts.to_numpy(np.float64)
            pred, _ = _predictive(c)
            share = c / c.sum(axis=1, keepdims=True)
            tie = c[:, 0] == c[:, 1]
            top = c.argmax(axis=1)
            decided: dict[str, dict[str, tuple]] = {
                "majority": {t: (("no", "yes")[k], pred[i, k]) for i, (t, k) in enumerate(zip(counts.index, top)) if not tie[i]},
                "majority-share": {t: (("no", "yes")[k], share[i, k]) for i, (t, k) in enumerate(zip(counts.index, top))
                                   if not tie[i]},
                "dawid-skene": {t: v for t, v in _dawid_skene(long).items() if not tie[counts.index.get_loc(t)]},
            }
            for model in ("ds-posterior", "one-coin", "mace", "glad"):
                res = crowdkit_labels(long, model)
                decided[model] = {t: (lab, s) for t, lab, s in zip(res["task"], res["label"], res["support"])}
            for method, got in decided.items():
                for a, who in held.items():
                    i = counts.index.get_loc(a)
                    if a not in got:
                        out.append({"method": method, "tie": bool(tie[i]), "decided": False})
                        continue
                    lab, s = got[a]
                    out.append({"method": method, "tie": bool(tie[i]), "decided": True, "support": float(s),
                                "held_out_agrees": (truth[a][q][who] == "yes") == (lab == "yes")})
    return pd.DataFrame(out)


def ann_long(ann: pd.DataFrame, q: str) -> pd.DataFrame:
    return pd.DataFrame({"task": ann["article_id"], "worker": ann["annotator"],
                         "label": ["yes" if q in set(f) else "no" for f in ann["frames"]]})


def reliability_plot(curves: dict[str, tuple[np.ndarray, np.ndarray]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 5.2), dpi=120)
    ax.plot([0, 1], [0, 1], color="0.6", lw=1, ls="--", label="calibrated")
    markers = dict(zip(curves, "osDv^<>"))
    for method, (sup, hit) in curves.items():
        which = np.minimum((sup * 10).astype(int), 9)
        xs, ys, ns = [], [], []
        for b in range(10):
            m = which == b
            if m.sum() >= 10:
                xs.append(sup[m].mean()), ys.append(hit[m].mean()), ns.append(m.sum())
        ax.plot(xs, ys, marker=markers[method], markersize=9 if method == "majority-share" else 6, alpha=0.85,
                label=f"{method} (ECE {ece(sup, hit):.3f})")
    ax.set_xlabel("support of the gold label (bin mean; bins of 10+ labels)")
    ax.set_ylabel("share the held-out annotator gave it")
    ax.set_xlim(0, 1.02), ax.set_ylim(0, 1.02)
    ax.set_title("framing-dev: support against a held-out annotator\n(82 articles x 3 hold-outs x 23 questions)",
                 fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plot", type=Path, default=None)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    rows = load()
    if rows is None:
        raise SystemExit("bench_aggregate: ../shared/framing-dev/articles.jsonl is absent")
    print(f"framing-dev: {len(rows)} articles, {sum(len(r['coders']) == 3 for r in rows)} with three annotators, "
          f"{len(QUESTIONS)} questions", flush=True)
    results = {}
    curves = {}
    d = replay(rows)
    for method in METHODS:
        m = d[d["method"] == method]
        dec = m[m["decided"]]
        hit = dec["held_out_agrees"].to_numpy(bool)
        sup = dec["support"].to_numpy(np.float64)
        results[method] = {"decided": int(len(dec)), "ties": int(m["tie"].sum()), "ties_decided": int(dec["tie"].sum()),
                           "held_out_agrees": round(float(hit.mean()), 4), "mean_support": round(float(sup.mean()), 4),
                           "ece": round(ece(sup, hit), 4), "support_below_0.5": int((sup < 0.5).sum()),
                           "ties_with_support_0.5_or_more": int((dec["tie"] & (dec["support"] >= 0.5)).sum())}
        on_ties = dec[dec["tie"]]
        if len(on_ties):  # what deciding a tie is worth: does the held-out annotator side with the decision?
            results[method]["ties_held_out_agrees"] = round(float(on_ties["held_out_agrees"].mean()), 4)
            results[method]["ties_mean_support"] = round(float(on_ties["support"].mean()), 4)
        curves[method] = (sup, hit)
        print(f"{method:15s} " + " ".join(f"{k} {v}" for k, v in results[method].items()), flush=True)
    if args.plot:
        reliability_plot(curves, args.plot)
        print(f"plot: {args.plot}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
