"""Generated inputs for the fuzz suite (tests/normalise/test_fuzz.py) and its long run (scripts/fuzz_normalise.py).

Every input is our own text. `write_case` writes a mix of good and bad inputs of every kind into a
folder and returns what a correct run must account for: each path written (a file, a link, an
unreadable folder) and, for the good ones, how many records they hold.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import random
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

WORDS = ["harbour", "council", "budget", "ceasefire", "talks", "minister", "vote", "river", "school", "farmers", "union", "court", "price", "energy", "report", "village", "tariff", "strike", "election", "border", "grain", "hospital"]
KINDS = ("txt", "html", "jsonl", "json", "csv", "parquet")


@dataclass
class Case:
    paths: list[Path] = field(default_factory=list)  # every input path a run must account for
    good: dict[Path, int] = field(default_factory=dict)  # good file -> rows it must give (records) or 1


def prose(rng: random.Random, sentences: int = 8) -> str:
    topic = " ".join(rng.sample(WORDS, 3))
    out = []
    for i in range(sentences):
        ws = [rng.choice(WORDS) for _ in range(rng.randint(8, 16))]
        out.append(f"The {topic} story {rng.randrange(10**6)} says {' '.join(ws)} on day {i}.")
    return " ".join(out)


def page_text(rng: random.Random) -> str:
    title = f"{rng.choice(WORDS).title()} {rng.choice(WORDS)} report {rng.randrange(10**6)}"
    paras = "\n\n".join(prose(rng, 4) for _ in range(3))
    return f"Home\nNews\n{title}\nBy Ada Quill\n{paras}\nShare this article\n"


def page_html(rng: random.Random) -> str:
    title = f"{rng.choice(WORDS).title()} {rng.choice(WORDS)} report {rng.randrange(10**6)}"
    paras = "".join(f"<p>{prose(rng, 4)}</p>" for _ in range(3))
    return (f"<!doctype html><html><head><title>{title}</title></head><body><nav>Home</nav>"
            f"<article><h1>{title}</h1>{paras}</article><footer>About us</footer></body></html>")


def record(rng: random.Random) -> dict:
    return {"url": f"https://fuzz.example/{rng.randrange(10**9)}", "title": f"Record {rng.randrange(10**6)}",
            "text": prose(rng, 8), "date": f"2025-03-0{rng.randint(1, 9)}", "authors": ["Ada Quill"]}


def _csv_bytes(rows: list[dict]) -> bytes:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]))
    w.writeheader()
    for r in rows:
        w.writerow({k: (json.dumps(v) if isinstance(v, list) else v) for k, v in r.items()})
    return buf.getvalue().encode()


def _parquet_bytes(rows: list[dict]) -> bytes:
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), buf)
    return buf.getvalue()


def good_bytes(rng: random.Random, kind: str) -> tuple[bytes, int]:
    """(content, rows it gives) of a well-formed input of `kind`."""
    if kind == "txt":
        return page_text(rng).encode(), 1
    if kind == "html":
        return page_html(rng).encode(), 1
    rows = [record(rng) for _ in range(rng.randint(1, 4))]
    if kind == "jsonl":
        return "".join(json.dumps(r) + "\n" for r in rows).encode(), len(rows)
    if kind == "json":
        return json.dumps(rows).encode(), len(rows)
    if kind == "csv":
        return _csv_bytes(rows), len(rows)
    return _parquet_bytes(rows), len(rows)


def deep(n: int, kind: str = "list") -> str:
    return "[" * n + "]" * n if kind == "list" else '{"a":' * n + "1" + "}" * n


def bad_bytes(rng: random.Random, kind: str) -> bytes:
    """A malformed input of `kind`: each branch is a failure seen in the wild or in a fuzz run."""
    good, _ = good_bytes(rng, kind)
    choice = rng.randrange(16)
    if choice == 0:
        return b""
    if choice == 1:
        return bytes(rng.randrange(256) for _ in range(rng.randint(1, 3000)))
    if choice == 2:  # truncated
        return good[: rng.randrange(max(1, len(good)))]
    if choice == 3:  # flipped bytes
        b = bytearray(good)
        for _ in range(rng.randint(1, 20)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        return bytes(b)
    if choice == 4:
        return (deep(rng.choice([1000, 100_000]), rng.choice(["list", "dict"])) + "\n").encode()
    if choice == 5:
        return rng.choice([b"[]", b"{}", b"null", b"5", b'"x"', b"\xef\xbb\xbf", b"\n\n", b"url,title,text\n"])
    if choice == 6:  # another encoding, with or without BOM
        enc = rng.choice(["utf-16", "utf-32", "utf-16-le", "latin-1", "cp1252"])
        return good.decode("utf-8", errors="replace").encode(enc, errors="replace")
    if choice == 7:  # CSV: more fields than the header, broken quoting
        return b'url,title,text\nhttps://x.example/1,"A title,' + prose(rng).encode() + b"\nhttps://x.example/2,B,c,d,e\n"
    if choice == 8:  # odd field types
        r = record(rng)
        r.update(rng.choice([{"authors": 12345}, {"date": 1e20}, {"date": "not a date at all"}, {"title": {"a": [1]}},
                             {"url": ["x"]}, {"text": 3.5}, {"authors": [None, 3]}, {"date": -1e300}, {"date": True}]))
        return (json.dumps(r) + "\n").encode()
    if choice == 9:  # NUL bytes inside text
        return good[:50] + b"\x00" * rng.randint(1, 40) + good[50:]
    if choice == 10:  # control characters and lone surrogates escaped in JSON
        return ('{"text": "' + "\\ud800" * 5 + prose(rng) + '", "url": "https://x.example/s"}\n').encode()
    if choice == 11:  # mixed line endings, CR only
        return good.replace(b"\n", b"\r")
    if choice == 12:  # a very long line
        return b"word " * rng.randint(10_000, 60_000)
    if choice == 13:  # HTML without body, scripts only
        return b"<html><head><script>" + b"x" * 5000 + b"</script></head></html>"
    if choice == 14:  # a gzip member cut short
        return gzip.compress(good)[: rng.randint(5, 40)]
    return good + bytes(rng.randrange(256) for _ in range(rng.randint(1, 200)))


def write(path: Path, data: bytes, gz: bool) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if gz:
        path = path.with_name(path.name + ".gz")
        data = gzip.compress(data, mtime=0)
    path.write_bytes(data)
    return path


def write_case(rng: random.Random, root: Path, n_files: int, bad_share: float = 0.5, links: bool = True) -> Case:
    """n_files inputs under root (some in sub-folders), about bad_share of them malformed."""
    case = Case()
    for i in range(n_files):
        kind = rng.choice(KINDS)
        sub = root / rng.choice(["", "a", "a/b", "c"])
        gz = rng.random() < 0.2
        name = f"f{i:05d}.{kind}"
        if rng.random() < 0.05:  # a file name that is not valid UTF-8, or with odd characters
            name = rng.choice([f"f{i:05d}-\udcff.{kind}", f"f{i:05d} ünï cødé\t.{kind}", f"f{i:05d}\n.{kind}"])
        if rng.random() < bad_share:
            path = write(sub / name, bad_bytes(rng, kind), gz)
        else:
            data, rows = good_bytes(rng, kind)
            path = write(sub / name, data, gz)
            case.good[path] = rows
        case.paths.append(path)
    if links:
        for j in range(rng.randint(0, 3)):
            d = root / "links"
            d.mkdir(exist_ok=True)
            what = rng.choice(["loop", "dangling", "self", "file"])
            link = d / f"l{j}-{what}"
            target = {"loop": "..", "dangling": "missing-target", "self": link.name, "file": os.path.relpath(case.paths[0], d)}[what]
            os.symlink(target, link)
            if what != "loop":  # a loop is one reject for the link itself
                case.paths.append(link)
            else:
                case.paths.append(link)
    return case
