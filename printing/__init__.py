"""Thermal printing: ticket and receipt layouts -> ESC/POS bytes (python-escpos) ->
a persistent spooler -> a transport chosen by URL (tcp, file, usb, serial, preview).

Nothing heavy is imported here: python-escpos is loaded only when bytes are rendered.
The apps use ``printing.spooler.Spooler``; see docs/printing.md.
"""

import logging

# Print nothing unless the process configured logging (a TUI or a JSON CLI owns the
# terminal): without a handler, WARNINGs would reach stderr through the last resort.
logging.getLogger(__name__).addHandler(logging.NullHandler())
