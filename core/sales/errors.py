"""Empty: the sales error codes live in core.error_catalogue.

Kept only until the last ``from core.sales import errors`` line goes (core/sales/saga.py,
being edited by another change); then this module is deleted.
"""
