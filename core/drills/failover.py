"""The failover drill: sales from several terminals while the primary dies.

A scratch primary with a synchronous standby (``core.drills.cluster``) gets the migrated
schema and the demo casino. Each worker thread is a cashier terminal on the core engine
(``core.drills.selling_terminals``, shared with the Patroni drill),
built from a libpq multi-host URL with ``target_session_attrs=read-write``, selling the
way a terminal does: best-available hold, then cash checkout, each with its own
idempotency key, and the same key again after any failure until it is answered. After
``before_s`` of sales the primary's postmaster gets SIGKILL and the standby is promoted;
the workers are not told, they find the new primary through the URL by themselves.

Measured, from the callers' side and from the new primary's rows:
- ``resume_s``: from the kill until every terminal has completed a call again;
- ``acknowledged``: sales whose checkout returned; ``lost``: acknowledged but missing on
  the new primary; ``duplicated``: sold twice (a key, a hold or a seat in two sales);
- ``raw_errors``: exceptions other than ``BoxOfficeError`` that reached a caller;
- ``max_call_s``: the longest single call, so a hung call shows.
"""

from __future__ import annotations

import time
from typing import Any

from core.drills.cluster import primary_with_sync_standby
from core.drills.selling_terminals import (
    create_database,
    prepare_casino,
    sell_through_failover,
    terminal_url,
    verify_sales,
)


def _engine_url(url: str) -> tuple[str, str]:
    """``url`` as the engine takes it, and which form that was. The libpq netloc form
    (``h1:p1,h2:p2``) is what operators write; SQLAlchemy's own parser takes only the query
    form (``?host=h1:p1&host=h2:p2``), so while the engine does not accept the first, the
    drill rewrites it into the second (and says so in its result)."""
    from config import Settings
    from core.db.engine import build_engine

    try:
        engine = build_engine(Settings(database={"url": url}), pool_size=1)  # type: ignore[arg-type]
        engine.dialect.create_connect_args(engine.url)
        engine.dispose()
        return url, "libpq"
    except ValueError:
        pass
    _, rest = url.split("://", 1)
    user, rest = rest.split("@", 1)
    hosts, rest = rest.split("/", 1)
    db, _, query = rest.partition("?")
    params = "&".join(f"host={h}" for h in hosts.split(","))
    return f"postgresql+psycopg://{user}@/{db}?{params}&{query}", "query"


def run_drill(*, terminals: int = 4, before_s: float = 2.0, after_s: float = 2.0,
              detect_s: float = 1.0, resume_timeout_s: float = 30.0) -> dict[str, Any]:
    """Run the whole drill and return its figures (see the module docstring).

    ``detect_s``: how long the dead primary stays unpromoted, as a failure detector
    (Patroni's TTL) would leave it; the gap the terminals ride out grows with it."""
    import tempfile

    t_start = time.monotonic()
    with primary_with_sync_standby() as (cl, primary, standby), \
            tempfile.TemporaryDirectory(prefix="bo-drill-term-") as term_dir:
        create_database(primary)
        url, form = _engine_url(terminal_url([primary, standby]))
        ctx, actors, events = prepare_casino(url, terminals, term_dir)
        worker_view = _worker_view(ctx)
        report_url = terminal_url([primary, standby], attrs="prefer-standby")
        report_before = _reads_standby(report_url)
        run = sell_through_failover(
            ctx, actors, events, kill=lambda: cl.kill(primary),
            promote=lambda: cl.promote(standby), before_s=before_s, after_s=after_s,
            resume_timeout_s=resume_timeout_s, detect_s=detect_s)
        report_after = _reads_standby(report_url)
        sales = run.sales
        checked = verify_sales(standby, sales)
        per_terminal = run.resume_per_terminal()
        resumed = run.resumed
        promote_began_s = run.t_promote - run.t_kill
        return {
            "drill": "failover",
            "terminals": terminals,
            "url_form": form,
            "synchronous_standby": True,
            "acknowledged": len(sales),
            "acknowledged_before_kill": run.acknowledged_before_kill,
            "acknowledged_after_kill": run.acknowledged_after_kill,
            "lost": checked["lost"],
            "duplicated": checked["duplicated"],
            "completed_on_new_primary": checked["completed_on_new_primary"],
            "raw_errors": len(run.raw),
            "raw_error_samples": run.raw_error_samples,
            "codes_after_kill": run.codes_after_kill,
            "promote_s": round(run.promoted_s, 3),
            "detect_s": detect_s,
            "resume_s": round(max(per_terminal), 3) if resumed else None,
            "first_resume_s": round(min(per_terminal), 3) if resumed else None,
            "resume_after_promote_s": (round(max(per_terminal) - promote_began_s, 3)
                                       if resumed else None),
            "max_call_s": round(run.max_call_s, 3),
            # What the worker's metrics said about replication before the kill.
            "worker_sync_standbys": worker_view["sync"],
            "worker_replication_lag_s": worker_view["lag"],
            # Reports on prefer-standby: the standby while there is one, else the primary.
            "reports_on_standby_before": report_before,
            "reports_on_standby_after": report_after,
            "elapsed_s": round(time.monotonic() - t_start, 1),
        }


def _worker_view(ctx: Any) -> dict[str, Any]:
    """The worker's replication metrics (core.dbmetrics) read on the drill's primary."""
    from core import dbmetrics

    dbmetrics.refresh(ctx, force=True)
    lag = [s.value for m in dbmetrics.REPLICATION_LAG.collect() for s in m.samples
           if s.labels.get("standby") == "standby1"]
    return {"sync": dbmetrics.STANDBYS.labels("sync")._value.get(),
            "lag": lag[0] if lag else None}


def _reads_standby(url: str) -> bool | None:
    """Whether an engine on ``url`` reads from a standby (None: it could not read)."""
    from sqlalchemy import text

    from config import Settings
    from core.db.engine import build_engine

    engine = build_engine(Settings(database={"url": url}), pool_size=1)  # type: ignore[arg-type]
    try:
        with engine.connect() as c:
            return bool(c.execute(text("select pg_is_in_recovery()")).scalar_one())
    except Exception:  # reported as None: the drill's figure, not its failure
        return None
    finally:
        engine.dispose()
