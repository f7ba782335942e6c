"""Watching the links a terminal depends on (central database, card gateway) and
switching online/offline with hysteresis, so a flaky link does not flap the UI.

A link goes offline after ``offline_after`` failed probes in a row and back online
after ``online_after`` good ones in a row. Real operations feed the same counters
(``report``), so a sale that fails on a dead connection counts as a failed probe.
The very first reading decides the initial state without waiting.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, text

from core.db.engine import probe_engine as bounded_probe_engine

log = logging.getLogger(__name__)

Probe = Callable[[], bool]
Listener = Callable[[str, bool], Any]  # (link name, online)


@dataclass
class LinkState:
    online: bool | None = None  # None until the first reading
    ok_streak: int = 0
    fail_streak: int = 0
    changed_at: float = field(default_factory=time.time)
    last_error: str | None = None
    transitions: int = 0


class ConnectivityWatch:
    def __init__(self, probes: dict[str, Probe], *, offline_after: int = 3,
                 online_after: int = 3, interval_s: float = 2.0) -> None:
        self.probes = dict(probes)
        self.offline_after = offline_after
        self.online_after = online_after
        self.interval_s = interval_s
        self.links: dict[str, LinkState] = {name: LinkState() for name in probes}
        self._listeners: list[Listener] = []
        self._after_pass: list[Callable[[], Any]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def subscribe(self, fn: Listener) -> None:
        self._listeners.append(fn)

    def is_online(self, link: str = "database") -> bool:
        state = self.links.get(link)
        return bool(state and state.online)

    def report(self, link: str, ok: bool, error: str | None = None) -> None:
        """Feed one observation (a probe or a real call) into the hysteresis."""
        changed: bool | None = None
        with self._lock:
            s = self.links.setdefault(link, LinkState())
            if ok:
                s.ok_streak, s.fail_streak = s.ok_streak + 1, 0
                s.last_error = None
            else:
                s.fail_streak, s.ok_streak = s.fail_streak + 1, 0
                s.last_error = error or s.last_error or "unreachable"
            if s.online is None:
                changed = s.online = ok
            elif s.online and s.fail_streak >= self.offline_after:
                changed = s.online = False
            elif not s.online and s.ok_streak >= self.online_after:
                changed = s.online = True
            if changed is not None:
                s.changed_at = time.time()
                s.transitions += 1
        if changed is not None:
            log.info("link %s is now %s", link, "online" if changed else "offline")
            for fn in list(self._listeners):
                try:
                    fn(link, changed)
                except Exception:
                    log.exception("connectivity listener failed")

    def probe_once(self) -> dict[str, bool]:
        seen = {}
        for name, probe in self.probes.items():
            try:
                ok, err = bool(probe()), None
            except Exception as exc:  # any failure of a probe means the link is down
                ok, err = False, f"{type(exc).__name__}: {exc}"[:200]
            self.report(name, ok, err)
            seen[name] = ok
        return seen

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="connectivity", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def after_each_pass(self, fn: Callable[[], Any]) -> None:
        """Run ``fn`` after every background probe pass (e.g. the heartbeat)."""
        self._after_pass.append(fn)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.probe_once()
            for fn in list(self._after_pass):
                try:
                    fn()
                except Exception:
                    log.exception("after-probe hook failed")
            self._stop.wait(self.interval_s)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {name: {"online": s.online, "since": s.changed_at,
                           "last_error": s.last_error, "transitions": s.transitions}
                    for name, s in self.links.items()}


def database_probe(engine: Engine, timeout_s: float) -> Probe:
    """A fresh connection each time (no pool), so a cut link is seen at once rather than
    through a pooled connection that looks alive."""
    # Bounded on the client too: a frozen server would otherwise stall the watch itself.
    probe_engine = bounded_probe_engine(engine.url, timeout_s)

    def probe() -> bool:
        with probe_engine.connect() as conn:
            conn.execute(text("select 1"))
        return True

    return probe


def http_probe(url: str, timeout_s: float) -> Probe:
    """Any HTTP answer below 500 means the gateway is reachable."""
    import httpx

    def probe() -> bool:
        return httpx.get(url, timeout=timeout_s).status_code < 500

    return probe
