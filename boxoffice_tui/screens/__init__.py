"""Screens of the cashier app and the monitor."""
