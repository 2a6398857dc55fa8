"""Plain-text dumps of rendered pages: what a person gets by selecting all text on a page.

The dump is read line by line:

1. **segment** the page into the main block and blocks of glued-on related articles, dropping site
   chrome (profile `chrome`) and everything after an end marker (comments, app promos) until a
   related block opens;
2. per block, take the **title** (first line; its repeats are removed), scan the **header** for the
   date line (relative dates resolved), the outlet, the byline and the kicker;
3. move **photo credits** and their captions out of the body into `media`;
4. **re-join** sentences broken at inline links into paragraphs;
5. clean paragraphs: inline chrome ("ADVERTISEMENT"), inline credits ("(Source: AP)") with their
   caption sentences, the kicker prefix ("Analysis: ..."), the syndication trailer ("-CNN").

Per-site knowledge lives in YAML profiles (`framestance/profiles/`), not here.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache

from ..config import NormaliseConfig
from .article import Extracted, NotAnArticle
from .cleaning import clean_paragraphs, ends_sentence, layout_words, parse_byline
from .dates import ShownDate, parse_shown_date, publication
from .profiles import Profile, profile_for
from .text import detect_language, fix_mojibake, n_words, squash, tidy

_CONTINUES = re.compile(r"^[,.;:)\]’”»]|^[-–—]\s+[a-z]")
_LOWER_START = re.compile(r"^[\"“‘(]?[a-zà-ÿ]")
_FUNCTION_END = re.compile(
    r"\b(the|a|an|of|to|in|on|at|by|for|with|from|and|or|but|as|is|are|was|were|be|been|that|which|who|whom|"
    r"whose|where|when|while|than|then|said|says|his|her|its|their|our|my|your|this|these|those|into|onto|"
    r"about|after|before|over|under|between|against|during|without|within|including|like|per|via|not|has|"
    r"have|had|will|would|could|should|can|may|might|must|do|does|did|so|if|because|although|though|"
    r"der|die|das|und|oder|mit|von|zu|den|dem|des|ein|eine|le|la|les|de|du|des|et|ou|un|une|el|los|las|y|en)$",
    re.IGNORECASE,
)
_BULLET_CHARS = "•·▪■►▶*|"
_BULLET = re.compile(r"^[•·▪■►▶*|]+\s*")
_URL_LINE = re.compile(r"^(?:(?:url|source|link|canonical)\s*:\s*)?(?P<url>https?://\S+)$", re.IGNORECASE)
_TIME_LINE = re.compile(r"^\d{1,2}[:.]\d{2}\s*(?:[ap]\.?m\.?)?\s*(?:[A-Z]{2,5})?$", re.IGNORECASE)
_DATELINE = re.compile(r"^[A-ZÀ-Þ][A-ZÀ-Þ .'-]{1,40}(?:, [A-Za-z .]{2,30})? \((?P<source>[A-Z][A-Za-z .&]{1,30})\) [-–—] ")
_QUOTE_START = re.compile(r"^[\"“‘'«]")


# ---------------------------------------------------------------------------------------------
# helpers


@lru_cache(maxsize=4096)
def _norm(line: str) -> str:
    return re.sub(r"\W+", " ", line).strip().lower()


def _credit(line: str, profile: Profile) -> str | None:
    """The credit a whole line states ("" when it is on the next line), or None."""
    if layout_words(line) > 14:
        return None
    for pattern in profile.credit_line:
        m = pattern.match(line)
        if m:
            return (m.groupdict().get("credit") or "").strip()
    return None


def _caption_like(line: str, profile: Profile) -> bool:
    if not line or _QUOTE_START.match(line) or line.endswith(":"):
        return False
    n = layout_words(line)
    limit = min(20, profile.caption_max_words) if ends_sentence(line) else profile.caption_max_words
    return 0 < n <= limit


# ---------------------------------------------------------------------------------------------
# 1. segmentation


def _segment(lines: list[str], profile: Profile) -> list[list[str]]:
    """Main block then related blocks, chrome dropped; "" marks a blank line."""
    blocks: list[list[str]] = [[]]
    seen_body = False  # a block's body has started (end markers only count after it)
    skipping = False
    for line in lines:
        if not line:
            if not skipping:
                blocks[-1].append("")
            continue
        if profile.related_marker.match(line):
            if seen_body or any(blocks[-1]):
                blocks.append([])
                skipping = False
                seen_body = False
            continue
        if skipping:
            continue
        if profile.end_marker.match(line) and not profile.paywall.search(line):
            if seen_body:
                skipping = True
            continue
        if profile.chrome.match(line) and not profile.kicker_line.match(line) and _credit(line, profile) is None:
            continue
        blocks[-1].append(line)
        if layout_words(line) >= 12:
            seen_body = True
    return [b for b in blocks if any(b)]


# ---------------------------------------------------------------------------------------------
# 2-5. one block


def _join_continuations(lines: list[str]) -> list[str]:
    """Glue lines starting with punctuation (", chief correspondent") to the line before."""
    out: list[str] = []
    for line in lines:
        if line and out and out[-1] and _CONTINUES.match(line):
            sep = "" if line[0] in ",.;:)]’”»" else " "
            out[-1] = out[-1] + sep + line
        else:
            out.append(line)
    return out


def _read_block(block: list[str], relation: str, retrieved_at: datetime, profile: Profile, titled: bool = True) -> Extracted:
    """One article from a block of lines; `titled=False`: the block has no title line (the body
    starts at once), so none is looked for."""
    art = Extracted(relation=relation)
    lines = [_BULLET.sub("", ln).lstrip() if ln and ln[0] in _BULLET_CHARS else ln for ln in block]

    # URL lines anywhere are metadata, not text.
    kept = []
    for ln in lines:
        m = _URL_LINE.match(ln) if ln else None
        if m:
            art.url = art.url or m.group("url")
        else:
            kept.append(ln)
    lines = kept

    idx = [i for i, ln in enumerate(lines) if ln]
    if not idx:
        return art
    if titled:
        lines = _take_title(art, lines, idx, retrieved_at, profile)
    lines = _join_continuations(lines)
    return _read_rest(art, lines, retrieved_at, profile)


def _take_title(art: Extracted, lines: list[str], idx: list[int], retrieved_at: datetime, profile: Profile) -> list[str]:
    """Title: a header line repeated on the page, else the first title-like header line; short
    lines above it are section labels or site names (a kicker among them is kept)."""
    body_at = next((i for i in idx if layout_words(lines[i]) >= 12 and not profile.byline.match(lines[i])), len(lines))
    head = [i for i in idx if i < body_at][:12] or idx[:1]
    keys = [_norm(lines[i]) for i in idx]

    def title_like(i: int) -> bool:
        ln = lines[i]
        return (
            3 <= layout_words(ln) <= 30
            and not ln.endswith(".")
            and not profile.byline.match(ln)
            and not profile.kicker_line.match(ln)
            and _credit(ln, profile) is None
            and parse_shown_date(ln, retrieved_at, profile) is None
        )

    first = next((i for i in head if keys.count(_norm(lines[i])) > 1 and layout_words(lines[i]) >= 2), None)
    if first is None:
        first = next((i for i in head if title_like(i)), head[0])
    for i in head:
        if i >= first:
            break
        if kicker := profile.kicker_line.match(lines[i]):
            art.kicker = art.kicker or kicker.group("kicker")
            lines[i] = ""
        elif layout_words(lines[i]) <= 3 and parse_shown_date(lines[i], retrieved_at, profile) is None:
            lines[i] = ""
    title = lines[first]
    m = profile.kicker_prefix.match(title)
    if m and layout_words(title) > 3:
        art.kicker = art.kicker or m.group("kicker")
        title = title[m.end():]
    art.title = title.strip()
    key = _norm(lines[first])
    return [("" if ln and _norm(ln) == key else ln) for ln in lines]


def _read_rest(art: Extracted, lines: list[str], retrieved_at: datetime, profile: Profile) -> Extracted:
    """Header (date, outlet, byline, kicker), credits and the body paragraphs of a block."""
    # Header: dates, outlet, byline, kicker, before the first long line.
    header_end = next((i for i, ln in enumerate(lines) if ln and layout_words(ln) >= 12 and not profile.byline.match(ln)), len(lines))
    date_at = None
    for i in range(min(header_end, len(lines))):
        ln = lines[i]
        if not ln:
            continue
        if art.date is None:
            shown = publication(parse_shown_date(ln, retrieved_at, profile), retrieved_at, art.notes)
            if shown is not None:
                art.date = shown
                date_at = i
                if shown.prefix and layout_words(shown.prefix) <= 5:
                    art.outlet = shown.prefix
                lines[i] = ""
                continue
        if kicker := profile.kicker_line.match(ln):
            art.kicker = art.kicker or kicker.group("kicker")
            lines[i] = ""
            # "Analysis" / ": Alaska is ..." -> the colon belongs to the kicker
            j = next((k for k in range(i + 1, len(lines)) if lines[k]), None)
            if j is not None and lines[j].startswith(":"):
                lines[j] = lines[j][1:].strip()
            continue
        if profile.byline_alone.match(ln) and not art.authors:
            j = next((k for k in range(i + 1, len(lines)) if lines[k]), None)
            if j is not None and layout_words(lines[j]) <= 20:
                ln = ln + " " + lines[j]
                lines[j] = ""
        bm = profile.byline.match(ln)
        if bm and not art.authors and layout_words(ln) <= 25:
            art.authors, art.author_roles = parse_byline(bm.group("names"))
            lines[i] = ""
            continue
    # Outlet: a short line next to the date line ("1News" / "6 hours ago").
    if art.outlet is None and date_at is not None:
        for j in (date_at - 1, date_at - 2, date_at + 1, date_at + 2):
            if 0 <= j < len(lines) and lines[j] and layout_words(lines[j]) <= 4 and not ends_sentence(lines[j]) and j < header_end and not _TIME_LINE.match(lines[j]):
                art.outlet = lines[j]
                lines[j] = ""
                break
    if art.outlet:
        lines = [("" if ln and _norm(ln) == _norm(art.outlet) else ln) for ln in lines]

    # Credits: "Photo:" + credit (same or next line); the caption is the line before.
    for i, ln in enumerate(lines):
        if not ln:
            continue
        credit = _credit(ln, profile)
        if credit is None:
            continue
        lines[i] = ""
        if not credit:
            j = next((k for k in range(i + 1, min(i + 3, len(lines))) if lines[k]), None)
            if j is not None and layout_words(lines[j]) <= 14 and not ends_sentence(lines[j].rstrip(".")) or j is not None and layout_words(lines[j]) <= 8:
                credit = lines[j]
                lines[j] = ""
        caption = ""
        before = next((lines[k] for k in range(i - 2, -1, -1) if lines[k]), "") if i > 1 else ""
        continues = bool(before) and not ends_sentence(before) and layout_words(before) >= 9
        if i > 0 and lines[i - 1] and not continues and not _LOWER_START.match(lines[i - 1]) and _caption_like(lines[i - 1], profile):
            caption = lines[i - 1]
            lines[i - 1] = ""
        art.media.append({"caption": caption, "credit": credit})

    # Dates standing alone in the body ("6 hours ago", "Updated 14 Aug 2025") go.
    lines = [("" if ln and layout_words(ln) <= 8 and parse_shown_date(ln, retrieved_at, profile) else ln) for ln in lines]

    art.paragraphs = _paragraphs(lines)
    _clean_body(art, profile)
    if art.paragraphs:
        m = profile.kicker_prefix.match(art.paragraphs[0])
        if m:
            art.kicker = art.kicker or m.group("kicker")
            art.paragraphs[0] = art.paragraphs[0][m.end():]
    return art


def _paragraphs(lines: list[str]) -> list[str]:
    """Re-join sentences broken at inline links; a blank line or a finished sentence ends one."""
    paras: list[str] = []
    cur: str | None = None
    blank = False
    for ln in lines:
        if not ln:
            blank = True
            continue
        if cur is None:
            cur, blank = ln, False
            continue
        joins = bool(_CONTINUES.match(ln))
        if not joins and not blank and not ends_sentence(cur):
            joins = bool(
                _LOWER_START.match(ln)
                or cur.endswith(",")
                or _FUNCTION_END.search(cur[-16:])  # anchored at the end: the tail is enough
                or (layout_words(cur) >= 9 and layout_words(ln) >= 1)
            )
        if joins:
            sep = "" if ln[0] in ",.;:)]’”»" else " "
            cur = cur + sep + ln
        else:
            paras.append(cur)
            cur = ln
        blank = False
    if cur is not None:
        paras.append(cur)
    return paras


def _clean_body(art: Extracted, profile: Profile) -> None:
    paras, source = clean_paragraphs(art.paragraphs, profile, art.media)
    art.syndicated_from = art.syndicated_from or source
    # A byline inside the body's first paragraphs ("By Jane Doe, Reuters").
    for k in range(min(3, len(paras))):
        bm = profile.byline.match(paras[k])
        if bm and layout_words(paras[k]) <= 20 and not art.authors:
            art.authors, art.author_roles = parse_byline(bm.group("names"))
            paras[k] = ""
    paras = [p for p in paras if p]
    # Paywall markers never belong to the body.
    marked = [len(p) < 250 and profile.paywall.search(p) is not None for p in paras]
    if any(marked):
        art.paywalled = True
        paras = [p for p, m in zip(paras, marked) if not m]
    # Trailing tag lines ("Ukraine", "World news") and leftover furniture after the body.
    while paras and layout_words(paras[-1]) <= 15 and not ends_sentence(paras[-1]):
        paras.pop()
    # Standalone times of live-blog entries ("18.05 BST", "10:42am").
    paras = [p for p in paras if not _TIME_LINE.match(p)]
    # A wire dateline names the agency: "KYIV (Northwire) - ...".
    if paras and art.syndicated_from is None:
        m = _DATELINE.match(paras[0])
        if m:
            art.syndicated_from = m.group("source")
    art.paragraphs = paras


# ---------------------------------------------------------------------------------------------
# related blocks


def _split_related(block: list[str], retrieved_at: datetime, profile: Profile) -> list[list[str]]:
    """A related block may hold several teasers: a new one starts at a title-like line followed,
    within a few lines, by its own repeat or a date line."""
    idx = [i for i, ln in enumerate(block) if ln]
    starts: list[int] = []
    complete = True  # the teaser since the last start has its date or body: a new one may begin
    for pos, i in enumerate(idx):
        ln = block[i]
        if parse_shown_date(ln, retrieved_at, profile) or layout_words(ln) >= 30:
            complete = True
            continue
        if not (2 <= layout_words(ln) <= 30) or not complete:
            continue
        window = [block[j] for j in idx[pos + 1 : pos + 5]]
        for w in window:
            if layout_words(w) >= 30:
                break
            if _norm(w) == _norm(ln) or parse_shown_date(w, retrieved_at, profile):
                starts.append(i)
                complete = False
                break
    starts = [s for k, s in enumerate(starts) if k == 0 or s > starts[k - 1]]
    if not starts or starts[0] != idx[0]:
        starts = [idx[0], *starts] if idx else starts
    # A start inside the header of the previous teaser (its repeated title) is not a new one.
    merged: list[int] = []
    for s in starts:
        if merged and _norm(block[s]) == _norm(block[merged[-1]]):
            continue
        merged.append(s)
    bounds = merged + [len(block)]
    return [block[a:b] for a, b in zip(bounds, bounds[1:])]


# ---------------------------------------------------------------------------------------------


# The line model reads a line in its page's context; a dump of a few lines (a record's text, a
# bare title and body) has no chrome to strip and goes to the layout rules instead.
LINE_MODEL_MIN_LINES = 30


# Where a date line is looked for when the header between title and body shows none: chosen on
# extraction-dev's dumps (scripts/bench_dump_dates.py; the grid and its wrong days in BENCHMARKS.md).
DATE_ABOVE_LINES = 16
DATE_BODY_TOP_LINES = 20


def _date_near_body(lines: list[str], top: int, first: int, retrieved_at: datetime, profile: Profile,
                    notes: list[str]) -> ShownDate | None:
    """A calendar date on a line of its own near the article: the nearest in the `DATE_ABOVE_LINES`
    lines above `top` (the title, or the body when no title was found: many layouts show the date
    over the headline), else the first in the body's top `DATE_BODY_TOP_LINES` lines from `first`
    (a standfirst before the byline and date). "Today" alone is not looked for: as often a menu item."""
    above = range(top - 1, max(-1, top - 1 - DATE_ABOVE_LINES), -1)
    for i in [*above, *range(first, min(len(lines), first + DATE_BODY_TOP_LINES))]:
        shown = parse_shown_date(lines[i], retrieved_at, profile, relative=False) if lines[i] else None
        if (shown := publication(shown, retrieved_at, notes)) is not None:
            return shown
    return None


def _read_with_line_model(lines: list[str], retrieved_at: datetime, min_words: int, article_loss: float,
                          profile: Profile) -> Extracted | None:
    """One article from a dump of a site without a profile: the line model (`linemodel.py`, trained
    on real pages of ~700 sites) picks the body lines and says whether the page is an article at
    all; the header above the body gives title, date, byline and kicker as on profiled sites.
    Glued-on related articles are not split off here: on unknown sites, lists of teasers were
    far more often recirculation blocks than real articles. None when no line reads as body.
    `article_loss`: the share of real articles the page-type check may turn away (its threshold)."""
    from .linemodel import default_model

    model = default_model()
    body, score = model.analyse(lines)
    if not body:
        return None  # no line reads as body text: the layout rules have their say
    first = body[0]
    # dates in the page's own language: dateparser over a list of languages was most of the time
    profile = profile.with_language(detect_language(" ".join(lines[i] for i in body[:20])))

    def title_like(ln: str) -> bool:
        return (3 <= layout_words(ln) <= 30 and not ln.endswith(".") and not profile.byline.match(ln)
                and not profile.kicker_line.match(ln) and _credit(ln, profile) is None
                and not profile.chrome.match(ln) and parse_shown_date(ln, retrieved_at, profile) is None)

    # The title: the nearest title-like line above the body, past dates, bylines and short labels.
    above = [i for i in range(first - 1, max(-1, first - 16), -1) if lines[i]]
    title_at = next((i for i in above if title_like(lines[i])), None)
    block = lines[title_at:first] if title_at is not None else []
    prev = None
    for i in body:
        if prev is not None and i != prev + 1:
            block.append("")  # unselected lines between two body lines end a paragraph
        block.append(lines[i])
        prev = i
    block = fix_mojibake("\n".join(block)).split("\n")  # mojibake repaired on what is kept only
    art = _read_block(block, "main", retrieved_at, profile, titled=title_at is not None)
    if art.date is None:
        art.date = _date_near_body(lines, first if title_at is None else title_at, first, retrieved_at, profile, art.notes)
    words = sum(n_words(p) for p in art.paragraphs)
    if words < min_words:
        why = "paywall stub" if any(profile.paywall.search(ln) for ln in lines if ln) else "no article body"
        raise NotAnArticle(f"{why}: {words} words of body (minimum {min_words})")
    if other_kind := model.not_an_article("dump", score, article_loss):
        raise NotAnArticle(other_kind)
    art.page_type_score = round(float(score), 6)
    return art


def parse_text_dump(text: str, retrieved_at: datetime, min_words: int = NormaliseConfig.min_words,
                    article_loss: float = NormaliseConfig.page_type_article_loss) -> list[Extracted]:
    """Articles read from one dump: the main one first, then related ones with a real body.

    Raises NotAnArticle when the main block has no body of at least `min_words` words, or when the
    line model reads a page of a site without a profile as another kind of page (the check turns
    away `article_loss` of real articles; NormaliseConfig.page_type_article_loss).
    """
    text = tidy(text)
    profile = profile_for(text)
    if profile.names == ("generic",):
        lines = [squash(ln) for ln in text.split("\n")]
        if sum(1 for ln in lines if ln) >= LINE_MODEL_MIN_LINES:
            # a rendered page of a site nobody wrote a profile for: the learned line model
            art = _read_with_line_model(lines, retrieved_at, min_words, article_loss, profile)
            if art is not None:
                return [art]
    text = fix_mojibake(text)
    lines = [squash(ln) for ln in text.split("\n")]
    blocks = _segment(lines, profile)
    if not blocks:
        raise NotAnArticle("no text left after removing site chrome")
    main = _read_block(blocks[0], "main", retrieved_at, profile)
    words = sum(n_words(p) for p in main.paragraphs)
    if words < min_words:
        why = "paywall stub" if main.paywalled else "no article body"
        raise NotAnArticle(f"{why}: {words} words of body (minimum {min_words})")
    out = [main]
    for block in blocks[1:]:
        for teaser in _split_related(block, retrieved_at, profile):
            art = _read_block(teaser, "related", retrieved_at, profile)
            if sum(n_words(p) for p in art.paragraphs) >= min_words:
                out.append(art)
    return out
