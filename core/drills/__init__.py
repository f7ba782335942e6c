"""Operational drills run by the test suite and by ``boxoffice bench``: a scratch
PostgreSQL primary with a synchronous standby, failover, backup and point-in-time restore.
They start and clean up their own servers; the machine's PostgreSQL is never touched."""
