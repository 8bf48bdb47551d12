"""CLI commands: ``talaia crosswalk validate|load|versions|coverage|suggest``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from talaia.classification.crosswalk import read_crosswalk
from talaia.classification.validation import ValidationReport, validate
from talaia.errors import DataError, NotFoundError, UserInputError

crosswalk_app = typer.Typer(
    help="National offence codes to ICCS: crosswalks. / Tablas de correspondencia a ICCS.",
    no_args_is_help=True,
)

_DB = typer.Option(None, "--database-url", help="store URL (default: settings) / URL del almacén")


def _engine(url: str | None):  # type: ignore[no-untyped-def]
    from talaia.store.database import get_engine, upgrade

    engine = get_engine(url)
    upgrade(engine)
    return engine


def _existing(path: Path) -> Path:
    if not path.exists():
        raise NotFoundError(f"{path}: file not found / archivo no encontrado")
    return path


def _print_report(report: ValidationReport, con: Console) -> None:
    if report.issues:
        t = Table(
            title=f"{report.file}: {len(report.errors)} error(s), {len(report.warnings)} warning(s)"
        )
        t.add_column("severity")
        t.add_column("row")
        t.add_column("column")
        t.add_column("kind")
        t.add_column("message")
        for i in report.issues:
            sev = "[red]error[/]" if i.severity == "error" else "[yellow]warning[/]"
            t.add_row(
                sev,
                "" if i.row is None else str(i.row),
                escape(i.column or ""),
                i.kind,
                escape(i.message),
            )
        con.print(t)
    if report.ok and report.crosswalk is not None:
        cw = report.crosswalk
        con.print(
            f"[green]valid[/]: {len(cw.rows)} rows, {len(cw.national_codes())} national "
            f"codes / {len(cw.rows)} filas, válida",
            highlight=False,
        )


def _validate(file: Path, code: str | None, data_codes=None) -> ValidationReport:  # type: ignore[no-untyped-def]
    return validate(read_crosswalk(_existing(file)), code=code, data_codes=data_codes)


@crosswalk_app.command("validate")
def validate_cmd(
    file: Path = typer.Argument(..., help="crosswalk CSV or XLSX"),
    source: str | None = typer.Option(
        None, "--source", help="also check the codes this source uses in the store"
    ),
    database_url: str | None = _DB,
) -> None:
    """Validate a crosswalk file; errors name file, row and column. / Valida una tabla."""
    data_codes = None
    if source:
        from talaia.store.crosswalks import national_code_counts

        data_codes = national_code_counts(_engine(database_url), source)
    con = Console()
    report = _validate(file, None, data_codes)
    _print_report(report, con)
    if not report.ok:
        raise DataError(
            f"{file}: crosswalk rejected, {len(report.errors)} error(s) / "
            f"tabla rechazada, {len(report.errors)} error(es)"
        )


@crosswalk_app.command("load")
def load_cmd(
    file: Path = typer.Argument(..., help="crosswalk CSV or XLSX"),
    source: str = typer.Option(..., "--source", help="source code / código de la fuente"),
    by: str | None = typer.Option(None, "--by", help="who loads it / quién la carga"),
    note: str | None = typer.Option(None, "--note"),
    database_url: str | None = _DB,
) -> None:
    """Validate and store a crosswalk as a new version. / Guarda una nueva versión."""
    from talaia.store.crosswalks import save_version, source_crosswalk_code

    engine = _engine(database_url)
    code = source_crosswalk_code(engine, source) or source
    con = Console()
    report = _validate(file, code)
    _print_report(report, con)
    if not report.ok or report.crosswalk is None:
        raise DataError(
            f"{file}: crosswalk rejected, {len(report.errors)} error(s); nothing "
            f"stored / tabla rechazada; no se guardó nada"
        )
    version = save_version(
        engine, code, report.crosswalk.rows, file.name, report.file_hash, loaded_by=by, note=note
    )
    con.print(
        f"crosswalk [bold]{code}[/] version [bold]{version}[/] / tabla {code} versión {version}",
        highlight=False,
    )


@crosswalk_app.command("versions")
def versions_cmd(
    code: str | None = typer.Argument(None, help="crosswalk code (default: all)"),
    database_url: str | None = _DB,
) -> None:
    """List stored crosswalk versions. / Lista las versiones guardadas."""
    from talaia.store.crosswalks import list_versions

    t = Table()
    for c in ("crosswalk", "version", "rows", "file", "loaded at", "by"):
        t.add_column(c)
    for v in list_versions(_engine(database_url), code):
        t.add_row(
            v.crosswalk_code,
            str(v.version),
            str(v.rows),
            v.file_name or "",
            str(v.loaded_at or ""),
            v.loaded_by or "",
        )
    Console().print(t)


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}"


@crosswalk_app.command("coverage")
def coverage_cmd(
    source: str = typer.Option(..., "--source", help="source code / código de la fuente"),
    version: int | None = typer.Option(None, "--version", help="default: latest / la última"),
    out: Path | None = typer.Option(None, "--out", help="write the figures as CSV or Parquet"),
    top: int = typer.Option(20, "--top", help="unmapped codes shown"),
    database_url: str | None = _DB,
) -> None:
    """Coverage of the source's offences by a crosswalk version, per month and ICCS level.

    / Cobertura de la clasificación por mes y nivel ICCS.
    """
    from talaia.classification.classify import classify
    from talaia.classification.coverage import coverage
    from talaia.store.crosswalks import (
        get_version,
        offence_inputs_from_store,
        source_crosswalk_code,
    )

    engine = _engine(database_url)
    code = source_crosswalk_code(engine, source)
    if code is None:
        raise NotFoundError(f"source {source!r} not found / fuente no encontrada")
    stored = get_version(engine, code, version)
    cw = stored.crosswalk
    with Progress(transient=True) as prog:
        task = prog.add_task("reading offences / leyendo delitos", total=3)
        inputs = offence_inputs_from_store(engine, source, cw.fields())
        prog.update(task, advance=1, description="classifying / clasificando")
        result = classify(inputs, cw, stored.version)
        prog.update(task, advance=1, description="coverage / cobertura")
        table = result.table.append_column("source_code", inputs.column("source_code"))
        table = table.append_column("period", inputs.column("period"))
        table = table.append_column("national_label", inputs.column("national_label"))
        report = coverage(table, by=("source_code", "period"))
        prog.update(task, advance=1)
    con = Console()
    con.print(
        f"{source}: crosswalk {code} version {stored.version}, "
        f"{result.num_records} offences, {result.classified_count()} classified",
        highlight=False,
    )
    t = Table(
        title="% mapped at ICCS level k or deeper: records (r) and distinct codes (c) / % asignado",
        padding=(0, 1),
    )
    t.add_column("period", no_wrap=True)
    t.add_column("n", justify="right", no_wrap=True)
    for k in (1, 2, 3, 4):
        t.add_column(f"r{k}", justify="right", no_wrap=True)
    for k in (1, 2, 3, 4):
        t.add_column(f"c{k}", justify="right", no_wrap=True)
    for r in report.rows:
        t.add_row(
            str(r.group[1]),
            str(r.records),
            *[_pct(r.record_share(k)) for k in (1, 2, 3, 4)],
            *[_pct(r.code_share(k)) for k in (1, 2, 3, 4)],
        )
    con.print(t)
    if report.unmapped:
        u = Table(title="unmapped codes / códigos sin asignar")
        for c in ("period", "national code", "label", "records", "reason"):
            u.add_column(c)
        for x in report.unmapped[:top]:
            u.add_row(
                str(x.group[1]),
                escape(x.national_code or ""),
                escape(x.national_label or ""),
                str(x.records),
                x.reason or "",
            )
        con.print(u)
    if out is not None:
        arrow = report.to_arrow()
        if out.suffix.lower() == ".parquet":
            import pyarrow.parquet as pq

            pq.write_table(arrow, out)
        else:
            import pyarrow.csv as pacsv

            pacsv.write_csv(arrow, out)
        con.print(f"written / escrito: {out}")


@crosswalk_app.command("suggest")
def suggest_cmd(
    file: Path = typer.Argument(..., help="CSV/XLSX with national_code, national_label"),
    out: Path | None = typer.Option(None, "--out", help="review file (.xlsx or .csv)"),
    top: int = typer.Option(3, "--top", min=1, max=10),
    all_rows: bool = typer.Option(False, "--all", help="also rows that already have a code"),
) -> None:
    """Suggest ICCS codes for unmapped labels; writes a reviewable file.

    / Sugiere códigos ICCS y escribe un archivo para revisar.
    """
    from talaia.classification.assistant import review_rows, write_review_file

    raw = read_crosswalk(_existing(file))
    fatal = [i for i in raw.issues if i.kind in ("unreadable_file", "empty_file")]
    if fatal:
        raise UserInputError(str(fatal[0]))
    if "national_label" not in raw.columns:
        raise UserInputError(f"{file}: column 'national_label' is missing / falta la columna")
    items = [
        (r.get("national_code"), r.get("national_label"))
        for r in raw.rows
        if all_rows or r.get("iccs_code") is None
    ]
    rows = review_rows(items, k=top)
    out = out or file.with_name(file.stem + "_suggestions.xlsx")
    write_review_file(rows, str(out))
    con = Console()
    t = Table(title=f"{len(rows)} label(s) / etiqueta(s)")
    for c in ("national code", "label", "ICCS", "score", "reason"):
        t.add_column(c)
    for r in rows[:50]:
        t.add_row(
            *[
                escape(r[c] or "")
                for c in ("national_code", "national_label", "iccs_code", "score", "reason")
            ]
        )
    con.print(t)
    con.print(
        f"review file / archivo de revisión: {out} — fill mapping_type to accept a row, "
        f"correct iccs_code where needed, then `talaia crosswalk load` it.",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main application."""
    app.add_typer(crosswalk_app, name="crosswalk")
