"""Stage 1c: choose each round's articles from the query's hits, and record why and with what
probability.

Contract. The population is the hits of the study's query (the codebook's `issue.query`) among
the corpus's non-duplicate articles. `select_round` writes the next round to
`corpus/selection/round-NNN.parquet` (one row per article: `round`, `part`, `inclusion_probability`,
`stratum`, BM25 `score`, the model's `relevance_score`, `text_sha256`) and appends the round's
record (query, design, seed, sizes, model version and its quality) to `rounds.json`. Push sends a
selected round; publish carries each article's probability to the dataset and its card.

The probability sample. Every hit gets a permanent random number, `key` in [0, 1): within its
stratum (`select.stratify`; one stratum without it) the hits are put in a seeded random order
and spread evenly, key = (rank + u) / N_stratum with a seeded offset u per stratum. Round r raises
a threshold t_r (by k/H, H the hits) and its probability part is every hit with key below t_r not
selected before. So after any round, the hits with key < t form a systematic sample of the hits,
implicitly stratified, in which every hit had the same inclusion probability t, *whatever the
model did*: it is fixed by the keys, drawn before any label. Its size is t*H, to within one a
stratum.

The design (`select.design`):
* `sample`: every round is all probability part (k = round_size).
* `model` (a model in the loop): a relevance model trained on the relevance labels pulled so far
  ranks the remaining hits, and fills the round beyond its probability part, which is k = at
  least `probability_share` of the round. Round 1, and any round whose labels are too few to
  train on, is all probability part (with a warning).

The estimator (`estimate.py`) uses the probability sample only: shares among relevant articles
are Hajek ratios over it, with the variance of systematic sampling approximated by simple random
sampling's (conservative where strata differ). The model's picks outside it add labels, not
weight: they make the annotated set rich in on-issue articles and leave the estimates unbiased.

Refusals (one line, nothing written): a query that does not parse or has no hits; an index that
is not of this corpus (its articles and texts); another seed or stratification than round 1's
(the permanent random numbers must not change); earlier rounds whose articles changed or left the corpus since, or a corpus
whose hits are no longer those round 1 was drawn from (`StaleSelection`: the population of the
design changed); a new query for an existing selection; a round when no hit is left.
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .errors import FramestanceError
from .io import atomic_write, write_table
from .search import Index, corpus_files, fingerprint, hit_ids, outlet_key

ROUNDS = "rounds.json"
DESIGNS = ("sample", "model")
STRATA = ("outlet", "month", "language", "page_type")
COLUMNS = ["article_id", "title", "outlet", "language", "published_at", "text_sha256", "duplicate_of", "page_type_score"]
PAGE_TYPE_BANDS = ((0.5, "article-like"), (0.0, "doubtful"))

SELECTION = pa.schema([
    pa.field("article_id", pa.string(), nullable=False),
    pa.field("text_sha256", pa.string(), nullable=False),
    pa.field("round", pa.int32(), nullable=False),
    pa.field("part", pa.string(), nullable=False),  # model | probability
    pa.field("inclusion_probability", pa.float64(), nullable=False),  # of being selected in this round, given the rounds before
    pa.field("key", pa.float64(), nullable=False),  # the permanent random number: in the probability sample while key < t
    pa.field("stratum", pa.string(), nullable=False),
    pa.field("score", pa.float64(), nullable=False),  # BM25 of the query
    pa.field("relevance_score", pa.float64()),  # the model's P(relevant); null in a round without a model
])


class SelectError(FramestanceError, ValueError):
    """A selection that cannot be made: no hits, nothing left, a bad parameter."""


class StaleSelection(SelectError):
    """Earlier rounds name articles that changed or left the corpus since."""


@dataclass
class RoundRecord:
    round: int
    design: str
    query: str
    seed: int
    stratify: str | None
    hits: int  # the population: every hit of the query
    pool: int  # hits not selected in earlier rounds
    model_part: int
    probability_part: int  # hits newly in the probability sample (key in [previous threshold, threshold))
    threshold: float  # t: after this round, the hits with key < t are the probability sample
    corpus: str  # fingerprint of the hits' (article_id, text_sha256): a later corpus that changed them is refused
    model_version: str | None = None
    model_labels: int = 0
    model_relevant: int = 0
    calibrated: bool = False
    fallback: str | None = None  # why a `model` round was all probability sample
    notes: list[str] = field(default_factory=list)


@dataclass
class RoundResult:
    record: RoundRecord
    rows: list[dict]
    path: Path
    warnings: list[str]


def stratum_of(row: dict, column: str | None) -> str:
    if not column:
        return "all"
    if column == "month":
        when = row.get("published_at")
        return f"{when:%Y-%m}" if when is not None else "unknown"
    if column == "page_type":
        s = row.get("page_type_score")
        if s is None:
            return "unscored"
        return next(name for low, name in PAGE_TYPE_BANDS if s >= low or low == 0.0)
    if column == "outlet":
        return outlet_key(row.get("outlet")) or "unknown"
    return str(row.get(column) or "unknown")


def load_rounds(folder: Path) -> tuple[list[RoundRecord], pa.Table]:
    """The earlier rounds' records and rows (an empty table before round 1)."""
    folder = Path(folder)
    records = []
    if (folder / ROUNDS).exists():
        records = [RoundRecord(**r) for r in json.loads((folder / ROUNDS).read_text(encoding="utf-8"))]
    tables = [pq.read_table(folder / f"round-{r.round:03d}.parquet") for r in records]
    return records, (pa.concat_tables(tables) if tables else SELECTION.empty_table())


def check_current(selected: pa.Table, corpus: dict[str, str], where: Path) -> None:
    """Refuse rounds whose articles changed (text_sha256) or left the corpus since they were drawn."""
    changed = [a for a, s in zip(selected["article_id"].to_pylist(), selected["text_sha256"].to_pylist()) if corpus.get(a) != s]
    if changed:
        raise StaleSelection(f"{where}: {len(changed)} selected articles changed or left the corpus since they were "
                             f"selected (e.g. {changed[0]}): select from the corpus they came from, or start a new "
                             "selection folder")


def permanent_keys(rows: list[dict], seed: int) -> dict[str, float]:
    """article id -> its permanent random number: within each stratum, a seeded random order spread
    evenly over [0, 1) with a seeded offset, so that {key < t} holds about t of every stratum and
    each hit's chance of key < t is exactly t."""
    by: dict[str, list[str]] = {}
    for r in rows:
        by.setdefault(r["stratum"], []).append(r["article_id"])
    out = {}
    for stratum, ids in by.items():
        offset = _unit(f"{seed}\0stratum\0{stratum}")
        ranked = sorted(ids, key=lambda a: hashlib.sha256(f"{seed}\0order\0{a}".encode()).digest())
        for rank, aid in enumerate(ranked):
            out[aid] = (rank + offset) / len(ranked)
    return out


def _unit(text: str) -> float:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") / 2**64


def relevance_labels(annotations: Path | None) -> dict[str, int]:
    """article_id -> 1 (relevant) / 0 (not), by majority of the submitted annotations (a tie counts
    as relevant: the model should rather see too many candidates than too few)."""
    if annotations is None:
        return {}
    path = Path(annotations) / "annotations.parquet" if Path(annotations).is_dir() else Path(annotations)
    if not path.exists():
        return {}
    from .schema import NOT_RELEVANT, submitted

    table = submitted(pq.read_table(path, columns=["article_id", "status", "relevance"]))
    votes: dict[str, list[int]] = {}
    for aid, rel in zip(table["article_id"].to_pylist(), table["relevance"].to_pylist()):
        votes.setdefault(aid, []).append(0 if rel == NOT_RELEVANT else 1)
    return {a: int(2 * sum(v) >= len(v)) for a, v in votes.items()}


def read_corpus(corpus: Path) -> pa.Table:
    """The corpus's non-duplicate rows, without their texts."""
    files = corpus_files(corpus)
    names = pq.read_schema(files[0]).names
    table = pa.concat_tables([pq.read_table(f, columns=[c for c in COLUMNS if c in names]) for f in files])
    return table.filter(pc.is_null(table["duplicate_of"]))


def read_documents(corpus: Path, ids: set[str]) -> dict[str, str]:
    """article id -> the relevance model's document (title and text), for these articles only."""
    from .relevance import document

    out: dict[str, str] = {}
    wanted = pa.array(sorted(ids), pa.string())
    for f in corpus_files(corpus):
        pf = pq.ParquetFile(f)
        for k in range(pf.num_row_groups):
            ids_here = pf.read_row_group(k, columns=["article_id"])["article_id"]
            mask = pc.is_in(ids_here, wanted)
            if not pc.any(mask).as_py():
                continue
            group = pf.read_row_group(k, columns=["article_id", "title", "text"]).filter(mask)
            for r in group.to_pylist():
                out[r["article_id"]] = document(r["title"], r["text"])
    return out


def select_round(corpus: Path, index_dir: Path, out: Path, query: str, *, design: str = "sample", round_size: int = 50,
                 probability_share: float = 0.2, seed: int = 0, stratify: str | None = None,
                 annotations: Path | None = None, save_model: bool = True) -> RoundResult:
    """Draw the next round and write it (see the module docstring)."""
    from . import relevance as rel

    if design not in DESIGNS:
        raise SelectError(f"select.design {design!r}: use one of {', '.join(DESIGNS)}")
    if stratify not in (None, *STRATA):
        raise SelectError(f"select.stratify {stratify!r}: use one of {', '.join(STRATA)} (or none)")
    if round_size < 2:
        raise SelectError(f"select.round_size {round_size}: a round needs at least 2 articles")
    if not 0 < probability_share <= 1:
        raise SelectError(f"select.probability_share {probability_share}: a share above 0 and at most 1")
    out = Path(out)
    index = Index(index_dir)
    hits = hit_ids(index, query)
    if not hits:
        raise SelectError(f"query {query!r}: no hits among {index.docs} articles: nothing selected (broaden the query)")
    table = read_corpus(corpus)
    sha = dict(zip(table["article_id"].to_pylist(), table["text_sha256"].to_pylist()))
    if index.pairs() != set(sha.items()):  # also every hit is an article of this corpus, with this text
        raise StaleSelection(f"{index_dir}: the index holds {index.docs} articles, {corpus} {table.num_rows}, or other "
                             "texts: run `framestance index` on this corpus first")
    records, earlier = load_rounds(out)
    check_current(earlier, sha, out)
    if records and records[0].query != query:
        raise SelectError(f"{out}: earlier rounds were drawn from the hits of {records[0].query!r}, not {query!r}: "
                          "a new query is a new population (use another selection folder)")
    if records and (records[0].seed, records[0].stratify) != (seed, stratify):
        raise SelectError(f"{out}: round 1 was drawn with seed {records[0].seed} and stratify {records[0].stratify}, not "
                          f"{seed} and {stratify}: the permanent random numbers must stay the same in every round")
    population = fingerprint((a, sha[a]) for a in hits)
    if records and records[0].corpus != population:
        raise StaleSelection(f"{out}: the query's hits changed since round 1 ({records[0].hits} then, {len(hits)} now): the "
                             "population of the design changed; select from the corpus round 1 came from, or start a new "
                             "selection folder")
    round_no = len(records) + 1
    taken = set(earlier["article_id"].to_pylist())
    hit_table = table.filter(pc.is_in(table["article_id"], pa.array(sorted(hits))))
    light = hit_table.to_pylist()
    for r in light:
        r["stratum"] = stratum_of(r, stratify)
        r["score"] = hits[r["article_id"]]
    pool = [r for r in light if r["article_id"] not in taken]
    if not pool:
        raise SelectError(f"{out}: every one of the {len(hits)} hits was selected in rounds 1-{round_no - 1}: nothing left")
    said: list[str] = []
    keys = permanent_keys(light, seed)
    previous = records[-1].threshold if records else 0.0
    k = min(len(pool), max(2, math.ceil(probability_share * round_size)))
    if design == "sample":
        k = min(len(pool), round_size)
    scores: dict[str, float] = {}
    model = None
    record = RoundRecord(round=round_no, design=design, query=query, seed=seed, stratify=stratify, hits=len(hits),
                         pool=len(pool), model_part=0, probability_part=0, threshold=previous, corpus=population)
    if design == "model" and round_no > 1:
        labels = relevance_labels(annotations)
        labelled = [a for a in sorted(labels) if a in sha]
        try:
            rel.check_labels([labels[a] for a in labelled])  # before reading any text
            docs_of = read_documents(corpus, set(labelled) | {r["article_id"] for r in pool})
            model = rel.train(labelled, [docs_of[a] for a in labelled], [labels[a] for a in labelled], seed)
        except rel.TooFewLabels as exc:
            record.fallback = str(exc)
            said.append(f"round {round_no}: {exc}: this round is all probability sample")
            k = min(len(pool), round_size)
    elif design == "model":
        said.append(f"round {round_no}: the first round is all probability sample (no relevance labels yet)")
        k = min(len(pool), round_size)
    threshold = min(1.0, previous + k / len(hits))
    if threshold >= 1.0 - 1e-12 or k >= len(pool):
        threshold = 1.0
    prob_rows = [r for r in pool if keys[r["article_id"]] < threshold]
    chosen = {r["article_id"] for r in prob_rows}
    rest = [r for r in pool if r["article_id"] not in chosen]
    model_rows: list[dict] = []
    if model is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            s = model.scores([docs_of[r["article_id"]] for r in pool])
        scores = {r["article_id"]: float(x) for r, x in zip(pool, s)}
        ranked = sorted(rest, key=lambda r: (-scores[r["article_id"]], r["article_id"]))
        model_rows = ranked[: max(0, round_size - len(prob_rows))]
        record.model_version, record.model_labels, record.model_relevant = model.version, model.n_labels, model.n_relevant
        record.calibrated = model.calibrated
        if save_model:
            model.save(out / f"round-{round_no:03d}.relevance.skops")
    # a hit's chance to enter the probability sample this round, given the rounds before: the
    # share of the not-yet-sampled key range [previous, 1) that this round's threshold opens
    chance = 1.0 if threshold >= 1.0 else (threshold - previous) / (1 - previous)
    rows = [{"article_id": r["article_id"], "text_sha256": r["text_sha256"], "round": round_no, "part": "model",
             "inclusion_probability": 1.0, "key": keys[r["article_id"]], "stratum": r["stratum"], "score": r["score"],
             "relevance_score": scores.get(r["article_id"])} for r in model_rows]
    rows += [{"article_id": r["article_id"], "text_sha256": r["text_sha256"], "round": round_no, "part": "probability",
              "inclusion_probability": chance, "key": keys[r["article_id"]], "stratum": r["stratum"], "score": r["score"],
              "relevance_score": scores.get(r["article_id"])} for r in prob_rows]
    rows.sort(key=lambda r: r["article_id"])
    record.model_part, record.probability_part, record.threshold = len(model_rows), len(prob_rows), threshold
    path = out / f"round-{round_no:03d}.parquet"
    write_table(pa.Table.from_pylist(rows, schema=SELECTION), path)
    atomic_write(out / ROUNDS, (json.dumps([asdict(r) for r in [*records, record]], indent=2) + "\n").encode())
    return RoundResult(record, rows, path, said)


def selected(folder: Path, round_no: int | None = None) -> tuple[list[RoundRecord], pa.Table]:
    """The rounds of a selection folder (all, or one) and their rows."""
    records, rows = load_rounds(folder)
    if not records:
        raise SelectError(f"{folder}: no selection rounds (run `framestance select` first)")
    if round_no is not None:
        if not 1 <= round_no <= len(records):
            raise SelectError(f"{folder}: round {round_no} does not exist (rounds 1-{len(records)})")
        rows = rows.filter(pc.equal(rows["round"], round_no))
    return records, rows


__all__ = ["DESIGNS", "RoundRecord", "SELECTION", "SelectError", "StaleSelection", "check_current", "load_rounds",
           "permanent_keys", "relevance_labels", "select_round", "selected"]
