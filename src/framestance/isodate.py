"""The one ISO-8601 parser: params, command-line options, HTML metadata and Label Studio times.

A time without a zone is taken as UTC here, and only here, so the rule is stated once: pages and
exports that give a local time without a zone are rare, and every caller that must refuse them
checks `has_zone` itself.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

_SECONDS = re.compile(r"[T ]\d{2}:\d{2}:\d{2}")
_ZONE = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$")


def parse_iso(text: str) -> tuple[datetime, str] | None:
    """(the instant in UTC, its precision: day / minute / second), or None when `text` is not
    ISO-8601. "2025-08-17" is a day; a naive time is UTC."""
    text = text.strip()
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    precision = "day" if len(text) <= 10 else ("second" if _SECONDS.search(text) else "minute")
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC), precision


def has_zone(text: str) -> bool:
    """Does an ISO-8601 date-time name its zone (Z or an offset)?"""
    return bool(_ZONE.search(text.strip()))


__all__ = ["has_zone", "parse_iso"]
