"""Stage 2: a seeded, stratified sample of the corpus goes to Label Studio.

Two shapes. Without `annotators`, one shared project NAME (Label Studio's own overlap settings).
With `annotators` (blind queues), every annotator gets a project of their own, titled
`NAME · <pseudonym>`, holding only their tasks, so nobody sees anyone else's annotations
(Label Studio Community has no per-user task visibility); each article goes to exactly `overlap`
annotators (`assign`).

Idempotent: the key of a task is `data.article_id` (Label Studio has no server-side key), read back
from the server before every import batch, so a re-push creates nothing and an interrupted push
re-run completes without duplicates or gaps. An article whose text changed since it was pushed is
reported, never silently duplicated. Two pushes to one project from one studio home take turns
(a lock file); a task that another machine's push created twice is reported and, while nobody has
annotated it, deleted.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import math
import os
import random
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from functools import partial
from pathlib import Path
from typing import TextIO

import pyarrow.parquet as pq

from ..codebook import Codebook, project_description
from ..errors import FramestanceError
from ..io import atomic_write
from .client import Client, StudioRequestError, StudioUnavailable, title_problem
from .interface import check_config, config_labels, labeling_config
from .team import Team

BATCH = 1000
#: Between a project name and an annotator's pseudonym in the title of their own project.
QUEUE_SEPARATOR = " · "


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
    queues: dict[str, int] = field(default_factory=dict)  # blind mode: pseudonym -> tasks created now
    load: dict[str, int] = field(default_factory=dict)  # blind mode: pseudonym -> tasks assigned in all
    race_duplicates_removed: int = 0
    arms: dict[str, int] = field(default_factory=dict)  # with predictions: assignments drawn suggested / control


def suggested(seed: int, who: str, article_id: str, share: float) -> bool:
    """The randomised arm of one assignment: whether annotator WHO (a pseudonym; "" in a shared
    project, where every annotator sees the same task) is shown the suggestion for the article.
    Seeded, independent of the order of the push, a share `share` of the assignments."""
    digest = hashlib.sha256(f"framestance-arm:{seed}:{who}:{article_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def _arms(article_ids: list[str], preds: dict[str, list[dict]], who: str, seed: int, share: float,
          report: PushReport) -> tuple[dict[str, list[dict]], dict[str, dict]]:
    """The predictions of the suggested arm only, and every predicted article's arm as task data
    (`framestance_arm`: pull records it on each annotation)."""
    shown: dict[str, list[dict]] = {}
    data: dict[str, dict] = {}
    for a in article_ids:
        if a not in preds:
            continue
        arm = "suggested" if suggested(seed, who, a, share) else "control"
        data[a] = {"framestance_arm": arm}
        report.arms[arm] = report.arms.get(arm, 0) + 1
        if arm == "suggested":  # Label Studio keeps a prediction's result; the dimensions it covers go in the data
            shown[a] = [{k: v for k, v in p.items() if k != "dimensions"} for p in preds[a]]
            dims = sorted({d for p in preds[a] for d in p.get("dimensions") or []})
            if dims:
                data[a]["framestance_dimensions"] = dims
    return shown, data


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


def _load_predictions(path: Path | None, cb: Codebook | None = None) -> dict[str, list[dict]]:
    """article_id -> predictions ({model_version, score, result}) from a JSON or JSONL file. A
    prediction that names a codebook (`framestance suggest` writes its fingerprint) made for
    another codebook than `cb` is refused: its labels would not be this page's."""
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
        if cb is not None and item.get("codebook") not in (None, cb.fingerprint()):
            raise PushError(f"{path}: prediction {i} was made for another codebook ({item['codebook']}; this one is "
                            f"{cb.name} v{cb.version}, {cb.fingerprint()}): run `framestance suggest` again")
        dims = item.get("dimensions")
        if dims is not None and (not isinstance(dims, list) or not all(isinstance(d, str) for d in dims)):
            raise PushError(f"{path}: prediction {i}: dimensions must be a list of names")
        out[str(item["article_id"])].append(
            {"model_version": item["model_version"], "score": item.get("score"), "result": item["result"],
             **({"dimensions": dims} if dims is not None else {})}
        )
    return out


def ensure_project(client: Client, name: str, cb: Codebook, report: PushReport,
                   config: str | None = None, existing: dict[str, int] | None = None) -> int:
    """The project titled `name` with the codebook's interface (`config` and the `existing`
    title -> id listing may be passed in when several projects are ensured at once)."""
    if config is None:
        config = labeling_config(cb)
        check_config(config)
    pid = existing.get(name) if existing is not None else client.find_project(name)
    if pid is None:
        report.project_created = True
        return client.create_project(name, config, description=project_description(cb))
    project = client.project_info(pid)
    current = project["label_config"]
    if current.strip() == config.strip():
        if project["description"] != project_description(cb):
            # the same interface, another codebook fingerprint (a new version, gold questions): pull checks it
            client.set_description(pid, project_description(cb))
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
    # the description carries the codebook's fingerprint, which pull checks
    client.set_description(pid, project_description(cb))
    report.config_updated = True
    return pid


def assign(articles: list[str], held: dict[str, set[str]], k: int, seed: int) -> dict[str, list[str]]:
    """New assignments so that each article is held by exactly `k` of the annotators in `held`
    (pseudonym -> article ids they already hold), keeping every earlier assignment.

    Articles are taken in a seeded order and each goes to the least-loaded annotators who do not
    hold it yet (seeded tie-break), so loads stay within one of each other and the same inputs give
    the same queues. An annotator who joins later starts with the lightest load, so new articles and
    articles still short of `k` annotators go to them first."""
    rank = partial(_rank, seed)
    load = {a: len(arts) for a, arts in held.items()}
    holders: dict[str, set[str]] = defaultdict(set)
    for a, arts in held.items():
        for art in arts:
            holders[art].add(a)
    new: dict[str, list[str]] = {a: [] for a in held}
    for art in sorted(articles, key=rank):
        need = k - len(holders[art])
        if need <= 0:
            continue
        free = sorted((a for a in held if a not in holders[art]), key=lambda a: (load[a], rank(art, a)))
        for a in free[:need]:
            new[a].append(art)
            load[a] += 1
            holders[art].add(a)
    return {a: sorted(arts) for a, arts in new.items()}


class _Lock:
    """One push per project and server at a time from this studio home: a second one waits (an
    flock, released by the kernel if the first is killed)."""

    def __init__(self, folder: Path | None, key: str, waiting: Callable[[str], None] | None):
        self.path = None if folder is None else Path(folder) / "locks" / (hashlib.sha256(key.encode()).hexdigest()[:16] + ".lock")
        self.waiting = waiting
        self.fh: TextIO | None = None

    def __enter__(self) -> _Lock:
        if self.path is None:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fh = fh = open(self.path, "a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            if self.waiting:
                self.waiting(f"another push to this project is running ({holder}); waiting for it to finish")
            fcntl.flock(fh, fcntl.LOCK_EX)
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}\n")
        fh.flush()
        return self

    def __exit__(self, *exc) -> None:
        if self.fh is not None:
            self.fh.close()


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
    annotators: list[str] | None = None,
    pseudonym: Callable[[dict], str] | None = None,
    lock_dir: Path | None = None,
    waiting: Callable[[str], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
    max_attempts: int = 6,
    gold_rate: float = 0.0,
    selected: dict[str, str] | None = None,
    team: Team | None = None,
    suggest_share: float = 0.5,
) -> PushReport:
    """Push a sample of the corpus to PROJECT, or with `annotators` (e-mails of server users) to
    one blind queue per annotator, each article to exactly `overlap` of them. `selected` (article
    id -> text_sha256: a round of `framestance select`) pushes exactly those articles, and is
    refused when any of them changed or left the corpus since it was selected. With a `team` whose
    annotators have servers of their own, each queue is made on its annotator's server.

    With `predictions`, each (annotator, article) assignment is drawn, seeded, into the suggested
    arm (a share `suggest_share`) or the control arm: only the suggested arm's task carries the
    prediction, and every predicted task says its arm (`framestance_arm`); in one shared project
    the draw is per article."""
    if not 0 <= suggest_share <= 1:
        raise PushError(f"suggest.share {suggest_share}: a share between 0 and 1")
    problem = title_problem(project)
    if problem:
        raise PushError(problem)
    if gold_rate and not annotators:
        raise PushError("--gold-rate: hidden gold questions go into blind queues; pass --annotators too")
    if not 0 <= gold_rate < 1:
        raise PushError(f"--gold-rate {gold_rate}: a share between 0 and 1")
    report = PushReport()
    table, rows, report.skipped_duplicates = load_candidates(corpus_dir, stratify)
    table = table.select(TASK_COLUMNS)
    # gold questions are never ordinary work: they go to every queue at `gold_rate`, not to `assign`
    gold_rows = [r for r in rows if r["article_id"] in cb.gold]
    rows = [r for r in rows if r["article_id"] not in cb.gold]
    if gold_rate and not gold_rows:
        raise PushError("--gold-rate: none of the codebook's gold articles is in the corpus")
    report.candidates = len(rows)
    if selected is not None:
        if n is not None or stratify:
            raise PushError("--selection pushes a selected round as it is: drop --sample and --stratify")
        by_id = {r["article_id"]: r for r in rows + gold_rows}
        stale = [a for a, sha in selected.items() if a not in by_id or by_id[a]["text_sha256"] != sha]
        if stale:
            raise PushError(f"{corpus_dir}: {len(stale)} selected articles changed or left the corpus since they were "
                            f"selected (e.g. {sorted(stale)[0]}): select again from this corpus; nothing pushed")
        picked = sorted((by_id[a] for a in selected if a not in cb.gold), key=lambda r: r["article_id"])
    else:
        picked = sample(rows, n, seed, stratify)
    report.sampled = len(picked)
    preds = _load_predictions(predictions, cb)
    with _Lock(lock_dir, f"{client.url} {project}", waiting):
        if not annotators:
            pid = ensure_project(client, project, cb, report)
            report.project_id = pid
            if overlap:
                client.set_overlap(pid, overlap, overlap_share)
            shown, arm_of = _arms([r["article_id"] for r in picked], preds, "", seed, suggest_share, report)
            _fill(client, pid, picked, table, shown, report, progress, max_attempts, total=len(picked), done=0,
                  keys=_keys(client, pid, lock_dir), cache_dir=lock_dir, extra=arm_of)
            return report
        queues = _queues(client, project, annotators, pseudonym, overlap or 1, team)
        config = labeling_config(cb)
        check_config(config)
        on = {p: c for p, (_t, c) in queues.items()}
        existing = {p: c.projects(project) for p, c in on.items()}
        pids = {p: ensure_project(on[p], title, cb, report, config, existing[p]) for p, (title, _c) in queues.items()}
        # a project made just now holds no tasks: nothing to list
        keys = {p: _keys(on[p], pid, lock_dir) if queues[p][0] in existing[p] else {} for p, pid in pids.items()}
        by_id = {r["article_id"]: r for r in picked}
        held = {p: set(k) & set(by_id) for p, k in keys.items()}
        new = assign(sorted(by_id), held, overlap or 1, seed)
        gold_of = {p: _gold_questions(p, held[p] | set(new[p]), set(keys[p]), gold_rows, gold_rate, seed) for p in queues}
        by_id.update({r["article_id"]: r for r in gold_rows})
        total = sum(len(held[p]) + len(new[p]) + len(gold_of[p]) for p in queues)
        done = 0
        for p, pid in pids.items():
            # a seeded order, so that gold questions sit among the other tasks, not at the end
            mine = [by_id[a] for a in sorted(held[p] | set(new[p]) | gold_of[p], key=partial(_rank, seed, p))]
            before = report.created
            ordinary = [r["article_id"] for r in mine if r["article_id"] not in gold_of[p]]  # gold questions: never
            shown, arm_of = _arms(ordinary, preds, p, seed, suggest_share, report)
            _fill(on[p], pid, mine, table, shown, report, progress, max_attempts, total=total, done=done, keys=keys[p],
                  cache_dir=lock_dir, extra=arm_of)
            report.queues[p] = report.created - before
            report.load[p] = len(mine)
            done += len(mine)
        return report


def ledger_entry(report: PushReport, cb: Codebook, *, selection_round: int | None = None, n: int | None = None,
                 seed: int = 0, stratify: str | None = None, overlap: int | None = None, overlap_share: int = 100,
                 gold_rate: float = 0.0, predictions: Path | None = None, suggest_share: float | None = None) -> dict:
    """What a push was asked and what it did, for the study's ledger (`ledger.py`): no e-mail, no text."""
    how = "selection" if selection_round is not None else ("sample" if n is not None else "all")
    return {"how": how, "round": selection_round, "sample": n, "seed": seed if how == "sample" else None,
            "stratify": stratify, "overlap": overlap, "overlap_share": overlap_share,
            "annotators": len(report.queues) or None, "gold_rate": gold_rate or None,
            "predictions": predictions.name if predictions else None, "codebook": cb.fingerprint(),
            "candidates": report.candidates, "skipped_duplicates": report.skipped_duplicates,
            "sampled": report.sampled, "created": report.created, "already_present": report.already_present,
            "changed": len(report.changed),
            # the randomised control arm of the suggestions: its share, and how the assignments fell
            "suggest_share": suggest_share, "arms": dict(sorted(report.arms.items())) or None}


def _rank(seed: int, *parts: str) -> bytes:
    """A seeded sort key: the same parts and seed, the same place."""
    return hashlib.sha256("\0".join((str(seed), *parts)).encode()).digest()


def _gold_questions(queue: str, work: set[str], present: set[str], gold_rows: list[dict], rate: float,
                    seed: int) -> set[str]:
    """The gold articles queue `queue` holds: those it already has, topped up (seeded) to about
    `rate` of its tasks, at most every gold article once."""
    gold = sorted(r["article_id"] for r in gold_rows)
    have = {a for a in gold if a in present}
    if not rate:
        return have
    share = Fraction(str(rate))  # exact: 0.2 of 15 tasks is 3 gold questions, not 4
    want = min(len(gold), math.ceil(share * len(work) / (1 - share)))
    rest = sorted((a for a in gold if a not in have), key=partial(_rank, seed, queue))
    return have | set(rest[: max(0, want - len(have))])


def queue_title(project: str, pseudonym: str) -> str:
    return f"{project}{QUEUE_SEPARATOR}{pseudonym}"


def _queues(client: Client, project: str, emails: list[str], pseudonym: Callable[[dict], str] | None, k: int,
            team: Team | None = None) -> dict[str, tuple[str, Client]]:
    """pseudonym -> (title of that annotator's own project, the client of the server it is on):
    their own server in an isolated team, else the lead's, where every e-mail must be a user."""
    if pseudonym is None:
        raise PushError("blind queues need the pseudonym key (the studio home)")
    wanted = sorted({e.strip().lower() for e in emails if e.strip()})
    if not 1 <= k <= len(wanted):
        raise PushError(f"--overlap {k}: each article needs between 1 and {len(wanted)} annotators (as many as --annotators)")
    servers = {}
    if team is not None and team.isolated:
        missing = [e for e in wanted if team.server_of(e) is None]
        if missing:
            raise PushError(f"not annotators of the team in {team.home}: {', '.join(missing)} "
                            "(add them with `framestance annotators add`)")
        team.check_up()
        for e in wanted:
            server = team.server_of(e)
            assert server is not None
            conn = server.connection()
            servers[e] = (server.name, Client(conn.url, conn.api_key))
    else:
        users = client.users()
        missing = [e for e in wanted if e not in users]
        if missing:
            raise PushError(f"not users of {client.url}: {', '.join(missing)} (add them with `framestance annotators add`)")
        servers = {e: (pseudonym({"id": users[e], "email": e}), client) for e in wanted}
    out = {}
    for e in wanted:
        p, on = servers[e]
        title = queue_title(project, p)
        problem = title_problem(title)
        if problem:
            raise PushError(f"{problem}: shorten --project to at most {len(project) - (len(title) - 50)} characters")
        out[p] = (title, on)
    return out


def _cache_path(client: Client, pid: int, cache_dir: Path) -> Path:
    server = hashlib.sha256(client.url.encode()).hexdigest()[:12]
    return Path(cache_dir) / "pushed" / f"{server}-{pid}.json"


def _keys(client: Client, pid: int, cache_dir: Path | None) -> dict[str, dict]:
    """The project's task keys: from the record of the last push from this home when the server
    still holds exactly that many tasks (a no-op re-push then costs one request, not a listing of
    every task), else read from the server."""
    if cache_dir is not None:
        path = _cache_path(client, pid, cache_dir)
        try:
            cached = json.loads(path.read_text())
        except (OSError, ValueError):
            cached = None
        if isinstance(cached, dict) and client.project_settings(pid)["task_number"] == len(cached):
            return cached
    return client.task_keys(pid)


def _remember(client: Client, pid: int, cache_dir: Path | None, keys: dict[str, dict]) -> None:
    if cache_dir is not None:
        path = _cache_path(client, pid, cache_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, json.dumps(keys, sort_keys=True).encode(), mode=0o600)


def _fill(client: Client, pid: int, picked: list[dict], table, preds: dict, report: PushReport,
          progress: Callable[[int, int], None] | None, max_attempts: int, *, total: int, done: int,
          keys: dict[str, dict] | None = None, cache_dir: Path | None = None,
          extra: dict[str, dict] | None = None) -> None:
    """Make project `pid` hold a task for each of `picked` (idempotent, retried, kill-safe);
    `extra` adds fields to an article's task data (the adjudication project's votes)."""
    attempt = 0
    while True:
        created_now = 0
        try:
            if keys is None:
                keys = client.task_keys(pid)
            todo = []
            present = 0
            changed = []
            for r in picked:
                have = keys.get(r["article_id"])
                if have is None:
                    todo.append(r)
                elif have.get("text_sha256") != r["text_sha256"]:
                    changed.append(r["article_id"])
                else:
                    present += 1
            done_before = done + present + len(changed)
            known = len(keys)
            for start in range(0, len(todo), BATCH):
                chunk = todo[start : start + BATCH]
                full = table.take([r["_row"] for r in chunk]).to_pylist()
                tasks = [task_for(r) for r in full]
                for r, t in zip(chunk, tasks):
                    if r["article_id"] in preds:
                        t["predictions"] = preds[r["article_id"]]
                    if extra and r["article_id"] in extra:
                        t["data"].update(extra[r["article_id"]])
                ids = client.import_tasks(pid, tasks)
                keys.update({r["article_id"]: {"id": i, "article_id": r["article_id"], "text_sha256": r["text_sha256"]}
                             for r, i in zip(chunk, ids)})
                report.created += len(chunk)
                created_now += len(chunk)
                if progress:
                    progress(done_before + start + len(chunk), total)
            report.changed += changed
            report.already_present += present
            if todo and client.project_settings(pid)["task_number"] != known + len(todo):
                # more tasks than this push made: a push from elsewhere raced it; find them
                keys = client.task_keys(pid)
            raced = sorted(i for k in keys.values() for i in k.get("duplicate_ids", []))
            if raced:
                idle = client.unannotated(raced)
                client.delete_tasks(pid, idle)
                report.race_duplicates_removed += len(idle)
                keys = client.task_keys(pid)
            _remember(client, pid, cache_dir, keys)
            if progress:
                progress(done + len(picked), total)
            return
        except (StudioUnavailable, StudioRequestError):
            attempt += 1
            report.retries += 1
            report.created -= created_now  # the next pass finds them on the server: counted there, once
            keys = None  # whatever the failed batch committed is not sent again
            if attempt >= max_attempts:
                raise
            time.sleep(min(2 ** attempt * 0.5, 10))
