"""Persistent desired state (layer 2)."""
