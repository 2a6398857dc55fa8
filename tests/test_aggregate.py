"""Gold labels: majority with its tie rule, Dawid-Skene, span consolidation, quality gates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from framestance.aggregate import AggregateError, gate_failures, gold_labels, gold_spans, unresolved_shares
from framestance.codebook import load
from framestance.schema import UNRESOLVED

from .conftest import ROOT

CB = load(ROOT / "schemas" / "codebook.yaml")
TARGETS = [t.id for t in CB.targets]


def tables(rows):
    """rows: (article, annotator, primary, frames, tone, stance of every target, status)."""
    ann, st = [], []
    for k, (art, who, primary, frames, tone, stance, status) in enumerate(rows):
        ann.append({"article_id": art, "text_sha256": "0" * 64, "annotation_id": k, "annotator": who, "status": status,
                    "primary_frame": primary, "frames": np.array(frames, dtype=object), "tone": tone})
        for t in TARGETS:
            st.append({"article_id": art, "annotation_id": k, "annotator": who, "status": status, "target": t, "value": stance})
    return pd.DataFrame(ann), pd.DataFrame(st)


def by_article(table):
    return {r["article_id"]: r for r in table.to_pylist()}


def expected_support(labels_by_article: dict[str, list[str]], article: str, label: str) -> float:
    """Support as the docs define it, written out one article at a time: (c + a pi) / (n + a), pi
    the label's overall share, 1 / (a + 1) = rho = (P_o - P_e) / (1 - P_e) from pairwise agreement."""
    values = [x for labs in labels_by_article.values() for x in labs]
    pi = {x: values.count(x) / len(values) for x in set(values)}
    same = sum(labs.count(x) * (labs.count(x) - 1) for labs in labels_by_article.values() for x in set(labs))
    pairs = sum(len(labs) * (len(labs) - 1) for labs in labels_by_article.values())
    p_e = sum(v * v for v in pi.values())
    rho = min(max((same / pairs - p_e) / (1 - p_e), 0.0), 1.0)
    labs = labels_by_article[article]
    return round((rho * labs.count(label) + (1 - rho) * pi.get(label, 0.0)) / (rho * len(labs) + 1 - rho), 4)


def test_majority_support_and_ties_left_unresolved():
    ann, st = tables([
        ("a1", "x", "economic", ["economic", "political"], "negative", "against", "submitted"),
        ("a1", "y", "economic", ["economic"], "negative", "against", "submitted"),
        ("a1", "z", "political", ["political"], "neutral", "favor", "submitted"),
        ("a2", "x", "morality", ["morality", "policy"], "positive", "favor", "submitted"),
        ("a2", "y", "policy", ["policy"], "neutral", "against", "submitted"),
        # never counted: a draft and a cancelled annotation that would break the a2 tie
        ("a2", "z", "morality", ["morality"], "positive", "favor", "draft"),
        ("a2", "w", "morality", ["morality"], "positive", "favor", "cancelled"),
    ])
    g = by_article(gold_labels(ann, st, CB, method="majority", tie="unresolved"))
    a1, a2 = g["a1"], g["a2"]
    primary = {"a1": ["economic", "economic", "political"], "a2": ["morality", "policy"]}
    assert (a1["n_annotators"], a1["primary_frame"]) == (3, "economic")
    assert a1["primary_frame_support"] == expected_support(primary, "a1", "economic") == 0.4
    assert a1["primary_frame_votes"][CB.frame_ids().index("economic")] == 0.6667  # the vote share stays beside it
    economic = {"a1": ["yes", "yes", "no"], "a2": ["no", "no"]}
    political = {"a1": ["yes", "no", "yes"], "a2": ["no", "no"]}
    assert (a1["frames"], a1["frames_unresolved"]) == (["economic", "political"], [])
    assert a1["frames_support"] == [expected_support(economic, "a1", "yes"), expected_support(political, "a1", "yes")]
    stance = {"a1": ["against", "against", "favor"], "a2": ["favor", "against"]}
    assert (a1["tone"], a1[f"stance_{TARGETS[0]}"]) == ("negative", "against")
    assert a1[f"stance_{TARGETS[0]}_support"] == expected_support(stance, "a1", "against")
    assert a2["n_annotators"] == 2
    assert a2["primary_frame"] == UNRESOLVED
    assert (a2["tone"], a2[f"stance_{TARGETS[1]}"]) == (UNRESOLVED, UNRESOLVED)
    assert (a2["frames"], a2["frames_unresolved"]) == (["policy"], ["morality"])


def test_codebook_order_is_refused_as_a_bias():
    ann, st = tables([("a2", "x", "policy", ["policy"], "positive", "favor", "submitted")])
    with pytest.raises(AggregateError, match="codebook_order.*bias"):
        gold_labels(ann, st, CB, tie="codebook_order")


FOUR_2_1_1 = [  # the audit's case: primary votes policy, policy, economic, political
    ("q", "w1", "policy", ["policy"], "neutral", "favor", "submitted"),
    ("q", "w2", "policy", ["policy"], "neutral", "favor", "submitted"),
    ("q", "w3", "economic", ["economic"], "neutral", "favor", "submitted"),
    ("q", "w4", "political", ["political"], "neutral", "favor", "submitted"),
]


def _consistent(rows: dict) -> None:
    for r in rows.values():
        assert r["primary_frame"] in (*r["frames"], UNRESOLVED, None), r


def test_majority_2_1_1_primary_is_a_gold_frame_or_unresolved():
    ann, st = tables(FOUR_2_1_1)
    q = by_article(gold_labels(ann, st, CB))["q"]
    # policy: 2 of 4 mark it (no majority) -> a tie on the frame, so policy cannot be the primary
    assert q["frames"] == [] and q["frames_unresolved"] == ["policy"]
    assert (q["primary_frame"], q["primary_frame_support"]) == (UNRESOLVED, 0.5)
    _consistent({"q": q})


def test_symmetric_two_annotators_stay_unresolved_and_dawid_skene_refuses():
    rows = []
    for i in range(30):
        rows.append((f"s{i}", "left", "economic", ["economic"], "positive", "favor", "submitted"))
        rows.append((f"s{i}", "right", "political", ["political"], "negative", "against", "submitted"))
    ann, st = tables(rows)
    g = by_article(gold_labels(ann, st, CB))
    assert all(r["primary_frame"] == r["tone"] == r[f"stance_{TARGETS[0]}"] == UNRESOLVED for r in g.values())
    assert all(r["frames"] == [] and r["frames_unresolved"] == ["economic", "political"] for r in g.values())
    with pytest.raises(AggregateError, match="at least 3 annotators"):
        gold_labels(ann, st, CB, method="dawid-skene")


def test_dawid_skene_refuses_too_few_items_per_annotator():
    rows = [(f"i{i}", w, "economic", ["economic"], "neutral", "favor", "submitted") for i in range(8) for w in "abc"]
    ann, st = tables(rows)
    with pytest.raises(AggregateError, match="at least 20 items per annotator"):
        gold_labels(ann, st, CB, method="dawid-skene")
    assert gold_labels(ann, st, CB, method="dawid-skene", ds_min_items=5).num_rows == 8


def test_dawid_skene_is_consistent_and_never_invents_a_label():
    """40 articles by 4 annotators (one careless) plus the 2-1-1 article: every gold label is one an
    annotator of that article gave, and the primary frame is a gold frame or unresolved."""
    frames = ["economic", "political", "policy", "morality"]
    rows = list(FOUR_2_1_1)
    for i in range(40):
        truth = frames[i % 4]
        for w in ("w1", "w2", "w3"):
            rows.append((f"r{i:02d}", w, truth, [truth], ["positive", "neutral", "negative"][i % 3], "favor", "submitted"))
        rows.append((f"r{i:02d}", "w4", frames[(i + 1) % 4], [frames[(i + 1) % 4]], "negative", "against", "submitted"))
    ann, st = tables(rows)
    g = by_article(gold_labels(ann, st, CB, method="dawid-skene"))
    _consistent(g)
    given: dict = {}
    for art, _who, primary, fs, tone, stance, _status in rows:
        given.setdefault((art, "primary_frame"), set()).add(primary)
        given.setdefault((art, "tone"), set()).add(tone)
        given.setdefault((art, "stance"), set()).add(stance)
        given.setdefault((art, "frames"), set()).update(fs)
    for art, r in g.items():
        assert r["primary_frame"] in given[(art, "primary_frame")] | {UNRESOLVED}
        assert r["tone"] in given[(art, "tone")] | {UNRESOLVED}
        assert r[f"stance_{TARGETS[0]}"] in given[(art, "stance")] | {UNRESOLVED}
        assert set(r["frames"]) <= given[(art, "frames")]
        assert all(0 < s <= 1 for s in r["frames_support"])
    assert all(g[f"r{i:02d}"]["primary_frame"] == frames[i % 4] for i in range(40))


def test_gold_never_from_fewer_than_min_annotators_and_low_support_is_unresolved():
    ann, st = tables([
        ("solo", "x", "economic", ["economic"], "neutral", "favor", "submitted"),
        ("pair", "x", "economic", ["economic"], "neutral", "favor", "submitted"),
        ("pair", "y", "economic", ["economic"], "neutral", "favor", "submitted"),
        ("trio", "x", "economic", ["economic"], "neutral", "favor", "submitted"),
        ("trio", "y", "economic", ["economic"], "neutral", "against", "submitted"),
        ("trio", "z", "economic", ["economic"], "positive", "against", "submitted"),
    ])
    g = by_article(gold_labels(ann, st, CB, min_annotators=2))
    assert (g["solo"]["primary_frame"], g["solo"]["tone"], g["solo"]["frames"]) == (UNRESOLVED, UNRESOLVED, [])
    assert g["solo"]["frames_unresolved"] == ["economic"]
    assert (g["pair"]["primary_frame"], g["pair"]["frames"]) == ("economic", ["economic"])
    # tone: these annotators agree no better than chance, so a label's support is its overall share (5/6)
    strict = by_article(gold_labels(ann, st, CB, min_annotators=2, min_support=0.9))
    assert (strict["trio"]["tone"], strict["trio"]["tone_support"]) == (UNRESOLVED, 0.8333)
    assert strict["trio"]["primary_frame"] == "economic"  # 3 of 3
    shares = unresolved_shares(gold_labels(ann, st, CB, min_annotators=2), CB)
    assert shares["primary_frame"] == round(1 / 3, 4)  # the single-annotator article counts toward the gate


def test_dawid_skene_leaves_vote_ties_unresolved_and_reports_predictive_support():
    """Two annotators who always agree on the truth, and a third who always says `negative`. On the
    articles only the first and the third labelled, the votes tie: Dawid-Skene has learned that the
    third carries no information, but a tie is left to a person under every method (its posterior
    there is near 1, and on real annotators such ties are not that certain: BENCHMARKS). Its
    support is what support is for majority: the chance that one more annotator, drawn like these,
    gives the label, from the estimated confusion matrices; not the posterior."""
    rows = []
    tones = ["positive", "neutral", "negative"]
    for i in range(30):
        truth = tones[i % 3]
        rows.append((f"a{i:02d}", "reliable1", "economic", ["economic"], truth, "favor", "submitted"))
        rows.append((f"a{i:02d}", "reliable2", "economic", ["economic"], truth, "favor", "submitted"))
        rows.append((f"a{i:02d}", "constant", "economic", ["economic"], "negative", "favor", "submitted"))
    for i in range(6):
        truth = ["positive", "neutral"][i % 2]
        rows.append((f"b{i}", "reliable1", "economic", ["economic"], truth, "favor", "submitted"))
        rows.append((f"b{i}", "constant", "economic", ["economic"], "negative", "favor", "submitted"))
    ann, st = tables(rows)
    mv = by_article(gold_labels(ann, st, CB, method="majority"))
    ds = by_article(gold_labels(ann, st, CB, method="dawid-skene"))
    for i in range(6):
        truth = ["positive", "neutral"][i % 2]
        assert mv[f"b{i}"]["tone"] == UNRESOLVED
        assert ds[f"b{i}"]["tone"] == UNRESOLVED
        assert ds[f"b{i}"]["method"] == "dawid-skene"
    assert all(ds[f"a{i:02d}"]["tone"] == tones[i % 3] for i in range(30))
    # one more annotator says `positive` on a positive article with probability (36 + 30) / (36 + 30 + 36):
    # the two reliable annotators' items against the constant one's
    positive = [ds[f"a{i:02d}"]["tone_support"] for i in range(0, 30, 3)]  # tones[0]: positive
    assert positive and all(abs(x - 66 / 102) < 0.01 for x in positive)
    assert ds["a00"]["frames"] == ["economic"]
    # deterministic
    assert gold_labels(ann, st, CB, method="dawid-skene").equals(gold_labels(ann, st, CB, method="dawid-skene"))


def test_unknown_method_or_tie_rule():
    ann, st = tables([("a1", "x", "economic", ["economic"], "neutral", "favor", "submitted")])
    with pytest.raises(AggregateError, match="method"):
        gold_labels(ann, st, CB, method="vote")
    with pytest.raises(AggregateError, match="tie rule"):
        gold_labels(ann, st, CB, tie="coin")


def test_spans_marked_by_a_majority_are_consolidated_word_by_word():
    text = "alpha beta gamma delta epsilon zeta"
    ann, _ = tables([(("t"), w, "economic", ["economic"], "neutral", "favor", "submitted") for w in "ABC"])

    def at(word_from: str, word_to: str) -> tuple[int, int]:
        return text.index(word_from), text.index(word_to) + len(word_to)

    spans = []
    for who, (s, e), label in [
        ("A", at("beta", "gamma"), "economic"),
        ("B", at("beta", "delta"), "economic"),
        ("C", at("delta", "delta"), "economic"),
        ("C", at("zeta", "zeta"), "economic"),       # one vote of three: dropped
        ("A", at("alpha", "alpha"), "morality"),     # another label: its own votes
    ]:
        spans.append({"article_id": "t", "annotation_id": "ABC".index(who), "annotator": who, "status": "submitted",
                      "kind": "frame_cue", "label": label, "start": s, "end": e, "text": text[s:e]})
    spans.append({**spans[0], "annotator": "D", "annotation_id": 99, "status": "draft"})
    # a submitted annotation without an article (validation rejects it) changes nothing here
    ann = pd.concat([ann, ann.iloc[:1].assign(article_id=None, annotation_id=98)], ignore_index=True)
    out = gold_spans(ann, pd.DataFrame(spans), {"t": text}).to_pylist()
    assert out == [{"article_id": "t", "kind": "frame_cue", "label": "economic", "start": 6, "end": 22,
                    "text": "beta gamma delta", "support": 0.6667}]


def test_quality_gates_name_the_dimension():
    alphas = {"primary_frame": 0.71, "tone": 0.12, "stance:russian_government": None, "stance:us_administration": 0.9}
    quality = {"min_alpha": {"primary_frame": 0.5, "tone": 0.3, "stance:*": 0.5}, "max_unresolved_share": 0.2}
    msgs = gate_failures(alphas, {"primary_frame": 0.25, "tone": 0.0}, quality)
    assert msgs == [
        "quality gate: alpha for stance:russian_government is undefined (too few paired labels), minimum 0.5",
        "quality gate: alpha for tone is 0.120, below the minimum 0.3 (params.yaml quality.min_alpha.tone)",
        "quality gate: 25% of articles have an unresolved primary_frame label, above the maximum 20% "
        "(params.yaml quality.max_unresolved_share)",
    ]
    assert gate_failures({"primary_frame": 0.9}, {}, {"min_alpha": {"primary_frame": 0.5}}) == []


def test_unresolved_shares():
    ann, st = tables([
        ("a1", "x", "economic", ["economic"], "neutral", "favor", "submitted"),
        ("a1", "y", "policy", ["economic"], "neutral", "favor", "submitted"),
        ("a2", "x", "economic", ["economic"], "neutral", "favor", "submitted"),
    ])
    shares = unresolved_shares(gold_labels(ann, st, CB), CB)
    assert shares["primary_frame"] == 0.5 and shares["tone"] == 0.0 and shares["frames"] == 0.0


def test_aggregate_refuses_tables_that_fail_validation_and_writes_nothing(sample, tmp_path):
    from framestance.aggregate import AggregateError, run
    from framestance.codebook import load
    from framestance.config import AggregateConfig, QualityConfig
    from framestance.validate import load_tables

    from .conftest import ROOT

    cb = load(ROOT / "schemas" / "codebook.yaml")
    tables = load_tables({"corpus": sample / "corpus", "annotations": sample / "annotations"})
    ok = run(tables, cb, AggregateConfig(), QualityConfig(), tmp_path / "good")
    assert ok.gate_failures == [] and (tmp_path / "good" / "gold.parquet").exists()
    tables["annotations"].loc[0, "annotator"] = "ada.quill@example.org"
    with pytest.raises(AggregateError, match="refusing to aggregate: the tables fail validation: annotations"):
        run(tables, cb, AggregateConfig(), QualityConfig(), tmp_path / "bad")
    assert not (tmp_path / "bad").exists()


def test_soft_labels_are_vote_shares_in_codebook_order():
    ann, st = tables(FOUR_2_1_1)
    for method_kw in ({},):
        q = by_article(gold_labels(ann, st, CB, **method_kw))["q"]
        frames = CB.frame_ids()
        votes = dict(zip(frames, q["primary_frame_votes"]))
        assert (votes["policy"], votes["economic"], votes["political"]) == (0.5, 0.25, 0.25)
        assert sum(q["primary_frame_votes"]) == pytest.approx(1.0)
        assert dict(zip(frames, q["frames_votes"]))["policy"] == 0.5
        assert q["tone_votes"] == [1.0 if t.id == "neutral" else 0.0 for t in CB.tone]
        assert q[f"stance_{TARGETS[0]}_votes"] == [1.0 if v.id == "favor" else 0.0 for v in CB.stance_values]


def _gold_spans_by_sets(ann: pd.DataFrame, spans: pd.DataFrame, texts: dict) -> list[dict]:
    """Span consolidation written out word by word with Python sets, to check the vectorised one."""
    import re
    from bisect import bisect_left, bisect_right

    sub = ann[ann["status"] == "submitted"]
    n_ann = sub.groupby("article_id")["annotator"].nunique().to_dict()
    votes: dict = {}
    for r in spans[(spans["status"] == "submitted") & spans["annotation_id"].isin(set(sub["annotation_id"]))].to_dict("records"):
        if r["article_id"] not in texts:
            continue
        bounds = [m.span() for m in re.finditer(r"\S+", texts[r["article_id"]])]
        lo, hi = bisect_right([e for _, e in bounds], r["start"]), bisect_left([s for s, _ in bounds], r["end"])
        for i in range(lo, hi):
            votes.setdefault((r["article_id"], r["kind"], r["label"]), {}).setdefault(i, set()).add(r["annotator"])
    out = []
    for (a, kind, label), by_word in sorted(votes.items()):
        bounds = [m.span() for m in re.finditer(r"\S+", texts[a])]
        kept = sorted(i for i, who in by_word.items() if 2 * len(who) > n_ann[a])
        runs: list[list[int]] = []
        for i in kept:
            if runs and i == runs[-1][-1] + 1:
                runs[-1].append(i)
            else:
                runs.append([i])
        for run in runs:
            s, e = bounds[run[0]][0], bounds[run[-1]][1]
            support = sum(len(by_word[j]) for j in run) / (n_ann[a] * len(run))
            out.append({"article_id": a, "kind": kind, "label": label, "start": s, "end": e, "text": texts[a][s:e],
                        "support": round(support, 4)})
    return out


@pytest.mark.parametrize("seed", range(6))
def test_gold_spans_match_the_word_by_word_definition_in_any_batch_size(seed, monkeypatch):
    import functools

    from framestance import aggregate, tokens

    rng = np.random.default_rng(seed)
    words = ["talks", "Ålesund", "über", "日本", "a", "—"]
    spaces = [" ", "\u00a0", "\n", "  ", "\u2003"]
    texts = {f"t{k}": "".join(str(rng.choice(words)) + str(rng.choice(spaces)) for _ in range(rng.integers(1, 25)))
             for k in range(8)}
    rows = [(f"t{k}", who, "economic", ["economic"], "neutral", "favor", "submitted" if rng.random() < 0.9 else "draft")
            for k in range(9) for who in rng.choice(list("ABCD"), rng.integers(1, 5), replace=False)]
    ann, _ = tables(rows)
    spans = []
    for _ in range(rng.integers(5, 80)):
        k = int(rng.integers(0, len(ann)))
        start = int(rng.integers(-2, 80))
        spans.append({"article_id": ann["article_id"][k], "annotation_id": int(ann["annotation_id"][k]),
                      "annotator": ann["annotator"][k], "status": ann["status"][k],
                      "kind": str(rng.choice(["frame_cue", "stance_evidence"])), "label": str(rng.choice(["economic", "policy"])),
                      "start": start, "end": start + int(rng.integers(0, 40)), "text": None})
    spans = pd.DataFrame(spans)
    want = _gold_spans_by_sets(ann, spans, texts)
    assert gold_spans(ann, spans, texts).to_pylist() == want
    monkeypatch.setattr(aggregate, "word_batches", functools.partial(tokens.word_batches, words=3))
    assert gold_spans(ann, spans, texts).to_pylist() == want


def _with_relevance(rows, not_relevant: set[int]):
    """tables(rows), with the annotations at positions `not_relevant` found not relevant: as pull
    writes them, with no other label and no stance."""
    ann, st = tables(rows)
    ann["relevance"] = ["not_relevant" if k in not_relevant else "relevant" for k in range(len(ann))]
    for k in not_relevant:
        ann.at[k, "primary_frame"], ann.at[k, "tone"], ann.at[k, "frames"] = None, None, np.array([], dtype=object)
    return ann, st[~st["annotation_id"].isin(not_relevant)].reset_index(drop=True)


def test_relevance_is_decided_first_and_the_rest_by_those_who_found_it_relevant():
    ann, st = _with_relevance([
        ("off", "x", "economic", ["economic"], "positive", "favor", "submitted"),
        ("off", "y", None, [], None, None, "submitted"),
        ("off", "z", None, [], None, None, "submitted"),
        ("on", "x", "policy", ["policy"], "neutral", "against", "submitted"),
        ("on", "y", "policy", ["policy", "economic"], "negative", "against", "submitted"),
        ("on", "z", None, [], None, None, "submitted"),
        ("tie", "x", "legality", ["legality"], "neutral", "neutral", "submitted"),
        ("tie", "y", None, [], None, None, "submitted"),
    ], not_relevant={1, 2, 5, 7})
    for method in ("majority",):
        g = by_article(gold_labels(ann, st, CB, method=method))
        off, on, tie = g["off"], g["on"], g["tie"]
        # two of three found it not relevant: nothing else applies (null, which is not `unresolved`)
        relevance = {"off": ["relevant", "not_relevant", "not_relevant"], "on": ["relevant", "relevant", "not_relevant"],
                     "tie": ["relevant", "not_relevant"]}
        assert (off["relevance"], off["relevance_votes"]) == ("not_relevant", [0.3333, 0.6667])
        assert off["relevance_support"] == expected_support(relevance, "off", "not_relevant")
        assert (off["primary_frame"], off["tone"], off["frames"], off["frames_unresolved"]) == (None, None, [], [])
        assert (off["primary_frame_source"], off["frames_source"], off[f"stance_{TARGETS[0]}"]) == (None, None, None)
        # two of three found it relevant: the rest is their majority, with shares of the two
        assert (on["relevance"], on["relevance_source"], on["n_annotators"]) == ("relevant", method, 3)
        assert (on["primary_frame"], on["primary_frame_support"], on["frames"]) == ("policy", 1.0, ["policy"])
        assert on["frames_unresolved"] == ["economic"]  # one of the two: a tie
        assert on["tone"] == UNRESOLVED and sum(on["tone_votes"]) == pytest.approx(1.0)
        assert (on[f"stance_{TARGETS[0]}"], on[f"stance_{TARGETS[0]}_support"]) == ("against", 1.0)
        # a 1-1 relevance tie is unresolved (and so adjudicated); the rest stays as its coder gave it
        assert (tie["relevance"], tie["primary_frame"], tie["tone"]) == (UNRESOLVED, "legality", "neutral")
    assert unresolved_shares(gold_labels(ann, st, CB), CB)["relevance"] == round(1 / 3, 4)
    g = by_article(gold_labels(ann, st, CB, min_annotators=2))
    assert (g["on"]["primary_frame"], g["off"]["primary_frame"]) == ("policy", None)
    assert (g["tie"]["relevance"], g["tie"]["primary_frame"]) == (UNRESOLVED, UNRESOLVED)  # one relevant coder: too few


def test_adjudicated_not_relevant_clears_every_other_label_and_relevant_restores_them():
    rows = [("a", "x", "policy", ["policy"], "neutral", "favor", "submitted"),
            ("a", "y", "policy", ["policy"], "neutral", "favor", "submitted"),
            ("b", "x", None, [], None, None, "submitted"),
            ("b", "y", None, [], None, None, "submitted"),
            ("a", "adj", None, [], None, None, "adjudicated"),
            ("b", "adj", "economic", ["economic"], "negative", "against", "adjudicated")]
    ann, st = _with_relevance(rows, not_relevant={2, 3, 4})
    g = by_article(gold_labels(ann, st, CB))
    assert (g["a"]["relevance"], g["a"]["relevance_source"], g["a"]["relevance_support"]) == ("not_relevant", "adjudicated", 0.0)
    assert (g["a"]["primary_frame"], g["a"]["frames"], g["a"]["tone"], g["a"][f"stance_{TARGETS[0]}"]) == (None, [], None, None)
    assert g["b"]["relevance"] == "relevant" and g["b"]["relevance_source"] == "adjudicated"
    assert (g["b"]["primary_frame"], g["b"]["frames"], g["b"]["tone"], g["b"]["tone_source"]) == (
        "economic", ["economic"], "negative", "adjudicated")


def test_tables_without_a_relevance_column_read_as_relevant():
    ann, st = tables(FOUR_2_1_1)
    assert "relevance" not in ann
    q = by_article(gold_labels(ann, st, CB))["q"]
    assert (q["relevance"], q["relevance_support"], q["tone"]) == ("relevant", 1.0, "neutral")


def test_disputes_are_settled_by_an_adjudicator_also_when_the_article_is_found_not_relevant():
    from framestance.aggregate import disputes_settled

    rows = [("a", "x", "policy", ["policy"], "neutral", "favor", "submitted"),
            ("a", "y", "economic", ["economic"], "negative", "favor", "submitted"),
            ("a", "z", "morality", ["morality"], "positive", "favor", "submitted"),
            ("b", "x", "policy", ["policy"], "neutral", "favor", "submitted"),
            ("b", "y", "economic", ["economic", "policy"], "neutral", "favor", "submitted")]
    ann, st = tables(rows)
    before = disputes_settled(gold_labels(ann, st, CB))
    assert before["primary_frame"] == (2, 0) and before["tone"] == (1, 0) and before[f"stance_{TARGETS[0]}"] == (0, 0)
    assert before["frames"] == (2, 0)
    # the adjudicator finds `a` not about the issue: nothing of it is released, so it is no dispute any
    # more; `b` still is, until an adjudicator decides it
    ann2, st2 = _with_relevance([*rows, ("a", "adj", None, [], None, None, "adjudicated")], not_relevant={5})
    after = disputes_settled(gold_labels(ann2, st2, CB))
    assert after["primary_frame"] == (1, 0) and after["tone"] == (0, 0) and after["frames"] == (1, 0)
    ann3, st3 = _with_relevance([*rows, ("a", "adj", None, [], None, None, "adjudicated"),
                                 ("b", "adj", "policy", ["policy"], "neutral", "favor", "adjudicated")], not_relevant={5})
    assert disputes_settled(gold_labels(ann3, st3, CB))["primary_frame"] == (1, 1)
