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
import hmac
import json
import os
import re
import secrets
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from .codebook import Codebook
from .errors import FramestanceError
from .io import atomic_write, write_table
from .isodate import parse_iso
from .schema import ANNOTATION, PSEUDONYM, SPAN, STANCE, SUBMITTED


class PullError(FramestanceError, ValueError):
    pass


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "project"


class Pseudonymiser:
    """Stable pseudonyms: HMAC-SHA256 of the Label Studio user, keyed by a secret kept out of git."""

    def __init__(self, key_file: Path, mapping_file: Path):
        self.key_file, self.mapping_file = key_file, mapping_file
        env = os.environ.get("FRAMESTANCE_PSEUDONYM_KEY")
        if env:
            self.key = env.encode()
        else:
            if not key_file.exists():
                key_file.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as fh:
                    fh.write(secrets.token_hex(32) + "\n")
            self.key = key_file.read_text().strip().encode()
        self.mapping: dict[str, str] = {}
        if mapping_file.exists():
            self.mapping = json.loads(mapping_file.read_text())

    def __call__(self, user: dict | int | None) -> str | None:
        if user is None:
            return None
        uid = user.get("id") if isinstance(user, dict) else user
        email = user.get("email", "") if isinstance(user, dict) else ""
        name = "ann-" + hmac.new(self.key, f"user:{uid}".encode(), hashlib.sha256).hexdigest()[:12]
        if email or name not in self.mapping:
            self.mapping[name] = email or f"user {uid}"
        return name

    def save(self) -> None:
        atomic_write(self.mapping_file, json.dumps(dict(sorted(self.mapping.items())), indent=1).encode(), mode=0o600)


#: Keys of Label Studio's export that hold users (an id, a {id, email, ...} object, or a list of them).
USER_KEYS = frozenset({"completed_by", "updated_by", "created_by", "last_created_by", "user", "comment_authors",
                       "reviewers", "annotator"})
#: Keys that name a user in free text ("First Last email, 7") or depend on when the export ran.
DROP_KEYS = frozenset({"created_username", "created_ago"})
_TRAILING_ID = re.compile(r",\s*(\d+)\s*$")


def _is_pseudonym(user) -> bool:
    return isinstance(user, str) and re.fullmatch(PSEUDONYM, user) is not None


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


def scrub_tasks(raw: bytes, pseudonym) -> list:
    """The export's tasks with every user replaced by its pseudonym."""
    tasks = _tasks(raw)

    def users(value):
        if isinstance(value, list):
            return [users(v) for v in value]
        if value is None or _is_pseudonym(value):
            return value
        return pseudonym(value)

    def walk(node):
        if isinstance(node, dict):
            node = dict(node)
            # a draft's `user` is the user's string form (an e-mail); its id is at the end of
            # `created_username`: pseudonymise by id, like annotations, so one person is one pseudonym
            named = _TRAILING_ID.search(str(node.get("created_username") or ""))
            if named and isinstance(node.get("user"), str) and not _is_pseudonym(node["user"]):
                node["user"] = int(named.group(1))
            return {k: users(v) if k in USER_KEYS else walk(v) for k, v in node.items() if k not in DROP_KEYS}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(tasks)


def _ts(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = parse_iso(value)
    if parsed is None:
        raise ValueError(f"{value!r} is not an ISO-8601 date-time")
    return parsed[0]


def tables_from_snapshot(snapshot: bytes, cb: Codebook) -> dict[str, pa.Table]:
    """annotations / stances / spans tables from one scrubbed export (a JSON list of tasks)."""
    return tables_from_tasks(_tasks(snapshot), cb)


def tables_from_tasks(tasks: list, cb: Codebook) -> dict[str, pa.Table]:
    """The tables of a scrubbed export's tasks (parsed once, whether just pulled or read from a snapshot)."""
    frames = cb.by_name(cb.frames)
    tones = cb.by_name(cb.tone)
    values = cb.by_name(cb.stance_values)
    targets = cb.by_name(cb.targets)
    stance_controls = {cb.stance_control(t.id): t.id for t in cb.targets}
    ann_rows, stance_rows, span_rows = [], [], []

    def one(task: dict, ann: dict, status: str) -> None:
        data = task.get("data") or {}
        aid = data.get("article_id")
        user = ann.get("completed_by") if status != "draft" else ann.get("user")
        who = user.get("id") if isinstance(user, dict) else user
        if who is not None and not _is_pseudonym(who):
            raise PullError(f"task {task.get('id')}: annotator {type(who).__name__} is not a pseudonym (scrub the export first)")
        row: dict[str, Any] = {
            "article_id": aid,
            "text_sha256": data.get("text_sha256"),
            "task_id": task.get("id"),
            "annotation_id": ann.get("id"),
            "annotator": who,
            "status": status,
            "created_at": _ts(ann.get("created_at")),
            "updated_at": _ts(ann.get("updated_at")),
            "lead_time": ann.get("lead_time"),
            "ground_truth": bool(ann.get("ground_truth")),
            "primary_frame": None,
            "frames": [],
            "tone": None,
        }
        for item in ann.get("result") or []:
            name, value = item.get("from_name"), item.get("value") or {}
            picked = value.get("choices") or []
            if name == cb.FRAMES:
                row["frames"] = sorted(frames.get(c, c) for c in picked)
            elif name == cb.PRIMARY and picked:
                row["primary_frame"] = frames.get(picked[0], picked[0])
            elif name == cb.TONE and picked:
                row["tone"] = tones.get(picked[0], picked[0])
            elif name in stance_controls and picked:
                stance_rows.append({"article_id": aid, "annotation_id": ann.get("id"), "annotator": who, "status": status,
                                    "target": stance_controls[name], "value": values.get(picked[0], picked[0])})
            elif name in (cb.FRAME_SPANS, cb.EVIDENCE):
                lookup = frames if name == cb.FRAME_SPANS else targets
                for lab in value.get("labels") or []:
                    span_rows.append({
                        "article_id": aid, "annotation_id": ann.get("id"), "annotator": who, "status": status,
                        "kind": "frame_cue" if name == cb.FRAME_SPANS else "stance_evidence",
                        "label": lookup.get(lab, lab), "start": value.get("start"), "end": value.get("end"),
                        "text": value.get("text"),
                    })
        ann_rows.append(row)

    for task in tasks:
        for ann in task.get("annotations") or []:
            one(task, ann, "cancelled" if ann.get("was_cancelled") else SUBMITTED)
        for draft in task.get("drafts") or []:
            if isinstance(draft, dict):
                one(task, draft, "draft")

    def table(rows, schema, key):
        rows.sort(key=key)
        return pa.Table.from_pylist(rows, schema=schema)

    k = lambda r: (r["article_id"] or "", r["annotator"] or "", r["status"], r["annotation_id"] or 0)  # noqa: E731
    return {
        "annotations": table(ann_rows, ANNOTATION, k),
        "stances": table(stance_rows, STANCE, lambda r: (*k(r), r["target"])),
        "spans": table(span_rows, SPAN, lambda r: (*k(r), r["kind"], r["start"] or 0, r["end"] or 0, r["label"] or "")),
    }


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


def latest_snapshot(out_dir: Path, project: str) -> Path | None:
    snaps = sorted((Path(out_dir) / slug(project)).glob("*.json"))
    return snaps[-1] if snaps else None


@dataclass(frozen=True)
class PullReport:
    source: str  # "server": a fresh export; "snapshot": the newest tracked snapshot (no server configured)
    snapshot: Path
    tables: dict[str, tuple[Path, int]]  # name -> (path, rows)


def run(project: str, out: Path, tables_dir: Path, cb: Codebook, home: Path,
        exporting: Callable[[], AbstractContextManager] = nullcontext) -> PullReport:
    """Export PROJECT from the configured Label Studio to a scrubbed snapshot under OUT and build the
    tables in TABLES_DIR; with no server configured, rebuild them from the newest snapshot (that is
    how `dvc repro` reproduces the corpus anywhere). `exporting` wraps the export (a spinner)."""
    from .studio import StudioError, connection_from_env

    try:
        conn = connection_from_env(home)
    except StudioError:
        conn = None
    if conn is None:
        snap = latest_snapshot(out, project)
        if snap is None:
            raise PullError(f"no Label Studio configured and no snapshot in {out}/{slug(project)}/: "
                            "set LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY, or run `framestance studio up`")
        built = tables_from_snapshot(snap.read_bytes(), cb)
        source = "snapshot"
    else:
        from .labelstudio import Client

        client = Client(conn.url, conn.api_key)
        pid = client.find_project(project)
        if pid is None:
            raise PullError(f"project {project!r}: no such project on {client.url}")
        with exporting():
            raw = client.export_snapshot(pid)
        pseudo = Pseudonymiser(home / "pseudonym.key", home / "annotators.json")
        tasks = scrub_tasks(raw, pseudo)
        pseudo.save()
        snap = write_snapshot(canonical(tasks), out, project)
        built = tables_from_tasks(tasks, cb)  # the export is parsed once
        source = "server"
    paths = write_tables(built, tables_dir)
    return PullReport(source, snap, {name: (path, built[name].num_rows) for name, path in paths.items()})
