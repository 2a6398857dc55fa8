"""Scrubbing identities out of an export before it is stored (no server needed: the export shape
below is the one Label Studio 1.23 writes, drafts included)."""

from __future__ import annotations

import json

import pytest

from framestance.codebook import load
from framestance.labelstudio.pull import Pseudonymiser, PullError, canonical, scrub, scrub_tasks, tables_from_snapshot, tables_from_tasks

from .conftest import ROOT

CB = load(ROOT / "schemas" / "codebook.yaml")

EXPORT = [{
    "id": 3, "data": {"article_id": "a1", "text_sha256": "0" * 64, "text": "Some text here."},
    "updated_by": 1, "comment_authors": [{"id": 7, "email": "maria@example.org"}],
    "annotations": [{
        "id": 11, "completed_by": {"id": 7, "email": "maria@example.org", "first_name": "Maria", "last_name": "Q"},
        "updated_by": 1, "last_created_by": 7, "created_username": "Maria Q maria@example.org, 7",
        "created_ago": "3 minutes", "was_cancelled": False, "lead_time": 9.5,
        "created_at": "2025-08-20T10:00:00Z", "updated_at": "2025-08-20T10:01:00Z",
        "result": [{"from_name": "tone", "to_name": "text", "type": "choices", "value": {"choices": ["neutral"]}}],
    }],
    "drafts": [{"id": 2, "user": "maria@example.org", "created_username": "Maria Q maria@example.org, 7",
                "created_ago": "1 minute", "lead_time": 3.0, "result": [],
                "created_at": "2025-08-20T10:02:00Z", "updated_at": "2025-08-20T10:02:00Z"}],
}]


def test_scrub_leaves_no_identity_and_one_pseudonym_per_person(tmp_path):
    pseudo = Pseudonymiser(tmp_path / "key", tmp_path / "map.json")
    clean = scrub(json.dumps(EXPORT).encode(), pseudo)
    text = clean.decode()
    for leak in ("maria", "Maria", "example.org", "minutes ago", "created_ago", "created_username"):
        assert leak not in text, leak
    tables = tables_from_snapshot(clean, CB)
    rows = tables["annotations"].to_pylist()
    assert {r["status"] for r in rows} == {"submitted", "draft"}
    assert len({r["annotator"] for r in rows}) == 1  # the draft and the annotation: the same person
    assert scrub(json.dumps(EXPORT).encode(), pseudo) == clean  # same key, same bytes
    # what `pull` does with a fresh export (parsed once) is what a rebuild from the stored snapshot gives
    tasks = scrub_tasks(json.dumps(EXPORT).encode(), pseudo)
    assert canonical(tasks) == clean
    assert all(tables_from_tasks(tasks, CB)[k].equals(v) for k, v in tables.items())
    pseudo.save()
    assert "maria@example.org" in json.loads((tmp_path / "map.json").read_text()).values()


def test_a_lookalike_user_is_not_taken_for_a_pseudonym(tmp_path):
    export = json.loads(json.dumps(EXPORT))
    export[0]["annotations"][0]["completed_by"] = "ann-marie@example.org"
    with pytest.raises(PullError, match="not a pseudonym"):
        tables_from_snapshot(json.dumps(export).encode(), CB)
    clean = scrub(json.dumps(export).encode(), Pseudonymiser(tmp_path / "key", tmp_path / "map.json"))
    assert b"ann-marie" not in clean


def test_not_about_the_issue_drops_the_labels_given_before_the_box_hid_them(tmp_path):
    from .conftest import choices_result

    export = json.loads(json.dumps(EXPORT))
    ann = export[0]["annotations"][0]
    relevance = {"from_name": CB.RELEVANCE, "to_name": "text", "type": "choices",
                 "value": {"choices": [CB.relevance[1].name]}}
    span = {"from_name": CB.FRAME_SPANS, "to_name": "text", "type": "labels",
            "value": {"start": 0, "end": 4, "text": "Some", "labels": [CB.frames[0].name]}}
    ann["result"] = [*choices_result(CB, "policy", "neutral", "favor"), span, relevance]
    second = json.loads(json.dumps(ann)) | {"id": 12, "result": [*choices_result(CB, "policy", "neutral", "favor"), span]}
    export[0]["annotations"].append(second)  # the box unticked (or a snapshot from before it): relevant
    clean = scrub(json.dumps(export).encode(), Pseudonymiser(tmp_path / "key", tmp_path / "map.json"))
    tables = {k: v.to_pylist() for k, v in tables_from_snapshot(clean, CB).items()}
    by_id = {r["annotation_id"]: r for r in tables["annotations"]}
    off, on = by_id[11], by_id[12]
    assert (off["relevance"], off["primary_frame"], off["frames"], off["tone"]) == ("not_relevant", None, [], None)
    assert (on["relevance"], on["primary_frame"], on["tone"]) == ("relevant", "policy", "neutral")
    assert by_id[2]["relevance"] == "relevant"  # a draft without the box
    assert {r["annotation_id"] for r in tables["stances"]} == {12}
    assert {r["annotation_id"] for r in tables["spans"]} == {12}


def test_processes_starting_at_once_share_one_pseudonym_key(tmp_path):
    """Two pushes at once on a new home once left one of them without a key (it read the file the
    other had created but not yet written): every process reads the one key, never an empty one."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    for round_ in range(5):
        home = tmp_path / f"h{round_}"
        with ctx.Pool(8) as pool:
            keys = pool.map(_key_of, [home] * 8)
        assert len(set(keys)) == 1 and len(keys[0]) == 64, keys
        assert (home / "pseudonym.key").stat().st_mode & 0o777 == 0o600
        assert [p.name for p in home.iterdir()] == ["pseudonym.key"]  # no temporary file left


def _key_of(home):
    return Pseudonymiser.of_home(home).key.decode()
