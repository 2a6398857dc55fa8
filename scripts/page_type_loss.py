"""Real articles the page-type check turns away, per real article set in ../shared, at settings
of `page_type_article_loss`: extraction-dev's 786 article pages as HTML, text dumps and
text-lines dumps, and framing-dev's 304 climate articles (as crawler records: their text, and as
a text dump of title and paragraphs). Non-articles kept out are printed beside them.

Every page is normalised once with the check off (0); its recorded `page_type_score` then meets
each setting's threshold, which is what the check does at run time.

    .venv/bin/python scripts/page_type_loss.py [--settings 0.002,0.005,0.01,0.017]
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from framestance.evaluation import normalise_pages  # noqa: E402
from framestance.normalise import Params  # noqa: E402
from framestance.normalise.linemodel import default_model  # noqa: E402

SHARED = ROOT.parent / "shared"
RETRIEVED = datetime(2026, 3, 14, tzinfo=UTC)  # as bench_extraction.py: no page is dated after it


def sets() -> dict[str, list[tuple[str, str, bytes]]]:
    ed = SHARED / "extraction-dev"
    ids = sorted(json.loads((ed / "ground-truth.json").read_text(encoding="utf-8")))
    other = sorted(json.loads((ed / "non-articles" / "page-types.json").read_text(encoding="utf-8")))
    out = {
        "extraction-dev HTML": [(i, "html", gzip.decompress((ed / "html" / f"{i}.html.gz").read_bytes())) for i in ids],
        "extraction-dev text dumps": [(i, "text", (ed / "text" / f"{i}.txt").read_bytes()) for i in ids],
        "extraction-dev text-lines dumps": [(i, "text", (ed / "text-lines" / f"{i}.txt").read_bytes()) for i in ids],
        "non-articles HTML": [(i, "html", gzip.decompress((ed / "non-articles" / "html" / f"{i}.html.gz").read_bytes())) for i in other],
        "non-articles dumps": [(i, "text", (ed / "non-articles" / "text" / f"{i}.txt").read_bytes()) for i in other],
    }
    fd = [json.loads(line) for line in (SHARED / "framing-dev" / "articles.jsonl").read_text(encoding="utf-8").splitlines()]
    out["framing-dev records"] = [(a["id"], "records", json.dumps({"url": f"https://example.org/{a['id']}", "title": a["headline_hint"],
                                                                    "text": a["text"], "date": a["date"], "source_domain": a["outlet"]}).encode())
                                  for a in fd]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--settings", default="0.002,0.005,0.0075,0.01,0.017")
    args = ap.parse_args()
    settings = [float(x) for x in args.settings.split(",")]
    logging.disable(logging.CRITICAL)
    model = default_model()
    print("| set | pages | scored | kept with the check off | " + " | ".join(f"turned away at {s:g}" for s in settings) + " |")
    print("| --- | ---: | ---: | ---: | " + " | ".join("---:" for _ in settings) + " |")
    for name, pages in sets().items():
        arts, rejs, _ = normalise_pages(pages, RETRIEVED, Params(page_type_article_loss=0))
        kind = "html" if "HTML" in name else "dump"
        scores = [next((a["page_type_score"] for a in arts[p] if a["relation"] == "main"), None) for p in arts]
        scored = [s for s in scores if s is not None]
        cells = []
        for s in settings:
            t = model.page_threshold(kind, s)
            n = sum(x < t for x in scored)
            cells.append(f"{n}/{len(pages)} = {100 * n / len(pages):.1f} %")
        print(f"| {name} | {len(pages)} | {len(scored)} | {len(arts)} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
