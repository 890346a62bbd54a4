"""Typed, frozen, I/O-free data shared by every layer (layer 0: stdlib only)."""
