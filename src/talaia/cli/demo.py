"""CLI commands: ``talaia demo`` (the main job) and ``talaia demo generate``.

``talaia demo`` with no sub-command builds and serves the whole demo installation:

1. generates the demo country into ``<data_dir>/demo`` (or ``--out``); skipped when the folder
   already holds a manifest with the same seed, scale and years (unless ``--fresh``);
2. migrates the store, loads the reference data (areas, population, agencies, sources) and
   saves the crosswalks as store versions;
3. loads the four agencies' *raw* files through the ingestion pipeline, defects included
   (``--canonical``: the clean canonical tree instead, a fast path), with a progress bar, and
   reports per source what was read, accepted, quarantined, dropped as duplicate and flagged as
   near duplicate, with the most frequent quarantine reasons;
4. refreshes the DuckDB warehouse, creates the demo accounts and publishes the demo batches
   (received/validated → approved → published, each step in the audit trail) so that the
   public portal shows figures;
5. prints the headline figures (homicide rates from :func:`talaia.indicators.compute`), the
   portal's address and the demo accounts, and serves the portal (``--no-serve`` to stop there).

Every step reads the same :func:`talaia.settings.get_settings` (``--data-dir`` sets
``TALAIA_DATA_DIR`` before it is first read), so the store, the warehouse, the archive of
delivered files and the served portal are one installation. Texts in English and Spanish
(``TALAIA_LANGUAGE``).
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from talaia.errors import UserInputError

_T = {
    "en": {
        "help": "Demo country: generate it, load it, publish it and serve the portal.",
        "gen_help": "Generate the demo country's files (raw, canonical, reference, truth).",
        "generating": "Generating the demo country",
        "kept": "Demo country already generated (same seed, scale and years), kept:",
        "loading": "Loading canonical batches",
        "ingesting": "Ingesting the agencies' raw files",
        "warehouse": "Refreshing the warehouse",
        "written": "Demo country written to",
        "loaded": "Loaded per source",
        "intake": "What ingestion did with every row, per source",
        "files": "Files",
        "read": "Read",
        "accepted": "Accepted",
        "quarantined": "Quarantined",
        "duplicates": "Duplicates",
        "near": "Near dup. flagged",
        "rejected": "Rejected files",
        "reasons": "Top quarantine reasons",
        "rule": "Rule",
        "field": "Field",
        "count": "Rows",
        "source": "Source",
        "batches": "Batches",
        "rows": "Rows",
        "missing": "Missing months",
        "headline": "Headline figures",
        "rate": "Intentional homicide rate per 100,000 (95% CI), {year} — {label}",
        "hom_rate": "Intentional homicide victims per 100,000, {year}",
        "firearm": "Firearm share of intentional homicides (police), {year}",
        "femicide": "Femicides (police), {year}",
        "police": "police (PN + PM)",
        "forensic": "forensic (IML)",
        "none": "none",
        "published": "Batches published (audit trail: batch.status)",
        "accounts": "Demo accounts (demo only: never use these passwords for real)",
        "username": "User",
        "role": "Role",
        "agency": "Agency",
        "password": "Password",
        "portal": "Portal",
        "pg_fresh": "--fresh: the PostgreSQL store was emptied (schema and roles kept).",
        "pg_fresh_refused": "--fresh refused: the PostgreSQL store holds more than the demo "
        "({what}); nothing was deleted. Empty it yourself, or use another database.",
        "bad_scale": "--scale must be positive",
        "bad_years": "--years: give YYYY or YYYY-YYYY (consecutive years), not {value!r}",
        "serve": "Start the portal with: talaia serve",
    },
    "es": {
        "help": "País de demostración: generarlo, cargarlo, publicarlo y servir el portal.",
        "gen_help": "Generar los archivos del país de demostración (brutos, canónicos, "
        "referencia, verdad).",
        "generating": "Generando el país de demostración",
        "kept": "País de demostración ya generado (misma semilla, escala y años), conservado:",
        "loading": "Cargando lotes canónicos",
        "ingesting": "Ingiriendo los archivos brutos de las agencias",
        "warehouse": "Actualizando el data warehouse",
        "written": "País de demostración escrito en",
        "loaded": "Cargado por fuente",
        "intake": "Qué hizo la ingesta con cada fila, por fuente",
        "files": "Archivos",
        "read": "Leídas",
        "accepted": "Aceptadas",
        "quarantined": "En cuarentena",
        "duplicates": "Duplicadas",
        "near": "Casi duplicadas marcadas",
        "rejected": "Archivos rechazados",
        "reasons": "Motivos de cuarentena más frecuentes",
        "rule": "Regla",
        "field": "Campo",
        "count": "Filas",
        "source": "Fuente",
        "batches": "Lotes",
        "rows": "Filas",
        "missing": "Meses faltantes",
        "headline": "Cifras principales",
        "rate": "Tasa de homicidio intencional por 100.000 (IC 95%), {year} — {label}",
        "hom_rate": "Víctimas de homicidio intencional por 100.000, {year}",
        "firearm": "Proporción de homicidios intencionales con arma de fuego (policía), {year}",
        "femicide": "Femicidios (policía), {year}",
        "police": "policía (PN + PM)",
        "forensic": "forense (IML)",
        "none": "ninguno",
        "published": "Lotes publicados (registro de auditoría: batch.status)",
        "accounts": "Cuentas de demostración (solo demo: nunca use estas contraseñas en serio)",
        "username": "Usuario",
        "role": "Rol",
        "agency": "Agencia",
        "password": "Contraseña",
        "portal": "Portal",
        "pg_fresh": "--fresh: se vació el almacén PostgreSQL (se conservan esquema y roles).",
        "pg_fresh_refused": "--fresh rechazado: el almacén PostgreSQL contiene más que la "
        "demostración ({what}); no se borró nada. Vacíelo usted, o use otra base de datos.",
        "bad_scale": "--scale debe ser positivo",
        "bad_years": "--years: indique AAAA o AAAA-AAAA (años consecutivos), no {value!r}",
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


def parse_years(value: str | None) -> tuple[int, ...]:
    """``"2021-2022"``, ``"2021..2022"`` or ``"2022"`` -> consecutive years; None = default."""
    from talaia.demo import DEFAULT_YEARS

    if not value:
        return tuple(DEFAULT_YEARS)
    parts = value.replace("..", "-").split("-")
    try:
        first, last = int(parts[0]), int(parts[-1])
    except ValueError:
        raise UserInputError(_tr("bad_years", value=value)) from None
    if len(parts) > 2 or last < first or not 1900 <= first <= 2100:
        raise UserInputError(_tr("bad_years", value=value))
    return tuple(range(first, last + 1))


def _same_manifest(out: Path, seed: int, scale: float, years: tuple[int, ...]) -> bool:
    """True when ``out`` already holds a complete demo of this seed, scale, years and generator
    version: the manifest (written last by the generator) matches and every file it lists is
    there with its size (hashes are not re-read: that is ``talaia demo --fresh``)."""
    from talaia.demo.generator import GENERATOR_VERSION

    path = out / "manifest.json"
    if not path.is_file():
        return False
    try:
        man = json.loads(path.read_text(encoding="utf-8"))
        same = (
            man.get("seed") == seed
            and float(man.get("scale", -1)) == float(scale)
            and tuple(man.get("years", ())) == tuple(years)
            and str(man.get("generator_version")) == GENERATOR_VERSION
        )
        return same and all(
            (out / f["path"]).is_file() and (out / f["path"]).stat().st_size == f["bytes"]
            for f in man.get("files", ())
        )
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _generate(out: Path, seed: int, scale: float, console: Console, years=None):  # type: ignore[no-untyped-def]
    from talaia.demo import DEFAULT_YEARS, generate

    if scale <= 0:
        raise UserInputError(_tr("bad_scale"))
    with _progress(console) as bar:
        task = bar.add_task(_tr("generating"), total=None)

        def cb(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return generate(out, seed=seed, scale=scale, years=years or DEFAULT_YEARS, progress=cb)


@dataclass(frozen=True)
class Rate:
    """One indicator value computed by :func:`talaia.indicators.compute`."""

    indicator_id: str
    source_kind: str
    numerator: int | None
    value: float | None
    ci_low: float | None
    ci_high: float | None
    coverage: str


@dataclass(frozen=True)
class Headline:
    """Headline figures of the last year, computed from the warehouse."""

    year: int
    population: int
    homicide_victims: tuple[tuple[str, int], ...]  # (source kind, victims)
    firearm_share: float | None
    femicides: int
    missing: tuple[tuple[str, str], ...]  # (source, YYYY-MM)
    rates: tuple[Rate, ...] = ()


def _rates(warehouse_path: Path, year: int) -> tuple[Rate, ...]:
    """National homicide rates of ``year`` by the indicator engine (police and forensic)."""
    from talaia.indicators import compute

    out = []
    for ind, kind in (("homicide_rate", "police"), ("homicide_rate_forensic", "forensic")):
        t = compute(ind, period=str(year), warehouse=warehouse_path).to_pylist()
        if not t:
            continue
        r = t[0]
        num = r.get("numerator")
        out.append(
            Rate(
                ind,
                kind,
                None if num is None else int(num),
                r.get("value"),
                r.get("ci_low"),
                r.get("ci_high"),
                str(r.get("coverage")),
            )
        )
    return tuple(out)


def headline(warehouse_path: Path) -> Headline:
    """National headline figures of the last year in the warehouse.

    Counts by DuckDB queries on the fact tables; the homicide rates with their exact Poisson
    intervals by the indicator engine (:func:`talaia.indicators.compute`).
    """
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
        _rates(warehouse_path, int(year)),
    )


@dataclass(frozen=True)
class Intake:
    """What the store's current batches of one source hold (from the ``batch`` table)."""

    source_code: str
    batches: int
    rows_read: int
    rows_accepted: int
    rows_quarantined: int
    rows_duplicate: int
    near_duplicates: int
    reasons: tuple[tuple[str, str, int], ...]  # (rule, field, rows), most frequent first


def intake(engine) -> tuple[Intake, ...]:  # type: ignore[no-untyped-def]
    """Per source: current batches and their row accounting, near-duplicate pairs flagged and
    quarantine reasons ranked (read from each batch's report)."""
    from sqlalchemy import text

    with engine.connect() as c:
        rows = c.execute(
            text(
                "SELECT source_code, rows_read, rows_accepted, rows_quarantined, rows_duplicate, "
                "report FROM batch WHERE status NOT IN ('superseded', 'rejected') "
                "ORDER BY source_code, period_start"
            )
        ).all()
    acc: dict[str, list[int]] = {}
    reasons: dict[str, Counter[tuple[str, str]]] = {}
    for src, read, ok, quar, dup, report in rows:
        a = acc.setdefault(src, [0, 0, 0, 0, 0, 0])
        rep = json.loads(report) if report else {}
        near = (rep.get("counts") or {}).get("near_duplicate_pairs", 0) or 0
        for i, v in enumerate((1, read, ok, quar, dup, near)):
            a[i] += int(v or 0)
        cnt = reasons.setdefault(src, Counter())
        for r in rep.get("reasons") or ():
            cnt[(str(r.get("rule")), str(r.get("field") or ""))] += int(r.get("count") or 0)
    return tuple(
        Intake(
            s,
            *acc[s],  # type: ignore[arg-type]
            tuple((r, f, n) for (r, f), n in reasons[s].most_common()),
        )
        for s in sorted(acc)
    )


def publish_batches(engine, username: str = "admin") -> int:  # type: ignore[no-untyped-def]
    """Publish every current batch not yet published, as ``username`` (an administrator).

    Each step (validated → approved → published) goes through
    :func:`talaia.web.services.data.set_batch_status`, which checks the transition and the
    role and writes the audit trail. Returns the number of batches published now.
    """
    from sqlalchemy import text

    from talaia.web.services.common import Principal
    from talaia.web.services.data import set_batch_status
    from talaia.web.services.users import list_users

    user = next((u for u in list_users(engine) if u.username == username), None)
    principal = (
        user.principal("cli")
        if user is not None
        else Principal(None, "demo", "demo", "administrator", None, "cli")
    )
    path = {"received": ("validated", "approved"), "validated": ("approved",), "approved": ()}
    with engine.connect() as c:
        todo = c.execute(
            text(
                "SELECT id, status FROM batch WHERE status IN ('received', 'validated', "
                "'approved') ORDER BY id"
            )
        ).all()
    for batch_id, status in todo:
        for step in (*path[status], "published"):
            set_batch_status(engine, principal, int(batch_id), step)
    return len(todo)


@dataclass(frozen=True)
class DemoResult:
    """What ``talaia demo`` did (before serving)."""

    out_dir: Path
    generated: bool
    mode: str  # "raw" (ingestion pipeline) or "canonical"
    rejected_files: tuple[str, ...]
    intake: tuple[Intake, ...]
    published: int
    accounts: tuple[tuple[str, str, str | None, str], ...]
    headline: Headline


def _not_demo(engine) -> list[str]:  # type: ignore[no-untyped-def]
    """What a store holds besides the demo: other sources, other user accounts."""
    from sqlalchemy import text

    from talaia.ingest.demo import DEMO_SOURCES
    from talaia.web.services.users import DEMO_USERS

    with engine.connect() as c:
        sources = [r[0] for r in c.execute(text("SELECT code FROM source ORDER BY code"))]
        users = [r[0] for r in c.execute(text("SELECT username FROM app_user ORDER BY username"))]
    demo_users = {u for u, *_ in DEMO_USERS}
    return [f"source {s}" for s in sources if s not in DEMO_SOURCES] + [
        f"user {u}" for u in users if u not in demo_users
    ]


def _wipe_postgres(url: str, console: Console) -> None:
    """Empty a PostgreSQL store that holds only the demo (refused otherwise)."""
    from talaia.store.database import current_revision, empty_store, get_engine

    engine = get_engine(url)
    try:
        if current_revision(engine) is None:
            return  # nothing there yet
        other = _not_demo(engine)
        if other:
            raise UserInputError(_tr("pg_fresh_refused", what=", ".join(other[:5])))
        empty_store(engine)
    finally:
        engine.dispose()
    console.print(_tr("pg_fresh"))


def _wipe(settings, out: Path, console: Console) -> None:  # type: ignore[no-untyped-def]
    data = settings.data_dir
    postgres = bool(settings.database_url) and not settings.database_url.startswith("sqlite")
    if postgres:
        _wipe_postgres(settings.database_url, console)  # first: it may refuse
    for p in (out, settings.resolved_warehouse_path(), data / "deliveries"):
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
    if postgres:
        return
    db = Path(settings.resolved_database_url().removeprefix("sqlite:///"))
    for suffix in ("", "-wal", "-shm"):
        q = db.with_name(db.name + suffix)
        if q.exists():
            q.unlink()
    data.mkdir(parents=True, exist_ok=True)


def _load_raw(engine, out: Path, console: Console) -> tuple[str, ...]:  # type: ignore[no-untyped-def]
    from talaia.ingest.demo import ingest_demo_raw

    with _progress(console) as bar:
        task = bar.add_task(_tr("ingesting"), total=None)

        def cb(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        results = ingest_demo_raw(engine, out, user="demo", progress=cb)
    return tuple(f"{r.source}/{r.file_name}" for r in results if r.outcome == "rejected")


def _load_canonical(engine, out: Path, console: Console) -> None:  # type: ignore[no-untyped-def]
    from talaia.store.canonical import load_canonical_tree

    with _progress(console) as bar:
        task = bar.add_task(_tr("loading"), total=None)

        def cb(done: int, total: int, label: str = "") -> None:
            bar.update(task, completed=done, total=total)

        load_canonical_tree(engine, out, progress=cb)


def run_demo(
    out: Path | None,
    seed: int,
    scale: float,
    fresh: bool,
    console: Console | None = None,
    *,
    years: tuple[int, ...] | None = None,
    canonical: bool = False,
) -> DemoResult:
    """Generate, load, publish and summarize the demo (``talaia demo`` before serving)."""
    from talaia.ingest.demo import save_demo_crosswalks
    from talaia.settings import get_settings
    from talaia.store.canonical import load_reference
    from talaia.store.database import get_engine, upgrade
    from talaia.warehouse import refresh
    from talaia.web.services.users import DEMO_USERS, create_demo_users

    console = console or Console()
    settings = get_settings()
    years = tuple(years) if years else parse_years(None)
    if scale <= 0:
        raise UserInputError(_tr("bad_scale"))
    out = Path(out) if out is not None else settings.data_dir / "demo"
    if fresh:
        _wipe(settings, out, console)
    generated = not _same_manifest(out, seed, scale, years)
    if generated:
        gen = _generate(out, seed, scale, console, years)
        console.print(f"{_tr('written')} {gen.out_dir}")
    else:
        console.print(f"{_tr('kept')} {out}")
    engine = get_engine(settings.resolved_database_url())
    upgrade(engine)
    load_reference(engine, out)
    save_demo_crosswalks(engine, out, "demo")
    rejected: tuple[str, ...] = ()
    if canonical:
        _load_canonical(engine, out, console)
    else:
        rejected = _load_raw(engine, out, console)
    with _progress(console) as bar:
        task = bar.add_task(_tr("warehouse"), total=None)

        def cb2(done: int, total: int, label: str = "") -> None:
            bar.update(task, completed=done, total=total)

        wh = refresh(engine, settings.resolved_warehouse_path(), progress=cb2)
    create_demo_users(engine)
    admin = next((u for u, role, _a, _p in DEMO_USERS if role == "administrator"), "admin")
    published = publish_batches(engine, admin)
    res = DemoResult(
        out,
        generated,
        "canonical" if canonical else "raw",
        rejected,
        intake(engine),
        published,
        tuple(DEMO_USERS),
        headline(Path(wh.path)),
    )
    _summary(console, res)
    return res


def _summary(console: Console, res: DemoResult) -> None:
    head = res.headline
    missing: dict[str, list[str]] = {}
    for s, m in head.missing:
        missing.setdefault(s, []).append(m)
    cols = ("source", "batches", "read", "accepted", "quarantined", "duplicates", "near")
    t = Table(title=_tr("intake"))
    for col in cols:
        t.add_column(_tr(col), justify="left" if col == "source" else "right")
    t.add_column(_tr("missing"))
    for i in res.intake:
        nums = (i.batches, i.rows_read, i.rows_accepted, i.rows_quarantined, i.rows_duplicate)
        t.add_row(
            i.source_code,
            *(f"{n:,}" for n in (*nums, i.near_duplicates)),
            ", ".join(missing.get(i.source_code, [])) or _tr("none"),
        )
    console.print(t)
    if res.rejected_files:
        console.print(f"{_tr('rejected')}: {', '.join(res.rejected_files)}")
    r = Table(title=_tr("reasons"))
    for col in ("source", "rule", "field", "count"):
        r.add_column(_tr(col), justify="right" if col == "count" else "left")
    for i in res.intake:
        for rule, field, n in i.reasons[:5]:
            r.add_row(i.source_code, rule, field, f"{n:,}")
    if r.row_count:
        console.print(r)
    h = Table(title=_tr("headline"), show_header=False)
    h.add_column()
    h.add_column(justify="right")
    labels = {"police": _tr("police"), "forensic": _tr("forensic")}
    for rate in head.rates:
        label = labels.get(rate.source_kind, rate.source_kind)
        val = "—" if rate.value is None else f"{rate.value:.1f}"
        ci = "" if rate.ci_low is None else f" [{rate.ci_low:.1f}–{rate.ci_high:.1f}]"
        n = "" if rate.numerator is None else f" ({rate.numerator:,})"
        h.add_row(_tr("rate", year=head.year, label=label), f"{val}{ci}{n} {rate.coverage}")
    if not head.rates:
        for kind, n in head.homicide_victims:
            rate_ = 1e5 * n / head.population if head.population else float("nan")
            label = labels.get(kind, kind)
            h.add_row(f"{_tr('hom_rate', year=head.year)} — {label}", f"{rate_:.1f} ({n:,})")
    if head.firearm_share is not None:
        h.add_row(_tr("firearm", year=head.year), f"{100 * head.firearm_share:.1f} %")
    h.add_row(_tr("femicide", year=head.year), f"{head.femicides:,}")
    h.add_row(_tr("published"), f"{res.published:,}")
    console.print(h)


def _accounts(console: Console, res: DemoResult, url: str) -> None:
    console.print(f"[bold]{_tr('portal')}:[/] {url}")
    a = Table(title=_tr("accounts"))
    for col in ("username", "role", "agency", "password"):
        a.add_column(_tr(col))
    for username, role, agency, password in res.accounts:
        a.add_row(username, role, agency or "", password)
    console.print(a)


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
        years: str | None = typer.Option(
            None, help="Years, e.g. 2019-2024 (default) / años, p. ej. 2021-2022."
        ),
        data_dir: Path | None = typer.Option(
            None, help="Data folder (sets TALAIA_DATA_DIR) / carpeta de datos."
        ),
        fresh: bool = typer.Option(
            False,
            help="Wipe the store, warehouse and demo folder first (PostgreSQL: only a store "
            "holding nothing but the demo) / borrar antes (PostgreSQL: solo un almacén que "
            "contenga únicamente la demostración).",
        ),
        canonical: bool = typer.Option(
            False,
            "--canonical/--raw",
            help="Load the clean canonical tree instead of the raw files through ingestion "
            "(fast) / cargar el árbol canónico en vez de los archivos brutos.",
        ),
        serve: bool = typer.Option(
            True, "--serve/--no-serve", help="Then serve the portal / luego servir el portal."
        ),
        host: str = typer.Option("127.0.0.1", help="Portal address / dirección del portal."),
        port: int = typer.Option(8000, help="Portal TCP port / puerto TCP del portal."),
    ) -> None:
        if ctx.invoked_subcommand is not None:
            return
        if data_dir is not None:
            from talaia.settings import get_settings

            os.environ["TALAIA_DATA_DIR"] = str(data_dir)
            get_settings.cache_clear()
        console = Console()
        res = run_demo(
            out, seed, scale, fresh, console, years=parse_years(years), canonical=canonical
        )
        url = f"http://{'[' + host + ']' if ':' in host else host}:{port}/"
        _accounts(console, res, url)
        if serve:
            from talaia.cli.web import serve as serve_portal

            serve_portal(host=host, port=port, workers=1)
        else:
            console.print(_tr("serve"))

    @demo_app.command("generate", help=_T["en"]["gen_help"] + " / " + _T["es"]["gen_help"])
    def generate_cmd(
        out: Path = typer.Option(..., help="Output folder / carpeta de salida."),
        seed: int = typer.Option(20240101, help="Random seed / semilla."),
        scale: float = typer.Option(1.0, help="Size multiplier / multiplicador de tamaño."),
        years: str | None = typer.Option(
            None, help="Years, e.g. 2019-2024 (default) / años, p. ej. 2021-2022."
        ),
    ) -> None:
        console = Console()
        res = _generate(out, seed, scale, console, parse_years(years))
        console.print(
            f"{_tr('written')} {res.out_dir}: {res.incidents:,} incidents, {res.files:,} files"
        )

    app.add_typer(demo_app, name="demo")
