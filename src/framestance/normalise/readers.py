"""Readers: INPUT paths -> a stream of RAW_INPUT record batches (one row per page or record).

Readers only find, read and split inputs; they never interpret article text (that is the pure
normaliser in `core.py`). Every path found and every record read ends as exactly one row: a
problem a reader sees (an unreadable folder, a dangling link, too large, broken gzip, a bad JSON
line, a CSV row with broken quoting, a file with no records) travels as the row's `reason` and
one-line `error`, so that it reaches the rejects table. No reader failure escapes: one bad input
never stops the batch.

Memory is bounded by `max_bytes`: pages and JSON documents are read (and decompressed) up to
`max_bytes` and no further; JSONL, CSV and Parquet stream, with `max_bytes` per record.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import errno
import glob
import gzip
import io
import json
import os
import re
import shutil
import stat as stat_mod
import tempfile
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import pyarrow as pa

from ..errors import FramestanceError, one_line
from ..io import sha256_file
from ..schema import RAW_INPUT, RejectReason
from .remote import filesystem
from .text import sha256

TEXT_EXT = {".txt", ".text", ".dump"}
HTML_EXT = {".html", ".htm", ".xhtml"}
RECORD_EXT = {".jsonl", ".ndjson", ".json", ".parquet", ".csv", ".tsv"}
WARC_EXT = {".warc", ".arc"}
STREAMED_RECORDS = {".jsonl", ".ndjson", ".csv", ".tsv", ".parquet"}
BATCH_ROWS = 64  # rows per raw batch: fixed, so outputs do not depend on the number of workers
SKIP_LIMIT_FACTOR = 8  # a record line up to 8x max_bytes is skipped; a longer one ends its file
PARQUET_BATCH_BYTES = 64 << 20  # rows of a Parquet file are read in batches of about this size
# Failures a gzip stream can raise anywhere while it is read (corrupt deflate data is zlib.error).
GZIP_ERRORS = (OSError, EOFError, zlib.error)
# Byte-order marks, longest first (UTF-32 LE starts with UTF-16 LE's mark).
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)

R = RejectReason
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL_CHARS = re.compile("[\x00-\x1f\x7f]")


class InputError(FramestanceError, ValueError):
    """A user mistake in the INPUT arguments (nothing matches, a path does not exist)."""


@dataclass(frozen=True)
class Found:
    """A path met while expanding INPUTs: a file to read, or one that cannot be (`problem`)."""

    path: Path
    problem: str | None = None
    uri: str | None = None  # a file of a pyarrow file system (s3://, gs://, hdfs://, file://): copied, then read


@dataclass(frozen=True)
class Raw:
    source_path: str
    source_sha256: str
    position: int
    input_kind: str
    payload: bytes | None
    retrieved_at: datetime
    error: str | None = None
    reason: str | None = None


class _Reject(Exception):
    """Raised inside a reader: this input (or the rest of this file) is a reject."""

    def __init__(self, reason: RejectReason, detail: str):
        super().__init__(detail)
        self.reason, self.detail = reason, detail


# ---------------------------------------------------------------------------------------------
# finding inputs


def _link_problem(path: Path) -> str:
    """Why a path that is neither a file nor a folder cannot be read."""
    try:
        st = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "unreadable: symbolic link loop"
        if exc.errno == errno.ENOENT and os.path.islink(path):
            return f"unreadable: dangling symbolic link (to {os.readlink(path)!s})"
        return f"unreadable: {exc.strerror or exc}"
    mode = st.st_mode
    what = ("a FIFO" if stat_mod.S_ISFIFO(mode) else "a socket" if stat_mod.S_ISSOCK(mode)
            else "a device" if stat_mod.S_ISCHR(mode) or stat_mod.S_ISBLK(mode) else "not a regular file")
    return f"unreadable: {what}, not a regular file"


def _walk(folder: Path, found: dict[str, Found], ancestors: frozenset[tuple[int, int]]) -> None:
    """Files under `folder`, following links to folders; loops, dangling links, special files and
    folders that cannot be listed are recorded as problems. Hidden entries are skipped."""
    try:
        st = os.stat(folder)
        key = (st.st_dev, st.st_ino)
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as exc:
        found[_key(folder)] = Found(folder, f"unreadable: cannot list the folder ({exc.strerror or exc})")
        return
    inner = ancestors | {key}
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = Path(entry.path)
        try:
            if entry.is_dir():
                sub = os.stat(path)
                if (sub.st_dev, sub.st_ino) in inner:
                    found[_key(path)] = Found(path, "unreadable: symbolic link loop (links back to a folder above it)")
                else:
                    _walk(path, found, inner)
            elif entry.is_file():
                found[_key(path)] = Found(path)
            else:
                found[_key(path)] = Found(path, _link_problem(path))
        except OSError:
            found[_key(path)] = Found(path, _link_problem(path))


def _key(path: Path) -> str:
    """The same path however it was written ("a/../a/x.txt", absolute or relative) is one input;
    a link is a path of its own (its article is then marked as the target's duplicate)."""
    return os.path.normpath(os.path.abspath(path))


def expand_inputs(inputs: Iterable[str]) -> list[Found]:
    """Files, directories (recursively) and globs -> every path found, sorted, without repeats.

    A path that cannot be read is kept with its problem, never dropped."""
    found: dict[str, Found] = {}
    for item in inputs:
        p = Path(item)
        if URI.match(item):
            _remote(item, found)
        elif p.is_dir():
            _walk(p, found, frozenset())
        elif p.is_file():
            found[_key(p)] = Found(p)
        elif os.path.lexists(p):
            found[_key(p)] = Found(p, _link_problem(p))
        elif any(ch in item for ch in "*?["):
            matched = sorted(glob.glob(item, recursive=True))
            if not matched:
                raise InputError(f"{item}: no file matches this pattern")
            for m in map(Path, matched):
                if m.is_dir():
                    _walk(m, found, frozenset())
                elif m.is_file():
                    found[_key(m)] = Found(m)
                else:
                    found[_key(m)] = Found(m, _link_problem(m))
        else:
            raise InputError(f"{item}: no such file or directory")
    return [found[k] for k in sorted(found)]


URI = re.compile(r"^[a-z][a-z0-9+.-]*://", re.I)


def _remote(uri: str, found: dict[str, Found]) -> None:
    """The files of a pyarrow file system under `uri` (a file, or a folder walked recursively)."""
    import pyarrow.fs as pafs

    try:
        fs, root = filesystem(uri)
        info = fs.get_file_info(root)
        if info.type == pafs.FileType.NotFound:
            raise InputError(f"{uri}: no such file or directory")
        infos = fs.get_file_info(pafs.FileSelector(root, recursive=True)) if info.type == pafs.FileType.Directory else [info]
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"{uri}: cannot list it ({one_line(exc)})") from None
    scheme = uri.split("://", 1)[0]
    for i in infos:
        if i.type == pafs.FileType.File and not any(part.startswith(".") for part in i.path.split("/")):
            found[f"{scheme}://{i.path}"] = Found(Path(i.path), uri=f"{scheme}://{i.path}")


@contextlib.contextmanager
def _local_copy(uri: str) -> Iterator[Path]:
    """A temporary local copy of a file of a pyarrow file system, with its modification time."""
    fs, path = filesystem(uri)
    info = fs.get_file_info(path)
    with tempfile.TemporaryDirectory(prefix="framestance-") as tmp:
        local = Path(tmp) / Path(path).name
        with fs.open_input_stream(path, compression=None) as src, open(local, "wb") as dst:  # bytes as stored
            shutil.copyfileobj(src, dst, 1 << 20)
        if info.mtime is not None:
            os.utime(local, (info.mtime.timestamp(), info.mtime.timestamp()))
        yield local


def display_path(path: Path) -> str:
    """The path as recorded in outputs: relative to the working directory when inside it, so that
    the same checkout gives the same bytes wherever it lives. Bytes of a file name that are not
    UTF-8, and control characters, are shown as \\x escapes (the name stays readable, on one line,
    and the output valid UTF-8)."""
    absolute = Path(os.path.normpath(path.absolute()))
    try:
        shown = absolute.relative_to(Path.cwd()).as_posix()
    except ValueError:
        shown = absolute.as_posix()
    shown = os.fsencode(shown).decode("utf-8", "backslashreplace")
    # control characters (a newline in a name) would break the one-line reports: escaped too
    return _CONTROL_CHARS.sub(lambda m: f"\\x{ord(m.group()):02x}", shown)


def kind_of(name: str, head: bytes) -> str:
    """text / html / records, from the extension (gzip's stripped) and then the first bytes."""
    suffix = _suffix(name)
    if suffix in WARC_EXT:
        return "warc"
    if suffix in HTML_EXT:
        return "html"
    if suffix in RECORD_EXT:
        return "records"
    if suffix in TEXT_EXT:
        return "text"
    encoding = bom_encoding(head)
    if encoding and encoding != "utf-8-sig":
        head = head.decode(encoding, errors="ignore").encode("utf-8")
    start = head.lstrip().lstrip(codecs.BOM_UTF8).lstrip()[:512].lower()
    if start.startswith((b"<!doctype html", b"<html")) or b"<body" in start or b"<head" in start:
        return "html"
    if start.startswith((b"{", b"[")) or head.startswith(b"PAR1"):
        return "records"
    if head.startswith(b"WARC/"):
        return "warc"
    return "text"


def bom_encoding(head: bytes) -> str | None:
    """The codec named by a byte-order mark at the start, if any."""
    for bom, codec in BOMS:
        if head.startswith(bom):
            return codec
    return None


def _suffix(name: str) -> str:
    return Path(name[:-3] if name.lower().endswith(".gz") else name).suffix.lower()


# ---------------------------------------------------------------------------------------------
# records


def _dumps(record: Any) -> bytes:
    """A record as canonical JSON bytes; _Reject when it cannot be one."""
    try:
        text = json.dumps(record, ensure_ascii=False, default=str, sort_keys=True)
        # a lone surrogate (a JSON "\ud800" escape) is not text: U+FFFD, as a decoder would give
        return _LONE_SURROGATE.sub("\ufffd", text).encode("utf-8")
    except RecursionError:
        raise _Reject(R.PARSE_ERROR, "parse error: the record is nested too deeply") from None
    except (TypeError, ValueError, UnicodeError) as exc:
        raise _Reject(R.PARSE_ERROR, f"parse error: the record cannot be stored as JSON ({one_line(exc)})") from None


def _loads(text: str | bytes, what: str) -> Any:
    try:
        return json.loads(text)
    except RecursionError:
        raise _Reject(R.PARSE_ERROR, f"parse error: {what} is nested too deeply") from None
    except UnicodeDecodeError as exc:
        raise _Reject(R.UNDECODABLE, f"undecodable: {what} is not UTF-8 ({exc.reason})") from None
    except ValueError as exc:
        raise _Reject(R.PARSE_ERROR, f"parse error: {what} is not JSON ({getattr(exc, 'msg', None) or one_line(exc)})") from None



class _Records:
    """Rows of one records file: positions in order, every record or failure exactly one row."""

    def __init__(self, shown: str, digest: str, when: datetime, max_bytes: int):
        self.shown, self.digest, self.when, self.max_bytes = shown, digest, when, max_bytes
        self.count = 0
        self.next_pos = 0  # past the highest position given: where a failure after the last row goes

    def record(self, pos: int, record: Any) -> Raw:
        self.count += 1
        self.next_pos = max(self.next_pos, pos + 1)
        try:
            payload = _dumps(record)
        except _Reject as rej:
            return self.reject(pos, rej.reason, rej.detail, counted=True)
        if len(payload) > self.max_bytes:
            return self.reject(pos, R.TOO_LARGE, f"too large: record of {len(payload)} bytes (limit {self.max_bytes})", counted=True)
        return Raw(self.shown, self.digest, pos, "records", payload, self.when)

    def reject(self, pos: int, reason: RejectReason, detail: str, counted: bool = False) -> Raw:
        if not counted:
            self.count += 1
        self.next_pos = max(self.next_pos, pos + 1)
        return Raw(self.shown, self.digest, pos, "records", None, self.when, detail, reason.value)

    def empty(self) -> Iterator[Raw]:
        if not self.count:
            yield self.reject(0, R.EMPTY, "empty: the records file holds no records")


def _bounded_lines(fh: Any, limit: int) -> Iterator[Any]:
    """Lines of a binary or text stream, each at most `limit` long. A longer line is never held
    in memory: it is read through and given as a _Skipped marker when it ends within
    SKIP_LIMIT_FACTOR times the limit; beyond that, _LineTooLong (a line that long is a broken
    file or a bomb, not a record)."""
    newline = None
    while True:
        line = fh.readline(limit + 1)
        if not line:
            return
        newline = newline or ("\n" if isinstance(line, str) else b"\n")
        if len(line) > limit and not line.endswith(newline):
            size = len(line)
            while size <= SKIP_LIMIT_FACTOR * limit:
                more = fh.readline(1 << 20)
                size += len(more)
                if not more or more.endswith(newline):
                    break
            else:
                raise _LineTooLong(size)
            yield _Skipped(size)
            continue
        yield line


@dataclass(frozen=True)
class _Skipped:
    """A line longer than the limit, read through and not kept."""

    size: int


class _LineTooLong(Exception):
    pass


def _jsonl(fh: IO, rows: _Records) -> Iterator[Raw]:
    read = 0  # lines read so far: the index of a line that is too long
    try:
        for pos, line in enumerate(_bounded_lines(fh, rows.max_bytes)):
            read = pos + 1
            if isinstance(line, _Skipped):
                yield rows.reject(pos, R.TOO_LARGE, f"too large: line {pos + 1} has {line.size} bytes (limit {rows.max_bytes})")
                continue
            if not line.strip():
                continue
            try:
                record = _loads(line, f"line {pos + 1}")
            except _Reject as rej:
                yield rows.reject(pos, rej.reason, rej.detail)
                continue
            if isinstance(record, dict):
                yield rows.record(pos, record)
            else:
                yield rows.reject(pos, R.PARSE_ERROR, f"parse error: line {pos + 1} is not a JSON object")
    except _LineTooLong:
        yield rows.reject(read, R.TOO_LARGE, f"too large: line {read + 1} is longer than the limit of {rows.max_bytes} bytes; the rest of the file is skipped")


def _csv(text: IO[str], delimiter: str, rows: _Records) -> Iterator[Raw]:
    """CSV/TSV records, checked: a row whose field count differs from the header's (broken
    quoting, a stray delimiter) is rejected, not turned into a record; strict quoting."""

    in_record = [0]  # characters read since the last row the reader returned

    def lines() -> Iterator[str]:
        for line in _bounded_lines(text, rows.max_bytes):
            if isinstance(line, _Skipped):  # a CSV record may span lines: no resuming inside one
                raise _LineTooLong(line.size)
            in_record[0] += len(line)
            if in_record[0] > rows.max_bytes:  # quoted newlines: one record over many lines
                raise _LineTooLong(in_record[0])
            yield line

    csv.field_size_limit(max(rows.max_bytes, 131072))
    reader = csv.reader(lines(), delimiter=delimiter, strict=True)
    header: list[str] | None = None
    pos = 0
    while True:
        in_record[0] = 0
        try:
            fields = next(reader)
        except StopIteration:
            return
        except _LineTooLong:
            yield rows.reject(pos, R.TOO_LARGE, f"too large: the record at line {reader.line_num + 1} is longer than the limit of {rows.max_bytes} characters; the rest of the file is skipped")
            return
        except csv.Error as exc:
            if header is None:
                yield rows.reject(pos, R.PARSE_ERROR, f"parse error: CSV header ({one_line(exc)})")
                return
            yield rows.reject(pos, R.PARSE_ERROR, f"parse error: CSV row {pos + 1} near line {reader.line_num} ({one_line(exc)})")
            pos += 1
            continue
        if not fields or fields == [""] and header is not None:
            continue  # a blank line
        if header is None:
            header = fields
            if len(set(header)) != len(header):
                dup = sorted({h for h in header if header.count(h) > 1})[0]
                yield rows.reject(pos, R.PARSE_ERROR, f"parse error: CSV header names column {dup!r} twice")
                return
            continue
        if len(fields) != len(header):
            yield rows.reject(pos, R.PARSE_ERROR, f"parse error: CSV row {pos + 1} (line {reader.line_num}) has {len(fields)} fields, the header {len(header)} (broken quoting?)")
        else:
            yield rows.record(pos, dict(zip(header, fields)))
        pos += 1


def _parquet(source: Any, rows: _Records) -> Iterator[Raw]:
    import pyarrow.parquet as pq

    pos = 0
    try:
        pf = pq.ParquetFile(source)
        for g in range(pf.num_row_groups):
            meta = pf.metadata.row_group(g)
            per_row = meta.total_byte_size / max(meta.num_rows, 1)
            if per_row > rows.max_bytes:  # records too large to hold: counted without reading them
                for _ in range(meta.num_rows):
                    yield rows.reject(pos, R.TOO_LARGE, f"too large: record of about {int(per_row)} bytes (limit {rows.max_bytes})")
                    pos += 1
                continue
            size = max(1, min(1000, int(PARQUET_BATCH_BYTES // max(per_row, 1))))
            for batch in pf.iter_batches(batch_size=size, row_groups=[g]):
                for record in batch.to_pylist():
                    yield rows.record(pos, record)
                    pos += 1
    except (pa.ArrowException, OSError, ValueError, OverflowError, *GZIP_ERRORS) as exc:
        # (OverflowError: a timestamp Python cannot hold, such as milliseconds stored as seconds)
        yield rows.reject(pos, R.PARSE_ERROR, f"parse error: not a readable Parquet file ({one_line(exc)})")


def _json_document(data: bytes, encoding: str, rows: _Records) -> Iterator[Raw]:
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        yield rows.reject(0, R.UNDECODABLE, f"undecodable: records must be UTF-8, -16 or -32 ({exc.reason} at byte {exc.start})")
        return
    try:
        value = _loads(text, "the file")
    except _Reject as rej:
        yield rows.reject(0, rej.reason, rej.detail)
        return
    records = value if isinstance(value, list) else [value]
    for pos, record in enumerate(records):
        if isinstance(record, dict):
            yield rows.record(pos, record)
        else:
            yield rows.reject(pos, R.PARSE_ERROR, f"parse error: record {pos + 1} is not an object")


def _no_records(head: bytes, encoding: str) -> tuple[RejectReason, str] | None:
    """Why a records file cannot hold records, from its first bytes: empty, or binary (NUL bytes
    where no byte-order mark announces UTF-16/32)."""
    if not head.lstrip(codecs.BOM_UTF8).strip():
        return R.EMPTY, "empty: the records file has no content"
    if head[:4] != b"PAR1" and encoding == "utf-8-sig" and b"\x00" in head[:8192]:
        return R.BINARY, "binary: NUL bytes in a records file"
    return None


def _records(path: Path, gz: bool, head: bytes, rows: _Records) -> Iterator[Raw]:
    """Every record of a records file, streamed where the format allows."""
    suffix = _suffix(path.name)
    encoding = bom_encoding(head) or "utf-8-sig"
    problem = _no_records(head, encoding)
    if problem:
        yield rows.reject(0, *problem)
        return
    with (gzip.open(path, "rb") if gz else path.open("rb")) as fh:
        if suffix == ".parquet" or head[:4] == b"PAR1":
            source: Any = fh  # a file object: pyarrow cannot open a path that is not UTF-8
            if gz:  # Parquet needs random access: decompress, within the limit
                data = _read_bounded(fh, rows.max_bytes)
                if data is None:
                    yield rows.reject(0, R.TOO_LARGE, f"too large: more than {rows.max_bytes} bytes uncompressed (limit {rows.max_bytes})")
                    return
                source = io.BytesIO(data)
            yield from _parquet(source, rows)
        elif suffix in (".csv", ".tsv"):
            text = io.TextIOWrapper(fh, encoding=encoding, newline="")
            yield from _csv(text, "\t" if suffix == ".tsv" else ",", rows)
        else:
            yield from _jsonl(_text_lines(fh, encoding, head), rows)


def _text_lines(fh: Any, encoding: str, head: bytes) -> Any:
    """The stream JSONL lines are read from: bytes for UTF-8 (its BOM skipped), else text."""
    if encoding != "utf-8-sig":
        return io.TextIOWrapper(fh, encoding=encoding, newline="")
    if head.startswith(codecs.BOM_UTF8):
        fh.read(len(codecs.BOM_UTF8))
    return fh


def _is_json_document(suffix: str, data: bytes, encoding: str) -> bool:
    """A .json file, or a file whose text starts with "[", is one JSON document; else JSONL."""
    if suffix == ".json":
        return True
    return data[:64].decode(encoding, errors="ignore").lstrip().startswith("[")


# ---------------------------------------------------------------------------------------------
# WARC / ARC


def _charset(content_type: str) -> str | None:
    for part in content_type.split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset":
            name = value.strip().strip("\"'").lower()
            try:
                info = codecs.lookup(name)
            except LookupError:
                return None
            return info.name if getattr(info, "_is_text_encoding", True) else None  # not base64, zlib, ...
    return None


def _warc(path: Path, shown: str, digest: str, when: datetime, max_bytes: int, skipped: Counter) -> Iterator[Raw]:
    """Each HTTP response with an HTML body is one input of the HTML path: {url from
    WARC-Target-URI, html decoded by the HTTP charset, date_download from WARC-Date}. Other
    records (requests, metadata, non-HTML, non-200) are counted in `skipped`, by why. A record
    that cannot be read (truncated, corrupt) is a reject; reading goes on where it can."""
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    def reject(pos: int, reason: RejectReason, detail: str) -> Raw:
        return Raw(shown, digest, pos, "warc", None, when, detail, reason.value)

    pos = -1
    size = path.stat().st_size
    with path.open("rb") as fh:
        archive = ArchiveIterator(fh, arc2warc=True)
        records = iter(archive)
        while True:
            pos += 1
            try:
                record = next(records)
            except StopIteration:
                if pos == 0:
                    yield reject(0, R.EMPTY, "empty: the archive holds no records")
                    return
                # warcio stops quietly at a record cut short: bytes after the last whole record are one
                end = (archive.get_record_offset() or 0) + (archive.get_record_length() or 0)
                fh.seek(end)
                if fh.read(1024).strip():  # (a record's trailing CRLFs are not part of its length)
                    yield reject(pos, R.UNDECODABLE, f"undecodable: WARC record {pos + 1} is truncated "
                                                     f"({size - end} bytes at the end of the file cannot be read)")
                return
            except (ArchiveLoadFailed, *GZIP_ERRORS, ValueError) as exc:
                yield reject(pos, R.UNDECODABLE, f"undecodable: WARC record {pos + 1} cannot be read ({one_line(exc)}); the rest of the file is skipped")
                return
            try:
                kind = record.rec_type
                if kind != "response":
                    skipped[f"warc {kind} records"] += 1
                    continue
                http = record.http_headers
                status = http.get_statuscode() if http is not None else None
                ctype = (http.get_header("Content-Type") or "") if http is not None else ""
                if status != "200":
                    skipped[f"warc responses with status {status or 'unknown'}"] += 1
                    continue
                if "html" not in ctype.lower():
                    skipped["warc responses that are not HTML"] += 1
                    continue
                body = record.content_stream().read(max_bytes + 1)
                if len(body) > max_bytes:
                    yield reject(pos, R.TOO_LARGE, f"too large: WARC record {pos + 1} has more than {max_bytes} bytes of body (limit {max_bytes})")
                    continue
                html = body.decode(_charset(ctype) or "utf-8", errors="replace")
                payload = _dumps({"url": record.rec_headers.get_header("WARC-Target-URI"), "html": html,
                                  "date_download": record.rec_headers.get_header("WARC-Date")})
                yield Raw(shown, digest, pos, "warc", payload, when)
            except (ArchiveLoadFailed, *GZIP_ERRORS, ValueError, _Reject) as exc:
                yield reject(pos, R.UNDECODABLE, f"undecodable: WARC record {pos + 1} is truncated or corrupt ({one_line(exc)})")


# ---------------------------------------------------------------------------------------------
# reading


def _read_bounded(fh: Any, limit: int) -> bytes | None:
    """At most `limit` bytes of a stream; None when it holds more (never reads past limit + 1)."""
    data = fh.read(limit + 1)
    return None if len(data) > limit else data


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def read_inputs(found: list[Found], max_bytes: int, retrieved_at: datetime | None = None,
                skipped: Counter | None = None) -> Iterator[Raw]:
    """One Raw per page (text dump, HTML), per crawler record or per WARC response, in path order;
    one reject row for each path that cannot be read. Never raises for a bad input. WARC records
    that are not inputs (requests, metadata, non-HTML, non-200) are counted in `skipped`."""
    skipped = Counter() if skipped is None else skipped
    for item in found:
        shown = item.uri or display_path(item.path)
        if item.problem:
            yield Raw(shown, sha256(shown), 0, "text", None, retrieved_at or _now(), item.problem, R.UNREADABLE.value)
            continue
        try:
            if item.uri:
                with _local_copy(item.uri) as local:
                    yield from _read_file(local, item.uri, max_bytes, retrieved_at, skipped)
            else:
                yield from _read_file(item.path, shown, max_bytes, retrieved_at, skipped)
        except OSError as exc:  # vanished or became unreadable while being read
            yield Raw(shown, sha256(shown), 0, kind_of(item.path.name, b""), None, retrieved_at or _now(),
                      f"unreadable: cannot read the file ({exc.strerror or one_line(exc)})", R.UNREADABLE.value)


def _read_file(path: Path, shown: str, max_bytes: int, retrieved_at: datetime | None, skipped: Counter) -> Iterator[Raw]:
    st = path.stat()
    when = retrieved_at or datetime.fromtimestamp(int(st.st_mtime), tz=UTC)
    with path.open("rb") as fh:
        head = fh.read(8192)
    gz = path.name.lower().endswith(".gz") or head[:2] == b"\x1f\x8b"

    def reject(digest: str, kind: str, reason: RejectReason, detail: str) -> Raw:
        return Raw(shown, digest, 0, kind, None, when, detail, reason.value)

    if _suffix(path.name) in WARC_EXT or head.startswith(b"WARC/"):  # warcio reads its gzip members itself
        yield from _warc(path, shown, sha256_file(path), when, max_bytes, skipped)
        return
    if gz:
        try:
            with gzip.open(path, "rb") as zf:
                head = zf.read(8192)
        except GZIP_ERRORS as exc:
            yield reject(sha256_file(path), kind_of(path.name, b""), R.UNDECODABLE, f"undecodable: broken gzip ({one_line(exc)})")
            return
    kind = kind_of(path.name, head[:1024])
    suffix = _suffix(path.name)
    if kind == "warc":  # a gzipped WARC without the extension
        yield from _warc(path, shown, sha256_file(path), when, max_bytes, skipped)
        return
    if kind == "records" and (suffix in STREAMED_RECORDS or head[:4] == b"PAR1"):
        digest = sha256_file(path)
        rows = _Records(shown, digest, when, max_bytes)
        try:
            yield from _records(path, gz, head, rows)
        except GZIP_ERRORS as exc:
            yield rows.reject(rows.next_pos, R.UNDECODABLE, f"undecodable: broken gzip or unreadable file after {rows.count} records ({one_line(exc)})")
        except UnicodeDecodeError as exc:
            yield rows.reject(rows.next_pos, R.UNDECODABLE, f"undecodable: not {exc.encoding.upper()} after {rows.count} records ({exc.reason})")
        yield from rows.empty()
        return
    # Pages and JSON documents are read whole, within the size limit (expanded size for gzip).
    if st.st_size > max_bytes:
        yield reject(sha256_file(path), kind, R.TOO_LARGE, f"too large: {st.st_size} bytes (limit {max_bytes})")
        return
    data = path.read_bytes()
    digest = sha256(data)
    if gz:
        try:
            expanded = _read_bounded(gzip.GzipFile(fileobj=io.BytesIO(data)), max_bytes)
        except GZIP_ERRORS as exc:
            yield reject(digest, kind, R.UNDECODABLE, f"undecodable: broken gzip ({one_line(exc)})")
            return
        if expanded is None:
            yield reject(digest, kind, R.TOO_LARGE, f"too large: more than {max_bytes} bytes uncompressed (limit {max_bytes})")
            return
        data = expanded
    if kind != "records":
        yield Raw(shown, digest, 0, kind, data, when)
        return
    rows = _Records(shown, digest, when, max_bytes)
    encoding = bom_encoding(data[:4]) or "utf-8-sig"
    problem = _no_records(data, encoding)
    if problem:
        yield rows.reject(0, *problem)
    elif _is_json_document(_suffix(path.name), data, encoding):
        yield from _json_document(data, encoding, rows)
        yield from rows.empty()
    else:
        yield from _jsonl(_text_lines(io.BytesIO(data), encoding, data[:4]), rows)
        yield from rows.empty()


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
