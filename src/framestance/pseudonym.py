"""Annotators' pseudonyms: the one place a Label Studio user becomes `ann-<12 hex>`.

A pseudonym is HMAC-SHA256 of the user's server id (of the e-mail for an annotator on a server of
their own, `labelstudio/team.py`), keyed by a secret kept out of git
(`<studio home>/pseudonym.key`, mode 600, or FRAMESTANCE_PSEUDONYM_KEY), so it is stable across
pulls and projects and cannot be reversed without the key. The pseudonym -> e-mail mapping is kept
beside the key (`annotators.json`, mode 600, git-ignored) for the team lead, never in a snapshot.
Push titles per-annotator projects with it, pull writes it into every table.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import tempfile
from pathlib import Path

from .io import atomic_write
from .schema import PSEUDONYM


def is_pseudonym(user: object) -> bool:
    return isinstance(user, str) and re.fullmatch(PSEUDONYM, user) is not None


class Pseudonymiser:
    """Stable pseudonyms: HMAC-SHA256 of the Label Studio user, keyed by a secret kept out of git."""

    @classmethod
    def of_home(cls, home: Path) -> Pseudonymiser:
        return cls(Path(home) / "pseudonym.key", Path(home) / "annotators.json")

    def __init__(self, key_file: Path, mapping_file: Path):
        self.key_file, self.mapping_file = key_file, mapping_file
        env = os.environ.get("FRAMESTANCE_PSEUDONYM_KEY")
        if env:
            self.key = env.encode()
        else:
            if not key_file.exists():
                # written whole to a file of its own, then linked into place: the link appears with its
                # content or not at all, so a second process at the same moment reads the same key, never
                # an empty file, and never writes another
                key_file.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=key_file.parent, prefix=f".{key_file.name}.")
                try:
                    with os.fdopen(fd, "w") as fh:
                        fh.write(secrets.token_hex(32) + "\n")
                    os.chmod(tmp, 0o600)
                    try:
                        os.link(tmp, key_file)
                    except FileExistsError:
                        pass  # another process made it first: theirs is the key
                finally:
                    os.unlink(tmp)
            self.key = key_file.read_text().strip().encode()
        self.mapping: dict[str, str] = {}
        if mapping_file.exists():
            self.mapping = json.loads(mapping_file.read_text())

    def __call__(self, user: dict | int | None) -> str | None:
        return None if user is None else self.of(user)

    def of(self, user: dict | int) -> str:
        """The pseudonym of a user: an id, or a {id, email, ...} object as exports give it."""
        uid = user.get("id") if isinstance(user, dict) else user
        email = user.get("email", "") if isinstance(user, dict) else ""
        name = "ann-" + hmac.new(self.key, f"user:{uid}".encode(), hashlib.sha256).hexdigest()[:12]
        if email or name not in self.mapping:
            self.mapping[name] = email or f"user {uid}"
        return name

    def of_email(self, email: str) -> str:
        """The pseudonym of an account on a server of its own (isolated team: every such server
        numbers its users from 1, so the id names nobody; the e-mail does)."""
        email = email.strip().lower()
        name = "ann-" + hmac.new(self.key, f"email:{email}".encode(), hashlib.sha256).hexdigest()[:12]
        self.mapping[name] = email
        return name

    def save(self) -> None:
        atomic_write(self.mapping_file, json.dumps(dict(sorted(self.mapping.items())), indent=1).encode(), mode=0o600)
