"""HTML pages: main text with trafilatura, dates with htmldate, metadata from JSON-LD/OpenGraph."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from ..config import NormaliseConfig
from ..isodate import parse_iso
from .article import Extracted, NotAnArticle
from .cleaning import clean_paragraphs, parse_byline
from .dates import ShownDate, htmldate_languages, latest_publication, publication
from .linemodel import default_model
from .profiles import profile_for
from .text import detect_language, n_words, repair, squash

#: schema.org article types that name a genre ("kicker").
_LD_KICKERS = {
    "AnalysisNewsArticle": "Analysis",
    "OpinionNewsArticle": "Opinion",
    "ReviewNewsArticle": "Review",
    "BackgroundNewsArticle": "Explainer",
    "AskPublicNewsArticle": "Q&A",
    "SatiricalArticle": "Satire",
    "LiveBlogPosting": "Live",
}
_ARTICLE_TYPES = {"NewsArticle", "Article", "ReportageNewsArticle", "BlogPosting", *_LD_KICKERS}


def _ld_objects(tree) -> list[dict]:
    out = []
    for node in tree.xpath('//script[@type="application/ld+json"]'):
        try:
            data = json.loads(node.text or "")
        except ValueError:
            continue
        stack = [data]
        while stack:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, dict):
                if "@graph" in item:
                    stack.extend(item["@graph"] if isinstance(item["@graph"], list) else [item["@graph"]])
                types = item.get("@type")
                types = types if isinstance(types, list) else [types]
                if any(t in _ARTICLE_TYPES for t in types if isinstance(t, str)):
                    out.append(item)
    return out


def _names(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return _names(value.get("name"))
    if isinstance(value, list):
        return [n for v in value for n in _names(v)]
    return []


def _page_metadata(tree, url: str | None):
    """trafilatura's `extract_metadata` (2.3.1) with only the steps whose fields are used here
    (title, author, URL, site name): its date search, categories, tags and licence were half its
    time, and the date comes from htmldate's extensive search below."""
    from trafilatura.metadata import (
        META_URL,
        examine_meta,
        extract_author,
        extract_meta_json,
        extract_sitename,
        extract_title,
        extract_url,
    )

    doc = examine_meta(tree)
    if doc.author and " " not in doc.author:
        doc.author = None
    try:
        doc = extract_meta_json(tree, doc)
    except Exception:  # trafilatura's own guard: bugs in its JSON-LD reading
        pass
    doc.title = doc.title or extract_title(tree)
    doc.author = doc.author or extract_author(tree)
    doc.url = doc.url or extract_url(tree, url)
    doc.sitename = doc.sitename or extract_sitename(tree)
    if doc.sitename:
        doc.sitename = doc.sitename.lstrip("@")
        if doc.sitename and "." not in doc.sitename and not doc.sitename[0].isupper():
            doc.sitename = doc.sitename.title()
    elif doc.url and (m := META_URL.match(doc.url)):
        doc.sitename = m[1]
    doc.clean_and_trim()
    return doc


def parse_html(html: str, url: str | None = None, min_words: int = NormaliseConfig.min_words,
               article_loss: float = NormaliseConfig.page_type_article_loss,
               retrieved_at: datetime | None = None) -> Extracted:
    """The article of an HTML page; NotAnArticle when its body is shorter than `min_words` or the
    page reads as another kind of page (the check turns away `article_loss` of real articles).
    `retrieved_at`: when the page was fetched; no publication day after it is taken."""
    import trafilatura
    from trafilatura.utils import load_html

    # One parse (trafilatura's parser) serves our JSON-LD/meta/figure reads, trafilatura's
    # extraction and its htmldate call. Mojibake is repaired on the extracted strings only:
    # ftfy's badness check over a whole raw page cost ~40% of the HTML path.
    tree = load_html(html)
    if tree is None:
        raise ValueError("HTML does not parse")
    art = Extracted(relation="main")
    ld = _ld_objects(tree)
    meta = {}
    for node in tree.xpath("//meta[@property or @name]"):
        key = (node.get("property") or node.get("name") or "").lower()
        if key and node.get("content") and key not in meta:
            meta[key] = node.get("content").strip()

    # Figures: captions and credits go to media, never to the body (read before trafilatura runs).
    for fig in tree.xpath("//figure"):
        cap_nodes = fig.xpath(".//figcaption")
        caption = squash(repair(cap_nodes[0].text_content())) if cap_nodes else ""
        credit_nodes = fig.xpath('.//*[contains(@class, "credit") or contains(@class, "copyright")]')
        credit = squash(repair(credit_nodes[0].text_content())) if credit_nodes else ""
        if credit and caption.endswith(credit):
            caption = caption[: -len(credit)].strip()
        m = re.search(r"\(?(?:photo|image|credit|source)\s*:\s*([^)]+)\)?\s*$", caption, re.IGNORECASE)
        if m and not credit:
            credit, caption = m.group(1).strip(), caption[: m.start()].strip()
        credit = re.sub(r"^(?:photo|image|picture|credit|source|foto|bild)\s*:\s*", "", credit, flags=re.IGNORECASE)
        if caption or credit:
            art.media.append({"caption": caption, "credit": credit})

    # trafilatura's default balance of precision and recall (favor_precision=True and
    # include_tables=False cost 0.05 recall on extraction-dev); it copies the tree it is given.
    ext = trafilatura.bare_extraction(
        tree, url=url, with_metadata=False, include_comments=False, include_tables=True,
        include_images=False, favor_precision=False, deduplicate=False,
    )
    body = repair((getattr(ext, "text", None) or "") if ext is not None else "")
    # trafilatura's metadata (title/author/site name heuristics) only when JSON-LD and OpenGraph
    # lack them; the date comes from htmldate directly, below.
    has_title = any(isinstance(o.get("headline"), str) for o in ld) or bool(meta.get("og:title"))
    has_author = any(_names(o.get("author")) for o in ld)
    has_outlet = any(_names(o.get("publisher")) for o in ld) or bool(meta.get("og:site_name"))
    has_url = bool(url or meta.get("og:url") or any(isinstance(o.get("url"), str) for o in ld))
    doc = _page_metadata(tree, url) if not (has_title and has_author and has_outlet and has_url) else None
    paragraphs = [squash(p) for p in body.split("\n") if squash(p)]

    def fixed(value):
        return squash(repair(value)) if isinstance(value, str) else value

    art.url = url or meta.get("og:url") or (getattr(doc, "url", None) if doc is not None else None)
    for obj in ld:
        if not art.url and isinstance(obj.get("url"), str):
            art.url = obj["url"]
    art.title = fixed(
        next((obj["headline"] for obj in ld if isinstance(obj.get("headline"), str)), None)
        or meta.get("og:title")
        or (getattr(doc, "title", None) if doc is not None else None)
        or ""
    ) or None
    art.outlet = fixed(
        next((n for obj in ld for n in _names(obj.get("publisher"))), None)
        or meta.get("og:site_name")
        or (getattr(doc, "sitename", None) if doc is not None else None)
    )
    for obj in ld:
        types: Any = obj.get("@type") if isinstance(obj.get("@type"), list) else [obj.get("@type")]
        for t in types:
            if t in _LD_KICKERS:
                art.kicker = _LD_KICKERS[t]
    authors = [fixed(n) for obj in ld for n in _names(obj.get("author"))]
    if not authors and doc is not None and getattr(doc, "author", None):
        authors = [fixed(a) for a in str(getattr(doc, "author", "")).split(";") if squash(a)]
    if not authors and meta.get("author"):
        authors, roles = parse_byline(repair(meta["author"]))
        art.author_roles = roles
    art.authors = list(dict.fromkeys(a for a in authors if a))
    if len(art.author_roles) != len(art.authors):
        art.author_roles = [""] * len(art.authors)

    # Date: the day is htmldate's (extensive search, original date: 0.850 exact day on extraction-dev); JSON-LD /
    # article:published_time give the time when they show the same day (their own day is wrong
    # more often: site-wide or modified dates).
    raw = next((obj["datePublished"] for obj in ld if isinstance(obj.get("datePublished"), str)), None)
    raw = raw or meta.get("article:published_time") or meta.get("pubdate") or meta.get("date")
    parsed = parse_iso(raw) if raw else None
    # Nothing is published after it was retrieved (`latest_publication`): a later JSON-LD/meta
    # instant is not taken, and htmldate's bound is that day instead of today's, so that a page's
    # date never depends on when it was normalised. htmldate also gets the page's URL, as
    # trafilatura gives it (a date in the path).
    if parsed is not None and retrieved_at is not None:
        parsed = parsed if publication(ShownDate(str(raw), parsed[0], parsed[1], ""), retrieved_at, art.notes) else None
    latest_day = latest_publication(retrieved_at).strftime("%Y-%m-%d") if retrieved_at else None
    from htmldate import find_date

    with htmldate_languages(detect_language(body)):
        day = find_date(tree, extensive_search=True, original_date=True, outputformat="%Y-%m-%d", url=art.url,
                        max_date=latest_day)
    if day and not (parsed is not None and str(raw).strip()[:10] == day):
        raw, parsed = day, parse_iso(day)
    if parsed is not None:
        art.date = ShownDate(str(raw), parsed[0], parsed[1], "")

    captions = {squash(m["caption"]) for m in art.media if m["caption"]}
    paragraphs = [p for p in paragraphs if p not in captions and p != art.title]

    profile = profile_for(html)
    paragraphs, source = clean_paragraphs(paragraphs, profile, art.media)
    art.syndicated_from = source
    art.paragraphs = paragraphs
    words = sum(n_words(p) for p in paragraphs)
    if words < min_words:
        raise NotAnArticle(f"no article body in the HTML: {words} words (minimum {min_words})")
    # Page type: a product, listing, forum, service or documentation page has a body too.
    model = default_model()
    score = model.article_score_html(html, body, url)
    if other_kind := model.not_an_article("html", score, article_loss):
        raise NotAnArticle(other_kind)
    art.page_type_score = round(float(score), 6)
    return art
