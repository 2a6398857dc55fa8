"""Cleaning shared by every input kind: paragraphs (inline chrome, inline photo credits, the
syndication trailer), bylines (authors and their roles) and sentence splitting.

Text dumps, HTML bodies and crawler records all pass their paragraphs through here, so a rule
(and the profile patterns it reads) applies the same way whatever the input kind.
"""

from __future__ import annotations

import re

from .profiles import Profile
from .text import squash

TERMINAL = re.compile(r"[.!?…:;][\"'”’»)\]]*$")
_TERMINAL_CHARS = frozenset(".!?…:;")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)]*\s+(?=[\"“‘(]?[A-ZÀ-Þ0-9])")
_ABBREV = re.compile(r"(?:\b(?:Mr|Mrs|Ms|Dr|St|Gen|Sen|Rep|Gov|Lt|Col|Sgt|Prof|Jr|Sr|No|Inc|Co|Corp|vs|Mt|Ft|Capt|Cmdr|Adm|Pres)|\b[A-Z]|\b(?:U\.S|U\.K|U\.N))\.$")


def layout_words(text: str) -> int:
    """White-space tokens of a line, for layout heuristics only (fast); a body's length in words
    is `text.n_words`, the same for every input kind."""
    return len(text.split())


def ends_sentence(line: str) -> bool:
    """`TERMINAL` without a scan of the whole line (paragraphs grow line by line)."""
    line = line[:-1] if line.endswith("\n") else line  # `$` also matches before one final newline
    return line.rstrip("\"'”’»)]")[-1:] in _TERMINAL_CHARS


def sentences(paragraph: str) -> list[str]:
    """Split a paragraph into sentences (good enough for captions: abbreviations are respected)."""
    out, start = [], 0
    for m in _SENTENCE_END.finditer(paragraph):
        head = paragraph[start : m.start()].rstrip("\"'”’)")
        if _ABBREV.search(head):
            continue
        out.append(paragraph[start : m.start()].strip() + paragraph[m.start() : m.end()].strip())
        start = m.end()
    out.append(paragraph[start:].strip())
    return [s for s in out if s]


def parse_byline(names: str) -> tuple[list[str], list[str]]:
    """"Jane Doe, political editor, and John Roe, Reuters" -> authors and their roles."""
    names = re.sub(r"\s+", " ", names).strip(" ,.|")
    names = re.split(r"\s*[|·•]\s*", names)[0]
    parts = [p.strip(" ,") for p in re.split(r"\s*(?:,\s*and\s+|\s+and\s+|\s*&\s*|;\s*|\s+und\s+|\s+et\s+|\s+y\s+)", names) if p.strip(" ,")]
    authors, roles = [], []
    for part in parts:
        name, _, role = part.partition(",")
        name = name.strip()
        if not name or layout_words(name) > 5:
            continue
        authors.append(name)
        roles.append(role.strip())
    if authors and roles[-1] and not any(roles[:-1]) and "," not in names.split(" and ")[0]:
        roles = [roles[-1]] * len(authors)  # "Jane Doe and John Roe, Reuters": a shared role
    return authors, roles


def trailer_source(paragraph: str, profile: Profile) -> str | None:
    for pattern in profile.trailers:
        m = pattern.match(paragraph)
        if m and layout_words(paragraph) <= 12:
            return m.group("source").strip(" .")
    return None


def clean_paragraphs(paragraphs: list[str], profile: Profile, media: list[dict]) -> tuple[list[str], str | None]:
    """Inline chrome and inline credits out of paragraphs; the syndication trailer read off.

    Shared by every input kind. Returns the paragraphs and the syndication source, if any.
    """
    out: list[str] = []
    for para in paragraphs:
        pieces = profile.inline_chrome.split(para) if profile.inline_chrome else [para]
        for piece in pieces:
            piece = squash(piece)
            while piece:
                m = profile.credit_inline.search(piece)
                if not m:
                    out.append(piece)
                    break
                before, after = piece[: m.start()].strip(), piece[m.end():].strip()
                credit = next((g for g in m.groups() if g), "").strip()
                sents = sentences(before) if before else []
                cap: list[str] = []
                if sents:
                    cap.insert(0, sents.pop())
                    while sents and profile.caption_continuation.match(cap[0]):
                        cap.insert(0, sents.pop())
                caption = " ".join(cap)
                if layout_words(caption) > 2 * profile.caption_max_words:
                    # A long "sentence" before a credit is body text that cites its source.
                    out.append(squash(before + " " + m.group(0)))
                else:
                    media.append({"caption": caption, "credit": credit})
                    if sents:
                        out.append(" ".join(sents))
                piece = after
    # Syndication trailer: "-CNN", "(AFP)", "This story first appeared on ...".
    source = None
    while out:
        last = out[-1]
        found = trailer_source(last, profile)
        if found is not None:
            source = source or found
            out.pop()
            continue
        m = re.search(r"\s[-–—]\s?(?P<source>[A-Z][A-Za-z&.]{1,15}(?: [A-Z][A-Za-z&.]+){0,2})$", last)
        if m and TERMINAL.search(last[: m.start()]):
            source = m.group("source")
            out[-1] = last[: m.start()].rstrip()
        break
    return [p for p in out if p], source


__all__ = ["clean_paragraphs", "layout_words", "parse_byline", "sentences", "trailer_source"]
