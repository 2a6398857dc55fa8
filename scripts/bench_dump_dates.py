"""Dates of text dumps read by the line model: exact publication day on extraction-dev by how far
from the title and the body a date line is looked for (textdump.DATE_ABOVE_LINES and
DATE_BODY_TOP_LINES; 0 and 0: the header between title and body only).

    .venv/bin/python scripts/bench_dump_dates.py [--data ../shared/extraction-dev] [--folders text text-lines]

Prints, per setting and dump kind: pages whose day is right, wrong (a day, not the page's), none;
the retrieval date is bench_extraction.py's. The shipped setting is marked.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from bench_extraction import RETRIEVED, local_day

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "extraction-dev")
    ap.add_argument("--folders", nargs="+", default=["text", "text-lines"])
    args = ap.parse_args()
    logging.disable(logging.CRITICAL)
    from framestance.evaluation import normalise_pages
    from framestance.normalise import textdump

    shipped = (textdump.DATE_ABOVE_LINES, textdump.DATE_BODY_TOP_LINES)
    meta = json.loads((args.data / "meta.json").read_text(encoding="utf-8"))
    ids = sorted(p for p, v in meta.items() if v.get("date"))
    print(f"{len(ids)} article pages with a true day; retrieved {RETRIEVED:%Y-%m-%d}\n")
    print("| lines above the title | top lines of the body | " + " | ".join(f"{f}: right / wrong / none" for f in args.folders) + " |")
    print("| ---: | ---: | " + " | ".join("---:" for _ in args.folders) + " |")
    for above, top in ((0, 0), (8, 0), (16, 0), (24, 0), (16, 10), (16, 20), (16, 40), (24, 40)):
        textdump.DATE_ABOVE_LINES, textdump.DATE_BODY_TOP_LINES = above, top
        cells = []
        for folder in args.folders:
            pages = [(p, "text", (args.data / folder / f"{p}.txt").read_bytes()) for p in ids]
            arts, _, _ = normalise_pages(pages, RETRIEVED)
            days = {p: local_day(next((a for a in arts.get(p, []) if a["relation"] == "main"), None)) for p in ids}
            right = sum(days[p] == meta[p]["date"] for p in ids)
            wrong = sum(days[p] is not None and days[p] != meta[p]["date"] for p in ids)
            cells.append(f"{right / len(ids):.3f}: {right} / {wrong} / {len(ids) - right - wrong}")
        mark = " (shipped)" if (above, top) == shipped else ""
        print(f"| {above}{mark} | {top}{mark} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
