"""The ``seaway`` command line."""
