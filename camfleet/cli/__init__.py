"""The `camfleet` command: the one place where core, discovery, health and api meet."""

from __future__ import annotations

import logging
import sys

import click
import typer
from rich.markup import escape

from camfleet.cli.core_commands import credentials_app, db_app, sites_app, token_app
from camfleet.cli.errors import USER_ERRORS
from camfleet.cli.runtime import err_console
from camfleet.redact import redact_text

app = typer.Typer(
    help="camfleet: camera fleet management for polling precincts.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(db_app, name="db")
app.add_typer(sites_app, name="sites")
app.add_typer(token_app, name="token")
app.add_typer(credentials_app, name="credentials")

_EXTENSIONS = (
    "camfleet.cli.serve_commands",
    "camfleet.cli.discover_commands",
    "camfleet.cli.health_commands",
    "camfleet.cli.demo_commands",
)


def _load_extensions() -> None:
    """Register the commands of the other packages (discovery, health, api)."""
    import importlib

    for module in _EXTENSIONS:
        importlib.import_module(module).register(app)


def main() -> None:
    """Run the CLI; known errors become one line on stderr and a non-zero exit code."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    _load_extensions()
    try:
        code = app(standalone_mode=False)
    except click.exceptions.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except USER_ERRORS as exc:
        err_console.print(f"error: {escape(str(exc))}")
        sys.exit(getattr(exc, "exit_code", 1))
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: no traceback to users
        err_console.print(
            f"error: unexpected {type(exc).__name__}: {escape(redact_text(str(exc)))}"
        )
        sys.exit(70)
    sys.exit(code if isinstance(code, int) else 0)
