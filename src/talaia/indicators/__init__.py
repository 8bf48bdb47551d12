"""Crime and violence indicators: definitions as data, one SQL engine, coverage, statistics.

- :func:`catalogue` / :func:`get_indicator`: the built-in definitions (YAML files in
  ``talaia/indicators/catalogue/``, validated by :mod:`talaia.indicators.definitions`).
- :func:`compute`: run one indicator on the DuckDB warehouse -> ``pyarrow.Table``.
- :mod:`talaia.indicators.validation`: rules across sources and outliers before publishing.
- :mod:`talaia.indicators.export`: CSV and XLSX (with a metadata sheet).

Emergency (911) indicators are not defined yet: the warehouse has no call fact table.
"""

from talaia.indicators.definitions import Indicator, catalogue, get_indicator
from talaia.indicators.engine import compute, provenance
from talaia.indicators.sql import NATIONAL

__all__ = ["NATIONAL", "Indicator", "catalogue", "compute", "get_indicator", "provenance"]
