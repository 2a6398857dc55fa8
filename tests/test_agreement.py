from __future__ import annotations

import dataclasses
import json
import random

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import given as given_
from hypothesis import strategies as st_
from nltk.metrics.agreement import AnnotationTask
from nltk.metrics.distance import binary_distance, interval_distance, masi_distance

from framestance import agreement
from framestance.agreement import alpha, compute, span_f1, summary_rows, write_outputs
from framestance.codebook import load
from framestance.schema import ANNOTATION, SPAN, SPAN_KINDS, STANCE
from framestance.tokens import token_offsets, token_ranges

from .conftest import ROOT


def long(matrix: dict[str, list]) -> pd.DataFrame:
    """Reliability data matrix (coder -> one value per unit, None = missing) in long form."""
    rows = [(u, c, v) for c, values in matrix.items() for u, v in enumerate(values)]
    return pd.DataFrame(rows, columns=["unit", "coder", "value"])


# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: 4 observers, 12 units.
K2011 = {
    "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    "C": [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
}


def test_krippendorff_2011_worked_example():
    data = long(K2011)
    assert round(alpha(data, "nominal"), 3) == 0.743
    assert round(alpha(data, "ordinal", order=[1, 2, 3, 4, 5]), 3) == 0.815
    assert round(alpha(data, "interval"), 3) == 0.849


def test_nominal_by_hand():
    # A: a a b b / B: a b b b. Pairable n = 8, n_a = 3, n_b = 5; each unit has m = 2 (weight 1).
    # Observed: only unit 2 disagrees, 2 ordered pairs -> sum o*d = 2.
    # Expected: sum n_c n_k d = 2 * 3 * 5 = 30. alpha = 1 - (n-1) * 2 / 30 = 1 - 14/30 = 8/15.
    assert alpha(long({"A": list("aabb"), "B": list("abbb")})) == pytest.approx(8 / 15, abs=1e-12)


def test_interval_by_hand():
    # A: 1 2 3 / B: 1 2 4. Values 1,1,2,2,3,4: n = 6, sum v = 13, sum v^2 = 35.
    # Observed: unit 3, two ordered pairs with (3-4)^2 -> 2.
    # Expected: sum over all ordered pairs (v_i - v_j)^2 = 2*6*35 - 2*13^2 = 420 - 338 = 82.
    # alpha = 1 - 5 * 2 / 82 = 36/41.
    assert alpha(long({"A": [1, 2, 3], "B": [1, 2, 4]}), "interval") == pytest.approx(36 / 41, abs=1e-12)


def test_ordinal_by_hand():
    # A: lo mid hi / B: lo hi hi; unit 4 has "n/a" (outside the order: missing) so it drops out.
    # n_lo = 2, n_mid = 1, n_hi = 3, n = 6. Krippendorff's ordinal metric:
    # d(lo,mid) = 2+1 - (2+1)/2 = 1.5, d(lo,hi) = 6 - 2.5 = 3.5, d(mid,hi) = 4 - 2 = 2.
    # Observed: unit 2, 2 ordered pairs * 2^2 = 8. Expected: 2*(2*1*2.25 + 2*3*12.25 + 1*3*4) = 180.
    # alpha = 1 - 5 * 8 / 180 = 7/9.
    data = long({"A": ["lo", "mid", "hi", "hi"], "B": ["lo", "hi", "hi", "n/a"]})
    assert alpha(data, "ordinal", order=["lo", "mid", "hi"]) == pytest.approx(7 / 9, abs=1e-12)
    # nominal without unit 4: same counts, d = 1 off the diagonal: observed 2, expected 36 - 4 - 1 - 9
    assert alpha(data.iloc[[0, 1, 2, 4, 5, 6]], "nominal") == pytest.approx(1 - 5 * 2 / (36 - 4 - 1 - 9), abs=1e-12)


def test_perfect_undefined_and_errors():
    assert alpha(long({"A": list("abcab"), "B": list("abcab"), "C": list("abc") + [None, "b"]})) == 1.0
    assert alpha(long({"A": list("aaa"), "B": list("aaa")})) is None  # no expected disagreement
    assert alpha(long({"A": list("abc"), "B": [None, None, None]})) is None  # nothing pairable
    assert alpha(long({"A": [], "B": []})) is None
    assert alpha(long({"A": [1, 1], "B": [1, 1]}), "interval") is None
    with pytest.raises(ValueError):
        alpha(long(K2011), "ordinal")
    with pytest.raises(ValueError):
        alpha(long(K2011), "ratio")


def test_first_value_per_coder_kept():
    data = long({"A": list("aabb"), "B": list("abbb")})
    dup = pd.DataFrame([(1, "B", "a"), (0, "A", None)], columns=["unit", "coder", "value"])
    # B's second value in unit 1 ("a", which would agree) is ignored; A's null in unit 0 is missing
    assert alpha(pd.concat([data, dup], ignore_index=True)) == pytest.approx(8 / 15, abs=1e-12)
    assert alpha(pd.concat([dup.iloc[:1], data], ignore_index=True)) == 1.0  # now "a" comes first


def _random_matrix(rng: random.Random, units: int, coders: int, draw) -> list[tuple[str, int, object]]:
    triples = []
    for u in range(units):
        for c in range(coders):
            if rng.random() > 0.25:
                triples.append((f"c{c}", u, draw()))
    return triples


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_matches_nltk_nominal_and_interval(seed):
    rng = random.Random(seed)
    triples = _random_matrix(rng, 60, 4, lambda: rng.choice("wxyz"))
    ours = alpha(pd.DataFrame(triples, columns=["coder", "unit", "value"]))
    assert ours == pytest.approx(AnnotationTask(data=triples, distance=binary_distance).alpha(), abs=1e-9)
    numbers = _random_matrix(rng, 50, 3, lambda: rng.randint(0, 9))
    ours = alpha(pd.DataFrame(numbers, columns=["coder", "unit", "value"]), "interval")
    assert ours == pytest.approx(AnnotationTask(data=numbers, distance=interval_distance).alpha(), abs=1e-9)


@pytest.mark.parametrize("seed", [4, 5])
def test_masi_matches_nltk(seed):
    rng = random.Random(seed)
    universe = list(range(6))

    def draw():
        return frozenset(rng.sample(universe, rng.randint(1, 3)))

    triples = _random_matrix(rng, 50, 3, draw)
    expected = AnnotationTask(data=triples, distance=masi_distance).alpha()
    unit = np.array([u for _, u, _ in triples])
    masks = np.array([sum(1 << k for k in s) for _, _, s in triples], dtype=np.uint64)
    assert agreement._alpha_masi(unit, masks) == pytest.approx(expected, abs=1e-9)


# ---- spans -----------------------------------------------------------------------------------
TEXT = "The talks in Alaska ended without a deal today ."
#        tokens: 0 The, 1 talks, 2 in, 3 Alaska, 4 ended, 5 without, 6 a, 7 deal, 8 today, 9 .


def span(who, kind, label, start, end, article="a1", status="submitted"):
    return {"article_id": article, "annotation_id": 1, "annotator": who, "status": status, "kind": kind,
            "label": label, "start": start, "end": end, "text": None}


def at(s: str) -> tuple[int, int]:
    i = TEXT.index(s)
    return i, i + len(s)


def test_span_f1_by_hand():
    rows = [
        span("x", "frame_cue", "political", *at("talks in Alaska")),     # tokens 1 2 3
        span("x", "frame_cue", "economic", *at("a deal")),              # tokens 6 7
        span("y", "frame_cue", "political", *at("Alaska ended")),        # tokens 3 4
        span("y", "frame_cue", "economic", *at("ithout a d")),          # partial: tokens 5 6 7
        span("x", "stance_evidence", "russian_government", *at("deal")),        # token 7
        span("y", "stance_evidence", "russian_government", *at("deal today")),  # tokens 7 8
        span("x", "frame_cue", "economic", 0, 5, article="elsewhere"),  # article without text: skipped
    ]
    spans = pd.DataFrame(rows)
    # frame_cue: A = {1p 2p 3p 6e 7e}, B = {3p 4p 5e 6e 7e}, A&B = {3p 6e 7e} -> 2*3 / 10
    # stance_evidence: {7} vs {7, 8} -> 2*1 / 3
    got = span_f1(spans, {"a1": TEXT})
    assert got["frame_cue"] == pytest.approx(0.6)
    assert got["stance_evidence"] == pytest.approx(2 / 3)
    # z submitted too but marked nothing: pairs (x,z) and (y,z) add |A| + 0 to the denominator
    got = span_f1(spans, {"a1": TEXT}, {"a1": {"x", "y", "z"}})
    assert got["frame_cue"] == pytest.approx(6 / 20)
    assert got["stance_evidence"] == pytest.approx(2 / 6)
    assert span_f1(spans.iloc[:0], {"a1": TEXT}) == {"frame_cue": None, "stance_evidence": None}


def test_span_token_boundaries_are_half_open():
    # "The " (0, 4) ends where "talks" starts: token 0 only; (3, 5) " t" covers token 1 only.
    spans = pd.DataFrame([span("x", "frame_cue", "policy", 0, 4), span("y", "frame_cue", "policy", 3, 5)])
    assert span_f1(spans, {"a1": TEXT})["frame_cue"] == 0.0
    spans = pd.DataFrame([span("x", "frame_cue", "policy", 0, 5), span("y", "frame_cue", "policy", 3, 5)])
    assert span_f1(spans, {"a1": TEXT})["frame_cue"] == pytest.approx(2 * 1 / 3)


# ---- compute -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cb():
    return load(ROOT / "schemas" / "codebook.yaml")


def ann(article, who, primary, frames, tone="neutral", status="submitted", lead=None, aid=0):
    return {"article_id": article, "text_sha256": None, "task_id": 1, "annotation_id": aid, "annotator": who,
            "status": status, "created_at": None, "updated_at": None, "lead_time": lead, "ground_truth": False,
            "primary_frame": primary, "frames": frames, "tone": tone}


def stance(article, who, value, status="submitted", target="russian_government"):
    return {"article_id": article, "annotation_id": 0, "annotator": who, "status": status, "target": target,
            "value": value}


def fixture_tables():
    annotations = [
        ann("a1", "p", "economic", ["economic", "political"], lead=10.0),
        ann("a1", "q", "economic", ["economic"], lead=5.0),
        ann("a1", "r", "political", ["political"], lead=3.0),
        ann("a2", "p", "political", ["political"], lead=20.0),
        ann("a2", "q", "political", ["political", "security_defense"]),
        ann("a3", "p", "economic", ["economic"], lead=40.0),
        ann("a3", "q", "security_defense", ["economic", "security_defense"], lead=7.0),
        # excluded: r's draft and cancelled annotation, s who only drafted
        ann("a2", "r", "morality", ["morality"], tone="negative", status="draft"),
        ann("a3", "r", "morality", ["morality"], tone="positive", status="cancelled"),
        ann("a1", "s", "morality", ["morality"], tone="positive", status="draft"),
    ]
    stances = [
        stance("a1", "p", "against"), stance("a1", "q", "against"), stance("a1", "r", "favor"),
        stance("a2", "p", "neutral"), stance("a2", "q", "not_addressed"),
        stance("a3", "p", "favor"), stance("a3", "q", "favor"),
        stance("a2", "r", "favor", status="draft"), stance("a3", "r", "against", status="cancelled"),
    ]
    return (pa.Table.from_pylist(annotations, schema=ANNOTATION).to_pandas(),
            pa.Table.from_pylist(stances, schema=STANCE).to_pandas(),
            pa.Table.from_pylist([], schema=SPAN).to_pandas())


def test_compute_by_hand(cb):
    annotations, stances, spans = fixture_tables()
    m = compute(annotations, stances, spans, cb)
    assert m["counts"] == {"annotations": 7, "annotators": 3, "articles": 3, "articles_with_2plus": 3}
    a = m["alpha"]
    # primary: a1 e e pol, a2 pol pol, a3 e sec; n=7 (3 e, 3 pol, 1 sec).
    # observed (9-5)/2 + 0 + (4-2)/1 = 4; expected 49 - 19 = 30; alpha = 1 - 6*4/30 = 0.2
    assert a["primary_frame"] == 0.2
    assert a["tone"] is None  # everybody submitted "neutral"
    # economic present: a1 1 1 0, a2 0 0, a3 1 1; observed 2, expected 49 - 16 - 9 = 24 -> 1 - 12/24
    assert a["frames"]["economic"] == 0.5
    assert a["frames"]["morality"] is None  # only the draft/cancelled annotations use it
    assert set(a["frames"]) == set(cb.frame_ids())
    # stance nominal: a1 ag ag fav, a2 neu na, a3 fav fav: observed 2 + 2 = 4, expected 49 - 15 = 34
    # ordinal: "not_addressed" is missing, a2 drops out; midranks ag 1, fav 3.5 (n_ag 2, n_fav 3):
    # observed 4 pairs * 6.25 / 2 = 12.5, expected 2*2*3*6.25 = 75 -> 1 - 4*12.5/75 = 1/3
    # addressed or not: a1 1 1 1, a2 1 0, a3 1 1: observed 2, expected 49 - 36 - 1 = 12 -> 1 - 6*2/12
    assert a["stance"]["russian_government"] == {"nominal": round(1 - 24 / 34, 4), "addressed": 0.0,
                                                 "ordinal_addressed": 0.3333}
    assert a["stance"]["us_administration"] == {"nominal": None, "addressed": None, "ordinal_addressed": None}
    assert m["n"]["primary_frame"] == {"units": 3, "values": 7}
    assert m["n"]["stance_ordinal_addressed:russian_government"] == {"units": 2, "values": 5}
    people = m["annotators"]
    assert sorted(people) == ["p", "q", "r"]
    # p: a1 1 of 2 others, a2 1/1, a3 0/1 -> 2/4; r: 0 of 2 on a1
    no_gold = {"gold_tasks": 0, "gold_accuracy": None, "gold_by_dimension": {}}
    assert people["p"] == {"tasks": 3, "median_lead_time": 20.0, "agreement_with_others": 0.5, **no_gold}
    assert people["q"] == {"tasks": 3, "median_lead_time": 6.0, "agreement_with_others": 0.5, **no_gold}
    assert people["r"] == {"tasks": 1, "median_lead_time": 3.0, "agreement_with_others": 0.0, **no_gold}
    # p/q agree on a1 and a2, not a3; r meets the others on a1 only
    assert m["pairwise"] == {"p|q": {"articles": 3, "primary_frame": 0.6667}, "p|r": {"articles": 1, "primary_frame": 0.0},
                             "q|r": {"articles": 1, "primary_frame": 0.0}}
    assert m["confusion_primary_frame"]["p"] == {"economic": {"economic": 1, "political": 1, "security_defense": 1},
                                                 "political": {"political": 1}}
    # a1 and a3 as hidden gold questions: out of every alpha, scored per annotator instead
    gold = dataclasses.replace(
        cb, gold={"a1": {"primary_frame": "economic"}, "a3": {"primary_frame": "security_defense"}, "a9": {}})
    g = compute(annotations, stances, spans, gold)
    assert g["counts"]["articles"] == 1 and g["alpha"]["primary_frame"] is None  # only a2 is left
    assert {w: (v["gold_tasks"], v["gold_accuracy"]) for w, v in g["annotators"].items()} == {
        "p": (2, 0.5), "q": (2, 1.0), "r": (1, 0.0)}
    assert g["annotators"]["p"]["gold_by_dimension"] == {"primary_frame": 0.5}
    # gold frames [] with primary economic: pull counts the primary as present, so does the scoring
    g2 = compute(annotations, stances, spans, dataclasses.replace(cb, gold={"a2": {"primary_frame": "political", "frames": []}}))
    assert g2["annotators"]["p"]["gold_by_dimension"]["frames"] == 1.0
    # a gold question that is not about the issue: only "not relevant" is right
    g3 = compute(annotations.assign(relevance=np.where(annotations["annotator"] == "q", "not_relevant", "relevant")),
                 stances, spans, dataclasses.replace(cb, gold={"a2": {"relevance": "not_relevant"}}))
    assert {w: v["gold_by_dimension"] for w, v in g3["annotators"].items() if v["gold_tasks"]} == {
        "p": {"relevance": 0.0}, "q": {"relevance": 1.0}}
    assert m["spans"] == {"frame_cue": None, "stance_evidence": None}
    assert list(m) == sorted(m) and list(a["frames"]) == sorted(a["frames"])
    json.dumps(m, allow_nan=False)


def test_drafts_and_cancelled_are_ignored(cb):
    annotations, stances, spans = fixture_tables()
    only = annotations[annotations["status"] == "submitted"]
    base = compute(only, stances[stances["status"] == "submitted"], spans, cb)
    assert compute(annotations, stances, spans, cb) == base
    # the excluded rows do disagree: counted as submitted they change alpha
    promoted = annotations.assign(status="submitted")
    assert compute(promoted, stances, spans, cb)["alpha"]["primary_frame"] != base["alpha"]["primary_frame"]
    assert base["annotators"]["r"]["gold_tasks"] == 0 and base["annotators"]["r"]["gold_accuracy"] is None


def test_compute_masi_and_spans(cb):
    annotations, stances, _ = fixture_tables()
    sub = annotations[annotations["status"] == "submitted"]
    triples = [(w, a, frozenset(f)) for w, a, f in zip(sub["annotator"], sub["article_id"], sub["frames"])]
    expected = AnnotationTask(data=triples, distance=masi_distance).alpha()
    text = "Prices rose . Troops moved ."
    spans = pd.DataFrame([
        span("p", "frame_cue", "economic", 0, 6), span("q", "frame_cue", "economic", 0, 11),
        span("r", "frame_cue", "economic", 0, 6, status="draft"),
    ])
    m = compute(annotations, stances, spans, cb, texts={"a1": text})
    assert m["counts"]["annotators"] == compute(annotations, stances, spans, cb)["counts"]["annotators"] == 3
    assert m["alpha"]["frames_masi"] == pytest.approx(expected, abs=5e-5)
    # a1 submitted by p, q, r: p {0} vs q {0, 1}: 2/3; r's span is a draft, r marked nothing: +1, +2
    assert m["spans"]["frame_cue"] == round(2 * 1 / (3 + 1 + 2), 4)
    assert m["spans"]["stance_evidence"] is None


def test_summary_rows_order(cb):
    annotations, stances, spans = fixture_tables()
    rows = summary_rows(compute(annotations, stances, spans, cb))
    dims = [r["dimension"] for r in rows]
    assert dims[:3] == ["relevance", "primary_frame", "tone"]
    assert dims[3:3 + len(cb.frames)] == [f"frames:{f}" for f in sorted(cb.frame_ids())]
    assert dims[3 + len(cb.frames)] == "frames_masi"
    assert "stance:russian_government" in dims and "stance_ordinal_addressed:russian_government" in dims
    assert "stance_addressed:russian_government" in dims
    assert "stance_ordinal_addressed:us_administration" not in dims  # undefined ordinal rows are left out
    assert all(set(r) == {"dimension", "alpha", "ci95", "ci95_decimals", "n_units", "n_values"} for r in rows)
    assert {r["dimension"]: r["alpha"] for r in rows}["primary_frame"] == 0.2


def test_write_outputs_deterministic(cb, tmp_path):
    annotations, stances, spans = fixture_tables()
    metrics = compute(annotations, stances, spans, cb)
    written = {}
    for run in ("one", "two"):
        folder = tmp_path / run
        paths = write_outputs(metrics, annotations, stances, cb, folder / "metrics.json", folder / "plots")
        written[run] = {p.relative_to(folder).as_posix(): p.read_bytes() for p in paths}
    # no labels.png/labels.csv (the gold label distributions are aggregate's plots/gold.png) and, without
    # pull batches, no batches.png
    assert sorted(written["one"]) == ["metrics.json", "plots/alpha.csv", "plots/alpha.png", "plots/annotators.csv",
                                      "plots/annotators.png", "plots/batches.csv"]
    assert written["one"] == written["two"]
    for name, data in written["one"].items():
        if name.endswith(".png"):
            assert data.startswith(b"\x89PNG\r\n\x1a\n")
    # the file is the metrics, without the unrounded interval ends kept for a gate on the lower end
    assert json.loads(written["one"]["metrics.json"]) == {k: v for k, v in metrics.items() if k != "alpha_ci95_unrounded"}
    assert written["one"]["metrics.json"].endswith(b"}\n")
    alpha_csv = written["one"]["plots/alpha.csv"].decode().splitlines()
    assert alpha_csv[:4] == ["dimension,alpha", "relevance,", "primary_frame,0.2", "tone,"]
    grid = written["one"]["plots/annotators.csv"].decode().splitlines()
    assert grid[0] == "annotator,label,count" and "r,political,1" in grid and "r,morality,0" in grid
    assert len(grid) == 1 + 3 * len(cb.frames)


def test_empty_input(cb, tmp_path):
    annotations, stances, spans = (t.iloc[:0] for t in fixture_tables())
    m = compute(annotations, stances, spans, cb, texts={})
    assert m["counts"] == {"annotations": 0, "annotators": 0, "articles": 0, "articles_with_2plus": 0}
    assert m["alpha"]["primary_frame"] is None and m["alpha"]["frames_masi"] is None
    assert m["annotators"] == {} and m["spans"] == {"frame_cue": None, "stance_evidence": None}
    paths = write_outputs(m, annotations, stances, cb, tmp_path / "m.json", tmp_path / "plots")
    assert (tmp_path / "plots" / "annotators.csv").read_text() == "annotator,label,count\n"
    assert all(p.exists() for p in paths)


def test_bootstrap_statistics_reproduce_alpha_with_unit_weights():
    """The per-article statistics the intervals resample give exactly the point alpha when every
    article is drawn once: nominal, ordinal and MASI, on random data with missing values."""
    from framestance.agreement import _alpha_core, _alpha_masi, _Masi, _Nominal, _Ordinal

    rng = np.random.default_rng(3)
    for trial in range(40):
        n_units = int(rng.integers(2, 40))
        rows = int(rng.integers(2, 150))
        unit = rng.integers(0, n_units, rows)
        coder = rng.integers(0, 6, rows)
        first = np.unique(unit * 10 + coder, return_index=True)[1]
        unit = unit[first]
        code = rng.integers(0, int(rng.integers(1, 5)), len(unit))
        masks = rng.integers(0, 8, len(unit)).astype(np.uint64)
        ones = np.ones((1, n_units))
        for stats, point in ((_Nominal(unit, code, n_units), _alpha_core(unit, code, "nominal")),
                             (_Ordinal(unit, code, 4, n_units), _alpha_core(unit, code, "ordinal", 4)),
                             (_Masi(unit, masks, n_units), _alpha_masi(unit, masks))):
            got = stats.alpha(ones)[0]
            if point is None:
                assert not np.isfinite(got) or abs(got) < 1e-9 or stats.n["units"] == 0, (trial, got)
            else:
                assert got == pytest.approx(point, abs=1e-9), (trial, type(stats).__name__)


def test_intervals_are_seeded_contain_the_estimate_and_narrow_with_n(cb):
    from framestance.schema import ANNOTATION, SPAN, STANCE

    def tables(n_articles: int):
        rng = np.random.default_rng(11)
        frames = cb.frame_ids()[:4]
        rows = []
        for i in range(n_articles):
            truth = frames[i % 4]
            for k, who in enumerate(("p", "q", "r")):
                label = truth if rng.random() < 0.8 else frames[(i + k + 1) % 4]
                rows.append(ann(f"a{i}", who, label, [label]) | {"annotation_id": i * 3 + k})
        return (pa.Table.from_pylist(rows, schema=ANNOTATION).to_pandas(),
                pa.Table.from_pylist([], schema=STANCE).to_pandas(), pa.Table.from_pylist([], schema=SPAN).to_pandas())

    small = compute(*tables(30), cb, resamples=300, seed=1)
    big = compute(*tables(600), cb, resamples=300, seed=1)
    assert compute(*tables(30), cb, resamples=300, seed=1) == small  # seeded
    for m in (small, big):
        lo, hi = m["alpha_ci95"]["primary_frame"]
        assert lo <= m["alpha"]["primary_frame"] <= hi
    width = lambda m: m["alpha_ci95"]["primary_frame"][1] - m["alpha_ci95"]["primary_frame"][0]  # noqa: E731
    assert width(big) < width(small) / 2
    assert big["n"]["primary_frame"] == {"units": 600, "values": 1800}
    assert compute(*tables(30), cb, resamples=0)["alpha_ci95"]["primary_frame"] is None


def _noisy_tables(cb, n_articles: int, seed: int = 11, p_right: float = 0.8):
    from framestance.schema import ANNOTATION, SPAN, STANCE

    rng = np.random.default_rng(seed)
    frames = cb.frame_ids()[:4]
    rows, st = [], []
    for i in range(n_articles):
        truth = frames[i % 4]
        for k, who in enumerate(("p", "q", "r")):
            label = truth if rng.random() < p_right else frames[(i + k + 1) % 4]
            rows.append(ann(f"a{i:04d}", who, label, [label, frames[(i + 2) % 4]] if rng.random() < 0.3 else [label])
                        | {"annotation_id": i * 3 + k, "tone": ["negative", "neutral", "positive"][(i + (k if rng.random() < 0.3 else 0)) % 3]})
            st.append({"article_id": f"a{i:04d}", "annotation_id": i * 3 + k, "annotator": who,
                       "status": "submitted", "target": cb.targets[0].id, "value": cb.stance_values[int(rng.integers(0, 2))].id})
    return (pa.Table.from_pylist(rows, schema=ANNOTATION).to_pandas(), pa.Table.from_pylist(st, schema=STANCE).to_pandas(),
            pa.Table.from_pylist([], schema=SPAN).to_pandas())


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given_(order=st_.randoms(use_true_random=False), n=st_.integers(min_value=5, max_value=60))
def test_intervals_do_not_depend_on_the_order_of_the_rows(order, n):
    """The same annotations in any row order: the same alphas, intervals and errors, to the bit."""
    cb = load(ROOT / "schemas" / "codebook.yaml")
    annotations, stances, spans = _noisy_tables(cb, n)
    base = compute(annotations, stances, spans, cb, resamples=200, seed=3)
    rows = list(range(len(annotations)))
    order.shuffle(rows)
    srows = list(range(len(stances)))
    order.shuffle(srows)
    shuffled = compute(annotations.iloc[rows].reset_index(drop=True), stances.iloc[srows].reset_index(drop=True), spans,
                       cb, resamples=200, seed=3)
    assert json.dumps(shuffled, sort_keys=True) == json.dumps(base, sort_keys=True)


def test_the_monte_carlo_error_is_measured_and_the_printed_digits_hold(cb):
    """Across 20 seeds, each endpoint's spread is what its Monte Carlo error says (within a factor
    of two), and rounded to the decimals that error supports, the endpoints of two seeds differ by
    at most one unit of the last decimal in nearly every case."""
    annotations, stances, spans = _noisy_tables(cb, 120, p_right=0.6)
    runs = [compute(annotations, stances, spans, cb, resamples=1000, seed=s) for s in range(20)]
    dims = [d for d, e in runs[0]["alpha_ci95_mc_error"].items() if e is not None]
    assert {"primary_frame", "tone", "frames_masi"} <= set(dims)
    jumps, total = 0, 0
    for d in dims:
        for end in (0, 1):
            raw = [r["alpha_ci95"][d][end] for r in runs]
            # only the supported digits are kept; seeds may support one decimal more or less
            assert all(round(r["alpha_ci95"][d][end], r["alpha_ci95_decimals"][d]) == r["alpha_ci95"][d][end] for r in runs)
            decimals = min(r["alpha_ci95_decimals"][d] for r in runs)
            raw = [round(x, decimals) for x in raw]
            unit = 10.0**-decimals
            jumps += sum(abs(a - b) > unit + 1e-9 for a in raw for b in raw)
            total += len(raw) ** 2
        for r in runs:  # each run prints the decimals its own error supports, and no more
            error, dec = max(r["alpha_ci95_mc_error"][d]), r["alpha_ci95_decimals"][d]
            slack = 5e-5  # the errors are stored to 4 decimals, the decision was made on the unrounded ones
            assert error <= 0.5 * 10.0**-dec + slack if dec > 1 else error > 0.5 * 10.0**-2 - slack, (d, error, dec)
    assert jumps / total < 0.01
    # the error estimate itself against the spread of unrounded endpoints over seeds
    from framestance.agreement import _Nominal, intervals

    unit = pd.factorize(annotations["article_id"], sort=True)[0]
    code = pd.factorize(annotations["primary_frame"])[0]
    boot = [intervals({"d": _Nominal(unit, code, unit.max() + 1)}, unit.max() + 1, 1000, s)["d"] for s in range(20)]
    for end in (0, 1):
        spread = float(np.std([b["ci95"][end] for b in boot], ddof=1))
        claimed = float(np.mean([b["mc_error"][end] for b in boot]))
        assert spread / 2 < claimed < spread * 2, (end, spread, claimed)


def _span_f1_by_sets(spans: pd.DataFrame, texts: dict, who_by_article: dict | None = None) -> dict:
    """The definition of span F1 written out with Python sets, to check the vectorised one."""
    import re
    from bisect import bisect_left, bisect_right
    from itertools import combinations

    marked: dict = {}
    seen: dict = {}
    for article, who, kind, label, a, b in spans[["article_id", "annotator", "kind", "label", "start", "end"]].itertuples(index=False):
        if article not in texts or pd.isna(a) or pd.isna(b):
            continue
        tokens = [m.span() for m in re.finditer(r"\S+", texts[article])]
        lo, hi = bisect_right([e for _, e in tokens], int(a)), bisect_left([s for s, _ in tokens], int(b))
        seen.setdefault(article, set()).add(who)
        marked.setdefault((article, who, kind), set()).update((k, None if pd.isna(label) else label) for k in range(lo, hi))
    inter, total = dict.fromkeys(SPAN_KINDS, 0), dict.fromkeys(SPAN_KINDS, 0)
    for article in set(seen) | {a for a in (who_by_article or {}) if a in texts}:
        who = (who_by_article or {}).get(article, seen.get(article, set()))
        for x, y in combinations(sorted(w for w in who if isinstance(w, str)), 2):
            for kind in SPAN_KINDS:
                sx, sy = marked.get((article, x, kind), set()), marked.get((article, y, kind), set())
                inter[kind] += len(sx & sy)
                total[kind] += len(sx) + len(sy)
    return {k: (2 * inter[k] / total[k] if total[k] else None) for k in SPAN_KINDS}


@pytest.mark.parametrize("seed", range(12))
def test_span_f1_matches_the_set_definition(seed, monkeypatch):
    """Random texts with Unicode spaces, spans past either end, overlapping spans of one person,
    unlabelled spans, articles without text, annotators who marked nothing."""
    rng = np.random.default_rng(seed)
    pieces = ["talks", "Ålesund", "über", "日本", "a", "\u00a0", " ", "\n", "\u2003", "\t", "  ", ",", "—"]
    texts = {f"t{k}": "".join(rng.choice(pieces, rng.integers(0, 40))) for k in range(6)}
    people = ["p1", "p2", "p3", "p4"]
    rows = []
    for _ in range(rng.integers(0, 60)):
        article = f"t{rng.integers(0, 7)}"  # t6 has no text
        start = int(rng.integers(-3, 60))
        rows.append(span(str(rng.choice(people)), str(rng.choice(SPAN_KINDS)),
                         None if rng.random() < 0.15 else str(rng.choice(["policy", "economic"])),
                         start, start + int(rng.integers(-2, 30)), article=article))
    spans = pd.DataFrame(rows, columns=list(span("x", "frame_cue", "p", 0, 1)))
    who = {a: set(rng.choice(people, rng.integers(0, 5), replace=False)) for a in texts if rng.random() < 0.7}
    import functools

    from framestance import tokens

    for given, words in ((None, 1 << 20), (who, 1 << 20), (who, 3)):  # 3: articles expanded a few at a time
        monkeypatch.setattr(agreement, "word_batches", functools.partial(tokens.word_batches, words=words))
        got, want = span_f1(spans, texts, given), _span_f1_by_sets(spans, texts, given)
        assert got.keys() == want.keys()
        for k in want:
            assert (got[k] is None) == (want[k] is None) and got[k] == pytest.approx(want[k], abs=1e-12), (k, given)
    # short chunks: token counting must not depend on where texts are cut into chunks
    text_list = list(texts.values())
    which = np.repeat(np.arange(len(text_list)), 5)
    start = rng.integers(-2, 50, len(which))
    end = start + rng.integers(0, 20, len(which))
    whole = token_ranges(text_list, which, start, end)
    small = token_ranges(text_list, which, start, end, chunk_chars=7)
    assert all((x == y).all() for x, y in zip(whole, small))
    # token offsets: the k-th and l-th tokens as re gives them, in whole and in short chunks
    import re
    bounds = [[m.span() for m in re.finditer(r"\S+", t)] for t in text_list]
    which = np.array([k for k, b in enumerate(bounds) for _ in b], dtype=np.int64)
    first = np.array([i for b in bounds for i in range(len(b))], dtype=np.int64)
    last = np.array([rng.integers(i, len(b)) for b in bounds for i in range(len(b))], dtype=np.int64)
    want = ([bounds[k][i][0] for k, i in zip(which, first)], [bounds[k][j][1] for k, j in zip(which, last)])
    for chunk in (7, 1 << 24):
        got = token_offsets(text_list, which, first, last, chunk_chars=chunk)
        assert got[0].tolist() == want[0] and got[1].tolist() == want[1]


def test_agreement_per_pull_batch_shows_drift_and_gold_accuracy_over_time(cb, tmp_path):
    """Three pulls: in the first two batches p and q agree on every article, in the third they
    disagree on every one; the batch of an annotation is the first pull at or after its last update."""
    from datetime import UTC, datetime

    from framestance.agreement import by_batch
    from framestance.labelstudio.pull import snapshot_times

    for name in ("20250801T000000Z-aaaaaaaaaaaa.json", "20250808T000000Z-bbbbbbbbbbbb.json",
                 "20250815T120000Z-cccccccccccc.json", "notes.json"):
        (tmp_path / "proj").mkdir(exist_ok=True)
        (tmp_path / "proj" / name).write_text("[]")
    pulled = snapshot_times(tmp_path, "Proj")
    assert pulled == [datetime(2025, 8, 1, tzinfo=UTC), datetime(2025, 8, 8, tzinfo=UTC), datetime(2025, 8, 15, 12, tzinfo=UTC)]
    frames = [f.id for f in cb.frames]
    rows, aid = [], 0
    # Aug 20: after the last pull, so in the newest batch
    for day, agree in (((7, 30), True), ((8, 5), True), ((8, 15), False), ((8, 20), False)):
        for k in range(6):
            for who in ("p", "q"):
                aid += 1
                primary = frames[k] if agree or who == "p" else frames[(k + 1) % len(frames)]
                rows.append({**ann(f"d{day}-{k}", who, primary, [primary], aid=aid),
                             "updated_at": datetime(2025, *day, 9, tzinfo=UTC)})
    gold_article = {**ann("g1", "p", "economic", ["economic"], aid=999), "updated_at": datetime(2025, 8, 6, tzinfo=UTC)}
    rows.append(gold_article)
    annotations = pa.Table.from_pylist(rows, schema=ANNOTATION).to_pandas()
    stances = pa.Table.from_pylist([], schema=STANCE).to_pandas()
    spans = pa.Table.from_pylist([], schema=SPAN).to_pandas()
    cb_gold = dataclasses.replace(cb, gold={"g1": {"primary_frame": "economic"}})
    batches = by_batch(annotations, stances, spans, cb_gold, pulled, resamples=200)
    assert [b["pulled_at"] for b in batches] == ["2025-08-01T00:00:00Z", "2025-08-08T00:00:00Z", "2025-08-15T12:00:00Z"]
    assert [b["annotations"] for b in batches] == [12, 13, 24]
    assert [b["articles"] for b in batches] == [6, 6, 12]
    assert batches[0]["alpha"]["primary_frame"] == 1.0 and batches[1]["alpha"]["primary_frame"] == 1.0
    assert batches[2]["alpha"]["primary_frame"] < 0
    assert batches[2]["alpha_ci95"]["primary_frame"][1] < 0 and batches[2]["n_units"]["primary_frame"] == 12
    assert [b["gold_accuracy"] for b in batches] == [{}, {"p": 1.0}, {}]
    # one batch: the whole run's figures are reused, not computed again
    whole = compute(annotations, stances, spans, cb_gold, None, resamples=0)
    one = by_batch(annotations, stances, spans, cb_gold, pulled[-1:], whole=whole)
    assert one[0]["alpha"]["primary_frame"] == whole["alpha"]["primary_frame"] and one[0]["annotations"] == 49
    assert by_batch(annotations, stances, spans, cb_gold, []) == []
    # the outputs: a row per batch and dimension for `dvc plots`, and the drift figure
    paths = write_outputs({**whole, "batches": batches}, annotations, stances, cb_gold, tmp_path / "m.json", tmp_path / "plots")
    assert tmp_path / "plots" / "batches.png" in paths
    csv_rows = (tmp_path / "plots" / "batches.csv").read_text().splitlines()
    assert csv_rows[0].startswith("batch,pulled_at,annotations,relevance,primary_frame,tone,")
    assert csv_rows[1].startswith("1,2025-08-01T00:00:00Z,12,,1.0,") and csv_rows[3].startswith("3,2025-08-15T12:00:00Z,24,,-")


def test_time_zone_naive_update_times_are_one_line(cb):
    from datetime import UTC, datetime

    from framestance.agreement import AgreementError, by_batch

    annotations, stances, spans = _noisy_tables(cb, 6)
    annotations["updated_at"] = pd.Timestamp("2025-08-01 09:00")  # no zone: could be any
    with pytest.raises(AgreementError, match=r"^annotations.parquet: updated_at is datetime64\[.*\], not a time with a time zone"):
        by_batch(annotations, stances, spans, cb, [datetime(2025, 8, 2, tzinfo=UTC)], resamples=0)


def test_relevance_alpha_over_all_and_the_rest_over_relevant_annotations_only(cb):
    rows = [ann("a1", "p", "economic", ["economic"], aid=1), ann("a1", "q", "economic", ["economic", "policy"], aid=2),
            ann("a2", "p", "policy", ["policy"], aid=3), ann("a2", "q", None, [], tone=None, aid=4),
            ann("a3", "p", None, [], tone=None, aid=5), ann("a3", "q", None, [], tone=None, aid=6),
            ann("a4", "p", "political", ["political"], aid=7), ann("a4", "q", "political", ["political"], aid=8),
            ann("a4", "r", "policy", ["policy", "political"], tone="negative", aid=9)]
    off = {4, 5, 6}
    for r in rows:
        r["relevance"] = "not_relevant" if r["annotation_id"] in off else "relevant"
    annotations = pd.DataFrame(rows)
    empty = pd.DataFrame(columns=list(STANCE.names)), pd.DataFrame(columns=list(SPAN.names))
    m = compute(annotations, *empty, cb, resamples=200)
    expected = AnnotationTask(data=[(r["annotator"], r["article_id"], r["relevance"]) for r in rows],
                              distance=binary_distance).alpha()
    assert m["alpha"]["relevance"] == pytest.approx(expected, abs=5e-5)
    assert m["n"]["relevance"] == {"units": 4, "values": 9}
    assert m["alpha_ci95"]["relevance"] is not None
    # frames: the not-relevant annotations' empty sets are no values (as if those annotations were not there)
    coded = compute(annotations[annotations["relevance"] == "relevant"], *empty, cb, resamples=0)
    assert m["alpha"]["frames_masi"] == coded["alpha"]["frames_masi"] and m["alpha"]["frames"] == coded["alpha"]["frames"]
    assert m["n"]["frames_masi"] == {"units": 2, "values": 5}  # a1 and a4 have two relevant coders or more
    triples = [(r["annotator"], r["article_id"], frozenset(r["frames"])) for r in rows if r["annotation_id"] not in off]
    assert m["alpha"]["frames_masi"] == pytest.approx(AnnotationTask(data=triples, distance=masi_distance).alpha(), abs=5e-5)
