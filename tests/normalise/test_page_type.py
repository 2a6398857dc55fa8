"""The page-type check's strictness (`page_type_article_loss`) reaches every input kind: a shop's
product page (tests/normalise/golden/page-type/, our own writing), as an HTML file, a text dump, a
crawler record with HTML and a WARC response, is an article with the check off (0), its score
recorded, and a `not an article` reject at a strict setting (0.05)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from framestance.cli import app

from ..conftest import ROOT, write
from .test_warc import _warc

GOLDEN = ROOT / "tests" / "normalise" / "golden" / "page-type"
URL = "https://shop.northpeak.example/products/trailblazer-40l-backpack"
STRICT = 0.05  # the default (0.005) keeps what it is unsure of, with its score; a study may ask for more


def _inputs(folder):
    html = (GOLDEN / "shop.html").read_text(encoding="utf-8")
    write(folder / "shop.html", html)
    write(folder / "shop.txt", (GOLDEN / "shop.txt").read_text(encoding="utf-8"))
    write(folder / "shop.jsonl", json.dumps({"url": URL, "html": html}) + "\n")
    write(folder / "shop.warc.gz", _warc([("response", URL, 200, "text/html; charset=utf-8", html.encode(), "2026-01-15T00:00:00Z")]))
    return folder


def test_each_input_kind_follows_the_setting(normalise_dir, tmp_path):
    inputs = _inputs(tmp_path / "in")
    _, arts, rejs = normalise_dir(inputs, out="off", page_type_article_loss=0.0)
    assert sorted(a["input_kind"] for a in arts) == ["html", "records", "text", "warc"] and not rejs
    assert all("Trailblazer" in a["text"] for a in arts)
    assert all(a["page_type_score"] is not None and a["page_type_score"] < 0.2 for a in arts)  # recorded, and low

    loss = STRICT
    _, arts, rejs = normalise_dir(inputs, out="strict", page_type_article_loss=loss)
    assert not arts and sorted(r["input_kind"] for r in rejs) == ["html", "records", "text", "warc"]
    for r in rejs:
        assert r["reason"] == "not an article"
        assert "reads as another kind of page" in r["detail"] and f"at page_type_article_loss {loss:g}" in r["detail"]


def test_the_cli_option_sets_it(tmp_path, monkeypatch):
    inputs = _inputs(tmp_path / "in")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    off = runner.invoke(app, ["normalise", str(inputs / "shop.txt"), "--out", "off", "-q", "--workers", "1",
                              "--page-type-article-loss", "0"])
    (tmp_path / "params.yaml").write_text(f"normalise:\n  page_type_article_loss: {STRICT}\n")
    default = runner.invoke(app, ["normalise", str(inputs / "shop.txt"), "--out", "default", "--workers", "1"])
    assert off.exit_code == 0 and default.exit_code == 0, off.output + default.output
    assert json.loads((tmp_path / "off" / "summary.json").read_text())["main"] == 1
    assert json.loads((tmp_path / "default" / "summary.json").read_text())["rejects_by_reason"] == {"not an article": 1}
    assert "shop.txt: not an article: the page reads as another kind of page" in default.stderr
