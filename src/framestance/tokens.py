"""Word tokens of article texts, for span agreement and span consolidation, without Python loops.

A token is a run of non-space characters, as `re.finditer(r"\\S+", text)` gives them (space is
`str.isspace`; offsets are code points, as Label Studio's span offsets are). Texts are scanned
as one array of code points per chunk of about `chunk_chars`, so memory stays flat in corpus size.
"""

from __future__ import annotations

from collections.abc import Container, Iterator, Sequence

import numpy as np
import pandas as pd

_SPACE = np.array([chr(i).isspace() for i in range(0x3001)])  # no character above U+3000 is a space


def _chunks(texts: Sequence[str], which: np.ndarray, chunk_chars: int) -> Iterator[tuple[np.ndarray, ...]]:
    """Per chunk of texts: the rows of `which` in it, each row's text offset in the chunk, and the
    positions in the chunk where tokens start and where they end (sorted)."""
    lengths = np.fromiter(map(len, texts), np.int64, len(texts))
    begin = np.concatenate([[0], np.cumsum(lengths + 1)])  # + 1: a space after each text
    by_text = np.argsort(which, kind="stable")
    sorted_which = which[by_text]
    first = 0
    while first < len(texts):
        last = min(len(texts), max(first + 1, int(np.searchsorted(begin, begin[first] + chunk_chars, "right")) - 1))
        rows = by_text[np.searchsorted(sorted_which, first):np.searchsorted(sorted_which, last)]
        if len(rows):
            joined = " ".join(texts[first:last]) + " "
            if joined.isascii():  # a byte per character: a quarter of the memory traffic
                space = _SPACE[:128][np.frombuffer(joined.encode("ascii"), np.uint8)]
            else:
                code = np.frombuffer(joined.encode("utf-32-le"), np.uint32)
                space = _SPACE[np.minimum(code, 0x3000)] & (code <= 0x3000)
            word = ~space
            starts = word.copy()
            starts[1:] &= space[:-1]
            ends = np.zeros_like(space)  # position p ends a token when p - 1 is a word character and p a space
            ends[1:] = word[:-1] & space[1:]
            yield rows, begin[which[rows]] - begin[first], np.flatnonzero(starts), np.flatnonzero(ends)
        first = last


def token_ranges(texts: Sequence[str], which: np.ndarray, start: np.ndarray, end: np.ndarray,
                 chunk_chars: int = 1 << 24) -> tuple[np.ndarray, np.ndarray]:
    """The tokens each character range [start, end) of texts[which] overlaps, as token indices
    [lo, hi): lo counts the tokens ending at or before `start`, hi those starting before `end`."""
    which = np.asarray(which, np.int64)
    lo, hi = np.zeros(len(which), np.int64), np.zeros(len(which), np.int64)
    lengths = np.fromiter(map(len, texts), np.int64, len(texts))
    a = np.clip(start, 0, lengths[which]) if len(which) else start
    b = np.clip(end, 0, lengths[which]) if len(which) else end
    for rows, base, start_at, end_at in _chunks(texts, which, chunk_chars):
        lo[rows] = np.searchsorted(end_at, base + a[rows], "right") - np.searchsorted(end_at, base, "right")
        hi[rows] = np.searchsorted(start_at, base + b[rows]) - np.searchsorted(start_at, base)
    return lo, hi


def word_batches(article: np.ndarray, width: np.ndarray, words: int = 1 << 20) -> Iterator[np.ndarray]:
    """Positions of rows sorted by article, in slices of whole articles of about `words` words
    (`width`: each row's words), so that expanding spans word by word keeps memory flat."""
    ends = np.cumsum(width)
    start = 0
    while start < len(article):
        stop = max(start + 1, int(np.searchsorted(ends, ends[start] - width[start] + words, "right")))
        stop = int(np.searchsorted(article, article[stop - 1], "right"))  # never split an article
        yield np.arange(start, stop)
        start = stop


def token_offsets(texts: Sequence[str], which: np.ndarray, first: np.ndarray, last: np.ndarray,
                  chunk_chars: int = 1 << 24) -> tuple[np.ndarray, np.ndarray]:
    """Character offsets [start, end) from the start of token `first` to the end of token `last`
    (indices within texts[which]; both must exist)."""
    which = np.asarray(which, np.int64)
    start, end = np.zeros(len(which), np.int64), np.zeros(len(which), np.int64)
    for rows, base, start_at, end_at in _chunks(texts, which, chunk_chars):
        before = np.searchsorted(start_at, base)  # tokens of earlier texts in the chunk
        start[rows] = start_at[before + first[rows]] - base
        end[rows] = end_at[before + last[rows]] - base
    return start, end


def ids_in(ids: pd.Series, keys: Container[str]) -> np.ndarray:
    """Which rows' ids are in `keys` (a dict of texts, a set): one lookup per distinct id, where
    pandas' `isin` on string columns tests row by row."""
    codes, uniques = pd.factorize(ids)
    uniques = np.asarray(uniques, dtype=object)  # iterating an Arrow-backed array costs a microsecond per value
    known = np.append(np.fromiter((u in keys for u in uniques), bool, len(uniques)), False)
    return known[codes]  # code -1 (a null id) picks the trailing False
