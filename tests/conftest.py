from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "corpus" / "raw"
SEEDS = ROOT.parent / "shared" / "seeds"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
RETRIEVED = datetime(2025, 8, 18, 9, 30, tzinfo=UTC)


@pytest.fixture
def normalise_dir(tmp_path, monkeypatch):
    """Run the real pipeline on a folder and return (summary, articles rows, rejects rows)."""
    from framestance.normalise import normalise

    monkeypatch.chdir(tmp_path)

    def run(*inputs, out="out", workers=1, **kw):
        kw.setdefault("retrieved_at", RETRIEVED)
        summary = normalise([str(i) for i in inputs], tmp_path / out, workers=workers, **kw)
        arts = pq.read_table(tmp_path / out / "articles.parquet").to_pylist()
        rejs = pq.read_table(tmp_path / out / "rejects.parquet").to_pylist()
        return summary, arts, rejs

    return run


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def body(n_sentences: int = 6, topic: str = "the talks") -> str:
    """Filler prose of our own, distinct per topic (so that dedup does not merge test articles)."""
    words = topic.split()
    out = []
    for i in range(n_sentences):
        out.append(
            f"Sentence {i} about {topic} notes that officials met on day {i} and that "
            f"{' '.join(reversed(words))} remained the main question for {topic} observers number {i * 7 + len(topic)}."
        )
    return " ".join(out)


@pytest.fixture(scope="session")
def studio():
    """One real Label Studio for the whole session (own venv, SQLite under .studio-test/);
    reused when one is already running there, stopped at the end when this session started it."""
    from framestance.labelstudio.server import LocalStudio

    home = LocalStudio(ROOT / ".studio-test", venv=ROOT / ".venv-ls")
    was_up = home.status()["healthy"]
    conn = home.up(say=lambda m: print(m))
    yield home, conn
    if not was_up:
        home.down()


@pytest.fixture(scope="session")
def studio_client(studio):
    from framestance.labelstudio.client import Client

    _home, conn = studio
    return Client(conn.url, conn.api_key)


_VOCAB = None


def prose(seed: int, n_sentences: int = 6) -> str:
    """Random but reproducible prose (a fixed vocabulary of made-up words): texts with different
    seeds share almost no 5-word shingles, so dedup keeps them apart."""
    import random

    global _VOCAB
    if _VOCAB is None:
        rng = random.Random(12345)
        _VOCAB = ["".join(rng.choices("etaoinshrdlucmfwypvbgk", k=rng.randint(2, 9))) for _ in range(3000)]
    rng = random.Random(seed)
    out = []
    for _ in range(n_sentences):
        words = rng.choices(_VOCAB, k=rng.randint(8, 20))
        out.append(" ".join(words).capitalize() + ".")
    return " ".join(out)


@pytest.fixture(scope="session")
def sample(tmp_path_factory):
    """The bundled sample corpus, normalised, and the synthetic annotations of the bundled snapshot's
    generator (scripts/make_sample_annotations.py), as folders of parquet tables: corpus/, annotations/."""
    import json
    import sys

    from framestance.codebook import load
    from framestance.labelstudio.pull import scrub, tables_from_snapshot, write_tables
    from framestance.normalise import normalise

    root = tmp_path_factory.mktemp("sample")
    normalise([str(SAMPLE)], root / "corpus", retrieved_at=RETRIEVED, workers=1, force=True)
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from make_sample_annotations import build
    finally:
        sys.path.pop(0)
    codebook = ROOT / "schemas" / "codebook.yaml"
    snapshot = scrub(json.dumps(build(root / "corpus", codebook)).encode(), lambda u: u)
    write_tables(tables_from_snapshot(snapshot, load(codebook)), root / "annotations")
    return root


@pytest.fixture(scope="session")
def corpus200(tmp_path_factory):
    """A normalised corpus of 200 distinct articles (plus 5 exact duplicates that push skips)."""
    from framestance.normalise import normalise

    src = tmp_path_factory.mktemp("raw200")
    outlets = ["Harbour Times", "Pacific Daily", "Valley Courier", "Northwire"]
    for i in range(200):
        write(src / f"a{i:03d}.txt", f"Generated story number {i} about the talks\n{outlets[i % 4]} {i % 9 + 1} hours ago\n"
              + prose(i, 5))
    for i in range(5):
        write(src / f"dup{i}.txt", f"Generated story number {i} about the talks again\n" + prose(i, 5))
    out = tmp_path_factory.mktemp("corpus200")
    summary = normalise([str(src)], out, retrieved_at=RETRIEVED, workers=1, force=True)
    assert summary.unique == 200 and summary.exact_duplicates == 5
    return out


def subset_corpus(corpus: Path, rows: int, folder: Path) -> Path:
    """A corpus folder holding the first `rows` articles of `corpus` (a later one is a superset)."""
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pq.read_table(corpus / "articles.parquet").slice(0, rows), folder / "articles.parquet")
    return folder


def choices_result(cb, primary: str, tone: str, stance: str) -> list[dict]:
    """A Label Studio result: `primary` as primary frame and only frame, `tone`, `stance` on every target."""
    name = {f.id: f.name for f in cb.frames}
    items = [{"from_name": cb.PRIMARY, "to_name": "text", "type": "choices", "value": {"choices": [name[primary]]}},
             {"from_name": cb.FRAMES, "to_name": "text", "type": "choices", "value": {"choices": [name[primary]]}},
             {"from_name": cb.TONE, "to_name": "text", "type": "choices", "value": {"choices": [tone]}}]
    items += [{"from_name": cb.stance_control(t.id), "to_name": "text", "type": "choices", "value": {"choices": [stance]}}
              for t in cb.targets]
    return items
