"""A researcher's study, end to end, for real: `framestance init`, the study's own inputs (crawler
records with a field framestance does not read, two spellings of one outlet, an HTML page), `dvc
repro` to the first round, three annotators and an adjudicator (a scrubbed snapshot of our own
making, as `pull` stores one), `dvc repro` to the release; then every computed statement of the
card is checked against the tables, the release holds no text, `hydrate` puts it back byte for
byte and refuses a changed copy, and pull refuses a codebook the project was not pushed with.
All inputs are our own writing (made-up outlets, people and places)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from framestance.normalise.text import outlet_key
from framestance.study import dvc_yaml

from .conftest import ROOT

BIN = Path(sys.executable).parent
SHARED = ROOT.parent / "shared"


def _env() -> dict:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1",
            "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "LABEL_STUDIO_URL": "", "LABEL_STUDIO_API_KEY": "",
            "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.org"}


def _run(args: list[str], cwd: Path, ok: bool = True) -> subprocess.CompletedProcess:
    res = subprocess.run(args, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=900)
    if ok:
        assert res.returncode == 0, f"{args}: {res.stdout}\n{res.stderr}"
    return res


PLACES = ["Velmora", "Ostrava Bay", "Saltreach", "Durnhal", "the Hollin basin", "Marrow Point"]


def _body(i: int, topic: str) -> str:
    place = PLACES[i % len(PLACES)]
    if topic == "climate":
        return (f"Officials in {place} presented a plan on Monday to cut greenhouse gas emissions by half before 2040, "
                "arguing that climate change has already raised the cost of flood defences and crop insurance. "
                f"The council said the plan would cost {3 + i} million crowns a year, paid for by a levy on coal. "
                "Farmers' groups warned that the levy would fall hardest on rural families, while scientists at the "
                "regional institute said global warming would cost far more if nothing was done. The vote is due next month.")
    return (f"The football club of {place} signed a new goalkeeper on Monday for a fee the club did not disclose. "
            "The coach said the squad needed experience before the cup match next month, and supporters queued "
            "for tickets outside the stadium from early morning. The club's chairman thanked the fans for their "
            "patience during a difficult season and promised more signings before the transfer window closes.")


def _inputs(raw: Path) -> None:
    outlets = ["thedailycaller", "The Daily Caller", "Harbour Times", "harbourtimes", "Coastal Review", "Coastal Review"]
    records = []
    for i in range(6):
        records.append({"url": f"https://news.example/{i}", "title": f"Emissions plan for {PLACES[i]}",
                        "maintext": _body(i, "climate"), "date_publish": f"2019-03-{10 + i:02d} 08:00:00",
                        "date_download": "2019-04-01T10:00:00Z", "source_domain": outlets[i],
                        "mbfc_bias": ["right", "right", "left-center", "left-center", "center", "center"][i],
                        "authors": ["Ada Quill"]})
    records.append({"url": "https://news.example/sport", "title": "Club signs goalkeeper", "maintext": _body(0, "sport"),
                    "date_publish": "2019-03-20", "date_download": "2019-04-01T10:00:00Z", "source_domain": "Harbour Times",
                    "mbfc_bias": "left-center"})
    (raw / "crawl.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    paragraphs = "".join(f"<p>{s}.</p>" for s in _body(7, "climate").split(". "))
    html = ("<html><head><title>Levy on coal divides Marrow Point</title>"
            '<script type="application/ld+json">{"@type": "NewsArticle", "headline": "Levy on coal divides Marrow Point",'
            ' "datePublished": "2019-03-25T09:00:00Z", "publisher": {"name": "Pacific Ledger"}}</script></head>'
            f"<body><article><h1>Levy on coal divides Marrow Point</h1>{paragraphs}{paragraphs}</article></body></html>")
    (raw / "levy.html").write_text(html, encoding="utf-8")


ANNOTATORS = ["ann-00000000000a", "ann-00000000000b", "ann-00000000000c"]
ADJUDICATOR = "ann-0000000000ad"


def _result(cb, relevant: bool, primary: str, tone: str, stance: str) -> list[dict]:
    if not relevant:
        return [{"from_name": cb.RELEVANCE, "to_name": "text", "type": "choices",
                 "value": {"choices": [cb.relevance[1].name]}}]
    frame = {f.id: f.name for f in cb.frames}
    return [{"from_name": cb.PRIMARY, "to_name": "text", "type": "choices", "value": {"choices": [frame[primary]]}},
            {"from_name": cb.FRAMES, "to_name": "text", "type": "choices", "value": {"choices": [frame["economic"]]}},
            {"from_name": cb.TONE, "to_name": "text", "type": "choices", "value": {"choices": [tone]}},
            {"from_name": cb.stance_control(cb.targets[0].id), "to_name": "text", "type": "choices",
             "value": {"choices": [stance]}}]


def _snapshot(study: Path) -> dict[str, str]:
    """Three annotators on every selected article; a split primary frame adjudicated on one."""
    from framestance.codebook import load

    cb = load(study / "schemas" / "codebook.yaml")
    arts = {r["article_id"]: r for r in pq.read_table(study / "corpus" / "normalised" / "articles.parquet").to_pylist()}
    chosen = sorted(pq.read_table(study / "corpus" / "selection" / "round-001.parquet")["article_id"].to_pylist())
    tasks, n, plan = [], 0, {}
    for k, aid in enumerate(chosen):
        sport = "goalkeeper" in arts[aid]["text"]
        anns = []
        for j, who in enumerate(ANNOTATORS):
            n += 1
            primary = ["economic", "policy", "political"][j] if k == 0 else ("economic" if j < 2 else "policy")
            anns.append({"id": n, "completed_by": who, "was_cancelled": False, "lead_time": 60.0 + 10 * j + k,
                         "created_at": f"2019-05-0{1 + j}T10:00:00Z", "updated_at": f"2019-05-0{1 + j}T10:00:00Z",
                         "result": _result(cb, not sport, primary, "neutral", "favor")})
        tasks.append({"id": k + 1, "project": 1, "data": {"article_id": aid, "text_sha256": arts[aid]["text_sha256"]},
                      "annotations": anns})
        plan[aid] = "sport" if sport else ("split" if k == 0 else "agreed")
    split = chosen[0]
    n += 1
    tasks.append({"id": 100, "project": 2, "framestance_queue": "adjudication",
                  "data": {"article_id": split, "text_sha256": arts[split]["text_sha256"]},
                  "annotations": [{"id": n, "completed_by": ADJUDICATOR, "was_cancelled": False, "lead_time": 30.0,
                                   "created_at": "2019-05-05T10:00:00Z", "updated_at": "2019-05-05T10:00:00Z",
                                   "result": _result(cb, True, "policy", "neutral", "favor")}]})
    folder = study / "annotations" / "climate-study"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "20190506T000000Z-0123456789ab.json").write_text(json.dumps(tasks, sort_keys=True), encoding="utf-8")
    return plan


def _card_table(card: str, first_header: str) -> list[list[str]]:
    lines = card.split("\n")
    at = next(i for i, ln in enumerate(lines) if ln.startswith(f"| {first_header} |"))
    rows = []
    for ln in lines[at + 2:]:
        if not ln.startswith("|"):
            break
        rows.append([c.strip() for c in ln.strip("|").split("|")])
    return rows


def test_a_new_study_runs_end_to_end_and_its_card_tells_the_truth(tmp_path):
    study = tmp_path / "climate-study"
    _run([str(BIN / "framestance"), "init", str(study), "--issue", "climate change policy",
          "--statement", "Policies that cut greenhouse-gas emissions to limit climate change.",
          "--query", 'climate OR "global warming" OR emissions'], tmp_path)
    assert (study / "dvc.yaml").read_text() == dvc_yaml()
    params = yaml.safe_load((study / "params.yaml").read_text())
    assert params["study"]["name"] == "climate-study" and "retrieved_at" not in (params["normalise"] or {})
    params["study"].update(title="Climate policy framing (test)", authors=["Quill, Ada", "Marsh, Tobias"], year=2026,
                           url="https://example.org/climate-study", license="cc-by-4.0", release_extra=["mbfc_bias"],
                           source="A test crawl of made-up pages, April 2019.",
                           annotators="Three graduate students, trained on 20 articles.", adjudicators="The first author.")
    params["select"]["round_size"] = 50
    params["quality"]["min_annotators"] = 2
    (study / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    cb_text = (study / "schemas" / "codebook.yaml").read_text()
    (study / "schemas" / "codebook.yaml").write_text(cb_text.replace("TO FILL (the target's name)", "the coal levy"))
    _inputs(study / "corpus" / "raw")
    _run(["git", "add", "-A"], study)
    _run(["git", "commit", "-qm", "study"], study)

    first = _run([str(BIN / "dvc"), "repro", "select"], study)
    assert "no annotations yet" in first.stdout + first.stderr
    arts = pq.read_table(study / "corpus" / "normalised" / "articles.parquet").to_pylist()
    assert {a["input_kind"] for a in arts} == {"records", "html"}
    # data, not the sample, gives the retrieval time; unknown crawler fields survive; one key per outlet
    assert {a["retrieved_at"].isoformat() for a in arts if a["input_kind"] == "records"} == {"2019-04-01T10:00:00+00:00"}
    assert all({e["name"] for e in a["extra"]} == {"mbfc_bias"} for a in arts if a["input_kind"] == "records")
    keys = {a["outlet"]: a["outlet_key"] for a in arts}
    assert keys["thedailycaller"] == keys["The Daily Caller"] == "dailycaller"
    assert keys["harbourtimes"] == keys["Harbour Times"]

    plan = _snapshot(study)
    # the ledger push and adjudicate keep (written here as they write it): round 1 pushed to three
    # blind queues, a seeded sample pushed from a corpus filtered by hand (one article fewer), one
    # adjudication round
    from datetime import UTC, datetime

    from framestance import ledger
    from framestance.codebook import load
    from framestance.labelstudio.push import PushReport, ledger_entry

    cb = load(study / "schemas" / "codebook.yaml")
    candidates = sum(1 for a in arts if a["duplicate_of"] is None)
    day = datetime(2019, 5, 1, tzinfo=UTC)
    ledger.append(study / "annotations", "climate-study", "push", ledger_entry(
        PushReport(candidates=candidates, sampled=len(plan), created=3 * len(plan), queues=dict.fromkeys(ANNOTATORS, 0)),
        cb, selection_round=1, overlap=3), now=day)
    ledger.append(study / "annotations", "climate-study", "push", ledger_entry(
        PushReport(candidates=candidates - 1, sampled=2, created=0, already_present=2), cb, n=2, seed=7,
        stratify="outlet"), now=day)
    ledger.append(study / "annotations", "climate-study", "adjudication",
                  {"below": 0.5, "sent": 1, "created": 1, "already_present": 0}, now=datetime(2019, 5, 4, tzinfo=UTC))
    _run([str(BIN / "dvc"), "repro"], study)
    release = study / "dist" / "climate-study" / "0.1.0"
    card = (release / "README.md").read_text()
    gold = pq.read_table(study / "corpus" / "gold" / "gold.parquet").to_pylist()
    assert len(gold) == len(plan)

    # no article text anywhere in the release; the crawler field released by name
    import datasets

    default = datasets.load_dataset(str(release), cache_dir=str(tmp_path / "cache"))
    for config in ("default", "spans", "corpus"):
        if (release / "data" / config).is_dir():
            ds = datasets.load_dataset(str(release), config, cache_dir=str(tmp_path / "cache"))
            assert "text" not in next(iter(ds.values())).features, config
    rows = [r for split in default.values() for r in split]
    assert sorted(r["extra_mbfc_bias"] for r in rows if r["url"] != "https://news.example/sport" and r["extra_mbfc_bias"]) \
        == sorted(a["extra"][0]["value"] for a in arts if a["extra"] and a["article_id"] in {r["article_id"] for r in rows}
                  and a["url"] != "https://news.example/sport")
    for a in arts:
        assert a["text"][:80] not in card
    assert "Crawler fields released by name, as the crawler gave them (study.release_extra): `extra_mbfc_bias`." in card

    # the card's gold sources are the gold table's
    sources = {r[0]: r[1:] for r in _card_table(card, "label")}
    for col in ("relevance", "primary_frame", "tone"):
        voted = sum(1 for g in gold if g[f"{col}_source"] not in (None, "adjudicated") and g[col] not in (None, "unresolved"))
        adjudicated = sum(1 for g in gold if g[f"{col}_source"] == "adjudicated" and g[col] != "unresolved")
        unresolved = sum(1 for g in gold if g[col] == "unresolved")
        assert sources[col][:3] == [str(voted), str(adjudicated), str(unresolved)], col
    assert sources["primary_frame"][1] == "1"  # the split article went to the adjudicator
    # dates, languages, collection, annotators, time, citation, licence: computed or as the study says
    released = {r["article_id"] for r in rows}
    days = sorted(a["published_at"].strftime("%Y-%m-%d") for a in arts if a["article_id"] in released)
    assert f"Publication dates of the annotated articles: {days[0]} to {days[-1]}" in card
    head = yaml.safe_load(card.split("---\n")[1])
    assert head["language"] == ["en"] and head["multilinguality"] == ["monolingual"] and head["license"] == "cc-by-4.0"
    assert "text dumps" not in card.split("## Collection")[1].split("## ")[0]
    assert "crawler records" in card and "HTML pages" in card
    assert "Three graduate students, trained on 20 articles." in card and "The first author." in card
    assert "To fill in" not in card
    assert f"over {3 * len(plan) + 1} submitted annotations" not in card  # the adjudicator's decision is no annotation
    assert f"over {3 * len(plan)} submitted annotations" in card
    assert "author = {Quill, Ada and Marsh, Tobias}" in card and "year = {2026}" in card
    assert "url = {https://example.org/climate-study}" in card
    assert "Policies that cut greenhouse-gas emissions" in (release / "codebook.yaml").read_text()
    outlets_line = next(ln for ln in card.split("\n") if ln.startswith("Publication dates"))
    caller = sum(1 for r in rows if r["outlet_key"] == "dailycaller")
    assert f"The Daily Caller ({caller})" in outlets_line and "thedailycaller" not in outlets_line and caller == 2

    # every push and adjudication round of the ledger, and the hand filter before the second push
    pushes = _card_table(card, "day")
    assert pushes == [["2019-05-01", "round 1 of the selection", str(candidates), "3 of 3 blind queues", "-", str(3 * len(plan))],
                      ["2019-05-01", "a seeded sample (seed 7) of 2, stratified by outlet", str(candidates - 1), "-", "-", "0"]]
    assert (f"A push drew from a corpus of {candidates - 1} candidate articles, where the published corpus has {candidates}"
            in card)
    assert "1 adjudication rounds (`framestance adjudicate`): 2019-05-04: 1 articles" in card

    # hydrate: byte for byte from the user's copy, and a changed copy is refused
    hydrated = tmp_path / "hydrated"
    _run([str(BIN / "framestance"), "hydrate", str(release), str(study / "corpus" / "normalised"), "--out", str(hydrated)], study)
    full = datasets.load_dataset(str(hydrated), cache_dir=str(tmp_path / "cache"))
    texts = {a["article_id"]: a["text"] for a in arts}
    assert all(r["text"] == texts[r["article_id"]] for split in full.values() for r in split)
    changed = tmp_path / "changed.parquet"
    table = pq.read_table(study / "corpus" / "normalised" / "articles.parquet")
    import pyarrow as pa

    first_id = sorted(released)[0]
    table = table.set_column(table.column_names.index("text"), "text",
                             pa.array([t + " (edited)" if a == first_id else t for a, t in
                                       zip(table["article_id"].to_pylist(), table["text"].to_pylist())]))
    pq.write_table(table, changed)
    refused = _run([str(BIN / "framestance"), "hydrate", str(release), str(changed), "--out", str(tmp_path / "h2")], study, ok=False)
    assert refused.returncode == 2 and "sha256 differs" in refused.stderr and first_id in refused.stderr.replace("\n", "")
    assert not (tmp_path / "h2").exists()
    # the same text with a caption the release did not have: refused too (captions carry a hash)
    original = pq.read_table(study / "corpus" / "normalised" / "articles.parquet")
    media = original["media"].to_pylist()
    at = original["article_id"].to_pylist().index(first_id)
    media[at] = [*media[at], {"caption": "A harbour at dusk.", "credit": "Photo: A. Quill"}]
    captioned = original.set_column(original.column_names.index("media"), "media",
                                    pa.array(media, original.schema.field("media").type))
    pq.write_table(captioned, tmp_path / "captioned.parquet")
    refused = _run([str(BIN / "framestance"), "hydrate", str(release), str(tmp_path / "captioned.parquet"),
                    "--out", str(tmp_path / "h4")], study, ok=False)
    assert refused.returncode == 2 and "text or captions" in refused.stderr and not (tmp_path / "h4").exists()
    # a copy holding the changed article and the original too: the one whose hash matches is taken
    _run([str(BIN / "framestance"), "hydrate", str(release), str(changed), str(study / "corpus" / "normalised"),
          "--out", str(tmp_path / "h3")], study)
    again = datasets.load_dataset(str(tmp_path / "h3"), cache_dir=str(tmp_path / "cache"))
    assert all(r["text"] == texts[r["article_id"]] for split in again.values() for r in split)

    # pull with another codebook (the sample's) refuses, naming the control it does not know
    other = _run([str(BIN / "framestance"), "pull", "--out", "annotations", "--tables", str(tmp_path / "t"),
                  "--codebook", str(ROOT / "schemas" / "codebook.yaml")], study, ok=False)
    assert other.returncode == 2 and "is not in codebook framestance-codebook" in other.stderr
    assert not (tmp_path / "t" / "stances.parquet").exists()


def test_the_samples_pipeline_is_the_study_template_plus_the_packages_own_sources():
    repo = (ROOT / "dvc.yaml").read_text()
    assert "".join(ln for ln in repo.splitlines(True) if not ln.strip().startswith("- src/framestance/")) == dvc_yaml()


def test_init_refuses_a_folder_that_is_not_empty(tmp_path):
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "notes.txt").write_text("mine")
    res = _run([str(BIN / "framestance"), "init", str(tmp_path / "s")], tmp_path, ok=False)
    assert res.returncode == 2 and "not an empty folder" in res.stderr
    assert (tmp_path / "s" / "notes.txt").read_text() == "mine" and len(list((tmp_path / "s").iterdir())) == 1


@pytest.mark.skipif(not (SHARED / "framing-dev" / "articles.jsonl").exists(), reason="../shared/framing-dev is absent")
def test_real_outlet_spellings_collapse_to_one_key():
    names = {json.loads(line)["outlet"] for line in (SHARED / "framing-dev" / "articles.jsonl").open(encoding="utf-8")}
    by_key: dict[str, set[str]] = {}
    for n in names:
        by_key.setdefault(outlet_key(n), set()).add(n)
    # "thedailycaller" and "The Daily Caller", "thehuffingtonpost" and "The Huffington Post", ...
    assert by_key["dailycaller"] == {"thedailycaller", "The Daily Caller"}
    assert by_key["huffingtonpost"] == {"thehuffingtonpost", "The Huffington Post"}
    # every spelling that differs from another only in case, spaces or a leading "The" meets it
    squashed: dict[str, set[str]] = {}
    for n in names:
        squashed.setdefault(re.sub(r"^the", "", re.sub(r"[^a-z0-9]", "", n.lower())), set()).add(n)
    assert sorted(map(sorted, squashed.values())) == sorted(map(sorted, by_key.values()))
    assert len(by_key) < len(names) * 0.6  # 56 spellings, about 31 outlets
