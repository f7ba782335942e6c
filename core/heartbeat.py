"""Each running app reports that it is alive, and what it sees, into ``terminals``.

The monitor reads ``last_heartbeat`` (database clock, so terminals with skewed clocks
still compare fairly) and the ``state`` document: screen, operator, shift, printer,
breaker, queue depth. A failed beat is the caller's signal that the database is gone.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine, text

from core.uow import unit_of_work

_BEAT = text(
    # Merged, not replaced: other parts of the terminal (the offline journal) keep their
    # own keys in the same document.
    "update terminals set last_heartbeat = now(), state = state || cast(:state as jsonb)"
    " where id = :id"
)


def beat(engine: Engine, terminal_id: int, state: dict[str, Any], *,
         gateway: str | None = None) -> None:
    """Write the heartbeat; raises ``BoxOfficeError('database_unavailable')`` when the
    database cannot be reached. ``gateway``: the card gateway kind this terminal runs
    with (``none``, ``stripe``, ``sandbox``; the monitor raises an alert on a sandbox
    outside the demo)."""
    if gateway is not None:
        state = {**state, "gateway": gateway}
    with unit_of_work(engine) as conn:
        conn.execute(_BEAT, {"id": terminal_id, "state": json.dumps(state, default=str)})
