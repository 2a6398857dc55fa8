"""Benchmark `framestance normalise` on a generated corpus of plain-text dumps.

    .venv/bin/python scripts/bench_normalise.py --n 100000 --workers 1 2

Generates N dumps shaped like aggregator pages (site chrome, repeated title, outlet glued to a
relative date, split byline, photo credits, a kicker, sentences broken at inline links, a
syndication trailer, a related article glued on; every 20th page is a near-duplicate of another)
from a fixed-seed random vocabulary, then times the real pipeline. Reports dumps/s and MB/s per
core and the peak resident memory of the main process and of the largest worker.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

VOCAB_SEED = 7


def _vocab(rng: random.Random, n: int = 6000) -> list[str]:
    letters = "etaoinshrdlucmfwypvbgkqjxz"
    weights = [12, 9, 8, 7.5, 7, 6.7, 6.3, 6, 5.9, 4.2, 4, 2.8, 2.8, 2.4, 2.2, 2, 2, 1.9, 1.5, 1, 0.8, 0.2, 0.1, 0.15, 0.1, 0.07]
    return ["".join(rng.choices(letters, weights, k=rng.randint(2, 10))) for _ in range(n)]


def _sentence(rng: random.Random, vocab: list[str], lo: int = 8, hi: int = 28) -> str:
    words = rng.choices(vocab, k=rng.randint(lo, hi))
    words[0] = words[0].capitalize()
    return " ".join(words) + rng.choice([".", ".", ".", "?", "!"])


def make_dump(i: int, vocab: list[str], variant: int = 0) -> str:
    rng = random.Random(i)
    title = _sentence(rng, vocab, 6, 12).rstrip(".?!").title()
    outlet = rng.choice(["Harbour Times", "Pacific Daily", "Valley Courier", "Northwire", "Rundschau"])
    lines = ["logo", title, "", title, "", f"{outlet}{rng.randint(1, 9)} {rng.choice(['hours', 'days'])} ago", "By",
             f"{rng.choice(vocab).title()} {rng.choice(vocab).title()}", f", {rng.choice(vocab)} correspondent, {outlet}",
             _sentence(rng, vocab, 4, 8), "Photo:", f"{rng.choice(vocab).title()} / AFP", "Analysis"]
    paras = [_sentence(rng, vocab) + " " + _sentence(rng, vocab) for _ in range(rng.randint(8, 14))]
    if variant:  # a re-edited copy: one paragraph rewritten, a near-duplicate
        paras[len(paras) // 2] = _sentence(random.Random(-i - variant), vocab)
    paras[0] = ": " + paras[0]
    for k in range(2, len(paras), 4):  # a sentence broken at an inline link
        words = paras[k].split()
        cut = len(words) // 2
        paras[k] = " ".join(words[:cut]) + "\n" + " ".join(words[cut : cut + 3]) + "\n" + " ".join(words[cut + 3 :])
    lines += paras + ["-" + rng.choice(["CNN", "AFP", "Reuters"]), "Orange background", "", "Comments", "",
                      "No comments yet...", "", "Related Articles", ""]
    rtitle = _sentence(rng, vocab, 6, 10).rstrip(".?!").title()
    lines += [rtitle, rtitle, "", outlet, "", f"time{rng.randint(1, 23)} hours ago", "", rtitle, ""]
    lines.append(" ".join(_sentence(rng, vocab) for _ in range(8)) + " ADVERTISEMENT " + _sentence(rng, vocab) + " (Source: AP) " + _sentence(rng, vocab))
    lines += ["", "DOWNLOAD THE APP", "", "app-storeplay-store"]
    return "\n".join(lines) + "\n"


def generate(folder: Path, n: int) -> int:
    vocab = _vocab(random.Random(VOCAB_SEED))
    total = 0
    for i in range(n):
        sub = folder / f"{i // 1000:04d}"
        if i % 1000 == 0:
            sub.mkdir(parents=True, exist_ok=True)
        if i % 20 == 19:  # an exact copy of an earlier page (other chrome)
            text = make_dump(i - 7, vocab).replace("logo\n", "logo\nMenu\n")
        elif i % 20 == 13:  # a near-duplicate of an earlier page
            text = make_dump(i - 5, vocab, variant=1)
        else:
            text = make_dump(i, vocab)
        data = text.encode()
        (sub / f"{i:07d}.txt").write_bytes(data)
        total += len(data)
    return total


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


class RssSampler(threading.Thread):
    """Peak resident memory of this process and of its largest child (the workers), sampled."""

    def __init__(self):
        super().__init__(daemon=True)
        self.main = self.worker = 0.0
        self.stop = threading.Event()

    def run(self):
        me = os.getpid()
        while not self.stop.wait(0.25):
            self.main = max(self.main, _rss_mb(me))
            for c in _children(me):
                self.worker = max(self.worker, _rss_mb(c))


def run_once(src: Path, out: Path, workers: int) -> dict:
    from framestance.normalise import normalise

    sampler = RssSampler()
    sampler.start()
    t0 = time.perf_counter()
    summary = normalise([str(src)], out, retrieved_at=datetime(2025, 8, 18, 9, 30, tzinfo=UTC), workers=workers, force=True)
    seconds = time.perf_counter() - t0
    sampler.stop.set()
    sampler.join()
    return {"seconds": seconds, "summary": summary, "rss_main": sampler.main, "rss_worker": sampler.worker}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, nargs="+", default=[100_000], help="corpus sizes (several show how memory grows)")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--dir", type=Path, default=None, help="work folder (default: a temporary one, removed)")
    args = ap.parse_args()
    base = args.dir or Path(tempfile.mkdtemp(prefix="fs-bench-"))
    try:
        for n in args.n:
            work = base / f"n{n}"
            src = work / "dumps"
            t0 = time.perf_counter()
            size = generate(src, n)
            print(f"generated {n} dumps, {size / 1e6:.1f} MB in {time.perf_counter() - t0:.1f} s")
            rows = []
            for w in args.workers:
                r = run_once(src, work / f"out-{w}", w)
                s = r["summary"]
                peak_main, peak_child = r["rss_main"], r["rss_worker"]
                row = {
                    "dumps": n, "workers": w, "seconds": round(r["seconds"], 1),
                    "dumps_per_s": round(n / r["seconds"]), "dumps_per_s_per_core": round(n / r["seconds"] / w),
                    "MB_per_s_per_core": round(size / 1e6 / r["seconds"] / w, 2),
                    "peak_rss_main_MB": round(peak_main), "peak_rss_worker_MB": round(peak_child),
                    "articles": s.articles, "related": s.related, "near_duplicates": s.near_duplicates,
                    "exact_duplicates": s.exact_duplicates, "rejected": s.rejected,
                }
                rows.append(row)
                print(json.dumps(row))
            a = (work / f"out-{args.workers[0]}" / "articles.parquet").read_bytes()
            same = all((work / f"out-{w}" / "articles.parquet").read_bytes() == a for w in args.workers)
            print(f"articles.parquet byte-identical across worker counts: {same}")
            shutil.rmtree(src, ignore_errors=True)
    finally:
        if args.dir is None:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
