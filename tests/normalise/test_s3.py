"""normalise with its inputs and its output on an S3 API: moto's server, a separate process on
127.0.0.1, reached through the AWS_* environment only (endpoint and keys are never on a command
line). The local engine here; the ray engine's workers writing parts there: test_cluster.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from framestance.normalise import normalise
from framestance.normalise.output import RemoteTarget
from framestance.normalise.pipeline import BadParams, OutputExists

from ..conftest import RETRIEVED
from .s3server import bucket, objects, s3_server, upload
from .test_engines import _inputs

pytest.importorskip("moto")


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    with s3_server(tmp_path_factory.mktemp("moto") / "moto.log") as env:
        crawl = bucket("crawl")
        files = upload(crawl, _inputs(tmp_path_factory.mktemp("in")), "crawl/raw")
        yield env, crawl, files


def _run(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "framestance.cli", "normalise", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_inputs_and_outputs_on_s3_are_the_bytes_written_here(s3, tmp_path):
    import pyarrow.fs as pafs

    env, crawl, files = s3
    fs = bucket("corpus")
    here = normalise(["s3://crawl/raw"], tmp_path / "here", retrieved_at=RETRIEVED, rows_per_file=3)
    there = normalise(["s3://crawl/raw"], "s3://corpus/run", retrieved_at=RETRIEVED, rows_per_file=3)
    assert here.inputs > files - 3 and here.exact_duplicates and here.near_duplicates  # read from S3, duplicates found
    written = objects(fs, "corpus/run")
    local = {p.relative_to(tmp_path / "here").as_posix(): p.read_bytes() for p in (tmp_path / "here").rglob("*") if p.is_file()}
    assert written == local and any(k.startswith("articles.parquet/part-") for k in written)
    assert json.loads(written["summary.json"])["inputs"] == there.inputs

    with pytest.raises(OutputExists, match="s3://corpus/run: articles.parquet, rejects.parquet, summary.json already exist"):
        normalise(["s3://crawl/raw"], "s3://corpus/run", retrieved_at=RETRIEVED)
    for inside in ("s3://corpus/run/articles.parquet", "s3://corpus/run/summary.json", str(tmp_path / "here" / "rejects.parquet")):
        with pytest.raises(BadParams, match="inside an output of normalise"):  # never a new output within a former one
            normalise(["s3://crawl/raw"], inside, retrieved_at=RETRIEVED, force=True)
    # one file per table replaces the folders of parts: nothing of them is left, not even a folder's marker
    normalise(["s3://crawl/raw"], "s3://corpus/run", retrieved_at=RETRIEVED, force=True)
    normalise(["s3://crawl/raw"], tmp_path / "one", retrieved_at=RETRIEVED)
    assert objects(fs, "corpus/run") == {n: (tmp_path / "one" / n).read_bytes() for n in ("articles.parquet", "rejects.parquet",
                                                                                          "summary.json")}
    assert [i.path for i in fs.get_file_info(pafs.FileSelector("corpus/run", recursive=True)) if i.type != pafs.FileType.File] == []
    # and folders of parts again over the one file: nothing of it is left either
    normalise(["s3://crawl/raw"], "s3://corpus/run", retrieved_at=RETRIEVED, rows_per_file=3, force=True)
    assert objects(fs, "corpus/run") == local


def test_a_failure_while_moving_into_place_leaves_nothing_aside_and_no_summary(s3, tmp_path, monkeypatch):
    """An object store has no rename: the new objects are copied over the former ones. A copy that
    fails half-way leaves no hidden objects and no summary.json (the mark of a whole output)."""

    fs = bucket("halfway")
    normalise(["s3://crawl/raw"], "s3://halfway/run", retrieved_at=RETRIEVED, rows_per_file=3)
    copies = []

    class FailingCopies:  # the real file system, whose second copy fails
        def __init__(self, fs):
            self.fs = fs

        def __getattr__(self, name):
            return getattr(self.fs, name)

        def copy_file(self, source, target):
            copies.append(target)
            if len(copies) == 2:
                raise OSError("connection reset while copying")
            return self.fs.copy_file(source, target)

    init = RemoteTarget.__init__

    def failing(self, uri):
        init(self, uri)
        self.fs = FailingCopies(self.fs)

    monkeypatch.setattr(RemoteTarget, "__init__", failing)
    with pytest.raises(OSError, match=r"^s3://halfway/run: moving the new output into place failed \(connection reset while "
                                      r"copying\); the folder holds part of it and no summary.json: run again with --force$"):
        normalise(["s3://crawl/raw"], "s3://halfway/run", retrieved_at=RETRIEVED, rows_per_file=2, force=True)
    assert len(copies) >= 2  # copies run some at a time: the others may have gone ahead
    left = objects(fs, "halfway")
    assert "run/summary.json" not in left and not [k for k in left if "/." in "/" + k]


def test_a_uri_normalise_cannot_write_to_is_one_line(tmp_path):
    from framestance.normalise.output import OutputUnwritable

    with pytest.raises(OutputUnwritable, match=r"^nosuch://bucket/x: not a place normalise can write to \("):
        normalise([str(tmp_path)], "nosuch://bucket/x")


def test_the_commit_check_on_s3_keeps_the_former_output_when_a_part_is_missing(s3, tmp_path, monkeypatch):
    """A part file gone between the write and the commit (a worker writing elsewhere, a lifecycle
    rule): the run fails, the former output stays as it was and nothing is left aside."""
    fs = bucket("checked")
    normalise(["s3://crawl/raw"], "s3://checked/run", retrieved_at=RETRIEVED, rows_per_file=4)
    before = objects(fs, "checked")
    check = RemoteTarget.check_written

    def losing_a_part(self, tmp: str, parts: int) -> None:
        if parts > 1:
            self.fs.delete_file(f"{self.inside(tmp)}/part-00001.parquet")
        check(self, tmp, parts)

    monkeypatch.setattr(RemoteTarget, "check_written", losing_a_part)
    with pytest.raises(OSError, match=r"\.articles\.parquet\.[0-9a-f]+\.tmp: \d+ part files where \d+ were written"):
        normalise(["s3://crawl/raw"], "s3://checked/run", retrieved_at=RETRIEVED, rows_per_file=3, force=True)
    assert objects(fs, "checked") == before  # the former output, and no hidden leftovers


def test_an_unreachable_endpoint_or_a_bucket_without_write_access_is_one_line_and_changes_nothing(s3, tmp_path):
    import boto3

    env, crawl, _ = s3
    local_in = _inputs(tmp_path / "in")
    # a bucket whose policy refuses every write: listing and reading still work
    sealed = bucket("sealed")
    with sealed.open_output_stream("sealed/corpus/readme.txt") as f:
        f.write(b"kept")
    client = boto3.session.Session().client("s3", endpoint_url=env["AWS_ENDPOINT_URL"])
    client.put_bucket_policy(Bucket="sealed", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Principal": "*", "Action": ["s3:PutObject", "s3:DeleteObject"], "Resource": "arn:aws:s3:::sealed/*"}]}))
    run = _run(str(local_in), "--out", "s3://sealed/corpus", "-q", env=dict(os.environ))
    print(run.stderr.strip())
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.count("\n") == 1 and run.stderr.startswith("error: s3://sealed/corpus: cannot write there ("), run.stderr
    assert "ACCESS_DENIED" in run.stderr
    assert objects(sealed, "sealed") == {"corpus/readme.txt": b"kept"}

    # nothing answers at the endpoint: reading inputs there, or writing there
    with socket_closed() as port:
        away = {**os.environ, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}
        run = _run("s3://crawl/raw", "--out", str(tmp_path / "out"), "-q", env=away)
        print(run.stderr.strip())
        assert run.returncode == 2 and run.stderr.count("\n") == 1, run.stderr
        assert run.stderr.startswith("error: s3://crawl/raw: cannot list it (") and "NETWORK_CONNECTION" in run.stderr
        run = _run(str(local_in), "--out", "s3://crawl/out", "-q", env=away)
        print(run.stderr.strip())
        assert run.returncode == 2 and run.stderr.count("\n") == 1, run.stderr
        assert run.stderr.startswith("error: s3://crawl/out: cannot reach it (") and "NETWORK_CONNECTION" in run.stderr
    assert not (tmp_path / "out").exists()
    assert not [k for k in objects(crawl, "crawl") if not k.startswith("raw/")]  # nothing written beside the inputs


class socket_closed:
    """A port on 127.0.0.1 that nothing listens on (bound, never listening, while in use)."""

    def __enter__(self) -> int:
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        return self.sock.getsockname()[1]

    def __exit__(self, *exc) -> None:
        self.sock.close()
