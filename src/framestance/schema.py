"""The Arrow schemas of every table framestance writes: the one place that defines them.

`schemas/articles.md` documents the columns; `tests/test_schema_doc.py` keeps the two in step.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import pyarrow as pa

UTC_TS = pa.timestamp("us", tz="UTC")

#: Raw inputs, one row per file (text dump, HTML page) or per crawler record: what a reader
#: yields and what the pure normaliser consumes.
RAW_INPUT = pa.schema(
    [
        pa.field("source_path", pa.string(), nullable=False),
        pa.field("source_sha256", pa.string(), nullable=False),
        pa.field("position", pa.int32(), nullable=True),
        pa.field("input_kind", pa.string(), nullable=False),
        pa.field("payload", pa.large_binary(), nullable=True),
        pa.field("retrieved_at", UTC_TS, nullable=False),
        pa.field("reason", pa.string(), nullable=True),
        pa.field("error", pa.string(), nullable=True),
    ]
)

PARAGRAPH = pa.struct([pa.field("start", pa.int32()), pa.field("end", pa.int32())])
MEDIA = pa.struct([pa.field("caption", pa.string()), pa.field("credit", pa.string())])

ARTICLE = pa.schema(
    [
        pa.field("article_id", pa.string(), nullable=False),
        pa.field("source_path", pa.string(), nullable=False),
        pa.field("source_sha256", pa.string(), nullable=False),
        pa.field("position", pa.int32(), nullable=False),
        pa.field("input_kind", pa.string(), nullable=False),
        pa.field("relation", pa.string(), nullable=False),
        pa.field("parent_id", pa.string()),
        pa.field("url", pa.string()),
        pa.field("outlet", pa.string()),  # as the page spells it
        pa.field("outlet_key", pa.string()),  # one key per outlet however spelled (normalise.text.outlet_key)
        pa.field("syndicated_from", pa.string()),
        pa.field("kicker", pa.string()),
        pa.field("title", pa.string()),
        pa.field("authors", pa.list_(pa.string()), nullable=False),
        pa.field("author_roles", pa.list_(pa.string()), nullable=False),
        pa.field("published_at", UTC_TS),
        pa.field("published_text", pa.string()),
        pa.field("date_precision", pa.string()),
        pa.field("retrieved_at", UTC_TS, nullable=False),
        pa.field("language", pa.string()),
        pa.field("text", pa.string(), nullable=False),
        pa.field("paragraphs", pa.list_(PARAGRAPH), nullable=False),
        pa.field("media", pa.list_(MEDIA), nullable=False),
        pa.field("n_words", pa.int32(), nullable=False),
        pa.field("page_type_score", pa.float64()),
        pa.field("text_sha256", pa.string(), nullable=False),
        pa.field("duplicate_of", pa.string()),
        pa.field("cluster_id", pa.string(), nullable=False),
        pa.field("normaliser_version", pa.string(), nullable=False),
        pa.field("notes", pa.list_(pa.string()), nullable=False),
        # a crawler record's fields framestance does not read, kept by name (values as text, JSON for
        # non-text); `study.release_extra` releases them by name
        # (a list of name/value pairs, sorted by name: `datasets` has no map type)
        pa.field("extra", pa.list_(pa.struct([("name", pa.string()), ("value", pa.string())])), nullable=False),
    ]
)

#: Why an input gave no article. The set is closed: tests and the summary rely on it.
class RejectReason(StrEnum):
    """Why an input gave no article: a closed set, one per row of rejects.parquet."""

    EMPTY = "empty"
    BINARY = "binary"
    NOT_AN_ARTICLE = "not an article"
    TOO_LARGE = "too large"
    UNDECODABLE = "undecodable"
    PARSE_ERROR = "parse error"
    UNREADABLE = "unreadable"


REJECT_REASONS = tuple(r.value for r in RejectReason)

REJECT = pa.schema(
    [
        pa.field("source_path", pa.string(), nullable=False),
        pa.field("source_sha256", pa.string(), nullable=False),
        pa.field("position", pa.int32()),
        pa.field("input_kind", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("detail", pa.string(), nullable=False),
    ]
)

INPUT_KINDS = ("text", "html", "records", "warc")
#: Input kinds whose payload is a JSON object (a crawler record, or a WARC response as {url, html, date_download}).
JSON_KINDS = ("records", "warc")
RELATIONS = ("main", "related")
DATE_PRECISIONS = ("second", "minute", "hour", "day", "week", "month", "year")

#: Annotation statuses: only `submitted` counts as a label.
SUBMITTED = "submitted"
#: An adjudicator's decision (pull: annotations in the adjudication project; not Label Studio's
#: ground-truth star, which any member can set): never a vote, never in agreement; aggregate takes it.
ADJUDICATED = "adjudicated"
STATUSES = (SUBMITTED, "cancelled", "draft", ADJUDICATED)


def submitted(table: Any) -> Any:
    """The rows of submitted annotations, of a pandas frame or an Arrow table: drafts and cancelled
    (skipped) annotations are never labels. The one place that says so."""
    if isinstance(table, pa.Table):
        import pyarrow.compute as pc

        return table.filter(pc.equal(table["status"], SUBMITTED))
    return table[table["status"] == SUBMITTED].reset_index(drop=True)


def is_submitted(frame: Any) -> Any:
    """Which rows of a pandas frame `submitted` keeps, as a numpy mask (to filter rows and pick
    columns in one step on large tables)."""
    return (frame["status"] == SUBMITTED).to_numpy(bool)


#: The two relevance labels (codebook ids, fixed): "not relevant" means no other label.
RELEVANT, NOT_RELEVANT = "relevant", "not_relevant"


def is_relevant(frame: Any) -> Any:
    """Which annotations of a pandas frame found their article relevant, as a numpy mask; tables
    written before relevance was asked have no column, and every annotation in them is relevant."""
    import numpy as np

    if "relevance" not in frame:
        return np.ones(len(frame), bool)
    return (frame["relevance"] != NOT_RELEVANT).to_numpy(bool)


#: Span kinds: a frame cue (label: a frame) or stance evidence (label: a target).
SPAN_KINDS = ("frame_cue", "stance_evidence")
#: pull's keyed pseudonyms of annotators: an e-mail or a Label Studio user id in a table is a leak.
PSEUDONYM = r"^ann-[0-9a-f]{12}$"

#: Annotations pulled from Label Studio, one row per annotation (submitted, cancelled) or draft.
#: Annotators are pseudonyms; labels are codebook ids.
ANNOTATION = pa.schema(
    [
        pa.field("article_id", pa.string()),
        pa.field("text_sha256", pa.string()),
        pa.field("task_id", pa.int64()),
        pa.field("annotation_id", pa.int64()),
        pa.field("annotator", pa.string()),
        pa.field("status", pa.string(), nullable=False),
        pa.field("created_at", UTC_TS),
        pa.field("updated_at", UTC_TS),
        pa.field("lead_time", pa.float64()),
        pa.field("ground_truth", pa.bool_()),
        pa.field("relevance", pa.string(), nullable=False),
        pa.field("primary_frame", pa.string()),
        pa.field("frames", pa.list_(pa.string()), nullable=False),
        pa.field("tone", pa.string()),
        # the randomised control arm of suggestions: shown one (true), not (false), no arm drawn (null),
        # and what it said (JSON: control -> its labels; "dimensions": the dimensions it covered)
        pa.field("suggested", pa.bool_()),
        pa.field("suggestion", pa.string()),
    ]
)

STANCE = pa.schema(
    [
        pa.field("article_id", pa.string()),
        pa.field("annotation_id", pa.int64()),
        pa.field("annotator", pa.string()),
        pa.field("status", pa.string(), nullable=False),
        pa.field("target", pa.string(), nullable=False),
        pa.field("value", pa.string()),
    ]
)

SPAN = pa.schema(
    [
        pa.field("article_id", pa.string()),
        pa.field("annotation_id", pa.int64()),
        pa.field("annotator", pa.string()),
        pa.field("status", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("label", pa.string()),
        pa.field("start", pa.int64()),
        pa.field("end", pa.int64()),
        pa.field("text", pa.string()),
    ]
)

#: The answers to a codebook's yes/no questions (a codebook of that shape), one row per annotation
#: and question; the annotation's `frames` follow from them by the codebook's rules.
ANSWER = pa.schema(
    [
        pa.field("article_id", pa.string()),
        pa.field("annotation_id", pa.int64()),
        pa.field("annotator", pa.string()),
        pa.field("status", pa.string(), nullable=False),
        pa.field("question", pa.string(), nullable=False),
        pa.field("answer", pa.string(), nullable=False),
    ]
)

#: Every task pull found, one row each, those nobody has answered yet included: what `validate` tells
#: an article still in progress from one that has all the annotators it will get. `queue`: which
#: kind of project holds it (QUEUES: one shared project, an annotator's own queue, adjudication).
QUEUES = ("shared", "annotator", "adjudication")
TASK = pa.schema(
    [
        pa.field("article_id", pa.string(), nullable=False),
        pa.field("task_id", pa.int64(), nullable=False),
        pa.field("queue", pa.string(), nullable=False),
    ]
)

#: The label aggregation writes when annotators tie and params.yaml says not to guess.
UNRESOLVED = "unresolved"


def gold_schema(stance_targets: list[str], primary: bool = True, tone: bool = True) -> pa.Schema:
    """Gold labels, one row per annotated article (codebook ids, or UNRESOLVED on a tie). One
    column per stance target, so that the published dataset has a typed label per target.

    `*_source` says where each label comes from: `adjudicated`, `majority` or `dawid-skene`.
    `*_votes` are the soft labels: the share of the article's annotators who chose each codebook
    label, in codebook order (frames: who marked each frame present), whatever the gold method,
    so that models can learn from disagreement.

    `relevance` is decided first, over all the article's annotators; every other label only over
    the annotators who found the article relevant, and it is null (the frames empty) when the gold
    relevance is `not_relevant`: not applicable, which is not `unresolved`.

    A dimension the codebook does not have (`primary`, `tone`: False; no targets) has no columns."""
    fields = [
        pa.field("article_id", pa.string(), nullable=False),
        pa.field("text_sha256", pa.string()),
        pa.field("method", pa.string(), nullable=False),
        pa.field("n_annotators", pa.int32(), nullable=False),
        pa.field("relevance", pa.string()),
        pa.field("relevance_support", pa.float64()),
        pa.field("primary_frame", pa.string()),
        pa.field("primary_frame_support", pa.float64()),
        pa.field("frames", pa.list_(pa.string()), nullable=False),
        pa.field("frames_support", pa.list_(pa.float64()), nullable=False),
        pa.field("frames_unresolved", pa.list_(pa.string()), nullable=False),
        pa.field("tone", pa.string()),
        pa.field("tone_support", pa.float64()),
        pa.field("relevance_source", pa.string()),
        pa.field("primary_frame_source", pa.string()),
        pa.field("frames_source", pa.string()),
        pa.field("tone_source", pa.string()),
        pa.field("relevance_votes", pa.list_(pa.float64()), nullable=False),
        pa.field("primary_frame_votes", pa.list_(pa.float64()), nullable=False),
        pa.field("frames_votes", pa.list_(pa.float64()), nullable=False),
        pa.field("tone_votes", pa.list_(pa.float64()), nullable=False),
    ]
    dropped = ({"primary_frame"} if not primary else set()) | ({"tone"} if not tone else set())
    fields = [f for f in fields if f.name.removesuffix("_support").removesuffix("_source").removesuffix("_votes")
              not in dropped]
    for t in stance_targets:
        fields += [pa.field(f"stance_{t}", pa.string()), pa.field(f"stance_{t}_support", pa.float64()),
                   pa.field(f"stance_{t}_source", pa.string()),
                   pa.field(f"stance_{t}_votes", pa.list_(pa.float64()), nullable=False)]
    return pa.schema(fields)


#: Consolidated spans: the tokens a majority of an article's annotators marked with one label.
GOLD_SPAN = pa.schema(
    [
        pa.field("article_id", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("label", pa.string(), nullable=False),
        pa.field("start", pa.int64(), nullable=False),
        pa.field("end", pa.int64(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("support", pa.float64(), nullable=False),
    ]
)

#: One row per failed check: which table, which check, which column, which row, which value.
FAILURE = pa.schema(
    [
        pa.field("table", pa.string(), nullable=False),
        pa.field("check", pa.string(), nullable=False),
        pa.field("column", pa.string()),
        pa.field("index", pa.int64()),
        pa.field("value", pa.string()),
    ]
)
