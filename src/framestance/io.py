"""File helpers every stage shares: write aside then rename, parquet tables, sha256 of files.

A reader never sees half a file: everything is written to a hidden temporary beside its target
and renamed over it (atomic on POSIX). Secrets are written owner-only from the start.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


def _aside(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def atomic_write(path: Path, data: bytes, mode: int = 0o644) -> Path:
    """Write `data` to `path` via a new temporary beside it (mkstemp: created exclusively, owner-only,
    never a stale file or a planted link), then give it `mode` and rename it over `path`. 0o600 for
    secrets: never readable by others, not even for a moment."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            os.fchmod(fh.fileno(), mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_table(table: pa.Table, path: Path) -> Path:
    """A parquet table (zstd), written aside then renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _aside(path)
    try:
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def sha256_bytes(data: str | bytes) -> str:
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def sha256_file(path: Path) -> str:
    """sha256 of a file's bytes, read in 1 MiB chunks (memory flat in file size)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


__all__ = ["atomic_write", "sha256_bytes", "sha256_file", "write_table"]


def slug(name: str) -> str:
    """A project's folder name (its snapshots and ledger live in `annotations/<slug>/`)."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "project"
