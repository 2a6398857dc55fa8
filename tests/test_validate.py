"""Every check of `framestance validate` fed a table that violates it: the failure row is asserted."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from framestance.codebook import load
from framestance.validate import load_tables, validate

from .conftest import ROOT

CB = load(ROOT / "schemas" / "codebook.yaml")


@pytest.fixture
def tables(sample):
    return load_tables({"corpus": sample / "corpus", "annotations": sample / "annotations"})


def failures(tables, min_annotators: int = 1) -> pd.DataFrame:
    return validate(tables, CB, min_annotators=min_annotators).failures.to_pandas()


def only(df: pd.DataFrame, check: str) -> pd.DataFrame:
    hit = df[df["check"] == check]
    assert not hit.empty, f"no failure of {check!r} in:\n{df.to_string()}"
    return hit


def set_frames(t: pd.DataFrame, i: int, frames: list[str]) -> None:
    cells = t["frames"].tolist()
    cells[i] = np.array(frames, dtype=object)
    t["frames"] = pd.Series(cells, index=t.index, dtype=object)


def first_submitted(t: pd.DataFrame) -> int:
    return int(t.index[t["status"] == "submitted"][0])


def test_the_sample_is_valid(tables):
    df = failures(tables, min_annotators=2)
    assert df.empty, df.to_string()
    assert set(tables) == {"articles", "annotations", "stances", "spans", "tasks", "answers"}


def test_duplicate_article_id(tables):
    arts = tables["articles"]
    arts.loc[1, "article_id"] = arts.loc[0, "article_id"]
    hit = only(failures(tables), "field_uniqueness")
    assert set(hit["index"]) == {0, 1} and set(hit["table"]) == {"articles"}


def test_annotation_of_an_unknown_article(tables):
    ann = tables["annotations"]
    i = first_submitted(ann)
    ann.loc[i, "article_id"] = "0000000000000000dead"
    hit = only(failures(tables), "refers to an article of the corpus")
    assert hit[hit["table"] == "annotations"][["index", "value"]].values.tolist() == [[i, "0000000000000000dead"]]


def test_two_annotations_by_one_annotator_on_one_article(tables):
    ann = tables["annotations"]
    i = first_submitted(ann)
    extra = ann.loc[[i]].copy()
    extra["annotation_id"] = 999
    extra.index = [len(ann)]
    tables["annotations"] = pd.concat([ann, extra])
    hit = only(failures(tables), "at most 1 submitted annotation(s) per article and annotator")
    assert set(hit["index"]) == {i, len(ann)}


def test_frame_tone_and_stance_outside_the_codebook(tables):
    ann, st = tables["annotations"], tables["stances"]
    i = first_submitted(ann)
    set_frames(ann, i, ["economic", "astrology"])
    ann.loc[i, "primary_frame"] = "economic"
    ann.loc[i, "tone"] = "furious"
    st.loc[0, "value"] = "maybe"
    st.loc[1, "target"] = "the moon"
    df = failures(tables)
    assert only(df, "frames in the codebook")["index"].tolist() == [i]
    assert only(df, "tone in the codebook")["value"].tolist() == ["furious"]
    assert only(df, "stance value in the codebook")[["index", "value"]].values.tolist() == [[0, "maybe"]]
    assert only(df, "stance target in the codebook")["value"].tolist() == ["the moon"]


def test_primary_frame_not_among_the_frames_present(tables):
    ann = tables["annotations"]
    i = first_submitted(ann)
    set_frames(ann, i, ["economic"])
    ann.loc[i, "primary_frame"] = "morality"
    assert only(failures(tables), "primary frame among the frames marked present")[["index", "value"]].values.tolist() == [[i, "morality"]]


def test_submitted_annotation_without_primary_frame(tables):
    ann = tables["annotations"]
    i = first_submitted(ann)
    ann.loc[i, "primary_frame"] = None
    assert only(failures(tables), "submitted annotation has a primary frame")["index"].tolist() == [i]


def test_not_relevant_annotation_carries_no_other_label(tables):
    ann, st = tables["annotations"], tables["stances"]
    i = first_submitted(ann)
    ann.loc[i, "relevance"] = "not_relevant"
    df = failures(tables)
    # its frame, tone and stances are left over: each named; no label is required of it
    assert only(df, "not relevant annotation has no frame or tone")["index"].tolist() == [i]
    assert only(df, "not relevant annotation has no stance")["index"].tolist() == [i]
    ann.loc[i, ["primary_frame", "tone"]] = None
    set_frames(ann, i, [])
    tables["stances"] = st[st["annotation_id"] != ann.loc[i, "annotation_id"]]
    assert failures(tables).empty  # as pull writes it: valid, though it has no primary frame, tone or stance
    ann.loc[i, "relevance"] = "maybe"
    assert only(failures(tables), "isin(['relevant', 'not_relevant'])")["index"].tolist() == [i]


def test_missing_stance_for_a_target(tables):
    st, ann = tables["stances"], tables["annotations"]
    i = first_submitted(ann)
    aid = ann.loc[i, "annotation_id"]
    drop = st.index[(st["annotation_id"] == aid) & (st["target"] == CB.targets[0].id)]
    tables["stances"] = st.drop(index=drop)
    assert only(failures(tables), "a stance for every target of the codebook")[["index", "value"]].values.tolist() == [[i, str(aid)]]


def test_span_out_of_range_wrong_text_wrong_label(tables):
    sp = tables["spans"]
    sp.loc[0, "end"] = 10**6
    sp.loc[1, "text"] = "words nobody selected"
    sp.loc[2, "start"], sp.loc[2, "end"] = 30, 20
    k = int(sp.index[sp["kind"] == "frame_cue"][0])
    sp.loc[k, "label"] = "ukrainian_government"  # a target's id, not a frame
    df = failures(tables)
    assert 0 in only(df, "end <= len(article text)")["index"].tolist()
    # span 0 now reaches the end of the article, so its stored text no longer matches either
    assert only(df, "span text equals the article text slice")["index"].tolist() == [0, 1, 2]
    assert only(df, "start_before_end")["index"].tolist() == [2]
    assert only(df, "span label in the codebook for its kind")[["index", "value"]].values.tolist() == [[k, "ukrainian_government"]]


def test_drift_names_the_article(tables):
    ann = tables["annotations"]
    i = first_submitted(ann)
    ann.loc[i, "text_sha256"] = "f" * 64
    hit = only(failures(tables), "drift: annotated text differs from the corpus text")
    assert hit["index"].tolist() == [i] and hit["column"].tolist() == ["text_sha256"]


def test_times_must_be_ordered_and_utc(tables):
    ann = tables["annotations"]
    i = first_submitted(ann)
    ann.loc[i, "updated_at"] = ann.loc[i, "created_at"] - pd.Timedelta(seconds=5)
    assert i in only(failures(tables), "created <= updated")["index"].tolist()
    ann["created_at"] = ann["created_at"].dt.tz_convert("Europe/Berlin")
    df = failures(tables)
    hit = df[(df["table"] == "annotations") & df["check"].str.startswith("dtype")]
    assert hit["column"].tolist() == ["created_at"]


def test_identities_must_be_pseudonyms(tables):
    ann = tables["annotations"]
    ann.loc[0, "annotator"] = "maria@example.org"
    hit = only(failures(tables), r"str_matches('^ann-[0-9a-f]{12}$')")
    assert hit["value"].tolist() == ["maria@example.org"]


def test_wrong_column_type_skips_data_checks_of_that_table(tables):
    tables["spans"]["start"] = tables["spans"]["start"].astype(str)
    df = failures(tables)
    spans = df[df["table"] == "spans"]
    assert spans["check"].str.startswith("dtype").all() and spans["column"].tolist() == ["start"]


def test_min_annotators_gate_names_the_articles(tables):
    del tables["tasks"]  # without the task list (tables pulled before it), every article below the minimum fails
    ann = tables["annotations"]
    n = ann[ann["status"] == "submitted"].groupby("article_id")["annotator"].nunique()
    hit = only(failures(tables, min_annotators=3), "quality gate: at least 3 annotators per article")
    assert sorted(hit["value"]) == sorted(f"{a} ({k})" for a, k in n[n < 3].items())


def test_an_article_still_in_progress_is_counted_not_failed(tables):
    """Mid-campaign: an article with fewer annotators than required but a task still open is in
    progress (no failure); once no task is open it fails the gate, naming it."""
    ann, tasks = tables["annotations"], tables["tasks"]
    gate = "quality gate: at least 3 annotators per article"
    # a shared project (the sample): a task with two answers of three is still open
    first = ann.index[(ann["article_id"] == "02924b5daf2a9bde4dd4") & (ann["status"] == "submitted")][0]
    tables["annotations"] = ann.drop(index=first).reset_index(drop=True)
    result = validate(tables, CB, min_annotators=3)
    assert "02924b5daf2a9bde4dd4" in result.in_progress
    # two answers and a skip: Label Studio sends a skipped task on to someone else, so still open
    assert "f5b951d13e9217720cfc" in result.in_progress
    assert result.ok, result.failures.to_pandas().to_string()
    # annotators' own queues: each task is one annotator's; an unanswered one is open, a skipped one is not
    tables["annotations"] = ann
    extra = pd.DataFrame({"article_id": ["f5b951d13e9217720cfc", "new-article"], "task_id": [901, 902],
                          "queue": ["annotator", "annotator"]})
    tables["tasks"] = pd.concat([tasks.assign(queue="annotator"), extra], ignore_index=True)
    tables["tasks"]["task_id"] = tables["tasks"]["task_id"].astype("Int64")
    result = validate(tables, CB, min_annotators=3)
    assert result.in_progress == ["f5b951d13e9217720cfc", "new-article"]  # task 901, 902: not answered yet
    assert result.ok, result.failures.to_pandas().to_string()
    # without task 901, f5b9's tasks are all answered (one skipped, in its annotator's own queue): it will
    # get no more, so it fails, named
    tables["tasks"] = tables["tasks"][tables["tasks"]["task_id"] != 901].reset_index(drop=True)
    result = validate(tables, CB, min_annotators=3)
    assert result.in_progress == ["new-article"]
    hit = result.failures.to_pandas()
    assert list(hit[hit["check"] == gate]["value"]) == ["f5b951d13e9217720cfc (2)"]
    # an article with enough annotators but a task still open is in progress too: more labels come
    tables["tasks"] = pd.concat([tables["tasks"], pd.DataFrame({"article_id": ["02924b5daf2a9bde4dd4"],
                                                               "task_id": [903], "queue": ["annotator"]})],
                                ignore_index=True)
    tables["tasks"]["task_id"] = tables["tasks"]["task_id"].astype("Int64")
    assert validate(tables, CB, min_annotators=2).in_progress == ["02924b5daf2a9bde4dd4", "new-article"]
    # without a tasks table (tables pulled before it existed) nothing is in progress
    del tables["tasks"]
    result = validate(tables, CB, min_annotators=3)
    assert result.in_progress == [] and not result.ok


def test_cli_writes_the_report_and_fails(sample, tmp_path):
    import shutil

    ann = tmp_path / "ann"
    shutil.copytree(sample / "annotations", ann)
    t = pq.read_table(ann / "stances.parquet").to_pandas()
    t.loc[3, "value"] = "maybe"
    t.to_parquet(ann / "stances.parquet")
    exe = [sys.executable, "-m", "framestance.cli"]
    res = subprocess.run([*exe, "validate", "--corpus", str(sample / "corpus"), "--annotations", str(ann),
                          "--report", str(tmp_path / "report"), "--min-annotators", "1",
                          "--codebook", str(ROOT / "schemas" / "codebook.yaml")],
                         capture_output=True, text=True, cwd=tmp_path)
    assert res.returncode == 1, res.stderr
    assert "stance value in the codebook" in res.stdout and "Traceback" not in res.stderr
    report = pq.read_table(tmp_path / "report" / "failures.parquet").to_pylist()
    assert report == [{"table": "stances", "check": "stance value in the codebook", "column": "value", "index": 3,
                       "value": "maybe"}]
    # a missing table: one clear line, exit 2
    res = subprocess.run([*exe, "validate", "--corpus", str(sample / "corpus"), "--annotations", str(tmp_path / "nowhere"),
                          "--codebook", str(ROOT / "schemas" / "codebook.yaml")],
                         capture_output=True, text=True, cwd=tmp_path)
    assert res.returncode == 2 and "annotations.parquet: no such table" in res.stderr and "Traceback" not in res.stderr


def test_empty_export_is_reported(tables):
    tables["annotations"] = tables["annotations"].iloc[0:0]
    df = failures(tables)
    assert only(df, "not empty")["value"].tolist() == ["the export holds no annotation"]
