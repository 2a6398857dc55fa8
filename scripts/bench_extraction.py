"""Extraction on real pages nobody tuned for: ../shared/extraction-dev (WCXB dev split, CC-BY-4.0).

Runs the pure normaliser (`normalise_batch`: decode, extractor, language, MinHash; one worker,
start-up excluded) over the 786 article pages as HTML, text dumps and text-lines dumps, and over
the 695 non-article pages, and trafilatura alone on the same HTML in the same run. Prints body
F1/P/R with a bootstrap 95% interval (the benchmark's metric, `framestance.evaluation`), title /
author / date accuracy, related rows, rejects, pages/s, and writes bench-out/extraction.json.

    .venv/bin/python scripts/bench_extraction.py [--data ../shared/extraction-dev] [--limit N]
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import re
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# When the pages were retrieved: the crawl's date is not published; the day after the latest page's
# own date (2026-03-13) is the earliest it can be (relative dates resolve against it; no page is
# dated after it).
RETRIEVED = datetime(2026, 3, 14, tzinfo=UTC)

from framestance.normalise.timezones import parse as parse_datetime  # noqa: E402


def run_framestance(pages: list[tuple[str, str, bytes]]) -> tuple[dict, dict, float]:
    from framestance.evaluation import normalise_pages

    return normalise_pages(pages, RETRIEVED)


def local_day(article: dict | None) -> str | None:
    """The day the page shows (its own time zone), else the UTC day."""
    if not article or article["published_at"] is None:
        return None
    shown = article.get("published_text") or ""
    m = re.match(r"\d{4}-\d{2}-\d{2}", shown.strip())
    if m:
        return m.group(0)
    try:  # a zone the page names ("10:32 PM ET"): the day there, not in UTC
        zone = parse_datetime(shown)[0].tzinfo
    except (ValueError, OverflowError, TypeError):
        zone = None
    return article["published_at"].astimezone(zone or UTC).date().isoformat()


def _by_language(hits: dict[str, bool], language_of: dict[str, str]) -> dict[str, dict]:
    """Exact-day accuracy per language group: English, not English (every other detected
    language), and each language with 10 or more dated pages."""
    groups: dict[str, list[bool]] = {}
    for p, hit in hits.items():
        lang = language_of.get(p, "unknown")
        keys = ["en"] if lang == "en" else ["not en", lang]
        for k in keys:
            groups.setdefault(k, []).append(hit)
    return {k: {"n": len(v), "accuracy": round(sum(v) / len(v), 4)} for k, v in sorted(groups.items())
            if k in ("en", "not en") or len(v) >= 10}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "extraction-dev")
    ap.add_argument("--limit", type=int, default=None, help="only the first N pages of each set")
    ap.add_argument("--out", type=Path, default=ROOT / "bench-out" / "extraction.json")
    args = ap.parse_args()
    logging.disable(logging.CRITICAL)  # trafilatura and htmldate log every odd page
    from framestance.evaluation import page_score, same_author, same_text, score

    data: Path = args.data
    if not data.is_dir():
        print(f"error: {data}: no such folder (extraction-dev lives in ../shared/)", file=sys.stderr)
        return 2
    truth = json.loads((data / "ground-truth.json").read_text(encoding="utf-8"))
    meta = json.loads((data / "meta.json").read_text(encoding="utf-8"))
    ids = sorted(truth)[: args.limit]
    non_types = json.loads((data / "non-articles" / "page-types.json").read_text(encoding="utf-8"))
    non_ids = sorted(non_types)[: args.limit]
    html = {pid: gzip.decompress((data / "html" / f"{pid}.html.gz").read_bytes()) for pid in ids}
    results: dict = {"pages": len(ids), "non_articles": len(non_ids), "systems": {}}
    language_of: dict[str, str] = {}
    rows = []

    def body_of(arts: dict, pid: str) -> str:
        main = [a for a in arts.get(pid, []) if a["relation"] == "main"]
        return main[0]["text"] if main else ""

    for kind, folder in (("html", "html"), ("text", "text"), ("text", "text-lines")):
        if kind == "html":
            pages = [(pid, "html", html[pid]) for pid in ids]
        else:
            pages = [(pid, "text", (data / folder / f"{pid}.txt").read_bytes()) for pid in ids]
        arts, rejs, cpu = run_framestance(pages)
        sc = score(page_score(truth[pid]["articleBody"], body_of(arts, pid)) for pid in ids)
        related = sum(1 for pid in ids for a in arts.get(pid, []) if a["relation"] == "related")
        mains = {pid: next((a for a in arts.get(pid, []) if a["relation"] == "main"), None) for pid in ids}
        with_title = [pid for pid in ids if meta[pid].get("title")]
        with_author = [pid for pid in ids if meta[pid].get("author")]
        with_date = [pid for pid in ids if meta[pid].get("date")]
        entry = {
            "f1": sc.f1, "precision": sc.precision, "recall": sc.recall, "f1_ci95": sc.f1_ci95, "n": sc.n,
            "rejected": len(rejs), "rejects": dict(Counter(r["reason"] for r in rejs.values())), "related_rows": related,
            "title": sum(same_text((mains[p] or {}).get("title"), meta[p]["title"]) for p in with_title) / max(1, len(with_title)),
            "author": sum(same_author((mains[p] or {}).get("authors") or [], meta[p]["author"]) for p in with_author) / max(1, len(with_author)),
            "date": sum(local_day(mains[p]) == meta[p]["date"] for p in with_date) / max(1, len(with_date)),
            "pages_per_s": len(pages) / cpu,
        }
        if folder == "html":  # each page's language as framestance detects it on the HTML: the groups below
            language_of.update({p: ((mains[p] or {}).get("language") or "unknown") for p in ids})
        entry["date_by_language"] = _by_language({p: local_day(mains[p]) == meta[p]["date"] for p in with_date}, language_of)
        results["systems"][f"framestance {folder}"] = entry
        rows.append((f"framestance, {folder}", entry))
        print(f"framestance {folder}: F1 {sc.f1:.3f} [{sc.f1_ci95[0]:.3f}, {sc.f1_ci95[1]:.3f}] ({len(pages) / cpu:.0f} pages/s)", file=sys.stderr)

    import trafilatura
    from htmldate import find_date

    started = time.process_time()
    traf = {pid: trafilatura.extract(html[pid].decode("utf-8", "replace"), include_comments=False) or "" for pid in ids}
    traf_cpu = time.process_time() - started
    sc = score(page_score(truth[pid]["articleBody"], traf[pid]) for pid in ids)
    started = time.process_time()
    traf_meta = {pid: trafilatura.bare_extraction(html[pid].decode("utf-8", "replace"), with_metadata=True) for pid in ids}
    traf_meta_cpu = time.process_time() - started
    with_title = [pid for pid in ids if meta[pid].get("title")]
    with_author = [pid for pid in ids if meta[pid].get("author")]
    with_date = [pid for pid in ids if meta[pid].get("date")]
    entry = {
        "f1": sc.f1, "precision": sc.precision, "recall": sc.recall, "f1_ci95": sc.f1_ci95, "n": sc.n,
        "rejected": sum(1 for pid in ids if not traf[pid]), "related_rows": 0,
        "title": sum(same_text(getattr(traf_meta[p], "title", None), meta[p]["title"]) for p in with_title) / max(1, len(with_title)),
        "author": sum(same_author([a for a in (getattr(traf_meta[p], "author", None) or "").split(";") if a], meta[p]["author"])
                      for p in with_author) / max(1, len(with_author)),
        "date": sum((getattr(traf_meta[p], "date", None) or "")[:10] == meta[p]["date"] for p in with_date) / max(1, len(with_date)),
        "date_find_date": sum((find_date(html[p].decode("utf-8", "replace"), extensive_search=False) or "")[:10] == meta[p]["date"]
                              for p in with_date) / max(1, len(with_date)),
        "pages_per_s": len(ids) / traf_cpu,
        "pages_per_s_with_metadata": len(ids) / traf_meta_cpu,
    }
    entry["date_by_language"] = _by_language({p: (getattr(traf_meta[p], "date", None) or "")[:10] == meta[p]["date"]
                                              for p in with_date}, language_of)
    results["systems"]["trafilatura html"] = entry
    rows.append(("trafilatura 2.3.1 alone, html", entry))

    # Non-articles: how many would reach annotators.
    non = {}
    for kind, folder, ext in (("html", "html", ".html.gz"), ("text", "text", ".txt")):
        pages = []
        for pid in non_ids:
            path = data / "non-articles" / folder / f"{pid}{ext}"
            if path.exists():
                raw = path.read_bytes()
                pages.append((pid, kind, gzip.decompress(raw) if ext.endswith(".gz") else raw))
        arts, rejs, _ = run_framestance(pages)
        non[folder] = {"pages": len(pages), "rejected": len(rejs),
                       "not_an_article": sum(r["reason"] == "not an article" for r in rejs.values())}
    results["non_articles_rejected"] = non
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=list) + "\n", encoding="utf-8")

    print(f"\n{len(ids)} article pages, {len(non_ids)} non-article pages; one worker, CPU time, start-up excluded\n")
    print("| system, input | F1 [95% CI] | P | R | rejected | related rows | title | author | date (day) | pages/s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, e in rows:
        print(f"| {name} | {e['f1']:.3f} [{e['f1_ci95'][0]:.3f}, {e['f1_ci95'][1]:.3f}] | {e['precision']:.3f} | {e['recall']:.3f} | "
              f"{e['rejected']} | {e['related_rows']} | {e['title']:.3f} | {e['author']:.3f} | {e['date']:.3f} | {e['pages_per_s']:.0f} |")
    t = results["systems"]["trafilatura html"]
    print(f"\ntrafilatura's htmldate find_date(extensive_search=False): date {t['date_find_date']:.3f}")
    # speed against trafilatura in the same run: body only (`extract`), and with its metadata
    # (`bare_extraction(with_metadata=True)`, the peer that yields the same fields as normalise)
    ratios = {}
    for name in ("framestance text", "framestance text-lines", "framestance html"):
        e = results["systems"][name]
        ratios[name] = {"to_body_only": round(e["pages_per_s"] / t["pages_per_s"], 2),
                        "to_with_metadata": round(e["pages_per_s"] / t["pages_per_s_with_metadata"], 2)}
    results["speed_ratios"] = ratios
    args.out.write_text(json.dumps(results, indent=2, default=list) + "\n", encoding="utf-8")
    print(f"\ntrafilatura: body only {t['pages_per_s']:.1f} pages/s, with metadata {t['pages_per_s_with_metadata']:.1f}")
    print("| framestance input | pages/s | ÷ trafilatura body only (asked: dumps ≥ 3, HTML ≥ 0.8) | ÷ trafilatura with metadata |")
    print("| --- | ---: | ---: | ---: |")
    for name, r in ratios.items():
        print(f"| {name.removeprefix('framestance ')} | {results['systems'][name]['pages_per_s']:.1f} | {r['to_body_only']:.2f} | "
              f"{r['to_with_metadata']:.2f} |")
    groups = sorted({g for _n, e in rows for g in e["date_by_language"]}, key=lambda g: (g != "en", g))
    print("\nexact publication day by language (framestance's detection on the HTML; n pages with a true date)\n")
    print("| system, input | " + " | ".join(f"{g} (n {rows[0][1]['date_by_language'][g]['n']})" for g in groups) + " |")
    print("| --- |" + " ---: |" * len(groups))
    for name, e in rows:
        print(f"| {name} | " + " | ".join(f"{e['date_by_language'][g]['accuracy']:.3f}" for g in groups) + " |")
    for folder, n in non.items():
        print(f"non-articles, {folder}: {n['rejected']} of {n['pages']} rejected ({n['rejected'] / max(1, n['pages']):.1%}), "
              f"{n['not_an_article']} as 'not an article'")
    return 0


if __name__ == "__main__":
    sys.exit(main())
