"""The restore drill: back up a scratch primary with pgBackRest into two repositories (two
local directories stand in for the two places of production), keep selling, restore to a
point in time into a new data directory from the *second* repository, and check the
restored database: every sale committed before the target is there exactly once, none
after it is, and the audit chains verify.

The pgBackRest configuration is the production one's shape (deploy/pgbackrest/) with
local paths: WAL archived by ``archive_command`` to both repositories, full backups with
``start-fast``, ``--type=time`` recovery promoted at the target.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg

from core.drills.cluster import SUPERUSER, DrillError, Node, ScratchCluster
from core.drills.selling_terminals import DB, create_database, prepare_casino

if TYPE_CHECKING:
    from core.audit import AuditProblem

STANZA = "drill"


@dataclass(frozen=True, slots=True)
class Sold:
    key: uuid.UUID
    sale_id: uuid.UUID


class Backrest:
    """pgBackRest for one scratch stanza, run as the servers' user."""

    def __init__(self, cl: ScratchCluster, primary: Node, repos: int = 2) -> None:
        self.cl = cl
        self.repos = [cl.mkdir("repo", str(i)) for i in range(1, repos + 1)]
        self.lock = cl.mkdir("pgbackrest", "lock")
        self.logs = cl.mkdir("pgbackrest", "log")
        self.spool = cl.mkdir("pgbackrest", "spool")
        self.conf = cl.base / "pgbackrest.conf"
        lines = ["[global]"]
        for i, path in enumerate(self.repos, 1):
            lines += [f"repo{i}-path={path}", f"repo{i}-retention-full=2"]
        lines += [f"lock-path={self.lock}", f"log-path={self.logs}",
                  f"spool-path={self.spool}", "log-level-console=warn", "log-level-file=info",
                  "start-fast=y", "compress-type=none", "process-max=1",
                  "", f"[{STANZA}]", f"pg1-path={primary.datadir}", f"pg1-port={primary.port}",
                  f"pg1-socket-path={primary.sockdir}", f"pg1-user={SUPERUSER}", ""]
        self.conf.write_text("\n".join(lines))
        cl.chown(self.conf)

    @property
    def archive_command(self) -> str:
        return f"pgbackrest --config={self.conf} --stanza={STANZA} archive-push %p"

    def run(self, *args: str, timeout: float = 180.0) -> str:
        return self.cl.run("pgbackrest", f"--config={self.conf}", f"--stanza={STANZA}", *args,
                           timeout=timeout)

    def user_args(self) -> dict[str, Any]:
        return self.cl.as_user()


def _sell(ctx: Any, actor: Any, events: list[int], n: int) -> list[Sold]:
    from core.reservation import hold_best_available
    from core.sales import CashTender, checkout

    out = []
    for i in range(n):
        h = hold_best_available(ctx, actor, uuid.uuid4(), events[i % len(events)], 1)
        key = uuid.uuid4()
        res = checkout(ctx, actor, key, h.hold_id, CashTender(h.total_minor))
        out.append(Sold(key, res.sale_id))
    return out


def _count(conn: psycopg.Connection[Any], sold: list[Sold]) -> dict[uuid.UUID, int]:
    rows = conn.execute("select key, count(*) from sales where key = any(%s) and state ="
                        " 'completed' group by key", ([s.key for s in sold],)).fetchall()
    return {r[0]: int(r[1]) for r in rows}


def run_drill(*, before: int = 20, after: int = 20, restore_repo: int = 2,
              status_check: bool = True) -> dict[str, Any]:
    """The whole drill; returns its figures. ``before``/``after``: sales committed before
    and after the recovery target."""
    t0 = time.monotonic()
    with ScratchCluster(prefix="bo-drill-restore-") as cl, \
            tempfile.TemporaryDirectory(prefix="bo-drill-term-") as term_dir:
        primary = cl.init_primary("primary")
        br = Backrest(cl, primary)
        primary.settings.update({"archive_mode": "on", "archive_command": br.archive_command,
                                 "archive_timeout": "60"})
        cl.start(primary)
        create_database(primary)
        ctx, actors, events = prepare_casino(
            f"postgresql://{SUPERUSER}@{primary.hostport}/{DB}", 1, term_dir)
        try:
            br.run("stanza-create")
            br.run("check")
            t = time.monotonic()
            for repo in range(1, len(br.repos) + 1):
                br.run(f"--repo={repo}", "backup", "--type=full")
            backup_s = time.monotonic() - t
            with psycopg.connect(primary.libpq(DB), autocommit=True) as c:
                # pgBackRest keeps a backup's stop time in whole seconds and finds no
                # backup for a target in that same second ("unable to find backup set
                # with stop time less than ..."): since sales take milliseconds, start
                # them in the next second of the database's clock.
                c.execute("select pg_sleep(1.02 - extract(microseconds from"
                          " clock_timestamp())::numeric % 1000000 / 1e6)")
            status = None
            if status_check:
                from core.backup import read_status

                status = read_status(STANZA, br.conf, user_args=br.user_args())
            sold_before = _sell(ctx, actors[0], events, before)
            with psycopg.connect(primary.libpq(DB), autocommit=True) as c:
                target = c.execute("select clock_timestamp()").fetchone()[0]  # type: ignore[index]
            sold_after = _sell(ctx, actors[0], events, after)
        finally:
            ctx.engine.dispose()
        # The WAL with the last sales reaches both repositories (check switches WAL and
        # waits for the archive), so recovery can pass the target and stop there.
        br.run("check")
        restored = cl.add_node("restored", {"archive_mode": "off"})
        t = time.monotonic()
        br.run(f"--repo={restore_repo}", f"--pg1-path={restored.datadir}", "--type=time",
               f"--target={target.isoformat(sep=' ')}", "--target-action=promote",
               "restore", timeout=300)
        cl.start(restored)
        _wait_promoted(restored)
        restore_s = time.monotonic() - t
        with psycopg.connect(restored.libpq(DB)) as c:
            got_before = _count(c, sold_before)
            got_after = _count(c, sold_after)
        checked, problems = _verify_audit(restored, DB)
        cl.stop(restored)
        # The scheduled check's path: the newest state from the first repository.
        latest = restore_check(STANZA, repo=1, config=br.conf, cluster=cl)
        with psycopg.connect(primary.libpq(DB)) as c:
            on_primary = c.execute("select count(*) from sales where state = 'completed'"
                                   ).fetchone()[0]  # type: ignore[index]
        return {
            "drill": "restore",
            "repositories": len(br.repos),
            "restored_from_repo": restore_repo,
            "backup_s": round(backup_s, 2),
            "restore_s": round(restore_s, 2),
            "target": target.isoformat(),
            "sales_before_target": len(sold_before),
            "sales_after_target": len(sold_after),
            "restored_before_target": sum(1 for s in sold_before if s.key in got_before),
            "missing_before_target": sum(1 for s in sold_before if s.key not in got_before),
            "duplicated": sum(n - 1 for n in got_before.values() if n > 1),
            "restored_after_target": len(got_after),
            "audit_rows_checked": checked,
            "audit_problems": len(problems),
            "backup_status": status.to_json() if status is not None else None,
            "latest_restore_s": latest["restore_s"],
            "latest_completed_sales": latest["completed_sales"],
            "primary_completed_sales": int(on_primary),
            "latest_audit_problems": latest["audit_problems"],
            "elapsed_s": round(time.monotonic() - t0, 1),
        }


def restore_check(stanza: str, *, repo: int = 2, config: str | Path | None = None,
                  db: str = DB, cluster: ScratchCluster | None = None) -> dict[str, Any]:
    """Restore the newest backup of ``stanza`` from ``repo`` with all archived WAL into a
    scratch data dir, start it on a private loopback port, verify the audit chains and
    count the sales, then remove it (``boxoffice backup restore-check``; run monthly on a
    spare machine by deploy/systemd/boxoffice-restore-check.timer)."""
    own = cluster is None
    cl = cluster or ScratchCluster(prefix="bo-drill-restore-check-")
    try:
        node = cl.add_node(f"check-repo{repo}", {"archive_mode": "off"})
        args = [f"--stanza={stanza}", f"--repo={repo}", f"--pg1-path={node.datadir}",
                "--type=default"]
        if config is not None:
            args.insert(0, f"--config={config}")
        t = time.monotonic()
        cl.run("pgbackrest", *args, "restore", timeout=6 * 3600)
        # Its own port and socket dir; nothing archives or connects to production.
        cl.start(node)
        _wait_promoted(node, timeout=6 * 3600)
        restore_s = time.monotonic() - t
        with psycopg.connect(node.libpq(db)) as c:
            sales, newest = c.execute(  # type: ignore[misc]
                "select count(*), max(created_at) from sales where state = 'completed'"
            ).fetchone()
        checked, problems = _verify_audit(node, db)
        return {"check": "restore", "stanza": stanza, "repo": repo,
                "restore_s": round(restore_s, 2), "completed_sales": int(sales),
                "newest_sale": newest.isoformat() if newest else None,
                "audit_rows_checked": checked, "audit_problems": len(problems),
                "ok": not problems}
    finally:
        if own:
            cl.close()
        else:
            cl.stop(node)


def _wait_promoted(node: Node, timeout: float = 120.0) -> None:
    """Until recovery reached its target and the server was promoted."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(node.libpq(), autocommit=True) as c:
        while c.execute("select pg_is_in_recovery()").fetchone() == (True,):
            if time.monotonic() > deadline:
                raise DrillError(f"{node.name} still recovering after {timeout} s:\n"
                                 f"{node.log_tail()}")
            time.sleep(0.1)


def _verify_audit(node: Node, db: str) -> tuple[int, list[AuditProblem]]:
    """``audit.verify`` on ``db`` of the restored ``node``: rows checked, problems found."""
    from sqlalchemy import create_engine

    from core import audit
    from core.db.engine import normalize_url

    engine = create_engine(normalize_url(f"postgresql://{SUPERUSER}@{node.hostport}/{db}"))
    try:
        return audit.verify(engine)
    finally:
        engine.dispose()
