"""Generated tables for the validate / agreement / publish benchmarks (numpy, seeded).

`make(folder, n_articles, per_article=3)` writes corpus/articles.parquet and
annotations/{annotations,stances,spans}.parquet shaped exactly like the pipeline's own tables:
n_articles x per_article annotations (each with 1-3 frames, a tone, a stance per codebook target
and one span that is a real slice of the article text), annotators drawn from 60 pseudonyms.
"""

from __future__ import annotations

import hashlib
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from framestance.codebook import load  # noqa: E402
from framestance.schema import ANNOTATION, ARTICLE, SPAN, STANCE  # noqa: E402

T0 = datetime(2025, 8, 18, tzinfo=UTC)


def make(folder: Path, n_articles: int, per_article: int = 3, text_words: int = 60, seed: int = 7) -> dict[str, int]:
    cb = load(ROOT / "schemas" / "codebook.yaml")
    rng = np.random.default_rng(seed)
    frames = np.array(cb.frame_ids(), dtype=object)
    tones = np.array([t.id for t in cb.tone], dtype=object)
    values = np.array([v.id for v in cb.stance_values], dtype=object)
    targets = [t.id for t in cb.targets]
    vocab = np.array(["".join(rng.choice(list("etaoinshrdlucmfwyp"), rng.integers(2, 9))) for _ in range(4000)], dtype=object)

    ids = [f"{i:020x}" for i in range(n_articles)]
    words = rng.integers(0, len(vocab), size=(n_articles, text_words))
    texts = [" ".join(vocab[w]) for w in words]
    shas = [hashlib.sha256(t.encode()).hexdigest() for t in texts]
    n = n_articles
    arts = {
        "article_id": ids, "source_path": ["bench.jsonl"] * n, "source_sha256": ["0" * 64] * n,
        "position": np.arange(n, dtype=np.int32), "input_kind": ["records"] * n, "relation": ["main"] * n,
        "parent_id": [None] * n, "url": [f"https://bench.example/{i}" for i in range(n)],
        "outlet": [f"Outlet {i % 25}" for i in range(n)], "syndicated_from": [None] * n, "kicker": [None] * n,
        "title": [f"Bench story {i}" for i in range(n)], "authors": [[]] * n, "author_roles": [[]] * n,
        "published_at": [T0] * n, "published_text": [None] * n, "date_precision": ["day"] * n,
        "retrieved_at": [T0] * n, "language": ["en"] * n, "text": texts,
        "paragraphs": [[{"start": 0, "end": len(t)}] for t in texts], "media": [[]] * n,
        "n_words": np.full(n, text_words, dtype=np.int32), "text_sha256": shas, "duplicate_of": [None] * n,
        "cluster_id": [ids[i - i % 2] for i in range(n)],  # pairs of articles share a story cluster
        "normaliser_version": ["bench"] * n, "notes": [[]] * n,
    }
    for f in ARTICLE:  # columns added to the corpus since (page type, outlet key, ...): null here
        arts.setdefault(f.name, pa.nulls(n, f.type))
    (folder / "corpus").mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(arts, schema=ARTICLE), folder / "corpus" / "articles.parquet", compression="zstd")

    m = n * per_article
    art_idx = np.repeat(np.arange(n), per_article)
    annotators = np.array([f"ann-{hashlib.sha256(str(k).encode()).hexdigest()[:12]}" for k in range(60)], dtype=object)
    who = annotators[(art_idx * 7 + np.tile(np.arange(per_article), n) * 13) % 60]
    truth = rng.integers(0, len(frames), n)
    primary_idx = np.where(rng.random(m) < 0.75, truth[art_idx], rng.integers(0, len(frames), m))
    second = (primary_idx + rng.integers(1, len(frames), m)) % len(frames)
    has_second = rng.random(m) < 0.5
    frame_lists = [sorted({frames[p], frames[s]}) if h else [frames[p]] for p, s, h in zip(primary_idx, second, has_second)]
    created = np.datetime64("2025-08-18T00:00:00", "us") + rng.integers(0, 10**12, m).astype("timedelta64[us]")
    lead = rng.uniform(30, 600, m)
    ann = {
        "article_id": np.array(ids, dtype=object)[art_idx], "text_sha256": np.array(shas, dtype=object)[art_idx],
        "task_id": art_idx + 1, "annotation_id": np.arange(1, m + 1), "annotator": who,
        "status": np.array(["submitted"] * m, dtype=object), "created_at": pa.array(created, pa.timestamp("us", tz="UTC")),
        "updated_at": pa.array(created + (lead * 1e6).astype("timedelta64[us]"), pa.timestamp("us", tz="UTC")),
        "lead_time": lead, "ground_truth": np.zeros(m, dtype=bool),
        "relevance": np.array(["relevant"] * m, dtype=object), "primary_frame": frames[primary_idx],
        "frames": frame_lists, "tone": tones[np.where(rng.random(m) < 0.7, truth[art_idx] % 3, rng.integers(0, 3, m))],
    }
    (folder / "annotations").mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(ann, schema=ANNOTATION), folder / "annotations" / "annotations.parquet", compression="zstd")

    k = len(targets)
    st = {
        "article_id": np.repeat(ann["article_id"], k), "annotation_id": np.repeat(ann["annotation_id"], k),
        "annotator": np.repeat(who, k), "status": np.array(["submitted"] * (m * k), dtype=object),
        "target": np.array(targets * m, dtype=object), "value": values[rng.integers(0, len(values), m * k)],
    }
    pq.write_table(pa.table(st, schema=STANCE), folder / "annotations" / "stances.parquet", compression="zstd")

    lengths = np.array([len(t) for t in texts])[art_idx]
    start = rng.integers(0, 40, m)
    end = np.minimum(start + rng.integers(5, 80, m), lengths)
    all_texts = np.array(texts, dtype=object)[art_idx]
    sp = {
        "article_id": ann["article_id"], "annotation_id": ann["annotation_id"], "annotator": who,
        "status": ann["status"], "kind": np.array(["frame_cue"] * m, dtype=object), "label": ann["primary_frame"],
        "start": start, "end": end, "text": [t[s:e] for t, s, e in zip(all_texts, start, end)],
    }
    pq.write_table(pa.table(sp, schema=SPAN), folder / "annotations" / "spans.parquet", compression="zstd")
    return {"articles": n, "annotations": m, "stances": m * k, "spans": m}
