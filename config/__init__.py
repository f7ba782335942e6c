"""Settings for every face of the box office: one pydantic-settings model."""

from config.settings import (
    ConfigError,
    DatabaseSettings,
    GatewaySettings,
    HoldSettings,
    LoggingSettings,
    PrinterSettings,
    RedisSettings,
    SalesSettings,
    Settings,
    TerminalSettings,
    config_path,
    load_settings,
)

__all__ = [
    "ConfigError",
    "DatabaseSettings",
    "GatewaySettings",
    "HoldSettings",
    "LoggingSettings",
    "PrinterSettings",
    "RedisSettings",
    "SalesSettings",
    "Settings",
    "TerminalSettings",
    "config_path",
    "load_settings",
]
