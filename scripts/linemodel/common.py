"""Shared helpers for training / evaluation of the line model (not needed at inference).

Paths (read at call time, so entry scripts can change them with `configure`):

* ``DATA``: the extraction-dev set; default ``<repo>/../shared/extraction-dev``, or the
  environment variable ``FRAMESTANCE_EXTRACTION_DEV``, or ``--data``.
* ``CACHE``: features, trafilatura bodies and out-of-fold predictions; default
  ``<repo>/bench-out/linemodel-cache`` (git-ignored), or ``FRAMESTANCE_LINEMODEL_CACHE``, or ``--cache``.
* ``MODEL``: the shipped weights, ``<repo>/src/framestance/models/linemodel.json``.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import re
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DATA = os.environ.get("FRAMESTANCE_EXTRACTION_DEV") or os.path.join(os.path.dirname(REPO), "shared", "extraction-dev")
CACHE = os.environ.get("FRAMESTANCE_LINEMODEL_CACHE") or os.path.join(REPO, "bench-out", "linemodel-cache")
MODEL = os.path.join(REPO, "src", "framestance", "models", "linemodel.json")

_TOK = re.compile(r"\w+")

_SLD2 = {"co", "com", "org", "net", "ac", "gov", "edu", "ne", "or", "go", "gv", "nic", "ltd", "plc", "sch", "mil", "nom", "gob", "info"}


def configure(data: str | None = None, cache: str | None = None) -> None:
    """Override the data and cache folders (module globals, read at call time)."""
    global DATA, CACHE
    if data:
        DATA = os.path.abspath(data)
    if cache:
        CACHE = os.path.abspath(cache)
    if not os.path.exists(os.path.join(DATA, "ground-truth.json")):
        raise SystemExit(f"extraction-dev data not found in {DATA} (set FRAMESTANCE_EXTRACTION_DEV or pass --data)")
    os.makedirs(CACHE, exist_ok=True)


def arg_parser(doc: str | None, out: bool = False) -> argparse.ArgumentParser:
    """Parser with the common --data / --cache options (and --out for the scripts that write weights)."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", help=f"extraction-dev folder (default: $FRAMESTANCE_EXTRACTION_DEV or {DATA})")
    ap.add_argument("--cache", help=f"cache folder (default: $FRAMESTANCE_LINEMODEL_CACHE or {CACHE})")
    if out:
        ap.add_argument("--out", default=MODEL, help=f"weights file to write (default: {MODEL})")
    return ap


def parse_args(ap: argparse.ArgumentParser, argv: list[str] | None = None) -> argparse.Namespace:
    args = ap.parse_args(argv)
    configure(args.data, args.cache)
    return args


def registered_domain(url: str | None, fallback: str) -> str:
    if not url:
        return "none:" + fallback
    host = re.sub(r"^[a-z]+://", "", url.lower()).split("/")[0].split(":")[0]
    parts = [p for p in host.split(".") if p]
    if len(parts) >= 3 and parts[-2] in _SLD2 and len(parts[-1]) == 2:
        return ".".join(parts[-3:])
    return ".".join(parts[-2:])


def shingles(text: str) -> Counter:
    toks = _TOK.findall(text)
    if not toks:
        return Counter()
    if len(toks) < 4:
        return Counter([tuple(toks)])
    return Counter(tuple(toks[i:i + 4]) for i in range(len(toks) - 3))


def page_counts(truth: str, pred: str) -> tuple[int, int, int]:
    t, p = shingles(truth), shingles(pred)
    tp = sum((t & p).values())
    return tp, sum(p.values()) - tp, sum(t.values()) - tp


def macro(rows):
    """rows: list of (tp, fp, fn). Returns F1, P, R per the extraction-dev README."""
    ps = [tp / (tp + fp) for tp, fp, fn in rows if tp + fp > 0]
    rs = [tp / (tp + fn) for tp, fp, fn in rows if tp + fn > 0]
    P = sum(ps) / len(ps) if ps else 0.0
    R = sum(rs) / len(rs) if rs else 0.0
    F = 2 * P * R / (P + R) if P + R else 0.0
    return F, P, R


def bootstrap_f1(rows, n=1000, seed=0):
    import numpy as np
    rng = np.random.default_rng(seed)
    rows = list(rows)
    tp = np.array([r[0] for r in rows], float)
    fp = np.array([r[1] for r in rows], float)
    fn = np.array([r[2] for r in rows], float)
    haspred = (tp + fp) > 0
    hastruth = (tp + fn) > 0
    prec = np.where(haspred, tp / np.maximum(tp + fp, 1), 0)
    rec = np.where(hastruth, tp / np.maximum(tp + fn, 1), 0)
    out = []
    for _ in range(n):
        idx = rng.integers(0, len(rows), len(rows))
        P = prec[idx].sum() / max(haspred[idx].sum(), 1)
        R = rec[idx].sum() / max(hastruth[idx].sum(), 1)
        out.append(2 * P * R / (P + R) if P + R else 0)
    return float(np.percentile(out, 2.5)), float(np.percentile(out, 97.5))


def _load_json(*parts: str):
    with open(os.path.join(DATA, *parts), encoding="utf-8") as f:
        return json.load(f)


def load_articles():
    gt = _load_json("ground-truth.json")
    meta = _load_json("meta.json")
    out = []
    for i in sorted(gt):
        url = gt[i].get("url") or (meta.get(i) or {}).get("url")
        out.append({"id": i, "truth": gt[i]["articleBody"] or "", "url": url, "group": registered_domain(url, i)})
    return out


def read_dump(shape: str, pid: str) -> str:
    with open(os.path.join(DATA, shape, pid + ".txt"), encoding="utf-8") as f:
        return f.read()


def read_non_article_dump(pid: str) -> str:
    with open(os.path.join(DATA, "non-articles", "text", pid + ".txt"), encoding="utf-8") as f:
        return f.read()


def read_html(pid: str, non_article=False) -> str:
    base = os.path.join(DATA, "non-articles", "html") if non_article else os.path.join(DATA, "html")
    with gzip.open(os.path.join(base, pid + ".html.gz"), "rt", encoding="utf-8", errors="replace") as f:
        return f.read()


def load_non_articles():
    pt = _load_json("non-articles", "page-types.json")
    return [{"id": i, "url": v.get("url"), "type": v.get("page_type"), "group": registered_domain(v.get("url"), i)} for i, v in sorted(pt.items())]


def token_labels(lines: list[str], truth: str) -> list[float]:
    """Per line: fraction of its \\w+ tokens covered by a page 4-gram that occurs in the truth."""
    tset = set(shingles(truth))
    toks, owner = [], []
    for li, ln in enumerate(lines):
        for t in _TOK.findall(ln):
            toks.append(t)
            owner.append(li)
    cov = [0] * len(toks)
    for i in range(len(toks) - 3):
        if tuple(toks[i:i + 4]) in tset:
            cov[i] = cov[i + 1] = cov[i + 2] = cov[i + 3] = 1
    tot = [0] * len(lines)
    hit = [0] * len(lines)
    for i, li in enumerate(owner):
        tot[li] += 1
        hit[li] += cov[i]
    return [hit[i] / tot[i] if tot[i] else 0.0 for i in range(len(lines))]


def cache_path(name: str) -> str:
    return os.path.join(CACHE, name)


def load_pickle(name: str):
    import pickle
    with open(cache_path(name), "rb") as f:
        return pickle.load(f)


def save_pickle(obj, name: str) -> None:
    import pickle
    os.makedirs(CACHE, exist_ok=True)
    tmp = cache_path(name) + ".tmp"
    with open(tmp, "wb") as f:
        pickle.dump(obj, f)
    os.replace(tmp, cache_path(name))


def read_weights(path: str) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def write_weights(d: dict, path: str) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(d, f, separators=(",", ":"))
    os.replace(tmp, path)


def patch_args(doc: str | None) -> tuple[argparse.Namespace, dict]:
    """Options of the scripts that refit one page-type model: (args, the weights to patch)."""
    ap = arg_parser(doc, out=True)
    ap.add_argument("--base", default=None, help="weights JSON to patch (default: --out if it exists, else the shipped file)")
    args = parse_args(ap)
    return args, read_weights(args.base or (args.out if os.path.exists(args.out) else MODEL))


def patch_page_model(d: dict, kind: str, entries: dict, threshold: float, out: str) -> None:
    """Put a refitted page-type model's entries (cv_page.PageFit.weights) into the weights and
    write them to OUT."""
    d.pop(f"page_{kind}_threshold", None)  # now derived from the scores at run time
    d.update(entries)
    write_weights(d, out)
    print("patched", out, "threshold at the default share of articles", threshold)
