"""Benchmark `framestance normalise` as corpora grow, on both engines: real pages in WARC files.

    .venv/bin/python scripts/bench_scale.py --pages 10000 --engines local ray --workers 1 2 [--rows-per-file N]

Inputs: the 786 real article pages of ../shared/extraction-dev/html, replicated to N pages and
packed as gzipped WARC files of 250 HTTP responses each (as a crawler writes them). Copy 0 of a
page is the page itself; copy j > 0 has the words of every text node inside its <p> elements
shuffled (seeded by page and copy), so it is a distinct article with the page's markup, words and
length; its canonical link and og:url are removed so that its WARC URL (unique) names it. Planted
on top: 5% exact copies and 5% near copies (three words changed) of an earlier page of the
corpus, each under a new URL. Reported per run: pages/s (wall clock, Ray's start included),
peak resident memory of the driver, of the largest other process and of the whole process tree
(sampled every 0.2 s), and duplicates found against those planted whose original gave an article.
Each run is a child process; the outputs of every run of one size are compared byte for byte.
With --rows-per-file, the tables are folders of part files (on the ray engine, written by its
workers) and compared part by part.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_normalise import _children, _rss_mb  # noqa: E402  (the memory sampling of the normalise benchmark)

DATA = ROOT.parent / "shared" / "extraction-dev" / "html"
PER_WARC = 250
RETRIEVED = datetime(2025, 8, 18, 9, 30, tzinfo=UTC)

_P = re.compile(rb"(<p\b[^>]*>)(.*?)(</p>)", re.S | re.I)
_TEXT = re.compile(rb">([^<>]+)<")
_CANONICAL = re.compile(rb"<link\b[^>]*rel=[\"']?canonical[^>]*>|<meta\b[^>]*(?:property|name)=[\"']?og:url[^>]*>", re.I)


def _shuffled(html: bytes, seed: str) -> bytes:
    """The page with the words of each text node inside <p> shuffled (a new article, same shape)."""
    rng = random.Random(seed)

    def node(m: re.Match) -> bytes:
        words = m.group(1).split()
        rng.shuffle(words)
        return b">" + b" ".join(words) + b"<"

    def para(m: re.Match) -> bytes:
        inner = _TEXT.sub(node, b">" + m.group(2) + b"<")[1:-1]
        return m.group(1) + inner + m.group(3)

    return _P.sub(para, html)


def _near(html: bytes, seed: str) -> bytes:
    """Three words of the page's paragraphs changed: a near copy."""
    rng = random.Random(seed)
    paras = list(_P.finditer(html))
    out = html
    for _ in range(3):
        if not paras:
            break
        m = rng.choice(paras)
        words = re.findall(rb"[A-Za-z]{5,}", m.group(2))
        if words:
            w = rng.choice(words)
            out = out.replace(w, w[::-1], 1)
    return out


def generate(folder: Path, n: int, seed: int = 11) -> dict:
    """N pages in WARC files; returns what was planted (by URL: the URL of its original)."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    pages = [gzip.decompress(p.read_bytes()) for p in sorted(DATA.glob("*.html.gz"))]
    pages = [_CANONICAL.sub(b"", p) for p in pages]
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    made: list[tuple[str, bytes]] = []
    planted: dict[str, dict] = {}
    http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
    for first in range(0, n, PER_WARC):
        with open(folder / f"crawl-{first // PER_WARC:05d}.warc.gz", "wb") as fh:
            writer = WARCWriter(fh, gzip=True)
            for i in range(first, min(n, first + PER_WARC)):
                url = f"https://bench.example/{i:07d}"
                r = rng.random()
                if made and r < 0.05:
                    src_url, html = made[rng.randrange(len(made))]
                    planted[url] = {"kind": "exact", "of": src_url}
                elif made and r < 0.10:
                    src_url, html = made[rng.randrange(len(made))]
                    html = _near(html, url)
                    planted[url] = {"kind": "near", "of": src_url}
                else:
                    page, copy = i % len(pages), i // len(pages)
                    html = pages[page] if copy == 0 else _shuffled(pages[page], f"{page}:{copy}")
                    made.append((url, html))
                writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(html), http_headers=http,
                                                              warc_headers_dict={"WARC-Date": "2025-08-17T06:00:00Z"}))
    return planted


# ---- one run, in a child process ------------------------------------------------------------------


def child(src: str, out: str, engine: str, workers: int, rows_per_file: int) -> None:
    sys.path.insert(0, str(ROOT / "src"))
    from framestance.normalise import normalise

    t0 = time.perf_counter()
    summary = normalise([src], Path(out), engine=engine, workers=workers, retrieved_at=RETRIEVED, force=True,
                        rows_per_file=rows_per_file)
    print(json.dumps({"seconds": time.perf_counter() - t0, "summary": summary.__dict__}))


def _tree(pid: int) -> list[int]:
    """The process and all its descendants (Ray's workers are children of the raylet)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += _children(p)
    return out


def run(src: Path, out: Path, engine: str, workers: int, rows_per_file: int) -> dict:
    proc = subprocess.Popen([sys.executable, __file__, "--child", str(src), str(out), engine, str(workers), str(rows_per_file)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    peak = {"driver": 0.0, "other": 0.0, "tree": 0.0}
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.2):
            tree = _tree(proc.pid)
            sizes = {p: _rss_mb(p) for p in tree}
            peak["driver"] = max(peak["driver"], sizes.get(proc.pid, 0.0))
            peak["other"] = max([peak["other"], *(v for p, v in sizes.items() if p != proc.pid)])
            peak["tree"] = max(peak["tree"], sum(sizes.values()))

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    stdout, _ = proc.communicate()
    stop.set()
    t.join()
    if proc.returncode:
        raise SystemExit(f"{engine} with {workers} workers failed (exit {proc.returncode})")
    result = json.loads(stdout.strip().splitlines()[-1])
    result["peak"] = peak
    return result


def found_vs_planted(out: Path, planted: dict) -> dict:
    import pyarrow.parquet as pq

    rows = pq.read_table(out / "articles.parquet", columns=["url", "article_id", "duplicate_of", "relation"]).to_pylist()
    by_url = {r["url"]: r for r in rows if r["relation"] == "main"}
    counts = {"exact": [0, 0], "near": [0, 0]}
    for url, p in planted.items():
        original = by_url.get(p["of"])
        if original is None or url not in by_url:  # the original (or the copy) gave no article
            continue
        counts[p["kind"]][1] += 1
        if by_url[url]["duplicate_of"] is not None:
            counts[p["kind"]][0] += 1
    return {f"{k}_found_of_planted": f"{a}/{b}" for k, (a, b) in counts.items()}


def _same(a: Path, b: Path) -> bool:
    """The same bytes: one file, or a folder of part files, file by file."""
    if a.is_dir() or b.is_dir():
        names = sorted(p.name for p in a.iterdir()) if a.is_dir() else None
        return b.is_dir() and names == sorted(p.name for p in b.iterdir()) and all(_same(a / n, b / n) for n in names or [])
    return a.read_bytes() == b.read_bytes()


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]))
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, nargs="+", default=[10_000])
    ap.add_argument("--engines", nargs="+", default=["local", "ray"], choices=["local", "ray"])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--rows-per-file", type=int, default=0, help="part files of this many rows (default: one file per table)")
    ap.add_argument("--dir", type=Path, default=None, help="work folder (default: a temporary one, removed)")
    args = ap.parse_args()
    if not DATA.exists():
        raise SystemExit(f"{DATA}: not found (the benchmark reads the real pages of ../shared/extraction-dev)")
    base = args.dir or Path(tempfile.mkdtemp(prefix="fs-scale-"))
    try:
        for n in args.pages:
            work = base / f"n{n}"
            t0 = time.perf_counter()
            planted = generate(work / "warc", n)
            size = sum(p.stat().st_size for p in (work / "warc").glob("*"))
            print(f"generated {n} pages in {len(list((work / 'warc').glob('*')))} WARC files, {size / 1e6:.0f} MB "
                  f"gzipped, in {time.perf_counter() - t0:.0f} s", flush=True)
            outs = []
            for engine in args.engines:
                for w in args.workers:
                    out = work / f"out-{engine}-{w}"
                    r = run(work / "warc", out, engine, w, args.rows_per_file)
                    s = r["summary"]
                    row = {"pages": n, "engine": engine, "workers": w, "rows_per_file": args.rows_per_file,
                           "seconds": round(r["seconds"], 1),
                           "pages_per_s": round(n / r["seconds"], 1),
                           "peak_rss_driver_MB": round(r["peak"]["driver"]), "peak_rss_largest_other_MB": round(r["peak"]["other"]),
                           "peak_rss_all_MB": round(r["peak"]["tree"]), "articles": s["articles"], "rejected": s["rejected"],
                           "exact_duplicates": s["exact_duplicates"], "near_duplicates": s["near_duplicates"],
                           **found_vs_planted(out, planted)}
                    print(json.dumps(row), flush=True)
                    outs.append(out)
            same = all(_same(o / f, outs[0] / f) for o in outs for f in ("articles.parquet", "rejects.parquet", "summary.json"))
            print(f"{n} pages: outputs byte-identical across engines and worker counts: {same}", flush=True)
            if args.dir is None:
                shutil.rmtree(work, ignore_errors=True)
    finally:
        if args.dir is None:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    main()
