"""Where normalise's tables go: one parquet file, or, with `rows_per_file`, a folder of that name
holding part files of at most that many rows each (`articles.parquet/part-00000.parquet`, ...,
Spark's layout; pyarrow, `datasets` and the later stages read the folder as one table).

Rows keep input order across parts. Row groups have a fixed size and are written as one chunk
each, so a file's bytes depend on its rows only, whichever engine or process writes it: the
local engine streams rows through `TableWriter`, the ray engine's workers write whole parts with
`write_part`, and the two give the same bytes. Everything is written aside (a hidden name beside
the target) and moved into place by `commit`; `abort` leaves the target as it was.

A target may also be a URI of a pyarrow file system (`s3://bucket/corpus/articles.parquet`):
the same bytes are written aside under a hidden name there. An object store has no rename, so
`commit` checks what was written, removes what was there and copies the new objects into place
(normalise removes summary.json first and writes it last: a folder with summary.json is whole).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from ..errors import FramestanceError
from .remote import filesystem, is_uri, join

ROW_GROUP = 10_000


class TooManyParts(FramestanceError, ValueError):
    """rows_per_file so small that the part files would outnumber MAX_PARTS."""


MAX_PARTS = 100_000  # part-00000 ... part-99999: names that sort in row order


def part_name(k: int) -> str:
    return f"part-{k:05d}.parquet"


def group_size(rows_per_file: int) -> int:
    """Rows per row group: ROW_GROUP, or a part's size where parts are smaller."""
    return min(ROW_GROUP, rows_per_file) if rows_per_file else ROW_GROUP


def _open(path: Path | str, schema: pa.Schema) -> pq.ParquetWriter:
    if is_uri(path):
        fs, inside = filesystem(str(path))
        return pq.ParquetWriter(inside, schema, filesystem=fs, compression="zstd", compression_level=3)
    return pq.ParquetWriter(path, schema, compression="zstd", compression_level=3)


def write_part(table: pa.Table, path: Path | str, schema: pa.Schema, rows_per_file: int) -> None:
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

    def __init__(self, path: Path | str, schema: pa.Schema, rows_per_file: int = 0):
        self.path, self.schema, self.rows_per_file = path, schema, rows_per_file
        # a new name of its own beside the target (a killed run's leftovers are never reused)
        self.remote = RemoteTarget(str(path)) if is_uri(path) else None
        self.tmp: Path | str
        if self.remote:
            self.tmp = self.remote.aside()
        elif rows_per_file:
            local = Path(path)
            self.tmp = Path(tempfile.mkdtemp(dir=local.parent, prefix=f".{local.name}.", suffix=".tmp"))
            self.tmp.chmod(0o755)  # the modes a plain mkdir / open would give, not mkdtemp's owner-only ones
        else:
            local = Path(path)
            fd, name = tempfile.mkstemp(dir=local.parent, prefix=f".{local.name}.", suffix=".tmp")
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
            self.writer = _open(self._in_tmp(part_name(self.parts)) if self.rows_per_file else self.tmp, self.schema)
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

    def _in_tmp(self, name: str) -> Path | str:
        return join(str(self.tmp), name) if self.remote else Path(self.tmp) / name

    def written_elsewhere(self, parts: int) -> None:
        """`parts` part files were written into `tmp` by other processes (the ray engine's workers):
        they must all be there, and nothing else, before the folder may replace the output."""
        found = self.remote.names(str(self.tmp)) if self.remote else sorted(p.name for p in Path(self.tmp).iterdir())
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

    def ready(self) -> None:
        """Everything written is there, before anything at the target is touched (at a URI, where
        the target is replaced object by object: the check a rename makes unnecessary here)."""
        if self.remote:
            self.remote.check_written(str(self.tmp), self.parts if self.rows_per_file else 0)

    def commit(self) -> None:
        if self.remote:
            self.remote.replace(str(self.tmp), self.parts if self.rows_per_file else 0)
        else:
            replace_path(Path(self.tmp), Path(self.path))

    def abort(self) -> None:
        try:
            if self.writer is not None:
                self.writer.close()
        except Exception:
            pass
        if self.remote:
            self.remote.remove(str(self.tmp))
            return
        self.tmp = Path(self.tmp)
        if self.tmp.is_dir():
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            self.tmp.unlink(missing_ok=True)


class OutputUnwritable(FramestanceError, OSError):
    """The output's place cannot be reached or written to."""


class OutputFolder:
    """normalise's output folder: a path on this machine, or a URI of a pyarrow file system."""

    def __init__(self, out: Path | str):
        self.out = out
        self.remote = RemoteTarget(str(out)) if is_uri(out) else None

    def __str__(self) -> str:
        return str(self.out)

    def prepare(self) -> None:
        """Made (here) or checked to be reachable and writable (at a URI), before anything is written:
        a small hidden object written and removed."""
        if self.remote is None:
            Path(self.out).mkdir(parents=True, exist_ok=True)
            return
        probe = self.remote.path + f"/.framestance-write-check-{uuid.uuid4().hex}"
        try:
            self.remote.fs.get_file_info(self.remote.path)
        except OSError as exc:
            raise OutputUnwritable(f"{self.out}: cannot reach it ({_one_line(exc)})") from None
        try:
            with self.remote.fs.open_output_stream(probe) as f:
                f.write(b"")
            self.remote.fs.delete_file(probe)
        except OSError as exc:
            raise OutputUnwritable(f"{self.out}: cannot write there ({_one_line(exc)})") from None

    def target(self, name: str) -> Path | str:
        return join(str(self.out), name) if self.remote else Path(self.out) / name

    def existing(self, names: tuple[str, ...]) -> list[str]:
        if self.remote is None:
            return [n for n in names if (Path(self.out) / n).exists()]
        fs, path = self.remote.fs, self.remote.path
        return [n for n in names if fs.get_file_info(f"{path}/{n}").type != pafs.FileType.NotFound]

    def remove(self, name: str) -> None:
        """A remote file taken away before the tables are replaced (summary.json: written last)."""
        if self.remote is not None:
            self.remote.remove(join(str(self.out), name))

    def write_text(self, name: str, text: str) -> None:
        if self.remote is None:
            (Path(self.out) / name).write_text(text, encoding="utf-8")
            return
        with self.remote.fs.open_output_stream(f"{self.remote.path}/{name}") as f:
            f.write(text.encode("utf-8"))


def _one_line(exc: BaseException) -> str:
    return (" ".join(str(exc).split()) or type(exc).__name__)[:300]


class RemoteTarget:
    """A file or a folder of part files at a URI of a pyarrow file system."""

    def __init__(self, uri: str):
        self.uri = uri.rstrip("/")
        self.fs, self.path = filesystem(self.uri)
        self.scheme = self.uri.split("://", 1)[0]

    def aside(self) -> str:
        parent, name = self.uri.rsplit("/", 1)
        return f"{parent}/.{name}.{uuid.uuid4().hex}.tmp"

    def _inside(self, uri: str) -> str:
        return filesystem(uri)[1]

    def names(self, uri: str) -> list[str]:
        infos = self.fs.get_file_info(pafs.FileSelector(self._inside(uri), recursive=False, allow_not_found=True))
        return sorted(i.base_name for i in infos if i.type == pafs.FileType.File)

    def remove(self, uri: str) -> None:
        """A file or a folder of files, if there (nothing else is touched)."""
        inside = self._inside(uri)
        info = self.fs.get_file_info(inside)
        if info.type == pafs.FileType.File:
            self.fs.delete_file(inside)
        elif info.type == pafs.FileType.Directory:
            for name in self.names(uri):
                self.fs.delete_file(f"{inside}/{name}")
            try:
                self.fs.delete_dir(inside)
            except OSError:
                pass  # an object store has no folder left once its objects are gone

    def check_written(self, tmp: str, parts: int) -> None:
        """The file (parts == 0) or exactly the `parts` part files are at `tmp`."""
        if parts:
            found = self.names(tmp)
            if found != [part_name(k) for k in range(parts)]:
                raise OSError(f"{tmp}: {len(found)} part files where {parts} were written")
        elif self.fs.get_file_info(self._inside(tmp)).type != pafs.FileType.File:
            raise OSError(f"{tmp}: not written")

    def replace(self, tmp: str, parts: int) -> None:
        """The file (parts == 0) or the folder of `parts` part files at `tmp` (checked by
        `check_written`) copied over the target; then `tmp` removed."""
        inside = self._inside(tmp)
        names = [part_name(k) for k in range(parts)]
        moves = [(f"{inside}/{n}", f"{self.path}/{n}") for n in names] if parts else [(inside, self.path)]
        self.remove(self.uri)
        for source, target in moves:
            self.fs.copy_file(source, target)
        self.remove(tmp)


__all__ = ["OutputFolder", "OutputUnwritable", "RemoteTarget", "ROW_GROUP", "TooManyParts", "TableWriter", "part_name", "write_part", "group_size", "replace_path"]
