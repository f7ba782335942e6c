"""Child process for the kill-during-appends test: sells from the lease, offline, in a
loop, printing each sale's key once ``sell_from_lease`` has returned (the moment a real
terminal would print the ticket)."""

from __future__ import annotations

import sys

from config import load_settings
from core.actors import Actor
from core.app_context import build_context
from sync.journal import Journal
from sync.terminal import OfflineTerminal


def main() -> None:
    settings = load_settings()
    event_id, terminal_id = int(sys.argv[1]), int(sys.argv[2])
    ctx = build_context(settings)
    term = OfflineTerminal(ctx, Actor(terminal_id, settings.terminal.name),
                           Journal(settings.journal_path), probes={"database": lambda: False})
    term.watch.probe_once()
    print("ready", flush=True)
    while True:
        sale = term.sell_from_lease(event_id, ga_qty=1, method="cash")
        print(sale.key, flush=True)


if __name__ == "__main__":
    main()
