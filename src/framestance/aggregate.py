"""Stage 4c: gold labels, one row per annotated article, from the submitted annotations.

Two methods:

* `majority`: the label most annotators gave; a frame is present when more than half of the
  article's annotators marked it.
* `dawid-skene`: crowd-kit's Dawid-Skene EM, per dimension (each frame a binary one), which
  weighs annotators by their estimated confusion matrices. It refuses data it cannot fit: fewer
  than three annotators (two cannot be told apart) or fewer than `ds_min_items` items for some
  annotator (its confusion matrix would be a guess).

Support means one thing under every method: the estimated probability that one more annotator
of the study would give the label to the article (`_predictive` for majority, beta-binomial
empirical Bayes; `_dawid_skene`: the posterior through the annotators' average confusion
matrix). Not the vote share (`*_votes`), not the posterior: on real annotators with one held out
both are calibrated (expected calibration error 0.016 and 0.013; `scripts/bench_aggregate.py`),
the vote share and crowd-kit's posteriors are not (0.11-0.19).

Relevance first: the gold relevance is decided over all of an article's annotators; every other
label over those who found the article relevant (their majorities and shares count only them);
an article whose gold relevance is `not_relevant` gets no other label (null, not `unresolved`).

Consistent by construction, whatever the method:
* a label is always one that some annotator of that article gave;
* a vote tie, or a label whose support is below `min_support`, is `unresolved` (frames: listed in
  `frames_unresolved`), never guessed, whatever the method (Dawid-Skene's posterior would decide
  every tie, near-certain, where a held-out annotator sides with it about half the time); the tie
  rule `unresolved` is the only one (the former `codebook_order` always resolved ties toward the
  codebook's first labels: a bias);
* the gold primary frame is one of the gold frames, else `unresolved`;
* an article with fewer than `min_annotators` annotators gets `unresolved` everywhere.
Every `unresolved` counts toward `quality.max_unresolved_share`.

Spans are consolidated per article, kind and label: the words that more than half of the
article's annotators covered with that label, merged into runs of consecutive words. Drafts and
cancelled annotations never count. The disaggregated tables stay as they are.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .codebook import Codebook
from .config import AggregateConfig, QualityConfig
from .errors import FramestanceError
from .schema import ADJUDICATED, GOLD_SPAN, RELEVANT, SUBMITTED, UNRESOLVED, gold_schema, is_relevant, is_submitted
from .tokens import ids_in, token_offsets, token_ranges, word_batches

METHODS = ("majority", "dawid-skene")
TIE_RULES = ("unresolved",)


class AggregateError(FramestanceError, ValueError):
    pass


def _votes(rows: np.ndarray, given: pd.Series, order: list[str], n_articles: int) -> tuple[np.ndarray, np.ndarray]:
    """Vote counts (article x label) over `order` and then any other label found, sorted; and that
    label list. `rows` are the votes' article numbers."""
    code, uniques = pd.factorize(given)
    uniques = list(np.asarray(uniques, dtype=object))
    labels = np.array([*order, *sorted(set(uniques) - set(order))], dtype=object)
    col = pd.Index(labels).get_indexer(pd.Index(uniques, dtype=object))[code]
    counts = np.bincount(rows * len(labels) + col, minlength=n_articles * len(labels))
    return counts.reshape(n_articles, len(labels)).astype(np.float64), labels


def _majority(counts: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per article: the label most annotators gave, `unresolved` on a tie, None without votes
    (support is `_predictive`'s)."""
    total, top = counts.sum(axis=1), counts.max(axis=1, initial=0)
    unique_top = (counts == top[:, None]).sum(axis=1) == 1
    best = labels[counts.argmax(axis=1)] if labels.size else np.full(len(counts), None, dtype=object)
    label = np.where(unique_top, best, UNRESOLVED).astype(object)
    label[total == 0] = None
    return label


def _predictive(counts: np.ndarray) -> tuple[np.ndarray, float]:
    """Per article and label: the estimated probability that one more annotator of this study would
    give that label (support), and the dimension's intra-article agreement rho it rests on.

    Beta-binomial (Dirichlet-multinomial) empirical Bayes: an article's label shares are drawn
    around the dimension's overall shares pi with a concentration a, so the next label is L with
    probability (c_L + a pi_L) / (n + a). Two labels of one article coincide with probability
    rho + (1 - rho) sum(pi^2) where rho = 1 / (a + 1): rho is estimated from the observed pairwise
    agreement (moments), so a dimension whose annotators agree little gets supports near pi, one
    whose annotators agree well gets the vote share. No article coded twice: rho 0 (no evidence of
    agreement)."""
    n = counts.sum(axis=1)
    total = counts.sum()
    if total == 0:  # nobody gave any label of the dimension: no estimate
        return np.full(counts.shape, np.nan), 0.0
    pi = counts.sum(axis=0) / total
    pairs = (n * (n - 1)).sum()
    expected = float((pi**2).sum())
    if pairs > 0 and expected < 1:
        observed = float((counts * (counts - 1)).sum() / pairs)
        rho = min(max((observed - expected) / (1 - expected), 0.0), 1.0)
    else:
        rho = 1.0 if pairs > 0 else 0.0  # one label only: everyone agrees
    with np.errstate(divide="ignore", invalid="ignore"):
        pred = (rho * counts + (1 - rho) * pi[None, :]) / (rho * n + 1 - rho)[:, None]
    # an article without votes (n = 0, which divides by zero only when rho = 1): the prior, pi
    pred = np.where(np.isfinite(pred), pred, pi[None, :])
    return np.round(pred, 4), rho


def _dawid_skene(long: pd.DataFrame, min_items: int = 0, name: str = "") -> dict[str, tuple[str, float]]:
    """article -> (label, support) for one dimension; `long` has task, worker, label.

    The label is the most probable among those the article's annotators gave (EM may favour a
    label nobody chose); equal posteriors are `unresolved` (vote ties are settled by the caller).
    Support is the predictive probability that one more annotator gives that label, as for
    majority: sum over true labels c of posterior(c) * P(label | c), P from the annotators'
    estimated confusion matrices averaged with their numbers of items as weights. The posterior
    itself is not support: on two annotators it is near 1 for a label only one of them gave."""
    from crowdkit.aggregation import DawidSkene

    if long.empty:
        return {}
    items = long.groupby("worker")["task"].nunique()
    if len(items) < 3:
        raise AggregateError(f"dawid-skene needs at least 3 annotators ({name}: {len(items)}); two cannot be told "
                             "apart: use aggregate.method majority")
    if items.min() < min_items:
        worker = items.idxmin()
        raise AggregateError(f"dawid-skene needs at least {min_items} items per annotator ({name}: {worker} has "
                             f"{int(items.min())}; params.yaml aggregate.ds_min_items): use aggregate.method majority")
    long = long.sort_values(["task", "worker", "label"], kind="stable").reset_index(drop=True)
    given = long.groupby("task")["label"].agg(lambda s: set(s)).to_dict()
    model = DawidSkene(n_iter=100)
    with warnings.catch_warnings():  # crowd-kit 1.4.2 uses pandas arguments pandas 3 deprecates
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        proba = model.fit_predict_proba(long)
    proba = proba.reindex(columns=sorted(proba.columns))
    # errors_: rows (worker, given label), columns the true label: P(given | true) per worker
    assert model.errors_ is not None  # fitted
    errors = model.errors_.reindex(columns=proba.columns, fill_value=0.0)
    weight = items.reindex(errors.index.get_level_values(0)).to_numpy(np.float64)
    typical = errors.mul(weight, axis=0).groupby(level=1).sum() / items.sum()  # given label x true label
    typical = typical.reindex(index=proba.columns, fill_value=0.0)
    predictive = proba.to_numpy() @ typical.to_numpy().T  # task x given label
    col = {c: k for k, c in enumerate(proba.columns)}
    out = {}
    for i, (task, row) in enumerate(proba.iterrows()):
        row = row[[c for c in row.index if c in given[task]]].sort_values(ascending=False, kind="stable")
        label = str(row.index[0])
        if len(row) > 1 and abs(float(row.iloc[0]) - float(row.iloc[1])) < 1e-6:
            label = UNRESOLVED
        out[str(task)] = (label, round(float(predictive[i, col[row.index[0]]]), 4))
    return out


def _given(labels: np.ndarray) -> np.ndarray:
    """Which articles have a label (a decision or `unresolved`) in a label column."""
    return np.array([x is not None for x in labels], bool)


def _from_dict(result: dict[str, tuple[str, float]], articles: list[str]) -> tuple[np.ndarray, np.ndarray]:
    label = np.array([result.get(a, (None, None))[0] for a in articles], dtype=object)
    support = np.array([np.nan if (x := result.get(a, (None, None))[1]) is None else x for a in articles], np.float64)
    return label, support


def _lists(mask: np.ndarray, values: np.ndarray) -> pa.Array:
    """One list per row of `mask`: values[mask[row]] in column order."""
    offsets = np.concatenate([[0], np.cumsum(mask.sum(axis=1))]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(values))


def gold_labels(annotations: pd.DataFrame, stances: pd.DataFrame, cb: Codebook, method: str = "majority",
                tie: str = "unresolved", *, min_annotators: int = 1, min_support: float = 0.0,
                ds_min_items: int = 20) -> pa.Table:
    """Gold labels, one row per annotated article (columns: schema.gold_schema), built column
    by column: every article's decision at once, as arrays."""
    if method not in METHODS:
        raise AggregateError(f"method {method!r}: use one of {', '.join(METHODS)}")
    if tie == "codebook_order":
        raise AggregateError("tie rule 'codebook_order' (params.yaml aggregate.tie) was removed: it always broke ties "
                             "toward the codebook's first label, a bias; use `unresolved` and adjudicate the ties")
    if tie not in TIE_RULES:
        raise AggregateError(f"tie rule {tie!r} (params.yaml aggregate.tie): use one of {', '.join(TIE_RULES)}")
    schema = gold_schema([t.id for t in cb.targets], primary=cb.primary, tone=bool(cb.tone))
    frame_order = cb.frame_ids()
    tone_order = [t.id for t in cb.tone]
    relevance_order = cb.relevance_ids()
    value_order = [v.id for v in cb.stance_values]
    targets = [t.id for t in cb.targets]
    # submitted annotations of corpus articles (hidden gold questions are not), only the columns used
    usable = np.flatnonzero(is_submitted(annotations) & annotations["article_id"].notna().to_numpy(bool)
                            & ~ids_in(annotations["article_id"], cb.gold))
    if not len(usable):
        return schema.empty_table()
    # the first annotation of each (article, annotator), as agreement counts them (codebooks may allow more)
    article, articles = pd.factorize(annotations["article_id"].iloc[usable], sort=True)
    who = pd.factorize(annotations["annotator"].iloc[usable], sort=True)[0]
    who = np.where(who < 0, who.max() + 1, who)  # no annotator: one group, as drop_duplicates makes it
    order = np.lexsort((annotations["annotation_id"].iloc[usable].to_numpy(np.int64, na_value=np.iinfo(np.int64).max),
                        who, article))
    key = article[order].astype(np.int64) * (int(who.max()) + 1) + who[order]
    first = order[np.append(True, key[1:] != key[:-1])]
    row = article[first]
    ann = annotations[["article_id", "annotator", "annotation_id", "text_sha256", "primary_frame", "tone", "frames"]]
    ann = ann.iloc[usable[first]]  # one copy of the columns used, of the rows used
    relevant = is_relevant(annotations)[usable[first]]
    relevance = pd.Series(np.where(relevant, RELEVANT, cb.NOT_RELEVANT), index=ann.index, dtype=object)
    articles = list(np.asarray(articles, dtype=object))
    index = pd.Index(articles, dtype=object)
    has_annotator = ann["annotator"].notna().to_numpy(bool)
    n_ann = np.bincount(row[has_annotator], minlength=len(articles))
    n_relevant = np.bincount(row[has_annotator & relevant], minlength=len(articles))  # who coded the rest
    sha = np.full(len(articles), None, dtype=object)
    with_sha = np.flatnonzero(ann["text_sha256"].notna().to_numpy(bool))
    last = with_sha[::-1][np.unique(row[with_sha][::-1], return_index=True)[1]]  # each article's last known hash
    sha[row[last]] = np.asarray(ann["text_sha256"].iloc[last], dtype=object)  # only the strings kept
    cols: dict[str, object] = {"article_id": articles, "text_sha256": pa.array(sha, pa.string()),
                               "method": [method] * len(articles), "n_annotators": n_ann}

    # stances of those annotations, by the annotation's row
    ids = ann["annotation_id"].to_numpy(np.int64, na_value=-1)
    by_id = np.argsort(ids, kind="stable")
    stance_id = stances["annotation_id"].to_numpy(np.int64, na_value=-1)
    at = np.minimum(np.searchsorted(ids[by_id], stance_id), len(ids) - 1)
    stance_ok = ((ids[by_id][at] == stance_id) & is_submitted(stances)
                 & stances["value"].notna().to_numpy(bool) & stances["annotator"].notna().to_numpy(bool))
    stance_row = by_id[at]  # the annotation each stance belongs to
    stance_ok &= relevant[stance_row]

    # single-label dimensions: (annotation rows or stance rows, labels, workers) per dimension
    dims: dict[str, tuple[np.ndarray, pd.Series, pd.Series, list[str]]] = {
        "relevance": (row[has_annotator], relevance[has_annotator], ann["annotator"][has_annotator], relevance_order)}
    for col, order_ in (("primary_frame", frame_order), ("tone", tone_order)):
        ok = has_annotator & relevant & ann[col].notna().to_numpy(bool)
        dims[col] = (row[ok], ann[col][ok], ann["annotator"][ok], order_)
    for t in targets:
        ok = stance_ok & (stances["target"] == t).to_numpy(bool)
        dims[f"stance_{t}"] = (row[stance_row[ok]], stances["value"][ok], stances["annotator"][ok], value_order)

    def long_table(rows: np.ndarray, labels: pd.Series, workers: pd.Series) -> pd.DataFrame:
        return pd.DataFrame({"task": np.asarray(articles, dtype=object)[rows], "worker": np.asarray(workers, dtype=object),
                             "label": np.asarray(labels, dtype=object)})

    label: dict[str, np.ndarray] = {}
    support: dict[str, np.ndarray] = {}
    votes: dict[str, np.ndarray] = {}
    predictive: dict[str, np.ndarray] = {}  # per label in codebook order: an adjudicated label's support
    decisions = bool((annotations["status"] == ADJUDICATED).any())
    with np.errstate(divide="ignore", invalid="ignore"):
        for col, (rows, labels_given, workers, order) in dims.items():
            counts, labels = _votes(rows, labels_given, order, len(articles))
            pred, _rho = _predictive(counts)
            label[col] = _majority(counts, labels)
            tied = label[col] == UNRESOLVED  # a vote tie: never decided, whatever the method
            if method == "dawid-skene":
                label[col], support[col] = _from_dict(_dawid_skene(long_table(rows, labels_given, workers), ds_min_items, col),
                                                      articles)
                label[col][tied] = UNRESOLVED
            else:
                code = pd.Index(labels).get_indexer(pd.Index(label[col], dtype=object))
                support[col] = np.full(len(articles), np.nan)
                if labels.size:  # a dimension nobody labelled (or the codebook lacks) has no support
                    support[col] = np.where(code >= 0, pred[np.arange(len(articles)), np.maximum(code, 0)],
                                            pred.max(axis=1, initial=0.0))
                    support[col][~_given(label[col])] = np.nan
            if decisions:  # kept only where an adjudicated label needs its support (memory at scale)
                predictive[col] = pred[:, : len(order)]
            del pred
            weak = (support[col] < min_support) & _given(label[col])
            label[col][weak] = UNRESOLVED  # too little support to call it
            coders = n_ann if col == "relevance" else np.maximum(n_relevant, 1)  # no coder: no votes, all 0
            votes[col] = np.round(counts[:, : len(order)] / coders[:, None], 4)  # soft labels, codebook order

        # frames: one binary decision per codebook frame, by those who found the article relevant
        marked = _frame_matrix(ann["frames"][relevant], row[relevant], frame_order, len(articles))
        votes["frames"] = np.round(marked / np.maximum(n_relevant, 1)[:, None], 4)
        predictive["frames"] = np.column_stack(
            [_predictive(np.column_stack([n_relevant - marked[:, k], marked[:, k]]))[0][:, 1] for k in range(len(frame_order))]
        ) if frame_order else np.zeros((len(articles), 0))
        vote_tie = (2 * marked == n_relevant[:, None]) & (marked > 0)
        if method == "dawid-skene":
            present, tied = np.zeros(marked.shape, bool), np.zeros(marked.shape, bool)
            frame_support = np.zeros(marked.shape)
            who_marked = {(a, w): set(fs) for a, w, fs, r in zip(ann["article_id"], ann["annotator"], ann["frames"], relevant)
                          if r}
            for k, f in enumerate(frame_order):
                long = pd.DataFrame([(a, w, "present" if f in fs else "absent") for (a, w), fs in who_marked.items()],
                                    columns=["task", "worker", "label"])
                decided, frame_support[:, k] = _from_dict(_dawid_skene(long, ds_min_items, f"frame {f}"), articles)
                present[:, k], tied[:, k] = decided == "present", decided == UNRESOLVED
            present &= ~vote_tie
            tied |= vote_tie
        else:
            present, tied = 2 * marked > n_relevant[:, None], vote_tie
            frame_support = predictive["frames"] if not decisions else predictive["frames"].copy()
    del dims, ann, marked  # the label columns are done with: free them before the output is built
    gold_frames = present & (frame_support >= min_support)
    unresolved_frames = tied | (present & ~gold_frames)

    # a primary frame that is not a gold frame is no decision
    primary = label["primary_frame"]
    code = pd.Index(frame_order).get_indexer(pd.Index(primary, dtype=object))
    decided = _given(primary) & (primary != UNRESOLVED)
    in_frames = np.zeros(len(articles), bool)
    in_frames[code >= 0] = gold_frames[np.flatnonzero(code >= 0), code[code >= 0]]
    primary[decided & ~in_frames] = UNRESOLVED
    for col in label:  # too few people to call anything
        few = (n_ann if col == "relevance" else n_relevant) < min_annotators
        label[col][few & _given(label[col])] = UNRESOLVED
    few = n_relevant < min_annotators
    unresolved_frames[few] |= gold_frames[few]
    gold_frames[few] = False
    # nothing else applies to an article found not relevant: null, not unresolved
    moot = label["relevance"] == Codebook.NOT_RELEVANT
    for col in label:
        if col != "relevance":
            label[col][moot], support[col][moot] = None, np.nan
    gold_frames[moot] = unresolved_frames[moot] = False
    source = {col: np.full(len(articles), None, dtype=object) for col in label}  # one shared string, not one per row
    for col in label:
        source[col][_given(label[col])] = method
    source["frames"] = np.full(len(articles), method, dtype=object)
    source["frames"][moot] = None

    _adjudicate(annotations, stances, index, label, support, source, predictive, gold_frames, unresolved_frames,
                frame_support, {"relevance": relevance_order, "primary_frame": frame_order, "tone": tone_order,
                                **{f"stance_{t}": value_order for t in targets}})
    ids = np.array(frame_order, dtype=object)
    cols["frames"] = _lists(gold_frames, ids[np.nonzero(gold_frames)[1]])
    cols["frames_support"] = _lists(gold_frames, np.array([round(float(x), 4) for x in frame_support[gold_frames]]))
    cols["frames_unresolved"] = _lists(unresolved_frames, ids[np.nonzero(unresolved_frames)[1]])
    for col in label:
        cols[col] = pa.array(label[col], pa.string())
        cols[f"{col}_support"] = pa.array(support[col], pa.float64(), mask=np.isnan(support[col]))
    for col, v in votes.items():
        cols[f"{col}_votes"] = _lists(np.ones(v.shape, bool), v.ravel())
    for col, v in source.items():
        cols[f"{col}_source"] = pa.array(v, pa.string())
    return pa.table({f.name: cols[f.name] for f in schema}, schema=schema)


def _frame_matrix(frames: pd.Series, rows: np.ndarray, frame_order: list[str], n_articles: int) -> np.ndarray:
    """Per article and codebook frame: how many annotations (rows: their articles) marked it;
    frames outside the codebook are not counted."""
    lists = pa.array(frames, type=pa.list_(pa.string()), from_pandas=True)
    col = pc.index_in(pc.list_flatten(lists), value_set=pa.array(frame_order, pa.string())).to_numpy(zero_copy_only=False)
    ok = ~np.isnan(col.astype(np.float64))
    owner = pc.list_parent_indices(lists).to_numpy()[ok]
    # one mark per annotation and frame, even when a frame is listed twice
    key = np.unique(owner * len(frame_order) + col[ok].astype(np.int64))
    article = rows[key // len(frame_order)]
    return np.bincount(article * len(frame_order) + key % len(frame_order),
                       minlength=n_articles * len(frame_order)).reshape(n_articles, len(frame_order)).astype(np.float64)


def _adjudicate(annotations: pd.DataFrame, stances: pd.DataFrame, index: pd.Index, label: dict, support: dict,
                source: dict, predictive: dict, gold_frames: np.ndarray, unresolved_frames: np.ndarray,
                frame_support: np.ndarray, orders: dict[str, list[str]]) -> None:
    """An adjudicator's decision replaces the vote, label by label (`*_source` = adjudicated);
    support stays what it means everywhere: the estimated probability that one more annotator
    would give that label (`_predictive`). The newest decision counts.
    "Not relevant" clears every other label, as it does for an annotator."""
    adj = annotations[annotations["status"] == ADJUDICATED]
    if adj.empty:
        return
    adj = adj.sort_values(["article_id", "annotation_id"], kind="stable").drop_duplicates("article_id", keep="last")
    adj = adj[adj["article_id"].isin(list(index))]
    st = stances[(stances["status"] == ADJUDICATED) & stances["annotation_id"].isin(set(adj["annotation_id"]))]
    stance_of = {(a, t): v for a, t, v in zip(st["article_id"], st["target"], st["value"])}
    for a, relevant, primary, frames, tone in zip(adj["article_id"], is_relevant(adj), adj["primary_frame"],
                                                  adj["frames"], adj["tone"]):
        i = index.get_loc(a)
        given = {"relevance": RELEVANT if relevant else Codebook.NOT_RELEVANT, "primary_frame": primary, "tone": tone,
                 **{col: stance_of.get((a, col[len("stance_"):])) for col in orders if col.startswith("stance_")}}
        for col, order in orders.items():
            lab = given[col]
            if not relevant and col != "relevance":
                label[col][i], support[col][i], source[col][i] = None, np.nan, None
            elif isinstance(lab, str):
                label[col][i], source[col][i] = lab, "adjudicated"
                support[col][i] = predictive[col][i, order.index(lab)] if lab in order else np.nan
        chosen = set(frames if frames is not None and relevant else [])
        gold_frames[i] = [f in chosen for f in orders["primary_frame"]]
        unresolved_frames[i] = False
        frame_support[i] = predictive["frames"][i]
        source["frames"][i] = "adjudicated" if relevant else None


def gold_spans(annotations: pd.DataFrame, spans: pd.DataFrame, texts: Mapping[str, str]) -> pa.Table:
    """Spans a majority of each article's annotators marked (per kind and label), word by word:
    the words more than half of them covered, merged into runs of consecutive words, ordered by
    article, kind, label and position; support is the mean share of annotators over the run. The
    share counts every annotator of the article, those who found it not relevant too (they marked
    nothing), so that a consolidated span implies that most annotators found the article relevant."""
    # each article's annotators (distinct, submitted), found through the annotation each span belongs to
    sub = is_submitted(annotations) & annotations["article_id"].notna().to_numpy(bool)
    if not sub.any():
        return GOLD_SPAN.empty_table()
    ann_ids = annotations["annotation_id"].to_numpy(np.int64, na_value=-1)[sub]
    ann_article = pd.factorize(annotations["article_id"].iloc[np.flatnonzero(sub)])[0]
    ann_who = pd.factorize(annotations["annotator"].iloc[np.flatnonzero(sub)])[0]
    pairs = np.unique(ann_article[ann_who >= 0].astype(np.int64) * (int(ann_who.max(initial=0)) + 1) + ann_who[ann_who >= 0])
    n_of_article = np.bincount(pairs // (int(ann_who.max(initial=0)) + 1), minlength=int(ann_article.max(initial=-1)) + 1)
    by_id = np.argsort(ann_ids, kind="stable")
    span_ids = spans["annotation_id"].to_numpy(np.int64, na_value=-1)
    at = by_id[np.minimum(np.searchsorted(ann_ids[by_id], span_ids), len(ann_ids) - 1)]
    usable = np.flatnonzero(is_submitted(spans) & (ann_ids[at] == span_ids) & is_relevant(annotations)[sub][at]
                            & ids_in(spans["article_id"], texts) & spans["start"].notna().to_numpy(bool)
                            & spans["end"].notna().to_numpy(bool) & spans["kind"].notna().to_numpy(bool)
                            & spans["label"].notna().to_numpy(bool))
    if not len(usable):
        return GOLD_SPAN.empty_table()
    sp = spans[["article_id", "annotator", "kind", "label", "start", "end"]].iloc[usable]
    n_ann = n_of_article[ann_article[at[usable]]]  # per span: its article's annotators
    article, articles = pd.factorize(sp["article_id"], sort=True)
    text_list = [texts[a] for a in np.asarray(articles, dtype=object)]
    lo, hi = token_ranges(text_list, article, sp["start"].to_numpy(np.int64), sp["end"].to_numpy(np.int64))
    who = pd.factorize(sp["annotator"], use_na_sentinel=False)[0]
    # one group per (article, kind, label), numbered in sorted order: the output's order
    group = sp.groupby(["article_id", "kind", "label"], sort=True).ngroup().to_numpy(np.int64)
    width = np.maximum(hi - lo, 0)
    by_article = np.argsort(article, kind="stable")
    found: list[tuple[np.ndarray, ...]] = []
    for rows in word_batches(article[by_article], width[by_article]):  # articles in sorted order
        rows = by_article[rows]
        row = np.repeat(rows, width[rows])
        token = lo[row] + np.arange(len(row)) - np.repeat(np.cumsum(width[rows]) - width[rows], width[rows])
        span_width = int(token.max(initial=0)) + 1
        # each word once per annotator, then the number of annotators per (group, word)
        _, once = np.unique((group[row] * (who.max() + 1) + who[row]) * span_width + token, return_index=True)
        row, token = row[once], token[once]
        key, first, votes = np.unique(group[row] * span_width + token, return_index=True, return_counts=True)
        row, token = row[first], token[first]
        kept = 2 * votes > n_ann[row]
        row, token, votes, key = row[kept], token[kept], votes[kept], key[kept]
        if not len(row):
            continue
        # runs of consecutive words within one group (keys are sorted by group, then word)
        new_run = np.ones(len(key), bool)
        new_run[1:] = (np.diff(key) != 1) | (group[row[1:]] != group[row[:-1]])
        starts = np.flatnonzero(new_run)
        ends = np.append(starts[1:], len(key)) - 1
        summed = np.bincount(np.cumsum(new_run) - 1, weights=votes.astype(np.float64))
        found.append((row[starts], token[starts], token[ends], summed / (n_ann[row[starts]] * (ends - starts + 1.0))))
    if not found:
        return GOLD_SPAN.empty_table()
    first_row, first_token, last_token, support = (np.concatenate(x) for x in zip(*found))
    char_start, char_end = token_offsets(text_list, article[first_row], first_token, last_token)
    ids = sp["article_id"].to_numpy(object)[first_row]
    text = [text_list[a][s:e] for a, s, e in zip(article[first_row], char_start, char_end)]
    return pa.table({
        "article_id": pa.array(ids, pa.string()), "kind": pa.array(sp["kind"].to_numpy(object)[first_row], pa.string()),
        "label": pa.array(sp["label"].to_numpy(object)[first_row], pa.string()), "start": char_start, "end": char_end,
        "text": pa.array(text, pa.string()), "support": [round(float(x), 4) for x in support],
    }, schema=GOLD_SPAN)


def unresolved_shares(gold: pa.Table, cb: Codebook) -> dict[str, float]:
    """Share of articles whose label is `unresolved`, per single-label dimension (and frames)."""
    df = gold.to_pandas()
    if df.empty:
        return {}
    out = {d: float((df[d] == UNRESOLVED).mean()) for d in ("relevance", "primary_frame", "tone") if d in df}
    out["frames"] = float(df["frames_unresolved"].map(len).gt(0).mean())
    for t in cb.targets:
        out[f"stance:{t.id}"] = float((df[f"stance_{t.id}"] == UNRESOLVED).mean())
    return {k: round(v, 4) for k, v in out.items()}


def gold_column(dimension: str) -> str:
    """The gold column an agreement dimension's labels go to (`frames:economic` -> frames,
    `stance_addressed:t` -> stance_t, `tone_ordinal` -> tone)."""
    if dimension.startswith(("frames", "question")):  # the answers decide the frames
        return "frames"
    if dimension.startswith("stance"):
        return f"stance_{dimension.split(':', 1)[1]}"
    return "tone" if dimension == "tone_ordinal" else dimension


def disputed(gold: pa.Table | pd.DataFrame) -> dict[str, pd.Series]:
    """Per gold column: which articles' annotators disagreed on it (more than one label given;
    frames: some frame marked by some of them and not by others). A label that is not released
    (the gold relevance is `not_relevant`) is no dispute."""
    df = gold.to_pandas() if isinstance(gold, pa.Table) else gold
    out = {}
    moot = df["relevance"] == Codebook.NOT_RELEVANT if "relevance" in df else pd.Series(False, index=df.index)
    for col in [c[: -len("_votes")] for c in df.columns if c.endswith("_votes")]:
        votes = df[f"{col}_votes"]
        if col == "frames":
            split = votes.map(lambda v: any(0 < x < 1 for x in v))
        else:  # shares of the labels given (a coder who left the label blank is no other label)
            split = votes.map(lambda v: sum(x > 0 for x in v) > 1)
        out[col] = split.astype(bool) & (~moot if col != "relevance" else True)
    return out


def disputes_settled(gold: pa.Table) -> dict[str, tuple[int, int]]:
    """Per gold column: (disputed articles, of them decided by an adjudicator: that label, or the
    whole article found not relevant by one)."""
    df = gold.to_pandas()
    whole = df["relevance_source"] == "adjudicated" if "relevance_source" in df else pd.Series(False, index=df.index)
    return {col: (int(split.sum()), int((split & ((df[f"{col}_source"] == "adjudicated") | whole)).sum()))
            for col, split in disputed(df).items()}


def _alpha_minimums(alphas: Mapping[str, float | None], quality: Mapping) -> list[tuple[str, float]]:
    """(dimension, minimum) for every dimension a `quality.min_alpha` key names (`stance:*`: each)."""
    out = []
    for key, minimum in sorted((quality.get("min_alpha") or {}).items()):
        names = [d for d in alphas if d.startswith(key[:-1])] if key.endswith("*") else [key]
        out += [(d, minimum) for d in sorted(names)]
    return out


def held_by_adjudication(alphas: Mapping[str, float | None], quality: Mapping,
                         settled: Mapping[str, tuple[int, int]]) -> list[str]:
    """The alpha gates a dimension misses but passes because an adjudicator decided every article
    its annotators disagreed on (`gate_failures`), one sentence each: the gates report and the card
    state them."""
    out = []
    for d, minimum in _alpha_minimums(alphas, quality):
        a = alphas.get(d)
        split, decided = settled.get(gold_column(d), (None, 0))
        if a is not None and a < minimum and split is not None and decided == split:
            out.append(f"alpha for {d} is {a:.3f}, below the minimum {minimum}; all {split} articles its "
                       "annotators disagreed on were decided by an adjudicator")
    return out


def gate_failures(alphas: Mapping[str, float | None], unresolved: Mapping[str, float], quality: Mapping,
                  settled: Mapping[str, tuple[int, int]] | None = None) -> list[str]:
    """One message per dimension below its threshold (params.yaml `quality`). Keys of `min_alpha`
    are dimension names as in the agreement metrics (`primary_frame`, `tone`, `frames_masi`,
    `stance:<target>`, `frames:<frame>`), or a prefix with `*` (`stance:*`). With
    `gate_on: lower`, `alphas` hold the lower ends of the 95% intervals.

    `settled` (`disputes_settled`): a dimension whose alpha misses its minimum passes once an
    adjudicator decided every article its annotators disagreed on: its gold no longer rests on a
    vote of annotators who agree too little (the card still reports that alpha)."""
    settled = settled or {}
    what = "the lower end of the 95% interval of alpha" if quality.get("gate_on") == "lower" else "alpha"
    msgs = []
    for key, minimum in sorted((quality.get("min_alpha") or {}).items()):
        names = [d for d in alphas if d.startswith(key[:-1])] if key.endswith("*") else [key]
        if not names:
            msgs.append(f"quality gate: no agreement figure for {key!r} (params.yaml quality.min_alpha; "
                        "dimension names as in metrics/agreement.json)")
        for d in sorted(names):
            a = alphas.get(d)
            if d not in alphas:
                msgs.append(f"quality gate: no agreement figure for {d!r} (params.yaml quality.min_alpha; "
                            "dimension names as in metrics/agreement.json)")
            elif a is None:
                msgs.append(f"quality gate: {what} for {d} is undefined (too few paired labels), minimum {minimum}")
            elif a < minimum:
                disputed, decided = settled.get(gold_column(d), (None, 0))
                if disputed is not None and decided == disputed:
                    continue  # every disagreement was decided by an adjudicator
                progress = f"; {decided} of its {disputed} disputed articles adjudicated" if disputed else ""
                msgs.append(f"quality gate: {what} for {d} is {a:.3f}, below the minimum {minimum} (params.yaml "
                            f"quality.min_alpha.{key}{progress})")
    limit = quality.get("max_unresolved_share")
    if limit is not None:
        for d, share in sorted(unresolved.items()):
            if share > limit:
                msgs.append(f"quality gate: {share:.0%} of articles have an unresolved {d} label, above the maximum "
                            f"{limit:.0%} (params.yaml quality.max_unresolved_share)")
    return msgs


@dataclass(frozen=True)
class AggregateReport:
    gate_failures: list[str]  # quality gates missed: the gold is written, `publish` refuses it
    gold: pa.Table | None = None
    spans: pa.Table | None = None
    paths: dict[str, Path] = field(default_factory=dict)
    in_progress: list[str] = field(default_factory=list)  # articles still waiting for annotators: interim gold
    held_by_adjudication: list[str] = field(default_factory=list)  # alpha gates missed, every dispute adjudicated
    alpha_gate_columns: list[str] = field(default_factory=list)  # gold columns whose alpha gate fails: adjudicate them
    assisted: dict = field(default_factory=dict)  # what the gold made of annotations shown a suggestion

    @property
    def interim(self) -> bool:
        return bool(self.in_progress)


GATES = "gates.json"  # beside gold.parquet: what `publish` checks before it releases anything


def gates_report(report: AggregateReport, method: str, gold_sha256: str) -> bytes:
    """The gates file: whether the gold (`gold_sha256`: the gold.parquet it describes) may be
    released, and why not."""
    doc = {"passed": not report.gate_failures and not report.interim, "gate_failures": report.gate_failures,
           "interim": report.interim, "articles_in_progress": len(report.in_progress),
           "in_progress": report.in_progress[:100], "method": method,
           "held_by_adjudication": report.held_by_adjudication, "alpha_gate_columns": report.alpha_gate_columns,
           "assisted": report.assisted, "gold_sha256": gold_sha256}
    return (json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def read_gates(folder: Path) -> dict | None:
    """The gates file in FOLDER (None when there is none); a file that is not one is an error."""
    path = Path(folder) / GATES
    if not path.exists():
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        raise AggregateError(f"{path}: not JSON (run `framestance aggregate`)") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("gate_failures"), list) or "interim" not in doc:
        raise AggregateError(f"{path}: not a gates report (run `framestance aggregate`)")
    return doc


def unassisted(tables: Mapping[str, pd.DataFrame], rule: str, min_annotators: int = 1
               ) -> tuple[dict[str, pd.DataFrame], dict]:
    """The tables the gold is made from under `aggregate.assisted` (exclude: without the
    annotations shown a suggestion, and their answers, stances and spans), and what that left out,
    in submitted annotations: {gold_uses, annotations_shown_a_suggestion, annotations_left_out,
    articles_left_out (every annotation of theirs was shown one: no gold label),
    articles_short_of_annotators (fewer than `min_annotators` left: labels unresolved)}."""
    if rule not in ("exclude", "include"):
        raise AggregateError(f"aggregate.assisted {rule!r}: use exclude or include")
    ann = tables["annotations"]
    shown = ann["suggested"].fillna(False).astype(bool) if "suggested" in ann else pd.Series(False, index=ann.index)
    done = ann["status"] == SUBMITTED
    shown_done = int((shown & done).sum())
    report = {"gold_uses": "every annotation" if rule == "include" else "annotations not shown a suggestion",
              "annotations_shown_a_suggestion": shown_done}
    if rule == "include" or not shown.any():
        return dict(tables), report | {"annotations_left_out": 0, "articles_left_out": 0, "articles_short_of_annotators": 0}
    gone = set(ann.loc[shown, "annotation_id"])
    out = dict(tables)
    for name in ("annotations", "answers", "stances", "spans"):
        if name in out and out[name] is not None:
            out[name] = out[name][~out[name]["annotation_id"].isin(gone)].reset_index(drop=True)
    before = ann[done].groupby("article_id").size()
    after = ann[done & ~shown].groupby("article_id").size().reindex(before.index, fill_value=0)
    return out, report | {"annotations_left_out": shown_done, "articles_left_out": int((after == 0).sum()),
                          "articles_short_of_annotators": int(((after > 0) & (after < min_annotators)
                                                               & (before >= min_annotators)).sum())}


def run(tables: Mapping[str, pd.DataFrame], cb: Codebook, config: AggregateConfig, quality: QualityConfig,
        out: Path) -> AggregateReport:
    """Gold labels and consolidated spans from checked tables, the quality gates of `quality`, the
    gold tables checked against their own schema; written to OUT with the gates report
    (`gates.json`) whether the gates hold or not: adjudication works on this gold, and `publish`
    refuses it while a gate fails or articles are still in progress (interim gold)."""
    from . import agreement as ag
    from .io import atomic_write, write_table
    from .validate import nullable_ints
    from .validate import validate as check

    checked = check(dict(tables), cb, min_annotators=quality.min_annotators)
    # too few annotators is a gate (those articles' labels are `unresolved`), not invalid data
    too_few = [(t, c, n) for t, c, n in checked.counts() if c.startswith("quality gate:")]
    failed = [x for x in checked.counts() if x not in too_few]
    if failed:  # gold labels are never made from tables that validation rejects
        shown = "; ".join(f"{t}: {c} ({n} rows)" for t, c, n in failed[:8])
        raise AggregateError(f"refusing to aggregate: the tables fail validation: {shown} (run `framestance validate`)")
    texts = dict(zip(tables["articles"]["article_id"], tables["articles"]["text"]))
    texts = {a: t for a, t in texts.items() if a not in cb.gold}  # no consolidated spans on gold questions
    tables, assisted = unassisted(tables, config.assisted, quality.min_annotators)
    gold = gold_labels(tables["annotations"], tables["stances"], cb, method=config.method, tie=config.tie,
                       min_annotators=quality.min_annotators, min_support=config.min_support,
                       ds_min_items=config.ds_min_items)
    spans = gold_spans(tables["annotations"], tables["spans"], texts)
    if quality.gate_on not in ("point", "lower"):
        raise AggregateError(f"quality.gate_on {quality.gate_on!r}: use point or lower")
    lower = quality.gate_on == "lower"
    metrics = ag.compute(tables["annotations"], tables["stances"], tables["spans"], cb, None,
                         resamples=ag.RESAMPLES if lower else 0, answers=tables.get("answers"))
    unrounded = metrics.get("alpha_ci95_unrounded") or {}
    alphas = {r["dimension"]: ((unrounded.get(r["dimension"]) or [None])[0] if r["ci95"] else None) if lower
              else r["alpha"] for r in ag.summary_rows(metrics)}
    shares, settled = unresolved_shares(gold, cb), disputes_settled(gold)
    problems = [f"{c}: {n} articles will get no more annotators (`framestance validate` names them)"
                for _t, c, n in too_few]
    problems += gate_failures(alphas, shares, asdict(quality), settled)
    by_adjudication = held_by_adjudication(alphas, asdict(quality), settled)
    below = {gold_column(d) for d, minimum in _alpha_minimums(alphas, asdict(quality))
             if (a := alphas.get(d)) is not None and a < minimum}
    failing = sorted(c for c in below if settled.get(c, (None, 0))[0] != settled.get(c, (None, 0))[1])
    if quality.min_gold_accuracy is not None:
        for who, p in sorted(metrics["annotators"].items()):
            if p.get("gold_tasks") and p["gold_accuracy"] is not None and p["gold_accuracy"] < quality.min_gold_accuracy:
                problems.append(f"quality gate: {who} answered {p['gold_accuracy']:.0%} of the gold questions right "
                                f"({p['gold_tasks']} questions), below the minimum {quality.min_gold_accuracy:.0%} "
                                "(params.yaml quality.min_gold_accuracy)")
    own = check({"articles": tables["articles"], "gold": gold.to_pandas(types_mapper=nullable_ints),
                 "gold_spans": spans.to_pandas(types_mapper=nullable_ints)}, cb)
    wrong = [c for c in own.counts() if c[0] in ("gold", "gold_spans")]  # the corpus is validate's business
    if wrong:  # a bug, not a user mistake: say which check failed
        raise AggregateError(f"the gold labels fail their own schema: {wrong[:5]}")
    paths = {name: write_table(t, out / f"{name}.parquet") for name, t in (("gold", gold), ("gold_spans", spans))}
    report = AggregateReport(problems, gold, spans, paths, checked.in_progress, by_adjudication, failing, assisted)
    from .io import sha256_file

    paths["gates"] = atomic_write(out / GATES, gates_report(report, config.method, sha256_file(paths["gold"])))
    return report
