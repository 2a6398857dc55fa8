"""A team at work on real local Label Studio servers: memory and start-up per server, and N
annotators submitting at once for a while, each with their own login and token.

    .venv/bin/python scripts/bench_team.py --isolation server --database sqlite --annotators 10 --seconds 300

Each annotator is one thread: a bounded loop that takes the next task of their own queue and
submits an annotation (frames, tone, a stance per target) with their own API token, until the
time is up (their queue is cycled: later rounds add a second annotation to a task). Reported:
submit latency p50/p95/max, errors, submissions per second; then a pull, and whether every
submitted annotation came back in it (by id). Memory: the resident size of every server process
after start and after the load; start-up: provisioning and first start of an annotator's server,
and a restart of the whole team.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def rss_mb(pid: int | None) -> float:
    if pid is None:
        return float("nan")
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def token(url: str, email: str, password: str) -> str:
    s = httpx.Client(base_url=url, timeout=30)
    s.get("/user/login/")
    s.post("/user/login/", data={"email": email, "password": password, "csrfmiddlewaretoken": s.cookies.get("csrftoken", "")},
           headers={"Referer": url + "/user/login/"})
    return s.get("/api/current-user/token").json()["token"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--isolation", choices=["server", "project"], default="server")
    ap.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--annotators", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=300)
    ap.add_argument("--articles", type=int, default=200)
    ap.add_argument("--json", type=Path, help="Write the figures here too.")
    args = ap.parse_args()

    from conftest import choices_result, prose, write  # the tests' own helpers: made-up prose
    from framestance.codebook import load
    from framestance.labelstudio.client import Client
    from framestance.labelstudio.pull import run as pull
    from framestance.labelstudio.push import push, queue_title
    from framestance.labelstudio.team import Team
    from framestance.normalise import normalise
    from framestance.pseudonym import Pseudonymiser

    cb = load(ROOT / "schemas" / "codebook.yaml")
    tmp = Path(tempfile.mkdtemp(prefix="bench-team-"))
    team = Team(tmp / ".studio", venv=ROOT / ".venv-ls")
    figures: dict = {"isolation": args.isolation, "database": args.database, "annotators": args.annotators}
    try:
        t0 = time.monotonic()
        lead = team.up(database=args.database, say=lambda m: None)["lead"]
        figures["lead_first_start_s"] = round(time.monotonic() - t0, 1)
        emails = [f"bench{i}@example.org" for i in range(args.annotators)]
        starts = []
        logins = []
        for e in emails:  # one at a time: the provisioning and first start of each server, timed
            t0 = time.monotonic()
            logins += team.add([e], isolation=args.isolation, say=lambda m: None)
            starts.append(time.monotonic() - t0)
        figures["add_annotator_s_median"] = round(statistics.median(starts), 1)
        servers = team.servers()
        figures["rss_mb_after_start"] = {s.name: round(rss_mb(s.studio.pid()), 0) for s in servers}
        print(f"team up: lead {figures['lead_first_start_s']} s; adding an annotator {figures['add_annotator_s_median']} s "
              f"(median of {len(starts)}); RSS per server after start "
              f"{statistics.median(figures['rss_mb_after_start'].values()):.0f} MB (median)", flush=True)

        raw = tmp / "raw"
        for i in range(args.articles):
            write(raw / f"a{i:04d}.txt", f"Bench story {i} about the talks\nHarbour Times {i % 9 + 1} hours ago\n" + prose(i, 5))
        from datetime import UTC, datetime

        normalise([str(raw)], tmp / "corpus", retrieved_at=datetime(2025, 8, 18, tzinfo=UTC), workers=2, force=True)
        client = Client(lead.url, lead.api_key)
        project = "bench-team"
        push(client, tmp / "corpus", project, cb, annotators=emails, overlap=2,
             pseudonym=Pseudonymiser.of_home(team.home).of, lock_dir=team.home, team=team)

        workers = []
        for lg in logins:
            server = team.server_of(lg.email)
            url = server.connection().url if server else lead.url
            c = Client(url, token(url, lg.email, lg.password))
            pid = c.find_project(queue_title(project, lg.pseudonym))
            tasks = sorted(k["id"] for k in c.task_keys(pid).values())
            workers.append((lg, c, tasks, c.whoami()["id"]))
        latencies: list[float] = []
        errors: list[str] = []
        submitted: list[tuple[str, int]] = []
        lock = threading.Lock()
        deadline = time.monotonic() + args.seconds
        frames = ["economic", "political", "legality", "morality"]

        def work(lg, c, tasks, me):
            i = 0
            while time.monotonic() < deadline:
                task = tasks[i % len(tasks)]
                result = choices_result(cb, frames[i % 4], ["neutral", "negative", "positive"][i % 3], "favor")
                t = time.monotonic()
                try:
                    ann = c.annotate(task, result, me, lead_time=30.0)
                    ok = True
                except Exception as exc:  # counted, reported: the load goes on
                    ok = False
                    err = f"{type(exc).__name__}: {str(exc)[:120]}"
                dt = time.monotonic() - t
                with lock:
                    latencies.append(dt)
                    if ok:
                        submitted.append((lg.pseudonym, ann))
                    else:
                        errors.append(err)
                i += 1

        threads = [threading.Thread(target=work, args=w) for w in workers]
        t0 = time.monotonic()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        wall = time.monotonic() - t0
        q = statistics.quantiles(latencies, n=100)
        figures.update(submits=len(latencies), errors=len(errors), submits_per_s=round(len(latencies) / wall, 1),
                       p50_ms=round(q[49] * 1000), p95_ms=round(q[94] * 1000), max_ms=round(max(latencies) * 1000),
                       seconds=round(wall))
        figures["rss_mb_after_load"] = {s.name: round(rss_mb(s.studio.pid()), 0) for s in servers}
        print(f"load: {len(latencies)} submits in {wall:.0f} s ({figures['submits_per_s']}/s), p50 {figures['p50_ms']} ms, "
              f"p95 {figures['p95_ms']} ms, max {figures['max_ms']} ms, errors {len(errors)}"
              + (f" (first: {errors[0]})" if errors else ""), flush=True)

        t0 = time.monotonic()
        report = pull(project, tmp / "snaps", tmp / "tables", cb, team.home, full=True)
        figures["pull_s"] = round(time.monotonic() - t0, 1)
        import pyarrow.parquet as pq

        ann = pq.read_table(tmp / "tables" / "annotations.parquet").to_pandas()
        got = ann[ann["status"] == "submitted"]
        # ids in the tables are n * ID_BLOCK + the server's own id: compare per annotator
        from framestance.labelstudio.team import ID_BLOCK

        pulled = {(a, int(i) % ID_BLOCK) for a, i in zip(got["annotator"], got["annotation_id"])}
        lost = [s for s in submitted if s not in pulled]
        figures.update(pulled=len(got), lost=len(lost))
        print(f"pull: {len(got)} annotations in {figures['pull_s']} s; submitted {len(submitted)}, missing from the pull: "
              f"{len(lost)}; {report.snapshot.stat().st_size / 1e6:.1f} MB snapshot", flush=True)

        t0 = time.monotonic()
        team.down()
        team.up(say=lambda m: None)
        figures["restart_team_s"] = round(time.monotonic() - t0, 1)
        print(f"restart of the whole team ({len(servers)} servers): {figures['restart_team_s']} s; RSS after load "
              f"{statistics.median(figures['rss_mb_after_load'].values()):.0f} MB (median), "
              f"{sum(figures['rss_mb_after_load'].values()):.0f} MB in all", flush=True)
        if args.json:
            args.json.write_text(json.dumps(figures, indent=1) + "\n")
    finally:
        team.down()
        pg = team.lead.postgres()
        if pg is not None and pg.as_root:
            import shutil

            shutil.rmtree(pg.data, ignore_errors=True)


if __name__ == "__main__":
    main()
