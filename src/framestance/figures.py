"""Figures for a paper, drawn from the same numbers the dataset card prints.

Contract. Every `*_figure` function is pure: it takes numbers (the rows of `agreement.summary_rows`,
the per-batch entries of the agreement metrics, the gold-label shares of `gold_rows`) and returns a
matplotlib `Figure`, or None when there is nothing to draw; it writes no file, never uses pyplot
and leaves matplotlib's global settings as they were. `render(fig)` gives the PNG bytes: the same
numbers give the same bytes (Agg, the bundled DejaVu Sans, no Software or date metadata).

Sized for print: 3.5 in wide (one column) or 7 in (two columns), rendered at 300 dpi, no text
smaller than 7 pt at that size. The layout is computed from measured text widths (labels wrapped
to their column), so that labels, numbers and legends never overlap the data or each other; every
axis is labelled and legends sit outside the data. Nothing is drawn for empty data: an undefined
alpha is the word "undefined" and no mark (never a 0), a pull batch without annotations has no
point and no tick, a share with no resolved label has no bar, and a figure with nothing to show is
None (its file is not written).

* `alpha_figure`: alpha per dimension, a point with its 95 % bootstrap interval and n beside it,
  reference lines at 0.667 and 0.800; per-frame alphas in a second panel.
* `batches_figure`: alpha per pull batch over the batches' real dates (small multiples), and the
  accuracy on hidden gold questions when there is any.
* `gold_rows` / `gold_figure`: the gold label distributions, a share per label with n (articles with
  a resolved gold label) and a 95 % Wilson interval; unresolved labels counted apart.
* `annotators_figure`: primary frames per annotator.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, cast

import matplotlib
import matplotlib.style
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.lines import Line2D
from matplotlib.transforms import ScaledTranslation, Transform, blended_transform_factory

from .agreement import REFERENCE_LINES
from .codebook import Codebook
from .estimate import wilson
from .schema import NOT_RELEVANT, RELEVANT, UNRESOLVED

COLUMN, PAGE = 3.5, 7.0  # print widths, inches
DPI = 300
FONT = "DejaVu Sans"  # bundled with matplotlib: the same glyphs everywhere
SIZE = 7.0  # pt: every text
TITLE = 8.0  # pt: panel titles
STYLE: dict[str, Any] = {
    "font.family": FONT, "font.size": SIZE, "axes.titlesize": TITLE, "axes.labelsize": SIZE,
    "xtick.labelsize": SIZE, "ytick.labelsize": SIZE, "legend.fontsize": SIZE, "figure.titlesize": TITLE,
    "axes.linewidth": 0.6, "xtick.major.width": 0.6, "ytick.major.width": 0.6, "xtick.major.size": 2.5,
    "ytick.major.size": 2.5, "xtick.major.pad": 2.0, "ytick.major.pad": 2.0, "lines.linewidth": 0.9,
    "axes.spines.top": False, "axes.spines.right": False, "axes.titlepad": 4.0, "axes.labelpad": 2.5,
    "figure.dpi": DPI, "savefig.dpi": DPI, "figure.facecolor": "white", "savefig.facecolor": "white",
}
BLUE, LIGHT, INK, GREY, RED = "#0072B2", "#9cc3e0", "#222222", "#6e6e6e", "#b2182b"
REF_STYLES: tuple[Any, ...] = ("--", "-")  # 0.667 (tentative), 0.800 (reliable)
REF_WORDS = ("tentative", "reliable")
MARK = 3.5  # marker size, pt
LINE = SIZE * 1.22 / 72  # one line of text, inches


@contextmanager
def _style() -> Iterator[None]:
    """matplotlib's defaults plus STYLE, whatever the user's matplotlibrc says; restored after."""
    with matplotlib.style.context("default"), matplotlib.rc_context(cast(Any, STYLE)):
        yield


def render(fig: Figure) -> bytes:
    """PNG bytes at 300 dpi; the same figure gives the same bytes."""
    buf = io.BytesIO()
    with _style():
        fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


# ---- names ---------------------------------------------------------------------------------
def dimension_namer(cb: Codebook | None = None) -> Callable[[str], str]:
    """Display name of an agreement dimension ("primary_frame", "frames:<id>", "stance:<target>"...)."""
    frame = {f.id: f.name for f in cb.frames} if cb else {}
    target = {t.id: t.name for t in cb.targets} if cb else {}
    question = {q.id: q.name for q in cb.questions} if cb else {}

    def name(dim: str) -> str:
        kind, _, key = dim.partition(":")
        fixed = {"relevance": "Relevance", "primary_frame": "Primary frame", "tone": "Tone",
                 "tone_ordinal": "Tone (ordinal)", "frames_masi": "Frame sets (MASI)"}
        if kind in fixed:
            return fixed[kind]
        return {"frames": f"Frame: {frame.get(key, key)}", "stance": f"Stance: {target.get(key, key)}",
                "stance_addressed": f"Stance addressed or not: {target.get(key, key)}",
                "stance_ordinal_addressed": f"Stance (ordinal, if addressed): {target.get(key, key)}",
                "question": f"Question {key}: {question.get(key, key)}"}.get(kind, dim)

    return name


# ---- text measurement ----------------------------------------------------------------------
@lru_cache(maxsize=1)
def _renderer():
    from matplotlib.backends.backend_agg import RendererAgg

    return RendererAgg(8, 8, DPI)  # at the print resolution: hinting makes widths depend on it


@lru_cache(maxsize=4096)
def _width(text: str, size: float = SIZE, bold: bool = False, italic: bool = False) -> float:
    """Width in inches of `text` (its longest line) as drawn."""
    prop = FontProperties(family=FONT, size=size, weight="bold" if bold else "normal",
                          style="italic" if italic else "normal")
    lines = [x for x in text.split("\n") if x]
    return max((_renderer().get_text_width_height_descent(x, prop, ismath=False)[0] for x in lines), default=0.0) / DPI


def _wrap(text: str, limit: float, size: float = SIZE, bold: bool = False) -> str:
    """`text` broken at spaces into lines no wider than `limit` inches (a longer word keeps its line)."""
    lines: list[str] = []
    for para in text.split("\n"):
        cur = ""
        for word in para.split():
            trial = f"{cur} {word}" if cur else word
            if cur and _width(trial, size, bold) > limit:
                lines.append(cur)
                cur = word
            else:
                cur = trial
        lines.append(cur)
    return "\n".join(lines)


def _lines(text: str) -> int:
    return text.count("\n") + 1


# ---- a panel of labelled rows (alpha, gold shares) -----------------------------------------
@dataclass
class Row:
    """One row of a labelled panel: a header (bold, no data) or a value with its interval."""

    label: str
    key: str = ""  # what the row shows ("frames:legality", "tone:neutral"): the gid of its marks
    value: float | None = None
    low: float | None = None
    high: float | None = None
    right: tuple[str, ...] = ()  # the texts of the right-hand columns
    note: str | None = None  # drawn in the plot instead of any mark ("undefined"; "": nothing)
    header: bool = False
    muted: bool = False  # label in grey italics (not a label of the codebook: "unresolved")


@dataclass
class _Panel:
    title: str
    rows: list[Row]
    right_heads: tuple[str, ...] = ()
    labels: list[str] = field(default_factory=list)  # wrapped
    indent: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)  # row centres, inches from the top of the plot
    h: list[float] = field(default_factory=list)
    height: float = 0.0
    label_w: float = 0.0
    right_w: list[float] = field(default_factory=list)


LABEL_MAX = 1.3  # inches: labels wider than this wrap
INDENT = 0.07  # rows under a header
GAP = 0.06  # between label column, plot and right columns
ROW_MIN = 0.155
HEADER_GAP = 0.05


def _measure(panel: _Panel, panel_w: float) -> _Panel:
    """Wrap the labels (data rows to LABEL_MAX, headers, which have the row to themselves, to the
    panel's width) and lay the rows out, in inches from the top of the plot."""
    headed = [any(r.header for r in panel.rows[: k + 1]) and not row.header for k, row in enumerate(panel.rows)]
    panel.indent = [INDENT if h else 0.0 for h in headed]
    columns = max([len(panel.right_heads), *(len(r.right) for r in panel.rows)])
    panel.right_w = [max([_width(panel.right_heads[c]) if c < len(panel.right_heads) else 0.0,
                          *(_width(r.right[c]) for r in panel.rows if c < len(r.right))]) for c in range(columns)]
    right = sum(w + GAP for w in panel.right_w)
    panel.labels = [_wrap(r.label, panel_w - right - 0.05, bold=True) if r.header else _wrap(r.label, LABEL_MAX - i)
                    for r, i in zip(panel.rows, panel.indent)]
    panel.label_w = max((i + _width(t) for i, t, r in zip(panel.indent, panel.labels, panel.rows) if not r.header),
                        default=0.0)
    cursor = 0.0
    panel.y, panel.h = [], []
    for k, (row, text) in enumerate(zip(panel.rows, panel.labels)):
        if row.header and k:
            cursor += HEADER_GAP
        h = max(ROW_MIN, _lines(text) * LINE + 0.04)
        panel.y.append(cursor + h / 2)
        panel.h.append(h)
        cursor += h
    panel.height = cursor
    return panel


def _shift(fig: Figure, ax, x: float, dx: float, dy: float = 0.0, y_axes: bool = False) -> Transform:
    """x in axes fraction, y in data (or axes fraction), then moved by (dx, dy) inches."""
    base = ax.transAxes if y_axes else blended_transform_factory(ax.transAxes, ax.transData)
    return base + ScaledTranslation(dx, dy, fig.dpi_scale_trans)


def _blocks(panel: _Panel) -> list[tuple[float, float]]:
    """(top, bottom) of every run of data rows, in the panel's inches."""
    out: list[tuple[float, float]] = []
    start = None
    for k, row in enumerate([*panel.rows, Row("", header=True)]):
        if row.header:
            if start is not None:
                out.append((panel.y[start] - panel.h[start] / 2, panel.y[k - 1] + panel.h[k - 1] / 2))
            start = None
        elif start is None:
            start = k
    return out


def _interval(ax, y: float, low: float, high: float, gid: str) -> None:
    cap = 0.035  # inches, half a cap
    ax.hlines(y, low, high, color=INK, linewidth=0.8, gid=f"{gid}:interval")
    ax.vlines([low, high], y - cap, y + cap, color=INK, linewidth=0.8)


SIDE, BETWEEN = 0.06, 0.22  # figure margin, space between panels (inches)


def _panel_width(width: float, n: int) -> float:
    return (width - 2 * SIDE - BETWEEN * (n - 1)) / n


def _rows_figure(panels: list[_Panel], kind: str, xlim: tuple[float, float], xticks: Sequence[float],
                 xlabel: str, lines: Sequence[tuple[float, str, str]] = (), legend: tuple[list, list[str]] | None = None,
                 note: str = "", width: float | None = None) -> Figure:
    """Panels side by side, each a label column, a plot and right-hand text columns; `kind` "point"
    (a marker, its interval as a line) or "bar" (a bar from 0, its interval as a whisker). `lines`:
    vertical reference lines (x, style, label) drawn through the data rows only."""
    width = width or (COLUMN if len(panels) == 1 else PAGE)
    panel_w = _panel_width(width, len(panels))
    panels = [_measure(p, panel_w) for p in panels]
    side = SIDE
    plot_w = [panel_w - p.label_w - GAP - sum(w + GAP for w in p.right_w) for p in panels]
    titles = [_wrap(p.title, panel_w - (sum(w + GAP for w in p.right_w) if p.right_heads else 0.0), TITLE, True)
              for p in panels]
    top = max(_lines(t) for t in titles) * TITLE * 1.22 / 72 + 0.1
    axis_h = 0.2 + _lines(xlabel) * LINE + 0.06  # tick labels, the axis label
    note = _wrap(note, width - 2 * side) if note else ""
    legend_h = 0.24 if legend else 0.0
    note_h = _lines(note) * LINE + 0.06 if note else 0.0
    height = top + max(p.height for p in panels) + axis_h + legend_h + note_h + 0.04
    fig = Figure(figsize=(width, height))
    fig.set_dpi(DPI)
    for i, (p, pw, title) in enumerate(zip(panels, plot_w, titles)):
        left = side + i * (panel_w + BETWEEN) + p.label_w + GAP
        ax = fig.add_axes((left / width, (height - top - p.height) / height, pw / width, p.height / height))
        ax.set_ylim(p.height, 0)
        ax.set_xlim(*xlim)
        ax.set_xticks(list(xticks), [_tick(x) for x in xticks])
        ax.set_yticks([])
        ax.spines["left"].set_visible(False)
        ax.set_xlabel(xlabel)
        ax.text(0, 1, title, transform=_shift(fig, ax, 0, -p.label_w - GAP, 0.06, y_axes=True), ha="left",
                va="bottom", fontsize=TITLE, fontweight="bold")
        for c, head in enumerate(p.right_heads):
            ax.text(1, 1, head, transform=_shift(fig, ax, 1, GAP + sum(w + GAP for w in p.right_w[:c]), 0.02,
                                                 y_axes=True), ha="left", va="bottom", color=GREY)
        for top_y, bottom_y in _blocks(p):
            if kind == "point" and xlim[0] < 0:
                ax.vlines(0, top_y, bottom_y, color="#bbbbbb", linewidth=0.6, linestyle=":")
            for x, style, _label in lines:
                ax.vlines(x, top_y, bottom_y, color=RED, linewidth=0.8, linestyle=style)
        for row, text, indent, y in zip(p.rows, p.labels, p.indent, p.y):
            ax.text(0, y, text, transform=_shift(fig, ax, 0, -p.label_w - GAP + indent), ha="left", va="center",
                    fontweight="bold" if row.header else "normal", linespacing=1.1,
                    color=GREY if row.muted else INK, style="italic" if row.muted else "normal")
            for c, value in enumerate(row.right):
                ax.text(1, y, value, transform=_shift(fig, ax, 1, GAP + sum(w + GAP for w in p.right_w[:c])),
                        ha="left", va="center", color=INK)
            if row.header:
                continue
            if row.note is not None or row.value is None:
                word = "undefined" if row.note is None else row.note
                if word:  # on white, over the reference lines
                    ax.text(0, y, word, transform=_shift(fig, ax, 0, 0.04), ha="left", va="center", style="italic",
                            color=GREY, gid=f"undefined:{row.key}", zorder=3,
                            bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.6})
                continue
            has_ci = row.low is not None and row.high is not None
            if kind == "bar":
                ax.barh(y, row.value, height=0.6 * ROW_MIN, left=0, color=LIGHT, gid=f"bar:{row.key}")
                if has_ci:
                    _interval(ax, y, row.low, row.high, row.key)  # type: ignore[arg-type]
            else:
                if has_ci:
                    _interval(ax, y, row.low, row.high, row.key)  # type: ignore[arg-type]
                ax.plot([row.value], [y], "o", markersize=MARK + 0.5, color=BLUE, clip_on=False,
                        markerfacecolor=BLUE if has_ci else "white", markeredgewidth=0.9, gid=f"point:{row.key}")
    if legend:
        fig.legend(*legend, loc="lower center", ncols=len(legend[1]), frameon=False,
                   bbox_to_anchor=(0.5, (note_h + 0.02) / height), handlelength=1.8, columnspacing=1.2,
                   borderaxespad=0.0)
    if note:
        fig.text(side / width, 0.04 / height, note, ha="left", va="bottom", color=INK, linespacing=1.15)
    return fig


def _tick(x: float) -> str:
    return f"{x:g}" if x != 0 else "0"


# ---- alpha ---------------------------------------------------------------------------------
def _alpha_row(r: Mapping, label: str) -> Row:
    ci = r.get("ci95")
    n = f"n = {r.get('n_units', 0)}"
    if r.get("alpha") is None:  # no n beside a figure that does not exist
        return Row(label, r["dimension"], right=("",), note="undefined")
    return Row(label, r["dimension"], r["alpha"], ci[0] if ci else None, ci[1] if ci else None, right=(n,))


def _legend_alpha(open_marker: bool) -> tuple[list, list[str]]:
    """Legend entries for alpha marks and the reference lines: (handles, labels)."""
    point = Line2D([], [], color=BLUE, marker="o", markersize=MARK + 0.5, linestyle="none")
    handles: list = [(Line2D([], [], color=INK, linewidth=0.8), point)]
    labels = ["α, 95 % interval"]
    if open_marker:
        handles.append(Line2D([], [], color=BLUE, marker="o", markerfacecolor="white", markersize=MARK + 0.5,
                              linestyle="none"))
        labels.append("α, no interval")
    handles += [Line2D([], [], color=RED, linestyle=s, linewidth=0.8) for s in REF_STYLES]
    labels += [f"{x:.3f} ({w})" for x, w in zip(REFERENCE_LINES, REF_WORDS)]
    return handles, labels


def _alpha_limits(values: Sequence[float]) -> tuple[tuple[float, float], list[float]]:
    low = min([0.0, *values])
    low = math.floor((low - 0.05) * 5) / 5  # a multiple of 0.2 below
    ticks = [round(float(x), 1) for x in np.arange(low, 1.0001, 0.2 if low >= -0.6 else 0.5)]
    if 1.0 not in ticks:
        ticks.append(1.0)
    return (low - 0.04, 1.06), ticks


def alpha_figure(rows: Sequence[Mapping], name: Callable[[str], str] | None = None) -> Figure:
    """Krippendorff's alpha per dimension (`agreement.summary_rows`: the card's numbers): a point
    with its 95 % interval (an open point when the bootstrap gave none), n (articles with two or
    more values) beside it, "undefined" and no mark where alpha is undefined. Panel (a): relevance,
    primary frame, frame sets, tone, stance per target; panel (b): each frame, present or not."""
    name = name or dimension_namer()
    with _style():
        general = ["relevance", "primary_frame", "frames_masi", "tone", "tone_ordinal"]
        by_dim = {r["dimension"]: r for r in rows}
        left = [_alpha_row(by_dim[d], name(d)) for d in general if d in by_dim]
        targets = list(dict.fromkeys(r["dimension"].partition(":")[2] for r in rows
                                     if r["dimension"].split(":")[0] in ("stance", "stance_addressed",
                                                                         "stance_ordinal_addressed")))
        for t in targets:
            left.append(Row(name(f"stance:{t}"), header=True))
            for kind, label in (("stance", "stance"), ("stance_addressed", "addressed or not"),
                                ("stance_ordinal_addressed", "ordinal, if addressed")):
                if f"{kind}:{t}" in by_dim:
                    left.append(_alpha_row(by_dim[f"{kind}:{t}"], label))
        frames = [_alpha_row(r, name(r["dimension"]).removeprefix("Frame: "))
                  for r in rows if r["dimension"].startswith("frames:")]
        questions = [_alpha_row(r, name(r["dimension"]).removeprefix("Question "))
                     for r in rows if r["dimension"].startswith("question:")]
        if questions:  # two panels, not three: the frames (few, by rule) join the dimensions
            left += [Row("Each frame, present by its rule or not", header=True), *frames]
            panels = [_Panel("(a) Dimensions and frames", left), _Panel("(b) Each question, yes or no", questions)]
        else:
            panels = [_Panel("(a) Dimensions" if frames else "Dimensions", left)]
            if frames:
                panels.append(_Panel("(b) Each frame, marked or not", frames))
        values = [v for r in rows for v in (r.get("alpha"), *(r.get("ci95") or ())) if v is not None]
        xlim, ticks = _alpha_limits(values)
        open_marker = any(r.get("alpha") is not None and not r.get("ci95") for r in rows)
        return _rows_figure(panels, "point", xlim, ticks, "Krippendorff's α",
                            lines=[(x, s, w) for x, s, w in zip(REFERENCE_LINES, REF_STYLES, REF_WORDS)],
                            legend=_legend_alpha(open_marker),
                            note="n: articles with values from two or more coders. Intervals: percentile "
                                 "bootstrap over articles; an open point has none (alpha undefined in more than 10 % "
                                 "of the resamples). Undefined: no variation to measure agreement on (e.g. a frame "
                                 "nobody marked).")


# ---- the suggestions' influence (the randomised control arm) -------------------------------
def arms_figure(arms: Mapping, name: Callable[[str], str] | None = None) -> Figure | None:
    """What the suggestions did to the labels (`influence.arms`): per dimension, each label's share
    in the suggested arm minus the control arm's, a point with its 95 % interval (a yes/no
    dimension: the yes share), and beside it the share of suggested labels kept unchanged and the
    labels in each arm. None when there is no shift to show."""
    name = name or dimension_namer()
    shift, kept = arms.get("shift") or {}, arms.get("kept") or {}
    if not shift:
        return None
    with _style():
        rows: list[Row] = []
        for d, s in sorted(shift.items()):
            k = kept.get(d)
            keep = f"{k['share']:.0%}" if k else "–"
            n = f"{s['n']['suggested']} / {s['n']['control']}"
            classes = list(s["classes"].items())
            if len(classes) == 1:
                cls, v = classes[0]
                ci = v["ci95"] or (None, None)
                rows.append(Row(name(d), f"{d}:{cls}", v["difference"], ci[0], ci[1], right=(keep, n)))
                continue
            rows.append(Row(name(d), header=True, right=(keep, n)))
            for cls, v in classes:
                ci = v["ci95"] or (None, None)
                rows.append(Row(cls, f"{d}:{cls}", v["difference"], ci[0], ci[1], right=("", "")))
        values = [x for r in rows if not r.header for x in (r.value, r.low, r.high) if x is not None]
        edge = max(0.1, math.ceil(max(abs(x) for x in values) * 10 + 0.5) / 10) if values else 0.5
        ticks = [round(float(x), 2) for x in np.linspace(-edge, edge, 5)]
        t = (arms.get("time") or {}).get("ratio")
        note = ("Share of labels in the suggested arm minus the control arm's, 95 % interval (percentile bootstrap "
                "over articles); a yes/no dimension shows the yes share. Kept: suggested labels submitted unchanged. "
                "n: labels in the suggested / control arm.")
        if t:
            note += (f" Time per annotation, suggested / control: {t['suggested_over_control']}"
                     + (f" [{t['ci95'][0]}, {t['ci95'][1]}]." if t["ci95"] else "."))
        panel = _Panel("The suggestion's pull on the labels", rows, right_heads=("kept", "n"))
        return _rows_figure([panel], "point", (-edge - 0.02, edge + 0.02), ticks, "suggested arm minus control arm",
                            note=note)


# ---- agreement per pull batch --------------------------------------------------------------
def batch_labels(pulled_at: Sequence[str], numbers: Sequence[int]) -> list[str]:
    """Distinct tick labels for pull batches: the date; date and time where two share a date;
    the batch number too where two share the minute."""
    when = [datetime.strptime(p, "%Y-%m-%dT%H:%M:%SZ") for p in pulled_at]
    dates = [w.strftime("%Y-%m-%d") for w in when]
    out = [d if dates.count(d) == 1 else w.strftime("%Y-%m-%d %H:%M") for d, w in zip(dates, when)]
    return [x if out.count(x) == 1 else f"#{k} {x}" for x, k in zip(out, numbers)]


def batches_figure(batches: Sequence[Mapping], name: Callable[[str], str] | None = None) -> Figure | None:
    """Alpha per pull batch (`agreement.by_batch`), one small panel per dimension, one tick per
    batch labelled with its pull date: a point with its 95 % interval and n where alpha is defined,
    nothing where it is not; batches without annotations get no tick (the axis label names them).
    One more panel: each annotator's accuracy on the hidden gold questions per batch, when any
    were answered. None when no batch has annotations or nothing is defined."""
    name = name or dimension_namer()
    kept = [(k + 1, b) for k, b in enumerate(batches) if b.get("annotations")]
    empty = [b["pulled_at"][:10] for b in batches if not b.get("annotations")]
    if not kept:
        return None
    dims = ["relevance", "primary_frame", "frames_masi", "tone",
            *sorted({d for _, b in kept for d in b["alpha"] if d.startswith("stance:")})]
    dims = [d for d in dims if any(b["alpha"].get(d) is not None for _, b in kept)]
    people = sorted({who for _, b in kept for who, v in (b.get("gold_accuracy") or {}).items() if v is not None})
    if not dims and not people:
        return None
    dates = batch_labels([b["pulled_at"] for _, b in kept], [k for k, _ in kept])
    ticks = [f"{t}\n{b['annotations']} annotations" for t, (_, b) in zip(dates, kept)]
    x = np.arange(len(kept), dtype=float)
    cells: list[str | None] = [*dims, *([None] if people else [])]  # None: the gold-accuracy panel
    ncols = 2 if len(cells) > 1 else 1
    width = PAGE if ncols == 2 else COLUMN
    nrows = math.ceil(len(cells) / ncols)
    slot = (width - 0.6) / ncols / len(kept)  # inches per batch
    rotate = max(_width(t) for t in ticks) > 0.9 * slot
    xlabel = "Pull batch (snapshot date)"
    if rotate:  # one line each, slanted
        ticks = [f"{t} ({b['annotations']})" for t, (_, b) in zip(dates, kept)]
        xlabel = "Pull batch (snapshot date, annotations)"
    tick_h = max(_width(t) for t in ticks) * 0.72 + LINE if rotate else 2 * LINE
    labelled_rows = 1 if len(cells) % ncols == 0 else 2
    every = max(1, math.ceil(len(kept) / 16))
    if empty:
        xlabel += f"; no annotations, not drawn: {', '.join(empty)}"
    values = [v for _, b in kept for d in dims for v in (b["alpha"].get(d), *(b["alpha_ci95"].get(d) or ()))
              if v is not None]
    ylow = math.floor((min([0.0, *values]) - 0.05) * 5) / 5
    show_n = len(kept) <= 6
    cap = min(0.08, 0.25 / max(slot, 0.01) * 0.1)  # half a cap, in batches
    open_marker = any(b["alpha"].get(d) is not None and not b["alpha_ci95"].get(d) for _, b in kept for d in dims)
    handles, names = _legend_alpha(open_marker) if dims else ([], [])
    entries = len(handles) + (len(people) if len(people) <= 8 else 0)
    with _style():
        height = 0.35 + nrows * 1.0 + labelled_rows * (tick_h + 0.2) + 0.15 * math.ceil(entries / 4 + 1)
        fig = Figure(figsize=(width, height), layout=ConstrainedLayoutEngine(h_pad=0.03, w_pad=0.03, hspace=0.05,
                                                                              wspace=0.05))
        fig.set_dpi(DPI)
        grid = fig.add_gridspec(nrows, ncols)
        first = None
        for i, d in enumerate(cells):
            ax = fig.add_subplot(grid[i // ncols, i % ncols], sharex=first)
            first = first or ax
            if d is None:
                for j, who in enumerate(people):
                    pts = [(xi, b["gold_accuracy"][who]) for xi, (_, b) in zip(x, kept)
                           if (b.get("gold_accuracy") or {}).get(who) is not None]
                    line, = ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="os^Dv<>p"[j % 8], markersize=MARK,
                                    linewidth=0.8, color=f"C{j % 10}", gid=f"gold_accuracy:{who}")
                    if len(people) <= 8:
                        handles.append(line)
                        names.append(f"gold accuracy: {who}")
                ax.set_ylim(-0.05, 1.05)
                ax.set_ylabel("Share right")
                ax.set_title("Accuracy on hidden gold questions" + ("" if len(people) <= 8 else
                             " (a line per annotator)"), loc="left", fontsize=SIZE + 0.5)
            else:
                ax.axhline(0, color="#bbbbbb", linewidth=0.6, linestyle=":")
                for y, style in zip(REFERENCE_LINES, REF_STYLES):
                    ax.axhline(y, color=RED, linewidth=0.8, linestyle=style)
                for xi, (k, b) in zip(x, kept):
                    a, ci = b["alpha"].get(d), b["alpha_ci95"].get(d)
                    if a is None:
                        continue
                    if ci:
                        ax.vlines(xi, ci[0], ci[1], color=INK, linewidth=0.8)
                        ax.hlines([ci[0], ci[1]], xi - cap, xi + cap, color=INK, linewidth=0.8)
                    ax.plot([xi], [a], "o", markersize=MARK + 0.5, color=BLUE, markerfacecolor=BLUE if ci else "white",
                            markeredgewidth=0.9, gid=f"batch:{d}:{k}", zorder=4)
                    if show_n:
                        ax.annotate(f"n = {(b.get('n_units') or {}).get(d, 0)}", (xi, a), xytext=(6, 0),
                                    textcoords="offset points", ha="left", va="center", color=GREY, zorder=3,
                                    bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.4})
                ax.set_ylim(ylow - 0.04, 1.06)
                ax.set_title(_wrap(name(d), width / ncols - 0.5, SIZE + 0.5), loc="left", fontsize=SIZE + 0.5)
                if i % ncols == 0:
                    ax.set_ylabel("Krippendorff's α")
            last_row = i + ncols >= len(cells)
            ax.tick_params(axis="x", labelbottom=last_row)
            if last_row:
                ax.set_xlabel(_wrap(xlabel, (width - 0.9) / ncols))
        assert first is not None
        first.set_xticks(x[::every], ticks[::every])
        first.set_xlim(-0.5 if len(kept) > 1 else -1.0, len(kept) - 0.5 if len(kept) > 1 else 1.0)
        if rotate:
            for a in fig.axes:
                a.tick_params(axis="x", labelrotation=45)
                for t in a.get_xticklabels():
                    t.set_horizontalalignment("right")
                    t.set_rotation_mode("anchor")
        if handles:
            fig.legend(handles, names, loc="outside lower center", ncols=min(len(handles), 4), frameon=False,
                       handlelength=1.8, columnspacing=1.2)
        return fig


# ---- gold label distributions --------------------------------------------------------------
GOLD_COLUMNS = ["dimension", "label", "count", "n", "proportion", "ci_low", "ci_high", "unresolved"]


def _share(dimension: str, label: str, count: int, n: int, unresolved: int) -> dict:
    p = count / n if n else None
    low, high = wilson(p, n) if p is not None else (None, None)
    return {"dimension": dimension, "label": label, "count": int(count), "n": int(n),
            "proportion": None if p is None else round(p, 4), "ci_low": None if low is None else round(low, 4),
            "ci_high": None if high is None else round(high, 4), "unresolved": int(unresolved)}


def _as_list(v) -> list:
    return [] if v is None or (isinstance(v, float) and math.isnan(v)) else list(v)


def gold_rows(gold: pd.DataFrame, cb: Codebook) -> list[dict]:
    """Per dimension and label: `count` articles with that gold label, `n` articles with a resolved
    gold label on the dimension, the `proportion` count/n with its 95 % Wilson interval, and
    `unresolved` (ties and labels with too little support: counted apart, not in n). Relevance over
    every article; the rest over the articles whose gold relevance is relevant (the others have no
    other label), as in the card. Frames: each frame on its own, the share of those articles whose
    gold frames include it (n: those where that frame is not unresolved)."""
    rows: list[dict] = []

    def single(dim: str, values: pd.Series, ids: list[str]) -> None:
        s = pd.Series(values, dtype=object)
        given = s.notna()
        unresolved = int((s[given] == UNRESOLVED).sum())
        resolved = s[given & (s != UNRESOLVED)].astype(str)
        counts = resolved.value_counts()
        for label in [*ids, *sorted(set(counts.index) - set(ids))]:
            rows.append(_share(dim, label, int(counts.get(label, 0)), len(resolved), unresolved))

    relevance = pd.Series(gold.get("relevance", []), dtype=object)
    single("relevance", relevance, cb.relevance_ids() or [RELEVANT, NOT_RELEVANT])
    on = gold[(relevance == RELEVANT).to_numpy(bool)] if len(gold) else gold
    if "primary_frame" in on:
        single("primary_frame", on["primary_frame"], cb.frame_ids())
    if "frames" in on:
        marked = [set(_as_list(v)) for v in on["frames"]]
        open_ = [set(_as_list(v)) for v in on["frames_unresolved"]] if "frames_unresolved" in on else [set()] * len(on)
        ids = cb.frame_ids()
        for f in [*ids, *sorted(set().union(*marked, *open_) - set(ids))]:
            unresolved = sum(f in u for u in open_)
            present = sum(f in m and f not in u for m, u in zip(marked, open_))
            rows.append(_share("frames", f, present, len(on) - unresolved, unresolved))
    if "tone" in on:
        single("tone", on["tone"], [t.id for t in cb.tone])
    for t in cb.targets:
        col = f"stance_{t.id}"
        if col in on:
            single(f"stance:{t.id}", on[col], [v.id for v in cb.stance_values])
    return rows


def gold_csv(rows: Sequence[Mapping]) -> bytes:
    """gold.csv for `dvc plots`: one row per dimension and label."""
    import csv

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(GOLD_COLUMNS)
    writer.writerows([["" if r[c] is None else r[c] for c in GOLD_COLUMNS] for r in rows])
    return buf.getvalue().encode()


def gold_figure(rows: Sequence[Mapping], cb: Codebook | None = None) -> Figure | None:
    """The gold label distributions (`gold_rows`): per dimension, the share of articles with each
    label as a bar with its 95 % Wilson interval, count/n beside it, unresolved counted apart.
    None when no article has a resolved gold label."""
    if not any(r["n"] for r in rows):
        return None
    names: dict[str, str] = {}
    dim_names = {"relevance": "Relevance", "primary_frame": "Primary frame", "tone": "Tone",
                 "frames": "Frames marked (each frame: present or not)"}
    if cb is not None:
        names.update({r.id: r.name for r in cb.relevance})
        names.update({f.id: f.name for f in cb.frames})
        names.update({t.id: t.name for t in cb.tone})
        names.update({v.id: v.name for v in cb.stance_values})
        dim_names.update({f"stance:{t.id}": f"Stance: {t.name}" for t in cb.targets})
    groups: dict[str, list[Mapping]] = {}
    for r in rows:
        groups.setdefault(r["dimension"], []).append(r)
    blocks: list[list[Row]] = []
    for dim, items in groups.items():
        title = dim_names.get(dim, dim.replace("stance:", "Stance: "))
        per_label = dim == "frames"  # each frame its own n and its own unresolved count
        n, unresolved = items[0]["n"], items[0]["unresolved"]
        block = [Row(title if per_label else f"{title} (n = {n})", header=True)]
        if not per_label and not n:
            block.append(Row("no resolved label", key=dim, note="", muted=True))
        for r in items:
            key, label = f"{dim}:{r['label']}", names.get(r["label"], r["label"])
            extra = f" ({r['unresolved']} unres.)" if per_label and r["unresolved"] else ""
            if r["n"]:
                block.append(Row(label, key, r["proportion"], r["ci_low"], r["ci_high"], right=(f"{r['count']}/{r['n']}{extra}",)))
            elif per_label:
                block.append(Row(label, key, note="", right=(f"0/0{extra}",)))
        if not per_label and unresolved:  # apart, not a label: no bar, not in n
            block.append(Row("unresolved (not in n)", f"{dim}:{UNRESOLVED}", note="", right=(str(unresolved),),
                             muted=True))
        blocks.append(block)
    # framing in one panel, relevance, tone and stance in the other, if that splits them about evenly
    order = [b for b, d in zip(blocks, groups) if d not in ("primary_frame", "frames")] + \
            [b for b, d in zip(blocks, groups) if d in ("primary_frame", "frames")]
    heights = [_measure(_Panel("", b), _panel_width(PAGE, 2)).height for b in order]
    split = min(range(1, len(order)), key=lambda k: abs(2 * sum(heights[:k]) - sum(heights)), default=0)
    parts = [order[:split], order[split:]] if split else [order]
    panels = [_Panel(("(a)", "(b)")[i] if len(parts) > 1 else "", [r for b in part for r in b],
                     right_heads=("count/n",)) for i, part in enumerate(parts)]
    relevant = next((r["count"] for r in rows if r["dimension"] == "relevance" and r["label"] == RELEVANT), 0)
    articles = next((r["n"] + r["unresolved"] for r in rows if r["dimension"] == "relevance"), 0)
    rel_name = names.get(RELEVANT, RELEVANT)
    note = (f"Gold labels of {articles} articles. Relevance: every article; every other dimension: the {relevant} "
            f"articles whose gold relevance is \u201c{rel_name}\u201d. n: articles with a resolved gold label "
            "(frames: on that frame); unresolved labels (a tie, too little support, too few annotators) are counted "
            "apart, not in n. Bars: share of n; whiskers: 95 % Wilson interval.")
    with _style():
        return _rows_figure(panels, "bar", (0.0, 1.0), [0, 0.25, 0.5, 0.75, 1.0], "Proportion of articles",
                            note=note)


# ---- annotators ----------------------------------------------------------------------------
def annotators_figure(grid: np.ndarray, people: Sequence[str], labels: Sequence[str],
                      label_names: Mapping[str, str] | None = None, what: str = "Primary frame") -> Figure:
    """Submitted primary frames (`what`: or frames marked present) per annotator: a count per
    frame (row) and annotator (column)."""
    label_names = label_names or {}
    with _style():
        if not len(people) or not len(labels):
            fig = Figure(figsize=(COLUMN, 0.6))
            fig.text(0.5, 0.5, "No submitted annotations", ha="center", va="center", style="italic", color=GREY)
            return fig
        names = [_wrap(label_names.get(x, x), 1.35) for x in labels]
        row_h = max(0.17, max(_lines(x) for x in names) * LINE + 0.05)
        width = COLUMN if 0.22 * len(people) + 1.6 <= COLUMN else PAGE
        cell = (width - 1.7) / len(people)
        title = _wrap(f"{what}s per annotator (submitted annotations)", width - 0.1, SIZE + 0.5)
        height = row_h * len(labels) + max(_width(x) for x in people) * 0.72 + 0.45 + _lines(title) * LINE
        fig = Figure(figsize=(width, height), layout="constrained")
        fig.set_dpi(DPI)
        ax = fig.add_subplot()
        counts = np.asarray(grid, dtype=float).T  # frames x annotators
        image = ax.imshow(counts, aspect="auto", cmap="Blues", interpolation="nearest", vmin=0,
                          vmax=max(1.0, counts.max(initial=0)))
        if cell >= 0.2 and counts.max(initial=0) < 1000:
            for (y, x), n in np.ndenumerate(counts):
                ax.text(x, y, f"{int(n)}", ha="center", va="center",
                        color="white" if n > counts.max() / 2 else (INK if n else "#b0b0b0"))
        else:
            fig.colorbar(image, ax=ax, label="Annotations", shrink=0.6)
        ax.set_xticks(range(len(people)), list(people), rotation=45, ha="right", rotation_mode="anchor")
        ax.set_yticks(range(len(labels)), names, linespacing=1.05)
        ax.tick_params(length=0)
        for side in ("left", "bottom"):
            ax.spines[side].set_visible(False)
        ax.set_xlabel("Annotator")
        ax.set_ylabel(what)
        fig.suptitle(title, x=0.01, ha="left", fontsize=SIZE + 0.5)
        return fig


__all__ = ["COLUMN", "DPI", "GOLD_COLUMNS", "PAGE", "Row", "alpha_figure", "annotators_figure", "batch_labels",
           "batches_figure", "dimension_namer", "gold_csv", "gold_figure", "gold_rows", "render"]
