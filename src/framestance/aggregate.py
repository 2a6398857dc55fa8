"""Stage 4c: gold labels, one row per annotated article, from the submitted annotations.

Two methods:

* `majority`: the label most annotators gave (support: their share); a frame is present when more
  than half of the article's annotators marked it.
* `dawid-skene`: crowd-kit's Dawid-Skene EM, per dimension (each frame a binary one), which
  weighs annotators by their estimated confusion matrices; support is the posterior probability.
  It refuses data it cannot fit: fewer than three annotators (two cannot be told apart) or fewer
  than `ds_min_items` items for some annotator (its confusion matrix would be a guess).

Consistent by construction, whatever the method:
* a label is always one that some annotator of that article gave;
* a tie, or a label whose support is below `min_support`, is `unresolved` (frames: listed in
  `frames_unresolved`), never guessed; the tie rule `unresolved` is the only one (the former
  `codebook_order` always resolved ties toward the codebook's first labels: a bias);
* the gold primary frame is one of the gold frames, else `unresolved`;
* an article with fewer than `min_annotators` annotators gets `unresolved` everywhere.
Every `unresolved` counts toward `quality.max_unresolved_share`.

Spans are consolidated per article, kind and label: the words that more than half of the
article's annotators covered with that label, merged into runs of consecutive words. Drafts and
cancelled annotations never count. The disaggregated tables stay as they are.
"""

from __future__ import annotations

import re
import warnings
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from .codebook import Codebook
from .config import AggregateConfig, QualityConfig
from .errors import FramestanceError
from .schema import ADJUDICATED, GOLD_SPAN, UNRESOLVED, gold_schema, submitted

METHODS = ("majority", "dawid-skene")
TIE_RULES = ("unresolved",)
_WORD = re.compile(r"\S+")


class AggregateError(FramestanceError, ValueError):
    pass


def _majority(long: pd.DataFrame, order: list[str], tie: str) -> dict[str, tuple[str, float]]:
    """task -> (label, support) by plurality, vectorised; a tie is `unresolved`."""
    if long.empty:
        return {}
    c = long.groupby(["task", "label"], sort=False).size().rename("k").reset_index()
    rank = {lab: i for i, lab in enumerate(order)}
    c["rank"] = c["label"].map(rank).fillna(len(rank))
    g = c.groupby("task")["k"]
    c["total"], c["top"] = g.transform("sum"), g.transform("max")
    best = c[c["k"] == c["top"]].copy()
    best["n_best"] = best.groupby("task")["label"].transform("size")
    best = best.sort_values(["task", "rank", "label"], kind="stable").drop_duplicates("task")
    label = best["label"].where(best["n_best"] == 1, UNRESOLVED)
    support = (best["k"] / best["total"]).round(4)
    return dict(zip(best["task"], zip(label, support)))


def _frame_votes(ann: pd.DataFrame, tie: str) -> dict[tuple[str, str], tuple[str, float]]:
    """(article, frame) -> (present | absent | unresolved, share of annotators marking it)."""
    n = ann.groupby("article_id")["annotator"].nunique().to_dict()
    marked = ann[["article_id", "annotator", "frames"]].explode("frames").dropna(subset=["frames"])
    marked = marked.drop_duplicates()
    yes = marked.groupby(["article_id", "frames"]).size()
    out = {}
    for (a, f), k in yes.items():
        total = int(n[a])
        if 2 * k > total:
            out[(a, f)] = ("present", round(k / total, 4))
        elif 2 * k == total:
            out[(a, f)] = (UNRESOLVED, round(k / total, 4))
    return out


def _dawid_skene(long: pd.DataFrame, min_items: int = 0, name: str = "") -> dict[str, tuple[str, float]]:
    """article -> (label, posterior) for one dimension; `long` has task, worker, label.

    The label is the most probable among those the article's annotators gave (EM may favour a
    label nobody chose); equal posteriors are `unresolved`."""
    from crowdkit.aggregation import DawidSkene

    if long.empty:
        return {}
    items = long.groupby("worker")["task"].nunique()
    if len(items) < 3:
        raise AggregateError(f"dawid-skene needs at least 3 annotators ({name}: {len(items)}); two cannot be told "
                             "apart: use aggregate.method majority")
    if items.min() < min_items:
        worker = items.idxmin()
        raise AggregateError(f"dawid-skene needs at least {min_items} items per annotator ({name}: {worker} has "
                             f"{int(items.min())}; params.yaml aggregate.ds_min_items): use aggregate.method majority")
    long = long.sort_values(["task", "worker", "label"], kind="stable").reset_index(drop=True)
    given = long.groupby("task")["label"].agg(lambda s: set(s)).to_dict()
    with warnings.catch_warnings():  # crowd-kit 1.4.2 uses pandas arguments pandas 3 deprecates
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        proba = DawidSkene(n_iter=100).fit_predict_proba(long)
    proba = proba.reindex(columns=sorted(proba.columns))
    out = {}
    for task, row in proba.iterrows():
        row = row[[c for c in row.index if c in given[task]]].sort_values(ascending=False, kind="stable")
        label = str(row.index[0])
        if len(row) > 1 and abs(float(row.iloc[0]) - float(row.iloc[1])) < 1e-6:
            label = UNRESOLVED
        out[str(task)] = (label, round(float(row.iloc[0]), 4))
    return out


def gold_labels(annotations: pd.DataFrame, stances: pd.DataFrame, cb: Codebook, method: str = "majority",
                tie: str = "unresolved", *, min_annotators: int = 1, min_support: float = 0.0,
                ds_min_items: int = 20) -> pa.Table:
    if method not in METHODS:
        raise AggregateError(f"method {method!r}: use one of {', '.join(METHODS)}")
    if tie == "codebook_order":
        raise AggregateError("tie rule 'codebook_order' (params.yaml aggregate.tie) was removed: it always broke ties "
                             "toward the codebook's first label, a bias; use `unresolved` and adjudicate the ties")
    if tie not in TIE_RULES:
        raise AggregateError(f"tie rule {tie!r} (params.yaml aggregate.tie): use one of {', '.join(TIE_RULES)}")
    ann = submitted(annotations)
    ann = ann[~ann["article_id"].isin(list(cb.gold))]  # hidden gold questions are not corpus articles
    ann = ann.sort_values(["article_id", "annotator", "annotation_id"], kind="stable")
    ann = ann.drop_duplicates(["article_id", "annotator"], keep="first")  # as agreement does (codebooks may allow more)
    keep = set(ann["annotation_id"])
    st = submitted(stances)
    st = st[st["annotation_id"].isin(keep)]
    frame_order = cb.frame_ids()
    tone_order = [t.id for t in cb.tone]
    value_order = [v.id for v in cb.stance_values]
    targets = [t.id for t in cb.targets]

    articles = sorted(ann["article_id"].unique())
    n_ann = ann.groupby("article_id")["annotator"].nunique().to_dict()
    sha = ann.groupby("article_id")["text_sha256"].last().to_dict()
    rows = {a: {"article_id": a, "text_sha256": sha.get(a), "method": method, "n_annotators": int(n_ann[a])}
            for a in articles}

    # single-label dimensions as long (task, worker, label) tables
    dims: dict[str, tuple[pd.DataFrame, list[str]]] = {
        "primary_frame": (ann[["article_id", "annotator", "primary_frame"]].dropna()
                          .set_axis(["task", "worker", "label"], axis=1), frame_order),
        "tone": (ann[["article_id", "annotator", "tone"]].dropna().set_axis(["task", "worker", "label"], axis=1), tone_order),
    }
    for t in targets:
        part = st[st["target"] == t][["article_id", "annotator", "value"]].dropna()
        dims[f"stance_{t}"] = (part.set_axis(["task", "worker", "label"], axis=1), value_order)
    for col, (long, order) in dims.items():
        if method == "dawid-skene":
            res = _dawid_skene(long, ds_min_items, col)
        else:
            res = _majority(long, order, tie)
        for a in articles:
            label, support = res.get(a, (None, None))
            if label is not None and support is not None and support < min_support:
                label = UNRESOLVED  # too little support to call it
            rows[a][col], rows[a][f"{col}_support"] = label, support

    # frames: one binary decision per codebook frame
    for r in rows.values():
        r["frames"], r["frames_support"], r["frames_unresolved"] = [], [], []
    if method == "dawid-skene":
        marked = {(a, w): set(fs) for a, w, fs in zip(ann["article_id"], ann["annotator"], ann["frames"])}
        decided = {}
        for f in frame_order:
            long = pd.DataFrame([(a, w, "present" if f in fs else "absent") for (a, w), fs in marked.items()],
                                columns=["task", "worker", "label"])
            decided.update({(a, f): v for a, v in _dawid_skene(long, ds_min_items, f"frame {f}").items()})
    else:
        decided = _frame_votes(ann, tie)
    rank = {f: i for i, f in enumerate(frame_order)}
    for (a, f), (label, support) in sorted(decided.items(), key=lambda kv: (kv[0][0], rank.get(kv[0][1], len(rank)))):
        if a in rows and f in rank:  # codebook order within each article's lists
            if label == "present" and support >= min_support:
                rows[a]["frames"].append(f)
                rows[a]["frames_support"].append(support)
            elif label == UNRESOLVED or label == "present":
                rows[a]["frames_unresolved"].append(f)
    # soft labels: each label's share of the article's annotators, in codebook order
    totals = np.array([rows[a]["n_annotators"] for a in articles], dtype=np.float64)

    def shares(long: pd.DataFrame, order: list[str], col: str) -> None:
        counts = (long.groupby(["task", "label"]).size().unstack(fill_value=0)
                  .reindex(index=articles, columns=order, fill_value=0).to_numpy(np.float64))
        for a, votes in zip(articles, (counts / totals[:, None]).round(4).tolist()):
            rows[a][f"{col}_votes"] = votes

    for col, (long, order) in dims.items():
        shares(long, order, col)
    marked = ann[["article_id", "annotator", "frames"]].explode("frames").dropna(subset=["frames"]).drop_duplicates()
    shares(marked.set_axis(["task", "worker", "label"], axis=1), frame_order, "frames")
    single = ["primary_frame", "tone", *(f"stance_{t}" for t in targets)]
    for r in rows.values():
        if r["primary_frame"] not in (None, UNRESOLVED) and r["primary_frame"] not in r["frames"]:
            r["primary_frame"] = UNRESOLVED  # a primary frame that is not a gold frame is no decision
        if r["n_annotators"] < min_annotators:  # too few people to call anything
            for col in single:
                if r[col] is not None:
                    r[col] = UNRESOLVED
            r["frames_unresolved"] = sorted({*r["frames"], *r["frames_unresolved"]}, key=lambda f: rank.get(f, len(rank)))
            r["frames"], r["frames_support"] = [], []
    for r in rows.values():
        for col in (*single, "frames"):
            r[f"{col}_source"] = method if (r.get(col) is not None) else None
    _adjudicate(rows, annotations, stances, cb, frame_order, tone_order, value_order, targets)
    return pa.Table.from_pylist([rows[a] for a in articles], schema=gold_schema(targets))


def _adjudicate(rows: dict, annotations: pd.DataFrame, stances: pd.DataFrame, cb: Codebook, frame_order: list[str],
                tone_order: list[str], value_order: list[str], targets: list[str]) -> None:
    """An adjudicator's decision replaces the vote, label by label (`*_source` = adjudicated);
    support stays the share of the annotators who gave that label. The newest decision counts."""
    adj = annotations[annotations["status"] == ADJUDICATED]
    if adj.empty:
        return
    adj = adj.sort_values(["article_id", "annotation_id"], kind="stable").drop_duplicates("article_id", keep="last")
    adj = adj[adj["article_id"].isin(list(rows))]
    st = stances[(stances["status"] == ADJUDICATED) & stances["annotation_id"].isin(set(adj["annotation_id"]))]
    stance_of = {(a, t): v for a, t, v in zip(st["article_id"], st["target"], st["value"])}

    def share(r: dict, col: str, order: list[str], label: str | None) -> float | None:
        return r[f"{col}_votes"][order.index(label)] if label in order else None

    for a, primary, frames, tone in zip(adj["article_id"], adj["primary_frame"], adj["frames"], adj["tone"]):
        r = rows[a]
        decided = [(col, label, order) for col, label, order in
                   [("primary_frame", primary, frame_order), ("tone", tone, tone_order),
                    *((f"stance_{t}", stance_of.get((a, t)), value_order) for t in targets)]
                   if isinstance(label, str)]
        for col, label, order in decided:
            r[col], r[f"{col}_support"], r[f"{col}_source"] = label, share(r, col, order, label), "adjudicated"
        marked = [f for f in frame_order if f in set(frames if frames is not None else [])]
        r["frames"], r["frames_unresolved"], r["frames_source"] = marked, [], "adjudicated"
        r["frames_support"] = [share(r, "frames", frame_order, f) or 0.0 for f in marked]


def gold_spans(annotations: pd.DataFrame, spans: pd.DataFrame, texts: Mapping[str, str]) -> pa.Table:
    """Spans a majority of each article's annotators marked (per kind and label), word by word."""
    ann = submitted(annotations)
    n_ann = ann.groupby("article_id")["annotator"].nunique().to_dict()
    sp = submitted(spans)
    sp = sp[sp["annotation_id"].isin(set(ann["annotation_id"]))]
    words: dict[str, tuple[list[tuple[int, int]], list[int], list[int]]] = {}
    votes: dict[tuple[str, str, str], dict[int, set[str]]] = defaultdict(lambda: defaultdict(set))
    cols = [sp[c].to_numpy(dtype=object) for c in ("article_id", "annotator", "kind", "label", "start", "end")]
    for a, who, kind, label, s, e in zip(*cols):
        if a not in texts or pd.isna(s) or pd.isna(e):
            continue
        if a not in words:
            bounds = [m.span() for m in _WORD.finditer(texts[a])]
            words[a] = (bounds, [b[0] for b in bounds], [b[1] for b in bounds])
        _bounds, starts, ends = words[a]
        # the words overlapping [s, e): ending after s, starting before e
        for i in range(bisect_right(ends, s), bisect_left(starts, e)):
            votes[(a, kind, label)][i].add(who)
    rows = []
    for (a, kind, label), by_word in sorted(votes.items()):
        n = int(n_ann[a])
        kept = sorted(i for i, who in by_word.items() if 2 * len(who) > n)
        run: list[int] = []
        for i in [*kept, -1]:  # -1 closes the last run
            if run and (i < 0 or i != run[-1] + 1):
                start, end = words[a][0][run[0]][0], words[a][0][run[-1]][1]
                support = sum(len(by_word[j]) for j in run) / (n * len(run))
                rows.append({"article_id": a, "kind": kind, "label": label, "start": start, "end": end,
                             "text": texts[a][start:end], "support": round(support, 4)})
                run = []
            if i >= 0:
                run.append(i)
    return pa.Table.from_pylist(rows, schema=GOLD_SPAN)


def unresolved_shares(gold: pa.Table, cb: Codebook) -> dict[str, float]:
    """Share of articles whose label is `unresolved`, per single-label dimension (and frames)."""
    df = gold.to_pandas()
    if df.empty:
        return {}
    out = {"primary_frame": float((df["primary_frame"] == UNRESOLVED).mean()),
           "tone": float((df["tone"] == UNRESOLVED).mean()),
           "frames": float(df["frames_unresolved"].map(len).gt(0).mean())}
    for t in cb.targets:
        out[f"stance:{t.id}"] = float((df[f"stance_{t.id}"] == UNRESOLVED).mean())
    return {k: round(v, 4) for k, v in out.items()}


def gate_failures(alphas: Mapping[str, float | None], unresolved: Mapping[str, float], quality: Mapping) -> list[str]:
    """One message per dimension below its threshold (params.yaml `quality`). Keys of `min_alpha`
    are dimension names as in the agreement metrics (`primary_frame`, `tone`, `frames_masi`,
    `stance:<target>`, `frames:<frame>`), or a prefix with `*` (`stance:*`). With
    `gate_on: lower`, `alphas` hold the lower ends of the 95% intervals."""
    what = "the lower end of the 95% interval of alpha" if quality.get("gate_on") == "lower" else "alpha"
    msgs = []
    for key, minimum in sorted((quality.get("min_alpha") or {}).items()):
        names = [d for d in alphas if d.startswith(key[:-1])] if key.endswith("*") else [key]
        if not names:
            msgs.append(f"quality gate: no agreement figure for {key!r} (params.yaml quality.min_alpha; "
                        "dimension names as in metrics/agreement.json)")
        for d in sorted(names):
            a = alphas.get(d)
            if d not in alphas:
                msgs.append(f"quality gate: no agreement figure for {d!r} (params.yaml quality.min_alpha; "
                            "dimension names as in metrics/agreement.json)")
            elif a is None:
                msgs.append(f"quality gate: {what} for {d} is undefined (too few paired labels), minimum {minimum}")
            elif a < minimum:
                msgs.append(f"quality gate: {what} for {d} is {a:.3f}, below the minimum {minimum} (params.yaml quality.min_alpha.{key})")
    limit = quality.get("max_unresolved_share")
    if limit is not None:
        for d, share in sorted(unresolved.items()):
            if share > limit:
                msgs.append(f"quality gate: {share:.0%} of articles have an unresolved {d} label, above the maximum "
                            f"{limit:.0%} (params.yaml quality.max_unresolved_share)")
    return msgs


@dataclass(frozen=True)
class AggregateReport:
    gate_failures: list[str]  # quality gates missed: nothing was written
    gold: pa.Table | None = None
    spans: pa.Table | None = None
    paths: dict[str, Path] = field(default_factory=dict)


def run(tables: Mapping[str, pd.DataFrame], cb: Codebook, config: AggregateConfig, quality: QualityConfig,
        out: Path) -> AggregateReport:
    """Gold labels and consolidated spans from checked tables; the quality gates of `quality`; the
    gold tables checked against their own schema; written to OUT only when all of that holds."""
    from . import agreement as ag
    from .io import write_table
    from .validate import nullable_ints
    from .validate import validate as check

    failed = check(dict(tables), cb, min_annotators=quality.min_annotators).counts()
    if failed:  # gold labels are never made from tables that validation rejects
        shown = "; ".join(f"{t}: {c} ({n} rows)" for t, c, n in failed[:8])
        raise AggregateError(f"refusing to aggregate: the tables fail validation: {shown} (run `framestance validate`)")
    texts = dict(zip(tables["articles"]["article_id"], tables["articles"]["text"]))
    texts = {a: t for a, t in texts.items() if a not in cb.gold}  # no consolidated spans on gold questions
    gold = gold_labels(tables["annotations"], tables["stances"], cb, method=config.method, tie=config.tie,
                       min_annotators=quality.min_annotators, min_support=config.min_support,
                       ds_min_items=config.ds_min_items)
    spans = gold_spans(tables["annotations"], tables["spans"], texts)
    if quality.gate_on not in ("point", "lower"):
        raise AggregateError(f"quality.gate_on {quality.gate_on!r}: use point or lower")
    lower = quality.gate_on == "lower"
    metrics = ag.compute(tables["annotations"], tables["stances"], tables["spans"], cb, None,
                         resamples=1000 if lower else 0)
    alphas = {r["dimension"]: (r["ci95"][0] if r["ci95"] else None) if lower else r["alpha"]
              for r in ag.summary_rows(metrics)}
    problems = gate_failures(alphas, unresolved_shares(gold, cb), asdict(quality))
    if quality.min_gold_accuracy is not None:
        for who, p in sorted(metrics["annotators"].items()):
            if p.get("gold_tasks") and p["gold_accuracy"] is not None and p["gold_accuracy"] < quality.min_gold_accuracy:
                problems.append(f"quality gate: {who} answered {p['gold_accuracy']:.0%} of the gold questions right "
                                f"({p['gold_tasks']} questions), below the minimum {quality.min_gold_accuracy:.0%} "
                                "(params.yaml quality.min_gold_accuracy)")
    if problems:
        return AggregateReport(problems)
    own = check({"articles": tables["articles"], "gold": gold.to_pandas(types_mapper=nullable_ints),
                 "gold_spans": spans.to_pandas(types_mapper=nullable_ints)}, cb)
    wrong = [c for c in own.counts() if c[0] in ("gold", "gold_spans")]  # the corpus is validate's business
    if wrong:  # a bug, not a user mistake: say which check failed
        raise AggregateError(f"the gold labels fail their own schema: {wrong[:5]}")
    paths = {name: write_table(t, out / f"{name}.parquet") for name, t in (("gold", gold), ("gold_spans", spans))}
    return AggregateReport([], gold, spans, paths)

