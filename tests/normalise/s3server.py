"""An S3 API for the tests: moto's server (a separate process, HTTP on 127.0.0.1, a free port),
reached only through the AWS_* environment, as a real deployment would be."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

KEYS = {"AWS_ACCESS_KEY_ID": "framestance-test", "AWS_SECRET_ACCESS_KEY": "framestance-test-secret",
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def s3_server(log: Path) -> Iterator[dict[str, str]]:
    """A running moto S3 server; yields the environment that reaches it (set in os.environ while it runs)."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + 30
            while True:  # ready in about half a second
                if proc.poll() is not None:
                    raise RuntimeError(f"moto server exited with {proc.returncode}; see {log}")
                try:
                    urllib.request.urlopen(url + "/moto-api/", timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            saved = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
            for k in saved:
                del os.environ[k]
            env = {**KEYS, "AWS_ENDPOINT_URL": url}
            os.environ.update(env)
            try:
                yield env
            finally:
                for k in env:
                    os.environ.pop(k, None)
                os.environ.update(saved)
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def bucket(name: str):
    """A new bucket on the server the environment names; its file system."""
    import pyarrow.fs as pafs

    fs = pafs.S3FileSystem(endpoint_override=os.environ["AWS_ENDPOINT_URL"], allow_bucket_creation=True)
    fs.create_dir(name)
    return fs


def upload(fs, folder: Path, prefix: str) -> int:
    """Every file under `folder` copied to `prefix` (bucket/key prefix); how many."""
    n = 0
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            with fs.open_output_stream(f"{prefix}/{p.relative_to(folder).as_posix()}") as f:
                f.write(p.read_bytes())
            n += 1
    return n


def objects(fs, prefix: str) -> dict[str, bytes]:
    """Every object under `prefix`, by its key below it."""
    import pyarrow.fs as pafs

    infos = fs.get_file_info(pafs.FileSelector(prefix, recursive=True, allow_not_found=True))
    out = {}
    for i in infos:
        if i.type == pafs.FileType.File:
            with fs.open_input_stream(i.path) as f:
                out[i.path[len(prefix) + 1:]] = f.read()
    return out
