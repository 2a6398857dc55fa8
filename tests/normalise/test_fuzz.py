"""Nothing stops the batch, nothing vanishes, memory stays bounded.

Regression cases for each failure a user met (a crash, an input that vanished, an unbounded
decompression), then property-based runs (hypothesis) over generated folders of good and bad
inputs of every kind, asserting the invariants of `normalise`: it returns, the counts add up, every
path is an article or a reject, and good inputs come out the same whatever sits beside them.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import subprocess
import sys
import tempfile
import zlib
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from framestance.normalise.readers import display_path
from framestance.schema import REJECT_REASONS

from ..conftest import RETRIEVED, ROOT, body, write
from .fuzzgen import KINDS, bad_bytes, good_bytes, write_case

FRAMESTANCE = str(Path(sys.executable).with_name("framestance"))


def _run(folder: Path, out: Path, **kw):
    from framestance.normalise import normalise

    kw.setdefault("retrieved_at", RETRIEVED)
    summary = normalise([str(folder)], out, workers=1, force=True, **kw)
    arts = pq.read_table(out / "articles.parquet").to_pylist()
    rejs = pq.read_table(out / "rejects.parquet").to_pylist()
    return summary, arts, rejs


def _by_path(arts, rejs):
    rows: dict[str, Counter] = {}
    for a in arts:
        rows.setdefault(a["source_path"], Counter())[a["relation"]] += 1
    for r in rejs:
        rows.setdefault(r["source_path"], Counter())["rejected"] += 1
    return rows


# -------------------------------------------------------------------------------------------------
# each failure met in the wild


def _one(tmp_path, name: str, data: bytes):
    write(tmp_path / "in" / name, data)
    return _run(tmp_path / "in", tmp_path / "out")


@pytest.mark.parametrize(
    "name, data, reason, detail",
    [
        ("extra.csv", b"url,title,text\nhttps://x.example/1,T," + body(3).encode() + b",surplus\n", "parse error", "has 4 fields, the header 3"),
        ("deep.json", ("[" * 100_000 + "]" * 100_000).encode(), "parse error", "nested too deeply"),
        ("deep.jsonl", ('{"a":' * 100_000 + "1" + "}" * 100_000 + "\n").encode(), "parse error", "nested too deeply"),
        ("header-only.csv", b"url,title,text\n", "empty", "no records"),
        ("bom-only.csv", b"\xef\xbb\xbf", "empty", "no content"),
        ("list.json", b"[]", "empty", "no records"),
        ("quote.csv", b'url,title,text\nhttps://x.example/1,"Unclosed,' + body(3).encode() + b"\nhttps://x.example/2,B,c\n", "parse error", "CSV row 1"),
    ],
)
def test_each_bad_file_is_one_plain_reject(tmp_path, name, data, reason, detail):
    summary, arts, rejs = _one(tmp_path, name, data)
    assert not arts and summary.rejected == summary.inputs == 1
    (rej,) = rejs
    assert rej["reason"] == reason and detail in rej["detail"]
    assert "\n" not in rej["detail"] and "Error" not in rej["detail"]


def test_corrupt_deflate_data_is_a_reject_for_every_kind(tmp_path):
    good = gzip.compress(b'{"url": "https://x.example/1", "text": "' + body(4).encode() + b'"}\n' * 50, mtime=0)
    broken = good[:30] + bytes(b ^ 0x5A for b in good[30:60]) + good[60:]
    with pytest.raises(zlib.error):
        gzip.decompress(broken)
    for ext in ("jsonl", "json", "csv", "txt", "html", "parquet"):
        write(tmp_path / "in" / f"broken.{ext}.gz", broken)
    summary, arts, rejs = _run(tmp_path / "in", tmp_path / "out")
    assert summary.inputs == 6 and len(rejs) == 6 and not arts
    assert {r["reason"] for r in rejs} == {"undecodable"}


def test_zero_row_parquet_is_empty(tmp_path):
    (tmp_path / "in").mkdir()
    pq.write_table(pa.table({"url": pa.array([], pa.string()), "text": pa.array([], pa.string())}), tmp_path / "in" / "none.parquet")
    summary, arts, rejs = _run(tmp_path / "in", tmp_path / "out")
    assert [r["reason"] for r in rejs] == ["empty"]


def test_utf16_and_utf32_with_bom_are_read(tmp_path):
    rec = {"url": "https://x.example/u", "title": "Wide text", "text": body(4, "wide encodings")}
    for enc in ("utf-16", "utf-32"):
        write(tmp_path / "in" / f"{enc}.jsonl", (json.dumps(rec) + "\n").replace("/u", f"/{enc}").encode(enc))
        write(tmp_path / "in" / f"{enc}.csv", f'url,title,text\nhttps://x.example/c{enc},Wide CSV,"{body(4, enc + " csv")}"\n'.encode(enc))
        write(tmp_path / "in" / f"{enc}.txt", f"A wide page\n\n{body(5, enc + ' page')}\n".encode(enc))
    summary, arts, rejs = _run(tmp_path / "in", tmp_path / "out")
    assert not rejs, rejs
    assert summary.main == 6


def test_a_bad_field_is_dropped_with_a_note_and_the_text_kept(tmp_path):
    recs = [{"url": "https://x.example/a", "text": body(4, "absurd date"), "date": 1e20},
            {"url": "https://x.example/b", "text": body(4, "numeric authors"), "authors": 12345},
            {"url": "https://x.example/c", "text": body(4, "object title"), "title": {"x": 1}}]
    summary, arts, rejs = _one(tmp_path, "fields.jsonl", "".join(json.dumps(r) + "\n" for r in recs).encode())
    assert not rejs and len(arts) == 3
    notes = {a["url"]: a["notes"] for a in arts}
    assert notes["https://x.example/a"] == ["date dropped: 1e+20 is not a date"]
    assert notes["https://x.example/b"] == ["authors dropped: 12345 is not a name or a list of names"]
    assert notes["https://x.example/c"] == ["title dropped: {'x': 1} is not text"]
    assert all(a["text"].startswith("Sentence 0") for a in arts)


def test_links_loops_and_odd_names_are_accounted_for(tmp_path):
    src = tmp_path / "in"
    write(src / "good.txt", f"Title\n\n{body(5, 'linked folder')}\n")
    os.symlink(".", src / "loop")
    os.symlink("nowhere", src / "dangling.txt")
    os.symlink("self", src / "self")
    os.mkfifo(src / "pipe.txt")
    bad_name = os.fsencode(src) + b"/caf\xe9.txt"  # Latin-1 name: not UTF-8
    with open(bad_name, "wb") as fh:
        fh.write(f"Title\n\n{body(5, 'latin name')}\n".encode())
    summary, arts, rejs = _run(src, tmp_path / "out")
    assert summary.inputs == 6 and summary.main == 2
    details = {r["source_path"].rsplit("/", 1)[-1]: r["detail"] for r in rejs}
    assert set(details) == {"loop", "dangling.txt", "self", "pipe.txt"}
    assert all(r["reason"] == "unreadable" for r in rejs)
    assert "link loop" in details["loop"] and "dangling" in details["dangling.txt"] and "FIFO" in details["pipe.txt"]
    assert any(a["source_path"].endswith("caf\\xe9.txt") for a in arts)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every folder: permissions cannot be tested as root")
def test_an_unreadable_folder_is_a_reject(tmp_path):
    write(tmp_path / "in" / "shut" / "page.txt", f"Title\n\n{body(5)}\n")
    (tmp_path / "in" / "shut").chmod(0)
    try:
        summary, arts, rejs = _run(tmp_path / "in", tmp_path / "out")
    finally:
        (tmp_path / "in" / "shut").chmod(0o755)
    assert [r["reason"] for r in rejs] == ["unreadable"] and "cannot list the folder" in rejs[0]["detail"]


@pytest.mark.parametrize("version", ["3.0.0\n", "01.0.0", "1.02.3", "١.٠.٠", "1.0", "1.0.0-rc1", " 1.0.0", "1.0.0 "])
def test_publish_refuses_versions_that_are_not_strict_semver(version):
    from framestance.publish import _VERSION

    assert _VERSION.fullmatch(version) is None
    assert _VERSION.fullmatch("10.0.3") and _VERSION.fullmatch("0.1.0")


def test_publish_cli_refuses_a_version_with_a_newline(tmp_path):
    proc = subprocess.run([FRAMESTANCE, "publish", "--version", "3.0.0\n", "--out", str(tmp_path / "dist")],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode != 0 and "MAJOR.MINOR.PATCH" in proc.stderr
    assert not (tmp_path / "dist").exists() or not any((tmp_path / "dist").rglob("*3.0.0*"))


# -------------------------------------------------------------------------------------------------
# bounded memory: a gzip bomb of every format


def _bomb(path: Path, head: bytes, fill: bytes, size: int, tail: bytes = b"") -> None:
    """A gzip file that expands to about `size` bytes: one gzip member per MiB (a file may hold
    many members; every reader must take them all), the same compressed member repeated."""
    member = gzip.compress(fill * ((1 << 20) // len(fill)), compresslevel=9, mtime=0)
    with path.open("wb") as fh:
        fh.write(gzip.compress(head, mtime=0))
        for _ in range(size >> 20):
            fh.write(member)
        fh.write(gzip.compress(tail, mtime=0))


BOMBS = {  # name -> (head, fill, tail): each expands to 1.2 GB
    "page.txt.gz": (b"Title\n\n", b"a", b""),
    "page.html.gz": (b"<html><body><p>", b"a", b""),
    "doc.json.gz": (b'[{"text": "', b"a", b'"}]'),
    "line.jsonl.gz": (b'{"text": "', b"a", b'"}\n'),
    "rows.csv.gz": (b'url,text\nhttps://x.example/1,"', b"a", b'"\n'),
    "table.parquet.gz": (b"PAR1", b"\x00", b""),
}


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_a_gzip_bomb_is_too_large_with_bounded_memory(tmp_path, name):
    """Each format in a process of its own: the peak is that input's, whatever ran before."""
    size = 1_200_000_000  # expanded; reading it whole would take at least this much memory
    src = tmp_path / "bombs"
    src.mkdir()
    head, fill, tail = BOMBS[name]
    _bomb(src / name, head, fill, size, tail)
    assert (src / name).stat().st_size < 2_000_000
    code = (
        "from framestance.normalise import normalise\n"
        f"s = normalise([{str(src)!r}], __import__('pathlib').Path({str(tmp_path / 'out')!r}), workers=1)\n"
        # VmHWM: the peak of this process's own memory (ru_maxrss would carry over the parent's at fork)
        "hwm = [ln for ln in open('/proc/self/status') if ln.startswith('VmHWM')][0].split()[1]\n"
        "print(s.inputs, s.rejected, hwm)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    inputs, rejected, peak_kib = map(int, proc.stdout.split())
    assert inputs == rejected == 1
    rejs = pq.read_table(tmp_path / "out" / "rejects.parquet").to_pylist()
    assert [r["reason"] for r in rejs] == ["too large"], rejs
    assert peak_kib < 600 * 1024, f"peak memory {peak_kib / 1024:.0f} MiB"


# -------------------------------------------------------------------------------------------------
# property-based: generated folders of good and bad inputs


def _check_invariants(case, summary, arts, rejs):
    summary.check()
    assert all(r["reason"] in REJECT_REASONS for r in rejs)
    assert all(r["detail"] and "\n" not in r["detail"] and "Traceback" not in r["detail"] for r in rejs)
    rows = _by_path(arts, rejs)
    for path in case.paths:  # every input is an article or a reject
        assert display_path(path) in rows, f"{path} vanished"
    for path, n in case.good.items():
        got = rows[display_path(path)]
        assert got["main"] == n and got["rejected"] == 0, (path, got)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(rng=st.randoms(use_true_random=False), n=st.integers(1, 12), bad=st.floats(0.0, 1.0))
def test_generated_folders_keep_every_invariant(rng, n, bad):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        case = write_case(rng, root / "in", n, bad)
        summary, arts, rejs = _run(root / "in", root / "out")
        _check_invariants(case, summary, arts, rejs)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(kind=st.sampled_from(KINDS), data=st.binary(max_size=4000), gz=st.booleans())
def test_arbitrary_bytes_of_every_kind_are_accounted_for(kind, data, gz):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        path = write(root / "in" / (f"x.{kind}" + (".gz" if gz else "")), gzip.compress(data, mtime=0) if gz else data)
        summary, arts, rejs = _run(root / "in", root / "out")
        summary.check()
        assert display_path(path) in _by_path(arts, rejs)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(["url", "title", "text", "date", "authors", "outlet", "html", "x"]), inner, max_size=6),
    max_leaves=20,
)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(records=st.lists(_json, min_size=1, max_size=5), fmt=st.sampled_from(["jsonl", "json"]))
def test_arbitrary_json_records_never_stop_the_batch(records, fmt):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        text = json.dumps(records) if fmt == "json" else "".join(json.dumps(r) + "\n" for r in records)
        write(root / "in" / f"r.{fmt}", text)
        summary, arts, rejs = _run(root / "in", root / "out")
        summary.check()
        assert summary.inputs == len(records)


def test_good_inputs_come_out_the_same_beside_bad_ones(tmp_path):
    rng = random.Random(7)
    good = tmp_path / "good"
    for i, kind in enumerate(KINDS * 2):
        data, _ = good_bytes(rng, kind)
        write(good / f"g{i:02d}.{kind}", data)
    _, alone, _ = _run(good, tmp_path / "out1")
    mixed = tmp_path / "mixed"
    for f in good.iterdir():
        write(mixed / f.name, f.read_bytes())
    for i in range(60):
        kind = rng.choice(KINDS)
        write(mixed / f"b{i:02d}.{kind}", bad_bytes(rng, kind))
    _, beside, _ = _run(mixed, tmp_path / "out2")

    def key(rows, folder):
        skip = {"source_path", "duplicate_of", "cluster_id", "article_id", "parent_id"}
        out = {}
        for r in rows:
            name = r["source_path"].rsplit("/", 1)[-1]
            if name.startswith("g"):
                out[(name, r["position"], r["relation"])] = {k: v for k, v in r.items() if k not in skip}
        return out

    assert key(alone, good) == key(beside, mixed)
    assert len(key(alone, good)) >= len(KINDS) * 2


# -------------------------------------------------------------------------------------------------
# found in review


def test_a_parquet_timestamp_python_cannot_hold_is_a_reject(tmp_path):
    (tmp_path / "in").mkdir()
    table = pa.table({"url": ["https://x.example/t"], "text": [body(4)],
                      "date": pa.array([1_700_000_000_000], pa.int64()).cast(pa.timestamp("s"))})
    pq.write_table(table, tmp_path / "in" / "ts.parquet")
    summary, arts, rejs = _run(tmp_path / "in", tmp_path / "out")
    assert [r["reason"] for r in rejs] == ["parse error"] and summary.inputs == 1


def test_positions_stay_unique_when_a_gzip_stream_breaks_after_blank_lines(tmp_path):
    lines = "\n" + "".join(json.dumps({"text": body(3, f"blank {i}")}) + "\n" for i in range(40))
    blob = gzip.compress(lines.encode(), mtime=0)
    write(tmp_path / "in" / "cut.jsonl.gz", blob[: len(blob) * 2 // 3])
    summary, arts, rejs = _run(tmp_path / "in", tmp_path / "out")
    positions = [r["position"] for r in arts] + [r["position"] for r in rejs]
    assert len(positions) == len(set(positions)) == summary.inputs


def test_one_file_named_two_ways_is_one_input(tmp_path, monkeypatch):
    write(tmp_path / "in" / "a" / "x.txt", f"Title\n\n{body(5, 'spelled twice')}\n")
    monkeypatch.chdir(tmp_path)
    from framestance.normalise import normalise

    summary = normalise(["in", str(tmp_path / "in" / "a" / "x.txt"), "in/a/../a/x.txt"], tmp_path / "out", workers=1,
                        retrieved_at=RETRIEVED)
    assert summary.inputs == 1


def test_a_csv_record_spread_over_many_lines_is_bounded(tmp_path):
    field = "\n".join("line of a quoted field that never ends" for _ in range(100))
    write(tmp_path / "in" / "long.csv", f'url,text\nhttps://x.example/1,"{field}"\nhttps://x.example/2,"{body(4)}"\n')
    summary, arts, rejs = _run(tmp_path / "in", tmp_path / "out", max_bytes=2000)
    assert [r["reason"] for r in rejs] == ["too large"] and "record at line" in rejs[0]["detail"]


def test_atomic_write_ignores_a_stale_temporary_and_sets_the_mode(tmp_path):
    import stat

    from framestance.io import atomic_write

    target = tmp_path / "secret.env"
    (tmp_path / f".secret.env.{os.getpid()}.tmp").write_text("stale", encoding="utf-8")
    os.chmod(tmp_path / f".secret.env.{os.getpid()}.tmp", 0o666)
    atomic_write(target, b"KEY=1\n", mode=0o600)
    assert target.read_bytes() == b"KEY=1\n" and stat.S_IMODE(target.stat().st_mode) == 0o600
