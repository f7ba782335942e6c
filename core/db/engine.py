"""Build the SQLAlchemy engine from settings (a configured server or the embedded one)."""

from __future__ import annotations

import warnings

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from config import Settings


def database_url(settings: Settings) -> str:
    """The configured URL, or the embedded server's (started on demand)."""
    if settings.database.url is not None:
        url = settings.database.url.get_secret_value()
        # Accept plain libpq URLs too; the driver is always psycopg 3.
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        return url
    from core.db import embedded

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on servers
        return embedded.start(embedded.default_pgdata(settings.terminal.data_dir))


def build_engine(settings: Settings, url: str | None = None, *, pool_size: int | None = None,
                 application_name: str | None = None) -> Engine:
    db = settings.database
    url = url or database_url(settings)
    size = pool_size or db.pool_size
    engine = create_engine(
        make_url(url),
        pool_size=size,
        max_overflow=db.max_overflow,
        pool_pre_ping=True,
        pool_recycle=1800,
        connect_args={
            "connect_timeout": db.connect_timeout_s,
            "application_name": application_name or f"boxoffice:{settings.terminal.name}",
            "options": f"-c statement_timeout={db.statement_timeout_ms}",
        },
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        # Prepared statements for the hot path: psycopg prepares a query after it has
        # run this many times on a connection.
        dbapi_conn.prepare_threshold = 2

    return engine
