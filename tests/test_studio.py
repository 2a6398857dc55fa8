"""The local server's secrets, file modes and port, on a fresh studio home (a real `label-studio
init` and start), and pull's fallback when the server `studio up` started is down."""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path

import pytest

from framestance.codebook import load

from .conftest import ROOT

CB = load(ROOT / "schemas" / "codebook.yaml")


def _cmdlines() -> list[str]:
    out = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                out.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
            except OSError:
                pass
    return out


@pytest.fixture(scope="module")
def fresh(studio, tmp_path_factory):
    """A studio home of its own whose init was watched: every command line seen while it ran."""
    from framestance.labelstudio.server import Connection, LocalStudio

    home, _conn = studio  # the session's server: label-studio is installed
    studio2 = LocalStudio(tmp_path_factory.mktemp("studio") / "home", venv=home.venv)
    conn = Connection("", "-" + "a" * 39, "dash@example.org", "-starts-with-a-dash-" + os.urandom(6).hex())
    seen: list[str] = []
    done = threading.Event()

    def watch():
        while not done.is_set():
            seen.extend(c for c in _cmdlines() if "label-studio" in c)
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        studio2.home.mkdir(parents=True)
        studio2._init_template(conn)
    finally:
        done.set()
        watcher.join()
    assert any(" init" in c for c in seen), "the watcher never saw init run"
    return studio2, conn, seen


def test_no_secret_on_a_command_line_and_server_files_owner_only(fresh):
    studio2, conn, seen = fresh
    assert (studio2.template / "label_studio.sqlite3").exists()
    assert not any(conn.password in c or conn.api_key in c for c in seen)
    up = studio2.up(port=None)
    try:
        assert conn.password not in " ".join(_cmdlines()) and up.api_key not in " ".join(_cmdlines())
        for folder in (studio2.home, studio2.data, studio2.template):
            assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
        for path in [*studio2.data.rglob("*.sqlite3*"), studio2.env_file, studio2.log_file]:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        log = studio2.log_file.read_text(errors="replace")
        assert up.password not in log and up.api_key not in log
    finally:
        studio2.down()


def test_port_is_kept_across_restarts_and_can_be_chosen(fresh):
    from framestance.labelstudio.server import LocalStudio, StudioError

    studio2, _conn, _seen = fresh
    first = studio2.up()
    studio2.down()
    again = studio2.up()
    assert again.url == first.url  # bookmarks and invite links keep working
    with pytest.raises(StudioError, match="already up"):
        studio2.up(port=LocalStudio.free_port())
    studio2.down()
    port = LocalStudio.free_port()
    moved = studio2.up(port=port)
    assert moved.url == f"http://127.0.0.1:{port}"
    studio2.down()


def test_pull_uses_the_snapshot_when_the_studio_server_is_down(fresh, tmp_path, monkeypatch):
    """`studio up` then `studio down` must not break `dvc repro` on the bundled snapshot; a server
    the user named in LABEL_STUDIO_URL must answer."""
    from framestance.labelstudio.client import StudioUnavailable
    from framestance.labelstudio.pull import run

    studio2, _conn, _seen = fresh
    studio2.up()
    studio2.down()
    monkeypatch.delenv("LABEL_STUDIO_URL", raising=False)
    monkeypatch.delenv("LABEL_STUDIO_API_KEY", raising=False)
    report = run("sample", ROOT / "annotations", tmp_path / "tables", CB, studio2.home)
    assert report.source == "snapshot" and "is not running" in report.warning
    assert (tmp_path / "tables" / "annotations.parquet").exists()
    conn = studio2.connection()
    assert conn is not None
    monkeypatch.setenv("LABEL_STUDIO_URL", conn.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", conn.api_key)
    with pytest.raises(StudioUnavailable, match="not reachable"):
        run("sample", ROOT / "annotations", tmp_path / "tables2", CB, studio2.home)
    assert not (tmp_path / "tables2").exists()
