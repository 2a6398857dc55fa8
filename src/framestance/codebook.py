"""The codebook (`schemas/codebook.yaml`): the single source of every label.

Everything that names a label (the Label Studio interface, pull's tables, validation, the dataset
card, ClassLabel features) reads it through this module. Relevance and frames are required; a
primary frame (`primary_frame: false` turns it off), tone and stance are optional; frames can
come from yes/no `questions`, each frame present when at least K of its questions are answered
yes (`rule: {at_least: K, of: [...]}`).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import FramestanceError
from .schema import NOT_RELEVANT, RELEVANT

DEFAULT_PATH = Path("schemas") / "codebook.yaml"


class CodebookError(FramestanceError, ValueError):
    """The codebook file is missing or inconsistent (message names the file and the problem)."""


@dataclass(frozen=True)
class Label:
    id: str
    name: str
    definition: str


@dataclass(frozen=True)
class Codebook:
    name: str
    version: int
    frames: tuple[Label, ...]
    tone: tuple[Label, ...]
    stance_values: tuple[Label, ...]
    stance_order: tuple[str, ...]
    targets: tuple[Label, ...]
    gold: dict = field(default_factory=dict)
    max_per_annotator: int = 1
    source: str = ""
    issue: str = ""  # the issue and its direction, which tone is measured against
    relevance: tuple[Label, ...] = ()  # (relevant, not_relevant): asked first, "not relevant" skips the rest
    query: str = ""  # the search query (tantivy/Lucene syntax) whose hits are the study's population
    instructions: str = ""  # the coding instructions annotators read on the labeling page (paragraphs: blank lines)
    primary: bool = True  # whether annotators pick a primary frame (the Media Frames shape); False: frames only
    questions: tuple[Label, ...] = ()  # yes/no questions; with them a frame is present by its rule, not ticked
    rules: tuple[tuple[str, int, tuple[str, ...]], ...] = ()  # (frame, at least k, of these questions) per frame

    # ---- names of the labeling interface's controls (one place) -------------------------
    FRAMES = "frames"
    PRIMARY = "primary_frame"
    TONE = "tone"
    FRAME_SPANS = "frame_spans"
    EVIDENCE = "stance_evidence"
    RELEVANCE = "relevance"
    YES, NO = "yes", "no"  # a question's two answers
    #: the fixed ids of the two relevance labels: code relies on them, names and definitions are free
    RELEVANT, NOT_RELEVANT = RELEVANT, NOT_RELEVANT

    @staticmethod
    def stance_control(target_id: str) -> str:
        return f"stance_{target_id}"

    @staticmethod
    def question_control(question_id: str) -> str:
        return f"q_{question_id}"

    def frames_of(self, yes: set[str] | frozenset[str]) -> list[str]:
        """The frames present, in codebook order, by the codebook's rules, for the questions answered yes."""
        present = {frame for frame, k, of in self.rules if sum(q in yes for q in of) >= k}
        return [f.id for f in self.frames if f.id in present]

    def question_ids(self) -> list[str]:
        return [q.id for q in self.questions]

    # ---- lookups --------------------------------------------------------------------------
    def frame_ids(self) -> list[str]:
        return [f.id for f in self.frames]

    def relevance_ids(self) -> list[str]:
        return [r.id for r in self.relevance]

    def by_name(self, labels: tuple[Label, ...]) -> dict[str, str]:
        """Display name -> id (Label Studio stores the name an annotator clicked)."""
        return {lab.name: lab.id for lab in labels}

    def fingerprint(self) -> str:
        """Hash of every label and definition: changes when the interface must change."""
        # the query selects articles, it does not change the labeling interface
        data = {k: v for k, v in asdict(self).items() if k not in ("source", "query")}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


#: How a Label Studio project names the codebook it was pushed with (push writes it into the
#: project's description, pull reads it back): `codebook NAME vN (FINGERPRINT)`.
_DESCRIBED = re.compile(r"codebook (.+?) v(\d+) \(([0-9a-f]{16})\)")


def project_description(cb: Codebook) -> str:
    return f"framestance; codebook {cb.name} v{cb.version} ({cb.fingerprint()})"


def described_codebook(description: str) -> tuple[str, str, str] | None:
    """(name, version, fingerprint) of the codebook a project description names, if it names one."""
    found = _DESCRIBED.search(description or "")
    return (found.group(1), found.group(2), found.group(3)) if found else None


def _labels(doc: dict, key: str, where: str) -> tuple[Label, ...]:
    items: Any = doc
    for part in key.split("."):
        items = (items or {}).get(part) if isinstance(items, dict) else None
    if not isinstance(items, list) or not items:
        raise CodebookError(f"{where}: `{key}` must be a non-empty list")
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not item.get("id") or not item.get("name"):
            raise CodebookError(f"{where}: `{key}[{i}]` needs an `id` and a `name`")
        if not str(item.get("definition") or "").strip():
            raise CodebookError(f"{where}: `{key}[{i}]` ({item['id']}) has no definition")
        out.append(Label(str(item["id"]), str(item["name"]).strip(), " ".join(str(item["definition"]).split())))
    for attr in ("id", "name"):
        seen = [getattr(lab, attr) for lab in out]
        dup = sorted({x for x in seen if seen.count(x) > 1})
        if dup:
            raise CodebookError(f"{where}: `{key}` repeats the {attr} {', '.join(dup)}")
    for lab in out:
        if "," in lab.id or not lab.id.replace("_", "").isalnum():
            raise CodebookError(f"{where}: `{key}` id {lab.id!r} must be letters, digits and underscores")
    return tuple(out)


def load(path: str | Path | None = None) -> Codebook:
    path = Path(path) if path else DEFAULT_PATH
    if not path.exists():
        raise CodebookError(f"{path}: no such codebook (run from the project folder or pass --codebook)")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CodebookError(f"{path}: not valid YAML ({exc.__class__.__name__})") from None
    if not isinstance(doc, dict):
        raise CodebookError(f"{path}: expected a mapping at the top level")
    where = str(path)
    frames = _labels(doc, "frames", where)
    # every dimension but relevance and frames is optional: a codebook codes what its study needs
    tone = _labels(doc, "tone", where) if "tone" in doc else ()
    if "stance" in doc:
        values, targets = _labels(doc, "stance.values", where), _labels(doc, "stance.targets", where)
    else:
        values, targets = (), ()
    primary = doc.get("primary_frame", True)
    if not isinstance(primary, bool):
        raise CodebookError(f"{where}: `primary_frame` must be true or false (whether annotators pick a primary frame)")
    questions, rules = _questions(doc, frames, where)
    if questions and primary:
        raise CodebookError(f"{where}: a codebook whose frames come from `questions` has no primary frame: "
                            "set `primary_frame: false`")
    order = tuple((doc.get("stance") or {}).get("order") or ())
    unknown = [o for o in order if o not in {v.id for v in values}]
    if unknown:
        raise CodebookError(f"{where}: `stance.order` names unknown values {', '.join(unknown)}")
    issue = doc.get("issue")
    query = ""
    if isinstance(issue, dict):  # issue: {statement: ..., query: ...}
        extra = sorted(set(map(str, issue)) - {"statement", "query"})
        if extra:
            raise CodebookError(f"{where}: `issue.{extra[0]}`: unknown key (issue has `statement` and `query`)")
        query = issue.get("query") or ""
        if not isinstance(query, str):
            raise CodebookError(f"{where}: `issue.query` must be a search query (text), e.g. 'climate OR \"global warming\"'")
        query = " ".join(query.split())
        issue = issue.get("statement")
    if not isinstance(issue, str) or not issue.strip():
        raise CodebookError(f"{where}: `issue` must state the issue and its direction (tone is measured against it, "
                            "as the Media Frames Corpus measures tone pro / anti a stated issue)")
    instructions = doc.get("instructions") or ""
    if not isinstance(instructions, str):
        raise CodebookError(f"{where}: `instructions` must be text (the coding instructions annotators read; "
                            "paragraphs separated by a blank line)")
    # paragraphs kept (a blank line), each paragraph's own line breaks folded into spaces
    instructions = "\n\n".join(" ".join(p.split()) for p in re.split(r"\n\s*\n", instructions) if p.strip())
    relevance = _labels(doc, "relevance", where)
    if [r.id for r in relevance] != [Codebook.RELEVANT, Codebook.NOT_RELEVANT]:
        raise CodebookError(f"{where}: `relevance` must list exactly the ids {Codebook.RELEVANT} and "
                            f"{Codebook.NOT_RELEVANT}, in that order (names and definitions are yours)")
    gold = doc.get("gold") or {}
    if not isinstance(gold, dict):
        raise CodebookError(f"{where}: `gold` must map article ids to labels")
    frame_ids = {f.id for f in frames}
    for aid, labels in gold.items():
        labels = labels or {}
        if not isinstance(labels, dict):
            raise CodebookError(f"{where}: gold article {aid}: expected a mapping of labels")
        extra = sorted(set(labels) - {"relevance", "primary_frame", "frames", "tone", "stance"})
        if extra:
            raise CodebookError(f"{where}: gold article {aid}: unknown keys {', '.join(extra)} "
                                "(relevance, primary_frame, frames, tone, stance)")
        if labels.get("relevance") is not None and labels["relevance"] not in {r.id for r in relevance}:
            raise CodebookError(f"{where}: gold article {aid} uses unknown relevance {labels['relevance']}")
        if labels.get("relevance") == Codebook.NOT_RELEVANT and set(labels) - {"relevance"}:
            raise CodebookError(f"{where}: gold article {aid} is not relevant and so has no other label "
                                f"(it gives {', '.join(sorted(set(labels) - {'relevance'}))})")
        bad = [f for f in labels.get("frames", []) if f not in frame_ids]
        if labels.get("primary_frame") and labels["primary_frame"] not in frame_ids:
            bad.append(labels["primary_frame"])
        if bad:
            raise CodebookError(f"{where}: gold article {aid} uses unknown frames {', '.join(map(str, bad))}")
        if labels.get("tone") is not None and labels["tone"] not in {t.id for t in tone}:
            raise CodebookError(f"{where}: gold article {aid} uses unknown tone {labels['tone']}")
        for target, value in (labels.get("stance") or {}).items():
            if target not in {t.id for t in targets} or value not in {v.id for v in values}:
                raise CodebookError(f"{where}: gold article {aid}: stance {target}: {value} is not in the codebook")
    return Codebook(
        name=str(doc.get("name") or "codebook"),
        version=int(doc.get("version") or 1),
        frames=frames,
        tone=tone,
        stance_values=values,
        stance_order=order,
        targets=targets,
        gold={str(k): v or {} for k, v in gold.items()},
        max_per_annotator=int((doc.get("annotation") or {}).get("max_per_annotator") or 1),
        source=str(path),
        issue=" ".join(issue.split()),
        relevance=relevance,
        query=query,
        instructions=instructions,
        primary=primary,
        questions=questions,
        rules=rules,
    )


def _questions(doc: dict, frames: tuple[Label, ...], where: str) -> tuple[tuple[Label, ...], tuple]:
    """The yes/no questions and each frame's rule (`rule: {at_least: k, of: [question ids]}` on the
    frame): with questions, every frame has a rule, and a rule names known questions only."""
    if "questions" not in doc:
        stray = [f.get("id") for f in doc["frames"] if isinstance(f, dict) and "rule" in f]
        if stray:
            raise CodebookError(f"{where}: frame {stray[0]} has a `rule` but the codebook has no `questions`")
        return (), ()
    questions = _labels(doc, "questions", where)
    known = {q.id for q in questions}
    clash = sorted(known & {f.id for f in frames})
    if clash:
        raise CodebookError(f"{where}: `questions` and `frames` share the id {clash[0]}")
    rules = []
    for raw, frame in zip(doc["frames"], frames):
        rule = raw.get("rule") if isinstance(raw, dict) else None
        if not isinstance(rule, dict) or set(rule) - {"at_least", "of"} or not isinstance(rule.get("of"), list):
            raise CodebookError(f"{where}: frame {frame.id} needs `rule: {{at_least: K, of: [question ids]}}` (the "
                                "codebook has `questions`: a frame is present when at least K of them are answered yes)")
        of = tuple(str(q) for q in rule["of"])
        unknown = [q for q in of if q not in known]
        if unknown:
            raise CodebookError(f"{where}: the rule of frame {frame.id} names unknown questions {', '.join(unknown)}")
        k = rule.get("at_least", 1)
        if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= len(of):
            raise CodebookError(f"{where}: the rule of frame {frame.id}: `at_least` must be a whole number from 1 to "
                                f"{len(of)} (its questions)")
        rules.append((frame.id, k, of))
    return questions, tuple(rules)
