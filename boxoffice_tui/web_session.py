"""One browser tab of ``boxoffice monitor --web``: a monitor process of its own, with an
identity of its own.

Every tab's process acts as the same monitor terminal (the server's ``<name>-monitor``:
on a terminal login the database lets a process act only as its own terminal, so a tab
cannot register a row of its own). Each tab therefore takes a short session id and
beats under its own key of that terminal's state, ``web:<id>``: its operator, screen and
the time of the beat. When the tab closes (textual-serve asks the process to quit) the key
is set to null and the tab is gone from the monitor. The monitor's terminal list shows
one row per live tab (``web-monitor/3fa9c1``) instead of the shared row, which every tab
refreshes and no tab owns; a tab whose process died without saying so shows as silent,
then drops out of the list."""

from __future__ import annotations

import os
import re
import secrets
import time
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any

from core.monitor import TerminalRow

PREFIX = "web:"
# A tab silent this long was killed (its server died): no longer listed.
GONE_AFTER_S = 600.0
# What a tab's id looks like (new_session_id); the state is written by the monitor's own
# login, so anything else there is not a tab of ours and is not listed.
SESSION_ID = re.compile(r"[0-9a-f]{6}")
# The most tabs listed per terminal (the latest beats first): a login that writes
# thousands of keys into its own state does not flood the supervisor's list.
MAX_TABS = 20


def served() -> bool:
    """True in a process that textual-serve started for a browser tab."""
    return "web_driver" in os.environ.get("TEXTUAL_DRIVER", "")


def new_session_id() -> str:
    return secrets.token_hex(3)


def beat_state(session_id: str, state: dict[str, Any]) -> dict[str, Any]:
    """What a tab writes into the shared terminal's state: only its own key, so it never
    overwrites another tab's (or a terminal monitor's) operator and screen."""
    mine = {k: state.get(k) for k in ("operator", "screen", "online", "lang")}
    return {PREFIX + session_id: mine | {"at": time.time()}}


def stopped_state(session_id: str) -> dict[str, Any]:
    """The last beat of a tab that closes. The shared row says stopped too: with every
    tab closed nothing beats it any more, and silence there is expected, not an alarm
    (an open tab's row is its own key; a terminal monitor sharing the row writes its
    own screen again on its next beat)."""
    return {PREFIX + session_id: None, "screen": "stopped", "stopped": "tab closed"}


def sessions_of(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The live tabs recorded in a terminal's state, by session id."""
    tabs = {k[len(PREFIX):]: v for k, v in state.items()
            if k.startswith(PREFIX) and isinstance(v, dict)
            and SESSION_ID.fullmatch(k[len(PREFIX):])
            and isinstance(v.get("at"), int | float)}
    latest = sorted(tabs, key=lambda sid: -float(tabs[sid]["at"]))[:MAX_TABS]
    return {sid: tabs[sid] for sid in latest}


def expand(rows: Iterable[TerminalRow], as_of: datetime | None,
           stale_after_s: float) -> Iterator[TerminalRow]:
    """The monitor's terminal rows with a served monitor's tabs as rows of their own.

    The shared row is left out when its tabs are all it stands for (no terminal monitor
    beating there: its screen is unset or stopped). A tab's age is measured from its own
    beat against the snapshot's database time."""
    now = as_of.timestamp() if as_of is not None else time.time()
    for row in rows:
        had_tabs = any(k.startswith(PREFIX) for k in row.state)
        for sid, tab in sorted(sessions_of(row.state).items()):
            age = max(now - float(tab["at"]), 0.0)
            if age > GONE_AFTER_S:
                continue
            state = {k: tab.get(k) for k in ("operator", "screen", "online", "lang")}
            yield replace(row, name=f"{row.name}/{sid}", age_s=age, state=state,
                          stale=age > stale_after_s, stopped=False)
        if not had_tabs or row.state.get("screen") not in (None, "stopped"):
            yield row
