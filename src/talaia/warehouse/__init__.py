"""talaia.warehouse: the DuckDB analytics tables built from the store (docs/contracts.md §6)."""

from talaia.warehouse.build import FACTS, TABLES, WarehouseResult, rebuild, refresh, table

__all__ = ["FACTS", "TABLES", "WarehouseResult", "rebuild", "refresh", "table"]
