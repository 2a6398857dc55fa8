"""Retrain the line model (body + page-type detectors) from extraction-dev and write the weights JSON.

    .venv/bin/python scripts/linemodel/train.py --out src/framestance/models/linemodel.json

Options: --out PATH (default: the shipped src/framestance/models/linemodel.json), --data DIR
(default: $FRAMESTANCE_EXTRACTION_DEV or <repo>/../shared/extraction-dev), --cache DIR (default:
$FRAMESTANCE_LINEMODEL_CACHE or <repo>/bench-out/linemodel-cache). ~10-15 min on 2 busy cores, plus
~11 min the first time for the trafilatura bodies (html_cache.py).

Body: one additive boosted model (single-feature trees, exported as step functions) over the 62 line
features, trained on both dump shapes jointly. Page type: small boosted trees over page features;
the dump detector's body features use out-of-fold (3 folds by site) line probabilities, the HTML
detector uses the trafilatura body. Thresholds: body 0.4 with gap fill 0.1 (from linemodel.py);
page types ship their inner out-of-fold scores, from which the run time sets the threshold at the
user's page_type_article_loss (cv_page.fit_page).

Prints elapsed seconds after each step ("features", "body model", "oof fold <k>", "page models")
and finally "wrote <path> <bytes> bytes".
"""
from __future__ import annotations

import os
import time

import common
import numpy as np
from cv_page import dump_page_rows, fit_page, html_page_rows, rows_to_xyg
from lib_train import (
    SHAPES,
    body_dataset,
    export_words,
    fit_stage1,
    fit_words,
    non_article_dumps,
    union_folds,
    word_rows,
    words_oof,
)

from framestance.normalise import linemodel as dm


def main(out_path: str) -> None:
    t0 = time.time()
    data = {s: body_dataset(s) for s in SHAPES}
    non = non_article_dumps()
    allp = [p for s in SHAPES for p in data[s]]
    print("features", round(time.time() - t0, 1), flush=True)

    s1 = fit_stage1(allp)
    print("body model", round(time.time() - t0, 1), flush=True)

    # page type from dumps: line probabilities out of fold (3 folds by site over articles + non-articles)
    k_folds = 3
    fold = union_folds(k_folds)
    probs: dict = {"text": {}, "text-lines": {}, "non": {}}
    for k in range(k_folds):
        f = dm.make_model(fit_stage1([p for p in allp if fold[p["group"]] != k]))
        for key, pages in (("text", data["text"]), ("text-lines", data["text-lines"]), ("non", non)):
            for p in pages:
                if fold[p["group"]] == k:
                    probs[key][p["id"]] = f.proba(p["X"]) if len(p["idx"]) else np.zeros(0)
        print("oof fold", k, round(time.time() - t0, 1), flush=True)
    words = words_oof(k_folds)  # the word model out of fold, on the same folds by site
    dump_fit = fit_page(*rows_to_xyg(dump_page_rows(probs, words)))
    page_dump_words = export_words(fit_words(word_rows()))
    html_fit = fit_page(*rows_to_xyg(html_page_rows()))  # builds <cache>/traf.pkl first if missing
    print("page models", round(time.time() - t0, 1), flush=True)

    out = {"features": dm.FEATURE_NAMES, "stage1": s1, "stage2": None, "threshold": dm.BODY_THRESHOLD, "gap_fill": dm.GAP_FILL,
           **dump_fit.weights("dump", dm.DUMP_MODEL_NAMES),
           "page_dump_words": page_dump_words,
           **html_fit.weights("html", dm.HTML_PAGE_NAMES)}
    common.write_weights(out, out_path)
    print("wrote", out_path, os.path.getsize(out_path), "bytes")


if __name__ == "__main__":
    args = common.parse_args(common.arg_parser(__doc__, out=True))
    main(args.out)
