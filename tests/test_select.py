"""Search and select on a real tantivy index built from a corpus of our own writing."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from framestance import estimate
from framestance.cli import app
from framestance.normalise import normalise
from framestance.search import Index, SearchError, build_index, hit_ids, outlet_key, overview
from framestance.selection import SelectError, StaleSelection, load_rounds, select_round

CLIMATE = [
    ("Heatwave pushes city to record power demand", "The Daily Courier",
     "Climate scientists said the heatwave was made far more likely by global warming. Emissions from the power grid rose as "
     "air conditioners ran all night, and the mayor promised a plan to cut carbon emissions by half before 2035."),
    ("Farmers count the cost of a dry spring", "the daily courier",
     "Drought linked to climate change has cut wheat yields for a third year. Farmers asked for support to adapt, and "
     "economists warned that food prices would follow the falling harvest across the region this autumn."),
    ("Parliament votes on a carbon price", "Northern Ledger",
     "Members voted for a carbon price on fuel and heating, a cornerstone of the climate plan. Opponents said households "
     "would pay more while industry kept its exemptions, and business groups asked for a slower start to the scheme."),
    ("Coastal town weighs a sea wall", "Northern Ledger",
     "Rising seas driven by climate change threaten two hundred homes. The council debated a sea wall against a managed "
     "retreat, and residents described floods that now reach their doors at every spring tide and storm."),
    ("Students strike for the climate", "Valley Post",
     "Thousands of pupils left school to demand faster cuts to greenhouse gas emissions. Teachers were split on the strike, "
     "and the minister said the government was already ahead of its climate targets for this decade."),
    ("Utility closes its last coal plant", "Valley Post",
     "The company said closing the plant would cut its emissions by a fifth. Workers were offered jobs at a new wind farm, "
     "though union leaders said the climate transition was moving faster than the training on offer to them."),
]
OTHER = [
    ("Local team wins the cup", "Valley Post",
     "The home side won the final two goals to one after extra time. Fans filled the square to greet the players, and the "
     "coach thanked the supporters who had followed the team through a long and difficult season away."),
    ("Library reopens after repairs", "The Daily Courier",
     "The central library opened its doors again after a year of repairs to the roof. Readers found new reading rooms, "
     "a cafe and a children's corner, and the librarians said the loans had doubled in the first week."),
    ("New bakery draws queues", "Northern Ledger",
     "A bakery on the high street sold out of bread by nine each morning in its first month. The owners said they baked "
     "through the night, and neighbours said the smell of fresh loaves had changed the whole street."),
    ("Council approves bus lanes", "Valley Post",
     "Two new bus lanes will run along the ring road from next spring. Drivers complained about the loss of parking, while "
     "bus users said the journeys into the centre had grown too slow to rely on for work."),
    ("Museum shows a medieval map", "The Daily Courier",
     "A medieval map found in a farmhouse attic goes on show this week. Historians said it was drawn by monks, and the "
     "museum expects large crowds for the first viewing of the map in six hundred years."),
    ("School choir sings at the festival", "Northern Ledger",
     "The school choir sang at the summer festival to a full hall. Parents recorded every song, and the music teacher said "
     "the children had rehearsed every lunchtime since the winter break to learn the pieces by heart."),
]
QUERY = 'climate OR "global warming" OR emissions'


def _records(path: Path, items, month: int = 3) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for k, (title, outlet, text) in enumerate(items):
            fh.write(json.dumps({"url": f"https://news.example/{title.lower().replace(' ', '-')}", "title": title,
                                 "text": text, "date": f"2025-{month:02d}-{k + 1:02d}", "source_domain": outlet}) + "\n")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("select")
    _records(root / "news.jsonl", CLIMATE + OTHER)
    normalise([str(root / "news.jsonl")], root / "norm", workers=1, retrieved_at=datetime(2025, 5, 1, tzinfo=UTC))
    build_index(root / "norm", root / "index")
    return root


def test_search_counts_highlights_and_breakdowns(corpus):
    ov = overview(Index(corpus / "index"), QUERY, sample=20)
    assert ov.count == len(CLIMATE) and ov.docs == len(CLIMATE) + len(OTHER)
    assert all("**" in h.snippet for h in ov.sample)  # every hit shows its matched words
    assert {h.title for h in ov.sample} == {t for t, _, _ in CLIMATE}
    assert dict(ov.by_outlet) == {"The Daily Courier": 1, "the daily courier": 1, "Northern Ledger": 2, "Valley Post": 2}
    assert dict(ov.by_month) == {"2025-03": 6}
    assert outlet_key("The Daily Courier") == outlet_key("the daily courier") == "dailycourier"


def test_search_field_and_date_queries(corpus):
    index = Index(corpus / "index")
    assert len(hit_ids(index, 'title:carbon')) == 1
    assert len(hit_ids(index, 'climate AND outlet:"Valley Post"')) == 2
    assert len(hit_ids(index, "date:[2025-03-01T00:00:00Z TO 2025-03-04T00:00:00Z]")) == 4  # inclusive, as in Lucene


@pytest.mark.parametrize("query, says", [("climate AND (", "position 13"), ('"sea wall', "position"), ("nosuch:x", "nosuch"),
                                         ("  ", "empty")])
def test_bad_query_names_the_place(corpus, query, says):
    with pytest.raises(SearchError, match=says):
        hit_ids(Index(corpus / "index"), query)


def test_index_updates_only_what_changed(tmp_path):
    _records(tmp_path / "a.jsonl", CLIMATE[:3] + OTHER[:3])
    normalise([str(tmp_path / "a.jsonl")], tmp_path / "norm", workers=1, retrieved_at=datetime(2025, 5, 1, tzinfo=UTC))
    first = build_index(tmp_path / "norm", tmp_path / "index")
    assert first.parts[0].rebuilt and first.parts[0].added == 6
    # one article changed, two gone, two new
    changed = [CLIMATE[0], (CLIMATE[1][0], CLIMATE[1][1], CLIMATE[1][2] + " A correction was added."), *CLIMATE[3:5], *OTHER[:2]]
    _records(tmp_path / "a.jsonl", changed)
    normalise([str(tmp_path / "a.jsonl")], tmp_path / "norm", workers=1, force=True, retrieved_at=datetime(2025, 5, 1, tzinfo=UTC))
    second = build_index(tmp_path / "norm", tmp_path / "index")
    part = second.parts[0]
    assert not part.rebuilt and (part.added, part.deleted, part.docs) == (3, 3, 6)
    ids = hit_ids(Index(tmp_path / "index"), "climate OR emissions OR carbon")
    table = pq.read_table(tmp_path / "norm" / "articles.parquet")
    assert set(ids) <= set(table["article_id"].to_pylist()) and len(ids) == 4
    assert len(hit_ids(Index(tmp_path / "index"), "correction")) == 1


def test_index_of_part_files_searches_every_part(tmp_path):
    _records(tmp_path / "a.jsonl", CLIMATE + OTHER)
    normalise([str(tmp_path / "a.jsonl")], tmp_path / "norm", workers=1, rows_per_file=5, retrieved_at=datetime(2025, 5, 1, tzinfo=UTC))
    report = build_index(tmp_path / "norm", tmp_path / "index", workers=2)
    assert len(report.parts) == 3 and report.docs == 12
    assert len(hit_ids(Index(tmp_path / "index"), QUERY)) == len(CLIMATE)


def test_ray_engine_builds_the_same_index(tmp_path):
    pytest.importorskip("ray")
    _records(tmp_path / "a.jsonl", CLIMATE + OTHER)
    normalise([str(tmp_path / "a.jsonl")], tmp_path / "norm", workers=1, rows_per_file=4, retrieved_at=datetime(2025, 5, 1, tzinfo=UTC))
    build_index(tmp_path / "norm", tmp_path / "local", workers=1)
    report = build_index(tmp_path / "norm", tmp_path / "ray", workers=2, engine="ray")
    assert [p.docs for p in report.parts] == [4, 4, 4]
    for q in (QUERY, "bakery OR library", "title:carbon"):
        assert hit_ids(Index(tmp_path / "ray"), q).keys() == hit_ids(Index(tmp_path / "local"), q).keys()
    assert (tmp_path / "ray" / "manifest.json").read_bytes() == (tmp_path / "local" / "manifest.json").read_bytes()


def test_sample_round_probabilities_and_bytes(corpus, tmp_path):
    a = select_round(corpus / "norm", corpus / "index", tmp_path / "a", QUERY, round_size=4, seed=3, stratify="outlet")
    b = select_round(corpus / "norm", corpus / "index", tmp_path / "b", QUERY, round_size=4, seed=3, stratify="outlet")
    assert (tmp_path / "a" / "round-001.parquet").read_bytes() == (tmp_path / "b" / "round-001.parquet").read_bytes()
    assert (tmp_path / "a" / "rounds.json").read_bytes() == (tmp_path / "b" / "rounds.json").read_bytes() and a.rows == b.rows
    # three outlets of two hits each: {key < 4/6} holds one or two of each
    assert a.record.hits == 6 and 3 <= len(a.rows) <= 6 and a.record.threshold == pytest.approx(4 / 6)
    assert all(r["inclusion_probability"] == pytest.approx(4 / 6) and r["part"] == "probability" and r["key"] < 4 / 6 for r in a.rows)
    by_stratum: dict[str, int] = {}
    for r in a.rows:
        by_stratum[r["stratum"]] = by_stratum.get(r["stratum"], 0) + 1
    assert sorted(by_stratum) == ["dailycourier", "northernledger", "valleypost"]  # every stratum is in the sample
    second = select_round(corpus / "norm", corpus / "index", tmp_path / "a", QUERY, round_size=4, stratify="outlet", seed=3)
    assert len(second.rows) == 6 - len(a.rows) and all(r["inclusion_probability"] == 1.0 for r in second.rows)
    assert not {r["article_id"] for r in a.rows} & {r["article_id"] for r in second.rows}
    with pytest.raises(SelectError, match="nothing left"):
        select_round(corpus / "norm", corpus / "index", tmp_path / "a", QUERY, round_size=4, stratify="outlet", seed=3)


def test_another_seed_or_stratification_is_refused(corpus, tmp_path):
    select_round(corpus / "norm", corpus / "index", tmp_path / "s", QUERY, round_size=2, seed=1)
    with pytest.raises(SelectError, match="permanent random numbers must stay the same"):
        select_round(corpus / "norm", corpus / "index", tmp_path / "s", QUERY, round_size=2, seed=2)
    with pytest.raises(SelectError, match="permanent random numbers must stay the same"):
        select_round(corpus / "norm", corpus / "index", tmp_path / "s", QUERY, round_size=2, seed=1, stratify="outlet")


def test_unlabelled_members_widen_the_interval():
    from framestance.selection import RoundRecord

    rec = RoundRecord(round=1, design="sample", query="q", seed=0, stratify=None, hits=100, pool=100, model_part=0,
                      probability_part=100, threshold=1.0, corpus="")
    sel = [{"article_id": f"a{i:02d}", "round": 1, "part": "probability", "key": i / 100} for i in range(100)]
    relevant = {f"a{i:02d}": int(i % 2 == 0) for i in range(10)}  # a census, but only 10 labelled yet
    labels = {a: {"x"} if int(a[1:]) % 4 == 0 else set() for a, r in relevant.items() if r}
    (share,) = estimate.shares(sel, [rec], relevant, labels, ["x"])
    pop = estimate.population(sel, [rec], relevant)
    assert share.low < share.estimate < share.high and pop.relevant_low < pop.relevant < pop.relevant_high


def test_no_hits_and_another_query_are_refused(corpus, tmp_path):
    with pytest.raises(SelectError, match="no hits"):
        select_round(corpus / "norm", corpus / "index", tmp_path / "s", "zeppelin", round_size=4)
    assert not (tmp_path / "s").exists()
    select_round(corpus / "norm", corpus / "index", tmp_path / "s", QUERY, round_size=2)
    with pytest.raises(SelectError, match="new population"):
        select_round(corpus / "norm", corpus / "index", tmp_path / "s", "bakery", round_size=2)


def test_selection_from_an_older_corpus_is_refused(tmp_path):
    _records(tmp_path / "a.jsonl", CLIMATE + OTHER)
    normalise([str(tmp_path / "a.jsonl")], tmp_path / "norm", workers=1, retrieved_at=datetime(2025, 5, 1, tzinfo=UTC))
    build_index(tmp_path / "norm", tmp_path / "index")
    first = select_round(tmp_path / "norm", tmp_path / "index", tmp_path / "sel", QUERY, round_size=6)
    picked = {r["article_id"] for r in first.rows}
    edited = [(t, o, x + " Updated." if k == 0 else x) for k, (t, o, x) in enumerate(CLIMATE)] + OTHER
    _records(tmp_path / "a.jsonl", edited)
    normalise([str(tmp_path / "a.jsonl")], tmp_path / "norm", workers=1, force=True, retrieved_at=datetime(2025, 5, 1, tzinfo=UTC))
    build_index(tmp_path / "norm", tmp_path / "index")
    assert picked  # the edited article was in round 1
    before = (tmp_path / "sel" / "rounds.json").read_bytes()
    with pytest.raises(StaleSelection, match="changed or left the corpus"):
        select_round(tmp_path / "norm", tmp_path / "index", tmp_path / "sel", QUERY, round_size=2)
    assert (tmp_path / "sel" / "rounds.json").read_bytes() == before
    # the edit undone, but a new on-issue article in the crawl: the population changed
    _records(tmp_path / "a.jsonl", CLIMATE + OTHER + [("Glacier retreat measured", "Valley Post",
                                                      "Surveyors found the glacier had lost forty metres in a year, a retreat they tied to "
                                                      "climate change. Guides moved the summer route, and the hut warden said the ice below "
                                                      "the pass had thinned so much that crossings now started before dawn.")])
    normalise([str(tmp_path / "a.jsonl")], tmp_path / "norm", workers=1, force=True, retrieved_at=datetime(2025, 5, 1, tzinfo=UTC))
    with pytest.raises(StaleSelection, match="the index holds 12 articles, .* 13, or other texts"):
        select_round(tmp_path / "norm", tmp_path / "index", tmp_path / "sel", QUERY, round_size=2)
    build_index(tmp_path / "norm", tmp_path / "index")
    with pytest.raises(StaleSelection, match=r"hits changed since round 1 \(6 then, 7 now\)"):
        select_round(tmp_path / "norm", tmp_path / "index", tmp_path / "sel", QUERY, round_size=2)
    assert (tmp_path / "sel" / "rounds.json").read_bytes() == before


def _labels(path: Path, labels: dict[str, str]) -> Path:
    pq.write_table(pa.table({"article_id": list(labels), "status": ["submitted"] * len(labels),
                             "relevance": list(labels.values())}), path)
    return path


def test_model_round_falls_back_then_ranks(tmp_path):
    def variants(items, extra=""):  # three distinct articles from each (not near-duplicates of each other)
        return [(f"{t} ({k})", o, x + extra + ("" if k == 2 else " " + items[(i + k + 1) % len(items)][2]))
                for k in range(3) for i, (t, o, x) in enumerate(items)]

    many_other = variants(OTHER, " Climate was not on the agenda, the editor noted once.")
    many_climate = variants(CLIMATE)
    _records(tmp_path / "a.jsonl", many_climate + many_other)
    normalise([str(tmp_path / "a.jsonl")], tmp_path / "norm", workers=1, retrieved_at=datetime(2025, 5, 1, tzinfo=UTC))
    build_index(tmp_path / "norm", tmp_path / "index")
    args = (tmp_path / "norm", tmp_path / "index", tmp_path / "sel", "climate")
    r1 = select_round(*args, design="model", round_size=12, probability_share=0.25, seed=1)
    assert r1.record.model_part == 0 and "first round" in r1.warnings[0]
    table = pq.read_table(tmp_path / "norm" / "articles.parquet", columns=["article_id", "title"]).to_pylist()
    climate_titles = {f"{t} ({k})" for k in range(3) for t, _, _ in CLIMATE}
    truth = {r["article_id"]: "relevant" if r["title"] in climate_titles else "not_relevant" for r in table}
    few = _labels(tmp_path / "few.parquet", {a: truth[a] for a in list(truth)[:3]})
    r2 = select_round(*args, design="model", round_size=6, probability_share=0.34, seed=1, annotations=few)
    assert r2.record.fallback and r2.record.model_part == 0 and "a model needs at least" in r2.warnings[0]
    labelled = {r["article_id"] for r in r1.rows + r2.rows}
    labels = _labels(tmp_path / "labels.parquet", {a: truth[a] for a in labelled})
    r3 = select_round(*args, design="model", round_size=6, probability_share=0.34, seed=1, annotations=labels)
    assert r3.record.model_part == 3 and r3.record.probability_part == 3 and r3.record.model_version
    model_picks = [r for r in r3.rows if r["part"] == "model"]
    assert all(truth[r["article_id"]] == "relevant" for r in model_picks)  # the model ranks on-issue first
    before, after = r2.record.threshold, r3.record.threshold
    assert after == pytest.approx(before + 3 / r3.record.hits)
    assert all(before <= r["key"] < after and r["inclusion_probability"] == pytest.approx((after - before) / (1 - before))
               for r in r3.rows if r["part"] == "probability")
    saved = tmp_path / "sel" / "round-003.relevance.skops"
    import skops.io as sio

    model = sio.load(saved, trusted=sio.get_untrusted_types(file=saved))
    assert model.predict_proba(["climate emissions heatwave"])[0, 1] > 0.5  # the saved model is the round's model
    import zipfile

    assert {i.date_time for i in zipfile.ZipFile(saved).infolist()} == {(1980, 1, 1, 0, 0, 0)}  # no time of writing


def test_estimator_census_is_exact_and_sample_intervals_cover():
    from framestance.selection import RoundRecord

    population = {f"a{i:03d}": (int(i % 3 != 0), int(i % 5 == 0)) for i in range(300)}
    rel_hits = [a for a, (r, _) in population.items() if r]
    truth = sum(population[a][1] for a in rel_hits) / len(rel_hits)

    def estimate_with(keys: dict[str, float], t: float):
        rec = RoundRecord(round=1, design="sample", query="q", seed=0, stratify=None, hits=300, pool=300, model_part=0,
                          probability_part=0, threshold=t, corpus="")
        sel = [{"article_id": a, "round": 1, "part": "probability", "key": keys[a]} for a in population if keys[a] < t]
        relevant = {r["article_id"]: population[r["article_id"]][0] for r in sel}
        labels = {a: {"x"} if population[a][1] else set() for a in relevant if relevant[a]}
        (share,) = estimate.shares(sel, [rec], relevant, labels, ["x"])
        return share, estimate.population(sel, [rec], relevant)

    covered = counted = 0
    for trial in range(200):
        rng = random.Random(trial)
        order = sorted(population, key=lambda a: rng.random())
        offset = rng.random()
        keys = {a: (rank + offset) / len(order) for rank, a in enumerate(order)}
        share, pop = estimate_with(keys, 0.2)
        covered += share.low <= truth <= share.high
        counted += pop.relevant_low <= len(rel_hits) <= pop.relevant_high
        assert pop.sample == 60
    assert 0.90 <= covered / 200 <= 0.99 and 0.90 <= counted / 200 <= 0.99, (covered, counted)
    share, pop = estimate_with({a: 0.5 for a in population}, 1.0)  # a census: exact
    assert share.estimate == pytest.approx(truth) and share.low == share.high == share.estimate
    assert pop.relevant == pop.relevant_low == len(rel_hits)


def test_cli_search_and_select(corpus, tmp_path):
    runner = CliRunner()
    res = runner.invoke(app, ["search", QUERY, "--index", str(corpus / "index"), "--sample", "2"])
    assert res.exit_code == 0 and "6 of 12 articles match" in res.output and "hits by outlet" in res.output
    res = runner.invoke(app, ["search", "climate AND (", "--index", str(corpus / "index")])
    assert res.exit_code == 2 and "position 13" in res.output and len(res.output.strip().splitlines()) == 1
    res = runner.invoke(app, ["select", "--corpus", str(corpus / "norm"), "--index", str(corpus / "index"), "--out",
                              str(tmp_path / "sel"), "--query", "zeppelin", "--round-size", "3"])
    assert res.exit_code == 2 and "no hits" in res.output and not (tmp_path / "sel").exists()
    res = runner.invoke(app, ["select", "--corpus", str(corpus / "norm"), "--index", str(corpus / "index"), "--out",
                              str(tmp_path / "sel"), "--query", QUERY, "--round-size", "3", "--rounds", "2"])
    assert res.exit_code == 0, res.output
    records, rows = load_rounds(tmp_path / "sel")
    assert [r.round for r in records] == [1, 2] and rows.num_rows == 6


def test_page_type_score_is_recorded(tmp_path):
    body = " ".join(["The council met on Tuesday to discuss the new flood defences for the old harbour district."] * 8)
    html = (f"<html><head><title>Harbour flood defences approved</title></head><body><article><h1>Harbour flood defences "
            f"approved</h1><p>{body}</p><p>{body}</p></article></body></html>")
    (tmp_path / "page.html").write_text(html, encoding="utf-8")
    normalise([str(tmp_path / "page.html")], tmp_path / "out", workers=1, retrieved_at=datetime(2025, 5, 1, tzinfo=UTC))
    (score,) = pq.read_table(tmp_path / "out" / "articles.parquet")["page_type_score"].to_pylist()
    assert score is not None and 0.0 <= score <= 1.0
