"""The pure normaliser: one RAW_INPUT record batch -> (articles, rejects, dedup keys).

No I/O and no state: the same batch and params always give the same output, so any engine
(a process pool here; datatrove, Ray or Spark elsewhere) can run it in parallel. Duplicate marking
needs the whole stream and happens afterwards, in `pipeline.py`.
"""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa

from .. import __version__
from ..config import NormaliseConfig
from ..schema import ARTICLE, JSON_KINDS, REJECT, REJECT_REASONS, RejectReason
from .article import NotAnArticle
from .extractors import ExtractOptions, extractor_for
from .linemodel import check_article_loss
from .readers import bom_encoding
from .records import parse_when, pick
from .text import assemble, dedup_key, detect_language, outlet_key, sha256, words

NORMALISER_VERSION = __version__

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f]")
_MAGIC = (
    (b"\x89PNG", "PNG image"), (b"\xff\xd8\xff", "JPEG image"), (b"GIF8", "GIF image"), (b"%PDF", "PDF document"),
    (b"PK\x03\x04", "ZIP archive"), (b"\x7fELF", "executable"), (b"RIFF", "RIFF media"), (b"\x00\x00\x00", "binary data"),
    (b"BZh", "bzip2 archive"), (b"\xfd7zXZ", "xz archive"), (b"OggS", "Ogg media"), (b"ID3", "MP3 audio"),
)


@dataclass(frozen=True)
class Params:
    min_words: int = NormaliseConfig.min_words
    page_type_article_loss: float = NormaliseConfig.page_type_article_loss
    num_perm: int = NormaliseConfig.num_perm
    shingle: int = 5

    def __post_init__(self) -> None:
        check_article_loss(self.page_type_article_loss)  # ValueError here, not a reject per page


@dataclass
class Result:
    articles: pa.RecordBatch
    rejects: pa.RecordBatch
    dedup_keys: list[str]  # exact-duplicate key per article row
    signatures: np.ndarray  # (rows, num_perm) uint32 MinHash signatures


class Rejected(Exception):
    def __init__(self, reason: str, detail: str):
        assert reason in REJECT_REASONS, reason
        super().__init__(detail)
        self.reason, self.detail = reason, detail


def decode(payload: bytes) -> str:
    """Bytes of a page -> text; Rejected (empty, binary, undecodable) when that cannot be done."""
    if not payload or not payload.strip():
        raise Rejected("empty", "empty: the file has no content")
    for magic, what in _MAGIC:
        if payload.startswith(magic):
            raise Rejected("binary", f"binary: looks like a {what}, not text")
    encoding = bom_encoding(payload[:4])
    if encoding in ("utf-16", "utf-32"):
        try:
            text = payload.decode(encoding)
        except UnicodeDecodeError as exc:
            raise Rejected("undecodable", f"undecodable: broken {encoding.upper()} ({exc.reason})") from None
        if not text.strip():
            raise Rejected("empty", "empty: only white space")
        return text
    head = payload[:8192]
    nul = head.count(0)
    if nul:
        raise Rejected("binary", f"binary: {nul} NUL bytes in the first 8 KiB")
    try:
        text = payload.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        from charset_normalizer import from_bytes

        best = from_bytes(payload, cp_isolation=["cp1252", "latin_1", "iso8859_15", "cp1251", "koi8_r", "shift_jis", "gb18030", "euc_kr", "big5"]).best()
        if best is None or best.chaos > 0.3:
            raise Rejected("undecodable", f"undecodable: not UTF-8 ({exc.reason} at byte {exc.start}) and no other encoding fits") from None
        text = str(best)
    if not text.strip():
        raise Rejected("empty", "empty: only white space")
    control = len(_CONTROL.findall(text, 0, 4096))
    if control > 0.05 * min(len(text), 4096):
        raise Rejected("binary", f"binary: {control} control characters in the first 4 KiB")
    return text


def canonical_url(url: str | None) -> str | None:
    if not url:
        return None
    from courlan import normalize_url

    try:
        return normalize_url(url.strip(), strict=True)
    except (ValueError, AttributeError):
        return url.strip()


def article_id(canonical: str | None, source_sha256: str, position: int, related: int | None = None) -> str:
    """Stable id: from the canonical URL when there is one, else from the source file and position."""
    if canonical:
        return sha256("url:" + canonical)[:20]
    key = f"file:{source_sha256}:{position}" + ("" if related is None else f":related:{related}")
    return sha256(key)[:20]


@lru_cache(maxsize=4)
def _permutations(num_perm: int):
    from datasketch import MinHash

    return MinHash(num_perm=num_perm, seed=1).permutations


def _identity(value):
    return value


_ROLL = np.array([pow(1_000_003, j, 1 << 32) for j in range(16)], dtype=np.uint64)


def shingle_hashes(toks: list[str], k: int) -> np.ndarray:
    """32-bit hashes of the distinct word k-shingles: crc32 per token, rolled over k tokens."""
    if not toks:
        return np.array([zlib.crc32(b"")], dtype=np.uint64)
    h = np.fromiter((zlib.crc32(t.encode()) for t in toks), dtype=np.uint64, count=len(toks))
    n = max(1, len(toks) - k + 1)
    acc = np.zeros(n, dtype=np.uint64)
    for j in range(min(k, len(toks))):
        acc = (acc + h[j : j + n] * _ROLL[j]) & np.uint64(0xFFFFFFFF)
    return np.unique(acc)


def signature(toks: list[str], params: Params) -> np.ndarray:
    """MinHash (datasketch) of the word 5-shingles of lower-cased tokens."""
    from datasketch import MinHash

    m = MinHash(num_perm=params.num_perm, hashfunc=_identity, permutations=_permutations(params.num_perm), scheme="affine32")
    m.update_batch(shingle_hashes(toks, params.shingle).tolist())
    return m.hashvalues




def normalise_batch(batch: pa.RecordBatch, params: Params = Params()) -> Result:
    """Normalise one RAW_INPUT record batch. Pure: no I/O, no global state."""
    art_rows: list[dict] = []
    rej_rows: list[dict] = []
    tokens: list[list[str]] = []
    options = ExtractOptions(params.min_words, params.page_type_article_loss)
    for row in batch.to_pylist():
        base = {k: row[k] for k in ("source_path", "source_sha256", "position", "input_kind")}
        try:
            if row["error"]:
                raise Rejected(row["reason"] or RejectReason.PARSE_ERROR.value, row["error"])
            retrieved_at = row["retrieved_at"]
            if row["input_kind"] in JSON_KINDS:
                try:
                    content = json.loads(row["payload"])
                except ValueError as exc:
                    raise Rejected("parse error", f"parse error: record is not JSON ({exc})") from None
                when = parse_when(pick(content, "retrieved")) if isinstance(content, dict) else None
                if when is not None:
                    retrieved_at = when[0]
            else:
                content = decode(row["payload"])
            extracted = extractor_for(row["input_kind"]).extract(content, retrieved_at, options)
        except Rejected as rej:
            rej_rows.append({**base, "reason": rej.reason, "detail": rej.detail})
            continue
        except NotAnArticle as exc:
            rej_rows.append({**base, "reason": "not an article", "detail": f"not an article: {exc}"})
            continue
        except Exception as exc:
            rej_rows.append({**base, "reason": "parse error", "detail": f"parse error: {type(exc).__name__}: {exc}"})
            continue
        parent = None
        for k, art in enumerate(extracted):
            canon = canonical_url(art.url)
            aid = article_id(canon, row["source_sha256"], row["position"], None if art.relation == "main" else k)
            text, offsets = assemble(art.paragraphs)
            toks = words(text)
            tokens.append([w.lower() for w in toks])
            art_rows.append(
                {
                    "article_id": aid,
                    **base,
                    "relation": art.relation,
                    "parent_id": parent,
                    "url": canon,
                    "outlet": art.outlet,
                    "outlet_key": outlet_key(art.outlet) or None,
                    "syndicated_from": art.syndicated_from,
                    "kicker": art.kicker,
                    "title": art.title,
                    "authors": art.authors,
                    "author_roles": art.author_roles,
                    "published_at": art.date.at if art.date else None,
                    "published_text": art.date.text if art.date else None,
                    "date_precision": art.date.precision if art.date else None,
                    "retrieved_at": retrieved_at,
                    "language": detect_language(text),
                    "text": text,
                    "paragraphs": offsets,
                    "media": art.media,
                    "n_words": len(toks),
                    "page_type_score": art.page_type_score,
                    "text_sha256": sha256(text),
                    "duplicate_of": None,
                    "cluster_id": aid,
                    "normaliser_version": NORMALISER_VERSION,
                    "notes": art.notes,
                    "extra": [{"name": k, "value": v} for k, v in sorted(art.extra.items())],
                }
            )
            if art.relation == "main":
                parent = aid
    articles = pa.RecordBatch.from_pylist(art_rows, schema=ARTICLE)
    rejects = pa.RecordBatch.from_pylist(rej_rows, schema=REJECT)
    keys = [dedup_key(r["text"], t) for r, t in zip(art_rows, tokens)]
    sigs = np.stack([signature(t, params) for t in tokens]) if art_rows else np.zeros((0, params.num_perm), np.uint32)
    return Result(articles, rejects, keys, sigs)
