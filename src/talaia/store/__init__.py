"""talaia.store: the system of record (SQLAlchemy 2 on SQLite or PostgreSQL; Alembic).

Modules
-------
database
    ``get_engine(url=None)``, ``upgrade(engine)`` (migrations shipped in ``migrations/``),
    ``bulk_connect`` / ``read_arrow`` (Arrow reads and writes).
models
    The tables of docs/contracts.md §4 (typed ``Mapped[...]`` models).
batches
    ``write_batch(engine, BatchPayload) -> BatchResult``: one transaction per delivery,
    supersession of the same source and period, referential checks.
canonical
    ``load_reference(engine, out_dir)``, ``load_canonical_tree(engine, out_dir, progress)``.
status
    ``source_months(engine, source_code=None)``: expected / delivered / rows per month.
"""
