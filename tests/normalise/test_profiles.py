"""Site profiles are data: each loads into a validated spec, and each has a golden fixture
(tests/normalise/golden/profiles/<name>.json: an input of our own writing and every fact it must give)."""

from __future__ import annotations

import json
from datetime import datetime
from importlib import resources

import pytest
import yaml

from framestance.normalise.profiles import ProfileError, ProfileSpec, profile_for
from framestance.normalise.textdump import parse_text_dump

from ..conftest import ROOT

GOLDEN = ROOT / "tests" / "normalise" / "golden" / "profiles"
PROFILE_FILES = sorted((p for p in (resources.files("framestance") / "profiles").iterdir() if p.name.endswith(".yaml")), key=lambda p: p.name)
NAMES = [yaml.safe_load(p.read_text(encoding="utf-8"))["name"] for p in PROFILE_FILES]


def test_every_profile_has_a_golden_fixture():
    assert sorted(NAMES) == sorted(p.stem for p in GOLDEN.glob("*.json"))


@pytest.mark.parametrize("name", NAMES)
def test_profile_gives_its_golden_facts(name):
    golden = json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))
    text = (ROOT / golden["input"]).read_text(encoding="utf-8")
    assert name in profile_for(text).names
    arts = parse_text_dump(text, datetime.fromisoformat(golden["retrieved_at"]))
    got = [{"relation": a.relation, "title": a.title, "outlet": a.outlet, "syndicated_from": a.syndicated_from,
            "kicker": a.kicker, "authors": a.authors, "author_roles": a.author_roles,
            "date": {"text": a.date.text, "at": a.date.at.isoformat() if a.date.at else None, "precision": a.date.precision} if a.date else None,
            "n_paragraphs": len(a.paragraphs), "first_paragraph_starts": a.paragraphs[0][:60] if a.paragraphs else None,
            "media": a.media} for a in arts]
    assert got == golden["articles"]


@pytest.mark.parametrize("doc, message", [
    ({"name": "x", "byline_prefix": ["By"]}, "unknown key 'byline_prefix'"),
    ({"name": "x", "chrome": "menu"}, "chrome must be a list of strings"),
    ({"name": "x", "chrome": ["(unclosed"]}, "does not compile"),
    ({"chrome": ["menu"]}, "'name' must be a non-empty string"),
    ({"name": "x", "caption_max_words": "many"}, "caption_max_words must be a whole number"),
])
def test_a_bad_profile_is_refused_with_its_reason(doc, message):
    with pytest.raises(ProfileError, match=message.replace("(", r"\(")):
        ProfileSpec.load(doc, "profiles/x.yaml")


def test_the_shipped_profiles_are_valid():
    for path in PROFILE_FILES:
        ProfileSpec.load(yaml.safe_load(path.read_text(encoding="utf-8")), path.name)
