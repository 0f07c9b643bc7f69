"""Alembic environment: runs migrations on the connection camfleet hands over."""

from __future__ import annotations

from alembic import context

from camfleet.models import Base

target_metadata = Base.metadata


def run_migrations() -> None:
    """Run migrations on the connection given in the config attributes."""
    connection = context.config.attributes.get("connection")
    if connection is None:
        from camfleet.config import load_settings
        from camfleet.db import make_engine

        engine = make_engine(load_settings().effective_database_url)
        with engine.begin() as conn:
            _run(conn)
        return
    _run(connection)


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
