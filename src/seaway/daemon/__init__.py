"""The daemon side: configuration and the controller (the API arrives with seawayd)."""
