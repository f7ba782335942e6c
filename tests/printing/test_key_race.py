"""Terminal processes starting together must end up with one complete signing key."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path


def _load(path: str, q) -> None:  # runs in a child process
    from core.tickets.keys import load_or_create_key

    q.put(load_or_create_key(Path(path)).key_id)


def test_concurrent_first_start_agrees_on_one_key(tmp_path):
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    path = tmp_path / "keys" / "ticket.key"
    procs = [ctx.Process(target=_load, args=(str(path), q)) for _ in range(12)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    ids = [q.get(timeout=5) for _ in procs]
    assert all(p.exitcode == 0 for p in procs)
    assert len(set(ids)) == 1
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert not [f for f in path.parent.iterdir() if f.name.startswith(".key-")]
