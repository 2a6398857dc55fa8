"""Selecting articles on real data: framing-dev's climate articles mixed into extraction-dev's pages
at a known on-issue share, a broad query, rounds of `framestance select` replayed with the known
relevance, and (with --campaigns N) N campaigns that check the intervals' coverage.

The mix: framing-dev articles (as crawler records: url, title, text, date, outlet) at --share of
the mix, the rest extraction-dev's 786 article dumps and 695 non-article dumps (text dumps).
Relevant: every framing-dev article, and the 9 extraction-dev articles a reader found to be about
the climate (listed below; the rest of its 101 keyword hits mention it in passing). Frames of a
relevant article: framing-dev's published generic frames (CO, EC, HI, MO, RE); the 9 others have
none coded, which counts as no frame on every side of the comparison.

Per round it prints the on-issue share of the tasks, the relevance model's precision and recall
on the hits it was not trained on (every hit not yet selected, at P >= 0.5), and the weighted
estimate of each frame's share among relevant hits against the truth. With --campaigns, the
share of campaigns whose 95 % interval covers the truth, per frame and for the relevant count.

    .venv/bin/python scripts/bench_select.py --share 0.05
    .venv/bin/python scripts/bench_select.py --share 0.05 --campaigns 1000 --quiet
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import random
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from framestance import estimate  # noqa: E402
from framestance.search import Index, build_index, hit_ids  # noqa: E402
from framestance.selection import load_rounds, select_round  # noqa: E402

SHARED = ROOT.parent / "shared"
QUERY = 'climate OR "global warming" OR greenhouse OR emissions OR carbon OR "fossil fuel" OR "fossil fuels" OR renewable OR "net zero"'
CLIMATE_IN_EXTRACTION_DEV = {"dev-4025", "dev-4512", "dev-4511", "dev-4028", "dev-4515", "dev-0275", "dev-4027", "dev-4517",
                             "dev-4519"}
FRAMES = ["CO", "EC", "HI", "MO", "RE"]


def build_mix(work: Path, share: float, seed: int) -> dict[str, dict]:
    """Normalise the mix into work/norm; returns source id -> {relevant, frames}."""
    from framestance.normalise import normalise

    ed = SHARED / "extraction-dev"
    fd = [json.loads(x) for x in (SHARED / "framing-dev" / "articles.jsonl").read_text(encoding="utf-8").splitlines()]
    others = [("a", p) for p in sorted((ed / "text").glob("*.txt"))] + [("n", p) for p in sorted((ed / "non-articles" / "text").glob("*.txt"))]
    rng = random.Random(seed)
    n_on = round(share / (1 - share) * len(others))
    if n_on > len(fd):
        n_on = len(fd)
        others = rng.sample(others, round(n_on * (1 - share) / share))
    on = rng.sample(fd, n_on)
    (work / "pages").mkdir(parents=True)
    truth: dict[str, dict] = {}
    for kind, p in others:
        name = f"{kind}-{p.name}"
        shutil.copy(p, work / "pages" / name)
        truth[name] = {"relevant": kind == "a" and p.stem in CLIMATE_IN_EXTRACTION_DEV, "frames": set()}
    with open(work / "records.jsonl", "w", encoding="utf-8") as fh:
        for a in on:
            fh.write(json.dumps({"url": f"https://example.org/{a['id']}", "title": a["headline_hint"], "text": a["text"],
                                 "date": a["date"], "source_domain": a["outlet"]}) + "\n")
            truth[f"https://example.org/{a['id']}"] = {"relevant": True,
                                                       "frames": {f for f in FRAMES if a["frames_published"][f] == "True"}}
    logging.disable(logging.CRITICAL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        normalise([str(work / "pages"), str(work / "records.jsonl")], work / "norm", workers=2, force=True,
                  retrieved_at=None)
    return truth


def article_truth(work: Path, truth: dict[str, dict]) -> dict[str, dict]:
    t = pq.read_table(work / "norm" / "articles.parquet", columns=["article_id", "source_path", "url", "duplicate_of"])
    out = {}
    for r in t.to_pylist():
        key = r["url"] if r["url"] and r["url"].startswith("https://example.org/") else Path(r["source_path"]).name
        out[r["article_id"]] = truth.get(key, {"relevant": False, "frames": set()})
    return out


def write_labels(path: Path, labels: dict[str, dict]) -> None:
    rows = [{"article_id": a, "status": "submitted", "relevance": "relevant" if v["relevant"] else "not_relevant"}
            for a, v in sorted(labels.items())]
    pq.write_table(pa.Table.from_pylist(rows, schema=pa.schema([("article_id", pa.string()), ("status", pa.string()),
                                                                ("relevance", pa.string())])), path)


def campaign(work: Path, sel: Path, truth: dict[str, dict], hits: dict[str, float], rounds: int, size: int,
             share: float, seed: int, design: str, quiet: bool) -> dict:
    from framestance.relevance import TooFewLabels, document, train

    if sel.exists():
        shutil.rmtree(sel)
    sel.mkdir(parents=True)
    labels_path = sel.parent / f"labels-{sel.name}.parquet"
    labelled: dict[str, dict] = {}
    per_round = []
    texts = None
    for r in range(1, rounds + 1):
        write_labels(labels_path, labelled)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = select_round(work / "norm", work / "index", sel, QUERY, design=design, round_size=size,
                               probability_share=share, seed=seed, annotations=labels_path, save_model=False)
        ids = [x["article_id"] for x in res.rows]
        on = sum(truth[a]["relevant"] for a in ids)
        row = {"round": r, "tasks": len(ids), "on_issue": on, "model": res.record.model_part,
               "probability": res.record.probability_part}
        if not quiet and res.record.model_version:
            # the model of this round, on every hit not selected before it (not trained on)
            if texts is None:
                t = pq.read_table(work / "norm" / "articles.parquet", columns=["article_id", "title", "text"]).to_pylist()
                texts = {x["article_id"]: document(x["title"], x["text"]) for x in t}
            pool = [a for a in hits if a not in labelled]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    m = train(sorted(labelled), [texts[a] for a in sorted(labelled)],
                              [int(labelled[a]["relevant"]) for a in sorted(labelled)], seed)
                    pred = m.scores([texts[a] for a in pool]) >= 0.5
                    tp = sum(1 for a, p in zip(pool, pred) if p and truth[a]["relevant"])
                    row["precision"] = tp / max(1, int(pred.sum()))
                    row["recall"] = tp / max(1, sum(truth[a]["relevant"] for a in pool))
                except TooFewLabels:
                    pass
        for a in ids:
            labelled[a] = truth[a]
        records, chosen = load_rounds(sel)
        sel_rows = chosen.to_pylist()
        relevant = {a: int(labelled[a]["relevant"]) for a in labelled}
        labels = {a: labelled[a]["frames"] for a in labelled if labelled[a]["relevant"]}
        row["shares"] = {s.value: (s.estimate, s.low, s.high, s.unweighted) for s in
                         estimate.shares(sel_rows, records, relevant, labels, FRAMES)}
        pop = estimate.population(sel_rows, records, relevant)
        row["relevant"] = (pop.relevant, pop.relevant_low, pop.relevant_high)
        per_round.append(row)
    return {"rounds": per_round}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--share", type=float, default=0.05)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--round-size", type=int, default=20)
    ap.add_argument("--probability-share", type=float, default=0.2)
    ap.add_argument("--first-campaign", type=int, default=0, help="seed offset: run campaigns in parallel processes")
    ap.add_argument("--design", default="model")
    ap.add_argument("--campaigns", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--json", type=Path, help="write every campaign's rounds here")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-select-"))
    t0 = time.perf_counter()
    truth_src = build_mix(work, args.share, args.seed)
    truth = article_truth(work, truth_src)
    build_index(work / "norm", work / "index")
    hits = hit_ids(Index(work / "index"), QUERY)
    rel_hits = [a for a in hits if truth[a]["relevant"]]
    rel_all = sum(v["relevant"] for v in truth.values())
    true_share = {f: sum(f in truth[a]["frames"] for a in rel_hits) / len(rel_hits) for f in FRAMES}
    print(f"mix: {len(truth)} articles kept by normalise, {rel_all} on-issue ({100 * rel_all / len(truth):.1f} %); "
          f"query hits {len(hits)}, of them on-issue {len(rel_hits)} (recall of the query {len(rel_hits)}/{rel_all}); "
          f"built in {time.perf_counter() - t0:.0f} s", flush=True)
    print("true shares among relevant hits: " + ", ".join(f"{f} {100 * v:.1f} %" for f, v in true_share.items()), flush=True)
    results = []
    cover = {f: [0] * args.rounds for f in [*FRAMES, "relevant"]}
    t1 = time.perf_counter()
    for c in range(args.campaigns):
        res = campaign(work, work / "sel", truth, hits, args.rounds, args.round_size, args.probability_share,
                       args.seed + args.first_campaign + c, args.design, args.quiet)
        results.append(res)
        for k, row in enumerate(res["rounds"]):
            for f in FRAMES:
                est, lo, hi, _ = row["shares"][f]
                cover[f][k] += est is not None and lo <= true_share[f] <= hi
            est, lo, hi = row["relevant"]
            cover["relevant"][k] += est is not None and lo <= len(rel_hits) <= hi
        if args.campaigns > 1 and (c + 1) % 50 == 0:
            print(f"  {c + 1}/{args.campaigns} campaigns, {time.perf_counter() - t1:.0f} s", flush=True)
    if args.campaigns == 1 or not args.quiet:
        print("| round | tasks | on-issue | by model / by probability | model precision | model recall | relevant hits est. [95 % CI] | "
              + " | ".join(f"{f} est. [CI] (truth {100 * true_share[f]:.0f} %)" for f in FRAMES) + " |")
        print("|" + " ---: |" * (7 + len(FRAMES)))
        for row in results[0]["rounds"]:
            def pct(x):
                return "-" if x is None else f"{100 * x:.0f}"
            rel = row["relevant"]
            print(f"| {row['round']} | {row['tasks']} | {row['on_issue']} ({100 * row['on_issue'] / row['tasks']:.0f} %) | "
                  f"{row['model']} / {row['probability']} | {pct(row.get('precision'))} | {pct(row.get('recall'))} | "
                  + (f"{rel[0]:.0f} [{rel[1]:.0f}, {rel[2]:.0f}] (truth {len(rel_hits)})" if rel[0] is not None else "-") + " | "
                  + " | ".join(f"{pct(row['shares'][f][0])} [{pct(row['shares'][f][1])}, {pct(row['shares'][f][2])}]" for f in FRAMES) + " |")
    if args.campaigns > 1:
        n = args.campaigns
        mc = 100 * math.sqrt(0.95 * 0.05 / n)
        print(f"\ncoverage of the 95 % intervals over {n} campaigns (Monte Carlo error about {mc:.1f} points), by round:")
        for key, counts in cover.items():
            print(f"  {key}: " + ", ".join(f"r{k + 1} {100 * x / n:.1f} %" for k, x in enumerate(counts)))
        on_share = [sum(r["on_issue"] for r in res["rounds"][1:]) / sum(r["tasks"] for r in res["rounds"][1:]) for res in results]
        print(f"on-issue share of tasks, rounds 2-{args.rounds}: mean {100 * sum(on_share) / n:.1f} %, "
              f"lowest {100 * min(on_share):.1f} %; {time.perf_counter() - t1:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({"true_share": true_share, "relevant_hits": len(rel_hits), "campaigns": results},
                                        default=list), encoding="utf-8")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
