"""Records from crawlers (JSONL / JSON / Parquet / CSV): field names of news-please, fundus and
generic scrapers mapped onto one record shape."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from .dates import ShownDate
from .profiles import profile_for
from .text import n_words, repair, squash
from .textdump import Extracted, NotAnArticle, clean_paragraphs, parse_byline

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
        at = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return at.astimezone(timezone.utc), value.isoformat(), "second"
    if isinstance(value, (int, float)):
        at = datetime.fromtimestamp(value / 1000 if value > 1e11 else value, tz=timezone.utc)
        return at, str(value), "second"
    text = str(value).strip()
    try:
        from dateutil import parser

        at = parser.parse(text)
    except (ValueError, OverflowError):
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    precision = "day" if not re.search(r"\d{1,2}:\d{2}", text) else ("second" if re.search(r"\d{1,2}:\d{2}:\d{2}", text) else "minute")
    return at.astimezone(timezone.utc), text, precision


def parse_record(record: dict, min_words: int = 30) -> Extracted:
    """One crawler record -> one article. Raises NotAnArticle or ValueError (parse error)."""
    if not isinstance(record, dict):
        raise ValueError(f"a record must be an object, not {type(record).__name__}")
    text_value = pick(record, "text")
    html_value = pick(record, "html")
    url = pick(record, "url")
    if text_value is None and html_value is not None:
        from .html import parse_html

        art = parse_html(str(html_value), url=str(url) if url else None, min_words=min_words)
    else:
        art = Extracted(relation="main")
        paragraphs = [repair(p) for p in _text_of(text_value)]
        profile = profile_for("\n".join(paragraphs[:3]))
        art.paragraphs, art.syndicated_from = clean_paragraphs(paragraphs, profile, art.media)
        art.url = str(url) if url else None
    title = pick(record, "title")
    if title is not None:
        art.title = squash(repair(str(title)))
    outlet = pick(record, "outlet")
    if outlet is not None and not isinstance(outlet, (dict, list)):
        art.outlet = squash(str(outlet))
    elif isinstance(outlet, dict) and outlet.get("name"):
        art.outlet = squash(str(outlet["name"]))
    kicker = pick(record, "kicker")
    if kicker is not None:
        art.kicker = squash(str(kicker))
    authors = pick(record, "authors")
    if authors is not None:
        if isinstance(authors, str):
            names, roles = parse_byline(re.sub(r"^by\s+", "", authors, flags=re.IGNORECASE))
        else:
            names = [squash(a.get("name", "") if isinstance(a, dict) else str(a)) for a in authors]
            names = [n for n in names if n]
            roles = [""] * len(names)
        art.authors, art.author_roles = names, roles
    when = parse_when(pick(record, "date"))
    if when is not None:
        art.date = ShownDate(when[1], when[0], when[2], "")
    words = sum(n_words(p) for p in art.paragraphs)
    if words < min_words:
        raise NotAnArticle(f"record has no article body: {words} words (minimum {min_words})")
    return art
