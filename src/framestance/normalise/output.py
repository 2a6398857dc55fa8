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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from ..errors import FramestanceError, one_line
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
            try:
                self.remote.remove(self.remote.inside(str(self.tmp)))
            except OSError:
                pass  # what cannot be removed stays under its hidden name; the run's own error is the one to show
            return
        self.tmp = Path(self.tmp)
        if self.tmp.is_dir():
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            self.tmp.unlink(missing_ok=True)


class OutputUnwritable(FramestanceError, OSError):
    """The output's place cannot be reached or written to."""


#: The largest object an S3 copy (CopyObject) moves in one request; copies made at a time.
MAX_COPY_BYTES, COPIES = 5 * 1000**3, 16


class OutputFolder:
    """normalise's output folder: a path on this machine, or a URI of a pyarrow file system."""

    def __init__(self, out: Path | str):
        if isinstance(out, str) and out.startswith("file://"):  # this machine's: renamed into place, not copied
            out = Path(unquote(out[len("file://"):]))
        self.out = out
        try:
            self.remote = RemoteTarget(str(out)) if is_uri(out) else None
        except (OSError, ValueError) as exc:
            raise OutputUnwritable(f"{out}: not a place normalise can write to ({one_line(exc)})") from None

    def __str__(self) -> str:
        return str(self.out)

    def prepare(self) -> None:
        """Made (here) or checked to be reachable and writable (at a URI), before anything is written:
        a small hidden object written and removed."""
        if self.remote is None:
            Path(self.out).mkdir(parents=True, exist_ok=True)
            return
        fs = self.remote.fs
        probe = self.remote.path + f"/.framestance-write-check-{uuid.uuid4().hex}"
        try:
            fs.get_file_info(self.remote.path)
        except OSError as exc:
            raise OutputUnwritable(f"{self.out}: cannot reach it ({one_line(exc)})") from None
        try:
            with fs.open_output_stream(probe) as f:
                f.write(b"")
        except OSError as exc:
            raise OutputUnwritable(f"{self.out}: cannot write there ({one_line(exc)})") from None
        try:
            fs.delete_file(probe)
        except OSError as exc:  # replacing a former output removes objects too
            raise OutputUnwritable(f"{self.out}: can write but not remove objects there ({one_line(exc)})") from None

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
            self.remote.remove(self.remote.path + "/" + name)

    def write_text(self, name: str, text: str) -> None:
        if self.remote is None:
            (Path(self.out) / name).write_text(text, encoding="utf-8")
            return
        with self.remote.fs.open_output_stream(f"{self.remote.path}/{name}") as f:
            f.write(text.encode("utf-8"))


class RemoteTarget:
    """A file or a folder of part files at a URI of a pyarrow file system; paths below are paths
    inside that file system (for S3: bucket/key)."""

    def __init__(self, uri: str):
        self.uri = uri.rstrip("/")
        self.fs, self.path = filesystem(self.uri)

    def aside(self) -> str:
        parent, name = self.uri.rsplit("/", 1)
        return f"{parent}/.{name}.{uuid.uuid4().hex}.tmp"

    def inside(self, uri: str) -> str:
        """The path inside the file system of a URI beside the target (an aside name)."""
        return self.path.rsplit("/", 1)[0] + "/" + uri.rsplit("/", 1)[1]

    def _files(self, path: str) -> dict[str, int]:
        infos = self.fs.get_file_info(pafs.FileSelector(path, recursive=False, allow_not_found=True))
        return {i.base_name: i.size or 0 for i in infos if i.type == pafs.FileType.File}

    def names(self, uri: str) -> list[str]:
        return sorted(self._files(self.inside(uri)))

    def remove(self, path: str) -> None:
        """A file, or a folder of files, if there (nothing else is touched)."""
        info = self.fs.get_file_info(path)
        if info.type == pafs.FileType.File:
            self.fs.delete_file(path)
        elif info.type == pafs.FileType.Directory:
            for name in sorted(self._files(path)):
                self.fs.delete_file(f"{path}/{name}")
            try:
                self.fs.delete_dir(path)
            except OSError:
                pass  # an object store has no folder left once its objects are gone

    def check_written(self, tmp: str, parts: int) -> None:
        """The file (parts == 0) or exactly the `parts` part files are at `tmp`, each small enough
        to be copied into place."""
        inside = self.inside(tmp)
        if parts:
            found = self._files(inside)
            if sorted(found) != [part_name(k) for k in range(parts)]:
                raise OSError(f"{tmp}: {len(found)} part files where {parts} were written")
            sizes = found
        else:
            info = self.fs.get_file_info(inside)
            if info.type != pafs.FileType.File:
                raise OSError(f"{tmp}: not written")
            sizes = {self.uri.rsplit("/", 1)[1]: info.size or 0}
        if too_big := {n: b for n, b in sizes.items() if b > MAX_COPY_BYTES}:
            name, size = max(too_big.items(), key=lambda kv: kv[1])
            raise OutputUnwritable(f"{self.uri}: {name} is {size / 1e9:.1f} GB, more than an object store copies in "
                                   "one request (5 GB): use --rows-per-file")

    def replace(self, tmp: str, parts: int) -> None:
        """The file (parts == 0) or the folder of `parts` part files at `tmp` (checked by
        `check_written`) copied over the target, each object replaced in one step; then what is
        left of the former output (parts beyond the new ones, a file where a folder goes, or the
        reverse) and `tmp` removed."""
        inside = self.inside(tmp)
        names = [part_name(k) for k in range(parts)]
        # an object store keeps an object and objects under its name as a folder side by side
        if not parts and self._files(self.path):  # a folder of parts becomes one file: the folder goes first,
            self.fs.delete_dir(self.path)  # with its marker (removing its objects one by one would leave one)
        moves = [(f"{inside}/{n}", f"{self.path}/{n}") for n in names] if parts else [(inside, self.path)]
        with ThreadPoolExecutor(max_workers=COPIES) as pool:  # copies made by the store itself, some at a time
            list(pool.map(lambda move: self.fs.copy_file(*move), moves))
        if parts and self.fs.get_file_info(self.path).type == pafs.FileType.File:
            self.fs.delete_file(self.path)  # the former one file
        for name in sorted(set(self._files(self.path)) - set(names)):
            self.fs.delete_file(f"{self.path}/{name}")  # former parts beyond the new ones
        self.remove(inside)


__all__ = ["MAX_COPY_BYTES", "OutputFolder", "OutputUnwritable", "RemoteTarget", "ROW_GROUP", "TooManyParts",
           "TableWriter", "part_name", "write_part", "group_size", "replace_path"]
