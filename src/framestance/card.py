"""The dataset card (README.md) of a published version: a YAML header generated through the
`datasets` / `huggingface_hub` card API (configs, data_files, features with ClassLabel names,
exact split sizes), and a datasheet body (Gebru et al.) written from the data, the codebook and
the agreement metrics. No clock time goes in: the same inputs give the same bytes."""

from __future__ import annotations

from collections import Counter

import pyarrow as pa

from .codebook import Codebook
from .schema import SUBMITTED, UNRESOLVED

TASKS = ["text-classification", "token-classification"]


def _size_category(n: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n < limit:
            return name
    return "1M<n<10M"


def header(opts, feats: dict, data_files: dict, languages: list[str]) -> str:
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
        for s, (_p, n) in files.items():
            splits.add(SplitInfo(s, num_examples=n))
        infos[config] = DatasetInfo(features=feats[config], splits=splits, config_name=config)
    n_corpus = sum(n for _p, n in data_files.get("corpus", {}).values())
    data = DatasetCardData(
        license=opts.license, language=languages or None, pretty_name=opts.pretty_name or opts.name,
        task_categories=TASKS, task_ids=["multi-label-classification", "sentiment-classification"],
        size_categories=[_size_category(n_corpus)], tags=["framing", "stance", "news", "media-frames"],
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


def render_card(opts, cb: Codebook, feats: dict, data_files: dict, splits: dict, inp, log: dict) -> str:
    arts: pa.Table = inp.articles
    langs = sorted({x for x in arts["language"].to_pylist() if x})
    n = {cfg: sum(n for _p, n in files.values()) for cfg, files in data_files.items()}
    n = {cfg: n.get(cfg, 0) for cfg in ("default", "annotations", "spans", "corpus")}
    annotators = len({a for a, st in zip(inp.annotations["annotator"].to_pylist(), inp.annotations["status"].to_pylist())
                      if st == SUBMITTED})
    method = inp.gold["method"][0].as_py() if inp.gold.num_rows else "majority"
    outlets = Counter(o or "(unknown)" for o in arts["outlet"].to_pylist())
    title = opts.pretty_name or opts.name
    parts = [header(opts, feats, data_files, langs), f"# {title} (version {opts.version})", ""]
    parts += [
        f"A corpus of news articles labelled for media **framing** ({len(cb.frames)} frame dimensions, after the "
        f"Media Frames Corpus of Boydstun et al. 2014) and **stance** toward {len(cb.targets)} targets, built with "
        "framestance from scraped pages: normalised, annotated in Label Studio, "
        "validated, aggregated and published by one reproducible DVC pipeline.",
        "",
        "```python",
        "from datasets import load_dataset",
        f'gold = load_dataset("path/to/{opts.name}/{opts.version}")                 # one row per annotated article',
        f'raters = load_dataset("path/to/{opts.name}/{opts.version}", "annotations")  # one row per article x annotator',
        "# or, from the Hub: load_dataset(\"ORG/NAME\", revision=\"v" + opts.version + "\")",
        "```",
        "",
        "## Motivation",
        "",
        "To study how news coverage frames an issue and where it stands toward the actors involved, with "
        "labels whose provenance (every annotator's labels, their agreement, the aggregation rule) is "
        "published beside the gold labels, so that results can be checked and labels re-aggregated.",
        "",
        "## Composition",
        "",
        _table(["config", "rows", "one row per"], [
            ["default", n["default"], "annotated article: text, metadata, gold labels, consolidated spans"],
            ["annotations", n["annotations"], "article x annotator (submitted annotations, pseudonymised)"],
            ["spans", n["spans"], "span marked by an annotator (frame cues, stance evidence)"],
            ["corpus", n["corpus"], "normalised article, labelled or not (duplicates marked)"],
        ]),
        "",
        f"Languages: {', '.join(langs) or 'unknown'}. Outlets: "
        + ", ".join(f"{o} ({k})" for o, k in sorted(outlets.items(), key=lambda x: (-x[1], x[0]))[:20]) + ".",
        "",
        "## Collection",
        "",
        "Articles come from scraped pages (plain-text dumps of rendered pages, HTML, crawler records) "
        "normalised by `framestance normalise`: site chrome, captions and credits removed from the body, "
        "byline, outlet, syndication source and date read, related articles split off; exact and near "
        "duplicates (MinHash LSH) marked with `duplicate_of` and grouped by `cluster_id`. Local file "
        "paths are not published; `source_sha256` identifies the input.",
        "",
        "## Annotation process",
        "",
        f"{annotators} annotators labelled the articles in Label Studio with an interface generated from "
        f"the codebook `{cb.name}` v{cb.version} (shipped as `codebook.yaml`). Duplicates were not "
        "annotated. Annotators appear only as keyed pseudonyms (`ann-...`). Drafts and skipped tasks are "
        "excluded. Per article: the frames present, one primary frame, the tone, a stance per target, "
        "and optional spans (frame cues, stance evidence).",
        "",
        "### Frames",
        "",
        _table(["id", "name", "definition"], [[f.id, f.name, f.definition] for f in cb.frames]),
        "",
        "### Tone",
        "",
        _table(["id", "definition"], [[t.id, t.definition] for t in cb.tone]),
        "",
        "### Stance targets and values",
        "",
        _table(["target", "definition"], [[f"`stance_{t.id}`: {t.name}", t.definition] for t in cb.targets]),
        "",
        _table(["value", "definition"], [[v.id, v.definition] for v in cb.stance_values]),
        "",
        f"Gold labels: `{method}` aggregation"
        + (f", ties under the rule `{opts.tie}`" if method == "majority" else "") + ". "
        + (f"A tie is published as the label `{UNRESOLVED}` (frames: listed in `frames_unresolved`), never guessed. "
           if method == "majority" and opts.tie == "unresolved" else
           "Ties are resolved (majority: the tied label first in the codebook; a frame tie counts as absent). "
           if method == "majority" else
           "Dawid-Skene weighs annotators by their estimated confusion matrices; its label is the most probable. ")
        + "`*_support` is the share of annotators behind a label (Dawid-Skene: its posterior).",
        "",
        "## Agreement",
        "",
    ]
    ag = inp.agreement
    if ag:
        a = ag.get("alpha", {})
        rows = [["primary frame (nominal)", _fmt(a.get("primary_frame"))], ["tone (nominal)", _fmt(a.get("tone"))],
                ["frames (MASI over sets)", _fmt(a.get("frames_masi"))]]
        for t, v in sorted((a.get("stance") or {}).items()):
            rows.append([f"stance toward {t} (nominal / ordinal)", f"{_fmt(v.get('nominal'))} / {_fmt(v.get('ordinal'))}"])
        for f, v in sorted((a.get("frames") or {}).items()):
            rows.append([f"frame {f} (present/absent)", _fmt(v)])
        for kind, f1 in sorted((ag.get("spans") or {}).items()):
            rows.append([f"spans {kind} (token F1 between annotators)", _fmt(f1)])
        parts += ["Krippendorff's alpha (0.800 reliable, 0.667-0.800 tentative):", "", _table(["dimension", "value"], rows), ""]
    else:
        parts += ["No agreement metrics were given to `publish`.", ""]
    parts += ["## Splits", "",
              f"By near-duplicate cluster (a salted sha256 of `cluster_id`, ratios "
              f"{', '.join(f'{s} {r}' for s, r in opts.ratios.items())}): no story is in two splits, and an "
              "article keeps its split from version to version. Empty splits are left out.", ""]
    parts += [_table(["config", *[s for s in ("train", "validation", "test")]],
                     [[cfg, *[files.get(s, (None, 0))[1] for s in ("train", "validation", "test")]]
                      for cfg, files in data_files.items()]), ""]
    parts += ["## Label distributions (gold)", ""]
    f_names = feats["default"]["primary_frame"].names
    rows = []
    for col, names in [("primary_frame", f_names), ("frames", feats["default"]["frames"].feature.names),
                       ("tone", feats["default"]["tone"].names),
                       *[(f"stance_{t.id}", feats["default"][f"stance_{t.id}"].names) for t in cb.targets]]:
        dist = _distribution(splits, col, names)
        rows.append([col, ", ".join(f"{k} {v}" for k, v in sorted(dist.items(), key=lambda x: (-x[1], x[0]))) or "-"])
    parts += [_table(["label", "counts"], rows), ""]
    parts += [
        "## Known limitations",
        "",
        "- Extraction from rendered pages is heuristic: some boilerplate may remain in bodies and some "
        "body text may be lost; dates shown as relative times are resolved against the retrieval time.",
        "- Annotator agreement varies by dimension (see above); labels with low alpha should be used with care.",
        "- Outlets and languages are unevenly represented; the sample is not representative of any population of news.",
        "- The texts are news articles: their copyright stays with the publishers; check the licence before redistribution.",
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
    cite = opts.citation or (
        f"@misc{{{opts.name.replace('-', '_')}_{opts.version.replace('.', '_')},\n"
        f"  title = {{{title}}},\n  note = {{Version {opts.version}, built with framestance}},\n}}")
    parts += ["## How to cite", "", f"Cite the version you used ({opts.version}); files and checksums are in `MANIFEST.json`.",
              "", "```bibtex", cite, "```", ""]
    return "\n".join(parts)
