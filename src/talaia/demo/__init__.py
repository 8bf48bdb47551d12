"""The demo country generator (see :mod:`talaia.demo.generator` for the output and the truth).

Public API: :func:`generate` → :class:`GenerationResult`; :data:`DEMO_SECRET` and
:func:`person_key` (the demo's pseudonymization, HMAC-SHA256 of the cédula);
:data:`talaia.demo.formats.RAW_LABELS` / ``RAW_COLUMNS`` (how each agency writes its files).
"""

from talaia.demo.generator import (
    DEFAULT_SEED,
    DEFAULT_YEARS,
    SOURCES,
    GenerationResult,
    SourceSummary,
    generate,
)
from talaia.demo.sources import DEMO_SECRET, person_key

__all__ = [
    "DEFAULT_SEED",
    "DEFAULT_YEARS",
    "DEMO_SECRET",
    "SOURCES",
    "GenerationResult",
    "SourceSummary",
    "generate",
    "person_key",
]
