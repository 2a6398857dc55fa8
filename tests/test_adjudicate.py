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
    from framestance.labelstudio.adjudicate import adjudication_title, push_round
    from framestance.labelstudio.pull import PullError, project_titles
    from framestance.labelstudio.pull import run as pull
    from framestance.labelstudio.push import push, queue_title
    from framestance.labelstudio.team import Team, TeamError
    from framestance.validate import load_tables

    home, _conn = studio
    tag = uuid.uuid4().hex[:6]
    a, b = Team(home.home).add([f"adj-a-{tag}@example.org", f"adj-b-{tag}@example.org"], isolation="project")
    corpus = subset_corpus(corpus200, 6, tmp_path / "corpus")
    name = f"adj-{tag}"
    push(studio_client, corpus, name, CB, annotators=[a.email, b.email], overlap=2,
         pseudonym=Pseudonymiser.of_home(home.home).of)
    titles = project_titles(studio_client.projects(name), name)
    users = studio_client.users()
    for who in (a, b):
        keys = studio_client.task_keys(titles[queue_title(name, who.pseudonym)])
        for i, (_article, key) in enumerate(sorted(keys.items())):
            disagree = i < 3 and who is b  # the first three articles: b sees them differently
            studio_client.annotate(key["id"], choices_result(CB, "political" if disagree else "economic",
                                                      "negative" if disagree else "neutral",
                                                      "against" if disagree else "favor"), users[who.email])

    snaps, tables, gold = tmp_path / "snaps", tmp_path / "tables", tmp_path / "gold"
    quality = QualityConfig(min_annotators=2)

    def rebuild():
        pull(name, snaps, tables, CB, home.home)
        t = load_tables({"corpus": corpus, "annotations": tables})
        report = aggregate(t, CB, AggregateConfig(), quality, gold)
        assert not report.gate_failures
        return t, {r["article_id"]: r for r in report.gold.to_pylist()}

    t, before = rebuild()
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
    t, after = rebuild()
    deciders = set(t["annotations"][t["annotations"]["status"] == "adjudicated"]["annotator"])
    assert judge.pseudonym in deciders and len(deciders) == 2
    adjudicated = t["annotations"][t["annotations"]["status"] == "adjudicated"]
    assert sorted(adjudicated["article_id"]) == unsettled
    for art in unsettled:
        r = after[art]
        assert (r["primary_frame"], r["primary_frame_source"], r["primary_frame_support"]) == ("political", "adjudicated", 0.5)
        assert (r["frames"], r["frames_source"], r["tone"], r["tone_source"]) == (["political"], "adjudicated", "negative", "adjudicated")
    settled = next(art for art in after if art not in unsettled)
    assert after[settled]["primary_frame_source"] == "majority"
    # adjudicators are not coders: agreement is what it was
    assert ag.compute(t["annotations"], t["stances"], t["spans"], CB, resamples=0)["alpha"] == alpha_before["alpha"]
    # a second round sends nothing: every unsettled article has its decision
    again = push_round(studio_client, corpus, gold, tables, name, CB)
    assert again.selected == [] and again.created == 0
