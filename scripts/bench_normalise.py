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
import random
import resource
import shutil
import tempfile
import time
from datetime import datetime, timezone
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


def make_dump(i: int, vocab: list[str]) -> str:
    rng = random.Random(i)
    title = _sentence(rng, vocab, 6, 12).rstrip(".?!").title()
    outlet = rng.choice(["Harbour Times", "Pacific Daily", "Valley Courier", "Northwire", "Rundschau"])
    lines = ["logo", title, "", title, "", f"{outlet}{rng.randint(1, 9)} {rng.choice(['hours', 'days'])} ago", "By",
             f"{rng.choice(vocab).title()} {rng.choice(vocab).title()}", f", {rng.choice(vocab)} correspondent, {outlet}",
             _sentence(rng, vocab, 4, 8), "Photo:", f"{rng.choice(vocab).title()} / AFP", "Analysis"]
    paras = [_sentence(rng, vocab) + " " + _sentence(rng, vocab) for _ in range(rng.randint(8, 14))]
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
        text = make_dump(i, vocab) if i % 20 != 19 else make_dump(i - 7, vocab).replace("logo\n", "logo\nMenu\n")
        data = text.encode()
        (sub / f"{i:07d}.txt").write_bytes(data)
        total += len(data)
    return total


def run_once(src: Path, out: Path, workers: int) -> dict:
    from framestance.normalise import normalise

    t0 = time.perf_counter()
    summary = normalise([str(src)], out, retrieved_at=datetime(2025, 8, 18, 9, 30, tzinfo=timezone.utc), workers=workers, force=True)
    return {"seconds": time.perf_counter() - t0, "summary": summary}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--dir", type=Path, default=None, help="work folder (default: a temporary one, removed)")
    args = ap.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="fs-bench-"))
    try:
        src = work / "dumps"
        t0 = time.perf_counter()
        size = generate(src, args.n)
        print(f"generated {args.n} dumps, {size / 1e6:.1f} MB in {time.perf_counter() - t0:.1f} s")
        rows = []
        for w in args.workers:
            r = run_once(src, work / f"out-{w}", w)
            s = r["summary"]
            peak_main = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            peak_child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            row = {
                "dumps": args.n, "workers": w, "seconds": round(r["seconds"], 1),
                "dumps_per_s": round(args.n / r["seconds"]), "dumps_per_s_per_core": round(args.n / r["seconds"] / w),
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
    finally:
        if args.dir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
