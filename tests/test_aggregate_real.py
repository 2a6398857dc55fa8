"""Gold labels on real annotators: framing-dev's 304 climate articles, 23 yes/no questions coded by
2-3 trained annotators (`../shared/framing-dev/`; skipped where it is absent).

* Majority reproduces the data set's own published aggregate on every article and question.
* With one annotator of every three-annotator article held out, no vote tie is decided by any
  method, and support (the estimated probability that one more annotator gives the label) is
  calibrated against the held-out annotator: expected calibration error at most 0.05.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from framestance.aggregate import _dawid_skene, _predictive, gold_labels

from .framing_dev import CODEBOOK, NO_STANCES, QUESTIONS, annotation_table, ece, load

ROWS = load()
pytestmark = pytest.mark.skipif(ROWS is None, reason="../shared/framing-dev is absent")


def test_majority_reproduces_the_published_aggregate():
    assert ROWS is not None
    gold = {r["article_id"]: r for r in gold_labels(annotation_table(ROWS), NO_STANCES, CODEBOOK).to_pylist()}
    checked = 0
    for r in ROWS:
        g = gold[r["id"]]
        for q in QUESTIONS:
            published = r["published"][q]
            if not set(r["answers"][q].values()) <= {"yes", "no"}:
                continue  # 24 answers of 15,870 are "n/a: problem is resolved", read as no here
            ours = "NO AGREEMENT" if q in g["frames_unresolved"] else ("yes" if q in g["frames"] else "no")
            assert ours == published, (r["id"], q, ours, published)
            checked += 1
    assert checked > 304 * 23 - 20


@pytest.mark.parametrize("method", ["majority", "dawid-skene"])
def test_held_out_annotators_no_tie_decided_and_support_calibrated(method):
    assert ROWS is not None
    three = [r for r in ROWS if len(r["coders"]) == 3]
    assert len(three) == 82
    support, hit = [], []
    ties = 0
    for rank in range(3):
        held = {r["id"]: r["coders"][rank] for r in three}
        ann = annotation_table(ROWS, leave_out=held)
        gold = {g["article_id"]: g for g in gold_labels(ann, NO_STANCES, CODEBOOK, method=method, ds_min_items=1).to_pylist()}
        for q in QUESTIONS:
            long = pd.DataFrame({"task": ann["article_id"], "worker": ann["annotator"],
                                 "label": ["yes" if q in set(f) else "no" for f in ann["frames"]]})
            counts = pd.crosstab(long["task"], long["label"]).reindex(columns=["no", "yes"], fill_value=0)
            pred, _ = _predictive(counts.to_numpy(np.float64))
            decided = _dawid_skene(long) if method == "dawid-skene" else None
            for a, who in held.items():
                i = counts.index.get_loc(a)
                no, yes = counts.iloc[i]
                g = gold[a]
                if no == yes:  # a vote tie among the two left: never decided
                    ties += 1
                    assert q in g["frames_unresolved"] and q not in g["frames"], (a, q)
                    continue
                label = ("yes" if yes > no else "no") if decided is None else decided[a][0]
                if ROWS_BY_ID[a]["answers"][q][who] not in ("yes", "no"):
                    continue  # "n/a": the held-out annotator gave neither
                s = float(pred[i, int(label == "yes")]) if decided is None else decided[a][1]
                if label == "yes":  # what the gold table says is what was scored
                    assert q in g["frames"] and g["frames_support"][g["frames"].index(q)] == pytest.approx(s)
                else:
                    assert q not in g["frames"] and q not in g["frames_unresolved"]
                support.append(s)
                hit.append(ROWS_BY_ID[a]["answers"][q][who] == label)
    assert ties > 1000  # the two left disagree often: the check above is not empty
    error = ece(np.array(support), np.array(hit, bool))
    assert error <= 0.05, error


ROWS_BY_ID = {r["id"]: r for r in ROWS or []}
