"""The servers of a team: the lead's, and, when annotators are isolated, one server per annotator.

Label Studio Community has no roles: every member of an organisation can list, open and overwrite
every project of it. Two ways to hold a team, chosen once per studio home (`annotators add
--isolation`):

    server    every annotator gets a Label Studio of their own (own database, port, secret key,
              admin token and login) holding only their queue. Their login and token are valid
              on that server alone, so no path leads to anyone else's work. Adjudicators and
              the lead work on the lead's server, which no annotator has an account on.
    project   every annotator has an account on the lead's server and a project of their own
              there; blindness is a convention (README, "Annotating with a team").

Layout of the studio home (besides the lead server's, see server.py):

    team.json             isolation, and every member: e-mail, role (annotator or adjudicator),
                          pseudonym, server number (mode 600, git-ignored: it names people)
    team/<pseudonym>/     an annotator's own server home (data/, env, server.pid, server.log, and
                          database.json on PostgreSQL: its database and role in the lead's cluster)

An annotator's server is a copy of the lead's migrated template (a start in about 3 s, not the
25 s of the migrations) given a new secret key, a new admin password and a new admin token
before it first starts. Its users are pseudonymised by e-mail (each server numbers its users
from 1); its task and annotation ids are numbered `n * ID_BLOCK + id` in snapshots, n being the
server's number, so that ids stay unique across the team.
"""

from __future__ import annotations

import json
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..errors import FramestanceError
from ..io import atomic_write
from ..pseudonym import Pseudonymiser
from .accounts import Login, add_local, check_emails
from .server import ADMIN_EMAIL, Connection, LocalStudio, StudioError, owner_only

ISOLATIONS = ("server", "project")
ROLES = ("annotator", "adjudicator")
LEAD = "lead"
#: Snapshot ids of server n are n * ID_BLOCK + the server's own id (a local server stays far below).
ID_BLOCK = 10**9

# Runs inside the server's venv, with the new secrets on stdin: the copied template's admin gets a
# password and token of this server's own.
_REKEY = r"""
import json, os, pathlib, sys
import label_studio
sys.path.insert(0, str(pathlib.Path(label_studio.__file__).parent))
import django
django.setup()
from rest_framework.authtoken.models import Token
from users.models import User
item = json.load(sys.stdin)
admin = User.objects.get(email__iexact=item["email"])
admin.set_password(item["password"])
admin.save()
Token.objects.filter(user=admin).delete()
Token.objects.create(user=admin, key=item["token"])
print("FRAMESTANCE-RESULT " + json.dumps({"admin": admin.id}))
"""


class TeamError(FramestanceError, ValueError):
    pass


@dataclass(frozen=True)
class Server:
    name: str  # LEAD, or the pseudonym of the annotator whose server it is
    studio: LocalStudio
    number: int  # 0 for the lead; ids in snapshots are number * ID_BLOCK + id

    def connection(self) -> Connection:
        conn = self.studio.connection()
        if conn is None or not conn.url:
            raise TeamError(f"the server of {self.name} ({self.studio.home}) was never started: run `framestance studio up`")
        return conn


class Team:
    def __init__(self, home: Path | str, venv: Path | str | None = None):
        self.lead = LocalStudio(home, venv=venv)
        self.home = self.lead.home
        self.file = self.home / "team.json"
        data = json.loads(self.file.read_text()) if self.file.exists() else {}
        self.isolation: str | None = data.get("isolation")
        self.members: dict[str, dict] = data.get("members", {})

    def save(self) -> None:
        atomic_write(self.file, json.dumps({"isolation": self.isolation, "members": dict(sorted(self.members.items()))},
                                           indent=1, sort_keys=True).encode(), mode=0o600)

    # ---- who is who -------------------------------------------------------------------------
    @property
    def isolated(self) -> bool:
        return self.isolation == "server"

    def emails(self, role: str) -> list[str]:
        return sorted(e for e, m in self.members.items() if m["role"] == role)

    def member_servers(self) -> list[Server]:
        return [Server(m["pseudonym"], LocalStudio(self.home / m["server"], venv=self.lead.venv), m["number"])
                for _e, m in sorted(self.members.items(), key=lambda kv: kv[1].get("number", 0)) if m.get("server")]

    def servers(self) -> list[Server]:
        """The lead's server, then every annotator's own, in the order they were added."""
        return [Server(LEAD, self.lead, 0), *self.member_servers()]

    def server_of(self, email: str) -> Server | None:
        m = self.members.get(email.strip().lower())
        if not m or not m.get("server"):
            return None
        return Server(m["pseudonym"], LocalStudio(self.home / m["server"], venv=self.lead.venv), m["number"])

    # ---- adding people ------------------------------------------------------------------------
    def add(self, emails: list[str], role: str = "annotator", isolation: str = "server", reset: bool = False,
            say=print) -> list[Login]:
        """Accounts for `emails`: adjudicators on the lead's server; annotators on servers of their
        own (`server`) or on the lead's (`project`). The lead's server must have been started."""
        if role not in ROLES:
            raise TeamError(f"--role {role!r}: one of {', '.join(ROLES)}")
        if isolation not in ISOLATIONS:
            raise TeamError(f"--isolation {isolation!r}: one of {', '.join(ISOLATIONS)}")
        emails = check_emails(emails)
        for e in emails:
            had = self.members.get(e)
            if had and had["role"] != role:
                raise TeamError(f"{e} is already an {had['role']} of this team: an annotator never adjudicates "
                                "their own disputes; use another address")
        if role == "annotator":
            if self.isolation and self.isolation != isolation:
                raise TeamError(f"this team's annotators work {'on servers of their own' if self.isolated else 'in projects on the lead server'} "
                                f"(--isolation {self.isolation}); one team cannot mix both")
            self.isolation = isolation
        if self.lead.connection() is None or not self.lead.has_template():
            raise TeamError(f"no Label Studio in {self.home}: run `framestance studio up` first")
        if role == "adjudicator" or isolation == "project":
            logins = add_local(self.lead, emails, reset=reset)
            for login in logins:
                self.members[login.email] = {"role": role, "pseudonym": login.pseudonym, "server": None, "number": 0}
            self.save()
            return logins
        out = []
        pseudo = Pseudonymiser.of_home(self.home)
        for e in emails:
            name = pseudo.of_email(e)
            number = self.members.get(e, {}).get("number") or 1 + max((m.get("number", 0) for m in self.members.values()), default=0)
            folder = Path("team") / name
            studio = LocalStudio(self.home / folder, venv=self.lead.venv)
            self._provision(studio)
            self.members[e] = {"role": role, "pseudonym": name, "server": str(folder), "number": number}
            self.save()  # the server is on record before it starts: `studio down` finds it
            say(f"starting the server of {name}")
            studio.up(say=say, avoid=self.kept_ports())
            out += add_local(studio, [e], reset=reset, pseudo_home=self.home, by_email=True)
        pseudo.save()
        return out

    def _provision(self, studio: LocalStudio) -> None:
        """A new annotator's server: the lead's migrated template with secrets of its own."""
        if studio.initialised():
            return
        studio.home.mkdir(parents=True, exist_ok=True)
        studio.home.parent.chmod(0o700)  # team/: its folder names are pseudonyms, owner-only like the rest
        lead_db = self.lead.database()
        if lead_db["engine"] == "postgresql":  # a database and a role of its own in the lead's cluster
            studio.use_database("postgresql", cluster=Path(lead_db["cluster"]), name="fs_" + studio.home.name.replace("-", "_"))
        pg = studio.postgres()
        name = studio.database().get("name", "")
        tmp = studio.home / "data.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(self.lead.template, tmp, symlinks=True)
        # Django signs sessions and CSRF tokens with SECRET_KEY: never the lead's
        atomic_write(tmp / ".env", f"SECRET_KEY={secrets.token_urlsafe(50)}\n".encode(), mode=0o600)
        conn = Connection("", secrets.token_hex(20), ADMIN_EMAIL, secrets.token_hex(16),
                          db_password=secrets.token_hex(16) if pg is not None else "")
        studio._write_env(conn)  # before the database holds these secrets: they are never lost
        owner_only(studio.home)
        # The admin gets this server's own password and token while the data is still `data.tmp`:
        # only a server that holds secrets of its own becomes `data` (an interrupted attempt is redone).
        try:
            if pg is not None:
                pg.up()
                (tmp / ".postgres-template").unlink()
                pg.create(name, conn.db_password)
                (tmp / ".postgres-database").write_text(f"database {name}\n")
            studio.run_program(_REKEY, {"email": ADMIN_EMAIL, "password": conn.password, "token": conn.api_key},
                               [conn.password, conn.api_key], "giving the new server its own admin login",
                               conn=conn, data=tmp)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            if pg is not None:
                try:
                    pg.drop(name)
                except FramestanceError:
                    pass  # `create` drops it again on the next attempt
            raise
        shutil.rmtree(studio.data, ignore_errors=True)  # never set up: whatever is there holds nothing
        tmp.rename(studio.data)

    # ---- processes ----------------------------------------------------------------------------
    def up(self, port: int | None = None, say=print, database: str | None = None) -> dict[str, Connection]:
        """Start the lead's server (and its PostgreSQL), then every annotator's own (running ones are reused)."""
        out = {LEAD: self.lead.up(port=port, say=say, database=database, avoid=self.kept_ports())}
        for server in self.member_servers():
            out[server.name] = server.studio.up(say=say, avoid=self.kept_ports())
        return out

    def kept_ports(self) -> frozenset[int]:
        """The ports every server of the team keeps across restarts (a new server takes none of them)."""
        return frozenset(p for s in self.servers() if (p := s.studio.kept_port()) is not None)

    def down(self) -> list[str]:
        """Stop exactly the servers this home started, then its PostgreSQL: the names of those that were running."""
        stopped = [s.name for s in reversed(self.servers()) if s.studio.down()]
        pg = self.lead.postgres()
        if pg is not None and pg.down():
            stopped.append("postgresql")
        return stopped

    def status(self) -> dict[str, dict]:
        return {s.name: s.studio.status() for s in self.servers()}

    def check_up(self) -> None:
        """Every server of the team answers, or one line names the first that does not."""
        for s in self.servers():
            conn = s.studio.connection()
            if conn is None or not conn.url or not s.studio.healthy(conn.url):
                raise StudioError(f"the server of {s.name} ({conn.url if conn and conn.url else s.studio.home}) is not "
                                  "running: `framestance studio up` starts the whole team")
