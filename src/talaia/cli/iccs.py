"""CLI commands: ``talaia iccs show CODE`` and ``talaia iccs search TEXT``."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from talaia.classification.iccs import load_iccs
from talaia.errors import UserInputError

iccs_app = typer.Typer(
    help="The ICCS v1.0 classification. / La clasificación ICCS v1.0.", no_args_is_help=True
)


def _lang(lang: str) -> str:
    if lang not in ("en", "es"):
        raise UserInputError(f"--lang must be 'en' or 'es', not {lang!r} / --lang debe ser en o es")
    return lang


@iccs_app.command("show")
def show(
    code: str = typer.Argument(..., help="ICCS code, e.g. 0101 / código ICCS"),
    lang: str = typer.Option("en", "--lang", help="en | es"),
) -> None:
    """Show one ICCS category: title, path and children. / Muestra una categoría ICCS."""
    lang = _lang(lang)
    iccs = load_iccs()
    cat = iccs.lookup(code.strip())
    con = Console()
    con.print(f"[bold]{cat.code}[/] {cat.label(lang)}", highlight=False)
    other = cat.label_es if lang == "en" else cat.label_en
    con.print(f"  {other}", highlight=False)
    level_word = "level" if lang == "en" else "nivel"
    con.print(f"  {level_word} {cat.level}", highlight=False)
    t = Table(title="path / ruta" if lang == "en" else "ruta / path")
    t.add_column("level")
    t.add_column("code")
    t.add_column("title")
    for a in (*iccs.ancestors(cat.code), cat):
        t.add_row(str(a.level), a.code, a.label(lang))
    con.print(t)
    kids = iccs.children(cat.code)
    if kids:
        k = Table(title="children / subcategorías")
        k.add_column("code")
        k.add_column("title")
        for c in kids:
            k.add_row(c.code, c.label(lang))
        con.print(k)


@iccs_app.command("search")
def search(
    text: str = typer.Argument(..., help="words of the title / palabras del título"),
    lang: str = typer.Option("", "--lang", help="en | es (default: both / ambos)"),
) -> None:
    """Find ICCS categories by title (accent/case-insensitive). / Busca categorías por título."""
    if lang:
        _lang(lang)
    found = load_iccs().search(text, lang or None)
    con = Console()
    if not found:
        con.print(f"no ICCS category matches {text!r} / ninguna categoría coincide")
        raise typer.Exit(1)
    t = Table()
    t.add_column("code")
    t.add_column("level")
    t.add_column("title (en)")
    t.add_column("título (es)")
    for c in found:
        t.add_row(c.code, str(c.level), c.label_en, c.label_es)
    con.print(t)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main application."""
    app.add_typer(iccs_app, name="iccs")
