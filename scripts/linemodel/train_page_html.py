"""Refit only the HTML page-type model and patch it into a weights JSON (the body model is kept).

    .venv/bin/python scripts/linemodel/train_page_html.py --out src/framestance/models/linemodel.json

Uses <cache>/traf.pkl (trafilatura bodies; built by html_cache.py first if missing, ~11 min).
Options: --out PATH (default: the shipped linemodel.json), --base PATH (the JSON to patch; default:
--out if it exists, else the shipped file), --data, --cache.
Prints the 5-fold-by-site rejection counts of the refitted detector (scores saved to
<cache>/page_html_cv.pkl), then "patched <path> threshold at the default share of articles <t>".
"""
from __future__ import annotations

import common
from cv_page import cv, fit_page, html_page_rows, rows_to_xyg

from framestance.normalise import linemodel as dm

if __name__ == "__main__":
    args, d = common.patch_args(__doc__)
    rows = html_page_rows()
    common.save_pickle(cv(rows, "html"), "page_html_cv.pkl")
    fit = fit_page(*rows_to_xyg(rows))
    common.patch_page_model(d, "html", fit.weights("html", dm.HTML_PAGE_NAMES), fit.threshold, args.out)
