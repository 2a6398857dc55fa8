"""`dvc repro` for real, in a temporary git repository holding a copy of this project."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from .conftest import ROOT

BIN = Path(sys.executable).parent


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.org"}
    res = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, f"{args}: {res.stdout}\n{res.stderr}"
    return res


def _project_copy(dest: Path) -> Path:
    dest.mkdir()
    for name in ("dvc.yaml", "params.yaml", ".dvcignore", ".gitignore"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, dest / name)
    for name in ("corpus/raw", "src", ".dvc"):
        shutil.copytree(ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "tmp", "cache"))
    _run(["git", "init", "-q"], dest)
    _run(["git", "add", "-A"], dest)
    _run(["git", "commit", "-qm", "copy"], dest)
    return dest


def test_dvc_repro_normalise_twice_changes_nothing(tmp_path):
    repo = _project_copy(tmp_path / "repo")
    _run([str(BIN / "dvc"), "repro", "normalise"], repo)
    out = repo / "corpus" / "normalised"
    first = {n: (out / n).read_bytes() for n in ("articles.parquet", "rejects.parquet", "summary.json")}
    assert b"paywall stub" in first["rejects.parquet"] or len(first["rejects.parquet"]) > 0
    second = _run([str(BIN / "dvc"), "repro", "normalise"], repo)
    assert "didn't change" in second.stdout or "up to date" in second.stdout.lower(), second.stdout
    status = _run([str(BIN / "dvc"), "status"], repo)
    assert "up to date" in status.stdout.lower() or status.stdout.strip() == "", status.stdout
    # A forced re-run from scratch gives the same bytes.
    _run([str(BIN / "dvc"), "repro", "--force", "normalise"], repo)
    for name, data in first.items():
        assert (out / name).read_bytes() == data, name
    # Changing a parameter re-runs the stage.
    params = (repo / "params.yaml").read_text().replace("min_words: 30", "min_words: 60")
    (repo / "params.yaml").write_text(params)
    third = _run([str(BIN / "dvc"), "repro", "normalise"], repo)
    assert "Running stage 'normalise'" in third.stdout
