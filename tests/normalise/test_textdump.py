"""Plain-text dumps of rendered pages: the seed, our own fixture of its shape, and other shapes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from framestance.normalise.article import NotAnArticle
from framestance.normalise.cleaning import parse_byline
from framestance.normalise.textdump import LINE_MODEL_MIN_LINES, parse_text_dump

from ..conftest import RETRIEVED, SAMPLE, SEEDS, body

SEED = SEEDS / "000_97a7e2018422f2ba.txt"


def test_seed_gives_main_and_related_article():
    assert SEED.exists(), f"the seed {SEED} must sit beside the repository (../shared/seeds)"
    arts = parse_text_dump(SEED.read_text(encoding="utf-8"), RETRIEVED)
    assert [a.relation for a in arts] == ["main", "related"]
    main, related = arts
    assert main.title == "Here's what Putin really wants from Trump – and it's not peace in Ukraine"
    assert main.authors == ["Matthew Chance"]
    assert main.author_roles == ["chief global affairs correspondent, CNN"]
    assert main.outlet == "RNZ News"
    assert main.syndicated_from == "CNN"
    assert main.kicker == "Analysis"
    assert main.date.text == "3 days ago" and main.date.precision == "day"
    assert main.date.at == datetime(2025, 8, 15, tzinfo=UTC)
    text = "\n\n".join(main.paragraphs)
    assert text.startswith("Alaska is unlikely to have been on many people's bingo cards")
    assert (
        "Yet America's biggest, remotest state is where Presidents Donald Trump and Vladimir Putin are now set to meet"
        in text
    )
    for junk in ("logo", "Photo:", "Sergei Guneyev", "Try Our AI Features", "No comments yet", "Orange background",
                 "DOWNLOAD THE APP", "-CNN"):
        assert junk not in text, junk
    assert text.count(main.title) == 0
    assert len(main.media) == 4
    assert main.media[0] == {"caption": "Russian President Vladimir Putin.", "credit": "Sergei Guneyev / POOL / AFP"}
    assert all(m["credit"] for m in main.media)
    # Sentences broken at inline links are one sentence again.
    assert "the upper hand on the grinding Ukrainian battlefield. As recently as last month" in text
    assert 'On Wednesday (US time), Trump promised "very severe consequences" if Putin' in text

    assert related.title == "European leaders to join Ukraine's Zelensky for meeting with Trump"
    assert related.outlet == "1News"
    assert related.date.text == "6 hours ago" and related.date.precision == "hour"
    assert related.date.at == datetime(2025, 8, 18, 3, tzinfo=UTC)
    rtext = "\n\n".join(related.paragraphs)
    assert rtext.startswith("European and NATO leaders announced overnight")
    assert "ADVERTISEMENT" not in rtext and "(Source:" not in rtext
    assert "Download Daily8 app" not in rtext
    assert related.media[0]["caption"].startswith("President Donald Trump meets with Russia's President")
    assert related.media[0]["caption"].endswith("Secretary of State Marco Rubio.")
    assert related.media[0]["credit"] == "Associated Press"


def test_own_fixture_with_the_seed_structure():
    arts = parse_text_dump((SAMPLE / "dumps" / "aggregator_analysis.txt").read_text(encoding="utf-8"), RETRIEVED)
    assert [a.relation for a in arts] == ["main", "related"]
    main, related = arts
    assert main.title == "Why the Kremlin is in no hurry to sign a ceasefire"
    assert main.outlet == "Harbour Times"
    assert main.authors == ["Ana Kowalski"]
    assert main.author_roles == ["senior Europe correspondent, Wire Service International"]
    assert main.kicker == "Analysis" and main.syndicated_from == "WSI"
    assert main.date.at == datetime(2025, 8, 16, tzinfo=UTC)
    text = "\n\n".join(main.paragraphs)
    assert text.startswith("The summit venue was chosen in a hurry")
    assert "explaining that any agreement must address" in text
    assert "become harder to predict. Analysts at several" in text
    assert [m["credit"] for m in main.media] == ["Northlight Images / POOL", "Defence Ministry handout"]
    for junk in ("Photo:", "Orange background", "Try Our AI", "Comments", "-WSI", "Northlight"):
        assert junk not in text
    assert related.title == "Allies promise to stand with Kyiv before the White House meeting"
    assert related.outlet == "Pacific Daily" and related.date.precision == "hour"
    rtext = "\n\n".join(related.paragraphs)
    assert "ADVERTISEMENT" not in rtext and "(Source:" not in rtext
    assert "Leaders weigh sanctions as talks stall" not in rtext  # a title-only teaser
    assert related.media == [{"caption": "The leaders arrive at the airport on Monday morning. At right is the host country's foreign minister.", "credit": "Pacific Wire"}]


def test_wire_copy_dateline_byline_and_credits_trailer():
    (art,) = parse_text_dump((SAMPLE / "dumps" / "wire_copy.txt").read_text(encoding="utf-8"), RETRIEVED)
    assert art.title == "Envoy says Moscow open to talks on security guarantees"
    assert art.authors == ["Lena Marsh", "Tomas Greer"] and art.author_roles == ["Northwire", "Northwire"]
    assert art.syndicated_from == "Northwire"
    assert art.date.at == datetime(2025, 8, 14, 9, 32, tzinfo=UTC) and art.date.precision == "minute"
    text = "\n\n".join(art.paragraphs)
    assert text.startswith("KYIV (Northwire) - A senior envoy")
    assert "Reporting by" not in text and "Our Standards" not in text and "Share" not in text


def test_live_blog_drops_entry_times_and_widgets():
    import gzip

    raw = gzip.decompress((SAMPLE / "dumps" / "live_blog.txt.gz").read_bytes()).decode()
    (art,) = parse_text_dump(raw, RETRIEVED)
    assert art.kicker == "LIVE" and art.title.startswith("Summit day")
    assert art.date.text == "15 Aug 2025" and art.date.precision == "day"
    text = "\n\n".join(art.paragraphs)
    assert "BST" not in text and "Key events" not in text and "JavaScript" not in text
    assert len(art.paragraphs) == 3


def test_non_english_dump():
    (art,) = parse_text_dump((SAMPLE / "dumps" / "german_report.txt").read_text(encoding="utf-8"), RETRIEVED)
    assert art.title == "Gipfel in Alaska: Europa fordert Mitsprache"
    assert art.outlet == "Rundschau Online" and art.authors == ["Karin Albrecht"]
    assert art.date.text == "vor 5 Stunden" and art.date.at == datetime(2025, 8, 18, 4, tzinfo=UTC)
    assert "Startseite" not in "\n".join(art.paragraphs) and "Kommentare" not in "\n".join(art.paragraphs)


def test_paywall_stub_is_not_an_article():
    with pytest.raises(NotAnArticle, match="paywall stub"):
        parse_text_dump((SAMPLE / "dumps" / "paywall_stub.txt").read_text(encoding="utf-8"), RETRIEVED)


@pytest.mark.parametrize(
    ("line", "text", "at", "precision"),
    [
        ("time6 hours ago", "6 hours ago", datetime(2025, 8, 18, 3, tzinfo=UTC), "hour"),
        ("Pacific Daily 45 mins ago", "45 mins ago", datetime(2025, 8, 18, 8, 45, tzinfo=UTC), "minute"),
        ("a day ago", "a day ago", datetime(2025, 8, 17, tzinfo=UTC), "day"),
        ("il y a 2 jours", "il y a 2 jours", datetime(2025, 8, 16, tzinfo=UTC), "day"),
        ("hace 3 horas", "hace 3 horas", datetime(2025, 8, 18, 6, tzinfo=UTC), "hour"),
        ("Updated: August 14, 2025 at 4:05 PM EDT", "August 14, 2025 at 4:05 PM EDT", datetime(2025, 8, 14, 20, 5, tzinfo=UTC), "minute"),
        ("2025-08-14T10:32:00Z", "2025-08-14T10:32:00Z", datetime(2025, 8, 14, 10, 32, tzinfo=UTC), "second"),
        ("14. August 2025", "14. August 2025", datetime(2025, 8, 14, tzinfo=UTC), "day"),
        ("14.08.2025", "14.08.2025", datetime(2025, 8, 14, tzinfo=UTC), "day"),  # "14.08" is the day, not a time
        ("14.08.2025 09:15", "14.08.2025 09:15", datetime(2025, 8, 14, 9, 15, tzinfo=UTC), "minute"),
        # a header's reading time or comment count after the date is not part of it
        ("Aug 08, 2025 · 7 min read", "Aug 08, 2025", datetime(2025, 8, 8, tzinfo=UTC), "day"),
        ("Ana Lima August 9, 2025 | 2 Comments", "August 9, 2025", datetime(2025, 8, 9, tzinfo=UTC), "day"),
    ],
)
def test_shown_dates(line, text, at, precision):
    from framestance.normalise.dates import parse_shown_date
    from framestance.normalise.profiles import profile_for

    shown = parse_shown_date(line, RETRIEVED, profile_for(""))
    assert shown is not None
    assert shown.text == text
    assert shown.at == at
    assert shown.precision == precision


def test_not_a_date():
    from framestance.normalise.dates import parse_shown_date
    from framestance.normalise.profiles import profile_for

    assert parse_shown_date("The leaders met in 2025 to talk about the war.", RETRIEVED, profile_for("")) is None


@pytest.mark.parametrize(
    ("language", "line", "day"),
    [
        ("de", "14. August 2025", "2025-08-14"),
        ("fr", "Publié le 14 août 2025", "2025-08-14"),
        ("es", "Lunes 3 de marzo de 2025", "2025-03-03"),
        ("en", "19-Dec-2025", "2025-12-19"),
        ("en", "November 3, 2025 (8:42 AM ET)", "2025-11-03"),
        ("de", "14 août 2025", None),  # another language than the page's (or English): not read
        ("de", "19-Dec-2025", "2025-12-19"),  # English after the page's language
        ("xx", "19-Dec-2025", "2025-12-19"),  # a language dateparser does not know: English still
        ("fr", "© 2024 Le Journal", None),  # a year with no day: dateparser is not asked
        ("ro", "14 martie 2025", "2025-03-14"),  # languages off htmldate's list: the page's own
        ("hu", "2025. március 14.", "2025-03-14"),  # a full stop ends these dates
        ("hr", "14. ožujka 2025.", "2025-03-14"),
        ("en", "The council met on 14 March 2025.", None),  # a sentence, not a date line
    ],
)
def test_dates_in_the_page_language(language, line, day):
    """Dates `_absolute` does not read go to dateparser in the page's detected language, then
    English (one cached parser per language list: a list of 16, rebuilt per call, was most of the
    dump path's time)."""
    from framestance.normalise.dates import parse_shown_date
    from framestance.normalise.profiles import profile_for

    shown = parse_shown_date(line, RETRIEVED, profile_for("").with_language(language))
    assert (shown.at.date().isoformat() if shown else None) == day


def test_ends_sentence_is_the_terminal_pattern():
    import random

    from framestance.normalise.cleaning import TERMINAL, ends_sentence

    rng = random.Random(7)
    alphabet = "ab .!?…:;\"'”’»)]\n"
    for _ in range(20000):
        line = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))
        assert ends_sentence(line) == bool(TERMINAL.search(line)), repr(line)


@pytest.mark.parametrize(
    ("names", "authors", "roles"),
    [
        ("Jane Doe", ["Jane Doe"], [""]),
        ("Jane Doe and John Roe, Reuters", ["Jane Doe", "John Roe"], ["Reuters", "Reuters"]),
        ("Jane Doe, political editor, and John Roe, Moscow correspondent", ["Jane Doe", "John Roe"], ["political editor", "Moscow correspondent"]),
        ("Jane Doe & John Roe", ["Jane Doe", "John Roe"], ["", ""]),
        ("Jane Doe | 5 min read", ["Jane Doe"], [""]),
    ],
)
def test_bylines(names, authors, roles):
    assert parse_byline(names) == (authors, roles)


def _page(body_lines: list[str], header: list[str] | None = None, footer: list[str] | None = None) -> str:
    header = header if header is not None else ["Menu", "A quiet week ends with a loud argument", "By Sam Field", "12 March 2025"]
    return "\n".join(header + body_lines + (footer or [])) + "\n"


def test_mojibake_repaired_nfc_and_typographic_quotes_kept():
    broken = "The minister said â€œwe will not yieldâ€\x9d and left the cafÃ© before the vote was counted by the clerks."
    text = _page([broken, "A second paragraph adds that the committee will meet again next month to discuss the budget."])
    (art,) = parse_text_dump(text, RETRIEVED)
    joined = " ".join(art.paragraphs)
    assert "“we will not yield”" in joined and "café" in joined
    decomposed = _page(["The cafe\u0301 owner said the decision was unfair to everybody who had worked there for decades and more."])
    (art,) = parse_text_dump(decomposed, RETRIEVED, min_words=5)
    assert "café" in art.paragraphs[0] and "e\u0301" not in art.paragraphs[0]


def test_other_aggregator_shape_with_teaser_list():
    text = "\n".join(
        [
            "NewsHub",
            "Sign in",
            "Farmers count the cost of the dry summer",
            "Valley Courier · 2 hours ago",
            "Farmers in the valley say the dry summer has cut their harvest by a third, and many are waiting for",
            "government support",
            "that was promised in spring.",
            "Image: Valley Courier",
            "One grower said the wells had run dry for the first time in forty years, forcing him to buy water by the truckload.",
            "You may also like",
            "Rain returns to the coast",
            "Coastal Times",
            "3 hours ago",
            "Prices of feed climb again",
            "Farm Weekly",
            "5 hours ago",
        ]
    )
    arts = parse_text_dump(text, RETRIEVED, min_words=20)
    assert len(arts) == 1  # title-only teasers are not articles
    (art,) = arts
    assert art.title == "Farmers count the cost of the dry summer"
    assert art.outlet == "Valley Courier"
    assert art.date.at == datetime(2025, 8, 18, 7, tzinfo=UTC)
    assert art.paragraphs[0].endswith("waiting for government support that was promised in spring.")
    assert art.media == [{"caption": "", "credit": "Valley Courier"}]
    assert "Rain returns" not in " ".join(art.paragraphs)


def test_chrome_only_page_is_not_an_article():
    with pytest.raises(NotAnArticle):
        parse_text_dump("logo\nMenu\nSign in\nSubscribe\nCookie settings\nAccept all\n", RETRIEVED)


def test_a_block_without_a_title_keeps_its_first_lines_as_body():
    """The line model found no title above the body: no line of the body is taken for one."""
    from framestance.normalise.profiles import profile_for
    from framestance.normalise.textdump import _read_block

    block = ["It was late.", "What the council decided", body(3, "council night")]
    art = _read_block(block, "main", RETRIEVED, profile_for(""), titled=False)
    assert art.title is None
    text = "\n\n".join(art.paragraphs)
    assert text.startswith("It was late.") and "What the council decided" in text


def _unprofiled_page(above: list[str], below: list[str] | None = None, after_lead: list[str] | None = None) -> str:
    """A rendered page of a site without a profile (the line model reads it): chrome, `above` the
    title, the title, `below` it, a body (`after_lead` after its first paragraph), more chrome."""
    chrome = ["Harbour Ledger", "Home", "News", "Business", "Sport", "Opinion", "Subscribe", "Sign in", "Search"]
    title = "Council approves the harbour dredging plan after a long night"
    paras = [body(3, f"harbour dredging {k}") for k in range(6)]
    tail = ["Share this article", "Facebook", "Email", "Related stories", "Ferry timetable changes for winter",
            "New fish market opens on the quay", "Lighthouse keepers return to the cape", "Most read", "Weather",
            "Tide tables", "Newsletters", "Contact us", "Privacy policy", "© 2025 Harbour Ledger"]
    lines = chrome + above + [title, *(below or []), paras[0], "", *(after_lead or [])] + [x for p in paras[1:] for x in (p, "")] + tail
    assert sum(1 for ln in lines if ln) >= LINE_MODEL_MIN_LINES  # the line model's path, not the layout rules'
    return "\n".join(lines)


@pytest.mark.parametrize("above, below, day", [
    (["Local news", "August 12, 2025"], [], datetime(2025, 8, 12, tzinfo=UTC)),  # over the headline
    (["Local news", "Today"], [], None),  # a menu item as often as a date: not looked for above the title
    (["Local news", "September 30, 2025"], [], None),  # after the page was retrieved (RETRIEVED: 18 August)
    (["Local news"], ["September 30, 2025", "By Ana Lima"], None),
    (["Local news"], ["August 12, 2025", "By Ana Lima"], datetime(2025, 8, 12, tzinfo=UTC)),
    (["Local news"], [], None),
])
@pytest.mark.parametrize("after_lead", [[], ["Ana Lima, harbour reporter", "August 11, 2025"]])  # a standfirst, then byline and date
def test_the_date_of_a_page_read_by_the_line_model(above, below, day, after_lead):
    (art,) = parse_text_dump(_unprofiled_page(above, below, after_lead), RETRIEVED)
    day = day or (datetime(2025, 8, 11, tzinfo=UTC) if after_lead else None)
    assert art.title == "Council approves the harbour dredging plan after a long night"
    assert (art.date.at if art.date else None) == day
    late = "September 30, 2025" in above + below  # passed over, and said
    assert art.notes == (["date dropped: 'September 30, 2025' is after the page was retrieved (2025-08-18 09:30 UTC)"]
                         if late else [])
