"""The whole normalise job: accounting, dedup, determinism, outputs, the CLI contract."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from framestance.cli import app
from framestance.normalise.core import article_id, canonical_url
from framestance.schema import ARTICLE, REJECT

from ..conftest import ROOT, SAMPLE, body, write


def test_bundled_sample_summary_adds_up(normalise_dir, tmp_path):
    summary, arts, rejs = normalise_dir(SAMPLE)
    stored = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert stored["inputs"] == stored["inputs_with_article"] + stored["rejected"]
    assert stored["articles"] == stored["main"] + stored["related"] == len(arts)
    assert stored["articles"] == stored["unique"] + stored["exact_duplicates"] + stored["near_duplicates"]
    assert stored["rejected"] == len(rejs) == sum(stored["rejects_by_reason"].values())
    # Every input is in the corpus or in the rejects: one row per (file, position).
    main_inputs = {(a["source_path"], a["position"]) for a in arts if a["relation"] == "main"}
    rejected = {(r["source_path"], r["position"]) for r in rejs}
    assert not main_inputs & rejected
    assert len(main_inputs) + len(rejected) == stored["inputs"]
    assert stored == {
        "inputs": 14, "inputs_with_article": 9, "rejected": 5, "articles": 10, "main": 9, "related": 1,
        "exact_duplicates": 1, "near_duplicates": 1, "unique": 8,
        "rejects_by_reason": {"empty": 1, "not an article": 2, "parse error": 1, "undecodable": 1}, "skipped": {},
    }
    files = {p.relative_to(SAMPLE).as_posix() for p in SAMPLE.rglob("*") if p.is_file()}
    seen = {Path(a["source_path"]).relative_to(SAMPLE).as_posix() for a in arts} | {
        Path(r["source_path"]).relative_to(SAMPLE).as_posix() for r in rejs
    }
    assert seen == files


def test_outputs_follow_the_schema(normalise_dir, tmp_path):
    normalise_dir(SAMPLE)
    assert pq.read_schema(tmp_path / "out" / "articles.parquet").equals(ARTICLE)
    assert pq.read_schema(tmp_path / "out" / "rejects.parquet").equals(REJECT)
    arts = pq.read_table(tmp_path / "out" / "articles.parquet").to_pylist()
    for a in arts:
        for p in a["paragraphs"]:
            piece = a["text"][p["start"] : p["end"]]
            assert piece and piece == piece.strip() and "\n\n" not in piece
        assert "\n\n".join(a["text"][p["start"] : p["end"]] for p in a["paragraphs"]) == a["text"]
        assert len(a["authors"]) == len(a["author_roles"])
        if a["relation"] == "related":
            assert a["parent_id"] in {x["article_id"] for x in arts if x["relation"] == "main"}
    assert len({a["article_id"] for a in arts}) == len(arts)


def test_exact_and_near_duplicates_are_marked_not_dropped(normalise_dir, tmp_path):
    base = body(12, "reservoir levels")
    write(tmp_path / "in" / "a.txt", "Reservoir levels fall again\n" + base)
    write(tmp_path / "in" / "b.txt", "Reservoir levels fall again\n" + base.upper().replace(".", " .") )
    near = base.replace("Sentence 11", "Line eleven").replace("Sentence 10", "Line ten")
    write(tmp_path / "in" / "c.txt", "Reservoir levels fall further\n" + near)
    write(tmp_path / "in" / "d.txt", "Another story entirely\n" + body(12, "school meals policy"))
    summary, arts, _ = normalise_dir(tmp_path / "in")
    by = {a["source_path"].split("/")[-1]: a for a in arts}
    a_id = by["a.txt"]["article_id"]
    assert by["a.txt"]["duplicate_of"] is None and by["a.txt"]["cluster_id"] == a_id
    assert by["b.txt"]["duplicate_of"] == a_id and by["b.txt"]["cluster_id"] == a_id
    assert by["c.txt"]["duplicate_of"] == a_id
    assert by["d.txt"]["duplicate_of"] is None and by["d.txt"]["cluster_id"] == by["d.txt"]["article_id"]
    assert (summary.exact_duplicates, summary.near_duplicates, summary.unique) == (1, 1, 2)


def test_threshold_comes_from_params(normalise_dir, tmp_path):
    base = body(12, "reservoir levels")
    write(tmp_path / "in" / "a.txt", "Reservoir levels fall again\n" + base)
    near = base.replace("Sentence 11", "Line eleven").replace("Sentence 10", "Line ten").replace("Sentence 9", "Line nine")
    write(tmp_path / "in" / "c.txt", "Reservoir levels fall further\n" + near)
    strict, _, _ = normalise_dir(tmp_path / "in", out="strict", near_dup_threshold=0.95)
    loose, _, _ = normalise_dir(tmp_path / "in", out="loose", near_dup_threshold=0.5)
    assert strict.near_duplicates == 0 and loose.near_duplicates == 1


def test_same_url_twice_gets_a_new_id_and_points_to_the_first(normalise_dir, tmp_path):
    rec = lambda t: json.dumps({"url": "https://Example.org/story?utm_source=x", "title": "T", "text": body(4, t)})  # noqa: E731
    write(tmp_path / "in" / "r.jsonl", rec("first version") + "\n" + rec("completely other words here") + "\n")
    _, arts, _ = normalise_dir(tmp_path / "in")
    assert arts[0]["article_id"] == article_id(canonical_url("https://example.org/story"), "", 0)
    assert arts[0]["url"] == "https://example.org/story"
    assert arts[1]["article_id"] != arts[0]["article_id"]
    assert arts[1]["duplicate_of"] == arts[0]["article_id"]


def test_article_id_from_file_hash_and_position_without_url(normalise_dir, tmp_path):
    write(tmp_path / "in" / "x.txt", "A page without a link\n" + body(4, "id topic"))
    _, arts, _ = normalise_dir(tmp_path / "in")
    from framestance.normalise.text import sha256

    digest = sha256((tmp_path / "in" / "x.txt").read_bytes())
    assert arts[0]["article_id"] == sha256(f"file:{digest}:0")[:20]
    assert arts[0]["source_sha256"] == digest


def test_byte_identical_across_runs_and_worker_counts(normalise_dir, tmp_path):
    for i in range(150):  # several raw batches, so that workers really split the work
        write(tmp_path / "in" / f"p{i:03d}.txt", f"Generated page number {i}\nBy Writer {i % 7}\n{i % 5 + 1} hours ago\n" + body(6, f"topic {i % 40}"))
    shutil.copytree(SAMPLE, tmp_path / "in" / "sample")
    normalise_dir(tmp_path / "in", out="one", workers=1)
    normalise_dir(tmp_path / "in", out="two", workers=2)
    normalise_dir(tmp_path / "in", out="again", workers=2)
    for name in ("articles.parquet", "rejects.parquet", "summary.json"):
        one = (tmp_path / "one" / name).read_bytes()
        assert one == (tmp_path / "two" / name).read_bytes(), name
        assert one == (tmp_path / "again" / name).read_bytes(), name


def test_existing_outputs_are_not_overwritten_without_force(normalise_dir, tmp_path):
    from framestance.normalise import OutputExists

    normalise_dir(SAMPLE)
    before = (tmp_path / "out" / "articles.parquet").read_bytes()
    with pytest.raises(OutputExists):
        normalise_dir(SAMPLE)
    assert (tmp_path / "out" / "articles.parquet").read_bytes() == before
    normalise_dir(SAMPLE, force=True)
    assert not list((tmp_path / "out").glob(".*.tmp"))


runner = CliRunner()


def test_cli_prints_summary_and_reject_lines(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, ["normalise", str(SAMPLE), "--out", "o", "--retrieved-at", "2025-08-18T09:30:00Z", "--workers", "1"])
    assert res.exit_code == 0, res.output
    out = res.stdout
    assert "inputs" in out and "14" in out and "near duplicates" in out
    assert "rejected" in res.stderr and "paywall_stub.txt: not an article: paywall stub" in res.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["normalise", "missing-dir", "--out", "o"], "missing-dir: no such file or directory"),
        (["normalise", "nothing*.txt", "--out", "o"], "nothing*.txt: no file matches this pattern"),
        (["normalise", str(SAMPLE), "--out", "o", "--retrieved-at", "last tuesday"], "not an ISO-8601 date-time"),
        (["normalise", str(SAMPLE), "--out", "o", "--page-type-article-loss", "5"],
         "page_type_article_loss 5.0: must be a share from 0 (no page-type check) to 0.25"),
        (["normalise", str(SAMPLE), "--out", "o", "--page-type-article-loss", "-0.1"], "page_type_article_loss -0.1: must be a share"),
        (["normalise", str(SAMPLE), "--out", "o", "--page-type-article-loss", "nan"], "page_type_article_loss nan: must be a share"),
    ],
)
def test_cli_user_mistakes_are_one_line_without_traceback(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, args)
    assert res.exit_code == 2
    assert message in res.stderr
    assert "Traceback" not in res.output + res.stderr
    assert len([ln for ln in res.stderr.splitlines() if ln.startswith("error:")]) == 1


def test_cli_refuses_to_overwrite(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["normalise", str(SAMPLE / "dumps"), "--out", "o", "-q", "--workers", "1"]
    assert runner.invoke(app, args).exit_code == 0
    res = runner.invoke(app, args)
    assert res.exit_code == 2 and "already exist (use --force to overwrite)" in res.stderr
    assert runner.invoke(app, [*args, "--force"]).exit_code == 0


def test_console_script_runs_in_a_subprocess(tmp_path):
    exe = Path(sys.executable).parent / "framestance"
    res = subprocess.run([str(exe), "normalise", str(SAMPLE / "dumps"), "--out", str(tmp_path / "o"), "-q"],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "o" / "articles.parquet").exists()
