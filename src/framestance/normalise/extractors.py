"""Extractors: one per input kind, behind one small protocol, registered by kind.

An extractor turns one decoded input (a text dump, an HTML page, a crawler record) into articles,
the main one first; it raises `NotAnArticle` when the input holds no article body. Extractors do
no I/O and keep no state, so the pure normaliser (`core.normalise_batch`) can run anywhere. A new
input kind is a class with `kind` and `extract`, decorated with `@register`; what the user set for
every extractor comes in one `ExtractOptions`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Protocol

from ..config import NormaliseConfig
from .article import Extracted
from .linemodel import check_article_loss


@dataclass(frozen=True)
class ExtractOptions:
    min_words: int = NormaliseConfig.min_words  # a shorter body is "not an article"
    article_loss: float = NormaliseConfig.page_type_article_loss  # articles the page-type check may turn away

    def __post_init__(self) -> None:
        check_article_loss(self.article_loss)


class Extractor(Protocol):
    kind: ClassVar[str]

    def extract(self, content: Any, retrieved_at: datetime, options: ExtractOptions) -> list[Extracted]:
        """Articles of one input (main first); NotAnArticle when there is none."""
        ...


EXTRACTORS: dict[str, Extractor] = {}


def register(cls: Any) -> Any:
    """Class decorator: one instance of the extractor serves its kind."""
    EXTRACTORS[cls.kind] = cls()
    return cls


def extractor_for(kind: str) -> Extractor:
    try:
        return EXTRACTORS[kind]
    except KeyError:
        raise ValueError(f"no extractor for input kind {kind!r} (known: {', '.join(sorted(EXTRACTORS))})") from None


@register
class TextDumpExtractor:
    """Plain-text dumps of rendered pages (`textdump.py`)."""

    kind: ClassVar[str] = "text"

    def extract(self, content: str, retrieved_at: datetime, options: ExtractOptions) -> list[Extracted]:
        from .textdump import parse_text_dump

        return parse_text_dump(content, retrieved_at, options.min_words, options.article_loss)


@register
class HtmlExtractor:
    """HTML pages (`html.py`: trafilatura for the body, JSON-LD/OpenGraph/htmldate for metadata)."""

    kind: ClassVar[str] = "html"

    def extract(self, content: str, retrieved_at: datetime, options: ExtractOptions) -> list[Extracted]:
        from .html import parse_html

        return [parse_html(content, min_words=options.min_words, article_loss=options.article_loss,
                           retrieved_at=retrieved_at)]


@register
class RecordExtractor:
    """Crawler records (`records.py`: news-please, fundus and generic field names)."""

    kind: ClassVar[str] = "records"

    def extract(self, content: dict, retrieved_at: datetime, options: ExtractOptions) -> list[Extracted]:
        from .records import parse_record

        return [parse_record(content, options.min_words, options.article_loss, retrieved_at)]


@register
class WarcResponseExtractor:
    """An HTTP response of a WARC/ARC file: the HTML path, with the URL the crawler fetched."""

    kind: ClassVar[str] = "warc"

    def extract(self, content: dict, retrieved_at: datetime, options: ExtractOptions) -> list[Extracted]:
        from .html import parse_html

        return [parse_html(content["html"], url=content.get("url"), min_words=options.min_words,
                           article_loss=options.article_loss, retrieved_at=retrieved_at)]


__all__ = ["EXTRACTORS", "ExtractOptions", "Extractor", "extractor_for", "register"]
