"""Where an extraction-dev page's time goes: wall time per component, in ms a page.

    .venv/bin/python scripts/profile_extraction.py html [--pages 300]
    .venv/bin/python scripts/profile_extraction.py text [--pages 300] [--part module:function ...]

Runs `normalise_pages` (one worker, as scripts/bench_extraction.py does) over the first N article
pages of ../shared/extraction-dev (or $FRAMESTANCE_EXTRACTION_DEV) and times the given functions
by wrapping them (`module:function` or `module:Class.method`, module relative to framestance.normalise unless it has a
dot). Nested parts overlap: a part's time includes its callees'. Wrapping adds a little time to
each call; compare parts with each other, and speeds with bench_extraction.py.
"""

from __future__ import annotations

import argparse
import gzip
import importlib
import json
import logging
import os
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PARTS = {
    "html": ["html:parse_html", "trafilatura:bare_extraction", "htmldate:find_date", "trafilatura.utils:load_html",
             "html:_page_metadata", "linemodel:page_features_html", "html:clean_paragraphs"],
    "text": ["textdump:parse_text_dump", "textdump:_read_block", "textdump:parse_shown_date", "linemodel:featurize",
             "linemodel:page_features_dump", "linemodel:page_words", "textdump:fix_mojibake",
             "textdump:detect_language", "core:detect_language", "core:signature"],
}


def wrap(spec: str, spent: dict[str, float]) -> None:
    module_name, name = spec.split(":")
    module = importlib.import_module(module_name if "." in module_name or module_name in ("trafilatura", "htmldate")
                                     else "framestance.normalise." + module_name)
    owner = module
    *path, name = name.split(".")  # "Class.method" wraps the method on the class
    for attr in path:
        owner = getattr(owner, attr)
    inner = getattr(owner, name)

    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            spent[spec] += time.perf_counter() - started

    setattr(owner, name, timed)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("kind", choices=["html", "text", "text-lines"])
    ap.add_argument("--pages", type=int, default=300)
    ap.add_argument("--part", nargs="*", help="module:function to time (default: the main parts of the path)")
    ap.add_argument("--data", default=os.environ.get("FRAMESTANCE_EXTRACTION_DEV") or str(ROOT.parent / "shared" / "extraction-dev"))
    args = ap.parse_args()
    logging.disable(logging.CRITICAL)
    from framestance.evaluation import normalise_pages

    data = Path(args.data)
    ids = sorted(json.loads((data / "ground-truth.json").read_text(encoding="utf-8")))[: args.pages]
    if args.kind == "html":
        pages = [(p, "html", gzip.decompress((data / "html" / f"{p}.html.gz").read_bytes())) for p in ids]
    else:
        pages = [(p, "text", (data / args.kind / f"{p}.txt").read_bytes()) for p in ids]
    spent: dict[str, float] = defaultdict(float)
    for spec in args.part or DEFAULT_PARTS["html" if args.kind == "html" else "text"]:
        wrap(spec, spent)
    retrieved = datetime(2026, 3, 14, tzinfo=UTC)  # as bench_extraction.py
    normalise_pages(pages[:5], retrieved)  # imports and caches, as start-up is excluded
    spent.clear()
    _, _, cpu = normalise_pages(pages, retrieved)
    print(f"{args.kind}: {len(pages)} pages, {len(pages) / cpu:.1f} pages/s, {cpu / len(pages) * 1000:.1f} ms a page (CPU)")
    for spec, seconds in sorted(spent.items(), key=lambda item: -item[1]):
        print(f"  {spec:40s} {seconds / len(pages) * 1000:6.2f} ms a page")


if __name__ == "__main__":
    main()
