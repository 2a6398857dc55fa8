"""Cache the trafilatura body of every HTML page (articles + non-articles) for the HTML page-type model.

    .venv/bin/python scripts/linemodel/html_cache.py [--data DIR] [--cache DIR]

Runs trafilatura.extract(html, include_comments=False) on the 786 + 695 pages (~11 min on 2 busy
cores) and writes <cache>/traf.pkl. Prints "<pages done> <seconds>" every 200 pages, then "done".
train.py and train_page_html.py call it themselves when the file is missing.
"""
from __future__ import annotations

import sys
import time

import common
from common import load_articles, load_non_articles, read_html

TRAF = "traf.pkl"


def build() -> dict:
    import trafilatura

    t0 = time.time()
    out = {}
    pages = [(a["id"], False) for a in load_articles()] + [(a["id"], True) for a in load_non_articles()]
    for n, (pid, non) in enumerate(pages):
        html = read_html(pid, non)
        try:
            body = trafilatura.extract(html, include_comments=False) or ""
        except Exception:
            body = ""
        out[(pid, non)] = body
        if n % 200 == 0:
            print(n, round(time.time() - t0, 1), flush=True)
    common.save_pickle(out, TRAF)
    print("done", round(time.time() - t0, 1), common.cache_path(TRAF), flush=True)
    return out


def load() -> dict:
    """The cached bodies, building them first if needed."""
    import os

    if not os.path.exists(common.cache_path(TRAF)):
        return build()
    return common.load_pickle(TRAF)


if __name__ == "__main__":
    common.parse_args(common.arg_parser(__doc__))
    build()
    sys.exit(0)
