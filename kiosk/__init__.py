"""The self-service kiosk: a locked-down Textual app for the casino floor."""
