"""Stage 1b: a full-text index over the corpus (tantivy: Lucene query syntax, BM25) and the query
a researcher writes against it.

Contract:
* `build_index(corpus, index_dir)` indexes `articles.parquet` (one file or a folder of part
  files): one tantivy index per part file under `index_dir/part-NNNNN/`, so parts can be built in
  parallel (a process each here; a Ray task each on a cluster) and a query runs over all of
  them. Rerun after articles were added, changed or removed, it *updates* each part (only the
  changed rows are deleted and re-added, recorded in each part's `keys.parquet`), and builds
  only parts that are new; `index_dir/manifest.json` says what the index holds.
* Fields: `title` and `text` (English stemming, BM25), `outlet` (the outlet as the page spells
  it, and `outlet_key`, lower-cased with no spaces or punctuation, for counting), `language`,
  `month` (`YYYY-MM` of `published_at`, `unknown` without a date), `date` (range queries, e.g.
  `date:[2025-01-01T00:00:00Z TO 2025-07-01T00:00:00Z]`), `page_type_score` (numeric).
  A query without a field searches title and text.
* `parse(index, query)` raises `SearchError` with one line naming the place a query breaks.
* `overview(...)` gives what a researcher needs to write a query (as Media Cloud does): the hit
  count, a seeded random sample of hits with the matched words marked, counts by outlet and by
  month. `hit_ids(...)` gives every hit's article id and BM25 score (what `select` reads).
Duplicates (`duplicate_of` set) are not indexed: they are never annotated on their own.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .errors import FramestanceError
from .io import atomic_write, write_table
from .normalise.text import outlet_key

SEARCH_FIELDS = ["title", "text"]
INDEX_COLUMNS = ["article_id", "title", "text", "outlet", "language", "published_at", "text_sha256", "duplicate_of",
                 "page_type_score"]
MANIFEST = "manifest.json"
KEYS = "keys.parquet"
FORMAT = 2  # raise when the schema below changes: an index of another format is rebuilt, not updated
HEAP = 100_000_000  # bytes of tantivy's indexing buffer per part
BATCH = 5_000  # rows turned into Python objects at a time


class SearchError(FramestanceError, ValueError):
    """A missing corpus or index, or a query that does not parse (the message names the place)."""


def _schema():
    import tantivy

    sb = tantivy.SchemaBuilder()
    sb.add_text_field("article_id", stored=True, tokenizer_name="raw")
    sb.add_unsigned_field("key", stored=False, indexed=True, fast=True)
    sb.add_text_field("title", stored=True, tokenizer_name="en_stem")
    sb.add_text_field("text", stored=True, tokenizer_name="en_stem")
    sb.add_text_field("outlet", stored=True, tokenizer_name="raw", fast=True)
    sb.add_text_field("outlet_key", stored=False, tokenizer_name="raw", fast=True)
    sb.add_text_field("language", stored=True, tokenizer_name="raw", fast=True)
    sb.add_text_field("month", stored=True, tokenizer_name="raw", fast=True)
    sb.add_date_field("date", stored=False, indexed=True, fast=True)
    sb.add_float_field("page_type_score", stored=False, indexed=True, fast=True)
    return sb.build()


def corpus_files(corpus: Path) -> list[Path]:
    """The parquet files of a corpus folder's articles.parquet: the one file, or its part files in order."""
    path = Path(corpus) / "articles.parquet" if Path(corpus).is_dir() and not str(corpus).endswith(".parquet") else Path(corpus)
    if not path.exists():
        raise SearchError(f"{path}: no such file (run `framestance normalise ... --out {corpus}` first)")
    if path.is_dir():
        parts = sorted(path.glob("part-*.parquet"))
        if not parts:
            raise SearchError(f"{path}: a folder with no part-*.parquet files")
        return parts
    return [path]


def _document(row: dict, key: int):
    import tantivy

    doc = tantivy.Document()
    doc.add_text("article_id", row["article_id"])
    doc.add_unsigned("key", key)
    doc.add_text("title", row.get("title") or "")
    doc.add_text("text", row.get("text") or "")
    doc.add_text("outlet", row.get("outlet") or "")
    doc.add_text("outlet_key", outlet_key(row.get("outlet")) or "unknown")
    doc.add_text("language", row.get("language") or "unknown")
    when = row.get("published_at")
    doc.add_text("month", f"{when:%Y-%m}" if when is not None else "unknown")
    if when is not None:
        doc.add_date("date", when)
    if row.get("page_type_score") is not None:
        doc.add_float("page_type_score", float(row["page_type_score"]))
    return doc


def _rows(path: Path) -> pa.Table:
    table = pq.read_table(path, columns=[c for c in INDEX_COLUMNS if c in pq.read_schema(path).names])
    return table.filter(pc.is_null(table["duplicate_of"]))


@dataclass
class PartReport:
    part: str
    docs: int = 0
    added: int = 0
    deleted: int = 0
    rebuilt: bool = False


def index_part(source: str, target: str) -> PartReport:
    """Index (or update) one part file into its own tantivy index. Pure of everything but the two
    paths: the unit a process pool or a Ray task runs. Each document carries a number of its own
    in the part (`key`, a fast field: hits are read back without loading stored documents);
    `keys.parquet` maps it to the article id and records the text hash that was indexed."""
    import tantivy

    source_path, target_path = Path(source), Path(target)
    table = _rows(source_path)
    want = dict(zip(table["article_id"].to_pylist(), table["text_sha256"].to_pylist()))
    keys_file = target_path / KEYS
    report = PartReport(part=target_path.name)
    have: dict[str, tuple[str, int]] = {}
    if keys_file.exists() and tantivy.Index.exists(str(target_path)):
        old = pq.read_table(keys_file)
        have = {a: (h, k) for a, h, k in zip(old["article_id"].to_pylist(), old["text_sha256"].to_pylist(), old["key"].to_pylist())}
        index = tantivy.Index.open(str(target_path))
    else:
        report.rebuilt = True
        if target_path.exists():
            shutil.rmtree(target_path)
        target_path.mkdir(parents=True)
        index = tantivy.Index(_schema(), path=str(target_path))
    gone = sorted(a for a, (h, _) in have.items() if want.get(a) != h)
    new = sorted(a for a, h in want.items() if a not in have or have[a][0] != h)
    if gone or new:
        keys = {a: k for a, (h, k) in have.items() if a not in gone}
        next_key = max((k for _, k in have.values()), default=-1) + 1
        writer = index.writer(heap_size=HEAP, num_threads=1)
        for aid in sorted(set(gone) | set(new)):  # new ones too: a run cut off after a commit may have added them
            writer.delete_documents_by_term("article_id", aid)
        if new:
            wanted = pa.array(new, pa.string())
            for batch in table.to_batches(max_chunksize=BATCH):  # in file order; Python objects a batch at a time
                for row in batch.filter(pc.is_in(batch["article_id"], wanted)).to_pylist():
                    keys[row["article_id"]] = next_key
                    writer.add_document(_document(row, next_key))
                    next_key += 1
        writer.commit()
        writer.wait_merging_threads()
        ids = sorted(keys)
        write_table(pa.table({"article_id": pa.array(ids, pa.string()), "text_sha256": pa.array([want[a] for a in ids], pa.string()),
                              "key": pa.array([keys[a] for a in ids], pa.uint64())}), keys_file)
    report.added, report.deleted, report.docs = len(new), len(gone), len(want)
    return report


@dataclass
class IndexReport:
    parts: list[PartReport] = field(default_factory=list)
    removed_parts: int = 0

    @property
    def docs(self) -> int:
        return sum(p.docs for p in self.parts)


def build_index(corpus: Path, index_dir: Path, workers: int = 1, progress=None, engine: str = "local",
                address: str | None = None) -> IndexReport:
    """Index every part of the corpus into `index_dir` (updating what is there): parts in
    `workers` processes (engine `local`), or one Ray task a part (engine `ray`: a local Ray with
    `workers` CPUs, or the cluster at `address` / RAY_ADDRESS; its workers must see both folders,
    as the normalise engine's do)."""
    if engine not in ("local", "ray"):
        raise SearchError(f"engine {engine!r}: use local or ray")
    parts = corpus_files(corpus)
    index_dir = Path(index_dir)
    manifest_path = index_dir / MANIFEST
    if manifest_path.exists():
        try:
            old = json.loads(manifest_path.read_text(encoding="utf-8"))
        except ValueError:
            old = {}
        if old.get("format") != FORMAT:  # another layout: start again rather than update
            shutil.rmtree(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    # absolute: a worker (a process, or a Ray task on another node) must not resolve them against its own folder
    jobs = [(str(src.resolve()), str((index_dir / f"part-{k:05d}").resolve())) for k, src in enumerate(parts)]
    report = IndexReport()
    if engine == "ray":
        from .normalise.ray_engine import _ray

        ray = _ray(workers, address)
        task = ray.remote(index_part)
        pending = {task.remote(s, t): k for k, (s, t) in enumerate(jobs)}
        done_parts: dict[int, PartReport] = {}
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                done_parts[pending.pop(ref)] = ray.get(ref)
                if progress:
                    progress(len(done_parts), len(jobs))
        report.parts = [done_parts[k] for k in range(len(jobs))]
    elif workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for done, part in enumerate(pool.map(index_part, *zip(*jobs)), 1):
                report.parts.append(part)
                if progress:
                    progress(done, len(jobs))
    else:
        for done, job in enumerate(jobs, 1):
            report.parts.append(index_part(*job))
            if progress:
                progress(done, len(jobs))
    keep = {Path(t).name for _, t in jobs}
    for stale in sorted(index_dir.glob("part-*")):
        if stale.name not in keep:
            shutil.rmtree(stale)
            report.removed_parts += 1
    # deterministic (tantivy's own files are not: segment names are random), so DVC tracks this file
    manifest = {"format": FORMAT, "corpus": str(corpus), "docs": report.docs,
                "parts": [{"part": p.part, "source": Path(s).name, "docs": p.docs, "articles": fingerprint(_pairs(Path(t) / KEYS))}
                          for p, (s, t) in zip(report.parts, jobs)]}
    atomic_write(manifest_path, (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode())
    return report


def _pairs(keys_file: Path) -> list[tuple[str, str]]:
    """A part's (article_id, text_sha256) pairs, as its keys.parquet records them (none before its first build)."""
    if not keys_file.exists():
        return []
    t = pq.read_table(keys_file, columns=["article_id", "text_sha256"])
    return list(zip(t["article_id"].to_pylist(), t["text_sha256"].to_pylist()))


def fingerprint(pairs) -> str:
    """sha256 of (article_id, text_sha256) pairs, in any order: what a set of articles holds."""
    import hashlib

    h = hashlib.sha256()
    for aid, sha in sorted(pairs):
        h.update(f"{aid}\0{sha}\n".encode())
    return h.hexdigest()[:16]


class Index:
    """Every part of an index, opened for searching."""

    def __init__(self, index_dir: Path):
        import tantivy

        self.dir = Path(index_dir)
        manifest = self.dir / MANIFEST
        if not manifest.exists():
            raise SearchError(f"{self.dir}: no search index (run `framestance index CORPUS --out {self.dir}` first)")
        meta = json.loads(manifest.read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT:
            raise SearchError(f"{self.dir}: an index of another format (run `framestance index` again)")
        self.parts = [tantivy.Index.open(str(self.dir / p["part"])) for p in meta["parts"]]
        self.searchers = [ix.searcher() for ix in self.parts]
        self.schema = _schema()

        self._parts_meta = meta["parts"]
        self._ids: dict[int, dict[int, str]] = {}

    @property
    def docs(self) -> int:
        return sum(s.num_docs for s in self.searchers)

    def pairs(self) -> set[tuple[str, str]]:
        """Every (article_id, text_sha256) the index holds, from its parts' keys."""
        return {pair for meta in self._parts_meta for pair in _pairs(self.dir / meta["part"] / KEYS)}

    def ids(self, k: int) -> dict[int, str]:
        """Part k's u64 keys -> article ids (from its keys.parquet, read once)."""
        if k not in self._ids:
            t = pq.read_table(self.dir / self._parts_meta[k]["part"] / KEYS, columns=["article_id", "key"])
            self._ids[k] = dict(zip(t["key"].to_pylist(), t["article_id"].to_pylist()))
        return self._ids[k]

    def parse(self, query: str):
        """One parsed query per part (each part parses against its own index)."""
        return [parse(ix, query) for ix in self.parts]


def parse(index, query: str):
    """The query parsed, or a SearchError naming where it breaks."""
    if not query or not query.strip():
        raise SearchError("the query is empty (write one, e.g. 'climate OR \"global warming\"')")
    try:
        return index.parse_query(query, SEARCH_FIELDS)
    except ValueError as exc:
        message = str(exc)
        try:
            _, errors = index.parse_query_lenient(query, SEARCH_FIELDS)
        except ValueError:
            errors = []
        where = "; ".join(dict.fromkeys(str(e).replace("Syntax Error: ", "") for e in errors)) or message
        if "position" not in where and "Syntax Error" in message:
            where = f"{message} (check brackets, quotes and a trailing AND/OR/NOT)"
        raise SearchError(f"query {query!r}: {where}") from None


@dataclass
class Hit:
    article_id: str
    score: float
    title: str
    outlet: str
    month: str
    snippet: str  # the best passage, matched words in **bold**


@dataclass
class Overview:
    query: str
    count: int
    docs: int
    sample: list[Hit]
    by_outlet: list[tuple[str, int]]
    by_month: list[tuple[str, int]]


def hit_ids(index: Index, query: str) -> dict[str, float]:
    """Every hit of the query: article id -> BM25 score (scores are per part; comparable where
    parts are alike, as parts of one crawl are)."""
    out: dict[str, float] = {}
    for k, (searcher, q) in enumerate(zip(index.searchers, index.parse(query))):
        n = searcher.num_docs
        if not n:
            continue
        hits = searcher.search(q, n, count=False).hits
        ids = index.ids(k)
        keys = searcher.fast_field_values("key", [a for _, a in hits])
        for (score, _), key in zip(hits, keys):
            out[ids[int(key or 0)]] = float(score)
    return out


def _buckets(agg: dict, name: str) -> Counter:
    return Counter({b["key"]: b["doc_count"] for b in agg.get(name, {}).get("buckets", [])})


def overview(index: Index, query: str, sample: int = 10, seed: int = 0, snippet_chars: int = 220) -> Overview:
    """Hit count, a seeded random sample of hits with the matched words marked, counts by outlet
    (as spelled on the pages) and by month."""
    import tantivy

    queries = index.parse(query)
    count = 0
    outlets: Counter[str] = Counter()
    months: Counter[str] = Counter()
    addresses: list[tuple[int, float, Any]] = []
    for k, (searcher, q) in enumerate(zip(index.searchers, queries)):
        if not searcher.num_docs:
            continue
        result = searcher.search(q, searcher.num_docs, count=True)
        count += getattr(result, "count", 0) or 0
        addresses.extend((k, float(s), a) for s, a in result.hits)
        agg = searcher.aggregate(q, {"outlet": {"terms": {"field": "outlet", "size": 100_000}},
                                     "month": {"terms": {"field": "month", "size": 100_000}}})
        outlets.update(_buckets(agg, "outlet"))
        months.update(_buckets(agg, "month"))
    picked = random.Random(seed).sample(addresses, min(sample, len(addresses)))
    hits = []
    generators: dict[int, Any] = {}
    for k, score, addr in sorted(picked, key=lambda x: -x[1]):
        searcher = index.searchers[k]
        if k not in generators:
            gen = tantivy.SnippetGenerator.create(searcher, queries[k], index.schema, "text")
            gen.set_max_num_chars(snippet_chars)
            generators[k] = gen
        doc = searcher.doc(addr)
        snip = generators[k].snippet_from_doc(doc)
        raw = snip.fragment().encode("utf-8")  # highlight ranges are byte offsets
        marked, last = [], 0
        for h in snip.highlighted():
            marked += [raw[last:h.start], b"**", raw[h.start:h.end], b"**"]
            last = h.end
        marked.append(raw[last:])
        hits.append(Hit(doc["article_id"][0], score, (doc.get_first("title") or ""), doc.get_first("outlet") or "",
                        doc.get_first("month") or "", " ".join(b"".join(marked).decode("utf-8", "replace").split())))
    by_outlet = sorted(((o or "(no outlet)", n) for o, n in outlets.items()), key=lambda x: (-x[1], x[0]))
    return Overview(query, count, index.docs, hits, by_outlet, sorted(months.items()))


def default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


__all__ = ["Index", "IndexReport", "Overview", "SearchError", "build_index", "corpus_files", "fingerprint", "hit_ids",
           "index_part", "outlet_key",
           "overview", "parse"]
