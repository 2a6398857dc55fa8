"""A study is one folder: `params.yaml` (its `study:` section first), a codebook, `dvc.yaml`, the
input pages in `corpus/raw/` and the annotation snapshots in `annotations/`.

`framestance init DIR` writes a new one from the templates in `framestance/templates/`: the
pipeline (`dvc.yaml`, the same for every study, so `dvc repro` runs it unedited), parameters with
nothing of another study in them, a codebook preset, a README stub, and a git + DVC repository.
The bundled sample (this repository's root) is such a study; its `dvc.yaml` is the template plus
the package's own source files as dependencies (a test keeps the two equal).
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from .errors import FramestanceError

PRESETS = ("media-frames",)


class StudyError(FramestanceError, ValueError):
    pass


def template(name: str) -> str:
    return resources.files("framestance").joinpath("templates", name).read_text(encoding="utf-8")


def dvc_yaml() -> str:
    """The pipeline every study runs."""
    return template("dvc.yaml.in")


def _yaml_text(value: str) -> str:
    import yaml

    return yaml.safe_dump(value, allow_unicode=True, width=1_000_000).strip().removesuffix("...").strip()


@dataclass
class Created:
    folder: Path
    files: list[str] = field(default_factory=list)
    repository: str = ""  # what was initialised: "git and DVC", "DVC (in the enclosing git repository)", ""


def init(folder: Path, name: str | None = None, preset: str = "media-frames", issue: str = "",
         statement: str = "", query: str = "", repository: bool = True) -> Created:
    """Write a new study into FOLDER (absent or empty: nothing is overwritten)."""
    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise StudyError(f"{folder}: not an empty folder; a study is written into a new one (nothing is overwritten)")
    if preset not in PRESETS:
        raise StudyError(f"--preset {preset!r}: unknown codebook preset (known: {', '.join(PRESETS)})")
    name = name or folder.resolve().name
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
        raise StudyError(f"name {name!r}: letters, digits, '.', '_' and '-' only (it names folders and the release)")
    codebook = template(f"codebooks/{preset}.yaml")
    for key, value in (("statement", statement), ("query", query)):
        if value:  # the preset's folded "TO FILL" block gives way to the value
            found = re.search(rf"(?m)^  {key}: >-\n(?:    .*\n)+", codebook)
            if found:
                codebook = codebook[:found.start()] + f"  {key}: {_yaml_text(value)}\n" + codebook[found.end():]
    files = {
        "dvc.yaml": dvc_yaml(),
        "params.yaml": template("params.yaml.in").format(name=_yaml_text(name), issue=_yaml_text(issue) if issue else '""'),
        "schemas/codebook.yaml": codebook,
        "README.md": template("README.md.in").format(name=name, about=f" of {issue}" if issue else ""),
        ".gitignore": template("gitignore"),
        "corpus/raw/.gitkeep": "",
        "annotations/.gitkeep": "",
        "releases/.gitkeep": "",
    }
    for rel, text in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    created = Created(folder, sorted(files))
    if repository:
        created.repository = _repository(folder)
    from .codebook import load

    load(folder / "schemas" / "codebook.yaml")  # the preset, as filled, must load
    return created


def _repository(folder: Path) -> str:
    """git (unless FOLDER is inside a work tree already) and DVC."""
    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(args, cwd=folder, capture_output=True, text=True)

    inside = run("git", "rev-parse", "--is-inside-work-tree").returncode == 0
    if not inside and run("git", "init", "-q").returncode != 0:
        return ""
    res = run(sys.executable, "-m", "dvc", "init", "-q", *(["--subdir"] if inside else []))
    if res.returncode != 0:
        raise StudyError(f"{folder}: `dvc init` failed: {(res.stderr or res.stdout).strip().splitlines()[-1:]}")
    run(sys.executable, "-m", "dvc", "config", "core.analytics", "false")
    return "DVC (in the enclosing git repository)" if inside else "git and DVC"
