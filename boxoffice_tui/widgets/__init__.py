"""Widgets shared by the cashier app, the monitor and the kiosk."""
