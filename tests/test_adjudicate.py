"""An adjudication round on a real Label Studio: two annotators disagree on some articles, the
unsettled ones go to `NAME · adjudication` with each annotator's labels shown, the adjudicator
decides, pull marks the decisions, aggregate takes them (source `adjudicated`), and agreement
leaves them out."""

from __future__ import annotations

import json
import uuid

import pytest

from framestance.codebook import load
from framestance.config import AggregateConfig, QualityConfig
from framestance.pseudonym import Pseudonymiser

from .conftest import ROOT, choices_result, subset_corpus

CB = load(ROOT / "schemas" / "codebook.yaml")


def test_adjudication_round(studio, studio_client, corpus200, tmp_path):
    from framestance import agreement as ag
    from framestance.aggregate import run as aggregate
    from framestance.config import StudyConfig
    from framestance.labelstudio.adjudicate import adjudication_title, push_round
    from framestance.labelstudio.pull import PullError, project_titles
    from framestance.labelstudio.pull import run as pull
    from framestance.labelstudio.push import push, queue_title
    from framestance.labelstudio.team import Team, TeamError
    from framestance.publish import Options, PublishError, publish, read_inputs
    from framestance.validate import load_tables, validate

    home, _conn = studio
    tag = uuid.uuid4().hex[:6]
    a, b = Team(home.home).add([f"adj-a-{tag}@example.org", f"adj-b-{tag}@example.org"], isolation="project")
    corpus = subset_corpus(corpus200, 6, tmp_path / "corpus")
    name = f"adj-{tag}"
    push(studio_client, corpus, name, CB, annotators=[a.email, b.email], overlap=2,
         pseudonym=Pseudonymiser.of_home(home.home).of)
    titles = project_titles(studio_client.projects(name), name)
    users = studio_client.users()

    def annotate(who, first: int, last: int) -> None:
        keys = studio_client.task_keys(titles[queue_title(name, who.pseudonym)])
        for i, (_article, key) in enumerate(sorted(keys.items())[first:last], first):
            disagree = i < 3 and who is b  # the first three articles: b sees them differently
            studio_client.annotate(key["id"], choices_result(CB, "political" if disagree else "economic",
                                                      "negative" if disagree else "neutral",
                                                      "against" if disagree else "favor"), users[who.email])

    annotate(a, 0, 6)
    annotate(b, 0, 5)  # mid-campaign: b has one article left
    snaps, tables, gold = tmp_path / "snaps", tmp_path / "tables", tmp_path / "gold"
    # low agreement on the primary frame (half the articles disputed): gates a study would set
    quality = QualityConfig(min_annotators=2, min_alpha={"primary_frame": 0.5}, max_unresolved_share=0.2)

    def rebuild():
        pull(name, snaps, tables, CB, home.home)
        t = load_tables({"corpus": corpus, "annotations": tables})
        report = aggregate(t, CB, AggregateConfig(), quality, gold)
        return t, report, {r["article_id"]: r for r in report.gold.to_pylist()}

    def publish_now(version: str):
        inputs = read_inputs(corpus, tables, gold, None)
        return publish(inputs, CB, tmp_path / "dist", Options(name=name, version=version,
                       study=StudyConfig(texts_license="cc-by-4.0")), "codebook")

    # in progress: the article b has not done is not invalid; gold exists, marked interim
    t, report, before = rebuild()
    waiting = validate(t, CB, min_annotators=2)
    assert waiting.ok and len(waiting.in_progress) == 1 and report.interim
    assert json.loads((gold / "gates.json").read_text())["interim"] is True
    with pytest.raises(PublishError, match="the gold is interim: 1 articles"):
        publish_now("0.1.0")
    annotate(b, 5, 6)
    t, report, before = rebuild()
    assert not report.interim and not validate(t, CB, min_annotators=2).in_progress
    # the gates fail, yet the gold is written: adjudication works on it, publish refuses it
    assert any("alpha for primary_frame" in m and "0 of its 3 disputed articles adjudicated" in m
               for m in report.gate_failures), report.gate_failures
    assert any("unresolved primary_frame" in m for m in report.gate_failures)
    assert json.loads((gold / "gates.json").read_text())["passed"] is False
    with pytest.raises(PublishError, match="refusing to publish: quality gate: alpha for primary_frame"):
        publish_now("0.1.0")
    assert not (tmp_path / "dist").exists()
    unsettled = sorted(art for art, r in before.items() if r["primary_frame"] == "unresolved")
    assert len(unsettled) == 3

    report = push_round(studio_client, corpus, gold, tables, name, CB)
    assert report.selected == unsettled and report.created == 3
    pid = studio_client.find_project(adjudication_title(name))
    tasks = json.loads(studio_client.export_snapshot(pid))
    assert sorted(t_["data"]["article_id"] for t_ in tasks) == unsettled
    data = tasks[0]["data"]
    first, second = sorted([a.pseudonym, b.pseudonym])  # letters follow the pseudonyms' order
    assert data["vote_who"] == f"Annotators: A = {first}, B = {second}"
    assert a.email not in json.dumps(data) and b.email not in json.dumps(data)
    ab = {a.pseudonym: "Economic", b.pseudonym: "Political"}
    assert data[f"vote_{CB.PRIMARY}"] == f"✖ disputed: A {ab[first]} · B {ab[second]}"
    assert data[f"vote_{CB.RELEVANCE}"] == "✔ agreed: about the issue"
    assert tasks[0]["predictions"] == []  # nothing else agreed: nothing to fill in
    alpha_before = ag.compute(t["annotations"], t["stances"], t["spans"], CB, resamples=0)

    # an annotator's decision (Community lets any member open the project) is refused, naming them
    stray = studio_client.annotate(tasks[0]["id"], choices_result(CB, "economic", "neutral", "favor"), users[a.email])
    written = {p: p.read_bytes() for p in tables.iterdir()}
    with pytest.raises(PullError, match=f"not an adjudicator \\(task {tasks[0]['id']} by {a.pseudonym};"):
        pull(name, snaps, tables, CB, home.home)
    assert {p: p.read_bytes() for p in tables.iterdir()} == written
    studio_client.ls.annotations.delete(id=stray)
    # a named adjudicator decides for b's reading on two unsettled articles, the lead on the third
    judge = Team(home.home).add([f"judge-{tag}@example.org"], role="adjudicator")[0]
    with pytest.raises(TeamError, match="already an annotator"):
        Team(home.home).add([a.email], role="adjudicator")
    for t_, who in zip(tasks, (judge.user_id, judge.user_id, studio_client.whoami()["id"])):
        studio_client.annotate(t_["id"], choices_result(CB, "political", "negative", "against"), who)
    t, report, after = rebuild()
    deciders = set(t["annotations"][t["annotations"]["status"] == "adjudicated"]["annotator"])
    assert judge.pseudonym in deciders and len(deciders) == 2
    adjudicated = t["annotations"][t["annotations"]["status"] == "adjudicated"]
    assert sorted(adjudicated["article_id"]) == unsettled
    for art in unsettled:
        r = after[art]
        assert (r["primary_frame"], r["primary_frame_source"]) == ("political", "adjudicated")
        # support keeps its one meaning (would one more annotator give it?): one of the two gave it, and
        # these two agree no better than chance, so less than the vote share
        political = CB.frame_ids().index("political")
        assert r["primary_frame_votes"][political] == 0.5 and 0 < r["primary_frame_support"] < 0.5
        assert (r["frames"], r["frames_source"], r["tone"], r["tone_source"]) == (["political"], "adjudicated", "negative", "adjudicated")
    settled = next(art for art in after if art not in unsettled)
    assert after[settled]["primary_frame_source"] == "majority"
    # adjudicators are not coders: agreement is what it was
    assert ag.compute(t["annotations"], t["stances"], t["spans"], CB, resamples=0)["alpha"] == alpha_before["alpha"]
    # a second round sends nothing: every unsettled article has its decision
    again = push_round(studio_client, corpus, gold, tables, name, CB)
    assert again.selected == [] and again.created == 0
    # every dispute decided: the same gates now hold (alpha is still what it was), and publish goes ahead
    gates = json.loads((gold / "gates.json").read_text())
    assert report.gate_failures == [] and gates["passed"] is True
    (held,) = gates["held_by_adjudication"]
    assert held.startswith("alpha for primary_frame is -") and "all 3 articles its annotators disagreed on" in held
    path, created = publish_now("0.1.0")
    assert created and held in (path / "README.md").read_text()  # the card says why the gate held
