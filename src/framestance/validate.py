"""Stage 4a: pandera schemas for every table framestance writes, and the lazy validation run.

One `DataFrameModel` per table states its structure (columns, dtypes, nullability, uniqueness).
`checks()` adds the data checks, with label vocabularies read from the codebook (never repeated
here) and relational checks that close over the other tables (an annotation's article exists, its
`text_sha256` is the corpus's, a span's text is the article's slice ...).

Validation runs in two passes per table, because a failed dtype makes data checks meaningless (and
pandera's lazy report incomplete): first the structure, then, for a table whose structure passed,
the data checks. Every failure becomes one row of `FAILURE` (table, check, column, index, value);
nothing stops at the first one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow as pyarrow
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pandera.typing import Series

from .codebook import Codebook
from .errors import FramestanceError
from .schema import (
    DATE_PRECISIONS,
    FAILURE,
    INPUT_KINDS,
    NOT_RELEVANT,
    PSEUDONYM,
    QUEUES,
    RELATIONS,
    RELEVANT,
    SPAN_KINDS,
    STATUSES,
    SUBMITTED,
    UNRESOLVED,
    is_relevant,
)

SHA256 = r"^[0-9a-f]{64}$"
UTC = pd.DatetimeTZDtype(unit="us", tz="UTC")


class ValidationInputError(FramestanceError, ValueError):
    """A table is missing or unreadable: one clear line, no traceback."""


# ---- structure: one model per table ------------------------------------------------------------


class _Table(pa.DataFrameModel):
    """Extra columns are allowed (tables grow); dtypes are checked as they are, never coerced."""

    class Config:
        strict = False
        coerce = False


class _Ranges(_Table):
    """Tables of character ranges into an article's text."""

    @pa.dataframe_check
    def start_before_end(cls, df: pd.DataFrame) -> Series[bool]:  # type: ignore[misc]
        return df["start"] < df["end"]


class Articles(_Table):
    article_id: Series[str] = pa.Field(unique=True)
    source_path: Series[str]
    source_sha256: Series[str] = pa.Field(str_matches=SHA256)
    input_kind: Series[str] = pa.Field(isin=INPUT_KINDS)
    relation: Series[str] = pa.Field(isin=RELATIONS)
    parent_id: Series[str] = pa.Field(nullable=True)
    published_at: Series[UTC] = pa.Field(nullable=True)  # type: ignore[valid-type]
    date_precision: Series[str] = pa.Field(nullable=True, isin=DATE_PRECISIONS)
    retrieved_at: Series[UTC]  # type: ignore[valid-type]
    text: Series[str]
    n_words: Series[pd.Int64Dtype] = pa.Field(ge=1)
    text_sha256: Series[str] = pa.Field(str_matches=SHA256)
    duplicate_of: Series[str] = pa.Field(nullable=True)
    cluster_id: Series[str]


class Annotations(_Table):
    article_id: Series[str]
    text_sha256: Series[str] = pa.Field(nullable=True)
    task_id: Series[pd.Int64Dtype] = pa.Field(nullable=True)
    annotation_id: Series[pd.Int64Dtype]
    annotator: Series[str] = pa.Field(str_matches=PSEUDONYM)
    status: Series[str] = pa.Field(isin=STATUSES)
    created_at: Series[UTC] = pa.Field(nullable=True)  # type: ignore[valid-type]
    updated_at: Series[UTC] = pa.Field(nullable=True)  # type: ignore[valid-type]
    lead_time: Series[float] = pa.Field(nullable=True, ge=0)
    relevance: Series[str] = pa.Field(isin=[RELEVANT, NOT_RELEVANT])
    primary_frame: Series[str] = pa.Field(nullable=True)
    frames: Series[object]
    tone: Series[str] = pa.Field(nullable=True)
    # tables pulled before the control arm of suggestions have no such columns
    suggested: Optional[Series[object]] = pa.Field(nullable=True)  # bool or null (an all-null column reads as object)
    suggestion: Optional[Series[str]] = pa.Field(nullable=True)

    class Config:
        unique = ["status", "annotation_id"]  # drafts have ids of their own

    @pa.dataframe_check(name="created <= updated")
    def created_before_updated(cls, df: pd.DataFrame) -> Series[bool]:
        return df["created_at"].isna() | df["updated_at"].isna() | (df["created_at"] <= df["updated_at"])


class _OfAnnotation(_Table):
    """A table with rows that belong to an annotation (stances, answers)."""

    article_id: Series[str]
    annotation_id: Series[pd.Int64Dtype]
    annotator: Series[str] = pa.Field(str_matches=PSEUDONYM)
    status: Series[str] = pa.Field(isin=STATUSES)


class Stances(_OfAnnotation):
    target: Series[str]
    value: Series[str] = pa.Field(nullable=True)

    class Config:
        unique = ["status", "annotation_id", "target"]


class Spans(_Ranges):
    article_id: Series[str]
    annotation_id: Series[pd.Int64Dtype]
    annotator: Series[str] = pa.Field(str_matches=PSEUDONYM)
    status: Series[str] = pa.Field(isin=STATUSES)
    kind: Series[str] = pa.Field(isin=SPAN_KINDS)
    label: Series[str]
    start: Series[pd.Int64Dtype] = pa.Field(ge=0)
    end: Series[pd.Int64Dtype]
    text: Series[str] = pa.Field(nullable=True)


class Answers(_OfAnnotation):
    question: Series[str]
    answer: Series[str]

    class Config:
        unique = ["status", "annotation_id", "question"]


class Tasks(_Table):
    article_id: Series[str]
    task_id: Series[pd.Int64Dtype] = pa.Field(unique=True)
    queue: Series[str] = pa.Field(isin=QUEUES)


class Gold(_Table):
    article_id: Series[str] = pa.Field(unique=True)
    method: Series[str] = pa.Field(isin=["majority", "dawid-skene"])
    n_annotators: Series[pd.Int64Dtype] = pa.Field(ge=1)
    relevance: Series[str] = pa.Field(nullable=True, isin=[RELEVANT, NOT_RELEVANT, UNRESOLVED])
    relevance_support: Series[float] = pa.Field(nullable=True, ge=0, le=1)
    # a codebook without a primary frame or tone has no such columns
    primary_frame: Optional[Series[str]] = pa.Field(nullable=True)
    primary_frame_support: Optional[Series[float]] = pa.Field(nullable=True, ge=0, le=1)
    frames: Series[object]
    tone: Optional[Series[str]] = pa.Field(nullable=True)
    tone_support: Optional[Series[float]] = pa.Field(nullable=True, ge=0, le=1)


class GoldSpans(_Ranges):
    article_id: Series[str]
    kind: Series[str] = pa.Field(isin=SPAN_KINDS)
    label: Series[str]
    start: Series[pd.Int64Dtype] = pa.Field(ge=0)
    end: Series[pd.Int64Dtype]
    text: Series[str]
    support: Series[float] = pa.Field(gt=0, le=1)

    class Config:
        unique = ["article_id", "kind", "label", "start"]


MODELS: dict[str, type[pa.DataFrameModel]] = {
    "articles": Articles, "annotations": Annotations, "stances": Stances, "spans": Spans, "answers": Answers,
    "tasks": Tasks,
    "gold": Gold, "gold_spans": GoldSpans,
}
#: Where each table is read from: (folder option, file name).
FILES = {
    "articles": ("corpus", "articles.parquet"),
    "annotations": ("annotations", "annotations.parquet"),
    "stances": ("annotations", "stances.parquet"),
    "spans": ("annotations", "spans.parquet"),
    "answers": ("annotations", "answers.parquet"),  # optional, like tasks: a codebook of yes/no questions
    "tasks": ("annotations", "tasks.parquet"),  # optional: tables pulled before it existed have none
    "gold": ("gold", "gold.parquet"),
    "gold_spans": ("gold", "gold_spans.parquet"),
}
REQUIRED = ("articles", "annotations", "stances", "spans")


# ---- data checks: codebook vocabularies and relations between tables ----------------------------


def _strings(values) -> pyarrow.Array:
    if isinstance(values, (set, frozenset)):
        values = sorted(values)
    arr = pyarrow.array(values, from_pandas=True) if isinstance(values, (pd.Series, pd.Index)) else \
        pyarrow.array(list(values), type=pyarrow.string(), from_pandas=True)
    return arr if arr.type == pyarrow.string() else arr.cast(pyarrow.string())


def _isin(s: pd.Series, values) -> pd.Series:
    """`s.isin(values)` in Arrow: pandas 3's Arrow strings walk `values` in Python, which costs
    seconds when `values` is the corpus's ids."""
    hit = pc.is_in(_strings(s), value_set=_strings(values)).to_numpy(zero_copy_only=False)
    return pd.Series(hit, index=s.index, dtype=bool)


def _in(values) -> Callable[[pd.Series], pd.Series]:
    allowed = list(values)
    return lambda s: s.isna() | _isin(s, allowed)


def _items(value) -> list:
    """The labels of a list cell (a list, an array, or nothing)."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return list(np.asarray(value, dtype=object).ravel())
    return [] if value is None or (isinstance(value, float) and np.isnan(value)) else [value]


def _exploded(s: pd.Series) -> pd.Series:
    """One row per label of a list column, indexed by the row it came from (vectorised)."""
    cells = s.map(_items) if not all(isinstance(x, (list, np.ndarray)) for x in s.head(1000)) else s
    return cells.explode().dropna()


def _all_in(values) -> Callable[[pd.Series], pd.Series]:
    allowed = list(values)

    def check(s: pd.Series) -> pd.Series:
        flat = _exploded(s)
        bad = flat.index[~_isin(flat, allowed).to_numpy()]
        return pd.Series(~s.index.isin(bad), index=s.index, dtype=bool)

    return check


def _among(lists: pd.Series) -> Callable[[pd.Series], pd.Series]:
    """A label is one of the labels of the same row's list column (or null)."""
    def check(s: pd.Series) -> pd.Series:
        flat = _exploded(lists.loc[s.index])
        pairs = pd.MultiIndex.from_arrays([flat.index, flat.astype(str).to_numpy()])
        mine = pd.MultiIndex.from_arrays([s.index, s.astype(object).where(s.notna(), "").astype(str).to_numpy()])
        return pd.Series(s.isna().to_numpy() | mine.isin(pairs), index=s.index, dtype=bool)

    return check


def checks(cb: Codebook, tables: dict[str, pd.DataFrame]) -> dict[str, dict[str, list[pa.Check]]]:
    """table -> column -> the data checks of that column (closures over the codebook and the
    other tables; a check on a table that is absent is not built). The checks see every row,
    nulls included (`ignore_na=False`), so that they can zip a column with its table's others."""
    frames, tones = cb.frame_ids(), [t.id for t in cb.tone]
    values, targets = [v.id for v in cb.stance_values], [t.id for t in cb.targets]
    out: dict[str, dict[str, list[pa.Check]]] = {name: {} for name in tables}
    arts = tables.get("articles")
    first: Any = arts.drop_duplicates("article_id").set_index("article_id") if arts is not None else None  # ids are checked apart
    sha: Any = first["text_sha256"] if arts is not None else None
    texts = dict(zip(first.index, first["text"])) if arts is not None else None

    def add(table: str, column: str, fn, name: str) -> None:
        if table in out:
            out[table].setdefault(column, []).append(pa.Check(fn, name=name, ignore_na=False))

    if arts is not None:
        ids = set(arts["article_id"])
        add("articles", "duplicate_of", _in(ids), "duplicate_of names an article")
        add("articles", "parent_id", _in(ids), "parent_id names an article")

    if "annotations" in tables:
        ann = tables["annotations"]
        submitted = ann["status"] == SUBMITTED
        relevant = pd.Series(is_relevant(ann), index=ann.index)
        coded = submitted & relevant  # the annotations that must carry every label
        add("annotations", "primary_frame", _in(frames), "primary frame in the codebook")
        add("annotations", "frames", _all_in(frames), "frames in the codebook")
        add("annotations", "tone", _in(tones), "tone in the codebook")
        if cb.primary:
            add("annotations", "primary_frame", lambda s: ~coded | s.notna(), "submitted annotation has a primary frame")
        else:
            add("annotations", "primary_frame", lambda s: s.isna(), "no primary frame: the codebook asks for none")
        if cb.tone:
            add("annotations", "tone", lambda s: ~coded | s.notna(), "submitted annotation has a tone")
        add("annotations", "relevance", lambda s: relevant | (ann["primary_frame"].isna() & ann["tone"].isna()
                                                              & ann["frames"].map(len).eq(0)),
            "not relevant annotation has no frame or tone")
        add("annotations", "primary_frame", _among(ann["frames"]), "primary frame among the frames marked present")
        per_pair = ann[submitted].groupby(["article_id", "annotator"])["annotation_id"].transform("size")
        limit = cb.max_per_annotator
        add("annotations", "annotator", lambda s: (per_pair.reindex(s.index).fillna(0) <= limit),
            f"at most {limit} submitted annotation(s) per article and annotator")
        if sha is not None:
            add("annotations", "article_id", lambda s: _isin(s, sha.index), "refers to an article of the corpus")
            expected = ann["article_id"].map(sha)
            add("annotations", "text_sha256", lambda s: expected.isna() | s.isna() | (s == expected),
                "drift: annotated text differs from the corpus text")
        if "stances" in tables:
            st = tables["stances"]
            sub_st = st[(st["status"] == SUBMITTED) & st["target"].isin(targets)]  # draft ids overlap annotation ids
            got = sub_st.groupby("annotation_id")["target"].nunique()
            want = len(targets)
            add("annotations", "annotation_id",
                lambda s: ~coded | (s.map(got).fillna(0).astype(int) == want).astype(bool),
                "a stance for every target of the codebook")
            add("annotations", "annotation_id",
                lambda s: ~submitted | relevant | (s.map(got).fillna(0).astype(int) == 0).astype(bool),
                "not relevant annotation has no stance")

        if cb.questions:
            answers = tables.get("answers")
            sub_a = answers[answers["status"] == SUBMITTED] if answers is not None else None
            yes = (sub_a[sub_a["answer"] == cb.YES].groupby("annotation_id")["question"].agg(frozenset)
                   if sub_a is not None else pd.Series(dtype=object))
            n_answered = sub_a.groupby("annotation_id")["question"].nunique() if sub_a is not None else pd.Series(dtype=int)
            want_q = len(cb.questions)
            add("annotations", "annotation_id",
                lambda s: ~coded | (s.map(n_answered).fillna(0).astype(int) == want_q).astype(bool),
                "an answer to every question of the codebook")
            add("annotations", "frames", lambda s: ~submitted | pd.Series(
                [list(f) == cb.frames_of(yes.get(i, frozenset())) for f, i in zip(s, ann["annotation_id"])],
                index=s.index, dtype=bool), "frames follow from the answers by the codebook's rules")

    if "answers" in tables:
        add("answers", "question", _in(cb.question_ids()), "question in the codebook")
        add("answers", "answer", _in([cb.YES, cb.NO]), "answer yes or no")
        if arts is not None:
            add("answers", "article_id", lambda s: _isin(s, sha.index), "refers to an article of the corpus")

    if "stances" in tables:
        add("stances", "target", _in(targets), "stance target in the codebook")
        add("stances", "value", _in(values), "stance value in the codebook")
        if arts is not None:
            add("stances", "article_id", lambda s: _isin(s, sha.index), "refers to an article of the corpus")

    for name in ("spans", "gold_spans"):
        if name not in tables:
            continue
        sp = tables[name]
        add(name, "label", lambda s, sp=sp: ((sp["kind"] == "frame_cue") & _isin(s, frames))
            | ((sp["kind"] == "stance_evidence") & _isin(s, targets)), "span label in the codebook for its kind")
        if texts is not None:
            length = sp["article_id"].map(first["text"].str.len())
            add(name, "article_id", lambda s: _isin(s, first.index), "refers to an article of the corpus")
            add(name, "end", lambda s, length=length: length.isna() | (s <= length).fillna(False).astype(bool),
                "end <= len(article text)")
            add(name, "text", lambda s, sp=sp: pd.Series(
                [not isinstance(t, str) or a not in texts or texts[a][b:e] == t
                 for t, a, b, e in zip(s, sp["article_id"], sp["start"], sp["end"])], index=s.index, dtype=bool),
                "span text equals the article text slice")

    if "gold" in tables:
        g = tables["gold"]
        if "primary_frame" in g.columns:
            add("gold", "primary_frame", _in([*frames, UNRESOLVED]), "gold primary frame in the codebook")
        add("gold", "frames", _all_in(frames), "gold frames in the codebook")
        if "tone" in g.columns:
            add("gold", "tone", _in([*tones, UNRESOLVED]), "gold tone in the codebook")
        if "relevance" in g.columns:
            moot = g["relevance"] == NOT_RELEVANT
            rest = [c for c in ("primary_frame", "tone", *(f"stance_{t}" for t in targets)) if c in g.columns]
            add("gold", "relevance", lambda s: ~moot | (g[rest].isna().all(axis=1) & g["frames"].map(len).eq(0)),
                "gold not relevant has no other label")
        for t in targets:
            col = f"stance_{t}"
            if col in g.columns:
                add("gold", col, _in([*values, UNRESOLVED]), f"gold stance toward {t} in the codebook")
        if sha is not None:
            add("gold", "article_id", lambda s: _isin(s, sha.index), "refers to an article of the corpus")
    return out


# ---- reading ----------------------------------------------------------------------------------


def nullable_ints(t: pyarrow.DataType):
    if pyarrow.types.is_integer(t):
        return pd.Int64Dtype()
    return None


def read_table(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    try:
        schema = pq.read_schema(path)
        cols = [c for c in columns if c in schema.names] if columns else None
        return pq.read_table(path, columns=cols).to_pandas(types_mapper=nullable_ints)
    except (OSError, pyarrow.ArrowInvalid) as exc:
        raise ValidationInputError(f"{path}: not a readable parquet table ({exc.__class__.__name__})") from None


def load_tables(folders: dict[str, Path | None]) -> dict[str, pd.DataFrame]:
    """The tables found in `folders` (keys: corpus, annotations, gold). A required table that is
    missing is an error; gold tables are optional (they exist after `aggregate`)."""
    tables = {}
    for name, (folder_key, filename) in FILES.items():
        folder = folders.get(folder_key)
        if folder is None:
            continue
        path = Path(folder) / filename
        if not path.exists():
            if name in REQUIRED:
                raise ValidationInputError(f"{path}: no such table (expected the output of "
                                           f"`framestance {'normalise' if name == 'articles' else 'pull'}`)")
            continue
        columns = None
        if name == "articles":  # the corpus can be large: only what the checks read
            columns = list(Articles.to_schema().columns)
        tables[name] = read_table(path, columns)
    return tables


# ---- running --------------------------------------------------------------------------------------


@dataclass
class Result:
    failures: pyarrow.Table
    rows: dict[str, int]
    in_progress: list[str] = field(default_factory=list)  # articles below min_annotators with a task still open

    @property
    def ok(self) -> bool:
        return self.failures.num_rows == 0

    def counts(self) -> list[tuple[str, str, int]]:
        """(table, check, failures) in a stable order."""
        df = self.failures.select(["table", "check"]).to_pandas()
        if df.empty:
            return []
        g = df.groupby(["table", "check"], sort=True).size()
        return [(t, c, int(n)) for (t, c), n in g.items()]


def _failure_rows(table: str, cases: pd.DataFrame) -> list[dict]:
    """pandera's failure cases as FAILURE rows. A check over whole rows (start_before_end) names the
    row, not each of its columns."""
    rows = []
    for c in cases.itertuples(index=False):
        idx = c.index
        whole_row = c.schema_context == "DataFrameSchema" and not str(c.check).startswith(("column_in_dataframe", "multiple_fields"))
        column = None if whole_row or c.column is None or isinstance(c.column, float) else str(c.column)
        value = None if whole_row or c.failure_case is None or (isinstance(c.failure_case, float) and np.isnan(c.failure_case)) \
            else str(c.failure_case)
        rows.append({"table": table, "check": str(c.check), "column": column,
                     "index": None if idx is None or (isinstance(idx, float) and np.isnan(idx)) else int(idx),
                     "value": value})
    return rows


def _run(schema: pa.DataFrameSchema, df: pd.DataFrame, table: str) -> list[dict]:
    try:
        schema.validate(df, lazy=True)
    except pa.errors.SchemaErrors as exc:
        return _failure_rows(table, exc.failure_cases)
    return []


def validate(tables: dict[str, pd.DataFrame], cb: Codebook, min_annotators: int = 1) -> Result:
    rows: list[dict] = []
    passed: dict[str, pd.DataFrame] = {}
    for name, df in tables.items():
        if df.empty and name in ("annotations",):
            rows.append({"table": name, "check": "not empty", "column": None, "index": None,
                         "value": "the export holds no annotation"})
            continue
        # pass 1: structure (columns, dtypes, nullability, uniqueness)
        structure = MODELS[name].to_schema()
        bad = _run(structure, df, name)
        broken = [r for r in bad if r["check"].startswith(("dtype", "column_in_dataframe"))]
        if broken:  # the other checks of a table with a wrong or missing column mean nothing
            rows += broken
        else:
            rows += bad
            passed[name] = df
    # pass 2: data checks, only on tables whose structure holds (relations need their partner too)
    extra = checks(cb, passed)
    for name, df in passed.items():
        schema = pa.DataFrameSchema(
            {col: pa.Column(checks=chks, nullable=True, required=False) for col, chks in extra[name].items()},
            strict=False,
        )
        rows += _run(schema, df, name)
    waiting: list[str] = []
    if "annotations" in passed:
        ann = passed["annotations"]
        waiting = in_progress(ann, tables.get("tasks"), min_annotators)
    if "annotations" in passed and min_annotators > 1:
        sub = ann[ann["status"] == SUBMITTED]
        n = sub.groupby("article_id")["annotator"].nunique()
        if "tasks" in tables:  # all tasks, the unanswered included (pull writes them): the rest is in progress
            queued = tables["tasks"]["article_id"][tables["tasks"]["queue"] != "adjudication"]
            n = n.reindex(sorted(set(n.index) | set(queued)), fill_value=0)
        for aid, k in n[n < min_annotators].sort_index().items():
            if aid in waiting:
                continue
            rows.append({"table": "annotations", "check": f"quality gate: at least {min_annotators} annotators per article",
                         "column": "article_id", "index": None, "value": f"{aid} ({k})"})
    rows = _dedupe(rows)
    rows.sort(key=lambda r: (r["table"], r["check"], r["column"] or "", r["index"] if r["index"] is not None else -1,
                             r["value"] or ""))
    failures = pyarrow.Table.from_pylist(rows, schema=FAILURE)
    return Result(failures, {name: len(df) for name, df in tables.items()}, waiting)


def in_progress(annotations: pd.DataFrame, tasks: pd.DataFrame | None, min_annotators: int) -> list[str]:
    """Articles (sorted) with a task still open: more labels are coming, so agreement and gold
    made now are interim, and too few annotators so far is no failure. Open: in an annotator's own
    queue, a task its annotator has neither submitted nor skipped; in a shared project, a task with
    fewer submitted annotations than `min_annotators` (a skipped task goes to someone else in Label
    Studio's default). Without a tasks table (tables pulled before it existed): none."""
    if tasks is None or tasks.empty:
        return []
    ann = annotations[annotations["task_id"].notna()]
    by_task = ann["task_id"].astype("int64")
    answered = ann[ann["status"].isin([SUBMITTED, "cancelled"]).to_numpy(bool)].groupby(by_task)["annotator"].nunique()
    submitted_ = ann[(ann["status"] == SUBMITTED).to_numpy(bool)].groupby(by_task)["annotator"].nunique()
    ids = tasks["task_id"].astype("int64")
    queue = tasks["queue"].to_numpy(object)
    open_ = ((queue == "annotator") & (ids.map(answered).fillna(0).to_numpy() == 0)) \
        | ((queue == "shared") & (ids.map(submitted_).fillna(0).to_numpy() < max(min_annotators, 1)))
    return sorted(set(tasks["article_id"].to_numpy(object)[open_]))


def structure_problems(tables: dict[str, pd.DataFrame]) -> list[str]:
    """One line per table whose columns or dtypes are wrong (the first pass of `validate`), for
    the commands that read the tables without validating them."""
    out = []
    for name, df in tables.items():
        bad = [r for r in _run(MODELS[name].to_schema(), df, name)
               if r["check"].startswith(("dtype", "column_in_dataframe"))]
        if bad:
            what = ", ".join(f"{r['value'] if r['check'].startswith('column_in') else r['column']} ({r['check']})"
                             for r in bad[:3])
            out.append(f"{FILES[name][1]}: {what}; run `framestance validate`")
    return out


def _dedupe(rows: list[dict]) -> list[dict]:
    seen, out = set(), []
    for r in rows:
        key = tuple(r.values())
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


def write_report(result: Result, report_dir: Path) -> Path:
    from .labelstudio.pull import write_tables

    return write_tables({"failures": result.failures}, report_dir)["failures"]
