"""`thrv user` and `thrv serve`: the dashboard, its users and its API."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from thrv.cli._app import (
    ReadDbOption,
    app,
    console,
    err,
)
from thrv.store.database import DEFAULT_DB

user_app = typer.Typer(
    help="Manage dashboard users (passwords are stored only as salted hashes).\n\n"
    "Example: `thrv user add alice --role analyst --db force.duckdb`",
    no_args_is_help=True,
)
app.add_typer(user_app, name="user")


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="User name.")],
    role: Annotated[str, typer.Option(help="analyst (everything), partner (aggregates only) or public (published view).")] = "analyst",
    db: Annotated[
        Path, typer.Option("--db", help="The store the users file belongs to (it need not exist yet).")
    ] = Path(DEFAULT_DB),
    users: Annotated[
        Path | None, typer.Option(help="Users file (default: the store's file name + .users.json, e.g. thrv.duckdb.users.json).")
    ] = None,
    token: Annotated[bool, typer.Option(help="Also create an API token (printed once).")] = False,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from standard input.")] = False,
    force: Annotated[str, typer.Option(help="The force the dashboard opens on for this user, as published.")] = "",
) -> None:
    """Add or replace a user of `thrv serve`. There is no default user: add one first.

    Example: `thrv user add alice --role analyst --db force.duckdb`
    """
    from thrv.web.auth import AuthError, add_user, users_path_for

    path = users or users_path_for(db)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    try:
        new_token = add_user(path, name, role, password, with_token=token, force=force)
    except AuthError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    console.print(f"user {name} ({role}) saved in {path}")
    if new_token:
        console.print(f"API token (shown once): {new_token}")


@app.command()
def serve(
    db: ReadDbOption = Path(DEFAULT_DB),
    host: Annotated[str, typer.Option(help="Address to listen on (localhost only by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    users: Annotated[
        Path | None, typer.Option(help="Users file (default: the store's file name + .users.json, e.g. thrv.duckdb.users.json).")
    ] = None,
    audit: Annotated[
        Path | None, typer.Option(help="Audit log, JSON lines (default: the store's file name + .audit.jsonl, e.g. thrv.duckdb.audit.jsonl).")
    ] = None,
    warm: Annotated[str | None, typer.Option(help="Months built in the background after start-up and each ingest: a number (the latest N), 'all', or months, e.g. 2025-11,2025-12 (default: web.toml, 12).")] = None,
    settings: Annotated[Path | None, typer.Option(help="Serve settings, TOML (default: the shipped web.toml: login throttle, builds).")] = None,
    snapshot_dir: Annotated[Path | None, typer.Option(help="Folder for the read-only copy of the store the server reads (default: a temporary folder).")] = None,
) -> None:
    """Run the dashboard and REST API: choose area, month and indicator; download any format.

    Every request needs a signed-in user (`thrv user add` first); roles limit what each
    sees; every request is written to the audit log. The OpenAPI documentation is at /docs.
    The server reads a copy of the store, so `thrv ingest` can run meanwhile; new data is
    picked up when the ingest ends.

    Example: `thrv serve --db force.duckdb --port 8000 --warm 6`
    """
    import uvicorn

    from thrv.web.app import create_app
    from thrv.web.auth import AuthError, load_settings, users_path_for

    if not db.exists():
        err.print(f"[red]error:[/red] {db}: no such store; run `thrv ingest PATH --db {db}` first")
        raise typer.Exit(2)
    try:
        conf = load_settings(settings)
        builds = conf.get("builds", {})
        months: int | list[str] = int(builds.get("warm_months", 12))
        if warm:
            months = 10**6 if warm == "all" else int(warm) if warm.isdigit() else [m.strip() for m in warm.split(",")]
        web = create_app(
            db, users or users_path_for(db), audit or db.with_name(db.name + ".audit.jsonl"), warm=months,
            settings=conf, prerender=tuple(builds.get("prerender_formats", ())), snapshot_dir=snapshot_dir,
        )
    except AuthError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    if host not in {"127.0.0.1", "localhost", "::1"}:
        err.print(f"[yellow]warning:[/yellow] listening on {host}: put it behind TLS before exposing it")
    console.print(f"thrv dashboard on http://{host}:{port}/ (API docs at /docs)")
    uvicorn.run(web, host=host, port=port, log_level="warning")
