"""The `ray` engine of normalise: the same readers and pure normaliser, run by Ray Data, with
duplicates found through Ray's own shuffle instead of a single-process index.

1. map: groups of input files (in path order) -> each file read by `read_inputs` and normalised
   by `normalise_batch`, as the local engine does; every article and reject is one row keyed by
   its place in the input stream (`_order`: file number, then place in the file).
2. collisions (collisions.py): each article's id, exact-duplicate key and LSH band keys go
   through shuffles of Ray tasks; the keys two or more articles share form a graph, whose
   connected components are found and resolved one by one with the local engine's rule (the
   first article of a story is its representative). The driver holds object references and a
   few counts, never a key.
3. mark: each block of the map's output fetches the decisions of its range of input order.
4. write: rows stream back in input order into the same parquet writers as the local engine's,
   so both engines give the same bytes. With part files (`rows_per_file`), the workers mark and
   write the articles themselves: each article's place in the output is the number of articles
   in the files before its own plus its place in its file, which says its part; a groupby by
   part gives each part's rows to one worker, which writes the file `output.TableWriter` would.
   Only the rejects (small) pass through the driver.

Ray starts locally with `workers` CPUs, or joins a running cluster (`address`, or RAY_ADDRESS);
on a cluster the inputs must be readable by every node: a shared file system, or URIs of a file
system pyarrow reads (s3://, gs://, hdfs://), which each task copies file by file; with part
files, the output folder must be on a file system every node writes to, or a URI (remote.py).
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..schema import ARTICLE, REJECT
from .collisions import BAND, GRAPH_ROW_BYTES, ID, KEYS_PER_ARTICLE, SEQ_BITS, TEXT, decisions_for, marked, pieces_for, resolve_in_cluster
from .core import Params, Result, normalise_batch
from .dedup import band_key, band_ranges
from .output import part_name, write_part
from .readers import Found, batches, read_inputs
from .remote import join

#: At most this many files, and about this many bytes on disk, per map task; and at least
#: TASKS_PER_CPU tasks per CPU where the inputs allow it, so that every CPU has work to the end.
FILES_PER_TASK, BYTES_PER_TASK, TASKS_PER_CPU = 256, 64 << 20, 4

ARTICLE_ROW, REJECT_ROW, STATS_ROW, NODE_ROW = 0, 1, 2, 3
#: One row of the map's output: an article's columns, a reject's, a file's skipped-record counts, or
#: a map task's place (`detail`: the node its worker ran on; `reason`: how many input files it read).
ROW = pa.schema([*(f.with_nullable(True) for f in ARTICLE),
                 pa.field("reason", pa.string()), pa.field("detail", pa.string()),
                 pa.field("_row", pa.int8()), pa.field("_order", pa.int64()),
                 pa.field("_text_key", pa.string()), pa.field("_bands", pa.list_(pa.int64()))])


def _tasks(files: list[Found], cpus: int) -> list[dict]:
    """Groups of consecutive files, each a map task: at most FILES_PER_TASK files and about
    BYTES_PER_TASK on disk, fewer where the inputs would not give every CPU TASKS_PER_CPU tasks
    (a large WARC is a task of its own: a file is never split)."""

    def size_of(f: Found) -> int:
        try:
            return f.path.stat().st_size if not f.problem else 0
        except OSError:
            return 0

    sizes = [size_of(f) for f in files]
    per_task = min(BYTES_PER_TASK, sum(sizes) // (TASKS_PER_CPU * max(1, cpus)) + 1)
    count = min(FILES_PER_TASK, len(files) // (TASKS_PER_CPU * max(1, cpus)) + 1)
    tasks: list[dict] = []
    current: list[int] = []
    size = 0
    for k, n in enumerate(sizes):
        if current and (len(current) >= count or size + n > per_task):
            tasks.append(_task(files, current))
            current, size = [], 0
        current.append(k)
        size += n
    if current:
        tasks.append(_task(files, current))
    return tasks


def _task(files: list[Found], which: list[int]) -> dict:
    return {"first": which[0], "paths": [str(files[i].path) for i in which],
            "problems": [files[i].problem or "" for i in which], "uris": [files[i].uri or "" for i in which]}


def _as_i64(values: list[int]) -> list[int]:
    """uint64 hashes as the int64 Arrow stores (the same bits)."""
    return np.array(values, dtype=np.uint64).view(np.int64).tolist()


def _rows(kind: int, first_order: int, n: int, **columns: pa.Array) -> pa.Table:
    """`n` ROW rows of one kind, ordered from `first_order`: the columns given, nulls elsewhere."""
    cols = {name: columns[name] if name in columns else pa.nulls(n, ROW.field(name).type) for name in ROW.names}
    cols.update(_row=pa.array([kind] * n, pa.int8()), _order=pa.array(range(first_order, first_order + n), pa.int64()))
    return pa.table(cols, schema=ROW)


def article_rows(result: Result, ranges: list[tuple[int, int]], first_order: int) -> pa.Table:
    """The articles of one normalised batch as ROW rows, with the keys the shuffle groups them by."""
    arts = result.articles
    return _rows(ARTICLE_ROW, first_order, arts.num_rows, **{f.name: arts.column(f.name) for f in ARTICLE},
                 _text_key=pa.array([key[:32] for key in result.dedup_keys], pa.string()),
                 _bands=pa.array([_as_i64([band_key(sig[a:z]) for a, z in ranges]) for sig in result.signatures],
                                 pa.list_(pa.int64())))


def normalise_files(task: dict, max_bytes: int, retrieved_at: datetime | None, params: Params,
                    ranges: list[tuple[int, int]]) -> pa.Table:
    """One map task: its files read and normalised, one ROW per article, reject and file."""
    parts: list[pa.Table] = []
    first = int(task["first"])
    for k, (path, problem, uri) in enumerate(zip(task["paths"], task["problems"], task["uris"])):
        file_start = (first + k) << SEQ_BITS
        skipped: Counter = Counter()
        n_art = n_rej = 0
        for raw in batches(read_inputs([Found(Path(path), problem or None, uri or None)], max_bytes, retrieved_at, skipped)):
            result = normalise_batch(raw, params)
            arts, rejs = result.articles, result.rejects
            if arts.num_rows:
                parts.append(article_rows(result, ranges, file_start + n_art))
                n_art += arts.num_rows
            if rejs.num_rows:
                parts.append(_rows(REJECT_ROW, file_start + n_rej, rejs.num_rows,
                                   **{name: rejs.column(name) for name in REJECT.names}))
                n_rej += rejs.num_rows
        if skipped:
            parts.append(_rows(STATS_ROW, file_start, 1, detail=pa.array([json.dumps(dict(skipped), sort_keys=True)])))
    return pa.concat_tables(parts) if parts else ROW.empty_table()


def shuffle_keys(rows: pa.Table) -> pa.Table:
    """Per article: its id, its exact-duplicate key and its band keys, as (kind, key, order) rows;
    ids and text keys with their full value (`full`: the key is their first 64 bits); the input an
    id came from, which renaming a URL seen before needs; on every row the article's id, which its
    duplicates point at wherever its component is resolved."""
    arts = rows.filter(pc.equal(rows["_row"], ARTICLE_ROW))
    n = arts.num_rows
    ids, texts = arts["article_id"].to_pylist(), arts["_text_key"].to_pylist()
    n_bands = len(arts["_bands"][0]) if n else 0
    order = arts["_order"].to_numpy()
    # band k's keys apart from band j's: the band number mixed into the key (a 64-bit collision is
    # as unlikely here as in the local engine's index)
    mix = np.arange(n_bands, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    band_keys = (pc.list_flatten(arts["_bands"]).to_numpy(zero_copy_only=False).view(np.uint64)
                 ^ np.tile(mix, n)).view(np.int64)
    m = n * n_bands
    whose = pa.array(np.concatenate([np.arange(n), np.arange(n), np.repeat(np.arange(n), n_bands)]).astype(np.int64))
    return pa.table({
        "kind": np.concatenate([np.full(n, ID, np.int8), np.full(n, TEXT, np.int8), np.full(m, BAND, np.int8)]),
        "key": np.concatenate([np.array([int(a[:16], 16) for a in ids], np.uint64).view(np.int64),
                               np.array([int(t[:16], 16) for t in texts], np.uint64).view(np.int64), band_keys]),
        "full": pa.concat_arrays([pa.array(ids, pa.string()), pa.array(texts, pa.string()), pa.nulls(m, pa.string())]),
        "order": np.concatenate([order, order, np.repeat(order, n_bands)]),
        "source_sha256": pa.concat_arrays([arts["source_sha256"].combine_chunks(), pa.nulls(n + m, pa.string())]),
        "position": pa.concat_arrays([arts["position"].combine_chunks(), pa.nulls(n + m, pa.int32())]),
        "article_id": arts["article_id"].combine_chunks().take(whose),
    })


def _ray(workers: int, address: str | None):
    import ray

    if not ray.is_initialized():
        address = address or os.environ.get("RAY_ADDRESS")
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "logging_level": "ERROR"}
        if address:
            ray.init(address=address, **kwargs)
        else:
            ray.init(num_cpus=max(1, workers), **kwargs)
    logging.getLogger("ray.data").setLevel(logging.WARNING)  # its progress bars stay; its INFO lines go
    return ray


def run(files: list[Found], params: Params, max_bytes: int, retrieved_at: datetime | None, threshold: float,
        workers: int, address: str | None, write_article: Callable[[pa.RecordBatch], None],
        write_reject: Callable[[pa.RecordBatch], None], parts: tuple[str, int] | None = None) -> Outcome:
    """Normalise `files` on Ray; rejects go to `write_reject` in input order. Articles go to
    `write_article` in input order, or with `parts` (folder, rows per file) the workers write
    them there as part files, the rows of part k being articles k·n to (k+1)·n - 1 in input order."""
    ray = _ray(workers, address)
    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True  # input order: the same bytes as the local engine
    ranges = band_ranges(threshold, params.num_perm)
    cpus = int(ray.cluster_resources().get("CPU", 1))  # of the whole cluster, not of this machine
    tasks = _tasks(files, cpus)
    outcome = Outcome()
    if not tasks:
        return outcome
    rows = ray.data.from_items(tasks, override_num_blocks=len(tasks)).map_batches(
        _map_task, fn_kwargs={"max_bytes": max_bytes, "retrieved_at": retrieved_at, "params": params, "ranges": ranges},
        batch_size=1, batch_format="pyarrow").materialize()
    # pieces of the keys' shuffle from the articles' count, so that each is large
    keys = rows.count() * KEYS_PER_ARTICLE * GRAPH_ROW_BYTES
    starts = np.array([int(t["first"]) << SEQ_BITS for t in tasks], np.int64)  # decisions in ranges of whole map tasks
    resolved = resolve_in_cluster(rows.to_arrow_refs(), shuffle_keys, starts, pieces_for(keys, max(2, 2 * cpus)))
    outcome.exact, outcome.near = resolved.exact, resolved.near
    outcome.collisions = {**resolved.counts, "rounds": resolved.rounds}
    bounds = resolved.bounds
    lookup = {"bounds": bounds, "pieces": resolved.pieces}

    others = rows if parts is None else rows.map_batches(_without_articles, batch_format="pyarrow", batch_size=None)
    if parts is None:
        others = others.map_batches(_marked_rows, fn_kwargs=lookup, batch_format="pyarrow", batch_size=None)
    for batch in others.iter_batches(batch_format="pyarrow", batch_size=None):
        for detail in batch.filter(pc.equal(batch["_row"], STATS_ROW))["detail"].to_pylist():
            outcome.skipped.update(json.loads(detail))
        here = batch.filter(pc.equal(batch["_row"], NODE_ROW))
        for node, read in zip(here["detail"].to_pylist(), here["reason"].to_pylist()):
            outcome.file_nodes[node] = outcome.file_nodes.get(node, 0) + int(read)
        rej = batch.filter(pc.equal(batch["_row"], REJECT_ROW))
        if rej.num_rows:
            write_reject(pa.RecordBatch.from_arrays([rej[n].combine_chunks() for n in REJECT.names], schema=REJECT))
        arts = batch.filter(pc.equal(batch["_row"], ARTICLE_ROW))
        if arts.num_rows:
            write_article(pa.RecordBatch.from_arrays([arts[n].combine_chunks() for n in ARTICLE.names], schema=ARTICLE))
    if parts is not None:
        folder, rows_per_file = parts
        # an article's place in the whole output: the articles of the files before its own, plus its place in its file
        per_file = np.zeros(len(files) + 1, np.int64)
        for t in rows.map_batches(_articles_per_file, batch_format="pyarrow", batch_size=None).iter_batches(
                batch_format="pyarrow", batch_size=None):
            np.add.at(per_file, t["file"].to_numpy() + 1, t["n"].to_numpy())
        first_of_file = np.cumsum(per_file)
        written = (rows.map_batches(_final_articles, fn_kwargs={**lookup, "first_of_file": first_of_file,
                                                                 "rows_per_file": rows_per_file}, batch_format="pyarrow", batch_size=None)
                   .groupby("_part").map_groups(_write_part, fn_kwargs={"folder": str(folder), "rows_per_file": rows_per_file},
                                                batch_format="pyarrow"))
        for t in written.iter_batches(batch_format="pyarrow", batch_size=None):
            outcome.parts += t.num_rows
            outcome.main += sum(t["main"].to_pylist())
            outcome.related += sum(t["related"].to_pylist())
            outcome.part_nodes.update(zip(t["part"].to_pylist(), t["node"].to_pylist()))
    outcome.file_nodes = dict(sorted(outcome.file_nodes.items()))
    return outcome


@dataclass
class Outcome:
    """What a run found: duplicates, archive records that are not inputs, and (parts written by
    the workers) the part files and articles by relation they wrote."""

    exact: int = 0
    near: int = 0
    skipped: Counter = field(default_factory=Counter)
    parts: int = 0
    main: int = 0
    related: int = 0
    file_nodes: dict[str, int] = field(default_factory=dict)  # node id -> input files its workers read
    part_nodes: dict[int, str] = field(default_factory=dict)  # part number -> the node whose worker wrote it
    collisions: dict[str, int] = field(default_factory=dict)  # the collision graph: rows, pieces, ranges, rounds


def _without_articles(batch: pa.Table) -> pa.Table:
    return batch.filter(pc.not_equal(batch["_row"], ARTICLE_ROW))


def _articles_per_file(batch: pa.Table) -> pa.Table:
    orders = batch.filter(pc.equal(batch["_row"], ARTICLE_ROW))["_order"].to_numpy()
    file, n = np.unique(orders >> SEQ_BITS, return_counts=True)
    return pa.table({"file": file.astype(np.int64), "n": n.astype(np.int64)})


def _marked_rows(batch: pa.Table, bounds: np.ndarray, pieces: list[list]) -> pa.Table:
    """A block of the map's output with its articles marked (ids, parents, duplicates), other rows as they are."""
    is_art = pc.equal(batch["_row"], ARTICLE_ROW)
    arts = batch.filter(is_art)
    if not arts.num_rows:
        return batch
    done = pa.Table.from_batches([marked(arts, decisions_for(arts["_order"].to_numpy(), bounds, pieces))])
    for name in ARTICLE.names:
        arts = arts.set_column(arts.schema.get_field_index(name), name, done[name].cast(ROW.field(name).type))
    # the driver takes articles and rejects apart, each kind in order: their mix within a block does not matter
    return pa.concat_tables([arts, batch.filter(pc.invert(is_art))])


def _final_articles(batch: pa.Table, bounds: np.ndarray, pieces: list[list], first_of_file: np.ndarray,
                    rows_per_file: int) -> pa.Table:
    """The articles of a block, marked, with their order and the part file they belong to."""
    arts = batch.filter(pc.equal(batch["_row"], ARTICLE_ROW))
    orders = arts["_order"].to_numpy()
    place = first_of_file[orders >> SEQ_BITS] + (orders & ((1 << SEQ_BITS) - 1))
    marked_ = (pa.Table.from_batches([marked(arts, decisions_for(orders, bounds, pieces))]) if arts.num_rows
               else ARTICLE.empty_table())
    return marked_.append_column("_order", pa.array(orders, pa.int64())).append_column(
        "_part", pa.array(place // rows_per_file, pa.int64()))


def _write_part(group: pa.Table, folder: str, rows_per_file: int) -> pa.Table:
    """One part file from all of its rows (a group of the shuffle), in input order."""
    part = group["_part"][0].as_py()
    group = group.sort_by("_order")
    write_part(group.select(ARTICLE.names), join(folder, part_name(part)), ARTICLE, rows_per_file)
    relations = Counter(group["relation"].to_pylist())
    return pa.table({"part": [part], "main": [relations["main"]], "related": [relations["related"]], "node": [_node()]})


def _map_task(batch: pa.Table, max_bytes: int, retrieved_at: datetime | None, params: Params,
              ranges: list[tuple[int, int]]) -> pa.Table:
    (task,) = batch.to_pylist()
    rows = normalise_files(task, max_bytes, retrieved_at, params, ranges)
    here = _rows(NODE_ROW, int(task["first"]) << SEQ_BITS, 1, detail=pa.array([_node()]),
                 reason=pa.array([str(len(task["paths"]))]))
    return pa.concat_tables([rows, here])


def _node() -> str:
    import ray

    return ray.get_runtime_context().get_node_id()
