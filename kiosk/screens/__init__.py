"""Kiosk screens: one customer decision each."""
