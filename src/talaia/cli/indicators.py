"""CLI commands: ``talaia indicators list | show ID | compute ID | validate``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from talaia.errors import UserInputError

indicators_app = typer.Typer(
    help="SDG 16 and citizen-security indicators. / Indicadores ODS 16 y de seguridad ciudadana.",
    no_args_is_help=True,
)


def _fmt(v: object, decimals: int) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{decimals}f}"
    return str(v)


@indicators_app.command("list")
def list_cmd(lang: str = typer.Option("en", help="en | es")) -> None:
    """List the indicator catalogue. / Lista el catálogo de indicadores."""
    from talaia.indicators import catalogue

    t = Table("name" if lang != "es" else "nombre", "unit", "SDG")
    t.add_column("id", no_wrap=True)
    t.columns.insert(0, t.columns.pop())
    for ind in catalogue():
        t.add_row(ind.id, ind.name.get(lang), ind.unit, ind.reference.sdg or "")
    Console().print(t)


@indicators_app.command("show")
def show_cmd(indicator_id: str, lang: str = typer.Option("en", help="en | es")) -> None:
    """Show one indicator's definition. / Muestra la definición de un indicador."""
    from talaia.indicators import get_indicator

    ind = get_indicator(indicator_id)
    c = Console()
    c.print(f"[bold]{ind.id}[/] v{ind.version}: {ind.name.get(lang)}")
    c.print(ind.definition.get(lang))
    c.print(
        f"unit: {ind.unit}; counting unit: {ind.counting_unit}; "
        f"preferred period: {ind.preferred_period}"
    )
    ref = ind.reference
    c.print(f"SDG {ref.sdg or '-'} {ref.sdg_series or ''}  UN-CTS / ICCS: {ref.uncts or '-'}")
    n = ind.numerator
    c.print(
        f"numerator: {n.table} ICCS {', '.join(n.iccs) or 'all'}"
        + (f" except {', '.join(n.iccs_exclude)}" if n.iccs_exclude else "")
        + (f" where {n.where}" if n.where else "")
        + (f" any of {list(n.any_of)}" if n.any_of else "")
        + (f" sources {', '.join(n.source_kind)}" if n.source_kind else "")
    )
    c.print(f"denominator: {ind.denominator.kind}")
    c.print(f"disaggregations: {', '.join(ind.disaggregations) or '-'}")
    c.print(ind.method_note.get(lang))


@indicators_app.command("compute")
def compute_cmd(
    indicator_id: str,
    period: str = typer.Option(
        ..., "--period", help="2023 | 2023-Q2 | 2023-05 | R12:2023-05 | 2023-W07 | 2014-01..2023-12"
    ),
    area: str = typer.Option(None, "--area", help="area code (default: national)"),
    by: list[str] = typer.Option([], "--by", help="breakdown variable (repeatable)"),
    level: int = typer.Option(None, "--level", help="output area level 0-3 (roll-up)"),
    source_kind: str = typer.Option(None, "--source-kind", help="police | forensic | ..."),
    compare: str = typer.Option(None, "--compare", help="previous | year_earlier"),
    smooth: bool = typer.Option(False, "--smooth", help="empirical-Bayes smoothed rates"),
    out: Path = typer.Option(None, "--out", help="write .csv or .xlsx"),
    warehouse: Path = typer.Option(None, "--warehouse", help="DuckDB warehouse file"),
) -> None:
    """Compute an indicator. / Calcula un indicador."""
    from talaia.indicators import compute, get_indicator
    from talaia.indicators.export import export

    if compare not in (None, "previous", "year_earlier"):
        raise UserInputError("--compare must be previous or year_earlier")
    ind = get_indicator(indicator_id)
    table = compute(
        ind,
        area=area,
        period=period,
        by=by,
        level=level,
        warehouse=warehouse,
        source_kind=source_kind,
        compare=compare,  # type: ignore[arg-type]
        smooth=smooth,
    )
    if out is not None:
        export(table, ind, out)
        Console(stderr=True).print(f"wrote {table.num_rows} rows to {out}")
        return
    cols = [
        "period",
        "area_code",
        *by,
        "numerator",
        "denominator",
        "value",
        "ci_low",
        "ci_high",
        "coverage",
        "completeness",
    ]
    if compare:
        cols += ["ref_value", "change_pct", "p_value"]
    t = Table(*cols, title=f"{ind.id} ({ind.unit})")
    data = [table.column(c).to_pylist() for c in cols]
    for row in zip(*data, strict=True):
        t.add_row(*[_fmt(v, ind.decimals) for v in row])
    Console().print(t)


@indicators_app.command("validate")
def validate_cmd(
    period: str = typer.Option(..., "--period", help="period(s) to check, e.g. 2023"),
    level: int = typer.Option(3, "--level", help="area level checked"),
    out: Path = typer.Option(None, "--out", help="write the findings as .csv"),
    warehouse: Path = typer.Option(None, "--warehouse", help="DuckDB warehouse file"),
    lang: str = typer.Option("en", help="en | es"),
) -> None:
    """Validation rules and outliers before publishing. / Reglas de validación y atípicos."""
    from talaia.indicators.export import to_csv
    from talaia.indicators.validation import findings_table, validate

    found = validate(warehouse, period, level=level)
    if out is not None:
        to_csv(findings_table(found), out)
    t = Table("rule", "severity", "area", "period", "source", "message", title=f"{len(found)}")
    for f in found:
        t.add_row(
            f.rule,
            f.severity,
            f.area_code,
            f.period,
            f.source_code or "",
            f.message_es if lang == "es" else f.message_en,
        )
    Console().print(t)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main application."""
    app.add_typer(indicators_app, name="indicators")
