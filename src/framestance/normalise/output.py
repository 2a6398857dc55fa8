"""Where normalise's tables go: one parquet file, or, with `rows_per_file`, a folder of that name
holding part files of at most that many rows each (`articles.parquet/part-00000.parquet`, ...,
Spark's layout; pyarrow, `datasets` and the later stages read the folder as one table).

Rows keep input order across parts. Row groups have a fixed size and are written as one chunk
each, so a file's bytes depend on its rows only, whichever engine or process writes it: the
local engine streams rows through `TableWriter`, the ray engine's workers write whole parts with
`write_part`, and the two give the same bytes. Everything is written aside (a hidden name beside
the target) and moved into place by `commit`; `abort` leaves the target as it was.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import FramestanceError

ROW_GROUP = 10_000


class TooManyParts(FramestanceError, ValueError):
    """rows_per_file so small that the part files would outnumber MAX_PARTS."""


MAX_PARTS = 100_000  # part-00000 ... part-99999: names that sort in row order


def part_name(k: int) -> str:
    return f"part-{k:05d}.parquet"


def group_size(rows_per_file: int) -> int:
    """Rows per row group: ROW_GROUP, or a part's size where parts are smaller."""
    return min(ROW_GROUP, rows_per_file) if rows_per_file else ROW_GROUP


def _open(path: Path, schema: pa.Schema) -> pq.ParquetWriter:
    return pq.ParquetWriter(path, schema, compression="zstd", compression_level=3)


def write_part(table: pa.Table, path: Path, schema: pa.Schema, rows_per_file: int) -> None:
    """One whole part file (or the one file), with the row groups `TableWriter` gives it."""
    group = group_size(rows_per_file)
    writer = _open(path, schema)
    try:
        for start in range(0, table.num_rows, group):
            writer.write_table(table.slice(start, group).combine_chunks(), row_group_size=group)
    finally:
        writer.close()


def replace_path(source: Path, target: Path) -> None:
    """Move `source` (a file or a folder) to `target`, replacing what is there: a file by a file
    in one step; otherwise what is there is moved aside to a new hidden name first and removed
    after (a crash between the two moves leaves it there, under that name)."""
    folders = source.is_dir() or (target.is_dir() and not target.is_symlink())
    if not folders or not (target.exists() or target.is_symlink()):
        os.replace(source, target)
        return
    if target.is_dir() and not target.is_symlink():
        old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".old"))
    else:
        fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".old")
        os.close(fd)
        old = Path(name)
    os.replace(target, old)
    os.replace(source, target)
    if old.is_dir() and not old.is_symlink():
        shutil.rmtree(old)
    else:
        old.unlink()


class TableWriter:
    """Rows, in input order, into `path`: one parquet file, or (`rows_per_file` > 0) a folder of
    part files of `rows_per_file` rows, the last one shorter. An empty table is one file (or one
    part) with the schema and no rows."""

    def __init__(self, path: Path, schema: pa.Schema, rows_per_file: int = 0):
        self.path, self.schema, self.rows_per_file = path, schema, rows_per_file
        # a new name of its own beside the target (a killed run's leftovers are never reused)
        if rows_per_file:
            self.tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
            self.tmp.chmod(0o755)  # the modes a plain mkdir / open would give, not mkdtemp's owner-only ones
        else:
            fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            os.close(fd)
            self.tmp = Path(name)
            self.tmp.chmod(0o644)
        self.group = group_size(rows_per_file)
        self.writer: pq.ParquetWriter | None = None
        self.parts = 0  # part files opened
        self.in_part = 0  # rows in the open part
        self.buf: list[pa.RecordBatch] = []
        self.rows = 0  # rows buffered

    def _room(self) -> int:
        """Rows of the next row group: a full group, or what the open part has left."""
        return min(self.group, self.rows_per_file - self.in_part) if self.rows_per_file else self.group

    def _flush(self, n: int) -> None:
        if self.writer is None and self.parts == MAX_PARTS:
            raise TooManyParts(f"rows_per_file {self.rows_per_file}: more than {MAX_PARTS} part files (their names "
                             "would no longer sort in order); use a larger rows_per_file")
        if self.writer is None:
            self.writer = _open(self.tmp / part_name(self.parts) if self.rows_per_file else self.tmp, self.schema)
            self.parts += 1
        table = pa.Table.from_batches(self.buf, self.schema)
        if n:  # one chunk per row group: the file's pages depend on the rows, not on how they arrived
            self.writer.write_table(table.slice(0, n).combine_chunks(), row_group_size=self.group)
        rest = table.slice(n).combine_chunks()
        self.buf, self.rows = rest.to_batches(), rest.num_rows
        self.in_part += n
        if self.rows_per_file and self.in_part == self.rows_per_file:
            self.writer.close()
            self.writer, self.in_part = None, 0

    def write(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows:
            self.buf.append(batch)
            self.rows += batch.num_rows
        while self.rows and self.rows >= self._room():
            self._flush(self._room())

    def written_elsewhere(self, parts: int) -> None:
        """`parts` part files were written into `tmp` by other processes (the ray engine's workers):
        they must all be there, and nothing else, before the folder may replace the output."""
        found = sorted(p.name for p in self.tmp.iterdir())
        if found != [part_name(k) for k in range(parts)]:
            raise OSError(f"{self.tmp}: {len(found)} part files where the workers wrote {parts} (is the output "
                          "folder on a file system every node of the cluster writes to?)")
        self.parts += parts

    def close(self) -> None:
        if self.rows or self.parts == 0:
            self._flush(self.rows)
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def commit(self) -> None:
        replace_path(self.tmp, self.path)

    def abort(self) -> None:
        try:
            if self.writer is not None:
                self.writer.close()
        except Exception:
            pass
        if self.tmp.is_dir():
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            self.tmp.unlink(missing_ok=True)


__all__ = ["ROW_GROUP", "TooManyParts", "TableWriter", "part_name", "write_part", "group_size", "replace_path"]
