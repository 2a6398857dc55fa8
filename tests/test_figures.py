"""The paper figures (`framestance.figures`): what is drawn, what is not, and the same bytes twice.

The figures are inspected as matplotlib artists before rendering: every mark carries a gid naming
the row it shows ("point:<dimension>", "bar:<dimension>:<label>", "batch:<dimension>:<batch>")."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from framestance import figures
from framestance.codebook import load
from framestance.estimate import wilson
from framestance.schema import UNRESOLVED

from .conftest import ROOT


@pytest.fixture(scope="module")
def cb():
    return load(ROOT / "schemas" / "codebook.yaml")


def gids(fig, prefix: str) -> dict[str, object]:
    return {a.get_gid(): a for a in fig.findobj(lambda a: (a.get_gid() or "").startswith(prefix))}


def texts(fig) -> list[str]:
    """Every text of the figure, its line breaks (wrapping) folded into spaces."""
    return [" ".join(t.get_text().split()) for t in fig.findobj(lambda a: hasattr(a, "get_text"))]


def rows_of(alpha: dict[str, float | None], ci: dict[str, list[float]] | None = None, n: int = 5) -> list[dict]:
    ci = ci or {}
    return [{"dimension": d, "alpha": a, "ci95": ci.get(d), "n_units": n, "n_values": 2 * n} for d, a in alpha.items()]


ALPHA = {"relevance": 0.9, "primary_frame": 0.55, "tone": None, "frames:economic": 0.7, "frames:policy": None,
         "frames:morality": 0.0, "frames_masi": 0.5, "stance:russian_government": -0.2,
         "stance_addressed:russian_government": 0.4}
CI = {"relevance": [0.8, 1.0], "primary_frame": [0.3, 0.75], "frames:economic": [0.5, 0.9], "frames_masi": [0.3, 0.6],
      "stance:russian_government": [-0.4, 0.1], "stance_addressed:russian_government": [0.45, 0.7]}


def test_undefined_alpha_is_a_word_not_a_zero(cb):
    fig = figures.alpha_figure(rows_of(ALPHA, CI), figures.dimension_namer(cb))
    points = gids(fig, "point:")
    undefined = gids(fig, "undefined:")
    # a frame nobody marked, and an undefined tone: no mark at all, the word "undefined" instead
    assert "point:frames:policy" not in points and "point:tone" not in points
    assert set(undefined) == {"undefined:frames:policy", "undefined:tone"}
    assert all(t.get_text() == "undefined" for t in undefined.values())
    # every defined alpha is a point at its value, 0.0 included (a real zero is drawn)
    drawn = {k.removeprefix("point:"): p.get_xdata()[0] for k, p in points.items()}
    assert drawn == {d: a for d, a in ALPHA.items() if a is not None}
    # its interval as a line from low to high (an interval need not contain the point)
    for d, (low, high) in CI.items():
        segment = gids(fig, f"{d}:interval")[f"{d}:interval"].get_segments()[0]
        assert segment[0][0] == pytest.approx(low) and segment[1][0] == pytest.approx(high)
    # no interval: an open point
    assert points["point:frames:morality"].get_markerfacecolor() == "white"
    assert points["point:relevance"].get_markerfacecolor() != "white"
    # n beside every defined alpha, none beside an undefined one; reference lines named in the legend; the axis labelled
    shown = texts(fig)
    assert shown.count("n = 5") == sum(a is not None for a in ALPHA.values())
    assert any("0.667" in t for t in shown) and any("0.800" in t for t in shown)
    assert all(ax.get_xlabel() == "Krippendorff's α" for ax in fig.axes)
    # the frames in their own panel, by their codebook names
    assert "Economic" in shown and "Policy prescription and evaluation" in shown


def test_figures_fit_a_paper_column_and_render_the_same_bytes(cb):
    fig = figures.alpha_figure(rows_of(ALPHA, CI), figures.dimension_namer(cb))
    assert fig.get_size_inches()[0] == pytest.approx(figures.PAGE)
    one = figures.render(fig)
    two = figures.render(figures.alpha_figure(rows_of(ALPHA, CI), figures.dimension_namer(cb)))
    assert one == two and one.startswith(b"\x89PNG\r\n\x1a\n")
    assert b"Software" not in one and b"matplotlib" not in one.lower()
    # 300 dpi: 7 in wide is 2100 pixels
    assert int.from_bytes(one[16:20], "big") == 2100
    # no text smaller than 7 pt
    sizes = [t.get_fontsize() for t in fig.findobj(lambda a: hasattr(a, "get_fontsize"))]
    assert sizes and min(sizes) >= 7
    # one panel only (no per-frame rows): one column wide
    single = figures.alpha_figure(rows_of({"primary_frame": 0.5, "tone": 0.2}))
    assert single.get_size_inches()[0] == pytest.approx(figures.COLUMN)


def batch(when: str, annotations: int, alpha: float | None, ci=None, gold=None) -> dict:
    dims = ["relevance", "primary_frame", "tone", "frames_masi", "stance:russian_government"]
    return {"pulled_at": when, "annotations": annotations, "articles": annotations // 2,
            "alpha": dict.fromkeys(dims, alpha), "alpha_ci95": dict.fromkeys(dims, ci),
            "n_units": dict.fromkeys(dims, annotations // 2), "gold_accuracy": gold or {}}


def test_batches_on_distinct_real_dates_and_no_point_for_an_empty_batch():
    batches = [batch("2025-08-01T09:00:00Z", 12, 0.9, [0.8, 1.0], {"p": 1.0}),
               batch("2025-08-08T09:00:00Z", 0, None),  # nothing new in this pull
               batch("2025-08-15T09:00:00Z", 14, 0.7, [0.5, 0.85]),
               batch("2025-08-15T17:30:00Z", 20, None),  # annotations, but alpha undefined
               batch("2025-08-22T12:00:00Z", 9, 0.6)]
    fig = figures.batches_figure(batches)
    assert fig is not None
    shown = [[t.get_text() for t in ax.get_xticklabels()] for ax in fig.axes]  # visible tick labels only
    shown = [x for x in shown if x]
    assert len(shown) == 2  # the bottom panel of each column
    labels = shown[0]
    # the empty batch has no tick; two pulls on one day are told apart by their time
    assert [x.split(" (")[0].split("\n")[0] for x in labels] == [
        "2025-08-01", "2025-08-15 09:00", "2025-08-15 17:30", "2025-08-22"]
    assert len(set(labels)) == len(labels) and shown[1] == labels
    points = gids(fig, "batch:primary_frame:")
    # batch 2 (empty) and batch 4 (undefined) have no point; the others sit at their alpha
    assert sorted(points) == ["batch:primary_frame:1", "batch:primary_frame:3", "batch:primary_frame:5"]
    assert [points[f"batch:primary_frame:{k}"].get_ydata()[0] for k in (1, 3, 5)] == [0.9, 0.7, 0.6]
    assert points["batch:primary_frame:5"].get_markerfacecolor() == "white"  # no interval
    assert any("not drawn: 2025-08-08" in " ".join(ax.get_xlabel().split()) for ax in fig.axes)
    # the gold-question accuracy panel only when some were answered, a point per batch answered
    assert len(gids(fig, "gold_accuracy:p")["gold_accuracy:p"].get_xdata()) == 1
    assert not gids(figures.batches_figure(batches[1:]), "gold_accuracy:")
    assert figures.render(fig) == figures.render(figures.batches_figure(batches))


def test_batch_labels_are_distinct():
    assert figures.batch_labels(["2025-08-01T00:00:00Z", "2025-08-02T00:00:00Z"], [1, 2]) == ["2025-08-01", "2025-08-02"]
    assert figures.batch_labels(["2025-08-01T09:00:00Z", "2025-08-01T09:00:30Z", "2025-08-03T00:00:00Z"], [1, 2, 3]) == [
        "#1 2025-08-01 09:00", "#2 2025-08-01 09:00", "2025-08-03"]


def test_no_batches_no_figure():
    assert figures.batches_figure([]) is None
    assert figures.batches_figure([batch("2025-08-01T09:00:00Z", 0, None)]) is None


def gold_table(cb) -> pd.DataFrame:
    """Six articles: one not relevant, one whose relevance is a tie; four relevant, one of them with
    an unresolved tone and an unresolved 'economic' frame."""
    t = cb.targets[0].id
    rows = [
        ("a1", "relevant", "economic", ["economic", "policy"], [], "negative", "favor"),
        ("a2", "relevant", "policy", ["policy"], [], "negative", "against"),
        ("a3", "relevant", "policy", ["policy", "legality"], [], "neutral", UNRESOLVED),
        ("a4", "relevant", UNRESOLVED, ["policy"], ["economic"], UNRESOLVED, "favor"),
        ("a5", "not_relevant", None, [], [], None, None),
        ("a6", UNRESOLVED, UNRESOLVED, [], ["policy"], UNRESOLVED, UNRESOLVED),
    ]
    return pd.DataFrame(rows, columns=["article_id", "relevance", "primary_frame", "frames", "frames_unresolved",
                                       "tone", f"stance_{t}"])


def test_gold_shares_are_counts_over_resolved_articles(cb):
    cb = dataclasses.replace(cb, targets=cb.targets[:1])
    t = cb.targets[0].id
    rows = figures.gold_rows(gold_table(cb), cb)
    got = {(r["dimension"], r["label"]): r for r in rows}
    # relevance over every article: 4 relevant, 1 not, 1 unresolved (not in n)
    assert [got["relevance", "relevant"][k] for k in ("count", "n", "unresolved")] == [4, 5, 1]
    assert got["relevance", "not_relevant"]["count"] == 1
    # the rest over the four relevant articles, unresolved apart
    assert (got["primary_frame", "policy"]["count"], got["primary_frame", "policy"]["n"]) == (2, 3)
    assert got["primary_frame", "policy"]["unresolved"] == 1
    assert (got["tone", "negative"]["count"], got["tone", "negative"]["n"]) == (2, 3)
    assert (got[f"stance:{t}", "favor"]["count"], got[f"stance:{t}", "favor"]["n"]) == (2, 3)
    # frames: each frame's own n (economic is unresolved on a4); a6 is not relevant-resolved, so not counted
    assert (got["frames", "policy"]["count"], got["frames", "policy"]["n"], got["frames", "policy"]["unresolved"]) == (4, 4, 0)
    assert (got["frames", "economic"]["count"], got["frames", "economic"]["n"], got["frames", "economic"]["unresolved"]) == (1, 3, 1)
    assert got["frames", "morality"]["count"] == 0 and got["frames", "morality"]["n"] == 4
    # every codebook label is listed, "unresolved" never is one
    assert {lab for (d, lab) in got if d == "primary_frame"} == set(cb.frame_ids())
    assert all(r["label"] != UNRESOLVED for r in rows)
    for r in rows:
        assert r["proportion"] == pytest.approx(r["count"] / r["n"], abs=1e-4)
        low, high = wilson(r["count"] / r["n"], r["n"])
        assert (r["ci_low"], r["ci_high"]) == (pytest.approx(low, abs=1e-4), pytest.approx(high, abs=1e-4))
    # the CSV has the same numbers
    lines = figures.gold_csv(rows).decode().splitlines()
    assert lines[0] == ",".join(figures.GOLD_COLUMNS)
    assert "primary_frame,policy,2,3,0.6667,0.2077,0.9385,1" in lines


def test_gold_figure_draws_the_shares_with_n_and_no_unresolved_bar(cb):
    cb = dataclasses.replace(cb, targets=cb.targets[:1])
    rows = figures.gold_rows(gold_table(cb), cb)
    fig = figures.gold_figure(rows, cb)
    assert fig is not None
    bars = gids(fig, "bar:")
    by_key = {(r["dimension"], r["label"]): r for r in rows}
    assert len(bars) == len(rows)  # every label with a resolved n has its bar (0 is a bar of width 0)
    for key, bar in bars.items():
        dim, _, label = key.removeprefix("bar:").rpartition(":")
        r = by_key[dim, label]
        assert bar.get_width() == pytest.approx(r["count"] / r["n"], abs=1e-4)
    assert not any(k.endswith(f":{UNRESOLVED}") for k in bars)  # unresolved: a count, not a label
    shown = texts(fig)
    assert "2/3" in shown and "Primary frame (n = 3)" in shown and "unresolved (not in n)" in shown
    assert all(ax.get_xlabel() == "Proportion of articles" for ax in fig.axes)
    assert not fig.legends  # nothing to cover the bars
    assert figures.render(fig) == figures.render(figures.gold_figure(figures.gold_rows(gold_table(cb), cb), cb))
    # no article with a resolved label: no figure
    empty = gold_table(cb).iloc[:0]
    assert figures.gold_figure(figures.gold_rows(empty, cb), cb) is None


def test_annotators_figure_is_column_wide(cb):
    import numpy as np

    grid = np.array([[1, 0, 2], [0, 3, 0]])
    fig = figures.annotators_figure(grid, ["p", "q"], ["economic", "policy", "legality"],
                                    {f.id: f.name for f in cb.frames})
    assert fig.get_size_inches()[0] == pytest.approx(figures.COLUMN)
    shown = texts(fig)
    assert "3" in shown and "Legality, constitutionality and jurisprudence" in shown
    assert figures.annotators_figure(np.zeros((0, 3)), [], ["economic", "policy", "legality"]) is not None
