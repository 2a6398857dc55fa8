"""Incremental pull on a real Label Studio: after new, edited, cancelled and deleted annotations,
a draft, a prediction, a deleted task and a new task, a pull that exports only the changed tasks
writes a snapshot byte-identical to a full pull's, and a pull with nothing changed exports nothing."""

from __future__ import annotations

import shutil
import uuid

import httpx

from framestance.codebook import load

from .conftest import ROOT, choices_result, subset_corpus

CB = load(ROOT / "schemas" / "codebook.yaml")


def test_incremental_pull_equals_a_full_pull_after_every_kind_of_change(studio, studio_client, corpus200, tmp_path):
    from framestance.labelstudio.pull import run
    from framestance.labelstudio.push import push

    home, conn = studio
    name = f"inc-{uuid.uuid4().hex[:6]}"
    push(studio_client, subset_corpus(corpus200, 12, tmp_path / "c12"), name, CB)
    pid = studio_client.find_project(name)
    keys = sorted(studio_client.task_keys(pid).values(), key=lambda k: k["id"])
    admin = studio_client.whoami()["id"]
    ann = {k["id"]: studio_client.annotate(k["id"], choices_result(CB, "economic", "neutral", "favor"), admin, lead_time=9.0)
           for k in keys[:8]}
    snaps, tables = tmp_path / "snaps", tmp_path / "tables"
    first = run(name, snaps, tables, CB, home.home)
    assert first.fetched == 12
    again = run(name, snaps, tables, CB, home.home)
    assert again.fetched == 0 and again.snapshot == first.snapshot

    ls, H = studio_client.ls, {"Authorization": f"Token {conn.api_key}"}
    ls.annotations.update(id=ann[keys[0]["id"]], result=choices_result(CB, "political", "negative", "against"))  # edited
    ls.annotations.delete(id=ann[keys[1]["id"]])  # deleted
    studio_client.annotate(keys[8]["id"], choices_result(CB, "legality", "positive", "neutral"), admin)  # new
    studio_client.annotate(keys[9]["id"], [], admin, was_cancelled=True)  # skipped
    r = httpx.post(f"{conn.url}/api/tasks/{keys[10]['id']}/drafts", headers=H,
                   json={"result": choices_result(CB, "economic", "neutral", "favor"), "lead_time": 2})  # a draft
    assert r.status_code == 201
    r = httpx.post(f"{conn.url}/api/predictions/", headers=H, json={
        "task": keys[2]["id"], "model_version": "m1", "score": 0.5,
        "result": choices_result(CB, "economic", "neutral", "favor")})  # a prediction on an annotated task
    assert r.status_code == 201
    studio_client.delete_tasks(pid, [keys[3]["id"]])  # a task gone, with its annotation
    push(studio_client, subset_corpus(corpus200, 13, tmp_path / "c13"), name, CB)  # a new task

    # the incremental pull starts from the newest snapshot of its folder: the first pull's
    shutil.copytree(snaps, tmp_path / "inc")
    inc = run(name, tmp_path / "inc", tmp_path / "inc-tables", CB, home.home)
    full = run(name, tmp_path / "full", tmp_path / "full-tables", CB, home.home, full=True)
    assert inc.snapshot.read_bytes() == full.snapshot.read_bytes()
    assert inc.snapshot.name.split("-", 1)[1] == full.snapshot.name.split("-", 1)[1]
    # exported: the six tasks whose annotations, draft or prediction changed, and two new tasks (the
    # new article, and the deleted task's article, which the push made again)
    assert inc.fetched == 8 and full.fetched == 13
    for t in ("annotations", "stances", "spans"):
        assert (tmp_path / "inc-tables" / f"{t}.parquet").read_bytes() == (tmp_path / "full-tables" / f"{t}.parquet").read_bytes()
