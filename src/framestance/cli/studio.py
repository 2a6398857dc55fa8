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
    port: Annotated[Optional[int], typer.Option(help="Port of the lead's server on 127.0.0.1 (default: a free one).")] = None,
    database: Annotated[Optional[str], typer.Option(help="sqlite (the default) or postgresql (Debian's package: a local cluster under the studio home, a Unix socket only). Chosen at the first start.")] = None,
) -> None:
    """Install (once) and start Label Studio (the lead's server, then every annotator's own when the
    team is isolated); print the URLs and how to log in."""
    from ..labelstudio.team import LEAD, Team

    team = Team(home)
    try:
        with err_console.status("starting Label Studio (the first start runs its migrations, ~30 s)"):
            conns = team.up(port=port, database=database, say=lambda m: err_console.print(m, highlight=False))
    except FramestanceError as exc:
        fail(str(exc))
    conn = conns[LEAD]
    out_console.print(f"Label Studio is up at [bold]{conn.url}[/]", highlight=False)
    out_console.print(f"log in as {conn.email}; the password and API key are in {team.lead.env_file} (mode 600, git-ignored)",
                      highlight=False)
    for name, c in conns.items():
        if name != LEAD:
            out_console.print(f"the server of {name} is up at {c.url} (its annotator's login works there only)", highlight=False)
    out_console.print(f"other commands read LABEL_STUDIO_URL / LABEL_STUDIO_API_KEY, else {team.lead.env_file}", highlight=False)


@studio_app.command("down")
def studio_down(home: StudioHome = Path(".studio")) -> None:
    """Stop the servers `studio up` started from this folder (and nothing else)."""
    from ..labelstudio.team import Team

    stopped = Team(home).down()
    out_console.print(f"stopped: {', '.join(stopped)}" if stopped else "no Label Studio started from this folder is running",
                      highlight=False)


@studio_app.command("status")
def studio_status(home: StudioHome = Path(".studio")) -> None:
    """Is every server of the team installed, running and healthy?"""
    from ..labelstudio.team import Team

    statuses = Team(home).status()
    for name, st in statuses.items():
        prefix = "" if len(statuses) == 1 else f"{name} "
        for k, v in st.items():
            out_console.print(f"{prefix}{k}: {v}", highlight=False)
    if not all(st["healthy"] for st in statuses.values()):
        raise typer.Exit(1)
