"""Inter-annotator agreement: Krippendorff's alpha, span F1 and per-annotator checks.

Alpha follows the coincidence-matrix method of Krippendorff (2011, "Computing Krippendorff's
Alpha-Reliability"): units with fewer than two pairable values are dropped, every ordered pair of
values from different coders in a unit of m values adds 1/(m-1) to the coincidences, and
alpha = 1 - (n-1) * sum(o_ck * d_ck) / sum(n_c * n_k * d_ck). The sums over the coincidence matrix
are computed in closed form from per-unit counts (nominal: m^2 - sum n_uc^2; interval:
2*m*sum v^2 - 2*(sum v)^2; ordinal: interval on the mid-ranks r_c = sum_{g<c} n_g + n_c/2, which
gives Krippendorff's ordinal metric exactly), so the V x V matrix is never built and a million
values take well under a second. Frame *sets* use the MASI distance (Passonneau 2006) over the
within-unit pairs. nltk's AnnotationTask gives the same numbers (the tests check it) but is pure
Python, one unit at a time; the `krippendorff` package is GPL, so this is our own numpy code.

Only submitted annotations count. When a coder has several values in one unit, the first
non-missing one by annotation id is kept. Rows are put in a canonical order first (article,
annotator, annotation id), so no figure depends on the order of the rows: the bootstrap draws
articles by their number in sorted id order. Each interval endpoint carries its Monte Carlo error
and is rounded to the decimals that error supports (`intervals`).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from .codebook import Codebook
from .errors import FramestanceError
from .io import atomic_write
from .schema import SPAN_KINDS, is_relevant
from .schema import submitted as schema_submitted
from .tokens import ids_in, token_ranges, word_batches

LEVELS = ("nominal", "ordinal", "interval")


class AgreementError(FramestanceError, ValueError):
    pass
REFERENCE_LINES = (0.667, 0.800)


# ---- alpha ---------------------------------------------------------------------------------
def _first_per_coder(unit: np.ndarray, coder: np.ndarray) -> np.ndarray:
    """Row positions of the first row of every (unit, coder) pair, in row order."""
    if len(unit) == 0:
        return np.zeros(0, dtype=np.int64)
    key = unit.astype(np.int64) * (int(coder.max()) + 1) + coder
    _, first = np.unique(key, return_index=True)
    return np.sort(first)


def _first_by_id(unit: np.ndarray, coder: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Row positions of each (unit, coder) pair's row with the lowest id, ordered by (unit, coder):
    the same rows, in the same order, whatever the order of the input rows (ties of id: the
    earlier row)."""
    if len(unit) == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.lexsort((np.arange(len(unit)), ids, coder, unit))
    key = unit[order].astype(np.int64) * (int(coder.max()) + 1) + coder[order]
    return order[np.append(True, key[1:] != key[:-1])]


def _pairable(unit: np.ndarray, *values: np.ndarray):
    """Drop units with fewer than two values; return unit sizes, then the filtered arrays."""
    m = np.bincount(unit)
    keep = m[unit] >= 2
    return (m, unit[keep], *(v[keep] for v in values))


def _alpha_core(unit: np.ndarray, value: np.ndarray, level: str, n_ranks: int = 0) -> float | None:
    """Alpha for one value per (unit, coder): `value` holds codes (nominal), rank indices
    0..n_ranks-1 (ordinal) or numbers (interval); missing values must already be removed."""
    if len(unit) == 0:
        return None
    m, u, x = _pairable(unit, value)
    n = len(x)
    if n < 2:
        return None
    mf = m.astype(np.float64)
    units = m >= 2
    if level == "nominal":
        if x.min() == x.max():
            return None
        width = int(x.max()) + 1
        key = u.astype(np.int64) * width + x
        if len(m) * width <= 4 * len(key) + 1_000_000:  # n_uc as a dense (unit x value) table
            sq = (np.bincount(key, minlength=len(m) * width).reshape(len(m), width).astype(np.float64) ** 2).sum(axis=1)
        else:
            keys, cnt = np.unique(key, return_counts=True)
            sq = np.bincount(keys // width, weights=cnt.astype(np.float64) ** 2, minlength=len(m))
        observed = ((mf**2 - sq)[units] / (mf[units] - 1)).sum()
        nc = np.bincount(x).astype(np.float64)
        expected = float(n) * n - (nc**2).sum()
    else:
        if level == "ordinal":
            nc = np.bincount(x, minlength=n_ranks).astype(np.float64)
            x = (np.cumsum(nc) - nc / 2)[x]
        x = np.asarray(x, dtype=np.float64)
        if x.min() == x.max():
            return None
        x = x - x.mean()  # alpha is shift-invariant; centring limits cancellation
        s1 = np.bincount(u, weights=x, minlength=len(m))
        s2 = np.bincount(u, weights=x * x, minlength=len(m))
        observed = ((2 * mf * s2 - 2 * s1**2)[units] / (mf[units] - 1)).sum()
        expected = 2.0 * n * (x * x).sum() - 2.0 * x.sum() ** 2
    if expected <= 0:
        return None
    return float(1.0 - (n - 1) * observed / expected)


def _index_of(values: pd.Series, labels: Sequence) -> np.ndarray:
    """Position of every value in `labels`; -1 for nulls and values not in it."""
    codes, uniques = pd.factorize(values)
    lookup = np.append(pd.Index(list(labels)).get_indexer(pd.Index(uniques, dtype=object)), -1)
    return lookup[codes]  # codes == -1 picks the trailing -1


def alpha(data: pd.DataFrame, level: str = "nominal", order: Sequence[str] | None = None) -> float | None:
    """Krippendorff's alpha from long reliability data (columns unit, coder, value).

    Null values (and, for "ordinal", values not in `order`) are missing. None when undefined:
    fewer than two pairable values, or no expected disagreement (a single value overall)."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
    if level == "ordinal" and not order:
        raise ValueError("ordinal alpha needs `order`, the ranked values")
    unit = pd.factorize(data["unit"])[0]
    coder = pd.factorize(data["coder"])[0]
    if level == "nominal":
        value = pd.factorize(data["value"])[0]
        ok = value >= 0
    elif level == "ordinal":
        value = _index_of(data["value"], order or ())
        ok = value >= 0
    else:
        value = pd.to_numeric(data["value"]).to_numpy(dtype=np.float64, na_value=np.nan)
        ok = ~np.isnan(value)
    ok &= (unit >= 0) & (coder >= 0)
    unit, coder, value = unit[ok], coder[ok], value[ok]
    first = _first_per_coder(unit, coder)
    return _alpha_core(unit[first], value[first], level, len(order or ()))


def _masi(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """MASI distance between frame sets given as bit masks (Passonneau 2006; nltk's weights)."""
    inter = np.bitwise_count(a & b).astype(np.float64)
    union = np.bitwise_count(a | b).astype(np.float64)
    la, lb = np.bitwise_count(a), np.bitwise_count(b)
    mono = np.where(a == b, 1.0, np.where(inter == np.minimum(la, lb), 2 / 3, np.where(inter > 0, 1 / 3, 0.0)))
    jaccard = np.divide(inter, union, out=np.ones_like(inter), where=union > 0)
    return 1.0 - jaccard * mono


def _within_unit_pairs(u: np.ndarray, x: np.ndarray, n_units: int):
    """Values sorted by unit, and every ordered pair (i, j) of positions within one unit (i == j
    included, distance 0), with the size of each pair's unit: (u, x, i, j, size)."""
    order = np.argsort(u, kind="stable")
    u, x = u[order], x[order]
    kept = np.bincount(u, minlength=n_units)
    size = kept[u]
    start = np.cumsum(kept) - kept
    i = np.repeat(np.arange(len(x)), size)
    offset = np.arange(len(i)) - np.repeat(np.cumsum(size) - size, size)
    j = np.repeat(start[u], size) + offset
    return u, x, i, j, size


def _alpha_masi(unit: np.ndarray, masks: np.ndarray) -> float | None:
    """Alpha over sets (one bit mask per unit and coder) with the MASI distance."""
    if len(unit) == 0:
        return None
    m, u, x = _pairable(unit, masks)
    n = len(x)
    if n < 2:
        return None
    sets, inv = np.unique(x, return_inverse=True)
    if len(sets) < 2:
        return None
    nc = np.bincount(inv).astype(np.float64)
    expected = 0.0
    for lo in range(0, len(sets), 2048):  # rows of the distinct-set distance matrix, in blocks
        block = _masi(sets[lo : lo + 2048, None], sets[None, :])
        expected += float(nc[lo : lo + 2048] @ block @ nc)
    # every ordered pair (i, j) of values in one unit, weighted 1/(m_u - 1); i == j has distance 0
    u, x, i, j, size = _within_unit_pairs(u, x, len(m))
    observed = float((_masi(x[i], x[j]) / (size[i] - 1)).sum())
    return float(1.0 - (n - 1) * observed / expected) if expected > 0 else None


# ---- intervals: a seeded bootstrap over articles --------------------------------------------
# Each alpha is rebuilt from per-article sufficient statistics, so that a resample (a weight per
# article: how often it was drawn) costs a few matrix products, and all dimensions share the same
# resamples. With weights of one, every formula below is exactly `_alpha_core` / `_alpha_masi`.


class _Nominal:
    """Per article: m (values), o (observed disagreement) and the value counts N; built on demand
    (`columns`), so that only the (units, codes) arrays are kept between dimensions."""

    def __init__(self, unit: np.ndarray, code: np.ndarray, n_units: int):
        m = np.bincount(unit, minlength=n_units)
        keep = m[unit] >= 2
        self.u, self.x, self.n_units = unit[keep].astype(np.int32), code[keep].astype(np.int32), n_units  # int32: 25 of them are kept
        self.width = int(self.x.max()) + 1 if len(self.x) else 1
        self.n = {"units": int((m >= 2).sum()), "values": int(len(self.x))}

    def columns(self) -> np.ndarray:
        table = np.zeros((self.n_units, 2 + self.width))
        np.add.at(table, (self.u, 2 + self.x), 1.0)
        N = table[:, 2:]
        m = table[:, 0] = N.sum(axis=1)
        pair = m >= 2
        table[:, 1] = np.where(pair, (m**2 - (N**2).sum(axis=1)) / np.where(pair, m - 1, 1), 0.0)
        return table

    def from_products(self, R: np.ndarray) -> np.ndarray:
        """Alpha per resample from W @ columns()."""
        n, observed, nc = R[:, 0], R[:, 1], R[:, 2:]
        expected = n * n - (nc**2).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(expected > 0, 1.0 - (n - 1) * observed / expected, np.nan)

    def alpha(self, W: np.ndarray) -> np.ndarray:
        return self.from_products(W @ self.columns())


class _Ordinal:
    """Krippendorff's ordinal metric: interval on mid-ranks, which depend on the resample's counts."""

    def __init__(self, unit: np.ndarray, rank: np.ndarray, n_ranks: int, n_units: int):
        m = np.bincount(unit, minlength=n_units)
        keep = m[unit] >= 2
        self.u, self.x, self.k, self.n_units = unit[keep].astype(np.int32), rank[keep].astype(np.int32), n_ranks, n_units
        self.n = {"units": int((m >= 2).sum()), "values": int(len(self.x))}

    def columns(self) -> np.ndarray:
        N = np.zeros((self.n_units, self.k))
        np.add.at(N, (self.u, self.x), 1.0)
        m = N.sum(axis=1)
        pair = m >= 2
        inv = np.where(pair, 1.0 / np.where(pair, m - 1, 1), 0.0)
        A = N * (2 * m * inv)[:, None]  # sum_u w_u 2 m_u/(m_u-1) n_uc  -> times r_c^2
        B = (N[:, :, None] * N[:, None, :]).reshape(self.n_units, -1) * (2 * inv)[:, None]  # -> r_c r_d
        return np.column_stack([m, N, A, B])

    def from_products(self, R: np.ndarray) -> np.ndarray:
        """Alpha per resample from W @ columns()."""
        k = self.k
        n, nc, WA, WB = R[:, 0], R[:, 1 : 1 + k], R[:, 1 + k : 1 + 2 * k], R[:, 1 + 2 * k :]
        r = np.cumsum(nc, axis=1) - nc / 2
        with np.errstate(divide="ignore", invalid="ignore"):
            r = r - ((nc * r).sum(axis=1) / n)[:, None]  # centred: alpha is shift-invariant
            observed = (WA * r**2).sum(axis=1) - np.einsum("bc,bcd,bd->b", r, WB.reshape(-1, k, k), r)
            expected = 2 * n * (nc * r**2).sum(axis=1) - 2 * (nc * r).sum(axis=1) ** 2
            return np.where(expected > 0, 1.0 - (n - 1) * observed / expected, np.nan)

    def alpha(self, W: np.ndarray) -> np.ndarray:
        return self.from_products(W @ self.columns())


class _Masi:
    def __init__(self, unit: np.ndarray, masks: np.ndarray, n_units: int):
        m_all = np.bincount(unit, minlength=n_units)
        keep = m_all[unit] >= 2
        u, x = unit[keep], masks[keep]
        self.sets, self.inv = np.unique(x, return_inverse=True)
        self.u = u
        self.m = np.bincount(u, minlength=n_units).astype(np.float64)
        us, xs, i, j, size = _within_unit_pairs(u, x, n_units)
        self.o = np.bincount(us[i], weights=_masi(xs[i], xs[j]) / (size[i] - 1), minlength=n_units) if len(i) else np.zeros(n_units)
        self.D = np.vstack([_masi(self.sets[lo : lo + 2048, None], self.sets[None, :]) for lo in range(0, max(len(self.sets), 1), 2048)]) \
            if len(self.sets) else np.zeros((0, 0))
        self.n = {"units": int((self.m >= 2).sum()), "values": int(self.m.sum())}

    def alpha(self, W: np.ndarray) -> np.ndarray:
        n, observed = W @ self.m, W @ self.o
        nc = np.stack([np.bincount(self.inv, weights=w[self.u], minlength=len(self.sets)) for w in W])
        expected = np.einsum("bs,st,bt->b", nc, self.D, nc)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(expected > 0, 1.0 - (n - 1) * observed / expected, np.nan)


#: Bootstrap resamples: at a few hundred articles, enough for two decimals of an interval's endpoints
#: (Monte Carlo error below 0.005; with 1,000 about half of framing-dev's endpoints supported only one).
RESAMPLES = 2000


def draw_articles(rng: np.random.Generator, n_units: int, out: np.ndarray) -> np.ndarray:
    """Fill each row of `out` with how often each of `n_units` articles is drawn in one bootstrap
    resample (n_units draws with replacement): the resamples of every interval over articles."""
    for i in range(len(out)):
        out[i] = np.bincount(rng.integers(0, n_units, n_units), minlength=n_units)
    return out


def intervals(dims: Mapping[str, _Nominal | _Ordinal | _Masi], n_units: int, resamples: int = RESAMPLES,
              seed: int = 0, chunk: int = 32) -> dict[str, dict | None]:
    """Percentile 95% intervals of every alpha from one seeded bootstrap over articles (the same
    resamples for every dimension), each with the Monte Carlo error of its endpoints and the
    decimals that error supports (`supported_decimals`). None where fewer than 90% of the
    resamples define alpha. Unit k is the k-th article in sorted id order (`compute`), so the
    resamples do not depend on the order of the rows."""
    rng = np.random.default_rng(seed)
    draws: dict[str, list[np.ndarray]] = {k: [] for k in dims}
    # every nominal and ordinal dimension in one (articles x statistics) matrix: one product per chunk.
    # float32: the counts are exact below 2^24, the other statistics carry ~1e-7 relative error.
    stacked: dict[str, _Nominal | _Ordinal] = {k: d for k, d in dims.items() if not isinstance(d, _Masi)}
    widths = [2 + d.width if isinstance(d, _Nominal) else 1 + d.k + d.k + d.k * d.k for d in stacked.values()]
    bounds = np.cumsum([0, *widths])
    S = np.empty((n_units, int(bounds[-1])), np.float32)
    for i, d in enumerate(stacked.values()):  # one dimension's float64 columns at a time
        S[:, bounds[i] : bounds[i + 1]] = d.columns()
    weights = np.empty((chunk, n_units), np.float32)  # reused: fresh large arrays cost page faults
    masi_dims = {k: d for k, d in dims.items() if isinstance(d, _Masi)}
    weights64 = np.empty((chunk if masi_dims else 0, n_units))  # MASI's statistics stay float64
    for start in range(0, resamples, chunk):
        b = min(chunk, resamples - start)
        W = draw_articles(rng, n_units, weights[:b])
        R = (W @ S).astype(np.float64)
        for i, (k, d) in enumerate(stacked.items()):
            draws[k].append(d.from_products(R[:, bounds[i] : bounds[i + 1]]))
        if masi_dims:
            np.copyto(weights64[:b], W)
        for k, masi in masi_dims.items():
            draws[k].append(masi.alpha(weights64[:b]))
    out: dict[str, dict | None] = {}
    for k, parts in draws.items():
        a = np.concatenate(parts) if parts else np.zeros(0)
        ok = np.sort(a[np.isfinite(a)])
        if not resamples or len(ok) < 0.9 * resamples:
            out[k] = None
            continue
        ends = [float(np.percentile(ok, 2.5)), float(np.percentile(ok, 97.5))]
        error = [_quantile_mc_error(ok, 0.025), _quantile_mc_error(ok, 0.975)]
        out[k] = {"ci95": ends, "mc_error": error, "decimals": supported_decimals(max(error))}
    return out


def _quantile_mc_error(sorted_draws: np.ndarray, p: float) -> float:
    """Monte Carlo standard error of the p-quantile of B draws, from the distribution-free 95%
    interval of a quantile: the order statistics B p -/+ 1.96 sqrt(B p (1 - p)), half its width
    over 1.96."""
    n = len(sorted_draws)
    half = 1.96 * np.sqrt(n * p * (1 - p))
    lo, hi = int(np.floor(n * p - half)), int(np.ceil(n * p + half))
    lo, hi = max(lo, 0), min(hi, n - 1)
    return float((sorted_draws[hi] - sorted_draws[lo]) / (2 * 1.96))


def supported_decimals(error: float, most: int = 3) -> int:
    """How many decimals an interval endpoint with this Monte Carlo standard error is printed
    with: the most (up to `most`, at least 1) whose last digit's half unit is no smaller than the
    error, so that another seed moves a printed endpoint by a unit of its last digit or so."""
    for d in range(most, 0, -1):
        if error <= 0.5 * 10.0**-d:
            return d
    return 1


def format_interval(ci: Sequence[float] | None, decimals: int | None = None) -> str:
    """`[lo, hi]` with the decimals its Monte Carlo error supports (metrics' `alpha_ci95_decimals`)."""
    if not ci:
        return "–"
    d = 2 if decimals is None else decimals
    return f"[{ci[0]:.{d}f}, {ci[1]:.{d}f}]"


# ---- spans ---------------------------------------------------------------------------------
def span_f1(spans: pd.DataFrame, texts: Mapping[str, str],
            annotators_per_article: Mapping[str, set[str]] | pd.DataFrame | None = None) -> dict[str, float | None]:
    """Micro-averaged token F1 between annotator pairs, per span kind.

    Tokens are `\\S+` runs of the article text; a span covers the tokens its [start, end) range
    overlaps; an annotator's set is {(token, label)}. Pairs are the annotators who submitted on the
    article (`annotators_per_article`, a mapping or a table of article_id, annotator; for an article
    not in it, those with spans there). F1 = 2 * sum |A & B| / sum (|A| + |B|) over all pairs; None
    when that sum is 0. Vectorised: sum |A & B| is sum C(c, 2) over every (token, label) that c
    annotators marked, and sum (|A| + |B|) is sum |A| * (m - 1) for an article with m annotators."""
    sp = spans[spans["start"].notna() & spans["end"].notna() & spans["annotator"].notna()
               & ids_in(spans["article_id"], texts)]
    if annotators_per_article is None:
        members = sp[["article_id", "annotator"]]
    else:
        if isinstance(annotators_per_article, Mapping):
            covered = set(annotators_per_article)  # an empty set too: nobody to pair there
            table = pd.DataFrame([(a, w) for a, who in annotators_per_article.items() for w in who],
                                 columns=["article_id", "annotator"])
        else:
            table = annotators_per_article
            covered = set(np.asarray(table["article_id"].unique(), dtype=object))
        given = table[ids_in(table["article_id"], texts) & table["annotator"].notna()]
        members = pd.concat([given[["article_id", "annotator"]],
                             sp.loc[~ids_in(sp["article_id"], covered), ["article_id", "annotator"]]])
    members = members.drop_duplicates()
    # spans count only where their author is one of the article's pair members
    article_code = pd.factorize(pd.concat([members["article_id"], sp["article_id"]], ignore_index=True))[0]
    who_code = pd.factorize(pd.concat([members["annotator"], sp["annotator"]], ignore_index=True))[0]
    pair = article_code.astype(np.int64) * (int(who_code.max(initial=0)) + 1) + who_code
    sp = sp[np.isin(pair[len(members):], pair[: len(members)])]
    m = members.groupby("article_id").size()
    out: dict[str, float | None] = {}
    if sp.empty:
        return dict.fromkeys(SPAN_KINDS)
    article, articles = pd.factorize(sp["article_id"])
    lo, hi = token_ranges([texts[a] for a in np.asarray(articles, dtype=object)], article, sp["start"].to_numpy(np.int64),
                          sp["end"].to_numpy(np.int64))
    who = pd.factorize(sp["annotator"])[0]
    kind, kinds = pd.factorize(sp["kind"], use_na_sentinel=False)
    label = pd.factorize(sp["label"].astype(object).where(sp["label"].notna(), None), use_na_sentinel=False)[0]
    # one code per (article, annotator, kind, label) and per (article, kind, label)
    _, first, own = np.unique(((article * (who.max() + 1) + who) * len(kinds) + kind) * (label.max() + 1) + label,
                              return_index=True, return_inverse=True)
    _, shared = np.unique((article * len(kinds) + kind) * (label.max() + 1) + label, return_inverse=True)
    own_kind, own_shared, own_article = kind[first], shared[first], article[first]
    others_of = m.reindex(articles).to_numpy(np.float64) - 1
    shared_kind = np.zeros(int(shared.max()) + 1, np.int64)
    shared_kind[own_shared] = own_kind
    inter, total = np.zeros(len(kinds)), np.zeros(len(kinds))
    width = np.maximum(hi - lo, 0)
    by_article = np.argsort(article, kind="stable")
    for rows in word_batches(article[by_article], width[by_article]):
        rows = by_article[rows]  # whole articles, about a million words at a time: memory stays flat
        span = np.repeat(rows, width[rows])
        token = lo[span] + np.arange(len(span)) - np.repeat(np.cumsum(width[rows]) - width[rows], width[rows])
        span_width = int(token.max(initial=0)) + 1
        item = np.unique(own[span] * span_width + token)  # each (token, label) once per person
        item_own, token = item // span_width, item % span_width
        # sum (|A| + |B|) over pairs: each item counts once per other annotator of the article
        total += np.bincount(own_kind[item_own], weights=others_of[own_article[item_own]], minlength=len(kinds))
        # sum |A & B| over pairs: C(c, 2) for an item that c annotators marked
        marked, c = np.unique(own_shared[item_own] * span_width + token, return_counts=True)
        inter += np.bincount(shared_kind[marked // span_width], weights=c * (c - 1) / 2, minlength=len(kinds))
    for k, name in enumerate(kinds):
        out[name] = 2 * inter[k] / total[k] if total[k] else None
    return {k: out.get(k) for k in SPAN_KINDS}


# ---- metrics -------------------------------------------------------------------------------
def _r(x) -> float | None:
    return None if x is None or pd.isna(x) else round(float(x), 4)


def _sorted(obj):
    return {k: _sorted(obj[k]) for k in sorted(obj)} if isinstance(obj, dict) else obj


submitted = schema_submitted  # re-exported: agreement.submitted is what earlier code imports


def _frame_matrix(frames: pd.Series, ids: list[str]) -> np.ndarray:
    """Bool matrix (annotation x codebook frame); labels outside the codebook are ignored."""
    import pyarrow as pa
    import pyarrow.compute as pc

    out = np.zeros((len(frames), len(ids)), dtype=bool)
    lists = pa.array(frames, type=pa.list_(pa.string()), from_pandas=True)
    row = pc.list_parent_indices(lists).to_numpy()
    col = pc.index_in(pc.list_flatten(lists), value_set=pa.array(ids, pa.string())).to_numpy(zero_copy_only=False)
    ok = ~np.isnan(col) if col.dtype.kind == "f" else np.ones(len(col), bool)
    out[row[ok], col[ok].astype(np.int64)] = True
    return out


def _pairs(unit: np.ndarray, coder: np.ndarray, value: np.ndarray, coders, labels) -> tuple[dict, dict]:
    """Primary frame, per pair of annotators: the articles both labelled and the share on which they
    agree; and per annotator a confusion matrix against every other annotator of the same articles
    (their label -> the other's label -> count)."""
    df = pd.DataFrame({"u": unit, "c": coder, "v": value})
    both = df.merge(df, on="u", suffixes=("1", "2"))
    both = both[both["c1"] != both["c2"]]
    names, labs = np.asarray(coders, dtype=object), np.asarray(labels, dtype=object)
    pairwise = {}
    ordered = both[both["c1"] < both["c2"]]
    for (c1, c2), g in ordered.groupby(["c1", "c2"], sort=True):
        a, b = sorted((str(names[c1]), str(names[c2])))
        pairwise[f"{a}|{b}"] = {"articles": int(len(g)), "primary_frame": _r(float((g["v1"] == g["v2"]).mean()))}
    confusion: dict = {}
    for (c1, v1, v2), k in both.groupby(["c1", "v1", "v2"], sort=True).size().items():
        confusion.setdefault(str(names[c1]), {}).setdefault(str(labs[v1]), {})[str(labs[v2])] = int(k)
    return pairwise, confusion


def _gold_accuracy(gold_rows: pd.DataFrame, stances: pd.DataFrame, cb: Codebook) -> dict[str, dict]:
    """annotator -> gold questions answered, share of labels right overall and per dimension
    (relevance, primary_frame, frames as a set, tone, stance over every target the codebook's gold
    gives)."""
    if gold_rows.empty:
        return {}
    st = submitted(stances)
    stance_of = {(a, t): v for a, t, v in zip(st["annotation_id"], st["target"], st["value"])}
    right: dict[str, dict[str, list[int]]] = {}
    seen: dict[str, set[str]] = {}
    # each annotator's first answer by annotation id, whatever the order of the rows
    first = gold_rows.sort_values(["article_id", "annotator", "annotation_id"], kind="stable").drop_duplicates(
        ["article_id", "annotator"], keep="first")
    for r in first.to_dict("records"):
        truth = cb.gold.get(str(r["article_id"])) or {}
        who = r["annotator"]
        seen.setdefault(who, set()).add(r["article_id"])
        score = right.setdefault(who, {})
        checks = []
        if truth.get("relevance"):
            given = cb.NOT_RELEVANT if r.get("relevance") == cb.NOT_RELEVANT else cb.RELEVANT
            checks.append(("relevance", given == truth["relevance"]))
        if truth.get("primary_frame"):
            checks.append(("primary_frame", r["primary_frame"] == truth["primary_frame"]))
        if truth.get("frames") is not None:
            marked = set(r["frames"]) if r["frames"] is not None else set()
            expected = set(truth["frames"]) | ({truth["primary_frame"]} if truth.get("primary_frame") else set())
            checks.append(("frames", marked == expected))  # as pull does, the primary frame counts as present
        if truth.get("tone"):
            checks.append(("tone", r["tone"] == truth["tone"]))
        for target, value in (truth.get("stance") or {}).items():
            checks.append(("stance", stance_of.get((r["annotation_id"], target)) == value))
        for dim, ok in checks:
            score.setdefault(dim, [0, 0])
            score[dim][0] += int(ok)
            score[dim][1] += 1
    out = {}
    for who, score in right.items():
        hits, total = sum(v[0] for v in score.values()), sum(v[1] for v in score.values())
        out[who] = {"gold_tasks": len(seen[who]), "gold_accuracy": _r(hits / total) if total else None,
                    "gold_by_dimension": {d: _r(v[0] / v[1]) for d, v in sorted(score.items())}}
    return out


def compute(
    annotations: pd.DataFrame,
    stances: pd.DataFrame,
    spans: pd.DataFrame,
    cb: Codebook,
    texts: Mapping[str, str] | None = None,
    resamples: int = RESAMPLES,
    seed: int = 0,
    answers: pd.DataFrame | None = None,
) -> dict:
    """Agreement metrics over submitted annotations (units: articles; coders: annotators).

    Every alpha comes with its n (`n`: pairable units and values) and a seeded percentile
    bootstrap 95% interval over articles (`alpha_ci95`; `resamples` 0 skips it). Stance has three
    figures per target: nominal over all four values; `addressed`, nominal over "addressed or not"
    (whether the article takes up the target at all); and `ordinal_addressed`, ordinal over the
    ordered values on the articles at least two coders addressed. Tone has an ordinal figure too.

    Hidden gold questions (the codebook's `gold` articles) are left out of every alpha and span
    score; each annotator's accuracy on them is reported instead (`gold_accuracy`, overall and per
    dimension)."""
    sub = submitted(annotations)
    gold_people: dict[str, dict] = {}
    if cb.gold:
        on_gold = sub["article_id"].isin(list(cb.gold))
        gold_people = _gold_accuracy(sub[on_gold], stances, cb)
        sub = sub[~on_gold].reset_index(drop=True)
        stances = stances[~stances["article_id"].isin(list(cb.gold))]
        spans = spans[~spans["article_id"].isin(list(cb.gold))]
    # canonical order, so that the rows' order changes nothing: articles, coders and labels numbered
    # in sorted order (the bootstrap draws article numbers), each coder's first annotation of an
    # article by id, the counted annotations in (article, coder) order. Index arrays, not a sorted
    # copy of the table: at a million annotations a copy costs most of a gigabyte.
    unit, units = pd.factorize(sub["article_id"], sort=True)
    coder, coders = pd.factorize(sub["annotator"], sort=True)
    valid = np.flatnonzero((unit >= 0) & (coder >= 0))
    idx = valid[_first_by_id(unit[valid], coder[valid], sub["annotation_id"].to_numpy(np.int64, na_value=-1)[valid])]
    u, c = unit[idx], coder[idx]

    def nominal(column: pd.Series) -> float | None:
        v = pd.factorize(column, sort=True)[0][idx]
        return _alpha_core(u[v >= 0], v[v >= 0], "nominal")

    # relevance over every annotation; the rest over those who found the article relevant (the
    # others left it uncoded: an empty frame set there is no judgement, so it is no value)
    relevant = is_relevant(sub)
    rel = relevant[idx]
    not_relevant = (~rel).astype(np.int64)  # the relevance code of each counted annotation
    frame_ids = cb.frame_ids()
    if len(frame_ids) > 64:
        raise ValueError("frame-set alpha supports at most 64 codebook frames")
    member = _frame_matrix(sub["frames"], frame_ids)[idx][rel]
    fu = u[rel]  # the frame values' units
    masks = (member.astype(np.uint64) << np.arange(len(frame_ids), dtype=np.uint64)).sum(axis=1, dtype=np.uint64)
    n_units = len(units)
    dims: dict[str, _Nominal | _Ordinal | _Masi] = {}

    def coded(name: str, column: pd.Series) -> None:
        v = pd.factorize(column, sort=True)[0][idx]
        if (v >= 0).any():
            dims[name] = _Nominal(u[v >= 0], v[v >= 0], n_units)

    dims["relevance"] = _Nominal(u, not_relevant, n_units)
    # a dimension the codebook does not have has no figure at all (not an undefined one)
    result: dict = {"relevance": _r(_alpha_core(u, not_relevant, "nominal"))}
    if cb.primary:
        coded("primary_frame", sub["primary_frame"])
        result["primary_frame"] = _r(nominal(sub["primary_frame"]))
    if cb.tone:
        coded("tone", sub["tone"])
        tone_rank = _index_of(sub["tone"], [t.id for t in cb.tone])[idx]
        if (tone_rank >= 0).any():
            dims["tone_ordinal"] = _Ordinal(u[tone_rank >= 0], tone_rank[tone_rank >= 0], len(cb.tone), n_units)
        result["tone"] = _r(nominal(sub["tone"]))
        result["tone_ordinal"] = _r(_alpha_core(u[tone_rank >= 0], tone_rank[tone_rank >= 0], "ordinal", len(cb.tone)))
    result["frames"] = {f: _r(_alpha_core(fu, member[:, k].astype(np.int64), "nominal")) for k, f in enumerate(frame_ids)}
    result["frames_masi"] = _r(_alpha_masi(fu, masks))
    result["stance"] = {}
    if cb.questions:  # each yes/no question, over the relevant annotations' answers
        result["questions"] = {}
        ans = submitted(answers) if answers is not None else pd.DataFrame(columns=["article_id", "annotator", "question",
                                                                                    "answer", "annotation_id"])
        au = pd.Index(units).get_indexer(pd.Index(ans["article_id"]))
        ac = pd.Index(coders).get_indexer(pd.Index(ans["annotator"]))
        counted = set(zip(u[rel], c[rel]))  # the (article, coder) pairs whose annotation found the article relevant
        ok = np.array([(x, y) in counted for x, y in zip(au, ac)], bool)
        a_id = ans["annotation_id"].to_numpy(np.int64, na_value=-1) if len(ans) else np.zeros(0, np.int64)
        yes = (ans["answer"] == cb.YES).to_numpy(bool)
        for q in cb.question_ids():
            rows = np.flatnonzero(ok & (ans["question"] == q).to_numpy(bool))
            rows = rows[_first_by_id(au[rows], ac[rows], a_id[rows])]
            result["questions"][q] = _r(_alpha_core(au[rows], yes[rows].astype(np.int64), "nominal"))
            if len(rows):
                dims[f"question:{q}"] = _Nominal(au[rows], yes[rows].astype(np.int64), n_units)

    st = submitted(stances)
    sc = pd.factorize(st["annotator"], sort=True)[0]
    st_target = _index_of(st["target"], [t.id for t in cb.targets])
    nominal_code = pd.factorize(st["value"], sort=True)[0]
    st_id = st["annotation_id"].to_numpy(np.int64, na_value=-1)
    rank = _index_of(st["value"], cb.stance_order) if cb.stance_order else None
    # stance rows share the articles' unit numbering, so that one resample serves every dimension
    su = pd.Index(units).get_indexer(pd.Index(st["article_id"]))
    for k, target in enumerate(cb.targets):
        rows = np.flatnonzero((st_target == k) & (su >= 0) & (sc >= 0) & (nominal_code >= 0))
        rows = rows[_first_by_id(su[rows], sc[rows], st_id[rows])]
        entry = {"nominal": _r(_alpha_core(su[rows], nominal_code[rows], "nominal")), "addressed": None,
                 "ordinal_addressed": None}
        if len(rows):
            dims[f"stance:{target.id}"] = _Nominal(su[rows], nominal_code[rows], n_units)
        if rank is not None:
            addressed = (rank[rows] >= 0).astype(np.int64)
            entry["addressed"] = _r(_alpha_core(su[rows], addressed, "nominal"))
            r = rows[rank[rows] >= 0]
            entry["ordinal_addressed"] = _r(_alpha_core(su[r], rank[r], "ordinal", len(cb.stance_order)))
            if len(rows):
                dims[f"stance_addressed:{target.id}"] = _Nominal(su[rows], addressed, n_units)
            if len(r):
                dims[f"stance_ordinal_addressed:{target.id}"] = _Ordinal(su[r], rank[r], len(cb.stance_order), n_units)
        result["stance"][target.id] = entry
    for k, f in enumerate(frame_ids):
        dims[f"frames:{f}"] = _Nominal(fu, member[:, k].astype(np.int64), n_units)
    dims["frames_masi"] = _Masi(fu, masks, n_units)
    boot = intervals(dims, n_units, resamples, seed) if resamples else dict.fromkeys(dims)
    ci = {k: None if b is None else [round(x, b["decimals"]) + 0.0 for x in b["ci95"]] for k, b in boot.items()}  # +0.0: no -0.0

    # per annotator: matches with the others on the same articles (n_uv - 1 of m_u - 1 others)
    pv = pd.factorize(sub["primary_frame"], sort=True)[0][idx]
    has = pv >= 0
    m_u = np.bincount(u[has], minlength=len(units))
    _, inv, n_uv = np.unique(u[has].astype(np.int64) * (int(pv.max(initial=0)) + 1) + pv[has],
                             return_inverse=True, return_counts=True)
    matches = np.bincount(c[has], weights=n_uv[inv] - 1, minlength=len(coders))
    pairs = np.bincount(c[has], weights=m_u[u[has]] - 1, minlength=len(coders))
    known = coder >= 0
    tasks = np.bincount(coder[known], minlength=len(coders))
    lead = pd.to_numeric(sub["lead_time"]).groupby(coder).median()
    none: dict = {"gold_tasks": 0, "gold_accuracy": None, "gold_by_dimension": {}}
    people = {
        who: {
            "tasks": int(tasks[k]),
            "median_lead_time": _r(lead.get(k)),
            "agreement_with_others": _r(matches[k] / pairs[k]) if pairs[k] > 0 else None,
            **gold_people.get(who, none),
        }
        for k, who in enumerate(coders)
    }
    for who, g in gold_people.items():  # someone who answered only gold questions
        people.setdefault(who, {"tasks": 0, "median_lead_time": None, "agreement_with_others": None, **g})
    pairwise, confusion = _pairs(u[has], c[has], pv[has], coders, pd.factorize(sub["primary_frame"], sort=True)[1])

    if texts is None:
        span_scores: dict = dict.fromkeys(SPAN_KINDS)
    else:
        who_coded = sub[["article_id", "annotator"]]
        span_scores = span_f1(submitted(spans), texts, (who_coded if relevant.all() else who_coded[relevant]).dropna())
    return _sorted({
        "counts": {
            "articles": int(len(units)),
            "annotations": int(len(sub)),
            "annotators": int(len(coders)),
            "articles_with_2plus": int((np.bincount(u, minlength=len(units)) >= 2).sum()),
        },
        "alpha": result,
        "alpha_ci95": ci,
        # unrounded, for a gate on the lower end (a rounded 0.65 would pass a minimum of 0.667 as 0.7)
        "alpha_ci95_unrounded": {k: None if b is None else [round(x, 6) for x in b["ci95"]] for k, b in boot.items()},
        "alpha_ci95_mc_error": {k: None if b is None else [round(x, 4) for x in b["mc_error"]] for k, b in boot.items()},
        "alpha_ci95_decimals": {k: None if b is None else b["decimals"] for k, b in boot.items()},
        "n": {k: d.n for k, d in dims.items()},
        "bootstrap": {"resamples": resamples, "seed": seed, "unit": "article (in sorted id order)",
                      "interval": "percentile 95%", "digits": "endpoints rounded to the decimals their Monte Carlo "
                      "standard error supports (at most half a unit of the last decimal)"},
        "spans": {k: _r(v) for k, v in span_scores.items()},
        "annotators": people,
        "pairwise": pairwise,
        "confusion_primary_frame": confusion,
    })


def by_batch(annotations: pd.DataFrame, stances: pd.DataFrame, spans: pd.DataFrame, cb: Codebook,
             pulled_at: Sequence[datetime], resamples: int = RESAMPLES, seed: int = 0,
             whole: dict | None = None, answers: pd.DataFrame | None = None) -> list[dict]:
    """Agreement per pull batch, so that drift over time shows: a batch holds the annotations
    last updated after the previous pull and up to this one (`pulled_at`: the snapshots' times;
    anything later counts in the newest batch). Each batch's alphas, with n and a bootstrap
    interval, cover the articles with two or more of that batch's annotations (a pair split
    across batches counts in neither), and each annotator's accuracy on the gold questions
    answered in it. `whole`: the metrics of all annotations, reused when there is one batch."""
    times = sorted(pulled_at)
    if not times:
        return []
    sub = submitted(annotations)
    stamp = sub["updated_at"]
    if isinstance(stamp.dtype, pd.DatetimeTZDtype) or stamp.isna().all():
        when = pd.to_datetime(stamp, utc=True).dt.tz_localize(None).to_numpy("datetime64[us]")
    else:  # naive times could be any zone: the batch a label falls in would be a guess
        raise AgreementError(f"annotations.parquet: updated_at is {stamp.dtype}, not a time with a time zone (pull "
                             "writes UTC): rebuild the tables with `framestance pull`")
    cut = np.array([np.datetime64(t.astimezone(UTC).replace(tzinfo=None), "us") for t in times])
    batch = np.minimum(np.searchsorted(cut, when, side="left"), len(cut) - 1)  # no time (NaT): the newest batch
    out = []
    for k, t in enumerate(times):
        part = sub[batch == k]
        if whole is not None and len(times) == 1:
            m = whole
        else:
            ids = part["annotation_id"]
            m = compute(part, stances[stances["annotation_id"].isin(ids)], spans[spans["annotation_id"].isin(ids)], cb,
                        None, resamples, seed,
                        answers=None if answers is None else answers[answers["annotation_id"].isin(ids)])
        rows = [r for r in summary_rows(m) if not r["dimension"].startswith("frames:")]
        out.append({
            "pulled_at": t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "annotations": int(len(part)),
            "articles": m["counts"]["articles"], "alpha": {r["dimension"]: r["alpha"] for r in rows},
            "alpha_ci95": {r["dimension"]: r["ci95"] for r in rows},
            "n_units": {r["dimension"]: r["n_units"] if r["alpha"] is not None else None for r in rows},
            "gold_accuracy": {who: p["gold_accuracy"] for who, p in sorted(m["annotators"].items()) if p.get("gold_tasks")},
        })
    return out


def summary_rows(metrics: dict) -> list[dict]:
    """Flat {dimension, alpha, ci95, n_units, n_values} rows in a fixed order (plots, quality gates,
    the card). Undefined ordinal and addressed rows are left out."""
    a = metrics["alpha"]
    rows = [{"dimension": "relevance", "alpha": a["relevance"]}] if "relevance" in a else []
    rows += [{"dimension": d, "alpha": a[d]} for d in ("primary_frame", "tone") if d in a]  # as the codebook has them
    if a.get("tone_ordinal") is not None:
        rows.append({"dimension": "tone_ordinal", "alpha": a["tone_ordinal"]})
    rows += [{"dimension": f"frames:{f}", "alpha": v} for f, v in sorted(a["frames"].items())]
    rows.append({"dimension": "frames_masi", "alpha": a["frames_masi"]})
    rows += [{"dimension": f"stance:{t}", "alpha": v["nominal"]} for t, v in sorted(a["stance"].items())]
    rows += [{"dimension": f"stance_addressed:{t}", "alpha": v["addressed"]}
             for t, v in sorted(a["stance"].items()) if v.get("addressed") is not None]
    rows += [{"dimension": f"stance_ordinal_addressed:{t}", "alpha": v["ordinal_addressed"]}
             for t, v in sorted(a["stance"].items()) if v.get("ordinal_addressed") is not None]
    rows += [{"dimension": f"question:{q}", "alpha": v} for q, v in (a.get("questions") or {}).items()]
    ci, n = metrics.get("alpha_ci95") or {}, metrics.get("n") or {}
    decimals = metrics.get("alpha_ci95_decimals") or {}
    for r in rows:
        r["ci95"] = ci.get(r["dimension"])
        r["ci95_decimals"] = decimals.get(r["dimension"])
        r["n_units"] = (n.get(r["dimension"]) or {}).get("units", 0)
        r["n_values"] = (n.get(r["dimension"]) or {}).get("values", 0)
    return rows


# ---- outputs -------------------------------------------------------------------------------
def _counts(values: pd.Series, ids: list[str]) -> list[tuple[str, int]]:
    """(label, count) for every codebook id in order, then any other label found, sorted."""
    found = values.dropna().astype(str).value_counts()
    extra = sorted(set(found.index) - set(ids))
    return [(x, int(found.get(x, 0))) for x in [*ids, *extra]]


def _csv(rows: list[list]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(["" if v is None else v for v in row] for row in rows)
    return buf.getvalue().encode()


def write_outputs(metrics: dict, annotations: pd.DataFrame, stances: pd.DataFrame, cb: Codebook,
                  metrics_path: Path, plots_dir: Path) -> list[Path]:
    """Write the metrics JSON, the PNG figures (`figures`: alpha per dimension, primary frames per
    annotator, alpha per pull batch) and their DVC-plot CSVs (same input, same bytes). batches.png
    is only written when some pull batch has annotations (a stale one is removed); the gold label
    distributions are `aggregate`'s (plots/gold.png)."""
    from . import figures

    metrics_path, plots_dir = Path(metrics_path), Path(plots_dir)
    sub = submitted(annotations)
    rows = summary_rows(metrics)
    people = sorted(sub["annotator"].dropna().astype(str).unique())
    # who chose which frame: the primary frame, or (a codebook without one) every frame marked present
    chosen = sub[["annotator", "primary_frame"]] if cb.primary else \
        sub[["annotator", "frames"]].explode("frames").rename(columns={"frames": "primary_frame"})
    grid_labels = [x for x, _ in _counts(chosen["primary_frame"], cb.frame_ids())]
    grid = (pd.crosstab(chosen["annotator"], chosen["primary_frame"]).reindex(index=people, columns=grid_labels, fill_value=0)
            .to_numpy(np.int64).reshape(len(people), len(grid_labels)))
    name = figures.dimension_namer(cb)

    def png(fig, file: str) -> Path:
        return atomic_write(plots_dir / file, figures.render(fig))

    shown = {k: v for k, v in metrics.items() if k != "alpha_ci95_unrounded"}  # the file holds the supported digits
    out = [atomic_write(metrics_path, (json.dumps(shown, indent=2, sort_keys=True) + "\n").encode())]
    out.append(png(figures.alpha_figure(rows, name), "alpha.png"))
    out.append(png(figures.annotators_figure(grid, people, grid_labels, {f.id: f.name for f in cb.frames},
                                             "Primary frame" if cb.primary else "Frame marked present"), "annotators.png"))
    influence = figures.arms_figure(metrics["suggestion_arms"], name) if metrics.get("suggestion_arms") else None
    if influence is None:  # no arms drawn: no figure, and none left from an earlier run
        (plots_dir / "suggestion-arms.png").unlink(missing_ok=True)
    else:
        out.append(png(influence, "suggestion-arms.png"))
    batches = metrics.get("batches") or []
    drift = figures.batches_figure(batches, name)
    if drift is None:  # no batch with annotations: no figure, and none left from an earlier run
        (plots_dir / "batches.png").unlink(missing_ok=True)
    else:
        out.append(png(drift, "batches.png"))

    # wide, a row per batch numbered from 1: `dvc plots` draws a numeric x (intervals: the JSON and the PNG)
    dims = list(dict.fromkeys(d for b in batches for d in b["alpha"]))
    out.append(atomic_write(plots_dir / "batches.csv", _csv(
        [["batch", "pulled_at", "annotations", *dims]]
        + [[k + 1, b["pulled_at"], b["annotations"], *(b["alpha"].get(d) for d in dims)] for k, b in enumerate(batches)])))
    out.append(atomic_write(plots_dir / "alpha.csv", _csv([["dimension", "alpha"]]
                                                           + [[r["dimension"], r["alpha"]] for r in rows])))
    out.append(atomic_write(plots_dir / "annotators.csv", _csv(
        [["annotator", "label", "count"]] + [[p, x, int(grid[i, k])] for i, p in enumerate(people)
                                             for k, x in enumerate(grid_labels)])))
    return out
