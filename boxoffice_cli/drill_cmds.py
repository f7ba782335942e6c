"""``boxoffice bench failover`` and ``boxoffice backup status|drill|restore-check``: the
drills of ``core.drills`` and pgBackRest's state from the command line. The drills start
their own scratch servers; nothing configured is used."""

from __future__ import annotations

import argparse
import json
from typing import Any


def cmd_bench_failover(args: argparse.Namespace) -> int:
    if args.patroni:
        from core.drills.patroni import run_drill as patroni_drill

        result = patroni_drill(terminals=args.terminals, before_s=args.before,
                               after_s=args.after)
    else:
        from core.drills.failover import run_drill

        result = run_drill(terminals=args.terminals, before_s=args.before,
                           after_s=args.after, detect_s=args.detect)
    if args.json:
        print(json.dumps(result))
    else:
        width = max(len(k) for k in result)
        for k, v in result.items():
            print(f"{k:<{width}}  {v}")
    ok = (result["lost"] == 0 and result["duplicated"] == 0 and result["raw_errors"] == 0
          and result["resume_s"] is not None and result["resume_s"] <= args.max_resume)
    return 0 if ok else 1


def register(sub: Any) -> None:
    from boxoffice_cli.main import subcommands_of

    register_backup(sub)

    b_sub = subcommands_of(sub, "bench")
    if b_sub is not None:
        bf = b_sub.add_parser(
            "failover", help="drill: sales from several terminals while a scratch primary is"
            " killed and its synchronous standby promoted (starts its own servers)")
        bf.add_argument("--terminals", type=int, default=4, help="selling threads")
        bf.add_argument("--before", type=float, default=2.0, help="seconds of sales before"
                        " the kill")
        bf.add_argument("--after", type=float, default=2.0, help="seconds of sales after"
                        " every terminal resumed")
        bf.add_argument("--detect", type=float, default=1.0, help="seconds the dead primary"
                        " stays unpromoted (a failure detector's delay)")
        bf.add_argument("--patroni", action="store_true", help="the shipped Patroni config"
                        " on etcd promotes the standby by itself (ttl 10 s) instead of"
                        " pg_ctl promote")
        bf.add_argument("--max-resume", type=float, default=15.0,
                        help="exit 1 when resume_s is above this")
        bf.add_argument("--json", action="store_true")
        bf.set_defaults(func=cmd_bench_failover)


# --- backup ----------------------------------------------------------------------------------


def cmd_backup_status(args: argparse.Namespace) -> int:
    from core.backup import STALE_AFTER_S, export, read_status

    status = read_status(args.stanza, args.config)
    export(status, args.textfile)
    stale_after = args.stale_hours * 3600 if args.stale_hours else STALE_AFTER_S
    problems = status.problems(stale_after)
    if args.json:
        print(json.dumps({**status.to_json(), "problems": problems, "ok": not problems}))
    else:
        for r in status.repos:
            age = r.age_s(status.checked_at)
            print(f"repo{r.repo}: {'ok' if r.ok else r.message}; {r.backups} backup(s);"
                  f" newest {r.last_label or '-'}"
                  f" ({'-' if age is None else f'{age / 3600:.1f} h ago'});"
                  f" WAL {r.wal_min or '-'} .. {r.wal_max or '-'}")
        for p in problems:
            print(f"PROBLEM {p}")
    return 1 if problems else 0


def cmd_backup_drill(args: argparse.Namespace) -> int:
    from core.drills.restore import run_drill

    result = run_drill(before=args.sales, after=args.sales)
    _print(result, args.json)
    ok = (result["missing_before_target"] == 0 and result["restored_after_target"] == 0
          and result["duplicated"] == 0 and result["audit_problems"] == 0
          and result["latest_completed_sales"] == result["primary_completed_sales"])
    return 0 if ok else 1


def cmd_backup_restore_check(args: argparse.Namespace) -> int:
    from core.drills.restore import restore_check

    result = restore_check(args.stanza, repo=args.repo, config=args.config, db=args.database)
    _print(result, args.json)
    return 0 if result["ok"] else 1


def _print(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, default=str))
        return
    width = max(len(k) for k in result)
    for k, v in result.items():
        print(f"{k:<{width}}  {v}")


def register_backup(sub: Any) -> None:
    bk = sub.add_parser("backup", help="pgBackRest backups: status, restore drill and check")
    bk_sub = bk.add_subparsers(dest="sub", required=True)
    st = bk_sub.add_parser("status", help="newest backup and WAL of each repository"
                           " (exit 1 when one is stale or failing)")
    st.add_argument("--stanza", default="boxoffice")
    st.add_argument("--config", help="pgbackrest.conf (default: pgBackRest's own)")
    st.add_argument("--stale-hours", type=float, default=None, help="default 26")
    st.add_argument("--textfile", help="also write the metrics for node exporter here")
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=cmd_backup_status)
    dr = bk_sub.add_parser("drill", help="scratch primary, two repositories, sales, a"
                           " point-in-time restore checked sale by sale (starts its own"
                           " servers)")
    dr.add_argument("--sales", type=int, default=20, help="sales before and after the target")
    dr.add_argument("--json", action="store_true")
    dr.set_defaults(func=cmd_backup_drill)
    rc = bk_sub.add_parser("restore-check", help="restore the newest backup of a"
                           " repository into a scratch dir, verify the audit chains, remove it")
    rc.add_argument("--stanza", default="boxoffice")
    rc.add_argument("--repo", type=int, default=2)
    rc.add_argument("--config", help="pgbackrest.conf (default: pgBackRest's own)")
    rc.add_argument("--database", default="boxoffice")
    rc.add_argument("--json", action="store_true")
    rc.set_defaults(func=cmd_backup_restore_check)
