"""Benchmark push and pull against a real local Label Studio (started here, stopped at the end).

    .venv/bin/python scripts/bench_labelstudio.py --n 10000

Measures: the server's own bulk import of N tasks (raw SDK calls, batches of 1,000) against
`framestance push` of the same N articles (sampling, key listing, task building, import); a no-op
re-push; and `framestance pull` (export snapshot + flat tables) of N annotated tasks, each carrying
one annotation with frames, tone, four stances and two spans.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def make_corpus(folder: Path, n: int) -> Path:
    from framestance.normalise import normalise

    rng = random.Random(5)
    vocab = ["".join(rng.choices("etaoinshrdlucmfwypvbgk", k=rng.randint(2, 9))) for _ in range(5000)]
    outlets = ["Harbour Times", "Pacific Daily", "Valley Courier", "Northwire", "Rundschau"]
    lines = []
    for i in range(n):
        r = random.Random(i)
        text = "\n\n".join(" ".join(r.choices(vocab, k=r.randint(60, 120))).capitalize() + "." for _ in range(6))
        lines.append(json.dumps({"url": f"https://bench.example/{i}", "title": f"Bench story {i}", "text": text,
                                 "date": "2025-08-17T10:00:00Z", "source_domain": outlets[i % 5]}))
    (folder / "raw").mkdir(parents=True)
    (folder / "raw" / "bench.jsonl").write_text("\n".join(lines) + "\n")
    normalise([str(folder / "raw")], folder / "corpus", retrieved_at=datetime(2025, 8, 18, tzinfo=UTC), workers=2, force=True)
    return folder / "corpus"


def bulk_import(client, pid: int, tasks: list[dict]) -> float:
    """Import `tasks` in batches of 1,000 (the server's own bulk import); seconds taken."""
    t = time.perf_counter()
    for i in range(0, len(tasks), 1000):
        client.import_tasks(pid, tasks[i : i + 1000])
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--blind", action="store_true",
                    help="Blind queues instead: N articles to 3 annotators at overlap 2 (2N tasks over 3 projects).")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    import pyarrow.parquet as pq

    from framestance.codebook import load
    from framestance.labelstudio.client import Client
    from framestance.labelstudio.interface import labeling_config
    from framestance.labelstudio.pull import Pseudonymiser, scrub, tables_from_snapshot, write_snapshot, write_tables
    from framestance.labelstudio.push import push, task_for
    from framestance.labelstudio.server import LocalStudio

    work = Path(tempfile.mkdtemp(prefix="fs-lsbench-"))
    home = LocalStudio(work / "studio", venv=ROOT / ".venv-ls")
    try:
        t = time.perf_counter()
        corpus = make_corpus(work, args.n)
        print(f"corpus of {args.n} articles in {time.perf_counter() - t:.1f} s")
        conn = home.up()
        client = Client(conn.url, conn.api_key)
        cb = load(ROOT / "schemas" / "codebook.yaml")
        config = labeling_config(cb)
        rows = sorted(pq.read_table(corpus / "articles.parquet").to_pylist(), key=lambda r: r["article_id"])
        tasks = [task_for(r) for r in rows]

        if args.blind:
            print(json.dumps(blind(home, client, corpus, cb, config, tasks, work, args.n)))
            return

        # 1. the server's own bulk import (raw SDK, batches of 1,000)
        raw_import = bulk_import(client, client.create_project("bench-raw-import", config), tasks)

        # 2. framestance push of the same articles, then a no-op re-push
        t = time.perf_counter()
        rep = push(client, corpus, "bench-push", cb)
        push_s = time.perf_counter() - t
        assert rep.created == args.n, rep
        t = time.perf_counter()
        rep2 = push(client, corpus, "bench-push", cb)
        noop_s = time.perf_counter() - t
        assert rep2.created == 0 and rep2.already_present == args.n, rep2

        # 3. pull of N annotated tasks (annotations imported with the tasks)
        user = client.ensure_user("bench-annotator@example.org")
        frames = [f.name for f in cb.frames]
        annotated = []
        for k, task in enumerate(tasks):
            text = task["data"]["text"]
            res = [
                {"from_name": "frames", "to_name": "text", "type": "choices", "value": {"choices": [frames[k % 15], frames[(k + 3) % 15]]}},
                {"from_name": "primary_frame", "to_name": "text", "type": "choices", "value": {"choices": [frames[k % 15]]}},
                {"from_name": "tone", "to_name": "text", "type": "choices", "value": {"choices": ["neutral"]}},
                *({"from_name": f"stance_{tg.id}", "to_name": "text", "type": "choices", "value": {"choices": ["neutral"]}} for tg in cb.targets),
                {"id": "a", "from_name": "frame_spans", "to_name": "text", "type": "labels",
                 "value": {"start": 0, "end": 12, "text": text[:12], "labels": [frames[k % 15]]}},
                {"id": "b", "from_name": "stance_evidence", "to_name": "text", "type": "labels",
                 "value": {"start": 20, "end": 40, "text": text[20:40], "labels": [cb.targets[0].name]}},
            ]
            annotated.append({**task, "annotations": [{"result": res, "completed_by": user, "lead_time": 30.0}]})
        pid3 = client.create_project("bench-pull", config)
        bulk_import(client, pid3, annotated)
        t = time.perf_counter()
        raw = client.export_snapshot(pid3)
        export_s = time.perf_counter() - t
        pseudo = Pseudonymiser(work / "key", work / "annotators.json")
        clean = scrub(raw, pseudo)
        snap = write_snapshot(clean, work / "annotations", "bench-pull")
        tables = tables_from_snapshot(clean, cb)
        write_tables(tables, work / "annotations" / "bench-pull")
        pull_s = time.perf_counter() - t
        assert tables["annotations"].num_rows == args.n, tables["annotations"].num_rows
        result = {
            "tasks": args.n,
            "server_bulk_import_s": round(raw_import, 2),
            "push_s": round(push_s, 2),
            "push_tasks_per_s": round(args.n / push_s),
            "push_overhead_vs_server_pct": round(100 * (push_s - raw_import) / raw_import, 1),
            "noop_repush_s": round(noop_s, 2),
            "pull_export_s": round(export_s, 2),
            "pull_total_s": round(pull_s, 2),
            "snapshot_MB": round(snap.stat().st_size / 1e6, 1),
            "rows": {k: v.num_rows for k, v in tables.items()},
        }
        print(json.dumps(result))
    finally:
        home.down()
        shutil.rmtree(work, ignore_errors=True)


def blind(home, client, corpus, cb, config, tasks, work, n):
    """push --annotators (3 people, overlap 2) against the server's own import of the same 2N tasks,
    a no-op re-push, and pull of the three queues, each task annotated by its queue's owner."""
    from framestance.labelstudio.accounts import add_local
    from framestance.labelstudio.pull import run
    from framestance.labelstudio.push import push, queue_title
    from framestance.pseudonym import Pseudonymiser

    logins = add_local(home, [f"bench{i}@example.org" for i in range(3)])
    emails = [lg.email for lg in logins]
    pseudo = Pseudonymiser.of_home(home.home)
    raw_import = bulk_import(client, client.create_project("bench-raw-import", config), tasks + tasks)
    t = time.perf_counter()
    rep = push(client, corpus, "bench", cb, annotators=emails, overlap=2, pseudonym=pseudo.of, lock_dir=home.home)
    push_s = time.perf_counter() - t
    assert rep.created == 2 * n, rep
    t = time.perf_counter()
    rep2 = push(client, corpus, "bench", cb, annotators=emails, overlap=2, pseudonym=pseudo.of, lock_dir=home.home)
    noop_s = time.perf_counter() - t
    assert rep2.created == 0 and rep2.already_present == 2 * n, rep2
    # pull: three queues of another project, each task carrying one annotation by the queue's owner
    users = client.users()
    for k, lg in enumerate(logins):
        mine = [{**task, "annotations": [{"result": [{"from_name": "tone", "to_name": "text", "type": "choices",
                                                         "value": {"choices": ["neutral"]}}],
                                             "completed_by": users[lg.email], "lead_time": 30.0}]}
                for j, task in enumerate(tasks) if j % 3 != k]
        bulk_import(client, client.create_project(queue_title("pulled", lg.pseudonym), config), mine)
    t = time.perf_counter()
    report = run("pulled", work / "annotations", work / "tables", cb, home.home)
    pull_s = time.perf_counter() - t
    rows = report.tables["annotations"][1]
    assert rows == 2 * n, rows
    return {"articles": n, "tasks": 2 * n, "queues": 3, "server_bulk_import_s": round(raw_import, 2),
            "push_s": round(push_s, 2), "push_vs_server": round(raw_import / push_s, 2),
            "noop_repush_s": round(noop_s, 2), "pull_three_queues_s": round(pull_s, 2), "annotations_pulled": rows}


if __name__ == "__main__":
    main()
