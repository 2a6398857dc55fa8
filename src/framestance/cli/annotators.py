"""`framestance annotators add|list`: the team's accounts on the Label Studio server."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from ..errors import FramestanceError
from ._app import StudioHome, _client, app, err_console, fail, out_console, settings

annotators_app = typer.Typer(help="Annotator accounts on the Label Studio server.", no_args_is_help=True)
app.add_typer(annotators_app, name="annotators")


@annotators_app.command("add")
def annotators_add(
    emails: Annotated[list[str], typer.Argument(help="E-mail addresses of the annotators.")],
    role: Annotated[str, typer.Option("--role", help="annotator, or adjudicator (decides disputes; on the lead's server).")] = "annotator",
    isolation: Annotated[Optional[str], typer.Option("--isolation", help="server: each annotator on a Label Studio of their own (blind by construction; the default); project: a project each on the lead's server (blind by convention). Chosen once per team.")] = None,
    reset_password: Annotated[bool, typer.Option("--reset-password", help="Give existing accounts a new password.")] = False,
    home: StudioHome = Path(".studio"),
) -> None:
    """Create accounts and print how each person logs in (a password shown once, stored nowhere)
    and which queue is theirs."""
    from ..labelstudio.accounts import check_emails, is_local
    from ..labelstudio.push import queue_title
    from ..labelstudio.team import Team

    try:
        if not is_local(home):
            check_emails(emails)
            client = _client(home)
            link = client.invite_link()
            out_console.print(f"{client.url} is not a server `studio up` runs: send each person this invite link; "
                              f"they sign up with their e-mail and a password of their own:\n{link}", highlight=False)
            out_console.print("then `framestance annotators list` shows who has joined", highlight=False)
            return
        team = Team(home)
        if isolation is None and team.isolation is None and role == "annotator":
            # a server whose annotators were added before teams had a mode: theirs is `project`
            from ..labelstudio.server import ADMIN_EMAIL

            earlier = set(_client(home).users()) - {ADMIN_EMAIL} - set(team.members)
            if earlier:
                isolation = "project"
                err_console.print(f"note: this server has {len(earlier)} accounts from before: their team works in "
                                  "projects on it (--isolation project); a new studio home gives annotators servers "
                                  "of their own", highlight=False)
        with err_console.status("creating the accounts (an annotator's own server starts in a few seconds)"):
            logins = team.add(emails, role=role, isolation=isolation or team.isolation or "server", reset=reset_password,
                              say=lambda m: err_console.print(m, highlight=False))
        lead = team.lead.connection()
    except FramestanceError as exc:
        fail(str(exc))
    project = settings().project or "PROJECT"
    table = Table(title="send each person their line (the password is shown once; they change it under Account & Settings)")
    for col in ("e-mail", "pseudonym", "log in at", "password", "their work"):
        table.add_column(col)
    for login in logins:
        server = team.server_of(login.email)
        url = (server.connection().url if server else (lead.url if lead else "")) + "/user/login/"
        work = (f"the adjudication project ({project} · adjudication)" if role == "adjudicator"
                else f"their queue: {queue_title(project, login.pseudonym)}")
        table.add_row(login.email, login.pseudonym, url,
                      login.password or "(existing account: unchanged; --reset-password for a new one)", work)
    out_console.print(table)


@annotators_app.command("list")
def annotators_list(home: StudioHome = Path(".studio")) -> None:
    """Every account of the team with its pseudonym (the name in tables and queue titles), role and server."""
    from ..labelstudio.accounts import listing
    from ..labelstudio.team import Team

    team = Team(home)
    try:
        logins = listing(_client(home), home)
    except FramestanceError as exc:
        fail(str(exc))
    table = Table()
    for col in ("e-mail", "pseudonym", "role", "server"):
        table.add_column(col, overflow="fold")  # an e-mail is never cut short
    seen = set()
    for login in logins:
        member = team.members.get(login.email, {})
        table.add_row(login.email, login.pseudonym, member.get("role", "lead" if login.user_id == 1 else "member"), "lead")
        seen.add(login.email)
    for email, member in sorted(team.members.items()):
        if email not in seen and member.get("server"):
            server = team.server_of(email)
            conn = server.studio.connection() if server else None
            table.add_row(email, member["pseudonym"], member["role"], f"own: {conn.url}" if conn and conn.url else "own")
    out_console.print(table)
