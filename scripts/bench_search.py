"""Search and select at scale: N articles resampled from real pages (extraction-dev's article
bodies and framing-dev's climate articles, drawn with replacement, each row its own id), written
as articles.parquet part files; then the index build (time, peak memory), query latency and the
time of `select` rounds (a probability round, and a model round after 200 labels).

    .venv/bin/python scripts/bench_search.py --articles 1000000 --rows-per-file 250000 --workers 2

Peak memory is the largest resident set of this process and its children (ru_maxrss).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from framestance.schema import ARTICLE  # noqa: E402
from framestance.search import Index, build_index, hit_ids, overview  # noqa: E402
from framestance.selection import select_round  # noqa: E402

SHARED = ROOT.parent / "shared"
QUERIES = ["climate", 'climate OR "global warming" OR emissions OR carbon', '"climate change" AND policy', "title:climate",
           'outlet:foxnews AND climate', "date:[2019-01-01T00:00:00Z TO 2019-07-01T00:00:00Z] AND climate"]


def real_texts() -> list[dict]:
    out = []
    truth = json.loads((SHARED / "extraction-dev" / "ground-truth.json").read_text(encoding="utf-8"))
    meta = json.loads((SHARED / "extraction-dev" / "meta.json").read_text(encoding="utf-8"))
    for pid, t in sorted(truth.items()):
        out.append({"title": (meta.get(pid) or {}).get("title"), "text": t["articleBody"], "outlet": None, "day": None})
    for line in (SHARED / "framing-dev" / "articles.jsonl").read_text(encoding="utf-8").splitlines():
        a = json.loads(line)
        out.append({"title": a["headline_hint"], "text": a["text"], "outlet": a["outlet"], "day": a["date"]})
    return out


def write_corpus(folder: Path, n: int, rows_per_file: int, seed: int) -> None:
    texts = real_texts()
    rng = random.Random(seed)
    folder.mkdir(parents=True)
    base = datetime(2019, 1, 1, tzinfo=UTC)
    names = [f.name for f in ARTICLE]
    for part, start in enumerate(range(0, n, rows_per_file)):
        rows = []
        for i in range(start, min(n, start + rows_per_file)):
            src = rng.choice(texts)
            aid = hashlib.sha256(f"bench:{i}".encode()).hexdigest()[:20]
            rows.append({"article_id": aid, "source_path": f"bench/{i}", "source_sha256": aid, "position": 0, "input_kind": "records",
                         "relation": "main", "title": src["title"], "outlet": src["outlet"] or rng.choice(["a.example", "b.example", "c.example"]),
                         "authors": [], "author_roles": [], "published_at": base + timedelta(days=rng.randrange(730)),
                         "retrieved_at": base, "language": "en", "text": src["text"], "paragraphs": [], "media": [],
                         "n_words": len(src["text"].split()), "text_sha256": aid, "cluster_id": aid,
                         "normaliser_version": "bench", "notes": [], "page_type_score": rng.random()})
        table = pa.Table.from_pylist([{k: r.get(k) for k in names} for r in rows], schema=ARTICLE)
        pq.write_table(table, folder / f"part-{part:05d}.parquet", compression="zstd")


def peak_mb() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(me, kids) / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, default=100_000)
    ap.add_argument("--rows-per-file", type=int, default=250_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-search-"))
    corpus = work / "norm" / "articles.parquet"
    t = time.perf_counter()
    if not corpus.exists():
        write_corpus(corpus, args.articles, args.rows_per_file, args.seed)
    print(f"corpus: {args.articles:,} articles in {len(list(corpus.glob('part-*.parquet')))} parts, "
          f"{sum(p.stat().st_size for p in corpus.glob('*.parquet')) / 1e9:.2f} GB parquet ({time.perf_counter() - t:.0f} s)", flush=True)
    t = time.perf_counter()
    build_index(work / "norm", work / "index", workers=args.workers)
    build_s = time.perf_counter() - t
    size = sum(p.stat().st_size for p in (work / "index").rglob("*") if p.is_file())
    print(f"index build: {build_s:.0f} s ({args.articles / build_s:,.0f} articles/s, {args.workers} workers), "
          f"index {size / 1e9:.2f} GB, peak memory {peak_mb():,.0f} MB", flush=True)
    t = time.perf_counter()
    build_index(work / "norm", work / "index", workers=args.workers)
    print(f"index update with nothing changed: {time.perf_counter() - t:.1f} s", flush=True)
    index = Index(work / "index")
    for q in QUERIES:
        times = []
        for _ in range(5):
            t = time.perf_counter()
            ov = overview(index, q, sample=10)
            times.append(time.perf_counter() - t)
        t = time.perf_counter()
        assert len(hit_ids(index, q)) == ov.count
        all_hits = time.perf_counter() - t
        print(f"query {q!r}: {ov.count:,} hits; overview (count, 10 hits with snippets, by outlet, by month) median "
              f"{1000 * statistics.median(times):.0f} ms; every hit's id {1000 * all_hits:.0f} ms", flush=True)
    q = QUERIES[2]
    t = time.perf_counter()
    r1 = select_round(work / "norm", work / "index", work / "sel", q, design="model", round_size=200, seed=1)
    print(f"select round 1 (probability sample of {r1.record.hits:,} hits): {time.perf_counter() - t:.1f} s, peak memory {peak_mb():,.0f} MB",
          flush=True)
    labels = {r["article_id"]: ("relevant" if random.Random(r["article_id"]).random() < 0.5 else "not_relevant") for r in r1.rows}
    pq.write_table(pa.table({"article_id": list(labels), "status": ["submitted"] * len(labels), "relevance": list(labels.values())}),
                   work / "labels.parquet")
    t = time.perf_counter()
    r2 = select_round(work / "norm", work / "index", work / "sel", q, design="model", round_size=200, seed=1,
                      annotations=work / "labels.parquet")
    print(f"select round 2 (model trained on {r2.record.model_labels} labels ranks {r2.record.pool:,} remaining hits): "
          f"{time.perf_counter() - t:.1f} s, peak memory {peak_mb():,.0f} MB", flush=True)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
