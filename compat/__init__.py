"""Seaway against Debian's dockerd 20.10, side by side in twin sandboxes (issue 14).

``python -m compat`` runs docker-py's own integration tests for networks and containers
against each daemon and reports the pass counts and the tests whose outcome differs.
"""
