"""The labeling page as annotators use it: a real Chromium (Debian's, driven by playwright, no
browser download) at 1366x768, logged in through Label Studio's login form as two annotators of
blind queues. Skips where /usr/bin/chromium or playwright is missing; `scripts/test` installs both.

Checks: every control group is on screen above the Submit bar with the article in view; a full
annotation (primary frame, another frame, tone, four stances, two spans, submit) takes at most 12
actions; what was done arrives through the API; a missing choice is named in plain words;
annotator B, opening the same article in B's own queue after A submitted, sees none of A's work;
and B's "not about the issue" (one key) hides every other question and submits without them.
The codebook on the page: two panels above the title, collapsed at load (their text not visible),
each opening with one click: the issue and the instructions, and every label's definition; opening
one moves no control; a frame's definition shows on hover where it is chosen (an "other frames
present" checkbox, an option of the primary-frame list).
The screenshots go to FRAMESTANCE_SCREENSHOTS when set (docs/labeling-1366x768.png,
docs/not-relevant-1366x768.png, docs/instructions-1366x768.png).
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

import pytest

from framestance.codebook import load
from framestance.labelstudio.interface import RELEVANCE_KEY

from .conftest import RETRIEVED, ROOT

CB = load(ROOT / "schemas" / "codebook.yaml")
CHROMIUM = Path("/usr/bin/chromium")
VIEWPORT = {"width": 1366, "height": 768}
sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")

# A made-up article (fictional places and people), about 3.7 KB.
TEXT = "\n\n".join([
    "The harbour city of Velmora woke to long queues outside the grain exchange on Tuesday, after the Council of Ostrava announced that the provisional accord with the Northern League would cap bread prices for another ninety days. Merchants said the cap would cost the municipal treasury close to four million crowns, money the council had earmarked for rebuilding the eastern docks.",
    "Chancellor Idris Vantelle defended the deal in a late-night address. \"We did not trade our fields for quiet,\" she said, insisting that no valley of the Hollin basin had been promised to the League in exchange for the ceasefire. Opposition deputies were not convinced, and several accused the chancellor of negotiating away the basin behind closed doors.",
    "Envoys from the Meridian Union, who brokered the talks on the island of Saltreach, said the accord was a first step rather than a settlement. Their chief negotiator, Osric Delaune, told reporters that security guarantees for Ostrava would only be discussed once both armies had pulled back twelve kilometres from the river line. He called the summit a diplomatic success for the Union.",
    "In the border villages, the mood was more cautious. Field hospitals in Durnhal reported fewer wounded this week, but aid workers said thousands of displaced families still lived in schools and church halls, with no word on when they could return to farms that lie inside the disputed strip.",
    "A petition circulated by students in the capital gathered sixty thousand signatures in two days, demanding a public vote on any change to the basin's status. A survey by the Velmora Institute found that a narrow majority of respondents would accept a temporary freeze of the front line, but fewer than one in five would accept a permanent transfer of land.",
    "Legal scholars at the Academy of Ostrava noted that the constitution forbids the cession of territory without a two-thirds vote of the assembly, and that the accord's annex, which speaks of an administrative line, may be challenged before the High Tribunal. The tribunal has not said whether it will hear such a case before the ninety days expire.",
    "Northern League officials, meanwhile, described the Hollin basin as the cradle of their people and said their claim was older than any treaty. Their foreign minister warned that the League would consider the accord void if Ostrava used the pause to rearm its garrisons, and that further talks would depend on the release of prisoners held since the winter offensive.",
    "Analysts in Saltreach said both capitals face elections next year and that neither leader can be seen to give ground. The next round of talks is scheduled for the first week of the harvest month, when the Meridian envoys hope to present a map that both sides can sign.",
    "Shipping companies were quicker to react. Insurers cut the war-risk premium on cargo bound for Velmora by a third, and the first convoy of salt and lamp oil in four months left Saltreach on Wednesday. Dock workers, idle since the autumn, lined up for day contracts before dawn.",
    "Not everyone welcomed the pause. Veterans of the river campaign marched to the assembly with banners reading \"No line on our map\", and a retired general wrote in the Gazette that a ceasefire without withdrawal only gives the League time to dig in. The chancellor's office replied that the garrisons would stay at full strength throughout the ninety days.",
    "The Meridian Union has promised to send forty observers to the river line by the end of the month. Their mandate, according to a draft seen by the Gazette, is limited to reporting violations; they will carry no weapons and will have no power to stop either army.",
])  # made-up article (fictional places and people), about 3.7 KB
TASK = {"article_id": "proto-0001", "title": "Velmora accord caps bread prices as envoys defend the Saltreach talks",
        "meta": "Velmora Gazette, 2031-03-04 (fictional)", "text": TEXT}

# The annotation: (kind, argument, what it does). "key" = one key press, "drag" = one mouse drag-select.
PLAN = [
    ("key", "Shift+5", "primary frame = Legality (counts as present)"),
    ("key", "1", "other frame present = Economic"),
    ("key", "o", "tone = neutral"),
    ("key", "a", "stance the Russian government = favor"),
    ("key", "h", "stance the Ukrainian government = against"),
    ("key", "c", "stance the US administration = neutral"),
    ("key", "l", "stance territory-for-ceasefire = not addressed"),
    ("key", "Alt+Shift+1", "span label = Economic (pick the label first)"),
    ("drag", "cap bread prices", "frame cue span"),
    ("key", "Shift+a", "span label = the Russian government"),
    ("drag", "We did not trade our fields", "stance evidence span"),
    ("key", "Control+Enter", "submit"),
]

EXPECTED = {
    "primary_frame": ["Legality, constitutionality and jurisprudence"],  # stored via alias, shown as "Legality"
    "tone": ["neutral"],
    "stance_russian_government": ["favor"],
    "stance_ukrainian_government": ["against"],
    "stance_us_administration": ["neutral"],
    "stance_territory_for_ceasefire": ["not addressed"],
}
GROUPS = {  # control name -> a selector for its block (checked to be on screen, above the bottom bar)
    "frame_spans": ".fs-spans .lsf-labels >> nth=0", "stance_evidence": ".fs-spans .lsf-labels >> nth=1",
    "relevance": ".fs-rel .lsf-choices", "primary_frame": ".fs-col .lsf-choices >> nth=1",
    "frames": ".fs-col .lsf-choices >> nth=2",
    "tone": ".fs-col2 .lsf-choices >> nth=0", "stance 1": ".fs-col2 .lsf-choices >> nth=1",
    "stance 2": ".fs-col2 .lsf-choices >> nth=2", "stance 3": ".fs-col2 .lsf-choices >> nth=3",
    "stance 4": ".fs-col2 .lsf-choices >> nth=4",
}

RANGE_JS = """([needle]) => {
  const root = document.querySelector('.fs-text .lsf-richtext__container');
  const w = document.createTreeWalker(root, NodeFilter.SHOW_TEXT); let n;
  while ((n = w.nextNode())) { const i = n.data.indexOf(needle); if (i >= 0) {
      const r = document.createRange(); r.setStart(n, i); r.setEnd(n, i + needle.length);
      const rs = r.getClientRects(); const a = rs[0], b = rs[rs.length - 1];
      return [a.left + 1, a.top + a.height / 2, b.right - 1, b.top + b.height / 2]; } }
  return null; }"""


# Whether `text` is on screen outside the panels (a tooltip: Label Studio shows hints in a tooltip
# appended to the page's body).
TOOLTIP_JS = """(text) => [...document.querySelectorAll('body *')].some(e => e.children.length === 0
  && e.textContent.trim() === text && !e.closest('.fs-info') && e.getClientRects().length > 0
  && getComputedStyle(e).visibility === 'visible' && Number(getComputedStyle(e.parentElement).opacity) > 0.5)"""


def _boxes(page, columns_only: bool = False) -> dict:
    """Where each control group is (`columns_only`: not the span labels, which sit above the article)."""
    return {group: page.locator(selector).bounding_box() for group, selector in GROUPS.items()
            if not (columns_only and group in ("frame_spans", "stance_evidence"))}


def _check_codebook_panels(page, shot: Path) -> None:
    """The issue, the instructions and every definition: collapsed at load, one click each to open."""
    headers = page.locator(".fs-info .ant-collapse-header")
    assert headers.count() == 2
    assert headers.nth(0).is_visible() and headers.nth(1).is_visible()
    issue = page.locator(".fs-info").get_by_text(CB.issue, exact=True)
    frame_defs = [page.locator(".fs-info").get_by_text(f.definition, exact=True) for f in CB.frames]
    paragraphs = [page.locator(".fs-info").get_by_text(p, exact=True) for p in CB.instructions.split("\n\n")]
    others = [page.locator(".fs-info").get_by_text(lab.definition, exact=True)
              for lab in (*CB.relevance, *CB.tone, *CB.stance_values, *CB.targets)]
    everything = [issue, *paragraphs, *frame_defs, *others]
    assert all(loc.count() == 1 and not loc.is_visible() for loc in everything)  # collapsed at load
    before, columns = _boxes(page), _boxes(page, columns_only=True)

    headers.nth(0).click()  # one click: the issue and the instructions
    issue.wait_for(state="visible", timeout=5000)
    assert all(p.is_visible() for p in paragraphs) and not any(d.is_visible() for d in frame_defs)
    assert _boxes(page, columns_only=True) == columns  # it pushes the article down, not the controls
    page.mouse.move(300, 700)
    page.wait_for_timeout(400)
    page.screenshot(path=str(shot))

    headers.nth(1).click()  # one click: every label's definition (the other panel closes)
    frame_defs[0].wait_for(state="visible", timeout=5000)
    assert all(d.is_visible() for d in frame_defs + others), "a definition is missing from the codebook panel"
    issue.wait_for(state="hidden", timeout=5000)
    assert _boxes(page, columns_only=True) == columns

    headers.nth(1).click()  # and one click closes it
    frame_defs[0].wait_for(state="hidden", timeout=5000)
    assert not any(loc.is_visible() for loc in everything) and _boxes(page) == before

    # a frame's definition where it is chosen: hover over an "other frames present" checkbox ...
    legality = next(f for f in CB.frames if f.id == "legality")
    page.locator(".fs-col .lsf-choices >> nth=2").get_by_text("Legality").hover()
    page.wait_for_function(TOOLTIP_JS, arg=legality.definition, timeout=5000)
    page.mouse.move(300, 700)
    page.wait_for_timeout(600)
    assert not page.evaluate(TOOLTIP_JS, legality.definition)
    # ... and over an option of the primary-frame list
    security = next(f for f in CB.frames if f.id == "security_defense")
    page.locator(".fs-col .lsf-choices >> nth=1").click()
    page.locator("[data-testid=choiceOptionText]", has_text="Security").first.hover()
    page.wait_for_function(TOOLTIP_JS, arg=security.definition, timeout=5000)
    page.keyboard.press("Escape")
    page.mouse.click(900, 650)  # an empty spot below the stances: the list's input lets go of the keys
    page.mouse.move(300, 400)
    page.wait_for_timeout(600)
    assert page.locator("input:checked").count() == 0 and _boxes(page) == before


@pytest.fixture(scope="module")
def queues(studio, studio_client, tmp_path_factory):
    """Annotators A and B (accounts with passwords) and one article in both their blind queues."""
    from framestance.labelstudio.accounts import add_local
    from framestance.labelstudio.pull import project_titles
    from framestance.labelstudio.push import push, queue_title
    from framestance.pseudonym import Pseudonymiser

    home, _conn = studio
    tag = uuid.uuid4().hex[:6]
    logins = add_local(home, [f"a-{tag}@example.org", f"b-{tag}@example.org"])
    corpus = one_article_corpus(tmp_path_factory.mktemp("browser"))
    name = f"browser-{tag}"
    push(studio_client, corpus, name, CB, annotators=[lg.email for lg in logins], overlap=2,
         pseudonym=Pseudonymiser.of_home(home.home).of)
    titles = project_titles(studio_client.projects(name), name)
    return home, [(lg, titles[queue_title(name, lg.pseudonym)]) for lg in logins]


def one_article_corpus(folder: Path) -> Path:
    """The normalised corpus of TASK's one article, in FOLDER/corpus."""
    from framestance.normalise import normalise

    raw = folder / "raw"
    raw.mkdir()
    (raw / "article.jsonl").write_text(json.dumps({"url": "https://gazette.example/velmora", "title": TASK["title"],
                                                   "text": TEXT, "date": "2031-03-04T08:00:00Z",
                                                   "source_domain": "Velmora Gazette"}) + "\n")
    normalise([str(raw)], folder / "corpus", retrieved_at=RETRIEVED, workers=1, force=True)
    return folder / "corpus"


def _page(browser, url: str, email: str, password: str, pid: int):
    page = browser.new_context(viewport=VIEWPORT).new_page()
    page.goto(url + "/user/login/")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("button[type=submit], input[type=submit]")
    assert "/user/login" not in page.url, f"login failed for {email}"
    page.goto(f"{url}/projects/{pid}/data?labeling=1")  # the label stream ("Label All Tasks")
    page.wait_for_selector(".fs-text .lsf-richtext__line", timeout=60000)
    page.wait_for_timeout(1500)
    page.mouse.move(300, 400)
    return page


def test_labeling_page_at_1366x768_fits_takes_12_actions_and_b_sees_none_of_a(studio, studio_client, queues, tmp_path):
    home, ((a, pid_a), (b, pid_b)) = queues
    url = studio[1].url
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM),
                                     args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            page = _page(browser, url, a.email, a.password, pid_a)
            bottom = page.locator("button:has-text('Submit')").first.bounding_box()["y"] - 4
            for group, selector in GROUPS.items():
                box = page.locator(selector).bounding_box()
                assert box is not None and box["y"] >= 48 and box["y"] + box["height"] <= bottom, (group, box, bottom)
                assert box["x"] + box["width"] <= VIEWPORT["width"], (group, box)
            pane = page.locator(".fs-text .lsf-richtext").first.bounding_box()
            assert pane["height"] >= 300 and pane["y"] + 100 < bottom  # the article stays in view
            _check_codebook_panels(page, tmp_path / "instructions-1366x768.png")
            assert page.locator(".fs-text .lsf-richtext").first.bounding_box() == pane
            if os.environ.get("FRAMESTANCE_SCREENSHOTS"):
                shutil.copy(tmp_path / "instructions-1366x768.png", os.environ["FRAMESTANCE_SCREENSHOTS"])

            actions = []
            shot = tmp_path / "labeling-1366x768.png"
            for kind, arg, what in PLAN:
                if kind == "key":
                    page.keyboard.press(arg)
                else:
                    x1, y1, x2, y2 = page.evaluate(RANGE_JS, [arg])
                    if y2 > min(bottom, pane["y"] + pane["height"]) - 8:  # below the fold: one scroll
                        page.mouse.move(pane["x"] + pane["width"] / 2, pane["y"] + pane["height"] / 2)
                        page.mouse.wheel(0, y2 - pane["y"] - pane["height"] / 2)
                        page.wait_for_timeout(400)
                        actions.append("scroll")
                        x1, y1, x2, y2 = page.evaluate(RANGE_JS, [arg])
                    page.mouse.move(x1, y1)
                    page.mouse.down()
                    page.mouse.move((x1 + x2) / 2, (y1 + y2) / 2, steps=4)
                    page.mouse.move(x2, y2, steps=4)
                    page.mouse.up()
                actions.append(f"{kind} {arg} ({what})")
                page.wait_for_timeout(250)
                if kind == "drag" and arg.startswith("We did not"):
                    page.screenshot(path=str(shot))  # everything filled in, before submitting
            page.wait_for_timeout(2500)
            assert len(actions) <= 12, actions
            print(f"full annotation in {len(actions)} actions: " + "; ".join(actions))
            if os.environ.get("FRAMESTANCE_SCREENSHOTS"):
                shutil.copy(shot, Path(os.environ["FRAMESTANCE_SCREENSHOTS"]) / shot.name)

            # B opens the same article in B's own queue: none of A's work is on the page
            page_b = _page(browser, url, b.email, b.password, pid_b)
            assert page_b.locator("input:checked").count() == 0
            assert page_b.locator(".fs-text .htx-highlight, .fs-text [class*=highlight]").count() == 0
            assert "Legality" not in page_b.locator(".fs-col .lsf-choices >> nth=1").inner_text()
            page_b.keyboard.press("Control+Enter")  # submitting nothing: the first requirement, in plain words
            dialog = page_b.locator(".ant-modal, .lsf-modal, [role=dialog]")
            dialog.first.wait_for(timeout=10000)
            assert "Pick the primary frame" in dialog.first.inner_text()
            page_b.wait_for_timeout(600)  # the dialog's opening animation: Escape during it can be lost
            page_b.keyboard.press("Escape")
            try:
                dialog.first.wait_for(state="hidden", timeout=5000)
            except sync_api.TimeoutError:  # a loaded machine: its OK button closes it as well
                dialog.first.locator("button").last.click()
                dialog.first.wait_for(state="hidden", timeout=10000)
            page_b.mouse.move(300, 400)

            # "not about the issue" hides every other question, and the hidden required ones do not block
            page_b.keyboard.press(RELEVANCE_KEY.replace("shift", "Shift"))
            page_b.wait_for_timeout(500)
            for hidden in (".fs-col2", ".fs-spans", ".fs-col .lsf-choices >> nth=1"):
                assert not page_b.locator(hidden).first.is_visible(), hidden
            page_b.screenshot(path=str(tmp_path / "not-relevant-1366x768.png"))
            if os.environ.get("FRAMESTANCE_SCREENSHOTS"):
                shutil.copy(tmp_path / "not-relevant-1366x768.png", os.environ["FRAMESTANCE_SCREENSHOTS"])
            assert not json.loads(studio_client.export_snapshot(pid_b))[0]["annotations"]  # nothing of A's, nor yet B's
            page_b.keyboard.press("Control+Enter")
            page_b.wait_for_timeout(2500)
            assert not dialog.first.is_visible()
        finally:
            browser.close()

    tasks = json.loads(studio_client.export_snapshot(pid_a))
    (ann,) = tasks[0]["annotations"]
    by: dict[str, list] = {}
    for item in ann["result"]:
        by.setdefault(item["from_name"], []).append(item["value"])
    for control, want in EXPECTED.items():
        assert by[control][0]["choices"] == want, control
    assert by["frames"][0]["choices"] == ["Economic"]
    spans = sorted((r["from_name"], r["value"]["labels"][0], r["value"]["text"]) for r in ann["result"] if r["type"] == "labels")
    assert spans == [("frame_spans", "Economic", "cap bread prices"),
                     ("stance_evidence", "the Russian government", "We did not trade our fields")]
    (ann_b,) = json.loads(studio_client.export_snapshot(pid_b))[0]["annotations"]  # B's own, and only the box
    assert [(r["from_name"], r["value"]["choices"]) for r in ann_b["result"]] == [(CB.RELEVANCE, [CB.relevance[1].name])]


def test_adjudication_page_shows_each_dispute_where_it_is_answered_and_takes_at_most_4_actions(studio, studio_client,
                                                                                               tmp_path):
    """Two annotators agree on everything but the primary frame. The adjudicator (a named one, on
    the lead's server) sees under every control group the annotators' labels for it, marked agreed
    or disputed, finds the agreed labels filled in, and decides with one key and a submit. The
    screenshot goes to FRAMESTANCE_SCREENSHOTS when set (docs/adjudication-1366x768.png)."""
    from framestance.aggregate import run as aggregate
    from framestance.config import AggregateConfig, QualityConfig
    from framestance.labelstudio.accounts import add_local
    from framestance.labelstudio.adjudicate import adjudication_title, push_round
    from framestance.labelstudio.interface import FRAME_KEYS
    from framestance.labelstudio.pull import project_titles
    from framestance.labelstudio.pull import run as pull
    from framestance.labelstudio.push import push, queue_title
    from framestance.labelstudio.team import Team
    from framestance.pseudonym import Pseudonymiser
    from framestance.validate import load_tables

    home, conn = studio
    tag = uuid.uuid4().hex[:6]
    c, d = add_local(home, [f"c-{tag}@example.org", f"d-{tag}@example.org"])
    judge = Team(home.home).add([f"judge-{tag}@example.org"], role="adjudicator")[0]
    corpus = one_article_corpus(tmp_path)
    name = f"adjudicate-{tag}"
    push(studio_client, corpus, name, CB, annotators=[c.email, d.email], overlap=2,
         pseudonym=Pseudonymiser.of_home(home.home).of)
    titles = project_titles(studio_client.projects(name), name)
    frame = {f.id: f.name for f in CB.frames}
    values = ["favor", "against", "neutral", "not addressed"]
    for who, primary in ((c, "legality"), (d, "political")):
        result = [{"from_name": CB.PRIMARY, "to_name": "text", "type": "choices", "value": {"choices": [frame[primary]]}},
                  {"from_name": CB.FRAMES, "to_name": "text", "type": "choices",
                   "value": {"choices": [frame["legality"], frame["political"]]}},
                  {"from_name": CB.TONE, "to_name": "text", "type": "choices", "value": {"choices": ["neutral"]}}]
        result += [{"from_name": CB.stance_control(t.id), "to_name": "text", "type": "choices", "value": {"choices": [v]}}
                   for t, v in zip(CB.targets, values)]
        task = next(iter(studio_client.task_keys(titles[queue_title(name, who.pseudonym)]).values()))
        studio_client.annotate(task["id"], result, who.user_id, lead_time=60.0)
    pull(name, tmp_path / "snaps", tmp_path / "tables", CB, home.home)
    tables = load_tables({"corpus": corpus, "annotations": tmp_path / "tables"})
    aggregate(tables, CB, AggregateConfig(), QualityConfig(min_annotators=2), tmp_path / "gold")
    report = push_round(studio_client, corpus, tmp_path / "gold", tmp_path / "tables", name, CB)
    assert report.created == 1
    pid = studio_client.find_project(adjudication_title(name))

    political_key = FRAME_KEYS[[f.id for f in CB.frames].index("political")]
    plan = [("key", f"Shift+{political_key}", "primary frame = Political (B's reading)"), ("key", "Control+Enter", "submit")]
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM),
                                     args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            page = _page(browser, conn.url, judge.email, judge.password, pid)
            lines = [page.locator(".fs-vote").nth(i).inner_text().strip() for i in range(page.locator(".fs-vote").count())]
            assert len(lines) == 4 + len(CB.targets), lines  # relevance, primary, frames, tone, a stance each
            assert lines[0] == "✔ agreed: about the issue"
            assert lines[1].startswith("✖ disputed: A ") and "Legality" in lines[1] and "Political" in lines[1]
            assert lines[2] == "✔ agreed: Legality, Political" and lines[3] == "✔ agreed: neutral"
            assert lines[4:] == [f"✔ agreed: {v}" for v in values]
            who = page.locator(".fs-who").inner_text()
            assert c.pseudonym in who and d.pseudonym in who and c.email not in page.content()
            page.mouse.move(300, 700)
            shot = tmp_path / "adjudication-1366x768.png"
            page.screenshot(path=str(shot))
            if os.environ.get("FRAMESTANCE_SCREENSHOTS"):
                shutil.copy(shot, os.environ["FRAMESTANCE_SCREENSHOTS"])
            # the agreed labels are filled in; the disputed one is not
            bottom = page.locator("button:has-text('Submit')").first.bounding_box()["y"] - 4
            for group, selector in GROUPS.items():  # the span labels are folded away here
                box = page.locator(selector).bounding_box()
                assert (box is None) == (group in ("frame_spans", "stance_evidence")), group
                assert box is None or box["y"] + box["height"] <= bottom, (group, box, bottom)
            assert page.locator(".fs-col2 .ant-radio-wrapper-checked").count() == 1 + len(CB.targets)
            assert page.locator(".fs-col .lsf-choices >> nth=2").locator("input:checked").count() == 2
            # the article stays readable: lines of text in view between the title and the bottom bar
            text = page.locator(".fs-text .lsf-richtext").bounding_box()
            line_height = page.evaluate("() => parseFloat(getComputedStyle(document.querySelector("
                                        "'.fs-text .lsf-richtext__line')).lineHeight) || 20")
            visible_lines = int(min(text["height"], bottom - text["y"]) // line_height)
            print(f"\nadjudication page: {visible_lines} lines of the article in view at 1366x768")
            assert visible_lines >= 15
            actions = 0  # counted as done: the page opens in the label stream, so nothing else is needed
            for _kind, key, _what in plan:
                page.keyboard.press(key)
                actions += 1
                page.wait_for_timeout(300)
            page.wait_for_timeout(1500)
            # opened from the task table (the Data Manager's quick view) the article is readable too
            task_id = json.loads(studio_client.export_snapshot(pid))[0]["id"]
            page.goto(f"{conn.url}/projects/{pid}/data?task={task_id}")
            page.wait_for_selector(".fs-text .lsf-richtext__line", timeout=60000)
            page.wait_for_timeout(1500)
            text = page.locator(".fs-text .lsf-richtext").bounding_box()
            in_view = int(max(0, min(text["y"] + text["height"], VIEWPORT["height"] - 60) - max(text["y"], 0)) // line_height)
            print(f"adjudication page from the task table: {in_view} lines of the article in view")
            page.screenshot(path=str(tmp_path / "adjudication-table-1366x768.png"))
            if os.environ.get("FRAMESTANCE_SCREENSHOTS"):
                shutil.copy(tmp_path / "adjudication-table-1366x768.png", os.environ["FRAMESTANCE_SCREENSHOTS"])
            assert in_view >= 10
        finally:
            browser.close()
    decision = json.loads(studio_client.export_snapshot(pid))[0]["annotations"]
    assert len(decision) == 1
    got = {r["from_name"]: r["value"]["choices"] for r in decision[0]["result"] if r.get("type") == "choices"}
    assert got[CB.PRIMARY] == [frame["political"]] and sorted(got[CB.FRAMES]) == sorted([frame["legality"], frame["political"]])
    assert got[CB.TONE] == ["neutral"] and [got[CB.stance_control(t.id)] for t in CB.targets] == [[v] for v in values]
    print(f"adjudication page: the dispute decided and submitted in {actions} actions")
    assert actions <= 4  # those actions made the whole decision above


def test_a_codebook_of_yes_no_questions_on_the_labeling_page(studio, studio_client, tmp_path):
    """The generic-frames codebook (23 yes/no questions, frames by rule, no primary frame, tone or
    stance) in a real browser at 1366x768: a row per question beside the article, all 23 on screen
    with the article, every answer required (the full question is the hint of each answer); an
    annotation answered in 23 clicks (or Label Studio's own keys per answer) and a submit; pull
    derives its frames by the codebook's rules. The screenshot goes to FRAMESTANCE_SCREENSHOTS as
    docs/questions-1366x768.png when set."""
    from framestance.labelstudio.accounts import add_local
    from framestance.labelstudio.pull import project_titles, scrub, tables_from_snapshot
    from framestance.labelstudio.push import push, queue_title
    from framestance.pseudonym import Pseudonymiser

    generic = load(ROOT / "schemas" / "codebooks" / "generic-frames.yaml")
    home, _conn = studio
    tag = uuid.uuid4().hex[:6]
    (login,) = add_local(home, [f"q-{tag}@example.org"])
    corpus = one_article_corpus(tmp_path)
    name = f"questions-{tag}"
    pseudo = Pseudonymiser.of_home(home.home)
    push(studio_client, corpus, name, generic, annotators=[login.email], overlap=1, pseudonym=pseudo.of)
    pid = project_titles(studio_client.projects(name), name)[queue_title(name, login.pseudonym)]
    yes = {"co1", "co2", "mo1"}  # conflict (2 of co1-co3) and morality (1 of mo1, mo2)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM),
                                     args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            page = _page(browser, studio[1].url, login.email, login.password, pid)
            rows = page.locator(".fs-q")
            assert rows.count() == len(generic.questions)
            assert page.locator("text=Primary frame").count() == 0 and page.locator("text=Tone toward").count() == 0
            bottom = page.locator("button:has-text('Submit')").first.bounding_box()["y"]
            pane = page.locator(".fs-text .lsf-richtext").first.bounding_box()
            assert pane["height"] >= 300  # the article keeps its room beside the questions
            first = rows.nth(0).bounding_box()
            assert first["x"] >= pane["x"] + pane["width"] and first["y"] < bottom  # beside the article, on screen
            visible = sum(1 for i in range(rows.count()) if rows.nth(i).bounding_box()["y"] + 16 <= bottom)
            assert visible == len(generic.questions), visible  # every question on screen, no scrolling
            clicks = 0
            for i, q in enumerate(generic.questions):
                row = rows.nth(i)
                row.scroll_into_view_if_needed()
                row.locator(".ant-radio-wrapper").nth(0 if q.id in yes else 1).click()  # Yes, No
                clicks += 1
            page.mouse.move(300, 700)  # no tooltip over the answers
            page.wait_for_timeout(600)
            shot = tmp_path / "questions-1366x768.png"
            page.screenshot(path=str(shot))
            page.locator("button:has-text('Submit')").first.click()
            page.wait_for_timeout(2500)
        finally:
            browser.close()
    assert clicks == 23
    if os.environ.get("FRAMESTANCE_SCREENSHOTS"):
        shutil.copy(shot, Path(os.environ["FRAMESTANCE_SCREENSHOTS"]) / "questions-1366x768.png")
    tables = tables_from_snapshot(scrub(studio_client.export_snapshot(pid), pseudo.of), generic)
    (ann,) = [a for a in tables["annotations"].to_pylist() if a["status"] == "submitted"]
    assert ann["frames"] == ["conflict", "morality"] and ann["primary_frame"] is None and ann["tone"] is None
    answers = {a["question"]: a["answer"] for a in tables["answers"].to_pylist()}
    assert answers == {q.id: "yes" if q.id in yes else "no" for q in generic.questions}


def test_a_suggestion_is_on_the_page_of_the_suggested_arm_only(studio, studio_client, tmp_path):
    """push --predictions in a real browser: the annotator drawn into the suggested arm opens the
    task with the suggested label filled in (Label Studio's pre-annotation); the one drawn into the
    control arm sees nothing filled in. Screenshot: docs/suggested-1366x768.png via
    FRAMESTANCE_SCREENSHOTS."""
    from framestance.labelstudio.accounts import add_local
    from framestance.labelstudio.pull import project_titles
    from framestance.labelstudio.push import push, queue_title, suggested
    from framestance.pseudonym import Pseudonymiser

    home, _conn = studio
    corpus = one_article_corpus(tmp_path)
    article = json.loads(json.dumps(__import__("pyarrow.parquet", fromlist=["x"]).read_table(
        corpus / "articles.parquet", columns=["article_id"]).to_pylist()))[0]["article_id"]
    # two annotators whose draws differ on this article (seed 0, share 0.5)
    logins = []
    while len(logins) < 2:
        (login,) = add_local(home, [f"s-{uuid.uuid4().hex[:6]}@example.org"])
        arm = suggested(0, login.pseudonym, article, 0.5)
        if not any(suggested(0, x.pseudonym, article, 0.5) == arm for x in logins):
            logins.append(login)
    preds = tmp_path / "predictions.jsonl"
    preds.write_text(json.dumps({"article_id": article, "model_version": "suggest-browser", "score": 0.9,
                                 "codebook": CB.fingerprint(), "result": [
                                     {"from_name": CB.TONE, "to_name": "text", "type": "choices",
                                      "value": {"choices": ["negative"]}}]}) + "\n")
    name = f"suggested-{uuid.uuid4().hex[:6]}"
    push(studio_client, corpus, name, CB, annotators=[x.email for x in logins], overlap=2,
         pseudonym=Pseudonymiser.of_home(home.home).of, predictions=preds, suggest_share=0.5)
    titles = project_titles(studio_client.projects(name), name)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM),
                                     args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            seen = {}
            for login in logins:
                page = _page(browser, studio[1].url, login.email, login.password, titles[queue_title(name, login.pseudonym)])
                tone = page.locator(".fs-col2 .lsf-choices").first
                seen[suggested(0, login.pseudonym, article, 0.5)] = [
                    tone.locator(".ant-radio-wrapper").nth(i).locator("input").is_checked() for i in range(3)]
                if suggested(0, login.pseudonym, article, 0.5):
                    page.screenshot(path=str(tmp_path / "suggested-1366x768.png"))
        finally:
            browser.close()
    negative = [t.id for t in CB.tone].index("negative")
    assert seen[True] == [i == negative for i in range(3)], seen  # the suggestion, filled in
    assert seen[False] == [False, False, False], seen  # the control arm: nothing
    if os.environ.get("FRAMESTANCE_SCREENSHOTS"):
        shutil.copy(tmp_path / "suggested-1366x768.png", os.environ["FRAMESTANCE_SCREENSHOTS"])
