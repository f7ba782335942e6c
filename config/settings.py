"""The settings model: a TOML file plus BOXOFFICE_* environment overrides.

Precedence (highest first): explicit keyword arguments, environment variables
(``BOXOFFICE_DATABASE__URL``), the TOML file, the defaults below.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

APP_NAME = "boxoffice"


class ConfigError(Exception):
    """A configuration file or value that cannot be used; the message names the key."""


def config_path() -> Path:
    """Where the TOML file is read from: ``BOXOFFICE_CONFIG`` or the platform config dir."""
    explicit = os.environ.get("BOXOFFICE_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME))


class _Section(BaseModel):
    """Every section: a key it does not know is an error (a mistyped ``idle_sec`` would
    otherwise leave ``idle_s`` at its default without a word), and NaN or infinity is no
    duration, limit or rate."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class DatabaseSettings(_Section):
    """The central PostgreSQL and how long a terminal may wait for it.

    ``url``: any libpq URL, multi-host ones included
    (``postgresql://u@db1:5432,db2:5432/boxoffice?target_session_attrs=read-write``);
    None starts the embedded PostgreSQL in the data dir.

    Server-side bounds (they hold while the server runs): ``lock_timeout_ms`` for one row
    lock wait, ``statement_timeout_ms`` for one statement.

    Client-side bounds (they hold when the server is frozen or the network partitioned,
    when the server's own timeouts cannot fire):

    - ``call_deadline_s``: the total time one call may keep a connection, every
      statement and the commit included. Past it the client drops the connection and
      the call fails with ``database_timeout``; the server then aborts whatever it was
      running for that connection within ``client_check_interval_ms``.
    - ``pool_timeout_s``: how long a call waits for a free pooled connection before
      ``database_timeout``.
    - ``connect_timeout_s``: to open a connection (per host of a multi-host URL).
    - ``keepalives_idle_s``, ``keepalives_interval_s``, ``keepalives_count``: TCP
      keepalives find a dead peer of an idle connection after about
      idle + interval x count seconds.
    - ``tcp_user_timeout_ms``: how long sent data may stay unacknowledged before the
      kernel drops the connection (a partition in the middle of a call).
    """

    url: SecretStr | None = None
    pool_size: int = Field(10, ge=1, le=200)
    max_overflow: int = Field(10, ge=0, le=200)
    lock_timeout_ms: int = Field(2000, ge=10, le=60_000)
    statement_timeout_ms: int = Field(15_000, ge=100, le=600_000)
    connect_timeout_s: int = Field(5, ge=1, le=120)
    call_deadline_s: float = Field(10.0, ge=0.5, le=600)
    pool_timeout_s: float = Field(5.0, gt=0, le=600)
    keepalives_idle_s: int = Field(5, ge=1, le=3600)
    keepalives_interval_s: int = Field(2, ge=1, le=600)
    keepalives_count: int = Field(3, ge=1, le=100)
    tcp_user_timeout_ms: int = Field(9_000, ge=100, le=600_000)
    client_check_interval_ms: int = Field(1_000, ge=0, le=600_000)


class RedisSettings(_Section):
    # None: no cache, no pub/sub; everything reads PostgreSQL (slower, still correct).
    url: SecretStr | None = None
    # The owner's only (``boxoffice terminal add/revoke/list``): an account allowed to run
    # ACL SETUSER, which makes each terminal its own Redis user. Never in a terminal's file.
    admin_url: SecretStr | None = None
    socket_timeout_s: float = Field(0.5, gt=0, le=30)
    key_prefix: str = Field("bo:", max_length=40)


class MetricsSettings(_Section):
    # A port on 127.0.0.1 where the process serves Prometheus metrics; None: off.
    port: int | None = Field(None, ge=1, le=65535)


class BreakerSettings(_Section):
    window_size: int = Field(20, ge=1, le=1000)
    minimum_calls: int = Field(10, ge=1, le=1000)
    failure_rate_threshold: float = Field(50.0, gt=0, le=100)
    slow_call_rate_threshold: float = Field(100.0, gt=0, le=100)
    slow_call_duration_s: float = Field(5.0, gt=0)
    wait_in_open_s: float = Field(30.0, gt=0)
    half_open_permits: int = Field(3, ge=1, le=100)


class GatewaySettings(_Section):
    # "none": no card payments (the default: a terminal never sells through a gateway it
    # was not given); "stripe": a real merchant account; "sandbox": the project's own
    # fake gateway, which takes test cards and moves no money: `boxoffice demo` uses it,
    # and anywhere else the monitor shows it as an alert.
    kind: Literal["none", "sandbox", "stripe"] = "none"
    base_url: str | None = None
    secret_key: SecretStr | None = None
    connect_timeout_s: float = Field(3.0, gt=0, le=60)
    read_timeout_s: float = Field(10.0, gt=0, le=120)
    retry_attempts: int = Field(3, ge=1, le=10)
    retry_timeout_s: float = Field(20.0, gt=0, le=300)
    # Backoff between attempts that replay the same idempotency key.
    retry_wait_initial_s: float = Field(0.1, ge=0, le=30)
    retry_wait_max_s: float = Field(2.0, ge=0, le=60)
    # Connections kept open to the gateway (one client is shared by all threads).
    max_connections: int = Field(32, ge=1, le=1000)
    # Port of the sandbox the demo starts when no base_url is configured (0: any free port).
    sandbox_port: int = Field(0, ge=0, le=65535)
    breaker: BreakerSettings = BreakerSettings()


class PrinterSettings(_Section):
    # tcp://host:9100, file:///dev/usb/lp0, usb://VID:PID, serial:///dev/ttyUSB0?baudrate=,
    # preview://DIR; None means preview into the data dir.
    url: str | None = None
    profile: str = "TM-T20II"
    paper_mm: Literal[58, 80] = 80
    native_qr: bool = False
    # Socket/device timeout for one write; a printer that takes longer counts as offline.
    timeout_s: float = Field(5.0, gt=0, le=120)
    # Backoff between retries of a job the printer refused: doubles up to the maximum.
    retry_initial_s: float = Field(1.0, gt=0, le=600)
    retry_max_s: float = Field(30.0, gt=0, le=3600)
    # Where the spool database lives; None: <data_dir>/spool.
    spool_dir: Path | None = None
    # Characters per line in font A; None: 32 on 58 mm, 48 on 80 mm (Epson TM-T88: 42).
    columns: int | None = Field(None, ge=20, le=80)

    @field_validator("paper_mm", mode="before")
    @classmethod
    def _paper_from_text(cls, v: object) -> object:
        # BOXOFFICE_PRINTER__PAPER_MM=58 arrives as text, which Literal[58, 80] refuses.
        return int(v) if isinstance(v, str) and v.strip().isdigit() else v


# A terminal started without a name gets its kind's: a kiosk on a cashier's default name
# would act as that cashier (release its holds, show it as a kiosk on the monitor).
DEFAULT_TERMINAL_NAMES = {"cashier": "counter-1", "kiosk": "kiosk-1", "monitor": "monitor-1"}


class TerminalSettings(_Section):
    # Default: DEFAULT_TERMINAL_NAMES[kind].
    name: str = Field("counter-1", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    kind: Literal["cashier", "kiosk", "monitor"] = "cashier"
    data_dir: Path = Field(default_factory=default_data_dir)
    language: Literal["pt-BR", "en", "es"] = "pt-BR"
    heartbeat_s: float = Field(5.0, gt=0, le=300)

    @model_validator(mode="after")
    def _name_of_kind(self) -> TerminalSettings:
        if "name" not in self.model_fields_set:
            # Through __dict__: the name stays "not given", so as_kind() can re-default it.
            self.__dict__["name"] = DEFAULT_TERMINAL_NAMES[self.kind]
        return self

    def as_kind(self, kind: Literal["cashier", "kiosk", "monitor"]) -> TerminalSettings:
        """These settings for a process of ``kind``: a name that was not given becomes
        that kind's default."""
        copy = self.model_copy(update={"kind": kind})
        if "name" not in self.model_fields_set:
            copy.__dict__["name"] = DEFAULT_TERMINAL_NAMES[kind]
        return copy


class HoldSettings(_Section):
    counter_ttl_s: int = Field(600, ge=10, le=7200)
    kiosk_ttl_s: int = Field(240, ge=10, le=7200)
    extend_s: int = Field(300, ge=10, le=7200)
    max_extensions: int = Field(1, ge=0, le=10)
    # Expired holds are swept in batches so one sweep never holds many row locks.
    sweep_batch: int = Field(500, ge=1, le=100_000)


class SalesSettings(_Section):
    max_seats_per_order: int = Field(10, ge=1, le=200)
    currency: str = Field("BRL", min_length=3, max_length=3)
    refund_approval_over_minor: int = Field(50_000, ge=0)
    variance_approval_over_minor: int = Field(2_000, ge=0)
    # A sale untouched for this long is taken over by recover_stuck_sales().
    stuck_after_s: float = Field(60.0, ge=0, le=86_400)
    # On a card decline: True gives the seats back, False keeps the hold for another card.
    release_hold_on_decline: bool = False

    @field_validator("currency")
    @classmethod
    def _upper(cls, v: str) -> str:
        if not v.isalpha():
            raise ValueError("must be a three-letter ISO 4217 code")
        return v.upper()


class PricingSettings(_Section):
    # How often the worker brings prices to what their rules ask (occupancy changes with
    # every sale; a shorter interval follows it closer at one transaction per pass).
    interval_s: float = Field(30.0, ge=1, le=3600)


class LeaseSpec(_Section):
    """A lease a terminal takes by itself when it starts online (``[[sync.auto_leases]]``)."""

    event: str = Field(min_length=1, max_length=40)  # event code, e.g. "SINATRA"
    section: str = Field(min_length=1, max_length=32)  # section code, e.g. "ORQ"
    quantity: int = Field(ge=1, le=10_000)


class SyncSettings(_Section):
    # None: <terminal.data_dir>/sync/journal-<terminal.name>.sqlite3
    journal_path: Path | None = None
    # Offline card sales (store-and-forward) are accepted only up to these amounts: the
    # casino carries the risk of a decline at capture.
    floor_limit_minor: int = Field(30_000, ge=0)
    offline_card_total_minor: int = Field(150_000, ge=0)
    # Hysteresis: this many failed probes in a row before going offline, this many good
    # ones in a row before going back online.
    offline_after_failures: int = Field(3, ge=1, le=100)
    online_after_successes: int = Field(3, ge=1, le=100)
    probe_interval_s: float = Field(2.0, gt=0, le=300)
    probe_timeout_s: float = Field(2.0, gt=0, le=60)
    auto_leases: list[LeaseSpec] = Field(default_factory=list)
    # Applied commands are kept locally this long (a local trace), then pruned.
    keep_applied_days: float = Field(30.0, ge=0)


class KioskSettings(_Section):
    """The self-service kiosk (``boxoffice kiosk``)."""

    # Seconds without a touch or key before "still there?", then seconds to answer it.
    idle_s: float = Field(60.0, ge=5, le=3600)
    prompt_s: float = Field(20.0, ge=3, le=600)
    # Legal age confirmation before a sale; off where the law does not ask for it.
    age_gate: bool = True
    min_age: int = Field(18, ge=0, le=99)
    # Check a customer identifier against the self-exclusion list before a sale.
    self_exclusion: bool = False
    # Seconds each upcoming show stays on the attract screen.
    attract_cycle_s: float = Field(6.0, ge=1, le=600)
    # Seconds the thank-you / collect-at-counter screens stay before attract.
    thanks_s: float = Field(20.0, ge=2, le=600)
    # Seconds to wait for the tickets to leave the printer before telling the customer
    # to collect them at the counter.
    print_wait_s: float = Field(20.0, ge=1, le=600)
    max_tickets: int = Field(6, ge=1, le=10)
    # Where a customer collects tickets the kiosk could not print (shown on screen).
    counter_location: str = Field("Box office counter", min_length=1, max_length=80)


class LoggingSettings(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # None: <data_dir>/logs/boxoffice.jsonl
    file: Path | None = None


class BrokerSettings(_Section):
    """RabbitMQ for the casino's other systems (core.outbox.broker). ``url``: an AMQP URL
    (``amqp://user:pass@host:5672/%2F``); None: nothing is published and broker messages
    wait in the outbox until one is configured."""

    url: SecretStr | None = None
    exchange: str = Field("boxoffice.events", min_length=1, max_length=120)
    connect_timeout_s: float = Field(5.0, gt=0, le=120)


class MailSettings(_Section):
    """SMTP for customers' confirmations and e-tickets (core.outbox.mail). ``host``:
    None means no email is sent and email messages wait in the outbox."""

    host: str | None = None
    port: int = Field(587, ge=1, le=65535)
    starttls: bool = True
    # Implicit TLS (port 465) instead of STARTTLS.
    ssl: bool = False
    username: str | None = None
    password: SecretStr | None = None
    sender: str = Field("Casino Box Office <boxoffice@localhost>", min_length=3,
                        max_length=200)
    timeout_s: float = Field(20.0, gt=0, le=300)
    # CA bundle that signs the server's certificate (an internal relay with a private
    # CA); None: the system's trusted CAs.
    cafile: Path | None = None


class OutboxSettings(_Section):
    """How the worker delivers the outbox: a failing message is retried after
    ``backoff_initial_s`` x 2^(attempt-1) (at most ``backoff_max_s``) and parked after
    ``max_attempts``; a claimed message is another worker's for ``lease_s``."""

    max_attempts: int = Field(10, ge=1, le=1000)
    backoff_initial_s: float = Field(2.0, gt=0, le=3600)
    backoff_max_s: float = Field(600.0, gt=0, le=86_400)
    lease_s: float = Field(120.0, ge=1, le=3600)
    batch: int = Field(50, ge=1, le=1000)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="BOXOFFICE_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    database: DatabaseSettings = DatabaseSettings()
    redis: RedisSettings = RedisSettings()
    metrics: MetricsSettings = MetricsSettings()
    gateway: GatewaySettings = GatewaySettings()
    printer: PrinterSettings = PrinterSettings()
    terminal: TerminalSettings = TerminalSettings()
    holds: HoldSettings = HoldSettings()
    sales: SalesSettings = SalesSettings()
    pricing: PricingSettings = PricingSettings()
    logging: LoggingSettings = LoggingSettings()
    sync: SyncSettings = SyncSettings()
    kiosk: KioskSettings = KioskSettings()
    broker: BrokerSettings = BrokerSettings()
    mail: MailSettings = MailSettings()
    outbox: OutboxSettings = OutboxSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = config_path()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if path.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    def masked(self) -> dict[str, Any]:
        """The effective settings as plain data, secrets shown as ``**********``."""
        return _mask(self.model_dump(mode="python"))

    @property
    def log_file(self) -> Path:
        return self.logging.file or self.terminal.data_dir / "logs" / "boxoffice.jsonl"

    @property
    def journal_path(self) -> Path:
        # One journal per terminal name: two terminals sharing a data dir (a kiosk and a
        # counter on one box) must never replay each other's sales.
        return self.sync.journal_path or (self.terminal.data_dir / "sync"
                                          / f"journal-{self.terminal.name}.sqlite3")


def _mask(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return "**********"
    if isinstance(value, dict):
        return {k: _mask(v) for k, v in value.items()}
    if isinstance(value, Path):
        return str(value)
    return value


# Settings whose values are never shown in an error, whatever their type turned out to be.
_SECRET_KEYS = ("url", "secret_key", "password", "token")
_URL_PASSWORD = re.compile(r"(?i)([a-z][a-z0-9+.-]*://[^/@\s:]*):[^/@\s]*@")


def _hide(text: str) -> str:
    """Passwords written into URLs (``scheme://user:password@host``) as ``****``."""
    return _URL_PASSWORD.sub(r"\1:****@", text)


def _known_keys(loc: tuple[Any, ...]) -> list[str]:
    """The keys the section at ``loc`` accepts (for "did you mean")."""
    model: Any = Settings
    for part in loc:
        if isinstance(part, int):
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return []
        ann = field.annotation
        for arg in (*getattr(ann, "__args__", ()), ann):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                model = arg
                break
        else:
            return []
    return list(getattr(model, "model_fields", {}))


def _describe(err: ValidationError) -> str:
    lines = []
    for e in err.errors():
        loc = tuple(e["loc"])
        key = ".".join(str(p) for p in loc) or "(root)"
        if e["type"] == "extra_forbidden":
            close = difflib.get_close_matches(str(loc[-1]), _known_keys(loc[:-1]), n=1,
                                              cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            lines.append(f"  {key}: unknown setting{hint}")
            continue
        secret = any(str(p).lower().endswith(_SECRET_KEYS) for p in loc if isinstance(p, str))
        shown = "**********" if secret else _hide(repr(e.get("input")))
        lines.append(f"  {key}: {_hide(e['msg'])} (got {shown})")
    return "\n".join(lines)


def load_settings(**overrides: Any) -> Settings:
    """Read the settings; any problem becomes a ConfigError that names the key."""
    path = config_path()
    if path.exists():
        try:
            with path.open("rb") as fh:
                tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
        except UnicodeDecodeError as exc:
            raise ConfigError(f"config file {path} is not UTF-8 text (byte"
                              f" {exc.start}); save it as UTF-8") from None
        except OSError as exc:
            raise ConfigError(f"config file {path} cannot be read: {exc}") from None
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        where = f" (file {path}, env BOXOFFICE_*)" if path.exists() else " (env BOXOFFICE_*)"
        raise ConfigError(f"invalid settings{where}:\n{_describe(exc)}") from None
