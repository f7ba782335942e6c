"""The first README command's path: no database configured, so ``boxoffice demo`` starts
an embedded PostgreSQL in the data dir, migrates and seeds; a second run changes nothing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_demo_on_embedded_postgres_is_idempotent():
    base = Path(tempfile.mkdtemp(prefix="bo-embedded-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOXOFFICE_")}
    env.update(HOME=str(base), BOXOFFICE_TERMINAL__DATA_DIR=str(base / "data"),
               BOXOFFICE_CONFIG=str(base / "none.toml"))
    cmd = [sys.executable, "-m", "boxoffice_cli.main", "demo", "--no-ui"]
    try:
        first = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
        assert first.returncode == 0, first.stderr
        assert "Demo casino created" in first.stdout
        assert "ana" in first.stdout and "1234" in first.stdout
        assert "SINATRA" in first.stdout and "POKER-OPEN" in first.stdout
        assert (base / "data" / "pgdata" / "PG_VERSION").exists()
        # The app and the worker run on terminal logins the owner provisioned, never on
        # the owner's; their passwords are the data dir's, 0600.
        runs_as = [line for line in first.stdout.splitlines() if "runs as" in line]
        assert runs_as and "login bo_" in runs_as[0] and "demo-worker" in runs_as[0]
        saved = base / "data" / "demo-logins" / "counter-1.json"
        assert saved.stat().st_mode & 0o777 == 0o600
        second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
        assert second.returncode == 0, second.stderr
        assert "already there" in second.stdout
        assert "1296 numbered seats" in second.stdout
        assert runs_as[0] in second.stdout  # the same logins, reused
    finally:
        pg_ctl = None
        try:
            from core.db.embedded import pg_bin_dir

            pg_ctl = pg_bin_dir() / "pg_ctl"
        except Exception:
            pass
        pgdata = base / "data" / "pgdata"
        if pg_ctl and (pgdata / "postmaster.pid").exists():
            subprocess.run(["su", "embedded_postgres", "-s", "/bin/sh", "-c",
                            f"{pg_ctl} -D {pgdata} -m immediate stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)
