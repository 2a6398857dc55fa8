"""Duplicates resolved inside the cluster, one connected component of the collision graph at a time.

The graph: an article is a node; two articles are joined when they share a key (their id, their
exact-duplicate key or one of their LSH band keys). The local engine's rule (the first article of
a story is its representative, dedup.Deduplicator) decides an article from earlier articles that
share one of its keys, so it never looks outside the article's component: each component can be
resolved on its own, by `resolve` (below), and the union of the answers is the local engine's.

Every step is a Ray task over Arrow tables; the driver holds object references and a few counts,
never a key, so its memory does not grow with the number of colliding articles:

1. keys: each block of the map's output gives its articles' key rows (`ray_engine.shuffle_keys`,
   with each article's id on every row), split into `parts` pieces by key.
2. shared: each piece of keys keeps the rows of keys two or more articles share (the rows of the
   collision graph), each labelled with its article's place in the input (`order`).
3. components: labels spread to the smallest of their group's, first over the rows of a key, then
   over the rows of an article, each step a shuffle, then jump (an article takes its label's own
   label), until a round changes nothing; a label is then the first article of its component.
4. decide: rows split by label, so a component is never cut; each piece is resolved by
   `resolve`, and its decisions (a new id, the representative's id, a renamed main article) are
   split by ranges of input order (whole map tasks, so an article's main and related articles,
   which come from one file, are in one range).
5. mark: each block of the map's output fetches the decisions of the ranges its rows fall in.

A component is resolved by one task: a story copied a million times is one task's work, as it
would be one index's in the local engine.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..schema import ARTICLE
from .dedup import renamed_id

#: One decision of `resolve`, by the article's place in the input: its new id (a URL crawled
#: again; with the input, place and former id its related articles follow), and the id of what it
#: duplicates (a representative, or the URL's first article).
DECISION = pa.schema([pa.field("order", pa.int64()), pa.field("new_id", pa.string()),
                      pa.field("duplicate_of", pa.string()), pa.field("source_sha256", pa.string()),
                      pa.field("position", pa.int32()), pa.field("former_id", pa.string())])
_MIX = np.uint64(0x9E3779B97F4A7C15)
#: Key kinds of the collision graph: an article's id, its exact-duplicate key, an LSH band key.
ID, TEXT, BAND = 0, 1, 2


@dataclass
class Resolution:
    """What the collisions decide, per colliding article (by order): a new id (a URL seen before)
    and its representative (the representative's order, or the first article of the URL by id)."""

    new_id: dict[int, str] = field(default_factory=dict)
    # (input, place in it, former id) -> the orders and new ids of its renamed main articles, in
    # order: a related article follows the latest of them before it (the first copy is never renamed)
    renamed_mains: dict[tuple[str, int, str], list[tuple[int, str]]] = field(default_factory=dict)
    duplicate_of: dict[int, int | str] = field(default_factory=dict)
    exact: int = 0
    near: int = 0


def resolve(shared: pa.Table, chunk_rows: int = 1 << 18) -> Resolution:
    """The local engine's rule (dedup.Deduplicator) over the shared keys alone, in input order:
    an article is an exact duplicate of the earliest representative with its text key, else a
    near duplicate of the earliest representative in one of its band buckets, else (a URL seen
    before) a duplicate of that URL's first article, else a representative. The table is read in
    order, `chunk_rows` rows at a time; what stays is one entry per representative's key (a band
    key as an int, a text key as (kind, full key)), one per shared URL, and the decisions."""
    res = Resolution()
    first_rep: dict[object, int] = {}  # text or band group -> its earliest representative
    seen_id: dict[tuple, int] = {}  # id group -> its articles met so far

    def decide(order: int, ident: tuple | None, text: tuple | None, bands: list[int]) -> None:
        url_dup = None
        if ident is not None:
            aid, src, pos = ident
            n = seen_id[(ID, aid)] = seen_id.get((ID, aid), 0) + 1
            if n > 1:
                url_dup = aid
                res.new_id[order] = renamed_id(aid, src, pos, n - 1)
                res.renamed_mains.setdefault((src, pos, aid), []).append((order, res.new_id[order]))
        cands = [first_rep[b] for b in bands if b in first_rep]
        if text is not None and text in first_rep:
            res.duplicate_of[order] = first_rep[text]
            res.exact += 1
        elif cands:
            res.duplicate_of[order] = min(cands)
            res.near += 1
        elif url_dup is not None:
            res.duplicate_of[order] = url_dup
            res.near += 1
        else:
            if text is not None:
                first_rep.setdefault(text, order)
            for b in bands:
                first_rep.setdefault(b, order)

    columns = shared.select(["kind", "key", "full", "order", "source_sha256", "position"])
    by_order = pc.sort_indices(columns, [("order", "ascending")])  # 8 bytes a row, not a sorted copy
    current: int | None = None
    ident: tuple | None = None
    text: tuple | None = None
    bands: list[int] = []
    for start in range(0, columns.num_rows, chunk_rows):
        chunk = columns.take(by_order[start:start + chunk_rows])
        for kind, key, full, order, src, pos in zip(*(c.to_pylist() for c in chunk.columns)):
            if order != current:
                if current is not None:
                    decide(current, ident, text, bands)
                current, ident, text, bands = order, None, None, []
            if kind == ID:
                ident = (full, src, pos)
            elif kind == TEXT:
                text = (TEXT, full)
            else:
                bands.append(key)  # band keys: ints, never equal to a (kind, key) tuple
    if current is not None:
        decide(current, ident, text, bands)
    return res


def piece_of(values: np.ndarray, parts: int) -> np.ndarray:
    """Which of `parts` pieces each int64 value goes to: a multiplicative hash, so that structured
    values (orders: file << 32 | place) spread as evenly as random keys."""
    mixed = values.astype(np.int64, copy=False).view(np.uint64) * _MIX
    return ((mixed >> np.uint64(33)) % np.uint64(parts)).astype(np.int64)


def split(table: pa.Table, column: str, parts: int) -> list[pa.Table]:
    """`table` in `parts` pieces by the hash of an int64 column; each piece its own buffers."""
    if parts == 1:
        return [table]
    which = piece_of(table[column].to_numpy(), parts)
    return [table.take(pa.array(np.flatnonzero(which == p))) for p in range(parts)]


def _group_starts(*columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sort order, start of each group in it) for rows grouped by equal values of `columns`."""
    by = np.lexsort(columns[::-1])
    n = len(by)
    change = np.zeros(n, bool)
    if n:
        change[0] = True
    for col in columns:
        s = col[by]
        change[1:] |= s[1:] != s[:-1]
    return by, np.flatnonzero(change)


def _spread_min(label: np.ndarray, *columns: np.ndarray) -> np.ndarray:
    """Each row's label replaced by the smallest label of its group (rows equal in `columns`)."""
    if not len(label):
        return label
    by, starts = _group_starts(*columns)
    lows = np.minimum.reduceat(label[by], starts)
    out = np.empty_like(label)
    out[by] = np.repeat(lows, np.diff(np.append(starts, len(by))))
    return out


def _codes(strings: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Equal strings as equal ints (nulls as -1), within one table."""
    codes = pc.dictionary_encode(strings).combine_chunks() if isinstance(strings, pa.ChunkedArray) \
        else pc.dictionary_encode(strings)
    return codes.indices.to_numpy(zero_copy_only=False).astype(np.int64) if codes.null_count == 0 \
        else pc.fill_null(codes.indices, -1).to_numpy().astype(np.int64)


def shared(pieces: list[pa.Table]) -> pa.Table:
    """The key rows whose key two or more articles share: the same kind, 64-bit key and full value
    (ids and text keys are compared whole; band keys have none). Each row labelled by its order."""
    keys = pa.concat_tables(pieces) if len(pieces) != 1 else pieces[0]
    if not keys.num_rows:
        return keys.append_column("label", pa.array([], pa.int64()))
    kind, key, full = keys["kind"].to_numpy(), keys["key"].to_numpy(), _codes(keys["full"])
    by, starts = _group_starts(kind, key, full)
    sizes = np.diff(np.append(starts, len(by)))
    size = np.empty(len(by), np.int64)
    size[by] = np.repeat(sizes, sizes)
    kept = keys.filter(pa.array(size > 1))
    return kept.append_column("label", kept["order"])


def by_key(table: pa.Table) -> pa.Table:
    """Labels spread over the rows of each key (a 64-bit key of one kind: two full values with
    the same first 64 bits only join two components, which resolving each article by its full
    keys does not mind)."""
    label = _spread_min(table["label"].to_numpy(), table["kind"].to_numpy(), table["key"].to_numpy())
    return table.set_column(table.schema.get_field_index("label"), "label", pa.array(label, pa.int64()))


def by_article(table: pa.Table) -> tuple[pa.Table, int]:
    """Labels spread over the rows of each article; and how many rows changed."""
    before = table["label"].to_numpy()
    label = _spread_min(before, table["order"].to_numpy())
    changed = int(np.count_nonzero(label != before))
    return table.set_column(table.schema.get_field_index("label"), "label", pa.array(label, pa.int64())), changed


def _found(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(where each value is or would go in the sorted `keys`, whether it is there)."""
    k = np.searchsorted(keys, values)
    hit = (k < len(keys)) & (keys[np.minimum(k, len(keys) - 1)] == values) if len(keys) else np.zeros(len(values), bool)
    return k, hit


def jump_requests(table: pa.Table) -> pa.Table:
    """Pointer jumping, step 1: each article whose label is another article's order asks for that
    article's label (`at`: the article asked; labels only fall, so its label is no higher)."""
    order, label = table["order"].to_numpy(), table["label"].to_numpy()
    ask = label != order
    asking, first = np.unique(order[ask], return_index=True)
    return pa.table({"order": pa.array(asking, pa.int64()), "at": pa.array(label[ask][first], pa.int64())})


def jump_answers(table: pa.Table, requests: pa.Table) -> pa.Table:
    """Step 2, where the articles asked are: each request answered with the asked article's label."""
    order, label = table["order"].to_numpy(), table["label"].to_numpy()
    known, first = np.unique(order, return_index=True)
    k, found = _found(known, requests["at"].to_numpy())
    return pa.table({"order": requests["order"].filter(pa.array(found)),
                     "label": pa.array(label[first][k[found]], pa.int64())})


def jumped(table: pa.Table, answers: pa.Table) -> pa.Table:
    """Step 3: each article's rows take the label of the label, where it is lower."""
    if not answers.num_rows:
        return table
    asked, best = answers["order"].to_numpy(), answers["label"].to_numpy()
    by = np.argsort(asked, kind="stable")
    asked, best = asked[by], best[by]
    order, label = table["order"].to_numpy(), table["label"].to_numpy()
    k, hit = _found(asked, order)
    out = label.copy()
    out[hit] = np.minimum(label[hit], best[k[hit]])
    return table.set_column(table.schema.get_field_index("label"), "label", pa.array(out, pa.int64()))


def decide(table: pa.Table) -> tuple[pa.Table, int, int]:
    """Whole components resolved by the local engine's rule: a DECISION per article it changes,
    and how many exact and near duplicates there were."""
    res = resolve(table.select(["kind", "key", "full", "order", "source_sha256", "position"]))
    if not (res.duplicate_of or res.new_id):
        return DECISION.empty_table(), res.exact, res.near
    ids = dict(zip(table["order"].to_pylist(), table["article_id"].to_pylist()))  # a representative's own id
    renamed = {o: (src, pos, former) for (src, pos, former), mains in res.renamed_mains.items() for o, _ in mains}
    orders = sorted(set(res.duplicate_of) | set(res.new_id))
    dup = [res.duplicate_of.get(o) for o in orders]
    where = [renamed.get(o, (None, None, None)) for o in orders]
    return pa.table({
        "order": pa.array(orders, pa.int64()),
        "new_id": pa.array([res.new_id.get(o) for o in orders], pa.string()),
        "duplicate_of": pa.array([ids[d] if isinstance(d, int) else d for d in dup], pa.string()),
        "source_sha256": pa.array([w[0] for w in where], pa.string()),
        "position": pa.array([w[1] for w in where], pa.int32()),
        "former_id": pa.array([w[2] for w in where], pa.string()),
    }, schema=DECISION), res.exact, res.near


def by_range(decisions: pa.Table, bounds: np.ndarray) -> list[pa.Table]:
    """Decisions split by ranges of order: range r holds orders from bounds[r] to bounds[r+1]."""
    which = np.searchsorted(bounds, decisions["order"].to_numpy(), side="right") - 1
    return [decisions.take(pa.array(np.flatnonzero(which == r))) for r in range(len(bounds))]


@dataclass
class Decisions:
    """The decisions a block of articles needs, looked up by order."""

    table: pa.Table = field(default_factory=DECISION.empty_table)

    def __post_init__(self) -> None:
        t = self.table.sort_by("order")
        self.orders = t["order"].to_numpy()
        self.new_id = t["new_id"].to_pylist()
        self.duplicate_of = t["duplicate_of"].to_pylist()
        # (input, place, former id) -> [(order, new id)] in order: a related article follows the
        # latest renamed main before it
        self.renamed: dict[tuple, list[tuple[int, str]]] = {}
        for o, new, src, pos, former in zip(self.orders.tolist(), self.new_id, t["source_sha256"].to_pylist(),
                                            t["position"].to_pylist(), t["former_id"].to_pylist()):
            if former is not None:
                self.renamed.setdefault((src, pos, former), []).append((o, new))

    def of(self, order: int) -> tuple[str | None, str | None]:
        """(new id or None, duplicate_of or None) of the article at `order`."""
        k = int(np.searchsorted(self.orders, order))
        if k < len(self.orders) and self.orders[k] == order:
            return self.new_id[k], self.duplicate_of[k]
        return None, None

    def parent(self, order: int, source: str, position: int, parent: str) -> str:
        mains = self.renamed.get((source, position, parent))
        if mains:
            k = bisect.bisect_left(mains, (order, "")) - 1
            if k >= 0:
                return mains[k][1]
        return parent


def marked(arts: pa.Table, decisions: Decisions) -> pa.RecordBatch:
    """Articles with their final id, parent, representative and cluster. Any rows, in any blocks,
    given the decisions of the ranges they fall in."""
    orders = arts["_order"].to_pylist()
    ids = arts["article_id"].to_pylist()
    sources, positions, parents = (arts[c].to_pylist() for c in ("source_sha256", "position", "parent_id"))
    new_ids, new_parents, dup = [], [], []
    for o, a, src, pos, parent in zip(orders, ids, sources, positions, parents):
        new, of = decisions.of(o)
        dup.append(of)
        new_ids.append(new or a)
        new_parents.append(decisions.parent(o, src, pos, parent) if parent is not None else None)
    cols = {n: arts[n].combine_chunks() for n in ARTICLE.names}
    cols.update(article_id=pa.array(new_ids, pa.string()), parent_id=pa.array(new_parents, pa.string()),
                duplicate_of=pa.array(dup, pa.string()),
                cluster_id=pa.array([d or a for d, a in zip(dup, new_ids)], pa.string()))
    return pa.RecordBatch.from_arrays([cols[n].cast(ARTICLE.field(n).type) for n in ARTICLE.names], schema=ARTICLE)


# --- in the cluster -------------------------------------------------------------------------


@dataclass
class Resolved:
    """What the cluster decided: per range of order, the references of its decisions (one piece
    from each decide task); the duplicates counted; the rounds the labels took to settle."""

    bounds: np.ndarray
    pieces: list[list] = field(default_factory=list)
    exact: int = 0
    near: int = 0
    rounds: int = 0
    counts: Counter = field(default_factory=Counter)  # rows of the collision graph, components


#: Bytes a piece of a shuffle of the graph, and of the decisions, should hold at least, and what a
#: row of the graph and a decision take (about): Ray keeps a task's return value under 100 KB in
#: its owner's memory, which is the driver's, so pieces are sized to go to the object store
#: instead, whatever the corpus (and not much larger: a block fetches its range's decisions).
PIECE_BYTES, DECISION_PIECE_BYTES, GRAPH_ROW_BYTES, DECISION_BYTES = 1 << 20, 256 << 10, 80, 60
#: Keys an article has at most with the default parameters (its id, its text key, its band keys).
KEYS_PER_ARTICLE = 11
#: The map's place of a row (`_order`): its file number above these bits.
SEQ_BITS = 32


def pieces_for(size_bytes: int, most: int) -> int:
    """Pieces per shuffle for `size_bytes` of rows: a piece from each of n tasks to each of n is
    size / n² bytes, at least PIECE_BYTES; at least 1, at most `most`."""
    return max(1, min(most, math.isqrt(max(0, size_bytes) // PIECE_BYTES)))


def resolve_in_cluster(blocks: list, shuffle_keys: Callable[[pa.Table], pa.Table], starts: np.ndarray, parts: int,
                       graph_parts: int | None = None, ranges: int | None = None) -> Resolved:
    """Resolve the duplicates among the articles of `blocks` (references of the map's output
    tables, whose key rows `shuffle_keys` gives) inside the cluster. `parts`: pieces of the shuffle
    of all keys; `graph_parts`: of the shuffles of the collision graph, and `ranges`: ranges of
    decisions, chosen from the graph's size where not given (at most `parts`, and at most one
    range per entry of `starts`, the orders where a range may begin: the map tasks' first)."""
    import ray

    if not blocks:
        return Resolved(bounds=starts[:1])

    @ray.remote
    def keys_of(n: int, *group: pa.Table) -> tuple:
        return _many(split(_concat([shuffle_keys(b) for b in group]), "key", n))

    @ray.remote(num_returns=2)
    def shared_of(*pieces: pa.Table) -> tuple[pa.Table, int]:
        table = shared(list(pieces))
        return table, table.num_rows

    @ray.remote
    def spread_by_key(n: int, *pieces: pa.Table) -> tuple:
        return _many(split(by_key(_concat(pieces)), "order", n))

    @ray.remote(num_returns=2)
    def spread_by_article(*pieces: pa.Table) -> tuple[pa.Table, int]:
        return by_article(_concat(pieces))

    @ray.remote
    def ask_of(n: int, table: pa.Table) -> tuple:
        return _many(split(jump_requests(table), "at", n))

    @ray.remote
    def answer_of(n: int, table: pa.Table, *requests: pa.Table) -> tuple:
        return _many(split(jump_answers(table, _concat(requests)), "order", n))

    @ray.remote
    def jump_of(table: pa.Table, *answers: pa.Table) -> pa.Table:
        return jumped(table, _concat(answers))

    @ray.remote
    def split_by(n: int, table: pa.Table, column: str) -> tuple:
        return _many(split(table, column, n))

    @ray.remote
    def decide_of(bounds: np.ndarray, *pieces: pa.Table) -> tuple:
        table = _concat(pieces)
        decisions, exact, near = decide(table)
        return (*by_range(decisions, bounds), (exact, near))

    def each(fn, n: int, *args):  # a task returning n pieces, as a list of n references
        return _listed(fn.options(num_returns=n).remote(n, *args), n)

    # a few blocks a task, so that the pieces are few and large whatever the number of blocks
    groups = np.array_split(np.arange(len(blocks)), min(len(blocks), 2 * parts))
    keyed = [each(keys_of, parts, *[blocks[i] for i in g]) for g in groups]
    first = [shared_of.remote(*[k[p] for k in keyed]) for p in range(parts)]  # the graph's rows, by key
    graph_rows = sum(ray.get([f[1] for f in first]))
    n = graph_parts or pieces_for(graph_rows * GRAPH_ROW_BYTES, parts)
    out = Resolved(bounds=np.empty(0, np.int64))
    current = [[f[0]] for f in first]
    del keyed, first  # a step's pieces leave the object store once the next step has them
    while True:
        out.rounds += 1
        spread = [each(spread_by_key, n, *pieces) for pieces in current]
        results = [spread_by_article.remote(*[s[q] for s in spread]) for q in range(n)]
        tables = [r[0] for r in results]
        if sum(ray.get([r[1] for r in results])) == 0:
            break
        # pointer jumping: an article takes its label's label, so that a chain of near copies
        # settles in about log2 of its length rounds, not one round per link
        asks = [each(ask_of, n, t) for t in tables]
        answers = [each(answer_of, n, tables[q], *[a[q] for a in asks]) for q in range(n)]
        tables = [jump_of.remote(tables[q], *[a[q] for a in answers]) for q in range(n)]
        pieces_by_key = [each(split_by, n, t, "key") for t in tables]
        current = [[s[p] for s in pieces_by_key] for p in range(n)]
    # ranges of whole map tasks; as many as keep the decisions' pieces large (counted low: an article
    # has at most KEYS_PER_ARTICLE rows in the graph, so at least graph_rows / that many collide)
    r = min(len(starts), ranges or max(1, graph_rows // KEYS_PER_ARTICLE * DECISION_BYTES // (n * DECISION_PIECE_BYTES)))
    out.bounds = starts[[int(g[0]) for g in np.array_split(np.arange(len(starts)), r)]] if len(starts) else starts
    by_label = [each(split_by, n, t, "label") for t in tables]
    del current, spread, results, tables
    decided = [decide_of.options(num_returns=len(out.bounds) + 1).remote(out.bounds, *[s[p] for s in by_label])
               for p in range(n)]
    out.pieces = [[d[k] for d in decided] for k in range(len(out.bounds))]
    for exact, near in ray.get([d[len(out.bounds)] for d in decided]):
        out.exact += exact
        out.near += near
    out.counts.update(graph_rows=graph_rows, graph_parts=n, ranges=len(out.bounds))
    return out


def decisions_for(orders: np.ndarray, resolved_bounds: np.ndarray, pieces: list[list]) -> Decisions:
    """In a task: the decisions of the ranges `orders` fall in, fetched from the object store."""
    import ray

    if not len(orders):
        return Decisions()
    low, high = int(orders.min()) >> SEQ_BITS << SEQ_BITS, int(orders.max())  # from its first file's start: renamed mains
    first, last = (int(np.searchsorted(resolved_bounds, v, side="right")) - 1 for v in (low, high))
    refs = [ref for r in range(max(first, 0), last + 1) for ref in pieces[r]]
    if not refs:
        return Decisions()
    table = pa.concat_tables(ray.get(refs))
    return Decisions(table.filter(pc.and_(pc.greater_equal(table["order"], low), pc.less_equal(table["order"], high))))


def _many(tables: list[pa.Table]) -> tuple:
    return tuple(tables) if len(tables) > 1 else tables[0]


def _listed(refs, n: int) -> list:
    return list(refs) if n > 1 else [refs]


def _concat(pieces) -> pa.Table:
    return pa.concat_tables(list(pieces)) if len(pieces) != 1 else pieces[0]


__all__ = ["BAND", "DECISION", "KEYS_PER_ARTICLE", "jump_answers", "jump_requests", "jumped", "pieces_for", "ID", "TEXT", "Decisions", "Resolution", "Resolved", "resolve", "by_article", "by_key", "by_range", "decide", "decisions_for", "marked",
           "piece_of", "resolve_in_cluster", "shared", "split"]
