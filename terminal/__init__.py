"""The terminal layer: what a counter, a kiosk or a monitor process does, with no Textual.

``terminal.bootstrap`` assembles a process (settings, logging, core context, gateway,
spooler, offline journal); ``terminal.session.TerminalSession`` is what every terminal
shares (maps, holds, breaker, printer, heartbeat) and the role sessions compose it:
``terminal.counter.CounterSession``, ``terminal.kiosk.KioskSession`` and
``terminal.monitor.MonitorSession``. Importing this package loads nothing heavy: the apps
draw their first screen before SQLAlchemy and the database driver are imported.
"""

import logging

# Print nothing unless the process configured logging (a TUI or a JSON CLI owns the
# terminal): without a handler, WARNINGs would reach stderr through the last resort.
logging.getLogger(__name__).addHandler(logging.NullHandler())
