"""Body-line selection and page-type detection for plain-text page dumps (and HTML page type).

Inference needs only numpy and the standard library; weights live in `framestance/models/linemodel.json`
(gradient-boosted trees exported by `scripts/linemodel/train.py`).

    from framestance.normalise.linemodel import DumpModel
    m = DumpModel()                      # loads linemodel.json
    idx = m.select_body(lines)           # indices of body lines (lines = text.split("\\n"))
    paras = m.body_paragraphs(lines)     # the body, re-joined into paragraphs
    ok = m.is_article_dump(lines)        # page-type: article or not, from the dump alone
    ok = m.is_article_html(html, body_text=None, url=None)   # from raw HTML (+ extracted body, URL)
    t = m.page_threshold("html", 0.05)   # the article score that turns away 5% of real articles

Page type trades the articles it turns away against the other pages it keeps out; where to stand is
the user's `page_type_article_loss` (NormaliseConfig). The weights carry each page-type model's
out-of-fold scores on its training pages, so that share maps to a threshold (`page_threshold`),
and the share of non-articles that threshold turned away there is `other_rejection`.

Module-level shortcuts `select_body`, `is_article_dump`, `is_article_html` use a shared default model.
"""
from __future__ import annotations

import json
import math
import os
import re
import zlib
from collections import Counter
from importlib import resources

import numpy as np

from ..config import NormaliseConfig

ARTICLE_LOSS = NormaliseConfig.page_type_article_loss
MAX_ARTICLE_LOSS = 0.25  # beyond, a quarter of the articles go: more likely a percentage typed as a share
PAGE_KINDS = ("dump", "html")


def check_article_loss(value: float) -> float:
    """`page_type_article_loss` as given, or ValueError when it is not a share from 0 to 0.25."""
    if not 0.0 <= value <= MAX_ARTICLE_LOSS:  # NaN fails too
        raise ValueError(f"page_type_article_loss {value}: must be a share from 0 (no page-type check) to "
                         f"{MAX_ARTICLE_LOSS} (0.05 turns away 5 % of real articles)")
    return value

# Common function words (en, de, fr, es, it, nl, pt): a vocabulary, not text.
STOP = frozenset(["a", "about", "above", "after", "again", "against", "all", "also", "although", "am", "an", "and", "any", "are", "as", "at", "be", "because", "been", "before", "being", "below", "between", "both", "but", "by", "can", "could", "did", "do", "does", "doing", "down", "during", "each", "few", "for", "from", "further", "had", "has", "have", "having", "he", "her", "here", "hers", "him", "his", "how", "i", "if", "in", "into", "is", "it", "its", "itself", "just", "me", "more", "most", "my", "no", "nor", "not", "now", "of", "off", "on", "once", "only", "or", "other", "our", "ours", "out", "over", "own", "same", "she", "should", "so", "some", "such", "than", "that", "the", "their", "theirs", "them", "then", "there", "these", "they", "this", "those", "through", "to", "too", "under", "until", "up", "very", "was", "we", "were", "what", "when", "where", "which", "while", "who", "whom", "why", "will", "with", "would", "you", "your", "yours", "said", "says", "also", "however", "though", "may", "might", "must", "shall", "its", "it's", "i'm", "we're", "they're", "don't", "der", "die", "das", "und", "oder", "mit", "von", "zu", "den", "dem", "des", "ein", "eine", "einer", "eines", "einem", "ist", "sind", "war", "waren", "wird", "werden", "nicht", "auch", "sich", "auf", "für", "an", "bei", "nach", "aus", "wie", "als", "noch", "nur", "aber", "wenn", "dass", "im", "am", "vom", "zum", "zur", "es", "er", "sie", "wir", "ihr", "ich", "du", "man", "le", "la", "les", "de", "du", "des", "et", "ou", "un", "une", "est", "sont", "été", "être", "pour", "par", "avec", "dans", "sur", "au", "aux", "ce", "cette", "ces", "qui", "que", "quoi", "dont", "il", "elle", "ils", "elles", "nous", "vous", "je", "tu", "ne", "pas", "plus", "mais", "comme", "son", "sa", "ses", "leur", "leurs", "se", "y", "en", "el", "los", "las", "y", "o", "del", "al", "es", "son", "fue", "ser", "para", "por", "con", "sin", "sobre", "entre", "su", "sus", "que", "como", "pero", "más", "muy", "este", "esta", "estos", "estas", "lo", "le", "se", "no", "un", "una", "unos", "unas", "ha", "han", "il", "lo", "gli", "e", "di", "da", "con", "su", "per", "tra", "fra", "che", "non", "è", "sono", "era", "del", "della", "dei", "degli", "delle", "al", "alla", "ai", "agli", "nel", "nella", "het", "een", "en", "van", "de", "op", "te", "dat", "die", "dit", "is", "zijn", "was", "voor", "met", "niet", "aan", "ook", "als", "bij", "of", "maar", "om", "er", "door", "naar", "o", "os", "as", "um", "uma", "do", "da", "dos", "das", "em", "no", "na", "nos", "nas", "para", "por", "com", "não", "que", "se", "ao", "à", "é", "são", "foi", "mais"])

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
_TERM_END = ".!?…"
_CLOSERS = "\"'”’»)]*"
_CONT_START = ",.;:)]’”»"
_SEPS = "|»›•·"
_FUNC_END = frozenset(["the", "a", "an", "of", "to", "in", "on", "at", "by", "for", "with", "from", "and", "or", "but", "as", "is", "are", "was", "were", "be", "been", "that", "which", "who", "whom", "whose", "where", "when", "while", "than", "then", "his", "her", "its", "their", "our", "my", "your", "this", "these", "those", "into", "about", "after", "before", "over", "under", "between", "against", "during", "without", "within", "including", "like", "per", "via", "not", "has", "have", "had", "will", "would", "could", "should", "can", "may", "might", "must", "so", "if", "because", "der", "die", "das", "und", "oder", "mit", "von", "zu", "den", "dem", "des", "ein", "eine", "le", "la", "les", "de", "du", "et", "ou", "un", "une", "el", "los", "las", "y", "en", "il", "di", "che", "het", "een", "van"])

HERE = os.path.dirname(os.path.abspath(__file__))


_PUNCT = str.maketrans({c: " " for c in ",.;:!?\"()[]{}“”‘’«»—–/|*"})
_CAP = re.compile(r"(?<!\S)[\"“‘(']?[A-ZÀ-ÖØ-ÞĀ-Ž]")
_DIGIT = re.compile(r"\d")
_SEP_RE = re.compile("[" + re.escape(_SEPS) + "]")
_URLISH = re.compile(r"https?:|www\.|@|©|copyright", re.I)
_stop_has = STOP.__contains__
_UPPER = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_STRIPW = ",.;:!?\"'()[]“”‘’«»"


def _line_feats(s: str):
    """Cheap per-line features of a stripped, non-empty line (ratios from its first 300 chars)."""
    nc = len(s)
    nw = s.count(" ") - s.count("  ") + 1
    h = s if nc <= 300 else s[:300]
    lw = h.lower().split()
    hw = len(lw)
    sw = sum(map(_stop_has, lw))
    last = s[-1]
    if last in _CLOSERS and nc > 1:
        last = s.rstrip(_CLOSERS)[-1:] or last
    term = 1.0 if last in _TERM_END else 0.0
    first = s[0]
    hb = h.encode()
    nb = len(hb)
    return (
        nw, nc, term, 1.0 if last == ":" else 0.0, 1.0 if last == "," else 0.0,
        1.0 if first.islower() else 0.0, 1.0 if first in _CONT_START else 0.0,
        sw / hw, sw * nw / hw, (nb - len(hb.translate(None, _UPPER))) / hw, (nb - len(hb.translate(None, b"0123456789"))) / nb,
        s.count(",") / nw, 1.0 if ("|" in s or "»" in s or "›" in s or "•" in s or "·" in s) else 0.0,
        1.0 if s.isupper() else 0.0, 1.0 if (not term and s.rsplit(None, 1)[-1].lower().strip(_STRIPW) in _FUNC_END) else 0.0,
        1.0 if ("http" in s or "www." in s or "@" in s or "©" in s) else 0.0,
        s.count("(") + s.count('"') + s.count("“"),
    )


BASE_NAMES = ["nw", "nc", "term", "colon", "comma_end", "lower_start", "punct_start", "sw_ratio", "sw", "caps",
              "digits", "commas", "seps", "allcaps", "func_end", "urlish", "quotes"]


def _window_mean(a: np.ndarray, w: int) -> np.ndarray:
    n = len(a)
    c = np.concatenate([[0.0], np.cumsum(a)])
    lo = np.clip(np.arange(n) - w, 0, n)
    hi = np.clip(np.arange(n) + w + 1, 0, n)
    return (c[hi] - c[lo]) / (hi - lo)


def _shift(a: np.ndarray, k: int, fill: float = 0.0) -> np.ndarray:
    out = np.full_like(a, fill)
    if k > 0:
        out[k:] = a[:-k]
    elif k < 0:
        out[:k] = a[-k:]
    else:
        out[:] = a
    return out


def featurize(lines: list[str]):
    """Returns (X, idx): a feature matrix for the non-blank lines and their indices in `lines`."""
    idx, rows, bb, keys = [], [], [], []
    cache: dict[str, tuple] = {}
    counts: dict[str, int] = {}
    prev_blank = 1.0
    for i, ln in enumerate(lines):
        k = ln.strip()
        if not k:
            prev_blank = 1.0
            continue
        idx.append(i)
        f = cache.get(k)
        if f is None:
            f = cache[k] = _line_feats(k)
            counts[k] = 1
        else:
            counts[k] += 1
        rows.append(f)
        bb.append(prev_blank)
        prev_blank = 0.0
        keys.append(k)
    n = len(rows)
    if n == 0:
        return np.zeros((0, len(FEATURE_NAMES))), []
    B = np.array(rows, dtype=np.float64)
    nw = B[:, 0]
    term = B[:, 2]
    swr = B[:, 7]
    X = np.empty((n, len(FEATURE_NAMES)))
    nb = B.shape[1]
    X[:, :nb] = B
    bb_arr = np.array(bb)
    X[:, nb] = bb_arr
    X[:-1, nb + 1] = bb_arr[1:]
    X[-1, nb + 1] = 1.0
    rep = np.log(np.array([counts[k] for k in keys], dtype=np.float64))
    X[:, nb + 2] = rep
    X[:, nb + 3] = np.arange(n) / max(n - 1, 1)
    lnw = np.log1p(nw)
    X[:, nb + 4] = lnw

    # paragraphs re-joined across inline breaks: join when the previous line is unfinished and the next
    # continues it (lower-case / punctuation start, or previous ends with a comma or a function word)
    join = np.zeros(n, dtype=bool)
    join[1:] = (bb[1:] == 0) & (term[:-1] == 0) & (
        (B[1:, 5] == 1) | (B[1:, 6] == 1) | (B[:-1, 4] == 1) | (B[:-1, 14] == 1)
        | ((nw[:-1] >= 9) & (B[:-1, 3] == 0)))
    pid = np.cumsum(~join) - 1
    npara = int(pid[-1]) + 1
    p_nw = np.bincount(pid, weights=nw, minlength=npara)
    p_sw = np.bincount(pid, weights=B[:, 8], minlength=npara)
    p_nl = np.bincount(pid, minlength=npara)
    p_last = np.zeros(npara)
    p_last[pid] = term  # last assignment wins -> the last line's terminal flag
    pnw = p_nw[pid]
    par_nw = np.log1p(pnw)
    X[:, nb + 5] = par_nw
    X[:, nb + 6] = p_sw[pid] / np.maximum(pnw, 1)
    X[:, nb + 7] = np.log(p_nl[pid])
    X[:, nb + 8] = p_last[pid]

    # mass of "long" text before / after this line (body tends to sit inside the dense region)
    long_w = np.where(pnw >= 25, nw, 0.0)
    cum = np.cumsum(long_w)
    tot = cum[-1]
    if tot:
        X[:, nb + 9] = (cum - long_w) / tot
        X[:, nb + 10] = (tot - cum) / tot
    else:
        X[:, nb + 9] = 0.0
        X[:, nb + 10] = 0.0
    page_max = math.log1p(p_nw.max())
    X[:, nb + 11] = par_nw - page_max
    X[:, nb + 12] = page_max
    X[:, nb + 13] = math.log1p(tot)
    X[:, nb + 14] = math.log(n)
    col = nb + 15
    P = np.zeros((n + 6, 2))
    P[3:n + 3, 0] = par_nw
    P[3:n + 3, 1] = swr
    for shift in (-3, -2, -1, 1, 2, 3):
        X[:, col:col + 2] = P[3 - shift:3 - shift + n]
        col += 2
    Q = np.zeros((n + 2, 3))
    Q[1:n + 1, 0] = lnw
    Q[1:n + 1, 1] = term
    Q[1:n + 1, 2] = rep
    for shift in (-1, 1):
        X[:, col:col + 3] = Q[1 - shift:1 - shift + n]
        col += 3
    M = np.zeros((n + 1, 4))
    M[1:, 0] = par_nw
    M[1:, 1] = swr
    M[1:, 2] = term
    M[1:, 3] = rep
    np.cumsum(M, axis=0, out=M)
    ar = np.arange(n)
    for w in (2, 5, 12):
        lo = np.maximum(ar - w, 0)
        hi = np.minimum(ar + w + 1, n)
        X[:, col:col + 4] = (M[hi] - M[lo]) / (hi - lo)[:, None]
        col += 4
    return X, idx


FEATURE_NAMES = (BASE_NAMES + ["blank_before", "blank_after", "rep", "pos", "lnw", "par_nw", "par_swr", "par_nl",
                               "par_term", "long_before", "long_after", "par_rel_max", "page_max", "page_long", "n_lines"]
                 + [f"{a}{k:+d}" for k in (-3, -2, -1, 1, 2, 3) for a in ("par_nw", "swr")]
                 + [f"{a}{k:+d}" for k in (-1, 1) for a in ("lnw", "term", "rep")]
                 + [f"{a}_w{w}" for w in (2, 5, 12) for a in ("par_nw", "swr", "term", "rep")])


def stage2_features(X: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Context of the first-stage probabilities (logits) around each line."""
    z = np.log(np.clip(p, 1e-4, 1 - 1e-4) / np.clip(1 - p, 1e-4, 1))
    cols = [X, z[:, None]]
    for k in (-3, -2, -1, 1, 2, 3):
        cols.append(_shift(z, k, -6.0)[:, None])
    for w in (2, 5, 10, 25):
        cols.append(_window_mean(p, w)[:, None])
    n = len(p)
    hi = (p > 0.5).astype(float)
    cum = np.cumsum(hi)
    tot = cum[-1] if n else 0
    cols.append(((cum - hi) / tot if tot else np.zeros(n))[:, None])
    cols.append(((tot - cum) / tot if tot else np.zeros(n))[:, None])
    return np.hstack(cols)


STAGE2_NAMES = FEATURE_NAMES + ["z"] + [f"z{k:+d}" for k in (-3, -2, -1, 1, 2, 3)] + [f"p_w{w}" for w in (2, 5, 10, 25)] + ["hi_before", "hi_after"]


class Forest:
    """Gradient-boosted trees exported from sklearn's HistGradientBoosting, evaluated with numpy."""

    def __init__(self, d: dict):
        self.base = float(d["base"])
        self.feat = np.array(d["feat"], dtype=np.int64)
        self.thr = np.array(d["thr"], dtype=np.float64)
        self.left = np.array(d["left"], dtype=np.int64)
        self.right = np.array(d["right"], dtype=np.int64)
        self.value = np.array(d["value"], dtype=np.float64)
        self.roots = np.array(d["roots"], dtype=np.int64)
        self.depth = int(d["depth"])
        leaf = self.left < 0
        # leaves point to themselves, so a fixed number of steps is safe
        ids = np.arange(len(self.feat))
        self.left = np.where(leaf, ids, self.left)
        self.right = np.where(leaf, ids, self.right)
        self.feat = np.where(leaf, 0, self.feat)
        self.thr = np.where(leaf, np.inf, self.thr)

    def decision(self, X: np.ndarray) -> np.ndarray:
        n = X.shape[0]
        if n == 0:
            return np.zeros(0)
        node = np.broadcast_to(self.roots, (n, len(self.roots))).copy()
        rows = np.arange(n)[:, None]
        for _ in range(self.depth):
            go_left = X[rows, self.feat[node]] <= self.thr[node]
            node = np.where(go_left, self.left[node], self.right[node])
        return self.base + self.value[node].sum(axis=1)

    def proba(self, X: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.decision(X)))


class Additive:
    """Sum of per-feature step functions (boosted single-feature trees).

    Evaluated with one searchsorted over all features: feature j's values are shifted into their own
    range (j * _BIG), so a single sorted array of shifted breakpoints serves every feature."""

    _BIG = 1e6
    _CLIP = 4e5

    def __init__(self, d: dict):
        self.base = float(d["base"])
        self.feat = np.array([int(f) for f in d["feat"]], dtype=np.int64)
        keys, vals = [], []
        for j, (b, v) in enumerate(zip(d["breaks"], d["values"])):
            keys.append(np.asarray(b, dtype=np.float64) + j * self._BIG)
            vals.append(np.asarray(v, dtype=np.float64))
        self.keys = np.concatenate(keys) if keys else np.zeros(0)
        self.vals = np.concatenate(vals) if vals else np.zeros(0)
        self.shift = np.arange(len(self.feat)) * self._BIG
        self.jj = np.arange(len(self.feat))

    def decision(self, X: np.ndarray) -> np.ndarray:
        if not len(self.feat):
            return np.full(X.shape[0], self.base)
        Z = np.clip(X[:, self.feat], -self._CLIP, self._CLIP)
        Z += self.shift
        g = np.searchsorted(self.keys, Z, side="left")
        g += self.jj
        return self.base + self.vals[g].sum(axis=1)

    def proba(self, X: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.decision(X)))


def make_model(d: dict):
    return Additive(d) if d.get("kind") == "gam" else Forest(d)


_PAGE_WORD = re.compile(r"[^\W\d_]{2,}")
SHORT_LINE_WORDS = 4


def page_words(lines: list[str], buckets: int) -> dict[int, int]:
    """Counts of a page's hashed words, those of short lines (menus, buttons, labels: what a shop,
    a forum or a documentation site is made of) apart from those of long lines."""
    short: list[str] = []
    long: list[str] = []
    for line in lines:
        n = len(line.split())
        if n:
            (short if n <= SHORT_LINE_WORDS else long).append(line)
    counts: dict[int, int] = {}
    for space, part in ((b"s:", short), (b"l:", long)):
        # one search over the lines joined (a word never spans two: the joint is a non-letter)
        for word, k in Counter(_PAGE_WORD.findall("\n".join(part).lower())).items():  # a hash per distinct word
            h = zlib.crc32(space + word.encode()) % buckets
            counts[h] = counts.get(h, 0) + k
    return counts


def page_words_vector(counts: dict[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(bucket ids, values): log counts scaled to unit length."""
    ids = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
    values = np.log1p(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))
    return ids, values / (np.sqrt(values @ values) + 1e-9)


class WordModel:
    """A linear model over a page's hashed words (logistic regression); its score is one feature
    of the dump page-type model."""

    def __init__(self, d: dict):
        self.buckets = int(d["buckets"])
        self.coef = np.array(d["coef"], dtype=np.float64)
        self.intercept = float(d["intercept"])

    def decision(self, lines: list[str]) -> float:
        return self.score(page_words(lines, self.buckets))

    def score(self, counts: dict[int, int]) -> float:
        """The decision for counts already hashed (page_words)."""
        ids, values = page_words_vector(counts)
        return self.intercept + float(self.coef[ids] @ values)


BODY_THRESHOLD = 0.4   # chosen on the out-of-fold probabilities (0.35-0.5 x gap 0/0.1 grid)
GAP_FILL = 0.1         # a line between two body lines joins them when its probability is >= this


def body_mask(p: np.ndarray, threshold: float = BODY_THRESHOLD, gap: float = GAP_FILL) -> np.ndarray:
    k = p >= threshold
    if gap and len(p) > 2:
        fill = np.zeros(len(p), dtype=bool)
        fill[1:-1] = k[:-2] & k[2:] & (p[1:-1] >= gap)
        k |= fill
    return k


class DumpModel:
    def __init__(self, path: str | None = None):
        if path is None:
            d = json.loads((resources.files("framestance") / "models" / "linemodel.json").read_text(encoding="utf-8"))
        else:
            with open(path, encoding="utf-8") as f:
                d = json.load(f)
        self.stage1 = make_model(d["stage1"])
        self.stage2 = make_model(d["stage2"]) if d.get("stage2") else None
        self.threshold = float(d.get("threshold", BODY_THRESHOLD))
        self.gap = float(d.get("gap_fill", GAP_FILL))
        self.page = make_model(d["page_dump"]) if d.get("page_dump") else None
        self.page_words = WordModel(d["page_dump_words"]) if d.get("page_dump_words") else None
        self.html = make_model(d["page_html"]) if d.get("page_html") else None
        # inner out-of-fold scores of the training pages, sorted: shares of articles -> thresholds
        self.article_scores: dict[str, np.ndarray] = {}
        self.other_scores: dict[str, np.ndarray] = {}
        for kind, names in zip(PAGE_KINDS, (DUMP_MODEL_NAMES, HTML_PAGE_NAMES)):
            if d.get(f"page_{kind}_features") not in (None, names):
                raise ValueError(f"{path or 'linemodel.json'}: its {kind} page-type model was trained on other "
                                 "features than linemodel.py computes (retrain: scripts/linemodel/README.md)")
            if d.get(f"page_{kind}") and not (d.get(f"page_{kind}_article_scores") and d.get(f"page_{kind}_other_scores")):
                raise ValueError(f"{path or 'linemodel.json'}: its {kind} page-type model has no out-of-fold scores "
                                 "to set its threshold from (retrain: scripts/linemodel/README.md)")
            self.article_scores[kind] = np.array(d.get(f"page_{kind}_article_scores") or [], dtype=np.float64)
            self.other_scores[kind] = np.array(d.get(f"page_{kind}_other_scores") or [], dtype=np.float64)
        self._thresholds: dict[tuple[str, float], float] = {}

    def page_threshold(self, kind: str, article_loss: float = ARTICLE_LOSS) -> float:
        """The article score below which a page is not an article (`kind`: dump or html), set so
        that `article_loss` of the training articles' out-of-fold scores fall below it (0: no page
        is turned away), as the trainer set the default (scripts/linemodel/cv_page.py)."""
        key = (kind, article_loss)
        if key not in self._thresholds:
            check_article_loss(article_loss)
            self._thresholds[key] = (-math.inf if article_loss == 0 else
                                     float(np.quantile(self.article_scores[kind], article_loss)))
        return self._thresholds[key]

    def not_an_article(self, kind: str, score: float, article_loss: float = ARTICLE_LOSS) -> str | None:
        """Why a page with this article score is not an article at `article_loss`, or None."""
        threshold = self.page_threshold(kind, article_loss)
        if score >= threshold:
            return None
        return (f"the page reads as another kind of page (article score {score:.2f} below the threshold "
                f"{threshold:.2f} at page_type_article_loss {article_loss:g})")

    def other_rejection(self, kind: str, article_loss: float = ARTICLE_LOSS) -> float:
        """The share of the training non-articles whose out-of-fold score falls below that threshold."""
        return float((self.other_scores[kind] < self.page_threshold(kind, article_loss)).mean())

    # ---- body
    def line_proba(self, lines: list[str]):
        X, idx = featurize(lines)
        if not idx:
            return np.zeros(0), idx, X
        p = self.stage1.proba(X)
        if self.stage2 is not None:
            p = self.stage2.proba(stage2_features(X, p))
        return p, idx, X

    def select_body(self, lines: list[str]) -> list[int]:
        p, idx, _ = self.line_proba(lines)
        return [i for i, k in zip(idx, body_mask(p, self.threshold, self.gap)) if k]

    def body_paragraphs(self, lines: list[str]) -> list[str]:
        """The selected lines re-joined into paragraphs (inline breaks glued back)."""
        keep = set(self.select_body(lines))
        paras, cur, prev = [], "", -2
        for i in sorted(keep):
            ln = lines[i].strip()
            glue = cur and i == prev + 1 and cur[-1:] not in _TERM_END and (
                ln[:1].islower() or ln[:1] in _CONT_START or len(cur.split()) >= 9 or cur.endswith(","))
            if glue:
                cur = cur + ("" if ln[:1] in _CONT_START else " ") + ln
            else:
                if cur:
                    paras.append(cur)
                cur = ln
            prev = i
        if cur:
            paras.append(cur)
        return paras

    def analyse(self, lines: list[str]) -> tuple[list[int], float]:
        """One pass: (body line indices, article score) for a dump."""
        p, idx, X = self.line_proba(lines)
        body = [i for i, k in zip(idx, body_mask(p, self.threshold, self.gap)) if k]
        return body, self._dump_score(lines, p, idx, X)

    def _dump_score(self, lines, p, idx, X) -> float:
        assert self.page is not None and self.page_words is not None, "the model file has no dump page-type model"
        f = np.append(page_features_dump(lines, p, idx, X), self.page_words.decision(lines))
        return float(self.page.proba(f[None, :])[0])

    # ---- page type
    def is_article_dump(self, lines: list[str], article_loss: float = ARTICLE_LOSS) -> bool:
        return self.article_score_dump(lines) >= self.page_threshold("dump", article_loss)

    def article_score_dump(self, lines: list[str]) -> float:
        return self._dump_score(lines, *self.line_proba(lines))

    def is_article_html(self, html: str, body_text: str | None = None, url: str | None = None,
                        article_loss: float = ARTICLE_LOSS) -> bool:
        return self.article_score_html(html, body_text, url) >= self.page_threshold("html", article_loss)

    def article_score_html(self, html: str, body_text: str | None = None, url: str | None = None) -> float:
        """The article score of a page; `url` where it is known (a WARC record), else the page's
        canonical or og:url link."""
        f = page_features_html(html, body_text, url)
        assert self.html is not None, "the model file has no HTML page-type model"
        return float(self.html.proba(f[None, :])[0])


# ------------------------------------------------------------------------------------------------
# page-type features

_PRICE = re.compile(r"(?:[$€£¥]\s?\d|\d(?:[.,]\d\d)?\s?(?:€|EUR|USD|GBP)\b)")
_CART = re.compile(r"\b(?:add to (?:cart|bag|basket)|buy now|in stock|out of stock|checkout|free shipping|sku|"
                   r"book now|get a quote|request a quote|contact us|schedule|pricing|sign up|free trial|"
                   r"reply|replies|posted by|joined|members?|thread|log in to reply|views)\b")
_DATEISH = re.compile(r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2}\b|\b\d{1,2}\s+"
                      r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b|\b20[12]\d-\d\d-\d\d\b|"
                      r"\b\d{1,2}/\d{1,2}/20[12]\d\b|\b(?:hours?|days?|minutes?) ago\b", re.I)
_BYLINE = re.compile(r"^(?:by|written by|author|posted by|von|par|por)\b", re.I)
_READTIME = re.compile(r"\b\d+\s*min(?:ute)?s?\s+read\b", re.I)

DUMP_PAGE_NAMES = ["n_lines", "page_words", "body_words", "body_frac", "n_body", "n_long_body", "max_par", "mean_p",
                   "frac_hi", "body_swr", "body_term", "body_span", "body_first", "price_n", "date_n",
                   "byline_n", "short_frac", "rep_frac", "digits_body", "q_body", "body_caps",
                   "n_runs", "top_run_frac"]


def page_features_dump(lines, p, idx, X) -> np.ndarray:
    n = len(idx)
    if n == 0:
        return np.zeros(len(DUMP_PAGE_NAMES))
    nw = X[:, 0]
    body = p >= 0.5
    bw = nw[body].sum()
    pw = nw.sum()
    text = "\n".join(lines)
    text = text[:20000]
    bpos = np.nonzero(body)[0]
    # contiguous runs of body lines
    runs = []
    if len(bpos):
        start = prev = bpos[0]
        for j in bpos[1:]:
            if j > prev + 3:
                runs.append(nw[start:prev + 1][body[start:prev + 1]].sum())
                start = j
            prev = j
        runs.append(nw[start:prev + 1][body[start:prev + 1]].sum())
    head = "\n".join(lines[: idx[min(n - 1, int(bpos[0]) if len(bpos) else n - 1)] + 1])[-3000:]
    f = [
        math.log(n), math.log1p(pw), math.log1p(bw), bw / pw if pw else 0.0, math.log1p(body.sum()),
        float(((nw >= 30) & body).sum()), float(X[:, FEATURE_NAMES.index("page_max")][0]), float(p.mean()),
        float((p > 0.9).mean()),
        float(X[body, 8].sum() / max(1.0, X[body, 0].sum())) if body.any() else 0.0,
        float(X[body, 2].mean()) if body.any() else 0.0,
        float((bpos[-1] - bpos[0] + 1) / n) if len(bpos) else 0.0,
        float(bpos[0] / n) if len(bpos) else 1.0,
        float(len(_PRICE.findall(text))), float(len(_DATEISH.findall(head))),
        float(sum(1 for ln in lines[:400] if _BYLINE.match(ln.strip()) and len(ln.split()) <= 8)),
        float((nw <= 3).mean()), float((X[:, FEATURE_NAMES.index("rep")] > 0).mean()),
        float(X[body, 10].mean()) if body.any() else 0.0,
        float(sum(lines[i].rstrip().endswith("?") for i in np.array(idx)[body])) if body.any() else 0.0,
        float(X[body, 9].mean()) if body.any() else 0.0,
        float(len(runs)), float(max(runs) / bw) if runs and bw else 0.0,
    ]
    body = "\n".join(lines[i] for i, q in zip(idx, p) if q >= 0.5)
    f += text_style(text) + text_style(body)
    return np.array(f, dtype=np.float64)


_LD_TYPE = re.compile(r'"@type"\s*:\s*(\[[^\]]*\]|"[^"]*")')
_OG_TYPE = re.compile(r'<meta[^>]+(?:property|name)=["\']og:type["\'][^>]*>', re.I)
_CONTENT = re.compile(r'content=["\']([^"\']*)["\']', re.I)
_ART_TYPES = ("newsarticle", "article", "blogposting", "reportagenewsarticle", "analysisnewsarticle",
              "opinionnewsarticle", "techarticle", "scholarlyarticle", "liveblogposting", "review", "socialmediaposting",
              "backgroundnewsarticle", "report")
_NON_TYPES = ("product", "offer", "collectionpage", "itemlist", "qapage", "faqpage", "discussionforumposting",
              "searchresultspage", "aggregateoffer", "service", "localbusiness", "organization", "softwareapplication",
              "event", "howto", "recipe", "course", "jobposting", "store", "place", "breadcrumblist", "webpage",
              "aboutpage", "contactpage", "profilepage", "website", "person", "question", "videoobject")
# matched on the lower-cased page (no IGNORECASE: twice as fast, the same matches)
_TAG = re.compile(r"<(p|a|li|article|h1|h2|h3|time|form|input|button|table|img|script|pre|code|nav|aside|section|iframe|select|textarea|dl|blockquote|figure)\b")
_DATE_META = ("published_time", "pubdate", "publish-date", '"date"', "dc.date")
_TAGS = ("p", "a", "li", "article", "h1", "h2", "h3", "time", "form", "input", "button", "table", "img", "script", "pre", "code",
         "nav", "aside", "section", "iframe", "select", "textarea", "dl", "blockquote", "figure")
_URL_TOKENS = ("blog", "news", "article", "post", "story", "opinion", "docs", "doc", "help", "support", "product", "products",
               "shop", "store", "category", "categories", "tag", "tags", "forum", "forums", "thread", "threads", "topic",
               "community", "collections", "collection", "services", "service", "pricing", "about", "contact", "p", "item",
               "questions", "discussion", "reference", "api", "guide", "learn", "index", "search", "list", "c", "t")
_PHONE = re.compile(r"\d{3}[ .-]\d{3,4}\b")
_TOKS = re.compile(r"[a-z][a-z']*")
_STYLE_SETS = [
    frozenset(["we", "our", "us", "we're", "we've", "ours"]),
    frozenset(["you", "your", "you're", "yours"]),
    frozenset(["i", "my", "i'm", "i've", "me"]),
    None,  # phones
    None,  # question marks
    frozenset(["read", "share", "related", "posted", "published", "updated", "reply", "comment", "comments", "subscribe", "newsletter", "author", "by"]),
    frozenset(["reply", "replies", "quote", "joined", "posts", "thread", "topic", "solved", "upvote", "votes", "vote", "answered", "asked", "member", "moderator", "views"]),
    frozenset(["parameters", "parameter", "returns", "return", "example", "syntax", "installation", "configuration", "api", "function", "method", "class", "version", "documentation", "next", "previous", "edit"]),
    frozenset(["cart", "basket", "price", "sale", "sold", "shipping", "delivery", "reviews", "review", "rating", "size", "color", "colour", "quantity", "qty", "sku", "wishlist", "compare", "filter", "results", "showing", "items", "item", "products", "product", "shop"]),
    frozenset(["services", "service", "contact", "call", "quote", "book", "appointment", "schedule", "consultation", "free", "pricing", "plans", "plan", "request", "clients", "client", "customers", "solutions", "team", "experience", "trusted"]),
]


def text_style(text: str, limit: int = 20000) -> list[float]:
    """Generic style counts of a text (its first `limit` chars), normalised by its word count."""
    text = text[:limit]
    toks = _TOKS.findall(text.lower())
    w = max(len(toks), 1)
    cnt = Counter(toks)
    out: list[float] = []
    for k, S in enumerate(_STYLE_SETS):
        if k == 3:
            out.append(math.log1p(len(_PHONE.findall(text))))
        elif k == 4:
            out.append(text.count("?") / w * 100)
        else:
            out.append(sum(cnt[x] for x in (S or ())) / w * (1 if k < 3 else 100))
    return out


STYLE_NAMES = ["we", "you", "i", "phones", "qmarks", "article_w", "forum_w", "doc_w", "shop_w", "service_w"]
DUMP_PAGE_NAMES = DUMP_PAGE_NAMES + ["page_" + x for x in STYLE_NAMES] + ["body_" + x for x in STYLE_NAMES]
DUMP_MODEL_NAMES = DUMP_PAGE_NAMES + ["page_words"]  # page_features_dump, then the WordModel's score
_STRIP = re.compile(r"<script\b.*?</script>|<style\b.*?</style>|<[^<>]+>", re.I | re.S)
# Structure read with regexes over the lower-cased page (a DOM walk cost ~30 ms a page): class
# names (cards, prices, posts, docs), text in links and in paragraphs, the URL's slug, the title.
_CLASS_TOKENS = ("product", "price", "cart", "card", "grid", "item", "post", "thread", "reply", "comment", "article",
                 "entry", "content", "byline", "author", "sidebar", "doc", "toc", "breadcrumb", "tile", "listing",
                 "result", "teaser", "faq", "pricing", "plan", "feature", "hero", "cta", "testimonial", "service",
                 "forum", "topic", "message", "user", "avatar", "sku", "variant", "rating", "review", "collection",
                 "filter", "pagination", "share", "related", "tag", "date", "time", "headline", "story", "blog", "news",
                 "caption")
_CLASS_VALUE = re.compile(r"class=[\"']([^\"']*)")
_CLASS_TOKEN = re.compile(r"(?<![a-z])(" + "|".join(sorted(_CLASS_TOKENS, key=len, reverse=True)) + ")")
_ANY_TAG = re.compile(r"<[^<>]+>")  # not <[^>]+>: quadratic on runs of "<" without ">"
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.S)
_H1 = re.compile(r"<h1\b[^>]*>(.*?)</h1>", re.S)
_TITLE_SITE = re.compile(r"\s+[|–—-]\s+|\s+::\s+")
_SAID = ("said", "says", "told", "according")
_OPEN_TAG = {tag: re.compile(rf"<{tag}[\s>/]") for tag in ("a", "p")}
_CLOSE_TAG = {tag: re.compile(rf"</{tag}[\s>]") for tag in ("a", "p")}
_SCAN_LIMIT = 3_000_000  # characters of a page the structure features read; larger pages get no stripped text


def _element_words(low: str, tag: str) -> list[int]:
    """Words in each <tag> element, up to its end tag or the next <tag> (</p> may be omitted):
    one pass over the page, where a lazy regex rescanned to the next end tag each time."""
    starts = [m.start() for m in _OPEN_TAG[tag].finditer(low)]
    out = []
    for k, start in enumerate(starts):
        stop = starts[k + 1] if k + 1 < len(starts) else len(low)
        inside = low.find(">", start, stop) + 1
        if not inside:
            continue  # the tag itself never ends before the next one
        end = _CLOSE_TAG[tag].search(low, inside, stop)
        out.append(len(_ANY_TAG.sub(" ", low[inside: end.start() if end else stop]).split()))
    return out


def _structure(low: str, text_words: int, url: str, body_text: str) -> list[float]:
    """The HTML page-type features from cls_product to para_end_dot (HTML_PAGE_NAMES)."""
    low = low[:_SCAN_LIMIT]
    classes = Counter(_CLASS_VALUE.findall(low))
    tokens: Counter = Counter()
    for value, n in classes.items():
        for t in set(_CLASS_TOKEN.findall(value)):
            tokens[t] += n
    f = [math.log1p(tokens[t]) for t in _CLASS_TOKENS]
    most = classes.most_common(1)
    f += [math.log1p(most[0][1] if most else 0), float(sum(1 for n in classes.values() if n >= 8))]
    link_words = sum(_element_words(low, "a"))
    para_words = _element_words(low, "p")
    f += [link_words / max(text_words, 1), math.log1p(sum(w >= 30 for w in para_words)),
          sum(w for w in para_words if w >= 10) / max(text_words, 1)]
    path = re.sub(r"^[a-z]+://[^/]*", "", url.lower()).split("?")[0].split("#")[0]
    segments = [x for x in path.split("/") if x]
    last = re.sub(r"\.(?:html?|php|aspx?)$", "", segments[-1] if segments else "")
    f += [float(sum(1 for w in re.split(r"[-_+]+", last) if w.isalpha())), 1.0 if re.search(r"\d{4,}", last) else 0.0,
          1.0 if "?" in url else 0.0, 1.0 if not segments else 0.0, 1.0 if url else 0.0]
    m = _TITLE.search(low)
    title = _ANY_TAG.sub(" ", m.group(1)).strip() if m else ""
    title = _TITLE_SITE.split(title)[0] if title else ""
    m = _H1.search(low)
    h1 = _ANY_TAG.sub(" ", m.group(1)) if m else ""
    slug = {w for w in re.split(r"[^a-z0-9]+", segments[-1] if segments else "") if w and not w.isdigit()}
    shown = set(re.findall(r"[a-z0-9]+", h1 or title))
    f += [float(len(title.split())), float(len(h1.split())), len(slug & shown) / len(slug) if slug else 0.0]
    words = re.findall(r"[a-z']+", body_text.lower())
    n = max(1, len(words))
    counts = Counter(words)
    paras = [x for x in body_text.split("\n") if x.strip()]
    f += [sum(counts[w] for w in _SAID) / n * 100, math.log1p(n / max(1, len(paras))),
          sum(x.rstrip().endswith((".", "!", "?", "\"", "”")) for x in paras) / max(1, len(paras))]
    return f

HTML_PAGE_NAMES = (["ld_" + t for t in _ART_TYPES[:4]] + ["ld_art_any"] + ["ld_" + t for t in _NON_TYPES]
                   + ["og_article", "og_product", "og_website", "og_other", "og_none"]
                   + ["tag_" + t for t in _TAGS]
                   + ["html_len", "text_len", "price_n", "cart_n", "datepub", "author_meta", "articlebody_prop",
                      "body_words", "body_paras", "body_long", "body_frac", "body_swr", "body_given", "url_date", "url_depth"]
                   + ["url_" + t for t in _URL_TOKENS] + ["page_" + x for x in STYLE_NAMES] + ["body_" + x for x in STYLE_NAMES]
                   + ["date_meta", "ld_author", "ld_datepub", "time_tag"]
                   + ["cls_" + t for t in _CLASS_TOKENS]
                   + ["class_rep_max", "class_rep_n", "link_density", "p_long", "p_words_frac", "slug_words", "slug_digits",
                      "url_query", "url_root", "url_known", "title_words", "h1_words", "slug_in_title", "said",
                      "para_mean", "para_end_dot"])


def page_features_html(html: str, body_text: str | None = None, url: str | None = None) -> np.ndarray:
    low = html.lower()
    types = []
    for ld in _LD_TYPE.finditer(low):
        v = ld.group(1)
        types += re.findall(r'"([^"]*)"', v)
    tset = set(t.strip() for t in types)
    f = [1.0 if t in tset else 0.0 for t in _ART_TYPES[:4]]
    f.append(1.0 if any(t in tset for t in _ART_TYPES) else 0.0)
    f += [1.0 if t in tset else 0.0 for t in _NON_TYPES]
    og = ""
    m = _OG_TYPE.search(html)
    if m:
        c = _CONTENT.search(m.group(0))
        og = (c.group(1).lower() if c else "")
    f += [1.0 if og == "article" else 0.0, 1.0 if "product" in og else 0.0, 1.0 if og == "website" else 0.0,
          1.0 if og and og not in ("article", "website") and "product" not in og else 0.0, 1.0 if not og else 0.0]
    counts: dict[str, int] = {}
    for t in _TAG.findall(low):
        counts[t] = counts.get(t, 0) + 1
    f += [math.log1p(counts.get(t, 0)) for t in _TAGS]
    text = _STRIP.sub(" ", html) if len(html) < _SCAN_LIMIT else ""
    tw = len(text.split())
    f += [math.log1p(len(html)), math.log1p(tw), float(len(_PRICE.findall(text))), float(len(_CART.findall(text))),
          1.0 if ("datepublished" in low or "article:published_time" in low) else 0.0,
          1.0 if ('name="author"' in low or "article:author" in low or '"author"' in low) else 0.0,
          1.0 if 'itemprop="articlebody"' in low else 0.0]
    if body_text:
        paras = [x for x in body_text.split("\n") if x.strip()]
        bw = len(body_text.split())
        alpha = _WORD.findall(body_text.lower())
        f += [math.log1p(bw), float(len(paras)), float(sum(len(x.split()) >= 30 for x in paras)), bw / max(tw, 1),
              sum(w in STOP for w in alpha) / max(len(alpha), 1), 1.0]
    else:
        f += [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    if not url:
        link = (re.search(r'<link[^>]+rel=["\']canonical["\'][^>]*>', html, re.I)
             or re.search(r'<meta[^>]+property=["\']og:url["\'][^>]*>', html, re.I))
        if link:
            h = re.search(r'(?:href|content)=["\']([^"\']*)["\']', link.group(0))
            url = h.group(1) if h else None
    url = url or ""
    f += [1.0 if re.search(r"/20[12]\d/|/20[12]\d[-/]\d\d", url) else 0.0,
          float(len([s for s in re.sub(r"^[a-z]+://[^/]*", "", url).split("/") if s]))]
    toks = set(re.split(r"[/?#._=&-]+", re.sub(r"^[a-z]+://[^/]*", "", url.lower())))
    f += [1.0 if t in toks else 0.0 for t in _URL_TOKENS]
    f += text_style(text) + text_style(body_text or "")
    f += [1.0 if any(marker in low for marker in _DATE_META) else 0.0,
          1.0 if '"author"' in low else 0.0, 1.0 if '"datepublished"' in low else 0.0,
          1.0 if "<time" in low and "datetime=" in low else 0.0]
    f += _structure(low, tw, url, body_text or "")
    return np.array(f, dtype=np.float64)


_DEFAULT = None


def default_model() -> DumpModel:
    return _default()


def _default() -> DumpModel:
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = DumpModel()
    return _DEFAULT


def select_body(lines: list[str]) -> list[int]:
    return _default().select_body(lines)


def is_article_dump(lines: list[str], article_loss: float = ARTICLE_LOSS) -> bool:
    return _default().is_article_dump(lines, article_loss)


def is_article_html(html: str, body_text: str | None = None, url: str | None = None,
                    article_loss: float = ARTICLE_LOSS) -> bool:
    return _default().is_article_html(html, body_text, url, article_loss)
