"""A unit of work: one connection, one transaction, rolled back unless it commits.

Services use SQLAlchemy Core on a Connection rather than an ORM Session on the hot path:
measured here, statements built once and run on a Connection keep most of raw psycopg's
throughput, while ORM sessions add per-call overhead the seat lock does not need.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from core.db.engine import translate_error
from core.errors import BoxOfficeError

T = TypeVar("T")


class TransactionConflict(BoxOfficeError):
    """A deadlock or serialization failure: PostgreSQL rolled the whole transaction back,
    so nothing happened and the command (idempotent by its key) may simply run again.
    Shown as ``lock_timeout`` ("busy; try again") if retries do not get it through."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__("lock_timeout", reason="deadlock" if sqlstate == "40P01"
                         else "serialization")


@contextmanager
def _mapped_errors() -> Iterator[None]:
    """Deadlocks and serialization failures become TransactionConflict (see
    ``retry_conflicts``). Database faults (down, too slow, lock timeout) are translated
    by the engine for every service (core.db.engine.translate_error); the same function
    runs here for engines made elsewhere (tools, tests)."""
    try:
        yield
    except DBAPIError as exc:
        if _sqlstate(exc) in _CONFLICTS:
            raise TransactionConflict(_sqlstate(exc) or "") from exc
        err = translate_error(exc, disconnect=exc.connection_invalidated)
        if err is not None:
            raise err from exc
        raise


@contextmanager
def unit_of_work(engine: Engine) -> Iterator[Connection]:
    """Yield a connection inside a transaction; commit on success, roll back on error.

    The body may call ``conn.rollback()`` itself (the failure paths do, to release row
    locks before diagnosing); the next statement then starts a fresh transaction.
    """
    hooks: list[Callable[[], Any]] = []
    with _mapped_errors(), engine.connect() as conn:
        conn.info["after_commit"] = hooks
        try:
            yield conn
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        finally:
            conn.info.pop("after_commit", None)
    for fn in hooks:
        fn()


@contextmanager
def autocommit(engine: Engine) -> Iterator[Connection]:
    """A connection in autocommit mode, for services that are one atomic statement
    (no BEGIN/COMMIT round trips); errors are mapped as in ``unit_of_work``."""
    with _mapped_errors(), engine.connect() as conn:
        yield conn.execution_options(isolation_level="AUTOCOMMIT")


def after_commit(conn: Connection, fn: Callable[[], Any]) -> None:
    """Run ``fn`` once the unit of work has committed (side effects: cache, pub/sub)."""
    conn.info.setdefault("after_commit", []).append(fn)


# deadlock_detected, serialization_failure: the transaction was rolled back entirely.
_CONFLICTS = ("40P01", "40001")


def retry_conflicts(fn: Callable[[], T], attempts: int = 3) -> T:
    """Run ``fn`` (one idempotent command: a unit of work keyed by its idempotency key)
    again when PostgreSQL rolled it back for a deadlock or a serialization failure; the
    last failure reaches the caller as ``lock_timeout``."""
    for attempt in range(attempts):
        try:
            return fn()
        except TransactionConflict:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _sqlstate(exc: DBAPIError) -> str | None:
    return getattr(getattr(exc, "orig", None), "sqlstate", None)
