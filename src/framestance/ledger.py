"""The study's ledger: one JSON line per step that sent articles to annotators (a push, an
adjudication round), kept in git beside the project's snapshots:
`annotations/<project slug>/ledger.jsonl` (not a snapshot: snapshots are `*.json`).

A line records what the step was asked and what it did (how the articles were chosen, from how
many, the seed, the overlap, how many annotators, the gold rate, the tasks created), never an
e-mail or a text. `publish` turns the ledger into the card's "Sending articles to annotators"
section, so a sample drawn at push time, or a corpus filtered by hand before it, is stated.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from .errors import FramestanceError
from .io import slug

NAME = "ledger.jsonl"


class LedgerError(FramestanceError, ValueError):
    pass


def path_of(folder: Path, project: str) -> Path:
    """Where PROJECT's ledger lives in FOLDER (the snapshots' folder, `annotations/`)."""
    return Path(folder) / slug(project) / NAME


def append(folder: Path, project: str, step: str, entry: dict, now: datetime | None = None) -> Path:
    """Add one line (appended whole, then flushed: an earlier line is never rewritten)."""
    path = path_of(folder, project)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = {"step": step, "at": (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"), "project": project, **entry}
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(line, sort_keys=True, ensure_ascii=False) + "\n")
    return path


def read(path: Path) -> list[dict]:
    """The ledger's lines in order; none when there is no ledger. A line that is not a JSON object
    is a LedgerError naming the file and the line."""
    if not Path(path).exists():
        return []
    out = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            raise LedgerError(f"{path}:{n}: not a JSON line") from None
        if not isinstance(entry, dict) or "step" not in entry:
            raise LedgerError(f"{path}:{n}: not a ledger entry (an object with a `step`)")
        out.append(entry)
    return out
