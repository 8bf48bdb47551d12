"""Entry point of the ``talaia`` command.

Each domain contributes a Typer sub-application from its own module in this package; this file
only assembles them and turns :class:`talaia.errors.TalaiaError` into one clear line on stderr
with the error's exit code, never a traceback.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from talaia import __version__
from talaia.cli import analyze, crosswalk, data, demo, iccs, indicators, ingest, web
from talaia.errors import TalaiaError

app = typer.Typer(
    name="talaia",
    help=(
        "Talaia: crime and violence observatory platform. / Plataforma de observatorio del delito."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

data.register(app)
demo.register(app)
iccs.register(app)
crosswalk.register(app)
ingest.register(app)
indicators.register(app)
analyze.register(app)
web.register(app)


@app.command("version")
def version() -> None:
    """Print Talaia's version."""
    typer.echo(__version__)


def main() -> None:
    err = Console(stderr=True)
    try:
        app()
    except TalaiaError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
