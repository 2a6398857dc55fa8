"""A codebook of another shape: the generic frames (conflict, economic, human interest, morality,
resolution) coded by 23 yes/no questions, no primary frame, tone or stance
(schemas/codebooks/generic-frames.yaml). Pull's tables, validation, agreement, aggregation, the
published features and the card follow from the codebook alone; a real Label Studio run is in
tests/test_labelstudio.py."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from framestance.codebook import CodebookError, load
from framestance.config import AggregateConfig, QualityConfig, StudyConfig
from framestance.labelstudio.interface import check_config, labeling_config
from framestance.labelstudio.pull import tables_from_tasks, write_tables

from .conftest import ROOT

GENERIC = ROOT / "schemas" / "codebooks" / "generic-frames.yaml"
CB = load(GENERIC)


def answers_result(cb, yes: set[str], relevant: bool = True) -> list[dict]:
    """A Label Studio result answering every question (yes for those in `yes`)."""
    if not relevant:
        return [{"from_name": cb.RELEVANCE, "to_name": "text", "type": "choices",
                 "value": {"choices": [cb.relevance[1].name]}}]
    return [{"from_name": cb.question_control(q.id), "to_name": "text", "type": "choices",
             "value": {"choices": ["Yes" if q.id in yes else "No"]}} for q in cb.questions]


def synthetic_tasks(article_ids: list[str], seed: int = 3) -> list[dict]:
    """Three annotators per article: each article has a true set of yes-questions; each annotator
    flips an answer with probability 0.15; one annotator finds the last article not relevant."""
    rng = random.Random(seed)
    tasks = []
    ann_id = 0
    for t, aid in enumerate(article_ids):
        truth = {q.id for q in CB.questions if rng.random() < 0.4}
        anns = []
        for k, who in enumerate(("ann-0a1b2c3d4e5f", "ann-1b2c3d4e5f60", "ann-2c3d4e5f6071")):
            yes = {q.id for q in CB.questions if (q.id in truth) != (rng.random() < 0.15)}
            ann_id += 1
            anns.append({"id": ann_id, "completed_by": who, "result": answers_result(CB, yes, not (t == len(article_ids) - 1 and k == 0)),
                         "created_at": "2026-01-01T10:00:00Z", "updated_at": "2026-01-01T10:05:00Z", "lead_time": 60.0})
        tasks.append({"id": t + 1, "data": {"article_id": aid, "text_sha256": None}, "annotations": anns})
    return tasks


def test_the_codebook_loads_and_its_page_is_valid():
    assert (CB.primary, CB.tone, CB.targets, len(CB.frames), len(CB.questions)) == (False, (), (), 5, 23)
    assert CB.frames_of({"co1", "co2"}) == ["conflict"] and CB.frames_of({"co1", "mo2", "re2"}) == ["morality"]
    assert CB.frames_of({"re2", "re6"}) == ["resolution"]
    for votes in (False, True):
        xml = labeling_config(CB, votes=votes)
        check_config(xml)
        assert 'name="q_co1"' in xml and 'name="primary_frame"' not in xml and 'name="tone"' not in xml
        assert 'name="stance_evidence"' not in xml
    # the Media Frames codebook's page is unchanged by the other shape
    assert labeling_config(load(ROOT / "schemas" / "codebook.yaml")) == (ROOT / "schemas" / "labeling_config.xml").read_text()


@pytest.mark.parametrize("change, message", [
    (lambda d: d["frames"][0]["rule"].update({"of": ["co1", "zz9"]}), "rule of frame conflict names unknown questions zz9"),
    (lambda d: d["frames"][1].pop("rule"), "frame economic needs `rule:"),
    (lambda d: d["frames"][0]["rule"].update({"at_least": 4}), "`at_least` must be a whole number from 1 to 3"),
    (lambda d: d.update({"primary_frame": True}), "has no primary frame: set `primary_frame: false`"),
    (lambda d: d.pop("questions"), "frame conflict has a `rule` but the codebook has no `questions`"),
])
def test_codebook_check_refuses_rules_that_name_unknown_questions(tmp_path, change, message):
    from typer.testing import CliRunner

    from framestance.cli import app

    doc = yaml.safe_load(GENERIC.read_text())
    change(doc)
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(doc, sort_keys=False))
    with pytest.raises(CodebookError, match=message.replace("`", ".").replace("(", ".").replace(")", ".")):
        load(bad)
    res = CliRunner().invoke(app, ["codebook", "--check", "--codebook", str(bad)])
    assert res.exit_code != 0 and message.split(":")[0] in res.output.replace("\n", " ")


def test_the_pipeline_follows_the_codebook(sample, tmp_path, monkeypatch):
    """Pull's tables -> validate -> agreement -> aggregate -> publish -> load_dataset, with the
    generic codebook, on the sample's corpus."""
    import datasets

    from framestance import agreement as ag
    from framestance.aggregate import run as aggregate
    from framestance.publish import Options, publish, read_inputs
    from framestance.validate import load_tables, validate

    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    corpus = sample / "corpus"
    ids = sorted(pq.read_table(corpus / "articles.parquet", columns=["article_id"])["article_id"].to_pylist())
    tasks = synthetic_tasks(ids)
    tables = tables_from_tasks(tasks, CB)
    # frames are the rules applied to each annotation's answers, never ticked
    answers = tables["answers"].to_pylist()
    assert len(answers) == 23 * (3 * len(ids) - 1)  # the not-relevant annotation answers nothing
    for row in tables["annotations"].to_pylist():
        yes = {a["question"] for a in answers if a["annotation_id"] == row["annotation_id"] and a["answer"] == "yes"}
        assert row["frames"] == CB.frames_of(yes) and row["primary_frame"] is None and row["tone"] is None
    write_tables(tables, tmp_path / "annotations")
    t = load_tables({"corpus": corpus, "annotations": tmp_path / "annotations"})
    result = validate(t, CB, min_annotators=2)
    assert result.ok, result.failures.to_pandas().to_string()
    # an annotation whose frames do not follow from its answers is refused, naming the check
    broken = {**t, "annotations": t["annotations"].copy()}
    broken["annotations"].at[0, "frames"] = ["conflict", "economic", "human_interest", "morality", "resolution"]
    assert ("annotations", "frames follow from the answers by the codebook's rules") in \
        {(tb, c) for tb, c, _ in validate(broken, CB, min_annotators=2).counts()}

    metrics = ag.compute(t["annotations"], t["stances"], t["spans"], CB, answers=t["answers"], resamples=200)
    assert "primary_frame" not in metrics["alpha"] and "tone" not in metrics["alpha"]
    assert set(metrics["alpha"]["questions"]) == set(CB.question_ids())
    assert metrics["alpha"]["questions"]["co1"] > 0.3  # 15 % flips: agreement well above chance
    dims = [r["dimension"] for r in ag.summary_rows(metrics)]
    assert "question:co1" in dims and "frames:conflict" in dims and "primary_frame" not in dims and "tone" not in dims
    metrics_path = tmp_path / "metrics" / "agreement.json"
    ag.write_outputs(metrics, t["annotations"], t["stances"], CB, metrics_path, tmp_path / "plots")

    gold_dir = tmp_path / "gold"
    report = aggregate(t, CB, AggregateConfig(), QualityConfig(min_annotators=2), gold_dir)
    assert report.gate_failures == [] and not report.interim
    assert "primary_frame" not in report.gold.column_names and "tone" not in report.gold.column_names
    assert {"frames", "frames_support", "frames_votes", "relevance"} <= set(report.gold.column_names)

    inputs = read_inputs(corpus, tmp_path / "annotations", gold_dir, metrics_path)
    path, created = publish(inputs, CB, tmp_path / "dist", Options(name="generic", version="1.0.0",
                                                                   study=StudyConfig(texts_license="cc-by-4.0")),
                            GENERIC.read_text())
    assert created
    default = datasets.load_dataset(str(path), "default", cache_dir=str(tmp_path / "cache"))
    raters = datasets.load_dataset(str(path), "annotations", cache_dir=str(tmp_path / "cache"))
    f = next(iter(default.values())).features
    assert "primary_frame" not in f and "tone" not in f and not any(k.startswith("stance_") for k in f)
    assert f["frames"].feature.names == [fr.id for fr in CB.frames]
    fa = next(iter(raters.values())).features
    assert fa["answer_co1"].names == ["yes", "no"] and "primary_frame" not in fa and "tone" not in fa
    n_rows = sum(len(d) for d in raters.values())
    assert n_rows == 3 * len(ids)
    card = (path / "README.md").read_text()
    assert "at least 2 of co1, co2, co3 yes" in card and "asks for no primary frame" in card
    assert "### Tone" not in card and "### Stance" not in card
    manifest = json.loads((path / "MANIFEST.json").read_text())
    assert manifest["files"]
    assert Path(path / "codebook.yaml").read_text() == GENERIC.read_text()


def test_the_adjudication_page_shows_each_question_s_answers(sample):
    """A codebook of questions on the adjudication page: a vote line per question (agreed answers
    filled in), none for a primary frame, frames, tone or stance it does not have."""
    from framestance.labelstudio.adjudicate import votes

    ids = sorted(pq.read_table(sample / "corpus" / "articles.parquet", columns=["article_id"])["article_id"].to_pylist())
    t = tables_from_tasks(synthetic_tasks(ids[:2]), CB)
    shown = votes(t["annotations"].to_pandas(), t["stances"].to_pandas(), CB, t["answers"].to_pandas())
    data, agreed = shown[ids[0]]["data"], shown[ids[0]]["agreed"]
    assert {k for k in data if k.startswith("vote_q_")} == {f"vote_q_{q}" for q in CB.question_ids()}
    assert not {"vote_primary_frame", "vote_frames", "vote_tone"} & set(data)
    xml = labeling_config(CB, votes=True)
    assert all(f"${k}" in xml for k in data)  # every line has its place on the page
    answers = {(a["annotator"], a["question"]): a["answer"] for a in t["answers"].to_pylist() if a["article_id"] == ids[0]}
    for item in agreed:
        q = item["from_name"].removeprefix("q_")
        given = {v for (who, qq), v in answers.items() if qq == q}
        assert given == {item["value"]["choices"][0].lower()} and data[f"vote_q_{q}"].startswith("✔ agreed")
