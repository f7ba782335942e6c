"""Persistence: engine, models, migrations, units of work."""
