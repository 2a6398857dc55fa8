"""Blind queues on a real Label Studio: one project per annotator, each article to exactly K of them,
earlier assignments kept, concurrent pushes create each task once, pull merges the queues."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from collections import Counter

import pyarrow.parquet as pq
import pytest

from framestance.codebook import load
from framestance.labelstudio.accounts import add_local
from framestance.labelstudio.pull import project_titles, scrub_tasks, tables_from_tasks
from framestance.labelstudio.push import PushError, assign, push, queue_title
from framestance.pseudonym import Pseudonymiser

from .conftest import ROOT, subset_corpus

CB = load(ROOT / "schemas" / "codebook.yaml")


def test_assign_gives_exactly_k_balanced_seeded_and_keeps_earlier_work():
    arts = [f"a{i:03d}" for i in range(100)]
    held = {p: set() for p in ("p1", "p2", "p3")}
    first = assign(arts[:60], held, 2, seed=7)
    assert first == assign(arts[:60], {p: set() for p in held}, 2, seed=7)  # seeded
    assert first != assign(arts[:60], {p: set() for p in held}, 2, seed=8)
    counts = Counter(a for lst in first.values() for a in lst)
    assert set(counts.values()) == {2} and len(counts) == 60
    loads = [len(v) for v in first.values()]
    assert max(loads) - min(loads) <= 1
    # later: 40 new articles and a fourth annotator; nothing earlier moves
    held = {p: set(v) for p, v in first.items()} | {"p4": set()}
    later = assign(arts, held, 2, seed=7)
    assert all(not (set(later[p]) & held[p]) for p in held)  # only additions
    counts = Counter(a for p in held for a in held[p] | set(later[p]))
    assert set(counts.values()) == {2} and len(counts) == 100
    # the newcomer catches up as far as one per article allows: every new article, one of its two places
    assert sorted(later["p4"]) == arts[60:]
    totals = [len(held[p]) + len(later[p]) for p in ("p1", "p2", "p3")]
    assert max(totals) - min(totals) <= 1


@pytest.fixture(scope="module")
def team(studio):
    home, _conn = studio
    emails = [f"{n}-{uuid.uuid4().hex[:6]}@example.org" for n in ("ann", "ben", "cat", "dan")]
    logins = add_local(home, emails)
    assert all(login.created and len(login.password) >= 16 for login in logins)
    return home, {login.email: login for login in logins}


def test_blind_queues_each_article_to_exactly_k_and_nothing_moves(studio_client, team, corpus200, tmp_path):
    home, logins = team
    emails = sorted(logins)
    pseudo = Pseudonymiser.of_home(home.home)
    name = f"blind-{uuid.uuid4().hex[:8]}"
    small, big = subset_corpus(corpus200, 30, tmp_path / "small"), subset_corpus(corpus200, 60, tmp_path / "big")
    report = push(studio_client, small, name, CB, annotators=emails[:3], overlap=2, seed=3, pseudonym=pseudo.of)
    assert report.created == 60 and sum(report.load.values()) == 60
    titles = project_titles(studio_client.projects(name), name)
    assert sorted(titles) == sorted(queue_title(name, logins[e].pseudonym) for e in emails[:3])
    assert not any("@" in t for t in titles)  # titled with pseudonyms, never e-mails
    before = {t: set(studio_client.task_keys(pid)) for t, pid in titles.items()}
    per_article = Counter(a for keys in before.values() for a in keys)
    assert len(per_article) == 30 and set(per_article.values()) == {2}
    assert max(map(len, before.values())) - min(map(len, before.values())) <= 1
    # a re-push creates nothing
    again = push(studio_client, small, name, CB, annotators=emails[:3], overlap=2, seed=3, pseudonym=pseudo.of)
    assert again.created == 0 and again.already_present == 60
    # more articles and a fourth annotator: every earlier assignment stays, the newcomer gets new work
    push(studio_client, big, name, CB, annotators=emails, overlap=2, seed=3, pseudonym=pseudo.of)
    titles = project_titles(studio_client.projects(name), name)
    after = {t: set(studio_client.task_keys(pid)) for t, pid in titles.items()}
    assert all(before[t] <= after[t] for t in before)
    per_article = Counter(a for keys in after.values() for a in keys)
    assert len(per_article) == 60 and set(per_article.values()) == {2}
    newcomer = queue_title(name, logins[emails[3]].pseudonym)
    assert len(after[newcomer]) >= 10


def test_each_queue_holds_only_its_annotators_work_and_pull_merges_them(studio, studio_client, team, corpus200, tmp_path):
    from framestance.labelstudio.pull import run

    home, logins = team
    emails = sorted(logins)[:2]
    pseudo = Pseudonymiser.of_home(home.home)
    name = f"merge-{uuid.uuid4().hex[:8]}"
    push(studio_client, subset_corpus(corpus200, 10, tmp_path / "c"), name, CB, annotators=emails, overlap=2,
         pseudonym=pseudo.of)
    titles = project_titles(studio_client.projects(name), name)
    users = studio_client.users()
    for email in emails:
        pid = titles[queue_title(name, logins[email].pseudonym)]
        for key in studio_client.task_keys(pid).values():
            studio_client.annotate(key["id"], [{"from_name": "tone", "to_name": "text", "type": "choices",
                                                "value": {"choices": ["neutral"]}}], users[email])
    # each annotator's project holds their own annotations and nobody else's
    for email in emails:
        pid = titles[queue_title(name, logins[email].pseudonym)]
        tasks = json.loads(studio_client.export_snapshot(pid))
        who = {a["completed_by"]["email"] for t in tasks for a in t["annotations"]}
        assert who == {email}
    report = run(name, tmp_path / "snaps", tmp_path / "tables", CB, home.home)
    assert report.source == "server" and sorted(report.projects) == sorted(titles)
    rows = pq.read_table(tmp_path / "tables" / "annotations.parquet").to_pylist()
    assert len(rows) == 20
    assert {r["annotator"] for r in rows} == {logins[e].pseudonym for e in emails}
    assert Counter(r["article_id"] for r in rows) == Counter({a: 2 for a in {r["article_id"] for r in rows}})
    snapshot = report.snapshot.read_text()
    assert not any(e in snapshot for e in emails)
    # Community lets any member write into any project: pull refuses a queue with someone else's work
    from framestance.labelstudio.pull import PullError

    intruder_queue = titles[queue_title(name, logins[emails[0]].pseudonym)]
    task = next(iter(studio_client.task_keys(intruder_queue).values()))["id"]
    studio_client.annotate(task, [], users[emails[1]])
    tables_before = (tmp_path / "tables" / "annotations.parquet").read_bytes()
    with pytest.raises(PullError, match="written by someone else") as err:
        run(name, tmp_path / "snaps", tmp_path / "tables", CB, home.home)
    assert logins[emails[1]].pseudonym in str(err.value) and emails[1] not in str(err.value)
    assert (tmp_path / "tables" / "annotations.parquet").read_bytes() == tables_before
    assert len(list((tmp_path / "snaps").rglob("*.json"))) == 1


def test_blind_push_refuses_unknown_people_and_impossible_overlap(studio_client, team, corpus200):
    home, logins = team
    pseudo = Pseudonymiser.of_home(home.home)
    with pytest.raises(PushError, match="not users of .*nobody@example.org"):
        push(studio_client, corpus200, "refused", CB, annotators=["nobody@example.org"], pseudonym=pseudo.of)
    with pytest.raises(PushError, match="--overlap 3"):
        push(studio_client, corpus200, "refused", CB, annotators=sorted(logins)[:2], overlap=3, pseudonym=pseudo.of)
    with pytest.raises(PushError, match="longer than 50"):
        push(studio_client, corpus200, "a-project-name-that-is-far-too-long-x", CB, annotators=sorted(logins)[:1],
             pseudonym=pseudo.of)
    assert studio_client.find_project("refused") is None


def test_a_title_label_studio_would_refuse_fails_before_any_request(corpus200):
    from framestance.labelstudio.client import Client
    from framestance.labelstudio.server import LocalStudio

    dead = Client(f"http://127.0.0.1:{LocalStudio.free_port()}", "k" * 40)
    with pytest.raises(PushError, match="shorter than 3 characters"):
        push(dead, corpus200, "ab", CB)


@pytest.mark.parametrize("shared_home", [True, False], ids=["one-home-locks", "two-homes-sweep"])
def test_two_pushes_at_once_create_each_task_once(studio, studio_client, corpus200, tmp_path, shared_home):
    home, conn = studio
    name = f"race-{uuid.uuid4().hex[:8]}"
    env = {"PATH": "/usr/bin:/bin", "LABEL_STUDIO_URL": conn.url, "LABEL_STUDIO_API_KEY": conn.api_key,
           "HOME": str(tmp_path)}
    exe = [sys.executable, "-m", "framestance.cli", "push", str(corpus200), "--project", name,
           "--records", str(tmp_path / "records")]
    procs = [subprocess.Popen([*exe, "--home", str(tmp_path / ("h" if shared_home else f"h{i}"))], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    pid = studio_client.find_project(name)
    keys = studio_client.task_keys(pid)
    assert len(keys) == 200 and not any("duplicate_ids" in k for k in keys.values())
    created = sum(int(m) for out, _ in outs for m in re.findall(r"tasks created\D*(\d+)", out))
    # each push left its line in the study's ledger, with what it did
    from framestance.ledger import path_of, read

    steps = read(path_of(tmp_path / "records", name))
    assert [e["step"] for e in steps] == ["push", "push"] and sum(e["created"] for e in steps) == created
    assert {(e["how"], e["candidates"], e["project"]) for e in steps} == {("all", 200, name)}
    if shared_home:
        assert created == 200  # the lock: the second push found every task there
    else:
        assert created >= 200  # any task made twice was swept


def test_malformed_exports_stop_pull_with_one_line_naming_task_and_field():
    from framestance.labelstudio.pull import PullError

    good = {"id": 5, "data": {"article_id": "a1", "text_sha256": "0" * 64},
            "annotations": [{"id": 9, "completed_by": 1, "created_at": "2025-08-20T10:00:00Z",
                             "result": [{"from_name": "frame_spans", "value": {"start": 0, "end": 4, "labels": ["Economic"]}}]}]}

    def broken(path, value):
        task = json.loads(json.dumps(good))
        node = task
        for k in path[:-1]:
            node = node[k]
        if value is KeyError:
            del node[path[-1]]
        else:
            node[path[-1]] = value
        return task

    cases = {
        "created_at": (broken(["annotations", 0, "created_at"], "yesterday"), "task 5: annotation 9: created_at 'yesterday'"),
        "naive time": (broken(["annotations", 0, "created_at"], "2025-08-20T10:00:00"), "has no time zone"),
        "string offsets": (broken(["annotations", 0, "result", 0, "value", "start"], "0"), "start '0' is not an integer"),
        "annotation not an object": (broken(["annotations", 0], "x"), "task 5: annotation 0 is a str"),
        "string id": (broken(["id"], "5"), "task '5': id '5' is not an integer"),
        "null result item": (broken(["annotations", 0, "result", 0], None), "result item 0 is null"),
        "no data": (broken(["data"], KeyError), "task 5: has no `data` object"),
        "task not an object": ("just a string", "task 0: is a str"),
    }
    pseudo = Pseudonymiser.__new__(Pseudonymiser)
    pseudo.key, pseudo.mapping = b"k", {}
    for label, (task, message) in cases.items():
        tasks = scrub_tasks(json.dumps([task]).encode(), pseudo.of)
        with pytest.raises(PullError) as err:
            tables_from_tasks(tasks, CB)
        assert message in str(err.value), (label, str(err.value))
        assert "\n" not in str(err.value)
    assert tables_from_tasks(scrub_tasks(json.dumps([good]).encode(), pseudo.of), CB)["spans"].num_rows == 1


def test_gold_question_share_is_exact():
    from framestance.labelstudio.push import _gold_questions

    gold = [{"article_id": f"g{i}"} for i in range(10)]
    # 0.2 of the queue: 12 tasks of work + 3 gold = 15 (float arithmetic gave 4)
    assert len(_gold_questions("q", {f"a{i}" for i in range(12)}, set(), gold, 0.2, 0)) == 3
    assert len(_gold_questions("q", {f"a{i}" for i in range(12)}, set(), gold, 0.0, 0)) == 0
    held = _gold_questions("q", {f"a{i}" for i in range(12)}, {"g7"}, gold, 0.2, 0)
    assert "g7" in held and len(held) == 3  # what the queue holds stays


def test_a_ground_truth_star_in_a_queue_is_not_a_decision():
    pseudo = Pseudonymiser.__new__(Pseudonymiser)
    pseudo.key, pseudo.mapping = b"k", {}
    task = {"id": 1, "data": {"article_id": "a1"},
            "annotations": [{"id": 2, "completed_by": 5, "ground_truth": True, "result": []}]}
    rows = tables_from_tasks(scrub_tasks(json.dumps([task]).encode(), pseudo.of), CB)["annotations"].to_pylist()
    assert rows[0]["status"] == "submitted" and rows[0]["ground_truth"] is True
    task["framestance_queue"] = "adjudication"
    rows = tables_from_tasks(scrub_tasks(json.dumps([task]).encode(), pseudo.of), CB)["annotations"].to_pylist()
    assert rows[0]["status"] == "adjudicated"
