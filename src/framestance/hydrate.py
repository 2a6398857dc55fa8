"""`framestance hydrate`: a release published without its texts, with the texts put back from the
user's own copy of the articles, verified byte for byte.

A release of news under copyright (`publish`, study.texts_license not open) carries each
article's `text_sha256` (sha256 of its normalised text) and each span's offsets and `text_sha256`.
Hydrate reads the user's copy (an `articles.parquet`, a folder of them, or input pages and WARC
files, normalised here with framestance's own normaliser), finds each released article by id,
else by URL, and takes its text only when its sha256 is the release's (and its captions only when
their `media_sha256` is); a span's text is the
text between its offsets, checked against its own hash. One missing or different text refuses the
whole hydration: nothing is written. The output is a dataset folder `load_dataset` reads, with the
`text` columns (and captions) back in the features of the card's header.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from .errors import FramestanceError
from .io import sha256_bytes, sha256_file


class HydrateError(FramestanceError, ValueError):
    pass


@dataclass
class Hydrated:
    folder: Path
    articles: int = 0  # released articles whose text was put back
    spans: int = 0
    rows: dict[str, int] = field(default_factory=dict)  # config -> rows written


def read_copy(paths: list[Path]) -> pa.Table:
    """The user's articles: parquet tables as they are, anything else normalised first."""
    tables, pages = [], []
    for p in paths:
        if p.exists() and p.suffix == ".parquet":  # a table, or a folder of part files
            tables.append(pq.read_table(p))
        elif p.is_dir() and (p / "articles.parquet").exists():
            tables.append(pq.read_table(p / "articles.parquet"))
        elif p.exists():
            pages.append(str(p))
        else:
            raise HydrateError(f"{p}: no such file or folder (give articles.parquet, its folder, or the pages)")
    if pages:
        from .normalise import normalise

        with tempfile.TemporaryDirectory(prefix="framestance-hydrate-") as tmp:
            normalise(pages, Path(tmp) / "out", workers=1)
            tables.append(pq.read_table(Path(tmp) / "out" / "articles.parquet"))
    cols = ["article_id", "url", "text", "text_sha256", "media"]
    return pa.concat_tables([t.select([c for c in cols if c in t.column_names]) for t in tables], promote_options="default")


def _candidates(copy: pa.Table) -> tuple[dict[str, list[dict]], dict[str, list[dict]]]:
    """The user's rows by article id and by URL (a copy may hold an article more than once)."""
    by_id: dict[str, list[dict]] = {}
    by_url: dict[str, list[dict]] = {}
    for row in copy.to_pylist():
        by_id.setdefault(row["article_id"], []).append(row)
        if row.get("url"):
            by_url.setdefault(row["url"], []).append(row)
    return by_id, by_url


def hydrate(release: Path, copy_paths: list[Path], out: Path) -> Hydrated:
    """Write OUT: RELEASE with every text back, or raise HydrateError and write nothing."""
    from .codebook import load
    from .publish import features, media_hash

    release, out = Path(release), Path(out)
    manifest_path = release / "MANIFEST.json"
    if not manifest_path.exists():
        raise HydrateError(f"{release}: not a published version (no MANIFEST.json)")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    for rel, meta in manifest["files"].items():
        if sha256_file(release / rel) != meta["sha256"]:
            raise HydrateError(f"{release / rel}: its sha256 is not the one in MANIFEST.json (a changed release)")
    if out.exists():
        raise HydrateError(f"{out}: exists; hydrate writes a new folder (nothing is overwritten)")
    cb = load(release / "codebook.yaml")
    tables = {cfg: {p.name: pq.read_table(p) for p in sorted((release / "data" / cfg).glob("*.parquet"))}
              for cfg in ("default", "annotations", "spans", "corpus") if (release / "data" / cfg).is_dir()}
    any_default = next(iter(tables["default"].values()))
    if "text" in any_default.column_names:
        raise HydrateError(f"{release}: already carries the texts")
    extra = [c.removeprefix("extra_") for c in any_default.column_names if c.startswith("extra_")]
    feats = features(cb, True, extra)

    by_id, by_url = _candidates(read_copy(copy_paths))
    # the corpus config carries a hash of each article's captions: the copy's must match too
    captions = {a: h for t in tables.get("corpus", {}).values()
                for a, h in zip(t["article_id"].to_pylist(), t["media_sha256"].to_pylist())}

    def same_article(row: dict, sha: str, aid: str) -> bool:
        return sha256_bytes(row["text"]) == sha and (aid not in captions or media_hash(row.get("media")) == captions[aid])

    texts: dict[str, dict] = {}
    missing, different = [], []
    for cfg in ("default", "corpus"):
        for t in tables.get(cfg, {}).values():
            for aid, url, sha in zip(t["article_id"].to_pylist(), t["url"].to_pylist(), t["text_sha256"].to_pylist()):
                if aid in texts:
                    continue
                rows = by_id.get(aid) or (by_url.get(url) if url else None) or []
                same = next((r for r in rows if same_article(r, sha, aid)), None)
                if same is not None:
                    texts[aid] = same
                elif rows:
                    different.append(aid)
                else:
                    missing.append(aid)
    if missing or different:
        parts = []
        if different:
            parts.append(f"{len(different)} articles whose text or captions in your copy are not the released ones "
                         f"(sha256 differs: {', '.join(sorted(different)[:3])})")
        if missing:
            parts.append(f"{len(missing)} articles not in your copy ({', '.join(sorted(missing)[:3])})")
        raise HydrateError(f"{release}: cannot hydrate: " + "; ".join(parts) + "; nothing written")

    def span_text(aid: str, span: dict) -> str | None:
        if span["text_sha256"] is None:  # a span pulled without its text stays without
            return None
        text = texts[aid]["text"][span["start"]:span["end"]]
        if sha256_bytes(text) != span["text_sha256"]:
            raise HydrateError(f"{release}: span {span['start']}-{span['end']} of {aid}: its text in your copy differs "
                               "from the released one; nothing written")
        return text

    out_rows: dict[str, int] = {}
    n_spans = 0
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        shutil.copytree(release, tmp)
        for cfg, files in tables.items():
            schema = feats[cfg].arrow_schema
            for name, t in files.items():
                rows = t.to_pylist()
                for r in rows:
                    if cfg in ("default", "corpus"):
                        r["text"] = texts[r["article_id"]]["text"]
                    if cfg == "corpus":
                        r["media"] = texts[r["article_id"]].get("media") or []  # checked: media_sha256
                    if cfg == "default":
                        for sp in r["spans"]:
                            sp["text"] = span_text(r["article_id"], sp)
                            n_spans += 1
                    if cfg == "spans":
                        r["text"] = span_text(r["article_id"], r)
                        n_spans += 1
                table = pa.Table.from_pylist(rows, schema=schema)
                pq.write_table(table, tmp / "data" / cfg / name, compression="zstd", row_group_size=10_000,
                               write_statistics=True, store_schema=True)
                out_rows[cfg] = out_rows.get(cfg, 0) + table.num_rows
        _rewrite_card(tmp / "README.md", feats, manifest)
        files = {}
        for rel in manifest["files"]:
            p = tmp / rel
            files[rel] = {**manifest["files"][rel], "bytes": p.stat().st_size, "sha256": sha256_file(p)}
        new_manifest = {**manifest, "files": files, "hydrated_from": {"name": manifest["name"], "version": manifest["version"],
                                                                      "manifest_sha256": sha256_file(manifest_path)}}
        (tmp / "MANIFEST.json").write_text(json.dumps(new_manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        out.parent.mkdir(parents=True, exist_ok=True)
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return Hydrated(out, len(texts), n_spans, out_rows)


def _rewrite_card(readme: Path, feats: dict, manifest: dict) -> None:
    """The card's YAML header with the features that hold the texts, and a line saying so."""
    import yaml
    from datasets import DatasetInfo

    text = readme.read_text(encoding="utf-8")
    _, head, body = text.split("---\n", 2)
    meta = yaml.safe_load(head)
    for info in meta.get("dataset_info") or []:
        config = info.get("config_name", "default")
        if config in feats:
            info["features"] = DatasetInfo(features=feats[config])._to_yaml_dict()["features"]
    lines = body.split("\n")
    at = next((i for i, ln in enumerate(lines) if ln.startswith("# ")), 0) + 1
    lines.insert(at, f"\nHydrated by `framestance hydrate` from the user's own copy of the articles: every text's "
                     f"sha256 is the one version {manifest['version']} published. Do not redistribute the texts "
                     "unless their licence allows it.")
    readme.write_text("---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True) + "---\n" + "\n".join(lines),
                      encoding="utf-8")
