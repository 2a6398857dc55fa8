"""The `framestance` command line: one thin module per stage, shared parts in `_app.py`.

Each command parses its options, calls its stage and renders what the stage reports. User
mistakes end with one red line naming the file and the reason (exit code 2), never a traceback;
bad inputs inside a batch are reported one line each and the batch goes on.
"""

# isort: skip_file
# Importing a command module registers its commands; this order is the order of `--help`.
from ._app import app
from . import init, normalise, select, codebook, studio, annotators, push, pull, quality, adjudicate, suggest, publish  # noqa: F401


def main() -> None:  # pragma: no cover - console script wrapper
    app()


__all__ = ["app", "main"]
