"""What every CLI command needs: settings, the database and the vault, opened once."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from rich.console import Console
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from camfleet.config import Settings, load_settings
from camfleet.db import make_engine, session_factory, upgrade
from camfleet.vault import Vault

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


@dataclass
class Runtime:
    """Lazily opened resources of one CLI invocation."""

    settings: Settings

    @cached_property
    def engine(self) -> Engine:
        """Return the engine, with the schema brought to the latest revision."""
        engine = make_engine(self.settings.effective_database_url)
        upgrade(engine)
        return engine

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        """Return the session factory."""
        return session_factory(self.engine)

    @cached_property
    def vault(self) -> Vault:
        """Return the credential vault."""
        return Vault.from_settings(self.settings)


_runtime: Runtime | None = None


def runtime() -> Runtime:
    """Return this invocation's runtime, reading settings on first use."""
    global _runtime  # one runtime per CLI process
    if _runtime is None:
        _runtime = Runtime(load_settings())
    return _runtime
