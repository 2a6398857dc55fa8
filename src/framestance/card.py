"""The dataset card (README.md) of a published version: a YAML header generated through the
`datasets` / `huggingface_hub` card API (configs, data_files, features with ClassLabel names,
exact split sizes), and a datasheet body (Gebru et al.) written from the data, the codebook and
the agreement metrics. No clock time goes in: the same inputs give the same bytes."""

from __future__ import annotations

import re
from collections import Counter

import pyarrow as pa
import pyarrow.compute as pc

from .agreement import format_interval, summary_rows
from .codebook import Codebook
from .schema import SUBMITTED, UNRESOLVED

TASKS = ["text-classification", "token-classification"]
# frames: multi-label; primary frame, tone and stance: one class each (stance is not sentiment)
TASK_IDS = ["multi-label-classification", "multi-class-classification"]


def _size_category(n: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n < limit:
            return name
    return "1M<n<10M"


def header(opts, feats: dict, data_files: dict, languages: list[str], sizes: dict | None = None) -> str:
    from datasets import DatasetInfo
    from datasets.info import DatasetInfosDict
    from datasets.splits import SplitDict, SplitInfo
    from huggingface_hub import DatasetCardData

    configs = []
    infos = {}
    for config, files in data_files.items():
        configs.append({"config_name": config, "default": config == "default",
                        "data_files": [{"split": s, "path": p} for s, (p, _n) in files.items()]})
        splits = SplitDict()
        size = (sizes or {}).get(config, {})
        for s, (_p, n) in files.items():
            splits.add(SplitInfo(s, num_examples=n, num_bytes=size.get(s, (0, 0))[0]))
        infos[config] = DatasetInfo(features=feats[config], splits=splits, config_name=config,
                                    dataset_size=sum(b for b, _ in size.values()),
                                    download_size=sum(d for _, d in size.values()))
    n_corpus = sum(n for _p, n in data_files.get("corpus", {}).values())
    data = DatasetCardData(
        license=opts.study.license or "unknown", language=languages or None, pretty_name=opts.study.title or opts.name,
        task_categories=TASKS, task_ids=TASK_IDS,
        annotations_creators=list(opts.study.annotations_creators), language_creators=["found"],
        multilinguality=["multilingual" if len(languages) > 1 else "monolingual"], source_datasets=["original"],
        size_categories=[_size_category(n_corpus)], tags=["framing", "stance-detection", "news", "media-frames"],
        configs=configs, version=opts.version,
    )
    DatasetInfosDict(infos).to_dataset_card_data(data)
    return "---\n" + data.to_yaml() + "\n---\n"


def _table(head: list[str], rows: list[list]) -> str:
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def _fmt(x) -> str:
    return "undefined" if x is None else f"{x:.3f}"


def _distribution(splits: dict, column: str, names: list[str]) -> Counter:
    c: Counter = Counter()
    for t in splits.get("default", {}).values():
        for v in t[column].to_pylist():
            for i in (v if isinstance(v, list) else [v]):
                if i is not None:
                    c[names[i]] += 1
    return c


def weak_text(rows: list[dict] | None) -> str:
    """The limitation about agreement (`agreement.summary_rows`), naming the dimensions below the
    tentative level (0.667)."""
    if not rows:
        return "- No agreement figures were given: how reliable the labels are is not known."
    weak = [r for r in rows if not r["dimension"].startswith("frames:") and (r["alpha"] is None or r["alpha"] < 0.667)]
    if not weak:
        return "- Every aggregate dimension reaches alpha 0.667; per-frame figures are in the agreement table."
    named = ", ".join(f"{r['dimension']} ({_fmt(r['alpha'])}, n {r['n_units']})" for r in weak)
    return f"- Agreement is below 0.667 (or undefined) for: {named}. Use those labels with care, or re-annotate."


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f} %"


def selection_section(inp, cb: Codebook) -> list[str]:
    """How the articles came into the sample, and the design-weighted shares it supports."""
    from .estimate import population, shares
    from .schema import NOT_RELEVANT, RELEVANT

    if not inp.rounds or inp.selection is None:
        return ["## Selection", "",
                "No selection rounds were recorded (`framestance select`): the annotated articles are not a "
                "probability sample of a stated population, so the label distributions below describe the "
                "sample only.", ""]
    recs = inp.rounds
    sel = inp.selection.to_pylist()
    first = recs[0]
    order = f"within strata of {first.stratify}" if first.stratify else "in one seeded random order"
    design = ("every round is a probability sample" if first.design == "sample" else
              "a relevance model in the loop (TF-IDF and logistic regression, trained on the relevance labels pulled "
              "so far, the annotators' 'not about the issue' included) fills each round beyond its probability part "
              "(at least a fixed share of the round; round 1 is all probability sample)")
    last = recs[-1]
    lines = ["## Selection", "",
             f"The population is every hit of the study's query in the corpus: `{first.query}` "
             f"({first.hits} articles, duplicates excluded; search by tantivy, BM25). Design: {design}. "
             f"Every hit got a permanent random number before any label (spread evenly {order}, seed {first.seed}); "
             "round r added to the probability sample the hits whose number is below a threshold t_r. So the "
             f"probability sample after round {last.round} is a systematic sample of the hits in which every hit had "
             f"the same inclusion probability, t = {last.threshold:.4f}, whatever the model chose. In the `default` "
             "config, `selection_round` and `selection_part` say how each article came in, `in_probability_sample` "
             "whether it is a member, and a member's `inclusion_probability` is t (weight members by 1/t; the "
             "model's picks outside the sample have none and no weight).", "",
             _table(["round", "hits not yet selected", "by the model", "into the probability sample", "threshold t", "model version"],
                    [[r.round, r.pool, r.model_part, r.probability_part, f"{r.threshold:.4f}",
                      r.model_version or (f"none: {r.fallback}" if r.fallback else "none")] for r in recs]), ""]
    gold = inp.gold.to_pylist()
    in_sel = {r["article_id"] for r in sel}
    relevant = {g["article_id"]: int(g["relevance"] == RELEVANT) for g in gold
                if g["article_id"] in in_sel and g.get("relevance") in (RELEVANT, NOT_RELEVANT)}
    pop = population(sel, recs, relevant)
    outside = sum(1 for g in gold if g["article_id"] not in in_sel)
    lines += [f"The probability sample has {pop.sample} members, {pop.labelled} with a gold relevance label "
              f"({pop.sample - pop.labelled} not labelled yet, or unresolved: left out of the estimates); "
              f"{len(sel) - pop.sample} more selected articles came by the model"
              + (f"; {outside} annotated articles were not selected by these rounds" if outside else "")
              + ". Relevant articles among the hits, estimated: "
              + (f"{pop.relevant:.0f} (95 % interval {pop.relevant_low:.0f}-{pop.relevant_high:.0f})" if pop.relevant is not None else "-")
              + ".", "",
              "Shares of each label among the relevant articles of the population: a Hajek ratio over the probability "
              "sample (every member weighs 1/t), with a 95 % Wilson interval at the design's effective sample size "
              "(`estimate.py`); n: its relevant members with a resolved gold label on the dimension. Beside it, the "
              "unweighted share among every labelled relevant article selected (the model's picks included), "
              "which is what a reader of the sample alone would see.", ""]
    dims = [("primary_frame", [f.id for f in cb.frames]), ("frames", [f.id for f in cb.frames]),
            ("tone", [t.id for t in cb.tone])] + [(f"stance_{t.id}", [v.id for v in cb.stance_values]) for t in cb.targets]
    rows = []
    for col, values in dims:
        if not gold or col not in gold[0]:
            continue
        labels: dict[str, set[str]] = {}
        for g in gold:
            v = g.get(col)
            if g["article_id"] in relevant and relevant[g["article_id"]] and v is not None and v != UNRESOLVED:
                labels[g["article_id"]] = set(v) if isinstance(v, list) else {v}
        for sh in shares(sel, recs, relevant, labels, values):
            ci = f"{_pct(sh.estimate)} [{_pct(sh.low)}, {_pct(sh.high)}]" if sh.estimate is not None else "-"
            rows.append([col, sh.value, ci, _pct(sh.unweighted), sh.n])
    lines += [_table(["dimension", "value", "weighted share [95 % CI]", "unweighted", "n"], rows), ""]
    return lines


ASK = "**To fill in** (params.yaml `study.{key}`): {what}."
KIND_TEXT = {
    "text": "plain-text dumps of rendered pages (\"select all\" on an article page): site chrome, comment boxes "
            "and app promos dropped, photo captions and credits moved out of the body, sentences broken at inline "
            "links re-joined, byline, outlet, syndication source, kicker and date read from the page's header",
    "html": "HTML pages: the main text by trafilatura, metadata from JSON-LD / OpenGraph, the publication day "
            "by htmldate",
    "warc": "WARC records of a crawl (their HTTP responses read as HTML pages, the record's target URL and date kept)",
}
KIND_NAME = {"text": "text dumps of rendered pages", "html": "HTML pages", "records": "crawler records",
             "warc": "WARC records"}


def kind_name(kind: str) -> str:
    return KIND_NAME.get(kind, kind)


def _ask(value, key: str, what: str) -> str:
    """The study's answer as a sentence, or the request for it."""
    if value in (None, "", []):
        return ASK.format(key=key, what=what)
    text = str(value).strip()
    return text if text.endswith((".", "!", "?", ")")) else text + "."


def released_languages(codes: list[str | None], min_share: float) -> tuple[list[str], Counter]:
    """The languages a card may claim: each at least `min_share` of the released articles (a
    misdetected page does not make a corpus multilingual); with the counts of all."""
    counts = Counter(c or "unknown" for c in codes)
    total = sum(counts.values()) or 1
    return sorted(c for c, n in counts.items() if c != "unknown" and n / total >= min_share), counts


def gold_sources(gold: pa.Table, columns: list[str]) -> list[list]:
    """Per label column: how many released gold labels were voted, adjudicated, left unresolved,
    or not applicable (the article is not about the issue)."""
    rows = []
    for col in columns:
        if col not in gold.column_names:
            continue
        src = gold[f"{col}_source"].to_pylist() if f"{col}_source" in gold.column_names else [None] * gold.num_rows
        vals = gold[col].to_pylist()
        unresolved = sum(1 for v in vals if v == UNRESOLVED)
        adjudicated = sum(1 for v, s_ in zip(vals, src) if s_ == "adjudicated" and v != UNRESOLVED)
        voted = sum(1 for v, s_ in zip(vals, src) if s_ not in (None, "adjudicated") and v not in (None, UNRESOLVED, []))
        if col == "frames":  # a list: unresolved frames are listed in frames_unresolved
            unresolved = sum(1 for v in gold["frames_unresolved"].to_pylist() if v)
            voted = sum(1 for v, s_ in zip(vals, src) if s_ not in (None, "adjudicated") and v)
        rows.append([col, voted, adjudicated, unresolved, gold.num_rows - voted - adjudicated - (0 if col == "frames" else unresolved)])
    return rows


def shown_outlet(spellings: Counter) -> str:
    """An outlet's name as the card shows it: its most frequent spelling, a name written out
    ("The Daily Caller") before a key-like one ("thedailycaller")."""
    return max(spellings.items(), key=lambda x: (x[1], any(c.isupper() or c == " " for c in x[0]), x[0]))[0]


def _day(ts) -> str:
    return ts.strftime("%Y-%m-%d")


def date_range(values: list) -> str:
    dated = [v for v in values if v is not None]
    if not dated:
        return f"none of the {len(values)} has a publication date"
    undated = len(values) - len(dated)
    return (f"{_day(min(dated))} to {_day(max(dated))}"
            + (f" ({undated} of {len(values)} without a date)" if undated else f" (all {len(values)} dated)"))


def time_spent(lead_times: list[float | None]) -> str:
    times = sorted(t for t in lead_times if t is not None and t >= 0)
    if not times:
        return "Label Studio recorded no time for these annotations."
    median = times[len(times) // 2] if len(times) % 2 else (times[len(times) // 2 - 1] + times[len(times) // 2]) / 2
    return (f"Time on the labeling page, as Label Studio records it (`lead_time`, in the `annotations` config): "
            f"{sum(times) / 3600:.1f} hours over {len(times)} submitted annotations, median {median / 60:.1f} minutes "
            f"an annotation (n {len(times)}; {len(lead_times) - len(times)} without a time).")


def citation(opts, title: str) -> str:
    st = opts.study
    if st.citation.strip():
        return st.citation.strip()
    key = re.sub(r"[^A-Za-z0-9]+", "_", opts.name) + "_" + opts.version.replace(".", "_")
    fields = [f"  title = {{{title}}}"]
    if st.authors:
        fields.insert(0, f"  author = {{{' and '.join(st.authors)}}}")
    if st.year:
        fields.append(f"  year = {{{st.year}}}")
    fields.append(f"  version = {{{opts.version}}}")
    if st.url:
        fields.append(f"  url = {{{st.url}}}")
    fields.append("  note = {Built with framestance}")
    return f"@misc{{{key},\n" + ",\n".join(fields) + "\n}"


def ledger_section(inp, cb: Codebook) -> list[str]:
    """How the articles reached the annotators: every push and adjudication round of the study's
    ledger, and a push whose corpus was not the published one (a filter applied by hand)."""
    lines = ["## Sending articles to annotators", ""]
    pushes = [e for e in inp.ledger if e.get("step") == "push"]
    rounds = [e for e in inp.ledger if e.get("step") == "adjudication"]
    if not inp.ledger:
        return lines + ["No push or adjudication round was recorded in the study's ledger "
                        "(`annotations/<project>/ledger.jsonl`, written by `framestance push` and `framestance adjudicate`): "
                        "how the annotated articles were sent to the annotators is not stated here.", ""]
    ids, dups = inp.articles["article_id"].to_pylist(), inp.articles["duplicate_of"].to_pylist()
    candidates = sum(1 for a, d in zip(ids, dups) if d is None and a not in cb.gold)

    def how(e: dict) -> str:
        if e.get("how") == "selection":
            return f"round {e.get('round')} of the selection"
        if e.get("how") == "sample":
            return (f"a seeded sample (seed {e.get('seed')}) of {e.get('sample')}"
                    + (f", stratified by {e['stratify']}" if e.get("stratify") else ""))
        return "every candidate"

    def overlap(e: dict) -> str:
        if e.get("annotators"):
            return f"{e.get('overlap') or 1} of {e['annotators']} blind queues"
        return f"{e['overlap']} ({e.get('overlap_share', 100)} % of tasks)" if e.get("overlap") else "-"

    if pushes:
        lines += [f"{len(pushes)} pushes (`framestance push`), in order:", "",
                  _table(["day", "articles", "from candidates", "annotators per article", "gold rate", "tasks created"],
                         [[str(e.get("at", ""))[:10], how(e), e.get("candidates"), overlap(e),
                           _pct(e.get("gold_rate")) if e.get("gold_rate") else "-", e.get("created")] for e in pushes]), ""]
        other = sorted({e.get("candidates") for e in pushes if e.get("how") != "selection" and e.get("candidates") != candidates},
                       key=str)
        if other:
            lines += [f"A push drew from a corpus of {', '.join(map(str, other))} candidate articles, where the published corpus "
                      f"has {candidates} (not duplicates, not gold questions): the articles were filtered, or came from "
                      "another corpus, before that push. framestance does not know the rule: the study's source "
                      "(Collection) should state it.", ""]
    if rounds:
        lines += [f"{len(rounds)} adjudication rounds (`framestance adjudicate`): "
                  + "; ".join(f"{str(e.get('at', ''))[:10]}: {e.get('sent')} articles with an unresolved label or support "
                              f"below {e.get('below')}" for e in rounds) + ".", ""]
    return lines


def _ci_text(ci, pct: bool = False) -> str:
    if not ci:
        return "–"
    return f"[{ci[0]:+.1%}, {ci[1]:+.1%}]" if pct else f"[{ci[0]}, {ci[1]}]"


def suggestions_section(arms: dict | None, assisted: dict | None) -> list[str]:
    """The suggestions and their influence, from the randomised control arm (`influence.arms` in
    the agreement metrics) and what the gold made of them (gates.json `assisted`); nothing when no
    annotation was shown a suggestion."""
    if not arms and not (assisted or {}).get("annotations_shown_a_suggestion"):
        return []
    parts = ["## Suggestions and their influence", "",
             "Some annotations were made with a model's suggestion on the page (`framestance suggest`: a model per "
             "dimension trained on the gold of earlier rounds, shown only where its cross-validated macro-F1 beat "
             "chance, which every constant predictor falls below; with a codebook of questions, a frame that did "
             "brought every question of its rule, each shown whatever its own figure). Each (annotator, article) assignment was drawn, seeded, into the "
             "suggested arm or the control arm, which saw none; the `annotations` config says which (`suggested`). "
             "Randomisation makes the arms comparable: a difference between them is the suggestion's doing.", ""]
    if assisted:
        parts += [f"Gold labels use {assisted['gold_uses']} (params.yaml `aggregate.assisted`)"
                  + (f": {assisted['annotations_left_out']} annotations shown a suggestion were left out; "
                     f"{assisted['articles_left_out']} articles that had no other have no gold label, and "
                     f"{assisted.get('articles_short_of_annotators', 0)} were left with fewer annotators than the "
                     "minimum (their labels are unresolved)"
                     if assisted.get("annotations_left_out") else "") + ".", ""]
    if not arms:
        return parts + ["No influence figures were given to `publish` (run `framestance agreement`).", ""]
    c = arms["counts"]
    parts += [f"Arms: suggested {c['suggested']['annotations']} annotations by {c['suggested']['annotators']} "
              f"annotators, control {c['control']['annotations']} by {c['control']['annotators']}; "
              f"{c['articles_in_both_arms']} articles were annotated in both. Intervals: percentile bootstrap over "
              f"articles, {arms['bootstrap']['resamples']} resamples.", ""]
    alpha = arms.get("alpha") or {}
    dims = sorted(set(alpha.get("suggested", {})) | set(alpha.get("control", {})))
    if dims:
        cell = lambda arm, d: ("undefined" if (v := alpha.get(arm, {}).get(d)) is None or v["alpha"] is None  # noqa: E731
                               else f"{v['alpha']:.3f} {_ci_text(v['ci95'])} (n {v['n']})")
        parts += ["Agreement within each arm (Krippendorff's alpha, 95 % interval, n articles):", "",
                  _table(["dimension", "suggested arm", "control arm"], [[d, cell("suggested", d), cell("control", d)]
                                                                        for d in dims]), ""]
    if arms.get("kept"):
        parts += ["Suggested labels the annotator submitted unchanged:", "",
                  _table(["dimension", "kept", "95% interval", "n"],
                         [[d, f"{v['share']:.1%}", _ci_text([f"{x:.1%}" for x in v["ci95"]] if v["ci95"] else None), v["n"]]
                          for d, v in sorted(arms["kept"].items())]), ""]
    rows = [[d, cls, f"{v['suggested']:.1%}", f"{v['control']:.1%}", f"{v['difference']:+.1%}", _ci_text(v["ci95"], True),
             f"{s['n']['suggested']} / {s['n']['control']}"]
            for d, s in sorted(arms.get("shift", {}).items()) for cls, v in s["classes"].items()]
    if rows:
        parts += ["The label distribution in each arm (share of labels; difference: suggested minus control):", "",
                  _table(["dimension", "label", "suggested arm", "control arm", "difference", "95% interval", "n"], rows),
                  ""]
    t = arms.get("time") or {}
    if t.get("ratio"):
        parts += [f"Time per annotation (geometric mean of Label Studio's lead time): suggested arm "
                  f"{t['suggested']['geometric_mean_s']} s {_ci_text(t['suggested']['ci95'])} (n {t['suggested']['n']}), "
                  f"control arm {t['control']['geometric_mean_s']} s {_ci_text(t['control']['ci95'])} "
                  f"(n {t['control']['n']}); ratio {t['ratio']['suggested_over_control']} {_ci_text(t['ratio']['ci95'])}.",
                  ""]
    return parts


def render_card(opts, cb: Codebook, feats: dict, data_files: dict, splits: dict, inp, log: dict,
                sizes: dict | None = None) -> str:
    """The card of a release: every figure computed from the released tables; what only the study
    knows (source, annotators, licences, authors) from `opts.study`, asked for where it is empty."""
    st = opts.study
    default_rows = [r for t in splits.get("default", {}).values() for r in t.select(
        [c for c in ("article_id", "language", "published_at", "outlet", "outlet_key") if c in t.column_names]).to_pylist()]
    released = {r["article_id"] for r in default_rows}
    released_ids = pa.array(sorted(released), pa.string())
    arts: pa.Table = inp.articles.filter(pc.is_in(inp.articles["article_id"], value_set=released_ids))
    langs, lang_counts = released_languages([r["language"] for r in default_rows], st.language_min_share)
    n = {cfg: sum(n for _p, n in files.values()) for cfg, files in data_files.items()}
    n = {cfg: n.get(cfg, 0) for cfg in ("default", "annotations", "spans", "corpus")}
    sub_ann = [(a, s_, lt) for a, s_, lt, art in zip(inp.annotations["annotator"].to_pylist(), inp.annotations["status"].to_pylist(),
                                                      inp.annotations["lead_time"].to_pylist(), inp.annotations["article_id"].to_pylist())
               if s_ == SUBMITTED and art in released]
    annotators = len({a for a, _, _ in sub_ann})
    method = inp.gold["method"][0].as_py() if inp.gold.num_rows else "majority"
    outlets: Counter = Counter()
    spelling: dict[str, Counter] = {}
    for r in default_rows:
        k = r.get("outlet_key") or "(unknown)"
        outlets[k] += 1
        spelling.setdefault(k, Counter())[r.get("outlet") or "(unknown)"] += 1
    duplicate = {a for a, d in zip(inp.articles["article_id"].to_pylist(), inp.articles["duplicate_of"].to_pylist()) if d}
    n_dup_labelled = len(duplicate & released)
    duplicates_text = (f"None of the {len(duplicate)} articles marked as duplicates was annotated."
                       if not n_dup_labelled else
                       f"{n_dup_labelled} of the {len(duplicate)} articles marked as duplicates were annotated too.")
    title = st.title or opts.name
    kinds = Counter(arts["input_kind"].to_pylist()) if arts.num_rows else Counter()
    related = sum(1 for r in arts["relation"].to_pylist() if r == "related") if arts.num_rows else 0
    texts_line = ("The articles' texts are included (their licence, "
                  f"`{st.texts_license}`, allows republication)." if opts.texts else
                  "**The articles' texts are not included**: news texts stay under their publishers' copyright "
                  + (f"(study.texts_license: `{st.texts_license}`)" if st.texts_license else "(no licence of the texts was given)")
                  + ". Each article comes with its URL, outlet, title and `text_sha256` (sha256 of its normalised text), each "
                  "span with its offsets and the sha256 of its text. `framestance hydrate` puts the texts back from your own "
                  "copy of the pages (run `framestance normalise` on them, or give it the pages or a WARC) and checks every "
                  "hash: an article whose text differs is refused, never silently replaced.")
    parts = [header(opts, feats, data_files, langs, sizes), f"# {title} (version {opts.version})", ""]
    issue = f" about {st.issue}" if st.issue else ""
    parts += [
        f"A corpus of news articles{issue}, labelled for media **framing** ({len(cb.frames)} frame dimensions, after the "
        f"Media Frames Corpus of Boydstun et al. 2014, definitions in `codebook.yaml`) and **stance** toward "
        f"{len(cb.targets)} targets, built with framestance: normalised, selected, annotated in Label Studio, "
        "validated, aggregated and published by one reproducible DVC pipeline.",
        "",
        "```python",
        "from datasets import load_dataset",
        f'gold = load_dataset("path/to/{opts.name}/{opts.version}")                 # one row per annotated article',
        f'raters = load_dataset("path/to/{opts.name}/{opts.version}", "annotations")  # one row per article x annotator',
        "# or, from the Hub: load_dataset(\"ORG/NAME\", revision=\"v" + opts.version + "\")",
        "```",
        "",
        texts_line,
        "",
        "## Motivation",
        "",
        f"To study how news coverage frames {st.issue or 'the issue stated below'} and where it stands toward the "
        "actors involved, with labels whose provenance (every annotator's labels, their agreement, the aggregation "
        "rule, the adjudications) is published beside the gold labels, so that results can be checked and labels "
        "re-aggregated. Authors: " + (", ".join(st.authors) if st.authors else ASK.format(key="authors", what="who made the dataset")) + ".",
        "",
        "## Composition",
        "",
        _table(["config", "rows", "one row per"], [
            ["default", n["default"], "annotated article: metadata, gold labels, consolidated spans"],
            ["annotations", n["annotations"], "article x annotator (submitted annotations, pseudonymised)"],
            ["spans", n["spans"], "span marked by an annotator (frame cues, stance evidence)"],
            ["corpus", n["corpus"], "normalised article (provenance, dates, duplicates marked): "
             + ("every article of the corpus, annotated or not" if st.release_unannotated else "the annotated articles only")],
        ]),
        "",
        f"Publication dates of the annotated articles: {date_range([r['published_at'] for r in default_rows])}. "
        f"Languages (detected, share at least {st.language_min_share:.0%} of the annotated articles to be claimed): "
        + (", ".join(f"{c} ({lang_counts[c]})" for c in langs) or "none")
        + ((". Below that share, not claimed: " + ", ".join(f"{c} ({k})" for c, k in sorted(lang_counts.items()) if c not in langs))
           if set(lang_counts) - set(langs) else "") + ". "
        f"Outlets ({len(outlets)}, spellings of one outlet joined by `outlet_key`): "
        + ", ".join(f"{shown_outlet(spelling[o])} ({k})" for o, k in sorted(outlets.items(), key=lambda x: (-x[1], x[0]))[:20])
        + (f" and {len(outlets) - 20} more" if len(outlets) > 20 else "") + ".",
        *(["Crawler fields released by name, as the crawler gave them (study.release_extra): "
           + ", ".join(f"`extra_{x}`" for x in st.release_extra) + "."
           + ("" if opts.texts else " The texts are withheld; these fields are not checked for text, so the study "
              "named only fields that hold none.")] if st.release_extra else []),
        "",
        "## Collection",
        "",
        "Source: " + _ask(st.source, "source", "where the pages came from, how and when they were collected") + " "
        + "The annotated articles came from " + ", ".join(f"{k} {kind_name(kind)}" for kind, k in sorted(kinds.items())) + ". "
        "They were normalised by `framestance normalise`: "
        + "; ".join(dict.fromkeys(KIND_TEXT.get(kind, "crawler records (JSONL, CSV, Parquet): their text, title, "
                                        "date, authors and outlet fields read, other fields kept by name")
                                  for kind in sorted(kinds)))
        + (f"; {related} annotated articles are related articles split off a page that carried them" if related else "")
        + ". Exact and near duplicates (MinHash LSH) are marked with `duplicate_of` and grouped by `cluster_id`. "
        "Retrieval times: " + date_range(arts["retrieved_at"].to_pylist() if arts.num_rows else []).replace("dated", "with a time")
        + ". Local file paths are not published; `source_sha256` identifies the input.",
        "",
    ]
    parts += selection_section(inp, cb)
    parts += ledger_section(inp, cb)
    parts += [
        "## Annotation process",
        "",
        f"{annotators} annotators labelled the articles in Label Studio with an interface generated from "
        f"the codebook `{cb.name}` v{cb.version} (shipped as `codebook.yaml`). {duplicates_text} "
        "Annotators appear only as keyed pseudonyms (`ann-...`). Drafts and skipped tasks are "
        "excluded. Per article: first its relevance (is it about the issue?); for a relevant article, the "
        "frames present, one primary frame, the tone, a stance per target, and optional spans (frame cues, "
        "stance evidence). An annotator who finds the article not about the issue gives no other label.",
        "",
        "Annotators: " + _ask(st.annotators, "annotators", "who the annotators were, how they were recruited, trained and paid") + " "
        + "Adjudication: " + _ask(st.adjudicators, "adjudicators", "who decided the disputes") + " "
        + time_spent([lt for _, _, lt in sub_ann]),
        "",
        "### Instructions, as the annotators saw them",
        "",
        "The labeling page shows the issue statement and these instructions in a panel above the article, and each "
        "label's definition where it is chosen (the tables below; the full codebook is `codebook.yaml`).",
        "",
        *(["> " + line if line.strip() else ">" for line in cb.instructions.strip().splitlines()] if cb.instructions
          else ["The codebook gives no instructions beyond the definitions below."]),
        "",
        "### Relevance",
        "",
        f"The issue: {cb.issue}",
        "",
        _table(["id", "name", "definition"], [[r.id, r.name, r.definition] for r in cb.relevance]),
        "",
        f"Gold relevance is decided over all the article's annotators; every other label over those who found "
        f"the article relevant. An article whose gold relevance is `{cb.NOT_RELEVANT}` has no other gold label "
        f"(null: not applicable, which is not `{UNRESOLVED}`).",
        "",
        "### Frames",
        "",
        *((["Annotators answer yes/no questions; a frame is present in an annotation when at least as many of its "
            "questions as its rule says are answered yes (the annotations config has every answer, `answer_<id>`).", "",
            _table(["id", "name", "definition", "present when"],
                   [[f.id, f.name, f.definition, f"at least {k} of " + ", ".join(of) + " yes"]
                    for f, (_, k, of) in zip(cb.frames, cb.rules)]), "",
            _table(["question", "name", "asked"], [[q.id, q.name, q.definition] for q in cb.questions]), ""])
          if cb.questions else
          [_table(["id", "name", "definition"], [[f.id, f.name, f.definition] for f in cb.frames]), ""]),
        *(["The codebook asks for no primary frame.", ""] if not cb.primary else []),
        *(["### Tone", "", "Tone is measured against the issue stated above.", "",
           _table(["id", "definition"], [[t.id, t.definition] for t in cb.tone]), ""] if cb.tone else []),
        *(["### Stance targets and values", "",
           _table(["target", "definition"], [[f"`stance_{t.id}`: {t.name}", t.definition] for t in cb.targets]), "",
           _table(["value", "definition"], [[v.id, v.definition] for v in cb.stance_values]), ""] if cb.targets else []),
        f"Gold labels: by `{method}` vote over the article's annotators, then replaced, label by label, where an "
        "adjudicator decided a dispute (`framestance adjudicate`; `*_source` says which, per label). "
        + ("Dawid-Skene weighs annotators by their estimated confusion matrices; its label is the most probable "
           "among those the article's annotators gave. " if method == "dawid-skene" else "")
        + f"A tie, a label with too little support, an article with too few annotators and a primary frame that is "
          f"not among the gold frames are all published as `{UNRESOLVED}` (frames: listed in `frames_unresolved`), "
          "never guessed. "
        + "Soft labels: `relevance_votes` gives the share of the article's annotators who chose each relevance "
          "label; `primary_frame_votes`, `tone_votes` and `stance_<target>_votes` the share of those who found "
          "the article relevant who chose each label, in the order of the label lists above; `frames_votes` "
          "the share of them who marked each frame present. "
        + "`*_support` (and `frames_support`) is, under every method, the estimated probability that one more "
          "annotator of this study would give that label to that article: not the vote share (that is `*_votes`) "
          "and not the probability that the label is right. "
        + ("Dawid-Skene's support goes from its posterior over the true label through the annotators' average "
           "confusion matrix (the posterior itself is near 1 even for a label only one of two annotators gave). "
           "An adjudicated label's support is a beta-binomial estimate: "
           if method == "dawid-skene" else "It is a beta-binomial estimate (an adjudicated label's too): ")
        + "(c + a·p) / (n + a), with c the number of the article's n annotators who gave the label, p the label's "
          "share over all articles, and 1/(a + 1) the dimension's pairwise agreement beyond chance (estimated from "
          "all articles), so that a label annotators agree on little is supported little even when the article's "
          "annotators agreed. "
        + "Measured against held-out annotators on real data, its expected calibration error is given in the "
          "project's BENCHMARKS.md (aggregation).",
        "",
        f"Where the released gold labels come from (n: the {len(released)} annotated articles; not applicable: the "
        "article is not about the issue; frames: articles with at least one frame left unresolved):",
        "",
        _table(["label", "voted", "adjudicated", UNRESOLVED, "not applicable"],
               gold_sources(inp.gold.filter(pc.is_in(inp.gold["article_id"], value_set=released_ids)),
                            [c for c in ("relevance", "primary_frame", "frames", "tone", *[f"stance_{t.id}" for t in cb.targets])
                             if c in inp.gold.column_names])),
        "",
        "## Agreement",
        "",
    ]
    ag = inp.agreement
    alpha_rows = summary_rows(ag) if ag else None
    if ag:

        errors = ag.get("alpha_ci95_mc_error") or {}

        def mc(d: str) -> str:
            e = errors.get(d)
            return f"±{max(e):.3f}" if e else "–"

        rows = [[r["dimension"], _fmt(r["alpha"]), format_interval(r["ci95"], r.get("ci95_decimals")), mc(r["dimension"]),
                 *((str(r["n_units"]), str(r["n_values"])) if r["alpha"] is not None else ("–", "–"))]
                for r in alpha_rows or []]
        for kind, f1 in sorted((ag.get("spans") or {}).items()):
            rows.append([f"spans {kind} (token F1 between annotators)", _fmt(f1), "–", "–", "", ""])
        boot = ag.get("bootstrap") or {}
        parts += [f"Krippendorff's alpha (0.800 reliable, 0.667-0.800 tentative), each with its n (articles with "
                  "two or more values, and those values) and a percentile 95% interval from a seeded bootstrap over "
                  f"articles ({boot.get('resamples', 0)} resamples, seed {boot.get('seed', 0)}; articles drawn in "
                  "sorted id order, so the interval does not depend on the order of the rows). An endpoint is printed "
                  "with the decimals its Monte Carlo error supports (a standard error of at most half a unit of the "
                  "last decimal: another seed would move it by a unit of that decimal or so); the larger of its two "
                  "endpoints' Monte Carlo standard errors is given beside it. "
                  "`relevance` covers every annotation; every other figure only the annotations that found the "
                  "article relevant. "
                  "`stance_addressed` is agreement on whether the article takes up the target at all; "
                  "`stance_ordinal_addressed` is ordinal agreement on the stance among the articles that two or "
                  "more coders found addressed.", "",
                  _table(["dimension", "alpha", "95% interval", "Monte Carlo error", "n articles", "n values"], rows), ""]
        graded = {w: p for w, p in sorted((ag.get("annotators") or {}).items()) if p.get("gold_tasks")}
        if graded:
            parts += ["Hidden gold questions (articles with expert labels, mixed into every annotator's queue, "
                      "never released and left out of every figure above): each annotator's share of right labels.", "",
                      _table(["annotator", "gold questions", "accuracy", "by dimension"],
                             [[w, p["gold_tasks"], _fmt(p["gold_accuracy"]),
                               ", ".join(f"{d} {_fmt(v)}" for d, v in (p.get("gold_by_dimension") or {}).items())]
                              for w, p in graded.items()]), ""]
    else:
        parts += ["No agreement metrics were given to `publish`.", ""]
    if inp.gates is not None:
        held = inp.gates.get("held_by_adjudication") or []
        parts += ["Quality gates (params.yaml `quality`): all held when this version was made"
                  + (", some only because an adjudicator decided every dispute of the dimension: " + "; ".join(held)
                     if held else "") + ".", ""]
    parts += suggestions_section(ag.get("suggestion_arms") if ag else None, (inp.gates or {}).get("assisted"))
    parts += ["## Splits", "",
              f"By near-duplicate cluster (a salted sha256 of `cluster_id`, ratios "
              f"{', '.join(f'{s} {r}' for s, r in opts.ratios.items())}): no story is in two splits, and an "
              "article keeps its split from version to version. Empty splits are left out.", ""]
    parts += [_table(["config", *[s for s in ("train", "validation", "test")]],
                     [[cfg, *[files.get(s, (None, 0))[1] for s in ("train", "validation", "test")]]
                      for cfg, files in data_files.items()]), ""]
    parts += ["## Label distributions (gold)", ""]
    rows = []
    shown = [("relevance", feats["default"]["relevance"].names),
             *([("primary_frame", feats["default"]["primary_frame"].names)] if cb.primary else []),
             ("frames", feats["default"]["frames"].feature.names),
             *([("tone", feats["default"]["tone"].names)] if cb.tone else []),
             *[(f"stance_{t.id}", feats["default"][f"stance_{t.id}"].names) for t in cb.targets]]
    for col, names in shown:
        dist = _distribution(splits, col, names)
        rows.append([col, ", ".join(f"{k} {v}" for k, v in sorted(dist.items(), key=lambda x: (-x[1], x[0]))) or "-"])
    parts += [_table(["label", "counts"], rows), ""]
    parts += [
        "## Known limitations",
        "",
        "- Extraction from rendered pages is heuristic: some boilerplate may remain in bodies and some "
        "body text may be lost; dates shown as relative times are resolved against the retrieval time.",
        weak_text(alpha_rows),
        "- Outlets and languages are unevenly represented; the annotated articles represent a population of news only "
        "as far as the Selection section says (design weights).",
        ("- The texts are republished under their licence; check it before you redistribute them further." if opts.texts else
         "- Without the texts, a user who cannot obtain the same pages cannot rebuild them; `framestance hydrate` says "
         "which articles it could not match."),
        "",
        "## Changelog",
        "",
    ]
    if not log:
        parts += ["First published version.", ""]
    else:
        changed = log["labels_changed"]
        parts += [f"Against version {log['previous']}: {log['articles_added']} articles added, "
                  f"{log['articles_removed']} removed; {log['labelled_added']} labelled articles added, "
                  f"{log['labelled_removed']} removed; gold labels changed on {len(changed)} articles.", ""]
        for a, cols in list(changed.items())[:50]:
            parts.append(f"- `{a}`: {', '.join(cols)}")
        parts.append("")
    licence = st.license or "unknown"
    parts += ["## How to cite", "", f"Cite the version you used ({opts.version}); files and checksums are in `MANIFEST.json`."
              + ("" if st.authors and st.year else " " + ASK.format(key="authors` and `study.year", what="the citation's authors and year"))
              + ("" if st.url else " " + ASK.format(key="url", what="where the dataset lives")),
              "", "```bibtex", citation(opts, title), "```", "",
              "## Licence", "",
              (f"The annotations: `{licence}`" + (", its text in `LICENSE`." if opts.licence_text else
                                                (f" (https://spdx.org/licenses/{licence}.html)." if st.license and licence != "other"
                                                 else ". " + ASK.format(key="license", what="the licence of the annotations"))))
              + (f" The texts: `{st.texts_license}`." if opts.texts else
                 " The texts are not part of the release: they stay under their publishers' copyright."), ""]
    if opts.licence_text:
        parts += ["```text", opts.licence_text.strip(), "```", ""]
    parts += ["## Datasheet answers", "",
              "The questions of \"Datasheets for Datasets\" (Gebru et al. 2021) and of the Hugging Face dataset card, "
              "and where this card answers them: *computed* from the released tables, *study* from the study's "
              "configuration (params.yaml `study:`), *codebook* from `codebook.yaml`.", "",
              _table(["question", "answered in", "how"], [
                  ["For what purpose was the dataset created? Who created it?", "Motivation", "study (authors: " + ("given" if st.authors else "asked") + ")"],
                  ["What do the instances represent? How many are there?", "Composition", "computed"],
                  ["Is it a sample? Of what population, how drawn?", "Selection", "computed from the selection rounds"],
                  ["Languages, dates, outlets", "Composition", f"computed (languages at least {st.language_min_share:.0%})"],
                  ["How was the data collected, over what time frame?", "Collection", "computed (input kinds, retrieval times); source: study"],
                  ["Who annotated, how were they instructed, how long did it take?", "Annotation process", "study (who); codebook (instructions); computed (time)"],
                  ["How were labels aggregated, what was adjudicated?", "Annotation process", "computed (gold sources)"],
                  ["How reliable are the labels?", "Agreement", "computed (alpha, 95 % interval, n)"],
                  ["Recommended splits", "Splits", "computed"],
                  ["Does it contain data that identifies people?", "Annotation process", "annotators pseudonymised; bylines are the pages' own"],
                  ["Known limitations", "Known limitations", "computed where figures, else standing text"],
                  ["Is it distributed, under what licence?", "Licence", "study"],
                  ["How should it be cited? Will it be updated?", "How to cite, Changelog", "study; computed (changelog)"],
              ]), ""]
    return "\n".join(parts)
