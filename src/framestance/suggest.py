"""Stage 4e: suggestions for the next round, from the study's own gold labels (`framestance suggest`).

Contract. `train(articles, gold, answers, cb, config)` fits one model per dimension of the codebook
that can be suggested (each frame present or not, the primary frame, tone, the stance toward each
target; a codebook of yes/no questions: each question's answer, frames following by its rules):
TF-IDF of title and text (words and word pairs) with a class-balanced logistic regression
(scikit-learn), on the relevant articles whose gold label on that dimension is decided. Its quality
is measured before anything is suggested: out-of-fold predictions of a stratified k-fold, macro-F1
over the dimension's classes with a 95 % interval (a bootstrap over articles, 1,000 resamples), beside
the better of the best constant predictor (always the same label: for a yes/no dimension, always
yes or always no, whichever scores higher) and chance (a guess by the classes' shares, macro-F1
1/k: 0.5 for yes/no; a constant scores below it, so a model that learnt nothing but the shares
would beat a constant), and the interval of the difference on the same resamples. A dimension
is suggested only when that difference's interval lies above 0. Too little gold (fewer than
`min_gold` relevant articles with a decided label) is refused, naming the minimum.

`predictions(models, articles, cb)` writes Label Studio predictions: one per article, the suggested
dimensions' labels as the labeling page's controls take them, a score (the mean probability of the
suggested labels), and `model_version`, derived from the training data, the parameters and the
codebook (the same gold gives the same version). Each prediction names the codebook's fingerprint,
so that push refuses one made for another codebook. Models are saved with skops, never pickle.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .codebook import Codebook
from .errors import FramestanceError
from .relevance import document
from .schema import NOT_RELEVANT, UNRESOLVED

PARAMS = {"ngram_range": (1, 2), "min_df": 2, "max_features": 200_000, "sublinear_tf": True, "C": 4.0, "folds": 5,
          "resamples": 1000}


class SuggestError(FramestanceError, ValueError):
    pass


@dataclass
class Dimension:
    """One thing a model suggests: `name` as in the metrics (frames:<id>, primary_frame, tone,
    stance:<target>, question:<id>), the classes (codebook ids; yes/no dimensions: no, yes)."""

    name: str
    classes: list[str]
    labels: dict[str, str] = field(default_factory=dict)  # article -> its gold class


@dataclass
class Quality:
    n: int
    macro_f1: float
    ci95: list[float]
    baseline_label: str
    baseline_macro_f1: float
    baseline_ci95: list[float]
    difference_ci95: list[float]
    suggested: bool

    def as_dict(self) -> dict:
        return {"n": self.n, "macro_f1": self.macro_f1, "ci95": self.ci95,
                "baseline": {"label": self.baseline_label, "macro_f1": self.baseline_macro_f1, "ci95": self.baseline_ci95},
                "difference_ci95": self.difference_ci95, "suggested": self.suggested}


@dataclass
class Suggester:
    version: str
    vectorizer: object
    models: dict[str, object]  # suggested dimensions only
    quality: dict[str, Quality]
    dimensions: dict[str, Dimension]
    codebook: str  # fingerprint

    def metrics(self) -> dict:
        return {"model_version": self.version, "codebook": self.codebook, "params": _params(),
                "method": "TF-IDF (words and word pairs of title and text) + class-balanced logistic regression; "
                          f"quality: out-of-fold macro-F1 of a stratified {PARAMS['folds']}-fold, 95 % bootstrap "
                          "interval over articles; suggested when the interval of its difference to the best constant "
                          "predictor lies above 0",
                "dimensions": {k: q.as_dict() for k, q in sorted(self.quality.items())}}

    def save(self, folder: Path) -> list[Path]:
        """Each suggested dimension's model and the shared vectorizer, with skops (never pickle),
        as the same bytes for the same model."""
        from .relevance import save_skops

        folder.mkdir(parents=True, exist_ok=True)
        out = []
        for name, obj in [("vectorizer", self.vectorizer), *sorted(self.models.items())]:
            path = folder / f"{name.replace(':', '-')}.skops"
            save_skops(obj, path)
            out.append(path)
        return out


def _params() -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in PARAMS.items()}


def dimensions(gold: pd.DataFrame, answers: pd.DataFrame | None, cb: Codebook) -> list[Dimension]:
    """The dimensions with their gold classes per relevant article (undecided ones left out)."""
    g = gold[gold["relevance"] != NOT_RELEVANT] if "relevance" in gold else gold
    g = g[g["relevance"] != UNRESOLVED] if "relevance" in g else g
    out = []
    if cb.questions:  # the answers decide the frames: suggest each answer, by the annotators' majority
        ans = answers[(answers["status"] == "submitted") & answers["article_id"].isin(set(g["article_id"]))] \
            if answers is not None else pd.DataFrame(columns=["article_id", "question", "answer"])
        share = ans.assign(yes=ans["answer"] == cb.YES).groupby(["question", "article_id"])["yes"].mean()
        for q in cb.question_ids():
            s = share.get(q, pd.Series(dtype=float))
            decided = s[s != 0.5]
            out.append(Dimension(f"question:{q}", [cb.NO, cb.YES],
                                 {str(a): cb.YES if v > 0.5 else cb.NO for a, v in decided.items()}))
        return out
    for f in cb.frame_ids():
        labels = {str(a): (cb.YES if f in set(fs) else cb.NO) for a, fs, un in zip(g["article_id"], g["frames"],
                                                                                   g["frames_unresolved"])
                  if f not in set(un)}
        out.append(Dimension(f"frames:{f}", [cb.NO, cb.YES], labels))
    singles = []
    if cb.primary:
        singles.append(("primary_frame", "primary_frame", cb.frame_ids()))
    if cb.tone:
        singles.append(("tone", "tone", [t.id for t in cb.tone]))
    singles += [(f"stance:{t.id}", f"stance_{t.id}", [v.id for v in cb.stance_values]) for t in cb.targets]
    for name, col, classes in singles:
        labels = {str(a): v for a, v in zip(g["article_id"], g[col]) if isinstance(v, str) and v != UNRESOLVED}
        out.append(Dimension(name, classes, labels))
    return out


def _macro_f1(y: np.ndarray, pred: np.ndarray, k: int, weights: np.ndarray | None = None) -> np.ndarray:
    """Macro-F1 over the k classes (each class present in y or pred), for one or many weightings
    of the rows (`weights`: resamples x rows, how often each row was drawn)."""
    w = np.ones((1, len(y))) if weights is None else weights
    scores = []
    for c in range(k):
        tp = w @ ((y == c) & (pred == c)).astype(float)
        fp = w @ ((y != c) & (pred == c)).astype(float)
        fn = w @ ((y == c) & (pred != c)).astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), np.nan)
        scores.append(f1)
    return np.nanmean(np.vstack(scores), axis=0)


def _quality(y: np.ndarray, oof: np.ndarray, classes: list[str], seed: int) -> Quality:
    """Macro-F1 of the out-of-fold predictions against the bar (`baseline_label`: "always <label>"
    or "chance"), with bootstrap intervals over articles and of their difference."""
    k, n = len(classes), len(y)
    model = float(_macro_f1(y, oof, k)[0])
    constants = [(c, float(_macro_f1(y, np.full(n, c), k)[0])) for c in range(k) if (y == c).any()]
    best, base = max(constants, key=lambda x: (x[1], -x[0]))
    rng = np.random.default_rng(seed)
    W = np.stack([np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(int(PARAMS["resamples"]))]).astype(float)  # type: ignore[call-overload]
    m, b = _macro_f1(y, oof, k, W), _macro_f1(y, np.full(n, best), k, W)
    # a constant scores below chance on macro-F1 (always "no" at 30 % yes: 0.41), and a model that learnt
    # nothing but the classes' shares scores chance (a guess by the shares: macro-F1 1/k, 0.5 for yes/no):
    # the bar is whichever is higher, so that a model with no information is never suggested
    chance = 1 / len(np.unique(y))
    bar = f"always {classes[best]}" if base >= chance else "chance"
    base, b = max(base, chance), np.maximum(b, chance)
    pct = lambda x: [round(float(np.nanpercentile(x, 2.5)), 4), round(float(np.nanpercentile(x, 97.5)), 4)]  # noqa: E731
    diff = pct(m - b)
    return Quality(n, round(model, 4), pct(m), bar, round(base, 4), pct(b), diff, diff[0] > 0)


def version_of(dims: list[Dimension], cb: Codebook, seed: int) -> str:
    data = json.dumps({"labels": {d.name: sorted(d.labels.items()) for d in dims}, "params": _params(), "seed": seed,
                       "codebook": cb.fingerprint()}, sort_keys=True)
    return "suggest-" + hashlib.sha256(data.encode()).hexdigest()[:12]


def train(articles: pd.DataFrame, gold: pd.DataFrame, answers: pd.DataFrame | None, cb: Codebook,
          min_gold: int = 30, seed: int = 0) -> Suggester:
    """A model per dimension, its cross-validated quality, and which dimensions are suggested."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    dims = dimensions(gold, answers, cb)
    n_gold = max((len(d.labels) for d in dims), default=0)
    if n_gold < min_gold:
        raise SuggestError(f"suggest needs gold labels on at least {min_gold} relevant articles (params.yaml "
                           f"suggest.min_gold); the gold has {n_gold}: annotate and aggregate more first")
    docs_of = {str(a): document(t, x) for a, t, x in zip(articles["article_id"], articles["title"], articles["text"])}
    ids = sorted({a for d in dims for a in d.labels if a in docs_of})
    vec = TfidfVectorizer(ngram_range=PARAMS["ngram_range"], min_df=PARAMS["min_df"],
                          max_features=PARAMS["max_features"], sublinear_tf=PARAMS["sublinear_tf"], dtype=np.float32)
    # one vocabulary from every gold article's text (no label goes into it), shared by the folds and models
    X_all = vec.fit_transform([docs_of[a] for a in ids])
    vec.vocabulary_ = {term: int(col) for term, col in vec.vocabulary_.items()}  # plain ints: skops stores them fast
    if hasattr(vec, "stop_words_"):
        vec.stop_words_ = set()
    row = {a: i for i, a in enumerate(ids)}
    models: dict[str, object] = {}
    quality: dict[str, Quality] = {}
    held_out: dict[str, dict[str, str]] = {}  # dimension -> article -> its out-of-fold class
    for d in dims:
        arts = [a for a in sorted(d.labels) if a in row]
        y = np.array([d.classes.index(d.labels[a]) if d.labels[a] in d.classes else -1 for a in arts])
        arts = [a for a, v in zip(arts, y) if v >= 0]
        y = y[y >= 0]
        counts = np.bincount(y, minlength=len(d.classes))
        present = counts[counts > 0]
        if len(present) < 2 or len(y) < min_gold:
            continue  # one class only, or too few: nothing to learn, nothing suggested
        X = X_all[[row[a] for a in arts]]
        folds = int(min(PARAMS["folds"], present.min()))
        oof = np.full(len(y), -1)
        if folds >= 2:
            for tr, te in StratifiedKFold(folds, shuffle=True, random_state=seed).split(X, y):
                if len(np.unique(y[tr])) < 2:
                    oof[te] = np.bincount(y[tr]).argmax()
                    continue
                clf = LogisticRegression(C=PARAMS["C"], class_weight="balanced", max_iter=2000, random_state=seed)
                oof[te] = clf.fit(X[tr], y[tr]).predict(X[te])
        else:  # a class with a single example: no fold can hold it out, so no estimate of quality
            oof[:] = np.bincount(y).argmax()
        quality[d.name] = q = _quality(y, oof, d.classes, seed)
        held_out[d.name] = {a: d.classes[int(c)] for a, c in zip(arts, oof)}
        if q.suggested:
            clf = LogisticRegression(C=PARAMS["C"], class_weight="balanced", max_iter=2000, random_state=seed)
            models[d.name] = clf.fit(X, y)
    if cb.questions:  # what the answers imply for each frame, by its rule, against the gold frames
        quality.update(frame_quality(held_out, gold, cb, seed, set(models)))
    return Suggester(version_of(dims, cb, seed), vec, models, quality, {d.name: d for d in dims}, cb.fingerprint())


def implied_frames(answers_of: Mapping[str, Mapping[str, str]], gold: pd.DataFrame, cb: Codebook
                   ) -> dict[str, tuple[list[str], np.ndarray, np.ndarray]]:
    """Per frame of a questions codebook: (articles, gold present 0/1, implied present 0/1), the
    implied frame being its rule applied to the suggested answers (`answers_of`: question dimension
    -> article -> yes/no), over the relevant articles whose gold frame is decided and whose rule's
    questions all have a suggested answer."""
    g = gold[gold["relevance"] == "relevant"] if "relevance" in gold else gold
    out = {}
    for frame, _k, of in cb.rules:
        arts, truth, implied = [], [], []
        for a, fs, un in zip(g["article_id"], g["frames"], g["frames_unresolved"]):
            if frame in set(un) or any(str(a) not in answers_of.get(f"question:{q}", {}) for q in of):
                continue
            yes = {q for q in of if answers_of[f"question:{q}"][str(a)] == cb.YES}
            arts.append(str(a))
            truth.append(int(frame in set(fs)))
            implied.append(int(frame in cb.frames_of(yes)))
        out[frame] = (arts, np.array(truth, int), np.array(implied, int))
    return out


def frame_quality(held_out: Mapping[str, Mapping[str, str]], gold: pd.DataFrame, cb: Codebook, seed: int,
                  suggested: set[str]) -> dict[str, Quality]:
    """Each frame's quality as the out-of-fold answers imply it; suggested when it beats the best
    constant predictor and every question of its rule is suggested."""
    out = {}
    for frame, (arts, y, pred) in implied_frames(held_out, gold, cb).items():
        if len(arts) < 2 or len(np.unique(y)) < 2:
            continue
        q = _quality(y, pred, [cb.NO, cb.YES], seed)
        rule = next(of for f, _k, of in cb.rules if f == frame)
        q.suggested = q.suggested and all(f"question:{x}" in suggested for x in rule)
        out[f"frames:{frame}"] = q
    return out


def predictions(s: Suggester, articles: pd.DataFrame, cb: Codebook) -> list[dict]:
    """Label Studio predictions (article_id, model_version, score, codebook, result), one per
    article, for the suggested dimensions; none when nothing is suggested."""
    if not s.models or articles.empty:
        return []
    docs = [document(t, x) for t, x in zip(articles["title"], articles["text"])]
    X = s.vectorizer.transform(docs)  # type: ignore[attr-defined]
    names = {f.id: f.name for f in cb.frames}
    tones = {t.id: t.name for t in cb.tone}
    values = {v.id: v.name for v in cb.stance_values}
    probs = {k: m.predict_proba(X) for k, m in sorted(s.models.items())}  # type: ignore[attr-defined]
    out = []
    for i, aid in enumerate(articles["article_id"]):
        result, scores = [], []
        frames = []
        for name, p in probs.items():
            d = s.dimensions[name]
            cls = d.classes[int(p[i].argmax())]
            scores.append(float(p[i].max()))
            kind, _, key = name.partition(":")
            if kind == "question":
                result.append(_choice(cb.question_control(key), cls.capitalize()))
            elif kind == "frames":
                if cls == cb.YES:
                    frames.append(names[key])
            elif kind == "primary_frame":
                result.append(_choice(cb.PRIMARY, names[cls]))
            elif kind == "tone":
                result.append(_choice(cb.TONE, tones[cls]))
            elif kind == "stance":
                result.append(_choice(cb.stance_control(key), values[cls]))
        if any(n.startswith("frames:") for n in probs):
            result.append({"from_name": cb.FRAMES, "to_name": "text", "type": "choices", "value": {"choices": frames}})
        out.append({"article_id": str(aid), "model_version": s.version, "score": round(float(np.mean(scores)), 4),
                    "codebook": s.codebook, "result": result})
    return out


def _choice(control: str, value: str) -> dict:
    return {"from_name": control, "to_name": "text", "type": "choices", "value": {"choices": [value]}}


def write(s: Suggester, preds: list[dict], metrics_path: Path, predictions_path: Path, models_dir: Path) -> dict[str, Path]:
    """metrics/suggest.json, the predictions (JSONL, one line per article, sorted) and the models."""
    from .io import atomic_write

    lines = "".join(json.dumps(p, sort_keys=True, ensure_ascii=False) + "\n" for p in sorted(preds, key=lambda p: p["article_id"]))
    return {
        "metrics": atomic_write(metrics_path, (json.dumps(s.metrics(), indent=2, sort_keys=True) + "\n").encode()),
        "predictions": atomic_write(predictions_path, lines.encode()),
        **{f"model {p.stem}": p for p in s.save(models_dir)},
    }


def unlabelled(articles: pd.DataFrame, gold: pd.DataFrame, cb: Codebook) -> pd.DataFrame:
    """The corpus articles without gold labels yet (not gold questions, not duplicates)."""
    done = set(gold["article_id"]) | set(cb.gold)
    keep = ~articles["article_id"].isin(done)
    if "duplicate_of" in articles:
        keep &= articles["duplicate_of"].isna()
    return articles[keep].sort_values("article_id", kind="stable").reset_index(drop=True)


__all__ = ["SuggestError", "Suggester", "predictions", "train", "unlabelled", "write"]
