"""The suggestions' influence, measured on the randomised control arm (framestance.influence):
a simulated team whose suggested arm takes a wrong suggestion over part of the time shows the
shift, the share kept and the time saved; a suggestion with no pull shows none. The arms drawn by
push and recorded by pull with a real server: tests/test_suggest.py."""

from __future__ import annotations

import json
import random

import numpy as np
import pandas as pd
import pytest

from framestance.codebook import load
from framestance.influence import arms, headline

from .conftest import ROOT

CB = load(ROOT / "schemas" / "codebooks" / "generic-frames.yaml")
WHO = ("ann-0a1b2c3d4e5f", "ann-1b2c3d4e5f60", "ann-2c3d4e5f6071")


def team(n: int, take_over: float, seed: int = 4):
    """N articles, three annotators each; every assignment drawn into an arm (half and half). The
    suggested arm is shown "co1: Yes" (right on about 30 % of articles) and takes it over with
    probability `take_over`, else answers as the control arm does; it is 20 s faster."""
    rng = random.Random(seed)
    ann: list[dict] = []
    answers: list[dict] = []
    for i in range(n):
        truth = {q.id for q in CB.questions if rng.random() < 0.3}
        for who in WHO:
            aid = len(ann) + 1
            shown = rng.random() < 0.5
            yes = {q for q in CB.question_ids() if (q in truth) != (rng.random() < 0.1)}
            if shown and rng.random() < take_over:
                yes.add("co1")
            for q in CB.question_ids():
                answers.append({"article_id": f"a{i:04d}", "annotation_id": aid, "annotator": who,
                                "status": "submitted", "question": q, "answer": "yes" if q in yes else "no"})
            ann.append({"article_id": f"a{i:04d}", "text_sha256": None, "task_id": aid, "annotation_id": aid,
                        "annotator": who, "status": "submitted", "created_at": None, "updated_at": None,
                        "lead_time": (40.0 if shown else 60.0) * float(np.exp(rng.gauss(0, 0.3))),
                        "ground_truth": False, "relevance": "relevant", "primary_frame": None,
                        "frames": np.array(CB.frames_of(yes), dtype=object), "tone": None, "suggested": shown,
                        "suggestion": json.dumps({CB.question_control("co1"): ["Yes"]}) if shown else None})
    no_rows = pd.DataFrame({c: pd.Series(dtype=object) for c in ("article_id", "annotator", "status", "target", "value")})
    return pd.DataFrame(ann), pd.DataFrame(answers), no_rows.assign(annotation_id=pd.Series(dtype="int64"))


def no_spans() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in ("article_id", "annotator", "status", "kind", "label",
                                                               "text")}).assign(annotation_id=pd.Series(dtype="int64"))


def test_a_suggestion_taken_over_shows_as_a_shift_a_kept_share_and_time():
    ann, answers, stances = team(300, take_over=0.5)
    r = arms(ann, answers, stances, no_spans(), CB, resamples=500)
    assert r is not None
    c = r["counts"]
    assert c["suggested"]["annotations"] + c["control"]["annotations"] == 900 and c["articles_in_both_arms"] > 200
    co1 = r["shift"]["question:co1"]["classes"]["yes"]
    # about half the suggested arm says yes whatever the article: yes rises by about 0.5 x 0.66 = 0.33
    assert 0.2 < co1["difference"] < 0.45 and co1["ci95"][0] > 0.1
    hi3 = r["shift"]["question:hi3"]["classes"]["yes"]  # never suggested: no shift
    assert hi3["ci95"][0] < 0 < hi3["ci95"][1]
    assert r["shift"]["question:co1"]["n"] == {"suggested": c["suggested"]["annotations"],
                                               "control": c["control"]["annotations"]}
    # kept: the suggested yes stayed on 0.5 + 0.5 x P(own yes ~ 0.34)
    kept = r["kept"]["question:co1"]
    assert set(r["kept"]) == {"question:co1"} and 0.58 < kept["share"] < 0.76 and kept["n"] == c["suggested"]["annotations"]
    assert kept["ci95"][0] < kept["share"] < kept["ci95"][1]
    # 40 s against 60 s: the ratio about 0.67, its interval below 1
    t = r["time"]
    assert 0.6 < t["ratio"]["suggested_over_control"] < 0.75 and t["ratio"]["ci95"][1] < 1
    assert 36 < t["suggested"]["geometric_mean_s"] < 44 and t["control"]["n"] == c["control"]["annotations"]
    # alpha per arm with its n: the suggested arm agrees less on co1 (half of it says yes regardless of the text)
    a_s, a_c = r["alpha"]["suggested"]["question:co1"], r["alpha"]["control"]["question:co1"]
    assert a_s["n"] > 50 and a_c["n"] > 50 and a_s["alpha"] < a_c["alpha"] and a_c["ci95"][0] < a_c["alpha"] < a_c["ci95"][1]
    lines = headline(r)
    assert any(x.startswith("question:co1: yes +") for x in lines) and not any("hi3" in x for x in lines)
    # the figure: a point per dimension at its shift, co1's to the right of every question never suggested
    from framestance.figures import arms_figure

    fig = arms_figure(r)
    assert fig is not None
    x = {a.get_gid(): a.get_xdata()[0] for ax in fig.axes for a in ax.lines if str(a.get_gid()).startswith("point:")}
    assert len(x) == len(r["shift"]) and x["point:question:co1:yes"] == co1["difference"]
    assert all(v < co1["difference"] for k, v in x.items() if k.startswith("point:question:") and "co1" not in k)


def test_a_suggestion_with_no_pull_shows_no_shift_and_no_arms_means_no_figures():
    ann, answers, stances = team(300, take_over=0.0)
    r = arms(ann, answers, stances, no_spans(), CB, resamples=500)
    assert r is not None
    covers = [v["ci95"][0] <= 0 <= v["ci95"][1] for s in r["shift"].values() for v in s["classes"].values()]
    assert sum(covers) >= len(covers) - 2  # 28 intervals at 95 %: about one misses by chance
    co1 = r["shift"]["question:co1"]["classes"]["yes"]
    assert co1["ci95"][0] <= 0 <= co1["ci95"][1]
    # the same tables in another row order: the same figures
    again = arms(ann.sample(frac=1, random_state=1), answers.sample(frac=1, random_state=2), stances, no_spans(), CB,
                 resamples=500)
    assert again == r
    assert arms(ann.assign(suggested=None), answers, stances, no_spans(), CB) is None


def test_gold_leaves_the_assisted_annotations_out_by_default_and_the_card_reports_the_arms():
    from framestance.aggregate import AggregateError, gold_labels, unassisted
    from framestance.card import suggestions_section
    from framestance.config import AggregateConfig

    ann, answers, stances = team(300, take_over=0.8)
    tables = {"annotations": ann, "answers": answers, "stances": stances, "spans": no_spans()}
    assert AggregateConfig().assisted == "exclude"
    kept, said = unassisted(tables, "exclude")
    shown = int(ann["suggested"].sum())
    no_other = int(ann.groupby("article_id")["suggested"].all().sum())  # every annotator of the article was shown one
    assert said == {"gold_uses": "annotations not shown a suggestion", "annotations_shown_a_suggestion": shown,
                    "annotations_left_out": shown, "articles_left_out": no_other, "articles_short_of_annotators": 0}
    assert no_other > 0
    left = ann[~ann["suggested"]].groupby("article_id").size()  # with a minimum of 3, an article with 1 or 2 left is short
    assert unassisted(tables, "exclude", min_annotators=3)[1]["articles_short_of_annotators"] == int((left < 3).sum()) > 0
    assert not kept["annotations"]["suggested"].any()
    assert set(kept["answers"]["annotation_id"]) == set(kept["annotations"]["annotation_id"])
    # the suggestion pushed co1 to yes; gold without the assisted annotations does not carry it
    def co1_yes(t):
        g = gold_labels(t["annotations"], t["stances"], CB).to_pandas()
        return float(g["frames"].map(lambda fs: "conflict" in set(fs)).mean())

    everything, _ = unassisted(tables, "include")
    assert everything["annotations"] is ann and co1_yes(everything) > co1_yes(kept) + 0.02
    with pytest.raises(AggregateError, match=r"aggregate.assisted 'some': use exclude or include"):
        unassisted(tables, "some")
    # the card: gold's choice, the arms, agreement per arm, kept, shift and time, each with its interval
    card = "\n".join(suggestions_section(arms(ann, answers, stances, no_spans(), CB, resamples=200), said))
    assert f"{shown} annotations shown a suggestion were left out" in card
    assert "| question:co1 | yes |" in card and "Time per annotation" in card and "| question:co1 | " in card
    assert suggestions_section(None, None) == []


def test_a_suggestion_counts_only_the_dimensions_it_covered():
    """The frames control lists the frames suggested present; an unmarked frame is a suggested "no"
    only when the suggestion covered it (`dimensions`, which push and pull carry)."""
    from framestance.codebook import load as load_codebook
    from framestance.influence import _suggested_values

    mf = load_codebook(ROOT / "schemas" / "codebook.yaml")
    economic, legality = (next(f.name for f in mf.frames if f.id == x) for x in ("economic", "legality"))
    covered = json.dumps({mf.FRAMES: [economic], mf.PRIMARY: [economic],
                          "dimensions": ["frames:economic", "frames:legality", "primary_frame"]})
    assert _suggested_values(covered, mf) == {"frames:economic": "yes", "frames:legality": "no", "primary_frame": "economic"}
    older = json.dumps({mf.FRAMES: [economic, legality]})  # no dimensions said: only what was marked
    assert _suggested_values(older, mf) == {"frames:economic": "yes", "frames:legality": "yes"}
    assert _suggested_values(None, mf) == {} and _suggested_values(float("nan"), mf) == {}
