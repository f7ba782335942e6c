"""Redis as an accelerator, never the source of truth: cached availability snapshots with
a version every seat change bumps, and a pub/sub feed so open seat maps refresh at once.

Every function degrades to PostgreSQL when Redis is absent or down: a slower seat map,
never a wrong one. The cache is keyed by a version read *before* PostgreSQL is read, so a
change committed meanwhile bumps the version and the stale snapshot is never served.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import asdict
from datetime import datetime
from typing import Any

from core.context import CoreContext, SeatChange
from core.reservation import availability
from core.reservation.results import Availability, GaCount

log = logging.getLogger(__name__)
_TTL_S = 3600


class LiveSeats:
    """Publishes seat changes (install as a CoreContext listener) and serves cached
    availability. Thread-safe; one per process."""

    def __init__(self, ctx: CoreContext, url: str | None = None) -> None:
        self.ctx = ctx
        cfg = ctx.settings.redis
        self.prefix = cfg.key_prefix
        url = url or (cfg.url.get_secret_value() if cfg.url else None)
        self.client: Any = None
        if url:
            import redis

            self.client = redis.Redis.from_url(url, socket_timeout=cfg.socket_timeout_s,
                                               socket_connect_timeout=cfg.socket_timeout_s)
        self.hits = 0
        self.misses = 0
        # A kiosk's Redis user may only bump versions (core.provisioning): it neither
        # stores snapshots nor publishes; other maps see its changes by the version.
        from core.provisioning import redis_publishes

        self.publishes = redis_publishes(ctx.settings.terminal.kind)
        # Events whose version bump failed (Redis unreachable at the time): bumped as soon
        # as Redis answers again, so nobody keeps serving the snapshot from before.
        self._unbumped: set[int] = set()
        self._lock = threading.Lock()

    # --- keys -------------------------------------------------------------------------
    def _ver(self, event_id: int) -> str:
        return f"{self.prefix}seatver:{event_id}"

    def _snap(self, event_id: int) -> str:
        return f"{self.prefix}avail:{event_id}"

    def channel(self, event_id: int) -> str:
        return f"{self.prefix}seats:{event_id}"

    # --- writer side --------------------------------------------------------------------
    def __call__(self, change: SeatChange) -> None:
        """A CoreContext listener: runs after commit."""
        if self.client is None:
            return
        try:
            self._flush_unbumped()
            pipe = self.client.pipeline()
            # INCR itself: redis-py's incr() sends INCRBY, which could also lower a
            # version, and terminals' Redis users may run INCR only (core.provisioning).
            pipe.execute_command("INCR", self._ver(change.event_id))
            if self.publishes:
                pipe.publish(self.channel(change.event_id), json.dumps(asdict(change)))
            pipe.execute()
        except Exception as exc:  # Redis down: readers fall back to PostgreSQL
            with self._lock:
                self._unbumped.add(change.event_id)
            log.warning("redis publish failed: %s", exc)

    def _flush_unbumped(self) -> None:
        with self._lock:
            pending, self._unbumped = self._unbumped, set()
        if not pending:
            return
        try:
            pipe = self.client.pipeline()
            for event_id in pending:
                pipe.execute_command("INCR", self._ver(event_id))
            pipe.execute()
        except Exception:
            with self._lock:
                self._unbumped |= pending
            raise

    # --- reader side --------------------------------------------------------------------
    def availability(self, event_id: int) -> Availability:
        if self.client is None:
            return availability(self.ctx.engine, event_id)
        try:
            self._flush_unbumped()
            # The server's run id changes whenever Redis restarts: one that came back from
            # its own dump has the old snapshots and version counters, and a change
            # committed while it was down bumped nothing, so a snapshot written before the
            # restart is never trusted (same round trip as the read).
            pipe = self.client.pipeline(transaction=False)
            pipe.mget(self._ver(event_id), self._snap(event_id))
            pipe.info("server")
            (version, cached), info = pipe.execute()
        except Exception as exc:
            log.warning("redis read failed, using PostgreSQL: %s", exc)
            return availability(self.ctx.engine, event_id)
        version = int(version or 0)
        run_id = str(info.get("run_id", ""))
        if cached is not None:
            data = json.loads(cached)
            # Held seats turn free when a hold lapses, with no change to publish: the
            # snapshot's Redis TTL ends at the earliest expiry it contains (see below).
            if data["version"] == version and data.get("run_id") == run_id:
                self.hits += 1
                return _decode(data)
        self.misses += 1
        fresh = availability(self.ctx.engine, event_id)
        if not self.publishes:
            return fresh
        ttl = _TTL_S
        if fresh.next_expiry is not None:
            ttl = max(1, min(_TTL_S, int((fresh.next_expiry - fresh.as_of).total_seconds())))
        try:
            self.client.set(self._snap(event_id),
                            json.dumps(_encode(fresh, version) | {"run_id": run_id}), ex=ttl)
        except Exception as exc:
            log.warning("redis write failed: %s", exc)
        return fresh

    def subscribe(self, event_ids: Iterable[int],
                  on_change: Callable[[dict[str, Any]], Any]) -> Callable[[], None]:
        """Call ``on_change`` (from a background thread) for every change published for
        these events; returns a function that stops listening. Without Redis, nothing is
        delivered and callers keep polling."""
        if self.client is None:
            return lambda: None
        stop = threading.Event()
        pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe(*[self.channel(e) for e in event_ids])
        except Exception as exc:
            log.warning("redis subscribe failed: %s", exc)
            return lambda: None

        def loop() -> None:
            while not stop.is_set():
                try:
                    msg = pubsub.get_message(timeout=0.2)
                except Exception as exc:
                    log.warning("redis pub/sub lost: %s", exc)
                    return
                if msg and msg.get("type") == "message":
                    on_change(json.loads(msg["data"]))
            pubsub.close()

        thread = threading.Thread(target=loop, name="seat-feed", daemon=True)
        thread.start()

        def cancel() -> None:
            stop.set()
            thread.join(2)

        return cancel


def _encode(a: Availability, version: int) -> dict[str, Any]:
    return {"version": version, "event_id": a.event_id, "seat_ids": list(a.seat_ids),
            "states": a.states, "ga": [asdict(g) for g in a.ga],
            "as_of": a.as_of.isoformat(),
            "next_expiry": a.next_expiry.isoformat() if a.next_expiry else None}


def _decode(d: dict[str, Any]) -> Availability:
    nxt = d.get("next_expiry")
    return Availability(d["event_id"], tuple(d["seat_ids"]), d["states"],
                        tuple(GaCount(**g) for g in d["ga"]), datetime.fromisoformat(d["as_of"]),
                        datetime.fromisoformat(nxt) if nxt else None)


def install(ctx: CoreContext) -> LiveSeats:
    """Attach the Redis feed to a context (a no-op feed when no Redis is configured)."""
    live = LiveSeats(ctx)
    ctx.listeners.append(live)
    return live
