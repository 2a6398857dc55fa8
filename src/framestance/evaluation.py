"""Extraction quality as the article-extraction benchmarks measure it.

The metric of the scrapinghub article-extraction-benchmark (also WCXB's): each text becomes a
multiset of 4-token shingles of `\\w+` tokens (a text of 1-3 tokens is one shingle); per page,
tp is the multiset intersection; precision is averaged over pages with a non-empty prediction,
recall over pages with a non-empty truth, and F1 is the harmonic mean of the two means. A seeded
bootstrap over pages gives the interval.
"""

from __future__ import annotations

import random
import re
import time
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from .io import sha256_bytes

if TYPE_CHECKING:
    from .normalise import Params

_TOKEN = re.compile(r"\w+")


def shingles(text: str | None) -> Counter:
    toks = _TOKEN.findall(text or "")
    if not toks:
        return Counter()
    if len(toks) < 4:
        return Counter([tuple(toks)])
    return Counter(tuple(toks[i : i + 4]) for i in range(len(toks) - 3))


@dataclass(frozen=True)
class PageScore:
    precision: float | None  # None: empty prediction
    recall: float | None  # None: empty truth


def page_score(truth: str | None, predicted: str | None) -> PageScore:
    t, p = shingles(truth), shingles(predicted)
    tp = sum((t & p).values())
    return PageScore(tp / sum(p.values()) if p else None, tp / sum(t.values()) if t else None)


@dataclass(frozen=True)
class Score:
    f1: float
    precision: float
    recall: float
    n: int
    f1_ci95: tuple[float, float]


def _f1(scores: list[PageScore]) -> tuple[float, float, float]:
    ps = [s.precision for s in scores if s.precision is not None]
    rs = [s.recall for s in scores if s.recall is not None]
    p = sum(ps) / len(ps) if ps else 0.0
    r = sum(rs) / len(rs) if rs else 0.0
    return (2 * p * r / (p + r) if p + r else 0.0), p, r


def score(pages: Iterable[PageScore], resamples: int = 1000, seed: int = 0) -> Score:
    """Macro precision/recall, F1 of the means, and a seeded bootstrap 95% interval of F1."""
    scores = list(pages)
    f1, p, r = _f1(scores)
    if not scores or resamples <= 0:  # no interval asked for (or nothing to resample)
        return Score(f1, p, r, len(scores), (float("nan"), float("nan")))
    rng = random.Random(seed)
    boot = sorted(_f1([scores[rng.randrange(len(scores))] for _ in scores])[0] for _ in range(resamples))
    lo, hi = boot[int(0.025 * (len(boot) - 1))], boot[int(0.975 * (len(boot) - 1))]
    return Score(f1, p, r, len(scores), (lo, hi))


def same_text(a: str | None, b: str | None) -> bool:
    """Titles compared up to case, punctuation and Unicode form."""
    norm = lambda s: " ".join(_TOKEN.findall(unicodedata.normalize("NFKC", s or "").casefold()))  # noqa: E731
    return bool(a) and norm(a) == norm(b)


def same_author(predicted: list[str], true: str | None) -> bool:
    """The first predicted author's words all occur in the true byline, or the other way round."""
    if not predicted or not true:
        return False
    t = set(_TOKEN.findall(unicodedata.normalize("NFKC", true).casefold()))
    p = set(_TOKEN.findall(unicodedata.normalize("NFKC", predicted[0]).casefold()))
    return bool(p) and (p <= t or t <= p)


def normalise_pages(pages: list[tuple[str, str, bytes]], retrieved_at: datetime,
                    params: Params | None = None) -> tuple[dict, dict, float]:
    """(page id, input kind, bytes) through the pure normaliser (decode, extractor, language,
    MinHash), in batches as `normalise` runs it, with `params` (core.Params; default: the
    defaults) -> (page id -> article rows, page id -> reject row, CPU seconds, start-up excluded)."""
    from .normalise import Params, normalise_batch
    from .normalise.readers import Raw
    from .normalise.readers import batches as raw_batches

    params = params or Params()
    batches = list(raw_batches(Raw(pid, sha256_bytes(data), 0, kind, data, retrieved_at) for pid, kind, data in pages))
    if batches:
        normalise_batch(batches[0].slice(0, 1), params)  # imports and models load once
    arts: dict[str, list[dict]] = {}
    rejs: dict[str, dict] = {}
    started = time.process_time()
    for b in batches:
        res = normalise_batch(b, params)
        for a in res.articles.to_pylist():
            arts.setdefault(a["source_path"], []).append(a)
        for r in res.rejects.to_pylist():
            rejs[r["source_path"]] = r
    return arts, rejs, time.process_time() - started


__all__ = ["PageScore", "Score", "page_score", "same_author", "same_text", "score", "normalise_pages", "shingles"]
