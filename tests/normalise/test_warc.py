"""WARC/ARC input: each HTTP response with an HTML body is one input of the HTML path."""

from __future__ import annotations

import gzip
import io
import json
from datetime import UTC, datetime

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from framestance.evaluation import normalise_pages, page_score, score

from ..conftest import ROOT, body

DATA = ROOT.parent / "shared" / "extraction-dev"


def _page(title: str, topic: str) -> bytes:
    paras = "".join(f"<p>{body(3, f'{topic} {i}')}</p>" for i in range(3))
    return (f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>{paras}</article>"
            "</body></html>").encode()


def _warc(records: list[tuple], gz: bool = True) -> bytes:
    """(kind, uri, status, content type, body, WARC-Date) -> the bytes of a WARC file."""
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=gz)
    for kind, uri, status, ctype, payload, date in records:
        if kind == "response":
            http = StatusAndHeaders(f"{status} OK", [("Content-Type", ctype)], protocol="HTTP/1.1")
            rec = writer.create_warc_record(uri, "response", payload=io.BytesIO(payload), http_headers=http,
                                            warc_headers_dict={"WARC-Date": date})
        elif kind == "request":
            http = StatusAndHeaders("GET / HTTP/1.1", [("Host", "x.example")], is_http_request=True)
            rec = writer.create_warc_record(uri, "request", payload=io.BytesIO(b""), http_headers=http)
        else:
            rec = writer.create_warc_record(uri, kind, payload=io.BytesIO(payload), warc_content_type="application/json")
        writer.write_record(rec)
    return out.getvalue()


RECORDS = [
    ("warcinfo", "", None, None, b'{"software": "test"}', None),
    ("request", "https://harbour.example/a", None, None, b"", None),
    ("response", "https://harbour.example/a", 200, "text/html; charset=utf-8", _page("Harbour plan approved", "harbour"), "2025-08-17T06:00:00Z"),
    ("response", "https://harbour.example/logo.png", 200, "image/png", b"\x89PNG....", "2025-08-17T06:00:01Z"),
    ("response", "https://harbour.example/gone", 404, "text/html", b"<html>not found</html>", "2025-08-17T06:00:02Z"),
    ("metadata", "https://harbour.example/a", None, None, b'{"outlinks": []}', None),
    ("response", "https://river.example/b", 200, "text/html; charset=iso-8859-1",
     _page("Río crossing reopens", "river crossing").replace(b"R\xc3\xado", b"R\xedo"), "2025-08-16T22:30:00Z"),
]


@pytest.mark.parametrize("name, gz", [("crawl.warc.gz", True), ("crawl.warc", False)])
def test_html_responses_are_inputs_and_other_records_are_counted(normalise_dir, tmp_path, name, gz):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / name).write_bytes(_warc(RECORDS, gz))
    summary, arts, rejs = normalise_dir(tmp_path / "in")
    assert not rejs and summary.inputs == 2 and summary.main == 2
    assert summary.skipped == {"warc metadata records": 1, "warc request records": 1, "warc responses that are not HTML": 1,
                               "warc responses with status 404": 1, "warc warcinfo records": 1}
    a, b = sorted(arts, key=lambda r: r["position"])
    assert a["input_kind"] == "warc" and a["url"] == "https://harbour.example/a" and a["position"] == 2
    assert a["retrieved_at"] == datetime(2025, 8, 17, 6, 0, tzinfo=UTC)  # WARC-Date, not --retrieved-at
    assert a["title"] == "Harbour plan approved" and a["text"].startswith("Sentence 0 about harbour 0")
    assert b["title"] == "Río crossing reopens"  # decoded by the HTTP charset (Latin-1)


def test_a_truncated_record_is_a_reject_and_the_rest_is_kept(normalise_dir, tmp_path):
    good = _warc(RECORDS[:3])
    last = _warc([RECORDS[6]])
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "cut.warc.gz").write_bytes(good + last[: len(last) // 2])
    summary, arts, rejs = normalise_dir(tmp_path / "in")
    assert summary.main == 1 and arts[0]["url"] == "https://harbour.example/a"
    assert [r["reason"] for r in rejs] == ["undecodable"] and "WARC record 4" in rejs[0]["detail"]
    summary.check()


@pytest.mark.skipif(not (DATA / "ground-truth.json").exists(), reason=f"{DATA} is absent")
def test_a_warc_of_real_pages_gives_the_body_quality_of_their_html(tmp_path):
    truth = json.loads((DATA / "ground-truth.json").read_text(encoding="utf-8"))
    ids = sorted(truth)[:80]
    pages = {pid: gzip.decompress((DATA / "html" / f"{pid}.html.gz").read_bytes()) for pid in ids}
    warc = _warc([("response", truth[pid]["url"], 200, "text/html; charset=utf-8", pages[pid], "2026-01-15T00:00:00Z")
                  for pid in ids])
    (tmp_path / "real.warc.gz").write_bytes(warc)
    from framestance.normalise import normalise

    summary = normalise([str(tmp_path / "real.warc.gz")], tmp_path / "out", workers=1)
    assert summary.inputs == len(ids)
    import pyarrow.parquet as pq

    rows = pq.read_table(tmp_path / "out" / "articles.parquet").to_pylist()
    by_pos = {r["position"]: r["text"] for r in rows if r["relation"] == "main"}
    from_warc = score((page_score(truth[pid]["articleBody"], by_pos.get(i, "")) for i, pid in enumerate(ids)), resamples=0)
    arts, _, _ = normalise_pages([(pid, "html", pages[pid]) for pid in ids], datetime(2026, 1, 15, tzinfo=UTC))
    direct = score((page_score(truth[pid]["articleBody"], next((a["text"] for a in arts.get(pid, [])
                                                                 if a["relation"] == "main"), "")) for pid in ids), resamples=0)
    assert abs(from_warc.f1 - direct.f1) < 0.005, (from_warc, direct)


def test_an_empty_archive_and_a_non_text_charset_are_accounted_for(normalise_dir, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "empty.warc").write_bytes(b"")
    (tmp_path / "in" / "b64.warc.gz").write_bytes(_warc([("response", "https://x.example/b", 200, "text/html; charset=base64",
                                                          _page("Odd charset page", "odd charset"), "2025-08-17T06:00:00Z")]))
    summary, arts, rejs = normalise_dir(tmp_path / "in")
    assert [r["reason"] for r in rejs] == ["empty"] and [a["title"] for a in arts] == ["Odd charset page"]
