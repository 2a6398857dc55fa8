"""Stage 4e: suggestions for the next round, from the study's own gold labels (`framestance suggest`).

Contract. `train(articles, gold, answers, cb, ..., annotations, stances)` fits one model per
dimension of the codebook that can be suggested (each frame present or not, the primary frame,
tone, the stance toward each target; a codebook of yes/no questions: each question's answer, frames
following by its rules): TF-IDF of title and text (words) with a logistic regression
(scikit-learn) on the articles the gold finds relevant, learning from every annotator's vote there
(classes balanced by votes; without the annotations table, the gold label as one vote). Its quality
is measured before anything is suggested: out-of-fold predictions (folds of articles, stratified by
their majority), macro-F1 over the dimension's classes against each annotator's own label, with a
95 % interval (a bootstrap over articles, 1,000 resamples), beside the best constant predictor's
(always the same label: for a yes/no dimension, always yes or always no, whichever scores higher).
The bar is chance (a guess by the classes' shares, macro-F1 1/k: 0.5 for yes/no), which every
constant predictor falls below (2p/(1+p)/k), so that a model that learnt nothing but the shares,
which would beat a constant, is not suggested. A dimension is suggested only when the interval of
its difference to the bar (same resamples) lies above 0; in a questions codebook, a frame whose implied quality does brings the questions of
its rule along (the frame is what the study measures; its questions are how it is asked). Too
little gold (fewer than `min_gold` relevant articles) is refused, naming the minimum.

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
from typing import Any

import numpy as np
import pandas as pd

from .agreement import draw_articles
from .codebook import Codebook
from .errors import FramestanceError
from .relevance import document
from .schema import NOT_RELEVANT, UNRESOLVED

PARAMS: dict[str, Any] = {"ngram_range": (1, 1), "min_df": 2, "max_features": 200_000, "sublinear_tf": True, "C": 4.0, "folds": 5,
          "resamples": 1000}


class SuggestError(FramestanceError, ValueError):
    pass


@dataclass
class Dimension:
    """One thing a model suggests: `name` as in the metrics (frames:<id>, primary_frame, tone,
    stance:<target>, question:<id>), the classes (codebook ids; yes/no dimensions: no, yes), and
    per article the annotators' votes (class -> how many gave it)."""

    name: str
    classes: list[str]
    votes: dict[str, dict[str, int]] = field(default_factory=dict)

@dataclass
class Quality:
    n: int  # articles
    annotations: int  # their annotations, each a judgement the prediction is set against
    macro_f1: float
    ci95: list[float]
    baseline_label: str  # the best constant predictor: "always <label>"
    baseline_macro_f1: float
    baseline_ci95: list[float]
    bar_macro_f1: float  # what the model must beat: chance (1/k), above every constant predictor
    difference_ci95: list[float]  # model minus the bar
    suggested: bool
    via: list[str] = field(default_factory=list)  # a question: the frames whose rule brought it along

    def as_dict(self) -> dict:
        return {"n": self.n, "annotations": self.annotations, "macro_f1": self.macro_f1, "ci95": self.ci95,
                "baseline": {"label": self.baseline_label, "macro_f1": self.baseline_macro_f1, "ci95": self.baseline_ci95},
                "bar": {"label": "chance" if self.bar_macro_f1 > self.baseline_macro_f1 else self.baseline_label,
                        "macro_f1": self.bar_macro_f1},
                "difference_ci95": self.difference_ci95, "suggested": self.suggested,
                **({"suggested_for_frames": self.via} if self.via else {})}


@dataclass
class Suggester:
    version: str
    vectorizer: object
    models: dict[str, object]  # suggested dimensions only
    quality: dict[str, Quality]
    dimensions: dict[str, Dimension]
    codebook: str  # fingerprint
    fitted: dict[str, object] = field(default_factory=dict)  # every dimension's model, with every_model

    def metrics(self) -> dict:
        return {"model_version": self.version, "codebook": self.codebook, "params": _params(),
                "method": "TF-IDF (the words of title and text) + logistic regression on every "
                          "annotator's vote, classes balanced; quality: out-of-fold macro-F1 against each "
                          f"annotator's label, {PARAMS['folds']} folds of articles stratified by their majority, 95 % "
                          "bootstrap interval over articles; suggested when the interval of its difference to the bar "
                          "(chance, 1/k, above every constant predictor) lies above 0",
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


def dimensions(gold: pd.DataFrame, answers: pd.DataFrame | None, cb: Codebook,
               annotations: pd.DataFrame | None = None, stances: pd.DataFrame | None = None) -> list[Dimension]:
    """The dimensions with, per article the gold finds relevant, every annotator's vote: a
    questions codebook from `answers`; otherwise from `annotations` and `stances` (the annotators
    who found it relevant), or, without them, the gold label as one vote (its undecided labels
    left out)."""
    g = gold[gold["relevance"] != NOT_RELEVANT] if "relevance" in gold else gold
    g = g[g["relevance"] != UNRESOLVED] if "relevance" in g else g
    relevant = set(g["article_id"].astype(str))
    out = []
    if cb.questions:  # the answers decide the frames: suggest each answer
        ans = answers[(answers["status"] == "submitted") & answers["article_id"].astype(str).isin(relevant)] \
            if answers is not None else pd.DataFrame(columns=["article_id", "question", "answer"])
        counts = ans.groupby(["question", "article_id", "answer"]).size()
        for q in cb.question_ids():
            votes: dict[str, dict[str, int]] = {}
            if q in counts.index.get_level_values(0):
                for (a, v), c in counts.loc[q].items():
                    votes.setdefault(str(a), {})[str(v)] = int(c)
            out.append(Dimension(f"question:{q}", [cb.NO, cb.YES], votes))
        return out
    singles = [("primary_frame", "primary_frame", cb.frame_ids())] if cb.primary else []
    if cb.tone:
        singles.append(("tone", "tone", [t.id for t in cb.tone]))
    if annotations is not None:
        ann = annotations[(annotations["status"] == "submitted") & (annotations["relevance"] == "relevant")
                          & annotations["article_id"].astype(str).isin(relevant)]
        for f in cb.frame_ids():
            votes = {}
            for a, fs in zip(ann["article_id"], ann["frames"]):
                cls = cb.YES if fs is not None and f in set(fs) else cb.NO
                votes.setdefault(str(a), {}).setdefault(cls, 0)
                votes[str(a)][cls] += 1
            out.append(Dimension(f"frames:{f}", [cb.NO, cb.YES], votes))
        for name, col, classes in singles:
            out.append(Dimension(name, classes, _count(zip(ann["article_id"], ann[col]))))
        st = stances[stances["status"] == "submitted"] if stances is not None else None
        for t in cb.targets:
            rows = st[(st["target"] == t.id) & st["annotation_id"].isin(set(ann["annotation_id"]))] if st is not None \
                else pd.DataFrame(columns=["article_id", "value"])
            out.append(Dimension(f"stance:{t.id}", [v.id for v in cb.stance_values],
                                 _count(zip(rows["article_id"], rows["value"]))))
        return out
    for f in cb.frame_ids():
        out.append(Dimension(f"frames:{f}", [cb.NO, cb.YES],
                             {str(a): {cb.YES if f in set(fs) else cb.NO: 1}
                              for a, fs, un in zip(g["article_id"], g["frames"], g["frames_unresolved"]) if f not in set(un)}))
    singles += [(f"stance:{t.id}", f"stance_{t.id}", [v.id for v in cb.stance_values]) for t in cb.targets]
    for name, col, classes in singles:
        out.append(Dimension(name, classes, _count((a, v) for a, v in zip(g["article_id"], g[col]) if v != UNRESOLVED)))
    return out


def _count(pairs) -> dict[str, dict[str, int]]:
    votes: dict[str, dict[str, int]] = {}
    for a, v in pairs:
        if isinstance(v, str) and v:
            votes.setdefault(str(a), {}).setdefault(v, 0)
            votes[str(a)][v] += 1
    return votes


def _macro_f1(y: np.ndarray, pred: np.ndarray, k: int, weights: np.ndarray | None = None) -> np.ndarray:
    """Macro-F1 over the k classes (each class present in y or pred), for one or many weightings
    of the rows (`weights`: resamples x rows)."""
    w = np.ones((1, len(y))) if weights is None else np.atleast_2d(weights)
    scores = []
    for c in range(k):
        tp = w @ ((y == c) & (pred == c)).astype(float)
        fp = w @ ((y != c) & (pred == c)).astype(float)
        fn = w @ ((y == c) & (pred != c)).astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), np.nan)
        scores.append(f1)
    return np.nanmean(np.vstack(scores), axis=0)


def _quality(y: np.ndarray, pred: np.ndarray, classes: list[str], seed: int, groups: np.ndarray | None = None,
             counts: np.ndarray | None = None) -> Quality:
    """Macro-F1 of the predictions against the judgements `y` (row i: `counts[i]` annotators of
    article `groups[i]` gave class y[i]; default: one row per article) beside the best constant
    predictor's, with bootstrap intervals over articles (an article drawn brings all its
    judgements), and the interval of the model's difference to the bar (chance)."""
    k = len(classes)
    groups = np.arange(len(y)) if groups is None else groups
    counts = np.ones(len(y)) if counts is None else counts.astype(float)
    arts = int(groups.max()) + 1 if len(groups) else 0
    model = float(_macro_f1(y, pred, k, counts)[0])
    constants = [(c, float(_macro_f1(y, np.full(len(y), c), k, counts)[0])) for c in range(k) if (y == c).any()]
    best, base = max(constants, key=lambda x: (x[1], -x[0]))
    drawn = draw_articles(np.random.default_rng(seed), arts, np.empty((PARAMS["resamples"], arts)))
    W = drawn[:, groups] * counts
    m, b = _macro_f1(y, pred, k, W), _macro_f1(y, np.full(len(y), best), k, W)
    # a constant scores below chance on macro-F1 (2p/(1+p)/k < 1/k: always "no" at 30 % yes, 0.41), and a
    # model that learnt nothing but the classes' shares scores chance (a guess by the shares): the bar is
    # chance, so that a model with no information is never suggested; the best constant is reported beside it
    chance = 1 / len(np.unique(y))
    bar = max(base, chance)
    pct = lambda x: [round(float(np.nanpercentile(x, 2.5)), 4), round(float(np.nanpercentile(x, 97.5)), 4)]  # noqa: E731
    diff = pct(m - np.maximum(b, chance))
    return Quality(arts, int(counts.sum()), round(model, 4), pct(m), f"always {classes[best]}", round(base, 4), pct(b),
                   round(bar, 4), diff, diff[0] > 0)


def version_of(dims: list[Dimension], cb: Codebook, seed: int, texts: str = "") -> str:
    """The model version: the votes, the texts they were given on (`texts`: their digest), the
    parameters, the seed and the codebook."""
    data = json.dumps({"votes": {d.name: sorted((a, sorted(v.items())) for a, v in d.votes.items()) for d in dims},
                       "texts": texts, "params": _params(), "seed": seed, "codebook": cb.fingerprint()}, sort_keys=True)
    return "suggest-" + hashlib.sha256(data.encode()).hexdigest()[:12]


def _classifier(seed: int):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=PARAMS["C"], max_iter=2000, random_state=seed)


def _balanced(y: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Sample weights: each row's votes, classes balanced by their votes (sklearn's "balanced"
    counts rows, not votes)."""
    per_class = np.bincount(y, weights=counts)
    present = per_class > 0
    return counts * (counts.sum() / (present.sum() * np.where(present, per_class, 1)))[y]


def train(articles: pd.DataFrame, gold: pd.DataFrame, answers: pd.DataFrame | None, cb: Codebook,
          min_gold: int = 30, seed: int = 0, annotations: pd.DataFrame | None = None,
          stances: pd.DataFrame | None = None, every_model: bool = False) -> Suggester:
    """A model per dimension, its cross-validated quality, and which dimensions are suggested
    (`every_model`: also keep the models not suggested, in `fitted`, for a replay).

    Each model learns from every annotator's vote on the gold articles (an article two annotators
    split on is one yes and one no, not a coin toss of a majority), and is judged the same way:
    against each annotator's own label, which is what a suggestion is set against on the page."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.model_selection import StratifiedKFold

    dims = dimensions(gold, answers, cb, annotations, stances)
    n_gold = max((len(d.votes) for d in dims), default=0)
    if n_gold < min_gold:
        raise SuggestError(f"suggest needs gold labels on at least {min_gold} relevant articles (params.yaml "
                           f"suggest.min_gold); the gold has {n_gold}: annotate and aggregate more first")
    docs_of = {str(a): document(t, x) for a, t, x in zip(articles["article_id"], articles["title"], articles["text"])}
    ids = sorted({a for d in dims for a in d.votes if a in docs_of})
    vec = TfidfVectorizer(ngram_range=PARAMS["ngram_range"], min_df=PARAMS["min_df"],
                          max_features=PARAMS["max_features"], sublinear_tf=PARAMS["sublinear_tf"], dtype=np.float32)
    # one vocabulary from every gold article's text (no label goes into it), shared by the folds and models
    X_all = vec.fit_transform([docs_of[a] for a in ids])
    vec.vocabulary_ = {term: int(col) for term, col in vec.vocabulary_.items()}  # plain ints: skops stores them fast
    if hasattr(vec, "stop_words_"):
        vec.stop_words_ = set()
    row = {a: i for i, a in enumerate(ids)}
    models: dict[str, object] = {}
    fitted: dict[str, object] = {}
    quality: dict[str, Quality] = {}
    held_out: dict[str, dict[str, str]] = {}  # dimension -> article -> its out-of-fold class
    rows_of: dict[str, tuple[list[int], np.ndarray, np.ndarray]] = {}  # dimension -> its rows of X_all, classes, votes
    for d in dims:
        arts = [a for a in sorted(d.votes) if a in row and any(c in d.classes for c in d.votes[a])]
        if len(arts) < min_gold:
            continue
        # one row per (article, class some annotator gave it), weighted by its votes
        group, y, counts = (np.array(x) for x in zip(*[(i, d.classes.index(c), n) for i, a in enumerate(arts)
                                                       for c, n in sorted(d.votes[a].items()) if c in d.classes]))
        strata = _strata(_majority(arts, d), PARAMS["folds"])
        if len(np.unique(y)) < 2:
            continue  # one class only: nothing to learn, nothing suggested
        folds = int(min(PARAMS["folds"], np.bincount(strata).min() if strata.max() > 0 else len(arts)))
        oof_article = np.full(len(arts), -1)
        rows = [row[arts[i]] for i in group]
        if folds >= 2:  # folds of articles, stratified by their majority class; an article's votes stay together
            X = X_all[rows]
            for tr_a, te_a in StratifiedKFold(folds, shuffle=True, random_state=seed).split(np.zeros(len(arts)), strata):
                tr = np.isin(group, tr_a)
                if len(np.unique(y[tr])) < 2:
                    oof_article[te_a] = np.bincount(y[tr], weights=counts[tr]).argmax()
                    continue
                clf = _classifier(seed).fit(X[tr], y[tr], sample_weight=_balanced(y[tr], counts[tr]))
                oof_article[te_a] = clf.predict(X_all[[row[arts[i]] for i in te_a]])
        else:  # no fold can hold a class out: no estimate of quality
            oof_article[:] = np.bincount(y, weights=counts).argmax()
        quality[d.name] = _quality(y, oof_article[group], d.classes, seed, group, counts)
        held_out[d.name] = {a: d.classes[int(c)] for a, c in zip(arts, oof_article)}
        rows_of[d.name] = (rows, y, counts)
    if cb.questions:  # what the answers imply for each frame, by its rule, against each annotator's frame
        frames = frame_quality(held_out, answers, cb, seed)
        quality.update(frames)
        for f, _k, of in cb.rules:  # a frame that beats the bar brings the questions of its rule along
            fq = frames.get(f"frames:{f}")
            if fq is not None and fq.suggested and all(f"question:{x}" in rows_of for x in of):
                for x in of:
                    quality[f"question:{x}"].suggested = True
                    quality[f"question:{x}"].via.append(f)
            elif fq is not None:
                fq.suggested = False
    for name, (rows, y, counts) in rows_of.items():
        if quality[name].suggested or every_model:
            fitted[name] = _classifier(seed).fit(X_all[rows], y, sample_weight=_balanced(y, counts))
            if quality[name].suggested:
                models[name] = fitted[name]
    digest = hashlib.sha256()
    for a in ids:
        digest.update(f"{a}\0{docs_of[a]}\0".encode())
    return Suggester(version_of(dims, cb, seed, digest.hexdigest()), vec, models, quality, {d.name: d for d in dims},
                     cb.fingerprint(), fitted)


def _majority(arts: list[str], d: Dimension) -> np.ndarray:
    """Each article's most frequent class (a tie: the first in the dimension's class order), for
    stratifying the folds."""
    order = {c: i for i, c in enumerate(d.classes)}
    return np.array([min((-n, order[c]) for c, n in d.votes[a].items() if c in order)[1] for a in arts], dtype=int)


def _strata(majority: np.ndarray, folds: int) -> np.ndarray:
    """Strata for the folds: each majority class with at least `folds` articles is one, the rarer
    ones are pooled into one (a single article: into the largest), so that one article of a rare
    class does not leave a dimension without a cross-validation."""
    counts = np.bincount(majority)
    rare = counts[majority] < folds
    strata = np.where(rare, -1, majority)
    if rare.sum() == 1 and (~rare).any():  # a lone article cannot be a stratum of its own
        strata[rare] = np.bincount(majority[~rare]).argmax()
    return np.unique(strata, return_inverse=True)[1]


def own_frames(answers: pd.DataFrame, articles: set[str], cb: Codebook) -> dict[tuple[str, str], set[str]]:
    """(article, annotation) -> the frames that annotator's own answers give, by the rules."""
    ans = answers[(answers["status"] == "submitted") & answers["article_id"].astype(str).isin(articles)]
    yes = ans[ans["answer"] == cb.YES].groupby(["article_id", "annotation_id"])["question"].agg(set)
    out: dict[tuple[str, str], set[str]] = {(str(a), str(i)): set() for a, i in zip(ans["article_id"], ans["annotation_id"])}
    for (a, i), qs in yes.items():
        out[(str(a), str(i))] = set(cb.frames_of(qs))
    return out


def implied_frames(answers_of: Mapping[str, Mapping[str, str]], cb: Codebook, articles: list[str]) -> dict[str, dict[str, bool]]:
    """Per frame of a questions codebook: article -> whether the suggested answers (`answers_of`:
    question dimension -> article -> yes/no) imply it by its rule, for the articles where every
    question of the rule has a suggested answer."""
    out: dict[str, dict[str, bool]] = {}
    for frame, _k, of in cb.rules:
        out[frame] = {}
        for a in articles:
            if any(a not in answers_of.get(f"question:{q}", {}) for q in of):
                continue
            yes = {q for q in of if answers_of[f"question:{q}"][a] == cb.YES}
            out[frame][a] = frame in cb.frames_of(yes)
    return out


def frame_quality(held_out: Mapping[str, Mapping[str, str]], answers: pd.DataFrame | None, cb: Codebook,
                  seed: int) -> dict[str, Quality]:
    """Each frame's quality as the out-of-fold answers imply it, against the frame each
    annotator's own answers give; `suggested`: it beats the bar."""
    if answers is None:
        return {}
    arts = sorted({a for v in held_out.values() for a in v})
    own = own_frames(answers, set(arts), cb)
    out = {}
    for frame, implied in implied_frames(held_out, cb, arts).items():
        pairs = sorted(p for p in own if p[0] in implied)
        index = {a: i for i, a in enumerate(sorted({a for a, _ in pairs}))}
        y = np.array([int(frame in own[p]) for p in pairs], dtype=int)
        if len(index) < 2 or len(np.unique(y)) < 2:
            continue
        pred = np.array([int(implied[a]) for a, _ in pairs], dtype=int)
        out[f"frames:{frame}"] = _quality(y, pred, [cb.NO, cb.YES], seed, np.array([index[a] for a, _ in pairs]))
    return out


def predictions(s: Suggester, articles: pd.DataFrame, cb: Codebook) -> list[dict]:
    """Label Studio predictions (article_id, model_version, score, codebook, result, and the
    suggested `dimensions`: a frame left out of the frames control is a suggested "no" only when
    it is one of them), one per article; none when nothing is suggested."""
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
            # a column of predict_proba is a class the model saw, not a position in the codebook's list
            cls = d.classes[int(s.models[name].classes_[p[i].argmax()])]  # type: ignore[attr-defined]
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
                    "codebook": s.codebook, "dimensions": list(probs), "result": result})
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
