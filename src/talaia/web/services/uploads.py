"""File uploads through the ingestion pipeline (:mod:`talaia.ingest`), when it is installed."""

from __future__ import annotations


def ingest_available() -> bool:
    """True when :mod:`talaia.ingest` offers a function to ingest one file for a source."""
    try:
        import talaia.ingest as ingest
    except ImportError:  # pragma: no cover
        return False
    return hasattr(ingest, "ingest_file")
