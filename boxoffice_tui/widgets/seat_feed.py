"""The live seat feed of one event, for a screen that shows it (the counter's sale screen,
the console's event view and seat map): changes other terminals make arrive through the
session's feed (Redis) on the feed's thread and make the screen read again at once,
instead of waiting for its next timed poll."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

Subscribe = Callable[[int, Callable[[Any], None]], Callable[[], None]]


class SeatFeed:
    """Mixed into a Textual screen: ``subscribe_feed`` starts the feed of an event (and
    stops the one before), ``unsubscribe_feed`` stops it, and unmounting stops it too.
    Each change calls ``feed_changed`` on the UI thread (by default the screen's
    ``poll()``); ``pushed`` counts them."""

    pushed: int = 0
    _unsubscribe: Callable[[], None] | None = None
    _feed_gen: int = 0
    _feed_lock: threading.Lock | None = None

    def feed_changed(self) -> None:
        self.poll()  # type: ignore[attr-defined]

    def subscribe_feed(self, subscribe: Subscribe, event_id: int) -> None:
        """Subscribe in a thread worker (the session's subscribe may wait for Redis). A
        subscription that completes after the screen moved on is dropped at once."""
        self.unsubscribe_feed()
        lock = self._lock()
        gen = self._feed_gen
        screen: Any = self
        app = screen.app

        def pushed(_change: Any) -> None:  # on the feed's thread
            if gen == self._feed_gen:
                with contextlib.suppress(RuntimeError):  # the app is shutting down
                    app.call_from_thread(self._pushed, gen)

        def job() -> None:
            unsubscribe: Callable[[], None] | None = subscribe(event_id, pushed)
            with lock:
                if gen == self._feed_gen:
                    self._unsubscribe, unsubscribe = unsubscribe, None
            if unsubscribe is not None:
                unsubscribe()

        screen.run_worker(job, thread=True, group="feed", exit_on_error=False)

    def _pushed(self, gen: int) -> None:
        if gen == self._feed_gen:
            self.pushed += 1
            self.feed_changed()

    def unsubscribe_feed(self) -> None:
        with self._lock():
            self._feed_gen += 1
            unsubscribe, self._unsubscribe = self._unsubscribe, None
        if unsubscribe is not None:
            unsubscribe()

    def _lock(self) -> threading.Lock:
        # Made on the UI thread (subscribe and unsubscribe are called there only).
        if self._feed_lock is None:
            self._feed_lock = threading.Lock()
        return self._feed_lock

    def on_unmount(self) -> None:
        self.unsubscribe_feed()
