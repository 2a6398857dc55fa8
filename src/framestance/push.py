"""Stage 2: a seeded, stratified sample of the corpus goes to a Label Studio project.

Idempotent: the key of a task is `data.article_id` (Label Studio has no server-side key), read back
from the server before every import batch, so a re-push creates nothing and an interrupted push
re-run completes without duplicates or gaps. An article whose text changed since it was pushed is
reported, never silently duplicated.
"""

from __future__ import annotations

import json
import random
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

from .codebook import Codebook
from .errors import FramestanceError
from .labelstudio import Client, StudioRequestError, StudioUnavailable, check_config, config_labels, labeling_config

BATCH = 1000


class PushError(FramestanceError, ValueError):
    """A user-facing problem (missing corpus, a codebook change that would orphan labels)."""


@dataclass
class PushReport:
    project_id: int = 0
    project_created: bool = False
    config_updated: bool = False
    candidates: int = 0
    sampled: int = 0
    created: int = 0
    already_present: int = 0
    changed: list[str] = field(default_factory=list)
    skipped_duplicates: int = 0
    retries: int = 0


LIGHT = ["article_id", "outlet", "language", "relation", "duplicate_of", "text_sha256"]
TASK_COLUMNS = ["article_id", "title", "outlet", "published_at", "published_text", "url", "text", "text_sha256"]


def load_candidates(corpus_dir: Path, stratify: str | None = None):
    """The corpus table and its non-duplicate rows' light columns (texts stay in Arrow until a
    batch of tasks is built)."""
    path = Path(corpus_dir) / "articles.parquet"
    if not path.exists():
        raise PushError(f"{path}: no such file (run `framestance normalise ... --out {corpus_dir}` first)")
    table = pq.read_table(path)
    if stratify and stratify not in table.column_names:
        raise PushError(f"--stratify {stratify}: not a column of articles.parquet")
    light = table.select(sorted(set(LIGHT + ([stratify] if stratify else [])))).to_pylist()
    rows = []
    for i, r in enumerate(light):
        if r["duplicate_of"] is None:
            r["_row"] = i
            rows.append(r)
    return table, rows, len(light) - len(rows)


def sample(rows: list[dict], n: int | None, seed: int, stratify: str | None) -> list[dict]:
    """Seeded sample of n rows; with `stratify`, proportional quotas per stratum (largest remainder)."""
    rows = sorted(rows, key=lambda r: r["article_id"])
    if n is None or n >= len(rows):
        return rows
    rng = random.Random(seed)
    if not stratify:
        return sorted(rng.sample(rows, n), key=lambda r: r["article_id"])
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        groups[str(r.get(stratify) or "")].append(r)
    keys = sorted(groups)
    exact = {k: n * len(groups[k]) / len(rows) for k in keys}
    quota = {k: int(exact[k]) for k in keys}
    for k in sorted(keys, key=lambda k: (-(exact[k] - quota[k]), k))[: n - sum(quota.values())]:
        quota[k] += 1
    picked = [r for k in keys for r in rng.sample(groups[k], quota[k])]
    return sorted(picked, key=lambda r: r["article_id"])


def task_for(row: dict) -> dict:
    published = row.get("published_text") or ""
    if row.get("published_at") is not None:
        published = f"{row['published_at']:%Y-%m-%d %H:%M} UTC" + (f" ({row['published_text']})" if row.get("published_text") else "")
    meta = " · ".join(x for x in (row.get("outlet") or "", published, row.get("url") or "", f"id {row['article_id']}") if x)
    return {
        "data": {
            "article_id": row["article_id"],
            "text_sha256": row["text_sha256"],
            "title": row.get("title") or "(no title)",
            "meta": meta,
            "text": row["text"],
            "outlet": row.get("outlet") or "",
            "url": row.get("url") or "",
        }
    }


def _load_predictions(path: Path | None) -> dict[str, list[dict]]:
    """article_id -> predictions ({model_version, score, result}) from a JSON or JSONL file."""
    if path is None:
        return {}
    text = Path(path).read_text(encoding="utf-8")
    try:
        items = json.loads(text) if text.lstrip().startswith("[") else [json.loads(ln) for ln in text.splitlines() if ln.strip()]
    except ValueError as exc:
        raise PushError(f"{path}: not JSON or JSONL ({exc})") from None
    out: dict[str, list[dict]] = defaultdict(list)
    for i, item in enumerate(items):
        if not isinstance(item, dict) or "article_id" not in item or "result" not in item or not item.get("model_version"):
            raise PushError(f"{path}: prediction {i} needs article_id, model_version and result")
        out[str(item["article_id"])].append(
            {"model_version": item["model_version"], "score": item.get("score"), "result": item["result"]}
        )
    return out


def ensure_project(client: Client, name: str, cb: Codebook, report: PushReport) -> int:
    config = labeling_config(cb)
    check_config(config)
    pid = client.find_project(name)
    if pid is None:
        report.project_created = True
        return client.create_project(name, config, description=f"framestance; codebook {cb.name} v{cb.version} ({cb.fingerprint()})")
    current = client.project_config(pid)
    if current.strip() == config.strip():
        return pid
    old, new = config_labels(current), config_labels(config)
    removed = sorted(f"{ctrl}:{lab}" for ctrl, labs in old.items() for lab in labs - new.get(ctrl, set()))
    removed += sorted(f"{ctrl} (control)" for ctrl in old if ctrl not in new and old[ctrl])
    try:
        client.validate_config(pid, config)
    except StudioRequestError as exc:
        raise PushError(
            f"project {name!r}: the codebook change would orphan existing annotations ({', '.join(removed) or exc}); "
            "keep the old labels or push to a new project"
        ) from None
    client.update_config(pid, config)
    report.config_updated = True
    return pid


def push(
    client: Client,
    corpus_dir: Path,
    project: str,
    cb: Codebook,
    *,
    n: int | None = None,
    seed: int = 0,
    stratify: str | None = None,
    overlap: int | None = None,
    overlap_share: int = 100,
    predictions: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    max_attempts: int = 6,
) -> PushReport:
    report = PushReport()
    table, rows, report.skipped_duplicates = load_candidates(corpus_dir, stratify)
    table = table.select(TASK_COLUMNS)
    report.candidates = len(rows)
    picked = sample(rows, n, seed, stratify)
    report.sampled = len(picked)
    preds = _load_predictions(predictions)
    pid = ensure_project(client, project, cb, report)
    report.project_id = pid
    if overlap:
        client.set_overlap(pid, overlap, overlap_share)

    attempt = 0
    while True:
        try:
            keys = client.task_keys(pid)
            todo = []
            report.changed = []
            report.already_present = 0
            for r in picked:
                have = keys.get(r["article_id"])
                if have is None:
                    todo.append(r)
                elif have.get("text_sha256") != r["text_sha256"]:
                    report.changed.append(r["article_id"])
                else:
                    report.already_present += 1
            done_before = report.already_present + len(report.changed)
            for start in range(0, len(todo), BATCH):
                chunk = todo[start : start + BATCH]
                full = table.take([r["_row"] for r in chunk]).to_pylist()
                tasks = [task_for(r) for r in full]
                for r, t in zip(chunk, tasks):
                    if r["article_id"] in preds:
                        t["predictions"] = preds[r["article_id"]]
                client.import_tasks(pid, tasks)
                report.created += len(chunk)
                if progress:
                    progress(done_before + start + len(chunk), len(picked))
            if progress:
                progress(len(picked), len(picked))
            return report
        except (StudioUnavailable, StudioRequestError):
            attempt += 1
            report.retries += 1
            if attempt >= max_attempts:
                raise
            time.sleep(min(2 ** attempt * 0.5, 10))
            # the loop re-reads the keys: whatever the failed batch committed is not sent again
