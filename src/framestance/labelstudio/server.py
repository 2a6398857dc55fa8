"""A real local Label Studio server: installed in its own virtual environment, its data under a
git-ignored folder (SQLite, or a database of a local PostgreSQL: postgres.py), started on
127.0.0.1 with telemetry and update checks off.

The server lives in its own virtual environment, `.venv-ls/` (label-studio pinned; its
dependencies never constrain the project's). Layout of the studio home (default `.studio/` in the project folder, git-ignored):

    data/            LABEL_STUDIO_BASE_DATA_DIR: label_studio.sqlite3, media, exports
    template/        an initialised data folder (migrations done) copied by `up` and by tests
    env              LABEL_STUDIO_URL / LABEL_STUDIO_API_KEY / admin login / database password (mode 600)
    database.json    the database: SQLite (absent), or PostgreSQL: the cluster's home and the database
                     name (`up --database postgresql`, see postgres.py; chosen once per home)
    server.pid       the process `up` started; `down` stops only that one
    server.log       the server's output

This module does not import label_studio_sdk: it manages the process, the adapter in
`client.py` talks to it.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import FramestanceError
from ..io import atomic_write
from .postgres import LocalPostgres

LABEL_STUDIO_VERSION = "1.23.2"
DEFAULT_HOME = Path(".studio")
DEFAULT_VENV = Path(".venv-ls")
ADMIN_EMAIL = "admin@framestance.local"


class StudioError(FramestanceError, RuntimeError):
    """A clear, one-line problem with the local server."""


@dataclass
class Connection:
    url: str
    api_key: str
    email: str = ""
    password: str = ""
    managed: bool = False  # from the env file `studio up` wrote (not from LABEL_STUDIO_* variables)
    db_password: str = ""  # the server's own PostgreSQL role's (empty on SQLite)


def server_env(data: Path, conn: Connection) -> dict:
    """A clean environment: settings also read unprefixed names (HOST, PORT, DEBUG ...), so
    nothing from the caller's environment leaks in except what a process needs to run."""
    keep = {k: os.environ[k] for k in ("PATH", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT") if k in os.environ}
    return {
        **keep,
        "HOME": str(data.parent),
        "LABEL_STUDIO_BASE_DATA_DIR": str(data),
        "LATEST_VERSION_CHECK": "false",
        "COLLECT_ANALYTICS": "false",
        "SENTRY_DSN": "",
        "FRONTEND_SENTRY_DSN": "",
        "LABEL_STUDIO_USERNAME": conn.email,
        "LABEL_STUDIO_PASSWORD": conn.password,
        "LABEL_STUDIO_USER_TOKEN": conn.api_key,
        "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
        "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true",
        "PYTHONUNBUFFERED": "1",
    }


class LocalStudio:
    def __init__(self, home: Path | str = DEFAULT_HOME, venv: Path | str | None = None, python: str | None = None):
        self.home = Path(home).resolve()
        self.python = python or sys.executable
        # The server's own venv, shared by every studio home of the project (it is ~1 GB): beside
        # the studio home (the project folder's), else in the working folder.
        beside = self.home.parent / DEFAULT_VENV
        self.venv = Path(venv).resolve() if venv else (beside if beside.exists() else Path(DEFAULT_VENV).resolve())
        self.data = self.home / "data"
        self.template = self.home / "template"
        self.env_file = self.home / "env"
        self.pid_file = self.home / "server.pid"
        self.db_file = self.home / "database.json"
        self.log_file = self.home / "server.log"

    # ---- install ---------------------------------------------------------------------------
    @property
    def exe(self) -> Path:
        return self.venv / "bin" / "label-studio"

    def installed(self) -> bool:
        marker = self.venv / ".installed"
        return self.exe.exists() and marker.exists() and marker.read_text().strip() == LABEL_STUDIO_VERSION

    def install(self, say=print) -> None:
        if self.installed():
            return
        self.home.mkdir(parents=True, exist_ok=True)
        say(f"installing label-studio=={LABEL_STUDIO_VERSION} into {self.venv} (its own venv; about a minute)")
        if not (self.venv / "bin" / "python").exists():
            subprocess.run([self.python, "-m", "venv", str(self.venv)], check=True)
        res = subprocess.run(
            [str(self.venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             f"label-studio=={LABEL_STUDIO_VERSION}"],
            capture_output=True, text=True,
        )
        if res.returncode != 0:
            tail = (res.stderr or res.stdout).strip().splitlines()[-1:] or ["pip failed"]
            raise StudioError(f"installing label-studio failed: {tail[0]}")
        (self.venv / ".installed").write_text(LABEL_STUDIO_VERSION + "\n")

    # ---- the database -------------------------------------------------------------------------
    def database(self) -> dict:
        """{"engine": "sqlite"}, or {"engine": "postgresql", "cluster": <home of the cluster>, "name": ...}."""
        return json.loads(self.db_file.read_text()) if self.db_file.exists() else {"engine": "sqlite"}

    def postgres(self) -> LocalPostgres | None:
        db = self.database()
        return LocalPostgres(db["cluster"]) if db["engine"] == "postgresql" else None

    def use_database(self, engine: str, cluster: Path | None = None, name: str = "fs_lead") -> None:
        """Choose the database of this home, once: a home holding data keeps the one it has."""
        if engine not in ("sqlite", "postgresql"):
            raise StudioError(f"--database {engine!r}: sqlite or postgresql")
        have = self.database()["engine"]
        if have == engine:
            return
        if self.initialised() or self.db_file.exists():
            raise StudioError(f"{self.home} runs on {have}; a studio home keeps its database (use another --home for {engine})")
        if engine == "postgresql":
            self.home.mkdir(parents=True, exist_ok=True)
            atomic_write(self.db_file, json.dumps({"engine": engine, "cluster": str(cluster or self.home),
                                                   "name": name}).encode(), mode=0o600)

    def env(self, conn: Connection, data: Path | None = None) -> dict:
        """The server's environment (server_env), with its PostgreSQL database when it has one."""
        out = server_env(data or self.data, conn)
        pg = self.postgres()
        if pg is not None:
            out.update(pg.env(self.database()["name"], conn.db_password))
        return out

    def initialised(self) -> bool:
        """Does the data folder hold a migrated database (a file, or a PostgreSQL database made for it)?"""
        return (self.data / "label_studio.sqlite3").exists() or (self.data / ".postgres-database").exists()

    def has_template(self) -> bool:
        return (self.template / "label_studio.sqlite3").exists() or (self.template / ".postgres-template").exists()

    def run_program(self, program: str, request: object, secrets_in: list[str], what: str,
                    conn: Connection | None = None, data: Path | None = None) -> Any:
        """Run `program` with the server's own Python and settings (its database: that of `data`,
        default the server's), `request` as JSON on its stdin (never on a command line); it prints
        `FRAMESTANCE-RESULT <json>`. An error names `what` and never a secret."""
        conn = conn or self.connection()
        if conn is None or (data is None and not self.initialised()):
            raise StudioError(f"no Label Studio in {self.home}: run `framestance studio up` first")
        env = {**self.env(conn, data), "DJANGO_SETTINGS_MODULE": "label_studio.core.settings.label_studio"}
        try:
            res = subprocess.run([str(self.venv / "bin" / "python"), "-c", program], input=json.dumps(request),
                                 env=env, capture_output=True, text=True, cwd=self.home, umask=0o077)
        except OSError as exc:
            raise StudioError(f"{what} failed: cannot run Label Studio's Python in {self.venv} ({exc.strerror})") from None
        line = next((ln for ln in res.stdout.splitlines() if ln.startswith("FRAMESTANCE-RESULT ")), None)
        if res.returncode != 0 or line is None:
            last = (res.stderr.strip().splitlines() or ["no output"])[-1]
            for secret in secrets_in:
                last = last.replace(secret, "***")
            raise StudioError(f"{what} failed: {last[:300]}")
        return json.loads(line.split(" ", 1)[1])

    # ---- credentials -------------------------------------------------------------------------
    def connection(self) -> Connection | None:
        if not self.env_file.exists():
            return None
        values = {}
        for line in self.env_file.read_text().splitlines():
            if "=" in line and not line.startswith("#"):
                k, v = line.split("=", 1)
                values[k.strip()] = v.strip()
        return Connection(values.get("LABEL_STUDIO_URL", ""), values.get("LABEL_STUDIO_API_KEY", ""),
                          values.get("LABEL_STUDIO_ADMIN_EMAIL", ""), values.get("LABEL_STUDIO_ADMIN_PASSWORD", ""),
                          db_password=values.get("LABEL_STUDIO_DB_PASSWORD", ""))

    def _write_env(self, conn: Connection) -> None:
        atomic_write(self.env_file, (
            "# Written by `framestance studio up`. Secret: never commit or share this file.\n"
            f"LABEL_STUDIO_URL={conn.url}\nLABEL_STUDIO_API_KEY={conn.api_key}\n"
            f"LABEL_STUDIO_ADMIN_EMAIL={conn.email}\nLABEL_STUDIO_ADMIN_PASSWORD={conn.password}\n"
            + (f"LABEL_STUDIO_DB_PASSWORD={conn.db_password}\n" if conn.db_password else "")
        ).encode(), mode=0o600)

    def _log(self, mode: str):
        """The server log, owner-only (it may name users and projects)."""
        fd = os.open(self.log_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.fchmod(fd, 0o600)
        return os.fdopen(fd, mode)

    # ---- process -----------------------------------------------------------------------------
    def pid(self) -> int | None:
        if not self.pid_file.exists():
            return None
        try:
            pid = int(self.pid_file.read_text().split()[0])
        except (ValueError, IndexError):
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            return None
        # Only the process we started: label-studio on our data folder (a team's servers share the venv).
        return pid if "label-studio" in cmdline and str(self.venv) in cmdline and str(self.data) in cmdline else None

    def healthy(self, url: str, timeout: float = 2.0) -> bool:
        try:
            with urllib.request.urlopen(url.rstrip("/") + "/api/version", timeout=timeout) as r:
                return r.status == 200
        except OSError:
            return False

    def status(self) -> dict:
        conn = self.connection()
        pid = self.pid()
        return {
            "installed": self.installed(),
            "running": pid is not None,
            "pid": pid,
            "url": conn.url if conn else None,
            "healthy": bool(conn and pid and self.healthy(conn.url)),
        }

    @staticmethod
    def free_port() -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    def _init_template(self, conn: Connection) -> None:
        """Run the migrations once (about 25 s) into template/ (on PostgreSQL: into the template
        database), with the admin and its token."""
        if self.has_template():
            return
        pg = self.postgres()
        extra = {}
        if pg is not None:
            pg.up()
            extra = pg.template_env(secrets.token_hex(16))
        tmp = self.home / "template.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        # The admin's e-mail, password and token reach `init` through its environment
        # (LABEL_STUDIO_USERNAME/PASSWORD/USER_TOKEN), which only this user can read, never through
        # its command line, which every user can read in /proc while it runs.
        res = subprocess.run(
            [str(self.exe), "init", f"--data-dir={tmp}"],
            env={**server_env(tmp, conn), **extra}, capture_output=True, text=True, cwd=self.home, umask=0o077,
        )
        if pg is not None and res.returncode == 0:
            (tmp / ".postgres-template").write_text("the migrated schema is PostgreSQL's database fs_template\n")
        if res.returncode != 0 or not ((tmp / "label_studio.sqlite3").exists() or (tmp / ".postgres-template").exists()):
            with self._log("a") as log:  # what init said, minus the secrets
                out = (res.stdout or "") + (res.stderr or "")
                for secret in (conn.password, conn.api_key, extra.get("POSTGRE_PASSWORD", "")):
                    out = out.replace(secret, "***") if secret else out
                log.write(out)
            raise StudioError(f"label-studio init failed with code {res.returncode} (see {self.log_file})")
        os.replace(tmp, self.template)
        owner_only(self.template)

    def kept_port(self) -> int | None:
        """The port of the last start (kept, so that invite links and bookmarks keep working)."""
        conn = self.connection()
        if conn and conn.url:
            try:
                return int(conn.url.rsplit(":", 1)[1].split("/")[0])
            except (IndexError, ValueError):
                return None
        return None

    def up(self, port: int | None = None, timeout: float = 120.0, say=print, database: str | None = None,
           avoid: frozenset[int] = frozenset()) -> Connection:
        """Start the server (installing it first if needed); reuse it when it is already up.

        The port is the one given, else the one of the last start, else a free one. `database`
        (sqlite, postgresql) is chosen at the first start; PostgreSQL is started first. A new port is
        never one of `avoid` (ports other servers of the team keep while they are down)."""
        if database:
            self.use_database(database)
        pg = self.postgres()
        if pg is not None:
            pg.up()
        conn = self.connection()
        if conn and self.pid() and self.healthy(conn.url):
            owner_only(self.home)
            if port is not None and conn.url != f"http://127.0.0.1:{port}":
                raise StudioError(f"Label Studio is already up at {conn.url}; run `framestance studio down` to move it to port {port}")
            return conn
        self.install(say=say)
        if conn is None or not conn.api_key:
            conn = Connection("", secrets.token_hex(20), ADMIN_EMAIL, secrets.token_hex(16),
                              db_password=secrets.token_hex(16) if pg is not None else "")
        if (self.home / "pyproject.toml").exists() or (self.home / ".git").exists():
            raise StudioError(f"{self.home}: a project folder, not a studio home; pass a folder of its own (.studio)")
        kept = self.kept_port()
        port = port or kept or self.free_port()
        while port in avoid and port != kept:
            port = self.free_port()
        if not _port_free(port):  # before init: a refused start leaves no database without its env file
            why = "kept from the last start" if port == kept else "asked for"
            raise StudioError(f"port {port} ({why}) is taken by another program; pass --port to choose another")
        self.home.mkdir(parents=True, exist_ok=True)
        conn.url = f"http://127.0.0.1:{port}"
        if not self.initialised():
            self._init_template(conn)
            shutil.rmtree(self.data, ignore_errors=True)
            shutil.copytree(self.template, self.data, symlinks=True)
            if pg is not None:
                (self.data / ".postgres-template").unlink()
                pg.create(self.database()["name"], conn.db_password)
                (self.data / ".postgres-database").write_text(f"database {self.database()['name']}\n")
            self._write_env(conn)  # the token the new database holds is on record from now on
        # The SQLite database holds every API token: owner-only, and so is all the server writes.
        owner_only(self.home)
        log = self._log("ab")  # the server process keeps it open
        proc = subprocess.Popen(
            [str(self.exe), "start", "--no-browser", "--internal-host", "127.0.0.1", "-p", str(port),
             "--data-dir", str(self.data)],
            env=self.env(conn), stdout=log, stderr=subprocess.STDOUT, cwd=self.home,
            start_new_session=True, umask=0o077,
        )
        self.pid_file.write_text(f"{proc.pid}\n")
        deadline = time.monotonic() + timeout
        wanted = f"Starting development server at http://127.0.0.1:{port}/"
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise StudioError(f"label-studio exited with code {proc.returncode} (see {self.log_file})")
            if self.healthy(conn.url, timeout=1.0):
                text = self.log_file.read_text(errors="replace")
                if "is in use" in text[-4000:] and wanted not in text[-4000:]:
                    self._stop(proc.pid)
                    raise StudioError(f"port {port} is taken; try again or pass --port")
                self._write_env(conn)
                return conn
            time.sleep(0.5)
        self._stop(proc.pid)
        raise StudioError(f"label-studio did not become healthy within {timeout:.0f} s (see {self.log_file})")

    def _stop(self, pid: int) -> None:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        for _ in range(100):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
                if done:
                    break
            except ChildProcessError:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
            time.sleep(0.05)
        else:
            os.kill(pid, signal.SIGKILL)

    def down(self) -> bool:
        """Stop the server this folder started; True when one was running."""
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        self._stop(pid)
        self.pid_file.unlink(missing_ok=True)
        return True


def owner_only(folder: Path) -> None:
    """Folders 700, files 600 under `folder` (the venv is not under it; PostgreSQL keeps its own
    cluster's modes, 700 from initdb)."""
    folder.chmod(0o700)
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not (root == str(folder) and d == "postgres") and not os.path.islink(os.path.join(root, d))]
        for d in dirs:
            os.chmod(os.path.join(root, d), 0o700, follow_symlinks=False)
        for f in files:
            path = os.path.join(root, f)
            if not os.path.islink(path):
                os.chmod(path, 0o600)


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        # as the server binds (SO_REUSEADDR): connections of a stopped server in TIME_WAIT do not count
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def connection_from_env(home: Path | str = DEFAULT_HOME) -> Connection:
    """LABEL_STUDIO_URL / LABEL_STUDIO_API_KEY from the environment, else from the studio env file."""
    url, key = os.environ.get("LABEL_STUDIO_URL"), os.environ.get("LABEL_STUDIO_API_KEY")
    if url and key:
        return Connection(url, key)
    conn = LocalStudio(home).connection()
    if conn and conn.url and conn.api_key:
        return Connection(url or conn.url, key or conn.api_key, managed=not (url or key))
    raise StudioError(
        "no Label Studio configured: set LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY, or run `framestance studio up`"
    )
