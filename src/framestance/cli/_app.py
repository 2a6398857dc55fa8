"""Shared parts of the command line: the Typer app, consoles, the one-line error, params.yaml.

User mistakes end with one red line naming the file and the reason (exit code 2), never a
traceback.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, NoReturn, Optional

import typer
from rich.console import Console

from .. import config
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


def parse_instant(text: str, option: str = "--retrieved-at") -> datetime:
    try:
        return config.parse_instant(text, option)
    except FramestanceError as exc:
        fail(str(exc))


def settings() -> config.Config:
    """params.yaml of the working directory, loaded once per command (defaults when absent)."""
    try:
        return config.load_config()
    except FramestanceError as exc:
        fail(str(exc))


def _client(home: Path):
    from ..labelstudio.client import Client
    from ..labelstudio.server import connection_from_env

    try:
        conn = connection_from_env(home)
    except FramestanceError as exc:
        fail(str(exc))
    return Client(conn.url, conn.api_key)


def _codebook(path: Optional[Path]):
    """The codebook at PATH, else the study's (params.yaml study.codebook)."""
    from ..codebook import load

    try:
        return load(path or Path(settings().study.codebook))
    except FramestanceError as exc:
        fail(str(exc))


StudioHome = Annotated[Path, typer.Option("--home", help="Folder for the server's venv, data, env file and log (git-ignored).")]
CorpusDir = Annotated[Path, typer.Option("--corpus", help="Folder with articles.parquet.")]
AnnotationsDir = Annotated[Path, typer.Option("--annotations", help="Folder with annotations/stances/spans.parquet (the pull output).")]
GoldDir = Annotated[Path, typer.Option("--gold", help="Folder with gold.parquet and gold_spans.parquet (the aggregate output).")]
CodebookOpt = Annotated[Optional[Path], typer.Option("--codebook", help="Codebook YAML (default: params.yaml study.codebook).")]
