"""Textual faces of the box office: the cashier app and the supervisor monitor."""
