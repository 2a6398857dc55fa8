"""Publish: every config read back with `datasets.load_dataset` (offline), features typed by the
codebook, splits by cluster, immutability, atomicity, changelog, and the Hub upload path."""

from __future__ import annotations

import inspect
import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from framestance import agreement as ag
from framestance.aggregate import gold_labels, gold_spans
from framestance.codebook import load
from framestance.config import StudyConfig
from framestance.publish import CONFIGS, Inputs, Options, PublishError, VersionExists, publish, push_to_hub
from framestance.validate import load_tables

from .conftest import ROOT

CB = load(ROOT / "schemas" / "codebook.yaml")
CODEBOOK_TEXT = (ROOT / "schemas" / "codebook.yaml").read_text()


@pytest.fixture(scope="module")
def inputs(sample) -> Inputs:
    t = load_tables({"corpus": sample / "corpus", "annotations": sample / "annotations"})
    texts = dict(zip(t["articles"]["article_id"], t["articles"]["text"]))
    metrics = ag.compute(t["annotations"], t["stances"], t["spans"], CB, texts)
    return Inputs(
        articles=pq.read_table(sample / "corpus" / "articles.parquet"),
        annotations=pq.read_table(sample / "annotations" / "annotations.parquet"),
        stances=pq.read_table(sample / "annotations" / "stances.parquet"),
        spans=pq.read_table(sample / "annotations" / "spans.parquet"),
        gold=gold_labels(t["annotations"], t["stances"], CB),
        gold_spans=gold_spans(t["annotations"], t["spans"], texts),
        agreement=json.loads(json.dumps(metrics)),
    )


# texts under an open licence and every article released: what the tests below check is the rest
OPEN_STUDY = StudyConfig(texts_license="cc-by-4.0", release_unannotated=True)


def opts(version="1.0.0", **kw) -> Options:
    kw.setdefault("study", OPEN_STUDY)
    return Options(name="fs-test", version=version, ratios={"train": 0.6, "validation": 0.2, "test": 0.2}, **kw)


def load_config(path: Path, config: str, cache: Path):
    import datasets

    return datasets.load_dataset(str(path), config, cache_dir=str(cache))


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def test_every_config_loads_with_codebook_features_and_cluster_splits(inputs, tmp_path):
    path, created = publish(inputs, CB, tmp_path / "dist", opts(), CODEBOOK_TEXT)
    assert created and path == tmp_path / "dist" / "fs-test" / "1.0.0"
    arts = inputs.articles.to_pylist()
    cluster = {a["article_id"]: a["cluster_id"] for a in arts}
    expected_rows = {
        "default": inputs.gold.num_rows,
        "annotations": sum(s == "submitted" for s in inputs.annotations["status"].to_pylist()),
        "spans": sum(s == "submitted" for s in inputs.spans["status"].to_pylist()),
        "corpus": len(arts),
    }
    split_of = {}
    for config in CONFIGS:
        ds = load_config(path, config, tmp_path / "cache")
        assert sum(d.num_rows for d in ds.values()) == expected_rows[config], config
        assert set(ds) <= {"train", "validation", "test"}
        for split, d in ds.items():
            for aid in d["article_id"]:
                # an article, and every article of its cluster, is in one split in every config
                assert split_of.setdefault(cluster[aid], split) == split, (config, aid)
    assert len(set(split_of.values())) >= 2  # the sample does get split

    gold = load_config(path, "default", tmp_path / "cache")
    f = gold["train"].features
    assert f["primary_frame"].names == [x.id for x in CB.frames] + ["unresolved"]
    assert f["frames"].feature.names == [x.id for x in CB.frames]
    assert f["tone"].names == [x.id for x in CB.tone] + ["unresolved"]
    for t in CB.targets:
        assert f[f"stance_{t.id}"].names == [v.id for v in CB.stance_values] + ["unresolved"]
    by_id = {r["article_id"]: r for r in inputs.gold.to_pylist()}
    row = gold["train"][0]
    assert f["primary_frame"].int2str(row["primary_frame"]) == by_id[row["article_id"]]["primary_frame"]
    assert [f["frames"].feature.int2str(i) for i in row["frames"]] == by_id[row["article_id"]]["frames"]
    # the sample's article that its annotators found not about the issue: relevance, and no other label
    assert f["relevance"].names == ["relevant", "not_relevant", "unresolved"]
    (off,) = [r for d in gold.values() for r in d if f["relevance"].int2str(r["relevance"]) == "not_relevant"]
    assert (off["primary_frame"], off["frames"], off["tone"], off[f"stance_{CB.targets[0].id}"]) == (None, [], None, None)
    assert off["relevance_votes"] == [0.0, 1.0] and off["relevance_source"] == "majority"
    raters = load_config(path, "annotations", tmp_path / "cache")
    assert all(a.startswith("ann-") for d in raters.values() for a in d["annotator"])
    rated = [(r["relevance"], r["primary_frame"]) for d in raters.values() for r in d if r["article_id"] == off["article_id"]]
    assert rated == [(1, None)] * 3
    assert "source_path" not in load_config(path, "corpus", tmp_path / "cache")["train"].features

    manifest = json.loads((path / "MANIFEST.json").read_text())
    import hashlib

    for rel, meta in manifest["files"].items():
        data = (path / rel).read_bytes()
        assert hashlib.sha256(data).hexdigest() == meta["sha256"] and len(data) == meta["bytes"]
    card = (path / "README.md").read_text()
    for section in ("## Motivation", "## Composition", "## Collection", "## Annotation process", "## Agreement",
                    "## Splits", "## Label distributions", "## Known limitations", "## Changelog", "## How to cite"):
        assert section in card
    assert CB.frames[0].definition in card and "First published version." in card


def test_shards_are_bounded(inputs, tmp_path):
    path, _ = publish(inputs, CB, tmp_path / "dist", opts(max_shard_bytes=2_000), CODEBOOK_TEXT)
    shards = sorted((path / "data" / "corpus").glob("train-*.parquet"))
    assert len(shards) > 1 and shards[0].name.endswith(f"-of-{len(shards):05d}.parquet")
    ds = load_config(path, "corpus", tmp_path / "cache")
    assert ds["train"].num_rows == sum(pq.read_metadata(s).num_rows for s in shards)


def test_same_inputs_same_bytes_and_versions_are_immutable(inputs, tmp_path):
    a, _ = publish(inputs, CB, tmp_path / "one", opts(), CODEBOOK_TEXT)
    b, _ = publish(inputs, CB, tmp_path / "two", opts(), CODEBOOK_TEXT)
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)
    before = {f: (a / f).read_bytes() for f in files}
    # the same content again: accepted, nothing written
    assert publish(inputs, CB, tmp_path / "one", opts(), CODEBOOK_TEXT) == (a, False)
    # other content under the same version: refused, the published files untouched
    changed = Inputs(**{**inputs.__dict__, "gold": inputs.gold.slice(1)})
    with pytest.raises(VersionExists, match="immutable"):
        publish(changed, CB, tmp_path / "one", opts(), CODEBOOK_TEXT)
    assert {f: (a / f).read_bytes() for f in files} == before
    assert sorted(p.name for p in (tmp_path / "one" / "fs-test").iterdir()) == ["1.0.0"]


def test_a_failed_publish_leaves_no_partial_directory(inputs, tmp_path, monkeypatch):
    import framestance.card as card

    def broken(*a, **k):
        raise RuntimeError("disk full while writing the card")

    monkeypatch.setattr(card, "render_card", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        publish(inputs, CB, tmp_path / "dist", opts(), CODEBOOK_TEXT)
    assert list((tmp_path / "dist" / "fs-test").iterdir()) == []


def test_bad_version_and_unknown_labels(inputs, tmp_path):
    with pytest.raises(PublishError, match="MAJOR.MINOR.PATCH"):
        publish(inputs, CB, tmp_path, opts(version="v1"), CODEBOOK_TEXT)
    import pyarrow as pa

    bad = inputs.gold.set_column(inputs.gold.schema.get_field_index("tone"), "tone",
                                 pa.array(["furious"] * inputs.gold.num_rows))
    with pytest.raises(PublishError, match="refusing to publish: the tables fail validation: gold: "):
        publish(Inputs(**{**inputs.__dict__, "gold": bad}), CB, tmp_path, opts(), CODEBOOK_TEXT)


def test_changelog_against_the_previous_version(inputs, tmp_path):
    """The changelog compares release records (kept in git), not the earlier version's files: a
    machine without dist/<name>/1.0.0 (a fresh clone) writes the same 1.1.0, byte for byte."""
    import pyarrow as pa

    records = tmp_path / "releases"
    first, _ = publish(inputs, CB, tmp_path / "dist", opts("1.0.0"), CODEBOOK_TEXT, records)
    assert json.loads((records / "fs-test" / "1.0.0.json").read_text())["version"] == "1.0.0"
    gold = inputs.gold.to_pylist()
    victim = gold[0]["article_id"]
    gold[0]["tone"] = "positive" if gold[0]["tone"] != "positive" else "negative"
    dropped = inputs.articles.filter(pa.compute.is_null(inputs.articles["duplicate_of"]))  # duplicates: not labelled
    n_removed = inputs.articles.num_rows - dropped.num_rows
    newer = Inputs(**{**inputs.__dict__, "gold": pa.Table.from_pylist(gold, schema=inputs.gold.schema), "articles": dropped})
    path, _ = publish(newer, CB, tmp_path / "dist", opts("1.1.0"), CODEBOOK_TEXT, records)
    card = (path / "README.md").read_text()
    assert f"Against version 1.0.0: 0 articles added, {n_removed} removed" in card
    assert f"- `{victim}`: tone" in card

    shutil.rmtree(first)  # the earlier version's files gone, its record kept
    again, _ = publish(newer, CB, tmp_path / "clone", opts("1.1.0"), CODEBOOK_TEXT, records)
    assert (again / "README.md").read_bytes() == (path / "README.md").read_bytes()
    assert (again / "MANIFEST.json").read_bytes() == (path / "MANIFEST.json").read_bytes()
    # the record of a published version is as immutable as its files, also where they are absent
    with pytest.raises(VersionExists, match="1.0.0.json: version 1.0.0 was published with other labels"):
        publish(newer, CB, tmp_path / "clone", opts("1.0.0"), CODEBOOK_TEXT, records)
    assert not (tmp_path / "clone" / "fs-test" / "1.0.0").exists()


def test_a_version_published_before_records_is_read_from_its_files(inputs, tmp_path):
    """Upgrading: 1.0.0 was published without a record; 1.1.0's changelog reads it from dist/."""
    publish(inputs, CB, tmp_path / "dist", opts("1.0.0"), CODEBOOK_TEXT)  # no records folder: as before they existed
    path, _ = publish(inputs, CB, tmp_path / "dist", opts("1.1.0"), CODEBOOK_TEXT, tmp_path / "releases")
    assert "Against version 1.0.0: 0 articles added, 0 removed" in (path / "README.md").read_text()
    assert sorted(p.name for p in (tmp_path / "releases" / "fs-test").iterdir()) == ["1.1.0.json"]
    assert json.loads((tmp_path / "releases" / "fs-test" / "1.1.0.json").read_text())["changelog_against"] == "1.0.0"
    shutil.rmtree(tmp_path / "dist" / "fs-test" / "1.0.0")  # its files gone, and no record: it cannot be redone
    with pytest.raises(PublishError, match="published with a changelog against 1.0.0, which has neither"):
        publish(inputs, CB, tmp_path / "other", opts("1.1.0"), CODEBOOK_TEXT, tmp_path / "releases")


def test_a_republished_version_keeps_its_changelog_whatever_dist_holds(inputs, tmp_path):
    """A version is published again against what it was first published against (its record
    says): an older folder lying in dist/ on this machine changes nothing."""
    records = tmp_path / "releases"
    first, _ = publish(inputs, CB, tmp_path / "dist", opts("1.0.0"), CODEBOOK_TEXT, records)
    shutil.copytree(first, tmp_path / "other" / "fs-test" / "0.9.0")  # a stale older version on another machine
    again, _ = publish(inputs, CB, tmp_path / "other", opts("1.0.0"), CODEBOOK_TEXT, records)
    assert (again / "README.md").read_bytes() == (first / "README.md").read_bytes()
    assert "First published version." in (again / "README.md").read_text()


def test_push_to_hub_calls_the_library_api_as_it_is(tmp_path):
    from huggingface_hub import HfApi

    calls = []

    class Recorder:
        """Checks every call against HfApi's real signature, records it, touches no network."""

        def __getattr__(self, name):
            real = getattr(HfApi, name)

            def call(*args, **kwargs):
                inspect.signature(real).bind(None, *args, **kwargs)
                calls.append((name, kwargs))
                return type("CommitInfo", (), {"oid": "abc123"})() if name == "upload_folder" else None

            return call

    (tmp_path / "README.md").write_text("card")
    res = push_to_hub(tmp_path, "org/framestance-sample", "1.2.0", api=Recorder())
    assert res == {"repo_id": "org/framestance-sample", "tag": "v1.2.0", "commit": "abc123"}
    assert [c[0] for c in calls] == ["create_repo", "upload_folder", "create_tag"]
    assert calls[1][1]["folder_path"] == str(tmp_path) and calls[1][1]["repo_type"] == "dataset"
    assert calls[2][1]["revision"] == "abc123" and calls[2][1]["tag"] == "v1.2.0"


def test_a_config_without_rows_is_left_out_and_an_empty_gold_table_is_refused(inputs, tmp_path):
    no_spans = Inputs(**{**inputs.__dict__, "spans": inputs.spans.slice(0, 0)})
    path, _ = publish(no_spans, CB, tmp_path / "dist", opts(), CODEBOOK_TEXT)
    assert not (path / "data" / "spans").exists() and "config_name: spans" not in (path / "README.md").read_text()
    assert sum(d.num_rows for d in load_config(path, "default", tmp_path / "cache").values()) == inputs.gold.num_rows
    from framestance.publish import read_inputs

    gold_dir = tmp_path / "gold"
    gold_dir.mkdir()
    pq.write_table(inputs.gold.slice(0, 0), gold_dir / "gold.parquet")
    pq.write_table(inputs.gold_spans, gold_dir / "gold_spans.parquet")
    with pytest.raises(PublishError, match="no annotated article"):
        read_inputs(_corpus_dir(inputs, tmp_path), _ann_dir(inputs, tmp_path), gold_dir, None)


def _corpus_dir(inputs, tmp_path):
    d = tmp_path / "c"
    d.mkdir(exist_ok=True)
    pq.write_table(inputs.articles, d / "articles.parquet")
    return d


def _ann_dir(inputs, tmp_path):
    d = tmp_path / "a"
    d.mkdir(exist_ok=True)
    for name in ("annotations", "stances", "spans"):
        pq.write_table(getattr(inputs, name), d / f"{name}.parquet")
    return d


def _with_column(table, name, values):
    import pyarrow as pa

    i = table.column_names.index(name)
    return table.set_column(i, name, pa.array(values, table.schema.field(name).type))


@pytest.mark.parametrize("table, column", [("annotations", "annotator"), ("spans", "annotator"), ("stances", "annotator")])
def test_an_email_in_a_released_table_is_refused_and_nothing_written(inputs, tmp_path, table, column):
    from dataclasses import replace

    from framestance.publish import release_problems

    assert release_problems(inputs, CB) == []
    t = getattr(inputs, table)
    values = t[column].to_pylist()
    values[0] = "ada.quill@example.org"
    bad = replace(inputs, **{table: _with_column(t, column, values)})
    problems = release_problems(bad, CB)
    assert any("e-mail address" in p for p in problems) and any(f"{table}.annotator" in p for p in problems)
    with pytest.raises(PublishError, match="refusing to publish: the tables fail validation"):
        publish(bad, CB, tmp_path / "dist", opts(), CODEBOOK_TEXT)
    assert not (tmp_path / "dist").exists() or not any((tmp_path / "dist").rglob("*.parquet"))


def test_an_invalid_table_is_refused_by_publish(inputs, tmp_path):
    from dataclasses import replace

    t = inputs.annotations
    tones = t["tone"].to_pylist()
    tones[0] = "furious"  # not in the codebook
    with pytest.raises(PublishError, match=r"annotations: .*\(1 rows\)"):
        publish(replace(inputs, annotations=_with_column(t, "tone", tones)), CB, tmp_path / "dist", opts(), CODEBOOK_TEXT)
    assert not any((tmp_path / "dist").rglob("*.parquet")) if (tmp_path / "dist").exists() else True


def test_a_related_article_goes_to_its_parent_pages_split():
    import pyarrow as pa

    from framestance.publish import split_groups

    arts = pa.table({
        "article_id": ["p1", "r1", "r2", "x", "y"],
        "cluster_id": ["c-p1", "c-r1", "c-r2", "c-x", "c-r1"],  # y is a near-duplicate of r1, from another page
        "parent_id": [None, "p1", "p1", None, None],
    })
    groups = split_groups(arts)
    assert groups["p1"] == groups["r1"] == groups["r2"] == groups["y"] == "c-p1"
    assert groups["x"] == "c-x"


def test_gold_questions_and_their_copies_are_never_released():
    import dataclasses

    import pyarrow as pa

    from framestance.codebook import load
    from framestance.publish import hidden_articles, released_codebook

    cb = load(ROOT / "schemas" / "codebook.yaml")
    gold_cb = dataclasses.replace(cb, gold={"g1": {"primary_frame": "economic"}})
    arts = pa.table({"article_id": ["g1", "dup", "near", "other"], "cluster_id": ["c1", "c1", "c1", "c2"],
                     "duplicate_of": [None, "g1", None, None]})
    assert hidden_articles(arts, gold_cb) == ["dup", "g1", "near"]
    assert hidden_articles(arts, cb) == []
    text = (ROOT / "schemas" / "codebook.yaml").read_text().replace("gold: {}", "gold:\n  g1: {primary_frame: economic}")
    released = released_codebook(text, gold_cb)
    assert "g1" not in released and "economic" in released  # the frames stay, the answer key goes
    assert released_codebook(text.replace("gold:\n  g1: {primary_frame: economic}", "gold: {}"), cb).endswith(
        (ROOT / "schemas" / "codebook.yaml").read_text()[-40:])


def test_selection_reaches_the_dataset_and_the_card(inputs, sample, tmp_path):
    """Two rounds of `select` over the sample's hits: the dataset carries each article's round and
    probability, and the card's computed statements match the tables."""
    import dataclasses

    from framestance.search import build_index
    from framestance.selection import load_rounds, select_round

    build_index(sample / "corpus", tmp_path / "index")
    first = select_round(sample / "corpus", tmp_path / "index", tmp_path / "sel", CB.query, round_size=5, seed=4)
    second = select_round(sample / "corpus", tmp_path / "index", tmp_path / "sel", CB.query, round_size=50, seed=4)
    hits = first.record.hits
    assert len(first.rows) == 5 and len(second.rows) == hits - 5  # one stratum: exactly 5 keys below 5/hits; round 2: the rest
    rounds, chosen = load_rounds(tmp_path / "sel")
    inp = dataclasses.replace(inputs, rounds=rounds, selection=chosen)
    path, _ = publish(inp, CB, tmp_path / "dist", opts(), CODEBOOK_TEXT)
    gold = load_config(path, "default", tmp_path / "cache")
    got = {a: (r, m, p) for d in gold.values()
           for a, r, m, p in zip(d["article_id"], d["selection_round"], d["in_probability_sample"], d["inclusion_probability"])}
    for row in first.rows + second.rows:
        if row["article_id"] in got:  # after round 2 every hit is in the probability sample: a census
            assert got[row["article_id"]] == (row["round"], True, 1.0)
    assert sum(r == 1 for r, _, _ in got.values()) >= 3
    card = (path / "README.md").read_text(encoding="utf-8")
    assert f"`{CB.query}` ({hits} articles" in card
    assert f"| 1 | {hits} | 0 | 5 | {5 / hits:.4f} | none |" in card and f"| 2 | {hits - 5} | 0 | {hits - 5} | 1.0000 | none |" in card
    # every hit is in the sample after round 2 (a census): the weighted share is the unweighted one among the same
    # articles; its interval has width only where some relevant member lacks a resolved label on the dimension
    section = card.split("## Selection")[1].split("## Annotation process")[0]
    rows = [line.split(" | ") for line in section.splitlines() if line.startswith("| primary_frame |") or line.startswith("| tone |")]
    assert rows
    for cells in rows:
        weighted, unweighted = cells[2], cells[3]
        point = weighted.split(" [")[0]
        low, high = (float(x.strip(" %")) for x in weighted.split(" [")[1].rstrip("]").split(", "))
        assert point == unweighted and low <= float(point.strip(" %")) <= high, cells
