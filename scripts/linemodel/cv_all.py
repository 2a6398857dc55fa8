"""Out-of-fold body (line) probabilities, 5 folds by registered domain over articles + non-articles.

    .venv/bin/python scripts/linemodel/cv_all.py [none|gam|tree] [--data DIR] [--cache DIR]

Pass A: the body model per fold -> out-of-fold line probabilities for every page (both dump shapes
and the non-article dumps). Pass B (only with `gam` or `tree`; off in the shipped model, it gave
< +0.003 F1): a stage-2 model per fold over the training folds' pass-A probabilities. Pass-A
probabilities of training pages come from models that saw other folds, the test fold included: a
second-order leak accepted to halve the training cost.
Prints "A fold <k> <seconds>" per fold and writes <cache>/oof_all.pkl (~10 min on 2 busy cores).
"""
from __future__ import annotations

import time

import common
import numpy as np
from lib_train import SHAPES, body_dataset, fit_stage1, fit_stage2, non_article_dumps, union_folds

from framestance.normalise import linemodel as dm


def run(k=5, s2kind="none"):
    t0 = time.time()
    data = {s: body_dataset(s) for s in SHAPES}
    non = non_article_dumps()
    fold = union_folds(k)
    sets = (("text", data["text"]), ("text-lines", data["text-lines"]), ("non", non))
    s1: dict = {key: {} for key, _ in sets}
    for f in range(k):
        m = dm.make_model(fit_stage1([p for s in SHAPES for p in data[s] if fold[p["group"]] != f]))
        for key, pages in sets:
            for p in pages:
                if fold[p["group"]] == f:
                    s1[key][p["id"]] = m.proba(p["X"]) if len(p["idx"]) else np.zeros(0)
        print("A fold", f, round(time.time() - t0), flush=True)
    s2: dict = {key: {} for key, _ in sets}
    for f in range(k) if s2kind != "none" else []:
        trp = [p for s in SHAPES for p in data[s] if fold[p["group"]] != f]
        trq = [s1[s][p["id"]] for s in SHAPES for p in data[s] if fold[p["group"]] != f]
        m = dm.make_model(fit_stage2(trp, trq, s2kind))
        for key, pages in sets:
            for p in pages:
                if fold[p["group"]] == f:
                    s2[key][p["id"]] = m.proba(dm.stage2_features(p["X"], s1[key][p["id"]])) if len(p["idx"]) else np.zeros(0)
        print("B fold", f, round(time.time() - t0), flush=True)
    out = {"s1": s1, "s2": s2, "fold": fold}
    common.save_pickle(out, "oof_all.pkl")
    return out


if __name__ == "__main__":
    ap = common.arg_parser(__doc__)
    ap.add_argument("stage2", nargs="?", choices=["none", "gam", "tree"], default="none", help="stage-2 model kind (default: none)")
    args = common.parse_args(ap)
    run(s2kind=args.stage2)
