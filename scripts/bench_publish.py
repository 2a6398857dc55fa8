"""Benchmark publish and load_dataset on generated tables.

    .venv/bin/python scripts/bench_publish.py --articles 100000

Generates N articles and 3 annotations each (scripts/bench_data.py), aggregates gold labels
(majority), then times `publish` (4 configs, splits, shards, card, manifest) and
`datasets.load_dataset` of every config, offline, from an empty cache; peak resident memory of
the process at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=100_000)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "scripts"))
    from bench_data import make

    os.environ["HF_DATASETS_OFFLINE"] = "1"
    os.environ["HF_HUB_OFFLINE"] = "1"
    import datasets
    import pyarrow.parquet as pq

    from framestance.aggregate import gold_labels, gold_spans
    from framestance.codebook import load
    from framestance.publish import CONFIGS, Inputs, Options, publish
    from framestance.validate import load_tables

    datasets.disable_progress_bars()
    cb = load(ROOT / "schemas" / "codebook.yaml")
    work = Path(tempfile.mkdtemp(prefix="fs-pubbench-"))
    result: dict = {}
    try:
        t = time.perf_counter()
        result["generated"] = make(work, args.articles)
        result["generate_s"] = round(time.perf_counter() - t, 1)
        t = time.perf_counter()
        tables = load_tables({"corpus": work / "corpus", "annotations": work / "annotations"})
        texts = dict(zip(tables["articles"]["article_id"], tables["articles"]["text"]))
        gold = gold_labels(tables["annotations"], tables["stances"], cb)
        spans = gold_spans(tables["annotations"], tables["spans"], texts)
        result["aggregate_s"] = round(time.perf_counter() - t, 1)
        del tables, texts
        inp = Inputs(articles=pq.read_table(work / "corpus" / "articles.parquet"),
                     annotations=pq.read_table(work / "annotations" / "annotations.parquet"),
                     stances=pq.read_table(work / "annotations" / "stances.parquet"),
                     spans=pq.read_table(work / "annotations" / "spans.parquet"), gold=gold, gold_spans=spans)
        t = time.perf_counter()
        path, _ = publish(inp, cb, work / "dist", Options(name="bench", version="1.0.0"),
                          (ROOT / "schemas" / "codebook.yaml").read_text())
        result["publish_s"] = round(time.perf_counter() - t, 1)
        result["published_MB"] = round(sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6, 1)
        result["load_dataset_s"] = {}
        for config in CONFIGS:
            t = time.perf_counter()
            ds = datasets.load_dataset(str(path), config, cache_dir=str(work / "cache"))
            result["load_dataset_s"][config] = {"seconds": round(time.perf_counter() - t, 1),
                                               "rows": sum(d.num_rows for d in ds.values())}
        result["peak_rss_MB"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        print(json.dumps(result))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
