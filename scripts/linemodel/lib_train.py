"""Training-side helpers: datasets, sklearn fitting, tree / additive-model export (sklearn only needed here)."""
from __future__ import annotations

import os
from collections import Counter

import common
import numpy as np
from common import load_articles, load_non_articles, read_dump, read_non_article_dump, token_labels

from framestance.normalise import linemodel as dm
from framestance.normalise import text as text_module
from framestance.normalise.text import tidy

SHAPES = ("text", "text-lines")
LABEL_TH = 0.5

HGB_BODY = dict(max_iter=150, learning_rate=0.1, max_leaf_nodes=15, min_samples_leaf=40, l2_regularization=1.0,
                early_stopping=False, random_state=0)
GAM = dict(interaction_cst="no_interactions", max_iter=300, max_leaf_nodes=8)
S2_TREE = dict(max_iter=60, max_depth=4, max_leaf_nodes=12)


TEXT_MODULE = text_module.__file__  # how the word model's lines are tidied


def _cached(name: str, *code: str):
    """The cached pickle `name`, if it is newer than the feature code (linemodel.py and `code`); else None."""
    path = common.cache_path(name)
    if os.path.exists(path) and all(os.path.getmtime(path) > os.path.getmtime(f) for f in (dm.__file__, *code)):
        return common.load_pickle(name)
    return None


def body_dataset(shape: str):
    """List of per-page dicts: id, group, lines, X, idx, y (labels of non-blank lines), truth."""
    name = f"body-{shape}.pkl"
    out = _cached(name)
    if out is not None:
        return out
    out = []
    for a in load_articles():
        lines = read_dump(shape, a["id"]).split("\n")
        X, idx = dm.featurize(lines)
        lab = token_labels(lines, a["truth"])
        y = np.array([lab[i] >= LABEL_TH for i in idx], dtype=np.int8)
        out.append({"id": a["id"], "group": a["group"], "lines": lines, "X": X, "idx": idx, "y": y, "truth": a["truth"]})
    common.save_pickle(out, name)
    return out


def non_article_dumps():
    """Non-article `text/` dumps with their line features (no labels)."""
    name = "non-text.pkl"
    out = _cached(name)
    if out is not None:
        return out
    out = []
    for a in load_non_articles():
        lines = read_non_article_dump(a["id"]).split("\n")
        X, idx = dm.featurize(lines)
        out.append({"id": a["id"], "group": a["group"], "type": a["type"], "lines": lines, "X": X, "idx": idx})
    common.save_pickle(out, name)
    return out


def fit_hgb(X, y, **kw):
    from sklearn.ensemble import HistGradientBoostingClassifier
    params = dict(HGB_BODY)
    params.update(kw)
    m = HistGradientBoostingClassifier(**params)
    m.fit(X, y)
    return m


def export_hgb(m, digits: int = 6) -> dict:
    """HistGradientBoostingClassifier (binary) -> dict of flat arrays for linemodel.Forest."""
    feat, thr, left, right, value, roots = [], [], [], [], [], []
    depth = 0
    for (pred,) in m._predictors:
        nodes = pred.nodes
        off = len(feat)
        roots.append(off)
        for nd in nodes:
            if nd["is_leaf"]:
                feat.append(0)
                thr.append(0.0)
                left.append(-1)
                right.append(-1)
                value.append(float(f"{nd['value']:.{digits}g}"))
            else:
                feat.append(int(nd["feature_idx"]))
                thr.append(float(nd["num_threshold"]))
                left.append(off + int(nd["left"]))
                right.append(off + int(nd["right"]))
                value.append(0.0)
            depth = max(depth, int(nd["depth"]))
    base = float(np.ravel(m._baseline_prediction)[0])
    return {"base": base, "feat": feat, "thr": thr, "left": left, "right": right, "value": value, "roots": roots,
            "depth": depth}


def export_gam(m, n_features: int) -> dict:
    """HGB trained with interaction_cst='no_interactions' -> per-feature step functions."""
    per: dict = {}
    for (pred,) in m._predictors:
        nodes = pred.nodes
        if nodes[0]["is_leaf"]:
            per.setdefault("const", []).append(float(nodes[0]["value"]))
            continue
        f = int(nodes[0]["feature_idx"])
        per.setdefault(f, []).append(nodes)

    def at(nodes, x, feat):
        i = 0
        while not nodes[i]["is_leaf"]:
            assert int(nodes[i]["feature_idx"]) == feat
            i = nodes[i]["left"] if x <= nodes[i]["num_threshold"] else nodes[i]["right"]
        return float(nodes[i]["value"])

    base = float(np.ravel(m._baseline_prediction)[0]) + sum(per.pop("const", []))
    feats, breaks, values = [], [], []
    for feat in sorted(per):
        trees = per[feat]
        b = sorted({float(nd["num_threshold"]) for t in trees for nd in t if not nd["is_leaf"]})
        pts = [*b, b[-1] + 1e9 if b else 0.0]
        v = [sum(at(t, x, feat) for t in trees) for x in pts]
        feats.append(feat)
        breaks.append(b)
        values.append([float(f"{x:.6g}") for x in v])
    return {"kind": "gam", "base": base, "feat": feats, "breaks": breaks, "values": values}


def stack(pages, key="X"):
    X = np.vstack([p[key] for p in pages if len(p["idx"])])
    y = np.concatenate([p["y"] for p in pages if len(p["idx"])])
    return X, y


WORD_BUCKETS = 4096
WORD_C = 3.0  # of 0.3 / 1 / 3 / 10, best at 2% of articles rejected (5-fold by site, the words alone)


def word_rows():
    """(group, is_article, shape, id, hashed word counts) of every dump: both shapes of each
    article page, then the non-article dumps; lines as the normaliser sees them (tidied)."""
    name = f"words-{WORD_BUCKETS}.pkl"
    out = _cached(name, TEXT_MODULE)
    if out is not None:
        return out
    out = []
    for a in load_articles():
        for shape in SHAPES:
            lines = tidy(read_dump(shape, a["id"])).split("\n")
            out.append((a["group"], 1, shape, a["id"], dm.page_words(lines, WORD_BUCKETS)))
    for a in load_non_articles():
        lines = tidy(read_non_article_dump(a["id"])).split("\n")
        out.append((a["group"], 0, "text", a["id"], dm.page_words(lines, WORD_BUCKETS)))
    common.save_pickle(out, name)
    return out


def word_matrix(rows):
    import scipy.sparse as sp
    data, ii, jj = [], [], []
    for i, r in enumerate(rows):
        ids, values = dm.page_words_vector(r[4])
        ii += [i] * len(ids)
        jj += ids.tolist()
        data += values.tolist()
    return sp.csr_matrix((data, (ii, jj)), shape=(len(rows), WORD_BUCKETS))


def fit_words(rows):
    from sklearn.linear_model import LogisticRegression
    y = np.array([r[1] for r in rows])
    return LogisticRegression(C=WORD_C, max_iter=2000, class_weight="balanced").fit(word_matrix(rows), y)


def export_words(m) -> dict:
    return {"buckets": WORD_BUCKETS, "coef": [float(f"{c:.6g}") for c in m.coef_[0]],
            "intercept": float(f"{m.intercept_[0]:.6g}")}


def word_key(row):
    """(shape, id, is_article) of a word_rows() or cv_page.dump_page_rows() row."""
    return row[2], row[3], row[1]


def words_oof(k=5):
    """{(shape, id, is_article): the word model's score out of fold} (folds by site, as for the
    line probabilities), for training the page-type model on scores it would see on new sites."""
    name = f"words_oof{k}-{WORD_BUCKETS}-{WORD_C}.pkl"
    out = _cached(name, TEXT_MODULE)
    if out is not None:
        return out
    rows = word_rows()
    fold = union_folds(k)
    out = {}
    for j in range(k):
        m = dm.WordModel(export_words(fit_words([r for r in rows if fold[r[0]] != j])))
        for r in rows:
            if fold[r[0]] == j:
                out[word_key(r)] = m.score(r[4])
    common.save_pickle(out, name)
    return out


def union_folds(k=5):
    """Fold number per registered domain over articles + non-articles (GroupKFold-like, balanced)."""
    c = Counter([a["group"] for a in load_articles()] + [a["group"] for a in load_non_articles()])
    sizes = [0] * k
    fold = {}
    for g, n in sorted(c.items(), key=lambda t: (-t[1], t[0])):
        j = min(range(k), key=lambda i: sizes[i])
        fold[g] = j
        sizes[j] += n
    return fold


def fit_stage1(pages):
    """The body model: additive boosted trees over the line features, exported as step functions."""
    X, y = stack(pages)
    return export_gam(fit_hgb(X, y, **GAM), X.shape[1])


def fit_stage2(pages, probs, kind="gam"):
    """Experimental second stage over neighbours' stage-1 probabilities (off in the shipped model)."""
    X2 = np.vstack([dm.stage2_features(p["X"], q) for p, q in zip(pages, probs) if len(p["idx"])])
    y2 = np.concatenate([p["y"] for p in pages if len(p["idx"])])
    if kind == "gam":
        return export_gam(fit_hgb(X2, y2, **GAM), X2.shape[1])
    return export_hgb(fit_hgb(X2, y2, **S2_TREE))
