"""The terminal's local journal: SQLite in WAL mode with synchronous=FULL.

Every command is appended (and fsynced by the commit) before the terminal acts on it,
each with the idempotency key it will carry to the central database, so replaying the
journal in order after a crash or an outage applies each command exactly once (the
central ``command_log`` returns the first result of a key already applied).

SQLite is the standard library's crash-safe single-file store; nothing else here needs
a server, and a kill -9 at any point leaves either the whole transaction or none of it.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import BoxOfficeError

_SCHEMA = """
create table if not exists commands (
  seq integer primary key autoincrement,
  key text not null unique,
  command text not null,
  payload text not null,
  created_at real not null,
  status text not null default 'pending' check (status in ('pending','applied','flagged')),
  attempts integer not null default 0,
  last_error text,
  result text,
  applied_at real,
  reported integer not null default 0
);
create index if not exists ix_commands_status on commands (status, seq);
create table if not exists leases (
  lease_id text primary key,
  event_id integer not null,
  info text not null,
  ga_sold_local integer not null default 0,
  serials_used integer not null default 0,
  numbers_used integer not null default 0,
  status text not null default 'active' check (status in ('active','returning','returned'))
);
create table if not exists lease_seats (
  lease_id text not null references leases (lease_id),
  seat_id integer not null,
  sold_key text,
  primary key (lease_id, seat_id)
);
create table if not exists meta (k text primary key, v text not null);
create table if not exists stored_cards (
  order_id text primary key,
  sale_key text not null unique,
  amount_minor integer not null,
  currency text not null,
  card_ref text not null,
  status text not null default 'stored'
    check (status in ('stored','captured','declined')),
  gateway_ref text,
  reason text
);
"""


@dataclass(frozen=True, slots=True)
class Entry:
    seq: int
    key: uuid.UUID
    command: str
    payload: dict[str, Any]
    created_at: float
    status: str
    attempts: int
    last_error: dict[str, Any] | None


# A batch never grows beyond this many transactions: the leader commits even with
# followers still arriving, so no appender waits behind an endless stream.
MAX_BATCH = 256


class Journal:
    """One journal file per terminal; safe to share between the app's threads.

    Group commit: transactions that arrive together share one COMMIT (one fsync). Each
    thread runs its body inside a savepoint of the open batch; when it is done it either
    commits the batch itself (nobody else is queued for the lock: it is the leader) or
    waits on a condition while the queued threads add their bodies and the last of them
    commits. ``transaction()`` returns only once its batch is committed, so nothing is
    acknowledged before it is durable; a body that raises rolls back only its savepoint.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._cv = threading.Condition(self._lock)
        self._depth = 0
        self._owner: int | None = None  # thread running a body (nested calls join it)
        # Threads queued for the lock to run a transaction: while some are, the thread
        # that finished its body leaves the commit to them (the batch grows).
        self._arriving = 0
        self._arriving_lock = threading.Lock()
        self._open = False  # a BEGIN IMMEDIATE with bodies in it, not yet committed
        self._batch = 0  # number of the open (or last) batch
        self._batch_size = 0
        self._done = 0  # batches up to this number are committed or failed
        self._failed: dict[int, str] = {}
        self.commits = 0  # COMMITs issued (fsyncs): appends/commits is the batching
        try:
            self._db = sqlite3.connect(str(self.path), isolation_level=None,
                                       check_same_thread=False, timeout=10.0)
            mode = self._db.execute("pragma journal_mode=wal").fetchone()[0]
            if mode.lower() != "wal":
                raise sqlite3.OperationalError(f"journal_mode is {mode}, not wal")
            # FULL: each commit is fsynced before it returns, so an appended command
            # survives a power cut, not only a killed process.
            self._db.execute("pragma synchronous=full")
            self._db.execute("pragma foreign_keys=on")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise BoxOfficeError("journal_unavailable", detail=str(exc)) from exc

    def close(self) -> None:
        with self._lock:
            self._flush_locked()
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic, durable step. Nested use joins the outer transaction (same
        thread); the outermost returns once its batch is committed (fsynced)."""
        if self._owner == threading.get_ident():
            self._depth += 1
            try:
                yield self._db
            finally:
                self._depth -= 1
            return
        with self._arriving_lock:
            self._arriving += 1
        self._lock.acquire()
        with self._arriving_lock:
            self._arriving -= 1
        try:
            if not self._open:
                try:
                    self._db.execute("begin immediate")
                except sqlite3.Error as exc:
                    raise BoxOfficeError("journal_unavailable", detail=str(exc)) from exc
                self._open = True
                self._batch += 1
                self._batch_size = 0
            batch = self._batch
            self._db.execute("savepoint step")
            self._depth, self._owner = 1, threading.get_ident()
            try:
                yield self._db
            except BaseException:
                self._depth, self._owner = 0, None
                self._undo_step_locked()
                raise
            self._depth, self._owner = 0, None
            self._db.execute("release step")
            self._batch_size += 1
            self._await_locked(batch)
        finally:
            if self._open and not self._arriving and self._owner is None:
                # Whatever path left here (an error before the body ran, a batch opened
                # while this thread waited), a batch nobody is coming to is committed.
                self._commit_locked()
            self._lock.release()

    def _undo_step_locked(self) -> None:
        """A body failed: roll back its own work only. Others' bodies in the batch still
        need their commit; if nobody queued will do it, this thread does."""
        try:
            self._db.execute("rollback to step")
            self._db.execute("release step")
        except sqlite3.Error as exc:  # the whole transaction is gone (disk full, I/O)
            self._fail_locked(str(exc))
            return
        if self._open and not self._arriving:
            self._commit_locked()

    def _await_locked(self, batch: int) -> None:
        while self._done < batch:
            if self._open and self._batch == batch and (
                    not self._arriving or self._batch_size >= MAX_BATCH):
                self._commit_locked()
            else:
                self._cv.wait()
        if batch in self._failed:
            raise BoxOfficeError("journal_unavailable", detail=self._failed[batch])

    def _commit_locked(self) -> None:
        try:
            self._db.execute("commit")
        except sqlite3.Error as exc:
            self._fail_locked(str(exc))
            return
        self.commits += 1
        self._open = False
        self._done = self._batch
        self._cv.notify_all()

    def _fail_locked(self, reason: str) -> None:
        """The open batch cannot commit: every thread waiting on it gets the error."""
        batch = self._batch
        self._failed[batch] = reason
        for old in [b for b in self._failed if b < batch - 64]:
            del self._failed[old]
        with contextlib.suppress(sqlite3.Error):  # SQLite may have rolled back already
            self._db.execute("rollback")
        self._open = False
        self._done = batch
        self._cv.notify_all()

    def _flush_locked(self) -> None:
        """Commit the open batch before reading outside a transaction, so a reader
        (the replay above all) never sees a command that is not durable yet."""
        if self._open and self._owner != threading.get_ident():
            self._commit_locked()

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._flush_locked()
            yield self._db

    def remember_terminal_id(self, terminal_id: int) -> None:
        """Bind the journal to its terminal; another terminal may never replay it."""
        known = self.terminal_id()
        if known is not None and known != terminal_id:
            raise BoxOfficeError("journal_unavailable",
                                 detail=f"{self.path} belongs to terminal #{known}")
        with self.transaction() as db:
            db.execute("insert into meta (k, v) values ('terminal_id', ?)"
                       " on conflict (k) do update set v = excluded.v", (str(terminal_id),))

    def terminal_id(self) -> int | None:
        with self._reading() as db:
            row = db.execute("select v from meta where k = 'terminal_id'").fetchone()
        return int(row[0]) if row else None

    # --- commands ---------------------------------------------------------------------

    def append_in(self, db: sqlite3.Connection, command: str, payload: dict[str, Any],
                  key: uuid.UUID | None = None) -> uuid.UUID:
        key = key or uuid.uuid4()
        db.execute("insert into commands (key, command, payload, created_at)"
                   " values (?, ?, ?, ?)",
                   (str(key), command, json.dumps(payload, default=str), time.time()))
        return key

    def append(self, command: str, payload: dict[str, Any],
               key: uuid.UUID | None = None) -> uuid.UUID:
        with self.transaction() as db:
            return self.append_in(db, command, payload, key)

    def pending(self, limit: int | None = None) -> list[Entry]:
        q = ("select seq, key, command, payload, created_at, status, attempts, last_error"
             " from commands where status = 'pending' order by seq")
        if limit:
            q += f" limit {int(limit)}"
        with self._reading() as db:
            return [_entry(r) for r in db.execute(q)]

    def entries(self, status: str | None = None) -> list[Entry]:
        q = ("select seq, key, command, payload, created_at, status, attempts, last_error"
             " from commands")
        args: tuple = ()
        if status:
            q += " where status = ?"
            args = (status,)
        with self._reading() as db:
            return [_entry(r) for r in db.execute(q + " order by seq", args)]

    def mark_applied(self, seq: int, result: dict[str, Any] | None) -> None:
        with self.transaction() as db:
            db.execute("update commands set status = 'applied', result = ?, applied_at = ?,"
                       " attempts = attempts + 1 where seq = ? and status = 'pending'",
                       (json.dumps(result, default=str), time.time(), seq))

    def mark_applied_many(self, done: list[tuple[int, dict[str, Any] | None]]) -> None:
        """Several commands applied by one central transaction: one local commit."""
        if not done:
            return
        now = time.time()
        with self.transaction() as db:
            db.executemany("update commands set status = 'applied', result = ?,"
                           " applied_at = ?, attempts = attempts + 1"
                           " where seq = ? and status = 'pending'",
                           [(json.dumps(r, default=str), now, seq) for seq, r in done])

    def mark_flagged(self, seq: int, error: dict[str, Any]) -> None:
        """A command that can no longer apply: kept, with the reason, for a supervisor."""
        with self.transaction() as db:
            db.execute("update commands set status = 'flagged', last_error = ?,"
                       " attempts = attempts + 1 where seq = ?", (json.dumps(error), seq))

    def mark_reported(self, seq: int) -> None:
        with self.transaction() as db:
            db.execute("update commands set reported = 1 where seq = ?", (seq,))

    def unreported_flags(self) -> list[Entry]:
        with self._reading() as db:
            return [_entry(r) for r in db.execute(
                "select seq, key, command, payload, created_at, status, attempts, last_error"
                " from commands where status = 'flagged' and reported = 0 order by seq")]

    def note_attempt(self, seq: int, error: dict[str, Any]) -> None:
        with self.transaction() as db:
            db.execute("update commands set attempts = attempts + 1, last_error = ?"
                       " where seq = ?", (json.dumps(error), seq))

    def prune(self, older_than_s: float) -> int:
        """Forget commands applied longer ago than ``older_than_s`` (the central database
        has them). Pending and flagged commands are never pruned."""
        cutoff = time.time() - older_than_s
        with self.transaction() as db:
            return db.execute("delete from commands where status = 'applied'"
                              " and applied_at < ?", (cutoff,)).rowcount

    def result_of(self, key: uuid.UUID) -> dict[str, Any] | None:
        with self._reading() as db:
            row = db.execute("select result from commands where key = ?",
                                   (str(key),)).fetchone()
        return json.loads(row[0]) if row and row[0] else None

    def depth(self) -> int:
        with self._reading() as db:
            return int(db.execute(
                "select count(*) from commands where status = 'pending'").fetchone()[0])

    def counts(self) -> dict[str, int]:
        with self._reading() as db:
            rows = db.execute("select status, count(*) from commands group by status")
            out = {"pending": 0, "applied": 0, "flagged": 0}
            out.update({r[0]: int(r[1]) for r in rows})
            return out

    def oldest_pending_at(self) -> float | None:
        with self._reading() as db:
            row = db.execute(
                "select min(created_at) from commands where status = 'pending'").fetchone()
        return row[0] if row and row[0] is not None else None


def _entry(r: tuple) -> Entry:
    return Entry(seq=r[0], key=uuid.UUID(r[1]), command=r[2], payload=json.loads(r[3]),
                 created_at=r[4], status=r[5], attempts=r[6],
                 last_error=json.loads(r[7]) if r[7] else None)
