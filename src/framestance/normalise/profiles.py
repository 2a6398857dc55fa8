"""Site profiles: per-site knowledge kept as data (YAML files in `framestance/profiles/`).

The generic profile applies to every page. A site profile adds patterns when one of its `detect`
strings occurs in the page, so a new aggregator is supported by a small YAML file, not by code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, replace
from functools import lru_cache
from importlib import resources
from typing import ClassVar

import yaml

from ..errors import FramestanceError

LIST_KEYS = (
    "chrome",
    "inline_chrome",
    "end_markers",
    "related_markers",
    "credit_line",
    "credit_inline",
    "kickers",
    "byline_prefixes",
    "trailers",
    "relative_dates",
    "paywall_markers",
)


class ProfileError(FramestanceError, ValueError):
    """A profile file with an unknown key, a value of the wrong type or a pattern that does not compile."""


@dataclass(frozen=True)
class ProfileSpec:
    """One profile file as written: every key it may hold, with its type. Unknown keys are errors,
    so a typo cannot silently switch a rule off."""

    name: str
    detect: list[str] = field(default_factory=list)  # strings whose presence in a page selects the profile
    chrome: list[str] = field(default_factory=list)
    inline_chrome: list[str] = field(default_factory=list)
    end_markers: list[str] = field(default_factory=list)
    related_markers: list[str] = field(default_factory=list)
    credit_line: list[str] = field(default_factory=list)
    credit_inline: list[str] = field(default_factory=list)
    kickers: list[str] = field(default_factory=list)
    byline_prefixes: list[str] = field(default_factory=list)
    trailers: list[str] = field(default_factory=list)
    relative_dates: list[str] = field(default_factory=list)
    paywall_markers: list[str] = field(default_factory=list)
    relative_words: dict[str, str] = field(default_factory=dict)
    caption_max_words: int | None = None
    caption_continuation: str | None = None
    date_units: list[dict] = field(default_factory=list)  # {precision, seconds, prefixes}
    date_number_words: dict[str, int] = field(default_factory=dict)
    date_lead_ins: list[str] = field(default_factory=list)

    REGEX_KEYS: ClassVar[tuple[str, ...]] = ("chrome", "end_markers", "related_markers", "credit_line", "credit_inline",
                                             "trailers", "relative_dates", "paywall_markers")

    @classmethod
    def load(cls, doc: object, source: str) -> ProfileSpec:
        if not isinstance(doc, dict):
            raise ProfileError(f"{source}: a profile is a mapping of keys")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(map(str, doc)) - known)
        if unknown:
            raise ProfileError(f"{source}: unknown key {unknown[0]!r} (known: {', '.join(sorted(known))})")
        if not isinstance(doc.get("name"), str) or not doc["name"]:
            raise ProfileError(f"{source}: 'name' must be a non-empty string")
        for f in fields(cls):
            value = doc.get(f.name)
            if value is None:
                continue
            if f.name in LIST_KEYS or f.name == "detect":
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise ProfileError(f"{source}: {f.name} must be a list of strings")
            elif f.name == "relative_words":
                if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
                    raise ProfileError(f"{source}: relative_words must map words to words")
            elif f.name == "caption_max_words" and (not isinstance(value, int) or isinstance(value, bool)):
                raise ProfileError(f"{source}: caption_max_words must be a whole number")
            elif f.name == "date_lead_ins" and (not isinstance(value, list) or not all(isinstance(v, str) for v in value)):
                raise ProfileError(f"{source}: date_lead_ins must be a list of strings")
            elif f.name == "date_number_words" and (not isinstance(value, dict) or not all(
                    isinstance(k, str) and isinstance(v, int) for k, v in value.items())):
                raise ProfileError(f"{source}: date_number_words must map words to whole numbers")
            elif f.name == "date_units" and (not isinstance(value, list) or not all(
                    isinstance(u, dict) and set(u) == {"precision", "seconds", "prefixes"} and isinstance(u["seconds"], int)
                    and isinstance(u["prefixes"], list) for u in value)):
                raise ProfileError(f"{source}: date_units must be a list of {{precision, seconds, prefixes}}")
        spec = cls(**{k: v for k, v in doc.items() if v is not None})
        for key in (*cls.REGEX_KEYS, "caption_continuation"):
            value = getattr(spec, key)
            for pattern in value if isinstance(value, list) else [value] if value else []:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise ProfileError(f"{source}: {key} pattern {pattern!r} does not compile ({exc})") from None
        return spec


@dataclass(frozen=True)
class Profile:
    """Compiled patterns of one page: the generic profile merged with matching site profiles."""

    names: tuple[str, ...]
    chrome: re.Pattern
    end_marker: re.Pattern
    related_marker: re.Pattern
    inline_chrome: re.Pattern | None
    credit_line: tuple[re.Pattern, ...]
    credit_inline: re.Pattern
    caption_max_words: int
    caption_continuation: re.Pattern
    kicker_line: re.Pattern
    kicker_prefix: re.Pattern
    byline: re.Pattern
    byline_alone: re.Pattern  # a byline prefix on a line of its own ("By"), the names on the next
    trailers: tuple[re.Pattern, ...]
    relative_dates: tuple[re.Pattern, ...]
    paywall: re.Pattern
    relative_words: dict[str, str] = field(default_factory=dict)
    date_units: tuple[tuple[str, int, str], ...] = ()  # (unit word prefix, seconds, precision)
    date_number_words: dict[str, int] = field(default_factory=dict)
    date_lead: re.Pattern = re.compile(r"(?!x)x")
    # languages dateparser reads dates in: the page's own when it is known (`with_language`),
    # else None, a short list of common ones
    date_languages: tuple[str, ...] | None = None

    def with_language(self, language: str | None) -> Profile:
        """This profile for a page in `language` (ISO 639-1), as detected from its body; its dates
        are read in that language, then in English (pages in any language show "19-Dec-2025")."""
        if not language:
            return self
        return replace(self, date_languages=(language,) if language == "en" else (language, "en"))


def _alternation(patterns: list[str], flags: int = re.IGNORECASE) -> re.Pattern:
    if not patterns:
        return re.compile(r"(?!x)x")
    return re.compile("(?:" + "|".join(f"(?:{p})" for p in patterns) + ")", flags)


def _full(patterns: list[str]) -> re.Pattern:
    return re.compile(r"^\W{0,3}" + _alternation(patterns).pattern + r"\W{0,3}$", re.IGNORECASE)


@lru_cache(maxsize=1)
def raw_profiles() -> tuple[dict, ...]:
    """All profile files, validated, the generic one first, then site profiles by file name."""
    folder = resources.files("framestance") / "profiles"
    files = sorted((p for p in folder.iterdir() if p.name.endswith(".yaml")), key=lambda p: p.name)
    docs = []
    for p in files:
        try:
            doc = yaml.safe_load(p.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ProfileError(f"profiles/{p.name}: not valid YAML ({exc.__class__.__name__})") from None
        ProfileSpec.load(doc, f"profiles/{p.name}")
        docs.append(doc)
    docs.sort(key=lambda d: d.get("name") != "generic")
    return tuple(docs)


@lru_cache(maxsize=64)
def compile_profile(names: tuple[str, ...]) -> Profile:
    docs = [d for d in raw_profiles() if d["name"] in names]
    merged: dict[str, list] = {k: [] for k in LIST_KEYS}
    scalars: dict = {"relative_words": {}, "date_number_words": {}}
    units: list[tuple[str, int, str]] = []
    leads: list[str] = []
    for d in docs:
        for k in LIST_KEYS:
            merged[k].extend(d.get(k) or [])
        for k in ("caption_max_words", "caption_continuation"):
            if k in d:
                scalars[k] = d[k]
        scalars["relative_words"].update(d.get("relative_words") or {})
        scalars["date_number_words"].update(d.get("date_number_words") or {})
        units += [(p, u["seconds"], u["precision"]) for u in d.get("date_units") or [] for p in u["prefixes"]]
        leads += d.get("date_lead_ins") or []
    kickers = [re.escape(k) for k in merged["kickers"]]
    prefixes = [re.escape(p) for p in merged["byline_prefixes"]]
    inline = merged["inline_chrome"]
    return Profile(
        names=names,
        chrome=_full(merged["chrome"]),
        end_marker=_full(merged["end_markers"]),
        related_marker=_full(merged["related_markers"]),
        inline_chrome=(
            re.compile(r"(?<!\w)(?:" + "|".join(re.escape(s) for s in sorted(inline, key=len, reverse=True)) + r")(?!\w)")
            if inline
            else None
        ),
        credit_line=tuple(re.compile(r"^\s*" + p + r"\s*$", re.IGNORECASE) for p in merged["credit_line"]),
        credit_inline=_alternation(merged["credit_inline"]),
        caption_max_words=int(scalars.get("caption_max_words", 30)),
        caption_continuation=re.compile(scalars.get("caption_continuation", r"(?!x)x"), re.IGNORECASE),
        kicker_line=re.compile(r"^\W{0,3}(?P<kicker>" + "|".join(kickers) + r")\s*[:|]?\s*$", re.IGNORECASE),
        kicker_prefix=re.compile(r"^(?P<kicker>" + "|".join(kickers) + r")\s*[:|]\s+(?=\S)", re.IGNORECASE),
        byline=re.compile(r"^(?:" + "|".join(prefixes) + r")\s*:?\s+(?P<names>\S.*)$"),
        byline_alone=re.compile(r"^(?:" + "|".join(prefixes) + r")\s*:?$"),
        trailers=tuple(re.compile(r"^\s*" + p + r"\s*$") for p in merged["trailers"]),
        relative_dates=tuple(re.compile(p, re.IGNORECASE) for p in merged["relative_dates"]),
        paywall=_alternation(merged["paywall_markers"]),
        relative_words=dict(scalars["relative_words"]),
        date_units=tuple(units),
        date_number_words=dict(scalars["date_number_words"]),
        date_lead=re.compile(r"^(?:(?:first\s+)?(?:" + "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in leads)
                             + r")(?:\s+on)?\s*:?\s*)+", re.IGNORECASE) if leads else re.compile(r"(?!x)x"),
    )


def profile_for(text: str) -> Profile:
    """The generic profile plus every site profile whose `detect` strings occur in `text`."""
    names = tuple(
        d["name"]
        for d in raw_profiles()
        if d["name"] == "generic" or any(s in text for s in d.get("detect") or [])
    )
    return compile_profile(names)
