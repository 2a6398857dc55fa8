"""output.py: a table streamed through `TableWriter` in batches of any size gives the same part
files, byte for byte, as `write_part` writing each part whole (what the ray engine's workers do);
read back as one table they are the rows in order."""

from __future__ import annotations

import os
import random
import stat

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from framestance.normalise import output
from framestance.normalise.output import TableWriter, part_name, write_part

SCHEMA = pa.schema([pa.field("n", pa.int64()), pa.field("text", pa.string())])


def _table(n: int) -> pa.Table:
    return pa.table({"n": list(range(n)), "text": [f"row {k} " * (k % 5) for k in range(n)]}, schema=SCHEMA)


@pytest.mark.parametrize("rows_per_file", [0, 1, 3, 4, 7, 50])
@pytest.mark.parametrize("n", [0, 1, 9, 23])
def test_streamed_parts_equal_whole_parts(tmp_path, monkeypatch, rows_per_file, n):
    monkeypatch.setattr(output, "ROW_GROUP", 4)  # several row groups per part, and parts smaller than a group
    table = _table(n)
    rng = random.Random(n * 100 + rows_per_file)
    writer = TableWriter(tmp_path / "t.parquet", SCHEMA, rows_per_file)
    start = 0
    while start < n:
        size = rng.randint(0, 6)  # empty batches too
        writer.write(pa.RecordBatch.from_pylist(table.slice(start, size).to_pylist(), schema=SCHEMA))
        start += size
    writer.close()
    writer.commit()
    target = tmp_path / "t.parquet"
    if rows_per_file == 0:
        write_part(table, tmp_path / "whole.parquet", SCHEMA, 0)
        assert target.read_bytes() == (tmp_path / "whole.parquet").read_bytes()
    else:
        parts = max(1, -(-n // rows_per_file))
        assert sorted(p.name for p in target.iterdir()) == [part_name(k) for k in range(parts)]
        for k in range(parts):
            write_part(table.slice(k * rows_per_file, rows_per_file), tmp_path / "whole.parquet", SCHEMA, rows_per_file)
            assert (target / part_name(k)).read_bytes() == (tmp_path / "whole.parquet").read_bytes(), k
            groups = pq.ParquetFile(target / part_name(k)).metadata.num_row_groups
            assert groups == -(-min(rows_per_file, n - k * rows_per_file) // min(4, rows_per_file)), k
    assert pq.read_table(target).equals(table)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_abort_leaves_the_former_output(tmp_path):
    target = tmp_path / "t.parquet"
    write_part(_table(5), target, SCHEMA, 0)
    before = target.read_bytes()
    writer = TableWriter(target, SCHEMA, 2)
    writer.write(_table(5).to_batches()[0])
    writer.abort()
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["t.parquet"]


def test_leftovers_of_a_killed_run_are_not_reused_and_modes_are_plain(tmp_path):
    stale = tmp_path / f".t.parquet.{os.getpid()}.tmp"  # what a killed run with this pid left
    stale.mkdir()
    (stale / part_name(0)).write_bytes(b"stale")
    for rows_per_file in (0, 2):
        writer = TableWriter(tmp_path / "t.parquet", SCHEMA, rows_per_file)
        writer.write(_table(3).to_batches()[0])
        writer.close()
        writer.commit()
        assert pq.read_table(tmp_path / "t.parquet").equals(_table(3))
        target = tmp_path / "t.parquet"
        assert stat.S_IMODE(target.stat().st_mode) == (0o755 if rows_per_file else 0o644)
    assert (stale / part_name(0)).read_bytes() == b"stale"


def test_too_many_parts_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(output, "MAX_PARTS", 2)
    writer = TableWriter(tmp_path / "t.parquet", SCHEMA, 2)
    writer.write(_table(5).to_batches()[0])  # two full parts; the fifth row waits for more
    with pytest.raises(ValueError, match="rows_per_file 2: more than 2 part files"):
        writer.close()
    writer.abort()
    assert list(tmp_path.iterdir()) == []
