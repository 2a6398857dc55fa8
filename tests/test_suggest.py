"""`framestance suggest`: models trained on the gold so far, checked against the best constant
predictor by cross-validation, predictions only for the dimensions that beat it, refused with too
little gold; push refuses predictions made for another codebook. The replay on real annotators is
scripts/bench_suggest.py (BENCHMARKS)."""

from __future__ import annotations

import json
import random
import uuid
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from framestance.aggregate import gold_labels
from framestance.codebook import load
from framestance.labelstudio.interface import config_labels, labeling_config
from framestance.suggest import SuggestError, predictions, train, unlabelled, write

from .conftest import ROOT, choices_result, prose

GENERIC = load(ROOT / "schemas" / "codebooks" / "generic-frames.yaml")
NO_STANCES = pd.DataFrame({c: pd.Series(dtype=object) for c in ("article_id", "annotator", "status", "target", "value")}
                          ).assign(annotation_id=pd.Series(dtype="int64"))


def study(n: int, seed: int = 5):
    """N articles; co1 (and so, with co2, conflict) is yes exactly when the text speaks of a dispute,
    co2 when it speaks of blame; every other answer is a coin. Three annotators, one flip in ten."""
    rng = random.Random(seed)
    arts: list[dict] = []
    ann: list[dict] = []
    answers: list[dict] = []
    for i in range(n):
        dispute, blame = rng.random() < 0.5, rng.random() < 0.4
        words = (" the rivals dispute the plan bitterly" if dispute else "") + (" and blame the ministry" if blame else "")
        arts.append({"article_id": f"art{i:04d}", "title": f"Story {i}", "text": prose(i) + words, "duplicate_of": None})
        truth = {q.id: rng.random() < 0.3 for q in GENERIC.questions} | {"co1": dispute, "co2": blame}
        for who in ("ann-0a1b2c3d4e5f", "ann-1b2c3d4e5f60", "ann-2c3d4e5f6071"):
            aid = len(ann) + 1
            yes = {q for q, v in truth.items() if v != (rng.random() < 0.1)}
            for q in GENERIC.question_ids():
                answers.append({"article_id": f"art{i:04d}", "annotation_id": aid, "annotator": who,
                                "status": "submitted", "question": q, "answer": "yes" if q in yes else "no"})
            ann.append({"article_id": f"art{i:04d}", "text_sha256": None, "annotation_id": aid, "annotator": who,
                        "status": "submitted", "relevance": "relevant", "primary_frame": None,
                        "frames": np.array(GENERIC.frames_of(yes), dtype=object), "tone": None})
    return pd.DataFrame(arts), pd.DataFrame(ann), pd.DataFrame(answers)


def test_a_learnable_question_is_suggested_and_a_coin_is_not(tmp_path):
    arts, ann, answers = study(160)
    labelled = arts["article_id"].iloc[:120]
    gold = gold_labels(ann[ann["article_id"].isin(labelled)], NO_STANCES, GENERIC).to_pandas()
    s = train(arts, gold, answers[answers["article_id"].isin(labelled)], GENERIC, min_gold=30)
    co1, coin = s.quality["question:co1"], s.quality["question:hi3"]
    assert co1.suggested and co1.difference_ci95[0] > 0 and co1.ci95[0] > co1.bar_macro_f1 == 0.5
    assert not coin.suggested and coin.difference_ci95[0] <= 0
    assert co1.n == coin.n == 120 and 0 <= co1.baseline_macro_f1 < 0.5  # always yes or always no: below chance
    assert co1.baseline_label in ("always yes", "always no")
    assert set(s.models) == {k for k, q in s.quality.items() if q.suggested and k.startswith("question:")}
    # conflict (2 of co1, co2, co3) beats the bar through co1 and co2, and brings co3 (a coin) along: the
    # page asks the frame's questions together; a coin no suggested frame's rule names stays out
    assert s.quality["frames:conflict"].suggested and s.quality["question:co3"].via == ["conflict"]
    assert not s.quality["frames:economic"].suggested and "question:ec1" not in s.models
    assert co1.annotations == 360  # judged against each of the three annotators' answers
    # predictions for the articles without gold, for the suggested dimensions only, as the page's controls take them
    todo = unlabelled(arts, gold, GENERIC)
    assert list(todo["article_id"]) == list(arts["article_id"].iloc[120:])
    preds = predictions(s, todo, GENERIC)
    assert len(preds) == 40 and all(p["model_version"] == s.version and p["codebook"] == GENERIC.fingerprint() for p in preds)
    controls = config_labels(labeling_config(GENERIC))
    for p in preds:
        assert {r["from_name"] for r in p["result"]} == {GENERIC.question_control(k.split(":")[1]) for k in s.models}
        assert all(r["value"]["choices"][0] in controls[r["from_name"]] for r in p["result"])
        assert 0.5 <= p["score"] <= 1
    said = {p["article_id"]: p["result"] for p in preds}
    hits = [next(r["value"]["choices"][0] for r in said[a] if r["from_name"] == "q_co1") == ("Yes" if "dispute" in t else "No")
            for a, t in zip(todo["article_id"], todo["text"])]
    assert sum(hits) >= 36  # the word that decides co1 is learnt
    # written: metrics, predictions (sorted JSONL) and the models with skops (zip files, never pickle)
    paths = write(s, preds, tmp_path / "metrics" / "suggest.json", tmp_path / "suggest" / "predictions.jsonl",
                  tmp_path / "suggest" / "models")
    metrics = json.loads(paths["metrics"].read_text())
    assert metrics["dimensions"]["question:co1"]["baseline"]["macro_f1"] == co1.baseline_macro_f1
    assert metrics["dimensions"]["question:co1"]["bar"] == {"label": "chance", "macro_f1": 0.5}
    assert metrics["model_version"] == s.version
    lines = paths["predictions"].read_text().splitlines()
    assert [json.loads(x)["article_id"] for x in lines] == sorted(todo["article_id"])
    models = sorted((tmp_path / "suggest" / "models").glob("*.skops"))
    assert models and all(p.read_bytes()[:2] == b"PK" for p in models)
    # the same gold, the same version and bytes; other gold, another version
    again = train(arts, gold, answers[answers["article_id"].isin(labelled)], GENERIC, min_gold=30)
    assert again.version == s.version
    write(again, predictions(again, todo, GENERIC), tmp_path / "m2.json", tmp_path / "p2.jsonl", tmp_path / "models2")
    assert (tmp_path / "p2.jsonl").read_bytes() == paths["predictions"].read_bytes()
    assert [p.read_bytes() for p in sorted((tmp_path / "models2").glob("*.skops"))] == [p.read_bytes() for p in models]
    fewer = gold[gold["article_id"] != gold["article_id"].iloc[0]]
    assert train(arts, fewer, answers, GENERIC, min_gold=30).version != s.version
    edited = arts.assign(text=arts["text"].where(arts.index != 0, arts["text"].iloc[0] + " A late correction."))
    assert train(edited, gold, answers[answers["article_id"].isin(labelled)], GENERIC, min_gold=30).version != s.version


def test_too_little_gold_is_refused_naming_the_minimum():
    arts, ann, answers = study(40)
    gold = gold_labels(ann[ann["article_id"].isin(arts["article_id"].iloc[:20])], NO_STANCES, GENERIC).to_pandas()
    with pytest.raises(SuggestError, match=r"at least 30 relevant articles .*suggest.min_gold.*the gold has 20"):
        train(arts, gold, answers, GENERIC, min_gold=30)


def test_the_media_frames_codebook_suggests_its_own_dimensions():
    cb = load(ROOT / "schemas" / "codebook.yaml")
    rng = random.Random(2)
    arts, ann, st = [], [], []
    for i in range(90):
        econ = i % 2 == 0
        arts.append({"article_id": f"m{i:03d}", "title": f"Story {i}", "duplicate_of": None,
                     "text": prose(100 + i) + (" prices wages budget inflation" if econ else " court ruling judges law")})
        for who in ("ann-0a1b2c3d4e5f", "ann-1b2c3d4e5f60"):
            primary = "economic" if econ else "legality"
            ann.append({"article_id": f"m{i:03d}", "text_sha256": None, "annotation_id": len(ann) + 1, "annotator": who,
                        "status": "submitted", "relevance": "relevant", "primary_frame": primary,
                        "frames": np.array([primary], dtype=object), "tone": rng.choice(["negative", "neutral", "positive"])})
            for t in cb.targets:
                st.append({"article_id": f"m{i:03d}", "annotation_id": len(ann), "annotator": who, "status": "submitted",
                           "target": t.id, "value": "neutral"})
    gold = gold_labels(pd.DataFrame(ann), pd.DataFrame(st), cb).to_pandas()
    s = train(pd.DataFrame(arts), gold, None, cb, min_gold=30)
    decided = int((gold["tone"] != "unresolved").sum())
    assert 0 < decided < 90 and s.quality["tone"].annotations == decided  # without annotations: the decided gold
    s = train(pd.DataFrame(arts), gold, None, cb, min_gold=30, annotations=pd.DataFrame(ann), stances=pd.DataFrame(st))
    assert s.quality["tone"].annotations == 180  # every annotator's vote
    assert s.dimensions["tone"].votes["m000"] == dict(Counter([ann[0]["tone"], ann[1]["tone"]]))
    assert "stance:" + cb.targets[0].id not in s.quality  # everyone said neutral: nothing to learn
    assert s.quality["primary_frame"].suggested and s.quality["frames:economic"].suggested
    assert "tone" not in s.models  # the tone is a coin here: not suggested
    preds = predictions(s, pd.DataFrame(arts), cb)
    pred = preds[0]
    names = {r["from_name"] for r in pred["result"]}
    assert cb.PRIMARY in names and cb.FRAMES in names and cb.TONE not in names
    assert pred["dimensions"] == sorted(s.models) and "frames:economic" in pred["dimensions"]
    # the label shown is the one the model predicts, named as the page names it (the model saw 2 of 15 frames)
    name_of = {f.id: f.name for f in cb.frames}
    shown = [next(r["value"]["choices"][0] for r in p["result"] if r["from_name"] == cb.PRIMARY) for p in preds]
    truth = [name_of["economic" if i % 2 == 0 else "legality"] for i in range(90)]
    assert sum(a == b for a, b in zip(shown, truth)) >= 85
    # one article whose annotators chose a third frame: still cross-validated (the rare class pooled), still suggested
    rare = pd.DataFrame(ann)
    rare.loc[rare["article_id"] == "m089", "primary_frame"] = "morality"
    s = train(pd.DataFrame(arts), gold_labels(rare, pd.DataFrame(st), cb).to_pandas(), None, cb, min_gold=30,
              annotations=rare, stances=pd.DataFrame(st))
    assert s.quality["primary_frame"].suggested and s.quality["primary_frame"].macro_f1 > 0.6  # 2 of 3 classes right


def test_push_refuses_predictions_made_for_another_codebook(studio_client, corpus200, tmp_path):
    from framestance.labelstudio.push import PushError, push

    cb = load(ROOT / "schemas" / "codebook.yaml")
    ids = pd.read_parquet(corpus200 / "articles.parquet", columns=["article_id"])["article_id"].iloc[:3]
    preds = tmp_path / "predictions.jsonl"
    preds.write_text("".join(json.dumps({"article_id": a, "model_version": "suggest-x", "score": 0.9,
                                         "codebook": GENERIC.fingerprint(), "result": []}) + "\n" for a in ids))
    name = f"preds-{uuid.uuid4().hex[:6]}"
    with pytest.raises(PushError, match=r"prediction 0 was made for another codebook .*run `framestance suggest` again"):
        push(studio_client, corpus200, name, cb, n=3, seed=1, predictions=preds)
    assert studio_client.find_project(name) is None  # nothing was made


def test_the_command_writes_metrics_predictions_and_models_and_refuses_too_little_gold(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from framestance.cli import app

    arts, ann, answers = study(100)
    (tmp_path / "corpus").mkdir()
    (tmp_path / "gold").mkdir()
    (tmp_path / "annotations").mkdir()
    arts.to_parquet(tmp_path / "corpus" / "articles.parquet")
    answers.to_parquet(tmp_path / "annotations" / "answers.parquet")
    monkeypatch.chdir(tmp_path)
    codebook = str(ROOT / "schemas" / "codebooks" / "generic-frames.yaml")
    args = ["suggest", "--corpus", "corpus", "--gold", "gold", "--annotations", "annotations", "--codebook", codebook]
    few = gold_labels(ann[ann["article_id"].isin(arts["article_id"].iloc[:10])], NO_STANCES, GENERIC)
    import pyarrow.parquet as pq

    pq.write_table(few, tmp_path / "gold" / "gold.parquet")
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 2 and "at least 30 relevant articles" in res.output and "the gold has 10" in res.output
    assert not (tmp_path / "metrics").exists() and not (tmp_path / "corpus" / "suggest").exists()  # nothing written
    pq.write_table(gold_labels(ann[ann["article_id"].isin(arts["article_id"].iloc[:80])], NO_STANCES, GENERIC),
                   tmp_path / "gold" / "gold.parquet")
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    metrics = json.loads((tmp_path / "metrics" / "suggest.json").read_text())
    assert metrics["dimensions"]["question:co1"]["suggested"] is True
    lines = (tmp_path / "corpus" / "suggest" / "predictions.jsonl").read_text().splitlines()
    assert len(lines) == 20 and "question:co1" in res.output and "chance" in res.output


def test_each_assignment_is_drawn_into_an_arm_and_pull_records_it(studio, studio_client, corpus200, tmp_path):
    """Two annotators' blind queues, predictions for every article, share 0.5: only the suggested
    arm's tasks carry the prediction, every predicted task says its arm, the draw is the seeded
    one (per annotator and article: one article can be suggested to A and not to B), and pull
    records on each annotation whether it was suggested and what the suggestion was."""
    from framestance.labelstudio.accounts import add_local
    from framestance.labelstudio.pull import project_titles, scrub, tables_from_snapshot
    from framestance.labelstudio.push import push, queue_title, suggested
    from framestance.pseudonym import Pseudonymiser

    cb = load(ROOT / "schemas" / "codebook.yaml")
    home, _conn = studio
    tag = uuid.uuid4().hex[:6]
    a, b = add_local(home, [f"arm-a-{tag}@example.org", f"arm-b-{tag}@example.org"])
    ids = sorted(pd.read_parquet(corpus200 / "articles.parquet", columns=["article_id"])["article_id"])[:200]
    preds = tmp_path / "predictions.jsonl"
    choice = {"from_name": cb.TONE, "to_name": "text", "type": "choices", "value": {"choices": ["negative"]}}
    preds.write_text("".join(json.dumps({"article_id": x, "model_version": "suggest-test", "score": 0.8,
                                         "codebook": cb.fingerprint(), "dimensions": ["tone"], "result": [choice]}) + "\n"
                             for x in ids))
    name = f"arms-{tag}"
    pseudo = Pseudonymiser.of_home(home.home)
    report = push(studio_client, corpus200, name, cb, n=12, seed=3, annotators=[a.email, b.email], overlap=2,
                  pseudonym=pseudo.of, predictions=preds, suggest_share=0.5)
    assert sum(report.arms.values()) == 24 and 0 < report.arms["suggested"] < 24
    titles = project_titles(studio_client.projects(name), name)
    split = set()
    pulled_tables = []
    for login in (a, b):
        tasks = json.loads(studio_client.export_snapshot(titles[queue_title(name, login.pseudonym)]))
        assert len(tasks) == 12
        for t in tasks:
            art, arm = t["data"]["article_id"], t["data"]["framestance_arm"]
            assert (arm == "suggested") == suggested(3, login.pseudonym, art, 0.5)  # the seeded draw
            assert bool(t["predictions"]) == (arm == "suggested")  # exactly the suggested arm has it
            split.add((art, arm))
            if arm == "suggested":
                studio_client.annotate(t["id"], choices_result(cb, "economic", "negative", "favor"),
                                       studio_client.users()[login.email])
            else:
                studio_client.annotate(t["id"], choices_result(cb, "economic", "neutral", "favor"),
                                       studio_client.users()[login.email])
        pulled = tables_from_snapshot(scrub(studio_client.export_snapshot(titles[queue_title(name, login.pseudonym)]),
                                            pseudo.of), cb)
        pulled_tables.append(pulled)
        after = pulled["annotations"].to_pylist()
        assert len(after) == 12
        for r in after:
            assert r["suggested"] == suggested(3, login.pseudonym, r["article_id"], 0.5)
            assert (r["suggestion"] == json.dumps({"dimensions": ["tone"], cb.TONE: ["negative"]})) == r["suggested"]
            assert r["tone"] == ("negative" if r["suggested"] else "neutral")
    arts_both_ways = {x for x, arm in split if (x, "suggested") in split and (x, "control") in split}
    assert arts_both_ways  # an article suggested to one annotator and not to the other
    # the influence, from what pull recorded: the suggested arm said "negative" every time and kept every suggestion
    from framestance.influence import arms

    tables = {k: pd.concat([t[k].to_pandas() for t in pulled_tables], ignore_index=True)
              for k in ("annotations", "stances", "spans")}
    r = arms(tables["annotations"], None, tables["stances"], tables["spans"], cb, resamples=200)
    assert r is not None and r["counts"]["suggested"]["annotations"] == report.arms["suggested"]
    assert r["kept"]["tone"] == {"share": 1.0, "ci95": [1.0, 1.0], "n": report.arms["suggested"]}
    assert r["shift"]["tone"]["classes"]["negative"]["difference"] == 1.0
