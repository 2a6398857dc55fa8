"""One error base for everything a user's input, parameters or environment can cause.

Every stage raises a subclass of `FramestanceError` with a one-line message that names the file,
table or option and the reason; the command line catches this one type and prints that line
(exit code 2), never a traceback. Where the reasons form a closed set, they are an enum next to
the table that records them (`schema.RejectReason` for normalise's rejects).
"""

from __future__ import annotations


class FramestanceError(Exception):
    """A problem the user can fix: the message is one line, naming what and why."""


def one_line(exc: BaseException, limit: int = 300) -> str:
    """Another library's exception as one plain line, for the reason in such a message."""
    return (" ".join(str(exc).split()) or type(exc).__name__)[:limit]


__all__ = ["FramestanceError", "one_line"]
