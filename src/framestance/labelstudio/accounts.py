"""Annotator accounts on the Label Studio server: who may annotate, and how they log in.

Label Studio Community's API creates a user but ignores a password (so nobody could log in as
that user), and its command line takes passwords as arguments, which every user of the machine can
read in /proc. So, for the server `studio up` runs, accounts are made by a short Django program run
with the server's own Python and settings, reading e-mails and passwords from its stdin: each new
annotator gets a random initial password, printed once and stored nowhere. For a server configured
through LABEL_STUDIO_URL (not ours to run programs on), people join through the organisation's
invite link and choose their own password.

Every account is a member of the server's one organisation: Community has no roles, so an annotator
can open any project of the organisation in the browser (README, "Annotating with a team").
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from ..errors import FramestanceError
from ..pseudonym import Pseudonymiser
from .client import Client
from .server import LocalStudio

_EMAIL_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789.!#$%&'*+/=?^_`{|}~-@")


class AnnotatorError(FramestanceError, ValueError):
    pass


@dataclass
class Login:
    email: str
    pseudonym: str
    user_id: int
    created: bool
    password: str = ""  # only for a new account (or a reset): shown once, stored nowhere


# Runs inside the server's venv: Django's own user manager hashes the password.
_PROGRAM = r"""
import json, os, pathlib, sys
import label_studio
sys.path.insert(0, str(pathlib.Path(label_studio.__file__).parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "label_studio.core.settings.label_studio")
import django
django.setup()
from organizations.models import Organization
from users.models import User
org = Organization.objects.order_by("id").first()
out = []
for item in json.load(sys.stdin):
    user = User.objects.filter(email__iexact=item["email"]).first()
    created = user is None
    if created:
        user = User.objects.create_user(email=item["email"], password=item["password"])
    elif item["reset"]:
        user.set_password(item["password"])
        user.save()
    org.add_user(user)
    if user.active_organization_id is None:
        user.active_organization = org
        user.save(update_fields=["active_organization"])
    out.append({"email": user.email, "id": user.id, "created": created})
print("FRAMESTANCE-RESULT " + json.dumps(out))
"""


def check_emails(emails: list[str]) -> list[str]:
    out = []
    for e in emails:
        e = e.strip().lower()
        if not e:
            continue
        local, at, domain = e.partition("@")
        if not (local and at and "." in domain and set(e) <= _EMAIL_CHARS and e.count("@") == 1):
            raise AnnotatorError(f"{e!r} is not an e-mail address")
        out.append(e)
    if not out:
        raise AnnotatorError("no e-mail addresses given")
    return sorted(set(out))


def add_local(studio: LocalStudio, emails: list[str], reset: bool = False, pseudo_home: Path | None = None,
              by_email: bool = False) -> list[Login]:
    """Create accounts (or, with `reset`, new passwords) on a server `studio up` runs. Pseudonyms
    come from the key in `pseudo_home` (default: the server's own home), of the e-mail with
    `by_email` (an annotator's own server, see team.py)."""
    emails = check_emails(emails)
    passwords = {e: secrets.token_urlsafe(12) for e in emails}
    request = [{"email": e, "password": passwords[e], "reset": reset} for e in emails]
    made = studio.run_program(_PROGRAM, request, list(passwords.values()), "creating the accounts")
    pseudo = Pseudonymiser.of_home(pseudo_home or studio.home)
    out = []
    for item in made:
        e = item["email"].lower()
        shown = passwords[e] if (item["created"] or reset) else ""
        name = pseudo.of_email(e) if by_email else pseudo.of({"id": item["id"], "email": e})
        out.append(Login(e, name, item["id"], item["created"], shown))
    pseudo.save()
    return out


def listing(client: Client, home: Path) -> list[Login]:
    """Every user of the server with their pseudonym (the admin included)."""
    pseudo = Pseudonymiser.of_home(home)
    out = [Login(e, pseudo.of({"id": uid, "email": e}), uid, False) for e, uid in sorted(client.users().items())]
    pseudo.save()
    return out


def is_local(home: Path) -> bool:
    """Do commands talk to the server `studio up` runs from `home` (not one named in the environment)?"""
    return not os.environ.get("LABEL_STUDIO_URL") and LocalStudio(home).connection() is not None
