"""Widgets and helpers shared by the cashier, the monitor and the kiosk (seat map, keypad,
the core-call worker helper). They import nothing else of boxoffice_tui: the kiosk may
import them, and only them."""
