"""CLI commands: the store and the warehouse.

``talaia init`` (data folder, store, migrations, warehouse), ``talaia db upgrade``,
``talaia warehouse refresh|rebuild``, ``talaia status`` (per source and month: delivered,
missing or unexpected, with the rows; a missing month is shown as missing, never 0) and
``talaia sources list|set-expected`` (which months a source must deliver). Texts in
English and Spanish (``TALAIA_LANGUAGE``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from talaia.errors import NotFoundError, UserInputError

_T = {
    "en": {
        "init": "Create the data folder, the store (migrated) and the warehouse.",
        "db": "The store (system of record).",
        "upgrade": "Migrate the store's schema to the newest version.",
        "wh": "The analytics warehouse (DuckDB).",
        "refresh": "Update the warehouse incrementally from the store's batches.",
        "rebuild": "Rebuild every warehouse table from the store.",
        "status": "Deliveries per source and month: delivered, missing, rows.",
        "store": "Store",
        "warehouse": "Warehouse",
        "schema": "schema version",
        "building": "Building the warehouse",
        "added": "batches added",
        "removed": "batches removed",
        "source": "Source",
        "month": "Month",
        "state": "State",
        "rows": "Rows",
        "batch": "Batch",
        "delivered": "delivered",
        "missing": "missing",
        "unexpected": "unexpected",
        "no_sources": "No sources registered.",
        "summary": "{source}: {d} delivered, {m} missing",
        "unknown_source": "source {source!r} is not registered",
        "sources": "Registered sources and the months each is expected to deliver.",
        "sources_list": "List the sources, their expected months and current batches.",
        "set_expected": "Set the months a source must deliver (YYYY-MM; no --to: open).",
        "agency": "Agency",
        "kind": "Kind",
        "expected": "Expected",
        "batches": "Batches",
        "open": "open",
        "expected_set": "{source}: expected {a} to {b}",
    },
    "es": {
        "init": "Crear la carpeta de datos, el almacén (migrado) y el data warehouse.",
        "db": "El almacén (sistema de registro).",
        "upgrade": "Migrar el esquema del almacén a la versión más reciente.",
        "wh": "El data warehouse analítico (DuckDB).",
        "refresh": "Actualizar el data warehouse de forma incremental desde los lotes.",
        "rebuild": "Reconstruir todas las tablas del data warehouse desde el almacén.",
        "status": "Entregas por fuente y mes: entregado, faltante, filas.",
        "store": "Almacén",
        "warehouse": "Data warehouse",
        "schema": "versión del esquema",
        "building": "Construyendo el data warehouse",
        "added": "lotes añadidos",
        "removed": "lotes retirados",
        "source": "Fuente",
        "month": "Mes",
        "state": "Estado",
        "rows": "Filas",
        "batch": "Lote",
        "delivered": "entregado",
        "missing": "faltante",
        "unexpected": "no esperado",
        "no_sources": "No hay fuentes registradas.",
        "summary": "{source}: {d} entregados, {m} faltantes",
        "unknown_source": "la fuente {source!r} no está registrada",
        "sources": "Fuentes registradas y los meses que cada una debe entregar.",
        "sources_list": "Listar las fuentes, sus meses esperados y sus lotes vigentes.",
        "set_expected": "Fijar los meses que debe entregar una fuente (AAAA-MM; sin --to: abierto)",
        "agency": "Institución",
        "kind": "Tipo",
        "expected": "Esperado",
        "batches": "Lotes",
        "open": "abierto",
        "expected_set": "{source}: esperado de {a} a {b}",
    },
}


def _t(key: str) -> str:
    from talaia.settings import get_settings

    lang = get_settings().language
    return _T.get(lang, _T["en"])[key]


def _h(key: str) -> str:
    """Help text in both languages (Typer builds help once, at import)."""
    return f"{_T['en'][key]} / {_T['es'][key]}"


@contextmanager
def _progress(label: str) -> Iterator[object]:
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int, _label: str) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _store():  # type: ignore[no-untyped-def]
    """The store's engine; a one-line error when it is not initialized or not up to date."""
    from talaia.store.database import current_revision, get_engine, head_revision

    engine = get_engine()
    if current_revision(engine) != head_revision():
        raise UserInputError(
            "the store is not initialized or not up to date: run `talaia init` / "
            "el almacén no está inicializado o actualizado: ejecute `talaia init`"
        )
    return engine


def _refresh(rebuild: bool) -> None:
    from talaia import warehouse
    from talaia.store.database import get_engine

    engine = get_engine()
    with _progress(_t("building")) as update:
        fn = warehouse.rebuild if rebuild else warehouse.refresh
        res = fn(engine, None, progress=update)  # type: ignore[operator]
    console = Console()
    console.print(
        f"{_t('warehouse')}: {res.path} — {_t('added')}: {len(res.added)}, "
        f"{_t('removed')}: {len(res.removed)}"
    )
    for name, n in res.rows.items():
        console.print(f"  {name}: {n:,}")


def register(app: typer.Typer) -> None:
    """Add ``init``, ``db``, ``warehouse`` and ``status`` to the main application."""
    db = typer.Typer(help=_h("db"), no_args_is_help=True)
    wh = typer.Typer(help=_h("wh"), no_args_is_help=True)

    @app.command("init", help=_h("init"))
    def init() -> None:
        from talaia.settings import get_settings
        from talaia.store.database import current_revision, get_engine, upgrade

        settings = get_settings()
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = get_engine()
        upgrade(engine)
        Console().print(
            f"{_t('store')}: {engine.url.render_as_string()} "
            f"({_t('schema')} {current_revision(engine)})"
        )
        _refresh(rebuild=False)

    @db.command("upgrade", help=_h("upgrade"))
    def db_upgrade() -> None:
        from talaia.store.database import current_revision, get_engine, upgrade

        engine = get_engine()
        upgrade(engine)
        Console().print(f"{_t('store')}: {_t('schema')} {current_revision(engine)}")

    @wh.command("refresh", help=_h("refresh"))
    def wh_refresh() -> None:
        _refresh(rebuild=False)

    @wh.command("rebuild", help=_h("rebuild"))
    def wh_rebuild() -> None:
        _refresh(rebuild=True)

    @app.command("status", help=_h("status"))
    def status(
        source: str = typer.Option(None, "--source", help="Only this source / solo esta fuente"),
        missing_only: bool = typer.Option(False, "--missing", help="Only missing months"),
    ) -> None:
        from talaia.store.status import source_months

        engine = _store()
        months = source_months(engine, source)
        if source is not None and not months:
            raise NotFoundError(_t("unknown_source").format(source=source))
        console = Console()
        if not months:
            console.print(_t("no_sources"))
            return
        table = Table(_t("source"), _t("month"), _t("state"), _t("rows"), _t("batch"))
        styles = {"delivered": "green", "missing": "bold red", "unexpected": "yellow"}
        for m in months:
            if missing_only and m.state != "missing":
                continue
            table.add_row(
                m.source_code,
                m.period_month.strftime("%Y-%m"),
                f"[{styles[m.state]}]{_t(m.state)}[/]",
                "—" if m.rows is None else f"{m.rows:,}",
                "" if m.batch_id is None else str(m.batch_id),
            )
        console.print(table)
        for code in dict.fromkeys(m.source_code for m in months):
            mine = [m for m in months if m.source_code == code]
            console.print(
                _t("summary").format(
                    source=code,
                    d=sum(m.delivered for m in mine),
                    m=sum(m.state == "missing" for m in mine),
                )
            )

    app.add_typer(db, name="db")
    app.add_typer(wh, name="warehouse")
    _register_sources(app)


def _register_sources(app: typer.Typer) -> None:
    """``talaia sources list`` and ``talaia sources set-expected``."""
    src = typer.Typer(help=_h("sources"), no_args_is_help=True)

    def _range(a, b) -> str:  # type: ignore[no-untyped-def]
        if a is None:
            return "—"
        return f"{a:%Y-%m} – " + (_t("open") if b is None else f"{b:%Y-%m}")

    @src.command("list", help=_h("sources_list"))
    def sources_list() -> None:
        from talaia.store.sources import list_sources

        rows = list_sources(_store())
        console = Console()
        if not rows:
            console.print(_t("no_sources"))
            return
        table = Table(_t("source"), _t("agency"), _t("kind"), _t("expected"), _t("batches"))
        for r in rows:
            table.add_row(
                r.code,
                r.agency_code,
                r.kind,
                _range(r.expected_from, r.expected_to),
                f"{r.batches:,}",
            )
        console.print(table)

    @src.command("set-expected", help=_h("set_expected"))
    def sources_set_expected(
        source: str = typer.Argument(..., help="Source code / código de la fuente"),
        from_: str = typer.Option(..., "--from", help="First month due (YYYY-MM)"),
        to: str = typer.Option(None, "--to", help="Last month due (YYYY-MM); omit: open"),
        user: str = typer.Option(None, "--user", help="Who (audit trail) / quién (auditoría)"),
    ) -> None:
        from talaia.store.sources import parse_month, set_expected

        info = set_expected(
            _store(),
            source,
            parse_month(from_),
            parse_month(to) if to else None,
            user=user,
        )
        a, b = info.expected_from, info.expected_to
        Console().print(
            _t("expected_set").format(
                source=info.code,
                a=f"{a:%Y-%m}" if a else "—",
                b=_t("open") if b is None else f"{b:%Y-%m}",
            )
        )

    app.add_typer(src, name="sources")
