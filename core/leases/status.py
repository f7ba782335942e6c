"""Merging a part's state into the terminal's heartbeat document."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine, text

from core.uow import unit_of_work

_MERGE = text(
    "update terminals set last_heartbeat = now(),"
    " state = coalesce(state, '{}'::jsonb) || cast(:patch as jsonb) where id = :id"
)


def merge_terminal_state(engine: Engine, terminal_id: int, patch: dict[str, Any]) -> None:
    """Merge top-level keys into ``terminals.state`` (other parts' keys are kept)."""
    with unit_of_work(engine) as conn:
        conn.execute(_MERGE, {"id": terminal_id, "patch": json.dumps(patch, default=str)})
