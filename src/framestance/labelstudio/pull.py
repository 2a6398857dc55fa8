"""Stage 3: annotations come back as a raw export snapshot plus flat Arrow tables.

The snapshot is the server's export with every user identity replaced by a keyed pseudonym
(`scrub`), stored canonical (sorted keys), content-addressed and dated:
`annotations/<project>/<YYYYmmddTHHMMSSZ>-<sha256[:12]>.json`. Snapshots are tracked in git, so
they never hold an e-mail, a name or a Label Studio user id; the pseudonym -> user mapping and the
key stay in git-ignored files. The tables are derived from a snapshot alone
(`tables_from_snapshot`), sorted and free of pull times, so that the same snapshot always gives the
same bytes, on any machine.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa

from ..codebook import Codebook, described_codebook
from ..errors import FramestanceError
from ..io import atomic_write, slug, write_table
from ..isodate import has_zone, parse_iso
from ..pseudonym import Pseudonymiser, is_pseudonym
from ..schema import ADJUDICATED, ANNOTATION, ANSWER, QUEUES, SPAN, STANCE, SUBMITTED, TASK


class PullError(FramestanceError, ValueError):
    pass


#: Keys of Label Studio's export that hold users (an id, a {id, email, ...} object, or a list of them).
USER_KEYS = frozenset({"completed_by", "updated_by", "created_by", "last_created_by", "user", "comment_authors",
                       "reviewers", "annotator"})
#: Keys that name a user in free text ("First Last email, 7") or depend on when the export ran.
DROP_KEYS = frozenset({"created_username", "created_ago"})
_TRAILING_ID = re.compile(r",\s*(\d+)\s*$")


def _tasks(export: bytes) -> list:
    try:
        tasks = json.loads(export)
    except ValueError as exc:
        raise PullError(f"the export is not JSON ({exc})") from None
    if not isinstance(tasks, list):
        raise PullError("the export is not a list of tasks")
    return tasks


def scrub(raw: bytes, pseudonym) -> bytes:
    """The export with every user replaced by its pseudonym, as canonical JSON bytes."""
    return canonical(scrub_tasks(raw, pseudonym))


def canonical(tasks: list) -> bytes:
    """The bytes a snapshot is stored as (sorted keys: the same tasks give the same file)."""
    return json.dumps(tasks, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def scrub_tasks(raw: bytes | list, pseudonym) -> list:
    """The export's tasks (its bytes, or the tasks parsed) with every user replaced by its pseudonym."""
    tasks = raw if isinstance(raw, list) else _tasks(raw)

    def users(value):
        if isinstance(value, list):
            return [users(v) for v in value]
        if value is None or is_pseudonym(value):
            return value
        return pseudonym(value)

    def walk(node):
        if isinstance(node, dict):
            node = dict(node)
            # a draft's `user` is the user's string form (an e-mail); its id is at the end of
            # `created_username`: pseudonymise by id, like annotations, so one person is one pseudonym
            named = _TRAILING_ID.search(str(node.get("created_username") or ""))
            if named and isinstance(node.get("user"), str) and not is_pseudonym(node["user"]):
                node["user"] = int(named.group(1))
            return {k: users(v) if k in USER_KEYS else walk(v) for k, v in node.items() if k not in DROP_KEYS}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(tasks)


class _Bad(Exception):
    """A malformed field: where (task, annotation) is added by the caller."""


def _ts(value: Any, field: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Bad(f"{field} {value!r} is not a date-time string")
    parsed = parse_iso(value)
    if parsed is None:
        raise _Bad(f"{field} {value!r} is not an ISO-8601 date-time")
    if len(value.strip()) > 10 and not has_zone(value):
        raise _Bad(f"{field} {value!r} has no time zone (Label Studio writes UTC with Z)")
    return parsed[0]


def _int(value: Any, field: str, optional: bool = True) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Bad(f"{field} {value!r} is not an integer")
    return value


def _number(value: Any, field: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Bad(f"{field} {value!r} is not a number")
    return float(value)


def _strings(value: Any, field: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Bad(f"{field} {value!r} is not a list of strings")
    return value


def tables_from_snapshot(snapshot: bytes, cb: Codebook) -> dict[str, pa.Table]:
    """annotations / stances / spans tables from one scrubbed export (a JSON list of tasks)."""
    return tables_from_tasks(_tasks(snapshot), cb)


def tables_from_tasks(tasks: list, cb: Codebook) -> dict[str, pa.Table]:
    """The tables of a scrubbed export's tasks (parsed once, whether just pulled or read from a snapshot).

    A malformed task stops the pull with one line naming the task and the field (`PullError`):
    the tables are built whole in memory before anything is written, so nothing is half-written."""
    ann_rows: list[dict] = []
    stance_rows: list[dict] = []
    span_rows: list[dict] = []
    task_rows: list[dict] = []
    answer_rows: list[dict] = []
    for i, task in enumerate(tasks):
        where = f"task {i}" if not isinstance(task, dict) else f"task {task.get('id', i)!r}"
        try:
            _task_rows(task, cb, ann_rows, stance_rows, span_rows, answer_rows)
        except _Bad as exc:
            raise PullError(f"{where}: {exc}") from None
        queue = task.get("framestance_queue") or "shared"  # a snapshot from before queues were marked: shared
        if queue not in QUEUES:
            raise PullError(f"{where}: framestance_queue {queue!r} is not one of {', '.join(QUEUES)}")
        task_rows.append({"article_id": task["data"]["article_id"], "task_id": task["id"], "queue": queue})

    def table(rows, schema, key):
        rows.sort(key=key)
        return pa.Table.from_pylist(rows, schema=schema)

    k = lambda r: (r["article_id"] or "", r["annotator"] or "", r["status"], r["annotation_id"] or 0)  # noqa: E731
    return {
        "annotations": table(ann_rows, ANNOTATION, k),
        "stances": table(stance_rows, STANCE, lambda r: (*k(r), r["target"])),
        "spans": table(span_rows, SPAN, lambda r: (*k(r), r["kind"], r["start"] or 0, r["end"] or 0, r["label"] or "")),
        "tasks": table(task_rows, TASK, lambda r: (r["article_id"], r["task_id"])),
        "answers": table(answer_rows, ANSWER, lambda r: (*k(r), r["question"])),
    }


def _task_rows(task: Any, cb: Codebook, ann_rows: list, stance_rows: list, span_rows: list, answer_rows: list) -> None:
    if not isinstance(task, dict):
        raise _Bad(f"is a {type(task).__name__}, not an object")
    tid = _int(task.get("id"), "id")
    data = task.get("data")
    if not isinstance(data, dict):
        raise _Bad("has no `data` object")
    aid = data.get("article_id")
    if not isinstance(aid, str) or not aid:
        raise _Bad(f"data.article_id {aid!r} is not a non-empty string")
    sha = data.get("text_sha256")
    if sha is not None and not isinstance(sha, str):
        raise _Bad(f"data.text_sha256 {sha!r} is not a string")
    frames = cb.by_name(cb.frames)
    tones = cb.by_name(cb.tone)
    values = cb.by_name(cb.stance_values)
    targets = cb.by_name(cb.targets)
    stance_controls = {cb.stance_control(t.id): t.id for t in cb.targets}
    question_controls = {cb.question_control(q.id): q.id for q in cb.questions}
    yes_no = {cb.YES.capitalize(): cb.YES, cb.NO.capitalize(): cb.NO}
    not_relevant = cb.relevance[1].name

    adjudication = task.get("framestance_queue") == ADJUDICATION
    arm = data.get("framestance_arm")
    if arm not in (None, "suggested", "control"):
        raise _Bad(f"data.framestance_arm {arm!r} is not suggested or control")
    shown = [p for p in task.get("predictions") or [] if isinstance(p, dict)
             and str(p.get("model_version") or "").startswith("suggest-")] if arm == "suggested" else []
    said = {r.get("from_name"): (r.get("value") or {}).get("choices") for r in (shown[0].get("result") or [] if shown else [])
            if isinstance(r, dict)}
    dims = data.get("framestance_dimensions")
    if shown and isinstance(dims, list):  # what the suggestion covered: a frame it left unmarked is a suggested no
        said["dimensions"] = sorted(str(d) for d in dims)
    suggestion = json.dumps(said, sort_keys=True, ensure_ascii=False) if shown else None
    # every control of the codebook's interface, with the names it may hold (None: any)
    known: dict[str, Any] = {cb.FRAMES: frames, cb.PRIMARY: frames, cb.TONE: tones, cb.RELEVANCE: None,
                             cb.FRAME_SPANS: frames, cb.EVIDENCE: targets, **{c: values for c in stance_controls},
                             **{c: yes_no for c in question_controls}}

    def one(n: int, ann: Any, kind: str) -> None:
        if not isinstance(ann, dict):
            raise _Bad(f"{kind} {n} is a {type(ann).__name__}, not an object")
        status = "draft" if kind == "draft" else ("cancelled" if ann.get("was_cancelled") else SUBMITTED)
        if status == SUBMITTED and adjudication:  # not Label Studio's ground-truth star: any member can set it
            status = ADJUDICATED
        try:
            _one(ann, status)
        except _Bad as exc:
            raise _Bad(f"{kind} {ann.get('id', n)!r}: {exc}") from None

    def _one(ann: dict, status: str) -> None:
        user = ann.get("completed_by") if status != "draft" else ann.get("user")
        who = user.get("id") if isinstance(user, dict) else user
        if who is not None and not is_pseudonym(who):
            raise PullError(f"task {tid}: annotator {type(who).__name__} is not a pseudonym (scrub the export first)")
        ann_id = _int(ann.get("id"), "id")
        row: dict[str, Any] = {
            "article_id": aid,
            "text_sha256": sha,
            "task_id": tid,
            "annotation_id": ann_id,
            "annotator": who,
            "status": status,
            "created_at": _ts(ann.get("created_at"), "created_at"),
            "updated_at": _ts(ann.get("updated_at"), "updated_at"),
            "lead_time": _number(ann.get("lead_time"), "lead_time"),
            "ground_truth": bool(ann.get("ground_truth")),
            "relevance": cb.RELEVANT,  # the box unticked, or a snapshot from before the box existed
            "primary_frame": None,
            "frames": [],
            "tone": None,
            "suggested": None if arm is None else arm == "suggested",
            "suggestion": suggestion,
        }
        stances: list[dict] = []
        spans: list[dict] = []
        answers: list[dict] = []
        result = ann.get("result")
        if result is not None and not isinstance(result, list):
            raise _Bad(f"result is a {type(result).__name__}, not a list")
        for j, item in enumerate(result or []):
            if not isinstance(item, dict):
                raise _Bad(f"result item {j} is {json.dumps(item)[:40]}, not an object")
            name, value = item.get("from_name"), item.get("value")
            if item.get("type") == "relation" or name is None:
                continue  # a link between two spans: no label of the codebook
            if value is None:
                value = {}
            if not isinstance(value, dict):
                raise _Bad(f"result item {j} ({name}): value is not an object")
            picked = _strings(value.get("choices"), f"result item {j} ({name}) choices")
            if name not in known:
                raise PullError(f"task {tid}: result item {j}: control {name!r} is not in codebook {cb.name} v{cb.version} "
                                f"({cb.source or 'given'}): pull with the codebook the project was pushed with (--codebook)")
            vocabulary = known[name]
            strange = [c for c in [*picked, *_strings(value.get("labels"), f"result item {j} ({name}) labels")]
                       if vocabulary is not None and c not in vocabulary]
            if strange:
                raise PullError(f"task {tid}: result item {j}: {name} label {strange[0]!r} is not in codebook {cb.name} "
                                f"v{cb.version} ({cb.source or 'given'}): pull with the codebook the project was pushed with")
            if name == cb.FRAMES:
                row["frames"] = sorted(frames.get(c, c) for c in picked)
            elif name == cb.PRIMARY and picked:
                row["primary_frame"] = frames.get(picked[0], picked[0])
            elif name == cb.TONE and picked:
                row["tone"] = tones.get(picked[0], picked[0])
            elif name == cb.RELEVANCE and not_relevant in picked:
                row["relevance"] = cb.NOT_RELEVANT
            elif name in stance_controls and picked:
                stances.append({"article_id": aid, "annotation_id": ann_id, "annotator": who, "status": status,
                                    "target": stance_controls[name], "value": values.get(picked[0], picked[0])})
            elif name in question_controls and picked:
                answers.append({"article_id": aid, "annotation_id": ann_id, "annotator": who, "status": status,
                                "question": question_controls[name], "answer": yes_no[picked[0]]})
            elif name in (cb.FRAME_SPANS, cb.EVIDENCE):
                lookup = frames if name == cb.FRAME_SPANS else targets
                start = _int(value.get("start"), f"result item {j} ({name}) start")
                end = _int(value.get("end"), f"result item {j} ({name}) end")
                text = value.get("text")
                if text is not None and not isinstance(text, str):
                    raise _Bad(f"result item {j} ({name}): text is not a string")
                for lab in _strings(value.get("labels"), f"result item {j} ({name}) labels"):
                    spans.append({
                        "article_id": aid, "annotation_id": ann_id, "annotator": who, "status": status,
                        "kind": "frame_cue" if name == cb.FRAME_SPANS else "stance_evidence",
                        "label": lookup.get(lab, lab), "start": start, "end": end, "text": text,
                    })
        if row["relevance"] == cb.NOT_RELEVANT:
            # not about the issue: no other label, even one given before the box hid its question
            row.update(primary_frame=None, frames=[], tone=None)
            stances, spans, answers = [], [], []
        if cb.questions:  # frames follow from the answers, by the codebook's rules
            row["frames"] = cb.frames_of({a["question"] for a in answers if a["answer"] == cb.YES})
        stance_rows.extend(stances)
        span_rows.extend(spans)
        answer_rows.extend(answers)
        if row["primary_frame"] is not None:
            # the primary frame counts as present (the interface asks for it first, then "other frames")
            row["frames"] = sorted({*row["frames"], row["primary_frame"]})
        ann_rows.append(row)

    for key, kind in (("annotations", "annotation"), ("drafts", "draft")):
        items = task.get(key)
        if items is None:
            continue
        if not isinstance(items, list):
            raise _Bad(f"{key} is a {type(items).__name__}, not a list")
        for n, ann in enumerate(items):
            if kind == "draft" and not isinstance(ann, dict):
                continue  # the easy export lists drafts as ids
            one(n, ann, kind)


def write_snapshot(snapshot: bytes, out_dir: Path, project: str, now: datetime | None = None) -> Path:
    """Store the raw export, dated and content-addressed; an identical snapshot is not stored twice."""
    digest = hashlib.sha256(snapshot).hexdigest()[:12]
    folder = Path(out_dir) / slug(project)
    folder.mkdir(parents=True, exist_ok=True)
    existing = sorted(folder.glob(f"*-{digest}.json"))
    if existing:
        return existing[0]
    now = now or datetime.now(UTC)
    path = folder / f"{now:%Y%m%dT%H%M%SZ}-{digest}.json"
    return atomic_write(path, snapshot)


def write_tables(tables: dict[str, pa.Table], out_dir: Path) -> dict[str, Path]:
    return {name: write_table(table, out_dir / f"{name}.parquet") for name, table in tables.items()}


def snapshot_times(out_dir: Path, project: str) -> list[datetime]:
    """When each stored snapshot of PROJECT was pulled (from its name), oldest first: the pull
    batches that agreement is measured per."""
    times = set()
    for path in (Path(out_dir) / slug(project)).glob("*.json"):
        try:
            times.add(datetime.strptime(path.name[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC))
        except ValueError:
            continue  # not a snapshot's name
    return sorted(times)


def latest_snapshot(out_dir: Path, project: str) -> Path | None:
    snaps = sorted((Path(out_dir) / slug(project)).glob("*.json"))
    return snaps[-1] if snaps else None


@dataclass(frozen=True)
class PullReport:
    source: str  # "server": a fresh export; "snapshot": the newest tracked snapshot (no server reachable); "none": neither
    snapshot: Path
    tables: dict[str, tuple[Path, int]]  # name -> (path, rows)
    projects: dict[str, int] = field(default_factory=dict)  # title -> tasks exported
    warning: str = ""  # why the snapshot was used
    fetched: int = 0  # tasks exported from the servers (fewer than all of them when the pull was incremental)


ADJUDICATION = "adjudication"


def project_titles(titles: dict[str, int], project: str) -> dict[str, int]:
    """The projects that make up PROJECT: the shared one, every annotator's own queue
    (`PROJECT · ann-...`, see push.queue_title) and the adjudication project (`PROJECT · adjudication`)."""
    prefix = project + " · "
    return {t: pid for t, pid in titles.items()
            if t == project or (t.startswith(prefix) and (is_pseudonym(t[len(prefix):]) or t[len(prefix):] == ADJUDICATION))}


def _foreign_annotations(tasks: list, title: str, project: str) -> list[str]:
    """Annotations in an annotator's own queue completed by anyone else (`task N by ann-...`)."""
    if title == project:
        return []
    owner = title[len(project) + 3:]
    out = []
    for t in tasks:
        for a in (t.get("annotations") or []) if isinstance(t, dict) else []:
            if isinstance(a, dict) and a.get("completed_by") not in (owner, None):
                out.append(f"task {t.get('id')} of {title!r} by {a.get('completed_by')}")
    return out


def check_codebook(client, parts: dict[str, int], cb: Codebook) -> None:
    """Every project was pushed with this codebook: push writes `codebook NAME vN (FINGERPRINT)`
    into each project's description, and a pull with another codebook would read its labels
    wrongly (a stance target it does not know is lost), so it is refused."""
    for title, pid in sorted(parts.items()):
        found = described_codebook(client.project_info(pid)["description"])
        if found and found[2] != cb.fingerprint():
            raise PullError(f"project {title!r} was pushed with codebook {found[0]} v{found[1]} "
                            f"({found[2]}), not {cb.source or cb.name} v{cb.version} ({cb.fingerprint()}): pull "
                            "with the project's codebook (--codebook, or params.yaml study.codebook), or push again "
                            "with this one if only its wording changed")


# ---- incremental pull ------------------------------------------------------------------------------

#: What a task's export depends on, read from the server's own database (the Django program below)
#: and from a snapshot's task alike: when the two agree, the task's export is what the snapshot holds.
TASK_FIELDS = ("updated_at", "total_annotations", "cancelled_annotations", "total_predictions", "comment_count",
               "unresolved_comment_count", "last_comment_updated_at")

# Runs inside the server's venv: every task of the projects, with the ids and update times of its
# annotations, drafts and predictions (Label Studio's task listing shows a user only their own drafts).
_CHANGES = r"""
import json, pathlib, sys
from datetime import datetime, timezone
import label_studio
sys.path.insert(0, str(pathlib.Path(label_studio.__file__).parent))
import django
django.setup()
from tasks.models import Annotation, AnnotationDraft, Prediction, Task
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
def us(t):
    return None if t is None else (t - EPOCH) // __import__("datetime").timedelta(microseconds=1)
FIELDS = ("updated_at", "total_annotations", "cancelled_annotations", "total_predictions", "comment_count",
          "unresolved_comment_count", "last_comment_updated_at")
out = {}
for pid in json.load(sys.stdin)["projects"]:
    tasks = {}
    for row in Task.objects.filter(project_id=pid).values_list("id", *FIELDS):
        tasks[row[0]] = {"task": [us(v) if isinstance(v, datetime) else v for v in row[1:]], "annotations": [],
                         "drafts": [], "predictions": []}
    for kind, rows in (("annotations", Annotation.objects.filter(task__project_id=pid)),
                       ("drafts", AnnotationDraft.objects.filter(task__project_id=pid)),
                       ("predictions", Prediction.objects.filter(task__project_id=pid))):
        for task_id, item_id, updated in rows.values_list("task_id", "id", "updated_at"):
            if task_id in tasks:
                tasks[task_id][kind].append([item_id, us(updated)])
    out[pid] = tasks
print("FRAMESTANCE-RESULT " + json.dumps(out))
"""


def _us(value: Any) -> int | None:
    if value is None:
        return None
    try:
        t = datetime.fromisoformat(str(value))
    except ValueError:
        return -1  # never equal to the database's: the task is fetched again
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return (t - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def change_key(entry: dict) -> str:
    """One task's state, as the Django program reports it (ids as the server numbers them)."""
    return json.dumps([entry["task"], *(sorted(entry[k]) for k in ("annotations", "drafts", "predictions"))])


def snapshot_key(task: dict, base: int) -> str:
    """The same key from a snapshot's task (ids less the server's block, see team.ID_BLOCK)."""
    def items(kind):
        return [[x["id"] - base, _us(x.get("updated_at"))] for x in task.get(kind) or [] if isinstance(x, dict)
                and isinstance(x.get("id"), int)]
    fields = [_us(task.get(f)) if f.endswith("_at") else task.get(f) for f in TASK_FIELDS]
    return change_key({"task": fields, "annotations": items("annotations"), "drafts": items("drafts"),
                       "predictions": items("predictions")})


def task_states(studio, pids: list[int]) -> dict[str, dict]:
    """project id (a string) -> task id (a string) -> its state, from the server's own database
    (one run of the Django program for every project of a server: it takes a few seconds to start)."""
    return studio.run_program(_CHANGES, {"projects": pids}, [], "listing the tasks that changed")


def export_changed(client, current: dict, pid: int, base: int, pseudonym, previous: list) -> tuple[list, int]:
    """Project `pid` as a full export would give it, scrubbed, fetching only the tasks whose state
    (`current`: task_states of the project) differs from `previous` (the project's tasks in the
    last snapshot): (tasks, tasks fetched)."""
    old = {t["id"] - base: snapshot_key(t, base) for t in previous if isinstance(t, dict) and isinstance(t.get("id"), int)}
    changed = sorted(int(tid) for tid, entry in current.items() if old.get(int(tid)) != change_key(entry))
    again = set(changed)
    kept = [t for t in previous if str(t["id"] - base) in current and t["id"] - base not in again]
    fresh = scrub_tasks(client.export_snapshot(pid, task_ids=changed), pseudonym) if changed else []
    _offset_ids(fresh, base)
    got = sorted(t["id"] - base for t in fresh)
    if got != changed:  # a task went between the listing and the export: the whole project, as a full pull would
        fresh = scrub_tasks(client.export_snapshot(pid), pseudonym)
        _offset_ids(fresh, base)
        return fresh, len(fresh)
    return kept + fresh, len(changed)


def _offset_ids(tasks: list, base: int) -> None:
    """Ids of an annotator's own server, made unique across the team (team.ID_BLOCK)."""
    if not base:
        return
    for t in tasks:
        if not isinstance(t, dict):
            continue
        for key in ("id", "project"):
            if isinstance(t.get(key), int):
                t[key] += base
        for kind in ("annotations", "drafts", "predictions"):
            for a in t.get(kind) or []:
                if isinstance(a, dict):
                    for key in ("id", "task", "project", "annotation", "parent_prediction", "parent_annotation"):
                        if isinstance(a.get(key), int):
                            a[key] += base


def _has_block(tasks: list, base: int) -> bool:
    """Does a snapshot's `tasks` hold one of the server whose ids start at `base` (team.ID_BLOCK)?"""
    from .team import ID_BLOCK

    return any(isinstance(t, dict) and isinstance(t.get("id"), int) and base <= t["id"] < base + ID_BLOCK for t in tasks)


def _undecided_by(tasks: list, allowed: set[str]) -> list[str]:
    """Decisions in the adjudication project submitted by anyone but an adjudicator or the lead:
    by whom the decision is recorded (`completed_by`, which a client may set) and who last wrote
    it (`updated_by`, which the server sets)."""
    out = []
    for t in tasks:
        for a in (t.get("annotations") or []) if isinstance(t, dict) else []:
            if not isinstance(a, dict) or a.get("was_cancelled"):
                continue
            for who in (a.get("completed_by"), a.get("updated_by")):
                if who is not None and who not in allowed:
                    out.append(f"task {t.get('id')} by {who}")
                    break
    return out


def run(project: str, out: Path, tables_dir: Path, cb: Codebook, home: Path,
        exporting: Callable[[], AbstractContextManager] = nullcontext, full: bool = False) -> PullReport:
    """Export PROJECT (all its projects: the shared one, each annotator's queue, the adjudication
    project) from every server of the team into one scrubbed snapshot under OUT and build the
    tables in TABLES_DIR.

    With no server configured, or when every server `studio up` started is down, the tables are
    rebuilt from the newest snapshot (that is how `dvc repro` reproduces the corpus anywhere); a
    server configured through LABEL_STUDIO_URL must answer, and so must every server of a team
    that is partly up (one line names the first that is down). Tables are built in memory before
    anything is written, so a malformed export leaves the snapshot folder and the tables as they
    were. A decision in the adjudication project by anyone but an adjudicator (`annotators add
    --role adjudicator`) or the lead is refused, naming them. `exporting` wraps the export (a spinner).

    Incremental: on the servers `studio up` runs, only the tasks whose annotations, drafts,
    predictions or counts changed since the newest snapshot are exported (`export_changed`); the
    rest is taken from that snapshot, so the new snapshot is the one a full export would give.
    `full` exports everything (and so does a server configured through LABEL_STUDIO_URL)."""
    from .server import StudioError, connection_from_env
    from .team import Team

    team = Team(home)
    warning = ""
    try:
        conn = connection_from_env(home)
    except StudioError:
        conn = None
    members = team.member_servers()
    if conn is not None:
        lead_up = not conn.managed or team.lead.healthy(conn.url)
        down = [s for s in members if not ((c := s.studio.connection()) and c.url and s.studio.healthy(c.url))]
        if not lead_up and len(down) == len(members):
            warning = f"the Label Studio that `studio up` started ({conn.url}) is not running"
            conn = None
        elif not lead_up or down:
            name, where = ("lead", conn.url) if not lead_up else (down[0].name, down[0].studio.home)
            raise PullError(f"the server of {name} ({where}) is not running while others of the team are: "
                            "`framestance studio up` starts them all; nothing pulled")
    if conn is None:
        snap = latest_snapshot(out, project)
        if snap is None:
            # a study before its first push: empty tables (select draws round 1 from them), said loudly
            built = tables_from_tasks([], cb)
            paths = write_tables(built, tables_dir)
            return PullReport("none", Path(out) / slug(project), {n: (p, 0) for n, p in paths.items()},
                              warning=(warning or "no Label Studio configured")
                              + f" and no snapshot in {out}/{slug(project)}/: no annotations yet (empty tables); "
                              "run `framestance studio up`, or set LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY")
        built = tables_from_snapshot(snap.read_bytes(), cb)
        paths = write_tables(built, tables_dir)
        return PullReport("snapshot", snap, {n: (p, built[n].num_rows) for n, p in paths.items()},
                          warning=warning or "no Label Studio configured")

    from .client import Client
    from .push import queue_title
    from .team import ID_BLOCK

    pseudo = Pseudonymiser.of_home(home)
    lead = Client(conn.url, conn.api_key)
    sources: list[tuple[str, Client, int, Callable[[Any], str | None], Any]] = [
        ("lead", lead, 0, pseudo, team.lead if conn.managed else None)]
    for s in members:
        c = s.connection()
        client = Client(c.url, c.api_key)
        emails = {uid: e for e, uid in client.users().items()}

        def by_email(user, emails=emails):
            uid = user.get("id") if isinstance(user, dict) else user
            email = (user.get("email") if isinstance(user, dict) else None) or emails.get(uid)
            return pseudo.of_email(email) if email else pseudo.of(user)

        sources.append((s.name, client, s.number * ID_BLOCK, by_email, s.studio))
    found = {name: project_titles(client.projects(project), project) for name, client, *_rest in sources}
    newest = latest_snapshot(out, project)
    last = _tasks(newest.read_bytes()) if newest is not None else None
    for s in members:
        # an annotator's server holds their queue and nothing else of the study: any member of it can
        # make or rename projects, so nothing else is read, and a queue that went is not passed over
        mine = queue_title(project, s.name)
        strange = sorted(t for t in found[s.name] if t != mine)
        if strange:
            raise PullError(f"the server of {s.name} holds {strange[0]!r}, which push never made there: rename or delete "
                            "it in Label Studio, then pull again")
        if mine not in found[s.name] and last is not None and _has_block(last, s.number * ID_BLOCK):
            raise PullError(f"the server of {s.name} no longer holds its queue {mine!r} (renamed or deleted?), which "
                            f"the snapshot {newest.name if newest else ''} has tasks of: restore it in Label Studio, then pull again")
    if not any(found.values()):
        raise PullError(f"project {project!r}: no such project on {lead.url}"
                        + (f" or the {len(members)} annotators' servers" if members else ""))
    for name, client, *_rest in sources:
        check_codebook(client, found[name], cb)
    before: dict[int, list] = {}
    if last is not None and not full:  # the incremental pull's starting point
        for t in last:
            if isinstance(t, dict) and isinstance(t.get("project"), int):
                before.setdefault(t["project"], []).append(t)
    lead_users = lead.users()
    me = lead.whoami()
    allowed = {pseudo.of({"id": me["id"], "email": me["email"]})}
    allowed |= {pseudo.of({"id": lead_users[e], "email": e}) for e in team.emails("adjudicator") if e in lead_users}
    tasks: list = []
    counts = {}
    fetched = 0
    foreign: list[str] = []
    strangers: list[str] = []
    with exporting():
        for name, client, base, pseudonym, studio in sources:
            known = sorted(pid for pid in found[name].values() if pid + base in before)
            states = task_states(studio, known) if studio is not None and known else {}
            for title, pid in sorted(found[name].items()):
                if str(pid) in states:
                    part, n = export_changed(client, states[str(pid)], pid, base, pseudonym, before[pid + base])
                else:
                    part = scrub_tasks(client.export_snapshot(pid), pseudonym)
                    _offset_ids(part, base)
                    n = len(part)
                fetched += n
                counts[title] = len(part)
                if title == f"{project} · {ADJUDICATION}":
                    strangers += _undecided_by(part, allowed)
                    for t in part:  # its annotations are decisions, not votes (tables_from_tasks)
                        if isinstance(t, dict):
                            t["framestance_queue"] = ADJUDICATION
                else:
                    foreign += _foreign_annotations(part, title, project)
                    if title != project:  # an annotator's own queue: open until its one annotator answers
                        for t in part:
                            if isinstance(t, dict):
                                t["framestance_queue"] = "annotator"
                tasks += part
    if foreign:
        # Community lets any member write into any project: a queue must hold its owner's work only
        raise PullError(f"{len(foreign)} annotations in annotator queues were written by someone else "
                        f"({'; '.join(foreign[:3])}{' ...' if len(foreign) > 3 else ''}): delete them in Label Studio "
                        "and pull again")
    if strangers:
        raise PullError(f"{len(strangers)} decisions in {project + ' · ' + ADJUDICATION!r} were made by someone who is not "
                        f"an adjudicator ({'; '.join(strangers[:3])}{' ...' if len(strangers) > 3 else ''}; "
                        "`framestance annotators list` says who): only the lead and `annotators add --role adjudicator` "
                        "accounts decide; delete them in Label Studio and pull again")
    tasks.sort(key=lambda t: (t.get("project") if isinstance(t, dict) else 0, t.get("id") if isinstance(t, dict) else 0))
    built = tables_from_tasks(tasks, cb)  # the export is parsed once; a malformed one stops here
    pseudo.save()
    snap = write_snapshot(canonical(tasks), out, project)
    paths = write_tables(built, tables_dir)
    return PullReport("server", snap, {n: (p, built[n].num_rows) for n, p in paths.items()}, counts, fetched=fetched)
