"""Run the Alembic migrations programmatically (``boxoffice db upgrade``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

MIGRATIONS = Path(__file__).with_name("migrations")
# Serializes concurrent upgrades from several terminals starting at once.
_LOCK_KEY = 0x426F784F6666  # "BoxOff"


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url:
        cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    cfg = alembic_config()
    from core.db.engine import unbounded

    with engine.begin() as conn:
        unbounded(conn)  # DDL on a big database, or waiting for another terminal's upgrade
        conn.execute(text("select pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def is_current(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()


def check_schema_current(engine: Engine) -> str:
    """Refuse to run on a schema this program was not written for. Terminals never
    migrate (their logins cannot): the owner runs ``boxoffice db upgrade``. Returns the
    revision; raises BoxOfficeError schema_behind / schema_ahead."""
    from sqlalchemy.exc import DBAPIError

    from core.errors import BoxOfficeError

    head = head_revision() or "?"
    try:
        current = current_revision(engine)
    except DBAPIError as exc:
        # A login without rights on alembic_version is not a provisioned terminal.
        raise BoxOfficeError("database_refused", detail=str(exc.orig).strip()[:200]) from None
    if current == head:
        return head
    script = ScriptDirectory.from_config(alembic_config())
    known = {rev.revision for rev in script.walk_revisions()}
    if current is not None and current not in known:
        raise BoxOfficeError("schema_ahead", current=current, expected=head)
    raise BoxOfficeError("schema_behind", current=current or "empty", expected=head)
