"""The `ray` engine gives the `local` engine's answer: the same articles, ids, `duplicate_of`,
`cluster_id`, text hashes, rejects and summary, byte for byte, on inputs with planted exact and
near duplicates across files, a URL crawled twice (with a related article), rejects and a WARC.
Ray runs in local mode on two CPUs, with map tasks of two files so that duplicates meet only in
the shuffle."""

from __future__ import annotations

import json
import shutil
from collections import Counter

import pyarrow.parquet as pq
import pytest

from framestance.normalise import normalise

from ..conftest import RETRIEVED, ROOT, body
from .test_warc import RECORDS, _page, _warc

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield
    ray.shutdown()


def _inputs(folder):
    shutil.copytree(ROOT / "corpus" / "raw", folder / "sample")  # an exact and a near duplicate, a related article, rejects
    pages = folder / "pages"
    pages.mkdir()
    for k in range(12):
        (pages / f"p{k:02d}.html").write_bytes(_page(f"Story {k} of the harbour", f"harbour story {k}"))
    # planted: an exact copy and a near copy (one word changed), each in a later file than its original
    (pages / "p99-exact.html").write_bytes(_page("Story 3 of the harbour", "harbour story 3"))
    (pages / "p98-near.html").write_bytes(_page("Story 5 of the harbour", "harbour story 5").replace(b"Sentence 2 ", b"Clause 2 ", 1))
    # a URL crawled twice with new text; a page with a related article stored twice
    url = "https://harbour.example/story/again"
    first = {"url": url, "title": "First crawl", "maintext": body(6, "first crawl of the quay"), "date_publish": "2025-08-10"}
    second = {"url": url, "title": "Second crawl", "maintext": body(6, "second crawl of the pier"), "date_publish": "2025-08-11"}
    (folder / "zz-again").mkdir()
    shutil.copy(ROOT / "corpus" / "raw" / "dumps" / "aggregator_analysis.txt", folder / "zz-again")
    (folder / "a-records.jsonl").write_text(json.dumps(first) + "\n")
    (folder / "z-records.jsonl").write_text(json.dumps(second) + "\n" + "{not json\n")
    (folder / "crawl.warc.gz").write_bytes(_warc(RECORDS))
    (folder / "empty.txt").write_bytes(b"")
    return folder


def test_ray_and_local_engines_give_the_same_bytes(local_ray, tmp_path, monkeypatch):
    from framestance.normalise import ray_engine

    monkeypatch.setattr(ray_engine, "FILES_PER_TASK", 2)
    inputs = _inputs(tmp_path / "in")
    out = {}
    for engine in ("local", "ray"):
        out[engine] = tmp_path / engine
        normalise([str(inputs)], out[engine], workers=2, engine=engine, retrieved_at=RETRIEVED)
    for name in ("articles.parquet", "rejects.parquet", "summary.json"):
        assert (out["local"] / name).read_bytes() == (out["ray"] / name).read_bytes(), name

    summary = json.loads((out["ray"] / "summary.json").read_text())
    assert summary["exact_duplicates"] >= 2 and summary["near_duplicates"] >= 3  # the sample's, ours and the URL
    assert summary["skipped"] and summary["rejects_by_reason"]["empty"] >= 2
    arts = {r["title"]: r for r in pq.read_table(out["ray"] / "articles.parquet").to_pylist()}
    first, again = arts["First crawl"], arts["Second crawl"]
    assert again["duplicate_of"] == first["article_id"] != again["article_id"]  # crawled again: a new id
    rows = pq.read_table(out["ray"] / "articles.parquet").to_pylist()
    main, related = (r for r in rows if "zz-again" in r["source_path"])
    original = next(r for r in rows if r["source_path"].endswith("sample/dumps/aggregator_analysis.txt"))
    assert main["duplicate_of"] == original["article_id"] != main["article_id"]  # the same id again: renamed
    assert related["relation"] == "related" and related["parent_id"] == main["article_id"]  # follows its renamed parent
    story = {r["title"]: r for r in rows if r["source_path"].endswith(tuple(f"p{k:02d}.html" for k in range(12)))}
    assert len(story) == 12 and not any(r["duplicate_of"] for r in story.values())
    copies = [r for r in rows if r["source_path"].endswith(("p99-exact.html", "p98-near.html"))]
    assert {r["duplicate_of"] for r in copies} == {story["Story 3 of the harbour"]["article_id"],
                                                  story["Story 5 of the harbour"]["article_id"]}


def test_part_files_hold_the_same_rows_in_order_and_the_same_bytes_on_both_engines(local_ray, tmp_path, monkeypatch):
    """`rows_per_file`: a folder of part files (the ray engine's written by its workers) whose
    rows, read as one table, are the one-file output's; each part file byte-identical across
    engines; `datasets` and the later stages read the folder; --force replaces file by folder."""
    from datasets import load_dataset

    from framestance.labelstudio.push import load_candidates
    from framestance.normalise import ray_engine

    monkeypatch.setattr(ray_engine, "FILES_PER_TASK", 2)
    # blocks of a few KB: Ray cuts a map task's rows into several blocks, a file's rows among them
    monkeypatch.setattr(ray.data.DataContext.get_current(), "target_max_block_size", 4096)
    inputs = _inputs(tmp_path / "in")
    one = tmp_path / "one"
    normalise([str(inputs)], one, workers=2, retrieved_at=RETRIEVED)
    whole = {name: pq.read_table(one / f"{name}.parquet") for name in ("articles", "rejects")}
    assert whole["articles"].num_rows > 7 and whole["rejects"].num_rows > 3
    for engine in ("local", "ray"):
        normalise([str(inputs)], tmp_path / engine, workers=2, engine=engine, retrieved_at=RETRIEVED, rows_per_file=3)
    for name, table in whole.items():
        folder = tmp_path / "local" / f"{name}.parquet"
        files = sorted(p.name for p in folder.iterdir())
        assert files == [f"part-{k:05d}.parquet" for k in range(-(-table.num_rows // 3))], name  # parts of 3 rows, the last shorter
        for f in files:
            assert (folder / f).read_bytes() == (tmp_path / "ray" / f"{name}.parquet" / f).read_bytes(), (name, f)
        assert pq.read_table(folder).equals(table), name  # read as one table: the same rows in the same order
    assert (tmp_path / "local" / "summary.json").read_bytes() == (tmp_path / "ray" / "summary.json").read_bytes()
    assert (tmp_path / "ray" / "summary.json").read_bytes() == (one / "summary.json").read_bytes()

    ds = load_dataset("parquet", data_files=str(tmp_path / "ray" / "articles.parquet" / "*.parquet"), split="train")
    assert ds["article_id"] == whole["articles"]["article_id"].to_pylist()
    table, candidates, duplicates = load_candidates(tmp_path / "ray")  # push reads the folder as it reads the file
    assert table.equals(whole["articles"]) and duplicates == sum(1 for d in table["duplicate_of"].to_pylist() if d)

    # one file where a folder was, and a folder where a file was, with --force only
    normalise([str(inputs)], tmp_path / "ray", workers=1, retrieved_at=RETRIEVED, force=True)
    assert (tmp_path / "ray" / "articles.parquet").read_bytes() == (one / "articles.parquet").read_bytes()
    normalise([str(inputs)], one, workers=1, retrieved_at=RETRIEVED, force=True, rows_per_file=1000)
    assert sorted(p.name for p in (one / "articles.parquet").iterdir()) == ["part-00000.parquet"]
    assert not [p for p in one.iterdir() if p.name.startswith(".")]  # nothing left aside


def test_an_unknown_engine_is_refused(tmp_path):
    from framestance.normalise import BadParams

    with pytest.raises(BadParams, match="engine 'spark': use one of local, ray"):
        normalise([str(ROOT / "corpus" / "raw")], tmp_path / "out", engine="spark")


def test_inputs_on_a_pyarrow_file_system_read_as_the_same_files(local_ray, tmp_path):
    """A URI (s3://, gs://, hdfs://; file:// here) is listed and each file copied, then read as a
    local file would be: the same articles and rejects, with the URI as `source_path`."""
    from framestance.normalise.readers import InputError

    inputs = ROOT / "corpus" / "raw"
    normalise([str(inputs)], tmp_path / "path", retrieved_at=RETRIEVED)
    uri = f"file://{inputs.resolve()}"
    for engine in ("local", "ray"):
        normalise([uri], tmp_path / engine, engine=engine, workers=2, retrieved_at=RETRIEVED)
        for name in ("articles", "rejects"):
            want = pq.read_table(tmp_path / "path" / f"{name}.parquet")
            got = pq.read_table(tmp_path / engine / f"{name}.parquet")
            assert got.drop_columns(["source_path"]).equals(want.drop_columns(["source_path"])), (engine, name)
            paths = got["source_path"].to_pylist()
            assert all(p.startswith(uri + "/") for p in paths)
            assert [p.split("corpus/raw/")[1] for p in paths] == [p.split("corpus/raw/")[1] for p in want["source_path"].to_pylist()]
    with pytest.raises(InputError, match="nosuch://bucket/x: cannot list it"):
        normalise(["nosuch://bucket/x"], tmp_path / "bad")


def _random_stream(rng, ranges, num_perm: int = 128):
    """Articles with few distinct ids, text keys and band values, so that URLs recur, texts repeat
    and band buckets collide; inputs stored twice carry a related article behind a renamed main,
    at times one with its main's own URL."""
    import numpy as np
    import pyarrow as pa

    from framestance.schema import ARTICLE

    rows, keys, sigs = [], [], []
    inputs: list[tuple] = []
    for _ in range(rng.randint(1, 40)):
        if inputs and rng.random() < 0.25:
            src, pos, ids = rng.choice(inputs)  # the same input again: the same ids
        else:
            src, pos = f"{rng.randrange(4):064x}", rng.randrange(3)
            main = f"{rng.randrange(6):020x}"
            related = main if rng.random() < 0.3 else f"{rng.randrange(6) + 100:020x}"  # sometimes the main's own URL
            ids = [main, *([related] if rng.random() < 0.4 else [])]
            inputs.append((src, pos, ids))
        for k, aid in enumerate(ids):
            rows.append({"article_id": aid, "source_path": "x", "source_sha256": src, "position": pos, "input_kind": "text",
                         "relation": "main" if k == 0 else "related", "parent_id": None if k == 0 else ids[0],
                         "authors": [], "author_roles": [], "retrieved_at": RETRIEVED, "text": "t", "paragraphs": [],
                         "media": [], "n_words": 1, "text_sha256": "0" * 64, "cluster_id": aid, "normaliser_version": "1",
                         "notes": []})
            keys.append(f"{rng.randrange(5):032x}")
            sig = np.zeros(num_perm, np.uint32)
            for a, z in ranges:
                sig[a:z] = rng.randrange(4)
            sigs.append(sig)
    return pa.RecordBatch.from_pylist(rows, schema=ARTICLE), keys, np.stack(sigs)


def test_components_resolved_in_the_cluster_replay_the_local_index_on_random_collisions(local_ray):
    """The duplicates resolved per connected component, by Ray tasks, against the local engine's
    streaming index, on 100 random streams full of recurring URLs, texts and band buckets and 20
    chains of near copies, over
    several files cut into blocks anywhere, in 1 to 4 pieces per shuffle and 1 to 3 ranges."""
    import random

    import numpy as np
    import pyarrow as pa

    from framestance.normalise.collisions import decisions_for, marked, resolve_in_cluster
    from framestance.normalise.core import Result
    from framestance.normalise.dedup import Deduplicator
    from framestance.normalise.ray_engine import SEQ_BITS, article_rows, shuffle_keys
    from framestance.schema import REJECT

    rounds = []
    for seed in range(120):
        rng = random.Random(seed)
        local = Deduplicator(0.8, 128)
        batch, keys, sigs = _random_stream(rng, local.ranges)
        if seed >= 100:  # a chain: article i shares one band with i - 1 and another with i + 1, and nothing else
            n = len(sigs)
            ids = [f"{1000 + i:020x}" for i in range(n)]
            mains = [i if r == "main" else None for i, r in enumerate(batch.column("relation").to_pylist())]
            main_of = [max(k for k in range(i + 1) if mains[k] is not None) for i in range(n)]
            batch = batch.set_column(batch.schema.get_field_index("article_id"), "article_id", pa.array(ids))
            batch = batch.set_column(batch.schema.get_field_index("parent_id"), "parent_id",
                                     pa.array([None if mains[i] is not None else ids[main_of[i]] for i in range(n)], pa.string()))
            keys = [f"{i:032x}" for i in range(n)]
            sigs = np.stack([np.repeat(np.array([i // 2, (i + 1) // 2] + [1000 * (i + 1) + k for k in range(len(local.ranges) - 2)],
                                                np.uint32), [z - a for a, z in local.ranges]) for i in range(n)])
        want, exact, near = local.mark(Result(batch, pa.RecordBatch.from_pylist([], schema=REJECT), keys, sigs))
        # the stream in files, each cut at a main article (a record's articles share its file)
        mains = [i for i, r in enumerate(batch.column("relation").to_pylist()) if r == "main"]
        cuts = sorted({0, *rng.sample(mains, rng.randint(0, len(mains) - 1))})
        files = []
        for f, (a, z) in enumerate(zip(cuts, cuts[1:] + [batch.num_rows])):
            part = Result(batch.slice(a, z - a), None, keys[a:z], sigs[a:z])
            files.append(article_rows(part, local.ranges, f << SEQ_BITS))  # as a map task writes them
        rows = pa.concat_tables(files)
        at = sorted({0, *rng.sample(range(1, rows.num_rows + 1), rng.randint(0, min(3, rows.num_rows)))})
        blocks = [rows.slice(a, z - a) for a, z in zip(at, at[1:] + [rows.num_rows])]  # Ray cuts blocks anywhere
        bounds = np.array(sorted({0, *rng.sample(range(len(files)), rng.randint(0, min(2, len(files) - 1)))}),
                          np.int64) << SEQ_BITS
        res = resolve_in_cluster([ray.put(b) for b in blocks], shuffle_keys, bounds, rng.randint(1, 4), rng.randint(1, 4),
                                 len(bounds))
        got = [marked(b, decisions_for(b["_order"].to_numpy(), res.bounds, res.pieces)) for b in blocks if b.num_rows]
        for name in ("article_id", "parent_id", "duplicate_of", "cluster_id"):
            assert [v for g in got for v in g.column(name).to_pylist()] == want.column(name).to_pylist(), (seed, name)
        assert (res.exact, res.near) == (exact, near), seed
        rounds.append(res.rounds)
    print("rounds until the labels settled:", dict(sorted(Counter(rounds).items())))
    chains = rounds[100:]
    # the chains (up to ~55 articles): labels jump (an article takes its label's label), so they settle in
    # about log2 of the chain's length rounds, not one round per link (53 rounds before the jumps)
    assert 2 < max(chains) <= 8, chains
