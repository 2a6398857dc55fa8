"""`framestance codebook`: check the codebook and generate the labeling config from it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ._app import (
    _codebook,
    app,
    fail,
    out_console,
)


@app.command()
def codebook(
    path: Annotated[Optional[Path], typer.Option("--codebook", help="Codebook YAML (default: params.yaml study.codebook).")] = None,
    out: Annotated[Path, typer.Option(help="Where the generated labeling config is written for review.")] = Path("schemas/labeling_config.xml"),
    check: Annotated[bool, typer.Option("--check", help="Only check that OUT is up to date (exit 1 when stale).")] = False,
) -> None:
    """Validate the codebook and (re)generate the Label Studio labeling config from it."""
    from ..labelstudio.interface import check_config, labeling_config

    cb = _codebook(path)
    xml = labeling_config(cb)
    try:
        check_config(xml)
    except Exception as exc:
        fail(f"the generated labeling config is invalid: {exc}")
    if check:
        if not out.exists() or out.read_text(encoding="utf-8") != xml:
            fail(f"{out} is stale: run `framestance codebook` to regenerate it from {cb.source}", code=1)
        out_console.print(f"{out} is up to date with {cb.source}", highlight=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(xml, encoding="utf-8")
    out_console.print(
        f"codebook {cb.name} v{cb.version}: {len(cb.frames)} frames, {len(cb.tone)} tones, {len(cb.targets)} stance targets "
        f"-> {out}", highlight=False)
