"""A local PostgreSQL cluster for the team's Label Studio servers (Debian's `postgresql` package).

One cluster per studio home, at `<home>/postgres/`: it listens on a Unix socket only
(`listen_addresses = ''`), so nothing off this machine can reach it, and every connection
authenticates with a password (scram-sha-256). Each server gets a database and a role of its own,
with its own password; passwords reach PostgreSQL on stdin and Label Studio through its
environment, never a command line. The superuser's password is in `<home>/postgres.env` (600).

PostgreSQL refuses to run as root. Run as root, the cluster runs as the `postgres` system user
(created by the Debian package), its folder in that user's home
(`/var/lib/postgresql/framestance/<id>`) with `<home>/postgres` a link to it: the studio home is
owner-only, so that user could not reach a folder inside it.

Passwords never reach PostgreSQL in the clear after `initdb`: roles get a SCRAM-SHA-256 verifier
computed here (`scram_verifier`), so not even a failed statement in PostgreSQL's log shows one.

The migrated schema is made once, in the database `fs_template` (owned by the role `fs_template`),
and every server's database is a copy of it (`CREATE DATABASE ... TEMPLATE`), handed to the
server's own role: about a second, not the 25 s of the migrations.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import shutil
import socket
import subprocess
from pathlib import Path

from ..errors import FramestanceError
from ..io import atomic_write

TEMPLATE_DB = "fs_template"
SUPERUSER = "fsadmin"
_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class PostgresError(FramestanceError, RuntimeError):
    """A clear, one-line problem with the local PostgreSQL."""


#: Where Debian installs PostgreSQL's programs (one folder per major version).
PG_ROOT = Path("/usr/lib/postgresql")


def pg_bin(version: str | None = None) -> Path:
    """The binaries of PostgreSQL `version` (a cluster's PG_VERSION), else the newest installed,
    or one line with the fix."""
    found = sorted(PG_ROOT.glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name)
                   if p.parent.parent.name.isdigit() else 0)
    if version is not None:
        found = [p for p in found if p.parent.parent.name == version]
        if not found:
            raise PostgresError(f"the cluster was made by PostgreSQL {version}, which is not installed: "
                                f"`apt-get install postgresql-{version}` (Debian), then run this again")
    if not found:
        raise PostgresError("PostgreSQL is not installed: `apt-get install postgresql` (Debian), then run this again")
    return found[-1].parent


def scram_verifier(password: str, iterations: int = 4096) -> str:
    """What PostgreSQL stores for a SCRAM-SHA-256 password (RFC 5802/7677): given to ALTER ROLE in
    place of the password, which so never reaches the server."""
    salt = secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(hashlib.sha256(client_key).digest())}:{b64(server_key)}"


def _name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise PostgresError(f"{name!r} cannot name a PostgreSQL database or role here (lower case letters, digits, _)")
    return name


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalPostgres:
    def __init__(self, home: Path | str):
        self.home = Path(home).resolve()
        self.link = self.home / "postgres"
        self.secret_file = self.home / "postgres.env"
        self.as_root = os.geteuid() == 0

    @property
    def data(self) -> Path:
        if self.as_root:
            digest = hashlib.sha256(str(self.home).encode()).hexdigest()[:16]
            return Path("/var/lib/postgresql/framestance") / digest
        return self.link

    # ---- running PostgreSQL's programs -------------------------------------------------------
    def _version(self) -> str | None:
        try:
            return (self.data / "PG_VERSION").read_text().strip()
        except OSError:
            return None

    def _run(self, args: list[str], stdin: str = "", env: dict | None = None, check: str = "") -> subprocess.CompletedProcess:
        cmd = [str(pg_bin(self._version()) / args[0]), *args[1:]]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        base = {k: os.environ[k] for k in ("PATH", "LANG", "LC_ALL") if k in os.environ}
        res = subprocess.run(cmd, input=stdin, env={**base, **(env or {})}, capture_output=True, text=True,
                             cwd="/", umask=0o077)
        if check and res.returncode != 0:
            last = (res.stderr.strip() or res.stdout.strip() or "no output").splitlines()[-1]
            raise PostgresError(f"{check}: {last[:300]}")
        return res

    def settings(self) -> dict[str, str]:
        values = {}
        if self.secret_file.exists():
            for line in self.secret_file.read_text().splitlines():
                if "=" in line and not line.startswith("#"):
                    k, v = line.split("=", 1)
                    values[k] = v
        return values

    def _psql(self, sql: str, database: str = "postgres", what: str = "PostgreSQL") -> str:
        s = self.settings()
        res = self._run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", "-h", str(self.data), "-p", s["PORT"],
                         "-U", SUPERUSER, "-d", database], stdin=sql, env={"PGPASSWORD": s["PASSWORD"]}, check=what)
        return res.stdout

    # ---- the cluster -------------------------------------------------------------------------
    def running(self) -> bool:
        s = self.settings()
        if not s or not (self.data / "PG_VERSION").exists():
            return False
        return self._run(["pg_isready", "-q", "-h", str(self.data), "-p", s["PORT"]]).returncode == 0

    def up(self) -> None:
        """Create the cluster (once) and start it; reuse it when it is running."""
        pg_bin()
        if self.as_root and shutil.which("runuser") is None:
            raise PostgresError("running as root, PostgreSQL needs `runuser` (util-linux) to start as the postgres user")
        if self.running():
            return
        if not (self.data / "PG_VERSION").exists():
            self._init()
        s = self.settings()
        res = self._run(["pg_ctl", "-D", str(self.data), "-l", str(self.data / "server.log"), "-w", "-t", "60", "start"])
        if res.returncode != 0 or not self.running():
            raise PostgresError(f"PostgreSQL did not start on port {s.get('PORT')} (see {self.data / 'server.log'}): "
                                "fix what its log names, then `framestance studio up` again")

    def _init(self) -> None:
        password = secrets.token_hex(24)
        port = str(_free_port())
        if self.as_root:
            self.data.parent.mkdir(parents=True, exist_ok=True)
            shutil.chown(self.data.parent, "postgres", "postgres")
            self.data.parent.chmod(0o700)
        shutil.rmtree(self.data, ignore_errors=True)
        self.data.parent.mkdir(parents=True, exist_ok=True)
        # initdb reads the password from a file (never its command line): owner-only, gone at once
        pwfile = self.data.parent / f".pw-{secrets.token_hex(6)}"
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(password + "\n")
        if self.as_root:
            shutil.chown(pwfile, "postgres", "postgres")
        try:
            self._run(["initdb", "-D", str(self.data), "-U", SUPERUSER, f"--pwfile={pwfile}", "--auth=scram-sha-256",
                       "-E", "UTF8", "--locale=C.UTF-8", "--no-instructions"], check=f"initdb {self.data} failed")
        finally:
            pwfile.unlink(missing_ok=True)
        folder = str(self.data).replace("'", "''")
        conf = (f"\n# framestance: a Unix socket in the data folder only, nothing on the network\n"
                f"listen_addresses = ''\nunix_socket_directories = '{folder}'\nport = {port}\n"
                "max_connections = 200\n")
        with open(self.data / "postgresql.conf", "a") as fh:  # as root too: the file stays the postgres user's
            fh.write(conf)
        if self.as_root and not self.link.is_symlink():
            self.home.mkdir(parents=True, exist_ok=True)
            self.link.symlink_to(self.data)
        atomic_write(self.secret_file, f"# the local PostgreSQL's superuser: secret\nPORT={port}\nPASSWORD={password}\n".encode(),
                     mode=0o600)

    def down(self) -> bool:
        if not self.running():
            return False
        self._run(["pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop"], check="stopping PostgreSQL failed")
        return True

    # ---- databases ----------------------------------------------------------------------------
    def _role(self, name: str, password: str) -> str:
        """SQL that makes role `name` (or keeps it) with `password`'s verifier."""
        verifier = scram_verifier(password)
        return (f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{name}') THEN "
                f"CREATE ROLE {name} LOGIN; END IF; END $$;\nALTER ROLE {name} PASSWORD '{verifier}';\n")

    def template_env(self, password: str) -> dict[str, str]:
        """Make the empty template database and its role (again): `label-studio init` migrates it."""
        self._psql(f"DROP DATABASE IF EXISTS {TEMPLATE_DB};\n" + self._role(TEMPLATE_DB, password)
                   + f"CREATE DATABASE {TEMPLATE_DB} OWNER {SUPERUSER};\n"
                   f"GRANT CREATE ON DATABASE {TEMPLATE_DB} TO {TEMPLATE_DB};\n",  # the migrations add pg_trgm
                   what="creating the template database")
        self._psql(f"GRANT ALL ON SCHEMA public TO {TEMPLATE_DB};\n", database=TEMPLATE_DB, what="creating the template database")
        return self.env(TEMPLATE_DB, password)

    def create(self, name: str, password: str) -> dict[str, str]:
        """Database and role `name`, made afresh from the migrated template (a server's data folder
        is not set up yet when this is called, so whatever an interrupted attempt left is dropped)."""
        name = _name(name)
        self._psql(f"DROP DATABASE IF EXISTS {name};\n" + self._role(name, password)
                   + f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB} OWNER {name};\n", what=f"creating database {name}")
        # the copied tables belong to the template's role: hand them to this server's own
        self._psql(f"REASSIGN OWNED BY {TEMPLATE_DB} TO {name};\nREVOKE ALL ON SCHEMA public FROM {TEMPLATE_DB};\n",
                   database=name, what=f"creating database {name}")
        return self.env(name, password)

    def drop(self, name: str) -> None:
        """Remove database and role `name` (a server whose setting up failed)."""
        name = _name(name)
        self._psql(f"DROP DATABASE IF EXISTS {name};\nDROP ROLE IF EXISTS {name};\n", what=f"dropping database {name}")

    def env(self, name: str, password: str) -> dict[str, str]:
        """What Label Studio reads to use database `name` (its environment, never its command line)."""
        return {"DJANGO_DB": "postgresql", "POSTGRE_NAME": name, "POSTGRE_USER": name, "POSTGRE_PASSWORD": password,
                "POSTGRE_HOST": str(self.data), "POSTGRE_PORT": self.settings()["PORT"]}
