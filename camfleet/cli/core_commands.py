"""CLI commands of the core: database, site register, tokens and credentials."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.tree import Tree

from camfleet.cli.errors import CliError
from camfleet.cli.runtime import console, err_console, runtime
from camfleet.credentials import add_credential
from camfleet.db import current_revision, transaction
from camfleet.models import Credential, Site
from camfleet.register import RegisterInvalid, export_register, import_register
from camfleet.sites import get_site, subtree
from camfleet.tokens import Role, create_token

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
sites_app = typer.Typer(help="The site register: region, district, constituency, precinct.")
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
credentials_app = typer.Typer(help="Candidate camera credentials per site.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database schema to the latest revision."""
    rt = runtime()
    rev = current_revision(rt.engine)
    console.print(f"database at revision {rev}")


@sites_app.command("import")
def sites_import(
    file: Annotated[Path, typer.Argument(help="Register CSV (UTF-8)")],
) -> None:
    """Import the commission's register; all-or-nothing."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {file}: {exc.strerror}") from None
    rt = runtime()
    try:
        with transaction(rt.sessions) as session:
            summary = import_register(session, data)
    except RegisterInvalid as exc:
        for err in exc.errors:
            err_console.print(f"{file}:{err.line}: {err.reason}")
        raise CliError(str(exc)) from None
    parts = []
    for label, counts in (
        ("created", summary.created),
        ("updated", summary.updated),
        ("unchanged", summary.unchanged),
    ):
        if counts:
            parts.append(label + " " + ", ".join(f"{n} {lvl}" for lvl, n in counts.items()))
    console.print("; ".join(parts) or "nothing to import")


@sites_app.command("export")
def sites_export(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout)")
    ] = None,
) -> None:
    """Export the register as CSV, in the import format."""
    with runtime().sessions() as session:
        text = export_register(session)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")


@sites_app.command("list")
def sites_list(
    prefix: Annotated[str, typer.Option("--prefix", help="Only codes starting with this")] = "",
    table: Annotated[bool, typer.Option("--table", help="A table instead of a tree")] = False,
) -> None:
    """Show the site tree (or a table), optionally filtered by code prefix."""
    with runtime().sessions() as session:
        sites = [s for s in subtree(session, None) if s.code.startswith(prefix)]
    if not sites:
        console.print("no sites" + (f" with prefix {prefix!r}" if prefix else ""))
        return
    if table:
        t = Table("code", "level", "name", "expected", "contact", "phone")
        for s in sites:
            t.add_row(
                s.code,
                s.level,
                s.name,
                "" if s.expected_cameras is None else str(s.expected_cameras),
                s.contact_person or "",
                s.contact_phone or "",
            )
        console.print(t)
        return
    console.print(_tree(sites))


def _tree(sites: list[Site]) -> Tree:
    root = Tree("sites")
    nodes: dict[int, Tree] = {}
    for s in sites:  # path order: parents come first
        parent = nodes.get(s.parent_id) if s.parent_id else None
        label = f"[bold]{s.code}[/] {s.name} ({s.level}"
        label += f", {s.expected_cameras} cameras)" if s.expected_cameras is not None else ")"
        nodes[s.id] = (parent or root).add(label)
    return root


@token_app.command("create")
def token_create(
    role: Annotated[Role, typer.Option("--role", help="admin, monitor or installer")],
    name: Annotated[str, typer.Option("--name", help="Who or what holds the token")] = "cli",
    site: Annotated[str | None, typer.Option("--site", help="Site code (installer tokens)")] = None,
) -> None:
    """Create an API token and print it once; only its hash is stored."""
    rt = runtime()
    with transaction(rt.sessions) as session:
        scope = get_site(session, site) if site else None
        _, plain = create_token(session, name, role, scope)
    console.print(plain)


@credentials_app.command("add")
def credentials_add(
    username: Annotated[str, typer.Option("--username", help="Camera login name")],
    site: Annotated[
        str | None, typer.Option("--site", help="Site code; omit for the global default")
    ] = None,
    priority: Annotated[int, typer.Option(help="Lower is tried first")] = 100,
) -> None:
    """Store a candidate credential; the password is read from a prompt or standard input."""
    if sys.stdin.isatty():
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    rt = runtime()
    with transaction(rt.sessions) as session:
        scope = get_site(session, site) if site else None
        add_credential(session, rt.vault, scope, username, password, priority)
    console.print(f"stored credential {username!r} for {site or 'all sites'}")


@credentials_app.command("list")
def credentials_list() -> None:
    """List stored credentials (never the passwords)."""
    with runtime().sessions() as session:
        rows = session.query(Credential, Site.code).outerjoin(Site).order_by(Site.path).all()
    t = Table("id", "site", "username", "priority", "password")
    for cred, code in rows:
        t.add_row(str(cred.id), code or "(global)", cred.username, str(cred.priority), "••••••")
    console.print(t)
