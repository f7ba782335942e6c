"""The catalogue, seat maps and holds: what a counter and a kiosk both sell from."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from core.errors import BoxOfficeError
from terminal.base import SessionBase
from terminal.results import SeatMapData

if TYPE_CHECKING:
    from core.live import LiveSeats
    from core.monitor import CompactLayout
    from core.reservation import Availability, EventInfo, HoldResult, HoldState, SectionInfo


class SeatMaps(SessionBase):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._layouts: dict[int, CompactLayout] = {}
        # The last online read of each map: what an offline counter draws.
        self._last_maps: dict[int, tuple[list[SectionInfo], str, Availability]] = {}

    def events(self) -> list[EventInfo]:
        # core.reservation is imported on first use: the sign-in screen draws before
        # SQLAlchemy and the database driver are loaded (cold start).
        from core.reservation import upcoming_events

        return upcoming_events(self.ctx.engine)

    def seat_map(self, event_id: int) -> SeatMapData:
        from core.monitor import compact_layout, stage_label
        from core.reservation import availability, sections

        if self.selling_offline():
            return self._offline_seat_map(event_id)  # the dead link would only time out
        eng = self.ctx.engine
        # The layout read (the big one) and the small reads overlap on two connections.
        with ThreadPoolExecutor(1) as pool:
            small = pool.submit(lambda: (sections(eng, event_id), stage_label(eng, event_id),
                                         availability(eng, event_id)))
            layout = self._layouts.get(event_id) or compact_layout(eng, event_id)
            secs, stage, avail = small.result()
        # Seats of a published event never move: keep the layout for the next opening.
        self._layouts[event_id] = layout
        self._last_maps[event_id] = (secs, stage, avail)
        return SeatMapData(None, layout, secs, stage, avail)

    def _offline_seat_map(self, event_id: int) -> SeatMapData:
        """The last seat map read online (leased events are read when the terminal
        starts or takes leases), stamped now; offline only the lease is sellable."""
        from datetime import UTC, datetime

        layout, last = self._layouts.get(event_id), self._last_maps.get(event_id)
        if layout is None or last is None:
            raise BoxOfficeError("offline_not_in_lease")
        secs, stage, avail = last
        return SeatMapData(None, layout, secs, stage, replace(avail, as_of=datetime.now(UTC)))

    def _live(self) -> LiveSeats | None:
        """The Redis seat feed when the context has one."""
        from core.live import LiveSeats

        for fn in self.ctx.listeners:
            if isinstance(fn, LiveSeats):
                return fn
        return None

    def availability(self, event_id: int) -> Availability:
        live = self._live()
        if live is not None:
            return live.availability(event_id)  # Redis snapshot, PostgreSQL behind it
        from core.reservation import availability

        return availability(self.ctx.engine, event_id)

    def subscribe(self, event_id: int, on_change: Callable[[Any], Any]) -> Callable[[], None]:
        """Seat changes of the event pushed from other terminals (Redis pub/sub); without
        Redis nothing arrives and the seat map keeps polling."""
        live = self._live()
        if live is None:
            return lambda: None
        return live.subscribe([event_id], on_change)

    def hold_seats(self, key: uuid.UUID, event_id: int, seat_ids: list[int]) -> HoldResult:
        from core.reservation import hold_seats

        return hold_seats(self.ctx, self.actor, key, event_id, seat_ids)

    def hold_best(self, key: uuid.UUID, event_id: int, quantity: int) -> HoldResult:
        from core.reservation import hold_best_available

        return hold_best_available(self.ctx, self.actor, key, event_id, quantity)

    def hold_ga(self, key: uuid.UUID, event_id: int, section_id: int,
                quantity: int) -> HoldResult:
        from core.reservation import hold_general_admission

        return hold_general_admission(self.ctx, self.actor, key, event_id, section_id,
                                      quantity)

    def release(self, key: uuid.UUID, hold_id: uuid.UUID) -> HoldState:
        from core.reservation import release_hold

        return release_hold(self.ctx, self.actor, key, hold_id)

    def extend(self, key: uuid.UUID, hold_id: uuid.UUID) -> HoldState:
        from core.reservation import extend_hold

        return extend_hold(self.ctx, self.actor, key, hold_id)
