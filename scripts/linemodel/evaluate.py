"""k-fold-by-site evaluation of the body extractor and the page-type detectors, plus speed.

    .venv/bin/python scripts/linemodel/evaluate.py            # reuses <cache>/oof_all.pkl if present
    .venv/bin/python scripts/linemodel/evaluate.py --fresh    # recomputes the out-of-fold predictions (~10 min)

Options: --model PATH (weights for the speed test; default: the packaged linemodel.json),
--no-speed, --data DIR, --cache DIR (see common.py for the defaults).

Folds: 5, by registered domain, shared by articles and non-articles (lib_train.union_folds).
Prints, per dump shape, the body F1 [95% bootstrap CI], precision, recall and the number of empty
predictions (metric of the extraction-dev README), then the page-type rejection counts for the dump
and the HTML detectors, then select_body / analyse speed in pages per second on one thread.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import time

import common
import cv_all
import cv_page
from common import bootstrap_f1, load_articles, load_non_articles, macro, page_counts, read_dump, read_non_article_dump
from lib_train import SHAPES, body_dataset, word_rows, words_oof

from framestance.normalise import linemodel as dm


def body_report(oof):
    data = {s: body_dataset(s) for s in SHAPES}
    print(f"== body extraction, 5-fold by registered domain ({len({p['group'] for p in data['text']})} sites, {len(data['text'])} pages per shape)")
    for stage in [st for st in ("s1", "s2") if oof[st]["text"]]:
        for s in SHAPES:
            rows = []
            for p in data[s]:
                q = oof[stage][s][p["id"]]
                rows.append(page_counts(p["truth"], "\n".join(p["lines"][j] for j, v in zip(p["idx"], dm.body_mask(q)) if v)))
            F, P, R = macro(rows)
            lo, hi = bootstrap_f1(rows, 1000)
            empty = sum(1 for r in rows if r[0] + r[1] == 0)
            print(f"  {stage} thr {dm.BODY_THRESHOLD} gap {dm.GAP_FILL} {s:10s} F1 {F:.4f} [{lo:.3f}, {hi:.3f}]  P {P:.4f}  R {R:.4f}  empty predictions {empty}")
            # by the page's age (its publication year: older articles often keep an older template)
            by_age: dict[str, list] = {}
            for p, r in zip(data[s], rows):
                by_age.setdefault(age_group(p["id"]), []).append(r)
            cis = {g: bootstrap_f1(rs, 1000) for g, rs in by_age.items()}
            print("      by age: " + "; ".join(f"{g} F1 {macro(rs)[0]:.3f} [{cis[g][0]:.3f}, {cis[g][1]:.3f}] (n {len(rs)})"
                                              for g, rs in sorted(by_age.items())))


def age_group(page_id: str) -> str:
    """The page's publication year from extraction-dev's meta.json, in four groups."""
    global _META
    if _META is None:
        import json
        from pathlib import Path

        _META = json.loads(Path(common.DATA, "meta.json").read_text(encoding="utf-8"))
    year = ((_META.get(page_id) or {}).get("date") or "")[:4]
    if not year:
        return "no date"
    return "2000-2021" if year <= "2021" else ("2022-2023" if year <= "2023" else "2024-2026")


_META: dict | None = None


def speed(path=None, n_rep=1):
    m = dm.DumpModel(path)
    pages = []
    for a in load_articles():
        for s in SHAPES:
            pages.append(read_dump(s, a["id"]))
    for a in load_non_articles():
        pages.append(read_non_article_dump(a["id"]))
    mb = sum(len(t.encode()) for t in pages) / 1e6
    for what in ("select_body", "analyse"):
        c0, w0 = time.process_time(), time.perf_counter()
        for _ in range(n_rep):
            for t in pages:
                lines = t.split("\n")
                if what == "select_body":
                    m.select_body(lines)
                else:
                    m.analyse(lines)  # body + dump page type in one pass
        c, w = time.process_time() - c0, time.perf_counter() - w0
        n = len(pages) * n_rep
        print(f"== speed {what}: {n} dumps ({mb * n_rep:.1f} MB), {n / c:.0f} pages per CPU-second, {n / w:.0f} pages/s wall (one process, one thread)")


def main() -> None:
    ap = common.arg_parser(__doc__)
    ap.add_argument("--fresh", action="store_true", help="recompute the out-of-fold line probabilities")
    ap.add_argument("--model", default=None, help="weights file for the speed test (default: the packaged one)")
    ap.add_argument("--no-speed", action="store_true", help="skip the speed test")
    args = common.parse_args(ap)
    if args.fresh or not os.path.exists(common.cache_path("oof_all.pkl")):
        oof = cv_all.run()
    else:
        oof = common.load_pickle("oof_all.pkl")
    body_report(oof)
    cv_page.cv(cv_page.dump_page_rows(oof["s1"], words_oof()), "dumps", words=word_rows())
    cv_page.cv(cv_page.html_page_rows(), "html")
    if not args.no_speed:
        speed(args.model)


if __name__ == "__main__":
    main()
