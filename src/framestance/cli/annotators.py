"""`framestance annotators add|list`: the team's accounts on the Label Studio server."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ..errors import FramestanceError
from ._app import StudioHome, _client, app, fail, out_console

annotators_app = typer.Typer(help="Annotator accounts on the Label Studio server.", no_args_is_help=True)
app.add_typer(annotators_app, name="annotators")


@annotators_app.command("add")
def annotators_add(
    emails: Annotated[list[str], typer.Argument(help="E-mail addresses of the annotators.")],
    reset_password: Annotated[bool, typer.Option("--reset-password", help="Give existing accounts a new password.")] = False,
    home: StudioHome = Path(".studio"),
) -> None:
    """Create accounts and print how each person logs in (a password shown once, stored nowhere)."""
    from ..annotators import add_local, check_emails, is_local

    try:
        if not is_local(home):
            check_emails(emails)
            client = _client(home)
            link = client.invite_link()
            out_console.print(f"{client.url} is not a server `studio up` runs: send each person this invite link; "
                              f"they sign up with their e-mail and a password of their own:\n{link}", highlight=False)
            out_console.print("then `framestance annotators list` shows who has joined", highlight=False)
            return
        from ..studio import LocalStudio

        studio = LocalStudio(home)
        logins = add_local(studio, emails, reset=reset_password)
        conn = studio.connection()
        url = conn.url if conn else ""
    except FramestanceError as exc:
        fail(str(exc))
    table = Table(title=f"log in at {url}/user/login/ (change the password under Account & Settings)")
    for col in ("e-mail", "pseudonym", "password"):
        table.add_column(col)
    for login in logins:
        table.add_row(login.email, login.pseudonym,
                      login.password or "(existing account: unchanged; --reset-password for a new one)")
    out_console.print(table)


@annotators_app.command("list")
def annotators_list(home: StudioHome = Path(".studio")) -> None:
    """Every account on the server with its pseudonym (the name in tables and queue titles)."""
    from ..annotators import listing

    try:
        logins = listing(_client(home), home)
    except FramestanceError as exc:
        fail(str(exc))
    table = Table()
    for col in ("e-mail", "pseudonym", "user id"):
        table.add_column(col)
    for login in logins:
        table.add_row(login.email, login.pseudonym, str(login.user_id))
    out_console.print(table)
