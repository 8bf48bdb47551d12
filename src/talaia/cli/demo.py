"""CLI commands: ``talaia demo`` (generate, load, refresh, summarize) and ``talaia demo generate``.

``talaia demo`` with no sub-command builds the whole demo installation: it generates the demo
country into ``<data_dir>/demo`` (or ``--out``), migrates the store, loads the reference data and
every canonical month, refreshes the DuckDB warehouse and prints a summary computed from the
warehouse. Texts are in English and Spanish (``TALAIA_LANGUAGE``).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from talaia.errors import UserInputError

_T = {
    "en": {
        "help": "Demo country: generate it and load it into the store and warehouse.",
        "gen_help": "Generate the demo country's files (raw, canonical, reference, truth).",
        "generating": "Generating the demo country",
        "loading": "Loading canonical batches",
        "warehouse": "Refreshing the warehouse",
        "written": "Demo country written to",
        "loaded": "Loaded per source",
        "source": "Source",
        "batches": "Batches",
        "rows": "Rows",
        "missing": "Missing months",
        "headline": "Headline figures",
        "hom_rate": "Intentional homicide victims per 100,000, {year}",
        "firearm": "Firearm share of intentional homicides (police), {year}",
        "femicide": "Femicides (police), {year}",
        "police": "police (PN + PM)",
        "forensic": "forensic (IML)",
        "none": "none",
        "pg_fresh": "--fresh only wipes files; the PostgreSQL store was not emptied.",
        "bad_scale": "--scale must be positive",
        "serve": "Start the portal with: talaia serve",
    },
    "es": {
        "help": "País de demostración: generarlo y cargarlo en el almacén y el data warehouse.",
        "gen_help": "Generar los archivos del país de demostración (brutos, canónicos, "
        "referencia, verdad).",
        "generating": "Generando el país de demostración",
        "loading": "Cargando lotes canónicos",
        "warehouse": "Actualizando el data warehouse",
        "written": "País de demostración escrito en",
        "loaded": "Cargado por fuente",
        "source": "Fuente",
        "batches": "Lotes",
        "rows": "Filas",
        "missing": "Meses faltantes",
        "headline": "Cifras principales",
        "hom_rate": "Víctimas de homicidio intencional por 100.000, {year}",
        "firearm": "Proporción de homicidios intencionales con arma de fuego (policía), {year}",
        "femicide": "Femicidios (policía), {year}",
        "police": "policía (PN + PM)",
        "forensic": "forense (IML)",
        "none": "ninguno",
        "pg_fresh": "--fresh solo borra archivos; el almacén PostgreSQL no se vació.",
        "bad_scale": "--scale debe ser positivo",
        "serve": "Inicie el portal con: talaia serve",
    },
}


def _tr(key: str, **kw: object) -> str:
    from talaia.settings import get_settings

    lang = "es" if get_settings().language.startswith("es") else "en"
    return _T[lang][key].format(**kw)


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def _generate(out: Path, seed: int, scale: float, console: Console):
    from talaia.demo import generate

    if scale <= 0:
        raise UserInputError(_tr("bad_scale"))
    with _progress(console) as bar:
        task = bar.add_task(_tr("generating"), total=None)

        def cb(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return generate(out, seed=seed, scale=scale, progress=cb)


@dataclass(frozen=True)
class Headline:
    """Headline figures of the last year, computed from the warehouse."""

    year: int
    population: int
    homicide_victims: tuple[tuple[str, int], ...]  # (source kind, victims)
    firearm_share: float | None
    femicides: int
    missing: tuple[tuple[str, str], ...]  # (source, YYYY-MM)


def headline(warehouse_path: Path) -> Headline:
    """National headline figures of the last year in the warehouse (DuckDB queries)."""
    import duckdb

    con = duckdb.connect(str(warehouse_path), read_only=True)
    try:
        year = con.execute("SELECT max(year) FROM fact_victim").fetchone()[0]
        pop = con.execute(
            "SELECT sum(population) FROM population WHERE year = ?", [year]
        ).fetchone()[0]
        hom = con.execute(
            "SELECT source_kind, count(*) FROM fact_victim WHERE iccs_l2 = '0101' AND year = ? "
            "GROUP BY source_kind ORDER BY source_kind",
            [year],
        ).fetchall()
        fire = con.execute(
            "SELECT avg(CASE WHEN weapon = 'firearm' THEN 1.0 ELSE 0.0 END) FROM fact_offence "
            "WHERE iccs_l2 = '0101' AND source_kind = 'police' AND year = ? "
            "AND weapon IS NOT NULL",
            [year],
        ).fetchone()[0]
        fem = con.execute(
            "SELECT count(*) FROM fact_victim WHERE iccs_l2 = '0101' AND source_kind = 'police' "
            "AND sex = 'female' AND situational_context = 'intimate_partner_family' "
            "AND year = ?",
            [year],
        ).fetchone()[0]
        missing = con.execute(
            "SELECT source_code, strftime(period_month, '%Y-%m') FROM source_month "
            "WHERE expected AND NOT delivered ORDER BY 1, 2"
        ).fetchall()
    finally:
        con.close()
    return Headline(
        int(year),
        int(pop or 0),
        tuple((k, int(n)) for k, n in hom),
        None if fire is None else float(fire),
        int(fem),
        tuple((s, m) for s, m in missing),
    )


def _summary(console: Console, results, head: Headline) -> None:
    per: dict[str, list[int]] = {}
    for r in results:
        b = per.setdefault(r.source_code, [0, 0])
        b[0] += 1
        b[1] += int(r.rows.get("incident", 0) or r.rows.get("custody", 0))
    missing: dict[str, list[str]] = {}
    for s, m in head.missing:
        missing.setdefault(s, []).append(m)
    t = Table(title=_tr("loaded"))
    for col in ("source", "batches", "rows", "missing"):
        t.add_column(_tr(col), justify="right" if col in ("batches", "rows") else "left")
    for s in sorted(per):
        t.add_row(
            s, f"{per[s][0]:,}", f"{per[s][1]:,}", ", ".join(missing.get(s, [])) or _tr("none")
        )
    console.print(t)
    h = Table(title=_tr("headline"), show_header=False)
    h.add_column()
    h.add_column(justify="right")
    for kind, n in head.homicide_victims:
        label = (
            _tr("police") if kind == "police" else _tr("forensic") if kind == "forensic" else kind
        )
        rate = 1e5 * n / head.population if head.population else float("nan")
        h.add_row(f"{_tr('hom_rate', year=head.year)} — {label}", f"{rate:.1f} ({n:,})")
    if head.firearm_share is not None:
        h.add_row(_tr("firearm", year=head.year), f"{100 * head.firearm_share:.1f} %")
    h.add_row(_tr("femicide", year=head.year), f"{head.femicides:,}")
    console.print(h)


def _wipe(settings, out: Path, console: Console) -> None:
    data = settings.data_dir
    for p in (out, settings.resolved_warehouse_path()):
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
    if settings.database_url and not settings.database_url.startswith("sqlite"):
        console.print(_tr("pg_fresh"))
        return
    db = Path(settings.resolved_database_url().removeprefix("sqlite:///"))
    for suffix in ("", "-wal", "-shm"):
        q = db.with_name(db.name + suffix)
        if q.exists():
            q.unlink()
    data.mkdir(parents=True, exist_ok=True)


def run_demo(
    out: Path | None, seed: int, scale: float, fresh: bool, console: Console | None = None
) -> Headline:
    """Generate, load and summarize the demo (the body of ``talaia demo``)."""
    from talaia.settings import get_settings
    from talaia.store.canonical import load_canonical_tree, load_reference
    from talaia.store.database import get_engine, upgrade

    try:
        from talaia.warehouse import refresh
    except ImportError:
        from talaia.warehouse.build import refresh

    console = console or Console()
    settings = get_settings()
    out = out or settings.data_dir / "demo"
    if fresh:
        _wipe(settings, out, console)
    gen = _generate(out, seed, scale, console)
    console.print(f"{_tr('written')} {gen.out_dir}")
    engine = get_engine()
    upgrade(engine)
    load_reference(engine, out)
    with _progress(console) as bar:
        task = bar.add_task(_tr("loading"), total=None)

        def cb(done: int, total: int, label: str = "") -> None:
            bar.update(task, completed=done, total=total)

        results = load_canonical_tree(engine, out, progress=cb)
    with _progress(console) as bar:
        task = bar.add_task(_tr("warehouse"), total=None)

        def cb2(done: int, total: int, label: str = "") -> None:
            bar.update(task, completed=done, total=total)

        wh = refresh(engine, settings.resolved_warehouse_path(), progress=cb2)
    head = headline(Path(wh.path))
    _summary(console, results, head)
    return head


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main application."""
    demo_app = typer.Typer(
        help=_T["en"]["help"] + " / " + _T["es"]["help"],
        invoke_without_command=True,
        no_args_is_help=False,
    )

    @demo_app.callback(invoke_without_command=True)
    def demo(
        ctx: typer.Context,
        out: Path | None = typer.Option(None, help="Output folder (default <data_dir>/demo)."),
        seed: int = typer.Option(20240101, help="Random seed / semilla."),
        scale: float = typer.Option(1.0, help="Size multiplier / multiplicador de tamaño."),
        fresh: bool = typer.Option(
            False, help="Wipe the store, warehouse and demo folder first / borrar antes."
        ),
        serve: bool = typer.Option(
            False, "--serve/--no-serve", help="Then tell how to start the portal (talaia serve)."
        ),
    ) -> None:
        if ctx.invoked_subcommand is not None:
            return
        run_demo(out, seed, scale, fresh)
        if serve:
            Console().print(_tr("serve"))

    @demo_app.command("generate", help=_T["en"]["gen_help"] + " / " + _T["es"]["gen_help"])
    def generate_cmd(
        out: Path = typer.Option(..., help="Output folder / carpeta de salida."),
        seed: int = typer.Option(20240101, help="Random seed / semilla."),
        scale: float = typer.Option(1.0, help="Size multiplier / multiplicador de tamaño."),
    ) -> None:
        console = Console()
        res = _generate(out, seed, scale, console)
        console.print(
            f"{_tr('written')} {res.out_dir}: {res.incidents:,} incidents, {res.files:,} files"
        )

    app.add_typer(demo_app, name="demo")
