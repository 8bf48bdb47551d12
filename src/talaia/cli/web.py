"""CLI commands: the web portal (``talaia serve``) and its accounts (``talaia users ...``)."""

from __future__ import annotations

import getpass
import os
from typing import Annotated

import typer

from talaia.errors import UserInputError

users_app = typer.Typer(help="Portal accounts. / Cuentas del portal.", no_args_is_help=True)


def _engine():
    from talaia.store.database import get_engine, upgrade

    engine = get_engine()
    upgrade(engine)
    return engine


def _password(password: str | None) -> str:
    if password:
        return password
    env = os.environ.get("TALAIA_NEW_PASSWORD")
    if env:
        return env
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Repeat password: "):
        raise UserInputError("the two passwords differ")
    return first


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[
        int, typer.Option(help="Worker processes (login rate limits are per process).")
    ] = 1,
) -> None:
    """Serve the web portal and the JSON API (uvicorn)."""
    import uvicorn

    if host in ("127.0.0.1", "localhost", "::1"):
        # Plain HTTP on loopback: cookies cannot require HTTPS there.
        os.environ.setdefault("TALAIA_WEB_COOKIE_SECURE", "0")
    os.environ.setdefault("TALAIA_WEB_WARM_CACHE", "1")
    _engine()  # migrate before serving
    typer.echo(f"Talaia portal: http://{host}:{port}/")
    uvicorn.run(
        "talaia.web.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        proxy_headers=False,
        timeout_keep_alive=30,
    )


@users_app.command("create-admin")
def create_admin(
    username: Annotated[str, typer.Argument(help="Login name.")] = "admin",
    password: Annotated[
        str | None, typer.Option(help="Password (else asked, or TALAIA_NEW_PASSWORD).")
    ] = None,
    full_name: Annotated[str | None, typer.Option(help="Full name.")] = None,
) -> None:
    """Create an administrator account."""
    from talaia.web.services.users import create_user

    user = create_user(
        _engine(), username, _password(password), "administrator", full_name=full_name, actor="cli"
    )
    typer.echo(f"created administrator {user.username} (id {user.id})")


@users_app.command("create")
def create(
    username: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Option(help="administrator | analyst | steward | viewer")],
    agency: Annotated[str | None, typer.Option(help="Agency code (stewards).")] = None,
    password: Annotated[
        str | None, typer.Option(help="Password (else asked, or TALAIA_NEW_PASSWORD).")
    ] = None,
    full_name: Annotated[str | None, typer.Option(help="Full name.")] = None,
) -> None:
    """Create an account with a role."""
    from talaia.web.services.users import create_user

    user = create_user(
        _engine(),
        username,
        _password(password),
        role,
        agency_code=agency,
        full_name=full_name,
        actor="cli",
    )
    typer.echo(f"created {user.role} {user.username} (id {user.id})")


@users_app.command("token")
def token(
    name: Annotated[str, typer.Argument(help="Name of the API client.")],
    role: Annotated[str, typer.Option(help="Role of the client.")] = "viewer",
    agency: Annotated[str | None, typer.Option(help="Agency code (stewards).")] = None,
) -> None:
    """Create an API client and print its token (shown once, stored hashed)."""
    from talaia.web.services.users import create_api_client

    secret, _user = create_api_client(_engine(), name, role, agency_code=agency, actor="cli")
    typer.echo(secret)


@users_app.command("create-demo")
def create_demo() -> None:
    """Create the demo accounts (admin, analyst, steward of PN, viewer; passwords in README)."""
    from talaia.web.services.users import DEMO_USERS, create_demo_users

    made = {u.username for u in create_demo_users(_engine())}
    for username, role, agency, password in DEMO_USERS:
        state = "created" if username in made else "exists or agency missing"
        typer.echo(f"{username:10} {role:14} {agency or '':4} {password:16} {state}")


@users_app.command("list")
def list_users() -> None:
    """List accounts."""
    from rich.console import Console
    from rich.table import Table

    from talaia.web.services.users import list_users as _list

    table = Table("id", "username", "name", "role", "agency", "active")
    for u in _list(_engine()):
        table.add_row(
            str(u.id),
            u.username,
            u.full_name or "",
            u.role,
            u.agency_code or "",
            "yes" if u.active else "no",
        )
    Console().print(table)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main application."""
    app.command("serve")(serve)
    app.add_typer(users_app, name="users")
