"""`framestance init DIR`: a new study (framestance.study)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import FramestanceError
from ._app import app, fail, out_console


@app.command()
def init(
    folder: Annotated[Path, typer.Argument(help="The new study's folder (absent or empty).")],
    name: Annotated[Optional[str], typer.Option(help="The study's name: its release and Label Studio project (default: the folder's name).")] = None,
    preset: Annotated[str, typer.Option(help="Codebook preset: media-frames (the Media Frames Corpus shape).")] = "media-frames",
    issue: Annotated[str, typer.Option(help="The issue in a few words (study.issue).")] = "",
    statement: Annotated[str, typer.Option(help="The issue and its direction, for the codebook (issue.statement).")] = "",
    query: Annotated[str, typer.Option(help="The search query whose hits are the study's population (issue.query).")] = "",
    git: Annotated[bool, typer.Option("--git/--no-git", help="Initialise git (unless inside a repository) and DVC.")] = True,
) -> None:
    """Write a new study: dvc.yaml, params.yaml (its study: section), a codebook, corpus/raw/, a README."""
    from ..study import init as run

    try:
        created = run(folder, name=name, preset=preset, issue=issue, statement=statement, query=query, repository=git)
    except FramestanceError as exc:
        fail(str(exc))
    out_console.print(f"study written to {created.folder}: {', '.join(created.files)}"
                      + (f"; {created.repository} initialised" if created.repository else ""), highlight=False)
    out_console.print(f"next: fill in {created.folder}/params.yaml (study:) and schemas/codebook.yaml, put pages in "
                      f"{created.folder}/corpus/raw/, then `dvc repro select` there", highlight=False)
