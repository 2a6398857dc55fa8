"""Design-weighted shares from a selected sample: what the population of query hits holds.

Contract. `shares(selection, records, relevant, labels, values)` estimates, for every label value,
its share among the *relevant* articles of the population (every hit of the study's query), with
a 95 % interval, beside the unweighted share among all labelled relevant articles;
`population(...)` estimates how many hits are relevant.

The estimate rests on the probability sample of `selection.py`: after the last round (threshold
t), the hits whose permanent random number is below t, a systematic sample in which every hit
had the inclusion probability t, whatever the relevance model chose around it. Over its n
labelled members, a share among relevant articles is a Hajek ratio R = sum(relevant and value) /
sum(relevant) (every member weighs 1/t, so the weights cancel), its variance that of simple
random sampling, linearised: (1 - t) n s_z^2 / (sum relevant)^2 with z = relevant * (value - R).
The interval is Wilson's at the effective sample size p(1-p)/variance (Korn & Graubard 1998), at
most the relevant members over (1 - f), f the labelled members' share of the hits, so that a small sample whose draws all agree still gets
an honest width, and a census (t = 1) is exact. The relevant count is H times the relevant share
of the members, with Wilson's interval at n / (1 - t).

Members not labelled yet (or whose gold relevance is unresolved) are left out (missing at
random within the sample); the report counts them.
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
    unweighted: float | None  # share among every labelled relevant selected article
    n: int  # relevant members of the probability sample with a label on this dimension
    count: int  # of them with this value


@dataclass
class Population:
    hits: int
    relevant: float | None  # estimated relevant articles among the hits
    relevant_low: float | None
    relevant_high: float | None
    sample: int  # members of the probability sample
    labelled: int  # of them with a relevance label
    inclusion_probability: float  # t: every hit's probability of being a member


def members(selection: list[dict], records: list) -> tuple[list[str], float]:
    """The probability sample after the last round, and its inclusion probability t."""
    t = records[-1].threshold if records else 0.0
    return sorted(r["article_id"] for r in selection if r["key"] < t), t


def wilson(p: float, n: float) -> tuple[float, float]:
    """95 % Wilson interval of a share p at (effective) sample size n; infinite n: exact."""
    if math.isinf(n):
        return p, p
    if n <= 0:
        return 0.0, 1.0
    z2 = Z95 * Z95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _fpc_size(n: float, t: float) -> float:
    return math.inf if t >= 1.0 else n / (1 - t)


def population(selection: list[dict], records: list, relevant: dict[str, int]) -> Population:
    """The estimated number of relevant articles among the hits, with its interval."""
    sample, t = members(selection, records)
    hits = records[0].hits if records else 0
    known = [relevant[a] for a in sample if a in relevant]
    if not known:
        return Population(hits, None, None, None, len(sample), 0, t)
    p = sum(known) / len(known)
    low, high = wilson(p, _fpc_size(len(known), len(known) / hits if hits else 1.0))
    return Population(hits, p * hits, low * hits, high * hits, len(sample), len(known), t)


def shares(selection: list[dict], records: list, relevant: dict[str, int], labels: dict[str, set[str]],
           values: list[str]) -> list[Share]:
    """Shares of `values` among relevant articles of the population. `relevant`: article -> 0/1 for
    the labelled selected articles; `labels`: article -> the values it has on this dimension (a
    set: one value for single-choice dimensions, several for frames present), for relevant
    articles with a label on it."""
    sample, t = members(selection, records)
    in_selection = {r["article_id"] for r in selection}
    every = [a for a, r in relevant.items() if r and a in labels and a in in_selection]
    known = [a for a in sample if a in relevant and (not relevant[a] or a in labels)]
    rel = np.array([float(relevant[a]) for a in known])
    hits = records[0].hits if records else 0
    f = len(known) / hits if hits else 1.0  # the labelled members are the sample (the rest missing at random)
    out = []
    for val in values:
        count_all = sum(1 for a in every if val in labels[a])
        unweighted = count_all / len(every) if every else None
        y = np.array([float(relevant[a] and val in labels[a]) for a in known])
        n_rel = int(rel.sum())
        count = int(y.sum())
        if n_rel == 0:
            out.append(Share(val, None, None, None, unweighted, 0, 0))
            continue
        ratio = count / n_rel
        z = y - ratio * rel
        n = len(known)
        var = (1 - f) * n * float(np.var(z, ddof=1)) / n_rel**2 if n > 1 and f < 1 else 0.0
        cap = _fpc_size(n_rel, f)
        size = cap if var <= 0 or not 0 < ratio < 1 else min(cap, ratio * (1 - ratio) / var)
        low, high = wilson(ratio, size)
        out.append(Share(val, ratio, low, high, unweighted, n_rel, count))
    return out


__all__ = ["Population", "Share", "members", "population", "shares", "wilson"]
