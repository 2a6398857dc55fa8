"""The relevance model in the loop: trained on the study's own relevance labels, never downloaded.

Contract: `train(texts, labels, seed)` fits TF-IDF (words and word pairs of title and text) with
a logistic regression (classes balanced; Platt-calibrated by 3-fold cross-validation where each
class has at least 6 labels) and returns a `RelevanceModel`, or raises `TooFewLabels` when the
labels cannot train one (fewer than `MIN_LABELS`, or fewer than `MIN_PER_CLASS` of a class):
`select` then falls back to the probability sample, with a warning. The "not about the issue"
verdicts are labels like any other, so the model also learns the pages that are not articles.
`save` writes the model with skops (never pickle); `version` names the training data and
parameters, so two rounds that trained on the same labels carry the same version.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import FramestanceError

MIN_LABELS = 10
MIN_PER_CLASS = 3
TEXT_CHARS = 6000  # of each article: the title and its beginning carry what the issue is
PARAMS = {"ngram_range": (1, 2), "min_df": 1, "max_features": 200_000, "sublinear_tf": True, "C": 4.0}


class TooFewLabels(FramestanceError, ValueError):
    """Not enough relevance labels (or only one class) to train a model on."""


def document(title: str | None, text: str | None) -> str:
    return f"{title or ''}\n{(text or '')[:TEXT_CHARS]}"


@dataclass
class RelevanceModel:
    pipeline: object
    version: str
    n_labels: int
    n_relevant: int
    calibrated: bool

    def scores(self, docs: list[str]) -> np.ndarray:
        """P(relevant) of each document."""
        if not docs:
            return np.zeros(0)
        return self.pipeline.predict_proba(docs)[:, 1]  # type: ignore[attr-defined]

    def save(self, path: Path) -> Path:
        return save_skops(self.pipeline, path)


def save_skops(obj: object, path: Path) -> Path:
    """OBJ written with skops (never pickle), the same object the same bytes."""
    import zipfile

    import skops.io as sio

    path.parent.mkdir(parents=True, exist_ok=True)
    raw = path.with_name(f".{path.name}.raw")
    tmp = path.with_name(f".{path.name}.tmp")
    sio.dump(obj, raw)
    # skops writes a zip with the time of writing and names its arrays by the objects' memory
    # addresses: rewritten with a fixed time and arrays numbered in the order schema.json names
    # them, the same model is the same bytes
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        schema = src.read("schema.json").decode()
        arrays = [n for n in src.namelist() if n != "schema.json"]
        order = sorted(arrays, key=lambda n: (schema.find(f'"{n}"'), n))
        renamed = {n: f"{i}{Path(n).suffix}" for i, n in enumerate(order)}
        for old_name, new_name in renamed.items():
            schema = schema.replace(f'"{old_name}"', f'"{new_name}"')
        ids: dict[str, str] = {}  # "__id__": memory addresses too, numbered in order of appearance
        schema = re.sub(r'"__id__": (\d+)', lambda m: f'"__id__": {ids.setdefault(m.group(1), str(len(ids)))}', schema)
        for name, data in [("schema.json", schema.encode()), *sorted((renamed[n], src.read(n)) for n in arrays)]:
            dst.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
    raw.unlink()
    tmp.replace(path)
    return path


def version_of(ids: list[str], labels: list[int], seed: int) -> str:
    data = json.dumps({"labels": sorted(zip(ids, labels)), "params": PARAMS, "seed": seed}, sort_keys=True, default=str)
    return "relevance-" + hashlib.sha256(data.encode()).hexdigest()[:12]


def check_labels(labels: list[int]) -> None:
    """TooFewLabels unless these labels can train a model."""
    pos = sum(1 for x in labels if x)
    neg = len(labels) - pos
    if len(labels) < MIN_LABELS or min(pos, neg) < MIN_PER_CLASS:
        raise TooFewLabels(f"{len(labels)} relevance labels ({pos} relevant, {neg} not): a model needs at least {MIN_LABELS}, "
                           f"and {MIN_PER_CLASS} of each")


def train(ids: list[str], docs: list[str], labels: list[int], seed: int = 0) -> RelevanceModel:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline

    check_labels(labels)
    y = np.asarray(labels, dtype=int)
    pos, neg = int(y.sum()), int(len(y) - y.sum())
    order = np.argsort(ids, kind="stable")  # the same labels in any order: the same model
    docs = [docs[i] for i in order]
    y = y[order]
    lr = LogisticRegression(C=PARAMS["C"], class_weight="balanced", max_iter=2000, random_state=seed)
    calibrated = min(pos, neg) >= 6
    clf = CalibratedClassifierCV(lr, method="sigmoid", cv=StratifiedKFold(3, shuffle=True, random_state=seed)) if calibrated else lr
    vec = TfidfVectorizer(ngram_range=PARAMS["ngram_range"], min_df=PARAMS["min_df"], max_features=PARAMS["max_features"],
                          sublinear_tf=PARAMS["sublinear_tf"], dtype=np.float32)
    pipeline = make_pipeline(vec, clf)
    pipeline.fit(docs, y)
    # plain ints: skops stores a numpy scalar as an array of its own (seconds for a large vocabulary)
    vec.vocabulary_ = {term: int(col) for term, col in vec.vocabulary_.items()}
    if hasattr(vec, "stop_words_"):
        vec.stop_words_ = set()
    return RelevanceModel(pipeline, version_of([ids[i] for i in order], y.tolist(), seed), len(y), pos, calibrated)


__all__ = ["MIN_LABELS", "MIN_PER_CLASS", "RelevanceModel", "TooFewLabels", "document", "train"]
