"""Each input kind and each bad input, through the real pipeline (readers -> normaliser -> writers)."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ..conftest import SAMPLE, body, write


def test_html_page(normalise_dir, tmp_path):
    summary, arts, rejs = normalise_dir(SAMPLE / "html" / "opinion_guarantees.html")
    assert summary.main == 1 and not rejs
    (a,) = arts
    assert a["input_kind"] == "html"
    assert a["title"] == "What real security guarantees for Ukraine would look like"
    assert a["outlet"] == "The Coastal Review" and a["kicker"] == "Opinion"
    assert a["authors"] == ["Miriam Okafor"]
    assert a["published_at"] == datetime(2025, 8, 17, 6, 45, tzinfo=UTC)
    assert a["url"] == "https://coastal-review.example/opinion/2025/08/17/security-guarantees-ukraine"
    assert a["media"] == [{"caption": "Negotiators leave the conference hall after the first session.", "credit": "Harbour Pictures"}]
    assert a["text"].startswith("Every peace plan discussed this summer")
    for junk in ("Subscribe", "Most read", "All rights reserved", "Home", "Negotiators leave"):
        assert junk not in a["text"]
    assert len(a["paragraphs"]) == 5


def test_html_without_json_ld_uses_htmldate(normalise_dir, tmp_path):
    paras = "".join(f"<p>{body(2, f'harbour topic {i}')}</p>" for i in range(3))
    html = (
        "<html><head><title>Harbour dredging plan approved</title>"
        '<meta name="date" content="2024-03-05"></head>'
        f"<body><article><h1>Harbour dredging plan approved</h1>{paras}</article></body></html>"
    )
    write(tmp_path / "in" / "page.htm", html)
    _, arts, _ = normalise_dir(tmp_path / "in")
    (a,) = arts
    assert a["published_at"] == datetime(2024, 3, 5, tzinfo=UTC) and a["date_precision"] == "day"
    assert a["title"] == "Harbour dredging plan approved"



def _dated_page(head: str = "", shown: str = "") -> str:
    paras = "".join(f"<p>{body(2, f'harbour topic {i}')}</p>" for i in range(3))
    return (f"<html><head><title>Harbour dredging plan approved</title>{head}</head><body><article>"
            f"<h1>Harbour dredging plan approved</h1>{shown}{paras}</article></body></html>")


def test_an_html_date_is_bounded_by_the_retrieval_not_by_the_clock(normalise_dir, tmp_path):
    """Nothing is published after it was retrieved, and whether a date is taken never depends on
    the day the page is normalised (htmldate's own bound is today's date: 2033 would be refused)."""
    write(tmp_path / "in" / "shown.html", _dated_page(shown='<time datetime="2033-05-02">2 May 2033</time>'))
    write(tmp_path / "in" / "meta.html", _dated_page('<meta property="article:published_time" content="2033-05-02T10:00:00Z">'))
    _, arts, _ = normalise_dir(tmp_path / "in", out="after", retrieved_at=datetime(2033, 5, 10, tzinfo=UTC))
    assert sorted(a["published_at"] for a in arts) == [datetime(2033, 5, 2, tzinfo=UTC), datetime(2033, 5, 2, 10, tzinfo=UTC)]
    before = datetime(2033, 4, 1, tzinfo=UTC)
    _, arts, _ = normalise_dir(tmp_path / "in", out="before", retrieved_at=before)
    assert len(arts) == 2 and all(a["published_at"] is None or a["published_at"] <= before for a in arts)
    notes = {a["source_path"].rsplit("/", 1)[-1]: a["notes"] for a in arts}
    assert notes["meta.html"] == ["date dropped: '2033-05-02T10:00:00Z' is after the page was retrieved (2033-04-01 00:00 UTC)"]


def test_a_record_dated_after_its_download_keeps_no_date_and_says_why(normalise_dir, tmp_path):
    rows = [{"url": f"https://harbour.example/{k}", "title": f"Harbour report {k}", "maintext": body(4, f"harbour report {k}"),
             "date_publish": "2033-05-02 10:00:00", "date_download": download} for k, download in
            (("late", "2033-05-10 08:00:00"), ("early", "2033-04-01 08:00:00"))]
    write(tmp_path / "in" / "records.jsonl", "\n".join(json.dumps(r) for r in rows))
    _, arts, _ = normalise_dir(tmp_path / "in")
    by_url = {a["url"].rsplit("/", 1)[-1]: a for a in arts}
    assert by_url["late"]["published_at"] == datetime(2033, 5, 2, 10, tzinfo=UTC) and not by_url["late"]["notes"]
    assert by_url["early"]["published_at"] is None
    assert by_url["early"]["notes"] == ["date dropped: '2033-05-02 10:00:00' is after the record was retrieved (2033-04-01 08:00 UTC)"]

def test_an_html_date_in_the_pages_url_comes_first(normalise_dir, tmp_path):
    """htmldate is given the URL trafilatura would give it (here og:url, no canonical link): the
    day in its path is the publication day, before a page-wide "date" meta (often the last change)."""
    head = ('<meta property="og:url" content="https://harbour.example/news/2024/03/05/dredging-plan">'
            '<meta name="date" content="2024-03-09">')
    write(tmp_path / "in" / "page.html", _dated_page(head))
    _, arts, _ = normalise_dir(tmp_path / "in")
    assert [a["published_at"] for a in arts] == [datetime(2024, 3, 5, tzinfo=UTC)]

def test_jsonl_records_newsplease_and_fundus_fields(normalise_dir):
    summary, arts, rejs = normalise_dir(SAMPLE / "records" / "crawl_newsplease.jsonl")
    assert summary.inputs == 6
    assert [a["position"] for a in arts] == [0, 1, 2, 5]
    first = arts[0]
    assert first["outlet"] == "northwire.example" and first["authors"] == ["Lena Marsh"]
    assert first["published_at"] == datetime(2025, 8, 16, 6, 10, tzinfo=UTC)
    assert first["retrieved_at"] == datetime(2025, 8, 18, 9, 0, tzinfo=UTC)  # date_download
    assert first["text"].count("\n\n") == 2
    assert arts[2]["syndicated_from"] == "Northwire" and arts[2]["author_roles"] == ["Northwire"]
    fundus = arts[3]
    assert fundus["title"] == "Finnish president to join Washington talks"
    assert fundus["published_at"] == datetime(2025, 8, 17, 18, 20, tzinfo=UTC)
    by_pos = {r["position"]: r for r in rejs}
    assert by_pos[3]["reason"] == "not an article"
    assert by_pos[4]["reason"] == "parse error" and "line 5" in by_pos[4]["detail"]


def test_parquet_csv_and_json_records(normalise_dir, tmp_path):
    rows = [
        {"link": f"https://example.org/p/{i}", "headline": f"Parquet story {i}", "content": body(4, f"parquet topic {i}"),
         "published": datetime(2025, 1, i + 1, 12, 0, tzinfo=UTC), "author": f"Writer {i}"}
        for i in range(3)
    ]
    write(tmp_path / "in" / "a.parquet", b"")
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "in" / "a.parquet")
    csv_text = "url,title,text,date\n" + "\n".join(
        f'https://example.org/c/{i},CSV story {i},"{body(4, f"csv topic {i}")}",2025-02-0{i + 1}' for i in range(2)
    )
    write(tmp_path / "in" / "b.csv", csv_text)
    fundus = [{"title": "Fundus story", "body": {"summary": ["A short lead."], "sections": [{"headline": ["Part"], "paragraphs": [body(3, "fundus topic")]}]},
               "publishing_date": "2025-03-01T10:00:00+00:00", "url": "https://example.org/f"}]
    write(tmp_path / "in" / "c.json", json.dumps(fundus))
    summary, arts, rejs = normalise_dir(tmp_path / "in")
    assert not rejs, rejs
    assert [a["title"] for a in arts] == ["Parquet story 0", "Parquet story 1", "Parquet story 2", "CSV story 0", "CSV story 1", "Fundus story"]
    assert arts[0]["authors"] == ["Writer 0"] and arts[0]["published_at"] == datetime(2025, 1, 1, 12, tzinfo=UTC)
    assert arts[3]["published_at"] == datetime(2025, 2, 1, tzinfo=UTC) and arts[3]["date_precision"] == "day"
    assert arts[5]["text"].startswith("A short lead.\n\nSentence 0 about fundus topic")
    assert summary.inputs == 6 and summary.unique == 6


def test_gzip_and_sniffed_kinds(normalise_dir, tmp_path):
    page = "\n".join(["Gzip title of a page", "By Pat Lee", body(4, "gzip topic")])
    write(tmp_path / "in" / "page.txt.gz", gzip.compress(page.encode(), mtime=0))
    write(tmp_path / "in" / "noext", "<!DOCTYPE html><html><body><article><h1>Sniffed page</h1>"
          + "".join(f"<p>{body(2, f'sniff {i}')}</p>" for i in range(3)) + "</article></body></html>")
    _, arts, rejs = normalise_dir(tmp_path / "in")
    assert not rejs
    kinds = {a["source_path"].split("/")[-1]: a["input_kind"] for a in arts}
    assert kinds == {"noext": "html", "page.txt.gz": "text"}
    assert next(a for a in arts if a["input_kind"] == "text")["authors"] == ["Pat Lee"]


def test_legacy_encoding_is_decoded(normalise_dir, tmp_path):
    page = "Café owners protest\nBy Zoë Brontë\n" + body(4, "café topic")
    write(tmp_path / "in" / "latin.txt", page.encode("cp1252"))
    _, arts, rejs = normalise_dir(tmp_path / "in")
    assert not rejs
    assert arts[0]["title"] == "Café owners protest" and arts[0]["authors"] == ["Zoë Brontë"]


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.txt", b"", "empty"),
        ("spaces.txt", b"  \n\n\t \n", "empty"),
        ("image.txt", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "binary"),
        ("nul.html", b"<html>" + b"\x00" * 50 + b"</html>", "binary"),
        ("utf16.txt", b"\xff\xfe" + "broken".encode("utf-16-le") + b"\x00", "undecodable"),
        ("bad.txt.gz", b"\x1f\x8b\x08\x00garbage", "undecodable"),
        ("stub.txt", b"Short note\nOnly a few words here.\n", "not an article"),
        ("bad.parquet", b"PAR1 this is not parquet", "parse error"),
        ("bad.json", b"{\"title\": ", "parse error"),
        ("rows.jsonl", b"[1, 2]\n", "parse error"),
    ],
)
def test_each_bad_input_is_rejected_with_reason_and_batch_goes_on(normalise_dir, tmp_path, name, content, reason):
    write(tmp_path / "in" / name, content)
    write(tmp_path / "in" / "zz_good.txt", "A good page title here\n" + body(4, "good topic"))
    summary, arts, rejs = normalise_dir(tmp_path / "in")
    assert [r["reason"] for r in rejs] == [reason]
    assert rejs[0]["source_path"].endswith(name)
    assert rejs[0]["detail"].startswith(reason) and "\n" not in rejs[0]["detail"]
    assert [a["source_path"].split("/")[-1] for a in arts] == ["zz_good.txt"]
    assert summary.inputs == 2 and summary.rejected == 1


def test_too_large(normalise_dir, tmp_path):
    write(tmp_path / "in" / "big.txt", "Big page title\n" + body(200, "big topic"))
    write(tmp_path / "in" / "ok.txt", "Small page title\n" + body(4, "small topic"))
    summary, arts, rejs = normalise_dir(tmp_path / "in", max_bytes=5_000)
    assert [(r["reason"], r["source_path"].split("/")[-1]) for r in rejs] == [("too large", "big.txt")]
    assert "limit 5000" in rejs[0]["detail"]
    assert len(arts) == 1


def test_parser_crash_is_a_reject_not_a_stop(normalise_dir, tmp_path, monkeypatch):
    """A bug in one parser must cost one input, never the batch."""
    from framestance.normalise.extractors import EXTRACTORS

    class Boom:
        kind = "html"

        def extract(self, *a, **k):
            raise RuntimeError("synthetic parser failure")

    monkeypatch.setitem(EXTRACTORS, "html", Boom())
    write(tmp_path / "in" / "a.html", "<html><body><p>" + body(4, "crash topic") + "</p></body></html>")
    write(tmp_path / "in" / "b.txt", "Title of the text page\n" + body(4, "survivor topic"))
    summary, arts, rejs = normalise_dir(tmp_path / "in")
    assert rejs[0]["reason"] == "parse error" and "synthetic parser failure" in rejs[0]["detail"]
    assert len(arts) == 1


def test_records_stream_and_the_size_limit_applies_per_record(normalise_dir, tmp_path):
    from ..conftest import prose

    recs = [{"url": f"https://example.org/s/{i}", "title": f"Streamed {i}", "text": prose(i, 6)} for i in range(40)]
    recs[7]["text"] = prose(999, 400)  # one oversized record
    lines = "\n".join(json.dumps(r) for r in recs).encode()
    write(tmp_path / "in" / "crawl.jsonl.gz", gzip.compress(lines, mtime=0))
    assert len(lines) > 20_000
    summary, arts, rejs = normalise_dir(tmp_path / "in", max_bytes=20_000)
    assert [(r["position"], r["reason"]) for r in rejs] == [(7, "too large")]
    assert len(arts) == 39 and summary.inputs == 40


def test_truncated_gzip_records_keep_what_was_read(normalise_dir, tmp_path):
    from ..conftest import prose

    lines = "\n".join(json.dumps({"title": f"T{i}", "text": prose(100 + i, 6)}) for i in range(30)).encode()
    blob = gzip.compress(lines, mtime=0)
    write(tmp_path / "in" / "cut.jsonl.gz", blob[: len(blob) * 2 // 3])
    summary, arts, rejs = normalise_dir(tmp_path / "in")
    assert len(rejs) == 1 and rejs[0]["reason"] == "undecodable" and "gzip" in rejs[0]["detail"]
    assert 0 < len(arts) < 30 and summary.inputs == len(arts) + 1


# Our own short reports (the same news in each language) with the date as the page shows it.
_REPORTS = {
    "hu": ("2025. március 14.", "A városi tanács csütörtökön jóváhagyta a kikötő kotrási tervét. A munkálatok tavasszal "
           "kezdődnek, és a költségeket a regionális költségvetés fedezi. A halászok szerint a mélyebb meder biztonságosabbá "
           "teszi a hajózást. Az ellenzék a környezeti hatások alaposabb vizsgálatát kérte."),
    "ro": ("14 martie 2025", "Consiliul local a aprobat joi planul de dragare a portului. Lucrările vor începe în primăvară, "
           "iar costurile vor fi acoperite din bugetul regional. Pescarii spun că un canal mai adânc va face navigația mai "
           "sigură. Opoziția a cerut un studiu mai detaliat al impactului asupra mediului."),
    "el": ("14 Μαρτίου 2025", "Το δημοτικό συμβούλιο ενέκρινε την Πέμπτη το σχέδιο βυθοκόρησης του λιμανιού. Οι εργασίες "
           "θα ξεκινήσουν την άνοιξη και το κόστος θα καλυφθεί από τον περιφερειακό προϋπολογισμό. Οι ψαράδες λένε ότι το "
           "βαθύτερο κανάλι θα κάνει τη ναυσιπλοΐα ασφαλέστερη. Η αντιπολίτευση ζήτησε λεπτομερέστερη μελέτη."),
    "de": ("14. März 2025", "Der Stadtrat hat am Donnerstag den Plan zur Ausbaggerung des Hafens gebilligt. Die Arbeiten "
           "beginnen im Frühjahr, die Kosten trägt der regionale Haushalt. Die Fischer sagen, dass eine tiefere Fahrrinne "
           "die Schifffahrt sicherer macht. Die Opposition verlangte eine genauere Prüfung der Folgen für die Umwelt."),
}


@pytest.mark.parametrize("language", sorted(_REPORTS))
def test_an_html_date_in_the_pages_language(language):
    """htmldate's last resort (dateparser) reads the page's own language too, not only a fixed list:
    off the list, a Hungarian, Romanian or Greek date became the year's 1 January."""
    from framestance.normalise.html import parse_html
    from framestance.normalise.text import detect_language

    shown, text = _REPORTS[language]
    assert detect_language(text) == language
    html = (f"<html><head><title>{text[:40]}</title></head><body><article><h1>{text[:40]}</h1>"
            f"<p class='meta'>{shown}</p>" + f"<p>{text}</p>" * 3 + "</article></body></html>")
    art = parse_html(html, min_words=20, article_loss=0, retrieved_at=datetime(2025, 8, 18, tzinfo=UTC))
    assert art.date is not None and art.date.at == datetime(2025, 3, 14, tzinfo=UTC), art.date


def test_an_html_date_does_not_depend_on_the_pages_read_before_it():
    """htmldate caches parsed strings whatever parser it was given: the same date line on an
    English page (read with the list) and on a Hungarian one (read in Hungarian too), in either
    order, gives each page what it gives alone; htmldate's own parser is back afterwards."""
    import htmldate.extractors

    from framestance.normalise.html import parse_html

    stock = htmldate.extractors.get_external_parser
    shown, hungarian = _REPORTS["hu"]
    english = ("The city council approved the harbour dredging plan on Thursday. Work begins in spring and the "
               "regional budget pays for it. Fishermen say a deeper channel makes shipping safer.")

    def day(text):
        html = (f"<html><head><title>{text[:40]}</title></head><body><article><h1>{text[:40]}</h1>"
                f"<p class='meta'>{shown}</p>" + f"<p>{text}</p>" * 3 + "</article></body></html>")
        art = parse_html(html, min_words=20, article_loss=0, retrieved_at=datetime(2025, 8, 18, tzinfo=UTC))
        return art.date.at if art.date else None

    alone = {"hu": day(hungarian), "en": day(english)}
    assert alone["hu"] == datetime(2025, 3, 14, tzinfo=UTC)
    assert [day(english), day(hungarian)] == [alone["en"], alone["hu"]]
    assert [day(hungarian), day(english)] == [alone["hu"], alone["en"]]
    assert htmldate.extractors.get_external_parser is stock
