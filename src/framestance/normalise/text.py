"""Text repair and the derived fields every reader shares: paragraphs, offsets, words, hashes."""

from __future__ import annotations

import re
import unicodedata

import ftfy
from ftfy.badness import BADNESS_RE, MOJIBAKE_CATEGORIES, is_bad

from ..io import sha256_bytes

# Repair mojibake and control characters; keep typographic quotes (uncurl_quotes=False).
_FTFY = ftfy.TextFixerConfig(uncurl_quotes=False, fix_latin_ligatures=True, normalization="NFC", explain=False)
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_ZERO_WIDTH = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_WORD = re.compile(r"\w+(?:[’'.-]\w+)*")
#: ASCII and the typography of ordinary text (quotes, dashes, ellipsis, ©, ™...): every pattern of
#: ftfy's badness check needs a character outside these, and matches at most MOJIBAKE_SPAN
#: characters (tests/normalise/test_text.py proves both on the pinned ftfy). So the check need
#: only look around such characters: over a whole text it was a fifth of the dump path.
PLAIN_TYPOGRAPHY = "".join(sorted(set(
    MOJIBAKE_CATEGORIES["common"] + MOJIBAKE_CATEGORIES["start_punctuation"] + MOJIBAKE_CATEGORIES["end_punctuation"])))
_NOT_PLAIN = re.compile("[^\x00-\x7f" + "".join(re.escape(c) for c in PLAIN_TYPOGRAPHY) + "]")
MOJIBAKE_SPAN = 7
_FEW_SUSPECTS = 64  # beyond this (accented prose), one search over the whole text is cheaper


def repair(text: str) -> str:
    """Mojibake fixed (ftfy), Unicode NFC, zero-width characters dropped, line ends unified."""
    return tidy(fix_mojibake(text))


def fix_mojibake(text: str) -> str:
    """ftfy where its badness check finds mojibake (the check is the costly part: run it on the
    text that is kept, not on a whole raw page)."""
    if not text.isascii() and looks_bad(text):
        text = ftfy.fix_text(text, _FTFY)
    return text


def looks_bad(text: str) -> bool:
    """ftfy's `is_bad`, searched only near the characters its patterns need (same answer)."""
    suspects = [m.start() for m in _NOT_PLAIN.finditer(text)]
    if len(suspects) > _FEW_SUSPECTS:
        return is_bad(text)
    reach = MOJIBAKE_SPAN - 1
    lo = hi = -1
    for i in suspects:
        if i - reach > hi:
            if hi >= 0 and BADNESS_RE.search(text, lo, hi):
                return True
            lo = max(0, i - reach)
        hi = i + reach + 1
    # `pos` keeps ^ at the real start of the text, as in a search over all of it
    return hi >= 0 and BADNESS_RE.search(text, lo, hi) is not None


def tidy(text: str) -> str:
    """Zero-width characters dropped, line ends unified, Unicode NFC: cheap, for whole pages."""
    text = _ZERO_WIDTH.sub("", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", text)


def squash(line: str) -> str:
    """One line with runs of horizontal white space collapsed and the ends stripped."""
    if line.isascii() and "  " not in line and "\t" not in line:
        return line.strip()
    return _SPACES.sub(" ", line).strip()


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def n_words(text: str) -> int:
    return len(_WORD.findall(text))


def assemble(paragraphs: list[str]) -> tuple[str, list[dict]]:
    """Body text (paragraphs joined by a blank line) and each paragraph's [start, end) offsets."""
    offsets = []
    pos = 0
    kept = [p for p in (squash(p) for p in paragraphs) if p]
    for i, p in enumerate(kept):
        if i:
            pos += 2
        offsets.append({"start": pos, "end": pos + len(p)})
        pos += len(p)
    return "\n\n".join(kept), offsets


sha256 = sha256_bytes


def dedup_key(text: str, tokens: list[str] | None = None) -> str:
    """Hash of the text with case, punctuation and spacing ignored: equal keys are exact duplicates."""
    return sha256(" ".join(tokens if tokens is not None else (w.lower() for w in words(text))))


def detect_language(text: str) -> str | None:
    """ISO 639-1 code from the first 400 characters (py3langid; enough for news prose)."""
    if n_words(text[:200]) < 5:
        return None
    import py3langid

    lang, _ = py3langid.classify(text[:400])
    return lang


# The last label of a domain name that is not the outlet's name (dailycaller.com, bbc.co.uk).
_SUFFIXES = re.compile(r"\.(?:com|org|net|news|info|co|ac|gov|edu|[a-z]{2})(?:\.[a-z]{2})?$")


def outlet_key(outlet: str | None) -> str:
    """One key per outlet however a page or a crawler spells it: "The Daily Caller",
    "thedailycaller" and "www.dailycaller.com" are all `dailycaller`. Lower case, letters and
    digits only; a domain loses "www." and its suffix; a leading "the" goes (when a name is left)."""
    low = (outlet or "").strip().lower()
    if " " not in low and "." in low:
        low = _SUFFIXES.sub("", re.sub(r"^(?:https?://)?(?:www\d?\.)?", "", low).split("/")[0])
    low = re.sub(r"[^0-9a-z]+", "", low)
    return low[3:] if low.startswith("the") and len(low) > 6 else low
