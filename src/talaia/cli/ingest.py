"""CLI commands: ``talaia ingest``, ``talaia batches [approve|publish|reject]``,
``talaia quarantine show|fix``.

``talaia batches approve|publish|reject BATCH_ID... --user U`` moves batches along received →
validated → approved → published (or to rejected) through
:func:`talaia.web.services.data.set_batch_status`, the function the portal calls: the same
transitions, the same role checks (``U`` is an existing account; publishing, and rejecting an
approved batch, need an administrator or analyst), the same audit trail, and the same warehouse
refresh when a batch stops being counted.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from talaia.errors import DataError, NotFoundError, UserInputError

console = Console()


def _engine():  # type: ignore[no-untyped-def]
    from talaia.store.database import get_engine, upgrade

    engine = get_engine()
    upgrade(engine)
    return engine


def ingest(
    file: Path = typer.Argument(..., help="Delivered file / archivo entregado"),
    source: str = typer.Option(None, "--source", "-s", help="Source code / código de fuente"),
    profile: Path = typer.Option(None, "--profile", "-p", help="Profile YAML / perfil YAML"),
    period: str = typer.Option(None, "--period", help="YYYY-MM (or YYYY)"),
    user: str = typer.Option(None, "--user", help="Who loads / quién carga"),
    report: Path = typer.Option(None, "--report", help="Write the report: .json or .html"),
    lang: str = typer.Option("en", "--lang", help="en | es"),
) -> None:
    """Ingest one agency file: every row accepted, quarantined or counted as a duplicate.
    / Carga un archivo de una agencia."""
    from talaia.ingest.report import render_html
    from talaia.ingest.service import ingest_file

    if not file.exists():
        raise UserInputError(f"{file}: file not found / archivo no encontrado")
    engine = _engine()
    start = time.perf_counter()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(f"ingest {file.name}", total=None, rate="")

        def tick(rows: int, _bytes: int) -> None:
            el = max(time.perf_counter() - start, 1e-9)
            bar.update(task, completed=rows, rate=f"{rows:,} rows · {rows / el:,.0f} rows/s")

        res = ingest_file(engine, file, source, profile, user, tick, period=period)
    el = time.perf_counter() - start
    t = Table(title=f"{res.source} · {res.file_name}")
    t.add_column("")
    t.add_column("", justify="right")
    for k, v in (
        ("outcome / resultado", res.outcome),
        ("batch / lote", res.batch_id),
        ("period / periodo", f"{res.period_start} – {res.period_end}"),
        ("read / leídas", f"{res.rows_read:,}"),
        ("accepted / aceptadas", f"{res.rows_accepted:,}"),
        ("quarantined / cuarentena", f"{res.rows_quarantined:,}"),
        ("duplicates / duplicadas", f"{res.rows_duplicate:,}"),
        ("near duplicates / casi duplicadas", f"{res.near_duplicates:,}"),
        ("superseded / reemplaza", ", ".join(map(str, res.superseded_ids)) or "—"),
        ("rows/s", f"{res.rows_read / el:,.0f}"),
    ):
        t.add_row(k, str(v))
    console.print(t)
    for r in res.report.get("reasons", [])[:10]:
        console.print(f"  {r['count']:>8,}  {r['rule']:<28} {r['field']}")
    if res.outcome == "unchanged":
        console.print(f"unchanged: {res.report.get('message')} / sin cambios: ya cargado")
    if report and res.report.get("counts"):
        if report.suffix.lower() == ".html":
            report.write_text(render_html(res.report, lang), encoding="utf-8")
        else:
            report.write_text(json.dumps(res.report, indent=2, ensure_ascii=False, default=str))
    if res.outcome == "rejected":
        raise DataError(
            f"{file.name}: batch rejected / lote rechazado: {res.rows_quarantined:,} of "
            f"{res.rows_read:,} rows quarantined, {res.rows_accepted:,} accepted"
        )


batches_app = typer.Typer(
    help="Batches: list, approve, publish, reject / lotes: listar, aprobar, publicar, rechazar",
    invoke_without_command=True,
)


@batches_app.callback()
def batches(
    ctx: typer.Context,
    source: str = typer.Option(None, "--source", "-s", help="Only this source / solo esta"),
) -> None:
    """List batches (or approve / publish them) / lista los lotes (o los aprueba / publica)."""
    if ctx.invoked_subcommand is not None:
        return
    from sqlalchemy import text

    engine = _engine()
    sql = (
        "SELECT id, source_code, period_start, period_end, status, rows_read, rows_accepted, "
        "rows_quarantined, rows_duplicate, file_name, loaded_by, loaded_at, supersedes_id "
        "FROM batch"
    )
    params = {}
    if source:
        sql += " WHERE source_code = :s"
        params["s"] = source
    with engine.connect() as c:
        rows = c.execute(text(sql + " ORDER BY id"), params).all()
    t = Table(title="batches / lotes")
    for col in (
        "id",
        "source",
        "from",
        "to",
        "status",
        "read",
        "accepted",
        "quarantined",
        "duplicate",
        "file",
        "by",
        "at",
        "supersedes",
    ):
        t.add_column(col)
    for r in rows:
        t.add_row(*("" if v is None else str(v) for v in r))
    console.print(t)


#: The steps from each status to ``approved`` and to ``published``.
_STEPS = {
    "approved": {"received": ("validated", "approved"), "validated": ("approved",)},
    "published": {
        "received": ("validated", "approved", "published"),
        "validated": ("approved", "published"),
        "approved": ("published",),
    },
    "rejected": {
        "received": ("rejected",),
        "validated": ("rejected",),
        "approved": ("rejected",),
    },
}


def _move(batch_ids: list[int], target: str, user: str) -> None:
    """Move each batch to ``target`` through the portal's service function, step by step."""
    from talaia.web.services.data import get_batch, set_batch_status
    from talaia.web.services.users import list_users

    engine = _engine()
    account = next((u for u in list_users(engine) if u.username == user), None)
    if account is None:
        raise NotFoundError(
            f"user {user!r} not found (create it with `talaia users create`) / "
            "usuario no encontrado"
        )
    principal = account.principal("cli")
    t = Table(title=f"batches → {target} / lotes")
    for col in ("id", "source", "from", "to", "was", "now"):
        t.add_column(col)
    for bid in batch_ids:
        try:
            info = get_batch(engine, principal, bid)
            was = info.status
            if was != target:
                steps = _STEPS[target].get(was)
                if steps is None:
                    raise UserInputError(
                        f"batch {bid}: cannot go from {was} to {target} / "
                        f"el lote no puede pasar de {was} a {target}"
                    )
                for step in steps:
                    info = set_batch_status(engine, principal, bid, step)
        except NotFoundError:
            raise NotFoundError(f"batch {bid} not found / lote {bid} no encontrado") from None
        except PermissionError:
            raise UserInputError(
                f"batch {bid}: user {user!r} ({account.role}) may not move it to {target} / "
                f"el usuario no puede llevar el lote a {target}"
            ) from None
        t.add_row(
            str(bid),
            info.source_code,
            str(info.period_start),
            str(info.period_end),
            was,
            info.status,
        )
    console.print(t)


@batches_app.command("approve")
def batches_approve(
    batch_ids: list[int] = typer.Argument(..., help="Batch ids / ids de lote"),
    user: str = typer.Option(..., "--user", help="Account that approves / cuenta que aprueba"),
) -> None:
    """Approve batches (received/validated → approved) / aprueba lotes."""
    _move(batch_ids, "approved", user)


@batches_app.command("publish")
def batches_publish(
    batch_ids: list[int] = typer.Argument(..., help="Batch ids / ids de lote"),
    user: str = typer.Option(..., "--user", help="Account that publishes / cuenta que publica"),
) -> None:
    """Publish batches (→ approved → published) / publica lotes."""
    _move(batch_ids, "published", user)


@batches_app.command("reject")
def batches_reject(
    batch_ids: list[int] = typer.Argument(..., help="Batch ids / ids de lote"),
    user: str = typer.Option(..., "--user", help="Account that rejects / cuenta que rechaza"),
    yes: bool = typer.Option(False, "--yes", help="Reject without asking / rechazar sin preguntar"),
) -> None:
    """Reject batches (no longer counted; the warehouse is refreshed) / rechaza lotes."""
    if not yes and not typer.confirm(
        f"Reject batch(es) {', '.join(map(str, batch_ids))}? It cannot be undone / "
        "¿Rechazar? No se puede deshacer"
    ):
        raise typer.Exit(1)
    _move(batch_ids, "rejected", user)


quarantine_app = typer.Typer(help="Quarantined rows / filas en cuarentena", no_args_is_help=True)


@quarantine_app.command("show")
def quarantine_show(batch: int = typer.Argument(...), limit: int = typer.Option(50)) -> None:
    """Show a batch's quarantined rows with every reason."""
    from sqlalchemy import text

    engine = _engine()
    with engine.connect() as c:
        if not c.execute(text("SELECT 1 FROM batch WHERE id = :b"), {"b": batch}).first():
            raise NotFoundError(f"batch {batch} not found / lote no encontrado")
        rows = c.execute(
            text(
                "SELECT row_number, raw, reasons, status FROM quarantine_row "
                "WHERE batch_id = :b ORDER BY row_number LIMIT :n"
            ),
            {"b": batch, "n": limit},
        ).all()
    t = Table(title=f"batch {batch}: quarantine / cuarentena")
    for col in ("row", "reasons", "raw", "status"):
        t.add_column(col, overflow="fold")
    for r in rows:
        reasons = "; ".join(
            f"{x.get('column') or x.get('field')}={x.get('value')!r}: {x['rule']}"
            for x in json.loads(r[2] or "[]")
        )
        t.add_row(str(r[0]), reasons, r[1] or "", r[3])
    console.print(t)


@quarantine_app.command("fix")
def quarantine_fix(
    batch: int = typer.Argument(...),
    row: list[int] = typer.Option(..., "--row", help="Record number (repeat with --set)"),
    set_: list[str] = typer.Option(..., "--set", help="COLUMN=VALUE (applies to every --row)"),
    user: str = typer.Option(None, "--user"),
    profile: Path = typer.Option(None, "--profile", "-p"),
) -> None:
    """Correct quarantined rows and re-submit the batch as a revision."""
    from talaia.ingest.service import resubmit

    edits: dict[str, str | None] = {}
    for s in set_:
        if "=" not in s:
            raise UserInputError(f"--set {s!r}: use COLUMN=VALUE / use COLUMNA=VALOR")
        k, v = s.split("=", 1)
        edits[k] = v or None
    res = resubmit(_engine(), batch, {r: dict(edits) for r in row}, user, profile)
    console.print(
        f"{res.outcome}: batch {res.batch_id}, accepted {res.rows_accepted:,}, "
        f"quarantined {res.rows_quarantined:,}, supersedes {list(res.superseded_ids)}"
    )


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main application."""
    app.command("ingest")(ingest)
    app.add_typer(batches_app, name="batches")
    app.add_typer(quarantine_app, name="quarantine")
