"""Build the SQLAlchemy engine from settings (a configured server or the embedded one)."""

from __future__ import annotations

import time
import warnings

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError

from config import Settings

IDLE_PING_S = 10.0


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
        # No ping on every checkout: it doubled the round trips of a one-statement hold.
        # A connection idle for a while is pinged instead (below), and a disconnect found
        # mid-use invalidates the whole pool, so a failover costs one failed command (safe
        # to retry: every command carries its idempotency key).
        pool_pre_ping=False,
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

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_conn, record, _proxy) -> None:  # type: ignore[no-untyped-def]
        last = record.info.get("checked_in_at")
        if last is not None and time.monotonic() - last > IDLE_PING_S:
            try:
                dbapi_conn.execute("select 1")
            except Exception as exc:
                raise DisconnectionError(str(exc)) from exc  # the pool retries afresh

    @event.listens_for(engine, "checkin")
    def _mark_idle(_dbapi_conn, record) -> None:  # type: ignore[no-untyped-def]
        record.info["checked_in_at"] = time.monotonic()

    return engine
