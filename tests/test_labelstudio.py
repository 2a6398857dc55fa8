"""Push and pull against a real Label Studio server (started once per session; no mocked HTTP)."""

from __future__ import annotations

import json
import uuid

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from framestance.codebook import load
from framestance.labelstudio.client import Client, StudioAuthError, StudioUnavailable
from framestance.labelstudio.interface import labeling_config
from framestance.labelstudio.pull import Pseudonymiser, PullError, check_codebook, scrub, slug, tables_from_snapshot, write_snapshot, write_tables
from framestance.labelstudio.push import PushError, push

from .conftest import ROOT

CB = load(ROOT / "schemas" / "codebook.yaml")


def _project() -> str:
    return f"test-{uuid.uuid4().hex[:10]}"


def _count(client: Client, name: str) -> int:
    pid = client.find_project(name)
    assert pid is not None, name
    return len(client.task_keys(pid))


def test_project_is_created_from_the_codebook(studio_client, corpus200):
    name = _project()
    rep = push(studio_client, corpus200, name, CB, n=10, seed=1)
    assert rep.project_created and rep.created == 10
    assert studio_client.project_config(rep.project_id).strip() == labeling_config(CB).strip()


def test_push_200_then_repush_creates_none(studio_client, corpus200):
    name = _project()
    first = push(studio_client, corpus200, name, CB)
    assert (first.candidates, first.skipped_duplicates, first.created) == (200, 5, 200)
    again = push(studio_client, corpus200, name, CB)
    assert (again.created, again.already_present, again.changed) == (0, 200, [])
    assert _count(studio_client, name) == 200
    keys = studio_client.task_keys(first.project_id)
    arts = {r["article_id"]: r for r in pq.read_table(corpus200 / "articles.parquet").to_pylist()}
    for aid, k in keys.items():
        assert arts[aid]["duplicate_of"] is None and k["text_sha256"] == arts[aid]["text_sha256"]


def test_seeded_stratified_sample(studio_client, corpus200):
    name = _project()
    rep = push(studio_client, corpus200, name, CB, n=40, seed=7, stratify="outlet")
    keys = studio_client.task_keys(rep.project_id)
    arts = {r["article_id"]: r for r in pq.read_table(corpus200 / "articles.parquet").to_pylist()}
    outlets = sorted(arts[a]["outlet"] for a in keys)
    assert len(keys) == 40 and {o: outlets.count(o) for o in set(outlets)} == {
        "Harbour Times": 10, "Pacific Daily": 10, "Valley Courier": 10, "Northwire": 10}
    # Same seed, same sample: a re-push with it adds nothing; another seed adds articles.
    assert push(studio_client, corpus200, name, CB, n=40, seed=7, stratify="outlet").created == 0
    assert push(studio_client, corpus200, name, CB, n=40, seed=8, stratify="outlet").created > 0


def test_changed_article_is_reported_not_duplicated(studio_client, corpus200, tmp_path):
    name = _project()
    push(studio_client, corpus200, name, CB, n=20, seed=3)
    table = pq.read_table(corpus200 / "articles.parquet")
    rows = table.to_pylist()
    pushed = set(studio_client.task_keys(studio_client.find_project(name)))
    victim = sorted(pushed)[0]
    for r in rows:
        if r["article_id"] == victim:
            r["text"] += " A correction was appended."
            r["text_sha256"] = "0" * 64
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), tmp_path / "articles.parquet")
    rep = push(studio_client, tmp_path, name, CB, n=20, seed=3)
    assert rep.changed == [victim] and rep.created == 0
    assert _count(studio_client, name) == 20


def test_interrupted_push_rerun_ends_with_exactly_200(studio, corpus200, monkeypatch):
    import framestance.labelstudio.push as push_mod

    monkeypatch.setattr(push_mod, "BATCH", 40)
    home, conn = studio
    client = Client(conn.url, conn.api_key)
    name = _project()
    port = int(conn.url.rsplit(":", 1)[1])
    stopped = []

    def stop_after_first_batches(done, total):
        if done >= 80 and not stopped:
            home.down()  # the server dies mid-push
            stopped.append(done)

    with pytest.raises(StudioUnavailable):
        push(client, corpus200, name, CB, progress=stop_after_first_batches, max_attempts=2)
    assert stopped
    conn2 = home.up(port=port)
    client = Client(conn2.url, conn2.api_key)
    assert 0 < _count(client, name) < 200
    rep = push(client, corpus200, name, CB)
    assert rep.created + rep.already_present == 200
    assert _count(client, name) == 200


def test_overlap_and_predictions(studio_client, corpus200, tmp_path):
    arts = pq.read_table(corpus200 / "articles.parquet").to_pylist()
    target = sorted(a["article_id"] for a in arts if a["duplicate_of"] is None)[0]
    preds = [{"article_id": target, "model_version": "frames-baseline-v1", "score": 0.7,
              "result": [{"from_name": "primary_frame", "to_name": "text", "type": "choices",
                          "value": {"choices": ["Political"]}}]}]
    (tmp_path / "p.jsonl").write_text("\n".join(json.dumps(p) for p in preds))
    name = _project()
    # every predicted article in the suggested arm (share 1): a pre-annotation for every annotator
    rep = push(studio_client, corpus200, name, CB, overlap=3, overlap_share=100, predictions=tmp_path / "p.jsonl",
               suggest_share=1.0)
    settings = studio_client.project_settings(rep.project_id)
    assert settings["maximum_annotations"] == 3 and settings["overlap_cohort_percentage"] == 100
    snap = json.loads(studio_client.export_snapshot(rep.project_id))
    with_pred = [t for t in snap if t["predictions"]]
    assert len(with_pred) == 1 and with_pred[0]["data"]["article_id"] == target
    assert with_pred[0]["predictions"][0]["model_version"] == "frames-baseline-v1"
    assert with_pred[0]["data"]["framestance_arm"] == "suggested" and rep.arms == {"suggested": 1}
    assert not any("framestance_arm" in t["data"] for t in snap if t["data"]["article_id"] != target)
    # share 0: the article is drawn into the control arm: no prediction on its task, its arm said
    other = _project()
    push(studio_client, corpus200, other, CB, predictions=tmp_path / "p.jsonl", suggest_share=0.0)
    (task,) = [t for t in json.loads(studio_client.export_snapshot(studio_client.find_project(other)))
               if t["data"]["article_id"] == target]
    assert task["predictions"] == [] and task["data"]["framestance_arm"] == "control"


def test_codebook_change_that_would_orphan_annotations_is_refused(studio_client, corpus200, tmp_path):
    name = _project()
    rep = push(studio_client, corpus200, name, CB, n=3, seed=0)
    task = next(iter(studio_client.task_keys(rep.project_id).values()))["id"]
    user = studio_client.ensure_user("orphan-check@example.org")
    studio_client.annotate(task, [{"from_name": "primary_frame", "to_name": "text", "type": "choices",
                                   "value": {"choices": ["Morality"]}}], user)
    text = (ROOT / "schemas" / "codebook.yaml").read_text().replace("name: Morality", "name: Ethics")
    (tmp_path / "cb.yaml").write_text(text)
    with pytest.raises(PushError, match="orphan"):
        push(studio_client, corpus200, name, load(tmp_path / "cb.yaml"), n=3, seed=0)
    # Adding a target is fine: the interface is updated in place.
    added = (ROOT / "schemas" / "codebook.yaml").read_text().replace(
        "# Optional: hidden gold", "    - id: sanctions\n      name: sanctions on Russia\n      definition: Economic sanctions imposed on Russia.\n\n# Optional: hidden gold")
    (tmp_path / "cb2.yaml").write_text(added)
    rep2 = push(studio_client, corpus200, name, load(tmp_path / "cb2.yaml"), n=3, seed=0)
    assert rep2.config_updated and "stance_sanctions" in studio_client.project_config(rep.project_id)


def test_pull_refuses_a_codebook_the_project_was_not_pushed_with_until_it_is_pushed_again(studio_client, corpus200, tmp_path):
    name = _project()
    rep = push(studio_client, corpus200, name, CB, n=2, seed=0)
    check_codebook(studio_client, {name: rep.project_id}, CB)  # the same codebook: no complaint
    # version 2: the same interface (the version is not on the page), another fingerprint
    (tmp_path / "cb.yaml").write_text((ROOT / "schemas" / "codebook.yaml").read_text().replace("version: 1", "version: 2", 1))
    v2 = load(tmp_path / "cb.yaml")
    with pytest.raises(PullError, match=rf"pushed with codebook {CB.name} v1 \({CB.fingerprint()}\), not .* v2"):
        check_codebook(studio_client, {name: rep.project_id}, v2)
    again = push(studio_client, corpus200, name, v2, n=2, seed=0)
    assert not again.config_updated  # the interface is unchanged; only the description is rewritten
    check_codebook(studio_client, {name: rep.project_id}, v2)
    with pytest.raises(PullError, match="pushed with codebook"):
        check_codebook(studio_client, {name: rep.project_id}, CB)


def _result(frames, primary, tone, stances, spans):
    res = [
        {"from_name": "frames", "to_name": "text", "type": "choices", "value": {"choices": frames}},
        {"from_name": "primary_frame", "to_name": "text", "type": "choices", "value": {"choices": [primary]}},
        {"from_name": "tone", "to_name": "text", "type": "choices", "value": {"choices": [tone]}},
    ]
    for target_id, value in stances.items():
        res.append({"from_name": f"stance_{target_id}", "to_name": "text", "type": "choices", "value": {"choices": [value]}})
    for k, (control, label, start, end, text) in enumerate(spans):
        res.append({"id": f"s{k}", "from_name": control, "to_name": "text", "type": "labels",
                    "value": {"start": start, "end": end, "text": text, "labels": [label]}})
    return res


def test_three_annotators_then_pull_returns_what_was_submitted(studio_client, corpus200, tmp_path):
    name = _project()
    rep = push(studio_client, corpus200, name, CB, n=5, seed=11, overlap=3)
    keys = studio_client.task_keys(rep.project_id)
    texts = {r["article_id"]: r["text"] for r in pq.read_table(corpus200 / "articles.parquet").to_pylist()}
    users = [studio_client.ensure_user(f"annotator{i}-{name}@example.org") for i in range(3)]
    submitted = []
    for k, (aid, key) in enumerate(sorted(keys.items())):
        for u, user in enumerate(users):
            frames = ["Political", "Security and defense"] if (k + u) % 2 else ["Economic"]
            primary = frames[0]
            tone = ["negative", "neutral", "positive"][(k + u) % 3]
            stance = {"russian_government": ["against", "neutral"][u % 2], "ukrainian_government": "favor",
                      "us_administration": "not addressed", "territory_for_ceasefire": "against"}
            s, e = 0, 8
            spans = [("frame_spans", primary, s, e, texts[aid][s:e]),
                     ("stance_evidence", "the Ukrainian government", 10, 20, texts[aid][10:20])]
            cancelled = (k, u) == (0, 2)
            studio_client.annotate(key["id"], [] if cancelled else _result(frames, primary, tone, stance, spans),
                                   user, lead_time=10.0 + u, was_cancelled=cancelled)
            submitted.append((aid, user, frames, primary, tone, stance, spans, cancelled))
    raw = studio_client.export_snapshot(rep.project_id)
    assert b"@example.org" in raw  # the server's export names the users ...
    with pytest.raises(PullError, match="not a pseudonym"):
        tables_from_snapshot(raw, CB)
    pseudo = Pseudonymiser(tmp_path / "key", tmp_path / "annotators.json")
    clean = scrub(raw, pseudo)
    assert b"@example.org" not in clean and b"annotator0" not in clean  # ... the stored snapshot does not
    pseudo.save()
    snap = write_snapshot(clean, tmp_path / "annotations", name)
    assert snap.parent.name == slug(name) and snap.name.endswith(".json") and snap.read_bytes() == clean
    assert write_snapshot(clean, tmp_path / "annotations", name) == snap  # content-addressed: not stored twice
    tables = tables_from_snapshot(clean, CB)
    write_tables(tables, tmp_path / "annotations" / slug(name))
    anns = tables["annotations"].to_pylist()
    assert len(anns) == 15
    assert sum(a["status"] == "cancelled" for a in anns) == 1
    assert len({a["annotator"] for a in anns}) == 3
    assert all(a["annotator"].startswith("ann-") and "@" not in a["annotator"] for a in anns)
    mapping = json.loads((tmp_path / "annotators.json").read_text())
    # the three annotators (and the admin, who is `updated_by` of the annotations it posted for them)
    assert {f"annotator{i}-{name}@example.org" for i in range(3)} <= set(mapping.values())
    assert all(k.startswith("ann-") for k in mapping)
    by = {(a["article_id"], a["annotator"]): a for a in anns}
    who = {u: pseudo({"id": u}) for u in users}
    ids = {f.name: f.id for f in CB.frames}
    for aid, user, frames, primary, tone, _stance, _spans, cancelled in submitted:
        a = by[(aid, who[user])]
        if cancelled:
            assert a["status"] == "cancelled" and a["primary_frame"] is None
            continue
        assert a["status"] == "submitted"
        assert a["frames"] == sorted(ids[f] for f in frames) and a["primary_frame"] == ids[primary] and a["tone"] == tone
        assert a["text_sha256"] == keys[aid]["text_sha256"] and a["lead_time"] == 10.0 + users.index(user)
        assert a["created_at"].tzinfo is not None and a["created_at"] <= a["updated_at"]
    stances = tables["stances"].to_pylist()
    assert len(stances) == 14 * 4
    st = {(s["article_id"], s["annotator"], s["target"]): s["value"] for s in stances}
    for aid, user, *_rest, stance, _spans, cancelled in [(x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7]) for x in submitted]:
        if not cancelled:
            for t, v in stance.items():
                assert st[(aid, who[user], t)] == {"not addressed": "not_addressed"}.get(v, v)
    spans = tables["spans"].to_pylist()
    assert len(spans) == 14 * 2
    for s in spans:
        assert texts[s["article_id"]][s["start"] : s["end"]] == s["text"]
        assert s["kind"] in ("frame_cue", "stance_evidence")
    assert {s["label"] for s in spans if s["kind"] == "stance_evidence"} == {"ukrainian_government"}


def test_wrong_key_and_server_down_give_clear_errors(studio):
    _home, conn = studio
    with pytest.raises(StudioAuthError, match="rejected the API key") as err:
        Client(conn.url, "f" * 40).find_project("x")
    assert "f" * 40 not in str(err.value)
    from framestance.labelstudio.server import LocalStudio

    dead = f"http://127.0.0.1:{LocalStudio.free_port()}"
    with pytest.raises(StudioUnavailable, match="not reachable"):
        Client(dead, conn.api_key).call(lambda: Client(dead, conn.api_key).ls.projects.list().items, retries=1)


def test_push_sends_a_selected_round_and_refuses_a_stale_one(studio_client, corpus200, tmp_path):
    from framestance.search import build_index
    from framestance.selection import select_round

    build_index(corpus200, tmp_path / "index")
    first = select_round(corpus200, tmp_path / "index", tmp_path / "sel", "talks", round_size=12, seed=2)
    chosen = {r["article_id"]: r["text_sha256"] for r in first.rows}
    name = _project()
    rep = push(studio_client, corpus200, name, CB, selected=chosen)
    assert rep.created == 12 and set(studio_client.task_keys(rep.project_id)) == set(chosen)
    stale = dict(chosen)
    stale[next(iter(stale))] = "0" * 64  # the article's text changed since it was selected
    other = _project()
    with pytest.raises(PushError, match="changed or left the corpus"):
        push(studio_client, corpus200, other, CB, selected=stale)
    assert studio_client.find_project(other) is None  # nothing pushed
