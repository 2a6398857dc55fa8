"""Stage 4d: adjudication. Articles whose gold label is not settled go to an adjudicator.

`select` picks the articles whose gold (`aggregate`'s output) has an `unresolved` label, an
unresolved frame, or a label whose support is below `below`. `push_round` sends them to the
project `NAME · adjudication`, where each task shows every annotator's labels (by pseudonym)
above the article, with the same controls as the annotators' queues. `pull` reads that project
with the others and marks its annotations `adjudicated` (never votes, never in agreement);
`aggregate` then takes the decision over the vote, label by label (`*_source = adjudicated`).
Idempotent like push: an article already in the adjudication project is not sent again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from ..codebook import Codebook
from ..errors import FramestanceError
from ..schema import UNRESOLVED, is_relevant, submitted
from .client import Client, title_problem
from .interface import check_config, labeling_config
from .pull import ADJUDICATION
from .push import TASK_COLUMNS, PushReport, _fill, _keys, ensure_project, load_candidates


class AdjudicateError(FramestanceError, ValueError):
    pass


def adjudication_title(project: str) -> str:
    return f"{project} · {ADJUDICATION}"


def select(gold: list[dict], cb: Codebook, below: float) -> list[str]:
    """Articles with an unresolved label or frame, or a label supported by fewer than `below`
    (gold rows as dicts), that have no decision yet."""
    single = ["relevance", "primary_frame", "tone", *(f"stance_{t.id}" for t in cb.targets)]
    out = []
    for r in gold:
        unsettled = any(r.get(c) == UNRESOLVED for c in single) or len(r.get("frames_unresolved") or []) > 0
        weak = any(r.get(f"{c}_support") is not None and r[f"{c}_support"] < below for c in single)
        adjudicated = "adjudicated" in (r.get("relevance_source"), r.get("frames_source"))  # every decision sets one
        if (unsettled or weak) and not adjudicated:
            out.append(r["article_id"])
    return sorted(out)


def votes_text(annotations: pd.DataFrame, stances: pd.DataFrame, cb: Codebook) -> dict[str, str]:
    """article -> one line per annotator: their primary frame, frames, tone and stances (names), or
    that they found the article not about the issue."""
    frames = {f.id: f.name for f in cb.frames}
    tones = {t.id: t.name for t in cb.tone}
    values = {v.id: v.name for v in cb.stance_values}
    targets = {t.id: t.name for t in cb.targets}
    ann = submitted(annotations)
    st = submitted(stances)
    stance_of: dict[tuple, list[str]] = {}
    for aid, target, value in zip(st["annotation_id"], st["target"], st["value"]):
        stance_of.setdefault(aid, []).append(f"{targets.get(target, target)}: {values.get(value, value)}")
    out: dict[str, list[str]] = {}
    ann = ann.assign(relevant=is_relevant(ann))
    for r in ann.sort_values(["article_id", "annotator"]).to_dict("records"):
        if not r["relevant"]:
            out.setdefault(r["article_id"], []).append(f"{r['annotator']}: {cb.relevance[1].name.lower()}")
            continue
        marked = ", ".join(frames.get(f, f) for f in (r["frames"] if r["frames"] is not None else []))
        out.setdefault(r["article_id"], []).append(
            f"{r['annotator']}: primary {frames.get(r['primary_frame'], r['primary_frame'])}; frames {marked or '-'}; "
            f"tone {tones.get(r['tone'], r['tone'])}; " + "; ".join(sorted(stance_of.get(r["annotation_id"], []))))
    return {a: "\n".join(lines) for a, lines in out.items()}


@dataclass
class AdjudicationReport:
    project_id: int = 0
    selected: list[str] = field(default_factory=list)
    created: int = 0
    already_present: int = 0


def push_round(client: Client, corpus_dir: Path, gold_dir: Path, annotations_dir: Path, project: str, cb: Codebook,
               below: float = 0.5, lock_dir: Path | None = None,
               progress: Callable[[int, int], None] | None = None) -> AdjudicationReport:
    title = adjudication_title(project)
    problem = title_problem(title)
    if problem:
        raise AdjudicateError(problem)
    paths = {name: Path(folder) / f"{name}.parquet" for name, folder in
             (("gold", gold_dir), ("annotations", annotations_dir), ("stances", annotations_dir))}
    for p in paths.values():
        if not p.exists():
            raise AdjudicateError(f"{p}: no such file (run `framestance pull` and `framestance aggregate` first)")
    gold = pq.read_table(paths["gold"]).to_pylist()
    report = AdjudicationReport(selected=select(gold, cb, below))
    table, rows, _dups = load_candidates(corpus_dir)
    by_id = {r["article_id"]: r for r in rows}
    missing = [a for a in report.selected if a not in by_id]
    if missing:
        raise AdjudicateError(f"gold labels for articles not in {corpus_dir}: {', '.join(missing[:5])}")
    votes = votes_text(pq.read_table(paths["annotations"]).to_pandas(), pq.read_table(paths["stances"]).to_pandas(), cb)
    config = labeling_config(cb, votes=True)
    check_config(config)
    push_report = PushReport()
    pid = ensure_project(client, title, cb, push_report, config=config)
    report.project_id = pid
    picked = [by_id[a] for a in report.selected]
    extra = {a: {"votes": votes.get(a, "")} for a in report.selected}
    _fill(client, pid, picked, table.select(TASK_COLUMNS), {}, push_report, progress, 6, total=len(picked), done=0,
          keys=_keys(client, pid, lock_dir), cache_dir=lock_dir, extra=extra)
    report.created, report.already_present = push_report.created, push_report.already_present
    return report
