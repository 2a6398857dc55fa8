"""The mojibake check near suspect characters gives ftfy's own answer."""

from __future__ import annotations

import random
import re
from re import _constants as sre_constants  # type: ignore[attr-defined]
from re import _parser as sre_parser  # type: ignore[attr-defined]

from ftfy.badness import BADNESS_RE, is_bad

from framestance.normalise.text import MOJIBAKE_SPAN, PLAIN_TYPOGRAPHY, fix_mojibake, looks_bad

PLAIN = {chr(c) for c in range(128)} | set(PLAIN_TYPOGRAPHY)


def _chars(op, arg) -> set[str] | None:
    """The characters one pattern item accepts; None where any character may do."""
    if op == sre_constants.LITERAL:
        return {chr(arg)}
    if op != sre_constants.IN:
        return None
    out: set[str] = set()
    for kind, value in arg:
        if kind == sre_constants.LITERAL:
            out.add(chr(value))
        elif kind == sre_constants.RANGE:
            out |= {chr(c) for c in range(value[0], value[1] + 1)}
        else:  # a negated set or a category (\w, \s)
            return None
    return out


def test_every_badness_pattern_needs_a_suspect_and_is_short():
    tree = sre_parser.parse(BADNESS_RE.pattern, BADNESS_RE.flags)
    assert not BADNESS_RE.flags & (re.IGNORECASE | re.MULTILINE | re.DOTALL)
    assert tree.getwidth()[1] <= MOJIBAKE_SPAN
    ((op, (_, alternatives)),) = tree.data
    assert op == sre_constants.BRANCH and len(alternatives) > 20
    for alternative in alternatives:
        ops = {item[0] for item in alternative.data}
        assert ops <= {sre_constants.LITERAL, sre_constants.IN, sre_constants.ANY, sre_constants.AT,
                       sre_constants.MAX_REPEAT}, ops
        assert all(arg == sre_constants.AT_BEGINNING for op, arg in alternative.data if op == sre_constants.AT)
        required = [_chars(op, arg) for op, arg in alternative.data]
        assert any(chars is not None and not chars & PLAIN for chars in required), alternative


def _pattern_characters() -> set[str]:
    """Every character a class or literal of ftfy's pattern names, range interiors included."""
    out: set[str] = set()
    stack = list(sre_parser.parse(BADNESS_RE.pattern, BADNESS_RE.flags).data)
    while stack:
        op, arg = stack.pop()
        if op == sre_constants.BRANCH:
            stack += [item for alternative in arg[1] for item in alternative.data]
        elif op == sre_constants.MAX_REPEAT:
            stack += list(arg[2].data)
        else:
            out |= _chars(op, arg) or set()
    return out


def test_looks_bad_is_is_bad():
    rng = random.Random(11)
    suspect = "".join(sorted(_pattern_characters() - PLAIN))
    assert len(suspect) > 300
    alphabets = [
        "ab Z.,?!\n" + PLAIN_TYPOGRAPHY + suspect[:40],
        "ab " + "ÂÃÎÐØÙàŒœ×²³√±≈‚Äâó€вЂВГРСβΒΓΞΟā°µ¡" + PLAIN_TYPOGRAPHY,
        "a " + suspect,
    ]
    checked = bad = 0
    for _ in range(30000):
        alphabet = rng.choice(alphabets)
        n = rng.choice([rng.randint(0, 12), rng.randint(30, 200)])
        text = "".join(rng.choice(alphabet) if rng.random() < 0.3 else rng.choice("abc Zy.\n") for _ in range(n))
        assert looks_bad(text) == is_bad(text), repr(text)
        checked += 1
        bad += is_bad(text)
    assert 0.1 < bad / checked < 0.9  # both answers are exercised


def test_many_suspects_searched_in_windows(monkeypatch):
    from framestance.normalise import text

    monkeypatch.setattr(text, "_FEW_SUSPECTS", 10**9)  # the windows, not the one whole search
    rng = random.Random(5)
    accented = "Le café était fermé à cause de la grève. " * 30
    assert looks_bad(accented) == is_bad(accented) is False
    for _ in range(300):
        k = rng.randrange(len(accented))
        broken = accented[:k] + rng.choice(["Ã©", "â€™", "Ã ", "Â "]) + accented[k:]
        assert looks_bad(broken) == is_bad(broken), broken


def test_mojibake_far_apart_and_at_the_start():
    clean = "An ordinary sentence – with “quotes”, an ellipsis… and © 2025. " * 40
    assert not looks_bad(clean)
    assert looks_bad(clean + "cafÃ© ")
    assert looks_bad("Ã " + clean)  # ^ matches at the start of the text
    assert not is_bad(clean + ". Ã ") and not looks_bad(clean + ". Ã ")
    assert fix_mojibake("The cafÃ© opened.") == "The café opened."
