"""Page-type (article or not) models: feature rows, fitting with a threshold, and k-fold-by-site CV.

    .venv/bin/python scripts/linemodel/cv_page.py [html] [--article-loss 0.017] [--data DIR] [--cache DIR]

Needs <cache>/oof_all.pkl (written by cv_all.py or evaluate.py) for the dump detector; with `html`
only the HTML detector is cross-validated. Prints, per detector and input shape, how many articles
and non-articles are rejected out of fold, each fold's threshold set at --article-loss (the
run-time page_type_article_loss) of its inner out-of-fold article scores, and saves the scores to
<cache>/page_cv.pkl.
"""
from __future__ import annotations

from typing import NamedTuple

import common
import html_cache
import numpy as np
from common import load_articles, load_non_articles, read_html
from lib_train import (
    SHAPES,
    body_dataset,
    export_hgb,
    export_words,
    fit_hgb,
    fit_words,
    non_article_dumps,
    union_folds,
    word_key,
    word_rows,
    words_oof,
)

from framestance.config import NormaliseConfig
from framestance.normalise import linemodel as dm

PAGE_HGB = dict(max_iter=120, learning_rate=0.08, max_leaf_nodes=7, min_samples_leaf=10, l2_regularization=1.0)
REJECT_ART = NormaliseConfig.page_type_article_loss  # the default share of articles turned away


def dump_page_rows(probs, words):
    """probs: {'text'|'text-lines'|'non': {id: stage-1 line probabilities}} (out of fold);
    words: {(shape, id, is_article): word-model score} (out of fold, lib_train.words_oof).

    Returns rows (group, is_article, shape, id, features), the features DumpModel computes, but on
    the raw lines of each dump: at run time they are tidied and squashed first (a skew older than
    the word model; it flips 3 of 2,267 decisions with the shipped model)."""
    data = {s: body_dataset(s) for s in SHAPES}
    non = non_article_dumps()
    rows = []
    for s in SHAPES:
        for p in data[s]:
            f = dm.page_features_dump(p["lines"], probs[s][p["id"]], p["idx"], p["X"])
            rows.append((p["group"], 1, s, p["id"], np.append(f, words[(s, p["id"], 1)])))
    for p in non:
        f = dm.page_features_dump(p["lines"], probs["non"][p["id"]], p["idx"], p["X"])
        rows.append((p["group"], 0, "text", p["id"], np.append(f, words[("text", p["id"], 0)])))
    return rows


def html_page_rows():
    traf = html_cache.load()
    rows = []
    for a in load_articles():
        rows.append((a["group"], 1, "html", a["id"], dm.page_features_html(read_html(a["id"]), traf[(a["id"], False)])))
    for a in load_non_articles():
        rows.append((a["group"], 0, "html", a["id"], dm.page_features_html(read_html(a["id"], True), traf[(a["id"], True)])))
    return rows


def rows_to_xyg(rows):
    X = np.array([r[4] for r in rows])
    y = np.array([r[1] for r in rows])
    g = np.array([r[0] for r in rows])
    return X, y, g


def threshold_for(scores_art, rate=REJECT_ART):
    """As DumpModel.page_threshold: the score below which `rate` of the articles fall; 0: none."""
    dm.check_article_loss(rate)
    return -np.inf if rate == 0 else float(np.quantile(scores_art, rate))


class PageFit(NamedTuple):
    model: object
    threshold: float  # at fit_page's rate of the inner out-of-fold article scores
    article_scores: list[float]  # inner out-of-fold scores, sorted: the run-time thresholds' table
    other_scores: list[float]

    def weights(self, kind: str, features: list[str]) -> dict:
        """The weights' entries of this page-type model (`kind`: dump or html): the trees, their
        feature names and the inner out-of-fold scores that map a share of articles to a threshold."""
        return {f"page_{kind}": export_hgb(self.model), f"page_{kind}_features": features,
                f"page_{kind}_article_scores": self.article_scores, f"page_{kind}_other_scores": self.other_scores}


def fit_page(X, y, groups, rate: float = REJECT_ART) -> PageFit:
    """Fit + the inner out-of-fold scores, from which the threshold is set (not on over-fitted
    scores); they are shipped so that a user's own share of articles turned away maps to a
    threshold the same way (DumpModel.page_threshold)."""
    from sklearn.model_selection import GroupKFold
    oof = np.zeros(len(y))
    for tr, te in GroupKFold(n_splits=4).split(X, y, groups):
        m = fit_hgb(X[tr], y[tr], **PAGE_HGB)
        oof[te] = m.predict_proba(X[te])[:, 1]
    th = threshold_for(oof[y == 1], rate)
    m = fit_hgb(X, y, **PAGE_HGB)
    return PageFit(m, th, sorted(oof[y == 1].tolist()), sorted(oof[y == 0].tolist()))


def nested_word_scores(rows, words, train_groups, k=5):
    """The word-model column for one outer fold: its training pages scored out of fold within
    the training pages only, its test pages by a word model fitted on all training pages; so no
    test page's words shape the scores the trees learn from. words: lib_train.word_rows()."""
    from sklearn.model_selection import GroupKFold

    train_words = [r for r in words if r[0] in train_groups]
    column = {}
    groups = np.array([r[0] for r in train_words])
    for inner_train, inner_test in GroupKFold(k).split(train_words, groups=groups):
        m = dm.WordModel(export_words(fit_words([train_words[i] for i in inner_train])))
        for i in inner_test:
            column[word_key(train_words[i])] = m.score(train_words[i][4])
    m = dm.WordModel(export_words(fit_words(train_words)))
    for r in words:
        if r[0] not in train_groups:
            column[word_key(r)] = m.score(r[4])
    return np.array([column[word_key(r)] for r in rows])


def cv(rows, name, k=5, words=None, rate: float = REJECT_ART):
    """k-fold-by-site rejection counts; with `words` (dump rows), the last feature column, the
    word model's score, is recomputed inside each outer fold (nested_word_scores)."""
    fold = union_folds(k)
    X, y, g = rows_to_xyg(rows)
    kinds = np.array([r[2] for r in rows])
    dec = np.zeros(len(y), bool)
    score = np.zeros(len(y))
    for j in range(k):
        te = np.array([fold[x] == j for x in g])
        tr = ~te
        if words is not None:
            X = X.copy()
            X[:, -1] = nested_word_scores(rows, words, {x for x in set(g) if fold[x] != j})
        m, th, _, _ = fit_page(X[tr], y[tr], g[tr], rate)
        f = dm.Forest(export_hgb(m))
        score[te] = f.proba(X[te])
        dec[te] = score[te] >= th
    print(f"== page type from {name} ({k}-fold by site)")
    for kd in sorted(set(kinds)):
        s = kinds == kd
        a = s & (y == 1)
        n = s & (y == 0)
        if a.any():
            print(f"  {kd}: articles rejected {int((~dec[a]).sum())}/{int(a.sum())} = {(~dec[a]).mean():.3%}")
        if n.any():
            print(f"  {kd}: non-articles rejected {int((~dec[n]).sum())}/{int(n.sum())} = {(~dec[n]).mean():.3%}")
    return score, dec, y, kinds, [r[3] for r in rows]


if __name__ == "__main__":
    ap = common.arg_parser(__doc__)
    ap.add_argument("which", nargs="?", choices=["all", "html"], default="all", help="'html': only the HTML detector")
    ap.add_argument("--article-loss", type=float, default=REJECT_ART, help="share of articles each fold's threshold turns away")
    args = common.parse_args(ap)
    res = {}
    if args.which != "html":
        res["dump"] = cv(dump_page_rows(common.load_pickle("oof_all.pkl")["s1"], words_oof()), "dumps", words=word_rows(),
                         rate=args.article_loss)
    res["html"] = cv(html_page_rows(), "html", rate=args.article_loss)
    common.save_pickle(res, "page_cv.pkl")
