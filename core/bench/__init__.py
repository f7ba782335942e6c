"""Benchmarks behind ``boxoffice bench ...``: each returns a dict the CLI prints as JSON."""
