"""Counting what a service call costs on the wire: statements, the BEGIN that psycopg
sends before the first statement of a transaction, COMMITs and ROLLBACKs, and the
autocommit statements that write (each is a commit of its own). Hooked on the engine's
SQLAlchemy events and read from psycopg's transaction status, so nothing is guessed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from psycopg.pq import TransactionStatus
from sqlalchemy import Engine, event

# A read in autocommit mode commits nothing; anything else there is a write (the
# one-statement holds begin with WITH, functions are called through SELECT).
_PLAIN_READ = re.compile(r"^\s*select\b(?!.*\b(insert|update|delete|pg_advisory|bo_\w+\s*\())",
                         re.IGNORECASE | re.DOTALL)


@dataclass
class Trips:
    statements: list[str] = field(default_factory=list)
    begins: int = 0
    commits: int = 0  # COMMITs sent
    autocommit_writes: int = 0
    rollbacks: int = 0

    @property
    def round_trips(self) -> int:
        return len(self.statements) + self.begins + self.commits + self.rollbacks

    @property
    def durable_commits(self) -> int:
        """Transactions that wrote and committed: each one a WAL flush on the server."""
        return self.commits + self.autocommit_writes

    def summary(self) -> dict[str, Any]:
        return {"round_trips": self.round_trips, "commits": self.durable_commits,
                "statements": len(self.statements), "begins": self.begins,
                "rollbacks": self.rollbacks}


@contextmanager
def counting(engine: Engine) -> Iterator[Trips]:
    trips = Trips()

    def on_execute(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        pg = cursor.connection
        if not pg.autocommit and pg.info.transaction_status == TransactionStatus.IDLE:
            trips.begins += 1  # psycopg sends BEGIN first, a round trip of its own
        elif pg.autocommit and not _PLAIN_READ.match(statement):
            trips.autocommit_writes += 1
        trips.statements.append(" ".join(statement.split())[:80])

    def _in_transaction(conn: Any) -> bool:
        dbapi = conn.connection.dbapi_connection
        return dbapi is not None and not dbapi.autocommit and \
            dbapi.info.transaction_status != TransactionStatus.IDLE

    def on_commit(conn: Any) -> None:
        if _in_transaction(conn):
            trips.commits += 1

    def on_rollback(conn: Any) -> None:
        if _in_transaction(conn):
            trips.rollbacks += 1

    event.listen(engine, "before_cursor_execute", on_execute)
    event.listen(engine, "commit", on_commit)
    event.listen(engine, "rollback", on_rollback)
    try:
        yield trips
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
        event.remove(engine, "commit", on_commit)
        event.remove(engine, "rollback", on_rollback)
