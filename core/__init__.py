"""The box office domain: reservations, sales, payments, audit. No UI, no printer."""

import logging

# A library's loggers print nothing by themselves: without this, a WARNING from core in a
# process that configured no logging reaches stderr through logging's last-resort handler
# (over a running TUI, or after a CLI's JSON). Configured processes still get every record.
logging.getLogger("core").addHandler(logging.NullHandler())
