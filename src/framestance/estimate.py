"""Design-weighted shares from a selected sample: what the population of query hits holds.

Contract. `shares(selection, records, labels)` estimates, for every label value, its share among
the *relevant* articles of the population (every hit of the study's query), with a 95 % interval,
beside the unweighted share among the labelled relevant articles.

The estimator follows the sequential design of `selection.py`. Round r was drawn given rounds
1..r-1: the articles labelled before it are known (L), its model part is a take-all stratum (T),
and its probability part is a systematic sample of k of the M remaining hits, each with
probability k/M. So, for a total Y,

    Y_r = sum over L of y + sum over T of y + (M / k) * sum over the probability part of y

is unbiased for Y given the earlier rounds (Horvitz-Thompson), with variance estimated as
M^2 (1 - k/M) s^2 / k (simple random sampling's formula; systematic sampling over an order
sorted by stratum is at least as precise where strata differ). The rounds' errors are martingale
differences, so Y_hat = sum_r w_r Y_r with fixed weights summing to one is unbiased, with
variance sum_r w_r^2 v_r. The weights are the rounds' nominal precisions k/(M(M-k)), known before
any article of the round is labelled, with the finite-population correction (a round that took
every remaining hit is exact, and the estimate is then that round's). A share is a ratio R = Y(value and relevant) / Y(relevant)
(Hajek), its variance linearised (z = y - R * relevant). The interval is R +- 1.96 SE, clipped
to [0, 1].

Articles selected but not labelled yet (or with no gold label) are left out of their part:
the probability part's expansion uses the labelled draws only (missing at random within the
round), which the report counts as `unlabelled`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

Z95 = 1.959963984540054


@dataclass
class Share:
    value: str
    estimate: float | None  # design-weighted share among relevant articles of the population
    low: float | None
    high: float | None
    unweighted: float | None  # share among the labelled relevant articles
    n: int  # labelled relevant articles with a label on this dimension
    count: int  # of them with this value


@dataclass
class Population:
    hits: int
    relevant: float | None  # estimated relevant articles among the hits
    relevant_low: float | None
    relevant_high: float | None
    labelled: int
    unlabelled: int
    rounds: int


def _rounds(sel: list[dict], records: list) -> list[dict]:
    """Per round: the articles known before it, its take-all part, its labelled probability draws, M and k."""
    out = []
    before: list[str] = []
    for rec in records:
        mine = [r for r in sel if r["round"] == rec.round]
        take_all = [r["article_id"] for r in mine if r["part"] == "model"]
        drawn = [r["article_id"] for r in mine if r["part"] == "probability"]
        out.append({"before": list(before), "take_all": take_all, "drawn": drawn, "M": rec.probability_pool,
                    "k": rec.probability_part})
        before += take_all + drawn
    return out


def _total(rounds: list[dict], y: dict[str, np.ndarray], dims: int) -> tuple[np.ndarray, list[tuple[float, np.ndarray, list[str]]]]:
    """Per-round HT totals of the vectors y (unlabelled articles left out) and what each round's variance needs."""
    parts = []
    for rd in rounds:
        known = sum((y[a] for a in rd["before"] + rd["take_all"] if a in y), np.zeros(dims))
        drawn = [a for a in rd["drawn"] if a in y]
        if not drawn or rd["M"] == 0:
            continue
        expand = rd["M"] / len(drawn)
        parts.append((rd["M"], known + expand * sum((y[a] for a in drawn), np.zeros(dims)), drawn))
    return np.zeros(dims), [(m, t, d) for m, t, d in parts]


def _weights(parts) -> np.ndarray:
    """Each round's nominal precision k / (M (M - k)), from its sizes alone (fixed before its
    labels): a round that took every remaining hit is exact and takes all the weight."""
    census = np.array([len(d) >= m for m, _, d in parts])
    if census.any():
        return census / census.sum()
    prec = np.array([len(d) / (m * (m - len(d))) for m, _, d in parts])
    return prec / prec.sum()


def _variance(m: float, z: np.ndarray) -> float:
    k = len(z)
    if k < 2:
        return 0.0
    return m * m * (1 - k / m) * float(np.var(z, ddof=1)) / k


def _round_size(m: float, k: int, drawn_in: float, total_in: float) -> float:
    """The sample size round r's estimate of a share is worth: its d draws in the group the share
    is of (at least 1: a round that drew none still knows the remainder only from k draws), over
    the finite-population correction, times (the group's estimated size / the part of it the
    draws stand for)^2, since the labelled part is known exactly. A census is worth infinity."""
    if k >= m:
        return math.inf
    d = max(drawn_in, 1.0)
    unknown = m / k * d
    total = max(total_in - m / k * drawn_in + unknown, unknown)
    return d / (1 - k / m) * (total / unknown) ** 2


def _wilson(p: float, var: float, cap: float) -> tuple[float, float]:
    """95 % Wilson interval at the design's effective sample size p(1-p)/var (Korn & Graubard
    1998), at most `cap`, what the draws behind the estimate are worth (`_round_size`): a share of 0
    or 1, or a variance of 0, in a small sample still gets an interval as wide as its draws warrant;
    a census is exact."""
    n = cap if var <= 0 or not 0 < p < 1 else min(cap, p * (1 - p) / var)
    if math.isinf(n):
        return p, p
    z2 = Z95 * Z95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def population(selection: list[dict], records: list, relevant: dict[str, int]) -> Population:
    """The estimated number of relevant articles among the hits, with its interval."""
    rounds = _rounds(selection, records)
    y = {a: np.array([float(v)]) for a, v in relevant.items()}
    _, parts = _total(rounds, y, 1)
    labelled = sum(1 for r in selection if r["article_id"] in relevant)
    hits = records[0].hits if records else 0
    if not parts:
        return Population(hits, None, None, None, labelled, len(selection) - labelled, len(records))
    w = _weights(parts)
    est = float(sum(wi * t[0] for wi, (_, t, _) in zip(w, parts)))
    var = sum(wi * wi * _variance(m, np.array([relevant[a] for a in d], float)) for wi, (m, _, d) in zip(w, parts))
    # as a share of the hits (Wilson, so that a rare issue's interval is not symmetric around a small count)
    inverse_n = sum(wi * wi / _round_size(m, len(d), float(len(d)), float(hits)) for wi, (m, _, d) in zip(w, parts))
    low, high = _wilson(est / hits, var / hits ** 2, 1 / inverse_n if inverse_n else math.inf)
    return Population(hits, est, low * hits, high * hits, labelled, len(selection) - labelled, len(records))


def shares(selection: list[dict], records: list, relevant: dict[str, int], labels: dict[str, set[str]],
           values: list[str]) -> list[Share]:
    """Design-weighted shares of `values` among relevant articles. `relevant`: article -> 0/1 for
    every labelled selected article; `labels`: article -> the values it has on this dimension
    (a set: one value for single-choice dimensions, several for frames present), for relevant
    articles with a label on it."""
    rounds = _rounds(selection, records)
    dims = len(values) + 1
    y: dict[str, np.ndarray] = {}
    for a, rel in relevant.items():
        v = np.zeros(dims)
        if rel and a in labels:
            v[-1] = 1.0
            for j, val in enumerate(values):
                v[j] = float(val in labels[a])
        y[a] = v
    _, parts = _total(rounds, y, dims)
    in_selection = {r["article_id"] for r in selection}
    labelled_rel = [a for a, r in relevant.items() if r and a in labels and a in in_selection]
    n = len(labelled_rel)
    out = []
    w = _weights(parts) if parts else np.zeros(0)
    totals = sum((wi * t for wi, (_, t, _) in zip(w, parts)), np.zeros(dims))
    for j, val in enumerate(values):
        count = sum(1 for a in labelled_rel if val in labels[a])
        unweighted = count / n if n else None
        if not parts or totals[-1] <= 0:
            out.append(Share(val, None, None, None, unweighted, n, count))
            continue
        ratio = float(min(1.0, max(0.0, totals[j] / totals[-1])))
        var = 0.0
        inverse_n = 0.0  # the rounds' effective sizes, combined as their variances are
        for wi, (m, t, drawn) in zip(w, parts):
            z = np.array([y[a][j] - ratio * y[a][-1] for a in drawn])
            var += wi * wi * _variance(m, z)
            inverse_n += wi * wi / _round_size(m, len(drawn), sum(float(y[a][-1]) for a in drawn), t[-1])
        var /= totals[-1] ** 2
        low, high = _wilson(ratio, var, 1 / inverse_n if inverse_n else math.inf)
        out.append(Share(val, ratio, low, high, unweighted, n, count))
    return out


__all__ = ["Population", "Share", "population", "shares"]
