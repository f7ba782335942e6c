"""``boxoffice doctor``: the checks of ``core.doctor`` on this terminal or server; the exit
code says whether it can sell (0 yes, 1 no)."""

from __future__ import annotations

import argparse
import json
from typing import Any

_MARK = {"ok": "ok", "warning": "WARNING", "failure": "FAILURE"}


def cmd_doctor(args: argparse.Namespace) -> int:
    from config import load_settings
    from core.doctor import run

    report = run(load_settings)
    if args.json:
        print(json.dumps(report.to_json()))
    else:
        width = max(len(c.name) for c in report.checks)
        for c in report.checks:
            print(f"{_MARK[c.status]:<8} {c.name:<{width}}  {c.detail}")
            if c.action and c.status != "ok":
                print(f"{'':<8} {'':<{width}}  -> {c.action}")
        print("This terminal can sell." if report.can_sell else
              "This terminal cannot sell until the failures above are fixed.")
    return 0 if report.can_sell else 1


def register(sub: Any) -> None:
    p = sub.add_parser("doctor", help="check this terminal end to end: config, database,"
                       " schema, clock, replication, Redis, gateway, printer, disks, key"
                       " files (exit 1: it cannot sell)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_doctor)
