"""Refit only the dump page-type model and patch it into a weights JSON (the body model is kept).

    .venv/bin/python scripts/linemodel/train_page_dump.py --out src/framestance/models/linemodel.json

Uses <cache>/oof_all.pkl (5-fold out-of-fold line probabilities, from cv_all.py or evaluate.py) for
the body features of each page, and refits the word model (its 5-fold out-of-fold scores are a
feature). Options: --out PATH (default: the shipped linemodel.json), --base PATH (the JSON to
patch; default: --out if it exists, else the shipped file), --data, --cache.
Prints the 5-fold-by-site rejection counts of the refitted detector, then "patched <path> threshold at the default share of articles <t>".
"""
from __future__ import annotations

import os

import common
from cv_page import cv, dump_page_rows, fit_page, rows_to_xyg
from lib_train import export_words, fit_words, word_rows, words_oof

from framestance.normalise import linemodel as dm

if __name__ == "__main__":
    args, d = common.patch_args(__doc__)
    if not os.path.exists(common.cache_path("oof_all.pkl")):
        raise SystemExit(f"{common.cache_path('oof_all.pkl')} is missing: run scripts/linemodel/cv_all.py first")
    rows = dump_page_rows(common.load_pickle("oof_all.pkl")["s1"], words_oof())
    assert len(rows[0][4]) == len(dm.DUMP_MODEL_NAMES)
    cv(rows, "dumps", words=word_rows())
    fit = fit_page(*rows_to_xyg(rows))
    d["page_dump_words"] = export_words(fit_words(word_rows()))
    common.patch_page_model(d, "dump", fit.weights("dump", dm.DUMP_MODEL_NAMES), fit.threshold, args.out)
