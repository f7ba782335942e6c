"""The served monitor's tabs on the monitor's terminal list (boxoffice_tui.web_session),
without a browser: what each tab writes, and the rows the monitor shows from it."""

from __future__ import annotations

from datetime import UTC, datetime

from boxoffice_tui.web_session import GONE_AFTER_S, beat_state, expand, stopped_state
from core.monitor import TerminalRow

NOW = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
T = NOW.timestamp()


def _row(state: dict) -> TerminalRow:
    return TerminalRow("web-monitor", "monitor", NOW, 1.0, state, False)


def test_a_tab_writes_only_its_own_key_and_nulls_it_when_it_closes() -> None:
    beat = beat_state("a1b2c3", {"operator": "carla", "screen": "MonitorScreen",
                                 "online": True, "printer": "none", "breaker": "closed"})
    assert set(beat) == {"web:a1b2c3"}
    assert beat["web:a1b2c3"]["operator"] == "carla" and "printer" not in beat["web:a1b2c3"]
    stop = stopped_state("a1b2c3")
    assert stop["web:a1b2c3"] is None and stop["screen"] == "stopped"


def test_each_live_tab_is_a_row_and_the_shared_row_is_left_out() -> None:
    state = {"web:aaaaaa": {"operator": "carla", "at": T - 2},
             "web:bbbbbb": {"operator": "dora", "at": T - 40},   # silent: STALE
             "web:cccccc": None,                                   # closed
             "web:dddddd": {"operator": "x", "at": T - GONE_AFTER_S - 1},  # killed long ago
             "screen": "stopped"}
    rows = {r.name: r for r in expand([_row(state)], NOW, 15.0)}
    assert set(rows) == {"web-monitor/aaaaaa", "web-monitor/bbbbbb"}
    live, silent = rows["web-monitor/aaaaaa"], rows["web-monitor/bbbbbb"]
    assert (live.stale, live.stopped, live.state["operator"]) == (False, False, "carla")
    assert silent.stale and int(silent.age_s or 0) == 40


def test_a_terminal_monitor_sharing_the_row_keeps_its_own_row() -> None:
    state = {"web:aaaaaa": {"operator": "carla", "at": T - 1}, "screen": "MonitorScreen",
             "operator": None}
    names = [r.name for r in expand([_row(state)], NOW, 15.0)]
    assert names == ["web-monitor/aaaaaa", "web-monitor"]
    plain = TerminalRow("counter-1", "cashier", NOW, 1.0, {"screen": "SaleScreen"}, False)
    assert list(expand([plain], NOW, 15.0)) == [plain]


def test_only_keys_shaped_like_a_tab_are_listed_and_at_most_twenty() -> None:
    """The state is the monitor login's own to write: a key that is not a tab id (markup,
    newlines) is not a row, and thousands of tabs do not flood the list."""
    state = {"web:[b]x\nFAKE": {"operator": "m", "at": T}, "web:abcdef": {"at": "soon"}}
    state |= {f"web:{i:06x}": {"operator": "carla", "at": T - i} for i in range(500)}
    rows = [r for r in expand([_row(state)], NOW, 15.0)]
    assert len(rows) == 20
    assert {r.name for r in rows} == {f"web-monitor/{i:06x}" for i in range(20)}
