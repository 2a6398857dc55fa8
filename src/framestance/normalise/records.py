"""Records from crawlers (JSONL / JSON / Parquet / CSV): field names of news-please, fundus and
generic scrapers mapped onto one record shape."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from ..config import NormaliseConfig
from .article import Extracted, NotAnArticle
from .cleaning import clean_paragraphs, parse_byline
from .dates import ShownDate, publication
from .profiles import profile_for
from .text import n_words, repair, squash

# Candidate source fields per target, first present wins (news-please, fundus, generic).
FIELDS = {
    "url": ("url", "link", "canonical_url", "source_url", "article_url", "uri"),
    "title": ("title", "headline", "title_page", "name"),
    "text": ("maintext", "plaintext", "text", "body", "content", "article", "article_text", "full_text"),
    "html": ("html", "raw_html", "content_html"),
    "description": ("description", "summary", "lead", "teaser"),
    "date": ("date_publish", "publishing_date", "published_at", "published", "date", "pubdate", "datePublished", "publish_date"),
    "retrieved": ("date_download", "crawl_date", "retrieved_at", "fetched_at", "download_date", "scraped_at"),
    "authors": ("authors", "author", "byline", "creator"),
    "outlet": ("source_domain", "publisher", "outlet", "site_name", "sitename", "source", "domain"),
    "language": ("language", "lang"),
    "kicker": ("kicker", "genre", "section_label"),
}


#: Every field name some target reads: the rest of a record is kept in `extra`, by name.
KNOWN = frozenset(name for names in FIELDS.values() for name in names)


def extra_fields(record: dict) -> dict[str, str]:
    """A record's fields no target reads (an outlet-bias rating, a crawl id), as text: strings as
    they are, anything else as compact JSON. Empty and null values are left out."""
    import json

    out = {}
    for name, value in record.items():
        if name in KNOWN or value is None or value == "" or value != value:
            continue
        out[str(name)] = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True,
                                                                         separators=(",", ":"), default=str)
    return out


def pick(record: dict, target: str):
    for name in FIELDS[target]:
        value = record.get(name)
        if value is not None and value == value and value != "":  # skip NaN and empty
            return value
    return None


def _text_of(value) -> list[str]:
    """Paragraphs of a text field: a string, a list of strings, or fundus's {summary, sections}."""
    if value is None:
        return []
    if isinstance(value, str):
        parts = re.split(r"\n\s*\n", value) if "\n\n" in value else value.split("\n")
        return [squash(p) for p in parts if squash(p)]
    if isinstance(value, (list, tuple)):
        return [p for v in value for p in _text_of(v)]
    if isinstance(value, dict):
        out = []
        for key in ("summary", "headline", "paragraphs", "sections"):
            if key in value and key != "headline":
                out.extend(_text_of(value[key]))
        return out
    return [squash(str(value))]


def parse_when(value) -> tuple[datetime, str, str] | None:
    """(instant UTC, shown text, precision) of a record's date field."""
    if value is None:
        return None
    if isinstance(value, datetime):
        at = value if value.tzinfo else value.replace(tzinfo=UTC)
        return at.astimezone(UTC), value.isoformat(), "second"
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            at = datetime.fromtimestamp(value / 1000 if value > 1e11 else value, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
        return at, str(value), "second"
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        from .timezones import parse

        at, zone_known = parse(text)
        if not zone_known:  # a zone we cannot read: the day as shown, no instant
            return datetime(at.year, at.month, at.day, tzinfo=UTC), text, "day"
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        at = at.astimezone(UTC)
    except (ValueError, OverflowError, TypeError):
        return None
    precision = "day" if not re.search(r"\d{1,2}:\d{2}", text) else ("second" if re.search(r"\d{1,2}:\d{2}:\d{2}", text) else "minute")
    return at, text, precision


def _name_of(author: str | dict) -> str:
    """An author given as a string or as {"name": ...}."""
    name = author.get("name") if isinstance(author, dict) else author
    return name if isinstance(name, str) else ""


def _shown(value) -> str:
    """A field value in a note: short, on one line."""
    text = " ".join(repr(value).split())
    return text if len(text) <= 60 else text[:57] + "..."


def _scalar(record: dict, target: str, notes: list[str]) -> str | None:
    """A field that must be text (a number is taken as its text); anything else is dropped with a note."""
    value = pick(record, target)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    notes.append(f"{target} dropped: {_shown(value)} is not text")
    return None


def parse_record(record: dict, min_words: int = NormaliseConfig.min_words,
                 article_loss: float = NormaliseConfig.page_type_article_loss,
                 retrieved_at: datetime | None = None) -> Extracted:
    """One crawler record -> one article. Raises NotAnArticle or ValueError (parse error). A record
    with HTML and no text goes the HTML path, page-type check included (`article_loss`). A date
    after `retrieved_at` (a day's margin) is dropped with a note."""
    if not isinstance(record, dict):
        raise ValueError(f"a record must be an object, not {type(record).__name__}")
    text_value = pick(record, "text")
    html_value = pick(record, "html")
    notes: list[str] = []
    url = _scalar(record, "url", notes)
    if text_value is None and isinstance(html_value, str):
        from .html import parse_html

        art = parse_html(html_value, url=url or None, min_words=min_words, article_loss=article_loss,
                         retrieved_at=retrieved_at)
    else:
        art = Extracted(relation="main")
        paragraphs = [repair(p) for p in _text_of(text_value)]
        profile = profile_for("\n".join(paragraphs[:3]))
        art.paragraphs, art.syndicated_from = clean_paragraphs(paragraphs, profile, art.media)
        art.url = url or None
    art.notes = notes + art.notes  # the record's own first, then what its HTML gave
    art.extra = extra_fields(record)
    title = _scalar(record, "title", art.notes)
    if title is not None:
        art.title = squash(repair(title)) or None
    outlet = pick(record, "outlet")
    if isinstance(outlet, dict) and isinstance(outlet.get("name"), str):
        art.outlet = squash(outlet["name"]) or None
    else:
        outlet = _scalar(record, "outlet", art.notes)
        if outlet is not None:
            art.outlet = squash(outlet) or None
    kicker = _scalar(record, "kicker", art.notes)
    if kicker is not None:
        art.kicker = squash(kicker) or None
    authors = pick(record, "authors")
    if isinstance(authors, str):
        art.authors, art.author_roles = parse_byline(re.sub(r"^by\s+", "", authors, flags=re.IGNORECASE))
    elif isinstance(authors, (list, tuple)) and all(isinstance(a, (str, dict)) for a in authors):
        names = [squash(_name_of(a)) for a in authors]
        art.authors = [n for n in names if n]
        art.author_roles = [""] * len(art.authors)
    elif authors is not None:
        art.notes.append(f"authors dropped: {_shown(authors)} is not a name or a list of names")
    date_value = pick(record, "date")
    when = parse_when(date_value)
    if when is not None:
        shown = ShownDate(when[1], when[0], when[2], "")
        art.date = publication(shown, retrieved_at, art.notes, "record") if retrieved_at is not None else shown
    elif date_value is not None:
        art.notes.append(f"date dropped: {_shown(date_value)} is not a date")
    words = sum(n_words(p) for p in art.paragraphs)
    if words < min_words:
        raise NotAnArticle(f"record has no article body: {words} words (minimum {min_words})")
    return art
