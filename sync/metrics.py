"""Prometheus gauges for the offline state (the monitor's alert rules can fire on a
terminal that stays offline or whose queue grows)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

ONLINE = Gauge("boxoffice_sync_online", "1 when the terminal reaches the central database",
               ["terminal"])
QUEUE_DEPTH = Gauge("boxoffice_sync_queue_depth", "journaled commands not yet applied",
                    ["terminal"])
OLDEST_UNSENT = Gauge("boxoffice_sync_oldest_unsent_seconds",
                      "age of the oldest unsent command (0 when none)", ["terminal"])
FLAGGED = Gauge("boxoffice_sync_flagged", "commands kept for a supervisor", ["terminal"])
OFFLINE_CARDS = Gauge("boxoffice_sync_offline_card_minor",
                      "stored card money not yet charged (minor units)", ["terminal"])
REPLAYED = Counter("boxoffice_sync_replayed_total", "journaled commands replayed",
                   ["terminal", "outcome"])


def publish(terminal: str, status: dict) -> None:
    ONLINE.labels(terminal).set(1 if status["online"] else 0)
    QUEUE_DEPTH.labels(terminal).set(status["queue_depth"])
    OLDEST_UNSENT.labels(terminal).set(status["oldest_unsent_s"] or 0)
    FLAGGED.labels(terminal).set(status["flagged"])
    OFFLINE_CARDS.labels(terminal).set(status["offline_card_total_minor"])
