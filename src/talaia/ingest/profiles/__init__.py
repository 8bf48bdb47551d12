"""Source profiles shipped with Talaia (the demo country's agencies, in ``demo/``)."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent


def find_profile(source: str) -> Path | None:
    """Path of the shipped profile of ``source`` (``demo/<source>.yaml``), if any."""
    p = HERE / "demo" / f"{source}.yaml"
    return p if p.exists() else None
