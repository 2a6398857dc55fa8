"""`dvc repro` for real, in a temporary git repository holding a copy of this project."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

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
    for name in ("corpus/raw", "src", ".dvc", "annotations", "schemas", "releases"):
        if name == "releases" and not (ROOT / name).exists():
            continue
        shutil.copytree(ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "tmp", "cache"))
    _run(["git", "init", "-q"], dest)
    _run(["git", "add", "-A"], dest)
    _run(["git", "commit", "-qm", "copy"], dest)
    return dest


def _published(repo: Path) -> dict[str, bytes]:
    params = yaml.safe_load((repo / "params.yaml").read_text())
    root = repo / "dist" / params["study"]["name"] / params["publish"]["version"]
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_dvc_repro_whole_pipeline_twice_and_in_two_clean_repos(tmp_path):
    repo = _project_copy(tmp_path / "repo")
    first = _run([str(BIN / "dvc"), "repro"], repo)
    for stage in ("normalise", "pull", "validate", "agreement", "aggregate", "publish"):
        assert f"Running stage '{stage}'" in first.stdout, first.stdout
    assert "no Label Studio configured: using the snapshot" in first.stdout + first.stderr
    published = _published(repo)
    assert {"README.md", "MANIFEST.json", "codebook.yaml"} <= set(published)
    assert any(name.startswith("data/default/train-") for name in published)
    params = yaml.safe_load((repo / "params.yaml").read_text())
    record = Path("releases") / params["study"]["name"] / f"{params['publish']['version']}.json"
    assert (repo / record).read_bytes() == (ROOT / record).read_bytes()  # the tracked record is what the pipeline writes
    out = repo / "corpus" / "normalised"
    normalised = {n: (out / n).read_bytes() for n in ("articles.parquet", "rejects.parquet", "summary.json")}

    # Again: pull always runs (it may find new annotations), but its tables are the same bytes,
    # so nothing downstream re-runs.
    second = _run([str(BIN / "dvc"), "repro"], repo)
    for stage in ("normalise", "validate", "agreement", "aggregate", "publish"):
        assert f"Stage '{stage}' didn't change, skipping" in second.stdout, second.stdout
    assert _published(repo) == published

    # A second clean repository gives byte-identical published files.
    other = _project_copy(tmp_path / "other")
    _run([str(BIN / "dvc"), "repro"], other)
    assert _published(other) == published
    assert (other / "metrics" / "agreement.json").read_bytes() == (repo / "metrics" / "agreement.json").read_bytes()

    # A forced normalise gives the same bytes; a changed parameter re-runs the stage.
    _run([str(BIN / "dvc"), "repro", "--force", "normalise"], repo)
    for name, data in normalised.items():
        assert (out / name).read_bytes() == data, name
    params = (repo / "params.yaml").read_text().replace("min_words: 30", "min_words: 60")
    (repo / "params.yaml").write_text(params)
    third = _run([str(BIN / "dvc"), "repro", "normalise"], repo)
    assert "Running stage 'normalise'" in third.stdout


def test_a_quality_gate_stops_the_pipeline_before_publish(tmp_path):
    repo = _project_copy(tmp_path / "repo")
    params = (repo / "params.yaml").read_text().replace("primary_frame: 0.3", "primary_frame: 0.99")
    (repo / "params.yaml").write_text(params)
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1"}
    res = subprocess.run([str(BIN / "dvc"), "repro"], cwd=repo, env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode != 0
    assert "quality gate: alpha for primary_frame" in res.stdout + res.stderr
    # the gold is written (adjudication works on it) with the gates' report; publish refuses it, writing nothing
    assert "Running stage 'publish'" in res.stdout and "refusing to publish: quality gate" in res.stdout + res.stderr
    gates = yaml.safe_load((repo / "corpus" / "gold" / "gates.json").read_text())
    assert gates["passed"] is False and (repo / "corpus" / "gold" / "gold.parquet").exists()
    assert not (repo / "dist").exists()
