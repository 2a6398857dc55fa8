"""readers -> pure normaliser (in worker processes) -> dedup -> parquet writers.

Two engines run the same steps: `local` (a process pool on this machine and a streaming dedup
index, below) and `ray` (Ray Data, with duplicates found through its shuffle: ray_engine.py).
Everything streams in record batches: with the local engine memory does not grow with the corpus
except for the dedup index (about 1 KB per unique article). Results come back in input order and
are written by output.py's writers (one file per table, or folders of part files of
`rows_per_file` rows, which the ray engine's workers write themselves), so the parquet files
are byte-identical whatever the engine and `--workers` are.
"""

from __future__ import annotations

import json
import re
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from ..config import NormaliseConfig, override
from ..errors import FramestanceError, one_line
from ..schema import ARTICLE, REJECT
from .core import Params, normalise_batch
from .dedup import Deduplicator
from .output import OutputFolder, OutputUnwritable, TableWriter
from .readers import Found, batches, expand_inputs, read_inputs

ENGINES = ("local", "ray")
OUTPUTS = ("articles.parquet", "rejects.parquet", "summary.json")


class OutputExists(FramestanceError, FileExistsError):
    pass


class BadParams(FramestanceError, ValueError):
    pass


@dataclass
class Summary:
    inputs: int = 0
    inputs_with_article: int = 0
    rejected: int = 0
    articles: int = 0
    main: int = 0
    related: int = 0
    exact_duplicates: int = 0
    near_duplicates: int = 0
    unique: int = 0
    rejects_by_reason: dict = field(default_factory=dict)
    skipped: dict = field(default_factory=dict)  # records of archives that are not inputs (WARC requests, ...), by why
    # where the ray engine's work ran ({"files": node -> input files read, "parts": part -> node that wrote
    # it, "collisions": the collision graph's rows, pieces, ranges, rounds}); not in summary.json, which
    # both engines write alike
    placement: dict = field(default_factory=dict)

    def check(self) -> None:
        """The counts must add up; a failure here is a bug, never a user error."""
        assert self.inputs == self.inputs_with_article + self.rejected, self
        assert self.articles == self.main + self.related, self
        assert self.inputs_with_article == self.main, self
        assert self.articles == self.unique + self.exact_duplicates + self.near_duplicates, self
        assert self.rejected == sum(self.rejects_by_reason.values()), self


def _ordered(fn: Callable, items: Iterable, workers: int, args: tuple) -> Iterator:
    """fn(item, *args) over items, in order, with at most a few batches in flight per worker."""
    if workers <= 1:
        for item in items:
            yield fn(item, *args)
        return
    import multiprocessing as mp

    with mp.get_context("spawn").Pool(workers) as pool:
        pending: deque = deque()
        for item in items:
            pending.append(pool.apply_async(fn, (item, *args)))
            if len(pending) >= 4 * workers:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()


def normalise(
    inputs: list[str],
    out: Path | str,
    config: NormaliseConfig | None = None,
    *,
    workers: int = 1,
    address: str | None = None,
    force: bool = False,
    progress: Callable[[int, int], None] | None = None,
    on_reject: Callable[[dict], None] | None = None,
    **overrides: Any,
) -> Summary:
    """Normalise INPUTs into OUT/articles.parquet, OUT/rejects.parquet and OUT/summary.json.
    OUT: a folder here, or a URI of a pyarrow file system (s3://bucket/corpus; see remote.py).

    `config` (default: NormaliseConfig()) with `overrides`, fields of NormaliseConfig by name.
    `engine` (a config field): `local` (worker processes on this machine, a streaming duplicate
    index) or `ray` (Ray Data with `workers` CPUs, or the cluster at `address` or RAY_ADDRESS;
    duplicates through Ray's shuffle). Both give the same bytes."""
    try:
        cfg = override(config or NormaliseConfig(), **overrides)
    except TypeError as exc:
        raise BadParams(f"normalise: {exc}") from None
    min_words, max_bytes, engine = cfg.min_words, cfg.max_bytes, cfg.engine
    if engine not in ENGINES:
        raise BadParams(f"engine {engine!r}: use one of {', '.join(ENGINES)}")
    if engine == "ray":
        try:
            import ray.data  # noqa: F401
        except ImportError:
            raise BadParams("the ray engine needs Ray Data: pip install 'ray[data]' (or use --engine local)") from None
    near_dup_threshold, num_perm = cfg.near_dup_threshold, cfg.num_perm
    if not 0.0 < near_dup_threshold < 1.0:
        raise BadParams(f"near_dup_threshold {near_dup_threshold}: must be between 0 and 1")
    if num_perm < 16 or min_words < 1 or max_bytes < 1:
        raise BadParams("num_perm must be >= 16, min_words and max_bytes >= 1")
    try:
        params = Params(min_words=min_words, num_perm=num_perm, page_type_article_loss=cfg.page_type_article_loss)
    except ValueError as exc:
        raise BadParams(str(exc)) from None
    if cfg.rows_per_file < 0:
        raise BadParams(f"rows_per_file {cfg.rows_per_file}: must be 0 (one file per table) or more")
    try:
        Deduplicator(near_dup_threshold, num_perm)
    except ValueError as exc:
        raise BadParams(f"near_dup_threshold {near_dup_threshold} with num_perm {num_perm}: {exc}") from None
    if isinstance(out, Path) and re.match(r"^[A-Za-z][A-Za-z0-9+.-]+:/", str(out)):
        raise BadParams(f"{out}: a URI is given as a string, not a Path (a Path would be a local folder of that name)")
    if set(re.split(r"[/\\]", str(out).split("://", 1)[-1])) & set(OUTPUTS):
        raise BadParams(f"{out}: inside an output of normalise ({', '.join(OUTPUTS)}); give the folder that holds them")
    files = expand_inputs(inputs)
    folder = OutputFolder(out)
    folder.prepare()
    existing = folder.existing(OUTPUTS)
    if existing and not force:
        raise OutputExists(f"{out}: {', '.join(existing)} already exist (use --force to overwrite)")
    summary = Summary()
    reasons: Counter = Counter()
    skipped: Counter = Counter()
    writers: list[TableWriter] = []

    def write_articles(batch: pa.RecordBatch) -> None:
        art_w.write(batch)
        relations = Counter(batch.column("relation").to_pylist())
        summary.main += relations["main"]
        summary.related += relations["related"]

    def write_rejects(batch: pa.RecordBatch) -> None:
        rej_w.write(batch)
        summary.rejected += batch.num_rows
        for rej in batch.to_pylist():
            reasons[rej["reason"]] += 1
            if on_reject:
                on_reject(rej)

    try:  # both engines write and count through the same two functions
        art_w = TableWriter(folder.target("articles.parquet"), ARTICLE, cfg.rows_per_file)
        writers.append(art_w)
        rej_w = TableWriter(folder.target("rejects.parquet"), REJECT, cfg.rows_per_file)
        writers.append(rej_w)
        if engine == "ray":
            _on_ray(files, params, cfg, workers, address, summary, skipped, write_articles, write_rejects, art_w, progress)
        else:
            _on_local(files, params, cfg, workers, summary, skipped, write_articles, write_rejects, progress)
        for w in writers:
            w.close()
        summary.inputs_with_article = summary.main
        summary.articles = summary.main + summary.related
        summary.unique = summary.articles - summary.exact_duplicates - summary.near_duplicates
        summary.rejects_by_reason = dict(sorted(reasons.items()))
        summary.skipped = dict(sorted(skipped.items()))
        summary.check()
        for w in writers:
            w.ready()
    except BaseException:
        for w in writers:
            w.abort()
        raise
    try:
        folder.remove("summary.json")  # at a URI, where nothing moves in one step: a folder with summary.json is whole
        art_w.commit()
        rej_w.commit()
        folder.write_text("summary.json", json.dumps({k: v for k, v in asdict(summary).items() if k != "placement"},
                                                     indent=2) + "\n")
    except BaseException as exc:
        for w in writers:  # what was not moved into place is not left aside (a committed writer has nothing left)
            w.abort()
        if folder.remote is not None and isinstance(exc, OSError):  # objects are replaced one by one there
            raise OutputUnwritable(f"{out}: moving the new output into place failed ({one_line(exc)}); the folder "
                                   "holds part of it and no summary.json: run again with --force") from exc
        raise
    return summary


Writer = Callable[[pa.RecordBatch], None]


def _on_local(files: list[Found], params: Params, cfg: NormaliseConfig, workers: int, summary: Summary,
              skipped: Counter, write_articles: Writer, write_rejects: Writer,
              progress: Callable[[int, int], None] | None) -> None:
    """The local engine: worker processes normalise batches in order; one streaming duplicate index."""
    dedup = Deduplicator(cfg.near_dup_threshold, cfg.num_perm)
    files_seen = 0
    last_path = None
    raw = batches(read_inputs(files, cfg.max_bytes, cfg.retrieved_at, skipped))
    for raw_batch, result in _zip_inputs(raw, workers, params):
        summary.inputs += raw_batch.num_rows
        marked, exact, near = dedup.mark(result)
        write_articles(marked)
        write_rejects(result.rejects)
        summary.exact_duplicates += exact
        summary.near_duplicates += near
        for path in raw_batch.column("source_path").to_pylist():
            if path != last_path:
                files_seen, last_path = files_seen + 1, path
        if progress:
            progress(files_seen, len(files))


def _on_ray(files: list[Found], params: Params, cfg: NormaliseConfig, workers: int, address: str | None, summary: Summary,
            skipped: Counter, write_articles: Writer, write_rejects: Writer, art_w: TableWriter,
            progress: Callable[[int, int], None] | None) -> None:
    """The ray engine's run, counted into `summary` as the local loop counts."""
    from . import ray_engine

    # the workers write the articles, into an absolute path (theirs is not the driver's working directory) or a URI
    tmp = art_w.tmp if isinstance(art_w.tmp, str) else str(art_w.tmp.resolve())
    parts = (tmp, cfg.rows_per_file) if cfg.rows_per_file else None
    outcome = ray_engine.run(files, params, cfg.max_bytes, cfg.retrieved_at, cfg.near_dup_threshold,
                             workers, address, write_articles, write_rejects, parts)
    if parts:
        art_w.written_elsewhere(outcome.parts)
        summary.main, summary.related = outcome.main, outcome.related
    summary.exact_duplicates, summary.near_duplicates = outcome.exact, outcome.near
    summary.placement = {"files": outcome.file_nodes, "parts": dict(sorted(outcome.part_nodes.items())),
                         "collisions": outcome.collisions}
    summary.inputs = summary.main + summary.rejected  # every input is an article or a reject
    skipped.update(outcome.skipped)
    if progress:
        progress(len(files), len(files))


def _zip_inputs(raw: Iterator[pa.RecordBatch], workers: int, params: Params):
    """(raw batch, its result) pairs in input order; raw batches are kept only while in flight."""
    in_flight: deque = deque()

    def feed():
        for b in raw:
            in_flight.append(b.select(["source_path"]))
            yield b

    for result in _ordered(normalise_batch, feed(), workers, (params,)):
        yield in_flight.popleft(), result


__all__ = ["normalise", "Summary", "OutputExists", "BadParams", "Deduplicator"]
