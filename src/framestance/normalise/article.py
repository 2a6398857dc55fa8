"""The article model every extractor returns: one article read from one input (page or record).

`core.py` turns it into an ARTICLE row (ids, text assembly, language, hashes); extractors only
fill it. `NotAnArticle` is how an extractor says the input holds no article body.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .dates import ShownDate


@dataclass
class Extracted:
    """One article read from a page: the main one or a related one."""

    relation: str = "main"
    title: str | None = None
    url: str | None = None
    outlet: str | None = None
    syndicated_from: str | None = None
    kicker: str | None = None
    authors: list[str] = field(default_factory=list)
    author_roles: list[str] = field(default_factory=list)
    date: ShownDate | None = None
    paragraphs: list[str] = field(default_factory=list)
    media: list[dict] = field(default_factory=list)
    paywalled: bool = False
    notes: list[str] = field(default_factory=list)  # fields of the input dropped as unusable
    page_type_score: float | None = None  # the line model's article score (HTML and unprofiled dumps)
    extra: dict[str, str] = field(default_factory=dict)  # a record's fields no extractor reads, by name


class NotAnArticle(ValueError):
    """The page holds no article body (a paywall stub, a list of links, a cookie wall)."""


__all__ = ["Extracted", "NotAnArticle"]
