"""Stage 5: an immutable, versioned Hugging Face dataset directory.

`dist/<name>/<version>/` holds parquet shards per config and split, a dataset card (README.md,
whose YAML header `datasets.load_dataset` reads: configs, data_files, features with the
codebook's ClassLabel names), the codebook the labels follow, and MANIFEST.json (sha256, bytes
and rows of every file). Built aside and renamed into place, so a failed publish leaves nothing;
a version that exists is never rewritten: publishing it again succeeds only when every byte
would be the same.

Configs: `default` (one row per annotated article: text, metadata, gold labels and spans),
`annotations` (one row per article x annotator, pseudonymised), `spans` (every annotator's span)
and `corpus` (every normalised article, unlabelled). Splits are assigned per near-duplicate
cluster from a salted hash of its id, so no story is in two splits and an article keeps its split
across versions.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .codebook import Codebook
from .config import StudyConfig
from .errors import FramestanceError
from .io import atomic_write, sha256_bytes, sha256_file
from .schema import PSEUDONYM, SPAN_KINDS, UNRESOLVED, submitted

SPLITS = ("train", "validation", "test")
CONFIGS = ("default", "annotations", "spans", "corpus")
_VERSION = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)")  # used with fullmatch: nothing after
#: Local provenance that must not travel (a path on somebody's machine).
PRIVATE_COLUMNS = ("source_path",)


class PublishError(FramestanceError, ValueError):
    pass


class VersionExists(PublishError):
    pass


#: Licences under which news texts may be republished: only then does a release carry them.
OPEN_LICENSES = frozenset({"cc0-1.0", "cc-by-4.0", "cc-by-sa-4.0", "cc-by-3.0", "cc-by-sa-3.0", "cc-by-2.0",
                           "cc-by-sa-2.0", "odc-by", "odbl", "pddl", "apache-2.0", "mit", "bsd-3-clause",
                           "unlicense", "public-domain"})


@dataclass
class Options:
    name: str
    version: str
    ratios: Mapping[str, float] = field(default_factory=lambda: {"train": 0.8, "validation": 0.1, "test": 0.1})
    salt: str = "framestance"
    max_shard_bytes: int = 100_000_000
    tie: str = "unresolved"  # the aggregation's tie rule, for the card
    study: StudyConfig = field(default_factory=StudyConfig)  # who, what, which licences: the card's facts
    licence_text: str = ""  # the text of study.license_file, read by the caller (the release's LICENSE)

    @property
    def texts(self) -> bool:
        """Whether the release carries the articles' texts: only under an open licence of the texts."""
        return self.study.texts_license.strip().lower() in OPEN_LICENSES


@dataclass
class Inputs:
    articles: pa.Table
    annotations: pa.Table
    stances: pa.Table
    spans: pa.Table
    gold: pa.Table
    gold_spans: pa.Table
    agreement: dict | None = None
    rounds: list = field(default_factory=list)  # selection.RoundRecord of every round drawn
    selection: pa.Table | None = None  # selection.SELECTION rows of every round
    ledger: list = field(default_factory=list)  # the study's pushes and adjudication rounds (ledger.py)
    gates: dict | None = None  # aggregate's gates report (gates.json); None only for tables built in memory
    answers: pa.Table | None = None  # the answers to a codebook's yes/no questions (pull's answers.parquet)


def read_inputs(corpus: Path, annotations: Path, gold: Path, metrics: Path | None,
                selection: Path | None = None, ledger: Path | None = None) -> Inputs:
    paths = {
        "articles": corpus / "articles.parquet", "annotations": annotations / "annotations.parquet",
        "stances": annotations / "stances.parquet", "spans": annotations / "spans.parquet",
        "gold": gold / "gold.parquet", "gold_spans": gold / "gold_spans.parquet",
    }
    tables = {}
    for key, path in paths.items():
        if not path.exists():
            raise PublishError(f"{path}: no such table (run the stages before publish: `dvc repro`)")
        try:
            tables[key] = pq.read_table(path)
        except (OSError, pa.ArrowInvalid) as exc:
            raise PublishError(f"{path}: not a readable parquet table ({exc.__class__.__name__})") from None
    if tables["gold"].num_rows == 0:
        raise PublishError(f"{paths['gold']}: no annotated article: nothing to publish")
    from .aggregate import read_gates

    try:
        gates = read_gates(gold)
    except FramestanceError as exc:
        raise PublishError(str(exc)) from None
    if gates is None:
        raise PublishError(f"{gold / 'gates.json'}: no gates report beside the gold (run `framestance aggregate`)")
    if gates.get("gold_sha256") and gates["gold_sha256"] != sha256_file(paths["gold"]):
        raise PublishError(f"{gold / 'gates.json'}: describes another gold.parquet than the one there (run "
                           "`framestance aggregate`)")
    agreement = None
    if metrics and metrics.exists():
        try:
            agreement = json.loads(metrics.read_text())
        except ValueError:
            raise PublishError(f"{metrics}: not JSON (run `framestance agreement`)") from None
    rounds: list = []
    chosen = None
    if selection is not None and (selection / "rounds.json").exists():
        from .selection import check_current, load_rounds

        rounds, chosen = load_rounds(selection)
        arts = tables["articles"]
        try:
            check_current(chosen, dict(zip(arts["article_id"].to_pylist(), arts["text_sha256"].to_pylist())), selection)
        except FramestanceError as exc:
            raise PublishError(str(exc)) from None
    from .ledger import read

    try:
        steps = read(ledger) if ledger is not None else []
    except FramestanceError as exc:
        raise PublishError(str(exc)) from None
    answers_path = annotations / "answers.parquet"
    answers = pq.read_table(answers_path) if answers_path.exists() else None
    return Inputs(**tables, agreement=agreement, rounds=rounds, selection=chosen, ledger=steps, gates=gates,
                  answers=answers)


# ---- features: the codebook's labels as ClassLabel -----------------------------------------------


def _names(labels, extra: tuple[str, ...] = ()) -> list[str]:
    return [lab.id for lab in labels] + list(extra)


def features(cb: Codebook, texts: bool = True, extra: tuple[str, ...] | list[str] = ()) -> dict:
    """config -> datasets.Features. Without `texts` (the default release of news under copyright)
    no config holds an article's text, its captions or a span's text: `text_sha256` (of the text,
    and of each span's text) identifies them, and `framestance hydrate` puts them back from the
    user's own copy. `extra`: crawler fields released by name (`extra_<name>`, text)."""
    from datasets import ClassLabel, Features, List, Value

    frames = ClassLabel(names=_names(cb.frames))
    frames_or_tie = ClassLabel(names=_names(cb.frames, (UNRESOLVED,)))
    tone, tone_or_tie = ClassLabel(names=_names(cb.tone)), ClassLabel(names=_names(cb.tone, (UNRESOLVED,)))
    value, value_or_tie = ClassLabel(names=_names(cb.stance_values)), ClassLabel(names=_names(cb.stance_values, (UNRESOLVED,)))
    relevance = ClassLabel(names=_names(cb.relevance))
    relevance_or_tie = ClassLabel(names=_names(cb.relevance, (UNRESOLVED,)))
    ts = Value("timestamp[us, tz=UTC]")
    text = {"text": Value("string")} if texts else {}
    extras = {f"extra_{x}": Value("string") for x in extra}
    meta = {"article_id": Value("string"), "title": Value("string"), **text,
            "outlet": Value("string"), "outlet_key": Value("string"), "url": Value("string"), "published_at": ts,
            "language": Value("string"), "kicker": Value("string"), "cluster_id": Value("string"),
            "text_sha256": Value("string"), **extras}
    default = {**meta, "n_annotators": Value("int32"),
               "relevance": relevance_or_tie, "relevance_support": Value("float64"),
               "primary_frame": frames_or_tie, "primary_frame_support": Value("float64"),
               "frames": List(frames), "frames_support": List(Value("float64")), "frames_unresolved": List(frames),
               "tone": tone_or_tie, "tone_support": Value("float64"),
               "relevance_source": Value("string"), "primary_frame_source": Value("string"),
               "frames_source": Value("string"), "tone_source": Value("string"),
               "relevance_votes": List(Value("float64")), "primary_frame_votes": List(Value("float64")), "frames_votes": List(Value("float64")),
               "tone_votes": List(Value("float64")),
               # how the article came into the sample (framestance select; null: not from a selection round)
               "selection_round": Value("int32"), "selection_part": Value("string"),
               "in_probability_sample": Value("bool"), "inclusion_probability": Value("float64")}
    annotations = {"article_id": Value("string"), "annotator": Value("string"), "relevance": relevance,
                   "primary_frame": frames,
                   "frames": List(frames), "tone": tone}
    for t in cb.targets:
        default[f"stance_{t.id}"] = value_or_tie
        default[f"stance_{t.id}_support"] = Value("float64")
        default[f"stance_{t.id}_source"] = Value("string")
        default[f"stance_{t.id}_votes"] = List(Value("float64"))
        annotations[f"stance_{t.id}"] = value
    for q in cb.questions:  # a codebook of yes/no questions: each annotator's answer to each
        annotations[f"answer_{q.id}"] = ClassLabel(names=[cb.YES, cb.NO])
    if not cb.primary:  # a dimension the codebook does not have is no feature
        for name in ("primary_frame", "primary_frame_support", "primary_frame_source", "primary_frame_votes"):
            default.pop(name)
        annotations.pop("primary_frame")
    if not cb.tone:
        for name in ("tone", "tone_support", "tone_source", "tone_votes"):
            default.pop(name)
        annotations.pop("tone")
    annotations.update({"lead_time": Value("float64"), "created_at": ts, "updated_at": ts,
                        # the randomised control arm: shown a suggestion (true), not (false), no arm drawn (null)
                        "suggested": Value("bool"), "suggestion": Value("string")})
    default["spans"] = List({"kind": Value("string"), "label": Value("string"), "start": Value("int64"),
                             "end": Value("int64"), **text, "text_sha256": Value("string"), "support": Value("float64")})
    spans = {"article_id": Value("string"), "annotator": Value("string"), "kind": ClassLabel(names=list(SPAN_KINDS)),
             "label": Value("string"), "start": Value("int64"), "end": Value("int64"), **text,
             "text_sha256": Value("string")}
    corpus = {"article_id": Value("string"), "source_sha256": Value("string"), "position": Value("int32"),
              "input_kind": Value("string"), "relation": Value("string"), "parent_id": Value("string"),
              "url": Value("string"), "outlet": Value("string"), "outlet_key": Value("string"),
              "syndicated_from": Value("string"),
              "kicker": Value("string"), "title": Value("string"), "authors": List(Value("string")),
              "author_roles": List(Value("string")), "published_at": ts, "published_text": Value("string"),
              "date_precision": Value("string"), "retrieved_at": ts, "language": Value("string"),
              **text, "paragraphs": List({"start": Value("int32"), "end": Value("int32")}),
              **({"media": List({"caption": Value("string"), "credit": Value("string")})} if texts else
                 {"media_sha256": Value("string")}),
              "n_words": Value("int32"), "text_sha256": Value("string"), "duplicate_of": Value("string"),
              "cluster_id": Value("string"), "normaliser_version": Value("string"), **extras}
    return {name: Features(f) for name, f in
            (("default", default), ("annotations", annotations), ("spans", spans), ("corpus", corpus))}


def _encode(column: pa.ChunkedArray | pa.Array, names: list[str], what: str) -> pa.Array:
    """Label names -> ClassLabel integers (nulls stay null; an unknown label is an error)."""
    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_list(arr.type):
        flat = _encode(arr.flatten(), names, what)
        return pa.ListArray.from_arrays(arr.offsets, flat, mask=arr.is_null())
    idx = pc.index_in(arr, value_set=pa.array(names, pa.string()))
    unknown = pc.and_(pc.is_null(idx), pc.is_valid(arr))
    if pc.any(unknown).as_py():
        bad = sorted(set(pc.filter(arr, unknown).to_pylist()))[:5]
        raise PublishError(f"{what}: labels not in the codebook: {', '.join(map(str, bad))} (run `framestance validate`)")
    return idx.cast(pa.int64())


def _gold_columns(gold: pa.Table) -> set[str]:
    """The gold table's own columns (they win over the article's in `default`)."""
    return set(gold.column_names) - {"article_id", "text_sha256", "method"}


# ---- splits ---------------------------------------------------------------------------------------


def split_of(cluster_ids: list[str], ratios: Mapping[str, float], salt: str) -> dict[str, str]:
    """cluster -> split, from a salted sha256 of the cluster id (stable across versions)."""
    unknown = sorted(set(ratios) - set(SPLITS))
    if unknown:
        raise PublishError(f"publish.splits: unknown split {', '.join(unknown)} (use {', '.join(SPLITS)})")
    total = sum(ratios.get(s, 0) for s in SPLITS)
    if total <= 0 or any(ratios.get(s, 0) < 0 for s in SPLITS):
        raise PublishError("publish.splits: ratios must be >= 0 and sum to more than 0")
    bounds, acc = [], 0.0
    for s in SPLITS:
        acc += ratios.get(s, 0) / total
        bounds.append((acc, s))
    out = {}
    for c in set(cluster_ids):
        x = int(hashlib.sha256(f"{salt}:{c}".encode()).hexdigest()[:15], 16) / 16**15
        out[c] = next(s for b, s in bounds if x < b or b == bounds[-1][0])
    return out


# ---- building the config tables ---------------------------------------------------------------------


def _sorted(table: pa.Table, keys: list[str]) -> pa.Table:
    return table.sort_by([(k, "ascending") for k in keys])


def _without(table: pa.Table, article_ids: list[str]) -> pa.Table:
    if not article_ids:
        return table
    return table.filter(pc.invert(pc.is_in(table["article_id"], value_set=pa.array(article_ids, pa.string()))))


def hidden_articles(articles: pa.Table, cb: Codebook) -> list[str]:
    """Gold questions and every copy of them (their duplicates and near-duplicate clusters)."""
    if not cb.gold:
        return []
    ids = articles["article_id"].to_pylist()
    clusters = articles["cluster_id"].to_pylist() if "cluster_id" in articles.column_names else [None] * len(ids)
    dup_of = articles["duplicate_of"].to_pylist() if "duplicate_of" in articles.column_names else [None] * len(ids)
    gold_clusters = {c for a, c in zip(ids, clusters) if a in cb.gold and c}
    return sorted(a for a, c, d in zip(ids, clusters, dup_of) if a in cb.gold or d in cb.gold or (c and c in gold_clusters))


def released_codebook(codebook_text: str, cb: Codebook) -> str:
    """The codebook as released: without the hidden gold questions' answer key."""
    if not cb.gold:
        return codebook_text
    import yaml

    doc = yaml.safe_load(codebook_text)
    doc.pop("gold", None)
    return "# The project's codebook, released without its hidden gold questions.\n" + yaml.safe_dump(
        doc, sort_keys=False, allow_unicode=True)


def _text_hash(text: str | None) -> str | None:
    return None if text is None else sha256_bytes(text)


def media_hash(media: list[dict] | None) -> str:
    """sha256 of an article's captions and credits, canonical JSON (a release without texts
    carries it; `hydrate` checks the captions it puts back against it)."""
    items = [{"caption": m.get("caption"), "credit": m.get("credit")} for m in media or []]
    return sha256_bytes(json.dumps(items, sort_keys=True, ensure_ascii=False, separators=(",", ":")))


def _with_extra(arts: pa.Table, names: tuple[str, ...] | list[str]) -> pa.Table:
    """articles with an `extra_<name>` column per released crawler field (null where a record had none)."""
    if not names:
        return arts
    pairs = arts["extra"].to_pylist() if "extra" in arts.column_names else [[] for _ in range(arts.num_rows)]
    for x in names:
        arts = arts.append_column(f"extra_{x}", pa.array([next((p["value"] for p in (row or []) if p["name"] == x), None)
                                                          for row in pairs], pa.string()))
    return arts


def build_tables(inp: Inputs, cb: Codebook, opts: Options | None = None) -> dict[str, pa.Table]:
    """The four configs' tables. Hidden gold questions (the codebook's gold articles) are never
    released: their article, its annotations and spans are left out of every config. Texts only
    where `opts.texts` (an open licence of the texts); `corpus` holds the annotated articles only,
    unless the study releases the others too."""
    opts = opts or Options(name="framestance", version="0.0.0", study=StudyConfig(texts_license="cc0-1.0",
                                                                                   release_unannotated=True))
    extra = tuple(opts.study.release_extra)
    feats = features(cb, opts.texts, extra)
    hidden = hidden_articles(inp.articles, cb)
    arts = _with_extra(_without(inp.articles, hidden), extra)
    if "outlet_key" not in arts.column_names:  # a corpus normalised before outlet keys
        from .normalise.text import outlet_key

        arts = arts.append_column("outlet_key", pa.array([outlet_key(o) or None for o in arts["outlet"].to_pylist()],
                                                         pa.string()))
    frames, tones, values = _names(cb.frames), _names(cb.tone), _names(cb.stance_values)

    # default: gold labels joined with the article's metadata and its consolidated spans
    gold = _without(inp.gold, hidden)
    meta = arts.select([c for c in feats["default"] if c in arts.column_names and c not in _gold_columns(inp.gold)])
    g = gold.drop_columns([c for c in ("text_sha256", "method") if c in gold.column_names])
    at = pc.index_in(g["article_id"], value_set=meta["article_id"])
    if at.null_count:
        missing = pc.filter(g["article_id"], pc.is_null(at)).to_pylist()[:5]
        raise PublishError(f"gold labels for articles not in the corpus: {', '.join(missing)} (run `framestance validate`)")
    joined = meta.take(at)
    for name in g.column_names[1:]:
        joined = joined.append_column(name, g[name])
    spans_by: dict[str, list[dict]] = {}
    for r in _sorted(inp.gold_spans, ["article_id", "kind", "label", "start"]).to_pylist():
        r["text_sha256"] = _text_hash(r.get("text"))
        if not opts.texts:
            r.pop("text", None)
        spans_by.setdefault(r.pop("article_id"), []).append(r)
    picked = {r["article_id"]: r for r in (inp.selection.to_pylist() if inp.selection is not None else [])}
    t = inp.rounds[-1].threshold if inp.rounds else None
    came = [picked.get(a) for a in joined["article_id"].to_pylist()]
    joined = joined.append_column("selection_round", pa.array([r and r["round"] for r in came], pa.int32()))
    joined = joined.append_column("selection_part", pa.array([r and r["part"] for r in came], pa.string()))
    joined = joined.append_column("in_probability_sample", pa.array([None if r is None else bool(r["key"] < t) for r in came], pa.bool_()))
    joined = joined.append_column("inclusion_probability", pa.array([t if r is not None and r["key"] < t else None for r in came],
                                                                    pa.float64()))
    cols = {}
    for name in feats["default"]:
        if name == "spans":
            cols[name] = pa.array([spans_by.get(a, []) for a in joined["article_id"].to_pylist()],
                                  feats["default"].arrow_schema.field("spans").type)
        elif name in ("primary_frame", "frames", "frames_unresolved"):
            cols[name] = _encode(joined[name], frames + ([UNRESOLVED] if name == "primary_frame" else []), f"gold {name}")
        elif name == "tone":
            cols[name] = _encode(joined[name], tones + [UNRESOLVED], "gold tone")
        elif name == "relevance":
            cols[name] = _encode(joined[name], _names(cb.relevance, (UNRESOLVED,)), "gold relevance")
        elif name.startswith("stance_") and not name.endswith(("_support", "_votes", "_source")):
            cols[name] = _encode(joined[name], values + [UNRESOLVED], f"gold {name}")
        else:
            cols[name] = joined[name]
    default = _sorted(pa.table(cols).cast(feats["default"].arrow_schema), ["article_id"])

    # annotations: submitted annotations, one row per article x annotator, stances widened
    ann = _without(submitted(inp.annotations), hidden)
    st = _without(submitted(inp.stances), hidden)
    by_ann: dict[int, dict[str, str]] = {}
    for aid, target, val in zip(st["annotation_id"].to_pylist(), st["target"].to_pylist(), st["value"].to_pylist()):
        by_ann.setdefault(aid, {})[target] = val
    ids = ann["annotation_id"].to_pylist()
    cols = {"article_id": ann["article_id"], "annotator": ann["annotator"],
            "relevance": _encode(ann["relevance"], _names(cb.relevance), "relevance"),
            "primary_frame": _encode(ann["primary_frame"], frames, "primary_frame"),
            "frames": _encode(ann["frames"], frames, "frames"), "tone": _encode(ann["tone"], tones, "tone")}
    for t in cb.targets:
        cols[f"stance_{t.id}"] = _encode(pa.array([by_ann.get(i, {}).get(t.id) for i in ids], pa.string()), values,
                                         f"stance toward {t.id}")
    if cb.questions:
        answered: dict[int, dict[str, str]] = {}
        an = _without(submitted(inp.answers), hidden) if inp.answers is not None else None
        if an is not None:
            for aid, q, a in zip(an["annotation_id"].to_pylist(), an["question"].to_pylist(), an["answer"].to_pylist()):
                answered.setdefault(aid, {})[q] = a
        for q in cb.questions:
            cols[f"answer_{q.id}"] = _encode(pa.array([answered.get(i, {}).get(q.id) for i in ids], pa.string()),
                                             [cb.YES, cb.NO], f"answer to {q.id}")
    cols.update({"lead_time": ann["lead_time"], "created_at": ann["created_at"], "updated_at": ann["updated_at"]})
    for name, kind in (("suggested", pa.bool_()), ("suggestion", pa.string())):  # older tables: no arm drawn
        cols[name] = ann[name] if name in ann.column_names else pa.nulls(ann.num_rows, kind)
    cols = {k: v for k, v in cols.items() if k in feats["annotations"]}  # the dimensions the codebook has
    annotations = _sorted(pa.table(cols).cast(feats["annotations"].arrow_schema), ["article_id", "annotator"])

    sp = _without(submitted(inp.spans), hidden)
    span_cols = {"article_id": sp["article_id"], "annotator": sp["annotator"],
                 "kind": _encode(sp["kind"], list(SPAN_KINDS), "span kind"), "label": sp["label"],
                 "start": sp["start"], "end": sp["end"], "text": sp["text"],
                 "text_sha256": pa.array([_text_hash(x) for x in sp["text"].to_pylist()], pa.string())}
    spans = pa.table({k: span_cols[k] for k in feats["spans"]}).cast(feats["spans"].arrow_schema)
    spans = _sorted(spans, ["article_id", "annotator", "kind", "start", "end", "label"])

    corpus = arts.drop_columns([c for c in PRIVATE_COLUMNS if c in arts.column_names])
    if not opts.texts:
        corpus = corpus.append_column("media_sha256", pa.array([media_hash(m) for m in corpus["media"].to_pylist()],
                                                               pa.string()))
    if not opts.study.release_unannotated:
        corpus = corpus.filter(pc.is_in(corpus["article_id"], value_set=default["article_id"].combine_chunks()))
    corpus = _sorted(corpus.select(list(feats["corpus"])).cast(feats["corpus"].arrow_schema), ["article_id"])
    return {"default": default, "annotations": annotations, "spans": spans, "corpus": corpus}


def split_groups(articles: pa.Table) -> dict[str, str]:
    """article -> the cluster that decides its split: near-duplicate clusters joined with the
    clusters of the pages they came from (a related article goes where its parent page goes), each
    group named by its smallest cluster id."""
    ids = articles["article_id"].to_pylist()
    cluster = dict(zip(ids, (c or a for a, c in zip(ids, articles["cluster_id"].to_pylist()))))
    parents = dict(zip(ids, articles["parent_id"].to_pylist())) if "parent_id" in articles.column_names else {}
    root: dict[str, str] = {}

    def find(c: str) -> str:
        while root.get(c, c) != c:
            root[c] = root.get(root[c], root[c])
            c = root[c]
        return c

    for a, p in parents.items():
        if p and p in cluster:
            x, y = sorted((find(cluster[a]), find(cluster[p])))
            if x != y:
                root[y] = x
    return {a: find(c) for a, c in cluster.items()}


def split_tables(tables: dict[str, pa.Table], articles: pa.Table, opts: Options) -> dict[str, dict[str, pa.Table]]:
    """config -> split -> rows (every config splits by its article's group: near-duplicate cluster
    and page, `split_groups`); empty splits dropped."""
    clusters = split_groups(articles)
    assign = split_of(list(clusters.values()), opts.ratios, opts.salt)
    out: dict[str, dict[str, pa.Table]] = {}
    for config, table in tables.items():
        split = pa.array([assign.get(clusters.get(a) or "", "train") for a in table["article_id"].to_pylist()], pa.string())
        out[config] = {}
        for s in SPLITS:
            part = table.filter(pc.equal(split, s))
            if part.num_rows:
                out[config][s] = part
    return out


# ---- writing ------------------------------------------------------------------------------------------


def _write_shards(table: pa.Table, folder: Path, split: str, max_bytes: int) -> list[Path]:
    per = max(1, math.ceil(table.num_rows / max(1, math.ceil(table.nbytes / max_bytes))))
    n = math.ceil(table.num_rows / per)  # never an empty shard
    paths = []
    for i in range(n):
        path = folder / f"{split}-{i:05d}-of-{n:05d}.parquet"
        pq.write_table(table.slice(i * per, per), path, compression="zstd", row_group_size=10_000,
                       write_statistics=True, store_schema=True)
        paths.append(path)
    return paths


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(x) for x in version.split("."))


def _versions_of(folder: Path, suffix: str = "") -> list[str]:
    """Versions present in `folder`: sub-folders (suffix "") or files `<version><suffix>`, in order."""
    if not folder.is_dir():
        return []
    names = [p.name[: len(p.name) - len(suffix)] for p in folder.iterdir()
             if (p.is_file() if suffix else p.is_dir()) and p.name.endswith(suffix)]
    return sorted((v for v in names if _VERSION.fullmatch(v)), key=_key)


LABEL_COLUMNS = ("relevance", "primary_frame", "frames", "tone")


def _decoded(tables) -> dict[str, dict]:
    """Rows by article id, class labels as their names."""
    from datasets import Features

    out = {}
    for t in tables:
        feats = Features.from_arrow_schema(t.schema)
        for r in t.to_pylist():
            row = {}
            for k, v in r.items():
                f = feats[k]
                if hasattr(f, "int2str") and v is not None:
                    v = f.int2str(v)
                elif hasattr(getattr(f, "feature", None), "int2str") and v is not None:
                    v = [f.feature.int2str(i) for i in v]
                row[k] = v
            out[r["article_id"]] = row
    return out


def _label_columns(cb: Codebook) -> list[str]:
    return [*LABEL_COLUMNS, *[f"stance_{t.id}" for t in cb.targets]]


def _record(name: str, version: str, corpus, labelled, cb: Codebook) -> dict:
    columns = _label_columns(cb)
    # only the columns a record keeps are read (not the corpus's texts)
    labels = _decoded(t.select([c for c in ("article_id", *columns) if c in t.column_names]) for t in labelled)
    ids = {a for t in corpus for a in t.column("article_id").to_pylist()}
    return {"name": name, "version": version, "corpus": sorted(ids),
            "labels": {a: {c: row[c] for c in columns if c in row} for a, row in sorted(labels.items())}}


def release_record(opts: Options, splits: dict[str, dict[str, pa.Table]], cb: Codebook) -> dict:
    """What a later version's changelog compares against: the corpus's article ids and each
    labelled article's gold labels. Kept in git (releases/<name>/<version>.json), so that the
    changelog is the same on every machine, with or without the earlier version's files."""
    return _record(opts.name, opts.version, splits.get("corpus", {}).values(), splits.get("default", {}).values(), cb)


def folder_record(folder: Path, cb: Codebook) -> dict:
    """The release record of a version published before records were kept, from its files."""
    def tables(config: str):
        return (pq.read_table(f) for f in sorted((folder / "data" / config).glob("*.parquet")))

    return _record(folder.parent.name, folder.name, tables("corpus"), tables("default"), cb)


def changelog(previous: dict | None, current: dict, cb: Codebook) -> dict:
    """Articles added/removed (corpus) and gold labels changed (default): two release records."""
    if previous is None:
        return {}
    old_c, new_c = set(previous["corpus"]), set(current["corpus"])
    old_d, new_d = previous["labels"], current["labels"]
    columns = _label_columns(cb)
    changed = {}
    for a in sorted(set(old_d) & set(new_d)):
        diff = [c for c in columns if c in old_d[a] and old_d[a][c] != new_d[a].get(c)]  # a new column is no change
        if diff:
            changed[a] = diff
    return {"previous": previous["version"], "articles_added": len(new_c - old_c), "articles_removed": len(old_c - new_c),
            "labelled_added": len(set(new_d) - set(old_d)), "labelled_removed": len(set(old_d) - set(new_d)),
            "labels_changed": changed}


def _record_text(record: dict) -> str:
    return json.dumps(record, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def previous_record(records: Path | None, root: Path, opts: Options, cb: Codebook,
                    against: str | None = "latest") -> dict | None:
    """The release record the changelog compares against: version `against` (None: none), or the
    latest version below this one; from `records`, or, for a version published before records
    were kept, from its folder in `root` (dist/<name>/)."""
    recorded = _versions_of(records / opts.name, ".json") if records is not None else []
    if against == "latest":
        older = sorted({v for v in [*recorded, *_versions_of(root)] if _key(v) < _key(opts.version)}, key=_key)
        against = older[-1] if older else None
    if against is None:
        return None
    if against in recorded:
        assert records is not None
        return json.loads((records / opts.name / f"{against}.json").read_text(encoding="utf-8"))
    if not (root / against).is_dir():
        raise PublishError(f"version {opts.version} was published with a changelog against {against}, which has "
                           f"neither a release record nor a folder in {root}")
    return folder_record(root / against, cb)


def check_name_and_version(opts: Options) -> None:
    """A version is MAJOR.MINOR.PATCH in ASCII digits without leading zeros and nothing after;
    a name is a plain folder name. Both become paths, so nothing else is let through."""
    if not _VERSION.fullmatch(opts.version):
        raise PublishError(f"--version {opts.version!r}: use MAJOR.MINOR.PATCH, e.g. 1.0.0 (ASCII digits, no leading zeros)")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", opts.name):
        raise PublishError(f"name {opts.name!r}: letters, digits, '.', '_' and '-' only")


# Article content as the pages published it (bylines, titles, texts): not annotator data, and
# may hold a newsroom's contact address; every other string column is scanned for identities.
ARTICLE_CONTENT = frozenset({"text", "title", "kicker", "outlet", "syndicated_from", "url", "authors", "author_roles",
                             "published_text", "media", "source_sha256", "input_kind", "relation"})
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


def release_problems(inp: Inputs, cb: Codebook) -> list[str]:
    """Why these tables must not be released: every failed validation check (as `framestance
    validate` runs them) and every identity (an e-mail address, an annotator that is not a
    pseudonym) in a released string column. Empty when the release may go ahead."""
    from .validate import nullable_ints, validate

    frames = {name: getattr(inp, name).to_pandas(types_mapper=nullable_ints)
              for name in ("articles", "annotations", "stances", "spans", "gold", "gold_spans")}
    if inp.answers is not None:
        frames["answers"] = inp.answers.to_pandas(types_mapper=nullable_ints)
    problems = [f"{table}: {check} ({n} rows)" for table, check, n in validate(frames, cb).counts()]
    if inp.gates is not None:  # the gates guard the release: aggregate writes gold for adjudication regardless
        if inp.gates.get("interim"):  # first: while articles are in progress the other gates are provisional
            problems.append(f"the gold is interim: {inp.gates.get('articles_in_progress')} articles are still waiting "
                            "for annotators (`framestance validate` counts them)")
        problems += [str(m) for m in inp.gates.get("gate_failures") or []]
    pseudonym = re.compile(PSEUDONYM)
    for name in ("annotations", "stances", "spans", "gold", "gold_spans", "articles", "answers"):
        table = getattr(inp, name)
        if table is None:
            continue
        for col in table.column_names:
            if col in ARTICLE_CONTENT:
                continue
            arr = table[col].combine_chunks()
            while pa.types.is_list(arr.type) or pa.types.is_large_list(arr.type):
                arr = arr.flatten()
            if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
                continue
            values = [v for v in arr.to_pylist() if v]
            emails = sum(1 for v in values if _EMAIL.search(v))
            if emails:
                problems.append(f"{name}.{col}: {emails} values hold an e-mail address (annotators must be pseudonymised)")
            if col == "annotator":
                bad = sum(1 for v in values if not pseudonym.match(v))
                if bad:
                    problems.append(f"{name}.annotator: {bad} values are not pseudonyms (ann-<12 hex>)")
    return problems


def publish(inp: Inputs, cb: Codebook, out: Path, opts: Options, codebook_text: str,
            records: Path | None = None) -> tuple[Path, bool]:
    """Write dist/<name>/<version>/; returns (path, created). Raises VersionExists when the version
    exists with other content. With `records` (a folder kept in git, e.g. releases/), the version's
    release record goes to <records>/<name>/<version>.json and the changelog compares against the
    record of the latest earlier version (a version published again: against the version its
    record names); a record of this version with other content is refused like a published folder
    with other content, even where that folder is not present."""
    from .card import render_card

    check_name_and_version(opts)
    if opts.study.license.strip().lower() == "other" and not opts.licence_text.strip():
        raise PublishError("study.license is `other`: give its text in study.license_file (the release carries it as LICENSE)")
    problems = release_problems(inp, cb)
    gates = [p for p in problems if p.startswith(("quality gate", "the gold is interim"))]
    problems = [p for p in problems if p not in gates]
    if problems:  # nothing invalid is released: not a byte is written
        shown = "; ".join(problems[:8]) + (f"; and {len(problems) - 8} more" if len(problems) > 8 else "")
        raise PublishError(f"refusing to publish: the tables fail validation: {shown} (run `framestance validate`)")
    if gates:
        shown = "; ".join(gates[:8]) + (f"; and {len(gates) - 8} more" if len(gates) > 8 else "")
        raise PublishError(f"refusing to publish: {shown} (adjudicate the unresolved labels with `framestance "
                           "adjudicate`, pull, aggregate again; or change the gate in params.yaml and say why)")
    root = out / opts.name
    final = root / opts.version
    tables = build_tables(inp, cb, opts)
    splits = split_tables(tables, inp.articles, opts)
    record = release_record(opts, splits, cb)
    record_path = records / opts.name / f"{opts.version}.json" if records is not None else None
    against: str | None = "latest"
    if record_path is not None and record_path.exists():
        kept = json.loads(record_path.read_text(encoding="utf-8"))
        if (kept.get("corpus"), kept.get("labels")) != (record["corpus"], record["labels"]):
            raise VersionExists(f"{record_path}: version {opts.version} was published with other labels or articles; "
                                "published versions are immutable: publish a new version")
        against = kept.get("changelog_against")  # published again: against what it was published against
    log = changelog(previous_record(records, root, opts, cb, against), record, cb)
    record["changelog_against"] = log.get("previous")

    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".{opts.version}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        files: dict[str, dict] = {}
        data_files: dict[str, Any] = {}
        sizes: dict[str, dict[str, tuple[int, int]]] = {}  # config -> split -> (Arrow bytes, parquet bytes)
        for config in CONFIGS:
            if not splits[config]:  # no rows (e.g. nobody marked a span): no config, load_dataset cannot read one
                continue
            folder = tmp / "data" / config
            folder.mkdir(parents=True)
            data_files[config] = {}
            sizes[config] = {}
            for s, table in splits[config].items():
                written = _write_shards(table, folder, s, opts.max_shard_bytes)
                for p in written:
                    files[str(p.relative_to(tmp))] = {"rows": pq.read_metadata(p).num_rows}
                data_files[config][s] = (f"data/{config}/{s}-*.parquet", table.num_rows)
                sizes[config][s] = (table.nbytes, sum(p.stat().st_size for p in written))
        (tmp / "codebook.yaml").write_text(released_codebook(codebook_text, cb), encoding="utf-8")
        files["codebook.yaml"] = {}
        if opts.licence_text:
            (tmp / "LICENSE").write_text(opts.licence_text, encoding="utf-8")
            files["LICENSE"] = {}
        card = render_card(opts, cb, features(cb, opts.texts, opts.study.release_extra), data_files, splits, inp, log, sizes)
        (tmp / "README.md").write_text(card, encoding="utf-8")
        files["README.md"] = {}
        for rel in files:
            p = tmp / rel
            files[rel] = {**files[rel], "bytes": p.stat().st_size, "sha256": sha256_file(p)}
        manifest = {"name": opts.name, "version": opts.version, "files": dict(sorted(files.items()))}
        (tmp / "MANIFEST.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        if final.exists():
            if not _same_tree(tmp, final):
                raise VersionExists(f"{final}: version {opts.version} is already published with other content; "
                                    "published versions are immutable: publish a new version")
            shutil.rmtree(tmp)
            created = False
        else:
            os.rename(tmp, final)
            created = True
        if record_path is not None:
            record_path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(record_path, _record_text(record).encode("utf-8"))
        return final, created
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _same_tree(a: Path, b: Path) -> bool:
    fa = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    fb = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    return fa == fb and all((a / f).read_bytes() == (b / f).read_bytes() for f in fa)


def push_to_hub(folder: Path, repo_id: str, version: str, api=None, token: str | None = None) -> dict:
    """Upload a published version to the Hub and tag it `v<version>` at the upload's commit."""
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi(token=token)
    api.create_repo(repo_id=repo_id, repo_type="dataset", exist_ok=True)
    info = api.upload_folder(repo_id=repo_id, folder_path=str(folder), repo_type="dataset",
                             commit_message=f"framestance: publish version {version}")
    commit = getattr(info, "oid", None)
    api.create_tag(repo_id=repo_id, tag=f"v{version}", repo_type="dataset", revision=commit,
                   tag_message=f"version {version}")
    return {"repo_id": repo_id, "tag": f"v{version}", "commit": commit}
