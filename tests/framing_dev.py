"""framing-dev (`../shared/framing-dev/`, real annotators' own answers) as framestance tables, for the
tests and benchmarks that replay it; None where the folder is absent. Nothing of it is copied here.

Each of its 23 yes/no questions is one binary "frame" of a codebook with no primary frame, tone or
stance: an annotator's frames are the questions they answered yes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from framestance.codebook import Codebook, Label

PATH = Path(__file__).resolve().parents[2] / "shared" / "framing-dev" / "articles.jsonl"
QUESTIONS = ("co1", "co2", "co3", "co4", "ec1", "ec2", "ec3", "hi1", "hi2", "hi3", "hi4", "hi5", "mo1", "mo2", "mo3",
             "re1", "re1a", "re2", "re3", "re4", "re5", "re6", "re7")
CODEBOOK = Codebook(
    name="framing-dev questions", version=1, frames=tuple(Label(q, q, q) for q in QUESTIONS), tone=(), stance_values=(),
    stance_order=(), targets=(),
    relevance=(Label("relevant", "Relevant", ""), Label("not_relevant", "Not relevant", "")))


def load() -> list[dict] | None:
    """The articles: id, coders (sorted), answers {question: {annotator: yes|no}}, published."""
    if not PATH.exists():
        return None
    rows = []
    for line in PATH.read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        answers = {q: dict(r["answers"][q]["by_annotator"]) for q in QUESTIONS}
        coders = sorted(set().union(*answers.values()))
        rows.append({"id": r["id"], "coders": coders, "answers": answers,
                     "published": {q: r["answers"][q]["published"] for q in QUESTIONS}})
    return rows


def annotation_table(rows: list[dict], leave_out: dict[str, str] | None = None) -> pd.DataFrame:
    """An annotations table (one submitted annotation per article and annotator); `leave_out`:
    article -> an annotator whose answers there are left out."""
    out: list[dict[str, Any]] = []
    for r in rows:
        for who in r["coders"]:
            if leave_out and leave_out.get(r["id"]) == who:
                continue
            yes = [q for q in QUESTIONS if r["answers"][q].get(who) == "yes"]
            out.append({"article_id": r["id"], "text_sha256": None, "annotation_id": len(out), "annotator": who,
                        "status": "submitted", "relevance": "relevant", "primary_frame": None,
                        "frames": np.array(yes, dtype=object), "tone": None, "lead_time": None, "task_id": None,
                        "created_at": None, "updated_at": None, "ground_truth": False})
    return pd.DataFrame(out)


NO_STANCES = pd.DataFrame({"article_id": pd.Series(dtype=object), "annotation_id": pd.Series(dtype="int64"),
                           "annotator": pd.Series(dtype=object), "status": pd.Series(dtype=object),
                           "target": pd.Series(dtype=object), "value": pd.Series(dtype=object)})


def generic_tables(rows: list[dict], cb: Codebook) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The annotators' answers as framestance tables for the generic-frames codebook
    (schemas/codebooks/generic-frames.yaml, its questions are framing-dev's): an annotations table
    whose frames follow from each annotator's answers by the codebook's rules, and the answers
    table ("n/a" answers, 24 of 15,870, read as no)."""
    ann: list[dict[str, Any]] = []
    answers: list[dict[str, Any]] = []
    for r in rows:
        for who in r["coders"]:
            aid = len(ann) + 1
            yes = set()
            for q in cb.question_ids():
                a = "yes" if r["answers"][q].get(who) == "yes" else "no"
                answers.append({"article_id": r["id"], "annotation_id": aid, "annotator": who, "status": "submitted",
                                "question": q, "answer": a})
                if a == "yes":
                    yes.add(q)
            ann.append({"article_id": r["id"], "text_sha256": None, "task_id": None, "annotation_id": aid,
                        "annotator": who, "status": "submitted", "relevance": "relevant", "primary_frame": None,
                        "frames": np.array(cb.frames_of(yes), dtype=object), "tone": None, "lead_time": None,
                        "created_at": None, "updated_at": None, "ground_truth": False})
    return pd.DataFrame(ann), pd.DataFrame(answers)


def articles_table() -> pd.DataFrame:
    """article_id, title, text of framing-dev's articles (for models trained on them)."""
    out = []
    for line in PATH.read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        out.append({"article_id": r["id"], "title": r["headline_hint"], "text": r["text"], "duplicate_of": None})
    return pd.DataFrame(out)


def ece(support: np.ndarray, hit: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: the count-weighted mean gap between mean support and the held-out
    agreement rate, over 10 equal-width bins of support."""
    which = np.minimum((support * bins).astype(int), bins - 1)
    gap = 0.0
    for b in range(bins):
        m = which == b
        if m.any():
            gap += m.sum() * abs(support[m].mean() - hit[m].mean())
    return float(gap / len(support))
