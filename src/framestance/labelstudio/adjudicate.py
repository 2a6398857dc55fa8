"""Stage 4d: adjudication. Articles whose gold label is not settled go to an adjudicator.

`select` picks the articles whose gold (`aggregate`'s output) has an `unresolved` label, an
unresolved frame, or a label whose support is below `below`. `push_round` sends them to the
project `NAME · adjudication`, on the lead's server, where each control group shows every
annotator's label for it (by letter; a line names the pseudonyms), marked agreed or disputed,
with the agreed labels filled in (a prediction, `AGREED`): the adjudicator decides the disputed
ones and submits. `pull` reads that project
with the others and marks its annotations `adjudicated` (never votes, never in agreement);
`aggregate` then takes the decision over the vote, label by label (`*_source = adjudicated`).
Idempotent like push: an article already in the adjudication project is not sent again.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from ..codebook import Codebook
from ..errors import FramestanceError
from ..schema import UNRESOLVED, is_relevant, submitted
from .client import Client, title_problem
from .interface import check_config, labeling_config, short_name
from .pull import ADJUDICATION
from .push import TASK_COLUMNS, PushReport, _fill, _keys, ensure_project, load_candidates


class AdjudicateError(FramestanceError, ValueError):
    pass


def adjudication_title(project: str) -> str:
    return f"{project} · {ADJUDICATION}"


def select(gold: list[dict], cb: Codebook, below: float, disputed_in: Collection[str] = ()) -> list[str]:
    """Articles with an unresolved label or frame, or a label or gold frame whose support (the
    chance one more annotator gives it) is below `below` (gold rows as dicts), that have no
    decision yet. `disputed_in`: gold columns whose alpha misses its gate (`gates.json`): every
    article its annotators disagreed on there goes too, since that gate holds only once an
    adjudicator has decided them all."""
    from ..aggregate import disputed

    single = ["relevance", "primary_frame", "tone", *(f"stance_{t.id}" for t in cb.targets)]
    split = set()
    if disputed_in and gold:
        frame = pd.DataFrame(gold)
        for col, mask in disputed(frame).items():
            if col in disputed_in:
                split |= set(frame["article_id"][mask.to_numpy(bool)])
    out = []
    for r in gold:
        unsettled = any(r.get(c) == UNRESOLVED for c in single) or len(r.get("frames_unresolved") or []) > 0
        weak = any(r.get(f"{c}_support") is not None and r[f"{c}_support"] < below for c in single) \
            or any(x is not None and x < below for x in r.get("frames_support") or [])
        adjudicated = "adjudicated" in (r.get("relevance_source"), r.get("frames_source"))  # every decision sets one
        if (unsettled or weak or r["article_id"] in split) and not adjudicated:
            out.append(r["article_id"])
    return sorted(out)


#: The prediction that fills in the agreed labels of an adjudication task.
AGREED = "agreed labels"


def vote_line(control: str, given: dict[str, Any], shown: Callable[[Any], str]) -> tuple[str, dict | None]:
    """One control's line ("✔ agreed: X", or "✖ disputed: A X · B Y"; `given`: letter -> label or
    list of labels) and, when agreed, the result item that fills it in."""
    if len(given) >= 2 and len({repr(v) for v in given.values()}) == 1:
        value = next(iter(given.values()))
        names = value if isinstance(value, list) else [value]
        item = {"from_name": control, "to_name": "text", "type": "choices", "value": {"choices": names}} if names else None
        return f"✔ agreed: {shown(value)}", item
    return "✖ disputed: " + " · ".join(f"{x} {shown(v)}" for x, v in given.items()), None


def votes(annotations: pd.DataFrame, stances: pd.DataFrame, cb: Codebook,
          answers: pd.DataFrame | None = None) -> dict[str, dict]:
    """article -> {"data": the task's vote lines, "agreed": the result items all annotators agree on}.

    Data: `vote_who` ("A = ann-..., B = ann-...") and, for every control in the interface's order,
    `vote_<control>` (`vote_line`). A label counts as agreed when at least two annotators gave it
    and nobody gave another; frames when their sets are equal. Annotators who found the article
    not about the issue gave no other label. Only the controls the codebook's page has: a codebook
    of questions has a line per question (`answers`), no primary frame or frames to tick."""
    frames = {f.id: f.name for f in cb.frames}
    tones = {t.id: t.name for t in cb.tone}
    values = {v.id: v.name for v in cb.stance_values}
    not_relevant = cb.relevance[1].name
    ann = submitted(annotations)
    ann = ann.assign(relevant=is_relevant(ann)).sort_values(["article_id", "annotator", "annotation_id"])
    st = submitted(stances)
    stance_of = {(a, t): values.get(v, v) for a, t, v in zip(st["annotation_id"], st["target"], st["value"])}
    an = submitted(answers) if answers is not None else None
    answer_of = {} if an is None else {(a, q): v.capitalize() for a, q, v in zip(an["annotation_id"], an["question"], an["answer"])}
    on_page = {cb.RELEVANCE, *((cb.PRIMARY,) if cb.primary and not cb.questions else ()),
               *((cb.FRAMES,) if not cb.questions else ()), *((cb.TONE,) if cb.tone else ()),
               *(cb.stance_control(t.id) for t in cb.targets), *(cb.question_control(q.id) for q in cb.questions)}
    out: dict[str, dict] = {}
    for article, group in ann.groupby("article_id", sort=True):
        rows = group.drop_duplicates("annotator", keep="last").to_dict("records")  # each annotator's latest
        letter = {r["annotator"]: chr(ord("A") + i) for i, r in enumerate(rows)}
        coded = [r for r in rows if r["relevant"]]
        asked: list[tuple[str, dict[str, Any], Callable[[Any], str]]] = [
            (cb.RELEVANCE, {letter[r["annotator"]]: [] if r["relevant"] else [not_relevant] for r in rows},
             lambda v: "not about the issue" if v else "about the issue"),
            (cb.PRIMARY, {letter[r["annotator"]]: frames.get(r["primary_frame"], r["primary_frame"]) for r in coded
                          if r["primary_frame"] is not None}, lambda v: short_name(str(v))),
            (cb.FRAMES, {letter[r["annotator"]]: sorted(frames.get(f, f) for f in (r["frames"] if r["frames"] is not None else []))
                         for r in coded}, lambda v: ", ".join(short_name(f) for f in v) or "none"),
            (cb.TONE, {letter[r["annotator"]]: tones.get(r["tone"], r["tone"]) for r in coded if r["tone"] is not None}, str),
            *((cb.stance_control(t.id), {letter[r["annotator"]]: stance_of[(r["annotation_id"], t.id)] for r in coded
                                         if (r["annotation_id"], t.id) in stance_of}, str) for t in cb.targets),
            *((cb.question_control(q.id), {letter[r["annotator"]]: answer_of[(r["annotation_id"], q.id)] for r in coded
                                           if (r["annotation_id"], q.id) in answer_of}, str) for q in cb.questions),
        ]
        asked = [x for x in asked if x[0] in on_page]
        data = {"vote_who": "Annotators: " + ", ".join(f"{x} = {a}" for a, x in letter.items())}
        agreed = []
        for control, given, shown in asked:
            data[f"vote_{control}"], item = vote_line(control, given, shown)
            if item is not None:
                agreed.append(item)
        out[article] = {"data": data, "agreed": agreed}
    return out


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
    from ..aggregate import read_gates

    gold = pq.read_table(paths["gold"]).to_pylist()
    gates = read_gates(Path(gold_dir)) or {}
    report = AdjudicationReport(selected=select(gold, cb, below, gates.get("alpha_gate_columns") or ()))
    table, rows, _dups = load_candidates(corpus_dir)
    by_id = {r["article_id"]: r for r in rows}
    missing = [a for a in report.selected if a not in by_id]
    if missing:
        raise AdjudicateError(f"gold labels for articles not in {corpus_dir}: {', '.join(missing[:5])}")
    answers_path = Path(annotations_dir) / "answers.parquet"
    shown = votes(pq.read_table(paths["annotations"]).to_pandas(), pq.read_table(paths["stances"]).to_pandas(), cb,
                  pq.read_table(answers_path).to_pandas() if answers_path.exists() else None)
    config = labeling_config(cb, votes=True)
    check_config(config)
    push_report = PushReport()
    pid = ensure_project(client, title, cb, push_report, config=config)
    report.project_id = pid
    picked = [by_id[a] for a in report.selected]
    extra = {a: shown[a]["data"] if a in shown else {} for a in report.selected}
    agreed = {a: [{"model_version": AGREED, "score": 1.0, "result": shown[a]["agreed"]}]
              for a in report.selected if a in shown and shown[a]["agreed"]}
    _fill(client, pid, picked, table.select(TASK_COLUMNS), agreed, push_report, progress, 6, total=len(picked), done=0,
          keys=_keys(client, pid, lock_dir), cache_dir=lock_dir, extra=extra)
    report.created, report.already_present = push_report.created, push_report.already_present
    return report
