"""The codebook is the single source of labels; the labeling config is generated from it."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from framestance.cli import app
from framestance.codebook import CodebookError, load
from framestance.labelstudio.interface import check_config, config_labels, labeling_config

from .conftest import ROOT

CODEBOOK = ROOT / "schemas" / "codebook.yaml"


def test_default_codebook():
    cb = load(CODEBOOK)
    assert len(cb.frames) == 15 and cb.frames[0].name == "Economic" and cb.frames[-1].id == "other"
    assert [t.id for t in cb.tone] == ["positive", "neutral", "negative"]
    assert [v.id for v in cb.stance_values] == ["favor", "against", "neutral", "not_addressed"]
    assert cb.stance_order == ("against", "neutral", "favor")
    assert {"russian_government", "ukrainian_government", "us_administration", "territory_for_ceasefire"} == {t.id for t in cb.targets}
    assert all(len(f.definition.split()) >= 8 for f in cb.frames)


def test_labeling_config_is_generated_from_the_codebook_and_valid():
    cb = load(CODEBOOK)
    xml = labeling_config(cb)
    check_config(xml)
    labels = config_labels(xml)
    assert labels[cb.FRAMES] == labels[cb.PRIMARY] == labels[cb.FRAME_SPANS] == {f.name for f in cb.frames}
    assert labels[cb.TONE] == {t.name for t in cb.tone}
    assert labels[cb.EVIDENCE] == {t.name for t in cb.targets}
    assert labels[cb.RELEVANCE] == {cb.relevance[1].name}  # one box: unticked is "relevant"
    # the box hides every other question: the spans, the frames column and the tone/stance column
    assert xml.count(f'visibleWhen="choice-unselected" whenTagName="{cb.RELEVANCE}" whenChoiceValue="{cb.relevance[1].name}"') == 3
    for t in cb.targets:
        assert labels[cb.stance_control(t.id)] == {v.name for v in cb.stance_values}
    for f in cb.frames:  # definitions are the annotators' hints
        assert f'hint="{f.definition[:40]}' in xml.replace("&quot;", '"')


def test_reviewed_config_in_schemas_is_up_to_date(monkeypatch):
    monkeypatch.chdir(ROOT)
    res = CliRunner().invoke(app, ["codebook", "--check"])
    assert res.exit_code == 0, res.output


def test_changing_a_target_in_the_codebook_alone_changes_the_interface(tmp_path):
    text = CODEBOOK.read_text().replace("name: a territory-for-ceasefire deal", "name: a frozen conflict")
    (tmp_path / "cb.yaml").write_text(text)
    cb = load(tmp_path / "cb.yaml")
    assert "Stance toward a frozen conflict" in labeling_config(cb)
    assert cb.fingerprint() != load(CODEBOOK).fingerprint()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("id: morality", "id: economic"), "repeats the id economic"),
        (lambda t: t.replace("order: [against, neutral, favor]", "order: [against, maybe]"), "unknown values maybe"),
        (lambda t: t.replace(">-\n      A framing dimension that none of the categories above captures.", "''"), "has no definition"),
        (lambda t: t.replace("gold: {}", "gold: {abc: {frames: [nonsense]}}"), "unknown frames nonsense"),
        (lambda t: "frames: [", "not valid YAML"),
        (lambda t: t.replace("issue:\n  statement:", "unused:\n  statement:"), "`issue` must state the issue"),
        (lambda t: re.sub(r"  query: >-\n(    .*\n)+", "  query: [a, b]\n", t), "`issue.query` must be a search query"),
        (lambda t: t.replace("issue:\n  statement:", "issue:\n  querry: climate\n  statement:"), "`issue.querry`: unknown key"),
        (lambda t: t.replace("relevance:\n", "unused:\n"), "`relevance` must be a non-empty list"),
        (lambda t: t.replace("id: not_relevant", "id: off_topic"), "`relevance` must list exactly the ids relevant and not_relevant"),
        (lambda t: t.replace("gold: {}", "gold: {abc: {relevance: maybe}}"), "unknown relevance maybe"),
        (lambda t: t.replace("instructions: |", "instructions: [a, b]\nunused: |"), "`instructions` must be text"),
        (lambda t: t.replace("gold: {}", "gold: {abc: {relevance: not_relevant, tone: neutral}}"),
         "is not relevant and so has no other label"),
    ],
)
def test_bad_codebooks_are_refused_with_a_clear_message(tmp_path, edit, message):
    (tmp_path / "cb.yaml").write_text(edit(CODEBOOK.read_text()))
    with pytest.raises(CodebookError, match=message):
        load(tmp_path / "cb.yaml")


def test_the_query_is_read_and_leaves_the_fingerprint_alone(tmp_path):
    from framestance.codebook import load

    text = CODEBOOK.read_text()
    cb = load(CODEBOOK)
    assert cb.query.startswith("ukraine OR") and "\n" not in cb.query and cb.issue.startswith("A negotiated end")
    (tmp_path / "cb.yaml").write_text(text.replace("ukraine OR ukrainian OR", "ukraine OR"))
    other = load(tmp_path / "cb.yaml")
    assert other.query != cb.query and other.fingerprint() == cb.fingerprint()  # the labeling page is the same
    # the older form, the issue as one string, still reads (with no query)
    start = text.index("issue:\n")
    end = text.index("\n\n", start)
    (tmp_path / "old.yaml").write_text(text[:start] + "issue: The issue as one string." + text[end:])
    old = load(tmp_path / "old.yaml")
    assert old.issue == "The issue as one string." and old.query == ""


def test_codebook_instructions_are_read_as_paragraphs_and_change_the_fingerprint(tmp_path):
    text = CODEBOOK.read_text()
    cb = load(CODEBOOK)
    paragraphs = cb.instructions.split("\n\n")
    assert len(paragraphs) >= 5 and all(p and "\n" not in p and "  " not in p for p in paragraphs)
    assert paragraphs[0].startswith("The unit is one article")
    (tmp_path / "cb.yaml").write_text(text.replace("read it to the end", "read all of it"))
    assert load(tmp_path / "cb.yaml").fingerprint() != cb.fingerprint()  # annotators see them
    start = text.index("instructions: |")
    end = text.index("\n# Relevance", start)
    (tmp_path / "none.yaml").write_text(text[:start] + text[end:])  # optional
    none = load(tmp_path / "none.yaml")
    assert none.instructions == "" and none.fingerprint() != cb.fingerprint()
    check_config(labeling_config(none))


@pytest.mark.parametrize("votes", [False, True])
def test_labeling_config_shows_the_issue_instructions_and_codebook_in_collapsed_panels(votes):
    from html import unescape

    cb = load(CODEBOOK)
    xml = labeling_config(cb, votes=votes)
    check_config(xml)
    # collapsed at load; the adjudication page also folds its span labels away
    assert xml.count("<Collapse ") == 1 + votes and xml.count("<Panel ") == 2 + votes and " open=" not in xml
    panels = xml[xml.index("<Collapse "):xml.index("</Collapse>")]
    shown = unescape(" ".join(re.findall(r'<Header value="([^"]*)"', panels)))
    assert cb.issue in shown
    for paragraph in cb.instructions.split("\n\n"):
        assert paragraph in shown
    for labels in (cb.relevance, cb.frames, cb.tone, cb.stance_values, cb.targets):
        for lab in labels:
            assert lab.name in shown and lab.definition in shown, lab.id
    controls = {cb.RELEVANCE, cb.PRIMARY, cb.FRAMES, cb.TONE, cb.FRAME_SPANS, cb.EVIDENCE, *map(cb.stance_control, (t.id for t in cb.targets))}
    assert set(config_labels(xml)) == controls  # the panels add text, no control


def test_codebook_text_is_escaped_in_the_config(tmp_path):
    text = CODEBOOK.read_text().replace("ceasefire agreement between Russia and Ukraine.",
                                        '"ceasefire" <agreement> & $title, worth $5bn.')
    text = text.replace("The unit is one article", "The unit (<b>one</b> & only) costs $text; it is one article")
    (tmp_path / "cb.yaml").write_text(text)
    cb = load(tmp_path / "cb.yaml")
    xml = labeling_config(cb)
    check_config(xml)
    panels = xml[xml.index("<Collapse "):xml.index("</Collapse>")]
    assert "$" not in panels  # Label Studio would read $title, $text, $5bn as task data
    assert "&quot;ceasefire&quot; &lt;agreement&gt; &amp; \uff04title, worth \uff045bn." in panels
    assert "(&lt;b&gt;one&lt;/b&gt; &amp; only) costs \uff04text;" in panels
