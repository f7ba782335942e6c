"""The terminal's local copy of its leases, kept in the journal file so that a sale's
seat bookkeeping and its journaled command commit together (one SQLite transaction)."""

from __future__ import annotations

import json
import sqlite3
import uuid
from dataclasses import dataclass

from core.errors import BoxOfficeError
from core.leases.results import LeasedSeat, LeaseInfo
from sync.journal import Journal


@dataclass(frozen=True, slots=True)
class LocalLease:
    info: LeaseInfo
    status: str  # active | returning | returned
    sold_seat_ids: frozenset[int]
    ga_sold: int

    @property
    def free_seats(self) -> tuple[LeasedSeat, ...]:
        return tuple(s for s in self.info.seats if s.seat_id not in self.sold_seat_ids)

    @property
    def remaining(self) -> int:
        if self.info.kind == "ga":
            return self.info.ga_quota - self.ga_sold
        return len(self.info.seats) - len(self.sold_seat_ids)

    def to_json(self) -> dict:
        return {"lease_id": str(self.info.lease_id), "event_id": self.info.event_id,
                "kind": self.info.kind, "status": self.status, "units": self.info.units,
                "remaining": self.remaining,
                "free_seats": [s.seat_id for s in self.free_seats][:200]
                if self.info.kind == "seats" else [],
                "section_id": self.info.section_id}


class LeaseBook:
    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        # Parsed lease documents by id: they only change through save(), and parsing one
        # (with its serial block) per sale made appends O(lease size).
        self._infos: dict[str, LeaseInfo] = {}

    def save(self, info: LeaseInfo) -> None:
        """Remember a lease taken (or re-read) from the central database. Seats already
        sold centrally are marked sold here; local sales are never forgotten."""
        with self.journal.transaction() as db:
            db.execute("insert into leases (lease_id, event_id, info) values (?, ?, ?)"
                       " on conflict (lease_id) do update set info = excluded.info",
                       (str(info.lease_id), info.event_id, json.dumps(info.to_json())))
            for s in info.seats:
                db.execute("insert into lease_seats (lease_id, seat_id, sold_key)"
                           " values (?, ?, ?) on conflict do nothing",
                           (str(info.lease_id), s.seat_id,
                            "central" if s.status != "leased" else None))
            if info.kind == "ga":
                db.execute("update leases set ga_sold_local = max(ga_sold_local, ?)"
                           " where lease_id = ?", (info.ga_sold, str(info.lease_id)))
            self._infos.pop(str(info.lease_id), None)

    def all(self, statuses: tuple[str, ...] = ("active", "returning")) -> list[LocalLease]:
        with self.journal.transaction() as db:
            marks = ",".join("?" * len(statuses))
            ids = [r[0] for r in db.execute(
                f"select lease_id from leases where status in ({marks}) order by rowid",
                statuses)]
            # _load answers None only for an id not in the table; these were just read.
            return [lease for i in ids if (lease := self._load(db, i)) is not None]

    def get(self, lease_id: uuid.UUID) -> LocalLease | None:
        with self.journal.transaction() as db:
            return self._load(db, str(lease_id))

    def _load(self, db: sqlite3.Connection, lease_id: str) -> LocalLease | None:
        info = self._infos.get(lease_id)
        row = db.execute(
            "select ga_sold_local, status, case when ? then null else info end from leases"
            " where lease_id = ?", (info is not None, lease_id)).fetchone()
        if row is None:
            return None
        if info is None:
            info = self._infos[lease_id] = LeaseInfo.from_json(json.loads(row[2]))
        sold = frozenset(r[0] for r in db.execute(
            "select seat_id from lease_seats where lease_id = ? and sold_key is not null",
            (lease_id,))) if info.kind == "seats" else frozenset()
        return LocalLease(info, row[1], sold, int(row[0]))

    # --- inside a sale's transaction ---------------------------------------------------

    def claim_seats(self, db: sqlite3.Connection, event_id: int, seat_ids: list[int],
                    sale_key: uuid.UUID) -> LocalLease:
        """Mark the seats sold in the (one) active lease that holds them all."""
        marks = ",".join("?" * len(seat_ids))
        rows = db.execute(
            f"select ls.lease_id, ls.seat_id, ls.sold_key from lease_seats ls"
            f" join leases l on l.lease_id = ls.lease_id"
            f" where l.event_id = ? and l.status = 'active' and ls.seat_id in ({marks})",
            (event_id, *seat_ids)).fetchall()
        found = {r[1]: r for r in rows}
        missing = sorted(set(seat_ids) - set(found))
        sold = sorted(r[1] for r in rows if r[2] is not None)
        if missing or sold:
            raise BoxOfficeError("not_in_lease", seat_ids=missing + sold)
        leases = {r[0] for r in rows}
        if len(leases) != 1:
            raise BoxOfficeError("invalid_input",
                                 detail="These seats come from different leases; sell them"
                                        " in separate sales.")
        lease_id = leases.pop()
        db.execute(f"update lease_seats set sold_key = ? where lease_id = ?"
                   f" and seat_id in ({marks})", (str(sale_key), lease_id, *seat_ids))
        got = self._load(db, lease_id)
        assert got is not None
        return got

    def claim_ga(self, db: sqlite3.Connection, event_id: int, section_id: int | None,
                 qty: int) -> LocalLease:
        ids = [r[0] for r in db.execute(
            "select lease_id from leases where event_id = ? and status = 'active'"
            " order by rowid", (event_id,))]
        leases = [lease for lease in (self._load(db, i) for i in ids)
                  if lease is not None and lease.info.kind == "ga"
                  and (section_id is None or lease.info.section_id == section_id)]
        if not leases:
            raise BoxOfficeError("not_in_lease", seat_ids=[])
        for lease in leases:
            if lease.remaining >= qty:
                db.execute("update leases set ga_sold_local = ga_sold_local + ?"
                           " where lease_id = ?", (qty, str(lease.info.lease_id)))
                got = self._load(db, str(lease.info.lease_id))
                assert got is not None
                return got
        raise BoxOfficeError("lease_exhausted", left=max(lease.remaining for lease in leases))

    def take_serials(self, db: sqlite3.Connection, lease: LocalLease, n: int) -> list[int]:
        """The next ``n`` unused ticket serials of the lease's reserved block."""
        lid = str(lease.info.lease_id)
        used = int(db.execute("select serials_used from leases where lease_id = ?",
                              (lid,)).fetchone()[0])
        block = sorted(lease.info.serials)
        if used + n > len(block):
            raise BoxOfficeError("lease_exhausted", left=len(block) - used)
        db.execute("update leases set serials_used = ? where lease_id = ?", (used + n, lid))
        return block[used:used + n]

    def take_order_number(self, db: sqlite3.Connection, lease: LocalLease) -> int | None:
        """The next order number of the lease's reserved block (None: central assigns)."""
        lid = str(lease.info.lease_id)
        used = int(db.execute("select numbers_used from leases where lease_id = ?",
                              (lid,)).fetchone()[0])
        block = sorted(lease.info.order_numbers)
        if used >= len(block):
            return None
        db.execute("update leases set numbers_used = ? where lease_id = ?", (used + 1, lid))
        return block[used]

    def set_status(self, db: sqlite3.Connection, lease_id: uuid.UUID, status: str) -> None:
        db.execute("update leases set status = ? where lease_id = ?", (status, str(lease_id)))

