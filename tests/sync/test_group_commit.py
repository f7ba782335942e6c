"""Group commit in the journal: appends that arrive together share one fsync, yet no
append returns before its row is committed (seen by another connection), and each
appender's commands keep their order."""

from __future__ import annotations

import sqlite3
import threading
import uuid

import pytest

from core.errors import BoxOfficeError
from sync.journal import Journal

THREADS = 8
EACH = 60


def test_concurrent_appenders_all_durable_and_in_order(tmp_path):
    journal = Journal(tmp_path / "j.sqlite3")
    start = threading.Barrier(THREADS)
    not_visible: list[uuid.UUID] = []

    def appender(t: int) -> None:
        # A second connection sees only committed rows: if append() ever returned
        # before its batch was committed, the key would be missing here.
        other = sqlite3.connect(str(journal.path))
        start.wait()
        for i in range(EACH):
            key = journal.append("sale", {"t": t, "i": i})
            row = other.execute("select 1 from commands where key = ?",
                                (str(key),)).fetchone()
            if row is None:
                not_visible.append(key)
        other.close()

    threads = [threading.Thread(target=appender, args=(t,)) for t in range(THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not_visible == []
    entries = journal.pending()
    assert len(entries) == THREADS * EACH
    assert len({e.key for e in entries}) == THREADS * EACH
    for t in range(THREADS):
        mine = [e.payload["i"] for e in entries if e.payload["t"] == t]
        assert mine == list(range(EACH))  # each appender's commands in its order
    # Batching happened: fewer commits than appends (8 threads racing for one lock).
    assert journal.commits < THREADS * EACH
    journal.close()


def test_a_failing_body_rolls_back_only_itself(tmp_path):
    journal = Journal(tmp_path / "j.sqlite3")
    gate = threading.Event()
    release = threading.Event()
    errors: list[BaseException] = []

    def slow_good() -> None:
        with journal.transaction() as db:
            journal.append_in(db, "good", {"n": 1})
            gate.set()
            release.wait(5)

    th = threading.Thread(target=slow_good)
    th.start()
    gate.wait(5)

    def bad() -> None:
        try:
            with journal.transaction() as db:
                journal.append_in(db, "bad", {"n": 2})
                raise BoxOfficeError("invalid_input", detail="boom")
        except BoxOfficeError as exc:
            errors.append(exc)

    tb = threading.Thread(target=bad)
    tb.start()
    release.set()
    th.join()
    tb.join()
    assert len(errors) == 1
    assert [e.command for e in journal.pending()] == ["good"]
    with pytest.raises(BoxOfficeError), journal.transaction() as db:
        journal.append_in(db, "also-bad", {})
        raise BoxOfficeError("invalid_input", detail="again")
    assert [e.command for e in journal.pending()] == ["good"]
    journal.close()
