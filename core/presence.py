"""One live process per terminal name: a process that acts as a terminal holds a
session-level advisory lock on its name for as long as it runs, on a connection of its
own. A second process started with the same name (a kiosk left on the cashier's default
``counter-1``, a copy started twice) is refused with ``terminal_name_in_use`` instead of
releasing the first one's holds and heartbeating over it (issue 13 item 11).

The database decides, not a clock or a pid file: the lock goes with the holder's
connection, so a process that dies (kill -9, power cut) frees its name at once."""

from __future__ import annotations

import logging

from sqlalchemy import Connection, Engine, text

from core.db.engine import unbounded
from core.errors import BoxOfficeError

log = logging.getLogger(__name__)

# The two-key form of advisory locks: its own space, apart from the bigint keys that
# queue copies of one command (core.idempotency).
_NAMESPACE = 0x5445  # "TE"
_TRY = text("select pg_try_advisory_lock(:ns, hashtext(:name))")
_UNLOCK = text("select pg_advisory_unlock(:ns, hashtext(:name))")


class NameClaim:
    """The held claim; ``release()`` (or the process ending) frees the name."""

    def __init__(self, conn: Connection, name: str) -> None:
        self._conn: Connection | None = conn
        self.name = name

    @property
    def held(self) -> bool:
        return self._conn is not None and not self._conn.closed

    def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.execute(_UNLOCK, {"ns": _NAMESPACE, "name": self.name})
            conn.commit()
        except Exception:  # a dead connection released it already
            log.debug("terminal name release failed", exc_info=True)
        finally:
            conn.close()


def claim_terminal_name(engine: Engine, name: str) -> NameClaim:
    """Claim ``name`` for this process, or raise ``terminal_name_in_use``."""
    conn = engine.connect()
    try:
        unbounded(conn)  # held for the process's life: no call deadline on it
        got = conn.execute(_TRY, {"ns": _NAMESPACE, "name": name}).scalar_one()
        conn.commit()
    except BaseException:
        conn.close()
        raise
    if not got:
        conn.close()
        raise BoxOfficeError("terminal_name_in_use", name=name)
    return NameClaim(conn, name)
