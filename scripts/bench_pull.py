"""Full pull against incremental pull, on a real local Label Studio (a studio home of its own,
started here and stopped at the end).

    .venv/bin/python scripts/bench_pull.py --n 100000 --changed 0.01

N tasks (about 1.5 KB of text each), every one with one annotation (frames, tone, four stances),
imported in batches of 1,000 through the project's interface made by `push`. Then: a full pull;
an incremental pull with nothing changed; then `--changed` of the tasks change (half get a second
annotation, half have theirs edited), and an incremental pull is timed against a full pull of the
same state, and their snapshots compared byte for byte.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--changed", type=float, default=0.01)
    args = ap.parse_args()

    from conftest import choices_result, prose
    from framestance.codebook import load, project_description
    from framestance.labelstudio.client import Client
    from framestance.labelstudio.interface import labeling_config
    from framestance.labelstudio.pull import run as pull
    from framestance.labelstudio.server import LocalStudio

    cb = load(ROOT / "schemas" / "codebook.yaml")
    tmp = Path(tempfile.mkdtemp(prefix="bench-pull-"))
    studio = LocalStudio(tmp / ".studio", venv=ROOT / ".venv-ls")
    try:
        conn = studio.up(say=lambda m: None)
        client = Client(conn.url, conn.api_key)
        pid = client.create_project("bench-pull", labeling_config(cb), description=project_description(cb))
        me = client.whoami()["id"]
        frames = ["economic", "political", "legality", "morality"]
        t0 = time.monotonic()
        for start in range(0, args.n, 1000):
            batch = []
            for i in range(start, min(start + 1000, args.n)):
                text = prose(i % 5000, 8)
                batch.append({"data": {"article_id": f"art-{i:06d}", "title": f"Story {i}", "text": text, "meta": "bench",
                                       "text_sha256": hashlib.sha256(text.encode()).hexdigest()},
                              "annotations": [{"result": choices_result(cb, frames[i % 4], "neutral", "favor"),
                                               "completed_by": me, "lead_time": 30.0}]})
            client.import_tasks(pid, batch)
            print(f"\rimported {min(start + 1000, args.n)} of {args.n}", end="", flush=True)
        print(f"\nimport: {time.monotonic() - t0:.0f} s", flush=True)

        home = studio.home
        snaps = tmp / "snaps"
        t0 = time.monotonic()
        first = pull("bench-pull", snaps, tmp / "tables", cb, home, full=True)
        full_s = time.monotonic() - t0
        print(f"full pull: {full_s:.1f} s, {first.fetched} tasks, snapshot {first.snapshot.stat().st_size / 1e6:.0f} MB", flush=True)
        t0 = time.monotonic()
        same = pull("bench-pull", snaps, tmp / "tables", cb, home)
        print(f"incremental pull, nothing changed: {time.monotonic() - t0:.1f} s, {same.fetched} tasks exported", flush=True)

        keys = sorted(client.task_keys(pid).values(), key=lambda k: k["id"])
        changed = random.Random(1).sample(keys, int(args.n * args.changed))
        anns = {}
        for k in changed[: len(changed) // 2]:
            anns[k["id"]] = client.annotate(k["id"], choices_result(cb, "crime_punishment", "negative", "against"), me, lead_time=12.0)
        for k in changed[len(changed) // 2:]:  # edit the imported annotation
            task = client.call(client.ls.tasks.get, id=str(k["id"]))
            first_ann = task.annotations[0]["id"] if isinstance(task.annotations[0], dict) else task.annotations[0].id
            client.call(client.ls.annotations.update, id=first_ann, result=choices_result(cb, "health_safety", "positive", "neutral"))
        print(f"changed {len(changed)} tasks ({args.changed:.0%})", flush=True)

        inc_dir = tmp / "inc"
        shutil.copytree(snaps, inc_dir)
        t0 = time.monotonic()
        inc = pull("bench-pull", inc_dir, tmp / "inc-tables", cb, home)
        inc_s = time.monotonic() - t0
        t0 = time.monotonic()
        full = pull("bench-pull", tmp / "full", tmp / "full-tables", cb, home, full=True)
        full2_s = time.monotonic() - t0
        same_bytes = inc.snapshot.read_bytes() == full.snapshot.read_bytes()
        print(f"after {args.changed:.0%} changed: incremental {inc_s:.1f} s ({inc.fetched} tasks exported), "
              f"full {full2_s:.1f} s ({full.fetched} tasks); snapshots identical: {same_bytes}", flush=True)
        if not same_bytes:
            raise SystemExit("the incremental snapshot differs from the full one")
    finally:
        studio.down()


if __name__ == "__main__":
    main()
