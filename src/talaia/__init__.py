"""Talaia: open platform for public-security management and crime & violence observatories."""

import os as _os

__version__ = "0.1.0"

# Arrow's memory pool: the C library's allocator rather than pyarrow's default (mimalloc), unless
# the environment chooses one. Ingestion allocates and frees hundreds of megabytes per chunk;
# mimalloc hands freed pages back to the system at once and takes fresh zeroed (huge) pages the
# next time, and that page zeroing was about a tenth of an ingestion's CPU. With the C library's
# allocator a 1M-row police file took 10-15% less time (benchmarks/ingest_speed.py, alternating
# runs). Arrow reads the variable once, when pyarrow is first loaded: this package's modules
# import pyarrow only after this line has run.
_os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
