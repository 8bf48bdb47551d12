"""CLI commands: ``talaia analyze hotspots|near-repeat|concentration|time``.

Each command selects incidents from the warehouse (filters ``--iccs``, ``--area``, ``--from``,
``--to``, ``--source``, ``--table``), runs the analysis with a Rich progress display, prints a
table and, with ``--output FILE``, writes GeoJSON (``.geojson``), JSON (``.json``) or CSV
(``.csv``).
"""

from __future__ import annotations

import csv
import itertools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from talaia.errors import UserInputError

analyze_app = typer.Typer(
    help="Crime analysis: hotspots, near-repeat, concentration, time patterns. / "
    "Análisis delictual: puntos calientes, near-repeat, concentración, patrones temporales.",
    no_args_is_help=True,
)

WAREHOUSE = typer.Option(None, "--warehouse", help="DuckDB warehouse file / almacén DuckDB")
ICCS = typer.Option(None, "--iccs", help="ICCS code at any level / código ICCS")
AREA = typer.Option(None, "--area", help="area code at any level / código de área")
FROM = typer.Option(None, "--from", help="first date YYYY-MM-DD / fecha inicial")
TO = typer.Option(None, "--to", help="last date YYYY-MM-DD / fecha final")
SOURCE = typer.Option([], "--source", help="source code (repeatable) / código de fuente")
TABLE = typer.Option("incident", "--table", help="incident | offence (counting unit / unidad)")
OUTPUT = typer.Option(None, "--output", "-o", help=".geojson | .json | .csv")


def _date(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise UserInputError(
            f"{name}: {value!r} is not a date YYYY-MM-DD / no es una fecha AAAA-MM-DD"
        ) from exc


def _filter(iccs, area, date_from, date_to, source, table):  # type: ignore[no-untyped-def]
    from talaia.analysis.service import IncidentFilter

    if table not in ("incident", "offence"):
        raise UserInputError(f"--table must be incident or offence, not {table!r}")
    return IncidentFilter(
        iccs=iccs,
        area=area,
        date_from=_date(date_from, "--from"),
        date_to=_date(date_to, "--to"),
        sources=tuple(source or ()),
        table=table,
    )


@contextmanager
def _progress(console: Console) -> Iterator[Any]:
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as prog:
        task = prog.add_task("starting", total=None)
        yield lambda msg: prog.update(task, description=msg)


def _write(path: Path, result: Any, rows: list[dict[str, Any]]) -> None:
    suffix = path.suffix.lower()
    if suffix == ".geojson":
        if not hasattr(result, "to_geojson"):
            raise UserInputError(
                f"{path}: this analysis has no map layer; use .json or .csv / "
                "este análisis no tiene capa de mapa"
            )
        payload = result.to_geojson()
        path.write_text(json.dumps(payload, ensure_ascii=False))
    elif suffix == ".json":
        path.write_text(json.dumps(result.to_dict(), ensure_ascii=False, indent=1, default=str))
    elif suffix == ".csv":
        with path.open("w", newline="", encoding="utf-8") as fh:
            if rows:
                w = csv.DictWriter(fh, fieldnames=list(rows[0]))
                w.writeheader()
                w.writerows(rows)
    else:
        raise UserInputError(f"--output {path}: use .geojson, .json or .csv / use esas extensiones")


def _num(v: Any, fmt: str = "{:.3f}") -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "—"
    return fmt.format(v)


def _local_table(console: Console, stat: Any, method: str, top: int, n_tests: int) -> None:
    rows = stat.to_rows()
    labels = [r["label"] for r in rows]
    t = Table(title=f"{method}: top units / unidades principales")
    for c in ("unit", "incidents", "statistic", "z", "p_sim", "q", "label"):
        t.add_column(c)
    key = "z_sim" if method == "local_moran" else "z"
    order = sorted(rows, key=lambda r: -(r[key] if r[key] is not None else -1e9))[:top]
    for r in order:
        t.add_row(
            r["unit"],
            _num(r["value"], "{:.0f}"),
            _num(r["statistic"], "{:.4g}"),
            _num(r["z"], "{:.2f}"),
            _num(r["p_sim"]),
            _num(r["q_value"]),
            r["label"],
        )
    console.print(t)
    counts = {lab: labels.count(lab) for lab in sorted(set(labels))}
    console.print(f"labels / etiquetas: {counts}", highlight=False)
    m = n_tests
    unresolved = n_tests / (stat.permutations + 1) > stat.alpha if stat.permutations else False
    if stat.fdr_basis == "sim" and unresolved and all(lab == "ns" for lab in labels):
        console.print(
            f"note: with {stat.permutations} permutations the smallest p is "
            f"1/{stat.permutations + 1}; FDR over {m} units cannot reach {stat.alpha} unless "
            "many units share it. Use more --permutations, an --area filter or "
            "--fdr-basis norm. / nota: use más permutaciones, filtre por área o "
            "--fdr-basis norm.",
            highlight=False,
        )


@analyze_app.command("hotspots")
def hotspots_cmd(
    method: str = typer.Option("gi_star", "--method", help="gi_star | local_moran | kde"),
    cell: float = typer.Option(250.0, "--cell", help="cell size, metres / tamaño de celda (m)"),
    permutations: int = typer.Option(999, "--permutations"),
    seed: int = typer.Option(12345, "--seed"),
    alpha: float = typer.Option(0.05, "--alpha", help="FDR level / nivel FDR"),
    bandwidth: float = typer.Option(0.0, "--bandwidth", help="KDE metres; 0 = Scott's rule"),
    top: int = typer.Option(15, "--top", help="rows shown / filas mostradas"),
    areas: Path = typer.Option(
        None, "--areas", help="areas GeoJSON (code, level): Gi*/Moran over area polygons"
    ),
    unit: str = typer.Option(
        "grid",
        "--unit",
        help="grid (cells) | area (the warehouse's area polygons) / celdas o áreas",
    ),
    level: int = typer.Option(
        0, "--level", help="area level with --unit area or --areas (0 = deepest)"
    ),
    fdr_basis: str = typer.Option(
        "sim", "--fdr-basis", help="sim (permutation p) | norm (normal p, Gi*) for FDR"
    ),
    warehouse: Path = WAREHOUSE,
    iccs: str = ICCS,
    area: str = AREA,
    date_from: str = FROM,
    date_to: str = TO,
    source: list[str] = SOURCE,
    table: str = TABLE,
    output: Path = OUTPUT,
) -> None:
    """Hotspots on a grid (or area polygons: ``--unit area`` reads them from the warehouse,
    ``--areas FILE`` from a GeoJSON): Gi*, Local Moran's I or kernel density.
    / Puntos calientes."""
    from talaia.analysis import service

    if method not in ("gi_star", "local_moran", "kde"):
        raise UserInputError(f"--method {method!r}: gi_star, local_moran or kde")
    if fdr_basis not in ("sim", "norm"):
        raise UserInputError(f"--fdr-basis {fdr_basis!r}: sim or norm")
    if unit not in ("grid", "area"):
        raise UserInputError(f"--unit {unit!r}: grid or area / grid o area")
    flt = _filter(iccs, area, date_from, date_to, source, table)
    console = Console()
    con = service.connect(warehouse)
    if areas is not None or unit == "area":
        # --areas FILE: polygons from a GeoJSON; --unit area: the warehouse's area polygons
        if method == "kde":
            raise UserInputError(
                "--unit area / --areas work with gi_star or local_moran / no con kde"
            )
        with _progress(console) as step:
            stat = service.area_hotspots(
                con,
                flt,
                areas,
                level=level or None,
                method=method,  # type: ignore[arg-type]
                permutations=permutations,
                seed=seed,
                alpha=alpha,
                fdr_basis=fdr_basis,  # type: ignore[arg-type]
                progress=step,
            )
        _local_table(console, stat, method, top, len(stat.statistic))
        if output:
            _write(output, stat, stat.to_rows())
            console.print(f"wrote / escrito {output}", highlight=False)
        return
    with _progress(console) as step:
        rep = service.hotspots(
            con,
            flt,
            method=method,  # type: ignore[arg-type]
            cell=cell,
            permutations=permutations,
            seed=seed,
            alpha=alpha,
            bandwidth=bandwidth or None,
            fdr_basis=fdr_basis,  # type: ignore[arg-type]
            progress=step,
        )
    console.print(
        f"{rep.n_incidents} incidents / incidentes, {rep.n_without_location} without location / "
        f"sin ubicación; grid {rep.grid.nrows}×{rep.grid.ncols} of {rep.grid.cell:g} m",
        highlight=False,
    )
    rows: list[dict[str, Any]]
    if rep.local is not None:
        rows = rep.local.to_rows()
        _local_table(console, rep.local, method, top, rep.grid.n_cells)
    else:
        assert rep.density is not None
        rows = [f["properties"] for f in rep.geojson_cells]
        console.print(
            f"KDE {rep.density.kernel}, bandwidth {rep.density.bandwidth:.0f} m "
            f"({rep.density.bandwidth_rule}), max {rep.density.density.max():.1f} per km²",
            highlight=False,
        )
    if output:
        _write(output, rep, rows)
        console.print(f"wrote / escrito {output}", highlight=False)


@analyze_app.command("near-repeat")
def near_repeat_cmd(
    spatial: str = typer.Option("200", "--spatial", help="band upper limits, m: 100,200,300"),
    temporal: str = typer.Option("7", "--temporal", help="band upper limits, days: 7,14"),
    convention: str = typer.Option("closed", "--convention", help="closed | nrc"),
    metric: str = typer.Option("euclidean", "--metric", help="euclidean | manhattan"),
    permutations: int = typer.Option(999, "--permutations"),
    seed: int = typer.Option(0, "--seed"),
    warehouse: Path = WAREHOUSE,
    iccs: str = ICCS,
    area: str = AREA,
    date_from: str = FROM,
    date_to: str = TO,
    source: list[str] = SOURCE,
    table: str = TABLE,
    output: Path = OUTPUT,
) -> None:
    """Near-repeat Knox test (Near Repeat Calculator compatible). / Prueba de Knox."""
    from talaia.analysis import service

    def bands(text: str, name: str) -> list[float]:
        try:
            vals = [float(v) for v in text.split(",") if v.strip()]
        except ValueError as exc:
            raise UserInputError(f"{name} {text!r}: numbers separated by commas") from exc
        if not vals or any(b <= a for a, b in itertools.pairwise(vals)):
            raise UserInputError(f"{name} {text!r}: increasing numbers / números crecientes")
        return vals

    if convention not in ("closed", "nrc"):
        raise UserInputError(f"--convention {convention!r}: closed or nrc")
    if metric not in ("euclidean", "manhattan"):
        raise UserInputError(f"--metric {metric!r}: euclidean or manhattan")
    flt = _filter(iccs, area, date_from, date_to, source, table)
    console = Console()
    con = service.connect(warehouse)
    with _progress(console) as step:
        res = service.near_repeat(
            con,
            flt,
            spatial_bands=bands(spatial, "--spatial"),
            temporal_bands=bands(temporal, "--temporal"),
            convention=convention,  # type: ignore[arg-type]
            metric=metric,  # type: ignore[arg-type]
            permutations=permutations,
            seed=seed,
            progress=step,
        )
    console.print(
        f"{res.n_events} incidents / incidentes, {res.extra.get('n_without_location', 0)} "
        f"without location / sin ubicación; {res.permutations} permutations, seed {res.seed}, "
        f"convention {res.convention}",
        highlight=False,
    )
    t = Table(title="Knox ratio (observed/mean) [p] / razón de Knox (observado/media) [p]")
    t.add_column("")
    for lab in res.temporal_labels:
        t.add_column(lab)
    for i, lab in enumerate(res.spatial_labels):
        cells = []
        for j in range(len(res.temporal_labels)):
            r, p = res.ratio_mean[i, j], res.p_value[i, j]
            style = "bold red" if p <= 0.01 else ("red" if p <= 0.05 else "")
            txt = f"{_num(r, '{:.2f}')} [{p:.3f}]"
            cells.append(f"[{style}]{txt}[/]" if style else txt)
        t.add_row(lab, *cells)
    console.print(t)
    if output:
        _write(output, res, res.to_rows())
        console.print(f"wrote / escrito {output}", highlight=False)


@analyze_app.command("concentration")
def concentration_cmd(
    unit: str = typer.Option("area", "--unit", help="area | cell"),
    cell: float = typer.Option(250.0, "--cell", help="cell size, metres"),
    repeat_days: float = typer.Option(365.0, "--repeat-days", help="repeat window, days"),
    warehouse: Path = WAREHOUSE,
    iccs: str = ICCS,
    area: str = AREA,
    date_from: str = FROM,
    date_to: str = TO,
    source: list[str] = SOURCE,
    table: str = TABLE,
    output: Path = OUTPUT,
) -> None:
    """Concentration (top shares, Lorenz, Gini) and repeats. / Concentración y repetición."""
    from talaia.analysis import service

    if unit not in ("area", "cell"):
        raise UserInputError(f"--unit {unit!r}: area or cell")
    flt = _filter(iccs, area, date_from, date_to, source, table)
    console = Console()
    con = service.connect(warehouse)
    with _progress(console) as step:
        rep = service.concentration_report(
            con,
            flt,
            unit=unit,
            cell=cell,
            repeat_days=repeat_days,
            progress=step,  # type: ignore[arg-type]
        )
    c, r = rep.concentration, rep.repeats
    t = Table(title=f"Concentration over {c.n_places} places ({unit}) / concentración")
    t.add_column("measure / medida")
    t.add_column("value / valor")
    for p, share in c.top_shares.items():
        t.add_row(f"share in top {p:g}% of places / en el {p:g}% superior", f"{share:.1%}")
    t.add_row("places holding 50% / lugares con el 50%", _num(c.places_for_half, "{:.1%}"))
    t.add_row("Gini", _num(c.gini))
    t.add_row("generalized Gini (Bernasco & Steenbeek)", _num(c.gini_generalized))
    t.add_row(
        f"repeats within {r.window_days:g} days / repeticiones",
        f"{r.n_repeats} of {r.n_incidents} ({_num(r.repeat_share, '{:.1%}')})",
    )
    console.print(t)
    if output:
        rows = [
            {"places_share": float(a), "incidents_share": float(b)}
            for a, b in zip(c.lorenz_places, c.lorenz_incidents, strict=True)
        ]
        _write(output, rep, rows)
        console.print(f"wrote / escrito {output}", highlight=False)


@analyze_app.command("time")
def time_cmd(
    alpha: float = typer.Option(0.01, "--alpha", help="control-limit level / nivel"),
    warehouse: Path = WAREHOUSE,
    iccs: str = ICCS,
    area: str = AREA,
    date_from: str = FROM,
    date_to: str = TO,
    source: list[str] = SOURCE,
    table: str = TABLE,
    output: Path = OUTPUT,
) -> None:
    """Day × hour heat map, monthly trend and anomalies. / Patrones temporales."""
    from talaia.analysis import service
    from talaia.analysis.temporal import DAYS_EN

    flt = _filter(iccs, area, date_from, date_to, source, table)
    console = Console()
    con = service.connect(warehouse)
    with _progress(console) as step:
        rep = service.time_report(con, flt, alpha=alpha, progress=step)
    hm = rep.heatmap
    t = Table(
        title=f"Incidents by day × 3-hour block (aoristic) / por día y franja; {hm.n_range} ranges"
    )
    t.add_column("day / día")
    for h in range(0, 24, 3):
        t.add_column(f"{h:02d}-{h + 3:02d}")
    for d, name in enumerate(DAYS_EN):
        t.add_row(name, *[f"{hm.weights[d, h : h + 3].sum():.1f}" for h in range(0, 24, 3)])
    console.print(t)
    if rep.series is not None:
        s = Table(title="Months flagged / meses señalados (Poisson)")
        for c in ("month", "observed", "expected", "lower", "upper", "p", "flag"):
            s.add_column(c)
        for row in rep.series.to_rows():
            if row["flag"]:
                s.add_row(
                    row["period"],
                    _num(row["observed"], "{:.0f}"),
                    _num(row["expected"], "{:.1f}"),
                    _num(row["lower"], "{:.0f}"),
                    _num(row["upper"], "{:.0f}"),
                    _num(row["p_value"], "{:.4f}"),
                    row["flag"],
                )
        console.print(s)
    else:
        console.print(f"no trend decomposition / sin descomposición: {rep.note}", highlight=False)
    if output:
        rows = (
            rep.series.to_rows()
            if rep.series is not None
            else [
                {"period": m, "observed": None if not np.isfinite(v) else float(v)}
                for m, v in zip(rep.months, rep.monthly_counts, strict=True)
            ]
        )
        _write(output, rep, rows)
        console.print(f"wrote / escrito {output}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main application."""
    app.add_typer(analyze_app, name="analyze")
