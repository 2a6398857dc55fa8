"""Shared parts of the command line: the Typer app, consoles, the one-line error, params.yaml.

User mistakes end with one red line naming the file and the reason (exit code 2), never a
traceback.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, NoReturn, Optional

import typer
from rich.console import Console

from ..errors import FramestanceError

app = typer.Typer(
    name="framestance",
    help="Build labelled news corpora for research on media framing and stance.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out_console = Console()
err_console = Console(stderr=True)


@app.callback()
def root() -> None:
    """framestance: normalise -> push -> pull -> validate -> publish."""


def fail(message: str, code: int = 2) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def parse_instant(text: str) -> datetime:
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        fail(f"--retrieved-at {text!r}: not an ISO-8601 date-time (e.g. 2025-08-18T09:30:00Z)")
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC)


def _params(section: str) -> dict:
    """Defaults from params.yaml in the working directory, when there is one."""
    path = Path("params.yaml")
    if not path.exists():
        return {}
    import yaml

    try:
        return (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get(section) or {}
    except yaml.YAMLError as exc:
        fail(f"params.yaml: not valid YAML ({exc.__class__.__name__})")
    return {}


StudioHome = Annotated[Path, typer.Option("--home", help="Folder for the server's venv, data, env file and log (git-ignored).")]
def _client(home: Path):
    from ..labelstudio import Client
    from ..studio import connection_from_env

    try:
        conn = connection_from_env(home)
    except FramestanceError as exc:
        fail(str(exc))
    return Client(conn.url, conn.api_key)


def _codebook(path: Optional[Path]):
    from ..codebook import load

    try:
        return load(path)
    except FramestanceError as exc:
        fail(str(exc))


CorpusDir = Annotated[Path, typer.Option("--corpus", help="Folder with articles.parquet.")]
AnnotationsDir = Annotated[Path, typer.Option("--annotations", help="Folder with annotations/stances/spans.parquet (the pull output).")]
GoldDir = Annotated[Path, typer.Option("--gold", help="Folder with gold.parquet and gold_spans.parquet (the aggregate output).")]
CodebookOpt = Annotated[Optional[Path], typer.Option("--codebook", help="Codebook YAML (default schemas/codebook.yaml).")]
