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
        int,
        typer.Option(
            help="Worker processes. Caches, login rate limits and logout revocations are per "
            "process: keep 1 unless that is acceptable."
        ),
    ] = 1,
) -> None:
    """Serve the web portal and the JSON API (uvicorn).

    The portal answers only to the host names of TALAIA_WEB_ALLOWED_HOSTS (default: the
    loopback names), to which --host is added."""
    import uvicorn

    from talaia.web.config import DEFAULT_ALLOWED_HOSTS

    if host in ("127.0.0.1", "localhost", "::1"):
        # Plain HTTP on loopback: cookies cannot require HTTPS there.
        os.environ.setdefault("TALAIA_WEB_COOKIE_SECURE", "0")
    os.environ.setdefault("TALAIA_WEB_WARM_CACHE", "1")
    if host not in ("0.0.0.0", "::", ""):
        name = f"[{host}]" if ":" in host and not host.startswith("[") else host
        allowed = os.environ.get("TALAIA_WEB_ALLOWED_HOSTS") or DEFAULT_ALLOWED_HOSTS
        if name.lower() not in {h.strip().lower() for h in allowed.split(",")}:
            os.environ["TALAIA_WEB_ALLOWED_HOSTS"] = f"{allowed},{name}"
    _engine()  # migrate before serving
    typer.echo(f"Talaia portal: http://{host}:{port}/")
    if host in ("0.0.0.0", "::") and not os.environ.get("TALAIA_WEB_ALLOWED_HOSTS"):
        typer.echo(
            "Only the loopback host names are accepted: set TALAIA_WEB_ALLOWED_HOSTS to the "
            "names clients use. / Solo se aceptan los nombres locales: indique en "
            "TALAIA_WEB_ALLOWED_HOSTS los nombres que usan los clientes."
        )
    uvicorn.run(
        "talaia.web.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        proxy_headers=False,
        server_header=False,
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
    name: Annotated[str, typer.Argument(help="Name of the token / of the API client.")],
    role: Annotated[
        str | None, typer.Option(help="Create a client account api:NAME with this role.")
    ] = None,
    agency: Annotated[str | None, typer.Option(help="Agency code (stewards).")] = None,
    user: Annotated[
        str | None, typer.Option(help="Issue the token to this existing account instead.")
    ] = None,
    expires_days: Annotated[
        int | None, typer.Option(help="The token is refused after this many days.")
    ] = None,
) -> None:
    """Create an API token and print it (shown once, stored as its SHA-256).

    Without --user, a client account api:NAME is created with --role (default viewer)."""
    from talaia.errors import NotFoundError
    from talaia.web.services import tokens
    from talaia.web.services.users import list_users as _list

    engine = _engine()
    if user is None:
        secret, _client = tokens.create_api_client(
            engine,
            name,
            role or "viewer",
            agency_code=agency,
            actor="cli",
            expires_in_days=expires_days,
        )
    else:
        if role is not None or agency is not None:
            raise UserInputError("--user: the token acts with that account's role and agency")
        found = [u for u in _list(engine) if u.username == user]
        if not found:
            raise NotFoundError(f"user {user!r} does not exist")
        secret, _info = tokens.create_token(
            engine, found[0].id, name, actor="cli", expires_in_days=expires_days
        )
    typer.echo(secret)


@users_app.command("tokens")
def list_tokens() -> None:
    """List API tokens (never the tokens themselves)."""
    from rich.console import Console
    from rich.table import Table

    from talaia.web.services import tokens

    table = Table("id", "name", "user", "created", "expires", "last used", "state")
    for k in tokens.list_tokens(_engine()):
        table.add_row(
            str(k.id),
            k.name,
            k.username,
            str(k.created_at),
            str(k.expires_at or ""),
            str(k.last_used_at or ""),
            k.state(),
        )
    Console().print(table)


@users_app.command("revoke-token")
def revoke_token(
    token_id: Annotated[int, typer.Argument(help="Token id (see `talaia users tokens`).")],
) -> None:
    """Revoke an API token: every later request with it is refused."""
    from talaia.web.services import tokens

    info = tokens.revoke_token(_engine(), token_id, actor="cli")
    typer.echo(f"revoked token {info.id} ({info.name}) at {info.revoked_at}")


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
