"""`framestance studio up|down|status`: the local Label Studio server."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import FramestanceError
from ._app import (
    StudioHome,
    app,
    err_console,
    fail,
    out_console,
)

studio_app = typer.Typer(help="A real local Label Studio server (own venv, SQLite, 127.0.0.1).", no_args_is_help=True)
app.add_typer(studio_app, name="studio")



@studio_app.command("up")
def studio_up(
    home: StudioHome = Path(".studio"),
    port: Annotated[Optional[int], typer.Option(help="Port on 127.0.0.1 (default: a free one).")] = None,
) -> None:
    """Install (once) and start Label Studio; print the URL and how to log in."""
    from ..studio import LocalStudio

    studio = LocalStudio(home)
    try:
        with err_console.status("starting Label Studio (the first start runs its migrations, ~30 s)"):
            conn = studio.up(port=port, say=lambda m: err_console.print(m, highlight=False))
    except FramestanceError as exc:
        fail(str(exc))
    out_console.print(f"Label Studio is up at [bold]{conn.url}[/]", highlight=False)
    out_console.print(f"log in as {conn.email}; the password and API key are in {studio.env_file} (mode 600, git-ignored)",
                      highlight=False)
    out_console.print(f"other commands read LABEL_STUDIO_URL / LABEL_STUDIO_API_KEY, else {studio.env_file}", highlight=False)


@studio_app.command("down")
def studio_down(home: StudioHome = Path(".studio")) -> None:
    """Stop the server `studio up` started (and nothing else)."""
    from ..studio import LocalStudio

    stopped = LocalStudio(home).down()
    out_console.print("Label Studio stopped" if stopped else "no Label Studio started from this folder is running")


@studio_app.command("status")
def studio_status(home: StudioHome = Path(".studio")) -> None:
    """Is the server installed, running and healthy?"""
    from ..studio import LocalStudio

    st = LocalStudio(home).status()
    for k, v in st.items():
        out_console.print(f"{k}: {v}", highlight=False)
    if not st["healthy"]:
        raise typer.Exit(1)
