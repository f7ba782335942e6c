"""What pgBackRest says about the backups: ``boxoffice backup status`` and its metrics.

pgBackRest takes and restores the backups (deploy/pgbackrest/, docs/operations.md); this
module only reads ``pgbackrest info --output=json`` and turns it into a verdict per
repository (the newest backup's age against the schedule) and into Prometheus gauges,
written as a node exporter textfile so the alert "backup older than 26 hours" can fire.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Gauge, write_to_textfile

from core.errors import BoxOfficeError

# A daily differential plus slack: the alert and the status both use it.
STALE_AFTER_S = 26 * 3600

# Registered in the process registry (so the metric names are known to the checks of
# deploy/) and in a registry of their own, which is what the textfile holds.
TEXTFILE_REGISTRY = CollectorRegistry()
BACKUP_LAST_COMPLETED = Gauge(
    "boxoffice_backup_last_completed_timestamp_seconds",
    "When the newest backup of this type in this repository finished (unix time)",
    ["stanza", "repo", "type"], registry=None)
BACKUP_LAST_SIZE = Gauge(
    "boxoffice_backup_last_size_bytes", "Database size of the newest backup",
    ["stanza", "repo"], registry=None)
BACKUP_STATUS_OK = Gauge(
    "boxoffice_backup_status_ok",
    "1 when pgBackRest reports the stanza ok in this repository", ["stanza", "repo"],
    registry=None)
BACKUP_WAL_ARCHIVED = Gauge(
    "boxoffice_backup_wal_archive_max_info",
    "The newest WAL segment in the repository's archive (as a label)",
    ["stanza", "repo", "segment"], registry=None)
for _g in (BACKUP_LAST_COMPLETED, BACKUP_LAST_SIZE, BACKUP_STATUS_OK, BACKUP_WAL_ARCHIVED):
    TEXTFILE_REGISTRY.register(_g)
    REGISTRY.register(_g)


@dataclass(frozen=True, slots=True)
class RepoStatus:
    repo: int
    ok: bool
    message: str
    backups: int
    last_full: float | None  # unix time the newest full backup stopped
    last_any: float | None  # the newest backup of any type
    last_label: str | None
    last_size: int | None
    wal_min: str | None
    wal_max: str | None

    def age_s(self, now: float) -> float | None:
        return None if self.last_any is None else now - self.last_any


@dataclass(frozen=True, slots=True)
class BackupStatus:
    stanza: str
    repos: tuple[RepoStatus, ...]
    checked_at: float = field(default_factory=time.time)

    def problems(self, stale_after_s: float = STALE_AFTER_S) -> list[str]:
        """What an operator must act on; empty when every repository is fresh."""
        out = []
        if not self.repos:
            out.append(f"stanza {self.stanza}: no repository reported")
        for r in self.repos:
            age = r.age_s(self.checked_at)
            if not r.ok:
                out.append(f"repo{r.repo}: {r.message}")
            elif age is None:
                out.append(f"repo{r.repo}: no backup yet")
            elif age > stale_after_s:
                out.append(f"repo{r.repo}: newest backup is {age / 3600:.1f} h old"
                           f" (more than {stale_after_s / 3600:.0f} h)")
            if r.ok and r.wal_max is None:
                out.append(f"repo{r.repo}: no WAL archived (archive_command failing?)")
        return out

    def to_json(self) -> dict[str, Any]:
        now = self.checked_at
        return {"stanza": self.stanza, "ok": not self.problems(), "problems": self.problems(),
                "repos": [{"repo": r.repo, "ok": r.ok, "message": r.message,
                           "backups": r.backups, "last_label": r.last_label,
                           "last_full": r.last_full, "last_backup": r.last_any,
                           "age_s": None if r.age_s(now) is None else round(r.age_s(now) or 0),
                           "size_bytes": r.last_size, "wal_min": r.wal_min,
                           "wal_max": r.wal_max} for r in self.repos]}


def parse_info(info: list[dict[str, Any]], stanza: str) -> BackupStatus:
    """The status of ``stanza`` from ``pgbackrest info --output=json``."""
    entry = next((s for s in info if s.get("name") == stanza), None)
    if entry is None:
        return BackupStatus(stanza, ())
    repos: dict[int, dict[str, Any]] = {}
    for r in entry.get("repo") or []:
        repos[int(r["key"])] = {"ok": r.get("status", {}).get("code") == 0,
                                "message": r.get("status", {}).get("message", ""),
                                "backups": [], "wal_min": None, "wal_max": None}
    for b in entry.get("backup") or []:
        key = int(b.get("database", {}).get("repo-key", 1))
        repos.setdefault(key, {"ok": True, "message": "", "backups": [], "wal_min": None,
                               "wal_max": None})["backups"].append(b)
    for arch in entry.get("archive") or []:
        key = int(arch.get("database", {}).get("repo-key", 1))
        if key in repos:
            repos[key]["wal_min"] = arch.get("min") or repos[key]["wal_min"]
            repos[key]["wal_max"] = arch.get("max") or repos[key]["wal_max"]
    out = []
    for key in sorted(repos):
        r = repos[key]
        done = sorted(r["backups"], key=lambda b: b["timestamp"]["stop"])
        fulls = [b for b in done if b.get("type") == "full"]
        last = done[-1] if done else None
        out.append(RepoStatus(
            key, r["ok"], r["message"], len(done),
            float(fulls[-1]["timestamp"]["stop"]) if fulls else None,
            float(last["timestamp"]["stop"]) if last else None,
            last.get("label") if last else None,
            int(last.get("info", {}).get("size", 0)) if last else None,
            r["wal_min"], r["wal_max"]))
    return BackupStatus(stanza, tuple(out))


def read_status(stanza: str, config: str | Path | None = None, *,
                user_args: dict[str, Any] | None = None) -> BackupStatus:
    """Run ``pgbackrest info`` and parse it; ``user_args`` are passed to subprocess (the
    drills run it as the server's user)."""
    exe = shutil.which("pgbackrest")
    if exe is None:
        raise BoxOfficeError("backup_tool_missing")
    args = [exe, "--output=json", f"--stanza={stanza}"]
    if config is not None:
        args.append(f"--config={config}")
    try:
        res = subprocess.run([*args, "info"], capture_output=True, text=True, timeout=60,
                             **(user_args or {}))
    except subprocess.TimeoutExpired:
        raise BoxOfficeError("backup_info_failed", detail="pgbackrest info took over 60 s"
                             ) from None
    if res.returncode != 0:
        raise BoxOfficeError("backup_info_failed",
                             detail=(res.stderr or res.stdout).strip()[-300:])
    return parse_info(json.loads(res.stdout), stanza)


def export(status: BackupStatus, textfile: str | Path | None = None) -> None:
    """Set the gauges; with ``textfile``, write them for node exporter's textfile
    collector (atomically: written beside and renamed)."""
    for g in (BACKUP_LAST_COMPLETED, BACKUP_LAST_SIZE, BACKUP_STATUS_OK, BACKUP_WAL_ARCHIVED):
        g.clear()
    for r in status.repos:
        repo = str(r.repo)
        BACKUP_STATUS_OK.labels(status.stanza, repo).set(1 if r.ok else 0)
        if r.last_full is not None:
            BACKUP_LAST_COMPLETED.labels(status.stanza, repo, "full").set(r.last_full)
        if r.last_any is not None:
            BACKUP_LAST_COMPLETED.labels(status.stanza, repo, "any").set(r.last_any)
            BACKUP_LAST_SIZE.labels(status.stanza, repo).set(r.last_size or 0)
        if r.wal_max:
            BACKUP_WAL_ARCHIVED.labels(status.stanza, repo, r.wal_max).set(1)
    if textfile is not None:
        write_to_textfile(str(textfile), TEXTFILE_REGISTRY)
