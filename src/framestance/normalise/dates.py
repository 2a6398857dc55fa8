"""Dates shown on pages: relative ("3 days ago", "vor 2 Stunden") and absolute, with precision.

Relative dates resolve against the time the page was retrieved. The resolved instant is floored
to the precision the text carries (an hour for "6 hours ago", the day for "3 days ago"), so that
the same page and retrieval time always give the same timestamp. Times without a zone are UTC.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from .profiles import Profile
from .timezones import parse as parse_datetime

_MONTHS_EN = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_ABSOLUTE = re.compile(
    r"(?:\d{4}-\d{1,2}-\d{1,2}(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTHS_EN},?\s+\d{{4}}"
    rf"|{_MONTHS_EN}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"
    r"|\d{1,2}[/.]\d{1,2}[/.]\d{4})",
    re.IGNORECASE,
)
_TAIL = re.compile(r"^[\s,|·•-]*(?:at\s+)?(?:\d{1,2}[:.]\d{2}(?:[:.]\d{2})?\s*(?:[ap]\.?m\.?)?|\d{1,2}\s*[ap]\.?m\.?)?"
                   r"\s*(?:\(?[A-Z]{1,5}\)?)?(?P<furniture>\s*(?:[|·•–—-]+\s*)?(?:\d+\s*min(?:ute)?s?(?:\s+read)?|\d+\s+comments?))?"
                   r"\s*$", re.IGNORECASE)
_TIME = re.compile(r"\b\d{1,2}[:.]\d{2}(?P<sec>[:.]\d{2})?\s*(?:[ap]\.?m\.?)?\b|\b\d{1,2}\s*[ap]\.?m\.?\b", re.IGNORECASE)
_FOREIGN_DATE = re.compile(r"\b(1[89]|20)\d{2}\b")
# a day of the month beside the year: dateparser requires one, so lines without are not tried
_DAY_NUMBER = re.compile(r"(?<![\d.,])(?:0?[1-9]|[12]\d|3[01])(?!\d|[.,]\d)")


@dataclass(frozen=True)
class ShownDate:
    text: str  # the date as the page shows it
    at: datetime | None  # resolved, UTC
    precision: str | None
    prefix: str  # text glued before the date on the same line (often the outlet)


def _unit(word: str, profile: Profile) -> tuple[int, str]:
    """(seconds, precision) of a unit word: the profile's longest matching prefix."""
    w = word.lower()
    best = None
    for prefix, seconds, precision in profile.date_units:
        if w.startswith(prefix) and (best is None or len(prefix) > best[0]):
            best = (len(prefix), seconds, precision)
    if best is None:
        raise ValueError(word)
    return best[1], best[2]


def _floor(at: datetime, precision: str) -> datetime:
    if precision == "second":
        return at.replace(microsecond=0)
    if precision == "minute":
        return at.replace(second=0, microsecond=0)
    if precision == "hour":
        return at.replace(minute=0, second=0, microsecond=0)
    return at.replace(hour=0, minute=0, second=0, microsecond=0)


def _relative(line: str, retrieved_at: datetime, profile: Profile) -> ShownDate | None:
    for pattern in profile.relative_dates:
        for m in pattern.finditer(line):
            if line[m.end():].strip(" .·•|-–—"):
                continue
            n_text = m.group("n").lower()
            n = int(n_text) if n_text.isdigit() else profile.date_number_words.get(n_text, 1)
            try:
                seconds, precision = _unit(m.group("unit"), profile)
            except ValueError:
                continue
            at = _floor(retrieved_at - timedelta(seconds=n * seconds), precision)
            shown = m.group(0)
            shown = re.sub(r"^time\s*", "", shown, flags=re.IGNORECASE)
            return ShownDate(shown.strip(), at, precision, line[: m.start()].strip(" ·•|-–—,"))
    low = line.strip().lower()
    for word, precision in profile.relative_words.items():
        if low == word or low.endswith(" " + word):
            days = 1 if precision == "day" and word not in ("today", "just now") else 0
            at = _floor(retrieved_at - timedelta(days=days), precision)
            prefix = line.strip()[: len(line.strip()) - len(word)].strip(" ·•|-–—,")
            return ShownDate(line.strip()[len(prefix):].strip(" ·•|-–—,"), at, precision, prefix)
    return None


def _absolute(line: str, profile: Profile) -> ShownDate | None:
    body = profile.date_lead.sub("", line.strip())
    m = _ABSOLUTE.search(body)
    if not m:
        return None
    prefix = body[: m.start()].strip(" ·•|-–—,")
    rest = body[m.end():]
    # Allow a time and a zone after the date ("14 Aug 2025, 10:32am NZST"), then a header's
    # reading time or comment count ("· 6 min read", "| 2 comments"), which is not shown as date.
    tail = _TAIL.match(rest)
    if not tail or len(prefix.split()) > 6:
        return None
    shown = (m.group(0) + (rest[: tail.start("furniture")] if tail.group("furniture") else rest)).strip(" ,|·•-–—")
    try:
        at, zone_known = parse_datetime(
            shown.replace(" at ", " ").replace(".", ":") if re.search(r"\d\.\d{2}\s*[ap]", shown) else shown.replace(" at ", " "),
            dayfirst=not re.match(r"^\d{4}-", shown) and not re.match(rf"^{_MONTHS_EN}", shown, re.IGNORECASE),
        )
    except (ValueError, OverflowError):
        return None
    # a time after the date, or inside an ISO date ("23.07.2025" holds no time: "23.07" is the day)
    t = _TIME.search(shown, len(m.group(0))) or re.search(r"[T ]\d{1,2}:\d{2}(?P<sec>:\d{2})?", m.group(0))
    precision = "day" if not t else ("second" if t.groupdict().get("sec") else "minute")
    if not zone_known:  # a zone we cannot read: the day as shown, no instant
        at, precision = datetime(at.year, at.month, at.day, tzinfo=UTC), "day"
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return ShownDate(shown, at.astimezone(UTC), precision, prefix)


# dateparser tries only these languages (trying all of its ~200 locales on every date-like line
# was 83 % of the time on real dumps); English dates are read by _absolute before.
DATE_LANGUAGES = ("en", "de", "fr", "es", "it", "nl", "pt", "pl", "sv", "da", "nb", "fi", "ru", "uk", "cs", "tr")


def _foreign(line: str, profile: Profile) -> ShownDate | None:
    """Dates `_absolute` does not read ("14. August 2025", "14 août 2025", "19-Dec-2025") via
    dateparser: in the page's language and English when the language is known (two locales are
    far faster than the list), in the languages of the list dateparser knows otherwise."""
    known = _dateparser_languages()
    languages = tuple(language for language in profile.date_languages or DATE_LANGUAGES if language in known)
    if not languages:
        return None
    return _foreign_body(profile.date_lead.sub("", line.strip()), languages)


@lru_cache(maxsize=32)
def _htmldate_parser(languages: tuple[str, ...]):
    from dateparser import DateDataParser

    # the given order only for a page's own language before the list (the list alone: dateparser's order)
    return DateDataParser(languages=list(languages), use_given_order=len(languages) > len(DATE_LANGUAGES), settings={
        "NORMALIZE": True, "PARSERS": ["custom-formats", "absolute-time"], "PREFER_DATES_FROM": "past",
        "PREFER_LOCALE_DATE_ORDER": True, "RETURN_AS_TIMEZONE_AWARE": False, "STRICT_PARSING": True,
    })  # htmldate 1.11.0's own settings (htmldate.extractors.get_external_parser), fewer languages


@contextmanager
def htmldate_languages(language: str | None) -> Iterator[None]:
    """htmldate's last-resort parser (dateparser) while one page is read: DATE_LANGUAGES, with the
    page's own language tried first when it is off that list and dateparser knows it. With every
    locale it tried ~200 locale dictionaries per page (half of the HTML path's time); with the list
    alone, a date in a language off it ("2025. március 14.", "14 martie 2025") became the year's
    1 January. htmldate's own parser is back on exit, and its cache of parsed strings (which does
    not know which parser filled it) is emptied on entry and exit, so that no page's date depends
    on the pages read before it."""
    import htmldate.extractors

    languages: tuple[str, ...] = DATE_LANGUAGES
    if language and language not in DATE_LANGUAGES and language in _dateparser_languages():
        languages = (language, *DATE_LANGUAGES)
    parser = _htmldate_parser(languages)
    stock = htmldate.extractors.get_external_parser
    htmldate.extractors.try_date_expr.cache_clear()
    htmldate.extractors.get_external_parser = lambda: parser  # type: ignore[assignment]
    try:
        yield
    finally:
        htmldate.extractors.get_external_parser = stock
        htmldate.extractors.try_date_expr.cache_clear()


@lru_cache(maxsize=1)
def _dateparser_languages() -> frozenset[str]:
    from dateparser.data import language_locale_dict

    return frozenset(language_locale_dict)


@lru_cache(maxsize=32)
def _foreign_parser(languages: tuple[str, ...]):
    """One dateparser instance per language list: `dateparser.parse` builds a new parser, with its
    locale data, on every call (~25 ms a line; 40 % of the dump path on real pages)."""
    from dateparser import DateDataParser  # imported on demand: slow to import, rarely needed

    return DateDataParser(languages=list(languages), settings={
        "RETURN_AS_TIMEZONE_AWARE": True, "TO_TIMEZONE": "UTC", "REQUIRE_PARTS": ["day", "month", "year"]})


@lru_cache(maxsize=4096)
def _foreign_body(body: str, languages: tuple[str, ...]) -> ShownDate | None:
    at = _foreign_parser(languages).get_date_data(body).date_obj
    if at is None:
        return None
    precision = "minute" if _TIME.search(body) else "day"
    return ShownDate(body, at.astimezone(UTC), precision, "")


def latest_publication(retrieved_at: datetime) -> datetime:
    """The latest instant a page retrieved then can have been published: nothing is published
    after it was retrieved; a day's margin for days shown in zones east of UTC (a time without a
    zone is UTC)."""
    return (retrieved_at if retrieved_at.tzinfo else retrieved_at.replace(tzinfo=UTC)) + timedelta(days=1)


def publication(shown: ShownDate | None, retrieved_at: datetime, notes: list[str], source: str = "page") -> ShownDate | None:
    """`shown` when it can be the publication date of a page (or record) retrieved at
    `retrieved_at` (`latest_publication`); a later one is not, and the article's `notes` say so
    (once an article)."""
    if shown is None or shown.at is None or shown.at <= latest_publication(retrieved_at):
        return shown
    if not any(n.startswith("date dropped:") for n in notes):
        notes.append(f"date dropped: {shown.text!r} is after the {source} was retrieved ({retrieved_at:%Y-%m-%d %H:%M} UTC)")
    return None


def parse_shown_date(line: str, retrieved_at: datetime, profile: Profile, relative: bool = True) -> ShownDate | None:
    """The date a short line shows, or None when the line is not a date line; `relative=False`:
    calendar dates only ("Today" alone is as often a menu item)."""
    stripped = line.strip()
    if not stripped or len(stripped) > 80 or len(stripped.split()) > 10:
        return None
    found = (relative and _relative(stripped, retrieved_at, profile)) or _absolute(stripped, profile)
    # a line ending in a full stop is a sentence unless it is as short as a date ("2025. március 14.")
    if (found is None and _FOREIGN_DATE.search(stripped) and len(stripped.split()) <= (5 if stripped.endswith(".") else 6)
            and _DAY_NUMBER.search(stripped)):
        found = _foreign(stripped, profile)
    return found


__all__ = ["ShownDate", "htmldate_languages", "latest_publication", "parse_shown_date", "publication"]
