"""Readers: INPUT paths -> a stream of RAW_INPUT record batches (one row per page or record).

Readers only find, read and split inputs; they never interpret article text (that is the pure
normaliser in `core.py`). Problems a reader sees (too large, unreadable gzip, bad JSON line) travel
as the row's `error`, so that every input reaches the rejects table with its reason.
"""

from __future__ import annotations

import csv
import glob
import gzip
import io
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa

from ..schema import RAW_INPUT
from .text import sha256

TEXT_EXT = {".txt", ".text", ".dump"}
HTML_EXT = {".html", ".htm", ".xhtml"}
RECORD_EXT = {".jsonl", ".ndjson", ".json", ".parquet", ".csv", ".tsv"}
BATCH_ROWS = 64  # rows per raw batch: fixed, so outputs do not depend on the number of workers


class InputError(ValueError):
    """A user mistake in the INPUT arguments (nothing matches, a path does not exist)."""


@dataclass(frozen=True)
class Raw:
    source_path: str
    source_sha256: str
    position: int
    input_kind: str
    payload: bytes | None
    retrieved_at: datetime
    error: str | None = None


def expand_inputs(inputs: Iterable[str]) -> list[Path]:
    """Files, directories (recursively) and globs -> a sorted list of files without repeats."""
    files: set[Path] = set()
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            files.update(f for f in p.rglob("*") if f.is_file() and not f.name.startswith("."))
        elif p.is_file():
            files.add(p)
        elif any(ch in item for ch in "*?["):
            matched = [Path(m) for m in glob.glob(item, recursive=True)]
            files.update(f for f in matched if f.is_file())
            for d in (m for m in matched if m.is_dir()):
                files.update(f for f in d.rglob("*") if f.is_file() and not f.name.startswith("."))
            if not matched:
                raise InputError(f"{item}: no file matches this pattern")
        else:
            raise InputError(f"{item}: no such file or directory")
    return sorted(files, key=lambda f: f.as_posix())


def _display(path: Path) -> str:
    """The path as recorded in outputs: relative to the working directory when inside it, so that
    the same checkout gives the same bytes wherever it lives."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()


def kind_of(name: str, head: bytes) -> str:
    """text / html / records, from the extension (gzip's stripped) and then the first bytes."""
    suffix = Path(name[:-3] if name.endswith(".gz") else name).suffix.lower()
    if suffix in HTML_EXT:
        return "html"
    if suffix in RECORD_EXT:
        return "records"
    if suffix in TEXT_EXT:
        return "text"
    start = head.lstrip()[:512].lower()
    if start.startswith((b"<!doctype html", b"<html")) or b"<body" in start or b"<head" in start:
        return "html"
    if start.startswith((b"{", b"[")) or head.startswith(b"PAR1"):
        return "records"
    return "text"


def _record_rows(path: Path, shown: str, digest: str, data: bytes, retrieved_at: datetime) -> Iterator[Raw]:
    """One Raw per crawler record; a bad line or an unreadable file becomes a row with an error."""
    suffix = Path(path.name[:-3] if path.name.endswith(".gz") else path.name).suffix.lower()

    def row(pos: int, record=None, error: str | None = None) -> Raw:
        payload = None if record is None else json.dumps(record, ensure_ascii=False, default=str, sort_keys=True).encode()
        return Raw(shown, digest, pos, "records", payload, retrieved_at, error)

    if suffix == ".parquet" or data[:4] == b"PAR1":
        import pyarrow.parquet as pq

        try:
            pf = pq.ParquetFile(io.BytesIO(data))
            pos = 0
            for batch in pf.iter_batches(batch_size=1000):
                for record in batch.to_pylist():
                    yield row(pos, record)
                    pos += 1
        except (pa.ArrowException, OSError) as exc:
            yield row(0, error=f"parse error: not a readable Parquet file ({exc})")
        return
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        yield row(0, error=f"undecodable: records must be UTF-8 ({exc.reason} at byte {exc.start})")
        return
    if suffix in (".csv", ".tsv"):
        try:
            reader = csv.DictReader(io.StringIO(text, newline=""), delimiter="\t" if suffix == ".tsv" else ",")
            for pos, record in enumerate(reader):
                yield row(pos, dict(record))
        except csv.Error as exc:
            yield row(0, error=f"parse error: CSV ({exc})")
        return
    stripped = text.lstrip()
    if suffix == ".json" or (stripped.startswith("[") and suffix not in (".jsonl", ".ndjson")):
        try:
            value = json.loads(text)
        except ValueError as exc:
            yield row(0, error=f"parse error: JSON ({exc})")
            return
        records = value if isinstance(value, list) else [value]
        for pos, record in enumerate(records):
            yield row(pos, record) if isinstance(record, dict) else row(pos, error=f"parse error: record {pos} is not an object")
        return
    for pos, line in enumerate(text.splitlines()):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            yield row(pos, error=f"parse error: line {pos + 1} is not JSON ({exc.msg})")
            continue
        yield row(pos, record) if isinstance(record, dict) else row(pos, error=f"parse error: line {pos + 1} is not a JSON object")


STREAMED_RECORDS = {".jsonl", ".ndjson", ".csv", ".tsv", ".parquet"}


def _stream_records(path: Path, gz: bool, shown: str, digest: str, when: datetime, max_bytes: int) -> Iterator[Raw]:
    """Records of a JSONL / CSV / Parquet file, one at a time: a crawl of any size streams
    through; `max_bytes` applies to each record."""
    suffix = Path(path.name[:-3] if path.name.endswith(".gz") else path.name).suffix.lower()

    def row(pos: int, record=None, error: str | None = None) -> Raw:
        payload = None if record is None else json.dumps(record, ensure_ascii=False, default=str, sort_keys=True).encode()
        if payload is not None and len(payload) > max_bytes:
            payload, error = None, f"too large: record of {len(payload)} bytes (limit {max_bytes})"
        return Raw(shown, digest, pos, "records", payload, when, error)

    opener = (lambda: gzip.open(path, "rb")) if gz else (lambda: path.open("rb"))
    pos = 0
    try:
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            try:
                pf = pq.ParquetFile(path)
                for batch in pf.iter_batches(batch_size=1000):
                    for record in batch.to_pylist():
                        yield row(pos, record)
                        pos += 1
            except (pa.ArrowException, OSError) as exc:
                yield row(pos, error=f"parse error: not a readable Parquet file ({exc})")
            return
        with opener() as fh:
            if suffix in (".csv", ".tsv"):
                csv.field_size_limit(max(max_bytes, 131072))
                text = io.TextIOWrapper(fh, encoding="utf-8-sig", newline="")
                try:
                    for pos, record in enumerate(csv.DictReader(text, delimiter="\t" if suffix == ".tsv" else ",")):
                        yield row(pos, dict(record))
                except csv.Error as exc:
                    yield row(pos, error=f"parse error: CSV ({exc})")
                return
            for pos, line in enumerate(fh):
                if not line.strip():
                    continue
                if len(line) > max_bytes:
                    yield row(pos, error=f"too large: line {pos + 1} has {len(line)} bytes (limit {max_bytes})")
                    continue
                try:
                    record = json.loads(line)
                except UnicodeDecodeError as exc:
                    yield row(pos, error=f"undecodable: line {pos + 1} is not UTF-8 ({exc.reason})")
                    continue
                except ValueError as exc:
                    yield row(pos, error=f"parse error: line {pos + 1} is not JSON ({getattr(exc, 'msg', exc)})")
                    continue
                yield row(pos, record) if isinstance(record, dict) else row(pos, error=f"parse error: line {pos + 1} is not a JSON object")
    except UnicodeDecodeError as exc:
        yield row(pos, error=f"undecodable: records must be UTF-8 ({exc.reason})")
    except (OSError, EOFError) as exc:
        yield row(pos, error=f"undecodable: broken gzip or unreadable file ({exc})")


def read_inputs(files: list[Path], max_bytes: int, retrieved_at: datetime | None = None) -> Iterator[Raw]:
    """One Raw per page (text dump, HTML) or per crawler record, in file order."""
    for path in files:
        shown = _display(path)
        try:
            stat = path.stat()
            when = retrieved_at or datetime.fromtimestamp(int(stat.st_mtime), tz=timezone.utc)
            with path.open("rb") as fh:
                head = fh.read(8192)
        except OSError as exc:
            yield Raw(shown, sha256(shown), 0, "text", None, retrieved_at or datetime.now(timezone.utc).replace(microsecond=0),
                      f"undecodable: cannot read the file ({exc.strerror})")
            continue
        gz = path.name.endswith(".gz") or head[:2] == b"\x1f\x8b"
        if gz:
            try:
                with gzip.open(path, "rb") as fh:
                    head = fh.read(8192)
            except (OSError, EOFError) as exc:
                with path.open("rb") as fh:
                    digest = _hash_stream(fh)
                yield Raw(shown, digest, 0, kind_of(path.name, b""), None, when, f"undecodable: broken gzip ({exc})")
                continue
        kind = kind_of(path.name, head[:1024])
        suffix = Path(path.name[:-3] if path.name.endswith(".gz") else path.name).suffix.lower()
        if kind == "records" and (suffix in STREAMED_RECORDS or head[:4] == b"PAR1") and not (gz and suffix == ".parquet"):
            with path.open("rb") as fh:
                digest = _hash_stream(fh)
            if not head.strip():
                yield Raw(shown, digest, 0, kind, None, when, "empty: the records file has no content")
            elif head[:4] != b"PAR1" and b"\x00" in head:
                yield Raw(shown, digest, 0, kind, None, when, "binary: NUL bytes in a records file")
            else:
                yield from _stream_records(path, gz, shown, digest, when, max_bytes)
            continue
        # Pages (and JSON documents) are read whole, within the size limit.
        if stat.st_size > max_bytes:
            with path.open("rb") as fh:
                digest = _hash_stream(fh)
            yield Raw(shown, digest, 0, kind, None, when, f"too large: {stat.st_size} bytes (limit {max_bytes})")
            continue
        data = path.read_bytes()
        digest = sha256(data)
        if gz:
            try:
                data = gzip.decompress(data)
            except (OSError, EOFError) as exc:
                yield Raw(shown, digest, 0, kind, None, when, f"undecodable: broken gzip ({exc})")
                continue
            if len(data) > max_bytes:
                yield Raw(shown, digest, 0, kind, None, when, f"too large: {len(data)} bytes uncompressed (limit {max_bytes})")
                continue
        if kind != "records":
            yield Raw(shown, digest, 0, kind, data, when)
        elif not data.strip():
            yield Raw(shown, digest, 0, kind, None, when, "empty: the records file has no content")
        elif data[:4] != b"PAR1" and b"\x00" in data[:8192]:
            yield Raw(shown, digest, 0, kind, None, when, "binary: NUL bytes in a records file")
        else:
            yield from _record_rows(path, shown, digest, data, when)


def _hash_stream(fh) -> str:
    import hashlib

    h = hashlib.sha256()
    for chunk in iter(lambda: fh.read(1 << 20), b""):
        h.update(chunk)
    return h.hexdigest()


def batches(rows: Iterable[Raw], size: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
    """Group raw rows into RAW_INPUT record batches of a fixed number of rows."""
    buf: list[Raw] = []
    for r in rows:
        buf.append(r)
        if len(buf) == size:
            yield to_batch(buf)
            buf = []
    if buf:
        yield to_batch(buf)


def to_batch(rows: list[Raw]) -> pa.RecordBatch:
    cols = {name: [getattr(r, name) for r in rows] for name in RAW_INPUT.names}
    return pa.RecordBatch.from_pydict(cols, schema=RAW_INPUT)


def count_hint(files: list[Path]) -> int:
    """Total size in bytes, for the progress bar."""
    return sum(os.path.getsize(f) for f in files if f.exists())
